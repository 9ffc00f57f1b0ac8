//! The kernel's load-time checks of a classic BPF program: `bpf_check_classic`
//! (`net/core/filter.c`), for seccomp `seccomp_check_filter`
//! (`kernel/seccomp.c`), and the jump-offset limit of the conversion to eBPF
//! (`bpf_convert_filter`).
//!
//! [`verify`] accepts exactly the programs the kernel accepts and, for a
//! rejected program, reports the rule the kernel trips over first (the kernel
//! itself only says `EINVAL`). It never allocates.

use core::fmt;

use bpf_asm::insn::*;
use bpf_asm::seccomp::SECCOMP_DATA_SIZE;

/// Which kernel loader the program is checked for.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Mode {
    /// `seccomp(SECCOMP_SET_MODE_FILTER)` / `prctl(PR_SET_SECCOMP)`:
    /// `bpf_check_classic` followed by `seccomp_check_filter`.
    Seccomp,
    /// A socket filter (`SO_ATTACH_FILTER`): `bpf_check_classic`, then the
    /// jump offsets of the conversion to eBPF ([`Rule::ConvertedJumpTooLate`],
    /// [`Rule::ConvertedJumpTooLong`]).
    Classic,
}

/// An `errno` value the kernel returns when it refuses a filter.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Errno {
    /// Invalid argument (22): every content error of a program.
    EINVAL,
    /// Out of memory (12): also the stacked-filter instruction budget.
    ENOMEM,
}

impl Errno {
    /// The symbolic name, e.g. `"EINVAL"`.
    pub const fn name(self) -> &'static str {
        match self {
            Errno::EINVAL => "EINVAL",
            Errno::ENOMEM => "ENOMEM",
        }
    }

    /// The numeric value on Linux.
    pub const fn code(self) -> i32 {
        match self {
            Errno::EINVAL => 22,
            Errno::ENOMEM => 12,
        }
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A rule by which the kernel refuses a program.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Rule {
    /// The program has no instructions (`len == 0`).
    Empty,
    /// The program has more than `BPF_MAXINSNS` (4096) instructions.
    TooLong,
    /// The opcode is not one of the 49 classic BPF codes (`chk_code_allowed`).
    UnknownOpcode,
    /// `div #0` or `mod #0`.
    DivisionByZero,
    /// `lsh #k` or `rsh #k` with `k >= 32`.
    ShiftTooLarge,
    /// A scratch memory index `M[k]` with `k >= 16`.
    ScratchOutOfRange,
    /// `ja` whose target lies past the last instruction.
    JumpOutOfRange,
    /// A conditional jump whose `jt` or `jf` target lies past the last instruction.
    BranchOutOfRange,
    /// An absolute load at an offset `>= SKF_AD_OFF` that is not a known
    /// ancillary load.
    UnknownAncillary,
    /// The last instruction is not `ret #k` or `ret a`.
    NoFinalReturn,
    /// A scratch cell may be read before it is written
    /// (`check_load_and_stores`, including its quirks).
    UninitializedScratch,
    /// A classic instruction seccomp does not allow (packet loads, `mod`, ...).
    NotAllowedInSeccomp,
    /// `ld [k]` in seccomp with `k >= 64` or `k` not a multiple of 4.
    BadSeccompDataOffset,
    /// The stacked filters would exceed `MAX_INSNS_PER_PATH` eBPF instructions.
    PathTooLong,
    /// After conversion to eBPF the jump lies at eBPF instruction 32768 or
    /// later. `bpf_convert_filter` places jumps in two passes, and in the
    /// first one a target not yet placed counts as address 0, so the
    /// offset it computes is below -32768 (the signed 16-bit `off`).
    /// Socket filters only: a seccomp filter converts to at most 20480
    /// eBPF instructions.
    ConvertedJumpTooLate,
    /// After conversion to eBPF the jump spans more than 32767
    /// instructions, more than eBPF's signed 16-bit `off` holds
    /// (`bpf_convert_filter`; e.g. `ja` over 1821 `ldxb 4*([k]&0xf)`, each
    /// 18 eBPF instructions). Socket filters only, as above.
    ConvertedJumpTooLong,
}

impl Rule {
    /// A short description of the rule in words.
    pub const fn describe(self) -> &'static str {
        match self {
            Rule::Empty => "the program has no instructions",
            Rule::TooLong => "the program has more than 4096 instructions",
            Rule::UnknownOpcode => "the opcode is not a classic BPF instruction",
            Rule::DivisionByZero => "division or remainder by the constant zero",
            Rule::ShiftTooLarge => "constant shift by 32 or more",
            Rule::ScratchOutOfRange => "scratch memory index is 16 or more",
            Rule::JumpOutOfRange => "ja jumps past the last instruction",
            Rule::BranchOutOfRange => "conditional jump target is past the last instruction",
            Rule::UnknownAncillary => "absolute load at an unknown ancillary offset",
            Rule::NoFinalReturn => "the last instruction is not `ret #k` or `ret a`",
            Rule::UninitializedScratch => "scratch memory cell may be read before it is written",
            Rule::NotAllowedInSeccomp => "instruction is not allowed in seccomp filters",
            Rule::BadSeccompDataOffset => {
                "load offset is not a multiple of 4 below 64 (struct seccomp_data)"
            }
            Rule::PathTooLong => {
                "the stacked filters exceed 32768 eBPF instructions (MAX_INSNS_PER_PATH)"
            }
            Rule::ConvertedJumpTooLate => {
                "after conversion to eBPF the jump lies past eBPF instruction 32767, where \
                 the kernel's first conversion pass overflows its 16-bit offset"
            }
            Rule::ConvertedJumpTooLong => {
                "after conversion to eBPF the jump spans more than 32767 eBPF instructions \
                 (its 16-bit offset overflows)"
            }
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

/// Why and where the kernel would refuse a program.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct VerifyError {
    /// The instruction at fault, `None` for whole-program rules.
    pub index: Option<usize>,
    /// The rule that failed.
    pub rule: Rule,
    /// What the kernel returns.
    pub errno: Errno,
}

impl VerifyError {
    /// An `EINVAL` error at instruction `index`.
    pub const fn at(index: usize, rule: Rule) -> Self {
        VerifyError {
            index: Some(index),
            rule,
            errno: Errno::EINVAL,
        }
    }

    /// An error about the whole program.
    pub const fn program(rule: Rule, errno: Errno) -> Self {
        VerifyError {
            index: None,
            rule,
            errno,
        }
    }
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.index {
            Some(i) => write!(f, "insn {i}: ")?,
            None => f.write_str("program: ")?,
        }
        write!(f, "{} (kernel: {})", self.rule, self.errno)
    }
}

impl core::error::Error for VerifyError {}

/// Checks `prog` as the kernel does when it is loaded in `mode`.
///
/// `Ok(())` means the kernel accepts it (resource limits of stacked filters
/// aside, see [`crate::budget`]); the error is the first rule the kernel's
/// checks hit, in the kernel's order. Usable in `const` contexts, e.g.
/// `const _: () = assert!(verify(&PROG, Mode::Seccomp).is_ok());`.
pub const fn verify(prog: &[SockFilter], mode: Mode) -> Result<(), VerifyError> {
    if let Err(e) = check_classic(prog) {
        return Err(e);
    }
    match mode {
        Mode::Seccomp => check_seccomp(prog),
        // Seccomp filters never reach the limit, see `Rule::ConvertedJumpTooLate`.
        Mode::Classic => check_converted_jumps(prog),
    }
}

/// Whether the kernel's classic checker knows `code` (`chk_code_allowed`):
/// one of [`CLASSIC_CODES`].
pub const fn classic_code_allowed(code: u16) -> bool {
    sorted_contains(&CLASSIC_CODES, code)
}

/// Whether `seccomp_check_filter` lets `code` through (it runs only on codes
/// the classic checker accepted): one of [`SECCOMP_CODES`].
pub const fn seccomp_code_allowed(code: u16) -> bool {
    sorted_contains(&SECCOMP_CODES, code)
}

/// Binary search in an ascending table, usable in `const`.
const fn sorted_contains(table: &[u16], code: u16) -> bool {
    let (mut lo, mut hi) = (0, table.len());
    while lo < hi {
        let mid = (lo + hi) / 2;
        if table[mid] == code {
            return true;
        } else if table[mid] < code {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    false
}

/// Whether an absolute load at `k` is a known ancillary load
/// (`bpf_anc_helper`): `SKF_AD_OFF + {0, 4, ..., 60}`.
const fn known_ancillary(k: u32) -> bool {
    k >= SKF_AD_OFF && k - SKF_AD_OFF < SKF_AD_MAX && (k - SKF_AD_OFF) % 4 == 0
}

const ALU_DIV_K: u16 = BPF_ALU | BPF_DIV | BPF_K;
const ALU_MOD_K: u16 = BPF_ALU | BPF_MOD | BPF_K;
const ALU_LSH_K: u16 = BPF_ALU | BPF_LSH | BPF_K;
const ALU_RSH_K: u16 = BPF_ALU | BPF_RSH | BPF_K;
const LD_MEM: u16 = BPF_LD | BPF_MEM;
const LDX_MEM: u16 = BPF_LDX | BPF_MEM;
const JA: u16 = BPF_JMP | BPF_JA;
const LD_W_ABS: u16 = BPF_LD | BPF_W | BPF_ABS;
const LD_H_ABS: u16 = BPF_LD | BPF_H | BPF_ABS;
const LD_B_ABS: u16 = BPF_LD | BPF_B | BPF_ABS;
const RET_K: u16 = BPF_RET | BPF_K;
const RET_A: u16 = BPF_RET | BPF_A;

/// `bpf_check_classic`: the per-instruction pass, then the final `ret`,
/// then `check_load_and_stores`.
const fn check_classic(prog: &[SockFilter]) -> Result<(), VerifyError> {
    let len = prog.len();
    if len == 0 {
        return Err(VerifyError::program(Rule::Empty, Errno::EINVAL));
    }
    if len > BPF_MAXINSNS {
        return Err(VerifyError::program(Rule::TooLong, Errno::EINVAL));
    }
    let mut reads_scratch = false;
    let mut pc = 0;
    while pc < len {
        let f = prog[pc];
        if !classic_code_allowed(f.code) {
            return Err(VerifyError::at(pc, Rule::UnknownOpcode));
        }
        let bad = match f.code {
            ALU_DIV_K | ALU_MOD_K => f.k == 0,
            ALU_LSH_K | ALU_RSH_K => f.k >= 32,
            LD_MEM | LDX_MEM | BPF_ST | BPF_STX => {
                reads_scratch |= matches!(f.code, LD_MEM | LDX_MEM);
                f.k >= BPF_MEMWORDS
            }
            // `k >= (u32)(flen - pc - 1)`; len <= 4096 so this cannot wrap.
            JA => f.k >= (len - pc - 1) as u32,
            0x15 | 0x1d | 0x25 | 0x2d | 0x35 | 0x3d | 0x45 | 0x4d => {
                pc + f.jt as usize + 1 >= len || pc + f.jf as usize + 1 >= len
            }
            LD_W_ABS | LD_H_ABS | LD_B_ABS => f.k >= SKF_AD_OFF && !known_ancillary(f.k),
            _ => false,
        };
        if bad {
            let rule = match f.code {
                ALU_DIV_K | ALU_MOD_K => Rule::DivisionByZero,
                ALU_LSH_K | ALU_RSH_K => Rule::ShiftTooLarge,
                LD_MEM | LDX_MEM | BPF_ST | BPF_STX => Rule::ScratchOutOfRange,
                JA => Rule::JumpOutOfRange,
                LD_W_ABS | LD_H_ABS | LD_B_ABS => Rule::UnknownAncillary,
                _ => Rule::BranchOutOfRange,
            };
            return Err(VerifyError::at(pc, rule));
        }
        pc += 1;
    }
    if !matches!(prog[len - 1].code, RET_K | RET_A) {
        return Err(VerifyError::at(len - 1, Rule::NoFinalReturn));
    }
    if reads_scratch {
        return check_load_and_stores(prog);
    }
    Ok(())
}

/// Narrows the written-cells mask of jump target `t` (always in range for
/// programs that passed the per-instruction checks).
const fn narrow(masks: &mut [u16; BPF_MAXINSNS], t: usize, memvalid: u16) {
    if t < BPF_MAXINSNS {
        masks[t] &= memvalid;
    }
}

/// `check_load_and_stores`, exactly: a linear scan in which jumps narrow the
/// set of written cells at their targets, and nothing else (in particular
/// not `ret`) resets the running set.
///
/// Must only run on programs that passed the per-instruction checks, so that
/// every jump target and scratch index is in range.
const fn check_load_and_stores(prog: &[SockFilter]) -> Result<(), VerifyError> {
    let mut masks = [0xffffu16; BPF_MAXINSNS];
    let mut memvalid: u16 = 0;
    let mut pc = 0;
    while pc < prog.len() && pc < BPF_MAXINSNS {
        let f = prog[pc];
        memvalid &= masks[pc];
        match f.code {
            BPF_ST | BPF_STX => memvalid |= 1 << (f.k & 15),
            LD_MEM | LDX_MEM if memvalid & (1 << (f.k & 15)) == 0 => {
                return Err(VerifyError::at(pc, Rule::UninitializedScratch));
            }
            JA => {
                narrow(&mut masks, pc + 1 + f.k as usize, memvalid);
                memvalid = 0xffff;
            }
            0x15 | 0x1d | 0x25 | 0x2d | 0x35 | 0x3d | 0x45 | 0x4d => {
                narrow(&mut masks, pc + 1 + f.jt as usize, memvalid);
                narrow(&mut masks, pc + 1 + f.jf as usize, memvalid);
                memvalid = 0xffff;
            }
            _ => {}
        }
        pc += 1;
    }
    Ok(())
}

/// `seccomp_check_filter`: the seccomp subset and the `seccomp_data` bounds
/// of `ld [k]`.
const fn check_seccomp(prog: &[SockFilter]) -> Result<(), VerifyError> {
    let mut pc = 0;
    while pc < prog.len() {
        let f = prog[pc];
        if f.code == LD_W_ABS {
            if f.k >= SECCOMP_DATA_SIZE || f.k & 3 != 0 {
                return Err(VerifyError::at(pc, Rule::BadSeccompDataOffset));
            }
        } else if !seccomp_code_allowed(f.code) {
            return Err(VerifyError::at(pc, Rule::NotAllowedInSeccomp));
        }
        pc += 1;
    }
    Ok(())
}

/// The largest eBPF jump offset (`S16_MAX`).
const EBPF_OFF_MAX: usize = i16::MAX as usize;

/// The eBPF jumps a classic jump converts to, as `(slot, skip)` pairs:
/// `slot` is the jump's index within the instruction's conversion (after an
/// optional `mov32 tmp, k` for a `k` that would sign-extend) and the
/// target is classic instruction `pc + 1 + skip`. Empty for non-jumps.
const fn converted_jumps(f: SockFilter) -> ([(usize, usize); 2], usize) {
    if f.code == JA {
        return ([(0, f.k as usize), (0, 0)], 1);
    }
    if !matches!(
        f.code,
        0x15 | 0x1d | 0x25 | 0x2d | 0x35 | 0x3d | 0x45 | 0x4d
    ) {
        return ([(0, 0); 2], 0);
    }
    let slot = (bpf_src(f.code) == BPF_K && (f.k as i32) < 0) as usize;
    let (jt, jf) = (f.jt as usize, f.jf as usize);
    if f.jf == 0 {
        ([(slot, jt), (0, 0)], 1)
    } else if crate::budget::cond_jump_is_single(f) {
        // Inverted (jne, jle, jlt) to the false target.
        ([(slot, jf), (0, 0)], 1)
    } else {
        // The compare to the true target, then `ja` to the false one.
        ([(slot, jt), (slot + 1, jf)], 2)
    }
}

/// `bpf_convert_filter`'s jump offsets for a socket filter that passed
/// `bpf_check_classic`, in the kernel's order: the first remapping pass
/// fails at the first jump placed past eBPF instruction 32767
/// ([`Rule::ConvertedJumpTooLate`]), the second at the first jump whose
/// offset exceeds 32767 ([`Rule::ConvertedJumpTooLong`]).
const fn check_converted_jumps(prog: &[SockFilter]) -> Result<(), VerifyError> {
    // Every position and offset fits when the whole program does, which is
    // always the case without packet loads (at most 5 eBPF instructions
    // per classic one).
    if crate::budget::classic_ebpf_len(prog) <= EBPF_OFF_MAX + 1 {
        return Ok(());
    }
    place_converted_jumps(prog)
}

/// [`check_converted_jumps`] for programs of more than 32768 eBPF
/// instructions: needs the eBPF address of every instruction (16 KiB of
/// stack, kept out of the common path).
#[inline(never)]
const fn place_converted_jumps(prog: &[SockFilter]) -> Result<(), VerifyError> {
    let mut addrs = [0u32; BPF_MAXINSNS];
    let mut at = crate::budget::PROLOGUE_LEN;
    if crate::budget::classic_seen_ld_abs(prog) {
        at += crate::budget::PACKET_PROLOGUE_LEN;
    }
    let len = if prog.len() < BPF_MAXINSNS {
        prog.len()
    } else {
        BPF_MAXINSNS
    };
    let mut pc = 0;
    while pc < len {
        addrs[pc] = at as u32;
        let (jumps, n) = converted_jumps(prog[pc]);
        let mut j = 0;
        while j < n {
            // `off = 0 - addrs[pc] - 1 - slot` must be >= -32768.
            if at + jumps[j].0 > EBPF_OFF_MAX {
                return Err(VerifyError::at(pc, Rule::ConvertedJumpTooLate));
            }
            j += 1;
        }
        at += crate::budget::classic_insn_len(prog[pc]);
        pc += 1;
    }
    pc = 0;
    while pc < len {
        let (jumps, n) = converted_jumps(prog[pc]);
        let mut j = 0;
        while j < n {
            let (slot, skip) = jumps[j];
            let target = (pc + 1).saturating_add(skip);
            // Always in range after `check_classic`.
            if target < len {
                let off = (addrs[target] as usize).saturating_sub(addrs[pc] as usize + 1 + slot);
                if off > EBPF_OFF_MAX {
                    return Err(VerifyError::at(pc, Rule::ConvertedJumpTooLong));
                }
            }
            j += 1;
        }
        pc += 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
