//! The classic BPF instruction: the kernel's `struct sock_filter`, the opcode
//! constants of `<linux/bpf_common.h>` and `<linux/filter.h>`, and a typed view
//! ([`Insn`]) of every code the kernel's classic checker accepts.

/// One classic BPF instruction, layout-identical to the kernel's
/// `struct sock_filter` (8 bytes, host byte order, no padding).
#[repr(C)]
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, Debug)]
pub struct SockFilter {
    /// The opcode: class, size/op, mode/source bits.
    pub code: u16,
    /// Jump offset when the condition holds (conditional jumps only).
    pub jt: u8,
    /// Jump offset when the condition fails (conditional jumps only).
    pub jf: u8,
    /// The generic operand: constant, offset, scratch index or jump distance.
    pub k: u32,
}

impl SockFilter {
    /// `BPF_STMT(code, k)`: an instruction with both jump offsets zero.
    pub const fn stmt(code: u16, k: u32) -> Self {
        SockFilter {
            code,
            jt: 0,
            jf: 0,
            k,
        }
    }

    /// `BPF_JUMP(code, k, jt, jf)`.
    pub const fn jump(code: u16, k: u32, jt: u8, jf: u8) -> Self {
        SockFilter { code, jt, jf, k }
    }

    /// The 8 bytes the kernel reads for this instruction, in host byte order.
    pub const fn to_ne_bytes(self) -> [u8; 8] {
        let c = self.code.to_ne_bytes();
        let k = self.k.to_ne_bytes();
        [c[0], c[1], self.jt, self.jf, k[0], k[1], k[2], k[3]]
    }

    /// Reads one instruction from 8 bytes in host byte order.
    pub const fn from_ne_bytes(b: [u8; 8]) -> Self {
        SockFilter {
            code: u16::from_ne_bytes([b[0], b[1]]),
            jt: b[2],
            jf: b[3],
            k: u32::from_ne_bytes([b[4], b[5], b[6], b[7]]),
        }
    }
}

/// Maximum number of instructions in one program (`BPF_MAXINSNS`).
pub const BPF_MAXINSNS: usize = 4096;
/// Number of 32-bit scratch memory cells `M[0..16]` (`BPF_MEMWORDS`).
pub const BPF_MEMWORDS: u32 = 16;

// Instruction classes.
/// Class: load into A.
pub const BPF_LD: u16 = 0x00;
/// Class: load into X.
pub const BPF_LDX: u16 = 0x01;
/// Class: store A into scratch memory.
pub const BPF_ST: u16 = 0x02;
/// Class: store X into scratch memory.
pub const BPF_STX: u16 = 0x03;
/// Class: arithmetic on A.
pub const BPF_ALU: u16 = 0x04;
/// Class: jumps.
pub const BPF_JMP: u16 = 0x05;
/// Class: return.
pub const BPF_RET: u16 = 0x06;
/// Class: register transfers (`tax`, `txa`).
pub const BPF_MISC: u16 = 0x07;

// Load sizes.
/// Size: 32-bit word.
pub const BPF_W: u16 = 0x00;
/// Size: 16-bit half word.
pub const BPF_H: u16 = 0x08;
/// Size: byte.
pub const BPF_B: u16 = 0x10;

// Load modes.
/// Mode: immediate constant.
pub const BPF_IMM: u16 = 0x00;
/// Mode: absolute offset into the packet / `seccomp_data`.
pub const BPF_ABS: u16 = 0x20;
/// Mode: offset relative to X.
pub const BPF_IND: u16 = 0x40;
/// Mode: scratch memory cell.
pub const BPF_MEM: u16 = 0x60;
/// Mode: packet length (64 in seccomp).
pub const BPF_LEN: u16 = 0x80;
/// Mode: IP header length hack (`ldxb 4*([k]&0xf)`).
pub const BPF_MSH: u16 = 0xa0;

// ALU operations.
/// ALU: addition.
pub const BPF_ADD: u16 = 0x00;
/// ALU: subtraction.
pub const BPF_SUB: u16 = 0x10;
/// ALU: multiplication.
pub const BPF_MUL: u16 = 0x20;
/// ALU: unsigned division.
pub const BPF_DIV: u16 = 0x30;
/// ALU: bitwise or.
pub const BPF_OR: u16 = 0x40;
/// ALU: bitwise and.
pub const BPF_AND: u16 = 0x50;
/// ALU: left shift.
pub const BPF_LSH: u16 = 0x60;
/// ALU: logical right shift.
pub const BPF_RSH: u16 = 0x70;
/// ALU: negation.
pub const BPF_NEG: u16 = 0x80;
/// ALU: unsigned remainder (classic only; seccomp rejects it).
pub const BPF_MOD: u16 = 0x90;
/// ALU: bitwise exclusive or.
pub const BPF_XOR: u16 = 0xa0;

// Jump operations.
/// Jump: unconditional, by `k`.
pub const BPF_JA: u16 = 0x00;
/// Jump: A == src.
pub const BPF_JEQ: u16 = 0x10;
/// Jump: A > src (unsigned).
pub const BPF_JGT: u16 = 0x20;
/// Jump: A >= src (unsigned).
pub const BPF_JGE: u16 = 0x30;
/// Jump: (A & src) != 0.
pub const BPF_JSET: u16 = 0x40;

// Operand source.
/// Source: the constant `k`.
pub const BPF_K: u16 = 0x00;
/// Source: register X.
pub const BPF_X: u16 = 0x08;
/// Return source: register A.
pub const BPF_A: u16 = 0x10;

// Misc operations.
/// Misc: X = A.
pub const BPF_TAX: u16 = 0x00;
/// Misc: A = X.
pub const BPF_TXA: u16 = 0x80;

/// `BPF_CLASS(code)`.
pub const fn bpf_class(code: u16) -> u16 {
    code & 0x07
}
/// `BPF_SIZE(code)`.
pub const fn bpf_size(code: u16) -> u16 {
    code & 0x18
}
/// `BPF_MODE(code)`.
pub const fn bpf_mode(code: u16) -> u16 {
    code & 0xe0
}
/// `BPF_OP(code)`.
pub const fn bpf_op(code: u16) -> u16 {
    code & 0xf0
}
/// `BPF_SRC(code)`.
pub const fn bpf_src(code: u16) -> u16 {
    code & 0x08
}
/// `BPF_RVAL(code)`.
pub const fn bpf_rval(code: u16) -> u16 {
    code & 0x18
}
/// `BPF_MISCOP(code)`.
pub const fn bpf_miscop(code: u16) -> u16 {
    code & 0xf8
}

/// Start of the ancillary-data offsets of socket filters (`SKF_AD_OFF`, -0x1000).
pub const SKF_AD_OFF: u32 = 0xffff_f000;
/// `SKF_AD_PROTOCOL`.
pub const SKF_AD_PROTOCOL: u32 = 0;
/// `SKF_AD_PKTTYPE`.
pub const SKF_AD_PKTTYPE: u32 = 4;
/// `SKF_AD_IFINDEX`.
pub const SKF_AD_IFINDEX: u32 = 8;
/// `SKF_AD_NLATTR`.
pub const SKF_AD_NLATTR: u32 = 12;
/// `SKF_AD_NLATTR_NEST`.
pub const SKF_AD_NLATTR_NEST: u32 = 16;
/// `SKF_AD_MARK`.
pub const SKF_AD_MARK: u32 = 20;
/// `SKF_AD_QUEUE`.
pub const SKF_AD_QUEUE: u32 = 24;
/// `SKF_AD_HATYPE`.
pub const SKF_AD_HATYPE: u32 = 28;
/// `SKF_AD_RXHASH`.
pub const SKF_AD_RXHASH: u32 = 32;
/// `SKF_AD_CPU`.
pub const SKF_AD_CPU: u32 = 36;
/// `SKF_AD_ALU_XOR_X`.
pub const SKF_AD_ALU_XOR_X: u32 = 40;
/// `SKF_AD_VLAN_TAG`.
pub const SKF_AD_VLAN_TAG: u32 = 44;
/// `SKF_AD_VLAN_TAG_PRESENT`.
pub const SKF_AD_VLAN_TAG_PRESENT: u32 = 48;
/// `SKF_AD_PAY_OFFSET`.
pub const SKF_AD_PAY_OFFSET: u32 = 52;
/// `SKF_AD_RANDOM`.
pub const SKF_AD_RANDOM: u32 = 56;
/// `SKF_AD_VLAN_TPID`.
pub const SKF_AD_VLAN_TPID: u32 = 60;
/// `SKF_AD_MAX`: first offset past the known ancillary loads.
pub const SKF_AD_MAX: u32 = 64;

/// Load width of `ld`, `ldh`, `ldb`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Size {
    /// 32 bits (`BPF_W`).
    W,
    /// 16 bits (`BPF_H`).
    H,
    /// 8 bits (`BPF_B`).
    B,
}

impl Size {
    /// The `BPF_SIZE` bits.
    pub const fn bits(self) -> u16 {
        match self {
            Size::W => BPF_W,
            Size::H => BPF_H,
            Size::B => BPF_B,
        }
    }
}

/// An ALU operation (`BPF_OP` of class `BPF_ALU`), except `BPF_NEG`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum AluOp {
    /// `add`.
    Add,
    /// `sub`.
    Sub,
    /// `mul`.
    Mul,
    /// `div` (unsigned).
    Div,
    /// `mod` (unsigned; classic only).
    Mod,
    /// `and`.
    And,
    /// `or`.
    Or,
    /// `xor`.
    Xor,
    /// `lsh`.
    Lsh,
    /// `rsh` (logical).
    Rsh,
}

impl AluOp {
    /// All ALU operations with a source operand.
    pub const ALL: [AluOp; 10] = [
        AluOp::Add,
        AluOp::Sub,
        AluOp::Mul,
        AluOp::Div,
        AluOp::Mod,
        AluOp::And,
        AluOp::Or,
        AluOp::Xor,
        AluOp::Lsh,
        AluOp::Rsh,
    ];

    /// The `BPF_OP` bits.
    pub const fn bits(self) -> u16 {
        match self {
            AluOp::Add => BPF_ADD,
            AluOp::Sub => BPF_SUB,
            AluOp::Mul => BPF_MUL,
            AluOp::Div => BPF_DIV,
            AluOp::Mod => BPF_MOD,
            AluOp::And => BPF_AND,
            AluOp::Or => BPF_OR,
            AluOp::Xor => BPF_XOR,
            AluOp::Lsh => BPF_LSH,
            AluOp::Rsh => BPF_RSH,
        }
    }

    /// The `bpf_asm` mnemonic.
    pub const fn mnemonic(self) -> &'static str {
        match self {
            AluOp::Add => "add",
            AluOp::Sub => "sub",
            AluOp::Mul => "mul",
            AluOp::Div => "div",
            AluOp::Mod => "mod",
            AluOp::And => "and",
            AluOp::Or => "or",
            AluOp::Xor => "xor",
            AluOp::Lsh => "lsh",
            AluOp::Rsh => "rsh",
        }
    }

    const fn from_bits(op: u16) -> Option<AluOp> {
        Some(match op {
            BPF_ADD => AluOp::Add,
            BPF_SUB => AluOp::Sub,
            BPF_MUL => AluOp::Mul,
            BPF_DIV => AluOp::Div,
            BPF_MOD => AluOp::Mod,
            BPF_AND => AluOp::And,
            BPF_OR => AluOp::Or,
            BPF_XOR => AluOp::Xor,
            BPF_LSH => AluOp::Lsh,
            BPF_RSH => AluOp::Rsh,
            _ => return None,
        })
    }
}

/// A conditional jump comparison (`BPF_OP` of class `BPF_JMP`, except `BPF_JA`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum JmpOp {
    /// `jeq`: A == src.
    Jeq,
    /// `jgt`: A > src, unsigned.
    Jgt,
    /// `jge`: A >= src, unsigned.
    Jge,
    /// `jset`: (A & src) != 0.
    Jset,
}

impl JmpOp {
    /// All conditional jump operations.
    pub const ALL: [JmpOp; 4] = [JmpOp::Jeq, JmpOp::Jgt, JmpOp::Jge, JmpOp::Jset];

    /// The `BPF_OP` bits.
    pub const fn bits(self) -> u16 {
        match self {
            JmpOp::Jeq => BPF_JEQ,
            JmpOp::Jgt => BPF_JGT,
            JmpOp::Jge => BPF_JGE,
            JmpOp::Jset => BPF_JSET,
        }
    }

    /// The `bpf_asm` mnemonic.
    pub const fn mnemonic(self) -> &'static str {
        match self {
            JmpOp::Jeq => "jeq",
            JmpOp::Jgt => "jgt",
            JmpOp::Jge => "jge",
            JmpOp::Jset => "jset",
        }
    }

    /// Evaluates the comparison on unsigned 32-bit values.
    pub const fn holds(self, a: u32, src: u32) -> bool {
        match self {
            JmpOp::Jeq => a == src,
            JmpOp::Jgt => a > src,
            JmpOp::Jge => a >= src,
            JmpOp::Jset => a & src != 0,
        }
    }
}

/// The second operand of an ALU operation or conditional jump.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Src {
    /// The constant `k` (`BPF_K`).
    K(u32),
    /// Register X (`BPF_X`).
    X,
}

/// A typed classic BPF instruction.
///
/// Every one of the 49 codes accepted by the kernel's classic checker
/// (`chk_code_allowed`) decodes to a typed variant; `ret x` (which `bpf_asm`
/// emits but the kernel rejects) too. Any other code, and any instruction whose
/// ignored fields (for example `jt`/`jf` of a non-jump) are not zero, decodes to
/// [`Insn::Raw`], so that [`Insn::decode`] followed by [`Insn::encode`] always
/// gives back the same [`SockFilter`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Insn {
    /// `ld #k`: A = k.
    LdImm(u32),
    /// `ldx #k`: X = k.
    LdxImm(u32),
    /// `ld/ldh/ldb [k]`: A = data at absolute offset k (ancillary when k >= `SKF_AD_OFF`).
    LdAbs(Size, u32),
    /// `ld/ldh/ldb [x+k]`: A = packet data at X + k (classic only).
    LdInd(Size, u32),
    /// `ld #len`: A = packet length (64 in seccomp).
    LdLen,
    /// `ldx #len`: X = packet length (64 in seccomp).
    LdxLen,
    /// `ld M[k]`: A = scratch cell k.
    LdMem(u32),
    /// `ldx M[k]`: X = scratch cell k.
    LdxMem(u32),
    /// `ldxb 4*([k]&0xf)`: X = IP header length (classic only).
    LdxMsh(u32),
    /// `st M[k]`: scratch cell k = A.
    St(u32),
    /// `stx M[k]`: scratch cell k = X.
    Stx(u32),
    /// `add/sub/... #k|x`: A = A op src.
    Alu(AluOp, Src),
    /// `neg`: A = -A.
    Neg,
    /// `ja`: pc += 1 + k.
    Ja(u32),
    /// `jeq/jgt/jge/jset`: pc += 1 + (cond ? jt : jf).
    Jmp {
        /// The comparison.
        op: JmpOp,
        /// What A is compared against.
        src: Src,
        /// Offset when true.
        jt: u8,
        /// Offset when false.
        jf: u8,
    },
    /// `ret #k`.
    RetK(u32),
    /// `ret a`.
    RetA,
    /// `ret x` (code 0x0e: the kernel rejects it).
    RetX,
    /// `tax`: X = A.
    Tax,
    /// `txa`: A = X.
    Txa,
    /// Anything else, kept as it was.
    Raw(SockFilter),
}

impl Insn {
    /// Decodes an instruction; see the type's documentation for when the
    /// result is [`Insn::Raw`].
    pub const fn decode(f: SockFilter) -> Insn {
        let k = f.k;
        let nojump = f.jt == 0 && f.jf == 0;
        let typed = match f.code {
            0x00 => Insn::LdImm(k),
            0x01 => Insn::LdxImm(k),
            0x20 => Insn::LdAbs(Size::W, k),
            0x28 => Insn::LdAbs(Size::H, k),
            0x30 => Insn::LdAbs(Size::B, k),
            0x40 => Insn::LdInd(Size::W, k),
            0x48 => Insn::LdInd(Size::H, k),
            0x50 => Insn::LdInd(Size::B, k),
            0x80 if k == 0 => Insn::LdLen,
            0x81 if k == 0 => Insn::LdxLen,
            0x60 => Insn::LdMem(k),
            0x61 => Insn::LdxMem(k),
            0xb1 => Insn::LdxMsh(k),
            0x02 => Insn::St(k),
            0x03 => Insn::Stx(k),
            0x84 if k == 0 => Insn::Neg,
            0x05 => Insn::Ja(k),
            0x06 => Insn::RetK(k),
            0x16 if k == 0 => Insn::RetA,
            0x0e if k == 0 => Insn::RetX,
            0x07 if k == 0 => Insn::Tax,
            0x87 if k == 0 => Insn::Txa,
            code if bpf_class(code) == BPF_ALU && code & !0xf8 == BPF_ALU => {
                match AluOp::from_bits(bpf_op(code)) {
                    Some(op) if bpf_src(code) == BPF_K => Insn::Alu(op, Src::K(k)),
                    Some(op) if k == 0 => Insn::Alu(op, Src::X),
                    _ => return Insn::Raw(f),
                }
            }
            code if bpf_class(code) == BPF_JMP && code & !0xf8 == BPF_JMP => {
                let op = match bpf_op(code) {
                    BPF_JEQ => JmpOp::Jeq,
                    BPF_JGT => JmpOp::Jgt,
                    BPF_JGE => JmpOp::Jge,
                    BPF_JSET => JmpOp::Jset,
                    _ => return Insn::Raw(f),
                };
                let src = if bpf_src(code) == BPF_K {
                    Src::K(k)
                } else if k == 0 {
                    Src::X
                } else {
                    return Insn::Raw(f);
                };
                return Insn::Jmp {
                    op,
                    src,
                    jt: f.jt,
                    jf: f.jf,
                };
            }
            _ => return Insn::Raw(f),
        };
        if nojump {
            typed
        } else {
            Insn::Raw(f)
        }
    }

    /// Encodes the instruction as the kernel reads it.
    pub const fn encode(self) -> SockFilter {
        match self {
            Insn::LdImm(k) => SockFilter::stmt(BPF_LD | BPF_W | BPF_IMM, k),
            Insn::LdxImm(k) => SockFilter::stmt(BPF_LDX | BPF_W | BPF_IMM, k),
            Insn::LdAbs(s, k) => SockFilter::stmt(BPF_LD | s.bits() | BPF_ABS, k),
            Insn::LdInd(s, k) => SockFilter::stmt(BPF_LD | s.bits() | BPF_IND, k),
            Insn::LdLen => SockFilter::stmt(BPF_LD | BPF_W | BPF_LEN, 0),
            Insn::LdxLen => SockFilter::stmt(BPF_LDX | BPF_W | BPF_LEN, 0),
            Insn::LdMem(k) => SockFilter::stmt(BPF_LD | BPF_MEM, k),
            Insn::LdxMem(k) => SockFilter::stmt(BPF_LDX | BPF_MEM, k),
            Insn::LdxMsh(k) => SockFilter::stmt(BPF_LDX | BPF_B | BPF_MSH, k),
            Insn::St(k) => SockFilter::stmt(BPF_ST, k),
            Insn::Stx(k) => SockFilter::stmt(BPF_STX, k),
            Insn::Alu(op, Src::K(k)) => SockFilter::stmt(BPF_ALU | op.bits() | BPF_K, k),
            Insn::Alu(op, Src::X) => SockFilter::stmt(BPF_ALU | op.bits() | BPF_X, 0),
            Insn::Neg => SockFilter::stmt(BPF_ALU | BPF_NEG, 0),
            Insn::Ja(k) => SockFilter::stmt(BPF_JMP | BPF_JA, k),
            Insn::Jmp { op, src, jt, jf } => match src {
                Src::K(k) => SockFilter::jump(BPF_JMP | op.bits() | BPF_K, k, jt, jf),
                Src::X => SockFilter::jump(BPF_JMP | op.bits() | BPF_X, 0, jt, jf),
            },
            Insn::RetK(k) => SockFilter::stmt(BPF_RET | BPF_K, k),
            Insn::RetA => SockFilter::stmt(BPF_RET | BPF_A, 0),
            Insn::RetX => SockFilter::stmt(BPF_RET | BPF_X, 0),
            Insn::Tax => SockFilter::stmt(BPF_MISC | BPF_TAX, 0),
            Insn::Txa => SockFilter::stmt(BPF_MISC | BPF_TXA, 0),
            Insn::Raw(f) => f,
        }
    }
}

/// The 49 opcodes the kernel's classic checker accepts (`chk_code_allowed`),
/// in ascending order.
pub const CLASSIC_CODES: [u16; 49] = [
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x0c, 0x14, 0x15, 0x16, 0x1c, 0x1d, 0x20, 0x24,
    0x25, 0x28, 0x2c, 0x2d, 0x30, 0x34, 0x35, 0x3c, 0x3d, 0x40, 0x44, 0x45, 0x48, 0x4c, 0x4d, 0x50,
    0x54, 0x5c, 0x60, 0x61, 0x64, 0x6c, 0x74, 0x7c, 0x80, 0x81, 0x84, 0x87, 0x94, 0x9c, 0xa4, 0xac,
    0xb1,
];

/// The 41 opcodes `seccomp_check_filter` accepts, in ascending order.
pub const SECCOMP_CODES: [u16; 41] = [
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x0c, 0x14, 0x15, 0x16, 0x1c, 0x1d, 0x20, 0x24,
    0x25, 0x2c, 0x2d, 0x34, 0x35, 0x3c, 0x3d, 0x44, 0x45, 0x4c, 0x4d, 0x54, 0x5c, 0x60, 0x61, 0x64,
    0x6c, 0x74, 0x7c, 0x80, 0x81, 0x84, 0x87, 0xa4, 0xac,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sock_filter_layout_matches_kernel() {
        assert_eq!(core::mem::size_of::<SockFilter>(), 8);
        assert_eq!(core::mem::align_of::<SockFilter>(), 4);
        assert_eq!(core::mem::offset_of!(SockFilter, code), 0);
        assert_eq!(core::mem::offset_of!(SockFilter, jt), 2);
        assert_eq!(core::mem::offset_of!(SockFilter, jf), 3);
        assert_eq!(core::mem::offset_of!(SockFilter, k), 4);
        let f = SockFilter::jump(0x15, 0xc000_003e, 1, 2);
        let bytes = f.to_ne_bytes();
        // The C layout, field by field at the offsets checked above.
        let mut raw = [0u8; 8];
        raw[0..2].copy_from_slice(&f.code.to_ne_bytes());
        raw[2] = f.jt;
        raw[3] = f.jf;
        raw[4..8].copy_from_slice(&f.k.to_ne_bytes());
        assert_eq!(bytes, raw);
        assert_eq!(SockFilter::from_ne_bytes(bytes), f);
    }

    #[test]
    fn every_classic_code_decodes_typed_and_round_trips() {
        for &code in CLASSIC_CODES.iter() {
            let f = SockFilter::stmt(code, 0);
            let insn = Insn::decode(f);
            assert!(!matches!(insn, Insn::Raw(_)), "code {code:#x} decoded raw");
            assert_eq!(insn.encode(), f);
        }
        for &code in SECCOMP_CODES.iter() {
            assert!(CLASSIC_CODES.contains(&code));
        }
        // Ascending without repeats: bpf-vm searches them by bisection.
        assert!(CLASSIC_CODES.windows(2).all(|w| w[0] < w[1]));
        assert!(SECCOMP_CODES.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn decode_encode_is_lossless_for_all_codes_and_fields() {
        let ks = [0u32, 1, 5, 0x7fff_0000, 0xffff_ffff];
        let js = [0u8, 1, 255];
        for code in 0..=0xffffu16 {
            if code > 0x200 && code % 97 != 0 {
                continue;
            }
            for &k in &ks {
                for &jt in &js {
                    for &jf in &js {
                        let f = SockFilter::jump(code, k, jt, jf);
                        assert_eq!(Insn::decode(f).encode(), f);
                    }
                }
            }
        }
    }

    #[test]
    fn non_canonical_fields_stay_raw() {
        // libpcap emits k on TAX; the kernel ignores it, we keep it.
        let f = SockFilter::stmt(BPF_MISC | BPF_TAX, 5);
        assert_eq!(Insn::decode(f), Insn::Raw(f));
        let f = SockFilter::jump(BPF_RET | BPF_K, 0, 1, 0);
        assert_eq!(Insn::decode(f), Insn::Raw(f));
        assert_eq!(
            Insn::decode(SockFilter::stmt(0x8006, 0)),
            Insn::Raw(SockFilter::stmt(0x8006, 0))
        );
    }
}
