//! The raw system calls this crate makes, and the kernel constants they take.
//!
//! Every call goes through the `syscalls` crate, whose `Sysno` is the table
//! of the architecture the crate is built for, so nothing here depends on
//! libc.

use syscalls::{syscall, Errno, Sysno};

/// `SECCOMP_SET_MODE_FILTER`: attach a filter.
pub const SECCOMP_SET_MODE_FILTER: usize = 1;
/// `SECCOMP_GET_ACTION_AVAIL`: is a return action known (4.14+)?
pub const SECCOMP_GET_ACTION_AVAIL: usize = 2;
/// `SECCOMP_GET_NOTIF_SIZES`: sizes of the notification structures (5.0+).
pub const SECCOMP_GET_NOTIF_SIZES: usize = 3;
/// An operation no kernel defines; asking for it tells whether `seccomp(2)`
/// exists (`EINVAL`) without doing anything.
pub const SECCOMP_OP_NONE: usize = 0xffff;

/// `PR_SET_NO_NEW_PRIVS`.
pub const PR_SET_NO_NEW_PRIVS: usize = 38;
/// `PR_SET_SECCOMP`.
pub const PR_SET_SECCOMP: usize = 22;
/// `SECCOMP_MODE_FILTER` as `prctl(PR_SET_SECCOMP)` takes it.
pub const SECCOMP_MODE_FILTER: usize = 2;

/// `struct sock_fprog`: a program as the kernel reads it.
#[repr(C)]
pub struct SockFprog {
    /// Number of instructions.
    pub len: u16,
    /// First instruction.
    pub filter: *const bpf_asm::SockFilter,
}

/// `seccomp(op, flags, args)`.
pub fn seccomp(op: usize, flags: u32, args: usize) -> Result<usize, Errno> {
    // SAFETY: every caller passes either 0 or a pointer to a live, correctly
    // laid out structure for `op`; the kernel only reads or writes that
    // structure and validates everything else.
    unsafe { syscall!(Sysno::seccomp, op, flags, args) }
}

/// `prctl(option, arg2, arg3, 0, 0)`.
pub fn prctl(option: usize, arg2: usize, arg3: usize) -> Result<usize, Errno> {
    // SAFETY: the options used by this crate take integers or a pointer to a
    // live `sock_fprog`; the kernel validates them.
    unsafe { syscall!(Sysno::prctl, option, arg2, arg3, 0usize, 0usize) }
}

/// `close(fd)`; errors are ignored as there is nothing to do about them.
pub fn close(fd: i32) {
    // SAFETY: closing a descriptor has no memory effects; ownership of `fd`
    // is the caller's concern (see `Fd`).
    let _ = unsafe { syscall!(Sysno::close, fd) };
}

/// `ioctl(fd, request, arg)`.
pub fn ioctl(fd: i32, request: u32, arg: usize) -> Result<usize, Errno> {
    // SAFETY: callers pass a pointer to a live structure of the size encoded
    // in `request`.
    unsafe { syscall!(Sysno::ioctl, fd, request, arg) }
}
