//! The text assembler against the kernel's `bpf_asm`: byte-identical output
//! on the corpus (kernel documentation examples, golang/net's
//! `all_instructions`), every form of the grammar, generated programs in
//! random spellings, the seccomp superset, and `bpf_program!` (compile time)
//! against `assemble` (run time).

use testkit::Rng;

use bpf_asm::encode::{to_c_array, to_comma};
use bpf_asm::text::{assemble, assemble_into, count_insns, AsmOptions};
use bpf_asm::{bpf_program, Arch, Endian, SockFilter};

fn asm(src: &str) -> Vec<SockFilter> {
    assemble(src, &AsmOptions::for_arch(Arch::X86_64))
        .unwrap_or_else(|e| panic!("{e}\n--- source:\n{src}"))
}

/// The string field `key` of every example of the corpus' `examples.json`.
fn example_strings(doc: &testkit::serde_json::Value, key: &str) -> Vec<String> {
    doc["examples"]
        .as_array()
        .expect("examples")
        .iter()
        .map(|e| {
            e[key]
                .as_str()
                .unwrap_or_else(|| panic!("{key}"))
                .to_string()
        })
        .collect()
}

#[test]
fn kernel_documentation_examples_are_byte_identical() {
    let Some(doc) = testkit::corpus::json("bpf-asm/examples.json") else {
        return;
    };
    let sources = example_strings(&doc, "source");
    let comma = example_strings(&doc, "bpf_asm_output");
    let c = example_strings(&doc, "bpf_asm_c_output");
    assert_eq!(sources.len(), 6, "six examples expected");
    assert_eq!(comma.len(), sources.len());
    assert_eq!(c.len(), sources.len());
    for ((src, want_comma), want_c) in sources.iter().zip(&comma).zip(&c) {
        let prog = asm(src);
        // The corpus stores the default output without its final newline.
        assert_eq!(to_comma(&prog), format!("{want_comma}\n"), "source:\n{src}");
        assert_eq!(&to_c_array(&prog), want_c, "source:\n{src}");
        assert_eq!(count_insns(src), Ok(prog.len()));
        // The no-alloc path gives the same.
        let mut buf = [SockFilter::default(); 32];
        let n = assemble_into(src, &AsmOptions::DEFAULT, &mut buf).unwrap();
        assert_eq!(&buf[..n], &prog[..]);
    }
}

#[test]
fn golang_all_instructions_is_byte_identical() {
    let Some(src) = testkit::corpus::text("bpf-asm/all_instructions.txt") else {
        return;
    };
    // The .bpf file is the kernel tool's default output (comma format).
    let want = testkit::corpus::text("bpf-asm/all_instructions.bpf").expect("corpus present");
    let prog = asm(&src);
    assert_eq!(to_comma(&prog), want);
    assert_eq!(prog.len(), 57);
}

// ---------------------------------------------------------------------------
// Every form of the grammar, with the instruction the kernel's bpf_exp.y emits.

const SKF: u32 = 0xffff_f000;

#[test]
fn every_form_emits_what_the_kernel_grammar_emits() {
    let stmt = SockFilter::stmt;
    let cases: &[(&str, SockFilter)] = &[
        ("ldb [x+3]", stmt(0x50, 3)),
        ("ldb [x + 3]", stmt(0x50, 3)),
        ("ldb [%x + 3]", stmt(0x50, 3)),
        ("ldb [7]", stmt(0x30, 7)),
        ("ldb #proto", stmt(0x30, SKF)),
        ("ldb proto", stmt(0x30, SKF)),
        ("ldh [x + 3]", stmt(0x48, 3)),
        ("ldh [%x+3]", stmt(0x48, 3)),
        ("ldh [7]", stmt(0x28, 7)),
        ("ldh #type", stmt(0x28, SKF + 4)),
        ("ldi #9", stmt(0x00, 9)),
        ("ldi 9", stmt(0x00, 9)),
        ("ld #9", stmt(0x00, 9)),
        ("ld #len", stmt(0x80, 0)),
        ("ld len", stmt(0x80, 0)),
        ("ld #poff", stmt(0x20, SKF + 52)),
        ("ld ifidx", stmt(0x20, SKF + 8)),
        ("ld #nla", stmt(0x20, SKF + 12)),
        ("ld #nlan", stmt(0x20, SKF + 16)),
        ("ld #mark", stmt(0x20, SKF + 20)),
        ("ld #queue", stmt(0x20, SKF + 24)),
        ("ld #hatype", stmt(0x20, SKF + 28)),
        ("ld #rxhash", stmt(0x20, SKF + 32)),
        ("ld #cpu", stmt(0x20, SKF + 36)),
        ("ld #vlan_tci", stmt(0x20, SKF + 44)),
        ("ld #vlan_pr", stmt(0x20, SKF + 48)),
        ("ld #vlan_avail", stmt(0x20, SKF + 48)),
        ("ld #vlan_tpid", stmt(0x20, SKF + 60)),
        ("ld #rand", stmt(0x20, SKF + 56)),
        ("ld M[3]", stmt(0x60, 3)),
        ("ld [x + 5]", stmt(0x40, 5)),
        ("ld [%x + 5]", stmt(0x40, 5)),
        ("ld [5]", stmt(0x20, 5)),
        ("ldxi #9", stmt(0x01, 9)),
        ("ldxi 9", stmt(0x01, 9)),
        ("ldx #9", stmt(0x01, 9)),
        ("ldx #len", stmt(0x81, 0)),
        ("ldx M[15]", stmt(0x61, 15)),
        ("ldx 4*([14]&0xf)", stmt(0xb1, 14)),
        ("ldxb 4*([14]&0xf)", stmt(0xb1, 14)),
        ("ldxb 4 * ( [ 14 ] & 15 )", stmt(0xb1, 14)),
        ("ldxb 4*([14]&017)", stmt(0xb1, 14)),
        ("st M[1]", stmt(0x02, 1)),
        ("stx M[1]", stmt(0x03, 1)),
        ("add #1", stmt(0x04, 1)),
        ("add x", stmt(0x0c, 0)),
        ("add %x", stmt(0x0c, 0)),
        ("sub #1", stmt(0x14, 1)),
        ("sub x", stmt(0x1c, 0)),
        ("mul #1", stmt(0x24, 1)),
        ("mul x", stmt(0x2c, 0)),
        ("div #1", stmt(0x34, 1)),
        ("div x", stmt(0x3c, 0)),
        ("or #1", stmt(0x44, 1)),
        ("or x", stmt(0x4c, 0)),
        ("and #1", stmt(0x54, 1)),
        ("and x", stmt(0x5c, 0)),
        ("lsh #1", stmt(0x64, 1)),
        ("lsh x", stmt(0x6c, 0)),
        ("rsh #1", stmt(0x74, 1)),
        ("rsh x", stmt(0x7c, 0)),
        ("neg", stmt(0x84, 0)),
        ("mod #1", stmt(0x94, 1)),
        ("mod x", stmt(0x9c, 0)),
        ("xor #1", stmt(0xa4, 1)),
        ("xor x", stmt(0xac, 0)),
        ("tax", stmt(0x07, 0)),
        ("txa", stmt(0x87, 0)),
        ("ret #1", stmt(0x06, 1)),
        ("ret a", stmt(0x16, 0)),
        ("ret %a", stmt(0x16, 0)),
        ("ret x", stmt(0x0e, 0)),
        ("ret %x", stmt(0x0e, 0)),
    ];
    for (src, want) in cases {
        assert_eq!(asm(src), vec![*want], "{src}");
        // Case does not matter for mnemonics, x, a, M and keywords.
        let upper = src.to_uppercase();
        assert_eq!(asm(&upper), vec![*want], "{upper}");
    }
}

#[test]
fn jumps_resolve_labels_like_the_kernel() {
    let j = SockFilter::jump;
    // Targets: a at 2 (distance 1 from insn 0), b at 3 (distance 2).
    let cases: &[(&str, SockFilter)] = &[
        ("jmp bb", j(0x05, 2, 0, 0)),
        ("ja bb", j(0x05, 2, 0, 0)),
        ("jeq #7, aa, bb", j(0x15, 7, 1, 2)),
        ("jeq #7, aa", j(0x15, 7, 1, 0)),
        ("jeq x, aa, bb", j(0x1d, 0, 1, 2)),
        ("jeq %x, aa, bb", j(0x1d, 0, 1, 2)),
        ("jeq x, aa", j(0x1d, 0, 1, 0)),
        ("jeq %x, aa", j(0x1d, 0, 1, 0)),
        ("jneq #7, bb", j(0x15, 7, 0, 2)),
        ("jne #7, bb", j(0x15, 7, 0, 2)),
        ("jne x, bb", j(0x1d, 0, 0, 2)),
        ("jne %x, bb", j(0x1d, 0, 0, 2)),
        ("jlt #7, bb", j(0x35, 7, 0, 2)),
        ("jlt x, bb", j(0x3d, 0, 0, 2)),
        ("jlt %x, bb", j(0x3d, 0, 0, 2)),
        ("jle #7, bb", j(0x25, 7, 0, 2)),
        ("jle x, bb", j(0x2d, 0, 0, 2)),
        ("jle %x, bb", j(0x2d, 0, 0, 2)),
        ("jgt #7, aa, bb", j(0x25, 7, 1, 2)),
        ("jgt #7, aa", j(0x25, 7, 1, 0)),
        ("jgt x, aa, bb", j(0x2d, 0, 1, 2)),
        ("jgt %x, aa", j(0x2d, 0, 1, 0)),
        ("jge #7, aa, bb", j(0x35, 7, 1, 2)),
        ("jge x, aa", j(0x3d, 0, 1, 0)),
        ("jge %x, aa, bb", j(0x3d, 0, 1, 2)),
        ("jset #7, aa, bb", j(0x45, 7, 1, 2)),
        ("jset #7, aa", j(0x45, 7, 1, 0)),
        ("jset x, aa, bb", j(0x4d, 0, 1, 2)),
        ("jset %x, aa", j(0x4d, 0, 1, 0)),
    ];
    for (insn, want) in cases {
        let src = format!("{insn}\nneg\naa: ret #1\nbb: ret #2\n");
        let prog = asm(&src);
        assert_eq!(prog.len(), 4);
        assert_eq!(prog[0], *want, "{insn}");
    }
}

#[test]
fn lexer_cuts_tokens_like_flex() {
    let s = SockFilter::stmt;
    // Numbers in every base; negative numbers wrap to u32.
    for (text, k) in [
        ("0", 0u32),
        ("42", 42),
        ("+42", 42),
        ("-1", 0xffff_ffff),
        ("-2147483648", 0x8000_0000),
        ("4294967295", 0xffff_ffff),
        ("0x1F", 0x1f),
        ("0XfF", 0xff),
        ("0xffffffff", 0xffff_ffff),
        ("0x000000000000000001", 1),
        ("0b101", 5),
        ("0B11", 3),
        ("017", 15),
        ("00", 0),
    ] {
        assert_eq!(asm(&format!("ret #{text}")), vec![s(0x06, k)], "{text}");
    }
    // `#` at the start of a line is a comment, unless the whole line is a
    // keyword token (flex prefers the earlier rule on equal length).
    assert_eq!(asm("# comment\nret #1"), vec![s(0x06, 1)]);
    assert_eq!(asm("ld\n#len\nret a"), vec![s(0x80, 0), s(0x16, 0)]);
    assert_eq!(asm("ret\n#\n5"), vec![s(0x06, 5)]);
    // `#lenab` is `#len` then the label `ab`; keywords need a whole word
    // without `#`.
    assert_eq!(asm("ld #lenab: ret #0"), vec![s(0x80, 0), s(0x06, 0)]);
    // A number directly followed by letters is a number and a label.
    assert_eq!(asm("ret #1ab: ret #0"), vec![s(0x06, 1), s(0x06, 0)]);
    // Newlines mean nothing: several instructions on one line, one across lines.
    assert_eq!(asm("ld [0] ret a"), vec![s(0x20, 0), s(0x16, 0)]);
    assert_eq!(
        asm("jeq #1,\nq1\n,\nq1 q1: ret a")[0],
        SockFilter::jump(0x15, 1, 0, 0)
    );
    // ... but a `#` operand at the start of a line is a comment line.
    assert!(assemble("jeq\n#1, q1\nq1: ret a", &AsmOptions::DEFAULT).is_err());
    // Comments: `;`, `/* */` across lines, and the kernel's regex quirk where
    // `**/` does not close a comment.
    assert_eq!(asm("ret #1 ; ret #2\n"), vec![s(0x06, 1)]);
    assert_eq!(asm("/* a\n b */ ret #1 /**/"), vec![s(0x06, 1)]);
    assert_eq!(asm("/* a **/ ret #2 */ ret #1"), vec![s(0x06, 1)]);
    // Mnemonic case does not matter, label case does.
    assert_eq!(asm("JA Lab\nlab: ret #0\nLab: RET #1")[0].k, 1);
    assert_eq!(asm("LD m[2]\nLDX M[2]"), vec![s(0x60, 2), s(0x61, 2)]);
    // Labels may look like keywords plus more: `ldx5`, `xy`, `marks`.
    assert_eq!(asm("ja ldx5\nxy: neg\nldx5: ret #0")[0].k, 1);
    // CRLF line ends are accepted.
    assert_eq!(asm("ld [0]\r\nret a\r\n"), vec![s(0x20, 0), s(0x16, 0)]);
}

#[test]
fn program_of_4096_instructions_is_accepted() {
    let mut src = String::from("ja end\n");
    for _ in 0..4094 {
        src.push_str("neg\n");
    }
    src.push_str("end: ret #0\n");
    let prog = asm(&src);
    assert_eq!(prog.len(), 4096);
    assert_eq!(prog[0].k, 4094);
    assert_eq!(count_insns(&src), Ok(4096));
}

// ---------------------------------------------------------------------------
// Generated programs: random kernel-valid statements written in random
// spellings must assemble to what the generator expects.

/// A number spelled in a random base (the kernel's lexer rules).
fn spell_number(r: &mut Rng, v: u32) -> String {
    match r.below(5) {
        0 if v != 0 => format!("0x{v:x}"),
        1 if v != 0 => format!("0X{v:X}"),
        2 if v != 0 => format!("0{v:o}"),
        3 if v != 0 => format!("0b{v:b}"),
        4 if v > 0x8000_0000 => format!("-{}", v.wrapping_neg()),
        _ => format!("{v}"),
    }
}

/// Random case for keywords.
fn spell_word(r: &mut Rng, w: &str) -> String {
    w.chars()
        .map(|c| {
            if r.below(2) == 0 {
                c.to_ascii_uppercase()
            } else {
                c
            }
        })
        .collect()
}

/// Separator before a `#`: no newline, since a `#` starting a line starts a
/// comment line.
fn hsep(r: &mut Rng) -> String {
    match r.below(3) {
        0 => "\t".into(),
        1 => " /* c */ ".into(),
        _ => " ".into(),
    }
}

/// Separator between tokens: spaces, tabs, newlines or comments.
fn sep(r: &mut Rng, required: bool) -> String {
    match r.below(8) {
        0 => "\t".into(),
        1 => "\n".into(),
        2 => " /* c */ ".into(),
        3 => "  ".into(),
        4 if !required => String::new(),
        _ => " ".into(),
    }
}

fn gen_value(r: &mut Rng) -> u32 {
    match r.below(4) {
        0 => r.below(16) as u32,
        1 => r.next_u64() as u32,
        2 => 0xffff_ffff - r.below(3) as u32,
        _ => r.below(300) as u32,
    }
}

/// One statement (text without label) and its instruction; jumps return the
/// label indices they target.
fn gen_stmt(r: &mut Rng, i: usize, n: usize) -> (String, SockFilter, Option<usize>, Option<usize>) {
    let k = gen_value(r);
    let num = spell_number(r, k);
    let w = |r: &mut Rng, s: &str| spell_word(r, s);
    let choice = if i + 1 < n { r.below(9) } else { 0 };
    match choice {
        0 => (
            format!("{}{}#{num}", w(r, "ret"), hsep(r)),
            SockFilter::stmt(0x06, k),
            None,
            None,
        ),
        1 => {
            let (m, code) = r.pick(&[("ld", 0x20u16), ("ldh", 0x28), ("ldb", 0x30)]);
            (
                format!(
                    "{}{}[{}{num}{}]",
                    w(r, m),
                    sep(r, true),
                    sep(r, false),
                    sep(r, false)
                ),
                SockFilter::stmt(code, k),
                None,
                None,
            )
        }
        2 => {
            let (m, code) = r.pick(&[("ld", 0x40u16), ("ldh", 0x48), ("ldb", 0x50)]);
            let x = if r.below(2) == 0 { "x" } else { "%X" };
            let k = r.below(1000) as u32;
            (
                format!(
                    "{}{}[{x}{}+{}{k}]",
                    w(r, m),
                    sep(r, true),
                    sep(r, false),
                    sep(r, true)
                ),
                SockFilter::stmt(code, k),
                None,
                None,
            )
        }
        3 => {
            let (m, op) = r.pick(&[
                ("add", 0x00u16),
                ("sub", 0x10),
                ("mul", 0x20),
                ("div", 0x30),
                ("or", 0x40),
                ("and", 0x50),
                ("lsh", 0x60),
                ("rsh", 0x70),
                ("mod", 0x90),
                ("xor", 0xa0),
            ]);
            if r.below(2) == 0 {
                (
                    format!("{}{}#{num}", w(r, m), hsep(r)),
                    SockFilter::stmt(0x04 | op, k),
                    None,
                    None,
                )
            } else {
                (
                    format!("{}{}x", w(r, m), sep(r, true)),
                    SockFilter::stmt(0x0c | op, 0),
                    None,
                    None,
                )
            }
        }
        4 => {
            let (m, code) = r.pick(&[("ld", 0x60u16), ("ldx", 0x61), ("st", 0x02), ("stx", 0x03)]);
            let k = r.below(16) as u32;
            (
                format!("{}{}M{}[{k}]", w(r, m), sep(r, true), sep(r, false)),
                SockFilter::stmt(code, k),
                None,
                None,
            )
        }
        5 => {
            // Two-label conditional jump to later instructions (within 255).
            let (m, op) = r.pick(&[
                ("jeq", 0x10u16),
                ("jgt", 0x20),
                ("jge", 0x30),
                ("jset", 0x40),
            ]);
            let t = i + 1 + r.below(((n - i - 1) as u64).min(256)) as usize;
            let f = i + 1 + r.below(((n - i - 1) as u64).min(256)) as usize;
            let (operand, code, k) = if r.below(2) == 0 {
                (format!("#{num}"), 0x05 | op, k)
            } else {
                ("x".into(), 0x0d | op, 0)
            };
            let text = format!(
                "{}{}{operand}{},{}L{t}{},{}L{f}",
                w(r, m),
                hsep(r),
                sep(r, false),
                sep(r, false),
                sep(r, false),
                sep(r, false)
            );
            (
                text,
                SockFilter::jump(code, k, (t - i - 1) as u8, (f - i - 1) as u8),
                Some(t),
                Some(f),
            )
        }
        6 => {
            // Inverted one-label jumps.
            let (m, op) = r.pick(&[
                ("jne", 0x10u16),
                ("jneq", 0x10),
                ("jlt", 0x30),
                ("jle", 0x20),
            ]);
            let f = i + 1 + r.below(((n - i - 1) as u64).min(256)) as usize;
            let text = format!("{}{}#{num},{}L{f}", w(r, m), hsep(r), sep(r, false));
            (
                text,
                SockFilter::jump(0x05 | op, k, 0, (f - i - 1) as u8),
                None,
                Some(f),
            )
        }
        7 => {
            let t = i + 1 + r.below((n - i - 1) as u64) as usize;
            let m = r.pick(&["ja", "jmp"]);
            (
                format!("{}{}L{t}", w(r, m), sep(r, true)),
                SockFilter::stmt(0x05, (t - i - 1) as u32),
                Some(t),
                None,
            )
        }
        _ => {
            let (m, code) = r.pick(&[("tax", 0x07u16), ("txa", 0x87), ("neg", 0x84)]);
            (w(r, m), SockFilter::stmt(code, 0), None, None)
        }
    }
}

#[test]
fn generated_programs_in_random_spellings_assemble_as_expected() {
    let base = testkit::seed(
        "generated_programs_in_random_spellings_assemble_as_expected",
        0,
    );
    for case in 0..300u64 {
        let mut r = Rng::for_case(base, case);
        let n = 1 + r.below(if case % 10 == 0 { 600 } else { 40 }) as usize;
        let mut stmts = Vec::new();
        let mut want = Vec::new();
        let mut targets = vec![false; n];
        for i in 0..n {
            let (text, insn, t, f) = gen_stmt(&mut r, i, n);
            for x in [t, f].into_iter().flatten() {
                targets[x] = true;
            }
            stmts.push(text);
            want.push(insn);
        }
        let mut src = String::new();
        for (i, text) in stmts.iter().enumerate() {
            if targets[i] || r.below(10) == 0 {
                src.push_str(&format!("L{i}:{}", sep(&mut r, false)));
            }
            src.push_str(text);
            match r.below(6) {
                0 => src.push_str(" ; comment\n"),
                1 => src.push_str("\n# a comment line\n"),
                2 => src.push(' '),
                _ => src.push('\n'),
            }
        }
        let got = assemble(&src, &AsmOptions::DEFAULT)
            .unwrap_or_else(|e| panic!("case {case}: {e}\n{src}"));
        assert_eq!(got, want, "case {case}\n{src}");
        assert_eq!(count_insns(&src), Ok(n), "case {case}");
    }
}

// ---------------------------------------------------------------------------
// The seccomp superset.

#[test]
fn seccomp_fields_follow_the_byte_order() {
    let le = AsmOptions {
        arch: Arch::X86_64,
        endian: Endian::Little,
    };
    let be = AsmOptions {
        arch: Arch::S390x,
        endian: Endian::Big,
    };
    let ks = |src: &str, o: &AsmOptions| -> Vec<u32> {
        assemble(src, o).unwrap().iter().map(|f| f.k).collect()
    };
    let src = "ld [nr] ld [arch] ld [ip] ld [ip_lo] ld [ip_hi] ld [arg0] ld [arg0_hi] ld [ARG5] ld [arg5_lo] ld [arg5_hi] ret a";
    assert_eq!(ks(src, &le), [0, 4, 8, 8, 12, 16, 20, 56, 56, 60, 0]);
    assert_eq!(ks(src, &be), [0, 4, 12, 12, 8, 20, 16, 60, 60, 56, 0]);
    assert_eq!(AsmOptions::for_arch(Arch::S390x).endian, Endian::Big);
    // Half and byte loads of fields too.
    assert_eq!(
        assemble("ldh [nr] ldb [arch]", &le).unwrap(),
        [SockFilter::stmt(0x28, 0), SockFilter::stmt(0x30, 4)]
    );
    // Offsets after x without spaces.
    assert_eq!(
        asm("ld [x+4] ldb [x-1] ldh [%x+2]"),
        [
            SockFilter::stmt(0x40, 4),
            SockFilter::stmt(0x50, 0xffff_ffff),
            SockFilter::stmt(0x48, 2)
        ]
    );
}

#[test]
fn seccomp_constants_actions_and_syscall_names() {
    let s = SockFilter::stmt;
    let x86 = AsmOptions::for_arch(Arch::X86_64);
    let arm64 = AsmOptions::for_arch(Arch::Aarch64);
    let src = "jeq #AUDIT_ARCH_X86_64, a1
        jeq #audit_arch_aarch64, a1
        a1: ld #__NR_openat
        ret ALLOW
        ret #KILL_PROCESS
        ret kill_thread
        ret KILL
        ret LOG
        ret USER_NOTIF
        ret ERRNO(13)
        ret #ERRNO(EPERM)
        ret errno(eacces)
        ret TRAP
        ret TRAP(0x10)
        ret TRACE(7)
        ret SECCOMP_RET_ALLOW
        ret #SECCOMP_RET_ERRNO(1)
        ldi AUDIT_ARCH_I386
        .insn 0x06, 0, 0, 0x7fff0000
        .INSN 0xffff, 255, 3, -1";
    let p = assemble(src, &x86).unwrap();
    let ks: Vec<u32> = p.iter().map(|f| f.k).collect();
    assert_eq!(
        ks,
        [
            0xc000_003e,
            0xc000_00b7,
            257,
            0x7fff_0000,
            0x8000_0000,
            0,
            0,
            0x7ffc_0000,
            0x7fc0_0000,
            0x0005_000d,
            0x0005_0001,
            0x0005_000d,
            0x0003_0000,
            0x0003_0010,
            0x7ff0_0007,
            0x7fff_0000,
            0x0005_0001,
            0x4000_0003,
            0x7fff_0000,
            0xffff_ffff,
        ]
    );
    assert_eq!(p[18], s(0x06, 0x7fff_0000));
    assert_eq!(p[19], SockFilter::jump(0xffff, 0xffff_ffff, 255, 3));
    // Syscall names resolve per architecture.
    assert_eq!(assemble("ld #__NR_openat", &arm64).unwrap(), [s(0x00, 56)]);
    assert_eq!(
        assemble("ret #__NR_seccomp", &AsmOptions::for_arch(Arch::X86)).unwrap(),
        [s(0x06, 354)]
    );
    for arch in Arch::ALL {
        let o = AsmOptions::for_arch(arch);
        if let Some(nr) = arch.syscall_nr("close") {
            assert_eq!(
                assemble("ret #__NR_close", &o).unwrap(),
                [s(0x06, nr)],
                "{arch:?}"
            );
        }
    }
    // Errno names beyond the shared 1..=34 need the generic numbering.
    assert_eq!(
        assemble("ret ERRNO(ENOSYS)", &x86).unwrap(),
        [s(0x06, 0x0005_0026)]
    );
    assert!(assemble("ret ERRNO(ENOSYS)", &AsmOptions::for_arch(Arch::Mips)).is_err());
    assert_eq!(
        assemble("ret ERRNO(EACCES)", &AsmOptions::for_arch(Arch::Mips)).unwrap(),
        [s(0x06, 0x0005_000d)]
    );
}

// ---------------------------------------------------------------------------
// Compile time against run time.

const SECCOMP_X86: &str = "
    ld [arch]
    jne #AUDIT_ARCH_X86_64, kill
    ld [nr]
    jge #0x40000000, kill            ; x32
    jeq #__NR_read, allow
    jeq #__NR_write, allow
    jeq #__NR_openat, check_flags
    jeq #__NR_exit_group, allow
    ret ERRNO(EPERM)
check_flags:
    ld [arg2]
    jset #0x3, deny                  /* O_WRONLY|O_RDWR */
allow: ret ALLOW
deny: ret ERRNO(EACCES)
kill: ret KILL_PROCESS
";

const FILTER_X86: [SockFilter; 14] = bpf_program!(arch = X86_64, SECCOMP_X86);
const FILTER_ARM64: [SockFilter; 14] = bpf_program!(arch = Aarch64, SECCOMP_X86);
const FILTER_BE: [SockFilter; 14] = bpf_program!(
    options = AsmOptions {
        arch: Arch::S390x,
        endian: Endian::Big
    },
    SECCOMP_X86,
);
// Kernel bpf_asm syntax only (written for this test; the corpus sources
// cannot be embedded at compile time without copying them).
const KERNEL_SECCOMP: &str = "
ld [4]                  /* arch */
jne #0xc000003e, bad
ld [0]                  ; nr
jeq #2, good
jeq #257, good
jeq #3, good
bad: ret #0
good: ret #0x7fff0000
";
const KERNEL_STYLE: [SockFilter; 8] = bpf_program!(KERNEL_SECCOMP);
const KERNEL_PACKET: &str = "# sample one UDP packet in eight
ldh [12]
jneq #0x800, drop
ldb [23]
jneq #17, drop
ld rand
mod #8
jneq #0, drop
ld ifidx
ld vlan_tci
ret #-1
drop: ret #0
";
const PACKET: [SockFilter; 11] = bpf_program!(KERNEL_PACKET);
const EVERYTHING: [SockFilter; 12] = bpf_program!(
    "ldb [x+1] ldh [%x + 2] ld #len ldx 4*([14]&0xf) st M[0] mod x jlt #5, ee jset x, ee, ee neg tax txa ee: ret %a"
);

#[test]
fn const_assembly_equals_run_time_assembly() {
    let cases: [(&[SockFilter], &str, AsmOptions); 6] = [
        (&FILTER_X86, SECCOMP_X86, AsmOptions::for_arch(Arch::X86_64)),
        (&FILTER_ARM64, SECCOMP_X86, AsmOptions::for_arch(Arch::Aarch64)),
        (&FILTER_BE, SECCOMP_X86, AsmOptions { arch: Arch::S390x, endian: Endian::Big }),
        (&KERNEL_STYLE, KERNEL_SECCOMP, AsmOptions::DEFAULT),
        (&PACKET, KERNEL_PACKET, AsmOptions::DEFAULT),
        (
            &EVERYTHING,
            "ldb [x+1] ldh [%x + 2] ld #len ldx 4*([14]&0xf) st M[0] mod x jlt #5, ee jset x, ee, ee neg tax txa ee: ret %a",
            AsmOptions::DEFAULT,
        ),
    ];
    for (konst, src, opts) in cases {
        assert_eq!(konst, &assemble(src, &opts).unwrap()[..], "{src}");
    }
    // The architecture changes syscall numbers, the byte order argument words.
    assert_eq!(FILTER_X86[4].k, 0);
    assert_eq!(FILTER_ARM64[4].k, 63);
    assert_eq!(FILTER_X86[9].k, 32);
    assert_eq!(FILTER_BE[9].k, 36);
    assert_eq!(
        to_comma(&KERNEL_STYLE),
        "8,32 0 0 4,21 0 4 3221225534,32 0 0 0,21 3 0 2,21 2 0 257,21 1 0 3,6 0 0 0,6 0 0 2147418112,\n"
    );
    assert_eq!(PACKET[4], SockFilter::stmt(0x20, 0xffff_f038));
}

#[test]
fn assemble_into_leaves_later_slots_untouched() {
    let marker = SockFilter::jump(0xdead, 0xfeed_f00d, 7, 9);
    let mut out = [marker; 8];
    let n = assemble_into("jeq #1, aa\naa: ret #0", &AsmOptions::DEFAULT, &mut out).unwrap();
    assert_eq!(n, 2);
    assert_eq!(
        &out[..2],
        &[SockFilter::jump(0x15, 1, 0, 0), SockFilter::stmt(0x06, 0)]
    );
    assert!(out[2..].iter().all(|f| *f == marker));
}

#[test]
fn disassembly_of_random_programs_assembles_back_to_the_same_bytes() {
    use bpf_asm::disasm::{disassemble, DisasmOptions};
    let base = testkit::seed(
        "disassembly_of_random_programs_assembles_back_to_the_same_bytes",
        0,
    );
    for case in 0..200u64 {
        let mut r = Rng::for_case(base, case);
        let n = 1 + r.below(60) as usize;
        let prog: Vec<SockFilter> = (0..n)
            .map(|i| {
                let left = (n - i - 1) as u64;
                let code = if r.below(3) == 0 {
                    r.pick(&bpf_asm::CLASSIC_CODES)
                } else {
                    r.next_u64() as u16
                };
                let mut f = SockFilter::jump(
                    code,
                    gen_value(&mut r),
                    r.next_u64() as u8,
                    r.next_u64() as u8,
                );
                if bpf_asm::bpf_class(code) == bpf_asm::BPF_JMP {
                    // Keep jumps inside the program.
                    f.jt = r.below(left.min(255) + 1) as u8;
                    f.jf = r.below(left.min(255) + 1) as u8;
                    if code == 0x05 {
                        f.k = r.below(left + 1) as u32;
                    }
                }
                f
            })
            .collect();
        let text = disassemble(&prog, &DisasmOptions { annotate: None });
        let back = assemble(&text, &AsmOptions::DEFAULT)
            .unwrap_or_else(|e| panic!("case {case}: {e}\n{text}"));
        assert_eq!(back, prog, "case {case}\n{text}");
    }
}
