//! The system calls this crate makes: raw entry points and typed wrappers.
//!
//! Two layers, in the style of `rustix`:
//! - **Raw entry points** (`seccomp`, `prctl`, `ioctl`, `close`) are `unsafe
//!   fn`s: the kernel reads or writes through the pointer they pass, so
//!   their soundness depends on the caller, and each states its contract.
//! - **Typed wrappers** (`set_mode_filter`, `notif_recv`, ...) take
//!   references to the structure the operation reads or writes, so they are
//!   safe to call; each contains exactly one `unsafe` block with one
//!   `SAFETY` argument for why the raw call's contract holds.
//!
//! Everything goes through the `syscalls` crate, whose `Sysno` is the table
//! of the architecture the crate is built for: no libc. Nothing here
//! allocates. The rest of the crate calls only the typed wrappers; a new
//! kernel operation gets a typed wrapper here, never a raw call elsewhere.

use core::ffi::c_void;
use core::marker::PhantomData;
use core::ptr;

use bpf_asm::{SockFilter, BPF_MAXINSNS};
use syscalls::{syscall, Errno, Sysno};

use crate::notif::{
    SeccompNotif, SeccompNotifResp, SECCOMP_IOCTL_NOTIF_ID_VALID, SECCOMP_IOCTL_NOTIF_RECV,
    SECCOMP_IOCTL_NOTIF_SEND,
};
use crate::probe::NotifSizes;
use crate::{Fd, Flags};

/// `SECCOMP_SET_MODE_FILTER`: attach a filter.
const SECCOMP_SET_MODE_FILTER: u32 = 1;
/// `SECCOMP_GET_ACTION_AVAIL`: is a return action known (4.14+)?
const SECCOMP_GET_ACTION_AVAIL: u32 = 2;
/// `SECCOMP_GET_NOTIF_SIZES`: sizes of the notification structures (5.0+).
const SECCOMP_GET_NOTIF_SIZES: u32 = 3;
/// An operation no kernel defines; asking for it tells whether `seccomp(2)`
/// exists (`EINVAL`) without doing anything.
const SECCOMP_OP_NONE: u32 = 0xffff;

/// `PR_SET_NO_NEW_PRIVS`.
const PR_SET_NO_NEW_PRIVS: usize = 38;
/// `PR_SET_SECCOMP`.
const PR_SET_SECCOMP: usize = 22;
/// `SECCOMP_MODE_FILTER` as `prctl(PR_SET_SECCOMP)` takes it.
const SECCOMP_MODE_FILTER: usize = 2;

/// `struct sock_fprog`: a program as the kernel reads it.
///
/// Invariant: `filter` points to `len` live instructions borrowed for `'a`,
/// and `len` is 1 to [`BPF_MAXINSNS`]; only [`SockFprog::new`] builds one.
#[repr(C)]
pub(crate) struct SockFprog<'a> {
    len: u16,
    filter: *const SockFilter,
    program: PhantomData<&'a [SockFilter]>,
}

impl<'a> SockFprog<'a> {
    /// Describes `program`, or `None` when its length is not 1 to
    /// [`BPF_MAXINSNS`] (the kernel's limits, and what fits in `len`).
    pub(crate) fn new(program: &'a [SockFilter]) -> Option<SockFprog<'a>> {
        if program.is_empty() || program.len() > BPF_MAXINSNS {
            return None;
        }
        Some(SockFprog {
            len: u16::try_from(program.len()).ok()?,
            filter: program.as_ptr(),
            program: PhantomData,
        })
    }
}

// ---- raw entry points ------------------------------------------------------

/// `seccomp(op, flags, args)`.
///
/// # Safety
///
/// `args` must be null or point to a live object of the type `op` reads or
/// writes (`struct sock_fprog` for `SECCOMP_SET_MODE_FILTER`, a `u32` for
/// `SECCOMP_GET_ACTION_AVAIL`, `struct seccomp_notif_sizes` for
/// `SECCOMP_GET_NOTIF_SIZES`), valid for that access for the duration of
/// the call, and whatever it points to must itself be valid (a
/// `sock_fprog`'s `filter` pointing to `len` instructions).
unsafe fn seccomp(op: u32, flags: u32, args: *mut c_void) -> Result<usize, Errno> {
    // SAFETY: the caller upholds this function's contract, which is the
    // kernel's requirement on `args`.
    unsafe { syscall!(Sysno::seccomp, op, flags, args) }
}

/// `prctl(option, arg2, arg3, 0, 0)`.
///
/// # Safety
///
/// When `option` takes a pointer in `arg3` (`PR_SET_SECCOMP` with
/// `SECCOMP_MODE_FILTER` takes a `struct sock_fprog`), `arg3` must point
/// to a live, valid object of that type for the duration of the call.
unsafe fn prctl(option: usize, arg2: usize, arg3: usize) -> Result<usize, Errno> {
    // SAFETY: the caller upholds this function's contract, which is the
    // kernel's requirement on the pointer argument.
    unsafe { syscall!(Sysno::prctl, option, arg2, arg3, 0usize, 0usize) }
}

/// `ioctl(fd, request, arg)`.
///
/// # Safety
///
/// `arg` must point to a live object of the size and direction encoded in
/// `request`, valid for that access for the duration of the call.
unsafe fn ioctl(fd: &Fd, request: u32, arg: *mut c_void) -> Result<usize, Errno> {
    // SAFETY: the caller upholds this function's contract; `fd` is a
    // descriptor `Fd` keeps open for the duration of the borrow.
    unsafe { syscall!(Sysno::ioctl, fd.as_raw(), request, arg) }
}

/// `close(fd)`; errors are ignored as there is nothing to do about them
/// (the descriptor is released even when `close` reports an error).
///
/// # Safety
///
/// The caller owns `fd` and never uses it again (closing a descriptor that
/// something else owns breaks that owner's I/O safety).
pub(crate) unsafe fn close(fd: i32) {
    // SAFETY: the caller owns `fd` and gives it up; `close` has no memory
    // effects in this process.
    let _ = unsafe { syscall!(Sysno::close, fd) };
}

// ---- typed wrappers ----------------------------------------------------------

/// `seccomp(SECCOMP_SET_MODE_FILTER, flags, prog)`: attaches `prog`. The
/// return value is 0, a listener descriptor (NEW_LISTENER) or the thread id
/// TSYNC could not synchronise.
pub(crate) fn set_mode_filter(flags: Flags, prog: &SockFprog<'_>) -> Result<usize, Errno> {
    let args = prog as *const SockFprog<'_> as *mut c_void;
    // SAFETY: `prog` is a live `sock_fprog` whose `filter` points to `len`
    // instructions borrowed for at least this call (`SockFprog`'s
    // invariant); the kernel only reads it.
    unsafe { seccomp(SECCOMP_SET_MODE_FILTER, flags.bits(), args) }
}

/// `seccomp(SECCOMP_SET_MODE_FILTER, flags, NULL)`: validates `flags`
/// without attaching anything (`EFAULT` when they pass validation,
/// `EINVAL` when they do not).
pub(crate) fn probe_filter_flags(flags: Flags) -> Result<usize, Errno> {
    // SAFETY: a null `args` is allowed by the contract; the kernel's copy of
    // the program from NULL fails with EFAULT and nothing is installed.
    unsafe { seccomp(SECCOMP_SET_MODE_FILTER, flags.bits(), ptr::null_mut()) }
}

/// `seccomp(SECCOMP_GET_ACTION_AVAIL, 0, &action)`: `Ok` when the kernel
/// knows `action`, `EOPNOTSUPP` when it does not.
pub(crate) fn get_action_avail(action: u32) -> Result<usize, Errno> {
    let args = &action as *const u32 as *mut c_void;
    // SAFETY: `args` points to `action`, a live `u32` argument, which the
    // kernel only reads.
    unsafe { seccomp(SECCOMP_GET_ACTION_AVAIL, 0, args) }
}

/// `seccomp(SECCOMP_GET_NOTIF_SIZES, 0, sizes)`: fills `sizes`.
pub(crate) fn get_notif_sizes(sizes: &mut NotifSizes) -> Result<usize, Errno> {
    let args = sizes as *mut NotifSizes as *mut c_void;
    // SAFETY: `sizes` is an exclusive borrow of a live, `repr(C)`
    // `struct seccomp_notif_sizes` that the kernel writes whole.
    unsafe { seccomp(SECCOMP_GET_NOTIF_SIZES, 0, args) }
}

/// `seccomp(0xffff, 0, NULL)`: an operation no kernel defines, so `EINVAL`
/// when `seccomp(2)` exists and `ENOSYS` when it does not.
pub(crate) fn seccomp_unknown_op() -> Result<usize, Errno> {
    // SAFETY: a null `args` is allowed by the contract; the kernel rejects
    // the operation before looking at it.
    unsafe { seccomp(SECCOMP_OP_NONE, 0, ptr::null_mut()) }
}

/// `prctl(PR_SET_NO_NEW_PRIVS, 1)`.
pub(crate) fn set_no_new_privs() -> Result<usize, Errno> {
    // SAFETY: PR_SET_NO_NEW_PRIVS takes integers only.
    unsafe { prctl(PR_SET_NO_NEW_PRIVS, 1, 0) }
}

/// `prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, prog)`: the flag-less attach
/// of kernels without `seccomp(2)`.
pub(crate) fn prctl_set_mode_filter(prog: &SockFprog<'_>) -> Result<usize, Errno> {
    let args = prog as *const SockFprog<'_> as usize;
    // SAFETY: `prog` is a live `sock_fprog` whose `filter` points to `len`
    // instructions borrowed for at least this call (`SockFprog`'s
    // invariant); the kernel only reads it.
    unsafe { prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, args) }
}

/// `ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, notif)`: waits for a
/// notification and writes it into `notif` (which the kernel requires
/// zeroed).
pub(crate) fn notif_recv(listener: &Fd, notif: &mut SeccompNotif) -> Result<usize, Errno> {
    let arg = notif as *mut SeccompNotif as *mut c_void;
    // SAFETY: `notif` is an exclusive borrow of a live, `repr(C)`
    // `struct seccomp_notif`, the size encoded in the request.
    unsafe { ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, arg) }
}

/// `ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, resp)`: answers a
/// notification.
pub(crate) fn notif_send(listener: &Fd, resp: &SeccompNotifResp) -> Result<usize, Errno> {
    let arg = resp as *const SeccompNotifResp as *mut c_void;
    // SAFETY: `resp` is a live, `repr(C)` `struct seccomp_notif_resp`, the
    // size encoded in the request. The request is `_IOWR`, but the kernel
    // only reads the response (`copy_from_user`), so a shared borrow
    // suffices.
    unsafe { ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, arg) }
}

/// `ioctl(listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &id)`: `Ok` while
/// notification `id` is pending, `ENOENT` otherwise.
pub(crate) fn notif_id_valid(listener: &Fd, id: u64) -> Result<usize, Errno> {
    let arg = &id as *const u64 as *mut c_void;
    // SAFETY: `arg` points to `id`, a live `u64` argument, the size
    // encoded in the `_IOW` request, which the kernel only reads.
    unsafe { ioctl(listener, SECCOMP_IOCTL_NOTIF_ID_VALID, arg) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::{offset_of, size_of};

    #[test]
    fn sock_fprog_is_the_kernel_struct() {
        // struct sock_fprog { unsigned short len; struct sock_filter *filter; }
        assert_eq!(size_of::<SockFprog<'_>>(), 2 * size_of::<usize>());
        assert_eq!(offset_of!(SockFprog<'_>, len), 0);
        assert_eq!(offset_of!(SockFprog<'_>, filter), size_of::<usize>());
    }

    #[test]
    fn sock_fprog_takes_only_kernel_lengths() {
        let insn = SockFilter::stmt(0x06, 0);
        let big = [insn; BPF_MAXINSNS + 1];
        assert!(SockFprog::new(&[]).is_none());
        assert!(SockFprog::new(&big).is_none());
        let ok = SockFprog::new(&big[..BPF_MAXINSNS]).map(|p| p.len);
        assert_eq!(ok, Some(BPF_MAXINSNS as u16));
    }
}
