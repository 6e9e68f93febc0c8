//! The change feed: every row written or removed since a watermark, in sequence order.
//!
//! `seq` is the id of the transaction that wrote a row. Ids are handed out when transactions
//! start writing, not when they commit, so a reader cannot simply deliver "everything up to the
//! highest seq seen": a transaction with a lower id may still be running and commit later. The
//! read therefore stops below `xmin`, the oldest transaction still running in its snapshot;
//! everything below it has finished, and the next read starts at `xmin`.

use kith_model::Kind;
use kith_store::{
    ActivityFact, ActivityId, Change, ChannelId, ChannelRow, IdentityId, IdentityRow, MemberId,
    MemberRow, SourceId, SourceRow, StoreError, StoreResult, ThreadId, ThreadRow, Watermark,
};
use postgres::Row;
use postgres::fallible_iterator::FallibleIterator;

use crate::{PgStore, col, db_err};

/// One query over every table, in one shape: `tag` says which table, `i1..i7` and `t1..t4` are
/// its columns (see [`decode`]).
const FEED: &str = "
SELECT seq, 0 AS tag, id, NULL::bigint AS i1, NULL::bigint AS i2, NULL::bigint AS i3, NULL::bigint AS i4,
       NULL::bigint AS i5, NULL::bigint AS i6, NULL::bigint AS i7, name AS t1, format AS t2, base_url AS t3, NULL::text AS t4
  FROM sources WHERE seq >= $1 AND seq < $2
UNION ALL
SELECT seq, 1, id, source_id, NULL, NULL, NULL, NULL, NULL, NULL, ext_id, NULL, NULL, NULL
  FROM channels WHERE seq >= $1 AND seq < $2
UNION ALL
SELECT seq, 2, id, source_id, inferred, NULL, NULL, NULL, NULL, NULL, ext_id, NULL, NULL, NULL
  FROM threads WHERE seq >= $1 AND seq < $2
UNION ALL
SELECT seq, 3, id, team, team_since, bot, merged_into, anonymous, created_at, NULL, display_name, NULL, NULL, NULL
  FROM members WHERE seq >= $1 AND seq < $2
UNION ALL
SELECT seq, 4, id, source_id, member_id, anonymous, team, bot, NULL, NULL, ext_id, name, handle, email
  FROM identities WHERE seq >= $1 AND seq < $2
UNION ALL
SELECT seq, 5, id, source_id, ts, identity_id, channel_id, thread_id, reply_to_id, deleted, kind, NULL, NULL, NULL
  FROM activities WHERE seq >= $1 AND seq < $2
UNION ALL
SELECT seq, 6, entity_id, NULL, NULL, NULL, NULL, NULL, NULL, NULL, entity, NULL, NULL, NULL
  FROM tombstones WHERE seq >= $1 AND seq < $2
ORDER BY seq, tag, id";

impl PgStore {
    pub(crate) fn changes(
        &self,
        since: Watermark,
        sink: &mut dyn FnMut(Change) -> StoreResult<()>,
    ) -> StoreResult<Watermark> {
        self.read("reading changes", |tx| {
            // The first statement fixes the transaction's snapshot; the feed below reads the same one.
            let row = tx
                .query_one(
                    "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS xmin",
                    &[],
                )
                .map_err(|e| db_err("reading the snapshot horizon", e))?;
            let xmin: i64 = col(&row, "xmin")?;
            if xmin <= since.0 {
                return Ok(since);
            }
            let mut rows = tx
                .query_raw(FEED, [since.0, xmin])
                .map_err(|e| db_err("reading changes", e))?;
            while let Some(row) = rows.next().map_err(|e| db_err("reading changes", e))? {
                sink(decode(&row)?)?;
            }
            Ok(Watermark(xmin))
        })
    }
}

fn flag(row: &Row, name: &str) -> StoreResult<bool> {
    Ok(col::<Option<i64>>(row, name)?.unwrap_or(0) != 0)
}

fn req(row: &Row, name: &str) -> StoreResult<i64> {
    col::<Option<i64>>(row, name)?
        .ok_or_else(|| StoreError::backend("reading changes", format!("`{name}` is NULL")))
}

fn text(row: &Row, name: &str) -> StoreResult<String> {
    col::<Option<String>>(row, name)?
        .ok_or_else(|| StoreError::backend("reading changes", format!("`{name}` is NULL")))
}

fn decode(row: &Row) -> StoreResult<Change> {
    let tag: i32 = col(row, "tag")?;
    let id: i64 = col(row, "id")?;
    Ok(match tag {
        0 => Change::Source(SourceRow {
            id: SourceId(id),
            name: text(row, "t1")?,
            format: text(row, "t2")?,
            base_url: col(row, "t3")?,
        }),
        1 => Change::Channel(ChannelRow {
            id: ChannelId(id),
            source: SourceId(req(row, "i1")?),
            ext_id: text(row, "t1")?,
        }),
        2 => Change::Thread(ThreadRow {
            id: ThreadId(id),
            source: SourceId(req(row, "i1")?),
            ext_id: text(row, "t1")?,
            inferred: flag(row, "i2")?,
        }),
        3 => Change::Member(MemberRow {
            id: MemberId(id),
            display_name: col(row, "t1")?,
            team: flag(row, "i1")?,
            team_since: col(row, "i2")?,
            bot: flag(row, "i3")?,
            merged_into: col::<Option<i64>>(row, "i4")?.map(MemberId),
            anonymous: flag(row, "i5")?,
            created_at: req(row, "i6")?,
        }),
        4 => Change::Identity(IdentityRow {
            id: IdentityId(id),
            source: SourceId(req(row, "i1")?),
            ext_id: text(row, "t1")?,
            name: col(row, "t2")?,
            handle: col(row, "t3")?,
            email: col(row, "t4")?,
            member: MemberId(req(row, "i2")?),
            anonymous: flag(row, "i3")?,
            team: flag(row, "i4")?,
            bot: flag(row, "i5")?,
        }),
        5 => {
            let kind = text(row, "t1")?;
            let kind: Kind = kind
                .parse()
                .map_err(|e| StoreError::backend(format!("reading activity {id}"), e))?;
            Change::Activity(ActivityFact {
                id: ActivityId(id),
                source: SourceId(req(row, "i1")?),
                kind,
                ts: req(row, "i2")?,
                identity: IdentityId(req(row, "i3")?),
                channel: col::<Option<i64>>(row, "i4")?.map(ChannelId),
                thread: col::<Option<i64>>(row, "i5")?.map(ThreadId),
                reply_to: col::<Option<i64>>(row, "i6")?.map(ActivityId),
                deleted: flag(row, "i7")?,
            })
        }
        6 => match text(row, "t1")?.as_str() {
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
        },
        other => {
            return Err(StoreError::backend(
                "reading changes",
                format!("unknown change tag {other}"),
            ));
        }
    })
}
