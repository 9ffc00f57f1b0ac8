//! The allocating builder.

use alloc::vec::Vec;

use super::{builder_ops, BuildError, Core, Fixup, LabelSlot, Store};
use crate::insn::SockFilter;

/// A builder that grows as needed (feature `alloc`); same operations as
/// [`Builder`](super::Builder).
pub struct ProgramBuilder {
    core: Core<Vecs>,
}

#[derive(Default)]
struct Vecs {
    insns: Vec<SockFilter>,
    labels: Vec<LabelSlot>,
    fixups: Vec<Fixup>,
}

impl Store for Vecs {
    fn insns(&self) -> &[SockFilter] {
        &self.insns
    }
    fn insns_mut(&mut self) -> &mut [SockFilter] {
        &mut self.insns
    }
    fn push_insn(&mut self, f: SockFilter) -> Result<(), usize> {
        self.insns.push(f);
        Ok(())
    }
    fn grow_insns(&mut self, len: usize) -> Result<(), usize> {
        self.insns.resize(len, SockFilter::default());
        Ok(())
    }
    fn labels(&self) -> &[LabelSlot] {
        &self.labels
    }
    fn labels_mut(&mut self) -> &mut [LabelSlot] {
        &mut self.labels
    }
    fn push_label(&mut self) -> Result<(), usize> {
        self.labels.push(LabelSlot::EMPTY);
        Ok(())
    }
    fn fixups(&self) -> &[Fixup] {
        &self.fixups
    }
    fn fixups_mut(&mut self) -> &mut [Fixup] {
        &mut self.fixups
    }
    fn push_fixup(&mut self, f: Fixup) -> Result<(), usize> {
        self.fixups.push(f);
        Ok(())
    }
}

impl Default for ProgramBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl ProgramBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        ProgramBuilder {
            core: Core::new(Vecs::default()),
        }
    }

    builder_ops!();

    /// Resolves every jump, inserting trampolines where needed, and returns
    /// the finished program.
    pub fn finish(mut self) -> Result<Vec<SockFilter>, BuildError> {
        let len = self.core.finish()?;
        let mut insns = core::mem::take(&mut self.core.store.insns);
        insns.truncate(len);
        Ok(insns)
    }
}
