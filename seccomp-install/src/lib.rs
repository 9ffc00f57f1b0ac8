//! Installs seccomp filters with raw syscalls: no libc, no allocator.
#![no_std]
#![warn(missing_docs)]
