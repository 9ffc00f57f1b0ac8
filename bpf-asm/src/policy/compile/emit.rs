//! From a decision diagram to instructions.
//!
//! The program is laid out backwards, from its last instruction to its
//! first, in a topological order of the nodes, so that every jump target is
//! already placed when a jump to it is written. Each test node becomes
//! `ld [word]`, `and #mask` (when masked) and the conditional jump; a
//! predecessor whose A register already holds the right value jumps past the
//! load (or straight to the `and`), so a word is loaded once per path.
//!
//! Return leaves are materialised next to their first user (counting from the
//! end) and reused while within reach. A jump whose target is more than 255
//! instructions away goes through a trampoline placed right after it: a fresh
//! copy of the `ret` (which costs nothing extra at run time) or a `ja` to the
//! target (which keeps A). Trampolines are reused by later jumps within reach.

use alloc::collections::BTreeMap;
use alloc::vec;
use alloc::vec::Vec;

use super::ir::{Dag, Node, NodeId, FULL};
use crate::insn::{
    SockFilter, BPF_ABS, BPF_ALU, BPF_AND, BPF_JA, BPF_JMP, BPF_K, BPF_LD, BPF_MAXINSNS, BPF_RET,
    BPF_W,
};

/// Where a jump enters a test node.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Entry {
    /// At the `ld`: A holds something else.
    Load,
    /// At the `and`: A holds the unmasked word (or a superset mask of it).
    And,
    /// At the jump: A already holds `word & mask`.
    Jump,
}

/// What A holds after test `p` and where that lets `p` enter `s`.
fn entry(p: Node, s: Node) -> Entry {
    match (p, s) {
        (
            Node::Test {
                word: pw, mask: pm, ..
            },
            Node::Test {
                word: sw, mask: sm, ..
            },
        ) if pw == sw => {
            if pm == sm {
                Entry::Jump
            } else if sm & !pm == 0 {
                Entry::And
            } else {
                Entry::Load
            }
        }
        _ => Entry::Load,
    }
}

/// Why a diagram could not be laid out.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum EmitError {
    /// The program would exceed [`BPF_MAXINSNS`] instructions (at least this many).
    TooLong(usize),
    /// A jump target was not placed before its user (a compiler bug).
    Unplaced(NodeId),
}

/// Lays out the diagram rooted at `root`.
pub(crate) fn emit(dag: &Dag, root: NodeId) -> Result<Vec<SockFilter>, EmitError> {
    if let Node::Ret(k) = dag.node(root) {
        return Ok(vec![SockFilter::stmt(BPF_RET | BPF_K, k)]);
    }
    let order = dag.topo_order(root);
    let size = order.iter().map(|&n| n as usize + 1).max().unwrap_or(0);
    let mut needs_load = vec![false; size];
    let mut needs_and = vec![false; size];
    needs_load[root as usize] = true;
    for &p in &order {
        let pn = dag.node(p);
        if let Node::Test { t, f, .. } = pn {
            for s in [t, f] {
                match entry(pn, dag.node(s)) {
                    Entry::Load => needs_load[s as usize] = true,
                    Entry::And => needs_and[s as usize] = true,
                    Entry::Jump => {}
                }
            }
        }
    }

    // `rev[i]` is instruction `len - 1 - i`; a jump at rev index `from` to
    // rev index `to` (< from) has offset `from - to - 1`.
    let mut rev: Vec<SockFilter> = Vec::new();
    let none = usize::MAX;
    let mut at_load = vec![none; size];
    let mut at_and = vec![none; size];
    let mut at_jump = vec![none; size];
    let mut rets: BTreeMap<u32, usize> = BTreeMap::new();
    let mut trampolines: BTreeMap<(NodeId, Entry), usize> = BTreeMap::new();

    for &n in order.iter().rev() {
        let node = dag.node(n);
        let Node::Test {
            word,
            mask,
            op,
            k,
            t,
            f,
        } = node
        else {
            continue;
        };
        // Worst case: two trampolines between this jump and what follows.
        let from_est = rev.len() + 2;
        let mut target = [0usize; 2];
        for (slot, s) in [t, f].into_iter().enumerate() {
            let sn = dag.node(s);
            let (key, direct) = match sn {
                Node::Ret(rk) => (None, rets.get(&rk).copied()),
                Node::Test { .. } => {
                    let e = entry(node, sn);
                    let pos = match e {
                        Entry::Load => at_load[s as usize],
                        Entry::And => at_and[s as usize],
                        Entry::Jump => at_jump[s as usize],
                    };
                    let tramp = trampolines.get(&(s, e)).copied();
                    let best = match tramp {
                        Some(tp) if tp > pos || pos == none => tp,
                        _ => pos,
                    };
                    (Some((s, e, pos)), (best != none).then_some(best))
                }
            };
            match direct {
                Some(p) if from_est - p - 1 <= 255 => target[slot] = p,
                _ => {
                    let here = rev.len();
                    match (sn, key) {
                        (Node::Ret(rk), _) => {
                            rev.push(SockFilter::stmt(BPF_RET | BPF_K, rk));
                            rets.insert(rk, here);
                        }
                        (_, Some((s, e, pos))) if pos != none => {
                            // Successors come later in the order, so `pos` is placed.
                            let off = here - pos - 1;
                            rev.push(SockFilter::stmt(BPF_JMP | BPF_JA, off as u32));
                            trampolines.insert((s, e), here);
                        }
                        _ => return Err(EmitError::Unplaced(s)),
                    }
                    target[slot] = here;
                }
            }
        }
        let from = rev.len();
        let jt = (from - target[0] - 1) as u8;
        let jf = (from - target[1] - 1) as u8;
        rev.push(SockFilter::jump(BPF_JMP | op | BPF_K, k, jt, jf));
        at_jump[n as usize] = from;
        if mask != FULL && (needs_load[n as usize] || needs_and[n as usize]) {
            at_and[n as usize] = rev.len();
            rev.push(SockFilter::stmt(BPF_ALU | BPF_AND | BPF_K, mask));
        }
        if needs_load[n as usize] {
            at_load[n as usize] = rev.len();
            rev.push(SockFilter::stmt(BPF_LD | BPF_W | BPF_ABS, word));
        }
        if rev.len() > BPF_MAXINSNS {
            return Err(EmitError::TooLong(rev.len()));
        }
    }
    rev.reverse();
    Ok(rev)
}
