//! `cargo xtask bench ingest [--activities N] [--seed S]`: the end-to-end ingest benchmark of
//! SPEC §9. It builds kith in release mode, has the demo generator write N activities as
//! canonical JSONL, then times `kith import jsonl` of that file into an empty SQLite database
//! (parse + identity resolution + store, one transaction), a re-import of the same file (the
//! idempotent path: everything is a duplicate), and `kith demo --no-serve` itself (generation +
//! storage). Imports run with `--no-score`: text scoring has its own bar and its own row, a
//! `kith rescore` of the imported database (messages/s, and per core of scoring time). Peak
//! memory is the child's VmHWM, sampled from /proc while it runs.
//!
//! Results are printed as a Markdown table with the machine and the date, ready for
//! `docs/benchmarks.md`.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::{repo_root, run_checked, step};

mod scorecard;

pub fn run(args: &[String]) -> Result<ExitCode> {
    let Some(what) = args.first() else {
        bail!(
            "usage: cargo xtask bench ingest [--activities N] [--seed S]\n       \
             cargo xtask bench import [--messages N] [--seed S] [--formats F,F...] [--git-repo DIR]\n       \
             cargo xtask bench scorecard --help"
        );
    };
    match what.as_str() {
        "ingest" => ingest(&args[1..]),
        "import" => import_formats(&args[1..]),
        "scorecard" => scorecard::run(&args[1..]),
        other => bail!("unknown benchmark `{other}` (available: ingest, import, scorecard)"),
    }
}

fn flag(args: &[String], name: &str, default: u64) -> Result<u64> {
    match args.iter().position(|a| a == name) {
        None => Ok(default),
        Some(i) => {
            let v = args
                .get(i + 1)
                .with_context(|| format!("{name} needs a value"))?;
            v.replace(['_', ','], "")
                .parse()
                .with_context(|| format!("{name}: `{v}` is not a number"))
        }
    }
}

/// What one timed run of the kith binary took.
struct Timed {
    seconds: f64,
    peak_kib: u64,
    stdout: String,
}

/// Runs `cmd`, sampling its peak resident memory (VmHWM) until it exits. The files the steps
/// before it wrote are flushed to disk first (`sync`), so that their write-back is not billed
/// to it; what `cmd` writes itself is its own (an import commits with SQLite's syncs).
fn timed(cmd: &mut Command) -> Result<Timed> {
    // Best effort: a machine without `sync` measures as before.
    let _ = Command::new("sync").status();
    let start = Instant::now();
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context("starting kith")?;
    // Read stdout on its own thread: a child whose output fills the pipe would otherwise wait
    // for us while we wait for it.
    let mut out = child.stdout.take().context("kith's stdout")?;
    let reader = std::thread::spawn(move || {
        let mut stdout = String::new();
        std::io::Read::read_to_string(&mut out, &mut stdout).map(|_| stdout)
    });
    let status_path = format!("/proc/{}/status", child.id());
    let mut peak_kib = 0;
    let status = loop {
        if let Ok(text) = std::fs::read_to_string(&status_path)
            && let Some(kib) = text
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        {
            peak_kib = peak_kib.max(kib);
        }
        if let Some(status) = child.try_wait()? {
            break status;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let seconds = start.elapsed().as_secs_f64();
    let stdout = reader
        .join()
        .map_err(|_| anyhow::anyhow!("the thread reading kith's output panicked"))??;
    if !status.success() {
        bail!("kith failed ({status}):\n{stdout}");
    }
    Ok(Timed {
        seconds,
        peak_kib,
        stdout,
    })
}

fn json_number(json: &str, key: &str) -> Option<f64> {
    // The outputs are kith's own pretty JSON: `"key": 123` on a line.
    json.lines().find_map(|l| {
        l.trim()
            .strip_prefix(&format!("\"{key}\": "))
            .and_then(|v| v.trim_end_matches(',').parse().ok())
    })
}

fn remove_db(path: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}

pub fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|m| m.trim_start_matches([' ', '\t', ':']).to_owned())
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem_kib: u64 = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0);
    format!(
        "{cores} cores ({model}), {:.0} GiB RAM",
        mem_kib as f64 / 1024.0 / 1024.0
    )
}

pub fn today() -> String {
    Command::new("date")
        .arg("+%Y-%m-%d")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

/// Where `cargo build` puts kith: `CARGO_TARGET_DIR` when set (each worktree may build into
/// its own), else the workspace's `target`.
fn target_dir(root: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => root.join(dir),
        _ => root.join("target"),
    }
}

fn ingest(args: &[String]) -> Result<ExitCode> {
    let n = flag(args, "--activities", 1_000_000)?;
    let seed = flag(args, "--seed", 7)?;
    let root = repo_root()?;
    step("building kith (release)");
    run_checked(
        Command::new("cargo")
            .args(["build", "--release", "--quiet", "-p", "kith"])
            .current_dir(&root),
    )?;
    let target = target_dir(&root);
    let kith = target.join("release/kith");
    let dir: PathBuf = target.join("bench/ingest");
    std::fs::create_dir_all(&dir)?;
    let gen_db = dir.join("generated.db");
    let bench_db = dir.join("imported.db");
    let export_dir = dir.join("export");
    remove_db(&gen_db);
    remove_db(&bench_db);

    step(&format!(
        "kith demo: generating and storing {n} activities (seed {seed}), writing them as JSONL"
    ));
    let demo = timed(
        Command::new(&kith)
            .arg("--database")
            .arg(&gen_db)
            .args(["demo", "--no-serve", "--quiet", "--json"])
            .args([
                "--activities",
                &n.to_string(),
                "--seed",
                &seed.to_string(),
                "--write-export",
                "jsonl",
            ])
            .arg(&export_dir),
    )?;
    let file = export_dir.join("activities.jsonl");
    let bytes = std::fs::metadata(&file)?.len();

    step("kith import jsonl into an empty SQLite database");
    let first = timed(
        Command::new(&kith)
            .arg("--database")
            .arg(&bench_db)
            .args(["import", "jsonl", "--quiet", "--json", "--no-score"])
            .arg(&file),
    )?;
    let imported = json_number(&first.stdout, "imported").unwrap_or(0.0);
    if imported as u64 != n {
        bail!(
            "expected {n} activities imported, the audit says {imported}:\n{}",
            first.stdout
        );
    }
    step("kith import jsonl of the same file again (idempotent: all duplicates)");
    let again = timed(
        Command::new(&kith)
            .arg("--database")
            .arg(&bench_db)
            .args(["import", "jsonl", "--quiet", "--json", "--no-score"])
            .arg(&file),
    )?;
    if json_number(&again.stdout, "imported") != Some(0.0) {
        bail!("the re-import imported something:\n{}", again.stdout);
    }
    // Text scoring is SPEC §9's own bar, timed apart from the import: the pass `kith import`
    // runs after its commit unless --no-score, here run as `kith rescore`.
    step("kith rescore: text scoring of the imported messages (sentiment, hostility, intents)");
    let scoring = timed(
        Command::new(&kith)
            .arg("--database")
            .arg(&bench_db)
            .args(["rescore", "--quiet", "--json"])
            .arg("--threads")
            .arg(
                std::thread::available_parallelism()
                    .map_or(1, |n| n.get())
                    .to_string(),
            ),
    )?;
    let messages = json_number(&scoring.stdout, "scored").unwrap_or(0.0);
    let per_core = json_number(&scoring.stdout, "messages_per_core_sec").unwrap_or(0.0);
    let threads = json_number(&scoring.stdout, "threads").unwrap_or(1.0);
    let db_bytes = std::fs::metadata(&bench_db).map_or(0, |m| m.len());

    let row = |what: &str, t: &Timed| {
        format!(
            "| {what} | {:.2} s | {:.0}/s | {:.0} MiB |",
            t.seconds,
            n as f64 / t.seconds,
            t.peak_kib as f64 / 1024.0
        )
    };
    println!(
        "\nIngest benchmark, {} activities ({:.0} MiB of JSONL, database {:.0} MiB), {}, {}",
        n,
        bytes as f64 / 1048576.0,
        db_bytes as f64 / 1048576.0,
        machine(),
        today()
    );
    println!("\n| run | wall time | activities/s | peak memory |\n|---|---|---|---|");
    println!(
        "{}",
        row("`kith import jsonl` into an empty SQLite file", &first)
    );
    println!(
        "{}",
        row("`kith import jsonl` again (all duplicates)", &again)
    );
    println!(
        "{}",
        row(
            "`kith demo --no-serve --write-export jsonl` (generate + store + write JSONL)",
            &demo
        )
    );
    println!(
        "| `kith rescore` (text scoring of {messages:.0} messages, {threads:.0} threads) | {:.2} s | {:.0} messages/s ({per_core:.0} per core of scoring time) | {:.0} MiB |",
        scoring.seconds,
        messages / scoring.seconds.max(1e-9),
        scoring.peak_kib as f64 / 1024.0
    );
    Ok(ExitCode::SUCCESS)
}

/// Activities to generate per message wanted, by export format: some formats carry fewer
/// messages than the generator's activities (Stack Exchange votes, Discourse and GitHub joins
/// and merges, everything but mail in mbox are not messages), measured at 1 million. The run
/// prints what it really read. A generated community has few commits, so `git` reads a
/// repository given with `--git-repo DIR` (`KITH_BENCH_REPO=DIR cargo bench -p kith-import
/// --bench git` writes one of 1,000,000 generated commits).
const ACTIVITIES_PER_MESSAGE: &[(&str, f64)] = &[
    ("jsonl", 1.0),
    ("slack-export", 1.03),
    ("discord", 1.01),
    ("telegram", 1.01),
    ("stackexchange", 1.48),
    ("mbox", 1.72),
    ("git", 0.0),
    ("discourse", 1.55),
    ("github", 1.45),
];

/// `cargo xtask bench import`: SPEC §9's per-format import bar (≥ 100,000 messages/s at
/// 1 million messages) measured end to end, the way a user runs it: the demo generator writes
/// each platform's export, then `kith import FORMAT` reads it into an empty SQLite file (parse,
/// plan, store, identity resolution, commit; a new process per format). The parse rates alone
/// are the kith-import benches; this is what the user waits for. `--no-score`: text scoring is
/// excluded from the ingest bars (it has its own, timed by `bench ingest`'s rescore row).
fn import_formats(args: &[String]) -> Result<ExitCode> {
    let messages = flag(args, "--messages", 1_000_000)?;
    let seed = flag(args, "--seed", 7)?;
    let git_repo = match args.iter().position(|a| a == "--git-repo") {
        Some(i) => Some(PathBuf::from(
            args.get(i + 1).context("--git-repo needs a folder")?,
        )),
        None => None,
    };
    let formats: Vec<&str> = match args.iter().position(|a| a == "--formats") {
        Some(i) => args
            .get(i + 1)
            .context("--formats needs a value")?
            .split(',')
            .collect(),
        None => ACTIVITIES_PER_MESSAGE.iter().map(|(f, _)| *f).collect(),
    };
    let root = repo_root()?;
    step("building kith (release)");
    run_checked(
        Command::new("cargo")
            .args(["build", "--release", "--quiet", "-p", "kith"])
            .current_dir(&root),
    )?;
    let target = target_dir(&root);
    let kith = target.join("release/kith");
    let dir = target.join("bench/import");
    std::fs::create_dir_all(&dir)?;

    let mut rows = Vec::new();
    for format in formats {
        let factor = ACTIVITIES_PER_MESSAGE
            .iter()
            .find(|(f, _)| *f == format)
            .map(|(_, x)| *x)
            .with_context(|| format!("unknown format `{format}`"))?;
        let activities = (messages as f64 * factor).ceil() as u64;
        let mut export = dir.join(format!("{format}-n{activities}-s{seed}"));
        if format == "git" {
            match &git_repo {
                Some(repo) => export = repo.clone(),
                None => {
                    println!(
                        "git: skipped (give --git-repo DIR, a repository written by \
                         `KITH_BENCH_REPO=DIR cargo bench -p kith-import --bench git`)"
                    );
                    continue;
                }
            }
        } else if !export.join(".complete").exists() {
            // An export is kept between runs.
            let _ = std::fs::remove_dir_all(&export);
            let gen_db = dir.join("generated.db");
            remove_db(&gen_db);
            step(&format!(
                "kith demo: {activities} activities written as a {format} export"
            ));
            timed(
                Command::new(&kith)
                    .arg("--database")
                    .arg(&gen_db)
                    .args(["demo", "--no-serve", "--quiet", "--json"])
                    .args(["--activities", &activities.to_string()])
                    .args(["--seed", &seed.to_string(), "--write-export", format])
                    .arg(&export),
            )?;
            remove_db(&gen_db);
            std::fs::write(export.join(".complete"), b"")?;
        }
        let input = if format == "jsonl" {
            export.join("activities.jsonl")
        } else {
            export.clone()
        };
        let db = dir.join("imported.db");
        remove_db(&db);
        step(&format!("kith import {format} into an empty SQLite file"));
        let run = timed(
            Command::new(&kith)
                .arg("--database")
                .arg(&db)
                .args([
                    "import",
                    format,
                    "--source",
                    "demo",
                    "--quiet",
                    "--json",
                    "--no-score",
                ])
                .arg(&input),
        )?;
        remove_db(&db);
        let read = json_number(&run.stdout, "read").unwrap_or(0.0);
        let imported = json_number(&run.stdout, "imported").unwrap_or(0.0);
        if imported == 0.0 {
            bail!("kith import {format} imported nothing:\n{}", run.stdout);
        }
        rows.push(format!(
            "| `{format}` | {} | {read:.0} | {imported:.0} | {:.2} s | {:.0}/s | {:.0} MiB |",
            if format == "git" {
                "(repository)".to_owned()
            } else {
                activities.to_string()
            },
            run.seconds,
            read / run.seconds,
            run.peak_kib as f64 / 1024.0
        ));
    }
    println!(
        "\nImport per format into an empty SQLite file, end to end, {}, {}",
        machine(),
        today()
    );
    println!(
        "\n| format | generated activities | records read | imported | wall | records read/s | peak memory |"
    );
    println!("|---|---|---|---|---|---|---|");
    for row in rows {
        println!("{row}");
    }
    Ok(ExitCode::SUCCESS)
}
