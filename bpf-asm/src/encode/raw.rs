//! Raw bytes and hex lines.

use core::fmt::Write;

use super::{EncodeError, ParseError, ParseErrorKind};
use crate::insn::SockFilter;

/// Size of one instruction in raw form.
pub const RAW_INSN_SIZE: usize = 8;

/// Writes the raw bytes of `prog` (host byte order) to the start of `out`;
/// returns the number of bytes written.
pub fn write_raw(prog: &[SockFilter], out: &mut [u8]) -> Result<usize, EncodeError> {
    let needed = prog.len() * RAW_INSN_SIZE;
    if out.len() < needed {
        return Err(EncodeError::BufferTooSmall {
            needed,
            available: out.len(),
        });
    }
    for (f, chunk) in prog.iter().zip(out.chunks_exact_mut(RAW_INSN_SIZE)) {
        chunk.copy_from_slice(&f.to_ne_bytes());
    }
    Ok(needed)
}

/// Reads raw bytes into `out`; returns the number of instructions. The
/// length must be a multiple of 8.
pub fn parse_raw_into(bytes: &[u8], out: &mut [SockFilter]) -> Result<usize, ParseError> {
    let extra = bytes.len() % RAW_INSN_SIZE;
    if extra != 0 {
        return Err(ParseError {
            line: 0,
            column: bytes.len() - extra,
            kind: ParseErrorKind::TrailingBytes { extra },
        });
    }
    let n = bytes.len() / RAW_INSN_SIZE;
    if n > out.len() {
        return Err(ParseError {
            line: 0,
            column: out.len() * RAW_INSN_SIZE,
            kind: ParseErrorKind::Capacity {
                capacity: out.len(),
            },
        });
    }
    for (slot, chunk) in out.iter_mut().zip(bytes.chunks_exact(RAW_INSN_SIZE)) {
        let mut b = [0u8; RAW_INSN_SIZE];
        b.copy_from_slice(chunk);
        *slot = SockFilter::from_ne_bytes(b);
    }
    Ok(n)
}

/// Writes one line of 16 lower-case hex digits (the 8 raw bytes in memory
/// order) per instruction.
pub fn write_hex(prog: &[SockFilter], w: &mut impl Write) -> core::fmt::Result {
    for f in prog {
        for b in f.to_ne_bytes() {
            write!(w, "{b:02x}")?;
        }
        w.write_char('\n')?;
    }
    Ok(())
}

/// Reads hex lines (see [`write_hex`]) into `out`; blank lines are skipped.
/// Returns the number of instructions.
pub fn parse_hex_into(text: &str, out: &mut [SockFilter]) -> Result<usize, ParseError> {
    super::fill(out, |sink| parse_hex_with(text, sink))
}

/// Parses hex lines, handing each instruction (with its line and column) to
/// `sink`; stops early when `sink` returns false.
pub(super) fn parse_hex_with(
    text: &str,
    mut sink: impl FnMut((usize, usize), SockFilter) -> bool,
) -> Result<(), ParseError> {
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        let start = line.len() - trimmed.len();
        let digits = trimmed.trim_end();
        if digits.is_empty() {
            continue;
        }
        let at = |col: usize| (i + 1, col + 1);
        let mut b = [0u8; RAW_INSN_SIZE];
        let bytes = digits.as_bytes();
        for (j, c) in bytes.iter().enumerate() {
            if j >= 16 {
                let (line, column) = at(start + j);
                return Err(ParseError {
                    line,
                    column,
                    kind: ParseErrorKind::Expected("end of line after 16 hex digits"),
                });
            }
            let Some(v) = (*c as char).to_digit(16) else {
                let (line, column) = at(start + j);
                return Err(ParseError {
                    line,
                    column,
                    kind: ParseErrorKind::Expected("a hex digit"),
                });
            };
            b[j / 2] |= (v as u8) << if j % 2 == 0 { 4 } else { 0 };
        }
        if bytes.len() < 16 {
            let (line, column) = at(start + bytes.len());
            return Err(ParseError {
                line,
                column,
                kind: ParseErrorKind::Expected("16 hex digits per instruction"),
            });
        }
        if !sink(at(start), SockFilter::from_ne_bytes(b)) {
            break;
        }
    }
    Ok(())
}
