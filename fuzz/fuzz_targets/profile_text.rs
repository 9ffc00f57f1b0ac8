//! libFuzzer entry point of the `profile_text` target; the body is [`fuzz::profile_text`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz::profile_text(data));
