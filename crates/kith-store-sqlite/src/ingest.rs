//! The write path: an [`Ingest`] session is one `BEGIN IMMEDIATE` transaction on the writer
//! connection, holding its lock for the session's life.
//!
//! The hot loop does one `INSERT .. ON CONFLICT DO NOTHING` per activity with cached prepared
//! statements; sources, channels, threads and identities are found through in-session caches
//! (falling back to the database, which may hold earlier imports). Only re-imports pay a second
//! statement (compare `content_hash`, update when different). Replies whose target is not
//! stored yet are resolved at commit through a small partial index of unresolved rows.

use std::collections::BTreeSet;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use kith_model::{Activity, Author, Kind};
use kith_store::{
    AuditId, BatchOutcome, HashOnly, ImportAudit, Ingest, Prepare, Prepared, SourceId, StoreError,
    StoreResult,
};
use rusqlite::{Connection, OptionalExtension, params};

use crate::error::Context;
use crate::prepare::{BulkPreparer, Counters, IdentityRef, Plan, Ref, RowWrite, Target};
use crate::raw::{Param, RawStatement};
use crate::{WriterGuard, now};

/// The session caches' map: keys are platform ids from one import, not attacker-chosen at a
/// scale where hash flooding matters, and SipHash showed up at 5 % of the write path.
pub(crate) type HashMap<K, V> = std::collections::HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// The multiply-rotate hash of rustc (FxHash).
#[derive(Default)]
pub(crate) struct FxHasher(u64);

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(c);
            self.add(u64::from_le_bytes(word));
        }
        for &b in chunks.remainder() {
            self.add(u64::from(b));
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    fn write_u128(&mut self, i: u128) {
        // Already a good hash: one word of it is enough.
        self.0 = i as u64;
    }

    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    fn write_i64(&mut self, i: i64) {
        self.add(i as u64);
    }

    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    fn finish(&self) -> u64 {
        // The multiply leaves the low bits, which pick the bucket, the least mixed: for short
        // platform ids such as `a2255` they collide in long probe chains (at 5 M activities the
        // preparer spent a third of its time comparing keys). The high bits move down.
        self.0.rotate_left(26)
    }
}

impl FxHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

/// Past this many entries a cache is emptied: it only saves lookups, and memory must stay flat
/// in the size of the input. (Tiny in unit tests, which run the conformance suite with caches
/// that forget all the time.)
#[cfg(not(test))]
pub(crate) const CACHE_LIMIT: usize = 1 << 20;
#[cfg(test)]
pub(crate) const CACHE_LIMIT: usize = 4;
/// The bound of the recent-activity map (reply targets are mostly recent).
#[cfg(not(test))]
pub(crate) const RECENT_LIMIT: usize = 1 << 18;
#[cfg(test)]
pub(crate) const RECENT_LIMIT: usize = 3;

const INSERT_ACTIVITY: &str = "INSERT INTO activities (id, source_id, ext_id, kind, ts, ts_micros, ts_offset, identity_id, \
     channel_id, thread_id, reply_to_ext, reply_to_id, to_ext, text, url, attrs, content_hash, deleted, seq) \
     VALUES (?18, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, 0, ?17) \
     ON CONFLICT (source_id, ext_id) DO NOTHING";

/// Rows inserted before this session (ids below ?19) are marked changed (schema v2).
const UPDATE_ACTIVITY: &str = "UPDATE activities SET kind = ?3, ts = ?4, ts_micros = ?5, ts_offset = ?6, identity_id = ?7, \
     channel_id = ?8, thread_id = ?9, reply_to_ext = ?10, reply_to_id = ?11, to_ext = ?12, text = ?13, url = ?14, \
     attrs = ?15, content_hash = ?16, seq = ?17, changed = changed | (id < ?19) WHERE id = ?18";

const FIND_ACTIVITY: &str =
    "SELECT id, content_hash FROM activities WHERE source_id = ?1 AND ext_id = ?2";

/// How a session holds the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// WAL: readers read the last committed state while the session writes.
    Shared,
    /// The file was switched to a rollback journal for this session, which had every
    /// connection to itself ([`crate::SqliteStore`]'s `ingest_exclusive`): back to WAL at
    /// the end.
    Bulk,
}

pub(crate) struct Session<'a> {
    conn: WriterGuard<'a>,
    /// True until committed or rolled back; dropping an open session rolls it back.
    open: bool,
    mode: Mode,
    /// A bulk load into a fresh database plans its rows ahead (`prepare.rs`): the preparer,
    /// until the caller takes it to its own thread ([`Ingest::preparer`]).
    bulk_preparer: Option<BulkPreparer>,
    /// The bulk preparer was handed out: batches must come prepared by it.
    preparer_handed_out: bool,
    seq: i64,
    state: State,
}

struct State {
    now: i64,
    /// Sources ensured in this session, by name.
    sources: HashMap<String, i64>,
    channels: HashMap<i64, HashMap<String, i64>>,
    threads: HashMap<i64, HashMap<String, i64>>,
    identities: HashMap<i64, HashMap<String, CachedIdentity>>,
    /// Sources this session wrote activities to (where replies may need resolving).
    written: BTreeSet<i64>,
    /// Row ids of the activities this session wrote, by source and platform id: most reply
    /// targets are recent, and this spares the index lookup.
    /// Keyed by a 128-bit hash of the platform id (no allocation per activity; two ids of one
    /// source sharing a 128-bit hash will not happen in the life of the universe).
    recent: HashMap<i64, HashMap<u128, i64>>,
    /// The next free row ids, shared with a bulk session's preparer.
    counters: Arc<Counters>,
    /// The first activity id of this session: rows below it existed before, and any change
    /// to them is marked (`changed`); the session's own rows are found by their id range.
    first_activity: i64,
    /// The first thread id of this session: threads from it on were created by this session
    /// and already carry its change number.
    first_thread: i64,
    /// A bit per thread this session created (from `first_thread`): it has topics already, so
    /// new ones replace them; without it there is nothing to replace.
    new_thread_topics: Vec<u64>,
    /// Activity ids a bulk preparer gave to repeats it no longer remembered, and the rows
    /// those repeats turned out to be (references to the first are read as the second).
    fixups: HashMap<i64, i64>,
    /// The read packs of the blocks this session fills (`packs::SessionPacks`).
    packs: crate::packs::SessionPacks,
    /// Threads marked inferred before any activity of theirs was written (an importer may send
    /// the mark first): marked at commit. Creating the row at the mark would take an id a bulk
    /// preparer does not know, and its own row for the thread would then collide.
    inferred_later: Vec<(i64, String)>,
}

/// What is stored for an identity, to notice when an activity brings new values. The name,
/// handle and e-mail are kept as 64-bit hashes ([`value_hash`]; 0 for none): a bulk load keeps
/// one of these per member, and only equality is ever asked of them. (Two different values
/// sharing a hash would leave the newer one unstored: about one chance in 2^63 a comparison.)
pub(crate) struct CachedIdentity {
    pub(crate) id: i64,
    name: u64,
    handle: u64,
    email: u64,
    team: bool,
    bot: bool,
}

/// A stored value's hash for [`CachedIdentity`]: never 0, which stands for no value.
fn value_hash(v: Option<&str>) -> u64 {
    v.map_or(0, |s| xxhash_rust::xxh3::xxh3_64(s.as_bytes()) | 1)
}

impl CachedIdentity {
    /// What a new identity stores from the author of its first activity.
    pub(crate) fn new(id: i64, a: &Author) -> CachedIdentity {
        CachedIdentity {
            id,
            name: value_hash(a.name.as_deref()),
            handle: value_hash(a.handle.as_deref()),
            email: value_hash(a.email.as_deref()),
            team: a.team.unwrap_or(false),
            bot: a.bot.unwrap_or(false),
        }
    }

    /// Takes the newer values an activity brings (what `refresh_identity` stores).
    pub(crate) fn refresh(&mut self, a: &Author) {
        for (new, old) in [
            (&a.name, &mut self.name),
            (&a.handle, &mut self.handle),
            (&a.email, &mut self.email),
        ] {
            if new.is_some() {
                *old = value_hash(new.as_deref());
            }
        }
        self.team = a.team.unwrap_or(self.team);
        self.bot = a.bot.unwrap_or(self.bot);
    }

    pub(crate) fn is_refreshed_by(&self, a: &Author) -> bool {
        fn newer(new: &Option<String>, old: u64) -> bool {
            new.is_some() && value_hash(new.as_deref()) != old
        }
        newer(&a.name, self.name)
            || newer(&a.handle, self.handle)
            || newer(&a.email, self.email)
            || a.team.is_some_and(|t| t != self.team)
            || a.bot.is_some_and(|b| b != self.bot)
    }
}

impl<'a> Session<'a> {
    pub(crate) fn begin(conn: WriterGuard<'a>, mode: Mode) -> StoreResult<Session<'a>> {
        if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
            if mode == Mode::Bulk {
                restore_wal(&conn);
            }
            return Err(e).ctx("starting an import transaction");
        }
        let counters = match counters(&conn) {
            Ok(counters) => Arc::new(counters),
            Err(e) => {
                let _ = conn.execute_batch("ROLLBACK");
                if mode == Mode::Bulk {
                    restore_wal(&conn);
                }
                return Err(e);
            }
        };
        let first_activity = counters.activity.load(Ordering::Relaxed);
        let first_thread = counters.thread.load(Ordering::Relaxed);
        let mut session = Session {
            conn,
            open: true,
            mode,
            bulk_preparer: None,
            preparer_handed_out: false,
            seq: 0,
            state: State {
                now: now(),
                sources: HashMap::default(),
                channels: HashMap::default(),
                threads: HashMap::default(),
                identities: HashMap::default(),
                written: BTreeSet::new(),
                recent: HashMap::default(),
                counters,
                first_activity,
                first_thread,
                new_thread_topics: Vec::new(),
                fixups: HashMap::default(),
                packs: crate::packs::SessionPacks::new(first_activity),
                inferred_later: Vec::new(),
            },
        };
        session.seq = crate::next_seq(&session.conn)?;
        if mode == Mode::Bulk {
            // Still empty now that the write lock is ours? Then nothing stored can be met
            // again, and rows can be planned ahead. (Every index is kept during the load: the
            // change-sequence indexes only grow at their right edge, as a session writes one
            // change number and ascending ids; building `threads_seq` again at the commit
            // instead cost more, 0.6 s at 10 M activities, and 20 MiB.)
            let fresh: bool = session
                .conn
                .query_row(
                    "SELECT NOT EXISTS (SELECT 1 FROM activities) AND NOT EXISTS (SELECT 1 FROM identities) \
                            AND NOT EXISTS (SELECT 1 FROM threads) AND NOT EXISTS (SELECT 1 FROM channels)",
                    [],
                    |r| r.get(0),
                )
                .ctx("checking whether the database is empty")?;
            if fresh {
                session.bulk_preparer =
                    Some(BulkPreparer::new(Arc::clone(&session.state.counters)));
            }
        }
        Ok(session)
    }

    /// Ends the transaction with `sql` (COMMIT or ROLLBACK) and gives the file its WAL back.
    /// On an error the session stays open, and dropping it rolls it back.
    fn end(&mut self, sql: &str, what: &str) -> StoreResult<()> {
        self.conn.execute_batch(sql).ctx(what)?;
        self.open = false;
        if self.mode == Mode::Bulk {
            restore_wal(&self.conn);
        }
        Ok(())
    }

    /// Writes `batch`, following a bulk preparer's `plan` where there is one (what it decided
    /// ahead: ids of new rows, repeats, reply targets, JSON columns) and doing the rest here.
    fn write_rows(
        &mut self,
        batch: &[Activity],
        hashes: &[u64],
        plan: Option<&Plan>,
    ) -> StoreResult<BatchOutcome> {
        let conn: &Connection = &self.conn;
        let seq = self.seq;
        let st = &mut self.state;
        let mut out = BatchOutcome::default();
        // One insert per activity: through SQLite's C interface, text bound in place (`raw`).
        let mut insert =
            RawStatement::prepare(conn, INSERT_ACTIVITY).ctx("preparing the activity insert")?;
        let mut find = conn
            .prepare_cached(FIND_ACTIVITY)
            .ctx("preparing the activity lookup")?;
        let mut to_json = String::new();
        let mut last_source: Option<(&str, i64)> = None;

        for (i, (a, &hash)) in batch.iter().zip(hashes).enumerate() {
            let planned = plan.map(|p| &p.rows[i]);
            let source_id = match last_source {
                Some((name, id)) if name == a.source => id,
                _ => {
                    let id = *st.sources.get(a.source.as_str()).ok_or_else(|| {
                        StoreError::Invalid(format!(
                            "activity `{}` names source `{}`, which was not ensured in this import session",
                            a.id, a.source
                        ))
                    })?;
                    last_source = Some((a.source.as_str(), id));
                    id
                }
            };
            if a.id.is_empty() {
                return Err(StoreError::Invalid(format!(
                    "an activity of source `{}` has an empty id",
                    a.source
                )));
            }
            st.written.insert(source_id);

            let identity = match (planned.map(|p| p.identity), &a.author) {
                (Some(IdentityRef::Known(id)), _) => id,
                (Some(IdentityRef::Refresh(id)), Some(author)) => {
                    store_refresh(conn, seq, id, author)?;
                    id
                }
                (Some(IdentityRef::New { identity, member }), Some(author)) => {
                    insert_identity(conn, (seq, st.now), (identity, member), source_id, author)?;
                    out.identities_created += 1;
                    out.members_created += 1;
                    identity
                }
                (_, Some(author)) => identity(conn, st, seq, source_id, author, &mut out)?,
                (_, None) => anonymous_identity(conn, st, seq, source_id, &a.id, &mut out)?,
            };
            let mut place_of = |ext: &Option<String>,
                                planned: Option<Option<Ref>>,
                                kind: Place|
             -> StoreResult<Option<i64>> {
                let Some(ext) = ext.as_deref() else {
                    return Ok(None);
                };
                let (cache, counter) = match kind {
                    Place::Channel => (&mut st.channels, &st.counters.channel),
                    Place::Thread => (&mut st.threads, &st.counters.thread),
                };
                match planned.flatten() {
                    Some(Ref::Known(id)) => Ok(Some(id)),
                    Some(Ref::New(id)) => {
                        if kind.insert(conn, id, source_id, ext, seq)? {
                            Ok(Some(id))
                        } else {
                            Err(StoreError::Invalid(format!(
                                "the bulk load found {} `{ext}` stored twice; please report this",
                                kind.what()
                            )))
                        }
                    }
                    Some(Ref::Resolve) | None => {
                        place(conn, cache, (kind, counter), source_id, ext, seq).map(Some)
                    }
                }
            };
            let channel = place_of(&a.channel, planned.map(|p| p.channel), Place::Channel)?;
            let thread = place_of(&a.thread, planned.map(|p| p.thread), Place::Thread)?;
            let recent = st.recent.entry(source_id).or_default();
            let reply_to_id: Option<i64> = match (&a.reply_to, planned.and_then(|p| p.reply_to)) {
                (None, _) => None,
                (Some(_), Some(Target::Known(id))) => Some(remap(&st.fixups, id)),
                (Some(_), Some(Target::Later)) => None,
                (Some(ext), Some(Target::Resolve) | None) => match recent.get(&key_hash(ext)) {
                    Some(&id) => Some(id),
                    None => find
                        .query_row(params![source_id, ext], |r| r.get(0))
                        .optional()
                        .ctx("looking up a reply target")?,
                },
            };
            let to_ext = match planned.and_then(|p| p.to_json.as_deref()) {
                Some(json) => Some(json),
                None if a.to.is_empty() => None,
                None => {
                    to_json.clear();
                    to_json.push('[');
                    for (i, t) in a.to.iter().enumerate() {
                        if i > 0 {
                            to_json.push(',');
                        }
                        push_json_string(&mut to_json, t);
                    }
                    to_json.push(']');
                    Some(to_json.as_str())
                }
            };
            let computed_attrs;
            let attrs = match planned.and_then(|p| p.attrs_json.as_deref()) {
                Some(json) => Some(json),
                None if a.attrs.is_empty() => None,
                None => {
                    computed_attrs = serde_json::to_string(&a.attrs).map_err(|e| {
                        StoreError::Invalid(format!("attrs of activity `{}`: {e}", a.id))
                    })?;
                    Some(computed_attrs.as_str())
                }
            };
            // Stored as the same 64 bits, read back with the reverse cast.
            let hash = hash as i64;
            // ?1..?17 of the insert and the update; ?18 the row, ?19 (update) the first id of
            // this session, filled in per statement.
            let mut values: [Param<'_>; 19] = [
                source_id.into(),
                a.id.as_str().into(),
                a.kind.as_str().into(),
                a.ts.secs.into(),
                i64::from(a.ts.micros).into(),
                i64::from(a.ts.offset_min).into(),
                identity.into(),
                channel.into(),
                thread.into(),
                a.reply_to.as_deref().into(),
                reply_to_id.into(),
                to_ext.into(),
                a.text.as_deref().into(),
                a.url.as_deref().into(),
                attrs.into(),
                hash.into(),
                seq.into(),
                Param::Null,
                st.first_activity.into(),
            ];
            let update = |values: &mut [Param<'_>; 19], row: i64| -> StoreResult<()> {
                values[17] = row.into();
                conn.prepare_cached(UPDATE_ACTIVITY)
                    .ctx("preparing the activity update")?
                    .execute(rusqlite::params_from_iter(values.iter()))
                    .with_ctx(|| format!("updating activity `{}`", a.id))?;
                Ok(())
            };
            // What an activity pack keeps of the row (`packs::SessionPacks`), id filled in below.
            let mut stored_values = crate::packs::ActivityValues {
                id: 0,
                source: source_id,
                kind: a.kind,
                ts: a.ts.secs,
                identity,
                channel,
                thread,
                reply_to: reply_to_id,
                deleted: false,
                to: to_ext.map(str::as_bytes),
            };
            let updates_before = out.updated;
            let changed = match planned.map(|p| p.write) {
                Some(RowWrite::Unchanged(_)) => {
                    out.unchanged += 1;
                    false
                }
                Some(RowWrite::Update(row)) => {
                    let row = remap(&st.fixups, row);
                    update(&mut values, row)?;
                    stored_values.id = row;
                    st.packs.updated(&stored_values);
                    out.updated += 1;
                    true
                }
                write => {
                    // An id spent on a repeat is never used: ids only need to be unused.
                    let row = match write {
                        Some(RowWrite::Insert(row)) => row,
                        _ => Counters::take(&st.counters.activity),
                    };
                    values[17] = row.into();
                    if insert
                        .execute(&values[..18])
                        .with_ctx(|| format!("storing activity `{}`", a.id))?
                        == 1
                    {
                        stored_values.id = row;
                        st.packs.inserted(conn, seq, &stored_values)?;
                        out.inserted += 1;
                        if plan.is_none() {
                            remember(recent, &a.id, row);
                        }
                        true
                    } else {
                        let (stored, stored_hash): (i64, i64) = find
                            .query_row(params![source_id, a.id], |r| Ok((r.get(0)?, r.get(1)?)))
                            .with_ctx(|| format!("reading stored activity `{}`", a.id))?;
                        if plan.is_some() {
                            st.fixups.insert(row, stored);
                        } else {
                            remember(recent, &a.id, stored);
                        }
                        if stored_hash == hash {
                            out.unchanged += 1;
                            false
                        } else {
                            update(&mut values, stored)?;
                            stored_values.id = stored;
                            st.packs.updated(&stored_values);
                            out.updated += 1;
                            true
                        }
                    }
                }
            };
            // Topics (`kith_store::topics_of`): a post stored for the first time with labels,
            // or changed, gives its thread its own.
            if changed
                && let Some(thread) = thread
                && let Some(topics) = kith_store::topics_of(a)
                && (!topics.is_empty() || out.updated > updates_before)
            {
                if let Ok(k) = usize::try_from(thread - st.first_thread) {
                    // A thread this session created: it carries the session's change number
                    // already, and has topics only if an earlier post of the session gave it
                    // some.
                    let (word, bit) = (k / 64, 1u64 << (k % 64));
                    if st.new_thread_topics.len() <= word {
                        st.new_thread_topics.resize(word + 1, 0);
                    }
                    if st.new_thread_topics[word] & bit == 0 {
                        add_topics(conn, thread, &topics)?;
                    } else {
                        replace_topics(conn, None, thread, &topics)?;
                    }
                    st.new_thread_topics[word] |= bit;
                } else {
                    replace_topics(conn, Some(seq), thread, &topics)?;
                }
            }
            if changed
                && matches!(a.kind, Kind::Edit | Kind::Delete)
                && let Some(target) = reply_to_id
            {
                apply_change(
                    conn,
                    (seq, st.first_activity),
                    a.kind,
                    target,
                    a.text.as_deref(),
                )?;
                // An edit changes the text alone, which no pack holds.
                if a.kind == Kind::Delete {
                    st.packs.deleted(target);
                }
            }
        }
        Ok(out)
    }

    /// Resolves replies of the written sources whose target is now stored, and applies edits
    /// and deletions that were waiting for their target.
    fn resolve_replies(&mut self) -> StoreResult<()> {
        let conn: &Connection = &self.conn;
        let mut resolve = conn
            .prepare_cached(
                "UPDATE activities AS a SET reply_to_id = t.id, seq = ?1, changed = a.changed | (a.id < ?3) \
                 FROM activities AS t WHERE a.source_id = ?2 AND a.reply_to_id IS NULL AND a.reply_to_ext IS NOT NULL \
                 AND t.source_id = a.source_id AND t.ext_id = a.reply_to_ext \
                 RETURNING kind, reply_to_id, text, ts, id",
            )
            .ctx("preparing reply resolution")?;
        let mut waiting: Vec<(i64, i64, String, i64, Option<String>)> = Vec::new();
        for &source in &self.state.written {
            let mut rows = resolve
                .query(params![self.seq, source, self.state.first_activity])
                .ctx("resolving replies")?;
            while let Some(row) = rows.next().ctx("resolving replies")? {
                self.state.packs.replies_to(
                    row.get(4).ctx("resolving replies")?,
                    row.get(1).ctx("resolving replies")?,
                );
                let kind: String = row.get(0).ctx("resolving replies")?;
                if kind == Kind::Edit.as_str() || kind == Kind::Delete.as_str() {
                    waiting.push((
                        row.get(3).ctx("resolving replies")?,
                        row.get(4).ctx("resolving replies")?,
                        kind,
                        row.get(1).ctx("resolving replies")?,
                        row.get(2).ctx("resolving replies")?,
                    ));
                }
            }
        }
        // Apply in the order they happened.
        waiting.sort_by_key(|w| (w.0, w.1));
        for (_, _, kind, target, text) in waiting {
            let kind = if kind == Kind::Edit.as_str() {
                Kind::Edit
            } else {
                Kind::Delete
            };
            apply_change(
                conn,
                (self.seq, self.state.first_activity),
                kind,
                target,
                text.as_deref(),
            )?;
            if kind == Kind::Delete {
                self.state.packs.deleted(target);
            }
        }
        Ok(())
    }

    fn source_of(&self, name: &str) -> StoreResult<i64> {
        if let Some(&id) = self.state.sources.get(name) {
            return Ok(id);
        }
        self.conn
            .query_row("SELECT id FROM sources WHERE name = ?1", [name], |r| {
                r.get(0)
            })
            .optional()
            .ctx("looking up a source")?
            .ok_or_else(|| StoreError::NotFound(format!("source `{name}`")))
    }
}

impl Drop for Session<'_> {
    fn drop(&mut self) {
        if self.open {
            // Nothing to report to: the caller chose not to commit.
            let _ = self.end("ROLLBACK", "rolling back the import");
        }
    }
}

/// The error for a batch that bypasses the preparer a session handed out.
fn handed_out() -> StoreError {
    StoreError::Invalid(
        "this session handed out its preparer: write batches it prepared, with write_prepared"
            .into(),
    )
}

/// An activity id as the preparer gave it, or the stored row it turned out to repeat.
fn remap(fixups: &HashMap<i64, i64>, id: i64) -> i64 {
    if fixups.is_empty() {
        id
    } else {
        fixups.get(&id).copied().unwrap_or(id)
    }
}

/// The next free id of every table a session creates rows in.
fn counters(conn: &Connection) -> StoreResult<Counters> {
    use crate::schema::{next_autoincrement_id, next_id};
    Ok(Counters {
        activity: AtomicI64::new(next_id(conn, "activities")?),
        thread: AtomicI64::new(next_id(conn, "threads")?),
        channel: AtomicI64::new(next_autoincrement_id(conn, "channels")?),
        identity: AtomicI64::new(next_autoincrement_id(conn, "identities")?),
        member: AtomicI64::new(next_autoincrement_id(conn, "members")?),
    })
}

/// Switches the file back to WAL after a bulk session. Best effort: the data is committed or
/// rolled back either way, and every writer's open switches an unlucky file back (`connect`).
fn restore_wal(conn: &Connection) {
    let _ = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0));
}

impl Ingest for Session<'_> {
    fn ensure_source(&mut self, name: &str, format: &str) -> StoreResult<SourceId> {
        kith_model::validate_source_name(name).map_err(StoreError::Invalid)?;
        if format.trim().is_empty() {
            return Err(StoreError::Invalid(format!(
                "source `{name}` needs a format"
            )));
        }
        let found: Option<(i64, String)> = self
            .conn
            .query_row(
                "SELECT id, format FROM sources WHERE name = ?1",
                [name],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .ctx("looking up a source")?;
        let id = match found {
            Some((id, stored)) if stored == format => id,
            Some((_, stored)) => {
                return Err(StoreError::Conflict(format!(
                    "source `{name}` was imported with format `{stored}`, not `{format}`; \
                     import this data under another --source name"
                )));
            }
            None => self
                .conn
                .query_row(
                    "INSERT INTO sources (name, format, base_url, created_at, seq) VALUES (?1, ?2, NULL, ?3, ?4) RETURNING id",
                    params![name, format, self.state.now, self.seq],
                    |r| r.get(0),
                )
                .with_ctx(|| format!("creating source `{name}`"))?,
        };
        self.state.sources.insert(name.to_owned(), id);
        Ok(SourceId(id))
    }

    fn write_hashed(&mut self, batch: &[Activity], hashes: &[u64]) -> StoreResult<BatchOutcome> {
        kith_store::check_hashes(batch, hashes)?;
        if self.preparer_handed_out {
            return Err(handed_out());
        }
        // A bulk session keeps planning ahead when written to directly (as the conformance
        // suite does): the same rows, planned on this thread.
        match self.bulk_preparer.as_mut() {
            Some(preparer) => {
                let plan = preparer.plan_batch(batch, hashes);
                self.write_rows(batch, hashes, Some(&plan))
            }
            None => self.write_rows(batch, hashes, None),
        }
    }

    fn preparer(&mut self) -> Box<dyn Prepare> {
        match self.bulk_preparer.take() {
            Some(preparer) => {
                self.preparer_handed_out = true;
                Box::new(preparer)
            }
            None => Box::new(HashOnly),
        }
    }

    fn write_prepared(&mut self, batch: &Prepared) -> StoreResult<BatchOutcome> {
        kith_store::check_hashes(&batch.activities, &batch.hashes)?;
        let plan = batch.plan.as_ref().and_then(|p| p.downcast_ref::<Plan>());
        match plan {
            Some(plan) if plan.rows.len() == batch.activities.len() => {
                self.write_rows(&batch.activities, &batch.hashes, Some(plan))
            }
            Some(_) => Err(StoreError::Invalid(
                "a prepared batch's plan does not match its activities".into(),
            )),
            None if self.preparer_handed_out => Err(handed_out()),
            None => self.write_rows(&batch.activities, &batch.hashes, None),
        }
    }

    fn mark_inferred_threads(&mut self, source: &str, threads: &[String]) -> StoreResult<()> {
        let source_id = self.source_of(source)?;
        let mut mark = self
            .conn
            .prepare_cached(MARK_INFERRED)
            .ctx("preparing to mark inferred threads")?;
        for thread in threads {
            let found = mark
                .execute(params![source_id, thread, self.seq])
                .with_ctx(|| format!("marking thread `{thread}` of `{source}` as inferred"))?;
            if found == 0 {
                self.state.inferred_later.push((source_id, thread.clone()));
            }
        }
        Ok(())
    }

    fn commit(mut self: Box<Self>, audit: &ImportAudit) -> StoreResult<AuditId> {
        self.resolve_replies()?;
        self.mark_inferred_later()?;
        let next_activity = self.state.counters.activity.load(Ordering::Relaxed);
        // Whole blocks end below the next id as the table has it (ids the counter took for
        // repeats are free again: a later session may insert there).
        let next_id = crate::schema::next_id(&self.conn, "activities")?;
        self.state.packs.finish(&self.conn, self.seq, next_id)?;
        if next_activity > self.state.first_activity {
            self.conn
                .execute(
                    "INSERT INTO activity_inserts (seq, first_id, last_id) VALUES (?1, ?2, ?3)",
                    params![self.seq, self.state.first_activity, next_activity - 1],
                )
                .ctx("recording the activities inserted")?;
        }
        let id = crate::sources::insert_audit(&self.conn, audit)?;
        self.end("COMMIT", "committing the import")?;
        Ok(id)
    }

    fn rollback(mut self: Box<Self>) -> StoreResult<()> {
        self.end("ROLLBACK", "rolling back the import")
    }
}

/// Stores `topics` for `thread`, which has none.
fn add_topics(conn: &Connection, thread: i64, topics: &[String]) -> StoreResult<()> {
    let mut insert = conn
        .prepare_cached("INSERT INTO thread_topics (thread_id, topic) VALUES (?1, ?2)")
        .ctx("preparing to store thread topics")?;
    for topic in topics {
        insert
            .execute(params![thread, topic])
            .with_ctx(|| format!("storing topic `{topic}` of thread {thread}"))?;
    }
    Ok(())
}

/// Replaces the topics of `thread` with `topics` (ascending, each once); with `seq`, moves
/// the thread's change number so that the change stream carries the new list.
pub(crate) fn replace_topics(
    conn: &Connection,
    seq: Option<i64>,
    thread: i64,
    topics: &[String],
) -> StoreResult<()> {
    let removed = conn
        .prepare_cached("DELETE FROM thread_topics WHERE thread_id = ?1")
        .and_then(|mut s| s.execute([thread]))
        .ctx("replacing a thread's topics")?;
    add_topics(conn, thread, topics)?;
    if let Some(seq) = seq
        && (removed > 0 || !topics.is_empty())
    {
        conn.prepare_cached("UPDATE threads SET seq = ?1 WHERE id = ?2")
            .and_then(|mut s| s.execute(params![seq, thread]))
            .ctx("marking a thread's topics changed")?;
    }
    Ok(())
}

/// Marks a stored thread inferred (its change number moves only if it was not); changes one
/// row when the thread exists.
const MARK_INFERRED: &str = "UPDATE threads SET seq = CASE WHEN inferred = 0 THEN ?3 ELSE seq END, \
     inferred = 1 WHERE source_id = ?1 AND ext_id = ?2";

impl Session<'_> {
    /// The inferred marks that came before their threads' first activities. A mark for a
    /// thread no activity of the import opened still creates the thread, as it always did;
    /// the session writes no more rows, so its id cannot collide with a planned one.
    fn mark_inferred_later(&mut self) -> StoreResult<()> {
        if self.state.inferred_later.is_empty() {
            return Ok(());
        }
        let later = std::mem::take(&mut self.state.inferred_later);
        let mut mark = self
            .conn
            .prepare_cached(MARK_INFERRED)
            .ctx("preparing to mark inferred threads")?;
        let mut create = self
            .conn
            .prepare_cached(
                "INSERT INTO threads (id, source_id, ext_id, inferred, seq) VALUES (?4, ?1, ?2, 1, ?3) \
                 ON CONFLICT (source_id, ext_id) DO NOTHING",
            )
            .ctx("preparing to create inferred threads")?;
        for (source_id, thread) in &later {
            let found = mark
                .execute(params![source_id, thread, self.seq])
                .with_ctx(|| format!("marking thread `{thread}` as inferred"))?;
            if found == 0 {
                let id = Counters::take(&self.state.counters.thread);
                create
                    .execute(params![source_id, thread, self.seq, id])
                    .with_ctx(|| format!("creating inferred thread `{thread}`"))?;
            }
        }
        Ok(())
    }
}

/// Remembers an activity's row id for replies later in the session, within the cache bound.
fn remember(recent: &mut HashMap<u128, i64>, ext_id: &str, row: i64) {
    if recent.len() >= RECENT_LIMIT {
        recent.clear();
    }
    recent.insert(key_hash(ext_id), row);
}

/// The key of an activity's platform id in the session's recent map.
pub(crate) fn key_hash(ext_id: &str) -> u128 {
    xxhash_rust::xxh3::xxh3_128(ext_id.as_bytes())
}

/// Replaces the target's text (edit) or marks it deleted (delete). `stamp` is the session's
/// change number and its first activity id (older rows are marked changed).
fn apply_change(
    conn: &Connection,
    stamp: (i64, i64),
    kind: Kind,
    target: i64,
    text: Option<&str>,
) -> StoreResult<()> {
    let (seq, first) = stamp;
    match kind {
        // An edit without text changed something else (attachments): the text stays.
        Kind::Edit => {
            if let Some(text) = text {
                conn.prepare_cached(
                    "UPDATE activities SET text = ?1, seq = ?2, changed = changed | (id < ?4) WHERE id = ?3",
                )
                .and_then(|mut s| s.execute(params![text, seq, target, first]))
                .ctx("applying an edit")?;
            }
        }
        Kind::Delete => {
            conn.prepare_cached(
                "UPDATE activities SET deleted = 1, seq = ?1, changed = changed | (id < ?3) \
                 WHERE id = ?2 AND deleted = 0",
            )
            .and_then(|mut s| s.execute(params![seq, target, first]))
            .ctx("applying a deletion")?;
        }
        _ => {}
    }
    Ok(())
}

fn identity(
    conn: &Connection,
    st: &mut State,
    seq: i64,
    source_id: i64,
    author: &Author,
    out: &mut BatchOutcome,
) -> StoreResult<i64> {
    let cache = st.identities.entry(source_id).or_default();
    if let Some(cached) = cache.get_mut(author.id.as_str()) {
        if cached.is_refreshed_by(author) {
            refresh_identity(conn, seq, cached, author)?;
        }
        return Ok(cached.id);
    }
    if cache.len() >= CACHE_LIMIT {
        cache.clear();
    }
    let found = conn
        .prepare_cached("SELECT id, name, handle, email, team, bot FROM identities WHERE source_id = ?1 AND ext_id = ?2")
        .ctx("preparing the identity lookup")?
        .query_row(params![source_id, author.id], |r| {
            Ok(CachedIdentity {
                id: r.get(0)?,
                name: value_hash(r.get_ref(1)?.as_str_or_null()?),
                handle: value_hash(r.get_ref(2)?.as_str_or_null()?),
                email: value_hash(r.get_ref(3)?.as_str_or_null()?),
                team: r.get(4)?,
                bot: r.get(5)?,
            })
        })
        .optional()
        .with_ctx(|| format!("looking up identity `{}`", author.id))?;
    let mut cached = match found {
        Some(found) => found,
        None => {
            let ids = (
                Counters::take(&st.counters.identity),
                Counters::take(&st.counters.member),
            );
            insert_identity(conn, (seq, st.now), ids, source_id, author)?;
            out.identities_created += 1;
            out.members_created += 1;
            CachedIdentity::new(ids.0, author)
        }
    };
    if cached.is_refreshed_by(author) {
        refresh_identity(conn, seq, &mut cached, author)?;
    }
    let id = cached.id;
    cache.insert(author.id.clone(), cached);
    Ok(id)
}

/// Stores the newer name, handle, e-mail and hints an activity brought.
fn refresh_identity(
    conn: &Connection,
    seq: i64,
    cached: &mut CachedIdentity,
    a: &Author,
) -> StoreResult<()> {
    cached.refresh(a);
    store_refresh(conn, seq, cached.id, a)
}

/// Stores the newer values an author brings to identity `id` (each stored value is replaced
/// only by a value the author has, as [`CachedIdentity::refresh`] does), and names its member
/// if it had no name yet.
fn store_refresh(conn: &Connection, seq: i64, id: i64, a: &Author) -> StoreResult<()> {
    let shown: Option<String> = conn
        .prepare_cached(
            "UPDATE identities SET name = coalesce(?1, name), handle = coalesce(?2, handle), \
             email = coalesce(?3, email), team = coalesce(?4, team), bot = coalesce(?5, bot), seq = ?6 \
             WHERE id = ?7 RETURNING coalesce(name, handle)",
        )
        .and_then(|mut s| {
            s.query_row(
                params![a.name, a.handle, a.email, a.team, a.bot, seq, id],
                |r| r.get(0),
            )
        })
        .with_ctx(|| format!("refreshing identity `{}`", a.id))?;
    if let Some(name) = shown {
        conn.prepare_cached(
            "UPDATE members SET display_name = ?1, seq = ?2 \
             WHERE id = (SELECT member_id FROM identities WHERE id = ?3) AND display_name IS NULL",
        )
        .and_then(|mut s| s.execute(params![name, seq, id]))
        .ctx("naming a member")?;
    }
    Ok(())
}

/// Inserts a new identity for `author` and its member, with the ids given.
fn insert_identity(
    conn: &Connection,
    (seq, now): (i64, i64),
    (identity, member): (i64, i64),
    source_id: i64,
    author: &Author,
) -> StoreResult<()> {
    let team = author.team.unwrap_or(false);
    let bot = author.bot.unwrap_or(false);
    let display_name = author.name.as_deref().or(author.handle.as_deref());
    insert_member(conn, seq, now, member, (display_name, team, bot, false))?;
    conn.prepare_cached(
        "INSERT INTO identities (id, source_id, ext_id, name, handle, email, member_id, anonymous, team, bot, seq) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0, ?8, ?9, ?10)",
    )
    .ctx("preparing the identity insert")?
    .execute(params![identity, source_id, author.id, author.name, author.handle, author.email, member, team, bot, seq])
    .with_ctx(|| format!("creating identity `{}`", author.id))?;
    Ok(())
}

/// Author-less content: an anonymous identity (and member) of its own per activity.
fn anonymous_identity(
    conn: &Connection,
    st: &State,
    seq: i64,
    source_id: i64,
    activity: &str,
    out: &mut BatchOutcome,
) -> StoreResult<i64> {
    let ext_id = format!("anon:{activity}");
    let found: Option<i64> = conn
        .prepare_cached("SELECT id FROM identities WHERE source_id = ?1 AND ext_id = ?2")
        .ctx("preparing the identity lookup")?
        .query_row(params![source_id, ext_id], |r| r.get(0))
        .optional()
        .with_ctx(|| format!("looking up identity `{ext_id}`"))?;
    if let Some(id) = found {
        return Ok(id);
    }
    let member = Counters::take(&st.counters.member);
    insert_member(conn, seq, st.now, member, (None, false, false, true))?;
    let id = Counters::take(&st.counters.identity);
    conn.prepare_cached(
        "INSERT INTO identities (id, source_id, ext_id, name, handle, email, member_id, anonymous, team, bot, seq) \
         VALUES (?1, ?2, ?3, NULL, NULL, NULL, ?4, 1, 0, 0, ?5)",
    )
    .ctx("preparing the identity insert")?
    .execute(params![id, source_id, ext_id, member, seq])
    .with_ctx(|| format!("creating identity `{ext_id}`"))?;
    out.identities_created += 1;
    out.members_created += 1;
    Ok(id)
}

/// Inserts member `id` with its (display name, team, bot, anonymous) flags.
fn insert_member(
    conn: &Connection,
    seq: i64,
    now: i64,
    id: i64,
    (display_name, team, bot, anonymous): (Option<&str>, bool, bool, bool),
) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO members (id, display_name, team, team_since, bot, anonymous, merged_into, created_at, seq) \
         VALUES (?1, ?2, ?3, NULL, ?4, ?5, NULL, ?6, ?7)",
    )
    .ctx("preparing the member insert")?
    .execute(params![id, display_name, team, bot, anonymous, now, seq])
    .ctx("creating a member")?;
    Ok(())
}

#[derive(Clone, Copy)]
enum Place {
    Channel,
    Thread,
}

impl Place {
    fn what(self) -> &'static str {
        match self {
            Place::Channel => "channel",
            Place::Thread => "thread",
        }
    }

    /// Inserts the row with id `id`; `Ok(false)` when (source, ext) is stored already.
    fn insert(
        self,
        conn: &Connection,
        id: i64,
        source_id: i64,
        ext: &str,
        seq: i64,
    ) -> StoreResult<bool> {
        let sql = match self {
            Place::Channel => {
                "INSERT INTO channels (id, source_id, ext_id, seq) VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT (source_id, ext_id) DO NOTHING"
            }
            Place::Thread => {
                "INSERT INTO threads (id, source_id, ext_id, inferred, seq) VALUES (?1, ?2, ?3, 0, ?4) \
                 ON CONFLICT (source_id, ext_id) DO NOTHING"
            }
        };
        let inserted = conn
            .prepare_cached(sql)
            .and_then(|mut s| s.execute(params![id, source_id, ext, seq]))
            .with_ctx(|| format!("storing {} `{ext}`", self.what()))?;
        Ok(inserted == 1)
    }

    fn find(self, conn: &Connection, source_id: i64, ext: &str) -> StoreResult<i64> {
        let sql = match self {
            Place::Channel => "SELECT id FROM channels WHERE source_id = ?1 AND ext_id = ?2",
            Place::Thread => "SELECT id FROM threads WHERE source_id = ?1 AND ext_id = ?2",
        };
        conn.prepare_cached(sql)
            .and_then(|mut s| s.query_row(params![source_id, ext], |r| r.get(0)))
            .with_ctx(|| format!("looking up {} `{ext}`", self.what()))
    }
}

/// The row id of a channel or thread, created on first sight with an id from `counter`.
fn place(
    conn: &Connection,
    cache: &mut HashMap<i64, HashMap<String, i64>>,
    (place, counter): (Place, &AtomicI64),
    source_id: i64,
    ext: &str,
    seq: i64,
) -> StoreResult<i64> {
    let cache = cache.entry(source_id).or_default();
    if let Some(&id) = cache.get(ext) {
        return Ok(id);
    }
    if cache.len() >= CACHE_LIMIT {
        cache.clear();
    }
    // An id spent on a row that existed is never used: ids only need to be unused.
    let id = Counters::take(counter);
    let id = if place.insert(conn, id, source_id, ext, seq)? {
        id
    } else {
        place.find(conn, source_id, ext)?
    };
    cache.insert(ext.to_owned(), id);
    Ok(id)
}

/// Appends `s` as a JSON string literal.
pub(crate) fn push_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                use std::fmt::Write;
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::push_json_string;
    use kith_store::{Store, conformance};

    /// Keeps the stores' folders until the test process ends.
    static FOLDERS: std::sync::Mutex<Vec<tempfile::TempDir>> = std::sync::Mutex::new(Vec::new());

    fn fresh() -> Box<dyn Store> {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let store = crate::SqliteStore::open(&dir.path().join("kith.db")).expect("open");
        FOLDERS.lock().expect("folders").push(dir);
        Box::new(store)
    }

    fn activity(id: &str, author: &str, reply_to: Option<&str>) -> kith_model::Activity {
        let mut a = kith_model::Activity::new(
            "forum",
            id,
            kith_model::Kind::Post,
            kith_model::Timestamp::from_secs(1_700_000_000),
            Some(kith_model::Author::new(author)),
        );
        a.thread = Some(format!("t-{}", reply_to.unwrap_or(id)));
        a.reply_to = reply_to.map(str::to_owned);
        a
    }

    #[test]
    fn a_handed_out_preparer_plans_the_batches_and_the_session_takes_only_those() {
        let store = fresh();
        let mut session = store.ingest_exclusive().unwrap();
        session.ensure_source("forum", "jsonl").unwrap();
        let mut preparer = session.preparer();
        let batch: Vec<_> = (0..10)
            .map(|i| {
                let to = (i > 0).then(|| format!("p{}", i - 1));
                activity(&format!("p{i}"), &format!("u{}", i % 3), to.as_deref())
            })
            .collect();
        let repeat = batch.clone();
        let prepared = preparer.prepare(batch);
        assert!(prepared.plan.is_some(), "a fresh database is planned ahead");
        let out = session.write_prepared(&prepared).unwrap();
        assert_eq!((out.inserted, out.identities_created), (10, 3));
        let again = session
            .write_prepared(&preparer.prepare(repeat.clone()))
            .unwrap();
        assert_eq!(again.unchanged, 10, "repeats are recognised ahead");
        assert!(
            session.write(&repeat).is_err(),
            "unplanned batches would race the preparer's ids"
        );
        session
            .commit(&kith_store::ImportAudit::new("jsonl", vec![], 0))
            .unwrap();
        let mut facts = Vec::new();
        store
            .read_changes(kith_store::Watermark(0), &mut |c| {
                if let kith_store::Change::Activity(f) = c {
                    facts.push(f);
                }
                Ok(())
            })
            .unwrap();
        assert_eq!(facts.len(), 10);
        for pair in facts.windows(2) {
            assert_eq!(
                pair[1].reply_to,
                Some(pair[0].id),
                "each reply found its target"
            );
        }
    }

    #[test]
    fn the_conformance_suite_passes_with_caches_that_keep_forgetting() {
        // CACHE_LIMIT and RECENT_LIMIT are tiny in this build: every session, planned ahead
        // or not, keeps falling back to the database for what its memory dropped.
        conformance::run_all(&fresh);
        conformance::run_all_exclusive(&fresh);
    }

    #[test]
    fn addressees_are_written_as_a_json_array_serde_reads_back() {
        for s in ["plain", "quote\"back\\slash", "new\nline\u{1}", "ünï©ødé"] {
            let mut out = String::new();
            push_json_string(&mut out, s);
            let back: String = serde_json::from_str(&out).unwrap();
            assert_eq!(back, s);
        }
    }
}
