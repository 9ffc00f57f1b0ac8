//! [`Flags`]: the `SECCOMP_FILTER_FLAG_*` bits of `seccomp(SECCOMP_SET_MODE_FILTER)`.
//!
//! The one home of these bits: the installer (`seccomp-install`) re-exports
//! this type and policies carry it ([`crate::policy::Policy::flags`]).

use core::fmt;
use core::ops::{BitOr, BitOrAssign};

/// A set of `SECCOMP_FILTER_FLAG_*` bits, combined with `|`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Flags(u32);

impl Flags {
    /// No flag: a plain attach (also possible through `prctl`).
    pub const NONE: Flags = Flags(0);
    /// `SECCOMP_FILTER_FLAG_TSYNC` (3.17): attach the filter to every thread
    /// of the process, or to none.
    pub const TSYNC: Flags = Flags(1 << 0);
    /// `SECCOMP_FILTER_FLAG_LOG` (4.14): log every action of this filter
    /// except `ALLOW`.
    pub const LOG: Flags = Flags(1 << 1);
    /// `SECCOMP_FILTER_FLAG_SPEC_ALLOW` (4.17): do not force the speculative
    /// store bypass mitigation on.
    pub const SPEC_ALLOW: Flags = Flags(1 << 2);
    /// `SECCOMP_FILTER_FLAG_NEW_LISTENER` (5.0): return a notification
    /// descriptor for `USER_NOTIF` actions of this filter.
    pub const NEW_LISTENER: Flags = Flags(1 << 3);
    /// `SECCOMP_FILTER_FLAG_TSYNC_ESRCH` (5.7): a failed TSYNC fails with
    /// `ESRCH` instead of returning the thread id (needed to combine TSYNC
    /// with NEW_LISTENER).
    pub const TSYNC_ESRCH: Flags = Flags(1 << 4);
    /// `SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV` (5.19): once the listener has
    /// received a notification, the notifying task waits killably (only with
    /// NEW_LISTENER).
    pub const WAIT_KILLABLE_RECV: Flags = Flags(1 << 5);

    /// Every flag this crate knows, with its kernel name.
    pub const ALL: [(&'static str, Flags); 6] = [
        ("TSYNC", Flags::TSYNC),
        ("LOG", Flags::LOG),
        ("SPEC_ALLOW", Flags::SPEC_ALLOW),
        ("NEW_LISTENER", Flags::NEW_LISTENER),
        ("TSYNC_ESRCH", Flags::TSYNC_ESRCH),
        ("WAIT_KILLABLE_RECV", Flags::WAIT_KILLABLE_RECV),
    ];

    /// The raw bits as the kernel takes them.
    pub const fn bits(self) -> u32 {
        self.0
    }

    /// Flags from raw bits, keeping bits this crate does not know (the
    /// kernel rejects unknown bits with `EINVAL`).
    pub const fn from_bits_retain(bits: u32) -> Flags {
        Flags(bits)
    }

    /// Whether every bit of `other` is set in `self`.
    pub const fn contains(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }

    /// The flag with this kernel name, with or without the
    /// `SECCOMP_FILTER_FLAG_` prefix (case-insensitive), e.g. `TSYNC`,
    /// `SECCOMP_FILTER_FLAG_LOG`.
    pub fn from_name(name: &str) -> Option<Flags> {
        let n = name.trim();
        let n = if n.len() >= 20 && n[..20].eq_ignore_ascii_case("SECCOMP_FILTER_FLAG_") {
            &n[20..]
        } else {
            n
        };
        Flags::ALL
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(n))
            .map(|&(_, f)| f)
    }

    /// Whether no bit is set.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The union of two sets (the `const` form of `|`).
    pub const fn union(self, other: Flags) -> Flags {
        Flags(self.0 | other.0)
    }
}

impl BitOr for Flags {
    type Output = Flags;
    fn bitor(self, rhs: Flags) -> Flags {
        self.union(rhs)
    }
}

impl BitOrAssign for Flags {
    fn bitor_assign(&mut self, rhs: Flags) {
        *self = self.union(rhs);
    }
}

impl fmt::Debug for Flags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Prints `TSYNC | LOG`, `NONE`, and unknown bits in hex.
impl fmt::Display for Flags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("NONE");
        }
        let mut rest = self.0;
        let mut first = true;
        for (name, flag) in Flags::ALL {
            if self.contains(flag) {
                if !first {
                    f.write_str(" | ")?;
                }
                f.write_str(name)?;
                first = false;
                rest &= !flag.0;
            }
        }
        if rest != 0 {
            if !first {
                f.write_str(" | ")?;
            }
            write!(f, "{rest:#x}")?;
        }
        Ok(())
    }
}
