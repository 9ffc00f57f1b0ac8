//! Helpers shared by the kernel-facing and corpus tests: program generators
//! (over `testkit::Rng`), and a harness that runs filters in child
//! processes (never in the test runner).
#![allow(dead_code)]

pub mod gen;
pub mod kernel;
pub mod policies;

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
