//! Fuzz target `binary_payloads`: see [`vitalring_fuzz::binary_payloads`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| vitalring_fuzz::binary_payloads(data));
