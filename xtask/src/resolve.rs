//! `cargo xtask resolve`: syscall names to numbers and back, per
//! architecture (like libseccomp's `scmp_sys_resolver`).
//!
//! One line per query and architecture: `ARCH NAME NUMBER` (the number in
//! decimal, whichever way the query went). A name unknown
//! on an architecture is reported with close names there (did you mean) and
//! the architectures that have it; a number no table names is reported as
//! such. Exit 0 when every query resolved on every architecture, 1
//! otherwise.

use std::process::ExitCode;

use bpf_asm::policy::eval::is_x32;
use bpf_asm::policy::load::{parse_arch, parse_number};
use bpf_asm::policy::resolve::{suggest, syscall_nr};
use bpf_asm::seccomp::X32_SYSCALL_BIT;
use bpf_asm::Arch;

use crate::DynError;

/// Flags of the command.
#[derive(clap::Args)]
pub struct Args {
    /// Syscall names (`openat`) or numbers (`257`, `0x101`, `-1`).
    #[arg(required = true, allow_negative_numbers = true)]
    queries: Vec<String>,
    /// Architecture (repeatable; `all` for every one). Default: the host's.
    #[arg(long)]
    arch: Vec<String>,
}

/// The architectures `--arch` names (`all` for every one), or the host's.
pub fn arches(names: &[String]) -> Result<Vec<Arch>, DynError> {
    if names.is_empty() {
        return Ok(vec![
            Arch::host().ok_or("the host architecture is unknown; pass --arch")?
        ]);
    }
    let mut out = Vec::new();
    for n in names {
        let more = if n.eq_ignore_ascii_case("all") {
            Arch::ALL.to_vec()
        } else {
            vec![parse_arch(n).map_err(|e| format!("--arch: {e}"))?]
        };
        for a in more {
            if !out.contains(&a) {
                out.push(a);
            }
        }
    }
    Ok(out)
}

/// What one query gives on one architecture.
#[derive(Debug, PartialEq, Eq)]
pub enum Answer {
    /// The name's number.
    Number(u32),
    /// The number's name (and the number).
    Name(&'static str, u32),
    /// Not a syscall there (the message says why and what is close).
    Missing(String),
}

/// Resolves one query (a name, or a number in decimal, `0x` hex or
/// negative) on `arch`.
pub fn answer(query: &str, arch: Arch) -> Answer {
    let q = query.trim();
    if q.starts_with(|c: char| c.is_ascii_digit() || c == '-') {
        return number(q, arch);
    }
    if let Some(nr) = syscall_nr(arch, q) {
        return Answer::Number(nr);
    }
    let mut msg = format!("unknown syscall `{q}` on {}", arch.name());
    let close = suggest(arch, q);
    if !close.is_empty() {
        msg.push_str(&format!(" (did you mean `{}`?)", close.join("`, `")));
    }
    let elsewhere: Vec<&str> = Arch::ALL
        .iter()
        .filter(|a| syscall_nr(**a, q).is_some())
        .map(|a| a.name())
        .collect();
    if !elsewhere.is_empty() {
        msg.push_str(&format!("; it exists on {}", elsewhere.join(", ")));
    }
    Answer::Missing(msg)
}

fn number(q: &str, arch: Arch) -> Answer {
    let v = match parse_number(q) {
        Ok(v) => v,
        Err(e) => return Answer::Missing(e),
    };
    let s = v as i64;
    let nr = if v <= u64::from(u32::MAX) {
        v as u32
    } else if s < 0 && s >= i64::from(i32::MIN) {
        s as i32 as u32
    } else {
        return Answer::Missing(format!(
            "{q} is not a syscall number (seccomp_data.nr is 32 bits)"
        ));
    };
    if let Some(name) = arch.syscall_name(nr) {
        return Answer::Name(name, nr);
    }
    let why = if nr == u32::MAX {
        "-1 is no syscall: a tracer sets it to skip the call".to_string()
    } else if arch == Arch::X86_64 && is_x32(nr) {
        format!(
            "{q} is an x32 call (x32 number {}); there is no x32 syscall table here to name it",
            nr & !X32_SYSCALL_BIT
        )
    } else {
        let (lo, hi) = arch.syscall_range();
        format!(
            "no syscall has number {} on {} (its table spans {lo} to {hi})",
            nr as i32,
            arch.name()
        )
    };
    Answer::Missing(why)
}

/// Runs the command.
pub fn run(args: Args) -> Result<ExitCode, DynError> {
    let arches = arches(&args.arch)?;
    let mut all_found = true;
    let width = arches.iter().map(|a| a.name().len()).max().unwrap_or(0);
    for q in &args.queries {
        for &arch in &arches {
            match answer(q, arch) {
                Answer::Number(nr) => println!("{:width$}  {}  {nr}", arch.name(), q.trim()),
                Answer::Name(name, nr) => println!("{:width$}  {name}  {nr}", arch.name()),
                Answer::Missing(why) => {
                    all_found = false;
                    eprintln!("{}: {why}", arch.name());
                }
            }
        }
    }
    Ok(if all_found {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers_round_trip_on_every_architecture() {
        for arch in Arch::ALL {
            for (nr, name) in arch.syscalls() {
                assert_eq!(answer(name, arch), Answer::Number(nr), "{arch:?} {name}");
                // The table may hold two names for one number; the number
                // gives one of them, which resolves back to it.
                match answer(&nr.to_string(), arch) {
                    Answer::Name(n, back) => {
                        assert_eq!(back, nr);
                        assert_eq!(syscall_nr(arch, n), Some(nr));
                    }
                    other => panic!("{arch:?} {nr}: {other:?}"),
                }
                assert_eq!(
                    answer(&format!("{nr:#x}"), arch),
                    answer(&nr.to_string(), arch)
                );
            }
        }
    }

    #[test]
    fn unknown_names_say_what_is_close_and_where_they_exist() {
        let Answer::Missing(m) = answer("opnat", Arch::X86_64) else {
            panic!()
        };
        assert!(m.contains("did you mean `openat`"), "{m}");
        let Answer::Missing(m) = answer("open", Arch::Aarch64) else {
            panic!()
        };
        assert!(m.contains("unknown syscall `open` on aarch64"), "{m}");
        assert!(m.contains("it exists on x86_64"), "{m}");
        // The aliases the policy resolver knows.
        assert_eq!(
            answer("newfstatat", Arch::Aarch64),
            Answer::Number(Arch::Aarch64.syscall_nr("fstatat").unwrap())
        );
    }

    #[test]
    fn numbers_without_a_name_say_why() {
        for (q, arch, words) in [
            ("-1", Arch::X86_64, "a tracer sets it"),
            ("0x40000208", Arch::X86_64, "x32 number 520"),
            (
                "5000",
                Arch::Aarch64,
                "no syscall has number 5000 on aarch64",
            ),
            ("0x100000000", Arch::X86_64, "not a syscall number"),
            ("12zz", Arch::X86_64, "not a number"),
        ] {
            match answer(q, arch) {
                Answer::Missing(m) => assert!(m.contains(words), "{q}: {m}"),
                other => panic!("{q}: {other:?}"),
            }
        }
        // i386 0x89 is afs_syscall, not x86_64's statfs (the annotation bug
        // of issue 13 in resolver form).
        assert_eq!(answer("0x89", Arch::X86), Answer::Name("afs_syscall", 0x89));
        assert_eq!(answer("0x89", Arch::X86_64), Answer::Name("statfs", 0x89));
    }

    #[test]
    fn arch_flags() {
        assert_eq!(arches(&["all".into()]).unwrap().len(), Arch::ALL.len());
        assert_eq!(
            arches(&["i386".into(), "x86".into(), "arm64".into()]).unwrap(),
            vec![Arch::X86, Arch::Aarch64]
        );
        assert!(arches(&["vax".into()])
            .unwrap_err()
            .to_string()
            .contains("--arch: unknown architecture `vax`"));
    }
}
