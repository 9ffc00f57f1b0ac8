//! Verifier and emulator for classic BPF seccomp filters, with the Linux
//! kernel's exact rules.
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod budget;
pub mod cache;
pub mod verify;

pub use budget::{check_attach, ebpf_len, max_stack_depth};
pub use cache::{cache_bitmap, has_cache, seccomp_is_const_allow, SyscallSet};
pub use verify::{verify, Errno, Mode, Rule, VerifyError};

pub mod action;
#[cfg(feature = "alloc")]
pub mod analysis;
pub mod classic;
pub mod data;
pub mod emu;

pub use action::{combine, run_stack, KernelAction, KernelModel, StackOutcome};
pub use data::SeccompData;
#[cfg(feature = "alloc")]
pub use emu::Prepared;
pub use emu::{run, Outcome, TraceStep};
#[cfg(feature = "alloc")]
pub mod prove;
