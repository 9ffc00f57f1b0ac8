//! Compile time of Docker's default profile
//! (`shared/corpus/policies/docker/default.json`, loaded as Docker does on
//! x86_64): loading the JSON, compiling the loaded policy in each layout,
//! and both together.
//!
//! Run: `cargo bench -p benches --bench compile`.

mod common;

use std::hint::black_box;

use bpf_asm::policy::compile::{compile, CompileOptions, Layout};
use bpf_asm::policy::load::load_str;
use criterion::{criterion_group, criterion_main, Criterion};

fn bench(c: &mut Criterion) {
    let Some(path) = common::docker_path() else {
        return;
    };
    let text = std::fs::read_to_string(&path).expect("Docker's profile");
    let opts = common::docker_options();
    let policy = load_str(&text, "default.json", &opts).expect("Docker's profile loads");
    let mut g = c.benchmark_group("docker_profile");
    g.bench_function("load", |b| {
        b.iter(|| black_box(load_str(black_box(&text), "default.json", &opts).ok()))
    });
    for layout in Layout::ALL {
        let copts = CompileOptions {
            layout,
            profile: None,
        };
        let n = compile(&policy, &copts).expect("compiles").len();
        g.bench_function(format!("compile_{layout} ({n} insns)"), |b| {
            b.iter(|| black_box(compile(black_box(&policy), &copts).ok()))
        });
    }
    g.bench_function("load_and_compile_auto", |b| {
        b.iter(|| {
            let p = load_str(black_box(&text), "default.json", &opts).expect("loads");
            black_box(compile(&p, &CompileOptions::default()).ok())
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
