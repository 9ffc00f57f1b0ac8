//! Syscall-number dispatch: the part of the program that picks a syscall's
//! behaviour from its number, in each layout.
//!
//! * [`linear`]: one `jeq` per syscall in policy order (libseccomp's default).
//! * [`bintree`]: a balanced search over the named syscall numbers, `jeq` at
//!   the leaves (libseccomp's `SCMP_FLTATR_CTL_OPTIMIZE = 2`).
//! * [`ranges`]: a weighted optimal search over the maximal runs of numbers
//!   with identical behaviour across the whole 32-bit space, so numbers above
//!   the table are one run of their own. Runs of one dominant behaviour
//!   broken by a few single numbers are tested with a short `jeq` chain when
//!   that is cheaper than splitting.

use alloc::vec;
use alloc::vec::Vec;

use super::ir::{Dag, NodeId, FULL};
use crate::insn::{BPF_JEQ, BPF_JGE};
use crate::seccomp::SECCOMP_DATA_NR;

/// A syscall number with a non-default behaviour.
pub(crate) type Entry = (u32, NodeId);

fn jeq(dag: &mut Dag, nr: u32, t: NodeId, f: NodeId) -> NodeId {
    dag.test(SECCOMP_DATA_NR, FULL, BPF_JEQ, nr, t, f)
}

fn jge(dag: &mut Dag, nr: u32, t: NodeId, f: NodeId) -> NodeId {
    dag.test(SECCOMP_DATA_NR, FULL, BPF_JGE, nr, t, f)
}

/// A `jeq` chain over `entries` in the given order, then `default`.
pub(crate) fn linear(dag: &mut Dag, entries: &[Entry], default: NodeId) -> NodeId {
    entries
        .iter()
        .rev()
        .fold(default, |next, &(nr, b)| jeq(dag, nr, b, next))
}

/// A balanced binary search over `entries` (sorted by number), with `jeq`
/// chains of at most four numbers at the leaves.
pub(crate) fn bintree(dag: &mut Dag, entries: &[Entry], default: NodeId) -> NodeId {
    if entries.len() <= 4 {
        return linear(dag, entries, default);
    }
    let mid = entries.len() / 2;
    let right = bintree(dag, &entries[mid..], default);
    let left = bintree(dag, &entries[..mid], default);
    jge(dag, entries[mid].0, right, left)
}

/// A maximal run of numbers `start..=end` with one behaviour.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Run {
    /// First number.
    pub start: u32,
    /// Last number.
    pub end: u32,
    /// The behaviour.
    pub leaf: NodeId,
    /// Expected-call weight of the run.
    pub weight: u64,
}

/// The maximal runs of identical behaviour over `0..=u32::MAX`, from the
/// named numbers (`entries`, sorted) and the `default` elsewhere.
pub(crate) fn runs(entries: &[Entry], default: NodeId) -> Vec<Run> {
    let mut out: Vec<Run> = Vec::new();
    let mut push = |start: u32, end: u32, leaf: NodeId| match out.last_mut() {
        Some(last) if last.leaf == leaf => last.end = end,
        _ => out.push(Run {
            start,
            end,
            leaf,
            weight: 0,
        }),
    };
    let mut next: u64 = 0;
    for &(nr, b) in entries {
        if u64::from(nr) > next {
            push(next as u32, nr - 1, default);
        }
        push(nr, nr, b);
        next = u64::from(nr) + 1;
    }
    if next <= u64::from(u32::MAX) {
        push(next as u32, u32::MAX, default);
    }
    out
}

/// Fills in run weights: `weigh(start, end)` gives the weight of a run.
pub(crate) fn weigh_runs(runs: &mut [Run], mut weigh: impl FnMut(u32, u32) -> u64) {
    for r in runs.iter_mut() {
        r.weight = weigh(r.start, r.end);
    }
}

/// Longest `jeq` chain tried inside one interval.
const MAX_CHAIN: usize = 4;
/// Above this many runs the quadratic-memory search gives way to
/// weighted-median splits.
const MAX_DP_RUNS: usize = 1500;
/// Above this many runs the split search uses Knuth's monotone-root bound.
const KNUTH_RUNS: usize = 300;

#[derive(Clone, Copy)]
enum Choice {
    Leaf,
    Split(u32),
    Chain,
}

/// The search tree over `runs` that minimises the expected number of tests
/// (weights from [`Run::weight`]).
pub(crate) fn ranges(dag: &mut Dag, runs: &[Run]) -> NodeId {
    let n = runs.len();
    if n == 0 {
        return dag.ret(0);
    }
    if n > MAX_DP_RUNS {
        return median_tree(dag, runs);
    }
    let mut prefix = vec![0u64; n + 1];
    for (i, r) in runs.iter().enumerate() {
        prefix[i + 1] = prefix[i] + r.weight;
    }
    let w = |i: usize, j: usize| prefix[j + 1] - prefix[i];
    let at = |i: usize, j: usize| i * n + j;
    let mut cost = vec![0u64; n * n];
    let mut choice = vec![Choice::Leaf; n * n];
    let mut root = vec![0u32; n * n];
    for i in 0..n {
        root[at(i, i)] = i as u32;
    }
    for len in 2..=n {
        for i in 0..=n - len {
            let j = i + len - 1;
            let (lo, hi) = if n > KNUTH_RUNS && len > 2 {
                (
                    root[at(i, j - 1)] as usize,
                    (root[at(i + 1, j)] as usize).min(j - 1),
                )
            } else {
                (i, j - 1)
            };
            let mut best = u64::MAX;
            let mut best_k = lo;
            for k in lo..=hi.max(lo) {
                let c = cost[at(i, k)] + cost[at(k + 1, j)];
                if c < best {
                    best = c;
                    best_k = k;
                }
            }
            root[at(i, j)] = best_k as u32;
            let mut c = best.saturating_add(w(i, j));
            let mut ch = Choice::Split(best_k as u32);
            if let Some(cc) = chain_cost(runs, i, j) {
                if cc < c {
                    c = cc;
                    ch = Choice::Chain;
                }
            }
            cost[at(i, j)] = c;
            choice[at(i, j)] = ch;
        }
    }
    build(dag, runs, &choice, n, 0, n - 1)
}

/// The singletons of a chain interval, heaviest first, or `None` when
/// `i..=j` is not "one behaviour broken by at most [`MAX_CHAIN`] single
/// numbers".
fn chain_members(runs: &[Run], i: usize, j: usize) -> Option<Vec<usize>> {
    let len = j - i + 1;
    if len < 3 || len % 2 == 0 || (len - 1) / 2 > MAX_CHAIN {
        return None;
    }
    let bg = runs[i].leaf;
    let mut singles = Vec::new();
    for (off, r) in runs[i..=j].iter().enumerate() {
        if off % 2 == 0 {
            if r.leaf != bg {
                return None;
            }
        } else {
            if r.start != r.end {
                return None;
            }
            singles.push(i + off);
        }
    }
    singles.sort_by(|&a, &b| runs[b].weight.cmp(&runs[a].weight).then(a.cmp(&b)));
    Some(singles)
}

fn chain_cost(runs: &[Run], i: usize, j: usize) -> Option<u64> {
    let singles = chain_members(runs, i, j)?;
    let m = singles.len() as u64;
    let bg: u64 = (i..=j).step_by(2).map(|x| runs[x].weight).sum();
    let mut c = m * bg;
    for (rank, &s) in singles.iter().enumerate() {
        c += (rank as u64 + 1) * runs[s].weight;
    }
    Some(c)
}

fn build(dag: &mut Dag, runs: &[Run], choice: &[Choice], n: usize, i: usize, j: usize) -> NodeId {
    match choice[i * n + j] {
        Choice::Leaf => runs[i].leaf,
        Choice::Split(k) => {
            let k = k as usize;
            let right = build(dag, runs, choice, n, k + 1, j);
            let left = build(dag, runs, choice, n, i, k);
            jge(dag, runs[k + 1].start, right, left)
        }
        Choice::Chain => {
            let singles = chain_members(runs, i, j).unwrap_or_default();
            singles.iter().rev().fold(runs[i].leaf, |next, &s| {
                jeq(dag, runs[s].start, runs[s].leaf, next)
            })
        }
    }
}

/// Splits at the weighted median, recursively (for very many runs).
fn median_tree(dag: &mut Dag, runs: &[Run]) -> NodeId {
    if runs.len() == 1 {
        return runs[0].leaf;
    }
    let total: u64 = runs.iter().map(|r| r.weight).sum();
    let mut acc = 0u64;
    let mut k = 0;
    while k + 2 < runs.len() && (acc + runs[k].weight) * 2 < total {
        acc += runs[k].weight;
        k += 1;
    }
    let right = median_tree(dag, &runs[k + 1..]);
    let left = median_tree(dag, &runs[..=k]);
    jge(dag, runs[k + 1].start, right, left)
}
