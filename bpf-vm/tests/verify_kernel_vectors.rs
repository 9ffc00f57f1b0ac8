//! The verdicts of the kernel's own `lib/test_bpf.c` classic vectors (from the
//! shared corpus) against [`bpf_vm::verify`] in classic mode.

use bpf_asm::SockFilter;
use bpf_vm::{verify, Mode, Rule};
use serde_json::Value;

/// The corpus file's `tests` array, or `None` (with the skip line) when the
/// corpus is absent.
fn corpus_tests() -> Option<Vec<Value>> {
    let mut doc = testkit::corpus::json("kernel-test-bpf/classic_all.json")?;
    match doc["tests"].take() {
        Value::Array(tests) => Some(tests),
        other => panic!("`tests` is not an array: {other}"),
    }
}

fn descr(t: &Value) -> &str {
    t["descr"].as_str().expect("descr")
}

/// A vector's `insns`: `[code, jt, jf, k]` quadruples.
fn program(t: &Value) -> Vec<SockFilter> {
    let field = |f: &Value| f.as_u64().expect("instruction field");
    t["insns"]
        .as_array()
        .expect("insns")
        .iter()
        .map(|i| {
            let f = i.as_array().expect("instruction");
            SockFilter::jump(
                field(&f[0]) as u16,
                field(&f[3]) as u32,
                field(&f[1]) as u8,
                field(&f[2]) as u8,
            )
        })
        .collect()
}

#[test]
fn kernel_test_bpf_classic_verdicts() {
    let Some(tests) = corpus_tests() else {
        return;
    };
    let (mut accepted, mut rejected) = (0, 0);
    for t in &tests {
        let descr = descr(t);
        let prog = program(t);
        let expect_ok = t["expected_errcode"].as_i64().expect("expected_errcode") == 0;
        let got = verify(&prog, Mode::Classic);
        if descr == "BPF_MAXINSNS: jump over MSH" {
            // The kernel fails this one while converting to eBPF (a jump
            // offset past S16_MAX), after bpf_check_classic accepted it.
            assert_eq!(
                got.map_err(|e| (e.index, e.rule)),
                Err((Some(0), Rule::ConvertedJumpTooLong)),
                "{descr}"
            );
            assert!(!expect_ok, "{descr}");
            rejected += 1;
            continue;
        }
        assert_eq!(got.is_ok(), expect_ok, "{descr}: {got:?}");
        if expect_ok {
            accepted += 1;
        } else {
            rejected += 1;
        }
    }
    assert!(accepted > 100 && rejected >= 10, "{accepted} {rejected}");
}

#[test]
fn kernel_test_bpf_rejections_name_the_right_rule() {
    let Some(tests) = corpus_tests() else {
        return;
    };
    let want = [
        ("check: missing ret", Rule::NoFinalReturn),
        ("check: div_k_0", Rule::DivisionByZero),
        ("check: unknown insn", Rule::UnknownOpcode),
        ("check: out of range spill/fill", Rule::ScratchOutOfRange),
        ("check: RET X", Rule::UnknownOpcode),
        ("check: SKF_AD_MAX", Rule::UnknownAncillary),
        ("BPF_MAXINSNS: Too many instructions", Rule::TooLong),
        (
            "LD_ABS word negative offset, out of bounds load",
            Rule::UnknownAncillary,
        ),
    ];
    for (name, rule) in want {
        let t = tests
            .iter()
            .find(|t| descr(t) == name)
            .unwrap_or_else(|| panic!("{name} missing from the corpus"));
        let e = verify(&program(t), Mode::Classic).expect_err(name);
        assert_eq!(e.rule, rule, "{name}: {e}");
    }
}
