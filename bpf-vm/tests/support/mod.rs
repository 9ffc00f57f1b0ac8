//! Helpers shared by the kernel-facing and corpus tests: a deterministic
//! PRNG, program generators, and a harness that runs filters in child
//! processes (never in the test runner).
#![allow(dead_code)]

pub mod gen;
pub mod kernel;
pub mod policies;
pub mod rng;

use bpf_asm::SockFilter;

/// Formats a program one instruction per line as
/// `{ code, jt, jf, k }` (what a reproducer needs).
pub fn dump(prog: &[SockFilter]) -> String {
    let mut s = String::new();
    for (i, f) in prog.iter().enumerate() {
        s.push_str(&format!(
            "  /* {i:4} */ {{ {:#06x}, {:3}, {:3}, {:#010x} }},\n",
            f.code, f.jt, f.jf, f.k
        ));
    }
    s
}

/// Decodes standard base64 (padding and white space ignored); panics on
/// any other character (the corpus is trusted test data).
pub fn base64_decode(s: &str) -> Vec<u8> {
    let val = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => (c - b'A') as u32,
            b'a'..=b'z' => (c - b'a' + 26) as u32,
            b'0'..=b'9' => (c - b'0' + 52) as u32,
            b'+' => 62,
            b'/' => 63,
            _ => panic!("bad base64 character {c:#x}"),
        }
    };
    let clean: Vec<u8> = s
        .bytes()
        .filter(|&c| c != b'=' && !c.is_ascii_whitespace())
        .collect();
    let mut out = Vec::with_capacity(clean.len() * 3 / 4);
    for chunk in clean.chunks(4) {
        let mut n = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            n |= val(c) << (18 - 6 * i);
        }
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..chunk.len() - 1]);
    }
    out
}
