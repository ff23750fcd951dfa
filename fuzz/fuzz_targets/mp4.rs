#![no_main]
//! See `nvr::fuzzing::mp4` for what is checked.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    nvr::fuzzing::mp4(data);
});
