//! Setting no_new_privs and attaching a filter.

use bpf_asm::SockFilter;
use syscalls::Errno;

use crate::sys::{self, SockFprog};
use crate::{Error, Fd, Flags};

/// What a successful [`install`] hands back. Dropping it closes the
/// notification listener, if one was asked for: with
/// [`Flags::NEW_LISTENER`], `install(..)?;` alone would close the listener
/// at once (and `USER_NOTIF` actions would then fail with `ENOSYS`), hence
/// `#[must_use]`.
#[derive(Debug)]
#[must_use = "dropping `Installed` closes the notification listener; keep it or call `listener()`"]
pub struct Installed {
    listener: Option<Fd>,
}

impl Installed {
    /// The notification descriptor (close-on-exec) when
    /// [`Flags::NEW_LISTENER`] was requested, else `None`. Once it is
    /// closed, `USER_NOTIF` actions of the filter fail with `ENOSYS`.
    #[must_use = "dropping the listener closes it"]
    pub fn listener(self) -> Option<Fd> {
        self.listener
    }
}

/// Sets no_new_privs on the calling thread
/// (`prctl(PR_SET_NO_NEW_PRIVS, 1)`), which lets an unprivileged thread
/// install filters. It cannot be unset, survives `execve`, and makes
/// set-user-id and file capabilities ineffective.
pub fn set_no_new_privs() -> Result<(), Error> {
    sys::set_no_new_privs()?;
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
    let fprog = SockFprog::new(program).ok_or(Error::BadLength { len: program.len() })?;
    #[cfg(feature = "verify")]
    bpf_vm::verify::verify(program, bpf_vm::verify::Mode::Seccomp).map_err(Error::Rejected)?;
    match sys::set_mode_filter(flags, &fprog) {
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
            sys::prctl_set_mode_filter(&fprog)?;
            Ok(Installed { listener: None })
        }
        Err(Errno::ENOSYS) => Err(Error::Unsupported),
        Err(e) => Err(Error::Kernel(e)),
    }
}
