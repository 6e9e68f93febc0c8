//! `discord`: any bundle of files read by the `discord` format must not panic
//! (`cargo xtask fuzz discord`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    kith_fuzz::read_bundle(&kith_import::discord::Discord, data, "channel.json");
});
