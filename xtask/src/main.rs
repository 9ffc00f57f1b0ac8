//! `cargo xtask`: the command-line front end of the toolkit.
//!
//! Every command lives in its own module with an `Args` struct (its flags)
//! and a `run` function. Commands print `error: ...` and exit 1 on failure;
//! exit 2 is reserved for usage errors (clap). `run`, which passes on its
//! command's status, follows `env` instead: 125 for its own failures, 126
//! and 127 when the command cannot be executed or found.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod asm;
mod bench_kernel;
mod bench_peers;
mod check;
mod compile;
mod disasm;
mod emu;
mod fuzz;
#[allow(dead_code)]
mod io;
mod launch;
mod layouts;
mod report;
mod resolve;
mod run;
mod static_init;
mod svg;
mod verify;

/// Errors of a command; printed as `error: <message>`.
pub type DynError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Parser)]
#[command(
    name = "cargo xtask",
    bin_name = "cargo xtask",
    version,
    about = "Assemble, verify, emulate and install seccomp filters"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Assemble bpf_asm text into a program.
    Asm(asm::Args),
    /// Disassemble a program into bpf_asm text.
    Disasm(disasm::Args),
    /// Check a program the way the kernel's seccomp verifier does.
    Check(check::Args),
    /// Run a program on one seccomp_data, or on a file of cases.
    Emu(emu::Args),
    /// Compile a policy and prove the program equals the policy.
    Verify(verify::Args),
    /// Compile a policy (TOML or OCI/Docker JSON) into a program.
    Compile(compile::Args),
    /// Compare the jump layouts of a policy.
    Layouts(layouts::Args),
    /// Run a command under a policy: install it with TSYNC and exec, forward
    /// signals, pass on the exit status.
    Run(run::Args),
    /// Build the static, libc-free init demo.
    StaticInit(static_init::Args),
    /// Run a fuzz target with cargo fuzz.
    Fuzz(fuzz::Args),
    /// Compare our compiler with libseccomp and seccompiler.
    BenchPeers(bench_peers::Args),
    /// Time each filter's cost per system call in the running kernel.
    BenchKernel(bench_kernel::Args),
    /// Syscall names to numbers and back, per architecture.
    Resolve(resolve::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Asm(a) => asm::run(a),
        Command::Disasm(a) => disasm::run(a),
        Command::Check(a) => check::run(a),
        Command::Emu(a) => emu::run(a),
        Command::Verify(a) => verify::run(a),
        Command::Compile(a) => compile::run(a),
        Command::Layouts(a) => layouts::run(a),
        Command::Run(a) => run::run(a),
        Command::StaticInit(a) => static_init::run(a),
        Command::Fuzz(a) => fuzz::run(a),
        Command::BenchPeers(a) => bench_peers::run(a),
        Command::BenchKernel(a) => bench_kernel::run(a),
        Command::Resolve(a) => resolve::run(a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}
