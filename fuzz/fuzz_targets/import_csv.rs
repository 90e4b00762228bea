#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| npsd::fuzzing::import_csv(data));
