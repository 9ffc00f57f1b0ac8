//! The error type of the peers.

use std::fmt;

/// Why a peer could not build a filter.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// A libseccomp call failed with this (negative errno) return code.
    Call {
        /// The call, with its arguments where they identify the failure.
        call: String,
        /// What it returned.
        rc: i32,
    },
    /// libseccomp built a filter that checks other architectures than asked
    /// for (`AUDIT_ARCH_*` values).
    Arches {
        /// The architectures the exported program compares with.
        got: Vec<u32>,
        /// The architectures asked for.
        want: Vec<u32>,
    },
    /// A build was asked for no architecture at all.
    NoArch,
    /// The profile is not one Docker or runc would load, and why.
    Profile(String),
    /// The peer's model cannot express the policy, and why (seccompiler).
    Inexpressible(String),
    /// Reading a profile or the exported program failed.
    Io {
        /// What was being read.
        what: String,
        /// The cause.
        source: std::io::Error,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Call { call, rc } => write!(f, "{call} returned {rc}"),
            Error::Arches { got, want } => write!(
                f,
                "libseccomp built a filter for architectures {got:#x?}, not {want:#x?}"
            ),
            Error::NoArch => f.write_str("no architecture to build the filter for"),
            Error::Profile(why) => write!(f, "not an OCI/Docker profile runc would load: {why}"),
            Error::Inexpressible(why) => write!(f, "not expressible: {why}"),
            Error::Io { what, source } => write!(f, "{what}: {source}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}
