//! `export_activities`: the canonical records back, with what kith derived about each.
//!
//! The author is rebuilt from the identity: it carries the latest name, handle and e-mail seen
//! for the account, and the `team`/`bot` hints as `Some(true)` or `None`.

use kith_model::{Activity, Author, Derived, Kind, Timestamp};
use kith_store::{ActivityId, ExportedActivity, StoreError, StoreResult};
use rusqlite::{Connection, Row};
use serde_json::{Map, Value};

use crate::error::Context;

type Sink<'a> = dyn FnMut(ExportedActivity) -> StoreResult<()> + 'a;

const SELECT: &str = "SELECT a.id, s.name, a.ext_id, a.kind, a.ts, a.ts_micros, a.ts_offset, \
        i.ext_id, i.name, i.handle, i.email, i.team, i.bot, i.anonymous, \
        i.member_id, m.team, m.team_since, m.bot, \
        c.ext_id, t.ext_id, t.inferred, a.reply_to_ext, a.to_ext, a.text, a.url, a.attrs, a.deleted \
 FROM activities a \
 JOIN sources s ON s.id = a.source_id \
 JOIN identities i ON i.id = a.identity_id \
 JOIN members m ON m.id = i.member_id \
 LEFT JOIN channels c ON c.id = a.channel_id \
 LEFT JOIN threads t ON t.id = a.thread_id";

/// Call inside a read transaction.
pub(crate) fn activities(conn: &Connection, sink: &mut Sink<'_>) -> StoreResult<()> {
    let mut stmt = conn
        .prepare(&format!("{SELECT} ORDER BY a.id"))
        .ctx("preparing the export")?;
    let mut rows = stmt.query([]).ctx("exporting activities")?;
    while let Some(row) = rows.next().ctx("exporting activities")? {
        let exported = exported(row).map_err(|e| StoreError::backend("exporting activities", e))?;
        sink(exported)?;
    }
    Ok(())
}

/// The activities with these ids, in id order (by primary key: fast at any size).
pub(crate) fn by_id(conn: &Connection, ids: &[ActivityId]) -> StoreResult<Vec<ExportedActivity>> {
    let mut ids: Vec<i64> = ids.iter().map(|i| i.0).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut stmt = conn
        .prepare_cached(&format!("{SELECT} WHERE a.id = ?1"))
        .ctx("preparing an activity lookup")?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let mut rows = stmt.query([id]).ctx("reading activities")?;
        if let Some(row) = rows.next().ctx("reading activities")? {
            out.push(exported(row).map_err(|e| StoreError::backend("reading activities", e))?);
        }
    }
    Ok(out)
}

fn exported(r: &Row<'_>) -> rusqlite::Result<ExportedActivity> {
    let id: i64 = r.get(0)?;
    let bad = |column: usize, detail: String| {
        rusqlite::Error::FromSqlConversionFailure(
            column,
            rusqlite::types::Type::Text,
            format!("activity {id}: {detail}").into(),
        )
    };
    let kind: String = r.get(3)?;
    let kind: Kind = kind
        .parse()
        .map_err(|e: kith_model::UnknownKind| bad(3, e.to_string()))?;
    let secs: i64 = r.get(4)?;
    let micros: u32 = r.get(5)?;
    let offset_min: i16 = r.get(6)?;
    let anonymous: bool = r.get(13)?;
    let author = if anonymous {
        None
    } else {
        let team: bool = r.get(11)?;
        let bot: bool = r.get(12)?;
        Some(Author {
            id: r.get(7)?,
            name: r.get(8)?,
            handle: r.get(9)?,
            email: r.get(10)?,
            team: team.then_some(true),
            bot: bot.then_some(true),
        })
    };
    let to: Vec<String> = match r.get::<_, Option<String>>(22)? {
        Some(json) => serde_json::from_str(&json).map_err(|e| bad(22, format!("to_ext: {e}")))?,
        None => Vec::new(),
    };
    let attrs: Map<String, Value> = match r.get::<_, Option<String>>(25)? {
        Some(json) => serde_json::from_str(&json).map_err(|e| bad(25, format!("attrs: {e}")))?,
        None => Map::new(),
    };
    let member_team: bool = r.get(15)?;
    let team_since: Option<i64> = r.get(16)?;
    let activity = Activity {
        source: r.get(1)?,
        id: r.get(2)?,
        kind,
        ts: Timestamp {
            secs,
            micros,
            offset_min,
        },
        author,
        channel: r.get(18)?,
        thread: r.get(19)?,
        reply_to: r.get(21)?,
        to,
        text: r.get(23)?,
        url: r.get(24)?,
        attrs,
    };
    Ok(ExportedActivity {
        id: ActivityId(id),
        activity,
        derived: Derived {
            member: Some(r.get(14)?),
            // Activity before `team_since` counts as community (SPEC §4.0).
            team: member_team && team_since.is_none_or(|since| secs >= since),
            bot: r.get(17)?,
            inferred_thread: r.get::<_, Option<bool>>(20)?.unwrap_or(false),
            ..Derived::default()
        },
        deleted: r.get(26)?,
    })
}
