//! Fuzz target `slot_ops`: see [`vitalring_fuzz::slot_ops`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| vitalring_fuzz::slot_ops(data));
