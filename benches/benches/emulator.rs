//! Emulator speed: `bpf_vm::emu::Prepared` against a plain C switch
//! interpreter (`benches/c/interp.c`) on the same real filters and inputs,
//! side by side in one run.
//!
//! Filters: the raw libseccomp test programs of
//! `shared/corpus/libseccomp-tests/flattened_bpf_sim_vectors.json` with their
//! vectors as inputs, and two Docker-like linear x86-64 filters built from
//! the names Docker's default profile allows unconditionally
//! (`policies/docker/default.json`): a libseccomp-style chain of
//! `jeq #nr, allow, next` with an `ALLOW` return after every block of 200
//! compares, and an inline form `jeq #nr, 0, 1; ret ALLOW`. Their inputs
//! are syscall numbers 0..=460 and twenty x32 numbers.
//!
//! Before timing, every input is run by both interpreters and the return
//! value and instruction count must agree. After the criterion groups, a
//! short side-by-side timing prints `ns/eval` of both and their ratio.
//!
//! Run: `cargo bench -p benches --bench emulator`.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use bpf_asm::insn::*;
use bpf_asm::seccomp::*;
use bpf_asm::{Arch, Endian, SockFilter};
use bpf_vm::data::SeccompData;
use bpf_vm::emu::Prepared;
use criterion::{criterion_group, Criterion, Throughput};

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

fn corpus() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus")
}

fn base64(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => break,
            _ => return None,
        };
        acc = (acc << 6) | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Some(out)
}

fn libseccomp_sets() -> Vec<CaseSet> {
    let path = corpus().join("libseccomp-tests/flattened_bpf_sim_vectors.json");
    let Ok(text) = std::fs::read_to_string(&path) else {
        println!("skipped: corpus not found ({})", path.display());
        return Vec::new();
    };
    let json: serde_json::Value = serde_json::from_str(&text).expect("corpus JSON parses");
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
        let raw = base64(b64).expect("valid base64");
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
            for (i, a) in v["args"].as_array().into_iter().flatten().enumerate().take(6) {
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

/// Syscall numbers (x86-64) Docker's default profile allows whatever the
/// arguments and capabilities.
fn docker_allowed() -> Option<Vec<u32>> {
    let path = corpus().join("policies/docker/default.json");
    let text = std::fs::read_to_string(path).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    let mut nrs = Vec::new();
    for entry in json["syscalls"].as_array()? {
        let unconditional = entry["action"] == "SCMP_ACT_ALLOW"
            && entry["args"].as_array().is_none_or(|a| a.is_empty())
            && entry["includes"].as_object().is_none_or(|o| o.is_empty());
        if !unconditional {
            continue;
        }
        for n in entry["names"].as_array()? {
            if let Some(nr) = n.as_str().and_then(|n| Arch::X86_64.syscall_nr(n)) {
                if !nrs.contains(&nr) {
                    nrs.push(nr);
                }
            }
        }
    }
    Some(nrs)
}

fn docker_sets() -> Vec<CaseSet> {
    let Some(nrs) = docker_allowed() else {
        println!("skipped: corpus not found (Docker profile)");
        return Vec::new();
    };
    let s = SockFilter::stmt;
    let j = SockFilter::jump;
    let prologue = [
        s(BPF_LD | BPF_W | BPF_ABS, SECCOMP_DATA_ARCH),
        j(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
        s(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
        s(BPF_LD | BPF_W | BPF_ABS, SECCOMP_DATA_NR),
        j(BPF_JMP | BPF_JGE | BPF_K, X32_SYSCALL_BIT, 0, 1),
        s(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | 1),
    ];
    // libseccomp-style: blocks of jeq whose hits jump to an ALLOW after the block.
    let mut chain = prologue.to_vec();
    for block in nrs.chunks(200) {
        for (i, &nr) in block.iter().enumerate() {
            chain.push(j(BPF_JMP | BPF_JEQ | BPF_K, nr, (block.len() - i) as u8, 0));
        }
        chain.push(s(BPF_JMP | BPF_JA, 1));
        chain.push(s(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
    }
    chain.push(s(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | 1));
    // Inline: jeq #nr, 0, 1; ret ALLOW.
    let mut inline = prologue.to_vec();
    for &nr in &nrs {
        inline.push(j(BPF_JMP | BPF_JEQ | BPF_K, nr, 0, 1));
        inline.push(s(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
    }
    inline.push(s(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | 1));
    let inputs: Vec<(SeccompData, Endian)> = (0..=460)
        .chain((0..20).map(|n| X32_SYSCALL_BIT as i32 + n))
        .map(|nr| (SeccompData::for_arch(Arch::X86_64, nr), Endian::Little))
        .collect();
    vec![
        CaseSet {
            name: format!("docker-linear-chain-{}insns", chain.len()),
            prog: chain,
            inputs: inputs.clone(),
        },
        CaseSet {
            name: format!("docker-linear-inline-{}insns", inline.len()),
            prog: inline,
            inputs,
        },
    ]
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

fn eval_prepared(r: &Ready) -> u32 {
    let mut acc = 0u32;
    for (d, e) in &r.inputs {
        acc = acc.wrapping_add(r.prepared.run(black_box(d), *e).ret);
    }
    acc
}

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

/// Side-by-side timing, interleaved to share the machine's noise.
fn side_by_side() {
    println!("\nside by side (ns per evaluation; ratio = C / prepared, > 1 means faster than C):");
    for r in ready() {
        let n = r.inputs.len() as f64;
        let (mut ours, mut theirs) = (Duration::ZERO, Duration::ZERO);
        let rounds = (200_000.0 / (n * r.mean_steps.max(1.0)).max(1.0)).ceil() as usize + 5;
        for _ in 0..rounds {
            let t = Instant::now();
            black_box(eval_prepared(&r));
            ours += t.elapsed();
            let t = Instant::now();
            black_box(eval_c(&r));
            theirs += t.elapsed();
        }
        let per = |d: Duration| d.as_nanos() as f64 / (rounds as f64 * n);
        println!(
            "  {:40} {:5} insns, {:6.1} steps/eval: prepared {:8.1}  C {:8.1}  ratio {:5.2}",
            r.name,
            r.prog.len(),
            r.mean_steps,
            per(ours),
            per(theirs),
            per(theirs) / per(ours)
        );
    }
}

criterion_group!(benches, bench);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    side_by_side();
}
