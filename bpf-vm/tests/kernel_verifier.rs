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
//! Override the seeds with `BPF_VM_SEED`, the number of programs with
//! `BPF_VM_VERIFIER_CASES` / `BPF_VM_CLASSIC_CASES`.

mod support;

use std::collections::BTreeMap;
use std::sync::mpsc;

use bpf_asm::insn::{SockFilter, CLASSIC_CODES};
use bpf_asm::seccomp::SECCOMP_RET_ALLOW;
use bpf_vm::verify::{verify, Mode, VerifyError};
use support::gen;
use support::kernel::{self, child_role, reexec, SKIP_MSG};
use support::rng::{self, Rng};

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
        rng::SEED_ENV
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

    let seed = rng::seed("tsync verifier oracle", 0x5ecc_0b0f_0000_0001);
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

    let seed = rng::seed("classic verifier (SO_ATTACH_FILTER)", 0xc1a5_51c0_0000_0001);
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
        let kernel = match sock.attach(&prog) {
            // Accepted, then over the socket's option memory.
            Err(libc::ENOMEM) => Ok(()),
            other => other,
        };
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
