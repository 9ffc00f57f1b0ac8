//! Tests of the verifier: one per rule and per kernel quirk (order of
//! checks, the memvalid reset, converted jump limits), and property tests
//! against literal transliterations of the kernel's checks.

use super::*;
use bpf_asm::seccomp::SECCOMP_RET_ALLOW;
use std::vec;
use std::vec::Vec;

const RET0: SockFilter = SockFilter::stmt(RET_K, 0);
const RET_ALLOW: SockFilter = SockFilter::stmt(RET_K, SECCOMP_RET_ALLOW);

fn st(k: u32) -> SockFilter {
    SockFilter::stmt(BPF_ST, k)
}
fn ld_mem(k: u32) -> SockFilter {
    SockFilter::stmt(LD_MEM, k)
}
fn ja(k: u32) -> SockFilter {
    SockFilter::stmt(JA, k)
}
fn jeq(k: u32, jt: u8, jf: u8) -> SockFilter {
    SockFilter::jump(BPF_JMP | BPF_JEQ | BPF_K, k, jt, jf)
}
fn stmt(code: u16, k: u32) -> SockFilter {
    SockFilter::stmt(code, k)
}

/// Asserts that `prog` fails in both modes at `index` with `rule`.
#[track_caller]
fn rejects(prog: &[SockFilter], index: Option<usize>, rule: Rule) {
    for mode in [Mode::Classic, Mode::Seccomp] {
        let e = verify(prog, mode).expect_err("program should be rejected");
        assert_eq!(
            (e.index, e.rule, e.errno),
            (index, rule, Errno::EINVAL),
            "{mode:?}"
        );
    }
}

#[track_caller]
fn accepts(prog: &[SockFilter]) {
    for mode in [Mode::Classic, Mode::Seccomp] {
        assert_eq!(verify(prog, mode), Ok(()), "{mode:?}");
    }
}

// ---- Reference: a literal transliteration of the kernel functions. ----

// Kept as close to the C source as possible, hence the index loops.
#[allow(clippy::needless_range_loop, clippy::collapsible_match)]
fn ref_classic(f: &[SockFilter]) -> bool {
    let flen = f.len();
    if flen == 0 || flen > BPF_MAXINSNS {
        return false;
    }
    for pc in 0..flen {
        let t = f[pc];
        if !CLASSIC_CODES.contains(&t.code) {
            return false;
        }
        match t.code {
            0x34 | 0x94 => {
                if t.k == 0 {
                    return false;
                }
            }
            0x64 | 0x74 => {
                if t.k >= 32 {
                    return false;
                }
            }
            0x60 | 0x61 | 0x02 | 0x03 => {
                if t.k >= 16 {
                    return false;
                }
            }
            0x05 => {
                if t.k >= (flen - pc - 1) as u32 {
                    return false;
                }
            }
            0x15 | 0x1d | 0x35 | 0x3d | 0x25 | 0x2d | 0x45 | 0x4d => {
                if pc + t.jt as usize + 1 >= flen || pc + t.jf as usize + 1 >= flen {
                    return false;
                }
            }
            0x20 | 0x28 | 0x30 => {
                let anc = (0..16u32).any(|i| t.k == SKF_AD_OFF.wrapping_add(4 * i));
                if !anc && t.k >= SKF_AD_OFF {
                    return false;
                }
            }
            _ => {}
        }
    }
    match f[flen - 1].code {
        0x06 | 0x16 => {}
        _ => return false,
    }
    let mut masks = vec![0xffffu16; flen];
    let mut memvalid: u16 = 0;
    for pc in 0..flen {
        memvalid &= masks[pc];
        let t = f[pc];
        match t.code {
            0x02 | 0x03 => memvalid |= 1 << t.k,
            0x60 | 0x61 => {
                if memvalid & (1 << t.k) == 0 {
                    return false;
                }
            }
            0x05 => {
                masks[pc + 1 + t.k as usize] &= memvalid;
                memvalid = !0;
            }
            0x15 | 0x1d | 0x35 | 0x3d | 0x25 | 0x2d | 0x45 | 0x4d => {
                masks[pc + 1 + t.jt as usize] &= memvalid;
                masks[pc + 1 + t.jf as usize] &= memvalid;
                memvalid = !0;
            }
            _ => {}
        }
    }
    true
}

fn ref_seccomp(f: &[SockFilter]) -> bool {
    ref_classic(f)
        && f.iter().all(|t| match t.code {
            0x20 => t.k < 64 && t.k & 3 == 0,
            c => SECCOMP_CODES.contains(&c),
        })
}

use testkit::Rng;

/// A random, mostly near-valid program.
fn random_program(r: &mut Rng) -> Vec<SockFilter> {
    let len = match r.below(20) {
        0 => 0,
        1 => r.below(4200) as usize,
        _ => 1 + r.below(12) as usize,
    };
    let mut p = Vec::with_capacity(len);
    for pc in 0..len {
        let code = match r.below(30) {
            0 => r.next_u64() as u16,
            1 => r.below(0x100) as u16,
            _ => CLASSIC_CODES[r.below(49) as usize],
        };
        let room = (len - pc) as u64;
        let k = match r.below(8) {
            0 => r.next_u32(),
            1 => SKF_AD_OFF + r.below(80) as u32,
            2 => 4 * r.below(18) as u32,
            3 => r.below(40) as u32,
            _ => r.below(room + 1) as u32,
        };
        let jt = r.below(room.min(255) + 1) as u8;
        let jf = r.below(room.min(255) + 1) as u8;
        p.push(SockFilter::jump(code, k, jt, jf));
    }
    if len > 0 && r.below(4) != 0 {
        p[len - 1] = if r.below(2) == 0 {
            RET_ALLOW
        } else {
            stmt(RET_A, 0)
        };
    }
    p
}

#[test]
fn agrees_with_a_literal_transliteration_of_the_kernel() {
    let seed = testkit::seed(
        "agrees_with_a_literal_transliteration_of_the_kernel",
        0x5eed_0001,
    );
    let mut r = Rng::new(seed);
    let (mut ok, mut bad) = (0, 0);
    for i in 0..40_000 {
        let p = random_program(&mut r);
        let c = verify(&p, Mode::Classic);
        let s = verify(&p, Mode::Seccomp);
        assert_eq!(
            c.is_ok(),
            ref_classic(&p) && ref_convert(&p).is_ok(),
            "seed {seed:#x} case {i}: {p:?} {c:?}"
        );
        assert_eq!(
            s.is_ok(),
            ref_seccomp(&p),
            "seed {seed:#x} case {i}: {p:?} {s:?}"
        );
        // A classic rejection is also the seccomp rejection (same first
        // check), except for the conversion limit of socket filters.
        let conversion = matches!(
            c,
            Err(VerifyError {
                rule: Rule::ConvertedJumpTooLate | Rule::ConvertedJumpTooLong,
                ..
            })
        );
        if c.is_err() && !conversion {
            assert_eq!(c, s, "seed {seed:#x} case {i}");
        }
        if s.is_ok() {
            ok += 1;
        } else {
            bad += 1;
        }
    }
    // The generator must exercise both outcomes substantially.
    assert!(ok > 1000 && bad > 1000, "ok {ok} bad {bad}");
}

#[test]
fn opcode_tables_match_the_kernel_for_all_65536_codes() {
    let mut classic = 0;
    let mut seccomp = 0;
    for code in 0..=u16::MAX {
        let in_classic = CLASSIC_CODES.contains(&code);
        let in_seccomp = SECCOMP_CODES.contains(&code);
        assert_eq!(classic_code_allowed(code), in_classic, "{code:#x}");
        assert_eq!(seccomp_code_allowed(code), in_seccomp, "{code:#x}");
        classic += usize::from(in_classic);
        seccomp += usize::from(in_seccomp);
        // The instruction alone, with operands no other rule objects to.
        let k = if code == ALU_DIV_K || code == ALU_MOD_K {
            1
        } else {
            0
        };
        let prog = [st(0), SockFilter::stmt(code, k), RET0];
        match verify(&prog, Mode::Classic) {
            Ok(()) => assert!(in_classic, "{code:#x}"),
            Err(e) => {
                assert!(!in_classic, "{code:#x}: {e}");
                assert_eq!(e, VerifyError::at(1, Rule::UnknownOpcode));
            }
        }
        match verify(&prog, Mode::Seccomp) {
            Ok(()) => assert!(in_seccomp, "{code:#x}"),
            Err(e) => {
                assert!(!in_seccomp, "{code:#x}: {e}");
                let rule = if in_classic {
                    Rule::NotAllowedInSeccomp
                } else {
                    Rule::UnknownOpcode
                };
                assert_eq!(e, VerifyError::at(1, rule), "{code:#x}");
            }
        }
    }
    assert_eq!((classic, seccomp), (49, 41));
}

#[test]
fn length_limits() {
    rejects(&[], None, Rule::Empty);
    let max = vec![RET_ALLOW; BPF_MAXINSNS];
    accepts(&max);
    let over = vec![RET_ALLOW; BPF_MAXINSNS + 1];
    rejects(&over, None, Rule::TooLong);
    accepts(&[RET_ALLOW]);
}

#[test]
fn division_and_remainder_by_constant_zero() {
    rejects(&[stmt(ALU_DIV_K, 0), RET0], Some(0), Rule::DivisionByZero);
    accepts(&[stmt(ALU_DIV_K, 1), RET0]);
    accepts(&[stmt(BPF_ALU | BPF_DIV | BPF_X, 0), RET0]);
    let e = verify(&[RET0, stmt(ALU_MOD_K, 0), RET0], Mode::Classic);
    assert_eq!(e, Err(VerifyError::at(1, Rule::DivisionByZero)));
    // mod is classic only.
    assert_eq!(verify(&[stmt(ALU_MOD_K, 3), RET0], Mode::Classic), Ok(()));
    let e = verify(&[stmt(ALU_MOD_K, 3), RET0], Mode::Seccomp);
    assert_eq!(e, Err(VerifyError::at(0, Rule::NotAllowedInSeccomp)));
}

#[test]
fn constant_shifts_below_32() {
    for code in [ALU_LSH_K, ALU_RSH_K] {
        accepts(&[stmt(code, 31), RET0]);
        rejects(&[stmt(code, 32), RET0], Some(0), Rule::ShiftTooLarge);
        rejects(
            &[RET0, stmt(code, u32::MAX), RET0],
            Some(1),
            Rule::ShiftTooLarge,
        );
    }
    // X shifts are not checked at load time.
    accepts(&[stmt(BPF_ALU | BPF_LSH | BPF_X, 99), RET0]);
}

#[test]
fn scratch_index_below_16() {
    accepts(&[st(15), ld_mem(15), RET0]);
    rejects(&[st(16), RET0], Some(0), Rule::ScratchOutOfRange);
    rejects(&[stmt(BPF_STX, 99), RET0], Some(0), Rule::ScratchOutOfRange);
    rejects(&[st(0), ld_mem(16), RET0], Some(1), Rule::ScratchOutOfRange);
    rejects(
        &[st(0), stmt(LDX_MEM, 16), RET0],
        Some(1),
        Rule::ScratchOutOfRange,
    );
}

#[test]
fn ja_range() {
    // len 3, pc 0: k = 1 lands on the last instruction, k = 2 is past it.
    accepts(&[ja(1), RET0, RET0]);
    rejects(&[ja(2), RET0, RET0], Some(0), Rule::JumpOutOfRange);
    rejects(&[ja(u32::MAX), RET0, RET0], Some(0), Rule::JumpOutOfRange);
    accepts(&[ja(0), RET0]);
    // ja as the last instruction: k >= 0 always fails the range check first.
    rejects(&[RET0, ja(0)], Some(1), Rule::JumpOutOfRange);
    // jt/jf bytes of ja are ignored.
    accepts(&[SockFilter::jump(JA, 0, 200, 200), RET0]);
}

#[test]
fn conditional_ranges() {
    accepts(&[jeq(0, 1, 0), RET0, RET0]);
    rejects(&[jeq(0, 2, 0), RET0, RET0], Some(0), Rule::BranchOutOfRange);
    rejects(&[jeq(0, 0, 2), RET0, RET0], Some(0), Rule::BranchOutOfRange);
    rejects(&[RET0, jeq(0, 0, 0)], Some(1), Rule::BranchOutOfRange);
    for code in [0x15u16, 0x1d, 0x25, 0x2d, 0x35, 0x3d, 0x45, 0x4d] {
        rejects(
            &[SockFilter::jump(code, 0, 255, 0), RET0],
            Some(0),
            Rule::BranchOutOfRange,
        );
        let mut long = vec![RET0; 257];
        long[0] = SockFilter::jump(code, 0, 255, 255);
        accepts(&long);
    }
}

#[test]
fn ancillary_loads_in_classic_mode() {
    for size in [BPF_W, BPF_H, BPF_B] {
        let code = BPF_LD | size | BPF_ABS;
        for i in 0..16 {
            let p = [stmt(code, SKF_AD_OFF + 4 * i), RET0];
            assert_eq!(verify(&p, Mode::Classic), Ok(()));
        }
        for k in [SKF_AD_OFF + SKF_AD_MAX, SKF_AD_OFF + 2, u32::MAX] {
            rejects(&[stmt(code, k), RET0], Some(0), Rule::UnknownAncillary);
        }
        // Below SKF_AD_OFF (negative offsets of link/net layers) is fine.
        assert_eq!(
            verify(&[stmt(code, SKF_AD_OFF - 1), RET0], Mode::Classic),
            Ok(())
        );
    }
    // A known ancillary passes the classic check, then seccomp refuses it.
    let e = verify(&[stmt(LD_W_ABS, SKF_AD_OFF), RET0], Mode::Seccomp);
    assert_eq!(e, Err(VerifyError::at(0, Rule::BadSeccompDataOffset)));
    let e = verify(&[stmt(LD_H_ABS, SKF_AD_OFF), RET0], Mode::Seccomp);
    assert_eq!(e, Err(VerifyError::at(0, Rule::NotAllowedInSeccomp)));
}

#[test]
fn final_instruction_must_be_ret_k_or_ret_a() {
    accepts(&[stmt(RET_A, 0)]);
    accepts(&[RET0]);
    rejects(&[stmt(0x0e, 0)], Some(0), Rule::UnknownOpcode);
    rejects(&[stmt(0, 1)], Some(0), Rule::NoFinalReturn);
    // Even when the last instruction is unreachable.
    rejects(
        &[RET0, stmt(BPF_MISC | BPF_TAX, 0)],
        Some(1),
        Rule::NoFinalReturn,
    );
    // Ignored fields of RET.
    accepts(&[SockFilter::jump(RET_K, 5, 7, 9)]);
}

#[test]
fn seccomp_data_loads() {
    for k in (0..64).step_by(4) {
        assert_eq!(verify(&[stmt(LD_W_ABS, k), RET0], Mode::Seccomp), Ok(()));
    }
    for k in [1, 2, 3, 62, 64, 68, 0xffff_f000, 0xffff_f03c] {
        let e = verify(&[stmt(LD_W_ABS, k), RET0], Mode::Seccomp);
        assert_eq!(
            e,
            Err(VerifyError::at(0, Rule::BadSeccompDataOffset)),
            "{k}"
        );
    }
    // Past the known ancillary offsets the classic check refuses first.
    let e = verify(&[stmt(LD_W_ABS, u32::MAX - 3), RET0], Mode::Seccomp);
    assert_eq!(e, Err(VerifyError::at(0, Rule::UnknownAncillary)));
    // len loads are rewritten, not refused.
    accepts(&[stmt(0x80, 0), stmt(0x81, 0), RET0]);
    // Packet loads are classic only.
    for code in [0x28, 0x30, 0x40, 0x48, 0x50, 0xb1] {
        let p = [stmt(code, 0), RET0];
        assert_eq!(verify(&p, Mode::Classic), Ok(()));
        assert_eq!(
            verify(&p, Mode::Seccomp),
            Err(VerifyError::at(0, Rule::NotAllowedInSeccomp))
        );
    }
}

/// The §2.4 example: safe, but the kernel refuses it because `ret` does
/// not reset the running set of written cells.
#[test]
fn ret_does_not_reset_memvalid_quirk() {
    let quirk = [
        jeq(0xffff_ffff, 0, 2),
        st(0),
        ja(1),
        RET_ALLOW,
        ld_mem(0),
        RET_ALLOW,
    ];
    rejects(&quirk, Some(4), Rule::UninitializedScratch);
    let fixed = [
        st(0),
        jeq(0xffff_ffff, 0, 2),
        stmt(0, 0),
        ja(1),
        RET_ALLOW,
        ld_mem(0),
        RET_ALLOW,
    ];
    accepts(&fixed);
}

#[test]
fn load_and_store_rules() {
    rejects(&[ld_mem(0), RET0], Some(0), Rule::UninitializedScratch);
    rejects(
        &[st(1), stmt(LDX_MEM, 0), RET0],
        Some(1),
        Rule::UninitializedScratch,
    );
    accepts(&[stmt(BPF_STX, 3), stmt(LDX_MEM, 3), RET0]);
    // Stored on one branch only.
    rejects(
        &[jeq(0, 0, 1), st(0), ld_mem(0), RET0],
        Some(2),
        Rule::UninitializedScratch,
    );
    // Stored on both branches.
    accepts(&[jeq(0, 0, 2), st(0), ja(1), st(0), ld_mem(0), RET0]);
    // Unreachable code after a jump counts as "all written".
    accepts(&[ja(1), ld_mem(7), RET0]);
    // ... but not after a ret (the quirk again).
    rejects(
        &[RET0, ld_mem(7), RET0],
        Some(1),
        Rule::UninitializedScratch,
    );
}

#[test]
fn kernel_order_of_checks() {
    // Per-instruction checks come first, by index, before the final ret.
    rejects(
        &[stmt(ALU_DIV_K, 0), stmt(0, 0)],
        Some(0),
        Rule::DivisionByZero,
    );
    rejects(&[RET0, stmt(0x8006, 0)], Some(1), Rule::UnknownOpcode);
    // Final ret before memory.
    rejects(&[ld_mem(0), stmt(0, 0)], Some(1), Rule::NoFinalReturn);
    // Every classic rule (even at a later index) before any seccomp rule.
    let p = [stmt(LD_H_ABS, 0), stmt(ALU_LSH_K, 40), RET0];
    assert_eq!(
        verify(&p, Mode::Seccomp),
        Err(VerifyError::at(1, Rule::ShiftTooLarge))
    );
    let p = [stmt(LD_W_ABS, 2), ld_mem(0), RET0];
    assert_eq!(
        verify(&p, Mode::Seccomp),
        Err(VerifyError::at(1, Rule::UninitializedScratch))
    );
    let p = [stmt(LD_W_ABS, 2), stmt(LD_W_ABS, 0), RET0];
    assert_eq!(verify(&p, Mode::Classic), Ok(()));
    // Within the seccomp pass, the first instruction wins.
    let p = [stmt(LD_B_ABS, 0), stmt(LD_W_ABS, 2), RET0];
    assert_eq!(
        verify(&p, Mode::Seccomp),
        Err(VerifyError::at(0, Rule::NotAllowedInSeccomp))
    );
    let p = [stmt(LD_W_ABS, 2), stmt(LD_B_ABS, 0), RET0];
    assert_eq!(
        verify(&p, Mode::Seccomp),
        Err(VerifyError::at(0, Rule::BadSeccompDataOffset))
    );
    // Length first of all.
    let mut long = vec![stmt(0x8006, 0); BPF_MAXINSNS + 1];
    long[0] = stmt(ALU_DIV_K, 0);
    rejects(&long, None, Rule::TooLong);
}

const CONST_PROG: [SockFilter; 3] = [
    SockFilter::stmt(LD_W_ABS, 0),
    SockFilter::stmt(BPF_ST, 0),
    SockFilter::stmt(RET_A, 0),
];
const _: () = assert!(verify(&CONST_PROG, Mode::Seccomp).is_ok());
const _: () = assert!(verify(&CONST_PROG, Mode::Classic).is_ok());
/// `ja 1821; 1821 × ldxb 4*([0]&0xf); ret #1`, refused in const context.
const LONG_MSH: [SockFilter; 1823] = {
    let mut p = [SockFilter::stmt(0xb1, 0); 1823];
    p[0] = SockFilter::stmt(JA, 1821);
    p[1822] = SockFilter::stmt(RET_K, 1);
    p
};
const _: () = assert!(matches!(
    verify(&LONG_MSH, Mode::Classic),
    Err(VerifyError {
        index: Some(0),
        rule: Rule::ConvertedJumpTooLong,
        errno: Errno::EINVAL
    })
));
const CONST_ERR: Result<(), VerifyError> =
    verify(&[SockFilter::stmt(LD_MEM, 3), RET0], Mode::Seccomp);

#[test]
fn verify_runs_in_const_context() {
    assert_eq!(
        CONST_ERR,
        Err(VerifyError::at(0, Rule::UninitializedScratch))
    );
}

#[test]
fn display_names_the_instruction_and_the_errno() {
    let e = verify(&[stmt(ALU_DIV_K, 0), RET0], Mode::Seccomp).unwrap_err();
    assert_eq!(
        std::format!("{e}"),
        "insn 0: division or remainder by the constant zero (kernel: EINVAL)"
    );
    let e = verify(&[], Mode::Seccomp).unwrap_err();
    assert_eq!(
        std::format!("{e}"),
        "program: the program has no instructions (kernel: EINVAL)"
    );
    assert_eq!(Errno::ENOMEM.name(), "ENOMEM");
    assert_eq!(Errno::EINVAL.code(), 22);
}

// ---- The jump offsets of `bpf_convert_filter` (socket filters). ----

/// `bpf_convert_filter` on x86-64 (Linux 6.18), transliterated down to
/// what decides its success: how many eBPF instructions each classic
/// one emits and the `BPF_EMIT_JMP` range check, over the kernel's
/// three passes (length, then two remapping passes sharing `addrs`).
/// `Err((pc, first_remapping_pass))` for the jump that fails.
#[allow(clippy::needless_range_loop)]
fn ref_convert(prog: &[SockFilter]) -> Result<(), (usize, bool)> {
    /// `convert_bpf_ld_abs`: advances `insn` as the C code does and
    /// leaves it on the last instruction emitted.
    fn ld_abs(code: u16, k: u32, insn: &mut i64) {
        let size = code & 0x18;
        let endian = size == BPF_H || size == BPF_W;
        let indirect = code & 0xe0 == BPF_IND;
        let offset = k as i32;
        if !indirect && offset >= 0 {
            let ldx_off_ok = offset <= 32767;
            *insn += 1; // tmp = headlen
            if offset != 0 {
                *insn += 1; // tmp -= offset
            }
            *insn += 1; // jslt
            *insn += if ldx_off_ok { 1 } else { 3 };
            if endian {
                *insn += 1;
            }
            *insn += 1; // ja
        }
        *insn += 3; // arg1..arg3
        if !indirect {
            *insn += 1;
        } else {
            *insn += 1;
            if k != 0 {
                *insn += 1;
            }
        }
        *insn += 1; // call
        *insn += 2; // jsge, xor; then `*insn = exit` without ++
    }
    let len = prog.len();
    let mut seen_ld_abs = false;
    let mut addrs: Option<Vec<i64>> = None;
    for pass in 0..3 {
        if pass == 1 {
            addrs = Some(vec![0; len]); // kcalloc
        }
        let mut new_insn: i64 = if pass > 0 && seen_ld_abs { 7 } else { 3 };
        for i in 0..len {
            if let Some(a) = addrs.as_mut() {
                a[i] = new_insn;
            }
            let fp = prog[i];
            let mut insn: i64 = 0;
            let emit = |target: usize, insn: i64| -> Result<(), (usize, bool)> {
                let mut off = match &addrs {
                    Some(a) => a[target] - a[i] - 1,
                    None => 0,
                };
                off -= insn;
                if !(-32768..=32767).contains(&off) {
                    return Err((i, pass == 1));
                }
                Ok(())
            };
            match fp.code {
                0x20 | 0x28 | 0x30 if fp.k >= SKF_AD_OFF => {
                    insn += match fp.k - SKF_AD_OFF {
                        0 | 60 => 1,
                        4 => 1,
                        8 | 28 => 3,
                        12 | 16 | 36 | 52 | 56 => 3,
                        48 => 2,
                        _ => 0,
                    };
                }
                0x20 | 0x28 | 0x30 | 0x40 | 0x48 | 0x50 => {
                    ld_abs(fp.code, fp.k, &mut insn);
                    seen_ld_abs = true;
                }
                0x3c | 0x9c => insn += 4,
                0x05 => emit(i + fp.k as usize + 1, insn)?,
                0x15 | 0x1d | 0x25 | 0x2d | 0x35 | 0x3d | 0x45 | 0x4d => {
                    if fp.code & BPF_X == 0 && (fp.k as i32) < 0 {
                        insn += 1;
                    }
                    let op = fp.code & 0xf0;
                    if fp.jf == 0 {
                        emit(i + fp.jt as usize + 1, insn)?;
                    } else if fp.jt == 0 && op != BPF_JSET {
                        emit(i + fp.jf as usize + 1, insn)?;
                    } else {
                        emit(i + fp.jt as usize + 1, insn)?;
                        insn += 1;
                        emit(i + fp.jf as usize + 1, insn)?;
                    }
                }
                0xb1 => {
                    seen_ld_abs = true;
                    insn += 1;
                    ld_abs(BPF_LD | BPF_B | BPF_ABS, fp.k, &mut insn);
                    insn += 1;
                    insn += 4;
                }
                0x06 => insn += 1,
                _ => {}
            }
            new_insn += insn + 1;
        }
        if pass == 0 {
            assert_eq!(
                new_insn + if seen_ld_abs { 4 } else { 0 },
                crate::budget::classic_ebpf_len(prog) as i64,
                "{prog:?}"
            );
        }
    }
    Ok(())
}

fn repeated(code: u16, n: usize) -> Vec<SockFilter> {
    let mut p = vec![ja(n as u32)];
    p.extend(core::iter::repeat_n(stmt(code, 0), n));
    p.push(stmt(RET_K, 1));
    p
}

/// The thresholds measured on Linux 6.18 with `ja N; N × insn; ret #1`
/// (and test_bpf's "BPF_MAXINSNS: jump over MSH").
#[test]
fn long_converted_jumps_match_kernel_measurements() {
    for (code, last_ok) in [(0xb1u16, 1820usize), (0x30, 2730), (0x20, 2520)] {
        let p = repeated(code, last_ok);
        assert_eq!(verify(&p, Mode::Classic), Ok(()), "{code:#x}");
        assert_eq!(ref_convert(&p), Ok(()));
        let p = repeated(code, last_ok + 1);
        let e = verify(&p, Mode::Classic);
        assert_eq!(
            e,
            Err(VerifyError::at(0, Rule::ConvertedJumpTooLong)),
            "{code:#x}"
        );
        assert_eq!(ref_convert(&p), Err((0, false)));
        // Seccomp rewrites `ld [k]` into one instruction and refuses
        // the other packet loads.
        let want = if code == LD_W_ABS {
            Ok(())
        } else {
            Err(VerifyError::at(1, Rule::NotAllowedInSeccomp))
        };
        assert_eq!(verify(&p, Mode::Seccomp), want);
    }
    // A jump placed past eBPF instruction 32767 fails even with offset
    // 0 (measured: 1820 × ldxb then `ja 0` accepted, 1821 refused).
    for (n, ok) in [(1820usize, true), (1821, false)] {
        let mut p = vec![stmt(0xb1, 0); n];
        p.extend([ja(0), stmt(RET_K, 1)]);
        let want = if ok {
            Ok(())
        } else {
            Err(VerifyError::at(n, Rule::ConvertedJumpTooLate))
        };
        assert_eq!(verify(&p, Mode::Classic), want, "{n}");
    }
    let e = VerifyError::at(0, Rule::ConvertedJumpTooLong);
    assert_eq!(
        std::format!("{e}"),
        "insn 0: after conversion to eBPF the jump spans more than 32767 eBPF \
         instructions (its 16-bit offset overflows) (kernel: EINVAL)"
    );
}

/// The first remapping pass (positions) fails before the second
/// (offsets) looks at any jump, whatever their order.
#[test]
fn late_jumps_are_reported_before_long_ones() {
    let n = 1822;
    let mut p = vec![ja(n as u32)];
    p.extend(vec![stmt(0xb1, 0); n]);
    p.extend([ja(0), stmt(RET_K, 1)]);
    assert_eq!(ref_convert(&p), Err((n + 1, true)));
    assert_eq!(
        verify(&p, Mode::Classic),
        Err(VerifyError::at(n + 1, Rule::ConvertedJumpTooLate))
    );
    // The second jump of `jset` sits one past the first; a negative k
    // adds a `mov32` in front.
    for (jump, slot) in [
        (jeq(0, 0, 1), 0),
        (SockFilter::jump(0x45, 0, 0, 1), 1),
        (jeq(0x8000_0000, 1, 0), 1),
        (SockFilter::jump(0x45, 0x8000_0000, 1, 1), 2),
    ] {
        // 7 + 18 * 1820 = 32767: the jump's first eBPF instruction.
        let mut p = vec![stmt(0xb1, 0); 1820];
        p.extend([jump, stmt(RET_K, 1), stmt(RET_K, 2)]);
        let want = if slot == 0 {
            Ok(())
        } else {
            Err(VerifyError::at(1820, Rule::ConvertedJumpTooLate))
        };
        assert_eq!(verify(&p, Mode::Classic), want, "{jump:?}");
        assert_eq!(ref_convert(&p).is_ok(), slot == 0);
    }
    // The same instructions are fine for seccomp, where `ld [0]` is one
    // eBPF instruction: seccomp acceptance does not imply classic.
    let p = repeated(LD_W_ABS, 2521);
    assert_eq!(verify(&p, Mode::Seccomp), Ok(()));
    assert_eq!(
        verify(&p, Mode::Classic),
        Err(VerifyError::at(0, Rule::ConvertedJumpTooLong))
    );
}

/// A random long socket filter, mostly packet loads, with jumps of
/// every shape (long `ja`s included), always passing `bpf_check_classic`.
fn random_long_program(r: &mut Rng) -> Vec<SockFilter> {
    let len = 2000 + r.below(2097) as usize;
    // Jumps everywhere, or only early (so that long `ja`s are not
    // preceded by the failure of a late jump).
    let jumps_before = if r.below(2) == 0 { len } else { len / 4 };
    let mut p = Vec::with_capacity(len);
    for pc in 0..len - 1 {
        let room = (len - pc - 2) as u64;
        let k = match r.below(6) {
            0 => 0,
            1 => r.below(64) as u32,
            2 => 0x8000 + r.below(4) as u32,
            3 => SKF_AD_OFF + 4 * r.below(16) as u32,
            4 => 0xfff0_0000,
            _ => r.next_u32(),
        };
        let pick = match r.below(20) {
            15..=17 if pc >= jumps_before => 0,
            x => x,
        };
        let f = match pick {
            0..=14 => {
                let code = [0x20, 0x28, 0x30, 0x40, 0x48, 0x50, 0xb1, 0xb1][r.below(8) as usize];
                // Only known ancillary offsets for absolute loads.
                let k = if code & 0xe0 == BPF_ABS && k >= SKF_AD_OFF && !known_ancillary(k) {
                    0
                } else {
                    k
                };
                stmt(code, k)
            }
            15 | 16 => {
                let code = [0x15, 0x1d, 0x25, 0x2d, 0x35, 0x3d, 0x45, 0x4d][r.below(8) as usize];
                let jt = r.below(room.min(255) + 1) as u8;
                let jf = if r.below(3) == 0 {
                    0
                } else {
                    r.below(room.min(255) + 1) as u8
                };
                SockFilter::jump(code, k, jt, jf)
            }
            17 => ja(r.below(room + 1) as u32),
            18 if r.below(2) == 0 => stmt(0x3c, 0),
            18 => stmt(RET_K, k),
            _ => stmt([0x07, 0x87, 0x00, 0x04, 0x80][r.below(5) as usize], k),
        };
        p.push(f);
    }
    p.push(stmt(RET_A, 0));
    p
}

#[test]
fn converted_jump_check_agrees_with_a_transliteration_of_the_kernel() {
    let seed = testkit::seed(
        "converted_jump_check_agrees_with_a_transliteration",
        0x5eed_c0de,
    );
    let mut r = Rng::new(seed);
    let mut seen = std::collections::HashMap::new();
    for i in 0..600 {
        let p = random_long_program(&mut r);
        let got = verify(&p, Mode::Classic);
        let want = ref_convert(&p).map_err(|(pc, late)| {
            let rule = if late {
                Rule::ConvertedJumpTooLate
            } else {
                Rule::ConvertedJumpTooLong
            };
            VerifyError::at(pc, rule)
        });
        assert_eq!(got, want, "seed {seed:#x} case {i}");
        *seen.entry(got.map_err(|e| e.rule)).or_insert(0) += 1;
    }
    for outcome in [
        Ok(()),
        Err(Rule::ConvertedJumpTooLate),
        Err(Rule::ConvertedJumpTooLong),
    ] {
        assert!(seen.get(&outcome).copied().unwrap_or(0) >= 30, "{seen:?}");
    }
}

/// Why seccomp mode skips the check: after `seccomp_check_filter` no
/// instruction converts to more than 5 eBPF instructions, so a seccomp
/// filter converts to at most 3 + 5 × 4096 = 20483 < 32768.
#[test]
fn seccomp_filters_never_reach_the_converted_jump_limit() {
    let mut worst = 0;
    for code in SECCOMP_CODES {
        for k in [0, 1, 0x7fff_ffff, 0x8000_0000, u32::MAX] {
            for (jt, jf) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
                let f = SockFilter::jump(code, k, jt, jf);
                worst = worst.max(crate::budget::ebpf_len(&[f], false) - 3);
            }
        }
    }
    assert_eq!(worst, 5);
    assert!(3 + worst * BPF_MAXINSNS <= EBPF_OFF_MAX + 1);
    // The longest seccomp filter: 4095 × `div x` and `ret a`.
    let mut p = vec![stmt(BPF_ALU | BPF_DIV | BPF_X, 0); BPF_MAXINSNS];
    p[0] = ja(BPF_MAXINSNS as u32 - 2);
    p[BPF_MAXINSNS - 1] = stmt(RET_A, 0);
    assert_eq!(verify(&p, Mode::Seccomp), Ok(()));
    assert_eq!(verify(&p, Mode::Classic), Ok(()));
}
