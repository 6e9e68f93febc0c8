//! The storage interface of kith: what every backend (SQLite, PostgreSQL) provides, and the
//! conformance suite that holds them to it.
//!
//! One database holds one community. The rest of kith talks to a `dyn Store` and cannot tell
//! which database is behind it; a new backend is a new crate implementing [`Store`] and passing
//! [`conformance`].
//!
//! Architecture invariants:
//! - The interface is synchronous. Servers call it from blocking threads.
//! - Writes of activities go through an [`Ingest`] session: one transaction, committed with
//!   its audit or rolled back entirely.
//! - Every row change (insert, edit, deletion, merge, source removal) advances the database's
//!   change sequence, so [`Store::read_changes`] never misses one, even with several writers.
//! - Text scores are written beside the activities, never by an [`Ingest`] session: an import
//!   is usable before its messages are scored ([`TextScores`]).

pub mod conformance;
mod error;
mod text;
mod types;
mod workspace;

pub use error::{StoreError, StoreResult};
pub use text::*;
pub use types::*;
pub use workspace::*;

use kith_model::Activity;

/// The schema version this build of kith writes. A database at a higher version is refused
/// ([`StoreError::NewerSchema`]); a lower one is migrated on open.
pub const SCHEMA_VERSION: u32 = 6;

/// Topics a thread may have at most, and the longest topic kept (in characters).
pub const MAX_TOPICS: usize = 20;
pub const MAX_TOPIC_CHARS: usize = 100;

/// The topics an activity gives its thread, when it is the thread's opening post: the labels
/// the platform put on it (the attributes `tags` of a Stack Exchange question, `topic_tags` of
/// a Discourse topic's first post, `labels` of a GitHub issue or pull request; each a string or
/// an object with a `name`), white space collapsed, ascending, once, at most [`MAX_TOPICS`] of
/// at most [`MAX_TOPIC_CHARS`] characters. `None` for an activity that is not a post in a
/// thread (it says nothing about topics); an empty list for a post without labels. Every
/// backend stores exactly this: a post stored for the first time with labels, or changed (a
/// re-import with other content), replaces its thread's topics with its own (a changed post
/// without labels clears them).
pub fn topics_of(a: &Activity) -> Option<Vec<String>> {
    if a.kind != kith_model::Kind::Post || a.thread.is_none() {
        return None;
    }
    Some(topics_of_attrs(&a.attrs))
}

/// The labels in a post's attributes, as [`topics_of`] takes them.
pub fn topics_of_attrs(attrs: &serde_json::Map<String, serde_json::Value>) -> Vec<String> {
    let mut topics: Vec<String> = ["tags", "topic_tags", "labels"]
        .iter()
        .filter_map(|k| attrs.get(*k)?.as_array())
        .flatten()
        .filter_map(|v| v.as_str().or_else(|| v.get("name")?.as_str()))
        .map(|t| t.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|t| !t.is_empty())
        .map(|t| {
            t.chars()
                .take(MAX_TOPIC_CHARS)
                .collect::<String>()
                .trim_end()
                .to_owned()
        })
        .collect();
    topics.sort_unstable();
    topics.dedup();
    topics.truncate(MAX_TOPICS);
    topics
}

/// A community's database. It also keeps the team's own data ([`Accounts`],
/// [`MemberRecords`]: schema version 3) and what kith read from each message
/// ([`TextScores`]: schema version 4).
pub trait Store: Accounts + MemberRecords + TextScores + Send + Sync {
    /// Which backend, where (credentials removed), and its schema version.
    fn describe(&self) -> StoreInfo;

    /// The community's settings (name, time zone).
    fn community(&self) -> StoreResult<Community>;
    fn set_community(&self, community: &Community) -> StoreResult<()>;

    /// Starts a write session: one transaction, committed by [`Ingest::commit`].
    /// Dropping the session without committing rolls it back.
    fn ingest(&self) -> StoreResult<Box<dyn Ingest + '_>>;

    /// [`Store::ingest`] for a caller that is the database's only user while the session
    /// lasts (a command-line import, the demo generator), so that the backend may take the
    /// database exclusively to load faster. Readers elsewhere wait until the session ends; the
    /// result is the same as through [`Store::ingest`]. The default is [`Store::ingest`].
    fn ingest_exclusive(&self) -> StoreResult<Box<dyn Ingest + '_>> {
        self.ingest()
    }

    /// Sources with their latest audit, by name.
    fn sources(&self) -> StoreResult<Vec<SourceSummary>>;
    /// Sources by name, without the counts and audits of [`Store::sources`] (which count
    /// every activity: a fraction of a second at millions): what an import needs to know.
    fn source_rows(&self) -> StoreResult<Vec<SourceRow>>;
    /// Sets (or clears) the base URL used to link back to the platform (SPEC §8).
    fn set_source_base_url(&self, source: &str, base_url: Option<&str>) -> StoreResult<()>;
    /// Removes a source and everything only it contributed: its activities, channels, threads
    /// and identities, and members left without identities. Members with identities in other
    /// sources stay. Errors with [`StoreError::NotFound`] for an unknown name.
    fn delete_source(&self, name: &str) -> StoreResult<DeletedSource>;
    /// Stores the audit of an import that stored nothing (a dry run or a failed import).
    /// Audits of successful imports are stored by [`Ingest::commit`].
    fn record_audit(&self, audit: &ImportAudit) -> StoreResult<AuditId>;
    /// Records on a committed audit how many members identity resolution merged after it.
    fn set_audit_members_merged(&self, audit: AuditId, merged: u64) -> StoreResult<()>;
    /// Audits, newest first; of one source when `source` is given.
    fn audits(&self, source: Option<&str>, limit: usize) -> StoreResult<Vec<StoredAudit>>;

    /// Row counts of the main tables.
    fn counts(&self) -> StoreResult<Counts>;

    /// Members, ordered by id, at most `limit` after id `after`.
    fn members(&self, after: Option<MemberId>, limit: usize) -> StoreResult<Vec<MemberRow>>;
    /// Every identity, ordered by id (what identity resolution reads).
    fn identities(&self) -> StoreResult<Vec<IdentityRow>>;
    /// One member with its identities and affiliations.
    fn member(&self, id: MemberId) -> StoreResult<MemberDetail>;
    /// Sets team / bot flags. `team_since`: activity before it counts as community (SPEC §4.0).
    fn set_member_flags(&self, id: MemberId, flags: &MemberFlags) -> StoreResult<()>;
    fn add_affiliation(&self, id: MemberId, affiliation: &Affiliation) -> StoreResult<()>;
    /// Every affiliation with its member, ordered by the affiliation's id (the order they were
    /// added). Adding one bumps its member's `seq`, so a change reader that sees a member change
    /// knows to read them again (the analytics snapshot does, for the elephant factor).
    fn affiliations(&self) -> StoreResult<Vec<(MemberId, Affiliation)>>;
    /// Moves every identity of `from` onto `into` and logs the merge with its evidence. `from`
    /// stays as an empty member, marked as merged into `into`, so that the merge can be undone.
    fn merge_members(
        &self,
        into: MemberId,
        from: MemberId,
        evidence: &MergeEvidence,
    ) -> StoreResult<MergeRecord>;
    /// Undoes a merge: the identities it moved go back to the member they came from. Refused
    /// ([`StoreError::Conflict`]) if a later merge that is still in force depends on it.
    fn unmerge(&self, merge: MergeId, actor: &str) -> StoreResult<MergeRecord>;
    /// The merge log, oldest first.
    fn merges(&self) -> StoreResult<Vec<MergeRecord>>;

    /// Streams every change after `since`, in one consistent read, and returns the watermark to
    /// pass next time. Changes are delivered in sequence order; an activity changed twice since
    /// `since` may be delivered once with its latest state. Starting from
    /// [`Watermark::ZERO`] delivers the whole current state.
    fn read_changes(
        &self,
        since: Watermark,
        sink: &mut dyn FnMut(Change) -> StoreResult<()>,
    ) -> StoreResult<Watermark>;

    /// [`Store::read_changes`] without the activities and their text scores: sources,
    /// channels, threads, members, identities and removals, in one consistent read, and the
    /// watermark.
    ///
    /// With [`Store::read_activities`] it reads a large log on several threads (a first
    /// snapshot build): take [`Store::activity_id_range`] and its watermark; read this from
    /// [`Watermark::ZERO`] and, at the same time, the activities stamped below that watermark
    /// by id ranges; then `read_changes` from the watermark for whatever was written
    /// meanwhile. A row changed after the watermark is stamped at or above it, so it is left
    /// out of the range reads and delivered by the last step.
    fn read_changes_except_activities(
        &self,
        since: Watermark,
        sink: &mut dyn FnMut(Change) -> StoreResult<()>,
    ) -> StoreResult<Watermark>;

    /// Every source, channel, thread, member and identity as an [`EntityKey`], in one
    /// consistent read, and its watermark: the entities
    /// [`Store::read_changes_except_activities`] delivers from [`Watermark::ZERO`], in the same
    /// order (sources, channels, threads, members, identities, each in id order), without the
    /// strings an analytics snapshot does not keep. The first step of a bulk read, in place of
    /// that call; the sink borrows each key.
    fn read_entity_keys(
        &self,
        sink: &mut dyn FnMut(EntityKey<'_>) -> StoreResult<()>,
    ) -> StoreResult<Watermark>;

    /// From the smallest activity id to one past the largest (empty when there is none), and
    /// the watermark of that read: every activity stamped below it has an id in the range.
    fn activity_id_range(&self) -> StoreResult<(std::ops::Range<i64>, Watermark)>;

    /// The activities with an id in `ids` whose last change is stamped below `before` (a
    /// watermark [`Store::read_changes_except_activities`] or [`Store::activity_id_range`]
    /// returned), in id order, from one
    /// consistent read. The sink borrows each one: the reader reuses its buffers. Meant to be
    /// called from several threads at once, each with its own range.
    fn read_activities(
        &self,
        ids: std::ops::Range<i64>,
        before: Watermark,
        sink: &mut dyn FnMut(&ActivityFact) -> StoreResult<()>,
    ) -> StoreResult<()>;

    /// The text scores (schema v4) of the activities with an id in `ids`, stamped below
    /// `before`, in activity id order, from one consistent read: the last part of a bulk
    /// read, once those activities are in ([`Store::read_changes_except_activities`] leaves
    /// them out too). Like [`Store::read_activities`], meant to be called from several
    /// threads at once, each with its own range; the sink borrows each score.
    fn read_text_scores(
        &self,
        ids: std::ops::Range<i64>,
        before: Watermark,
        sink: &mut dyn FnMut(&TextFact) -> StoreResult<()>,
    ) -> StoreResult<()>;

    /// Brings the backend's read packs up to date: a compact copy of what
    /// [`Store::read_activities`] and [`Store::read_text_scores`] return, kept by blocks of
    /// activity ids so that a new process builds its snapshot without stepping through every
    /// row. A cache only: reads return the same with or without it, and a block with a row
    /// written since it was packed is read from the rows until packed again. Called after
    /// imports, scoring and generation; costs a read of the rows not packed yet. The SQLite
    /// backend keeps packs (schema v5); PostgreSQL has none (this does nothing).
    fn pack_for_reads(&self) -> StoreResult<PackStats> {
        Ok(PackStats::default())
    }

    /// Streams every stored activity (deleted ones included, flagged) in insertion order, with
    /// what kith derived about it: the export path.
    fn export_activities(
        &self,
        sink: &mut dyn FnMut(ExportedActivity) -> StoreResult<()>,
    ) -> StoreResult<()>;

    /// The activities with these ids, as [`Store::export_activities`] gives them, in id order;
    /// ids that do not exist are left out. What the web app reads to show a thread or a
    /// member's timeline (the analytics snapshot finds the ids).
    fn activities_by_id(&self, ids: &[ActivityId]) -> StoreResult<Vec<ExportedActivity>>;

    /// A consistent copy of the whole database, taken while it stays in use. SQLite writes a
    /// database file; PostgreSQL writes a `pg_dump` custom-format archive.
    fn backup(&self, dest: &std::path::Path) -> StoreResult<()>;
}

/// A write session: one transaction. Activities are upserted by (source, id): new keys are
/// inserted, known keys with different content are updated (an edit), known keys with equal
/// content are counted as unchanged.
pub trait Ingest {
    /// Creates the source if it is new; errors if it exists with another format.
    fn ensure_source(&mut self, name: &str, format: &str) -> StoreResult<SourceId>;
    /// Writes a batch. Each activity's `source` must name a source ensured in this session.
    /// `edit` and `delete` activities are stored and also applied to the activity they name
    /// in `reply_to` (text replaced, or marked deleted) when it exists.
    fn write(&mut self, batch: &[Activity]) -> StoreResult<BatchOutcome> {
        let hashes = content_hashes(batch);
        self.write_hashed(batch, &hashes)
    }
    /// [`Ingest::write`] with each activity's [`Activity::content_hash`] already computed
    /// (`hashes[i]` is that of `batch[i]`), so that a pipeline can compute them on the
    /// producer's thread and leave the writer's thread to the database.
    fn write_hashed(&mut self, batch: &[Activity], hashes: &[u64]) -> StoreResult<BatchOutcome>;
    /// The preparer of this session's batches, to run on the thread that produces them: it
    /// does the per-record work that needs no database connection (content hashes, and
    /// whatever else the backend can decide ahead), so that the writer's thread only writes.
    /// Once a session has handed out its preparer, batches must be prepared by it, in the
    /// order they are written, and written with [`Ingest::write_prepared`] only.
    fn preparer(&mut self) -> Box<dyn Prepare> {
        Box::new(HashOnly)
    }
    /// Writes a batch made by this session's [`Ingest::preparer`].
    fn write_prepared(&mut self, batch: &Prepared) -> StoreResult<BatchOutcome> {
        self.write_hashed(&batch.activities, &batch.hashes)
    }
    /// Marks threads as inferred by kith (conversation-window reconstruction), by source and
    /// thread id.
    fn mark_inferred_threads(&mut self, source: &str, threads: &[String]) -> StoreResult<()>;
    /// Commits everything written, with the audit. Nothing is visible to readers before.
    fn commit(self: Box<Self>, audit: &ImportAudit) -> StoreResult<AuditId>;
    /// Rolls everything back.
    fn rollback(self: Box<Self>) -> StoreResult<()>;
}

/// The content hash of each activity, for [`Ingest::write_hashed`].
pub fn content_hashes(batch: &[Activity]) -> Vec<u64> {
    batch.iter().map(Activity::content_hash).collect()
}

/// What a backend's [`Ingest::write_hashed`] checks first: one hash per activity.
pub fn check_hashes(batch: &[Activity], hashes: &[u64]) -> StoreResult<()> {
    if batch.len() == hashes.len() {
        Ok(())
    } else {
        Err(StoreError::Invalid(format!(
            "a batch of {} activities came with {} content hashes",
            batch.len(),
            hashes.len()
        )))
    }
}

/// Per-record work a write session hands to the producer's thread ([`Ingest::preparer`]).
pub trait Prepare: Send {
    /// Prepares the next batch, in the order batches will be written.
    fn prepare(&mut self, batch: Vec<Activity>) -> Prepared;
}

/// A batch and what its session's preparer worked out for it.
pub struct Prepared {
    pub activities: Vec<Activity>,
    /// `hashes[i]` is `activities[i].content_hash()`.
    pub hashes: Vec<u64>,
    /// The backend's own plan for writing the batch, if its preparer made one.
    pub plan: Option<Box<dyn std::any::Any + Send>>,
}

/// The preparation every backend can use: content hashes only.
pub struct HashOnly;

impl Prepare for HashOnly {
    fn prepare(&mut self, batch: Vec<Activity>) -> Prepared {
        let hashes = content_hashes(&batch);
        Prepared {
            activities: batch,
            hashes,
            plan: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kith_model::{Kind, Timestamp};
    use serde_json::json;

    fn activity(kind: Kind, thread: bool, attrs: serde_json::Value) -> Activity {
        let ts = Timestamp::parse_rfc3339("2024-01-01T00:00:00Z").expect("a time");
        let mut a = Activity::new("s", "1", kind, ts, None);
        a.thread = thread.then(|| "1".to_owned());
        a.attrs = attrs.as_object().cloned().unwrap_or_default();
        a
    }

    #[test]
    fn topics_come_from_the_opening_posts_labels_of_every_platform() {
        let topics = |kind, thread, attrs| topics_of(&activity(kind, thread, attrs));
        let some = |t: &[&str]| Some(t.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>());
        // Stack Exchange tags, GitHub labels, Discourse tags as strings or objects.
        assert_eq!(
            topics(Kind::Post, true, json!({"tags": ["python", "csv"]})),
            some(&["csv", "python"])
        );
        assert_eq!(
            topics(
                Kind::Post,
                true,
                json!({"labels": ["bug", "good first issue"]})
            ),
            some(&["bug", "good first issue"])
        );
        assert_eq!(
            topics(
                Kind::Post,
                true,
                json!({"topic_tags": [{"id": 1, "name": "ux"}, "ux", " a\n b "]})
            ),
            some(&["a b", "ux"])
        );
        // Nothing usable: an empty list, which clears the thread's topics.
        assert_eq!(
            topics(
                Kind::Post,
                true,
                json!({"tags": "python", "labels": [1, null, ""]})
            ),
            some(&[])
        );
        assert_eq!(topics(Kind::Post, true, json!({})), some(&[]));
        // Not an opening post in a thread: says nothing.
        assert_eq!(topics(Kind::Reply, true, json!({"tags": ["x"]})), None);
        assert_eq!(topics(Kind::Post, false, json!({"tags": ["x"]})), None);
        // Bounded.
        let many: Vec<String> = (0..50).map(|i| format!("t{i:02}")).collect();
        let long = "x".repeat(500);
        let got =
            topics(Kind::Post, true, json!({"tags": many, "labels": [long]})).expect("topics");
        assert_eq!(got.len(), MAX_TOPICS);
        assert_eq!(got[0], "t00");
        let got = topics(Kind::Post, true, json!({"labels": ["x".repeat(500)]})).expect("topics");
        assert_eq!(got[0].chars().count(), MAX_TOPIC_CHARS);
    }
}
