//! The probes against what the kernel publishes in /proc. Probes install
//! nothing, so they run in the test runner itself.

use bpf_asm::seccomp::*;
use seccomp_install::{
    action_available, flag_supported, notif_sizes, seccomp_syscall_available, Flags, NotifSizes,
};

const ACTION_NAMES: [(&str, u32); 8] = [
    ("kill_process", SECCOMP_RET_KILL_PROCESS),
    ("kill_thread", SECCOMP_RET_KILL_THREAD),
    ("trap", SECCOMP_RET_TRAP),
    ("errno", SECCOMP_RET_ERRNO),
    ("user_notif", SECCOMP_RET_USER_NOTIF),
    ("trace", SECCOMP_RET_TRACE),
    ("log", SECCOMP_RET_LOG),
    ("allow", SECCOMP_RET_ALLOW),
];

#[test]
fn action_probes_agree_with_proc_actions_avail() {
    let text = match std::fs::read_to_string("/proc/sys/kernel/seccomp/actions_avail") {
        Ok(t) => t,
        Err(e) => {
            println!("skipped: actions_avail not readable: {e}");
            return;
        }
    };
    let listed: Vec<&str> = text.split_whitespace().collect();
    for (name, value) in ACTION_NAMES {
        assert_eq!(
            action_available(value),
            Ok(listed.contains(&name)),
            "{name} ({value:#x}); actions_avail = {text:?}"
        );
    }
    // Data bits make a value unknown, as do unused action codes.
    for v in [
        SECCOMP_RET_ERRNO | 1,
        SECCOMP_RET_ALLOW | 1,
        0x0001_0000,
        0x7ffe_0000,
    ] {
        assert_eq!(action_available(v), Ok(false), "{v:#x}");
    }
}

fn filters_of_this_process() -> String {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .filter(|l| l.starts_with("Seccomp"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn flag_probes_know_every_flag_of_this_kernel() {
    let before = filters_of_this_process();
    assert!(seccomp_syscall_available());
    // The test machine runs 6.18: every flag exists (WAIT_KILLABLE_RECV
    // since 5.19).
    for (name, f) in Flags::ALL {
        assert_eq!(flag_supported(f), Ok(true), "{name}");
    }
    assert_eq!(flag_supported(Flags::NONE), Ok(true));
    assert_eq!(flag_supported(Flags::TSYNC | Flags::NEW_LISTENER), Ok(true));
    for bit in 6..32 {
        assert_eq!(
            flag_supported(Flags::from_bits_retain(1 << bit)),
            Ok(false),
            "bit {bit}"
        );
    }
    assert_eq!(
        flag_supported(Flags::TSYNC | Flags::from_bits_retain(1 << 31)),
        Ok(false)
    );
    // Probing installed nothing.
    assert_eq!(filters_of_this_process(), before);
}

#[test]
fn notif_sizes_cover_our_structures() {
    let sizes = notif_sizes().unwrap();
    assert_eq!(
        sizes,
        NotifSizes {
            seccomp_notif: 80,
            seccomp_notif_resp: 24,
            seccomp_data: 64
        }
    );
    assert!(sizes.seccomp_notif as usize >= size_of::<seccomp_install::notif::SeccompNotif>());
}
