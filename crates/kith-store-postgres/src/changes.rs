//! The change feed: every row written or removed since a watermark, in sequence order.
//!
//! `seq` is the id of the transaction that wrote a row. Ids are handed out when transactions
//! start writing, not when they commit, so a reader cannot simply deliver "everything up to the
//! highest seq seen": a transaction with a lower id may still be running and commit later. The
//! read therefore stops below `xmin`, the oldest transaction still running in its snapshot;
//! everything below it has finished, and the next read starts at `xmin`. (Refinement: running
//! transactions of other databases of the server are left out, see [`HORIZON`].)

use kith_model::Kind;
use kith_store::{
    ActivityFact, ActivityId, Change, ChannelId, ChannelRow, EntityKey, IdentityId, MemberId,
    SourceId, SourceRow, StoreError, StoreResult, TextFact, ThreadId, ThreadRow, Watermark,
};
use postgres::Row;
use postgres::fallible_iterator::FallibleIterator;

use crate::members::{identity_from_row, member_from_row};
use crate::text::small;
use crate::{PgStore, col, db_err, flag};

/// The horizon of this snapshot: the oldest transaction still running in it, leaving out those
/// seen running in *another* database (they cannot write here, and on a shared server they would
/// otherwise hold every reader back). A running transaction whose database cannot be told (it
/// ended meanwhile, or `pg_stat_activity` hides it from this role) counts, so the horizon errs
/// on the early side: changes are delivered later, never skipped.
const HORIZON: &str = "
SELECT COALESCE(
         (SELECT min(x::text::bigint)
            FROM pg_snapshot_xip(pg_current_snapshot()) AS x
           WHERE NOT EXISTS (SELECT 1 FROM pg_stat_activity a
                              WHERE a.backend_xid = x::xid
                                AND a.datid IS DISTINCT FROM (SELECT oid FROM pg_database WHERE datname = current_database()))),
         pg_snapshot_xmax(pg_current_snapshot())::text::bigint) AS horizon";

/// The horizon of the transaction's snapshot ([`HORIZON`]); as the transaction's first
/// statement it also fixes the snapshot the following reads see.
fn horizon(tx: &mut postgres::Transaction<'_>) -> StoreResult<i64> {
    let row = tx
        .query_one(HORIZON, &[])
        .map_err(|e| db_err("reading the snapshot horizon", e))?;
    col(&row, "horizon")
}

/// One query per table, parents before children, removals last: a reader applying changes in
/// order never meets an id it has not seen. Each table's columns are read by [`decode`] under
/// the names given here.
const FEEDS: [(Feed, &str); 8] = [
    (
        Feed::Source,
        "SELECT id, name, format, base_url FROM sources WHERE seq >= $1 AND seq < $2 ORDER BY id",
    ),
    (
        Feed::Channel,
        "SELECT id, source_id, ext_id FROM channels WHERE seq >= $1 AND seq < $2 ORDER BY id",
    ),
    // With the topics of the same threads, grouped beside them: a read from zero merges the
    // two tables in id order (an empty topics table costs nothing), a later read looks up the
    // few changed threads' topics.
    (
        Feed::Thread,
        "SELECT t.id, t.source_id, t.ext_id, t.inferred, COALESCE(x.topics, '') AS topics
           FROM threads t
           LEFT JOIN (SELECT g.thread_id, string_agg(g.topic, E'\\n' ORDER BY g.topic COLLATE \"C\") AS topics
                        FROM thread_topics g JOIN threads c ON c.id = g.thread_id
                       WHERE c.seq >= $1 AND c.seq < $2
                       GROUP BY g.thread_id) x ON x.thread_id = t.id
          WHERE t.seq >= $1 AND t.seq < $2 ORDER BY t.id",
    ),
    (
        Feed::Member,
        "SELECT id, display_name, team, team_since, bot, merged_into, anonymous, created_at
           FROM members WHERE seq >= $1 AND seq < $2 ORDER BY id",
    ),
    (
        Feed::Identity,
        "SELECT id, source_id, ext_id, name, handle, email, member_id, anonymous, team, bot
           FROM identities WHERE seq >= $1 AND seq < $2 ORDER BY id",
    ),
    (
        Feed::Activity,
        "SELECT id, source_id, kind, ts, identity_id, channel_id, thread_id, reply_to_id, deleted, to_ext
           FROM activities WHERE seq >= $1 AND seq < $2 ORDER BY id",
    ),
    (
        Feed::Text,
        "SELECT activity_id, scored, sentiment, confidence, hostility, hostile, intents
           FROM text_scores WHERE seq >= $1 AND seq < $2 ORDER BY activity_id",
    ),
    (
        Feed::Removal,
        "SELECT entity, entity_id FROM tombstones WHERE seq >= $1 AND seq < $2 ORDER BY seq, entity_id",
    ),
];

#[derive(Clone, Copy, PartialEq)]
enum Feed {
    Source,
    Channel,
    Thread,
    Member,
    Identity,
    Activity,
    Text,
    Removal,
}

impl PgStore {
    /// The changes since `since`; without `activities`, every change but the activities.
    pub(crate) fn changes(
        &self,
        since: Watermark,
        activities: bool,
        sink: &mut dyn FnMut(Change) -> StoreResult<()>,
    ) -> StoreResult<Watermark> {
        self.read("reading changes", |tx| {
            // The first statement fixes the transaction's snapshot; the feeds below read the same one.
            let horizon = horizon(tx)?;
            if horizon <= since.0 {
                return Ok(since);
            }
            for (feed, sql) in FEEDS {
                // From zero the reader has nothing to remove.
                if (feed == Feed::Removal && since == Watermark::ZERO)
                    || (matches!(feed, Feed::Activity | Feed::Text) && !activities)
                {
                    continue;
                }
                let mut rows = tx
                    .query_raw(sql, [since.0, horizon])
                    .map_err(|e| db_err("reading changes", e))?;
                while let Some(row) = rows.next().map_err(|e| db_err("reading changes", e))? {
                    sink(decode(feed, &row)?)?;
                }
            }
            Ok(Watermark(horizon))
        })
    }
}

/// The entity feeds of [`FEEDS`] with only the columns an [`EntityKey`] holds: the same rows
/// in the same order.
const KEY_FEEDS: [(Feed, &str); 5] = [
    (
        Feed::Source,
        "SELECT id, name FROM sources WHERE seq < $1 ORDER BY id",
    ),
    (
        Feed::Channel,
        "SELECT id, source_id, ext_id FROM channels WHERE seq < $1 ORDER BY id",
    ),
    // The topics of all threads, grouped beside the threads (an empty table costs nothing).
    (
        Feed::Thread,
        "SELECT t.id, COALESCE(x.topics, '') AS topics
           FROM threads t
           LEFT JOIN (SELECT thread_id, string_agg(topic, E'\\n' ORDER BY topic COLLATE \"C\") AS topics
                        FROM thread_topics GROUP BY thread_id) x ON x.thread_id = t.id
          WHERE t.seq < $1 ORDER BY t.id",
    ),
    (
        Feed::Member,
        "SELECT id, team, team_since, bot, anonymous FROM members WHERE seq < $1 ORDER BY id",
    ),
    (
        Feed::Identity,
        "SELECT id, member_id, source_id, ext_id FROM identities WHERE seq < $1 ORDER BY id",
    ),
];

impl PgStore {
    /// `Store::read_entity_keys`: the entities `changes` delivers from zero, below the same
    /// horizon, each lent as a key borrowing its strings from the row.
    pub(crate) fn entity_keys(
        &self,
        sink: &mut dyn FnMut(EntityKey<'_>) -> StoreResult<()>,
    ) -> StoreResult<Watermark> {
        self.read("reading entities", |tx| {
            let horizon = horizon(tx)?;
            for (feed, sql) in KEY_FEEDS {
                let mut rows = tx
                    .query_raw(sql, [horizon])
                    .map_err(|e| db_err("reading entities", e))?;
                while let Some(row) = rows.next().map_err(|e| db_err("reading entities", e))? {
                    sink(match feed {
                        Feed::Source => EntityKey::Source {
                            id: SourceId(col(&row, "id")?),
                            name: col(&row, "name")?,
                        },
                        Feed::Channel => EntityKey::Channel {
                            id: ChannelId(col(&row, "id")?),
                            source: SourceId(col(&row, "source_id")?),
                            ext_id: col(&row, "ext_id")?,
                        },
                        Feed::Thread => EntityKey::Thread {
                            id: ThreadId(col(&row, "id")?),
                            topics: col(&row, "topics")?,
                        },
                        Feed::Member => EntityKey::Member {
                            id: MemberId(col(&row, "id")?),
                            team: flag(&row, "team")?,
                            team_since: col(&row, "team_since")?,
                            bot: flag(&row, "bot")?,
                            anonymous: flag(&row, "anonymous")?,
                        },
                        _ => EntityKey::Identity {
                            id: IdentityId(col(&row, "id")?),
                            member: MemberId(col(&row, "member_id")?),
                            source: SourceId(col(&row, "source_id")?),
                            ext_id: col(&row, "ext_id")?,
                        },
                    })?;
                }
            }
            Ok(Watermark(horizon))
        })
    }
}

impl PgStore {
    /// `Store::activity_id_range`: the ids and the horizon of the same snapshot.
    pub(crate) fn activity_ids(&self) -> StoreResult<(std::ops::Range<i64>, Watermark)> {
        self.read("reading the activity ids", |tx| {
            let horizon = horizon(tx)?;
            let row = tx
                .query_one("SELECT min(id) AS lo, max(id) AS hi FROM activities", &[])
                .map_err(|e| db_err("reading the activity ids", e))?;
            let (lo, hi): (Option<i64>, Option<i64>) = (col(&row, "lo")?, col(&row, "hi")?);
            let ids = match (lo, hi) {
                (Some(lo), Some(hi)) => lo..hi.saturating_add(1),
                _ => 0..0,
            };
            Ok((ids, Watermark(horizon)))
        })
    }

    /// `Store::read_text_scores`: the scores of the activities in `ids` stamped below
    /// `before`, in activity id order.
    pub(crate) fn text_scores_in(
        &self,
        ids: std::ops::Range<i64>,
        before: Watermark,
        sink: &mut dyn FnMut(&TextFact) -> StoreResult<()>,
    ) -> StoreResult<()> {
        self.read("reading text scores", |tx| {
            let mut rows = tx
                .query_raw(
                    "SELECT activity_id, scored, sentiment, confidence, hostility, hostile, intents
                       FROM text_scores
                      WHERE activity_id >= $1 AND activity_id < $2 AND seq < $3
                      ORDER BY activity_id",
                    [ids.start, ids.end, before.0],
                )
                .map_err(|e| db_err("reading text scores", e))?;
            while let Some(row) = rows.next().map_err(|e| db_err("reading text scores", e))? {
                if let Change::Text(fact) = decode(Feed::Text, &row)? {
                    sink(&fact)?;
                }
            }
            Ok(())
        })
    }

    /// `Store::read_activities`: the activities in `ids` stamped below `before`, in id order.
    pub(crate) fn activities_in(
        &self,
        ids: std::ops::Range<i64>,
        before: Watermark,
        sink: &mut dyn FnMut(&ActivityFact) -> StoreResult<()>,
    ) -> StoreResult<()> {
        self.read("reading activities", |tx| {
            let mut rows = tx
                .query_raw(
                    "SELECT id, source_id, kind, ts, identity_id, channel_id, thread_id, reply_to_id, deleted, to_ext
                       FROM activities WHERE id >= $1 AND id < $2 AND seq < $3 ORDER BY id",
                    [ids.start, ids.end, before.0],
                )
                .map_err(|e| db_err("reading activities", e))?;
            while let Some(row) = rows.next().map_err(|e| db_err("reading activities", e))? {
                if let Change::Activity(fact) = decode(Feed::Activity, &row)? {
                    sink(&fact)?;
                }
            }
            Ok(())
        })
    }
}

fn decode(feed: Feed, row: &Row) -> StoreResult<Change> {
    Ok(match feed {
        Feed::Source => Change::Source(SourceRow {
            id: SourceId(col(row, "id")?),
            name: col(row, "name")?,
            format: col(row, "format")?,
            base_url: col(row, "base_url")?,
        }),
        Feed::Channel => Change::Channel(ChannelRow {
            id: ChannelId(col(row, "id")?),
            source: SourceId(col(row, "source_id")?),
            ext_id: col(row, "ext_id")?,
        }),
        Feed::Thread => Change::Thread(ThreadRow {
            id: ThreadId(col(row, "id")?),
            source: SourceId(col(row, "source_id")?),
            ext_id: col(row, "ext_id")?,
            inferred: flag(row, "inferred")?,
            topics: col(row, "topics")?,
        }),
        Feed::Member => Change::Member(member_from_row(row)?),
        Feed::Identity => Change::Identity(identity_from_row(row)?),
        Feed::Activity => {
            let id: i64 = col(row, "id")?;
            let kind: String = col(row, "kind")?;
            let kind: Kind = kind
                .parse()
                .map_err(|e| StoreError::backend(format!("reading activity {id}"), e))?;
            Change::Activity(ActivityFact {
                id: ActivityId(id),
                source: SourceId(col(row, "source_id")?),
                kind,
                ts: col(row, "ts")?,
                identity: IdentityId(col(row, "identity_id")?),
                channel: col::<Option<i64>>(row, "channel_id")?.map(ChannelId),
                thread: col::<Option<i64>>(row, "thread_id")?.map(ThreadId),
                reply_to: col::<Option<i64>>(row, "reply_to_id")?.map(ActivityId),
                to: match col::<Option<String>>(row, "to_ext")? {
                    Some(json) => serde_json::from_str(&json).map_err(|e| {
                        StoreError::backend(format!("reading activity {id}: to_ext"), e)
                    })?,
                    None => Vec::new(),
                },
                deleted: flag(row, "deleted")?,
            })
        }
        Feed::Text => Change::Text(TextFact {
            activity: ActivityId(col(row, "activity_id")?),
            scored: flag(row, "scored")?,
            sentiment: col(row, "sentiment")?,
            confidence: col(row, "confidence")?,
            hostility: col(row, "hostility")?,
            hostile: flag(row, "hostile")?,
            intents: small(col::<i32>(row, "intents")?, "intents")?,
        }),
        Feed::Removal => {
            let id: i64 = col(row, "entity_id")?;
            let entity: String = col(row, "entity")?;
            match entity.as_str() {
                "source" => Change::SourceRemoved(SourceId(id)),
                "channel" => Change::ChannelRemoved(ChannelId(id)),
                "thread" => Change::ThreadRemoved(ThreadId(id)),
                "member" => Change::MemberRemoved(MemberId(id)),
                "identity" => Change::IdentityRemoved(IdentityId(id)),
                "activity" => Change::ActivityRemoved(ActivityId(id)),
                other => {
                    return Err(StoreError::backend(
                        "reading changes",
                        format!("unknown tombstone entity `{other}`"),
                    ));
                }
            }
        }
    })
}
