//! The instruction budget of stacked seccomp filters (`MAX_INSNS_PER_PATH`).
//!
//! The kernel counts each filter by its length **after conversion to eBPF**
//! (`bpf_convert_filter`), and after constant blinding when the JIT blinds
//! (`bpf_jit_harden`), not by its classic length. [`ebpf_len`] computes that
//! length; [`check_attach`] is the check of `seccomp_attach_filter`.

use bpf_asm::insn::*;

use crate::verify::{Errno, Rule, VerifyError};

/// `MAX_INSNS_PER_PATH`: `(1 << 18) / sizeof(struct sock_filter)`.
pub const MAX_INSNS_PER_PATH: usize = 32768;

/// Instructions charged per already attached filter on top of its length.
pub const PER_FILTER_PENALTY: usize = 4;

/// eBPF instructions of the conversion prologue (`A ^= A; X ^= X; CTX = ARG1`).
pub const PROLOGUE_LEN: usize = 3;

/// The length the kernel records for a seccomp program (`prog->len` after
/// `bpf_migrate_filter`): the converted eBPF instruction count, or the count
/// after constant blinding when `blinded` (JIT with `bpf_jit_harden` 2, or 1
/// and an installer without `CAP_BPF`).
///
/// `prog` should be a program [`crate::verify::verify`] accepts in seccomp
/// mode; any other instruction is counted as one eBPF instruction.
pub fn ebpf_len(prog: &[SockFilter], blinded: bool) -> usize {
    PROLOGUE_LEN + prog.iter().map(|f| insn_len(*f, blinded)).sum::<usize>()
}

/// eBPF instructions one classic instruction converts to.
fn insn_len(f: SockFilter, blinded: bool) -> usize {
    // Blinding turns an ALU32 op with an immediate (except shifts) into 3
    // instructions, `mov imm 0` into 1, and a jump with an immediate into 3.
    let imm_mov = |k: u32| if blinded && k != 0 { 3 } else { 1 };
    let imm_op = if blinded { 3 } else { 1 };
    match f.code {
        // ld #k, ldx #k; ld/ldx #len become `mov32 #64`.
        0x00 | 0x01 => imm_mov(f.k),
        0x80 | 0x81 => imm_mov(64),
        // ALU with an immediate, except shifts.
        0x04 | 0x14 | 0x24 | 0x34 | 0x44 | 0x54 | 0x94 | 0xa4 => imm_op,
        // div x / mod x: `mov32 X,X; jne X,0,+2; xor A,A; exit; div`.
        0x3c | 0x9c => {
            if blinded {
                7
            } else {
                5
            }
        }
        // ret #k: `mov32 r0,k; exit`.
        0x06 => 1 + imm_mov(f.k),
        0x15 | 0x1d | 0x25 | 0x2d | 0x35 | 0x3d | 0x45 | 0x4d => cond_jump_len(f, blinded),
        _ => 1,
    }
}

/// Conditional jumps: an optional `mov32 tmp,k` when `k` would sign-extend,
/// the compare, and a second `ja` unless one target is the next instruction
/// (only JEQ/JGT/JGE can be inverted for `jt == 0`).
fn cond_jump_len(f: SockFilter, blinded: bool) -> usize {
    let is_k = bpf_src(f.code) == BPF_K;
    let (mov, cmp) = match (is_k, (f.k as i32) < 0) {
        (false, _) => (0, 1),
        (true, true) => (if blinded { 3 } else { 1 }, 1),
        (true, false) => (0, if blinded { 3 } else { 1 }),
    };
    let single = f.jf == 0 || (f.jt == 0 && bpf_op(f.code) != BPF_JSET);
    mov + cmp + usize::from(!single)
}

/// The check of `seccomp_attach_filter`: a new filter of eBPF length
/// `new_len` on top of attached filters of eBPF lengths `existing_lens`
/// (any order) fails with `ENOMEM` when `new_len + Σ (len + 4)` exceeds
/// [`MAX_INSNS_PER_PATH`].
pub fn check_attach(existing_lens: &[usize], new_len: usize) -> Result<(), VerifyError> {
    let mut total = new_len;
    for &l in existing_lens {
        total = total.saturating_add(l.saturating_add(PER_FILTER_PENALTY));
    }
    if total > MAX_INSNS_PER_PATH {
        return Err(VerifyError::program(Rule::PathTooLong, Errno::ENOMEM));
    }
    Ok(())
}

/// How many copies of a filter of eBPF length `new_len` can still be attached
/// on top of filters of eBPF lengths `existing_lens`.
///
/// With nothing attached this is `floor((32768 - L) / (L + 4)) + 1`, e.g.
/// 3641 for `ret #0x7fff0000` (L = 5).
pub fn max_stack_depth(existing_lens: &[usize], new_len: usize) -> usize {
    let used = existing_lens.iter().fold(0usize, |t, &l| {
        t.saturating_add(l.saturating_add(PER_FILTER_PENALTY))
    });
    let Some(room) = MAX_INSNS_PER_PATH.checked_sub(used) else {
        return 0;
    };
    match room.checked_sub(new_len) {
        Some(rest) => rest / (new_len + PER_FILTER_PENALTY) + 1,
        None => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::{verify, Mode};
    use bpf_asm::seccomp::SECCOMP_RET_ALLOW;
    use std::vec;

    const RET_ALLOW: SockFilter = SockFilter::stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);

    fn len_of(f: SockFilter) -> (usize, usize) {
        (insn_len(f, false), insn_len(f, true))
    }

    #[test]
    fn per_instruction_costs_follow_bpf_convert_filter() {
        let s = SockFilter::stmt;
        let j = SockFilter::jump;
        assert_eq!(len_of(s(0x00, 0)), (1, 1));
        assert_eq!(len_of(s(0x00, 7)), (1, 3));
        assert_eq!(len_of(s(0x01, 7)), (1, 3));
        assert_eq!(len_of(s(0x80, 0)), (1, 3));
        assert_eq!(len_of(s(0x81, 0)), (1, 3));
        for code in [0x20, 0x60, 0x61, 0x02, 0x03, 0x07, 0x87, 0x84, 0x05, 0x16] {
            assert_eq!(len_of(s(code, 4)), (1, 1), "{code:#x}");
        }
        for code in [0x04, 0x14, 0x24, 0x34, 0x44, 0x54, 0xa4] {
            assert_eq!(len_of(s(code, 0)), (1, 3), "{code:#x}");
            assert_eq!(len_of(s(code, 9)), (1, 3), "{code:#x}");
        }
        for code in [0x64, 0x74] {
            assert_eq!(len_of(s(code, 3)), (1, 1), "{code:#x}");
        }
        for code in [0x0c, 0x1c, 0x2c, 0x4c, 0x5c, 0x6c, 0x7c, 0xac] {
            assert_eq!(len_of(s(code, 0)), (1, 1), "{code:#x}");
        }
        assert_eq!(len_of(s(0x3c, 0)), (5, 7));
        assert_eq!(len_of(s(0x06, 0)), (2, 2));
        assert_eq!(len_of(s(0x06, SECCOMP_RET_ALLOW)), (2, 4));
        // Conditional jumps with a non-negative constant.
        assert_eq!(len_of(j(0x15, 5, 3, 0)), (1, 3));
        assert_eq!(len_of(j(0x15, 5, 0, 3)), (1, 3)); // inverted to jne
        assert_eq!(len_of(j(0x25, 5, 0, 3)), (1, 3)); // jle
        assert_eq!(len_of(j(0x35, 5, 0, 3)), (1, 3)); // jlt
        assert_eq!(len_of(j(0x45, 5, 0, 3)), (2, 4)); // jset cannot be inverted
        assert_eq!(len_of(j(0x15, 5, 1, 3)), (2, 4));
        assert_eq!(len_of(j(0x15, 5, 0, 0)), (1, 3));
        // Negative as s32: a mov32 into a temporary first.
        assert_eq!(len_of(j(0x15, 0x8000_0000, 3, 0)), (2, 4));
        assert_eq!(len_of(j(0x15, 0xc000_003e, 1, 2)), (3, 5));
        assert_eq!(len_of(j(0x45, 0xffff_ffff, 0, 2)), (3, 5));
        // X forms are never blinded.
        assert_eq!(len_of(j(0x1d, 0, 3, 0)), (1, 1));
        assert_eq!(len_of(j(0x1d, 0, 1, 3)), (2, 2));
        assert_eq!(len_of(j(0x4d, 0, 0, 3)), (2, 2));
        assert_eq!(len_of(j(0x2d, 0, 0, 3)), (1, 1));
    }

    #[test]
    fn stack_depth_matches_kernel_measurements() {
        let one = [RET_ALLOW];
        assert_eq!(ebpf_len(&one, false), 5);
        assert_eq!(max_stack_depth(&[], ebpf_len(&one, false)), 3641);
        assert_eq!(max_stack_depth(&[], ebpf_len(&one, true)), 2979);
        let big = vec![RET_ALLOW; BPF_MAXINSNS];
        assert_eq!(ebpf_len(&big, false), 8195);
        assert_eq!(max_stack_depth(&[], ebpf_len(&big, false)), 3);
        // The theoretical maximum: `ret a` filters (L = 4).
        let ret_a = [SockFilter::stmt(BPF_RET | BPF_A, 0)];
        assert_eq!(max_stack_depth(&[], ebpf_len(&ret_a, false)), 4096);
    }

    #[test]
    fn check_attach_agrees_with_max_stack_depth() {
        for l in [4usize, 5, 7, 100, 8195, 20479, 32768, 32769] {
            let n = max_stack_depth(&[], l);
            let stack = vec![l; n];
            if n > 0 {
                assert_eq!(check_attach(&stack[..n - 1], l), Ok(()), "L={l}");
            }
            let e = check_attach(&stack, l).unwrap_err();
            assert_eq!(
                (e.rule, e.errno, e.index),
                (Rule::PathTooLong, Errno::ENOMEM, None)
            );
        }
        // Exactly at the limit is allowed.
        assert_eq!(check_attach(&[32768 - 10 - 4], 10), Ok(()));
        assert!(check_attach(&[32768 - 10 - 3], 10).is_err());
        assert_eq!(max_stack_depth(&[40000], 4), 0);
    }

    #[test]
    fn two_maximal_div_x_filters_do_not_fit() {
        let mut p = vec![SockFilter::stmt(BPF_ALU | BPF_DIV | BPF_X, 0); BPF_MAXINSNS];
        p[BPF_MAXINSNS - 1] = SockFilter::stmt(BPF_RET | BPF_A, 0);
        assert_eq!(verify(&p, Mode::Seccomp), Ok(()));
        let l = ebpf_len(&p, false);
        assert_eq!(l, 3 + 5 * 4095 + 1);
        assert_eq!(check_attach(&[], l), Ok(()));
        let e = check_attach(&[l], l).unwrap_err();
        assert_eq!(e.errno, Errno::ENOMEM);
        assert_eq!(
            std::format!("{e}"),
            "program: the stacked filters exceed 32768 eBPF instructions \
             (MAX_INSNS_PER_PATH) (kernel: ENOMEM)"
        );
        // A single filter always fits, even blinded.
        assert!(ebpf_len(&p, true) <= MAX_INSNS_PER_PATH);
    }

    #[test]
    fn blinding_never_shortens() {
        let mut seed = 0x1234_5678_9abc_def0u64;
        for _ in 0..2000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let f = SockFilter::jump(
                bpf_asm::SECCOMP_CODES[(seed % 41) as usize],
                (seed >> 8) as u32,
                (seed >> 40) as u8 & 3,
                (seed >> 48) as u8 & 3,
            );
            let (plain, blinded) = len_of(f);
            assert!(
                plain >= 1 && blinded >= plain && blinded <= plain + 4,
                "{f:?}"
            );
        }
    }
}
