//! A verified program decoded once for fast repeated evaluation.
//!
//! Each instruction becomes one compact [`Op`] with its jump targets
//! resolved to absolute indices, `ld [k]` resolved to a word index, and
//! scratch indices masked into range. Runs of `jeq #k` that fall through to
//! each other on a miss (the "`jeq #nr, allow, next`" chains compilers emit
//! for syscall lists) become one chain operation that finds the first
//! matching key by a linear scan (short remainders) or a binary search (long
//! ones) and adds the exact number of `jeq` instructions the kernel would
//! have executed to the step count. Jump regions (see [`super::region`])
//! entered from outside become one lookup. Finally an `ld [k]` or `and #m`
//! followed by a conditional jump is fused into one op counting two steps,
//! and conditional jumps are real branches (not selects), so a predicted
//! path does not wait for A.

use alloc::boxed::Box;
use alloc::vec;
use alloc::vec::Vec;

use bpf_asm::insn::*;
use bpf_asm::seccomp::SECCOMP_DATA_SIZE;
use bpf_asm::{Endian, SockFilter};

use super::region::{Node, Region};
use super::{interpret, Outcome, TraceStep};
use crate::data::{SeccompData, SECCOMP_DATA_WORDS};
use crate::verify::{verify, Mode, VerifyError};

/// One decoded instruction. Targets are absolute instruction indices
/// (at most 4096, so they fit in `u16`).
#[derive(Clone, Copy, Debug)]
enum Op {
    LdW(u8),
    LdImm(u32),
    LdxImm(u32),
    LdMem(u8),
    LdxMem(u8),
    St(u8),
    Stx(u8),
    Tax,
    Txa,
    AddK(u32),
    SubK(u32),
    MulK(u32),
    DivK(u32),
    AndK(u32),
    OrK(u32),
    XorK(u32),
    LshK(u32),
    RshK(u32),
    Neg,
    AddX,
    SubX,
    MulX,
    DivX,
    AndX,
    OrX,
    XorX,
    LshX,
    RshX,
    Ja(u16),
    JeqK(u32, u16, u16),
    JgtK(u32, u16, u16),
    JgeK(u32, u16, u16),
    JsetK(u32, u16, u16),
    JeqX(u16, u16),
    JgtX(u16, u16),
    JgeX(u16, u16),
    JsetX(u16, u16),
    /// Position `pos` inside chain number `chain`.
    JeqChain(u16, u16),
    /// Entry of jump region number `id`.
    Region(u16),
    /// `ld [4 * w]` followed by `jeq #k` (two steps).
    LdJeqK(u8, u32, u16, u16),
    /// `ld [4 * w]` followed by `jgt #k` (two steps).
    LdJgtK(u8, u32, u16, u16),
    /// `ld [4 * w]` followed by `jge #k` (two steps).
    LdJgeK(u8, u32, u16, u16),
    /// `ld [4 * w]` followed by `jset #k` (two steps).
    LdJsetK(u8, u32, u16, u16),
    /// `ld [4 * w]` followed by the entry of jump region `id`.
    LdRegion(u8, u16),
    /// `and #m` followed by `jeq #k` (two steps).
    AndJeqK(u32, u32, u16, u16),
    RetK(u32),
    RetA,
    /// Ends the run with 0; never reached in a verified program.
    Halt,
}

/// A run of `jeq #k` instructions where each one but the last falls
/// through to the next on a miss.
#[derive(Clone, Debug)]
struct Chain {
    /// `k` of each member.
    keys: Box<[u32]>,
    /// Absolute `jt` target of each member.
    targets: Box<[u16]>,
    /// `(k, member index)` sorted, for binary search.
    sorted: Box<[(u32, u16)]>,
    /// Absolute `jf` target of the last member.
    miss: u16,
}

/// Entries of all region lookup tables of one program together (4 bytes
/// each).
const TABLE_BUDGET: usize = 1 << 16;

/// Remainders up to this length are scanned linearly.
const LINEAR_SCAN_MAX: usize = 12;

impl Chain {
    /// The first member at or after `pos` whose key equals `a`.
    #[inline(always)]
    fn find(&self, a: u32, pos: usize) -> Option<usize> {
        let rest = self.keys.get(pos..)?;
        if rest.len() <= LINEAR_SCAN_MAX {
            return rest.iter().position(|&k| k == a).map(|i| pos + i);
        }
        let p = self
            .sorted
            .partition_point(|&(k, i)| k < a || (k == a && (i as usize) < pos));
        match self.sorted.get(p) {
            Some(&(k, i)) if k == a => Some(i as usize),
            _ => None,
        }
    }
}

/// A verified seccomp program decoded for fast repeated evaluation.
///
/// Gives exactly the results of [`super::run`] (return value and step
/// count) on every input.
#[derive(Clone, Debug)]
pub struct Prepared {
    ops: Box<[Op]>,
    chains: Box<[Chain]>,
    regions: Box<[Region]>,
    prog: Box<[SockFilter]>,
}

impl Prepared {
    /// Verifies `prog` ([`Mode::Seccomp`]) and decodes it.
    pub fn new(prog: &[SockFilter]) -> Result<Prepared, VerifyError> {
        verify(prog, Mode::Seccomp)?;
        Ok(Prepared::decode(prog))
    }

    fn decode(prog: &[SockFilter]) -> Prepared {
        let t = |pc: usize, off: u32| -> u16 {
            let target = pc + 1 + off as usize;
            // Verified programs have every target in range (< 4096).
            u16::try_from(target).unwrap_or(u16::MAX)
        };
        let mem = |k: u32| (k & 15) as u8;
        let mut ops: Vec<Op> = prog
            .iter()
            .enumerate()
            .map(|(pc, f)| {
                let k = f.k;
                let (jt, jf) = (t(pc, f.jt as u32), t(pc, f.jf as u32));
                match f.code {
                    c if c == BPF_LD | BPF_W | BPF_ABS => {
                        if k % 4 == 0 && k < SECCOMP_DATA_SIZE {
                            Op::LdW((k / 4) as u8)
                        } else {
                            Op::Halt
                        }
                    }
                    c if c == BPF_LD | BPF_IMM => Op::LdImm(k),
                    c if c == BPF_LDX | BPF_IMM => Op::LdxImm(k),
                    c if c == BPF_LD | BPF_W | BPF_LEN => Op::LdImm(SECCOMP_DATA_SIZE),
                    c if c == BPF_LDX | BPF_W | BPF_LEN => Op::LdxImm(SECCOMP_DATA_SIZE),
                    c if c == BPF_LD | BPF_MEM => Op::LdMem(mem(k)),
                    c if c == BPF_LDX | BPF_MEM => Op::LdxMem(mem(k)),
                    c if c == BPF_ST => Op::St(mem(k)),
                    c if c == BPF_STX => Op::Stx(mem(k)),
                    c if c == BPF_MISC | BPF_TAX => Op::Tax,
                    c if c == BPF_MISC | BPF_TXA => Op::Txa,
                    c if c == BPF_ALU | BPF_NEG => Op::Neg,
                    c if c == BPF_RET | BPF_K => Op::RetK(k),
                    c if c == BPF_RET | BPF_A => Op::RetA,
                    c if c == BPF_JMP | BPF_JA => Op::Ja(t(pc, k)),
                    c if bpf_class(c) == BPF_ALU && bpf_src(c) == BPF_K => match bpf_op(c) {
                        BPF_ADD => Op::AddK(k),
                        BPF_SUB => Op::SubK(k),
                        BPF_MUL => Op::MulK(k),
                        BPF_DIV if k != 0 => Op::DivK(k),
                        BPF_AND => Op::AndK(k),
                        BPF_OR => Op::OrK(k),
                        BPF_XOR => Op::XorK(k),
                        BPF_LSH => Op::LshK(k & 31),
                        BPF_RSH => Op::RshK(k & 31),
                        _ => Op::Halt,
                    },
                    c if bpf_class(c) == BPF_ALU => match bpf_op(c) {
                        BPF_ADD => Op::AddX,
                        BPF_SUB => Op::SubX,
                        BPF_MUL => Op::MulX,
                        BPF_DIV => Op::DivX,
                        BPF_AND => Op::AndX,
                        BPF_OR => Op::OrX,
                        BPF_XOR => Op::XorX,
                        BPF_LSH => Op::LshX,
                        BPF_RSH => Op::RshX,
                        _ => Op::Halt,
                    },
                    c if bpf_class(c) == BPF_JMP && bpf_src(c) == BPF_K => match bpf_op(c) {
                        BPF_JEQ => Op::JeqK(k, jt, jf),
                        BPF_JGT => Op::JgtK(k, jt, jf),
                        BPF_JGE => Op::JgeK(k, jt, jf),
                        BPF_JSET => Op::JsetK(k, jt, jf),
                        _ => Op::Halt,
                    },
                    c if bpf_class(c) == BPF_JMP => match bpf_op(c) {
                        BPF_JEQ => Op::JeqX(jt, jf),
                        BPF_JGT => Op::JgtX(jt, jf),
                        BPF_JGE => Op::JgeX(jt, jf),
                        BPF_JSET => Op::JsetX(jt, jf),
                        _ => Op::Halt,
                    },
                    _ => Op::Halt,
                }
            })
            .collect();
        let regions = build_regions(&mut ops);
        let chains = build_chains(&mut ops);
        fuse(&mut ops);
        Prepared {
            ops: ops.into_boxed_slice(),
            chains: chains.into_boxed_slice(),
            regions: regions.into_boxed_slice(),
            prog: prog.into(),
        }
    }

    /// How many jump regions were built, and how many of them have a
    /// lookup table.
    #[cfg(test)]
    pub(super) fn region_counts(&self) -> (usize, usize) {
        let tables = self.regions.iter().filter(|r| r.has_table()).count();
        (self.regions.len(), tables)
    }

    /// The program as given.
    pub fn program(&self) -> &[SockFilter] {
        &self.prog
    }

    /// Runs the program on `data`, loading words in byte order `endian`.
    #[inline]
    pub fn run(&self, data: &SeccompData, endian: Endian) -> Outcome {
        self.run_words(&data.words(endian))
    }

    /// Runs the program on the sixteen words of a `seccomp_data`, as
    /// `ld [0]`, `ld [4]`, …, `ld [60]` load them (see
    /// [`SeccompData::words`]).
    pub fn run_words(&self, words: &[u32; SECCOMP_DATA_WORDS]) -> Outcome {
        let ops = &*self.ops;
        let word = |w: u8| words[w as usize & (SECCOMP_DATA_WORDS - 1)];
        let mut a: u32 = 0;
        let mut x: u32 = 0;
        let mut mem = [0u32; 16];
        let mut pc = 0usize;
        let mut steps = 0usize;
        loop {
            let Some(&op) = ops.get(pc) else {
                return Outcome { ret: 0, steps };
            };
            steps += 1;
            pc += 1;
            match op {
                Op::LdJeqK(w, k, t, f) => {
                    steps += 1;
                    a = word(w);
                    pc = branch(a == k, t, f);
                }
                Op::JeqK(k, t, f) => pc = branch(a == k, t, f),
                Op::LdW(w) => a = word(w),
                Op::RetK(k) => return Outcome { ret: k, steps },
                Op::LdJgeK(w, k, t, f) => {
                    steps += 1;
                    a = word(w);
                    pc = branch(a >= k, t, f);
                }
                Op::LdJgtK(w, k, t, f) => {
                    steps += 1;
                    a = word(w);
                    pc = branch(a > k, t, f);
                }
                Op::LdJsetK(w, k, t, f) => {
                    steps += 1;
                    a = word(w);
                    pc = branch(a & k != 0, t, f);
                }
                Op::AndJeqK(m, k, t, f) => {
                    steps += 1;
                    a &= m;
                    pc = branch(a == k, t, f);
                }
                Op::LdRegion(w, id) => {
                    steps += 1;
                    a = word(w);
                    let Some(region) = self.regions.get(id as usize) else {
                        return Outcome { ret: 0, steps };
                    };
                    let (exit, inside) = region.exit(a);
                    steps += inside.saturating_sub(1);
                    pc = exit;
                }
                Op::Region(id) => {
                    let Some(region) = self.regions.get(id as usize) else {
                        return Outcome { ret: 0, steps };
                    };
                    let (exit, inside) = region.exit(a);
                    steps += inside.saturating_sub(1);
                    pc = exit;
                }
                Op::JeqChain(c, pos) => {
                    let Some(chain) = self.chains.get(c as usize) else {
                        return Outcome { ret: 0, steps };
                    };
                    let pos = pos as usize;
                    match chain.find(a, pos) {
                        Some(i) => {
                            steps += i - pos;
                            pc = chain.targets.get(i).map_or(usize::MAX, |&t| t as usize);
                        }
                        None => {
                            steps += chain.keys.len() - pos - 1;
                            pc = chain.miss as usize;
                        }
                    }
                }
                Op::JgtK(k, t, f) => pc = branch(a > k, t, f),
                Op::JgeK(k, t, f) => pc = branch(a >= k, t, f),
                Op::JsetK(k, t, f) => pc = branch(a & k != 0, t, f),
                Op::RetA => return Outcome { ret: a, steps },
                Op::AndK(k) => a &= k,
                Op::Ja(t) => pc = t as usize,
                Op::LdImm(k) => a = k,
                Op::LdxImm(k) => x = k,
                Op::LdMem(i) => a = mem[i as usize & 15],
                Op::LdxMem(i) => x = mem[i as usize & 15],
                Op::St(i) => mem[i as usize & 15] = a,
                Op::Stx(i) => mem[i as usize & 15] = x,
                Op::Tax => x = a,
                Op::Txa => a = x,
                Op::AddK(k) => a = a.wrapping_add(k),
                Op::SubK(k) => a = a.wrapping_sub(k),
                Op::MulK(k) => a = a.wrapping_mul(k),
                Op::DivK(k) => a = a.checked_div(k).unwrap_or(0),
                Op::OrK(k) => a |= k,
                Op::XorK(k) => a ^= k,
                Op::LshK(k) => a = a.wrapping_shl(k),
                Op::RshK(k) => a = a.wrapping_shr(k),
                Op::Neg => a = a.wrapping_neg(),
                Op::AddX => a = a.wrapping_add(x),
                Op::SubX => a = a.wrapping_sub(x),
                Op::MulX => a = a.wrapping_mul(x),
                Op::DivX => match a.checked_div(x) {
                    Some(q) => a = q,
                    None => return Outcome { ret: 0, steps },
                },
                Op::AndX => a &= x,
                Op::OrX => a |= x,
                Op::XorX => a ^= x,
                Op::LshX => a = a.wrapping_shl(x & 31),
                Op::RshX => a = a.wrapping_shr(x & 31),
                Op::JeqX(t, f) => pc = branch(a == x, t, f),
                Op::JgtX(t, f) => pc = branch(a > x, t, f),
                Op::JgeX(t, f) => pc = branch(a >= x, t, f),
                Op::JsetX(t, f) => pc = branch(a & x != 0, t, f),
                Op::Halt => return Outcome { ret: 0, steps },
            }
        }
    }

    /// [`Prepared::run`], calling `trace` before each executed instruction
    /// (runs the reference interpreter, so it is slower).
    pub fn run_traced<F: FnMut(&TraceStep)>(
        &self,
        data: &SeccompData,
        endian: Endian,
        mut trace: F,
    ) -> Outcome {
        interpret(&self.prog, &data.words(endian), Some(&mut trace))
    }
}

/// Replaces the entries of jump regions (see [`Region`]) with
/// [`Op::Region`]. An entry is instruction 0 or any region instruction
/// reached from outside a region; only regions where the search pays off
/// ([`Region::pays_off`]) are replaced.
fn build_regions(ops: &mut [Op]) -> Vec<Region> {
    let orig: Vec<Op> = ops.to_vec();
    let node = |pc: usize| -> Option<Node> {
        match orig.get(pc)? {
            Op::JeqK(k, t, f) => Some(Node::Eq(*k, *t, *f)),
            Op::JgtK(k, t, f) => Some(Node::Gt(*k, *t, *f)),
            Op::JgeK(k, t, f) => Some(Node::Ge(*k, *t, *f)),
            Op::Ja(t) => Some(Node::Ja(*t)),
            _ => None,
        }
    };
    let mut entry = vec![false; orig.len()];
    if let Some(e) = entry.first_mut() {
        *e = true;
    }
    for (pc, op) in orig.iter().enumerate() {
        if node(pc).is_some() {
            continue;
        }
        let succ: [Option<u16>; 2] = match *op {
            Op::RetK(_) | Op::RetA | Op::Halt => [None, None],
            Op::JsetK(_, t, f)
            | Op::JeqX(t, f)
            | Op::JgtX(t, f)
            | Op::JgeX(t, f)
            | Op::JsetX(t, f) => [Some(t), Some(f)],
            _ => [u16::try_from(pc + 1).ok(), None],
        };
        for s in succ.into_iter().flatten() {
            if let Some(e) = entry.get_mut(s as usize) {
                *e = true;
            }
        }
    }
    let mut regions = Vec::new();
    let mut table_budget = TABLE_BUDGET;
    for pc in 0..orig.len() {
        if !entry[pc] || node(pc).is_none() || regions.len() >= u16::MAX as usize {
            continue;
        }
        let Some(mut region) = Region::build(pc, node) else {
            continue;
        };
        let mut budget = table_budget;
        region.add_table(&mut budget);
        if region.pays_off() {
            table_budget = budget;
            ops[pc] = Op::Region(regions.len() as u16);
            regions.push(region);
        }
    }
    regions
}

/// Finds the `jeq #k` chains, records them and rewrites their members into
/// [`Op::JeqChain`]. A chain starts at a `jeq #k` not yet in a chain and
/// follows the miss (`jf`) targets while they are `jeq #k` instructions not
/// yet in a chain, so both `jeq #nr, allow, 0` runs and
/// `jeq #nr, 0, 1; ret ALLOW` ladders become chains. Only chains of two or
/// more members are recorded.
fn build_chains(ops: &mut [Op]) -> Vec<Chain> {
    let mut chains = Vec::new();
    for start in 0..ops.len() {
        if !matches!(ops[start], Op::JeqK(..)) || chains.len() >= u16::MAX as usize {
            continue;
        }
        let mut members = Vec::new();
        let mut cur = start;
        let mut miss = 0u16;
        while let Some(&Op::JeqK(k, t, f)) = ops.get(cur) {
            members.push((cur, k, t));
            miss = f;
            if f as usize <= cur {
                break; // cannot happen: jumps go forward
            }
            cur = f as usize;
        }
        if members.len() < 2 {
            continue;
        }
        let id = chains.len() as u16;
        let mut sorted: Vec<(u32, u16)> = members
            .iter()
            .enumerate()
            .map(|(i, &(_, k, _))| (k, i as u16))
            .collect();
        sorted.sort_unstable();
        for (i, &(pc, _, _)) in members.iter().enumerate() {
            ops[pc] = Op::JeqChain(id, i as u16);
        }
        chains.push(Chain {
            keys: members.iter().map(|&(_, k, _)| k).collect(),
            targets: members.iter().map(|&(_, _, t)| t).collect(),
            sorted: sorted.into_boxed_slice(),
            miss,
        });
    }
    chains
}

/// The target of a conditional jump.
///
/// Written as a real branch rather than a select: a select would make
/// every next dispatch wait for A, while a predicted branch lets the
/// processor run ahead.
#[inline(always)]
fn branch(taken: bool, t: u16, f: u16) -> usize {
    if taken {
        cold_path();
        t as usize
    } else {
        f as usize
    }
}

/// Marks the path it is called on as unlikely, which keeps LLVM from
/// turning the branch into a select.
#[cold]
#[inline(always)]
fn cold_path() {}

/// Fuses an instruction with the one after it where both are common
/// together: `ld [k]` before a `jeq/jgt/jge/jset #k` or a region entry,
/// `and #m` before a `jeq #k`. The second instruction keeps its own op, for
/// jumps that land on it.
fn fuse(ops: &mut [Op]) {
    for pc in 0..ops.len().saturating_sub(1) {
        let fused = match (ops[pc], ops[pc + 1]) {
            (Op::LdW(w), Op::JeqK(k, t, f)) => Op::LdJeqK(w, k, t, f),
            (Op::LdW(w), Op::JgtK(k, t, f)) => Op::LdJgtK(w, k, t, f),
            (Op::LdW(w), Op::JgeK(k, t, f)) => Op::LdJgeK(w, k, t, f),
            (Op::LdW(w), Op::JsetK(k, t, f)) => Op::LdJsetK(w, k, t, f),
            (Op::LdW(w), Op::Region(id)) => Op::LdRegion(w, id),
            (Op::AndK(m), Op::JeqK(k, t, f)) => Op::AndJeqK(m, k, t, f),
            (op, _) => op,
        };
        ops[pc] = fused;
    }
}
