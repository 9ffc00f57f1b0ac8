//! A program builder with forward labels.
//!
//! Instructions are appended in order; jumps name [`Label`]s that are bound
//! later. [`Builder::finish`] resolves every jump. A conditional jump whose
//! target is more than 255 instructions away gets a *trampoline*: an
//! unconditional `ja` (32-bit range) to the target, inserted right after the
//! jump, which the short `jt`/`jf` offset reaches; a branch reuses a
//! trampoline to the same label of a later jump when one is in reach.
//! Trampolines are added only for branches that cannot reach their target,
//! taking into account that inserting one can push another jump out of range.
//!
//! [`Builder`] works without an allocator on caller-provided buffers;
//! [`ProgramBuilder`] (feature `alloc`) grows as needed. Both have the same
//! operations. Operations do not return errors one by one: the first error is
//! remembered (with its instruction index), later operations are ignored, and
//! `finish` returns it. Nothing is ever truncated silently.
//!
//! ```
//! use bpf_asm::builder::{Builder, Fixup, LabelSlot, Target};
//! use bpf_asm::{Insn, JmpOp, SockFilter, Size, Src};
//!
//! let mut insns = [SockFilter::default(); 16];
//! let mut labels = [LabelSlot::EMPTY; 4];
//! let mut fixups = [Fixup::EMPTY; 4];
//! let mut b = Builder::new(&mut insns, &mut labels, &mut fixups);
//! let kill = b.new_label();
//! b.push(Insn::LdAbs(Size::W, 4));
//! b.jump(JmpOp::Jeq, Src::K(0xc000_003e), Target::Next, Target::Label(kill));
//! b.ret(0x7fff_0000);
//! b.bind(kill);
//! b.ret(0);
//! let prog = b.finish().unwrap();
//! assert_eq!(prog[1], SockFilter::jump(0x15, 0xc000_003e, 0, 1));
//! ```

mod error;
mod layout;
#[cfg(feature = "alloc")]
mod program;

use core::fmt;

pub use error::{Buffer, BuildError, BuildErrorKind};
#[cfg(feature = "alloc")]
pub use program::ProgramBuilder;

use crate::insn::{bpf_class, bpf_op, Insn, JmpOp, SockFilter, Src, BPF_JA, BPF_JMP, BPF_MAXINSNS};

/// A jump target, created by `new_label` and bound to the next instruction by
/// `bind`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub struct Label(u32);

impl Label {
    /// The label's number in its builder (0, 1, 2, ... in creation order).
    pub const fn index(self) -> u32 {
        self.0
    }
}

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "L{}", self.0)
    }
}

/// Where one branch of a conditional jump goes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Target {
    /// The next instruction pushed (offset 0 unless trampolines sit between).
    Next,
    /// A label bound later.
    Label(Label),
}

impl From<Label> for Target {
    fn from(l: Label) -> Target {
        Target::Label(l)
    }
}

/// Storage for one label (caller-provided for [`Builder`]).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct LabelSlot {
    /// Instruction index the label is bound to, `u32::MAX` while unbound.
    pos: u32,
}

impl LabelSlot {
    /// An unbound slot, to fill arrays with.
    pub const EMPTY: LabelSlot = LabelSlot { pos: UNBOUND };
}

const UNBOUND: u32 = u32::MAX;

/// Storage for one jump that names a label (caller-provided for [`Builder`]).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Fixup {
    /// Index of the jump instruction, as pushed.
    at: u32,
    /// Whether this is `ja` (only `jt` is used) or a conditional jump.
    ja: bool,
    jt: Target,
    jf: Target,
    /// How the true / false branch reaches its target.
    route_t: Route,
    route_f: Route,
    /// Number of trampolines placed right after this jump.
    own: u8,
    /// Trampolines of all earlier fixups (filled while laying out).
    before: u32,
}

impl Fixup {
    /// An unused slot, to fill arrays with.
    pub const EMPTY: Fixup = Fixup {
        at: 0,
        ja: false,
        jt: Target::Next,
        jf: Target::Next,
        route_t: Route::Direct,
        route_f: Route::Direct,
        own: 0,
        before: 0,
    };

    const fn trampolines(&self) -> u32 {
        self.own as u32
    }

    /// Where trampoline `slot` of this jump leads.
    fn slot_target(&self, slot: u8) -> Option<Target> {
        if self.route_t == Route::Own(slot) {
            Some(self.jt)
        } else if self.route_f == Route::Own(slot) {
            Some(self.jf)
        } else {
            None
        }
    }
}

/// How one branch of a conditional jump reaches its target.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
enum Route {
    /// Straight there (offset fits in 8 bits).
    Direct,
    /// Through trampoline `slot` placed right after this jump.
    Own(u8),
    /// Through trampoline `slot` of a later jump (fixup index `fixup`).
    Shared { fixup: u32, slot: u8 },
}

/// The buffers a builder appends to.
trait Store {
    fn insns(&self) -> &[SockFilter];
    fn insns_mut(&mut self) -> &mut [SockFilter];
    /// Appends; `Err(capacity)` when full.
    fn push_insn(&mut self, f: SockFilter) -> Result<(), usize>;
    /// Extends the instruction list to `len` entries; `Err(capacity)` when it cannot.
    fn grow_insns(&mut self, len: usize) -> Result<(), usize>;
    fn labels(&self) -> &[LabelSlot];
    fn labels_mut(&mut self) -> &mut [LabelSlot];
    fn push_label(&mut self) -> Result<(), usize>;
    fn fixups(&self) -> &[Fixup];
    fn fixups_mut(&mut self) -> &mut [Fixup];
    fn push_fixup(&mut self, f: Fixup) -> Result<(), usize>;
}

/// The operations shared by both builders.
struct Core<S> {
    store: S,
    error: Option<BuildError>,
    /// Number of labels handed out (may exceed the slots after a capacity error).
    next_label: u32,
}

impl<S: Store> Core<S> {
    fn new(store: S) -> Self {
        Core {
            store,
            error: None,
            next_label: 0,
        }
    }

    fn len(&self) -> usize {
        self.store.insns().len()
    }

    fn fail(&mut self, kind: BuildErrorKind) {
        if self.error.is_none() {
            self.error = Some(BuildError {
                index: self.len(),
                kind,
            });
        }
    }

    fn new_label(&mut self) -> Label {
        let l = Label(self.next_label);
        self.next_label = self.next_label.saturating_add(1);
        if self.error.is_none() {
            if let Err(capacity) = self.store.push_label() {
                self.fail(BuildErrorKind::Capacity {
                    buffer: Buffer::Labels,
                    capacity,
                });
            }
        }
        l
    }

    /// The label's bound position (`UNBOUND` if not yet); `None` (and an
    /// error) for a label of another builder.
    fn label_pos(&mut self, label: Label) -> Option<u32> {
        let pos = self.store.labels().get(label.0 as usize).map(|s| s.pos);
        if pos.is_none() {
            self.fail(BuildErrorKind::UnknownLabel { label });
        }
        pos
    }

    fn bind(&mut self, label: Label) {
        if self.error.is_some() {
            return;
        }
        let here = self.len() as u32;
        let Some(pos) = self.label_pos(label) else {
            return;
        };
        if pos != UNBOUND {
            let first = pos as usize;
            self.fail(BuildErrorKind::LabelBoundTwice { label, first });
            return;
        }
        self.store.labels_mut()[label.0 as usize].pos = here;
    }

    fn is_bound(&self, label: Label) -> bool {
        self.store
            .labels()
            .get(label.0 as usize)
            .is_some_and(|s| s.pos != UNBOUND)
    }

    fn append(&mut self, f: SockFilter) -> bool {
        if self.error.is_some() {
            return false;
        }
        if self.len() >= BPF_MAXINSNS {
            self.fail(BuildErrorKind::TooLong {
                len: self.len() + 1,
            });
            return false;
        }
        if let Err(capacity) = self.store.push_insn(f) {
            self.fail(BuildErrorKind::Capacity {
                buffer: Buffer::Instructions,
                capacity,
            });
            return false;
        }
        true
    }

    fn push(&mut self, insn: Insn) {
        let f = insn.encode();
        let relocatable = if bpf_class(f.code) != BPF_JMP {
            true
        } else if bpf_op(f.code) == BPF_JA {
            f.k == 0 && f.jt == 0 && f.jf == 0
        } else {
            f.jt == 0 && f.jf == 0
        };
        if !relocatable {
            self.fail(BuildErrorKind::RawJumpOffset);
            return;
        }
        self.append(f);
    }

    /// Checks that a jump may target `t` from the instruction about to be pushed.
    fn check_target(&mut self, t: Target) -> bool {
        let Target::Label(label) = t else {
            return true;
        };
        let here = self.len();
        let Some(pos) = self.label_pos(label) else {
            return false;
        };
        if pos != UNBOUND {
            let target = pos as usize;
            debug_assert!(target <= here);
            self.fail(BuildErrorKind::BackwardJump { label, target });
            return false;
        }
        true
    }

    fn add_jump(&mut self, f: SockFilter, ja: bool, jt: Target, jf: Target) {
        if self.error.is_some() || !self.check_target(jt) || !self.check_target(jf) {
            return;
        }
        let at = self.len() as u32;
        if !self.append(f) {
            return;
        }
        if jt == Target::Next && jf == Target::Next {
            return;
        }
        let fixup = Fixup {
            at,
            ja,
            jt,
            jf,
            ..Fixup::EMPTY
        };
        if let Err(capacity) = self.store.push_fixup(fixup) {
            self.fail(BuildErrorKind::Capacity {
                buffer: Buffer::Fixups,
                capacity,
            });
        }
    }

    fn jump(&mut self, op: JmpOp, src: Src, jt: Target, jf: Target) {
        let f = Insn::Jmp {
            op,
            src,
            jt: 0,
            jf: 0,
        }
        .encode();
        self.add_jump(f, false, jt, jf);
    }

    fn ja(&mut self, label: Label) {
        self.add_jump(
            Insn::Ja(0).encode(),
            true,
            Target::Label(label),
            Target::Next,
        );
    }

    fn finish(&mut self) -> Result<usize, BuildError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        layout::resolve(&mut self.store)
    }
}

/// Generates the operations common to [`Builder`] and [`ProgramBuilder`].
macro_rules! builder_ops {
    () => {
        /// Creates a new, unbound label.
        pub fn new_label(&mut self) -> $crate::builder::Label {
            self.core.new_label()
        }

        /// Binds `label` to the next instruction pushed. Binding a label twice
        /// is an error.
        pub fn bind(&mut self, label: $crate::builder::Label) {
            self.core.bind(label)
        }

        /// Whether `label` is bound already.
        pub fn is_bound(&self, label: $crate::builder::Label) -> bool {
            self.core.is_bound(label)
        }

        /// Appends an instruction. Jumps must have zero offsets here (use
        /// [`jump`](Self::jump) and [`ja`](Self::ja) to reach labels).
        pub fn push(&mut self, insn: $crate::insn::Insn) {
            self.core.push(insn)
        }

        /// Appends a conditional jump `op src` whose branches go to `jt` when
        /// the comparison holds and to `jf` otherwise.
        pub fn jump(
            &mut self,
            op: $crate::insn::JmpOp,
            src: $crate::insn::Src,
            jt: $crate::builder::Target,
            jf: $crate::builder::Target,
        ) {
            self.core.jump(op, src, jt, jf)
        }

        /// Appends an unconditional jump to `label` (`ja`, 32-bit range).
        pub fn ja(&mut self, label: $crate::builder::Label) {
            self.core.ja(label)
        }

        /// Appends `ret #k`.
        pub fn ret(&mut self, k: u32) {
            self.core.push($crate::insn::Insn::RetK(k))
        }

        /// Number of instructions pushed so far (trampolines not counted).
        pub fn len(&self) -> usize {
            self.core.len()
        }

        /// Whether nothing was pushed yet.
        pub fn is_empty(&self) -> bool {
            self.core.len() == 0
        }

        /// The first error met so far, if any (`finish` returns it too).
        pub fn error(&self) -> Option<$crate::builder::BuildError> {
            self.core.error
        }
    };
}
#[cfg(feature = "alloc")]
use builder_ops;

/// A builder on caller-provided buffers; needs no allocator.
///
/// `insns` must have room for the program and its trampolines; `labels` one
/// slot per label; `fixups` one slot per jump that names a label.
pub struct Builder<'a> {
    core: Core<Slices<'a>>,
}

struct Slices<'a> {
    insns: &'a mut [SockFilter],
    len: usize,
    labels: &'a mut [LabelSlot],
    nlabels: usize,
    fixups: &'a mut [Fixup],
    nfixups: usize,
}

impl Store for Slices<'_> {
    fn insns(&self) -> &[SockFilter] {
        &self.insns[..self.len]
    }
    fn insns_mut(&mut self) -> &mut [SockFilter] {
        &mut self.insns[..self.len]
    }
    fn push_insn(&mut self, f: SockFilter) -> Result<(), usize> {
        let cap = self.insns.len();
        let slot = self.insns.get_mut(self.len).ok_or(cap)?;
        *slot = f;
        self.len += 1;
        Ok(())
    }
    fn grow_insns(&mut self, len: usize) -> Result<(), usize> {
        if len > self.insns.len() {
            return Err(self.insns.len());
        }
        self.len = len;
        Ok(())
    }
    fn labels(&self) -> &[LabelSlot] {
        &self.labels[..self.nlabels]
    }
    fn labels_mut(&mut self) -> &mut [LabelSlot] {
        &mut self.labels[..self.nlabels]
    }
    fn push_label(&mut self) -> Result<(), usize> {
        let cap = self.labels.len();
        let slot = self.labels.get_mut(self.nlabels).ok_or(cap)?;
        *slot = LabelSlot::EMPTY;
        self.nlabels += 1;
        Ok(())
    }
    fn fixups(&self) -> &[Fixup] {
        &self.fixups[..self.nfixups]
    }
    fn fixups_mut(&mut self) -> &mut [Fixup] {
        &mut self.fixups[..self.nfixups]
    }
    fn push_fixup(&mut self, f: Fixup) -> Result<(), usize> {
        let cap = self.fixups.len();
        let slot = self.fixups.get_mut(self.nfixups).ok_or(cap)?;
        *slot = f;
        self.nfixups += 1;
        Ok(())
    }
}

impl<'a> Builder<'a> {
    /// A builder writing into `insns`, with `labels` and `fixups` as work space.
    pub fn new(
        insns: &'a mut [SockFilter],
        labels: &'a mut [LabelSlot],
        fixups: &'a mut [Fixup],
    ) -> Self {
        Builder {
            core: Core::new(Slices {
                insns,
                len: 0,
                labels,
                nlabels: 0,
                fixups,
                nfixups: 0,
            }),
        }
    }

    builder_ops!();

    /// Resolves every jump, inserting trampolines where needed, and returns
    /// the finished program (a prefix of the instruction buffer).
    pub fn finish(mut self) -> Result<&'a [SockFilter], BuildError> {
        let len = self.core.finish()?;
        let insns: &'a mut [SockFilter] = self.core.store.insns;
        Ok(&insns[..len])
    }
}
