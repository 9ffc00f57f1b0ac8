//! `static-init /abs/path/cmd [args...]`: sets no_new_privs, installs the
//! built-in seccomp filter ([`filter`]) on every thread (TSYNC) and execs the
//! command with the same arguments and environment.
//!
//! A static executable without libc: its own `_start`, no allocator, raw
//! system calls only. Exit status 1: the filter could not be installed;
//! 2: usage; 126/127: the command could not be executed / found.
#![no_std]
#![no_main]

mod filter;

use seccomp_install::{install, set_no_new_privs, Flags};
use syscalls::{syscall, Sysno};

#[cfg(target_arch = "x86_64")]
core::arch::global_asm!(
    ".globl _start",
    "_start:",
    "xor ebp, ebp",
    "mov rdi, rsp",
    "and rsp, -16",
    "call {entry}",
    "ud2",
    entry = sym entry,
);

#[cfg(target_arch = "aarch64")]
core::arch::global_asm!(
    ".globl _start",
    "_start:",
    "mov x29, xzr",
    "mov x30, xzr",
    "mov x0, sp",
    "bl {entry}",
    "brk #0",
    entry = sym entry,
);

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
compile_error!("static-init has a _start for x86_64 and aarch64 only");

/// Writes `bytes` to standard error.
fn err(bytes: &[u8]) {
    // SAFETY: writing from a live buffer of the given length.
    let _ = unsafe { syscall!(Sysno::write, 2, bytes.as_ptr(), bytes.len()) };
}

/// Writes `n` in decimal to standard error.
fn err_num(mut n: u32) {
    let mut buf = [0u8; 10];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    err(&buf[i..]);
}

fn exit(code: i32) -> ! {
    loop {
        // SAFETY: exit_group ends the process.
        let _ = unsafe { syscall!(Sysno::exit_group, code) };
    }
}

fn fail(what: &[u8], errno: Option<i32>, code: i32) -> ! {
    err(b"static-init: ");
    err(what);
    if let Some(e) = errno {
        err(b" (errno ");
        err_num(e as u32);
        err(b")");
    }
    err(b"\n");
    exit(code)
}

/// Entry from `_start` with the initial stack: `argc`, `argv[]`, NULL,
/// `envp[]`, NULL.
extern "C" fn entry(sp: *const usize) -> ! {
    // SAFETY: the kernel lays out argc, then argc argv pointers and a NULL,
    // then the environment pointers and a NULL, at the initial stack pointer.
    let (argc, argv, envp) = unsafe {
        let argc = *sp;
        let argv = sp.add(1) as *const *const u8;
        (argc, argv, argv.add(argc + 1))
    };
    if argc < 2 {
        fail(b"usage: static-init /abs/path/cmd [args...]", None, 2);
    }
    if let Err(e) = set_no_new_privs() {
        fail(b"cannot set no_new_privs", kernel_errno(&e), 1);
    }
    if let Err(e) = install(filter::FILTER, Flags::TSYNC) {
        fail(b"cannot install the seccomp filter", kernel_errno(&e), 1);
    }
    // SAFETY: argv[1..] and envp are NULL-terminated arrays of C strings
    // from the kernel.
    let r = unsafe { syscall!(Sysno::execve, *argv.add(1), argv.add(1), envp) };
    let e = r.err().map(|e| e.into_raw());
    let code = if e == Some(2) { 127 } else { 126 };
    fail(b"cannot execute the command", e, code)
}

fn kernel_errno(e: &seccomp_install::Error) -> Option<i32> {
    match e {
        seccomp_install::Error::Kernel(k) => Some(k.into_raw()),
        _ => None,
    }
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    fail(b"internal error", None, 101)
}
