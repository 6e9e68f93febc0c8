//! Throughput of the `mbox` importer: generated messages (kith_gen) written as a pipermail
//! archive by the export writer, then read by `Format::read` into a counting sink.
//! `cargo bench -p kith-import --bench mbox` (messages: `KITH_BENCH_MESSAGES`, default 1,000,000).

mod support;

use std::time::Instant;

use kith_import::ExportWriter;
use kith_model::Kind;

fn main() {
    let messages = support::env_n("KITH_BENCH_MESSAGES", 1_000_000);
    let dir = tempfile::tempdir().expect("temporary folder");
    let started = Instant::now();
    let config = kith_gen::GenConfig::new(messages * 4, 42);
    let mut generated = kith_gen::generate(config)
        .expect("generator")
        .filter(|a| matches!(a.kind, Kind::Post | Kind::Reply | Kind::Answer))
        .take(messages as usize);
    let path = kith_import::mbox::MboxWriter
        .write(&mut generated, &dir.path().join("bench-list"))
        .expect("write archive");
    let bytes: u64 = std::fs::read_dir(&path)
        .expect("archive")
        .filter_map(|e| e.ok()?.metadata().ok())
        .map(|m| m.len())
        .sum();
    println!(
        "wrote {messages} messages ({:.0} MB) in {:.1} s; peak RSS so far {:.0} MB",
        bytes as f64 / 1e6,
        started.elapsed().as_secs_f64(),
        support::peak_rss_mb()
    );
    // The peak is reset so that it measures the read alone.
    let (sink, secs) = support::time_read(&kith_import::mbox::Mbox, &path);
    println!(
        "mbox read: {} messages ({} skipped) in {secs:.2} s = {:.0} messages/s, {:.0} MB/s; peak RSS during read {:.0} MB",
        sink.activities,
        sink.skips,
        sink.activities as f64 / secs,
        bytes as f64 / 1e6 / secs,
        support::peak_rss_mb()
    );
}
