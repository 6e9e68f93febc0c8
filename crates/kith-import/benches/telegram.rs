//! Throughput of the `telegram` reader (SPEC §9: ≥ 100,000 messages/s at 1 million messages):
//! generates `KITH_BENCH_N` activities (default 1,000,000) with kith-gen, writes them with the
//! format's writer into a temporary folder, then times `Format::read` into a counting sink.
//! Run: `cargo bench -p kith-import --bench telegram`.

mod support;

fn main() {
    let format = kith_import::telegram::Telegram;
    support::chat(&format, &format, "telegram");
}
