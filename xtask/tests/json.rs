//! `--format json` against the text output of the same run: the documents
//! parse (serde_json), carry the schema, and say what the text says, over
//! generated programs, the shipped policies and policies made to fail.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

fn xtask(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .output()
        .expect("run xtask")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn json(out: &Output) -> Value {
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}):\n{}\nstderr:\n{}",
            stdout(out),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert_eq!(doc["schema"], 1, "{doc}");
    doc
}

fn repo(rel: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(rel)
        .to_string_lossy()
        .into_owned()
}

fn scratch(name: &str, bytes: &[u8]) -> String {
    let d = std::env::temp_dir().join(format!("xtask-json-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    let p = d.join(name);
    std::fs::write(&p, bytes).unwrap();
    p.to_string_lossy().into_owned()
}

use testkit::Rng;

/// A short program that is sometimes valid: seccomp-style loads, jumps
/// with small offsets, returns, and now and then any classic code.
fn program(rng: &mut Rng) -> Vec<bpf_asm::SockFilter> {
    let codes = bpf_asm::CLASSIC_CODES;
    let n = 1 + (rng.next_u64() % 8) as usize;
    let mut p: Vec<bpf_asm::SockFilter> = (0..n)
        .map(|_| {
            let r = rng.next_u64();
            let code = match r % 4 {
                0 => 0x20,
                1 => 0x15,
                2 => 0x06,
                _ => codes[(r >> 8) as usize % codes.len()],
            };
            let k = match (r >> 16) % 3 {
                0 => ((r >> 24) % 64) as u32 & !3,
                1 => 0x7fff_0000,
                _ => (r >> 32) as u32,
            };
            bpf_asm::SockFilter::jump(code, k, ((r >> 40) % 3) as u8, ((r >> 48) % 3) as u8)
        })
        .collect();
    if !rng.next_u64().is_multiple_of(4) {
        p.push(bpf_asm::SockFilter::stmt(0x06, 0x7fff_0000));
    }
    p
}

#[test]
fn check_json_says_what_the_text_says() {
    let seed = testkit::seed("check_json_says_what_the_text_says", 0x6a73_6f6e);
    let mut rng = Rng::new(seed);
    let (mut accepted, mut rejected) = (0, 0);
    for case in 0..60 {
        let prog = program(&mut rng);
        let path = scratch(&format!("p{case}.bpf"), &bpf_asm::encode::to_raw(&prog));
        let args = ["check", &path, "--cache", "x86_64", "--cache", "mips", "-v"];
        let text = xtask(&args);
        let doc = json(&xtask(&[&args[..], &["--format", "json"]].concat()));
        let what = format!("seed {seed:#x} case {case}: {doc}");
        assert_eq!(doc["command"], "check", "{what}");
        assert_eq!(doc["program"], path.as_str(), "{what}");
        assert_eq!(doc["instructions"], prog.len(), "{what}");
        let out = stdout(&text);
        if text.status.success() {
            accepted += 1;
            assert_eq!(doc["accepted"], true, "{what}");
            assert!(doc["error"].is_null(), "{what}");
            let mut lines = out.lines();
            assert_eq!(
                lines.next().unwrap(),
                format!("ok: {} instructions", prog.len())
            );
            for b in doc["budget"].as_array().unwrap() {
                assert_eq!(
                    lines.next().unwrap(),
                    format!(
                        "eBPF length ({}): {}; at most {} such filters can stack",
                        b["form"].as_str().unwrap(),
                        b["ebpf_len"],
                        b["max_stack_depth"]
                    ),
                    "{what}"
                );
            }
            let x86 = lines.next().unwrap();
            let names: Vec<String> = doc["cache"][0]["skipped"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| match s["name"].as_str() {
                    Some(n) => n.to_string(),
                    None => s["nr"].to_string(),
                })
                .collect();
            assert!(
                x86.ends_with(&format!(": {}", names.join(" "))) || names.is_empty(),
                "{what}\n{x86}"
            );
            assert!(
                x86.contains(&format!("{} of the", names.len())),
                "{what}\n{x86}"
            );
            assert_eq!(doc["cache"][1]["has_cache"], false, "{what}");
            assert!(doc["cache"][1]["skipped"].is_null(), "{what}");
        } else {
            rejected += 1;
            assert_eq!(text.status.code(), Some(1));
            assert_eq!(doc["accepted"], false, "{what}");
            assert_eq!(doc["cache"], Value::Array(vec![]), "{what}");
            let e = &doc["error"];
            let place = match e["index"].as_u64() {
                Some(i) => format!("insn {i}"),
                None => "program".into(),
            };
            let line = format!(
                "error: {path}: {place}: {} (kernel: {})",
                e["message"].as_str().unwrap(),
                e["errno"].as_str().unwrap()
            );
            let err = String::from_utf8_lossy(&text.stderr);
            assert!(
                err.lines().any(|l| l == line),
                "{what}\n{err}\nexpected {line}"
            );
            if let Some(insn) = e["instruction"].as_str() {
                assert!(err.contains(&format!("is `{insn}`")), "{what}\n{err}");
            }
        }
    }
    // The generator reaches both verdicts.
    assert!(
        accepted > 5 && rejected > 5,
        "{accepted} accepted, {rejected} rejected"
    );
}

#[test]
fn layouts_json_says_what_the_table_says() {
    let policy = repo("policies/network-service.toml");
    let text = stdout(&xtask(&["layouts", &policy]));
    let doc = json(&xtask(&["layouts", &policy, "--format", "json"]));
    assert_eq!(doc["command"], "layouts");
    let mut rows = text.lines().skip(1);
    let layouts = doc["layouts"].as_array().unwrap();
    assert_eq!(layouts.len(), 4, "{doc}");
    for l in layouts {
        for (i, a) in l["arches"].as_array().unwrap().iter().enumerate() {
            let row: Vec<&str> = rows.next().unwrap().split_whitespace().collect();
            let row = if i == 0 {
                let label = if l["layout"] == "auto" {
                    format!("auto ({})", l["chosen"].as_str().unwrap())
                } else {
                    l["layout"].as_str().unwrap().to_string()
                };
                let words = label.split_whitespace().count();
                assert_eq!(row[..words].join(" "), label);
                assert_eq!(row[words], l["instructions"].to_string());
                row[words + 1..].to_vec()
            } else {
                row
            };
            assert_eq!(row[0], a["arch"].as_str().unwrap());
            assert_eq!(
                row[1],
                format!("{:.2}", a["mean_executed"].as_f64().unwrap())
            );
            assert_eq!(row[2], a["max_executed"].to_string());
            assert_eq!(
                row[3],
                format!("{}/{}", a["cache_covered"], a["always_allowed"])
            );
        }
    }
    assert!(rows.next().is_none());
}

#[test]
fn compile_json_holds_the_program_compile_writes() {
    for policy in [
        repo("policies/network-service.toml"),
        repo("seccomp-install/tests/embedded/policy.toml"),
    ] {
        for layout in ["auto", "linear", "bintree", "ranges"] {
            let raw = xtask(&["compile", &policy, "--layout", layout, "--format", "raw"]);
            assert!(raw.status.success());
            let prog = bpf_asm::encode::parse_raw(&raw.stdout).unwrap();
            let doc = json(&xtask(&[
                "compile", &policy, "--layout", layout, "--format", "json",
            ]));
            assert_eq!(doc["command"], "compile");
            assert_eq!(doc["layout"], layout);
            assert_eq!(doc["instructions"], prog.len());
            let rows: Vec<bpf_asm::SockFilter> = doc["program"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| {
                    let f = |i: usize| r[i].as_u64().unwrap();
                    bpf_asm::SockFilter::jump(f(0) as u16, f(3) as u32, f(1) as u8, f(2) as u8)
                })
                .collect();
            assert_eq!(rows, prog, "{policy} {layout}");
        }
    }
    // -o FILE.json picks the format.
    let out = scratch("out.json", b"");
    let r = xtask(&[
        "compile",
        &repo("policies/network-service.toml"),
        "-o",
        &out,
    ]);
    assert!(r.status.success());
    let doc: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(doc["command"], "compile");
}

/// Runs `verify` in both formats on the same input; returns (text stdout,
/// exit code, document).
fn verify_both(args: &[&str]) -> (String, Option<i32>, Value) {
    let text = xtask(&[&["verify"], args].concat());
    let doc = json(&xtask(&[&["verify"], args, &["--format", "json"]].concat()));
    assert_eq!(doc["command"], "verify");
    (stdout(&text), text.status.code(), doc)
}

fn check_verify_agrees(args: &[&str]) {
    let (text, code, doc) = verify_both(args);
    let what = format!("{args:?}\n{text}\n{doc}");
    assert_eq!(doc["ok"], code == Some(0), "{what}");
    let mut lines = text.lines().peekable();
    if let Some(c) = doc["compiled"].as_object() {
        let l = lines.next().unwrap();
        assert!(l.starts_with("compiled "), "{what}");
        assert!(
            l.ends_with(&format!(
                ": {} instructions ({} layout)",
                c["instructions"],
                c["chosen"].as_str().unwrap()
            )),
            "{what}"
        );
    }
    let v = &doc["verifier"];
    if v["accepted"] == false {
        let l = lines.next().unwrap();
        assert!(l.starts_with("verifier: REJECTED: "), "{what}");
        assert!(
            l.ends_with(&format!(
                "{} (kernel: {})",
                v["error"]["message"].as_str().unwrap(),
                v["error"]["errno"].as_str().unwrap()
            )),
            "{what}"
        );
        assert!(doc["proof"].is_null() && doc["tests"].is_null(), "{what}");
        return;
    }
    assert_eq!(
        lines.next().unwrap(),
        format!("verifier: ok ({} instructions)", v["instructions"]),
        "{what}"
    );
    let p = &doc["proof"];
    let l = lines.next().unwrap();
    if p["ok"] == true {
        assert!(
            l.ends_with(&format!(
                "({} program regions, {} pieces checked)",
                p["regions"], p["pieces"]
            )),
            "{what}"
        );
    } else {
        assert_eq!(
            l,
            format!("proof: FAILED: {}", p["error"].as_str().unwrap()),
            "{what}"
        );
    }
    let t = &doc["tests"];
    for r in t["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["passed"] == false)
    {
        assert_eq!(
            lines.next().unwrap(),
            format!(
                "test {}: FAILED: {}",
                r["origin"].as_str().unwrap(),
                r["failure"].as_str().unwrap()
            ),
            "{what}"
        );
    }
    assert_eq!(
        lines.next().unwrap(),
        format!("tests: {} passed, {} failed", t["passed"], t["failed"]),
        "{what}"
    );
    let lints = doc["lints"].as_array().unwrap();
    if lints.is_empty() {
        assert_eq!(lines.next().unwrap(), "lints: none", "{what}");
    }
    for l in lints {
        let at = match l["location"].as_object() {
            Some(o) => format!(
                "{}:{}:{}: ",
                o["file"].as_str().unwrap(),
                o["line"],
                o["column"]
            ),
            None => String::new(),
        };
        assert_eq!(
            lines.next().unwrap(),
            format!(
                "{}: {at}{}",
                l["severity"].as_str().unwrap(),
                l["message"].as_str().unwrap()
            ),
            "{what}"
        );
    }
    if lines
        .peek()
        .is_some_and(|l| l.starts_with("--deny-warnings"))
    {
        lines.next();
    }
    let m = &doc["metrics"];
    assert_eq!(
        lines.next().unwrap(),
        format!("metrics: program length {} instructions", m["instructions"]),
        "{what}"
    );
    for a in m["arches"].as_array().unwrap() {
        let l = lines.next().unwrap();
        assert!(l.starts_with(&format!("metrics: {}: instructions executed over its {} syscalls: mean {:.2} (fewest-path mean {:.2}), max {}", a["arch"].as_str().unwrap(), a["syscalls"], a["mean_executed"].as_f64().unwrap(), a["mean_executed_fewest"].as_f64().unwrap(), a["max_executed"])), "{what}\n{l}");
        assert!(
            l.ends_with(&format!(
                "kernel cache covers {}/{} unconditionally allowed syscalls",
                a["cache_covered"], a["always_allowed"]
            )),
            "{what}\n{l}"
        );
    }
    assert!(lines.next().is_none(), "{what}");
}

#[test]
fn verify_json_says_what_the_text_says() {
    let failing = scratch(
        "failing.toml",
        b"default = \"allow\"\narches = [\"x86_64\"]\n[[rule]]\nsyscalls = [\"ptrace\"]\naction = \"kill_thread\"\n\
          [[test]]\ncall = \"ptrace(0)\"\nexpect = \"allow\"\n[[test]]\ncall = \"read(0)\"\nexpect = \"allow\"\n",
    );
    let allow_all = scratch("allow.s", b"ret ALLOW\n");
    let div = scratch("div.s", b"ld [0]\ndiv #0\nret a\n");
    let policy = repo("policies/network-service.toml");
    let embedded = repo("seccomp-install/tests/embedded/policy.toml");
    let cases: Vec<Vec<&str>> = vec![
        vec![&policy],
        vec![&embedded, "--layout", "linear"],
        vec![&failing],
        vec![&failing, "--program", &allow_all],
        vec![&policy, "--program", &div],
    ];
    for c in &cases {
        check_verify_agrees(c);
    }
    let (_, code, doc) = verify_both(&[&failing]);
    assert_eq!((code, &doc["ok"]), (Some(1), &Value::Bool(false)));
    assert_eq!(doc["tests"]["failed"], 1);
    assert!(
        doc["lints"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["message"].as_str().unwrap().contains("kill_thread")),
        "{doc}"
    );
    let (_, _, doc) = verify_both(&[&failing, "--program", &allow_all]);
    assert_eq!(doc["proof"]["ok"], false, "{doc}");
    assert!(doc["compiled"].is_null() && doc["program"].is_string());
    let (_, _, doc) = verify_both(&[&policy, "--program", &div]);
    assert_eq!(doc["verifier"]["error"]["index"], 1, "{doc}");
}
