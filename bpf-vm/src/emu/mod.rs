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

use crate::action::KernelAction;
use crate::data::{SeccompData, SECCOMP_DATA_WORDS};
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

/// The reference interpreter: a switch on the raw opcode, like the kernel's.
fn interpret<F: FnMut(&TraceStep)>(
    prog: &[SockFilter],
    words: &[u32; SECCOMP_DATA_WORDS],
    mut trace: Option<&mut F>,
) -> Outcome {
    let mut a: u32 = 0;
    let mut x: u32 = 0;
    let mut mem = [0u32; 16];
    let mut pc = 0usize;
    let mut steps = 0usize;
    let end = |steps| Outcome { ret: 0, steps };
    loop {
        let Some(&f) = prog.get(pc) else {
            // Unreachable for verified programs (the last insn is a ret).
            return end(steps);
        };
        if let Some(t) = trace.as_deref_mut() {
            t(&TraceStep { pc, insn: f, a, x });
        }
        steps += 1;
        let k = f.k;
        let src = if bpf_src(f.code) == BPF_X { x } else { k };
        let mut next = pc + 1;
        match f.code {
            c if c == BPF_LD | BPF_W | BPF_ABS => a = load(words, k),
            c if c == BPF_LD | BPF_IMM => a = k,
            c if c == BPF_LDX | BPF_IMM => x = k,
            c if c == BPF_LD | BPF_W | BPF_LEN => a = SECCOMP_DATA_SIZE,
            c if c == BPF_LDX | BPF_W | BPF_LEN => x = SECCOMP_DATA_SIZE,
            c if c == BPF_LD | BPF_MEM => a = mem[(k & 15) as usize],
            c if c == BPF_LDX | BPF_MEM => x = mem[(k & 15) as usize],
            c if c == BPF_ST => mem[(k & 15) as usize] = a,
            c if c == BPF_STX => mem[(k & 15) as usize] = x,
            c if c == BPF_MISC | BPF_TAX => x = a,
            c if c == BPF_MISC | BPF_TXA => a = x,
            c if c == BPF_ALU | BPF_NEG => a = a.wrapping_neg(),
            c if c == BPF_RET | BPF_K => return Outcome { ret: k, steps },
            c if c == BPF_RET | BPF_A => return Outcome { ret: a, steps },
            c if c == BPF_JMP | BPF_JA => next = next.saturating_add(k as usize),
            c if bpf_class(c) == BPF_ALU => match bpf_op(c) {
                BPF_ADD => a = a.wrapping_add(src),
                BPF_SUB => a = a.wrapping_sub(src),
                BPF_MUL => a = a.wrapping_mul(src),
                BPF_DIV => match a.checked_div(src) {
                    Some(q) => a = q,
                    None => return end(steps),
                },
                BPF_AND => a &= src,
                BPF_OR => a |= src,
                BPF_XOR => a ^= src,
                BPF_LSH => a = a.wrapping_shl(src & 31),
                BPF_RSH => a = a.wrapping_shr(src & 31),
                _ => return end(steps),
            },
            c if bpf_class(c) == BPF_JMP => {
                let taken = match bpf_op(c) {
                    BPF_JEQ => a == src,
                    BPF_JGT => a > src,
                    BPF_JGE => a >= src,
                    BPF_JSET => a & src != 0,
                    _ => return end(steps),
                };
                next += if taken { f.jt } else { f.jf } as usize;
            }
            _ => return end(steps),
        }
        pc = next;
    }
}

/// `ld [k]` in seccomp: the word at offset k (k is a multiple of 4 below 64
/// in verified programs).
#[inline(always)]
fn load(words: &[u32; SECCOMP_DATA_WORDS], k: u32) -> u32 {
    if k % 4 == 0 && k < SECCOMP_DATA_SIZE {
        words[(k / 4) as usize & (SECCOMP_DATA_WORDS - 1)]
    } else {
        0
    }
}

#[cfg(test)]
pub(crate) mod tests;
