//! `git`: any `git rev-list --header` output (the bundle's first file) with any `.mailmap`
//! (a bundle file of that name) must not make the commit, trailer or mailmap parsing panic
//! (`cargo xtask fuzz git`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let files = kith_fuzz::unbundle(data, "log");
    let mailmap = files
        .iter()
        .find(|(path, _)| path == ".mailmap")
        .map_or(&[][..], |(_, bytes)| *bytes);
    let log = files
        .iter()
        .find(|(path, _)| path != ".mailmap")
        .map_or(&[][..], |(_, bytes)| *bytes);
    let mut sink = kith_fuzz::Downstream::default();
    let _ = kith_import::git::read_history_bytes(log, mailmap, &mut sink);
});
