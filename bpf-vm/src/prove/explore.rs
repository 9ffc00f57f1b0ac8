//! Path exploration: the **regions** of a filter, or of a stack of filters.
//!
//! A [`Space`] is a set of inputs given per word: the sixteen 32-bit words
//! of `seccomp_data` (as `ld [0]`, `ld [4]`, …, `ld [60]` load them) each
//! range over a [`WordSet`], independently. An [`Explorer`] runs the
//! program symbolically from a space (see [`super::atoms`] for the values
//! registers hold): a branch whose atom the current word set decides goes
//! one way; otherwise the space is split by the atom and both sides are
//! followed. Each path that reaches `ret` is a [`Region`]: a space on which
//! the program runs that path for **every** input, hence returns one value.
//!
//! The regions of a space **partition** it: every input in the space lies
//! in exactly one region (the one whose path it follows; an infeasible
//! branch holds no input), and the region's return value is what the
//! emulator returns for it. Regions come in depth-first order, the taken
//! side of a split first.
//!
//! For a stack, the filters run one after another on the same input (in
//! install order; each starts with A, X and scratch memory zero) and a
//! region carries every filter's return value and their combination under
//! the kernel's precedence ([`crate::action::combine_indexed`]). Whether
//! the kernel's action cache or the x86-64 `uretprobe`/`uprobe` exemption
//! short-cuts a call is not part of a region: regions describe what the
//! filters return (see [`crate::stack::run_stack`] for those effects).
//!
//! # Uses
//!
//! * All regions: [`Explorer::regions`] (or [`Explorer::for_each`] to stream
//!   them) from [`Space::full`].
//! * One call's regions, over its arguments: [`Explorer::regions_for`] with
//!   an architecture value and a syscall number.
//! * Comparing two programs: explore the second inside each region of the
//!   first ([`Explorer::for_each`] takes any starting space); the pieces
//!   are exactly the common refinement.
//!
//! ```
//! use bpf_asm::seccomp::{AUDIT_ARCH_X86_64, SECCOMP_RET_ALLOW, SECCOMP_RET_ERRNO};
//! use bpf_asm::{Insn, JmpOp, Size, SockFilter, Src};
//! use bpf_vm::prove::Explorer;
//!
//! // x86_64 only; execve (59) fails with EPERM unless arg0 is 0x1000.
//! let prog: Vec<SockFilter> = [
//!     Insn::LdAbs(Size::W, 4),
//!     Insn::Jmp { op: JmpOp::Jeq, src: Src::K(AUDIT_ARCH_X86_64), jt: 0, jf: 5 },
//!     Insn::LdAbs(Size::W, 0),
//!     Insn::Jmp { op: JmpOp::Jeq, src: Src::K(59), jt: 0, jf: 2 },
//!     Insn::LdAbs(Size::W, 16),
//!     Insn::Jmp { op: JmpOp::Jeq, src: Src::K(0x1000), jt: 0, jf: 1 },
//!     Insn::RetK(SECCOMP_RET_ALLOW),
//!     Insn::RetK(SECCOMP_RET_ERRNO | 1),
//! ]
//! .map(Insn::encode)
//! .to_vec();
//! let explorer = Explorer::new(&prog)?;
//! // Does any execve call pass, and with which arguments?
//! let passing: Vec<_> = explorer
//!     .regions_for(AUDIT_ARCH_X86_64, 59)?
//!     .into_iter()
//!     .filter(|r| r.ret == SECCOMP_RET_ALLOW)
//!     .collect();
//! assert_eq!(passing.len(), 1);
//! // Word 4 is the low half of args[0] on a little-endian machine.
//! assert_eq!(passing[0].space.words[4].unmasked_point(), Some(0x1000));
//! assert_eq!(passing[0].space.to_string(), "nr: w == 0x3b, arch: w == 0xc000003e, [16]: w == 0x1000");
//! # Ok::<(), bpf_vm::prove::ExploreError>(())
//! ```

use alloc::vec;
use alloc::vec::Vec;
use core::fmt;
use core::ops::ControlFlow;

use bpf_asm::seccomp::{SECCOMP_DATA_ARCH, SECCOMP_DATA_NR};
use bpf_asm::{AluOp, Endian, SockFilter, Src};

use super::atoms::{alu, decode, AluOutcome, Op, Unsupported, Value};
use super::classes::{Atom, Literal, TooComplex, WordSet};
use crate::action::{combine_indexed, KernelAction};
use crate::data::{SeccompData, SECCOMP_DATA_WORDS};
use crate::verify::{verify, Mode, VerifyError};

/// Index of `seccomp_data.nr` among the sixteen words.
pub const NR_WORD: usize = (SECCOMP_DATA_NR / 4) as usize;
/// Index of `seccomp_data.arch` among the sixteen words.
pub const ARCH_WORD: usize = (SECCOMP_DATA_ARCH / 4) as usize;

/// Most regions one exploration produces by default (see
/// [`Explorer::with_limit`]).
pub const DEFAULT_REGION_LIMIT: usize = 1 << 22;

/// A set of inputs: per word of `seccomp_data`, the values it may take,
/// independently of the other words. Every word's set is non-empty, so a
/// space is never empty.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Default)]
pub struct Space {
    /// The sets of words 0 to 15 (word `i` is what `ld [4 * i]` loads:
    /// [`NR_WORD`], [`ARCH_WORD`], then the instruction pointer and the
    /// arguments in the machine's byte order, see
    /// [`bpf_asm::seccomp::arg_offset`]).
    pub words: [WordSet; SECCOMP_DATA_WORDS],
}

impl Space {
    /// Every input.
    pub fn full() -> Space {
        Space::default()
    }

    /// The calls of syscall `nr` under the `AUDIT_ARCH_*` value
    /// `audit_arch`, with any instruction pointer and arguments.
    pub fn call(audit_arch: u32, nr: u32) -> Space {
        let mut s = Space::full();
        s.words[NR_WORD] = WordSet::point(nr);
        s.words[ARCH_WORD] = WordSet::point(audit_arch);
        s
    }

    /// The values of `seccomp_data.arch`.
    pub fn arch(&self) -> &WordSet {
        &self.words[ARCH_WORD]
    }

    /// The values of `seccomp_data.nr` (as the `u32` that `ld [0]` loads).
    pub fn nr(&self) -> &WordSet {
        &self.words[NR_WORD]
    }

    /// One input of the space: every word's witness.
    pub fn witness(&self) -> [u32; SECCOMP_DATA_WORDS] {
        core::array::from_fn(|i| self.words[i].witness())
    }

    /// [`Space::witness`] as a `seccomp_data` of a machine with byte order
    /// `endian`.
    pub fn witness_data(&self, endian: Endian) -> SeccompData {
        data_from_words(&self.witness(), endian)
    }

    /// Whether the input with these words is in the space.
    pub fn contains(&self, words: &[u32; SECCOMP_DATA_WORDS]) -> bool {
        self.words.iter().zip(words).all(|(s, &w)| s.contains(w))
    }

    /// The inputs whose word `word` (0..16) satisfies `lit`, or `None` when
    /// there is none. Panics when `word` is 16 or more.
    pub fn restrict(&self, word: usize, lit: Literal) -> Result<Option<Space>, TooComplex> {
        Ok(self.words[word].restrict(lit)?.map(|set| {
            let mut s = self.clone();
            s.words[word] = set;
            s
        }))
    }

    /// The inputs in both spaces, or `None` when they share none.
    pub fn intersect(&self, other: &Space) -> Result<Option<Space>, TooComplex> {
        let mut s = self.clone();
        for (mine, theirs) in s.words.iter_mut().zip(&other.words) {
            match mine.intersect(theirs)? {
                Some(set) => *mine = set,
                None => return Ok(None),
            }
        }
        Ok(Some(s))
    }
}

impl fmt::Display for Space {
    /// The constrained words as `nr: …`, `arch: …` and `[offset]: …`; `any`
    /// for the whole input space.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (i, w) in self.words.iter().enumerate() {
            if w.is_full() {
                continue;
            }
            if !first {
                f.write_str(", ")?;
            }
            first = false;
            match i {
                NR_WORD => write!(f, "nr: {w}")?,
                ARCH_WORD => write!(f, "arch: {w}")?,
                _ => write!(f, "[{}]: {w}", 4 * i)?,
            }
        }
        if first {
            f.write_str("any")?;
        }
        Ok(())
    }
}

/// The `seccomp_data` whose sixteen words (as loaded on a machine of byte
/// order `endian`) are `words`.
pub fn data_from_words(words: &[u32; SECCOMP_DATA_WORDS], endian: Endian) -> SeccompData {
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

/// One region: a space on which every filter follows one path.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Region {
    /// The inputs of the region.
    pub space: Space,
    /// What each filter returns on the region, in install order.
    pub rets: Vec<u32>,
    /// For a single filter, its return value. For a stack, the combined
    /// value under the kernel's precedence ([`combine_indexed`]): the most
    /// severe action, the newest filter's data among equals, and exactly
    /// `SECCOMP_RET_ALLOW` when every filter allows (or the stack is empty).
    pub ret: u32,
    /// The filter (install order) whose value is [`Region::ret`]: 0 for a
    /// single filter; for a stack, `None` when no filter's value replaced
    /// the kernel's initial `SECCOMP_RET_ALLOW`.
    pub decided_by: Option<usize>,
}

impl Region {
    /// One input of the region (see [`Space::witness`]).
    pub fn witness(&self) -> [u32; SECCOMP_DATA_WORDS] {
        self.space.witness()
    }

    /// What the kernel does with [`Region::ret`].
    pub fn action(&self) -> KernelAction {
        KernelAction::from_ret(self.ret)
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} -> {:#010x} ({})",
            self.space,
            self.ret,
            self.action()
        )
    }
}

/// What an exploration visited.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct Stats {
    /// Regions (paths reaching `ret` in the last filter).
    pub regions: usize,
    /// Branches at which the space was split.
    pub splits: usize,
}

/// Why an exploration stopped without covering its space.
#[derive(Clone, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub enum ExploreError {
    /// The kernel would refuse a filter (seccomp mode).
    Rejected {
        /// The filter, in install order (`None` for a single program).
        filter: Option<usize>,
        /// Why.
        error: VerifyError,
    },
    /// A feasible path runs an instruction outside the method (see
    /// [`super::atoms`]); nothing is claimed.
    Unsupported {
        /// The filter, in install order (`None` for a single program).
        filter: Option<usize>,
        /// The instruction's index.
        pc: usize,
        /// What it does.
        what: Unsupported,
    },
    /// Deciding a branch needed more than the word-set search budget
    /// ([`super::classes::SEARCH_BUDGET`]).
    TooComplex {
        /// The filter, in install order (`None` for a single program).
        filter: Option<usize>,
        /// The branch's index.
        pc: usize,
    },
    /// The space has more regions than the limit.
    TooManyRegions {
        /// The limit ([`Explorer::with_limit`]).
        limit: usize,
    },
}

fn write_at(f: &mut fmt::Formatter<'_>, filter: Option<usize>, pc: usize) -> fmt::Result {
    match filter {
        Some(i) => write!(f, "filter {i}, instruction {pc}"),
        None => write!(f, "instruction {pc}"),
    }
}

impl fmt::Display for ExploreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExploreError::Rejected { filter, error } => {
                match filter {
                    Some(i) => write!(f, "the kernel would reject filter {i}: ")?,
                    None => f.write_str("the kernel would reject the program: ")?,
                }
                write!(f, "{error}")
            }
            ExploreError::Unsupported { filter, pc, what } => {
                write_at(f, *filter, *pc)?;
                write!(
                    f,
                    ": {what}; the proof handles loads of seccomp_data words, constants, `and`, moves through X and scratch memory, comparisons with constants and `ret`"
                )
            }
            ExploreError::TooComplex { filter, pc } => {
                write_at(f, *filter, *pc)?;
                write!(f, ": {TooComplex}")
            }
            ExploreError::TooManyRegions { limit } => {
                write!(f, "the program has more than {limit} regions")
            }
        }
    }
}

impl core::error::Error for ExploreError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            ExploreError::Rejected { error, .. } => Some(error),
            _ => None,
        }
    }
}

/// A filter or stack of filters, decoded for exploration.
#[derive(Clone, Debug)]
pub struct Explorer {
    filters: Vec<Vec<Op>>,
    limit: usize,
}

/// One path being followed.
#[derive(Clone)]
struct Path {
    filter: usize,
    pc: usize,
    a: Value,
    x: Value,
    mem: [Value; 16],
    space: Space,
    rets: Vec<u32>,
}

impl Explorer {
    /// Verifies and decodes one program.
    pub fn new(prog: &[SockFilter]) -> Result<Explorer, ExploreError> {
        verify(prog, Mode::Seccomp).map_err(|error| ExploreError::Rejected {
            filter: None,
            error,
        })?;
        Ok(Explorer {
            filters: vec![decode(prog)],
            limit: DEFAULT_REGION_LIMIT,
        })
    }

    /// Verifies and decodes a stack of filters given in **install order**
    /// (the first one installed first). An empty stack returns
    /// `SECCOMP_RET_ALLOW` everywhere, like the kernel without filters.
    /// Whether the kernel has room for the stack is a separate check
    /// ([`crate::budget::check_attach`]).
    pub fn stack<F: AsRef<[SockFilter]>>(filters: &[F]) -> Result<Explorer, ExploreError> {
        let mut decoded = Vec::with_capacity(filters.len());
        for (i, f) in filters.iter().enumerate() {
            verify(f.as_ref(), Mode::Seccomp).map_err(|error| ExploreError::Rejected {
                filter: Some(i),
                error,
            })?;
            decoded.push(decode(f.as_ref()));
        }
        Ok(Explorer {
            filters: decoded,
            limit: DEFAULT_REGION_LIMIT,
        })
    }

    /// The same explorer, stopping with [`ExploreError::TooManyRegions`]
    /// after `max_regions` regions instead of [`DEFAULT_REGION_LIMIT`].
    pub fn with_limit(mut self, max_regions: usize) -> Explorer {
        self.limit = max_regions;
        self
    }

    /// How many filters the explorer runs.
    pub fn filters(&self) -> usize {
        self.filters.len()
    }

    /// The regions of `within`, in depth-first order (see the module docs).
    pub fn regions(&self, within: &Space) -> Result<Vec<Region>, ExploreError> {
        let mut out = Vec::new();
        match self.for_each(within, |r| {
            out.push(r);
            ControlFlow::<()>::Continue(())
        })? {
            ControlFlow::Continue(_) | ControlFlow::Break(()) => Ok(out),
        }
    }

    /// The regions of the calls of syscall `nr` under the `AUDIT_ARCH_*`
    /// value `audit_arch` ([`Space::call`]): they partition the calls by
    /// instruction pointer and arguments, with what the filters return.
    pub fn regions_for(&self, audit_arch: u32, nr: u32) -> Result<Vec<Region>, ExploreError> {
        self.regions(&Space::call(audit_arch, nr))
    }

    /// Calls `visit` with each region of `within`, in depth-first order,
    /// until it breaks. Returns what the visitor broke with, or the
    /// exploration's [`Stats`] when every region was visited.
    pub fn for_each<B>(
        &self,
        within: &Space,
        mut visit: impl FnMut(Region) -> ControlFlow<B>,
    ) -> Result<ControlFlow<B, Stats>, ExploreError> {
        let mut stats = Stats::default();
        if self.filters.is_empty() {
            stats.regions = 1;
            let r = Region {
                space: within.clone(),
                rets: Vec::new(),
                ret: bpf_asm::seccomp::SECCOMP_RET_ALLOW,
                decided_by: None,
            };
            return Ok(match visit(r) {
                ControlFlow::Break(b) => ControlFlow::Break(b),
                ControlFlow::Continue(()) => ControlFlow::Continue(stats),
            });
        }
        let single = self.filters.len() == 1;
        let at = |filter: usize| (!single).then_some(filter);
        let mut pending = vec![Path {
            filter: 0,
            pc: 0,
            a: Value::Const(0),
            x: Value::Const(0),
            mem: [Value::Const(0); 16],
            space: within.clone(),
            rets: Vec::with_capacity(self.filters.len()),
        }];
        while let Some(mut p) = pending.pop() {
            let done = loop {
                let ops = &self.filters[p.filter];
                // Verified programs end in `ret` and jump in range; the
                // emulator returns 0 past the end, and so does this.
                let op = ops.get(p.pc).copied().unwrap_or(Op::RetK(0));
                let unsupported = |what| ExploreError::Unsupported {
                    filter: at(p.filter),
                    pc: p.pc,
                    what,
                };
                let ret = match op {
                    Op::LdWord(w) => {
                        p.a = Value::Word {
                            word: w,
                            mask: u32::MAX,
                        };
                        None
                    }
                    Op::LdA(k) => {
                        p.a = Value::Const(k);
                        None
                    }
                    Op::LdX(k) => {
                        p.x = Value::Const(k);
                        None
                    }
                    Op::LdMem(i) => {
                        p.a = p.mem[usize::from(i)];
                        None
                    }
                    Op::LdxMem(i) => {
                        p.x = p.mem[usize::from(i)];
                        None
                    }
                    Op::St(i) => {
                        p.mem[usize::from(i)] = p.a;
                        None
                    }
                    Op::Stx(i) => {
                        p.mem[usize::from(i)] = p.x;
                        None
                    }
                    Op::Tax => {
                        p.x = p.a;
                        None
                    }
                    Op::Txa => {
                        p.a = p.x;
                        None
                    }
                    Op::Alu(op, src) => {
                        let s = match src {
                            Src::K(k) => Value::Const(k),
                            Src::X => fold(p.x, &p.space),
                        };
                        match alu(op, fold(p.a, &p.space), s) {
                            Ok(AluOutcome::Value(v)) => {
                                p.a = v;
                                None
                            }
                            Ok(AluOutcome::DivByZero) => Some(0),
                            Err(what) => return Err(unsupported(what)),
                        }
                    }
                    Op::Neg => match fold(p.a, &p.space) {
                        Value::Const(c) => {
                            p.a = Value::Const(c.wrapping_neg());
                            None
                        }
                        Value::Word { .. } => return Err(unsupported(Unsupported::NegatedWord)),
                    },
                    Op::Ja(t) => {
                        p.pc = t;
                        continue;
                    }
                    Op::Jmp { op, src, jt, jf } => {
                        let k = match src {
                            Src::K(k) => k,
                            Src::X => match fold(p.x, &p.space) {
                                Value::Const(c) => c,
                                Value::Word { .. } => {
                                    return Err(unsupported(Unsupported::ComparesWithLoadedX))
                                }
                            },
                        };
                        match fold(p.a, &p.space) {
                            Value::Const(c) => p.pc = if op.holds(c, k) { jt } else { jf },
                            Value::Word { word, mask } => {
                                let wi = usize::from(word);
                                let atom = Atom::new(mask, op, k);
                                let too_complex = |_| ExploreError::TooComplex {
                                    filter: at(p.filter),
                                    pc: p.pc,
                                };
                                match p.space.words[wi].decide(atom).map_err(too_complex)? {
                                    Some(true) => p.pc = jt,
                                    Some(false) => p.pc = jf,
                                    None => {
                                        let (yes, no) =
                                            p.space.words[wi].split(atom).map_err(too_complex)?;
                                        // Both sides are non-empty: the atom is undecided.
                                        let (Some(y), Some(n)) = (yes, no) else {
                                            break false;
                                        };
                                        stats.splits += 1;
                                        let mut other = p.clone();
                                        other.space.words[wi] = n;
                                        other.pc = jf;
                                        pending.push(other);
                                        p.space.words[wi] = y;
                                        p.pc = jt;
                                    }
                                }
                            }
                        }
                        continue;
                    }
                    Op::RetK(k) => Some(k),
                    Op::RetA => match fold(p.a, &p.space) {
                        Value::Const(c) => Some(c),
                        Value::Word { .. } => {
                            return Err(unsupported(Unsupported::ReturnsLoadedWord))
                        }
                    },
                    Op::Other(code) => return Err(unsupported(Unsupported::Opcode(code))),
                };
                match ret {
                    None => p.pc += 1,
                    Some(r) => {
                        p.rets.push(r);
                        if p.filter + 1 == self.filters.len() {
                            break true;
                        }
                        p.filter += 1;
                        p.pc = 0;
                        p.a = Value::Const(0);
                        p.x = Value::Const(0);
                        p.mem = [Value::Const(0); 16];
                    }
                }
            };
            if !done {
                continue;
            }
            stats.regions += 1;
            if stats.regions > self.limit {
                return Err(ExploreError::TooManyRegions { limit: self.limit });
            }
            let n = p.rets.len();
            let (ret, decided_by) = if single {
                (p.rets[0], Some(0))
            } else {
                let (ret, newest_first) = combine_indexed(p.rets.iter().rev().copied());
                (ret, newest_first.map(|i| n - 1 - i))
            };
            let region = Region {
                space: p.space,
                rets: p.rets,
                ret,
                decided_by,
            };
            if let ControlFlow::Break(b) = visit(region) {
                return Ok(ControlFlow::Break(b));
            }
        }
        Ok(ControlFlow::Continue(stats))
    }
}

/// A loaded word whose set is one value is that constant.
fn fold(v: Value, space: &Space) -> Value {
    match v {
        Value::Word { word, mask } => match space.words[usize::from(word)].unmasked_point() {
            Some(c) => Value::Const(c & mask),
            None => v,
        },
        c => c,
    }
}

// Keep `AluOp` referenced for the docs of `Unsupported`.
const _: Option<AluOp> = None;
