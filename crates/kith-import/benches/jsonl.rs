//! Throughput of the `jsonl` importer (kith's canonical format): 1,000,000 generated activities
//! (`KITH_BENCH_N`) written as one JSONL file, read into a counting sink.
//! `cargo bench -p kith-import --bench jsonl`

mod support;

fn main() {
    let format = kith_import::jsonl::Jsonl;
    support::chat(&format, &format, "jsonl");
}
