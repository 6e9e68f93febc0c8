//! `slack`: any bundle of files read by the `slack` format must not panic
//! (`cargo xtask fuzz slack`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    kith_fuzz::read_bundle(
        &kith_import::slack::SlackExport,
        data,
        "general/2024-01-01.json",
    );
});
