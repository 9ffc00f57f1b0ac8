//! The README's build-time recipe, for real: `embedded/filter.rs` is what
//! `cargo xtask compile embedded/policy.toml --format rust` wrote (the
//! `xtask` test `embedded_filter_is_fresh` fails when it is stale); it is
//! included here as a `static` and installed in a re-executed child.

mod common;

use common::{assert_ended, run_in_child, Outcome};
use seccomp_install::{install, set_no_new_privs, Flags};

include!("embedded/filter.rs");

/// A syscall's result: the value, or the errno.
fn raw(nr: libc::c_long, a0: libc::c_long, a1: libc::c_long) -> Result<libc::c_long, i32> {
    // SAFETY: getpid, getppid and kill take no pointers.
    let r = unsafe { libc::syscall(nr, a0, a1) };
    if r < 0 {
        Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
    } else {
        Ok(r)
    }
}

#[test]
fn the_embedded_static_installs_and_decides_as_its_policy_says() {
    let out = run_in_child(
        "the_embedded_static_installs_and_decides_as_its_policy_says",
        || {
            set_no_new_privs().expect("no_new_privs");
            let _no_listener = install(&FILTER, Flags::TSYNC).expect("install the embedded filter");
            let (getpid, getppid, kill) = (libc::SYS_getpid, libc::SYS_getppid, libc::SYS_kill);
            assert_eq!(raw(getpid, 0, 0), Err(1), "getpid: errno(EPERM)");
            assert!(raw(getppid, 0, 0).is_ok(), "getppid is allowed");
            assert_eq!(raw(kill, 0, 0), Ok(0), "kill(0, 0) is allowed");
            assert_eq!(raw(kill, 1, 0), Err(1), "kill(1, 0): errno(EPERM)");
            println!("embedded filter: as the policy says");
        },
    );
    assert_ended(
        &out,
        Outcome::Exited(0),
        "embedded filter: as the policy says",
    );
}
