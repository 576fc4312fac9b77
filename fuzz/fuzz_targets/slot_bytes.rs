//! Fuzz target `slot_bytes`: see [`vitalring_fuzz::slot_bytes`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| vitalring_fuzz::slot_bytes(data));
