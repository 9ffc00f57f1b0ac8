//! Runs filters against the running kernel without ever filtering the test
//! runner itself: [`run_in_child`] forks, and the child uses only raw
//! system calls before `_exit`; [`reexec`] starts the test binary again as a
//! child process for tests that need threads.

use std::process::{Command, Output};
use std::sync::OnceLock;

use bpf_asm::seccomp::SECCOMP_RET_ALLOW;
use bpf_asm::SockFilter;

/// Environment variable naming the role of a re-executed test binary.
pub const CHILD_ENV: &str = "BPF_VM_KERNEL_CHILD";

/// The line tests print when the kernel cannot be used.
pub const SKIP_MSG: &str = "skipped: seccomp unavailable";

/// File descriptor on which a forked child reports (dup'ed from a pipe).
const REPORT_FD: i32 = 757;

const TAG_RETURNED: u64 = 1;
const TAG_TRAPPED: u64 = 2;
const TAG_INSTALL_FAILED: u64 = 3;
const TAG_SETUP_FAILED: u64 = 4;

/// A system call made by the child after its filters are installed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Call {
    /// The system call number.
    pub nr: i64,
    /// Its six arguments.
    pub args: [u64; 6],
}

/// How a child's system call ended, as seen from outside.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Observed {
    /// The call returned this raw value (`-errno` on failure).
    Returned(i64),
    /// The call raised SIGSYS that reached the child's handler (RET_TRAP).
    Trapped {
        /// `si_errno`: the filter's data bits.
        data: i32,
        /// `si_code` (1 = `SYS_SECCOMP`).
        code: i32,
        /// `si_syscall`.
        syscall: i32,
        /// `si_arch`.
        arch: u32,
        /// `si_call_addr`: the instruction pointer of the call.
        call_addr: u64,
    },
    /// The child was killed by this signal (KILL actions: SIGSYS).
    Signaled(i32),
    /// Installing filter number `filter` (0 = first) failed with `errno`.
    InstallFailed {
        /// Which filter.
        filter: usize,
        /// The errno of `seccomp()`.
        errno: i32,
    },
    /// Setting up the child failed (`prctl`) with `errno`.
    SetupFailed(i32),
    /// The child exited with this status without reporting.
    Exited(i32),
}

/// Whether this kernel supports seccomp filters: `/proc/self/status` has a
/// `Seccomp:` line and a child can install `ret ALLOW` and still call
/// `getppid`.
pub fn seccomp_available() -> bool {
    static AVAILABLE: OnceLock<bool> = OnceLock::new();
    *AVAILABLE.get_or_init(|| {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        if !status.lines().any(|l| l.starts_with("Seccomp:")) {
            return false;
        }
        let allow = [SockFilter::stmt(0x06, SECCOMP_RET_ALLOW)];
        let call = Call {
            nr: libc::SYS_getppid,
            args: [0; 6],
        };
        run_in_child(&[&allow], call).0 == Observed::Returned(std::process::id() as i64)
    })
}

/// The role of this process when it was started by [`reexec`].
pub fn child_role() -> Option<String> {
    std::env::var(CHILD_ENV).ok()
}

/// Runs the single test `test_name` of this test binary in a new process
/// with [`CHILD_ENV`] set to `role` and the extra environment `env`.
pub fn reexec(test_name: &str, role: &str, env: &[(&str, String)]) -> Output {
    let exe = std::env::current_exe().expect("current_exe");
    let mut cmd = Command::new(exe);
    cmd.args([test_name, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, role);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("re-executing the test binary")
}

/// The thread id of the caller.
pub fn gettid() -> i64 {
    // SAFETY: gettid has no arguments and cannot fail.
    unsafe { libc::syscall(libc::SYS_gettid) }
}

/// Sets `no_new_privs` on the calling thread; returns the errno on failure.
pub fn set_no_new_privs() -> Result<(), i32> {
    // SAFETY: prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) only sets a task flag.
    let r = unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) };
    if r == 0 {
        Ok(())
    } else {
        Err(errno())
    }
}

/// `seccomp(SECCOMP_SET_MODE_FILTER, flags, &prog)` on the calling thread:
/// the raw return value, or `-errno`.
///
/// # Safety
/// Installs a filter on the calling thread (unless the kernel refuses it);
/// callers must only use it in child processes.
pub unsafe fn seccomp_set_mode_filter(flags: u64, prog: &[SockFilter]) -> i64 {
    let fprog = libc::sock_fprog {
        len: prog.len() as u16,
        filter: prog.as_ptr() as *mut libc::sock_filter,
    };
    let r = libc::syscall(
        libc::SYS_seccomp,
        1u64,
        flags,
        &fprog as *const libc::sock_fprog,
    );
    if r == -1 {
        -(errno() as i64)
    } else {
        r
    }
}

fn errno() -> i32 {
    // SAFETY: __errno_location returns the calling thread's errno slot.
    unsafe { *libc::__errno_location() }
}

/// Writes one report record on [`REPORT_FD`]; async-signal-safe.
fn report(rec: [u64; 6]) {
    // SAFETY: write(2) of a local buffer; errors are ignored on purpose.
    unsafe {
        libc::write(REPORT_FD, rec.as_ptr() as *const libc::c_void, 48);
    }
}

extern "C" fn on_sigsys(_sig: libc::c_int, info: *mut libc::siginfo_t, _ctx: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo_t; the SIGSYS fields sit at
    // fixed offsets of the Linux layout (si_errno 4, si_code 8, _sigsys:
    // call_addr 16, syscall 24, arch 28). Only async-signal-safe calls follow.
    unsafe {
        let base = info as *const u8;
        let data = *(base.add(4) as *const i32);
        let code = *(base.add(8) as *const i32);
        let call_addr = *(base.add(16) as *const u64);
        let syscall = *(base.add(24) as *const i32);
        let arch = *(base.add(28) as *const u32);
        report([
            TAG_TRAPPED,
            data as u32 as u64,
            code as u32 as u64,
            call_addr,
            syscall as u32 as u64,
            arch as u64,
        ]);
        libc::_exit(0);
    }
}

/// Forks a child that installs `filters` (oldest first) with
/// `no_new_privs`, then makes `call`, and reports what happened.
///
/// The child disables core dumps, installs a SIGSYS handler (so that
/// RET_TRAP is told apart from a kill), and after `fork` uses only
/// async-signal-safe calls. Every filter must ALLOW `write` and
/// `exit_group` (and `seccomp` for the next filter), which the guarded
/// programs of `gen::program` do. Also returns the child's pid.
pub fn run_in_child(filters: &[&[SockFilter]], call: Call) -> (Observed, i32) {
    (observe_child(filters, call), LAST_PID.with(|p| p.get()))
}

thread_local! {
    static LAST_PID: std::cell::Cell<i32> = const { std::cell::Cell::new(0) };
}

/// The `sock_fprog`s of `filters`, built before a fork (the child must not
/// allocate).
fn fprogs(filters: &[&[SockFilter]]) -> Vec<libc::sock_fprog> {
    filters
        .iter()
        .map(|f| libc::sock_fprog {
            len: f.len() as u16,
            filter: f.as_ptr() as *mut libc::sock_filter,
        })
        .collect()
}

/// A close-on-exec, non-blocking pipe for the child's report: `(read, write)`.
fn report_pipe() -> (i32, i32) {
    let mut fds = [0i32; 2];
    // SAFETY: pipe2 writes two fds into the array.
    let r = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) };
    assert_eq!(r, 0, "pipe2 failed");
    (fds[0], fds[1])
}

fn observe_child(filters: &[&[SockFilter]], call: Call) -> Observed {
    let fprogs = fprogs(filters);
    let (rfd, wfd) = report_pipe();
    // SAFETY: the child only makes raw system calls and async-signal-safe
    // libc calls, all on memory prepared before the fork, then _exit()s.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        // SAFETY: see above; this never returns.
        unsafe { child_main(&fprogs, call, wfd) }
    }
    LAST_PID.with(|p| p.set(pid));
    // SAFETY: closing our copy of the write end.
    unsafe { libc::close(wfd) };
    let mut status = 0;
    loop {
        // SAFETY: waiting for our own child.
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        if r == pid {
            break;
        }
        assert!(r == -1 && errno() == libc::EINTR, "waitpid failed");
    }
    let mut rec = [0u64; 6];
    // SAFETY: reading at most 48 bytes into a 48-byte buffer.
    let n = unsafe { libc::read(rfd, rec.as_mut_ptr() as *mut libc::c_void, 48) };
    // SAFETY: closing our read end.
    unsafe { libc::close(rfd) };
    if libc::WIFSIGNALED(status) {
        return Observed::Signaled(libc::WTERMSIG(status));
    }
    if n == 48 {
        return match rec[0] {
            TAG_RETURNED => Observed::Returned(rec[1] as i64),
            TAG_TRAPPED => Observed::Trapped {
                data: rec[1] as u32 as i32,
                code: rec[2] as u32 as i32,
                call_addr: rec[3],
                syscall: rec[4] as u32 as i32,
                arch: rec[5] as u32,
            },
            TAG_INSTALL_FAILED => Observed::InstallFailed {
                filter: rec[1] as usize,
                errno: rec[2] as i32,
            },
            _ => Observed::SetupFailed(rec[1] as i32),
        };
    }
    Observed::Exited(libc::WEXITSTATUS(status))
}

/// The forked child's program: raw system calls only.
unsafe fn child_main(fprogs: &[libc::sock_fprog], call: Call, wfd: i32) -> ! {
    libc::dup2(wfd, REPORT_FD);
    // No core dumps from the SIGSYS kills (core_pattern may write files).
    libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
    let rl = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    libc::setrlimit(libc::RLIMIT_CORE, &rl);
    let mut sa: libc::sigaction = core::mem::zeroed();
    let handler: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) = on_sigsys;
    sa.sa_sigaction = handler as usize;
    sa.sa_flags = libc::SA_SIGINFO;
    libc::sigaction(libc::SIGSYS, &sa, core::ptr::null_mut());
    let mut set: libc::sigset_t = core::mem::zeroed();
    libc::sigemptyset(&mut set);
    libc::sigaddset(&mut set, libc::SIGSYS);
    libc::sigprocmask(libc::SIG_UNBLOCK, &set, core::ptr::null_mut());
    if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
        report([TAG_SETUP_FAILED, errno() as u64, 0, 0, 0, 0]);
        libc::_exit(2);
    }
    for (i, fp) in fprogs.iter().enumerate() {
        let r = libc::syscall(libc::SYS_seccomp, 1u64, 0u64, fp as *const libc::sock_fprog);
        if r != 0 {
            report([TAG_INSTALL_FAILED, i as u64, errno() as u64, 0, 0, 0]);
            libc::_exit(3);
        }
    }
    let a = call.args;
    let r = libc::syscall(call.nr, a[0], a[1], a[2], a[3], a[4], a[5]);
    let raw = if r == -1 { -(errno() as i64) } else { r };
    report([TAG_RETURNED, raw as u64, 0, 0, 0, 0]);
    libc::_exit(0);
}

/// Stacks copies of `filters` (cycling through them, oldest first) in a
/// forked child until `seccomp()` fails; returns how many were installed
/// and the errno of the failure (`None` if `max` were installed).
pub fn stack_until_failure(filters: &[&[SockFilter]], max: usize) -> (usize, Option<i32>) {
    let fprogs = fprogs(filters);
    let (rfd, wfd) = report_pipe();
    // SAFETY: the child makes raw system calls only, then _exit()s.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        // SAFETY: raw system calls on memory prepared before the fork.
        unsafe {
            libc::dup2(wfd, REPORT_FD);
            libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
            if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
                report([TAG_SETUP_FAILED, errno() as u64, 0, 0, 0, 0]);
                libc::_exit(2);
            }
            let mut n = 0usize;
            while n < max {
                let fp = &fprogs[n % fprogs.len()];
                let r = libc::syscall(libc::SYS_seccomp, 1u64, 0u64, fp as *const libc::sock_fprog);
                if r != 0 {
                    report([TAG_INSTALL_FAILED, n as u64, errno() as u64, 0, 0, 0]);
                    libc::_exit(3);
                }
                n += 1;
            }
            report([TAG_RETURNED, n as u64, 0, 0, 0, 0]);
            libc::_exit(0);
        }
    }
    // SAFETY: closing our copy of the write end, then waiting for the child.
    unsafe { libc::close(wfd) };
    let mut status = 0;
    loop {
        // SAFETY: waiting for our own child.
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        if r == pid {
            break;
        }
        assert!(r == -1 && errno() == libc::EINTR, "waitpid failed");
    }
    let mut rec = [0u64; 6];
    // SAFETY: reading at most 48 bytes into a 48-byte buffer.
    let n = unsafe { libc::read(rfd, rec.as_mut_ptr() as *mut libc::c_void, 48) };
    // SAFETY: closing our read end.
    unsafe { libc::close(rfd) };
    assert_eq!(n, 48, "stacking child did not report (status {status:#x})");
    match rec[0] {
        TAG_RETURNED => (rec[1] as usize, None),
        TAG_INSTALL_FAILED => (rec[1] as usize, Some(rec[2] as i32)),
        _ => panic!(
            "stacking child could not set no_new_privs: errno {}",
            rec[1]
        ),
    }
}
