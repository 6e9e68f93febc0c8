//! Throughput of the `git` importer: generated contributions (kith_gen) written as a repository
//! through `git fast-import` (with a commit-graph, as `git gc` leaves it), then read by
//! `Format::read` into a counting sink.
//! `cargo bench -p kith-import --bench git` (commits: `KITH_BENCH_COMMITS`, default 1,000,000;
//! `KITH_BENCH_REPO=DIR` keeps the repository in DIR and reuses it on the next run, so that
//! the read can be timed again when the machine is quiet). Prints wall time and the CPU time
//! of kith (all threads) and of git, which tell the rate on a busy machine.

mod support;

use std::time::Instant;

use kith_import::ExportWriter;
use kith_model::Kind;

fn main() {
    let commits = support::env_n("KITH_BENCH_COMMITS", 1_000_000);
    let tmp = tempfile::tempdir().expect("temporary folder");
    let path = match std::env::var_os("KITH_BENCH_REPO") {
        Some(dir) => std::path::PathBuf::from(dir),
        None => tmp.path().join("bench-repo"),
    };
    if path.join(".git").is_dir() {
        println!("reusing the repository in {}", path.display());
    } else {
        write_repository(commits, &path);
    }
    println!(
        "read on {}",
        if kith_import::git::reads_in_parallel(&path) {
            "every core (commit-graph)"
        } else {
            "one core (no commit-graph: `git commit-graph write --reachable` in the repository)"
        }
    );
    let (sink, secs) = support::time_read(&kith_import::git::Git, &path);
    println!(
        "git read: {} commits in {secs:.2} s = {:.0} commits/s; peak RSS of kith during read {:.0} MB",
        sink.activities,
        sink.activities as f64 / secs,
        support::peak_rss_mb()
    );
    // git alone, for comparison: is git the limit?
    let started = Instant::now();
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(&path)
        .args(["rev-list", "--all", "--header"])
        .stdout(std::process::Stdio::null())
        .status()
        .expect("git rev-list");
    println!(
        "git rev-list --header alone ({out}): {:.2} s",
        started.elapsed().as_secs_f64()
    );
}

/// Generated activities, every one rewritten as a contribution (contributions are a small
/// share of a community's activity), as a repository in `path`.
fn write_repository(commits: u64, path: &std::path::Path) {
    let started = Instant::now();
    let mut generated = kith_gen::generate(kith_gen::GenConfig::new(commits, 42))
        .expect("generator")
        .map(|mut a| {
            a.kind = Kind::Contribution;
            a
        });
    kith_import::git::GitWriter
        .write(&mut generated, path)
        .expect("write repository");
    println!(
        "wrote {commits} commits with git fast-import in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    // As `git gc` would: a repository in use has a commit-graph, which lets the import read
    // on every core (`docs/formats/git.md`). Without it the read is `rev-list --header`'s.
    let started = Instant::now();
    let ok = std::process::Command::new("git")
        .arg("-C")
        .arg(path)
        .args(["commit-graph", "write", "--reachable"])
        .status()
        .expect("git commit-graph write");
    assert!(ok.success(), "git commit-graph write failed");
    println!(
        "wrote the commit-graph in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}
