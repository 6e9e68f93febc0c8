//! Text scoring beside the import (SPEC §4.5, §9): `kith rescore`, the pass `kith import` runs
//! after committing, and the background scorer of `kith serve`. The work is `kith-scoring`'s;
//! this module prints it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use kith_scoring::{Follower, Pass, PassReport, ScoringError};
use kith_store::{Store, Watermark};

use super::Context;
use crate::cli::RescoreArgs;
use crate::failure::Failure;

impl From<ScoringError> for Failure {
    fn from(e: ScoringError) -> Failure {
        match e {
            ScoringError::Store(s) => s.into(),
            e @ ScoringError::Worker => Failure::Other(e.into()),
        }
    }
}

/// One line on what a pass did.
fn summary(r: &PassReport) -> String {
    if r.scored == 0 {
        return "every message already has a current score".into();
    }
    let mut t = format!(
        "scored {} messages in {:.1} s ({:.0} messages/s per core, {} threads, model version {})",
        r.scored, r.elapsed_secs, r.messages_per_core_sec, r.threads, r.model_version
    );
    if r.not_scored > 0 {
        t.push_str(&format!(
            "; {} in a language the models do not support are marked not scored",
            r.not_scored
        ));
    }
    t
}

/// `kith rescore`. Without `--all`, it starts from the store's scoring mark when a complete
/// pass of this model version (or a later one) recorded it: only messages changed since then
/// are looked at (a walk over every message of a large community otherwise: 7 s at 10 M
/// activities to find none), and the mark moves to where this pass ends.
pub fn rescore(cx: &Context, args: &RescoreArgs) -> Result<(), Failure> {
    let store = cx.open()?;
    let mut pass = if args.all { Pass::all() } else { Pass::stale() };
    if let Some(n) = args.threads {
        pass.threads = usize::from(n);
    }
    let bar = cx.out.progress("scoring");
    let report = if args.all {
        kith_scoring::run(store.as_ref(), &pass, &bar)?
    } else {
        let mut follower = Follower::resume(store.as_ref())?;
        follower
            .catch_up_with(store.as_ref(), &pass, &bar)?
            .unwrap_or_else(|| PassReport::nothing(pass.threads))
    };
    cx.out.result(&report, || summary(&report));
    // The scores' read packs: the next process builds its snapshot from them.
    super::pack(cx, store.as_ref());
    Ok(())
}

/// The pass after an import: the audit is printed and the import committed before it starts,
/// so the data is usable meanwhile. Its summary goes to standard error, so that `--json`
/// output stays the audit alone.
///
/// `before` is where the store stood before the import ([`Store::activity_id_range`]): the
/// pass starts at the lowest message the import added or changed (an edit, a reply target
/// found later), not at the first message of the database, so that a small import into a
/// large community scores what it brought in a moment. Messages left unscored by an earlier
/// `--no-score` import are `kith rescore`'s (or `kith serve`'s) to score.
pub fn after_import(
    cx: &Context,
    store: &dyn Store,
    before: Option<&(std::ops::Range<i64>, Watermark)>,
) -> Result<(), Failure> {
    let failed = |e: ScoringError| {
        Failure::Other(anyhow::anyhow!(
            "the import is committed, but scoring its messages failed: {e}; \
             run `kith rescore` to finish"
        ))
    };
    let pass = match before {
        Some((range, mark)) if !range.is_empty() => {
            match Follower::since(*mark).next_pass(store).map_err(failed)? {
                Some(pass) => pass,
                None => {
                    cx.out.note("no message to score");
                    return Ok(());
                }
            }
        }
        _ => Pass::stale(),
    };
    let bar = cx.out.progress("scoring");
    let report = kith_scoring::run(store, &pass, &bar).map_err(failed)?;
    cx.out.note(&summary(&report));
    super::pack(cx, store);
    Ok(())
}

/// How often the background scorer looks for new messages.
const POLL: Duration = Duration::from_secs(5);

/// Scores new and edited messages in the background while `kith serve` runs (imports through
/// the web app or the API, other processes importing into the same database), and packs
/// what was imported for reads (`Store::pack_for_reads`). Stops when dropped.
pub struct BackgroundScorer {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl BackgroundScorer {
    pub fn start(store: Arc<dyn Store>) -> BackgroundScorer {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("kith-scoring".into())
            .spawn(move || {
                let mut follower = match Follower::resume(store.as_ref()) {
                    Ok(f) => f,
                    Err(e) => {
                        tracing::warn!("background scoring: reading the scoring mark: {e}");
                        Follower::new()
                    }
                };
                while !flag.load(Ordering::Relaxed) {
                    match follower.catch_up(store.as_ref(), Some(&flag)) {
                        Ok(Some(r)) if r.scored > 0 => tracing::info!("{}", summary(&r)),
                        Ok(_) => {}
                        // Keep serving: the next round retries from where the change stream
                        // stands, and `kith rescore` finishes anything left.
                        Err(e) => tracing::warn!("background scoring: {e}"),
                    }
                    // The read packs of what was imported meanwhile (nothing to do, and no
                    // write, when they are current): the next start builds its snapshot
                    // from them.
                    match store.pack_for_reads() {
                        Ok(p) if p.blocks > 0 => tracing::info!("{}", super::pack_summary(&p)),
                        Ok(_) => {}
                        Err(e) => tracing::warn!("background packing: {e}"),
                    }
                    let mut waited = Duration::ZERO;
                    while waited < POLL && !flag.load(Ordering::Relaxed) {
                        std::thread::sleep(Duration::from_millis(200));
                        waited += Duration::from_millis(200);
                    }
                }
            })
            .ok();
        BackgroundScorer { stop, thread }
    }
}

impl Drop for BackgroundScorer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
