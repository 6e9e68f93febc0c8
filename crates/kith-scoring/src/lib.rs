//! # kith-scoring
//!
//! The text scoring pass: what joins kith-text (pure scoring) to the store. It pages through
//! the messages that need a score ([`kith_store::TextScores::texts_to_score`]), scores them
//! with [`kith_text::analyze_in`] on every core (the message's place in its thread from its
//! kind: [`role_of`]), and stores the scores in chunks, each chunk one
//! transaction that advances the change sequence (so the analytics snapshot picks them up).
//!
//! It runs *beside* the import, never inside it: `kith import` commits and prints its audit
//! first, then runs a pass over what is new (the import is usable meanwhile); `kith serve`
//! runs passes in the background as the change stream shows new or edited messages
//! ([`Follower`]); `kith rescore` runs one over everything an older model version scored, or
//! over everything.
//!
//! ```no_run
//! use kith_scoring::{Pass, run};
//! let store = kith_store_sqlite::SqliteStore::open(std::path::Path::new("kith.db"))?;
//! let report = run(&store, &Pass::stale(), &())?;
//! println!("{} messages scored", report.scored);
//! # Ok::<(), kith_scoring::ScoringError>(())
//! ```
//!
//! For views, [`explain_stored`] recomputes the evidence behind a stored score from the
//! message's text (evidence is not stored: it is cheaper to recompute than to keep).
//!
//! *Invariants*: the ingest path never waits for scoring; a pass only reads and writes
//! through the store interface; the scores of one text are the same whichever thread computed
//! them (kith-text is deterministic).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kith_model::Kind;
use kith_store::{
    ActivityId, Change, ScoringMark, Store, StoreError, TextScore, TextSelection, TextToScore,
    Watermark,
};
use kith_text::{Explanation, Intent, MODEL_VERSION, Role};

/// What can stop a pass.
#[derive(Debug, thiserror::Error)]
pub enum ScoringError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("a scoring thread stopped unexpectedly; run `kith rescore` to finish the scoring")]
    Worker,
}

/// Progress of a pass, in messages.
pub trait Progress: Sync {
    /// Called once with the number of messages the pass expects to score.
    fn start(&self, total: u64);
    /// Called after each stored chunk with the messages stored so far.
    fn update(&self, done: u64);
    fn finish(&self);
}

/// No progress reporting.
impl Progress for () {
    fn start(&self, _: u64) {}
    fn update(&self, _: u64) {}
    fn finish(&self) {}
}

/// Messages per chunk: one read, one transaction.
pub const CHUNK: usize = 2_048;

/// What a pass scores and how.
#[derive(Debug, Clone, Copy)]
pub struct Pass<'a> {
    pub selection: TextSelection,
    /// Start after this activity id (`None`: from the first).
    pub after: Option<ActivityId>,
    /// Scoring threads (the store's reads and writes run on two more, mostly waiting).
    pub threads: usize,
    /// Count the messages first for the progress bar (a scan; passes in the background skip it).
    pub count: bool,
    /// Set to stop early (what is stored stays stored).
    pub stop: Option<&'a AtomicBool>,
}

impl Pass<'_> {
    /// Every message without a current score by this build's model, on every core.
    pub fn stale() -> Pass<'static> {
        Pass {
            selection: TextSelection {
                model_version: MODEL_VERSION,
                all: false,
            },
            after: None,
            threads: cores(),
            count: true,
            stop: None,
        }
    }

    /// Every message, whatever scored it.
    pub fn all() -> Pass<'static> {
        let mut p = Pass::stale();
        p.selection.all = true;
        p
    }
}

/// The cores this process may use.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// What a pass did.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct PassReport {
    /// Scores stored.
    pub scored: u64,
    /// Of those, messages in a language the models do not support (stored as not scored).
    pub not_scored: u64,
    pub model_version: u32,
    pub threads: usize,
    /// Wall-clock time of the whole pass (reading, scoring, storing).
    pub elapsed_secs: f64,
    /// Time the scoring threads spent scoring, summed over threads.
    pub scoring_secs: f64,
    /// Messages per second of wall-clock time.
    pub messages_per_sec: f64,
    /// Messages per second of one core's scoring time (the SPEC §9 bar: ≥ 50,000).
    pub messages_per_core_sec: f64,
    /// The pass was stopped before it finished.
    pub stopped: bool,
}

impl PassReport {
    /// What a pass that has looked at no message reports (where every pass starts).
    pub fn nothing(threads: usize) -> PassReport {
        PassReport {
            scored: 0,
            not_scored: 0,
            model_version: MODEL_VERSION,
            threads,
            elapsed_secs: 0.0,
            scoring_secs: 0.0,
            messages_per_sec: 0.0,
            messages_per_core_sec: 0.0,
            stopped: false,
        }
    }
}

/// Where a message of this kind stands in its thread, for the intent rules: a post opens a
/// thread; a reply, an answer or a solution replies in one; anything else (feedback) is
/// unknown. A chat message whose thread an importer inferred by conversation window is a
/// post when it opens the window and a reply otherwise.
pub fn role_of(kind: Kind) -> Role {
    match kind {
        Kind::Post => Role::Opening,
        Kind::Reply | Kind::Answer | Kind::Solution => Role::Reply,
        _ => Role::Unknown,
    }
}

/// The stored form of one message's scores.
pub fn score(message: &TextToScore) -> TextScore {
    let a = kith_text::analyze_in(&message.text, role_of(message.kind));
    TextScore {
        activity: message.id,
        activity_seq: message.seq,
        model_version: MODEL_VERSION,
        language: a.language.code.to_owned(),
        scored: a.scored,
        sentiment: scaled(a.sentiment.score),
        confidence: scaled(a.sentiment.confidence),
        hostility: scaled(a.hostility.score),
        hostile: a.hostility.is_hostile(),
        intents: Intent::bits(&a.intents),
    }
}

/// A number in [−1, 1] in ten-thousandths (NaN as 0).
fn scaled(x: f64) -> i16 {
    if x.is_nan() {
        0
    } else {
        (x.clamp(-1.0, 1.0) * 10_000.0).round() as i16
    }
}

enum Work {
    Chunk(Vec<TextToScore>),
    Failed(StoreError),
}

enum Done {
    Scored(Vec<TextScore>, Duration),
    Failed(StoreError),
}

/// Runs one pass: reads chunks on one thread, scores them on `pass.threads`, stores them on
/// the calling thread. A pass over every message (`pass.after` is `None`: `kith rescore`)
/// that completes records the store's [`ScoringMark`] as it stood when the pass began.
pub fn run(
    store: &dyn Store,
    pass: &Pass<'_>,
    progress: &dyn Progress,
) -> Result<PassReport, ScoringError> {
    let started = Instant::now();
    let threads = pass.threads.max(1);
    // A pass over every message that completes leaves every message changed before it started
    // scored: its mark.
    let mark = match pass.after {
        None => Some(store.activity_id_range()?.1),
        Some(_) => None,
    };
    let total = if pass.count {
        store.count_texts_to_score(pass.selection, pass.after)?
    } else {
        0
    };
    progress.start(total);
    let stopped = || pass.stop.is_some_and(|s| s.load(Ordering::Relaxed));
    let mut report = PassReport::nothing(threads);
    let mut scoring = Duration::ZERO;
    let result = std::thread::scope(|scope| -> Result<(), ScoringError> {
        let (work_tx, work_rx) = sync_channel::<Work>(threads + 1);
        let (done_tx, done_rx) = sync_channel::<Done>(threads + 1);
        let work_rx: Arc<Mutex<Receiver<Work>>> = Arc::new(Mutex::new(work_rx));

        // Reader: pages by id; stops when the pages run out, the pass is stopped, or nobody
        // listens any more (the writer failed).
        scope.spawn(move || {
            let mut after = pass.after;
            loop {
                if stopped() {
                    return;
                }
                match store.texts_to_score(pass.selection, after, CHUNK) {
                    Ok(chunk) if chunk.is_empty() => return,
                    Ok(chunk) => {
                        after = chunk.last().map(|t| t.id);
                        if work_tx.send(Work::Chunk(chunk)).is_err() {
                            return;
                        }
                    }
                    Err(e) => {
                        let _ = work_tx.send(Work::Failed(e));
                        return;
                    }
                }
            }
        });
        for _ in 0..threads {
            let work_rx = Arc::clone(&work_rx);
            let done_tx = done_tx.clone();
            scope.spawn(move || {
                loop {
                    let next = match work_rx.lock() {
                        Ok(rx) => rx.recv(),
                        Err(_) => return,
                    };
                    let done = match next {
                        Ok(Work::Chunk(chunk)) => {
                            let t = Instant::now();
                            let scores: Vec<TextScore> = chunk.iter().map(score).collect();
                            Done::Scored(scores, t.elapsed())
                        }
                        Ok(Work::Failed(e)) => Done::Failed(e),
                        Err(_) => return,
                    };
                    if done_tx.send(done).is_err() {
                        return;
                    }
                }
            });
        }
        drop(done_tx);
        // Writer: this thread. Returning early drops `done_rx`, which stops the others.
        for done in done_rx {
            match done {
                Done::Scored(scores, took) => {
                    store.write_text_scores(&scores)?;
                    scoring += took;
                    report.scored += scores.len() as u64;
                    report.not_scored += scores.iter().filter(|s| !s.scored).count() as u64;
                    progress.update(report.scored);
                }
                Done::Failed(e) => return Err(e.into()),
            }
        }
        Ok(())
    });
    progress.finish();
    result?;
    report.stopped = stopped();
    if let Some(watermark) = mark
        && !report.stopped
    {
        // What the pass guarantees: a score by the selection's model version or a later one
        // (this build's, which scored what it found stale).
        store.record_scoring_mark(ScoringMark {
            model_version: pass.selection.model_version,
            watermark,
        })?;
    }
    report.elapsed_secs = started.elapsed().as_secs_f64();
    report.scoring_secs = scoring.as_secs_f64();
    report.messages_per_sec = rate(report.scored, report.elapsed_secs);
    report.messages_per_core_sec = rate(report.scored, report.scoring_secs);
    Ok(report)
}

fn rate(n: u64, secs: f64) -> f64 {
    if secs > 0.0 { n as f64 / secs } else { 0.0 }
}

/// Follows the change stream for messages that need a pass (new, edited, re-imported), for
/// scoring in the background (`kith serve`, imports through the web or the API).
///
/// A follower that started from the beginning (its first call is one pass over every
/// message), or from the store's [`ScoringMark`] of this model version or a later one
/// ([`Follower::resume`]), records a new mark after each complete pass, and when nothing
/// needed one: so `kith serve`, started again on a large community, reads only what changed
/// since it last scored instead of every message.
#[derive(Debug, Default)]
pub struct Follower {
    watermark: Option<Watermark>,
    /// Whether everything before `watermark` is known to be scored (started from the
    /// beginning or from a mark): only then may the follower record a mark.
    records: bool,
    /// The watermark of the last mark recorded or read, not to record it twice.
    recorded: Option<Watermark>,
}

impl Follower {
    /// A follower whose first call looks at everything.
    pub fn new() -> Follower {
        Follower {
            records: true,
            ..Follower::default()
        }
    }

    /// A follower that has seen everything up to `watermark` (what a reader of the change
    /// stream returned): its first call looks only at what changed after it. It records no
    /// mark: what changed before `watermark` may not be scored.
    pub fn since(watermark: Watermark) -> Follower {
        Follower {
            watermark: Some(watermark),
            ..Follower::default()
        }
    }

    /// A follower that starts from the store's [`ScoringMark`] when this build's model
    /// version or a later one recorded it (a later version's scores are current for this
    /// one), else from the beginning ([`Follower::new`]).
    pub fn resume(store: &dyn Store) -> Result<Follower, ScoringError> {
        Ok(match store.scoring_mark()? {
            Some(mark) if mark.model_version >= MODEL_VERSION => Follower {
                watermark: Some(mark.watermark),
                records: true,
                recorded: Some(mark.watermark),
            },
            _ => Follower::new(),
        })
    }

    /// The smallest id of a live message changed since the last call (the first call looks at
    /// everything): a pass started just below it meets every message that may need a score.
    /// `None` when nothing changed. Text scores themselves do not count, so the follower does
    /// not chase its own writes.
    pub fn changed(&mut self, store: &dyn Store) -> Result<Option<ActivityId>, ScoringError> {
        let mut lowest: Option<ActivityId> = None;
        let since = self.watermark.unwrap_or(Watermark::ZERO);
        let mark = store.read_changes(since, &mut |change| {
            if let Change::Activity(f) = change
                && !f.deleted
                && kith_store::SCORED_KINDS.contains(&f.kind)
                && lowest.is_none_or(|l| f.id < l)
            {
                lowest = Some(f.id);
            }
            Ok(())
        })?;
        self.watermark = Some(mark);
        Ok(lowest)
    }

    /// The pass over what changed since the last call ([`Follower::changed`]): every message
    /// without a current score from just below the lowest one changed; `None` when no message
    /// changed.
    pub fn next_pass(&mut self, store: &dyn Store) -> Result<Option<Pass<'static>>, ScoringError> {
        Ok(self.changed(store)?.map(|lowest| {
            let mut pass = Pass::stale();
            pass.after = Some(ActivityId(lowest.0 - 1));
            pass
        }))
    }

    /// Runs a pass over what changed since the last call, if anything did (the first call of
    /// a follower from the beginning: over every message); then records the mark when the
    /// follower may. A pass that fails or is stopped leaves the follower where it was, so
    /// that the next call looks at the same changes again.
    pub fn catch_up(
        &mut self,
        store: &dyn Store,
        stop: Option<&AtomicBool>,
    ) -> Result<Option<PassReport>, ScoringError> {
        let mut settings = Pass::stale();
        settings.count = false;
        settings.stop = stop;
        self.catch_up_with(store, &settings, &())
    }

    /// [`Follower::catch_up`] with the threads, the counting (for a progress bar) and the stop
    /// flag of `settings`, reporting to `progress` (`kith rescore`: a mark of this model
    /// version spares it the walk over every message).
    pub fn catch_up_with(
        &mut self,
        store: &dyn Store,
        settings: &Pass<'_>,
        progress: &dyn Progress,
    ) -> Result<Option<PassReport>, ScoringError> {
        let before = (self.watermark, self.recorded);
        let pass = match self.watermark {
            // The first call of a follower from the beginning: every message may need a
            // score, so one pass walks them all (and `run` records the mark when it completes)
            // instead of the whole change stream being read to find the first.
            None => {
                let (_, watermark) = store.activity_id_range()?;
                self.watermark = Some(watermark);
                self.recorded = Some(watermark);
                Some(Pass::stale())
            }
            Some(_) => self.next_pass(store)?,
        };
        let report = match pass {
            None => None,
            Some(mut pass) => {
                pass.threads = settings.threads;
                pass.count = settings.count;
                pass.stop = settings.stop;
                match run(store, &pass, progress) {
                    Ok(report) if !report.stopped => Some(report),
                    done => {
                        (self.watermark, self.recorded) = before;
                        return done.map(Some);
                    }
                }
            }
        };
        if let Some(watermark) = self.watermark
            && self.records
            && self.recorded != Some(watermark)
        {
            store.record_scoring_mark(ScoringMark {
                model_version: MODEL_VERSION,
                watermark,
            })?;
            self.recorded = Some(watermark);
        }
        Ok(report)
    }
}

/// A stored score with the evidence behind it, for a view (a member's timeline, a thread).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ScoredMessage {
    pub score: TextScore,
    /// The stored intents by name.
    pub intents: Vec<Intent>,
    /// The score was made by this build's model from the text as it is now: the explanation
    /// below is exactly why. When false (the text was edited since, or an older model scored
    /// it) the explanation is that of the current text and model, and the stored score will
    /// be recomputed by the next pass.
    pub current: bool,
    pub explanation: Explanation,
}

/// Explains a stored score from the message's current text and kind.
pub fn explain_stored(stored: &TextScore, kind: Kind, text: &str) -> ScoredMessage {
    let explanation = kith_text::explain_in(text, role_of(kind));
    let again = score(&TextToScore {
        id: stored.activity,
        seq: stored.activity_seq,
        kind,
        text: text.to_owned(),
    });
    ScoredMessage {
        intents: Intent::from_bits(stored.intents),
        current: again == *stored,
        score: stored.clone(),
        explanation,
    }
}

#[cfg(test)]
mod tests;
