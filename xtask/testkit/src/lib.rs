//! Test support for the whole workspace, written once.
//!
//! * [`Rng`]: the one seeded generator of every generated test, fuzz replay
//!   and bench input. Each test takes its seed from [`seed`], which prints it
//!   and lets [`SEED_ENV`] replace it, so every failure can be replayed.
//! * [`corpus`]: the one lookup of the shared corpus (`../shared/corpus`
//!   beside the workspace), with the "skipped: corpus not found" rule and
//!   the variables that turn a missing corpus into a failure.
//! * [`base64_decode`] and [`serde_json`]: the corpus' encodings, decoded by
//!   maintained crates instead of hand-written readers.
//!
//! This crate is dev-only (`publish = false`) and depends on no crate of the
//! workspace, so that every crate, including `bpf-asm` and `bpf-vm` in their
//! own unit tests, can use it without a second copy of itself in the test
//! binary.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod corpus;
mod rng;

pub use rng::{seed, Rng, LEGACY_SEED_ENV, SEED_ENV};
pub use serde_json;

/// Decodes standard base64 (RFC 4648 alphabet, `=` padding required where
/// the length needs it, no white space): the encoding of the corpus'
/// `bpf_b64` programs.
pub fn base64_decode(text: &str) -> Result<Vec<u8>, base64::DecodeError> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_decodes_padded_text_and_refuses_the_rest() {
        assert_eq!(base64_decode("").unwrap(), b"");
        assert_eq!(base64_decode("Zg==").unwrap(), b"f");
        assert_eq!(base64_decode("Zm8=").unwrap(), b"fo");
        assert_eq!(base64_decode("Zm9v").unwrap(), b"foo");
        assert_eq!(base64_decode("+/8=").unwrap(), [0xfb, 0xff]);
        for bad in ["Zg", "Zm9v!", "Zm 9v", "Z===", "-_8="] {
            assert!(base64_decode(bad).is_err(), "{bad:?} accepted");
        }
    }
}
