//! Assembler throughput (bytes of source per second): the kernel
//! documentation's `bpf_asm` examples, the golang/net list of every
//! instruction, and a large generated seccomp-style source of 4000
//! instructions with labels, symbolic names and comments.
//!
//! Run: `cargo bench -p benches --bench asm`.

mod common;

use std::hint::black_box;

use bpf_asm::text::{assemble, AsmOptions};
use bpf_asm::Arch;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

/// A seccomp-style source of about `n` instructions: an architecture
/// check, then one block per syscall number testing an argument, each
/// with its own labels (jumps stay short).
fn generated(n: usize) -> String {
    let mut s = String::from(
        "; generated\n    ld [arch]\n    jeq #AUDIT_ARCH_X86_64, ok\n    ret KILL_PROCESS\nok: ld [nr]\n",
    );
    let mut insns = 4;
    let mut i = 0;
    let mut label = String::new();
    while insns + 7 < n {
        s.push_str(&format!(
            "{label}    jneq #{i}, next{i}   ; syscall {i}\n    ld [arg{a}]\n    and #0xff\n    jeq #0x{v:x}, allow{i}\n    ld [nr]\n    ret ERRNO(EPERM)\nallow{i}: ret ALLOW\n",
            a = i % 6,
            v = i & 0xff
        ));
        label = format!("next{i}: ");
        insns += 7;
        i += 1;
    }
    s.push_str(&format!("{label}ret ERRNO(EPERM)\n"));
    s
}

/// Named groups of sources; each group is timed as a whole.
fn sources() -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    if let Some(json) = testkit::corpus::json("bpf-asm/examples.json") {
        let examples: Vec<String> = json["examples"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e["source"].as_str().map(String::from))
            .collect();
        out.push(("kernel_examples".to_string(), examples));
        let list = testkit::corpus::text("bpf-asm/all_instructions.txt").expect("corpus present");
        out.push(("all_instructions".to_string(), vec![list]));
    }
    out.push(("generated_4000".to_string(), vec![generated(4000)]));
    out
}

fn bench(c: &mut Criterion) {
    let opts = AsmOptions::for_arch(Arch::X86_64);
    let mut g = c.benchmark_group("assemble");
    for (name, srcs) in sources() {
        let mut insns = 0;
        for s in &srcs {
            match assemble(s, &opts) {
                Ok(p) => insns += p.len(),
                Err(e) => panic!("{name}: does not assemble: {e}\n{s}"),
            }
        }
        let bytes: usize = srcs.iter().map(String::len).sum();
        g.throughput(Throughput::Bytes(bytes as u64));
        g.bench_function(format!("{name} ({insns} insns)"), |b| {
            b.iter(|| {
                for s in &srcs {
                    black_box(assemble(black_box(s), &opts).ok());
                }
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
