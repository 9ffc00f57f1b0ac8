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

use crate::seccomp::{Arch, Flags};

pub mod action;
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
/// otherwise as unsigned integers (`u32` for [`Width::U32`], `u64` for
/// [`Width::U64`]). `value` holds the constant as written, sign-extended to
/// 64 bits when it was negative.
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

/// A syscall named in a rule.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct SyscallRef {
    /// The name as in the kernel's tables (`openat`), resolved per
    /// architecture through the `syscalls` crate.
    pub name: String,
    /// When true, architectures that lack the syscall skip it silently;
    /// otherwise an unknown name is an error.
    pub optional: bool,
}

/// One rule: when the syscall is one of `syscalls` and every condition
/// holds, the result is `action`.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Rule {
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
