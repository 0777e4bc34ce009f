//! See perch::fuzzing::check_documents for the properties checked.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| perch::fuzzing::check_documents(data));
