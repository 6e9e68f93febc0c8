//! `cargo xtask test`: the project's test command (the README shows it, CI runs it).
//!
//! Starts a throwaway PostgreSQL cluster, points the tests at it (`KITH_TEST_POSTGRES_URL`) and
//! at the shared data folder (`KITH_SHARED_DATA`), runs every test target and the doctests of
//! the workspace, prints one summary line and exits with the tests' status. The cluster is
//! stopped and removed afterwards, also when tests fail or on Ctrl-C.
//!
//! `cargo xtask test <cargo test args>` runs `cargo test <args>` instead, with the same
//! environment (e.g. `cargo xtask test -p kith-store-postgres`).

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, ExitCode, Stdio};

use anyhow::{Context, Result, bail};

use crate::postgres::Cluster;
use crate::{repo_root, signals, step};

pub fn run(args: &[String]) -> Result<ExitCode> {
    signals::catch_interrupts();
    let root = repo_root()?;
    let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");

    let shared = root.join("..").join("shared").join("data");
    let shared = if shared.is_dir() {
        Some(
            shared
                .canonicalize()
                .with_context(|| format!("cannot resolve {}", shared.display()))?,
        )
    } else if ci {
        bail!(
            "the shared data folder {} is missing; CI needs it for the tests over real exports (check out the `shared` folder beside the repository)",
            shared.display()
        );
    } else {
        eprintln!(
            "note: {} is missing: tests over shared data are skipped",
            shared.display()
        );
        None
    };

    // The browser tests (crates/kith-web/tests/browser.rs) drive Debian's Chromium through
    // chromedriver: installed here when missing, like PostgreSQL. Under CI a missing browser
    // fails those tests; elsewhere they skip with a printed reason.
    if let Err(e) = ensure_chromium() {
        if ci {
            return Err(e);
        }
        eprintln!("note: {e:#}; the browser tests will be skipped");
    }

    step("starting a throwaway PostgreSQL cluster");
    let cluster = Cluster::start()?;
    eprintln!("KITH_TEST_POSTGRES_URL={}", cluster.url);

    let env = |cmd: &mut Command| {
        cmd.current_dir(&root)
            .env("KITH_TEST_POSTGRES_URL", &cluster.url);
        match &shared {
            Some(dir) => cmd.env("KITH_SHARED_DATA", dir),
            None => cmd.env_remove("KITH_SHARED_DATA"),
        };
    };

    let mut runs: Vec<Vec<String>> = Vec::new();
    if args.is_empty() {
        // --no-fail-fast: one failing test binary must not hide the results of the others.
        // Unit and integration tests only: benchmarks (`cargo bench`, `cargo xtask bench`) are
        // not tests and would run for minutes in a debug build; clippy still builds them.
        runs.push(
            [
                "--workspace",
                "--lib",
                "--bins",
                "--tests",
                "--no-fail-fast",
            ]
            .map(String::from)
            .to_vec(),
        );
        runs.push(
            ["--workspace", "--doc", "--no-fail-fast"]
                .map(String::from)
                .to_vec(),
        );
    } else {
        runs.push(args.to_vec());
    }

    let mut totals = Totals::default();
    let mut ok = true;
    for run in &runs {
        if signals::interrupted() {
            break;
        }
        step(&format!("cargo test {}", run.join(" ")));
        let mut cmd = Command::new(cargo());
        cmd.arg("test").args(run);
        env(&mut cmd);
        ok &= run_counting(&mut cmd, &mut totals)?;
    }
    drop(cluster);

    step("summary");
    let verdict = if signals::interrupted() {
        "INTERRUPTED"
    } else if ok {
        "ok"
    } else {
        "FAILED"
    };
    println!(
        "test summary: {verdict}. {} passed; {} failed; {} ignored; {} test binaries",
        totals.passed, totals.failed, totals.ignored, totals.binaries
    );
    // The plain closing line CI reads.
    println!(
        "{} passed, {} failed, {} skipped",
        totals.passed, totals.failed, totals.ignored
    );
    Ok(if ok && !signals::interrupted() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

#[derive(Default)]
struct Totals {
    passed: u64,
    failed: u64,
    ignored: u64,
    binaries: u64,
}

impl Totals {
    /// Adds a libtest line `test result: ok. 3 passed; 0 failed; 1 ignored; ...`.
    fn add(&mut self, line: &str) {
        let Some(rest) = line.strip_prefix("test result: ") else {
            return;
        };
        self.binaries += 1;
        for part in rest.split(';') {
            let words: Vec<&str> = part.split_whitespace().collect();
            let (count, what) = match words.as_slice() {
                [.., n, what] => (n.parse::<u64>().unwrap_or(0), *what),
                _ => continue,
            };
            match what {
                "passed" => self.passed += count,
                "failed" => self.failed += count,
                "ignored" => self.ignored += count,
                _ => {}
            }
        }
    }
}

/// Where the browser tests look for the browser and its driver.
const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// Installs Debian's `chromium` and `chromium-driver` with apt-get when either is missing
/// (idempotent: nothing happens when both are there).
fn ensure_chromium() -> Result<()> {
    let present = |p: &str| std::path::Path::new(p).exists();
    if present(CHROMIUM) && present(CHROMEDRIVER) {
        return Ok(());
    }
    step("Chromium or chromedriver not found: installing `chromium` and `chromium-driver`");
    if !crate::postgres::is_root() {
        bail!(
            "Chromium is not installed and xtask is not root: run `sudo apt-get install -y chromium chromium-driver`"
        );
    }
    let apt = |args: &[&str]| -> Result<()> {
        let status = Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .context("cannot run apt-get")?;
        if !status.success() {
            bail!("apt-get {} failed ({status})", args.join(" "));
        }
        Ok(())
    };
    apt(&["update"])?;
    apt(&[
        "install",
        "-y",
        "--no-install-recommends",
        "chromium",
        "chromium-driver",
    ])?;
    if !(present(CHROMIUM) && present(CHROMEDRIVER)) {
        bail!("the chromium packages are installed but {CHROMIUM} or {CHROMEDRIVER} is missing");
    }
    Ok(())
}

/// Runs `cargo test`, passing its output through while counting results.
fn run_counting(cmd: &mut Command, totals: &mut Totals) -> Result<bool> {
    let shown = format!("{cmd:?}");
    let mut child = cmd
        .stdout(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot run {shown}"))?;
    let stdout = child
        .stdout
        .take()
        .context("cargo test's output is not captured")?;
    let mut out = std::io::stdout().lock();
    for line in BufReader::new(stdout).lines() {
        let line = line.context("reading cargo test's output")?;
        totals.add(line.trim());
        // A closed stdout (`| head`) must not stop the run before the cluster is cleaned up.
        let _ = writeln!(out, "{line}");
    }
    let status = child
        .wait()
        .with_context(|| format!("waiting for {shown}"))?;
    Ok(status.success())
}

/// The cargo that runs xtask (so `cargo +toolchain xtask test` stays on that toolchain).
pub fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}
