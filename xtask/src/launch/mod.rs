//! The launcher behind `run` and `learn`: starts a command under a stack of
//! seccomp filters and supervises it until it ends.
//!
//! # The child, between `fork` and `exec`
//!
//! Only the async-signal-safe calls of [`sys::child`] and the installer
//! (raw system calls, no allocation): everything else, the argument arrays
//! included, is prepared before the fork. In order:
//!
//! 1. restore the signal mask and the `SIGPIPE`/`SIGCHLD` dispositions the
//!    launcher had when it started (the parent blocks the signals it
//!    forwards, and Rust's runtime ignores `SIGPIPE`);
//! 2. `PR_SET_PDEATHSIG(SIGKILL)`, then compare `getppid()` with the
//!    parent's pid: if the parent died before the `prctl`, the death signal
//!    will never come, so the child exits instead of running unsupervised;
//! 3. `PR_SET_NO_NEW_PRIVS`;
//! 4. install every filter in order, each with `TSYNC` (and one of them
//!    with `NEW_LISTENER`);
//! 5. with a listener, wait (spinning on shared memory) until the parent
//!    has handed it over, so the command never runs without its agent;
//! 6. the one `execve` (or `execveat`) whose exact register values the
//!    caller checked beforehand (see [`Command`]), and on `ENOEXEC` the
//!    `/bin/sh` retry `execvp` makes, if the caller allowed it.
//!
//! Steps 1 to 3 come before any filter, so no policy has to allow them.
//! After step 4 the only calls left are the exec and, if it fails, `_exit`.
//! How far the child got and the errno of a failed step are written to a
//! [`Report`] in shared memory (plain stores, no system call), so the
//! parent can tell "the exec failed with EACCES" from "the command ran and
//! failed", whatever the policy does to the calls after the install.
//!
//! # The parent
//!
//! Blocks the forwarded signals and reads them from a signalfd, watches the
//! child through a pidfd and, when a filter has a listener, fetches the
//! listener with `pidfd_getfd` once the child has published its number
//! (the child cannot send it: any call after the install goes through the
//! filter, and a notified `sendmsg` would wait for the very supervisor it
//! is addressed to; crun's helper process polls for the same reason). One
//! `poll` loop then serves everything; see [`Supervision`].

pub mod agent;
pub mod path;
pub mod sys;

use std::ffi::{c_int, CString};
use std::fmt;
use std::io;
use std::os::fd::{AsFd, AsRawFd};
use std::sync::atomic::{AtomicI32, AtomicU32, Ordering};

use bpf_asm::SockFilter;
use seccomp_install::{install, set_no_new_privs, Flags};

use sys::{CStrArray, Pid, SigSet, SignalFd, WaitStatus};

/// The signals sent to the launcher that it passes on to the command.
pub const FORWARDED: [c_int; 6] = [
    libc::SIGTERM,
    libc::SIGINT,
    libc::SIGHUP,
    libc::SIGQUIT,
    libc::SIGUSR1,
    libc::SIGUSR2,
];

/// The command to exec, prepared before the fork.
pub struct Command {
    /// The name as given, for messages.
    pub shown: String,
    /// The file to exec (the result of the `PATH` search).
    pub path: CString,
    /// `argv`, with `argv[0]` as given.
    pub argv: CStrArray,
    /// `envp`.
    pub envp: CStrArray,
    /// `execvp`'s retry for a file the kernel cannot execute (`ENOEXEC`):
    /// `/bin/sh` with `argv` = `["/bin/sh", path, args...]`; `None` to
    /// report `ENOEXEC` instead.
    pub sh_retry: Option<(CString, CStrArray)>,
}

/// Which exec system call the child makes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ExecCall {
    /// `execve(path, argv, envp)`.
    Execve,
    /// `execveat(AT_FDCWD, path, argv, envp, 0)`.
    Execveat,
}

impl ExecCall {
    /// The syscall name.
    pub fn name(self) -> &'static str {
        match self {
            ExecCall::Execve => "execve",
            ExecCall::Execveat => "execveat",
        }
    }

    /// The six argument registers the child passes for `path`, `argv` and
    /// `envp` (pointers into memory prepared before the fork, identical in
    /// the child).
    pub fn args(self, path: &CString, argv: &CStrArray, envp: &CStrArray) -> [u64; 6] {
        let (p, a, e) = (
            path.as_ptr() as u64,
            argv.as_ptr() as u64,
            envp.as_ptr() as u64,
        );
        match self {
            ExecCall::Execve => [p, a, e, 0, 0, 0],
            ExecCall::Execveat => [sys::AT_FDCWD_ARG, p, a, e, 0, 0],
        }
    }
}

/// One filter of the stack and the flags it is installed with (the
/// launcher adds `TSYNC`, and `NEW_LISTENER | TSYNC_ESRCH` for the
/// listener's filter).
pub struct Filter {
    /// The program.
    pub program: Vec<SockFilter>,
    /// Extra `SECCOMP_FILTER_FLAG_*` bits (`LOG`, `SPEC_ALLOW`,
    /// `WAIT_KILLABLE_RECV`).
    pub flags: Flags,
}

/// What to do with the notification listener.
pub enum Listener<'a> {
    /// Hand it to a seccomp agent (OCI runtime spec) and keep no copy.
    Agent(&'a agent::Agent),
}

/// Everything [`launch`] needs.
pub struct Spec<'a> {
    /// The command.
    pub command: &'a Command,
    /// The filters, in install order.
    pub filters: &'a [Filter],
    /// The filter installed with `NEW_LISTENER`, and what to do with its
    /// listener.
    pub listener: Option<(usize, Listener<'a>)>,
    /// The exec call.
    pub exec: ExecCall,
    /// Make this process a child subreaper and, once the command has ended,
    /// kill and reap every process it left behind. Only for a process with
    /// no other children (the `cargo xtask` binary, not a test runner).
    pub reap_orphans: bool,
}

/// How the command ended.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Ended {
    /// It exited with this status.
    Exited(i32),
    /// A signal ended it.
    Signaled {
        /// The signal.
        signal: i32,
        /// Whether it dumped core.
        core: bool,
    },
    /// The exec failed with this errno: the command never ran.
    ExecFailed {
        /// Which call failed (the `/bin/sh` retry counts as the same call).
        call: ExecCall,
        /// Whether the failure is the `/bin/sh` retry's.
        sh_retry: bool,
        /// The errno.
        errno: i32,
    },
}

/// What [`launch`] observed.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Outcome {
    /// How the command ended.
    pub ended: Ended,
    /// Processes the command left running, killed after it ended (with
    /// [`Spec::reap_orphans`]).
    pub orphans_killed: usize,
}

/// The child's steps, as published in [`Report::stage`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Stage {
    /// Restoring the signal mask and dispositions.
    Signals = 1,
    /// `PR_SET_PDEATHSIG`.
    DeathSignal = 2,
    /// The parent was gone before the death signal was armed.
    ParentGone = 3,
    /// `PR_SET_NO_NEW_PRIVS`.
    NoNewPrivs = 4,
    /// Installing filter [`Report::detail`].
    Install = 5,
    /// The exec.
    Exec = 6,
    /// The `/bin/sh` retry.
    ShRetry = 7,
}

impl Stage {
    fn from_u32(v: u32) -> Option<Stage> {
        Some(match v {
            1 => Stage::Signals,
            2 => Stage::DeathSignal,
            3 => Stage::ParentGone,
            4 => Stage::NoNewPrivs,
            5 => Stage::Install,
            6 => Stage::Exec,
            7 => Stage::ShRetry,
            _ => return None,
        })
    }
}

/// What the child publishes in shared memory (plain stores, no system
/// calls): its last step, the errno of a failed step, and the listener's
/// descriptor number.
#[derive(Default)]
pub struct Report {
    stage: AtomicU32,
    errno: AtomicI32,
    detail: AtomicU32,
    /// The listener descriptor in the child, +1 (0: not installed yet).
    listener: AtomicI32,
    /// When the filter install failed as a TSYNC failure: the thread id.
    tsync_tid: AtomicU32,
    /// Set by the parent once the listener is in the supervisor's or the
    /// agent's hands; the child spins on it before the exec.
    go: AtomicU32,
}

/// Why the command could not be started or supervised. When [`launch`]
/// returns one, the command and everything it started are gone.
#[derive(Debug)]
pub enum LaunchError {
    /// A system call of the launcher failed.
    Io {
        /// What the launcher was doing.
        what: &'static str,
        /// The error.
        source: io::Error,
    },
    /// The child failed a step before the exec.
    Setup {
        /// The step.
        stage: Stage,
        /// The filter, for [`Stage::Install`].
        filter: usize,
        /// The errno.
        errno: i32,
        /// The thread TSYNC could not synchronise, if that was the error.
        tsync_tid: Option<u32>,
    },
    /// Handing the listener to the agent failed.
    Agent(agent::AgentError),
}

impl fmt::Display for LaunchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LaunchError::Io { what, source } => write!(f, "{what}: {source}"),
            LaunchError::Setup {
                stage,
                filter,
                errno,
                tsync_tid,
            } => {
                let e = io::Error::from_raw_os_error(*errno);
                match stage {
                    Stage::Signals => write!(f, "restoring the signal mask in the child: {e}"),
                    Stage::DeathSignal => write!(f, "PR_SET_PDEATHSIG in the child: {e}"),
                    Stage::ParentGone => f.write_str(
                        "the launcher ended before the command's death signal was armed; the command was not started",
                    ),
                    Stage::NoNewPrivs => write!(f, "PR_SET_NO_NEW_PRIVS in the child: {e}"),
                    Stage::Install => match tsync_tid {
                        Some(tid) => write!(
                            f,
                            "installing filter {filter}: TSYNC could not synchronise thread {tid}"
                        ),
                        None => write!(f, "installing filter {filter}: the kernel refused: {e}"),
                    },
                    Stage::Exec | Stage::ShRetry => write!(f, "exec: {e}"),
                }
            }
            LaunchError::Agent(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for LaunchError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            LaunchError::Io { source, .. } => Some(source),
            LaunchError::Agent(e) => Some(e),
            LaunchError::Setup { .. } => None,
        }
    }
}

fn io_err(what: &'static str) -> impl FnOnce(io::Error) -> LaunchError {
    move |source| LaunchError::Io { what, source }
}

/// Restores the calling thread's signal mask and the `SIGCHLD`
/// disposition when the launch is over (the launcher may run inside a
/// larger program).
struct SignalState {
    mask: SigSet,
    sigchld: sys::Disposition,
}

impl Drop for SignalState {
    fn drop(&mut self) {
        let _ = sys::set_signal_mask(&self.mask);
        if self.sigchld.is_ignored() {
            let _ = sys::child::set_disposition(libc::SIGCHLD, true);
        }
    }
}

/// Starts the command under the filters and supervises it until it and
/// (with [`Spec::reap_orphans`]) every process it left behind have ended.
/// Never returns while a process it started runs.
pub fn launch(spec: Spec<'_>) -> Result<Outcome, LaunchError> {
    let Spec {
        command,
        filters,
        listener,
        exec,
        reap_orphans,
    } = spec;
    let (listener_filter, mut listener_use) = match listener {
        Some((i, l)) => (Some(i), Some(l)),
        None => (None, None),
    };
    if reap_orphans {
        sys::set_child_subreaper().map_err(io_err("PR_SET_CHILD_SUBREAPER"))?;
    }
    // SIGCHLD must not be ignored, or the kernel reaps the command itself and
    // its status is lost.
    let sigchld = sys::set_default_disposition(libc::SIGCHLD).map_err(io_err("SIGCHLD"))?;
    let mut watched: Vec<c_int> = FORWARDED.to_vec();
    if reap_orphans {
        // Wakes the loop when an orphan ends, so it is reaped at once.
        watched.push(libc::SIGCHLD);
    }
    let watched = SigSet::of(&watched);
    let old_mask = sys::block_signals(&watched).map_err(io_err("blocking signals"))?;
    let restore = SignalState {
        mask: old_mask,
        sigchld,
    };
    let sigfd = SignalFd::new(&watched).map_err(io_err("signalfd"))?;
    let report = sys::Shared::<Report>::new().map_err(io_err("mmap"))?;
    let parent = sys::getpid();

    // SAFETY: the child runs only `child_main`, which makes async-signal-safe
    // calls on memory prepared before the fork and never returns.
    let pid = match unsafe { sys::fork() }.map_err(io_err("fork"))? {
        sys::Fork::Child => child_main(
            &ChildPlan {
                command,
                filters,
                listener_filter,
                exec,
                mask: &restore.mask,
                sigchld_ignored: restore.sigchld.is_ignored(),
                parent,
            },
            &report,
        ),
        sys::Fork::Parent(pid) => pid,
    };
    let mut sup = Supervision {
        child: ChildGuard {
            pid,
            status: None,
            reap_orphans,
        },
        sigfd,
        report,
        listener_filter,
        exec,
    };
    let result = sup.run(&mut listener_use);
    let outcome = match result {
        Ok(()) => sup.finish(),
        Err(e) => {
            sup.child.kill_all();
            Err(e)
        }
    };
    drop(sup);
    drop(restore);
    outcome
}

/// What the child needs, all prepared before the fork.
struct ChildPlan<'a> {
    command: &'a Command,
    filters: &'a [Filter],
    listener_filter: Option<usize>,
    exec: ExecCall,
    mask: &'a SigSet,
    sigchld_ignored: bool,
    parent: Pid,
}

/// The child's side (see the module docs); never returns.
fn child_main(plan: &ChildPlan<'_>, report: &Report) -> ! {
    let fail = |stage: Stage, errno: i32| -> ! {
        report.stage.store(stage as u32, Ordering::SeqCst);
        report.errno.store(errno, Ordering::SeqCst);
        sys::child::exit(125)
    };
    report.stage.store(Stage::Signals as u32, Ordering::SeqCst);
    if let Err(e) = sys::child::set_signal_mask(plan.mask) {
        fail(Stage::Signals, e);
    }
    if let Err(e) = sys::child::set_disposition(libc::SIGPIPE, false) {
        fail(Stage::Signals, e);
    }
    if plan.sigchld_ignored {
        if let Err(e) = sys::child::set_disposition(libc::SIGCHLD, true) {
            fail(Stage::Signals, e);
        }
    }
    report
        .stage
        .store(Stage::DeathSignal as u32, Ordering::SeqCst);
    if let Err(e) = sys::child::set_parent_death_signal(libc::SIGKILL) {
        fail(Stage::DeathSignal, e);
    }
    if sys::child::getppid() != plan.parent {
        fail(Stage::ParentGone, 0);
    }
    report
        .stage
        .store(Stage::NoNewPrivs as u32, Ordering::SeqCst);
    if let Err(e) = set_no_new_privs() {
        fail(Stage::NoNewPrivs, installer_errno(&e));
    }
    for (i, f) in plan.filters.iter().enumerate() {
        report.stage.store(Stage::Install as u32, Ordering::SeqCst);
        report.detail.store(i as u32, Ordering::SeqCst);
        let mut flags = f.flags | Flags::TSYNC;
        if plan.listener_filter == Some(i) {
            flags |= Flags::NEW_LISTENER | Flags::TSYNC_ESRCH;
        }
        match install(&f.program, flags) {
            Ok(installed) => {
                if let Some(fd) = installed.listener() {
                    // Close-on-exec: the command never sees it. Published
                    // with a plain store; the parent polls for it.
                    report.listener.store(fd.into_raw() + 1, Ordering::SeqCst);
                }
            }
            Err(e) => {
                if let seccomp_install::Error::ThreadSync { tid } = e {
                    report.tsync_tid.store(tid, Ordering::SeqCst);
                }
                fail(Stage::Install, installer_errno(&e));
            }
        }
    }
    if plan.listener_filter.is_some() {
        // The command execs only once its listener has a reader: waiting
        // here may not make a system call (a notified one would wait for
        // the listener it is waiting to hand over), so it spins. The parent
        // sets `go` within a poll period, or kills this process.
        while report.go.load(Ordering::Acquire) == 0 {
            std::hint::spin_loop();
        }
    }
    let c = plan.command;
    report.stage.store(Stage::Exec as u32, Ordering::SeqCst);
    let mut errno = match plan.exec {
        ExecCall::Execve => sys::child::execve(&c.path, &c.argv, &c.envp),
        ExecCall::Execveat => sys::child::execveat(&c.path, &c.argv, &c.envp),
    };
    if errno == libc::ENOEXEC {
        if let Some((sh, sh_argv)) = &c.sh_retry {
            // Only the final failure is published: a retry that succeeds
            // leaves `errno` at 0.
            report.stage.store(Stage::ShRetry as u32, Ordering::SeqCst);
            errno = match plan.exec {
                ExecCall::Execve => sys::child::execve(sh, sh_argv, &c.envp),
                ExecCall::Execveat => sys::child::execveat(sh, sh_argv, &c.envp),
            };
        }
    }
    report.errno.store(errno, Ordering::SeqCst);
    sys::child::exit(if errno == libc::ENOENT { 127 } else { 126 })
}

/// The errno behind an installer error (no allocation: the child uses it).
fn installer_errno(e: &seccomp_install::Error) -> i32 {
    match e {
        seccomp_install::Error::Kernel(k) => k.into_raw(),
        seccomp_install::Error::ThreadSync { .. } => libc::ESRCH,
        seccomp_install::Error::Unsupported => libc::ENOSYS,
        _ => libc::EINVAL,
    }
}

/// The command's process, killed and reaped on drop unless already reaped.
struct ChildGuard {
    pid: Pid,
    status: Option<WaitStatus>,
    reap_orphans: bool,
}

impl ChildGuard {
    /// Kills the command (if still unreaped) and, with `reap_orphans`,
    /// every other child; reaps them all. Returns how many processes other
    /// than the command were killed.
    fn kill_all(&mut self) -> usize {
        if self.status.is_none() {
            let _ = sys::kill(self.pid, libc::SIGKILL);
            self.wait_command();
        }
        if self.reap_orphans {
            kill_orphans(self.pid)
        } else {
            0
        }
    }

    /// Blocks until the command has ended and records its status.
    fn wait_command(&mut self) {
        while self.status.is_none() {
            let mut status = 0;
            // SAFETY: waitpid on our own child with a writable status.
            let r = unsafe { libc::waitpid(self.pid, &mut status, 0) };
            if r == self.pid {
                self.status = Some(if libc::WIFSIGNALED(status) {
                    WaitStatus::Signaled {
                        signal: libc::WTERMSIG(status),
                        core: libc::WCOREDUMP(status),
                    }
                } else {
                    WaitStatus::Exited(libc::WEXITSTATUS(status))
                });
            } else if r < 0 && io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
                // ECHILD: someone else reaped it; nothing is left to wait for.
                self.status = Some(WaitStatus::Signaled {
                    signal: libc::SIGKILL,
                    core: false,
                });
            }
        }
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if self.status.is_none() {
            self.kill_all();
        }
    }
}

/// Kills and reaps every child of this process (a subreaper, so these are
/// the processes the command left behind, re-parented here), generation by
/// generation until none is left. `command` is not counted.
fn kill_orphans(command: Pid) -> usize {
    let mut killed = std::collections::BTreeSet::new();
    loop {
        let kids = sys::children_of(sys::getpid());
        if kids.is_empty() {
            while let Ok(sys::Reap::Child(..)) = sys::reap_any(false) {}
            return killed.len();
        }
        for &k in &kids {
            if sys::kill(k, libc::SIGKILL).is_ok() && k != command {
                killed.insert(k);
            }
        }
        // Every listed child is dying (or a zombie): wait for one, reap the
        // rest that are done, and look again for newly re-parented ones.
        match sys::reap_any(true) {
            Ok(sys::Reap::Child(..)) => {}
            _ => return killed.len(),
        }
        while let Ok(sys::Reap::Child(..)) = sys::reap_any(false) {}
    }
}

/// The parent's state while the command runs.
///
/// # Why this cannot deadlock
///
/// The supervisor is a separate process that is never under the filter,
/// and its loop blocks in exactly one place: `poll` on the pidfd, the
/// signalfd and (when serving) the listener. Between two polls it only
/// receives and answers notifications, forwards signals with `kill` and
/// updates memory of its own. It never reads the traced processes' memory,
/// never writes to a descriptor they read, and shares no lock with them,
/// so a traced thread that holds a lock (its own malloc lock, a pipe
/// another traced thread fills) while it waits for an answer can never
/// stop the supervisor from giving that answer.
struct Supervision {
    child: ChildGuard,
    sigfd: SignalFd,
    report: sys::Shared<Report>,
    listener_filter: Option<usize>,
    exec: ExecCall,
}

impl Supervision {
    fn run(&mut self, listener_use: &mut Option<Listener<'_>>) -> Result<(), LaunchError> {
        let pid = self.child.pid;
        let pidfd = sys::pidfd_open(pid).map_err(io_err("pidfd_open"))?;
        let mut awaiting_listener = self.listener_filter.is_some();
        loop {
            let mut fds = vec![
                sys::poll_in(pidfd.as_raw_fd()),
                sys::poll_in(self.sigfd.as_raw_fd()),
            ];
            // While the listener is not yet published, look every millisecond.
            let timeout = if awaiting_listener { 1 } else { -1 };
            sys::poll(&mut fds, timeout).map_err(io_err("poll"))?;
            if awaiting_listener {
                let published = self.report.listener.load(Ordering::SeqCst);
                if published > 0 {
                    awaiting_listener = false;
                    let fd = sys::pidfd_getfd(pidfd.as_fd(), published - 1).map_err(io_err(
                        "pidfd_getfd (fetching the listener from the command)",
                    ))?;
                    match listener_use.take() {
                        Some(Listener::Agent(a)) => {
                            a.hand_over(fd.as_fd(), pid).map_err(LaunchError::Agent)?;
                        }
                        None => {}
                    }
                    self.report.go.store(1, Ordering::Release);
                }
            }
            if fds[1].revents & libc::POLLIN != 0 {
                self.forward_signals()?;
            }
            if self.child.reap_orphans {
                self.reap_ended_orphans()?;
            }
            if fds[0].revents & libc::POLLIN != 0 || self.child.status.is_some() {
                self.child.wait_command();
                return Ok(());
            }
        }
    }

    /// Passes pending signals on to the command. A signal the kernel sent
    /// to the whole foreground process group (`SI_KERNEL`: the terminal's
    /// ^C, ^\, a hang-up) reached the command too when it is still in this
    /// process's group, so it is not sent twice.
    fn forward_signals(&mut self) -> Result<(), LaunchError> {
        while let Some(info) = self.sigfd.read().map_err(io_err("reading the signalfd"))? {
            if info.signo == libc::SIGCHLD || self.child.status.is_some() {
                continue;
            }
            if info.code == libc::SI_KERNEL && same_process_group(self.child.pid) {
                continue;
            }
            let _ = sys::kill(self.child.pid, info.signo);
        }
        Ok(())
    }

    /// Reaps orphans that ended (and the command, if it is among them).
    fn reap_ended_orphans(&mut self) -> Result<(), LaunchError> {
        loop {
            match sys::reap_any(false).map_err(io_err("waitpid"))? {
                sys::Reap::Child(p, ws) if p == self.child.pid => self.child.status = Some(ws),
                sys::Reap::Child(..) => {}
                sys::Reap::Running | sys::Reap::NoChildren => return Ok(()),
            }
        }
    }

    /// After the command ended: kill what it left, read the report.
    fn finish(&mut self) -> Result<Outcome, LaunchError> {
        let orphans_killed = self.child.kill_all();
        let status = self.child.status.unwrap_or(WaitStatus::Signaled {
            signal: libc::SIGKILL,
            core: false,
        });
        let stage = Stage::from_u32(self.report.stage.load(Ordering::SeqCst));
        let errno = self.report.errno.load(Ordering::SeqCst);
        let from_status = match status {
            WaitStatus::Exited(c) => Ended::Exited(c),
            WaitStatus::Signaled { signal, core } => Ended::Signaled { signal, core },
        };
        let ended = match stage {
            Some(s @ (Stage::Exec | Stage::ShRetry)) if errno != 0 => Ended::ExecFailed {
                call: self.exec,
                sh_retry: s == Stage::ShRetry,
                errno,
            },
            Some(s) if errno != 0 || s == Stage::ParentGone => {
                let tid = self.report.tsync_tid.load(Ordering::SeqCst);
                return Err(LaunchError::Setup {
                    stage: s,
                    filter: self.report.detail.load(Ordering::SeqCst) as usize,
                    errno,
                    tsync_tid: (tid != 0).then_some(tid),
                });
            }
            // It ran, or a signal from outside ended it before the exec.
            _ => from_status,
        };
        Ok(Outcome {
            ended,
            orphans_killed,
        })
    }
}

/// Whether process `pid` is in this process's process group.
fn same_process_group(pid: Pid) -> bool {
    // SAFETY: getpgid/getpgrp take and return integers.
    unsafe { libc::getpgid(pid) == libc::getpgrp() }
}
