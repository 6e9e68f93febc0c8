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

use kith_model::{Activity, Author, Kind};
use kith_store::{AuditId, BatchOutcome, ImportAudit, Ingest, SourceId, StoreError, StoreResult};
use rusqlite::{Connection, OptionalExtension, params};

use crate::error::Context;
use crate::{WriterGuard, now};

/// The session caches' map: keys are platform ids from one import, not attacker-chosen at a
/// scale where hash flooding matters, and SipHash showed up at 5 % of the write path.
type HashMap<K, V> = std::collections::HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// The multiply-rotate hash of rustc (FxHash).
#[derive(Default)]
struct FxHasher(u64);

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
        self.0
    }
}

impl FxHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

/// Past this many entries a cache is emptied: it only saves lookups, and memory must stay flat
/// in the size of the input.
const CACHE_LIMIT: usize = 1 << 20;
/// The bound of the recent-activity map (reply targets are mostly recent).
const RECENT_LIMIT: usize = 1 << 18;

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
    /// The change-sequence indexes were dropped (bulk load into an empty database) and are
    /// built again before the commit.
    rebuild_indexes: bool,
    seq: i64,
    state: State,
}

#[derive(Default)]
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
    /// The next free row ids (see [`crate::schema::next_id`]).
    next_activity: i64,
    /// The first activity id of this session: rows below it existed before, and any change
    /// to them is marked (`changed`); the session's own rows are found by their id range.
    first_activity: i64,
    next_thread: i64,
}

/// What is stored for an identity, to notice when an activity brings new values.
struct CachedIdentity {
    id: i64,
    name: Option<String>,
    handle: Option<String>,
    email: Option<String>,
    team: bool,
    bot: bool,
}

impl CachedIdentity {
    fn is_refreshed_by(&self, a: &Author) -> bool {
        fn newer(new: &Option<String>, old: &Option<String>) -> bool {
            new.is_some() && new != old
        }
        newer(&a.name, &self.name)
            || newer(&a.handle, &self.handle)
            || newer(&a.email, &self.email)
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
        let mut session = Session {
            conn,
            open: true,
            mode,
            rebuild_indexes: false,
            seq: 0,
            state: State {
                now: now(),
                ..State::default()
            },
        };
        session.seq = crate::next_seq(&session.conn)?;
        session.state.next_activity = crate::schema::next_id(&session.conn, "activities")?;
        session.state.first_activity = session.state.next_activity;
        session.state.next_thread = crate::schema::next_id(&session.conn, "threads")?;
        if mode == Mode::Bulk {
            // Still empty now that the write lock is ours? Then no reader can see the indexes
            // missing, and building them once at the end is cheaper than a B-tree insert per row.
            let empty: bool = session
                .conn
                .query_row("SELECT NOT EXISTS (SELECT 1 FROM activities)", [], |r| {
                    r.get(0)
                })
                .ctx("checking whether the database is empty")?;
            if empty {
                for (name, _) in crate::schema::BULK_REBUILT_INDEXES {
                    session
                        .conn
                        .execute_batch(&format!("DROP INDEX {name}"))
                        .ctx("preparing the bulk load")?;
                }
                session.rebuild_indexes = true;
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
        let conn: &Connection = &self.conn;
        let seq = self.seq;
        let st = &mut self.state;
        let mut out = BatchOutcome::default();
        let mut insert = conn
            .prepare_cached(INSERT_ACTIVITY)
            .ctx("preparing the activity insert")?;
        let mut find = conn
            .prepare_cached(FIND_ACTIVITY)
            .ctx("preparing the activity lookup")?;
        let mut to_json = String::new();
        let mut last_source: Option<(&str, i64)> = None;

        for (a, &hash) in batch.iter().zip(hashes) {
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

            let identity = match &a.author {
                Some(author) => identity(conn, st, seq, source_id, author, &mut out)?,
                None => anonymous_identity(conn, st.now, seq, source_id, &a.id, &mut out)?,
            };
            let channel = match &a.channel {
                Some(ext) => Some(place(
                    conn,
                    &mut st.channels,
                    Place::Channel,
                    source_id,
                    ext,
                    seq,
                )?),
                None => None,
            };
            let thread = match &a.thread {
                Some(ext) => Some(place(
                    conn,
                    &mut st.threads,
                    Place::Thread(&mut st.next_thread),
                    source_id,
                    ext,
                    seq,
                )?),
                None => None,
            };
            let recent = st.recent.entry(source_id).or_default();
            let reply_to_id: Option<i64> = match &a.reply_to {
                Some(ext) => match recent.get(&key_hash(ext)) {
                    Some(&id) => Some(id),
                    None => find
                        .query_row(params![source_id, ext], |r| r.get(0))
                        .optional()
                        .ctx("looking up a reply target")?,
                },
                None => None,
            };
            let to_ext = if a.to.is_empty() {
                None
            } else {
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
            };
            let attrs = if a.attrs.is_empty() {
                None
            } else {
                Some(serde_json::to_string(&a.attrs).map_err(|e| {
                    StoreError::Invalid(format!("attrs of activity `{}`: {e}", a.id))
                })?)
            };
            // Stored as the same 64 bits, read back with the reverse cast.
            let hash = hash as i64;
            macro_rules! values {
                ($($tail:expr),+) => {
                    params![
                        source_id,
                        a.id,
                        a.kind.as_str(),
                        a.ts.secs,
                        a.ts.micros,
                        a.ts.offset_min,
                        identity,
                        channel,
                        thread,
                        a.reply_to,
                        reply_to_id,
                        to_ext,
                        a.text,
                        a.url,
                        attrs,
                        hash,
                        seq,
                        $($tail),+
                    ]
                };
            }
            let row = st.next_activity;
            let changed = if insert
                .execute(values!(row))
                .with_ctx(|| format!("storing activity `{}`", a.id))?
                == 1
            {
                st.next_activity += 1;
                out.inserted += 1;
                remember(recent, &a.id, row);
                true
            } else {
                let (row, stored_hash): (i64, i64) = find
                    .query_row(params![source_id, a.id], |r| Ok((r.get(0)?, r.get(1)?)))
                    .with_ctx(|| format!("reading stored activity `{}`", a.id))?;
                remember(recent, &a.id, row);
                if stored_hash == hash {
                    out.unchanged += 1;
                    false
                } else {
                    conn.prepare_cached(UPDATE_ACTIVITY)
                        .ctx("preparing the activity update")?
                        .execute(values!(row, st.first_activity))
                        .with_ctx(|| format!("updating activity `{}`", a.id))?;
                    out.updated += 1;
                    true
                }
            };
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
            }
        }
        Ok(out)
    }

    fn mark_inferred_threads(&mut self, source: &str, threads: &[String]) -> StoreResult<()> {
        let source_id = self.source_of(source)?;
        let mut mark = self
            .conn
            .prepare_cached(
                "INSERT INTO threads (id, source_id, ext_id, inferred, seq) VALUES (?4, ?1, ?2, 1, ?3) \
                 ON CONFLICT (source_id, ext_id) DO UPDATE SET inferred = 1, seq = excluded.seq WHERE inferred = 0",
            )
            .ctx("preparing to mark inferred threads")?;
        for thread in threads {
            mark.execute(params![source_id, thread, self.seq, self.state.next_thread])
                .with_ctx(|| format!("marking thread `{thread}` of `{source}` as inferred"))?;
            // Spent whether the thread was new or not: ids only need to be unused.
            self.state.next_thread += 1;
        }
        Ok(())
    }

    fn commit(mut self: Box<Self>, audit: &ImportAudit) -> StoreResult<AuditId> {
        self.resolve_replies()?;
        if self.state.next_activity > self.state.first_activity {
            self.conn
                .execute(
                    "INSERT INTO activity_inserts (seq, first_id, last_id) VALUES (?1, ?2, ?3)",
                    params![
                        self.seq,
                        self.state.first_activity,
                        self.state.next_activity - 1
                    ],
                )
                .ctx("recording the activities inserted")?;
        }
        let id = crate::sources::insert_audit(&self.conn, audit)?;
        if self.rebuild_indexes {
            for (_, create) in crate::schema::BULK_REBUILT_INDEXES {
                self.conn
                    .execute_batch(create)
                    .ctx("building the indexes of the bulk load")?;
            }
        }
        self.end("COMMIT", "committing the import")?;
        Ok(id)
    }

    fn rollback(mut self: Box<Self>) -> StoreResult<()> {
        self.end("ROLLBACK", "rolling back the import")
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
fn key_hash(ext_id: &str) -> u128 {
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
                name: r.get(1)?,
                handle: r.get(2)?,
                email: r.get(3)?,
                team: r.get(4)?,
                bot: r.get(5)?,
            })
        })
        .optional()
        .with_ctx(|| format!("looking up identity `{}`", author.id))?;
    let mut cached = match found {
        Some(found) => found,
        None => {
            let team = author.team.unwrap_or(false);
            let bot = author.bot.unwrap_or(false);
            let display_name = author.name.as_deref().or(author.handle.as_deref());
            let member = new_member(conn, seq, st.now, display_name, team, bot, false)?;
            let id: i64 = conn
                .prepare_cached(
                    "INSERT INTO identities (source_id, ext_id, name, handle, email, member_id, anonymous, team, bot, seq) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, ?7, ?8, ?9)",
                )
                .ctx("preparing the identity insert")?
                .execute(params![source_id, author.id, author.name, author.handle, author.email, member, team, bot, seq])
                .map(|_| conn.last_insert_rowid())
                .with_ctx(|| format!("creating identity `{}`", author.id))?;
            out.identities_created += 1;
            out.members_created += 1;
            CachedIdentity {
                id,
                name: author.name.clone(),
                handle: author.handle.clone(),
                email: author.email.clone(),
                team,
                bot,
            }
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
    for (new, old) in [
        (&a.name, &mut cached.name),
        (&a.handle, &mut cached.handle),
        (&a.email, &mut cached.email),
    ] {
        if new.is_some() {
            old.clone_from(new);
        }
    }
    cached.team = a.team.unwrap_or(cached.team);
    cached.bot = a.bot.unwrap_or(cached.bot);
    conn.prepare_cached("UPDATE identities SET name = ?1, handle = ?2, email = ?3, team = ?4, bot = ?5, seq = ?6 WHERE id = ?7")
        .and_then(|mut s| {
            s.execute(params![cached.name, cached.handle, cached.email, cached.team, cached.bot, seq, cached.id])
        })
        .with_ctx(|| format!("refreshing identity `{}`", a.id))?;
    if let Some(name) = cached.name.as_deref().or(cached.handle.as_deref()) {
        conn.prepare_cached(
            "UPDATE members SET display_name = ?1, seq = ?2 \
             WHERE id = (SELECT member_id FROM identities WHERE id = ?3) AND display_name IS NULL",
        )
        .and_then(|mut s| s.execute(params![name, seq, cached.id]))
        .ctx("naming a member")?;
    }
    Ok(())
}

/// Author-less content: an anonymous identity (and member) of its own per activity.
fn anonymous_identity(
    conn: &Connection,
    now: i64,
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
    let member = new_member(conn, seq, now, None, false, false, true)?;
    let id = conn
        .prepare_cached(
            "INSERT INTO identities (source_id, ext_id, name, handle, email, member_id, anonymous, team, bot, seq) \
             VALUES (?1, ?2, NULL, NULL, NULL, ?3, 1, 0, 0, ?4) RETURNING id",
        )
        .ctx("preparing the identity insert")?
        .query_row(params![source_id, ext_id, member, seq], |r| r.get(0))
        .with_ctx(|| format!("creating identity `{ext_id}`"))?;
    out.identities_created += 1;
    out.members_created += 1;
    Ok(id)
}

fn new_member(
    conn: &Connection,
    seq: i64,
    now: i64,
    display_name: Option<&str>,
    team: bool,
    bot: bool,
    anonymous: bool,
) -> StoreResult<i64> {
    conn.prepare_cached(
        "INSERT INTO members (display_name, team, team_since, bot, anonymous, merged_into, created_at, seq) \
         VALUES (?1, ?2, NULL, ?3, ?4, NULL, ?5, ?6)",
    )
    .ctx("preparing the member insert")?
    .execute(params![display_name, team, bot, anonymous, now, seq])
    .map(|_| conn.last_insert_rowid())
    .ctx("creating a member")
}

enum Place<'a> {
    Channel,
    /// Threads take explicit ids from the session's allocator.
    Thread(&'a mut i64),
}

/// The row id of a channel or thread, created on first sight.
fn place(
    conn: &Connection,
    cache: &mut HashMap<i64, HashMap<String, i64>>,
    place: Place<'_>,
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
    let (insert, find, what) = match place {
        Place::Channel => (
            "INSERT INTO channels (source_id, ext_id, seq) VALUES (?1, ?2, ?3) ON CONFLICT (source_id, ext_id) DO NOTHING",
            "SELECT id FROM channels WHERE source_id = ?1 AND ext_id = ?2",
            "channel",
        ),
        Place::Thread(_) => (
            "INSERT INTO threads (id, source_id, ext_id, inferred, seq) VALUES (?4, ?1, ?2, 0, ?3) \
             ON CONFLICT (source_id, ext_id) DO NOTHING",
            "SELECT id FROM threads WHERE source_id = ?1 AND ext_id = ?2",
            "thread",
        ),
    };
    let mut stmt = conn
        .prepare_cached(insert)
        .with_ctx(|| format!("preparing to store a {what}"))?;
    let inserted = match &place {
        Place::Channel => stmt.execute(params![source_id, ext, seq]),
        Place::Thread(next) => stmt.execute(params![source_id, ext, seq, **next]),
    }
    .with_ctx(|| format!("storing {what} `{ext}`"))?;
    let id = if inserted == 1 {
        match place {
            Place::Channel => conn.last_insert_rowid(),
            Place::Thread(next) => {
                *next += 1;
                *next - 1
            }
        }
    } else {
        conn.prepare_cached(find)
            .and_then(|mut s| s.query_row(params![source_id, ext], |r| r.get(0)))
            .with_ctx(|| format!("looking up {what} `{ext}`"))?
    };
    cache.insert(ext.to_owned(), id);
    Ok(id)
}

/// Appends `s` as a JSON string literal.
fn push_json_string(out: &mut String, s: &str) {
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
