//! `cargo xtask bench-peers [--quick] [--arch ARCH]... [--profile FILE]...`:
//! our policy compiler side by side with libseccomp and seccompiler on real
//! OCI/Docker profiles.
//!
//! Each profile is loaded the way Docker hands it to runc on x86_64
//! (Docker's default capabilities, the running kernel's version for
//! `minKernel`), for the architectures given with `--arch` (default x86_64
//! and i386; x32 calls are refused as a bad architecture by every side).
//! libseccomp's filter is built for exactly the same architectures. Names the installed libseccomp does not know
//! are dropped from our policy too, as runc drops them, so the decisions are
//! comparable. Then it is compiled by:
//!
//! * us, in every layout (`auto` says which one it picked);
//! * libseccomp (`libseccomp.so.2`, opened at run time) at
//!   `SCMP_FLTATR_CTL_OPTIMIZE` 1 (linear) and 2 (binary tree), with the
//!   rules runc adds;
//! * the `seccompiler` crate, when the profile fits its model (one match
//!   action, one architecture; see `peers::seccompiler`).
//!
//! For each program the table gives its size, the instructions executed
//! (on x86_64: mean and maximum over syscall numbers 0–1023 and the x32
//! range 0x40000000–0x400003ff, and mean over the defined syscalls; on
//! i386: mean over the defined syscalls; five argument sets each), how many syscalls the kernel's action cache allows without
//! running the filter (`bpf_vm::cache`), the compile time (median), and the
//! number of calls on which its decision differs from our `auto` program
//! (on x86_64 and i386 numbers, -1, a foreign architecture, and arguments at
//! and around every constant of the profile). Our own programs are also
//! checked against the reference semantics (`evaluate`).
//!
//! `--quick` checks decisions only (one profile, fewer inputs, one timing
//! run) and exits 1 when libseccomp, if installed, decides differently.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use bpf_asm::policy::compile::{compile_resolved, CompileOptions, Layout};
use bpf_asm::policy::eval::evaluate;
use bpf_asm::policy::load::oci::{running_kernel, DOCKER_DEFAULT_CAPS};
use bpf_asm::policy::load::{load_file, LoadOptions, OciOptions};
use bpf_asm::policy::resolve::{resolve, ArchRules, Resolved};
use bpf_asm::policy::{Action, Policy};
use bpf_asm::seccomp::{AUDIT_ARCH_AARCH64, AUDIT_ARCH_I386, AUDIT_ARCH_X86_64, X32_SYSCALL_BIT};
use bpf_asm::{Arch, Endian, SockFilter};
use bpf_vm::cache::{cache_bitmap, uprobe_exception};
use bpf_vm::data::SeccompData;
use bpf_vm::emu::Prepared;
use bpf_vm::verify::{verify, Mode};

use peers::docker::{file_rules, Load};
use peers::{Libseccomp, Names};
use testkit::Rng;

use crate::DynError;

/// Flags of the command.
#[derive(clap::Args)]
pub struct Args {
    /// A fast correctness pass (one profile, fewer inputs, no timing
    /// repeats) that exits 1 when libseccomp decides differently from us.
    #[arg(long)]
    pub quick: bool,
    /// An OCI/Docker JSON profile (repeatable; default: the Docker, Podman
    /// and Flatpak profiles of the shared corpus).
    #[arg(long = "profile", value_name = "FILE")]
    pub profiles: Vec<PathBuf>,
    /// An architecture to load the profiles for and build every filter
    /// for: `x86_64` or `x86` (also `i386`); repeatable; default: both.
    #[arg(long = "arch", value_name = "ARCH", value_parser = parse_arch)]
    pub arches: Vec<Arch>,
}

/// The architectures this command can compare (its step inputs and the
/// libseccomp rules are those of an x86_64 host).
const SUPPORTED_ARCHES: [Arch; 2] = [Arch::X86_64, Arch::X86];

/// Parses an `--arch` value: one of [`SUPPORTED_ARCHES`], by any name
/// [`Arch::from_name`] knows.
fn parse_arch(name: &str) -> Result<Arch, String> {
    match Arch::from_name(name) {
        Some(a) if SUPPORTED_ARCHES.contains(&a) => Ok(a),
        Some(a) => Err(format!(
            "bench-peers compares x86_64 and x86 (i386) filters only, not {}",
            a.name()
        )),
        None => Err(format!(
            "unknown architecture `{name}` (expected x86_64 or x86)"
        )),
    }
}

/// The architectures to compare: those given, in [`SUPPORTED_ARCHES`]
/// order without repeats, or all of them when none is given.
fn chosen_arches(given: &[Arch]) -> Vec<Arch> {
    if given.is_empty() {
        return SUPPORTED_ARCHES.to_vec();
    }
    SUPPORTED_ARCHES
        .into_iter()
        .filter(|a| given.contains(a))
        .collect()
}

/// What people call an architecture in the tables (`i386` for x86, as the
/// kernel's `AUDIT_ARCH_I386`).
fn arch_label(arch: Arch) -> &'static str {
    match arch {
        Arch::X86 => "i386",
        other => other.name(),
    }
}

/// The corpus profiles compared by default.
const DEFAULT_PROFILES: [&str; 3] = [
    "docker/default.json",
    "podman/seccomp.json",
    "flatpak/flatpak-docker-seccomp.json",
];

/// One call: `(audit_arch, nr, args)`.
type Call = (u32, u32, [u64; 6]);

/// Which calls a peer's decisions are compared on.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Domain {
    /// Every call.
    All,
    /// x86_64 calls without the x32 bit (seccompiler filters one
    /// architecture and has no x32 check).
    X86_64Only,
}

/// One compiler's result on one profile.
struct Row {
    name: String,
    result: Result<Vec<SockFilter>, String>,
    compile: Option<Duration>,
    domain: Domain,
}

/// The measured columns of a row for one architecture.
struct ArchMeasured {
    /// Mean steps over numbers 0–1023 and the x32 range (x86_64 only).
    mean_range: Option<f64>,
    /// Maximum steps over the same calls (x86_64 only).
    max_range: Option<usize>,
    /// Mean steps over the defined syscalls.
    mean_defined: f64,
    /// Syscalls the action cache allows without running the filter.
    cache: usize,
}

/// The measured columns of a row.
struct Measured {
    insns: usize,
    /// One entry per chosen architecture, in the same order.
    arches: Vec<ArchMeasured>,
    mismatches: usize,
    compared: usize,
}

/// The step inputs of one architecture.
struct ArchSteps {
    arch: Arch,
    /// Numbers 0..=1023 and the x32 range (x86_64 only; else empty), with
    /// the argument sets.
    range: Vec<Call>,
    /// The defined syscalls (`Arch::syscalls`), with the argument sets.
    defined: Vec<Call>,
}

/// The inputs of one profile.
struct Inputs {
    /// One entry per chosen architecture.
    steps: Vec<ArchSteps>,
    /// Everything the decisions are compared on (the same whatever the
    /// architectures chosen: a filter refuses the others).
    decisions: Vec<Call>,
}

/// Argument values the profiles test (flags, families, personas) and edges.
const INTERESTING: [u64; 14] = [
    0,
    1,
    2,
    8,
    16,
    40,
    0x20008,
    0x2_0000,
    0x1000_0000,
    0x7e02_0000,
    0xffff_ffff,
    0x1_0000_0000,
    0x1_0000_0008,
    u64::MAX,
];

/// Five argument sets: all zero, then four drawn from [`INTERESTING`] and
/// random values (fixed seed).
fn arg_sets(n: usize) -> Vec<[u64; 6]> {
    let mut rng = Rng::new(0x5ecc_0bad);
    let mut sets = vec![[0u64; 6]];
    while sets.len() < n {
        let mut args = [0u64; 6];
        for a in &mut args {
            let r = rng.next_u64();
            *a = if r.is_multiple_of(3) {
                r
            } else {
                INTERESTING[(r >> 8) as usize % INTERESTING.len()]
            };
        }
        sets.push(args);
    }
    sets
}

/// Calls at and around every condition constant of `resolved`, for the
/// syscalls that have conditions.
fn constant_calls(resolved: &Resolved) -> Vec<Call> {
    let mut calls = Vec::new();
    for rules in &resolved.arches {
        let audit = rules.arch.audit_arch();
        for r in &rules.rules {
            for c in &r.conditions {
                let vs = [
                    c.value,
                    c.value.wrapping_add(1),
                    c.value.wrapping_sub(1),
                    !c.value,
                ]
                .into_iter()
                .chain(c.mask.into_iter().flat_map(|m| [m, m & c.value, !m]));
                for v in vs {
                    for &nr in &r.nrs {
                        let mut args = [0u64; 6];
                        for o in &r.conditions {
                            args[usize::from(o.arg).min(5)] = o.value;
                        }
                        args[usize::from(c.arg).min(5)] = v;
                        calls.push((audit, nr, args));
                    }
                }
            }
        }
    }
    calls
}

/// Each of `nrs` under `arch` with each argument set.
fn calls(arch: Arch, nrs: impl IntoIterator<Item = u32>, sets: &[[u64; 6]]) -> Vec<Call> {
    let audit = arch.audit_arch();
    nrs.into_iter()
        .flat_map(|nr| sets.iter().map(move |a| (audit, nr, *a)))
        .collect()
}

fn inputs(resolved: &Resolved, arches: &[Arch], quick: bool) -> Inputs {
    let sets = arg_sets(if quick { 2 } else { 5 });
    let x32_end = if quick { 0x4000_0040 } else { 0x4000_0400 };
    let range_x86_64 = calls(
        Arch::X86_64,
        (0..1024u32).chain(X32_SYSCALL_BIT..x32_end),
        &sets,
    );
    let defined_i386 = calls(Arch::X86, Arch::X86.syscalls().map(|(nr, _)| nr), &sets);
    let steps = arches
        .iter()
        .map(|&arch| ArchSteps {
            arch,
            range: if arch == Arch::X86_64 {
                range_x86_64.clone()
            } else {
                Vec::new()
            },
            defined: calls(arch, arch.syscalls().map(|(nr, _)| nr), &sets),
        })
        .collect();
    let mut decisions = range_x86_64;
    decisions.extend(&defined_i386);
    if !quick {
        for nr in 0..1024u32 {
            for a in &sets {
                decisions.push((AUDIT_ARCH_I386, nr, *a));
            }
        }
    }
    for a in &sets {
        decisions.push((AUDIT_ARCH_X86_64, u32::MAX, *a));
        decisions.push((AUDIT_ARCH_I386, u32::MAX, *a));
        decisions.push((AUDIT_ARCH_AARCH64, 63, *a));
    }
    decisions.extend(constant_calls(resolved));
    Inputs { steps, decisions }
}

/// Times `f`: once when `quick`, else repeatedly (at least 3 runs, until
/// 300 ms or 200 runs); returns the last result and the median time.
fn timed<T>(quick: bool, mut f: impl FnMut() -> T) -> (T, Duration) {
    let mut times = Vec::new();
    let start = Instant::now();
    loop {
        let t = Instant::now();
        let out = f();
        times.push(t.elapsed());
        let enough = quick
            || (times.len() >= 3 && start.elapsed() >= Duration::from_millis(300))
            || times.len() >= 200;
        if enough {
            times.sort();
            return (out, times[times.len() / 2]);
        }
    }
}

/// Syscalls of `rules` (numbers within the cache's range) that every call
/// allows whatever the arguments, plus the uprobe syscalls the kernel always
/// caches: the most the action cache can hold.
fn always_allowed(rules: &ArchRules, default: Action) -> usize {
    let last = rules.arch.syscall_range().1.min(1023);
    let audit = rules.arch.audit_arch();
    (0..=last)
        .filter(|&nr| {
            if uprobe_exception(nr, audit) {
                return true;
            }
            let mut chain = rules.rules_for(nr).peekable();
            if chain.peek().is_none() {
                return default == Action::Allow;
            }
            let mut unconditional = false;
            for r in chain {
                if r.action != Action::Allow {
                    return false;
                }
                unconditional |= r.is_unconditional();
            }
            unconditional || default == Action::Allow
        })
        .count()
}

fn endian(audit: u32) -> Endian {
    Arch::from_audit(audit).map_or(Endian::Little, |a| a.endian())
}

fn run_prog(p: &Prepared, call: &Call) -> (u32, usize) {
    let (arch, nr, args) = *call;
    let o = p.run(
        &SeccompData::new(nr as i32, arch).with_args(args),
        endian(arch),
    );
    (o.ret, o.steps)
}

fn measure(
    row: &Row,
    prog: &[SockFilter],
    reference: &[u32],
    inputs: &Inputs,
) -> Result<Measured, String> {
    verify(prog, Mode::Seccomp).map_err(|e| format!("rejected by the verifier: {e}"))?;
    let p = Prepared::new(prog).map_err(|e| format!("rejected by the verifier: {e}"))?;
    let steps =
        |calls: &[Call]| -> Vec<usize> { calls.iter().map(|c| run_prog(&p, c).1).collect() };
    let mean = |v: &[usize]| v.iter().sum::<usize>() as f64 / v.len().max(1) as f64;
    let arches = inputs
        .steps
        .iter()
        .map(|s| {
            let range = steps(&s.range);
            let has_range = !range.is_empty();
            ArchMeasured {
                mean_range: has_range.then(|| mean(&range)),
                max_range: range.iter().copied().max(),
                mean_defined: mean(&steps(&s.defined)),
                cache: cache_bitmap(&[prog], s.arch).len(),
            }
        })
        .collect();
    let (mut mismatches, mut compared) = (0, 0);
    for (call, &want) in inputs.decisions.iter().zip(reference) {
        let (arch, nr, args) = *call;
        if row.domain == Domain::X86_64Only
            && (arch != AUDIT_ARCH_X86_64 || nr & X32_SYSCALL_BIT != 0)
        {
            continue;
        }
        compared += 1;
        let got = run_prog(&p, call).0;
        if got != want {
            if mismatches < 3 {
                eprintln!(
                    "  {}: arch {arch:#x} nr {} args {args:x?}: {got:#x}, ours {want:#x}",
                    row.name, nr as i32
                );
            }
            mismatches += 1;
        }
    }
    Ok(Measured {
        insns: prog.len(),
        arches,
        mismatches,
        compared,
    })
}

fn fmt_time(d: Duration) -> String {
    let us = d.as_secs_f64() * 1e6;
    if us >= 1000.0 {
        format!("{:.2} ms", us / 1000.0)
    } else {
        format!("{us:.0} µs")
    }
}

/// Loads the profile for our compiler (the architectures of `arches` the
/// profile names, names libseccomp knows when it is installed).
pub(crate) fn our_policy(
    path: &Path,
    kernel: (u32, u32),
    arches: &[Arch],
    lib: Option<&Libseccomp>,
) -> Result<Policy, DynError> {
    let opts = LoadOptions {
        oci: OciOptions {
            caps: DOCKER_DEFAULT_CAPS.iter().map(|c| c.to_string()).collect(),
            kernel,
            arch: Some(Arch::X86_64),
        },
        ..LoadOptions::default()
    };
    let mut policy = load_file(path, &opts)?;
    policy.arches.retain(|a| arches.contains(a));
    if let Some(lib) = lib {
        for r in &mut policy.rules {
            r.syscalls.retain(|s| lib.resolve(&s.name).is_some());
        }
    }
    Ok(policy)
}

/// The rules runc would add to libseccomp for the OCI/Docker JSON profile
/// at `path` (Docker's default capabilities, native names).
pub(crate) fn libseccomp_rules(
    lib: &Libseccomp,
    path: &Path,
    kernel: (u32, u32),
) -> Result<peers::Rules, peers::Error> {
    let caps: Vec<String> = DOCKER_DEFAULT_CAPS.iter().map(|c| c.to_string()).collect();
    let load = Load {
        caps: &caps,
        kernel,
        names: Names::Native,
    };
    file_rules(lib, path, &load)
}

/// Outcome of one profile: libseccomp decision mismatches (None: not run).
fn profile(
    path: &Path,
    label: &str,
    lib: Option<&Libseccomp>,
    kernel: (u32, u32),
    arches: &[Arch],
    quick: bool,
) -> Result<Option<usize>, DynError> {
    eprintln!("{label}: loading");
    let policy = our_policy(path, kernel, arches, lib)?;
    let resolved = resolve(&policy).map_err(|e| format!("{label}: {e}"))?;
    let inputs = inputs(&resolved, arches, quick);
    let mut rows = Vec::new();
    for layout in [
        Layout::Auto,
        Layout::Linear,
        Layout::Bintree,
        Layout::Ranges,
    ] {
        eprintln!("{label}: compiling with our {layout} layout");
        let opts = CompileOptions {
            layout,
            profile: None,
        };
        let (result, t) = timed(quick, || compile_resolved(&resolved, &opts));
        let name = match &result {
            Ok(c) if layout == Layout::Auto => {
                format!("ours, auto (= {})", c.layout)
            }
            _ => format!("ours, {layout}"),
        };
        rows.push(Row {
            name,
            result: result.map(|c| c.program).map_err(|e| e.to_string()),
            compile: Some(t),
            domain: Domain::All,
        });
    }
    match lib {
        Some(lib) => match libseccomp_rules(lib, path, kernel) {
            Ok(rules) => {
                for (level, what) in [(1, "linear"), (2, "binary tree")] {
                    eprintln!("{label}: compiling with libseccomp, optimize {level}");
                    let (result, t) = timed(quick, || lib.build(&rules, level, arches));
                    rows.push(Row {
                        name: format!("libseccomp, optimize {level} ({what})"),
                        result: result.map_err(|e| e.to_string()),
                        compile: Some(t),
                        domain: Domain::All,
                    });
                }
            }
            Err(why) => {
                for level in [1, 2] {
                    rows.push(Row {
                        name: format!("libseccomp, optimize {level}"),
                        result: Err(format!("not compared: {why}")),
                        compile: None,
                        domain: Domain::All,
                    });
                }
            }
        },
        None => {
            for level in [1, 2] {
                rows.push(Row {
                    name: format!("libseccomp, optimize {level}"),
                    result: Err("not installed (libseccomp.so.2 not found)".into()),
                    compile: None,
                    domain: Domain::All,
                });
            }
        }
    }
    let seccompiler_name = "seccompiler 0.5 (x86_64 only)".to_string();
    match resolved.arch(AUDIT_ARCH_X86_64) {
        Some(x86_64) => {
            eprintln!("{label}: compiling with seccompiler");
            let (result, t) = timed(quick, || {
                peers::seccompiler::build(x86_64, resolved.default)
            });
            let expressible = result.is_ok();
            rows.push(Row {
                name: seccompiler_name,
                result: result.map_err(|why| why.to_string()),
                compile: expressible.then_some(t),
                domain: Domain::X86_64Only,
            });
        }
        None => rows.push(Row {
            name: seccompiler_name,
            result: Err("not compared: x86_64 not loaded".into()),
            compile: None,
            domain: Domain::X86_64Only,
        }),
    }

    // The reference decisions: our auto program, itself checked against
    // the policy's meaning.
    let auto = rows[0]
        .result
        .as_ref()
        .map_err(|e| format!("our compiler failed: {e}"))?;
    let auto_p = Prepared::new(auto).map_err(|e| format!("our program does not verify: {e}"))?;
    eprintln!(
        "{label}: emulating {} calls per program",
        inputs.decisions.len()
    );
    let reference: Vec<u32> = inputs
        .decisions
        .iter()
        .map(|c| run_prog(&auto_p, c).0)
        .collect();
    let wrong = inputs
        .decisions
        .iter()
        .zip(&reference)
        .filter(|((arch, nr, args), &got)| evaluate(&resolved, *arch, *nr, args).to_ret() != got)
        .count();
    if wrong > 0 {
        return Err(
            format!("{label}: our program differs from the policy on {wrong} calls").into(),
        );
    }

    let named: Vec<String> = arches
        .iter()
        .map(|&a| {
            let n = resolved
                .arch(a.audit_arch())
                .map_or(0, |r| r.syscall_count());
            format!("{n} {}", arch_label(a))
        })
        .collect();
    let cache_max: Vec<String> = arches
        .iter()
        .map(|&a| {
            let n = resolved
                .arch(a.audit_arch())
                .map_or(0, |r| always_allowed(r, resolved.default));
            format!("{n} {}", arch_label(a))
        })
        .collect();
    println!();
    println!("### {label}");
    println!();
    println!(
        "{} rules, {} syscalls named; {} syscalls allowed whatever the arguments (with the uprobe exception: the most the action cache can hold). Decisions compared on {} calls.",
        policy.rules.len(),
        named.join(" and "),
        cache_max.join(" and "),
        inputs.decisions.len()
    );
    println!();
    println!("{}", table_header(arches));
    let cells = step_columns(arches);
    let mut lib_mismatch = lib.map(|_| 0);
    for row in &rows {
        let compile = row.compile.map_or("—".into(), fmt_time);
        let dashes = "— | ".repeat(cells + 1);
        match &row.result {
            Err(why) => println!("| {} | — | {dashes}{compile} | {why} |", row.name),
            Ok(prog) => match measure(row, prog, &reference, &inputs) {
                Err(why) => println!(
                    "| {} | {} | {dashes}{compile} | {why} |",
                    row.name,
                    prog.len()
                ),
                Ok(m) => {
                    if row.name.starts_with("libseccomp") {
                        if let Some(n) = &mut lib_mismatch {
                            *n += m.mismatches;
                        }
                    }
                    let decisions = match (m.mismatches, row.domain) {
                        (0, Domain::All) => "identical".to_string(),
                        (0, Domain::X86_64Only) => format!(
                            "identical on {} x86_64 calls (i386: kills the process; x32: no check)",
                            m.compared
                        ),
                        (n, _) => format!("**{n} of {} differ**", m.compared),
                    };
                    println!(
                        "| {} | {} | {} | {compile} | {decisions} |",
                        row.name,
                        m.insns,
                        measured_cells(&m)
                    );
                }
            },
        }
    }
    Ok(lib_mismatch)
}

/// The number of step columns for `arches` (the action cache column not
/// counted).
fn step_columns(arches: &[Arch]) -> usize {
    arches
        .iter()
        .map(|&a| if a == Arch::X86_64 { 3 } else { 1 })
        .sum()
}

/// The header and alignment lines of a profile's table.
fn table_header(arches: &[Arch]) -> String {
    let mut head = String::from("| compiler | insns |");
    for &a in arches {
        let l = arch_label(a);
        if a == Arch::X86_64 {
            head.push_str(&format!(
                " mean steps {l} (0–1023 + x32) | mean steps {l} (defined syscalls) | max steps {l} |"
            ));
        } else {
            head.push_str(&format!(" mean steps {l} (defined syscalls) |"));
        }
    }
    let names: Vec<&str> = arches.iter().map(|&a| arch_label(a)).collect();
    head.push_str(&format!(
        " action cache {} | compile time | decisions vs ours |",
        names.join(" / ")
    ));
    let align = format!(
        "|---|---:|{}---:|---|",
        "---:|".repeat(step_columns(arches) + 1)
    );
    format!("{head}\n{align}")
}

/// The step and action cache cells of a measured row, `|`-separated.
fn measured_cells(m: &Measured) -> String {
    let mut cells = Vec::new();
    for a in &m.arches {
        if let Some(mean) = a.mean_range {
            cells.push(format!("{mean:.1}"));
        }
        cells.push(format!("{:.1}", a.mean_defined));
        if let Some(max) = a.max_range {
            cells.push(max.to_string());
        }
    }
    let cache: Vec<String> = m.arches.iter().map(|a| a.cache.to_string()).collect();
    cells.push(cache.join(" / "));
    cells.join(" | ")
}

/// Runs the command.
pub fn run(args: Args) -> Result<ExitCode, DynError> {
    let lib = Libseccomp::open();
    if lib.is_none() {
        eprintln!("note: libseccomp.so.2 not found (install libseccomp2): its rows are left empty");
    }
    let corpus = testkit::corpus::root().join("policies");
    let mut profiles: Vec<(PathBuf, String)> = args
        .profiles
        .iter()
        .map(|p| (p.clone(), p.display().to_string()))
        .collect();
    if profiles.is_empty() {
        if !corpus.is_dir() {
            return Err(format!(
                "corpus not found at {}: pass profiles with --profile FILE",
                corpus.display()
            )
            .into());
        }
        let n = if args.quick {
            1
        } else {
            DEFAULT_PROFILES.len()
        };
        profiles = DEFAULT_PROFILES[..n]
            .iter()
            .map(|p| (corpus.join(p), (*p).to_string()))
            .collect();
    }
    let kernel = running_kernel().unwrap_or((6, 1));
    let arches = chosen_arches(&args.arches);
    let names: Vec<&str> = arches.iter().map(|&a| arch_label(a)).collect();
    let x86_64_range = if arches.contains(&Arch::X86_64) {
        format!(
            "over x86_64 syscall numbers 0–1023 and 0x40000000–0x{:x} (x32), ",
            if args.quick { 0x4000_003f } else { 0x4000_03ff }
        )
    } else {
        String::new()
    };
    println!(
        "Profiles loaded as Docker does on x86_64: default capabilities, kernel {}.{} for `minKernel`, \
         architectures {} (every filter, libseccomp's too, is built for these only). \
         Steps: instructions executed, {x86_64_range}over the defined syscalls of each architecture, \
         with {} argument sets each. \
         Action cache: syscalls the kernel allows without running the filter ({}). \
         Compile time: median of repeated runs, from the parsed profile to the program.",
        kernel.0,
        kernel.1,
        names.join(" and "),
        if args.quick { 2 } else { 5 },
        names.join(" / "),
    );
    let mut mismatches = 0;
    for (path, label) in &profiles {
        if let Some(n) = profile(path, label, lib.as_ref(), kernel, &arches, args.quick)? {
            mismatches += n;
        }
    }
    if args.quick && mismatches > 0 {
        eprintln!("error: libseccomp decides differently from us on {mismatches} calls");
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    /// The command's flags on their own, as clap parses them.
    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: Args,
    }

    fn parse(flags: &[&str]) -> Result<Args, clap::Error> {
        let argv = std::iter::once("bench-peers").chain(flags.iter().copied());
        Cli::try_parse_from(argv).map(|c| c.args)
    }

    #[test]
    fn no_arch_flag_compares_x86_64_and_i386() {
        let args = parse(&["--quick"]).unwrap();
        assert!(args.arches.is_empty());
        assert_eq!(chosen_arches(&args.arches), [Arch::X86_64, Arch::X86]);
    }

    #[test]
    fn arch_flags_select_architectures_in_a_fixed_order_without_repeats() {
        let cases: [(&[&str], &[Arch]); 5] = [
            (&["--arch", "x86_64"], &[Arch::X86_64]),
            (&["--arch", "i386"], &[Arch::X86]),
            (
                &["--arch=x86", "--arch", "amd64"],
                &[Arch::X86_64, Arch::X86],
            ),
            (
                &["--arch", "SCMP_ARCH_X86_64", "--arch", "x86_64"],
                &[Arch::X86_64],
            ),
            (
                &["--arch", "i686", "--profile", "p.json", "--arch", "x86-64"],
                &[Arch::X86_64, Arch::X86],
            ),
        ];
        for (flags, want) in cases {
            let args = parse(flags).unwrap_or_else(|e| panic!("{flags:?}: {e}"));
            assert_eq!(chosen_arches(&args.arches), want, "{flags:?}");
        }
    }

    #[test]
    fn other_or_unknown_architectures_are_refused_with_a_reason() {
        for (name, why) in [
            ("aarch64", "x86_64 and x86 (i386) filters only, not aarch64"),
            ("x32", "unknown architecture `x32`"),
            ("", "unknown architecture ``"),
        ] {
            let err = match parse(&["--arch", name]) {
                Ok(_) => panic!("--arch {name:?} accepted"),
                Err(e) => e.to_string(),
            };
            assert!(err.contains(why), "--arch {name:?}: {err}");
        }
        assert!(parse(&["--arch"]).is_err());
    }

    #[test]
    fn every_table_line_has_as_many_cells_as_the_header() {
        let cells = |line: &str| line.matches('|').count();
        for arches in [
            vec![Arch::X86_64],
            vec![Arch::X86],
            vec![Arch::X86_64, Arch::X86],
        ] {
            let header = table_header(&arches);
            let (head, align) = header.split_once('\n').unwrap();
            assert_eq!(cells(head), cells(align), "{header}");
            assert_eq!(head.contains("x86_64"), arches.contains(&Arch::X86_64));
            assert_eq!(head.contains("i386"), arches.contains(&Arch::X86));
            let m = Measured {
                insns: 1,
                arches: arches
                    .iter()
                    .map(|&a| ArchMeasured {
                        mean_range: (a == Arch::X86_64).then_some(1.0),
                        max_range: (a == Arch::X86_64).then_some(1),
                        mean_defined: 1.0,
                        cache: 1,
                    })
                    .collect(),
                mismatches: 0,
                compared: 0,
            };
            let row = format!("| name | 1 | {} | 1 ms | identical |", measured_cells(&m));
            assert_eq!(cells(&row), cells(head), "{row}\n{head}");
            // A row without a program has the same width.
            let dashes = "— | ".repeat(step_columns(&arches) + 1);
            let empty = format!("| name | — | {dashes}— | why |");
            assert_eq!(cells(&empty), cells(head), "{empty}\n{head}");
        }
    }

    #[test]
    fn step_inputs_follow_the_chosen_architectures() {
        let resolved = Resolved {
            default: Action::Allow,
            bad_arch: Action::KillProcess,
            allow_x32: false,
            enosys: Default::default(),
            arches: Vec::new(),
        };
        let only_64 = inputs(&resolved, &[Arch::X86_64], true);
        assert_eq!(only_64.steps.len(), 1);
        let s = &only_64.steps[0];
        assert!(s.range.iter().all(|c| c.0 == AUDIT_ARCH_X86_64));
        assert_eq!(s.range.len(), (1024 + 0x40) * 2);
        assert_eq!(s.defined.len(), Arch::X86_64.syscalls().count() * 2);
        assert!(s
            .defined
            .iter()
            .all(|c| c.1 < 1024 && c.0 == AUDIT_ARCH_X86_64));
        let both = inputs(&resolved, &[Arch::X86_64, Arch::X86], true);
        assert!(both.steps[1].range.is_empty());
        assert!(both.steps[1].defined.iter().all(|c| c.0 == AUDIT_ARCH_I386));
        // The decisions do not depend on the architectures chosen.
        assert_eq!(only_64.decisions, both.decisions);
    }
}
