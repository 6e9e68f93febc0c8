//! The records that cross the storage interface.

use std::collections::BTreeMap;

use kith_model::{Activity, Derived, Kind};
use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($($(#[$doc:meta])* $name:ident;)*) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl std::fmt::Display for $name {
            /// The number, with the formatter's width and alignment (`{:>8}` pads it).
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                std::fmt::Display::fmt(&self.0, f)
            }
        }
    )*};
}

id_type! {
    /// A source's row id.
    SourceId;
    /// A member's id, stable across merges (a merged-away member keeps its id, empty).
    MemberId;
    IdentityId;
    ChannelId;
    ThreadId;
    /// An activity's row id (insertion order).
    ActivityId;
    AuditId;
    MergeId;
}

/// What [`crate::Store::pack_for_reads`] wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PackStats {
    /// Packs written (new ones, and ones whose rows changed since they were packed), of
    /// activities and of text scores.
    pub blocks: u64,
    /// Rows (activities, text scores) written into them.
    pub rows: u64,
    /// Bytes of the packs written.
    pub bytes: u64,
}

impl std::ops::AddAssign for PackStats {
    fn add_assign(&mut self, other: PackStats) {
        self.blocks += other.blocks;
        self.rows += other.rows;
        self.bytes += other.bytes;
    }
}

/// A position in the database's change sequence. Opaque: only compare and pass back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Watermark(pub i64);

impl Watermark {
    /// Before every change: reading from here delivers the whole state.
    pub const ZERO: Watermark = Watermark(0);
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoreInfo {
    pub backend: Backend,
    /// Path or URL, without credentials.
    pub location: String,
    pub schema_version: u32,
}

/// One community per database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Community {
    pub name: String,
    /// IANA time zone name used for calendar bucketing (SPEC §4.0).
    pub time_zone: String,
}

impl Default for Community {
    fn default() -> Self {
        Community {
            name: "community".into(),
            time_zone: "UTC".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SourceSummary {
    pub id: SourceId,
    pub name: String,
    pub format: String,
    pub base_url: Option<String>,
    /// Epoch seconds.
    pub created_at: i64,
    pub activities: u64,
    pub identities: u64,
    pub last_audit: Option<StoredAudit>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AuditStatus {
    Committed,
    DryRun,
    Failed,
}

impl AuditStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditStatus::Committed => "committed",
            AuditStatus::DryRun => "dry-run",
            AuditStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<AuditStatus> {
        [
            AuditStatus::Committed,
            AuditStatus::DryRun,
            AuditStatus::Failed,
        ]
        .into_iter()
        .find(|a| a.as_str() == s)
    }
}

/// A record that was skipped, and where it was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    pub file: String,
    /// 1-based line, or 0 when the format has no lines (then `location` says where).
    pub line: u64,
    /// Element, record id or byte offset when lines do not say enough.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// The skip reason's category (the key counted in [`ImportAudit::skipped`]).
    pub reason: String,
    pub message: String,
}

/// What an import read, kept and skipped, and why (SPEC §3): the answer to "why does kith show
/// a different member count than the platform?".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportAudit {
    pub format: String,
    /// The sources the import wrote to.
    pub sources: Vec<String>,
    /// The paths as given.
    pub inputs: Vec<String>,
    /// Epoch seconds.
    pub started_at: i64,
    pub finished_at: i64,
    pub status: AuditStatus,
    /// Records read from the input.
    pub read: u64,
    /// New activities stored.
    pub imported: u64,
    /// Activities already stored whose content changed (edits).
    pub updated: u64,
    /// Records skipped, by reason (bot, system message, duplicate, unparseable, ...).
    /// Byte-identical re-imports count under `duplicate`.
    pub skipped: BTreeMap<String, u64>,
    /// The first problems with their file and line (capped; `skipped` has the full counts).
    pub problems: Vec<Problem>,
    /// Epoch seconds of the earliest and latest activity read.
    pub first_ts: Option<i64>,
    pub last_ts: Option<i64>,
    pub members_created: u64,
    pub members_merged: u64,
    /// Why a failed import failed.
    pub error: Option<String>,
}

impl ImportAudit {
    /// The most problems an audit keeps with their location.
    pub const MAX_PROBLEMS: usize = 1000;

    pub fn new(format: &str, inputs: Vec<String>, started_at: i64) -> ImportAudit {
        ImportAudit {
            format: format.to_owned(),
            sources: Vec::new(),
            inputs,
            started_at,
            finished_at: started_at,
            status: AuditStatus::Committed,
            read: 0,
            imported: 0,
            updated: 0,
            skipped: BTreeMap::new(),
            problems: Vec::new(),
            first_ts: None,
            last_ts: None,
            members_created: 0,
            members_merged: 0,
            error: None,
        }
    }

    /// Counts a skipped record and keeps its location while under the cap.
    pub fn skip(&mut self, problem: Problem) {
        *self.skipped.entry(problem.reason.clone()).or_default() += 1;
        if self.problems.len() < Self::MAX_PROBLEMS {
            self.problems.push(problem);
        }
    }

    pub fn skipped_total(&self) -> u64 {
        self.skipped.values().sum()
    }

    pub fn see_time(&mut self, secs: i64) {
        self.first_ts = Some(self.first_ts.map_or(secs, |t| t.min(secs)));
        self.last_ts = Some(self.last_ts.map_or(secs, |t| t.max(secs)));
    }

    pub fn add(&mut self, outcome: &BatchOutcome) {
        self.imported += outcome.inserted;
        self.updated += outcome.updated;
        if outcome.unchanged > 0 {
            *self.skipped.entry("duplicate".into()).or_default() += outcome.unchanged;
        }
        self.members_created += outcome.members_created;
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredAudit {
    pub id: AuditId,
    #[serde(flatten)]
    pub audit: ImportAudit,
}

/// What one [`crate::Ingest::write`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct BatchOutcome {
    pub inserted: u64,
    pub updated: u64,
    /// Already stored with the same content (or repeated within the session).
    pub unchanged: u64,
    pub identities_created: u64,
    pub members_created: u64,
}

impl std::ops::AddAssign for BatchOutcome {
    fn add_assign(&mut self, o: BatchOutcome) {
        self.inserted += o.inserted;
        self.updated += o.updated;
        self.unchanged += o.unchanged;
        self.identities_created += o.identities_created;
        self.members_created += o.members_created;
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub sources: u64,
    pub channels: u64,
    pub threads: u64,
    pub identities: u64,
    /// Members that have at least one identity (merged-away members are not counted).
    pub members: u64,
    pub activities: u64,
    pub deleted_activities: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct DeletedSource {
    pub activities: u64,
    pub identities: u64,
    pub members: u64,
    pub channels: u64,
    pub threads: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemberRow {
    pub id: MemberId,
    /// The best name seen on its identities.
    pub display_name: Option<String>,
    pub team: bool,
    /// Epoch seconds; activity before it counts as community.
    pub team_since: Option<i64>,
    pub bot: bool,
    /// Set while this member's identities have been merged into another.
    pub merged_into: Option<MemberId>,
    /// True for the identity of author-less content (never merged, left out of member counts).
    pub anonymous: bool,
    pub created_at: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberFlags {
    pub team: bool,
    pub team_since: Option<i64>,
    pub bot: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IdentityRow {
    pub id: IdentityId,
    pub source: SourceId,
    /// The platform user id (for anonymous identities, a key derived from the activity).
    pub ext_id: String,
    pub name: Option<String>,
    pub handle: Option<String>,
    pub email: Option<String>,
    pub member: MemberId,
    pub anonymous: bool,
    /// What the platform said (author.team / author.bot hints).
    pub team: bool,
    pub bot: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Affiliation {
    pub organisation: String,
    /// Epoch seconds, inclusive.
    pub since: Option<i64>,
    pub until: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MemberDetail {
    pub member: MemberRow,
    pub identities: Vec<IdentityRow>,
    pub affiliations: Vec<Affiliation>,
}

/// Why two members were merged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MergeEvidence {
    /// What matched, e.g. "same verified e-mail ada@example.org".
    pub reason: String,
    /// 0..1; 1 for a merge a person made.
    pub score: f64,
    /// "auto" for automatic merges, else the person who merged.
    pub actor: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MergeRecord {
    pub id: MergeId,
    /// Epoch seconds.
    pub at: i64,
    pub into: MemberId,
    pub from: MemberId,
    /// The identities the merge moved.
    pub identities: Vec<IdentityId>,
    pub evidence: MergeEvidence,
    pub undone_at: Option<i64>,
    pub undone_by: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceRow {
    pub id: SourceId,
    pub name: String,
    pub format: String,
    pub base_url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChannelRow {
    pub id: ChannelId,
    pub source: SourceId,
    pub ext_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ThreadRow {
    pub id: ThreadId,
    pub source: SourceId,
    pub ext_id: String,
    /// Reconstructed by kith (conversation window), not given by the platform.
    pub inferred: bool,
    /// The thread's topics ([`crate::topics_of`]): ascending, each once, one per line; empty
    /// when it has none.
    pub topics: String,
}

/// The compact form of an activity that analytics reads: no text, no attributes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActivityFact {
    pub id: ActivityId,
    pub source: SourceId,
    pub kind: Kind,
    /// Epoch seconds.
    pub ts: i64,
    pub identity: IdentityId,
    pub channel: Option<ChannelId>,
    pub thread: Option<ThreadId>,
    /// The activity replied to, once it is stored.
    pub reply_to: Option<ActivityId>,
    /// The platform user ids the activity addresses (reply target, mentions): identities'
    /// `ext_id`s in the same source (`activities.to_ext`). Empty for most activities.
    pub to: Vec<String>,
    pub deleted: bool,
}

/// One change in the database's change sequence.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Change {
    Source(SourceRow),
    SourceRemoved(SourceId),
    Channel(ChannelRow),
    ChannelRemoved(ChannelId),
    Thread(ThreadRow),
    ThreadRemoved(ThreadId),
    Member(MemberRow),
    MemberRemoved(MemberId),
    /// An identity, new or moved to another member (merge, unmerge).
    Identity(IdentityRow),
    IdentityRemoved(IdentityId),
    /// An activity, new or edited or marked deleted.
    Activity(ActivityFact),
    /// An activity removed from the database (its source was deleted).
    ActivityRemoved(ActivityId),
    /// The text scores of an activity, new or recomputed (delivered after the activities).
    Text(crate::TextFact),
}

/// An entity as an analytics snapshot keeps it: its ids and flags, the few strings it keeps
/// borrowed from the reader (no display names, no thread keys). What
/// [`crate::Store::read_entity_keys`] lends, one row at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntityKey<'a> {
    Source {
        id: SourceId,
        name: &'a str,
    },
    Channel {
        id: ChannelId,
        source: SourceId,
        ext_id: &'a str,
    },
    Thread {
        id: ThreadId,
        /// As [`ThreadRow::topics`]: ascending, one per line, empty when none.
        topics: &'a str,
    },
    Member {
        id: MemberId,
        team: bool,
        team_since: Option<i64>,
        bot: bool,
        anonymous: bool,
    },
    Identity {
        id: IdentityId,
        member: MemberId,
        source: SourceId,
        /// The platform user id (addressees are matched to identities by it).
        ext_id: &'a str,
    },
}

impl<'a> EntityKey<'a> {
    /// The key of an entity change (`None` for activities, text scores and removals).
    pub fn of(change: &'a Change) -> Option<EntityKey<'a>> {
        Some(match change {
            Change::Source(s) => EntityKey::Source {
                id: s.id,
                name: &s.name,
            },
            Change::Channel(c) => EntityKey::Channel {
                id: c.id,
                source: c.source,
                ext_id: &c.ext_id,
            },
            Change::Thread(t) => EntityKey::Thread {
                id: t.id,
                topics: &t.topics,
            },
            Change::Member(m) => EntityKey::Member {
                id: m.id,
                team: m.team,
                team_since: m.team_since,
                bot: m.bot,
                anonymous: m.anonymous,
            },
            Change::Identity(i) => EntityKey::Identity {
                id: i.id,
                member: i.member,
                source: i.source,
                ext_id: &i.ext_id,
            },
            _ => return None,
        })
    }
}

/// An activity as exported: the canonical record plus what kith derived.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportedActivity {
    pub id: ActivityId,
    pub activity: Activity,
    pub derived: Derived,
    pub deleted: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_display_as_their_number_with_width_and_alignment() {
        assert_eq!(
            format!("{:>5}|{:<4}|{}", MemberId(42), SourceId(7), IdentityId(-3)),
            "   42|7   |-3"
        );
    }
}
