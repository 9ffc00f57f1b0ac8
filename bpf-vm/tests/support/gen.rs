//! Program generators: plausible (mostly valid) programs with every opcode,
//! near-valid mutations of them, scratch-memory-dense programs that probe
//! `check_load_and_stores`, and seccomp return values of every kind.

use bpf_asm::insn::*;
use bpf_asm::seccomp::*;

use testkit::Rng;

/// Constants at the edges of the kernel's checks and of 32-bit arithmetic.
pub const BOUNDARY_K: [u32; 34] = [
    0,
    1,
    2,
    3,
    4,
    7,
    8,
    12,
    15,
    16,
    17,
    31,
    32,
    33,
    48,
    56,
    60,
    61,
    62,
    63,
    64,
    65,
    255,
    0xffff,
    0x7fff_0000,
    0x7fff_ffff,
    0x8000_0000,
    0xffef_ffff,
    0xffff_f000,
    0xffff_f004,
    0xffff_f03c,
    0xffff_f040,
    0xffff_fffe,
    0xffff_ffff,
];

/// Return values that are not one of the eight actions.
pub const UNKNOWN_ACTIONS: [u32; 10] = [
    0x0001_0000,
    0x0002_0000,
    0x0004_0000,
    0x7ffe_0000,
    0x7ffd_0000,
    0x8001_0000,
    0x1000_0000,
    0x9000_0000,
    0xaaaa_aaaa,
    0xffff_0000,
];

/// What [`program`] may emit.
#[derive(Clone, Copy, Debug)]
pub struct GenConfig {
    /// Number of body instructions (between the optional prologue and the
    /// final returns).
    pub body: usize,
    /// Allow the classic-only codes (packet loads, `mod`, `ldxb msh`).
    pub classic: bool,
    /// Start with `ld [0]; jeq #nr, 1, 0; ret #ALLOW`, so that only the
    /// system call `nr` reaches the body.
    pub guard_nr: Option<u32>,
    /// Allow loads of the instruction pointer words (offsets 8 and 12).
    pub load_ip: bool,
    /// Probability (out of 16) that a scratch load picks any cell rather
    /// than one stored in the prologue (which is always valid).
    pub wild_scratch: u64,
}

impl GenConfig {
    /// Defaults for a seccomp program with `body` instructions.
    pub fn seccomp(body: usize) -> Self {
        GenConfig {
            body,
            classic: false,
            guard_nr: None,
            load_ip: true,
            wild_scratch: 2,
        }
    }
}

/// A constant for an ALU operation or comparison: boundary values, words
/// from `hints` (values the program will see), or random bits.
pub fn interesting_k(rng: &mut Rng, hints: &[u32]) -> u32 {
    match rng.below(8) {
        0..=2 => rng.pick(&BOUNDARY_K),
        3 | 4 if !hints.is_empty() => rng.pick(hints),
        5 => rng.below(64) as u32,
        _ => rng.next_u32(),
    }
}

/// A seccomp return value: every known action with interesting data bits,
/// unknown actions, and random values.
pub fn action_value(rng: &mut Rng) -> u32 {
    let data16 = |rng: &mut Rng| -> u32 {
        match rng.below(4) {
            0 => 0,
            1 => 1,
            2 => rng.pick(&[0xffff, 0x1234, 0x8000]),
            _ => rng.next_u32() & 0xffff,
        }
    };
    match rng.below(22) {
        0..=3 => SECCOMP_RET_ALLOW | if rng.chance(1, 3) { data16(rng) } else { 0 },
        4 | 5 => SECCOMP_RET_LOG | if rng.chance(1, 3) { data16(rng) } else { 0 },
        6..=9 => SECCOMP_RET_ERRNO | errno_data(rng),
        10 | 11 => SECCOMP_RET_TRAP | data16(rng),
        12 => SECCOMP_RET_TRACE | data16(rng),
        13 => SECCOMP_RET_USER_NOTIF | if rng.chance(1, 2) { data16(rng) } else { 0 },
        14 => SECCOMP_RET_KILL_THREAD | if rng.chance(1, 2) { data16(rng) } else { 0 },
        15 => SECCOMP_RET_KILL_PROCESS | if rng.chance(1, 2) { data16(rng) } else { 0 },
        16..=18 => rng.pick(&UNKNOWN_ACTIONS) | if rng.chance(1, 2) { data16(rng) } else { 0 },
        _ => rng.next_u32(),
    }
}

/// ERRNO data bits: 0, small, at and past the 4095 cap. Values 512..=530
/// (the kernel-internal restart codes) are avoided.
pub fn errno_data(rng: &mut Rng) -> u32 {
    let v = match rng.below(8) {
        0 => 0,
        1 => 1,
        2 => rng.pick(&[4095, 4096, 4097, 0xffff, 0x8000]),
        3 => rng.pick(&[13, 38, 95, 22, 12]),
        _ => 1 + rng.below(4095) as u32,
    };
    if (512..=530).contains(&v) {
        4095
    } else {
        v
    }
}

const ALU_OPS_SECCOMP: [u16; 9] = [
    BPF_ADD, BPF_SUB, BPF_MUL, BPF_DIV, BPF_OR, BPF_AND, BPF_LSH, BPF_RSH, BPF_XOR,
];
const JMP_OPS: [u16; 4] = [BPF_JEQ, BPF_JGT, BPF_JGE, BPF_JSET];

/// One body instruction at `pc` of a program with `total` instructions
/// (the last of which are returns), valid by construction except for
/// scratch loads chosen outside `stored`.
fn body_insn(
    rng: &mut Rng,
    pc: usize,
    total: usize,
    stored: u16,
    cfg: &GenConfig,
    hints: &[u32],
) -> SockFilter {
    let after = total - pc - 1; // instructions after pc (>= 1)
    let jump_span = after.min(256) as u64;
    let cell = |rng: &mut Rng| -> u32 {
        if stored != 0 && !rng.chance(cfg.wild_scratch, 16) {
            loop {
                let c = rng.below(16) as u32;
                if stored & (1 << c) != 0 {
                    return c;
                }
            }
        }
        rng.below(16) as u32
    };
    match rng.below(100) {
        0..=13 => {
            if cfg.classic && rng.chance(1, 2) {
                let size = rng.pick(&[BPF_W, BPF_H, BPF_B]);
                let k = if rng.chance(3, 4) {
                    rng.below(80) as u32
                } else {
                    rng.pick(&[
                        0xffef_ffff,
                        0xfff0_0000,
                        0xffe0_0000,
                        0x7fff_ffff,
                        0xffff_ffff,
                        60,
                        64,
                    ])
                };
                match rng.below(3) {
                    0 => SockFilter::stmt(BPF_LD | size | BPF_ABS, k),
                    1 => SockFilter::stmt(BPF_LD | size | BPF_IND, k),
                    _ => SockFilter::stmt(BPF_LDX | BPF_B | BPF_MSH, k),
                }
            } else {
                let mut w = rng.below(16) as u32;
                while !cfg.load_ip && (w == 2 || w == 3) {
                    w = rng.below(16) as u32;
                }
                SockFilter::stmt(BPF_LD | BPF_W | BPF_ABS, 4 * w)
            }
        }
        14..=19 => {
            let code = if rng.chance(1, 2) { BPF_LD } else { BPF_LDX } | BPF_IMM;
            SockFilter::stmt(code, interesting_k(rng, hints))
        }
        20 | 21 => SockFilter::stmt(
            if rng.chance(1, 2) { BPF_LD } else { BPF_LDX } | BPF_W | BPF_LEN,
            0,
        ),
        22..=26 => {
            let code = if rng.chance(1, 2) { BPF_LD } else { BPF_LDX } | BPF_MEM;
            SockFilter::stmt(code, cell(rng))
        }
        27..=30 => SockFilter::stmt(
            if rng.chance(1, 2) { BPF_ST } else { BPF_STX },
            rng.below(16) as u32,
        ),
        31..=52 => {
            if rng.chance(1, 12) {
                return SockFilter::stmt(BPF_ALU | BPF_NEG, 0);
            }
            let op = if cfg.classic && rng.chance(1, 8) {
                BPF_MOD
            } else {
                rng.pick(&ALU_OPS_SECCOMP)
            };
            if rng.chance(1, 3) {
                return SockFilter::stmt(BPF_ALU | op | BPF_X, 0);
            }
            let k = match op {
                BPF_LSH | BPF_RSH => rng.below(32) as u32,
                BPF_DIV | BPF_MOD => match interesting_k(rng, hints) {
                    0 => 1,
                    k => k,
                },
                BPF_AND if rng.chance(1, 3) => 0xffff,
                BPF_OR if rng.chance(1, 3) => action_value(rng) & 0xffff_0000,
                _ => interesting_k(rng, hints),
            };
            SockFilter::stmt(BPF_ALU | op | BPF_K, k)
        }
        53..=57 => SockFilter::stmt(
            BPF_MISC | if rng.chance(1, 2) { BPF_TAX } else { BPF_TXA },
            0,
        ),
        58..=62 => SockFilter::stmt(BPF_JMP | BPF_JA, rng.below(after.min(64) as u64) as u32),
        63..=93 => {
            let op = rng.pick(&JMP_OPS);
            let jt = rng.below(jump_span) as u8;
            let jf = rng.below(jump_span) as u8;
            if rng.chance(1, 4) {
                SockFilter::jump(BPF_JMP | op | BPF_X, 0, jt, jf)
            } else {
                SockFilter::jump(BPF_JMP | op | BPF_K, interesting_k(rng, hints), jt, jf)
            }
        }
        _ => ret_insn(rng),
    }
}

/// `ret #action` (mostly) or `ret a`.
pub fn ret_insn(rng: &mut Rng) -> SockFilter {
    if rng.chance(1, 4) {
        SockFilter::stmt(BPF_RET | BPF_A, 0)
    } else {
        SockFilter::stmt(BPF_RET | BPF_K, action_value(rng))
    }
}

/// A plausible program: optional guard prologue, some scratch stores, a
/// random body, then one to four returns. Valid by construction unless a
/// "wild" scratch load reads a cell that may be unwritten.
pub fn program(rng: &mut Rng, cfg: &GenConfig, hints: &[u32]) -> Vec<SockFilter> {
    let mut p = Vec::with_capacity(cfg.body + 12);
    if let Some(nr) = cfg.guard_nr {
        p.push(SockFilter::stmt(BPF_LD | BPF_W | BPF_ABS, SECCOMP_DATA_NR));
        p.push(SockFilter::jump(BPF_JMP | BPF_JEQ | BPF_K, nr, 1, 0));
        p.push(SockFilter::stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
    }
    let mut stored = 0u16;
    for _ in 0..rng.below(4) {
        let c = rng.below(16) as u32;
        stored |= 1 << c;
        if rng.chance(1, 2) {
            p.push(SockFilter::stmt(
                BPF_LD | BPF_IMM,
                interesting_k(rng, hints),
            ));
            p.push(SockFilter::stmt(BPF_ST, c));
        } else {
            p.push(SockFilter::stmt(
                BPF_LDX | BPF_IMM,
                interesting_k(rng, hints),
            ));
            p.push(SockFilter::stmt(BPF_STX, c));
        }
    }
    let tail = rng.range(1, 4);
    let total = p.len() + cfg.body + tail;
    for _ in 0..cfg.body {
        let pc = p.len();
        p.push(body_insn(rng, pc, total, stored, cfg, hints));
    }
    for _ in 0..tail {
        p.push(ret_insn(rng));
    }
    p
}

/// A short program made mostly of scratch stores and loads, returns and
/// jumps over two cells: it exercises `check_load_and_stores`, including the
/// quirk that a `ret` does not reset the running state (reference §2.4).
pub fn scratch_dense(rng: &mut Rng) -> Vec<SockFilter> {
    let len = rng.range(2, 10);
    let mut p = Vec::with_capacity(len);
    for pc in 0..len - 1 {
        let after = (len - pc - 1) as u64;
        let c = rng.below(2) as u32;
        p.push(match rng.below(10) {
            0 | 1 => SockFilter::stmt(if rng.chance(1, 2) { BPF_ST } else { BPF_STX }, c),
            2 | 3 => SockFilter::stmt(if rng.chance(1, 2) { BPF_LD } else { BPF_LDX } | BPF_MEM, c),
            4 => SockFilter::stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
            5 => SockFilter::stmt(BPF_JMP | BPF_JA, rng.below(after) as u32),
            6..=8 => SockFilter::jump(
                BPF_JMP | BPF_JEQ | BPF_K,
                0xffff_ffff,
                rng.below(after) as u8,
                rng.below(after) as u8,
            ),
            _ => SockFilter::stmt(BPF_LD | BPF_IMM, 1),
        });
    }
    p.push(SockFilter::stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
    p
}

/// The exact program of reference §2.4 that the kernel rejects although it
/// is safe.
pub fn ret_quirk_program() -> Vec<SockFilter> {
    vec![
        SockFilter::jump(BPF_JMP | BPF_JEQ | BPF_K, 0xffff_ffff, 0, 2),
        SockFilter::stmt(BPF_ST, 0),
        SockFilter::stmt(BPF_JMP | BPF_JA, 1),
        SockFilter::stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        SockFilter::stmt(BPF_LD | BPF_MEM, 0),
        SockFilter::stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    ]
}

/// Applies one random near-valid mutation to `p` (which may become empty
/// or change length).
pub fn mutate(rng: &mut Rng, p: &mut Vec<SockFilter>) {
    if p.is_empty() {
        p.push(SockFilter::stmt(BPF_RET | BPF_K, action_value(rng)));
        return;
    }
    let len = p.len();
    let i = rng.below(len as u64) as usize;
    match rng.below(13) {
        0 => p[i].code = rng.pick(&SECCOMP_CODES),
        1 => p[i].code = rng.pick(&CLASSIC_CODES),
        2 => p[i].code = rng.below(0x100) as u16,
        3 => {
            p[i].code = match rng.below(3) {
                0 => rng.next_u32() as u16,
                1 => rng.pick(&CLASSIC_CODES) | 0x8000,
                _ => rng.pick(&[
                    0x0d, 0x8c, 0x08, 0x0f, 0x0e, 0x1e, 0x21, 0x18, 0x38, 0xb2, 0xb0,
                ]),
            }
        }
        4 | 5 => p[i].k = rng.pick(&BOUNDARY_K),
        6 => p[i].k = rng.next_u32(),
        7 => {
            // Jump offsets around the end of the program.
            let edge = (len - i - 1) as i64 + rng.below(3) as i64 - 2;
            let v = edge.clamp(0, 255) as u8;
            if rng.chance(1, 2) {
                p[i].jt = v;
            } else {
                p[i].jf = v;
            }
            if p[i].code == BPF_JMP | BPF_JA {
                p[i].k = (edge.max(0) as u32).wrapping_add(rng.below(2) as u32);
            }
        }
        8 => {
            // The last instruction is not a return.
            let last = len - 1;
            p[last].code = rng.pick(&SECCOMP_CODES);
        }
        9 => {
            let at = rng.below(len as u64 + 1) as usize;
            let code = if rng.chance(1, 2) { BPF_LD } else { BPF_LDX } | BPF_MEM;
            p.insert(at, SockFilter::stmt(code, rng.below(17) as u32));
        }
        10 => {
            let j = rng.below(len as u64) as usize;
            p.swap(i, j);
        }
        11 => {
            // Fields the kernel ignores.
            p[i].jt = rng.next_u32() as u8;
            p[i].jf = rng.next_u32() as u8;
            if matches!(p[i].code, 0x16 | 0x07 | 0x87 | 0x84 | 0x80 | 0x81) {
                p[i].k = rng.next_u32();
            }
        }
        _ => {
            p.truncate(rng.below(len as u64 + 1) as usize);
        }
    }
}

/// A program of exactly `len` instructions: `len - 1` simple valid ones and
/// a final `ret`.
pub fn long_program(rng: &mut Rng, len: usize) -> Vec<SockFilter> {
    let mut p = Vec::with_capacity(len);
    for pc in 0..len.saturating_sub(1) {
        p.push(match rng.below(4) {
            0 => SockFilter::stmt(BPF_LD | BPF_W | BPF_ABS, 4 * rng.below(16) as u32),
            1 => SockFilter::stmt(BPF_ALU | BPF_ADD | BPF_K, rng.next_u32()),
            2 => SockFilter::jump(
                BPF_JMP | BPF_JEQ | BPF_K,
                rng.next_u32(),
                0,
                rng.below((len - pc - 1).min(256) as u64) as u8,
            ),
            _ => SockFilter::stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        });
    }
    if len > 0 {
        p.push(SockFilter::stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
    }
    p
}

/// One case for the verifier differential test: plausible programs with
/// 0–3 mutations, scratch-dense programs, empty, and 4095–4097 long ones.
pub fn verifier_case(rng: &mut Rng, classic: bool) -> Vec<SockFilter> {
    match rng.below(1000) {
        0..=4 => Vec::new(),
        5..=9 => {
            let len = rng.pick(&[4095, 4096, 4096, 4097]);
            let mut p = long_program(rng, len);
            if rng.chance(1, 3) {
                mutate(rng, &mut p);
            }
            p
        }
        10..=14 => ret_quirk_program(),
        15..=59 => {
            // One instruction of any code, then a return.
            let code = match rng.below(3) {
                0 => rng.pick(&CLASSIC_CODES),
                1 => rng.below(0x100) as u16,
                _ => rng.next_u32() as u16,
            };
            vec![
                SockFilter::jump(code, rng.pick(&BOUNDARY_K), rng.below(2) as u8, 0),
                SockFilter::stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
            ]
        }
        60..=249 => {
            let mut p = scratch_dense(rng);
            if rng.chance(1, 4) {
                mutate(rng, &mut p);
            }
            p
        }
        _ => {
            let cfg = GenConfig {
                classic: classic || rng.chance(1, 5),
                ..GenConfig::seccomp(rng.range(0, 30))
            };
            let mut p = program(rng, &cfg, &[]);
            for _ in 0..rng.below(4) {
                mutate(rng, &mut p);
            }
            p
        }
    }
}
