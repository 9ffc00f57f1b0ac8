//! The one interpreter of classic BPF instructions, shared by the seccomp
//! emulator ([`crate::emu`]) and the socket-filter replayer
//! ([`crate::classic`]).
//!
//! Registers, scratch memory, arithmetic, jumps, returns and step counting
//! are the same in both uses; what differs is where loads read from and what
//! an instruction its verifier refuses does. The two are an [`Input`]:
//! seccomp reads the words of `struct seccomp_data` (only `ld [k]` and the
//! length exist) and ends a run that meets a refused instruction with 0, as
//! a total function must (verified programs never get there); a socket
//! filter reads a big-endian packet, its headers and metadata, and reports
//! the refused instruction as an error.
//!
//! The interpreter is generic over its input, so each use is compiled into
//! its own concrete loop with the loads inlined: no dispatch on the input
//! at run time.
//!
//! Two other evaluators stay separate, deliberately:
//! * `emu::Prepared` decodes a program once into specialised operations
//!   (fused load-and-jump, chains of `jeq`, region lookup tables) for speed;
//!   it is a compilation of these semantics, checked equal to this
//!   interpreter instruction count for instruction count by property tests,
//!   and runs this interpreter when it traces.
//! * the policy compiler's cost scorer (`bpf-asm`'s `policy::compile`)
//!   cannot call this crate (`bpf-vm` depends on `bpf-asm`, not the other
//!   way round); exact instruction counts of compiled programs belong to
//!   [`crate::analysis`].

use bpf_asm::insn::*;
use bpf_asm::SockFilter;

/// What a load gave.
pub(crate) enum Loaded {
    /// The loaded value (into A, or X for `ldx`).
    Value(u32),
    /// The run ends now with this return value (a socket filter reading
    /// outside its packet returns 0).
    Exit(u32),
}

/// Where a program's loads read from, and what refused instructions do.
pub(crate) trait Input {
    /// Why a run stopped without a return value.
    type Error;

    /// A load: `ld`/`ldh`/`ldb` with `BPF_ABS` or `BPF_IND`, `ld #len`,
    /// `ldx #len` or `ldx 4*([k]&0xf)` (`insn.code` says which), with the
    /// registers as they are. `Err` stops the run.
    fn load(&mut self, pc: usize, insn: SockFilter, a: u32, x: u32) -> Result<Loaded, Self::Error>;

    /// The instruction at `pc` is one this mode's verifier refuses (`why`):
    /// `Ok(ret)` ends the run with `ret`, `Err` stops it.
    fn refused(&mut self, pc: usize, why: &'static str) -> Result<u32, Self::Error>;

    /// Called before each executed instruction with the registers it sees.
    #[inline(always)]
    fn step(&mut self, _pc: usize, _insn: SockFilter, _a: u32, _x: u32) {}
}

/// How a run ended.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Exit {
    /// The return value.
    pub ret: u32,
    /// Instructions executed, counting the last one (the `ret`, the `div`
    /// by a zero X, or the load that left the packet).
    pub steps: usize,
}

/// Runs `prog` on `input`.
pub(crate) fn execute<I: Input>(prog: &[SockFilter], input: &mut I) -> Result<Exit, I::Error> {
    let (mut a, mut x) = (0u32, 0u32);
    let mut mem = [0u32; BPF_MEMWORDS as usize];
    let mut pc = 0usize;
    let mut steps = 0usize;
    while let Some(&f) = prog.get(pc) {
        input.step(pc, f, a, x);
        steps += 1;
        let k = f.k;
        // Instructions after this one (a jump skips fewer than this many).
        let left = prog.len() - pc - 1;
        let mut next = pc + 1;
        match f.code {
            0x00 => a = k,
            0x01 => x = k,
            0x60 | 0x61 | 0x02 | 0x03 => {
                let Some(cell) = mem.get_mut(k as usize) else {
                    return refuse(input, pc, "scratch memory index is 16 or more", steps);
                };
                match f.code {
                    0x60 => a = *cell,
                    0x61 => x = *cell,
                    0x02 => *cell = a,
                    _ => *cell = x,
                }
            }
            0x20 | 0x28 | 0x30 | 0x40 | 0x48 | 0x50 | 0x80 | 0x81 | 0xb1 => {
                match input.load(pc, f, a, x)? {
                    Loaded::Value(v) if bpf_class(f.code) == BPF_LDX => x = v,
                    Loaded::Value(v) => a = v,
                    Loaded::Exit(ret) => return Ok(Exit { ret, steps }),
                }
            }
            0x84 => a = a.wrapping_neg(),
            0x07 => x = a,
            0x87 => a = x,
            0x06 => return Ok(Exit { ret: k, steps }),
            0x16 => return Ok(Exit { ret: a, steps }),
            0x05 => {
                if k as usize >= left {
                    return refuse(input, pc, "ja jumps past the last instruction", steps);
                }
                next += k as usize;
            }
            0x15 | 0x1d | 0x25 | 0x2d | 0x35 | 0x3d | 0x45 | 0x4d => {
                let src = if bpf_src(f.code) == BPF_X { x } else { k };
                let holds = match bpf_op(f.code) {
                    BPF_JEQ => a == src,
                    BPF_JGT => a > src,
                    BPF_JGE => a >= src,
                    _ => a & src != 0,
                };
                let off = usize::from(if holds { f.jt } else { f.jf });
                if off >= left {
                    return refuse(
                        input,
                        pc,
                        "conditional jump target is past the last instruction",
                        steps,
                    );
                }
                next += off;
            }
            code if bpf_class(code) == BPF_ALU && code & !0xf8 == BPF_ALU => {
                let by_x = bpf_src(code) == BPF_X;
                let src = if by_x { x } else { k };
                a = match bpf_op(code) {
                    BPF_ADD => a.wrapping_add(src),
                    BPF_SUB => a.wrapping_sub(src),
                    BPF_MUL => a.wrapping_mul(src),
                    BPF_OR => a | src,
                    BPF_AND => a & src,
                    BPF_XOR => a ^ src,
                    // Division by a zero X ends the program with 0.
                    BPF_DIV | BPF_MOD if src == 0 && by_x => return Ok(Exit { ret: 0, steps }),
                    BPF_DIV | BPF_MOD if src == 0 => {
                        return refuse(input, pc, "division by zero", steps)
                    }
                    BPF_DIV => a / src,
                    BPF_MOD => a % src,
                    BPF_LSH | BPF_RSH if src >= 32 && !by_x => {
                        return refuse(input, pc, "constant shift by 32 or more", steps)
                    }
                    // Shifts by X use X & 31 (the interpreter and the x86-64,
                    // arm64 and riscv JITs).
                    BPF_LSH => a << (src & 31),
                    BPF_RSH => a >> (src & 31),
                    _ => return refuse(input, pc, "unknown opcode", steps),
                };
            }
            _ => return refuse(input, pc, "unknown opcode", steps),
        }
        pc = next;
    }
    pc = prog.len().saturating_sub(1);
    refuse(
        input,
        pc,
        "the program runs past its last instruction",
        steps,
    )
}

/// Ends the run at the refused instruction `pc` as the input says.
fn refuse<I: Input>(
    input: &mut I,
    pc: usize,
    why: &'static str,
    steps: usize,
) -> Result<Exit, I::Error> {
    input.refused(pc, why).map(|ret| Exit { ret, steps })
}

#[cfg(test)]
mod tests {
    use bpf_asm::Endian;

    use crate::classic::{self, Packet};
    use crate::emu::tests::{random_data, random_program, Rng};

    /// The two inputs of the one core agree where their semantics meet: a
    /// verified seccomp program run by the emulator on big-endian
    /// `seccomp_data` returns what the socket-filter replayer returns on the
    /// same 64 bytes as a packet (`ld [k]` is a big-endian word load there,
    /// `ld #len` its length, 64), in value and in steps.
    #[test]
    fn seccomp_programs_run_alike_on_both_inputs() {
        let seed = testkit::seed("seccomp_programs_run_alike_on_both_inputs", 0x1e7e_0001);
        let mut rng = Rng::new(seed);
        let mut verified = 0;
        while verified < 2000 {
            let prog = random_program(&mut rng, 40);
            if crate::verify::verify(&prog, crate::verify::Mode::Seccomp).is_err() {
                continue;
            }
            verified += 1;
            for _ in 0..4 {
                let data = random_data(&mut rng);
                let bytes = data.to_bytes(Endian::Big);
                let want = crate::emu::run(&prog, &data, Endian::Big).unwrap();
                let got = classic::run(&prog, &Packet::new(&bytes), None)
                    .unwrap_or_else(|e| panic!("{e}: {prog:?}"));
                assert_eq!(
                    (got.ret, got.steps),
                    (want.ret, want.steps),
                    "{prog:?} {data:?}"
                );
            }
        }
    }
}
