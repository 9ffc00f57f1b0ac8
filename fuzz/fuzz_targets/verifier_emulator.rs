//! libFuzzer entry point of the `verifier_emulator` target; the body is [`fuzz::verifier_emulator`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz::verifier_emulator(data));
