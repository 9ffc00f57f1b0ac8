//! Target `verifier_emulator`: the verifier and the emulators on arbitrary
//! programs.
//!
//! Properties: [`verify`] never panics in either mode, and a program the
//! seccomp checks accept also passes the classic checks (the kernel runs
//! them first). Every accepted program runs in the emulator on arbitrary
//! `seccomp_data`, in either byte order, without error and in at least one
//! and at most `len` steps; [`Prepared`] returns the same outcome, the traced
//! run visits strictly increasing instruction indexes, one per step; when the
//! kernel's action cache would allow the call without running the filter,
//! the emulated filter returns `SECCOMP_RET_ALLOW`; the step count lies
//! within the bounds of [`syscall_steps`]. Programs the classic checks accept
//! run in the socket-filter interpreter without `Invalid` errors.

use arbitrary::{Arbitrary, Result, Unstructured};
use bpf_asm::insn::{CLASSIC_CODES, SECCOMP_CODES};
use bpf_asm::seccomp::{AUDIT_ARCH_NAMES, SECCOMP_RET_ALLOW, X32_SYSCALL_BIT};
use bpf_asm::{Endian, SockFilter};
use bpf_vm::analysis::syscall_steps;
use bpf_vm::cache::{seccomp_is_const_allow, uprobe_exception};
use bpf_vm::classic::{self, ClassicError, Packet, SkbMeta};
use bpf_vm::data::SeccompData;
use bpf_vm::emu::{run, run_traced, Prepared};
use bpf_vm::verify::{verify, Mode};

/// The target body: a program and a call built from the bytes.
pub fn verifier_emulator(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(case) = Case::arbitrary(&mut u) else {
        return;
    };
    check(&case);
}

/// One fuzz case: a program, a system call and a byte order.
#[derive(Clone, Debug)]
pub struct Case {
    /// The program.
    pub prog: Vec<SockFilter>,
    /// The call.
    pub data: SeccompData,
    /// The byte order words are loaded in.
    pub endian: Endian,
    /// A packet for the socket-filter interpreter.
    pub packet: Vec<u8>,
}

/// Offsets worth loading: the `seccomp_data` words, and a few that are not.
const OFFSETS: [u32; 20] = [
    0,
    4,
    8,
    12,
    16,
    20,
    24,
    28,
    32,
    36,
    40,
    44,
    48,
    52,
    56,
    60,
    64,
    2,
    0xffff_f000,
    0xffff_f038,
];

/// Constants worth comparing with.
const CONSTANTS: [u32; 12] = [
    0,
    1,
    2,
    15,
    16,
    31,
    32,
    X32_SYSCALL_BIT,
    SECCOMP_RET_ALLOW,
    0x0005_0001,
    0x8000_0000,
    u32::MAX,
];

fn insn(u: &mut Unstructured<'_>, pc: usize, len: usize) -> Result<SockFilter> {
    let left = len.saturating_sub(pc + 1);
    let code = match u.int_in_range(0..=9u8)? {
        0 => u.arbitrary::<u16>()?,
        1..=2 => *u.choose(&CLASSIC_CODES)?,
        _ => *u.choose(&SECCOMP_CODES)?,
    };
    let off = |u: &mut Unstructured<'_>| -> Result<u8> {
        if u.ratio(1, 16)? {
            u.arbitrary()
        } else {
            Ok(u.int_in_range(0..=left.min(255))? as u8)
        }
    };
    let jt = off(u)?;
    let jf = off(u)?;
    let k = match u.int_in_range(0..=5u8)? {
        0 => u.arbitrary::<u32>()?,
        1 | 2 => *u.choose(&OFFSETS)?,
        3 => u.int_in_range(0..=16u32)?,
        4 => *u.choose(&CONSTANTS)?,
        _ => u.int_in_range(0..=left as u32)?,
    };
    Ok(SockFilter { code, jt, jf, k })
}

impl<'a> Arbitrary<'a> for Case {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        let len = if u.ratio(1, 200)? {
            4097
        } else {
            u.int_in_range(0..=48usize)?
        };
        let mut prog = Vec::with_capacity(len);
        for pc in 0..len {
            prog.push(insn(u, pc, len)?);
        }
        if let Some(last) = prog.last_mut() {
            if u.ratio(7, 8)? {
                last.code = if u.ratio(1, 4)? { 0x16 } else { 0x06 };
            }
        }
        let nr = match u.int_in_range(0..=3u8)? {
            0 => u.arbitrary::<i32>()?,
            1 => u.int_in_range(0..=600)?,
            2 => (X32_SYSCALL_BIT | u.int_in_range(0..=600u32)?) as i32,
            _ => -1,
        };
        let arch = if u.ratio(1, 8)? {
            u.arbitrary()?
        } else {
            u.choose(&AUDIT_ARCH_NAMES)?.1
        };
        let mut args = [0u64; 6];
        for a in &mut args {
            *a = if u.arbitrary()? {
                u.arbitrary()?
            } else {
                u64::from(*u.choose(&CONSTANTS)?)
            };
        }
        let data = SeccompData::new(nr, arch)
            .with_args(args)
            .with_ip(u.arbitrary()?);
        let endian = if u.arbitrary()? {
            Endian::Big
        } else {
            Endian::Little
        };
        let plen = u.int_in_range(0..=64usize)?;
        let packet = u.bytes(plen.min(u.len()))?.to_vec();
        Ok(Case {
            prog,
            data,
            endian,
            packet,
        })
    }
}

/// Checks every property on one case.
pub fn check(case: &Case) {
    let prog = &case.prog[..];
    let classic = verify(prog, Mode::Classic);
    let seccomp = verify(prog, Mode::Seccomp);
    for e in [&classic, &seccomp]
        .into_iter()
        .flat_map(|r| r.as_ref().err())
    {
        let _ = e.to_string();
        if let Some(i) = e.index {
            assert!(
                i < prog.len(),
                "error index {i} past the program ({} insns): {e}",
                prog.len()
            );
        }
    }
    if classic.is_ok() {
        let meta = SkbMeta::default();
        let packet = Packet::new(&case.packet);
        match classic::run(prog, &packet, Some(&meta)) {
            Ok(o) => assert!(
                o.steps >= 1 && o.steps <= prog.len(),
                "classic steps {}",
                o.steps
            ),
            Err(ClassicError::Unsupported { .. }) => {}
            Err(e @ ClassicError::Invalid { .. }) => {
                panic!("classic run of a classic-verified program: {e}\n{prog:?}")
            }
        }
    }
    if seccomp.is_err() {
        return;
    }
    // Only the conversion limit of socket filters (packet loads convert to
    // many eBPF instructions, seccomp's `ld [k]` to one) can differ.
    assert!(
        classic.is_ok()
            || classic.is_err_and(|e| matches!(
                e.rule,
                bpf_vm::Rule::ConvertedJumpTooLate | bpf_vm::Rule::ConvertedJumpTooLong
            )),
        "seccomp accepts what the classic checks reject: {classic:?}\n{prog:?}"
    );
    let data = &case.data;
    let out = match run(prog, data, case.endian) {
        Ok(o) => o,
        Err(e) => panic!("verified program fails to run: {e}\n{prog:?}"),
    };
    assert!(
        out.steps >= 1 && out.steps <= prog.len(),
        "{} steps in a {}-insn program",
        out.steps,
        prog.len()
    );
    match Prepared::new(prog) {
        Ok(p) => {
            assert_eq!(
                p.run(data, case.endian),
                out,
                "Prepared disagrees with run\n{prog:?}\n{data:?}"
            );
            assert_eq!(p.program(), prog);
        }
        Err(e) => panic!("Prepared refuses a verified program: {e}"),
    }
    let mut pcs = Vec::new();
    let traced = run_traced(prog, data, case.endian, |s| pcs.push(s.pc));
    assert_eq!(traced.ok(), Some(out), "traced run disagrees");
    assert_eq!(pcs.len(), out.steps, "trace length");
    assert_eq!(pcs.first(), Some(&0));
    assert!(
        pcs.windows(2).all(|w| w[0] < w[1]),
        "trace goes backwards: {pcs:?}"
    );
    let nr = data.nr as u32;
    if seccomp_is_const_allow(prog, nr, data.arch) && !uprobe_exception(nr, data.arch) {
        assert_eq!(
            out.ret, SECCOMP_RET_ALLOW,
            "the action cache allows nr {nr} arch {:#x} but the filter returns {:#x}\n{prog:?}",
            data.arch, out.ret
        );
    }
    if let Ok(b) = syscall_steps(prog, nr, data.arch, 2_000) {
        assert!(
            b.min <= out.steps && out.steps <= b.max,
            "steps {} outside the analysed bounds {b:?}\n{prog:?}\n{data:?}",
            out.steps
        );
    } else {
        panic!("syscall_steps refuses a verified program");
    }
}

/// Runs [`check`] on `prog` with calls of a few numbers (0, 1, 59, 231,
/// an x32 number, -1) on each architecture of `AUDIT_ARCH_NAMES`, with
/// zero and all-ones arguments, in both byte orders.
pub fn check_program_calls(prog: &[SockFilter]) {
    for &(_, arch) in AUDIT_ARCH_NAMES.iter() {
        for nr in [0, 1, 59, 231, (X32_SYSCALL_BIT | 1) as i32, -1] {
            for (args, endian) in [([0; 6], Endian::Little), ([u64::MAX; 6], Endian::Big)] {
                check(&Case {
                    prog: prog.to_vec(),
                    data: SeccompData::new(nr, arch).with_args(args),
                    endian,
                    packet: (0u8..64).collect(),
                });
            }
        }
    }
}
