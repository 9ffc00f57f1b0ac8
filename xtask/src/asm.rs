//! `cargo xtask asm`: assemble `bpf_asm` text (the kernel's `tools/bpf`
//! language plus the seccomp superset of `bpf_asm::text`) into a program.

use std::process::ExitCode;

use bpf_asm::encode::{to_c_array, to_comma, to_hex, to_raw, to_rust_static};
use bpf_asm::text::{assemble, AsmOptions};
use bpf_asm::{Arch, Endian, SockFilter};

use crate::io::{emit, read_input};
use crate::DynError;

/// Output formats.
#[derive(Clone, Copy, PartialEq, Eq, Debug, clap::ValueEnum)]
pub enum Format {
    /// The kernel `bpf_asm` default: `N,code jt jf k,...,` and a newline.
    Comma,
    /// The kernel `bpf_asm -c` output: `{ 0x06,  0,  0, 0x7fff0000 },` lines.
    C,
    /// Raw `struct sock_filter` bytes, host byte order (8 bytes each).
    Raw,
    /// A Rust `pub static NAME: [bpf_asm::SockFilter; N]` item.
    Rust,
    /// One line of 16 hex digits (the raw bytes) per instruction.
    Hex,
}

/// Byte orders for `--endian`.
#[derive(Clone, Copy, PartialEq, Eq, Debug, clap::ValueEnum)]
pub enum ByteOrder {
    /// Least significant byte first.
    Little,
    /// Most significant byte first.
    Big,
}

/// Flags of the command.
#[derive(clap::Args)]
#[command(after_long_help = SYNTAX_HELP)]
pub struct Args {
    /// The source file (`-` for standard input).
    file: String,
    /// Output format.
    #[arg(long, value_enum, default_value = "comma")]
    format: Format,
    /// Architecture for `#__NR_<name>` syscall numbers and errno names, and
    /// (unless --endian is given) the byte order of `[argN]`/`[ip]` words.
    /// Default: the host's (x86_64 if unknown).
    #[arg(long)]
    arch: Option<String>,
    /// Byte order of the 64-bit `seccomp_data` words; default: the
    /// architecture's.
    #[arg(long, value_enum)]
    endian: Option<ByteOrder>,
    /// Name of the static for `--format rust` (default FILTER).
    #[arg(long)]
    name: Option<String>,
    /// Write to this file (atomically) instead of standard output.
    #[arg(short, long)]
    output: Option<String>,
}

const SYNTAX_HELP: &str = "\
Input: the kernel's bpf_asm language (tools/bpf/bpf_exp.y). With --format comma
or c the output is byte-identical to the kernel tool's (default / -c).
Stricter than the kernel tool: duplicate labels, backward ja, numbers that do
not fit 32 bits, bad ldxb literals and over 4096 insns are errors.
Seccomp superset (rejected by the kernel tool, so it never changes a valid
kernel source):
  ld [nr] / [arch] / [ip] / [ip_hi] / [arg0]..[arg5] / [arg0_hi]..[arg5_hi]
  jeq #AUDIT_ARCH_X86_64, L     jeq #__NR_openat, L   (per --arch)
  ret ALLOW | KILL_PROCESS | KILL_THREAD | KILL | LOG | USER_NOTIF
  ret ERRNO(13) | ERRNO(EPERM) | TRAP(n) | TRACE(n)    (# optional)
  ld [x+4]   (no spaces needed)
  .insn CODE, JT, JF, K          (any instruction, verbatim)";

/// Parses `--arch` (or the host's, x86_64 if unknown) and `--endian`.
fn options(arch: Option<&str>, endian: Option<ByteOrder>) -> Result<AsmOptions, DynError> {
    let arch = match arch {
        Some(name) => Arch::from_name(name).ok_or_else(|| {
            let known: Vec<&str> = Arch::ALL.iter().map(|a| a.name()).collect();
            format!(
                "unknown architecture '{name}' (known: {})",
                known.join(", ")
            )
        })?,
        None => AsmOptions::DEFAULT.arch,
    };
    let mut opts = AsmOptions::for_arch(arch);
    match endian {
        Some(ByteOrder::Little) => opts.endian = Endian::Little,
        Some(ByteOrder::Big) => opts.endian = Endian::Big,
        None => {}
    }
    Ok(opts)
}

/// The program in the requested format.
fn render(prog: &[SockFilter], format: Format, name: &str) -> Result<Vec<u8>, DynError> {
    Ok(match format {
        Format::Comma => to_comma(prog).into_bytes(),
        Format::C => to_c_array(prog).into_bytes(),
        Format::Raw => to_raw(prog),
        Format::Hex => to_hex(prog).into_bytes(),
        Format::Rust => to_rust_static(name, prog)
            .map_err(|e| format!("--name '{name}': {e}"))?
            .into_bytes(),
    })
}

/// Assembles `bytes` (the contents of `file`) with `opts`; errors name the
/// file, line and column.
fn assemble_file(file: &str, bytes: &[u8], opts: &AsmOptions) -> Result<Vec<SockFilter>, DynError> {
    let shown = if file == "-" { "<stdin>" } else { file };
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let (line, column) = place(bytes, e.valid_up_to());
        format!("{shown}:{line}:{column}: the input is not UTF-8 text")
    })?;
    assemble(text, opts).map_err(|e| format!("{shown}:{e}").into())
}

/// Line and column (from 1) of byte `at` in valid UTF-8 `bytes[..at]`.
fn place(bytes: &[u8], at: usize) -> (usize, usize) {
    let head = &bytes[..at];
    let line = head.iter().filter(|&&b| b == b'\n').count() + 1;
    let start = head.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let column = String::from_utf8_lossy(&head[start..]).chars().count() + 1;
    (line, column)
}

/// Runs the command.
pub fn run(args: Args) -> Result<ExitCode, DynError> {
    if args.name.is_some() && args.format != Format::Rust {
        return Err(
            "--name names the static of --format rust; it does not apply to other formats".into(),
        );
    }
    let opts = options(args.arch.as_deref(), args.endian)?;
    let bytes = read_input(&args.file)?;
    let prog = assemble_file(&args.file, &bytes, &opts)?;
    let out = render(&prog, args.format, args.name.as_deref().unwrap_or("FILTER"))?;
    emit(args.output.as_deref(), &out)?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARP: &str = "ldh [12]\njne #0x806, drop\nret #-1\ndrop: ret #0\n";

    #[test]
    fn comma_and_c_match_the_kernel_tool() {
        let prog = assemble_file("arp.bpf", ARP.as_bytes(), &AsmOptions::DEFAULT).unwrap();
        let comma = render(&prog, Format::Comma, "F").unwrap();
        assert_eq!(
            comma,
            b"4,40 0 0 12,21 0 1 2054,6 0 0 4294967295,6 0 0 0,\n"
        );
        let c = render(&prog, Format::C, "F").unwrap();
        assert_eq!(
            String::from_utf8(c).unwrap(),
            "{ 0x28,  0,  0, 0x0000000c },\n{ 0x15,  0,  1, 0x00000806 },\n\
             { 0x06,  0,  0, 0xffffffff },\n{ 0x06,  0,  0, 0000000000 },\n"
        );
        assert_eq!(render(&prog, Format::Raw, "F").unwrap().len(), 32);
        assert_eq!(
            render(&prog, Format::Hex, "F")
                .unwrap()
                .iter()
                .filter(|&&b| b == b'\n')
                .count(),
            4
        );
        let rust = String::from_utf8(render(&prog, Format::Rust, "ARP").unwrap()).unwrap();
        assert!(
            rust.contains("pub static ARP: [bpf_asm::SockFilter; 4]"),
            "{rust}"
        );
        assert!(render(&prog, Format::Rust, "not an ident").is_err());
    }

    #[test]
    fn errors_name_file_line_and_column() {
        let e = assemble_file("f.bpf", b"ld [0]\nja nowhere\n", &AsmOptions::DEFAULT).unwrap_err();
        assert_eq!(e.to_string(), "f.bpf:2:4: no such label 'nowhere'");
        let e = assemble_file("-", b"ret #0\n\xff", &AsmOptions::DEFAULT).unwrap_err();
        assert_eq!(e.to_string(), "<stdin>:2:1: the input is not UTF-8 text");
    }

    #[test]
    fn arch_selects_syscall_numbers_and_byte_order() {
        let src = b"ld [arg0] jeq #__NR_openat, ok ret #0 ok: ret ALLOW";
        let arm = options(Some("aarch64"), None).unwrap();
        let p = assemble_file("s", src, &arm).unwrap();
        assert_eq!((p[0].k, p[1].k), (16, 56));
        let s390 = options(Some("s390x"), None).unwrap();
        assert_eq!(assemble_file("s", src, &s390).unwrap()[0].k, 20);
        let forced = options(Some("s390x"), Some(ByteOrder::Little)).unwrap();
        assert_eq!(assemble_file("s", src, &forced).unwrap()[0].k, 16);
        assert!(options(Some("vax"), None)
            .unwrap_err()
            .to_string()
            .contains("unknown architecture 'vax'"));
    }

    #[test]
    fn run_writes_the_output_file_atomically() {
        let dir = std::env::temp_dir().join(format!("xtask-asm-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let input = dir.join("arp.bpf");
        let output = dir.join("arp.out");
        std::fs::write(&input, ARP).unwrap();
        let args = Args {
            file: input.to_string_lossy().into_owned(),
            format: Format::Comma,
            arch: None,
            endian: None,
            name: None,
            output: Some(output.to_string_lossy().into_owned()),
        };
        assert_eq!(run(args).unwrap(), ExitCode::SUCCESS);
        assert_eq!(
            std::fs::read_to_string(&output).unwrap(),
            "4,40 0 0 12,21 0 1 2054,6 0 0 4294967295,6 0 0 0,\n"
        );
        let leftovers: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .collect();
        assert_eq!(leftovers.len(), 2, "temporary files left behind");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
