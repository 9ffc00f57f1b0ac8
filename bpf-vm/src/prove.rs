//! Proof that a program means what a policy means: for **every** input on
//! every architecture (listed or foreign), the program's return value equals
//! the action the policy's reference semantics
//! ([`bpf_asm::policy::eval::evaluate`]) gives.
//!
//! # Method
//!
//! The proof handles programs made of `ld [k]` (32-bit loads from
//! `seccomp_data`), `ld #k`, `ld #len`, `and #k`, conditional jumps with a
//! constant operand, `ja` and `ret #k` (or `ret a` when A is a constant).
//! In such a program the accumulator always holds either a constant or
//! `w & m` for one word `w` of `seccomp_data` and a mask `m`, so **every
//! branch is the truth value of an atom `(w & m) op c`** with `op` one of
//! `==`, `>`, `>=` or "has a common bit" (`jset`). Anything else
//! (arithmetic on loaded words, the X register, scratch memory) makes the
//! method unsound, and [`prove`] answers [`ProveError::CannotProve`] with
//! the instruction and the reason instead of claiming anything.
//!
//! The policy is likewise a function of atoms: for a fixed architecture, its
//! decision depends on the syscall number only through equalities with the
//! numbers its rules name and the x32 test (`nr & 0x40000000`, except `-1`), and on the
//! arguments only through, per word of a condition, `(w & m) == c`,
//! `(w & m) > c` and (for `i32`) the sign bit of `w & m` — these decide
//! every operator on every width (a 64-bit comparison is decided by the
//! high words' order and then the low words' order).
//!
//! The 16 words of `seccomp_data` are independent: any combination of word
//! values is a possible input. The proof therefore works per word:
//!
//! 1. **Word classes.** For a set of atoms on one word, [`word_classes`]
//!    returns values realising every satisfiable combination of the atoms'
//!    truth values. It scans the 32 bits from the most significant down and
//!    keeps, for each prefix, only its *state*: per atom, whether the masked
//!    prefix so far is below, equal to or above the constant's prefix (for
//!    `jset`: whether a common bit was seen). The atom's final truth value is
//!    a function of the final state, and two prefixes with the same state
//!    have the same future, so keeping one prefix per state loses no
//!    combination: the representatives realise *exactly* the satisfiable
//!    truth vectors. (When every atom is an unmasked comparison or its mask
//!    has only high bits, the word is instead cut into intervals at the
//!    constants and mask-block boundaries; every atom is constant on each
//!    interval, so one value per interval is also complete.)
//! 2. **Architecture and number.** The arch word is split into classes by
//!    the atoms the program and the policy apply to it (one value stands for
//!    all foreign architectures of a class); for each, the syscall number is
//!    split by the program's and the policy's atoms on it.
//! 3. **Paths.** With arch and number fixed, the program is explored path by
//!    path. At a branch on an argument word both outcomes are followed when
//!    the word's accumulated atoms stay satisfiable (decided exactly by the
//!    word classes). Each path ends at a `ret` with a *region*: per word, a
//!    satisfiable conjunction of atoms; the program returns the same value
//!    on the whole region.
//! 4. **Policy on a region.** For each word the policy looks at, the word
//!    classes of (region atoms ∪ policy atoms) are filtered to the region,
//!    one value per combination of policy-atom values; the product over
//!    these words (other words: any value in the region) covers every
//!    combination of policy atoms inside the region, so the policy's
//!    decision is checked for every input of the region. Each concrete
//!    input is also run through the emulator as a cross-check.
//!
//! A difference yields a [`Counterexample`] with the concrete input and both
//! results.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::fmt;

use bpf_asm::insn::*;
use bpf_asm::policy::eval::evaluate;
use bpf_asm::policy::resolve::Resolved;
use bpf_asm::policy::{Action, Width};
use bpf_asm::seccomp::{
    arg_offset, Half, __AUDIT_ARCH_LE, AUDIT_ARCH_X86_64, SECCOMP_DATA_ARCH, SECCOMP_DATA_NR,
    SECCOMP_DATA_SIZE, X32_SYSCALL_BIT,
};
use bpf_asm::{Arch, Endian};

use crate::data::{SeccompData, SECCOMP_DATA_WORDS};
use crate::emu::Prepared;
use crate::verify::{verify, Mode};

/// Most paths explored before giving up.
const MAX_PATHS: usize = 2_000_000;
/// Most concrete inputs checked for one region before giving up.
const MAX_REGION_INPUTS: usize = 1 << 20;

/// What a successful proof covered.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Proof {
    /// Classes of the architecture word checked (listed and foreign).
    pub arch_classes: usize,
    /// Classes of the syscall number checked, summed over architectures.
    pub nr_classes: usize,
    /// Program paths (regions of the input space) checked.
    pub paths: usize,
    /// Concrete inputs evaluated against the policy.
    pub inputs: usize,
}

/// An input on which the program and the policy disagree.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Counterexample {
    /// `seccomp_data.arch`.
    pub audit_arch: u32,
    /// `seccomp_data.nr`.
    pub nr: u32,
    /// `seccomp_data.args`.
    pub args: [u64; 6],
    /// `seccomp_data.instruction_pointer`.
    pub instruction_pointer: u64,
    /// What the program returns.
    pub program: u32,
    /// What the policy says.
    pub policy: Action,
}

impl fmt::Display for Counterexample {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let arch = Arch::from_audit(self.audit_arch).map_or("foreign", |a| a.name());
        write!(
            f,
            "arch {:#x} ({arch}), nr {}",
            self.audit_arch, self.nr as i32
        )?;
        if let Some(name) = Arch::from_audit(self.audit_arch).and_then(|a| a.syscall_name(self.nr))
        {
            write!(f, " ({name})")?;
        }
        write!(f, ", args [")?;
        for (i, a) in self.args.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{a:#x}")?;
        }
        write!(f, "]: the program returns {:#010x}", self.program)?;
        match Action::from_ret(self.program) {
            Some(a) => write!(f, " ({a})")?,
            None => f.write_str(" (not a policy action)")?,
        }
        write!(
            f,
            ", the policy says {} ({:#010x})",
            self.policy,
            self.policy.to_ret()
        )
    }
}

/// Why [`prove`] gave no proof.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum ProveError {
    /// The program differs from the policy on this input.
    Counterexample(Counterexample),
    /// The method does not apply (see the module docs); nothing is claimed.
    CannotProve(String),
}

impl fmt::Display for ProveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProveError::Counterexample(c) => write!(f, "counterexample: {c}"),
            ProveError::CannotProve(why) => write!(f, "cannot prove: {why}"),
        }
    }
}

/// `(w & mask) op k` on one 32-bit word; `op` is `BPF_JEQ`, `BPF_JGT`,
/// `BPF_JGE` or `BPF_JSET`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug, Hash)]
pub struct Atom {
    /// Mask applied to the word.
    pub mask: u32,
    /// The comparison (`BPF_JEQ`, `BPF_JGT`, `BPF_JGE`, `BPF_JSET`).
    pub op: u16,
    /// The constant.
    pub k: u32,
}

impl Atom {
    /// Whether the atom holds for word value `w`.
    pub fn holds(self, w: u32) -> bool {
        let a = w & self.mask;
        match self.op {
            BPF_JEQ => a == self.k,
            BPF_JGT => a > self.k,
            BPF_JGE => a >= self.k,
            _ => a & self.k != 0,
        }
    }

    /// The mask of the bits the atom's truth depends on.
    fn bits(self) -> u32 {
        if self.op == BPF_JSET {
            self.mask & self.k
        } else {
            self.mask
        }
    }
}

/// Values of one 32-bit word realising every satisfiable combination of
/// truth values of `atoms` (see the module docs for why this is complete),
/// in ascending order. Never empty.
pub fn word_classes(atoms: &[Atom]) -> Vec<u32> {
    let atoms: BTreeSet<Atom> = atoms.iter().copied().collect();
    let atoms: Vec<Atom> = atoms.into_iter().collect();
    if let Some(v) = interval_classes(&atoms) {
        return v;
    }
    bit_classes(&atoms)
}

/// Cut points when every atom is an unmasked comparison or depends only on
/// bits 24..32: one value per interval on which all atoms are constant.
fn interval_classes(atoms: &[Atom]) -> Option<Vec<u32>> {
    let mut cuts: BTreeSet<u64> = BTreeSet::new();
    cuts.insert(0);
    for a in atoms {
        let bits = a.bits();
        if bits == 0 {
            continue;
        }
        if a.op != BPF_JSET && a.mask == u32::MAX {
            let k = u64::from(a.k);
            cuts.insert(k);
            cuts.insert(k + 1);
        } else if bits.trailing_zeros() >= 24 {
            let step = 1u64 << bits.trailing_zeros();
            let mut c = 0u64;
            while c <= u64::from(u32::MAX) {
                cuts.insert(c);
                c += step;
            }
        } else {
            return None;
        }
    }
    Some(
        cuts.into_iter()
            .filter(|&c| c <= u64::from(u32::MAX))
            .map(|c| c as u32)
            .collect(),
    )
}

const LT: u8 = 0;
const EQ: u8 = 1;
const GT: u8 = 2;

/// The exact bit-by-bit construction of the module docs.
fn bit_classes(atoms: &[Atom]) -> Vec<u32> {
    // Per atom: for comparisons, the order of the masked prefix against the
    // constant's prefix; for jset, whether a common bit was seen (0 / 1).
    let start: Vec<u8> = atoms
        .iter()
        .map(|a| if a.op == BPF_JSET { 0 } else { EQ })
        .collect();
    let mut level: BTreeMap<Vec<u8>, u32> = BTreeMap::new();
    level.insert(start, 0);
    for bit in (0..32).rev() {
        let mut next: BTreeMap<Vec<u8>, u32> = BTreeMap::new();
        for (state, prefix) in &level {
            for b in [0u32, 1] {
                let value = prefix | (b << bit);
                let st: Vec<u8> = atoms
                    .iter()
                    .zip(state)
                    .map(|(a, &s)| {
                        if a.op == BPF_JSET {
                            s | u8::from((a.mask & a.k) >> bit & b != 0)
                        } else if s != EQ {
                            s
                        } else {
                            let wb = (a.mask >> bit) & b;
                            let cb = (a.k >> bit) & 1;
                            match wb.cmp(&cb) {
                                core::cmp::Ordering::Less => LT,
                                core::cmp::Ordering::Equal => EQ,
                                core::cmp::Ordering::Greater => GT,
                            }
                        }
                    })
                    .collect();
                next.entry(st).or_insert(value);
            }
        }
        level = next;
    }
    let mut out: Vec<u32> = level.into_values().collect();
    out.sort_unstable();
    out
}

/// What the accumulator holds.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum AVal {
    Const(u32),
    Word(u32, u32),
}

/// Atoms the program applies to each word (by word index), found by a
/// forward pass over every path at once; or why the method does not apply.
fn program_atoms(prog: &[SockFilter]) -> Result<Vec<BTreeSet<Atom>>, String> {
    let n = prog.len();
    let mut states: Vec<BTreeSet<AVal>> = vec![BTreeSet::new(); n + 1];
    states[0].insert(AVal::Const(0));
    let mut atoms: Vec<BTreeSet<Atom>> = vec![BTreeSet::new(); SECCOMP_DATA_WORDS];
    for pc in 0..n {
        let here = core::mem::take(&mut states[pc]);
        if here.is_empty() {
            continue; // unreachable
        }
        let f = prog[pc];
        match Insn::decode(f) {
            Insn::LdAbs(Size::W, k) => {
                states[pc + 1].insert(AVal::Word(k, u32::MAX));
            }
            Insn::LdImm(k) => {
                states[pc + 1].insert(AVal::Const(k));
            }
            Insn::LdLen => {
                states[pc + 1].insert(AVal::Const(SECCOMP_DATA_SIZE));
            }
            Insn::Alu(AluOp::And, Src::K(k)) => {
                for v in &here {
                    states[pc + 1].insert(match *v {
                        AVal::Const(c) => AVal::Const(c & k),
                        AVal::Word(w, m) => AVal::Word(w, m & k),
                    });
                }
            }
            Insn::Ja(k) => {
                let t = pc + 1 + k as usize;
                states[t.min(n)].extend(here.iter().copied());
            }
            Insn::Jmp {
                op,
                src: Src::K(k),
                jt,
                jf,
            } => {
                for v in &here {
                    if let AVal::Word(w, m) = *v {
                        atoms[(w / 4) as usize % SECCOMP_DATA_WORDS].insert(Atom {
                            mask: m,
                            op: op.bits(),
                            k,
                        });
                    }
                }
                for off in [jt, jf] {
                    let t = pc + 1 + usize::from(off);
                    states[t.min(n)].extend(here.iter().copied());
                }
            }
            Insn::RetK(_) => {}
            Insn::RetA if here.iter().all(|v| matches!(v, AVal::Const(_))) => {}
            other => {
                return Err(format!(
                    "instruction {pc} ({other:?}) is outside what the proof handles (loads of seccomp_data words, `and #k`, jumps with a constant, `ja`, `ret`)"
                ))
            }
        }
    }
    Ok(atoms)
}

/// A conjunction of atom outcomes on one word.
type Constraint = Vec<(Atom, bool)>;

/// A value of the word satisfying `c`, if any.
fn witness(c: &Constraint) -> Option<u32> {
    let atoms: Vec<Atom> = c.iter().map(|&(a, _)| a).collect();
    word_classes(&atoms)
        .into_iter()
        .find(|&w| c.iter().all(|&(a, t)| a.holds(w) == t))
}

/// The policy's atoms on the words of one syscall's conditions.
fn policy_atoms(resolved: &Resolved, arch: Arch, nr: u32) -> BTreeMap<u32, BTreeSet<Atom>> {
    let mut out: BTreeMap<u32, BTreeSet<Atom>> = BTreeMap::new();
    let Some(rules) = resolved.arch(arch.audit_arch()) else {
        return out;
    };
    let endian = arch.endian();
    for rule in rules.rules_for(nr) {
        for c in &rule.conditions {
            let arg = u32::from(c.arg);
            let (Some(lo), Some(hi)) = (
                arg_offset(arg, Half::Low, endian),
                arg_offset(arg, Half::High, endian),
            ) else {
                continue;
            };
            let mask = c.mask.unwrap_or(u64::MAX);
            let mut add = |word: u32, m: u32, v: u32, signed: bool| {
                let set = out.entry(word / 4).or_default();
                set.insert(Atom {
                    mask: m,
                    op: BPF_JEQ,
                    k: v,
                });
                set.insert(Atom {
                    mask: m,
                    op: BPF_JGT,
                    k: v,
                });
                if signed {
                    set.insert(Atom {
                        mask: m,
                        op: BPF_JSET,
                        k: 0x8000_0000,
                    });
                }
            };
            match c.width {
                Width::Hi32 => add(hi, mask as u32, c.value as u32, false),
                Width::U64 if arch.is_64bit() => {
                    add(lo, mask as u32, c.value as u32, false);
                    add(hi, (mask >> 32) as u32, (c.value >> 32) as u32, false);
                }
                _ => add(lo, mask as u32, c.value as u32, c.width == Width::I32),
            }
        }
    }
    out
}

/// Builds the input whose words are `words`, in byte order `endian`.
fn data_from_words(words: &[u32; SECCOMP_DATA_WORDS], endian: Endian) -> SeccompData {
    let mut bytes = [0u8; 64];
    for (i, w) in words.iter().enumerate() {
        let b = match endian {
            Endian::Little => w.to_le_bytes(),
            Endian::Big => w.to_be_bytes(),
        };
        bytes[4 * i..4 * i + 4].copy_from_slice(&b);
    }
    SeccompData::from_bytes(&bytes, endian)
}

struct Prover<'a> {
    prog: &'a [SockFilter],
    prepared: Prepared,
    resolved: &'a Resolved,
    proof: Proof,
}

/// Proves that `prog` returns, for every input, exactly the action the
/// policy gives (see the module docs for the method and why it is
/// complete). `arches` are architectures checked in addition to the
/// policy's own (a listed architecture the policy does not cover must get
/// `bad_arch`); every other architecture value is covered by class
/// representatives.
pub fn prove(
    prog: &[SockFilter],
    resolved: &Resolved,
    arches: &[Arch],
) -> Result<Proof, ProveError> {
    verify(prog, Mode::Seccomp).map_err(|e| {
        ProveError::CannotProve(format!("the kernel would reject the program: {e:?}"))
    })?;
    let prepared = Prepared::new(prog).map_err(|e| {
        ProveError::CannotProve(format!("the kernel would reject the program: {e:?}"))
    })?;
    let atoms = program_atoms(prog).map_err(ProveError::CannotProve)?;
    let mut p = Prover {
        prog,
        prepared,
        resolved,
        proof: Proof::default(),
    };
    // Architecture classes.
    let mut arch_atoms: Vec<Atom> = atoms[(SECCOMP_DATA_ARCH / 4) as usize]
        .iter()
        .copied()
        .collect();
    for a in resolved
        .arches
        .iter()
        .map(|r| r.arch)
        .chain(arches.iter().copied())
    {
        arch_atoms.push(Atom {
            mask: u32::MAX,
            op: BPF_JEQ,
            k: a.audit_arch(),
        });
    }
    let arch_values = word_classes(&arch_atoms);
    p.proof.arch_classes = arch_values.len();
    for audit in arch_values {
        let arch = Arch::from_audit(audit);
        let listed = resolved.arch(audit).map(|r| r.arch);
        let endian = arch.map_or(
            if audit & __AUDIT_ARCH_LE != 0 {
                Endian::Little
            } else {
                Endian::Big
            },
            |a| a.endian(),
        );
        let mut nr_atoms: Vec<Atom> = atoms[(SECCOMP_DATA_NR / 4) as usize]
            .iter()
            .copied()
            .collect();
        if let Some(rules) = resolved.arch(audit) {
            for (nr, _) in rules.syscalls() {
                nr_atoms.push(Atom {
                    mask: u32::MAX,
                    op: BPF_JEQ,
                    k: nr,
                });
            }
            if audit == AUDIT_ARCH_X86_64 {
                nr_atoms.push(Atom {
                    mask: u32::MAX,
                    op: BPF_JSET,
                    k: X32_SYSCALL_BIT,
                });
                nr_atoms.push(Atom {
                    mask: u32::MAX,
                    op: BPF_JEQ,
                    k: u32::MAX,
                });
            }
        }
        let nr_values = word_classes(&nr_atoms);
        p.proof.nr_classes += nr_values.len();
        for nr in nr_values {
            p.explore(audit, nr, listed, endian)?;
        }
    }
    Ok(p.proof)
}

impl Prover<'_> {
    /// Explores every path of the program for a fixed arch and number.
    fn explore(
        &mut self,
        audit: u32,
        nr: u32,
        listed: Option<Arch>,
        endian: Endian,
    ) -> Result<(), ProveError> {
        let mut fixed = [None; SECCOMP_DATA_WORDS];
        fixed[(SECCOMP_DATA_NR / 4) as usize] = Some(nr);
        fixed[(SECCOMP_DATA_ARCH / 4) as usize] = Some(audit);
        let policy_atoms = match listed {
            Some(arch) => policy_atoms(self.resolved, arch, nr),
            None => BTreeMap::new(),
        };
        // Depth-first over (pc, A, constraints per word).
        let empty: Vec<Constraint> = vec![Vec::new(); SECCOMP_DATA_WORDS];
        let mut stack: Vec<(usize, AVal, Vec<Constraint>)> = vec![(0, AVal::Const(0), empty)];
        while let Some((mut pc, mut a, cons)) = stack.pop() {
            loop {
                let Some(&f) = self.prog.get(pc) else {
                    return Err(ProveError::CannotProve(format!(
                        "a path runs off the end at {pc}"
                    )));
                };
                match Insn::decode(f) {
                    Insn::LdAbs(Size::W, k) => {
                        let w = (k / 4) as usize % SECCOMP_DATA_WORDS;
                        a = match fixed[w] {
                            Some(v) => AVal::Const(v),
                            None => AVal::Word(k, u32::MAX),
                        };
                    }
                    Insn::LdImm(k) => a = AVal::Const(k),
                    Insn::LdLen => a = AVal::Const(SECCOMP_DATA_SIZE),
                    Insn::Alu(AluOp::And, Src::K(k)) => {
                        a = match a {
                            AVal::Const(c) => AVal::Const(c & k),
                            AVal::Word(w, m) => AVal::Word(w, m & k),
                        }
                    }
                    Insn::Ja(k) => pc += k as usize,
                    Insn::Jmp {
                        op,
                        src: Src::K(k),
                        jt,
                        jf,
                    } => match a {
                        AVal::Const(c) => {
                            pc += usize::from(if op.holds(c, k) { jt } else { jf });
                        }
                        AVal::Word(w, m) => {
                            let atom = Atom {
                                mask: m,
                                op: op.bits(),
                                k,
                            };
                            let wi = (w / 4) as usize % SECCOMP_DATA_WORDS;
                            let with = |t: bool| {
                                let mut c = cons[wi].clone();
                                c.push((atom, t));
                                witness(&c).map(|_| c)
                            };
                            let taken = with(true);
                            let not = with(false);
                            match (taken, not) {
                                (Some(ct), Some(cf)) => {
                                    let mut other = cons.clone();
                                    other[wi] = cf;
                                    stack.push((pc + 1 + usize::from(jf), a, other));
                                    let mut mine = cons;
                                    mine[wi] = ct;
                                    stack.push((pc + 1 + usize::from(jt), a, mine));
                                    break;
                                }
                                (Some(_), None) => pc += usize::from(jt),
                                (None, Some(_)) => pc += usize::from(jf),
                                (None, None) => break, // infeasible path
                            }
                        }
                    },
                    Insn::RetK(k) => {
                        self.leaf(audit, nr, listed, endian, &fixed, &cons, &policy_atoms, k)?;
                        break;
                    }
                    Insn::RetA => match a {
                        AVal::Const(k) => {
                            self.leaf(audit, nr, listed, endian, &fixed, &cons, &policy_atoms, k)?;
                            break;
                        }
                        AVal::Word(..) => {
                            return Err(ProveError::CannotProve(format!(
                                "instruction {pc} returns a value loaded from seccomp_data"
                            )))
                        }
                    },
                    other => {
                        return Err(ProveError::CannotProve(format!(
                            "instruction {pc} ({other:?}) is outside what the proof handles"
                        )))
                    }
                }
                pc += 1;
            }
        }
        Ok(())
    }

    /// Checks the policy on every class of a region that returns `ret`.
    #[allow(clippy::too_many_arguments)]
    fn leaf(
        &mut self,
        audit: u32,
        nr: u32,
        listed: Option<Arch>,
        endian: Endian,
        fixed: &[Option<u32>; SECCOMP_DATA_WORDS],
        cons: &[Constraint],
        policy_atoms: &BTreeMap<u32, BTreeSet<Atom>>,
        ret: u32,
    ) -> Result<(), ProveError> {
        self.proof.paths += 1;
        if self.proof.paths > MAX_PATHS {
            return Err(ProveError::CannotProve(format!(
                "the program has more than {MAX_PATHS} paths"
            )));
        }
        // Per word: the values to try.
        let mut choices: Vec<Vec<u32>> = Vec::with_capacity(SECCOMP_DATA_WORDS);
        for (wi, c) in cons.iter().enumerate() {
            if let Some(v) = fixed[wi] {
                choices.push(vec![v]);
                continue;
            }
            match policy_atoms.get(&(wi as u32)) {
                None => choices.push(vec![witness(c).unwrap_or(0)]),
                Some(pa) => {
                    let mut all: Vec<Atom> = c.iter().map(|&(a, _)| a).collect();
                    all.extend(pa.iter().copied());
                    let mut seen: BTreeSet<Vec<bool>> = BTreeSet::new();
                    let mut vals = Vec::new();
                    for v in word_classes(&all) {
                        if c.iter().all(|&(a, t)| a.holds(v) == t) {
                            let key: Vec<bool> = pa.iter().map(|a| a.holds(v)).collect();
                            if seen.insert(key) {
                                vals.push(v);
                            }
                        }
                    }
                    choices.push(vals);
                }
            }
        }
        let total = choices
            .iter()
            .try_fold(1usize, |acc, c| acc.checked_mul(c.len()));
        match total {
            Some(t) if t <= MAX_REGION_INPUTS => {}
            _ => {
                return Err(ProveError::CannotProve(format!(
                    "syscall {nr} on arch {audit:#x}: too many argument combinations to enumerate"
                )))
            }
        }
        let mut idx = [0usize; SECCOMP_DATA_WORDS];
        loop {
            let words: [u32; SECCOMP_DATA_WORDS] = core::array::from_fn(|i| choices[i][idx[i]]);
            let data = data_from_words(&words, endian);
            self.proof.inputs += 1;
            let want = match listed {
                Some(_) => evaluate(self.resolved, audit, nr, &data.args),
                None => self.resolved.bad_arch,
            };
            let got = self.prepared.run(&data, endian).ret;
            if got != ret {
                return Err(ProveError::CannotProve(format!(
                    "internal: path analysis predicted {ret:#x} but the emulator returns {got:#x} for nr {nr} arch {audit:#x}"
                )));
            }
            if want.to_ret() != ret {
                return Err(ProveError::Counterexample(Counterexample {
                    audit_arch: audit,
                    nr,
                    args: data.args,
                    instruction_pointer: data.instruction_pointer,
                    program: ret,
                    policy: want,
                }));
            }
            // Next combination.
            let mut i = 0;
            loop {
                if i == SECCOMP_DATA_WORDS {
                    return Ok(());
                }
                idx[i] += 1;
                if idx[i] < choices[i].len() {
                    break;
                }
                idx[i] = 0;
                i += 1;
            }
        }
    }
}
