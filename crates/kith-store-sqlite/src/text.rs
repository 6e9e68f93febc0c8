//! Text scores (schema v4): the messages a scoring pass reads, the scores it writes, and the
//! scores the views read. Never on the ingest path.

use kith_store::{ActivityId, StoreResult, TextScore, TextSelection, TextToScore};
use rusqlite::{Connection, Row, params};

use crate::error::Context;

/// The live messages with text, as `a`; `?1` = after, `?2` = all (0/1), `?3` = model version.
/// SQLite walks `activities` by id from `?1` and looks each score up by its key.
const SELECTED: &str = "FROM activities a LEFT JOIN text_scores s ON s.activity_id = a.id \
     WHERE a.id > ?1 AND a.deleted = 0 AND a.kind IN ('post', 'reply', 'answer', 'feedback') \
       AND a.text IS NOT NULL AND a.text <> '' \
       AND (?2 = 1 OR s.activity_id IS NULL OR s.activity_seq <> a.seq OR s.model_version < ?3)";

pub(crate) fn to_score(
    conn: &Connection,
    selection: TextSelection,
    after: Option<ActivityId>,
    limit: usize,
) -> StoreResult<Vec<TextToScore>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT a.id, a.seq, a.text, a.kind {SELECTED} ORDER BY a.id LIMIT ?4"
        ))
        .ctx("preparing to read messages to score")?;
    let rows = stmt
        .query_map(
            params![
                after.map_or(0, |a| a.0),
                selection.all,
                selection.model_version,
                limit
            ],
            |r| {
                let kind: String = r.get(3)?;
                let kind = kind.parse::<kith_model::Kind>().map_err(|e| {
                    rusqlite::Error::FromSqlConversionFailure(
                        3,
                        rusqlite::types::Type::Text,
                        Box::new(e),
                    )
                })?;
                Ok(TextToScore {
                    id: ActivityId(r.get(0)?),
                    seq: r.get(1)?,
                    kind,
                    text: r.get(2)?,
                })
            },
        )
        .ctx("reading messages to score")?;
    rows.collect::<rusqlite::Result<_>>()
        .ctx("reading messages to score")
}

pub(crate) fn count_to_score(
    conn: &Connection,
    selection: TextSelection,
    after: Option<ActivityId>,
) -> StoreResult<u64> {
    let n: i64 = conn
        .prepare_cached(&format!("SELECT count(*) {SELECTED}"))
        .and_then(|mut s| {
            s.query_row(
                params![
                    after.map_or(0, |a| a.0),
                    selection.all,
                    selection.model_version
                ],
                |r| r.get(0),
            )
        })
        .ctx("counting messages to score")?;
    Ok(crate::count(n))
}

pub(crate) fn write(conn: &Connection, seq: i64, scores: &[TextScore]) -> StoreResult<()> {
    // The activity may have been removed since it was read: its score is dropped.
    let mut stmt = conn
        .prepare_cached(
            "INSERT INTO text_scores (activity_id, activity_seq, model_version, language, scored, \
                 sentiment, confidence, hostility, hostile, intents, seq) \
             SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11 \
             WHERE EXISTS (SELECT 1 FROM activities WHERE id = ?1) \
             ON CONFLICT (activity_id) DO UPDATE SET activity_seq = excluded.activity_seq, \
                 model_version = excluded.model_version, language = excluded.language, \
                 scored = excluded.scored, sentiment = excluded.sentiment, \
                 confidence = excluded.confidence, hostility = excluded.hostility, \
                 hostile = excluded.hostile, intents = excluded.intents, seq = excluded.seq",
        )
        .ctx("preparing to store text scores")?;
    for s in scores {
        stmt.execute(params![
            s.activity.0,
            s.activity_seq,
            s.model_version,
            s.language,
            s.scored,
            s.sentiment,
            s.confidence,
            s.hostility,
            s.hostile,
            s.intents,
            seq
        ])
        .with_ctx(|| format!("storing the text scores of activity {}", s.activity))?;
    }
    Ok(())
}

pub(crate) const SCORE_COLUMNS: &str = "activity_id, activity_seq, model_version, language, \
     scored, sentiment, confidence, hostility, hostile, intents";

pub(crate) fn score_row(r: &Row<'_>) -> rusqlite::Result<TextScore> {
    Ok(TextScore {
        activity: ActivityId(r.get(0)?),
        activity_seq: r.get(1)?,
        model_version: r.get(2)?,
        language: r.get(3)?,
        scored: r.get(4)?,
        sentiment: r.get(5)?,
        confidence: r.get(6)?,
        hostility: r.get(7)?,
        hostile: r.get(8)?,
        intents: r.get(9)?,
    })
}

pub(crate) fn scores(conn: &Connection, ids: &[ActivityId]) -> StoreResult<Vec<TextScore>> {
    let mut ids: Vec<i64> = ids.iter().map(|a| a.0).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT {SCORE_COLUMNS} FROM text_scores WHERE activity_id = ?1"
        ))
        .ctx("preparing to read text scores")?;
    let mut out = Vec::new();
    for id in ids {
        let mut rows = stmt.query([id]).ctx("reading text scores")?;
        if let Some(row) = rows.next().ctx("reading text scores")? {
            out.push(score_row(row).ctx("reading text scores")?);
        }
    }
    Ok(out)
}

/// The `kith_meta` key of the scoring mark: `"<model version> <watermark>"`.
pub(crate) const MARK_KEY: &str = "scoring_mark";

/// The recorded scoring mark; a value kith cannot read is no mark (a scorer then looks at
/// every message, which is always correct).
pub(crate) fn mark(conn: &Connection) -> StoreResult<Option<kith_store::ScoringMark>> {
    Ok(crate::meta(conn, MARK_KEY)?.and_then(|v| {
        let (version, watermark) = v.split_once(' ')?;
        Some(kith_store::ScoringMark {
            model_version: version.parse().ok()?,
            watermark: kith_store::Watermark(watermark.parse().ok()?),
        })
    }))
}
