//! Inputs shared by the `asm`, `verify`, `compile` and `layouts` benches.
#![allow(dead_code)]

use std::path::PathBuf;

use bpf_asm::policy::compile::{compile, CompileOptions, Layout};
use bpf_asm::policy::load::oci::DOCKER_DEFAULT_CAPS;
use bpf_asm::policy::load::{load_file, LoadOptions, OciOptions};
use bpf_asm::policy::Policy;
use bpf_asm::{Arch, SockFilter};

/// Docker's default profile: its path (`None`: the corpus is absent, see
/// `testkit::corpus`).
pub fn docker_path() -> Option<PathBuf> {
    testkit::corpus::path("policies/docker/default.json")
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
