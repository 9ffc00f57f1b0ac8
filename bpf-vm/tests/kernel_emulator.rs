//! Differential tests of the `bpf_vm` emulator and stack model against the
//! running kernel: generated filters are installed in forked children (never
//! in the test runner), the child makes one harmless system call, and how it
//! ended (return value / errno, SIGSYS through its handler for RET_TRAP,
//! death by SIGSYS for the kill actions) must be what the emulated return
//! value implies.
//!
//! KILL_THREAD, KILL_PROCESS and unknown actions all kill a single-threaded
//! child with SIGSYS; the harness does not tell them apart. RET_TRAP is told
//! apart by a SIGSYS handler installed before the filter (kills bypass it).
//!
//! Override the seed with `TEST_SEED` (or the older `BPF_VM_SEED`) and the number of programs with
//! `BPF_VM_EMULATOR_CASES` / `BPF_VM_STACK_CASES`.

mod support;

use std::sync::OnceLock;

use bpf_asm::insn::*;
use bpf_asm::seccomp::*;
use bpf_asm::{Arch, Endian};
use bpf_vm::action::{combine, KernelAction};
use bpf_vm::budget::{check_attach, ebpf_len, max_stack_depth};
use bpf_vm::data::SeccompData;
use bpf_vm::emu;
use bpf_vm::kernel::KernelModel;
use bpf_vm::stack::run_stack;
use bpf_vm::verify::{verify, Mode};
use support::gen::{self, GenConfig};
use support::kernel::{self, Call, Observed, SKIP_MSG};
use testkit::Rng;

/// The host the kernel runs on, when the kernel tests can run at all.
fn host() -> Option<Arch> {
    if !kernel::seccomp_available() {
        println!("{SKIP_MSG}");
        return None;
    }
    let host = Arch::host();
    if host.is_none() {
        println!("skipped: unknown host architecture");
    }
    host
}

fn cases(var: &str, default: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn nr_of(arch: Arch, name: &str) -> i64 {
    arch.syscall_nr(name)
        .unwrap_or_else(|| panic!("{name} has no number on {}", arch.name())) as i64
}

/// A system call the child may make under a random filter: harmless when
/// allowed, and never `write`, `exit_group` or `seccomp` (which the harness
/// itself needs).
#[derive(Clone, Copy, Debug)]
struct TestCall {
    nr: i64,
    /// The call returns the child's pid when it runs.
    returns_pid: bool,
    /// What it returns when it runs (unless `returns_pid`).
    natural: i64,
}

/// The test calls of this host, with their results measured under a
/// `ret ALLOW` filter.
fn test_calls(arch: Arch) -> &'static [TestCall] {
    static CALLS: OnceLock<Vec<TestCall>> = OnceLock::new();
    CALLS.get_or_init(|| {
        let mut nrs: Vec<(i64, bool)> = vec![
            (nr_of(arch, "getppid"), false),
            (nr_of(arch, "getpid"), true),
            (nr_of(arch, "gettid"), true),
            (nr_of(arch, "getuid"), false),
            (nr_of(arch, "getegid"), false),
            (nr_of(arch, "umask"), false),
            (1000, false),
            (-1, false),
        ];
        if arch == Arch::X86_64 {
            // An x32 number: arch stays X86_64, nr has bit 30 set.
            nrs.push((X32_SYSCALL_BIT as i64 | nr_of(arch, "getpid"), false));
        }
        let allow = [SockFilter::stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)];
        nrs.into_iter()
            .map(|(nr, returns_pid)| {
                let (obs, pid) = kernel::run_in_child(
                    &[&allow],
                    Call {
                        nr,
                        args: [0o22; 6],
                    },
                );
                let natural = match obs {
                    Observed::Returned(v) => v,
                    other => panic!("syscall {nr} under ret ALLOW: {other:?}"),
                };
                if returns_pid {
                    assert_eq!(natural, pid as i64, "syscall {nr} should return the pid");
                }
                TestCall {
                    nr,
                    returns_pid,
                    natural,
                }
            })
            .collect()
    })
}

/// The instruction pointer the filter sees for the harness's system call
/// (the same in every forked child), measured with RET_TRAP; also checks the
/// other SIGSYS fields.
fn call_ip(arch: Arch) -> u64 {
    static IP: OnceLock<u64> = OnceLock::new();
    *IP.get_or_init(|| {
        let nr = nr_of(arch, "getppid");
        let prog = [
            SockFilter::stmt(BPF_LD | BPF_W | BPF_ABS, SECCOMP_DATA_NR),
            SockFilter::jump(BPF_JMP | BPF_JEQ | BPF_K, nr as u32, 0, 1),
            SockFilter::stmt(BPF_RET | BPF_K, SECCOMP_RET_TRAP | 0x1234),
            SockFilter::stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        ];
        match kernel::run_in_child(&[&prog], Call { nr, args: [0; 6] }).0 {
            Observed::Trapped {
                data,
                code,
                syscall,
                arch: a,
                call_addr,
            } => {
                assert_eq!(
                    (data, code, syscall as i64, a),
                    (0x1234, 1, nr, arch.audit_arch())
                );
                assert_ne!(call_addr, 0);
                call_addr
            }
            other => panic!("RET_TRAP probe: {other:?}"),
        }
    })
}

/// What the child shows for a final action.
fn expected(action: KernelAction, call: &TestCall, pid: i32, data: &SeccompData) -> Observed {
    match action {
        KernelAction::KillProcess | KernelAction::KillThread => Observed::Signaled(libc::SIGSYS),
        KernelAction::Trap { data: d } => Observed::Trapped {
            data: d as i32,
            code: 1, // SYS_SECCOMP
            syscall: data.nr,
            arch: data.arch,
            call_addr: data.instruction_pointer,
        },
        KernelAction::Errno { errno } => Observed::Returned(-(errno as i64)),
        KernelAction::UserNotif | KernelAction::Trace { .. } => {
            Observed::Returned(-(libc::ENOSYS as i64))
        }
        KernelAction::Log | KernelAction::Allow => Observed::Returned(if call.returns_pid {
            pid as i64
        } else {
            call.natural
        }),
    }
}

/// Random arguments: zeros, small numbers, all-ones halves, random bits.
fn random_args(rng: &mut Rng) -> [u64; 6] {
    let mut args = [0u64; 6];
    for a in &mut args {
        *a = match rng.below(6) {
            0 => 0,
            1 => rng.below(64),
            2 => rng.pick(&[0xffff_ffff, 0xffff_ffff_0000_0000, u64::MAX, 0x8000_0000]),
            _ => rng.next_u64(),
        };
    }
    args
}

/// The 16 words a filter can load, as constants for the generator.
fn hints(data: &SeccompData, endian: Endian) -> Vec<u32> {
    data.words(endian).to_vec()
}

/// Counts what a run covered; the test fails when the generator stops
/// reaching the interesting cases.
#[derive(Default, Debug)]
struct Seen {
    allowed: usize,
    errno: usize,
    enosys: usize,
    trapped: usize,
    killed: usize,
    rejected: usize,
    div_by_zero_x: usize,
    shift_x_ge_32: usize,
    ip_loads: usize,
}

impl Seen {
    fn note_action(&mut self, a: KernelAction) {
        match a {
            KernelAction::Allow | KernelAction::Log => self.allowed += 1,
            KernelAction::Errno { .. } => self.errno += 1,
            KernelAction::UserNotif | KernelAction::Trace { .. } => self.enosys += 1,
            KernelAction::Trap { .. } => self.trapped += 1,
            _ => self.killed += 1,
        }
    }

    fn note_trace(&mut self, prog: &[SockFilter], data: &SeccompData, endian: Endian) {
        let mut div0 = false;
        let mut shift = false;
        let mut ip = false;
        let _ = emu::run_traced(prog, data, endian, |s| {
            div0 |= s.insn.code == BPF_ALU | BPF_DIV | BPF_X && s.x == 0;
            shift |= matches!(s.insn.code, 0x6c | 0x7c) && s.x >= 32;
            ip |= s.insn.code == BPF_LD | BPF_W | BPF_ABS && matches!(s.insn.k, 8 | 12);
        });
        self.div_by_zero_x += div0 as usize;
        self.shift_x_ge_32 += shift as usize;
        self.ip_loads += ip as usize;
    }
}

struct Case {
    filters: Vec<Vec<SockFilter>>,
    data: SeccompData,
    kernel: Observed,
    predicted: Observed,
    note: String,
}

fn report(what: &str, seed: u64, n: usize, bad: &[Case]) {
    if bad.is_empty() {
        return;
    }
    for c in bad.iter().take(6) {
        eprintln!(
            "MISMATCH ({what}): kernel {:?}, predicted {:?} ({}), data {:?}",
            c.kernel, c.predicted, c.note, c.data
        );
        for (i, f) in c.filters.iter().enumerate() {
            eprintln!(" filter {i} (oldest first):\n{}", support::dump(f));
        }
    }
    panic!(
        "{what}: {} of {n} cases disagree with the kernel (seed {seed:#x}; rerun with {}={seed:#x})",
        bad.len(),
        testkit::SEED_ENV
    );
}

/// Draws a call and its `seccomp_data`.
fn draw_call(rng: &mut Rng, arch: Arch) -> (TestCall, SeccompData) {
    let call = rng.pick(test_calls(arch));
    let data = SeccompData {
        nr: call.nr as i32,
        arch: arch.audit_arch(),
        instruction_pointer: call_ip(arch),
        args: random_args(rng),
    };
    (call, data)
}

#[test]
fn emulator_matches_kernel_single_filters() {
    let Some(arch) = host() else { return };
    let endian = arch.endian();
    let seed = testkit::seed("emulator vs kernel", 0xe5e5_0000_0000_0001);
    let mut rng = Rng::new(seed);
    let n = cases("BPF_VM_EMULATOR_CASES", 3_000);
    let start = std::time::Instant::now();
    let mut seen = Seen::default();
    let mut bad = Vec::new();
    for _ in 0..n {
        let (call, data) = draw_call(&mut rng, arch);
        let cfg = GenConfig {
            guard_nr: Some(call.nr as u32),
            wild_scratch: 1,
            ..GenConfig::seccomp(rng.range(1, 40))
        };
        let prog = gen::program(&mut rng, &cfg, &hints(&data, endian));
        let (kernel, pid) = kernel::run_in_child(
            &[&prog],
            Call {
                nr: call.nr,
                args: data.args,
            },
        );
        let (predicted, note) = match emu::run(&prog, &data, endian) {
            Ok(out) => {
                let action = KernelAction::from_ret(out.ret);
                seen.note_action(action);
                seen.note_trace(&prog, &data, endian);
                (
                    expected(action, &call, pid, &data),
                    format!("ret {:#010x} = {action}", out.ret),
                )
            }
            Err(e) => {
                seen.rejected += 1;
                (
                    Observed::InstallFailed {
                        filter: 0,
                        errno: e.errno.code(),
                    },
                    e.to_string(),
                )
            }
        };
        if kernel != predicted {
            bad.push(Case {
                filters: vec![prog],
                data,
                kernel,
                predicted,
                note,
            });
        }
    }
    println!(
        "emulator vs kernel: {n} programs in {:.2?}: {seen:?}",
        start.elapsed()
    );
    report("emulator vs kernel", seed, n, &bad);
    assert!(
        seen.allowed > 0
            && seen.errno > 0
            && seen.enosys > 0
            && seen.trapped > 0
            && seen.killed > 0
            && seen.div_by_zero_x > 0
            && seen.shift_x_ge_32 > 0
            && seen.ip_loads > 0,
        "the generator missed a case: {seen:?}"
    );
}

/// Rewrites the `ret #k` of a filter that would kill into allow / log /
/// errno / trap returns, so that stacks do not end in a kill most of the
/// time and the precedence among milder actions gets exercised.
fn soften(rng: &mut Rng, prog: &mut [SockFilter]) {
    for f in prog.iter_mut() {
        if f.code == BPF_RET | BPF_K
            && matches!(
                KernelAction::from_ret(f.k),
                KernelAction::KillProcess | KernelAction::KillThread
            )
        {
            f.k = rng.pick(&[
                SECCOMP_RET_ALLOW,
                SECCOMP_RET_LOG | 1,
                SECCOMP_RET_ERRNO | 7,
                SECCOMP_RET_ERRNO | 8,
                SECCOMP_RET_TRAP | 3,
                SECCOMP_RET_TRACE,
            ]);
        }
    }
}

#[test]
fn stack_model_matches_kernel_stacked_filters() {
    let Some(arch) = host() else { return };
    let endian = arch.endian();
    let seed = testkit::seed("stacked filters vs kernel", 0x57ac_0000_0000_0001);
    let mut rng = Rng::new(seed);
    let n = cases("BPF_VM_STACK_CASES", 800);
    let start = std::time::Instant::now();
    let mut seen = Seen::default();
    let mut bad = Vec::new();
    let mut blame_differs = 0usize;
    for _ in 0..n {
        let (call, data) = draw_call(&mut rng, arch);
        let hints = hints(&data, endian);
        let filters: Vec<Vec<SockFilter>> = (0..rng.range(2, 3))
            .map(|_| {
                let cfg = GenConfig {
                    guard_nr: Some(call.nr as u32),
                    wild_scratch: 1,
                    ..GenConfig::seccomp(rng.range(0, 12))
                };
                let mut f = gen::program(&mut rng, &cfg, &hints);
                if rng.chance(1, 2) {
                    soften(&mut rng, &mut f);
                }
                f
            })
            .collect();
        let refs: Vec<&[SockFilter]> = filters.iter().map(|f| f.as_slice()).collect();
        let (kernel, pid) = kernel::run_in_child(
            &refs,
            Call {
                nr: call.nr,
                args: data.args,
            },
        );
        let newest_first: Vec<&[SockFilter]> = refs.iter().rev().copied().collect();
        let first_invalid = refs.iter().position(|f| verify(f, Mode::Seccomp).is_err());
        let (predicted, note) =
            match run_stack(&newest_first, &data, endian, KernelModel::LINUX_6_18) {
                Ok(out) => {
                    // The model must agree with folding the single-filter results.
                    let rets = newest_first
                        .iter()
                        .map(|f| emu::run(f, &data, endian).expect("verified").ret);
                    let folded = combine(rets);
                    let action = out.action();
                    seen.note_action(action);
                    let note = format!(
                        "stack ret {:#010x} = {action}, folded {folded:#010x}",
                        out.ret
                    );
                    if KernelAction::from_ret(folded) != action {
                        bad.push(Case {
                            filters: filters.clone(),
                            data,
                            kernel,
                            predicted: expected(KernelAction::from_ret(folded), &call, pid, &data),
                            note: format!("run_stack disagrees with combine(): {note}"),
                        });
                    }
                    (expected(action, &call, pid, &data), note)
                }
                Err(e) => {
                    seen.rejected += 1;
                    // The kernel refuses the oldest invalid filter (they are
                    // installed oldest first); run_stack must name it too.
                    let oldest_index = refs.len() - 1 - e.filter;
                    if Some(oldest_index) != first_invalid {
                        blame_differs += 1;
                    }
                    (
                        Observed::InstallFailed {
                            filter: first_invalid.unwrap_or(usize::MAX),
                            errno: e.error.errno.code(),
                        },
                        e.to_string(),
                    )
                }
            };
        if kernel != predicted {
            bad.push(Case {
                filters,
                data,
                kernel,
                predicted,
                note,
            });
        }
    }
    println!(
        "stacked filters vs kernel: {n} stacks in {:.2?}: {seen:?}; run_stack named a newer \
         invalid filter than the one the kernel refuses first in {blame_differs} stacks",
        start.elapsed()
    );
    report("stacked filters vs kernel", seed, n, &bad);
    assert_eq!(
        blame_differs, 0,
        "run_stack must name the oldest invalid filter, the one the kernel refuses"
    );
    assert!(
        seen.allowed > 0 && seen.errno > 0 && seen.trapped > 0 && seen.killed > 0,
        "the generator missed a case: {seen:?}"
    );
}

/// `ld [0]; jeq #nr, 0, 1; ret #ret; ret #ALLOW`.
fn only_nr(nr: i64, ret: u32) -> Vec<SockFilter> {
    vec![
        SockFilter::stmt(BPF_LD | BPF_W | BPF_ABS, SECCOMP_DATA_NR),
        SockFilter::jump(BPF_JMP | BPF_JEQ | BPF_K, nr as u32, 0, 1),
        SockFilter::stmt(BPF_RET | BPF_K, ret),
        SockFilter::stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    ]
}

#[test]
fn uprobe_syscalls_bypass_filters_as_modelled() {
    let Some(arch) = host() else { return };
    if arch != Arch::X86_64 {
        println!("skipped: the uprobe exemption is x86-64 only");
        return;
    }
    let allow = [SockFilter::stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)];
    let errno = SECCOMP_RET_ERRNO | libc::EPERM as u32;
    // 335 uretprobe (SIGILL outside a trampoline), 336 uprobe (ENXIO), and
    // 337, an unassigned number the filter does catch.
    for nr in [335i64, 336, 337] {
        let call = Call { nr, args: [0; 6] };
        let filter = only_nr(nr, errno);
        let unfiltered = kernel::run_in_child(&[&allow], call).0;
        let filtered = kernel::run_in_child(&[&filter], call).0;
        let data = SeccompData::new(nr as i32, AUDIT_ARCH_X86_64).with_ip(call_ip(arch));
        let model = run_stack(&[&filter], &data, Endian::Little, KernelModel::LINUX_6_18)
            .expect("valid filter")
            .action();
        let single = emu::run(&filter, &data, Endian::Little).unwrap().action();
        assert_eq!(
            single,
            KernelAction::Errno { errno: 1 },
            "the program itself says ERRNO"
        );
        println!("nr {nr}: unfiltered {unfiltered:?}, filtered {filtered:?}, model {model}");
        if nr == 337 {
            assert_eq!(filtered, Observed::Returned(-(libc::EPERM as i64)));
            assert_eq!(model, KernelAction::Errno { errno: 1 });
        } else {
            assert_eq!(filtered, unfiltered, "nr {nr} must bypass the filter");
            assert_ne!(filtered, Observed::Returned(-(libc::EPERM as i64)));
            assert_eq!(
                model,
                KernelAction::Allow,
                "the stack model must exempt nr {nr}"
            );
        }
    }
}

/// Fixed precedence examples of reference §6.2 (oldest filter first),
/// through the kernel and the stack model.
#[test]
fn stack_precedence_examples_match_kernel() {
    let Some(arch) = host() else { return };
    let call = test_calls(arch)[0]; // getppid
    let examples: [&[u32]; 8] = [
        &[
            SECCOMP_RET_ERRNO | 11,
            SECCOMP_RET_ERRNO | 13,
            SECCOMP_RET_ERRNO | 12,
        ],
        &[SECCOMP_RET_LOG, 0x7ffe_0000],
        &[SECCOMP_RET_ERRNO | 3, 0x0004_0000],
        &[SECCOMP_RET_TRAP | 7, SECCOMP_RET_KILL_THREAD],
        &[SECCOMP_RET_ALLOW | 1, SECCOMP_RET_LOG],
        &[SECCOMP_RET_TRACE | 5, SECCOMP_RET_USER_NOTIF],
        &[
            SECCOMP_RET_TRAP | 2,
            SECCOMP_RET_TRAP | 1,
            SECCOMP_RET_ERRNO | 9,
        ],
        &[SECCOMP_RET_ERRNO | 0x1000, SECCOMP_RET_ERRNO],
    ];
    for rets in examples {
        let filters: Vec<Vec<SockFilter>> = rets.iter().map(|&r| only_nr(call.nr, r)).collect();
        let refs: Vec<&[SockFilter]> = filters.iter().map(|f| f.as_slice()).collect();
        let newest_first: Vec<&[SockFilter]> = refs.iter().rev().copied().collect();
        let data = SeccompData {
            nr: call.nr as i32,
            arch: arch.audit_arch(),
            instruction_pointer: call_ip(arch),
            args: [0; 6],
        };
        let (kernel, pid) = kernel::run_in_child(
            &refs,
            Call {
                nr: call.nr,
                args: [0; 6],
            },
        );
        let model = run_stack(&newest_first, &data, arch.endian(), KernelModel::LINUX_6_18)
            .expect("valid filters")
            .action();
        let folded = KernelAction::from_ret(combine(rets.iter().rev().copied()));
        println!("{rets:x?}: kernel {kernel:?}, model {model}");
        assert_eq!(model, folded, "{rets:x?}: run_stack vs combine");
        assert_eq!(kernel, expected(model, &call, pid, &data), "{rets:x?}");
    }
}

/// Whether the JIT blinds constants for this process (reference §7.3).
fn blinded() -> Option<bool> {
    let harden = std::fs::read_to_string("/proc/sys/net/core/bpf_jit_harden").ok()?;
    // SAFETY: geteuid cannot fail.
    let root = unsafe { libc::geteuid() } == 0;
    match harden.trim() {
        "0" => Some(false),
        "1" => Some(!root),
        "2" => Some(true),
        _ => None,
    }
}

/// How many filters, cycling through `shapes`, `check_attach` lets stack.
fn predicted_depth(shapes: &[&[SockFilter]], blinded: bool) -> usize {
    let lens: Vec<usize> = shapes.iter().map(|f| ebpf_len(f, blinded)).collect();
    let mut attached = Vec::new();
    loop {
        let next = lens[attached.len() % lens.len()];
        if check_attach(&attached, next).is_err() {
            return attached.len();
        }
        attached.push(next);
    }
}

#[test]
fn path_budget_matches_kernel_enomem() {
    let Some(_) = host() else { return };
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    if !status
        .lines()
        .any(|l| l.split_whitespace().eq(["Seccomp_filters:", "0"]))
    {
        println!("skipped: this process already has seccomp filters of unknown length");
        return;
    }
    let Some(blinded) = blinded() else {
        println!("skipped: bpf_jit_harden unknown");
        return;
    };
    let allow = SockFilter::stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    let ret_allow = vec![allow];
    let long_allow = vec![allow; 4096];
    let mut div_x = vec![SockFilter::stmt(BPF_LDX | BPF_IMM, 1)];
    div_x.extend(std::iter::repeat_n(
        SockFilter::stmt(BPF_ALU | BPF_DIV | BPF_X, 0),
        300,
    ));
    div_x.push(allow);
    let mut rng = Rng::new(testkit::seed("path budget", 0xb0d9_0000_0000_0001));
    let cfg = GenConfig {
        guard_nr: Some(1000),
        wild_scratch: 0,
        ..GenConfig::seccomp(200)
    };
    let mut random = gen::program(&mut rng, &cfg, &[]);
    while verify(&random, Mode::Seccomp).is_err() {
        random = gen::program(&mut rng, &cfg, &[]);
    }
    let shapes: [(&str, Vec<&[SockFilter]>); 4] = [
        ("ret ALLOW", vec![&ret_allow]),
        ("4096 x ret ALLOW", vec![&long_allow]),
        ("div x chain + ret ALLOW", vec![&div_x, &ret_allow]),
        (
            "random guarded program + 4096 x ret",
            vec![&random, &long_allow, &ret_allow],
        ),
    ];
    for (name, shape) in &shapes {
        let predicted = predicted_depth(shape, blinded);
        if shape.len() == 1 {
            assert_eq!(predicted, max_stack_depth(&[], ebpf_len(shape[0], blinded)));
        }
        let (installed, err) = kernel::stack_until_failure(shape, predicted + 10);
        println!("{name}: kernel stacked {installed} ({err:?}), predicted {predicted}");
        assert_eq!(
            err,
            Some(libc::ENOMEM),
            "{name}: the kernel should stop with ENOMEM"
        );
        assert_eq!(installed, predicted, "{name}: stack depth");
    }
    assert_eq!(
        predicted_depth(&[&ret_allow], false),
        3641,
        "reference §7.1"
    );
}
