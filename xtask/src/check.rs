//! `cargo xtask check PROG`: would the kernel accept this program?
//!
//! Prints `ok: N instructions` and exits 0 when the kernel's checks
//! (`bpf_check_classic`, plus `seccomp_check_filter` unless `--classic`)
//! accept the program; otherwise prints
//! `error: PROG: insn I: <rule> (kernel: EINVAL)` and exits 1. With
//! `--format json` the same verdict is one JSON document (see `report`).

use std::fmt::Write as _;
use std::process::ExitCode;

use bpf_asm::disasm::write_insn;
use bpf_asm::SockFilter;
use bpf_vm::budget::{ebpf_len, max_stack_depth};
use bpf_vm::cache::{cache_bitmap, has_cache};
use bpf_vm::{verify, Mode, VerifyError};

use crate::io::{load_program, shown, InputFormat};
use crate::report::{self, ReportFormat};
use crate::DynError;

/// Flags of the command.
#[derive(clap::Args)]
pub struct Args {
    /// The program file (`-` for standard input).
    pub prog: String,
    /// How the file is written (default: from the file extension).
    #[arg(long, value_enum)]
    pub input: Option<InputFormat>,
    /// Check as a socket filter (`SO_ATTACH_FILTER`): `bpf_check_classic`
    /// only, without the seccomp restrictions.
    #[arg(long)]
    pub classic: bool,
    /// Also print the eBPF length the kernel charges against the stacked
    /// filter budget, and how many copies of the filter could stack.
    #[arg(long, short)]
    pub verbose: bool,
    /// Report, for this architecture (repeatable; `x86` gives the x86_64
    /// compat bitmap), which syscalls the kernel's constant-action cache lets
    /// through without running any filter of the stack.
    #[arg(long = "cache", value_name = "ARCH")]
    pub cache: Vec<String>,
    /// Filters installed before PROG (repeatable, oldest first), for the
    /// `--cache` report of the whole stack.
    #[arg(long = "stack", value_name = "PROG")]
    pub stack: Vec<String>,
    /// How the verdict is printed: text, or one JSON document.
    #[arg(long, value_enum, default_value_t)]
    pub format: ReportFormat,
}

/// Runs the command.
pub fn run(args: Args) -> Result<ExitCode, DynError> {
    applicable(&args)?;
    let prog = load_program(&args.prog, args.input)?;
    let mode = if args.classic {
        Mode::Classic
    } else {
        Mode::Seccomp
    };
    let verdict = verify(&prog, mode);
    let budget = match (&verdict, args.verbose && mode == Mode::Seccomp) {
        (Ok(()), true) => [("plain", false), ("blinded", true)]
            .map(|(what, blinded)| {
                let l = ebpf_len(&prog, blinded);
                (what, l, max_stack_depth(&[], l))
            })
            .to_vec(),
        _ => Vec::new(),
    };
    let cache = match verdict {
        Ok(()) => cache_report(&args, &prog)?,
        Err(_) => Vec::new(),
    };
    let code = if verdict.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    };
    match args.format {
        ReportFormat::Text => match verdict {
            Ok(()) => {
                println!("ok: {} instructions", prog.len());
                for (what, l, depth) in &budget {
                    println!("eBPF length ({what}): {l}; at most {depth} such filters can stack");
                }
                for c in &cache {
                    println!("{}", c.line());
                }
            }
            Err(e) => {
                eprintln!("error: {}: {e}", shown(&args.prog));
                if let Some(context) = describe_insn(&prog, &e) {
                    eprintln!("  {context}");
                }
            }
        },
        ReportFormat::Json => {
            let mut doc = report::document("check");
            doc.insert("program".into(), shown(&args.prog).into());
            doc.insert(
                "mode".into(),
                if args.classic { "classic" } else { "seccomp" }.into(),
            );
            doc.insert("instructions".into(), prog.len().into());
            doc.insert("accepted".into(), verdict.is_ok().into());
            let error = match verdict {
                Ok(()) => serde_json::Value::Null,
                Err(e) => serde_json::json!({
                    "index": e.index,
                    "rule": format!("{:?}", e.rule),
                    "message": e.rule.to_string(),
                    "errno": e.errno.name(),
                    "instruction": insn_text(&prog, &e),
                }),
            };
            doc.insert("error".into(), error);
            let budget: Vec<serde_json::Value> = budget
                .iter()
                .map(|(what, l, depth)| {
                    serde_json::json!({"form": what, "ebpf_len": l, "max_stack_depth": depth})
                })
                .collect();
            doc.insert("budget".into(), budget.into());
            let cache: Vec<serde_json::Value> = cache.iter().map(CacheLine::json).collect();
            doc.insert("cache".into(), cache.into());
            report::print(doc);
        }
    }
    Ok(code)
}

/// Refuses flags that would have no effect with the others given.
fn applicable(args: &Args) -> Result<(), DynError> {
    if !args.stack.is_empty() && args.cache.is_empty() {
        return Err("--stack only feeds the --cache report of the whole stack; pass --cache ARCH (the verdict on PROG does not depend on older filters)".into());
    }
    if args.classic {
        if !args.cache.is_empty() {
            return Err("--cache does not apply with --classic: socket filters have no seccomp action cache".into());
        }
        if args.verbose {
            return Err("--verbose reports the stacked seccomp filter budget; it does not apply with --classic".into());
        }
    }
    Ok(())
}

/// The `--cache` report of one architecture.
struct CacheLine {
    arch: bpf_asm::Arch,
    /// `None` when the kernel has no action cache for the architecture.
    skipped: Option<Vec<u32>>,
}

impl CacheLine {
    fn name(&self, nr: u32) -> String {
        match self.arch.syscall_name(nr) {
            Some(n) => n.to_string(),
            None => nr.to_string(),
        }
    }

    /// The text line.
    fn line(&self) -> String {
        let Some(set) = &self.skipped else {
            return format!(
                "cache: {}: the kernel has no action cache for this architecture",
                self.arch.name()
            );
        };
        let names: Vec<String> = set.iter().map(|&nr| self.name(nr)).collect();
        let (first, last) = self.arch.syscall_range();
        format!(
            "cache: {}: {} of the {} numbers {first}..={last} skip the filters: {}",
            self.arch.name(),
            names.len(),
            last - first + 1,
            names.join(" ")
        )
    }

    /// The JSON object.
    fn json(&self) -> serde_json::Value {
        let (first, last) = self.arch.syscall_range();
        let skipped = self.skipped.as_ref().map(|set| {
            set.iter()
                .map(|&nr| serde_json::json!({"nr": nr, "name": self.arch.syscall_name(nr)}))
                .collect::<Vec<_>>()
        });
        serde_json::json!({
            "arch": self.arch.name(),
            "has_cache": self.skipped.is_some(),
            "range": [first, last],
            "skipped": skipped,
        })
    }
}

/// The `--cache` report: per architecture, the syscalls that the kernel's
/// action cache allows without running the filters.
fn cache_report(args: &Args, prog: &[SockFilter]) -> Result<Vec<CacheLine>, DynError> {
    let mut out = Vec::new();
    let mut older = Vec::new();
    for path in &args.stack {
        let p = load_program(path, args.input)?;
        verify(&p, Mode::Seccomp).map_err(|e| format!("{}: {e}", shown(path)))?;
        older.push(p);
    }
    let mut stack: Vec<&[SockFilter]> = older.iter().map(Vec::as_slice).collect();
    stack.push(prog);
    for name in &args.cache {
        let arch = bpf_asm::Arch::from_name(name)
            .ok_or_else(|| format!("--cache {name}: unknown architecture"))?;
        let skipped = has_cache(arch).then(|| cache_bitmap(&stack, arch).iter().collect());
        out.push(CacheLine { arch, skipped });
    }
    Ok(out)
}

/// The faulty instruction as `bpf_asm` text.
fn insn_text(prog: &[SockFilter], e: &VerifyError) -> Option<String> {
    let i = e.index?;
    let mut text = String::new();
    write_insn(*prog.get(i)?, i, prog.len(), &mut text).ok()?;
    Some(text)
}

/// The faulty instruction as text and as raw fields, for the error report.
fn describe_insn(prog: &[SockFilter], e: &VerifyError) -> Option<String> {
    let i = e.index?;
    let f = *prog.get(i)?;
    let text = insn_text(prog, e)?;
    let mut out = String::new();
    write!(
        out,
        "insn {i} is `{text}` (code {:#06x}, jt {}, jf {}, k {:#x})",
        f.code, f.jt, f.jf, f.k
    )
    .ok()?;
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_file(name: &str, text: &str) -> String {
        let dir = std::env::temp_dir().join(format!("xtask-check-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path.to_string_lossy().into_owned()
    }

    fn check(name: &str, text: &str, classic: bool) -> ExitCode {
        let args = Args {
            prog: temp_file(name, text),
            input: None,
            classic,
            verbose: !classic,
            cache: vec![],
            stack: vec![],
            format: ReportFormat::Text,
        };
        run(args).unwrap()
    }

    #[test]
    fn accepted_and_rejected_programs_set_the_exit_code() {
        let ok = "4,32 0 0 4,21 1 0 3221225534,6 0 0 0,6 0 0 2147418112,\n";
        assert_eq!(check("ok.txt", ok, false), ExitCode::SUCCESS);
        let ldh = "2,40 0 0 0,6 0 0 0,\n";
        assert_eq!(check("ldh.txt", ldh, false), ExitCode::from(1));
        assert_eq!(check("ldh2.txt", ldh, true), ExitCode::SUCCESS);
        let quirk = "jeq #0xffffffff, l1, l3\nl1: st M[0]\nja l4\nl3: ret #0x7fff0000\n\
                     l4: ld M[0]\nret #0x7fff0000\n";
        assert_eq!(check("quirk.s", quirk, false), ExitCode::from(1));
    }

    #[test]
    fn unreadable_input_is_an_error_not_a_verdict() {
        let args = Args {
            prog: "/nonexistent/prog.bpf".into(),
            input: Some(InputFormat::Raw),
            classic: false,
            verbose: false,
            cache: vec![],
            stack: vec![],
            format: ReportFormat::Text,
        };
        assert!(run(args).is_err());
    }

    #[test]
    fn flags_that_do_not_apply_are_refused() {
        let base = || Args {
            prog: "/nonexistent/prog.bpf".into(),
            input: None,
            classic: false,
            verbose: false,
            cache: vec![],
            stack: vec![],
            format: ReportFormat::Text,
        };
        let e = |a: Args| run(a).unwrap_err().to_string();
        let mut a = base();
        a.stack = vec!["older.bpf".into()];
        assert!(e(a).contains("--stack only feeds the --cache"));
        let mut a = base();
        a.classic = true;
        a.cache = vec!["x86_64".into()];
        assert!(e(a).contains("--cache does not apply with --classic"));
        let mut a = base();
        a.classic = true;
        a.verbose = true;
        assert!(e(a).contains("--verbose"));
    }

    #[test]
    fn the_report_shows_the_faulty_instruction() {
        let prog = [
            SockFilter::stmt(0x20, 0),
            SockFilter::stmt(0x34, 0),
            SockFilter::stmt(0x16, 0),
        ];
        let e = verify(&prog, Mode::Seccomp).unwrap_err();
        assert_eq!(
            e.to_string(),
            "insn 1: division or remainder by the constant zero (kernel: EINVAL)"
        );
        assert_eq!(
            describe_insn(&prog, &e).unwrap(),
            "insn 1 is `div #0` (code 0x0034, jt 0, jf 0, k 0x0)"
        );
        let e = verify(&[], Mode::Seccomp).unwrap_err();
        assert_eq!(describe_insn(&[], &e), None);
    }

    #[test]
    fn cache_report_lists_what_the_whole_stack_lets_through() {
        // Newest filter: getpid gets ERRNO; older filter: getppid loads an
        // argument, so it can never be cached either.
        let newest = temp_file(
            "newest.s",
            "ld [0]\njeq #39, deny\nret #0x7fff0000\ndeny: ret #0x50001\n",
        );
        let older = temp_file(
            "older.s",
            "ld [0]\njeq #110, args\nret #0x7fff0000\nargs: ld [16]\nret #0x7fff0000\n",
        );
        let args = Args {
            prog: newest.clone(),
            input: None,
            classic: false,
            verbose: false,
            cache: vec!["x86_64".into(), "mips".into()],
            stack: vec![older],
            format: ReportFormat::Text,
        };
        let prog = load_program(&newest, None).unwrap();
        let lines: Vec<String> = cache_report(&args, &prog)
            .unwrap()
            .iter()
            .map(CacheLine::line)
            .collect();
        let listed: Vec<&str> = lines[0].split(": ").nth(3).unwrap().split(' ').collect();
        assert!(listed.contains(&"read"), "{}", lines[0]);
        assert!(!listed.contains(&"getpid"), "{}", lines[0]);
        assert!(!listed.contains(&"getppid"), "{}", lines[0]);
        assert!(lines[1].contains("no action cache"), "{}", lines[1]);
    }
}
