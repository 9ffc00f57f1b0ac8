//! The cost model of the `auto` layout: the expected number of instructions
//! a call executes, counted exactly by running the program on one
//! representative call per syscall, weighted by call frequency; program size
//! breaks ties.

use alloc::vec::Vec;

use crate::insn::*;
use crate::seccomp::{
    Arch, AUDIT_ARCH_X86_64, SECCOMP_DATA_ARCH, SECCOMP_DATA_NR, X32_SYSCALL_BIT,
};

/// Runs one of the compiler's own programs (loads, `and #k`, jumps with `K`,
/// `ja`, `ret #k`) on a call with zero arguments; returns the return value
/// and the number of instructions executed, or `None` on any other
/// instruction or a jump out of the program.
pub(crate) fn run(prog: &[SockFilter], nr: u32, audit_arch: u32) -> Option<(u32, u64)> {
    let mut a: u32 = 0;
    let mut pc: usize = 0;
    let mut steps: u64 = 0;
    loop {
        let f = *prog.get(pc)?;
        steps += 1;
        match Insn::decode(f) {
            Insn::LdAbs(Size::W, k) => {
                a = match k {
                    SECCOMP_DATA_NR => nr,
                    SECCOMP_DATA_ARCH => audit_arch,
                    _ => 0,
                }
            }
            Insn::Alu(AluOp::And, Src::K(k)) => a &= k,
            Insn::Ja(k) => pc = pc.checked_add(k as usize)?,
            Insn::Jmp {
                op,
                src: Src::K(k),
                jt,
                jf,
            } => pc += usize::from(if op.holds(a, k) { jt } else { jf }),
            Insn::RetK(k) => return Some((k, steps)),
            _ => return None,
        }
        pc += 1;
    }
}

/// A weighted set of calls: `(audit_arch, nr, weight)`.
pub(crate) type Sample = Vec<(u32, u32, u64)>;

/// The calls the cost model averages over: every syscall of each
/// architecture's table with its weight, plus one number past the table and,
/// on x86_64, one x32 number, at the weight of one unprofiled syscall.
pub(crate) fn sample(arches: &[Arch], weight: &dyn Fn(Arch, u32) -> u64, base: u64) -> Sample {
    let mut out = Vec::new();
    for &arch in arches {
        let audit = arch.audit_arch();
        for (nr, _) in arch.syscalls() {
            out.push((audit, nr, weight(arch, nr)));
        }
        out.push((audit, arch.syscall_range().1 + 1, base));
        if audit == AUDIT_ARCH_X86_64 {
            out.push((audit, X32_SYSCALL_BIT, base));
        }
    }
    out
}

/// The score of a program (lower is better): the weighted mean of
/// instructions executed, in thousandths, plus the program length. `None`
/// when the program cannot be run by [`run`].
pub(crate) fn score(prog: &[SockFilter], sample: &Sample) -> Option<u64> {
    let mut total = 0u64;
    let mut weight = 0u64;
    for &(arch, nr, w) in sample {
        let (_, steps) = run(prog, nr, arch)?;
        total += steps * w;
        weight += w;
    }
    let mean_milli = (total * 1000).checked_div(weight).unwrap_or(0);
    Some(mean_milli + prog.len() as u64)
}
