//! Builder tests: random programs with short and long forward jumps must
//! resolve every branch to the intended instruction, with trampolines only
//! where a direct branch cannot reach; and every misuse is a located error.

use testkit::Rng;

use bpf_asm::builder::{
    Buffer, BuildError, BuildErrorKind, Builder, Fixup, Label, LabelSlot, ProgramBuilder, Target,
};
use bpf_asm::{bpf_class, Insn, JmpOp, SockFilter, Src, BPF_JMP, BPF_RET};

/// One builder operation, replayable on both builders. Labels are numbered
/// in creation order.
#[derive(Clone, Copy, Debug)]
enum Op {
    Bind(usize),
    Push(Insn),
    Jump(JmpOp, Src, Option<usize>, Option<usize>),
    Ja(usize),
}

const MARKER: u32 = 0x4000_0000;

struct Case {
    nlabels: usize,
    ops: Vec<Op>,
}

fn target(labels: &[Label], t: Option<usize>) -> Target {
    match t {
        None => Target::Next,
        Some(l) => Target::Label(labels[l]),
    }
}

macro_rules! replay {
    ($b:expr, $case:expr) => {{
        let labels: Vec<Label> = (0..$case.nlabels).map(|_| $b.new_label()).collect();
        for op in &$case.ops {
            match *op {
                Op::Bind(l) => $b.bind(labels[l]),
                Op::Push(i) => $b.push(i),
                Op::Jump(op, src, jt, jf) => {
                    $b.jump(op, src, target(&labels, jt), target(&labels, jf))
                }
                Op::Ja(l) => $b.ja(labels[l]),
            }
        }
    }};
}

fn random_case(rng: &mut Rng) -> Case {
    let nlabels = 1 + rng.below(40) as usize;
    let big = rng.below(2) == 0;
    let goal = if big {
        200 + rng.below(3000)
    } else {
        1 + rng.below(100)
    } as usize;
    let mut ops = Vec::new();
    let mut bound = vec![false; nlabels];
    let mut referenced = vec![false; nlabels];
    let (mut pushed, mut jumps) = (0usize, 0usize);
    let filler = |rng: &mut Rng| -> Insn {
        match rng.below(5) {
            0 => Insn::Tax,
            1 => Insn::St(rng.below(16) as u32),
            2 => Insn::Alu(bpf_asm::AluOp::Add, Src::K(rng.next_u64() as u32)),
            3 => Insn::LdAbs(bpf_asm::Size::W, 4 * rng.below(16) as u32),
            _ => Insn::LdImm(rng.next_u64() as u32 & 0x3fff_ffff),
        }
    };
    while pushed < goal && pushed + 2 * jumps < 3800 {
        let unbound: Vec<usize> = (0..nlabels).filter(|&l| !bound[l]).collect();
        let r = rng.below(100);
        let pick = |rng: &mut Rng| unbound[rng.below(unbound.len() as u64) as usize];
        if r < 10 && !unbound.is_empty() {
            let l = pick(rng);
            bound[l] = true;
            ops.push(Op::Bind(l));
            ops.push(Op::Push(Insn::RetK(MARKER + l as u32)));
            pushed += 1;
        } else if r < 40 && !unbound.is_empty() {
            let mut branch = |rng: &mut Rng| {
                if rng.below(10) < 3 {
                    None
                } else {
                    let l = pick(rng);
                    referenced[l] = true;
                    Some(l)
                }
            };
            let (jt, jf) = (branch(rng), branch(rng));
            let op = JmpOp::ALL[rng.below(4) as usize];
            let src = if rng.below(4) == 0 {
                Src::X
            } else {
                Src::K(rng.next_u64() as u32)
            };
            ops.push(Op::Jump(op, src, jt, jf));
            pushed += 1;
            jumps += 1;
        } else if r < 48 && !unbound.is_empty() {
            if matches!(ops.last(), Some(Op::Jump(..))) {
                // Keeps the checker's alignment unambiguous: trampolines
                // (always `ja`) follow a conditional jump directly.
                ops.push(Op::Push(filler(rng)));
                pushed += 1;
            }
            let l = pick(rng);
            referenced[l] = true;
            ops.push(Op::Ja(l));
            pushed += 1;
        } else if r < 53 {
            let run = rng.below(if big { 400 } else { 8 }) as usize;
            for _ in 0..run {
                ops.push(Op::Push(filler(rng)));
            }
            pushed += run;
        } else {
            ops.push(Op::Push(filler(rng)));
            pushed += 1;
        }
    }
    for l in 0..nlabels {
        if referenced[l] && !bound[l] {
            if rng.below(3) == 0 {
                ops.push(Op::Push(filler(rng)));
            }
            ops.push(Op::Bind(l));
            ops.push(Op::Push(Insn::RetK(MARKER + l as u32)));
        }
    }
    ops.push(Op::Push(Insn::RetK(0xdead)));
    Case { nlabels, ops }
}

/// What the program should do, instruction by pushed instruction.
struct Intent {
    /// The pushed instructions (jumps with zero offsets).
    pushed: Vec<SockFilter>,
    /// For each pushed jump: intended pushed index of the true/false target.
    targets: Vec<Option<(usize, usize)>>,
}

fn intent(case: &Case) -> Intent {
    let mut pushed = Vec::new();
    let mut targets: Vec<Option<(usize, usize)>> = Vec::new();
    let mut label_pos = vec![usize::MAX; case.nlabels];
    // Unresolved references: (pushed index, branch 0=jt/1=jf, label).
    let mut refs = Vec::new();
    for op in &case.ops {
        let i = pushed.len();
        match *op {
            Op::Bind(l) => label_pos[l] = i,
            Op::Push(insn) => {
                pushed.push(insn.encode());
                targets.push(None);
            }
            Op::Jump(op, src, jt, jf) => {
                pushed.push(
                    Insn::Jmp {
                        op,
                        src,
                        jt: 0,
                        jf: 0,
                    }
                    .encode(),
                );
                targets.push(Some((i + 1, i + 1)));
                for (b, t) in [(0, jt), (1, jf)] {
                    if let Some(l) = t {
                        refs.push((i, b, l));
                    }
                }
            }
            Op::Ja(l) => {
                pushed.push(Insn::Ja(0).encode());
                targets.push(Some((i + 1, i + 1)));
                refs.push((i, 0, l));
                refs.push((i, 1, l));
            }
        }
    }
    for (i, b, l) in refs {
        let t = targets[i].as_mut().unwrap();
        if b == 0 {
            t.0 = label_pos[l];
        } else {
            t.1 = label_pos[l];
        }
    }
    Intent { pushed, targets }
}

fn is_ja(f: &SockFilter) -> bool {
    f.code == 0x05
}

/// Checks `prog` against the intent; returns the number of trampolines.
fn check(intent: &Intent, prog: &[SockFilter]) -> Result<usize, String> {
    let n = intent.pushed.len();
    if prog.len() > 4096 {
        return Err(format!("{} instructions", prog.len()));
    }
    // Align pushed instructions with output positions.
    let mut pos = Vec::with_capacity(n);
    let mut tramps_after = vec![0usize; n];
    let mut o = 0;
    for (i, want) in intent.pushed.iter().enumerate() {
        let got = prog
            .get(o)
            .ok_or(format!("output ends before pushed #{i}"))?;
        let same = got.code == want.code
            && (got.k == want.k || is_ja(want))
            && (bpf_class(want.code) == BPF_JMP || (got.jt == 0 && got.jf == 0));
        if !same {
            return Err(format!("pushed #{i} {want:?} is {got:?} at {o}"));
        }
        pos.push(o);
        o += 1;
        if bpf_class(want.code) == BPF_JMP && !is_ja(want) {
            while o < prog.len() && is_ja(&prog[o]) {
                o += 1;
                tramps_after[i] += 1;
            }
        }
    }
    if o != prog.len() {
        return Err(format!("{} extra instructions at the end", prog.len() - o));
    }
    let total: usize = tramps_after.iter().sum();
    let mut is_tramp = vec![false; prog.len()];
    for (i, &t) in tramps_after.iter().enumerate() {
        for q in 0..t {
            is_tramp[pos[i] + 1 + q] = true;
        }
    }
    let mut used = vec![false; prog.len()];
    let last = prog.last().ok_or("empty")?;
    if bpf_class(last.code) != BPF_RET {
        return Err("last instruction is not a return".into());
    }
    for (q, f) in prog.iter().enumerate() {
        if bpf_class(f.code) == BPF_JMP {
            let reach = if is_ja(f) {
                q as u64 + 1 + f.k as u64
            } else {
                q as u64 + 1 + f.jt.max(f.jf) as u64
            };
            if reach >= prog.len() as u64 {
                return Err(format!("jump at {q} leaves the program"));
            }
        }
    }
    for (i, t) in intent.targets.iter().enumerate() {
        let Some((tt, tf)) = *t else { continue };
        let p = pos[i];
        let f = prog[p];
        if is_ja(&f) {
            if p + 1 + f.k as usize != pos[tt] {
                return Err(format!(
                    "ja #{i} at {p} lands at {}, want {}",
                    p + 1 + f.k as usize,
                    pos[tt]
                ));
            }
            continue;
        }
        let nt = tramps_after[i];
        if nt > 2 {
            return Err(format!("{nt} trampolines after jump #{i}"));
        }
        for (name, off, want) in [("jt", f.jt, tt), ("jf", f.jf, tf)] {
            let direct = p + 1 + off as usize;
            let want_pos = pos[want];
            if direct == want_pos {
                continue;
            }
            if !is_tramp[direct] {
                return Err(format!(
                    "{name} of jump #{i} at {p} lands at {direct}, want {want_pos}"
                ));
            }
            used[direct] = true;
            let land = direct + 1 + prog[direct].k as usize;
            if land != want_pos {
                return Err(format!(
                    "{name} of jump #{i} via trampoline {direct} lands at {land}, want {want_pos}"
                ));
            }
            if want_pos - p - 1 <= 255 {
                return Err(format!(
                    "{name} of jump #{i} at {p} uses a trampoline for distance {}",
                    want_pos - p - 1
                ));
            }
        }
    }
    if let Some(q) = (0..prog.len()).find(|&q| is_tramp[q] && !used[q]) {
        return Err(format!("unused trampoline at {q}"));
    }
    Ok(total)
}

fn build_vec(case: &Case) -> Result<Vec<SockFilter>, BuildError> {
    let mut b = ProgramBuilder::new();
    replay!(b, case);
    b.finish()
}

fn build_slices(case: &Case, insn_cap: usize) -> Result<Vec<SockFilter>, BuildError> {
    let mut insns = vec![SockFilter::default(); insn_cap];
    let mut labels = vec![LabelSlot::EMPTY; case.nlabels];
    let nfix = case
        .ops
        .iter()
        .filter(|o| {
            matches!(
                o,
                Op::Ja(_) | Op::Jump(_, _, Some(_), _) | Op::Jump(_, _, _, Some(_))
            )
        })
        .count();
    let mut fixups = vec![Fixup::EMPTY; nfix];
    let mut b = Builder::new(&mut insns, &mut labels, &mut fixups);
    replay!(b, case);
    b.finish().map(|p| p.to_vec())
}

#[test]
fn random_programs_resolve_every_jump_to_its_label() {
    let (mut with_tramps, mut total_tramps) = (0, 0);
    let base = testkit::seed("random_programs_resolve_every_jump_to_its_label", 0);
    for i in 0..2500u64 {
        let mut rng = Rng::for_case(base, i);
        let case = random_case(&mut rng);
        let want = intent(&case);
        let prog = build_vec(&case).unwrap_or_else(|e| panic!("case {i}: {e}"));
        let t = check(&want, &prog).unwrap_or_else(|e| {
            for (i, f) in want.pushed.iter().enumerate().take(20) {
                eprintln!("pushed {i}: {f:?}");
            }
            for (i, f) in prog.iter().enumerate().take(20) {
                eprintln!("out {i}: {f:?}");
            }
            panic!("case {i}: {e}")
        });
        assert_eq!(prog.len(), want.pushed.len() + t, "case {i}");
        let slices = build_slices(&case, 4096).unwrap_or_else(|e| panic!("case {i}: {e}"));
        assert_eq!(slices, prog, "case {i}: slice and Vec builders differ");
        if t > 0 {
            with_tramps += 1;
            total_tramps += t;
        }
    }
    // The generator must actually exercise long jumps.
    assert!(
        with_tramps > 100,
        "only {with_tramps} programs needed trampolines"
    );
    assert!(total_tramps > 1000, "only {total_tramps} trampolines");
}

#[test]
fn short_programs_need_no_trampolines() {
    let base = testkit::seed("short_programs_need_no_trampolines", 0);
    for i in 0..500u64 {
        let mut rng = Rng::for_case(base, i);
        let case = random_case(&mut rng);
        let want = intent(&case);
        if want.pushed.len() > 256 {
            continue;
        }
        let prog = build_vec(&case).unwrap();
        assert_eq!(prog.len(), want.pushed.len(), "case {i}");
    }
}

fn fillers(b: &mut ProgramBuilder, n: usize) {
    for i in 0..n {
        b.push(Insn::LdImm(i as u32));
    }
}

#[test]
fn offset_255_is_direct_and_256_needs_a_trampoline() {
    for (gap, tramps) in [(255usize, 0usize), (256, 1)] {
        let mut b = ProgramBuilder::new();
        let l = b.new_label();
        b.jump(JmpOp::Jeq, Src::K(7), Target::Label(l), Target::Next);
        fillers(&mut b, gap);
        b.bind(l);
        b.ret(1);
        let p = b.finish().unwrap();
        assert_eq!(p.len(), gap + 2 + tramps);
        if tramps == 0 {
            assert_eq!((p[0].jt, p[0].jf), (255, 0));
        } else {
            // jt -> trampoline at 1, jf skips it.
            assert_eq!((p[0].jt, p[0].jf), (0, 1));
            assert_eq!(p[1], Insn::Ja(gap as u32).encode());
            assert_eq!(p[2 + gap], Insn::RetK(1).encode());
        }
    }
}

#[test]
fn a_trampoline_can_push_an_earlier_jump_out_of_range() {
    // Jump A reaches its label with offset 255 exactly, until jump B's
    // trampoline lands between them.
    let mut b = ProgramBuilder::new();
    let (la, lb) = (b.new_label(), b.new_label());
    b.jump(JmpOp::Jeq, Src::K(1), Target::Label(la), Target::Next); // 0
    b.jump(JmpOp::Jeq, Src::K(2), Target::Next, Target::Label(lb)); // 1
    fillers(&mut b, 254); // 2..=255
    b.bind(la);
    b.ret(0xa); // 256: offset from 0 is 255
    fillers(&mut b, 300);
    b.bind(lb);
    b.ret(0xb);
    let p = b.finish().unwrap();
    assert_eq!(p.len(), 256 + 1 + 300 + 1 + 2);
    // A: jt -> its trampoline at 1, jf -> B at 2.
    assert_eq!((p[0].jt, p[0].jf), (0, 1));
    assert_eq!(p[1].code, 0x05);
    let a_target = 2 + p[1].k as usize;
    assert_eq!(p[a_target], Insn::RetK(0xa).encode());
    // B at 2: jt -> fall through past its trampoline at 3, jf -> trampoline.
    assert_eq!((p[2].jt, p[2].jf), (1, 0));
    let b_target = 4 + p[3].k as usize;
    assert_eq!(p[b_target], Insn::RetK(0xb).encode());
}

#[test]
fn both_branches_long_get_two_trampolines() {
    let mut b = ProgramBuilder::new();
    let (l1, l2) = (b.new_label(), b.new_label());
    b.jump(JmpOp::Jgt, Src::X, Target::Label(l1), Target::Label(l2));
    fillers(&mut b, 300);
    b.bind(l1);
    b.ret(1);
    fillers(&mut b, 300);
    b.bind(l2);
    b.ret(2);
    let p = b.finish().unwrap();
    assert_eq!((p[0].jt, p[0].jf), (0, 1));
    assert_eq!(p[1 + 1 + p[1].k as usize], Insn::RetK(1).encode());
    assert_eq!(p[2 + 1 + p[2].k as usize], Insn::RetK(2).encode());
}

#[test]
fn ja_reaches_any_distance_without_trampoline() {
    let mut b = ProgramBuilder::new();
    let l = b.new_label();
    b.ja(l);
    fillers(&mut b, 4000);
    b.bind(l);
    b.ret(0);
    let p = b.finish().unwrap();
    assert_eq!(p.len(), 4002);
    assert_eq!(p[0], Insn::Ja(4000).encode());
}

fn err_of(f: impl FnOnce(&mut ProgramBuilder)) -> BuildError {
    let mut b = ProgramBuilder::new();
    f(&mut b);
    b.finish().expect_err("build should fail")
}

#[test]
fn misuse_is_reported_with_the_instruction_index() {
    let e = err_of(|b| {
        let l = b.new_label();
        b.ret(0);
        b.bind(l);
        b.ret(1);
        b.bind(l);
        b.ret(2);
    });
    assert_eq!(e.index, 2);
    assert!(matches!(
        e.kind,
        BuildErrorKind::LabelBoundTwice { first: 1, .. }
    ));
    assert!(e.to_string().contains("bound a second time"), "{e}");

    let e = err_of(|b| {
        let l = b.new_label();
        b.ret(0);
        b.bind(l);
        b.push(Insn::LdImm(0));
        b.ja(l);
        b.ret(0);
    });
    assert_eq!(e.index, 2);
    assert!(matches!(
        e.kind,
        BuildErrorKind::BackwardJump { target: 1, .. }
    ));

    // A label bound right before the jump labels the jump itself.
    let e = err_of(|b| {
        let l = b.new_label();
        b.bind(l);
        b.jump(JmpOp::Jeq, Src::K(0), Target::Label(l), Target::Next);
        b.ret(0);
    });
    assert!(matches!(
        e.kind,
        BuildErrorKind::BackwardJump { target: 0, .. }
    ));

    let e = err_of(|b| {
        let l = b.new_label();
        b.push(Insn::LdImm(0));
        b.jump(JmpOp::Jeq, Src::K(0), Target::Next, Target::Label(l));
        b.ret(0);
    });
    assert_eq!(e.index, 1);
    assert!(matches!(e.kind, BuildErrorKind::UndefinedLabel { .. }));
    assert!(e.to_string().contains("never bound"), "{e}");

    let e = err_of(|b| {
        let l = b.new_label();
        b.ja(l);
        b.ret(0);
        b.bind(l);
    });
    assert!(matches!(e.kind, BuildErrorKind::PastEnd { label: Some(_) }));

    let e = err_of(|b| {
        b.push(Insn::LdImm(0));
        b.jump(JmpOp::Jeq, Src::K(0), Target::Next, Target::Next);
    });
    assert_eq!(e.index, 1);
    assert!(matches!(e.kind, BuildErrorKind::PastEnd { label: None }));

    let e = err_of(|_| {});
    assert!(matches!(e.kind, BuildErrorKind::Empty));

    let e = err_of(|b| {
        b.push(Insn::Jmp {
            op: JmpOp::Jeq,
            src: Src::K(1),
            jt: 1,
            jf: 0,
        });
        b.ret(0);
        b.ret(1);
    });
    assert!(matches!(e.kind, BuildErrorKind::RawJumpOffset));

    let e = err_of(|b| {
        let mut other = ProgramBuilder::new();
        for _ in 0..3 {
            other.new_label();
        }
        let foreign = other.new_label();
        b.ja(foreign);
        b.ret(0);
    });
    assert!(matches!(e.kind, BuildErrorKind::UnknownLabel { .. }));

    // The first error wins; later operations are ignored.
    let e = err_of(|b| {
        let l = b.new_label();
        b.ret(0);
        b.bind(l);
        b.bind(l);
        b.bind(l);
        b.ret(0);
    });
    assert_eq!(e.index, 1);
}

#[test]
fn programs_over_4096_instructions_are_rejected() {
    let e = err_of(|b| fillers(b, 4097));
    assert_eq!(e.index, 4096);
    assert!(matches!(e.kind, BuildErrorKind::TooLong { len: 4097 }));

    // 4096 pushed fit, but the trampoline would make 4097.
    let e = err_of(|b| {
        let l = b.new_label();
        b.jump(JmpOp::Jeq, Src::K(0), Target::Label(l), Target::Next);
        fillers(b, 4093);
        b.bind(l);
        b.ret(0);
        b.ret(1);
    });
    assert!(
        matches!(e.kind, BuildErrorKind::TooLong { len: 4097 }),
        "{e}"
    );
    assert!(e.to_string().contains("at most 4096"));
}

#[test]
fn slice_builder_reports_full_buffers() {
    let mut insns = [SockFilter::default(); 4];
    let mut labels = [LabelSlot::EMPTY; 1];
    let mut fixups = [Fixup::EMPTY; 1];
    let mut b = Builder::new(&mut insns, &mut labels, &mut fixups);
    for _ in 0..5 {
        b.ret(0);
    }
    let e = b.finish().unwrap_err();
    assert_eq!(e.index, 4);
    assert_eq!(
        e.kind,
        BuildErrorKind::Capacity {
            buffer: Buffer::Instructions,
            capacity: 4
        }
    );

    let mut insns = [SockFilter::default(); 4];
    let mut b = Builder::new(&mut insns, &mut labels, &mut fixups);
    b.new_label();
    b.new_label();
    b.ret(0);
    let e = b.finish().unwrap_err();
    assert_eq!(
        e.kind,
        BuildErrorKind::Capacity {
            buffer: Buffer::Labels,
            capacity: 1
        }
    );

    let mut insns = [SockFilter::default(); 8];
    let mut labels = [LabelSlot::EMPTY; 2];
    let mut b = Builder::new(&mut insns, &mut labels, &mut fixups);
    let l = b.new_label();
    b.ja(l);
    b.ja(l);
    b.bind(l);
    b.ret(0);
    let e = b.finish().unwrap_err();
    assert_eq!(e.index, 2);
    assert_eq!(
        e.kind,
        BuildErrorKind::Capacity {
            buffer: Buffer::Fixups,
            capacity: 1
        }
    );

    // Room for the pushed instructions but not for the trampoline.
    let mut insns = vec![SockFilter::default(); 259];
    let mut labels = [LabelSlot::EMPTY; 1];
    let mut fixups = [Fixup::EMPTY; 1];
    let mut b = Builder::new(&mut insns, &mut labels, &mut fixups);
    let l = b.new_label();
    b.jump(JmpOp::Jeq, Src::K(0), Target::Label(l), Target::Next);
    for _ in 0..257 {
        b.push(Insn::Tax);
    }
    b.bind(l);
    b.ret(0);
    let e = b.finish().unwrap_err();
    assert_eq!(
        e.kind,
        BuildErrorKind::Capacity {
            buffer: Buffer::Instructions,
            capacity: 259
        }
    );
}

#[test]
fn slice_builder_works_in_place_with_trampolines() {
    let mut insns = vec![SockFilter::default(); 400];
    let mut labels = [LabelSlot::EMPTY; 2];
    let mut fixups = [Fixup::EMPTY; 2];
    let mut b = Builder::new(&mut insns, &mut labels, &mut fixups);
    let (l1, l2) = (b.new_label(), b.new_label());
    b.jump(JmpOp::Jset, Src::K(1), Target::Label(l1), Target::Label(l2));
    b.ja(l2);
    for _ in 0..300 {
        b.push(Insn::Txa);
    }
    b.bind(l1);
    b.ret(1);
    b.bind(l2);
    b.ret(2);
    assert_eq!(b.len(), 304);
    let p = b.finish().unwrap();
    // Both branches are long: two trampolines after the jump.
    assert_eq!(p.len(), 306);
    assert_eq!((p[0].jt, p[0].jf), (0, 1));
    assert_eq!(p[2 + p[1].k as usize], Insn::RetK(1).encode());
    assert_eq!(p[3 + p[2].k as usize], Insn::RetK(2).encode());
    assert_eq!(p[4 + p[3].k as usize], Insn::RetK(2).encode());
}

#[test]
fn far_branches_to_one_label_share_a_trampoline() {
    let mut b = ProgramBuilder::new();
    let far = b.new_label();
    b.push(Insn::LdAbs(bpf_asm::Size::W, 0));
    for nr in 0..100 {
        b.jump(JmpOp::Jeq, Src::K(nr), Target::Label(far), Target::Next);
    }
    // Both branches to the same far label: one trampoline serves both.
    b.jump(JmpOp::Jgt, Src::K(7), far.into(), far.into());
    fillers(&mut b, 300);
    b.bind(far);
    b.ret(0x7fff_0000);
    let p = b.finish().unwrap();
    assert_eq!(p.len(), 1 + 101 + 300 + 1 + 1, "exactly one trampoline");
    assert_eq!(p[101], SockFilter::jump(0x25, 7, 0, 0));
    let tramp = 102;
    assert_eq!(p[tramp].code, 0x05);
    assert_eq!(
        p[tramp + 1 + p[tramp].k as usize],
        Insn::RetK(0x7fff_0000).encode()
    );
    for (i, f) in p.iter().enumerate().take(101).skip(1) {
        assert_eq!(i + 1 + f.jt as usize, tramp, "jump {i}");
        assert_eq!(f.jf, 0);
    }
}

#[test]
fn shared_trampolines_out_of_reach_get_their_own() {
    // 600 jumps to the same far label: one trampoline per 256-instruction
    // window at most, and every branch lands on the label.
    let mut b = ProgramBuilder::new();
    let far = b.new_label();
    for nr in 0..600 {
        b.jump(JmpOp::Jeq, Src::K(nr), far.into(), Target::Next);
    }
    fillers(&mut b, 10);
    b.bind(far);
    b.ret(1);
    let p = b.finish().unwrap();
    let tramps = p.len() - 611;
    assert!((2..=4).contains(&tramps), "{tramps} trampolines");
    let target = p.len() - 1;
    for (i, f) in p.iter().enumerate() {
        if f.code == 0x15 {
            let mut q = i + 1 + f.jt as usize;
            if p[q].code == 0x05 {
                q += 1 + p[q].k as usize;
            }
            assert_eq!(q, target, "jump at {i}");
        }
    }
}
