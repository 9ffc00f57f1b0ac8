//! The output formats of the kernel's `bpf_asm`: the default decimal comma
//! list (also read by `bpf_dbg`, `xt_bpf`, `tcpdump -ddd`) and `-c`.

use core::fmt::Write;

use super::{ParseError, ParseErrorKind};
use crate::insn::SockFilter;

/// Writes the `bpf_asm` default format exactly: `printf("%u,", n)`, then
/// `"%u %u %u %u,"` per instruction, then a newline.
pub fn write_comma(prog: &[SockFilter], w: &mut impl Write) -> core::fmt::Result {
    write!(w, "{},", prog.len())?;
    for f in prog {
        write!(w, "{} {} {} {},", f.code, f.jt, f.jf, f.k)?;
    }
    w.write_char('\n')
}

/// C's `%#0Nx`: `0x` and zero padding to N characters in all, except that
/// zero prints as N zeros without `0x`.
fn c_alt_hex(w: &mut impl Write, v: u32, width: usize) -> core::fmt::Result {
    if v == 0 {
        write!(w, "{:0width$}", 0)
    } else {
        write!(w, "0x{:0digits$x}", v, digits = width - 2)
    }
}

/// Writes the `bpf_asm -c` format exactly: one
/// `printf("{ %#04x, %2u, %2u, %#010x },\n", ...)` line per instruction.
pub fn write_c_array(prog: &[SockFilter], w: &mut impl Write) -> core::fmt::Result {
    for f in prog {
        w.write_str("{ ")?;
        c_alt_hex(w, f.code as u32, 4)?;
        write!(w, ", {:2}, {:2}, ", f.jt, f.jf)?;
        c_alt_hex(w, f.k, 10)?;
        w.write_str(" },\n")?;
    }
    Ok(())
}

/// Reads the comma format into `out`; returns the number of instructions.
/// See [`parse_comma`](super::parse_comma) for what is accepted.
pub fn parse_comma_into(text: &str, out: &mut [SockFilter]) -> Result<usize, ParseError> {
    super::fill(out, |sink| parse_comma_with(text, sink))
}

struct Cursor<'a> {
    s: &'a [u8],
    i: usize,
    line: usize,
    line_start: usize,
}

impl Cursor<'_> {
    fn pos(&self) -> (usize, usize) {
        // Columns count characters, not bytes.
        let col = self.s[self.line_start..self.i]
            .iter()
            .filter(|b| (**b & 0xc0) != 0x80)
            .count();
        (self.line, col + 1)
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn bump(&mut self) {
        if self.peek() == Some(b'\n') {
            self.line += 1;
            self.line_start = self.i + 1;
        }
        self.i += 1;
    }

    fn skip_blanks(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\r')) {
            self.bump();
        }
    }

    fn skip_space(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\r' | b'\n')) {
            self.bump();
        }
    }

    fn error(&self, kind: ParseErrorKind) -> ParseError {
        let (line, column) = self.pos();
        ParseError { line, column, kind }
    }

    fn number(
        &mut self,
        field: &'static str,
        what: &'static str,
        max: u32,
    ) -> Result<u32, ParseError> {
        let start = self.pos();
        if !matches!(self.peek(), Some(b'0'..=b'9')) {
            return Err(self.error(ParseErrorKind::Expected(what)));
        }
        let mut v: u64 = 0;
        let mut over = false;
        while let Some(c @ b'0'..=b'9') = self.peek() {
            v = v * 10 + (c - b'0') as u64;
            over |= v > max as u64;
            if over {
                v = 0;
            }
            self.bump();
        }
        if over {
            return Err(ParseError {
                line: start.0,
                column: start.1,
                kind: ParseErrorKind::TooLarge { field, max },
            });
        }
        Ok(v as u32)
    }
}

/// Parses the comma format, handing each instruction (with its line and
/// column) to `sink`; stops early when `sink` returns false.
pub(super) fn parse_comma_with(
    text: &str,
    mut sink: impl FnMut((usize, usize), SockFilter) -> bool,
) -> Result<(), ParseError> {
    let mut c = Cursor {
        s: text.as_bytes(),
        i: 0,
        line: 1,
        line_start: 0,
    };
    c.skip_space();
    let count_pos = c.pos();
    let declared = c.number(
        "count",
        "the instruction count (a decimal number)",
        u16::MAX as u32,
    )?;
    let mut found = 0usize;
    loop {
        c.skip_blanks();
        match c.peek() {
            None => break,
            Some(b',' | b'\n') => c.bump(),
            Some(_) => {
                return Err(c.error(ParseErrorKind::Expected(
                    "',' or a new line between instructions",
                )))
            }
        }
        c.skip_space();
        if c.peek().is_none() {
            break;
        }
        let at = c.pos();
        let code = c.number("code", "an instruction: code jt jf k", u16::MAX as u32)?;
        c.skip_blanks();
        let jt = c.number("jt", "the jt field (a decimal number)", u8::MAX as u32)?;
        c.skip_blanks();
        let jf = c.number("jf", "the jf field (a decimal number)", u8::MAX as u32)?;
        c.skip_blanks();
        let k = c.number("k", "the k field (a decimal number)", u32::MAX)?;
        found += 1;
        let f = SockFilter::jump(code as u16, k, jt as u8, jf as u8);
        if !sink(at, f) {
            return Ok(());
        }
    }
    if found != declared as usize {
        return Err(ParseError {
            line: count_pos.0,
            column: count_pos.1,
            kind: ParseErrorKind::CountMismatch { declared, found },
        });
    }
    Ok(())
}
