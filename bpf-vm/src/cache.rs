//! The seccomp action cache (Linux 5.11+): per-architecture bitmaps of the
//! syscalls that every attached filter allows whatever the arguments; such
//! syscalls are allowed without running any filter.
//!
//! [`seccomp_is_const_allow`] is the kernel's check of one filter,
//! [`cache_bitmap`] the bitmap of a stack, and [`cache_allows`] the lookup
//! `seccomp_run_filters` makes before running any filter.

use bpf_asm::insn::*;
use bpf_asm::seccomp::{Arch, SECCOMP_DATA_ARCH, SECCOMP_DATA_NR, SECCOMP_RET_ALLOW};

use crate::data::SeccompData;
use crate::kernel::KernelModel;

/// Number of syscall numbers a [`SyscallSet`] holds (`0..CAPACITY`).
///
/// Every architecture with a cache numbers its syscalls below 1024 (checked
/// by a test against the `syscalls` tables); the kernel's bitmaps cover
/// `0..NR_syscalls`, so x32 numbers (`0x4000_0000 | n`) and arm's private
/// `0x0f00xx` calls are never cached.
pub const CAPACITY: usize = 1024;

/// A fixed-size set of syscall numbers `0..CAPACITY` (no allocation).
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct SyscallSet {
    words: [u64; CAPACITY / 64],
}

impl Default for SyscallSet {
    fn default() -> Self {
        Self::new()
    }
}

impl SyscallSet {
    /// The empty set.
    pub const fn new() -> Self {
        SyscallSet {
            words: [0; CAPACITY / 64],
        }
    }

    /// Whether `nr` is in the set (numbers past the capacity never are).
    pub const fn contains(&self, nr: u32) -> bool {
        let n = nr as usize;
        n < CAPACITY && self.words[n / 64] & (1 << (n % 64)) != 0
    }

    /// Adds `nr`; returns `false` (and changes nothing) when it is past the capacity.
    pub fn insert(&mut self, nr: u32) -> bool {
        let n = nr as usize;
        if n >= CAPACITY {
            return false;
        }
        self.words[n / 64] |= 1 << (n % 64);
        true
    }

    /// Removes `nr`.
    pub fn remove(&mut self, nr: u32) {
        let n = nr as usize;
        if n < CAPACITY {
            self.words[n / 64] &= !(1 << (n % 64));
        }
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.words.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.words.iter().all(|&w| w == 0)
    }

    /// The members in ascending order.
    pub fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        (0..CAPACITY as u32).filter(|&nr| self.contains(nr))
    }
}

/// Whether the kernel keeps an action cache for tasks whose syscalls report
/// `arch`: the architecture's `asm/seccomp.h` defines `SECCOMP_ARCH_NATIVE`
/// (x86, arm64, arm, riscv, loongarch, s390, powerpc, sparc), or `arch` is
/// the `SECCOMP_ARCH_COMPAT` of one that does (i386 on x86-64, arm on arm64,
/// ppc on ppc64, sparc on sparc64). MIPS defines neither, so its filters
/// always run.
pub const fn has_cache(arch: Arch) -> bool {
    !matches!(
        arch,
        Arch::Mips | Arch::Mipsel | Arch::Mips64 | Arch::Mipsel64
    )
}

/// `seccomp_uprobe_exception` as on Linux 6.18: native x86-64 `uretprobe`
/// (335) and `uprobe` (336) bypass every filter.
pub const fn uprobe_exception(nr: u32, audit_arch: u32) -> bool {
    audit_arch == bpf_asm::seccomp::AUDIT_ARCH_X86_64 && (nr == 335 || nr == 336)
}

/// `seccomp_is_const_allow`: whether `prog` (the program as submitted, not
/// rewritten) returns exactly `SECCOMP_RET_ALLOW` for syscall `nr` of
/// `audit_arch` whatever the arguments and instruction pointer, judged by the
/// kernel's small symbolic emulator (only A is tracked; any instruction it
/// does not model makes the answer `false`).
pub fn seccomp_is_const_allow(prog: &[SockFilter], nr: u32, audit_arch: u32) -> bool {
    if uprobe_exception(nr, audit_arch) {
        return true;
    }
    let mut a: u32 = 0;
    let mut pc: usize = 0;
    while let Some(f) = prog.get(pc) {
        let k = f.k;
        match f.code {
            c if c == BPF_LD | BPF_W | BPF_ABS => match k {
                SECCOMP_DATA_NR => a = nr,
                SECCOMP_DATA_ARCH => a = audit_arch,
                _ => return false,
            },
            c if c == BPF_RET | BPF_K => return k == SECCOMP_RET_ALLOW,
            c if c == BPF_JMP | BPF_JA => pc = pc.saturating_add(k as usize),
            c if bpf_class(c) == BPF_JMP && bpf_src(c) == BPF_K && c == (c & 0xf0) | 0x05 => {
                let taken = match bpf_op(c) {
                    BPF_JEQ => a == k,
                    BPF_JGE => a >= k,
                    BPF_JGT => a > k,
                    BPF_JSET => a & k != 0,
                    _ => return false,
                };
                pc += if taken { f.jt } else { f.jf } as usize;
            }
            c if c == BPF_ALU | BPF_AND | BPF_K => a &= k,
            _ => return false,
        }
        pc += 1;
    }
    // Ran off the end (the kernel WARNs); impossible for verified programs.
    false
}

/// The syscalls of `arch` (numbers `0..=arch.syscall_range().1`, capped at
/// [`CAPACITY`]) the kernel allows from its cache, without running any
/// filter, once every program of `stack` is attached (any order: the bitmap
/// is the intersection over the chain). Empty when [`has_cache`] is false or
/// the stack is empty (no filter, no cache).
pub fn cache_bitmap(stack: &[&[SockFilter]], arch: Arch) -> SyscallSet {
    let mut set = SyscallSet::new();
    if !has_cache(arch) || stack.is_empty() {
        return set;
    }
    let audit = arch.audit_arch();
    let last = arch.syscall_range().1.min(CAPACITY as u32 - 1);
    for nr in 0..=last {
        if stack.iter().all(|p| seccomp_is_const_allow(p, nr, audit)) {
            set.insert(nr);
        }
    }
    set
}

/// Whether the action cache answers `(nr, arch)` with `ALLOW` for this
/// stack without running any filter: the stack is not empty, the
/// architecture has a cache bitmap ([`has_cache`]), `nr` is
/// inside it, and every filter allows `(nr, arch)` as a constant
/// ([`seccomp_is_const_allow`]) or the uprobe exemption of
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
    if !has_cache(arch) || nr > arch.syscall_range().1 {
        return false;
    }
    if model.uprobe_bypass.exempts(data.nr, data.arch) {
        return true;
    }
    if uprobe_exception(nr, data.arch) {
        // The modelled kernel has no exemption for this number; running the
        // filters gives the exact result.
        return false;
    }
    filters_newest_first
        .iter()
        .all(|f| seccomp_is_const_allow(f, nr, data.arch))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bpf_asm::seccomp::{AUDIT_ARCH_I386, AUDIT_ARCH_X86_64};
    use std::vec::Vec;

    const ALLOW: u32 = SECCOMP_RET_ALLOW;
    const KILL: u32 = 0;
    fn s(code: u16, k: u32) -> SockFilter {
        SockFilter::stmt(code, k)
    }
    fn j(code: u16, k: u32, jt: u8, jf: u8) -> SockFilter {
        SockFilter::jump(code, k, jt, jf)
    }

    /// arch check, then allow `nrs`, kill everything else.
    fn allowlist(arch: Arch, nrs: &[u32]) -> Vec<SockFilter> {
        let mut p = std::vec![
            s(0x20, 4),
            j(0x15, arch.audit_arch(), 1, 0),
            s(0x06, KILL),
            s(0x20, 0),
        ];
        for (i, &nr) in nrs.iter().enumerate() {
            let left = (nrs.len() - i - 1) as u8;
            p.push(j(0x15, nr, left + 1, 0));
        }
        p.push(s(0x06, KILL));
        p.push(s(0x06, ALLOW));
        p
    }

    #[test]
    fn allowlist_is_cached_exactly() {
        let nrs = [0, 1, 60, 231];
        let p = allowlist(Arch::X86_64, &nrs);
        assert_eq!(
            crate::verify::verify(&p, crate::verify::Mode::Seccomp),
            Ok(())
        );
        let set = cache_bitmap(&[&p], Arch::X86_64);
        let got: Vec<u32> = set.iter().collect();
        assert_eq!(got, [0, 1, 60, 231, 335, 336]);
        // The compat (i386) bitmap: the arch check fails, nothing is cached.
        assert!(cache_bitmap(&[&p], Arch::X86).is_empty());
        let p32 = allowlist(Arch::X86, &[3, 4]);
        let got: Vec<u32> = cache_bitmap(&[&p32], Arch::X86).iter().collect();
        assert_eq!(got, [3, 4]);
    }

    #[test]
    fn uprobe_syscalls_bypass_filters_on_native_x86_64_only() {
        let kill = [s(0x06, KILL)];
        assert!(seccomp_is_const_allow(&kill, 335, AUDIT_ARCH_X86_64));
        assert!(seccomp_is_const_allow(&kill, 336, AUDIT_ARCH_X86_64));
        assert!(!seccomp_is_const_allow(&kill, 337, AUDIT_ARCH_X86_64));
        assert!(!seccomp_is_const_allow(&kill, 335, AUDIT_ARCH_I386));
        let got: Vec<u32> = cache_bitmap(&[&kill], Arch::X86_64).iter().collect();
        assert_eq!(got, [335, 336]);
        assert!(cache_bitmap(&[&kill], Arch::Aarch64).is_empty());
    }

    #[test]
    fn the_symbolic_emulator_follows_only_the_concrete_path() {
        let x86 = AUDIT_ARCH_X86_64;
        // nr 1 reaches an arg load, others do not.
        let p = [
            s(0x20, 0),
            j(0x15, 1, 0, 2),
            s(0x20, 16),
            s(0x16, 0),
            s(0x06, ALLOW),
        ];
        assert!(!seccomp_is_const_allow(&p, 1, x86));
        assert!(seccomp_is_const_allow(&p, 2, x86));
        // ALLOW with data bits is not the exact ALLOW.
        assert!(!seccomp_is_const_allow(&[s(0x06, ALLOW | 1)], 2, x86));
        // ret a, ld #k, X forms, other ALU ops: unknown to the emulator.
        let unknown = [
            [s(0x00, ALLOW), s(0x16, 0)],
            [s(0x04, 0), s(0x06, ALLOW)],
            [s(0x07, 0), s(0x06, ALLOW)],
            [j(0x1d, 0, 0, 0), s(0x06, ALLOW)],
            [s(0x84, 0), s(0x06, ALLOW)],
        ];
        for p in unknown {
            assert!(!seccomp_is_const_allow(&p, 2, x86), "{p:?}");
        }
        // and #k, jset, jge, jgt and ja are modelled.
        let p = [
            s(0x20, 0),
            s(0x54, 0xff),
            j(0x45, 0x80, 5, 0),
            j(0x35, 100, 1, 0),
            s(0x05, 1),
            j(0x25, 200, 2, 1),
            s(0x06, ALLOW),
            s(0x06, KILL),
            s(0x06, KILL),
        ];
        // 5: jset no, jge no, ja -> 6 ALLOW.
        assert!(seccomp_is_const_allow(&p, 5, x86));
        assert!(seccomp_is_const_allow(&p, 0x105, x86)); // masked to 5
        assert!(!seccomp_is_const_allow(&p, 0x80, x86)); // jset taken -> idx 8 KILL
        assert!(!seccomp_is_const_allow(&p, 120, x86)); // jge yes, jgt no -> 7 KILL
                                                        // Running off the end (unverified program) is not an allow.
        assert!(!seccomp_is_const_allow(&[s(0x20, 0)], 0, x86));
        assert!(!seccomp_is_const_allow(&[], 0, x86));
        assert!(!seccomp_is_const_allow(&[s(0x05, u32::MAX)], 0, x86));
    }

    #[test]
    fn stacked_filters_intersect() {
        let a = allowlist(Arch::X86_64, &[0, 1, 2]);
        let b = allowlist(Arch::X86_64, &[1, 2, 3]);
        let got: Vec<u32> = cache_bitmap(&[&a, &b], Arch::X86_64).iter().collect();
        assert_eq!(got, [1, 2, 335, 336]);
        assert!(cache_bitmap(&[], Arch::X86_64).is_empty());
    }

    #[test]
    fn arches_without_a_cache() {
        let all = [s(0x06, ALLOW)];
        for arch in Arch::ALL {
            let set = cache_bitmap(&[&all], arch);
            if has_cache(arch) {
                let last = arch.syscall_range().1;
                assert!(last < CAPACITY as u32, "{arch:?} {last}");
                assert_eq!(set.len(), last as usize + 1, "{arch:?}");
            } else {
                assert!(set.is_empty());
            }
        }
        assert!(!has_cache(Arch::Mips64));
    }

    #[test]
    fn syscall_set_basics() {
        let mut set = SyscallSet::new();
        assert!(set.insert(0) && set.insert(1023) && !set.insert(1024));
        assert!(set.contains(1023) && !set.contains(1024) && !set.contains(u32::MAX));
        set.remove(0);
        assert_eq!(set.iter().collect::<Vec<_>>(), [1023]);
        assert_eq!(set.len(), 1);
    }
}
