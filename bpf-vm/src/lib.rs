//! Verifier and emulator for classic BPF seccomp filters, with the Linux
//! kernel's exact rules.
#![no_std]
#![warn(missing_docs)]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(feature = "std")]
extern crate std;
