//! `stackexchange`: any bundle of files read by the `stackexchange` format must not panic
//! (`cargo xtask fuzz stackexchange`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    kith_fuzz::read_bundle(
        &kith_import::stackexchange::StackExchange,
        data,
        "Posts.xml",
    );
});
