//! Seccomp policies: the model (this module), its meaning
//! ([`eval`]), its file formats ([`load`], with the `policy-files` feature)
//! and the compiler to cBPF ([`compile`]).
//!
//! A policy is a default action, the architectures it covers, an action for
//! calls from any other architecture, and rules. A rule names syscalls,
//! conditions on arguments (all must hold) and an action. **The first matching
//! rule in file order wins**; when none matches, the default action applies.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use crate::seccomp::{Arch, Flags};

pub mod action;
pub mod build;
pub mod compile;
pub mod eval;
#[cfg(feature = "policy-files")]
pub mod load;
pub mod resolve;

pub use action::Action;

/// How many bits of an argument a condition compares, and how.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Width {
    /// The whole 64-bit argument, unsigned (the default on 64-bit
    /// architectures). On 32-bit architectures only the low word exists: the
    /// argument is the low word zero-extended.
    U64,
    /// Only the low 32 bits, unsigned (right for `int` and `unsigned`
    /// arguments whose upper half the kernel ignores).
    U32,
    /// Only the low 32 bits, as a signed 32-bit integer.
    I32,
    /// Only the high 32 bits, unsigned: the upper word of
    /// `seccomp_data.args[N]` exactly as the kernel fills it, on every
    /// architecture. On 32-bit architectures that word is not part of the
    /// argument (the other widths ignore it): it is 0 on a native 32-bit
    /// kernel, and for a compat task on a 64-bit kernel it holds the upper
    /// half of the 64-bit register, which is not necessarily 0. Programs
    /// such as libseccomp's test it for 64-bit comparisons; `lift` writes
    /// it for regions that constrain the high word alone.
    Hi32,
}

impl Width {
    /// The name written after `argN:` (`u64`, `u32`, `i32`, `hi32`).
    pub const fn name(self) -> &'static str {
        match self {
            Width::U64 => "u64",
            Width::U32 => "u32",
            Width::I32 => "i32",
            Width::Hi32 => "hi32",
        }
    }

    /// Parses a width name (case-insensitive).
    pub fn parse(s: &str) -> Option<Width> {
        [Width::U64, Width::U32, Width::I32, Width::Hi32]
            .into_iter()
            .find(|w| w.name().eq_ignore_ascii_case(s))
    }

    /// Whether the width compares a single 32-bit word (every width but
    /// [`Width::U64`]): its constant and mask must fit in 32 bits.
    pub const fn is_word(self) -> bool {
        !matches!(self, Width::U64)
    }
}

/// A comparison operator.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum CmpOp {
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

/// `argN[:WIDTH] [& MASK] OP VALUE`.
///
/// Meaning: take argument `arg` (0..=5) at `width` (see [`Width`]), AND it
/// with `mask` when present, and compare it with `value` using `op`. For
/// [`Width::I32`] the masked low word and `value` are compared as `i32`;
/// otherwise as unsigned integers (`u32` for [`Width::U32`] and
/// [`Width::Hi32`], `u64` for [`Width::U64`]). `value` holds the constant
/// as written, sign-extended to 64 bits when it was negative.
///
/// Its [`Display`](fmt::Display) form is the policy syntax, which
/// `load::parse_condition` (with the `policy-files` feature) reads back to the same condition.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Condition {
    /// Argument index, 0..=5.
    pub arg: u8,
    /// Comparison width.
    pub width: Width,
    /// Optional mask applied before the comparison.
    pub mask: Option<u64>,
    /// The operator.
    pub op: CmpOp,
    /// The constant.
    pub value: u64,
}

impl CmpOp {
    /// The operator as written (`==`, `!=`, `<`, `<=`, `>`, `>=`).
    pub const fn symbol(self) -> &'static str {
        match self {
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }

    /// The operator that holds exactly when this one does not.
    pub const fn negate(self) -> CmpOp {
        match self {
            CmpOp::Eq => CmpOp::Ne,
            CmpOp::Ne => CmpOp::Eq,
            CmpOp::Lt => CmpOp::Ge,
            CmpOp::Le => CmpOp::Gt,
            CmpOp::Gt => CmpOp::Le,
            CmpOp::Ge => CmpOp::Lt,
        }
    }
}

/// A constant in policy syntax: negative decimal when it was written
/// negative within the 32-bit signed range, small numbers in decimal, the
/// rest in hex. `load::parse_number` reads each form back to `v`.
fn write_constant(f: &mut fmt::Formatter<'_>, v: u64) -> fmt::Result {
    let s = v as i64;
    if s < 0 && s >= i64::from(i32::MIN) {
        write!(f, "{s}")
    } else if v < 4096 {
        write!(f, "{v}")
    } else {
        write!(f, "{v:#x}")
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "arg{}", self.arg)?;
        if self.width != Width::U64 {
            write!(f, ":{}", self.width.name())?;
        }
        if let Some(m) = self.mask {
            write!(f, " & {m:#x}")?;
        }
        write!(f, " {} ", self.op.symbol())?;
        write_constant(f, self.value)
    }
}

/// A syscall named in a rule.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct SyscallRef {
    /// The name as in the kernel's tables (`openat`), resolved per
    /// architecture through the `syscalls` crate; or a syscall number in
    /// decimal or `0x` hex (`"335"`, `"0x4000003b"`), which is that number
    /// on every architecture the rule applies to (see [`Rule::arches`]):
    /// for numbers a table does not name.
    pub name: String,
    /// When true, architectures that lack the syscall skip it silently;
    /// otherwise an unknown name is an error.
    pub optional: bool,
}

/// One rule: when the call comes from one of `arches`, the syscall is one of
/// `syscalls` and every condition holds, the result is `action`.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Rule {
    /// The architectures the rule applies to, each one the policy covers;
    /// empty means all of them. On the others the rule does not exist (its
    /// names are not even resolved there).
    pub arches: Vec<Arch>,
    /// The syscalls the rule applies to.
    pub syscalls: Vec<SyscallRef>,
    /// Conditions that must all hold.
    pub conditions: Vec<Condition>,
    /// The action when the rule matches.
    pub action: Action,
}

/// An expectation checked by `verify`: calling `syscall(args)` on `arch`
/// gives `expect`.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct PolicyTest {
    /// Architecture; `None` means the policy's first architecture.
    pub arch: Option<Arch>,
    /// Syscall name (or a number written in decimal).
    pub syscall: String,
    /// Arguments; missing ones are 0.
    pub args: Vec<u64>,
    /// The expected action.
    pub expect: Action,
    /// Where the test was written (`file:line:column`), for messages.
    pub origin: String,
}

/// What a syscall number the policy does not name gets, beyond the default
/// action: container runtimes answer `ENOSYS` for syscalls newer than the
/// profile so that libc falls back to older calls (runc's stub).
///
/// The precise meaning of each mode is defined by [`eval`]; the compiler folds
/// it into the syscall-number dispatch and the prover checks it like any rule.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub enum Enosys {
    /// No stub: the default action applies to every unnamed number
    /// (libseccomp alone).
    #[default]
    Off,
    /// runc's stub: per architecture, a number above the highest number the
    /// policy names gets `errno(ENOSYS)` (with runc's exceptions).
    Runc,
    /// [`Enosys::Runc`], and also every number that is not a syscall in the
    /// architecture's table (holes included).
    Unknown,
}

/// A seccomp agent to hand the notification listener to (the OCI runtime
/// spec's `listenerPath` and `listenerMetadata`).
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Listener {
    /// Path of the agent's `AF_UNIX` socket.
    pub path: String,
    /// Opaque metadata passed to the agent with the container state.
    pub metadata: Option<String>,
}

/// A whole policy.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Policy {
    /// Action when no rule matches.
    pub default: Action,
    /// Architectures the policy covers (never empty once loaded).
    pub arches: Vec<Arch>,
    /// Whether x32 calls (x86_64 numbers with bit 30 set) are treated as
    /// x86_64 calls; when false they get `bad_arch`.
    pub allow_x32: bool,
    /// Action for calls from any architecture not in `arches` (and for x32
    /// calls unless `allow_x32`).
    pub bad_arch: Action,
    /// Rules, first match wins.
    pub rules: Vec<Rule>,
    /// Expectations checked by `verify`.
    pub tests: Vec<PolicyTest>,
    /// What unnamed syscall numbers get beyond `default` (see [`Enosys`]).
    pub enosys: Enosys,
    /// `SECCOMP_FILTER_FLAG_*` bits to install the filter with (the OCI
    /// `flags` field); installers add `TSYNC` (and `NEW_LISTENER` when a
    /// listener is used) themselves.
    pub flags: Flags,
    /// The agent that receives the notification listener, if any.
    pub listener: Option<Listener>,
}

impl Policy {
    /// A policy with no rules: `default` for every call on `arches`,
    /// `kill_process` for other architectures and for x32, no ENOSYS stub,
    /// no flags, no listener.
    pub fn new(default: Action, arches: Vec<Arch>) -> Policy {
        Policy {
            default,
            arches,
            allow_x32: false,
            bad_arch: Action::KillProcess,
            rules: Vec::new(),
            tests: Vec::new(),
            enosys: Enosys::Off,
            flags: Flags::NONE,
            listener: None,
        }
    }
}
