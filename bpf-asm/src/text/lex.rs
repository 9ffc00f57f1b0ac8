//! The lexer: the token rules of the kernel's `tools/bpf/bpf_exp.l`, applied
//! the way flex applies them (longest match wins, earlier rule on a tie), plus
//! the superset tokens `.insn` and `\r` as white space.

use super::error::{AsmErrorKind as Kind, Fail};
use crate::insn::*;

/// A mnemonic of the kernel's lexer.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Op {
    Ldb,
    Ldh,
    Ld,
    Ldi,
    Ldx,
    Ldxi,
    Ldxb,
    St,
    Stx,
    Jmp,
    Jeq,
    Jneq,
    Jlt,
    Jle,
    Jgt,
    Jge,
    Jset,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Neg,
    And,
    Xor,
    Or,
    Lsh,
    Rsh,
    Ret,
    Tax,
    Txa,
}

/// A token kind.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Tok {
    Op(Op),
    /// `len` / `#len`.
    PktLen,
    /// An extension keyword, with its `SKF_AD_*` offset.
    Ext(u32),
    Colon,
    Comma,
    Hash,
    Percent,
    LBrack,
    RBrack,
    LParen,
    RParen,
    X,
    A,
    Plus,
    M,
    Star,
    Amp,
    /// A number, already converted to its 32-bit value.
    Number(u32),
    /// An identifier of two or more characters (a label or, in the
    /// superset, a symbolic name).
    Label,
    /// Superset: the `.insn` directive.
    Insn,
    Eof,
}

impl Tok {
    /// How an error message names this token.
    pub(crate) const fn describe(self) -> &'static str {
        match self {
            Tok::Op(_) => "an instruction mnemonic",
            Tok::PktLen => "'len'",
            Tok::Ext(_) => "an extension keyword",
            Tok::Colon => "':'",
            Tok::Comma => "','",
            Tok::Hash => "'#'",
            Tok::Percent => "'%'",
            Tok::LBrack => "'['",
            Tok::RBrack => "']'",
            Tok::LParen => "'('",
            Tok::RParen => "')'",
            Tok::X => "'x'",
            Tok::A => "'a'",
            Tok::Plus => "'+'",
            Tok::M => "'M'",
            Tok::Star => "'*'",
            Tok::Amp => "'&'",
            Tok::Number(_) => "a number",
            Tok::Label => "a name",
            Tok::Insn => "'.insn'",
            Tok::Eof => "the end of the input",
        }
    }
}

/// A token and where it is in the source (byte offsets).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Token {
    pub tok: Tok,
    pub start: usize,
    pub end: usize,
}

const fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

const fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Length of the run of identifier characters at `pos`.
pub(crate) const fn ident_len(src: &[u8], pos: usize) -> usize {
    let mut i = pos;
    while i < src.len() && is_ident(src[i]) {
        i += 1;
    }
    i - pos
}

/// Whether `word` (lower case) is a case-insensitive prefix of `src[pos..]`.
const fn has_prefix_ci(src: &[u8], pos: usize, word: &str) -> bool {
    let w = word.as_bytes();
    if pos + w.len() > src.len() {
        return false;
    }
    let mut i = 0;
    while i < w.len() {
        if src[pos + i].to_ascii_lowercase() != w[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// Case-insensitive comparison of `src[start..end]` with a lower-case word.
pub(crate) const fn eq_ci(src: &[u8], start: usize, end: usize, word: &str) -> bool {
    end - start == word.len() && has_prefix_ci(src, start, word)
}

/// The next token at or after `pos`, skipping white space and comments.
pub(crate) const fn next(src: &[u8], mut pos: usize) -> Result<Token, Fail> {
    loop {
        if pos >= src.len() {
            return Ok(Token {
                tok: Tok::Eof,
                start: src.len(),
                end: src.len(),
            });
        }
        let b = src[pos];
        match b {
            b' ' | b'\t' | b'\n' | b'\r' => {
                pos += 1;
                continue;
            }
            b';' => {
                while pos < src.len() && src[pos] != b'\n' {
                    pos += 1;
                }
                continue;
            }
            b'/' => {
                if pos + 1 < src.len() && src[pos + 1] == b'*' {
                    match comment_end(src, pos + 2) {
                        Some(end) => {
                            pos = end;
                            continue;
                        }
                        None => return Err(Fail::at(pos, Kind::UnterminatedComment)),
                    }
                }
                return Err(Fail::at(pos, Kind::UnknownCharacter('/')));
            }
            b'#' => {
                let t = hash(src, pos);
                if pos == 0 || src[pos - 1] == b'\n' {
                    let mut end = pos;
                    while end < src.len() && src[end] != b'\n' {
                        end += 1;
                    }
                    if end > t.end {
                        // A comment line (`^#.*` is the longest match).
                        pos = end;
                        continue;
                    }
                }
                return Ok(t);
            }
            b'0'..=b'9' => return number(src, pos, pos),
            b'+' | b'-' => {
                if pos + 1 < src.len() && matches!(src[pos + 1], b'1'..=b'9') {
                    return number(src, pos, pos + 1);
                }
                if b == b'+' {
                    return Ok(tok(Tok::Plus, pos, pos + 1));
                }
                return Err(Fail::at(pos, Kind::UnknownCharacter('-')));
            }
            b'.' => {
                let w = ident_len(src, pos + 1);
                if eq_ci(src, pos + 1, pos + 1 + w, "insn") {
                    return Ok(tok(Tok::Insn, pos, pos + 1 + w));
                }
                return Err(Fail::at(pos, Kind::UnknownCharacter('.')));
            }
            b':' => return Ok(tok(Tok::Colon, pos, pos + 1)),
            b',' => return Ok(tok(Tok::Comma, pos, pos + 1)),
            b'%' => return Ok(tok(Tok::Percent, pos, pos + 1)),
            b'[' => return Ok(tok(Tok::LBrack, pos, pos + 1)),
            b']' => return Ok(tok(Tok::RBrack, pos, pos + 1)),
            b'(' => return Ok(tok(Tok::LParen, pos, pos + 1)),
            b')' => return Ok(tok(Tok::RParen, pos, pos + 1)),
            b'*' => return Ok(tok(Tok::Star, pos, pos + 1)),
            b'&' => return Ok(tok(Tok::Amp, pos, pos + 1)),
            _ if is_ident_start(b) => return word(src, pos),
            _ => return Err(Fail::at(pos, Kind::UnknownCharacter(char_at(src, pos)))),
        }
    }
}

const fn tok(tok: Tok, start: usize, end: usize) -> Token {
    Token { tok, start, end }
}

/// Decodes the UTF-8 character starting at `pos` (the source is a `str`).
const fn char_at(src: &[u8], pos: usize) -> char {
    let b0 = src[pos] as u32;
    let (len, init) = if b0 < 0x80 {
        (1, b0)
    } else if b0 >> 5 == 0b110 {
        (2, b0 & 0x1f)
    } else if b0 >> 4 == 0b1110 {
        (3, b0 & 0x0f)
    } else if b0 >> 3 == 0b11110 {
        (4, b0 & 0x07)
    } else {
        return char::REPLACEMENT_CHARACTER;
    };
    let mut v = init;
    let mut i = 1;
    while i < len {
        if pos + i >= src.len() {
            return char::REPLACEMENT_CHARACTER;
        }
        v = (v << 6) | (src[pos + i] as u32 & 0x3f);
        i += 1;
    }
    match char::from_u32(v) {
        Some(c) => c,
        None => char::REPLACEMENT_CHARACTER,
    }
}

/// The end of a `/* ... */` comment whose body starts at `pos`, matched like
/// the kernel's regex `"/*"([^\*]|\*[^/])*"*/"`: a `*` directly followed by
/// another character pairs with it, so `/* a **/` is not closed there.
const fn comment_end(src: &[u8], mut pos: usize) -> Option<usize> {
    let mut star = false;
    while pos < src.len() {
        let b = src[pos];
        if star {
            if b == b'/' {
                return Some(pos + 1);
            }
            star = false;
        } else if b == b'*' {
            star = true;
        }
        pos += 1;
    }
    None
}

/// The token starting with `#` (an extension keyword or a lone `#`),
/// ignoring the comment-line rule. Like flex, `#lenx` is `#len` followed by
/// `x`: the longest extension keyword that starts the text wins.
const fn hash(src: &[u8], pos: usize) -> Token {
    let mut len = ident_len(src, pos + 1);
    if len > 10 {
        len = 10;
    }
    while len >= 3 {
        if let Some(t) = keyword(src, pos + 1, len, false) {
            return tok(t, pos, pos + 1 + len);
        }
        len -= 1;
    }
    tok(Tok::Hash, pos, pos + 1)
}

/// A word folded into an integer (up to 16 bytes), so that keyword lookup
/// is one integer `match` (cheap in `const` evaluation).
const fn key(w: &[u8]) -> u128 {
    let mut k: u128 = 0;
    let mut i = 0;
    while i < w.len() {
        k = (k << 8) | w[i] as u128;
        i += 1;
    }
    k
}

const K_LEN: u128 = key(b"len");
const K_PROTO: u128 = key(b"proto");
const K_TYPE: u128 = key(b"type");
const K_POFF: u128 = key(b"poff");
const K_IFIDX: u128 = key(b"ifidx");
const K_NLA: u128 = key(b"nla");
const K_NLAN: u128 = key(b"nlan");
const K_MARK: u128 = key(b"mark");
const K_QUEUE: u128 = key(b"queue");
const K_HATYPE: u128 = key(b"hatype");
const K_RXHASH: u128 = key(b"rxhash");
const K_CPU: u128 = key(b"cpu");
const K_VLAN_TCI: u128 = key(b"vlan_tci");
const K_VLAN_PR: u128 = key(b"vlan_pr");
const K_VLAN_AVAIL: u128 = key(b"vlan_avail");
const K_VLAN_TPID: u128 = key(b"vlan_tpid");
const K_RAND: u128 = key(b"rand");
const K_LDB: u128 = key(b"ldb");
const K_LDH: u128 = key(b"ldh");
const K_LD: u128 = key(b"ld");
const K_LDI: u128 = key(b"ldi");
const K_LDX: u128 = key(b"ldx");
const K_LDXI: u128 = key(b"ldxi");
const K_LDXB: u128 = key(b"ldxb");
const K_ST: u128 = key(b"st");
const K_STX: u128 = key(b"stx");
const K_JMP: u128 = key(b"jmp");
const K_JA: u128 = key(b"ja");
const K_JEQ: u128 = key(b"jeq");
const K_JNEQ: u128 = key(b"jneq");
const K_JNE: u128 = key(b"jne");
const K_JLT: u128 = key(b"jlt");
const K_JLE: u128 = key(b"jle");
const K_JGT: u128 = key(b"jgt");
const K_JGE: u128 = key(b"jge");
const K_JSET: u128 = key(b"jset");
const K_ADD: u128 = key(b"add");
const K_SUB: u128 = key(b"sub");
const K_MUL: u128 = key(b"mul");
const K_DIV: u128 = key(b"div");
const K_MOD: u128 = key(b"mod");
const K_NEG: u128 = key(b"neg");
const K_AND: u128 = key(b"and");
const K_XOR: u128 = key(b"xor");
const K_OR: u128 = key(b"or");
const K_LSH: u128 = key(b"lsh");
const K_RSH: u128 = key(b"rsh");
const K_RET: u128 = key(b"ret");
const K_TAX: u128 = key(b"tax");
const K_TXA: u128 = key(b"txa");

/// The keyword spelled (case-insensitively) by `src[start..start+len]`;
/// mnemonics only when `mnemonics`.
const fn keyword(src: &[u8], start: usize, len: usize, mnemonics: bool) -> Option<Tok> {
    if len < 2 || len > 10 {
        return None;
    }
    let mut k: u128 = 0;
    let mut i = 0;
    while i < len {
        k = (k << 8) | src[start + i].to_ascii_lowercase() as u128;
        i += 1;
    }
    let ext = match k {
        K_LEN => Some(Tok::PktLen),
        K_PROTO => Some(Tok::Ext(SKF_AD_PROTOCOL)),
        K_TYPE => Some(Tok::Ext(SKF_AD_PKTTYPE)),
        K_POFF => Some(Tok::Ext(SKF_AD_PAY_OFFSET)),
        K_IFIDX => Some(Tok::Ext(SKF_AD_IFINDEX)),
        K_NLA => Some(Tok::Ext(SKF_AD_NLATTR)),
        K_NLAN => Some(Tok::Ext(SKF_AD_NLATTR_NEST)),
        K_MARK => Some(Tok::Ext(SKF_AD_MARK)),
        K_QUEUE => Some(Tok::Ext(SKF_AD_QUEUE)),
        K_HATYPE => Some(Tok::Ext(SKF_AD_HATYPE)),
        K_RXHASH => Some(Tok::Ext(SKF_AD_RXHASH)),
        K_CPU => Some(Tok::Ext(SKF_AD_CPU)),
        K_VLAN_TCI => Some(Tok::Ext(SKF_AD_VLAN_TAG)),
        K_VLAN_PR | K_VLAN_AVAIL => Some(Tok::Ext(SKF_AD_VLAN_TAG_PRESENT)),
        K_VLAN_TPID => Some(Tok::Ext(SKF_AD_VLAN_TPID)),
        K_RAND => Some(Tok::Ext(SKF_AD_RANDOM)),
        _ => None,
    };
    if ext.is_some() || !mnemonics {
        return ext;
    }
    let op = match k {
        K_LDB => Op::Ldb,
        K_LDH => Op::Ldh,
        K_LD => Op::Ld,
        K_LDI => Op::Ldi,
        K_LDX => Op::Ldx,
        K_LDXI => Op::Ldxi,
        K_LDXB => Op::Ldxb,
        K_ST => Op::St,
        K_STX => Op::Stx,
        K_JMP | K_JA => Op::Jmp,
        K_JEQ => Op::Jeq,
        K_JNEQ | K_JNE => Op::Jneq,
        K_JLT => Op::Jlt,
        K_JLE => Op::Jle,
        K_JGT => Op::Jgt,
        K_JGE => Op::Jge,
        K_JSET => Op::Jset,
        K_ADD => Op::Add,
        K_SUB => Op::Sub,
        K_MUL => Op::Mul,
        K_DIV => Op::Div,
        K_MOD => Op::Mod,
        K_NEG => Op::Neg,
        K_AND => Op::And,
        K_XOR => Op::Xor,
        K_OR => Op::Or,
        K_LSH => Op::Lsh,
        K_RSH => Op::Rsh,
        K_RET => Op::Ret,
        K_TAX => Op::Tax,
        K_TXA => Op::Txa,
        _ => return None,
    };
    Some(Tok::Op(op))
}

/// An identifier-like word: a mnemonic, an extension keyword, `x`/`a`/`M`,
/// or a label. A keyword must be the whole word (else the longer label
/// match wins, as in flex).
const fn word(src: &[u8], pos: usize) -> Result<Token, Fail> {
    let w = ident_len(src, pos);
    let end = pos + w;
    if w == 1 {
        return match src[pos].to_ascii_lowercase() {
            b'x' => Ok(tok(Tok::X, pos, end)),
            b'a' => Ok(tok(Tok::A, pos, end)),
            b'm' => Ok(tok(Tok::M, pos, end)),
            _ => Err(Fail::at(pos, Kind::UnknownCharacter(src[pos] as char))),
        };
    }
    match keyword(src, pos, w, true) {
        Some(t) => Ok(tok(t, pos, end)),
        None => Ok(tok(Tok::Label, pos, end)),
    }
}

/// A number; `digits` is where the digits start (after an optional sign).
/// Follows the kernel's rules: `0x` hex, `0b` binary, `0` followed by octal
/// digits, otherwise decimal; the value must fit 32 bits (signed or unsigned).
const fn number(src: &[u8], start: usize, digits: usize) -> Result<Token, Fail> {
    let first = src[digits];
    let mut radix: u64 = 10;
    let mut p = digits;
    if first == b'0' {
        let second = if digits + 1 < src.len() {
            src[digits + 1].to_ascii_lowercase()
        } else {
            0
        };
        if second == b'x' && digits + 2 < src.len() && src[digits + 2].is_ascii_hexdigit() {
            radix = 16;
            p = digits + 2;
        } else if second == b'b'
            && digits + 2 < src.len()
            && (src[digits + 2] == b'0' || src[digits + 2] == b'1')
        {
            radix = 2;
            p = digits + 2;
        } else if matches!(second, b'0'..=b'7') {
            radix = 8;
            p = digits + 1;
        } else {
            return Ok(tok(Tok::Number(0), start, digits + 1));
        }
    }
    let mut value: u64 = 0;
    let mut overflow = false;
    while p < src.len() {
        let d = match src[p] {
            c @ b'0'..=b'9' => (c - b'0') as u64,
            c @ b'a'..=b'f' => (c - b'a' + 10) as u64,
            c @ b'A'..=b'F' => (c - b'A' + 10) as u64,
            _ => 99,
        };
        if d >= radix {
            break;
        }
        value = value * radix + d;
        if value > u32::MAX as u64 + 1 {
            overflow = true;
            value = u32::MAX as u64 + 1;
        }
        p += 1;
    }
    let negative = src[start] == b'-';
    let fits = if negative {
        value <= 1 << 31
    } else {
        value <= u32::MAX as u64
    };
    if overflow || !fits {
        return Err(Fail::at(start, Kind::NumberOutOfRange));
    }
    let v = if negative {
        (value as u32).wrapping_neg()
    } else {
        value as u32
    };
    Ok(tok(Tok::Number(v), start, p))
}
