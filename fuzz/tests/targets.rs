//! Every fuzz target body over its checked-in seeds, over inputs taken from
//! the shared corpus, and over a few thousand inputs generated from a
//! deterministic byte stream (splitmix64; the seed is printed with any
//! failing input). `FUZZ_CASES=N` changes the number of generated inputs.

use fuzz::harness::{corpus_dir, files_in, run_generated, run_one, seeds};
use fuzz::policy_semantics::Prove;
use fuzz::{asm_text, policy_semantics, policy_text, regions, verifier_emulator};

fn run_seeds(target: &str, body: fn(&[u8])) {
    let seeds = seeds(target);
    assert!(!seeds.is_empty(), "no seed files for {target}");
    for (path, bytes) in &seeds {
        run_one(&path.display().to_string(), bytes, body);
    }
    println!("{target}: {} seeds", seeds.len());
}

#[test]
fn asm_text_seeds() {
    run_seeds("asm_text", asm_text);
}

#[test]
fn asm_text_generated() {
    run_generated("asm_text", 0xa5_0001, 3000, 512, asm_text);
}

/// The kernel assembler's test sources: whole, and line by line.
#[test]
fn asm_text_corpus() {
    let Some(c) = corpus_dir() else {
        return;
    };
    let path = c.join("bpf-asm/all_instructions.txt");
    let text = std::fs::read(&path).expect("all_instructions.txt");
    run_one(&path.display().to_string(), &text, asm_text);
    let text = String::from_utf8_lossy(&text).into_owned();
    for (i, line) in text.lines().enumerate() {
        run_one(
            &format!("{}:{}", path.display(), i + 1),
            line.as_bytes(),
            asm_text,
        );
    }
}

#[test]
fn verifier_emulator_seeds() {
    run_seeds("verifier_emulator", verifier_emulator);
}

#[test]
fn verifier_emulator_generated() {
    run_generated("verifier_emulator", 0xe1_0002, 4000, 768, verifier_emulator);
}

/// Real programs (the kernel assembler's instruction list and the raw
/// programs beside it) with calls at every `seccomp_data` word.
#[test]
fn verifier_emulator_corpus() {
    let Some(c) = corpus_dir() else {
        return;
    };
    let mut programs = 0;
    for (path, bytes) in files_in(&c.join("bpf-asm")) {
        if path.extension().is_some_and(|e| e == "bpf") {
            let Ok(text) = std::str::from_utf8(&bytes) else {
                continue;
            };
            let Ok(prog) = bpf_asm::encode::parse_comma(text) else {
                continue;
            };
            fuzz::verifier_emulator::check_program_calls(&prog);
            programs += 1;
        }
    }
    println!("{programs} corpus programs");
}

#[test]
fn policy_semantics_seeds() {
    run_seeds("policy_semantics", policy_semantics);
}

#[test]
fn policy_semantics_generated() {
    run_generated("policy_semantics", 0x90_0003, 2000, 512, policy_semantics);
}

/// The repository's own TOML policies and Firecracker's filters, loaded
/// and checked like model policies.
#[test]
fn policy_semantics_corpus() {
    use bpf_asm::policy::load::{load_file, LoadOptions};
    let mut n = 0;
    let repo = fuzz::harness::fuzz_dir().join("../policies");
    for (path, _) in files_in(&repo) {
        if path.extension().is_some_and(|e| e == "toml") {
            let policy = load_file(&path, &LoadOptions::default()).expect("repo policy loads");
            fuzz::policy_semantics::check(&policy, &[], Prove::All);
            n += 1;
        }
    }
    let Some(c) = corpus_dir() else {
        return;
    };
    let fc = c.join("policies/firecracker/x86_64-unknown-linux-musl.json");
    for filter in ["vmm", "api", "vcpu"] {
        let opts = LoadOptions {
            filter: Some(filter.to_string()),
            ..LoadOptions::default()
        };
        let policy = load_file(&fc, &opts).expect("firecracker filter loads");
        fuzz::policy_semantics::check(&policy, &[], Prove::All);
        n += 1;
    }
    println!("{n} policies");
}

#[test]
fn policy_text_seeds() {
    run_seeds("policy_text", policy_text);
}

#[test]
fn policy_text_generated() {
    run_generated("policy_text", 0x7e_0004, 2000, 512, policy_text);
}

/// Every policy file of the shared corpus and of the repository.
#[test]
fn policy_text_corpus() {
    let repo = fuzz::harness::fuzz_dir().join("../policies");
    for (path, bytes) in files_in(&repo) {
        run_one(&path.display().to_string(), &bytes, policy_text);
    }
    let Some(c) = corpus_dir() else {
        return;
    };
    let mut n = 0;
    for dir in [
        "docker",
        "docker/fixtures",
        "podman",
        "flatpak",
        "kubernetes",
        "firecracker",
    ] {
        for (path, bytes) in files_in(&c.join("policies").join(dir)) {
            if path.extension().is_some_and(|e| e == "json") {
                run_one(&path.display().to_string(), &bytes, policy_text);
                n += 1;
            }
        }
    }
    println!("{n} corpus policy files");
}

/// Every libFuzzer binary of `fuzz/Cargo.toml` (what `cargo xtask fuzz --all`
/// and CI fuzz) has its body in `fuzz::TARGETS` (what these replays run), and
/// its entry point calls that body.
#[test]
fn every_fuzzed_target_is_replayed() {
    let dir = fuzz::harness::fuzz_dir();
    let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).expect("fuzz/Cargo.toml");
    let mut bins = Vec::new();
    let mut in_bin = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_bin = line == "[[bin]]";
        } else if let Some(v) = line.strip_prefix("name").filter(|_| in_bin) {
            let v = v.trim_start().trim_start_matches('=').trim();
            bins.push(v.trim_matches('"').to_string());
        }
    }
    let replayed: Vec<String> = fuzz::TARGETS.iter().map(|(n, _)| n.to_string()).collect();
    assert_eq!(
        bins, replayed,
        "fuzz/Cargo.toml [[bin]] names vs fuzz::TARGETS"
    );
    for name in &bins {
        let entry = dir.join(format!("fuzz_targets/{name}.rs"));
        let src = std::fs::read_to_string(&entry).expect("entry point");
        assert!(
            src.contains(&format!("fuzz::{name}(")),
            "{}: does not call fuzz::{name}",
            entry.display()
        );
    }
}

#[test]
fn regions_seeds() {
    run_seeds("regions", regions);
}

#[test]
fn regions_generated() {
    run_generated("regions", 0x5e91_0001, 3000, 768, regions);
}

/// Writes seed candidates for `regions` (run by hand with `--ignored`).
#[test]
#[ignore]
fn regions_write_seeds() {
    let mut rng = testkit::Rng::for_test("regions_write_seeds", 0x5eed_5e91);
    let dir = fuzz::harness::seed_dir("regions");
    let mut written = 0;
    for _ in 0..100_000 {
        let len = rng.below(600) as usize + 100;
        let bytes = rng.bytes(len);
        if fuzz::regions::interesting(&bytes) {
            std::fs::write(dir.join(format!("generated-{written}.bin")), &bytes).unwrap();
            written += 1;
            if written == 6 {
                break;
            }
        }
    }
    assert_eq!(written, 6);
}

#[test]
fn profile_text_seeds() {
    run_seeds("profile_text", fuzz::profile_text);
}

#[test]
fn profile_text_generated() {
    // Text-like bytes: names, digits, blanks, comments and newlines.
    let alphabet = b"abcdefgh_0123456789 \t#\n\n\n-x(";
    let seed = testkit::seed("profile_text_generated", 0x7072_6f66);
    let mut rng = testkit::Rng::new(seed);
    for i in 0..3000 {
        let len = rng.below(120) as usize;
        let input: Vec<u8> = (0..len)
            .map(|_| alphabet[rng.below(alphabet.len() as u64) as usize])
            .collect();
        fuzz::harness::run_one(
            &format!("profile_text: generated input {i} of seed {seed:#x}"),
            &input,
            fuzz::profile_text,
        );
    }
    run_generated("profile_text", 0x7072_6f67, 2000, 200, fuzz::profile_text);
}
