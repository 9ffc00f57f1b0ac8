//! `cargo xtask emu PROG`: run a seccomp filter on one system call, or on a
//! file of cases, with the kernel's exact semantics.
//!
//! Output (a stable contract):
//!
//! * one call: two lines, `ACTION 0xRET` (for example
//!   `ERRNO(1) 0x00050001`; ACTION is what the kernel does: `ALLOW`, `LOG`,
//!   `KILL_PROCESS`, `KILL_THREAD`, `USER_NOTIF`, `TRAP(n)`, `ERRNO(n)` with
//!   n capped at 4095, `TRACE(n)`; unknown action values print
//!   `KILL_PROCESS`) then `steps N` (instructions executed, counting the
//!   final `ret`). With `--trace`, one line per executed instruction comes
//!   first: `PC A=0xAAAAAAAA X=0xXXXXXXXX  INSTRUCTION` (registers before
//!   the instruction).
//! * `--cases FILE`: one line per case, `0xRET STEPS` (`0x%08x` of the raw
//!   return value, a space, the instruction count).
//! * `--cases FILE --bench N`: a single line `ns/eval X`.

use std::fmt::Write as _;
use std::process::ExitCode;
use std::time::Instant;

use bpf_asm::disasm::write_insn;
use bpf_asm::policy::load::parse_number;
use bpf_asm::policy::resolve::syscall_nr;
use bpf_asm::seccomp::__AUDIT_ARCH_LE;
use bpf_asm::{Arch, Endian, SockFilter};
use bpf_vm::action::KernelAction;
use bpf_vm::data::SeccompData;
use bpf_vm::emu::{self, Prepared};

use crate::io::{load_program, read_input, InputFormat};
use crate::DynError;

/// Flags of the command.
#[derive(clap::Args)]
#[command(after_help = "\
Output of one call: `ACTION 0xRET` (e.g. `ERRNO(1) 0x00050001`), then `steps N` \
(instructions executed, counting the final ret). --trace first prints \
`PC A=0x........ X=0x........  INSN` per executed instruction (registers before it).

--cases FILE: each non-empty line is `ARCH NR IP A0 A1 A2 A3 A4 A5` (ARCH a name \
such as x86_64 or an AUDIT_ARCH number; numbers as in policies: decimal, 0x hex, \
0o octal, 0b binary, negative values sign-extended; NR may be a syscall name; lines starting with # are comments). Output: one line \
per case, `0x%08x STEPS` of the raw return value. A bad line prints \
`error: FILE:LINE: why` and exits 1. --bench N prints `ns/eval X` instead, the \
mean time of one evaluation on the prepared program over N passes (parsing excluded).

The byte order of seccomp_data comes from the architecture (big-endian for \
s390x, ppc64, mips, ...).")]
pub struct Args {
    /// The program file (`-` for standard input).
    pub prog: String,
    /// How the file is written (default: from the file extension).
    #[arg(long, value_enum)]
    pub input: Option<InputFormat>,
    /// Architecture: a name (x86_64, aarch64, i386, ...) or an
    /// `AUDIT_ARCH_*` number (default: the host).
    #[arg(long)]
    pub arch: Option<String>,
    /// System call: a name on the architecture or a number (as for --args,
    /// within 32 bits).
    #[arg(long, allow_hyphen_values = true, required_unless_present = "cases")]
    pub nr: Option<String>,
    /// Up to six arguments, comma-separated, written as in policies
    /// (decimal, 0x hex, 0o octal, 0b binary; negative values such as
    /// `-100` are sign-extended to 64 bits); missing ones are 0.
    #[arg(long, value_delimiter = ',', allow_hyphen_values = true)]
    pub args: Vec<String>,
    /// The instruction pointer (a number as for --args).
    #[arg(long, allow_hyphen_values = true)]
    pub ip: Option<String>,
    /// Print every executed instruction with the registers.
    #[arg(long, conflicts_with = "cases")]
    pub trace: bool,
    /// Run every case of this file instead of one call.
    #[arg(long, conflicts_with_all = ["nr", "args", "ip", "arch"])]
    pub cases: Option<String>,
    /// With --cases: time N passes over all cases and print `ns/eval X`.
    #[arg(long, requires = "cases", value_name = "N")]
    pub bench: Option<u64>,
}

/// Runs the command.
pub fn run(args: Args) -> Result<ExitCode, DynError> {
    let prog = load_program(&args.prog, args.input)?;
    let name = if args.prog == "-" {
        "<stdin>"
    } else {
        args.prog.as_str()
    };
    let prepared = Prepared::new(&prog).map_err(|e| format!("{name}: {e}"))?;
    match &args.cases {
        Some(file) => run_cases(&prepared, file, args.bench),
        None => run_one(&prog, name, &args),
    }
}

/// The `seccomp_data.arch` value and byte order of an `--arch` value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct ArchSpec {
    audit: u32,
    endian: Endian,
    known: Option<Arch>,
}

fn parse_arch(s: &str) -> Result<ArchSpec, String> {
    if let Some(a) = Arch::from_name(s) {
        return Ok(ArchSpec {
            audit: a.audit_arch(),
            endian: a.endian(),
            known: Some(a),
        });
    }
    let n = parse_number(s).map_err(|_| {
        let known: Vec<&str> = Arch::ALL.iter().map(|a| a.name()).collect();
        format!(
            "unknown architecture `{s}` (known: {}; or an AUDIT_ARCH_* number)",
            known.join(", ")
        )
    })?;
    let audit = u32::try_from(n)
        .map_err(|_| format!("architecture number `{s}` does not fit in 32 bits"))?;
    let known = Arch::from_audit(audit);
    let endian = match known {
        Some(a) => a.endian(),
        None if audit & __AUDIT_ARCH_LE != 0 => Endian::Little,
        None => Endian::Big,
    };
    Ok(ArchSpec {
        audit,
        endian,
        known,
    })
}

fn host_arch() -> Result<ArchSpec, String> {
    let a = Arch::host().ok_or("the host architecture is unknown; pass --arch")?;
    Ok(ArchSpec {
        audit: a.audit_arch(),
        endian: a.endian(),
        known: Some(a),
    })
}

/// A system call number: a name on the architecture (with the aliases
/// policies accept), or a number that fits the 32-bit `seccomp_data.nr`
/// (negative values and values up to 0xffffffff both allowed).
fn parse_nr(s: &str, arch: &ArchSpec) -> Result<i32, String> {
    let t = s.trim();
    if t.starts_with(|c: char| c.is_ascii_digit() || c == '-') {
        let v = parse_number(t)? as i64;
        return if (i64::from(i32::MIN)..=i64::from(u32::MAX)).contains(&v) {
            Ok(v as i32)
        } else {
            Err(format!(
                "syscall number `{t}` does not fit the 32-bit seccomp_data.nr (-2147483648..=0xffffffff)"
            ))
        };
    }
    let a = arch
        .known
        .ok_or_else(|| format!("cannot look up syscall `{t}` on an unknown architecture number"))?;
    syscall_nr(a, t)
        .map(|n| n as i32)
        .ok_or_else(|| format!("no syscall named `{t}` on {}", a.name()))
}

fn run_one(prog: &[SockFilter], name: &str, args: &Args) -> Result<ExitCode, DynError> {
    let arch = match &args.arch {
        Some(a) => parse_arch(a).map_err(|e| format!("--arch: {e}"))?,
        None => host_arch()?,
    };
    let nr = parse_nr(args.nr.as_deref().unwrap_or_default(), &arch)
        .map_err(|e| format!("--nr: {e}"))?;
    if args.args.len() > 6 {
        return Err(format!("--args: {} values given, at most 6", args.args.len()).into());
    }
    let mut a = [0u64; 6];
    for (slot, s) in a.iter_mut().zip(&args.args) {
        *slot = parse_number(s.trim()).map_err(|e| format!("--args: {e}"))?;
    }
    let ip = match &args.ip {
        Some(s) => parse_number(s).map_err(|e| format!("--ip: {e}"))?,
        None => 0,
    };
    let data = SeccompData::new(nr, arch.audit).with_args(a).with_ip(ip);
    let mut out = String::new();
    let outcome = if args.trace {
        let r = emu::run_traced(prog, &data, arch.endian, |t| {
            let _ = write!(out, "{:4} A=0x{:08x} X=0x{:08x}  ", t.pc, t.a, t.x);
            let _ = write_insn(t.insn, t.pc, prog.len(), &mut out);
            out.push('\n');
        });
        r.map_err(|e| format!("{name}: {e}"))?
    } else {
        emu::run(prog, &data, arch.endian).map_err(|e| format!("{name}: {e}"))?
    };
    let _ = writeln!(
        out,
        "{} 0x{:08x}",
        KernelAction::from_ret(outcome.ret),
        outcome.ret
    );
    let _ = writeln!(out, "steps {}", outcome.steps);
    print!("{out}");
    Ok(ExitCode::SUCCESS)
}

/// Parses one case line `ARCH NR IP A0 A1 A2 A3 A4 A5`.
fn parse_case(line: &str) -> Result<(SeccompData, Endian), String> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    if fields.len() != 9 {
        return Err(format!(
            "expected 9 fields `ARCH NR IP A0 A1 A2 A3 A4 A5`, found {}",
            fields.len()
        ));
    }
    let arch = parse_arch(fields[0])?;
    let nr = parse_nr(fields[1], &arch).map_err(|e| format!("NR: {e}"))?;
    let ip = parse_number(fields[2]).map_err(|e| format!("IP: {e}"))?;
    let mut a = [0u64; 6];
    for (i, (slot, s)) in a.iter_mut().zip(&fields[3..]).enumerate() {
        *slot = parse_number(s).map_err(|e| format!("A{i}: {e}"))?;
    }
    Ok((
        SeccompData::new(nr, arch.audit).with_args(a).with_ip(ip),
        arch.endian,
    ))
}

fn run_cases(prepared: &Prepared, file: &str, bench: Option<u64>) -> Result<ExitCode, DynError> {
    let text = read_input(file)?;
    let text = String::from_utf8(text).map_err(|e| format!("{file}: not UTF-8 text: {e}"))?;
    let shown = if file == "-" { "<stdin>" } else { file };
    let mut cases = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let case = parse_case(line).map_err(|why| format!("{shown}:{}: {why}", i + 1))?;
        cases.push(case);
    }
    match bench {
        None => {
            let mut out = String::with_capacity(cases.len() * 16);
            for (d, e) in &cases {
                let o = prepared.run(d, *e);
                let _ = writeln!(out, "0x{:08x} {}", o.ret, o.steps);
            }
            print!("{out}");
        }
        Some(n) => {
            if cases.is_empty() {
                return Err(format!("{shown}: no cases to time").into());
            }
            let words: Vec<[u32; 16]> = cases.iter().map(|(d, e)| d.words(*e)).collect();
            let start = Instant::now();
            let mut acc = 0u32;
            for _ in 0..n {
                for w in &words {
                    acc = acc.wrapping_add(prepared.run_words(std::hint::black_box(w)).ret);
                }
            }
            let elapsed = start.elapsed();
            std::hint::black_box(acc);
            let evals = (n as f64) * cases.len() as f64;
            let ns = if evals > 0.0 {
                elapsed.as_nanos() as f64 / evals
            } else {
                0.0
            };
            println!("ns/eval {ns:.1}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_syscalls_parse() {
        let x86 = parse_arch("x86_64").unwrap();
        assert_eq!(x86.audit, 0xc000_003e);
        assert_eq!(parse_arch("0xc000003e").unwrap(), x86);
        assert_eq!(parse_arch("s390x").unwrap().endian, Endian::Big);
        let unknown = parse_arch("0x4000beef").unwrap();
        assert_eq!((unknown.endian, unknown.known), (Endian::Little, None));
        assert!(parse_arch("vax").is_err());
        assert_eq!(parse_nr("read", &x86), Ok(0));
        assert_eq!(parse_nr("-1", &x86), Ok(-1));
        assert_eq!(parse_nr("0x40000000", &x86), Ok(0x4000_0000));
        assert_eq!(parse_nr("0xffffffff", &x86), Ok(-1));
        assert_eq!(parse_nr("-2147483648", &x86), Ok(i32::MIN));
        assert!(parse_nr("-2147483649", &x86).is_err());
        assert!(parse_nr("0x100000000", &x86).is_err());
        assert!(parse_nr("nope", &x86).is_err());
        assert_eq!(parse_nr("-0x1", &x86), Ok(-1));
        assert_eq!(parse_nr("0b11", &x86), Ok(3));
        assert_eq!(parse_nr(" 0x10 ", &x86), Ok(16));
        assert!(parse_nr("read", &unknown).is_err());
    }

    #[test]
    fn case_lines_parse_or_say_why() {
        let (d, e) = parse_case("x86_64 open 0x1000 1 2 3 4 5 0xffffffffffffffff").unwrap();
        assert_eq!(e, Endian::Little);
        assert_eq!(d.nr, 2);
        assert_eq!(d.instruction_pointer, 0x1000);
        assert_eq!(d.args, [1, 2, 3, 4, 5, u64::MAX]);
        let (d, e) = parse_case("0x80000016 -5 0 0 0 0 0 0 0").unwrap();
        assert_eq!((d.nr, d.arch, e), (-5, 0x8000_0016, Endian::Big));
        assert!(parse_case("x86_64 1 0 0 0")
            .unwrap_err()
            .contains("9 fields"));
        let (d, _) = parse_case("x86_64 openat -1 -100 0x80000 0o644 0b1 0 0").unwrap();
        assert_eq!(d.instruction_pointer, u64::MAX);
        assert_eq!(d.args[..4], [(-100i64) as u64, 0x80000, 0o644, 1]);
        assert!(parse_case("x86_64 1 0 0 0 0 0 0 zz")
            .unwrap_err()
            .contains("A5"));
    }
}
