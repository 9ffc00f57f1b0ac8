//! Firecracker's seccompiler JSON: one file holds several named filters
//! (`vmm`, `api`, `vcpu`), each `{"default_action", "filter_action",
//! "filter": [{"syscall", "args": [{"index", "type", "op", "val"}]}]}`.
//!
//! Meaning (seccompiler): a call matches when its syscall is listed by an
//! entry whose conditions all hold (an entry without `args` always holds);
//! entries of one syscall are OR'ed. A match gets `filter_action`, anything
//! else `default_action`. `"type": "dword"` compares the low 32 bits
//! (`u32`), `"qword"` all 64 bits; `"op"` is `eq`, `ne`, `lt`, `le`, `gt`,
//! `ge` or `{"masked_eq": MASK}`. The filter covers one architecture (taken
//! from the options, else the file name such as
//! `x86_64-unknown-linux-musl.json`, else the host); other architectures get
//! `kill_process`.

use std::collections::BTreeMap;
use std::string::String;
use std::vec::Vec;
use std::{format, vec};

use serde::Deserialize;

use super::json_pos::{locate, Seg};
use super::{check_resolves, error_at, json_syntax_error, LoadError, LoadOptions};
use crate::policy::resolve::ResolveError;
use crate::policy::{Action, CmpOp, Condition, Policy, Rule, SyscallRef, Width};
use crate::seccomp::Arch;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FilterT {
    default_action: ActionT,
    filter_action: ActionT,
    #[serde(default)]
    filter: Vec<EntryT>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ActionT {
    Name(String),
    WithData(BTreeMap<String, u32>),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryT {
    syscall: String,
    #[serde(default)]
    args: Option<Vec<ArgT>>,
    #[serde(default)]
    #[allow(dead_code)]
    comment: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ArgT {
    index: u8,
    #[serde(rename = "type")]
    ty: String,
    op: OpT,
    val: u64,
    #[serde(default)]
    #[allow(dead_code)]
    comment: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OpT {
    Name(String),
    Masked(BTreeMap<String, u64>),
}

/// Loads one filter of a Firecracker file (`opts.filter`, needed when the
/// file has several); `file` names it in errors and hints the architecture.
pub fn load(text: &str, file: &str, opts: &LoadOptions) -> Result<Policy, LoadError> {
    let all: BTreeMap<String, FilterT> =
        serde_json::from_str(text).map_err(|e| json_syntax_error(file, text, &e))?;
    let at = |path: &[Seg<'_>], msg: String| error_at(file, text, locate(text, path), msg);
    let names: Vec<&str> = all.keys().map(String::as_str).collect();
    let name = match (&opts.filter, names.as_slice()) {
        (Some(n), _) => n.as_str(),
        (None, [only]) => only,
        (None, _) => {
            return Err(at(
                &[],
                format!(
                    "the file has several filters ({}): choose one",
                    names.join(", ")
                ),
            ))
        }
    };
    let Some(f) = all.get(name) else {
        return Err(at(
            &[],
            format!(
                "no filter `{name}` in the file (it has: {})",
                names.join(", ")
            ),
        ));
    };
    let fpath = Seg::Key(name);
    let arch = opts
        .oci
        .arch
        .or_else(|| arch_from_file_name(file))
        .or_else(Arch::host)
        .ok_or_else(|| at(&[], "the architecture is unknown: choose one".into()))?;
    let default =
        action(&f.default_action).map_err(|m| at(&[fpath, Seg::Key("default_action")], m))?;
    let matched =
        action(&f.filter_action).map_err(|m| at(&[fpath, Seg::Key("filter_action")], m))?;
    let mut rules = Vec::new();
    let mut origins = Vec::new();
    for (i, e) in f.filter.iter().enumerate() {
        let mut conditions = Vec::new();
        for (j, a) in e.args.iter().flatten().enumerate() {
            let apath = [
                fpath,
                Seg::Key("filter"),
                Seg::Index(i),
                Seg::Key("args"),
                Seg::Index(j),
            ];
            let width = match a.ty.as_str() {
                "dword" => Width::U32,
                "qword" => Width::U64,
                other => {
                    return Err(at(
                        &[
                            apath[0],
                            apath[1],
                            apath[2],
                            apath[3],
                            apath[4],
                            Seg::Key("type"),
                        ],
                        format!("unknown type `{other}` (expected dword or qword)"),
                    ))
                }
            };
            let (op, mask) = match &a.op {
                OpT::Name(n) => (
                    match n.as_str() {
                        "eq" => CmpOp::Eq,
                        "ne" => CmpOp::Ne,
                        "lt" => CmpOp::Lt,
                        "le" => CmpOp::Le,
                        "gt" => CmpOp::Gt,
                        "ge" => CmpOp::Ge,
                        other => {
                            return Err(at(&[apath[0], apath[1], apath[2], apath[3], apath[4], Seg::Key("op")],
                                format!("unknown operator `{other}` (expected eq, ne, lt, le, gt, ge or {{\"masked_eq\": MASK}})")))
                        }
                    },
                    None,
                ),
                OpT::Masked(m) => match (m.len(), m.get("masked_eq")) {
                    (1, Some(&mask)) => (CmpOp::Eq, Some(mask)),
                    _ => {
                        return Err(at(&[apath[0], apath[1], apath[2], apath[3], apath[4], Seg::Key("op")],
                            "expected {\"masked_eq\": MASK}".into()))
                    }
                },
            };
            conditions.push(Condition {
                arg: a.index,
                width,
                mask,
                op,
                value: a.val,
            });
            origins.push(apath);
        }
        if e.syscall.starts_with(|c: char| c.is_ascii_digit()) {
            // Our TOML accepts numbers; seccompiler resolves names only.
            return Err(at(
                &[
                    fpath,
                    Seg::Key("filter"),
                    Seg::Index(i),
                    Seg::Key("syscall"),
                ],
                format!(
                    "`{}` is not a syscall name (seccompiler takes names only)",
                    e.syscall
                ),
            ));
        }
        rules.push(Rule {
            arches: Vec::new(),
            syscalls: vec![SyscallRef {
                name: e.syscall.clone(),
                optional: false,
            }],
            conditions,
            action: matched,
        });
    }
    let policy = Policy {
        default,
        arches: vec![arch],
        allow_x32: false,
        bad_arch: Action::KillProcess,
        rules,
        tests: Vec::new(),
        enosys: Default::default(),
        flags: Default::default(),
        listener: None,
    };
    check_resolves(&policy, file, text, |e| {
        let path: Vec<Seg<'_>> = match *e {
            ResolveError::UnknownSyscall { rule, .. }
            | ResolveError::BadNumber { rule, .. }
            | ResolveError::RuleArch { rule, .. } => vec![
                fpath,
                Seg::Key("filter"),
                Seg::Index(rule),
                Seg::Key("syscall"),
            ],
            ResolveError::ArgIndex {
                rule, condition, ..
            }
            | ResolveError::ValueOutOfRange {
                rule, condition, ..
            }
            | ResolveError::MaskOutOfRange {
                rule, condition, ..
            } => {
                vec![
                    fpath,
                    Seg::Key("filter"),
                    Seg::Index(rule),
                    Seg::Key("args"),
                    Seg::Index(condition),
                ]
            }
            ResolveError::NoArches => vec![],
        };
        locate(text, &path)
    })?;
    let _ = origins;
    Ok(policy)
}

/// The architecture a file name such as `aarch64-unknown-linux-musl.json`
/// names, if any.
pub fn arch_from_file_name(file: &str) -> Option<Arch> {
    let base = file.rsplit(['/', '\\']).next()?;
    Arch::from_name(base.split('-').next()?)
}

fn action(a: &ActionT) -> Result<Action, String> {
    match a {
        ActionT::Name(n) => Action::parse(n).map_err(|e| format!("`{n}`: {e}")),
        ActionT::WithData(m) => {
            let (k, &v) = m
                .iter()
                .next()
                .filter(|_| m.len() == 1)
                .ok_or("expected an action such as \"allow\" or {\"errno\": N}")?;
            let v = u16::try_from(v).map_err(|_| format!("{v} does not fit in 16 bits"))?;
            match k.as_str() {
                "errno" => Ok(Action::Errno(v)),
                "trace" => Ok(Action::Trace(v)),
                "trap" => Ok(Action::Trap(v)),
                other => Err(format!("unknown action `{other}`")),
            }
        }
    }
}
