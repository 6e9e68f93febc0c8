//! Throughput of the `git` importer: generated contributions (kith_gen) written as a repository
//! through `git fast-import`, then read by `Format::read` (which streams `git log`) into a
//! counting sink. `cargo bench -p kith-import --bench git` (commits: `KITH_BENCH_COMMITS`,
//! default 200,000).

mod support;

use std::time::Instant;

use kith_import::ExportWriter;
use kith_model::Kind;

fn main() {
    let commits = support::env_n("KITH_BENCH_COMMITS", 200_000);
    let dir = tempfile::tempdir().expect("temporary folder");
    let started = Instant::now();
    // Contributions are a small share of a community's activity: rewrite every activity as one.
    let mut generated = kith_gen::generate(kith_gen::GenConfig::new(commits, 42))
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
    let (sink, secs) = support::time_read(&kith_import::git::Git, &path);
    println!(
        "git read: {} commits in {secs:.2} s = {:.0} commits/s; peak RSS of kith during read {:.0} MB",
        sink.activities,
        sink.activities as f64 / secs,
        support::peak_rss_mb()
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
