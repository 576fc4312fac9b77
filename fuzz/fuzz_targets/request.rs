//! Fuzz target `request`: see [`vitalring_fuzz::request`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| vitalring_fuzz::request(data));
