//! Shared by the `harness = false` import benchmarks: the size knobs, a counting sink, the peak
//! resident memory (VmHWM), generating and writing an export with kith-gen and a format's
//! writer, and the timed `Format::read`.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::Instant;

use kith_import::{ExportWriter, Format, ReadContext, RecordSink};
use kith_model::{Activity, Kind};
use kith_store::Problem;

/// A whole number from the environment variable `var`, or `default`.
pub fn env_n(var: &str, default: u64) -> u64 {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Counts only: what the benchmarks read into.
#[derive(Default)]
pub struct Count {
    /// Every activity.
    pub activities: u64,
    /// Posts, replies and answers.
    pub messages: u64,
    pub contributions: u64,
    pub skips: u64,
    /// Threads reported as inferred.
    pub inferred: u64,
}

impl RecordSink for Count {
    fn activity(&mut self, activity: Activity) {
        std::hint::black_box(&activity);
        self.activities += 1;
        match activity.kind {
            Kind::Post | Kind::Reply | Kind::Answer => self.messages += 1,
            Kind::Contribution => self.contributions += 1,
            _ => {}
        }
    }
    fn skip(&mut self, _: Problem) {
        self.skips += 1;
    }
    fn inferred_threads(&mut self, _: &str, threads: Vec<String>) {
        self.inferred += threads.len() as u64;
    }
}

/// Peak resident memory of this process in KiB (VmHWM), where /proc has it.
pub fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// [`peak_rss_kib`] in MB (MiB), NaN where unknown.
pub fn peak_rss_mb() -> f64 {
    peak_rss_kib().map_or(f64::NAN, |kib| kib as f64 / 1024.0)
}

/// CPU seconds (user + system) of this process, all threads, and of its children that have
/// been waited for, from /proc/self/stat (clock ticks of 1/100 s, Linux's `USER_HZ`).
pub fn cpu_seconds() -> (f64, f64) {
    let (user, system, children) = cpu_parts();
    (user + system, children)
}

/// User and system CPU seconds of this process, and CPU seconds of its waited-for children.
pub fn cpu_parts() -> (f64, f64, f64) {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return (f64::NAN, f64::NAN, f64::NAN);
    };
    // Fields after the command name (which is in parentheses and may hold spaces).
    let fields: Vec<u64> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .unwrap_or("")
        .split_whitespace()
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    // utime, stime, cutime, cstime are fields 14 to 17 of the line, 12 to 15 after `)`.
    let tick = |i: usize| fields.get(i).copied().unwrap_or(0) as f64 / 100.0;
    (tick(11), tick(12), tick(13) + tick(14))
}

/// Resets the peak so that VmHWM measures what follows alone (Linux: clear_refs 5).
pub fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// An export written into a temporary folder, which lives as long as this.
pub struct Export {
    pub path: PathBuf,
    /// The size of the format's input files.
    pub bytes: u64,
    _dir: tempfile::TempDir,
}

/// Generates `n` activities (kith-gen, seed 1) and writes them with `writer` into a temporary
/// folder (its subfolder `sub` when not empty); prints `<name>: generated and wrote …`.
pub fn generate_and_write(
    name: &str,
    format: &dyn Format,
    writer: &dyn ExportWriter,
    n: u64,
    sub: &str,
) -> Export {
    let tmp = tempfile::tempdir().expect("temporary folder");
    let dir = if sub.is_empty() {
        tmp.path().to_owned()
    } else {
        tmp.path().join(sub)
    };
    let started = Instant::now();
    let mut activities = kith_gen::generate(kith_gen::GenConfig::new(n, 1)).expect("generator");
    let path = writer.write(&mut activities, &dir).expect("write export");
    let bytes: u64 = format
        .inputs(std::slice::from_ref(&path))
        .expect("inputs")
        .iter()
        .map(|i| i.size)
        .sum();
    println!(
        "{name}: generated and wrote {n} activities ({:.1} MB) in {:.1} s",
        bytes as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    Export {
        path,
        bytes,
        _dir: tmp,
    }
}

/// Resets the memory peak, then times `format` reading `path` into a [`Count`]; returns it and
/// the seconds taken.
pub fn time_read(format: &dyn Format, path: &Path) -> (Count, f64) {
    reset_peak();
    let inputs = format.inputs(&[path.to_owned()]).expect("inputs");
    let mut sink = Count::default();
    let started = Instant::now();
    let cpu = cpu_parts();
    format
        .read(&inputs, &ReadContext::default(), &mut sink)
        .expect("read");
    let secs = started.elapsed().as_secs_f64();
    let after = cpu_parts();
    // On a busy machine wall time understates the rate: the CPU time says what the read costs.
    let (user, system) = (after.0 - cpu.0, after.1 - cpu.1);
    println!(
        "{}: the read took {secs:.2} s wall, CPU {:.2} s in kith ({user:.2} user, {system:.2} system) and {:.2} s in child processes ({:.0} records per CPU second of kith)",
        format.name(),
        user + system,
        after.2 - cpu.2,
        sink.activities as f64 / (user + system)
    );
    (sink, secs)
}

/// The chat formats' benchmark (`KITH_BENCH_N` activities, default 1,000,000): generate, write,
/// then time the read and print records/s, MB/s and the read's peak memory.
pub fn chat(format: &dyn Format, writer: &dyn ExportWriter, name: &str) {
    let n = env_n("KITH_BENCH_N", 1_000_000);
    let export = generate_and_write(name, format, writer, n, "");
    let (sink, secs) = time_read(format, &export.path);
    println!(
        "{name}: read {} records ({} skipped, {} inferred threads) in {secs:.2} s = {:.0} records/s, {:.1} MB/s; peak RSS during read {} KiB",
        sink.activities,
        sink.skips,
        sink.inferred,
        sink.activities as f64 / secs,
        export.bytes as f64 / 1e6 / secs,
        peak_rss_kib().unwrap_or(0)
    );
}
