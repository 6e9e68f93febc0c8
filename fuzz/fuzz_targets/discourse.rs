//! `discourse`: any bundle of files read by the `discourse` format must not panic
//! (`cargo xtask fuzz discourse`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    kith_fuzz::read_bundle(&kith_import::discourse::Discourse, data, "topic.json");
});
