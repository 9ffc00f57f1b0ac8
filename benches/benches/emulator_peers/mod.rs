//! Docker's default profile as the system's libseccomp builds it for the
//! emulator bench, through the libseccomp peer of `cargo xtask bench-peers`
//! (`xtask/src/bench_peers/libseccomp.rs`, shared as is).

use std::path::Path;

use bpf_asm::policy::load::oci::DOCKER_DEFAULT_CAPS;
use bpf_asm::{Arch, SockFilter};
use serde_json::Value;

// The bench uses a part of the peer only.
#[allow(dead_code)]
#[path = "../../../xtask/src/bench_peers/libseccomp.rs"]
mod libseccomp;

pub use libseccomp::Libseccomp;
use libseccomp::{profile_rules, Names, Target};

/// Builds Docker's x86_64 filter from the profile at `profile` (with
/// Docker's default capabilities on kernel 6.1, as the other benches load
/// it; with the x86 and x32 sub-architectures, as Docker's `archMap` asks)
/// at optimisation level `optimize` (1: linear, 2: binary tree).
pub fn docker_filter(
    lib: &Libseccomp,
    profile: &Path,
    optimize: u32,
) -> Result<Vec<SockFilter>, String> {
    let text = std::fs::read_to_string(profile).map_err(|e| e.to_string())?;
    let profile: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    let caps: Vec<String> = DOCKER_DEFAULT_CAPS.iter().map(|c| c.to_string()).collect();
    let rules =
        profile_rules(lib, &profile, &caps, (6, 1), Names::Native).map_err(|e| e.to_string())?;
    lib.build_for(
        &rules,
        &Target {
            arches: &[Arch::X86_64, Arch::X86],
            x32: true,
            optimize: Some(optimize),
        },
    )
    .map_err(|e| e.to_string())
}
