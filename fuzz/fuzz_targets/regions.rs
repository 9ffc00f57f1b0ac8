//! libFuzzer entry point of the `regions` target; the body is [`fuzz::regions`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz::regions(data));
