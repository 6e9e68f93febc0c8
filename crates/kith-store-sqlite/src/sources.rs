//! Sources and their import audits: listing, base URLs, removal, counts.

use kith_store::{
    AuditId, AuditStatus, Counts, DeletedSource, ImportAudit, SourceId, SourceRow, SourceSummary,
    StoreError, StoreResult, StoredAudit,
};
use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::count;
use crate::error::Context;

pub(crate) fn rows(conn: &Connection) -> StoreResult<Vec<SourceRow>> {
    let mut stmt = conn
        .prepare_cached("SELECT id, name, format, base_url FROM sources ORDER BY name")
        .ctx("listing sources")?;
    stmt.query_map([], |r| {
        Ok(SourceRow {
            id: SourceId(r.get(0)?),
            name: r.get(1)?,
            format: r.get(2)?,
            base_url: r.get(3)?,
        })
    })
    .ctx("listing sources")?
    .collect::<Result<Vec<_>, _>>()
    .ctx("listing sources")
}

pub(crate) fn list(conn: &Connection) -> StoreResult<Vec<SourceSummary>> {
    let mut stmt = conn
        .prepare(
            "SELECT s.id, s.name, s.format, s.base_url, s.created_at, \
                    (SELECT count(*) FROM activities a WHERE a.source_id = s.id), \
                    (SELECT count(*) FROM identities i WHERE i.source_id = s.id) \
             FROM sources s ORDER BY s.name",
        )
        .ctx("listing sources")?;
    let mut sources = stmt
        .query_map([], |r| {
            Ok(SourceSummary {
                id: SourceId(r.get(0)?),
                name: r.get(1)?,
                format: r.get(2)?,
                base_url: r.get(3)?,
                created_at: r.get(4)?,
                activities: count(r.get(5)?),
                identities: count(r.get(6)?),
                last_audit: None,
            })
        })
        .ctx("listing sources")?
        .collect::<Result<Vec<_>, _>>()
        .ctx("listing sources")?;
    for source in &mut sources {
        source.last_audit = audits(conn, Some(&source.name), 1)?.into_iter().next();
    }
    Ok(sources)
}

pub(crate) fn set_base_url(
    conn: &Connection,
    seq: i64,
    source: &str,
    base_url: Option<&str>,
) -> StoreResult<()> {
    if let Some(url) = base_url
        && !(url.starts_with("http://") || url.starts_with("https://"))
    {
        return Err(StoreError::Invalid(format!(
            "base URL `{url}` of source `{source}` must start with http:// or https://"
        )));
    }
    let n = conn
        .execute(
            "UPDATE sources SET base_url = ?1, seq = ?2 WHERE name = ?3",
            params![base_url, seq, source],
        )
        .ctx("setting a base URL")?;
    if n == 0 {
        return Err(StoreError::NotFound(format!("source `{source}`")));
    }
    Ok(())
}

/// Removes a source, everything in it, and the members it leaves without identities.
pub(crate) fn delete(conn: &Connection, seq: i64, name: &str) -> StoreResult<DeletedSource> {
    let source: i64 = conn
        .query_row("SELECT id FROM sources WHERE name = ?1", [name], |r| {
            r.get(0)
        })
        .optional()
        .ctx("looking up the source")?
        .ok_or_else(|| StoreError::NotFound(format!("source `{name}`")))?;
    let members: Vec<i64> = conn
        .prepare("SELECT DISTINCT member_id FROM identities WHERE source_id = ?1")
        .and_then(|mut s| s.query_map([source], |r| r.get(0))?.collect())
        .ctx("finding the source's members")?;

    crate::schema::raise_floor(conn, "activities")?;
    // Packs hold rows that are about to go; the next packing writes them again.
    crate::packs::drop_all(conn)?;
    crate::schema::raise_floor(conn, "threads")?;
    // Topics go with their threads.
    conn.execute(
        "DELETE FROM thread_topics WHERE thread_id IN (SELECT id FROM threads WHERE source_id = ?1)",
        [source],
    )
    .ctx("removing thread topics")?;
    // Scores go with their activities (whose removal the change stream reports).
    conn.execute(
        "DELETE FROM text_scores WHERE activity_id IN (SELECT id FROM activities WHERE source_id = ?1)",
        [source],
    )
    .ctx("removing text scores")?;
    let remove = |table: &str, entity: &str| -> StoreResult<u64> {
        conn.execute(
            &format!("INSERT INTO tombstones (seq, entity, entity_id) SELECT ?1, ?2, id FROM {table} WHERE source_id = ?3"),
            params![seq, entity, source],
        )
        .with_ctx(|| format!("recording removed {table}"))?;
        let n = conn
            .execute(
                &format!("DELETE FROM {table} WHERE source_id = ?1"),
                [source],
            )
            .with_ctx(|| format!("removing {table}"))?;
        Ok(n as u64)
    };
    let deleted = DeletedSource {
        activities: remove("activities", "activity")?,
        identities: remove("identities", "identity")?,
        channels: remove("channels", "channel")?,
        threads: remove("threads", "thread")?,
        members: 0,
    };

    // Members left without identities go, and with them the empty members merged into them
    // (they only existed so that a merge could be undone).
    let mut orphan = members;
    let mut removed_members = 0u64;
    while let Some(member) = orphan.pop() {
        let has_identity: bool = conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM identities WHERE member_id = ?1)",
                [member],
                |r| r.get(0),
            )
            .ctx("checking a member's identities")?;
        if has_identity {
            continue;
        }
        let merged_away: Vec<i64> = conn
            .prepare_cached("SELECT id FROM members WHERE merged_into = ?1")
            .and_then(|mut s| s.query_map([member], |r| r.get(0))?.collect())
            .ctx("finding merged-away members")?;
        orphan.extend(merged_away);
        conn.execute("DELETE FROM affiliations WHERE member_id = ?1", [member])
            .ctx("removing affiliations")?;
        if conn
            .execute("DELETE FROM members WHERE id = ?1", [member])
            .ctx("removing a member")?
            == 1
        {
            conn.execute(
                "INSERT INTO tombstones (seq, entity, entity_id) VALUES (?1, 'member', ?2)",
                params![seq, member],
            )
            .ctx("recording a removed member")?;
            removed_members += 1;
        }
    }
    conn.execute("DELETE FROM sources WHERE id = ?1", [source])
        .ctx("removing the source")?;
    conn.execute(
        "INSERT INTO tombstones (seq, entity, entity_id) VALUES (?1, 'source', ?2)",
        params![seq, source],
    )
    .ctx("recording the removed source")?;
    Ok(DeletedSource {
        members: removed_members,
        ..deleted
    })
}

pub(crate) fn insert_audit(conn: &Connection, audit: &ImportAudit) -> StoreResult<AuditId> {
    conn.prepare_cached(
        "INSERT INTO audits (format, sources, inputs, started_at, finished_at, status, read, imported, updated, \
         skipped, problems, first_ts, last_ts, members_created, members_merged, error) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16) RETURNING id",
    )
    .and_then(|mut s| {
        s.query_row(
            params![
                audit.format,
                json(&audit.sources)?,
                json(&audit.inputs)?,
                audit.started_at,
                audit.finished_at,
                audit.status.as_str(),
                stored(audit.read),
                stored(audit.imported),
                stored(audit.updated),
                json(&audit.skipped)?,
                json(&audit.problems)?,
                audit.first_ts,
                audit.last_ts,
                stored(audit.members_created),
                stored(audit.members_merged),
                audit.error,
            ],
            |r| r.get(0),
        )
    })
    .map(AuditId)
    .ctx("storing an import audit")
}

/// A count as stored (counts never reach 2⁶³).
fn stored(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A collection of the audit as JSON text for its column.
fn json<T: serde::Serialize>(value: &T) -> rusqlite::Result<String> {
    serde_json::to_string(value).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))
}

pub(crate) fn audits(
    conn: &Connection,
    source: Option<&str>,
    limit: usize,
) -> StoreResult<Vec<StoredAudit>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    const COLUMNS: &str = "id, format, sources, inputs, started_at, finished_at, status, read, imported, updated, \
                           skipped, problems, first_ts, last_ts, members_created, members_merged, error";
    let rows = match source {
        Some(name) => conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM audits WHERE EXISTS (SELECT 1 FROM json_each(audits.sources) WHERE value = ?1) \
                 ORDER BY id DESC LIMIT ?2"
            ))
            .and_then(|mut s| s.query_map(params![name, limit], raw_audit)?.collect::<Result<Vec<_>, _>>()),
        None => conn
            .prepare_cached(&format!("SELECT {COLUMNS} FROM audits ORDER BY id DESC LIMIT ?1"))
            .and_then(|mut s| s.query_map(params![limit], raw_audit)?.collect::<Result<Vec<_>, _>>()),
    }
    .ctx("reading import audits")?;
    rows.into_iter().map(RawAudit::parse).collect()
}

/// An audit row before its JSON columns are parsed.
struct RawAudit {
    id: i64,
    format: String,
    sources: String,
    inputs: String,
    started_at: i64,
    finished_at: i64,
    status: String,
    counts: [i64; 3],
    skipped: String,
    problems: String,
    first_ts: Option<i64>,
    last_ts: Option<i64>,
    members: [i64; 2],
    error: Option<String>,
}

fn raw_audit(r: &Row<'_>) -> rusqlite::Result<RawAudit> {
    Ok(RawAudit {
        id: r.get(0)?,
        format: r.get(1)?,
        sources: r.get(2)?,
        inputs: r.get(3)?,
        started_at: r.get(4)?,
        finished_at: r.get(5)?,
        status: r.get(6)?,
        counts: [r.get(7)?, r.get(8)?, r.get(9)?],
        skipped: r.get(10)?,
        problems: r.get(11)?,
        first_ts: r.get(12)?,
        last_ts: r.get(13)?,
        members: [r.get(14)?, r.get(15)?],
        error: r.get(16)?,
    })
}

impl RawAudit {
    fn parse(self) -> StoreResult<StoredAudit> {
        let id = self.id;
        let bad = |column: &str, e: &dyn std::fmt::Display| {
            StoreError::backend(
                format!("reading audit {id}"),
                format!("column {column} holds invalid data: {e}"),
            )
        };
        let status = AuditStatus::parse(&self.status).ok_or_else(|| bad("status", &self.status))?;
        Ok(StoredAudit {
            id: AuditId(id),
            audit: ImportAudit {
                format: self.format,
                sources: serde_json::from_str(&self.sources).map_err(|e| bad("sources", &e))?,
                inputs: serde_json::from_str(&self.inputs).map_err(|e| bad("inputs", &e))?,
                started_at: self.started_at,
                finished_at: self.finished_at,
                status,
                read: count(self.counts[0]),
                imported: count(self.counts[1]),
                updated: count(self.counts[2]),
                skipped: serde_json::from_str(&self.skipped).map_err(|e| bad("skipped", &e))?,
                problems: serde_json::from_str(&self.problems).map_err(|e| bad("problems", &e))?,
                first_ts: self.first_ts,
                last_ts: self.last_ts,
                members_created: count(self.members[0]),
                members_merged: count(self.members[1]),
                error: self.error,
            },
        })
    }
}

pub(crate) fn counts(conn: &Connection) -> StoreResult<Counts> {
    conn.query_row(
        "SELECT (SELECT count(*) FROM sources), (SELECT count(*) FROM channels), (SELECT count(*) FROM threads), \
                (SELECT count(*) FROM identities), \
                (SELECT count(*) FROM members m WHERE m.anonymous = 0 \
                     AND EXISTS (SELECT 1 FROM identities i WHERE i.member_id = m.id)), \
                (SELECT count(*) FROM activities), (SELECT count(*) FROM activities WHERE deleted = 1)",
        [],
        |r| {
            Ok(Counts {
                sources: count(r.get(0)?),
                channels: count(r.get(1)?),
                threads: count(r.get(2)?),
                identities: count(r.get(3)?),
                members: count(r.get(4)?),
                activities: count(r.get(5)?),
                deleted_activities: count(r.get(6)?),
            })
        },
    )
    .ctx("counting rows")
}
