//! Seccomp comments: what a load reads, what a return means, and what a
//! compare tests, from a conservative forward tracking of what A holds.

use core::fmt::{self, Write};

use super::targets::jump_targets;
use crate::insn::{
    bpf_class, Insn, JmpOp, Size, SockFilter, Src, BPF_JMP, BPF_MAXINSNS, BPF_RET, SKF_AD_OFF,
};
use crate::seccomp::*;

/// Writes the name of the `seccomp_data` word at offset `k` for `arch`
/// (`nr`, `arch`, `args[2] lo`, `instruction_pointer hi`, ...), or why the
/// offset is not one.
pub fn load_comment(k: u32, arch: Arch, w: &mut impl Write) -> fmt::Result {
    if k >= SKF_AD_OFF {
        return w.write_str("socket-filter ancillary load (seccomp rejects it)");
    }
    if k % 4 != 0 || k >= SECCOMP_DATA_SIZE {
        return w.write_str("not a seccomp_data word (seccomp rejects it)");
    }
    let half = |base: u32| {
        if k == word(base, Half::Low, arch.endian()) {
            "lo"
        } else {
            "hi"
        }
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

/// What A holds, as a small code: nothing reaches here yet, unknown, or the
/// `seccomp_data` word at offset `4 * (code - 2)`.
type State = u8;
const BOTTOM: State = 0;
const UNKNOWN: State = 1;

fn field(k: u32) -> State {
    if k % 4 == 0 && k < SECCOMP_DATA_SIZE {
        2 + (k / 4) as u8
    } else {
        UNKNOWN
    }
}

fn join(a: State, b: State) -> State {
    match (a, b) {
        (BOTTOM, x) | (x, BOTTOM) => x,
        (x, y) if x == y => x,
        _ => UNKNOWN,
    }
}

/// Tracks A along the program (jumps only go forward, so one pass suffices).
pub(super) struct Tracker {
    arch: Arch,
    len: usize,
    /// State flowing in from jumps, per target.
    pending: [State; BPF_MAXINSNS],
    /// State falling through from the previous instruction.
    fall: State,
}

impl Tracker {
    pub(super) fn new(arch: Arch, len: usize) -> Self {
        Tracker {
            arch,
            len,
            pending: [BOTTOM; BPF_MAXINSNS],
            fall: UNKNOWN,
        }
    }

    /// Accounts for the instruction at `pc` and writes its comment.
    pub(super) fn step(&mut self, pc: usize, f: SockFilter, w: &mut impl Write) -> fmt::Result {
        let a = if pc < BPF_MAXINSNS {
            join(self.fall, self.pending[pc])
        } else {
            UNKNOWN
        };
        let insn = Insn::decode(f);
        self.comment(insn, a, w)?;
        // What A holds afterwards.
        let out = match insn {
            Insn::LdAbs(Size::W, k) => field(k),
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
            for t in jump_targets(f, pc, self.len).into_iter().flatten() {
                if t < BPF_MAXINSNS {
                    self.pending[t] = join(self.pending[t], a);
                }
            }
            // A jump that becomes `.insn` (target out of range) is treated as
            // ending the straight line; so is every jump.
            self.fall = BOTTOM;
        } else if bpf_class(f.code) == BPF_RET {
            self.fall = BOTTOM;
        } else {
            self.fall = out;
        }
        Ok(())
    }

    fn comment(&self, insn: Insn, a: State, w: &mut impl Write) -> fmt::Result {
        match insn {
            Insn::LdAbs(Size::W, k) => load_comment(k, self.arch, w),
            Insn::LdAbs(..) | Insn::LdInd(..) | Insn::LdxMsh(_) => {
                w.write_str("packet load (seccomp rejects it)")
            }
            Insn::LdLen | Insn::LdxLen => w.write_str("sizeof(seccomp_data) = 64"),
            Insn::Alu(crate::insn::AluOp::Mod, _) => w.write_str("mod (seccomp rejects it)"),
            Insn::RetK(k) => action_comment(k, w),
            Insn::RetA => w.write_str("action from A"),
            Insn::RetX => w.write_str("ret x (the kernel rejects it)"),
            Insn::Jmp {
                op, src: Src::K(k), ..
            } if a >= 2 => self.compare_comment(op, k, (a as u32 - 2) * 4, w),
            _ => Ok(()),
        }
    }

    fn compare_comment(&self, op: JmpOp, k: u32, off: u32, w: &mut impl Write) -> fmt::Result {
        let rel = match op {
            JmpOp::Jeq => "==",
            JmpOp::Jgt => ">",
            JmpOp::Jge => ">=",
            JmpOp::Jset => return Ok(()),
        };
        match off {
            SECCOMP_DATA_NR => {
                if self.arch == Arch::X86_64 && k == X32_SYSCALL_BIT {
                    return write!(w, "nr {rel} X32_SYSCALL_BIT");
                }
                let (prefix, nr) = if self.arch == Arch::X86_64 && k & X32_SYSCALL_BIT != 0 {
                    ("x32 ", k & !X32_SYSCALL_BIT)
                } else {
                    ("", k)
                };
                match self.arch.syscall_name(nr) {
                    Some(name) => write!(w, "nr {rel} {prefix}{name}"),
                    None => Ok(()),
                }
            }
            SECCOMP_DATA_ARCH => match AUDIT_ARCH_NAMES.iter().find(|(_, v)| *v == k) {
                Some((name, _)) => write!(w, "arch {rel} {name}"),
                None => Ok(()),
            },
            _ => {
                let mut name = super::LineBuf::new();
                load_comment(off, self.arch, &mut name)?;
                write!(w, "{} {rel} {k:#x}", name.as_str())
            }
        }
    }
}
