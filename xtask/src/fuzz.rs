//! `cargo xtask fuzz`: runs the libFuzzer targets of `fuzz/` through
//! `cargo fuzz` on the machine's nightly toolchain.
//!
//! The targets are the `[[bin]]` entries of `fuzz/Cargo.toml`, so a target
//! added there is fuzzed (and listed by `--list`) without touching this file.
//! One target runs as `cargo +nightly fuzz run TARGET --features libfuzzer
//! --sanitizer none --debug-assertions fuzz/corpus/TARGET fuzz/seeds/TARGET
//! -- -max_total_time=S`, from the workspace root: new inputs go to
//! `fuzz/corpus/TARGET` (git-ignored), the checked-in seeds are read too, and
//! a crash is saved under `fuzz/artifacts/TARGET/`. `--all` runs every target
//! in turn, for `--time` seconds each, and fails if any of them found a crash.
//!
//! No AddressSanitizer: the fuzzed crates forbid `unsafe` code, so it would
//! find nothing and only slow the build and each run; overflow checks and
//! debug assertions stay on, since an overflow there is a bug.
//!
//! Without a nightly toolchain or `cargo-fuzz` the command exits with status
//! 3 ([`EXIT_NO_TOOLS`]) and says how to install them (`.ci/run` reports that
//! loudly and goes on). On stable, `cargo test -p fuzz` runs the same target
//! bodies over the seeds and generated inputs.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use crate::DynError;

/// Exit status when the fuzzing tools are missing (not a finding).
pub const EXIT_NO_TOOLS: u8 = 3;

/// Flags of the command.
#[derive(clap::Args)]
pub struct Args {
    /// The fuzz target (a `[[bin]]` of fuzz/Cargo.toml); see --list.
    #[arg(required_unless_present_any = ["all", "list"], conflicts_with_all = ["all", "list"])]
    pub target: Option<String>,
    /// Run every target of fuzz/Cargo.toml in turn, --time seconds each.
    #[arg(long)]
    pub all: bool,
    /// Print the targets of fuzz/Cargo.toml, one per line, and exit.
    #[arg(long, conflicts_with_all = ["time", "jobs", "libfuzzer_args"])]
    pub list: bool,
    /// Stop each target after this many seconds (libFuzzer's
    /// `-max_total_time`; at least 1).
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    pub time: u64,
    /// With --all: share this many seconds among the targets, each getting
    /// at most --time (so adding targets does not stretch a CI run).
    #[arg(long, requires = "all", value_name = "S", value_parser = clap::value_parser!(u64).range(1..))]
    pub budget: Option<u64>,
    /// Parallel fuzzing jobs (libFuzzer's `-fork`); 1 runs in-process.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub jobs: u32,
    /// Further libFuzzer flags, after `--` (e.g. `-- -max_len=4096`).
    #[arg(last = true)]
    pub libfuzzer_args: Vec<String>,
}

/// The fuzz targets: the `[[bin]]` names of a `fuzz/Cargo.toml`, in file order.
pub fn targets(manifest: &str) -> Result<Vec<String>, String> {
    let doc: toml::Table = manifest.parse().map_err(|e| format!("{e}"))?;
    let Some(bins) = doc.get("bin") else {
        return Ok(Vec::new());
    };
    let bins = bins
        .as_array()
        .ok_or("`bin` is not an array of tables ([[bin]])")?;
    bins.iter()
        .enumerate()
        .map(|(i, b)| {
            b.get("name")
                .and_then(toml::Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| format!("[[bin]] number {} has no `name`", i + 1))
        })
        .collect()
}

/// The targets of this workspace's `fuzz/Cargo.toml`.
fn workspace_targets() -> Result<Vec<String>, DynError> {
    let path = workspace_root().join("fuzz/Cargo.toml");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let t = targets(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    if t.is_empty() {
        return Err(format!("{}: no [[bin]] fuzz targets", path.display()).into());
    }
    Ok(t)
}

/// The workspace root (the parent of `xtask/`).
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// A `cargo` command free of the toolchain choice of the `cargo xtask`
/// that runs us (cargo sets `CARGO`, `RUSTC`, `RUSTUP_TOOLCHAIN` for it).
fn cargo() -> Command {
    let mut c = Command::new("cargo");
    for var in [
        "CARGO",
        "RUSTC",
        "RUSTDOC",
        "RUSTUP_TOOLCHAIN",
        "RUSTC_WRAPPER",
        "RUSTFLAGS",
    ] {
        c.env_remove(var);
    }
    c
}

/// Whether `cmd` runs and exits 0 (output discarded).
fn succeeds(cmd: &mut Command) -> bool {
    cmd.stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Runs the command.
pub fn run(args: Args) -> Result<ExitCode, DynError> {
    let all = workspace_targets()?;
    if args.list {
        for t in &all {
            println!("{t}");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let chosen: Vec<String> = match &args.target {
        Some(t) if all.contains(t) => vec![t.clone()],
        Some(t) => {
            return Err(format!(
                "no fuzz target `{t}` in fuzz/Cargo.toml (targets: {})",
                all.join(", ")
            )
            .into())
        }
        None => all,
    };
    if let Some(missing) = missing_tools() {
        eprintln!("error: {missing}");
        return Ok(ExitCode::from(EXIT_NO_TOOLS));
    }
    let time = per_target_time(args.time, args.budget, chosen.len());
    if time < args.time {
        eprintln!(
            "fuzz: --budget {} s over {} targets: {time} s each",
            args.budget.unwrap_or_default(),
            chosen.len()
        );
    }
    let args = Args { time, ..args };
    let mut failed = Vec::new();
    for (i, name) in chosen.iter().enumerate() {
        eprintln!(
            "fuzz: target {} of {}: {name}, {} s",
            i + 1,
            chosen.len(),
            args.time
        );
        if let Err(e) = run_target(name, &args) {
            eprintln!("error: {e}");
            failed.push(name.as_str());
        }
    }
    if !failed.is_empty() {
        println!("fuzz: crashed: {}", failed.join(", "));
    }
    println!(
        "fuzz: {} targets fuzzed for {} s each",
        chosen.len(),
        args.time
    );
    println!(
        "fuzz: {} passed, {} failed",
        chosen.len() - failed.len(),
        failed.len()
    );
    Ok(if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Seconds per target: `time`, or less when a `budget` shared by `targets`
/// targets runs out first (never below 1 s).
fn per_target_time(time: u64, budget: Option<u64>, targets: usize) -> u64 {
    match budget {
        Some(b) => time.min((b / targets.max(1) as u64).max(1)),
        None => time,
    }
}

/// Why fuzzing cannot run here, if it cannot.
fn missing_tools() -> Option<String> {
    if !succeeds(cargo().args(["+nightly", "--version"])) {
        return Some(
            "no nightly toolchain (libFuzzer's coverage instrumentation needs -Z flags): \
             `rustup toolchain list` shows none; the target bodies still run on stable \
             with `cargo test -p fuzz`"
                .into(),
        );
    }
    if !succeeds(cargo().args(["+nightly", "fuzz", "--version"])) {
        return Some(
            "`cargo fuzz` is not installed: `cargo install cargo-fuzz --locked` (.ci/run pins \
             the version it installs); the target bodies still run on stable with `cargo test -p fuzz`"
                .into(),
        );
    }
    None
}

/// The `cargo` arguments that fuzz `name` for `args.time` seconds.
fn fuzz_command(name: &str, seeds: Option<&Path>, args: &Args) -> Vec<String> {
    let mut v: Vec<String> = [
        "+nightly",
        "fuzz",
        "run",
        name,
        "--features",
        "libfuzzer",
        "--sanitizer",
        "none",
        "--debug-assertions",
    ]
    .map(String::from)
    .to_vec();
    v.push(format!("fuzz/corpus/{name}"));
    if let Some(s) = seeds {
        v.push(s.display().to_string());
    }
    v.push("--".into());
    v.push(format!("-max_total_time={}", args.time));
    if args.jobs > 1 {
        v.push(format!("-fork={}", args.jobs));
    }
    v.extend(args.libfuzzer_args.iter().cloned());
    v
}

/// Fuzzes one target for `args.time` seconds.
fn run_target(name: &str, args: &Args) -> Result<(), DynError> {
    let root = workspace_root();
    let corpus = Path::new("fuzz/corpus").join(name);
    let seeds = Path::new("fuzz/seeds").join(name);
    std::fs::create_dir_all(root.join(&corpus))
        .map_err(|e| format!("cannot create {}: {e}", corpus.display()))?;
    let seeds = root.join(&seeds).is_dir().then_some(seeds.as_path());
    let fuzz_args = fuzz_command(name, seeds, args);
    eprintln!("running: cargo {}", fuzz_args.join(" "));
    let status = cargo()
        .current_dir(&root)
        .args(&fuzz_args)
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if status.success() {
        eprintln!(
            "fuzz: {name}: no failure in {} s; new inputs are in {}",
            args.time,
            corpus.display()
        );
        Ok(())
    } else {
        Err(format!(
            "fuzz: {name}: the fuzzer stopped with {status}: a crash input is in fuzz/artifacts/{name}/ \
             (replay it with `cargo +nightly fuzz run {name} --features libfuzzer --sanitizer none \
             --debug-assertions fuzz/artifacts/{name}/<file>`, then make it a seed in fuzz/seeds/{name}/ \
             and a test in fuzz/tests/regressions.rs)"
        )
        .into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_the_bins_of_the_fuzz_manifest() {
        let text = std::fs::read_to_string(workspace_root().join("fuzz/Cargo.toml")).unwrap();
        let t = targets(&text).unwrap();
        assert!(!t.is_empty());
        // Every listed target has its libFuzzer entry point.
        for name in &t {
            let entry = workspace_root().join(format!("fuzz/fuzz_targets/{name}.rs"));
            assert!(entry.is_file(), "{name}: no {}", entry.display());
        }
        assert_eq!(
            targets("[[bin]]\nname = \"a\"\n[[bin]]\nname = \"b\"\n").unwrap(),
            ["a", "b"]
        );
        assert!(targets("[[bin]]\npath = \"x.rs\"\n").is_err());
        assert!(targets("bin = 3").is_err());
        assert!(targets("not toml [").is_err());
        assert!(targets("[package]\n").unwrap().is_empty());
    }

    #[test]
    fn the_command_fuzzes_the_corpus_and_the_seeds_for_the_time_given() {
        assert_eq!(per_target_time(60, None, 9), 60);
        assert_eq!(per_target_time(60, Some(300), 4), 60);
        assert_eq!(per_target_time(60, Some(300), 8), 37);
        assert_eq!(per_target_time(60, Some(3), 8), 1);
        let args = Args {
            target: Some("asm_text".into()),
            all: false,
            list: false,
            budget: None,
            time: 7,
            jobs: 2,
            libfuzzer_args: vec!["-max_len=64".into()],
        };
        let seeds = Path::new("fuzz/seeds/asm_text");
        assert_eq!(
            fuzz_command("asm_text", Some(seeds), &args).join(" "),
            "+nightly fuzz run asm_text --features libfuzzer --sanitizer none --debug-assertions \
             fuzz/corpus/asm_text fuzz/seeds/asm_text -- -max_total_time=7 -fork=2 -max_len=64"
        );
    }
}
