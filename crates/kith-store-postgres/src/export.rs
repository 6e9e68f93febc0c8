//! The export path: every stored activity as a canonical record, with what kith derived.
//!
//! The author is rebuilt from the identity (its latest name, handle and e-mail); platform hints
//! `team`/`bot` come back as `Some(true)` or absent, so that export → import → export repeats
//! the same lines.

use kith_model::{Activity, Author, Derived, Kind, Timestamp};
use kith_store::{ActivityId, ExportedActivity, StoreError, StoreResult};
use postgres::Row;
use postgres::fallible_iterator::FallibleIterator;
use serde_json::{Map, Value};

use crate::{PgStore, col, db_err, flag};

const EXPORT: &str = "
SELECT a.id, s.name AS source, a.ext_id, a.kind, a.ts, a.ts_micros, a.ts_offset,
       i.ext_id AS author_id, i.name, i.handle, i.email, i.team AS author_team, i.bot AS author_bot, i.anonymous,
       i.member_id, m.team AS member_team, m.team_since, m.bot AS member_bot,
       c.ext_id AS channel, t.ext_id AS thread, COALESCE(t.inferred, 0::smallint) AS inferred,
       a.reply_to_ext, a.to_ext, a.text, a.url, a.attrs, a.deleted
  FROM activities a
  JOIN sources s ON s.id = a.source_id
  JOIN identities i ON i.id = a.identity_id
  JOIN members m ON m.id = i.member_id
  LEFT JOIN channels c ON c.id = a.channel_id
  LEFT JOIN threads t ON t.id = a.thread_id";

impl PgStore {
    pub(crate) fn export(
        &self,
        sink: &mut dyn FnMut(ExportedActivity) -> StoreResult<()>,
    ) -> StoreResult<()> {
        self.read("exporting activities", |tx| {
            let params: [i64; 0] = [];
            let mut rows = tx
                .query_raw(&format!("{EXPORT} ORDER BY a.id"), params)
                .map_err(|e| db_err("exporting activities", e))?;
            while let Some(row) = rows.next().map_err(|e| db_err("exporting activities", e))? {
                sink(decode(&row)?)?;
            }
            Ok(())
        })
    }
}

impl PgStore {
    /// The activities with these ids, in id order.
    pub(crate) fn by_id(&self, ids: &[ActivityId]) -> StoreResult<Vec<ExportedActivity>> {
        let ids: Vec<i64> = ids.iter().map(|i| i.0).collect();
        self.read("reading activities", |tx| {
            let rows = tx
                .query(
                    &format!("{EXPORT} WHERE a.id = ANY($1) ORDER BY a.id"),
                    &[&ids],
                )
                .map_err(|e| db_err("reading activities", e))?;
            rows.iter().map(decode).collect()
        })
    }
}

fn bad(id: i64, what: impl std::fmt::Display) -> StoreError {
    StoreError::backend(format!("exporting activity {id}"), what)
}

fn decode(row: &Row) -> StoreResult<ExportedActivity> {
    let id: i64 = col(row, "id")?;
    let kind: String = col(row, "kind")?;
    let kind: Kind = kind.parse().map_err(|e| bad(id, e))?;
    let micros: i32 = col(row, "ts_micros")?;
    let offset: i32 = col(row, "ts_offset")?;
    let ts = Timestamp {
        secs: col(row, "ts")?,
        micros: u32::try_from(micros).map_err(|_| bad(id, format!("ts_micros is {micros}")))?,
        offset_min: i16::try_from(offset).map_err(|_| bad(id, format!("ts_offset is {offset}")))?,
    };
    let author = if flag(row, "anonymous")? {
        None
    } else {
        Some(Author {
            id: col(row, "author_id")?,
            name: col(row, "name")?,
            handle: col(row, "handle")?,
            email: col(row, "email")?,
            team: flag(row, "author_team")?.then_some(true),
            bot: flag(row, "author_bot")?.then_some(true),
        })
    };
    let to: Vec<String> = match col::<Option<String>>(row, "to_ext")? {
        Some(json) => serde_json::from_str(&json)
            .map_err(|e| bad(id, format!("to_ext is not a JSON array of strings: {e}")))?,
        None => Vec::new(),
    };
    let attrs: Map<String, Value> = match col::<Option<String>>(row, "attrs")? {
        Some(json) => serde_json::from_str(&json)
            .map_err(|e| bad(id, format!("attrs is not a JSON object: {e}")))?,
        None => Map::new(),
    };
    let activity = Activity {
        source: col(row, "source")?,
        id: col(row, "ext_id")?,
        kind,
        ts,
        author,
        channel: col(row, "channel")?,
        thread: col(row, "thread")?,
        reply_to: col(row, "reply_to_ext")?,
        to,
        text: col(row, "text")?,
        url: col(row, "url")?,
        attrs,
    };
    let team_since: Option<i64> = col(row, "team_since")?;
    let derived = Derived {
        member: Some(col(row, "member_id")?),
        team: flag(row, "member_team")? && team_since.is_none_or(|since| ts.secs >= since),
        bot: flag(row, "member_bot")?,
        inferred_thread: flag(row, "inferred")?,
        ..Derived::default()
    };
    Ok(ExportedActivity {
        id: ActivityId(id),
        activity,
        derived,
        deleted: flag(row, "deleted")?,
    })
}
