//! Which instructions are jump targets (and so get a label).

use crate::insn::{Insn, SockFilter, BPF_MAXINSNS};

/// Jump targets inside the first `BPF_MAXINSNS` instructions, as a bit set;
/// longer programs are scanned for the rest.
pub(super) struct Targets {
    bits: [u64; BPF_MAXINSNS / 64],
}

/// The in-range targets of the instruction at `pc` (as the disassembler
/// writes them: a jump with any target outside the program becomes `.insn`
/// and has no label targets).
pub(super) fn jump_targets(f: SockFilter, pc: usize, len: usize) -> [Option<usize>; 2] {
    let at = |off: u64| -> Option<usize> {
        let t = pc as u64 + 1 + off;
        (t < len as u64).then_some(t as usize)
    };
    match Insn::decode(f) {
        Insn::Ja(k) => [at(k as u64), None],
        Insn::Jmp { jt, jf, .. } => match (at(jt as u64), at(jf as u64)) {
            (Some(t), Some(e)) => [Some(t), Some(e)],
            _ => [None, None],
        },
        _ => [None, None],
    }
}

impl Targets {
    pub(super) fn new(prog: &[SockFilter]) -> Self {
        let mut bits = [0u64; BPF_MAXINSNS / 64];
        for (pc, &f) in prog.iter().enumerate() {
            for t in jump_targets(f, pc, prog.len()).into_iter().flatten() {
                if t < BPF_MAXINSNS {
                    bits[t / 64] |= 1 << (t % 64);
                }
            }
        }
        Targets { bits }
    }

    pub(super) fn contains(&self, prog: &[SockFilter], i: usize) -> bool {
        if i < BPF_MAXINSNS {
            return self.bits[i / 64] & (1 << (i % 64)) != 0;
        }
        prog[..i]
            .iter()
            .enumerate()
            .any(|(pc, &f)| jump_targets(f, pc, prog.len()).contains(&Some(i)))
    }
}
