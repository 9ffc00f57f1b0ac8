//! Disassembly to `bpf_asm` text that the assembler ([`crate::text`]) turns
//! back into the identical instructions.
//!
//! Jump targets get labels `lN` (N = instruction index). Instructions that do
//! not decode canonically ([`Insn::Raw`]: unknown codes, stray `jt`/`jf`/`k`
//! bits) and jumps whose target lies outside the program are written as
//! `.insn CODE, JT, JF, K`. With [`DisasmOptions::annotate`], `;` comments
//! explain seccomp loads, returns and compares, following the architecture
//! each path has checked (see the `annotate` module); they never change what
//! the text assembles to.
//!
//! ```
//! use bpf_asm::disasm::{write_disasm, DisasmOptions};
//! use bpf_asm::{Insn, Size, SockFilter};
//! let prog = [Insn::LdAbs(Size::W, 0).encode(), Insn::RetK(0x7fff_0000).encode()];
//! let mut s = String::new();
//! write_disasm(&prog, &DisasmOptions::default(), &mut s).unwrap();
//! assert_eq!(s, "\tld [0]\n\tret #0x7fff0000\n");
//! ```

mod annotate;
mod targets;

use core::fmt::{self, Write};

use crate::insn::{Insn, Size, SockFilter, Src};
use crate::seccomp::Arch;

use annotate::Tracker;
pub use annotate::{action_comment, load_comment};
use targets::Targets;

/// How to disassemble.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct DisasmOptions {
    /// Add seccomp comments. Names and byte orders come from the
    /// architectures each path has established by its `arch` checks; this
    /// architecture is assumed (and the comment says so) where any
    /// architecture may reach an instruction, e.g. in a program that never
    /// checks `arch`.
    pub annotate: Option<Arch>,
}

/// Writes the whole program, one instruction per line.
pub fn write_disasm(prog: &[SockFilter], opts: &DisasmOptions, w: &mut impl Write) -> fmt::Result {
    let targets = Targets::new(prog);
    let mut tracker = opts.annotate.map(|arch| Tracker::new(arch, prog.len()));
    let mut line = LineBuf::new();
    for (pc, &f) in prog.iter().enumerate() {
        if targets.contains(prog, pc) {
            write!(w, "l{pc}:")?;
        }
        w.write_char('\t')?;
        line.clear();
        write_insn(f, pc, prog.len(), &mut line)?;
        w.write_str(line.as_str())?;
        if let Some(t) = tracker.as_mut() {
            let mut comment = LineBuf::new();
            t.step(pc, f, &mut comment)?;
            if !comment.as_str().is_empty() {
                let pad = 24usize.saturating_sub(line.as_str().len()).max(1);
                write!(w, "{:pad$}; {}", "", comment.as_str())?;
            }
        }
        w.write_char('\n')?;
    }
    Ok(())
}

/// The whole program as text (feature `alloc`).
#[cfg(feature = "alloc")]
pub fn disassemble(prog: &[SockFilter], opts: &DisasmOptions) -> alloc::string::String {
    let mut s = alloc::string::String::new();
    // Writing to a String cannot fail.
    let _ = write_disasm(prog, opts, &mut s);
    s
}

/// Writes one instruction (no label, no newline). `pc` and `len` place it in
/// its program: jump targets are written as labels `lN`, and a jump whose
/// target is not inside `0..len` is written as `.insn`.
pub fn write_insn(f: SockFilter, pc: usize, len: usize, w: &mut impl Write) -> fmt::Result {
    let target = |off: u64| -> Option<usize> {
        let t = pc as u64 + 1 + off;
        (t < len as u64).then_some(t as usize)
    };
    let sz = |s: Size| match s {
        Size::W => "ld",
        Size::H => "ldh",
        Size::B => "ldb",
    };
    match Insn::decode(f) {
        Insn::LdImm(k) => write!(w, "ld #{}", Hex(k)),
        Insn::LdxImm(k) => write!(w, "ldx #{}", Hex(k)),
        Insn::LdAbs(s, k) => write!(w, "{} [{}]", sz(s), Off(k)),
        Insn::LdInd(s, k) => write!(w, "{} [x + {}]", sz(s), Off(k)),
        Insn::LdLen => w.write_str("ld #len"),
        Insn::LdxLen => w.write_str("ldx #len"),
        Insn::LdMem(k) => write!(w, "ld M[{}]", Off(k)),
        Insn::LdxMem(k) => write!(w, "ldx M[{}]", Off(k)),
        Insn::LdxMsh(k) => write!(w, "ldxb 4*([{}]&0xf)", Off(k)),
        Insn::St(k) => write!(w, "st M[{}]", Off(k)),
        Insn::Stx(k) => write!(w, "stx M[{}]", Off(k)),
        Insn::Alu(op, Src::K(k)) => write!(w, "{} #{}", op.mnemonic(), Hex(k)),
        Insn::Alu(op, Src::X) => write!(w, "{} x", op.mnemonic()),
        Insn::Neg => w.write_str("neg"),
        Insn::Ja(k) => match target(k as u64) {
            Some(t) => write!(w, "ja l{t}"),
            None => write_raw(f, w),
        },
        Insn::Jmp { op, src, jt, jf } => match (target(jt as u64), target(jf as u64)) {
            (Some(t), Some(e)) => {
                w.write_str(op.mnemonic())?;
                match src {
                    Src::K(k) => write!(w, " #{}", Hex(k))?,
                    Src::X => w.write_str(" x")?,
                }
                write!(w, ", l{t}, l{e}")
            }
            _ => write_raw(f, w),
        },
        Insn::RetK(k) => write!(w, "ret #{}", Hex(k)),
        Insn::RetA => w.write_str("ret a"),
        Insn::RetX => w.write_str("ret x"),
        Insn::Tax => w.write_str("tax"),
        Insn::Txa => w.write_str("txa"),
        Insn::Raw(f) => write_raw(f, w),
    }
}

fn write_raw(f: SockFilter, w: &mut impl Write) -> fmt::Result {
    write!(w, ".insn {:#04x}, {}, {}, {}", f.code, f.jt, f.jf, Hex(f.k))
}

/// A constant: `0` or `0x...`.
struct Hex(u32);

impl fmt::Display for Hex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 < 10 {
            write!(f, "{}", self.0)
        } else {
            write!(f, "{:#x}", self.0)
        }
    }
}

/// An offset or index: decimal when small, else hex.
struct Off(u32);

impl fmt::Display for Off {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 < 0x1000 {
            write!(f, "{}", self.0)
        } else {
            write!(f, "{:#x}", self.0)
        }
    }
}

/// A fixed-size line buffer (no allocator needed); text past its end is
/// dropped, which cannot happen for the lines written here.
struct LineBuf {
    buf: [u8; 160],
    len: usize,
}

impl LineBuf {
    fn new() -> Self {
        LineBuf {
            buf: [0; 160],
            len: 0,
        }
    }
    fn clear(&mut self) {
        self.len = 0;
    }
    fn as_str(&self) -> &str {
        // Only whole `&str`s are appended, cut at a char boundary.
        core::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }
}

impl Write for LineBuf {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let room = self.buf.len() - self.len;
        let mut n = s.len().min(room);
        while !s.is_char_boundary(n) {
            n -= 1;
        }
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        if n < s.len() {
            return Err(fmt::Error);
        }
        Ok(())
    }
}
