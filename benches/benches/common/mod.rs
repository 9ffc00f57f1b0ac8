//! Inputs shared by the `asm`, `verify`, `compile` and `layouts` benches.
#![allow(dead_code)]

use std::path::PathBuf;

use bpf_asm::policy::compile::{compile, CompileOptions, Layout};
use bpf_asm::policy::load::oci::DOCKER_DEFAULT_CAPS;
use bpf_asm::policy::load::{load_file, LoadOptions, OciOptions};
use bpf_asm::policy::Policy;
use bpf_asm::{Arch, SockFilter};

/// The shared corpus, if present (else prints "skipped: corpus not found").
pub fn corpus() -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus");
    if p.is_dir() {
        Some(p)
    } else {
        println!("skipped: corpus not found");
        None
    }
}

/// Docker's default profile: its path.
pub fn docker_path() -> Option<PathBuf> {
    corpus().map(|c| c.join("policies/docker/default.json"))
}

/// How Docker loads its profile on x86_64 (default capabilities, kernel 6.1).
pub fn docker_options() -> LoadOptions {
    LoadOptions {
        oci: OciOptions {
            caps: DOCKER_DEFAULT_CAPS.iter().map(|c| c.to_string()).collect(),
            kernel: (6, 1),
            arch: Some(Arch::X86_64),
        },
        ..LoadOptions::default()
    }
}

/// Docker's default profile as a policy.
pub fn docker_policy() -> Option<Policy> {
    let path = docker_path()?;
    Some(load_file(&path, &docker_options()).expect("Docker's profile loads"))
}

/// Docker's profile compiled in each concrete layout.
pub fn docker_programs() -> Vec<(Layout, Vec<SockFilter>)> {
    let Some(policy) = docker_policy() else {
        return Vec::new();
    };
    Layout::ALL
        .into_iter()
        .map(|layout| {
            let opts = CompileOptions {
                layout,
                profile: None,
            };
            (
                layout,
                compile(&policy, &opts).expect("Docker's profile compiles"),
            )
        })
        .collect()
}

/// Decodes standard base64 (stops at `=`); `None` on any other character.
pub fn base64(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => break,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Some(out)
}
