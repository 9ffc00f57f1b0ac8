//! A program as a Rust `static` item.

use core::fmt::Write;

use super::EncodeError;
use crate::insn::SockFilter;

/// Whether `name` can be used as a Rust item name (ASCII identifier, not `_`).
pub fn is_rust_identifier(name: &str) -> bool {
    let b = name.as_bytes();
    match b.first() {
        Some(c) if c.is_ascii_alphabetic() || *c == b'_' => {}
        _ => return false,
    }
    name != "_" && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
}

/// Writes `pub static NAME: [bpf_asm::SockFilter; N] = [...];`, one
/// `bpf_asm::SockFilter { code, jt, jf, k }` per line.
pub fn write_rust_static(
    name: &str,
    prog: &[SockFilter],
    w: &mut impl Write,
) -> Result<(), EncodeError> {
    if !is_rust_identifier(name) {
        return Err(EncodeError::BadName);
    }
    writeln!(
        w,
        "pub static {name}: [bpf_asm::SockFilter; {}] = [",
        prog.len()
    )?;
    for f in prog {
        writeln!(
            w,
            "    bpf_asm::SockFilter {{ code: {:#06x}, jt: {}, jf: {}, k: {:#010x} }},",
            f.code, f.jt, f.jf, f.k
        )?;
    }
    writeln!(w, "];")?;
    Ok(())
}
