//! libFuzzer entry point of the `policy_text` target; the body is [`fuzz::policy_text`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz::policy_text(data));
