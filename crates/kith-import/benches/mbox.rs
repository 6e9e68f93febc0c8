//! Throughput of the `mbox` importer: generated messages (kith_gen) written as a pipermail
//! archive by the export writer, then read by `Format::read` into a counting sink.
//! `cargo bench -p kith-import --bench mbox` (messages: `KITH_BENCH_MESSAGES`, default 1,000,000).

use std::time::Instant;

use kith_import::{ExportWriter, Format, ReadContext, RecordSink};
use kith_model::{Activity, Kind};
use kith_store::Problem;

#[derive(Default)]
struct Count {
    activities: u64,
    skipped: u64,
}

impl RecordSink for Count {
    fn activity(&mut self, activity: Activity) {
        std::hint::black_box(&activity);
        self.activities += 1;
    }
    fn skip(&mut self, _: Problem) {
        self.skipped += 1;
    }
    fn inferred_threads(&mut self, _: &str, _: Vec<String>) {}
}

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn main() {
    let messages: usize = std::env::var("KITH_BENCH_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().expect("temporary folder");
    let started = Instant::now();
    let config = kith_gen::GenConfig::new((messages as u64) * 4, 42);
    let mut generated = kith_gen::generate(config)
        .expect("generator")
        .filter(|a| matches!(a.kind, Kind::Post | Kind::Reply | Kind::Answer))
        .take(messages);
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
        peak_rss_mb()
    );
    // Reset the peak so that it measures the read alone.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let format = kith_import::mbox::Mbox;
    let inputs = format.inputs(&[path]).expect("inputs");
    let mut sink = Count::default();
    let started = Instant::now();
    format
        .read(&inputs, &ReadContext::default(), &mut sink)
        .expect("read");
    let secs = started.elapsed().as_secs_f64();
    println!(
        "mbox read: {} messages ({} skipped) in {secs:.2} s = {:.0} messages/s, {:.0} MB/s; peak RSS during read {:.0} MB",
        sink.activities,
        sink.skipped,
        sink.activities as f64 / secs,
        bytes as f64 / 1e6 / secs,
        peak_rss_mb()
    );
}
