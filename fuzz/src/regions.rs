//! Target `regions`: the prover's region exploration on arbitrary programs
//! and stacks of them.
//!
//! Properties: exploring any verified stack never panics; when it succeeds,
//! every input (arbitrary ones and each region's witness) lies in exactly
//! one region, whose value is what the emulator returns for it (combined
//! as the kernel combines stacked filters); a query for one call gives the
//! same values on that call; and proving the stack against a policy with
//! no rules either succeeds, in which case the stack returns the policy's
//! action on every input tried, or yields a counterexample the emulator
//! confirms.

use arbitrary::{Result, Unstructured};
use bpf_asm::policy::resolve::resolve;
use bpf_asm::policy::{Action, Policy};
use bpf_asm::seccomp::{AUDIT_ARCH_AARCH64, AUDIT_ARCH_X86_64};
use bpf_asm::{AluOp, Arch, Insn, JmpOp, Size, SockFilter, Src};
use bpf_vm::action::combine;
use bpf_vm::data::SECCOMP_DATA_WORDS;
use bpf_vm::emu::Prepared;
use bpf_vm::prove::{prove_stack, Explorer, ProveError, Space};
use bpf_vm::verify::{verify, Mode};

/// Regions explored at most per case (keeps a case fast).
const REGION_LIMIT: usize = 4096;

/// Constants worth comparing with.
const KS: [u32; 12] = [
    0,
    1,
    2,
    59,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_ffff,
    0x4000_0000,
    0xff,
    0xffff_0000,
    AUDIT_ARCH_X86_64,
    AUDIT_ARCH_AARCH64,
];

/// Return values: the actions, some with data.
const RETS: [u32; 6] = [
    0x7fff_0000,
    0x0005_0001,
    0x0005_0026,
    0x8000_0000,
    0x0003_0007,
    0x7ffc_0000,
];

/// The target body: up to three filters and inputs built from the bytes.
pub fn regions(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(filters) = stack(&mut u) else {
        return;
    };
    let mut inputs = Vec::new();
    while let Ok(w) = words(&mut u) {
        inputs.push(w);
        if inputs.len() == 32 {
            break;
        }
    }
    check(&filters, &inputs);
}

fn constant(u: &mut Unstructured<'_>) -> Result<u32> {
    Ok(if u.ratio(1, 4)? {
        u.arbitrary()?
    } else {
        *u.choose(&KS)?
    })
}

fn words(u: &mut Unstructured<'_>) -> Result<[u32; SECCOMP_DATA_WORDS]> {
    let mut w = [0u32; SECCOMP_DATA_WORDS];
    for x in &mut w {
        *x = constant(u)?;
    }
    Ok(w)
}

/// One to three verified filters of the instructions the prover handles.
fn stack(u: &mut Unstructured<'_>) -> Result<Vec<Vec<SockFilter>>> {
    let n = u.int_in_range(1..=3u8)?;
    let mut out = Vec::new();
    for _ in 0..n {
        let len = u.int_in_range(1..=48usize)?;
        let mut p = Vec::with_capacity(len);
        for i in 0..len - 1 {
            let room = (len - 2 - i).min(16) as u8;
            let insn = match u.int_in_range(0..=9u8)? {
                0..=2 => Insn::LdAbs(Size::W, 4 * u.int_in_range(0..=15u32)?),
                3 => Insn::Alu(AluOp::And, Src::K(constant(u)?)),
                4..=6 => Insn::Jmp {
                    op: *u.choose(&JmpOp::ALL)?,
                    src: if u.ratio(1, 8)? {
                        Src::X
                    } else {
                        Src::K(constant(u)?)
                    },
                    jt: u.int_in_range(0..=room)?,
                    jf: u.int_in_range(0..=room)?,
                },
                7 => *u.choose(&[
                    Insn::Tax,
                    Insn::Txa,
                    Insn::St(0),
                    Insn::LdMem(0),
                    Insn::LdxImm(1),
                ])?,
                8 => Insn::Ja(u32::from(u.int_in_range(0..=room)?)),
                _ => Insn::RetK(*u.choose(&RETS)?),
            };
            p.push(insn.encode());
        }
        p.push(Insn::RetK(*u.choose(&RETS)?).encode());
        if verify(&p, Mode::Seccomp).is_err() {
            return Err(arbitrary::Error::IncorrectFormat);
        }
        out.push(p);
    }
    Ok(out)
}

/// Whether `data` builds a stack with at least four regions (to pick seed
/// files).
pub fn interesting(data: &[u8]) -> bool {
    let mut u = Unstructured::new(data);
    let Ok(filters) = stack(&mut u) else {
        return false;
    };
    Explorer::stack(&filters)
        .and_then(|e| e.with_limit(REGION_LIMIT).regions(&Space::full()))
        .is_ok_and(|r| r.len() >= 4)
}

/// Checks every property of the module docs.
pub fn check(filters: &[Vec<SockFilter>], inputs: &[[u32; SECCOMP_DATA_WORDS]]) {
    let explorer = Explorer::stack(filters)
        .expect("verified filters explore")
        .with_limit(REGION_LIMIT);
    let Ok(regions) = explorer.regions(&Space::full()) else {
        return; // outside the method or too many regions: nothing claimed
    };
    let prepared: Vec<Prepared> = filters
        .iter()
        .map(|f| Prepared::new(f).expect("verified"))
        .collect();
    let run = |w: &[u32; SECCOMP_DATA_WORDS]| -> u32 {
        match &prepared[..] {
            [one] => one.run_words(w).ret,
            all => combine(all.iter().rev().map(|p| p.run_words(w).ret)),
        }
    };
    let witnesses: Vec<[u32; SECCOMP_DATA_WORDS]> = regions.iter().map(|r| r.witness()).collect();
    for w in inputs.iter().chain(&witnesses) {
        let holders: Vec<usize> = (0..regions.len())
            .filter(|&i| regions[i].space.contains(w))
            .collect();
        assert_eq!(
            holders.len(),
            1,
            "input {w:#x?} lies in regions {holders:?}"
        );
        let r = &regions[holders[0]];
        assert_eq!(run(w), r.ret, "input {w:#x?} in region {r}");
        let call = explorer
            .regions_for(w[1], w[0])
            .expect("a call of an explorable stack explores");
        let here: Vec<u32> = call
            .iter()
            .filter(|c| c.space.contains(w))
            .map(|c| c.ret)
            .collect();
        assert_eq!(here, [r.ret], "call query for {w:#x?}");
    }
    for default in [Action::Allow, Action::Errno(1), Action::KillProcess] {
        let mut p = Policy::new(default, vec![Arch::X86_64, Arch::Aarch64]);
        p.bad_arch = Action::Errno(38);
        let resolved = resolve(&p).expect("a policy without rules resolves");
        match prove_stack(filters, &resolved) {
            Ok(_) => {
                for w in inputs.iter().chain(&witnesses) {
                    let want =
                        if w[1] == AUDIT_ARCH_X86_64 && w[0] & 0x4000_0000 != 0 && w[0] != u32::MAX
                            || (w[1] != AUDIT_ARCH_X86_64 && w[1] != AUDIT_ARCH_AARCH64)
                        {
                            p.bad_arch
                        } else {
                            default
                        };
                    assert_eq!(run(w), want.to_ret(), "proven, yet {w:#x?} differs");
                }
            }
            Err(ProveError::Counterexample(c)) => {
                let w = c.data().words(c.endian);
                assert_eq!(run(&w), c.program, "{c}");
                assert_ne!(c.program, c.policy.to_ret(), "{c}");
            }
            Err(ProveError::CannotProve(_)) => {}
        }
    }
}
