#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| npsd::fuzzing::email_address(data));
