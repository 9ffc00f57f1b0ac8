//! Loading policy files: the native TOML format (with exact error positions),
//! the shipped policies, and every profile of the external corpus.
#![cfg(feature = "policy-files")]

use std::path::{Path, PathBuf};

use bpf_asm::policy::eval::evaluate;
use bpf_asm::policy::load::{self, load_file, load_str, LoadOptions, OciOptions};
use bpf_asm::policy::resolve::resolve;
use bpf_asm::policy::{Action, CmpOp, Policy, Width};
use bpf_asm::seccomp::{Arch, AUDIT_ARCH_I386};

const EXAMPLE: &str = r#"default = "errno(EPERM)"
arches = ["x86_64"]
bad_arch = "kill_process"
[[rule]]
syscalls = ["read", "write", "exit_group"]
action = "allow"
[[rule]]
syscalls = ["openat"]
when = ["arg2 & 0x3 == 0"]
action = "allow"
[[test]]
call = "openat(-100, 0, 1)"
expect = "errno(EPERM)"
"#;

fn toml(text: &str) -> Result<Policy, load::LoadError> {
    load_str(text, "p.toml", &LoadOptions::default())
}

/// Loads `text` expecting an error at `line:column` whose message contains
/// `words`.
fn fails_at(text: &str, line: usize, column: usize, words: &str) {
    let e = toml(text).expect_err("should fail");
    assert_eq!((e.line, e.column), (line, column), "{e}");
    assert!(e.message.contains(words), "{e}");
    assert!(
        e.to_string()
            .starts_with(&format!("p.toml:{line}:{column}: ")),
        "{e}"
    );
}

fn corpus() -> Option<PathBuf> {
    testkit::corpus::dir()
}

fn x86_64() -> OciOptions {
    OciOptions {
        arch: Some(Arch::X86_64),
        kernel: (6, 18),
        ..OciOptions::default()
    }
}

#[test]
fn the_example_loads_as_written() {
    let p = toml(EXAMPLE).unwrap();
    assert_eq!(p.default, Action::Errno(1));
    assert_eq!(p.arches, vec![Arch::X86_64]);
    assert_eq!(p.bad_arch, Action::KillProcess);
    assert_eq!(p.rules.len(), 2);
    let c = p.rules[1].conditions[0];
    assert_eq!(
        (c.arg, c.width, c.mask, c.op, c.value),
        (2, Width::U64, Some(3), CmpOp::Eq, 0)
    );
    let t = &p.tests[0];
    assert_eq!(t.syscall, "openat");
    assert_eq!(t.args, vec![0xffff_ffff_ffff_ff9c, 0, 1]);
    assert_eq!(t.expect, Action::Errno(1));
    assert_eq!(t.origin, "p.toml:12:9");
    // Defaults: host arch, kill_process for bad arches.
    let p = toml("default = \"allow\"").unwrap();
    assert_eq!(p.arches, vec![Arch::host().unwrap()]);
    assert_eq!(p.bad_arch, Action::KillProcess);
}

#[test]
fn every_error_category_points_at_the_value() {
    // Syntax.
    fails_at("default = \"allow\" junk", 1, 19, "");
    // Wrong type.
    fails_at("default = 3", 1, 11, "invalid type");
    // Missing required key.
    let e = toml("arches = [\"x86_64\"]").unwrap_err();
    assert!(e.message.contains("default"), "{e}");
    // Unknown key, top level and in a rule.
    fails_at("default = \"allow\"\nfoo = 1", 2, 1, "unknown field `foo`");
    fails_at(
        "default = \"allow\"\n[[rule]]\nsyscalls = [\"read\"]\naction = \"allow\"\nwhen2 = []",
        5,
        1,
        "unknown field `when2`",
    );
    // Bad action (default, rule, test expectation).
    fails_at("default = \"deny\"", 1, 12, "unknown action");
    fails_at(
        "default = \"allow\"\n[[rule]]\nsyscalls = [\"read\"]\naction = \"errno(ENOPE)\"",
        4,
        11,
        "unknown errno",
    );
    // Unknown architecture; x32.
    fails_at(
        "default = \"allow\"\narches = [\"x86_64\", \"vax\"]",
        2,
        22,
        "unknown architecture `vax`",
    );
    fails_at(
        "default = \"allow\"\narches = [\"x32\"]",
        2,
        12,
        "x32 cannot be listed",
    );
    // Unknown syscall: the name, with the arch and suggestions.
    fails_at(
        "default = \"allow\"\narches = [\"x86_64\"]\n[[rule]]\nsyscalls = [\"read\", \"opnat\"]\naction = \"allow\"",
        4, 22, "unknown syscall `opnat` on x86_64 (did you mean `openat`",
    );
    // A name missing on one architecture only.
    fails_at(
        "default = \"allow\"\narches = [\"x86_64\", \"aarch64\"]\n[[rule]]\nsyscalls = [\"open\"]\naction = \"allow\"",
        4, 14, "on aarch64",
    );
    // Bad conditions: the exact token.
    let rule = |cond: &str| {
        format!("default = \"allow\"\narches = [\"x86_64\"]\n[[rule]]\nsyscalls = [\"read\"]\nwhen = [\"{cond}\"]\naction = \"allow\"")
    };
    fails_at(&rule("arg6 == 1"), 5, 10, "argument index 6");
    fails_at(
        &rule("arg0:u32 == 0x1_0000_0000"),
        5,
        22,
        "does not fit a u32",
    );
    fails_at(&rule("arg0:i32 == 0x80000000"), 5, 22, "does not fit a i32");
    fails_at(&rule("arg0 <> 1"), 5, 15, "expected an operator");
    fails_at(&rule("arg0 == 1x"), 5, 18, "not a number");
    fails_at(&rule("arg0:u8 == 1"), 5, 15, "unknown width");
    // Bad test calls.
    fails_at("default = \"allow\"\narches = [\"x86_64\"]\n[[test]]\ncall = \"raed(1)\"\nexpect = \"allow\"", 4, 9, "did you mean `read`");
    fails_at("default = \"allow\"\narches = [\"x86_64\"]\n[[test]]\ncall = \"read(1, -)\"\nexpect = \"allow\"", 4, 17, "not a number");
    // Empty lists.
    fails_at(
        "default = \"allow\"\n[[rule]]\nsyscalls = []\naction = \"allow\"",
        3,
        12,
        "empty",
    );
}

#[test]
fn optional_rules_skip_missing_names() {
    let p = toml("default = \"allow\"\narches = [\"x86_64\", \"aarch64\"]\n[[rule]]\nsyscalls = [\"open\", \"openat\"]\noptional = true\naction = \"log\"").unwrap();
    let r = resolve(&p).unwrap();
    assert_eq!(r.arches[0].rules[0].nrs, vec![2, 257]);
    assert_eq!(r.arches[1].rules[0].nrs, vec![56]);
}

#[test]
fn the_shipped_network_service_policy_loads_and_passes_its_tests() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies/network-service.toml");
    let p = load_file(&path, &LoadOptions::default()).unwrap();
    assert_eq!(p.arches, vec![Arch::X86_64, Arch::Aarch64]);
    assert!(p.tests.len() >= 5);
    let r = resolve(&p).unwrap();
    for t in &p.tests {
        let arch = t.arch.unwrap_or(p.arches[0]);
        let nr = load::test_syscall_nr(arch, &t.syscall).unwrap();
        let mut args = [0u64; 6];
        args[..t.args.len()].copy_from_slice(&t.args);
        assert_eq!(
            evaluate(&r, arch.audit_arch(), nr, &args),
            t.expect,
            "{}",
            t.origin
        );
    }
}

#[test]
fn docker_default_profile_is_what_docker_loads() {
    let Some(c) = corpus() else { return };
    let opts = LoadOptions {
        oci: x86_64(),
        ..LoadOptions::default()
    };
    let p = load_file(&c.join("policies/docker/default.json"), &opts).unwrap();
    assert_eq!(p.default, Action::Errno(1));
    assert_eq!(
        p.arches,
        vec![Arch::X86_64, Arch::X86],
        "x32 has no table: left out"
    );
    assert_eq!(p.bad_arch, Action::KillThread);
    let r = resolve(&p).unwrap();
    let x = Arch::X86_64.audit_arch();
    let call = |name: &str, a0: u64| {
        evaluate(
            &r,
            x,
            Arch::X86_64.syscall_nr(name).unwrap(),
            &[a0, 0, 0, 0, 0, 0],
        )
    };
    assert_eq!(call("read", 0), Action::Allow);
    assert_eq!(
        call("arch_prctl", 0),
        Action::Allow,
        "includes.arches amd64"
    );
    assert_eq!(call("ptrace", 0), Action::Allow, "minKernel 4.8");
    assert_eq!(call("mount", 0), Action::Errno(1), "needs CAP_SYS_ADMIN");
    assert_eq!(
        call("clone3", 0),
        Action::Errno(38),
        "ENOSYS without CAP_SYS_ADMIN"
    );
    assert_eq!(call("socket", 2), Action::Allow);
    assert_eq!(call("socket", 40), Action::Errno(1), "AF_VSOCK");
    assert_eq!(call("personality", 8), Action::Allow);
    assert_eq!(call("personality", 9), Action::Errno(1));
    assert_eq!(call("clone", 0x10000), Action::Allow);
    assert_eq!(
        call("clone", 0x1000_0000),
        Action::Errno(1),
        "CLONE_NEWUSER"
    );
    assert_eq!(
        evaluate(&r, x, 0x4000_0000, &[0; 6]),
        Action::KillThread,
        "x32"
    );
    assert_eq!(
        evaluate(&r, AUDIT_ARCH_I386, 3, &[0; 6]),
        Action::Allow,
        "i386 read"
    );
    // With CAP_SYS_ADMIN, mount and clone3 are allowed; an old kernel loses ptrace.
    let mut admin = x86_64();
    admin.caps.push("CAP_SYS_ADMIN".into());
    admin.kernel = (4, 4);
    let p = load_file(
        &c.join("policies/docker/default.json"),
        &LoadOptions {
            oci: admin,
            ..LoadOptions::default()
        },
    )
    .unwrap();
    let r = resolve(&p).unwrap();
    let call = |name: &str| {
        evaluate(
            &r,
            x,
            Arch::X86_64.syscall_nr(name).unwrap(),
            &[0x1000_0000, 0, 0, 0, 0, 0],
        )
    };
    assert_eq!(call("mount"), Action::Allow);
    assert_eq!(call("clone3"), Action::Allow);
    assert_eq!(call("clone"), Action::Allow);
    assert_eq!(call("ptrace"), Action::Errno(1));
    // aarch64 as the native architecture: arm is its sub-architecture.
    let arm = OciOptions {
        arch: Some(Arch::Aarch64),
        ..x86_64()
    };
    let p = load_file(
        &c.join("policies/docker/default.json"),
        &LoadOptions {
            oci: arm,
            ..LoadOptions::default()
        },
    )
    .unwrap();
    assert_eq!(p.arches, vec![Arch::Aarch64, Arch::Arm]);
}

#[test]
fn every_corpus_profile_loads() {
    let Some(c) = corpus() else { return };
    let pol = c.join("policies");
    let mut loaded = 0;
    for rel in [
        "docker/default.json",
        "docker/fixtures/example.json",
        "docker/fixtures/conditional_include.json",
        "docker/fixtures/default-old-format.json",
        "podman/seccomp.json",
        "flatpak/flatpak-docker-seccomp.json",
        "kubernetes/violation.json",
    ] {
        for arch in [Arch::X86_64, Arch::Aarch64, Arch::S390x, Arch::Riscv64] {
            let opts = LoadOptions {
                oci: OciOptions {
                    arch: Some(arch),
                    ..x86_64()
                },
                ..LoadOptions::default()
            };
            let p = load_file(&pol.join(rel), &opts).unwrap_or_else(|e| panic!("{e}"));
            resolve(&p).unwrap();
            loaded += 1;
        }
    }
    for (rel, arch) in [
        ("firecracker/x86_64-unknown-linux-musl.json", Arch::X86_64),
        ("firecracker/aarch64-unknown-linux-musl.json", Arch::Aarch64),
        ("firecracker/unimplemented.json", Arch::host().unwrap()),
    ] {
        for filter in ["vmm", "api", "vcpu"] {
            let opts = LoadOptions {
                filter: Some(filter.into()),
                ..LoadOptions::default()
            };
            let p = load_file(&pol.join(rel), &opts).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(p.arches, vec![arch]);
            resolve(&p).unwrap();
            loaded += 1;
        }
    }
    assert_eq!(loaded, 7 * 4 + 9);
    // Kubernetes' smallest profile: only a default action.
    let p = load_file(
        &pol.join("kubernetes/violation.json"),
        &LoadOptions::default(),
    )
    .unwrap();
    assert!(p.rules.is_empty());
}

#[test]
fn firecracker_filters_keep_their_meaning() {
    let Some(c) = corpus() else { return };
    let path = c.join("policies/firecracker/x86_64-unknown-linux-musl.json");
    let e = load_file(&path, &LoadOptions::default()).unwrap_err();
    assert!(e.message.contains("several filters"), "{e}");
    let opts = LoadOptions {
        filter: Some("vmm".into()),
        ..LoadOptions::default()
    };
    let p = load_file(&path, &opts).unwrap();
    assert_eq!(p.default, Action::Trap(0));
    let r = resolve(&p).unwrap();
    let x = Arch::X86_64.audit_arch();
    assert_eq!(
        evaluate(
            &r,
            x,
            Arch::X86_64.syscall_nr("epoll_ctl").unwrap(),
            &[0; 6]
        ),
        Action::Allow
    );
    assert_eq!(
        evaluate(&r, x, Arch::X86_64.syscall_nr("execve").unwrap(), &[0; 6]),
        Action::Trap(0)
    );
    assert_eq!(
        evaluate(&r, AUDIT_ARCH_I386, 3, &[0; 6]),
        Action::KillProcess
    );
}

#[test]
fn oci_errors_have_positions() {
    let opts = LoadOptions {
        oci: x86_64(),
        ..LoadOptions::default()
    };
    let e = load_str(
        "{\n  \"defaultAction\": \"SCMP_ACT_NOPE\"\n}",
        "d.json",
        &opts,
    )
    .unwrap_err();
    assert_eq!((e.line, e.column), (2, 20), "{e}");
    assert!(e.message.contains("unknown action"), "{e}");
    let text = "{\"defaultAction\": \"SCMP_ACT_ERRNO\",\n \"syscalls\": [\n  {\"names\": [\"read\"], \"action\": \"SCMP_ACT_ALLOW\",\n   \"args\": [{\"index\": 0, \"value\": 1, \"op\": \"SCMP_CMP_ODD\"}]}]}";
    let e = load_str(text, "d.json", &opts).unwrap_err();
    assert_eq!((e.line, e.column), (4, 44), "{e}");
    let e = load_str("{\"defaultAction\": 3}", "d.json", &opts).unwrap_err();
    assert_eq!(e.line, 1, "{e}");
    assert!(e.message.contains("invalid type"), "{e}");
}
