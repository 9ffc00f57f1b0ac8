//! Running target bodies on stable: over seed files and over generated
//! byte streams, reporting the failing input.

use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use testkit::Rng;

/// The `fuzz/` directory of the workspace.
pub fn fuzz_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The shared test corpus (`../shared/corpus` beside the workspace), or
/// `None` after printing "skipped: corpus not found" (see
/// `testkit::corpus::dir`, which also fails where the corpus is required).
pub fn corpus_dir() -> Option<PathBuf> {
    testkit::corpus::dir()
}

/// The checked-in seed directory of `target`.
pub fn seed_dir(target: &str) -> PathBuf {
    fuzz_dir().join("seeds").join(target)
}

/// The files directly inside `dir` (sorted by name), with their contents;
/// empty when `dir` cannot be read.
pub fn files_in(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    paths.sort();
    paths
        .into_iter()
        .filter_map(|p| std::fs::read(&p).ok().map(|b| (p, b)))
        .collect()
}

/// The seed files of `target`.
pub fn seeds(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    files_in(&seed_dir(target))
}

/// Runs `body` on one input; on a panic, prints `what` and the input (hex)
/// before passing the panic on.
pub fn run_one(what: &str, input: &[u8], body: fn(&[u8])) {
    if let Err(p) = catch_unwind(AssertUnwindSafe(|| body(input))) {
        eprintln!("failing input: {what} ({} bytes)", input.len());
        eprintln!("hex: {}", hex(input));
        if let Ok(s) = std::str::from_utf8(input) {
            eprintln!("text: {s:?}");
        }
        resume_unwind(p);
    }
}

/// Runs `body` on `count` inputs of up to `max_len` bytes drawn from
/// `testkit::Rng` seeded with `seed` (replaced by `TEST_SEED` when set; see
/// `testkit::seed`). The count can be overridden with the environment
/// variable `FUZZ_CASES`.
pub fn run_generated(target: &str, seed: u64, count: usize, max_len: usize, body: fn(&[u8])) {
    let seed = testkit::seed(target, seed);
    let count = std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(count);
    let mut rng = Rng::new(seed);
    for i in 0..count {
        let len = rng.index(max_len + 1);
        let input = rng.bytes(len);
        run_one(
            &format!("{target}: generated input {i} of seed {seed:#x}"),
            &input,
            body,
        );
    }
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
