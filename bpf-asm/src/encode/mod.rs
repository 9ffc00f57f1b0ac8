//! Program encoders and parsers: raw bytes (what the kernel reads and
//! libseccomp's `seccomp_export_bpf` writes), the two output formats of the
//! kernel's `bpf_asm` (decimal comma list and `-c` C initialisers), a Rust
//! `static` array, and hex lines.
//!
//! Writers take any [`core::fmt::Write`] (or a byte buffer), so they work
//! without an allocator; the `alloc` feature adds `String`/`Vec` shortcuts.

mod comma;
mod error;
mod raw;
mod rust;

pub use comma::{parse_comma_into, write_c_array, write_comma};
pub use error::{EncodeError, ParseError, ParseErrorKind};
pub use raw::{parse_hex_into, parse_raw_into, write_hex, write_raw, RAW_INSN_SIZE};
pub use rust::{is_rust_identifier, write_rust_static};

use crate::insn::SockFilter;

/// Runs a streaming parser (which hands each instruction with its line and
/// column to a sink, and stops when the sink says no) into a fixed buffer;
/// returns the count, or a capacity error at the first instruction that did
/// not fit.
fn fill(
    out: &mut [SockFilter],
    parse: impl FnOnce(&mut dyn FnMut((usize, usize), SockFilter) -> bool) -> Result<(), ParseError>,
) -> Result<usize, ParseError> {
    let capacity = out.len();
    let mut n = 0;
    let mut full_at = None;
    parse(&mut |pos, f| match out.get_mut(n) {
        Some(slot) => {
            *slot = f;
            n += 1;
            true
        }
        None => {
            full_at = Some(pos);
            false
        }
    })?;
    match full_at {
        Some((line, column)) => Err(ParseError {
            line,
            column,
            kind: ParseErrorKind::Capacity { capacity },
        }),
        None => Ok(n),
    }
}

#[cfg(feature = "alloc")]
pub use alloc_api::*;

#[cfg(feature = "alloc")]
mod alloc_api {
    use alloc::string::String;
    use alloc::vec::Vec;

    use super::*;
    use crate::insn::SockFilter;

    /// The raw bytes of a program (host byte order, 8 bytes per instruction).
    pub fn to_raw(prog: &[SockFilter]) -> Vec<u8> {
        prog.iter().flat_map(|f| f.to_ne_bytes()).collect()
    }

    /// Reads raw bytes; the length must be a multiple of 8.
    pub fn parse_raw(bytes: &[u8]) -> Result<Vec<SockFilter>, ParseError> {
        let mut out = alloc::vec![SockFilter::default(); bytes.len() / RAW_INSN_SIZE];
        let n = parse_raw_into(bytes, &mut out)?;
        out.truncate(n);
        Ok(out)
    }

    /// The `bpf_asm` default output: `N,code jt jf k,...,` and a newline.
    pub fn to_comma(prog: &[SockFilter]) -> String {
        let mut s = String::new();
        // Writing to a String cannot fail.
        let _ = write_comma(prog, &mut s);
        s
    }

    /// The `bpf_asm -c` output: one `{ 0x06,  0,  0, 0x7fff0000 },` line per instruction.
    pub fn to_c_array(prog: &[SockFilter]) -> String {
        let mut s = String::new();
        let _ = write_c_array(prog, &mut s);
        s
    }

    /// One line of 16 hex digits (the raw bytes) per instruction.
    pub fn to_hex(prog: &[SockFilter]) -> String {
        let mut s = String::new();
        let _ = write_hex(prog, &mut s);
        s
    }

    /// A Rust `pub static NAME: [bpf_asm::SockFilter; N]` item.
    pub fn to_rust_static(name: &str, prog: &[SockFilter]) -> Result<String, EncodeError> {
        let mut s = String::new();
        write_rust_static(name, prog, &mut s)?;
        Ok(s)
    }

    /// Reads the `bpf_asm` comma format (also `tcpdump -ddd` lines).
    pub fn parse_comma(text: &str) -> Result<Vec<SockFilter>, ParseError> {
        let mut out = Vec::new();
        comma::parse_comma_with(text, |_, f| {
            out.push(f);
            true
        })?;
        Ok(out)
    }

    /// Reads hex lines as written by [`to_hex`].
    pub fn parse_hex(text: &str) -> Result<Vec<SockFilter>, ParseError> {
        let mut out = Vec::new();
        raw::parse_hex_with(text, |_, f| {
            out.push(f);
            true
        })?;
        Ok(out)
    }
}
