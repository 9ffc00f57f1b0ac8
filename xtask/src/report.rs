//! `--format text|json` for the commands that report a verdict (`verify`,
//! `layouts`, `check`; `compile` has `json` among its output formats).
//!
//! In JSON mode standard output holds exactly one JSON document, an object
//! whose `schema` is [`SCHEMA`] and whose `command` names the command; the
//! fields of each command are described in the README ("Machine-readable
//! output"). Progress notes and warnings about the input still go to
//! standard error, and an error that stops the command before it reaches a
//! verdict (an unreadable file, say) prints `error: ...` there and no
//! document. The exit status is the text mode's.

/// The version of the JSON documents: raised when a field changes meaning
/// or disappears (adding fields does not raise it).
pub const SCHEMA: u32 = 1;

/// How a report is printed.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, clap::ValueEnum)]
pub enum ReportFormat {
    /// Lines for people (the default).
    #[default]
    Text,
    /// One JSON document (see the module docs).
    Json,
}

/// The start of every document: `{"schema": SCHEMA, "command": command}`.
pub fn document(command: &str) -> serde_json::Map<String, serde_json::Value> {
    let mut m = serde_json::Map::new();
    m.insert("schema".into(), SCHEMA.into());
    m.insert("command".into(), command.into());
    m
}

/// `doc` pretty-printed, with a final newline.
pub fn to_string(doc: serde_json::Map<String, serde_json::Value>) -> String {
    // Serialising a `Value` cannot fail: its keys are strings.
    let mut text =
        serde_json::to_string_pretty(&serde_json::Value::Object(doc)).unwrap_or_default();
    text.push('\n');
    text
}

/// Prints `doc` on standard output (see [`to_string`]).
pub fn print(doc: serde_json::Map<String, serde_json::Value>) {
    print!("{}", to_string(doc));
}

/// What `verify` and `layouts` measure of a program on one architecture.
pub struct ArchMetrics {
    /// The architecture.
    pub arch: bpf_asm::Arch,
    /// Instructions executed over its syscalls (exact or bounds).
    pub summary: bpf_vm::analysis::Summary,
    /// Syscalls the policy allows whatever their arguments.
    pub always_allowed: usize,
    /// How many of those the kernel's action cache lets through.
    pub cached: usize,
}

impl ArchMetrics {
    /// Measures `prog`, whose analysis on the architecture is `analysis`,
    /// against `resolved`.
    pub fn new(
        resolved: &bpf_asm::policy::resolve::Resolved,
        prog: &[bpf_asm::SockFilter],
        analysis: &bpf_vm::analysis::Analysis,
    ) -> ArchMetrics {
        let arch = analysis.arch;
        let allowed: Vec<u32> = arch
            .syscalls()
            .map(|(nr, _)| nr)
            .filter(|&nr| crate::compile::always_allowed(resolved, arch, nr))
            .collect();
        let cached = allowed
            .iter()
            .filter(|&&nr| bpf_vm::seccomp_is_const_allow(prog, nr, arch.audit_arch()))
            .count();
        ArchMetrics {
            arch,
            summary: analysis.summary(),
            always_allowed: allowed.len(),
            cached,
        }
    }

    /// The JSON object (README, "Machine-readable output").
    pub fn json(&self) -> serde_json::Value {
        let s = &self.summary;
        serde_json::json!({
            "arch": self.arch.name(),
            "syscalls": s.count,
            "mean_executed": s.mean_max,
            "mean_executed_fewest": s.mean_min,
            "max_executed": s.max,
            "exact": s.exact,
            "cache_covered": self.cached,
            "always_allowed": self.always_allowed,
        })
    }
}
