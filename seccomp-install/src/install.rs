//! Setting no_new_privs and attaching a filter.

use bpf_asm::{SockFilter, BPF_MAXINSNS};
use syscalls::Errno;

use crate::sys::{self, SockFprog};
use crate::{Error, Fd, Flags};

/// What a successful [`install`] hands back. Dropping it closes the
/// notification listener, if one was asked for.
#[derive(Debug)]
pub struct Installed {
    listener: Option<Fd>,
}

impl Installed {
    /// The notification descriptor (close-on-exec) when
    /// [`Flags::NEW_LISTENER`] was requested, else `None`. Once it is
    /// closed, `USER_NOTIF` actions of the filter fail with `ENOSYS`.
    pub fn listener(self) -> Option<Fd> {
        self.listener
    }
}

/// Sets no_new_privs on the calling thread
/// (`prctl(PR_SET_NO_NEW_PRIVS, 1)`), which lets an unprivileged thread
/// install filters. It cannot be unset, survives `execve`, and makes
/// set-user-id and file capabilities ineffective.
pub fn set_no_new_privs() -> Result<(), Error> {
    sys::prctl(sys::PR_SET_NO_NEW_PRIVS, 1, 0)?;
    Ok(())
}

/// Attaches `program` to the calling thread (to every thread of the
/// process with [`Flags::TSYNC`]).
///
/// The caller needs no_new_privs ([`set_no_new_privs`]) or
/// CAP_SYS_ADMIN. With the `verify` feature the program is checked first
/// and refused with `Error::Rejected`. When the kernel lacks `seccomp(2)`
/// (`ENOSYS`) and `flags` is empty, the filter is attached with
/// `prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER)`; with flags this is
/// [`Error::Unsupported`].
///
/// The function makes only raw system calls and does not allocate, so it
/// may be called between `fork` and `exec`.
pub fn install(program: &[SockFilter], flags: Flags) -> Result<Installed, Error> {
    let len = program.len();
    if len == 0 || len > BPF_MAXINSNS {
        return Err(Error::BadLength { len });
    }
    #[cfg(feature = "verify")]
    bpf_vm::verify::verify(program, bpf_vm::verify::Mode::Seccomp).map_err(Error::Rejected)?;
    let fprog = SockFprog {
        // `len` is 1..=4096, checked above.
        len: len as u16,
        filter: program.as_ptr(),
    };
    let args = &fprog as *const SockFprog as usize;
    match sys::seccomp(sys::SECCOMP_SET_MODE_FILTER, flags.bits(), args) {
        Ok(ret) if flags.contains(Flags::NEW_LISTENER) => {
            let fd = i32::try_from(ret).map_err(|_| Error::Kernel(Errno::EBADF))?;
            // SAFETY: with NEW_LISTENER the kernel returns a fresh descriptor
            // that nothing else owns.
            let fd = unsafe { Fd::from_raw(fd) };
            Ok(Installed { listener: Some(fd) })
        }
        Ok(0) => Ok(Installed { listener: None }),
        // Without NEW_LISTENER a positive return is the thread TSYNC could
        // not synchronise: nothing was installed.
        Ok(tid) => Err(Error::ThreadSync { tid: tid as u32 }),
        Err(Errno::ENOSYS) if flags.is_empty() => {
            sys::prctl(sys::PR_SET_SECCOMP, sys::SECCOMP_MODE_FILTER, args)?;
            Ok(Installed { listener: None })
        }
        Err(Errno::ENOSYS) => Err(Error::Unsupported),
        Err(e) => Err(Error::Kernel(e)),
    }
}
