//! Seccomp comments: what a load reads, what a return means, and what a
//! compare tests, from a forward tracking, along every path, of what A holds
//! and which architectures the path has established.
//!
//! # Path sensitivity
//!
//! Syscall numbers and argument words mean different things on different
//! architectures, so every comment uses the architectures that can reach the
//! instruction: the tracker follows each `arch` comparison (`jeq`, `jgt`,
//! `jge`, `jset` on the loaded `arch` word) and sends to each successor only
//! the architectures for which that outcome holds; where paths meet, their
//! sets join. A number compared with `nr` is named from that set's tables:
//! one name when they agree, each architecture's name when up to four
//! disagree, no name otherwise ("both or neither"). x86_64 numbers with the
//! x32 bit (`0x40000000`) are x32 calls: there is no x32 table here, so they
//! are marked as x32 and left unnamed rather than named after the x86_64
//! call with the same low bits. Argument and instruction-pointer words are
//! named by the byte order of the path's architectures (on big-endian ones
//! the low word is the second). Where no `arch` check has happened yet, the
//! architecture given in [`DisasmOptions::annotate`](super::DisasmOptions)
//! is assumed and the comment says so.

use core::fmt::{self, Write};

use super::targets::jump_targets;
use crate::insn::{
    bpf_class, AluOp, Insn, JmpOp, Size, SockFilter, Src, BPF_JMP, BPF_MAXINSNS, BPF_RET,
    SKF_AD_OFF,
};
use crate::seccomp::*;

/// Writes the name of the `seccomp_data` word at offset `k` for `arch`
/// (`nr`, `arch`, `args[2] lo`, `instruction_pointer hi`, ...), or why the
/// offset is not one.
pub fn load_comment(k: u32, arch: Arch, w: &mut impl Write) -> fmt::Result {
    word_comment(k, Some(arch.endian()), w)
}

/// [`load_comment`] with a byte order that may be unknown (`None`: both
/// halves are named).
fn word_comment(k: u32, endian: Option<Endian>, w: &mut impl Write) -> fmt::Result {
    if k >= SKF_AD_OFF {
        return w.write_str("socket-filter ancillary load (seccomp rejects it)");
    }
    if k % 4 != 0 || k >= SECCOMP_DATA_SIZE {
        return w.write_str("not a seccomp_data word (seccomp rejects it)");
    }
    let half = |base: u32| match endian {
        Some(e) if k == word(base, Half::Low, e) => "lo",
        Some(_) => "hi",
        None if k == base => "lo (little-endian) or hi (big-endian)",
        None => "hi (little-endian) or lo (big-endian)",
    };
    match k {
        SECCOMP_DATA_NR => w.write_str("nr"),
        SECCOMP_DATA_ARCH => w.write_str("arch"),
        8 | 12 => write!(w, "instruction_pointer {}", half(SECCOMP_DATA_IP)),
        _ => {
            let i = (k - SECCOMP_DATA_ARGS) / 8;
            write!(w, "args[{i}] {}", half(SECCOMP_DATA_ARGS + 8 * i))
        }
    }
}

fn word(base: u32, half: Half, endian: Endian) -> u32 {
    match (half, endian) {
        (Half::Low, Endian::Little) | (Half::High, Endian::Big) => base,
        _ => base + 4,
    }
}

/// Writes what a seccomp filter returning `ret` asks for: `ALLOW`,
/// `ERRNO(1) EPERM`, `KILL_PROCESS`, `TRAP(5)`, ...
pub fn action_comment(ret: u32, w: &mut impl Write) -> fmt::Result {
    let data = ret & SECCOMP_RET_DATA;
    let plain = |w: &mut dyn Write, name: &str| -> fmt::Result {
        w.write_str(name)?;
        if data != 0 {
            write!(w, " (data {data:#x} ignored)")?;
        }
        Ok(())
    };
    match ret & SECCOMP_RET_ACTION_FULL {
        SECCOMP_RET_ALLOW => plain(w, "ALLOW"),
        SECCOMP_RET_LOG => plain(w, "LOG"),
        SECCOMP_RET_KILL_PROCESS => plain(w, "KILL_PROCESS"),
        SECCOMP_RET_KILL_THREAD => plain(w, "KILL_THREAD"),
        SECCOMP_RET_USER_NOTIF => plain(w, "USER_NOTIF"),
        SECCOMP_RET_TRAP => write!(w, "TRAP({data})"),
        SECCOMP_RET_TRACE => write!(w, "TRACE({data})"),
        SECCOMP_RET_ERRNO => {
            write!(w, "ERRNO({data})")?;
            if data == 0 {
                w.write_str(" returns 0 without running the syscall")
            } else if data > MAX_ERRNO {
                write!(w, " capped to {MAX_ERRNO}")
            } else {
                match syscalls::Errno::new(data as i32).name() {
                    Some(name) => write!(w, " {name}"),
                    None => Ok(()),
                }
            }
        }
        _ => w.write_str("unknown action: kills the process"),
    }
}

/// What A holds, as a small code: nothing reaches here yet, unknown, the
/// `seccomp_data` word at offset `4 * (code - WORD)`, or that word ANDed
/// with a constant (`code - MASKED`).
type AState = u8;
const BOTTOM: AState = 0;
const UNKNOWN: AState = 1;
const WORD: AState = 2;
const MASKED: AState = WORD + 16;

fn field(k: u32) -> AState {
    if k % 4 == 0 && k < SECCOMP_DATA_SIZE {
        WORD + (k / 4) as u8
    } else {
        UNKNOWN
    }
}

fn join_a(a: AState, b: AState) -> AState {
    match (a, b) {
        (BOTTOM, x) | (x, BOTTOM) => x,
        (x, y) if x == y => x,
        _ => UNKNOWN,
    }
}

/// The architecture values a path may carry: bit `i` for `Arch::ALL[i]`,
/// and [`FOREIGN`] for every value that is no known architecture.
type ArchSet = u32;
const FOREIGN: ArchSet = 1 << Arch::ALL.len();
const ANY: ArchSet = (FOREIGN << 1) - 1;

fn arch_bit(a: Arch) -> ArchSet {
    let mut i = 0;
    while i < Arch::ALL.len() {
        if Arch::ALL[i] as u8 == a as u8 {
            return 1 << i;
        }
        i += 1;
    }
    0
}

fn arches_in(set: ArchSet) -> impl Iterator<Item = Arch> {
    Arch::ALL
        .into_iter()
        .enumerate()
        .filter(move |(i, _)| set & (1 << i) != 0)
        .map(|(_, a)| a)
}

/// The part of `set` for which `(arch op k)` is `outcome`. A foreign value
/// can take either outcome, except that it never equals a known
/// architecture's value.
fn split(set: ArchSet, op: JmpOp, k: u32, outcome: bool) -> ArchSet {
    let mut out = 0;
    for a in arches_in(set) {
        if op.holds(a.audit_arch(), k) == outcome {
            out |= arch_bit(a);
        }
    }
    if set & FOREIGN != 0 {
        let known = op == JmpOp::Jeq && Arch::from_audit(k).is_some();
        if !(known && outcome) {
            out |= FOREIGN;
        }
    }
    out
}

/// What flows into an instruction: A and the architectures (packed: A in
/// the top byte; 0 = nothing reaches it).
type Flow = u32;

fn flow(a: AState, arches: ArchSet) -> Flow {
    if a == BOTTOM || arches == 0 {
        0
    } else {
        (u32::from(a) << 24) | arches
    }
}

fn flow_a(f: Flow) -> AState {
    (f >> 24) as u8
}

fn flow_arches(f: Flow) -> ArchSet {
    f & ANY
}

fn join(x: Flow, y: Flow) -> Flow {
    match (x, y) {
        (0, f) | (f, 0) => f,
        _ => flow(
            join_a(flow_a(x), flow_a(y)),
            flow_arches(x) | flow_arches(y),
        ),
    }
}

/// Tracks A and the architectures along the program (jumps only go
/// forward, so one pass suffices).
pub(super) struct Tracker {
    /// Assumed where no `arch` check has happened yet.
    arch: Arch,
    len: usize,
    /// What flows in from jumps, per target.
    pending: [Flow; BPF_MAXINSNS],
    /// What falls through from the previous instruction.
    fall: Flow,
}

impl Tracker {
    pub(super) fn new(arch: Arch, len: usize) -> Self {
        Tracker {
            arch,
            len,
            pending: [0; BPF_MAXINSNS],
            fall: flow(UNKNOWN, ANY),
        }
    }

    /// Accounts for the instruction at `pc` and writes its comment.
    pub(super) fn step(&mut self, pc: usize, f: SockFilter, w: &mut impl Write) -> fmt::Result {
        let here = if pc < BPF_MAXINSNS {
            join(self.fall, self.pending[pc])
        } else {
            flow(UNKNOWN, ANY)
        };
        let (a, arches) = (flow_a(here), flow_arches(here));
        let insn = Insn::decode(f);
        self.comment(insn, a, arches, w)?;
        // What A holds afterwards.
        let out = match insn {
            Insn::LdAbs(Size::W, k) => field(k),
            Insn::Alu(AluOp::And, Src::K(_)) if (WORD..MASKED).contains(&a) => a + 16,
            Insn::Alu(AluOp::And, Src::K(_)) if a >= MASKED => a,
            Insn::LdImm(_)
            | Insn::LdAbs(..)
            | Insn::LdInd(..)
            | Insn::LdLen
            | Insn::LdMem(_)
            | Insn::Alu(..)
            | Insn::Neg
            | Insn::Txa
            | Insn::Raw(_) => UNKNOWN,
            _ => a,
        };
        if bpf_class(f.code) == BPF_JMP {
            let targets = jump_targets(f, pc, self.len);
            let outcomes: [ArchSet; 2] = match insn {
                Insn::Jmp {
                    op, src: Src::K(k), ..
                } if a == field(SECCOMP_DATA_ARCH) => {
                    [split(arches, op, k, true), split(arches, op, k, false)]
                }
                _ => [arches, arches],
            };
            for (t, set) in targets.into_iter().zip(outcomes) {
                if let Some(t) = t.filter(|&t| t < BPF_MAXINSNS) {
                    self.pending[t] = join(self.pending[t], flow(a, set));
                }
            }
            // A jump that becomes `.insn` (target out of range) is treated as
            // ending the straight line; so is every jump.
            self.fall = 0;
        } else if bpf_class(f.code) == BPF_RET {
            self.fall = 0;
        } else {
            self.fall = flow(out, arches);
        }
        Ok(())
    }

    /// The byte order of the path, if its architectures agree on one; the
    /// assumed architecture's when nothing was checked.
    fn endian(&self, arches: ArchSet) -> (Option<Endian>, bool) {
        if arches == ANY {
            return (Some(self.arch.endian()), true);
        }
        if arches & FOREIGN != 0 || arches == 0 {
            return (None, false);
        }
        let mut e = None;
        for a in arches_in(arches) {
            match e {
                None => e = Some(a.endian()),
                Some(x) if x != a.endian() => return (None, false),
                Some(_) => {}
            }
        }
        (e, false)
    }

    fn word(&self, k: u32, arches: ArchSet, w: &mut impl Write) -> fmt::Result {
        let (endian, assumed) = self.endian(arches);
        word_comment(k, endian, w)?;
        let is_arg = (SECCOMP_DATA_IP..SECCOMP_DATA_SIZE).contains(&k) && k % 4 == 0;
        if is_arg && assumed {
            write!(
                w,
                " (any arch may reach this: {} byte order assumed)",
                self.arch.name()
            )?;
        }
        Ok(())
    }

    fn comment(&self, insn: Insn, a: AState, arches: ArchSet, w: &mut impl Write) -> fmt::Result {
        match insn {
            Insn::LdAbs(Size::W, k) => {
                if k >= SKF_AD_OFF || k % 4 != 0 || k >= SECCOMP_DATA_SIZE {
                    load_comment(k, self.arch, w)
                } else {
                    self.word(k, arches, w)
                }
            }
            Insn::LdAbs(..) | Insn::LdInd(..) | Insn::LdxMsh(_) => {
                w.write_str("packet load (seccomp rejects it)")
            }
            Insn::LdLen | Insn::LdxLen => w.write_str("sizeof(seccomp_data) = 64"),
            Insn::Alu(AluOp::Mod, _) => w.write_str("mod (seccomp rejects it)"),
            Insn::RetK(k) => action_comment(k, w),
            Insn::RetA => w.write_str("action from A"),
            Insn::RetX => w.write_str("ret x (the kernel rejects it)"),
            Insn::Jmp {
                op, src: Src::K(k), ..
            } if a >= WORD => {
                let masked = a >= MASKED;
                let off = u32::from(if masked { a - MASKED } else { a - WORD }) * 4;
                self.compare_comment(op, k, off, masked, arches, w)
            }
            _ => Ok(()),
        }
    }

    fn compare_comment(
        &self,
        op: JmpOp,
        k: u32,
        off: u32,
        masked: bool,
        arches: ArchSet,
        w: &mut impl Write,
    ) -> fmt::Result {
        let rel = match op {
            JmpOp::Jeq => "==",
            JmpOp::Jgt => ">",
            JmpOp::Jge => ">=",
            JmpOp::Jset => "&",
        };
        let mut subject = super::LineBuf::new();
        self.word(off, arches, &mut subject)?;
        let subject = subject.as_str();
        let m = if masked { " (masked)" } else { "" };
        match off {
            SECCOMP_DATA_NR if !masked => self.nr_comment(rel, k, arches, w),
            SECCOMP_DATA_ARCH if !masked => match AUDIT_ARCH_NAMES.iter().find(|(_, v)| *v == k) {
                Some((name, _)) if op != JmpOp::Jset => write!(w, "arch {rel} {name}"),
                _ => write!(w, "arch {rel} {k:#x}"),
            },
            _ => write!(w, "{subject}{m} {rel} {k:#x}"),
        }
    }

    /// `nr OP k`, naming `k` from the tables of the path's architectures.
    fn nr_comment(&self, rel: &str, k: u32, arches: ArchSet, w: &mut impl Write) -> fmt::Result {
        let x86_64 = arches & arch_bit(Arch::X86_64) != 0;
        if k == X32_SYSCALL_BIT && (x86_64 || arches == ANY && self.arch == Arch::X86_64) {
            return write!(w, "nr {rel} X32_SYSCALL_BIT");
        }
        if rel == "&" {
            return write!(w, "nr & {k:#x}");
        }
        if arches == ANY {
            write!(w, "nr {rel} ")?;
            name_on(self.arch, k, w)?;
            return write!(
                w,
                " (any arch may reach this: {} assumed)",
                self.arch.name()
            );
        }
        let known = arches & !FOREIGN;
        if arches & FOREIGN != 0 || known == 0 {
            return write!(w, "nr {rel} {k:#x} (arch not established)");
        }
        let count = known.count_ones();
        let mut first: Option<Option<&'static str>> = None;
        let mut agree = true;
        for a in arches_in(known) {
            let n = syscall_name_on(a, k);
            match first {
                None => first = Some(n),
                Some(f) if f != n => agree = false,
                Some(_) => {}
            }
        }
        if count == 1 || agree {
            let a = arches_in(known).next().unwrap_or(self.arch);
            write!(w, "nr {rel} ")?;
            return name_on(a, k, w);
        }
        if count > 4 {
            return write!(w, "nr {rel} {k:#x} ({count} architectures: not named)");
        }
        write!(w, "nr {rel} {k:#x} (")?;
        for (i, a) in arches_in(known).enumerate() {
            if i > 0 {
                w.write_str(", ")?;
            }
            write!(w, "{} ", a.name())?;
            match syscall_name_on(a, k) {
                Some(n) => w.write_str(n)?,
                None if a == Arch::X86_64 && is_x32_number(k) => w.write_str("x32 call")?,
                None => w.write_str("none")?,
            }
        }
        w.write_str(")")
    }
}

/// Whether an x86_64 syscall number is an x32 call (bit 30 set, not -1).
fn is_x32_number(k: u32) -> bool {
    k & X32_SYSCALL_BIT != 0 && k != u32::MAX
}

/// The name of number `k` on `arch`; never an x86_64 name for an x32
/// number.
fn syscall_name_on(arch: Arch, k: u32) -> Option<&'static str> {
    if arch == Arch::X86_64 && is_x32_number(k) {
        return None;
    }
    arch.syscall_name(k)
}

/// `k` as a syscall of `arch`: its name, or the number with why it has none.
fn name_on(arch: Arch, k: u32, w: &mut impl Write) -> fmt::Result {
    match syscall_name_on(arch, k) {
        Some(n) => w.write_str(n),
        None if arch == Arch::X86_64 && is_x32_number(k) => {
            write!(w, "{k:#x} (x32 call; no x32 table to name it)")
        }
        None => write!(w, "{k:#x}"),
    }
}
