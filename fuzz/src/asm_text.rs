//! Target `asm_text`: the `bpf_asm` assembler on arbitrary text.
//!
//! Properties: assembling never panics (also into a too-small buffer and in
//! the counting pass); errors point at an existing line and column; [`count_insns`] counts what [`assemble`] produces;
//! every assembled program disassembles (with and without annotations) to
//! text that assembles to identical instructions, and round-trips through
//! the raw, comma and hex encodings.

use arbitrary::{Result, Unstructured};
use bpf_asm::disasm::{disassemble, DisasmOptions};
use bpf_asm::encode::{parse_comma, parse_hex, parse_raw, to_comma, to_hex, to_raw};
use bpf_asm::text::{assemble, assemble_into, count_insns, AsmError, AsmOptions};
use bpf_asm::{Arch, SockFilter};

/// The target body: the bytes as text (lossy UTF-8), then a source built
/// from the same bytes by a small `bpf_asm` grammar ([`gen_source`]).
pub fn asm_text(data: &[u8]) {
    check_source(&String::from_utf8_lossy(data));
    let mut u = Unstructured::new(data);
    if let Ok(src) = gen_source(&mut u) {
        check_source(&src);
    }
}

/// The options sources are assembled with: little- and big-endian.
pub const OPTIONS: [AsmOptions; 2] = [
    AsmOptions::for_arch(Arch::X86_64),
    AsmOptions::for_arch(Arch::S390x),
];

/// Checks every property on one source text.
pub fn check_source(src: &str) {
    let counted = count_insns(src);
    if let Err(e) = &counted {
        check_error(src, e);
    }
    for opts in &OPTIONS {
        let mut small = [SockFilter::default(); 3];
        if let Err(e) = assemble_into(src, opts, &mut small) {
            check_error(src, &e);
        }
        match assemble(src, opts) {
            Ok(prog) => {
                assert_eq!(
                    counted.as_ref().ok(),
                    Some(&prog.len()),
                    "count_insns disagrees with assemble on {src:?}"
                );
                round_trip(&prog, opts);
            }
            Err(e) => check_error(src, &e),
        }
    }
}

/// An error points into the text: a 1-based line that exists and a 1-based
/// column at most one past the end of that line (lines end at `\n`), or is
/// about the whole program (line and column 0).
pub fn check_error(src: &str, e: &AsmError) {
    let _ = e.to_string();
    if e.line == 0 {
        // A whole-program error (such as a too-small output buffer).
        assert_eq!(e.column, 0, "{e}: line 0 with a column");
        return;
    }
    let line = e.line as usize;
    let lines = src.split('\n').count();
    assert!(
        line >= 1 && line <= lines,
        "{e}: line {line} of {lines} in {src:?}"
    );
    let width = src
        .split('\n')
        .nth(line - 1)
        .map_or(0, |l| l.chars().count());
    assert!(
        e.column >= 1 && e.column as usize <= width + 1,
        "{e}: column {} of {width} in {src:?}",
        e.column
    );
}

/// Disassembles `prog` and reassembles it; encodes and decodes it.
pub fn round_trip(prog: &[SockFilter], opts: &AsmOptions) {
    for annotate in [None, Some(opts.arch)] {
        let text = disassemble(prog, &DisasmOptions { annotate });
        match assemble(&text, opts) {
            Ok(again) => assert_eq!(
                again, prog,
                "disassembly (annotate {annotate:?}) reassembles differently:\n{text}"
            ),
            Err(e) => panic!("disassembly (annotate {annotate:?}) does not assemble: {e}\n{text}"),
        }
    }
    assert_eq!(
        parse_raw(&to_raw(prog)).ok().as_deref(),
        Some(prog),
        "raw round trip"
    );
    let comma = to_comma(prog);
    assert_eq!(
        parse_comma(&comma).ok().as_deref(),
        Some(prog),
        "comma round trip: {comma}"
    );
    let hex = to_hex(prog);
    assert_eq!(
        parse_hex(&hex).ok().as_deref(),
        Some(prog),
        "hex round trip: {hex}"
    );
}

const LOADS: [&str; 6] = ["ld", "ldh", "ldb", "ldi", "LD", "ldx"];
const ALU: [&str; 11] = [
    "add", "sub", "mul", "div", "mod", "and", "or", "xor", "lsh", "rsh", "neg",
];
const JUMPS: [&str; 10] = [
    "jeq", "jneq", "jne", "jlt", "jle", "jgt", "jge", "jset", "JEQ", "jset",
];
const LOAD_OPERANDS: [&str; 24] = [
    "[0]",
    "[4]",
    "[16]",
    "[60]",
    "[64]",
    "[2]",
    "[x+4]",
    "[x + 8]",
    "[%x+1]",
    "[x-1]",
    "M[0]",
    "M[15]",
    "M[16]",
    "#len",
    "len",
    "#proto",
    "#rand",
    "[nr]",
    "[arch]",
    "[ip]",
    "[ip_hi]",
    "[arg0]",
    "[arg5_hi]",
    "[arg3_lo]",
];
const VALUES: [&str; 20] = [
    "#0",
    "#1",
    "#4",
    "#0x7fff0000",
    "#-1",
    "#4294967295",
    "#4294967296",
    "#-2147483649",
    "#017",
    "#0b101",
    "#0x",
    "#AUDIT_ARCH_X86_64",
    "#__NR_read",
    "#__NR_nosuch",
    "#ERRNO(EPERM)",
    "#errno(13)",
    "#TRAP(0x10)",
    "#ALLOW",
    "#KILL_PROCESS",
    "#ERRNO(65536)",
];
const RETS: [&str; 12] = [
    "#0",
    "a",
    "%a",
    "x",
    "ALLOW",
    "KILL",
    "LOG",
    "USER_NOTIF",
    "ERRNO(EACCES)",
    "trace(7)",
    "#0x7fff0000",
    "#SECCOMP_RET_ALLOW",
];
const JUNK: [&str; 16] = [
    "/*",
    "*/",
    ";",
    "#",
    ":",
    ",",
    "\n",
    "\r\n",
    " ",
    "\t",
    "(",
    ")",
    "[",
    "]",
    "&",
    "4*([14]&0xf)",
];

fn pick<'a>(u: &mut Unstructured<'_>, from: &[&'a str]) -> Result<&'a str> {
    u.choose(from).copied()
}

/// A label to jump to: mostly one defined later (`next` is the next label
/// to be defined), sometimes any.
fn label(u: &mut Unstructured<'_>, next: u8) -> Result<String> {
    if u.ratio(1, 8)? {
        Ok(format!("l{}", u.int_in_range(0..=7u8)?))
    } else {
        Ok(format!(
            "l{}",
            next.saturating_add(u.int_in_range(0..=2u8)?)
        ))
    }
}

fn value(u: &mut Unstructured<'_>) -> Result<String> {
    if u.ratio(1, 4)? {
        Ok(format!("#{}", u.arbitrary::<u32>()?))
    } else {
        Ok(pick(u, &VALUES)?.to_string())
    }
}

/// A source text from a small `bpf_asm` grammar: labelled lines of loads,
/// stores, ALU operations, jumps to labels (`l0`, `l1`, … defined in
/// order), returns, `.insn`, comments and some junk tokens, mostly ending
/// in three labelled `ret`s.
pub fn gen_source(u: &mut Unstructured<'_>) -> Result<String> {
    let lines = u.int_in_range(0..=24u8)?;
    let mut src = String::new();
    let mut next_label = 0u8;
    for _ in 0..lines {
        if u.ratio(1, 4)? {
            src.push_str(&format!("l{next_label}: "));
            next_label = next_label.saturating_add(1);
        }
        let line = match u.int_in_range(0..=11u8)? {
            0 | 1 => format!("{} {}", pick(u, &LOADS)?, pick(u, &LOAD_OPERANDS)?),
            2 => format!("{} {}", pick(u, &LOADS)?, value(u)?),
            3 => format!(
                "{} M[{}]",
                if u.arbitrary()? { "st" } else { "stx" },
                u.int_in_range(0..=16u8)?
            ),
            4 => {
                let op = pick(u, &ALU)?;
                if op == "neg" {
                    op.to_string()
                } else if u.arbitrary()? {
                    format!("{op} x")
                } else {
                    format!("{op} {}", value(u)?)
                }
            }
            5 | 6 => {
                let operand = if u.ratio(1, 4)? {
                    "x".to_string()
                } else {
                    value(u)?
                };
                if u.arbitrary()? {
                    format!(
                        "{} {operand}, {}, {}",
                        pick(u, &JUMPS)?,
                        label(u, next_label)?,
                        label(u, next_label)?
                    )
                } else {
                    format!("{} {operand}, {}", pick(u, &JUMPS)?, label(u, next_label)?)
                }
            }
            7 => format!(
                "{} {}",
                if u.arbitrary()? { "ja" } else { "jmp" },
                label(u, next_label)?
            ),
            8 => format!("ret {}", pick(u, &RETS)?),
            9 => (if u.arbitrary()? { "tax" } else { "txa" }).to_string(),
            10 => format!(
                ".insn {}, {}, {}, {}",
                u.arbitrary::<u16>()?,
                u.arbitrary::<u8>()?,
                u.arbitrary::<u8>()?,
                u.arbitrary::<u32>()?
            ),
            _ => {
                let mut s = String::new();
                for _ in 0..u.int_in_range(1..=4u8)? {
                    s.push_str(pick(u, &JUNK)?);
                }
                s
            }
        };
        src.push_str(&line);
        if u.ratio(1, 8)? {
            src.push_str(" ; comment");
        }
        src.push('\n');
    }
    if !u.ratio(1, 8)? {
        for (i, ret) in ["#0", "a", "ALLOW"].iter().enumerate() {
            src.push_str(&format!("l{}: ret {ret}\n", usize::from(next_label) + i));
        }
    }
    Ok(src)
}
