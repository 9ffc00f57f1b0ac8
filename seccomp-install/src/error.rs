//! [`Error`]: why a filter could not be installed or a probe failed.

use core::fmt;

pub use syscalls::Errno;

/// Why an operation of this crate failed.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Error {
    /// The kernel refused the call with this errno (its name is available
    /// through [`Errno::name`]). Common ones: `EINVAL` (invalid program or
    /// flag combination), `EACCES` (neither no_new_privs nor CAP_SYS_ADMIN),
    /// `ENOMEM` (too many stacked instructions), `EBUSY` (a listener exists
    /// already), `ESRCH` (TSYNC with TSYNC_ESRCH could not synchronise).
    Kernel(Errno),
    /// TSYNC could not synchronise thread `tid` (in the caller's PID
    /// namespace) because it runs a filter that is not an ancestor of the
    /// caller's, or is in strict mode. Nothing was installed.
    ThreadSync {
        /// The first thread that could not be synchronised.
        tid: u32,
    },
    /// The program has `len` instructions; the kernel takes 1 to 4096.
    BadLength {
        /// The refused length.
        len: usize,
    },
    /// Flags were requested but this kernel has no `seccomp(2)` (before
    /// 3.17); only a flag-less install through `prctl` is possible.
    Unsupported,
    /// The verifier refused the program before it reached the kernel.
    #[cfg(feature = "verify")]
    Rejected(bpf_vm::verify::VerifyError),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Kernel(e) => {
                f.write_str("the kernel refused: ")?;
                match (e.name(), e.description()) {
                    (Some(n), Some(d)) => write!(f, "{n} ({d})"),
                    _ => write!(f, "errno {}", e.into_raw()),
                }
            }
            Error::ThreadSync { tid } => write!(
                f,
                "TSYNC could not synchronise thread {tid}: it runs its own seccomp filter; nothing was installed"
            ),
            Error::BadLength { len } => write!(
                f,
                "a seccomp program has 1 to 4096 instructions, this one has {len}"
            ),
            Error::Unsupported => f.write_str(
                "this kernel has no seccomp(2) system call, so filter flags cannot be used",
            ),
            #[cfg(feature = "verify")]
            Error::Rejected(e) => write!(f, "the program was rejected before installing: {e}"),
        }
    }
}

impl core::error::Error for Error {}

impl From<Errno> for Error {
    fn from(e: Errno) -> Error {
        Error::Kernel(e)
    }
}
