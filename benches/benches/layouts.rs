//! Emulator time per evaluation of Docker's default profile compiled in
//! each layout (`bpf_vm::emu::Prepared`), over x86_64 syscall numbers
//! 0–1023 and the x32 range 0x40000000–0x400003ff with zero arguments, and
//! over the defined i386 syscalls. The mean instructions executed per
//! evaluation are printed beside each layout.
//!
//! Run: `cargo bench -p benches --bench layouts`.

mod common;

use std::hint::black_box;

use bpf_asm::seccomp::{AUDIT_ARCH_I386, AUDIT_ARCH_X86_64, X32_SYSCALL_BIT};
use bpf_asm::{Arch, Endian};
use bpf_vm::data::SeccompData;
use bpf_vm::emu::Prepared;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

fn bench(c: &mut Criterion) {
    let programs = common::docker_programs();
    if programs.is_empty() {
        return;
    }
    let inputs: Vec<SeccompData> = (0..1024u32)
        .chain(X32_SYSCALL_BIT..X32_SYSCALL_BIT + 1024)
        .map(|nr| SeccompData::new(nr as i32, AUDIT_ARCH_X86_64))
        .chain(
            Arch::X86
                .syscalls()
                .map(|(nr, _)| SeccompData::new(nr as i32, AUDIT_ARCH_I386)),
        )
        .collect();
    let mut g = c.benchmark_group("docker_layouts");
    g.throughput(Throughput::Elements(inputs.len() as u64));
    for (layout, prog) in &programs {
        let p = Prepared::new(prog).expect("compiled programs verify");
        let steps: usize = inputs.iter().map(|d| p.run(d, Endian::Little).steps).sum();
        let mean = steps as f64 / inputs.len() as f64;
        g.bench_function(
            format!("{layout} ({} insns, {mean:.1} steps/eval)", prog.len()),
            |b| {
                b.iter(|| {
                    let mut acc = 0u32;
                    for d in &inputs {
                        acc ^= p.run(black_box(d), Endian::Little).ret;
                    }
                    black_box(acc)
                })
            },
        );
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
