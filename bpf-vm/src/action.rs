//! What the kernel does with a filter's 32-bit return value, and how the
//! results of stacked filters combine.
//!
//! * [`KernelAction::from_ret`] decodes one return value exactly as
//!   `__seccomp_filter` acts on it (unknown actions kill the process, the
//!   errno is capped at 4095, data on `ALLOW`/`LOG` is ignored).
//! * [`combine`] folds the results of a filter stack, newest filter first,
//!   with the kernel's precedence (`seccomp_run_filters`).
//!
//! Running a whole stack is [`crate::stack`]'s job; which kernel behaviours
//! are modelled is [`crate::kernel`]'s.

use core::fmt;

use bpf_asm::seccomp::*;

/// The kernel's `ACTION_ONLY(ret)`: the action bits as a signed number, the
/// key by which stacked results are ordered (lower wins).
pub const fn action_only(ret: u32) -> i32 {
    (ret & SECCOMP_RET_ACTION_FULL) as i32
}

/// Whether the action bits of `ret` are one of the eight actions the kernel
/// knows (anything else is treated as `KILL_PROCESS`).
pub const fn is_known_action(ret: u32) -> bool {
    matches!(
        ret & SECCOMP_RET_ACTION_FULL,
        SECCOMP_RET_KILL_PROCESS
            | SECCOMP_RET_KILL_THREAD
            | SECCOMP_RET_TRAP
            | SECCOMP_RET_ERRNO
            | SECCOMP_RET_USER_NOTIF
            | SECCOMP_RET_TRACE
            | SECCOMP_RET_LOG
            | SECCOMP_RET_ALLOW
    )
}

/// What the kernel does after the filters returned (`__seccomp_filter`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum KernelAction {
    /// Kill the whole process with SIGSYS and a core dump. Also the fate of
    /// every unknown action value (since Linux 4.14; before, unknown values
    /// killed only the thread).
    KillProcess,
    /// Kill the calling thread (the process when it is the last thread).
    KillThread,
    /// Send SIGSYS to the thread; `data` becomes `si_errno`.
    Trap {
        /// The 16 data bits.
        data: u16,
    },
    /// Skip the system call and make it return `-errno`. The data bits are
    /// capped at 4095 (`MAX_ERRNO`); an errno of 0 skips the call and makes
    /// it return 0 (success without running it).
    Errno {
        /// The errno the call fails with, already capped at 4095.
        errno: u16,
    },
    /// Ask the user-space notification listener (`-ENOSYS` without one).
    UserNotif,
    /// Stop for a ptrace tracer with `data` as the event message (`-ENOSYS`
    /// without a tracer).
    Trace {
        /// The 16 data bits.
        data: u16,
    },
    /// Run the system call and log it.
    Log,
    /// Run the system call (any data bits are ignored).
    Allow,
}

impl KernelAction {
    /// Decodes a return value the way the kernel acts on it.
    pub const fn from_ret(ret: u32) -> KernelAction {
        let data = (ret & SECCOMP_RET_DATA) as u16;
        match ret & SECCOMP_RET_ACTION_FULL {
            SECCOMP_RET_KILL_THREAD => KernelAction::KillThread,
            SECCOMP_RET_TRAP => KernelAction::Trap { data },
            SECCOMP_RET_ERRNO => KernelAction::Errno {
                errno: if data as u32 > MAX_ERRNO {
                    MAX_ERRNO as u16
                } else {
                    data
                },
            },
            SECCOMP_RET_USER_NOTIF => KernelAction::UserNotif,
            SECCOMP_RET_TRACE => KernelAction::Trace { data },
            SECCOMP_RET_LOG => KernelAction::Log,
            SECCOMP_RET_ALLOW => KernelAction::Allow,
            // KILL_PROCESS and every unknown action.
            _ => KernelAction::KillProcess,
        }
    }

    /// A return value that makes the kernel take this action (data bits as
    /// stored, zero for actions without data).
    pub const fn to_ret(self) -> u32 {
        match self {
            KernelAction::KillProcess => SECCOMP_RET_KILL_PROCESS,
            KernelAction::KillThread => SECCOMP_RET_KILL_THREAD,
            KernelAction::Trap { data } => SECCOMP_RET_TRAP | data as u32,
            KernelAction::Errno { errno } => SECCOMP_RET_ERRNO | errno as u32,
            KernelAction::UserNotif => SECCOMP_RET_USER_NOTIF,
            KernelAction::Trace { data } => SECCOMP_RET_TRACE | data as u32,
            KernelAction::Log => SECCOMP_RET_LOG,
            KernelAction::Allow => SECCOMP_RET_ALLOW,
        }
    }

    /// Whether the system call runs (`ALLOW` or `LOG`).
    pub const fn runs_syscall(self) -> bool {
        matches!(self, KernelAction::Allow | KernelAction::Log)
    }
}

impl fmt::Display for KernelAction {
    /// Upper-case names as in the kernel constants: `ALLOW`, `LOG`,
    /// `KILL_PROCESS`, `KILL_THREAD`, `USER_NOTIF`, `TRAP(n)`, `ERRNO(n)`,
    /// `TRACE(n)` (n decimal).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            KernelAction::KillProcess => f.write_str("KILL_PROCESS"),
            KernelAction::KillThread => f.write_str("KILL_THREAD"),
            KernelAction::Trap { data } => write!(f, "TRAP({data})"),
            KernelAction::Errno { errno } => write!(f, "ERRNO({errno})"),
            KernelAction::UserNotif => f.write_str("USER_NOTIF"),
            KernelAction::Trace { data } => write!(f, "TRACE({data})"),
            KernelAction::Log => f.write_str("LOG"),
            KernelAction::Allow => f.write_str("ALLOW"),
        }
    }
}

/// Combines the return values of a filter stack, newest filter first, as
/// `seccomp_run_filters` does: starting from `SECCOMP_RET_ALLOW`, a result
/// replaces the current one only when its signed [`action_only`] is strictly
/// lower. So the most severe action wins, and among equal actions the
/// newest filter's data wins. Unknown actions take part by their numeric
/// value. An empty stack gives `SECCOMP_RET_ALLOW`.
pub fn combine<I: IntoIterator<Item = u32>>(rets_newest_first: I) -> u32 {
    combine_indexed(rets_newest_first).0
}

/// [`combine`], also giving the position (in newest-first order) of the
/// filter whose value won; `None` when the result is the initial `ALLOW`
/// (the kernel's `match` stays NULL then).
pub fn combine_indexed<I: IntoIterator<Item = u32>>(rets_newest_first: I) -> (u32, Option<usize>) {
    let mut ret = SECCOMP_RET_ALLOW;
    let mut matched = None;
    for (i, cur) in rets_newest_first.into_iter().enumerate() {
        if action_only(cur) < action_only(ret) {
            ret = cur;
            matched = Some(i);
        }
    }
    (ret, matched)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoding_follows_the_kernel() {
        use KernelAction::*;
        assert_eq!(KernelAction::from_ret(0x7fff_0000), Allow);
        assert_eq!(
            KernelAction::from_ret(0x7fff_0001),
            Allow,
            "ALLOW ignores data"
        );
        assert_eq!(KernelAction::from_ret(0x7ffc_0007), Log);
        assert_eq!(KernelAction::from_ret(0x0005_0001), Errno { errno: 1 });
        assert_eq!(KernelAction::from_ret(0x0005_0000), Errno { errno: 0 });
        assert_eq!(KernelAction::from_ret(0x0005_ffff), Errno { errno: 4095 });
        assert_eq!(KernelAction::from_ret(0x0005_1000), Errno { errno: 4095 });
        assert_eq!(KernelAction::from_ret(0x0005_0fff), Errno { errno: 4095 });
        assert_eq!(KernelAction::from_ret(0x0003_1234), Trap { data: 0x1234 });
        assert_eq!(KernelAction::from_ret(0x7ff0_0009), Trace { data: 9 });
        assert_eq!(KernelAction::from_ret(0x7fc0_0000), UserNotif);
        assert_eq!(KernelAction::from_ret(0x0000_0005), KillThread);
        assert_eq!(KernelAction::from_ret(0x8000_0000), KillProcess);
        // Unknown actions kill the process (since 4.14).
        for unknown in [
            0x0001_0000,
            0x7ffe_0000,
            0x8001_0000,
            0x0004_0000,
            0xffff_ffff,
        ] {
            assert!(!is_known_action(unknown));
            assert_eq!(KernelAction::from_ret(unknown), KillProcess, "{unknown:#x}");
        }
        assert_eq!(alloc::format!("{}", Errno { errno: 1 }), "ERRNO(1)");
        for a in [
            Allow,
            Log,
            KillProcess,
            KillThread,
            UserNotif,
            Trap { data: 3 },
            Trace { data: 4 },
            Errno { errno: 38 },
        ] {
            assert_eq!(KernelAction::from_ret(a.to_ret()), a);
        }
    }

    #[test]
    fn combine_uses_signed_action_order_and_newest_data_on_ties() {
        assert_eq!(combine([]), SECCOMP_RET_ALLOW);
        // Newest first: ERRNO|2 (newest) and ERRNO|1 → 2.
        assert_eq!(combine([0x0005_0002, 0x0005_0001]), 0x0005_0002);
        // Selftest ERRNO_order: installed 11, 13, 12 → newest first 12, 13, 11 → 12.
        assert_eq!(
            combine([0x0005_000c, 0x0005_000d, 0x0005_000b]),
            0x0005_000c
        );
        assert_eq!(
            combine([SECCOMP_RET_KILL_THREAD, SECCOMP_RET_KILL_PROCESS]),
            SECCOMP_RET_KILL_PROCESS
        );
        assert_eq!(
            combine([SECCOMP_RET_TRAP, SECCOMP_RET_KILL_THREAD]),
            SECCOMP_RET_KILL_THREAD
        );
        // Unknown actions are ordered by value: LOG beats a newer 0x7ffe0000.
        assert_eq!(combine([0x7ffe_0000, SECCOMP_RET_LOG]), SECCOMP_RET_LOG);
        assert_eq!(combine([0x0004_0000, 0x0005_0003]), 0x0004_0000);
        // ALLOW with data never replaces the initial ALLOW.
        assert_eq!(combine_indexed([0x7fff_0001]), (SECCOMP_RET_ALLOW, None));
        assert_eq!(
            combine_indexed([SECCOMP_RET_ALLOW, SECCOMP_RET_LOG]),
            (SECCOMP_RET_LOG, Some(1))
        );
        // Order-independent for the action, by brute force over pairs.
        let vals = [
            0,
            0x8000_0000,
            0x0003_0001,
            0x0005_0002,
            0x7fc0_0000,
            0x7ff0_0000,
            0x7ffc_0000,
            0x7fff_0000,
            0x0001_0000,
        ];
        for &x in &vals {
            for &y in &vals {
                let r = combine([x, y]);
                let lowest = action_only(x)
                    .min(action_only(y))
                    .min(action_only(SECCOMP_RET_ALLOW));
                assert_eq!(action_only(r), lowest);
                if action_only(x) == action_only(y)
                    && action_only(x) < action_only(SECCOMP_RET_ALLOW)
                {
                    assert_eq!(r, x, "tie: newest wins");
                }
            }
        }
    }
}
