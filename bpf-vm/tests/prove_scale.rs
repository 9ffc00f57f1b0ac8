//! The prover at real sizes: the argument-heavy policy of issue 11 (N
//! `ioctl` rules with `arg1 == K`, `arg2 == M`, from
//! `testkit::policies`) against programs built by hand in several shapes
//! (chains and a search tree, request word first or value word first, one
//! filter or a stack sharing the requests), so the result does not depend
//! on the compiler's layout. Asserted: the proof completes, and the
//! regions, pieces and rule evaluations it needs grow linearly with N
//! (deterministic counts, never timings); mutated programs and stacks are
//! refuted by counterexamples the emulator, the stack model and the
//! policy's semantics confirm.

mod support;

use bpf_asm::policy::eval::evaluate;
use bpf_asm::policy::load::{load_str, LoadOptions};
use bpf_asm::policy::resolve::{resolve, Resolved};
use bpf_asm::SockFilter;
use bpf_vm::prove::{prove, prove_stack, Proof, ProveError};
use bpf_vm::{run_stack, KernelModel};
use support::policies::{ioctl_program, ioctl_stack, Shape};
use testkit::policies::{ioctl_policy_toml, ioctl_rules, IoctlMix, IoctlRule};

fn generated(n: usize, mix: IoctlMix) -> (Vec<IoctlRule>, Resolved) {
    let rules = ioctl_rules(n, 0x10c7_0000 + n as u64, mix);
    let text = ioctl_policy_toml(&rules);
    let policy =
        load_str(&text, "ioctl.toml", &LoadOptions::default()).expect("generated policy loads");
    (rules, resolve(&policy).expect("resolves"))
}

const SHAPES: [Shape; 3] = [Shape::RequestChain, Shape::RequestTree, Shape::ValueFirst];

fn proof(n: usize, shape: Shape) -> Proof {
    let (rules, resolved) = generated(n, IoctlMix::Device);
    let prog = ioctl_program(&rules, shape);
    match prove(&prog, &resolved) {
        Ok(p) => p,
        Err(e) => panic!("{n} rules, {shape:?} ({} instructions): {e}", prog.len()),
    }
}

fn stack_proof(n: usize, filters: usize) -> Proof {
    let (rules, resolved) = generated(n, IoctlMix::Distinct);
    let stack = ioctl_stack(&rules, filters);
    match prove_stack(&stack, &resolved) {
        Ok(p) => p,
        Err(e) => panic!("{n} distinct rules in {filters} filters: {e}"),
    }
}

/// The linear bounds every proof of N rules keeps.
fn assert_linear(what: &str, n: usize, p: &Proof) {
    // One region per rule, per request (its miss) and per gap between
    // requests, plus a few for the architecture, the number and the high
    // words (per filter).
    assert!(p.regions <= 3 * n + 16 * p.filters, "{what} {n}: {p:?}");
    assert!(p.regions >= n, "{what} {n}: {p:?}");
    // Every region is one piece, except the few whose number or
    // architecture word spans several of the policy's cases.
    assert!(p.pieces <= p.regions + 16, "{what} {n}: {p:?}");
    // Each region looks at the rules of its request or value (about eight),
    // not at all of them.
    assert!(p.rule_checks <= 8 * n, "{what} {n}: {p:?}");
}

fn assert_ratio(what: &str, small: &Proof, large: &Proof) {
    assert!(
        large.pieces <= 4 * small.pieces + 64,
        "{what}: {small:?} -> {large:?}"
    );
    assert!(
        large.rule_checks <= small.rule_checks * 5,
        "{what}: 4x the rules, more than 5x the work: {small:?} -> {large:?}"
    );
}

#[test]
fn proof_of_500_and_2000_rules_is_linear() {
    for shape in SHAPES {
        let small = proof(500, shape);
        let large = proof(2000, shape);
        println!("{shape:?}: 500 rules {small:?}, 2000 rules {large:?}");
        assert_linear(&format!("{shape:?}"), 500, &small);
        assert_linear(&format!("{shape:?}"), 2000, &large);
        assert_ratio(&format!("{shape:?}"), &small, &large);
    }
}

/// Rules that share no constant (every request and value distinct): one
/// filter at 500, a stack of three filters sharing the requests at 500 and
/// 2000 (which does not fit one filter).
#[test]
fn distinct_rules_in_one_filter_and_in_a_stack_are_linear() {
    let (rules, resolved) = generated(500, IoctlMix::Distinct);
    let prog = ioctl_program(&rules, Shape::RequestTree);
    let single = prove(&prog, &resolved).unwrap_or_else(|e| panic!("500 distinct rules: {e}"));
    println!("500 distinct rules, one filter: {single:?}");
    assert_linear("distinct, one filter", 500, &single);
    let small = stack_proof(500, 3);
    let large = stack_proof(2000, 3);
    println!("distinct rules in 3 filters: 500 {small:?}, 2000 {large:?}");
    assert_eq!(large.filters, 3);
    assert_linear("distinct, stack", 500, &small);
    assert_linear("distinct, stack", 2000, &large);
    assert_ratio("distinct, stack", &small, &large);
}

fn check_counterexample(newest_first: &[&[SockFilter]], resolved: &Resolved, e: ProveError) {
    let ProveError::Counterexample(c) = e else {
        panic!("mutant: {e}");
    };
    let got = run_stack(newest_first, &c.data(), c.endian, KernelModel::NO_CACHE)
        .expect("verifies")
        .ret;
    assert_eq!(got, c.program, "{c}");
    assert_eq!(
        evaluate(resolved, c.audit_arch, c.nr, &c.args),
        c.policy,
        "{c}"
    );
    assert_ne!(got, c.policy.to_ret(), "{c}");
}

/// Changes instruction `at` (a return value or a jump constant); false
/// for other instructions.
fn mutate(prog: &mut [SockFilter], at: usize) -> bool {
    let f = &mut prog[at];
    if f.code == (bpf_asm::BPF_RET | bpf_asm::BPF_K) {
        f.k ^= 0x0004_0000; // allow <-> errno, log <-> trace, ...
    } else if bpf_asm::bpf_class(f.code) == bpf_asm::BPF_JMP && f.code != bpf_asm::BPF_JMP {
        f.k = f.k.wrapping_add(1);
    } else {
        return false;
    }
    true
}

#[test]
fn mutants_at_scale_are_refuted_with_real_counterexamples() {
    let (rules, resolved) = generated(500, IoctlMix::Device);
    let prog = ioctl_program(&rules, Shape::RequestTree);
    let mut refuted = 0;
    for at in (prog.len() / 3..prog.len()).step_by(prog.len() / 40) {
        let mut m = prog.clone();
        if !mutate(&mut m, at) {
            continue;
        }
        match prove(&m, &resolved) {
            Ok(_) => {}
            Err(e) => {
                check_counterexample(&[&m], &resolved, e);
                refuted += 1;
            }
        }
    }
    assert!(refuted >= 12, "only {refuted} mutants refuted");
    // A stack of three at 2000 distinct rules: mutate each filter.
    let (rules, policy) = generated(2000, IoctlMix::Distinct);
    let stack = ioctl_stack(&rules, 3);
    let mut refuted = 0;
    for j in 0..stack.len() {
        let len = stack[j].len();
        for at in (len / 4..len).step_by(len / 6) {
            let mut m = stack.clone();
            if !mutate(&mut m[j], at) {
                continue;
            }
            match prove_stack(&m, &policy) {
                Ok(_) => {}
                Err(e) => {
                    let newest_first: Vec<&[SockFilter]> = m.iter().rev().map(|f| &f[..]).collect();
                    check_counterexample(&newest_first, &policy, e);
                    refuted += 1;
                }
            }
        }
    }
    assert!(refuted >= 6, "only {refuted} stack mutants refuted");
}

/// Writes the policies and hand-built programs of this file for measuring
/// `cargo xtask verify --program` at scale (run by hand):
/// `PROVE_SCALE_DIR=/tmp/scale cargo test -p bpf-vm --test prove_scale -- --ignored write_scale_inputs`
/// writes `ioctl-N.toml` and `ioctl-N-SHAPE.bpf` (raw) for N = 200, 500,
/// 2000, and `ioctl-distinct-500.toml` with `ioctl-distinct-500-tree.bpf`.
#[test]
#[ignore]
fn write_scale_inputs() {
    let dir = std::path::PathBuf::from(std::env::var("PROVE_SCALE_DIR").expect("PROVE_SCALE_DIR"));
    std::fs::create_dir_all(&dir).expect("output directory");
    let write = |name: String, rules: &[IoctlRule], shapes: &[(Shape, &str)]| {
        std::fs::write(dir.join(format!("{name}.toml")), ioctl_policy_toml(rules)).unwrap();
        for (shape, s) in shapes {
            let raw = bpf_asm::encode::to_raw(&ioctl_program(rules, *shape));
            std::fs::write(dir.join(format!("{name}-{s}.bpf")), raw).unwrap();
        }
    };
    let all = [
        (Shape::RequestChain, "chain"),
        (Shape::RequestTree, "tree"),
        (Shape::ValueFirst, "value-first"),
    ];
    for n in [200, 500, 2000] {
        write(
            format!("ioctl-{n}"),
            &generated(n, IoctlMix::Device).0,
            &all,
        );
    }
    write(
        "ioctl-distinct-500".into(),
        &generated(500, IoctlMix::Distinct).0,
        &all[1..2],
    );
}
