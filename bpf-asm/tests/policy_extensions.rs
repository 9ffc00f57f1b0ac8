//! The policy-language extensions that let any region of a real program be
//! written as a rule (what `lift` needs): conditions on an argument's high
//! word (`argN:hi32`), rules restricted to some architectures (`arches` on a
//! rule) and syscalls written as numbers. Their meaning, their TOML syntax
//! with located errors, their resolution checks, and the policy syntax that
//! `Condition`'s `Display` writes and the parser reads back.
#![cfg(feature = "policy-files")]

use testkit::Rng;

use bpf_asm::policy::eval::{condition_holds, evaluate};
use bpf_asm::policy::load::{load_str, parse_condition, LoadError, LoadOptions};
use bpf_asm::policy::resolve::{resolve, value_fits, ResolveError};
use bpf_asm::policy::{Action, CmpOp, Condition, Policy, Rule, SyscallRef, Width};
use bpf_asm::seccomp::Arch;

fn toml(text: &str) -> Result<Policy, LoadError> {
    load_str(text, "p.toml", &LoadOptions::default())
}

fn fails_at(text: &str, line: usize, column: usize, words: &str) {
    let e = toml(text).expect_err("should fail");
    assert_eq!((e.line, e.column), (line, column), "{e}");
    assert!(e.message.contains(words), "{e}");
}

fn hi32(arg: u8, mask: Option<u64>, op: CmpOp, value: u64) -> Condition {
    Condition {
        arg,
        width: Width::Hi32,
        mask,
        op,
        value,
    }
}

#[test]
fn hi32_reads_the_upper_word_on_every_architecture() {
    let c = hi32(1, None, CmpOp::Eq, 0xdead_beef);
    let mut args = [0u64; 6];
    args[1] = 0xdead_beef_0000_0005;
    for arch in [
        Arch::X86_64,
        Arch::Aarch64,
        Arch::S390x,
        Arch::X86,
        Arch::Arm,
    ] {
        assert!(condition_holds(&c, arch, &args), "{arch:?}");
    }
    args[1] = 0x0000_0000_dead_beef;
    for arch in [Arch::X86_64, Arch::X86] {
        assert!(!condition_holds(&c, arch, &args), "{arch:?}");
    }
    // On a 32-bit architecture the other widths ignore that word: the
    // argument is its low word.
    let u64_eq = Condition {
        arg: 1,
        width: Width::U64,
        mask: None,
        op: CmpOp::Eq,
        value: 5,
    };
    args[1] = 0xdead_beef_0000_0005;
    assert!(condition_holds(&u64_eq, Arch::X86, &args));
    assert!(!condition_holds(&u64_eq, Arch::X86_64, &args));
    // Masks and orders apply to the word alone.
    let masked = hi32(0, Some(0xff00), CmpOp::Gt, 0x1000);
    assert!(condition_holds(
        &masked,
        Arch::X86_64,
        &[0x2000_0000_0000, 0, 0, 0, 0, 0]
    ));
    assert!(!condition_holds(
        &masked,
        Arch::X86_64,
        &[0x10ff_ffff_ffff, 0, 0, 0, 0, 0]
    ));
    // A negative constant stands for its low word, as for u32.
    let neg = hi32(0, None, CmpOp::Eq, -1i64 as u64);
    assert!(condition_holds(
        &neg,
        Arch::X86_64,
        &[0xffff_ffff_0000_0000, 0, 0, 0, 0, 0]
    ));
}

#[test]
fn hi32_constants_and_masks_fit_in_32_bits() {
    assert!(value_fits(0xffff_ffff, Width::Hi32));
    assert!(value_fits(-1i64 as u64, Width::Hi32));
    assert!(!value_fits(0x1_0000_0000, Width::Hi32));
    let base = "default = \"allow\"\narches = [\"x86_64\"]\n[[rule]]\nsyscalls = [\"read\"]\naction = \"kill_process\"\n";
    fails_at(
        &format!("{base}when = [\"arg0:hi32 == 0x100000000\"]\n"),
        6,
        23,
        "does not fit a hi32 comparison",
    );
    fails_at(
        &format!("{base}when = [\"arg0:hi32 & 0x100000000 == 0\"]\n"),
        6,
        22,
        "wider than the 32 bits a hi32 comparison",
    );
    fails_at(
        &format!("{base}when = [\"arg0:h32 == 0\"]\n"),
        6,
        15,
        "expected u64, u32, i32 or hi32",
    );
}

#[test]
fn rules_restricted_to_architectures_exist_only_there() {
    let p = toml(
        r#"default = "errno(EPERM)"
arches = ["x86_64", "i386", "aarch64"]
[[rule]]
arches = ["i386"]
syscalls = ["socketcall"]
action = "allow"
[[rule]]
arches = ["x86_64", "aarch64"]
syscalls = ["openat"]
when = ["arg2 == 0"]
action = "allow"
[[rule]]
syscalls = ["openat"]
action = "log"
"#,
    )
    .unwrap();
    assert_eq!(p.rules[0].arches, vec![Arch::X86]);
    let r = resolve(&p).unwrap();
    let openat = |a: Arch| a.syscall_nr("openat").unwrap();
    for (arch, want) in [
        (Arch::X86_64, Action::Allow),
        (Arch::Aarch64, Action::Allow),
        (Arch::X86, Action::Log),
    ] {
        assert_eq!(
            evaluate(&r, arch.audit_arch(), openat(arch), &[0; 6]),
            want,
            "{arch:?}"
        );
    }
    // socketcall exists only on i386 and the rule is restricted to it: the
    // 64-bit arches never resolve the name, so it needs no `optional`.
    let sc = Arch::X86.syscall_nr("socketcall").unwrap();
    assert_eq!(
        evaluate(&r, Arch::X86.audit_arch(), sc, &[0; 6]),
        Action::Allow
    );
    assert_eq!(
        r.arch(Arch::X86_64.audit_arch()).unwrap().rules[0].nrs,
        Vec::<u32>::new()
    );
}

#[test]
fn rule_arches_outside_the_policy_are_refused() {
    fails_at(
        "default = \"allow\"\narches = [\"x86_64\"]\n[[rule]]\narches = [\"x86_64\", \"aarch64\"]\nsyscalls = [\"read\"]\naction = \"log\"\n",
        4,
        22,
        "restricted to aarch64, which the policy does not cover",
    );
    fails_at(
        "default = \"allow\"\narches = [\"x86_64\"]\n[[rule]]\narches = []\nsyscalls = [\"read\"]\naction = \"log\"\n",
        4,
        10,
        "`arches` is empty",
    );
    fails_at(
        "default = \"allow\"\narches = [\"x86_64\"]\n[[rule]]\narches = [\"vax\"]\nsyscalls = [\"read\"]\naction = \"log\"\n",
        4,
        12,
        "vax",
    );
    // The same check for policies built in Rust.
    let mut p = Policy::new(Action::Allow, vec![Arch::X86_64]);
    p.rules.push(Rule {
        arches: vec![Arch::X86_64, Arch::S390x],
        syscalls: vec![SyscallRef {
            name: "read".into(),
            optional: false,
        }],
        conditions: vec![],
        action: Action::Log,
    });
    let e = resolve(&p).unwrap_err();
    assert_eq!(
        e,
        ResolveError::RuleArch {
            rule: 0,
            index: 1,
            arch: Arch::S390x
        }
    );
    assert!(e.to_string().contains("s390x"), "{e}");
}

#[test]
fn syscalls_written_as_numbers() {
    let p = toml(
        r#"default = "errno(EPERM)"
arches = ["x86_64"]
bad_arch = "kill_process"
[[rule]]
syscalls = ["1000", "0x3e8", "0x4000003b", "read"]
action = "allow"
"#,
    )
    .unwrap();
    let r = resolve(&p).unwrap();
    let x = r.arch(Arch::X86_64.audit_arch()).unwrap();
    assert_eq!(x.rules[0].nrs, vec![0, 1000, 0x4000_003b]);
    let audit = Arch::X86_64.audit_arch();
    assert_eq!(evaluate(&r, audit, 1000, &[0; 6]), Action::Allow);
    assert_eq!(evaluate(&r, audit, 1001, &[0; 6]), Action::Errno(1));
    // An x32 number still meets the x32 rule first (bad_arch) unless the
    // policy lets x32 calls through.
    assert_eq!(
        evaluate(&r, audit, 0x4000_003b, &[0; 6]),
        Action::KillProcess
    );
    for (bad, col) in [("0x1_0", 14), ("4294967296", 14), ("12ab", 14), ("0x", 14)] {
        fails_at(
            &format!("default = \"allow\"\narches = [\"x86_64\"]\n[[rule]]\nsyscalls = [\"{bad}\"]\naction = \"log\"\n"),
            4,
            col,
            "neither a syscall name nor a syscall number",
        );
    }
    // For policies built in Rust, resolution refuses them.
    let mut p = Policy::new(Action::Allow, vec![Arch::X86_64]);
    p.rules.push(Rule {
        arches: vec![],
        syscalls: vec![SyscallRef {
            name: "99999999999".into(),
            optional: true,
        }],
        conditions: vec![],
        action: Action::Log,
    });
    assert!(matches!(
        resolve(&p),
        Err(ResolveError::BadNumber {
            rule: 0,
            syscall: 0,
            ..
        })
    ));
}

#[test]
fn foreign_formats_take_names_only() {
    // libseccomp resolves names only: runc skips a number like any name it
    // does not know.
    let oci = r#"{"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"],
        "syscalls": [{"names": ["0", "read"], "action": "SCMP_ACT_ALLOW"}]}"#;
    let opts = LoadOptions::default();
    let p = load_str(oci, "p.json", &opts).unwrap();
    let names: Vec<&str> = p.rules[0]
        .syscalls
        .iter()
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(names, ["read"]);
    // seccompiler refuses a name it does not know.
    let fc = r#"{"vmm": {"default_action": "trap", "filter_action": "allow",
        "filter": [{"syscall": "read"}, {"syscall": "0"}]}}"#;
    let opts = LoadOptions {
        oci: bpf_asm::policy::load::OciOptions {
            arch: Some(Arch::X86_64),
            ..Default::default()
        },
        ..LoadOptions::default()
    };
    let e = load_str(fc, "x86_64.json", &opts).unwrap_err();
    assert!(e.message.contains("not a syscall name"), "{e}");
    assert_eq!(e.line, 2, "{e}");
}

fn random_condition(rng: &mut Rng) -> Condition {
    loop {
        let width = [Width::U64, Width::U32, Width::I32, Width::Hi32][rng.below(4) as usize];
        let value = match rng.below(5) {
            0 => rng.below(5000),
            1 => (-(rng.below(5000) as i64)) as u64,
            2 => rng.next_u64() & 0xffff_ffff,
            3 => (rng.next_u64() as i32) as i64 as u64,
            _ => rng.next_u64(),
        };
        let mask = match rng.below(3) {
            0 => None,
            1 => Some(rng.next_u64() & 0xffff_ffff),
            _ => Some(rng.next_u64()),
        };
        let ok_mask = mask.is_none_or(|m| !width.is_word() || m <= 0xffff_ffff);
        if value_fits(value, width) && ok_mask {
            let ops = [
                CmpOp::Eq,
                CmpOp::Ne,
                CmpOp::Lt,
                CmpOp::Le,
                CmpOp::Gt,
                CmpOp::Ge,
            ];
            return Condition {
                arg: rng.below(6) as u8,
                width,
                mask,
                op: ops[rng.below(6) as usize],
                value,
            };
        }
    }
}

#[test]
fn conditions_print_in_policy_syntax_and_read_back_identically() {
    let seed = testkit::seed("conditions_print_in_policy_syntax", 0x11f7_0001);
    let mut rng = Rng::new(seed);
    for i in 0..5000 {
        let c = random_condition(&mut rng);
        let text = c.to_string();
        let (back, _) = parse_condition(&text)
            .unwrap_or_else(|e| panic!("seed {seed:#x} #{i}: `{text}` does not parse: {e:?}"));
        assert_eq!(back, c, "seed {seed:#x} #{i}: `{text}`");
    }
    let c = hi32(2, Some(0xff), CmpOp::Ne, 3);
    assert_eq!(c.to_string(), "arg2:hi32 & 0xff != 3");
    let c = Condition {
        arg: 0,
        width: Width::U64,
        mask: None,
        op: CmpOp::Eq,
        value: -100i64 as u64,
    };
    assert_eq!(c.to_string(), "arg0 == -100");
}

#[test]
fn negated_operators_hold_exactly_when_the_original_does_not() {
    let mut rng = Rng::for_test("negated_operators_hold_exactly", 0x11f7_0002);
    for _ in 0..2000 {
        let c = random_condition(&mut rng);
        let n = Condition {
            op: c.op.negate(),
            ..c
        };
        let args: [u64; 6] = core::array::from_fn(|_| match rng.below(3) {
            0 => c.value,
            1 => c.value.wrapping_add(rng.below(3)).wrapping_sub(1) << (32 * rng.below(2)),
            _ => rng.next_u64(),
        });
        for arch in [Arch::X86_64, Arch::X86] {
            assert_ne!(
                condition_holds(&c, arch, &args),
                condition_holds(&n, arch, &args),
                "{c} / {n} on {args:x?}"
            );
        }
    }
}
