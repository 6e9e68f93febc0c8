//! Imports started from the browser: the uploaded export is written to a temporary folder,
//! imported on a blocking thread through the same pipeline as `kith import` (with identity
//! resolution after it), and its progress is kept here for the progress page to show.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use kith_store::StoredAudit;

/// One import from the browser.
pub struct ImportJob {
    pub id: u64,
    pub format: String,
    pub file_name: String,
    pub started_by: String,
    pub started_at: i64,
    pub total: AtomicU64,
    pub done: AtomicU64,
    pub bytes: AtomicBool,
    pub outcome: Mutex<Option<Result<StoredAudit, String>>>,
}

impl kith_import::Progress for ImportJob {
    fn start(&self, total: u64, bytes: bool) {
        self.total.store(total, Ordering::Relaxed);
        self.bytes.store(bytes, Ordering::Relaxed);
    }
    fn update(&self, done: u64) {
        self.done.store(done, Ordering::Relaxed);
    }
    fn finish(&self) {
        self.done
            .store(self.total.load(Ordering::Relaxed), Ordering::Relaxed);
    }
}

impl ImportJob {
    /// Done fraction, 0..1.
    pub fn fraction(&self) -> f64 {
        let total = self.total.load(Ordering::Relaxed);
        if total == 0 {
            0.0
        } else {
            (self.done.load(Ordering::Relaxed) as f64 / total as f64).min(1.0)
        }
    }

    pub fn finished(&self) -> bool {
        self.outcome.lock().map(|o| o.is_some()).unwrap_or(true)
    }
}

/// Jobs of this process, newest last (kept until restart; the audits themselves are stored).
#[derive(Default)]
pub struct ImportJobs {
    jobs: Mutex<BTreeMap<u64, Arc<ImportJob>>>,
    next: AtomicU64,
}

impl ImportJobs {
    pub fn create(&self, format: &str, file_name: &str, started_by: &str) -> Arc<ImportJob> {
        let id = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        let job = Arc::new(ImportJob {
            id,
            format: format.to_owned(),
            file_name: file_name.to_owned(),
            started_by: started_by.to_owned(),
            started_at: crate::auth::now(),
            total: AtomicU64::new(0),
            done: AtomicU64::new(0),
            bytes: AtomicBool::new(true),
            outcome: Mutex::new(None),
        });
        self.jobs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, Arc::clone(&job));
        job
    }

    pub fn get(&self, id: u64) -> Option<Arc<ImportJob>> {
        self.jobs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&id)
            .cloned()
    }

    pub fn recent(&self, n: usize) -> Vec<Arc<ImportJob>> {
        let jobs = self.jobs.lock().unwrap_or_else(|e| e.into_inner());
        jobs.values().rev().take(n).cloned().collect()
    }
}

/// Runs an import of `path` (a file in `_dir`, removed afterwards) and records the outcome.
/// Blocking.
pub fn run(
    state: &crate::AppState,
    job: &ImportJob,
    path: PathBuf,
    _dir: tempfile::TempDir,
    options: kith_import::ImportOptions,
) {
    let outcome = (|| -> Result<StoredAudit, String> {
        let format = kith_import::format_by_name(&job.format)
            .ok_or_else(|| format!("kith cannot read format `{}`", job.format))?;
        let mut audit = kith_import::import(state.store.as_ref(), format, &[path], &options, job)
            .map_err(|e| e.to_string())?;
        // An upload brings many identities: resolved every time.
        audit.audit.members_merged = state
            .resolver
            .after_ingest(state.store.as_ref(), state.config.merge_threshold, true)
            .map_err(|e| e.to_string())?
            .map_or(0, |r| r.applied.len() as u64);
        if audit.audit.members_merged > 0 {
            state
                .store
                .set_audit_members_merged(audit.id, audit.audit.members_merged)
                .map_err(|e| e.to_string())?;
        }
        // The pages show the new data at once, not at the next background refresh.
        state.analytics.refresh().map_err(|e| e.to_string())?;
        Ok(audit)
    })();
    if let Err(e) = &outcome {
        tracing::warn!(job = job.id, error = %e, "import from the browser failed");
    }
    *job.outcome.lock().unwrap_or_else(|e| e.into_inner()) = Some(outcome);
}
