//! Word-class mathematics: exact sets of values of one 32-bit word of
//! `seccomp_data`, described by conjunctions of masked comparisons.
//!
//! An [`Atom`] is `(w & mask) op k` with `op` one of the kernel's four
//! conditional jumps (`jeq`, `jgt`, `jge`, `jset`); a [`Literal`] is an atom
//! or its negation. Every branch of a program the prover handles, and every
//! policy condition on one word, is a literal.
//!
//! # Why every literal is an interval
//!
//! For a mask `g`, the map `w ↦ pext(w, g)` (the bits of `w` selected by `g`,
//! packed) is an order-preserving bijection from the values `w & g` can take
//! (the submasks of `g`) onto `0 ..= 2^popcount(g) - 1`. Hence:
//!
//! * `(w & m) == k` is `pext(w, m) == pext(k, m)` (never true when `k` has
//!   bits outside `m`);
//! * `(w & m) > k` is `pext(w, m) > pext(f, m)` where `f` is the largest
//!   submask of `m` not above `k`; `(w & m) >= k` is `(w & m) > k - 1`;
//! * `jset` `(w & m & k) != 0` is `pext(w, m & k) > 0`.
//!
//! So every literal restricts one *group* (a mask) to an interval of packed
//! values or to the complement of one, and a conjunction of literals is, per
//! group, a finite union of intervals. A [`WordSet`] stores exactly that:
//! per mask, the sorted disjoint ranges of packed values allowed (the
//! unmasked comparisons, and masks made of the top bits, which are intervals
//! of `w` itself, all go to the mask `0xffff_ffff`).
//!
//! # Emptiness
//!
//! One group is empty exactly when its ranges are; groups over disjoint masks
//! constrain disjoint bits and are independent. When masks overlap, a depth-
//! first search assigns the bits of `w` from the most significant down: after
//! each bit, every group's packed value is known to lie in one aligned block,
//! which the group's ranges cover fully, partly or not at all. A branch dies
//! when some block is uncovered and succeeds as soon as every block is fully
//! covered (the remaining bits are then free). Failing states (the bit
//! reached and the partly covered blocks) are remembered, so no state is
//! searched twice; the search is exact, and bounded by [`SEARCH_BUDGET`]
//! states, past which it reports [`TooComplex`] instead of guessing.
//!
//! Every `WordSet` is non-empty and carries a *witness*, one of its values;
//! a restriction that the witness still satisfies needs no search.

use alloc::collections::BTreeSet;
use alloc::vec;
use alloc::vec::Vec;
use core::fmt;

use bpf_asm::JmpOp;

/// `(w & mask) op k` on one 32-bit word `w`.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub struct Atom {
    /// Mask applied to the word.
    pub mask: u32,
    /// The comparison.
    pub op: JmpOp,
    /// The constant.
    pub k: u32,
}

impl Atom {
    /// `(w & mask) op k`.
    pub const fn new(mask: u32, op: JmpOp, k: u32) -> Atom {
        Atom { mask, op, k }
    }

    /// `w op k` without a mask.
    pub const fn unmasked(op: JmpOp, k: u32) -> Atom {
        Atom::new(u32::MAX, op, k)
    }

    /// Whether the atom holds for the word value `w` (the kernel's unsigned
    /// comparison of `w & mask` with `k`).
    pub const fn holds(self, w: u32) -> bool {
        self.op.holds(w & self.mask, self.k)
    }

    /// The literal asserting that the atom is `holds`.
    pub const fn is(self, holds: bool) -> Literal {
        Literal { atom: self, holds }
    }
}

impl fmt::Display for Atom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.mask != u32::MAX {
            write!(f, "(w & {:#x}) ", self.mask)?;
        } else {
            f.write_str("w ")?;
        }
        match self.op {
            JmpOp::Jeq => write!(f, "== {:#x}", self.k),
            JmpOp::Jgt => write!(f, "> {:#x}", self.k),
            JmpOp::Jge => write!(f, ">= {:#x}", self.k),
            JmpOp::Jset => write!(f, "has a bit of {:#x}", self.k),
        }
    }
}

/// An atom or its negation: the outcome of one branch.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub struct Literal {
    /// The atom.
    pub atom: Atom,
    /// Whether the atom holds (`false`: its negation).
    pub holds: bool,
}

impl Literal {
    /// Whether the literal is true for the word value `w`.
    pub const fn satisfied_by(self, w: u32) -> bool {
        self.atom.holds(w) == self.holds
    }
}

/// The exact word-set computation would have needed more than
/// [`SEARCH_BUDGET`] search states (only possible with many overlapping
/// masked comparisons on one word); nothing is claimed about the set.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct TooComplex;

impl fmt::Display for TooComplex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the masked comparisons on one word overlap in too many ways to decide exactly (more than {SEARCH_BUDGET} search states)"
        )
    }
}

impl core::error::Error for TooComplex {}

/// Most states one emptiness search may visit (see the module docs).
pub const SEARCH_BUDGET: usize = 1 << 18;

/// `pext`: the bits of `x` selected by `m`, packed into the low bits.
const fn pext(x: u32, m: u32) -> u32 {
    if m == u32::MAX {
        return x;
    }
    let (mut r, mut out, mut mm) = (0u32, 1u32, m);
    while mm != 0 {
        let low = mm & mm.wrapping_neg();
        if x & low != 0 {
            r |= out;
        }
        out = out.wrapping_shl(1);
        mm &= mm - 1;
    }
    r
}

/// `pdep`: the low bits of `x` deposited at the bits of `m`.
const fn pdep(x: u32, m: u32) -> u32 {
    if m == u32::MAX {
        return x;
    }
    let (mut r, mut inp, mut mm) = (0u32, 1u32, m);
    while mm != 0 {
        let low = mm & mm.wrapping_neg();
        if x & inp != 0 {
            r |= low;
        }
        inp = inp.wrapping_shl(1);
        mm &= mm - 1;
    }
    r
}

/// The largest packed value of group `g`.
const fn domain_max(g: u32) -> u32 {
    match g.count_ones() {
        32 => u32::MAX,
        n => (1u32 << n) - 1,
    }
}

/// The largest submask of `m` that is at most `k`.
const fn floor_submask(m: u32, k: u32) -> u32 {
    if k & !m == 0 {
        return k; // k itself is a submask
    }
    // The largest x ⊆ m with x < k first differs from k at some bit i where k
    // has a 1 and x a 0, agrees with k above i (so k's bits above i must lie
    // in m), and takes every bit of m below i.
    let mut best = 0u32;
    let mut i = 0;
    while i < 32 {
        let bit = 1u32 << i;
        let above = if i == 31 { 0 } else { k & !((bit << 1) - 1) };
        if k & bit != 0 && above & !m == 0 {
            let cand = above | (m & (bit - 1));
            if cand > best {
                best = cand;
            }
        }
        i += 1;
    }
    best
}

/// What a literal's truth set is.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Shape {
    /// True for every word, or for none.
    Const(bool),
    /// True exactly when `pext(w, group)` lies in `lo ..= hi`.
    Range { group: u32, lo: u32, hi: u32 },
}

/// Whether `g` is made of the top bits only (`!0 << t`).
const fn is_top_prefix(g: u32) -> bool {
    g != 0 && (!g).wrapping_add(1) & !g == 0
}

/// The truth set of an atom (see the module docs).
fn shape(a: Atom) -> Shape {
    let raw = match a.op {
        JmpOp::Jeq => {
            if a.k & !a.mask != 0 {
                return Shape::Const(false);
            }
            let p = pext(a.k, a.mask);
            (a.mask, p, p)
        }
        JmpOp::Jgt => {
            let p = pext(floor_submask(a.mask, a.k), a.mask);
            if p == domain_max(a.mask) {
                return Shape::Const(false);
            }
            (a.mask, p + 1, domain_max(a.mask))
        }
        JmpOp::Jge => {
            if a.k == 0 {
                return Shape::Const(true);
            }
            return shape(Atom::new(a.mask, JmpOp::Jgt, a.k - 1));
        }
        JmpOp::Jset => {
            let g = a.mask & a.k;
            if g == 0 {
                return Shape::Const(false);
            }
            (g, 1, domain_max(g))
        }
    };
    let (group, lo, hi) = raw;
    if group == 0 {
        // The packed domain is {0}.
        return Shape::Const(lo == 0);
    }
    if lo == 0 && hi == domain_max(group) {
        return Shape::Const(true);
    }
    if group != u32::MAX && is_top_prefix(group) {
        // pext(w, !0 << t) is w >> t: an interval of w itself.
        let t = group.trailing_zeros();
        let low = (1u32 << t) - 1;
        return Shape::Range {
            group: u32::MAX,
            lo: lo << t,
            hi: (hi << t) | low,
        };
    }
    Shape::Range { group, lo, hi }
}

type Ranges = Vec<(u32, u32)>;

/// Index of the range containing `v`, if any.
fn range_of(r: &[(u32, u32)], v: u32) -> Option<usize> {
    let i = r.partition_point(|&(a, _)| a <= v);
    (i > 0 && r[i - 1].1 >= v).then(|| i - 1)
}

/// The smallest value of `r` inside `lo ..= hi`.
fn first_in(r: &[(u32, u32)], lo: u32, hi: u32) -> Option<u32> {
    let i = r.partition_point(|&(_, b)| b < lo);
    let &(a, _) = r.get(i)?;
    let v = a.max(lo);
    (v <= hi).then_some(v)
}

/// The values of `r` inside `lo ..= hi`.
fn intersect_range(r: &[(u32, u32)], lo: u32, hi: u32) -> Ranges {
    let start = r.partition_point(|&(_, b)| b < lo);
    r[start..]
        .iter()
        .take_while(|&&(a, _)| a <= hi)
        .map(|&(a, b)| (a.max(lo), b.min(hi)))
        .collect()
}

/// The values of `r` outside `lo ..= hi`.
fn subtract_range(r: &[(u32, u32)], lo: u32, hi: u32) -> Ranges {
    let mut out = Vec::with_capacity(r.len() + 1);
    for &(a, b) in r {
        if b < lo || a > hi {
            out.push((a, b));
            continue;
        }
        if a < lo {
            out.push((a, lo - 1));
        }
        if b > hi {
            out.push((hi + 1, b));
        }
    }
    out
}

/// The values in both `x` and `y`.
fn intersect_ranges(x: &[(u32, u32)], y: &[(u32, u32)]) -> Ranges {
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::new();
    while i < x.len() && j < y.len() {
        let lo = x[i].0.max(y[j].0);
        let hi = x[i].1.min(y[j].1);
        if lo <= hi {
            out.push((lo, hi));
        }
        if x[i].1 < y[j].1 {
            i += 1;
        } else {
            j += 1;
        }
    }
    out
}

/// How much of a block of packed values a group's ranges cover.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Cover {
    None,
    Part,
    All,
}

fn cover(r: &[(u32, u32)], lo: u32, hi: u32) -> Cover {
    match range_of(r, lo) {
        Some(i) if r[i].1 >= hi => Cover::All,
        Some(_) => Cover::Part,
        None if first_in(r, lo, hi).is_some() => Cover::Part,
        None => Cover::None,
    }
}

/// The values of one group of a [`WordSet`]: packed values of `w & mask`.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
struct Group {
    mask: u32,
    /// Sorted, disjoint, non-adjacent; never empty, never the whole domain.
    ranges: Ranges,
}

/// A non-empty set of values of one 32-bit word, described exactly by a
/// conjunction of [`Literal`]s (see the module docs for the representation).
///
/// Equal sets built from different literals can have different
/// representations (and compare unequal); membership ([`WordSet::contains`])
/// is always exact.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct WordSet {
    /// Sorted by mask, descending (the unmasked group first); no group is
    /// the whole domain.
    groups: Vec<Group>,
    /// A member of the set.
    witness: u32,
}

impl Default for WordSet {
    fn default() -> Self {
        WordSet::FULL
    }
}

impl WordSet {
    /// Every value.
    pub const FULL: WordSet = WordSet {
        groups: Vec::new(),
        witness: 0,
    };

    /// The single value `v`.
    pub fn point(v: u32) -> WordSet {
        WordSet {
            groups: vec![Group {
                mask: u32::MAX,
                ranges: vec![(v, v)],
            }],
            witness: v,
        }
    }

    /// The values `lo ..= hi` (`None` when `lo > hi`).
    pub fn interval(lo: u32, hi: u32) -> Option<WordSet> {
        if lo > hi {
            return None;
        }
        if lo == 0 && hi == u32::MAX {
            return Some(WordSet::FULL);
        }
        Some(WordSet {
            groups: vec![Group {
                mask: u32::MAX,
                ranges: vec![(lo, hi)],
            }],
            witness: lo,
        })
    }

    /// Whether the set holds every value.
    pub fn is_full(&self) -> bool {
        self.groups.is_empty()
    }

    /// A member of the set: the smallest member of the set built by a
    /// single search, and in every case a value [`WordSet::contains`] accepts.
    pub fn witness(&self) -> u32 {
        self.witness
    }

    /// Whether `w` is in the set.
    pub fn contains(&self, w: u32) -> bool {
        self.groups
            .iter()
            .all(|g| range_of(&g.ranges, pext(w, g.mask)).is_some())
    }

    /// `Some(v)` when the set's unmasked constraint allows the one value
    /// `v` (then the set is exactly `{v}`); `None` otherwise (the set may
    /// still be a single value pinned by masked constraints together).
    pub fn unmasked_point(&self) -> Option<u32> {
        match self.groups.first() {
            Some(g)
                if g.mask == u32::MAX && g.ranges.len() == 1 && g.ranges[0].0 == g.ranges[0].1 =>
            {
                Some(g.ranges[0].0)
            }
            _ => None,
        }
    }

    /// The smallest and largest value the unmasked constraint allows (all
    /// members lie between them; `(0, u32::MAX)` without one).
    pub fn bounds(&self) -> (u32, u32) {
        match self.groups.first() {
            Some(g) if g.mask == u32::MAX => (g.ranges[0].0, g.ranges[g.ranges.len() - 1].1),
            _ => (0, u32::MAX),
        }
    }

    /// The constraints of the set: `w` is a member exactly when, for every
    /// constraint, `w & mask` lies in one of its ranges.
    pub fn constraints(&self) -> impl Iterator<Item = Constraint<'_>> + '_ {
        self.groups.iter().map(|g| Constraint {
            mask: g.mask,
            ranges: &g.ranges,
        })
    }

    /// The members of the set that satisfy `lit`, or `None` when there is
    /// none.
    pub fn restrict(&self, lit: Literal) -> Result<Option<WordSet>, TooComplex> {
        let (group, lo, hi) = match shape(lit.atom) {
            Shape::Const(t) => return Ok((t == lit.holds).then(|| self.clone())),
            Shape::Range { group, lo, hi } => (group, lo, hi),
        };
        let mut groups = self.groups.clone();
        let pos = groups.iter().position(|g| g.mask <= group);
        let existing = match pos {
            Some(i) if groups[i].mask == group => Some(i),
            _ => None,
        };
        let full = [(0, domain_max(group))];
        let current: &[(u32, u32)] = match existing {
            Some(i) => &groups[i].ranges,
            None => &full,
        };
        let ranges = if lit.holds {
            intersect_range(current, lo, hi)
        } else {
            subtract_range(current, lo, hi)
        };
        if ranges.is_empty() {
            return Ok(None);
        }
        let is_full = ranges.len() == 1 && ranges[0] == (0, domain_max(group));
        match (existing, is_full) {
            (Some(i), true) => {
                groups.remove(i);
            }
            (Some(i), false) => groups[i].ranges = ranges,
            (None, true) => {}
            (None, false) => groups.insert(
                pos.unwrap_or(groups.len()),
                Group {
                    mask: group,
                    ranges,
                },
            ),
        }
        let set = WordSet {
            groups,
            witness: self.witness,
        };
        if lit.satisfied_by(self.witness) {
            return Ok(Some(set));
        }
        set.with_new_witness()
    }

    /// The members of both sets, or `None` when they have none in common.
    pub fn intersect(&self, other: &WordSet) -> Result<Option<WordSet>, TooComplex> {
        let mut groups = self.groups.clone();
        for g in &other.groups {
            match groups.iter().position(|h| h.mask <= g.mask) {
                Some(i) if groups[i].mask == g.mask => {
                    let r = intersect_ranges(&groups[i].ranges, &g.ranges);
                    if r.is_empty() {
                        return Ok(None);
                    }
                    groups[i].ranges = r;
                }
                Some(i) => groups.insert(i, g.clone()),
                None => groups.push(g.clone()),
            }
        }
        let set = WordSet {
            groups,
            witness: self.witness,
        };
        if other.contains(self.witness) {
            return Ok(Some(set));
        }
        if self.contains(other.witness) {
            return Ok(Some(WordSet {
                witness: other.witness,
                ..set
            }));
        }
        set.with_new_witness()
    }

    /// Whether `atom` has the same truth value on every member: `Some(t)`
    /// when it is `t` on all of them, `None` when it holds on some and not
    /// on others.
    pub fn decide(&self, atom: Atom) -> Result<Option<bool>, TooComplex> {
        let (group, lo, hi) = match shape(atom) {
            Shape::Const(t) => return Ok(Some(t)),
            Shape::Range { group, lo, hi } => (group, lo, hi),
        };
        if self
            .groups
            .iter()
            .all(|g| g.mask == group || g.mask & group == 0)
        {
            // No other group shares a bit with the atom's: the members'
            // packed values in its group are exactly the group's ranges.
            return Ok(match self.groups.iter().find(|g| g.mask == group) {
                // The whole domain, and the atom's range is neither empty
                // nor everything.
                None => None,
                Some(g) => {
                    let r = &g.ranges;
                    if r[0].0 >= lo && r[r.len() - 1].1 <= hi {
                        Some(true)
                    } else if first_in(r, lo, hi).is_none() {
                        Some(false)
                    } else {
                        None
                    }
                }
            });
        }
        let t = atom.holds(self.witness);
        Ok(self.restrict(atom.is(!t))?.is_none().then_some(t))
    }

    /// The members where `atom` holds and those where it does not (`None`
    /// for an empty side).
    pub fn split(&self, atom: Atom) -> Result<(Option<WordSet>, Option<WordSet>), TooComplex> {
        Ok((
            self.restrict(atom.is(true))?,
            self.restrict(atom.is(false))?,
        ))
    }

    /// The members other than the sorted values `points`, or `None`.
    pub(crate) fn without_points(&self, points: &[u32]) -> Result<Option<WordSet>, TooComplex> {
        if points.is_empty() {
            return Ok(Some(self.clone()));
        }
        let mut groups = self.groups.clone();
        let has = matches!(groups.first(), Some(g) if g.mask == u32::MAX);
        if !has {
            groups.insert(
                0,
                Group {
                    mask: u32::MAX,
                    ranges: vec![(0, u32::MAX)],
                },
            );
        }
        let mut out: Ranges = Vec::with_capacity(groups[0].ranges.len() + points.len());
        let mut p = 0;
        for &(a, b) in &groups[0].ranges {
            let mut a = a;
            let mut open = true;
            while p < points.len() && points[p] < a {
                p += 1;
            }
            while open && p < points.len() && points[p] <= b {
                let v = points[p];
                if v > a {
                    out.push((a, v - 1));
                }
                if v == b {
                    open = false;
                } else {
                    a = v + 1;
                }
                p += 1;
            }
            if open {
                out.push((a, b));
            }
        }
        if out.is_empty() {
            return Ok(None);
        }
        if out.len() == 1 && out[0] == (0, u32::MAX) {
            groups.remove(0);
        } else {
            groups[0].ranges = out;
        }
        let set = WordSet {
            groups,
            witness: self.witness,
        };
        if points.binary_search(&self.witness).is_err() {
            return Ok(Some(set));
        }
        set.with_new_witness()
    }

    /// `self` with a witness found by search, or `None` when empty.
    fn with_new_witness(mut self) -> Result<Option<WordSet>, TooComplex> {
        match find(&self.groups)? {
            Some(w) => {
                self.witness = w;
                Ok(Some(self))
            }
            None => Ok(None),
        }
    }
}

/// The smallest member of the conjunction of `groups`, if any (see the
/// module docs for the search).
fn find(groups: &[Group]) -> Result<Option<u32>, TooComplex> {
    let union = groups.iter().fold(0u32, |u, g| u | g.mask);
    let overlap = groups.iter().map(|g| g.mask.count_ones()).sum::<u32>() != union.count_ones();
    if !overlap {
        return Ok(Some(
            groups
                .iter()
                .fold(0, |w, g| w | pdep(g.ranges[0].0, g.mask)),
        ));
    }
    let order: Vec<u32> = (0..32).rev().filter(|b| union >> b & 1 != 0).collect();
    let mut s = Search {
        groups,
        order: &order,
        hi: vec![0; groups.len()],
        left: groups.iter().map(|g| g.mask.count_ones()).collect(),
        failed: BTreeSet::new(),
        budget: SEARCH_BUDGET,
    };
    s.run(0, 0)
}

struct Search<'a> {
    groups: &'a [Group],
    order: &'a [u32],
    /// Per group: the packed bits assigned so far.
    hi: Vec<u32>,
    /// Per group: how many of its bits are not assigned yet.
    left: Vec<u32>,
    /// States known to have no completion: (bits assigned, per group the
    /// partly covered block or `u64::MAX` for a fully covered one).
    failed: BTreeSet<(usize, Vec<u64>)>,
    budget: usize,
}

impl Search<'_> {
    fn run(&mut self, level: usize, prefix: u32) -> Result<Option<u32>, TooComplex> {
        let mut key = Vec::with_capacity(self.groups.len());
        let mut all = true;
        for (i, g) in self.groups.iter().enumerate() {
            let left = self.left[i];
            let lo = u64::from(self.hi[i]) << left;
            let hi = lo | ((1u64 << left) - 1);
            match cover(&g.ranges, lo as u32, hi as u32) {
                Cover::None => return Ok(None),
                Cover::All => key.push(u64::MAX),
                Cover::Part => {
                    all = false;
                    key.push(u64::from(self.hi[i]));
                }
            }
        }
        if all {
            return Ok(Some(prefix));
        }
        let Some(&bit) = self.order.get(level) else {
            return Ok(None); // unreachable: a fully assigned block is covered or not
        };
        let key = (level, key);
        if self.failed.contains(&key) {
            return Ok(None);
        }
        self.budget = self.budget.checked_sub(1).ok_or(TooComplex)?;
        for b in [0u32, 1] {
            for (i, g) in self.groups.iter().enumerate() {
                if g.mask >> bit & 1 != 0 {
                    self.hi[i] = self.hi[i] << 1 | b;
                    self.left[i] -= 1;
                }
            }
            let r = self.run(level + 1, prefix | b << bit);
            for (i, g) in self.groups.iter().enumerate() {
                if g.mask >> bit & 1 != 0 {
                    self.hi[i] >>= 1;
                    self.left[i] += 1;
                }
            }
            if let Some(w) = r? {
                return Ok(Some(w));
            }
        }
        self.failed.insert(key);
        Ok(None)
    }
}

/// One constraint of a [`WordSet`]: `w & mask` must lie in one of the
/// ranges.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Constraint<'a> {
    mask: u32,
    /// Packed values (see the module docs).
    ranges: &'a [(u32, u32)],
}

impl Constraint<'_> {
    /// The mask (`0xffff_ffff` for the unmasked constraint).
    pub fn mask(&self) -> u32 {
        self.mask
    }

    /// The allowed values of `w & mask`, as inclusive ranges `(a, b)` in
    /// ascending order: `w & mask` is allowed when `a <= w & mask <= b` for
    /// one of them. `a` and `b` are values `w & mask` can take (submasks of
    /// `mask`).
    pub fn ranges(&self) -> impl ExactSizeIterator<Item = (u32, u32)> + '_ {
        self.ranges
            .iter()
            .map(|&(a, b)| (pdep(a, self.mask), pdep(b, self.mask)))
    }

    /// Whether the word value `w` satisfies this constraint.
    pub fn allows(&self, w: u32) -> bool {
        range_of(self.ranges, pext(w, self.mask)).is_some()
    }
}

impl fmt::Display for WordSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.groups.is_empty() {
            return f.write_str("any");
        }
        for (i, c) in self.constraints().enumerate() {
            if i > 0 {
                f.write_str(" and ")?;
            }
            fmt::Display::fmt(&c, f)?;
        }
        Ok(())
    }
}

impl fmt::Display for Constraint<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        /// Ranges shown before eliding the rest.
        const SHOWN: usize = 6;
        if self.mask == u32::MAX {
            f.write_str("w")?;
        } else {
            write!(f, "w & {:#x}", self.mask)?;
        }
        let ranges: Vec<(u32, u32)> = self.ranges().collect();
        if let [(a, b)] = ranges[..] {
            if a == b {
                return write!(f, " == {a:#x}");
            }
        }
        f.write_str(" in ")?;
        for (i, &(a, b)) in ranges.iter().take(SHOWN).enumerate() {
            if i > 0 {
                f.write_str(" | ")?;
            }
            if a == b {
                write!(f, "{a:#x}")?;
            } else {
                write!(f, "{a:#x}..={b:#x}")?;
            }
        }
        if ranges.len() > SHOWN {
            write!(f, " | ... ({} ranges)", ranges.len())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    use testkit::Rng;

    /// Masks and constants drawn from a small universe so that
    /// exhaustive checks over 8-bit words are meaningful.
    fn small_atom(rng: &mut Rng) -> Atom {
        let op = JmpOp::ALL[rng.below(4) as usize];
        let mask = match rng.below(4) {
            0 => 0xff,
            _ => rng.below(256) as u32,
        };
        Atom::new(mask, op, rng.below(256) as u32)
    }

    #[test]
    fn bit_helpers() {
        assert_eq!(pext(0b1011_0110, 0b1111_0000), 0b1011);
        assert_eq!(pdep(0b1011, 0b1111_0000), 0b1011_0000);
        assert_eq!(pext(0xdead_beef, u32::MAX), 0xdead_beef);
        for m in [0u32, 1, 0x8000_0001, 0xff00_ff00, u32::MAX, 0x7e02_0000] {
            for x in [0u32, 1, 0x1234_5678, u32::MAX] {
                assert_eq!(pdep(pext(x, m), m), x & m);
            }
        }
        assert!(
            is_top_prefix(0xff00_0000) && is_top_prefix(u32::MAX) && is_top_prefix(0x8000_0000)
        );
        assert!(!is_top_prefix(0x7f00_0000) && !is_top_prefix(0));
    }

    #[test]
    fn floor_submask_is_the_largest_submask_not_above() {
        let mut rng = Rng::new(7);
        for _ in 0..2000 {
            let m = rng.below(64) as u32;
            let k = rng.below(70) as u32;
            let want = (0..=m)
                .filter(|x| x & !m == 0 && *x <= k)
                .max()
                .unwrap_or(0);
            assert_eq!(floor_submask(m, k), want, "m {m:#b} k {k}");
        }
    }

    /// Every atom's shape is its exact truth set (exhaustively on words
    /// whose high bits follow the low byte's pattern).
    #[test]
    fn shapes_are_exact() {
        let mut rng = Rng::new(1);
        for _ in 0..3000 {
            let mut a = small_atom(&mut rng);
            if rng.below(3) == 0 {
                // Spread to the full word.
                a.mask |= (rng.next_u64() as u32) & 0xffff_ff00;
                a.k |= (rng.next_u64() as u32)
                    & 0xffff_ff00
                    & if rng.below(2) == 0 { a.mask } else { u32::MAX };
            }
            let s = shape(a);
            for _ in 0..200 {
                let w = rng.next_u64() as u32;
                let w = if rng.below(2) == 0 {
                    w
                } else {
                    (w & !0xff) | (a.k & 0xff)
                };
                let by_shape = match s {
                    Shape::Const(t) => t,
                    Shape::Range { group, lo, hi } => (lo..=hi).contains(&pext(w, group)),
                };
                assert_eq!(by_shape, a.holds(w), "{a:?} {s:?} w {w:#x}");
            }
        }
    }

    /// Random conjunctions over 8-bit words: restriction, emptiness,
    /// membership and witnesses agree with brute force.
    #[test]
    fn conjunctions_agree_with_brute_force() {
        let mut rng = Rng::new(2);
        for case in 0..600 {
            let mut set = Some(WordSet::FULL);
            let mut lits: Vec<Literal> = Vec::new();
            // The word's high 24 bits are pinned to zero so 256 values
            // enumerate the set.
            let pin = Atom::new(0xffff_ff00, JmpOp::Jeq, 0).is(true);
            set = set.and_then(|s| s.restrict(pin).unwrap());
            lits.push(pin);
            for _ in 0..1 + rng.below(7) {
                let l = small_atom(&mut rng).is(rng.below(2) == 0);
                lits.push(l);
                set = match set {
                    Some(s) => s.restrict(l).unwrap(),
                    None => None,
                };
                let members: Vec<u32> = (0..256)
                    .filter(|&w| lits.iter().all(|l| l.satisfied_by(w)))
                    .collect();
                match &set {
                    None => assert!(members.is_empty(), "case {case}: {lits:?} has {members:?}"),
                    Some(s) => {
                        assert!(
                            !members.is_empty(),
                            "case {case}: {lits:?} empty but set {s}"
                        );
                        assert!(s.contains(s.witness()));
                        assert!(lits.iter().all(|l| l.satisfied_by(s.witness())));
                        for w in 0..256u32 {
                            assert_eq!(s.contains(w), members.contains(&w), "case {case} w {w}");
                        }
                        // Constraints describe the same set.
                        for w in 0..256u32 {
                            assert_eq!(s.constraints().all(|c| c.allows(w)), s.contains(w));
                        }
                        // decide / split are exact.
                        let a = small_atom(&mut rng);
                        let t: Vec<bool> = members.iter().map(|&w| a.holds(w)).collect();
                        let want = if t.iter().all(|&x| x) {
                            Some(true)
                        } else if t.iter().all(|&x| !x) {
                            Some(false)
                        } else {
                            None
                        };
                        assert_eq!(s.decide(a).unwrap(), want, "case {case} {a:?}");
                        let (yes, no) = s.split(a).unwrap();
                        assert_eq!(yes.is_some(), t.iter().any(|&x| x));
                        assert_eq!(no.is_some(), t.iter().any(|&x| !x));
                    }
                }
                if set.is_none() {
                    break;
                }
            }
        }
    }

    /// Intersections and point removal agree with brute force.
    #[test]
    fn intersect_and_without_points() {
        let mut rng = Rng::new(3);
        let pin = Atom::new(0xffff_ff00, JmpOp::Jeq, 0).is(true);
        let build = |rng: &mut Rng| {
            let mut s = WordSet::FULL.restrict(pin).unwrap().unwrap();
            for _ in 0..rng.below(4) {
                let l = small_atom(rng).is(rng.below(2) == 0);
                if let Some(n) = s.restrict(l).unwrap() {
                    s = n;
                }
            }
            s
        };
        for _ in 0..500 {
            let (x, y) = (build(&mut rng), build(&mut rng));
            let both: Vec<u32> = (0..256)
                .filter(|&w| x.contains(w) && y.contains(w))
                .collect();
            match x.intersect(&y).unwrap() {
                None => assert!(both.is_empty()),
                Some(s) => {
                    assert!(both.contains(&s.witness()));
                    for w in 0..256 {
                        assert_eq!(s.contains(w), both.contains(&w));
                    }
                }
            }
            let mut pts: Vec<u32> = (0..rng.below(20)).map(|_| rng.below(256) as u32).collect();
            pts.sort_unstable();
            pts.dedup();
            let rest: Vec<u32> = (0..256)
                .filter(|&w| x.contains(w) && !pts.contains(&w))
                .collect();
            match x.without_points(&pts).unwrap() {
                None => assert!(rest.is_empty()),
                Some(s) => {
                    assert!(rest.contains(&s.witness()));
                    for w in 0..256 {
                        assert_eq!(s.contains(w), rest.contains(&w), "{x} minus {pts:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn full_word_sets() {
        let s = WordSet::FULL;
        assert!(s.is_full());
        assert_eq!(s.to_string(), "any");
        let p = s
            .restrict(Atom::unmasked(JmpOp::Jeq, 7).is(true))
            .unwrap()
            .unwrap();
        assert_eq!(p.unmasked_point(), Some(7));
        assert_eq!(p.to_string(), "w == 0x7");
        assert_eq!(
            p.restrict(Atom::unmasked(JmpOp::Jeq, 8).is(true)).unwrap(),
            None
        );
        let ne = s
            .restrict(Atom::unmasked(JmpOp::Jeq, 0).is(false))
            .unwrap()
            .unwrap();
        assert_eq!(ne.witness(), 1);
        assert_eq!(ne.bounds(), (1, u32::MAX));
        // Top-bit masks are intervals of the unmasked group.
        let top = s
            .restrict(Atom::new(0xff00_0000, JmpOp::Jeq, 0x1200_0000).is(true))
            .unwrap()
            .unwrap();
        assert_eq!(top.bounds(), (0x1200_0000, 0x12ff_ffff));
        let sign = s
            .restrict(Atom::unmasked(JmpOp::Jset, 0x8000_0000).is(true))
            .unwrap()
            .unwrap();
        assert_eq!(sign.bounds(), (0x8000_0000, u32::MAX));
        // Whole-domain literals leave the set full.
        let any = s
            .restrict(Atom::unmasked(JmpOp::Jge, 0).is(true))
            .unwrap()
            .unwrap();
        assert!(any.is_full());
        assert_eq!(
            s.restrict(Atom::unmasked(JmpOp::Jgt, u32::MAX).is(true))
                .unwrap(),
            None
        );
        let masked = s
            .restrict(Atom::new(0xff, JmpOp::Jeq, 3).is(true))
            .unwrap()
            .unwrap();
        assert_eq!(masked.to_string(), "w & 0xff == 0x3");
    }

    /// Overlapping masks on full 32-bit words: the search finds members
    /// and proves emptiness.
    #[test]
    fn overlapping_masks_on_full_words() {
        let mut rng = Rng::new(4);
        for _ in 0..300 {
            let mut s = WordSet::FULL;
            let mut lits = Vec::new();
            for _ in 0..6 {
                let mask = match rng.below(3) {
                    0 => u32::MAX,
                    1 => rng.next_u64() as u32,
                    _ => 0x00ff_ff00,
                };
                let op = JmpOp::ALL[rng.below(4) as usize];
                let l = Atom::new(mask, op, rng.next_u64() as u32 >> rng.below(32))
                    .is(rng.below(2) == 0);
                match s.restrict(l).unwrap() {
                    Some(n) => {
                        lits.push(l);
                        assert!(lits.iter().all(|l| l.satisfied_by(n.witness())), "{lits:?}");
                        assert!(n.contains(n.witness()));
                        s = n;
                    }
                    None => {
                        // Empty: random probing never finds a member.
                        lits.push(l);
                        for _ in 0..2000 {
                            let w = rng.next_u64() as u32;
                            assert!(!lits.iter().all(|l| l.satisfied_by(w)));
                        }
                        lits.pop();
                    }
                }
            }
        }
    }
}
