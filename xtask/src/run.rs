//! `cargo xtask run POLICY -- CMD [ARGS...]`: runs a command under a policy.
//!
//! The policy (TOML, OCI/Docker or Firecracker JSON) is compiled for the
//! host architecture. The command is found through `PATH`, then started in
//! a child process that sets no_new_privs, installs the filter with TSYNC
//! (through `seccomp-install`, raw system calls only, between `fork` and
//! `exec`) and execs it. Before anything starts, the policy's reference
//! semantics (`policy::eval`) must let `execve` through, or the command
//! could never start.
//!
//! The exit status of the command is passed on; a death by signal becomes
//! 128 + the signal number, as in a shell.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use bpf_asm::policy::compile::{compile, CompileOptions};
use bpf_asm::policy::load::{load_file, LoadOptions};
use bpf_asm::policy::{eval, resolve, Action};
use bpf_asm::{Arch, SockFilter};
use seccomp_install::{install, set_no_new_privs, Flags};

use crate::DynError;

/// Flags of the command.
#[derive(clap::Args)]
pub struct Args {
    /// The policy file (TOML, OCI/Docker JSON or Firecracker JSON).
    #[arg(value_name = "POLICY")]
    policy: PathBuf,
    /// The command to run and its arguments, after `--`.
    #[arg(last = true, required = true, value_name = "CMD")]
    command: Vec<OsString>,
}

/// Runs the command.
pub fn run(args: Args) -> Result<ExitCode, DynError> {
    let (cmd, cmd_args) = args
        .command
        .split_first()
        .ok_or("no command given after `--`")?;
    let arch = Arch::host().ok_or("the host architecture has no syscall table here")?;
    let program = compile_for_host(&args.policy, arch)?;
    let path = find_command(cmd)?;
    let status = spawn_under_filter(&path, cmd_args, program)?;
    Ok(ExitCode::from(exit_code(status)))
}

/// Loads and compiles the policy, and checks that it lets `execve` through.
fn compile_for_host(policy_path: &Path, arch: Arch) -> Result<Vec<SockFilter>, DynError> {
    let policy = load_file(policy_path, &LoadOptions::default())?;
    let resolved =
        resolve::resolve(&policy).map_err(|e| format!("{}: {e}", policy_path.display()))?;
    let execve = arch
        .syscall_nr("execve")
        .ok_or("the host has no execve system call")?;
    match eval::evaluate(&resolved, arch.audit_arch(), execve, &[0; 6]) {
        Action::Allow | Action::Log => {}
        other => {
            return Err(format!(
                "{}: the policy gives `execve` on {} the action `{other}`, so the command could not start under it; allow execve",
                policy_path.display(),
                arch.name()
            )
            .into())
        }
    }
    let program = compile(&policy, &CompileOptions::default())
        .map_err(|e| format!("{}: {e}", policy_path.display()))?;
    if program.is_empty() || program.len() > bpf_asm::BPF_MAXINSNS {
        return Err(format!("the compiled program has {} instructions", program.len()).into());
    }
    Ok(program)
}

/// Finds `cmd` like a shell does: a name with a `/` is a path, any other
/// name is searched in `PATH`. The result is an executable regular file.
fn find_command(cmd: &OsStr) -> Result<PathBuf, DynError> {
    let shown = cmd.to_string_lossy();
    if cmd.is_empty() {
        return Err("the command name is empty".into());
    }
    if cmd.as_bytes().contains(&b'/') {
        let p = PathBuf::from(cmd);
        return if is_executable(&p) {
            Ok(p)
        } else if p.exists() {
            Err(format!("{shown}: not an executable file").into())
        } else {
            Err(format!("{shown}: no such file").into())
        };
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(cmd))
        .find(|p| is_executable(p))
        .ok_or_else(|| format!("{shown}: command not found in PATH").into())
}

fn is_executable(p: &Path) -> bool {
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Starts `path` with `args` in a child that installs `program` just before
/// `exec`, and waits for it.
fn spawn_under_filter(
    path: &Path,
    args: &[OsString],
    program: Vec<SockFilter>,
) -> Result<std::process::ExitStatus, DynError> {
    let mut command = Command::new(path);
    command.args(args);
    let install_filter = move || -> std::io::Result<()> {
        // Only raw system calls from here to exec: no allocation, no locks.
        set_no_new_privs().map_err(to_io)?;
        let _no_listener = install(&program, Flags::TSYNC).map_err(to_io)?;
        Ok(())
    };
    // SAFETY: the closure runs in the forked child before exec and only makes
    // raw system calls (prctl, seccomp); it neither allocates nor takes locks.
    unsafe { command.pre_exec(install_filter) };
    let mut child = command
        .spawn()
        .map_err(|e| format!("cannot start {} under the policy: {e}", path.display()))?;
    let status = child
        .wait()
        .map_err(|e| format!("waiting for {}: {e}", path.display()))?;
    if status.signal() == Some(31) {
        eprintln!(
            "note: {} was killed by SIGSYS, most likely by the policy",
            path.display()
        );
    }
    Ok(status)
}

/// An installer error as an `io::Error`, without allocating.
fn to_io(e: seccomp_install::Error) -> std::io::Error {
    let errno = match e {
        seccomp_install::Error::Kernel(k) => k.into_raw(),
        seccomp_install::Error::Unsupported => 38, // ENOSYS
        seccomp_install::Error::ThreadSync { .. } => 11, // EAGAIN
        _ => 22,                                   // EINVAL
    };
    std::io::Error::from_raw_os_error(errno)
}

/// The shell's view of a status: the exit code, or 128 + the signal.
fn exit_code(status: std::process::ExitStatus) -> u8 {
    match (status.code(), status.signal()) {
        (Some(c), _) => c as u8,
        (None, Some(s)) => (128 + s).clamp(0, 255) as u8,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    //! Every filter is installed in a child process, never in the runner.

    use super::*;

    fn policy_file(name: &str, text: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("xtask-run-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    fn run_under(policy: &Path, cmd: &[&str]) -> Result<u8, DynError> {
        let arch = Arch::host().unwrap();
        let program = compile_for_host(policy, arch)?;
        let path = find_command(OsStr::new(cmd[0]))?;
        let args: Vec<OsString> = cmd[1..].iter().map(OsString::from).collect();
        spawn_under_filter(&path, &args, program).map(exit_code)
    }

    const ALLOW_ALL_BUT_UNAME: &str = r#"
default = "allow"
[[rule]]
syscalls = ["uname"]
action = "ACTION"
"#;

    fn uname_policy(action: &str) -> PathBuf {
        policy_file(
            &format!("uname-{}.toml", action.replace(['(', ')'], "_")),
            &ALLOW_ALL_BUT_UNAME.replace("ACTION", action),
        )
    }

    #[test]
    fn exit_status_is_passed_on() {
        let p = uname_policy("errno(EPERM)");
        assert_eq!(run_under(&p, &["sh", "-c", "exit 3"]).unwrap(), 3);
        assert_eq!(run_under(&p, &["/bin/sh", "-c", "exit 0"]).unwrap(), 0);
    }

    #[test]
    fn the_filter_is_in_force_in_the_command() {
        // uname(1) fails when uname(2) fails with EPERM.
        let p = uname_policy("errno(EPERM)");
        assert_ne!(run_under(&p, &["uname"]).unwrap(), 0);
        let p = uname_policy("allow");
        assert_eq!(run_under(&p, &["uname"]).unwrap(), 0);
        let p = uname_policy("errno(EPERM)");
        assert_eq!(
            run_under(
                &p,
                &["sh", "-c", "grep -q '^Seccomp:.2' /proc/self/status && grep -q '^NoNewPrivs:.1' /proc/self/status"]
            )
            .unwrap(),
            0
        );
    }

    #[test]
    fn death_by_signal_is_128_plus_the_signal() {
        let p = uname_policy("kill_process");
        assert_eq!(run_under(&p, &["uname"]).unwrap(), 128 + 31);
        let p = uname_policy("errno(EPERM)");
        assert_eq!(
            run_under(&p, &["sh", "-c", "kill -TERM $$"]).unwrap(),
            128 + 15
        );
    }

    #[test]
    fn a_policy_that_blocks_execve_is_refused_before_exec() {
        let p = policy_file(
            "no-exec.toml",
            "default = \"allow\"\n[[rule]]\nsyscalls = [\"execve\"]\naction = \"errno(EPERM)\"\n",
        );
        let e = run_under(&p, &["true"]).unwrap_err().to_string();
        assert!(e.contains("execve"), "{e}");
        let p = policy_file("deny-all.toml", "default = \"kill_process\"\n");
        let e = run_under(&p, &["true"]).unwrap_err().to_string();
        assert!(e.contains("execve"), "{e}");
    }

    #[test]
    fn missing_commands_are_reported() {
        let p = uname_policy("allow");
        let e = run_under(&p, &["no-such-command-xyz"])
            .unwrap_err()
            .to_string();
        assert!(e.contains("not found in PATH"), "{e}");
        let e = run_under(&p, &["/no/such/file"]).unwrap_err().to_string();
        assert!(e.contains("no such file"), "{e}");
        let e = run_under(&p, &["/etc/passwd"]).unwrap_err().to_string();
        assert!(e.contains("not an executable"), "{e}");
    }

    #[test]
    fn exit_codes_map_like_a_shell() {
        use std::process::ExitStatus;
        assert_eq!(exit_code(ExitStatus::from_raw(3 << 8)), 3);
        assert_eq!(exit_code(ExitStatus::from_raw(9)), 137);
        assert_eq!(exit_code(ExitStatus::from_raw(31 | 0x80)), 159);
    }
}
