//! Atom extraction: what a program's instructions and a policy's conditions
//! say about the words of `seccomp_data`.
//!
//! * **Programs.** A verified filter is decoded into operations for the
//!   symbolic executor of [`super::explore`]. On every path, a register or
//!   scratch cell holds either a constant or `w & mask` for one word `w` of
//!   `seccomp_data`. Loads, `and #k`, moves between A, X and scratch
//!   memory, and any arithmetic on constants keep that form (constant
//!   arithmetic follows the emulator: 32-bit wrapping, shift counts modulo
//!   32, `div` by a zero X ends the program with 0), so every conditional
//!   jump is decided, or is the [`Atom`] `(w & mask) op k`. Arithmetic other
//!   than `and` on a loaded word, comparing with a loaded X, or returning a
//!   loaded word leave the form: the exploration reports them as
//!   [`Unsupported`] rather than approximate.
//! * **Policies.** A policy condition becomes, for one architecture, a
//!   formula over word literals that follows
//!   [`bpf_asm::policy::eval::condition_holds`] exactly (the unit tests
//!   compare the two on generated inputs): a 64-bit comparison is decided by
//!   the high words' order and then the low words' order, a signed 32-bit
//!   one by the sign bits and then the unsigned order, a 32-bit
//!   architecture's argument is its low word zero-extended, and `hi32`
//!   compares the high word as the kernel fills it, on every architecture.

use alloc::vec;
use alloc::vec::Vec;
use core::fmt;

use bpf_asm::insn::{bpf_class, bpf_src, BPF_ALU, BPF_JA, BPF_JMP, BPF_X};
use bpf_asm::policy::{CmpOp, Condition, Width};
use bpf_asm::seccomp::{arg_offset, Half};
use bpf_asm::{AluOp, Arch, Insn, JmpOp, Size, SockFilter, Src};

use super::classes::{Atom, Literal, TooComplex};
use super::explore::Space;
use crate::data::SECCOMP_DATA_WORDS;

/// What a register or scratch cell holds on one path.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Value {
    /// A known constant.
    Const(u32),
    /// `words[word] & mask`.
    Word { word: u8, mask: u32 },
}

/// One instruction for the symbolic executor; targets are absolute
/// instruction indices.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Op {
    /// `ld [4 * word]`.
    LdWord(u8),
    /// `ld #k` (and `ld #len`).
    LdA(u32),
    /// `ldx #k` (and `ldx #len`).
    LdX(u32),
    LdMem(u8),
    LdxMem(u8),
    St(u8),
    Stx(u8),
    Tax,
    Txa,
    Alu(AluOp, Src),
    Neg,
    Ja(usize),
    Jmp {
        op: JmpOp,
        src: Src,
        jt: usize,
        jf: usize,
    },
    RetK(u32),
    RetA,
    /// An instruction seccomp never accepts (unreachable after
    /// verification); its raw code.
    Other(u16),
}

/// Why a path leaves what the proof handles.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[non_exhaustive]
pub enum Unsupported {
    /// An ALU operation other than `and` applied to a loaded word.
    ArithmeticOnWord(AluOp),
    /// `neg` applied to a loaded word.
    NegatedWord,
    /// A conditional jump comparing a loaded word with X holding a loaded
    /// word (or a constant with a loaded word in X).
    ComparesWithLoadedX,
    /// `ret a` with a loaded word in A (the return value would vary over
    /// the word).
    ReturnsLoadedWord,
    /// An instruction code outside seccomp's set.
    Opcode(u16),
}

impl fmt::Display for Unsupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unsupported::ArithmeticOnWord(op) => write!(
                f,
                "`{}` on a value loaded from seccomp_data (only `and #k` keeps a loaded word comparable)",
                op.mnemonic()
            ),
            Unsupported::NegatedWord => f.write_str("`neg` on a value loaded from seccomp_data"),
            Unsupported::ComparesWithLoadedX => {
                f.write_str("a comparison whose operand in X is a value loaded from seccomp_data")
            }
            Unsupported::ReturnsLoadedWord => {
                f.write_str("`ret a` returns a value loaded from seccomp_data")
            }
            Unsupported::Opcode(c) => write!(f, "opcode {c:#06x} is not a seccomp instruction"),
        }
    }
}

/// Decodes a verified filter. Fields the kernel ignores (`jt`/`jf` of
/// non-jumps, `k` of register forms) are ignored here too.
pub(crate) fn decode(prog: &[SockFilter]) -> Vec<Op> {
    prog.iter()
        .enumerate()
        .map(|(pc, &f)| decode_one(pc, f))
        .collect()
}

fn decode_one(pc: usize, f: SockFilter) -> Op {
    let jump = bpf_class(f.code) == BPF_JMP && f.code != BPF_JMP | BPF_JA;
    let mut g = f;
    if !jump {
        g.jt = 0;
        g.jf = 0;
    }
    // Register forms, `#len`, `neg`, `tax`, `txa` and `ret a` ignore k.
    if matches!(f.code, 0x80 | 0x81 | 0x84 | 0x07 | 0x87 | 0x16)
        || (matches!(bpf_class(f.code), BPF_ALU | BPF_JMP) && bpf_src(f.code) == BPF_X)
    {
        g.k = 0;
    }
    let target = |off: u32| pc + 1 + off as usize;
    match Insn::decode(g) {
        Insn::LdAbs(Size::W, k) if k % 4 == 0 && (k / 4) < SECCOMP_DATA_WORDS as u32 => {
            Op::LdWord((k / 4) as u8)
        }
        Insn::LdImm(k) => Op::LdA(k),
        Insn::LdxImm(k) => Op::LdX(k),
        Insn::LdLen => Op::LdA(bpf_asm::seccomp::SECCOMP_DATA_SIZE),
        Insn::LdxLen => Op::LdX(bpf_asm::seccomp::SECCOMP_DATA_SIZE),
        Insn::LdMem(k) => Op::LdMem((k & 15) as u8),
        Insn::LdxMem(k) => Op::LdxMem((k & 15) as u8),
        Insn::St(k) => Op::St((k & 15) as u8),
        Insn::Stx(k) => Op::Stx((k & 15) as u8),
        Insn::Tax => Op::Tax,
        Insn::Txa => Op::Txa,
        Insn::Alu(op, src) => Op::Alu(op, src),
        Insn::Neg => Op::Neg,
        Insn::Ja(k) => Op::Ja(target(k)),
        Insn::Jmp { op, src, jt, jf } => Op::Jmp {
            op,
            src,
            jt: target(u32::from(jt)),
            jf: target(u32::from(jf)),
        },
        Insn::RetK(k) => Op::RetK(k),
        Insn::RetA => Op::RetA,
        _ => Op::Other(f.code),
    }
}

/// The result of an ALU instruction on symbolic values.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum AluOutcome {
    /// The new value of A.
    Value(Value),
    /// `div` by a zero X: the program ends and returns 0 (see
    /// [`crate::emu`]).
    DivByZero,
}

/// `A op src` on symbolic values, with the emulator's semantics on
/// constants (32-bit wrapping arithmetic, shift counts taken modulo 32).
pub(crate) fn alu(op: AluOp, a: Value, src: Value) -> Result<AluOutcome, Unsupported> {
    let (a, k) = match (a, src) {
        (Value::Word { word, mask }, Value::Const(k))
        | (Value::Const(k), Value::Word { word, mask })
            if op == AluOp::And =>
        {
            return Ok(AluOutcome::Value(Value::Word {
                word,
                mask: mask & k,
            }));
        }
        (Value::Const(a), Value::Const(k)) => (a, k),
        _ => return Err(Unsupported::ArithmeticOnWord(op)),
    };
    Ok(AluOutcome::Value(Value::Const(match op {
        AluOp::Add => a.wrapping_add(k),
        AluOp::Sub => a.wrapping_sub(k),
        AluOp::Mul => a.wrapping_mul(k),
        AluOp::Div => match a.checked_div(k) {
            Some(q) => q,
            None => return Ok(AluOutcome::DivByZero),
        },
        AluOp::Mod => match a.checked_rem(k) {
            Some(r) => r,
            None => return Ok(AluOutcome::DivByZero),
        },
        AluOp::And => a & k,
        AluOp::Or => a | k,
        AluOp::Xor => a ^ k,
        AluOp::Lsh => a.wrapping_shl(k & 31),
        AluOp::Rsh => a.wrapping_shr(k & 31),
    })))
}

/// A boolean combination of word literals.
#[derive(Clone, PartialEq, Eq, Debug)]
pub(crate) enum Formula {
    Const(bool),
    /// The literal on `words[word]`.
    Lit(u8, Literal),
    And(Vec<Formula>),
    Or(Vec<Formula>),
}

/// The outcome of [`Formula::decide`] on a set of inputs.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Tri {
    /// True on every input of the set.
    Yes,
    /// False on every input of the set.
    No,
    /// True on some, false on others; this atom on this word is undecided
    /// on the set and splitting on it makes progress.
    Split(u8, Atom),
}

impl Formula {
    fn lit(word: u8, atom: Atom, holds: bool) -> Formula {
        Formula::Lit(word, atom.is(holds))
    }

    /// The conjunction of `parts` (true when empty).
    pub(crate) fn all(parts: Vec<Formula>) -> Formula {
        Formula::and(parts)
    }

    fn and(parts: Vec<Formula>) -> Formula {
        let mut out = Vec::with_capacity(parts.len());
        for p in parts {
            match p {
                Formula::Const(true) => {}
                Formula::Const(false) => return Formula::Const(false),
                other => out.push(other),
            }
        }
        match out.len() {
            0 => Formula::Const(true),
            1 => out.pop().unwrap_or(Formula::Const(true)),
            _ => Formula::And(out),
        }
    }

    fn or(parts: Vec<Formula>) -> Formula {
        let mut out = Vec::with_capacity(parts.len());
        for p in parts {
            match p {
                Formula::Const(false) => {}
                Formula::Const(true) => return Formula::Const(true),
                other => out.push(other),
            }
        }
        match out.len() {
            0 => Formula::Const(false),
            1 => out.pop().unwrap_or(Formula::Const(false)),
            _ => Formula::Or(out),
        }
    }

    /// The negation (pushed down to the literals).
    pub(crate) fn not(self) -> Formula {
        match self {
            Formula::Const(b) => Formula::Const(!b),
            Formula::Lit(w, l) => Formula::lit(w, l.atom, !l.holds),
            Formula::And(v) => Formula::or(v.into_iter().map(Formula::not).collect()),
            Formula::Or(v) => Formula::and(v.into_iter().map(Formula::not).collect()),
        }
    }

    /// The value on one concrete input.
    #[cfg(test)]
    pub(crate) fn eval(&self, words: &[u32; SECCOMP_DATA_WORDS]) -> bool {
        match self {
            Formula::Const(b) => *b,
            Formula::Lit(w, l) => l.satisfied_by(words[usize::from(*w)]),
            Formula::And(v) => v.iter().all(|f| f.eval(words)),
            Formula::Or(v) => v.iter().any(|f| f.eval(words)),
        }
    }

    /// Whether the formula is constant on `space` (three-valued: a
    /// [`Tri::Split`] names a literal that is undecided on the set; the
    /// formula may still be constant, and splitting on that atom makes
    /// progress either way).
    pub(crate) fn decide(&self, space: &Space) -> Result<Tri, TooComplex> {
        match self {
            Formula::Const(true) => Ok(Tri::Yes),
            Formula::Const(false) => Ok(Tri::No),
            Formula::Lit(w, l) => Ok(match space.words[usize::from(*w)].decide(l.atom)? {
                Some(t) if t == l.holds => Tri::Yes,
                Some(_) => Tri::No,
                None => Tri::Split(*w, l.atom),
            }),
            Formula::And(v) => {
                let mut split = None;
                for f in v {
                    match f.decide(space)? {
                        Tri::No => return Ok(Tri::No),
                        Tri::Yes => {}
                        s => {
                            split.get_or_insert(s);
                        }
                    }
                }
                Ok(split.unwrap_or(Tri::Yes))
            }
            Formula::Or(v) => {
                let mut split = None;
                for f in v {
                    match f.decide(space)? {
                        Tri::Yes => return Ok(Tri::Yes),
                        Tri::No => {}
                        s => {
                            split.get_or_insert(s);
                        }
                    }
                }
                Ok(split.unwrap_or(Tri::No))
            }
        }
    }

    /// Words the formula pins to one value in every input where it holds:
    /// `(word, value)` for each top-level `words[word] == value`.
    pub(crate) fn pins(&self, out: &mut Vec<(u8, u32)>) {
        match self {
            Formula::Lit(
                w,
                Literal {
                    atom:
                        Atom {
                            mask: u32::MAX,
                            op: JmpOp::Jeq,
                            k,
                        },
                    holds: true,
                },
            ) => out.push((*w, *k)),
            Formula::And(v) => v.iter().for_each(|f| f.pins(out)),
            _ => {}
        }
    }
}

/// `(w & m) op v` on unsigned 32-bit values.
fn unsigned32(word: u8, m: u32, op: CmpOp, v: u32) -> Formula {
    let (jop, holds) = match op {
        CmpOp::Eq => (JmpOp::Jeq, true),
        CmpOp::Ne => (JmpOp::Jeq, false),
        CmpOp::Gt => (JmpOp::Jgt, true),
        CmpOp::Ge => (JmpOp::Jge, true),
        CmpOp::Lt => (JmpOp::Jge, false),
        CmpOp::Le => (JmpOp::Jgt, false),
    };
    Formula::lit(word, Atom::new(m, jop, v), holds)
}

/// `(w & m) op v` on signed 32-bit values: by the sign bits, then (equal
/// signs) the unsigned order.
fn signed32(word: u8, m: u32, op: CmpOp, v: u32) -> Formula {
    let strict = match op {
        CmpOp::Eq | CmpOp::Ne => return unsigned32(word, m, op, v),
        CmpOp::Gt => true,
        CmpOp::Ge => false,
        CmpOp::Lt => return signed32(word, m, CmpOp::Ge, v).not(),
        CmpOp::Le => return signed32(word, m, CmpOp::Gt, v).not(),
    };
    let nonneg = Formula::lit(word, Atom::new(m, JmpOp::Jset, 0x8000_0000), false);
    let above = unsigned32(word, m, if strict { CmpOp::Gt } else { CmpOp::Ge }, v);
    if v & 0x8000_0000 != 0 {
        // A non-negative value is above every negative constant.
        Formula::or(vec![nonneg, above])
    } else {
        Formula::and(vec![nonneg, above])
    }
}

/// `(hi:lo & m) op v` on unsigned 64-bit values: the high words' order,
/// then the low words'.
fn unsigned64(hi: u8, lo: u8, m: u64, op: CmpOp, v: u64) -> Formula {
    let (mh, ml, vh, vl) = ((m >> 32) as u32, m as u32, (v >> 32) as u32, v as u32);
    let hi_eq = || Formula::lit(hi, Atom::new(mh, JmpOp::Jeq, vh), true);
    let hi_gt = || Formula::lit(hi, Atom::new(mh, JmpOp::Jgt, vh), true);
    match op {
        CmpOp::Eq => Formula::and(vec![hi_eq(), unsigned32(lo, ml, CmpOp::Eq, vl)]),
        CmpOp::Gt => Formula::or(vec![
            hi_gt(),
            Formula::and(vec![hi_eq(), unsigned32(lo, ml, CmpOp::Gt, vl)]),
        ]),
        CmpOp::Ge => Formula::or(vec![
            hi_gt(),
            Formula::and(vec![hi_eq(), unsigned32(lo, ml, CmpOp::Ge, vl)]),
        ]),
        CmpOp::Ne => unsigned64(hi, lo, m, CmpOp::Eq, v).not(),
        CmpOp::Lt => unsigned64(hi, lo, m, CmpOp::Ge, v).not(),
        CmpOp::Le => unsigned64(hi, lo, m, CmpOp::Gt, v).not(),
    }
}

/// Word index of one half of argument `arg` on a machine of `arch`'s byte
/// order.
fn arg_word(arg: u8, half: Half, arch: Arch) -> Option<u8> {
    arg_offset(u32::from(arg), half, arch.endian()).map(|off| (off / 4) as u8)
}

/// The policy condition `c` on architecture `arch` as a formula over
/// word literals (see the module docs); true exactly where
/// [`bpf_asm::policy::eval::condition_holds`] is.
pub(crate) fn condition(c: &Condition, arch: Arch) -> Formula {
    let (Some(lo), Some(hi)) = (
        arg_word(c.arg, Half::Low, arch),
        arg_word(c.arg, Half::High, arch),
    ) else {
        return Formula::Const(false); // no such argument: never holds
    };
    let mask = c.mask.unwrap_or(u64::MAX);
    match c.width {
        Width::U32 => unsigned32(lo, mask as u32, c.op, c.value as u32),
        // The high word as the kernel fills it, on every architecture.
        Width::Hi32 => unsigned32(hi, mask as u32, c.op, c.value as u32),
        Width::I32 => signed32(lo, mask as u32, c.op, c.value as u32),
        Width::U64 if arch.is_64bit() => unsigned64(hi, lo, mask, c.op, c.value),
        Width::U64 => {
            // The argument is the low word zero-extended: below 2^32.
            if c.value >> 32 != 0 {
                Formula::Const(matches!(c.op, CmpOp::Ne | CmpOp::Lt | CmpOp::Le))
            } else {
                unsigned32(lo, mask as u32, c.op, c.value as u32)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bpf_asm::policy::eval::condition_holds;

    use testkit::Rng;

    const EDGES: [u64; 12] = [
        0,
        1,
        0x7fff_ffff,
        0x8000_0000,
        0xffff_ffff,
        0x1_0000_0000,
        0x1_0000_0001,
        0x7fff_ffff_ffff_ffff,
        0x8000_0000_0000_0000,
        0xffff_ffff_8000_0000,
        u64::MAX - 1,
        u64::MAX,
    ];

    fn edge_or_random(rng: &mut Rng) -> u64 {
        match rng.below(3) {
            0 => EDGES[rng.below(EDGES.len() as u64) as usize],
            1 => rng.next_u64() >> rng.below(64),
            _ => rng.below(16),
        }
    }

    /// The formula of every condition agrees with `condition_holds` on
    /// every width, operator, mask and architecture, at and around the
    /// condition's constant and mask.
    #[test]
    fn conditions_agree_with_condition_holds() {
        let mut rng = Rng::new(11);
        let arches = [
            Arch::X86_64,
            Arch::X86,
            Arch::Aarch64,
            Arch::Arm,
            Arch::S390x,
            Arch::Mips,
            Arch::Ppc64,
        ];
        let ops = [
            CmpOp::Eq,
            CmpOp::Ne,
            CmpOp::Lt,
            CmpOp::Le,
            CmpOp::Gt,
            CmpOp::Ge,
        ];
        for _ in 0..4000 {
            let width = [Width::U64, Width::U32, Width::I32, Width::Hi32][rng.below(4) as usize];
            let value = edge_or_random(&mut rng);
            let mask = (rng.below(3) == 0).then(|| edge_or_random(&mut rng));
            let c = Condition {
                arg: rng.below(6) as u8,
                width,
                mask,
                op: ops[rng.below(6) as usize],
                value,
            };
            let arch = arches[rng.below(arches.len() as u64) as usize];
            let f = condition(&c, arch);
            for _ in 0..40 {
                let mut args = [0u64; 6];
                for a in &mut args {
                    *a = edge_or_random(&mut rng);
                }
                let near = [
                    value,
                    value.wrapping_add(1),
                    value.wrapping_sub(1),
                    value ^ 0x8000_0000,
                ];
                args[usize::from(c.arg)] = match rng.below(3) {
                    0 => near[rng.below(4) as usize],
                    1 => near[rng.below(4) as usize] ^ (rng.next_u64() << 32),
                    _ => args[usize::from(c.arg)],
                };
                let data = crate::data::SeccompData::new(0, arch.audit_arch()).with_args(args);
                let words = data.words(arch.endian());
                assert_eq!(
                    f.eval(&words),
                    condition_holds(&c, arch, &args),
                    "{c:?} on {} with {args:#x?}: {f:?}",
                    arch.name()
                );
            }
        }
    }

    #[test]
    fn symbolic_alu_follows_the_emulator() {
        let w = Value::Word {
            word: 4,
            mask: 0xff,
        };
        assert_eq!(
            alu(AluOp::And, w, Value::Const(0x0f)),
            Ok(AluOutcome::Value(Value::Word {
                word: 4,
                mask: 0x0f
            }))
        );
        assert_eq!(
            alu(AluOp::And, Value::Const(0xf0), w),
            Ok(AluOutcome::Value(Value::Word {
                word: 4,
                mask: 0xf0
            }))
        );
        assert_eq!(
            alu(AluOp::Add, w, Value::Const(1)),
            Err(Unsupported::ArithmeticOnWord(AluOp::Add))
        );
        assert_eq!(
            alu(AluOp::Div, Value::Const(5), Value::Const(0)),
            Ok(AluOutcome::DivByZero)
        );
        assert_eq!(
            alu(AluOp::Lsh, Value::Const(1), Value::Const(33)),
            Ok(AluOutcome::Value(Value::Const(2)))
        );
        assert_eq!(
            alu(AluOp::Sub, Value::Const(0), Value::Const(1)),
            Ok(AluOutcome::Value(Value::Const(u32::MAX)))
        );
    }
}
