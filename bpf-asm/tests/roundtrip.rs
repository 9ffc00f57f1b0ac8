//! Round trips: disassemble → assemble gives the identical bytes, for random
//! instruction soup (invalid codes, stray fields, out-of-range jumps) and for
//! random well-formed programs; raw, comma, hex encodings parse back to the
//! same program; the comma and `-c` outputs match the kernel's `bpf_asm`
//! byte for byte on the corpus examples.

use testkit::Rng;

use bpf_asm::disasm::{disassemble, write_disasm, DisasmOptions};
use bpf_asm::encode::{self, ParseErrorKind};
use bpf_asm::text::{assemble, AsmOptions};
use bpf_asm::{AluOp, Arch, Insn, JmpOp, Size, SockFilter, Src, CLASSIC_CODES};

/// Constants and jump offsets biased towards the interesting ones.
trait Draws {
    fn k(&mut self) -> u32;
    fn byte(&mut self) -> u8;
}

impl Draws for Rng {
    fn k(&mut self) -> u32 {
        match self.below(6) {
            0 => 0,
            1 => self.below(16) as u32,
            2 => 4 * self.below(16) as u32,
            3 => [
                0x7fff_0000,
                0x0005_0001,
                0xc000_003e,
                0xffff_f000,
                0xffff_ffff,
            ][self.below(5) as usize],
            _ => self.next_u64() as u32,
        }
    }
    fn byte(&mut self) -> u8 {
        match self.below(4) {
            0 => 0,
            1 => self.below(4) as u8,
            _ => self.next_u64() as u8,
        }
    }
}

/// Any 8 bytes, biased towards real codes and in-range jumps.
fn soup(rng: &mut Rng) -> Vec<SockFilter> {
    let max = if rng.below(8) == 0 { 600 } else { 40 };
    let n = 1 + rng.below(max) as usize;
    (0..n)
        .map(|_| {
            let code = match rng.below(10) {
                0..=5 => CLASSIC_CODES[rng.below(CLASSIC_CODES.len() as u64) as usize],
                6 => [0x0e, 0x0d, 0x8c, 0x08, 0x0f, 0x1e, 0x8006][rng.below(7) as usize],
                7 => rng.below(0x100) as u16,
                _ => rng.next_u64() as u16,
            };
            let (jt, jf) = if rng.below(2) == 0 {
                (0, 0)
            } else {
                (rng.byte(), rng.byte())
            };
            SockFilter::jump(code, rng.k(), jt, jf)
        })
        .collect()
}

/// A well-formed program: typed instructions, jumps inside the program,
/// ending with a return.
fn structured(rng: &mut Rng) -> Vec<SockFilter> {
    let max = if rng.below(8) == 0 { 1500 } else { 60 };
    let n = 2 + rng.below(max) as usize;
    let mut p = Vec::with_capacity(n);
    for pc in 0..n - 1 {
        let left = (n - pc - 2) as u64; // largest forward offset in range
        let off = |rng: &mut Rng| rng.below(left.min(255) + 1) as u8;
        let src = |rng: &mut Rng| {
            if rng.below(3) == 0 {
                Src::X
            } else {
                Src::K(rng.k())
            }
        };
        let size = |rng: &mut Rng| [Size::W, Size::H, Size::B][rng.below(3) as usize];
        let insn = match rng.below(20) {
            0 => Insn::LdImm(rng.k()),
            1 => Insn::LdxImm(rng.k()),
            2 | 3 => Insn::LdAbs(size(rng), rng.k()),
            4 => Insn::LdInd(size(rng), rng.k()),
            5 => [
                Insn::LdLen,
                Insn::LdxLen,
                Insn::Neg,
                Insn::Tax,
                Insn::Txa,
                Insn::RetA,
                Insn::RetX,
            ][rng.below(7) as usize],
            6 => Insn::LdMem(rng.below(16) as u32),
            7 => Insn::LdxMem(rng.k()),
            8 => Insn::LdxMsh(rng.k()),
            9 => Insn::St(rng.below(16) as u32),
            10 => Insn::Stx(rng.below(16) as u32),
            11 | 12 => Insn::Alu(AluOp::ALL[rng.below(10) as usize], src(rng)),
            13 => Insn::Ja(rng.below(left + 1) as u32),
            14..=17 => Insn::Jmp {
                op: JmpOp::ALL[rng.below(4) as usize],
                src: src(rng),
                jt: off(rng),
                jf: off(rng),
            },
            _ => Insn::RetK(rng.k()),
        };
        p.push(insn.encode());
    }
    p.push(Insn::RetK(rng.k()).encode());
    p
}

fn check_disasm_round_trip(prog: &[SockFilter], opts: &DisasmOptions, what: &str) {
    let text = disassemble(prog, opts);
    let back = assemble(&text, &AsmOptions::DEFAULT)
        .unwrap_or_else(|e| panic!("{what}: assembling the disassembly failed: {e}\n{text}"));
    if back != prog {
        let i = back
            .iter()
            .zip(prog)
            .position(|(a, b)| a != b)
            .unwrap_or(back.len().min(prog.len()));
        panic!(
            "{what}: first difference at {i}: {:?} vs {:?}\n{text}",
            back.get(i),
            prog.get(i)
        );
    }
}

#[test]
fn disassembly_of_random_soup_reassembles_identically() {
    let base = testkit::seed("disassembly_of_random_soup_reassembles_identically", 0);
    for case in 0..1500u64 {
        let mut rng = Rng::for_case(base, case);
        let prog = soup(&mut rng);
        check_disasm_round_trip(
            &prog,
            &DisasmOptions::default(),
            &format!("soup case {case}"),
        );
        let arch = Arch::ALL[rng.below(Arch::ALL.len() as u64) as usize];
        let opts = DisasmOptions {
            annotate: Some(arch),
        };
        check_disasm_round_trip(&prog, &opts, &format!("annotated soup case {case}"));
    }
}

#[test]
fn disassembly_of_random_programs_reassembles_identically() {
    let mut labels = 0;
    let base = testkit::seed("disassembly_of_random_programs_reassembles_identically", 0);
    for case in 0..1000u64 {
        let mut rng = Rng::for_case(base, case);
        let prog = structured(&mut rng);
        let arch = Arch::ALL[rng.below(Arch::ALL.len() as u64) as usize];
        for opts in [
            DisasmOptions::default(),
            DisasmOptions {
                annotate: Some(arch),
            },
        ] {
            check_disasm_round_trip(&prog, &opts, &format!("program case {case}"));
        }
        let text = disassemble(&prog, &DisasmOptions::default());
        assert!(
            !text.contains(".insn"),
            "case {case}: typed program used .insn:\n{text}"
        );
        labels += text.lines().filter(|l| l.starts_with('l')).count();
    }
    assert!(
        labels > 5_000,
        "only {labels} labels: jumps are not exercised"
    );
}

#[test]
fn every_typed_form_is_written_in_bpf_asm_syntax() {
    let prog = [
        Insn::LdImm(42),
        Insn::LdxImm(0),
        Insn::LdAbs(Size::W, 4),
        Insn::LdAbs(Size::H, 12),
        Insn::LdAbs(Size::B, 0xffff_f000),
        Insn::LdInd(Size::W, 3),
        Insn::LdLen,
        Insn::LdxLen,
        Insn::LdMem(3),
        Insn::LdxMem(15),
        Insn::LdxMsh(14),
        Insn::St(1),
        Insn::Stx(2),
        Insn::Alu(AluOp::Add, Src::K(5)),
        Insn::Alu(AluOp::Mod, Src::X),
        Insn::Neg,
        Insn::Ja(1),
        Insn::Jmp {
            op: JmpOp::Jset,
            src: Src::X,
            jt: 0,
            jf: 1,
        },
        Insn::Jmp {
            op: JmpOp::Jeq,
            src: Src::K(0xc000_003e),
            jt: 0,
            jf: 0,
        },
        Insn::Tax,
        Insn::Txa,
        Insn::Raw(SockFilter::jump(0x8006, 7, 1, 2)),
        Insn::RetA,
        Insn::RetX,
        Insn::RetK(0x7fff_0000),
    ]
    .map(Insn::encode);
    let text = disassemble(&prog, &DisasmOptions::default());
    let want = "\tld #0x2a\n\tldx #0\n\tld [4]\n\tldh [12]\n\tldb [0xfffff000]\n\tld [x + 3]\n\
                \tld #len\n\tldx #len\n\tld M[3]\n\tldx M[15]\n\tldxb 4*([14]&0xf)\n\tst M[1]\n\
                \tstx M[2]\n\tadd #5\n\tmod x\n\tneg\n\tja l18\n\tjset x, l18, l19\n\
                l18:\tjeq #0xc000003e, l19, l19\nl19:\ttax\n\ttxa\n\t.insn 0x8006, 1, 2, 7\n\
                \tret a\n\tret x\n\tret #0x7fff0000\n";
    assert_eq!(text, want);
    check_disasm_round_trip(&prog, &DisasmOptions::default(), "typed forms");
}

#[test]
fn jumps_leaving_the_program_become_raw() {
    let prog = [
        SockFilter::jump(0x15, 1, 0, 5),
        SockFilter::stmt(0x05, 0xffff_ffff),
        SockFilter::stmt(0x06, 0),
    ];
    let text = disassemble(&prog, &DisasmOptions::default());
    assert_eq!(
        text,
        "\t.insn 0x15, 0, 5, 1\n\t.insn 0x05, 0, 0, 0xffffffff\n\tret #0\n"
    );
}

#[test]
fn seccomp_annotations_name_fields_actions_arches_and_syscalls() {
    let x86 = Arch::X86_64;
    let prog = [
        Insn::LdAbs(Size::W, 4),
        Insn::Jmp {
            op: JmpOp::Jeq,
            src: Src::K(0xc000_003e),
            jt: 1,
            jf: 0,
        },
        Insn::RetK(0x8000_0000),
        Insn::LdAbs(Size::W, 0),
        Insn::Jmp {
            op: JmpOp::Jge,
            src: Src::K(0x4000_0000),
            jt: 4,
            jf: 0,
        },
        Insn::Jmp {
            op: JmpOp::Jeq,
            src: Src::K(257),
            jt: 1,
            jf: 0,
        },
        Insn::Jmp {
            op: JmpOp::Jeq,
            src: Src::K(59),
            jt: 1,
            jf: 2,
        },
        // Reached from both compares after `ld [0]`: A still holds nr.
        Insn::Jmp {
            op: JmpOp::Jeq,
            src: Src::K(0),
            jt: 0,
            jf: 0,
        },
        Insn::RetK(0x0005_0001),
        Insn::LdAbs(Size::W, 20),
        Insn::RetK(0x7fff_0000),
        Insn::RetK(0x0003_0007),
    ]
    .map(Insn::encode);
    let opts = DisasmOptions {
        annotate: Some(x86),
    };
    let text = disassemble(&prog, &opts);
    let comments: Vec<&str> = text
        .lines()
        .map(|l| l.split_once("; ").map_or("", |c| c.1))
        .collect();
    assert_eq!(
        comments,
        [
            "arch",
            "arch == AUDIT_ARCH_X86_64",
            "KILL_PROCESS",
            "nr",
            "nr >= X32_SYSCALL_BIT",
            "nr == openat",
            "nr == execve",
            "nr == read",
            "ERRNO(1) EPERM",
            "args[0] hi",
            "ALLOW",
            "TRAP(7)",
        ],
        "{text}"
    );
    // The path to `ld [20]` checked for x86_64: the assumed architecture
    // does not change what the word is.
    let text = disassemble(
        &prog,
        &DisasmOptions {
            annotate: Some(Arch::S390x),
        },
    );
    assert!(
        text.contains("ld [20]                 ; args[0] hi"),
        "{text}"
    );
    // Without an arch check the assumed (big-endian) architecture names it,
    // and the comment says it is assumed.
    let unchecked = [Insn::LdAbs(Size::W, 20), Insn::RetK(0)].map(Insn::encode);
    let text = disassemble(
        &unchecked,
        &DisasmOptions {
            annotate: Some(Arch::S390x),
        },
    );
    assert!(
        text.contains("; args[0] lo (any arch may reach this: s390x byte order assumed)"),
        "{text}"
    );
    // Where two paths bring different values, A is unknown: no syscall name.
    let join = [
        Insn::LdAbs(Size::W, 0),
        Insn::Jmp {
            op: JmpOp::Jeq,
            src: Src::K(1),
            jt: 1,
            jf: 0,
        },
        Insn::LdAbs(Size::W, 4),
        Insn::Jmp {
            op: JmpOp::Jeq,
            src: Src::K(59),
            jt: 0,
            jf: 0,
        },
        Insn::RetK(0),
    ]
    .map(Insn::encode);
    let text = disassemble(&join, &opts);
    let line = text.lines().nth(3).unwrap();
    assert!(!line.contains(';'), "{line}");
    check_disasm_round_trip(&prog, &opts, "annotated");
}

#[test]
fn raw_bytes_round_trip_and_reject_partial_instructions() {
    let base = testkit::seed("raw_bytes_round_trip_and_reject_partial_instructions", 0);
    for case in 0..300u64 {
        let mut rng = Rng::for_case(base, case);
        let prog = soup(&mut rng);
        let bytes = encode::to_raw(&prog);
        assert_eq!(bytes.len(), prog.len() * 8);
        assert_eq!(encode::parse_raw(&bytes).unwrap(), prog);
        let mut buf = vec![0u8; bytes.len()];
        assert_eq!(encode::write_raw(&prog, &mut buf), Ok(bytes.len()));
        assert_eq!(buf, bytes);
        if !buf.is_empty() {
            assert!(encode::write_raw(&prog, &mut buf[1..]).is_err());
        }
        let cut = 1 + rng.below(7) as usize;
        let e = encode::parse_raw(&bytes[..bytes.len() - cut]).unwrap_err();
        assert_eq!(e.kind, ParseErrorKind::TrailingBytes { extra: 8 - cut });
        assert_eq!(e.column, bytes.len() - 8);
        assert!(
            e.to_string()
                .contains(&format!("byte offset {}", bytes.len() - 8)),
            "{e}"
        );
    }
    // Host byte order, as the kernel reads struct sock_filter.
    let f = SockFilter::jump(0x15, 0xc000_003e, 1, 2);
    let b = encode::to_raw(&[f]);
    assert_eq!(&b[..2], &0x15u16.to_ne_bytes());
    assert_eq!(&b[2..4], &[1, 2]);
    assert_eq!(&b[4..], &0xc000_003eu32.to_ne_bytes());
}

#[test]
fn comma_and_hex_round_trip() {
    let base = testkit::seed("comma_and_hex_round_trip", 0);
    for case in 0..300u64 {
        let mut rng = Rng::for_case(base, case);
        let prog = soup(&mut rng);
        let text = encode::to_comma(&prog);
        assert!(text.ends_with(",\n"));
        assert_eq!(encode::parse_comma(&text).unwrap(), prog, "case {case}");
        let mut buf = vec![SockFilter::default(); prog.len()];
        assert_eq!(encode::parse_comma_into(&text, &mut buf), Ok(prog.len()));
        assert_eq!(buf, prog);
        // tcpdump -ddd layout: the count, then one instruction per line.
        let mut ddd = format!("{}\n", prog.len());
        for f in &prog {
            ddd += &format!("{} {} {} {}\n", f.code, f.jt, f.jf, f.k);
        }
        assert_eq!(encode::parse_comma(&ddd).unwrap(), prog, "case {case}");
        let hex = encode::to_hex(&prog);
        assert_eq!(hex.lines().count(), prog.len());
        assert_eq!(encode::parse_hex(&hex).unwrap(), prog);
    }
}

#[test]
fn comma_parse_errors_say_where() {
    let cases: [(&str, usize, usize, &str); 7] = [
        ("", 1, 1, "expected the instruction count"),
        ("2,6 0 0 0,", 1, 1, "count says 2 instructions but 1 follow"),
        ("1,6 0 0 0 7,", 1, 11, "expected ','"),
        ("1,\n6 0 256 0,", 2, 5, "jf is too large (at most 255)"),
        ("1,6 0 0 4294967296,", 1, 9, "k is too large"),
        ("1,6 0 0,", 1, 8, "expected the k field"),
        ("2,6 0 0 0,,6 0 0 0", 1, 11, "expected an instruction"),
    ];
    for (text, line, col, msg) in cases {
        let e = encode::parse_comma(text).unwrap_err();
        assert_eq!((e.line, e.column), (line, col), "{text:?}: {e}");
        assert!(e.to_string().contains(msg), "{text:?}: {e}");
        assert!(e.to_string().starts_with(&format!("{line}:{col}: ")), "{e}");
    }
    let mut small = [SockFilter::default(); 1];
    let e = encode::parse_comma_into("2,6 0 0 0,6 0 0 1,", &mut small).unwrap_err();
    assert_eq!(e.kind, ParseErrorKind::Capacity { capacity: 1 });
    // The error points at the first instruction that did not fit.
    assert_eq!((e.line, e.column), (1, 11), "{e}");
    let hex = encode::to_hex(&[SockFilter::stmt(6, 0), SockFilter::stmt(6, 1)]);
    let e = encode::parse_hex_into(&hex, &mut small).unwrap_err();
    assert_eq!(e.kind, ParseErrorKind::Capacity { capacity: 1 });
    assert_eq!(e.line, 2, "{e}");
    assert_eq!(encode::parse_hex_into(&hex[..17], &mut small), Ok(1));
}

#[test]
fn c_array_prints_zero_like_c_does() {
    let prog = [
        SockFilter::jump(0, 0, 0, 3),
        SockFilter::stmt(0x06, 0x7fff_0000),
        SockFilter::jump(0x115, 0xff, 10, 255),
    ];
    assert_eq!(
        encode::to_c_array(&prog),
        "{ 0000,  0,  3, 0000000000 },\n{ 0x06,  0,  0, 0x7fff0000 },\n\
         { 0x115, 10, 255, 0x000000ff },\n"
    );
}

#[test]
fn rust_static_is_a_valid_item() {
    let prog = [
        SockFilter::jump(0x15, 0xc000_003e, 1, 0),
        SockFilter::stmt(6, 0),
    ];
    let s = encode::to_rust_static("FILTER", &prog).unwrap();
    assert_eq!(
        s,
        "pub static FILTER: [bpf_asm::SockFilter; 2] = [\n\
         \x20   bpf_asm::SockFilter { code: 0x0015, jt: 1, jf: 0, k: 0xc000003e },\n\
         \x20   bpf_asm::SockFilter { code: 0x0006, jt: 0, jf: 0, k: 0x00000000 },\n];\n"
    );
    assert!(encode::to_rust_static("1abc", &prog).is_err());
    assert!(encode::to_rust_static("a-b", &prog).is_err());
}

pub static FILTER: [bpf_asm::SockFilter; 2] = [
    bpf_asm::SockFilter {
        code: 0x0015,
        jt: 1,
        jf: 0,
        k: 0xc000003e,
    },
    bpf_asm::SockFilter {
        code: 0x0006,
        jt: 0,
        jf: 0,
        k: 0x00000000,
    },
];

#[test]
fn rust_static_output_compiles() {
    // The item above is the output of `rust_static_is_a_valid_item`.
    assert_eq!(FILTER[0], SockFilter::jump(0x15, 0xc000_003e, 1, 0));
}

#[test]
fn corpus_outputs_match_the_kernel_bpf_asm_exactly() {
    let Some(json) = testkit::corpus::json("bpf-asm/examples.json") else {
        return;
    };
    let strings = |key: &str| -> Vec<String> {
        json["examples"]
            .as_array()
            .expect("examples")
            .iter()
            .map(|e| e[key].as_str().expect(key).to_string())
            .collect()
    };
    let comma = strings("bpf_asm_output");
    let c = strings("bpf_asm_c_output");
    assert_eq!(comma.len(), c.len());
    assert!(comma.len() >= 5);
    for (out, c_out) in comma.iter().zip(&c) {
        if out.is_empty() {
            continue;
        }
        let prog = encode::parse_comma(out).unwrap_or_else(|e| panic!("{e}: {out}"));
        assert_eq!(encode::to_comma(&prog).trim_end(), out.trim_end());
        assert_eq!(&encode::to_c_array(&prog), c_out);
        check_disasm_round_trip(&prog, &DisasmOptions::default(), out);
        check_disasm_round_trip(
            &prog,
            &DisasmOptions {
                annotate: Some(Arch::X86_64),
            },
            out,
        );
    }
}

#[test]
fn corpus_all_instructions_disassembles_and_reassembles() {
    let Some(text) = testkit::corpus::text("bpf-asm/all_instructions.bpf") else {
        return;
    };
    let prog = encode::parse_comma(&text).unwrap();
    assert_eq!(prog.len(), 57);
    let mut out = String::new();
    write_disasm(&prog, &DisasmOptions::default(), &mut out).unwrap();
    assert!(!out.contains(".insn"), "{out}");
    check_disasm_round_trip(&prog, &DisasmOptions::default(), "all_instructions");
    // And the original source assembles to the same program.
    let src = testkit::corpus::text("bpf-asm/all_instructions.txt").expect("corpus present");
    assert_eq!(assemble(&src, &AsmOptions::DEFAULT).unwrap(), prog);
}
