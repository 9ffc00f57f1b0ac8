//! Differential test: the corpus' OCI/Docker profiles, imported by our loader
//! and decided by `evaluate`, against the filter libseccomp builds when the
//! profile is loaded the way runc loads it (same include/exclude filtering,
//! same `matchCall` rule splitting), run by a small cBPF interpreter.
//!
//! libseccomp is opened at run time (`dlopen("libseccomp.so.2")`), so the
//! test builds everywhere. Without it the test prints
//! "skipped: libseccomp not found" — unless `SECCOMP_ORACLE=1` is set (CI),
//! in which case its absence is a failure.
#![cfg(feature = "policy-files")]

use std::ffi::{c_char, c_int, c_uint, c_void, CString};
use std::io::{Read, Seek};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use bpf_asm::policy::eval::evaluate;
use bpf_asm::policy::load::{load_file, LoadOptions, OciOptions};
use bpf_asm::policy::resolve::resolve;
use bpf_asm::seccomp::{Arch, AUDIT_ARCH_AARCH64, AUDIT_ARCH_I386, AUDIT_ARCH_X86_64};
use serde_json::Value;

extern "C" {
    fn dlopen(file: *const c_char, mode: c_int) -> *mut c_void;
    fn dlsym(handle: *mut c_void, name: *const c_char) -> *mut c_void;
}

#[repr(C)]
struct ScmpArgCmp {
    arg: c_uint,
    op: c_int,
    datum_a: u64,
    datum_b: u64,
}

type InitFn = unsafe extern "C" fn(u32) -> *mut c_void;
type ArchAddFn = unsafe extern "C" fn(*mut c_void, u32) -> c_int;
type RuleAddArrayFn =
    unsafe extern "C" fn(*mut c_void, u32, c_int, c_uint, *const ScmpArgCmp) -> c_int;
type ExportFn = unsafe extern "C" fn(*const c_void, c_int) -> c_int;
type ReleaseFn = unsafe extern "C" fn(*mut c_void);
type ResolveFn = unsafe extern "C" fn(*const c_char) -> c_int;

struct Libseccomp {
    init: InitFn,
    arch_add: ArchAddFn,
    rule_add_array: RuleAddArrayFn,
    export_bpf: ExportFn,
    release: ReleaseFn,
    resolve_name: ResolveFn,
}

impl Libseccomp {
    fn open() -> Option<Libseccomp> {
        let lib = CString::new("libseccomp.so.2").unwrap();
        // SAFETY: dlopen with a valid NUL-terminated name; RTLD_NOW = 2.
        let h = unsafe { dlopen(lib.as_ptr(), 2) };
        if h.is_null() {
            return None;
        }
        let sym = |name: &str| -> Option<*mut c_void> {
            let n = CString::new(name).unwrap();
            // SAFETY: `h` is a live handle, `n` a valid C string.
            let p = unsafe { dlsym(h, n.as_ptr()) };
            (!p.is_null()).then_some(p)
        };
        // SAFETY: the symbols are libseccomp's documented functions with
        // exactly these C signatures (seccomp.h, 2.x).
        unsafe {
            Some(Libseccomp {
                init: std::mem::transmute::<*mut c_void, InitFn>(sym("seccomp_init")?),
                arch_add: std::mem::transmute::<*mut c_void, ArchAddFn>(sym("seccomp_arch_add")?),
                rule_add_array: std::mem::transmute::<*mut c_void, RuleAddArrayFn>(sym(
                    "seccomp_rule_add_array",
                )?),
                export_bpf: std::mem::transmute::<*mut c_void, ExportFn>(sym(
                    "seccomp_export_bpf",
                )?),
                release: std::mem::transmute::<*mut c_void, ReleaseFn>(sym("seccomp_release")?),
                resolve_name: std::mem::transmute::<*mut c_void, ResolveFn>(sym(
                    "seccomp_syscall_resolve_name",
                )?),
            })
        }
    }
}

const SCMP_ARCH_X86: u32 = AUDIT_ARCH_I386;

/// Docker's default capabilities (moby `oci/caps/defaults.go`).
const CAPS: [&str; 14] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];
const KERNEL: (u32, u32) = (6, 18);

fn action(name: &str, errno: Option<u64>) -> u32 {
    let data = errno.unwrap_or(1) as u32 & 0xffff;
    match name {
        "SCMP_ACT_KILL" | "SCMP_ACT_KILL_THREAD" => 0,
        "SCMP_ACT_KILL_PROCESS" => 0x8000_0000,
        "SCMP_ACT_TRAP" => 0x0003_0000,
        "SCMP_ACT_ERRNO" => 0x0005_0000 | data,
        "SCMP_ACT_TRACE" => 0x7ff0_0000 | data,
        "SCMP_ACT_ALLOW" => 0x7fff_0000,
        "SCMP_ACT_LOG" => 0x7ffc_0000,
        other => panic!("action {other}"),
    }
}

fn op(name: &str) -> c_int {
    match name {
        "SCMP_CMP_NE" => 1,
        "SCMP_CMP_LT" => 2,
        "SCMP_CMP_LE" => 3,
        "SCMP_CMP_EQ" => 4,
        "SCMP_CMP_GE" => 5,
        "SCMP_CMP_GT" => 6,
        "SCMP_CMP_MASKED_EQ" => 7,
        other => panic!("op {other}"),
    }
}

fn strs(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

fn kernel_ok(v: &Value) -> Option<bool> {
    let s = v.as_str()?;
    let mut it = s.split('.');
    let want: (u32, u32) = (it.next()?.parse().ok()?, it.next()?.parse().ok()?);
    Some(KERNEL >= want)
}

/// moby's include/exclude filter for native amd64.
fn kept(e: &Value, caps: &[String]) -> bool {
    let x = &e["excludes"];
    if strs(&x["arches"]).iter().any(|a| a == "amd64")
        || strs(&x["caps"]).iter().any(|c| caps.contains(c))
    {
        return false;
    }
    if kernel_ok(&x["minKernel"]) == Some(true) {
        return false;
    }
    let i = &e["includes"];
    let arches = strs(&i["arches"]);
    if !arches.is_empty() && !arches.iter().any(|a| a == "amd64") {
        return false;
    }
    if !strs(&i["caps"]).iter().all(|c| caps.contains(c)) {
        return false;
    }
    kernel_ok(&i["minKernel"]) != Some(false)
}

/// Builds libseccomp's filter for the profile as runc does; returns the
/// program as (code, jt, jf, k).
fn libseccomp_filter(
    lib: &Libseccomp,
    profile: &Value,
    caps: &[String],
) -> Vec<(u16, u8, u8, u32)> {
    let default = action(
        profile["defaultAction"].as_str().unwrap(),
        profile["defaultErrnoRet"].as_u64(),
    );
    // SAFETY (all calls below): libseccomp C API used as documented; `ctx`
    // is live until seccomp_release; arrays outlive the calls.
    let ctx = unsafe { (lib.init)(default) };
    assert!(!ctx.is_null());
    assert_eq!(unsafe { (lib.arch_add)(ctx, SCMP_ARCH_X86) }, 0);
    for e in profile["syscalls"].as_array().into_iter().flatten() {
        if !kept(e, caps) {
            continue;
        }
        let act = action(e["action"].as_str().unwrap(), e["errnoRet"].as_u64());
        if act == default {
            continue;
        }
        let mut names = strs(&e["names"]);
        if let Some(n) = e["name"].as_str() {
            names.push(n.to_string());
        }
        let args: Vec<ScmpArgCmp> = e["args"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|a| ScmpArgCmp {
                arg: a["index"].as_u64().unwrap() as c_uint,
                op: op(a["op"].as_str().unwrap()),
                datum_a: a["value"].as_u64().unwrap(),
                datum_b: a["valueTwo"].as_u64().unwrap_or(0),
            })
            .collect();
        let mut counts = [0; 6];
        args.iter().for_each(|a| counts[a.arg as usize] += 1);
        let groups: Vec<&[ScmpArgCmp]> = if counts.iter().any(|&c| c > 1) {
            args.chunks(1).collect()
        } else {
            vec![&args[..]]
        };
        for name in names {
            let cname = CString::new(name.clone()).unwrap();
            let nr = unsafe { (lib.resolve_name)(cname.as_ptr()) };
            if nr == -1 {
                continue;
            }
            for g in &groups {
                let rc =
                    unsafe { (lib.rule_add_array)(ctx, act, nr, g.len() as c_uint, g.as_ptr()) };
                assert!(
                    rc == 0 || rc == -17,
                    "{name}: seccomp_rule_add_array returned {rc}"
                );
            }
        }
    }
    let path = std::env::temp_dir().join(format!("e1-oracle-{}.bpf", std::process::id()));
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&path)
        .unwrap();
    let rc = unsafe { (lib.export_bpf)(ctx, f.as_raw_fd()) };
    unsafe { (lib.release)(ctx) };
    assert_eq!(rc, 0);
    let mut bytes = Vec::new();
    f.rewind().unwrap();
    f.read_to_end(&mut bytes).unwrap();
    let _ = std::fs::remove_file(&path);
    bytes
        .chunks_exact(8)
        .map(|c| {
            (
                u16::from_ne_bytes([c[0], c[1]]),
                c[2],
                c[3],
                u32::from_ne_bytes([c[4], c[5], c[6], c[7]]),
            )
        })
        .collect()
}

/// The subset of cBPF libseccomp emits (loads of seccomp_data words, ALU
/// AND, jumps, returns), on little-endian `seccomp_data`.
fn run(prog: &[(u16, u8, u8, u32)], arch: u32, nr: u32, args: &[u64; 6]) -> u32 {
    let word = |k: u32| -> u32 {
        match k {
            0 => nr,
            4 => arch,
            8 | 12 => 0,
            16..=60 => {
                let a = args[((k - 16) / 8) as usize];
                if k % 8 == 0 {
                    a as u32
                } else {
                    (a >> 32) as u32
                }
            }
            _ => panic!("load {k}"),
        }
    };
    let (mut a, mut x, mut mem, mut pc) = (0u32, 0u32, [0u32; 16], 0usize);
    loop {
        let (code, jt, jf, k) = prog[pc];
        pc += 1;
        let src = if code & 0x08 != 0 { x } else { k };
        match code {
            0x20 => a = word(k),
            0x06 => return k,
            0x16 => return a,
            0x00 => a = k,
            0x01 => x = k,
            0x02 => mem[k as usize] = a,
            0x60 => a = mem[k as usize],
            0x07 => x = a,
            0x87 => a = x,
            0x54 | 0x5c => a &= src,
            0x05 => pc += k as usize,
            0x15 | 0x1d | 0x25 | 0x2d | 0x35 | 0x3d | 0x45 | 0x4d => {
                let c = match code & 0xf0 {
                    0x10 => a == src,
                    0x20 => a > src,
                    0x30 => a >= src,
                    _ => a & src != 0,
                };
                pc += if c { jt as usize } else { jf as usize };
            }
            other => panic!("opcode {other:#x} at {}", pc - 1),
        }
    }
}

/// splitmix64.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

fn corpus() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus/policies");
    p.is_dir().then_some(p)
}

fn compare(lib: &Libseccomp, file: &Path, extra_caps: &[&str]) -> usize {
    let profile: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    let mut caps: Vec<String> = CAPS.iter().map(|c| c.to_string()).collect();
    caps.extend(extra_caps.iter().map(|c| c.to_string()));
    let prog = libseccomp_filter(lib, &profile, &caps);
    let opts = LoadOptions {
        oci: OciOptions {
            caps: caps.clone(),
            kernel: KERNEL,
            arch: Some(Arch::X86_64),
        },
        ..LoadOptions::default()
    };
    let mut policy = load_file(file, &opts).unwrap();
    // The oracle covers x86_64 and x86 (x32 has no table here).
    policy
        .arches
        .retain(|a| matches!(a, Arch::X86_64 | Arch::X86));
    // runc skips names the installed libseccomp does not know (syscalls newer
    // than it, e.g. `mseal` for 2.5.4): do the same with ours.
    for r in &mut policy.rules {
        r.syscalls.retain(|s| {
            let c = CString::new(s.name.clone()).unwrap();
            // SAFETY: valid C string; pure lookup.
            unsafe { (lib.resolve_name)(c.as_ptr()) != -1 }
        });
    }
    let ours = resolve(&policy).unwrap();
    let seed = 0xd0c4e7;
    let mut rng = Rng(seed);
    let interesting = [
        0u64,
        1,
        2,
        8,
        10,
        16,
        38,
        39,
        40,
        41,
        0x20008,
        0x10000,
        0x2_0000,
        0x1000_0000,
        0x7e02_0000,
        0xffff_ffff,
        0x1_0000_0000,
        0x1_0000_0008,
        u64::MAX,
    ];
    let mut checked = 0;
    let mut bad = Vec::new();
    for (arch, nrs) in [
        (
            AUDIT_ARCH_X86_64,
            (0..=470u32)
                .chain(0x4000_0000..0x4000_0010)
                .chain([u32::MAX])
                .collect::<Vec<_>>(),
        ),
        (AUDIT_ARCH_I386, (0..=470u32).chain([u32::MAX]).collect()),
        (AUDIT_ARCH_AARCH64, vec![0, 63, 200]),
    ] {
        for nr in nrs {
            for round in 0..6 {
                let mut args = [0u64; 6];
                for a in &mut args {
                    let r = rng.next();
                    *a = if round == 0 {
                        0
                    } else if r % 3 == 0 {
                        r
                    } else {
                        interesting[(r >> 8) as usize % interesting.len()]
                    };
                }
                let want = run(&prog, arch, nr, &args);
                let got = evaluate(&ours, arch, nr, &args).to_ret();
                checked += 1;
                if want != got && bad.len() < 20 {
                    bad.push(format!("arch {arch:#x} nr {nr} args {args:x?}: libseccomp {want:#x}, ours {got:#x}"));
                }
            }
        }
    }
    assert!(
        bad.is_empty(),
        "{} (seed {seed:#x}): {} differences:\n{}",
        file.display(),
        bad.len(),
        bad.join("\n")
    );
    checked
}

#[test]
fn imported_profiles_decide_like_libseccomp() {
    let Some(lib) = Libseccomp::open() else {
        assert!(
            std::env::var("SECCOMP_ORACLE").as_deref() != Ok("1"),
            "SECCOMP_ORACLE=1 but libseccomp.so.2 cannot be opened"
        );
        println!("skipped: libseccomp not found");
        return;
    };
    let Some(c) = corpus() else {
        println!("skipped: corpus not found");
        return;
    };
    let mut n = 0;
    for (rel, extra) in [
        ("docker/default.json", &[][..]),
        (
            "docker/default.json",
            &["CAP_SYS_ADMIN", "CAP_SYS_PTRACE"][..],
        ),
        ("podman/seccomp.json", &[][..]),
        ("podman/seccomp.json", &["CAP_SYS_ADMIN"][..]),
        ("flatpak/flatpak-docker-seccomp.json", &[][..]),
        // (docker/fixtures/example.json is left out: libseccomp refuses its
        // `errnoRet: 12345`, above MAX_ERRNO, so runc cannot load it at all.)
        ("docker/fixtures/default-old-format.json", &[][..]),
    ] {
        n += compare(&lib, &c.join(rel), extra);
    }
    println!("{n} calls decided alike");
}
