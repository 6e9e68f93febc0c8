//! One function per command. Each parses nothing (clap did), calls the library crates, and
//! prints through [`Output`].

mod data;
mod demo;
mod export;
mod import;
mod members;
mod report;
mod score;
mod serve;
mod users;

use crate::cli::{Cli, Command};
use crate::config::{Env, Settings};
use crate::db::Location;
use crate::failure::Failure;
use crate::output::Output;

pub use serve::serve_store;

/// What every command gets.
pub struct Context {
    pub settings: Settings,
    pub out: Output,
}

impl Context {
    /// The configured database location.
    pub fn location(&self) -> Result<Location, Failure> {
        Location::parse(&self.settings.database())
    }

    /// Opens the configured database (creating and migrating it as needed).
    pub fn open(&self) -> Result<Box<dyn kith_store::Store>, Failure> {
        self.location()?.open()
    }
}

pub fn run(cli: Cli) -> Result<(), Failure> {
    let settings = Settings::load(
        cli.global.config.as_deref(),
        cli.global.database.clone(),
        Env::from_process(),
    )?;
    let cx = Context {
        settings,
        out: Output {
            json: cli.global.json,
            quiet: cli.global.quiet,
        },
    };
    match cli.command {
        Command::Init(args) => data::init(&cx, &args),
        Command::Demo(args) => demo::demo(&cx, &args),
        Command::Import(args) => import::import(&cx, &args),
        Command::Sources(args) => data::sources(&cx, &args),
        Command::Report(args) => report::report(&cx, &args),
        Command::Members(args) => members::members(&cx, &args),
        Command::Export(args) => export::export(&cx, &args),
        Command::Backup(args) => data::backup(&cx, &args),
        Command::Restore(args) => data::restore(&cx, &args),
        Command::Serve(args) => serve::serve(&cx, &args),
        Command::Rescore(args) => score::rescore(&cx, &args),
        Command::Users(args) => users::users(&cx, &args),
    }
}

/// Brings the read packs up to date after a write (`Store::pack_for_reads`): the next
/// process builds its snapshot from them. Notes what was packed, if anything. The packs are a
/// cache, so a failure is a note, not a failed command: what was written stays written, and
/// the next import, scoring pass or `kith serve` packs again.
fn pack(cx: &Context, store: &dyn kith_store::Store) {
    let started = std::time::Instant::now();
    let packed = store.pack_for_reads();
    note_packed(cx, packed.map(|p| (p, started.elapsed())));
}

/// Notes what a packing did, if anything, or why it failed.
fn note_packed(
    cx: &Context,
    packed: Result<(kith_store::PackStats, std::time::Duration), kith_store::StoreError>,
) {
    match packed {
        Ok((p, took)) if p.blocks > 0 => cx.out.note(&format!(
            "{} in {:.1} s",
            pack_summary(&p),
            took.as_secs_f64()
        )),
        Ok(_) => {}
        Err(e) => cx.out.note(&format!(
            "packing for fast starts failed ({e}); nothing written is lost, and kith packs \
             again after the next import or scoring pass, or while `kith serve` runs"
        )),
    }
}

/// "packed 8191 rows for fast starts (4 blocks, 0.1 MiB)": activities and text scores.
fn pack_summary(p: &kith_store::PackStats) -> String {
    format!(
        "packed {} rows for fast starts ({} blocks, {:.1} MiB)",
        p.rows,
        p.blocks,
        p.bytes as f64 / (1024.0 * 1024.0)
    )
}
