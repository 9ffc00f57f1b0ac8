//! `cargo xtask layouts POLICY`: one table comparing every dispatch layout
//! on program size, instructions executed per syscall (mean and max over
//! each architecture's syscalls, exact, by path analysis) and kernel-cache
//! coverage of the unconditionally allowed syscalls; with `--format json`,
//! the same table as one JSON document (see `report`).

use std::process::ExitCode;

use bpf_asm::policy::compile::Layout;
use bpf_vm::analysis::analyze;

use crate::compile::{compile_with, load_policy, PolicyArgs};
use crate::io::write_atomic;
use crate::report::{self, ArchMetrics, ReportFormat};
use crate::svg::{render, Panel, Series};
use crate::DynError;

/// Flags of the command.
#[derive(clap::Args)]
pub struct Args {
    /// The policy file (`-` for standard input).
    pub policy: String,
    #[command(flatten)]
    pub policy_args: PolicyArgs,
    /// Also draw instructions executed per syscall number for each layout
    /// (one panel per architecture) as an SVG file, written atomically.
    #[arg(long, value_name = "OUT")]
    pub svg: Option<String>,
    /// How the table is printed: text, or one JSON document.
    #[arg(long, value_enum, default_value_t)]
    pub format: ReportFormat,
}

/// Runs the command.
pub fn run(args: Args) -> Result<ExitCode, DynError> {
    let loaded = load_policy(&args.policy, &args.policy_args)?;
    let arches = loaded.policy.arches.clone();
    let text = args.format == ReportFormat::Text;
    if text {
        println!(
            "{:<16} {:>6} {:>10} {:>10} {:>6} {:>12}",
            "layout", "insns", "arch", "mean exec", "max", "cache"
        );
    }
    let mut rows = Vec::new();
    let mut panels: Vec<Panel> = arches
        .iter()
        .map(|a| Panel {
            title: a.name().to_string(),
            series: Vec::new(),
        })
        .collect();
    for layout in Layout::ALL {
        eprintln!("compiling and analysing the {layout} layout...");
        let c = compile_with(&loaded, layout)?;
        let name = if layout == Layout::Auto {
            format!("auto ({})", c.layout)
        } else {
            layout.to_string()
        };
        let mut per_arch = Vec::new();
        for (i, &arch) in arches.iter().enumerate() {
            let analysis =
                analyze(&c.program, arch, []).map_err(|e| format!("{}: {e}", loaded.name))?;
            if layout != Layout::Auto {
                panels[i].series.push(Series {
                    label: name.clone(),
                    points: analysis
                        .syscalls
                        .iter()
                        .map(|x| (x.nr, x.bounds.max))
                        .collect(),
                });
            }
            let m = ArchMetrics::new(&loaded.resolved, &c.program, &analysis);
            per_arch.push(m.json());
            if !text {
                continue;
            }
            let (label, len) = if i == 0 {
                (name.as_str(), c.program.len().to_string())
            } else {
                ("", String::new())
            };
            println!(
                "{:<16} {:>6} {:>10} {:>10.2} {:>6} {:>12}",
                label,
                len,
                arch.name(),
                m.summary.mean_max,
                m.summary.max,
                format!("{}/{}", m.cached, m.always_allowed)
            );
        }
        rows.push(serde_json::json!({
            "layout": layout.to_string(),
            "chosen": c.layout.to_string(),
            "instructions": c.program.len(),
            "arches": per_arch,
        }));
    }
    if !text {
        let mut doc = report::document("layouts");
        doc.insert("policy".into(), loaded.name.clone().into());
        doc.insert("layouts".into(), rows.into());
        report::print(doc);
    }
    if let Some(out) = &args.svg {
        let title = format!("{}: instructions executed per syscall", args.policy);
        write_atomic(out, render(&title, &panels).as_bytes())?;
        eprintln!("wrote {out}");
    }
    Ok(ExitCode::SUCCESS)
}
