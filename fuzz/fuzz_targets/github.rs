//! `github`: any bundle of files read by the `github` format must not panic
//! (`cargo xtask fuzz github`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    kith_fuzz::read_bundle(&kith_import::github::GitHub, data, "issues.json");
});
