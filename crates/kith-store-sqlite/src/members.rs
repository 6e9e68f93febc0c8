//! Members: paging, detail, flags, affiliations, and reversible merges.

use kith_store::{
    Affiliation, IdentityId, IdentityRow, MemberDetail, MemberFlags, MemberId, MemberRow,
    MergeEvidence, MergeId, MergeRecord, SourceId, StoreError, StoreResult,
};
use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::error::Context;
use crate::now;

const MEMBER_COLUMNS: &str =
    "id, display_name, team, team_since, bot, merged_into, anonymous, created_at";

pub(crate) fn member_row(r: &Row<'_>) -> rusqlite::Result<MemberRow> {
    Ok(MemberRow {
        id: MemberId(r.get(0)?),
        display_name: r.get(1)?,
        team: r.get(2)?,
        team_since: r.get(3)?,
        bot: r.get(4)?,
        merged_into: r.get::<_, Option<i64>>(5)?.map(MemberId),
        anonymous: r.get(6)?,
        created_at: r.get(7)?,
    })
}

pub(crate) const IDENTITY_COLUMNS: &str =
    "id, source_id, ext_id, name, handle, email, member_id, anonymous, team, bot";

pub(crate) fn identity_row(r: &Row<'_>) -> rusqlite::Result<IdentityRow> {
    Ok(IdentityRow {
        id: IdentityId(r.get(0)?),
        source: SourceId(r.get(1)?),
        ext_id: r.get(2)?,
        name: r.get(3)?,
        handle: r.get(4)?,
        email: r.get(5)?,
        member: MemberId(r.get(6)?),
        anonymous: r.get(7)?,
        team: r.get(8)?,
        bot: r.get(9)?,
    })
}

pub(crate) fn page(
    conn: &Connection,
    after: Option<MemberId>,
    limit: usize,
) -> StoreResult<Vec<MemberRow>> {
    let after = after.map_or(i64::MIN, |m| m.0);
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    conn.prepare_cached(&format!(
        "SELECT {MEMBER_COLUMNS} FROM members WHERE id > ?1 ORDER BY id LIMIT ?2"
    ))
    .and_then(|mut s| s.query_map(params![after, limit], member_row)?.collect())
    .ctx("listing members")
}

pub(crate) fn all_identities(conn: &Connection) -> StoreResult<Vec<IdentityRow>> {
    conn.prepare_cached(&format!(
        "SELECT {IDENTITY_COLUMNS} FROM identities ORDER BY id"
    ))
    .and_then(|mut s| s.query_map([], identity_row)?.collect())
    .ctx("listing identities")
}

pub(crate) fn all_affiliations(conn: &Connection) -> StoreResult<Vec<(MemberId, Affiliation)>> {
    conn.prepare_cached(
        "SELECT member_id, organisation, since, until FROM affiliations ORDER BY id",
    )
    .and_then(|mut s| {
        s.query_map([], |r| {
            Ok((
                MemberId(r.get(0)?),
                Affiliation {
                    organisation: r.get(1)?,
                    since: r.get(2)?,
                    until: r.get(3)?,
                },
            ))
        })?
        .collect()
    })
    .ctx("listing affiliations")
}

fn load(conn: &Connection, id: MemberId) -> StoreResult<MemberRow> {
    conn.prepare_cached(&format!(
        "SELECT {MEMBER_COLUMNS} FROM members WHERE id = ?1"
    ))
    .and_then(|mut s| s.query_row([id.0], member_row).optional())
    .with_ctx(|| format!("reading member {id}"))?
    .ok_or_else(|| StoreError::NotFound(format!("member {id}")))
}

pub(crate) fn detail(conn: &Connection, id: MemberId) -> StoreResult<MemberDetail> {
    let member = load(conn, id)?;
    let identities = conn
        .prepare_cached(&format!(
            "SELECT {IDENTITY_COLUMNS} FROM identities WHERE member_id = ?1 ORDER BY id"
        ))
        .and_then(|mut s| s.query_map([id.0], identity_row)?.collect())
        .with_ctx(|| format!("reading the identities of member {id}"))?;
    let affiliations = conn
        .prepare_cached(
            "SELECT organisation, since, until FROM affiliations WHERE member_id = ?1 ORDER BY id",
        )
        .and_then(|mut s| {
            s.query_map([id.0], |r| {
                Ok(Affiliation {
                    organisation: r.get(0)?,
                    since: r.get(1)?,
                    until: r.get(2)?,
                })
            })?
            .collect()
        })
        .with_ctx(|| format!("reading the affiliations of member {id}"))?;
    Ok(MemberDetail {
        member,
        identities,
        affiliations,
    })
}

pub(crate) fn set_flags(
    conn: &Connection,
    seq: i64,
    id: MemberId,
    flags: &MemberFlags,
) -> StoreResult<()> {
    let n = conn
        .execute(
            "UPDATE members SET team = ?1, team_since = ?2, bot = ?3, seq = ?4 WHERE id = ?5",
            params![flags.team, flags.team_since, flags.bot, seq, id.0],
        )
        .ctx("setting member flags")?;
    if n == 0 {
        return Err(StoreError::NotFound(format!("member {id}")));
    }
    Ok(())
}

pub(crate) fn add_affiliation(
    conn: &Connection,
    seq: i64,
    id: MemberId,
    a: &Affiliation,
) -> StoreResult<()> {
    if a.organisation.trim().is_empty() {
        return Err(StoreError::Invalid(format!(
            "an affiliation of member {id} needs an organisation name"
        )));
    }
    if let (Some(since), Some(until)) = (a.since, a.until)
        && since > until
    {
        return Err(StoreError::Invalid(format!(
            "affiliation of member {id} with `{}` ends ({until}) before it starts ({since})",
            a.organisation
        )));
    }
    // Bump the member's seq so change readers know to look at it again.
    let n = conn
        .execute(
            "UPDATE members SET seq = ?1 WHERE id = ?2",
            params![seq, id.0],
        )
        .ctx("adding an affiliation")?;
    if n == 0 {
        return Err(StoreError::NotFound(format!("member {id}")));
    }
    conn.execute(
        "INSERT INTO affiliations (member_id, organisation, since, until) VALUES (?1, ?2, ?3, ?4)",
        params![id.0, a.organisation, a.since, a.until],
    )
    .ctx("adding an affiliation")?;
    Ok(())
}

pub(crate) fn merge(
    conn: &Connection,
    seq: i64,
    into: MemberId,
    from: MemberId,
    evidence: &MergeEvidence,
) -> StoreResult<MergeRecord> {
    if into == from {
        return Err(StoreError::Invalid(format!(
            "cannot merge member {into} into itself"
        )));
    }
    if !(0.0..=1.0).contains(&evidence.score) {
        return Err(StoreError::Invalid(format!(
            "a merge score must lie in 0..1, not {}",
            evidence.score
        )));
    }
    let target = load(conn, into)?;
    let source = load(conn, from)?;
    for m in [&target, &source] {
        if m.anonymous {
            return Err(StoreError::Invalid(format!(
                "member {} is the anonymous author of one activity and is never merged",
                m.id
            )));
        }
    }
    if let Some(next) = target.merged_into {
        return Err(StoreError::Invalid(format!(
            "member {into} was merged into member {next}; merge into member {next} instead"
        )));
    }
    if let Some(next) = source.merged_into {
        return Err(StoreError::Conflict(format!(
            "member {from} is already merged into member {next}"
        )));
    }
    let identities: Vec<i64> = conn
        .prepare_cached("SELECT id FROM identities WHERE member_id = ?1 ORDER BY id")
        .and_then(|mut s| s.query_map([from.0], |r| r.get(0))?.collect())
        .ctx("reading the identities to merge")?;
    if identities.is_empty() {
        return Err(StoreError::Invalid(format!(
            "member {from} has no identities to merge"
        )));
    }
    conn.execute(
        "UPDATE identities SET member_id = ?1, seq = ?2 WHERE member_id = ?3",
        params![into.0, seq, from.0],
    )
    .ctx("moving identities")?;
    conn.execute(
        "UPDATE members SET merged_into = ?1, seq = ?2 WHERE id = ?3",
        params![into.0, seq, from.0],
    )
    .ctx("marking the merged member")?;
    conn.execute(
        "UPDATE members SET display_name = coalesce(display_name, ?1), seq = ?2 WHERE id = ?3",
        params![source.display_name, seq, into.0],
    )
    .ctx("updating the merged-into member")?;
    let at = now();
    let ids_json = serde_json::to_string(&identities)
        .map_err(|e| StoreError::backend("recording a merge", e))?;
    let id: i64 = conn
        .query_row(
            "INSERT INTO merges (at, into_member, from_member, identities, reason, score, actor) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING id",
            params![
                at,
                into.0,
                from.0,
                ids_json,
                evidence.reason,
                evidence.score,
                evidence.actor
            ],
            |r| r.get(0),
        )
        .ctx("recording a merge")?;
    Ok(MergeRecord {
        id: MergeId(id),
        at,
        into,
        from,
        identities: identities.into_iter().map(IdentityId).collect(),
        evidence: evidence.clone(),
        undone_at: None,
        undone_by: None,
    })
}

pub(crate) fn unmerge(
    conn: &Connection,
    seq: i64,
    merge: MergeId,
    actor: &str,
) -> StoreResult<MergeRecord> {
    let record = load_merge(conn, merge)?;
    if let Some(at) = record.undone_at {
        return Err(StoreError::Conflict(format!(
            "merge {merge} was already undone (at {at} by {})",
            record.undone_by.as_deref().unwrap_or("?")
        )));
    }
    let source = load(conn, record.from)?;
    if source.merged_into != Some(record.into) {
        return Err(StoreError::Conflict(format!(
            "member {} is no longer merged into member {}; merge {merge} cannot be undone",
            record.from, record.into
        )));
    }
    // Every identity the merge moved must still be where the merge put it: a later merge still
    // in force that moved one onward has to be undone first.
    let later = later_active_merges(conn, merge)?;
    for identity in &record.identities {
        let member: Option<i64> = conn
            .query_row(
                "SELECT member_id FROM identities WHERE id = ?1",
                [identity.0],
                |r| r.get(0),
            )
            .optional()
            .ctx("locating a merged identity")?;
        match member {
            // Removed with its source since: nothing to move back.
            None => continue,
            Some(m) if m == record.into.0 => {}
            Some(m) => {
                let blocker = later.iter().find(|l| l.identities.contains(identity));
                return Err(StoreError::Conflict(match blocker {
                    Some(l) => format!(
                        "merge {merge} cannot be undone: merge {} (still in force) moved identity {identity} on \
                         from member {} to member {}; undo merge {} first",
                        l.id, l.from, l.into, l.id
                    ),
                    None => format!(
                        "merge {merge} cannot be undone: identity {identity} now belongs to member {m}, not {}",
                        record.into
                    ),
                }));
            }
        }
    }
    let mut moved = conn
        .prepare_cached(
            "UPDATE identities SET member_id = ?1, seq = ?2 WHERE id = ?3 AND member_id = ?4",
        )
        .ctx("moving identities back")?;
    for identity in &record.identities {
        moved
            .execute(params![record.from.0, seq, identity.0, record.into.0])
            .ctx("moving identities back")?;
    }
    conn.execute(
        "UPDATE members SET merged_into = NULL, seq = ?1 WHERE id = ?2",
        params![seq, record.from.0],
    )
    .ctx("restoring the merged member")?;
    conn.execute(
        "UPDATE members SET seq = ?1 WHERE id = ?2",
        params![seq, record.into.0],
    )
    .ctx("updating the merged-into member")?;
    let at = now();
    conn.execute(
        "UPDATE merges SET undone_at = ?1, undone_by = ?2 WHERE id = ?3",
        params![at, actor, merge.0],
    )
    .ctx("recording the undo")?;
    Ok(MergeRecord {
        undone_at: Some(at),
        undone_by: Some(actor.to_owned()),
        ..record
    })
}

fn later_active_merges(conn: &Connection, merge: MergeId) -> StoreResult<Vec<MergeRecord>> {
    let raw: Vec<RawMerge> = conn
        .prepare_cached(&format!(
            "SELECT {MERGE_COLUMNS} FROM merges WHERE id > ?1 AND undone_at IS NULL ORDER BY id"
        ))
        .and_then(|mut s| s.query_map([merge.0], raw_merge)?.collect())
        .ctx("reading later merges")?;
    raw.into_iter().map(RawMerge::parse).collect()
}

fn load_merge(conn: &Connection, merge: MergeId) -> StoreResult<MergeRecord> {
    conn.prepare_cached(&format!("SELECT {MERGE_COLUMNS} FROM merges WHERE id = ?1"))
        .and_then(|mut s| s.query_row([merge.0], raw_merge).optional())
        .with_ctx(|| format!("reading merge {merge}"))?
        .ok_or_else(|| StoreError::NotFound(format!("merge {merge}")))?
        .parse()
}

pub(crate) fn merge_log(conn: &Connection) -> StoreResult<Vec<MergeRecord>> {
    let raw: Vec<RawMerge> = conn
        .prepare_cached(&format!("SELECT {MERGE_COLUMNS} FROM merges ORDER BY id"))
        .and_then(|mut s| s.query_map([], raw_merge)?.collect())
        .ctx("reading the merge log")?;
    raw.into_iter().map(RawMerge::parse).collect()
}

const MERGE_COLUMNS: &str =
    "id, at, into_member, from_member, identities, reason, score, actor, undone_at, undone_by";

struct RawMerge {
    id: i64,
    at: i64,
    into: i64,
    from: i64,
    identities: String,
    evidence: MergeEvidence,
    undone_at: Option<i64>,
    undone_by: Option<String>,
}

fn raw_merge(r: &Row<'_>) -> rusqlite::Result<RawMerge> {
    Ok(RawMerge {
        id: r.get(0)?,
        at: r.get(1)?,
        into: r.get(2)?,
        from: r.get(3)?,
        identities: r.get(4)?,
        evidence: MergeEvidence {
            reason: r.get(5)?,
            score: r.get(6)?,
            actor: r.get(7)?,
        },
        undone_at: r.get(8)?,
        undone_by: r.get(9)?,
    })
}

impl RawMerge {
    fn parse(self) -> StoreResult<MergeRecord> {
        let identities: Vec<i64> = serde_json::from_str(&self.identities).map_err(|e| {
            StoreError::backend(
                format!("reading merge {}", self.id),
                format!("column identities holds invalid data: {e}"),
            )
        })?;
        Ok(MergeRecord {
            id: MergeId(self.id),
            at: self.at,
            into: MemberId(self.into),
            from: MemberId(self.from),
            identities: identities.into_iter().map(IdentityId).collect(),
            evidence: self.evidence,
            undone_at: self.undone_at,
            undone_by: self.undone_by,
        })
    }
}
