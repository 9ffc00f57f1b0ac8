//! `cargo xtask fuzz TARGET [--time S]`: runs a fuzz target of `fuzz/` with
//! libFuzzer through `cargo fuzz` on a nightly toolchain.
//!
//! The command is `cargo +nightly fuzz run TARGET --features libfuzzer
//! fuzz/corpus/TARGET fuzz/seeds/TARGET -- -max_total_time=S`, run from the
//! workspace root: new inputs go to `fuzz/corpus/TARGET` (git-ignored), the
//! checked-in seeds are read too, and a crash is saved under
//! `fuzz/artifacts/TARGET/`. Without a nightly toolchain or `cargo-fuzz`
//! the command says how to install them. On stable, `cargo test -p fuzz`
//! runs the same target bodies over the seeds and generated inputs.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use crate::DynError;

/// The fuzz targets of `fuzz/fuzz_targets/`.
#[derive(Clone, Copy, PartialEq, Eq, Debug, clap::ValueEnum)]
pub enum Target {
    /// Assembler on arbitrary text; disassembly round trip.
    #[value(name = "asm_text")]
    AsmText,
    /// Verifier on arbitrary programs; emulator on accepted ones.
    #[value(name = "verifier_emulator")]
    VerifierEmulator,
    /// Policy compiler against the reference semantics, every layout.
    #[value(name = "policy_semantics")]
    PolicySemantics,
    /// Policy loaders on arbitrary TOML/JSON.
    #[value(name = "policy_text")]
    PolicyText,
}

impl Target {
    /// The target's name (its binary in `fuzz/Cargo.toml`).
    pub const fn name(self) -> &'static str {
        match self {
            Target::AsmText => "asm_text",
            Target::VerifierEmulator => "verifier_emulator",
            Target::PolicySemantics => "policy_semantics",
            Target::PolicyText => "policy_text",
        }
    }
}

/// Flags of the command.
#[derive(clap::Args)]
pub struct Args {
    /// The fuzz target.
    #[arg(value_enum)]
    pub target: Target,
    /// Stop after this many seconds (libFuzzer's `-max_total_time`).
    #[arg(long, default_value_t = 60)]
    pub time: u64,
    /// Parallel fuzzing jobs (libFuzzer's `-fork`); 1 runs in-process.
    #[arg(long, default_value_t = 1)]
    pub jobs: u32,
    /// Further libFuzzer flags, after `--` (e.g. `-- -max_len=4096`).
    #[arg(last = true)]
    pub libfuzzer_args: Vec<String>,
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
    if !succeeds(cargo().args(["+nightly", "--version"])) {
        return Err(
            "no nightly toolchain (libFuzzer needs -Zsanitizer): install one with \
                    `rustup toolchain install nightly`, or run the target bodies on stable with \
                    `cargo test -p fuzz`"
                .into(),
        );
    }
    if !succeeds(cargo().args(["+nightly", "fuzz", "--version"])) {
        return Err(
            "`cargo fuzz` is not installed: install it with `cargo install cargo-fuzz`, \
                    or run the target bodies on stable with `cargo test -p fuzz`"
                .into(),
        );
    }
    let root = workspace_root();
    let name = args.target.name();
    let corpus = Path::new("fuzz/corpus").join(name);
    let seeds = Path::new("fuzz/seeds").join(name);
    std::fs::create_dir_all(root.join(&corpus))
        .map_err(|e| format!("cannot create {}: {e}", corpus.display()))?;
    let mut cmd = cargo();
    cmd.current_dir(&root)
        .args(["+nightly", "fuzz", "run", name, "--features", "libfuzzer"])
        .arg(&corpus)
        .arg(&seeds)
        .arg("--")
        .arg(format!("-max_total_time={}", args.time));
    if args.jobs > 1 {
        cmd.arg(format!("-fork={}", args.jobs));
    }
    cmd.args(&args.libfuzzer_args);
    eprintln!(
        "running: cargo +nightly fuzz run {name} --features libfuzzer {} {} -- -max_total_time={}{}",
        corpus.display(),
        seeds.display(),
        args.time,
        if args.jobs > 1 { format!(" -fork={}", args.jobs) } else { String::new() }
    );
    let status = cmd.status().map_err(|e| format!("cannot run cargo: {e}"))?;
    if status.success() {
        eprintln!(
            "no failure in {} s; new inputs are in {}",
            args.time,
            corpus.display()
        );
        Ok(ExitCode::SUCCESS)
    } else {
        Err(format!(
            "the fuzzer stopped with {status}: a crash input is in fuzz/artifacts/{name}/ \
             (rerun it with `cargo +nightly fuzz run {name} --features libfuzzer fuzz/artifacts/{name}/<file>`)"
        )
        .into())
    }
}
