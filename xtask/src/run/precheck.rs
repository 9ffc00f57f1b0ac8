//! The exec pre-check: what the installed filters answer to the very exec
//! call that will start the command.
//!
//! Nothing about that call is guessed. The launcher makes it itself, from
//! a path and argument arrays built before the fork, and a forked child
//! has the parent's address space, so the pointer arguments the filters
//! will see are the addresses of those buffers here; the other arguments
//! are constants (`execve` has three, `execveat`'s directory is
//! `AT_FDCWD` and its flags 0). The architecture is the launcher's own and
//! the number is the host's `execve`/`execveat`. The one word the child
//! does not choose is the instruction pointer of the system call
//! instruction: a compiled policy never reads it, and when a filter does,
//! the answer is reported as depending on it.

use bpf_asm::insn::{BPF_ABS, BPF_LD, BPF_W};
use bpf_asm::seccomp::{SECCOMP_DATA_IP, SECCOMP_DATA_SIZE};
use bpf_asm::{Arch, SockFilter};
use bpf_vm::{run_stack, KernelAction, KernelModel, SeccompData};

use crate::launch::{ExecCall, Filter};
use crate::DynError;

/// What the filters answer to one exec call.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct ExecVerdict {
    /// The call checked.
    pub call: ExecCall,
    /// Its syscall number on the host.
    pub nr: u32,
    /// What the kernel does with it (for an instruction pointer of 0 when
    /// `reads_ip`).
    pub action: KernelAction,
    /// Whether some filter reads the instruction pointer, so that the
    /// answer may differ at the real call site.
    pub reads_ip: bool,
}

impl ExecVerdict {
    /// Whether the exec goes ahead: the call runs, or the agent decides.
    pub fn passes(&self) -> bool {
        self.action.runs_syscall() || self.action == KernelAction::UserNotif
    }
}

/// The combined answer of `filters` (install order) to `call` with these
/// exact argument registers, on `arch`.
pub fn check(
    filters: &[Filter],
    arch: Arch,
    call: ExecCall,
    args: [u64; 6],
) -> Result<ExecVerdict, DynError> {
    let nr = arch
        .syscall_nr(call.name())
        .ok_or_else(|| format!("{} has no {} system call", arch.name(), call.name()))?;
    let newest_first: Vec<&[SockFilter]> = filters.iter().rev().map(|f| &f.program[..]).collect();
    let data = SeccompData::for_arch(arch, nr as i32).with_args(args);
    let out = run_stack(&newest_first, &data, arch.endian(), KernelModel::default())
        .map_err(|e| format!("the compiled filter is invalid: {e}"))?;
    Ok(ExecVerdict {
        call,
        nr,
        action: out.action(),
        reads_ip: filters.iter().any(|f| reads_ip(&f.program)),
    })
}

/// Whether `prog` loads a word of `seccomp_data.instruction_pointer`
/// (the only way a seccomp filter can read it is `ld [k]`).
fn reads_ip(prog: &[SockFilter]) -> bool {
    let ip = SECCOMP_DATA_IP..SECCOMP_DATA_IP + 8;
    prog.iter()
        .any(|i| i.code == BPF_LD | BPF_W | BPF_ABS && ip.contains(&i.k) && i.k < SECCOMP_DATA_SIZE)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bpf_asm::policy::compile::{compile, CompileOptions};
    use bpf_asm::policy::load::{load_str, LoadOptions};
    use bpf_asm::policy::{eval, resolve};
    use bpf_asm::seccomp::Flags;

    fn filters(toml: &str) -> (Vec<Filter>, resolve::Resolved) {
        let p = load_str(toml, "t.toml", &LoadOptions::default()).unwrap();
        let r = resolve::resolve(&p).unwrap();
        let c = compile(&p, &CompileOptions::default()).unwrap();
        (
            vec![Filter {
                program: c,
                flags: Flags::NONE,
            }],
            r,
        )
    }

    /// The verdict on exact register values equals the policy's meaning
    /// for those values, for argument conditions on every register the
    /// exec calls use, over generated pointer-like values.
    #[test]
    fn verdict_is_the_policy_on_the_real_registers() {
        let arch = Arch::host().unwrap();
        let mut rng = testkit::Rng::for_test("verdict_is_the_policy_on_the_real_registers", 0x5eed);
        let mut next = || rng.next_u64();
        for round in 0..200 {
            let arg = round % 3;
            let pivot = next() & 0x0000_7fff_ffff_fff8;
            let toml = format!(
                "default = \"allow\"\narches = [\"{}\"]\n\
                 [[rule]]\nsyscalls = [\"execve\"]\nwhen = [\"arg{arg} > {pivot:#x}\"]\naction = \"errno(EPERM)\"\n\
                 [[rule]]\nsyscalls = [\"execveat\"]\nwhen = [\"arg{} < {pivot:#x}\"]\naction = \"kill_process\"\n",
                arch.name(),
                arg + 1
            );
            let (f, r) = filters(&toml);
            let regs = [
                next() & 0x0000_7fff_ffff_fff8,
                next() & 0x0000_7fff_ffff_fff8,
                next() & 0x0000_7fff_ffff_fff8,
                0,
                0,
                0,
            ];
            for call in [ExecCall::Execve, ExecCall::Execveat] {
                let v = check(&f, arch, call, regs).unwrap();
                let expect = eval::evaluate(&r, arch.audit_arch(), v.nr, &regs);
                assert_eq!(
                    v.action.to_ret(),
                    expect.to_ret(),
                    "{toml}\n{regs:x?} {call:?}"
                );
                assert!(!v.reads_ip);
            }
        }
    }

    #[test]
    fn a_filter_reading_the_instruction_pointer_is_flagged() {
        let arch = Arch::host().unwrap();
        let prog = bpf_asm::text::assemble(
            "ld [8]\njeq #0, ok\nret #0\nok: ret #0x7fff0000\n",
            &bpf_asm::text::AsmOptions::DEFAULT,
        )
        .unwrap();
        let f = [Filter {
            program: prog,
            flags: Flags::NONE,
        }];
        let v = check(&f, arch, ExecCall::Execve, [0; 6]).unwrap();
        assert!(v.reads_ip && v.passes());
    }
}
