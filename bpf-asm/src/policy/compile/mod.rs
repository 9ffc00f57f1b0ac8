//! The policy compiler: a [`Policy`] to a cBPF seccomp program.
//!
//! # Program structure
//!
//! 1. `ld [4]` and one `jeq` per listed architecture; any other architecture
//!    returns `bad_arch`.
//! 2. Per architecture: `ld [0]`; on x86_64 (unless `allow_x32`) a
//!    `jset #0x40000000` sends x32 numbers to `bad_arch` (all but `-1`,
//!    which a tracer uses to skip a call: it goes through the rules).
//! 3. Syscall-number dispatch in the chosen [`Layout`].
//! 4. Per syscall, its rules in order, each a chain of argument tests with
//!    exact 64-bit semantics (see the `lower` module); the first rule that
//!    matches returns its action, and the default closes the chain.
//!
//! Identical tails are shared (the intermediate form is hash-consed), jumps
//! longer than 255 go through trampolines, and every syscall allowed without
//! conditions is reached through `ld [4]`, `ld [0]` and `K`-jumps only and
//! ends in `ret #0x7fff0000`, which the kernel's action cache (§9.6) accepts.
//! Only `ld [k]`, `and #k`, `jeq/jgt/jset #k` and `ja` are emitted: no
//! scratch memory, no X register.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use super::eval::is_x32;
use super::resolve::{resolve, ArchRules, ResolveError, Resolved, ResolvedRule};
use super::Policy;
use crate::insn::{SockFilter, BPF_JEQ, BPF_JSET};
use crate::seccomp::{Arch, SECCOMP_DATA_ARCH, SECCOMP_DATA_NR, X32_SYSCALL_BIT};

mod cost;
mod emit;
mod ir;
mod layout;
mod lower;
mod profile;
mod simplify;

pub use profile::{ProfileError, ProfileErrorKind};

use ir::{Dag, NodeId, FULL};

/// How the syscall-number dispatch is laid out.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub enum Layout {
    /// One `jeq` per syscall, in policy order (libseccomp's default).
    Linear,
    /// A balanced binary search over the named syscall numbers (libseccomp's
    /// optimize level 2).
    Bintree,
    /// A weighted search over maximal runs of numbers with the same
    /// behaviour, across the whole 32-bit number space.
    Ranges,
    /// The layout with the fewest instructions executed per call (weighted by
    /// the profile when given), program size breaking ties.
    #[default]
    Auto,
}

impl Layout {
    /// Every layout, `Auto` last.
    pub const ALL: [Layout; 4] = [
        Layout::Linear,
        Layout::Bintree,
        Layout::Ranges,
        Layout::Auto,
    ];

    /// The layouts `Auto` chooses from.
    pub const CONCRETE: [Layout; 3] = [Layout::Linear, Layout::Bintree, Layout::Ranges];

    /// The name used on the command line.
    pub const fn name(self) -> &'static str {
        match self {
            Layout::Linear => "linear",
            Layout::Bintree => "bintree",
            Layout::Ranges => "ranges",
            Layout::Auto => "auto",
        }
    }

    /// Parses a name (`linear`, `bintree`, `ranges`, `auto`; case-insensitive).
    pub fn parse(s: &str) -> Option<Layout> {
        Layout::ALL
            .into_iter()
            .find(|l| l.name().eq_ignore_ascii_case(s.trim()))
    }
}

impl fmt::Display for Layout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Relative call frequencies, by syscall name (for example counts from
/// `strace -c`). Syscalls not listed weigh nothing beyond a small floor.
/// [`Profile::parse`] reads the text form that `--profile` files use.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct Profile {
    /// `(syscall name, relative frequency)`.
    pub weights: Vec<(String, u64)>,
}

/// Options of [`compile`].
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct CompileOptions {
    /// The dispatch layout.
    pub layout: Layout,
    /// Call frequencies for the cost model; `None` weighs every syscall of
    /// the table the same.
    pub profile: Option<Profile>,
}

/// Why a policy could not be compiled.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum CompileError {
    /// A syscall name, argument index or constant is wrong (see the inner error).
    Resolve(ResolveError),
    /// The program would have more than 4096 instructions.
    TooLong {
        /// The layout that was tried.
        layout: Layout,
        /// Instructions emitted before giving up.
        len: usize,
    },
    /// The compiler produced an inconsistent layout (a bug; please report it).
    Internal(&'static str),
}

impl fmt::Display for CompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CompileError::Resolve(e) => e.fmt(f),
            CompileError::TooLong { layout, len } => write!(
                f,
                "the {layout} layout needs more than 4096 instructions ({len} so far); try another layout or split the policy"
            ),
            CompileError::Internal(why) => write!(f, "internal compiler error: {why}"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for CompileError {}

impl From<ResolveError> for CompileError {
    fn from(e: ResolveError) -> Self {
        CompileError::Resolve(e)
    }
}

/// A compiled program and the layout it uses.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Compiled {
    /// The program.
    pub program: Vec<SockFilter>,
    /// The layout used (never [`Layout::Auto`]: the one `Auto` chose).
    pub layout: Layout,
}

/// Compiles `policy` into a seccomp program.
pub fn compile(policy: &Policy, opts: &CompileOptions) -> Result<Vec<SockFilter>, CompileError> {
    compile_resolved(&resolve(policy)?, opts).map(|c| c.program)
}

/// Compiles an already resolved policy, telling which layout was used.
pub fn compile_resolved(
    resolved: &Resolved,
    opts: &CompileOptions,
) -> Result<Compiled, CompileError> {
    if opts.layout != Layout::Auto {
        return build(resolved, opts, opts.layout).map(|program| Compiled {
            program,
            layout: opts.layout,
        });
    }
    let arches: Vec<Arch> = resolved.arches.iter().map(|a| a.arch).collect();
    let weights = Weights::new(opts.profile.as_ref());
    let sample = cost::sample(&arches, &|a, nr| weights.of(a, nr), weights.floor);
    let mut best: Option<(u64, Compiled)> = None;
    let mut last_err = None;
    for layout in Layout::CONCRETE {
        match build(resolved, opts, layout) {
            Ok(program) => {
                let score = cost::score(&program, &sample).ok_or(CompileError::Internal(
                    "emitted an instruction the cost model cannot run",
                ))?;
                if best.as_ref().is_none_or(|(s, _)| score < *s) {
                    best = Some((score, Compiled { program, layout }));
                }
            }
            Err(e) => last_err = Some(e),
        }
    }
    match (best, last_err) {
        (Some((_, c)), _) => Ok(c),
        (None, Some(e)) => Err(e),
        (None, None) => Err(CompileError::Internal("no layout produced a program")),
    }
}

/// Per-syscall weights of the cost model.
struct Weights<'a> {
    profile: Option<&'a Profile>,
    /// Weight of a syscall with no profile entry.
    floor: u64,
}

/// Weight of every syscall when there is no profile.
const UNIFORM: u64 = 4;

impl<'a> Weights<'a> {
    fn new(profile: Option<&'a Profile>) -> Self {
        match profile {
            None => Weights {
                profile: None,
                floor: UNIFORM,
            },
            Some(p) => Weights {
                profile: Some(p),
                floor: 1,
            },
        }
    }

    fn of(&self, arch: Arch, nr: u32) -> u64 {
        let Some(p) = self.profile else {
            return UNIFORM;
        };
        let listed = arch
            .syscall_name(nr)
            .and_then(|name| p.weights.iter().find(|(n, _)| n == name).map(|(_, w)| *w));
        // Scale so that the floor of unlisted syscalls stays small.
        listed.map_or(self.floor, |w| {
            w.saturating_mul(64).saturating_add(self.floor)
        })
    }
}

fn build(
    resolved: &Resolved,
    opts: &CompileOptions,
    layout: Layout,
) -> Result<Vec<SockFilter>, CompileError> {
    let weights = Weights::new(opts.profile.as_ref());
    let mut dag = Dag::new();
    let bad_arch = dag.ret(resolved.bad_arch.to_ret());
    let default = dag.ret(resolved.default.to_ret());
    let mut root = bad_arch;
    for rules in resolved.arches.iter().rev() {
        let x32_guard = rules.arch == Arch::X86_64 && !resolved.allow_x32;
        let dispatch = dispatch(&mut dag, rules, default, x32_guard, layout, &weights);
        let block = if x32_guard {
            // x32 numbers (bit 30) are foreign, except -1, which a tracer
            // sets to skip a call and which goes through the rules.
            let minus_one = dag.test(SECCOMP_DATA_NR, FULL, BPF_JEQ, u32::MAX, dispatch, bad_arch);
            dag.test(
                SECCOMP_DATA_NR,
                FULL,
                BPF_JSET,
                X32_SYSCALL_BIT,
                minus_one,
                dispatch,
            )
        } else {
            dispatch
        };
        root = dag.test(
            SECCOMP_DATA_ARCH,
            FULL,
            BPF_JEQ,
            rules.arch.audit_arch(),
            block,
            root,
        );
    }
    let root = simplify::simplify(&mut dag, root);
    emit::emit(&dag, root).map_err(|e| match e {
        emit::EmitError::TooLong(len) => CompileError::TooLong { layout, len },
        emit::EmitError::Unplaced(_) => CompileError::Internal("a jump target was not placed"),
    })
}

/// The dispatch on the syscall number for one architecture.
fn dispatch(
    dag: &mut Dag,
    rules: &ArchRules,
    default: NodeId,
    x32_guard: bool,
    layout: Layout,
    weights: &Weights<'_>,
) -> NodeId {
    let arch = rules.arch;
    // Behaviour of every named syscall (sorted by number).
    let mut sorted: Vec<(u32, NodeId)> = Vec::new();
    for (nr, chain) in rules.syscalls() {
        if x32_guard && is_x32(nr) {
            continue; // unreachable behind the x32 guard
        }
        let chain: Vec<&ResolvedRule> = chain.collect();
        let b = lower::behaviour(dag, &chain, arch, default);
        if b != default {
            sorted.push((nr, b));
        }
    }
    match layout {
        Layout::Linear => {
            // Policy order: by the first rule naming each number.
            let mut ordered: Vec<(usize, u32, NodeId)> = sorted
                .iter()
                .map(|&(nr, b)| {
                    let first = rules.rules_for(nr).next().map_or(usize::MAX, |r| r.index);
                    (first, nr, b)
                })
                .collect();
            ordered.sort_by_key(|&(first, nr, _)| (first, nr));
            let entries: Vec<(u32, NodeId)> =
                ordered.into_iter().map(|(_, nr, b)| (nr, b)).collect();
            layout::linear(dag, &entries, default)
        }
        Layout::Bintree => layout::bintree(dag, &sorted, default),
        Layout::Ranges | Layout::Auto => {
            let mut runs = layout::runs(&sorted, default);
            let table: Vec<(u32, u64)> = arch
                .syscalls()
                .map(|(nr, _)| (nr, weights.of(arch, nr)))
                .collect();
            layout::weigh_runs(&mut runs, |start, end| {
                let lo = table.partition_point(|&(nr, _)| nr < start);
                let hi = table.partition_point(|&(nr, _)| nr <= end);
                let defined: u64 = table[lo..hi].iter().map(|&(_, w)| w).sum();
                let holes = u64::from(end - start) + 1 > (hi - lo) as u64;
                defined + if holes { weights.floor } else { 0 }
            });
            layout::ranges(dag, &runs)
        }
    }
}
