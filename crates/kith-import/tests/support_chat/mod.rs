//! Shared by the chat importers' tests (slack, discord, telegram): a sink that keeps
//! everything, golden-file comparison (re-bless with `KITH_BLESS=1`), and the real-data switch.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use kith_import::{Format, ImportError, InputFile, ReadContext, RecordSink};
use kith_model::Activity;
use kith_store::Problem;

#[derive(Default)]
pub struct Collect {
    pub activities: Vec<Activity>,
    pub skips: Vec<Problem>,
    pub inferred: Vec<(String, Vec<String>)>,
}

impl RecordSink for Collect {
    fn activity(&mut self, activity: Activity) {
        self.activities.push(activity);
    }
    fn skip(&mut self, problem: Problem) {
        self.skips.push(problem);
    }
    fn inferred_threads(&mut self, source: &str, threads: Vec<String>) {
        self.inferred.push((source.to_owned(), threads));
    }
}

/// Counts only: what the throughput benchmarks read into.
#[derive(Default)]
pub struct Count {
    pub activities: u64,
    pub skips: u64,
    pub inferred: u64,
}

impl RecordSink for Count {
    fn activity(&mut self, _: Activity) {
        self.activities += 1;
    }
    fn skip(&mut self, _: Problem) {
        self.skips += 1;
    }
    fn inferred_threads(&mut self, _: &str, threads: Vec<String>) {
        self.inferred += threads.len() as u64;
    }
}

pub fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture(format: &str) -> PathBuf {
    crate_dir().join("tests/fixtures").join(format)
}

/// Reads `paths` with `format` into a [`Collect`].
pub fn read(
    format: &dyn Format,
    paths: &[PathBuf],
    ctx: &ReadContext,
) -> Result<Collect, ImportError> {
    let inputs: Vec<InputFile> = format.inputs(paths)?;
    let mut sink = Collect::default();
    format.read(&inputs, ctx, &mut sink)?;
    Ok(sink)
}

/// The canonical text of what was read: one JSONL line per activity, then `# skip` and
/// `# inferred` lines; file names relative to `base`.
pub fn render(c: &Collect, base: &Path) -> String {
    let base = base.display().to_string();
    let mut out = String::new();
    for a in &c.activities {
        out.push_str(&kith_model::jsonl::to_line(a, None));
        out.push('\n');
    }
    for p in &c.skips {
        let file = p
            .file
            .strip_prefix(&base)
            .unwrap_or(&p.file)
            .trim_start_matches('/');
        out.push_str(&format!(
            "# skip {file} line {} {}: [{}] {}\n",
            p.line,
            p.location.as_deref().unwrap_or("-"),
            p.reason,
            p.message
        ));
    }
    for (source, ids) in &c.inferred {
        out.push_str(&format!("# inferred {source}: {}\n", ids.join(" ")));
    }
    out
}

/// Compares with `tests/golden/<name>.jsonl`; `KITH_BLESS=1` rewrites it.
pub fn golden(name: &str, actual: &str) {
    let path = crate_dir()
        .join("tests/golden")
        .join(format!("{name}.jsonl"));
    if std::env::var_os("KITH_BLESS").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("{} is missing: run with KITH_BLESS=1", path.display()));
    if expected != actual {
        for (i, (e, a)) in expected.lines().zip(actual.lines()).enumerate() {
            if e != a {
                panic!(
                    "{} differs at line {}:\nexpected: {e}\nactual:   {a}\n(re-bless with KITH_BLESS=1 if intended)",
                    path.display(),
                    i + 1
                );
            }
        }
        panic!(
            "{}: line counts differ ({} expected, {} actual); re-bless with KITH_BLESS=1 if intended",
            path.display(),
            expected.lines().count(),
            actual.lines().count()
        );
    }
}

/// The shared real data folder, or `None` (printing why) when it is not configured; in CI a
/// missing folder fails.
pub fn shared_data(sub: &str) -> Option<PathBuf> {
    match std::env::var_os("KITH_SHARED_DATA") {
        Some(dir) => {
            let path = PathBuf::from(dir).join(sub);
            assert!(path.exists(), "{} does not exist", path.display());
            Some(path)
        }
        None => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "KITH_SHARED_DATA must be set in CI"
            );
            println!("skipped: KITH_SHARED_DATA not set");
            None
        }
    }
}

/// Peak resident memory of this process in KiB (VmHWM), where /proc has it.
pub fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The chat formats' throughput benchmark: generate, write, then time the read (see benches/).
pub fn bench(format: &dyn Format, writer: &dyn kith_import::ExportWriter, name: &str) {
    let n: u64 = std::env::var("KITH_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let tmp = tempfile::tempdir().unwrap();
    let started = std::time::Instant::now();
    let mut activities = kith_gen::generate(kith_gen::GenConfig::new(n, 1)).unwrap();
    let path = writer.write(&mut activities, tmp.path()).unwrap();
    let bytes: u64 = format
        .inputs(std::slice::from_ref(&path))
        .unwrap()
        .iter()
        .map(|i| i.size)
        .sum();
    println!(
        "{name}: generated and wrote {n} activities ({:.1} MB) in {:.1} s",
        bytes as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    // Reset the peak so that VmHWM measures the read alone (Linux: clear_refs 5).
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let inputs = format.inputs(&[path]).unwrap();
    let mut sink = Count::default();
    let started = std::time::Instant::now();
    format
        .read(&inputs, &ReadContext::default(), &mut sink)
        .unwrap();
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{name}: read {} records ({} skipped, {} inferred threads) in {secs:.2} s = {:.0} records/s, {:.1} MB/s; peak RSS during read {} KiB",
        sink.activities,
        sink.skips,
        sink.inferred,
        sink.activities as f64 / secs,
        bytes as f64 / 1e6 / secs,
        peak_rss_kib().unwrap_or(0)
    );
}
