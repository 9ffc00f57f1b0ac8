//! The two passes of the assembler, with labels resolved without a heap.
//!
//! Pass 1 parses every statement, counts the instructions and writes, into
//! the output slot of each instruction, where its label is defined (source
//! offset and a hash), checking labels for duplicates. Pass 2 parses again
//! and overwrites slot `i` with instruction `i`. Jumps only go forward, so
//! when instruction `i` is resolved every later slot still holds label
//! information; errors (backward or unknown targets) rescan the source.

use super::error::{line_col, AsmErrorKind as Kind, Fail, Name};
use super::lex::{ident_len, Token};
use super::parse::{statement, tri};
use super::AsmOptions;
use crate::insn::{SockFilter, BPF_MAXINSNS};

/// FNV-1a over the label's bytes.
const fn hash(src: &[u8], start: usize, end: usize) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    let mut i = start;
    while i < end {
        h ^= src[i] as u32;
        h = h.wrapping_mul(0x0100_0193);
        i += 1;
    }
    h
}

/// Encodes "label defined at `offset`, hash `h`" in an output slot.
const fn label_slot(offset: usize, h: u32) -> SockFilter {
    let v = offset as u32 + 1;
    SockFilter {
        code: v as u16,
        jt: (v >> 16) as u8,
        jf: (v >> 24) as u8,
        k: h,
    }
}

/// The label offset recorded in a slot, if any.
const fn slot_label(f: SockFilter) -> Option<usize> {
    let v = f.code as u32 | (f.jt as u32) << 16 | (f.jf as u32) << 24;
    if v == 0 {
        None
    } else {
        Some(v as usize - 1)
    }
}

/// Whether the label defined at `def` is spelled like `src[start..end]`.
const fn same_label(src: &[u8], def: usize, start: usize, end: usize) -> bool {
    let len = ident_len(src, def);
    if len != end - start {
        return false;
    }
    let mut i = 0;
    while i < len {
        if src[def + i] != src[start + i] {
            return false;
        }
        i += 1;
    }
    true
}

/// Counts the instructions and checks the syntax.
pub(crate) const fn count(src: &[u8]) -> Result<usize, Fail> {
    if src.len() >= u32::MAX as usize {
        return Err(Fail::at(0, Kind::SourceTooLarge));
    }
    let mut pos = 0;
    let mut n = 0;
    while let Some(s) = tri!(statement(src, pos, None)) {
        if n >= BPF_MAXINSNS {
            return Err(Fail::at(s.start, Kind::TooManyInstructions));
        }
        n += 1;
        pos = s.end;
    }
    if n == 0 {
        return Err(Fail::at(src.len(), Kind::EmptyProgram));
    }
    Ok(n)
}

/// Slots of the label hash table (twice `BPF_MAXINSNS`, so it is at most
/// half full). Entries are instruction index + 1; 0 is empty.
const TABLE: usize = 2 * BPF_MAXINSNS;

/// Pass 1: counts, and records labels in `out` and `table` (checking
/// duplicates).
const fn pass1(
    src: &[u8],
    out: &mut [SockFilter],
    table: &mut [u16; TABLE],
) -> Result<usize, Fail> {
    if src.len() >= u32::MAX as usize {
        return Err(Fail::at(0, Kind::SourceTooLarge));
    }
    let mut pos = 0;
    let mut n = 0;
    while let Some(s) = tri!(statement(src, pos, None)) {
        if n >= BPF_MAXINSNS {
            return Err(Fail::at(s.start, Kind::TooManyInstructions));
        }
        if n < out.len() {
            out[n] = match s.label {
                Some(l) => {
                    let h = hash(src, l.start, l.end);
                    let mut t = h as usize % TABLE;
                    while table[t] != 0 {
                        let j = table[t] as usize - 1;
                        if out[j].k == h {
                            if let Some(def) = slot_label(out[j]) {
                                if same_label(src, def, l.start, l.end) {
                                    return Err(Fail::at(
                                        l.start,
                                        Kind::DuplicateLabel {
                                            name: Name::new(src, l.start, l.end),
                                            first_line: line_col(src, def).0,
                                        },
                                    ));
                                }
                            }
                        }
                        t = (t + 1) % TABLE;
                    }
                    table[t] = n as u16 + 1;
                    label_slot(l.start, h)
                }
                None => SockFilter::stmt(0, 0),
            };
        }
        n += 1;
        pos = s.end;
    }
    if n == 0 {
        return Err(Fail::at(src.len(), Kind::EmptyProgram));
    }
    if n > out.len() {
        return Err(Fail::at(0, Kind::OutputTooSmall { needed: n as u32 }));
    }
    Ok(n)
}

/// Index of the instruction after `i` whose label is `r`, if any. Slots at
/// or before `i` already hold instructions and are skipped.
const fn find_after(
    src: &[u8],
    out: &[SockFilter],
    table: &[u16; TABLE],
    i: usize,
    r: Token,
) -> Option<usize> {
    let h = hash(src, r.start, r.end);
    let mut t = h as usize % TABLE;
    while table[t] != 0 {
        let j = table[t] as usize - 1;
        if j > i && out[j].k == h {
            if let Some(def) = slot_label(out[j]) {
                if same_label(src, def, r.start, r.end) {
                    return Some(j);
                }
            }
        }
        t = (t + 1) % TABLE;
    }
    None
}

/// Index of the instruction at or before `last` labelled `r` (rescans the
/// source; error path only).
const fn find_before(src: &[u8], last: usize, r: Token) -> Option<usize> {
    let mut pos = 0;
    let mut i = 0;
    while i <= last {
        let s = match statement(src, pos, None) {
            Ok(Some(s)) => s,
            _ => return None,
        };
        if let Some(l) = s.label {
            if same_label(src, l.start, r.start, r.end) {
                return Some(i);
            }
        }
        pos = s.end;
        i += 1;
    }
    None
}

/// Resolves a label reference of instruction `i` to a forward distance
/// (at most 255 when `conditional`).
const fn resolve(
    src: &[u8],
    out: &[SockFilter],
    table: &[u16; TABLE],
    i: usize,
    r: Token,
    conditional: bool,
) -> Result<u32, Fail> {
    if let Some(j) = find_after(src, out, table, i, r) {
        let d = j - i - 1;
        if !conditional || d <= 255 {
            return Ok(d as u32);
        }
        return Err(Fail::at(
            r.start,
            Kind::JumpOutOfRange {
                from: i as u32,
                to: j as u32,
            },
        ));
    }
    if let Some(j) = find_before(src, i, r) {
        let (from, to) = (i as u32, j as u32);
        let kind = if conditional {
            Kind::JumpOutOfRange { from, to }
        } else {
            Kind::BackwardJump { from, to }
        };
        return Err(Fail::at(r.start, kind));
    }
    Err(Fail::at(
        r.start,
        Kind::UnknownLabel(Name::new(src, r.start, r.end)),
    ))
}

/// Assembles `src` into `out`; returns the number of instructions. Uses a
/// 16 KiB label table on the stack.
pub(crate) const fn assemble(
    src: &[u8],
    opts: &AsmOptions,
    out: &mut [SockFilter],
) -> Result<usize, Fail> {
    let mut table = [0u16; TABLE];
    let n = tri!(pass1(src, out, &mut table));
    let mut pos = 0;
    let mut i = 0;
    while i < n {
        let s = match tri!(statement(src, pos, Some(opts))) {
            Some(s) => s,
            None => break,
        };
        let mut insn = s.insn;
        if let Some(r) = s.ja {
            insn.k = tri!(resolve(src, out, &table, i, r, false));
        }
        if let Some(r) = s.jt {
            insn.jt = tri!(resolve(src, out, &table, i, r, true)) as u8;
        }
        if let Some(r) = s.jf {
            insn.jf = tri!(resolve(src, out, &table, i, r, true)) as u8;
        }
        out[i] = insn;
        pos = s.end;
        i += 1;
    }
    Ok(n)
}
