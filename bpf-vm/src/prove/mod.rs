//! Proof that a filter, or a stack of filters, means what a policy means:
//! for **every** input on every architecture value (listed or foreign), the
//! return value equals the action the policy's reference semantics
//! ([`bpf_asm::policy::eval::decide`]) gives.
//!
//! The work is split in three layers:
//!
//! * [`classes`]: word-class mathematics. A [`WordSet`] is an exact set of
//!   values of one 32-bit word given by masked comparisons ([`Atom`]s).
//! * [`atoms`]: what instructions and policy conditions say about words. A
//!   program's registers hold constants or `w & mask`; every branch is an
//!   atom. A policy condition is a formula over word literals.
//! * [`explore`]: the program's **regions**: a partition of the input space
//!   into [`Space`]s (a [`WordSet`] per word) on each of which every filter
//!   follows one path and so returns one value. This is also the public
//!   region API ([`Explorer`]) that `lift`, `diff` and `run`'s checks build on.
//!
//! # Method
//!
//! 1. **Regions.** [`Explorer`] follows every feasible path of the program
//!    (of each filter of a stack in turn, in install order, on the same
//!    input); a branch splits the current space only when its atom is
//!    undecided there. The regions partition the input space, and the
//!    program returns one value on each (see [`explore`]).
//! 2. **The policy on a region.** The policy's decision depends on the
//!    architecture value only through equality with the architectures it
//!    lists; on the number only through equality with the numbers its rules
//!    name and through the intervals of
//!    [`number_cuts`] (x32, ENOSYS
//!    boundaries: the policy module's one place for its number atoms); on
//!    the arguments only through its rules' conditions, which are formulas
//!    over word literals ([`atoms`]). So a region is cut, by arch value and
//!    then by number, into pieces on which
//!    [`dispatch`] is constant. Where the
//!    rules decide, the rule chain of that number is evaluated on the piece
//!    with three values per condition: *always* true on the piece, *never*,
//!    or *undecided*. The first rule that is not *never* decides if it is
//!    *always*; if it is undecided, the piece is split by one undecided
//!    literal of it and both halves continue from that rule. A piece where
//!    every rule is *never* gets what the policy gives an unmatched call of
//!    that number (the default, or `errno(ENOSYS)` under an ENOSYS mode),
//!    which depends on the architecture and number only.
//! 3. **Check.** Each final piece has one decision for all its inputs; the
//!    program's value on the region is compared with it. One input of the
//!    piece (its witness) is also run through the emulator, and its
//!    decision is cross-checked against the policy's semantics: by
//!    [`decide`] for every piece, except that for a syscall with more than
//!    [`FULL_CHECK_RULES`] rules (where `decide` scans the whole chain) only
//!    a logarithmic sample of its pieces gets `decide` and the others get
//!    the deciding rule's conditions checked with
//!    [`condition_holds`], so the
//!    cross-check stays linear. A disagreement is reported as
//!    [`CannotProve::Inconsistent`], never ignored. The cross-checks guard
//!    the two models; the proof itself rests on the exact reasoning above.
//!
//! # Why this is complete
//!
//! * The regions partition the input space (every input follows exactly one
//!   path, and a region is exactly the inputs that follow its path), so
//!   every input lies in exactly one region.
//! * Within a region, the pieces partition it: the cuts by arch value and
//!   number cover every value of the region's sets (listed values, named
//!   numbers, and the rest cut at every boundary), and a split by a literal
//!   keeps both halves. A piece is final only when the decision is the same
//!   on all of it: *always* and *never* are exact ([`WordSet::decide`]
//!   computes the truth sets exactly, nothing is sampled), a rule that is
//!   *never* on the piece cannot match any of its inputs, and the first rule
//!   that is *always* matches every input not matched by an earlier rule,
//!   which are all of them.
//! * Splitting terminates: each split decides one more literal of a rule's
//!   conditions on both halves, and a condition all of whose literals are
//!   decided is decided.
//!
//! So every input of every architecture value is covered by exactly one
//! checked piece, and a proof is a proof. Splits happen only where the
//! policy's decision needs them inside a program region: combinations of
//! argument values that no rule relates are never enumerated. Only the
//! rules a region can meet are looked at: a rule that pins an argument word
//! to a constant (`arg1 == K`) is skipped, by lookup, on regions whose word
//! cannot be that constant.
//!
//! When the method does not apply (arithmetic on loaded words, `ret a` of a
//! loaded word, comparisons with a loaded X), or a limit is reached, the
//! answer is [`ProveError::CannotProve`] with the reason; nothing is
//! claimed. A difference yields a [`Counterexample`]: a concrete input on
//! which the emulator returns the program's value and the policy decides
//! otherwise.
//!
//! The action cache and the x86-64 `uretprobe`/`uprobe` exemption of the
//! kernel are not part of the proof: the proof is about what the filters
//! return (see [`crate::stack::run_stack`] for those effects).

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::fmt;
use core::ops::ControlFlow;

use bpf_asm::policy::eval::{
    condition_holds, decide, dispatch, number_cuts, Decision, Dispatch, Reason,
};
use bpf_asm::policy::resolve::{ArchRules, Resolved};
use bpf_asm::policy::{Action, Condition};
use bpf_asm::seccomp::__AUDIT_ARCH_LE;
use bpf_asm::{Arch, Endian, JmpOp, SockFilter};

use crate::action::combine;
use crate::data::{SeccompData, SECCOMP_DATA_WORDS};
use crate::emu::Prepared;

pub mod atoms;
pub mod classes;
pub mod explore;

pub use atoms::Unsupported;
pub use classes::{Atom, Constraint, Literal, TooComplex, WordSet};
pub use explore::{
    data_from_words, ExploreError, Explorer, Region, Space, Stats, ARCH_WORD, NR_WORD,
};

use atoms::{condition, Formula, Tri};

/// Most pieces one proof checks before giving up.
pub const MAX_PIECES: usize = 1 << 24;

/// Syscalls with at most this many rules have every piece cross-checked
/// with `decide` (see the module docs).
pub const FULL_CHECK_RULES: usize = 64;

/// What a successful proof covered.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Proof {
    /// Filters in the program (1) or stack.
    pub filters: usize,
    /// Regions of the program ([`Explorer`]): sets of inputs on which every
    /// filter follows one path.
    pub regions: usize,
    /// Pieces of regions on which the policy's decision is constant; each
    /// was checked, and one input of each run through the emulator and the
    /// policy's semantics.
    pub pieces: usize,
    /// Rules evaluated on pieces (each decided *always*, *never* or
    /// *undecided* there): the work of the policy check, deterministic.
    /// Rules that pin a word to a value the piece's word cannot take are
    /// skipped by lookup and not counted.
    pub rule_checks: usize,
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
    /// The byte order of the machine the input is for, which maps `args`
    /// to the words the program loads ([`endian_of`] the arch value).
    pub endian: Endian,
    /// What the program (for a stack: the stack, combined) returns.
    pub program: u32,
    /// For a stack, the filter (install order) whose value the kernel acts
    /// on (`None` when every filter allows); 0 for a single program.
    pub filter: Option<usize>,
    /// What the policy says.
    pub policy: Action,
}

impl Counterexample {
    /// The input as a `seccomp_data`.
    pub fn data(&self) -> SeccompData {
        SeccompData::new(self.nr as i32, self.audit_arch)
            .with_args(self.args)
            .with_ip(self.instruction_pointer)
    }
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

/// Why [`prove`] gave no proof, and claims nothing.
#[derive(Clone, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub enum CannotProve {
    /// The program could not be explored (rejected by the kernel's rules,
    /// outside the method, or too large).
    Explore(ExploreError),
    /// The policy's conditions on one word overlap in too many ways to
    /// decide exactly.
    TooComplex(TooComplex),
    /// More than [`MAX_PIECES`] pieces.
    TooManyPieces,
    /// The path analysis or the policy model disagreed with the emulator or
    /// with `decide` on a concrete input: a bug in the prover, reported
    /// instead of ignored.
    Inconsistent(String),
}

impl fmt::Display for CannotProve {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CannotProve::Explore(e) => write!(f, "{e}"),
            CannotProve::TooComplex(e) => write!(f, "{e}"),
            CannotProve::TooManyPieces => {
                write!(
                    f,
                    "the policy splits the program's regions into more than {MAX_PIECES} pieces"
                )
            }
            CannotProve::Inconsistent(why) => write!(f, "internal inconsistency: {why}"),
        }
    }
}

impl core::error::Error for CannotProve {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            CannotProve::Explore(e) => Some(e),
            CannotProve::TooComplex(e) => Some(e),
            _ => None,
        }
    }
}

/// Why [`prove`] gave no proof.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum ProveError {
    /// The program differs from the policy on this input.
    Counterexample(Counterexample),
    /// The method does not apply or a limit was reached; nothing is claimed.
    CannotProve(CannotProve),
}

impl fmt::Display for ProveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProveError::Counterexample(c) => write!(f, "counterexample: {c}"),
            ProveError::CannotProve(why) => write!(f, "cannot prove: {why}"),
        }
    }
}

impl core::error::Error for ProveError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            ProveError::Counterexample(_) => None,
            ProveError::CannotProve(e) => Some(e),
        }
    }
}

impl From<TooComplex> for ProveError {
    fn from(e: TooComplex) -> Self {
        ProveError::CannotProve(CannotProve::TooComplex(e))
    }
}

/// Proves that `prog` returns, for every input, exactly the action the
/// policy gives (see the module docs for the method and why it is
/// complete).
pub fn prove(prog: &[SockFilter], resolved: &Resolved) -> Result<Proof, ProveError> {
    let explorer =
        Explorer::new(prog).map_err(|e| ProveError::CannotProve(CannotProve::Explore(e)))?;
    let prepared = Prepared::new(prog).map_err(|error| {
        ProveError::CannotProve(CannotProve::Explore(ExploreError::Rejected {
            filter: None,
            error,
        }))
    })?;
    run(&explorer, vec![prepared], resolved)
}

/// Proves that a stack of filters, given in **install order**, returns for
/// every input (combined as the kernel combines stacked filters: the most
/// severe action wins, the newest filter's data among equal actions) exactly
/// the action the policy gives.
pub fn prove_stack<F: AsRef<[SockFilter]>>(
    filters_in_install_order: &[F],
    resolved: &Resolved,
) -> Result<Proof, ProveError> {
    let explorer = Explorer::stack(filters_in_install_order)
        .map_err(|e| ProveError::CannotProve(CannotProve::Explore(e)))?;
    let mut prepared = Vec::with_capacity(filters_in_install_order.len());
    for (i, f) in filters_in_install_order.iter().enumerate() {
        prepared.push(Prepared::new(f.as_ref()).map_err(|error| {
            ProveError::CannotProve(CannotProve::Explore(ExploreError::Rejected {
                filter: Some(i),
                error,
            }))
        })?);
    }
    run(&explorer, prepared, resolved)
}

fn run(
    explorer: &Explorer,
    prepared: Vec<Prepared>,
    resolved: &Resolved,
) -> Result<Proof, ProveError> {
    let mut checker = Checker {
        ctx: Ctx {
            resolved,
            prepared,
            proof: Proof {
                filters: explorer.filters(),
                ..Proof::default()
            },
        },
        arches: resolved.arches.iter().map(ArchModel::new).collect(),
        listed: {
            let mut v: Vec<u32> = resolved
                .arches
                .iter()
                .map(|a| a.arch.audit_arch())
                .collect();
            v.sort_unstable();
            v.dedup();
            v
        },
    };
    let flow = explorer
        .for_each(&Space::full(), |region| match checker.region(&region) {
            Ok(()) => ControlFlow::Continue(()),
            Err(e) => ControlFlow::Break(e),
        })
        .map_err(|e| ProveError::CannotProve(CannotProve::Explore(e)))?;
    match flow {
        ControlFlow::Break(e) => Err(e),
        ControlFlow::Continue(stats) => {
            checker.ctx.proof.regions = stats.regions;
            Ok(checker.ctx.proof)
        }
    }
}

/// The byte order of the machine that runs filters for calls with the
/// `AUDIT_ARCH_*` value `audit_arch`: the architecture's, and for a value
/// no known architecture has, the one its `__AUDIT_ARCH_LE` bit says. The
/// prover maps words to arguments with it.
pub fn endian_of(audit_arch: u32) -> Endian {
    match Arch::from_audit(audit_arch) {
        Some(a) => a.endian(),
        None if audit_arch & __AUDIT_ARCH_LE != 0 => Endian::Little,
        None => Endian::Big,
    }
}

struct Checker<'a> {
    ctx: Ctx<'a>,
    arches: Vec<ArchModel<'a>>,
    /// Audit values of the listed architectures, sorted.
    listed: Vec<u32>,
}

/// What every piece check needs.
struct Ctx<'a> {
    resolved: &'a Resolved,
    /// The filters, install order, for the emulator cross-check.
    prepared: Vec<Prepared>,
    proof: Proof,
}

/// One listed architecture's number atoms and rule chains.
struct ArchModel<'a> {
    rules: &'a ArchRules,
    audit: u32,
    /// Numbers some rule names, ascending.
    named: Vec<u32>,
    /// [`number_cuts`] of the architecture.
    cuts: Vec<u32>,
    /// Rule chains by number, built when first needed.
    chains: BTreeMap<u32, Chain>,
}

impl<'a> ArchModel<'a> {
    fn new(rules: &'a ArchRules) -> ArchModel<'a> {
        ArchModel {
            rules,
            audit: rules.arch.audit_arch(),
            named: rules.syscalls().map(|(nr, _)| nr).collect(),
            cuts: Vec::new(),
            chains: BTreeMap::new(),
        }
    }
}

/// The rules that can decide one syscall number, as formulas, with an
/// index from pinned word values to rules.
struct Chain {
    rules: Vec<ChainRule>,
    /// What a call of the number gets when no rule matches, once known.
    unmatched: Option<Decision>,
    /// Pieces of this chain checked so far.
    checked: usize,
    /// Per word: `(value, position)` for each rule that pins the word to
    /// `value`, sorted.
    pinned: [Vec<(u32, u32)>; SECCOMP_DATA_WORDS],
    /// Per word with pins: the positions of the rules that do not pin it.
    unpinned: [Vec<u32>; SECCOMP_DATA_WORDS],
}

struct ChainRule {
    /// Position in the policy's rules.
    index: usize,
    action: Action,
    conditions: Vec<Condition>,
    /// The conjunction of the rule's conditions.
    formula: Formula,
}

impl Chain {
    fn new(rules: &ArchRules, nr: u32) -> Chain {
        let arch = rules.arch;
        let chain: Vec<ChainRule> = rules
            .rules_for(nr)
            .map(|r| ChainRule {
                index: r.index,
                action: r.action,
                conditions: r.conditions.clone(),
                formula: Formula::all(r.conditions.iter().map(|c| condition(c, arch)).collect()),
            })
            .collect();
        let mut pinned: [Vec<(u32, u32)>; SECCOMP_DATA_WORDS] = Default::default();
        let mut pins = Vec::new();
        let mut has: Vec<[bool; SECCOMP_DATA_WORDS]> = Vec::with_capacity(chain.len());
        for (pos, r) in chain.iter().enumerate() {
            pins.clear();
            r.formula.pins(&mut pins);
            let mut mine = [false; SECCOMP_DATA_WORDS];
            for &(w, k) in &pins {
                pinned[usize::from(w)].push((k, pos as u32));
                mine[usize::from(w)] = true;
            }
            has.push(mine);
        }
        let mut unpinned: [Vec<u32>; SECCOMP_DATA_WORDS] = Default::default();
        for w in 0..SECCOMP_DATA_WORDS {
            if pinned[w].is_empty() {
                continue;
            }
            pinned[w].sort_unstable();
            pinned[w].dedup();
            unpinned[w] = (0..chain.len() as u32)
                .filter(|&p| !has[p as usize][w])
                .collect();
        }
        Chain {
            rules: chain,
            unmatched: None,
            checked: 0,
            pinned,
            unpinned,
        }
    }

    /// Positions of the rules that can match somewhere in `space`, in
    /// chain order: every rule except those pinning a word to a value the
    /// space's word cannot take (on the word where that excludes most).
    fn candidates(&self, space: &Space) -> Vec<u32> {
        let n = self.rules.len();
        let mut best: Option<(usize, usize, usize, usize)> = None; // (cost, word, from, to)
        for w in 0..SECCOMP_DATA_WORDS {
            let p = &self.pinned[w];
            if p.is_empty() {
                continue;
            }
            let (lo, hi) = space.words[w].bounds();
            let from = p.partition_point(|&(k, _)| k < lo);
            let to = p.partition_point(|&(k, _)| k <= hi);
            let cost = (to - from) + self.unpinned[w].len();
            if cost < best.map_or(n, |b| b.0) {
                best = Some((cost, w, from, to));
            }
        }
        let Some((_, w, from, to)) = best else {
            return (0..n as u32).collect();
        };
        let set = &space.words[w];
        let mut out: Vec<u32> = self.pinned[w][from..to]
            .iter()
            .filter(|&&(k, _)| set.contains(k))
            .map(|&(_, pos)| pos)
            .chain(self.unpinned[w].iter().copied())
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }
}

impl Checker<'_> {
    /// Checks one region: cut by arch value, then number, then the rules.
    fn region(&mut self, region: &Region) -> Result<(), ProveError> {
        let space = &region.space;
        for i in 0..self.arches.len() {
            let audit = self.arches[i].audit;
            if space.arch().contains(audit) {
                let mut s = space.clone();
                s.words[ARCH_WORD] = WordSet::point(audit);
                self.arch(i, s, region)?;
            }
        }
        if let Some(rest) = space.arch().without_points(&self.listed)? {
            let mut s = space.clone();
            s.words[ARCH_WORD] = rest;
            let w = s.witness();
            match dispatch(self.ctx.resolved, w[ARCH_WORD], w[NR_WORD]) {
                Dispatch::Decided(d) => self.ctx.piece(&s, d, region)?,
                Dispatch::Rules(_) => {
                    return Err(inconsistent(format!(
                        "arch value {:#x} is not listed, yet its rules decide",
                        w[ARCH_WORD]
                    )))
                }
            }
        }
        Ok(())
    }

    /// One listed architecture (the space's arch word is its value).
    fn arch(&mut self, i: usize, space: Space, region: &Region) -> Result<(), ProveError> {
        if self.arches[i].cuts.is_empty() {
            let audit = self.arches[i].audit;
            self.arches[i].cuts = number_cuts(self.ctx.resolved, audit);
        }
        let nrs = space.nr().clone();
        let (lo, hi) = nrs.bounds();
        let named = &self.arches[i].named;
        let from = named.partition_point(|&n| n < lo);
        let to = named.partition_point(|&n| n <= hi);
        let inside: Vec<u32> = named[from..to]
            .iter()
            .copied()
            .filter(|&n| nrs.contains(n))
            .collect();
        for &n in &inside {
            let mut s = space.clone();
            s.words[NR_WORD] = WordSet::point(n);
            self.named(i, s, n, region)?;
        }
        // The numbers no rule names, cut at the policy's number atoms.
        let Some(rest) = nrs.without_points(&inside)? else {
            return Ok(());
        };
        let cuts = &self.arches[i].cuts;
        let first = cuts.partition_point(|&c| c <= lo).saturating_sub(1);
        for (j, &c) in cuts.iter().enumerate().skip(first) {
            if c > hi {
                break;
            }
            let end = cuts.get(j + 1).map_or(u32::MAX, |&next| next - 1);
            let Some(part) = rest.restrict(Atom::unmasked(JmpOp::Jge, c).is(true))? else {
                continue;
            };
            let Some(part) = part.restrict(Atom::unmasked(JmpOp::Jgt, end).is(false))? else {
                continue;
            };
            let mut s = space.clone();
            s.words[NR_WORD] = part;
            let nr = s.nr().witness();
            let d = match dispatch(self.ctx.resolved, self.arches[i].audit, nr) {
                Dispatch::Decided(d) => d,
                // No rule names the number: what an unmatched call gets,
                // which depends on the architecture and number only.
                Dispatch::Rules(r) if r.rules_for(nr).next().is_none() => {
                    let w = s.witness();
                    let args = data_from_words(&w, endian_of(w[ARCH_WORD])).args;
                    unmatched(self.ctx.resolved, w[ARCH_WORD], nr, &args)?
                }
                Dispatch::Rules(_) => {
                    return Err(inconsistent(format!(
                        "number {nr:#x} is named by a rule but was not in the named list"
                    )))
                }
            };
            self.ctx.piece(&s, d, region)?;
        }
        Ok(())
    }

    /// One named number of a listed architecture.
    fn named(
        &mut self,
        i: usize,
        space: Space,
        nr: u32,
        region: &Region,
    ) -> Result<(), ProveError> {
        let audit = self.arches[i].audit;
        match dispatch(self.ctx.resolved, audit, nr) {
            Dispatch::Decided(d) => return self.ctx.piece(&space, d, region),
            Dispatch::Rules(_) => {}
        }
        let model = &mut self.arches[i];
        let rules = model.rules;
        let chain = model
            .chains
            .entry(nr)
            .or_insert_with(|| Chain::new(rules, nr));
        let cands = chain.candidates(&space);
        let mut work: Vec<(Space, usize)> = Vec::new();
        work.push((space, 0));
        let arch = model.rules.arch;
        while let Some((s, start)) = work.pop() {
            let mut outcome = Some((None, None));
            for (ci, &pos) in cands.iter().enumerate().skip(start) {
                let rule = &chain.rules[pos as usize];
                self.ctx.proof.rule_checks += 1;
                match rule.formula.decide(&s)? {
                    Tri::No => continue,
                    Tri::Yes => {
                        let d = Decision {
                            action: rule.action,
                            reason: Reason::Rule(rule.index),
                        };
                        outcome = Some((Some(d), Some(pos as usize)));
                    }
                    Tri::Split(w, atom) => {
                        let (yes, no) = s.words[usize::from(w)].split(atom)?;
                        for half in [no, yes].into_iter().flatten() {
                            let mut h = s.clone();
                            h.words[usize::from(w)] = half;
                            work.push((h, ci));
                        }
                        outcome = None;
                    }
                }
                break;
            }
            if let Some((d, pos)) = outcome {
                let d = match d {
                    Some(d) => d,
                    // No rule matches anywhere on the piece: what an
                    // unmatched call of this number gets (the same for all
                    // of them), found once per chain.
                    None => match chain.unmatched {
                        Some(d) => d,
                        None => {
                            let w = s.witness();
                            let args = data_from_words(&w, endian_of(audit)).args;
                            let d = unmatched(self.ctx.resolved, audit, nr, &args)?;
                            chain.unmatched = Some(d);
                            d
                        }
                    },
                };
                chain.checked += 1;
                let n = chain.checked;
                let check =
                    if chain.rules.len() <= FULL_CHECK_RULES || n <= 32 || n.is_power_of_two() {
                        PolicyCheck::Decide
                    } else {
                        match pos {
                            Some(p) => PolicyCheck::Conditions(&chain.rules[p].conditions, arch),
                            None => PolicyCheck::None,
                        }
                    };
                self.ctx.piece_checked(&s, d, region, check)?;
            }
        }
        Ok(())
    }
}

/// How the decision of a piece is cross-checked against the policy's
/// semantics (see the module docs).
enum PolicyCheck<'c> {
    /// `decide` on the witness gives the same decision.
    Decide,
    /// The deciding rule's conditions hold on the witness.
    Conditions(&'c [Condition], Arch),
    /// The default of a long chain, outside the sample.
    None,
}

impl Ctx<'_> {
    /// Checks a piece of `region` on which the policy decides `want`.
    fn piece(&mut self, space: &Space, want: Decision, region: &Region) -> Result<(), ProveError> {
        self.piece_checked(space, want, region, PolicyCheck::Decide)
    }

    /// [`Ctx::piece`] with the given policy cross-check.
    fn piece_checked(
        &mut self,
        space: &Space,
        want: Decision,
        region: &Region,
        check: PolicyCheck<'_>,
    ) -> Result<(), ProveError> {
        self.proof.pieces += 1;
        if self.proof.pieces > MAX_PIECES {
            return Err(ProveError::CannotProve(CannotProve::TooManyPieces));
        }
        let words = space.witness();
        let audit = words[ARCH_WORD];
        let nr = words[NR_WORD];
        let data = data_from_words(&words, endian_of(audit));
        let got = match &self.prepared[..] {
            [one] => one.run_words(&words).ret,
            stack => combine(stack.iter().rev().map(|p| p.run_words(&words).ret)),
        };
        if got != region.ret {
            return Err(inconsistent(format!(
                "path analysis predicted {:#x} but the emulator returns {got:#x} for arch {audit:#x} nr {nr:#x} words {words:#x?}",
                region.ret
            )));
        }
        match check {
            PolicyCheck::Decide => {
                let policy = decide(self.resolved, audit, nr, &data.args);
                if policy != want {
                    return Err(inconsistent(format!(
                        "the policy model predicted {want:?} but decide gives {policy:?} for arch {audit:#x} nr {nr:#x} args {:#x?}",
                        data.args
                    )));
                }
            }
            PolicyCheck::Conditions(conds, arch) => {
                if let Some(c) = conds.iter().find(|c| !condition_holds(c, arch, &data.args)) {
                    return Err(inconsistent(format!(
                        "the policy model predicted {want:?} but its condition {c:?} does not hold for arch {audit:#x} nr {nr:#x} args {:#x?}",
                        data.args
                    )));
                }
            }
            PolicyCheck::None => {}
        }
        if want.action.to_ret() != region.ret {
            return Err(ProveError::Counterexample(Counterexample {
                audit_arch: audit,
                nr,
                args: data.args,
                instruction_pointer: data.instruction_pointer,
                endian: endian_of(audit),
                program: region.ret,
                filter: region.decided_by,
                policy: want.action,
            }));
        }
        Ok(())
    }
}

/// What the policy gives a call that no rule matches, from `decide` on
/// one such call: by the semantics ([`bpf_asm::policy::eval`]) it depends
/// on the architecture and number only, so it holds for every unmatched
/// call of `(audit, nr)`.
fn unmatched(
    resolved: &Resolved,
    audit: u32,
    nr: u32,
    args: &[u64; 6],
) -> Result<Decision, ProveError> {
    let d = decide(resolved, audit, nr, args);
    if let Reason::Rule(i) = d.reason {
        return Err(inconsistent(format!(
            "rule {i} matches arch {audit:#x} nr {nr:#x} args {args:#x?}, where the policy model found no rule can"
        )));
    }
    Ok(d)
}

fn inconsistent(why: String) -> ProveError {
    ProveError::CannotProve(CannotProve::Inconsistent(why))
}
