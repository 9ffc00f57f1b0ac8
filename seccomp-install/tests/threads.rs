//! Multi-threaded behaviour: TSYNC, kill actions, user notifications.
//!
//! Each test re-executes this binary so the scenario runs in a fresh
//! process (never in the test runner); the scenario may spawn threads.

mod common;

use std::os::unix::thread::JoinHandleExt;
use std::sync::mpsc;

use bpf_asm::seccomp::{
    SECCOMP_RET_ERRNO, SECCOMP_RET_KILL_PROCESS, SECCOMP_RET_KILL_THREAD, SECCOMP_RET_USER_NOTIF,
};
use common::*;
use seccomp_install::{install, set_no_new_privs, Errno, Error, Flags};

const MARK_ERRNO: i32 = 1234;

fn getppid() -> Result<i64, i32> {
    raw0(libc::SYS_getppid)
}

fn mark_filter() -> [bpf_asm::SockFilter; 4] {
    on_syscall(libc::SYS_getppid, SECCOMP_RET_ERRNO | MARK_ERRNO as u32)
}

#[test]
fn tsync_covers_threads_started_before_and_after_the_install() {
    const NAME: &str = "tsync_covers_threads_started_before_and_after_the_install";
    let out = run_in_child(NAME, || {
        let (go_tx, go_rx) = mpsc::channel::<()>();
        let (res_tx, res_rx) = mpsc::channel();
        let before = std::thread::spawn(move || {
            res_tx.send(gettid()).unwrap();
            go_rx.recv().unwrap();
            res_tx
                .send(getppid().map(|_| 0).unwrap_or_else(|e| e))
                .unwrap();
        });
        let before_tid = res_rx.recv().unwrap();
        assert_eq!(status_field(Some(before_tid), "Seccomp"), "0");
        set_no_new_privs().unwrap();
        let _no_listener = install(&mark_filter(), Flags::TSYNC).unwrap();
        assert_eq!(status_field(Some(before_tid), "Seccomp"), "2");
        assert_eq!(status_field(Some(before_tid), "Seccomp_filters"), "1");
        assert_eq!(status_field(Some(before_tid), "NoNewPrivs"), "1");
        go_tx.send(()).unwrap();
        assert_eq!(res_rx.recv().unwrap(), MARK_ERRNO, "thread started before");
        before.join().unwrap();
        let after = std::thread::spawn(getppid).join().unwrap();
        assert_eq!(after, Err(MARK_ERRNO), "thread started after");
        assert_eq!(getppid(), Err(MARK_ERRNO), "installing thread");
        println!("child-ok");
    });
    assert_ended(&out, Outcome::Exited(0), "child-ok");
}

/// A sibling with a filter of its own blocks TSYNC; returns the sibling's
/// tid and the result of the TSYNC install.
fn tsync_against_sibling_filter(flags: Flags) -> (i32, Result<(), Error>) {
    set_no_new_privs().unwrap();
    let (tid_tx, tid_rx) = mpsc::channel();
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let sibling = std::thread::spawn(move || {
        let _no_listener = install(&ALLOW_ALL, Flags::NONE).unwrap();
        tid_tx.send(gettid()).unwrap();
        done_rx.recv().unwrap();
    });
    let sibling_tid = tid_rx.recv().unwrap();
    let result = install(&mark_filter(), flags).map(|_| ());
    // Nothing was installed on this thread or on the sibling.
    assert_eq!(status_field(None, "Seccomp"), "0");
    assert_eq!(status_field(None, "Seccomp_filters"), "0");
    assert_eq!(status_field(Some(sibling_tid), "Seccomp_filters"), "1");
    assert_ne!(getppid(), Err(MARK_ERRNO));
    done_tx.send(()).unwrap();
    sibling.join().unwrap();
    (sibling_tid, result)
}

#[test]
fn tsync_fails_with_the_sibling_tid_and_installs_nothing() {
    const NAME: &str = "tsync_fails_with_the_sibling_tid_and_installs_nothing";
    let out = run_in_child(NAME, || {
        let (tid, result) = tsync_against_sibling_filter(Flags::TSYNC);
        assert_eq!(result, Err(Error::ThreadSync { tid: tid as u32 }));
        println!("child-ok tid={tid}");
    });
    assert_ended(&out, Outcome::Exited(0), "child-ok");
}

#[test]
fn tsync_esrch_reports_esrch_instead_of_a_tid() {
    const NAME: &str = "tsync_esrch_reports_esrch_instead_of_a_tid";
    let out = run_in_child(NAME, || {
        let (_, result) = tsync_against_sibling_filter(Flags::TSYNC | Flags::TSYNC_ESRCH);
        assert_eq!(result, Err(Error::Kernel(Errno::ESRCH)));
        println!("child-ok");
    });
    assert_ended(&out, Outcome::Exited(0), "child-ok");
}

#[test]
fn kill_process_ends_the_whole_multithreaded_process() {
    const NAME: &str = "kill_process_ends_the_whole_multithreaded_process";
    let out = run_in_child(NAME, || {
        no_core_dumps();
        set_no_new_privs().unwrap();
        let _no_listener = install(
            &on_syscall(libc::SYS_getppid, SECCOMP_RET_KILL_PROCESS),
            Flags::TSYNC,
        )
        .unwrap();
        let t = std::thread::spawn(getppid);
        let _ = t.join();
        println!("main thread survived");
    });
    assert_ended_without(&out, Outcome::Signaled(libc::SIGSYS), "survived");
}

#[test]
fn kill_thread_ends_only_the_calling_thread() {
    const NAME: &str = "kill_thread_ends_only_the_calling_thread";
    let out = run_in_child(NAME, || {
        no_core_dumps();
        set_no_new_privs().unwrap();
        let _no_listener = install(
            &on_syscall(libc::SYS_getppid, SECCOMP_RET_KILL_THREAD),
            Flags::TSYNC,
        )
        .unwrap();
        let (tx, rx) = mpsc::channel();
        let t = std::thread::spawn(move || {
            tx.send(format!("tid {}", gettid())).unwrap();
            let _ = getppid();
            tx.send("thread survived".to_string()).unwrap();
        });
        let first = rx.recv().unwrap();
        let tid: i32 = first.strip_prefix("tid ").unwrap().parse().unwrap();
        // std's join would wait for a result the killed thread never
        // writes; wait for the kernel to clear the tid instead.
        let pt = t.as_pthread_t();
        std::mem::forget(t);
        // SAFETY: `pt` is a joinable thread of this process, joined once.
        let r = unsafe { libc::pthread_join(pt, std::ptr::null_mut()) };
        assert_eq!(r, 0);
        assert!(
            rx.try_recv().is_err(),
            "the thread ran past the killing call"
        );
        assert!(!std::path::Path::new(&format!("/proc/self/task/{tid}")).exists());
        // The other threads keep running and making system calls.
        let other = std::thread::spawn(|| raw0(libc::SYS_getpid))
            .join()
            .unwrap();
        assert!(other.is_ok());
        println!("main thread still running");
    });
    assert_ended(&out, Outcome::Exited(0), "main thread still running");
}

#[test]
fn new_listener_returns_a_working_descriptor() {
    const NAME: &str = "new_listener_returns_a_working_descriptor";
    let out = run_in_child(NAME, || {
        set_no_new_privs().unwrap();
        let filter = on_syscall(libc::SYS_getppid, SECCOMP_RET_USER_NOTIF);
        // TSYNC and NEW_LISTENER need TSYNC_ESRCH; nothing is installed.
        assert_eq!(
            install(&filter, Flags::TSYNC | Flags::NEW_LISTENER).map(|_| ()),
            Err(Error::Kernel(Errno::EINVAL))
        );
        let listener = install(&filter, Flags::NEW_LISTENER)
            .unwrap()
            .listener()
            .expect("a listener");
        assert!(listener.as_raw() >= 0);
        // One listener per filter chain.
        assert_eq!(
            install(&ALLOW_ALL, Flags::NEW_LISTENER).map(|_| ()),
            Err(Error::Kernel(Errno::EBUSY))
        );
        let (tx, rx) = mpsc::channel();
        let t = std::thread::spawn(move || {
            tx.send(gettid()).unwrap();
            let first = getppid();
            let second = getppid();
            (first, second)
        });
        let tid = rx.recv().unwrap();
        let n = listener.recv_notif().unwrap();
        assert_eq!(n.pid as i32, tid);
        assert_eq!(n.data.nr as libc::c_long, libc::SYS_getppid);
        assert_eq!(
            Some(n.data.arch),
            bpf_asm::Arch::host().map(|a| a.audit_arch())
        );
        assert!(listener.notif_id_valid(n.id).unwrap());
        let resp = seccomp_install::notif::SeccompNotifResp {
            id: n.id,
            val: 4242,
            error: 0,
            flags: 0,
        };
        listener.send_resp(&resp).unwrap();
        assert!(!listener.notif_id_valid(n.id).unwrap());
        let n2 = listener.recv_notif().unwrap();
        assert_ne!(n2.id, n.id);
        listener
            .send_resp(&seccomp_install::notif::SeccompNotifResp {
                id: n2.id,
                val: 0,
                error: -libc::EPERM,
                flags: 0,
            })
            .unwrap();
        let (first, second) = t.join().unwrap();
        assert_eq!(first, Ok(4242));
        assert_eq!(second, Err(libc::EPERM));
        println!("child-ok");
    });
    assert_ended(&out, Outcome::Exited(0), "child-ok");
}
