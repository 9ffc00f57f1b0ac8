//! Target `policy_text`: the policy loaders on arbitrary text.
//!
//! Properties: [`load_str`] never panics, whatever the format it is told or
//! guesses; its errors have a 1-based line and column inside the text (at
//! most one column past the end of the line); and a policy it loads
//! resolves and compiles (unless it is too long for 4096 instructions), as
//! the loader promises.

use arbitrary::{Result, Unstructured};
use bpf_asm::policy::compile::{compile, CompileError, CompileOptions};
use bpf_asm::policy::load::{load_str, Format, LoadOptions, OciOptions};
use bpf_asm::policy::resolve::resolve;
use bpf_asm::Arch;

/// The target body: the bytes as text (lossy UTF-8) in every format, then a
/// TOML, OCI or Firecracker document built from the same bytes
/// ([`gen_document`]).
pub fn policy_text(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    check_text(&text);
    let mut u = Unstructured::new(data);
    if let Ok(doc) = gen_document(&mut u) {
        check_text(&doc);
    }
}

/// The load options every text is tried with.
pub fn options() -> Vec<LoadOptions> {
    let oci = OciOptions {
        caps: vec!["CAP_SYS_ADMIN".to_string()],
        kernel: (6, 1),
        arch: Some(Arch::X86_64),
    };
    let mut all = vec![LoadOptions {
        oci: oci.clone(),
        ..LoadOptions::default()
    }];
    for format in [Format::Toml, Format::Oci, Format::Firecracker] {
        all.push(LoadOptions {
            format: Some(format),
            oci: oci.clone(),
            filter: Some("vmm".to_string()),
        });
    }
    all
}

/// Loads `text` with every option set and checks the result.
pub fn check_text(text: &str) {
    for opts in options() {
        match load_str(text, "<fuzz>", &opts) {
            Ok(policy) => {
                if let Err(e) = resolve(&policy) {
                    panic!("a loaded policy does not resolve: {e}\n{text}");
                }
                match compile(&policy, &CompileOptions::default()) {
                    Ok(_) | Err(CompileError::TooLong { .. }) => {}
                    Err(e) => panic!("a loaded policy does not compile: {e}\n{text}"),
                }
            }
            Err(e) => {
                assert!(
                    e.line >= 1 && e.column >= 1,
                    "position {}:{} of {e}",
                    e.line,
                    e.column
                );
                let lines = text.split('\n').count();
                assert!(e.line <= lines, "line {} of {lines} in {e}\n{text}", e.line);
                let width = text
                    .split('\n')
                    .nth(e.line - 1)
                    .map_or(0, |l| l.chars().count());
                assert!(
                    e.column <= width + 1,
                    "column {} of {width} in {e}\n{text}",
                    e.column
                );
                let _ = e.to_string();
            }
        }
    }
}

const ACTIONS: [&str; 14] = [
    "allow",
    "log",
    "kill_process",
    "kill_thread",
    "kill",
    "trap",
    "trap(3)",
    "errno(EPERM)",
    "errno(38)",
    "errno(70000)",
    "trace(1)",
    "user_notif",
    "ALLOW",
    "errno(",
];
const OCI_ACTIONS: [&str; 9] = [
    "SCMP_ACT_ALLOW",
    "SCMP_ACT_ERRNO",
    "SCMP_ACT_KILL",
    "SCMP_ACT_KILL_PROCESS",
    "SCMP_ACT_TRAP",
    "SCMP_ACT_TRACE",
    "SCMP_ACT_LOG",
    "SCMP_ACT_NOTIFY",
    "SCMP_ACT_BOGUS",
];
const OCI_OPS: [&str; 8] = [
    "SCMP_CMP_EQ",
    "SCMP_CMP_NE",
    "SCMP_CMP_LT",
    "SCMP_CMP_LE",
    "SCMP_CMP_GT",
    "SCMP_CMP_GE",
    "SCMP_CMP_MASKED_EQ",
    "SCMP_CMP_XX",
];
const SYSCALLS: [&str; 12] = [
    "read",
    "openat",
    "open",
    "socket",
    "clone",
    "personality",
    "socketcall",
    "nosuchcall",
    "newfstatat",
    "ioctl",
    "",
    "clone3",
];
const ARCH_NAMES: [&str; 8] = [
    "x86_64",
    "i386",
    "aarch64",
    "s390x",
    "SCMP_ARCH_X86_64",
    "SCMP_ARCH_X86",
    "SCMP_ARCH_X32",
    "bogus",
];
const WHEN: [&str; 12] = [
    "arg0 == 1",
    "arg1:u32 != 0",
    "arg2 & 0x3 == 0",
    "arg5:i32 < -1",
    "arg6 == 1",
    "arg0:u32 >= 0x1_0000_0000",
    "arg3 <= 0xffffffffffffffff",
    "arg4:i32 > 2147483647",
    "arg0 ==",
    "arg1 & 0b101 > 0o7",
    "arg0:u64 == -100",
    "x == 1",
];
const NUMBERS: [&str; 8] = [
    "0",
    "1",
    "38",
    "-1",
    "4294967295",
    "18446744073709551615",
    "1e3",
    "\"2\"",
];

fn pick<'a>(u: &mut Unstructured<'_>, from: &[&'a str]) -> Result<&'a str> {
    u.choose(from).copied()
}

fn list(u: &mut Unstructured<'_>, from: &[&str], max: u8) -> Result<String> {
    let mut items = Vec::new();
    for _ in 0..u.int_in_range(0..=max)? {
        items.push(format!("{:?}", pick(u, from)?));
    }
    Ok(format!("[{}]", items.join(", ")))
}

/// A policy document from a small grammar of the three formats, with
/// mostly valid keys and values and some wrong ones.
pub fn gen_document(u: &mut Unstructured<'_>) -> Result<String> {
    Ok(match u.int_in_range(0..=2u8)? {
        0 => gen_toml(u)?,
        1 => gen_oci(u)?,
        _ => gen_firecracker(u)?,
    })
}

fn gen_toml(u: &mut Unstructured<'_>) -> Result<String> {
    let mut s = String::new();
    if !u.ratio(1, 10)? {
        s.push_str(&format!("default = {:?}\n", pick(u, &ACTIONS)?));
    }
    if u.arbitrary()? {
        s.push_str(&format!("arches = {}\n", list(u, &ARCH_NAMES, 3)?));
    }
    if u.arbitrary()? {
        s.push_str(&format!("bad_arch = {:?}\n", pick(u, &ACTIONS)?));
    }
    for _ in 0..u.int_in_range(0..=5u8)? {
        s.push_str("[[rule]]\n");
        s.push_str(&format!("syscalls = {}\n", list(u, &SYSCALLS, 3)?));
        if u.arbitrary()? {
            s.push_str(&format!("when = {}\n", list(u, &WHEN, 3)?));
        }
        s.push_str(&format!("action = {:?}\n", pick(u, &ACTIONS)?));
        if u.ratio(1, 3)? {
            s.push_str("optional = true\n");
        }
    }
    for _ in 0..u.int_in_range(0..=2u8)? {
        s.push_str("[[test]]\n");
        s.push_str(&format!(
            "call = \"{}({}, {})\"\n",
            pick(u, &SYSCALLS)?,
            pick(u, &NUMBERS)?,
            pick(u, &NUMBERS)?
        ));
        s.push_str(&format!("expect = {:?}\n", pick(u, &ACTIONS)?));
    }
    if u.ratio(1, 8)? {
        s.push_str("unknown_key = 1\n");
    }
    Ok(s)
}

fn gen_oci(u: &mut Unstructured<'_>) -> Result<String> {
    let mut entries = Vec::new();
    for _ in 0..u.int_in_range(0..=4u8)? {
        let mut args = Vec::new();
        for _ in 0..u.int_in_range(0..=2u8)? {
            args.push(format!(
                "{{\"index\": {}, \"value\": {}, \"valueTwo\": {}, \"op\": {:?}}}",
                u.int_in_range(0..=6u8)?,
                pick(u, &NUMBERS)?,
                pick(u, &NUMBERS)?,
                pick(u, &OCI_OPS)?
            ));
        }
        let mut e = format!(
            "{{\"names\": {}, \"action\": {:?}, \"args\": [{}]",
            list(u, &SYSCALLS, 3)?,
            pick(u, &OCI_ACTIONS)?,
            args.join(", ")
        );
        if u.arbitrary()? {
            e.push_str(&format!(", \"errnoRet\": {}", pick(u, &NUMBERS)?));
        }
        if u.ratio(1, 3)? {
            e.push_str(&format!(
                ", \"includes\": {{\"caps\": [\"CAP_SYS_ADMIN\"], \"arches\": [\"amd64\"], \"minKernel\": {:?}}}",
                pick(u, &["4.8", "7.0", "x.y", "5"])?
            ));
        }
        if u.ratio(1, 4)? {
            e.push_str(", \"excludes\": {\"caps\": [\"CAP_BPF\"]}");
        }
        e.push('}');
        entries.push(e);
    }
    let mut s = format!("{{\"defaultAction\": {:?}", pick(u, &OCI_ACTIONS)?);
    if u.arbitrary()? {
        s.push_str(&format!(", \"defaultErrnoRet\": {}", pick(u, &NUMBERS)?));
    }
    if u.arbitrary()? {
        s.push_str(&format!(
            ", \"architectures\": {}",
            list(u, &ARCH_NAMES, 3)?
        ));
    } else if u.arbitrary()? {
        s.push_str(", \"archMap\": [{\"architecture\": \"SCMP_ARCH_X86_64\", \"subArchitectures\": [\"SCMP_ARCH_X86\", \"SCMP_ARCH_X32\"]}]");
    }
    s.push_str(&format!(", \"syscalls\": [{}]}}", entries.join(", ")));
    Ok(s)
}

fn gen_firecracker(u: &mut Unstructured<'_>) -> Result<String> {
    let fc_actions = [
        "\"allow\"",
        "\"trap\"",
        "\"kill_process\"",
        "{\"errno\": 1}",
        "\"log\"",
        "3",
    ];
    let mut filters = Vec::new();
    for name in ["vmm", "api"] {
        if !u.arbitrary()? {
            continue;
        }
        let mut entries = Vec::new();
        for _ in 0..u.int_in_range(0..=4u8)? {
            let mut e = format!("{{\"syscall\": {:?}", pick(u, &SYSCALLS)?);
            if u.arbitrary()? {
                let op = pick(
                    u,
                    &[
                        "\"eq\"",
                        "\"ne\"",
                        "\"lt\"",
                        "\"ge\"",
                        "{\"masked_eq\": 4}",
                        "\"zz\"",
                    ],
                )?;
                e.push_str(&format!(
                    ", \"args\": [{{\"index\": {}, \"type\": {:?}, \"op\": {op}, \"val\": {}}}]",
                    u.int_in_range(0..=6u8)?,
                    pick(u, &["dword", "qword", "byte"])?,
                    pick(u, &NUMBERS)?
                ));
            }
            e.push('}');
            entries.push(e);
        }
        filters.push(format!(
            "{name:?}: {{\"default_action\": {}, \"filter_action\": {}, \"filter\": [{}]}}",
            pick(u, &fc_actions)?,
            pick(u, &fc_actions)?,
            entries.join(", ")
        ));
    }
    Ok(format!("{{{}}}", filters.join(", ")))
}
