//! `cargo xtask verify [POLICY]`: compile a policy (or take `--program`),
//! check it with the kernel's verifier rules, prove it equal to the policy
//! on every input, run the policy's `[[test]]` expectations, then print
//! lints and metrics. Exits 0 only when the program verifies, the proof
//! holds and every test passes. With `--format json` the same findings are
//! one JSON document (see `report` and the README).
//!
//! Without POLICY it verifies the shipped `policies/network-service.toml`.

use std::process::ExitCode;

use bpf_asm::policy::compile::Layout;
use bpf_asm::policy::eval::evaluate;
use bpf_asm::policy::load::test_syscall_nr;
use bpf_asm::policy::resolve::Resolved;
use bpf_asm::policy::{Action, Policy, Width};
use bpf_asm::seccomp::{SECCOMP_RET_ALLOW, X32_SYSCALL_BIT};
use bpf_asm::{Arch, SockFilter};
use bpf_vm::analysis::analyze;
use bpf_vm::emu::Prepared;
use bpf_vm::prove::prove;
use bpf_vm::{verify, Mode, SeccompData};

use crate::compile::{compile_with, load_policy, parse_layout, Loaded, PolicyArgs};
use crate::io::{load_program, shown, InputFormat};
use crate::report::{self, ArchMetrics, ReportFormat};
use crate::DynError;

/// Flags of the command.
#[derive(clap::Args)]
pub struct Args {
    /// The policy file (default: policies/network-service.toml).
    pub policy: Option<String>,
    #[command(flatten)]
    pub policy_args: PolicyArgs,
    /// Check this program file against the policy instead of compiling it.
    #[arg(long, value_name = "PROG")]
    pub program: Option<String>,
    /// How `--program` is written (default: from its extension).
    #[arg(long, value_enum)]
    pub input: Option<InputFormat>,
    /// The layout to compile with: auto, linear, bintree or ranges
    /// (default auto; not with --program).
    #[arg(long, value_parser = parse_layout)]
    pub layout: Option<Layout>,
    /// How the findings are printed: text, or one JSON document.
    #[arg(long, value_enum, default_value_t)]
    pub format: ReportFormat,
}

/// The shipped policy, relative to the workspace root.
pub fn default_policy() -> String {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap_or(std::path::Path::new("."));
    root.join("policies/network-service.toml")
        .to_string_lossy()
        .into_owned()
}

/// Refuses flags that would have no effect with the others given.
fn applicable(args: &Args) -> Result<(), DynError> {
    if args.program.is_some() {
        if let Some(l) = args.layout {
            return Err(format!(
                "--layout {l} does not apply with --program: the program is checked as given, not compiled"
            )
            .into());
        }
        if args.policy_args.profile.is_some() {
            return Err("--profile does not apply with --program: it only guides the compiler's choice of layout".into());
        }
    } else if args.input.is_some() {
        return Err(
            "--input says how the --program file is written; it does not apply without --program"
                .into(),
        );
    }
    Ok(())
}

/// Runs the command.
pub fn run(args: Args) -> Result<ExitCode, DynError> {
    applicable(&args)?;
    let path = args.policy.clone().unwrap_or_else(default_policy);
    let loaded = load_policy(&path, &args.policy_args)?;
    let text = args.format == ReportFormat::Text;
    let mut doc = report::document("verify");
    doc.insert("policy".into(), loaded.name.clone().into());
    let prog_name = match &args.program {
        Some(p) => shown(p).to_string(),
        None => format!("the program compiled from {}", loaded.name),
    };
    let prog = match &args.program {
        Some(p) => {
            doc.insert("program".into(), prog_name.clone().into());
            doc.insert("compiled".into(), serde_json::Value::Null);
            load_program(p, args.input)?
        }
        None => {
            let layout = args.layout.unwrap_or_default();
            let c = compile_with(&loaded, layout)?;
            if text {
                println!(
                    "compiled {path}: {} instructions ({} layout)",
                    c.program.len(),
                    c.layout
                );
            }
            doc.insert("program".into(), serde_json::Value::Null);
            doc.insert(
                "compiled".into(),
                serde_json::json!({
                    "layout": layout.to_string(),
                    "chosen": c.layout.to_string(),
                    "instructions": c.program.len(),
                }),
            );
            c.program
        }
    };
    let ok = check_all(&args, &loaded, &prog, &prog_name, &mut doc)?;
    doc.insert("ok".into(), ok.into());
    if !text {
        report::print(doc);
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Verifies, proves, tests, lints and measures `prog`, printing each
/// finding in text mode and recording it in `doc`; whether all hold.
fn check_all(
    args: &Args,
    loaded: &Loaded,
    prog: &[SockFilter],
    prog_name: &str,
    doc: &mut serde_json::Map<String, serde_json::Value>,
) -> Result<bool, DynError> {
    let text = args.format == ReportFormat::Text;
    let mut ok = true;

    // 1. The kernel's checks.
    if let Err(e) = verify(prog, Mode::Seccomp) {
        if text {
            println!("verifier: REJECTED: {prog_name}: {e}");
        }
        doc.insert(
            "verifier".into(),
            serde_json::json!({
                "accepted": false,
                "instructions": prog.len(),
                "error": {
                    "index": e.index,
                    "rule": format!("{:?}", e.rule),
                    "message": e.rule.to_string(),
                    "errno": e.errno.name(),
                },
            }),
        );
        for key in ["proof", "tests", "lints", "metrics"] {
            doc.insert(key.into(), serde_json::Value::Null);
        }
        return Ok(false);
    }
    if text {
        println!("verifier: ok ({} instructions)", prog.len());
    }
    doc.insert(
        "verifier".into(),
        serde_json::json!({"accepted": true, "instructions": prog.len(), "error": null}),
    );

    // 2. The proof.
    eprintln!("proving the program equals the policy on every input...");
    let proof = match prove(prog, &loaded.resolved) {
        Ok(p) => {
            if text {
                println!(
                    "proof: ok: the program returns the policy's action for every input ({} program regions, {} pieces checked)",
                    p.regions, p.pieces
                );
            }
            serde_json::json!({"ok": true, "error": null, "regions": p.regions, "pieces": p.pieces})
        }
        Err(e) => {
            if text {
                println!("proof: FAILED: {e}");
            }
            ok = false;
            serde_json::json!({"ok": false, "error": e.to_string()})
        }
    };
    doc.insert("proof".into(), proof);

    // 3. The policy's tests.
    let results = run_tests(&loaded.policy, &loaded.resolved, prog)
        .map_err(|e| format!("{prog_name}: {e}"))?;
    let failed = results.iter().filter(|r| r.failure.is_some()).count();
    if text {
        for r in &results {
            if let Some(why) = &r.failure {
                println!("test {}: FAILED: {why}", r.origin);
            }
        }
        println!("tests: {} passed, {failed} failed", results.len() - failed);
    }
    let shown_results: Vec<serde_json::Value> = results.iter().map(TestResult::json).collect();
    doc.insert(
        "tests".into(),
        serde_json::json!({
            "passed": results.len() - failed,
            "failed": failed,
            "results": shown_results,
        }),
    );
    ok &= failed == 0;

    // 4. Lints.
    let lints = lints(loaded, prog, args.program.is_some());
    if text {
        if lints.is_empty() {
            println!("lints: none");
        }
        for l in &lints {
            println!("warning: {l}");
        }
    }
    let shown_lints: Vec<serde_json::Value> = lints
        .iter()
        .map(|l| {
            serde_json::json!({
                "kind": null,
                "severity": "warning",
                "location": null,
                "message": l,
            })
        })
        .collect();
    doc.insert("lints".into(), shown_lints.into());

    // 5. Metrics.
    if text {
        println!("metrics: program length {} instructions", prog.len());
    }
    let mut per_arch = Vec::new();
    for &arch in &loaded.policy.arches {
        eprintln!("analysing {}...", arch.name());
        let a = analyze(prog, arch, []).map_err(|e| format!("{prog_name}: {e}"))?;
        let m = ArchMetrics::new(&loaded.resolved, prog, &a);
        if text {
            let s = &m.summary;
            println!(
                "metrics: {}: instructions executed over its {} syscalls: mean {:.2} (fewest-path mean {:.2}), max {}{}; kernel cache covers {}/{} unconditionally allowed syscalls",
                arch.name(),
                s.count,
                s.mean_max,
                s.mean_min,
                s.max,
                if s.exact { "" } else { " (bounds)" },
                m.cached,
                m.always_allowed
            );
        }
        per_arch.push(m.json());
    }
    doc.insert(
        "metrics".into(),
        serde_json::json!({"instructions": prog.len(), "arches": per_arch}),
    );
    Ok(ok)
}

/// One `[[test]]` run on the program.
struct TestResult {
    origin: String,
    arch: Arch,
    syscall: String,
    nr: Option<u32>,
    args: Vec<u64>,
    expected: Action,
    returned: Option<u32>,
    policy_says: Option<Action>,
    /// Why it failed, in words; `None` when it passed.
    failure: Option<String>,
}

impl TestResult {
    fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "origin": self.origin,
            "arch": self.arch.name(),
            "syscall": self.syscall,
            "nr": self.nr,
            "args": self.args,
            "expected": self.expected.to_string(),
            "returned": self.returned,
            "policy_says": self.policy_says.map(|a| a.to_string()),
            "passed": self.failure.is_none(),
            "failure": self.failure,
        })
    }
}

fn run_tests(
    policy: &Policy,
    resolved: &Resolved,
    prog: &[SockFilter],
) -> Result<Vec<TestResult>, DynError> {
    let prepared = Prepared::new(prog)?;
    let mut out = Vec::with_capacity(policy.tests.len());
    for t in &policy.tests {
        let arch = t
            .arch
            .or_else(|| policy.arches.first().copied())
            .unwrap_or(Arch::X86_64);
        let mut r = TestResult {
            origin: t.origin.clone(),
            arch,
            syscall: t.syscall.clone(),
            nr: test_syscall_nr(arch, &t.syscall),
            args: t.args.clone(),
            expected: t.expect,
            returned: None,
            policy_says: None,
            failure: None,
        };
        let Some(nr) = r.nr else {
            r.failure = Some(format!("no syscall `{}` on {}", t.syscall, arch.name()));
            out.push(r);
            continue;
        };
        let mut args = [0u64; 6];
        for (slot, v) in args.iter_mut().zip(&t.args) {
            *slot = *v;
        }
        let data = SeccompData::for_arch(arch, nr as i32).with_args(args);
        let ret = prepared.run(&data, arch.endian()).ret;
        let policy_says = evaluate(resolved, arch.audit_arch(), nr, &args);
        r.returned = Some(ret);
        r.policy_says = Some(policy_says);
        if ret != t.expect.to_ret() {
            let got = Action::from_ret(ret).map_or(format!("{ret:#x}"), |a| a.to_string());
            r.failure = Some(format!(
                "{}:{}{:?} expected {}, the program returns {got} (the policy says {policy_says})",
                arch.name(),
                t.syscall,
                t.args,
                t.expect
            ));
        }
        out.push(r);
    }
    Ok(out)
}

fn lints(loaded: &Loaded, prog: &[SockFilter], given_program: bool) -> Vec<String> {
    let (policy, resolved) = (&loaded.policy, &loaded.resolved);
    let mut out = Vec::new();
    let uses_kill_thread = policy.default == Action::KillThread
        || policy.bad_arch == Action::KillThread
        || policy.rules.iter().any(|r| r.action == Action::KillThread);
    if uses_kill_thread {
        out.push(
            "kill_thread is used as an action: in a multi-threaded process the other threads keep running and may wait forever for the killed one (a hang); prefer kill_process".to_string(),
        );
    }
    if policy.default == Action::Allow {
        out.push("the default action is allow: every syscall the rules do not name, including ones added to future kernels, is allowed (a deny list)".to_string());
    }
    if given_program && policy.arches.contains(&Arch::X86_64) {
        let audit = Arch::X86_64.audit_arch();
        let leaky = Arch::X86_64.syscalls().find(|&(nr, _)| {
            let data = SeccompData::new((nr | X32_SYSCALL_BIT) as i32, audit);
            bpf_vm::run(prog, &data, Arch::X86_64.endian())
                .is_ok_and(|o| o.ret == SECCOMP_RET_ALLOW)
        });
        if let Some((nr, name)) = leaky {
            out.push(format!(
                "no x32 guard: the program allows x32 call {:#x} ({name} | 0x40000000); check `nr & 0x40000000` after the arch check",
                nr | X32_SYSCALL_BIT
            ));
        }
    }
    for &arch in &policy.arches {
        let audit = arch.audit_arch();
        if let Some(nr) = arch.syscall_nr("clone3") {
            let a = evaluate(resolved, audit, nr, &[0; 6]);
            if a != Action::Allow && a != Action::Errno(38) {
                out.push(format!(
                    "{}: clone3 gets {a}: libc creates threads with clone3 and falls back to clone only on ENOSYS; use errno(ENOSYS) for clone3",
                    arch.name()
                ));
            }
        }
        if let Some(nr) = arch.syscall_nr("clone") {
            // The flags glibc's pthread_create passes.
            let flags = 0x003d_0f00u64;
            let a = evaluate(resolved, audit, nr, &[flags, 0, 0, 0, 0, 0]);
            if a != Action::Allow && a != Action::Log {
                out.push(format!(
                    "{}: clone with pthread_create's flags gets {a}: the program cannot start threads",
                    arch.name()
                ));
            }
        }
    }
    let wide: Vec<&str> = policy
        .arches
        .iter()
        .filter(|a| a.is_64bit())
        .map(|a| a.name())
        .collect();
    if !wide.is_empty() {
        // One line per (syscalls, argument): the same narrowing repeated over
        // several rules is one decision, not several.
        let mut narrowed: Vec<(String, u8, Vec<usize>)> = Vec::new();
        for (ri, r) in policy.rules.iter().enumerate() {
            let names: Vec<&str> = r.syscalls.iter().map(|s| s.name.as_str()).collect();
            let names = names.join(", ");
            for c in r.conditions.iter().filter(|c| c.width == Width::U32) {
                match narrowed
                    .iter_mut()
                    .find(|(n, a, _)| *n == names && *a == c.arg)
                {
                    Some((_, _, rules)) if !rules.contains(&(ri + 1)) => rules.push(ri + 1),
                    Some(_) => {}
                    None => narrowed.push((names.clone(), c.arg, vec![ri + 1])),
                }
            }
        }
        for (names, arg, rules) in narrowed {
            let rules: Vec<String> = rules.iter().map(|r| r.to_string()).collect();
            out.push(format!(
                "{names}: arg{arg}:u32 ({} {}) compares only the low half of a 64-bit argument on {}: values that differ only in the high half match too (fine for int arguments the kernel truncates)",
                if rules.len() == 1 { "rule" } else { "rules" },
                rules.join(", "),
                wide.join(", ")
            ));
        }
    }
    out
}
