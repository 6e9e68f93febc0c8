//! Members, their flags and affiliations, and reversible merges.

use kith_store::{
    Affiliation, IdentityId, IdentityRow, MemberDetail, MemberFlags, MemberId, MemberRow,
    MergeEvidence, MergeId, MergeRecord, SourceId, StoreError, StoreResult,
};
use postgres::{GenericClient, Row};

use crate::{PgStore, col, db_err, flag, now_secs};

pub(crate) fn member_from_row(row: &Row) -> StoreResult<MemberRow> {
    Ok(MemberRow {
        id: MemberId(col(row, "id")?),
        display_name: col(row, "display_name")?,
        team: flag(row, "team")?,
        team_since: col(row, "team_since")?,
        bot: flag(row, "bot")?,
        merged_into: col::<Option<i64>>(row, "merged_into")?.map(MemberId),
        anonymous: flag(row, "anonymous")?,
        created_at: col(row, "created_at")?,
    })
}

pub(crate) fn identity_from_row(row: &Row) -> StoreResult<IdentityRow> {
    Ok(IdentityRow {
        id: IdentityId(col(row, "id")?),
        source: SourceId(col(row, "source_id")?),
        ext_id: col(row, "ext_id")?,
        name: col(row, "name")?,
        handle: col(row, "handle")?,
        email: col(row, "email")?,
        member: MemberId(col(row, "member_id")?),
        anonymous: flag(row, "anonymous")?,
        team: flag(row, "team")?,
        bot: flag(row, "bot")?,
    })
}

const MEMBER_COLUMNS: &str =
    "id, display_name, team, team_since, bot, merged_into, anonymous, created_at";
const MERGE_COLUMNS: &str =
    "id, at, into_member, from_member, identities, reason, score, actor, undone_at, undone_by";

fn merge_from_row(row: &Row) -> StoreResult<MergeRecord> {
    let id: i64 = col(row, "id")?;
    let identities: String = col(row, "identities")?;
    let identities: Vec<i64> = serde_json::from_str(&identities)
        .map_err(|e| StoreError::backend(format!("reading merges.identities of merge {id}"), e))?;
    Ok(MergeRecord {
        id: MergeId(id),
        at: col(row, "at")?,
        into: MemberId(col(row, "into_member")?),
        from: MemberId(col(row, "from_member")?),
        identities: identities.into_iter().map(IdentityId).collect(),
        evidence: MergeEvidence {
            reason: col(row, "reason")?,
            score: col(row, "score")?,
            actor: col(row, "actor")?,
        },
        undone_at: col(row, "undone_at")?,
        undone_by: col(row, "undone_by")?,
    })
}

/// A member row, locked for the rest of the transaction.
fn lock_member(tx: &mut impl GenericClient, id: MemberId) -> StoreResult<MemberRow> {
    let row = tx
        .query_opt(
            &format!("SELECT {MEMBER_COLUMNS} FROM members WHERE id = $1 FOR UPDATE"),
            &[&id.0],
        )
        .map_err(|e| db_err(format!("reading member {id}"), e))?
        .ok_or_else(|| StoreError::NotFound(format!("member {id}")))?;
    member_from_row(&row)
}

impl PgStore {
    pub(crate) fn list_members(
        &self,
        after: Option<MemberId>,
        limit: usize,
    ) -> StoreResult<Vec<MemberRow>> {
        let after = after.map_or(i64::MIN, |m| m.0);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read("listing members", |tx| {
            let rows = tx
                .query(
                    &format!(
                        "SELECT {MEMBER_COLUMNS} FROM members WHERE id > $1 ORDER BY id LIMIT $2"
                    ),
                    &[&after, &limit],
                )
                .map_err(|e| db_err("listing members", e))?;
            rows.iter().map(member_from_row).collect()
        })
    }

    pub(crate) fn annotate_audit_merges(
        &self,
        audit: kith_store::AuditId,
        merged: u64,
    ) -> StoreResult<()> {
        self.write("recording merges on an import audit", |tx, _xid| {
            let n = tx
                .execute(
                    "UPDATE audits SET members_merged = $2 WHERE id = $1",
                    &[&audit.0, &i64::try_from(merged).unwrap_or(i64::MAX)],
                )
                .map_err(|e| db_err(format!("updating audit {audit}"), e))?;
            if n == 0 {
                return Err(StoreError::NotFound(format!("import audit {audit}")));
            }
            Ok(())
        })
    }

    pub(crate) fn all_identities(&self) -> StoreResult<Vec<IdentityRow>> {
        self.read("listing identities", |tx| {
            tx.query("SELECT id, source_id, ext_id, name, handle, email, member_id, anonymous, team, bot FROM identities ORDER BY id", &[])
                .map_err(|e| db_err("listing identities", e))?
                .iter()
                .map(identity_from_row)
                .collect()
        })
    }

    pub(crate) fn all_affiliations(&self) -> StoreResult<Vec<(MemberId, Affiliation)>> {
        self.read("listing affiliations", |tx| {
            tx.query(
                "SELECT member_id, organisation, since, until FROM affiliations ORDER BY id",
                &[],
            )
            .map_err(|e| db_err("listing affiliations", e))?
            .iter()
            .map(|r| {
                Ok((
                    MemberId(col(r, "member_id")?),
                    Affiliation {
                        organisation: col(r, "organisation")?,
                        since: col(r, "since")?,
                        until: col(r, "until")?,
                    },
                ))
            })
            .collect()
        })
    }

    pub(crate) fn member_detail(&self, id: MemberId) -> StoreResult<MemberDetail> {
        self.read("reading a member", |tx| {
            let row = tx
                .query_opt(&format!("SELECT {MEMBER_COLUMNS} FROM members WHERE id = $1"), &[&id.0])
                .map_err(|e| db_err(format!("reading member {id}"), e))?
                .ok_or_else(|| StoreError::NotFound(format!("member {id}")))?;
            let member = member_from_row(&row)?;
            let identities = tx
                .query(
                    "SELECT id, source_id, ext_id, name, handle, email, member_id, anonymous, team, bot
                     FROM identities WHERE member_id = $1 ORDER BY id",
                    &[&id.0],
                )
                .map_err(|e| db_err(format!("reading the identities of member {id}"), e))?
                .iter()
                .map(identity_from_row)
                .collect::<StoreResult<Vec<_>>>()?;
            let affiliations = tx
                .query("SELECT organisation, since, until FROM affiliations WHERE member_id = $1 ORDER BY id", &[&id.0])
                .map_err(|e| db_err(format!("reading the affiliations of member {id}"), e))?
                .iter()
                .map(|r| Ok(Affiliation { organisation: col(r, "organisation")?, since: col(r, "since")?, until: col(r, "until")? }))
                .collect::<StoreResult<Vec<_>>>()?;
            Ok(MemberDetail { member, identities, affiliations })
        })
    }

    pub(crate) fn update_member_flags(&self, id: MemberId, flags: &MemberFlags) -> StoreResult<()> {
        self.write("setting member flags", |tx, xid| {
            let n = tx
                .execute(
                    "UPDATE members SET team = $2, team_since = $3, bot = $4, seq = $5 WHERE id = $1",
                    &[&id.0, &i16::from(flags.team), &flags.team_since, &i16::from(flags.bot), &xid],
                )
                .map_err(|e| db_err(format!("setting the flags of member {id}"), e))?;
            if n == 0 {
                return Err(StoreError::NotFound(format!("member {id}")));
            }
            Ok(())
        })
    }

    pub(crate) fn insert_affiliation(&self, id: MemberId, a: &Affiliation) -> StoreResult<()> {
        if let (Some(since), Some(until)) = (a.since, a.until)
            && since > until
        {
            return Err(StoreError::Invalid(format!(
                "affiliation with `{}` ends ({until}) before it starts ({since})",
                a.organisation
            )));
        }
        self.write("adding an affiliation", |tx, _| {
            lock_member(tx, id)?;
            tx.execute(
                "INSERT INTO affiliations (member_id, organisation, since, until) VALUES ($1, $2, $3, $4)",
                &[&id.0, &a.organisation, &a.since, &a.until],
            )
            .map_err(|e| db_err(format!("adding an affiliation to member {id}"), e))?;
            Ok(())
        })
    }

    pub(crate) fn merge(
        &self,
        into: MemberId,
        from: MemberId,
        evidence: &MergeEvidence,
    ) -> StoreResult<MergeRecord> {
        if into == from {
            return Err(StoreError::Invalid(format!(
                "cannot merge member {into} into itself"
            )));
        }
        self.write("merging members", |tx, xid| {
            // Lock in id order so that two opposite merges cannot deadlock.
            let (first, second) = if into < from { (into, from) } else { (from, into) };
            let a = lock_member(tx, first)?;
            let b = lock_member(tx, second)?;
            let (target, source) = if a.id == into { (a, b) } else { (b, a) };
            for m in [&target, &source] {
                if m.anonymous {
                    return Err(StoreError::Invalid(format!(
                        "member {} stands for author-less content and is never merged",
                        m.id
                    )));
                }
                if let Some(other) = m.merged_into {
                    return Err(StoreError::Conflict(format!(
                        "member {} has been merged into member {other}; merge with member {other} instead",
                        m.id
                    )));
                }
            }
            let moved: Vec<i64> = tx
                .query("UPDATE identities SET member_id = $1, seq = $3 WHERE member_id = $2 RETURNING id", &[&into.0, &from.0, &xid])
                .map_err(|e| db_err(format!("moving the identities of member {from} to member {into}"), e))?
                .iter()
                .map(|r| col::<i64>(r, "id"))
                .collect::<StoreResult<_>>()?;
            let mut moved = moved;
            moved.sort_unstable();
            tx.execute("UPDATE members SET merged_into = $1, seq = $3 WHERE id = $2", &[&into.0, &from.0, &xid])
                .map_err(|e| db_err(format!("marking member {from} as merged"), e))?;
            let identities = serde_json::to_string(&moved).map_err(|e| StoreError::backend("encoding the merged identities", e))?;
            let row = tx
                .query_one(
                    &format!(
                        "INSERT INTO merges (at, into_member, from_member, identities, reason, score, actor)
                         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {MERGE_COLUMNS}"
                    ),
                    &[&now_secs(), &into.0, &from.0, &identities, &evidence.reason, &evidence.score, &evidence.actor],
                )
                .map_err(|e| db_err("logging the merge", e))?;
            merge_from_row(&row)
        })
    }

    pub(crate) fn undo_merge(&self, merge: MergeId, actor: &str) -> StoreResult<MergeRecord> {
        self.write("undoing a merge", |tx, xid| {
            let row = tx
                .query_opt(&format!("SELECT {MERGE_COLUMNS} FROM merges WHERE id = $1 FOR UPDATE"), &[&merge.0])
                .map_err(|e| db_err(format!("reading merge {merge}"), e))?
                .ok_or_else(|| StoreError::NotFound(format!("merge {merge}")))?;
            let record = merge_from_row(&row)?;
            if record.undone_at.is_some() {
                return Err(StoreError::Conflict(format!(
                    "merge {merge} was already undone by {}",
                    record.undone_by.as_deref().unwrap_or("someone")
                )));
            }
            // A later merge still in force that moved the merged member on (or merged into the
            // member this merge emptied) depends on this one.
            let later = tx
                .query_opt(
                    "SELECT id FROM merges
                     WHERE id > $1 AND undone_at IS NULL AND (from_member = $2 OR into_member = $3)
                     ORDER BY id LIMIT 1",
                    &[&merge.0, &record.into.0, &record.from.0],
                )
                .map_err(|e| db_err(format!("checking merges that depend on merge {merge}"), e))?;
            if let Some(later) = later {
                let later: i64 = col(&later, "id")?;
                return Err(StoreError::Conflict(format!(
                    "merge {later} depends on merge {merge} and is still in force; undo merge {later} first"
                )));
            }
            lock_member(tx, record.into)?;
            lock_member(tx, record.from)?;
            let ids: Vec<i64> = record.identities.iter().map(|i| i.0).collect();
            tx.execute(
                "UPDATE identities SET member_id = $1, seq = $4 WHERE id = ANY($3) AND member_id = $2",
                &[&record.from.0, &record.into.0, &ids, &xid],
            )
            .map_err(|e| db_err(format!("moving identities back to member {}", record.from), e))?;
            tx.execute("UPDATE members SET merged_into = NULL, seq = $2 WHERE id = $1", &[&record.from.0, &xid])
                .map_err(|e| db_err(format!("restoring member {}", record.from), e))?;
            let row = tx
                .query_one(
                    &format!("UPDATE merges SET undone_at = $2, undone_by = $3 WHERE id = $1 RETURNING {MERGE_COLUMNS}"),
                    &[&merge.0, &now_secs(), &actor],
                )
                .map_err(|e| db_err(format!("logging the undo of merge {merge}"), e))?;
            merge_from_row(&row)
        })
    }

    pub(crate) fn merge_log(&self) -> StoreResult<Vec<MergeRecord>> {
        self.read("reading the merge log", |tx| {
            let rows = tx
                .query(
                    &format!("SELECT {MERGE_COLUMNS} FROM merges ORDER BY id"),
                    &[],
                )
                .map_err(|e| db_err("reading the merge log", e))?;
            rows.iter().map(merge_from_row).collect()
        })
    }
}
