//! The filter-stack model: a stack of filters evaluated on one system call
//! as `seccomp_run_filters` does it, with the action cache's short cut
//! ([`crate::cache::cache_allows`]) and the x86-64 `uretprobe`/`uprobe`
//! bypass of the modelled kernel ([`KernelModel`]), and the results
//! [`combine`](crate::action::combine)d.

use core::fmt;

use bpf_asm::seccomp::SECCOMP_RET_ALLOW;
use bpf_asm::{Endian, SockFilter};

use crate::action::{action_only, KernelAction};
use crate::cache::cache_allows;
use crate::data::SeccompData;
use crate::kernel::KernelModel;

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

/// Evaluates a filter stack (newest filter first) on one system call, as
/// `seccomp_run_filters` does: the action cache first (see
/// [`KernelModel`]), else every filter runs and the results are
/// [`combine`](crate::action::combine)d. Every filter is verified first (in seccomp mode); when
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
    use crate::action::combine;
    use crate::emu::tests::{random_data, random_program, Rng};
    use crate::kernel::UprobeBypass;
    use alloc::vec::Vec;
    use bpf_asm::insn::{BPF_ABS, BPF_JEQ, BPF_JMP, BPF_K, BPF_LD, BPF_RET, BPF_W};
    use bpf_asm::seccomp::*;

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
