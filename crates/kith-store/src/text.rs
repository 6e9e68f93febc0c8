//! Stored text scores (schema v4, table `text_scores`): what kith-text read from each message,
//! written by a scoring pass beside the import (never by the ingest path), followed by the
//! analytics snapshot through the change stream like every other row.
//!
//! Numbers are stored as integers in ten-thousandths so that reference SQL and the snapshot
//! compare them exactly (a share of "sentiment ≥ 0.05" is the same on every engine). The
//! evidence behind a score (which words, which phrase) is not stored: it is recomputed from the
//! activity's text on demand (`kith_text::analyze`), which gives the same result for the same
//! model version and costs nothing to keep.

use serde::Serialize;

use crate::{ActivityId, StoreResult, Watermark};

/// The kinds whose text is scored: what people write to each other.
pub const SCORED_KINDS: &[kith_model::Kind] = &[
    kith_model::Kind::Post,
    kith_model::Kind::Reply,
    kith_model::Kind::Answer,
    kith_model::Kind::Feedback,
];

/// One message to score: its id, its change number when read (stored with the score so that a
/// later edit makes the score stale), its kind and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextToScore {
    pub id: ActivityId,
    /// The activity's `seq` when it was read.
    pub seq: i64,
    /// The activity's kind (one of [`SCORED_KINDS`]): where the message stands in its thread
    /// (a post opens one; a reply or an answer replies), which the intent rules read.
    pub kind: kith_model::Kind,
    pub text: String,
}

/// Which messages a scoring pass reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextSelection {
    /// The scorer's model version.
    pub model_version: u32,
    /// Every message, even those already scored by this version (`kith rescore --all`).
    /// Otherwise only messages without a current score: never scored, changed since (an edit,
    /// a re-import with new content), or scored by an older model version.
    pub all: bool,
}

/// The scores of one message, as stored. Scaled numbers are in ten-thousandths.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TextScore {
    pub activity: ActivityId,
    /// The activity's `seq` when its text was read for scoring.
    pub activity_seq: i64,
    pub model_version: u32,
    /// ISO 639-3 code (`eng`, `deu`, …), `und` when undetermined.
    pub language: String,
    /// False when the language is not supported: the numbers below are 0 and must not count.
    pub scored: bool,
    /// Sentiment (VADER compound) × 10,000, in −10,000..=10,000.
    pub sentiment: i16,
    /// Sentiment confidence × 10,000, in 0..=10,000.
    pub confidence: i16,
    /// Hostility score × 10,000, in 0..=10,000.
    pub hostility: i16,
    /// The hostility score reached kith-text's threshold.
    pub hostile: bool,
    /// Intents as a bit set: bit i is `kith_text::Intent::ALL[i]` (question 1, answer 2,
    /// thanks 4, bug report 8, feature request 16, complaint 32, praise 64, introduction 128,
    /// announcement 256).
    pub intents: u16,
}

impl TextScore {
    /// What the change stream carries.
    pub fn fact(&self) -> TextFact {
        TextFact {
            activity: self.activity,
            scored: self.scored,
            sentiment: self.sentiment,
            confidence: self.confidence,
            hostility: self.hostility,
            hostile: self.hostile,
            intents: self.intents,
        }
    }
}

/// The compact form of a text score that the change stream delivers ([`crate::Change::Text`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TextFact {
    pub activity: ActivityId,
    pub scored: bool,
    pub sentiment: i16,
    pub confidence: i16,
    pub hostility: i16,
    pub hostile: bool,
    pub intents: u16,
}

/// Where scoring stands: every live message changed at or before `watermark` has a score by
/// model version `model_version` or a later one. A background scorer that starts again reads
/// only what changed after it instead of looking at every message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ScoringMark {
    pub model_version: u32,
    pub watermark: Watermark,
}

/// Reading and writing text scores. Part of every [`crate::Store`].
pub trait TextScores {
    /// Up to `limit` messages (live activities of [`SCORED_KINDS`] with non-empty text) with an
    /// id above `after`, in id order, that `selection` asks for. A pass pages through with
    /// the last id it got.
    fn texts_to_score(
        &self,
        selection: TextSelection,
        after: Option<ActivityId>,
        limit: usize,
    ) -> StoreResult<Vec<TextToScore>>;

    /// How many messages [`TextScores::texts_to_score`] would page through after `after` (from
    /// the start for `None`), for progress bars.
    fn count_texts_to_score(
        &self,
        selection: TextSelection,
        after: Option<ActivityId>,
    ) -> StoreResult<u64>;

    /// Stores scores (replacing earlier ones of the same activities) in one transaction that
    /// advances the change sequence. Scores of activities that no longer exist are dropped.
    fn write_text_scores(&self, scores: &[TextScore]) -> StoreResult<()>;

    /// The stored scores of these activities, in id order; activities without a score are
    /// left out.
    fn text_scores(&self, ids: &[ActivityId]) -> StoreResult<Vec<TextScore>>;

    /// The last recorded [`ScoringMark`], if any. A hint only: without one, a scorer looks at
    /// every message. The default keeps none (PostgreSQL: its change numbers are transaction
    /// ids, which a restore into another cluster does not carry over, so a recorded watermark
    /// could hide messages written after such a restore).
    fn scoring_mark(&self) -> StoreResult<Option<ScoringMark>> {
        Ok(None)
    }

    /// Records `mark`, unless the recorded one is of a later model version, or of the same
    /// one with a watermark at or after it (several processes, even of different versions,
    /// may score one database: a later version's mark holds for every earlier one). Outside
    /// the change sequence: recording it is not a change the change stream delivers.
    fn record_scoring_mark(&self, mark: ScoringMark) -> StoreResult<()> {
        let _ = mark;
        Ok(())
    }
}
