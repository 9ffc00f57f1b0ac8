//! Test harness helpers: running scenarios in child processes (never in the
//! test runner), small filters and /proc readers.
#![allow(dead_code)]

use std::process::{Command, Output};

use bpf_asm::seccomp::{SECCOMP_DATA_NR, SECCOMP_RET_ALLOW};
use bpf_asm::{SockFilter, BPF_ABS, BPF_JEQ, BPF_JMP, BPF_K, BPF_LD, BPF_RET, BPF_W};

/// Environment variable naming the scenario a re-executed test binary runs.
pub const CHILD_ENV: &str = "SECCOMP_INSTALL_TEST_CHILD";

/// How a child process ended.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Outcome {
    /// `exit(code)`.
    Exited(i32),
    /// Killed by this signal.
    Signaled(i32),
}

impl Outcome {
    /// Decodes a `waitpid` status.
    pub fn from_wait_status(status: i32) -> Outcome {
        if libc::WIFEXITED(status) {
            Outcome::Exited(libc::WEXITSTATUS(status))
        } else if libc::WIFSIGNALED(status) {
            Outcome::Signaled(libc::WTERMSIG(status))
        } else {
            panic!("unexpected wait status {status:#x}")
        }
    }

    /// Decodes a `std::process::ExitStatus`.
    pub fn from_output(out: &Output) -> Outcome {
        use std::os::unix::process::ExitStatusExt;
        match (out.status.code(), out.status.signal()) {
            (Some(c), _) => Outcome::Exited(c),
            (None, Some(s)) => Outcome::Signaled(s),
            _ => panic!("unexpected status {:?}", out.status),
        }
    }
}

/// True in the re-executed child that must run scenario `name`.
pub fn is_child(name: &str) -> bool {
    std::env::var(CHILD_ENV).is_ok_and(|v| v == name)
}

/// Re-executes this test binary so that only test `name` runs, on the main
/// thread of a fresh process, with [`CHILD_ENV`] set to `name`.
pub fn reexec(name: &str) -> Output {
    let exe = std::env::current_exe().expect("current_exe");
    Command::new(exe)
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, name)
        .output()
        .expect("re-exec the test binary")
}

/// Runs scenario `name` in a fresh process: in the re-executed child,
/// `body` runs and the process exits 0 when it returns; in the test runner,
/// returns the child's output (see [`reexec`]).
pub fn run_in_child(name: &str, body: impl FnOnce()) -> Output {
    if is_child(name) {
        body();
        std::process::exit(0);
    }
    reexec(name)
}

/// Asserts that the child ended as `outcome` and printed `text`.
pub fn assert_ended(out: &Output, outcome: Outcome, text: &str) {
    assert_eq!(Outcome::from_output(out), outcome, "{}", show(out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(text),
        "{}",
        show(out)
    );
}

/// Asserts that the child ended as `outcome` and did not print `text`.
pub fn assert_ended_without(out: &Output, outcome: Outcome, text: &str) {
    assert_eq!(Outcome::from_output(out), outcome, "{}", show(out));
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains(text),
        "{}",
        show(out)
    );
}

/// Prints a child's output (shown when the calling test fails).
pub fn show(out: &Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Forks; the child runs `body` (raw system calls only: the parent may have
/// other threads) and `_exit`s with its result. Returns how it ended.
pub fn in_fork(body: impl FnOnce() -> i32) -> Outcome {
    // SAFETY: the child only runs `body`, which callers keep to raw,
    // async-signal-safe system calls, then `_exit`s.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        let code = body();
        // SAFETY: `_exit` never returns and runs no user-space cleanup.
        unsafe { libc::_exit(code) }
    }
    let mut status = 0;
    // SAFETY: waiting for our own child with a valid status pointer.
    let r = unsafe { libc::waitpid(pid, &mut status, 0) };
    assert_eq!(r, pid, "waitpid");
    Outcome::from_wait_status(status)
}

/// Turns off core dumps in this process (for children that die of SIGSYS).
pub fn no_core_dumps() {
    let lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: setrlimit reads a valid rlimit structure.
    unsafe { libc::setrlimit(libc::RLIMIT_CORE, &lim) };
}

/// `syscall(nr)` with no arguments: `Ok(return value)` or `Err(errno)`.
pub fn raw0(nr: libc::c_long) -> Result<i64, i32> {
    // SAFETY: callers pass syscalls without pointer arguments.
    let r = unsafe { libc::syscall(nr) };
    if r == -1 {
        // SAFETY: reading the calling thread's errno.
        Err(unsafe { *libc::__errno_location() })
    } else {
        Ok(r)
    }
}

/// The calling thread's id.
pub fn gettid() -> i32 {
    // SAFETY: gettid cannot fail.
    unsafe { libc::gettid() }
}

/// `ld [nr]; jeq #nr, 0, 1; ret #action; ret #ALLOW`.
pub fn on_syscall(nr: libc::c_long, action: u32) -> [SockFilter; 4] {
    [
        SockFilter::stmt(BPF_LD | BPF_W | BPF_ABS, SECCOMP_DATA_NR),
        SockFilter::jump(BPF_JMP | BPF_JEQ | BPF_K, nr as u32, 0, 1),
        SockFilter::stmt(BPF_RET | BPF_K, action),
        SockFilter::stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    ]
}

/// `ret #ALLOW`.
pub const ALLOW_ALL: [SockFilter; 1] = [SockFilter::stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)];

/// A field of `/proc/self/status` or `/proc/self/task/TID/status`.
pub fn status_field(tid: Option<i32>, field: &str) -> String {
    let path = match tid {
        Some(t) => format!("/proc/self/task/{t}/status"),
        None => "/proc/self/status".to_string(),
    };
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    text.lines()
        .find_map(|l| l.strip_prefix(field).and_then(|r| r.strip_prefix(':')))
        .map(|v| v.trim().to_string())
        .unwrap_or_else(|| panic!("{path}: no {field}"))
}
