//! `cargo xtask disasm`: print a program as `bpf_asm` text that `asm`
//! turns back into the same bytes.

use std::process::ExitCode;

use bpf_asm::disasm::{disassemble, DisasmOptions};
use bpf_asm::Arch;

use crate::io::{emit, load_program, InputFormat};
use crate::DynError;

/// Flags of the command.
#[derive(clap::Args)]
pub struct Args {
    /// The program file (`-` for standard input).
    file: String,
    /// Input format; by default from the extension (.bpf/.bin/.raw raw,
    /// .txt comma list, .s/.asm assembly).
    #[arg(long, value_enum)]
    input: Option<InputFormat>,
    /// Add seccomp comments (fields loaded, actions returned, arches and
    /// syscalls compared). Comments do not change what the text assembles to.
    #[arg(long)]
    annotate: bool,
    /// Architecture assumed for the comments where the program has not
    /// checked `arch` (elsewhere each branch is named from the architecture
    /// it checked); implies --annotate. Default: the host's.
    #[arg(long)]
    arch: Option<String>,
    /// Write to this file (atomically) instead of standard output.
    #[arg(short, long)]
    output: Option<String>,
}

/// Runs the command.
pub fn run(args: Args) -> Result<ExitCode, DynError> {
    let arch = match &args.arch {
        Some(name) => Some(Arch::from_name(name).ok_or_else(|| {
            let known: Vec<&str> = Arch::ALL.iter().map(|a| a.name()).collect();
            format!(
                "unknown architecture '{name}' (known: {})",
                known.join(", ")
            )
        })?),
        None => None,
    };
    let annotate = if args.annotate || arch.is_some() {
        Some(
            arch.or_else(Arch::host)
                .ok_or("the host architecture is unknown; pass --arch")?,
        )
    } else {
        None
    };
    let prog = load_program(&args.file, args.input)?;
    let text = disassemble(&prog, &DisasmOptions { annotate });
    emit(args.output.as_deref(), text.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_reassembles_to_the_input() {
        let dir = std::env::temp_dir().join(format!("xtask-disasm-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let input = dir.join("p.bpf");
        let prog = bpf_asm::text::assemble(
            "ld [4]\njne #0xc000003e, bad\nld [0]\njeq #39, good\n.insn 0x8006, 1, 2, 3\n\
             bad: ret #0\ngood: ret #0x7fff0000\n",
            &bpf_asm::text::AsmOptions::DEFAULT,
        )
        .unwrap();
        std::fs::write(&input, bpf_asm::encode::to_raw(&prog)).unwrap();
        for (annotate, arch) in [
            (false, None),
            (true, None),
            (false, Some("aarch64".to_string())),
        ] {
            let expect_comments = annotate || arch.is_some();
            let output = dir.join("p.s");
            let args = Args {
                file: input.to_string_lossy().into_owned(),
                input: None,
                annotate,
                arch,
                output: Some(output.to_string_lossy().into_owned()),
            };
            run(args).unwrap();
            let text = std::fs::read_to_string(&output).unwrap();
            let back = bpf_asm::text::assemble(&text, &bpf_asm::text::AsmOptions::DEFAULT).unwrap();
            assert_eq!(back, prog, "{text}");
            // --arch implies --annotate.
            assert_eq!(text.contains("; ALLOW"), expect_comments, "{text}");
        }
        let bad = Args {
            file: input.to_string_lossy().into_owned(),
            input: None,
            annotate: false,
            arch: Some("vax".into()),
            output: None,
        };
        assert!(run(bad)
            .unwrap_err()
            .to_string()
            .contains("unknown architecture 'vax'"));
    }
}
