//! The command line as a user meets it: every command's `--help`, bad
//! inputs (missing, empty and garbage files), options that do not apply,
//! numbers as policies write them. Runs the built `xtask` binary; nothing
//! here installs a filter.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn xtask(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .output()
        .expect("run xtask")
}

fn show(out: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A scratch directory for this test binary.
fn scratch() -> PathBuf {
    let d = std::env::temp_dir().join(format!("xtask-cli-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn file(name: &str, bytes: &[u8]) -> String {
    let p = scratch().join(name);
    std::fs::write(&p, bytes).unwrap();
    p.to_string_lossy().into_owned()
}

/// Asserts a failure with exit status 1 (125 for `run`, whose own failures
/// stay apart from the exit statuses of the command it runs), one `error:`
/// line that names `needle` and no panic.
fn assert_error(args: &[&str], needle: &str) {
    let out = xtask(args);
    let err = String::from_utf8_lossy(&out.stderr);
    let code = if args.first() == Some(&"run") { 125 } else { 1 };
    assert_eq!(out.status.code(), Some(code), "{args:?}\n{}", show(&out));
    assert!(!err.contains("panicked"), "{args:?}\n{}", show(&out));
    assert!(
        err.lines()
            .any(|l| l.starts_with("error: ") && l.contains(needle)),
        "{args:?}: no error naming `{needle}`\n{}",
        show(&out)
    );
}

/// The subcommands `cargo xtask --help` lists.
fn subcommands() -> Vec<String> {
    let out = xtask(&["--help"]);
    assert!(out.status.success(), "{}", show(&out));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut in_commands = false;
    let mut names = Vec::new();
    for line in text.lines() {
        if line.starts_with("Commands:") {
            in_commands = true;
        } else if in_commands && !line.starts_with("  ") {
            in_commands = false;
        } else if in_commands {
            if let Some(name) = line.split_whitespace().next() {
                if name != "help" {
                    names.push(name.to_string());
                }
            }
        }
    }
    names
}

#[test]
fn version_and_every_help_work() {
    let out = xtask(&["--version"]);
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("cargo xtask {}", env!("CARGO_PKG_VERSION"))
    );
    let commands = subcommands();
    for expected in [
        "asm", "disasm", "check", "emu", "verify", "compile", "layouts", "run", "fuzz",
    ] {
        assert!(commands.iter().any(|c| c == expected), "{commands:?}");
    }
    for c in &commands {
        let out = xtask(&[c, "--help"]);
        assert!(out.status.success(), "{c} --help\n{}", show(&out));
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("Usage: cargo xtask"), "{c} --help\n{text}");
        // Every option is documented.
        for line in text.lines().map(str::trim_start) {
            if line.starts_with("--") && !line.starts_with("-- ") {
                let flag = line.split_whitespace().next().unwrap();
                assert!(
                    line.split_whitespace().count() > 1 || text.contains(&format!("{flag}\n")),
                    "{c}: {flag} has no help text"
                );
            }
        }
    }
}

/// The commands that read a program file, with the flags they need.
const PROGRAM_COMMANDS: &[&[&str]] = &[
    &["disasm"],
    &["check"],
    &["emu", "--nr", "0"],
    &["verify", "--program"],
];

/// The commands that read a policy file.
const POLICY_COMMANDS: &[&[&str]] = &[&["compile"], &["layouts"], &["verify"], &["run"]];

fn with(cmd: &[&str], path: &str) -> Vec<String> {
    let mut v: Vec<String> = cmd.iter().map(|s| s.to_string()).collect();
    // `run` needs a command after `--`.
    if cmd == ["verify", "--program"] {
        v.push(path.to_string());
        v.push(repo("policies/network-service.toml"));
    } else {
        v.push(path.to_string());
        if cmd == ["run"] {
            v.extend(["--".to_string(), "true".to_string()]);
        }
    }
    v
}

fn repo(rel: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(rel)
        .to_string_lossy()
        .into_owned()
}

fn run_with(cmd: &[&str], path: &str, needle: &str) {
    let args = with(cmd, path);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_error(&args, needle);
}

#[test]
fn missing_empty_and_garbage_programs_are_errors_naming_the_file() {
    let missing = scratch().join("missing.bpf").to_string_lossy().into_owned();
    let empty_raw = file("empty.bpf", b"");
    let empty_asm = file("empty.s", b"; only a comment\n");
    let garbage = file("garbage.bpf", b"\x01\x02\x03");
    let bad_text = file("bad.s", b"ld [0]\nfrobnicate\n");
    for cmd in PROGRAM_COMMANDS {
        run_with(cmd, &missing, &missing);
        run_with(
            cmd,
            &empty_raw,
            &format!("{empty_raw}: the program is empty"),
        );
        // The assembler itself refuses a source without instructions.
        run_with(
            cmd,
            &empty_asm,
            &format!("{empty_asm}:2:1: the program has no instructions"),
        );
        run_with(cmd, &garbage, &garbage);
        run_with(cmd, &bad_text, &format!("{bad_text}:2:"));
    }
    assert_error(&["asm", &file("empty-src.s", b"\n")], "has no instructions");
    // Files named by options are named in their errors too.
    let prog = file("ok.s", b"ret ALLOW\n");
    assert_error(&["emu", &prog, "--cases", &missing], &missing);
    let bad_cases = file("bad-cases.txt", b"x86_64 0 0 0 0 0 0 0 0\nx86_64 read\n");
    assert_error(
        &["emu", &prog, "--cases", &bad_cases],
        &format!("{bad_cases}:2:"),
    );
    assert_error(
        &["check", &prog, "--cache", "x86_64", "--stack", &missing],
        &missing,
    );
    assert_error(
        &["check", &prog, "--cache", "x86_64", "--stack", &empty_raw],
        &empty_raw,
    );
}

#[test]
fn missing_and_garbage_policies_are_errors_naming_the_file() {
    let missing = scratch()
        .join("missing.toml")
        .to_string_lossy()
        .into_owned();
    let garbage = file("garbage.toml", b"default = [\n");
    let binary = file("binary.json", b"\xff\xfe\x00");
    for cmd in POLICY_COMMANDS {
        run_with(cmd, &missing, &missing);
        run_with(cmd, &garbage, &garbage);
        run_with(cmd, &binary, &binary);
    }
    let profile = file("bad.profile", b"read 10\nwrite ten\n");
    assert_error(
        &[
            "compile",
            &repo("policies/network-service.toml"),
            "--profile",
            &profile,
        ],
        &format!("{profile}:2: weight `ten`"),
    );
}

#[test]
fn options_that_do_not_apply_are_errors_that_say_why() {
    let prog = file("allow.s", b"ret ALLOW\n");
    let policy = repo("policies/network-service.toml");
    let cases: &[(&[&str], &str)] = &[
        (
            &["verify", &policy, "--program", &prog, "--layout", "linear"],
            "--layout linear does not apply with --program",
        ),
        (
            &["verify", &policy, "--program", &prog, "--profile", &prog],
            "--profile does not apply with --program",
        ),
        (
            &["verify", &policy, "--input", "asm"],
            "--input says how the --program file is written",
        ),
        (
            &["check", &prog, "--stack", &prog],
            "--stack only feeds the --cache report",
        ),
        (
            &["check", &prog, "--classic", "--cache", "x86_64"],
            "--cache does not apply with --classic",
        ),
        (
            &["check", &prog, "--classic", "--verbose"],
            "--verbose reports the stacked seccomp filter budget",
        ),
        (
            &["asm", &prog, "--name", "F"],
            "--name names the static of --format rust",
        ),
        (
            &["compile", &policy, "--format", "c", "--name", "F"],
            "--name names the static of --format rust",
        ),
        (
            &["fuzz", "no_such_target"],
            "no fuzz target `no_such_target`",
        ),
    ];
    for (args, needle) in cases {
        assert_error(args, needle);
    }
}

#[test]
fn numbers_are_taken_as_policies_write_them() {
    let prog = file(
        "fdcwd.s",
        b"ld [arg0]\njeq #0xffffff9c, lo\nret ERRNO(1)\nlo: ld [arg0_hi]\njeq #0xffffffff, ok\nret ERRNO(2)\nok: ret ALLOW\n",
    );
    let arch = ["--arch", "x86_64"];
    for args in [
        vec!["emu", &prog, "--nr", "openat", "--args", "-100,0"],
        vec!["emu", &prog, "--nr", "257", "--args", "0xffffffffffffff9c"],
        vec![
            "emu", &prog, "--nr", "0x101", "--args", "-0x64", "--ip", "-1",
        ],
    ] {
        let mut args = args;
        args.extend(arch);
        let out = xtask(&args);
        assert!(out.status.success(), "{args:?}\n{}", show(&out));
        assert!(
            String::from_utf8_lossy(&out.stdout).starts_with("ALLOW 0x7fff0000"),
            "{args:?}\n{}",
            show(&out)
        );
    }
    let cases = file(
        "cases.txt",
        b"x86_64 openat -1 -100 0 0 0 0 0\nx86_64 -1 0 0b1 0 0 0 0 0\n",
    );
    let out = xtask(&["emu", &prog, "--cases", &cases]);
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "0x7fff0000 5\n0x00050001 3\n"
    );
    assert_error(&["emu", &prog, "--nr", "0x100000000"], "--nr");
    assert_error(
        &["emu", &prog, "--nr", "0", "--args", "1,2,3,4,5,6,7"],
        "at most 6",
    );
}

/// The README's build-time recipe: `seccomp-install/tests/embedded/filter.rs`
/// (included and installed by the `embedded_filter` test of seccomp-install)
/// is exactly what `compile --format rust` makes of the policy beside it.
#[test]
fn embedded_filter_is_fresh() {
    let policy = repo("seccomp-install/tests/embedded/policy.toml");
    let out = xtask(&["compile", &policy, "--format", "rust"]);
    assert!(out.status.success(), "{}", show(&out));
    let checked_in = std::fs::read(repo("seccomp-install/tests/embedded/filter.rs")).unwrap();
    assert!(
        out.stdout == checked_in,
        "seccomp-install/tests/embedded/filter.rs is stale; regenerate it with\n  \
         cargo xtask compile seccomp-install/tests/embedded/policy.toml --format rust \
         -o seccomp-install/tests/embedded/filter.rs"
    );
}
