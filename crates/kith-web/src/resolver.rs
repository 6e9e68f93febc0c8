//! Identity resolution after imports from the browser and the ingest API.
//!
//! A resolution reads every identity of the community (about a second and a few hundred MiB
//! at 500,000 members), while what it finds depends only on the identities and the merge log:
//! a batch of live events from members already known changes neither, and has nothing to
//! resolve. So the resolver remembers where in the store's change sequence its last run
//! started, and after an ingest it runs again only if an identity was added, changed or moved
//! since then (a cheap read of what changed, through the change sequence's indexes). An
//! upload from the browser resolves every time: its new identities are most of the cost.
//!
//! Runs are one at a time. The position kept is the one read *before* the run, so a change
//! committed meanwhile by another writer (or by the run's own merges) is looked at by the
//! next ingest, never skipped.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use kith_store::{Store, StoreResult, Watermark};

/// The identity resolver of one server, shared by its handlers.
#[derive(Default)]
pub struct Resolver {
    /// Where the last run started in the change sequence; `None` before the first run (the
    /// server knows nothing of what came before it started, so the first ingest resolves).
    since: Mutex<Option<Watermark>>,
    /// Runs so far, and their total duration in microseconds (`/metrics`).
    pub runs: AtomicU64,
    pub micros: AtomicU64,
    /// Ingests after which no identity had changed: resolutions saved.
    pub skipped: AtomicU64,
}

impl Resolver {
    /// After an ingest: resolves identities if any changed since the last run (`force`: in any
    /// case). Returns the resolution when one ran. Blocking.
    pub fn after_ingest(
        &self,
        store: &dyn Store,
        threshold: f64,
        force: bool,
    ) -> StoreResult<Option<kith_identity::Resolution>> {
        let mut since = self.since.lock().unwrap_or_else(|e| e.into_inner());
        let (changed, now) = match *since {
            Some(from) if !force => kith_identity::identities_changed_since(store, from)?,
            // First run, or forced: the position before it, read cheaply.
            _ => (true, store.activity_id_range()?.1),
        };
        if !changed {
            *since = Some(now);
            self.skipped.fetch_add(1, Ordering::Relaxed);
            return Ok(None);
        }
        let started = Instant::now();
        let resolution = kith_identity::resolve(store, threshold)?;
        self.runs.fetch_add(1, Ordering::Relaxed);
        self.micros
            .fetch_add(started.elapsed().as_micros() as u64, Ordering::Relaxed);
        *since = Some(now);
        Ok(Some(resolution))
    }
}
