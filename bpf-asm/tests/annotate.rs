//! Annotation follows the architecture each path has established (issue 13's
//! three examples): on Docker's profile as we compile it, syscall numbers
//! compared on the i386 branch are named from the i386 table, argument words
//! on a big-endian branch are named by its byte order, and x32 numbers are
//! never named after the x86_64 call with the same low bits. Every comment is
//! checked against an independent per-architecture reachability analysis of
//! the program, not against expected text.
#![cfg(feature = "policy-files")]

use std::path::{Path, PathBuf};

use bpf_asm::disasm::{disassemble, DisasmOptions};
use bpf_asm::insn::{Insn, JmpOp, Size, Src};
use bpf_asm::policy::compile::{compile_resolved, CompileOptions, Layout};
use bpf_asm::policy::load::{load_file, LoadOptions, OciOptions};
use bpf_asm::policy::resolve::resolve;
use bpf_asm::seccomp::{Arch, SECCOMP_DATA_ARCH, SECCOMP_DATA_NR};
use bpf_asm::SockFilter;

fn corpus() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus");
    if p.is_dir() {
        Some(p)
    } else {
        println!("skipped: corpus not found");
        None
    }
}

/// Which instructions a call from `audit` can reach: `arch` comparisons
/// decided by the value, every other comparison both ways.
fn reachable(prog: &[SockFilter], audit: u32) -> Vec<bool> {
    let n = prog.len();
    // Per instruction: (reachable, A may hold `arch`, A may hold anything else).
    let mut st = vec![(false, false, false); n + 1];
    st[0] = (true, false, true);
    fn go(st: &mut [(bool, bool, bool)], to: usize, arch: bool, other: bool) {
        let to = to.min(st.len() - 1);
        st[to].0 = true;
        st[to].1 |= arch;
        st[to].2 |= other;
    }
    for pc in 0..n {
        let (reached, is_arch, is_other) = st[pc];
        if !reached {
            continue;
        }
        match Insn::decode(prog[pc]) {
            Insn::Ja(k) => go(&mut st, pc + 1 + k as usize, is_arch, is_other),
            Insn::Jmp { op, src, jt, jf } => {
                let t = pc + 1 + usize::from(jt);
                let f = pc + 1 + usize::from(jf);
                match src {
                    Src::K(k) if is_arch && !is_other => {
                        let to = if op.holds(audit, k) { t } else { f };
                        go(&mut st, to, true, false);
                    }
                    _ => {
                        go(&mut st, t, is_arch, is_other);
                        go(&mut st, f, is_arch, is_other);
                    }
                }
            }
            Insn::RetK(_) | Insn::RetA | Insn::RetX => {}
            Insn::LdAbs(Size::W, k) => go(
                &mut st,
                pc + 1,
                k == SECCOMP_DATA_ARCH,
                k != SECCOMP_DATA_ARCH,
            ),
            Insn::Alu(..) | Insn::LdImm(_) | Insn::LdAbs(..) | Insn::LdMem(_) | Insn::Txa => {
                go(&mut st, pc + 1, false, true)
            }
            _ => go(&mut st, pc + 1, is_arch, is_other),
        }
    }
    st.truncate(n);
    st.into_iter().map(|s| s.0).collect()
}

/// The comment of each instruction's line.
fn comments(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| {
            l.split_once("; ")
                .map_or(String::new(), |c| c.1.to_string())
        })
        .collect()
}

/// Checks every `nr` comparison and argument load of `prog` against the
/// tables and byte orders of the architectures that reach it. Returns how
/// many comments were checked.
fn check(prog: &[SockFilter], arches: &[Arch], what: &str) -> usize {
    let text = disassemble(
        prog,
        &DisasmOptions {
            annotate: Some(arches[0]),
        },
    );
    let comments = comments(&text);
    assert_eq!(comments.len(), prog.len());
    let reach: Vec<Vec<bool>> = arches
        .iter()
        .map(|a| reachable(prog, a.audit_arch()))
        .collect();
    let mut checked = 0;
    for (pc, c) in comments.iter().enumerate() {
        let by: Vec<Arch> = arches
            .iter()
            .zip(&reach)
            .filter(|(_, r)| r[pc])
            .map(|(a, _)| *a)
            .collect();
        if by.is_empty() {
            continue;
        }
        let line = text.lines().nth(pc).unwrap();
        match Insn::decode(prog[pc]) {
            Insn::Jmp {
                op: JmpOp::Jeq | JmpOp::Jgt | JmpOp::Jge,
                src: Src::K(k),
                ..
            } if c.starts_with("nr ") => {
                let names: Vec<Option<&str>> = by
                    .iter()
                    .map(|a| {
                        if *a == Arch::X86_64 && k & 0x4000_0000 != 0 && k != u32::MAX {
                            None
                        } else {
                            a.syscall_name(k)
                        }
                    })
                    .collect();
                let named = c.split(' ').nth(2).unwrap_or("");
                if names.iter().all(|n| *n == names[0]) {
                    match names[0] {
                        Some(n) => assert_eq!(named, n, "{what}: {line} (reached by {by:?})"),
                        None => assert!(
                            named.starts_with("0x") || named == "X32_SYSCALL_BIT",
                            "{what}: {line}"
                        ),
                    }
                } else {
                    // Both (each architecture's name) or neither.
                    assert!(
                        named.starts_with("0x"),
                        "{what}: {line} (reached by {by:?})"
                    );
                    if c.contains('(') && !c.contains("not named") {
                        for (a, n) in by.iter().zip(&names) {
                            let part = format!("{} {}", a.name(), n.unwrap_or("none"));
                            let part_x32 = format!("{} x32 call", a.name());
                            assert!(
                                c.contains(&part) || c.contains(&part_x32),
                                "{what}: {line}: missing `{part}`"
                            );
                        }
                    }
                }
                checked += 1;
            }
            Insn::LdAbs(Size::W, k) if (16..64).contains(&k) => {
                let endians: Vec<_> = by.iter().map(|a| a.endian()).collect();
                let i = (k - 16) / 8;
                if endians.iter().all(|e| *e == endians[0]) {
                    let low_first = endians[0] == bpf_asm::Endian::Little;
                    let lo = (k % 8 == 0) == low_first;
                    let want = format!("args[{i}] {}", if lo { "lo" } else { "hi" });
                    assert_eq!(c, &want, "{what}: {line} (reached by {by:?})");
                } else {
                    assert!(c.contains(" or "), "{what}: {line}");
                }
                checked += 1;
            }
            Insn::LdAbs(Size::W, SECCOMP_DATA_NR) => assert_eq!(c, "nr"),
            _ => {}
        }
    }
    checked
}

fn docker(corpus: &Path, native: Arch) -> (Vec<Arch>, bpf_asm::policy::resolve::Resolved) {
    let opts = LoadOptions {
        oci: OciOptions {
            arch: Some(native),
            kernel: (6, 18),
            ..OciOptions::default()
        },
        ..LoadOptions::default()
    };
    let p = load_file(&corpus.join("policies/docker/default.json"), &opts).expect("docker loads");
    let r = resolve(&p).expect("resolves");
    (p.arches, r)
}

#[test]
fn docker_i386_branch_is_named_from_the_i386_table() {
    let Some(corpus) = corpus() else { return };
    let (arches, resolved) = docker(&corpus, Arch::X86_64);
    assert!(arches.contains(&Arch::X86), "{arches:?}");
    let mut total = 0;
    for layout in Layout::CONCRETE {
        let prog = compile_resolved(
            &resolved,
            &CompileOptions {
                layout,
                profile: None,
            },
        )
        .unwrap()
        .program;
        total += check(&prog, &arches, &format!("docker x86_64+i386, {layout}"));
    }
    assert!(total > 500, "{total} comments checked");
}

#[test]
fn docker_big_endian_branches_name_argument_words_by_their_byte_order() {
    let Some(corpus) = corpus() else { return };
    for native in [Arch::S390x, Arch::Ppc64] {
        let (arches, resolved) = docker(&corpus, native);
        let prog = compile_resolved(&resolved, &CompileOptions::default())
            .unwrap()
            .program;
        let n = check(&prog, &arches, &format!("docker {native:?}"));
        assert!(n > 10, "{native:?}: {n}");
        // Assuming little-endian x86_64 for the comments changes nothing on
        // the branches that checked the arch.
        let text = disassemble(
            &prog,
            &DisasmOptions {
                annotate: Some(Arch::X86_64),
            },
        );
        let again = disassemble(
            &prog,
            &DisasmOptions {
                annotate: Some(native),
            },
        );
        assert_eq!(text, again, "{native:?}");
    }
}

#[test]
fn mixed_policies_name_each_branch_from_its_own_architecture() {
    let Some(corpus) = corpus() else { return };
    // Docker's names on four architectures of both byte orders at once.
    let text = std::fs::read_to_string(corpus.join("policies/docker/default.json")).unwrap();
    let p = bpf_asm::policy::load::load_str(
        &text,
        "default.json",
        &LoadOptions {
            oci: OciOptions {
                arch: Some(Arch::X86_64),
                kernel: (6, 18),
                ..OciOptions::default()
            },
            ..LoadOptions::default()
        },
    )
    .unwrap();
    let mut p = p;
    p.arches = vec![Arch::X86_64, Arch::S390x, Arch::Aarch64, Arch::X86];
    let resolved = resolve(&p).unwrap();
    for layout in Layout::CONCRETE {
        let prog = compile_resolved(
            &resolved,
            &CompileOptions {
                layout,
                profile: None,
            },
        )
        .unwrap()
        .program;
        check(&prog, &p.arches, &format!("four arches, {layout}"));
    }
}

#[test]
fn x32_numbers_are_never_named_after_x86_64_calls() {
    // ld [4]; jeq X86_64; ld [0]; jge 0x40000000 -> x32 block comparing
    // x32 numbers; below, x86_64 numbers.
    let prog = [
        Insn::LdAbs(Size::W, 4),
        Insn::Jmp {
            op: JmpOp::Jeq,
            src: Src::K(0xc000_003e),
            jt: 1,
            jf: 0,
        },
        Insn::RetK(0),
        Insn::LdAbs(Size::W, 0),
        Insn::Jmp {
            op: JmpOp::Jge,
            src: Src::K(0x4000_0000),
            jt: 0,
            jf: 2,
        },
        Insn::Jmp {
            op: JmpOp::Jeq,
            src: Src::K(0x4000_003b),
            jt: 2,
            jf: 0,
        },
        Insn::Jmp {
            op: JmpOp::Jeq,
            src: Src::K(0x4000_0208),
            jt: 1,
            jf: 0,
        },
        Insn::Jmp {
            op: JmpOp::Jeq,
            src: Src::K(59),
            jt: 0,
            jf: 1,
        },
        Insn::RetK(0x0005_0001),
        Insn::RetK(0x7fff_0000),
    ]
    .map(Insn::encode);
    let text = disassemble(
        &prog,
        &DisasmOptions {
            annotate: Some(Arch::X86_64),
        },
    );
    let c = comments(&text);
    assert_eq!(c[4], "nr >= X32_SYSCALL_BIT", "{text}");
    assert_eq!(
        c[5], "nr == 0x4000003b (x32 call; no x32 table to name it)",
        "{text}"
    );
    assert_eq!(
        c[6], "nr == 0x40000208 (x32 call; no x32 table to name it)",
        "{text}"
    );
    assert_eq!(c[7], "nr == execve", "{text}");
    check(&prog, &[Arch::X86_64], "x32 block");
}

#[test]
fn two_arches_at_one_instruction_get_both_names_or_neither() {
    // x86_64 and i386 share the compare of 0x89 (statfs / afs_syscall).
    let shared = [
        Insn::LdAbs(Size::W, 4),
        Insn::Jmp {
            op: JmpOp::Jeq,
            src: Src::K(0xc000_003e),
            jt: 1,
            jf: 0,
        },
        Insn::Jmp {
            op: JmpOp::Jeq,
            src: Src::K(0x4000_0003),
            jt: 0,
            jf: 3,
        },
        Insn::LdAbs(Size::W, 0),
        Insn::Jmp {
            op: JmpOp::Jgt,
            src: Src::K(0x89),
            jt: 1,
            jf: 0,
        },
        Insn::RetK(0x7fff_0000),
        Insn::RetK(0),
    ]
    .map(Insn::encode);
    let text = disassemble(
        &shared,
        &DisasmOptions {
            annotate: Some(Arch::X86_64),
        },
    );
    let c = comments(&text);
    assert_eq!(c[4], "nr > 0x89 (x86_64 statfs, x86 afs_syscall)", "{text}");
    // Where the arch was never checked, the assumption is said out loud.
    let unchecked = [
        Insn::LdAbs(Size::W, 0),
        Insn::Jmp {
            op: JmpOp::Jeq,
            src: Src::K(59),
            jt: 0,
            jf: 0,
        },
        Insn::RetK(0),
    ]
    .map(Insn::encode);
    let text = disassemble(
        &unchecked,
        &DisasmOptions {
            annotate: Some(Arch::X86),
        },
    );
    assert_eq!(
        comments(&text)[1],
        "nr == oldolduname (any arch may reach this: x86 assumed)",
        "{text}"
    );
    // Past a failed check (arch != x86_64) any other value may reach: the
    // number is not named.
    let negative = [
        Insn::LdAbs(Size::W, 4),
        Insn::Jmp {
            op: JmpOp::Jeq,
            src: Src::K(0xc000_003e),
            jt: 2,
            jf: 0,
        },
        Insn::LdAbs(Size::W, 0),
        Insn::Jmp {
            op: JmpOp::Jeq,
            src: Src::K(59),
            jt: 0,
            jf: 0,
        },
        Insn::RetK(0),
    ]
    .map(Insn::encode);
    let text = disassemble(
        &negative,
        &DisasmOptions {
            annotate: Some(Arch::X86_64),
        },
    );
    assert_eq!(
        comments(&text)[3],
        "nr == 0x3b (arch not established)",
        "{text}"
    );
}
