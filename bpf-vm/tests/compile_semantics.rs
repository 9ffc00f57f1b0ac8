//! The policy compiler against the policy's meaning: generated policies
//! (every operator, width, mask and action, several architectures including
//! big-endian ones and i386, overlapping rules) compiled in every layout must
//! pass the verifier, agree with `evaluate` under emulation on inputs at and
//! around every constant, keep unconditionally allowed syscalls cacheable,
//! and agree with each other. Corpus profiles must compile in every layout.

use bpf_asm::policy::compile::{compile_resolved, CompileOptions, Layout};
use bpf_asm::policy::eval::{evaluate, is_x32};
use bpf_asm::policy::resolve::{resolve, value_fits, Resolved};
use bpf_asm::policy::{Action, CmpOp, Condition, Policy, Rule, SyscallRef, Width};
use bpf_asm::seccomp::{AUDIT_ARCH_X86_64, X32_SYSCALL_BIT};
use bpf_asm::{Arch, SockFilter};
use bpf_vm::emu::Prepared;
use bpf_vm::prove::{prove, CannotProve, ExploreError, ProveError, Unsupported};
use bpf_vm::{seccomp_is_const_allow, verify, Mode, SeccompData};
use testkit::Rng;

const ARCHES: [Arch; 7] = [
    Arch::X86_64,
    Arch::X86,
    Arch::Aarch64,
    Arch::S390x,
    Arch::Arm,
    Arch::Mips,
    Arch::Ppc64,
];

const SYSCALLS: [&str; 16] = [
    "read",
    "write",
    "close",
    "openat",
    "ioctl",
    "socket",
    "futex",
    "getpid",
    "kill",
    "fcntl",
    "mmap",
    "clone",
    "prctl",
    "personality",
    "lseek",
    "dup3",
];

fn action(rng: &mut Rng) -> Action {
    match rng.below(8) {
        0 => Action::Allow,
        1 => Action::Log,
        2 => Action::KillProcess,
        3 => Action::KillThread,
        4 => Action::Trap(rng.below(4) as u16),
        5 => Action::Errno(rng.pick(&[1u16, 13, 38, 4095])),
        6 => Action::Trace(rng.below(3) as u16),
        _ => Action::UserNotif,
    }
}

fn constant(rng: &mut Rng) -> u64 {
    match rng.below(10) {
        0 => 0,
        1 => 1,
        2 => rng.below(64),
        3 => 0x7fff_ffff,
        4 => 0x8000_0000,
        5 => 0xffff_ffff,
        6 => 0x1_0000_0000 + rng.below(3),
        7 => u64::MAX - rng.below(2),
        8 => (-(rng.below(100) as i64 + 1)) as u64,
        _ => rng.next_u64() >> rng.below(64),
    }
}

fn condition(rng: &mut Rng) -> Condition {
    loop {
        let width = rng.pick(&[Width::U64, Width::U64, Width::U32, Width::I32, Width::Hi32]);
        let op = rng.pick(&[
            CmpOp::Eq,
            CmpOp::Ne,
            CmpOp::Lt,
            CmpOp::Le,
            CmpOp::Gt,
            CmpOp::Ge,
        ]);
        let mask = if rng.chance(35, 100) {
            let m = match rng.below(4) {
                0 => 0xff,
                1 => 0x8000_0000,
                2 => 0xffff_0000_0000_ffff,
                _ => rng.next_u64(),
            };
            Some(if width == Width::U64 {
                m
            } else {
                m & 0xffff_ffff
            })
        } else {
            None
        };
        let value = constant(rng);
        if value_fits(value, width) {
            return Condition {
                arg: rng.below(6) as u8,
                width,
                mask,
                op,
                value,
            };
        }
    }
}

fn policy(rng: &mut Rng) -> Policy {
    let mut arches = Vec::new();
    for _ in 0..1 + rng.below(3) {
        let a = rng.pick(&ARCHES);
        if !arches.contains(&a) {
            arches.push(a);
        }
    }
    let mut rules = Vec::new();
    for _ in 0..2 + rng.below(10) {
        let mut syscalls = Vec::new();
        for _ in 0..1 + rng.below(4) {
            // Now and then a syscall written as a number (one of the names'
            // numbers on x86_64, or one no table names).
            let name = match rng.below(12) {
                0 => rng
                    .pick(&[5u64, 16, 0x4000_0001, 1000, 0xffff_ffff])
                    .to_string(),
                _ => rng.pick(&SYSCALLS).to_string(),
            };
            syscalls.push(SyscallRef {
                name,
                optional: true,
            });
        }
        // Now and then a rule restricted to some of the policy's arches.
        let rule_arches: Vec<Arch> = if rng.chance(25, 100) {
            arches
                .iter()
                .copied()
                .filter(|_| rng.chance(50, 100))
                .collect()
        } else {
            Vec::new()
        };
        let n_conds = rng.pick(&[0u64, 0, 1, 1, 2, 3]);
        rules.push(Rule {
            arches: rule_arches,
            syscalls,
            conditions: (0..n_conds).map(|_| condition(rng)).collect(),
            action: action(rng),
        });
    }
    Policy {
        default: action(rng),
        arches,
        allow_x32: rng.chance(20, 100),
        bad_arch: action(rng),
        rules,
        tests: Vec::new(),
        enosys: Default::default(),
        flags: Default::default(),
        listener: None,
    }
}

/// Argument values at and around every constant (and mask) of the policy,
/// with both halves and the sign boundaries varied.
fn interesting_values(p: &Policy) -> Vec<u64> {
    let mut v = vec![
        0,
        1,
        u64::MAX,
        0x7fff_ffff,
        0x8000_0000,
        0xffff_ffff,
        0x1_0000_0000,
    ];
    for r in &p.rules {
        for c in &r.conditions {
            for base in [
                c.value,
                c.value & c.mask.unwrap_or(u64::MAX),
                c.mask.unwrap_or(0),
            ] {
                for d in [base.wrapping_sub(1), base, base.wrapping_add(1)] {
                    v.push(d);
                    v.push(d & 0xffff_ffff); // high half cleared
                    v.push(d | 0xffff_ffff_0000_0000); // high half set
                    v.push(d ^ 0x8000_0000); // low-word sign flipped
                    v.push((d & 0xffff_ffff) | ((d as u32 as u64 + 1) << 32)); // other high half
                    v.push((d as u32 as u64) << 32); // the low word as the high half (hi32)
                    v.push(((d as u32 as u64) << 32) | 0xffff_ffff);
                }
            }
        }
    }
    v.sort_unstable();
    v.dedup();
    v
}

fn numbers(resolved: &Resolved, arch: Arch) -> Vec<u32> {
    let mut nrs = vec![0, 1, u32::MAX, 0x7fff_ffff, 0x8000_0000, X32_SYSCALL_BIT];
    let (_, last) = arch.syscall_range();
    nrs.extend([last, last + 1, last + 2]);
    if let Some(rules) = resolved.arch(arch.audit_arch()) {
        for (nr, _) in rules.syscalls() {
            nrs.extend([
                nr.wrapping_sub(1),
                nr,
                nr.wrapping_add(1),
                nr | X32_SYSCALL_BIT,
            ]);
        }
    }
    nrs.sort_unstable();
    nrs.dedup();
    nrs
}

fn compile_all(resolved: &Resolved) -> Vec<(Layout, Vec<SockFilter>)> {
    Layout::ALL
        .iter()
        .map(|&layout| {
            let opts = CompileOptions {
                layout,
                profile: None,
            };
            let c = compile_resolved(resolved, &opts)
                .unwrap_or_else(|e| panic!("{layout} layout failed: {e}"));
            (layout, c.program)
        })
        .collect()
}

/// Whether every call of `nr` on `arch` is allowed whatever its arguments.
fn unconditionally_allowed(resolved: &Resolved, arch: Arch, nr: u32) -> bool {
    if arch == Arch::X86_64 && is_x32(nr) && !resolved.allow_x32 {
        return resolved.bad_arch == Action::Allow;
    }
    let Some(rules) = resolved.arch(arch.audit_arch()) else {
        return false;
    };
    match rules
        .rules_for(nr)
        .find(|r| r.action != Action::Allow || r.is_unconditional())
    {
        Some(r) => r.is_unconditional() && r.action == Action::Allow,
        None => resolved.default == Action::Allow,
    }
}

fn check_policy(seed: u64, p: &Policy, rng: &mut Rng) -> usize {
    let resolved = match resolve(p) {
        Ok(r) => r,
        Err(e) => panic!("seed {seed:#x}: generated policy does not resolve: {e}"),
    };
    let programs = compile_all(&resolved);
    let prepared: Vec<(Layout, Prepared)> = programs
        .iter()
        .map(|(l, prog)| {
            if let Err(e) = verify(prog, Mode::Seccomp) {
                panic!("seed {seed:#x}: {l} program rejected by the verifier: {e:?}");
            }
            (*l, Prepared::new(prog).expect("verified"))
        })
        .collect();
    let values = interesting_values(p);
    let mut checked = 0;
    let mut arches: Vec<(u32, Option<Arch>)> = p
        .arches
        .iter()
        .map(|a| (a.audit_arch(), Some(*a)))
        .collect();
    let foreign = ARCHES.iter().copied().find(|a| !p.arches.contains(a));
    arches.push((foreign.map_or(0x1234_5678, |a| a.audit_arch()), foreign));
    for &(audit, arch) in &arches {
        let listed = arch.is_some_and(|a| p.arches.contains(&a));
        let endian_arch = arch.unwrap_or(Arch::X86_64);
        let nrs = numbers(&resolved, endian_arch);
        for &nr in &nrs {
            // A few argument vectors: random ones, then each argument swept
            // over the interesting values with the others random.
            let mut inputs: Vec<[u64; 6]> = Vec::new();
            for _ in 0..3 {
                inputs.push(core::array::from_fn(|_| rng.pick(&values)));
            }
            inputs.push([rng.next_u64(); 6]);
            if listed {
                for i in 0..6 {
                    for &v in &values {
                        let mut args: [u64; 6] = core::array::from_fn(|_| rng.pick(&values));
                        args[i] = v;
                        inputs.push(args);
                    }
                }
            }
            for args in &inputs {
                let want = evaluate(&resolved, audit, nr, args);
                let data = SeccompData {
                    nr: nr as i32,
                    arch: audit,
                    instruction_pointer: rng.next_u64(),
                    args: *args,
                };
                for (layout, prog) in &prepared {
                    let got = prog.run(&data, endian_arch.endian()).ret;
                    assert_eq!(
                        got,
                        want.to_ret(),
                        "seed {seed:#x}: {layout} layout: arch {audit:#x} nr {nr:#x} args {args:#x?}: program returns {got:#x}, policy says {want}\npolicy: {p:#?}"
                    );
                    checked += 1;
                }
            }
            if let Some(a) = arch.filter(|_| listed) {
                if unconditionally_allowed(&resolved, a, nr)
                    && !(a == Arch::X86_64 && nr >= 0x4000_0000)
                    && (nr as i32) >= 0
                {
                    for (layout, prog) in &programs {
                        assert!(
                            seccomp_is_const_allow(prog, nr, audit),
                            "seed {seed:#x}: {layout}: allowed syscall {nr} on {} is not cacheable",
                            a.name()
                        );
                    }
                }
            }
        }
    }
    checked
}

#[test]
fn generated_policies_agree_with_evaluate_in_every_layout() {
    let mut total = 0;
    let base = testkit::seed("generated_policies_agree_with_evaluate", 0x5eed_0000);
    for case in 0..60u64 {
        let seed = base.wrapping_add(case);
        let mut rng = Rng::new(seed);
        let p = policy(&mut rng);
        total += check_policy(seed, &p, &mut rng);
    }
    assert!(total > 10_000, "only {total} inputs checked");
}

/// The five argument sets of the libseccomp comparison.
const ARG_SETS: [[u64; 6]; 5] = [
    [0; 6],
    [u64::MAX; 6],
    [1, 2, 3, 4, 5, 6],
    [
        0x7e02_0000,
        0x10,
        0x8000_0000,
        0xffff_ffff,
        0x1_0000_0000,
        7,
    ],
    [
        0xdead_beef_cafe_f00d,
        0x0123_4567_89ab_cdef,
        40,
        41,
        0x0800_0000,
        9,
    ],
];

/// Mean instructions executed over syscall numbers 0..1024 and the same
/// numbers with the x32 bit, on x86_64, with the five argument sets; also
/// checks every decision against the policy.
fn docker_measure(resolved: &Resolved, prog: &[SockFilter]) -> f64 {
    let prepared = Prepared::new(prog).expect("verifies");
    let mut steps = 0usize;
    let mut calls = 0usize;
    for base in [0u32, X32_SYSCALL_BIT] {
        for nr in base..base + 1024 {
            for args in &ARG_SETS {
                let data = SeccompData {
                    nr: nr as i32,
                    arch: AUDIT_ARCH_X86_64,
                    instruction_pointer: 0,
                    args: *args,
                };
                let out = prepared.run(&data, Arch::X86_64.endian());
                let want = evaluate(resolved, AUDIT_ARCH_X86_64, nr, args);
                assert_eq!(out.ret, want.to_ret(), "nr {nr:#x} args {args:x?}");
                steps += out.steps;
                calls += 1;
            }
        }
    }
    steps as f64 / calls as f64
}

fn load_docker(corpus: &std::path::Path) -> Resolved {
    use bpf_asm::policy::load::{load_file, LoadOptions};
    let mut opts = LoadOptions::default();
    opts.oci.arch = Some(Arch::X86_64);
    opts.oci.kernel = (6, 18);
    let mut p = load_file(&corpus.join("policies/docker/default.json"), &opts)
        .unwrap_or_else(|e| panic!("docker profile: {e}"));
    p.arches = vec![Arch::X86_64];
    resolve(&p).unwrap_or_else(|e| panic!("docker profile: {e}"))
}

/// libseccomp 2.5.4 on Docker's default profile (x86_64, default
/// capabilities): 337 instructions (linear), 415 (tree), about 12.6
/// instructions executed per call on this measure (tree). `auto` must be
/// smaller than 337 and faster than 12.6, with identical decisions.
#[test]
fn docker_default_profile_beats_libseccomp() {
    let Some(corpus) = testkit::corpus::dir() else {
        return;
    };
    let resolved = load_docker(&corpus);
    let mut auto = None;
    for (layout, prog) in compile_all(&resolved) {
        verify(&prog, Mode::Seccomp).expect("verifies");
        let mean = docker_measure(&resolved, &prog);
        println!(
            "docker default, x86_64, {layout}: {} instructions, {mean:.2} executed per call",
            prog.len()
        );
        if layout == Layout::Auto {
            auto = Some((prog.len(), mean));
        }
    }
    let (len, mean) = auto.expect("auto compiled");
    // The second libseccomp figure: over the defined syscalls with the
    // argument mix, about 15.7 per call, at most 23.
    let prog = &compile_all(&resolved)[3].1;
    let prepared = Prepared::new(prog).expect("verifies");
    let (mut sum, mut n, mut max) = (0usize, 0usize, 0usize);
    for (nr, _) in Arch::X86_64.syscalls() {
        for args in &ARG_SETS {
            let data = SeccompData::for_arch(Arch::X86_64, nr as i32).with_args(*args);
            let steps = prepared.run(&data, Arch::X86_64.endian()).steps;
            sum += steps;
            n += 1;
            max = max.max(steps);
        }
    }
    let defined_mean = sum as f64 / n as f64;
    println!(
        "docker default, x86_64, auto: {defined_mean:.2} executed per defined syscall, max {max}"
    );
    assert!(
        defined_mean < 15.7,
        "auto executes {defined_mean:.2} per defined syscall, libseccomp 15.7"
    );
    assert!(
        max <= 23,
        "auto executes up to {max} instructions, libseccomp 23"
    );
    assert!(
        len < 337,
        "auto program has {len} instructions, libseccomp needs 337"
    );
    assert!(
        mean < 12.6,
        "auto executes {mean:.2} instructions per call, libseccomp 12.6"
    );
}

/// Every layout's program is proven equal to the policy; a mutated program
/// is either still proven or refuted by a counterexample that really is one.
#[test]
fn compiled_programs_are_proven_and_mutants_refuted() {
    let mut refuted = 0;
    let base = testkit::seed(
        "compiled_programs_are_proven_and_mutants_refuted",
        0x9e00_0000,
    );
    for case in 0..35u64 {
        let seed = base.wrapping_add(case);
        let mut rng = Rng::new(seed);
        let mut p = policy(&mut rng);
        // Every architecture in five cases at least.
        let arch = ARCHES[case as usize % ARCHES.len()];
        if !p.arches.contains(&arch) {
            p.arches.push(arch);
        }
        let resolved = resolve(&p).expect("resolves");
        for (layout, prog) in compile_all(&resolved) {
            if let Err(e) = prove(&prog, &resolved) {
                panic!("seed {seed:#x}: {layout}: {e}\n{p:#?}");
            }
            // Mutate one return value or one jump constant.
            let mut m = prog.clone();
            let i = rng.below(m.len() as u64) as usize;
            if m[i].code == bpf_asm::BPF_RET | bpf_asm::BPF_K {
                m[i].k = action(&mut rng).to_ret();
            } else if bpf_asm::bpf_class(m[i].code) == bpf_asm::BPF_JMP
                && m[i].code != bpf_asm::BPF_JMP
            {
                m[i].k = m[i].k.wrapping_add(rng.pick(&[1u32, u32::MAX]));
            } else {
                continue;
            }
            match prove(&m, &resolved) {
                Ok(_) => {}
                Err(ProveError::Counterexample(c)) => {
                    let got = Prepared::new(&m)
                        .expect("verifies")
                        .run(&c.data(), c.endian)
                        .ret;
                    let want = evaluate(&resolved, c.audit_arch, c.nr, &c.args);
                    assert_eq!(
                        got, c.program,
                        "seed {seed:#x}: counterexample misreports the program"
                    );
                    assert_eq!(
                        want, c.policy,
                        "seed {seed:#x}: counterexample misreports the policy"
                    );
                    assert_ne!(
                        got,
                        want.to_ret(),
                        "seed {seed:#x}: not a counterexample: {c}"
                    );
                    refuted += 1;
                }
                Err(e) => panic!("seed {seed:#x}: mutant: {e}"),
            }
        }
    }
    assert!(refuted > 10, "only {refuted} mutants refuted");
}

#[test]
fn docker_default_profile_is_proven() {
    let Some(corpus) = testkit::corpus::dir() else {
        return;
    };
    let resolved = load_docker(&corpus);
    for (layout, prog) in compile_all(&resolved) {
        match prove(&prog, &resolved) {
            Ok(proof) => println!("{layout}: {proof:?}"),
            Err(e) => panic!("{layout}: {e}"),
        }
    }
}

/// Every corpus profile compiles in every layout, verifies and is proven.
#[test]
fn corpus_profiles_compile_in_every_layout() {
    use bpf_asm::policy::load::{load_file, LoadOptions};
    let Some(corpus) = testkit::corpus::dir() else {
        return;
    };
    let mut files = Vec::new();
    for sub in [
        "docker",
        "docker/fixtures",
        "podman",
        "flatpak",
        "kubernetes",
        "firecracker",
    ] {
        let Ok(dir) = std::fs::read_dir(corpus.join("policies").join(sub)) else {
            continue;
        };
        for e in dir.flatten() {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "json") {
                files.push(p);
            }
        }
    }
    files.sort();
    let mut compiled = 0;
    for path in &files {
        let text = std::fs::read_to_string(path).expect("readable");
        // Firecracker files hold one filter per thread category.
        let filters: Vec<Option<String>> = match serde_json::from_str::<serde_json::Value>(&text) {
            Ok(serde_json::Value::Object(m))
                if !m.contains_key("defaultAction") && !m.contains_key("syscalls") =>
            {
                m.keys().map(|k| Some(k.clone())).collect()
            }
            _ => vec![None],
        };
        // Firecracker files are per architecture (named after it).
        let name = path
            .file_name()
            .map_or(String::new(), |n| n.to_string_lossy().into_owned());
        let arches: &[Arch] = if name.starts_with("aarch64") {
            &[Arch::Aarch64]
        } else if path.parent().is_some_and(|d| d.ends_with("firecracker")) {
            &[Arch::X86_64]
        } else {
            &[Arch::X86_64, Arch::Aarch64]
        };
        for filter in filters {
            for &arch in arches {
                let mut opts = LoadOptions::default();
                opts.oci.arch = Some(arch);
                opts.oci.kernel = (6, 1);
                opts.filter = filter.clone();
                let p = match load_file(path, &opts) {
                    Ok(p) => p,
                    Err(e) => panic!("{}: {e}", path.display()),
                };
                let resolved = resolve(&p).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                for (layout, prog) in compile_all(&resolved) {
                    if let Err(e) = verify(&prog, Mode::Seccomp) {
                        panic!("{} {filter:?} {layout}: rejected: {e:?}", path.display());
                    }
                    if let Err(e) = prove(&prog, &resolved) {
                        panic!("{} {filter:?} {layout}: {e}", path.display());
                    }
                    compiled += 1;
                }
            }
        }
    }
    println!("{compiled} programs compiled, verified and proven");
    assert!(compiled >= 8 * 4, "only {compiled} programs");
}

/// Arithmetic on argument words is outside the proof method: the prover
/// says so instead of claiming a proof.
#[test]
fn prover_refuses_arithmetic_on_arguments() {
    use bpf_asm::{AluOp, Insn, JmpOp, Size, Src};
    let p = Policy {
        default: Action::Allow,
        arches: vec![Arch::X86_64],
        allow_x32: true,
        bad_arch: Action::Allow,
        rules: Vec::new(),
        tests: Vec::new(),
        enosys: Default::default(),
        flags: Default::default(),
        listener: None,
    };
    let resolved = resolve(&p).expect("resolves");
    let prog = [
        Insn::LdAbs(Size::W, 16).encode(),
        Insn::Alu(AluOp::Add, Src::K(1)).encode(),
        Insn::Jmp {
            op: JmpOp::Jeq,
            src: Src::K(0),
            jt: 0,
            jf: 1,
        }
        .encode(),
        Insn::RetK(0).encode(),
        Insn::RetK(Action::Allow.to_ret()).encode(),
    ];
    match prove(&prog, &resolved) {
        Err(ProveError::CannotProve(CannotProve::Explore(ExploreError::Unsupported {
            pc: 1,
            what: Unsupported::ArithmeticOnWord(AluOp::Add),
            ..
        }))) => {}
        other => panic!("expected cannot-prove, got {other:?}"),
    }
}

/// A frequency profile moves the profiled syscalls onto shorter paths: the
/// weighted cost of `auto` with the profile is at most its cost without, and
/// the hottest syscall gets strictly cheaper in at least one of the cases.
#[test]
fn frequency_profile_shortens_hot_paths() {
    use bpf_asm::policy::compile::{compile_resolved, CompileOptions, Profile};
    use bpf_vm::analysis::syscall_steps;
    let Some(corpus) = testkit::corpus::dir() else {
        return;
    };
    let resolved = load_docker(&corpus);
    let audit = Arch::X86_64.audit_arch();
    let hot = [
        "futex",
        "read",
        "write",
        "epoll_pwait",
        "recvfrom",
        "sendto",
    ];
    let steps = |prog: &[SockFilter], name: &str| {
        let nr = Arch::X86_64.syscall_nr(name).expect("known syscall");
        syscall_steps(prog, nr, audit, 100_000)
            .expect("verifies")
            .max
    };
    let plain = compile_resolved(&resolved, &CompileOptions::default())
        .expect("compiles")
        .program;
    let mut improved = 0;
    for (i, name) in hot.iter().enumerate() {
        let profile = Profile {
            weights: vec![(name.to_string(), 1_000_000)],
        };
        let opts = CompileOptions {
            profile: Some(profile),
            ..CompileOptions::default()
        };
        let weighted = compile_resolved(&resolved, &opts)
            .expect("compiles")
            .program;
        let (before, after) = (steps(&plain, name), steps(&weighted, name));
        assert!(
            after <= before,
            "case {i}: profiling {name} made it slower: {before} -> {after} steps"
        );
        if after < before {
            improved += 1;
        }
    }
    assert!(improved > 0, "no profiled syscall got a shorter path");
}

/// `p` split into a stack of two policies the way filter stacks share
/// work: the first decides the syscalls of the first half of the names
/// (with the default, the architecture checks and x32) and allows the
/// rest; the second decides the other syscalls (their fall-through gets
/// `p`'s default) and allows everything else.
fn split_in_two(p: &Policy) -> (Policy, Policy) {
    let mut names: Vec<String> = Vec::new();
    for r in &p.rules {
        for s in &r.syscalls {
            if !names.contains(&s.name) {
                names.push(s.name.clone());
            }
        }
    }
    // Names that are the same syscall on some architecture (a number and
    // the name it is, say) must go to the same filter.
    let number = |arch: Arch, name: &str| {
        name.parse::<u32>()
            .ok()
            .or_else(|| bpf_asm::policy::resolve::syscall_nr(arch, name))
    };
    let same = |x: &str, y: &str| {
        p.arches
            .iter()
            .any(|&a| number(a, x).is_some() && number(a, x) == number(a, y))
    };
    let mut groups: Vec<Vec<String>> = Vec::new();
    for n in names {
        // Merge every group the name joins.
        let (mut joined, rest): (Vec<Vec<String>>, Vec<Vec<String>>) = groups
            .into_iter()
            .partition(|g| g.iter().any(|m| same(m, &n)));
        groups = rest;
        let mut g: Vec<String> = joined.drain(..).flatten().collect();
        g.push(n);
        groups.push(g);
    }
    let half = groups.len() / 2;
    let first: Vec<String> = groups[..half].concat();
    let second: Vec<String> = groups[half..].concat();
    let (first, second) = (&first[..], &second[..]);
    let refs = |set: &[String]| -> Vec<SyscallRef> {
        set.iter()
            .map(|n| SyscallRef {
                name: n.clone(),
                optional: true,
            })
            .collect()
    };
    let only = |set: &[String]| -> Vec<Rule> {
        p.rules
            .iter()
            .filter_map(|r| {
                let syscalls: Vec<SyscallRef> = r
                    .syscalls
                    .iter()
                    .filter(|s| set.contains(&s.name))
                    .map(|s| SyscallRef {
                        name: s.name.clone(),
                        optional: true,
                    })
                    .collect();
                (!syscalls.is_empty()).then(|| Rule {
                    syscalls,
                    ..r.clone()
                })
            })
            .collect()
    };
    let mut a = p.clone();
    a.rules = only(first);
    if !second.is_empty() {
        a.rules.push(Rule {
            arches: Vec::new(),
            syscalls: refs(second),
            conditions: Vec::new(),
            action: Action::Allow,
        });
    }
    let mut b = p.clone();
    b.rules = only(second);
    if !second.is_empty() {
        b.rules.push(Rule {
            arches: Vec::new(),
            syscalls: refs(second),
            conditions: Vec::new(),
            action: p.default,
        });
    }
    b.default = Action::Allow;
    b.bad_arch = Action::Allow;
    // x32 calls keep the policy's treatment: when it refuses them as a bad
    // architecture, `b` must let them through to `a`'s refusal, not decide
    // them as x86_64 numbers (found by new generated cases: TEST_SEED=0x57ac0014).
    b.allow_x32 = p.allow_x32;
    (a, b)
}

/// A stack of two compiled filters that shares the policy's work is proven
/// equal to the policy under the kernel's stack semantics, in every
/// layout; a mutant of either filter is proven or refuted by a
/// counterexample the stack model confirms.
#[test]
fn compiled_stacks_are_proven_and_mutants_refuted() {
    use bpf_vm::prove::prove_stack;
    use bpf_vm::{run_stack, KernelModel};
    let mut refuted = 0;
    let base = testkit::seed(
        "compiled_stacks_are_proven_and_mutants_refuted",
        0x57ac_0000,
    );
    for case in 0..21u64 {
        let seed = base.wrapping_add(case);
        let mut rng = Rng::new(seed);
        let mut p = policy(&mut rng);
        let arch = ARCHES[case as usize % ARCHES.len()];
        if !p.arches.contains(&arch) {
            p.arches.push(arch);
        }
        let resolved = resolve(&p).expect("resolves");
        let (a, b) = split_in_two(&p);
        let (ra, rb) = (
            resolve(&a).expect("resolves"),
            resolve(&b).expect("resolves"),
        );
        for ((layout, fa), (_, fb)) in compile_all(&ra).into_iter().zip(compile_all(&rb)) {
            let stack = [fa, fb];
            match prove_stack(&stack, &resolved) {
                Ok(proof) => assert_eq!(proof.filters, 2),
                Err(e) => panic!("seed {seed:#x}: {layout}: {e}\n{p:#?}"),
            }
            // Each filter alone is not the policy (unless the split is
            // trivial): the first allows what the second refuses.
            let mut m = stack.clone();
            let which = rng.below(2) as usize;
            let i = rng.below(m[which].len() as u64) as usize;
            let f = &mut m[which][i];
            if f.code == bpf_asm::BPF_RET | bpf_asm::BPF_K {
                f.k = action(&mut rng).to_ret();
            } else if bpf_asm::bpf_class(f.code) == bpf_asm::BPF_JMP && f.code != bpf_asm::BPF_JMP {
                f.k = f.k.wrapping_add(rng.pick(&[1u32, u32::MAX]));
            } else {
                continue;
            }
            match prove_stack(&m, &resolved) {
                Ok(_) => {}
                Err(ProveError::Counterexample(c)) => {
                    let newest_first = [&m[1][..], &m[0][..]];
                    let out = run_stack(&newest_first, &c.data(), c.endian, KernelModel::NO_CACHE)
                        .expect("verifies");
                    assert_eq!(out.ret, c.program, "seed {seed:#x}: {c}");
                    assert_eq!(
                        out.matched.map(|i| 1 - i),
                        c.filter,
                        "seed {seed:#x}: deciding filter of {c}"
                    );
                    let want = evaluate(&resolved, c.audit_arch, c.nr, &c.args);
                    assert_eq!(want, c.policy, "seed {seed:#x}: {c}");
                    assert_ne!(
                        out.ret,
                        want.to_ret(),
                        "seed {seed:#x}: not a counterexample: {c}"
                    );
                    refuted += 1;
                }
                Err(e) => panic!("seed {seed:#x}: stack mutant: {e}"),
            }
        }
    }
    assert!(refuted > 10, "only {refuted} stack mutants refuted");
}

/// The kernel's precedence between stacked filters: the most severe action
/// wins, and among equal actions the newest filter's data. A stack is
/// proven against the policy its combination means, and refuted against
/// the one a different order would mean.
#[test]
fn stack_precedence_is_the_kernels() {
    use bpf_asm::{Insn, SockFilter};
    use bpf_vm::prove::prove_stack;
    let ret = |a: Action| -> Vec<SockFilter> { vec![Insn::RetK(a.to_ret()).encode()] };
    let policy = |default: Action| {
        let mut p = Policy::new(default, vec![Arch::X86_64]);
        p.bad_arch = default;
        p.allow_x32 = true;
        resolve(&p).expect("resolves")
    };
    let (e1, e2) = (Action::Errno(1), Action::Errno(2));
    // Install order: errno(1) then errno(2); the newest (errno(2)) wins.
    let stack = [ret(e1), ret(e2)];
    assert!(prove_stack(&stack, &policy(e2)).is_ok());
    match prove_stack(&stack, &policy(e1)) {
        Err(ProveError::Counterexample(c)) => {
            assert_eq!(c.program, e2.to_ret());
            assert_eq!(c.filter, Some(1));
        }
        other => panic!("expected a counterexample, got {other:?}"),
    }
    // A more severe action wins whatever the order.
    for stack in [
        [ret(Action::Allow), ret(Action::KillThread)],
        [ret(Action::KillThread), ret(Action::Allow)],
    ] {
        assert!(prove_stack(&stack, &policy(Action::KillThread)).is_ok());
    }
    // Every filter allowing: exactly SECCOMP_RET_ALLOW.
    let stack = [ret(Action::Allow), ret(Action::Log), ret(Action::Allow)];
    assert!(prove_stack(&stack, &policy(Action::Log)).is_ok());
}

/// `number_cuts` keeps its contract: numbers that no rule names and that
/// lie between the same two cuts get the same `dispatch`, on every listed
/// architecture and on a foreign one.
#[test]
fn number_cuts_keep_dispatch_constant() {
    use bpf_asm::policy::eval::{dispatch, number_cuts};
    let base = testkit::seed("number_cuts_keep_dispatch_constant", 0xc075_0000);
    for case in 0..60u64 {
        let seed = base.wrapping_add(case);
        let mut rng = Rng::new(seed);
        let p = policy(&mut rng);
        let resolved = resolve(&p).expect("resolves");
        let mut audits: Vec<u32> = p.arches.iter().map(|a| a.audit_arch()).collect();
        audits.push(0x1234_5678);
        audits.push(AUDIT_ARCH_X86_64);
        for audit in audits {
            let cuts = number_cuts(&resolved, audit);
            assert_eq!(cuts.first(), Some(&0), "seed {seed:#x}");
            assert!(
                cuts.windows(2).all(|w| w[0] < w[1]),
                "seed {seed:#x}: {cuts:x?}"
            );
            let named = |n: u32| {
                resolved
                    .arch(audit)
                    .is_some_and(|r| r.rules_for(n).next().is_some())
            };
            for (i, &c) in cuts.iter().enumerate() {
                let end = cuts.get(i + 1).map_or(u32::MAX, |&n| n - 1);
                let mut samples = vec![
                    c,
                    end,
                    c.wrapping_add(1).min(end),
                    end.saturating_sub(1).max(c),
                ];
                for _ in 0..30 {
                    samples.push(c + (rng.next_u64() % (u64::from(end - c) + 1)) as u32);
                }
                let samples: Vec<u32> = samples.into_iter().filter(|&n| !named(n)).collect();
                let Some(&first) = samples.first() else {
                    continue;
                };
                let want = dispatch(&resolved, audit, first);
                for n in samples {
                    assert_eq!(
                        dispatch(&resolved, audit, n),
                        want,
                        "seed {seed:#x}: arch {audit:#x}: {n:#x} and {first:#x} lie between cuts {c:#x} and {end:#x}"
                    );
                }
            }
        }
    }
}
