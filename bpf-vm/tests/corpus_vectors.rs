//! The shared test corpus (written outside this project) through our
//! verifier and emulators:
//!
//! * libseccomp's `bpf-sim` programs and their 7,808 (arch, nr, args) →
//!   action vectors: every program is accepted by `verify(.., Seccomp)` and
//!   the seccomp emulator returns the expected action for every vector;
//! * the kernel's `lib/test_bpf.c` classic vectors: expected rejections are
//!   rejected by `verify(.., Classic)`, the rest accepted, every runtime
//!   expectation is reproduced by `bpf_vm::classic` (vectors needing
//!   unmodelled ancillary data are skipped and counted), the pure-register
//!   ones also by the seccomp emulator, and every program gets the same
//!   verdict from the running kernel's `SO_ATTACH_FILTER`.

mod support;

use std::collections::BTreeMap;

use bpf_asm::insn::SockFilter;
use bpf_asm::Endian;
use bpf_vm::action::KernelAction;
use bpf_vm::classic::{self, ClassicError, Packet, SkbMeta};
use bpf_vm::data::SeccompData;
use bpf_vm::emu;
use bpf_vm::verify::{verify, Mode};
use serde_json::Value;

/// Loads a corpus JSON file, or `None` (after printing the skip line) when
/// the corpus is absent.
fn load(rel: &str) -> Option<Value> {
    testkit::corpus::json(rel)
}

/// `struct sock_filter`s in the byte order libseccomp exported them in:
/// the target architecture's (big-endian for the `*_be` tests).
fn program_from_bytes(bytes: &[u8], endian: Endian) -> Vec<SockFilter> {
    assert_eq!(bytes.len() % 8, 0, "program bytes not a multiple of 8");
    bytes
        .chunks(8)
        .map(|b| {
            let (code, k) = match endian {
                Endian::Little => (
                    u16::from_le_bytes([b[0], b[1]]),
                    u32::from_le_bytes([b[4], b[5], b[6], b[7]]),
                ),
                Endian::Big => (
                    u16::from_be_bytes([b[0], b[1]]),
                    u32::from_be_bytes([b[4], b[5], b[6], b[7]]),
                ),
            };
            SockFilter {
                code,
                jt: b[2],
                jf: b[3],
                k,
            }
        })
        .collect()
}

/// Whether `action` is what libseccomp's expectation string says
/// (`KILL` = KILL_THREAD; `TRAP` without data).
fn action_matches(expected: &str, action: KernelAction) -> bool {
    let (name, arg) = match expected.split_once('(') {
        Some((n, rest)) => (n, rest.trim_end_matches(')').parse::<u32>().ok()),
        None => (expected, None),
    };
    match (name, action) {
        ("ALLOW", KernelAction::Allow)
        | ("LOG", KernelAction::Log)
        | ("KILL", KernelAction::KillThread)
        | ("KILL_PROCESS", KernelAction::KillProcess)
        | ("USER_NOTIF", KernelAction::UserNotif)
        | ("TRAP", KernelAction::Trap { .. }) => true,
        ("ERRNO", KernelAction::Errno { errno }) => arg == Some(errno as u32),
        ("TRACE", KernelAction::Trace { data }) => arg == Some(data as u32),
        _ => false,
    }
}

#[test]
fn libseccomp_bpf_sim_vectors_pass() {
    let Some(corpus) = load("libseccomp-tests/flattened_bpf_sim_vectors.json") else {
        return;
    };
    let vectors = corpus["vectors"].as_array().expect("vectors");
    // A program's byte order is that of its test's (single) target arch.
    let mut big_endian = BTreeMap::<&str, bool>::new();
    for v in vectors {
        let be = v["big_endian"].as_bool().unwrap();
        let prev = big_endian.insert(v["test"].as_str().unwrap(), be);
        assert!(
            prev.is_none() || prev == Some(be),
            "mixed byte orders in one test"
        );
    }
    let mut programs = BTreeMap::new();
    for (name, p) in corpus["programs"].as_object().expect("programs") {
        let endian = match big_endian.get(name.as_str()) {
            Some(true) => Endian::Big,
            _ => Endian::Little,
        };
        let prog = program_from_bytes(
            &testkit::base64_decode(p["bpf_b64"].as_str().expect("bpf_b64")).expect("valid base64"),
            endian,
        );
        assert_eq!(
            prog.len() as u64,
            p["n_insns"].as_u64().unwrap(),
            "{name}: length"
        );
        if let Err(e) = verify(&prog, Mode::Seccomp) {
            panic!(
                "{name}: libseccomp's program rejected: {e}\n{}",
                support::dump(&prog)
            );
        }
        let prepared = emu::Prepared::new(&prog).unwrap_or_else(|e| panic!("{name}: {e}"));
        programs.insert(name.clone(), (prog, prepared));
    }
    let mut failures = Vec::new();
    let mut by_action = BTreeMap::<String, usize>::new();
    for v in vectors {
        let test = v["test"].as_str().unwrap();
        let (prog, prepared) = &programs[test];
        let mut args = [0u64; 6];
        for (a, j) in args.iter_mut().zip(v["args"].as_array().unwrap()) {
            *a = j.as_u64().unwrap_or(0);
        }
        let nr = v["nr"].as_i64().unwrap();
        let data = SeccompData {
            nr: nr as u32 as i32,
            arch: v["audit_arch"].as_u64().unwrap() as u32,
            instruction_pointer: 0,
            args,
        };
        let endian = if v["big_endian"].as_bool().unwrap() {
            Endian::Big
        } else {
            Endian::Little
        };
        let expected = v["expected"].as_str().unwrap();
        let out = emu::run(prog, &data, endian).expect("verified program");
        let fast = prepared.run(&data, endian);
        let action = KernelAction::from_ret(out.ret);
        *by_action
            .entry(expected.split('(').next().unwrap().to_string())
            .or_default() += 1;
        if !action_matches(expected, action) || fast.ret != out.ret {
            failures.push(format!(
                "{test} {} nr {nr} args {args:x?}: expected {expected}, emu::run {action} \
                 ({:#010x}), Prepared::run {:#010x}",
                v["arch"], out.ret, fast.ret
            ));
        }
    }
    println!(
        "libseccomp: {} programs verified, {} vectors checked: {by_action:?}",
        programs.len(),
        vectors.len()
    );
    assert!(
        vectors.len() >= 7_000 && programs.len() >= 40,
        "corpus unexpectedly small"
    );
    assert!(
        failures.is_empty(),
        "{} vectors fail:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The skb metadata `classic_all.json` says the vectors were run with.
const TEST_BPF_META: SkbMeta = SkbMeta {
    protocol: 0x0800,
    pkttype: 3,
    ifindex: 577,
    mark: 0x1234_aaaa,
    queue: 123,
    hatype: 588,
    rxhash: 0x1234_aaab,
    vlan_tci: 0xffff,
    vlan_present: true,
    vlan_tpid: 0x0800,
};

/// `SO_ATTACH_FILTER` on a fresh UDP socket: `Ok` or the errno (`None` if
/// sockets are unavailable).
fn kernel_attach(prog: &[SockFilter]) -> Option<Result<(), i32>> {
    // SAFETY: socket(2) with constant arguments.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return None;
    }
    let fprog = libc::sock_fprog {
        len: prog.len() as u16,
        filter: prog.as_ptr() as *mut libc::sock_filter,
    };
    // SAFETY: fprog points to prog, which outlives the call; fd is ours.
    let r = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_ATTACH_FILTER,
            &fprog as *const _ as *const libc::c_void,
            std::mem::size_of::<libc::sock_fprog>() as u32,
        )
    };
    // SAFETY: reading errno, then closing our fd.
    let res = if r == 0 {
        Ok(())
    } else {
        Err(unsafe { *libc::__errno_location() })
    };
    unsafe { libc::close(fd) };
    Some(res)
}

fn is_seccomp_register_only(prog: &[SockFilter]) -> bool {
    // No packet or length loads: such programs mean the same in seccomp.
    prog.iter().all(|f| !matches!(f.code, 0x20 | 0x80 | 0x81))
        && verify(prog, Mode::Seccomp).is_ok()
}

/// Runs one `lib/test_bpf.c` export; `meta` is the skb metadata for
/// ancillary loads (`None`: they are skipped).
fn check_test_bpf(file: &str, meta: Option<&SkbMeta>) -> Option<BTreeMap<&'static str, usize>> {
    let corpus = load(file)?;
    let tests = corpus["tests"].as_array().expect("tests");
    let mut failures = Vec::new();
    let mut skipped = BTreeMap::<&'static str, usize>::new();
    let (mut rejected, mut accepted, mut runs, mut seccomp_runs, mut kernel_checked) =
        (0, 0, 0, 0, 0);
    let mut optmem = 0;
    for t in tests {
        let descr = t["descr"].as_str().unwrap();
        let prog: Vec<SockFilter> = t["insns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                let i: Vec<u64> = i
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_u64().unwrap())
                    .collect();
                SockFilter::jump(i[0] as u16, i[3] as u32, i[1] as u8, i[2] as u8)
            })
            .collect();
        let flags: Vec<&str> = t["flags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f.as_str().unwrap())
            .collect();
        let expect_fail = flags.contains(&"FLAG_EXPECTED_FAIL");
        let verdict = verify(&prog, Mode::Classic);
        // The running kernel (newer than the 6.1 the vectors come from).
        if let Some(mut kernel) = kernel_attach(&prog) {
            kernel_checked += 1;
            if kernel == Err(libc::ENOMEM) {
                // Accepted, but the converted program exceeds the socket's
                // option memory (net.core.optmem_max): not a verifier verdict.
                optmem += 1;
                kernel = Ok(());
            }
            let ours = verdict.map_err(|e| e.errno.code());
            if kernel != ours {
                failures.push(format!(
                    "{descr}: running kernel says {kernel:?}, verify(Classic) {ours:?}"
                ));
            }
        }
        if expect_fail {
            rejected += 1;
            match verdict {
                Err(e) if e.errno.code() == -t["expected_errcode"].as_i64().unwrap() as i32 => {}
                other => failures.push(format!(
                    "{descr}: expected rejection, verify(Classic) {other:?}"
                )),
            }
            continue;
        }
        accepted += 1;
        if let Err(e) = verdict {
            failures.push(format!(
                "{descr}: expected acceptance, verify(Classic): {e}"
            ));
            continue;
        }
        let data: Vec<u8> = t["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b.as_u64().unwrap() as u8)
            .collect();
        let frag: Vec<u8> = t["frag_data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b.as_u64().unwrap() as u8)
            .collect();
        let register_only = is_seccomp_register_only(&prog);
        for sub in t["subtests"].as_array().unwrap() {
            let size = sub["data_size"].as_u64().unwrap() as usize;
            let want = sub["result"].as_u64().unwrap() as u32;
            let mut packet = Packet::new(&data[..size]).with_network_offset(size.min(14));
            if flags.contains(&"FLAG_SKB_FRAG") {
                packet = packet.with_frags(&frag);
            }
            match classic::run(&prog, &packet, meta) {
                Ok(out) if out.ret == want => runs += 1,
                Ok(out) => failures.push(format!(
                    "{descr} (data_size {size}): expected {want:#x}, classic::run {:#x}",
                    out.ret
                )),
                Err(ClassicError::Unsupported { what, .. }) => {
                    *skipped.entry(what).or_default() += 1
                }
                Err(e) => failures.push(format!("{descr} (data_size {size}): classic::run: {e}")),
            }
            if register_only {
                let out = emu::run(&prog, &SeccompData::default(), Endian::Little).unwrap();
                seccomp_runs += 1;
                if out.ret != want {
                    failures.push(format!(
                        "{descr}: seccomp emulator {:#x}, expected {want:#x}",
                        out.ret
                    ));
                }
            }
        }
    }
    let total_skipped: usize = skipped.values().sum();
    println!(
        "{file}: {} programs ({rejected} expected rejections, {accepted} accepted; {kernel_checked} \
         also checked against SO_ATTACH_FILTER, {optmem} of them over optmem_max), {runs} runs reproduced by classic::run, \
         {seccomp_runs} by the seccomp emulator, {total_skipped} skipped (unmodelled ancillary \
         data: {skipped:?})",
        tests.len()
    );
    assert!(
        failures.is_empty(),
        "{file}: {} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(runs > 100, "{file}: too few runtime vectors checked");
    Some(skipped)
}

#[test]
fn kernel_test_bpf_classic_vectors_pass() {
    if let Some(skipped) = check_test_bpf("kernel-test-bpf/classic.json", None) {
        assert!(
            skipped.is_empty(),
            "classic.json has no ancillary loads, yet skipped {skipped:?}"
        );
    }
}

#[test]
fn kernel_test_bpf_all_classic_vectors_pass() {
    if let Some(skipped) = check_test_bpf("kernel-test-bpf/classic_all.json", Some(&TEST_BPF_META))
    {
        let modelled_only = skipped.keys().all(|w| {
            matches!(
                *w,
                "SKF_AD_CPU"
                    | "SKF_AD_NLATTR"
                    | "SKF_AD_NLATTR_NEST"
                    | "SKF_AD_PAY_OFFSET"
                    | "SKF_AD_RANDOM"
            )
        });
        assert!(
            modelled_only,
            "skipped a load the interpreter models: {skipped:?}"
        );
    }
}
