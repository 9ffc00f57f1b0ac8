//! `cargo xtask compile POLICY`: compile a policy (native TOML, OCI/Docker
//! JSON or Firecracker JSON, recognised by extension or content) into a
//! program, written atomically to `-o OUT` or to standard output.
//!
//! Also holds the policy-loading flags shared with `verify` and `layouts`.

use std::path::Path;
use std::process::ExitCode;

use bpf_asm::disasm::{disassemble, DisasmOptions};
use bpf_asm::encode;
use bpf_asm::policy::compile::{compile_resolved, CompileOptions, Compiled, Layout, Profile};
use bpf_asm::policy::eval::evaluate;
use bpf_asm::policy::load::{load_str, parse_arch, Format, LoadOptions};
use bpf_asm::policy::resolve::{resolve, Resolved};
use bpf_asm::policy::{Action, Policy};
use bpf_asm::{Arch, SockFilter};

use crate::io::{emit, read_input};
use crate::DynError;

/// How a policy file is read (shared by `compile`, `verify`, `layouts`).
#[derive(clap::Args, Clone, Debug, Default)]
pub struct PolicyArgs {
    /// Architectures to cover, replacing the policy's list (repeatable).
    /// For OCI/Docker profiles the first one is the native architecture.
    #[arg(long = "arch", value_name = "ARCH")]
    pub arches: Vec<String>,
    /// OCI/Docker profiles: the capabilities the container holds,
    /// comma-separated (default: Docker's default set).
    #[arg(long, value_name = "LIST")]
    pub caps: Option<String>,
    /// OCI/Docker profiles: the kernel version `X.Y` for `minKernel`
    /// (default: the running kernel).
    #[arg(long, value_name = "X.Y")]
    pub kernel: Option<String>,
    /// Firecracker files: the filter (thread category) to load, e.g. `vmm`.
    #[arg(long, value_name = "NAME")]
    pub filter: Option<String>,
    /// Syscall frequency profile for the `auto` layout's cost model: one
    /// syscall per line, `NAME WEIGHT` (e.g. counts from `strace -c`), or
    /// `NAME` alone for a priority list, most frequent first (the format of
    /// Android's SECCOMP_PRIORITY.TXT); `#` starts a comment.
    #[arg(long, value_name = "FILE")]
    pub profile: Option<String>,
}

/// A loaded policy with its names resolved.
pub struct Loaded {
    /// The policy as written (tests included).
    pub policy: Policy,
    /// The policy with syscall numbers.
    pub resolved: Resolved,
    /// The frequency profile from `--profile`, if any.
    pub profile: Option<Profile>,
}

/// Reads, parses and resolves a policy file according to `pa`.
pub fn load_policy(path: &str, pa: &PolicyArgs) -> Result<Loaded, DynError> {
    let bytes = read_input(path)?;
    let text = String::from_utf8(bytes).map_err(|_| format!("{path}: not UTF-8 text"))?;
    let mut opts = LoadOptions::default();
    let ext = Path::new(path)
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    if ext.as_deref() == Some("toml") {
        opts.format = Some(Format::Toml);
    }
    let arches = pa
        .arches
        .iter()
        .map(|a| parse_arch(a))
        .collect::<Result<Vec<Arch>, String>>()?;
    opts.oci.arch = arches.first().copied();
    if let Some(caps) = &pa.caps {
        opts.oci.caps = caps
            .split(',')
            .map(|c| c.trim().to_string())
            .filter(|c| !c.is_empty())
            .collect();
    }
    if let Some(k) = &pa.kernel {
        opts.oci.kernel =
            parse_kernel(k).ok_or_else(|| format!("--kernel {k}: expected X.Y, e.g. 6.1"))?;
    }
    opts.filter = pa.filter.clone();
    let name = if path == "-" { "<stdin>" } else { path };
    let mut policy = load_str(&text, name, &opts)?;
    if !arches.is_empty() {
        policy.arches = arches;
    }
    let resolved = resolve(&policy).map_err(|e| format!("{name}: {e}"))?;
    let profile = match &pa.profile {
        Some(p) => Some(load_profile(p)?),
        None => None,
    };
    Ok(Loaded {
        policy,
        resolved,
        profile,
    })
}

/// Reads a `--profile` file (see [`PolicyArgs::profile`]).
pub fn load_profile(path: &str) -> Result<Profile, DynError> {
    let bytes = read_input(path)?;
    let text = String::from_utf8(bytes).map_err(|_| format!("{path}: not UTF-8 text"))?;
    parse_profile(&text).map_err(|(line, why)| format!("{path}:{line}: {why}").into())
}

/// Parses profile text; an error is `(line, why)`.
fn parse_profile(text: &str) -> Result<Profile, (usize, String)> {
    let mut named: Vec<(String, Option<u64>, usize)> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let mut fields = line.split_whitespace();
        let name = fields.next().unwrap_or_default();
        if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err((i + 1, format!("`{name}` is not a syscall name")));
        }
        let weight = match fields.next() {
            None => None,
            Some(w) => Some(
                w.parse::<u64>()
                    .map_err(|_| (i + 1, format!("weight `{w}` is not a non-negative integer")))?,
            ),
        };
        if let Some(extra) = fields.next() {
            return Err((i + 1, format!("unexpected `{extra}` after the weight")));
        }
        named.push((name.to_string(), weight, i + 1));
    }
    let listed = named.len() as u64;
    let mut weights = Vec::with_capacity(named.len());
    for (rank, (name, weight, _)) in named.into_iter().enumerate() {
        // A bare name ranks by position: the first line weighs the most.
        weights.push((name, weight.unwrap_or(listed - rank as u64)));
    }
    Ok(Profile { weights })
}

fn parse_kernel(s: &str) -> Option<(u32, u32)> {
    let (a, b) = s.trim().split_once('.')?;
    Some((a.parse().ok()?, b.split('.').next()?.parse().ok()?))
}

/// Parses a `--layout` value.
pub fn parse_layout(s: &str) -> Result<Layout, String> {
    Layout::parse(s)
        .ok_or_else(|| format!("unknown layout `{s}` (expected auto, linear, bintree or ranges)"))
}

/// Compiles with one layout, with the error naming the policy file.
pub fn compile_with(loaded: &Loaded, layout: Layout) -> Result<Compiled, DynError> {
    let opts = CompileOptions {
        layout,
        profile: loaded.profile.clone(),
    };
    Ok(compile_resolved(&loaded.resolved, &opts)?)
}

/// Output formats of `compile`.
#[derive(Clone, Copy, PartialEq, Eq, Debug, clap::ValueEnum)]
pub enum OutputFormat {
    /// Raw `struct sock_filter` bytes in host byte order.
    Raw,
    /// The `bpf_asm` decimal comma list.
    Comma,
    /// C initialisers (`bpf_asm -c`).
    C,
    /// A Rust `static FILTER: [SockFilter; N]`.
    Rust,
    /// Annotated `bpf_asm` assembly.
    Asm,
}

impl OutputFormat {
    fn from_extension(path: &str) -> Option<OutputFormat> {
        let ext = Path::new(path).extension()?.to_str()?.to_ascii_lowercase();
        Some(match ext.as_str() {
            "bpf" | "bin" | "raw" => OutputFormat::Raw,
            "txt" => OutputFormat::Comma,
            "c" | "h" => OutputFormat::C,
            "rs" => OutputFormat::Rust,
            "s" | "asm" => OutputFormat::Asm,
            _ => return None,
        })
    }
}

/// Encodes a program in `format` (`arch` annotates assembly).
pub fn encode_program(
    prog: &[SockFilter],
    format: OutputFormat,
    arch: Option<Arch>,
) -> Result<Vec<u8>, DynError> {
    Ok(match format {
        OutputFormat::Raw => encode::to_raw(prog),
        OutputFormat::Comma => encode::to_comma(prog).into_bytes(),
        OutputFormat::C => encode::to_c_array(prog).into_bytes(),
        OutputFormat::Rust => encode::to_rust_static("FILTER", prog)
            .map_err(|e| format!("cannot write the Rust array: {e:?}"))?
            .into_bytes(),
        OutputFormat::Asm => disassemble(prog, &DisasmOptions { annotate: arch }).into_bytes(),
    })
}

/// Flags of the command.
#[derive(clap::Args)]
pub struct Args {
    /// The policy file (`-` for standard input).
    pub policy: String,
    #[command(flatten)]
    pub policy_args: PolicyArgs,
    /// The syscall dispatch layout: auto, linear, bintree or ranges.
    #[arg(long, default_value = "auto", value_parser = parse_layout)]
    pub layout: Layout,
    /// Output format (default: from the extension of `-o`, else asm).
    #[arg(long, value_enum)]
    pub format: Option<OutputFormat>,
    /// Output file (written atomically); standard output when absent.
    #[arg(short, long, value_name = "OUT")]
    pub output: Option<String>,
}

/// Runs the command.
pub fn run(args: Args) -> Result<ExitCode, DynError> {
    let loaded = load_policy(&args.policy, &args.policy_args)?;
    let compiled = compile_with(&loaded, args.layout)?;
    let format = args
        .format
        .or_else(|| {
            args.output
                .as_deref()
                .and_then(OutputFormat::from_extension)
        })
        .unwrap_or(OutputFormat::Asm);
    let bytes = encode_program(
        &compiled.program,
        format,
        loaded.policy.arches.first().copied(),
    )?;
    emit(args.output.as_deref(), &bytes)?;
    eprintln!(
        "compiled {}: {} instructions, {} layout",
        args.policy,
        compiled.program.len(),
        compiled.layout
    );
    Ok(ExitCode::SUCCESS)
}

/// Whether every call of `nr` on `arch` is allowed whatever its arguments
/// (the calls the kernel's action cache may let through unfiltered).
pub fn always_allowed(resolved: &Resolved, arch: Arch, nr: u32) -> bool {
    let Some(rules) = resolved.arch(arch.audit_arch()) else {
        return false;
    };
    for r in rules.rules_for(nr) {
        if r.is_unconditional() {
            return r.action == Action::Allow;
        }
        if r.action != Action::Allow {
            return false;
        }
    }
    // No rule, or every conditional one allows: the default decides the
    // rest (and x32 numbers an x86_64 policy refuses are not allowed).
    resolved.default == Action::Allow
        && evaluate(resolved, arch.audit_arch(), nr, &[0; 6]) == Action::Allow
}

#[cfg(test)]
mod profile_tests {
    use super::parse_profile;

    #[test]
    fn weighted_and_ranked_profiles_parse() {
        let p = parse_profile("# counts\nread 900\nwrite 10 # comment\n\n").unwrap();
        assert_eq!(p.weights, vec![("read".into(), 900), ("write".into(), 10)]);
        let p = parse_profile("futex\nioctl\nepoll_pwait\n").unwrap();
        assert_eq!(
            p.weights,
            vec![
                ("futex".into(), 3),
                ("ioctl".into(), 2),
                ("epoll_pwait".into(), 1)
            ]
        );
    }

    #[test]
    fn bad_profile_lines_are_located() {
        assert_eq!(parse_profile("read 1\nwrite x\n").unwrap_err().0, 2);
        assert_eq!(parse_profile("\n\nopen(at) 3\n").unwrap_err().0, 3);
        assert_eq!(parse_profile("read 1 2\n").unwrap_err().0, 1);
    }
}
