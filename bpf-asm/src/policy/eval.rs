//! The meaning of a policy, written independently of the compiler: what
//! action a call gets. Compiled filters must agree with [`evaluate`] on every
//! input.
//!
//! # Semantics
//!
//! Given `seccomp_data` with `arch` (an `AUDIT_ARCH_*` value), `nr` (the
//! 32-bit syscall number as the filter loads it) and `args[0..6]` (64-bit):
//!
//! 1. **Architecture.** If `arch` is not one of the policy's architectures,
//!    the result is `bad_arch`.
//! 2. **x32.** If `arch` is `AUDIT_ARCH_X86_64` and `nr` has bit 30 set
//!    (`__X32_SYSCALL_BIT`, an x32 call) but is not `-1` (`0xffff_ffff`, the
//!    number a ptracer sets to skip a call; libseccomp lets it through to
//!    the rules too): the result is `bad_arch` unless the
//!    policy sets `allow_x32`. With `allow_x32` the call goes through the
//!    x86_64 rules *with its number unchanged*; since no x86_64 syscall number
//!    has bit 30 set, no rule names it and it gets the default action.
//! 3. **Rules.** The rules naming `nr` on that architecture (a rule whose
//!    [`arches`](super::Rule::arches) leave the architecture out does not
//!    exist there) are tried in file order; the first whose conditions all hold decides (a rule without
//!    conditions always holds). If none does, the result is `default`.
//!
//! A **condition** `argN[:WIDTH] [& MASK] OP VALUE` ([`condition_holds`]):
//!
//! * The argument is `args[N]` on 64-bit architectures. On 32-bit
//!   architectures only the low word exists: the argument is the low word
//!   zero-extended; the high word is ignored (for compat tasks on a 64-bit
//!   kernel it holds garbage).
//! * [`Width::U64`]: `(arg & MASK) OP VALUE` on unsigned 64-bit integers
//!   (no mask: all ones). On a 32-bit architecture a constant with a non-zero
//!   high word can therefore never equal the argument (`arg0 == -1` never
//!   holds there; write `arg0:i32 == -1` or `arg0:u32 == -1` instead).
//! * [`Width::U32`]: `(low32(arg) & low32(MASK)) OP low32(VALUE)` on
//!   unsigned 32-bit integers.
//! * [`Width::I32`]: the same low words, compared as signed 32-bit integers
//!   (`arg0:i32 < 0` holds for `0xffff_ffff_8000_0000` and for
//!   `0x0000_0000_ffff_ffff`).
//! * [`Width::Hi32`]: `(high32(args[N]) & low32(MASK)) OP low32(VALUE)` on
//!   unsigned 32-bit integers, where `high32` is the upper word of
//!   `seccomp_data.args[N]` as the kernel fills it, **on every
//!   architecture**: on 32-bit architectures this is the word the other
//!   widths ignore (0 on native 32-bit kernels, the register's upper half
//!   for compat tasks).
//!
//! Constants written negative are sign-extended to 64 bits (`-100` is
//! `0xffff_ffff_ffff_ff9c`); the 32-bit widths use their low word.

use alloc::vec;
use alloc::vec::Vec;

use super::resolve::{ArchRules, Resolved};
use super::{Action, CmpOp, Condition, Width};
use crate::seccomp::{Arch, AUDIT_ARCH_X86_64, X32_SYSCALL_BIT};

/// Why a call got its action.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Reason {
    /// The architecture is not covered (or the call is an x32 call).
    BadArch,
    /// Rule number `index` of the policy (its position in `Policy::rules`)
    /// matched first.
    Rule(usize),
    /// No rule matched.
    Default,
}

/// The action for a call and why (see the module docs for the semantics).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Decision {
    /// The action.
    pub action: Action,
    /// Which part of the policy decided.
    pub reason: Reason,
}

/// The action `policy` gives a call from `audit_arch` to syscall `nr` with
/// `args`.
pub fn evaluate(policy: &Resolved, audit_arch: u32, nr: u32, args: &[u64; 6]) -> Action {
    decide(policy, audit_arch, nr, args).action
}

/// Like [`evaluate`], also telling which part of the policy decided.
pub fn decide(policy: &Resolved, audit_arch: u32, nr: u32, args: &[u64; 6]) -> Decision {
    match dispatch(policy, audit_arch, nr) {
        Dispatch::Decided(d) => d,
        Dispatch::Rules(rules) => decide_in(rules, policy.default, nr, args),
    }
}

/// What decides a call once its architecture and number are known.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Dispatch<'a> {
    /// The call gets this decision whatever its arguments (steps 1 and 2
    /// of the semantics).
    Decided(Decision),
    /// The rules of this architecture decide (step 3):
    /// [`decide_in`]`(rules, policy.default, nr, args)`.
    Rules(&'a ArchRules),
}

/// The part of [`decide`] that does not look at the arguments (see
/// [`Dispatch`]).
pub fn dispatch(policy: &Resolved, audit_arch: u32, nr: u32) -> Dispatch<'_> {
    let bad_arch = Decision {
        action: policy.bad_arch,
        reason: Reason::BadArch,
    };
    let Some(rules) = policy.arch(audit_arch) else {
        return Dispatch::Decided(bad_arch);
    };
    if audit_arch == AUDIT_ARCH_X86_64 && is_x32(nr) && !policy.allow_x32 {
        return Dispatch::Decided(bad_arch);
    }
    Dispatch::Rules(rules)
}

/// The syscall numbers at which [`dispatch`] can change for numbers that
/// no rule names: the policy's *number atoms* besides the named numbers.
///
/// Contract, which `bpf_vm::prove` relies on so that it never enumerates
/// numbers: the result is sorted, without duplicates, and starts with 0;
/// for any two numbers that no rule of the architecture names and that lie
/// in the same interval `cuts[i] ..= cuts[i + 1] - 1` (the last interval
/// ends at `u32::MAX`), [`dispatch`] returns the same value. For an
/// architecture the policy does not cover the result is `[0]`. Every part of
/// the semantics that treats unnamed numbers differently (the x32 bit, the
/// ENOSYS modes) adds its boundaries here.
///
/// The prover also relies on this: a call that no rule matches gets a
/// decision that depends on its architecture and number only, never on its
/// arguments.
pub fn number_cuts(policy: &Resolved, audit_arch: u32) -> Vec<u32> {
    let mut cuts = vec![0];
    if policy.arch(audit_arch).is_none() {
        return cuts;
    }
    if audit_arch == AUDIT_ARCH_X86_64 && !policy.allow_x32 {
        // `is_x32`: bit 30 set, except -1.
        cuts.extend([
            X32_SYSCALL_BIT,
            0x8000_0000,
            0x8000_0000 | X32_SYSCALL_BIT,
            u32::MAX,
        ]);
    }
    cuts.sort_unstable();
    cuts.dedup();
    cuts
}

/// Whether an x86_64 syscall number is an x32 call: bit 30 set, except
/// `-1` (see the module docs).
pub const fn is_x32(nr: u32) -> bool {
    nr & X32_SYSCALL_BIT != 0 && nr != u32::MAX
}

/// The rule part of [`decide`]: the first rule of `rules` naming `nr` whose
/// conditions hold, else `default`.
pub fn decide_in(rules: &ArchRules, default: Action, nr: u32, args: &[u64; 6]) -> Decision {
    for rule in rules.rules_for(nr) {
        if rule
            .conditions
            .iter()
            .all(|c| condition_holds(c, rules.arch, args))
        {
            return Decision {
                action: rule.action,
                reason: Reason::Rule(rule.index),
            };
        }
    }
    Decision {
        action: default,
        reason: Reason::Default,
    }
}

/// Whether `cond` holds for a call on `arch` with `args` (see the module
/// docs). An argument index above 5 never holds.
pub fn condition_holds(cond: &Condition, arch: Arch, args: &[u64; 6]) -> bool {
    let Some(&raw) = args.get(usize::from(cond.arg)) else {
        return false;
    };
    let arg = if arch.is_64bit() {
        raw
    } else {
        raw & 0xffff_ffff
    };
    let mask = cond.mask.unwrap_or(u64::MAX);
    match cond.width {
        Width::U64 => compare(arg & mask, cond.op, cond.value),
        Width::U32 => compare(arg as u32 & mask as u32, cond.op, cond.value as u32),
        Width::Hi32 => compare((raw >> 32) as u32 & mask as u32, cond.op, cond.value as u32),
        Width::I32 => compare(
            (arg as u32 & mask as u32) as i32,
            cond.op,
            cond.value as u32 as i32,
        ),
    }
}

fn compare<T: Ord>(a: T, op: CmpOp, b: T) -> bool {
    match op {
        CmpOp::Eq => a == b,
        CmpOp::Ne => a != b,
        CmpOp::Lt => a < b,
        CmpOp::Le => a <= b,
        CmpOp::Gt => a > b,
        CmpOp::Ge => a >= b,
    }
}
