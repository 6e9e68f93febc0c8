//! The measuring side of `cargo xtask bench scorecard` (SPEC §9 scorecard and DuckDB bars):
//! one process per measurement, each printing its figures as flat JSON (`"key": number` per
//! line) on standard output.
//!
//! ```text
//! scorecard_timings cold    DB                 new process: open, build the snapshot, every metric
//! scorecard_timings warm    DB [--reps R] [--out DIR]
//!                                              snapshot built, every metric recomputed R times;
//!                                              --out writes kith's results and the bound reference
//!                                              SQL (for DuckDB) into DIR
//! scorecard_timings refresh DB [--seed S]      snapshot built, 1 % later activities imported
//!                                              and their texts scored (untimed), refresh +
//!                                              every metric (changes DB: pass a copy)
//! scorecard_timings export  DB DIR             the canonical tables' analytic columns as CSV
//! scorecard_timings sqlite  DB DIR [--timeout S]
//!                                              every metric's reference SQL on SQLite, timed,
//!                                              checked against DIR/kith_results.json
//! ```
//!
//! Parameters are the report defaults (`kith report`: as-of = the latest activity, the 90
//! days before it, monthly periods, UTC, team and bots excluded).

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use kith_analytics::{Cell, MetricDef, MetricValue, Params, Resolved, Scope, Snapshot, registry};
use kith_model::Activity;
use kith_store::{ImportAudit, Store};
use kith_store_sqlite::SqliteStore;

/// The `kith` binary's allocator: the timings measure what kith runs.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay` (its place in `mimalloc.h`'s `mi_option_e`), which the
/// `kith` binary sets to 3 s (freed memory is kept that long for reuse): the timings measure what
/// kith runs.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// As `kith`'s `keep_freed_memory`: freed memory is kept 3 s for the next allocations.
fn keep_freed_memory() {
    // SAFETY: `mi_option_set` takes two integers and stores the value in mimalloc's option
    // table: no pointer crosses, and any non-negative delay is valid. It runs first thing in
    // `main`, before any thread is started, so nothing else touches the options meanwhile.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 3_000) };
}

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn main() -> ExitCode {
    keep_freed_memory();
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("scorecard_timings: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &[String]) -> Res<()> {
    let usage = "usage: scorecard_timings cold|warm|refresh|export|sqlite DB [DIR] [options]";
    let (Some(mode), Some(db)) = (args.first(), args.get(1)) else {
        return Err(usage.into());
    };
    let db = PathBuf::from(db);
    if !db.exists() {
        return Err(format!("{} does not exist", db.display()).into());
    }
    let out = match mode.as_str() {
        "cold" => cold(&db)?,
        "warm" => warm(
            &db,
            flag(args, "--reps")?.unwrap_or(5) as usize,
            option(args, "--out").map(PathBuf::from),
        )?,
        "refresh" => refresh(&db, flag(args, "--seed")?.unwrap_or(1))?,
        "export" => export(&db, Path::new(args.get(2).ok_or(usage)?))?,
        "sqlite" => sqlite(
            &db,
            Path::new(args.get(2).ok_or(usage)?),
            Duration::from_secs(flag(args, "--timeout")?.unwrap_or(120)),
        )?,
        _ => return Err(usage.into()),
    };
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{}", serde_json::to_string_pretty(&out)?)?;
    Ok(())
}

fn option<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    let i = args.iter().position(|a| a == name)?;
    args.get(i + 1).map(String::as_str)
}

fn flag(args: &[String], name: &str) -> Res<Option<u64>> {
    option(args, name)
        .map(|v| {
            v.parse()
                .map_err(|_| format!("{name}: `{v}` is not a number").into())
        })
        .transpose()
}

/// Flat output: `"key": number`, one per line once pretty-printed.
type Figures = BTreeMap<String, serde_json::Value>;

fn put(f: &mut Figures, key: &str, v: impl Into<serde_json::Value>) {
    f.insert(key.to_owned(), v.into());
}

fn secs(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e6
}

/// The process's peak resident memory (VmHWM), KiB.
fn peak_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

fn describe(f: &mut Figures, snap: &Snapshot) {
    put(f, "activities", snap.live_activities() as u64);
    put(f, "members", snap.members() as u64);
    put(f, "threads", snap.threads() as u64);
    // The text metrics compute over these: none would mean the texts were never scored.
    let scored = (0..snap.slots())
        .filter(|&i| snap.text_flags(i) & kith_analytics::snapshot::T_SCORED != 0)
        .count();
    put(f, "text_scored", scored as u64);
    put(
        f,
        "snapshot_mib",
        (snap.memory().total() as f64 / 1_048_576.0 * 10.0).round() / 10.0,
    );
}

/// Every metric over one scope, as `compute_all` does, with the scope's and each metric's time.
fn compute_timed(
    snap: &Snapshot,
    params: &Params,
) -> Res<(Vec<MetricValue>, Duration, Vec<Duration>)> {
    let t = Instant::now();
    let scope = Scope::new(snap, params)?;
    let scope_time = t.elapsed();
    let mut values = Vec::new();
    let mut times = Vec::new();
    for m in registry() {
        let t = Instant::now();
        values.push((m.compute)(&scope));
        times.push(t.elapsed());
    }
    Ok((values, scope_time, times))
}

fn cold(db: &Path) -> Res<Figures> {
    let start = Instant::now();
    let store = SqliteStore::open(db)?;
    let opened = start.elapsed();
    let snap = Snapshot::build(&store)?;
    let built = start.elapsed();
    let values = kith_analytics::compute_all(&snap, &Params::default())?;
    std::hint::black_box(&values);
    let total = start.elapsed();
    let mut f = Figures::new();
    put(&mut f, "open_s", secs(opened));
    put(&mut f, "build_s", secs(built - opened));
    put(&mut f, "compute_s", secs(total - built));
    put(&mut f, "total_s", secs(total));
    describe(&mut f, &snap);
    put(&mut f, "peak_kib", peak_kib());
    Ok(f)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort_unstable();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

fn warm(db: &Path, reps: usize, out: Option<PathBuf>) -> Res<Figures> {
    let store = SqliteStore::open(db)?;
    let t = Instant::now();
    let snap = Snapshot::build(&store)?;
    let build = t.elapsed();
    let params = Params::default();
    // One run first (not in the warm figure): the first touch of the snapshot's pages after
    // the build, and the first allocations of the metrics' working memory.
    let t = Instant::now();
    std::hint::black_box(kith_analytics::compute_all(&snap, &params)?);
    let first = t.elapsed();
    // The warm figure: a new scope and every metric, as `compute_all` runs them (every core).
    let mut totals = Vec::new();
    for _ in 0..reps.max(1) {
        let t = Instant::now();
        std::hint::black_box(kith_analytics::compute_all(&snap, &params)?);
        totals.push(t.elapsed());
    }
    // Where the time goes: the scope, then each metric on its own in registry order, on one
    // thread (a metric's time includes a shared pass it is the first to need).
    let mut scopes = Vec::new();
    let mut sequential = Vec::new();
    let mut per_metric: Vec<Vec<Duration>> = vec![Vec::new(); registry().len()];
    for _ in 0..reps.max(1) {
        let t = Instant::now();
        let (v, scope, times) = compute_timed(&snap, &params)?;
        sequential.push(t.elapsed());
        std::hint::black_box(v);
        scopes.push(scope);
        for (i, d) in times.into_iter().enumerate() {
            per_metric[i].push(d);
        }
    }
    let mut f = Figures::new();
    put(&mut f, "build_s", secs(build));
    put(&mut f, "first_compute_s", secs(first));
    put(&mut f, "reps", reps as u64);
    put(
        &mut f,
        "warm_min_s",
        secs(totals.iter().copied().min().unwrap_or_default()),
    );
    put(&mut f, "warm_median_s", secs(median(totals)));
    put(&mut f, "sequential_median_s", secs(median(sequential)));
    put(&mut f, "scope_s", secs(median(scopes)));
    for (m, times) in registry().iter().zip(per_metric) {
        put(&mut f, &format!("metric.{}", m.name), secs(median(times)));
    }
    describe(&mut f, &snap);
    put(&mut f, "peak_kib", peak_kib());
    if let Some(dir) = out {
        // After the measurements: holding these results during them would add to the peak.
        let values = kith_analytics::compute_all(&snap, &params)?;
        std::fs::create_dir_all(&dir)?;
        let resolved = Resolved::new(&snap, &params)?;
        write_queries(&dir, &resolved)?;
        write_results(&dir, &values)?;
    }
    Ok(f)
}

/// The metrics with reference SQL (the DuckDB comparison's set).
fn with_sql() -> impl Iterator<Item = &'static MetricDef> {
    registry()
        .iter()
        .copied()
        .filter(|m| m.reference_sql().is_some())
}

/// `queries.json`: the calendar as SQL, the (empty) filter tables, and per metric its bound
/// statements, ready to run on DuckDB or SQLite as they are.
fn write_queries(dir: &Path, p: &Resolved) -> Res<()> {
    let mut setup = vec![];
    for stmt in p.calendar.to_sql().split(";\n").map(str::trim) {
        if !stmt.is_empty() {
            setup.push(stmt.to_owned());
        }
    }
    setup.push("CREATE TABLE kith_filter_sources (source_id BIGINT)".to_owned());
    setup.push("CREATE TABLE kith_filter_channels (channel_id BIGINT)".to_owned());
    let mut metrics = serde_json::Map::new();
    for m in with_sql() {
        let Some(sql) = m.reference_sql() else {
            continue;
        };
        let bound = p.sql_params().bind(sql)?;
        let statements: Vec<String> = bound
            .split(';')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        metrics.insert(m.name.to_owned(), statements.into());
    }
    let json = serde_json::json!({ "setup": setup, "metrics": metrics });
    std::fs::write(
        dir.join("queries.json"),
        serde_json::to_string_pretty(&json)?,
    )?;
    Ok(())
}

/// `kith_results.json`: per metric with reference SQL, its tables as rows of cells.
fn write_results(dir: &Path, values: &[MetricValue]) -> Res<()> {
    let mut metrics = serde_json::Map::new();
    for v in values {
        if with_sql().any(|m| m.name == v.metric) {
            let tables: Vec<&Vec<Vec<Cell>>> = v.tables.iter().map(|t| &t.rows).collect();
            metrics.insert(v.metric.to_owned(), serde_json::to_value(tables)?);
        }
    }
    std::fs::write(
        dir.join("kith_results.json"),
        serde_json::to_string(&metrics)?,
    )?;
    Ok(())
}

/// Later activities for the refresh measurement: a generated community's first weeks placed
/// right after the database's last activity, in the same source, its activity ids prefixed so
/// that they are new records, its authors the same user ids (returning and new members).
fn later_activities(n: u64, seed: u64, after: i64, source: &str) -> Res<Vec<Activity>> {
    let days = 14.0;
    let config = kith_gen::GenConfig {
        activities: n,
        seed: seed.wrapping_add(1),
        source: source.to_owned(),
        end: kith_model::Timestamp::from_secs(after + (days as i64 + 1) * 86_400),
        years: Some(days / 365.25),
    };
    let prefix = |id: &mut String| id.insert_str(0, "later-");
    let mut out = Vec::with_capacity(n as usize);
    for mut a in kith_gen::generate(config)? {
        prefix(&mut a.id);
        if let Some(t) = a.thread.as_mut() {
            prefix(t);
        }
        if let Some(r) = a.reply_to.as_mut() {
            prefix(r);
        }
        out.push(a);
    }
    Ok(out)
}

fn refresh(db: &Path, seed: u64) -> Res<Figures> {
    let store = SqliteStore::open(db)?;
    let mut snap = Snapshot::build(&store)?;
    let params = Params::default();
    std::hint::black_box(kith_analytics::compute_all(&snap, &params)?);
    let before = snap.live_activities() as u64;
    let (_, latest) = snap.time_range().ok_or("the database has no activity")?;
    let source = snap
        .sources()
        .iter()
        .find(|s| !s.removed)
        .map(|s| s.name.clone())
        .ok_or("the database has no source")?;
    let later = later_activities((before / 100).max(1), seed, latest, &source)?;

    // The later import: one ingest session, as `kith import` writes it.
    let t = Instant::now();
    let mut session = store.ingest()?;
    // `kith demo` names the format of its source `demo`; a later import keeps it.
    session.ensure_source(&source, "demo")?;
    for chunk in later.chunks(10_000) {
        session.write(chunk)?;
    }
    session.commit(&ImportAudit::new("jsonl", vec!["later import".into()], 0))?;
    let import = t.elapsed();
    // `kith import` scores what it brought after its commit, and `kith serve` scores new
    // messages in the background: text scoring has its own bar (SPEC §9), so it is timed
    // apart, and the refresh then reads the new scores as it would in the server.
    let t = Instant::now();
    let scoring = kith_scoring::run(&store, &kith_scoring::Pass::stale(), &())?;
    let scoring_time = t.elapsed();

    let t = Instant::now();
    let stats = snap.refresh(&store)?;
    let refreshed = t.elapsed();
    let values = kith_analytics::compute_all(&snap, &params)?;
    std::hint::black_box(&values);
    let total = t.elapsed();
    let mut f = Figures::new();
    put(&mut f, "appended", later.len() as u64);
    put(&mut f, "import_s", secs(import));
    put(&mut f, "scored", scoring.scored);
    put(&mut f, "scoring_s", secs(scoring_time));
    put(&mut f, "changes", stats.changes);
    put(&mut f, "activities_added", stats.activities_added);
    put(&mut f, "refresh_s", secs(refreshed));
    put(&mut f, "recompute_s", secs(total - refreshed));
    put(&mut f, "refresh_total_s", secs(total));
    describe(&mut f, &snap);
    put(&mut f, "peak_kib", peak_kib());
    Ok(f)
}

/// The tables and columns the reference SQL reads, with their DuckDB types.
const EXPORT: &[(&str, &[(&str, &str)])] = &[
    (
        "activities",
        &[
            ("id", "BIGINT"),
            ("source_id", "BIGINT"),
            ("kind", "TEXT"),
            ("ts", "BIGINT"),
            ("identity_id", "BIGINT"),
            ("channel_id", "BIGINT"),
            ("thread_id", "BIGINT"),
            ("reply_to_id", "BIGINT"),
            ("deleted", "BIGINT"),
        ],
    ),
    (
        "identities",
        &[
            ("id", "BIGINT"),
            ("source_id", "BIGINT"),
            ("member_id", "BIGINT"),
            ("anonymous", "BIGINT"),
            ("team", "BIGINT"),
            ("bot", "BIGINT"),
        ],
    ),
    (
        "members",
        &[
            ("id", "BIGINT"),
            ("team", "BIGINT"),
            ("team_since", "BIGINT"),
            ("bot", "BIGINT"),
            ("anonymous", "BIGINT"),
            ("merged_into", "BIGINT"),
        ],
    ),
    (
        "affiliations",
        &[
            ("id", "BIGINT"),
            ("member_id", "BIGINT"),
            ("organisation", "TEXT"),
            ("since", "BIGINT"),
            ("until", "BIGINT"),
        ],
    ),
    ("sources", &[("id", "BIGINT"), ("name", "TEXT")]),
    (
        "channels",
        &[
            ("id", "BIGINT"),
            ("source_id", "BIGINT"),
            ("ext_id", "TEXT"),
        ],
    ),
    (
        "threads",
        &[
            ("id", "BIGINT"),
            ("source_id", "BIGINT"),
            ("ext_id", "TEXT"),
        ],
    ),
    (
        "thread_topics",
        &[("thread_id", "BIGINT"), ("topic", "TEXT")],
    ),
    (
        "text_scores",
        &[
            ("activity_id", "BIGINT"),
            ("model_version", "BIGINT"),
            ("scored", "BIGINT"),
            ("sentiment", "BIGINT"),
            ("confidence", "BIGINT"),
            ("hostility", "BIGINT"),
            ("hostile", "BIGINT"),
            ("intents", "BIGINT"),
        ],
    ),
];

fn csv_field(out: &mut impl std::io::Write, v: rusqlite::types::ValueRef<'_>) -> Res<()> {
    use rusqlite::types::ValueRef;
    match v {
        ValueRef::Null => {}
        ValueRef::Integer(i) => write!(out, "{i}")?,
        ValueRef::Real(r) => write!(out, "{r}")?,
        ValueRef::Text(t) | ValueRef::Blob(t) => {
            let s = String::from_utf8_lossy(t);
            // Always quoted: an empty string must not read back as NULL.
            write!(out, "\"{}\"", s.replace('"', "\"\""))?;
        }
    }
    Ok(())
}

/// The analytic columns of the canonical tables as CSV (header line, empty field = NULL) and
/// `schema.sql` with the matching `CREATE TABLE` statements. Message text and attributes are
/// left out: no reference query reads them.
fn export(db: &Path, dir: &Path) -> Res<Figures> {
    std::fs::create_dir_all(dir)?;
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let t = Instant::now();
    let mut schema = String::new();
    let mut f = Figures::new();
    for (table, columns) in EXPORT {
        let names: Vec<&str> = columns.iter().map(|c| c.0).collect();
        schema.push_str(&format!(
            "CREATE TABLE {table} ({});\n",
            columns
                .iter()
                .map(|(c, ty)| format!("{c} {ty}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
        let file = std::fs::File::create(dir.join(format!("{table}.csv")))?;
        let mut w = std::io::BufWriter::with_capacity(1 << 20, file);
        writeln!(w, "{}", names.join(","))?;
        let mut stmt = conn.prepare(&format!(
            "SELECT {} FROM {table} ORDER BY {}",
            names.join(", "),
            names[0]
        ))?;
        let mut rows = stmt.query([])?;
        let mut n = 0u64;
        while let Some(row) = rows.next()? {
            for i in 0..names.len() {
                if i > 0 {
                    w.write_all(b",")?;
                }
                csv_field(&mut w, row.get_ref(i)?)?;
            }
            w.write_all(b"\n")?;
            n += 1;
        }
        w.flush()?;
        put(&mut f, &format!("rows.{table}"), n);
    }
    std::fs::write(dir.join("schema.sql"), schema)?;
    put(&mut f, "export_s", secs(t.elapsed()));
    Ok(f)
}

/// Every metric's reference SQL on SQLite (the oracle runner), timed, each checked against
/// kith's results; a query still running after `timeout` is interrupted and reported as such.
fn sqlite(db: &Path, dir: &Path, timeout: Duration) -> Res<Figures> {
    let store = SqliteStore::open(db)?;
    let snap = Snapshot::build(&store)?;
    drop(store);
    let params = Params::default();
    let resolved = Resolved::new(&snap, &params)?;
    let values = kith_analytics::compute_all(&snap, &params)?;
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    conn.execute_batch("PRAGMA cache_size = -262144; PRAGMA temp_store = MEMORY;")?;
    let mut f = Figures::new();
    let (mut total, mut timed_out, mut mismatches) = (Duration::ZERO, 0u64, 0u64);
    for (m, value) in registry().iter().zip(&values) {
        if m.reference_sql().is_none() {
            continue;
        }
        let handle = conn.get_interrupt_handle();
        let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
        let watchdog = std::thread::spawn(move || {
            if done_rx.recv_timeout(timeout).is_err() {
                handle.interrupt();
            }
        });
        let t = Instant::now();
        let result = kith_analytics::oracle::run_reference(&conn, m, &resolved);
        let took = t.elapsed();
        let _ = done_tx.send(());
        let _ = watchdog.join();
        match result {
            Ok(tables) => {
                total += took;
                put(&mut f, &format!("metric.{}", m.name), secs(took));
                if let Err(diff) = kith_analytics::oracle::compare(value, &tables) {
                    mismatches += 1;
                    eprintln!("{}: SQLite and kith differ: {}", m.name, truncate(&diff));
                }
            }
            Err(e) if took >= timeout => {
                timed_out += 1;
                total += took;
                put(&mut f, &format!("metric.{}", m.name), -1.0);
                eprintln!(
                    "{}: interrupted after {:.0} s ({e})",
                    m.name,
                    took.as_secs_f64()
                );
            }
            Err(e) => return Err(format!("{}: {e}", m.name).into()),
        }
    }
    put(&mut f, "total_s", secs(total));
    put(&mut f, "timed_out", timed_out);
    put(&mut f, "timeout_s", timeout.as_secs());
    put(&mut f, "mismatches", mismatches);
    // The same results file the DuckDB run checks against, when not written yet.
    if !dir.join("kith_results.json").exists() {
        std::fs::create_dir_all(dir)?;
        write_results(dir, &values)?;
    }
    Ok(f)
}

fn truncate(s: &str) -> &str {
    match s.char_indices().nth(600) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}
