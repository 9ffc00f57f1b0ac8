//! Emulator speed: `bpf_vm::emu::Prepared` against a plain C switch
//! interpreter (`benches/c/interp.c`) on the same real filters and inputs,
//! side by side in one run.
//!
//! Filters: the raw libseccomp test programs of
//! `shared/corpus/libseccomp-tests/flattened_bpf_sim_vectors.json` with their
//! vectors as inputs, and Docker's default profile
//! (`policies/docker/default.json`, x86_64 with Docker's default
//! capabilities) as real filters: built by the system's libseccomp
//! (`libseccomp.so.2`, opened at run time; optimisation level 1, linear,
//! and 2, binary tree; "skipped: libseccomp not found" without it) the way
//! Docker and runc build it, and by our compiler (layouts `Auto`, `Linear`,
//! `Bintree`). Their inputs are x86_64 syscall numbers 0–1023 and the x32
//! numbers 0x40000000–0x400003ff with three argument sets each.
//!
//! Before timing, every input is run by both interpreters and the return
//! value and instruction count must agree. After the criterion groups, a
//! short side-by-side timing prints `ns/eval` of both and their ratio.
//!
//! Run: `cargo bench -p benches --bench emulator` (add `-- NONE` to skip the
//! criterion groups and only print the side-by-side table). With
//! `EMU_PROFILE=NAME` set, each case set whose name contains NAME is run
//! once by both interpreters and nothing is timed: for instruction counts
//! under `valgrind --tool=callgrind` (functions `eval_prepared`, `eval_c`).

mod common;

use std::hint::black_box;
use std::path::Path;
use std::time::Instant;

use bpf_asm::policy::compile::{compile, CompileOptions, Layout};
use bpf_asm::policy::load::oci::DOCKER_DEFAULT_CAPS;
use bpf_asm::seccomp::X32_SYSCALL_BIT;
use bpf_asm::{Arch, Endian, SockFilter};
use bpf_vm::data::SeccompData;
use bpf_vm::emu::Prepared;
use criterion::{criterion_group, Criterion, Throughput};
use peers::docker::{file_rules, Load};
use peers::{Libseccomp, Names, Target};

#[link(name = "seccomp_c_interp", kind = "static")]
extern "C" {
    fn c_interp_run(prog: *const SockFilter, data: *const u8, steps_out: *mut u64) -> u32;
}

/// Runs the C interpreter on a verified program.
fn c_run(prog: &[SockFilter], data: &[u8; 64]) -> (u32, u64) {
    let mut steps = 0u64;
    // SAFETY: `SockFilter` is `repr(C)` and layout-identical to the C struct;
    // every program passed here was accepted by `bpf_vm::verify`, so the C
    // interpreter stays inside `prog` (forward jumps in range, final ret) and
    // reads only aligned words at offsets below 64 of the 64-byte `data`.
    let ret = unsafe { c_interp_run(prog.as_ptr(), data.as_ptr(), &mut steps) };
    (ret, steps)
}

/// One filter with its inputs.
struct CaseSet {
    name: String,
    prog: Vec<SockFilter>,
    inputs: Vec<(SeccompData, Endian)>,
}

/// Builds Docker's x86_64 filter from the profile at `profile` (with
/// Docker's default capabilities on kernel 6.1, as the other benches load
/// it; with the x86 and x32 sub-architectures, as Docker's `archMap` asks)
/// at optimisation level `optimize` (1: linear, 2: binary tree), the way
/// runc builds it.
fn docker_filter(
    lib: &Libseccomp,
    profile: &Path,
    optimize: u32,
) -> Result<Vec<SockFilter>, peers::Error> {
    let caps: Vec<String> = DOCKER_DEFAULT_CAPS.iter().map(|c| c.to_string()).collect();
    let load = Load {
        caps: &caps,
        kernel: (6, 1),
        names: Names::Native,
    };
    let rules = file_rules(lib, profile, &load)?;
    lib.build_for(
        &rules,
        &Target {
            arches: &[Arch::X86_64, Arch::X86],
            x32: true,
            optimize: Some(optimize),
        },
    )
}

fn libseccomp_sets() -> Vec<CaseSet> {
    let Some(json) = testkit::corpus::json("libseccomp-tests/flattened_bpf_sim_vectors.json")
    else {
        return Vec::new();
    };
    let mut sets = Vec::new();
    for name in [
        "05-sim-long_jumps",
        "53-sim-binary_tree",
        "30-sim-socket_syscalls",
        "16-sim-arch_basic",
        "12-sim-basic_masked_ops",
    ] {
        let Some(b64) = json["programs"][name]["bpf_b64"].as_str() else {
            continue;
        };
        let raw = testkit::base64_decode(b64).expect("valid base64");
        let prog: Vec<SockFilter> = raw
            .chunks_exact(8)
            .map(|c| SockFilter::from_ne_bytes(c.try_into().expect("8 bytes")))
            .collect();
        let mut inputs = Vec::new();
        for v in json["vectors"].as_array().into_iter().flatten() {
            if v["test"].as_str() != Some(name) {
                continue;
            }
            let mut args = [0u64; 6];
            for (i, a) in v["args"]
                .as_array()
                .into_iter()
                .flatten()
                .enumerate()
                .take(6)
            {
                args[i] = a.as_u64().unwrap_or(0);
            }
            let data = SeccompData::new(
                v["nr"].as_i64().unwrap_or(0) as i32,
                v["audit_arch"].as_u64().unwrap_or(0) as u32,
            )
            .with_args(args);
            let endian = if v["big_endian"].as_bool() == Some(true) {
                Endian::Big
            } else {
                Endian::Little
            };
            inputs.push((data, endian));
        }
        if !inputs.is_empty() {
            sets.push(CaseSet {
                name: name.to_string(),
                prog,
                inputs,
            });
        }
    }
    sets
}

/// The inputs of the Docker filters: x86_64 calls of numbers 0–1023 and
/// of the x32 numbers 0x40000000–0x400003ff, each with three argument sets
/// (zeros, small values, and values that hit the profile's argument rules:
/// `personality(0x20008)`, `clone` flags with and without namespace bits).
fn docker_inputs() -> Vec<(SeccompData, Endian)> {
    let arg_sets: [[u64; 6]; 3] = [
        [0; 6],
        [0x20008, 3, 0x1000, 0x22, u64::MAX, 0],
        [0x7e02_0000, 0x10000, 1, 0xffff_ffff, 0x1_0000_0000, 8],
    ];
    (0..1024u32)
        .chain(X32_SYSCALL_BIT..X32_SYSCALL_BIT + 1024)
        .flat_map(|nr| {
            arg_sets.iter().map(move |args| {
                (
                    SeccompData::for_arch(Arch::X86_64, nr as i32).with_args(*args),
                    Endian::Little,
                )
            })
        })
        .collect()
}

/// Docker's default profile (`policies/docker/default.json`) as the system
/// libseccomp builds it (linear and binary tree) and as our compiler does
/// (layouts `Auto`, `Linear` and `Bintree`).
fn docker_sets() -> Vec<CaseSet> {
    let Some(path) = common::docker_path() else {
        return Vec::new();
    };
    let inputs = docker_inputs();
    let mut sets = Vec::new();
    match Libseccomp::open() {
        None => println!("skipped: libseccomp not found"),
        Some(lib) => {
            for (level, name) in [(1, "linear"), (2, "tree")] {
                match docker_filter(&lib, &path, level) {
                    Ok(prog) => sets.push(CaseSet {
                        name: format!("docker-libseccomp-{name}"),
                        prog,
                        inputs: inputs.clone(),
                    }),
                    Err(e) => println!("skipped: libseccomp docker-{name}: {e}"),
                }
            }
        }
    }
    if let Some(policy) = common::docker_policy() {
        for (layout, name) in [
            (Layout::Auto, "auto"),
            (Layout::Linear, "linear"),
            (Layout::Bintree, "bintree"),
        ] {
            let opts = CompileOptions {
                layout,
                profile: None,
            };
            let prog = compile(&policy, &opts).expect("Docker's profile compiles");
            sets.push(CaseSet {
                name: format!("docker-ours-{name}"),
                prog,
                inputs: inputs.clone(),
            });
        }
    }
    sets
}

/// A case set ready to run: the prepared program and both input forms.
struct Ready {
    name: String,
    prog: Vec<SockFilter>,
    prepared: Prepared,
    inputs: Vec<(SeccompData, Endian)>,
    bytes: Vec<[u8; 64]>,
    mean_steps: f64,
}

fn ready() -> Vec<Ready> {
    let mut out = Vec::new();
    for set in libseccomp_sets().into_iter().chain(docker_sets()) {
        let prepared = Prepared::new(&set.prog).unwrap_or_else(|e| panic!("{}: {e}", set.name));
        let bytes: Vec<[u8; 64]> = set.inputs.iter().map(|(d, e)| d.to_bytes(*e)).collect();
        let mut total = 0usize;
        for ((d, e), b) in set.inputs.iter().zip(&bytes) {
            let ours = prepared.run(d, *e);
            let (ret, steps) = c_run(&set.prog, b);
            assert_eq!(
                (ours.ret, ours.steps as u64),
                (ret, steps),
                "{}: emulator and C interpreter disagree on {d:?}",
                set.name
            );
            total += ours.steps;
        }
        out.push(Ready {
            mean_steps: total as f64 / set.inputs.len() as f64,
            name: set.name,
            prog: set.prog,
            prepared,
            inputs: set.inputs,
            bytes,
        });
    }
    out
}

#[inline(never)]
fn eval_prepared(r: &Ready) -> u32 {
    let mut acc = 0u32;
    for (d, e) in &r.inputs {
        acc = acc.wrapping_add(r.prepared.run(black_box(d), *e).ret);
    }
    acc
}

#[inline(never)]
fn eval_c(r: &Ready) -> u32 {
    let mut acc = 0u32;
    for b in &r.bytes {
        acc = acc.wrapping_add(c_run(&r.prog, black_box(b)).0);
    }
    acc
}

fn bench(c: &mut Criterion) {
    for r in ready() {
        let mut g = c.benchmark_group(format!("emulator/{}", r.name));
        g.throughput(Throughput::Elements(r.inputs.len() as u64));
        g.bench_function("prepared", |b| b.iter(|| eval_prepared(&r)));
        g.bench_function("c_switch", |b| b.iter(|| eval_c(&r)));
        g.finish();
    }
}

/// Side-by-side timing: rounds of both interpreters interleaved, so they
/// share the machine's noise, and the fastest round of each counted (the
/// one least disturbed by other load).
fn side_by_side() {
    println!(
        "\nside by side (ns per evaluation, fastest of interleaved rounds; \
         ratio = C / prepared, > 1 means faster than C):"
    );
    for r in ready() {
        let n = r.inputs.len() as f64;
        // About 20 000 C steps per round, 200 rounds.
        let reps = (20_000.0 / (n * r.mean_steps.max(1.0))).ceil().max(1.0) as usize;
        let (mut ours, mut theirs) = (f64::INFINITY, f64::INFINITY);
        for _ in 0..200 {
            let t = Instant::now();
            for _ in 0..reps {
                black_box(eval_prepared(&r));
            }
            ours = ours.min(t.elapsed().as_nanos() as f64 / (reps as f64 * n));
            let t = Instant::now();
            for _ in 0..reps {
                black_box(eval_c(&r));
            }
            theirs = theirs.min(t.elapsed().as_nanos() as f64 / (reps as f64 * n));
        }
        println!(
            "  {:28} {:5} insns, {:6.1} steps/eval: prepared {:7.1}  C {:7.1}  ratio {:6.2}",
            r.name,
            r.prog.len(),
            r.mean_steps,
            ours,
            theirs,
            theirs / ours
        );
    }
}

criterion_group!(benches, bench);

fn main() {
    if let Ok(filter) = std::env::var("EMU_PROFILE") {
        for r in ready().iter().filter(|r| r.name.contains(&filter)) {
            println!("{} {} inputs", r.name, r.inputs.len());
            if std::env::var_os("EMU_DUMP").is_some() {
                let opts = bpf_asm::disasm::DisasmOptions::default();
                println!("{}", bpf_asm::disasm::disassemble(&r.prog, &opts));
            }
            black_box(eval_prepared(r));
            black_box(eval_c(r));
        }
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
    side_by_side();
}
