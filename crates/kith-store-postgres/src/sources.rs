//! The community settings, sources, import audits, source removal and table counts.

use kith_store::{
    AuditId, AuditStatus, Community, Counts, DeletedSource, ImportAudit, SourceId, SourceRow,
    SourceSummary, StoreError, StoreResult, StoredAudit,
};
use postgres::{GenericClient, Row};

use crate::{PgStore, col, count, db_err};

impl PgStore {
    pub(crate) fn get_community(&self) -> StoreResult<Community> {
        self.read("reading the community settings", |tx| {
            let rows = tx
                .query(
                    "SELECT key, value FROM kith_meta WHERE key IN ('community_name', 'time_zone')",
                    &[],
                )
                .map_err(|e| db_err("reading the community settings", e))?;
            let mut community = Community::default();
            for row in &rows {
                let key: String = col(row, "key")?;
                let value: Option<String> = col(row, "value")?;
                match (key.as_str(), value) {
                    ("community_name", Some(v)) => community.name = v,
                    ("time_zone", Some(v)) => community.time_zone = v,
                    _ => {}
                }
            }
            Ok(community)
        })
    }

    pub(crate) fn put_community(&self, community: &Community) -> StoreResult<()> {
        self.write("saving the community settings", |tx, _| {
            for (key, value) in [("community_name", &community.name), ("time_zone", &community.time_zone)] {
                tx.execute(
                    "INSERT INTO kith_meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                    &[&key, value],
                )
                .map_err(|e| db_err(format!("saving kith_meta.{key}"), e))?;
            }
            Ok(())
        })
    }

    pub(crate) fn list_source_rows(&self) -> StoreResult<Vec<SourceRow>> {
        self.read("listing sources", |tx| {
            let rows = tx
                .query(
                    "SELECT id, name, format, base_url FROM sources ORDER BY name",
                    &[],
                )
                .map_err(|e| db_err("listing sources", e))?;
            rows.iter()
                .map(|row| {
                    Ok(SourceRow {
                        id: SourceId(col(row, "id")?),
                        name: col(row, "name")?,
                        format: col(row, "format")?,
                        base_url: col(row, "base_url")?,
                    })
                })
                .collect()
        })
    }

    pub(crate) fn list_sources(&self) -> StoreResult<Vec<SourceSummary>> {
        self.read("listing sources", |tx| {
            let rows = tx
                .query(
                    "SELECT s.id, s.name, s.format, s.base_url, s.created_at,
                            (SELECT count(*) FROM activities a WHERE a.source_id = s.id) AS activities,
                            (SELECT count(*) FROM identities i WHERE i.source_id = s.id) AS identities
                     FROM sources s ORDER BY s.name",
                    &[],
                )
                .map_err(|e| db_err("listing sources", e))?;
            let mut out = Vec::with_capacity(rows.len());
            for row in &rows {
                let name: String = col(row, "name")?;
                let last_audit = audits_of(tx, Some(&name), 1)?.into_iter().next();
                out.push(SourceSummary {
                    id: SourceId(col(row, "id")?),
                    name,
                    format: col(row, "format")?,
                    base_url: col(row, "base_url")?,
                    created_at: col(row, "created_at")?,
                    activities: count(col(row, "activities")?),
                    identities: count(col(row, "identities")?),
                    last_audit,
                });
            }
            Ok(out)
        })
    }

    pub(crate) fn update_source_base_url(
        &self,
        source: &str,
        base_url: Option<&str>,
    ) -> StoreResult<()> {
        self.write("setting a source's base URL", |tx, xid| {
            let n = tx
                .execute(
                    "UPDATE sources SET base_url = $2, seq = $3 WHERE name = $1",
                    &[&source, &base_url, &xid],
                )
                .map_err(|e| db_err(format!("setting the base URL of source `{source}`"), e))?;
            if n == 0 {
                return Err(StoreError::NotFound(format!("source `{source}`")));
            }
            Ok(())
        })
    }

    pub(crate) fn remove_source(&self, name: &str) -> StoreResult<DeletedSource> {
        self.write("deleting a source", |tx, xid| {
            let row = tx
                .query_opt("SELECT id FROM sources WHERE name = $1 FOR UPDATE", &[&name])
                .map_err(|e| db_err(format!("finding source `{name}`"), e))?
                .ok_or_else(|| StoreError::NotFound(format!("source `{name}`")))?;
            let id: i64 = col(&row, "id")?;
            let ctx = |what: &str| format!("deleting the {what} of source `{name}`");

            // Members of this source's identities may be left empty; remember them first.
            tx.execute(
                "CREATE TEMP TABLE kith_orphans ON COMMIT DROP AS
                 SELECT DISTINCT member_id AS id FROM identities WHERE source_id = $1",
                &[&id],
            )
            .map_err(|e| db_err(ctx("members"), e))?;

            // Topics go with their threads.
            tx.execute(
                "DELETE FROM thread_topics x USING threads t WHERE t.id = x.thread_id AND t.source_id = $1",
                &[&id],
            )
            .map_err(|e| db_err(ctx("thread topics"), e))?;
            // Scores go with their activities (whose removal the change stream reports).
            tx.execute(
                "DELETE FROM text_scores t USING activities a WHERE a.id = t.activity_id AND a.source_id = $1",
                &[&id],
            )
            .map_err(|e| db_err(ctx("text scores"), e))?;
            let mut removed = |table: &str, entity: &str| -> StoreResult<u64> {
                let sql = format!(
                    "WITH gone AS (DELETE FROM {table} WHERE source_id = $1 RETURNING id)
                     INSERT INTO tombstones (seq, entity, entity_id) SELECT $2, '{entity}', id FROM gone"
                );
                tx.execute(&sql, &[&id, &xid]).map_err(|e| db_err(ctx(table), e))
            };
            let activities = removed("activities", "activity")?;
            let threads = removed("threads", "thread")?;
            let channels = removed("channels", "channel")?;
            let identities = removed("identities", "identity")?;

            // Members left without identities go, and so do empty members merged into them.
            let mut members = 0;
            loop {
                let rows = tx
                    .query(
                        "WITH gone AS (
                            DELETE FROM members m USING kith_orphans o
                            WHERE m.id = o.id AND NOT EXISTS (SELECT 1 FROM identities i WHERE i.member_id = m.id)
                            RETURNING m.id),
                         stones AS (INSERT INTO tombstones (seq, entity, entity_id) SELECT $1, 'member', id FROM gone)
                         SELECT id FROM gone",
                        &[&xid],
                    )
                    .map_err(|e| db_err(ctx("members"), e))?;
                if rows.is_empty() {
                    break;
                }
                let gone: Vec<i64> = rows.iter().map(|r| col::<i64>(r, "id")).collect::<StoreResult<_>>()?;
                members += gone.len() as u64;
                tx.execute("DELETE FROM affiliations WHERE member_id = ANY($1)", &[&gone])
                    .map_err(|e| db_err(ctx("affiliations"), e))?;
                // The next round: members that had been merged into the ones just removed.
                tx.execute("TRUNCATE kith_orphans", &[]).map_err(|e| db_err(ctx("members"), e))?;
                tx.execute(
                    "INSERT INTO kith_orphans SELECT id FROM members WHERE merged_into = ANY($1)",
                    &[&gone],
                )
                .map_err(|e| db_err(ctx("members"), e))?;
                tx.execute(
                    "UPDATE members SET merged_into = NULL, seq = $2 WHERE merged_into = ANY($1)",
                    &[&gone, &xid],
                )
                .map_err(|e| db_err(ctx("members"), e))?;
            }
            tx.execute("DROP TABLE kith_orphans", &[]).map_err(|e| db_err(ctx("members"), e))?;

            tx.execute("DELETE FROM sources WHERE id = $1", &[&id]).map_err(|e| db_err(ctx("row"), e))?;
            tx.execute("INSERT INTO tombstones (seq, entity, entity_id) VALUES ($1, 'source', $2)", &[&xid, &id])
                .map_err(|e| db_err(ctx("row"), e))?;
            Ok(DeletedSource { activities, identities, members, channels, threads })
        })
    }

    pub(crate) fn store_audit(&self, audit: &ImportAudit) -> StoreResult<AuditId> {
        self.write("recording an import audit", |tx, _| insert_audit(tx, audit))
    }

    pub(crate) fn list_audits(
        &self,
        source: Option<&str>,
        limit: usize,
    ) -> StoreResult<Vec<StoredAudit>> {
        self.read("listing import audits", |tx| audits_of(tx, source, limit))
    }

    pub(crate) fn table_counts(&self) -> StoreResult<Counts> {
        self.read("counting rows", |tx| {
            let row = tx
                .query_one(
                    "SELECT (SELECT count(*) FROM sources) AS sources,
                            (SELECT count(*) FROM channels) AS channels,
                            (SELECT count(*) FROM threads) AS threads,
                            (SELECT count(*) FROM identities) AS identities,
                            (SELECT count(*) FROM members m WHERE m.anonymous = 0
                                AND EXISTS (SELECT 1 FROM identities i WHERE i.member_id = m.id)) AS members,
                            (SELECT count(*) FROM activities) AS activities,
                            (SELECT count(*) FROM activities WHERE deleted = 1) AS deleted_activities",
                    &[],
                )
                .map_err(|e| db_err("counting rows", e))?;
            Ok(Counts {
                sources: count(col(&row, "sources")?),
                channels: count(col(&row, "channels")?),
                threads: count(col(&row, "threads")?),
                identities: count(col(&row, "identities")?),
                members: count(col(&row, "members")?),
                activities: count(col(&row, "activities")?),
                deleted_activities: count(col(&row, "deleted_activities")?),
            })
        })
    }
}

fn to_json<T: serde::Serialize + ?Sized>(value: &T, what: &str) -> StoreResult<String> {
    serde_json::to_string(value)
        .map_err(|e| StoreError::Invalid(format!("cannot encode the audit's {what}: {e}")))
}

fn i64_of(n: u64, what: &str) -> StoreResult<i64> {
    i64::try_from(n)
        .map_err(|_| StoreError::Invalid(format!("the audit's {what} ({n}) is too large to store")))
}

/// Inserts an audit row (in the caller's transaction).
pub(crate) fn insert_audit(tx: &mut impl GenericClient, a: &ImportAudit) -> StoreResult<AuditId> {
    let row = tx
        .query_one(
            "INSERT INTO audits (format, sources, inputs, started_at, finished_at, status, read, imported, updated,
                                 skipped, problems, first_ts, last_ts, members_created, members_merged, error)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
             RETURNING id",
            &[
                &a.format,
                &to_json(&a.sources, "sources")?,
                &to_json(&a.inputs, "inputs")?,
                &a.started_at,
                &a.finished_at,
                &a.status.as_str(),
                &i64_of(a.read, "read count")?,
                &i64_of(a.imported, "imported count")?,
                &i64_of(a.updated, "updated count")?,
                &to_json(&a.skipped, "skip counts")?,
                &to_json(&a.problems, "problems")?,
                &a.first_ts,
                &a.last_ts,
                &i64_of(a.members_created, "members created")?,
                &i64_of(a.members_merged, "members merged")?,
                &a.error,
            ],
        )
        .map_err(|e| db_err("recording an import audit", e))?;
    Ok(AuditId(col(&row, "id")?))
}

/// Audits, newest first, optionally of one source.
pub(crate) fn audits_of(
    tx: &mut impl GenericClient,
    source: Option<&str>,
    limit: usize,
) -> StoreResult<Vec<StoredAudit>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = tx
        .query(
            "SELECT * FROM audits
             WHERE $1::text IS NULL OR EXISTS (SELECT 1 FROM jsonb_array_elements_text(sources::jsonb) s WHERE s = $1)
             ORDER BY id DESC LIMIT $2",
            &[&source, &limit],
        )
        .map_err(|e| db_err("reading import audits", e))?;
    rows.iter().map(audit_from_row).collect()
}

fn from_json<T: serde::de::DeserializeOwned>(row: &Row, name: &str, id: i64) -> StoreResult<T> {
    let text: String = col(row, name)?;
    serde_json::from_str(&text)
        .map_err(|e| StoreError::backend(format!("reading audits.{name} of audit {id}"), e))
}

fn audit_from_row(row: &Row) -> StoreResult<StoredAudit> {
    let id: i64 = col(row, "id")?;
    let status: String = col(row, "status")?;
    let status = AuditStatus::parse(&status).ok_or_else(|| {
        StoreError::backend(
            format!("reading audit {id}"),
            format!("unknown status `{status}`"),
        )
    })?;
    Ok(StoredAudit {
        id: AuditId(id),
        audit: ImportAudit {
            format: col(row, "format")?,
            sources: from_json(row, "sources", id)?,
            inputs: from_json(row, "inputs", id)?,
            started_at: col(row, "started_at")?,
            finished_at: col(row, "finished_at")?,
            status,
            read: count(col(row, "read")?),
            imported: count(col(row, "imported")?),
            updated: count(col(row, "updated")?),
            skipped: from_json(row, "skipped", id)?,
            problems: from_json(row, "problems", id)?,
            first_ts: col(row, "first_ts")?,
            last_ts: col(row, "last_ts")?,
            members_created: count(col(row, "members_created")?),
            members_merged: count(col(row, "members_merged")?),
            error: col(row, "error")?,
        },
    })
}
