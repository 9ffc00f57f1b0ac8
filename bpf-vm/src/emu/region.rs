//! Jump regions: maximal groups of `jeq/jgt/jge #k` and `ja` instructions
//! that only look at A (which none of them changes). Where the program
//! enters such a region, the instruction it leaves to and the number of
//! instructions executed inside depend only on A, as a step function over
//! intervals of A. [`Region`] stores that function, so a syscall-number
//! dispatch (a linear `jeq` ladder or a binary tree) runs as one binary
//! search instead of one dispatch per compare.

use alloc::boxed::Box;
use alloc::vec;
use alloc::vec::Vec;

/// A comparison node of a region, with absolute targets.
#[derive(Clone, Copy, Debug)]
pub(super) enum Node {
    /// `jeq #k`.
    Eq(u32, u16, u16),
    /// `jgt #k`.
    Gt(u32, u16, u16),
    /// `jge #k`.
    Ge(u32, u16, u16),
    /// `ja`.
    Ja(u16),
}

/// The step function of one region entry.
#[derive(Clone, Debug)]
pub(super) struct Region {
    /// Start of each interval of A, ascending, the first being 0.
    starts: Box<[u32]>,
    /// For each interval: the instruction the region exits to and the
    /// number of instructions executed inside the region.
    exits: Box<[(u16, u16)]>,
    /// The exit and step count for each small A (`A < dense.len()`),
    /// packed as `pc | steps << 16`: one load instead of a search for the
    /// values a syscall-number dispatch sees.
    dense: Box<[u32]>,
}

/// Values of A below this may get a direct lookup table.
const DENSE_MAX: u32 = 8192;
/// The least length of a lookup table.
const DENSE_MIN: usize = 1024;

/// Regions whose step function would have more intervals are not built.
const MAX_INTERVALS: usize = 8192;
/// Work items per region before giving up.
const MAX_WORK: usize = 1 << 20;

impl Region {
    /// Where the region exits for this A, and the steps taken inside.
    #[inline(always)]
    pub(super) fn exit(&self, a: u32) -> (usize, usize) {
        if let Some(&e) = self.dense.get(a as usize) {
            return ((e & 0xffff) as usize, (e >> 16) as usize);
        }
        let i = self.starts.partition_point(|&s| s <= a).saturating_sub(1);
        match self.exits.get(i) {
            Some(&(pc, steps)) => (pc as usize, steps as usize),
            None => (usize::MAX, 0),
        }
    }

    /// Whether looking the exit up is clearly cheaper than dispatching the
    /// region's instructions one by one. With a lookup table (see
    /// [`Region::add_table`]) that holds once some path inside has three
    /// instructions; otherwise the longest path inside must be well above
    /// the depth of the binary search, true for long `jeq` ladders and
    /// false for balanced trees (whose depth already is logarithmic).
    pub(super) fn pays_off(&self) -> bool {
        let longest = self
            .exits
            .iter()
            .map(|&(_, s)| s as usize)
            .max()
            .unwrap_or(0);
        if !self.dense.is_empty() {
            return longest >= 3;
        }
        let depth = (usize::BITS - self.starts.len().leading_zeros()) as usize;
        longest >= 2 * depth + 4
    }

    /// Whether [`Region::add_table`] gave the region a lookup table.
    #[cfg(test)]
    pub(super) fn has_table(&self) -> bool {
        !self.dense.is_empty()
    }

    /// Adds a lookup table for the small values of A where the step
    /// function changes below [`DENSE_MAX`], taking its length from
    /// `budget` (no table when the budget is too small or nothing changes
    /// there).
    pub(super) fn add_table(&mut self, budget: &mut usize) {
        let Some(&last) = self.starts.iter().rev().find(|&&s| s < DENSE_MAX) else {
            return;
        };
        if last == 0 {
            return;
        }
        // Cover at least the values syscall numbers take on every
        // architecture but MIPS (the interval after `last` runs to
        // DENSE_MAX or beyond).
        let len = (last as usize + 1).max(DENSE_MIN);
        if len > *budget {
            return;
        }
        *budget -= len;
        let mut table = Vec::with_capacity(len);
        for (i, &(pc, steps)) in self.exits.iter().enumerate() {
            let end = self
                .starts
                .get(i + 1)
                .map_or(len, |&s| (s as usize).min(len));
            while table.len() < end {
                table.push(pc as u32 | (steps as u32) << 16);
            }
        }
        self.dense = table.into_boxed_slice();
    }

    /// Builds the step function of the region entered at `entry`; `node`
    /// gives the region node at an index, `None` outside the region. `None`
    /// when the function is too large.
    pub(super) fn build(entry: usize, node: impl Fn(usize) -> Option<Node>) -> Option<Region> {
        let mut out: Vec<(u32, u32, u16, u16)> = Vec::new();
        let mut work = vec![(entry, 0u32, u32::MAX, 0u16)];
        let mut budget = MAX_WORK;
        while let Some((pc, lo, hi, steps)) = work.pop() {
            budget = budget.checked_sub(1)?;
            let Some(n) = node(pc) else {
                out.push((lo, hi, u16::try_from(pc).ok()?, steps));
                if out.len() > MAX_INTERVALS {
                    return None;
                }
                continue;
            };
            let steps = steps.checked_add(1)?;
            let mut push = |pc: u16, lo: u32, hi: u32| {
                if lo <= hi {
                    work.push((pc as usize, lo, hi, steps));
                }
            };
            match n {
                Node::Ja(t) => push(t, lo, hi),
                Node::Eq(k, t, f) => {
                    if k < lo || k > hi {
                        push(f, lo, hi);
                    } else {
                        if k > lo {
                            push(f, lo, k - 1);
                        }
                        push(t, k, k);
                        if k < hi {
                            push(f, k + 1, hi);
                        }
                    }
                }
                Node::Gt(k, t, f) => split_at(k.checked_add(1), lo, hi, f, t, &mut push),
                Node::Ge(k, t, f) => split_at(Some(k), lo, hi, f, t, &mut push),
            }
        }
        out.sort_unstable_by_key(|&(lo, ..)| lo);
        // Merge neighbours with the same exit and count.
        let mut starts: Vec<u32> = Vec::with_capacity(out.len());
        let mut exits: Vec<(u16, u16)> = Vec::with_capacity(out.len());
        for (lo, _, pc, steps) in out {
            if exits.last() != Some(&(pc, steps)) {
                starts.push(lo);
                exits.push((pc, steps));
            }
        }
        (starts.first() == Some(&0)).then(|| Region {
            starts: starts.into_boxed_slice(),
            exits: exits.into_boxed_slice(),
            dense: Box::new([]),
        })
    }
}

/// Splits `[lo, hi]` at `at`: values below go to `below`, values at or
/// above to `above` (`at == None` means no value is at or above).
fn split_at(
    at: Option<u32>,
    lo: u32,
    hi: u32,
    below: u16,
    above: u16,
    push: &mut impl FnMut(u16, u32, u32),
) {
    match at {
        None => push(below, lo, hi),
        Some(at) if at <= lo => push(above, lo, hi),
        Some(at) if at > hi => push(below, lo, hi),
        Some(at) => {
            push(below, lo, at - 1);
            push(above, at, hi);
        }
    }
}
