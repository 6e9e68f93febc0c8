//! `github` read throughput: generate `KITH_BENCH_N` activities (default 1,000,000) with
//! kith-gen, write them with the github export writer (issues.json, pulls.json, comments.json) into a temporary
//! folder, then time
//! `Format::read` into a counting sink. Prints messages/s and the peak RSS of the read.
//!
//! `cargo bench -p kith-import --bench github`

use kith_import::{ExportWriter, Format, ReadContext, RecordSink};
use kith_model::{Activity, Kind};
use kith_store::Problem;

#[derive(Default)]
struct Count {
    records: u64,
    messages: u64,
    merges: u64,
    skipped: u64,
}

impl RecordSink for Count {
    fn activity(&mut self, a: Activity) {
        self.records += 1;
        if matches!(a.kind, Kind::Post | Kind::Reply | Kind::Answer) {
            self.messages += 1;
        }
        if a.kind == Kind::Contribution {
            self.merges += 1;
        }
    }
    fn skip(&mut self, _: Problem) {
        self.skipped += 1;
    }
    fn inferred_threads(&mut self, _: &str, _: Vec<String>) {}
}

fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn main() {
    let n: u64 = std::env::var("KITH_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let format = &kith_import::github::GitHub;
    let tmp = tempfile::tempdir().expect("temporary folder");
    let dir = tmp.path().join("export");
    let started = std::time::Instant::now();
    let mut activities = kith_gen::generate(kith_gen::GenConfig::new(n, 1)).expect("generator");
    let path = ExportWriter::write(format, &mut activities, &dir).expect("write export");
    let inputs = format.inputs(&[path]).expect("inputs");
    let bytes: u64 = inputs.iter().map(|i| i.size).sum();
    println!(
        "github: generated and wrote {n} activities ({:.1} MB) in {:.1} s",
        bytes as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    // Reset the peak so that VmHWM measures the read alone (Linux: clear_refs 5).
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let mut sink = Count::default();
    let started = std::time::Instant::now();
    format
        .read(&inputs, &ReadContext::default(), &mut sink)
        .expect("read");
    let secs = started.elapsed().as_secs_f64();
    // Every generated pull request is listed in issues.json and in pulls.json (one post read
    // twice) and merged (one contribution): distinct messages = messages - merges.
    let distinct = sink.messages - sink.merges;
    println!(
        "github: read {} records ({} distinct messages: issues, pull requests, comments; {} post records; {} skipped) in {secs:.2} s = {:.0} messages/s, {:.0} records/s, {:.1} MB/s; peak RSS during read {} KiB",
        sink.records,
        distinct,
        sink.messages,
        sink.skipped,
        distinct as f64 / secs,
        sink.records as f64 / secs,
        bytes as f64 / 1e6 / secs,
        peak_rss_kib()
    );
}
