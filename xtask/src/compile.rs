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
    /// The policy file as shown in messages (`<stdin>` for `-`).
    pub name: String,
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
        name: name.to_string(),
        policy,
        resolved,
        profile,
    })
}

/// Reads a `--profile` file (see [`PolicyArgs::profile`]).
pub fn load_profile(path: &str) -> Result<Profile, DynError> {
    let bytes = read_input(path)?;
    let text = String::from_utf8(bytes).map_err(|_| format!("{path}: not UTF-8 text"))?;
    Profile::parse(&text).map_err(|e| format!("{path}:{}: {}", e.line, e.kind).into())
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
    compile_resolved(&loaded.resolved, &opts).map_err(|e| format!("{}: {e}", loaded.name).into())
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
    /// One JSON document: the program as `[code, jt, jf, k]` rows, with the
    /// layout and the architectures (README, "Machine-readable output").
    Json,
}

impl OutputFormat {
    /// The `--format` value of this format.
    pub const fn name(self) -> &'static str {
        match self {
            OutputFormat::Raw => "raw",
            OutputFormat::Comma => "comma",
            OutputFormat::C => "c",
            OutputFormat::Rust => "rust",
            OutputFormat::Asm => "asm",
            OutputFormat::Json => "json",
        }
    }

    fn from_extension(path: &str) -> Option<OutputFormat> {
        let ext = Path::new(path).extension()?.to_str()?.to_ascii_lowercase();
        Some(match ext.as_str() {
            "bpf" | "bin" | "raw" => OutputFormat::Raw,
            "txt" => OutputFormat::Comma,
            "c" | "h" => OutputFormat::C,
            "rs" => OutputFormat::Rust,
            "s" | "asm" => OutputFormat::Asm,
            "json" => OutputFormat::Json,
            _ => return None,
        })
    }
}

/// Encodes a program in `format` (`arch` annotates assembly; `name` is the
/// static of the Rust form).
pub fn encode_program(
    prog: &[SockFilter],
    format: OutputFormat,
    arch: Option<Arch>,
    name: &str,
) -> Result<Vec<u8>, DynError> {
    Ok(match format {
        OutputFormat::Raw => encode::to_raw(prog),
        OutputFormat::Comma => encode::to_comma(prog).into_bytes(),
        OutputFormat::C => encode::to_c_array(prog).into_bytes(),
        OutputFormat::Rust => {
            let body =
                encode::to_rust_static(name, prog).map_err(|e| format!("--name {name}: {e}"))?;
            format!(
                "// Generated by `cargo xtask compile --format rust`: do not edit; \
                 regenerate it from the policy.\n{body}"
            )
            .into_bytes()
        }
        OutputFormat::Asm => disassemble(prog, &DisasmOptions { annotate: arch }).into_bytes(),
        OutputFormat::Json => return Err("the json output is a report: see `json_document`".into()),
    })
}

/// The `--format json` document of a compiled policy.
fn json_document(loaded: &Loaded, requested: Layout, compiled: &Compiled) -> Vec<u8> {
    let mut doc = crate::report::document("compile");
    doc.insert("policy".into(), loaded.name.clone().into());
    let arches: Vec<&str> = loaded.policy.arches.iter().map(|a| a.name()).collect();
    doc.insert("arches".into(), arches.into());
    doc.insert("layout".into(), requested.to_string().into());
    doc.insert("chosen".into(), compiled.layout.to_string().into());
    doc.insert("instructions".into(), compiled.program.len().into());
    let rows: Vec<serde_json::Value> = compiled
        .program
        .iter()
        .map(|f| serde_json::json!([f.code, f.jt, f.jf, f.k]))
        .collect();
    doc.insert("program".into(), rows.into());
    crate::report::to_string(doc).into_bytes()
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
    /// The name of the static of `--format rust` (default FILTER).
    #[arg(long, value_name = "IDENT")]
    pub name: Option<String>,
}

/// Runs the command.
pub fn run(args: Args) -> Result<ExitCode, DynError> {
    let format = args
        .format
        .or_else(|| {
            args.output
                .as_deref()
                .and_then(OutputFormat::from_extension)
        })
        .unwrap_or(OutputFormat::Asm);
    if args.name.is_some() && format != OutputFormat::Rust {
        return Err(format!(
            "--name names the static of --format rust; it does not apply to the {} output",
            format.name()
        )
        .into());
    }
    let loaded = load_policy(&args.policy, &args.policy_args)?;
    let compiled = compile_with(&loaded, args.layout)?;
    let bytes = match format {
        OutputFormat::Json => json_document(&loaded, args.layout, &compiled),
        _ => encode_program(
            &compiled.program,
            format,
            loaded.policy.arches.first().copied(),
            args.name.as_deref().unwrap_or("FILTER"),
        )?,
    };
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
