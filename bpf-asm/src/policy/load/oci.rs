//! OCI runtime-spec / Docker / Podman seccomp profiles (JSON), imported so
//! that the policy decides exactly what libseccomp decides when runc loads
//! the profile Docker hands it.
//!
//! # What Docker and runc do (and this loader reproduces)
//!
//! 1. **Architectures** (moby `setupSeccomp`): with `archMap`, the entry whose
//!    `architecture` is the native one contributes it and its
//!    `subArchitectures`; a legacy `architectures` list is used as is. libseccomp
//!    always covers the native architecture. Architectures without a syscall
//!    table here (x32, MIPS N32) are left out: their calls get `bad_arch`.
//! 2. **Entries** are kept or dropped per `includes`/`excludes` (moby):
//!    excluded if the native architecture (Go name: `amd64`, `arm64`, `x86`,
//!    …) is in `excludes.arches`, any capability of `excludes.caps` is held,
//!    or the kernel is at least `excludes.minKernel`; kept only if the native
//!    architecture is in `includes.arches` (when given), every capability of
//!    `includes.caps` is held, and the kernel is at least `includes.minKernel`.
//! 3. **Actions** (runc `getAction`): `SCMP_ACT_KILL`/`KILL_THREAD` →
//!    `kill_thread`, `KILL_PROCESS`, `TRAP` → `trap(0)`, `ERRNO` →
//!    `errno(errnoRet or EPERM)`, `TRACE` → `trace(errnoRet or EPERM)`,
//!    `ALLOW`, `LOG`, `NOTIFY` → `user_notif`. runc **skips an entry whose
//!    action equals the default action**. The bad-architecture action is
//!    libseccomp's default, `kill_thread`.
//! 4. **Rules per name** (runc `matchCall`): unknown names are skipped (per
//!    architecture: names are optional). Arguments become one libseccomp rule
//!    (all conditions must hold) unless two conditions test the same argument
//!    index: then each condition is a rule of its own (any may hold).
//!    Operators: `SCMP_CMP_EQ/NE/LT/LE/GT/GE` compare the full 64 bits
//!    (`u64`), `SCMP_CMP_MASKED_EQ` is `(arg & value) == (valueTwo & value)`
//!    (libseccomp masks the datum too).
//!
//! # How libseccomp combines rules of one syscall, and the translation
//!
//! Our rules are "first match wins"; libseccomp builds a decision tree per
//! syscall. Measured on libseccomp 2.5.4 and read in its `src/db.c`
//! (`db_rule_add`):
//!
//! * An **unconditional** rule makes the syscall unconditional: it replaces
//!   conditional rules added before it, and rules added after it are dropped.
//!   So the first unconditional rule of a syscall decides alone; it is the
//!   only rule emitted for that syscall.
//! * **Conditional rules with one action** are OR'ed: any matching rule gives
//!   the action. Emitted in file order (order does not matter).
//! * **Conditional rules with different actions** that overlap are decided by
//!   the tree order, not the file order: at each level libseccomp tries the
//!   "greatest" comparison first: higher argument index first, then
//!   `==`/`!=`/masked `==` before `<`/`<=` before `>`/`>=`, then for `<`/`<=`
//!   the smaller constant first and otherwise the larger. The rules are
//!   emitted sorted that way (conditions compared in argument order; a rule
//!   that is a prefix of another comes first). libseccomp refuses some
//!   overlaps outright (a rule followed by its own prefix with another
//!   action: `EEXIST`, runc fails); those are not detected.
//!
//! Known differences: libseccomp's multiplexed `socketcall`/`ipc` rules on
//! 32-bit x86 (it adds `socketcall(SYS_*)` rules for socket calls) are not
//! reproduced; on 32-bit architectures libseccomp compares only the low word
//! of a constant, so constants of 2^32 and above may decide differently there;
//! runc's `-ENOSYS` stub for syscalls newer than the profile (patchbpf) is not
//! reproduced.

use std::cmp::Ordering;
use std::string::{String, ToString};
use std::vec::Vec;
use std::{format, vec};

use serde::Deserialize;

use super::json_pos::{locate, Seg};
use super::{check_resolves, error_at, json_syntax_error, LoadError};
use crate::policy::resolve::ResolveError;
use crate::policy::{Action, CmpOp, Condition, Policy, Rule, SyscallRef, Width};
use crate::seccomp::Arch;

/// Docker's default capability set (moby `oci/caps/defaults.go`,
/// `DefaultCapabilities`): what a container gets without `--cap-add`.
pub const DOCKER_DEFAULT_CAPS: [&str; 14] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];

/// How an OCI/Docker profile is evaluated.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct OciOptions {
    /// Capabilities the container holds (bounding set), e.g. `CAP_SYS_ADMIN`.
    pub caps: Vec<String>,
    /// Kernel version `(major, minor)` for `minKernel`.
    pub kernel: (u32, u32),
    /// The native architecture; `None` means the host's.
    pub arch: Option<Arch>,
}

impl Default for OciOptions {
    /// Docker's default capabilities, the running kernel, the host
    /// architecture.
    fn default() -> Self {
        OciOptions {
            caps: DOCKER_DEFAULT_CAPS.iter().map(|c| c.to_string()).collect(),
            kernel: running_kernel().unwrap_or((0, 0)),
            arch: None,
        }
    }
}

/// The running kernel's `(major, minor)`, from `uname -r`
/// (`/proc/sys/kernel/osrelease`).
pub fn running_kernel() -> Option<(u32, u32)> {
    let s = std::fs::read_to_string("/proc/sys/kernel/osrelease").ok()?;
    parse_kernel(s.trim())
}

/// Parses `MAJOR.MINOR[.anything]`.
pub fn parse_kernel(s: &str) -> Option<(u32, u32)> {
    let mut it = s.split(['.', '-']);
    let major = it.next()?.parse().ok()?;
    let minor = it.next()?.parse().ok()?;
    Some((major, minor))
}

/// The architecture names Docker matches `includes.arches` against (Go's
/// names as moby's `goToNative` maps them).
pub fn native_name(arch: Arch) -> &'static str {
    match arch {
        Arch::X86_64 => "amd64",
        Arch::Aarch64 => "arm64",
        other => other.name(),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProfileT {
    default_action: String,
    #[serde(default)]
    default_errno_ret: Option<u32>,
    #[serde(default)]
    architectures: Option<Vec<String>>,
    #[serde(default)]
    arch_map: Option<Vec<ArchMapT>>,
    #[serde(default)]
    syscalls: Option<Vec<SyscallT>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ArchMapT {
    architecture: String,
    #[serde(default)]
    sub_architectures: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SyscallT {
    #[serde(default)]
    names: Option<Vec<String>>,
    #[serde(default)]
    name: Option<String>,
    action: String,
    #[serde(default)]
    errno_ret: Option<u32>,
    #[serde(default)]
    args: Option<Vec<ArgT>>,
    #[serde(default)]
    includes: Option<FilterT>,
    #[serde(default)]
    excludes: Option<FilterT>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ArgT {
    index: u32,
    value: u64,
    #[serde(default)]
    value_two: u64,
    op: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct FilterT {
    #[serde(default)]
    caps: Option<Vec<String>>,
    #[serde(default)]
    arches: Option<Vec<String>>,
    #[serde(default)]
    min_kernel: Option<String>,
}

/// A merged rule: (entry, sub-rule, rank in its syscall's order), the rule,
/// the names it applies to.
type Emitted = ((usize, usize, usize), ScmpRule, Vec<String>);

/// One libseccomp rule as runc adds it, before merging.
#[derive(Clone)]
struct ScmpRule {
    entry: usize,
    sub: usize,
    conditions: Vec<Condition>,
    action: Action,
}

/// Loads an OCI/Docker profile (see the module docs); `file` names it in
/// errors.
pub fn load(text: &str, file: &str, opts: &OciOptions) -> Result<Policy, LoadError> {
    let p: ProfileT = serde_json::from_str(text).map_err(|e| json_syntax_error(file, text, &e))?;
    let at = |path: &[Seg<'_>], msg: String| error_at(file, text, locate(text, path), msg);
    let native = match opts.arch.or_else(Arch::host) {
        Some(a) => a,
        None => {
            return Err(at(
                &[],
                "the host architecture is unknown: choose one".into(),
            ))
        }
    };
    let default = action(&p.default_action, p.default_errno_ret)
        .map_err(|m| at(&[Seg::Key("defaultAction")], m))?;

    // Architectures: native first, then the profile's.
    let mut arches = vec![native];
    let mut add_arch = |name: &str, path: &[Seg<'_>]| -> Result<(), LoadError> {
        match Arch::from_name(name) {
            Some(a) => {
                if !arches.contains(&a) {
                    arches.push(a);
                }
                Ok(())
            }
            None if is_known_scmp_arch(name) => Ok(()),
            None => Err(at(path, format!("unknown architecture `{name}`"))),
        }
    };
    if p.architectures.as_ref().is_some_and(|a| !a.is_empty())
        && p.arch_map.as_ref().is_some_and(|a| !a.is_empty())
    {
        return Err(at(
            &[Seg::Key("archMap")],
            "both `architectures` and `archMap` are given; use one".into(),
        ));
    }
    for (i, a) in p.architectures.iter().flatten().enumerate() {
        add_arch(a, &[Seg::Key("architectures"), Seg::Index(i)])?;
    }
    for (i, m) in p.arch_map.iter().flatten().enumerate() {
        let main = Arch::from_name(&m.architecture);
        if main != Some(native) {
            if main.is_none() && !is_known_scmp_arch(&m.architecture) {
                return Err(at(
                    &[Seg::Key("archMap"), Seg::Index(i), Seg::Key("architecture")],
                    format!("unknown architecture `{}`", m.architecture),
                ));
            }
            continue;
        }
        for (j, s) in m.sub_architectures.iter().flatten().enumerate() {
            add_arch(
                s,
                &[
                    Seg::Key("archMap"),
                    Seg::Index(i),
                    Seg::Key("subArchitectures"),
                    Seg::Index(j),
                ],
            )?;
        }
    }

    // Entries → libseccomp rules per syscall name, in file order.
    let native_go = native_name(native);
    let mut per_name: Vec<(String, Vec<ScmpRule>)> = Vec::new();
    for (ei, e) in p.syscalls.iter().flatten().enumerate() {
        let epath = [Seg::Key("syscalls"), Seg::Index(ei)];
        let names: Vec<String> = match (&e.name, &e.names) {
            (Some(_), Some(n)) if !n.is_empty() => {
                return Err(at(
                    &epath,
                    "both `name` and `names` are given; use one".into(),
                ))
            }
            (Some(n), _) => vec![n.clone()],
            (None, Some(n)) => n.clone(),
            (None, None) => Vec::new(),
        };
        let kept = keep_entry(e, native_go, opts).map_err(|(key, m)| {
            at(
                &[epath[0], epath[1], Seg::Key(key), Seg::Key("minKernel")],
                m,
            )
        })?;
        if !kept {
            continue;
        }
        let act = action(&e.action, e.errno_ret)
            .map_err(|m| at(&[epath[0], epath[1], Seg::Key("action")], m))?;
        if act == default {
            continue;
        }
        let mut conds = Vec::new();
        let mut seen = [0u32; 6];
        for (ai, a) in e.args.iter().flatten().enumerate() {
            let apath = [epath[0], epath[1], Seg::Key("args"), Seg::Index(ai)];
            if a.index > 5 {
                return Err(at(
                    &[apath[0], apath[1], apath[2], apath[3], Seg::Key("index")],
                    format!("argument index {} out of range (0 to 5)", a.index),
                ));
            }
            seen[a.index as usize] += 1;
            conds.push(
                condition(a).map_err(|m| {
                    at(&[apath[0], apath[1], apath[2], apath[3], Seg::Key("op")], m)
                })?,
            );
        }
        let groups: Vec<Vec<Condition>> = if seen.iter().any(|&n| n > 1) {
            conds.into_iter().map(|c| vec![c]).collect()
        } else {
            vec![conds]
        };
        for name in names {
            let name = name.trim().to_string();
            if name.is_empty() {
                return Err(at(
                    &[epath[0], epath[1], Seg::Key("names")],
                    "empty syscall name".into(),
                ));
            }
            if name.starts_with(|c: char| c.is_ascii_digit()) {
                // libseccomp resolves names only (numbers are a TOML
                // extension): like any name it does not know, runc skips it.
                continue;
            }
            let slot = match per_name.iter().position(|(n, _)| *n == name) {
                Some(i) => i,
                None => {
                    per_name.push((name, Vec::new()));
                    per_name.len() - 1
                }
            };
            for (sub, g) in groups.iter().enumerate() {
                per_name[slot].1.push(ScmpRule {
                    entry: ei,
                    sub,
                    conditions: g.clone(),
                    action: act,
                });
            }
        }
    }

    // Merge per name as libseccomp does, then group names by source rule.
    let mut emitted: Vec<Emitted> = Vec::new();
    for (name, rules) in per_name {
        for (rank, r) in merge(rules).into_iter().enumerate() {
            let key = (r.entry, r.sub, rank);
            match emitted
                .iter_mut()
                .find(|(k, _, _)| (k.0, k.1) == (key.0, key.1))
            {
                Some((_, _, names)) => names.push(name.clone()),
                None => emitted.push((key, r, vec![name.clone()])),
            }
        }
    }
    // Rules of different syscalls never interact: any order that keeps each
    // syscall's merged order works. Sort by (rank, entry, sub).
    emitted.sort_by_key(|(k, _, _)| (k.2, k.0, k.1));
    let rules = emitted
        .into_iter()
        .map(|(_, r, names)| Rule {
            arches: Vec::new(),
            syscalls: names
                .into_iter()
                .map(|name| SyscallRef {
                    name,
                    optional: true,
                })
                .collect(),
            conditions: r.conditions,
            action: r.action,
        })
        .collect();
    let policy = Policy {
        default,
        arches,
        allow_x32: false,
        bad_arch: Action::KillThread,
        rules,
        tests: Vec::new(),
        enosys: Default::default(),
        flags: Default::default(),
        listener: None,
    };
    check_resolves(&policy, file, text, |_: &ResolveError| 0)?;
    Ok(policy)
}

/// Whether moby keeps the entry; `Err((includes|excludes, message))` for a
/// malformed `minKernel`.
fn keep_entry(
    e: &SyscallT,
    native: &str,
    opts: &OciOptions,
) -> Result<bool, (&'static str, String)> {
    let has = |c: &String| opts.caps.iter().any(|o| o.eq_ignore_ascii_case(c));
    let kernel_at_least = |key: &'static str, v: &str| -> Result<bool, (&'static str, String)> {
        let want = parse_kernel(v.trim())
            .ok_or((key, format!("`{v}` is not a kernel version MAJOR.MINOR")))?;
        Ok(opts.kernel >= want)
    };
    if let Some(x) = &e.excludes {
        if x.arches.iter().flatten().any(|a| a == native) || x.caps.iter().flatten().any(has) {
            return Ok(false);
        }
        if let Some(k) = &x.min_kernel {
            if kernel_at_least("excludes", k)? {
                return Ok(false);
            }
        }
    }
    if let Some(i) = &e.includes {
        if let Some(a) = &i.arches {
            if !a.is_empty() && !a.iter().any(|a| a == native) {
                return Ok(false);
            }
        }
        if !i.caps.iter().flatten().all(has) {
            return Ok(false);
        }
        if let Some(k) = &i.min_kernel {
            if !kernel_at_least("includes", k)? {
                return Ok(false);
            }
        }
    }
    Ok(true)
}

/// libseccomp architecture names without a table here.
fn is_known_scmp_arch(name: &str) -> bool {
    let n = name.to_ascii_uppercase();
    let n = n.strip_prefix("SCMP_ARCH_").unwrap_or(&n);
    matches!(
        n,
        "X32"
            | "MIPS64N32"
            | "MIPSEL64N32"
            | "PARISC"
            | "PARISC64"
            | "S390"
            | "SH"
            | "SHEB"
            | "M68K"
    )
}

/// An OCI action with its errno/trace data (runc `getAction`).
fn action(name: &str, errno_ret: Option<u32>) -> Result<Action, String> {
    let data = |d: Option<u32>| -> Result<u16, String> {
        let v = d.unwrap_or(1);
        u16::try_from(v).map_err(|_| format!("errnoRet {v} does not fit in 16 bits"))
    };
    Ok(match name {
        "SCMP_ACT_KILL" | "SCMP_ACT_KILL_THREAD" => Action::KillThread,
        "SCMP_ACT_KILL_PROCESS" => Action::KillProcess,
        "SCMP_ACT_TRAP" => Action::Trap(0),
        "SCMP_ACT_ERRNO" => Action::Errno(data(errno_ret)?),
        "SCMP_ACT_TRACE" => Action::Trace(data(errno_ret)?),
        "SCMP_ACT_ALLOW" => Action::Allow,
        "SCMP_ACT_LOG" => Action::Log,
        "SCMP_ACT_NOTIFY" => Action::UserNotif,
        other => {
            return Err(format!(
                "unknown action `{other}` (expected SCMP_ACT_KILL, SCMP_ACT_KILL_THREAD, SCMP_ACT_KILL_PROCESS, SCMP_ACT_TRAP, SCMP_ACT_ERRNO, SCMP_ACT_TRACE, SCMP_ACT_ALLOW, SCMP_ACT_LOG or SCMP_ACT_NOTIFY)"
            ))
        }
    })
}

fn condition(a: &ArgT) -> Result<Condition, String> {
    let plain = |op| Condition {
        arg: a.index as u8,
        width: Width::U64,
        mask: None,
        op,
        value: a.value,
    };
    Ok(match a.op.as_str() {
        "SCMP_CMP_EQ" => plain(CmpOp::Eq),
        "SCMP_CMP_NE" => plain(CmpOp::Ne),
        "SCMP_CMP_LT" => plain(CmpOp::Lt),
        "SCMP_CMP_LE" => plain(CmpOp::Le),
        "SCMP_CMP_GT" => plain(CmpOp::Gt),
        "SCMP_CMP_GE" => plain(CmpOp::Ge),
        "SCMP_CMP_MASKED_EQ" => Condition {
            arg: a.index as u8,
            width: Width::U64,
            mask: Some(a.value),
            op: CmpOp::Eq,
            value: a.value_two & a.value,
        },
        other => {
            return Err(format!(
                "unknown operator `{other}` (expected SCMP_CMP_EQ, NE, LT, LE, GT, GE or MASKED_EQ)"
            ))
        }
    })
}

/// libseccomp's combination of the rules of one syscall, as an ordered
/// first-match list (see the module docs).
fn merge(rules: Vec<ScmpRule>) -> Vec<ScmpRule> {
    if let Some(u) = rules.iter().find(|r| r.conditions.is_empty()) {
        return vec![u.clone()];
    }
    let mut rules = rules;
    let one_action = rules.windows(2).all(|w| w[0].action == w[1].action);
    if !one_action {
        for r in &mut rules {
            r.conditions.sort_by_key(|c| c.arg);
        }
        rules.sort_by(|a, b| tree_order(&a.conditions, &b.conditions));
    }
    rules
}

/// Order in which libseccomp's tree tries two rules: the greater chain first;
/// a prefix before its extensions.
fn tree_order(a: &[Condition], b: &[Condition]) -> Ordering {
    for (x, y) in a.iter().zip(b) {
        match node_key(y).cmp(&node_key(x)) {
            Ordering::Equal => continue,
            o => return o,
        }
    }
    a.len().cmp(&b.len())
}

/// `_db_chain_lt`'s order of a comparison node, as a sortable key.
fn node_key(c: &Condition) -> (u8, u8, u64) {
    let (prio, datum) = match (c.op, c.mask) {
        (CmpOp::Eq | CmpOp::Ne, _) => (3, c.value),
        (CmpOp::Lt | CmpOp::Le, _) => (2, !c.value),
        (CmpOp::Gt | CmpOp::Ge, _) => (1, c.value),
    };
    (c.arg, prio, datum)
}
