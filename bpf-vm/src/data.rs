//! `struct seccomp_data`, re-exported from its one home,
//! [`bpf_asm::seccomp::SeccompData`], so that `bpf_vm::data::SeccompData`
//! and `bpf_vm::SeccompData` keep working.

pub use bpf_asm::seccomp::{SeccompData, SECCOMP_DATA_WORDS};
