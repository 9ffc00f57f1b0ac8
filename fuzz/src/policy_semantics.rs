//! Target `policy_semantics`: arbitrary policies through the compiler.
//!
//! Properties: every policy of the model ([`PolicyModel`]) resolves and
//! compiles in every layout (and in `Auto` with a call-frequency profile) to
//! a program the seccomp verifier accepts; on arbitrary calls and on calls
//! at and around every constant of the policy, the emulated program returns
//! exactly the action the reference [`evaluate`] gives, so the layouts agree
//! with each other; and the prover ([`prove`]) proves the programs equal to
//! the policy (one program per fuzz input, all for the corpus policies; a
//! counterexample it reports is re-run in the emulator for the message).

use arbitrary::{Arbitrary, Result, Unstructured};
use bpf_asm::policy::compile::{compile, CompileOptions, Layout, Profile};
use bpf_asm::policy::eval::evaluate;
use bpf_asm::policy::resolve::{resolve, syscall_nr, Resolved};
use bpf_asm::policy::{Action, CmpOp, Condition, Policy, Rule, SyscallRef, Width};
use bpf_asm::seccomp::{AUDIT_ARCH_X86_64, X32_SYSCALL_BIT};
use bpf_asm::{Arch, Endian, SockFilter};
use bpf_vm::data::SeccompData;
use bpf_vm::emu::Prepared;
use bpf_vm::prove::{prove, ProveError};
use bpf_vm::verify::{verify, Mode};

/// The target body: a policy and calls built from the bytes.
pub fn policy_semantics(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(model) = PolicyModel::arbitrary(&mut u) else {
        return;
    };
    let mut calls = Vec::new();
    for _ in 0..u.int_in_range(0..=16u8).unwrap_or(0) {
        match arbitrary_call(&mut u, &model.0) {
            Ok(c) => calls.push(c),
            Err(_) => break,
        }
    }
    let which = Prove::One(data.len());
    check(&model.0, &calls, which);
}

/// Which compiled programs [`check`] hands to the prover (the slowest
/// check).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Prove {
    /// Every layout's program.
    All,
    /// One program, chosen by this number modulo the number of programs.
    One(usize),
}

/// Architectures policies of the model cover: both byte orders, 32 and 64
/// bits, and x86-64 (x32 numbers).
pub const ARCHES: [Arch; 6] = [
    Arch::X86_64,
    Arch::X86,
    Arch::Aarch64,
    Arch::S390x,
    Arch::Arm,
    Arch::Ppc,
];

/// Syscall names rules draw from (some missing on some architectures, such
/// as `open` on aarch64 or `socketcall` outside 32-bit x86/ppc/s390).
pub const NAMES: [&str; 20] = [
    "read",
    "write",
    "openat",
    "open",
    "close",
    "mmap",
    "ioctl",
    "socket",
    "socketcall",
    "clone",
    "clone3",
    "personality",
    "futex",
    "newfstatat",
    "getpid",
    "kill",
    "prctl",
    "mprotect",
    "fcntl",
    "exit_group",
];

/// 64-bit constants at the edges of every width.
pub const EDGES: [u64; 14] = [
    0,
    1,
    2,
    0x7f,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_fffe,
    0xffff_ffff,
    0x1_0000_0000,
    0x1_0000_0001,
    0x7fff_ffff_ffff_ffff,
    0x8000_0000_0000_0000,
    0xffff_ffff_8000_0000,
    u64::MAX,
];

/// A valid [`Policy`] built by [`Arbitrary`]: one to three architectures of
/// [`ARCHES`], up to six rules naming real syscalls of [`NAMES`] (optional
/// where an architecture lacks them), conditions with every argument,
/// operator, width and mask, and every action.
#[derive(Clone, Debug)]
pub struct PolicyModel(pub Policy);

/// Any action, with arbitrary data where the action carries some.
pub fn arbitrary_action(u: &mut Unstructured<'_>) -> Result<Action> {
    Ok(match u.int_in_range(0..=7u8)? {
        0 => Action::Allow,
        1 => Action::Log,
        2 => Action::KillProcess,
        3 => Action::KillThread,
        4 => Action::Trap(u.arbitrary()?),
        5 => Action::Errno(if u.arbitrary()? {
            u.int_in_range(0..=4095)?
        } else {
            u.arbitrary()?
        }),
        6 => Action::Trace(u.arbitrary()?),
        _ => Action::UserNotif,
    })
}

fn constant(u: &mut Unstructured<'_>) -> Result<u64> {
    Ok(match u.int_in_range(0..=3u8)? {
        0 => u.arbitrary()?,
        1 => u.int_in_range(0..=64)?,
        _ => *u.choose(&EDGES)?,
    })
}

/// A condition whose constant and mask fit its width.
pub fn arbitrary_condition(u: &mut Unstructured<'_>) -> Result<Condition> {
    let width = *u.choose(&[Width::U64, Width::U32, Width::I32, Width::Hi32])?;
    let op = *u.choose(&[
        CmpOp::Eq,
        CmpOp::Ne,
        CmpOp::Lt,
        CmpOp::Le,
        CmpOp::Gt,
        CmpOp::Ge,
    ])?;
    let raw = constant(u)?;
    let value = match width {
        Width::U64 => raw,
        Width::U32 | Width::Hi32 => {
            if u.ratio(1, 4)? {
                raw as u32 as i32 as i64 as u64 // written negative
            } else {
                u64::from(raw as u32)
            }
        }
        Width::I32 => raw as u32 as i32 as i64 as u64,
    };
    let mask = if u.ratio(1, 3)? {
        let m = constant(u)?;
        Some(if width == Width::U64 {
            m
        } else {
            u64::from(m as u32)
        })
    } else {
        None
    };
    Ok(Condition {
        arg: u.int_in_range(0..=5)?,
        width,
        mask,
        op,
        value,
    })
}

impl<'a> Arbitrary<'a> for PolicyModel {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        let mut arches = Vec::new();
        for _ in 0..u.int_in_range(1..=3u8)? {
            let a = *u.choose(&ARCHES)?;
            if !arches.contains(&a) {
                arches.push(a);
            }
        }
        let mut rules = Vec::new();
        for _ in 0..u.int_in_range(0..=6u8)? {
            let mut syscalls: Vec<SyscallRef> = Vec::new();
            for _ in 0..u.int_in_range(1..=3u8)? {
                let name = *u.choose(&NAMES)?;
                let everywhere = arches.iter().all(|&a| syscall_nr(a, name).is_some());
                let optional = !everywhere || u.arbitrary()?;
                syscalls.push(SyscallRef {
                    name: name.to_string(),
                    optional,
                });
            }
            let mut conditions = Vec::new();
            for _ in 0..u.int_in_range(0..=3u8)? {
                conditions.push(arbitrary_condition(u)?);
            }
            let rule_arches = if u.ratio(1, 5)? {
                let mut sub = Vec::new();
                for &a in &arches {
                    if u.arbitrary()? {
                        sub.push(a);
                    }
                }
                sub
            } else {
                Vec::new()
            };
            rules.push(Rule {
                arches: rule_arches,
                syscalls,
                conditions,
                action: arbitrary_action(u)?,
            });
        }
        Ok(PolicyModel(Policy {
            default: arbitrary_action(u)?,
            arches,
            allow_x32: u.arbitrary()?,
            bad_arch: arbitrary_action(u)?,
            rules,
            tests: Vec::new(),
            enosys: Default::default(),
            flags: Default::default(),
            listener: None,
        }))
    }
}

/// One call: `(audit_arch, nr, args)`.
pub type Call = (u32, u32, [u64; 6]);

/// An arbitrary call: mostly a listed architecture, a named or nearby
/// syscall number, and edge-case arguments.
pub fn arbitrary_call(u: &mut Unstructured<'_>, policy: &Policy) -> Result<Call> {
    let arch = match u.int_in_range(0..=7u8)? {
        0 => u.arbitrary()?,
        1 => AUDIT_ARCH_X86_64,
        _ => u.choose(&policy.arches)?.audit_arch(),
    };
    let named = || {
        policy
            .rules
            .iter()
            .flat_map(|r| r.syscalls.iter())
            .filter_map(|s| Arch::from_audit(arch).and_then(|a| syscall_nr(a, &s.name)))
            .collect::<Vec<u32>>()
    };
    let nr = match u.int_in_range(0..=5u8)? {
        0 => u.arbitrary()?,
        1 => u32::MAX,
        2 => X32_SYSCALL_BIT | u.int_in_range(0..=600)?,
        3 => u.int_in_range(0..=600)?,
        _ => {
            let n = named();
            if n.is_empty() {
                0
            } else {
                u.choose(&n)?
                    .wrapping_add(u.int_in_range(0..=2)?)
                    .wrapping_sub(1)
            }
        }
    };
    let mut args = [0u64; 6];
    for a in &mut args {
        *a = constant(u)?;
    }
    Ok((arch, nr, args))
}

/// Values next to `v` that flip each kind of comparison with it.
fn around(v: u64) -> [u64; 10] {
    [
        v << 32,
        (v << 32) | 0xffff_ffff,
        v,
        v.wrapping_sub(1),
        v.wrapping_add(1),
        v ^ 0xffff_ffff_0000_0000,
        v & 0xffff_ffff,
        v as u32 as i32 as i64 as u64,
        !v,
        v ^ 0x8000_0000,
    ]
}

/// Calls at and around every constant and mask of `policy`, for each of
/// its architectures and the syscalls of the rule.
pub fn constant_calls(policy: &Policy) -> Vec<Call> {
    let mut calls = Vec::new();
    for rule in &policy.rules {
        for &arch in &policy.arches {
            let Some(nr) = rule.syscalls.iter().find_map(|s| syscall_nr(arch, &s.name)) else {
                continue;
            };
            for c in &rule.conditions {
                let mut base = [0u64; 6];
                // Let the other conditions of the rule hold where they can.
                for o in &rule.conditions {
                    base[usize::from(o.arg)] = o.value;
                }
                let vs = around(c.value)
                    .into_iter()
                    .chain(c.mask.map(around).into_iter().flatten());
                for v in vs {
                    let mut args = base;
                    args[usize::from(c.arg)] = v;
                    calls.push((arch.audit_arch(), nr, args));
                }
            }
        }
    }
    calls
}

/// The byte order of the machine that runs filters for `audit_arch`
/// (little-endian for foreign values).
fn endian_of(audit_arch: u32) -> Endian {
    Arch::from_audit(audit_arch).map_or(Endian::Little, |a| a.endian())
}

/// Checks every property of `policy` on `calls` plus [`constant_calls`],
/// proving the programs `which` selects.
pub fn check(policy: &Policy, calls: &[Call], which: Prove) {
    let resolved = match resolve(policy) {
        Ok(r) => r,
        Err(e) => panic!("the policy model built an invalid policy: {e}\n{policy:#?}"),
    };
    let mut all: Vec<Call> = calls.to_vec();
    all.extend(constant_calls(policy));
    for &a in &policy.arches {
        all.push((a.audit_arch(), u32::MAX, [0; 6]));
        all.push((a.audit_arch(), X32_SYSCALL_BIT, [0; 6]));
    }
    let profile = Profile {
        weights: NAMES
            .iter()
            .enumerate()
            .map(|(i, n)| (n.to_string(), i as u64 * 7))
            .collect(),
    };
    let mut options: Vec<CompileOptions> = Layout::ALL
        .into_iter()
        .map(|layout| CompileOptions {
            layout,
            profile: None,
        })
        .collect();
    options.push(CompileOptions {
        layout: Layout::Auto,
        profile: Some(profile),
    });
    let mut programs: Vec<(String, Vec<SockFilter>)> = Vec::new();
    for opts in &options {
        let what = format!(
            "{}{}",
            opts.layout,
            if opts.profile.is_some() {
                "+profile"
            } else {
                ""
            }
        );
        let prog = match compile(policy, opts) {
            Ok(p) => p,
            Err(e) => panic!("{what}: compile error: {e}\n{policy:#?}"),
        };
        if let Err(e) = verify(&prog, Mode::Seccomp) {
            panic!("{what}: the compiled program does not verify: {e}\n{policy:#?}\n{prog:?}");
        }
        programs.push((what, prog));
    }
    for (what, prog) in &programs {
        let Ok(p) = Prepared::new(prog) else {
            panic!("{what}: Prepared refuses a verified program");
        };
        for &(arch, nr, args) in &all {
            let want = evaluate(&resolved, arch, nr, &args);
            let data = SeccompData::new(nr as i32, arch).with_args(args);
            let got = p.run(&data, endian_of(arch)).ret;
            assert_eq!(
                got,
                want.to_ret(),
                "{what}: arch {arch:#x} nr {nr:#x} args {args:x?}: program returns {got:#x}, policy says {want} ({:#x})\n{policy:#?}\n{prog:?}",
                want.to_ret()
            );
        }
    }
    // The layouts agree with each other on every call (implied by the
    // above; checked directly so a failure names the pair).
    let runs: Vec<Vec<u32>> = programs
        .iter()
        .map(|(_, prog)| {
            let p = Prepared::new(prog).expect("verified above");
            all.iter()
                .map(|&(arch, nr, args)| {
                    p.run(
                        &SeccompData::new(nr as i32, arch).with_args(args),
                        endian_of(arch),
                    )
                    .ret
                })
                .collect()
        })
        .collect();
    for (i, r) in runs.iter().enumerate().skip(1) {
        assert_eq!(
            r, &runs[0],
            "layouts {} and {} disagree",
            programs[0].0, programs[i].0
        );
    }
    match which {
        Prove::All => prove_or_explain(&programs, &resolved, policy),
        Prove::One(i) => {
            let i = i % programs.len();
            prove_or_explain(&programs[i..=i], &resolved, policy)
        }
    }
}

/// Runs the prover on each program; a counterexample must be real.
fn prove_or_explain(programs: &[(String, Vec<SockFilter>)], resolved: &Resolved, policy: &Policy) {
    for (what, prog) in programs {
        match prove(prog, resolved) {
            Ok(_) => {}
            Err(ProveError::CannotProve(why)) => {
                panic!("{what}: the prover cannot handle a compiled program: {why}\n{policy:#?}")
            }
            Err(ProveError::Counterexample(c)) => {
                let got = Prepared::new(prog)
                    .map(|p| p.run(&c.data(), c.endian).ret)
                    .ok();
                let want = evaluate(resolved, c.audit_arch, c.nr, &c.args).to_ret();
                panic!(
                    "{what}: prover counterexample {c} (emulator {got:x?}, evaluate {want:#x})\n{policy:#?}\n{prog:?}"
                );
            }
        }
    }
}
