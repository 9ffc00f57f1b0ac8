//! The parser: one statement (optional `label:` and one instruction) at a
//! time, following the grammar of the kernel's `tools/bpf/bpf_exp.y` plus the
//! documented superset. Jump targets stay label references; the assembler
//! resolves them.

use super::error::{AsmErrorKind as Kind, Fail, Name};
use super::lex::{next, Op, Tok, Token};
use super::symbols;
use super::AsmOptions;
use crate::insn::*;

/// One parsed statement.
#[derive(Clone, Copy)]
pub(crate) struct Stmt {
    /// The label defined on this instruction, if any.
    pub label: Option<Token>,
    /// Offset of the mnemonic.
    pub start: usize,
    /// The instruction, with jump fields still 0 where labels go.
    pub insn: SockFilter,
    /// Label for `jt`.
    pub jt: Option<Token>,
    /// Label for `jf`.
    pub jf: Option<Token>,
    /// Label for `k` (`ja`).
    pub ja: Option<Token>,
    /// Offset just past the statement.
    pub end: usize,
}

/// Unwraps a `Result` in `const fn` (where `?` is not available).
macro_rules! tri {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(e) => return Err(e),
        }
    };
}
pub(crate) use tri;

/// A position in the source with the parse context.
struct Cur<'a> {
    src: &'a [u8],
    pos: usize,
    opts: Option<&'a AsmOptions>,
}

/// A small tag for comparing token kinds in `const` code.
const fn kind_id(t: Tok) -> u8 {
    match t {
        Tok::Op(_) => 0,
        Tok::PktLen => 1,
        Tok::Ext(_) => 2,
        Tok::Colon => 3,
        Tok::Comma => 4,
        Tok::Hash => 5,
        Tok::Percent => 6,
        Tok::LBrack => 7,
        Tok::RBrack => 8,
        Tok::LParen => 9,
        Tok::RParen => 10,
        Tok::X => 11,
        Tok::A => 12,
        Tok::Plus => 13,
        Tok::M => 14,
        Tok::Star => 15,
        Tok::Amp => 16,
        Tok::Number(_) => 17,
        Tok::Label => 18,
        Tok::Insn => 19,
        Tok::Eof => 20,
    }
}

const fn unexpected(t: Token, expected: &'static str) -> Fail {
    Fail::at(
        t.start,
        Kind::UnexpectedToken {
            expected,
            found: t.tok.describe(),
        },
    )
}

impl<'a> Cur<'a> {
    const fn peek(&self) -> Result<Token, Fail> {
        next(self.src, self.pos)
    }

    const fn bump(&mut self) -> Result<Token, Fail> {
        let t = tri!(next(self.src, self.pos));
        self.pos = t.end;
        Ok(t)
    }

    /// Consumes a token of the same kind as `want`, or fails saying `what`.
    const fn expect(&mut self, want: Tok, what: &'static str) -> Result<Token, Fail> {
        let t = tri!(self.bump());
        if kind_id(t.tok) == kind_id(want) {
            Ok(t)
        } else {
            Err(unexpected(t, what))
        }
    }

    const fn number(&mut self) -> Result<u32, Fail> {
        let t = tri!(self.bump());
        match t.tok {
            Tok::Number(v) => Ok(v),
            _ => Err(unexpected(t, "a number")),
        }
    }

    /// A value after `#` (or, where allowed, bare): a number or, in the
    /// superset, a symbolic constant or action.
    const fn value(&mut self, t: Token) -> Result<u32, Fail> {
        match t.tok {
            Tok::Number(v) => Ok(v),
            Tok::Label => self.symbol(t),
            _ => Err(unexpected(t, "a number")),
        }
    }

    const fn symbol(&mut self, t: Token) -> Result<u32, Fail> {
        let arch = match self.opts {
            Some(o) => Some(o.arch),
            None => None,
        };
        if let Some(act) = symbols::action(self.src, t.start, t.end) {
            let open = tri!(self.peek());
            if !matches!(open.tok, Tok::LParen) {
                return Ok(act.base);
            }
            if !act.takes_data {
                return Err(Fail::at(
                    open.start,
                    Kind::ActionTakesNoValue(Name::new(self.src, t.start, t.end)),
                ));
            }
            self.pos = open.end;
            let d = tri!(self.bump());
            let data = match d.tok {
                Tok::Number(v) => v,
                Tok::Label if act.is_errno => {
                    match symbols::errno(self.src, d.start, d.end, arch) {
                        Ok(v) => v,
                        Err(kind) => return Err(Fail::at(d.start, kind)),
                    }
                }
                _ => return Err(unexpected(d, "a number")),
            };
            if data > SECCOMP_RET_DATA {
                return Err(Fail::at(
                    d.start,
                    Kind::ValueOutOfRange {
                        what: "the value of a return action",
                        max: SECCOMP_RET_DATA,
                    },
                ));
            }
            tri!(self.expect(Tok::RParen, "')'"));
            return Ok(act.base | data);
        }
        match symbols::constant(self.src, t.start, t.end, arch) {
            Ok(v) => Ok(v),
            Err(kind) => Err(Fail::at(t.start, kind)),
        }
    }

    /// `x` or `%x` after a first token that was not `#`.
    const fn reg_x(&mut self, t: Token, what: &'static str) -> Result<(), Fail> {
        match t.tok {
            Tok::X => Ok(()),
            Tok::Percent => {
                tri!(self.expect(Tok::X, "'x'"));
                Ok(())
            }
            _ => Err(unexpected(t, what)),
        }
    }

    /// The source operand of an ALU op or jump: `#k` or `x`/`%x`.
    /// Returns the `BPF_K`/`BPF_X` bit and k.
    const fn src_operand(&mut self) -> Result<(u16, u32), Fail> {
        let t = tri!(self.bump());
        if let Tok::Hash = t.tok {
            let v = tri!(self.bump());
            let k = tri!(self.value(v));
            return Ok((BPF_K, k));
        }
        tri!(self.reg_x(t, "'#' and a value, or 'x'"));
        Ok((BPF_X, 0))
    }

    /// After `[`: `x+k]`, `%x+k]`, `k]`, superset `x+k` without spaces
    /// (`[x+1]`, `[x-1]`) and `seccomp_data` field names. Returns the mode
    /// (`BPF_IND` or `BPF_ABS`) and k.
    const fn bracket(&mut self) -> Result<(u16, u32), Fail> {
        let t = tri!(self.bump());
        let (mode, k) = match t.tok {
            Tok::X | Tok::Percent => {
                if let Tok::Percent = t.tok {
                    tri!(self.expect(Tok::X, "'x'"));
                }
                let p = tri!(self.bump());
                let k = match p.tok {
                    Tok::Plus => tri!(self.number()),
                    // `x+1` lexes as `x` and the signed number `+1`.
                    Tok::Number(v) if self.src[p.start] == b'+' || self.src[p.start] == b'-' => v,
                    _ => return Err(unexpected(p, "'+'")),
                };
                (BPF_IND, k)
            }
            Tok::Number(v) => (BPF_ABS, v),
            Tok::Label => {
                let endian = match self.opts {
                    Some(o) => o.endian,
                    None => crate::Endian::Little,
                };
                match symbols::field_offset(self.src, t.start, t.end, endian) {
                    Some(off) => (BPF_ABS, off),
                    None => {
                        return Err(Fail::at(
                            t.start,
                            Kind::UnknownField(Name::new(self.src, t.start, t.end)),
                        ))
                    }
                }
            }
            _ => {
                return Err(unexpected(
                    t,
                    "an offset, 'x+offset' or a seccomp_data field",
                ))
            }
        };
        tri!(self.expect(Tok::RBrack, "']'"));
        Ok((mode, k))
    }

    /// `M[k]` after the `M`.
    const fn mem(&mut self) -> Result<u32, Fail> {
        tri!(self.expect(Tok::LBrack, "'['"));
        let k = tri!(self.number());
        tri!(self.expect(Tok::RBrack, "']'"));
        Ok(k)
    }

    /// `4*([k]&0xf)` after the `4` token; checks the literals like the
    /// kernel's bpf_asm.
    const fn msh(&mut self, four: Token) -> Result<u32, Fail> {
        tri!(self.expect(Tok::Star, "'*'"));
        tri!(self.expect(Tok::LParen, "'('"));
        tri!(self.expect(Tok::LBrack, "'['"));
        let k = tri!(self.number());
        tri!(self.expect(Tok::RBrack, "']'"));
        tri!(self.expect(Tok::Amp, "'&'"));
        let m = tri!(self.bump());
        let mask = match m.tok {
            Tok::Number(v) => v,
            _ => return Err(unexpected(m, "a number")),
        };
        tri!(self.expect(Tok::RParen, "')'"));
        if !matches!(four.tok, Tok::Number(4)) {
            return Err(Fail::at(four.start, Kind::LdxbOffset));
        }
        if mask != 0xf {
            return Err(Fail::at(m.start, Kind::LdxbOffset));
        }
        Ok(k)
    }

    const fn label_ref(&mut self) -> Result<Token, Fail> {
        self.expect(Tok::Label, "a label")
    }

    /// A number for a field of `.insn`, at most `max`.
    const fn insn_field(&mut self, what: &'static str, max: u32) -> Result<u32, Fail> {
        let t = tri!(self.bump());
        let v = tri!(self.value(t));
        if v > max {
            return Err(Fail::at(t.start, Kind::ValueOutOfRange { what, max }));
        }
        Ok(v)
    }
}

/// Parses the statement starting at or after `pos`; `None` at the end of
/// the input. With `opts` `None` only the structure is checked (names that
/// depend on the architecture are not resolved).
pub(crate) const fn statement(
    src: &[u8],
    pos: usize,
    opts: Option<&AsmOptions>,
) -> Result<Option<Stmt>, Fail> {
    let mut c = Cur { src, pos, opts };
    let mut t = tri!(c.bump());
    if let Tok::Eof = t.tok {
        return Ok(None);
    }
    let mut label = None;
    if let Tok::Label = t.tok {
        let colon = tri!(c.peek());
        if !matches!(colon.tok, Tok::Colon) {
            return Err(Fail::at(
                t.start,
                Kind::UnknownInstruction(Name::new(src, t.start, t.end)),
            ));
        }
        c.pos = colon.end;
        label = Some(t);
        t = tri!(c.bump());
    }
    let mut s = Stmt {
        label,
        start: t.start,
        insn: SockFilter::stmt(0, 0),
        jt: None,
        jf: None,
        ja: None,
        end: 0,
    };
    let op = match t.tok {
        Tok::Op(op) => op,
        Tok::Insn => {
            let code = tri!(c.insn_field("the code of .insn", 0xffff));
            tri!(c.expect(Tok::Comma, "','"));
            let jt = tri!(c.insn_field("jt of .insn", 255));
            tri!(c.expect(Tok::Comma, "','"));
            let jf = tri!(c.insn_field("jf of .insn", 255));
            tri!(c.expect(Tok::Comma, "','"));
            let k = tri!(c.insn_field("k of .insn", u32::MAX));
            s.insn = SockFilter::jump(code as u16, k, jt as u8, jf as u8);
            s.end = c.pos;
            return Ok(Some(s));
        }
        _ => {
            let what = if label.is_some() {
                "an instruction after the label"
            } else {
                "an instruction or a label"
            };
            return Err(unexpected(t, what));
        }
    };
    let insn = match op {
        Op::Ldb | Op::Ldh => {
            let size = if matches!(op, Op::Ldb) { BPF_B } else { BPF_H };
            let a = tri!(c.bump());
            match a.tok {
                Tok::LBrack => {
                    let (mode, k) = tri!(c.bracket());
                    SockFilter::stmt(BPF_LD | size | mode, k)
                }
                Tok::Ext(v) => {
                    SockFilter::stmt(BPF_LD | size | BPF_ABS, SKF_AD_OFF.wrapping_add(v))
                }
                _ => return Err(unexpected(a, "'[' or an extension such as #proto")),
            }
        }
        Op::Ld => {
            let a = tri!(c.bump());
            match a.tok {
                Tok::Hash => {
                    let v = tri!(c.bump());
                    SockFilter::stmt(BPF_LD | BPF_IMM, tri!(c.value(v)))
                }
                Tok::PktLen => SockFilter::stmt(BPF_LD | BPF_W | BPF_LEN, 0),
                Tok::Ext(v) => {
                    SockFilter::stmt(BPF_LD | BPF_W | BPF_ABS, SKF_AD_OFF.wrapping_add(v))
                }
                Tok::M => SockFilter::stmt(BPF_LD | BPF_MEM, tri!(c.mem())),
                Tok::LBrack => {
                    let (mode, k) = tri!(c.bracket());
                    SockFilter::stmt(BPF_LD | BPF_W | mode, k)
                }
                _ => return Err(unexpected(a, "'#', '[', 'M[', #len or an extension")),
            }
        }
        Op::Ldi | Op::Ldxi => {
            let class = if matches!(op, Op::Ldi) {
                BPF_LD
            } else {
                BPF_LDX
            };
            let mut v = tri!(c.bump());
            if let Tok::Hash = v.tok {
                v = tri!(c.bump());
            }
            SockFilter::stmt(class | BPF_IMM, tri!(c.value(v)))
        }
        Op::Ldx => {
            let a = tri!(c.bump());
            match a.tok {
                Tok::Hash => {
                    let v = tri!(c.bump());
                    SockFilter::stmt(BPF_LDX | BPF_IMM, tri!(c.value(v)))
                }
                Tok::PktLen => SockFilter::stmt(BPF_LDX | BPF_W | BPF_LEN, 0),
                Tok::M => SockFilter::stmt(BPF_LDX | BPF_MEM, tri!(c.mem())),
                Tok::Number(_) => SockFilter::stmt(BPF_LDX | BPF_MSH | BPF_B, tri!(c.msh(a))),
                _ => return Err(unexpected(a, "'#', 'M[', #len or 4*([k]&0xf)")),
            }
        }
        Op::Ldxb => {
            let a = tri!(c.bump());
            match a.tok {
                Tok::Number(_) => SockFilter::stmt(BPF_LDX | BPF_MSH | BPF_B, tri!(c.msh(a))),
                _ => return Err(unexpected(a, "4*([k]&0xf)")),
            }
        }
        Op::St | Op::Stx => {
            let class = if matches!(op, Op::St) {
                BPF_ST
            } else {
                BPF_STX
            };
            tri!(c.expect(Tok::M, "'M['"));
            SockFilter::stmt(class, tri!(c.mem()))
        }
        Op::Jmp => {
            s.ja = Some(tri!(c.label_ref()));
            SockFilter::stmt(BPF_JMP | BPF_JA, 0)
        }
        Op::Jeq | Op::Jgt | Op::Jge | Op::Jset => {
            let jop = match op {
                Op::Jeq => BPF_JEQ,
                Op::Jgt => BPF_JGT,
                Op::Jge => BPF_JGE,
                _ => BPF_JSET,
            };
            let (srcbit, k) = tri!(c.src_operand());
            tri!(c.expect(Tok::Comma, "','"));
            s.jt = Some(tri!(c.label_ref()));
            let comma = tri!(c.peek());
            if let Tok::Comma = comma.tok {
                c.pos = comma.end;
                s.jf = Some(tri!(c.label_ref()));
            }
            SockFilter::stmt(BPF_JMP | jop | srcbit, k)
        }
        Op::Jneq | Op::Jlt | Op::Jle => {
            let jop = match op {
                Op::Jneq => BPF_JEQ,
                Op::Jlt => BPF_JGE,
                _ => BPF_JGT,
            };
            let (srcbit, k) = tri!(c.src_operand());
            tri!(c.expect(Tok::Comma, "','"));
            s.jf = Some(tri!(c.label_ref()));
            SockFilter::stmt(BPF_JMP | jop | srcbit, k)
        }
        Op::Add
        | Op::Sub
        | Op::Mul
        | Op::Div
        | Op::Mod
        | Op::And
        | Op::Or
        | Op::Xor
        | Op::Lsh
        | Op::Rsh => {
            let aop = match op {
                Op::Add => BPF_ADD,
                Op::Sub => BPF_SUB,
                Op::Mul => BPF_MUL,
                Op::Div => BPF_DIV,
                Op::Mod => BPF_MOD,
                Op::And => BPF_AND,
                Op::Or => BPF_OR,
                Op::Xor => BPF_XOR,
                Op::Lsh => BPF_LSH,
                _ => BPF_RSH,
            };
            let (srcbit, k) = tri!(c.src_operand());
            SockFilter::stmt(BPF_ALU | aop | srcbit, k)
        }
        Op::Neg => SockFilter::stmt(BPF_ALU | BPF_NEG, 0),
        Op::Tax => SockFilter::stmt(BPF_MISC | BPF_TAX, 0),
        Op::Txa => SockFilter::stmt(BPF_MISC | BPF_TXA, 0),
        Op::Ret => {
            let mut a = tri!(c.bump());
            if let Tok::Percent = a.tok {
                a = tri!(c.bump());
                if !matches!(a.tok, Tok::A | Tok::X) {
                    return Err(unexpected(a, "'a' or 'x'"));
                }
            }
            match a.tok {
                Tok::A => SockFilter::stmt(BPF_RET | BPF_A, 0),
                Tok::X => SockFilter::stmt(BPF_RET | BPF_X, 0),
                Tok::Hash => {
                    let v = tri!(c.bump());
                    SockFilter::stmt(BPF_RET | BPF_K, tri!(c.value(v)))
                }
                Tok::Label => SockFilter::stmt(BPF_RET | BPF_K, tri!(c.symbol(a))),
                _ => return Err(unexpected(a, "'#' and a value, 'a', 'x' or an action")),
            }
        }
    };
    s.insn = insn;
    s.end = c.pos;
    Ok(Some(s))
}

const SECCOMP_RET_DATA: u32 = crate::seccomp::SECCOMP_RET_DATA;
