//! The meaning of a policy: first match wins, widths, masks, negative values,
//! signed comparisons, 32-bit architectures, bad_arch and x32. Checked against
//! hand-written expectations and, over generated inputs, against a second,
//! deliberately naive statement of the semantics.

use testkit::Rng;

use bpf_asm::policy::eval::{condition_holds, decide, evaluate, Reason};
use bpf_asm::policy::resolve::{resolve, ResolveError};
use bpf_asm::policy::{Action, CmpOp, Condition, Policy, Rule, SyscallRef, Width};
use bpf_asm::seccomp::{Arch, AUDIT_ARCH_X86_64, X32_SYSCALL_BIT};

fn cond(arg: u8, width: Width, mask: Option<u64>, op: CmpOp, value: u64) -> Condition {
    Condition {
        arg,
        width,
        mask,
        op,
        value,
    }
}

fn rule(names: &[&str], conditions: Vec<Condition>, action: Action) -> Rule {
    Rule {
        arches: Vec::new(),
        syscalls: names
            .iter()
            .map(|n| SyscallRef {
                name: n.to_string(),
                optional: true,
            })
            .collect(),
        conditions,
        action,
    }
}

fn policy(arches: Vec<Arch>, rules: Vec<Rule>) -> Policy {
    Policy {
        default: Action::Errno(1),
        arches,
        allow_x32: false,
        bad_arch: Action::KillProcess,
        rules,
        tests: vec![],
        enosys: Default::default(),
        flags: Default::default(),
        listener: None,
    }
}

fn args(a0: u64) -> [u64; 6] {
    [a0, 0, 0, 0, 0, 0]
}

#[test]
fn first_matching_rule_wins() {
    let p = policy(
        vec![Arch::X86_64],
        vec![
            rule(
                &["read"],
                vec![cond(0, Width::U64, None, CmpOp::Eq, 1)],
                Action::Log,
            ),
            rule(&["read", "write"], vec![], Action::Allow),
            rule(&["read"], vec![], Action::KillThread),
        ],
    );
    let r = resolve(&p).unwrap();
    let x = AUDIT_ARCH_X86_64;
    assert_eq!(evaluate(&r, x, 0, &args(1)), Action::Log);
    assert_eq!(evaluate(&r, x, 0, &args(2)), Action::Allow);
    assert_eq!(evaluate(&r, x, 1, &args(1)), Action::Allow);
    assert_eq!(evaluate(&r, x, 2, &args(1)), Action::Errno(1));
    assert_eq!(decide(&r, x, 0, &args(2)).reason, Reason::Rule(1));
    assert_eq!(decide(&r, x, 2, &args(2)).reason, Reason::Default);
}

#[test]
fn widths_masks_and_signs() {
    let x = Arch::X86_64;
    let big = 0xdead_beef_0000_0005;
    // u64 compares all 64 bits.
    assert!(!condition_holds(
        &cond(0, Width::U64, None, CmpOp::Eq, 5),
        x,
        &args(big)
    ));
    assert!(condition_holds(
        &cond(0, Width::U64, None, CmpOp::Gt, 5),
        x,
        &args(big)
    ));
    // u32 only the low word.
    assert!(condition_holds(
        &cond(0, Width::U32, None, CmpOp::Eq, 5),
        x,
        &args(big)
    ));
    // Masks apply before comparing.
    assert!(condition_holds(
        &cond(2, Width::U64, Some(3), CmpOp::Eq, 0),
        x,
        &[0, 0, 0x8000, 0, 0, 0]
    ));
    assert!(!condition_holds(
        &cond(2, Width::U64, Some(3), CmpOp::Eq, 0),
        x,
        &[0, 0, 0x8001, 0, 0, 0]
    ));
    assert!(condition_holds(
        &cond(
            0,
            Width::U64,
            Some(0xffff_0000_0000_0000),
            CmpOp::Eq,
            0xdead_0000_0000_0000
        ),
        x,
        &args(big)
    ));
    // Negative constants are sign-extended: -100 == 0xffff_ffff_ffff_ff9c.
    let minus100 = (-100i64) as u64;
    assert!(condition_holds(
        &cond(0, Width::U64, None, CmpOp::Eq, minus100),
        x,
        &args(0xffff_ffff_ffff_ff9c)
    ));
    assert!(!condition_holds(
        &cond(0, Width::U64, None, CmpOp::Eq, minus100),
        x,
        &args(0xffff_ff9c)
    ));
    assert!(condition_holds(
        &cond(0, Width::I32, None, CmpOp::Eq, minus100),
        x,
        &args(0xffff_ff9c)
    ));
    assert!(condition_holds(
        &cond(0, Width::U32, None, CmpOp::Eq, minus100),
        x,
        &args(0x1234_5678_ffff_ff9c)
    ));
    // i32 is signed: arg0:i32 < 0.
    let neg = cond(0, Width::I32, None, CmpOp::Lt, 0);
    assert!(condition_holds(&neg, x, &args(0xffff_ffff_8000_0000)));
    assert!(condition_holds(&neg, x, &args(0x0000_0000_ffff_ffff)));
    assert!(!condition_holds(&neg, x, &args(0xffff_ffff_7fff_ffff)));
    assert!(!condition_holds(
        &cond(0, Width::U32, None, CmpOp::Lt, 0),
        x,
        &args(0xffff_ffff)
    ));
    // Every operator.
    for (op, want) in [
        (CmpOp::Eq, [false, true, false]),
        (CmpOp::Ne, [true, false, true]),
        (CmpOp::Lt, [true, false, false]),
        (CmpOp::Le, [true, true, false]),
        (CmpOp::Gt, [false, false, true]),
        (CmpOp::Ge, [false, true, true]),
    ] {
        for (a, w) in [4u64, 5, 6].into_iter().zip(want) {
            assert_eq!(
                condition_holds(&cond(0, Width::U64, None, op, 5), x, &args(a)),
                w,
                "{op:?} {a}"
            );
        }
    }
}

#[test]
fn thirty_two_bit_arches_ignore_the_high_word() {
    let i386 = Arch::X86;
    let garbage = 0xdead_beef_0000_0007;
    assert!(condition_holds(
        &cond(0, Width::U64, None, CmpOp::Eq, 7),
        i386,
        &args(garbage)
    ));
    assert!(!condition_holds(
        &cond(0, Width::U64, None, CmpOp::Gt, 7),
        i386,
        &args(garbage)
    ));
    // A 64-bit constant with a high word never equals a 32-bit argument.
    assert!(!condition_holds(
        &cond(0, Width::U64, None, CmpOp::Eq, u64::MAX),
        i386,
        &args(u64::MAX)
    ));
    assert!(condition_holds(
        &cond(0, Width::I32, None, CmpOp::Eq, u64::MAX),
        i386,
        &args(u64::MAX)
    ));
    let p = policy(
        vec![Arch::X86_64, Arch::X86],
        vec![rule(
            &["read"],
            vec![cond(0, Width::U64, None, CmpOp::Eq, 7)],
            Action::Allow,
        )],
    );
    let r = resolve(&p).unwrap();
    assert_eq!(
        evaluate(&r, Arch::X86.audit_arch(), 3, &args(garbage)),
        Action::Allow
    );
    assert_eq!(
        evaluate(&r, AUDIT_ARCH_X86_64, 0, &args(garbage)),
        Action::Errno(1)
    );
}

#[test]
fn bad_arch_and_x32() {
    let mut p = policy(
        vec![Arch::X86_64],
        vec![rule(&["read"], vec![], Action::Allow)],
    );
    let r = resolve(&p).unwrap();
    assert_eq!(
        evaluate(&r, Arch::X86.audit_arch(), 3, &args(0)),
        Action::KillProcess
    );
    assert_eq!(
        evaluate(&r, Arch::Aarch64.audit_arch(), 63, &args(0)),
        Action::KillProcess
    );
    assert_eq!(
        evaluate(&r, AUDIT_ARCH_X86_64, X32_SYSCALL_BIT, &args(0)),
        Action::KillProcess
    );
    assert_eq!(
        decide(&r, AUDIT_ARCH_X86_64, X32_SYSCALL_BIT | 1, &args(0)).reason,
        Reason::BadArch
    );
    assert_eq!(evaluate(&r, AUDIT_ARCH_X86_64, 0, &args(0)), Action::Allow);
    assert_eq!(
        evaluate(&r, AUDIT_ARCH_X86_64, u32::MAX, &args(0)),
        Action::Errno(1),
        "nr -1 is not x32 (as in libseccomp)"
    );
    p.allow_x32 = true;
    let r = resolve(&p).unwrap();
    assert_eq!(
        evaluate(&r, AUDIT_ARCH_X86_64, X32_SYSCALL_BIT, &args(0)),
        Action::Errno(1)
    );
}

#[test]
fn resolve_errors_name_the_arch_and_suggest() {
    let p = policy(
        vec![Arch::X86_64],
        vec![
            rule(&["read"], vec![], Action::Allow),
            Rule {
                arches: Vec::new(),
                syscalls: vec![SyscallRef {
                    name: "gettimeofdy".into(),
                    optional: false,
                }],
                conditions: vec![],
                action: Action::Allow,
            },
        ],
    );
    match resolve(&p).unwrap_err() {
        ResolveError::UnknownSyscall {
            rule: 1,
            syscall: 0,
            arch: Arch::X86_64,
            suggestions,
            ..
        } => {
            assert_eq!(suggestions[0], "gettimeofday")
        }
        e => panic!("{e:?}"),
    }
    let p = policy(
        vec![Arch::X86_64],
        vec![rule(
            &["read"],
            vec![cond(0, Width::U32, None, CmpOp::Eq, 1 << 32)],
            Action::Allow,
        )],
    );
    assert!(matches!(
        resolve(&p),
        Err(ResolveError::ValueOutOfRange {
            rule: 0,
            condition: 0,
            ..
        })
    ));
    let p = policy(
        vec![Arch::X86_64],
        vec![rule(
            &["read"],
            vec![cond(0, Width::I32, None, CmpOp::Eq, 1 << 31)],
            Action::Allow,
        )],
    );
    assert!(matches!(
        resolve(&p),
        Err(ResolveError::ValueOutOfRange { .. })
    ));
    let p = policy(
        vec![Arch::X86_64],
        vec![rule(
            &["read"],
            vec![cond(6, Width::U64, None, CmpOp::Eq, 0)],
            Action::Allow,
        )],
    );
    assert!(matches!(
        resolve(&p),
        Err(ResolveError::ArgIndex { arg: 6, .. })
    ));
    assert_eq!(
        resolve(&policy(vec![], vec![])),
        Err(ResolveError::NoArches)
    );
}

/// Argument values around the edges the semantics care about.
trait Interesting {
    fn interesting(&mut self) -> u64;
}

impl Interesting for Rng {
    fn interesting(&mut self) -> u64 {
        match self.below(6) {
            0 => self.below(8),
            1 => (self.below(8) as i64 - 4) as u64,
            2 => self.next_u64() & 0xffff_ffff,
            3 => (self.below(8) << 32) | self.below(8),
            4 => 0x8000_0000 + self.below(3) - 1,
            _ => self.next_u64(),
        }
    }
}

/// The semantics restated naively: widen/truncate everything to i128 and
/// compare.
fn naive(p: &Policy, arch: Arch, nr: u32, a: &[u64; 6]) -> Action {
    for r in &p.rules {
        if !r.arches.is_empty() && !r.arches.contains(&arch) {
            continue;
        }
        if !r
            .syscalls
            .iter()
            .any(|s| arch.syscall_nr(&s.name) == Some(nr))
        {
            continue;
        }
        let all = r.conditions.iter().all(|c| {
            let raw = if arch.is_64bit() {
                a[c.arg as usize]
            } else {
                a[c.arg as usize] as u32 as u64
            };
            let m = c.mask.unwrap_or(!0);
            let (x, v): (i128, i128) = match c.width {
                Width::U64 => ((raw & m) as i128, c.value as i128),
                Width::U32 => (((raw & m) as u32) as i128, (c.value as u32) as i128),
                // The high word as seccomp_data holds it, on every arch.
                Width::Hi32 => (
                    ((a[c.arg as usize] >> 32) as u32 & m as u32) as i128,
                    (c.value as u32) as i128,
                ),
                Width::I32 => (
                    ((raw & m) as u32 as i32) as i128,
                    (c.value as u32 as i32) as i128,
                ),
            };
            match c.op {
                CmpOp::Eq => x == v,
                CmpOp::Ne => x != v,
                CmpOp::Lt => x < v,
                CmpOp::Le => x <= v,
                CmpOp::Gt => x > v,
                CmpOp::Ge => x >= v,
            }
        });
        if all {
            return r.action;
        }
    }
    p.default
}

#[test]
fn evaluate_agrees_with_a_naive_statement_on_generated_policies() {
    let seed = testkit::seed("evaluate_agrees_with_a_naive_statement", 0x5eed_0001);
    let mut rng = Rng::new(seed);
    let names = ["read", "write", "openat", "close", "mmap", "socket"];
    let ops = [
        CmpOp::Eq,
        CmpOp::Ne,
        CmpOp::Lt,
        CmpOp::Le,
        CmpOp::Gt,
        CmpOp::Ge,
    ];
    let actions = [
        Action::Allow,
        Action::Log,
        Action::Errno(3),
        Action::Trap(1),
        Action::KillThread,
    ];
    for round in 0..200 {
        let mut rules = Vec::new();
        for _ in 0..rng.below(6) + 1 {
            let n: Vec<&str> = names
                .iter()
                .copied()
                .filter(|_| rng.below(3) == 0)
                .collect();
            let mut conds = Vec::new();
            for _ in 0..rng.below(3) {
                let width =
                    [Width::U64, Width::U32, Width::I32, Width::Hi32][rng.below(4) as usize];
                let mut value = rng.interesting();
                if width != Width::U64 {
                    value = if width == Width::I32 {
                        value as u32 as i32 as i64 as u64
                    } else {
                        value & 0xffff_ffff
                    };
                }
                let mask = (rng.below(3) == 0).then(|| {
                    if width == Width::U64 {
                        rng.interesting()
                    } else {
                        rng.next_u64() & 0xffff_ffff
                    }
                });
                conds.push(cond(
                    rng.below(6) as u8,
                    width,
                    mask,
                    ops[rng.below(6) as usize],
                    value,
                ));
            }
            let mut r = rule(
                if n.is_empty() { &names[..1] } else { &n },
                conds,
                actions[rng.below(5) as usize],
            );
            if rng.below(4) == 0 {
                r.arches = [Arch::X86_64, Arch::X86, Arch::Aarch64]
                    .into_iter()
                    .filter(|_| rng.below(2) == 0)
                    .collect();
            }
            rules.push(r);
        }
        let p = policy(vec![Arch::X86_64, Arch::X86, Arch::Aarch64], rules);
        let r = resolve(&p).unwrap();
        for _ in 0..300 {
            let arch = p.arches[rng.below(3) as usize];
            let name = names[rng.below(names.len() as u64) as usize];
            let nr = arch.syscall_nr(name).unwrap();
            let a = [0; 6].map(|_: u64| rng.interesting());
            assert_eq!(
                evaluate(&r, arch.audit_arch(), nr, &a),
                naive(&p, arch, nr, &a),
                "seed {seed:#x} round {round} arch {arch:?} nr {nr} args {a:x?}"
            );
        }
    }
}
