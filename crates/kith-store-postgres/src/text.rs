//! Text scores (schema v4): the messages a scoring pass reads, the scores it writes, and the
//! scores the views read. Never on the ingest path.

use kith_store::{
    ActivityId, StoreError, StoreResult, TextScore, TextScores, TextSelection, TextToScore,
};
use postgres::Row;

use crate::{PgStore, col, count, db_err, flag};

/// The live messages with text, as `a`; `$1` = after, `$2` = all, `$3` = model version.
const SELECTED: &str = "FROM activities a LEFT JOIN text_scores s ON s.activity_id = a.id
     WHERE a.id > $1 AND a.deleted = 0 AND a.kind IN ('post', 'reply', 'answer', 'feedback')
       AND a.text IS NOT NULL AND a.text <> ''
       AND ($2 OR s.activity_id IS NULL OR s.activity_seq <> a.seq OR s.model_version < $3)";

const SCORE_COLUMNS: &str = "activity_id, activity_seq, model_version, language, scored, \
     sentiment, confidence, hostility, hostile, intents";

/// A bit set read from an `INTEGER` column.
pub(crate) fn small(v: i32, what: &str) -> StoreResult<u16> {
    u16::try_from(v).map_err(|_| {
        StoreError::backend(
            format!("reading column `{what}`"),
            format!("{v} is not a 16-bit set"),
        )
    })
}

fn version(v: u32) -> i32 {
    i32::try_from(v).unwrap_or(i32::MAX)
}

fn score_row(row: &Row) -> StoreResult<TextScore> {
    Ok(TextScore {
        activity: ActivityId(col(row, "activity_id")?),
        activity_seq: col(row, "activity_seq")?,
        model_version: u32::try_from(col::<i32>(row, "model_version")?).unwrap_or(0),
        language: col(row, "language")?,
        scored: flag(row, "scored")?,
        sentiment: col(row, "sentiment")?,
        confidence: col(row, "confidence")?,
        hostility: col(row, "hostility")?,
        hostile: flag(row, "hostile")?,
        intents: small(col(row, "intents")?, "intents")?,
    })
}

impl TextScores for PgStore {
    fn texts_to_score(
        &self,
        selection: TextSelection,
        after: Option<ActivityId>,
        limit: usize,
    ) -> StoreResult<Vec<TextToScore>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read("reading messages to score", |tx| {
            let rows = tx
                .query(
                    &format!(
                        "SELECT a.id, a.seq, a.text, a.kind {SELECTED} ORDER BY a.id LIMIT $4"
                    ),
                    &[
                        &after.map_or(0, |a| a.0),
                        &selection.all,
                        &version(selection.model_version),
                        &limit,
                    ],
                )
                .map_err(|e| db_err("reading messages to score", e))?;
            rows.iter()
                .map(|r| {
                    let kind: String = col(r, "kind")?;
                    let kind = kind.parse::<kith_model::Kind>().map_err(|e| {
                        StoreError::backend("reading the kind of a message to score", e)
                    })?;
                    Ok(TextToScore {
                        id: ActivityId(col(r, "id")?),
                        seq: col(r, "seq")?,
                        kind,
                        text: col(r, "text")?,
                    })
                })
                .collect()
        })
    }

    fn count_texts_to_score(
        &self,
        selection: TextSelection,
        after: Option<ActivityId>,
    ) -> StoreResult<u64> {
        self.read("counting messages to score", |tx| {
            let row = tx
                .query_one(
                    &format!("SELECT count(*) AS n {SELECTED}"),
                    &[
                        &after.map_or(0, |a| a.0),
                        &selection.all,
                        &version(selection.model_version),
                    ],
                )
                .map_err(|e| db_err("counting messages to score", e))?;
            Ok(count(col(&row, "n")?))
        })
    }

    fn write_text_scores(&self, scores: &[TextScore]) -> StoreResult<()> {
        if scores.is_empty() {
            return Ok(());
        }
        self.write("storing text scores", |tx, xid| {
            // One statement per chunk: the rows travel as arrays, scores of activities removed
            // since they were read are dropped by the join.
            let mut ids = Vec::with_capacity(scores.len());
            let mut seqs = Vec::with_capacity(scores.len());
            let mut versions = Vec::with_capacity(scores.len());
            let mut languages = Vec::with_capacity(scores.len());
            let mut scored = Vec::with_capacity(scores.len());
            let mut sentiments = Vec::with_capacity(scores.len());
            let mut confidences = Vec::with_capacity(scores.len());
            let mut hostilities = Vec::with_capacity(scores.len());
            let mut hostile = Vec::with_capacity(scores.len());
            let mut intents = Vec::with_capacity(scores.len());
            for s in scores {
                ids.push(s.activity.0);
                seqs.push(s.activity_seq);
                versions.push(version(s.model_version));
                languages.push(s.language.as_str());
                scored.push(i16::from(s.scored));
                sentiments.push(s.sentiment);
                confidences.push(s.confidence);
                hostilities.push(s.hostility);
                hostile.push(i16::from(s.hostile));
                intents.push(i32::from(s.intents));
            }
            tx.execute(
                "INSERT INTO text_scores (activity_id, activity_seq, model_version, language, scored,
                     sentiment, confidence, hostility, hostile, intents, seq)
                 SELECT u.*, $11::bigint FROM unnest($1::bigint[], $2::bigint[], $3::int[], $4::text[],
                     $5::smallint[], $6::smallint[], $7::smallint[], $8::smallint[], $9::smallint[], $10::int[])
                     AS u (activity_id, activity_seq, model_version, language, scored, sentiment,
                           confidence, hostility, hostile, intents)
                 JOIN activities a ON a.id = u.activity_id
                 ON CONFLICT (activity_id) DO UPDATE SET activity_seq = EXCLUDED.activity_seq,
                     model_version = EXCLUDED.model_version, language = EXCLUDED.language,
                     scored = EXCLUDED.scored, sentiment = EXCLUDED.sentiment,
                     confidence = EXCLUDED.confidence, hostility = EXCLUDED.hostility,
                     hostile = EXCLUDED.hostile, intents = EXCLUDED.intents, seq = EXCLUDED.seq",
                &[
                    &ids,
                    &seqs,
                    &versions,
                    &languages,
                    &scored,
                    &sentiments,
                    &confidences,
                    &hostilities,
                    &hostile,
                    &intents,
                    &xid,
                ],
            )
            .map_err(|e| db_err("storing text scores", e))?;
            Ok(())
        })
    }

    fn text_scores(&self, ids: &[ActivityId]) -> StoreResult<Vec<TextScore>> {
        let ids: Vec<i64> = ids.iter().map(|a| a.0).collect();
        self.read("reading text scores", |tx| {
            let rows = tx
                .query(
                    &format!(
                        "SELECT {SCORE_COLUMNS} FROM text_scores WHERE activity_id = ANY($1) ORDER BY activity_id"
                    ),
                    &[&ids],
                )
                .map_err(|e| db_err("reading text scores", e))?;
            rows.iter().map(score_row).collect()
        })
    }
}
