//! `cargo xtask run POLICY [OPTIONS] -- CMD [ARGS...]`: runs a command under
//! a policy, as a launcher a supervisor can rely on.
//!
//! The policy is loaded with the same options as `compile` and compiled;
//! the command is found as `execvp` finds it; [`precheck`] asks what the
//! compiled filters answer to the exact exec call that will start it; then
//! [`crate::launch`] forks, installs every filter with `TSYNC` in the child
//! and execs, forwards signals, hands the notification listener to a
//! seccomp agent when the policy has `user_notif`, and kills whatever the
//! command leaves behind.
//!
//! Exit status, as `env` and `timeout`: the command's own status; 128 + N
//! when signal N ended it; 126 when it was found but cannot be executed
//! (permissions, a policy that refuses the exec); 127 when it was not
//! found; 125 when `run` itself failed (a bad policy or option, a
//! supervisor error); 2 for a usage error.

mod precheck;

use std::ffi::{CString, OsString};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileTypeExt;
use std::path::PathBuf;
use std::process::ExitCode;

use bpf_asm::policy::compile::Layout;
use bpf_asm::policy::{Action, Policy};
use bpf_asm::seccomp::Flags;
use bpf_asm::Arch;
use bpf_vm::KernelAction;
use seccomp_install::flag_supported;

use crate::compile::{compile_with, load_policy, parse_layout, PolicyArgs};
use crate::launch::agent::Agent;
use crate::launch::path::{self, NotFound};
use crate::launch::sys::{c_path, CStrArray};
use crate::launch::{self, Command, Ended, ExecCall, Filter, Listener, Spec};

/// Flags of the command.
#[derive(clap::Args)]
#[command(after_long_help = AFTER_HELP)]
pub struct Args {
    /// The policy file (TOML, OCI/Docker JSON or Firecracker JSON; `-` for
    /// standard input, which the command then finds at its end).
    #[arg(value_name = "POLICY")]
    pub policy: String,
    #[command(flatten)]
    pub policy_args: PolicyArgs,
    /// The syscall dispatch layout: auto, linear, bintree or ranges.
    #[arg(long, default_value = "auto", value_parser = parse_layout)]
    pub layout: Layout,
    /// A filter flag to install with, added to the policy's `flags`
    /// (repeatable): LOG, SPEC_ALLOW or WAIT_KILLABLE_RECV. runc and crun
    /// add SPEC_ALLOW when an OCI profile has no `flags` field; run adds
    /// nothing but TSYNC (and NEW_LISTENER for an agent).
    #[arg(long = "flag", value_name = "FLAG", value_parser = parse_flag)]
    pub flags: Vec<Flags>,
    /// The seccomp agent's AF_UNIX socket, for a policy with `user_notif`
    /// (overrides the policy's `listenerPath`).
    #[arg(long, value_name = "PATH")]
    pub notify_socket: Option<PathBuf>,
    /// The command to run and its arguments, after `--`.
    #[arg(last = true, required = true, value_name = "CMD")]
    pub command: Vec<OsString>,
}

const AFTER_HELP: &str = "\
Every filter of the policy is installed with TSYNC after no_new_privs, in the
child, just before the exec. Filter flags: the policy's (`flags` of an OCI
profile) plus --flag. runc and crun install an OCI profile that has no `flags`
field with SECCOMP_FILTER_FLAG_SPEC_ALLOW (and with none when it is `[]`),
which turns the kernel's speculative store bypass mitigation for seccomp tasks
off; run never adds SPEC_ALLOW on its own: pass --flag SPEC_ALLOW to run as
runc and crun do.

SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 sent to run are passed on
to the command (not the ones the terminal sends to the whole foreground
process group, which the command receives itself). If run dies anyway, the
command is killed (PR_SET_PDEATHSIG). When the command ends, processes it left
running are killed, and run exits with the command's status.

Exit status: the command's; 128+N if signal N ended it; 126 if it cannot be
executed (also when the policy refuses the exec); 127 if it was not found;
125 if run itself failed.";

/// Parses a `--flag` value.
fn parse_flag(s: &str) -> Result<Flags, String> {
    let f = Flags::from_name(s).ok_or_else(|| {
        format!("unknown filter flag `{s}` (expected LOG, SPEC_ALLOW or WAIT_KILLABLE_RECV)")
    })?;
    if f == Flags::LOG || f == Flags::SPEC_ALLOW || f == Flags::WAIT_KILLABLE_RECV {
        Ok(f)
    } else {
        Err(format!(
            "`{s}` is not a flag to choose: run installs every filter with TSYNC, and with NEW_LISTENER | TSYNC_ESRCH when the policy has user_notif"
        ))
    }
}

/// An exit status with the message that explains it.
pub struct Exit {
    /// The status.
    pub code: u8,
    /// What to print after `error: `.
    pub message: String,
}

impl Exit {
    /// `run` itself failed (status 125).
    pub fn own(message: impl std::fmt::Display) -> Exit {
        Exit {
            code: 125,
            message: message.to_string(),
        }
    }
}

/// Runs the command.
pub fn run(args: Args) -> Result<ExitCode, crate::DynError> {
    Ok(match run_inner(args) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {}", e.message);
            ExitCode::from(e.code)
        }
    })
}

fn run_inner(args: Args) -> Result<u8, Exit> {
    let Some((cmd, cmd_args)) = args.command.split_first() else {
        return Err(Exit::own("no command given after `--`"));
    };
    let arch =
        Arch::host().ok_or_else(|| Exit::own("the host architecture has no syscall table here"))?;
    let loaded = load_policy(&args.policy, &args.policy_args).map_err(Exit::own)?;
    let compiled = compile_with(&loaded, args.layout).map_err(Exit::own)?;
    let name = if args.policy == "-" {
        "<stdin>"
    } else {
        &args.policy
    };
    let flags = filter_flags(&loaded.policy, &args.flags)?;
    let agent = agent_for(name, &loaded.policy, args.notify_socket.as_ref())?;
    if flags.contains(Flags::WAIT_KILLABLE_RECV) && agent.is_none() {
        return Err(Exit::own(
            "WAIT_KILLABLE_RECV applies only to a filter with a listener, and this policy has no user_notif",
        ));
    }
    let filters = vec![Filter {
        program: compiled.program,
        flags,
    }];
    let mut command = prepare_command(cmd, cmd_args)?;
    let exec = choose_exec(&filters, arch, &mut command)?;
    let listener = agent.as_ref().map(|a| (0, Listener::Agent(a)));
    let outcome = launch::launch(Spec {
        command: &command,
        filters: &filters,
        listener,
        exec,
        reap_orphans: true,
    })
    .map_err(Exit::own)?;
    if outcome.orphans_killed > 0 {
        eprintln!(
            "note: {} process(es) started by {} were still running when it ended; killed them",
            outcome.orphans_killed, command.shown
        );
    }
    exit_status(&command, outcome.ended)
}

/// The flags every filter is installed with (besides TSYNC): the
/// policy's and `--flag`, each checked against the running kernel.
fn filter_flags(policy: &Policy, extra: &[Flags]) -> Result<Flags, Exit> {
    let mut flags = policy.flags;
    for &f in extra {
        flags |= f;
    }
    for managed in [Flags::NEW_LISTENER, Flags::TSYNC_ESRCH] {
        if flags.contains(managed) {
            return Err(Exit::own(format!(
                "the policy asks for {managed}, which run sets itself when the policy has user_notif"
            )));
        }
    }
    for (name, f) in Flags::ALL {
        if flags.contains(f) && f != Flags::TSYNC {
            match flag_supported(f) {
                Ok(true) => {}
                Ok(false) => {
                    return Err(Exit::own(format!(
                        "this kernel does not support SECCOMP_FILTER_FLAG_{name}"
                    )))
                }
                Err(e) => {
                    return Err(Exit::own(format!(
                        "probing SECCOMP_FILTER_FLAG_{name}: {e}"
                    )))
                }
            }
        }
    }
    Ok(flags)
}

/// The actions a policy can return.
fn actions(policy: &Policy) -> impl Iterator<Item = Action> + '_ {
    [policy.default, policy.bad_arch]
        .into_iter()
        .chain(policy.rules.iter().map(|r| r.action))
}

/// The agent the listener goes to, or an error when the policy needs one
/// and has none, or uses `trace`.
fn agent_for(
    name: &str,
    policy: &Policy,
    notify_socket: Option<&PathBuf>,
) -> Result<Option<Agent>, Exit> {
    if let Some(Action::Trace(n)) = actions(policy).find(|a| matches!(a, Action::Trace(_))) {
        return Err(Exit::own(format!(
            "{name}: the policy answers some calls with trace({n}), which fails with ENOSYS unless a ptrace tracer waits for it, and run starts the command without one; use errno(ENOSYS) if that is what you mean"
        )));
    }
    let notifies = actions(policy).any(|a| a == Action::UserNotif);
    let metadata = policy.listener.as_ref().and_then(|l| l.metadata.clone());
    let agent = match (notifies, notify_socket, &policy.listener) {
        (false, Some(_), _) => {
            return Err(Exit::own(format!(
                "--notify-socket does not apply: {name} has no user_notif action"
            )))
        }
        (false, None, Some(l)) => {
            eprintln!(
                "note: {name}: listenerPath {} is ignored: no rule uses user_notif (as the OCI runtime spec says)",
                l.path
            );
            return Ok(None);
        }
        (false, None, None) => return Ok(None),
        (true, None, None) => {
            return Err(Exit::own(format!(
                "{name}: the policy answers some calls with user_notif, which fails with ENOSYS without a listener; name a seccomp agent with --notify-socket PATH (or listenerPath in the profile)"
            )))
        }
        (true, Some(p), policy_listener) => {
            if let Some(l) = policy_listener {
                eprintln!(
                    "note: --notify-socket {} overrides the policy's listenerPath {}",
                    p.display(),
                    l.path
                );
            }
            Agent {
                path: p.clone(),
                metadata,
            }
        }
        (true, None, Some(l)) => Agent {
            path: PathBuf::from(&l.path),
            metadata,
        },
    };
    match std::fs::metadata(&agent.path) {
        Ok(m) if m.file_type().is_socket() => Ok(Some(agent)),
        Ok(_) => Err(Exit::own(format!(
            "seccomp agent {}: not a socket",
            agent.path.display()
        ))),
        Err(e) => Err(Exit::own(format!(
            "seccomp agent {}: {e}",
            agent.path.display()
        ))),
    }
}

/// Finds the command and builds its exec arguments (`argv[0]` as given,
/// the environment of this process).
pub fn prepare_command(cmd: &OsString, args: &[OsString]) -> Result<Command, Exit> {
    let shown = cmd.to_string_lossy().into_owned();
    let found = path::find(cmd, std::env::var_os("PATH").as_deref()).map_err(|e| match e {
        NotFound::Empty => Exit {
            code: 127,
            message: "the command name is empty".into(),
        },
        NotFound::Nul => Exit {
            code: 127,
            message: format!("{shown}: the command name contains a NUL byte"),
        },
        NotFound::Missing if cmd.as_bytes().contains(&b'/') => Exit {
            code: 127,
            message: format!("{shown}: No such file or directory"),
        },
        NotFound::Missing => Exit {
            code: 127,
            message: format!("{shown}: command not found in PATH"),
        },
        NotFound::NotExecutable(p) => Exit {
            code: 126,
            message: format!(
                "{}: Permission denied (not an executable file)",
                p.display()
            ),
        },
    })?;
    let nul = |what: &str| Exit {
        code: 126,
        message: format!("{shown}: {what} contains a NUL byte"),
    };
    let path = c_path(found.as_os_str()).ok_or_else(|| nul("the path"))?;
    let argv =
        CStrArray::new(std::iter::once(cmd).chain(args)).ok_or_else(|| nul("an argument"))?;
    let env: Vec<OsString> = std::env::vars_os()
        .map(|(k, v)| {
            let mut kv = k;
            kv.push("=");
            kv.push(v);
            kv
        })
        .collect();
    let envp = CStrArray::new(&env).ok_or_else(|| nul("the environment"))?;
    let sh = CString::new("/bin/sh").map_err(|_| nul("/bin/sh"))?;
    let sh_argv = CStrArray::new(
        [OsString::from("/bin/sh"), found.clone().into_os_string()]
            .iter()
            .chain(args),
    )
    .ok_or_else(|| nul("an argument"))?;
    Ok(Command {
        shown,
        path,
        argv,
        envp,
        sh_retry: Some((sh, sh_argv)),
    })
}

/// Picks the exec call the filters let through: `execve`, else
/// `execveat`; refuses (status 126) when neither passes.
fn choose_exec(filters: &[Filter], arch: Arch, c: &mut Command) -> Result<ExecCall, Exit> {
    let verdict = |call: ExecCall| {
        precheck::check(filters, arch, call, call.args(&c.path, &c.argv, &c.envp))
            .map_err(Exit::own)
    };
    let execve = verdict(ExecCall::Execve)?;
    let chosen = if execve.passes() {
        execve
    } else {
        let at = verdict(ExecCall::Execveat)?;
        if !at.passes() {
            return Err(Exit {
                code: 126,
                message: format!(
                    "{}: the policy answers this execve with {} and execveat with {}, so the command cannot start under it",
                    c.shown,
                    describe(execve.action),
                    describe(at.action)
                ),
            });
        }
        eprintln!(
            "note: the policy answers execve with {}; starting {} with execveat, which it allows",
            describe(execve.action),
            c.shown
        );
        at
    };
    if chosen.reads_ip {
        eprintln!(
            "warning: the policy reads the instruction pointer, so whether {} passes depends on where the call is made; checked for address 0",
            chosen.call.name()
        );
    }
    // The /bin/sh retry (for a file the kernel cannot execute) is made only
    // when the filters let it through too; otherwise ENOEXEC is reported.
    if let Some((sh, sh_argv)) = &c.sh_retry {
        let args = chosen.call.args(sh, sh_argv, &c.envp);
        if !precheck::check(filters, arch, chosen.call, args)
            .map_err(Exit::own)?
            .passes()
        {
            c.sh_retry = None;
        }
    }
    Ok(chosen.call)
}

/// An action as a policy writes it (`errno(EPERM)`, `kill_process`).
fn describe(a: KernelAction) -> String {
    match Action::from_ret(a.to_ret()) {
        Some(p) => p.to_string(),
        None => a.to_string(),
    }
}

/// The exit status for how the command ended, with a message for the
/// cases `run` explains.
fn exit_status(c: &Command, ended: Ended) -> Result<u8, Exit> {
    match ended {
        Ended::Exited(code) => Ok(code as u8),
        Ended::Signaled { signal, .. } => {
            if signal == libc::SIGSYS {
                eprintln!(
                    "note: {} was killed by SIGSYS: a call the policy answers with kill_process, kill_thread or trap",
                    c.shown
                );
            }
            Ok((128 + signal).clamp(0, 255) as u8)
        }
        Ended::ExecFailed {
            call,
            sh_retry,
            errno,
        } => {
            let e = std::io::Error::from_raw_os_error(errno);
            let what = if sh_retry {
                format!(
                    "{}: the kernel cannot execute it, and /bin/sh failed on it too",
                    c.shown
                )
            } else {
                c.shown.clone()
            };
            Err(Exit {
                code: if errno == libc::ENOENT { 127 } else { 126 },
                message: format!("{what}: {} failed under the policy: {e}", call.name()),
            })
        }
    }
}
