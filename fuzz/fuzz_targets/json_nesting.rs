//! Fuzz target `json_nesting`: see [`vitalring_fuzz::json_nesting`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| vitalring_fuzz::json_nesting(data));
