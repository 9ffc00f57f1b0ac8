//! Side-effect-free questions to the running kernel.

use syscalls::Errno;

use crate::sys;
use crate::{Error, Flags};

/// Sizes of the user notification structures as the running kernel
/// defines them (`SECCOMP_GET_NOTIF_SIZES`).
#[repr(C)]
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct NotifSizes {
    /// `sizeof(struct seccomp_notif)`.
    pub seccomp_notif: u16,
    /// `sizeof(struct seccomp_notif_resp)`.
    pub seccomp_notif_resp: u16,
    /// `sizeof(struct seccomp_data)`.
    pub seccomp_data: u16,
}

/// Whether the kernel has the `seccomp(2)` system call (3.17+). Without it
/// only flag-less installs through `prctl` are possible.
pub fn seccomp_syscall_available() -> bool {
    // An unknown operation: EINVAL when the call exists, ENOSYS otherwise.
    !matches!(sys::seccomp_unknown_op(), Err(Errno::ENOSYS))
}

/// Whether the kernel knows the return action `action` (a
/// `SECCOMP_RET_*` value with data bits clear), through
/// `SECCOMP_GET_ACTION_AVAIL`.
///
/// Any value with data bits set is "not available". Kernels before 4.14
/// lack the operation and give `Err(Error::Kernel(EINVAL))`; kernels
/// without `seccomp(2)` give `Err(Error::Unsupported)`.
pub fn action_available(action: u32) -> Result<bool, Error> {
    match sys::get_action_avail(action) {
        Ok(_) => Ok(true),
        Err(Errno::EOPNOTSUPP) => Ok(false),
        Err(Errno::ENOSYS) => Err(Error::Unsupported),
        Err(e) => Err(Error::Kernel(e)),
    }
}

/// Whether the kernel accepts every flag in `flag`, probed without
/// installing anything: `seccomp(SECCOMP_SET_MODE_FILTER, flag, NULL)`
/// fails with `EFAULT` when the flags pass validation and with `EINVAL`
/// when they do not.
///
/// Two combinations the kernel refuses on their own are completed before
/// probing: WAIT_KILLABLE_RECV is only valid with NEW_LISTENER (added), and
/// TSYNC with NEW_LISTENER only with TSYNC_ESRCH (added; so the answer
/// is "this combination is usable").
/// Without `seccomp(2)` the answer is `true` only for [`Flags::NONE`].
pub fn flag_supported(flag: Flags) -> Result<bool, Error> {
    let mut probe = flag;
    if probe.contains(Flags::WAIT_KILLABLE_RECV) {
        probe |= Flags::NEW_LISTENER;
    }
    if probe.contains(Flags::TSYNC.union(Flags::NEW_LISTENER)) {
        probe |= Flags::TSYNC_ESRCH;
    }
    match sys::probe_filter_flags(probe) {
        Err(Errno::EFAULT) => Ok(true),
        Err(Errno::EINVAL) => Ok(false),
        Err(Errno::ENOSYS) => Ok(flag.is_empty()),
        Err(e) => Err(Error::Kernel(e)),
        // Unreachable on a kernel that reads the NULL program; nothing can
        // have been installed from a NULL pointer.
        Ok(_) => Ok(true),
    }
}

/// The notification structure sizes of the running kernel (5.0+).
pub fn notif_sizes() -> Result<NotifSizes, Error> {
    let mut sizes = NotifSizes::default();
    match sys::get_notif_sizes(&mut sizes) {
        Ok(_) => Ok(sizes),
        Err(Errno::ENOSYS) => Err(Error::Unsupported),
        Err(e) => Err(Error::Kernel(e)),
    }
}
