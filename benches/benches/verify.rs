//! Verifier throughput (instructions checked per second, seccomp mode): the
//! Docker profile compiled in each layout, the libseccomp test programs of
//! the corpus, and a generated 4096-instruction program using every seccomp
//! opcode class (scratch memory, X register, long forward jumps).
//!
//! Run: `cargo bench -p benches --bench verify`.

mod common;

use std::hint::black_box;

use bpf_asm::insn::*;
use bpf_asm::SockFilter;
use bpf_vm::verify::{verify, Mode};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

/// The raw programs of `libseccomp-tests/flattened_bpf_sim_vectors.json`.
fn libseccomp_programs() -> Vec<Vec<SockFilter>> {
    let Some(json) = testkit::corpus::json("libseccomp-tests/flattened_bpf_sim_vectors.json")
    else {
        return Vec::new();
    };
    json["programs"]
        .as_object()
        .into_iter()
        .flat_map(|o| o.values())
        .filter_map(|p| p["bpf_b64"].as_str())
        .map(|b| testkit::base64_decode(b).expect("valid base64"))
        .filter_map(|b| bpf_asm::encode::parse_raw(&b).ok())
        .filter(|p| verify(p, Mode::Seccomp).is_ok())
        .collect()
}

/// 4096 instructions: 16 scratch stores, then loads, scratch stores, ALU, X moves and jumps forward
/// by up to 255, ending in returns.
fn generated() -> Vec<SockFilter> {
    let n = 4096;
    // Every scratch cell is written first, so later reads are on every path.
    let mut p: Vec<SockFilter> = (0..16).map(|m| SockFilter::stmt(BPF_ST, m)).collect();
    for i in 16..n - 2 {
        let left = (n - 2 - i).min(255) as u8;
        let f = match i % 8 {
            0 => SockFilter::stmt(BPF_LD | BPF_W | BPF_ABS, ((i % 16) * 4) as u32),
            1 => SockFilter::stmt(BPF_ST, (i % 16) as u32),
            2 => SockFilter::stmt(BPF_ALU | BPF_AND | BPF_K, 0xff),
            3 => SockFilter::stmt(BPF_LDX | BPF_MEM, (i % 16) as u32),
            4 => SockFilter::stmt(BPF_ALU | BPF_ADD | BPF_X, 0),
            5 => SockFilter::jump(BPF_JMP | BPF_JEQ | BPF_K, i as u32, 0, left.min(200)),
            6 => SockFilter::stmt(BPF_MISC | BPF_TAX, 0),
            _ => SockFilter::jump(BPF_JMP | BPF_JGT | BPF_X, 0, left, 0),
        };
        p.push(f);
    }
    p.push(SockFilter::stmt(BPF_RET | BPF_A, 0));
    p.push(SockFilter::stmt(BPF_RET | BPF_K, 0x7fff_0000));
    p
}

fn bench(c: &mut Criterion) {
    let mut cases: Vec<(String, Vec<Vec<SockFilter>>)> = Vec::new();
    for (layout, prog) in common::docker_programs() {
        cases.push((format!("docker_{layout}"), vec![prog]));
    }
    let lib = libseccomp_programs();
    if !lib.is_empty() {
        cases.push((format!("libseccomp_tests_{}_programs", lib.len()), lib));
    }
    cases.push(("generated_4096".to_string(), vec![generated()]));
    let mut g = c.benchmark_group("verify");
    for (name, progs) in &cases {
        for p in progs {
            if let Err(e) = verify(p, Mode::Seccomp) {
                panic!("{name}: {e}");
            }
        }
        let insns: usize = progs.iter().map(Vec::len).sum();
        g.throughput(Throughput::Elements(insns as u64));
        g.bench_function(format!("{name} ({insns} insns)"), |b| {
            b.iter(|| {
                for p in progs {
                    black_box(verify(black_box(p), Mode::Seccomp).is_ok());
                }
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
