//! `telegram`: any bundle of files read by the `telegram` format must not panic
//! (`cargo xtask fuzz telegram`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    kith_fuzz::read_bundle(&kith_import::telegram::Telegram, data, "result.json");
});
