//! Differential test: the corpus' OCI/Docker profiles, imported by our loader
//! and decided by `evaluate`, against the filter libseccomp builds when the
//! profile is loaded the way runc loads it (same include/exclude filtering,
//! same `matchCall` rule splitting), run by `bpf_vm::emu::run`.
//!
//! libseccomp is opened at run time (`dlopen("libseccomp.so.2")`, see
//! `peers::libseccomp`), so the test builds everywhere. Without it the
//! test prints "skipped: libseccomp not found" — unless `SECCOMP_ORACLE=1`
//! is set (CI), in which case its absence is a failure.

use std::path::Path;

use bpf_asm::policy::eval::evaluate;
use bpf_asm::policy::load::oci::DOCKER_DEFAULT_CAPS;
use bpf_asm::policy::load::{load_file, LoadOptions, OciOptions};
use bpf_asm::policy::resolve::resolve;
use bpf_asm::seccomp::{Arch, Endian, AUDIT_ARCH_AARCH64, AUDIT_ARCH_I386, AUDIT_ARCH_X86_64};
use bpf_vm::data::SeccompData;
use peers::docker::{file_rules, Load};
use peers::libseccomp::compared_arches;
use peers::{Libseccomp, Names, Target};
use testkit::Rng;

const KERNEL: (u32, u32) = (6, 18);

/// libseccomp, or `None` after saying the test is skipped; its absence fails
/// when `SECCOMP_ORACLE=1` (CI with the library installed).
fn libseccomp() -> Option<Libseccomp> {
    let lib = Libseccomp::open();
    if lib.is_none() {
        assert!(
            std::env::var("SECCOMP_ORACLE").as_deref() != Ok("1"),
            "SECCOMP_ORACLE=1 but libseccomp.so.2 cannot be opened"
        );
        println!("skipped: libseccomp not found");
    }
    lib
}

fn docker_caps(extra: &[&str]) -> Vec<String> {
    DOCKER_DEFAULT_CAPS
        .iter()
        .chain(extra)
        .map(|c| c.to_string())
        .collect()
}

fn compare(lib: &Libseccomp, file: &Path, extra_caps: &[&str], rng: &mut Rng) -> usize {
    let caps = docker_caps(extra_caps);
    // libseccomp's filter as runc builds it: native x86_64 plus x86, the
    // default optimisation, every name libseccomp knows.
    let load = Load {
        caps: &caps,
        kernel: KERNEL,
        names: Names::Known,
    };
    let rules = file_rules(lib, file, &load).unwrap();
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
                    let r = rng.next_u64();
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
        "{}: {} differences:\n{}",
        file.display(),
        bad.len(),
        bad.join("\n")
    );
    checked
}

#[test]
fn imported_profiles_decide_like_libseccomp() {
    let Some(lib) = libseccomp() else { return };
    let Some(c) = testkit::corpus::path("policies") else {
        return;
    };
    let mut rng = Rng::for_test("imported_profiles_decide_like_libseccomp", 0xd0c4e7);
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
        n += compare(&lib, &c.join(rel), extra, &mut rng);
    }
    println!("{n} calls decided alike");
}

/// libseccomp builds for exactly the architectures asked for: x86_64 alone
/// has no i386 check and is shorter.
#[test]
fn libseccomp_filters_check_only_the_chosen_architectures() {
    let Some(lib) = libseccomp() else { return };
    let Some(path) = testkit::corpus::path("policies/docker/default.json") else {
        return;
    };
    let caps = docker_caps(&[]);
    let load = Load {
        caps: &caps,
        kernel: (6, 1),
        names: Names::Native,
    };
    let rules = file_rules(&lib, &path, &load).unwrap();
    for optimize in [1, 2] {
        let only_64 = lib.build(&rules, optimize, &[Arch::X86_64]).unwrap();
        assert_eq!(compared_arches(&only_64), [AUDIT_ARCH_X86_64]);
        let both = lib
            .build(&rules, optimize, &[Arch::X86_64, Arch::X86])
            .unwrap();
        let mut want = vec![AUDIT_ARCH_X86_64, AUDIT_ARCH_I386];
        want.sort_unstable();
        assert_eq!(compared_arches(&both), want);
        assert!(only_64.len() < both.len(), "optimize {optimize}");
        let only_32 = lib.build(&rules, optimize, &[Arch::X86]).unwrap();
        assert_eq!(compared_arches(&only_32), [AUDIT_ARCH_I386]);
    }
}

/// Rules built through the API (as a generated policy is) decide as they
/// say, at both optimisation levels: argument comparisons of every
/// operator, on generated values around each constant.
///
/// Ordered comparisons (`<`, `<=`, `>`, `>=`) use constants below 2^32:
/// libseccomp 2.5 compares 64-bit values word by word and gets them wrong
/// when the high words differ (e.g. `arg1 <= 0x3bcfdc0000000` refuses
/// `0x2e0d280000001`), which is libseccomp's behaviour, not this API's.
#[test]
fn rules_built_through_the_api_decide_as_written() {
    use peers::{Rules, ScmpArgCmp, ScmpCompare};
    let Some(lib) = libseccomp() else { return };
    const ALLOW: u32 = 0x7fff_0000;
    const EPERM: u32 = 0x0005_0001;
    let ioctl = lib.resolve("ioctl").expect("x86_64 has ioctl");
    let mut rng = Rng::for_test("rules_built_through_the_api_decide_as_written", 0x10c7);
    let ops = [
        ScmpCompare::Ne,
        ScmpCompare::Lt,
        ScmpCompare::Le,
        ScmpCompare::Eq,
        ScmpCompare::Ge,
        ScmpCompare::Gt,
        ScmpCompare::MaskedEq,
    ];
    for case in 0..40 {
        let mut rules = Rules::new(EPERM);
        let mut written = Vec::new();
        for _ in 0..1 + rng.index(6) {
            let op = rng.pick(&ops);
            let arg = rng.below(3) as u32;
            let ordered = !matches!(
                op,
                ScmpCompare::Eq | ScmpCompare::Ne | ScmpCompare::MaskedEq
            );
            let a = if ordered {
                rng.next_u64() >> (32 + rng.below(32))
            } else {
                rng.below(1 << 20) << (rng.below(2) * 30)
            };
            let b = if op == ScmpCompare::MaskedEq {
                a & rng.next_u64()
            } else {
                0
            };
            let cmp = ScmpArgCmp::new(arg, op, a, b);
            rules.push("ioctl", ALLOW, ioctl, &[cmp]);
            written.push(cmp);
        }
        let holds = |c: &ScmpArgCmp, args: &[u64; 6]| {
            let x = args[c.arg as usize];
            match c.op {
                1 => x != c.datum_a,
                2 => x < c.datum_a,
                3 => x <= c.datum_a,
                4 => x == c.datum_a,
                5 => x >= c.datum_a,
                6 => x > c.datum_a,
                _ => x & c.datum_a == c.datum_b,
            }
        };
        for optimize in [1, 2] {
            let prog = lib.build(&rules, optimize, &[Arch::X86_64]).unwrap();
            for _ in 0..200 {
                let mut args = [0u64; 6];
                for a in &mut args[..3] {
                    let near = rng.pick(&written).datum_a;
                    *a = match rng.below(4) {
                        0 => near,
                        1 => near.wrapping_add(1),
                        2 => near.wrapping_sub(1),
                        _ => rng.next_u64() >> (32 * rng.below(2)),
                    };
                }
                let want = if written.iter().any(|c| holds(c, &args)) {
                    ALLOW
                } else {
                    EPERM
                };
                let data = SeccompData::new(ioctl, AUDIT_ARCH_X86_64).with_args(args);
                let got = bpf_vm::emu::run(&prog, &data, Endian::Little).unwrap().ret;
                assert_eq!(
                    got, want,
                    "case {case} optimize {optimize}: {written:?} args {args:x?}"
                );
            }
        }
    }
}
