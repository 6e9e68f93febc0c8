//! `stackexchange` read throughput: generate `KITH_BENCH_N` activities (default 1,000,000) with
//! kith-gen, write them with the stackexchange export writer into a temporary folder, then time
//! `Format::read` into a counting sink. Prints messages/s and the peak RSS of the read.
//!
//! `cargo bench -p kith-import --bench stackexchange`

mod support;

fn main() {
    let format = &kith_import::stackexchange::StackExchange;
    let n = support::env_n("KITH_BENCH_N", 1_000_000);
    let export =
        support::generate_and_write("stackexchange", format, format, n, "demo.stackexchange.com");
    let (sink, secs) = support::time_read(format, &export.path);
    println!(
        "stackexchange: read {} records ({} messages: posts, replies, answers; {} skipped) in {secs:.2} s = {:.0} messages/s, {:.0} records/s, {:.1} MB/s; peak RSS during read {} KiB",
        sink.activities,
        sink.messages,
        sink.skips,
        sink.messages as f64 / secs,
        sink.activities as f64 / secs,
        export.bytes as f64 / 1e6 / secs,
        support::peak_rss_kib().unwrap_or(0)
    );
}
