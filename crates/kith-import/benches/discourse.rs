//! `discourse` read throughput: generate `KITH_BENCH_N` activities (default 1,000,000) with
//! kith-gen, write them with the discourse export writer into a temporary folder, then time
//! `Format::read` into a counting sink. Prints messages/s and the peak RSS of the read.
//!
//! `cargo bench -p kith-import --bench discourse`

mod support;

fn main() {
    let format = &kith_import::discourse::Discourse;
    let n = support::env_n("KITH_BENCH_N", 1_000_000);
    let export = support::generate_and_write("discourse", format, format, n, "forum.demo.example");
    let (sink, secs) = support::time_read(format, &export.path);
    println!(
        "discourse: read {} records ({} messages: posts, replies, answers; {} skipped) in {secs:.2} s = {:.0} messages/s, {:.0} records/s, {:.1} MB/s; peak RSS during read {} KiB",
        sink.activities,
        sink.messages,
        sink.skips,
        sink.messages as f64 / secs,
        sink.activities as f64 / secs,
        export.bytes as f64 / 1e6 / secs,
        support::peak_rss_kib().unwrap_or(0)
    );
}
