//! `cargo xtask lint`: formatting and clippy over the whole workspace, as CI would want them.

use std::process::{Command, ExitCode};

use anyhow::Result;

use crate::test::cargo;
use crate::{repo_root, run_status, step};

pub fn run(_args: &[String]) -> Result<ExitCode> {
    let root = repo_root()?;
    step("cargo fmt --all -- --check");
    let fmt = run_status(
        Command::new(cargo())
            .current_dir(&root)
            .args(["fmt", "--all", "--", "--check"]),
    )?;
    step("cargo clippy --workspace --all-targets -- -D warnings");
    let clippy = run_status(Command::new(cargo()).current_dir(&root).args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    let ok = fmt && clippy;
    println!("lint: {}", if ok { "ok" } else { "FAILED" });
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
