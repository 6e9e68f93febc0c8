//! kith's project tasks, written in Rust so that one command does what a newcomer needs:
//!
//! ```text
//! cargo xtask test    # throwaway PostgreSQL cluster + the whole workspace's tests (what CI runs)
//! cargo xtask lint    # rustfmt --check and clippy -D warnings over the workspace
//! cargo xtask pg      # a throwaway PostgreSQL cluster for development, until Ctrl-C
//! cargo xtask fuzz    # the parsers' fuzz targets, seeded from fixtures and real samples
//! ```
//!
//! Architecture invariants: no dependencies beyond `std` and `anyhow` (xtask must build fast on
//! a fresh machine), and a task is one module with a `run(args)` entry registered in [`TASKS`].

mod bench;
mod fuzz;
mod lint;
mod postgres;
mod signals;
mod test;

use std::path::PathBuf;
use std::process::{Command, ExitCode};

use anyhow::{Context, Result, bail};

/// One task: its name, a one-line summary for `cargo xtask help`, and its entry point. The entry
/// returns the exit code to end with (a test run that failed is not an xtask error).
struct Task {
    name: &'static str,
    summary: &'static str,
    run: fn(&[String]) -> Result<ExitCode>,
}

const TASKS: &[Task] = &[
    Task {
        name: "test",
        summary: "start a throwaway PostgreSQL cluster and run every test of the workspace (CI runs this)",
        run: test::run,
    },
    Task {
        name: "bench",
        summary: "benchmarks: `bench ingest [--activities N]` (canonical JSONL), `bench import [--formats F,...]` (every export format), `bench scorecard [--activities N]` (the scorecard bars and DuckDB), end to end (release builds)",
        run: bench::run,
    },
    Task {
        name: "fuzz",
        summary: "fuzz the parsers: `fuzz [TARGET|all|list|seed] [--minutes N] [--corpus DIR]` (cargo-fuzz, corpora outside the repo)",
        run: fuzz::run,
    },
    Task {
        name: "lint",
        summary: "cargo fmt --check and cargo clippy -D warnings over the workspace",
        run: lint::run,
    },
    Task {
        name: "pg",
        summary: "start a throwaway PostgreSQL cluster for development and print its URL (until Ctrl-C)",
        run: postgres::run_dev,
    },
];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(name) = args.first() else {
        usage();
        return ExitCode::from(2);
    };
    if matches!(name.as_str(), "help" | "-h" | "--help") {
        usage();
        return ExitCode::SUCCESS;
    }
    let Some(task) = TASKS.iter().find(|t| t.name == name) else {
        eprintln!("xtask: unknown task `{name}`\n");
        usage();
        return ExitCode::from(2);
    };
    match (task.run)(&args[1..]) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("xtask {name}: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn usage() {
    eprintln!("usage: cargo xtask <task> [args]\n\ntasks:");
    for t in TASKS {
        eprintln!("  {:<8} {}", t.name, t.summary);
    }
}

/// The workspace root (xtask lives one level below it).
pub fn repo_root() -> Result<PathBuf> {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .map(PathBuf::from)
        .context("xtask's manifest directory has no parent")
}

/// Prints a step header, the way every task announces what it is about to do.
pub fn step(what: &str) {
    eprintln!("\n==> {what}");
}

/// Runs a command to completion, inheriting stdio; errors if it cannot start. Returns whether it
/// succeeded.
pub fn run_status(cmd: &mut Command) -> Result<bool> {
    let shown = format!("{cmd:?}");
    let status = cmd
        .status()
        .with_context(|| format!("cannot run {shown}"))?;
    Ok(status.success())
}

/// Runs a command that must succeed.
pub fn run_checked(cmd: &mut Command) -> Result<()> {
    let shown = format!("{cmd:?}");
    if !run_status(cmd)? {
        bail!("{shown} failed");
    }
    Ok(())
}
