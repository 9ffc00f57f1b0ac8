//! Assembly errors: what went wrong ([`AsmErrorKind`]) and where
//! ([`AsmError`], line and column), with messages that can be built in
//! `const` context (for [`bpf_program!`](crate::bpf_program)).

use core::fmt;

use crate::seccomp::Arch;

/// A short name copied out of the source (a label or a symbolic name), kept
/// inline so that errors need no allocator. Names longer than the buffer are
/// cut and end with `...`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Name {
    bytes: [u8; Name::CAP],
    len: u8,
}

impl Name {
    const CAP: usize = 40;

    /// Copies `src[start..end]`, cutting long names on a character boundary.
    pub(crate) const fn new(src: &[u8], start: usize, end: usize) -> Name {
        let mut bytes = [0u8; Name::CAP];
        let mut n = end - start;
        let cut = n > Name::CAP;
        if cut {
            n = Name::CAP - 3;
            while n > 0 && (src[start + n] & 0xc0) == 0x80 {
                n -= 1;
            }
        }
        let mut i = 0;
        while i < n {
            bytes[i] = src[start + i];
            i += 1;
        }
        if cut {
            bytes[n] = b'.';
            bytes[n + 1] = b'.';
            bytes[n + 2] = b'.';
            n += 3;
        }
        Name {
            bytes,
            len: n as u8,
        }
    }

    /// The name as text.
    pub const fn as_str(&self) -> &str {
        let (head, _) = self.bytes.split_at(self.len as usize);
        match core::str::from_utf8(head) {
            Ok(s) => s,
            Err(_) => "?",
        }
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What is wrong with the assembler input.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub enum AsmErrorKind {
    /// A character that starts no token.
    UnknownCharacter(char),
    /// A `/*` comment that no `*/` closes.
    UnterminatedComment,
    /// The grammar wanted something else here.
    UnexpectedToken {
        /// What would have been accepted.
        expected: &'static str,
        /// What was found.
        found: &'static str,
    },
    /// A name at the start of a statement that is neither a mnemonic nor a
    /// label definition (`name:`).
    UnknownInstruction(Name),
    /// A number that does not fit 32 bits (signed or unsigned).
    NumberOutOfRange,
    /// `ldx`/`ldxb` with literals other than `4*([k]&0xf)`.
    LdxbOffset,
    /// A jump to a label that is not defined.
    UnknownLabel(Name),
    /// A label defined twice.
    DuplicateLabel {
        /// The label.
        name: Name,
        /// Line of the first definition.
        first_line: u32,
    },
    /// `ja`/`jmp` to a label that is not after it.
    BackwardJump {
        /// Index of the jump.
        from: u32,
        /// Index of the target.
        to: u32,
    },
    /// A conditional jump whose target is not 0 to 255 instructions ahead.
    JumpOutOfRange {
        /// Index of the jump.
        from: u32,
        /// Index of the target.
        to: u32,
    },
    /// More than `BPF_MAXINSNS` (4096) instructions.
    TooManyInstructions,
    /// The source holds no instruction.
    EmptyProgram,
    /// `[name]` with a name that is no `seccomp_data` field.
    UnknownField(Name),
    /// A symbolic constant or action name that is not known.
    UnknownName(Name),
    /// `__NR_name` that the architecture does not have.
    UnknownSyscall {
        /// The syscall name (without `__NR_`).
        name: Name,
        /// The architecture it was looked up for.
        arch: Arch,
    },
    /// An errno name that is not known (or whose number differs on the
    /// target architecture).
    UnknownErrno(Name),
    /// An action that takes no value was given one (`ALLOW(1)`).
    ActionTakesNoValue(Name),
    /// A value exceeds what its field holds.
    ValueOutOfRange {
        /// What the value is for.
        what: &'static str,
        /// The largest value allowed.
        max: u32,
    },
    /// The output buffer of `assemble_into` is too short.
    OutputTooSmall {
        /// Number of instructions the program has.
        needed: u32,
    },
    /// The source is longer than 4 GiB.
    SourceTooLarge,
}

/// An assembly error and where it is. `line` and `column` count from 1
/// (columns in characters); both are 0 when the error concerns the whole
/// program rather than a place in it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct AsmError {
    /// Line of the offending token.
    pub line: u32,
    /// Column of the offending token, in characters.
    pub column: u32,
    /// What is wrong.
    pub kind: AsmErrorKind,
}

/// An error located by byte offset, before line and column are known.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Fail {
    pub at: usize,
    pub kind: AsmErrorKind,
}

impl Fail {
    pub(crate) const fn at(at: usize, kind: AsmErrorKind) -> Fail {
        Fail { at, kind }
    }

    /// Turns the byte offset into line and column.
    pub(crate) const fn locate(self, src: &[u8]) -> AsmError {
        if matches!(self.kind, AsmErrorKind::OutputTooSmall { .. }) {
            return AsmError {
                line: 0,
                column: 0,
                kind: self.kind,
            };
        }
        let (line, column) = line_col(src, self.at);
        AsmError {
            line,
            column,
            kind: self.kind,
        }
    }
}

/// Line and column (from 1, column in characters) of byte offset `at`.
pub(crate) const fn line_col(src: &[u8], at: usize) -> (u32, u32) {
    let mut line: u32 = 1;
    let mut column: u32 = 1;
    let mut i = 0;
    while i < at && i < src.len() {
        if src[i] == b'\n' {
            line = line.saturating_add(1);
            column = 1;
        } else if src[i] & 0xc0 != 0x80 {
            column = column.saturating_add(1);
        }
        i += 1;
    }
    (line, column)
}

/// A fixed-size text buffer that `const` code can write to.
pub(crate) struct MsgBuf {
    buf: [u8; MsgBuf::CAP],
    len: usize,
    full: bool,
}

impl MsgBuf {
    const CAP: usize = 320;

    pub(crate) const fn new() -> MsgBuf {
        MsgBuf {
            buf: [0; MsgBuf::CAP],
            len: 0,
            full: false,
        }
    }

    pub(crate) const fn push(&mut self, s: &str) {
        let b = s.as_bytes();
        let mut i = 0;
        while i < b.len() && !self.full {
            if self.len == MsgBuf::CAP {
                self.full = true;
                return;
            }
            // Never cut a character in half.
            if b[i] & 0xc0 == 0xc0 {
                let need = if b[i] >= 0xf0 {
                    4
                } else if b[i] >= 0xe0 {
                    3
                } else {
                    2
                };
                if self.len + need > MsgBuf::CAP {
                    self.full = true;
                    return;
                }
            }
            self.buf[self.len] = b[i];
            self.len += 1;
            i += 1;
        }
    }

    pub(crate) const fn push_u32(&mut self, mut v: u32) {
        let mut digits = [0u8; 10];
        let mut n = 0;
        loop {
            digits[9 - n] = b'0' + (v % 10) as u8;
            n += 1;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        let (_, tail) = digits.split_at(10 - n);
        if let Ok(s) = core::str::from_utf8(tail) {
            self.push(s);
        }
    }

    const fn push_char(&mut self, c: char) {
        let mut b = [0u8; 4];
        let v = c as u32;
        let n = if v < 0x80 {
            b[0] = v as u8;
            1
        } else if v < 0x800 {
            b[0] = 0xc0 | (v >> 6) as u8;
            b[1] = 0x80 | (v & 0x3f) as u8;
            2
        } else if v < 0x10000 {
            b[0] = 0xe0 | (v >> 12) as u8;
            b[1] = 0x80 | ((v >> 6) & 0x3f) as u8;
            b[2] = 0x80 | (v & 0x3f) as u8;
            3
        } else {
            b[0] = 0xf0 | (v >> 18) as u8;
            b[1] = 0x80 | ((v >> 12) & 0x3f) as u8;
            b[2] = 0x80 | ((v >> 6) & 0x3f) as u8;
            b[3] = 0x80 | (v & 0x3f) as u8;
            4
        };
        let (head, _) = b.split_at(n);
        if let Ok(s) = core::str::from_utf8(head) {
            self.push(s);
        }
    }

    pub(crate) const fn as_str(&self) -> &str {
        let (head, _) = self.buf.split_at(self.len);
        match core::str::from_utf8(head) {
            Ok(s) => s,
            Err(_) => "(message lost)",
        }
    }
}

impl AsmErrorKind {
    /// Writes the message (without location) into `m`.
    pub(crate) const fn write(&self, m: &mut MsgBuf) {
        match *self {
            AsmErrorKind::UnknownCharacter(c) => {
                m.push("unknown character '");
                m.push_char(c);
                m.push("'");
            }
            AsmErrorKind::UnterminatedComment => m.push(
                "'/*' comment is not closed by '*/' (as in the kernel's bpf_asm, a '*' \
                 right before the closing '*/' pairs with the character after it)",
            ),
            AsmErrorKind::UnexpectedToken { expected, found } => {
                m.push("expected ");
                m.push(expected);
                m.push(", found ");
                m.push(found);
            }
            AsmErrorKind::UnknownInstruction(name) => {
                m.push("unknown instruction '");
                m.push(name.as_str());
                m.push("' (a label definition needs a ':' after the name)");
            }
            AsmErrorKind::NumberOutOfRange => {
                m.push("number does not fit in 32 bits (allowed: -2147483648 to 4294967295)")
            }
            AsmErrorKind::LdxbOffset => {
                m.push("ldxb offset not supported: the only form is 4*([k]&0xf)")
            }
            AsmErrorKind::UnknownLabel(name) => {
                m.push("no such label '");
                m.push(name.as_str());
                m.push("'");
            }
            AsmErrorKind::DuplicateLabel { name, first_line } => {
                m.push("label '");
                m.push(name.as_str());
                m.push("' is already defined on line ");
                m.push_u32(first_line);
            }
            AsmErrorKind::BackwardJump { from, to } => {
                m.push("insn #");
                m.push_u32(from);
                m.push(" jumps back to insn #");
                m.push_u32(to);
                m.push(", but classic BPF jumps only forward");
            }
            AsmErrorKind::JumpOutOfRange { from, to } => {
                m.push("insn #");
                m.push_u32(from);
                m.push(" jumps to insn #");
                m.push_u32(to);
                m.push(
                    ", which is out of range (a conditional jump reaches 0 to 255 \
                     instructions ahead)",
                );
            }
            AsmErrorKind::TooManyInstructions => {
                m.push("only max 4096 insns allowed (BPF_MAXINSNS)")
            }
            AsmErrorKind::EmptyProgram => m.push("the program has no instructions"),
            AsmErrorKind::UnknownField(name) => {
                m.push("unknown seccomp_data field '");
                m.push(name.as_str());
                m.push("' (known: nr, arch, ip, ip_hi, arg0..arg5, arg0_hi..arg5_hi)");
            }
            AsmErrorKind::UnknownName(name) => {
                m.push("unknown name '");
                m.push(name.as_str());
                m.push(
                    "' (expected a number, AUDIT_ARCH_*, __NR_<syscall> or an action: \
                     ALLOW, KILL_PROCESS, KILL_THREAD, KILL, LOG, USER_NOTIF, TRAP(n), \
                     ERRNO(n), TRACE(n))",
                );
            }
            AsmErrorKind::UnknownSyscall { name, arch } => {
                m.push("no syscall '");
                m.push(name.as_str());
                m.push("' on ");
                m.push(arch.name());
            }
            AsmErrorKind::UnknownErrno(name) => {
                m.push("unknown errno name '");
                m.push(name.as_str());
                m.push("' for this architecture (write the number instead)");
            }
            AsmErrorKind::ActionTakesNoValue(name) => {
                m.push("action '");
                m.push(name.as_str());
                m.push("' takes no value in parentheses");
            }
            AsmErrorKind::ValueOutOfRange { what, max } => {
                m.push(what);
                m.push(" must be at most ");
                m.push_u32(max);
            }
            AsmErrorKind::OutputTooSmall { needed } => {
                m.push("the output buffer is too small: the program has ");
                m.push_u32(needed);
                m.push(" instructions");
            }
            AsmErrorKind::SourceTooLarge => m.push("the source is larger than 4 GiB"),
        }
    }
}

impl AsmError {
    /// Writes `line:column: message` (just the message when the line is 0).
    pub(crate) const fn write(&self, m: &mut MsgBuf) {
        if self.line != 0 {
            m.push_u32(self.line);
            m.push(":");
            m.push_u32(self.column);
            m.push(": ");
        }
        self.kind.write(m);
    }

    /// Stops `const` evaluation with this error as the message; this is how
    /// [`bpf_program!`](crate::bpf_program) turns assembly errors into
    /// compile errors.
    #[track_caller]
    pub const fn const_panic(&self) -> ! {
        let mut m = MsgBuf::new();
        m.push("bpf_asm error at ");
        self.write(&mut m);
        panic!("{}", m.as_str())
    }
}

impl fmt::Display for AsmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut m = MsgBuf::new();
        self.write(&mut m);
        f.write_str(m.as_str())
    }
}

impl fmt::Display for AsmErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut m = MsgBuf::new();
        self.write(&mut m);
        f.write_str(m.as_str())
    }
}

impl core::error::Error for AsmError {}
