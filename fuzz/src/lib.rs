//! Fuzz targets of the toolkit, as plain library functions.
//!
//! Each target body takes the fuzzer's bytes and panics when a property of
//! the toolkit does not hold (that is how a fuzzer learns of a bug):
//!
//! * [`asm_text`](mod@asm_text): the assembler never panics, and what assembles
//!   round-trips through the disassembler and the encoders.
//! * [`verifier_emulator`](mod@verifier_emulator): the verifier never panics; every program it
//!   accepts runs in the emulator within its length in steps, and the
//!   prepared emulator, the traced run and the kernel's action cache agree.
//! * [`policy_semantics`](mod@policy_semantics): arbitrary policies compile in every layout to
//!   verified programs whose emulated action is the reference `evaluate`.
//! * [`policy_text`](mod@policy_text): arbitrary TOML/JSON never panics the policy loaders,
//!   and what loads compiles.
//! * [`regions`](mod@regions): the prover's regions of arbitrary filter stacks partition the
//!   input space with the emulator's values, and proofs against simple policies are right.
//!
//! * [`profile_text`](mod@profile_text): the frequency-profile parser never
//!   panics, and what it accepts is written back to the same profile.
//!
//! The binaries in `fuzz_targets/` (feature `libfuzzer`, nightly, `cargo
//! fuzz`) call these functions; on stable, `cargo test -p fuzz` runs them
//! over the seed files in `seeds/<target>/` and over inputs generated from a
//! deterministic byte stream ([`harness`], over `testkit::Rng`).
#![warn(missing_docs)]

pub mod asm_text;
pub mod harness;
pub mod policy_semantics;
pub mod policy_text;
pub mod profile_text;
pub mod regions;
pub mod verifier_emulator;

pub use asm_text::asm_text;
pub use policy_semantics::policy_semantics;
pub use policy_text::policy_text;
pub use profile_text::profile_text;
pub use regions::regions;
pub use verifier_emulator::verifier_emulator;

/// A target body: takes the fuzzer's bytes, panics on a violated property.
pub type Body = fn(&[u8]);

/// The fuzz targets by name, with their bodies.
pub const TARGETS: [(&str, Body); 6] = [
    ("asm_text", asm_text),
    ("verifier_emulator", verifier_emulator),
    ("policy_semantics", policy_semantics),
    ("policy_text", policy_text),
    ("regions", regions),
    ("profile_text", profile_text),
];
