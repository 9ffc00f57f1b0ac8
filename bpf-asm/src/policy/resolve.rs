//! Name resolution: a [`Policy`] with syscall *names* becomes a [`Resolved`]
//! policy with syscall *numbers*, per architecture, plus a fast lookup from a
//! syscall number to the rules that name it (in file order).
//!
//! Resolution also checks what the model cannot express by construction:
//!
//! * every syscall name must exist on every listed architecture, unless the
//!   reference is marked optional (then the architectures lacking it skip it);
//!   an unknown name is reported with the architecture and close names
//!   (edit distance);
//! * a syscall written as a number (decimal or `0x` hex) is that number on
//!   every architecture the rule applies to; it must fit in 32 bits;
//! * a rule's own [`arches`](super::Rule::arches) must be architectures the
//!   policy covers; on the others the rule has no syscalls (its names are not
//!   resolved there);
//! * argument indexes are 0..=5;
//! * constants fit the comparison width: [`Width::U32`] and [`Width::Hi32`]
//!   accept `-2147483648..=4294967295` (a negative constant stands for its
//!   low word, e.g. `-1` is `0xffffffff`), [`Width::I32`] accepts
//!   `-2147483648..=2147483647`; masks of 32-bit conditions must fit in 32
//!   bits. Negative constants are stored sign-extended to 64 bits (see
//!   [`Condition`]).
//!
//! The per-number rule chains are *trimmed*: a rule without conditions always
//! matches, so the rules after it in that syscall's chain can never be
//! reached and are left out of the chain (they stay in [`ArchRules::rules`]).

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use super::{Action, Condition, Enosys, Policy, Width};
use crate::seccomp::Arch;

/// A policy whose syscall names are resolved to numbers, per architecture.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Resolved {
    /// Action when no rule matches.
    pub default: Action,
    /// Action for calls from an architecture not covered (and x32 calls
    /// unless `allow_x32`).
    pub bad_arch: Action,
    /// See [`Policy::allow_x32`].
    pub allow_x32: bool,
    /// See [`Policy::enosys`].
    pub enosys: Enosys,
    /// One entry per covered architecture, in the policy's order, without
    /// duplicates.
    pub arches: Vec<ArchRules>,
}

/// The rules of one architecture, with numbers.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ArchRules {
    /// The architecture.
    pub arch: Arch,
    /// Every rule of the policy in file order (rules whose syscalls are all
    /// missing on this architecture have an empty `nrs`).
    pub rules: Vec<ResolvedRule>,
    /// Sorted by number: each syscall named by some rule, with the positions
    /// (in `rules`) of the rules naming it, in order, trimmed after the first
    /// rule without conditions.
    chains: Vec<(u32, Vec<u32>)>,
}

/// One rule with its syscall numbers on one architecture.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ResolvedRule {
    /// Position of the rule in [`Policy::rules`].
    pub index: usize,
    /// The syscall numbers, ascending, without duplicates.
    pub nrs: Vec<u32>,
    /// Conditions that must all hold.
    pub conditions: Vec<Condition>,
    /// The action when the rule matches.
    pub action: Action,
}

impl ResolvedRule {
    /// Whether the rule matches every call to its syscalls (no conditions).
    pub fn is_unconditional(&self) -> bool {
        self.conditions.is_empty()
    }
}

impl ArchRules {
    /// The rules that can decide syscall `nr`, in the order they are tried
    /// (file order; nothing after the first rule without conditions).
    /// Empty when no rule names `nr`: the default action applies.
    pub fn rules_for(&self, nr: u32) -> impl Iterator<Item = &ResolvedRule> + '_ {
        let chain: &[u32] = match self.chains.binary_search_by_key(&nr, |c| c.0) {
            Ok(i) => &self.chains[i].1,
            Err(_) => &[],
        };
        chain.iter().map(move |&r| &self.rules[r as usize])
    }

    /// Every syscall number named by some rule, ascending, with the rules
    /// that can decide it in order (as [`ArchRules::rules_for`]).
    pub fn syscalls(
        &self,
    ) -> impl Iterator<Item = (u32, impl Iterator<Item = &ResolvedRule> + '_)> + '_ {
        self.chains
            .iter()
            .map(move |(nr, chain)| (*nr, chain.iter().map(move |&r| &self.rules[r as usize])))
    }

    /// How many distinct syscall numbers the rules name.
    pub fn syscall_count(&self) -> usize {
        self.chains.len()
    }
}

impl Resolved {
    /// The rules for an `AUDIT_ARCH_*` value, if the policy covers it.
    pub fn arch(&self, audit_arch: u32) -> Option<&ArchRules> {
        self.arches
            .iter()
            .find(|a| a.arch.audit_arch() == audit_arch)
    }
}

/// Why a policy could not be resolved. Indexes point into the policy:
/// `rule` into [`Policy::rules`], `syscall` into that rule's `syscalls`,
/// `condition` into its `conditions`.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum ResolveError {
    /// The policy lists no architecture.
    NoArches,
    /// A syscall name does not exist on an architecture.
    UnknownSyscall {
        /// Rule index.
        rule: usize,
        /// Index in the rule's syscalls.
        syscall: usize,
        /// The name as written.
        name: String,
        /// The architecture lacking it.
        arch: Arch,
        /// Close names on that architecture, best first (at most 3).
        suggestions: Vec<&'static str>,
    },
    /// An argument index above 5.
    ArgIndex {
        /// Rule index.
        rule: usize,
        /// Condition index.
        condition: usize,
        /// The index as written.
        arg: u8,
    },
    /// A syscall written as a number that does not fit in 32 bits.
    BadNumber {
        /// Rule index.
        rule: usize,
        /// Index in the rule's syscalls.
        syscall: usize,
        /// The number as written.
        name: String,
    },
    /// A rule lists an architecture the policy does not cover.
    RuleArch {
        /// Rule index.
        rule: usize,
        /// Index in the rule's `arches`.
        index: usize,
        /// The architecture.
        arch: Arch,
    },
    /// A constant that does not fit the comparison width.
    ValueOutOfRange {
        /// Rule index.
        rule: usize,
        /// Condition index.
        condition: usize,
        /// The constant (sign-extended when written negative).
        value: u64,
        /// The width.
        width: Width,
    },
    /// A mask wider than 32 bits on a 32-bit comparison.
    MaskOutOfRange {
        /// Rule index.
        rule: usize,
        /// Condition index.
        condition: usize,
        /// The mask.
        mask: u64,
        /// The width.
        width: Width,
    },
}

impl fmt::Display for ResolveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResolveError::NoArches => f.write_str("the policy lists no architecture"),
            ResolveError::UnknownSyscall {
                name,
                arch,
                suggestions,
                ..
            } => {
                write!(f, "unknown syscall `{name}` on {}", arch.name())?;
                if let Some((first, rest)) = suggestions.split_first() {
                    write!(f, " (did you mean `{first}`")?;
                    for s in rest {
                        write!(f, ", `{s}`")?;
                    }
                    f.write_str("?)")?;
                }
                f.write_str("; mark the rule `optional = true` if the syscall is missing on some architectures")
            }
            ResolveError::BadNumber { name, .. } => write!(
                f,
                "syscall number `{name}` does not fit in 32 bits (0 to 4294967295)"
            ),
            ResolveError::RuleArch { arch, .. } => write!(
                f,
                "the rule is restricted to {}, which the policy does not cover (add it to the policy's `arches`)",
                arch.name()
            ),
            ResolveError::ArgIndex { arg, .. } => {
                write!(
                    f,
                    "argument index {arg} out of range (syscalls have arguments 0 to 5)"
                )
            }
            ResolveError::ValueOutOfRange { value, width, .. } => {
                let (w, range) = width_text(*width);
                write!(
                    f,
                    "constant {} does not fit a {w} comparison ({range})",
                    show(*value)
                )
            }
            ResolveError::MaskOutOfRange { mask, width, .. } => {
                let (w, _) = width_text(*width);
                write!(
                    f,
                    "mask {mask:#x} is wider than the 32 bits a {w} comparison looks at"
                )
            }
        }
    }
}

fn width_text(w: Width) -> (&'static str, &'static str) {
    match w {
        Width::U64 => ("u64", "0 to 0xffffffffffffffff"),
        Width::U32 => ("u32", "-2147483648 to 4294967295"),
        Width::I32 => ("i32", "-2147483648 to 2147483647"),
        Width::Hi32 => ("hi32", "-2147483648 to 4294967295"),
    }
}

/// A constant as written: negative when it was written negative.
fn show(v: u64) -> String {
    use alloc::format;
    if (v as i64) < 0 && (v as i64) >= i64::from(i32::MIN) {
        format!("{}", v as i64)
    } else {
        format!("{v:#x}")
    }
}

/// Whether `value` fits `width` (see the module docs).
pub fn value_fits(value: u64, width: Width) -> bool {
    let s = value as i64;
    match width {
        Width::U64 => true,
        Width::U32 | Width::Hi32 => {
            value <= u64::from(u32::MAX) || (s < 0 && s >= i64::from(i32::MIN))
        }
        Width::I32 => s >= i64::from(i32::MIN) && s <= i64::from(i32::MAX),
    }
}

/// Resolves every syscall name of `policy` on every architecture it lists and
/// checks its conditions (see the module docs).
pub fn resolve(policy: &Policy) -> Result<Resolved, ResolveError> {
    if policy.arches.is_empty() {
        return Err(ResolveError::NoArches);
    }
    for (ri, rule) in policy.rules.iter().enumerate() {
        if let Some((index, &arch)) = rule
            .arches
            .iter()
            .enumerate()
            .find(|(_, a)| !policy.arches.contains(a))
        {
            return Err(ResolveError::RuleArch {
                rule: ri,
                index,
                arch,
            });
        }
        for (ci, c) in rule.conditions.iter().enumerate() {
            check_condition(ri, ci, c)?;
        }
    }
    let mut arches: Vec<ArchRules> = Vec::new();
    for &arch in &policy.arches {
        if arches.iter().any(|a| a.arch == arch) {
            continue;
        }
        arches.push(resolve_arch(policy, arch)?);
    }
    Ok(Resolved {
        default: policy.default,
        bad_arch: policy.bad_arch,
        allow_x32: policy.allow_x32,
        enosys: policy.enosys,
        arches,
    })
}

fn check_condition(rule: usize, condition: usize, c: &Condition) -> Result<(), ResolveError> {
    if c.arg > 5 {
        return Err(ResolveError::ArgIndex {
            rule,
            condition,
            arg: c.arg,
        });
    }
    if !value_fits(c.value, c.width) {
        return Err(ResolveError::ValueOutOfRange {
            rule,
            condition,
            value: c.value,
            width: c.width,
        });
    }
    if let Some(mask) = c.mask {
        if c.width.is_word() && mask > u64::from(u32::MAX) {
            return Err(ResolveError::MaskOutOfRange {
                rule,
                condition,
                mask,
                width: c.width,
            });
        }
    }
    Ok(())
}

/// Resolves the rules of `policy` for one architecture.
pub fn resolve_arch(policy: &Policy, arch: Arch) -> Result<ArchRules, ResolveError> {
    let mut rules = Vec::with_capacity(policy.rules.len());
    for (index, rule) in policy.rules.iter().enumerate() {
        let applies = rule.arches.is_empty() || rule.arches.contains(&arch);
        let mut nrs = Vec::with_capacity(rule.syscalls.len());
        for (si, s) in rule.syscalls.iter().enumerate().filter(|_| applies) {
            if let Some(number) = parse_syscall_number(&s.name) {
                match number {
                    Some(nr) => nrs.push(nr),
                    None => {
                        return Err(ResolveError::BadNumber {
                            rule: index,
                            syscall: si,
                            name: s.name.clone(),
                        })
                    }
                }
                continue;
            }
            match syscall_nr(arch, &s.name) {
                Some(nr) => nrs.push(nr),
                None if s.optional => {}
                None => {
                    return Err(ResolveError::UnknownSyscall {
                        rule: index,
                        syscall: si,
                        name: s.name.clone(),
                        arch,
                        suggestions: suggest(arch, &s.name),
                    })
                }
            }
        }
        nrs.sort_unstable();
        nrs.dedup();
        rules.push(ResolvedRule {
            index,
            nrs,
            conditions: rule.conditions.clone(),
            action: rule.action,
        });
    }
    let mut pairs: Vec<(u32, u32)> = rules
        .iter()
        .enumerate()
        .flat_map(|(pos, r)| r.nrs.iter().map(move |&nr| (nr, pos as u32)))
        .collect();
    pairs.sort_unstable();
    let mut chains: Vec<(u32, Vec<u32>)> = Vec::new();
    let mut closed = false;
    for (nr, pos) in pairs {
        match chains.last_mut() {
            Some((last, chain)) if *last == nr => {
                if !closed {
                    chain.push(pos);
                }
            }
            _ => {
                closed = false;
                chains.push((nr, alloc::vec![pos]));
            }
        }
        if rules[pos as usize].is_unconditional() {
            closed = true;
        }
    }
    Ok(ArchRules {
        arch,
        rules,
        chains,
    })
}

/// A syscall reference written as a number: `None` when `name` is a name
/// (it does not start with a digit), `Some(None)` when it starts with a
/// digit but is not a decimal or `0x` hex number that fits in 32 bits.
pub fn parse_syscall_number(name: &str) -> Option<Option<u32>> {
    if !name.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let parsed = match name.strip_prefix("0x").or_else(|| name.strip_prefix("0X")) {
        Some(hex) if !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit()) => {
            u32::from_str_radix(hex, 16).ok()
        }
        Some(_) => None,
        None if name.bytes().all(|b| b.is_ascii_digit()) => name.parse().ok(),
        None => None,
    };
    Some(parsed)
}

/// Kernel names the `syscalls` tables spell differently on some
/// architectures (`newfstatat` is `fstatat` in its aarch64 and loongarch64
/// tables). Names only: the numbers still come from the tables.
const ALIASES: [(&str, &str); 1] = [("newfstatat", "fstatat")];

/// The number of `name` on `arch`: a name from the `syscalls` tables, or
/// its spelling in `ALIASES`.
pub fn syscall_nr(arch: Arch, name: &str) -> Option<u32> {
    arch.syscall_nr(name).or_else(|| {
        ALIASES.iter().find_map(|&(a, b)| {
            if name == a {
                arch.syscall_nr(b)
            } else if name == b {
                arch.syscall_nr(a)
            } else {
                None
            }
        })
    })
}

/// Up to three names of `arch` close to `name` (edit distance), best first.
pub fn suggest(arch: Arch, name: &str) -> Vec<&'static str> {
    let limit = (name.len() / 3).max(2);
    let mut scored: Vec<(usize, &'static str)> = arch
        .syscalls()
        .map(|(_, n)| (edit_distance(name, n), n))
        .filter(|&(d, n)| d <= limit || (n.contains(name) && name.len() >= 3))
        .collect();
    scored.sort();
    scored.into_iter().take(3).map(|(_, n)| n).collect()
}

/// Levenshtein distance between two ASCII-ish strings (by bytes).
pub fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = alloc::vec![0; b.len() + 1];
    for (i, &ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(!ca.eq_ignore_ascii_case(&cb));
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        core::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{CmpOp, Rule, SyscallRef};
    use alloc::string::ToString;
    use alloc::vec;

    fn sref(n: &str, optional: bool) -> SyscallRef {
        SyscallRef {
            name: n.to_string(),
            optional,
        }
    }

    fn policy(rules: Vec<Rule>) -> Policy {
        Policy {
            default: Action::Errno(1),
            arches: vec![Arch::X86_64, Arch::Aarch64],
            allow_x32: false,
            bad_arch: Action::KillProcess,
            rules,
            tests: vec![],
            enosys: Default::default(),
            flags: Default::default(),
            listener: None,
        }
    }

    #[test]
    fn chains_follow_file_order_and_stop_after_unconditional_rules() {
        let cond = Condition {
            arg: 0,
            width: Width::U64,
            mask: None,
            op: CmpOp::Eq,
            value: 1,
        };
        let p = policy(vec![
            Rule {
                arches: Vec::new(),
                syscalls: vec![sref("read", false), sref("write", false)],
                conditions: vec![cond],
                action: Action::Allow,
            },
            Rule {
                arches: Vec::new(),
                syscalls: vec![sref("read", false), sref("read", false)],
                conditions: vec![],
                action: Action::Log,
            },
            Rule {
                arches: Vec::new(),
                syscalls: vec![sref("read", false), sref("open", true)],
                conditions: vec![],
                action: Action::KillThread,
            },
        ]);
        let r = resolve(&p).unwrap();
        let x = r.arch(Arch::X86_64.audit_arch()).unwrap();
        let read: Vec<usize> = x.rules_for(0).map(|r| r.index).collect();
        assert_eq!(read, vec![0, 1]);
        assert_eq!(x.rules[1].nrs, vec![0]);
        let write: Vec<usize> = x.rules_for(1).map(|r| r.index).collect();
        assert_eq!(write, vec![0]);
        assert_eq!(x.rules_for(2).count(), 1, "open is x86_64 nr 2");
        assert_eq!(x.rules_for(3).count(), 0);
        let a = r.arch(Arch::Aarch64.audit_arch()).unwrap();
        assert_eq!(a.rules[2].nrs, vec![63], "aarch64 has no open; read is 63");
        assert_eq!(a.syscall_count(), 2);
    }

    #[test]
    fn unknown_names_suggest_close_ones() {
        let p = policy(vec![Rule {
            arches: Vec::new(),
            syscalls: vec![sref("read", false), sref("opnat", false)],
            conditions: vec![],
            action: Action::Allow,
        }]);
        let e = resolve(&p).unwrap_err();
        match &e {
            ResolveError::UnknownSyscall {
                rule: 0,
                syscall: 1,
                arch: Arch::X86_64,
                suggestions,
                ..
            } => assert_eq!(suggestions.first(), Some(&"openat")),
            other => panic!("{other:?}"),
        }
        let text = e.to_string();
        assert!(text.contains("unknown syscall `opnat` on x86_64"), "{text}");
        assert!(text.contains("did you mean `openat`"), "{text}");
        // `open` exists on x86_64 but not on aarch64.
        let p = policy(vec![Rule {
            arches: Vec::new(),
            syscalls: vec![sref("open", false)],
            conditions: vec![],
            action: Action::Allow,
        }]);
        let e = resolve(&p).unwrap_err();
        assert!(
            matches!(&e, ResolveError::UnknownSyscall { arch: Arch::Aarch64, suggestions, .. } if suggestions.contains(&"openat")),
            "{e:?}"
        );
    }

    #[test]
    fn widths_bound_constants_and_masks() {
        let c = |width, value, mask| Condition {
            arg: 0,
            width,
            mask,
            op: CmpOp::Eq,
            value,
        };
        assert!(value_fits(0xffff_ffff, Width::U32));
        assert!(value_fits(-1i64 as u64, Width::U32));
        assert!(!value_fits(0x1_0000_0000, Width::U32));
        assert!(!value_fits(i64::from(i32::MIN) as u64 - 1, Width::U32));
        assert!(value_fits(i32::MIN as i64 as u64, Width::I32));
        assert!(!value_fits(0x8000_0000, Width::I32));
        for (cond, want) in [
            (c(Width::U32, 0x1_0000_0000, None), "ValueOutOfRange"),
            (c(Width::I32, 0x8000_0000, None), "ValueOutOfRange"),
            (c(Width::U32, 0, Some(0x1_0000_0000)), "MaskOutOfRange"),
        ] {
            let p = policy(vec![Rule {
                arches: Vec::new(),
                syscalls: vec![sref("read", false)],
                conditions: vec![cond],
                action: Action::Allow,
            }]);
            let e = resolve(&p).unwrap_err();
            assert!(alloc::format!("{e:?}").starts_with(want), "{e:?}");
        }
        let mut bad = c(Width::U64, 0, None);
        bad.arg = 6;
        let p = policy(vec![Rule {
            arches: Vec::new(),
            syscalls: vec![sref("read", false)],
            conditions: vec![bad],
            action: Action::Allow,
        }]);
        assert_eq!(
            resolve(&p).unwrap_err(),
            ResolveError::ArgIndex {
                rule: 0,
                condition: 0,
                arg: 6
            }
        );
    }

    #[test]
    fn edit_distance_is_levenshtein() {
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("openat", "openat"), 0);
    }
}
