//! Verifier and emulator for classic BPF seccomp filters, with the Linux
//! kernel's exact rules.
//!
//! Each module has one job: [`verify`](mod@verify) (what the kernel accepts), [`budget`]
//! (converted lengths and the stack limit), [`emu`] (what one filter
//! returns), [`classic`] (socket-filter semantics), [`action`] (what a
//! return value makes the kernel do, and how stacked results combine),
//! [`kernel`] (which kernel behaviours are modelled), [`cache`] (the action
//! cache), [`stack`] (a stack of filters on one call), [`analysis`]
//! (instructions executed per syscall) and [`prove`] (program ≡ policy).
//! One interpreter core serves [`emu`] and [`classic`].
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod action;
#[cfg(feature = "alloc")]
pub mod analysis;
pub mod budget;
pub mod cache;
pub mod classic;
pub mod data;
pub mod emu;
mod interp;
pub mod kernel;
#[cfg(feature = "alloc")]
pub mod prove;
pub mod stack;
pub mod verify;

pub use action::{combine, KernelAction};
pub use budget::{check_attach, ebpf_len, max_stack_depth};
pub use cache::{cache_bitmap, has_cache, seccomp_is_const_allow, SyscallSet};
pub use data::SeccompData;
#[cfg(feature = "alloc")]
pub use emu::Prepared;
pub use emu::{run, Outcome, TraceStep};
pub use kernel::KernelModel;
pub use stack::{run_stack, StackOutcome};
pub use verify::{verify, Errno, Mode, Rule, VerifyError};
