#![no_main]
//! See `nvr::fuzzing::config` for what is checked.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    nvr::fuzzing::config(data);
});
