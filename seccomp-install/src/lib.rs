//! Installs seccomp filters with raw system calls: no libc, no allocator.
//!
//! ```no_run
//! use bpf_asm::{SockFilter, BPF_RET, BPF_K, seccomp::SECCOMP_RET_ALLOW};
//! use seccomp_install::{install, set_no_new_privs, Flags};
//!
//! let allow_all = [SockFilter::stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)];
//! set_no_new_privs()?;
//! let _no_listener = install(&allow_all, Flags::TSYNC)?;
//! # Ok::<(), seccomp_install::Error>(())
//! ```
//!
//! A filter written in `bpf_asm` text is assembled at compile time (an
//! assembly error is a compile error), so a static binary embeds a plain
//! array:
//!
//! ```no_run
//! use seccomp_install::{install, set_no_new_privs, Flags};
//!
//! static FILTER: &[bpf_asm::SockFilter] = &bpf_asm::bpf_program!(
//!     "ld [arch]
//!      jne #AUDIT_ARCH_X86_64, bad
//!      ld [nr]
//!      jeq #__NR_ptrace, deny
//!      ret ALLOW
//!      deny: ret ERRNO(1)
//!      bad: ret KILL_PROCESS"
//! );
//!
//! fn lock_down() -> Result<(), seccomp_install::Error> {
//!     set_no_new_privs()?;
//!     // Every thread of the process gets the filter, or none does.
//!     // Without NEW_LISTENER there is no listener to keep.
//!     let _no_listener = install(FILTER, Flags::TSYNC)?;
//!     Ok(())
//! }
//! # lock_down().unwrap();
//! ```
//!
//! * [`set_no_new_privs`] and [`install`] attach a filter. Every
//!   non-zero return of the kernel is handled: with [`Flags::TSYNC`] a
//!   positive value is the thread that could not be synchronised
//!   ([`Error::ThreadSync`]), never a success, unless
//!   [`Flags::NEW_LISTENER`] was asked for, in which case it is the
//!   listener descriptor ([`Installed::listener`]).
//! * [`action_available`], [`flag_supported`], [`notif_sizes`] and
//!   [`seccomp_syscall_available`] ask the running kernel what it supports,
//!   without installing anything.
//! * [`notif`] has the user-notification structures and the listener's
//!   `ioctl`s ([`Fd::recv_notif`], [`Fd::send_resp`]).
//!
//! Every function makes only raw system calls (through the `syscalls`
//! crate) and never allocates, so all of them may be used between `fork`
//! and `exec` or from a `#![no_std]` `_start`.
//!
//! # Choosing the kill action: prefer `KILL_PROCESS`
//!
//! `SECCOMP_RET_KILL_THREAD` ends only the thread that made the call; the
//! other threads keep running. Thread runtimes are not built for a thread
//! that vanishes without unwinding: a lock it held stays locked, a channel
//! it was to answer on stays silent, and a `join` on it (or an async
//! executor waiting for its worker) can wait forever, so the process hangs
//! instead of failing. `SECCOMP_RET_KILL_PROCESS` (4.14+) ends the whole
//! thread group with SIGSYS, which a supervisor sees. Use `KILL_PROCESS`
//! unless every thread of the process is known to be independent. (When
//! both appear in stacked filters the kernel picks `KILL_PROCESS`.)
//!
//! # TSYNC
//!
//! With [`Flags::TSYNC`] the new filter is attached to every thread of the
//! process or to none. A thread that installed a filter of its own (one the
//! caller does not have) cannot be synchronised: the kernel then returns its
//! thread id ([`Error::ThreadSync`]), or `ESRCH` with
//! [`Flags::TSYNC_ESRCH`] (required when TSYNC and NEW_LISTENER are
//! combined). Threads created after the install inherit the filter anyway.
#![no_std]
#![warn(missing_docs)]

mod error;
mod fd;
mod install;
pub mod notif;
mod probe;
mod sys;

pub use bpf_asm::seccomp::Flags;
pub use error::{Errno, Error};
pub use fd::Fd;
pub use install::{install, set_no_new_privs, Installed};
pub use probe::{
    action_available, flag_supported, notif_sizes, seccomp_syscall_available, NotifSizes,
};

/// The README's Rust examples, compiled and run as doctests of this crate
/// so that they stay true.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;
