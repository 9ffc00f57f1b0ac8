//! libFuzzer entry point of the `asm_text` target; the body is [`fuzz::asm_text`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz::asm_text(data));
