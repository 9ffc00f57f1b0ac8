//! The shared corpus: real inputs written outside this project, found at
//! `../shared/corpus` beside the workspace root (never copied into it).
//!
//! When the folder is absent a test prints `skipped: corpus not found
//! (PATH)` and returns; when a variable requires the corpus (CI), the
//! lookup panics instead, so a CI run can never pass by skipping. A file
//! missing from a present corpus is always a failure.

use std::path::{Path, PathBuf};

/// Set to `1` to make a missing corpus a failure outside CI too.
pub const REQUIRED_ENV: &str = "CORPUS_REQUIRED";

/// The location of the corpus, whether or not it exists.
pub fn root() -> PathBuf {
    // This crate lives at `xtask/testkit`: two levels below the workspace root.
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let workspace = workspace.canonicalize().unwrap_or(workspace);
    workspace.join("../shared/corpus")
}

/// True when a missing corpus must fail: [`REQUIRED_ENV`] is `1`, or `CI`
/// is set to anything but empty, `0` or `false` (CI runs always have it).
pub fn required() -> bool {
    let on = |var: &str| {
        std::env::var(var).is_ok_and(|v| {
            let v = v.trim();
            !v.is_empty() && v != "0" && !v.eq_ignore_ascii_case("false")
        })
    };
    on(REQUIRED_ENV) || on("CI")
}

/// The corpus folder, or `None` after printing `skipped: corpus not found
/// (PATH)`.
///
/// # Panics
/// When the corpus is absent and [`required`].
pub fn dir() -> Option<PathBuf> {
    let r = root();
    if r.is_dir() {
        return Some(r);
    }
    assert!(
        !required(),
        "corpus not found at {} and required here (CI or {REQUIRED_ENV}=1)",
        r.display()
    );
    println!("skipped: corpus not found ({})", r.display());
    None
}

/// The corpus file or folder `rel` (a path inside the corpus), or `None`
/// when the corpus is absent (see [`dir`]).
///
/// # Panics
/// When the corpus is present but `rel` is not in it.
pub fn path(rel: &str) -> Option<PathBuf> {
    let p = dir()?.join(rel);
    assert!(p.exists(), "corpus present but {} is missing", p.display());
    Some(p)
}

/// The text of the corpus file `rel` (see [`path`]).
///
/// # Panics
/// When the corpus is present and the file cannot be read as UTF-8.
pub fn text(rel: &str) -> Option<String> {
    let p = path(rel)?;
    Some(std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
}

/// The bytes of the corpus file `rel` (see [`path`]).
///
/// # Panics
/// When the corpus is present and the file cannot be read.
pub fn bytes(rel: &str) -> Option<Vec<u8>> {
    let p = path(rel)?;
    Some(std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
}

/// The corpus file `rel` parsed as JSON (see [`path`]).
///
/// # Panics
/// When the corpus is present and the file is not JSON.
pub fn json(rel: &str) -> Option<serde_json::Value> {
    let t = text(rel)?;
    Some(serde_json::from_str(&t).unwrap_or_else(|e| panic!("{rel}: not JSON: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The corpus is where the workspace's README says it is.
    #[test]
    fn root_is_beside_the_workspace() {
        let r = root();
        assert!(r.ends_with("shared/corpus"), "{}", r.display());
        let ws = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../Cargo.toml");
        assert!(ws.is_file(), "workspace manifest at {}", ws.display());
    }

    #[test]
    fn present_corpus_files_are_found_and_read() {
        let Some(d) = dir() else { return };
        assert!(d.join("README.md").is_file());
        let j = json("bpf-asm/examples.json").expect("corpus present");
        assert!(j["examples"].is_array());
        assert!(text("README.md").is_some_and(|t| t.contains("corpus")));
    }

    #[test]
    #[should_panic(expected = "is missing")]
    fn a_file_missing_from_a_present_corpus_fails() {
        if dir().is_none() {
            panic!("is missing (no corpus here: the rule holds trivially)");
        }
        path("no/such/file.json");
    }
}
