//! The prover at real sizes: the argument-heavy policy of issue 11 (N
//! `ioctl` rules with `arg1 == K`, `arg2 == M`) against programs built by
//! hand in three shapes (chains and a search tree, request word first or
//! value word first), so the result does not depend on the compiler's
//! layout. Asserted: the proof completes, and the regions, pieces and
//! rule evaluations it needs grow linearly with N (deterministic counts,
//! never timings);
//! a mutated program is refuted by a counterexample the emulator and the
//! policy's semantics confirm.

mod support;

use bpf_asm::policy::eval::evaluate;
use bpf_asm::policy::load::{load_str, LoadOptions};
use bpf_asm::policy::resolve::{resolve, Resolved};
use bpf_asm::Endian;
use bpf_vm::emu::Prepared;
use bpf_vm::prove::{prove, Proof, ProveError};
use bpf_vm::SeccompData;
use support::policies::{ioctl_program, Shape};
use testkit::policies::{ioctl_policy_toml, ioctl_rules, IoctlRule};

fn resolved(n: usize) -> (Vec<IoctlRule>, Resolved) {
    let rules = ioctl_rules(n, 0x10c7_0000 + n as u64);
    let text = ioctl_policy_toml(&rules);
    let policy =
        load_str(&text, "ioctl.toml", &LoadOptions::default()).expect("generated policy loads");
    (rules, resolve(&policy).expect("resolves"))
}

const SHAPES: [Shape; 3] = [Shape::RequestChain, Shape::RequestTree, Shape::ValueFirst];

fn proof(n: usize, shape: Shape) -> Proof {
    let (rules, resolved) = resolved(n);
    let prog = ioctl_program(&rules, shape);
    match prove(&prog, &resolved) {
        Ok(p) => p,
        Err(e) => panic!("{n} rules, {shape:?} ({} instructions): {e}", prog.len()),
    }
}

#[test]
fn proof_of_500_and_2000_rules_is_linear() {
    for shape in SHAPES {
        let small = proof(500, shape);
        let large = proof(2000, shape);
        println!("{shape:?}: 500 rules {small:?}, 2000 rules {large:?}");
        for (n, p) in [(500, small), (2000, large)] {
            // One region per rule and per request (its miss), plus a few
            // for the architecture, the number and the high words.
            assert!(p.regions <= 2 * n + 16, "{shape:?} {n}: {p:?}");
            assert!(p.regions >= n, "{shape:?} {n}: {p:?}");
            // Every region is one piece, except the few whose number or
            // architecture word spans several of the policy's cases.
            assert!(p.pieces <= p.regions + 16, "{shape:?} {n}: {p:?}");
            // Each region looks at the rules of its request or value (about
            // eight), not at all of them.
            assert!(p.rule_checks <= 8 * n, "{shape:?} {n}: {p:?}");
        }
        assert!(
            large.pieces <= 4 * small.pieces + 64,
            "{shape:?}: {small:?} -> {large:?}"
        );
        assert!(
            large.rule_checks <= small.rule_checks * 5,
            "{shape:?}: 4x the rules, more than 5x the work: {small:?} -> {large:?}"
        );
    }
}

#[test]
fn mutants_at_scale_are_refuted_with_real_counterexamples() {
    let (rules, resolved) = resolved(500);
    let prog = ioctl_program(&rules, Shape::RequestTree);
    let mut refuted = 0;
    // Change the constant or the return value of a few instructions of the
    // argument part.
    for at in (prog.len() / 3..prog.len()).step_by(prog.len() / 40) {
        let mut m = prog.clone();
        if m[at].code == (bpf_asm::BPF_RET | bpf_asm::BPF_K) {
            m[at].k ^= 0x0004_0000; // allow <-> errno, log <-> trace, ...
        } else if bpf_asm::bpf_class(m[at].code) == bpf_asm::BPF_JMP
            && m[at].code != bpf_asm::BPF_JMP
        {
            m[at].k = m[at].k.wrapping_add(1);
        } else {
            continue;
        }
        match prove(&m, &resolved) {
            Ok(_) => {}
            Err(ProveError::Counterexample(c)) => {
                let data = SeccompData::new(c.nr as i32, c.audit_arch)
                    .with_args(c.args)
                    .with_ip(c.instruction_pointer);
                let got = Prepared::new(&m).unwrap().run(&data, Endian::Little).ret;
                assert_eq!(got, c.program, "{c}");
                assert_eq!(
                    evaluate(&resolved, c.audit_arch, c.nr, &c.args),
                    c.policy,
                    "{c}"
                );
                assert_ne!(got, c.policy.to_ret(), "{c}");
                refuted += 1;
            }
            Err(e) => panic!("mutant at {at}: {e}"),
        }
    }
    assert!(refuted >= 12, "only {refuted} mutants refuted");
}

/// Writes the policies and hand-built programs of this file for measuring
/// `cargo xtask verify --program` at scale (run by hand):
/// `PROVE_SCALE_DIR=/tmp/scale cargo test -p bpf-vm --test prove_scale -- --ignored write_scale_inputs`
/// writes `ioctl-N.toml` and `ioctl-N-SHAPE.bpf` (raw) for N = 200, 500,
/// 2000.
#[test]
#[ignore]
fn write_scale_inputs() {
    let dir = std::path::PathBuf::from(std::env::var("PROVE_SCALE_DIR").expect("PROVE_SCALE_DIR"));
    std::fs::create_dir_all(&dir).expect("output directory");
    for n in [200, 500, 2000] {
        let rules = ioctl_rules(n, 0x10c7_0000 + n as u64);
        std::fs::write(
            dir.join(format!("ioctl-{n}.toml")),
            ioctl_policy_toml(&rules),
        )
        .unwrap();
        for (shape, name) in SHAPES.iter().zip(["chain", "tree", "value-first"]) {
            let prog = ioctl_program(&rules, *shape);
            let raw = bpf_asm::encode::to_raw(&prog);
            std::fs::write(dir.join(format!("ioctl-{n}-{name}.bpf")), raw).unwrap();
        }
    }
}
