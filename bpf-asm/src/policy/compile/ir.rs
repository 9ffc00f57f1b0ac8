//! The compiler's intermediate form: a hash-consed decision diagram whose
//! inner nodes test one 32-bit word of `seccomp_data` and whose leaves are
//! return values.
//!
//! Every test has the form `(word & mask) OP k` with `OP` one of the
//! conditional jumps (`jeq`, `jgt`, `jge`, `jset`): exactly what one
//! `ld [word]`, an optional `and #mask` and one jump compute. Identical nodes
//! are stored once, so identical tails (the same action, the same argument
//! checks) are shared by construction.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use crate::insn::{BPF_JEQ, BPF_JGE, BPF_JGT, BPF_JSET};

/// Index of a node in a [`Dag`].
pub(crate) type NodeId = u32;

/// The mask that keeps every bit (no `and` needed).
pub(crate) const FULL: u32 = u32::MAX;

/// One node of the diagram.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub(crate) enum Node {
    /// `ret #k`.
    Ret(u32),
    /// `ld [word]; and #mask; j<op> #k, t, f`.
    Test {
        /// Offset in `seccomp_data` of the word loaded.
        word: u32,
        /// Mask applied to the word ([`FULL`]: none).
        mask: u32,
        /// `BPF_JEQ`, `BPF_JGT`, `BPF_JGE` or `BPF_JSET`.
        op: u16,
        /// The constant compared against.
        k: u32,
        /// Successor when the comparison holds.
        t: NodeId,
        /// Successor when it does not.
        f: NodeId,
    },
}

/// Whether `op` holds for `a` and `k`.
pub(crate) fn holds(op: u16, a: u32, k: u32) -> bool {
    match op {
        BPF_JEQ => a == k,
        BPF_JGT => a > k,
        BPF_JGE => a >= k,
        _ => a & k != 0,
    }
}

/// A hash-consed decision diagram.
#[derive(Default, Debug)]
pub(crate) struct Dag {
    nodes: Vec<Node>,
    index: BTreeMap<Node, NodeId>,
}

impl Dag {
    /// An empty diagram.
    pub(crate) fn new() -> Dag {
        Dag::default()
    }

    /// The node with id `id`.
    pub(crate) fn node(&self, id: NodeId) -> Node {
        self.nodes[id as usize]
    }

    fn intern(&mut self, n: Node) -> NodeId {
        if let Some(&id) = self.index.get(&n) {
            return id;
        }
        let id = self.nodes.len() as NodeId;
        self.nodes.push(n);
        self.index.insert(n, id);
        id
    }

    /// The leaf `ret #k`.
    pub(crate) fn ret(&mut self, k: u32) -> NodeId {
        self.intern(Node::Ret(k))
    }

    /// The node testing `(word & mask) op k`, simplified: tests whose outcome
    /// is known from the mask and constant alone collapse to a successor,
    /// `jset` folds its mask into `k`, and `jge k` becomes `jgt k - 1`.
    pub(crate) fn test(
        &mut self,
        word: u32,
        mask: u32,
        op: u16,
        k: u32,
        t: NodeId,
        f: NodeId,
    ) -> NodeId {
        if t == f {
            return t;
        }
        if mask == 0 {
            return if holds(op, 0, k) { t } else { f };
        }
        let (mask, op, k) = match op {
            BPF_JSET => {
                let k = k & mask;
                if k == 0 {
                    return f;
                }
                (FULL, BPF_JSET, k)
            }
            BPF_JEQ => {
                if k & !mask != 0 {
                    return f;
                }
                (mask, BPF_JEQ, k)
            }
            BPF_JGE => {
                if k == 0 {
                    return t;
                }
                if k > mask {
                    return f;
                }
                (mask, BPF_JGT, k - 1)
            }
            _ => {
                if k >= mask {
                    return f;
                }
                (mask, BPF_JGT, k)
            }
        };
        self.intern(Node::Test {
            word,
            mask,
            op,
            k,
            t,
            f,
        })
    }

    /// A test on a word whose value is the constant `value` (for example the
    /// missing high word of an argument on a 32-bit architecture): decided
    /// now.
    pub(crate) fn test_const(
        value: u32,
        mask: u32,
        op: u16,
        k: u32,
        t: NodeId,
        f: NodeId,
    ) -> NodeId {
        if holds(op, value & mask, k) {
            t
        } else {
            f
        }
    }

    /// Every node reachable from `root` in an order where each node comes
    /// before its successors (the depth-first reverse post-order, visiting
    /// the false branch last so that it tends to follow its parent).
    pub(crate) fn topo_order(&self, root: NodeId) -> Vec<NodeId> {
        let mut seen = alloc::vec![false; self.nodes.len()];
        let mut post = Vec::new();
        // Iterative DFS: (node, next child index).
        let mut stack: Vec<(NodeId, u8)> = Vec::new();
        seen[root as usize] = true;
        stack.push((root, 0));
        while let Some(top) = stack.last_mut() {
            let (id, state) = *top;
            let succ = match self.node(id) {
                Node::Ret(_) => None,
                Node::Test { t, f, .. } => match state {
                    0 => Some(t),
                    1 => Some(f),
                    _ => None,
                },
            };
            top.1 = state.saturating_add(1);
            match succ {
                Some(s) => {
                    if !seen[s as usize] {
                        seen[s as usize] = true;
                        stack.push((s, 0));
                    }
                }
                None => {
                    if state >= 2 || matches!(self.node(id), Node::Ret(_)) {
                        post.push(id);
                        stack.pop();
                    }
                }
            }
        }
        post.reverse();
        post
    }
}
