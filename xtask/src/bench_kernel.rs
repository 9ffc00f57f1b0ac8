//! `cargo xtask bench-kernel PROFILE [--arch A]... [--calls N] [--reps R]`:
//! what a filter costs in the running kernel, per system call, for our
//! layouts and for libseccomp's, in one run.
//!
//! Each filter is installed in a forked child (never in this process),
//! pinned to one CPU, which makes the same mix of real, harmless system
//! calls, `N` calls per timed repetition, one repetition per child, the
//! filters taking turns until each has `R`. A repetition is timed by the
//! child's own CPU time (`CLOCK_THREAD_CPUTIME_ID`), so the time it waits
//! for a CPU on a busy machine does not count. The table gives the median
//! per call and the overhead over the same mix without a filter. Rows: no filter; ours in every layout; libseccomp at
//! optimisation levels 1 and 2 (the system's `libseccomp.so.2`, fed the
//! way runc feeds it; only for OCI/Docker JSON profiles, and only when the
//! library is installed).
//!
//! The mix ([`CANDIDATES`], classified by the policy's own meaning):
//! * calls the policy allows whatever the arguments, which the kernel's
//!   action cache answers without running the filter (`getpid`, ...);
//! * calls the policy allows after checking arguments, which run the
//!   filter (`personality(0xffffffff)`, `socket(-1, 0, 0)`, ...);
//! * calls the policy refuses with an errno, which run the filter and not
//!   the call (`unshare(0)`, `setns(-1, 0)`, a number past the table, ...).
//!
//! Every candidate is harmless when it does run (the no-filter row runs
//! them all): invalid descriptors, null pointers, queries, no-op flags.
//! Candidates the policy kills, traps, traces or notifies on are left out.
//! Before timing, each child makes every call of the mix once and reports
//! the results: a refused call must fail with the policy's errno, an
//! allowed one must return what it returns without a filter.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::DynError;

use bpf_asm::policy::compile::{compile_resolved, CompileOptions, Layout};
use bpf_asm::policy::eval::evaluate;
use bpf_asm::policy::load::oci::running_kernel;
use bpf_asm::policy::resolve::{resolve, Resolved};
use bpf_asm::policy::Action;
use bpf_asm::{Arch, SockFilter};
use bpf_vm::cache::cache_bitmap;
use bpf_vm::data::SeccompData;
use bpf_vm::emu::Prepared;
use peers::Libseccomp;

use crate::bench_peers;

/// Flags of the command.
#[derive(clap::Args)]
pub struct Args {
    /// The policy: TOML, or an OCI/Docker JSON profile (loaded as Docker
    /// hands it to runc: default capabilities, the running kernel).
    #[arg(value_name = "PROFILE")]
    pub profile: PathBuf,
    /// An architecture the filters are built for (repeatable; default: the
    /// host's). The host's must be among them: the calls are made here.
    #[arg(long = "arch", value_name = "ARCH", value_parser = parse_arch)]
    pub arches: Vec<Arch>,
    /// System calls per timed repetition (rounded up to whole mixes).
    #[arg(long, value_name = "N", default_value_t = 200_000, value_parser = parse_calls)]
    pub calls: u64,
    /// Timed repetitions per filter; the median is reported.
    #[arg(long, value_name = "R", default_value_t = 31, value_parser = parse_reps)]
    pub reps: u32,
}

/// The most calls per repetition: at about 1 µs a call, a repetition then
/// takes minutes, and `R` of them per row are already far more than a
/// stable median needs.
pub const MAX_CALLS: u64 = 100_000_000;
/// The most repetitions per filter.
pub const MAX_REPS: u32 = 1_000;

/// A count: decimal or `0x` hexadecimal, `_` allowed between digits.
fn parse_count(s: &str) -> Result<u64, String> {
    let t = s.trim().replace('_', "");
    let parsed = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => t.parse(),
    };
    parsed.map_err(|e| format!("`{s}` is not a count ({e})"))
}

fn parse_calls(s: &str) -> Result<u64, String> {
    match parse_count(s)? {
        0 => Err("--calls must be at least 1".into()),
        n if n > MAX_CALLS => Err(format!("--calls {n} is more than {MAX_CALLS}")),
        n => Ok(n),
    }
}

fn parse_reps(s: &str) -> Result<u32, String> {
    match parse_count(s)? {
        0 => Err("--reps must be at least 1".into()),
        n if n > u64::from(MAX_REPS) => Err(format!("--reps {n} is more than {MAX_REPS}")),
        n => Ok(n as u32),
    }
}

/// An `--arch` value, by any name [`Arch::from_name`] knows.
fn parse_arch(name: &str) -> Result<Arch, String> {
    Arch::from_name(name).ok_or_else(|| format!("unknown architecture `{name}`"))
}

/// The architecture of this machine's system calls.
fn host_arch() -> Result<Arch, DynError> {
    Arch::host().ok_or_else(|| "bench-kernel does not know this machine's architecture".into())
}

/// A harmless system call: by name (resolved per architecture by the
/// `syscalls` tables), or `None` for the first number past the table.
#[derive(Clone, Copy, Debug)]
pub struct Candidate {
    /// The syscall name; `None`: the first number past the architecture's table.
    pub name: Option<&'static str>,
    /// The arguments (no pointer but NULL).
    pub args: [u64; 6],
}

const fn call(name: &'static str, args: [u64; 6]) -> Candidate {
    Candidate {
        name: Some(name),
        args,
    }
}

/// `-1` as a descriptor argument.
const BAD_FD: u64 = u64::MAX;

/// The calls the mix is drawn from. Each is harmless and cheap when it
/// runs: it queries, fails on a bad descriptor or bad flags before doing
/// anything, or asks for nothing (`unshare(0)`). None makes the kernel
/// touch a pointer (a fault on NULL would cost more than any filter).
pub const CANDIDATES: [Candidate; 21] = [
    call("getpid", [0; 6]),
    call("getppid", [0; 6]),
    call("getuid", [0; 6]),
    call("geteuid", [0; 6]),
    call("getgid", [0; 6]),
    call("gettid", [0; 6]),
    call("getpgrp", [0; 6]),
    call("read", [BAD_FD, 0, 0, 0, 0, 0]),
    call("write", [BAD_FD, 0, 0, 0, 0, 0]),
    call("close", [BAD_FD, 0, 0, 0, 0, 0]),
    call("fcntl", [BAD_FD, 1, 0, 0, 0, 0]),
    call("ioctl", [BAD_FD, 0x5401, 0, 0, 0, 0]),
    call("lseek", [BAD_FD, 0, 0, 0, 0, 0]),
    call("dup", [BAD_FD, 0, 0, 0, 0, 0]),
    // personality(0xffffffff) queries the persona without changing it.
    call("personality", [0xffff_ffff, 0, 0, 0, 0, 0]),
    // No address family -1: EAFNOSUPPORT, no socket.
    call("socket", [BAD_FD, 0, 0, 0, 0, 0]),
    call("unshare", [0; 6]),
    call("setns", [BAD_FD, 0, 0, 0, 0, 0]),
    // Wrong magic: EINVAL after the capability check.
    call("reboot", [0; 6]),
    // An image of length 0: ENOEXEC before anything is read.
    call("init_module", [0; 6]),
    Candidate {
        name: None,
        args: [0; 6],
    },
];

/// How the policy treats a call of the mix.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Class {
    /// Allowed whatever the arguments: the action cache's to answer.
    CacheAllow,
    /// Allowed after the filter checked arguments (or `log`: never cached).
    CheckedAllow,
    /// Refused with an errno: the filter runs, the call does not.
    Refused,
}

impl Class {
    fn label(self) -> &'static str {
        match self {
            Class::CacheAllow => "allowed whatever the arguments (the action cache's)",
            Class::CheckedAllow => "allowed after checking arguments (the filter runs)",
            Class::Refused => "refused with an errno (the filter runs, the call does not)",
        }
    }
}

/// One call of the mix.
#[derive(Clone, Debug)]
pub struct MixCall {
    /// How it is written in the table (`getpid()`, `socket(-1, 0, 0)`).
    pub label: String,
    /// The syscall number on the host.
    pub nr: u32,
    /// The arguments.
    pub args: [u64; 6],
    /// How the policy treats it.
    pub class: Class,
    /// The policy's action for it.
    pub action: Action,
}

/// `name(a, b, ...)` with the arguments a call passes (trailing zeros left
/// out; `-1` for all-ones words).
fn label(c: &Candidate, nr: u32) -> String {
    let used = c.args.iter().rposition(|&a| a != 0).map_or(0, |i| i + 1);
    let args: Vec<String> = c.args[..used]
        .iter()
        .map(|&a| match a {
            u64::MAX => "-1".to_string(),
            a if a > 9 => format!("{a:#x}"),
            a => a.to_string(),
        })
        .collect();
    match c.name {
        Some(n) => format!("{n}({})", args.join(", ")),
        None => format!("syscall {nr} (past the table)"),
    }
}

/// The mix for `resolved` on `arch`, and the candidates left out with why.
pub fn mix(resolved: &Resolved, arch: Arch) -> (Vec<MixCall>, Vec<String>) {
    let audit = arch.audit_arch();
    let rules = resolved.arch(audit);
    let (mut mix, mut left_out) = (Vec::new(), Vec::new());
    for c in &CANDIDATES {
        let nr = match c.name {
            Some(n) => match arch.syscall_nr(n) {
                Some(nr) => nr,
                None => {
                    left_out.push(format!("{n}: not a syscall on {}", arch.name()));
                    continue;
                }
            },
            None => arch.syscall_range().1 + 1,
        };
        let label = label(c, nr);
        let action = evaluate(resolved, audit, nr, &c.args);
        let checked = rules.is_some_and(|r| r.rules_for(nr).any(|r| !r.conditions.is_empty()));
        let class = match action {
            Action::Allow if !checked => Class::CacheAllow,
            Action::Allow | Action::Log => Class::CheckedAllow,
            Action::Errno(_) => Class::Refused,
            other => {
                left_out.push(format!("{label}: the policy says {other}"));
                continue;
            }
        };
        mix.push(MixCall {
            label,
            nr,
            args: c.args,
            class,
            action,
        });
    }
    (mix, left_out)
}

/// What one child did.
struct ChildRun {
    /// The return value of each call of the mix, made once first (`-errno`
    /// on failure, as the kernel returns it), with the child's own pid
    /// (what `getpid` and `gettid` return, different in every child)
    /// replaced by 0.
    rets: Vec<i64>,
    /// The CPU time (user + system) the child used, in nanoseconds.
    cpu_ns: u64,
}

/// Runs the mix in a forked child pinned to `cpu`, under `filter` (none:
/// unfiltered): once to record the results, then `mixes` times.
///
/// After the filter is installed the child makes no system call but the
/// mix and `exit_group`: its results go to memory shared with this
/// process, and its CPU time comes from `wait4`'s resource usage, so a
/// policy need not allow anything else (not even `write` or
/// `clock_gettime`). Time the child waits for a CPU does not count.
fn run_child(
    filter: Option<&[SockFilter]>,
    mix: &[MixCall],
    mixes: u64,
    cpu: usize,
) -> Result<ChildRun, DynError> {
    let calls: Vec<(usize, [usize; 6])> = mix
        .iter()
        .map(|c| (c.nr as usize, c.args.map(|a| a as usize)))
        .collect();
    let shared = sys::Shared::new(calls.len())?;
    let parent = sys::getpid();
    match sys::fork()? {
        0 => {
            let code = child(filter, &calls, mixes, cpu, parent, &shared);
            sys::exit(code)
        }
        pid => {
            let (status, cpu_ns) = sys::wait(pid)?;
            match status {
                sys::Status::Exited(0) => {}
                sys::Status::Exited(code) => {
                    return Err(format!("the child failed: {}", child_failure(code)).into())
                }
                sys::Status::Signaled(sig) => {
                    return Err(format!("the child was killed by signal {sig}").into())
                }
            }
            let own = i64::from(pid);
            let rets = (0..calls.len())
                .map(|i| shared.get(i) as i64)
                .map(|r| if r == own { 0 } else { r })
                .collect();
            Ok(ChildRun { rets, cpu_ns })
        }
    }
}

/// Exit codes of the child.
const CHILD_ORPHANED: i32 = 3;
const CHILD_NO_PIN: i32 = 4;
const CHILD_NO_NEW_PRIVS: i32 = 5;
const CHILD_INSTALL: i32 = 6;

fn child_failure(code: i32) -> &'static str {
    match code {
        CHILD_ORPHANED => "its parent went away",
        CHILD_NO_PIN => "sched_setaffinity refused to pin it",
        CHILD_NO_NEW_PRIVS => "prctl(PR_SET_NO_NEW_PRIVS) failed",
        CHILD_INSTALL => "the kernel refused the filter",
        _ => "unknown exit code",
    }
}

/// The child's work: raw system calls only (the parent may have threads),
/// no allocation, no panics. Returns its exit code; on 0, `shared` holds
/// what each call of the mix returned on its first run.
fn child(
    filter: Option<&[SockFilter]>,
    calls: &[(usize, [usize; 6])],
    mixes: u64,
    cpu: usize,
    parent: i32,
    shared: &sys::Shared,
) -> i32 {
    if !sys::die_with_parent() || sys::getppid() != parent {
        return CHILD_ORPHANED;
    }
    if !sys::pin_to(cpu) {
        return CHILD_NO_PIN;
    }
    if let Some(f) = filter {
        if seccomp_install::set_no_new_privs().is_err() {
            return CHILD_NO_NEW_PRIVS;
        }
        match seccomp_install::install(f, seccomp_install::Flags::NONE) {
            Ok(installed) => drop(installed),
            Err(_) => return CHILD_INSTALL,
        }
    }
    for (i, &(nr, a)) in calls.iter().enumerate() {
        shared.set(i, sys::call(nr, a) as u64);
    }
    for _ in 0..mixes {
        for &(nr, a) in calls {
            sys::call(nr, a);
        }
    }
    0
}

/// The raw system calls of the parent and the child (the `syscalls`
/// crate's; no libc). Everything the child calls here is async-signal-safe
/// and allocation-free.
mod sys {
    use syscalls::{raw, Errno, Sysno};

    use crate::DynError;

    /// How a child ended.
    #[derive(Clone, Copy, PartialEq, Eq, Debug)]
    pub enum Status {
        /// `exit(code)`.
        Exited(i32),
        /// Killed by this signal.
        Signaled(i32),
    }

    /// One call of the mix: `-errno` or the result, as the kernel returns it.
    #[inline(always)]
    pub fn call(nr: usize, a: [usize; 6]) -> i64 {
        // SAFETY: every call of the mix takes no pointer but NULL and no
        // descriptor but -1 (see `CANDIDATES`), so it touches no memory of
        // this process; the worst it does is fail.
        unsafe { raw::syscall6(nr, a[0], a[1], a[2], a[3], a[4], a[5]) as i64 }
    }

    pub fn getpid() -> i32 {
        // SAFETY: no arguments, cannot fail.
        unsafe { raw::syscall0(Sysno::getpid as usize) as i32 }
    }

    pub fn getppid() -> i32 {
        // SAFETY: no arguments, cannot fail.
        unsafe { raw::syscall0(Sysno::getppid as usize) as i32 }
    }

    /// Memory shared with a forked child: `len` words, zeroed.
    pub struct Shared {
        ptr: *mut u64,
        len: usize,
    }

    impl Shared {
        /// `mmap(MAP_SHARED | MAP_ANONYMOUS)` of `len` words.
        pub fn new(len: usize) -> Result<Shared, DynError> {
            const PROT_READ_WRITE: usize = 0x1 | 0x2;
            const MAP_SHARED_ANONYMOUS: usize = 0x01 | 0x20;
            let bytes = len.max(1).checked_mul(8).ok_or("mix too large")?;
            // SAFETY: a fresh anonymous mapping at an address the kernel
            // chooses; it overlaps nothing of ours.
            let ptr = unsafe {
                syscalls::syscall6(
                    Sysno::mmap,
                    0,
                    bytes,
                    PROT_READ_WRITE,
                    MAP_SHARED_ANONYMOUS,
                    usize::MAX,
                    0,
                )
            }
            .map_err(|e| format!("mmap: {e}"))?;
            Ok(Shared {
                ptr: ptr as *mut u64,
                len,
            })
        }

        /// Stores word `i` (ignored past the end).
        pub fn set(&self, i: usize, v: u64) {
            if i < self.len {
                // SAFETY: `i` is inside the mapping, which lives until
                // `drop`; only the child writes, while the parent waits.
                unsafe { self.ptr.add(i).write_volatile(v) }
            }
        }

        /// Word `i` (0 past the end).
        pub fn get(&self, i: usize) -> u64 {
            if i < self.len {
                // SAFETY: `i` is inside the mapping, which lives until
                // `drop`; the child that wrote it has exited.
                unsafe { self.ptr.add(i).read_volatile() }
            } else {
                0
            }
        }
    }

    impl Drop for Shared {
        fn drop(&mut self) {
            // SAFETY: unmaps exactly the mapping `new` made, once; no
            // reference into it outlives `self`.
            let _ = unsafe {
                syscalls::syscall2(Sysno::munmap, self.ptr as usize, self.len.max(1) * 8)
            };
        }
    }

    /// `fork()`: 0 in the child, the child's pid in the parent.
    pub fn fork() -> Result<i32, DynError> {
        // SAFETY: the child only runs raw system calls on memory allocated
        // before the fork, then exits with `exit_group` (it never returns
        // into code that might take a lock another thread held).
        let pid = unsafe { syscalls::syscall0(Sysno::fork) }.map_err(|e| format!("fork: {e}"))?;
        Ok(pid as i32)
    }

    /// Waits for the child `pid`: how it ended, and the CPU time (user +
    /// system, nanoseconds) it used.
    pub fn wait(pid: i32) -> Result<(Status, u64), DynError> {
        let mut status = 0i32;
        // `struct rusage`: two `struct timeval`s, then 14 longs.
        let mut usage = [0i64; 18];
        loop {
            // SAFETY: the kernel writes one int into `status` and one
            // `struct rusage` (144 bytes) into `usage`, both live for the call.
            let r = unsafe {
                syscalls::syscall4(
                    Sysno::wait4,
                    pid as usize,
                    &mut status as *mut i32 as usize,
                    0,
                    usage.as_mut_ptr() as usize,
                )
            };
            match r {
                Ok(_) => break,
                Err(Errno::EINTR) => {}
                Err(e) => return Err(format!("wait4({pid}): {e}").into()),
            }
        }
        let ended = if status & 0x7f == 0 {
            Status::Exited((status >> 8) & 0xff)
        } else {
            Status::Signaled(status & 0x7f)
        };
        let micros = |sec: i64, usec: i64| sec.max(0) as u64 * 1_000_000 + usec.max(0) as u64;
        let cpu = micros(usage[0], usage[1]) + micros(usage[2], usage[3]);
        Ok((ended, cpu.saturating_mul(1000)))
    }

    /// `exit_group(code)`, else `exit(code)`, tried until one works (`bench`
    /// refuses, before forking, a policy that allows neither).
    pub fn exit(code: i32) -> ! {
        loop {
            // SAFETY: ends the process when allowed; nothing runs afterwards.
            unsafe { raw::syscall1(Sysno::exit_group as usize, code as usize) };
            // SAFETY: as above, for the calling thread (the only one).
            unsafe { raw::syscall1(Sysno::exit as usize, code as usize) };
        }
    }

    /// `prctl(PR_SET_PDEATHSIG, SIGKILL)`: this process dies with its parent.
    pub fn die_with_parent() -> bool {
        const PR_SET_PDEATHSIG: usize = 1;
        const SIGKILL: usize = 9;
        // SAFETY: integer arguments only.
        unsafe { syscalls::syscall2(Sysno::prctl, PR_SET_PDEATHSIG, SIGKILL) }.is_ok()
    }

    /// The CPUs this process may run on (`sched_getaffinity`), ascending.
    pub fn allowed_cpus() -> Vec<usize> {
        let mut mask = [0u64; 16];
        // SAFETY: the kernel writes at most `size_of_val(&mask)` bytes into
        // `mask`, which is live for the call.
        let r = unsafe {
            syscalls::syscall3(
                Sysno::sched_getaffinity,
                0,
                std::mem::size_of_val(&mask),
                mask.as_mut_ptr() as usize,
            )
        };
        if r.is_err() {
            return Vec::new();
        }
        (0..mask.len() * 64)
            .filter(|&c| mask[c / 64] >> (c % 64) & 1 == 1)
            .collect()
    }

    /// Pins this process to `cpu` (`sched_setaffinity`).
    pub fn pin_to(cpu: usize) -> bool {
        let mut mask = [0u64; 16];
        let Some(word) = mask.get_mut(cpu / 64) else {
            return false;
        };
        *word = 1 << (cpu % 64);
        // SAFETY: the kernel reads `size_of_val(&mask)` bytes from `mask`,
        // which is live for the call.
        unsafe {
            syscalls::syscall3(
                Sysno::sched_setaffinity,
                0,
                std::mem::size_of_val(&mask),
                mask.as_ptr() as usize,
            )
        }
        .is_ok()
    }
}

/// One filter of the table (`None`: the unfiltered baseline).
struct Row {
    name: String,
    filter: Result<Option<Vec<SockFilter>>, String>,
    /// `true` for the row the summary compares (ours, auto; libseccomp 2).
    key: Option<Key>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Key {
    Baseline,
    Ours,
    Libseccomp2,
}

/// The deterministic figures of a filter on the mix.
struct Figures {
    insns: usize,
    /// Calls of the mix the action cache answers.
    cached: usize,
    /// Mean instructions per call of the mix (0 for the cached ones).
    mean_steps: f64,
    /// Mean instructions over the calls the cache does not answer.
    mean_uncached: Option<f64>,
}

fn figures(prog: &[SockFilter], arch: Arch, mix: &[MixCall]) -> Result<Figures, String> {
    let p = Prepared::new(prog).map_err(|e| format!("rejected by the verifier: {e}"))?;
    let cache = cache_bitmap(&[prog], arch);
    let (mut total, mut uncached_steps, mut cached) = (0usize, 0usize, 0usize);
    for c in mix {
        if cache.contains(c.nr) {
            cached += 1;
            continue;
        }
        let data = SeccompData::new(c.nr as i32, arch.audit_arch()).with_args(c.args);
        let steps = p.run(&data, arch.endian()).steps;
        total += steps;
        uncached_steps += steps;
    }
    let uncached = mix.len() - cached;
    Ok(Figures {
        insns: prog.len(),
        cached,
        mean_steps: total as f64 / mix.len().max(1) as f64,
        mean_uncached: (uncached > 0).then(|| uncached_steps as f64 / uncached as f64),
    })
}

/// The median and quartiles of per-call times (ns).
#[derive(Clone, Copy, Debug, PartialEq)]
struct Spread {
    p25: f64,
    median: f64,
    p75: f64,
}

fn spread(times: &[u64], calls_per_rep: u64) -> Spread {
    let mut per_call: Vec<f64> = times
        .iter()
        .map(|&t| t as f64 / calls_per_rep.max(1) as f64)
        .collect();
    per_call.sort_by(f64::total_cmp);
    let at = |q: f64| {
        let i = ((per_call.len() - 1) as f64 * q).round() as usize;
        per_call.get(i).copied().unwrap_or(f64::NAN)
    };
    Spread {
        p25: at(0.25),
        median: at(0.5),
        p75: at(0.75),
    }
}

/// Checks what a filtered child's calls returned against the policy
/// (refused: `-errno`; allowed: what the unfiltered child got).
fn check_results(
    name: &str,
    mix: &[MixCall],
    got: &[i64],
    unfiltered: &[i64],
) -> Result<(), String> {
    for ((c, &r), &base) in mix.iter().zip(got).zip(unfiltered) {
        let want = match c.action {
            Action::Errno(e) => -i64::from(e.min(4095)),
            _ => base,
        };
        if r != want {
            return Err(format!(
                "{name}: {} returned {r} in the kernel, but the policy says {} ({want})",
                c.label, c.action
            ));
        }
    }
    Ok(())
}

/// Runs the command.
pub fn run(args: Args) -> Result<ExitCode, DynError> {
    let report = bench(&args)?;
    print!("{report}");
    Ok(ExitCode::SUCCESS)
}

/// Does the whole measurement and returns the report (table and last line).
pub fn bench(args: &Args) -> Result<String, DynError> {
    use std::fmt::Write as _;
    let host = host_arch()?;
    let mut arches: Vec<Arch> = Vec::new();
    for &a in &args.arches {
        if !arches.contains(&a) {
            arches.push(a);
        }
    }
    if arches.is_empty() {
        arches.push(host);
    }
    if !arches.contains(&host) {
        return Err(format!(
            "--arch must include this machine's architecture ({}): the calls are made here",
            host.name()
        )
        .into());
    }
    if !args.profile.is_file() {
        return Err(format!("{}: no such file", args.profile.display()).into());
    }
    let lib = Libseccomp::open();
    let kernel = running_kernel().unwrap_or((6, 1));
    let policy = bench_peers::our_policy(&args.profile, kernel, &arches, lib.as_ref())?;
    let resolved = resolve(&policy).map_err(|e| format!("{}: {e}", args.profile.display()))?;
    if resolved.arch(host.audit_arch()).is_none() {
        return Err(format!(
            "{}: the policy has no rules for {}",
            args.profile.display(),
            host.name()
        )
        .into());
    }
    let exits = ["exit_group", "exit"].iter().any(|name| {
        host.syscall_nr(name).is_some_and(|nr| {
            matches!(
                evaluate(&resolved, host.audit_arch(), nr, &[0; 6]),
                Action::Allow | Action::Log
            )
        })
    });
    if !exits {
        return Err(format!(
            "{}: the policy refuses exit_group and exit: a filtered child could not even end",
            args.profile.display()
        )
        .into());
    }
    let (mix, left_out) = mix(&resolved, host);
    if mix.is_empty() {
        return Err(
            "no call of the mix can run under this policy (every one is killed or trapped)".into(),
        );
    }
    let rounds = args.calls.div_ceil(mix.len() as u64);
    let calls_per_rep = rounds * mix.len() as u64;

    let mut rows = vec![Row {
        name: "no filter".into(),
        filter: Ok(None),
        key: Some(Key::Baseline),
    }];
    for layout in [
        Layout::Auto,
        Layout::Linear,
        Layout::Bintree,
        Layout::Ranges,
    ] {
        let opts = CompileOptions {
            layout,
            profile: None,
        };
        let (name, filter) = match compile_resolved(&resolved, &opts) {
            Ok(c) if layout == Layout::Auto => {
                (format!("ours, auto (= {})", c.layout), Ok(Some(c.program)))
            }
            Ok(c) => (format!("ours, {layout}"), Ok(Some(c.program))),
            Err(e) => (format!("ours, {layout}"), Err(e.to_string())),
        };
        rows.push(Row {
            name,
            filter,
            key: (layout == Layout::Auto).then_some(Key::Ours),
        });
    }
    let lib_rules = match &lib {
        None => Err("not installed (libseccomp.so.2 not found)".to_string()),
        Some(l) => bench_peers::libseccomp_rules(l, &args.profile, kernel)
            .map_err(|e| format!("not compared: {e}")),
    };
    for (level, what) in [(1, "linear"), (2, "binary tree")] {
        let filter = match (&lib, &lib_rules) {
            (Some(l), Ok(rules)) => l
                .build(rules, level, &arches)
                .map(Some)
                .map_err(|e| e.to_string()),
            (_, Err(why)) => Err(why.clone()),
            (None, Ok(_)) => Err("not installed".into()),
        };
        rows.push(Row {
            name: format!("libseccomp, optimize {level} ({what})"),
            filter,
            key: (level == 2).then_some(Key::Libseccomp2),
        });
    }

    let cpus = sys::allowed_cpus();
    let cpu = *cpus
        .last()
        .ok_or("sched_getaffinity gave no CPU to run on")?;
    // One repetition per pair of children, the rows taking turns, so that
    // load changing during the run weighs on every row alike: the CPU time
    // of a child making `warm + rounds` mixes minus that of one making
    // `warm`, so that forking, pinning and installing cancel out.
    let warm = rounds.div_ceil(4);
    let mut times: Vec<Vec<u64>> = vec![Vec::new(); rows.len()];
    let mut rets: Vec<Option<Vec<i64>>> = vec![None; rows.len()];
    for _ in 0..args.reps {
        for (i, row) in rows.iter().enumerate() {
            let Ok(filter) = &row.filter else { continue };
            let timed = |mixes| {
                run_child(filter.as_deref(), &mix, mixes, cpu)
                    .map_err(|e| format!("{}: {e}", row.name))
            };
            let setup = timed(warm)?;
            let full = timed(warm + rounds)?;
            times[i].push(full.cpu_ns.saturating_sub(setup.cpu_ns));
            rets[i].get_or_insert(full.rets);
        }
    }
    let unfiltered = rets[0].clone().ok_or("the unfiltered child did not run")?;
    for (row, got) in rows.iter().zip(&rets) {
        if let (Ok(Some(_)), Some(got)) = (&row.filter, got) {
            check_results(&row.name, &mix, got, &unfiltered)?;
        }
    }

    let mut out = String::new();
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let _ = writeln!(
        out,
        "{}: filters for {} on Linux {}.{}, each installed in a forked child pinned to CPU {cpu}; \
         {calls_per_rep} calls per repetition ({rounds} times the mix of {}), {} repetitions per filter, \
         the filters taking turns; a repetition is the CPU time of a child making {warm} + {rounds} mixes \
         minus that of one making {warm}; per-call time = median repetition / calls (load average {}).",
        args.profile.display(),
        arches.iter().map(|a| a.name()).collect::<Vec<_>>().join(", "),
        kernel.0,
        kernel.1,
        mix.len(),
        args.reps,
        load.split_whitespace().take(3).collect::<Vec<_>>().join(" "),
    );
    let _ = writeln!(out);
    let _ = writeln!(out, "The mix:");
    for class in [Class::CacheAllow, Class::CheckedAllow, Class::Refused] {
        let calls: Vec<String> = mix
            .iter()
            .filter(|c| c.class == class)
            .map(|c| match c.class {
                Class::Refused => format!("{} → {}", c.label, c.action),
                _ => c.label.clone(),
            })
            .collect();
        let list = if calls.is_empty() {
            "none in this policy".to_string()
        } else {
            calls.join(", ")
        };
        let _ = writeln!(out, "- {} ({}): {list}", class.label(), calls.len());
    }
    if !left_out.is_empty() {
        let _ = writeln!(out, "- left out: {}", left_out.join("; "));
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "| filter | insns | calls the action cache answers | mean steps per call | mean steps over the other calls | ns/call (median) | p25–p75 | overhead ns/call |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|");
    let base = spread(&times[0], calls_per_rep).median;
    let (mut ours, mut theirs) = (None, None);
    for (i, row) in rows.iter().enumerate() {
        let prog = match &row.filter {
            Err(why) => {
                let _ = writeln!(out, "| {} | — | — | — | — | — | — | {why} |", row.name);
                continue;
            }
            Ok(p) => p,
        };
        let s = spread(&times[i], calls_per_rep);
        let overhead = s.median - base;
        match row.key {
            Some(Key::Ours) => ours = Some(overhead),
            Some(Key::Libseccomp2) => theirs = Some(overhead),
            _ => {}
        }
        let det = match prog {
            None => "— | — | — | —".to_string(),
            Some(p) => match figures(p, host, &mix) {
                Ok(f) => format!(
                    "{} | {} of {} | {:.1} | {}",
                    f.insns,
                    f.cached,
                    mix.len(),
                    f.mean_steps,
                    f.mean_uncached.map_or("—".into(), |m| format!("{m:.1}"))
                ),
                Err(why) => format!("{} | — | — | {why}", p.len()),
            },
        };
        let over = if prog.is_none() {
            "—".to_string()
        } else {
            format!("{overhead:.1}")
        };
        let _ = writeln!(
            out,
            "| {} | {det} | {:.1} | {:.1}–{:.1} | {over} |",
            row.name, s.median, s.p25, s.p75
        );
    }
    let _ = writeln!(out);
    let ours = ours.ok_or("our auto layout did not compile")?;
    let last = match theirs {
        Some(t) if t > 0.0 => format!(
            "kernel overhead per call vs libseccomp optimize 2: ours {ours:.1} ns, libseccomp {t:.1} ns, ratio {:.2}",
            ours / t
        ),
        Some(t) => format!(
            "kernel overhead per call vs libseccomp optimize 2: ours {ours:.1} ns, libseccomp {t:.1} ns, ratio — (libseccomp's overhead is not above the noise)"
        ),
        None => format!(
            "kernel overhead per call vs libseccomp optimize 2: ours {ours:.1} ns, libseccomp — ({})",
            rows.iter()
                .find(|r| r.key == Some(Key::Libseccomp2))
                .and_then(|r| r.filter.as_ref().err().cloned())
                .unwrap_or_default()
        ),
    };
    let _ = writeln!(out, "{last}");
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: Args,
    }

    fn parse(flags: &[&str]) -> Result<Args, String> {
        let argv = std::iter::once("bench-kernel").chain(flags.iter().copied());
        Cli::try_parse_from(argv)
            .map(|c| c.args)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn bad_counts_and_architectures_are_refused_with_a_reason() {
        for (flags, why) in [
            (&["p.toml", "--calls", "0"][..], "at least 1"),
            (&["p.toml", "--calls", "100000001"], "more than 100000000"),
            (
                &["p.toml", "--calls", "99999999999999999999"],
                "not a count",
            ),
            (&["p.toml", "--calls=-5"], "not a count"),
            (&["p.toml", "--reps", "0"], "at least 1"),
            (&["p.toml", "--reps", "1001"], "more than 1000"),
            (&["p.toml", "--arch", "vax"], "unknown architecture `vax`"),
            (&[], "PROFILE"),
        ] {
            let err = match parse(flags) {
                Ok(_) => panic!("{flags:?} accepted"),
                Err(e) => e,
            };
            assert!(err.contains(why), "{flags:?}: {err}");
        }
        let a = parse(&["p.toml", "--calls", "0x100", "--reps", "3"]).unwrap();
        assert_eq!((a.calls, a.reps), (256, 3));
    }

    fn policy_file(name: &str, text: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("xtask-bench-kernel-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    fn args(profile: PathBuf) -> Args {
        Args {
            profile,
            arches: Vec::new(),
            calls: 300,
            reps: 2,
        }
    }

    #[test]
    fn bad_profiles_are_errors_not_panics() {
        let missing = args(PathBuf::from("/nonexistent/policy.toml"));
        assert!(bench(&missing)
            .unwrap_err()
            .to_string()
            .contains("no such file"));
        let garbage = args(policy_file("garbage.toml", "default = \"allow\"\n[[rule"));
        assert!(bench(&garbage).is_err());
        let Some(host) = Arch::host() else { return };
        let other = Arch::ALL.into_iter().find(|&a| a != host).unwrap();
        let foreign = Args {
            arches: vec![other],
            ..args(policy_file("ok.toml", "default = \"allow\"\n"))
        };
        let err = bench(&foreign).unwrap_err().to_string();
        assert!(
            err.contains("must include this machine's architecture"),
            "{err}"
        );
        // Everything killed: a child could not even exit.
        let kill = args(policy_file("kill.toml", "default = \"kill_process\"\n"));
        let err = bench(&kill).unwrap_err().to_string();
        assert!(err.contains("refuses exit_group and exit"), "{err}");
        // Everything but exit killed: no call of the mix can be made.
        let only_exit = args(policy_file(
            "only-exit.toml",
            "default = \"kill_process\"\n[[rule]]\nsyscalls = [\"exit_group\"]\naction = \"allow\"\n",
        ));
        let err = bench(&only_exit).unwrap_err().to_string();
        assert!(err.contains("no call of the mix"), "{err}");
    }

    /// The mix of a policy with each kind of call has each class, decided
    /// by the policy's meaning; killed calls are left out with the reason.
    #[test]
    fn the_mix_follows_the_policy() {
        let Some(host) = Arch::host() else { return };
        let p = policy_file(
            "mix.toml",
            r#"default = "errno(EPERM)"
            [[rule]]
            syscalls = ["getpid", "getppid", "read", "write", "close", "fcntl", "ioctl"]
            action = "allow"
            [[rule]]
            syscalls = ["personality"]
            when = ["arg0 == 0xffffffff"]
            action = "allow"
            [[rule]]
            syscalls = ["reboot"]
            action = "kill_process"
            "#,
        );
        let policy = bench_peers::our_policy(&p, (6, 1), &[host], None).unwrap();
        let resolved = resolve(&policy).unwrap();
        let (mix, left_out) = mix(&resolved, host);
        let class_of = |name: &str| {
            mix.iter()
                .find(|c| c.label.starts_with(name))
                .map(|c| c.class)
        };
        assert_eq!(class_of("getpid("), Some(Class::CacheAllow));
        assert_eq!(class_of("personality("), Some(Class::CheckedAllow));
        assert_eq!(class_of("unshare("), Some(Class::Refused));
        assert_eq!(class_of("syscall "), Some(Class::Refused));
        assert_eq!(class_of("reboot("), None);
        assert!(
            left_out
                .iter()
                .any(|l| l.starts_with("reboot(") && l.contains("kill_process")),
            "{left_out:?}"
        );
    }

    /// A tiny run: every row measured, the filtered results checked in the
    /// kernel against the policy, the summary as the last line.
    #[test]
    fn a_tiny_run_prints_the_table_and_the_summary_last() {
        if Arch::host().is_none() {
            return;
        }
        let p = policy_file(
            "tiny.toml",
            r#"default = "errno(EPERM)"
            [[rule]]
            syscalls = ["getpid", "getppid", "gettid", "read", "close", "exit_group"]
            action = "allow"
            [[rule]]
            syscalls = ["personality"]
            when = ["arg0 == 0xffffffff"]
            action = "allow"
            "#,
        );
        let report = bench(&args(p)).unwrap_or_else(|e| panic!("{e}"));
        let lines: Vec<&str> = report.lines().collect();
        for row in [
            "| no filter |",
            "| ours, auto (= ",
            "| ours, linear |",
            "| ours, bintree |",
            "| ours, ranges |",
            "| libseccomp, optimize 1",
            "| libseccomp, optimize 2",
        ] {
            assert!(
                lines.iter().any(|l| l.starts_with(row)),
                "no row {row:?}:\n{report}"
            );
        }
        let last = lines.last().unwrap();
        assert!(
            last.starts_with("kernel overhead per call vs libseccomp optimize 2: ours ")
                && last.contains(" ns, libseccomp "),
            "{last}"
        );
        // A TOML policy has no libseccomp rows to time (nor has a machine
        // without the library).
        assert!(
            last.contains("not compared") || last.contains("not installed"),
            "{last}"
        );
        // The auto row: 3 of the mix answered by the cache at least.
        let auto = lines
            .iter()
            .find(|l| l.starts_with("| ours, auto"))
            .unwrap();
        let cells: Vec<&str> = auto.split('|').map(str::trim).collect();
        let cached: usize = cells[3].split(' ').next().unwrap().parse().unwrap();
        assert!(cached >= 3, "{auto}");
    }
}
