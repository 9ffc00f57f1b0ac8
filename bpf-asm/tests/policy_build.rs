//! The policy builder against the TOML loader: the same policy written both
//! ways is the same model, over generated policies; and every mistake the
//! builder refuses, refused with the rule it is in.
#![cfg(feature = "policy-files")]

use bpf_asm::policy::build::{arg, on, Arg, BuildErrorKind};
use bpf_asm::policy::load::{load_str, Format, LoadOptions};
use bpf_asm::policy::resolve::ResolveError;
use bpf_asm::policy::{Action, CmpOp, Condition, Policy, Rule, Width};
use bpf_asm::Arch;
use testkit::Rng;

const NAMES: [&str; 8] = [
    "read", "write", "openat", "close", "mmap", "futex", "socket", "ioctl",
];
const ACTIONS: [Action; 6] = [
    Action::Allow,
    Action::Log,
    Action::KillProcess,
    Action::Errno(1),
    Action::Errno(38),
    Action::Trace(7),
];
const ARCHES: [Arch; 4] = [Arch::X86_64, Arch::Aarch64, Arch::X86, Arch::Riscv64];

/// A value that fits `width`, written as the TOML text and as the builder's
/// constant (sign-extended when negative).
fn value(rng: &mut Rng, width: Width) -> (String, u64) {
    let v: i64 = match rng.below(5) {
        0 => -100,
        1 => 0,
        2 => rng.below(0x1_0000) as i64,
        3 => -(rng.below(1 << 31) as i64) - 1,
        _ => rng.below(1 << 31) as i64,
    };
    match (width, rng.below(2)) {
        (Width::U64, 0) => {
            let big = rng.next_u64();
            (format!("{big:#x}"), big)
        }
        _ => (v.to_string(), v as u64),
    }
}

/// One generated condition as TOML text and as the builder writes it.
fn condition(rng: &mut Rng) -> (String, Condition) {
    let index = rng.below(6) as u8;
    let (width, suffix, a): (Width, &str, Arg) = match rng.below(4) {
        0 => (Width::U64, "", arg(index)),
        1 => (Width::U32, ":u32", arg(index).u32()),
        2 => (Width::Hi32, ":hi32", arg(index).hi32()),
        _ => (Width::I32, ":i32", arg(index).i32()),
    };
    let (mask_text, a) = if rng.below(2) == 0 {
        let m = match width {
            Width::U64 => rng.next_u64(),
            _ => rng.next_u64() & 0xffff_ffff,
        };
        (format!(" & {m:#x}"), a.masked(m))
    } else {
        (String::new(), a)
    };
    let (vt, v) = value(rng, width);
    let (vt, v) = match width {
        // i32 constants stay within the signed range.
        Width::I32 if (v as i64) > i64::from(i32::MAX) => ("7".to_string(), 7),
        _ => (vt, v),
    };
    let (op, c) = match rng.below(6) {
        0 => ("==", a.eq(v)),
        1 => ("!=", a.ne(v)),
        2 => ("<", a.lt(v)),
        3 => ("<=", a.le(v)),
        4 => (">", a.gt(v)),
        _ => (">=", a.ge(v)),
    };
    (format!("arg{index}{suffix}{mask_text} {op} {vt}"), c)
}

/// A generated policy as TOML text and as built.
fn generated(rng: &mut Rng) -> (String, Policy) {
    let default = rng.pick(&ACTIONS);
    let bad_arch = rng.pick(&ACTIONS);
    let first = rng.below(ARCHES.len() as u64) as usize;
    let arches: Vec<Arch> = ARCHES[first..].iter().copied().take(2).collect();
    let names: Vec<String> = arches.iter().map(|a| format!("\"{}\"", a.name())).collect();
    let mut text = format!(
        "default = \"{default}\"\nbad_arch = \"{bad_arch}\"\narches = [{}]\n",
        names.join(", ")
    );
    let mut b = Policy::builder(default)
        .arches(arches.iter().copied())
        .bad_arch(bad_arch);
    for _ in 0..rng.below(6) {
        let count = 1 + rng.below(3) as usize;
        let start = rng.below(NAMES.len() as u64) as usize;
        let mut syscalls: Vec<String> = NAMES
            .iter()
            .cycle()
            .skip(start)
            .take(count)
            .map(|s| s.to_string())
            .collect();
        if rng.below(8) == 0 {
            // A syscall written as a number.
            syscalls.push(format!("{}", 1000 + rng.below(500)));
        }
        let optional = rng.below(4) == 0;
        let mut rule = if optional {
            on([]).optional(syscalls.iter().map(String::as_str))
        } else {
            on(syscalls.iter().map(String::as_str))
        };
        let mut text_arches = String::new();
        if arches.len() > 1 && rng.below(3) == 0 {
            let only = arches[rng.below(arches.len() as u64) as usize];
            text_arches = format!("arches = [\"{}\"]\n", only.name());
            rule = rule.only_on([only]);
        }
        let mut when = Vec::new();
        for _ in 0..rng.below(3) {
            let (t, c) = condition(rng);
            when.push(format!("\"{t}\""));
            rule = rule.when(c);
        }
        let action = rng.pick(&ACTIONS);
        let quoted: Vec<String> = syscalls.iter().map(|s| format!("\"{s}\"")).collect();
        text.push_str(&format!(
            "\n[[rule]]\nsyscalls = [{}]\nwhen = [{}]\naction = \"{action}\"\n{}{text_arches}",
            quoted.join(", "),
            when.join(", "),
            if optional { "optional = true\n" } else { "" }
        ));
        b = if action == Action::Allow && rng.below(2) == 0 {
            b.rule(rule.allow())
        } else {
            b.rule(rule.then(action))
        };
    }
    for _ in 0..rng.below(3) {
        let name = rng.pick(&NAMES);
        let args: Vec<i64> = (0..rng.below(4))
            .map(|_| -(rng.below(200) as i64))
            .collect();
        let expect = rng.pick(&ACTIONS);
        let shown: Vec<String> = args.iter().map(i64::to_string).collect();
        text.push_str(&format!(
            "\n[[test]]\ncall = \"{name}({})\"\nexpect = \"{expect}\"\n",
            shown.join(", ")
        ));
        b = b.expect(name, args, expect);
    }
    (text, b.build().expect("generated policies are valid"))
}

#[test]
fn the_builder_writes_what_the_toml_loader_reads() {
    let seed = testkit::seed(
        "the_builder_writes_what_the_toml_loader_reads",
        0x0062_7569_6c64_6572,
    );
    let mut rng = Rng::new(seed);
    for case in 0..400 {
        let (text, mut built) = generated(&mut rng);
        let opts = LoadOptions {
            format: Some(Format::Toml),
            ..LoadOptions::default()
        };
        let mut loaded = load_str(&text, "generated.toml", &opts)
            .unwrap_or_else(|e| panic!("seed {seed:#x} case {case}: {e}\n{text}"));
        // Where a test was written differs by nature.
        for t in built.tests.iter_mut().chain(loaded.tests.iter_mut()) {
            t.origin.clear();
        }
        assert_eq!(built, loaded, "seed {seed:#x} case {case}\n{text}");
    }
}

#[test]
fn shorthands_are_the_rules_they_stand_for() {
    let p = Policy::builder(Action::Errno(1))
        .arch(Arch::X86_64)
        .allow(["read", "write"])
        .action(["ptrace"], Action::KillProcess)
        .rule(on(["openat"]).when(arg(2).masked(3).eq(0)).allow())
        .build()
        .unwrap();
    let rule = |names: &[&str], conditions: Vec<Condition>, action| Rule {
        arches: vec![],
        syscalls: names
            .iter()
            .map(|n| bpf_asm::policy::SyscallRef {
                name: n.to_string(),
                optional: false,
            })
            .collect(),
        conditions,
        action,
    };
    let masked = Condition {
        arg: 2,
        width: Width::U64,
        mask: Some(3),
        op: CmpOp::Eq,
        value: 0,
    };
    assert_eq!(
        p.rules,
        vec![
            rule(&["read", "write"], vec![], Action::Allow),
            rule(&["ptrace"], vec![], Action::KillProcess),
            rule(&["openat"], vec![masked], Action::Allow),
        ]
    );
    // Signed constants are sign-extended whatever their type.
    assert_eq!(arg(0).i32().eq(-100i64).value, (-100i64) as u64);
    assert_eq!(arg(0).i32().eq(-100i8).value, (-100i64) as u64);
    assert_eq!(arg(0).eq(0xffff_ff9cu32).value, 0xffff_ff9c);
    // Without an architecture the policy covers the host's.
    let host = Policy::builder(Action::Allow).build().unwrap();
    assert_eq!(host.arches, Arch::host().into_iter().collect::<Vec<_>>());
}

#[test]
fn what_the_model_cannot_express_is_refused_with_its_rule() {
    let b = || Policy::builder(Action::Errno(1)).arch(Arch::X86_64);
    let kind = |r: Result<Policy, bpf_asm::policy::build::BuildError>| {
        let e = r.unwrap_err();
        (e.rule, e.kind.clone(), e.to_string())
    };
    let (rule, k, msg) = kind(b().allow(["read"]).allow([]).build());
    assert_eq!((rule, k), (Some(1), BuildErrorKind::NoSyscalls));
    assert_eq!(msg, "rule 2: the rule names no syscall");
    let (rule, k, _) = kind(b().allow(["read", "read"]).build());
    assert_eq!(
        (rule, k),
        (Some(0), BuildErrorKind::DuplicateSyscall("read".into()))
    );
    let (_, k, _) = kind(b().allow(["open at"]).build());
    assert_eq!(k, BuildErrorKind::NotAName("open at".into()));
    let (_, k, _) = kind(b().arch(Arch::X86_64).build());
    assert_eq!(k, BuildErrorKind::DuplicateArch(Arch::X86_64));
    // Resolution errors come with the rule.
    let e = b().allow(["read"]).allow(["opnat"]).build().unwrap_err();
    assert_eq!(e.rule, Some(1));
    assert!(matches!(
        e.kind,
        BuildErrorKind::Resolve(ResolveError::UnknownSyscall { .. })
    ));
    assert!(e.to_string().contains("did you mean `openat`"), "{e}");
    // ... unless the name is optional.
    assert!(b()
        .rule(on(["read"]).optional(["opnat"]).allow())
        .build()
        .is_ok());
    let e = b()
        .rule(on(["read"]).when(arg(6).eq(0)).allow())
        .build()
        .unwrap_err();
    assert!(matches!(
        e.kind,
        BuildErrorKind::Resolve(ResolveError::ArgIndex { arg: 6, .. })
    ));
    let e = b()
        .rule(on(["read"]).when(arg(0).u32().eq(1u64 << 32)).allow())
        .build()
        .unwrap_err();
    assert!(matches!(
        e.kind,
        BuildErrorKind::Resolve(ResolveError::ValueOutOfRange { .. })
    ));
    let e = b()
        .rule(on(["read"]).when(arg(0).i32().eq(0x8000_0000u32)).allow())
        .build()
        .unwrap_err();
    assert!(matches!(
        e.kind,
        BuildErrorKind::Resolve(ResolveError::ValueOutOfRange { .. })
    ));
    let e = b()
        .rule(
            on(["read"])
                .when(arg(0).u32().masked(1 << 40).eq(0))
                .allow(),
        )
        .build()
        .unwrap_err();
    assert!(matches!(
        e.kind,
        BuildErrorKind::Resolve(ResolveError::MaskOutOfRange { .. })
    ));
    // Expectations.
    let (_, k, _) = kind(b().expect("read", [0; 7], Action::Allow).build());
    assert!(
        matches!(k, BuildErrorKind::BadExpect { index: 0, .. }),
        "{k:?}"
    );
    let (_, k, msg) = kind(b().expect_on(Arch::X86, "read", [0], Action::Allow).build());
    assert!(matches!(k, BuildErrorKind::BadExpect { .. }), "{k:?}");
    assert!(msg.contains("x86 is not one of the policy's"), "{msg}");
    let (_, k, _) = kind(b().expect("", [0], Action::Allow).build());
    assert!(matches!(k, BuildErrorKind::BadExpect { .. }), "{k:?}");
}
