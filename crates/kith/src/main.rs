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

/// mimalloc's `mi_option_purge_delay`: its place in the `mi_option_e` enum of `mimalloc.h`
/// (the same in the v2 and v3 sources libmimalloc-sys builds; the crate names no constant
/// for it).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// How long mimalloc keeps memory it has freed before handing it back to the OS, in
/// milliseconds (mimalloc's own default is 1 s).
const PURGE_DELAY_MS: std::ffi::c_long = 3_000;

/// Keeps freed memory for the process's next allocations a little longer than mimalloc would.
/// A scorecard computation allocates and frees hundreds of MiB; memory handed back comes back
/// as fresh pages the kernel zeroes again. Measured at 10 M activities (docs/benchmarks.md,
/// scorecard section, "2026-12-06, cold build 2"): warm 1.013 s with the 1 s default, 0.948 s
/// with 3 s, 0.929 s never handing memory back; but never handing it back raised the refresh
/// process's peak to 1,517 MiB (bar 1.5 GiB), 3 s to 1,449 MiB, the default 1,293 MiB.
fn keep_freed_memory() {
    // SAFETY: `mi_option_set` takes two integers and stores the value in mimalloc's option
    // table: no pointer crosses, and any non-negative delay is valid for this option. It runs
    // first thing in `main`, before any thread is started, so no other thread reads or writes
    // mimalloc's options meanwhile.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, PURGE_DELAY_MS) };
}

/// Hands the memory the process has freed back to the OS now instead of after the purge
/// delay: between two phases that each allocate a lot and would otherwise add up (an import's
/// ingest session, and the identity resolution that reads every identity after it), and after
/// `kith serve` built its snapshot (an idle server may not reach the next purge for long).
pub(crate) fn hand_back_freed_memory() {
    // SAFETY: `mi_collect` takes a bool and walks mimalloc's own heaps; no pointer crosses,
    // and mimalloc makes it safe to call from any thread while others allocate.
    unsafe { libmimalloc_sys::mi_collect(true) };
}

fn main() -> ExitCode {
    keep_freed_memory();
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
