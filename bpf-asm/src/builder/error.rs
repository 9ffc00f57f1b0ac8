//! Errors of the [`Builder`](super::Builder) and
//! [`ProgramBuilder`](super::ProgramBuilder).

use core::fmt;

use super::Label;

/// Which caller-provided buffer ran out.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Buffer {
    /// The instruction buffer (which must also hold the trampolines).
    Instructions,
    /// The label slots.
    Labels,
    /// The jump fixup slots (one per jump that names a label).
    Fixups,
}

/// Why a program could not be built.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum BuildErrorKind {
    /// A label was bound a second time.
    LabelBoundTwice {
        /// The label.
        label: Label,
        /// The instruction index of the first binding.
        first: usize,
    },
    /// A jump names a label that is already bound at or before the jump
    /// (classic BPF only jumps forward).
    BackwardJump {
        /// The label.
        label: Label,
        /// The instruction index the label is bound to.
        target: usize,
    },
    /// A jump names a label that was never bound.
    UndefinedLabel {
        /// The label.
        label: Label,
    },
    /// A label was created by another builder (its number is unknown here).
    UnknownLabel {
        /// The label.
        label: Label,
    },
    /// A jump targets a label bound after the last instruction, or a
    /// conditional jump that is the last instruction falls through past the end.
    PastEnd {
        /// The label, or `None` for a fall-through.
        label: Option<Label>,
    },
    /// A caller-provided buffer is too small.
    Capacity {
        /// Which buffer.
        buffer: Buffer,
        /// Its size in entries.
        capacity: usize,
    },
    /// The program (with trampolines) is longer than `BPF_MAXINSNS` (4096).
    TooLong {
        /// The length it would have.
        len: usize,
    },
    /// The program has no instruction (the kernel rejects empty programs).
    Empty,
    /// An instruction pushed with [`push`](super::Builder::push) carries jump
    /// offsets; they cannot be relocated when trampolines are inserted. Use
    /// `jump` or `ja` with labels instead.
    RawJumpOffset,
}

/// A build error: what went wrong, at which instruction index (before
/// trampolines are inserted, i.e. counting pushed instructions).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct BuildError {
    /// The index of the instruction (as pushed) the error is about.
    pub index: usize,
    /// What went wrong.
    pub kind: BuildErrorKind,
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "instruction {}: ", self.index)?;
        match self.kind {
            BuildErrorKind::LabelBoundTwice { label, first } => write!(
                f,
                "label {label} is bound a second time (first bound at instruction {first})"
            ),
            BuildErrorKind::BackwardJump { label, target } => write!(
                f,
                "jump to label {label}, which is bound at instruction {target}: \
                 classic BPF jumps only forward"
            ),
            BuildErrorKind::UndefinedLabel { label } => {
                write!(f, "jump to label {label}, which is never bound")
            }
            BuildErrorKind::UnknownLabel { label } => {
                write!(f, "label {label} does not belong to this builder")
            }
            BuildErrorKind::PastEnd { label: Some(label) } => write!(
                f,
                "jump to label {label}, which is bound after the last instruction"
            ),
            BuildErrorKind::PastEnd { label: None } => write!(
                f,
                "conditional jump is the last instruction; its fall-through leaves the program"
            ),
            BuildErrorKind::Capacity { buffer, capacity } => {
                let what = match buffer {
                    Buffer::Instructions => "instruction buffer",
                    Buffer::Labels => "label buffer",
                    Buffer::Fixups => "fixup buffer",
                };
                write!(f, "the {what} is full ({capacity} entries)")
            }
            BuildErrorKind::TooLong { len } => write!(
                f,
                "the program would have {len} instructions; the kernel allows at most 4096"
            ),
            BuildErrorKind::Empty => write!(f, "the program has no instruction"),
            BuildErrorKind::RawJumpOffset => write!(
                f,
                "pushed jump carries raw offsets, which cannot be relocated; \
                 use jump()/ja() with labels"
            ),
        }
    }
}

impl core::error::Error for BuildError {}
