//! The scorecard bench (SPEC §9): a generated community of N activities in a temporary SQLite
//! store; the snapshot built cold (new store handle, new snapshot); every metric computed warm
//! (snapshot built, nothing cached); then 1 % newer activities appended, the snapshot refreshed
//! and every metric recomputed. Prints times, the snapshot's bytes per activity and peak RSS.
//!
//! `cargo bench -p kith-analytics --bench scorecard` (N = 1,000,000); `KITH_BENCH_N` for another
//! size, `KITH_BENCH_DB` to keep and reuse the database file between runs.

use std::time::{Duration, Instant};

use kith_analytics::{Params, Period, Scope, Snapshot, registry};
use kith_model::Activity;
use kith_store::{ImportAudit, Store};
use kith_store_sqlite::SqliteStore;

/// The `kith` binary's allocator: the bench measures what kith runs.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay` (its place in `mimalloc.h`'s `mi_option_e`), which the
/// `kith` binary sets to 3 s (freed memory is kept that long for reuse): the bench measures what
/// kith runs.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// As `kith`'s `keep_freed_memory`: freed memory is kept 3 s for the next allocations.
fn keep_freed_memory() {
    // SAFETY: `mi_option_set` takes two integers and stores the value in mimalloc's option
    // table: no pointer crosses, and any non-negative delay is valid. It runs first thing in
    // `main`, before any thread is started, so nothing else touches the options meanwhile.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 3_000) };
}

const BATCH: usize = 10_000;

fn main() {
    keep_freed_memory();
    let n: u64 = std::env::var("KITH_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let extra = (n / 100).max(1);
    let dir = tempfile::tempdir().expect("a temporary folder");
    let path = match std::env::var_os("KITH_BENCH_DB") {
        Some(p) => std::path::PathBuf::from(p),
        None => dir.path().join("scorecard.db"),
    };
    let reuse = path.exists();
    let mut generator =
        kith_gen::generate(kith_gen::GenConfig::new(n + extra, 1)).expect("a generator");
    let mut appended: Vec<Activity> = Vec::new();
    {
        let store = SqliteStore::open(&path).expect("open the bench database");
        let t = Instant::now();
        let mut session = if reuse {
            None
        } else {
            Some(store.ingest().expect("a session"))
        };
        if let Some(s) = session.as_mut() {
            s.ensure_source("demo", "jsonl").expect("ensure the source");
        }
        let mut batch = Vec::with_capacity(BATCH);
        let mut written = 0u64;
        // A reused database needs no generation (and gets no append).
        let stream: &mut dyn Iterator<Item = Activity> = if reuse {
            &mut std::iter::empty()
        } else {
            &mut generator
        };
        for a in stream {
            if written < n {
                if let Some(s) = session.as_mut() {
                    batch.push(a);
                    if batch.len() == BATCH {
                        s.write(&batch).expect("write");
                        batch.clear();
                    }
                }
                written += 1;
            } else {
                appended.push(a);
            }
        }
        if let Some(mut s) = session {
            s.write(&batch).expect("write");
            s.commit(&ImportAudit::new("jsonl", vec![], 0))
                .expect("commit");
            println!(
                "generate + ingest {n} activities: {:.1} s",
                t.elapsed().as_secs_f64()
            );
        } else {
            println!("reusing {} ({n} activities)", path.display());
        }
    }

    // Cold: a new store handle (the file is in the page cache) and a new snapshot.
    let store = SqliteStore::open(&path).expect("reopen");
    {
        // What the store's change stream alone costs (the floor of a cold build).
        let t = Instant::now();
        let mut changes = 0u64;
        store
            .read_changes(kith_store::Watermark::ZERO, &mut |c| {
                changes += 1;
                std::hint::black_box(c);
                Ok(())
            })
            .expect("read changes");
        println!(
            "read_changes alone (no snapshot): {:.3} s, {changes} changes",
            t.elapsed().as_secs_f64()
        );
    }
    let t = Instant::now();
    let mut snap = Snapshot::build(&store).expect("build the snapshot");
    let cold = t.elapsed();
    let mem = snap.memory();
    println!(
        "cold snapshot build: {:.3} s — {} activities, {} members, {} threads",
        cold.as_secs_f64(),
        snap.slots(),
        snap.members(),
        snap.threads()
    );
    println!(
        "snapshot memory: {:.1} MiB = {:.1} bytes/activity (activities {:.1} MiB, threads {:.1}, members+identities {:.1}, sources+channels {:.2})",
        mib(mem.total()),
        mem.total() as f64 / snap.slots().max(1) as f64,
        mib(mem.activities),
        mib(mem.threads),
        mib(mem.members),
        mib(mem.places)
    );

    let scenarios = [
        ("default (90 days, monthly, UTC)", Params::default()),
        (
            "whole history, weekly, Europe/Paris",
            Params {
                from: Some(chrono::NaiveDate::from_ymd_opt(2020, 1, 1).expect("a date")),
                period: Period::Week,
                tz: chrono_tz::Europe::Paris,
                ..Params::default()
            },
        ),
    ];
    for (name, params) in &scenarios {
        let mut best = Duration::MAX;
        for _ in 0..3 {
            let t = Instant::now();
            let out = kith_analytics::compute_all(&snap, params).expect("compute");
            std::hint::black_box(&out);
            best = best.min(t.elapsed());
        }
        println!(
            "warm, all {} metrics, {name}: {:.3} s (best of 3)",
            registry().len(),
            best.as_secs_f64()
        );
        let t = Instant::now();
        let scope = Scope::new(&snap, params).expect("scope");
        let mut line = format!("  scope {:.0} ms", t.elapsed().as_secs_f64() * 1e3);
        for m in registry() {
            let t = Instant::now();
            std::hint::black_box((m.compute)(&scope));
            line.push_str(&format!(
                ", {} {:.0} ms",
                m.name,
                t.elapsed().as_secs_f64() * 1e3
            ));
        }
        println!("{line}");
    }
    // `KITH_BENCH_ONLY=network,engagement_levels` (and `KITH_BENCH_REPEAT`, default 20): those
    // metrics alone, again and again on one scope, for profiling.
    if let Ok(only) = std::env::var("KITH_BENCH_ONLY") {
        let repeat: u32 = std::env::var("KITH_BENCH_REPEAT")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(20);
        for name in only.split(',') {
            let Some(m) = kith_analytics::find(name) else {
                println!("no metric {name}");
                continue;
            };
            let mut best = Duration::MAX;
            for _ in 0..repeat {
                let scope = Scope::new(&snap, &Params::default()).expect("scope");
                let t = Instant::now();
                std::hint::black_box((m.compute)(&scope));
                best = best.min(t.elapsed());
            }
            println!(
                "{name} alone: {:.1} ms (best of {repeat})",
                best.as_secs_f64() * 1e3
            );
            let scope = Scope::new(&snap, &Params::default()).expect("scope");
            let v = (m.compute)(&scope);
            if let Some(t) = v.tables.first() {
                let row = t.rows.first().map(|r| format!("{r:?}")).unwrap_or_default();
                println!("  {} {:?}: {row}", t.name, t.columns);
            }
        }
    }
    println!(
        "cold total (build + all metrics, default params): {:.3} s",
        {
            let t = Instant::now();
            std::hint::black_box(
                kith_analytics::compute_all(&snap, &Params::default()).expect("compute"),
            );
            (cold + t.elapsed()).as_secs_f64()
        }
    );

    // Append 1 % newer activities, refresh, recompute.
    if !reuse {
        let t = Instant::now();
        let mut session = store.ingest().expect("a session");
        session
            .ensure_source("demo", "jsonl")
            .expect("ensure the source");
        for chunk in appended.chunks(BATCH) {
            session.write(chunk).expect("write");
        }
        session
            .commit(&ImportAudit::new("jsonl", vec![], 0))
            .expect("commit");
        println!(
            "append {} activities (1 %): {:.2} s (ingest, not part of the bar)",
            appended.len(),
            t.elapsed().as_secs_f64()
        );
        let t = Instant::now();
        let stats = snap.refresh(&store).expect("refresh");
        let refresh = t.elapsed();
        let t = Instant::now();
        std::hint::black_box(
            kith_analytics::compute_all(&snap, &Params::default()).expect("compute"),
        );
        let recompute = t.elapsed();
        println!(
            "refresh: {:.3} s ({} changes, {} activities added) + recompute {:.3} s = {:.3} s",
            refresh.as_secs_f64(),
            stats.changes,
            stats.activities_added,
            recompute.as_secs_f64(),
            (refresh + recompute).as_secs_f64()
        );
    }
    println!(
        "peak RSS (VmHWM, whole process incl. generation and SQLite caches): {}",
        peak_rss()
    );
}

fn mib(bytes: usize) -> f64 {
    bytes as f64 / 1_048_576.0
}

fn peak_rss() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(|l| l.trim_start_matches("VmHWM:").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".into())
}
