//! Lengths of classic programs after the kernel converts them to eBPF
//! (`bpf_convert_filter`), and the instruction budget of stacked seccomp
//! filters (`MAX_INSNS_PER_PATH`).
//!
//! The kernel counts each seccomp filter by its length **after conversion to
//! eBPF**, and after constant blinding when the JIT blinds (`bpf_jit_harden`),
//! not by its classic length. [`ebpf_len`] computes that length;
//! [`check_attach`] is the check of `seccomp_attach_filter`.
//!
//! Socket filters convert differently: packet loads become calls of the
//! `bpf_skb_load_helper_*` helpers behind an inlined fast path, ancillary
//! loads become reads of `struct sk_buff` fields or helper calls.
//! [`classic_ebpf_len`] and [`classic_insn_len`] give those lengths; the
//! verifier uses them for the jump-offset limit of the conversion
//! (see [`crate::verify::Rule::ConvertedJumpTooLong`]).

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

/// eBPF instructions one classic instruction of a seccomp filter (after
/// `seccomp_check_filter`'s rewrites) converts to.
const fn insn_len(f: SockFilter, blinded: bool) -> usize {
    // Blinding turns an ALU32 op with an immediate (except shifts) into 3
    // instructions, `mov imm 0` into 1, and a jump with an immediate into 3.
    let imm_op = if blinded { 3 } else { 1 };
    match f.code {
        // ld #k, ldx #k; ld/ldx #len become `mov32 #64`.
        0x00 | 0x01 => imm_mov(f.k, blinded),
        0x80 | 0x81 => imm_mov(64, blinded),
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
        0x06 => 1 + imm_mov(f.k, blinded),
        0x15 | 0x1d | 0x25 | 0x2d | 0x35 | 0x3d | 0x45 | 0x4d => cond_jump_len(f, blinded),
        _ => 1,
    }
}

/// `mov32 reg, k`: blinded into 3 instructions unless `k` is 0.
const fn imm_mov(k: u32, blinded: bool) -> usize {
    if blinded && k != 0 {
        3
    } else {
        1
    }
}

/// Conditional jumps: an optional `mov32 tmp,k` when `k` would sign-extend,
/// the compare, and a second `ja` unless one target is the next instruction
/// (only JEQ/JGT/JGE can be inverted for `jt == 0`).
const fn cond_jump_len(f: SockFilter, blinded: bool) -> usize {
    let is_k = bpf_src(f.code) == BPF_K;
    let (mov, cmp) = match (is_k, (f.k as i32) < 0) {
        (false, _) => (0, 1),
        (true, true) => (if blinded { 3 } else { 1 }, 1),
        (true, false) => (0, if blinded { 3 } else { 1 }),
    };
    let two = !cond_jump_is_single(f);
    mov + cmp + two as usize
}

/// Whether a conditional jump converts to a single eBPF jump: `jf == 0`, or
/// `jt == 0` and the comparison can be inverted (JEQ, JGT, JGE; not JSET).
pub(crate) const fn cond_jump_is_single(f: SockFilter) -> bool {
    f.jf == 0 || (f.jt == 0 && bpf_op(f.code) != BPF_JSET)
}

/// eBPF instructions of the prologue that caches `skb->data` and the
/// header length for packet loads (`seen_ld_abs`).
pub const PACKET_PROLOGUE_LEN: usize = 4;

/// Whether converting the socket filter `prog` emits the packet prologue
/// ([`PACKET_PROLOGUE_LEN`]): it has a packet load (`ld`/`ldh`/`ldb` at an
/// offset below `SKF_AD_OFF`, an indirect load, or `ldxb 4*([k]&0xf)`).
pub const fn classic_seen_ld_abs(prog: &[SockFilter]) -> bool {
    let mut i = 0;
    while i < prog.len() {
        let f = prog[i];
        match f.code {
            0x20 | 0x28 | 0x30 if f.k < SKF_AD_OFF => return true,
            0x40 | 0x48 | 0x50 | 0xb1 => return true,
            _ => {}
        }
        i += 1;
    }
    false
}

/// The length the kernel records for a socket filter (`SO_ATTACH_FILTER`):
/// the eBPF instruction count `bpf_convert_filter` produces, on a
/// little-endian architecture with efficient unaligned access (x86-64,
/// arm64).
///
/// `prog` should be a program [`crate::verify::verify`] accepts in classic
/// mode; an unknown instruction is counted as one eBPF instruction.
pub const fn classic_ebpf_len(prog: &[SockFilter]) -> usize {
    let mut len = PROLOGUE_LEN;
    if classic_seen_ld_abs(prog) {
        len += PACKET_PROLOGUE_LEN;
    }
    let mut i = 0;
    while i < prog.len() {
        len += classic_insn_len(prog[i]);
        i += 1;
    }
    len
}

/// eBPF instructions one classic instruction of a socket filter converts
/// to (see [`classic_ebpf_len`] for the architecture assumptions).
///
/// Differs from seccomp ([`ebpf_len`]) for packet loads, `ldxb
/// 4*([k]&0xf)` and ancillary loads, which seccomp does not allow.
pub const fn classic_insn_len(f: SockFilter) -> usize {
    match f.code {
        0x20 | 0x28 | 0x30 if f.k >= SKF_AD_OFF => ancillary_len(f.k - SKF_AD_OFF),
        0x20 | 0x28 | 0x30 | 0x40 | 0x48 | 0x50 => packet_load_len(f.code, f.k),
        // `X = A`, the byte load, `A &= 0xf; A <<= 2; tmp = X; X = A; A = tmp`.
        0xb1 => 1 + packet_load_len(BPF_LD | BPF_B | BPF_ABS, f.k) + 5,
        _ => insn_len(f, false),
    }
}

/// `convert_bpf_ld_abs` with `CONFIG_HAVE_EFFICIENT_UNALIGNED_ACCESS`:
/// for an absolute load at a non-negative offset an inlined fast path
/// (`tmp = headlen [- k]; if tmp s< size goto slow; A = *(data + k)
/// [via tmp when k > 32767]; [bswap]; goto out`), then the helper call
/// (`arg1..arg4 [arg4 += k]; call; if A s>= 0 goto out; A = 0; exit`).
const fn packet_load_len(code: u16, k: u32) -> usize {
    let endian = bpf_size(code) != BPF_B;
    let indirect = bpf_mode(code) == BPF_IND;
    let mut len = 0;
    if !indirect && (k as i32) >= 0 {
        let load = if k <= i16::MAX as u32 { 1 } else { 3 };
        len += 1 + (k != 0) as usize + 1 + load + endian as usize + 1;
    }
    let arg4 = if indirect { 1 + (k != 0) as usize } else { 1 };
    len + 3 + arg4 + 1 + 3
}

/// `convert_bpf_extensions` for `SKF_AD_OFF + off` (Linux 6.3 and later:
/// `vlan_present` reads `vlan_all`), whatever the load size.
const fn ancillary_len(off: u32) -> usize {
    match off {
        // Field load and a byte swap.
        SKF_AD_PROTOCOL | SKF_AD_VLAN_TPID => 2,
        // Byte load and a mask (little-endian bitfields).
        SKF_AD_PKTTYPE => 2,
        // `tmp = skb->dev; if tmp != 0 goto +1; exit; A = tmp->field`.
        SKF_AD_IFINDEX | SKF_AD_HATYPE => 4,
        // `A = vlan_all; if A == 0 goto +1; A = 1`.
        SKF_AD_VLAN_TAG_PRESENT => 3,
        // `arg1 = ctx; arg2 = A; arg3 = X; call`.
        SKF_AD_NLATTR | SKF_AD_NLATTR_NEST | SKF_AD_CPU | SKF_AD_PAY_OFFSET | SKF_AD_RANDOM => 4,
        // One field load, or `A ^= X`.
        _ => 1,
    }
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
    fn classic_lengths_follow_bpf_convert_filter() {
        let s = SockFilter::stmt;
        let l = |code: u16, k: u32| classic_insn_len(s(code, k));
        // Absolute packet loads: fast path (mov, [sub], jslt, load or
        // mov+add+load past 32767, [bswap], ja) + helper call (8).
        assert_eq!((l(0x30, 0), l(0x28, 0), l(0x20, 0)), (12, 13, 13));
        assert_eq!((l(0x30, 14), l(0x28, 14), l(0x20, 14)), (13, 14, 14));
        assert_eq!((l(0x30, 0x8000), l(0x20, 0x8000)), (15, 16));
        assert_eq!(l(0x20, 0x7fff_ffff), 16);
        // Negative offsets (SKF_NET_OFF, SKF_LL_OFF): helper call only.
        for k in [0x8000_0000, 0xfff0_0000, 0xffe0_0000, SKF_AD_OFF - 1] {
            assert_eq!((l(0x30, k), l(0x28, k), l(0x20, k)), (8, 8, 8), "{k:#x}");
        }
        // Indirect loads: helper call, `arg4 = X [+ k]`.
        for code in [0x40, 0x48, 0x50] {
            assert_eq!((l(code, 0), l(code, 1), l(code, u32::MAX)), (8, 9, 9));
        }
        // ldxb 4*([k]&0xf): 1 + byte load + 5.
        assert_eq!((l(0xb1, 0), l(0xb1, 14), l(0xb1, 0x8000)), (18, 19, 21));
        assert_eq!(l(0xb1, SKF_AD_OFF), 14);
        // Ancillary loads, whatever the size.
        let anc = [2, 2, 4, 4, 4, 1, 1, 4, 1, 4, 1, 1, 3, 4, 4, 2];
        for (i, want) in anc.into_iter().enumerate() {
            for code in [0x20, 0x28, 0x30] {
                assert_eq!(l(code, SKF_AD_OFF + 4 * i as u32), want, "SKF_AD {}", 4 * i);
            }
        }
        // Everything else as in seccomp without blinding.
        for code in [0x00, 0x01, 0x04, 0x3c, 0x9c, 0x06, 0x16, 0x80, 0x87, 0x15] {
            assert_eq!(l(code, 5), insn_len(s(code, 5), false), "{code:#x}");
        }
        assert_eq!(l(0x9c, 0), 5);
        // The prologue grows by 4 with packet loads only.
        assert_eq!(classic_ebpf_len(&[s(0x06, 0)]), 5);
        assert_eq!(
            classic_ebpf_len(&[s(0x20, SKF_AD_OFF), s(0x16, 0)]),
            3 + 2 + 1
        );
        assert_eq!(classic_ebpf_len(&[s(0x40, 0), s(0x16, 0)]), 7 + 8 + 1);
        assert_eq!(classic_ebpf_len(&[s(0xb1, 0), s(0x16, 0)]), 7 + 18 + 1);
        assert!(!classic_seen_ld_abs(&[
            s(0x30, SKF_AD_OFF + 20),
            s(0x16, 0)
        ]));
        assert!(classic_seen_ld_abs(&[s(0x30, SKF_AD_OFF - 4), s(0x16, 0)]));
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
