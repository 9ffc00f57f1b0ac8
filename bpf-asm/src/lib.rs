//! Classic BPF for seccomp: the instruction model, a kernel-compatible
//! `bpf_asm` assembler (also usable in `const` contexts), a disassembler, a
//! builder with labels, and encoders.
//!
//! The crate is `#![no_std]`; its core needs no allocator. The `alloc` feature
//! adds owned conveniences and `std` implies `alloc`.
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod builder;
pub mod disasm;
pub mod encode;
pub mod insn;
#[cfg(feature = "alloc")]
pub mod policy;
pub mod seccomp;
pub mod text;

pub use insn::*;
pub use seccomp::{Arch, Endian, Half, SeccompData};
