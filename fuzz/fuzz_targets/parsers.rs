#![no_main]
//! Every parser of untrusted camera bytes: no panic, output bounded by the input.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    nvr::hikvision::check_parsers(data);
});
