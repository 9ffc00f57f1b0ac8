//! Malformed input: every kind of error is reported with the line and
//! column of its cause, and no input makes the assembler panic.

use bpf_asm::text::{
    assemble, assemble_into, count_insns, AsmError, AsmErrorKind as K, AsmOptions,
};
use bpf_asm::{Arch, SockFilter};

fn err(src: &str) -> AsmError {
    match assemble(src, &AsmOptions::for_arch(Arch::X86_64)) {
        Ok(p) => panic!("accepted {src:?} as {p:?}"),
        Err(e) => e,
    }
}

/// Asserts the error's place and that its kind matches.
macro_rules! check {
    ($src:expr, $line:expr, $col:expr, $pat:pat) => {{
        let e = err($src);
        assert!(matches!(e.kind, $pat), "{:?}: got {:?} ({e})", $src, e.kind);
        assert_eq!((e.line, e.column), ($line, $col), "{:?}: {e}", $src);
        e
    }};
}

#[test]
fn lexical_errors_are_located() {
    check!("ret #1 @", 1, 8, K::UnknownCharacter('@'));
    check!("ret b", 1, 5, K::UnknownCharacter('b'));
    check!("ld [0]\n  ret -0", 2, 7, K::UnknownCharacter('-'));
    check!("ret #1 /* open", 1, 8, K::UnterminatedComment);
    // `**/` does not close a comment in the kernel's lexer either.
    check!("/* a **/ ret #1", 1, 1, K::UnterminatedComment);
    check!("ret #1 / 2", 1, 8, K::UnknownCharacter('/'));
    check!("ret #4294967296", 1, 6, K::NumberOutOfRange);
    check!("ret #-2147483649", 1, 6, K::NumberOutOfRange);
    check!("ret #0x100000000", 1, 6, K::NumberOutOfRange);
    check!(
        "ret #0b111111111111111111111111111111111",
        1,
        6,
        K::NumberOutOfRange
    );
    check!("ld .foo", 1, 4, K::UnknownCharacter('.'));
    // Columns count characters, not bytes.
    check!("/* é ü */ ret #1 €", 1, 18, K::UnknownCharacter('€'));
}

#[test]
fn syntax_errors_are_located() {
    check!(
        "ld",
        1,
        3,
        K::UnexpectedToken {
            found: "the end of the input",
            ..
        }
    );
    check!(
        "ret #",
        1,
        6,
        K::UnexpectedToken {
            expected: "a number",
            ..
        }
    );
    check!(
        "jeq #1 good\ngood: ret #0",
        1,
        8,
        K::UnexpectedToken {
            expected: "','",
            ..
        }
    );
    check!(
        "jne #1, aa, bb\naa: bb: ret #0",
        1,
        11,
        K::UnexpectedToken { .. }
    );
    check!("st [1]", 1, 4, K::UnexpectedToken { .. });
    check!("ldb #len", 1, 5, K::UnexpectedToken { .. });
    check!("ld # len", 1, 6, K::UnexpectedToken { .. });
    check!(
        "ja 5",
        1,
        4,
        K::UnexpectedToken {
            expected: "a label",
            ..
        }
    );
    check!(
        "ld [x 1]",
        1,
        7,
        K::UnexpectedToken {
            expected: "'+'",
            ..
        }
    );
    check!(
        "aa:",
        1,
        4,
        K::UnexpectedToken {
            expected: "an instruction after the label",
            ..
        }
    );
    check!("ret #0 aa:", 1, 11, K::UnexpectedToken { .. });
    check!("aa: bb: ret #0", 1, 5, K::UnexpectedToken { .. });
    check!("foo #1", 1, 1, K::UnknownInstruction(_));
    check!("ldxb 5*([1]&0xf)", 1, 6, K::LdxbOffset);
    check!("ldx 4*([1]&0xe)", 1, 12, K::LdxbOffset);
    check!(".insn 6, 0, 0", 1, 14, K::UnexpectedToken { .. });
    check!(
        ".insn 0x10000, 0, 0, 0",
        1,
        7,
        K::ValueOutOfRange { max: 0xffff, .. }
    );
    check!(
        ".insn 6, 256, 0, 0",
        1,
        10,
        K::ValueOutOfRange { max: 255, .. }
    );
    check!(
        ".insn 6, 0, -1, 0",
        1,
        13,
        K::ValueOutOfRange { max: 255, .. }
    );
    check!("", 1, 1, K::EmptyProgram);
    check!("; nothing\n/* here */\n", 3, 1, K::EmptyProgram);
}

#[test]
fn label_errors_are_located() {
    let e = check!("ld [0]\nja nowhere\nret #0", 2, 4, K::UnknownLabel(_));
    assert_eq!(e.to_string(), "2:4: no such label 'nowhere'");
    let e = check!(
        "aa: ret #0\nbb: ret #1\naa: ret #2",
        3,
        1,
        K::DuplicateLabel { first_line: 1, .. }
    );
    assert_eq!(
        e.to_string(),
        "3:1: label 'aa' is already defined on line 1"
    );
    // Even an unused duplicate is an error (the kernel silently keeps the first).
    check!(
        "ret #0\nxx: ret #1\nxx: ret #2",
        3,
        1,
        K::DuplicateLabel { first_line: 2, .. }
    );
    let e = check!("aa: neg\nja aa", 2, 4, K::BackwardJump { from: 1, to: 0 });
    assert_eq!(
        e.to_string(),
        "2:4: insn #1 jumps back to insn #0, but classic BPF jumps only forward"
    );
    check!("aa: ja aa", 1, 8, K::BackwardJump { from: 0, to: 0 });
    check!(
        "aa: jeq #1, aa",
        1,
        13,
        K::JumpOutOfRange { from: 0, to: 0 }
    );
    check!(
        "neg\naa: neg\njgt x, bb, aa\nbb: ret a",
        3,
        12,
        K::JumpOutOfRange { from: 2, to: 1 }
    );
    // 255 is the farthest a conditional jump reaches.
    let far = |gap: usize| format!("jeq #1, far\n{}far: ret #0\n", "neg\n".repeat(gap));
    assert_eq!(
        assemble(&far(255), &AsmOptions::DEFAULT).unwrap()[0].jt,
        255
    );
    let e = check!(&far(256), 1, 9, K::JumpOutOfRange { from: 0, to: 257 });
    assert!(
        e.to_string()
            .starts_with("1:9: insn #0 jumps to insn #257, which is out of range"),
        "{e}"
    );
    // `ja` reaches anywhere forward.
    let src = format!("ja far\n{}far: ret #0\n", "neg\n".repeat(3000));
    assert_eq!(assemble(&src, &AsmOptions::DEFAULT).unwrap()[0].k, 3000);
}

#[test]
fn limit_and_superset_errors_are_located() {
    let src = "neg\n".repeat(4096) + "ret #0\n";
    let e = check!(&src, 4097, 1, K::TooManyInstructions);
    assert_eq!(count_insns(&src), Err(e));
    check!("ld [foo]", 1, 5, K::UnknownField(_));
    check!("ld [arg6]", 1, 5, K::UnknownField(_));
    check!("ret #FOO", 1, 6, K::UnknownName(_));
    check!("ret BOGUS", 1, 5, K::UnknownName(_));
    let e = check!(
        "ld [nr]\njeq #__NR_no_such_call, aa\naa: ret #0",
        2,
        6,
        K::UnknownSyscall {
            arch: Arch::X86_64,
            ..
        }
    );
    assert_eq!(e.to_string(), "2:6: no syscall 'no_such_call' on x86_64");
    check!("ret ERRNO(EFOO)", 1, 11, K::UnknownErrno(_));
    check!("ret ALLOW(1)", 1, 10, K::ActionTakesNoValue(_));
    check!(
        "ret ERRNO(65536)",
        1,
        11,
        K::ValueOutOfRange { max: 65535, .. }
    );
    check!(
        "ret ERRNO(1",
        1,
        12,
        K::UnexpectedToken {
            expected: "')'",
            ..
        }
    );
    // The output buffer is checked before anything is written past it.
    let mut out = [SockFilter::default(); 2];
    let e = assemble_into("neg\nneg\nret a", &AsmOptions::DEFAULT, &mut out).unwrap_err();
    assert_eq!(e.kind, K::OutputTooSmall { needed: 3 });
    assert_eq!((e.line, e.column), (0, 0));
    assert_eq!(
        e.to_string(),
        "the output buffer is too small: the program has 3 instructions"
    );
}

#[test]
fn long_names_are_cut_in_messages() {
    let name = "x".repeat(100);
    let e = err(&format!("ja {name}\nret #0"));
    let K::UnknownLabel(n) = e.kind else {
        panic!("{e:?}")
    };
    assert!(n.as_str().len() <= 40 && n.as_str().ends_with("..."), "{n}");
}

// ---------------------------------------------------------------------------
// No input panics.

use testkit::Rng;

const PIECES: &[&str] = &[
    "ld",
    "ldh",
    "ldb",
    "ldx",
    "ldxb",
    "ldi",
    "ldxi",
    "st",
    "stx",
    "ja",
    "jmp",
    "jeq",
    "jne",
    "jneq",
    "jlt",
    "jle",
    "jgt",
    "jge",
    "jset",
    "add",
    "sub",
    "mul",
    "div",
    "mod",
    "neg",
    "and",
    "or",
    "xor",
    "lsh",
    "rsh",
    "ret",
    "tax",
    "txa",
    "#",
    "#len",
    "len",
    "#proto",
    "x",
    "%x",
    "a",
    "%a",
    "M",
    "[",
    "]",
    "(",
    ")",
    "+",
    "-",
    "*",
    "&",
    ",",
    ":",
    "\n",
    " ",
    "\t",
    "\r",
    "0",
    "1",
    "-1",
    "+7",
    "0x",
    "0xff",
    "0b1",
    "017",
    "08",
    "4294967295",
    "4294967296",
    "lbl",
    "lbl:",
    "aa",
    "aa:",
    "/*",
    "*/",
    ";",
    "#c\n",
    ".insn",
    "nr",
    "arg0_hi",
    "ALLOW",
    "ERRNO",
    "EPERM",
    "__NR_openat",
    "__NR_",
    "AUDIT_ARCH_X86_64",
    "é",
    "\u{0}",
    "ip_hi",
    "4*([14]&0xf)",
];

const VALID: &[&str] = &[
    "ld [4]\njne #0xc000003e, bad\nld [0]\njeq #15, good\nbad: ret #0\ngood: ret #0x7fff0000\n",
    "ldh [12]\njne #0x806, drop\nret #-1\ndrop: ret #0\n",
    "ld [arch] jne #AUDIT_ARCH_X86_64, kk ld [nr] jeq #__NR_read, ok ret ERRNO(EPERM) ok: ret ALLOW kk: ret KILL",
    "ldx 4*([14]&0xf)\nld [x+2]\nst M[3]\nldx M[3]\njset x, aa, bb\naa: tax\nbb: .insn 6, 0, 0, 1",
];

fn check_no_panic(src: &str) {
    let opts = AsmOptions::for_arch(Arch::X86_64);
    let lines = src.split('\n').count() as u32;
    let counted = count_insns(src);
    match assemble(src, &opts) {
        Ok(p) => {
            assert_eq!(counted, Ok(p.len()), "{src:?}");
            assert!(!p.is_empty() && p.len() <= 4096);
            let mut out = vec![SockFilter::default(); p.len()];
            assert_eq!(assemble_into(src, &opts, &mut out), Ok(p.len()));
            assert_eq!(out, p);
        }
        Err(e) => {
            assert!(e.line >= 1 && e.line <= lines, "{src:?}: {e:?}");
            assert!(e.column >= 1, "{src:?}: {e:?}");
            let text = e.to_string();
            assert!(
                text.starts_with(&format!("{}:{}: ", e.line, e.column)),
                "{text}"
            );
            if let Err(c) = counted {
                // Counting sees syntax errors only, and the same first one
                // (unless a duplicate label comes before it).
                if !matches!(e.kind, K::DuplicateLabel { .. }) {
                    assert_eq!(c, e, "{src:?}");
                }
            }
        }
    }
}

#[test]
fn random_inputs_never_panic_and_errors_have_places() {
    let seed = testkit::seed(
        "random_inputs_never_panic_and_errors_have_places",
        0x5eed_1234,
    );
    let mut r = Rng::new(seed);
    for round in 0..6000 {
        let src = match round % 3 {
            // Random bytes (made UTF-8).
            0 => {
                let len = r.index(60);
                let bytes: Vec<u8> = (0..len).map(|_| r.next_u64() as u8).collect();
                String::from_utf8_lossy(&bytes).into_owned()
            }
            // Random token soup.
            1 => {
                let n = r.index(25);
                let mut s = String::new();
                for _ in 0..n {
                    s.push_str(PIECES[r.index(PIECES.len())]);
                    if r.index(2) == 0 {
                        s.push(' ');
                    }
                }
                s
            }
            // Mutations of valid programs.
            _ => {
                let mut s: Vec<u8> = VALID[r.index(VALID.len())].as_bytes().to_vec();
                for _ in 0..1 + r.index(4) {
                    let at = r.index(s.len() + 1);
                    match r.index(3) {
                        0 if at < s.len() => {
                            s.remove(at);
                        }
                        1 => {
                            let piece = PIECES[r.index(PIECES.len())].as_bytes();
                            s.splice(at..at, piece.iter().copied());
                        }
                        _ if at < s.len() => s[at] = r.next_u64() as u8,
                        _ => {}
                    }
                }
                String::from_utf8_lossy(&s).into_owned()
            }
        };
        let result = std::panic::catch_unwind(|| check_no_panic(&src));
        if result.is_err() {
            panic!("seed {seed:#x}, round {round}: input {src:?}");
        }
    }
}
