//! Fuzz target `json_waveform`: see [`vitalring_fuzz::json_waveform`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| vitalring_fuzz::json_waveform(data));
