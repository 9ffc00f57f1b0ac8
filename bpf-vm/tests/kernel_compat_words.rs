//! The running kernel decides what `argN:hi32` and the other widths mean for
//! a compat (i386) call on a 64-bit kernel: a 64-bit child makes `int $0x80`
//! calls whose 64-bit registers carry non-zero upper halves, under a
//! compiled policy for i386, and each call ends as `evaluate` and the
//! emulator say. `arg0:hi32` sees the register's upper half; `u64`, `u32`
//! and `i32` conditions see the low word only.
#![cfg(target_arch = "x86_64")]

mod support;

use bpf_asm::policy::compile::{compile_resolved, CompileOptions};
use bpf_asm::policy::eval::evaluate;
use bpf_asm::policy::load::{load_str, LoadOptions};
use bpf_asm::policy::resolve::resolve;
use bpf_asm::policy::Action;
use bpf_asm::seccomp::Arch;
use bpf_asm::SockFilter;
use bpf_vm::emu::Prepared;
use bpf_vm::SeccompData;
use support::kernel::{seccomp_available, seccomp_set_mode_filter, set_no_new_privs, SKIP_MSG};

/// i386 `getpid`.
const I386_GETPID: i64 = 20;

/// `int $0x80` with `eax = nr` and `rbx`, `rcx` as given (full 64 bits).
fn int80(nr: i64, rbx: u64, rcx: u64) -> i64 {
    let ret: i64;
    // SAFETY: a compat system call; getpid reads no memory and writes only
    // eax. The kernel preserves every other register for int $0x80.
    unsafe {
        // rbx is reserved by LLVM: swap the value in and out around the call.
        core::arch::asm!(
            "xchg {b}, rbx",
            "int 0x80",
            "xchg {b}, rbx",
            b = inout(reg) rbx => _,
            inlateout("rax") nr => ret,
            in("rcx") rcx,
            options(nostack)
        );
    }
    // The compat return value is the 32-bit eax.
    ret as i32 as i64
}

/// Forks; the child installs `prog` (when given), makes each call with
/// `int $0x80` and writes the results to a pipe. Returns them, or `None`
/// when the child could not install the filter.
fn calls_in_child(prog: Option<&[SockFilter]>, calls: &[(u64, u64)]) -> Option<Vec<i64>> {
    let fprog = prog.map(|p| p.to_vec());
    let mut fds = [0i32; 2];
    // SAFETY: pipe(2) into a local array.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    let mut results = vec![0i64; calls.len()];
    // SAFETY: the child only makes raw system calls before _exit.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        // SAFETY (whole child): raw system calls on local data, then _exit.
        unsafe {
            libc::close(fds[0]);
            if let Some(p) = &fprog {
                if set_no_new_privs().is_err() || seccomp_set_mode_filter(0, p) < 0 {
                    libc::_exit(3);
                }
            }
            for (i, &(rbx, rcx)) in calls.iter().enumerate() {
                results[i] = int80(I386_GETPID, rbx, rcx);
            }
            let bytes = results.len() * 8;
            libc::write(fds[1], results.as_ptr() as *const libc::c_void, bytes);
            libc::_exit(0);
        }
    }
    // SAFETY: closing our copy of the write end, reading into `results`.
    let mut status = 0;
    unsafe {
        libc::close(fds[1]);
        let want = results.len() * 8;
        let got = libc::read(fds[0], results.as_mut_ptr() as *mut libc::c_void, want);
        libc::close(fds[0]);
        libc::waitpid(pid, &mut status, 0);
        if got as usize != want {
            return None;
        }
    }
    Some(results)
}

#[test]
fn compat_calls_expose_high_words_to_hi32_only() {
    if !seccomp_available() {
        println!("{SKIP_MSG}");
        return;
    }
    let pid_probe = calls_in_child(None, &[(0, 0)]).expect("unfiltered child");
    if pid_probe[0] < 0 {
        println!(
            "skipped: int $0x80 unavailable (ia32 emulation off: {})",
            pid_probe[0]
        );
        return;
    }
    let policy = load_str(
        r#"default = "allow"
arches = ["x86_64", "i386"]
bad_arch = "kill_process"
[[rule]]
arches = ["i386"]
syscalls = ["getpid"]
when = ["arg0:hi32 == 0xdeadbeef"]
action = "errno(7)"
[[rule]]
arches = ["i386"]
syscalls = ["getpid"]
when = ["arg0 == 5"]
action = "errno(9)"
[[rule]]
arches = ["i386"]
syscalls = ["getpid"]
when = ["arg1:hi32 & 0xf0 == 0x30", "arg1:i32 < 0"]
action = "errno(11)"
"#,
        "compat.toml",
        &LoadOptions::default(),
    )
    .expect("policy loads");
    let resolved = resolve(&policy).expect("resolves");
    let prog = compile_resolved(&resolved, &CompileOptions::default())
        .expect("compiles")
        .program;
    let calls: [(u64, u64); 6] = [
        (0xdead_beef_0000_0001, 0),
        (0x1234_5678_0000_0005, 0),
        (0x0000_0000_dead_beef, 0),
        (1, 0x0000_0035_8000_0000),
        (1, 0x0000_0035_7fff_ffff),
        (0x0000_0001_0000_0005, 0xffff_ffff_ffff_ffff),
    ];
    let got = calls_in_child(Some(&prog), &calls).expect("filter installs");
    let prepared = Prepared::new(&prog).expect("verifies");
    let audit = Arch::X86.audit_arch();
    for (i, &(rbx, rcx)) in calls.iter().enumerate() {
        let args = [rbx, rcx, 0, 0, 0, 0];
        let want = evaluate(&resolved, audit, I386_GETPID as u32, &args);
        let data = SeccompData {
            nr: I386_GETPID as i32,
            arch: audit,
            instruction_pointer: 0,
            args,
        };
        let emulated = prepared.run(&data, Arch::X86.endian()).ret;
        assert_eq!(emulated, want.to_ret(), "call {i}: emulator vs policy");
        match want {
            Action::Errno(e) => assert_eq!(got[i], -i64::from(e), "call {i} {args:x?}"),
            Action::Allow => assert!(got[i] > 0, "call {i} {args:x?}: {}", got[i]),
            other => panic!("unexpected action {other}"),
        }
    }
    // The cases were chosen so that every rule decides one of them.
    assert_eq!(got[0], -7);
    assert_eq!(got[1], -9, "u64 sees the low word only on i386");
    assert!(got[2] > 0);
    assert_eq!(got[3], -11);
    assert!(got[4] > 0);
    assert_eq!(got[5], -9);
}
