//! `jsonl`: any bundle of files read by the `jsonl` format must not panic
//! (`cargo xtask fuzz jsonl`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    kith_fuzz::read_bundle(&kith_import::jsonl::Jsonl, data, "activities.jsonl");
});
