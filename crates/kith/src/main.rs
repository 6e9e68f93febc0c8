//! The `kith` program: parses the command line, runs the command, maps failures to the exit
//! codes of SPEC §7. Everything else lives in the library crates.

mod cli;
mod commands;
mod config;
mod db;
mod failure;
mod output;

use std::process::ExitCode;

use clap::Parser;

/// Imports move millions of small records (strings) from the parsing thread to the writing
/// thread; mimalloc frees them across threads far faster than the system allocator (measured
/// with `cargo xtask bench ingest`, see docs/benchmarks.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    init_logging(cli.global.verbose);
    match commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("kith: error: {}", failure.message());
            failure.exit_code()
        }
    }
}

fn init_logging(verbose: u8) {
    use tracing_subscriber::EnvFilter;
    let default = match verbose {
        0 => "kith=warn",
        1 => "kith=info,kith_web=info",
        _ => "debug",
    };
    let filter = EnvFilter::try_from_env("KITH_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
