//! The public region API of `bpf_vm::prove` against the emulator: on
//! generated programs (every instruction the method handles: loads, masks,
//! scratch memory, X, constant arithmetic, every jump) and stacks of them,
//! the regions partition the input space (every input lies in exactly one
//! region) and each region's value is what the emulator returns for its
//! inputs; per-call queries partition the call; instructions outside the
//! method are refused with their index.

mod support;

use bpf_asm::insn::*;
use bpf_asm::seccomp::{AUDIT_ARCH_AARCH64, AUDIT_ARCH_X86_64};
use bpf_asm::{AluOp, Insn, JmpOp, Size, SockFilter, Src};
use bpf_vm::action::combine;
use bpf_vm::data::SECCOMP_DATA_WORDS;
use bpf_vm::emu::Prepared;
use bpf_vm::prove::{
    data_from_words, Atom, ExploreError, Explorer, Region, Space, Unsupported, WordSet, ARCH_WORD,
    NR_WORD,
};
use bpf_vm::{run_stack, KernelModel};
use bpf_vm::{verify, Mode};
use testkit::{seed, Rng};

/// Constants programs compare with: edges, syscall-like numbers and the
/// architecture values.
const KS: [u32; 16] = [
    0,
    1,
    2,
    3,
    59,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_ffff,
    0x4000_0000,
    0xff,
    0x100,
    0x1234_5678,
    AUDIT_ARCH_X86_64,
    AUDIT_ARCH_AARCH64,
    0xffff_0000,
    0x0000_ffff,
];

const MASKS: [u32; 7] = [
    0xff,
    0xffff_0000,
    0x8000_0000,
    0x7e02_0000,
    0x0000_fff0,
    0xf0f0_f0f0,
    0x4000_0000,
];

const RETS: [u32; 6] = [
    0x7fff_0000,
    0x0005_0001,
    0x0005_0026,
    0x8000_0000,
    0x0003_0007,
    0x7ffc_0000,
];

/// A random program the prover's method handles (verified; retried until
/// the verifier accepts it).
fn program(rng: &mut Rng, len: usize) -> Vec<SockFilter> {
    loop {
        let mut p = Vec::with_capacity(len);
        let mut stored = [false; 16];
        for i in 0..len - 1 {
            let room = (len - 2 - i).min(12) as u64;
            let off = |rng: &mut Rng| rng.below(room + 1) as u8;
            let insn = match rng.below(15) {
                0..=2 => {
                    let w = rng.pick(&[0u32, 1, 4, 5, 6, 7, 2, 15, 8]);
                    Insn::LdAbs(Size::W, 4 * w)
                }
                3 => Insn::Alu(AluOp::And, Src::K(rng.pick(&MASKS))),
                4..=7 => {
                    let op = rng.pick(&JmpOp::ALL);
                    let k = if rng.chance(1, 4) {
                        rng.next_u32()
                    } else {
                        rng.pick(&KS)
                    };
                    let (jt, jf) = (off(rng), off(rng));
                    Insn::Jmp {
                        op,
                        src: Src::K(k),
                        jt,
                        jf,
                    }
                }
                8 => {
                    let j = rng.below(4) as usize;
                    stored[j] = true;
                    Insn::St(j as u32)
                }
                9 => match (0..4).find(|&j| stored[j]) {
                    Some(j) if rng.chance(1, 2) => Insn::LdMem(j as u32),
                    _ => Insn::LdxImm(rng.pick(&KS)),
                },
                10 => {
                    let k = rng.pick(&KS);
                    rng.pick(&[Insn::Tax, Insn::Txa, Insn::LdxImm(k)])
                }
                11 => Insn::Jmp {
                    op: rng.pick(&JmpOp::ALL),
                    src: Src::X,
                    jt: off(rng),
                    jf: off(rng),
                },
                12 if rng.chance(1, 6) => Insn::RetK(rng.pick(&RETS)),
                12 | 13 => {
                    let w = rng.pick(&[0u32, 1, 4, 5, 6, 7]);
                    Insn::LdAbs(Size::W, 4 * w)
                }
                _ => {
                    if rng.chance(1, 2) {
                        Insn::Ja(u32::from(off(rng)))
                    } else {
                        Insn::LdImm(rng.pick(&KS))
                    }
                }
            };
            p.push(insn.encode());
        }
        p.push(Insn::RetK(rng.pick(&RETS)).encode());
        if verify(&p, Mode::Seccomp).is_ok() {
            return p;
        }
    }
}

/// Inputs that reach many regions: each region's witness, witnesses with
/// one word changed to a constant of the program or a neighbour, and
/// random words.
fn inputs(rng: &mut Rng, regions: &[Region], count: usize) -> Vec<[u32; SECCOMP_DATA_WORDS]> {
    let mut out: Vec<[u32; SECCOMP_DATA_WORDS]> = regions.iter().map(|r| r.witness()).collect();
    while out.len() < count {
        let mut w = if regions.is_empty() || rng.chance(1, 3) {
            core::array::from_fn(|_| rng.pick(&KS))
        } else {
            regions[rng.below(regions.len() as u64) as usize].witness()
        };
        for _ in 0..1 + rng.below(3) {
            let i = rng.below(SECCOMP_DATA_WORDS as u64) as usize;
            let k = rng.pick(&KS);
            w[i] = match rng.below(5) {
                0 => k,
                1 => k.wrapping_add(1),
                2 => k.wrapping_sub(1),
                3 => k ^ rng.pick(&MASKS),
                _ => rng.next_u32(),
            };
        }
        out.push(w);
    }
    out
}

/// Every input lies in exactly one region, whose value the emulator
/// returns for it.
fn check_partition(
    what: &str,
    regions: &[Region],
    within: &Space,
    inputs: &[[u32; SECCOMP_DATA_WORDS]],
    run: impl Fn(&[u32; SECCOMP_DATA_WORDS]) -> u32,
) -> usize {
    let mut checked = 0;
    for r in regions {
        let w = r.witness();
        assert!(
            r.space.contains(&w),
            "{what}: witness outside its region {r}"
        );
        assert_eq!(
            run(&w),
            r.ret,
            "{what}: emulator disagrees on the witness of {r}"
        );
    }
    for input in inputs {
        if !within.contains(input) {
            continue;
        }
        let holders: Vec<&Region> = regions.iter().filter(|r| r.space.contains(input)).collect();
        assert_eq!(
            holders.len(),
            1,
            "{what}: input {input:#x?} lies in {} regions: {holders:#?}",
            holders.len()
        );
        assert_eq!(
            run(input),
            holders[0].ret,
            "{what}: input {input:#x?} in region {}",
            holders[0]
        );
        checked += 1;
    }
    checked
}

#[test]
fn regions_partition_the_input_space() {
    let mut rng = Rng::new(seed("regions_partition_the_input_space", 0x5e91_0000));
    let (mut programs, mut inputs_checked, mut regions_seen) = (0, 0, 0);
    for case in 0..300 {
        let len = 2 + rng.below(40) as usize;
        let prog = program(&mut rng, len);
        let explorer = Explorer::new(&prog).expect("verified");
        let regions = match explorer.regions(&Space::full()) {
            Ok(r) => r,
            Err(ExploreError::Unsupported { .. }) => continue,
            Err(e) => panic!("case {case}: {e}\n{}", support::dump(&prog)),
        };
        let prepared = Prepared::new(&prog).expect("verified");
        let ins = inputs(&mut rng, &regions, 400);
        inputs_checked += check_partition(
            &format!("case {case}\n{}", support::dump(&prog)),
            &regions,
            &Space::full(),
            &ins,
            |w| prepared.run_words(w).ret,
        );
        regions_seen += regions.len();
        programs += 1;
    }
    println!("{programs} programs, {regions_seen} regions, {inputs_checked} inputs");
    assert!(programs > 250, "only {programs} programs explored");
    assert!(regions_seen > programs * 2, "only {regions_seen} regions");
    assert!(
        inputs_checked > 100_000,
        "only {inputs_checked} inputs checked"
    );
}

#[test]
fn regions_for_one_call_partition_the_call() {
    let mut rng = Rng::new(seed("regions_for_one_call_partition_the_call", 0x5e91_1000));
    for case in 0..200 {
        let len = 2 + rng.below(40) as usize;
        let prog = program(&mut rng, len);
        let explorer = Explorer::new(&prog).expect("verified");
        let (arch, nr) = (rng.pick(&KS), rng.pick(&KS));
        let call = Space::call(arch, nr);
        let regions = match explorer.regions_for(arch, nr) {
            Ok(r) => r,
            Err(ExploreError::Unsupported { .. }) => continue,
            Err(e) => panic!("case {case}: {e}"),
        };
        for r in &regions {
            assert_eq!(r.space.arch().unmasked_point(), Some(arch));
            assert_eq!(r.space.nr().unmasked_point(), Some(nr));
        }
        let prepared = Prepared::new(&prog).expect("verified");
        let mut ins = inputs(&mut rng, &regions, 300);
        for w in &mut ins {
            w[ARCH_WORD] = arch;
            w[NR_WORD] = nr;
        }
        check_partition(&format!("case {case}"), &regions, &call, &ins, |w| {
            prepared.run_words(w).ret
        });
        // The query agrees with the full exploration (when the program is
        // within the method on every input, not just on this call).
        if let Ok(all) = explorer.regions(&Space::full()) {
            for r in &regions {
                let w = r.witness();
                let full: Vec<u32> = all
                    .iter()
                    .filter(|a| a.space.contains(&w))
                    .map(|a| a.ret)
                    .collect();
                assert_eq!(full, [r.ret], "case {case}");
            }
        }
    }
}

#[test]
fn stack_regions_combine_like_the_kernel() {
    let mut rng = Rng::new(seed("stack_regions_combine_like_the_kernel", 0x5e91_2000));
    let mut stacks = 0;
    for case in 0..150 {
        let n = 1 + rng.below(3) as usize;
        let filters: Vec<Vec<SockFilter>> = (0..n)
            .map(|_| {
                let len = 2 + rng.below(25) as usize;
                program(&mut rng, len)
            })
            .collect();
        let explorer = Explorer::stack(&filters).expect("verified");
        let regions = match explorer.regions(&Space::full()) {
            Ok(r) => r,
            Err(ExploreError::Unsupported { .. }) => continue,
            Err(e) => panic!("case {case}: {e}"),
        };
        stacks += 1;
        let prepared: Vec<Prepared> = filters.iter().map(|f| Prepared::new(f).unwrap()).collect();
        for r in &regions {
            assert_eq!(r.rets.len(), n);
            let w = r.witness();
            for (f, &ret) in prepared.iter().zip(&r.rets) {
                assert_eq!(
                    f.run_words(&w).ret,
                    ret,
                    "case {case}: per-filter value of {r}"
                );
            }
            if n > 1 {
                assert_eq!(r.ret, combine(r.rets.iter().rev().copied()));
            }
        }
        let ins = inputs(&mut rng, &regions, 300);
        let newest_first: Vec<&[SockFilter]> = filters.iter().rev().map(|f| f.as_slice()).collect();
        check_partition(
            &format!("case {case}"),
            &regions,
            &Space::full(),
            &ins,
            |w| {
                if n == 1 {
                    return prepared[0].run_words(w).ret;
                }
                let endian = bpf_asm::Endian::Little;
                let data = data_from_words(w, endian);
                let out = run_stack(&newest_first, &data, endian, KernelModel::NO_CACHE).unwrap();
                out.ret
            },
        );
    }
    assert!(stacks > 100, "only {stacks} stacks explored");
}

#[test]
fn an_empty_stack_allows_everything() {
    let explorer = Explorer::stack::<Vec<SockFilter>>(&[]).expect("empty stack");
    let regions = explorer.regions(&Space::full()).unwrap();
    assert_eq!(regions.len(), 1);
    assert_eq!(regions[0].ret, 0x7fff_0000);
    assert_eq!(regions[0].decided_by, None);
    assert!(regions[0].space.words.iter().all(WordSet::is_full));
}

/// Arithmetic on a loaded word, `ret a` of a loaded word and a loaded X
/// are refused with the instruction's index; the same instructions on
/// constants (or on a word the region pins) are followed.
#[test]
fn instructions_outside_the_method_are_refused() {
    let ld_nr = Insn::LdAbs(Size::W, 0).encode();
    let cases: [(Vec<SockFilter>, usize, Unsupported); 4] = [
        (
            vec![
                ld_nr,
                Insn::Alu(AluOp::Add, Src::K(1)).encode(),
                Insn::RetK(0).encode(),
            ],
            1,
            Unsupported::ArithmeticOnWord(AluOp::Add),
        ),
        (
            vec![ld_nr, Insn::RetA.encode()],
            1,
            Unsupported::ReturnsLoadedWord,
        ),
        (
            vec![
                ld_nr,
                Insn::Tax.encode(),
                Insn::Jmp {
                    op: JmpOp::Jeq,
                    src: Src::X,
                    jt: 0,
                    jf: 0,
                }
                .encode(),
                Insn::RetK(0).encode(),
            ],
            2,
            Unsupported::ComparesWithLoadedX,
        ),
        (
            vec![ld_nr, Insn::Neg.encode(), Insn::RetK(0).encode()],
            1,
            Unsupported::NegatedWord,
        ),
    ];
    for (prog, pc, what) in cases {
        let e = Explorer::new(&prog)
            .unwrap()
            .regions(&Space::full())
            .unwrap_err();
        assert_eq!(
            e,
            ExploreError::Unsupported {
                filter: None,
                pc,
                what
            }
        );
        assert!(
            e.to_string().starts_with(&format!("instruction {pc}: ")),
            "{e}"
        );
        // Pinned by the query, the word is a constant and the path is followed.
        let regions = Explorer::new(&prog)
            .unwrap()
            .regions_for(AUDIT_ARCH_X86_64, 7)
            .unwrap();
        assert_eq!(regions.len(), 1);
    }
    // `ret a` of a masked constant and arithmetic on constants are fine.
    let prog = [
        Insn::LdImm(0x0005_0007).encode(),
        Insn::Alu(AluOp::Add, Src::K(1)).encode(),
        Insn::Tax.encode(),
        Insn::Txa.encode(),
        Insn::RetA.encode(),
    ];
    let regions = Explorer::new(&prog)
        .unwrap()
        .regions(&Space::full())
        .unwrap();
    assert_eq!(regions.len(), 1);
    assert_eq!(regions[0].ret, 0x0005_0008);
    // A stack names the filter.
    let bad = [ld_nr, Insn::RetA.encode()];
    let ok = [Insn::RetK(0x7fff_0000).encode()];
    let e = Explorer::stack(&[&ok[..], &bad[..]])
        .unwrap()
        .regions(&Space::full())
        .unwrap_err();
    assert!(
        e.to_string().starts_with("filter 1, instruction 1: "),
        "{e}"
    );
    // A program the kernel refuses is refused before exploring.
    let e = Explorer::new(&[ld_nr]).unwrap_err();
    assert!(
        matches!(e, ExploreError::Rejected { filter: None, .. }),
        "{e:?}"
    );
    // `div` by a zero X ends the program with 0, like the emulator.
    let div = [
        Insn::LdImm(5).encode(),
        Insn::LdxImm(0).encode(),
        Insn::Alu(AluOp::Div, Src::X).encode(),
        Insn::RetK(0x7fff_0000).encode(),
    ];
    let regions = Explorer::new(&div)
        .unwrap()
        .regions(&Space::full())
        .unwrap();
    assert_eq!(regions[0].ret, 0);
    assert_eq!(Prepared::new(&div).unwrap().run_words(&[0; 16]).ret, 0);
}

/// The region limit stops an exploration with many paths.
#[test]
fn the_region_limit_is_reported() {
    // 8 independent tests on 8 words: 256 paths.
    let mut prog = Vec::new();
    for w in 0..8u32 {
        prog.push(Insn::LdAbs(Size::W, 16 + 4 * w).encode());
        prog.push(SockFilter::jump(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 0));
    }
    prog.push(Insn::RetK(0x7fff_0000).encode());
    let explorer = Explorer::new(&prog).unwrap();
    assert_eq!(explorer.regions(&Space::full()).unwrap().len(), 256);
    let e = explorer
        .with_limit(100)
        .regions(&Space::full())
        .unwrap_err();
    assert_eq!(e, ExploreError::TooManyRegions { limit: 100 });
}

/// Word sets in regions are exact: a masked test splits the word into the
/// values with and without the bits, whatever else the word was tested
/// against.
#[test]
fn region_word_sets_describe_masked_tests() {
    let prog = [
        Insn::LdAbs(Size::W, 16).encode(),
        SockFilter::jump(BPF_JMP | BPF_JGT | BPF_K, 100, 3, 0),
        Insn::Alu(AluOp::And, Src::K(0x0f)).encode(),
        SockFilter::jump(BPF_JMP | BPF_JEQ | BPF_K, 3, 0, 1),
        Insn::RetK(0x7fff_0000).encode(),
        Insn::RetK(0x0005_0001).encode(),
    ];
    let regions = Explorer::new(&prog)
        .unwrap()
        .regions(&Space::full())
        .unwrap();
    assert_eq!(regions.len(), 3);
    let allow: Vec<&Region> = regions.iter().filter(|r| r.ret == 0x7fff_0000).collect();
    assert_eq!(allow.len(), 1);
    let set = &allow[0].space.words[4];
    for v in 0..200u32 {
        assert_eq!(set.contains(v), v <= 100 && v & 0xf == 3, "{v} in {set}");
    }
    assert_eq!(
        set.decide(Atom::unmasked(JmpOp::Jgt, 100)).unwrap(),
        Some(false)
    );
    assert_eq!(set.to_string(), "w in 0x0..=0x64 and w & 0xf == 0x3");
}
