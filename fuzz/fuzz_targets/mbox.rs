//! `mbox`: any bundle of files read by the `mbox` format must not panic
//! (`cargo xtask fuzz mbox`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    kith_fuzz::read_bundle(&kith_import::mbox::Mbox, data, "list.mbox");
});
