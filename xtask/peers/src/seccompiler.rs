//! The `seccompiler` crate (rust-vmm, used by Firecracker) as a peer: our
//! resolved policy expressed as one `SeccompFilter`, where that is possible.
//!
//! A `SeccompFilter` has one architecture (others kill the process), one
//! action for matching calls and one for the rest, and per syscall a list of
//! rules that are OR'ed (an empty list matches always). Conditions compare
//! 32 (`Dword`) or 64 (`Qword`) bits unsigned, `masked_eq` masks both sides.
//! So a policy is expressible when, on x86_64, every rule has the same
//! action (not the default), every action is one seccompiler has (`trap`
//! without data, no `user_notif`), and every condition is an unsigned
//! comparison, a signed 32-bit `==`/`!=`, or a masked `==` whose value lies
//! inside its mask.

use std::collections::BTreeMap;

use crate::Error;

use ::seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule, TargetArch,
};
use bpf_asm::policy::resolve::ArchRules;
use bpf_asm::policy::{Action, CmpOp, Condition, Width};
use bpf_asm::SockFilter;

/// Our action as seccompiler's, or why it has none.
fn action(a: Action) -> Result<SeccompAction, String> {
    Ok(match a {
        Action::Allow => SeccompAction::Allow,
        Action::Log => SeccompAction::Log,
        Action::KillProcess => SeccompAction::KillProcess,
        Action::KillThread => SeccompAction::KillThread,
        Action::Trap(0) => SeccompAction::Trap,
        Action::Errno(n) => SeccompAction::Errno(u32::from(n)),
        Action::Trace(n) => SeccompAction::Trace(u32::from(n)),
        other => return Err(format!("it has no `{other}` action")),
    })
}

/// Our condition as seccompiler's, or why it has none.
fn condition(c: &Condition) -> Result<SeccompCondition, String> {
    let (len, value) = match c.width {
        Width::U64 => (SeccompCmpArgLen::Qword, c.value),
        Width::U32 => (SeccompCmpArgLen::Dword, c.value & 0xffff_ffff),
        Width::I32 if matches!(c.op, CmpOp::Eq | CmpOp::Ne) => {
            (SeccompCmpArgLen::Dword, c.value & 0xffff_ffff)
        }
        Width::I32 => return Err("it has no signed comparisons".into()),
        Width::Hi32 => return Err("it has no comparisons of the high word alone".into()),
    };
    let op = match (c.mask, c.op) {
        (Some(m), CmpOp::Eq) if value & !m == 0 => SeccompCmpOp::MaskedEq(m),
        (Some(_), _) => return Err("its masks only go with `==` on values inside the mask".into()),
        (None, CmpOp::Eq) => SeccompCmpOp::Eq,
        (None, CmpOp::Ne) => SeccompCmpOp::Ne,
        (None, CmpOp::Lt) => SeccompCmpOp::Lt,
        (None, CmpOp::Le) => SeccompCmpOp::Le,
        (None, CmpOp::Gt) => SeccompCmpOp::Gt,
        (None, CmpOp::Ge) => SeccompCmpOp::Ge,
    };
    SeccompCondition::new(c.arg, len, op, value).map_err(|e| e.to_string())
}

/// Builds the seccompiler program for the x86_64 rules of a policy with
/// default action `default`; [`Error::Inexpressible`] says why seccompiler
/// cannot express it.
pub fn build(rules: &ArchRules, default: Action) -> Result<Vec<SockFilter>, Error> {
    build_program(rules, default).map_err(Error::Inexpressible)
}

fn build_program(rules: &ArchRules, default: Action) -> Result<Vec<SockFilter>, String> {
    let mut actions: Vec<Action> = Vec::new();
    for r in &rules.rules {
        if !actions.contains(&r.action) {
            actions.push(r.action);
        }
    }
    let matched = match actions.as_slice() {
        [] => None,
        [a] if *a != default => Some(*a),
        [_] => return Err("its rules only repeat the default action".into()),
        many => {
            let names: Vec<String> = many.iter().map(|a| a.to_string()).collect();
            return Err(format!(
                "it needs {} different actions ({}) and a filter has one match action",
                many.len(),
                names.join(", ")
            ));
        }
    };
    let mismatch = action(default)?;
    // With no rule at all any other action serves as the (unused) match action.
    let on_match = match matched {
        Some(a) => action(a)?,
        None if mismatch == SeccompAction::Allow => SeccompAction::KillProcess,
        None => SeccompAction::Allow,
    };
    let mut map: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
    for (nr, chain) in rules.syscalls() {
        let mut list = Vec::new();
        let mut always = false;
        for r in chain {
            if r.conditions.is_empty() {
                always = true;
                break;
            }
            let conds = r
                .conditions
                .iter()
                .map(condition)
                .collect::<Result<Vec<_>, _>>()?;
            list.push(SeccompRule::new(conds).map_err(|e| e.to_string())?);
        }
        if always {
            list.clear();
        }
        map.insert(i64::from(nr), list);
    }
    let filter = SeccompFilter::new(map, mismatch, on_match, TargetArch::x86_64)
        .map_err(|e| e.to_string())?;
    let prog: BpfProgram = filter
        .try_into()
        .map_err(|e: ::seccompiler::BackendError| e.to_string())?;
    Ok(prog
        .into_iter()
        .map(|f| SockFilter {
            code: f.code,
            jt: f.jt,
            jf: f.jf,
            k: f.k,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use bpf_asm::policy::eval::evaluate;
    use bpf_asm::policy::load::{load_str, Format, LoadOptions};
    use bpf_asm::policy::resolve::resolve;
    use bpf_asm::seccomp::AUDIT_ARCH_X86_64;
    use bpf_asm::Endian;
    use bpf_vm::data::SeccompData;
    use bpf_vm::emu::run;

    fn policy(text: &str) -> bpf_asm::policy::Policy {
        let opts = LoadOptions {
            format: Some(Format::Toml),
            ..LoadOptions::default()
        };
        load_str(text, "test.toml", &opts).expect("test policy loads")
    }

    /// A one-action policy with every expressible condition kind decides
    /// like the reference semantics on x86_64 calls.
    #[test]
    fn expressible_policy_decides_like_ours() {
        let p = policy(
            r#"
            default = "errno(1)"
            arches = ["x86_64"]
            [[rule]]
            syscalls = ["read", "write"]
            action = "allow"
            [[rule]]
            syscalls = ["socket"]
            when = ["arg0 == 2", "arg1:u32 < 5"]
            action = "allow"
            [[rule]]
            syscalls = ["socket"]
            when = ["arg0 & 0xff00 == 0x100", "arg2 >= 0x100000000"]
            action = "allow"
            [[rule]]
            syscalls = ["clone"]
            when = ["arg0:i32 != -1"]
            action = "allow"
            "#,
        );
        let r = resolve(&p).expect("resolves");
        let prog =
            build(r.arch(AUDIT_ARCH_X86_64).expect("x86_64"), r.default).expect("expressible");
        let values = [
            0u64,
            1,
            2,
            4,
            5,
            0x100,
            0x1ff,
            0x1_0000_0000,
            0xffff_ffff,
            u64::MAX,
        ];
        let mut checked = 0;
        for nr in [0u32, 1, 41, 56, 57, 100] {
            for &a0 in &values {
                for &a1 in &values {
                    for &a2 in &values {
                        let args = [a0, a1, a2, 0, 0, 0];
                        let want = evaluate(&r, AUDIT_ARCH_X86_64, nr, &args).to_ret();
                        let data = SeccompData::new(nr as i32, AUDIT_ARCH_X86_64).with_args(args);
                        let got = run(&prog, &data, Endian::Little).expect("verifies").ret;
                        assert_eq!(got, want, "nr {nr} args {args:x?}");
                        checked += 1;
                    }
                }
            }
        }
        assert_eq!(checked, 6000);
    }

    /// Two non-default actions, data on `trap`, and ordered signed
    /// comparisons cannot be expressed, and the reason says so.
    #[test]
    fn inexpressible_policies_say_why() {
        let cases = [
            (
                r#"default = "allow"
                arches = ["x86_64"]
                [[rule]]
                syscalls = ["read"]
                action = "errno(1)"
                [[rule]]
                syscalls = ["write"]
                action = "kill_process""#,
                "different actions",
            ),
            (
                r#"default = "allow"
                arches = ["x86_64"]
                [[rule]]
                syscalls = ["read"]
                action = "trap(3)""#,
                "no `trap(3)` action",
            ),
            (
                r#"default = "allow"
                arches = ["x86_64"]
                [[rule]]
                syscalls = ["read"]
                when = ["arg0:i32 < 0"]
                action = "errno(1)""#,
                "signed",
            ),
        ];
        for (text, why) in cases {
            let r = resolve(&policy(text)).expect("resolves");
            let err = build(r.arch(AUDIT_ARCH_X86_64).expect("x86_64"), r.default)
                .expect_err("not expressible")
                .to_string();
            assert!(err.contains(why), "{err:?} should mention {why:?}");
        }
    }
}
