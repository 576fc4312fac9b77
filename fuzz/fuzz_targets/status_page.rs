//! Fuzz target `status_page`: see [`vitalring_fuzz::status_page`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| vitalring_fuzz::status_page(data));
