//! See perch::fuzzing::check_render for the properties checked.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = perch::fuzzing::check_render(data);
});
