//! Installing filters: lengths, stacking precedence, the prctl fallback and
//! kernel errors. Every install happens in a forked child.

mod common;

use bpf_asm::seccomp::*;
use bpf_asm::{SockFilter, BPF_K, BPF_RET};
use common::*;
use seccomp_install::{install, seccomp_syscall_available, set_no_new_privs, Errno, Error, Flags};

#[test]
fn bad_lengths_are_refused_before_the_kernel() {
    // No filter can be installed here: the length check comes first.
    assert_eq!(
        install(&[], Flags::NONE).map(|_| ()),
        Err(Error::BadLength { len: 0 })
    );
    for len in [4097usize, 65536, 65537, 70000] {
        let prog = vec![ALLOW_ALL[0]; len];
        assert_eq!(
            install(&prog, Flags::TSYNC).map(|_| ()),
            Err(Error::BadLength { len }),
            "len {len}"
        );
    }
    let msg = Error::BadLength { len: 4097 }.to_string();
    assert!(msg.contains("4097") && msg.contains("4096"), "{msg}");
}

#[test]
fn the_longest_program_installs() {
    let prog = vec![ALLOW_ALL[0]; 4096];
    let outcome = in_fork(|| {
        if set_no_new_privs().is_err() {
            return 2;
        }
        match install(&prog, Flags::NONE) {
            Ok(_) => 0,
            Err(_) => 3,
        }
    });
    assert_eq!(outcome, Outcome::Exited(0));
}

/// Encodes an errno result for the exit status of a child.
fn code_of(r: Result<usize, Error>) -> i32 {
    match r {
        Ok(_) => 0,
        Err(Error::Kernel(e)) => 100 + e.into_raw().min(100),
        Err(Error::ThreadSync { .. }) => 201,
        Err(Error::BadLength { .. }) => 202,
        Err(Error::Unsupported) => 203,
        #[allow(unreachable_patterns)]
        Err(_) => 204,
    }
}

#[test]
fn kernel_errors_come_back_with_their_errno() {
    // An invalid instruction: EINVAL (with `verify`, refused earlier).
    #[cfg(not(feature = "verify"))]
    {
        let bad = [SockFilter::stmt(0xffff, 0)];
        let outcome = in_fork(|| {
            let _ = set_no_new_privs();
            code_of(install(&bad, Flags::NONE).map(|_| 0))
        });
        assert_eq!(outcome, Outcome::Exited(100 + libc::EINVAL));
    }
    // Unknown flag bits: EINVAL.
    let outcome = in_fork(|| {
        let _ = set_no_new_privs();
        code_of(install(&ALLOW_ALL, Flags::from_bits_retain(1 << 20)).map(|_| 0))
    });
    assert_eq!(outcome, Outcome::Exited(100 + libc::EINVAL));
    // WAIT_KILLABLE_RECV without NEW_LISTENER: EINVAL.
    let outcome = in_fork(|| {
        let _ = set_no_new_privs();
        code_of(install(&ALLOW_ALL, Flags::WAIT_KILLABLE_RECV).map(|_| 0))
    });
    assert_eq!(outcome, Outcome::Exited(100 + libc::EINVAL));
    let e = Error::Kernel(Errno::EINVAL).to_string();
    assert!(e.contains("EINVAL"), "{e}");
}

#[test]
fn unprivileged_install_without_no_new_privs_is_eacces() {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let outcome = in_fork(|| {
        if root {
            // Drop to nobody (and lose CAP_SYS_ADMIN) first.
            // SAFETY: raw setresgid/setresuid in the child.
            unsafe {
                if libc::setresgid(65534, 65534, 65534) != 0
                    || libc::setresuid(65534, 65534, 65534) != 0
                {
                    return 1;
                }
            }
        }
        code_of(install(&ALLOW_ALL, Flags::NONE).map(|_| 0))
    });
    assert_eq!(outcome, Outcome::Exited(100 + libc::EACCES));
}

/// What a process observes for getppid under a final action.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Seen {
    Allowed,
    Errno(i32),
    Trapped,
    Killed,
}

fn seen_for(action: u32) -> Seen {
    match action & SECCOMP_RET_ACTION_FULL {
        SECCOMP_RET_ALLOW | SECCOMP_RET_LOG => Seen::Allowed,
        SECCOMP_RET_ERRNO => Seen::Errno((action & SECCOMP_RET_DATA) as i32),
        // No listener / no tracer.
        SECCOMP_RET_USER_NOTIF | SECCOMP_RET_TRACE => Seen::Errno(libc::ENOSYS),
        SECCOMP_RET_TRAP => Seen::Trapped,
        _ => Seen::Killed,
    }
}

/// The kernel's rule (`seccomp_run_filters`): lowest signed action wins,
/// the newest filter wins ties. `actions` are in install order.
fn expected(actions: &[u32]) -> u32 {
    let mut ret = SECCOMP_RET_ALLOW;
    for &a in actions.iter().rev() {
        if ((a & SECCOMP_RET_ACTION_FULL) as i32) < ((ret & SECCOMP_RET_ACTION_FULL) as i32) {
            ret = a;
        }
    }
    ret
}

extern "C" fn on_sigsys(_: libc::c_int) {
    // SAFETY: `_exit` is async-signal-safe.
    unsafe { libc::_exit(99) }
}

fn observe(actions: &[u32]) -> Seen {
    let ppid = std::process::id() as i64;
    let filters: Vec<_> = actions
        .iter()
        .map(|&a| on_syscall(libc::SYS_getppid, a))
        .collect();
    let outcome = in_fork(|| {
        no_core_dumps();
        // SAFETY: installing an async-signal-safe handler in the child.
        unsafe {
            libc::signal(
                libc::SIGSYS,
                on_sigsys as extern "C" fn(libc::c_int) as libc::sighandler_t,
            )
        };
        if set_no_new_privs().is_err() {
            return 2;
        }
        for f in &filters {
            if install(f, Flags::NONE).is_err() {
                return 3;
            }
        }
        match raw0(libc::SYS_getppid) {
            Ok(p) if p == ppid => 0,
            Ok(_) => 4,
            Err(e) => 10 + e,
        }
    });
    match outcome {
        Outcome::Exited(0) => Seen::Allowed,
        Outcome::Exited(99) => Seen::Trapped,
        Outcome::Exited(c) if c >= 10 => Seen::Errno(c - 10),
        Outcome::Signaled(libc::SIGSYS) => Seen::Killed,
        other => panic!("child setup failed: {other:?} for {actions:x?}"),
    }
}

#[test]
fn stacked_filters_follow_the_kernel_precedence() {
    const ACTIONS: [u32; 10] = [
        SECCOMP_RET_ALLOW,
        SECCOMP_RET_LOG,
        SECCOMP_RET_ERRNO | 5,
        SECCOMP_RET_ERRNO | 6,
        SECCOMP_RET_USER_NOTIF,
        SECCOMP_RET_TRACE,
        SECCOMP_RET_TRAP,
        SECCOMP_RET_KILL_THREAD,
        SECCOMP_RET_KILL_PROCESS,
        SECCOMP_RET_ALLOW | 1,
    ];
    for &a in &ACTIONS {
        for &b in &ACTIONS {
            let want = seen_for(expected(&[a, b]));
            assert_eq!(observe(&[a, b]), want, "older {a:#x}, newer {b:#x}");
        }
    }
    let seed = testkit::seed("stacked_filters_follow_the_kernel_precedence", 0x5eed_0001);
    let mut rng = testkit::Rng::new(seed);
    for case in 0..30 {
        let n = 3 + rng.index(3);
        let stack: Vec<u32> = (0..n).map(|_| rng.pick(&ACTIONS)).collect();
        let want = seen_for(expected(&stack));
        assert_eq!(
            observe(&stack),
            want,
            "seed {seed:#x} case {case}: filters {stack:#x?}"
        );
    }
}

#[test]
fn ties_go_to_the_newest_filter() {
    let order = [
        SECCOMP_RET_ERRNO | 11,
        SECCOMP_RET_ERRNO | 13,
        SECCOMP_RET_ERRNO | 12,
    ];
    assert_eq!(observe(&order), Seen::Errno(12));
}

#[test]
fn prctl_fallback_when_seccomp_is_missing() {
    // A first filter makes seccomp(2) fail with ENOSYS, as on kernels
    // before 3.17; prctl must then be used, and flags are refused.
    let no_seccomp = on_syscall(libc::SYS_seccomp, SECCOMP_RET_ERRNO | libc::ENOSYS as u32);
    let mark = on_syscall(libc::SYS_getppid, SECCOMP_RET_ERRNO | 77);
    let outcome = in_fork(|| {
        if set_no_new_privs().is_err() || install(&no_seccomp, Flags::NONE).is_err() {
            return 2;
        }
        if seccomp_syscall_available() {
            return 3;
        }
        if install(&mark, Flags::TSYNC).map(|_| ()) != Err(Error::Unsupported) {
            return 4;
        }
        if raw0(libc::SYS_getppid) == Err(77) {
            return 5;
        }
        if install(&mark, Flags::NONE).is_err() {
            return 6;
        }
        if raw0(libc::SYS_getppid) != Err(77) {
            return 7;
        }
        0
    });
    assert_eq!(outcome, Outcome::Exited(0));
}

#[test]
fn flags_combine_and_print() {
    let f = Flags::TSYNC | Flags::LOG;
    assert_eq!(f.bits(), 3);
    assert!(f.contains(Flags::TSYNC) && !f.contains(Flags::NEW_LISTENER));
    let mut g = Flags::NONE;
    g |= Flags::WAIT_KILLABLE_RECV;
    assert_eq!(g.bits(), 1 << 5);
    assert_eq!(
        [
            Flags::TSYNC,
            Flags::LOG,
            Flags::SPEC_ALLOW,
            Flags::NEW_LISTENER,
            Flags::TSYNC_ESRCH,
            Flags::WAIT_KILLABLE_RECV
        ]
        .map(Flags::bits),
        [1, 2, 4, 8, 16, 32]
    );
    assert_eq!(f.to_string(), "TSYNC | LOG");
    assert_eq!(Flags::NONE.to_string(), "NONE");
    assert_eq!(Flags::from_bits_retain(0x101).to_string(), "TSYNC | 0x100");
}

#[test]
fn ret_k_filter_helper_is_sane() {
    // Guards the helpers used above: the marker filter only touches getppid.
    let f = on_syscall(libc::SYS_getppid, SECCOMP_RET_ERRNO | 1);
    assert_eq!(f[3], SockFilter::stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
    assert_eq!(
        expected(&[SECCOMP_RET_KILL_THREAD, SECCOMP_RET_KILL_PROCESS]),
        SECCOMP_RET_KILL_PROCESS
    );
}

#[cfg(feature = "verify")]
#[test]
fn the_verifier_refuses_before_the_kernel() {
    // Refused by the verifier, so nothing reaches the kernel here.
    let bad = [SockFilter::stmt(0xffff, 0)];
    match install(&bad, Flags::NONE) {
        Err(Error::Rejected(e)) => {
            assert_eq!(e.index, Some(0));
            let msg = Error::Rejected(e).to_string();
            assert!(msg.contains("insn 0"), "{msg}");
        }
        other => panic!("expected a verifier rejection, got {other:?}"),
    }
    // A jump past the end (seccomp's own rules apply too).
    let past_end = [SockFilter::jump(0x15, 0, 5, 0), ALLOW_ALL[0]];
    assert!(matches!(
        install(&past_end, Flags::NONE),
        Err(Error::Rejected(_))
    ));
}
