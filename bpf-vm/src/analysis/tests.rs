//! Tests of the step analysis: exact figures on hand-written filters, and a
//! property test against exhaustive emulation on random programs whose
//! behaviour depends only on a few small argument values.

use alloc::vec;
use alloc::vec::Vec;

use bpf_asm::insn::*;
use bpf_asm::seccomp::*;
use bpf_asm::{Arch, Endian, SockFilter};

use super::*;
use crate::data::SeccompData;
use crate::emu::tests::Rng;
use crate::emu::Prepared;

fn s(code: u16, k: u32) -> SockFilter {
    SockFilter::stmt(code, k)
}
fn j(code: u16, k: u32, jt: u8, jf: u8) -> SockFilter {
    SockFilter::jump(code, k, jt, jf)
}
const LD: u16 = BPF_LD | BPF_W | BPF_ABS;
const JEQ: u16 = BPF_JMP | BPF_JEQ | BPF_K;
const JGT: u16 = BPF_JMP | BPF_JGT | BPF_K;
const JGE: u16 = BPF_JMP | BPF_JGE | BPF_K;
const JSET: u16 = BPF_JMP | BPF_JSET | BPF_K;
const RET: u16 = BPF_RET | BPF_K;

#[test]
fn next_with_bits_finds_the_smallest_match() {
    assert_eq!(next_with_bits(0, 0, 0), Some(0));
    assert_eq!(next_with_bits(5, 0b10, 0b10), Some(6));
    assert_eq!(next_with_bits(7, 0b100, 0), Some(8));
    assert_eq!(next_with_bits(0xffff_fff0, 0b1000, 0), Some(0xffff_fff0));
    assert_eq!(next_with_bits(0xffff_fff9, 0b1000, 0), None);
    assert_eq!(
        next_with_bits(3, 0x8000_0000, 0x8000_0000),
        Some(0x8000_0000)
    );
    let mut rng = Rng::new(7);
    for _ in 0..2000 {
        let x = rng.below(64) as u32;
        let mask = rng.below(64) as u32;
        let val = rng.below(64) as u32 & mask;
        let want = (x..200).find(|w| w & mask == val);
        assert_eq!(
            next_with_bits(x, mask, val),
            want,
            "x {x} mask {mask:#b} val {val:#b}"
        );
    }
}

#[test]
fn word_sets_prune_contradictions() {
    let mut w = WordSet::full();
    assert!(w.require(0xff, 0x12));
    assert!(!w.clone().require(0x0f, 0x3));
    assert!(w.forbid(u32::MAX, 0x12));
    assert_eq!(w.feasible(), Feasible::Yes);
    w.hi = 0x12;
    assert_eq!(w.feasible(), Feasible::No);
    let mut v = WordSet::full();
    v.lo = 3;
    v.hi = 5;
    for x in 3..=5 {
        v.forbid(u32::MAX, x);
    }
    assert_eq!(v.feasible(), Feasible::No);
    let mut m = WordSet::full();
    m.forbid(0xffff_0000, 0);
    m.hi = 0xffff;
    assert_eq!(m.feasible(), Feasible::No);
    m.hi = 0x10000;
    assert_eq!(m.feasible(), Feasible::Yes);
}

/// arch check, then nr dispatch; `personality`-like argument check on nr 3.
fn sample_filter() -> Vec<SockFilter> {
    vec![
        s(LD, 4),                         // 0
        j(JEQ, AUDIT_ARCH_X86_64, 1, 0),  // 1
        s(RET, SECCOMP_RET_KILL_PROCESS), // 2
        s(LD, 0),                         // 3
        j(JEQ, 0, 6, 0),                  // 4 read -> allow
        j(JEQ, 1, 5, 0),                  // 5 write -> allow
        j(JEQ, 3, 1, 0),                  // 6 close -> arg check
        s(RET, SECCOMP_RET_ERRNO | 1),    // 7
        s(LD, 16),                        // 8 arg0 low
        j(JGT, 10, 1, 0),                 // 9
        s(RET, SECCOMP_RET_ALLOW),        // 10
        j(JEQ, 5, 0, 1),                  // 11 (never true: 5 > 10 is false)
        s(RET, SECCOMP_RET_TRAP),         // 12
        s(RET, SECCOMP_RET_ERRNO | 2),    // 13
    ]
}

#[test]
fn sample_filter_steps_are_exact() {
    let prog = sample_filter();
    let a = analyze(&prog, Arch::X86_64, [1000u32]).unwrap();
    let read = a.get(0).unwrap();
    assert_eq!(read.name, Some("read"));
    // ld, jeq, ld, jeq, (jump to 11) jeq 5 -> ... wait: jt of insn 4 is +6 -> 11.
    let b = read.bounds;
    assert!(b.exact);
    assert_eq!((b.min, b.max), (6, 6)); // 0,1,3,4,11(jeq 5 false->13),13
    let close = a.get(3).unwrap().bounds;
    // 0,1,3,4,5,6,8,9 then 10 (arg <= 10) => 9 steps; or 11,13 (arg > 10) => 10.
    assert_eq!((close.min, close.max, close.exact), (9, 10, true));
    let other = a.get(1000).unwrap().bounds;
    assert_eq!((other.min, other.max, other.exact), (7, 7, true));
    let sum = a.summary();
    assert!(sum.exact);
    assert_eq!(sum.max, 10);
    assert_eq!(sum.min, 6);
    // Another arch is killed after 3 steps.
    let x86 = syscall_steps(&prog, 3, AUDIT_ARCH_I386, 100).unwrap();
    assert_eq!(
        x86,
        StepBounds {
            min: 3,
            max: 3,
            exact: true
        }
    );
}

#[test]
fn infeasible_branches_are_pruned() {
    // arg0 == 7 then later arg0 > 100 can never hold; nor (arg0 & 1) == 0.
    let prog = [
        s(LD, 16),                       // 0
        j(JEQ, 7, 0, 6),                 // 1 -> 2 / 8
        j(JGT, 100, 0, 1),               // 2 -> 3 / 4
        s(RET, 1),                       // 3 (infeasible)
        s(BPF_ALU | BPF_AND | BPF_K, 1), // 4
        j(JEQ, 0, 0, 1),                 // 5 -> 6 / 7
        s(RET, 2),                       // 6 (infeasible)
        s(RET, 3),                       // 7: 0,1,2,4,5,7 = 6 steps
        j(JSET, 0xffff_fff8, 1, 0),      // 8 arg0 != 7
        s(RET, 4),                       // 9: 0,1,8,9 = 4 steps
        s(RET, 5),                       // 10: 4 steps
    ];
    let b = syscall_steps(&prog, 0, AUDIT_ARCH_X86_64, 1000).unwrap();
    assert_eq!(
        b,
        StepBounds {
            min: 4,
            max: 6,
            exact: true
        }
    );
    // Untracked arithmetic makes it inexact.
    let prog = [
        s(LD, 16),
        s(BPF_ALU | BPF_ADD | BPF_K, 1),
        j(JEQ, 0, 0, 1),
        s(RET, 1),
        s(RET, 2),
    ];
    let b = syscall_steps(&prog, 0, AUDIT_ARCH_X86_64, 1000).unwrap();
    assert_eq!(
        b,
        StepBounds {
            min: 4,
            max: 4,
            exact: false
        }
    );
}

/// A random program that reads only nr, args[0] (both halves on LE) and
/// the low word of the IP, and compares them only with constants below 8.
fn small_program(rng: &mut Rng) -> Vec<SockFilter> {
    let len = 2 + rng.below(24) as usize;
    let mut p = Vec::new();
    for pc in 0..len {
        let left = len - pc - 1;
        if left == 0 {
            p.push(if rng.below(2) == 0 {
                s(BPF_RET | BPF_A, 0)
            } else {
                s(RET, rng.below(4) as u32)
            });
            break;
        }
        let off = |rng: &mut Rng| rng.below(left.min(255) as u64) as u8;
        let k = rng.below(8) as u32;
        let f = match rng.below(16) {
            0..=3 => s(LD, [0, 8, 16, 20][rng.below(4) as usize]),
            4 => s(BPF_ALU | BPF_AND | BPF_K, k),
            5 => s(BPF_LD | BPF_IMM, k),
            6 => s(BPF_MISC | BPF_TAX, 0),
            7 => s([BPF_ST, BPF_LD | BPF_MEM][rng.below(2) as usize], 0),
            8 => s(BPF_ALU | BPF_ADD | BPF_K, k),
            9 => s(BPF_JMP | BPF_JA, rng.below(left as u64) as u32),
            10 => j(BPF_JMP | BPF_JGT | BPF_X, 0, off(rng), off(rng)),
            11 => s(BPF_ALU | BPF_DIV | BPF_X, 0),
            _ => j(
                [JEQ, JGT, JGE, JSET][rng.below(4) as usize],
                k,
                off(rng),
                off(rng),
            ),
        };
        p.push(f);
    }
    // Store before any load of M[0].
    p.insert(0, s(BPF_ST, 0));
    p
}

#[test]
fn bounds_contain_exhaustive_emulation_and_are_exact_when_claimed() {
    let seed = testkit::seed("bounds_contain_exhaustive_emulation", 0xa11a_0001);
    let mut rng = Rng::new(seed);
    let mut checked = 0;
    let mut exact_seen = 0;
    let mut tries = 0;
    while checked < 300 && tries < 20_000 {
        tries += 1;
        let prog = small_program(&mut rng);
        let Ok(prepared) = Prepared::new(&prog) else {
            continue;
        };
        checked += 1;
        for nr in 0..3u32 {
            let b = syscall_steps(&prog, nr, AUDIT_ARCH_X86_64, 10_000).unwrap();
            let (mut lo, mut hi) = (usize::MAX, 0);
            // Values 0..16 cover every class of behaviour of a word compared
            // with constants below 8 and masked with masks below 8.
            for ip in 0..16u64 {
                for a_lo in 0..16u64 {
                    for a_hi in 0..16u64 {
                        let d = SeccompData::new(nr as i32, AUDIT_ARCH_X86_64)
                            .with_ip(ip)
                            .with_args([a_lo | (a_hi << 32), 0, 0, 0, 0, 0]);
                        let st = prepared.run(&d, Endian::Little).steps;
                        lo = lo.min(st);
                        hi = hi.max(st);
                    }
                }
            }
            assert!(
                b.min <= lo && b.max >= hi,
                "seed {seed:#x} nr {nr} {b:?} vs {lo}..{hi}: {prog:?}"
            );
            if b.exact {
                exact_seen += 1;
                assert_eq!((b.min, b.max), (lo, hi), "seed {seed:#x} nr {nr}: {prog:?}");
            }
        }
    }
    assert!(
        checked >= 300 && exact_seen > 200,
        "checked {checked}, exact {exact_seen}"
    );
}
