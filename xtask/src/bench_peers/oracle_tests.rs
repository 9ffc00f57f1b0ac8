//! Differential test: the corpus' OCI/Docker profiles, imported by our loader
//! and decided by `evaluate`, against the filter libseccomp builds when the
//! profile is loaded the way runc loads it (same include/exclude filtering,
//! same `matchCall` rule splitting), run by `bpf_vm::emu::run`.
//!
//! libseccomp is opened at run time (`dlopen("libseccomp.so.2")`, see
//! [`super::libseccomp`]), so the test builds everywhere. Without it the
//! test prints "skipped: libseccomp not found" — unless `SECCOMP_ORACLE=1`
//! is set (CI), in which case its absence is a failure.

use std::path::{Path, PathBuf};

use bpf_asm::policy::eval::evaluate;
use bpf_asm::policy::load::oci::DOCKER_DEFAULT_CAPS;
use bpf_asm::policy::load::{load_file, LoadOptions, OciOptions};
use bpf_asm::policy::resolve::resolve;
use bpf_asm::seccomp::{Arch, Endian, AUDIT_ARCH_AARCH64, AUDIT_ARCH_I386, AUDIT_ARCH_X86_64};
use bpf_vm::data::SeccompData;
use serde_json::Value;

use super::libseccomp::{profile_rules, Libseccomp, Names, Target};

const KERNEL: (u32, u32) = (6, 18);

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
    let mut caps: Vec<String> = DOCKER_DEFAULT_CAPS.iter().map(|c| c.to_string()).collect();
    caps.extend(extra_caps.iter().map(|c| c.to_string()));
    // libseccomp's filter as runc builds it: native x86_64 plus x86, the
    // default optimisation, every name libseccomp knows.
    let rules = profile_rules(lib, &profile, &caps, KERNEL, Names::Known).unwrap();
    let prog = lib
        .build_for(
            &rules,
            &Target {
                arches: &[Arch::X86_64, Arch::X86],
                x32: false,
                optimize: None,
            },
        )
        .unwrap();
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
        r.syscalls
            .retain(|s| lib.number(&s.name, Names::Known).is_some());
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
                    } else if r.is_multiple_of(3) {
                        r
                    } else {
                        interesting[(r >> 8) as usize % interesting.len()]
                    };
                }
                // `seccomp_data` of an x86 machine (little-endian).
                let data = SeccompData::new(nr as i32, arch).with_args(args);
                let want = bpf_vm::emu::run(&prog, &data, Endian::Little).unwrap().ret;
                let got = evaluate(&ours, arch, nr, &args).to_ret();
                checked += 1;
                if want != got && bad.len() < 20 {
                    bad.push(format!(
                        "arch {arch:#x} nr {nr} args {args:x?}: libseccomp {want:#x}, ours {got:#x}"
                    ));
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
