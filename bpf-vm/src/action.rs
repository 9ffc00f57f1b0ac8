//! What the kernel does with a filter's 32-bit return value, and how the
//! results of stacked filters combine (`seccomp_run_filters`).
//!
//! * [`KernelAction::from_ret`] decodes one return value exactly as
//!   `__seccomp_filter` acts on it (unknown actions kill the process, the
//!   errno is capped at 4095, data on `ALLOW`/`LOG` is ignored).
//! * [`combine`] folds the results of a filter stack, newest filter first,
//!   with the kernel's precedence.
//! * [`run_stack`] evaluates a whole stack on one `seccomp_data`, including
//!   the action-cache short cut and the x86-64 `uretprobe`/`uprobe` bypass.

use core::fmt;

use bpf_asm::seccomp::*;
use bpf_asm::{Endian, SockFilter};

use crate::data::SeccompData;

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

/// Which syscall-number exemptions of the action cache the modelled kernel
/// has (`seccomp_uprobe_exception`, x86-64 only).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum UprobeBypass {
    /// No exemption (kernels before ≈6.14).
    None,
    /// `uretprobe` (335) bypasses every filter (≈6.14 and stable backports).
    Uretprobe,
    /// `uretprobe` (335) and `uprobe` (336) bypass every filter (6.18+).
    UretprobeAndUprobe,
}

/// x86-64 `__NR_uretprobe`.
pub const X86_64_NR_URETPROBE: i32 = 335;
/// x86-64 `__NR_uprobe`.
pub const X86_64_NR_UPROBE: i32 = 336;

impl UprobeBypass {
    /// Whether `seccomp_uprobe_exception` lets `(nr, arch)` skip every
    /// filter.
    pub const fn exempts(self, nr: i32, arch: u32) -> bool {
        if arch != AUDIT_ARCH_X86_64 {
            return false;
        }
        match self {
            UprobeBypass::None => false,
            UprobeBypass::Uretprobe => nr == X86_64_NR_URETPROBE,
            UprobeBypass::UretprobeAndUprobe => nr == X86_64_NR_URETPROBE || nr == X86_64_NR_UPROBE,
        }
    }
}

/// The kernel behaviour a stack evaluation models.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct KernelModel {
    /// The `uretprobe`/`uprobe` exemption of the action cache.
    pub uprobe_bypass: UprobeBypass,
    /// Whether the action cache (5.11+) is modelled. When it is, a syscall
    /// every filter of the stack allows as a constant is answered `ALLOW`
    /// without running any filter (`steps` 0); the result is the same as
    /// running them, except through the uprobe exemption.
    pub action_cache: bool,
}

impl KernelModel {
    /// Linux 6.18 on x86-64, the test machine: action cache on, both
    /// `uretprobe` and `uprobe` exempt.
    pub const LINUX_6_18: KernelModel = KernelModel {
        uprobe_bypass: UprobeBypass::UretprobeAndUprobe,
        action_cache: true,
    };
    /// A kernel without the action cache (before 5.11): every filter runs.
    pub const NO_CACHE: KernelModel = KernelModel {
        uprobe_bypass: UprobeBypass::None,
        action_cache: false,
    };
}

impl Default for KernelModel {
    fn default() -> Self {
        KernelModel::LINUX_6_18
    }
}

/// The result of evaluating a filter stack on one system call.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct StackOutcome {
    /// The combined 32-bit result.
    pub ret: u32,
    /// Position (newest first) of the filter whose result won; `None` when
    /// the result is `ALLOW` from the initial value or the cache.
    pub matched: Option<usize>,
    /// Instructions executed over all filters (0 on a cache hit).
    pub steps: usize,
    /// Whether the action cache answered without running any filter.
    pub cache_hit: bool,
}

impl StackOutcome {
    /// What the kernel does with [`StackOutcome::ret`].
    pub const fn action(&self) -> KernelAction {
        KernelAction::from_ret(self.ret)
    }
}

/// Why a stack could not be evaluated.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct StackError {
    /// Position (newest first) of the filter the kernel would reject: the
    /// **oldest** invalid one, since filters are installed oldest first and
    /// installation stops at the first refusal.
    pub filter: usize,
    /// Why it is rejected.
    pub error: crate::verify::VerifyError,
}

impl fmt::Display for StackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "filter {} (newest first): {}", self.filter, self.error)
    }
}

#[cfg(feature = "std")]
impl std::error::Error for StackError {}

/// Whether the action cache answers `(nr, arch)` with `ALLOW` for this
/// stack without running any filter: the stack is not empty, the
/// architecture has a cache bitmap ([`crate::cache::has_cache`]), `nr` is
/// inside it, and every filter allows `(nr, arch)` as a constant
/// ([`crate::cache::seccomp_is_const_allow`]) or the uprobe exemption of
/// `model` applies.
///
/// The bitmap size is modelled as the architecture's syscall table size
/// (`Arch::syscall_range`), which can differ from the kernel's
/// `NR_syscalls`; since a hit returns what running the filters would return
/// (apart from the exemption), this can change `steps`, never results. Under
/// a model without the exemption, 335/336 on x86-64 are never cache hits.
pub fn cache_allows(
    filters_newest_first: &[&[SockFilter]],
    data: &SeccompData,
    model: KernelModel,
) -> bool {
    if !model.action_cache || filters_newest_first.is_empty() || data.nr < 0 {
        return false;
    }
    let nr = data.nr as u32;
    let Some(arch) = bpf_asm::Arch::from_audit(data.arch) else {
        return false;
    };
    if !crate::cache::has_cache(arch) || nr > arch.syscall_range().1 {
        return false;
    }
    if model.uprobe_bypass.exempts(data.nr, data.arch) {
        return true;
    }
    if crate::cache::uprobe_exception(nr, data.arch) {
        // The modelled kernel has no exemption for this number; running the
        // filters gives the exact result.
        return false;
    }
    filters_newest_first
        .iter()
        .all(|f| crate::cache::seccomp_is_const_allow(f, nr, data.arch))
}

/// Evaluates a filter stack (newest filter first) on one system call, as
/// `seccomp_run_filters` does: the action cache first (see
/// [`KernelModel`]), else every filter runs and the results are
/// [`combine`]d. Every filter is verified first (in seccomp mode); when
/// several are invalid, the error names the one the kernel refuses: the
/// oldest, because the stack is installed oldest first and installation
/// stops at the first refusal.
pub fn run_stack(
    filters_newest_first: &[&[SockFilter]],
    data: &SeccompData,
    endian: Endian,
    model: KernelModel,
) -> Result<StackOutcome, StackError> {
    // Oldest first, as the kernel installs them.
    for (i, f) in filters_newest_first.iter().enumerate().rev() {
        crate::verify::verify(f, crate::verify::Mode::Seccomp)
            .map_err(|error| StackError { filter: i, error })?;
    }
    if cache_allows(filters_newest_first, data, model) {
        return Ok(StackOutcome {
            ret: SECCOMP_RET_ALLOW,
            matched: None,
            steps: 0,
            cache_hit: true,
        });
    }
    let mut steps = 0usize;
    let mut ret = SECCOMP_RET_ALLOW;
    let mut matched = None;
    for (i, f) in filters_newest_first.iter().enumerate() {
        let out = crate::emu::run_verified(f, data, endian);
        steps += out.steps;
        if action_only(out.ret) < action_only(ret) {
            ret = out.ret;
            matched = Some(i);
        }
    }
    Ok(StackOutcome {
        ret,
        matched,
        steps,
        cache_hit: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emu::tests::{random_data, random_program, Rng};
    use alloc::vec::Vec;
    use bpf_asm::insn::{BPF_ABS, BPF_JEQ, BPF_JMP, BPF_K, BPF_LD, BPF_RET, BPF_W};

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

    fn ret(k: u32) -> SockFilter {
        SockFilter::stmt(BPF_RET | BPF_K, k)
    }

    #[test]
    fn uprobe_syscalls_bypass_every_filter_on_x86_64() {
        let deny: &[SockFilter] = &[ret(SECCOMP_RET_ERRNO | 1)];
        let allow: &[SockFilter] = &[ret(SECCOMP_RET_ALLOW)];
        let stack = [deny, allow];
        for nr in [335, 336] {
            let d = SeccompData::new(nr, AUDIT_ARCH_X86_64);
            let out = run_stack(&stack, &d, Endian::Little, KernelModel::LINUX_6_18).unwrap();
            assert_eq!(
                out,
                StackOutcome {
                    ret: SECCOMP_RET_ALLOW,
                    matched: None,
                    steps: 0,
                    cache_hit: true
                }
            );
            let old = run_stack(&stack, &d, Endian::Little, KernelModel::NO_CACHE).unwrap();
            assert_eq!(
                (old.ret, old.matched, old.steps),
                (SECCOMP_RET_ERRNO | 1, Some(0), 2)
            );
        }
        let only_uret = KernelModel {
            uprobe_bypass: UprobeBypass::Uretprobe,
            action_cache: true,
        };
        let d = SeccompData::new(336, AUDIT_ARCH_X86_64);
        assert_eq!(
            run_stack(&stack, &d, Endian::Little, only_uret)
                .unwrap()
                .ret,
            SECCOMP_RET_ERRNO | 1
        );
        // Not on other architectures or numbers.
        for d in [
            SeccompData::new(335, AUDIT_ARCH_I386),
            SeccompData::new(334, AUDIT_ARCH_X86_64),
        ] {
            let out = run_stack(&stack, &d, Endian::Little, KernelModel::LINUX_6_18).unwrap();
            assert_eq!(out.ret, SECCOMP_RET_ERRNO | 1);
            assert!(!out.cache_hit);
        }
    }

    #[test]
    fn cache_hits_skip_filters_without_changing_results() {
        let by_nr: &[SockFilter] = &[
            SockFilter::stmt(BPF_LD | BPF_W | BPF_ABS, 0),
            SockFilter::jump(BPF_JMP | BPF_JEQ | BPF_K, 39, 0, 1),
            ret(SECCOMP_RET_ALLOW),
            ret(SECCOMP_RET_ERRNO | 1),
        ];
        let d = SeccompData::new(39, AUDIT_ARCH_X86_64);
        let hit = run_stack(&[by_nr], &d, Endian::Little, KernelModel::LINUX_6_18).unwrap();
        assert_eq!(
            (hit.ret, hit.steps, hit.cache_hit),
            (SECCOMP_RET_ALLOW, 0, true)
        );
        let miss = run_stack(&[by_nr], &d, Endian::Little, KernelModel::NO_CACHE).unwrap();
        assert_eq!(
            (miss.ret, miss.steps, miss.cache_hit),
            (SECCOMP_RET_ALLOW, 3, false)
        );
        // An invalid filter is reported with its position.
        let bad: &[SockFilter] = &[SockFilter::stmt(BPF_LD | BPF_W | BPF_ABS, 0)];
        let err =
            run_stack(&[by_nr, bad], &d, Endian::Little, KernelModel::LINUX_6_18).unwrap_err();
        assert_eq!(err.filter, 1);
    }

    #[test]
    fn the_oldest_invalid_filter_is_the_one_reported() {
        use crate::verify::{Rule, VerifyError};
        let ok: &[SockFilter] = &[ret(SECCOMP_RET_ALLOW)];
        // Two different rules, so the error says which filter it came from.
        let no_ret: &[SockFilter] = &[SockFilter::stmt(BPF_LD | BPF_W | BPF_ABS, 0)];
        let bad_off: &[SockFilter] = &[SockFilter::stmt(BPF_LD | BPF_W | BPF_ABS, 2), ret(0)];
        let d = SeccompData::new(39, AUDIT_ARCH_X86_64);
        let run =
            |stack: &[&[SockFilter]]| run_stack(stack, &d, Endian::Little, KernelModel::LINUX_6_18);
        // Newest first: `no_ret` (newest), `ok`, `bad_off` (oldest).
        let e = run(&[no_ret, ok, bad_off]).unwrap_err();
        assert_eq!(e.filter, 2);
        assert_eq!(e.error, VerifyError::at(0, Rule::BadSeccompDataOffset));
        let e = run(&[bad_off, ok, no_ret]).unwrap_err();
        assert_eq!(e.filter, 2);
        assert_eq!(e.error, VerifyError::at(0, Rule::NoFinalReturn));
        // By brute force over every validity pattern of up to 5 filters.
        for n in 1..=5usize {
            for mask in 0u32..1 << n {
                let stack: Vec<&[SockFilter]> = (0..n)
                    .map(|i| if mask >> i & 1 == 1 { no_ret } else { ok })
                    .collect();
                match run(&stack) {
                    Ok(_) => assert_eq!(mask, 0),
                    // The highest newest-first position = the oldest invalid one.
                    Err(e) => assert_eq!(e.filter, 31 - mask.leading_zeros() as usize, "{mask:b}"),
                }
            }
        }
    }

    #[test]
    fn stack_result_is_the_combination_of_single_runs() {
        let seed = testkit::seed(
            "stack_result_is_the_combination_of_single_runs",
            0x57ac_0001,
        );
        let mut rng = Rng::new(seed);
        let mut progs: Vec<Vec<SockFilter>> = Vec::new();
        while progs.len() < 200 {
            let p = random_program(&mut rng, 20);
            if crate::verify::verify(&p, crate::verify::Mode::Seccomp).is_ok() {
                progs.push(p);
            }
        }
        for round in 0..2000 {
            let n = 1 + rng.below(4) as usize;
            let stack: Vec<&[SockFilter]> = (0..n)
                .map(|_| &progs[rng.below(200) as usize][..])
                .collect();
            let mut d = random_data(&mut rng);
            if rng.below(4) == 0 {
                d.nr = 335 + rng.below(2) as i32;
                d.arch = AUDIT_ARCH_X86_64;
            }
            let endian = if rng.below(2) == 0 {
                Endian::Little
            } else {
                Endian::Big
            };
            let singles: Vec<crate::emu::Outcome> = stack
                .iter()
                .map(|p| crate::emu::run(p, &d, endian).unwrap())
                .collect();
            let want = combine(singles.iter().map(|o| o.ret));
            let out = run_stack(&stack, &d, endian, KernelModel::LINUX_6_18).unwrap();
            let exempt = d.arch == AUDIT_ARCH_X86_64 && (d.nr == 335 || d.nr == 336);
            if exempt {
                assert_eq!(out.ret, SECCOMP_RET_ALLOW);
            } else {
                assert_eq!(out.ret, want, "seed {seed:#x} round {round}");
                if !out.cache_hit {
                    assert_eq!(out.steps, singles.iter().map(|o| o.steps).sum::<usize>());
                }
            }
            let plain = run_stack(&stack, &d, endian, KernelModel::NO_CACHE).unwrap();
            assert_eq!(plain.ret, want);
        }
    }
}
