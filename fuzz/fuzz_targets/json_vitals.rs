//! Fuzz target `json_vitals`: see [`vitalring_fuzz::json_vitals`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| vitalring_fuzz::json_vitals(data));
