//! The peers: the tools a user of this toolkit would otherwise pick, as a
//! library that `cargo xtask bench-peers`, `cargo xtask bench-kernel`, the
//! oracle tests and the criterion benches share.
//!
//! * [`libseccomp`]: the system's `libseccomp.so.2`, opened with `dlopen` at
//!   run time (nothing needs it at build time; [`Libseccomp::open`] returns
//!   `None` where it is not installed), with a safe API over the calls that
//!   build and export a filter: [`Rules`] in, a program out.
//! * [`docker`]: an OCI/Docker profile turned into libseccomp rules exactly
//!   as Docker and runc do it (moby's `includes`/`excludes`, runc's
//!   `getAction` and `matchCall` rule splitting).
//! * [`seccompiler`](mod@seccompiler): our resolved policy as one
//!   `seccompiler::SeccompFilter` (rust-vmm's compiler, used by
//!   Firecracker), where its model can express it.
//!
//! A new peer model (another runtime's way of feeding libseccomp, or a
//! generated policy built through libseccomp's API) is a function returning
//! [`Rules`]: build them with [`Rules::new`] and [`Rules::push`], and
//! [`Libseccomp::build_for`] turns them into a program.
//!
//! This crate lives under `xtask/` because it is unpublished developer
//! tooling, like the command line that is its main user; the published
//! crates (`bpf-asm`, `bpf-vm`, `seccomp-install`) never depend on it.
#![warn(missing_docs)]

pub mod docker;
mod error;
pub mod libseccomp;
pub mod seccompiler;

pub use error::Error;
pub use libseccomp::{Libseccomp, Names, RuleCall, Rules, ScmpArgCmp, ScmpCompare, Target};
