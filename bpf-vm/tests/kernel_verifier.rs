//! Differential tests of `bpf_vm::verify::verify` against the running
//! kernel's verifier.
//!
//! * Seccomp mode: the TSYNC oracle of reference §8.5. A re-executed child
//!   process has a sibling thread with its own `ret ALLOW` filter, so
//!   `seccomp(SET_MODE_FILTER, TSYNC, prog)` fully verifies `prog` and then
//!   fails: it returns the sibling's TID when `prog` is valid and
//!   `-1/EINVAL` when it is not, and never installs anything.
//! * Classic mode: `SO_ATTACH_FILTER` on a UDP socket of the test process
//!   (socket filters do not filter the process).
//!
//! Override the seeds with `TEST_SEED` (or the older `BPF_VM_SEED`), the number of programs with
//! `BPF_VM_VERIFIER_CASES` / `BPF_VM_CLASSIC_CASES`.

mod support;

use std::collections::BTreeMap;
use std::sync::mpsc;

use bpf_asm::insn::{SockFilter, CLASSIC_CODES};
use bpf_asm::seccomp::SECCOMP_RET_ALLOW;
use bpf_vm::budget::classic_insn_len;
use bpf_vm::verify::{verify, Mode, VerifyError};
use support::gen;
use support::kernel::{self, child_role, reexec, SKIP_MSG};
use testkit::Rng;

const TSYNC_TEST: &str = "seccomp_verifier_matches_kernel_tsync_oracle";
const TSYNC_ROLE: &str = "tsync-verify";
const SECCOMP_FILTER_FLAG_TSYNC: u64 = 1;

fn cases(var: &str, default: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// What our verifier says, in the kernel's terms: `Ok` or the errno.
fn ours(prog: &[SockFilter], mode: Mode) -> Result<(), i32> {
    verify(prog, mode).map_err(|e: VerifyError| e.errno.code())
}

/// Tracks which opcodes and outcomes a run covered, so that the test fails
/// when the generators stop producing what it claims to check.
#[derive(Default)]
struct Coverage {
    codes: BTreeMap<u16, usize>,
    accepted: usize,
    rejected: usize,
    rules: BTreeMap<String, usize>,
}

impl Coverage {
    fn add(&mut self, prog: &[SockFilter], verdict: &Result<(), VerifyError>) {
        for f in prog {
            *self.codes.entry(f.code).or_default() += 1;
        }
        match verdict {
            Ok(()) => self.accepted += 1,
            Err(e) => {
                self.rejected += 1;
                *self.rules.entry(format!("{:?}", e.rule)).or_default() += 1;
            }
        }
    }

    fn assert_complete(&self, what: &str) {
        let missing: Vec<String> = CLASSIC_CODES
            .iter()
            .filter(|c| !self.codes.contains_key(c))
            .map(|c| format!("{c:#04x}"))
            .collect();
        assert!(
            missing.is_empty(),
            "{what}: opcodes never generated: {missing:?}"
        );
        assert!(
            self.accepted * 10 > self.accepted + self.rejected,
            "{what}: too few valid programs"
        );
        assert!(
            self.rejected * 10 > self.accepted + self.rejected,
            "{what}: too few invalid programs"
        );
    }
}

struct Mismatch {
    prog: Vec<SockFilter>,
    kernel: Result<(), i32>,
    ours: Result<(), VerifyError>,
}

fn report_mismatches(what: &str, seed: u64, n: usize, mismatches: &[Mismatch]) {
    if mismatches.is_empty() {
        return;
    }
    for m in mismatches.iter().take(8) {
        eprintln!(
            "MISMATCH ({what}): kernel {:?}, bpf_vm {:?}, program ({} insns):\n{}",
            m.kernel,
            m.ours.map_err(|e| e.to_string()),
            m.prog.len(),
            support::dump(&m.prog)
        );
    }
    panic!(
        "{what}: {} of {n} programs disagree with the kernel (seed {seed:#x}; rerun with {}={seed:#x})",
        mismatches.len(),
        testkit::SEED_ENV
    );
}

/// The re-executed child: runs the TSYNC oracle over generated programs.
fn tsync_oracle_child() {
    if let Err(e) = kernel::set_no_new_privs() {
        println!("{SKIP_MSG} (no_new_privs: errno {e})");
        return;
    }
    // The sibling installs its own filter and then blocks forever, so that
    // every TSYNC attach of the main thread fails after verification.
    let (tx, rx) = mpsc::channel::<(i64, i64)>();
    let (_keep_tx, keep_rx) = mpsc::channel::<()>();
    std::thread::spawn(move || {
        let allow = [SockFilter::stmt(0x06, SECCOMP_RET_ALLOW)];
        // SAFETY: this runs in the re-executed child process only.
        let r = unsafe { kernel::seccomp_set_mode_filter(0, &allow) };
        tx.send((kernel::gettid(), r)).unwrap();
        let _ = keep_rx.recv();
    });
    let (sibling, installed) = rx.recv().unwrap();
    if installed != 0 {
        println!("{SKIP_MSG} (sibling filter: {installed})");
        return;
    }
    // SAFETY: in the child; with the sibling filtered nothing is installed.
    let oracle = |prog: &[SockFilter]| -> Result<(), i32> {
        let r = unsafe { kernel::seccomp_set_mode_filter(SECCOMP_FILTER_FLAG_TSYNC, prog) };
        if r == sibling {
            Ok(())
        } else if r < 0 {
            Err(-r as i32)
        } else {
            panic!(
                "TSYNC oracle returned {r} (sibling {sibling}): a filter may have been installed"
            );
        }
    };
    // The trick itself, on programs whose fate is known.
    let valid = [SockFilter::stmt(0x06, SECCOMP_RET_ALLOW)];
    assert_eq!(oracle(&valid), Ok(()), "TSYNC oracle: valid program");
    assert_eq!(
        oracle(&gen::ret_quirk_program()),
        Err(libc::EINVAL),
        "TSYNC oracle: §2.4"
    );
    assert_eq!(
        oracle(&[]),
        Err(libc::EINVAL),
        "TSYNC oracle: empty program"
    );

    let seed = testkit::seed("tsync verifier oracle", 0x5ecc_0b0f_0000_0001);
    let mut rng = Rng::new(seed);
    let n = cases("BPF_VM_VERIFIER_CASES", 25_000);
    let start = std::time::Instant::now();
    let mut cov = Coverage::default();
    let mut mismatches = Vec::new();
    for _ in 0..n {
        let prog = gen::verifier_case(&mut rng, false);
        let kernel = oracle(&prog);
        let verdict = verify(&prog, Mode::Seccomp);
        cov.add(&prog, &verdict);
        if kernel != ours(&prog, Mode::Seccomp) {
            mismatches.push(Mismatch {
                prog,
                kernel,
                ours: verdict,
            });
        }
    }
    println!(
        "tsync oracle: {n} programs ({} accepted, {} rejected) in {:.2?}; rules: {:?}",
        cov.accepted,
        cov.rejected,
        start.elapsed(),
        cov.rules
    );
    report_mismatches("seccomp verifier vs kernel", seed, n, &mismatches);
    cov.assert_complete("seccomp verifier vs kernel");
}

#[test]
fn seccomp_verifier_matches_kernel_tsync_oracle() {
    if child_role().as_deref() == Some(TSYNC_ROLE) {
        tsync_oracle_child();
        return;
    }
    if !kernel::seccomp_available() {
        println!("{SKIP_MSG}");
        return;
    }
    let out = reexec(TSYNC_TEST, TSYNC_ROLE, &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("--- child stdout ---\n{stdout}--- child stderr ---\n{stderr}");
    assert!(
        out.status.success(),
        "the oracle child failed: {}",
        out.status
    );
    if stdout.contains(SKIP_MSG) {
        return;
    }
    assert!(
        stdout.contains("tsync oracle:"),
        "the oracle child did not run the comparison"
    );
}

/// A UDP socket to attach classic filters to.
struct Socket(i32);

impl Socket {
    fn udp() -> Self {
        // SAFETY: socket(2) with constant arguments.
        let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
        assert!(fd >= 0, "socket() failed");
        Socket(fd)
    }

    /// The kernel's verdict on `prog` as a socket filter: like [`Self::attach`],
    /// but `ENOMEM` counts as accepted — it means the converted program was
    /// over the socket's option memory (`net.core.optmem_max`), a resource
    /// limit checked after verification and conversion succeeded.
    fn verdict(&self, prog: &[SockFilter]) -> Result<(), i32> {
        match self.attach(prog) {
            Err(libc::ENOMEM) => Ok(()),
            other => other,
        }
    }

    /// `SO_ATTACH_FILTER`, then `SO_DETACH_FILTER` on success (so that the
    /// socket's option-memory charge never holds two filters).
    fn attach(&self, prog: &[SockFilter]) -> Result<(), i32> {
        let fprog = libc::sock_fprog {
            len: prog.len() as u16,
            filter: prog.as_ptr() as *mut libc::sock_filter,
        };
        // SAFETY: fprog points to prog, which outlives the call.
        let r = unsafe {
            libc::setsockopt(
                self.0,
                libc::SOL_SOCKET,
                libc::SO_ATTACH_FILTER,
                &fprog as *const _ as *const libc::c_void,
                std::mem::size_of::<libc::sock_fprog>() as u32,
            )
        };
        if r != 0 {
            // SAFETY: reading the thread's errno.
            return Err(unsafe { *libc::__errno_location() });
        }
        // SAFETY: detaching our own filter; no option value.
        unsafe {
            libc::setsockopt(
                self.0,
                libc::SOL_SOCKET,
                libc::SO_DETACH_FILTER,
                std::ptr::null(),
                0,
            )
        };
        Ok(())
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        // SAFETY: closing our own fd.
        unsafe { libc::close(self.0) };
    }
}

#[test]
fn classic_verifier_matches_kernel_so_attach_filter() {
    let sock = Socket::udp();
    // A known-good and a known-bad program first: if this fails, socket
    // filters are unavailable and there is nothing to compare.
    if sock.attach(&[SockFilter::stmt(0x06, 0xffff)]).is_err() {
        println!("skipped: SO_ATTACH_FILTER unavailable");
        return;
    }
    assert_eq!(sock.attach(&[SockFilter::stmt(0x0e, 0)]), Err(libc::EINVAL));

    let seed = testkit::seed("classic verifier (SO_ATTACH_FILTER)", 0xc1a5_51c0_0000_0001);
    let mut rng = Rng::new(seed);
    let n = cases("BPF_VM_CLASSIC_CASES", 6_000);
    let start = std::time::Instant::now();
    let mut cov = Coverage::default();
    let mut mismatches = Vec::new();
    let mut optmem = 0usize;
    for _ in 0..n {
        let prog = gen::verifier_case(&mut rng, true);
        let mut kernel = sock.attach(&prog);
        if kernel == Err(libc::ENOMEM) {
            // The converted program exceeds the socket's option memory
            // (`net.core.optmem_max`): a resource limit checked after
            // `bpf_check_classic` accepted the program.
            optmem += 1;
            kernel = Ok(());
        }
        let verdict = verify(&prog, Mode::Classic);
        cov.add(&prog, &verdict);
        if kernel != ours(&prog, Mode::Classic) {
            mismatches.push(Mismatch {
                prog,
                kernel,
                ours: verdict,
            });
        }
    }
    println!(
        "SO_ATTACH_FILTER: {n} programs ({} accepted, {} rejected; {optmem} accepted but over \
         optmem_max) in {:.2?}; rules: {:?}",
        cov.accepted,
        cov.rejected,
        start.elapsed(),
        cov.rules
    );
    report_mismatches("classic verifier vs kernel", seed, n, &mismatches);
    cov.assert_complete("classic verifier vs kernel");
}

/// `bpf_convert_filter` fails with `EINVAL` when a classic jump becomes an
/// eBPF jump longer than its signed 16-bit offset: `ja N` over `N` packet
/// loads, each of which converts to many eBPF instructions. Seccomp
/// programs never get there (at most 5 eBPF instructions per classic one);
/// socket filters do (test_bpf "BPF_MAXINSNS: jump over MSH"). Thresholds
/// measured on Linux 6.18: 1821 × `ldxb 4*([0]&0xf)`, 2731 × `ldb [0]`,
/// 2521 × `ld [0]`.
#[test]
fn classic_verifier_matches_kernel_on_long_converted_jumps() {
    let sock = Socket::udp();
    if sock.attach(&[SockFilter::stmt(0x06, 0xffff)]).is_err() {
        println!("skipped: SO_ATTACH_FILTER unavailable");
        return;
    }
    let mut mismatches = Vec::new();
    for (code, n) in [
        (0xb1u16, 1820usize),
        (0xb1, 1821),
        (0x30, 2730),
        (0x30, 2731),
        (0x20, 2521),
    ] {
        let mut prog = vec![SockFilter::stmt(0x05, n as u32)];
        prog.extend(std::iter::repeat_n(SockFilter::stmt(code, 0), n));
        prog.push(SockFilter::stmt(0x06, 1));
        let kernel = sock.verdict(&prog);
        let ours = ours(&prog, Mode::Classic);
        println!("ja {n} over {n} x code {code:#04x}: kernel {kernel:?}, verify(Classic) {ours:?}");
        if kernel != ours {
            mismatches.push(format!(
                "`ja {n}; {n} x {{ {code:#04x}, 0, 0, 0 }}; ret #1`: kernel {kernel:?}, verify(Classic) {ours:?}"
            ));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

// ---- The jump-offset limit of `bpf_convert_filter`, at its boundary. ----

/// The largest eBPF jump offset, and the last eBPF position a jump may
/// occupy (the kernel's first conversion pass).
const EBPF_LIMIT: usize = 32767;
/// eBPF prologue of a socket filter with packet loads.
const PACKET_PROLOGUE: usize = 7;

/// Instructions whose conversion length the boundary cases check: every
/// classic opcode, packet loads at every kind of offset (zero, small,
/// past the 16-bit `ldx` offset, negative `SKF_NET_OFF`/`SKF_LL_OFF`, any
/// ancillary), conditional jumps with `k` that sign-extends and every
/// `jt`/`jf` shape.
fn subjects() -> Vec<SockFilter> {
    let s = SockFilter::stmt;
    let mut v = Vec::new();
    let packet_k = [
        0u32,
        1,
        14,
        0x7fff,
        0x8000,
        0x7fff_ffff,
        0x8000_0000,
        0xfff0_0000,
        0xffe0_0000,
        0xffff_efff,
    ];
    for code in [0x20u16, 0x28, 0x30, 0xb1] {
        v.extend(packet_k.iter().map(|&k| s(code, k)));
    }
    for code in [0x40u16, 0x48, 0x50] {
        v.extend([0u32, 5, 0x8000, 0xffff_ffff].iter().map(|&k| s(code, k)));
    }
    // Every ancillary load in every size, and `ldxb` at an ancillary offset
    // (a plain, negative byte load there).
    for off in (0..64).step_by(4) {
        for code in [0x20u16, 0x28, 0x30, 0xb1] {
            v.push(s(code, 0xffff_f000 + off));
        }
    }
    for code in CLASSIC_CODES {
        let k = match code {
            0x34 | 0x94 => 3, // div, mod #k: not 0
            0x64 | 0x74 => 5, // shifts: below 32
            0x02 | 0x03 | 0x60 | 0x61 => 7,
            0x05 => 0,
            _ => 0x1234,
        };
        v.push(s(code, k));
    }
    for code in [0x15u16, 0x1d, 0x25, 0x2d, 0x35, 0x3d, 0x45, 0x4d] {
        for k in [0u32, 0x8000_0000] {
            for (jt, jf) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                v.push(SockFilter::jump(code, k, jt, jf));
            }
        }
    }
    v
}

/// Packet loads of 12 to 21 eBPF instructions: the bulk that lets a
/// 4096-instruction program reach 32768 eBPF instructions.
fn heavy(rng: &mut Rng) -> SockFilter {
    let code = rng.pick(&[0x20u16, 0x28, 0x30, 0xb1]);
    let k = rng.pick(&[0u32, 2, 30, 0x8000, 0x1_0000, 0xfff0_0000]);
    SockFilter::stmt(code, k)
}

/// Instructions the model counts as one eBPF instruction, to land exactly.
fn single(rng: &mut Rng) -> SockFilter {
    let s = SockFilter::stmt;
    rng.pick(&[s(0x07, 0), s(0x87, 0), s(0x00, 9), s(0x04, 1), s(0x80, 0)])
}

/// A shuffled body of `copies` × `subject`, heavy packet loads and single
/// instructions whose modelled eBPF length is exactly `target`, or `None`
/// when `target` cannot be met.
fn body(
    rng: &mut Rng,
    subject: SockFilter,
    copies: usize,
    target: usize,
) -> Option<Vec<SockFilter>> {
    let mut body = vec![subject; copies];
    let mut len = copies * classic_insn_len(subject);
    while len + 21 < target {
        let h = heavy(rng);
        len += classic_insn_len(h);
        body.push(h);
    }
    while len < target {
        let f = single(rng);
        assert_eq!(classic_insn_len(f), 1);
        len += 1;
        body.push(f);
    }
    if len != target {
        return None;
    }
    // Fisher-Yates: the subject copies spread among the rest.
    for i in (1..body.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        body.swap(i, j);
    }
    Some(body)
}

/// What one boundary case is meant to probe.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Probe {
    /// `ja` over a body whose modelled eBPF length is 32767 + d.
    Offset,
    /// A jump whose (last) eBPF jump the model places at 32767 + d.
    Position,
}

/// One boundary case for `subject`: `d` is 0 (the last accepted value
/// by the model) or 1 (the first rejected one).
fn boundary_case(
    rng: &mut Rng,
    subject: SockFilter,
    probe: Probe,
    d: usize,
) -> Option<Vec<SockFilter>> {
    let per = classic_insn_len(subject);
    // Enough copies that a length error of one shifts the boundary, few
    // enough that the body stays under 4096 classic instructions.
    let copies = rng.range(1, (12_000 / per).min(600));
    // Scratch loads need written cells: `st M[0..16)` first.
    let scratch: Vec<SockFilter> = if matches!(subject.code, 0x60 | 0x61) {
        (0..16).map(|i| SockFilter::stmt(0x02, i)).collect()
    } else {
        Vec::new()
    };
    let mut prog = scratch.clone();
    match probe {
        Probe::Offset => {
            let body = body(rng, subject, copies, EBPF_LIMIT + d)?;
            prog.push(SockFilter::stmt(0x05, body.len() as u32));
            prog.extend(body);
            prog.push(SockFilter::stmt(0x06, 1));
        }
        Probe::Position => {
            // The jump under test: `ja`, or a conditional jump of any shape.
            let jump = if rng.chance(1, 5) {
                SockFilter::stmt(0x05, rng.below(3) as u32)
            } else {
                let code = rng.pick(&[0x15u16, 0x1d, 0x25, 0x2d, 0x35, 0x3d, 0x45, 0x4d]);
                let k = rng.pick(&[0u32, 7, 0x8000_0000, 0xffff_ffff]);
                SockFilter::jump(code, k, rng.below(3) as u8, rng.below(3) as u8)
            };
            // Where its last eBPF jump sits within its conversion.
            let neg = jump.code & 0x08 == 0 && jump.code != 0x05 && (jump.k as i32) < 0;
            let two = jump.code != 0x05 && classic_insn_len(jump) == 2 + usize::from(neg);
            let last_slot = usize::from(neg) + usize::from(two);
            let before =
                PACKET_PROLOGUE + scratch.iter().map(|f| classic_insn_len(*f)).sum::<usize>();
            let body = body(
                rng,
                subject,
                copies,
                (EBPF_LIMIT + d).checked_sub(before + last_slot)?,
            )?;
            prog.extend(body);
            prog.push(jump);
            prog.extend([1, 2, 3].map(|k| SockFilter::stmt(0x06, k)));
        }
    }
    (prog.len() <= 4096).then_some(prog)
}

/// A random long socket filter over a mix of packet loads (and every
/// other kind of instruction) with jumps of every shape, long `ja`s
/// included; sometimes jumps only in its first quarter, so that long `ja`s
/// are not preceded by a jump past eBPF instruction 32767.
fn long_mix(rng: &mut Rng, subjects: &[SockFilter]) -> Vec<SockFilter> {
    let len = rng.range(1500, 4096);
    let jumps_before = if rng.chance(1, 2) { len } else { len / 4 };
    let mut p: Vec<SockFilter> = (0..16).map(|i| SockFilter::stmt(0x02, i)).collect();
    while p.len() < len - 1 {
        let pc = p.len();
        let room = (len - pc - 2) as u32;
        let f = match rng.below(10) {
            0..=5 => heavy(rng),
            6 if pc < jumps_before => SockFilter::stmt(0x05, rng.below(room as u64 + 1) as u32),
            7 if pc < jumps_before => {
                let code = rng.pick(&[0x15u16, 0x1d, 0x25, 0x2d, 0x35, 0x3d, 0x45, 0x4d]);
                let k = rng.pick(&[0u32, 7, 0x8000_0000]);
                let jt = rng.below(room.min(255) as u64 + 1) as u8;
                let jf = rng.below(room.min(255) as u64 + 1) as u8;
                SockFilter::jump(code, k, jt, jf)
            }
            _ => {
                let f = rng.pick(subjects);
                if f.code & 0x07 == 0x05 {
                    continue; // subject jumps assume a next instruction
                }
                f
            }
        };
        p.push(f);
    }
    p.push(SockFilter::stmt(0x06, 1));
    p
}

/// `bpf_convert_filter` against the model at the limits of eBPF's 16-bit
/// jump offsets, for every classic opcode (and packet-load offset kind):
/// each subject instruction is repeated inside a body of packet loads
/// tuned so that, by `classic_insn_len`, a `ja` over it spans exactly
/// 32767 or 32768 eBPF instructions, or a jump after it sits at eBPF
/// position 32767 or 32768. A conversion length that is off by one for
/// any subject moves the kernel's verdict across the boundary.
#[test]
fn classic_verifier_matches_kernel_at_converted_jump_limits() {
    let sock = Socket::udp();
    if sock.attach(&[SockFilter::stmt(0x06, 0xffff)]).is_err() {
        println!("skipped: SO_ATTACH_FILTER unavailable");
        return;
    }
    let seed = testkit::seed(
        "converted jump limits (SO_ATTACH_FILTER)",
        0xc0de_0ff5_0000_0001,
    );
    let mut rng = Rng::new(seed);
    let rounds = cases("BPF_VM_CONVERT_ROUNDS", 1);
    let start = std::time::Instant::now();
    let mut mismatches = Vec::new();
    let mut outcomes = BTreeMap::<(Probe, usize, String), usize>::new();
    let mut codes = BTreeMap::<u16, usize>::new();
    let mut n = 0;
    for _ in 0..rounds {
        for subject in subjects() {
            for probe in [Probe::Offset, Probe::Position] {
                for d in [0, 1] {
                    let Some(prog) = boundary_case(&mut rng, subject, probe, d) else {
                        continue;
                    };
                    n += 1;
                    *codes.entry(subject.code).or_default() += 1;
                    let kernel = sock.verdict(&prog);
                    let verdict = verify(&prog, Mode::Classic);
                    let rule = match verdict {
                        Ok(()) => "accepted".to_string(),
                        Err(e) => format!("{:?}", e.rule),
                    };
                    *outcomes.entry((probe, d, rule)).or_default() += 1;
                    if kernel != ours(&prog, Mode::Classic) {
                        eprintln!(
                            "subject {subject:?} ({} eBPF insns), {probe:?} +{d}",
                            classic_insn_len(subject)
                        );
                        mismatches.push(Mismatch {
                            prog,
                            kernel,
                            ours: verdict,
                        });
                    }
                }
            }
        }
    }
    // Random long mixes, not tuned to the limits.
    let all = subjects();
    let mut mixes = BTreeMap::<String, usize>::new();
    let n_mix = cases("BPF_VM_CONVERT_MIXES", 300);
    for _ in 0..n_mix {
        let prog = long_mix(&mut rng, &all);
        n += 1;
        let kernel = sock.verdict(&prog);
        let verdict = verify(&prog, Mode::Classic);
        let rule = match verdict {
            Ok(()) => "accepted".to_string(),
            Err(e) => format!("{:?}", e.rule),
        };
        *mixes.entry(rule).or_default() += 1;
        if kernel != ours(&prog, Mode::Classic) {
            mismatches.push(Mismatch {
                prog,
                kernel,
                ours: verdict,
            });
        }
    }
    println!(
        "converted jump limits: {n} programs in {:.2?}; boundary outcomes {outcomes:?}; \
         random long mixes {mixes:?}",
        start.elapsed()
    );
    report_mismatches("converted jump limits vs kernel", seed, n, &mismatches);
    let missing: Vec<_> = CLASSIC_CODES
        .iter()
        .filter(|c| !codes.contains_key(c))
        .collect();
    assert!(missing.is_empty(), "opcodes never probed: {missing:x?}");
    // Each probe lands on both sides of its limit, for the reason probed.
    for (probe, rule) in [
        (Probe::Offset, "ConvertedJumpTooLong"),
        (Probe::Position, "ConvertedJumpTooLate"),
    ] {
        let count = |d: usize, r: &str| {
            outcomes
                .get(&(probe, d, r.to_string()))
                .copied()
                .unwrap_or(0)
        };
        assert!(
            count(0, "accepted") > 50,
            "{probe:?}: too few accepted at the limit"
        );
        assert!(
            count(1, rule) > 50,
            "{probe:?}: too few {rule} past the limit"
        );
        if n_mix >= 300 {
            assert!(
                mixes.get(rule).copied().unwrap_or(0) >= 10,
                "mixes: {mixes:?}"
            );
        }
    }
    if n_mix >= 300 {
        assert!(
            mixes.get("accepted").copied().unwrap_or(0) >= 10,
            "mixes: {mixes:?}"
        );
    }
}
