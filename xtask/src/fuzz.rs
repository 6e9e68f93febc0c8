//! `cargo xtask fuzz`: runs the parsers' fuzz targets (`fuzz/`, cargo-fuzz) as SPEC §9 asks —
//! seeded from the hand-written fixtures and the real samples, one target at a time, for a
//! set time — and prints the figures `docs/fuzzing.md` records.
//!
//! ```text
//! cargo xtask fuzz list                    # the targets
//! cargo xtask fuzz seed                    # (re)write the seed corpora
//! cargo xtask fuzz [TARGET|all] [--minutes N] [--corpus DIR]
//! ```
//!
//! The corpora live outside the repository (the real samples must not be committed): in
//! `--corpus DIR`, else `$KITH_FUZZ_CORPUS`, else `fuzz-corpus` beside the repository. Each
//! target has `DIR/<target>/` (the corpus), `DIR/artifacts/<target>/` (crashing inputs) and
//! `DIR/logs/` (libFuzzer's output). cargo-fuzz needs nightly features: this task sets
//! `RUSTC_BOOTSTRAP=1` so that the stable toolchain builds them (`cargo install cargo-fuzz`).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use anyhow::{Context, Result, bail};

use crate::{repo_root, run_checked, step};

/// The fuzz targets, one per parser, as named in `fuzz/Cargo.toml`.
const TARGETS: [&str; 9] = [
    "slack",
    "discord",
    "discourse",
    "stackexchange",
    "mbox",
    "git",
    "github",
    "telegram",
    "jsonl",
];

/// Between two files of a bundle (`fuzz/src/lib.rs` reads it back).
const SEPARATOR: &[u8] = b"\x00\x1e\x00";

/// A seed is at most this big: larger inputs make each execution slow and teach the fuzzer
/// nothing a smaller piece of the same file does not.
const SEED_BYTES: usize = 64 * 1024;

/// Inputs the fuzzer may grow to (libFuzzer `-max_len`).
const MAX_LEN: usize = 256 * 1024;

pub fn run(args: &[String]) -> Result<ExitCode> {
    let root = repo_root()?;
    let corpus = corpus_dir(&root, args)?;
    let minutes = number_flag(args, "--minutes")?.unwrap_or(30);
    let positional: Vec<&String> = positional(args);
    match positional.first().map(|s| s.as_str()) {
        Some("list") => {
            for t in TARGETS {
                println!("{t}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Some("seed") => {
            seed_all(&root, &corpus)?;
            Ok(ExitCode::SUCCESS)
        }
        None | Some("all") => {
            let mut rows = Vec::new();
            for t in TARGETS {
                rows.push(fuzz_one(&root, &corpus, t, minutes)?);
            }
            report(&rows);
            Ok(exit_for(&rows))
        }
        Some(name) => {
            let Some(&target) = TARGETS.iter().find(|t| **t == name) else {
                bail!(
                    "unknown fuzz target `{name}` (targets: {}; or `list`, `seed`, `all`)",
                    TARGETS.join(", ")
                );
            };
            let row = fuzz_one(&root, &corpus, target, minutes)?;
            report(std::slice::from_ref(&row));
            Ok(exit_for(std::slice::from_ref(&row)))
        }
    }
}

/// Arguments that are neither flags nor flag values.
fn positional(args: &[String]) -> Vec<&String> {
    let mut out = Vec::new();
    let mut skip = false;
    for a in args {
        if skip {
            skip = false;
        } else if a == "--minutes" || a == "--corpus" {
            skip = true;
        } else {
            out.push(a);
        }
    }
    out
}

fn number_flag(args: &[String], name: &str) -> Result<Option<u64>> {
    let Some(i) = args.iter().position(|a| a == name) else {
        return Ok(None);
    };
    let v = args
        .get(i + 1)
        .with_context(|| format!("{name} needs a value"))?;
    v.parse()
        .map(Some)
        .with_context(|| format!("{name}: `{v}` is not a whole number"))
}

fn corpus_dir(root: &Path, args: &[String]) -> Result<PathBuf> {
    if let Some(i) = args.iter().position(|a| a == "--corpus") {
        return Ok(PathBuf::from(
            args.get(i + 1).context("--corpus needs a folder")?,
        ));
    }
    if let Some(dir) = std::env::var_os("KITH_FUZZ_CORPUS").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    Ok(root.join("..").join("fuzz-corpus"))
}

/// The shared real data (`KITH_SHARED_DATA`, else `../shared/data`), when present.
fn shared_data(root: &Path) -> Option<PathBuf> {
    let dir = std::env::var_os("KITH_SHARED_DATA")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("..").join("shared").join("data"));
    dir.is_dir().then_some(dir)
}

/// What one target's run gave.
struct Outcome {
    target: &'static str,
    minutes: u64,
    executions: u64,
    corpus_files: usize,
    cov: u64,
    ft: u64,
    crashes: Vec<PathBuf>,
    /// Slow units that were fast when re-run alone, with the seconds they took then.
    load: Vec<(PathBuf, f64)>,
    /// CPU time the fuzzer got (the run is niced on a shared machine).
    cpu_minutes: f64,
    log: PathBuf,
}

fn exit_for(rows: &[Outcome]) -> ExitCode {
    if rows.iter().any(|r| !r.crashes.is_empty()) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn cargo_fuzz(root: &Path) -> Command {
    let mut cmd = Command::new("cargo");
    cmd.current_dir(root)
        .env("RUSTC_BOOTSTRAP", "1")
        .arg("fuzz");
    cmd
}

/// `--target-dir` from `CARGO_TARGET_DIR` (cargo-fuzz must be told where its binaries go).
fn target_dir_args() -> Vec<String> {
    match std::env::var("CARGO_TARGET_DIR") {
        Ok(dir) if !dir.is_empty() => vec!["--target-dir".into(), format!("{dir}-fuzz")],
        _ => Vec::new(),
    }
}

fn fuzz_one(root: &Path, corpus: &Path, target: &'static str, minutes: u64) -> Result<Outcome> {
    let dir = corpus.join(target);
    if !dir.is_dir() || std::fs::read_dir(&dir)?.next().is_none() {
        seed_all(root, corpus)?;
    }
    step(&format!("building fuzz target `{target}`"));
    run_checked(
        cargo_fuzz(root)
            .args(["build", target])
            .args(target_dir_args()),
    )
    .context("building the fuzz target (is cargo-fuzz installed? `cargo install cargo-fuzz`)")?;

    let artifacts = corpus.join("artifacts").join(target);
    let logs = corpus.join("logs");
    std::fs::create_dir_all(&artifacts)?;
    std::fs::create_dir_all(&logs)?;
    let log = logs.join(format!("{target}-{}.log", timestamp()));
    let before: Vec<PathBuf> = list(&artifacts)?;
    let cpu_before = children_cpu_seconds();
    step(&format!(
        "fuzzing `{target}` for {minutes} min (corpus {}, log {})",
        dir.display(),
        log.display()
    ));
    // The binary just built, run directly: `cargo fuzz run` would rebuild it whenever a source
    // file changes while the fuzzer runs (hours, on a machine where work goes on).
    let mut child = Command::new(fuzz_binary(root, target))
        .arg(&dir)
        .arg(format!("-max_total_time={}", minutes * 60))
        .arg(format!("-max_len={MAX_LEN}"))
        .arg(format!(
            "-artifact_prefix={}/",
            artifacts.display().to_string().trim_end_matches('/')
        ))
        // Wall-clock limits: a niced run on a busy machine can wait most of a minute for a
        // core, so the run stops only at 5 minutes; units slower than a minute are saved and
        // re-run alone afterwards (a parser that is slow over 256 KiB is a bug too).
        .arg("-timeout=300")
        .arg("-report_slow_units=60")
        .arg("-rss_limit_mb=2048")
        .arg("-print_final_stats=1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| {
            format!(
                "starting the fuzz target {}",
                fuzz_binary(root, target).display()
            )
        })?;
    let mut out = std::fs::File::create(&log)?;
    // libFuzzer writes to stderr; keep it all in the log and show the status lines.
    let mut last_status = String::new();
    let mut executions = 0;
    if let Some(stderr) = child.stderr.take() {
        for line in BufReader::new(stderr).lines() {
            let line = line?;
            writeln!(out, "{line}")?;
            if let Some(n) = line.strip_prefix("stat::number_of_executed_units:") {
                executions = n.trim().parse().unwrap_or(0);
            }
            if line.starts_with('#') && line.contains("cov:") {
                last_status.clone_from(&line);
                if line.contains("DONE") || line.contains("pulse") {
                    eprintln!("{line}");
                }
            } else if !line.starts_with('#') {
                eprintln!("{line}");
            }
        }
    }
    let status = child.wait()?;
    let cpu_minutes = (children_cpu_seconds() - cpu_before) / 60.0;
    let new: Vec<PathBuf> = list(&artifacts)?
        .into_iter()
        .filter(|p| p.is_file() && !before.contains(p))
        .collect();
    // Slow units and timeouts are measured in wall time: on a shared machine a niced run can
    // be held off the cores for most of a minute. Each is re-run alone; only one that is
    // still slow counts (the others move to `load/`, listed in the report).
    let mut crashes = Vec::new();
    let mut load = Vec::new();
    for artifact in new {
        let name = artifact
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.starts_with("slow-unit-") || name.starts_with("timeout-") {
            let seconds = rerun_seconds(root, target, &artifact)?;
            if seconds < RERUN_SECONDS {
                let dir = artifacts.join("load");
                std::fs::create_dir_all(&dir)?;
                let moved = dir.join(&name);
                std::fs::rename(&artifact, &moved)?;
                load.push((moved, seconds));
                continue;
            }
        }
        crashes.push(artifact);
    }
    if !status.success() && crashes.is_empty() && load.is_empty() {
        bail!(
            "the fuzz target {target} failed ({status}) without a crashing input; see {}",
            log.display()
        );
    }
    let field = |name: &str| -> u64 {
        last_status
            .split_whitespace()
            .skip_while(|w| *w != name)
            .nth(1)
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    let outcome = Outcome {
        target,
        minutes,
        executions,
        corpus_files: list(&dir)?.len(),
        cov: field("cov:"),
        ft: field("ft:"),
        crashes,
        load,
        cpu_minutes,
        log,
    };
    // The figures only this task knows (CPU time, files in the corpus folder, slow units
    // re-run alone) go at the end of the log too, so that the log alone records the run.
    writeln!(
        out,
        "kith-xtask-fuzz: date={} target={target} minutes={minutes} cpu_minutes={:.1} \
         executions={} corpus_files={} cov={} ft={} crashes={} slow_only_under_load={}",
        date(),
        outcome.cpu_minutes,
        outcome.executions,
        outcome.corpus_files,
        outcome.cov,
        outcome.ft,
        outcome.crashes.len(),
        outcome.load.len()
    )?;
    for (path, seconds) in &outcome.load {
        writeln!(
            out,
            "kith-xtask-fuzz: slow under load: {} took {seconds:.2} s alone",
            path.display()
        )?;
    }
    for c in &outcome.crashes {
        writeln!(out, "kith-xtask-fuzz: failure: {}", c.display())?;
    }
    Ok(outcome)
}

/// CPU seconds (user + system) of this process's children that have been waited for, from
/// /proc/self/stat (`cutime`, `cstime`, in 1/100 s): how much of the run the fuzzer really got
/// on a shared machine.
fn children_cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return f64::NAN;
    };
    let fields: Vec<f64> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .map(|f| f.parse().unwrap_or(0.0))
        .collect();
    (fields.get(13).copied().unwrap_or(0.0) + fields.get(14).copied().unwrap_or(0.0)) / 100.0
}

/// A slow unit that takes less than this alone was slow only because the machine was busy.
const RERUN_SECONDS: f64 = 5.0;

/// How long the target takes over `input` alone (libFuzzer runs a file given as argument
/// once).
fn rerun_seconds(root: &Path, target: &str, input: &Path) -> Result<f64> {
    let binary = fuzz_binary(root, target);
    let started = std::time::Instant::now();
    let out = Command::new(&binary)
        .arg(input)
        .output()
        .with_context(|| format!("re-running {}", binary.display()))?;
    let seconds = started.elapsed().as_secs_f64();
    Ok(if out.status.success() {
        seconds
    } else {
        f64::INFINITY
    })
}

/// Where cargo-fuzz put the target's binary.
fn fuzz_binary(root: &Path, target: &str) -> PathBuf {
    let base = match std::env::var("CARGO_TARGET_DIR") {
        Ok(dir) if !dir.is_empty() => PathBuf::from(format!("{dir}-fuzz")),
        _ => root.join("fuzz").join("target"),
    };
    base.join(host_triple()).join("release").join(target)
}

/// The host's target triple (cargo-fuzz builds for it), from `rustc -vV`.
fn host_triple() -> String {
    command_line(Command::new("rustc").arg("-vV"))
        .and_then(|v| {
            v.lines()
                .find_map(|l| l.strip_prefix("host: ").map(str::to_owned))
        })
        .unwrap_or_else(|| "x86_64-unknown-linux-gnu".into())
}

fn report(rows: &[Outcome]) {
    println!(
        "\n| date | target | minutes | CPU minutes | executions | corpus files | cov | ft | crashes | slow only under load |\n|---|---|---|---|---|---|---|---|---|---|"
    );
    for r in rows {
        println!(
            "| {} | `{}` | {} | {:.1} | {} | {} | {} | {} | {} | {} |",
            date(),
            r.target,
            r.minutes,
            r.cpu_minutes,
            r.executions,
            r.corpus_files,
            r.cov,
            r.ft,
            r.crashes.len(),
            r.load.len()
        );
    }
    for r in rows {
        for (path, seconds) in &r.load {
            println!(
                "slow under load in `{}`: {} took {seconds:.2} s alone",
                r.target,
                path.display()
            );
        }
    }
    for r in rows {
        for c in &r.crashes {
            println!(
                "crash in `{}`: {} (log {})",
                r.target,
                c.display(),
                r.log.display()
            );
        }
    }
}

fn list(dir: &Path) -> Result<Vec<PathBuf>> {
    // Files only: `load/` holds the slow units that were fast alone.
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .filter(|p| p.is_file())
        .collect();
    out.sort();
    Ok(out)
}

fn date() -> String {
    command_line(Command::new("date").arg("+%Y-%m-%d")).unwrap_or_else(|| "?".into())
}

fn timestamp() -> String {
    command_line(Command::new("date").arg("+%Y%m%d-%H%M%S")).unwrap_or_else(|| "now".into())
}

fn command_line(cmd: &mut Command) -> Option<String> {
    let out = cmd.output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

// ---- seeds ----

/// One file of a bundle: its path below the export's folder and its bytes.
type File = (String, Vec<u8>);

/// Writes every target's seed corpus: `DIR/<target>/seed-NNN` bundles of the fixtures, the
/// real samples (when the shared data folder is there) and, for git, the raw history of this
/// repository. Inputs the fuzzer found before stay.
fn seed_all(root: &Path, corpus: &Path) -> Result<()> {
    step(&format!("writing seed corpora into {}", corpus.display()));
    let fixtures = root.join("crates/kith-import/tests/fixtures");
    let shared = shared_data(root);
    if shared.is_none() {
        eprintln!("note: no shared data folder: seeds come from the fixtures alone");
    }
    let shared = |sub: &str| shared.as_ref().map(|s| s.join(sub)).filter(|p| p.exists());
    let mut seeds: BTreeMap<&str, Vec<Vec<u8>>> = BTreeMap::new();

    // Folder exports: bundles of the folder's files in path order.
    let mut folders: Vec<(&str, PathBuf, Chunker)> = vec![
        (
            "slack",
            fixtures.join("slack-export/Acme Slack export Jan 1 2024 - Jan 31 2024"),
            Chunker::Whole,
        ),
        ("discord", fixtures.join("discord"), Chunker::Whole),
        ("discourse", fixtures.join("discourse"), Chunker::Whole),
        (
            "stackexchange",
            fixtures.join("stackexchange"),
            Chunker::XmlRows,
        ),
        ("github", fixtures.join("github"), Chunker::Whole),
        (
            "telegram",
            fixtures.join("telegram/account"),
            Chunker::Whole,
        ),
        ("telegram", fixtures.join("telegram/single"), Chunker::Whole),
        ("mbox", fixtures.join("mbox"), Chunker::Mbox),
        (
            "jsonl",
            root.join("crates/kith-import/tests/golden"),
            Chunker::Lines,
        ),
        ("jsonl", root.join("docs/formats"), Chunker::Lines),
    ];
    for (target, sub, chunker) in [
        ("slack", "slack-export-houstondatavis", Chunker::Whole),
        ("slack", "api-fixtures-perceval/slack", Chunker::Whole),
        (
            "discourse",
            "api-fixtures-perceval/discourse",
            Chunker::Whole,
        ),
        (
            "stackexchange",
            "stackexchange-history-meta",
            Chunker::XmlRows,
        ),
        ("mbox", "mbox-r-package-devel", Chunker::Mbox),
        ("mbox", "api-fixtures-perceval/mbox", Chunker::Mbox),
        ("mbox", "api-fixtures-perceval/pipermail", Chunker::Mbox),
        ("github", "api-fixtures-perceval/github", Chunker::Whole),
        ("telegram", "api-fixtures-perceval/telegram", Chunker::Whole),
    ] {
        if let Some(dir) = shared(sub) {
            folders.push((target, dir, chunker));
        }
    }
    for (target, dir, chunker) in folders {
        let files = read_folder(&dir, chunker)?;
        let bundles = seeds.entry(target).or_default();
        // Each file alone (as `kith import FORMAT FILE` reads it), then the folder in bundles.
        for f in &files {
            bundles.push(bundle(std::slice::from_ref(f)));
        }
        bundles.extend(pack(&files));
    }

    // git: the raw history of this repository as `git rev-list --header` writes it, with a
    // `.mailmap`, in pieces at commit boundaries.
    if let Some(log) = command_bytes(Command::new("git").arg("-C").arg(root).args([
        "rev-list",
        "--all",
        "--header",
        "--max-count=2000",
    ])) {
        let mailmap: File = (
            ".mailmap".into(),
            b"Jane Doe <jane@example.org> <jane@old.example.org>\n<bot@example.org> Old Bot <ci@example.org>\n# comment\nJohn <john@example.org> John Smith <JOHN@example.ORG>\n".to_vec(),
        );
        let bundles = seeds.entry("git").or_default();
        // What a project's own history may lack: a merge, a signature, credit trailers with a
        // continuation line, an unreadable date, a commit without a message.
        let sha = "0123456789abcdef0123456789abcdef01234567";
        let crafted = format!(
            "{sha}\ntree {sha}\nparent {sha}\nparent {sha}\nauthor jane <jane@old.example.org> 1709287200 +0100\ncommitter Bob <bob@example.org> 1709290800 -0500\ngpgsig -----BEGIN PGP SIGNATURE-----\n \n abc\n -----END PGP SIGNATURE-----\n\n    Merge the parser\n    \n    Body.\n    \n    Co-authored-by: Carol\n     Jones <carol@example.org>\n    Reviewed-by: bob@example.org\n    Signed-off-by: Jane <jane@example.org>\n\0{sha}\ntree {sha}\nauthor A <a@x> someday +0000\ncommitter A <a@x> 1 +0000\n\n    Undated\n\0{sha}\ntree {sha}\nauthor dependabot[bot] <49699333+dependabot[bot]@users.noreply.github.com> 1 +0000\n\0"
        )
        .into_bytes();
        bundles.push(bundle(&[("log".into(), crafted.clone()), mailmap.clone()]));
        bundles.push(bundle(&[("log".into(), crafted)]));
        for piece in split_keeping(&log, b"\0", SEED_BYTES) {
            bundles.push(bundle(&[("log".into(), piece.clone()), mailmap.clone()]));
            bundles.push(bundle(&[("log".into(), piece)]));
        }
    } else {
        eprintln!("note: `git rev-list` gave nothing: the git target starts from an empty corpus");
    }

    for (target, bundles) in seeds {
        let dir = corpus.join(target);
        std::fs::create_dir_all(&dir)?;
        let mut kept = 0;
        for (i, b) in bundles.iter().enumerate() {
            if b.len() <= MAX_LEN {
                std::fs::write(dir.join(format!("seed-{i:04}")), b)?;
                kept += 1;
            }
        }
        eprintln!("{target}: {kept} seeds");
    }
    Ok(())
}

/// How a file too big for one seed is cut.
#[derive(Clone, Copy)]
enum Chunker {
    /// Kept whole (up to [`MAX_LEN`]; bigger files are left out).
    Whole,
    /// At lines (JSONL).
    Lines,
    /// At the `From ` envelope lines that start messages.
    Mbox,
    /// A data dump's one-row-per-line XML: each piece keeps the lines before the first
    /// `<row` and the closing tag.
    XmlRows,
}

/// The folder's files (recursively, in path order), each cut by `chunker` into pieces of at
/// most [`SEED_BYTES`] (a piece is a file of the same name).
fn read_folder(dir: &Path, chunker: Chunker) -> Result<Vec<File>> {
    let mut files = Vec::new();
    walk(dir, "", &mut files)?;
    let mut out = Vec::new();
    for (name, bytes) in files {
        let base = name.rsplit('/').next().unwrap_or(&name);
        if base.starts_with('.') || base.ends_with(".md") || base == "LICENSE" {
            continue;
        }
        if bytes.len() <= SEED_BYTES {
            out.push((name, bytes));
            continue;
        }
        let pieces = match chunker {
            Chunker::Whole if bytes.len() <= MAX_LEN => vec![bytes],
            Chunker::Whole => Vec::new(),
            Chunker::Lines => split_keeping(&bytes, b"\n", SEED_BYTES),
            Chunker::Mbox => split_before(&bytes, b"\nFrom ", SEED_BYTES),
            Chunker::XmlRows => xml_rows(&bytes),
        };
        out.extend(pieces.into_iter().map(|p| (name.clone(), p)));
    }
    Ok(out)
}

fn walk(dir: &Path, prefix: &str, out: &mut Vec<File>) -> Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name().to_string_lossy().into_owned();
        let rel = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        if e.file_type()?.is_dir() {
            walk(&e.path(), &rel, out)?;
        } else {
            out.push((rel, std::fs::read(e.path())?));
        }
    }
    Ok(())
}

/// Pieces of `bytes` ending just after a `sep`, each as close to `max` as the separators allow.
fn split_keeping(bytes: &[u8], sep: &[u8], max: usize) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut last_cut = 0;
    let mut i = 0;
    while i + sep.len() <= bytes.len() {
        if &bytes[i..i + sep.len()] == sep {
            let end = i + sep.len();
            if end - start > max && last_cut > start {
                out.push(bytes[start..last_cut].to_vec());
                start = last_cut;
            }
            last_cut = end;
            i = end;
        } else {
            i += 1;
        }
    }
    if start < bytes.len() {
        let tail = &bytes[start..];
        if tail.len() > max && last_cut > start {
            out.push(bytes[start..last_cut].to_vec());
            out.push(bytes[last_cut..].to_vec());
        } else {
            out.push(tail.to_vec());
        }
    }
    out.retain(|p| !p.is_empty() && p.len() <= MAX_LEN);
    out
}

/// Pieces of `bytes` cut before each `\nFrom ` (the newline stays with the piece before).
fn split_before(bytes: &[u8], marker: &[u8], max: usize) -> Vec<Vec<u8>> {
    // Cutting after the newline of `\nFrom ` is cutting after a `\n` that precedes `From `.
    let mut cuts = vec![0];
    for i in 0..bytes.len().saturating_sub(marker.len()) {
        if &bytes[i..i + marker.len()] == marker {
            cuts.push(i + 1);
        }
    }
    cuts.push(bytes.len());
    let mut out = Vec::new();
    let mut start = 0;
    for w in cuts.windows(2) {
        if w[1] - start > max && w[0] > start {
            out.push(bytes[start..w[0]].to_vec());
            start = w[0];
        }
    }
    if start < bytes.len() {
        out.push(bytes[start..].to_vec());
    }
    out.retain(|p| !p.is_empty() && p.len() <= MAX_LEN);
    out
}

/// A dump file cut into pieces that each stay a whole document: the head (lines before the
/// first `<row`), some rows, the closing tag.
fn xml_rows(bytes: &[u8]) -> Vec<Vec<u8>> {
    let lines: Vec<&[u8]> = bytes.split_inclusive(|&b| b == b'\n').collect();
    let is_row = |l: &[u8]| l.trim_ascii_start().starts_with(b"<row");
    let Some(first) = lines.iter().position(|l| is_row(l)) else {
        return Vec::new();
    };
    let tail_count = lines.iter().rev().take_while(|l| !is_row(l)).count();
    let head: Vec<u8> = lines[..first].concat();
    let tail: Vec<u8> = lines[lines.len() - tail_count..].concat();
    let mut out = Vec::new();
    let mut piece = head.clone();
    for l in &lines[first..lines.len() - tail_count] {
        if piece.len() + l.len() + tail.len() > SEED_BYTES && piece.len() > head.len() {
            piece.extend_from_slice(&tail);
            out.push(std::mem::replace(&mut piece, head.clone()));
        }
        piece.extend_from_slice(l);
    }
    if piece.len() > head.len() {
        piece.extend_from_slice(&tail);
        out.push(piece);
    }
    out
}

/// Files packed into bundles of up to [`SEED_BYTES`], in order.
fn pack(files: &[File]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut current: Vec<File> = Vec::new();
    let mut size = 0;
    for f in files {
        if size + f.1.len() > SEED_BYTES && !current.is_empty() {
            // A lone file is already a seed of its own.
            if current.len() > 1 {
                out.push(bundle(&current));
            }
            current.clear();
            size = 0;
        }
        size += f.0.len() + 1 + f.1.len() + SEPARATOR.len();
        current.push(f.clone());
    }
    if current.len() > 1 {
        out.push(bundle(&current));
    }
    out
}

fn bundle(files: &[File]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, (name, bytes)) in files.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(SEPARATOR);
        }
        out.extend_from_slice(name.as_bytes());
        out.push(b'\n');
        out.extend_from_slice(bytes);
    }
    out
}

fn command_bytes(cmd: &mut Command) -> Option<Vec<u8>> {
    let out = cmd.stderr(Stdio::null()).output().ok()?;
    (out.status.success() && !out.stdout.is_empty()).then_some(out.stdout)
}
