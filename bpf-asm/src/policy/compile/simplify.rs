//! Path-sensitive simplification: a test whose outcome is already known from
//! the tests above it on the same path (the same comparison again, or a
//! comparison decided by a known equality or order on the same masked word)
//! is replaced by its known successor. This removes, for example, the
//! repeated high-word checks of consecutive 64-bit equality rules.
//!
//! Facts are only carried into sub-diagrams that test their word, so shared
//! tails stay shared.

use alloc::collections::BTreeMap;
use alloc::vec;
use alloc::vec::Vec;

use super::ir::{holds, Dag, Node, NodeId};
use crate::insn::{BPF_JEQ, BPF_JGT};

/// A known outcome `((word & mask) op k) == truth`.
type Fact = (u32, u32, u16, u32, bool);

/// Deepest recursion before the rest is kept as it is.
const MAX_DEPTH: usize = 1500;

/// The outcome of `(word & mask) op k` implied by `facts`, if any.
fn decide(facts: &[Fact], word: u32, mask: u32, op: u16, k: u32) -> Option<bool> {
    for &(fw, fm, fop, fk, truth) in facts {
        if fw != word || fm != mask {
            continue;
        }
        if fop == op && fk == k {
            return Some(truth);
        }
        match (fop, truth) {
            // The masked word is exactly fk.
            (BPF_JEQ, true) => return Some(holds(op, fk, k)),
            // The masked word is > fk.
            (BPF_JGT, true) => match op {
                BPF_JGT if k <= fk => return Some(true),
                BPF_JEQ if k <= fk => return Some(false),
                _ => {}
            },
            // The masked word is <= fk.
            (BPF_JGT, false) => match op {
                BPF_JGT if k >= fk => return Some(false),
                BPF_JEQ if k > fk => return Some(false),
                _ => {}
            },
            _ => {}
        }
    }
    None
}

struct Simplifier {
    /// Per original node: bit i set when word i is tested below it.
    words: Vec<u16>,
    memo: BTreeMap<(NodeId, Vec<Fact>), NodeId>,
}

/// The simplified diagram equivalent to `root`.
pub(crate) fn simplify(dag: &mut Dag, root: NodeId) -> NodeId {
    let order = dag.topo_order(root);
    let size = order.iter().map(|&n| n as usize + 1).max().unwrap_or(0);
    let mut words = vec![0u16; size];
    for &n in order.iter().rev() {
        if let Node::Test { word, t, f, .. } = dag.node(n) {
            words[n as usize] = (1u16 << ((word / 4) & 15)) | words[t as usize] | words[f as usize];
        }
    }
    let mut s = Simplifier {
        words,
        memo: BTreeMap::new(),
    };
    s.walk(dag, root, &[], 0)
}

impl Simplifier {
    fn walk(&mut self, dag: &mut Dag, id: NodeId, facts: &[Fact], depth: usize) -> NodeId {
        let Node::Test {
            word,
            mask,
            op,
            k,
            t,
            f,
        } = dag.node(id)
        else {
            return id;
        };
        if depth > MAX_DEPTH {
            return id;
        }
        let below = self.words[id as usize];
        let relevant: Vec<Fact> = facts
            .iter()
            .copied()
            .filter(|fact| below & (1u16 << ((fact.0 / 4) & 15)) != 0)
            .collect();
        let key = (id, relevant);
        if let Some(&done) = self.memo.get(&key) {
            return done;
        }
        let mut local = key.1.clone();
        let out = match decide(&local, word, mask, op, k) {
            Some(b) => self.walk(dag, if b { t } else { f }, &local, depth + 1),
            None => {
                local.push((word, mask, op, k, true));
                let nt = self.walk(dag, t, &local, depth + 1);
                local.pop();
                local.push((word, mask, op, k, false));
                let nf = self.walk(dag, f, &local, depth + 1);
                dag.test(word, mask, op, k, nt, nf)
            }
        };
        self.memo.insert(key, out);
        out
    }
}
