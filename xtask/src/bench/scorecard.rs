//! `cargo xtask bench scorecard [--activities N[,N...]] [--seed S] [--reps R] [--only WHAT]
//! [--cold-runs K] [--timeout SECONDS]`: the scorecard bars of SPEC §9 and the DuckDB
//! comparison, in one run on one database.
//!
//! For each size it builds kith and the `scorecard_timings` example (kith-analytics) in release
//! mode, generates the community with `kith demo --no-serve` into its own database (kept and
//! reused while present), scores its texts with `kith rescore` (the demo does not, and the text
//! metrics would compute over nothing; a no-op once every message has a current score), and
//! measures, each in its own process:
//! - **kith cold**: open the database (its file in the OS page cache), build the snapshot from
//!   the store, compute every metric; K runs, the median;
//! - **kith warm**: the snapshot built, every metric recomputed R times, the median (nothing is
//!   cached between runs);
//! - **refresh**: on a copy of the database, 1 % later activities imported in one ingest
//!   session and their texts scored (both untimed: ingest and scoring have their own bars),
//!   then the snapshot refreshed and every metric recomputed;
//! - **DuckDB** (the Python `duckdb` package in a virtual environment this task creates under the
//!   target directory): the canonical tables exported as CSV and loaded into DuckDB tables (load
//!   timed apart), then every metric's reference SQL with the same parameters, warm, R times,
//!   the median, and each result checked against kith's; a query running past the timeout is
//!   interrupted and reported as such;
//! - **SQLite**: the same reference SQL on the database itself, once per metric, each query
//!   interrupted after the timeout.
//!
//! `--only kith|duckdb|sqlite` runs one part (benchmarks on a shared machine are run in short
//! quiet slots). Results print as Markdown tables and are kept as JSON beside the databases.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use super::{Timed, flag, json_number, machine, remove_db, target_dir, timed, today};
use crate::{repo_root, run_checked, step};

const USAGE: &str = "usage: cargo xtask bench scorecard [--activities N[,N...]] [--seed S] \
     [--reps R] [--only kith|duckdb|sqlite] [--cold-runs K] [--timeout SECONDS]";

/// Flat figures printed by `scorecard_timings` and the DuckDB script: `"key": value` lines.
struct Figures(Vec<(String, String)>);

impl Figures {
    fn parse(json: &str) -> Figures {
        Figures(
            json.lines()
                .filter_map(|l| {
                    let l = l.trim().trim_end_matches(',');
                    let (k, v) = l.split_once("\": ")?;
                    Some((
                        k.trim_start_matches('"').to_owned(),
                        v.trim_matches('"').to_owned(),
                    ))
                })
                .collect(),
        )
    }

    fn text(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn num(&self, key: &str) -> f64 {
        self.text(key)
            .and_then(|v| v.parse().ok())
            .unwrap_or(f64::NAN)
    }

    /// `metric.<name>` entries in their order.
    fn metrics(&self) -> Vec<(&str, f64)> {
        self.0
            .iter()
            .filter_map(|(k, v)| Some((k.strip_prefix("metric.")?, v.parse().ok()?)))
            .collect()
    }
}

struct Tools {
    root: PathBuf,
    kith: PathBuf,
    timings: PathBuf,
    dir: PathBuf,
}

/// What one size measured.
#[derive(Default)]
struct SizeResult {
    n: u64,
    cold: Vec<(Timed, Figures)>,
    warm: Option<Figures>,
    refresh: Option<Figures>,
    export: Option<Figures>,
    duckdb: Option<Figures>,
    sqlite: Option<Figures>,
}

pub fn run(args: &[String]) -> Result<std::process::ExitCode> {
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!("{USAGE}");
        return Ok(std::process::ExitCode::SUCCESS);
    }
    let sizes: Vec<u64> = match args.iter().position(|a| a == "--activities") {
        None => vec![10_000_000],
        Some(i) => args
            .get(i + 1)
            .context("--activities needs a value")?
            .split(',')
            .map(|v| {
                v.replace('_', "")
                    .parse()
                    .with_context(|| format!("--activities: `{v}` is not a number"))
            })
            .collect::<Result<_>>()?,
    };
    let seed = flag(args, "--seed", 1)?;
    let reps = flag(args, "--reps", 5)?;
    let cold_runs = flag(args, "--cold-runs", 3)?;
    // Per metric, for DuckDB and SQLite alike.
    let sqlite_timeout = flag(args, "--timeout", 120)?;
    let only = args
        .iter()
        .position(|a| a == "--only")
        .map(|i| args.get(i + 1).cloned().context("--only needs a value"))
        .transpose()?;
    if let Some(o) = &only
        && !["kith", "duckdb", "sqlite"].contains(&o.as_str())
    {
        bail!("--only: `{o}` is not kith, duckdb or sqlite\n{USAGE}");
    }
    let part = |p: &str| only.as_deref().is_none_or(|o| o == p);

    let root = repo_root()?;
    let target = target_dir(&root);
    step("building kith and scorecard_timings (release)");
    run_checked(
        Command::new("cargo")
            .args(["build", "--release", "--quiet", "-p", "kith"])
            .current_dir(&root),
    )?;
    run_checked(
        Command::new("cargo")
            .args([
                "build",
                "--release",
                "--quiet",
                "-p",
                "kith-analytics",
                "--example",
                "scorecard_timings",
                "--features",
                "oracle",
            ])
            .current_dir(&root),
    )?;
    let tools = Tools {
        kith: target.join("release/kith"),
        timings: target.join("release/examples/scorecard_timings"),
        dir: target.join("bench/scorecard"),
        root: root.clone(),
    };
    std::fs::create_dir_all(&tools.dir)?;

    let mut results = Vec::new();
    for &n in &sizes {
        let db = database(&tools, n, seed)?;
        score_texts(&tools, &db)?;
        let mut r = SizeResult {
            n,
            ..SizeResult::default()
        };
        let work = tools.dir.join(format!("n{n}-s{seed}"));
        let sql_dir = work.join("sql");
        if part("kith") {
            kith_runs(&tools, &db, &work, seed, reps, cold_runs, &mut r)?;
        }
        if part("duckdb") {
            if r.warm.is_none() {
                step(&format!(
                    "kith warm (for the comparison): every metric {reps} times; the bound reference SQL and kith's results written"
                ));
                r.warm = Some(warm_run(&tools, &db, &sql_dir, reps)?);
            }
            let csv = work.join("csv");
            // Again after the database changed, or when an older run exported fewer tables.
            if !csv.join("text_scores.csv").exists() || newer(&db, &csv.join("schema.sql")) {
                step(&format!(
                    "exporting the canonical tables of {n} activities as CSV"
                ));
                r.export = Some(figures(
                    Command::new(&tools.timings)
                        .arg("export")
                        .arg(&db)
                        .arg(&csv),
                )?);
            }
            let python = venv(&tools)?;
            step("DuckDB: load the CSVs into tables, then every metric's reference SQL");
            let out = timed(
                Command::new(&python)
                    .arg(tools.root.join("scripts/duckdb_scorecard.py"))
                    .arg("--csv")
                    .arg(&csv)
                    .arg("--sql")
                    .arg(&sql_dir)
                    .args(["--reps", &reps.to_string()])
                    .args(["--timeout", &sqlite_timeout.to_string()]),
            )?;
            let f = Figures::parse(&out.stdout);
            if f.num("mismatches") != 0.0 {
                eprintln!(
                    "warning: DuckDB's results differ from kith's for {} metrics (see above)",
                    f.num("mismatches")
                );
            }
            r.duckdb = Some(f);
        }
        if part("sqlite") {
            step(&format!(
                "SQLite: every metric's reference SQL on the database (interrupted after {sqlite_timeout} s)"
            ));
            r.sqlite = Some(figures(
                Command::new(&tools.timings)
                    .arg("sqlite")
                    .arg(&db)
                    .arg(&sql_dir)
                    .args(["--timeout", &sqlite_timeout.to_string()]),
            )?);
        }
        report(&r, &db);
        results.push(r);
    }
    if results.len() > 1 {
        growth(&results);
    }
    Ok(std::process::ExitCode::SUCCESS)
}

/// Whether `a` was modified after `b`.
fn newer(a: &Path, b: &Path) -> bool {
    let m = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    matches!((m(a), m(b)), (Some(x), Some(y)) if x > y)
}

/// The generated database of `n` activities, made by `kith demo` unless present.
fn database(tools: &Tools, n: u64, seed: u64) -> Result<PathBuf> {
    let db = tools.dir.join(format!("n{n}-s{seed}.db"));
    if db.exists() {
        step(&format!("reusing {}", db.display()));
        return Ok(db);
    }
    let partial = tools.dir.join(format!("n{n}-s{seed}.partial.db"));
    remove_db(&partial);
    step(&format!(
        "kith demo: generating {n} activities (seed {seed}) into {}",
        db.display()
    ));
    let t = timed(
        Command::new(&tools.kith)
            .arg("--database")
            .arg(&partial)
            .args(["demo", "--no-serve", "--quiet", "--json"])
            .args(["--activities", &n.to_string(), "--seed", &seed.to_string()]),
    )?;
    eprintln!("generated and stored in {:.1} s", t.seconds);
    // Renamed only once complete, so an interrupted run is never reused.
    std::fs::rename(&partial, &db)?;
    remove_db(&partial);
    Ok(db)
}

/// Scores every message of the database without a current score (`kith rescore`): the text
/// metrics (sentiment, conversation quality, feedback candidates, resolution by thanks) need
/// them. The database's modification time moves only when something was scored, so that the
/// CSV export is not redone for nothing.
fn score_texts(tools: &Tools, db: &Path) -> Result<()> {
    step("kith rescore: scoring the texts the database has no current score for");
    let before = std::fs::metadata(db).and_then(|m| m.modified()).ok();
    let t = timed(
        Command::new(&tools.kith)
            .arg("--database")
            .arg(db)
            .args(["rescore", "--quiet", "--json"]),
    )?;
    let scored = json_number(&t.stdout, "scored").unwrap_or(0.0);
    eprintln!("scored {scored:.0} messages in {:.1} s", t.seconds);
    if scored == 0.0
        && let Some(before) = before
    {
        // Opening the database may checkpoint its WAL: nothing the export reads changed.
        let f = std::fs::File::options().write(true).open(db)?;
        f.set_modified(before)?;
    }
    Ok(())
}

/// Runs a `scorecard_timings` mode and parses its figures.
fn figures(cmd: &mut Command) -> Result<Figures> {
    let t = timed(cmd)?;
    Ok(Figures::parse(&t.stdout))
}

fn warm_run(tools: &Tools, db: &Path, sql_dir: &Path, reps: u64) -> Result<Figures> {
    figures(
        Command::new(&tools.timings)
            .arg("warm")
            .arg(db)
            .args(["--reps", &reps.to_string(), "--out"])
            .arg(sql_dir),
    )
}

/// Reads the whole file once, so that the cold runs find it in the OS page cache.
fn into_page_cache(db: &Path) -> Result<()> {
    let mut f = std::fs::File::open(db)?;
    std::io::copy(&mut f, &mut std::io::sink())?;
    Ok(())
}

fn kith_runs(
    tools: &Tools,
    db: &Path,
    work: &Path,
    seed: u64,
    reps: u64,
    cold_runs: u64,
    r: &mut SizeResult,
) -> Result<()> {
    into_page_cache(db)?;
    step(&format!(
        "kith cold: {cold_runs} new processes, each opening the database, building the snapshot and computing every metric"
    ));
    for _ in 0..cold_runs.max(1) {
        let t = timed(Command::new(&tools.timings).arg("cold").arg(db))?;
        let f = Figures::parse(&t.stdout);
        eprintln!(
            "  process {:.3} s (in process: open {:.3} s, build {:.3} s, metrics {:.3} s)",
            t.seconds,
            f.num("open_s"),
            f.num("build_s"),
            f.num("compute_s")
        );
        r.cold.push((t, f));
    }
    step(&format!(
        "kith warm: the snapshot built, every metric recomputed {reps} times"
    ));
    r.warm = Some(warm_run(tools, db, &work.join("sql"), reps)?);
    step(
        "refresh: 1 % later activities imported into a copy, snapshot refreshed, metrics recomputed",
    );
    let copy = work.join("refresh.db");
    remove_db(&copy);
    std::fs::create_dir_all(work)?;
    std::fs::copy(db, &copy)?;
    let f = figures(
        Command::new(&tools.timings)
            .arg("refresh")
            .arg(&copy)
            .args(["--seed", &seed.to_string()]),
    );
    remove_db(&copy);
    r.refresh = Some(f?);
    Ok(())
}

/// The Python interpreter of the benchmark's virtual environment, with `duckdb` installed
/// (created and installed on first use).
fn venv(tools: &Tools) -> Result<PathBuf> {
    let venv = tools.dir.parent().unwrap_or(&tools.dir).join("venv");
    let python = venv.join("bin/python");
    let has_duckdb = |p: &Path| {
        Command::new(p)
            .args(["-c", "import duckdb"])
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if python.exists() && has_duckdb(&python) {
        return Ok(python);
    }
    step(&format!(
        "creating the Python environment {} with duckdb",
        venv.display()
    ));
    if !python.exists() {
        run_checked(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
    }
    run_checked(Command::new(venv.join("bin/pip")).args([
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "duckdb",
    ]))?;
    if !has_duckdb(&python) {
        bail!("duckdb is still not importable in {}", venv.display());
    }
    Ok(python)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

fn mib(kib: f64) -> String {
    format!("{:.0} MiB", kib / 1024.0)
}

fn cold_median(r: &SizeResult) -> Option<(f64, f64, f64, f64, f64)> {
    if r.cold.is_empty() {
        return None;
    }
    let process = median(r.cold.iter().map(|(t, _)| t.seconds).collect());
    let pick = |k: &str| median(r.cold.iter().map(|(_, f)| f.num(k)).collect());
    Some((
        process,
        pick("open_s"),
        pick("build_s"),
        pick("compute_s"),
        pick("peak_kib"),
    ))
}

fn report(r: &SizeResult, db: &Path) {
    let db_mib = std::fs::metadata(db).map_or(0.0, |m| m.len() as f64 / 1_048_576.0);
    println!(
        "\nScorecard benchmark, {} activities (database {db_mib:.0} MiB), {}, {}, load {}",
        r.n,
        machine(),
        today(),
        load()
    );
    let warm_s = r.warm.as_ref().map(|w| w.num("warm_median_s"));
    if let Some((process, open, build, compute, peak)) = cold_median(r) {
        let w = r.warm.as_ref();
        println!("\n| measurement | time | bar | peak memory |\n|---|---|---|---|");
        println!(
            "| cold: new process (open {open:.3} s + snapshot build {build:.3} s + every metric {compute:.3} s), median of {} | {process:.3} s | ≤ 5 s | {} |",
            r.cold.len(),
            mib(peak)
        );
        if let Some(w) = w {
            println!(
                "| warm: every metric, snapshot built, median of {} (min {:.3} s) | {:.3} s | ≤ 1 s | {} |",
                w.num("reps"),
                w.num("warm_min_s"),
                w.num("warm_median_s"),
                mib(w.num("peak_kib"))
            );
        }
        if let Some(f) = &r.refresh {
            println!(
                "| refresh after importing {} later activities (1 %) and scoring their {} messages (untimed): refresh {:.3} s + every metric {:.3} s | {:.3} s | ≤ 2 s | {} |",
                f.num("appended"),
                f.num("scored"),
                f.num("refresh_s"),
                f.num("recompute_s"),
                f.num("refresh_total_s"),
                mib(f.num("peak_kib"))
            );
        }
        if let Some(w) = w {
            println!(
                "\nSnapshot: {} activities, {} members, {} threads, {} messages with text scores, {} MiB. Warm per metric (median, one after the other on one thread: {:.3} s): scope {:.0} ms, {}",
                w.num("activities"),
                w.num("members"),
                w.num("threads"),
                w.num("text_scored"),
                w.num("snapshot_mib"),
                w.num("sequential_median_s"),
                w.num("scope_s") * 1e3,
                w.metrics()
                    .iter()
                    .map(|(m, s)| format!("{m} {:.0} ms", s * 1e3))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
    }
    if let Some(d) = &r.duckdb {
        let kith = r.warm.as_ref();
        println!(
            "\nDuckDB {} ({} threads), {} metrics with reference SQL, load of the CSV export into tables {:.2} s; results equal to kith's: {}",
            d.text("duckdb_version").unwrap_or("?"),
            d.text("threads").unwrap_or("?"),
            d.num("metrics"),
            d.num("load_s"),
            if d.num("mismatches") == 0.0 {
                "all".to_owned()
            } else {
                format!("{} differ", d.num("mismatches"))
            }
        );
        println!(
            "\n| metric | kith warm | DuckDB warm | SQLite | DuckDB ÷ kith |\n|---|---|---|---|---|"
        );
        let sqlite = r.sqlite.as_ref();
        let (mut k_sum, mut d_sum) = (0.0, 0.0);
        for (m, ds) in d.metrics() {
            let ks = kith.map_or(f64::NAN, |k| k.num(&format!("metric.{m}")));
            let ss = sqlite.map_or(f64::NAN, |s| s.num(&format!("metric.{m}")));
            if ds < 0.0 {
                println!(
                    "| {m} | {:.1} ms | interrupted after {} s | {} | > {:.0}× |",
                    ks * 1e3,
                    d.num("timeout_s"),
                    sqlite_cell(ss),
                    d.num("timeout_s") / ks
                );
                continue;
            }
            k_sum += ks;
            d_sum += ds;
            println!(
                "| {m} | {:.1} ms | {:.1} ms | {} | {:.1}× |",
                ks * 1e3,
                ds * 1e3,
                sqlite_cell(ss),
                ds / ks
            );
        }
        // kith's total includes the scope (shared by every metric) once.
        let scope = kith.map_or(f64::NAN, |k| k.num("scope_s"));
        println!(
            "| **all that DuckDB finished** (kith: + scope {:.0} ms) | {:.3} s | {:.3} s | {} | **{:.1}×** |",
            scope * 1e3,
            k_sum + scope,
            d_sum,
            sqlite.map_or("–".to_owned(), |s| format!(
                "{:.1} s{}",
                s.num("total_s"),
                if s.num("timed_out") > 0.0 {
                    format!(" (+ {} interrupted)", s.num("timed_out"))
                } else {
                    String::new()
                }
            )),
            d_sum / (k_sum + scope)
        );
        if let Some(w) = warm_s {
            println!(
                "\nkith warm for every metric (the registry, including those without reference SQL): {w:.3} s"
            );
        }
    } else if let Some(s) = &r.sqlite {
        println!(
            "\nSQLite, reference SQL: {:.1} s over {} metrics ({} interrupted after {} s), mismatches {}",
            s.num("total_s"),
            s.metrics().len(),
            s.num("timed_out"),
            s.num("timeout_s"),
            s.num("mismatches")
        );
    }
}

fn sqlite_cell(s: f64) -> String {
    if s.is_nan() {
        "–".into()
    } else if s < 0.0 {
        "interrupted".into()
    } else {
        format!("{:.0} ms", s * 1e3)
    }
}

fn growth(results: &[SizeResult]) {
    println!(
        "\nHow cost grows:\n\n| activities | cold (process) | snapshot build | warm (every metric) | refresh + recompute | snapshot | peak memory (cold) |\n|---|---|---|---|---|---|---|"
    );
    for r in results {
        let cold = cold_median(r);
        let w = r.warm.as_ref();
        println!(
            "| {} | {} | {} | {} | {} | {} | {} |",
            r.n,
            cold.map_or("–".into(), |c| format!("{:.3} s", c.0)),
            cold.map_or("–".into(), |c| format!("{:.3} s", c.2)),
            w.map_or("–".into(), |w| format!("{:.3} s", w.num("warm_median_s"))),
            r.refresh.as_ref().map_or("–".into(), |f| format!(
                "{:.3} s",
                f.num("refresh_total_s")
            )),
            w.map_or("–".into(), |w| format!("{} MiB", w.num("snapshot_mib"))),
            cold.map_or("–".into(), |c| mib(c.4)),
        );
    }
}

/// The 1-minute load average.
fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".into())
}
