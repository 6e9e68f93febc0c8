//! The import pipeline: a format parses on its own thread and hands batches to a second
//! thread, which does the write session's per-record work (the preparer: content hashes,
//! planned row ids, JSON columns), and from there to the caller's thread, which writes them
//! through one ingest session and keeps the audit.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::time::{SystemTime, UNIX_EPOCH};

use kith_model::{Activity, validate_source_name};
use kith_store::{
    AuditStatus, ImportAudit, Ingest, Prepare, Prepared, Problem, Store, StoredAudit,
};

use crate::{Format, ImportError, ReadContext, RecordSink};

/// Activities per batch handed from the parser to the writer.
const BATCH: usize = 4096;
/// Batches in flight between the two threads: bounds memory whatever the input size.
const IN_FLIGHT: usize = 4;

#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// `--source NAME`.
    pub source: Option<String>,
    /// `--base-url URL`: where links back to the platform point (SPEC §8).
    pub base_url: Option<String>,
    /// `--dry-run`: run the whole import, print the audit, store nothing.
    pub dry_run: bool,
    /// The import is the database's only user while it runs (a command-line import, not one
    /// started by the web server): the store may take it exclusively to load faster
    /// ([`Store::ingest_exclusive`]).
    pub exclusive: bool,
}

/// Progress of a running import, for progress bars.
pub trait Progress: Sync {
    /// Called once with the expected total, in bytes when `bytes` is true, else in records.
    fn start(&self, total: u64, bytes: bool);
    /// Called after each batch with the amount done so far (same unit as the total).
    fn update(&self, done: u64);
    fn finish(&self);
}

/// No progress reporting.
impl Progress for () {
    fn start(&self, _: u64, _: bool) {}
    fn update(&self, _: u64) {}
    fn finish(&self) {}
}

/// What goes down the pipeline, in order; a batch is a `Vec<Activity>` from the producer to
/// the preparer, a [`Prepared`] batch from there to the writer.
enum Message<B> {
    Batch(B),
    Skip(Problem),
    Inferred(String, Vec<String>),
}

struct ChannelSink {
    tx: SyncSender<Message<Vec<Activity>>>,
    /// Batches the writer is done with come back to be freed here: the producer allocated
    /// them, and freeing is cheaper on the allocating thread and off the writer's.
    spent: Receiver<Prepared>,
    batch: Vec<Activity>,
    /// The writer hung up (it failed): stop parsing.
    closed: bool,
}

impl ChannelSink {
    fn send(&mut self, message: Message<Vec<Activity>>) {
        if !self.closed && self.tx.send(message).is_err() {
            self.closed = true;
        }
    }

    fn flush(&mut self) {
        if !self.batch.is_empty() {
            let mut next = None;
            while let Ok(spent) = self.spent.try_recv() {
                let mut activities = spent.activities;
                activities.clear();
                next = Some(activities);
            }
            let next = next.unwrap_or_else(|| Vec::with_capacity(BATCH));
            let batch = std::mem::replace(&mut self.batch, next);
            self.send(Message::Batch(batch));
        }
    }
}

impl RecordSink for ChannelSink {
    fn activity(&mut self, activity: Activity) {
        self.batch.push(activity);
        if self.batch.len() >= BATCH {
            self.flush();
        }
    }

    fn skip(&mut self, problem: Problem) {
        self.flush();
        self.send(Message::Skip(problem));
    }

    fn inferred_threads(&mut self, source: &str, threads: Vec<String>) {
        self.flush();
        self.send(Message::Inferred(source.to_owned(), threads));
    }
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Imports `paths` in `format` into `store` as one transaction and returns the audit (stored
/// with the import unless this is a dry run). On any error nothing is stored.
pub fn import(
    store: &dyn Store,
    format: &dyn Format,
    paths: &[PathBuf],
    options: &ImportOptions,
    progress: &dyn Progress,
) -> Result<StoredAudit, ImportError> {
    if let Some(name) = &options.source {
        validate_source_name(name).map_err(ImportError::Usage)?;
    }
    let inputs = format.inputs(paths)?;
    let ctx = ReadContext {
        source: options.source.clone(),
        base_url: options.base_url.clone(),
        bytes_read: Arc::new(AtomicU64::new(0)),
    };
    let total = inputs.iter().map(|i| i.size).sum();
    let names = paths.iter().map(|p| p.display().to_string()).collect();
    let bytes = Arc::clone(&ctx.bytes_read);
    ingest_records(
        store,
        format.name(),
        names,
        options,
        progress,
        (total, Some(bytes)),
        |sink| format.read(&inputs, &ctx, sink),
    )
}

/// The pipeline behind [`import`], for any producer of records (a format reading files, the
/// demo generator): `produce` runs on its own thread and hands records to the sink; they are
/// written through one ingest session, committed with the audit unless `options.dry_run`.
/// `total` is the expected size for progress: bytes with a byte counter, else records.
pub fn ingest_records(
    store: &dyn Store,
    format: &str,
    inputs: Vec<String>,
    options: &ImportOptions,
    progress: &dyn Progress,
    total: (u64, Option<Arc<AtomicU64>>),
    produce: impl FnOnce(&mut dyn RecordSink) -> Result<(), ImportError> + Send,
) -> Result<StoredAudit, ImportError> {
    let known_formats: HashMap<String, String> = store
        .source_rows()?
        .into_iter()
        .map(|s| (s.name, s.format))
        .collect();
    let mut audit = ImportAudit::new(format, inputs, now());
    let (total, bytes) = total;
    progress.start(total, bytes.is_some());

    let mut session = if options.exclusive {
        store.ingest_exclusive()?
    } else {
        store.ingest()?
    };
    let (tx, to_prepare) = sync_channel(IN_FLIGHT);
    let (prepared, rx) = sync_channel(IN_FLIGHT);
    let (spent_tx, spent_rx) = sync_channel(IN_FLIGHT);
    let preparer = session.preparer();
    let outcome = std::thread::scope(|scope| {
        // Its own thread, so that the operating system spreads the parsing, the preparing and
        // the writing over the cores: which of them is the slowest depends on the format.
        scope.spawn(move || prepare_all(preparer, to_prepare, prepared));
        let reader = scope.spawn(move || {
            let mut sink = ChannelSink {
                tx,
                spent: spent_rx,
                batch: Vec::with_capacity(BATCH),
                closed: false,
            };
            let result = produce(&mut sink);
            sink.flush();
            result
        });
        let written = write_all(
            session.as_mut(),
            WriterEnds {
                batches: rx,
                spent: spent_tx,
            },
            &known_formats,
            format,
            &mut audit,
            bytes.as_deref(),
            progress,
        );
        // The reader stops by itself once the receiver is gone (on a write error).
        let read = reader.join().unwrap_or_else(|_| {
            Err(ImportError::Usage(format!(
                "the {format} reader crashed; please report this with the input that caused it"
            )))
        });
        read.and(written)
    });
    progress.finish();
    audit.finished_at = now();

    if let Err(e) = outcome {
        session.rollback()?;
        return Err(e);
    }
    if options.dry_run {
        session.rollback()?;
        audit.status = AuditStatus::DryRun;
        return Ok(StoredAudit {
            id: kith_store::AuditId(0),
            audit,
        });
    }
    audit.status = AuditStatus::Committed;
    let id = session.commit(&audit)?;
    if let Some(url) = &options.base_url {
        for source in &audit.sources {
            store.set_source_base_url(source, Some(url))?;
        }
    }
    Ok(StoredAudit { id, audit })
}

/// Prepares the producer's batches in order and passes everything on to the writer. Stops when
/// the producer is done or the writer hung up (then the producer's sends fail in turn).
fn prepare_all(
    mut preparer: Box<dyn Prepare>,
    from: Receiver<Message<Vec<Activity>>>,
    to: SyncSender<Message<Prepared>>,
) {
    for message in from {
        let message = match message {
            Message::Batch(batch) => Message::Batch(preparer.prepare(batch)),
            Message::Skip(problem) => Message::Skip(problem),
            Message::Inferred(source, threads) => Message::Inferred(source, threads),
        };
        if to.send(message).is_err() {
            return;
        }
    }
}

/// The writer's ends of the channels to the producer: batches in, spent batches back.
struct WriterEnds {
    batches: Receiver<Message<Prepared>>,
    spent: SyncSender<Prepared>,
}

fn write_all(
    session: &mut dyn Ingest,
    ends: WriterEnds,
    known_formats: &HashMap<String, String>,
    format: &str,
    audit: &mut ImportAudit,
    bytes: Option<&AtomicU64>,
    progress: &dyn Progress,
) -> Result<(), ImportError> {
    let mut records = 0u64;
    let mut seen: std::collections::HashSet<String> = audit.sources.iter().cloned().collect();
    for message in ends.batches {
        match message {
            Message::Batch(batch) => {
                for a in &batch.activities {
                    if !seen.contains(&a.source) {
                        validate_source_name(&a.source).map_err(ImportError::Usage)?;
                        let source_format =
                            known_formats.get(&a.source).map_or(format, String::as_str);
                        session.ensure_source(&a.source, source_format)?;
                        audit.sources.push(a.source.clone());
                        seen.insert(a.source.clone());
                    }
                    audit.see_time(a.ts.secs);
                }
                audit.read += batch.activities.len() as u64;
                records += batch.activities.len() as u64;
                let outcome = session.write_prepared(&batch)?;
                audit.add(&outcome);
                // Back to the producer to be freed; if it is not taking them, here.
                let _ = ends.spent.try_send(batch);
            }
            Message::Skip(problem) => {
                audit.read += 1;
                records += 1;
                audit.skip(problem);
            }
            Message::Inferred(source, threads) => {
                session.mark_inferred_threads(&source, &threads)?
            }
        }
        progress.update(bytes.map_or(records, |b| b.load(Ordering::Relaxed)));
    }
    Ok(())
}
