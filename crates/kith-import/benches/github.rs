//! `github` read throughput: generate `KITH_BENCH_N` activities (default 1,000,000) with
//! kith-gen, write them with the github export writer (issues.json, pulls.json, comments.json) into a temporary
//! folder, then time
//! `Format::read` into a counting sink. Prints messages/s and the peak RSS of the read.
//!
//! `cargo bench -p kith-import --bench github`

mod support;

fn main() {
    let format = &kith_import::github::GitHub;
    let n = support::env_n("KITH_BENCH_N", 1_000_000);
    let export = support::generate_and_write("github", format, format, n, "export");
    let (sink, secs) = support::time_read(format, &export.path);
    // Every generated pull request is listed in issues.json and in pulls.json (one post read
    // twice) and merged (one contribution): distinct messages = messages - merges.
    let distinct = sink.messages - sink.contributions;
    println!(
        "github: read {} records ({} distinct messages: issues, pull requests, comments; {} post records; {} skipped) in {secs:.2} s = {:.0} messages/s, {:.0} records/s, {:.1} MB/s; peak RSS during read {} KiB",
        sink.activities,
        distinct,
        sink.messages,
        sink.skips,
        distinct as f64 / secs,
        sink.activities as f64 / secs,
        export.bytes as f64 / 1e6 / secs,
        support::peak_rss_kib().unwrap_or(0)
    );
}
