//! kith's importers: each reads one platform's export format into canonical
//! [`kith_model::Activity`] records; the runner writes them through a store's ingest session
//! and keeps the import audit (SPEC §3).
//!
//! Architecture invariants:
//! - A format module only parses: it never writes SQL or touches the store. It hands records
//!   and skipped-record problems to a [`RecordSink`].
//! - Parsing runs on its own thread, writing on the caller's; memory stays flat in the size of
//!   the input (records travel in bounded batches).
//! - One import is one store transaction: a malformed file rolls back everything and the error
//!   names the file and the line.

pub mod conversation;
pub mod discord;
pub mod discourse;
pub mod git;
pub mod github;
mod input;
mod json_stream;
pub mod jsonl;
pub mod mbox;
mod runner;
pub mod slack;
pub mod stackexchange;
pub mod telegram;

use std::path::{Path, PathBuf};

pub use input::{InputFile, expand};
use kith_model::Activity;
use kith_store::{Problem, StoreError};
pub use runner::{ImportOptions, Progress, import, ingest_records};

/// One export format.
pub trait Format: Sync {
    /// The name used on the command line (`kith import <name>`).
    fn name(&self) -> &'static str;
    /// One line for `--help` and docs.
    fn summary(&self) -> &'static str;
    /// Whether a file inside a folder or archive given as input belongs to this format, by its
    /// path relative to that folder (`/`-separated).
    fn accepts(&self, relative: &str) -> bool;
    /// The files to read for the paths the user gave. The default expands folders and archives
    /// into the files [`Format::accepts`]; formats that read something else (a Git repository)
    /// override it.
    fn inputs(&self, paths: &[PathBuf]) -> Result<Vec<InputFile>, ImportError> {
        expand(paths, &|relative| self.accepts(relative))
    }
    /// Reads every input in order, handing records to `sink`. Returns an error for a malformed
    /// file (the import is then rolled back); bad records inside a well-formed file are
    /// reported to `sink.skip` instead.
    fn read(
        &self,
        inputs: &[InputFile],
        ctx: &ReadContext,
        sink: &mut dyn RecordSink,
    ) -> Result<(), ImportError>;
}

/// What a format is told about the import it serves.
#[derive(Debug, Clone, Default)]
pub struct ReadContext {
    /// `--source NAME`: the source name to use instead of the derived one.
    pub source: Option<String>,
    /// `--base-url URL`: the platform's address, for building links back to it where the
    /// export has none.
    pub base_url: Option<String>,
    /// Bytes read from disk so far, for progress ([`InputFile::open`] counts into it).
    pub bytes_read: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

/// Where a format puts what it reads.
pub trait RecordSink {
    fn activity(&mut self, activity: Activity);
    fn skip(&mut self, problem: Problem);
    /// Threads the format reconstructed (conversation window), by source and thread id.
    fn inferred_threads(&mut self, source: &str, threads: Vec<String>);
}

/// Every format this build knows, by name.
pub fn formats() -> &'static [&'static dyn Format] {
    &[
        &jsonl::Jsonl,
        &slack::SlackExport,
        &discord::Discord,
        &telegram::Telegram,
        &stackexchange::StackExchange,
        &mbox::Mbox,
        &git::Git,
        &discourse::Discourse,
        &github::GitHub,
    ]
}

pub fn format_by_name(name: &str) -> Option<&'static dyn Format> {
    formats().iter().copied().find(|f| f.name() == name)
}

/// Writes canonical activities in a platform's export format: what `kith demo --write-export`
/// uses to produce large realistic exports for import benchmarks and tests.
pub trait ExportWriter: Sync {
    /// The format name, the same as the [`Format`] that reads it back.
    fn name(&self) -> &'static str;
    /// Writes `activities` (in time order) into `dir` (created if missing) and returns the path
    /// to give `kith import`. Memory must not grow with the number of activities beyond what
    /// the format itself forces (e.g. a user list).
    fn write(
        &self,
        activities: &mut dyn Iterator<Item = Activity>,
        dir: &Path,
    ) -> Result<PathBuf, ImportError>;
}

/// Every export writer this build has.
pub fn writers() -> &'static [&'static dyn ExportWriter] {
    &[
        &jsonl::Jsonl,
        &slack::SlackExport,
        &discord::Discord,
        &telegram::Telegram,
        &stackexchange::StackExchange,
        &mbox::MboxWriter,
        &git::GitWriter,
        &discourse::Discourse,
        &github::GitHub,
    ]
}

pub fn writer_by_name(name: &str) -> Option<&'static dyn ExportWriter> {
    writers().iter().copied().find(|w| w.name() == name)
}

/// Why an import stopped. Nothing is stored when it does.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The command was used wrongly (unknown format, bad source name, empty folder): exit 2.
    #[error("{0}")]
    Usage(String),
    /// A file could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A file is not valid in its format (exit code 3): where, and what was expected.
    #[error("{file}{}: {message}; nothing was imported", position(*line, *column))]
    Malformed {
        file: String,
        line: u64,
        column: usize,
        message: String,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn position(line: u64, column: usize) -> String {
    match (line, column) {
        (0, _) => String::new(),
        (l, 0) => format!(", line {l}"),
        (l, c) => format!(", line {l}, column {c}"),
    }
}

impl ImportError {
    pub fn io(path: &Path, source: std::io::Error) -> ImportError {
        ImportError::Io {
            path: path.to_owned(),
            source,
        }
    }
}
