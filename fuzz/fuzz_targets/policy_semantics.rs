//! libFuzzer entry point of the `policy_semantics` target; the body is [`fuzz::policy_semantics`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz::policy_semantics(data));
