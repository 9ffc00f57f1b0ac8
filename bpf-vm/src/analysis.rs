//! How many instructions a filter executes for each system call: the
//! minimum and maximum over every argument and instruction-pointer value,
//! found by exploring the program's paths symbolically (not by sampling).
//!
//! Values that derive only from `nr`, `arch` and constants are computed
//! exactly. Each argument / instruction-pointer word a path loads is a
//! symbolic variable; a compare of such a word (directly, or after
//! `and #m`) against a known value records a constraint on that word (an
//! interval, required bit patterns and excluded patterns, which covers
//! excluded values), and a branch whose constraints have no solution is
//! pruned. Where a value cannot be tracked (arithmetic on argument words,
//! compares between two unknown values, ...) both branches are taken and
//! the result is flagged as an over-approximation (`exact == false`): the
//! true minimum may be larger and the true maximum smaller than reported.

use alloc::boxed::Box;
use alloc::vec;
use alloc::vec::Vec;

use bpf_asm::insn::*;
use bpf_asm::seccomp::SECCOMP_DATA_SIZE;
use bpf_asm::{Arch, SockFilter};

use crate::data::SECCOMP_DATA_WORDS;
use crate::verify::{verify, Mode, VerifyError};

/// Explored path states per system call before the rest is bounded by the
/// control-flow graph alone (and the result marked inexact).
pub const DEFAULT_STATE_BUDGET: usize = 20_000;

/// Instruction counts of one system call.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct StepBounds {
    /// Fewest instructions executed for some argument values.
    pub min: usize,
    /// Most instructions executed for some argument values.
    pub max: usize,
    /// Whether `min` and `max` are attained (false: they are bounds only).
    pub exact: bool,
}

/// Instruction counts of one system call number.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct SyscallSteps {
    /// The system call number as the filter sees it in `seccomp_data.nr`.
    pub nr: u32,
    /// Its name on the architecture, if it has one.
    pub name: Option<&'static str>,
    /// The counts over all arguments and instruction pointers.
    pub bounds: StepBounds,
}

/// Instruction counts of every analysed system call of one architecture.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Analysis {
    /// The architecture (`seccomp_data.arch` and byte order).
    pub arch: Arch,
    /// One entry per analysed number, in ascending order.
    pub syscalls: Vec<SyscallSteps>,
}

/// Aggregate figures of an [`Analysis`], for comparing jump layouts.
#[derive(Clone, Copy, PartialEq, Debug)]
pub struct Summary {
    /// Number of system calls analysed.
    pub count: usize,
    /// Mean over system calls of the minimum count.
    pub mean_min: f64,
    /// Mean over system calls of the maximum count.
    pub mean_max: f64,
    /// The smallest minimum count of any system call.
    pub min: usize,
    /// The largest maximum count of any system call.
    pub max: usize,
    /// Whether every per-syscall figure is exact.
    pub exact: bool,
}

impl Analysis {
    /// Means and extremes over all analysed system calls (zeros when
    /// nothing was analysed).
    pub fn summary(&self) -> Summary {
        let count = self.syscalls.len();
        let sum_min: usize = self.syscalls.iter().map(|s| s.bounds.min).sum();
        let sum_max: usize = self.syscalls.iter().map(|s| s.bounds.max).sum();
        let div = if count == 0 { 1.0 } else { count as f64 };
        Summary {
            count,
            mean_min: sum_min as f64 / div,
            mean_max: sum_max as f64 / div,
            min: self
                .syscalls
                .iter()
                .map(|s| s.bounds.min)
                .min()
                .unwrap_or(0),
            max: self
                .syscalls
                .iter()
                .map(|s| s.bounds.max)
                .max()
                .unwrap_or(0),
            exact: self.syscalls.iter().all(|s| s.bounds.exact),
        }
    }

    /// The entry of system call `nr`, if it was analysed.
    pub fn get(&self, nr: u32) -> Option<&SyscallSteps> {
        self.syscalls
            .binary_search_by_key(&nr, |s| s.nr)
            .ok()
            .and_then(|i| self.syscalls.get(i))
    }
}

/// Analyses `prog` for every system call of `arch` (from its syscall
/// table), plus the numbers in `extra` (for example an x32 range or
/// numbers past the table); duplicates are analysed once.
pub fn analyze(
    prog: &[SockFilter],
    arch: Arch,
    extra: impl IntoIterator<Item = u32>,
) -> Result<Analysis, VerifyError> {
    verify(prog, Mode::Seccomp)?;
    let cfg = CfgBounds::new(prog);
    let mut nrs: Vec<u32> = arch.syscalls().map(|(nr, _)| nr).collect();
    nrs.extend(extra);
    nrs.sort_unstable();
    nrs.dedup();
    let syscalls = nrs
        .into_iter()
        .map(|nr| SyscallSteps {
            nr,
            name: arch.syscall_name(nr),
            bounds: explore(prog, &cfg, nr, arch.audit_arch(), DEFAULT_STATE_BUDGET),
        })
        .collect();
    Ok(Analysis { arch, syscalls })
}

/// The instruction counts of one call (`nr` as loaded by `ld [0]`, under
/// `AUDIT_ARCH_*` value `audit_arch`) over all arguments and instruction
/// pointers, exploring at most `budget` path states.
///
/// The byte order does not matter: each argument word is an independent
/// variable either way.
pub fn syscall_steps(
    prog: &[SockFilter],
    nr: u32,
    audit_arch: u32,
    budget: usize,
) -> Result<StepBounds, VerifyError> {
    verify(prog, Mode::Seccomp)?;
    Ok(explore(prog, &CfgBounds::new(prog), nr, audit_arch, budget))
}

/// A symbolic 32-bit value.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Val {
    /// Known exactly.
    Const(u32),
    /// Equal to the loaded word with this index (2..16).
    Word(u8),
    /// Equal to `word & mask`.
    Masked(u8, u32),
    /// Not tracked.
    Unknown,
}

/// The values a 32-bit word may still take on a path.
#[derive(Clone, PartialEq, Eq, Debug)]
struct WordSet {
    lo: u32,
    hi: u32,
    /// Bits in `must_mask` must equal those of `must_val`.
    must_mask: u32,
    must_val: u32,
    /// `(m, v)`: `w & m != v` (an excluded value has `m == !0`).
    not: Vec<(u32, u32)>,
}

/// Result of a feasibility check.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Feasible {
    Yes,
    No,
    /// The search gave up; treated as feasible, result inexact.
    Unknown,
}

impl WordSet {
    const fn full() -> Self {
        WordSet {
            lo: 0,
            hi: u32::MAX,
            must_mask: 0,
            must_val: 0,
            not: Vec::new(),
        }
    }

    /// Requires `w & m == v`; false when that contradicts the bit pattern.
    fn require(&mut self, m: u32, v: u32) -> bool {
        if v & !m != 0 {
            return false;
        }
        let common = self.must_mask & m;
        if self.must_val & common != v & common {
            return false;
        }
        self.must_mask |= m;
        self.must_val |= v;
        true
    }

    /// Requires `w & m != v`; false when that is impossible outright.
    fn forbid(&mut self, m: u32, v: u32) -> bool {
        if v & !m != 0 {
            return true; // never equal
        }
        if m == 0 {
            return false; // always equal
        }
        if !self.not.contains(&(m, v)) {
            self.not.push((m, v));
        }
        true
    }

    /// Whether some value satisfies every constraint.
    fn feasible(&self) -> Feasible {
        if self.lo > self.hi {
            return Feasible::No;
        }
        let Some(mut w) = next_with_bits(self.lo, self.must_mask, self.must_val) else {
            return Feasible::No;
        };
        for _ in 0..4096 {
            if w > self.hi {
                return Feasible::No;
            }
            let Some(&(m, _)) = self.not.iter().find(|&&(m, v)| w & m == v) else {
                return Feasible::Yes;
            };
            // The smallest w' > w whose bits under m differ: carry into the
            // lowest bit of m.
            let low = m & m.wrapping_neg();
            let Some(next) = (w | (low - 1)).checked_add(1) else {
                return Feasible::No;
            };
            let Some(next) = next_with_bits(next, self.must_mask, self.must_val) else {
                return Feasible::No;
            };
            w = next;
        }
        Feasible::Unknown
    }
}

/// The smallest `w >= x` with `w & mask == val` (`val` inside `mask`).
fn next_with_bits(x: u32, mask: u32, val: u32) -> Option<u32> {
    if x & mask == val {
        return Some(x);
    }
    // w shares x's bits above some position i, has a 1 at i where x has 0,
    // and is minimal below i; the lowest workable i gives the smallest w.
    for i in 0..32u32 {
        let bit = 1u32 << i;
        if x & bit != 0 {
            continue;
        }
        if mask & bit != 0 && val & bit == 0 {
            continue;
        }
        let above = if i == 31 { 0 } else { !((bit << 1) - 1) };
        if x & mask & above != val & above {
            continue;
        }
        let below = bit - 1;
        return Some((x & above) | bit | (val & below));
    }
    None
}

/// A path being explored.
#[derive(Clone, Debug)]
struct State {
    pc: usize,
    steps: usize,
    a: Val,
    x: Val,
    mem: [Val; 16],
    /// Constraints of the words loaded so far (index, set).
    cons: Vec<(u8, WordSet)>,
}

impl State {
    fn set_mut(&mut self, w: u8) -> &mut WordSet {
        let i = match self.cons.iter().position(|(i, _)| *i == w) {
            Some(i) => i,
            None => {
                self.cons.push((w, WordSet::full()));
                self.cons.len() - 1
            }
        };
        &mut self.cons[i].1
    }
}

/// Minimum and maximum instruction counts from each instruction to the end
/// of the program, over the control-flow graph alone.
struct CfgBounds {
    min: Vec<usize>,
    max: Vec<usize>,
}

impl CfgBounds {
    fn new(prog: &[SockFilter]) -> Self {
        let n = prog.len();
        let mut min = vec![1usize; n + 1];
        let mut max = vec![1usize; n + 1];
        for pc in (0..n).rev() {
            let f = prog[pc];
            let at = |v: &Vec<usize>, off: usize| v.get(pc + 1 + off).copied().unwrap_or(1);
            let (lo, hi) = match bpf_class(f.code) {
                BPF_RET => (1, 1),
                BPF_JMP if bpf_op(f.code) == BPF_JA => {
                    (1 + at(&min, f.k as usize), 1 + at(&max, f.k as usize))
                }
                BPF_JMP => {
                    let (t, e) = (f.jt as usize, f.jf as usize);
                    (
                        1 + at(&min, t).min(at(&min, e)),
                        1 + at(&max, t).max(at(&max, e)),
                    )
                }
                BPF_ALU if f.code == BPF_ALU | BPF_DIV | BPF_X => (1, 1 + at(&max, 0)),
                _ => (1 + at(&min, 0), 1 + at(&max, 0)),
            };
            min[pc] = lo;
            max[pc] = hi;
        }
        CfgBounds { min, max }
    }
}

/// Accumulated result of the exploration of one call.
struct Acc {
    min: usize,
    max: usize,
    exact: bool,
}

impl Acc {
    fn end(&mut self, steps: usize) {
        self.min = self.min.min(steps);
        self.max = self.max.max(steps);
    }
}

/// How a compare was resolved.
enum Branch {
    /// Both operands are known: only this direction is possible.
    Only(bool),
    /// Each direction with its refined state (None: infeasible).
    Split(Option<Box<State>>, Option<Box<State>>),
    /// The compare is not tracked: both directions, inexact.
    Untracked,
}

fn explore(
    prog: &[SockFilter],
    cfg: &CfgBounds,
    nr: u32,
    audit_arch: u32,
    budget: usize,
) -> StepBounds {
    let mut acc = Acc {
        min: usize::MAX,
        max: 0,
        exact: true,
    };
    let mut stack = vec![State {
        pc: 0,
        steps: 0,
        a: Val::Const(0),
        x: Val::Const(0),
        mem: [Val::Const(0); 16],
        cons: Vec::new(),
    }];
    let mut visited = 0usize;
    while let Some(mut st) = stack.pop() {
        visited += 1;
        if visited > budget {
            // Bound the rest by the control-flow graph.
            acc.exact = false;
            for s in core::iter::once(st).chain(stack.drain(..)) {
                let (lo, hi) = match (cfg.min.get(s.pc), cfg.max.get(s.pc)) {
                    (Some(&lo), Some(&hi)) => (lo, hi),
                    _ => (1, 1),
                };
                acc.end(s.steps + lo);
                acc.end(s.steps + hi);
            }
            break;
        }
        // Run straight-line code until a branch or the end.
        loop {
            let Some(&f) = prog.get(st.pc) else {
                // Unreachable for verified programs.
                acc.exact = false;
                acc.end(st.steps);
                break;
            };
            st.steps += 1;
            let k = f.k;
            let next = st.pc + 1;
            match f.code {
                c if c == BPF_RET | BPF_K || c == BPF_RET | BPF_A => {
                    acc.end(st.steps);
                    break;
                }
                c if c == BPF_LD | BPF_W | BPF_ABS => {
                    st.a = if k == 0 {
                        Val::Const(nr)
                    } else if k == 4 {
                        Val::Const(audit_arch)
                    } else if k % 4 == 0 && k < SECCOMP_DATA_SIZE {
                        Val::Word((k / 4) as u8 & (SECCOMP_DATA_WORDS as u8 - 1))
                    } else {
                        Val::Unknown
                    };
                }
                c if c == BPF_LD | BPF_IMM => st.a = Val::Const(k),
                c if c == BPF_LDX | BPF_IMM => st.x = Val::Const(k),
                c if c == BPF_LD | BPF_W | BPF_LEN => st.a = Val::Const(SECCOMP_DATA_SIZE),
                c if c == BPF_LDX | BPF_W | BPF_LEN => st.x = Val::Const(SECCOMP_DATA_SIZE),
                c if c == BPF_LD | BPF_MEM => st.a = st.mem[(k & 15) as usize],
                c if c == BPF_LDX | BPF_MEM => st.x = st.mem[(k & 15) as usize],
                c if c == BPF_ST => st.mem[(k & 15) as usize] = st.a,
                c if c == BPF_STX => st.mem[(k & 15) as usize] = st.x,
                c if c == BPF_MISC | BPF_TAX => st.x = st.a,
                c if c == BPF_MISC | BPF_TXA => st.a = st.x,
                c if c == BPF_ALU | BPF_NEG => {
                    st.a = match st.a {
                        Val::Const(v) => Val::Const(v.wrapping_neg()),
                        _ => Val::Unknown,
                    }
                }
                c if c == BPF_JMP | BPF_JA => {
                    st.pc = next + k as usize;
                    continue;
                }
                c if bpf_class(c) == BPF_ALU => {
                    let src = if bpf_src(c) == BPF_X {
                        st.x
                    } else {
                        Val::Const(k)
                    };
                    let op = bpf_op(c);
                    if op == BPF_DIV {
                        match src {
                            Val::Const(0) => {
                                acc.end(st.steps);
                                break;
                            }
                            Val::Const(_) => {}
                            _ => {
                                // Ends when X == 0, continues otherwise.
                                match compare(&st, src, BPF_JEQ, Val::Const(0)) {
                                    Branch::Only(true) => {
                                        acc.end(st.steps);
                                        break;
                                    }
                                    Branch::Only(false) => {}
                                    Branch::Split(t, e) => {
                                        if t.is_some() {
                                            acc.end(st.steps);
                                        }
                                        match e {
                                            Some(e) => st = *e,
                                            None => break,
                                        }
                                    }
                                    Branch::Untracked => {
                                        acc.exact = false;
                                        acc.end(st.steps);
                                    }
                                }
                            }
                        }
                    }
                    st.a = alu(op, st.a, src);
                }
                c if bpf_class(c) == BPF_JMP => {
                    let src = if bpf_src(c) == BPF_X {
                        st.x
                    } else {
                        Val::Const(k)
                    };
                    let (t, e) = (next + f.jt as usize, next + f.jf as usize);
                    if t == e {
                        st.pc = t;
                        continue;
                    }
                    match compare(&st, st.a, bpf_op(c), src) {
                        Branch::Only(taken) => {
                            st.pc = if taken { t } else { e };
                            continue;
                        }
                        Branch::Split(ts, es) => {
                            if let Some(mut s) = es {
                                s.pc = e;
                                stack.push(*s);
                            }
                            match ts {
                                Some(s) => {
                                    st = *s;
                                    st.pc = t;
                                    continue;
                                }
                                None => break,
                            }
                        }
                        Branch::Untracked => {
                            acc.exact = false;
                            let mut s = st.clone();
                            s.pc = e;
                            stack.push(s);
                            st.pc = t;
                            continue;
                        }
                    }
                }
                _ => {
                    // Not a seccomp instruction; unreachable after verify.
                    acc.exact = false;
                    acc.end(st.steps);
                    break;
                }
            }
            st.pc = next;
        }
    }
    if acc.min == usize::MAX {
        acc.min = 0;
    }
    StepBounds {
        min: acc.min,
        max: acc.max,
        exact: acc.exact,
    }
}

/// A symbolic ALU operation `a op src`.
fn alu(op: u16, a: Val, src: Val) -> Val {
    match (a, src) {
        (Val::Const(a), Val::Const(s)) => Val::Const(match op {
            BPF_ADD => a.wrapping_add(s),
            BPF_SUB => a.wrapping_sub(s),
            BPF_MUL => a.wrapping_mul(s),
            BPF_DIV => a.checked_div(s).unwrap_or(0),
            BPF_AND => a & s,
            BPF_OR => a | s,
            BPF_XOR => a ^ s,
            BPF_LSH => a.wrapping_shl(s & 31),
            BPF_RSH => a.wrapping_shr(s & 31),
            _ => return Val::Unknown,
        }),
        (Val::Word(w), Val::Const(m)) | (Val::Const(m), Val::Word(w)) if op == BPF_AND => {
            masked(w, m)
        }
        (Val::Masked(w, m1), Val::Const(m)) | (Val::Const(m), Val::Masked(w, m1))
            if op == BPF_AND =>
        {
            masked(w, m1 & m)
        }
        (a @ (Val::Word(_) | Val::Masked(..)), Val::Const(0))
            if matches!(op, BPF_ADD | BPF_SUB | BPF_OR | BPF_XOR | BPF_LSH | BPF_RSH) =>
        {
            // Identity operations keep the word.
            a
        }
        (_, Val::Const(0)) if op == BPF_MUL => Val::Const(0),
        (Val::Const(0), _) if matches!(op, BPF_MUL | BPF_AND | BPF_LSH | BPF_RSH | BPF_DIV) => {
            Val::Const(0)
        }
        _ => Val::Unknown,
    }
}

fn masked(w: u8, m: u32) -> Val {
    match m {
        0 => Val::Const(0),
        u32::MAX => Val::Word(w),
        _ => Val::Masked(w, m),
    }
}

/// Resolves `lhs op rhs` on a path.
fn compare(st: &State, lhs: Val, op: u16, rhs: Val) -> Branch {
    if let (Val::Const(a), Val::Const(b)) = (lhs, rhs) {
        return Branch::Only(match op {
            BPF_JEQ => a == b,
            BPF_JGT => a > b,
            BPF_JGE => a >= b,
            _ => a & b != 0,
        });
    }
    // Normalise to (word expression) op' (constant).
    let (sym, k, op, swapped) = match (lhs, rhs) {
        (s, Val::Const(k)) => (s, k, op, false),
        (Val::Const(k), s) => (s, k, op, true),
        _ => return Branch::Untracked,
    };
    let (w, m) = match sym {
        Val::Word(w) => (w, u32::MAX),
        Val::Masked(w, m) => (w, m),
        _ => return Branch::Untracked,
    };
    let mut yes = st.clone();
    let mut no = st.clone();
    let (ok_yes, ok_no) = {
        let sy = yes.set_mut(w);
        let sn = no.set_mut(w);
        match op {
            BPF_JEQ => (sy.require(m, k), sn.forbid(m, k)),
            BPF_JSET => (sy.forbid(m & k, 0), sn.require(m & k, 0)),
            BPF_JGT | BPF_JGE if m == u32::MAX => {
                // lhs > k (or k > lhs when swapped), on the whole word.
                let strict = op == BPF_JGT;
                let (ok_y, ok_n) = if !swapped {
                    // w > k / w >= k ; else w <= k / w < k
                    let lo = if strict { k.checked_add(1) } else { Some(k) };
                    let hi = if strict { Some(k) } else { k.checked_sub(1) };
                    (set_lo(sy, lo), set_hi(sn, hi))
                } else {
                    // k > w / k >= w ; else k <= w / k < w
                    let hi = if strict { k.checked_sub(1) } else { Some(k) };
                    let lo = if strict { Some(k) } else { k.checked_add(1) };
                    (set_hi(sy, hi), set_lo(sn, lo))
                };
                (ok_y, ok_n)
            }
            _ => return Branch::Untracked,
        }
    };
    let check = |ok: bool, s: State| -> (Option<Box<State>>, bool) {
        if !ok {
            return (None, true);
        }
        let feas = s
            .cons
            .iter()
            .find(|(i, _)| *i == w)
            .map(|(_, set)| set.feasible());
        match feas {
            Some(Feasible::No) => (None, true),
            Some(Feasible::Unknown) => (Some(Box::new(s)), false),
            _ => (Some(Box::new(s)), true),
        }
    };
    let (ys, ey) = check(ok_yes, yes);
    let (ns, en) = check(ok_no, no);
    if !(ey && en) {
        // A feasibility search gave up: keep both, inexact.
        return Branch::Untracked;
    }
    Branch::Split(ys, ns)
}

fn set_lo(s: &mut WordSet, lo: Option<u32>) -> bool {
    match lo {
        Some(lo) => {
            s.lo = s.lo.max(lo);
            true
        }
        None => false,
    }
}

fn set_hi(s: &mut WordSet, hi: Option<u32>) -> bool {
    match hi {
        Some(hi) => {
            s.hi = s.hi.min(hi);
            true
        }
        None => false,
    }
}

#[cfg(test)]
mod tests;
