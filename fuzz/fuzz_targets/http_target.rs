#![no_main]
//! See `nvr::fuzzing::http_target` for what is checked.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    nvr::fuzzing::http_target(data);
});
