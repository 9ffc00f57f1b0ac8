//! Tests of the emulator: one per runtime rule, the register-only vectors
//! of the kernel's `lib/test_bpf.c`, and a differential property test of
//! [`Prepared`] against the reference interpreter.

use alloc::vec;
use alloc::vec::Vec;

use bpf_asm::insn::*;
use bpf_asm::seccomp::*;
use bpf_asm::{Endian, SockFilter};

use super::*;

pub(crate) use testkit::Rng;

/// A 32-bit value biased towards the interesting ones.
pub(crate) fn value(rng: &mut Rng) -> u32 {
    const SPECIAL: [u32; 10] = [
        0,
        1,
        2,
        3,
        31,
        32,
        0x7fff_ffff,
        0x8000_0000,
        0xffff_ffff,
        0xc000_003e,
    ];
    match rng.below(3) {
        0 => rng.pick(&SPECIAL),
        1 => rng.below(8) as u32,
        _ => rng.next_u32(),
    }
}

fn s(code: u16, k: u32) -> SockFilter {
    SockFilter::stmt(code, k)
}
fn j(code: u16, k: u32, jt: u8, jf: u8) -> SockFilter {
    SockFilter::jump(code, k, jt, jf)
}

const LD_ABS: u16 = BPF_LD | BPF_W | BPF_ABS;
const RET_K: u16 = BPF_RET | BPF_K;
const RET_A: u16 = BPF_RET | BPF_A;

fn run0(prog: &[SockFilter]) -> Outcome {
    run(prog, &SeccompData::new(0, 0), Endian::Little).expect("program verifies")
}

/// Runs with both interpreters and checks they agree.
fn both(prog: &[SockFilter], data: &SeccompData, endian: Endian) -> Outcome {
    let plain = run(prog, data, endian).expect("program verifies");
    let prepared = Prepared::new(prog).expect("program verifies");
    assert_eq!(
        prepared.run(data, endian),
        plain,
        "prepared differs: {prog:?}"
    );
    plain
}

#[test]
fn registers_start_at_zero() {
    // test_bpf RET_A: txa; ret a → 0.
    let out = run0(&[s(BPF_MISC | BPF_TXA, 0), s(RET_A, 0)]);
    assert_eq!(out, Outcome { ret: 0, steps: 2 });
}

#[test]
fn division_by_zero_x_returns_zero_at_once() {
    // ld #66; div x; ret #66 → 0, and the ret is not executed.
    let prog = [
        s(BPF_LD | BPF_IMM, 66),
        s(BPF_ALU | BPF_DIV | BPF_X, 0),
        s(RET_K, 66),
    ];
    let out = both(&prog, &SeccompData::default(), Endian::Little);
    assert_eq!(out, Outcome { ret: 0, steps: 2 });
    // With X != 0 the division happens and the ret runs.
    let prog = [
        s(BPF_LD | BPF_IMM, 0xffff_fffe),
        s(BPF_LDX | BPF_IMM, 0x7fff_ffff),
        s(BPF_ALU | BPF_DIV | BPF_X, 0),
        s(RET_A, 0),
    ];
    assert_eq!(run0(&prog), Outcome { ret: 2, steps: 4 });
}

#[test]
fn shifts_by_x_use_the_count_modulo_32() {
    let shift = |op: u16, a: u32, x: u32| {
        let prog = [
            s(BPF_LD | BPF_IMM, a),
            s(BPF_LDX | BPF_IMM, x),
            s(BPF_ALU | op | BPF_X, 0),
            s(RET_A, 0),
        ];
        both(&prog, &SeccompData::default(), Endian::Little).ret
    };
    assert_eq!(shift(BPF_LSH, 1, 32), 1);
    assert_eq!(shift(BPF_LSH, 1, 33), 2);
    assert_eq!(shift(BPF_LSH, 5, 64), 5);
    assert_eq!(shift(BPF_LSH, 1, 31), 0x8000_0000);
    assert_eq!(shift(BPF_RSH, 8, 33), 4);
    assert_eq!(shift(BPF_RSH, 0x8000_0000, 0xffff_ffff), 1);
    assert_eq!(shift(BPF_LSH, 3, 0), 3);
}

#[test]
fn len_loads_give_64() {
    let prog = [s(BPF_LD | BPF_W | BPF_LEN, 0), s(RET_A, 0)];
    assert_eq!(run0(&prog).ret, 64);
    let prog = [
        s(BPF_LDX | BPF_W | BPF_LEN, 0),
        s(BPF_MISC | BPF_TXA, 0),
        s(RET_A, 0),
    ];
    assert_eq!(run0(&prog).ret, 64);
}

#[test]
fn word_loads_follow_the_byte_order() {
    let data = SeccompData::new(7, AUDIT_ARCH_S390X)
        .with_args([0x1122_3344_5566_7788, 0, 0, 0, 0, 0x0a0b_0c0d_0e0f_1011])
        .with_ip(0xaaaa_bbbb_cccc_dddd);
    let load = |k: u32, endian: Endian| both(&[s(LD_ABS, k), s(RET_A, 0)], &data, endian).ret;
    assert_eq!(load(16, Endian::Little), 0x5566_7788);
    assert_eq!(load(20, Endian::Little), 0x1122_3344);
    assert_eq!(load(16, Endian::Big), 0x1122_3344);
    assert_eq!(load(20, Endian::Big), 0x5566_7788);
    assert_eq!(load(56, Endian::Big), 0x0a0b_0c0d);
    assert_eq!(load(60, Endian::Little), 0x0a0b_0c0d);
    assert_eq!(load(8, Endian::Big), 0xaaaa_bbbb);
    assert_eq!(load(12, Endian::Little), 0xaaaa_bbbb);
    for e in [Endian::Little, Endian::Big] {
        assert_eq!(load(0, e), 7);
        assert_eq!(load(4, e), AUDIT_ARCH_S390X);
    }
    // nr is an int: -1 loads as 0xffffffff.
    let out = run(
        &[s(LD_ABS, 0), s(RET_A, 0)],
        &SeccompData::new(-1, 0),
        Endian::Big,
    );
    assert_eq!(out.unwrap().ret, 0xffff_ffff);
}

#[test]
fn arithmetic_wraps_at_32_bits_and_compares_are_unsigned() {
    let alu = |a: u32, op: u16, k: u32| {
        both(
            &[
                s(BPF_LD | BPF_IMM, a),
                s(BPF_ALU | op | BPF_K, k),
                s(RET_A, 0),
            ],
            &SeccompData::default(),
            Endian::Little,
        )
        .ret
    };
    assert_eq!(alu(0x10000, BPF_MUL, 0x10000), 0);
    assert_eq!(alu(3, BPF_SUB, 5), 0xffff_fffe);
    assert_eq!(alu(0xffff_ffff, BPF_ADD, 2), 1);
    assert_eq!(alu(0xffff_fffe, BPF_DIV, 0x7fff_ffff), 2);
    let neg = both(
        &[s(BPF_LD | BPF_IMM, 1), s(BPF_ALU | BPF_NEG, 0), s(RET_A, 0)],
        &SeccompData::default(),
        Endian::Little,
    );
    assert_eq!(neg.ret, 0xffff_ffff);
    let cmp = |a: u32, op: u16, k: u32| {
        let prog = [
            s(BPF_LD | BPF_IMM, a),
            j(BPF_JMP | op | BPF_K, k, 0, 1),
            s(RET_K, 1),
            s(RET_K, 0),
        ];
        both(&prog, &SeccompData::default(), Endian::Little).ret == 1
    };
    assert!(cmp(0xffff_ffff, BPF_JGT, 1));
    assert!(!cmp(0x7fff_ffff, BPF_JGE, 0x8000_0000));
    assert!(cmp(6, BPF_JSET, 2));
    assert!(!cmp(5, BPF_JSET, 2));
}

#[test]
fn unverified_programs_are_errors_not_results() {
    let data = SeccompData::default();
    for prog in [
        &[][..],
        &[s(LD_ABS, 2), s(RET_A, 0)][..],
        &[s(BPF_LD | BPF_IMM, 1)][..],
        &[j(BPF_JMP | BPF_JEQ | BPF_K, 0, 5, 0), s(RET_A, 0)][..],
        &[s(BPF_RET | BPF_X, 0)][..],
    ] {
        assert!(run(prog, &data, Endian::Little).is_err(), "{prog:?}");
        assert!(Prepared::new(prog).is_err(), "{prog:?}");
    }
}

#[test]
fn trace_reports_each_step_with_registers_before_it() {
    let prog = [
        s(BPF_LD | BPF_IMM, 5),
        s(BPF_MISC | BPF_TAX, 0),
        j(BPF_JMP | BPF_JEQ | BPF_K, 5, 1, 0),
        s(RET_K, 0),
        s(RET_A, 0),
    ];
    let mut seen = Vec::new();
    let out = run_traced(&prog, &SeccompData::default(), Endian::Little, |t| {
        seen.push((t.pc, t.a, t.x))
    })
    .unwrap();
    assert_eq!(out, Outcome { ret: 5, steps: 4 });
    assert_eq!(seen, [(0, 0, 0), (1, 5, 0), (2, 5, 5), (4, 5, 5)]);
    let prepared = Prepared::new(&prog).unwrap();
    let mut n = 0;
    let out2 = prepared.run_traced(&SeccompData::default(), Endian::Little, |_| n += 1);
    assert_eq!((out2, n), (out, 4));
}

/// `lib/test_bpf.c` tests that use registers only (reference §11.1).
#[test]
fn kernel_test_bpf_register_vectors() {
    let raw = |v: &[[u32; 4]]| -> Vec<SockFilter> {
        v.iter()
            .map(|&[c, jt, jf, k]| SockFilter::jump(c as u16, k, jt as u8, jf as u8))
            .collect()
    };
    let cases: [(&str, Vec<SockFilter>, u32); 14] = [
        (
            "ADD_SUB_MUL_K",
            raw(&[
                [0, 0, 0, 1],
                [4, 0, 0, 2],
                [1, 0, 0, 3],
                [28, 0, 0, 0],
                [4, 0, 0, 0xffff_ffff],
                [36, 0, 0, 3],
                [22, 0, 0, 0],
            ]),
            0xffff_fffd,
        ),
        (
            "AND_OR_LSH_K",
            raw(&[
                [0, 0, 0, 255],
                [84, 0, 0, 240],
                [100, 0, 0, 27],
                [7, 0, 0, 0],
                [0, 0, 0, 15],
                [68, 0, 0, 240],
                [12, 0, 0, 0],
                [22, 0, 0, 0],
            ]),
            0x8000_00ff,
        ),
        (
            "LD_IMM_0",
            raw(&[[0, 0, 0, 0], [21, 1, 0, 0], [6, 0, 0, 0], [6, 0, 0, 1]]),
            1,
        ),
        ("RET_A", raw(&[[135, 0, 0, 0], [22, 0, 0, 0]]), 0),
        (
            "ADD default X",
            raw(&[[0, 0, 0, 66], [12, 0, 0, 0], [22, 0, 0, 0]]),
            0x42,
        ),
        ("ADD default A", raw(&[[4, 0, 0, 66], [22, 0, 0, 0]]), 0x42),
        (
            "SUB default X",
            raw(&[[0, 0, 0, 102], [28, 0, 0, 0], [22, 0, 0, 0]]),
            0x66,
        ),
        (
            "SUB default A",
            raw(&[[20, 0, 0, 0xffff_ff9a], [22, 0, 0, 0]]),
            0x66,
        ),
        (
            "MUL default X",
            raw(&[[0, 0, 0, 66], [44, 0, 0, 0], [22, 0, 0, 0]]),
            0,
        ),
        ("MUL default A", raw(&[[36, 0, 0, 102], [22, 0, 0, 0]]), 0),
        (
            "DIV default X",
            raw(&[[0, 0, 0, 66], [60, 0, 0, 0], [6, 0, 0, 66]]),
            0,
        ),
        ("DIV default A", raw(&[[52, 0, 0, 1], [22, 0, 0, 0]]), 0),
        (
            "JMP EQ default A",
            raw(&[[21, 0, 1, 0], [6, 0, 0, 66], [6, 0, 0, 102]]),
            0x42,
        ),
        (
            "JNE signed compare, test 7",
            raw(&[
                [0, 0, 0, 0xffff_0000],
                [7, 0, 0, 0],
                [0, 0, 0, 0xfefb_1234],
                [92, 0, 0, 0],
                [21, 1, 0, 0xfefb_0000],
                [6, 0, 0, 1],
                [6, 0, 0, 2],
            ]),
            2,
        ),
    ];
    for (name, prog, want) in cases.iter() {
        let out = both(prog, &SeccompData::default(), Endian::Little);
        assert_eq!(out.ret, *want, "{name}");
    }
    let jeq_x = raw(&[[0, 0, 0, 0], [29, 0, 1, 0], [6, 0, 0, 66], [6, 0, 0, 102]]);
    assert_eq!(run0(&jeq_x).ret, 0x42, "JMP EQ default X");

    // M[]: alt STX + LDX: X = 100, sixteen times (stx M[i]; ldx M[i]; txa; add #1; tax).
    let mut alt = vec![s(BPF_LDX | BPF_IMM, 100)];
    for i in 0..16 {
        alt.extend([
            s(BPF_STX, i),
            s(BPF_LDX | BPF_MEM, i),
            s(BPF_MISC | BPF_TXA, 0),
            s(BPF_ALU | BPF_ADD | BPF_K, 1),
            s(BPF_MISC | BPF_TAX, 0),
        ]);
    }
    alt.push(s(RET_A, 0));
    assert_eq!(both(&alt, &SeccompData::default(), Endian::Little).ret, 116);

    // M[]: full STX + full LDX: the sum of sixteen constants mod 2^32.
    const K: [u32; 16] = [
        0xbadfeedb, 0xecabedae, 0xafccfeaf, 0xbffdcedc, 0xfbbbdccb, 0xfbabcbda, 0xaedecbdb,
        0xadebbade, 0xfcfcfaec, 0xbcdddbdc, 0xfeefdfac, 0xcddcdeea, 0xaccfaebb, 0xbdcccdcf,
        0xaaedecde, 0xfaeacdad,
    ];
    let mut full = Vec::new();
    for (i, k) in K.iter().enumerate() {
        full.extend([s(BPF_LDX | BPF_IMM, *k), s(BPF_STX, i as u32)]);
    }
    full.extend([s(BPF_LDX | BPF_MEM, 0), s(BPF_MISC | BPF_TXA, 0)]);
    for i in 1..16 {
        full.extend([s(BPF_LDX | BPF_MEM, i), s(BPF_ALU | BPF_ADD | BPF_X, 0)]);
    }
    full.push(s(RET_A, 0));
    assert_eq!(
        both(&full, &SeccompData::default(), Endian::Little).ret,
        0x2a5a5e5
    );
}

#[test]
fn jeq_chains_count_every_compare() {
    // ld [0]; jeq #10..#14 (miss falls through); ret KILL; ret ALLOW.
    let mut prog = vec![s(LD_ABS, 0)];
    let n = 40u32;
    for i in 0..n {
        prog.push(j(BPF_JMP | BPF_JEQ | BPF_K, 10 + i % 30, (n - i) as u8, 0));
    }
    prog.push(s(RET_K, SECCOMP_RET_KILL_PROCESS));
    prog.push(s(RET_K, SECCOMP_RET_ALLOW));
    for nr in 0..60 {
        let out = both(&prog, &SeccompData::new(nr, 0), Endian::Little);
        if (10..40).contains(&nr) {
            // First occurrence of nr is member nr - 10: 1 + (nr - 10 + 1) + ret.
            assert_eq!(
                out,
                Outcome {
                    ret: SECCOMP_RET_ALLOW,
                    steps: nr as usize - 10 + 3
                }
            );
        } else {
            assert_eq!(
                out,
                Outcome {
                    ret: SECCOMP_RET_KILL_PROCESS,
                    steps: n as usize + 2
                }
            );
        }
    }
}

/// A random program that usually passes the seccomp verifier.
pub(crate) fn random_program(rng: &mut Rng, max_len: usize) -> Vec<SockFilter> {
    let len = 1 + rng.below(max_len as u64) as usize;
    let mut prog = Vec::with_capacity(len);
    for pc in 0..len {
        let left = len - pc - 1; // instructions after this one
        if left == 0 {
            prog.push(if rng.below(2) == 0 {
                s(RET_A, 0)
            } else {
                s(RET_K, value(rng))
            });
            break;
        }
        let off = |rng: &mut Rng| rng.below(left.min(255) as u64) as u8;
        let src = if rng.below(4) == 0 { BPF_X } else { BPF_K };
        let f = match rng.below(20) {
            0..=3 => s(LD_ABS, 4 * rng.below(16) as u32),
            4 => s(BPF_LD | BPF_IMM, value(rng)),
            5 => s(BPF_LDX | BPF_IMM, value(rng)),
            6 => s(BPF_ST, rng.below(4) as u32),
            7 => s(BPF_STX, rng.below(4) as u32),
            8 => s(BPF_LD | BPF_MEM, rng.below(4) as u32),
            9 => s(BPF_LDX | BPF_MEM, rng.below(4) as u32),
            10 | 11 => {
                const OPS: [u16; 9] = [
                    BPF_ADD, BPF_SUB, BPF_MUL, BPF_DIV, BPF_AND, BPF_OR, BPF_XOR, BPF_LSH, BPF_RSH,
                ];
                let op = OPS[rng.below(9) as usize];
                let mut k = if src == BPF_X { 0 } else { value(rng) };
                if src == BPF_K && (op == BPF_LSH || op == BPF_RSH) {
                    k &= 31;
                }
                if src == BPF_K && op == BPF_DIV && k == 0 {
                    k = 3;
                }
                s(BPF_ALU | op | src, k)
            }
            12 => s(
                [
                    BPF_ALU | BPF_NEG,
                    BPF_MISC | BPF_TAX,
                    BPF_MISC | BPF_TXA,
                    BPF_LD | BPF_W | BPF_LEN,
                ][rng.below(4) as usize],
                0,
            ),
            13 => s(BPF_JMP | BPF_JA, rng.below(left as u64) as u32),
            14 => s(RET_K, value(rng)),
            15..=17 => {
                // jeq #k chain member: miss falls through.
                j(BPF_JMP | BPF_JEQ | BPF_K, rng.below(6) as u32, off(rng), 0)
            }
            _ => {
                let op = [BPF_JEQ, BPF_JGT, BPF_JGE, BPF_JSET][rng.below(4) as usize];
                let k = if src == BPF_X { 0 } else { value(rng) };
                j(BPF_JMP | op | src, k, off(rng), off(rng))
            }
        };
        prog.push(f);
    }
    prog
}

/// Random input whose words are often small, so compares hit.
pub(crate) fn random_data(rng: &mut Rng) -> SeccompData {
    let mut w = [0u64; 8];
    for v in w.iter_mut() {
        *v = value(rng) as u64 | ((value(rng) as u64) << 32);
        if rng.below(2) == 0 {
            *v = rng.below(6);
        }
    }
    SeccompData {
        nr: rng.below(6) as i32,
        arch: if rng.below(2) == 0 {
            AUDIT_ARCH_X86_64
        } else {
            value(rng)
        },
        instruction_pointer: w[0],
        args: [w[1], w[2], w[3], w[4], w[5], w[6]],
    }
}

#[test]
fn prepared_equals_reference_on_random_programs() {
    let seed = testkit::seed("prepared_equals_reference_on_random_programs", 0x5eed_0001);
    let mut rng = Rng::new(seed);
    let mut verified = 0;
    let mut tried = 0;
    while verified < 3000 && tried < 100_000 {
        tried += 1;
        let prog = random_program(&mut rng, 60);
        let Ok(prepared) = Prepared::new(&prog) else {
            assert!(run(&prog, &SeccompData::default(), Endian::Little).is_err());
            continue;
        };
        verified += 1;
        for _ in 0..8 {
            let data = random_data(&mut rng);
            let endian = if rng.below(2) == 0 {
                Endian::Little
            } else {
                Endian::Big
            };
            let want = run(&prog, &data, endian).unwrap();
            let got = prepared.run(&data, endian);
            assert_eq!(got, want, "seed {seed:#x}, program {prog:?}, data {data:?}");
            assert!(
                want.steps >= 1 && want.steps <= prog.len(),
                "steps {want:?} for {prog:?}"
            );
            let mut traced = 0;
            let t = run_traced(&prog, &data, endian, |_| traced += 1).unwrap();
            assert_eq!((t, traced), (want, want.steps));
        }
    }
    assert!(
        verified >= 3000,
        "only {verified} of {tried} random programs verified"
    );
}

/// A syscall-number dispatch: `ld [0]`, then `n` random `jeq/jgt/jge #k`
/// and `ja` instructions jumping forward, then `ret #i` exits. Keys sit
/// around the edges of the region lookup tables.
fn random_dispatch(rng: &mut Rng, n: usize) -> Vec<SockFilter> {
    const KEYS: [u32; 10] = [
        0,
        1,
        1022,
        1023,
        1024,
        8190,
        8191,
        8192,
        0x4000_0000,
        u32::MAX,
    ];
    let exits = 6;
    let mut prog = vec![s(LD_ABS, 0)];
    for pc in 1..=n {
        let left = (n - pc + exits) as u64; // instructions after this one
        let off = |rng: &mut Rng| rng.below(left.min(255)) as u8;
        let k = match rng.below(3) {
            0 => KEYS[rng.below(KEYS.len() as u64) as usize],
            1 => rng.below(1100) as u32,
            _ => rng.below(9000) as u32,
        };
        prog.push(match rng.below(8) {
            0 => s(BPF_JMP | BPF_JA, rng.below(left.min(8)) as u32),
            1 | 2 => j(BPF_JMP | BPF_JGT | BPF_K, k, off(rng), off(rng)),
            3 => j(BPF_JMP | BPF_JGE | BPF_K, k, off(rng), off(rng)),
            _ => j(BPF_JMP | BPF_JEQ | BPF_K, k, off(rng), 0),
        });
    }
    for i in 0..exits {
        prog.push(s(RET_K, i as u32));
    }
    prog
}

#[test]
fn jump_regions_with_lookup_tables_match_the_reference() {
    let seed = testkit::seed("jump_regions_with_lookup_tables", 0x5eed_0002);
    let mut rng = Rng::new(seed);
    let mut tables = 0;
    for _ in 0..300 {
        let n = 2 + rng.below(60) as usize;
        let prog = random_dispatch(&mut rng, n);
        let prepared = Prepared::new(&prog).expect("dispatches verify");
        tables += prepared.region_counts().1;
        let mut nrs: Vec<u32> = (0..1100).chain(8185..8200).collect();
        for f in &prog {
            nrs.extend([f.k.wrapping_sub(1), f.k, f.k.wrapping_add(1)]);
        }
        nrs.extend((0..50).map(|_| rng.next_u32()));
        for nr in nrs {
            let data = SeccompData::new(nr as i32, AUDIT_ARCH_X86_64);
            let want = run(&prog, &data, Endian::Little).unwrap();
            assert_eq!(
                prepared.run(&data, Endian::Little),
                want,
                "seed {seed:#x}, nr {nr:#x}, program {prog:?}"
            );
        }
    }
    assert!(tables >= 100, "only {tables} regions got a lookup table");
}
