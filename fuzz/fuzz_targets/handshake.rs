//! Fuzz target `handshake`: see [`vitalring_fuzz::handshake`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| vitalring_fuzz::handshake(data));
