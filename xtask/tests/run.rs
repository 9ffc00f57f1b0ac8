//! `cargo xtask run` driven as a supervisor drives it: exit statuses, the
//! filter in force, `PATH` lookup, the exec pre-check against the kernel,
//! signals, the death signal, processes left behind, the seccomp agent
//! protocol, and bad input. Every filter is installed in a child of the
//! xtask binary, never in this test process.

mod common;

/// The launcher's own descriptor passing, for the test agent's side.
#[allow(dead_code)]
#[path = "../src/launch/sys.rs"]
mod sys;

use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixListener;
use std::process::Stdio;

use common::*;

/// `run POLICY -- CMD...` to the end.
fn run(policy: &str, cmd: &[&str]) -> Out {
    output(xtask().arg("run").arg(policy).arg("--").args(cmd))
}

fn uname_policy(t: &Tmp, action: &str) -> String {
    t.file(
        &format!("uname-{}.toml", action.replace(['(', ')'], "_")),
        &allow_but(&[("\"uname\"", action)]),
    )
}

#[test]
fn exit_status_and_the_filter_pass_through() {
    let t = Tmp::new("status");
    let p = uname_policy(&t, "errno(EPERM)");
    assert_eq!(run(&p, &["sh", "-c", "exit 3"]).code, Some(3));
    assert_eq!(run(&p, &["/bin/sh", "-c", "exit 0"]).code, Some(0));
    // uname(1) fails when uname(2) fails with EPERM, and works when allowed.
    let o = run(&p, &["uname"]);
    assert_eq!(o.code, Some(1), "{o:?}");
    assert!(o.stderr.contains("Operation not permitted"), "{o:?}");
    assert_eq!(run(&uname_policy(&t, "allow"), &["uname"]).code, Some(0));
    // One filter, no_new_privs, in the command itself.
    let o = run(
        &p,
        &[
            "sh",
            "-c",
            "grep -E '^(Seccomp|Seccomp_filters|NoNewPrivs):' /proc/self/status",
        ],
    );
    assert_eq!(o.code, Some(0), "{o:?}");
    for want in ["Seccomp:\t2", "Seccomp_filters:\t1", "NoNewPrivs:\t1"] {
        assert!(o.stdout.contains(want), "{want}: {o:?}");
    }
}

#[test]
fn death_by_signal_is_128_plus_n_with_a_note_for_sigsys() {
    let t = Tmp::new("signal");
    let o = run(&uname_policy(&t, "kill_process"), &["uname"]);
    assert_eq!(o.code, Some(128 + 31), "{o:?}");
    assert!(o.stderr.contains("SIGSYS"), "{o:?}");
    let p = uname_policy(&t, "errno(EPERM)");
    let o = run(&p, &["sh", "-c", "kill -TERM $$"]);
    assert_eq!(o.code, Some(128 + 15), "{o:?}");
    assert!(!o.stderr.contains("SIGSYS"), "{o:?}");
}

#[test]
fn argv0_is_passed_as_given_and_path_is_searched_like_execvp() {
    let t = Tmp::new("argv0");
    let p = uname_policy(&t, "allow");
    let o = run(
        &p,
        &["sh", "-c", "tr '\\0' '\\n' < /proc/$$/cmdline | head -n 1"],
    );
    assert_eq!(o.stdout.trim(), "sh", "{o:?}");
    // PATH order, a non-executable file and a directory are skipped.
    let a = t.path("a");
    let b = t.path("b");
    std::fs::create_dir_all(a.join("tool-dir")).unwrap();
    std::fs::create_dir_all(&b).unwrap();
    std::fs::write(a.join("tool"), "#!/bin/sh\nexit 9\n").unwrap();
    std::fs::write(b.join("tool"), "#!/bin/sh\necho \"$0\"\nexit 4\n").unwrap();
    std::fs::set_permissions(b.join("tool"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!("{}:{}:/usr/bin:/bin", a.display(), b.display());
    let o = output(xtask().env("PATH", &path).args(["run", &p, "--", "tool"]));
    assert_eq!(o.code, Some(4), "{o:?}");
    assert_eq!(o.stdout.trim(), b.join("tool").to_string_lossy(), "{o:?}");
    // Found only as a non-executable file, or as a directory: 126.
    let only_a = format!("{}", a.display());
    let o = output(xtask().env("PATH", &only_a).args(["run", &p, "--", "tool"]));
    assert_eq!(o.code, Some(126), "{o:?}");
    assert!(o.stderr.contains("Permission denied"), "{o:?}");
    let o = output(
        xtask()
            .env("PATH", &only_a)
            .args(["run", &p, "--", "tool-dir"]),
    );
    assert_eq!(o.code, Some(126), "{o:?}");
    // Not found: 127.
    let o = run(&p, &["no-such-command-xyz"]);
    assert_eq!(o.code, Some(127), "{o:?}");
    assert!(o.stderr.contains("not found"), "{o:?}");
    let o = run(&p, &["/no/such/file"]);
    assert_eq!(o.code, Some(127), "{o:?}");
    assert!(o.stderr.contains("No such file"), "{o:?}");
    let o = run(&p, &["/etc/passwd"]);
    assert_eq!(o.code, Some(126), "{o:?}");
    // Executable without a #! line: the kernel says ENOEXEC, execvp runs it
    // with /bin/sh.
    let script = t.path("plain-script");
    std::fs::write(&script, "exit 5\n").unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    assert_eq!(run(&p, &[&script.to_string_lossy()]).code, Some(5));
}

#[test]
fn the_exec_precheck_uses_the_real_argument_registers() {
    let t = Tmp::new("precheck");
    // Killing execve with a NULL path: the real path pointer is never 0, so
    // this policy works (the all-zero check refused it).
    let p = t.file(
        "null-path.toml",
        "default = \"allow\"\n[[rule]]\nsyscalls = [\"execve\"]\nwhen = [\"arg0 == 0\"]\naction = \"kill_process\"\n",
    );
    assert_eq!(run(&p, &["true"]).code, Some(0));
    // Killing every execve with a real path: refused before anything
    // starts (the all-zero check let it through, and the exec was killed).
    let p = t.file(
        "real-path.toml",
        "default = \"allow\"\n[[rule]]\nsyscalls = [\"execve\", \"execveat\"]\nwhen = [\"arg0 != 0\"]\naction = \"kill_process\"\n",
    );
    let o = run(&p, &["true"]);
    assert_eq!(o.code, Some(126), "{o:?}");
    assert!(o.stderr.contains("cannot start"), "{o:?}");
    // execve refused, execveat allowed: the command starts with execveat,
    // and the kernel agrees (a wrong pick would fail with EPERM).
    let p = t.file(
        "execveat.toml",
        &allow_but(&[("\"execve\"", "errno(EPERM)")]),
    );
    let o = run(&p, &["sh", "-c", "exit 6"]);
    assert_eq!(o.code, Some(6), "{o:?}");
    assert!(o.stderr.contains("execveat"), "{o:?}");
    // execveat's flags register is 0 and its directory AT_FDCWD: a policy
    // that allows exactly that call starts the command.
    let p = t.file(
        "execveat-exact.toml",
        "default = \"allow\"\n\
         [[rule]]\nsyscalls = [\"execve\"]\naction = \"errno(EPERM)\"\n\
         [[rule]]\nsyscalls = [\"execveat\"]\nwhen = [\"arg0:i32 == -100\", \"arg4 == 0\"]\naction = \"allow\"\n\
         [[rule]]\nsyscalls = [\"execveat\"]\naction = \"kill_process\"\n",
    );
    assert_eq!(run(&p, &["sh", "-c", "exit 8"]).code, Some(8));
    // Both refused: 126 with both answers named.
    let p = t.file(
        "no-exec.toml",
        &allow_but(&[("\"execve\", \"execveat\"", "errno(EACCES)")]),
    );
    let o = run(&p, &["true"]);
    assert_eq!(o.code, Some(126), "{o:?}");
    assert!(o.stderr.contains("errno(EACCES)"), "{o:?}");
}

#[test]
fn a_failing_exec_reports_the_exec_error() {
    let t = Tmp::new("execerr");
    // The policy lets the exec through and the lookup finds an executable
    // file, but the kernel refuses to execute it after the filter is
    // installed (it is open for writing: ETXTBSY): the exec error is
    // reported with 126, and no SIGSYS is blamed.
    let p = uname_policy(&t, "allow");
    let bin = t.path("busy");
    std::fs::write(&bin, "#!/bin/sh\nexit 0\n").unwrap();
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    let writer = std::fs::OpenOptions::new().write(true).open(&bin).unwrap();
    let o = run(&p, &[&bin.to_string_lossy()]);
    drop(writer);
    assert_eq!(o.code, Some(126), "{o:?}");
    assert!(o.stderr.contains("Text file busy"), "{o:?}");
    assert!(o.stderr.contains("execve"), "{o:?}");
    assert!(!o.stderr.contains("SIGSYS"), "{o:?}");
    // Once nothing writes to it, the same file runs.
    assert_eq!(run(&p, &[&bin.to_string_lossy()]).code, Some(0));
}

#[test]
fn sigterm_and_friends_are_forwarded_and_nothing_survives() {
    let t = Tmp::new("forward");
    let p = uname_policy(&t, "errno(EPERM)");
    for (sig, marker) in [
        (libc::SIGTERM, "31401"),
        (libc::SIGINT, "31402"),
        (libc::SIGHUP, "31403"),
        (libc::SIGQUIT, "31404"),
    ] {
        let pidfile = t.path(&format!("pid-{sig}"));
        let child = spawn(
            xtask()
                .args(["run", &p, "--", "sh", "-c"])
                .arg(format!(
                    "sleep {marker} & echo $! > {}; wait",
                    pidfile.display()
                ))
                .stdin(Stdio::null()),
        );
        let sleeper: u32 = wait_for_line(&pidfile).parse().unwrap();
        assert!(alive(sleeper, marker));
        kill(child.id(), sig);
        let o = finish(child);
        // sh dies of the signal (it has no handler), and the sleep it left
        // is killed by run before run exits.
        assert_eq!(o.code, Some(128 + sig), "signal {sig}: {o:?}");
        assert!(!alive(sleeper, marker), "signal {sig}: sleep survived");
        assert!(o.stderr.contains("still running"), "{o:?}");
    }
}

#[test]
fn a_command_that_handles_sigterm_decides_the_status() {
    let t = Tmp::new("trap");
    let p = uname_policy(&t, "allow");
    let ready = t.path("ready");
    let child = spawn(
        xtask()
            .args(["run", &p, "--", "sh", "-c"])
            .arg(format!(
                "trap 'exit 42' TERM; echo up > {}; while :; do sleep 0.05; done",
                ready.display()
            ))
            .stdin(Stdio::null()),
    );
    wait_for_line(&ready);
    kill(child.id(), libc::SIGTERM);
    assert_eq!(finish(child).code, Some(42));
}

#[test]
fn if_run_is_killed_the_command_dies_too() {
    let t = Tmp::new("pdeath");
    let p = uname_policy(&t, "allow");
    let pidfile = t.path("pid");
    let child = spawn(
        xtask()
            .args(["run", &p, "--", "sh", "-c"])
            .arg(format!("echo $$ > {}; exec sleep 31405", pidfile.display()))
            .stdin(Stdio::null()),
    );
    let cmd: u32 = wait_for_line(&pidfile).parse().unwrap();
    let start = std::time::Instant::now();
    while !alive(cmd, "31405") {
        assert!(start.elapsed() < DEADLINE);
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    kill(child.id(), libc::SIGKILL);
    let o = finish(child);
    assert_eq!(o.signal, Some(libc::SIGKILL));
    assert!(gone_soon(cmd, "31405"), "the command outlived run");
}

#[test]
fn processes_left_behind_are_killed_when_the_command_ends() {
    let t = Tmp::new("orphans");
    let p = uname_policy(&t, "allow");
    let pids = t.path("pids");
    let o = run(
        &p,
        &[
            "sh",
            "-c",
            &format!(
                "sleep 31406 & echo $! > {0}; (sleep 31407 & echo $! >> {0}) ; exit 4",
                pids.display()
            ),
        ],
    );
    assert_eq!(o.code, Some(4), "{o:?}");
    assert!(o.stderr.contains("2 process(es)"), "{o:?}");
    for line in std::fs::read_to_string(&pids).unwrap().lines() {
        let pid: u32 = line.parse().unwrap();
        assert!(!alive(pid, "3140"), "{pid} survived");
    }
}

#[test]
fn the_command_may_close_its_standard_descriptors() {
    let t = Tmp::new("closefd");
    let p = uname_policy(&t, "allow");
    let o = run(&p, &["sh", "-c", "exec 0<&- 1>&- 2>&-; exit 3"]);
    assert_eq!(o.code, Some(3), "{o:?}");
    // run started with its own standard descriptors closed.
    let o = output(
        std::process::Command::new("sh")
            .arg("-c")
            .arg(format!(
                "exec \"$0\" run {p} -- sh -c 'exit 5' 0<&- 1>&- 2>&-"
            ))
            .arg(env!("CARGO_BIN_EXE_xtask")),
    );
    assert_eq!(o.code, Some(5), "{o:?}");
}

#[test]
fn policy_from_stdin_and_policy_options() {
    let t = Tmp::new("stdin");
    let mut c = xtask();
    c.args(["run", "-", "--", "uname"]).stdin(Stdio::piped());
    let mut child = spawn(&mut c);
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(allow_but(&[("\"uname\"", "errno(EPERM)")]).as_bytes())
        .unwrap();
    assert_eq!(finish(child).code, Some(1));
    let p = uname_policy(&t, "errno(EPERM)");
    for layout in ["linear", "bintree", "ranges", "auto"] {
        let o = output(xtask().args(["run", &p, "--layout", layout, "--", "uname"]));
        assert_eq!(o.code, Some(1), "{layout}: {o:?}");
    }
    // A flag the kernel knows is accepted; one run manages is a usage error.
    let o = output(xtask().args(["run", &p, "--flag", "LOG", "--", "true"]));
    assert_eq!(o.code, Some(0), "{o:?}");
    let o = output(xtask().args(["run", &p, "--flag", "TSYNC", "--", "true"]));
    assert_eq!(o.code, Some(2), "{o:?}");
    let o = output(xtask().args(["run", &p, "--flag", "BOGUS", "--", "true"]));
    assert_eq!(o.code, Some(2), "{o:?}");
    let o = output(xtask().args(["run", &p, "--flag", "WAIT_KILLABLE_RECV", "--", "true"]));
    assert_eq!(o.code, Some(125), "{o:?}");
    assert!(o.stderr.contains("listener"), "{o:?}");
}

#[test]
fn bad_policies_are_errors_of_run_itself() {
    let t = Tmp::new("badpol");
    let o = run(
        &t.file(
            "bad.toml",
            "default = \"allow\"\n[[rule]]\nsyscalls = [\"nope\"]\naction = \"allow\"\n",
        ),
        &["true"],
    );
    assert_eq!(o.code, Some(125), "{o:?}");
    assert!(o.stderr.contains("bad.toml"), "{o:?}");
    let o = run(&t.path("missing.toml").to_string_lossy(), &["true"]);
    assert_eq!(o.code, Some(125), "{o:?}");
    // user_notif without an agent, trace without a tracer.
    let o = run(&uname_policy(&t, "user_notif"), &["true"]);
    assert_eq!(o.code, Some(125), "{o:?}");
    assert!(o.stderr.contains("--notify-socket"), "{o:?}");
    let o = run(&uname_policy(&t, "trace(1)"), &["true"]);
    assert_eq!(o.code, Some(125), "{o:?}");
    assert!(o.stderr.contains("tracer"), "{o:?}");
    // --notify-socket on a policy without user_notif.
    let o = output(xtask().args([
        "run",
        &uname_policy(&t, "allow"),
        "--notify-socket",
        "/tmp/x.sock",
        "--",
        "true",
    ]));
    assert_eq!(o.code, Some(125), "{o:?}");
    assert!(o.stderr.contains("does not apply"), "{o:?}");
}

#[test]
fn an_agent_that_is_not_there_is_a_supervisor_error_and_nothing_runs() {
    let t = Tmp::new("noagent");
    let p = t.file(
        "notify.toml",
        &allow_but(&[("\"mkdir\", \"mkdirat\"", "user_notif")]),
    );
    // A socket nobody listens on any more: connect fails after the install.
    let sock = t.path("dead.sock");
    drop(UnixListener::bind(&sock).unwrap());
    let marker = t.path("ran");
    let o = output(
        xtask()
            .args(["run", &p, "--notify-socket"])
            .arg(&sock)
            .args(["--", "sh", "-c"])
            .arg(format!("touch {}", marker.display())),
    );
    assert_eq!(o.code, Some(125), "{o:?}");
    assert!(o.stderr.contains("seccomp agent"), "{o:?}");
    assert!(!marker.exists(), "the command ran without its agent");
}

/// The test's seccomp agent: accepts one connection, checks the container
/// process state, answers the first notification with `EROFS`.
#[test]
fn the_agent_gets_the_state_and_the_listener_and_answers() {
    use seccomp_install::notif::SeccompNotifResp;
    use std::os::fd::{AsFd, IntoRawFd};

    let t = Tmp::new("agent");
    let p = t.file(
        "notify.toml",
        &allow_but(&[("\"mkdir\", \"mkdirat\"", "user_notif")]),
    );
    let sock = t.path("agent.sock");
    let listener = UnixListener::bind(&sock).unwrap();
    let agent = std::thread::spawn(move || {
        let (conn, _) = listener.accept().unwrap();
        let mut buf = vec![0u8; 64 * 1024];
        let (n, fd) = sys::recv_with_fd(conn.as_fd(), &mut buf).unwrap();
        // The whole state may come in more than one read.
        let mut text = buf[..n].to_vec();
        use std::io::Read;
        let mut rest = Vec::new();
        (&conn).read_to_end(&mut rest).unwrap();
        text.extend(rest);
        let state: serde_json::Value = serde_json::from_slice(&text).unwrap();
        let fd = fd.expect("no descriptor came with the state");
        // SAFETY: a fresh descriptor this thread owns.
        let l = unsafe { seccomp_install::Fd::from_raw(fd.into_raw_fd()) };
        let n = l.recv_notif().unwrap();
        l.send_resp(&SeccompNotifResp {
            id: n.id,
            val: 0,
            error: -libc::EROFS,
            flags: 0,
        })
        .unwrap();
        (state, n)
    });
    let dir = t.path("made-by-mkdir");
    let o = output(
        xtask()
            .args(["run", &p, "--notify-socket"])
            .arg(&sock)
            .args(["--", "mkdir"])
            .arg(&dir),
    );
    let (state, n) = agent.join().unwrap();
    assert_eq!(o.code, Some(1), "{o:?}");
    assert!(o.stderr.contains("Read-only file system"), "{o:?}");
    assert!(!dir.exists());
    assert_eq!(state["ociVersion"], "1.0.2");
    assert_eq!(state["fds"], serde_json::json!(["seccompFd"]));
    assert_eq!(state["state"]["status"], "creating");
    assert_eq!(state["pid"], state["state"]["pid"]);
    assert_eq!(state["pid"].as_u64(), Some(u64::from(n.pid)), "{state}");
    let mkdir = ["mkdir", "mkdirat"].map(|s| bpf_asm::Arch::host().unwrap().syscall_nr(s));
    assert!(mkdir.contains(&Some(n.data.nr as u32)), "{n:?}");
    assert_eq!(n.data.arch, bpf_asm::Arch::host().unwrap().audit_arch());
}
