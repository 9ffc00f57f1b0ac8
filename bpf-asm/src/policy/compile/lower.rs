//! Lowering the policy's conditions and rule chains to decision-diagram
//! nodes, with exact 64-bit semantics built from 32-bit word tests.
//!
//! * 64-bit comparisons test the high word first: `>`/`>=`/`<`/`<=` are
//!   decided by a strictly greater (or smaller) high word; an equal high word
//!   hands over to the low word. Masks apply to each half.
//! * On 32-bit architectures the high word of an argument is taken as zero
//!   (it is never loaded), exactly as the policy semantics say.
//! * `u32` compares only the low word; `i32` compares the low word as a
//!   signed number by splitting on its sign bit (`jset #0x80000000`) and then
//!   comparing unsigned, which is exact within each sign class.
//! * `hi32` compares only the high word, loaded on every architecture (on
//!   32-bit ones it is the word the other widths ignore).

use super::ir::{Dag, NodeId};
use crate::insn::{BPF_JEQ, BPF_JGE, BPF_JGT, BPF_JSET};
use crate::policy::resolve::ResolvedRule;
use crate::policy::{CmpOp, Condition, Width};
use crate::seccomp::{arg_offset, Arch, Half};

/// A 32-bit word the program can load, or a word known to be a constant.
#[derive(Clone, Copy)]
enum Word {
    Load(u32),
    Const(u32),
}

fn word_test(dag: &mut Dag, w: Word, mask: u32, op: u16, k: u32, t: NodeId, f: NodeId) -> NodeId {
    match w {
        Word::Load(off) => dag.test(off, mask, op, k, t, f),
        Word::Const(v) => Dag::test_const(v, mask, op, k, t, f),
    }
}

/// `(w & m) op v` on one 32-bit word, unsigned, for every policy operator.
fn cmp32(dag: &mut Dag, w: Word, m: u32, op: CmpOp, v: u32, s: NodeId, f: NodeId) -> NodeId {
    match op {
        CmpOp::Eq => word_test(dag, w, m, BPF_JEQ, v, s, f),
        CmpOp::Ne => word_test(dag, w, m, BPF_JEQ, v, f, s),
        CmpOp::Gt => word_test(dag, w, m, BPF_JGT, v, s, f),
        CmpOp::Ge => word_test(dag, w, m, BPF_JGE, v, s, f),
        CmpOp::Lt => word_test(dag, w, m, BPF_JGE, v, f, s),
        CmpOp::Le => word_test(dag, w, m, BPF_JGT, v, f, s),
    }
}

/// `(w & m) op v` with both sides read as `i32`.
fn cmp_i32(dag: &mut Dag, w: Word, m: u32, op: CmpOp, v: u32, s: NodeId, f: NodeId) -> NodeId {
    // Strict / non-strict "greater" on signed values; the other operators are
    // its negations.
    let (jop, s, f) = match op {
        CmpOp::Eq | CmpOp::Ne => return cmp32(dag, w, m, op, v, s, f),
        CmpOp::Gt => (BPF_JGT, s, f),
        CmpOp::Ge => (BPF_JGE, s, f),
        CmpOp::Le => (BPF_JGT, f, s),
        CmpOp::Lt => (BPF_JGE, f, s),
    };
    const SIGN: u32 = 0x8000_0000;
    let unsigned = word_test(dag, w, m, jop, v, s, f);
    if v & SIGN == 0 {
        // v >= 0: a negative a is never greater; a non-negative one compares
        // unsigned.
        word_test(dag, w, m, BPF_JSET, SIGN, f, unsigned)
    } else {
        // v < 0: every non-negative a is greater; negative ones compare
        // unsigned (two's complement keeps the order within a sign).
        word_test(dag, w, m, BPF_JSET, SIGN, unsigned, s)
    }
}

/// `((hi:lo) & (mh:ml)) op (vh:vl)` on unsigned 64-bit values.
#[allow(clippy::too_many_arguments)]
fn cmp64(
    dag: &mut Dag,
    hi: Word,
    lo: Word,
    mask: u64,
    op: CmpOp,
    value: u64,
    s: NodeId,
    f: NodeId,
) -> NodeId {
    let (mh, ml) = ((mask >> 32) as u32, mask as u32);
    let (vh, vl) = ((value >> 32) as u32, value as u32);
    let (strict, s, f) = match op {
        CmpOp::Eq => {
            let low = word_test(dag, lo, ml, BPF_JEQ, vl, s, f);
            return word_test(dag, hi, mh, BPF_JEQ, vh, low, f);
        }
        CmpOp::Ne => {
            let low = word_test(dag, lo, ml, BPF_JEQ, vl, f, s);
            return word_test(dag, hi, mh, BPF_JEQ, vh, low, s);
        }
        CmpOp::Gt => (true, s, f),
        CmpOp::Ge => (false, s, f),
        CmpOp::Le => (true, f, s),
        CmpOp::Lt => (false, f, s),
    };
    let low = word_test(
        dag,
        lo,
        ml,
        if strict { BPF_JGT } else { BPF_JGE },
        vl,
        s,
        f,
    );
    let equal_high = word_test(dag, hi, mh, BPF_JEQ, vh, low, f);
    word_test(dag, hi, mh, BPF_JGT, vh, s, equal_high)
}

/// The node that goes to `s` when `cond` holds on `arch` and to `f`
/// otherwise. Argument indexes were checked by resolution; an index above 5
/// never holds.
pub(crate) fn condition(
    dag: &mut Dag,
    cond: &Condition,
    arch: Arch,
    s: NodeId,
    f: NodeId,
) -> NodeId {
    let endian = arch.endian();
    let arg = u32::from(cond.arg);
    let (Some(lo), Some(hi)) = (
        arg_offset(arg, Half::Low, endian),
        arg_offset(arg, Half::High, endian),
    ) else {
        return f;
    };
    let lo = Word::Load(lo);
    let mask = cond.mask.unwrap_or(u64::MAX);
    match cond.width {
        Width::U64 => {
            let hi = if arch.is_64bit() {
                Word::Load(hi)
            } else {
                Word::Const(0)
            };
            cmp64(dag, hi, lo, mask, cond.op, cond.value, s, f)
        }
        Width::U32 => cmp32(dag, lo, mask as u32, cond.op, cond.value as u32, s, f),
        Width::Hi32 => cmp32(
            dag,
            Word::Load(hi),
            mask as u32,
            cond.op,
            cond.value as u32,
            s,
            f,
        ),
        Width::I32 => cmp_i32(dag, lo, mask as u32, cond.op, cond.value as u32, s, f),
    }
}

/// The node for "all of `conds` hold": `s` when they do, `f` otherwise.
/// Conditions are tested in the order written.
pub(crate) fn conjunction(
    dag: &mut Dag,
    conds: &[Condition],
    arch: Arch,
    s: NodeId,
    f: NodeId,
) -> NodeId {
    conds
        .iter()
        .rev()
        .fold(s, |next, c| condition(dag, c, arch, next, f))
}

/// The behaviour of one syscall: its rule chain tried in order, falling back
/// to `default`.
pub(crate) fn behaviour(
    dag: &mut Dag,
    rules: &[&ResolvedRule],
    arch: Arch,
    default: NodeId,
) -> NodeId {
    rules.iter().rev().fold(default, |next, rule| {
        let s = dag.ret(rule.action.to_ret());
        conjunction(dag, &rule.conditions, arch, s, next)
    })
}
