//! Throughput of the `git` importer: generated contributions (kith_gen) written as a repository
//! through `git fast-import`, then read by `Format::read` (which streams `git log`) into a
//! counting sink. `cargo bench -p kith-import --bench git` (commits: `KITH_BENCH_COMMITS`,
//! default 200,000).

use std::time::Instant;

use kith_import::{ExportWriter, Format, ReadContext, RecordSink};
use kith_model::{Activity, Kind};
use kith_store::Problem;

#[derive(Default)]
struct Count {
    activities: u64,
}

impl RecordSink for Count {
    fn activity(&mut self, activity: Activity) {
        std::hint::black_box(&activity);
        self.activities += 1;
    }
    fn skip(&mut self, _: Problem) {}
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
    let commits: usize = std::env::var("KITH_BENCH_COMMITS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    let dir = tempfile::tempdir().expect("temporary folder");
    let started = Instant::now();
    // Contributions are a small share of a community's activity: rewrite every activity as one.
    let mut generated = kith_gen::generate(kith_gen::GenConfig::new(commits as u64, 42))
        .expect("generator")
        .map(|mut a| {
            a.kind = Kind::Contribution;
            a
        });
    let path = kith_import::git::GitWriter
        .write(&mut generated, &dir.path().join("bench-repo"))
        .expect("write repository");
    println!(
        "wrote {commits} commits with git fast-import in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let format = kith_import::git::Git;
    let inputs = format.inputs(std::slice::from_ref(&path)).expect("inputs");
    let mut sink = Count::default();
    let started = Instant::now();
    format
        .read(&inputs, &ReadContext::default(), &mut sink)
        .expect("read");
    let secs = started.elapsed().as_secs_f64();
    println!(
        "git read: {} commits in {secs:.2} s = {:.0} commits/s; peak RSS of kith during read {:.0} MB",
        sink.activities,
        sink.activities as f64 / secs,
        peak_rss_mb()
    );
    // git log alone, for comparison: is git the limit?
    let started = Instant::now();
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(&path)
        .args(["log", "--all", "--format=tformat:%H%x00%P%x00%aN%x00%aE%x00%aI%x00%cN%x00%cE%x00%cI%x00%B%x00%(trailers:only,unfold)%x00"])
        .stdout(std::process::Stdio::null())
        .status()
        .expect("git log");
    println!(
        "git log alone ({out}): {:.2} s",
        started.elapsed().as_secs_f64()
    );
}
