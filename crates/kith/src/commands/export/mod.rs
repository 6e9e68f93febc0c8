//! `kith export`: every stored activity, member or thread out again (SPEC §7: nothing is
//! locked in). JSONL writes activities in kith's canonical format (docs/formats/jsonl.md); CSV
//! and Parquet write the tables of [`table`], column for column the same
//! (docs/formats/export.md).

mod csv;
mod parquet_table;
mod table;

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::path::Path;

use kith_import::Progress;
use kith_store::{Change, Store, StoreError};

use super::Context;
use crate::cli::{ExportArgs, ExportFormat, ExportWhat};
use crate::failure::Failure;
use table::{ActivityJson, Column, TableWriter};

/// Why writing an export failed.
#[derive(Debug)]
pub enum WriteError {
    Io(std::io::Error),
    Parquet(parquet::errors::ParquetError),
    /// A JSON column could not be rendered.
    Json(serde_json::Error),
    /// A row did not fit its table: a bug in kith, not in the data.
    Table(String),
}

impl From<std::io::Error> for WriteError {
    fn from(e: std::io::Error) -> WriteError {
        WriteError::Io(e)
    }
}

impl From<parquet::errors::ParquetError> for WriteError {
    fn from(e: parquet::errors::ParquetError) -> WriteError {
        WriteError::Parquet(e)
    }
}

impl From<serde_json::Error> for WriteError {
    fn from(e: serde_json::Error) -> WriteError {
        WriteError::Json(e)
    }
}

impl std::fmt::Display for WriteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WriteError::Io(e) => write!(f, "{e}"),
            WriteError::Parquet(e) => write!(f, "{e}"),
            WriteError::Json(e) => write!(f, "cannot render a JSON column: {e}"),
            WriteError::Table(m) => write!(f, "{m}"),
        }
    }
}

impl WriteError {
    /// The reader of standard output went away (`kith export | head`).
    fn is_broken_pipe(&self) -> bool {
        let io = match self {
            WriteError::Io(e) => Some(e),
            WriteError::Parquet(parquet::errors::ParquetError::External(e)) => {
                e.downcast_ref::<std::io::Error>()
            }
            _ => None,
        };
        io.is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    }
}

/// Where the export goes.
enum Destination<'a> {
    File(&'a Path),
    Stdout,
}

impl Destination<'_> {
    fn name(&self) -> String {
        match self {
            Destination::File(p) => p.display().to_string(),
            Destination::Stdout => "standard output".into(),
        }
    }
}

/// Parquet is binary: on a terminal it would only garble the screen, so it needs a file or a
/// redirected standard output.
fn check_destination(
    format: ExportFormat,
    output: Option<&Path>,
    stdout_is_terminal: bool,
) -> Result<(), Failure> {
    if format == ExportFormat::Parquet && output.is_none() && stdout_is_terminal {
        return Err(Failure::Usage(
            "Parquet is a binary format and standard output is a terminal: give --output FILE \
             (e.g. kith export --format parquet --output activities.parquet) or redirect the \
             output to a file or a pipe"
                .into(),
        ));
    }
    Ok(())
}

pub fn export(cx: &Context, args: &ExportArgs) -> Result<(), Failure> {
    check_destination(
        args.format,
        args.output.as_deref(),
        std::io::stdout().is_terminal(),
    )?;
    let store = cx.open()?;
    let destination = match &args.output {
        Some(path) => Destination::File(path),
        None => Destination::Stdout,
    };
    let out: Box<dyn Write + Send> = match destination {
        Destination::File(path) => Box::new(
            File::create(path)
                .map_err(|e| Failure::Usage(format!("cannot write {}: {e}", path.display())))?,
        ),
        Destination::Stdout => Box::new(std::io::stdout()),
    };
    match write_export(cx, store.as_ref(), args, out) {
        Ok(n) => {
            if let Destination::File(path) = destination {
                cx.out
                    .note(&format!("exported {n} records to {}", path.display()));
            }
            Ok(())
        }
        Err(Stop::Write(e)) if e.is_broken_pipe() => Ok(()),
        Err(stop) => {
            // A half-written file is of no use (a Parquet file without its footer cannot even
            // be opened): remove it rather than leave it looking like an export.
            if let Destination::File(path) = destination {
                let _ = std::fs::remove_file(path);
            }
            Err(match stop {
                Stop::Write(e) => Failure::Other(anyhow::anyhow!(
                    "cannot write the export to {}: {e}",
                    destination.name()
                )),
                Stop::Store(e) => e.into(),
            })
        }
    }
}

/// Why an export stopped.
enum Stop {
    Write(WriteError),
    Store(StoreError),
}

impl From<WriteError> for Stop {
    fn from(e: WriteError) -> Stop {
        Stop::Write(e)
    }
}

impl From<StoreError> for Stop {
    fn from(e: StoreError) -> Stop {
        Stop::Store(e)
    }
}

/// A table writer of the chosen format for these columns.
fn table_writer(
    format: ExportFormat,
    out: Box<dyn Write + Send>,
    name: &str,
    columns: &[Column],
) -> Result<Box<dyn TableWriter>, WriteError> {
    Ok(match format {
        ExportFormat::Csv => Box::new(csv::CsvTable::new(BufWriter::new(out), columns)?),
        // The Parquet writer buffers its output itself.
        ExportFormat::Parquet => Box::new(parquet_table::ParquetTable::new(out, name, columns)?),
        ExportFormat::Jsonl => {
            return Err(WriteError::Table(format!("{name} as JSONL is not a table")));
        }
    })
}

/// Writes the export; returns the number of records written.
fn write_export(
    cx: &Context,
    store: &dyn Store,
    args: &ExportArgs,
    out: Box<dyn Write + Send>,
) -> Result<u64, Stop> {
    let mut n = 0u64;
    // A store's sink can only fail with a store error: a write error is kept in `failed` and
    // the read stopped by `stop_on`.
    let mut failed: Option<WriteError> = None;
    match args.what {
        ExportWhat::Activities => {
            let bar = cx.out.progress("exporting");
            bar.start(store.counts()?.activities, false);
            let result = if args.format == ExportFormat::Jsonl {
                let mut out = BufWriter::new(out);
                let r = store.export_activities(&mut |e| {
                    n += 1;
                    if n.is_multiple_of(10_000) {
                        bar.update(n);
                    }
                    kith_model::jsonl::write_line(&mut out, &e.activity, Some(&e.derived))
                        .map_err(|err| stop_on(err.into(), &mut failed))
                });
                r.and_then(|()| out.flush().map_err(|err| stop_on(err.into(), &mut failed)))
            } else {
                let mut writer = table_writer(args.format, out, "activities", table::ACTIVITIES)?;
                let r = store.export_activities(&mut |e| {
                    n += 1;
                    if n.is_multiple_of(10_000) {
                        bar.update(n);
                    }
                    let json =
                        ActivityJson::of(&e).map_err(|err| stop_on(err.into(), &mut failed))?;
                    writer
                        .row(&table::activity_row(&e, &json))
                        .map_err(|err| stop_on(err, &mut failed))
                });
                r.and_then(|()| writer.finish().map_err(|err| stop_on(err, &mut failed)))
            };
            bar.finish();
            finish(result, failed)?;
        }
        ExportWhat::Members if args.format == ExportFormat::Jsonl => {
            let mut out = BufWriter::new(out);
            for_each_member(store, &mut |m| {
                n += 1;
                serde_json::to_writer(&mut out, m).map_err(WriteError::from)?;
                out.write_all(b"\n")?;
                Ok(())
            })?;
            out.flush().map_err(WriteError::from)?;
        }
        ExportWhat::Members => {
            let mut writer = table_writer(args.format, out, "members", table::MEMBERS)?;
            for_each_member(store, &mut |m| {
                n += 1;
                writer.row(&table::member_row(m))
            })?;
            writer.finish()?;
        }
        ExportWhat::Threads => {
            let mut jsonl = None;
            let mut writer = None;
            if args.format == ExportFormat::Jsonl {
                jsonl = Some(BufWriter::new(out));
            } else {
                writer = Some(table_writer(args.format, out, "threads", table::THREADS)?);
            }
            let mut source_names = HashMap::new();
            let result = store.read_changes(kith_store::Watermark::ZERO, &mut |change| {
                match change {
                    Change::Source(s) => {
                        source_names.insert(s.id, s.name);
                    }
                    Change::Thread(t) => {
                        n += 1;
                        let source = source_names.get(&t.source).map_or("", String::as_str);
                        let topics = table::topics_json(&t);
                        let written = match (&mut jsonl, &mut writer) {
                            (Some(out), _) => {
                                let mut row = serde_json::json!({ "id": t.id, "source": source, "thread": t.ext_id, "inferred": t.inferred });
                                if !t.topics.is_empty() {
                                    row["topics"] = t.topics.split('\n').collect::<Vec<_>>().into();
                                }
                                writeln!(out, "{row}").map_err(WriteError::from)
                            }
                            (None, Some(w)) => w.row(&table::thread_row(&t, source, topics.as_deref())),
                            (None, None) => Ok(()),
                        };
                        written.map_err(|err| stop_on(err, &mut failed))?;
                    }
                    _ => {}
                }
                Ok(())
            });
            let result = result.map(|_| ()).and_then(|()| {
                let done = match (jsonl, writer) {
                    (Some(mut out), _) => out.flush().map_err(WriteError::from),
                    (None, Some(w)) => w.finish(),
                    (None, None) => Ok(()),
                };
                done.map_err(|err| stop_on(err, &mut failed))
            });
            finish(result, failed)?;
        }
    }
    Ok(n)
}

/// Keeps a write error and stops the store's read with a placeholder that is never shown.
fn stop_on(e: WriteError, failed: &mut Option<WriteError>) -> StoreError {
    *failed = Some(e);
    StoreError::Invalid("export stopped".into())
}

/// The outcome of a store read whose sink may have stopped it with a write error.
fn finish(result: Result<(), StoreError>, failed: Option<WriteError>) -> Result<(), Stop> {
    match (result, failed) {
        (_, Some(e)) => Err(Stop::Write(e)),
        (Err(e), None) => Err(Stop::Store(e)),
        (Ok(()), None) => Ok(()),
    }
}

/// Every member in id order, read a page at a time.
fn for_each_member(
    store: &dyn Store,
    each: &mut dyn FnMut(&kith_store::MemberRow) -> Result<(), WriteError>,
) -> Result<(), Stop> {
    let mut after = None;
    loop {
        let page = store.members(after, 10_000)?;
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        for m in &page {
            each(m)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parquet_to_a_terminal_is_a_usage_error() {
        let refused = check_destination(ExportFormat::Parquet, None, true);
        assert!(matches!(refused, Err(Failure::Usage(m)) if m.contains("--output FILE")));
        // A file, or standard output redirected to a file or pipe, is fine; text formats may
        // go to the terminal.
        assert!(
            check_destination(ExportFormat::Parquet, Some(Path::new("a.parquet")), true).is_ok()
        );
        assert!(check_destination(ExportFormat::Parquet, None, false).is_ok());
        assert!(check_destination(ExportFormat::Csv, None, true).is_ok());
        assert!(check_destination(ExportFormat::Jsonl, None, true).is_ok());
    }

    #[test]
    fn a_closed_pipe_is_recognised_through_the_parquet_error() {
        let pipe = || std::io::Error::from(std::io::ErrorKind::BrokenPipe);
        assert!(WriteError::Io(pipe()).is_broken_pipe());
        assert!(WriteError::Parquet(parquet::errors::ParquetError::from(pipe())).is_broken_pipe());
        assert!(
            !WriteError::Io(std::io::Error::from(std::io::ErrorKind::StorageFull)).is_broken_pipe()
        );
    }
}
