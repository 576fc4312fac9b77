//! Fuzz target `header_bytes`: see [`vitalring_fuzz::header_bytes`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| vitalring_fuzz::header_bytes(data));
