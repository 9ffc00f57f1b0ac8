//! The seccomp filter emulator: runs a verified classic BPF program on one
//! [`SeccompData`] and returns exactly what the kernel returns.
//!
//! Runtime semantics (those of the kernel's cBPF → eBPF conversion):
//!
//! * A and X start at 0; scratch cells are written before they are read
//!   (the verifier guarantees it).
//! * Arithmetic is 32-bit and wraps; comparisons are unsigned.
//! * `div x` with X == 0 ends the whole program at once, returning 0
//!   (`SECCOMP_RET_KILL_THREAD`); the `div` counts as an executed step.
//! * `lsh x` / `rsh x` use the count `X & 31`, as the kernel's interpreter
//!   and the x86-64, arm64 and riscv JITs do. The ppc and s390 JITs use six
//!   bits of the count instead, so counts 32..=63 give 0 there: programs
//!   should not shift by X at all.
//! * `ld #len` / `ldx #len` give 64, `sizeof(struct seccomp_data)`.
//! * `ld [k]` reads the word at offset k in the byte order given by an
//!   explicit [`Endian`]: the byte order of the machine whose kernel runs the
//!   filter (big-endian for s390x, ppc64, mips, …; see
//!   [`bpf_asm::Arch::endian`]).
//!
//! Every entry point verifies the program first ([`crate::verify()`]), so an
//! invalid program gives an error instead of a result; nothing panics and,
//! since classic BPF jumps only forward, nothing loops.
//!
//! [`run`] needs no allocator. [`Prepared`] (feature `alloc`) decodes a
//! program once for fast repeated evaluation.

use bpf_asm::insn::*;
use bpf_asm::seccomp::SECCOMP_DATA_SIZE;
use bpf_asm::{Endian, SockFilter};

use core::convert::Infallible;

use crate::action::KernelAction;
use crate::data::{SeccompData, SECCOMP_DATA_WORDS};
use crate::interp::{self, Loaded};
use crate::verify::{verify, Mode, VerifyError};

#[cfg(feature = "alloc")]
mod prepared;
#[cfg(feature = "alloc")]
mod region;
#[cfg(feature = "alloc")]
pub use prepared::Prepared;

/// The result of running a filter on one system call.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Outcome {
    /// The filter's 32-bit return value.
    pub ret: u32,
    /// Instructions executed, counting the final `ret` (or the `div` by a
    /// zero X that ended the program).
    pub steps: usize,
}

impl Outcome {
    /// What the kernel does with [`Outcome::ret`] (for a single filter).
    pub const fn action(&self) -> KernelAction {
        KernelAction::from_ret(self.ret)
    }
}

/// One executed instruction, as reported to a trace callback.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct TraceStep {
    /// Index of the instruction.
    pub pc: usize,
    /// The instruction.
    pub insn: SockFilter,
    /// Register A before the instruction executes.
    pub a: u32,
    /// Register X before the instruction executes.
    pub x: u32,
}

/// Runs `prog` on `data` with words loaded in byte order `endian`.
///
/// The program is checked with [`verify`] in [`Mode::Seccomp`] first; a
/// program the kernel would refuse gives that error. Needs no allocator.
pub fn run(
    prog: &[SockFilter],
    data: &SeccompData,
    endian: Endian,
) -> Result<Outcome, VerifyError> {
    verify(prog, Mode::Seccomp)?;
    Ok(run_verified(prog, data, endian))
}

/// [`run`], calling `trace` before each executed instruction with the
/// instruction's index, the instruction and the registers.
pub fn run_traced<F: FnMut(&TraceStep)>(
    prog: &[SockFilter],
    data: &SeccompData,
    endian: Endian,
    mut trace: F,
) -> Result<Outcome, VerifyError> {
    verify(prog, Mode::Seccomp)?;
    Ok(interpret(prog, &data.words(endian), Some(&mut trace)))
}

/// Runs a program that already passed [`verify`] in seccomp mode.
///
/// Total on every input: on a program that was not verified the result is
/// meaningless but the function still returns (out-of-range jumps and
/// codes seccomp refuses end the run with 0).
pub(crate) fn run_verified(prog: &[SockFilter], data: &SeccompData, endian: Endian) -> Outcome {
    interpret::<fn(&TraceStep)>(prog, &data.words(endian), None)
}

/// The reference interpreter: the shared core ([`crate::interp`]) reading
/// `seccomp_data` words, calling `trace` before each instruction.
pub(crate) fn interpret<F: FnMut(&TraceStep)>(
    prog: &[SockFilter],
    words: &[u32; SECCOMP_DATA_WORDS],
    trace: Option<&mut F>,
) -> Outcome {
    let mut input = Words { words, trace };
    match interp::execute(prog, &mut input) {
        Ok(exit) => Outcome {
            ret: exit.ret,
            steps: exit.steps,
        },
        Err(never) => match never {},
    }
}

/// The input of a seccomp filter: the words of `struct seccomp_data`, and
/// an optional trace callback. An instruction the seccomp verifier refuses
/// ends the run with 0 (only unverified programs get there).
struct Words<'a, F> {
    words: &'a [u32; SECCOMP_DATA_WORDS],
    trace: Option<&'a mut F>,
}

impl<F: FnMut(&TraceStep)> interp::Input for Words<'_, F> {
    type Error = Infallible;

    #[inline(always)]
    fn load(
        &mut self,
        _pc: usize,
        insn: SockFilter,
        _a: u32,
        _x: u32,
    ) -> Result<Loaded, Infallible> {
        let k = insn.k;
        Ok(match insn.code {
            c if c == BPF_LD | BPF_W | BPF_ABS && k % 4 == 0 && k < SECCOMP_DATA_SIZE => {
                Loaded::Value(self.words[(k / 4) as usize & (SECCOMP_DATA_WORDS - 1)])
            }
            c if c == BPF_LD | BPF_W | BPF_LEN || c == BPF_LDX | BPF_W | BPF_LEN => {
                Loaded::Value(SECCOMP_DATA_SIZE)
            }
            _ => Loaded::Exit(0),
        })
    }

    #[inline(always)]
    fn refused(&mut self, _pc: usize, _why: &'static str) -> Result<u32, Infallible> {
        Ok(0)
    }

    #[inline(always)]
    fn step(&mut self, pc: usize, insn: SockFilter, a: u32, x: u32) {
        if let Some(t) = self.trace.as_deref_mut() {
            t(&TraceStep { pc, insn, a, x });
        }
    }
}

#[cfg(test)]
pub(crate) mod tests;
