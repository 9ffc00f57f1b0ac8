//! The native TOML policy format.
//!
//! ```toml
//! default = "errno(EPERM)"      # required: action when no rule matches
//! arches = ["x86_64"]           # default: the host's architecture
//! bad_arch = "kill_process"     # default: kill_process
//!
//! [[rule]]                      # rules are tried in file order
//! syscalls = ["openat"]         # names from the kernel's tables, or numbers ("335", "0x4000003b")
//! when = ["arg2 & 0x3 == 0"]    # all must hold (optional)
//! action = "allow"
//! optional = true               # names missing on an architecture are skipped there
//! arches = ["x86_64"]           # the rule exists only on these (default: every policy arch)
//!
//! [[test]]                      # checked by `verify`
//! call = "openat(-100, 0, 1)"   # optional `arch:` prefix, e.g. "i386:socketcall(1, 0)"
//! expect = "errno(EPERM)"
//! ```
//!
//! Unknown keys are errors. Conditions are `argN[:WIDTH] [& MASK] OP VALUE`
//! (see [`Condition`](crate::policy::Condition) and the parent module for
//! numbers).

use std::format;
use std::ops::Range;
use std::string::{String, ToString};
use std::vec::Vec;

use serde::Deserialize;
use toml::Spanned;

use super::{
    check_resolves, error_at, parse_arch, parse_call, parse_condition, ConditionParts, LoadError,
};
use crate::policy::resolve::{parse_syscall_number, suggest, ResolveError};
use crate::policy::{Action, Policy, PolicyTest, Rule, SyscallRef};
use crate::seccomp::Arch;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileT {
    default: Spanned<String>,
    #[serde(default)]
    arches: Option<Spanned<Vec<Spanned<String>>>>,
    #[serde(default)]
    bad_arch: Option<Spanned<String>>,
    #[serde(default)]
    rule: Vec<RuleT>,
    #[serde(default)]
    test: Vec<TestT>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleT {
    #[serde(default)]
    arches: Option<Spanned<Vec<Spanned<String>>>>,
    syscalls: Spanned<Vec<Spanned<String>>>,
    #[serde(default)]
    when: Vec<Spanned<String>>,
    action: Spanned<String>,
    #[serde(default)]
    optional: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TestT {
    call: Spanned<String>,
    expect: Spanned<String>,
}

/// Where the parts of each rule were written (byte offsets).
#[derive(Default)]
struct RuleSpans {
    arches: Vec<usize>,
    syscalls: Vec<usize>,
    conditions: Vec<(Range<usize>, ConditionParts)>,
}

/// Byte offset of position `off` inside the string value at `span` (the
/// string's start when escapes or multi-line quotes make that inexact).
fn inner(text: &str, span: &Range<usize>, off: usize) -> usize {
    let raw = text.get(span.clone()).unwrap_or("");
    if raw.starts_with("\"\"\"") || raw.starts_with("'''") {
        span.start
    } else if raw.starts_with('\'') || (raw.starts_with('"') && !raw.contains('\\')) {
        span.start + 1 + off
    } else {
        span.start
    }
}

/// Loads a TOML policy (see the module docs); `file` names it in errors.
pub fn load(text: &str, file: &str) -> Result<Policy, LoadError> {
    let f: FileT = ::toml::from_str(text).map_err(|e| {
        let at = e.span().map_or(0, |s| s.start);
        error_at(file, text, at, e.message().trim_end().to_string())
    })?;
    let at = |span: &Range<usize>, off: usize, msg: String| {
        error_at(file, text, inner(text, span, off), msg)
    };
    let action = |s: &Spanned<String>| -> Result<Action, LoadError> {
        Action::parse(s.get_ref()).map_err(|e| at(&s.span(), 0, format!("`{}`: {e}", s.get_ref())))
    };
    let default = action(&f.default)?;
    let bad_arch = match &f.bad_arch {
        Some(b) => action(b)?,
        None => Action::KillProcess,
    };
    let arches_span = f.arches.as_ref().map_or(0..0, |a| a.span());
    let mut arches = Vec::new();
    match &f.arches {
        Some(list) => {
            if list.get_ref().is_empty() {
                return Err(at(
                    &arches_span,
                    0,
                    "`arches` is empty: list at least one architecture".into(),
                ));
            }
            for a in list.get_ref() {
                let arch = parse_arch(a.get_ref()).map_err(|m| at(&a.span(), 0, m))?;
                if !arches.contains(&arch) {
                    arches.push(arch);
                }
            }
        }
        None => match Arch::host() {
            Some(h) => arches.push(h),
            None => {
                return Err(at(
                    &(0..0),
                    0,
                    "no `arches` given and the host architecture is unknown".into(),
                ))
            }
        },
    }
    let mut rules = Vec::new();
    let mut spans: Vec<RuleSpans> = Vec::new();
    for r in &f.rule {
        let mut rs = RuleSpans::default();
        if r.syscalls.get_ref().is_empty() {
            return Err(at(
                &r.syscalls.span(),
                0,
                "`syscalls` is empty: name at least one syscall".into(),
            ));
        }
        let mut rule_arches = Vec::new();
        if let Some(list) = &r.arches {
            if list.get_ref().is_empty() {
                return Err(at(
                    &list.span(),
                    0,
                    "`arches` is empty: list the architectures the rule applies to, or leave the key out for all of them".into(),
                ));
            }
            for a in list.get_ref() {
                let arch = parse_arch(a.get_ref()).map_err(|m| at(&a.span(), 0, m))?;
                if !arches.contains(&arch) {
                    return Err(at(
                        &a.span(),
                        0,
                        format!(
                            "the rule is restricted to {}, which the policy does not cover (its `arches` are {})",
                            arch.name(),
                            arches.iter().map(|a| a.name()).collect::<Vec<_>>().join(", ")
                        ),
                    ));
                }
                if !rule_arches.contains(&arch) {
                    rule_arches.push(arch);
                    rs.arches.push(inner(text, &a.span(), 0));
                }
            }
        }
        let mut syscalls = Vec::new();
        for s in r.syscalls.get_ref() {
            let name = s.get_ref().trim();
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                return Err(at(&s.span(), 0, format!("`{name}` is not a syscall name")));
            }
            if parse_syscall_number(name) == Some(None) {
                return Err(at(
                    &s.span(),
                    0,
                    format!("`{name}` is neither a syscall name nor a syscall number (decimal or 0x hex, 0 to 4294967295)"),
                ));
            }
            rs.syscalls.push(inner(text, &s.span(), 0));
            syscalls.push(SyscallRef {
                name: name.to_string(),
                optional: r.optional,
            });
        }
        let mut conditions = Vec::new();
        for w in &r.when {
            let (c, parts) =
                parse_condition(w.get_ref()).map_err(|e| at(&w.span(), e.offset, e.message))?;
            rs.conditions.push((w.span(), parts));
            conditions.push(c);
        }
        rules.push(Rule {
            arches: rule_arches,
            syscalls,
            conditions,
            action: action(&r.action)?,
        });
        spans.push(rs);
    }
    let mut tests = Vec::new();
    for t in &f.test {
        let span = t.call.span();
        let call = parse_call(t.call.get_ref()).map_err(|e| at(&span, e.offset, e.message))?;
        let arch = call.arch.unwrap_or(arches[0]);
        if super::test_syscall_nr(arch, &call.syscall).is_none() {
            let sugg = suggest(arch, &call.syscall);
            let mut msg = format!("unknown syscall `{}` on {}", call.syscall, arch.name());
            if !sugg.is_empty() {
                msg.push_str(&format!(" (did you mean `{}`?)", sugg.join("`, `")));
            }
            return Err(at(&span, call.syscall_offset, msg));
        }
        let (line, column) = super::line_col(text, inner(text, &span, 0));
        tests.push(PolicyTest {
            arch: call.arch,
            syscall: call.syscall,
            args: call.args,
            expect: action(&t.expect)?,
            origin: format!("{file}:{line}:{column}"),
        });
    }
    let policy = Policy {
        default,
        arches,
        allow_x32: false,
        bad_arch,
        rules,
        tests,
        enosys: Default::default(),
        flags: Default::default(),
        listener: None,
    };
    check_resolves(&policy, file, text, |e| match e {
        ResolveError::NoArches => arches_span.start,
        ResolveError::UnknownSyscall { rule, syscall, .. }
        | ResolveError::BadNumber { rule, syscall, .. } => spans[*rule].syscalls[*syscall],
        ResolveError::RuleArch { rule, index, .. } => spans[*rule].arches[*index],
        ResolveError::ArgIndex {
            rule, condition, ..
        } => {
            let (s, p) = &spans[*rule].conditions[*condition];
            inner(text, s, p.arg)
        }
        ResolveError::ValueOutOfRange {
            rule, condition, ..
        } => {
            let (s, p) = &spans[*rule].conditions[*condition];
            inner(text, s, p.value)
        }
        ResolveError::MaskOutOfRange {
            rule, condition, ..
        } => {
            let (s, p) = &spans[*rule].conditions[*condition];
            inner(text, s, p.mask.unwrap_or(0))
        }
    })?;
    Ok(policy)
}
