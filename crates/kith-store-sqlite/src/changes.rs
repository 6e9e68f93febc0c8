//! `read_changes`: every row stamped at or after a watermark, parents before children, then
//! the removals, all from one read transaction.

use kith_model::Kind;
use kith_store::{
    ActivityFact, ActivityId, Change, ChannelId, ChannelRow, EntityKey, IdentityId, MemberId,
    SourceId, SourceRow, StoreError, StoreResult, TextFact, ThreadId, ThreadRow, Watermark,
};
use rusqlite::{Connection, Row};

use crate::error::Context;
use crate::members::{IDENTITY_COLUMNS, identity_row, member_row};
use crate::raw::{RowValues, for_each_row};

type Sink<'a> = dyn FnMut(Change) -> StoreResult<()> + 'a;

/// The change counter of the read transaction's snapshot: every row with a `seq` at or below
/// it is committed.
fn change_counter(conn: &Connection) -> StoreResult<i64> {
    conn.query_row(
        "SELECT CAST(value AS INTEGER) FROM kith_meta WHERE key = 'seq'",
        [],
        |r| r.get(0),
    )
    .ctx("reading the change counter")
}

/// Call inside a read transaction. Without `activities`, every change but the activities
/// (`Store::read_changes_except_activities`).
pub(crate) fn read(
    conn: &Connection,
    since: Watermark,
    activities: bool,
    sink: &mut Sink<'_>,
) -> StoreResult<Watermark> {
    // The counter of this snapshot: every row with a seq at or below it is committed.
    let counter = change_counter(conn)?;
    let since = since.0;

    stream(
        conn,
        "SELECT id, name, format, base_url FROM sources WHERE seq >= ?1 ORDER BY id",
        since,
        sink,
        |r| {
            Ok(Change::Source(SourceRow {
                id: SourceId(r.get(0)?),
                name: r.get(1)?,
                format: r.get(2)?,
                base_url: r.get(3)?,
            }))
        },
    )?;
    stream(
        conn,
        &entity_query(
            "SELECT id, source_id, ext_id FROM channels",
            "channels_seq",
            since,
        ),
        since,
        sink,
        |r| {
            Ok(Change::Channel(ChannelRow {
                id: ChannelId(r.get(0)?),
                source: SourceId(r.get(1)?),
                ext_id: r.get(2)?,
            }))
        },
    )?;
    stream(
        conn,
        &entity_query(
            "SELECT id, source_id, ext_id, inferred, \
             coalesce((SELECT group_concat(topic, char(10)) FROM \
                 (SELECT topic FROM thread_topics WHERE thread_id = threads.id ORDER BY topic)), '') \
             FROM threads",
            "threads_seq",
            since,
        ),
        since,
        sink,
        |r| {
            Ok(Change::Thread(ThreadRow {
                id: ThreadId(r.get(0)?),
                source: SourceId(r.get(1)?),
                ext_id: r.get(2)?,
                inferred: r.get(3)?,
                topics: r.get(4)?,
            }))
        },
    )?;
    stream(
        conn,
        &entity_query(
            "SELECT id, display_name, team, team_since, bot, merged_into, anonymous, created_at FROM members",
            "members_seq",
            since,
        ),
        since,
        sink,
        |r| Ok(Change::Member(member_row(r)?)),
    )?;
    stream(
        conn,
        &entity_query(
            &format!("SELECT {IDENTITY_COLUMNS} FROM identities"),
            "identities_seq",
            since,
        ),
        since,
        sink,
        |r| Ok(Change::Identity(identity_row(r)?)),
    )?;
    if activities {
        read_activity_changes(conn, since, sink)?;
    }
    // From zero the reader has nothing to remove.
    if since > 0 {
        stream(
            conn,
            "SELECT entity, entity_id FROM tombstones WHERE seq >= ?1 ORDER BY seq, rowid",
            since,
            sink,
            |r| {
                let entity: String = r.get(0)?;
                let id: i64 = r.get(1)?;
                Ok(match entity.as_str() {
                    "source" => Change::SourceRemoved(SourceId(id)),
                    "channel" => Change::ChannelRemoved(ChannelId(id)),
                    "thread" => Change::ThreadRemoved(ThreadId(id)),
                    "member" => Change::MemberRemoved(MemberId(id)),
                    "identity" => Change::IdentityRemoved(IdentityId(id)),
                    "activity" => Change::ActivityRemoved(ActivityId(id)),
                    other => {
                        return Err(rusqlite::Error::FromSqlConversionFailure(
                            0,
                            rusqlite::types::Type::Text,
                            format!("unknown tombstone entity `{other}`").into(),
                        ));
                    }
                })
            },
        )?;
    }
    Ok(Watermark(counter + 1))
}

/// `Store::read_entity_keys`: the entities `read` delivers from zero, each decoded into a key
/// that borrows its strings from the row (a first snapshot build reads millions of threads and
/// identities, and keeps none of their other columns). Call inside a read transaction.
pub(crate) fn read_entity_keys(
    conn: &Connection,
    sink: &mut dyn FnMut(EntityKey<'_>) -> StoreResult<()>,
) -> StoreResult<Watermark> {
    let counter = change_counter(conn)?;
    keys(
        conn,
        "SELECT id, name FROM sources ORDER BY id",
        sink,
        |r| {
            Ok(EntityKey::Source {
                id: SourceId(r.get(0)?),
                name: r.get_ref(1)?.as_str()?,
            })
        },
    )?;
    keys(
        conn,
        "SELECT id, source_id, ext_id FROM channels ORDER BY id",
        sink,
        |r| {
            Ok(EntityKey::Channel {
                id: ChannelId(r.get(0)?),
                source: SourceId(r.get(1)?),
                ext_id: r.get_ref(2)?.as_str()?,
            })
        },
    )?;
    thread_keys(conn, sink)?;
    keys(
        conn,
        "SELECT id, team, team_since, bot, anonymous FROM members ORDER BY id",
        sink,
        |r| {
            Ok(EntityKey::Member {
                id: MemberId(r.get(0)?),
                team: r.get(1)?,
                team_since: r.get(2)?,
                bot: r.get(3)?,
                anonymous: r.get(4)?,
            })
        },
    )?;
    keys(
        conn,
        "SELECT id, member_id, source_id, ext_id FROM identities ORDER BY id",
        sink,
        |r| {
            Ok(EntityKey::Identity {
                id: IdentityId(r.get(0)?),
                member: MemberId(r.get(1)?),
                source: SourceId(r.get(2)?),
                ext_id: r.get_ref(3)?.as_str()?,
            })
        },
    )?;
    Ok(Watermark(counter + 1))
}

/// Every thread with its topics, in id order: the threads and the topics (both in thread
/// order) read side by side, so that a database without topics pays nothing for them.
fn thread_keys(
    conn: &Connection,
    sink: &mut dyn FnMut(EntityKey<'_>) -> StoreResult<()>,
) -> StoreResult<()> {
    let mut threads = conn
        .prepare_cached("SELECT id FROM threads ORDER BY id")
        .ctx("preparing to read threads")?;
    let mut topics = conn
        .prepare_cached("SELECT thread_id, topic FROM thread_topics ORDER BY thread_id, topic")
        .ctx("preparing to read thread topics")?;
    let mut threads = threads.query([]).ctx("reading threads")?;
    let mut topics = topics.query([]).ctx("reading thread topics")?;
    let mut next: Option<(i64, String)> = None;
    let mut advance = |next: &mut Option<(i64, String)>| -> StoreResult<()> {
        *next = match topics.next().ctx("reading thread topics")? {
            Some(r) => Some((
                r.get(0).ctx("reading thread topics")?,
                r.get(1).ctx("reading thread topics")?,
            )),
            None => None,
        };
        Ok(())
    };
    advance(&mut next)?;
    let mut joined = String::new();
    while let Some(row) = threads.next().ctx("reading threads")? {
        let id: i64 = row.get(0).ctx("reading threads")?;
        joined.clear();
        // Topics of a thread id that `threads` lacks are passed over (there are none: a
        // thread's topics go with it when its source is deleted).
        while let Some((thread, topic)) = next.as_ref()
            && *thread <= id
        {
            if *thread == id {
                if !joined.is_empty() {
                    joined.push('\n');
                }
                joined.push_str(topic);
            }
            advance(&mut next)?;
        }
        sink(EntityKey::Thread {
            id: ThreadId(id),
            topics: &joined,
        })?;
    }
    Ok(())
}

/// Runs `sql` and lends each row's key to `sink`.
fn keys(
    conn: &Connection,
    sql: &str,
    sink: &mut dyn FnMut(EntityKey<'_>) -> StoreResult<()>,
    key: impl for<'r> Fn(&'r Row<'_>) -> rusqlite::Result<EntityKey<'r>>,
) -> StoreResult<()> {
    let mut stmt = conn.prepare_cached(sql).ctx("preparing to read entities")?;
    let mut rows = stmt.query([]).ctx("reading entities")?;
    while let Some(row) = rows.next().ctx("reading entities")? {
        sink(key(row).map_err(|e| StoreError::backend("reading entities", e))?)?;
    }
    Ok(())
}

fn read_activity_changes(conn: &Connection, since: i64, sink: &mut Sink<'_>) -> StoreResult<()> {
    // Activities (schema v2): those changed after their insert come from the partial index,
    // the rest from the id ranges the sessions since `since` inserted, which lie above every
    // older row. Both parts in id order, the first entirely below the second.
    let first_new: i64 = conn
        .query_row(
            "SELECT coalesce((SELECT min(first_id) FROM activity_inserts WHERE seq >= ?1), \
                             (SELECT coalesce(max(id), 0) + 1 FROM activities))",
            [since],
            |r| r.get(0),
        )
        .ctx("reading the activity ranges")?;
    // Millions of rows at a first build, a refresh's new ones after: handed over inside
    // SQLite's step (`rows_by_id`), each query's rows in id order. The changed rows come
    // sorted by the aggregate's own `ORDER BY`, the new ones by the rowid range's scan.
    let mut fact = empty_fact();
    let mut read = |sql: String, what: &'static str| -> StoreResult<()> {
        rows_by_id(conn, what, &sql, &[since, first_new], &mut |row| {
            decode_activity(row, &mut fact)?;
            sink(Change::Activity(fact.clone()))
        })
    };
    // The partial index, named: left alone, SQLite walks every activity below `first_new` in id
    // order to avoid sorting the few changed ones.
    read(
        format!(
            "SELECT kith_row({ACTIVITY_VALUES} ORDER BY id) FROM activities \
             INDEXED BY activities_changed WHERE changed = 1 AND seq >= ?1 AND id < ?2"
        ),
        "reading changed activities",
    )?;
    read(
        format!(
            "SELECT kith_row({ACTIVITY_VALUES}) FROM activities NOT INDEXED \
             WHERE id >= ?2 AND seq >= ?1"
        ),
        "reading new activities",
    )?;
    // Text scores (schema v4), after their activities. From zero, one pass in key order;
    // after a watermark, the few recent rows through the seq index, sorted by the aggregate.
    let text_sql = if since == 0 {
        format!("SELECT kith_row({TEXT_VALUES}) FROM text_scores NOT INDEXED WHERE seq >= ?1")
    } else {
        format!(
            "SELECT kith_row({TEXT_VALUES} ORDER BY activity_id) FROM text_scores \
             INDEXED BY text_scores_seq WHERE seq >= ?1"
        )
    };
    rows_by_id(
        conn,
        "reading text score changes",
        &text_sql,
        &[since],
        &mut |row| sink(Change::Text(decode_text(row)?)),
    )
}

/// The values of a text score row `decode_text` reads, in order.
pub(crate) const TEXT_VALUES: &str =
    "activity_id, scored, sentiment, confidence, hostility, hostile, intents";

/// A text score row's values (`TEXT_VALUES`).
pub(crate) fn decode_text(row: &RowValues<'_>) -> StoreResult<TextFact> {
    // A narrower field's stored integer, or an error naming the column.
    fn narrow<T: TryFrom<i64>>(col: usize, v: i64) -> StoreResult<T> {
        T::try_from(v).map_err(|_| {
            StoreError::backend(
                "reading text scores",
                rusqlite::Error::IntegralValueOutOfRange(col, v),
            )
        })
    }
    Ok(TextFact {
        activity: ActivityId(row.int(0)),
        scored: row.int(1) != 0,
        sentiment: narrow(2, row.int(2))?,
        confidence: narrow(3, row.int(3))?,
        hostility: narrow(4, row.int(4))?,
        hostile: row.int(5) != 0,
        intents: narrow(6, row.int(6))?,
    })
}

/// The values of an activity row `decode_activity` reads, in order.
pub(crate) const ACTIVITY_VALUES: &str =
    "id, source_id, kind, ts, identity_id, channel_id, thread_id, reply_to_id, deleted, to_ext";

/// A fact for `decode_activity` to fill.
pub(crate) fn empty_fact() -> ActivityFact {
    ActivityFact {
        id: ActivityId(0),
        source: SourceId(0),
        kind: Kind::Post,
        ts: 0,
        identity: IdentityId(0),
        channel: None,
        thread: None,
        reply_to: None,
        to: Vec::new(),
        deleted: false,
    }
}

/// An activity row's values (`ACTIVITY_VALUES`) into `fact`, whose addressee buffer is reused.
pub(crate) fn decode_activity(row: &RowValues<'_>, fact: &mut ActivityFact) -> StoreResult<()> {
    let bad = |e| StoreError::backend("reading activities", e);
    let kind = row.text(2).unwrap_or_default();
    fact.kind = match Kind::from_bytes(kind) {
        Some(kind) => kind,
        None => {
            return Err(bad(rusqlite::Error::FromSqlConversionFailure(
                2,
                rusqlite::types::Type::Text,
                format!("unknown activity kind `{}`", String::from_utf8_lossy(kind)).into(),
            )));
        }
    };
    fact.id = ActivityId(row.int(0));
    fact.source = SourceId(row.int(1));
    fact.ts = row.int(3);
    fact.identity = IdentityId(row.int(4));
    fact.channel = row.opt_int(5).map(ChannelId);
    fact.thread = row.opt_int(6).map(ThreadId);
    fact.reply_to = row.opt_int(7).map(ActivityId);
    fact.deleted = row.int(8) != 0;
    match row.text(9) {
        Some(json) => addressees_into(json, &mut fact.to).map_err(bad)?,
        None => fact.to.clear(),
    }
    Ok(())
}

/// Runs `sql`, the aggregate `kith_row(id, ...)` over rows whose first value is their id
/// (`raw::for_each_row`), and hands each row to `f`, checking that ids ascend, as the readers
/// rely on: the table's rowid order, which SQLite scans when the query says `NOT INDEXED`, or
/// the aggregate's own `ORDER BY` where rows come through an index (an aggregate's query has
/// no `ORDER BY` that would promise it). Errors say what was being read.
pub(crate) fn rows_by_id(
    conn: &Connection,
    what: &'static str,
    sql: &str,
    params: &[i64],
    f: &mut dyn FnMut(&RowValues<'_>) -> StoreResult<()>,
) -> StoreResult<()> {
    let mut last: Option<i64> = None;
    for_each_row(conn, sql, params, &mut |row| {
        let id = row.int(0);
        if let Some(last) = last.filter(|&last| id <= last) {
            return Err(StoreError::backend(
                what,
                format!("rows out of id order: {id} after {last}"),
            ));
        }
        last = Some(id);
        f(row)
    })
    .ctx(what)?
}

/// `SELECT ... FROM table` with the rows stamped at or after `since`, in id order. From zero
/// that is every row, read in id order; after a watermark, the few new rows are found through
/// the table's `seq` index and sorted (left alone, SQLite scans the whole table in id order to
/// avoid the sort).
fn entity_query(select: &str, seq_index: &str, since: i64) -> String {
    if since == 0 {
        format!("{select} WHERE seq >= ?1 ORDER BY id")
    } else {
        format!("{select} INDEXED BY {seq_index} WHERE seq >= ?1 ORDER BY id")
    }
}

/// The form kith writes (`["a","b"]`: no spaces, no escapes), read in one pass into `to`'s
/// first entries; `None` for anything else (then `to` is rewritten by the general reading).
fn compact_addressees(json: &[u8], to: &mut Vec<String>) -> Option<usize> {
    let mut rest = json.strip_prefix(b"[")?.strip_suffix(b"]")?;
    let mut n = 0;
    while !rest.is_empty() {
        if n > 0 {
            rest = rest.strip_prefix(b",")?;
        }
        let body = rest.strip_prefix(b"\"")?;
        let end = body.iter().position(|&b| b == b'"' || b == b'\\')?;
        if body[end] != b'"' {
            return None;
        }
        let id = std::str::from_utf8(&body[..end]).ok()?;
        if n == to.len() {
            to.push(String::new());
        }
        to[n].clear();
        to[n].push_str(id);
        n += 1;
        rest = &body[end + 1..];
    }
    Some(n)
}

/// A `to_ext` JSON array of platform user ids into `to`, reusing its strings. The ingest path writes compact arrays of
/// strings ([`compact_addressees`]); anything else goes through the JSON parser.
pub(crate) fn addressees_into(json: &[u8], to: &mut Vec<String>) -> rusqlite::Result<()> {
    if let Some(n) = compact_addressees(json, to) {
        to.truncate(n);
        return Ok(());
    }
    *to = serde_json::from_slice(json).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(9, rusqlite::types::Type::Text, Box::new(e))
    })?;
    Ok(())
}

fn stream(
    conn: &Connection,
    sql: &str,
    since: i64,
    sink: &mut Sink<'_>,
    map: impl Fn(&Row<'_>) -> rusqlite::Result<Change>,
) -> StoreResult<()> {
    stream_with(conn, sql, [since], sink, map)
}

fn stream_with(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    sink: &mut Sink<'_>,
    map: impl Fn(&Row<'_>) -> rusqlite::Result<Change>,
) -> StoreResult<()> {
    let mut stmt = conn.prepare_cached(sql).ctx("preparing to read changes")?;
    let mut rows = stmt.query(params).ctx("reading changes")?;
    while let Some(row) = rows.next().ctx("reading changes")? {
        let change = map(row).map_err(|e| StoreError::backend("reading changes", e))?;
        sink(change)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    // A bulk read's ids must ascend: an id at or below the last one stops the read with an
    // error naming the read and both ids; ascending rows all reach the reader.
    #[test]
    fn bulk_reads_check_their_order() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE t (id INTEGER, n INTEGER); \
             INSERT INTO t VALUES (3, 0), (7, 0), (7, 1), (5, 1)",
        )
        .unwrap();
        let what = "reading activities";
        let mut seen = Vec::new();
        let e = rows_by_id(&conn, what, "SELECT kith_row(id) FROM t", &[], &mut |row| {
            seen.push(row.int(0));
            Ok(())
        })
        .unwrap_err()
        .to_string();
        assert!(e.contains(what) && e.contains("7 after 7"), "{e}");
        assert_eq!(seen, [3, 7], "nothing after the first row out of order");
        let sql = "SELECT kith_row(id) FROM t WHERE n = ?1";
        let e = rows_by_id(&conn, what, sql, &[1], &mut |_| Ok(()))
            .unwrap_err()
            .to_string();
        assert!(e.contains("5 after 7"), "{e}");
        seen.clear();
        let sql = "SELECT kith_row(id ORDER BY id) FROM t WHERE n = ?1";
        rows_by_id(&conn, what, sql, &[0], &mut |row| {
            seen.push(row.int(0));
            Ok(())
        })
        .unwrap();
        assert_eq!(seen, [3, 7]);
    }

    // The split of plain arrays and the JSON parser agree on every shape the column can hold;
    // an existing buffer is reused and shortened.
    #[test]
    fn addressees_read_as_the_json_parser_reads_them() {
        let mut to = vec!["old".to_owned(); 4];
        for json in [
            r#"[]"#,
            r#"["u5"]"#,
            r#"["a", "b","c"]"#,
            r#"["with \"quote\"", "back\\slash", "\u00e9"]"#,
            r#"["comma, inside"]"#,
            r#"[ "spaced" ]"#,
            r#"["", "x"]"#,
            r#"["a","b","c"]"#,
            r#"["","x,y","é"]"#,
        ] {
            let want: Vec<String> = serde_json::from_str(json).unwrap();
            addressees_into(json.as_bytes(), &mut to).unwrap();
            assert_eq!(to, want, "{json}");
        }
        assert!(addressees_into(b"[1, 2]", &mut to).is_err(), "not strings");
        assert!(addressees_into(b"[\"open", &mut to).is_err(), "not JSON");
        assert!(
            addressees_into(b"[\"a\",]", &mut to).is_err(),
            "trailing comma"
        );
        assert!(
            addressees_into(b"[\"a\"\"b\"]", &mut to).is_err(),
            "no comma"
        );
    }
}
