//! Building a [`Policy`] in Rust: the typed counterpart of the TOML format.
//!
//! ```
//! use bpf_asm::policy::build::{arg, on};
//! use bpf_asm::policy::{Action, Enosys, Policy};
//! use bpf_asm::Arch;
//!
//! const EPERM: u16 = 1;
//! const O_ACCMODE: u64 = 0o3;
//! const O_RDONLY: u64 = 0;
//! const AF_UNIX: u32 = 1;
//!
//! let policy = Policy::builder(Action::Errno(EPERM))
//!     .arches([Arch::X86_64, Arch::Aarch64])
//!     .enosys(Enosys::Runc)
//!     .allow(["read", "write", "close", "exit_group"])
//!     // Opening files read-only, and nothing else.
//!     .rule(on(["openat"]).when(arg(2).masked(O_ACCMODE).eq(O_RDONLY)).allow())
//!     // Unix sockets only: `domain` is an int, so only its low half counts.
//!     .rule(on(["socket"]).when(arg(0).u32().ne(AF_UNIX)).then(Action::Errno(97)))
//!     .allow(["socket"])
//!     // A relative path from the current directory: AT_FDCWD is -100.
//!     .rule(on(["unlinkat"]).when(arg(0).i32().eq(-100)).allow())
//!     // x86_64 only: arch_prctl(ARCH_SET_FS).
//!     .rule(on(["arch_prctl"]).only_on([Arch::X86_64]).when(arg(0).eq(0x1002)).allow())
//!     .expect("openat", [-100, 0, 0], Action::Allow)
//!     .expect_on(Arch::Aarch64, "openat", [-100, 0, 1], Action::Errno(EPERM))
//!     .build()?;
//! assert_eq!(policy.rules.len(), 6);
//! # Ok::<(), bpf_asm::policy::build::BuildError>(())
//! ```
//!
//! The builder writes the same model the loaders produce, so everything
//! downstream (`resolve`, `compile`, `eval`, the prover, the lints) treats
//! both alike. [`PolicyBuilder::build`] checks what the model cannot express
//! and resolves every name on every architecture, so a mistake is an error
//! there, with the rule it is in, rather than later:
//!
//! * a rule with no syscall, or one naming the same syscall twice; a rule
//!   restricted to an architecture the policy does not cover;
//! * an architecture listed twice, or no architecture when the host's is
//!   unknown (without [`PolicyBuilder::arch`] the policy covers the host, as
//!   a TOML policy without `arches` does);
//! * a syscall name that is not one ([`ResolveError`] for names unknown on an
//!   architecture, with suggestions; [`on`]'s names may be marked optional
//!   with [`RuleBuilder::optional`]);
//! * an argument index above 5, a constant that does not fit the comparison
//!   width, a mask wider than a 32-bit comparison (see [`Condition`]);
//! * an [`expect`](PolicyBuilder::expect) with a bad name, more than six
//!   arguments or an architecture the policy does not list.

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

use super::resolve::{resolve, ResolveError};
use super::{
    Action, CmpOp, Condition, Enosys, Listener, Policy, PolicyTest, Rule, SyscallRef, Width,
};
use crate::seccomp::{Arch, Flags};

impl Policy {
    /// A [`PolicyBuilder`] for a policy whose default action is `default`.
    pub fn builder(default: Action) -> PolicyBuilder {
        PolicyBuilder::new(default)
    }
}

/// Builds a [`Policy`] step by step; [`build`](Self::build) checks it.
#[derive(Clone, Debug)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct PolicyBuilder {
    policy: Policy,
}

impl PolicyBuilder {
    /// A builder for a policy whose default action is `default`, with no
    /// rules, the host's architecture, `kill_process` for other
    /// architectures and for x32, no ENOSYS stub, no flags, no listener.
    pub fn new(default: Action) -> PolicyBuilder {
        PolicyBuilder {
            policy: Policy::new(default, Vec::new()),
        }
    }

    /// Adds an architecture the policy covers (the first one added is the
    /// native one for the x32 and ENOSYS rules, as in TOML).
    pub fn arch(mut self, arch: Arch) -> Self {
        self.policy.arches.push(arch);
        self
    }

    /// Adds several architectures, in order.
    pub fn arches(mut self, arches: impl IntoIterator<Item = Arch>) -> Self {
        self.policy.arches.extend(arches);
        self
    }

    /// The action for calls from an architecture the policy does not list
    /// (and for x32 calls unless [`allow_x32`](Self::allow_x32)); default
    /// `kill_process`.
    pub fn bad_arch(mut self, action: Action) -> Self {
        self.policy.bad_arch = action;
        self
    }

    /// Whether x32 calls are treated as x86_64 calls (default: no, they get
    /// the `bad_arch` action).
    pub fn allow_x32(mut self, allow: bool) -> Self {
        self.policy.allow_x32 = allow;
        self
    }

    /// What syscall numbers the policy does not name get beyond the default
    /// (see [`Enosys`]; default [`Enosys::Off`]).
    pub fn enosys(mut self, mode: Enosys) -> Self {
        self.policy.enosys = mode;
        self
    }

    /// `SECCOMP_FILTER_FLAG_*` bits to install the filter with (installers
    /// add `TSYNC` themselves).
    pub fn flags(mut self, flags: Flags) -> Self {
        self.policy.flags = flags;
        self
    }

    /// The seccomp agent that receives the notification listener.
    pub fn listener(mut self, path: &str, metadata: Option<&str>) -> Self {
        self.policy.listener = Some(Listener {
            path: path.to_string(),
            metadata: metadata.map(str::to_string),
        });
        self
    }

    /// Appends a rule; the first matching rule wins. A [`Rule`] comes from
    /// [`on`]`(...).when(...).then(action)`, or is written out.
    pub fn rule(mut self, rule: Rule) -> Self {
        self.policy.rules.push(rule);
        self
    }

    /// Appends a rule allowing `syscalls` whatever their arguments.
    pub fn allow<'a>(self, syscalls: impl IntoIterator<Item = &'a str>) -> Self {
        self.rule(on(syscalls).allow())
    }

    /// Appends a rule giving `syscalls` `action` whatever their arguments.
    pub fn action<'a>(self, syscalls: impl IntoIterator<Item = &'a str>, action: Action) -> Self {
        self.rule(on(syscalls).then(action))
    }

    /// Adds an expectation (a TOML `[[test]]`) on the policy's first
    /// architecture: calling `syscall` with `args` (at most 6, missing ones
    /// 0) gives `expect`. `verify` and the test runner check it.
    pub fn expect<V: Into<Value>>(
        self,
        syscall: &str,
        args: impl IntoIterator<Item = V>,
        expect: Action,
    ) -> Self {
        self.push_expect(None, syscall, args, expect)
    }

    /// [`expect`](Self::expect) on architecture `arch`.
    pub fn expect_on<V: Into<Value>>(
        self,
        arch: Arch,
        syscall: &str,
        args: impl IntoIterator<Item = V>,
        expect: Action,
    ) -> Self {
        self.push_expect(Some(arch), syscall, args, expect)
    }

    fn push_expect<V: Into<Value>>(
        mut self,
        arch: Option<Arch>,
        syscall: &str,
        args: impl IntoIterator<Item = V>,
        expect: Action,
    ) -> Self {
        let n = self.policy.tests.len() + 1;
        self.policy.tests.push(PolicyTest {
            arch,
            syscall: syscall.to_string(),
            args: args.into_iter().map(|v| v.into().0).collect(),
            expect,
            origin: alloc::format!("expectation {n} ({syscall})"),
        });
        self
    }

    /// Checks the policy (see the [module docs](self)) and returns it.
    pub fn build(self) -> Result<Policy, BuildError> {
        let mut policy = self.policy;
        if policy.arches.is_empty() {
            policy
                .arches
                .push(Arch::host().ok_or(BuildError::new(None, BuildErrorKind::NoArch))?);
        }
        for (i, a) in policy.arches.iter().enumerate() {
            if policy.arches[..i].contains(a) {
                return Err(BuildError::new(None, BuildErrorKind::DuplicateArch(*a)));
            }
        }
        for (ri, rule) in policy.rules.iter().enumerate() {
            let err = |kind| BuildError::new(Some(ri), kind);
            if rule.syscalls.is_empty() {
                return Err(err(BuildErrorKind::NoSyscalls));
            }
            for (i, a) in rule.arches.iter().enumerate() {
                if rule.arches[..i].contains(a) {
                    return Err(err(BuildErrorKind::DuplicateArch(*a)));
                }
            }
            for (si, s) in rule.syscalls.iter().enumerate() {
                if !is_name(&s.name) {
                    return Err(err(BuildErrorKind::NotAName(s.name.clone())));
                }
                if rule.syscalls[..si].iter().any(|o| o.name == s.name) {
                    return Err(err(BuildErrorKind::DuplicateSyscall(s.name.clone())));
                }
            }
        }
        for (i, t) in policy.tests.iter().enumerate() {
            let bad = |why: &str| {
                BuildError::new(
                    None,
                    BuildErrorKind::BadExpect {
                        index: i,
                        syscall: t.syscall.clone(),
                        why: why.to_string(),
                    },
                )
            };
            if !is_name(&t.syscall) {
                return Err(bad("not a syscall name"));
            }
            if t.args.len() > 6 {
                return Err(bad("a syscall has at most 6 arguments"));
            }
            if let Some(a) = t.arch.filter(|a| !policy.arches.contains(a)) {
                return Err(bad(&alloc::format!(
                    "architecture {} is not one of the policy's",
                    a.name()
                )));
            }
        }
        resolve(&policy).map_err(|e| {
            let rule = match &e {
                ResolveError::UnknownSyscall { rule, .. }
                | ResolveError::BadNumber { rule, .. }
                | ResolveError::RuleArch { rule, .. }
                | ResolveError::ArgIndex { rule, .. }
                | ResolveError::ValueOutOfRange { rule, .. }
                | ResolveError::MaskOutOfRange { rule, .. } => Some(*rule),
                _ => None,
            };
            BuildError::new(rule, BuildErrorKind::Resolve(e))
        })?;
        Ok(policy)
    }
}

/// Whether `s` can be a syscall name (letters, digits, `_`).
fn is_name(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// The start of a rule: the syscalls it applies to (see [`RuleBuilder`]),
/// by name or as a number in decimal or `0x` hex (`"335"`), which is that
/// number on every architecture the rule applies to.
pub fn on<'a>(syscalls: impl IntoIterator<Item = &'a str>) -> RuleBuilder {
    RuleBuilder {
        arches: Vec::new(),
        syscalls: syscalls
            .into_iter()
            .map(|name| SyscallRef {
                name: name.to_string(),
                optional: false,
            })
            .collect(),
        conditions: Vec::new(),
    }
}

/// A rule without its action yet: syscalls and conditions.
#[derive(Clone, Debug)]
#[must_use = "a rule needs its action: call `then` or `allow`"]
pub struct RuleBuilder {
    arches: Vec<Arch>,
    syscalls: Vec<SyscallRef>,
    conditions: Vec<Condition>,
}

impl RuleBuilder {
    /// Adds syscalls that architectures lacking them skip (every other name
    /// must exist on every architecture of the policy).
    pub fn optional<'a>(mut self, syscalls: impl IntoIterator<Item = &'a str>) -> Self {
        self.syscalls
            .extend(syscalls.into_iter().map(|name| SyscallRef {
                name: name.to_string(),
                optional: true,
            }));
        self
    }

    /// Restricts the rule to these architectures (each one the policy
    /// covers); on the others it does not exist and its names are not
    /// looked up. Without this the rule applies on every architecture.
    pub fn only_on(mut self, arches: impl IntoIterator<Item = Arch>) -> Self {
        self.arches.extend(arches);
        self
    }

    /// Adds a condition; all of them must hold for the rule to match.
    pub fn when(mut self, condition: Condition) -> Self {
        self.conditions.push(condition);
        self
    }

    /// The finished rule, with `action` when it matches.
    pub fn then(self, action: Action) -> Rule {
        Rule {
            arches: self.arches,
            syscalls: self.syscalls,
            conditions: self.conditions,
            action,
        }
    }

    /// The finished rule, allowing the call when it matches.
    pub fn allow(self) -> Rule {
        self.then(Action::Allow)
    }
}

/// Argument `index` (0..=5) of the syscall, compared at the full 64 bits
/// until [`u32`](Arg::u32) or [`i32`](Arg::i32) says otherwise.
pub fn arg(index: u8) -> Arg {
    Arg {
        index,
        width: Width::U64,
        mask: None,
    }
}

/// An argument on the way to a [`Condition`]: which one, at what width,
/// under what mask.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[must_use = "an argument needs a comparison such as `eq`"]
pub struct Arg {
    index: u8,
    width: Width,
    mask: Option<u64>,
}

/// A constant compared with an argument: unsigned values are taken as
/// they are, signed ones sign-extended to 64 bits (so `-100` is `AT_FDCWD`
/// whatever the width).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Value(pub u64);

macro_rules! value_from {
    ($($unsigned:ty),* ; $($signed:ty),*) => {
        $(impl From<$unsigned> for Value {
            fn from(v: $unsigned) -> Value { Value(v as u64) }
        })*
        $(impl From<$signed> for Value {
            fn from(v: $signed) -> Value { Value(v as i64 as u64) }
        })*
    };
}
value_from!(u8, u16, u32, u64, usize; i8, i16, i32, i64, isize);

impl Arg {
    /// Compare the whole 64-bit argument (the default; on 32-bit
    /// architectures the argument is its low word zero-extended).
    pub fn u64(mut self) -> Self {
        self.width = Width::U64;
        self
    }

    /// Compare only the low 32 bits, unsigned (for `int` and `unsigned`
    /// arguments whose upper half the kernel ignores).
    pub fn u32(mut self) -> Self {
        self.width = Width::U32;
        self
    }

    /// Compare only the low 32 bits, as a signed 32-bit integer.
    pub fn i32(mut self) -> Self {
        self.width = Width::I32;
        self
    }

    /// Compare only the high 32 bits, unsigned: the upper word of
    /// `seccomp_data.args[N]` exactly as the kernel fills it (see
    /// [`Width::Hi32`]).
    pub fn hi32(mut self) -> Self {
        self.width = Width::Hi32;
        self
    }

    /// AND the argument with `mask` before comparing.
    pub fn masked(mut self, mask: u64) -> Self {
        self.mask = Some(mask);
        self
    }

    fn cmp(self, op: CmpOp, value: impl Into<Value>) -> Condition {
        Condition {
            arg: self.index,
            width: self.width,
            mask: self.mask,
            op,
            value: value.into().0,
        }
    }

    /// `arg == value`.
    pub fn eq(self, value: impl Into<Value>) -> Condition {
        self.cmp(CmpOp::Eq, value)
    }

    /// `arg != value`.
    pub fn ne(self, value: impl Into<Value>) -> Condition {
        self.cmp(CmpOp::Ne, value)
    }

    /// `arg < value`.
    pub fn lt(self, value: impl Into<Value>) -> Condition {
        self.cmp(CmpOp::Lt, value)
    }

    /// `arg <= value`.
    pub fn le(self, value: impl Into<Value>) -> Condition {
        self.cmp(CmpOp::Le, value)
    }

    /// `arg > value`.
    pub fn gt(self, value: impl Into<Value>) -> Condition {
        self.cmp(CmpOp::Gt, value)
    }

    /// `arg >= value`.
    pub fn ge(self, value: impl Into<Value>) -> Condition {
        self.cmp(CmpOp::Ge, value)
    }
}

/// Why [`PolicyBuilder::build`] refused a policy.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct BuildError {
    /// The rule (from 0, in the order added) the problem is in, if any.
    pub rule: Option<usize>,
    /// What is wrong.
    pub kind: BuildErrorKind,
}

/// The kinds of [`BuildError`].
#[derive(Clone, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub enum BuildErrorKind {
    /// No architecture was given and the host's is unknown.
    NoArch,
    /// An architecture is listed twice (in the policy, or in a rule's
    /// [`only_on`](RuleBuilder::only_on)).
    DuplicateArch(Arch),
    /// A rule names no syscall.
    NoSyscalls,
    /// A syscall name with characters no syscall name has.
    NotAName(String),
    /// A rule names the same syscall twice.
    DuplicateSyscall(String),
    /// An [`expect`](PolicyBuilder::expect) that cannot be checked.
    BadExpect {
        /// Which expectation (from 0, in the order added).
        index: usize,
        /// Its syscall as written.
        syscall: String,
        /// What is wrong.
        why: String,
    },
    /// Resolving names and checking conditions failed.
    Resolve(ResolveError),
}

impl BuildError {
    fn new(rule: Option<usize>, kind: BuildErrorKind) -> BuildError {
        BuildError { rule, kind }
    }
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(r) = self.rule {
            write!(f, "rule {}: ", r + 1)?;
        }
        match &self.kind {
            BuildErrorKind::NoArch => {
                f.write_str("no architecture given and the host's is unknown: add one with `arch`")
            }
            BuildErrorKind::DuplicateArch(a) => {
                write!(f, "architecture {} is listed twice", a.name())
            }
            BuildErrorKind::NoSyscalls => f.write_str("the rule names no syscall"),
            BuildErrorKind::NotAName(n) => write!(f, "`{n}` is not a syscall name"),
            BuildErrorKind::DuplicateSyscall(n) => write!(f, "`{n}` is named twice"),
            BuildErrorKind::BadExpect {
                index,
                syscall,
                why,
            } => write!(f, "expectation {} ({syscall}): {why}", index + 1),
            BuildErrorKind::Resolve(e) => write!(f, "{e}"),
        }
    }
}

impl core::error::Error for BuildError {}
