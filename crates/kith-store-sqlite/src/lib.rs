//! kith's embedded storage backend: one SQLite file, zero configuration (SPEC §8).
//!
//! [`SqliteStore`] implements [`kith_store::Store`] over the canonical schema of
//! `docs/data-model.md` and passes the shared conformance suite
//! ([`kith_store::conformance`]).
//!
//! ```no_run
//! use kith_store::Store;
//! let store = kith_store_sqlite::SqliteStore::open(std::path::Path::new("kith.db"))?;
//! println!("{} activities", store.counts()?.activities);
//! # Ok::<(), kith_store::StoreError>(())
//! ```
//!
//! Architecture invariants:
//! - **One writer.** All writes go through one connection behind a mutex; an [`Ingest`]
//!   session holds it (and one `BEGIN IMMEDIATE` transaction) for its whole life. Other
//!   *processes* may write the same file: SQLite's lock serialises them, and the busy timeout
//!   (5 s) makes a writer wait its turn instead of failing at once.
//! - **Readers never wait for writers.** The file is in WAL mode and reads run on a small pool
//!   of separate connections, each read in one transaction (a consistent snapshot).
//! - **Change sequence.** Every write transaction takes the next value of `kith_meta.seq` and
//!   stamps it on every row it writes; physical removals leave `tombstones` rows. Since writers
//!   are serialised, `seq` order is commit order, and `read_changes` returns the counter + 1
//!   of its snapshot as the watermark.
//! - **Versioned schema.** `kith_meta.schema_version` records the migrations applied
//!   (`schema.rs`). A newer database is refused; an older one is copied to
//!   `<file>.pre-v<N>.bak` and migrated in one transaction.
//! - **Exports repeat what came in** (kind, timestamp with its offset and microseconds, channel,
//!   thread, reply target, addressees, text, URL, attributes), with two documented exceptions:
//!   the author is rebuilt from the identity, so it carries the *latest* name, handle and e-mail
//!   seen for that account, and its `team`/`bot` hints read `Some(true)` or `None`; and an
//!   activity changed by an `edit` activity exports the edited text.
//!
//! [`Ingest`]: kith_store::Ingest

mod backup;
mod changes;
mod error;
mod export;
mod ingest;
mod members;
mod packs;
mod prepare;
mod raw;
mod schema;
mod sources;
mod text;
mod workspace;

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use kith_store::{
    AuditId, Backend, Change, Community, Counts, DeletedSource, IdentityRow, ImportAudit, Ingest,
    MemberDetail, MemberFlags, MemberId, MemberRow, MergeEvidence, MergeId, MergeRecord, SourceRow,
    SourceSummary, Store, StoreError, StoreInfo, StoreResult, StoredAudit, Watermark,
};
use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior};

pub use backup::restore;
use error::{Context, opening, poisoned, unreachable};

/// How long a writer waits for another process's write lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Reader connections kept open between reads.
const READER_POOL: usize = 4;

/// A kith database in one SQLite file.
pub struct SqliteStore {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens the database at `path`, creating the file (and the schema) if it is missing, and
    /// migrating an older schema after copying the file to `<file>.pre-v<N>.bak`.
    ///
    /// Errors: [`StoreError::Unreachable`] when the file cannot be opened or is not a kith
    /// database; [`StoreError::NewerSchema`] when a newer kith wrote it.
    pub fn open(path: &Path) -> StoreResult<SqliteStore> {
        if path.is_dir() {
            return Err(unreachable(
                path,
                "this is a folder; name a database file, e.g. kith.db",
            ));
        }
        let mut writer = connect(path, true)?;
        let found = schema::stored_version(&writer, path)?;
        schema::migrate(&mut writer, path)?;
        let store = SqliteStore {
            path: path.to_path_buf(),
            writer: Mutex::new(writer),
            readers: Mutex::new(Vec::new()),
        };
        // A database from before the read packs (schema v5) gets them once, with its
        // migration: its next builds read them. The packs are a cache: should packing fail
        // (a full disk), the database is opened all the same, reads use the rows, and the
        // next packing (after an import or scoring, or in `kith serve`) packs it; a lasting
        // cause shows in those writes.
        if found.is_some_and(|v| v < schema::PACKS_VERSION) {
            let _ = store.pack_for_reads();
        }
        Ok(store)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` in one write transaction that has taken the next change-sequence value.
    /// Any error rolls the transaction back.
    fn write<T>(
        &self,
        context: &str,
        f: impl FnOnce(&Connection, i64) -> StoreResult<T>,
    ) -> StoreResult<T> {
        let mut conn = self
            .writer
            .lock()
            .map_err(|_| poisoned("writer connection"))?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx(context)?;
        let seq = next_seq(&tx)?;
        let out = f(&tx, seq)?;
        tx.commit().ctx(context)?;
        Ok(out)
    }

    /// Runs `f` in one write transaction outside the change sequence: for the team's own data
    /// (accounts, notes...), which analytics never reads.
    fn write_plain<T>(
        &self,
        context: &str,
        f: impl FnOnce(&Connection) -> StoreResult<T>,
    ) -> StoreResult<T> {
        let mut conn = self
            .writer
            .lock()
            .map_err(|_| poisoned("writer connection"))?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx(context)?;
        let out = f(&tx)?;
        tx.commit().ctx(context)?;
        Ok(out)
    }

    /// Runs `f` in one read transaction: everything it reads comes from one snapshot.
    fn read<T>(
        &self,
        context: &str,
        f: impl FnOnce(&Connection) -> StoreResult<T>,
    ) -> StoreResult<T> {
        let mut reader = self.reader()?;
        let tx = reader.transaction().ctx(context)?;
        let out = f(&tx)?;
        tx.finish().ctx(context)?;
        Ok(out)
    }

    /// Brings the packs of `P`'s table up to date (`Store::pack_for_reads`).
    fn pack<P: packs::Packed>(&self) -> StoreResult<kith_store::PackStats> {
        // What needs packing, found by a reader: when the packs are current (a server
        // asks after every round of background work), the writer is not taken at all.
        let wanted = self.read("packing", |conn| {
            let blocks = packs::packable_blocks(conn)?;
            packs::wanted_blocks(conn, P::TABLE, blocks)
        })?;
        // A batch of blocks at a time: read and packed on a reader of its own (beside any
        // writer), then written while holding the writer for a few milliseconds. Batches are
        // taken in turn by one thread per core: after an import, reading the new rows is
        // most of the work.
        let batches: Vec<&[i64]> = wanted.chunks(packs::BLOCKS_PER_TRANSACTION).collect();
        let next = std::sync::atomic::AtomicUsize::new(0);
        let work = || -> StoreResult<kith_store::PackStats> {
            let mut stats = kith_store::PackStats::default();
            while let Some(batch) = batches.get(next.fetch_add(1, Ordering::Relaxed)) {
                // A small page cache, as the bulk reads: the rows pass once, and a pooled
                // reader would keep its cache filled with them.
                let packed = bulk_read(&self.path, "packing", |conn| {
                    packs::read_blocks::<P>(conn, batch)
                })?;
                let mut conn = self
                    .writer
                    .lock()
                    .map_err(|_| poisoned("writer connection"))?;
                stats += packs::write_blocks(&mut conn, packed)?;
                drop(conn);
            }
            Ok(stats)
        };
        let threads = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .clamp(1, 4)
            .min(batches.len());
        let results: Vec<StoreResult<kith_store::PackStats>> = if threads <= 1 {
            vec![work()]
        } else {
            std::thread::scope(|scope| {
                let handles: Vec<_> = (0..threads).map(|_| scope.spawn(work)).collect();
                handles
                    .into_iter()
                    .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                    .collect()
            })
        };
        let mut stats = kith_store::PackStats::default();
        for done in results {
            stats += done?;
        }
        Ok(stats)
    }

    fn reader(&self) -> StoreResult<PooledReader<'_>> {
        let pooled = self
            .readers
            .lock()
            .map_err(|_| poisoned("reader pool"))?
            .pop();
        let conn = match pooled {
            Some(conn) => conn,
            None => connect(&self.path, false)?,
        };
        Ok(PooledReader {
            store: self,
            conn: Some(conn),
        })
    }
}

/// A reader connection on loan from the pool; goes back on drop.
struct PooledReader<'a> {
    store: &'a SqliteStore,
    conn: Option<Connection>,
}

impl std::ops::Deref for PooledReader<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        self.conn
            .as_ref()
            .unwrap_or_else(|| unreachable!("a pooled reader holds its connection until dropped"))
    }
}

impl std::ops::DerefMut for PooledReader<'_> {
    fn deref_mut(&mut self) -> &mut Connection {
        self.conn
            .as_mut()
            .unwrap_or_else(|| unreachable!("a pooled reader holds its connection until dropped"))
    }
}

impl Drop for PooledReader<'_> {
    fn drop(&mut self) {
        if let (Some(conn), Ok(mut pool)) = (self.conn.take(), self.store.readers.lock())
            && pool.len() < READER_POOL
            && conn.is_autocommit()
        {
            pool.push(conn);
        }
    }
}

/// The page size of the databases kith creates (SQLite's default is 4 KiB).
const PAGE_SIZE: u32 = 16_384;

/// Opens one connection with kith's settings. The writer creates the file and switches it to
/// WAL (a persistent property of the file); readers are `query_only`.
fn connect(path: &Path, writer: bool) -> StoreResult<Connection> {
    let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    if writer {
        flags |= OpenFlags::SQLITE_OPEN_CREATE;
    }
    let conn = Connection::open_with_flags(path, flags)
        .map_err(|e| opening(path, "opening the database", e))?;
    conn.busy_timeout(BUSY_TIMEOUT)
        .map_err(|e| opening(path, "setting the busy timeout", e))?;
    if writer {
        // A new database gets 16 KiB pages (it must be said before WAL mode, and does nothing
        // on a database that has tables). The bulk load's B-trees are a level shallower and
        // it makes a quarter of the system calls: at 10 M activities the import took 28.6–32.9 s
        // instead of 31.9–37.7 s (three alternations; 1 M: faster in nine of ten), the cold
        // snapshot build the same or a little faster (docs/benchmarks.md, 2026-12-07).
        conn.execute_batch(&format!("PRAGMA page_size = {PAGE_SIZE};"))
            .map_err(|e| opening(path, "setting the page size of a new database", e))?;
        let mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(|e| opening(path, "switching to WAL mode", e))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(unreachable(
                path,
                format!(
                    "SQLite cannot use WAL mode here (journal mode stays `{mode}`); put the database on a local disk"
                ),
            ));
        }
    }
    let settings = if writer {
        "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = OFF; PRAGMA temp_store = MEMORY; PRAGMA cache_size = -65536;"
    } else {
        "PRAGMA synchronous = NORMAL; PRAGMA query_only = 1; PRAGMA temp_store = MEMORY; PRAGMA cache_size = -32768;"
    };
    conn.execute_batch(settings)
        .map_err(|e| opening(path, "applying connection settings", e))?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

/// A bulk read (`Store::read_activities`, `Store::read_text_scores`) in a read transaction on
/// its own connection, several of which run at once. A small page cache: a bulk read passes
/// each page once, and a pooled reader would keep its 32 MiB cache filled afterwards. (Mapping
/// the file instead, `mmap_size`, gained nothing measurable at 10 M activities and counts the
/// mapped file in the process's resident memory.)
fn bulk_read<T>(
    path: &Path,
    what: &'static str,
    read: impl FnOnce(&Connection) -> StoreResult<T>,
) -> StoreResult<T> {
    let mut conn = connect(path, false)?;
    conn.execute_batch("PRAGMA cache_size = -2048;").ctx(what)?;
    let tx = conn.transaction().ctx(what)?;
    let out = read(&tx)?;
    tx.finish().ctx(what)?;
    Ok(out)
}

/// Takes the next value of the change sequence. Call inside a write transaction.
fn next_seq(conn: &Connection) -> StoreResult<i64> {
    conn.query_row(
        "UPDATE kith_meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'seq' RETURNING CAST(value AS INTEGER)",
        [],
        |r| r.get(0),
    )
    .ctx("taking the next change-sequence number")
}

/// Now, in epoch seconds.
fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

pub(crate) fn meta(conn: &Connection, key: &str) -> StoreResult<Option<String>> {
    conn.query_row("SELECT value FROM kith_meta WHERE key = ?1", [key], |r| {
        r.get(0)
    })
    .optional()
    .with_ctx(|| format!("reading kith_meta.{key}"))
}

fn set_meta(conn: &Connection, key: &str, value: &str) -> StoreResult<()> {
    conn.execute(
        "INSERT INTO kith_meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [key, value],
    )
    .with_ctx(|| format!("writing kith_meta.{key}"))?;
    Ok(())
}

/// Converts a stored count (never negative) to `u64`.
fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

impl Store for SqliteStore {
    fn describe(&self) -> StoreInfo {
        StoreInfo {
            backend: Backend::Sqlite,
            location: self.path.display().to_string(),
            schema_version: kith_store::SCHEMA_VERSION,
        }
    }

    fn community(&self) -> StoreResult<Community> {
        self.read("reading the community settings", |conn| {
            let default = Community::default();
            Ok(Community {
                name: meta(conn, "community_name")?.unwrap_or(default.name),
                time_zone: meta(conn, "time_zone")?.unwrap_or(default.time_zone),
            })
        })
    }

    fn set_community(&self, community: &Community) -> StoreResult<()> {
        if community.name.trim().is_empty() {
            return Err(StoreError::Invalid(
                "the community name cannot be empty".into(),
            ));
        }
        if community.time_zone.trim().is_empty() {
            return Err(StoreError::Invalid(
                "the community time zone cannot be empty (e.g. UTC, Europe/Paris)".into(),
            ));
        }
        self.write("saving the community settings", |conn, _| {
            set_meta(conn, "community_name", &community.name)?;
            set_meta(conn, "time_zone", &community.time_zone)
        })
    }

    fn ingest(&self) -> StoreResult<Box<dyn Ingest + '_>> {
        let conn = self
            .writer
            .lock()
            .map_err(|_| poisoned("writer connection"))?;
        Ok(Box::new(ingest::Session::begin(
            conn,
            ingest::Mode::Shared,
        )?))
    }

    /// On an empty database (no activities yet: a first import), the session switches the
    /// file to a rollback journal and leaves the change-sequence indexes to be built at commit:
    /// the data is written once instead of to the WAL and again at the checkpoint, and the
    /// indexes are built by one sort each. That needs every other connection closed; when
    /// another one is open (a running `kith serve`), the session runs as [`Store::ingest`] does.
    /// The file is switched back to WAL when the session ends, and on the next open if the
    /// process dies first.
    fn ingest_exclusive(&self) -> StoreResult<Box<dyn Ingest + '_>> {
        let conn = self
            .writer
            .lock()
            .map_err(|_| poisoned("writer connection"))?;
        let empty: bool = conn
            .query_row("SELECT NOT EXISTS (SELECT 1 FROM activities)", [], |r| {
                r.get(0)
            })
            .ctx("checking whether the database is empty")?;
        if !empty {
            return Ok(Box::new(ingest::Session::begin(
                conn,
                ingest::Mode::Shared,
            )?));
        }
        // Our own idle readers would keep the file in WAL mode.
        self.readers
            .lock()
            .map_err(|_| poisoned("reader pool"))?
            .clear();
        let mode = conn
            .query_row("PRAGMA journal_mode = DELETE", [], |r| {
                r.get::<_, String>(0)
            })
            .unwrap_or_default();
        let mode = if mode.eq_ignore_ascii_case("delete") {
            ingest::Mode::Bulk
        } else {
            ingest::Mode::Shared
        };
        Ok(Box::new(ingest::Session::begin(conn, mode)?))
    }

    fn sources(&self) -> StoreResult<Vec<SourceSummary>> {
        self.read("listing sources", sources::list)
    }

    fn source_rows(&self) -> StoreResult<Vec<SourceRow>> {
        self.read("listing sources", sources::rows)
    }

    fn set_source_base_url(&self, source: &str, base_url: Option<&str>) -> StoreResult<()> {
        self.write("setting a source's base URL", |conn, seq| {
            sources::set_base_url(conn, seq, source, base_url)
        })
    }

    fn delete_source(&self, name: &str) -> StoreResult<DeletedSource> {
        self.write("deleting a source", |conn, seq| {
            sources::delete(conn, seq, name)
        })
    }

    fn record_audit(&self, audit: &ImportAudit) -> StoreResult<AuditId> {
        self.write("recording an import audit", |conn, _| {
            sources::insert_audit(conn, audit)
        })
    }

    fn set_audit_members_merged(&self, audit: AuditId, merged: u64) -> StoreResult<()> {
        self.write("recording merges on an import audit", |conn, _| {
            let n = conn
                .execute(
                    "UPDATE audits SET members_merged = ?2 WHERE id = ?1",
                    rusqlite::params![audit.0, i64::try_from(merged).unwrap_or(i64::MAX)],
                )
                .with_ctx(|| format!("updating audit {audit}"))?;
            if n == 0 {
                return Err(StoreError::NotFound(format!("import audit {audit}")));
            }
            Ok(())
        })
    }

    fn audits(&self, source: Option<&str>, limit: usize) -> StoreResult<Vec<StoredAudit>> {
        self.read("reading import audits", |conn| {
            sources::audits(conn, source, limit)
        })
    }

    fn counts(&self) -> StoreResult<Counts> {
        self.read("counting rows", sources::counts)
    }

    fn members(&self, after: Option<MemberId>, limit: usize) -> StoreResult<Vec<MemberRow>> {
        self.read("listing members", |conn| members::page(conn, after, limit))
    }

    fn identities(&self) -> StoreResult<Vec<IdentityRow>> {
        self.read("listing identities", members::all_identities)
    }

    fn member(&self, id: MemberId) -> StoreResult<MemberDetail> {
        self.read("reading a member", |conn| members::detail(conn, id))
    }

    fn set_member_flags(&self, id: MemberId, flags: &MemberFlags) -> StoreResult<()> {
        self.write("setting member flags", |conn, seq| {
            members::set_flags(conn, seq, id, flags)
        })
    }

    fn add_affiliation(
        &self,
        id: MemberId,
        affiliation: &kith_store::Affiliation,
    ) -> StoreResult<()> {
        self.write("adding an affiliation", |conn, seq| {
            members::add_affiliation(conn, seq, id, affiliation)
        })
    }

    fn affiliations(&self) -> StoreResult<Vec<(MemberId, kith_store::Affiliation)>> {
        self.read("listing affiliations", members::all_affiliations)
    }

    fn merge_members(
        &self,
        into: MemberId,
        from: MemberId,
        evidence: &MergeEvidence,
    ) -> StoreResult<MergeRecord> {
        self.write("merging members", |conn, seq| {
            members::merge(conn, seq, into, from, evidence)
        })
    }

    fn unmerge(&self, merge: MergeId, actor: &str) -> StoreResult<MergeRecord> {
        self.write("undoing a merge", |conn, seq| {
            members::unmerge(conn, seq, merge, actor)
        })
    }

    fn merges(&self) -> StoreResult<Vec<MergeRecord>> {
        self.read("reading the merge log", members::merge_log)
    }

    fn read_changes(
        &self,
        since: Watermark,
        sink: &mut dyn FnMut(Change) -> StoreResult<()>,
    ) -> StoreResult<Watermark> {
        self.read("reading changes", |conn| {
            changes::read(conn, since, true, sink)
        })
    }

    fn read_changes_except_activities(
        &self,
        since: Watermark,
        sink: &mut dyn FnMut(Change) -> StoreResult<()>,
    ) -> StoreResult<Watermark> {
        self.read("reading changes", |conn| {
            changes::read(conn, since, false, sink)
        })
    }

    fn read_entity_keys(
        &self,
        sink: &mut dyn FnMut(kith_store::EntityKey<'_>) -> StoreResult<()>,
    ) -> StoreResult<Watermark> {
        self.read("reading entities", |conn| {
            changes::read_entity_keys(conn, sink)
        })
    }

    fn read_text_scores(
        &self,
        ids: std::ops::Range<i64>,
        before: Watermark,
        sink: &mut dyn FnMut(&kith_store::TextFact) -> StoreResult<()>,
    ) -> StoreResult<()> {
        bulk_read(&self.path, "reading text scores", |conn| {
            packs::read_text_scores(conn, ids, before, sink)
        })
    }

    fn pack_for_reads(&self) -> StoreResult<kith_store::PackStats> {
        // The activities first: the text scores are read after them.
        let mut stats = self.pack::<kith_store::ActivityFact>()?;
        stats += self.pack::<kith_store::TextFact>()?;
        Ok(stats)
    }

    fn activity_id_range(&self) -> StoreResult<(std::ops::Range<i64>, Watermark)> {
        self.read("reading the activity ids", |conn| {
            // Two subqueries: SQLite reads min() or max() alone from the end of the table,
            // both in one aggregate by a scan.
            let (lo, hi, counter): (Option<i64>, Option<i64>, i64) = conn
                .query_row(
                    "SELECT (SELECT min(id) FROM activities), (SELECT max(id) FROM activities), \
                            (SELECT CAST(value AS INTEGER) FROM kith_meta WHERE key = 'seq')",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .ctx("reading the activity ids")?;
            let ids = match (lo, hi) {
                (Some(lo), Some(hi)) => lo..hi.saturating_add(1),
                _ => 0..0,
            };
            // As `read_changes` returns it: every row stamped at or below the counter is in.
            Ok((ids, Watermark(counter + 1)))
        })
    }

    fn read_activities(
        &self,
        ids: std::ops::Range<i64>,
        before: Watermark,
        sink: &mut dyn FnMut(&kith_store::ActivityFact) -> StoreResult<()>,
    ) -> StoreResult<()> {
        bulk_read(&self.path, "reading activities", |conn| {
            packs::read_activities(conn, ids, before, sink)
        })
    }

    fn export_activities(
        &self,
        sink: &mut dyn FnMut(kith_store::ExportedActivity) -> StoreResult<()>,
    ) -> StoreResult<()> {
        self.read("exporting activities", |conn| {
            export::activities(conn, sink)
        })
    }

    fn activities_by_id(
        &self,
        ids: &[kith_store::ActivityId],
    ) -> StoreResult<Vec<kith_store::ExportedActivity>> {
        self.read("reading activities", |conn| export::by_id(conn, ids))
    }

    fn backup(&self, dest: &Path) -> StoreResult<()> {
        if backup::same_file(dest, &self.path)
            || ["-wal", "-shm"]
                .iter()
                .any(|s| backup::same_file(dest, &backup::with_suffix(&self.path, s)))
        {
            return Err(StoreError::Invalid(format!(
                "{} is the live database; back up to another file",
                dest.display()
            )));
        }
        let reader = self.reader()?;
        backup::copy_database(&reader, dest)
    }
}

impl kith_store::Accounts for SqliteStore {
    fn users(&self) -> StoreResult<Vec<kith_store::User>> {
        self.read("listing accounts", workspace::users)
    }

    fn create_user(
        &self,
        name: &str,
        password_hash: &str,
        role: kith_store::Role,
    ) -> StoreResult<kith_store::User> {
        self.write_plain("creating an account", |c| {
            workspace::create_user(c, name, password_hash, role)
        })
    }

    fn create_first_owner(&self, name: &str, password_hash: &str) -> StoreResult<kith_store::User> {
        self.write_plain("creating the first account", |c| {
            workspace::create_first_owner(c, name, password_hash)
        })
    }

    fn user_credentials(&self, name: &str) -> StoreResult<Option<(kith_store::User, String)>> {
        self.read("reading an account", |c| workspace::credentials(c, name))
    }

    fn set_user_role(&self, user: kith_store::UserId, role: kith_store::Role) -> StoreResult<()> {
        self.write_plain("changing a role", |c| workspace::set_role(c, user, role))
    }

    fn set_user_password(&self, user: kith_store::UserId, password_hash: &str) -> StoreResult<()> {
        self.write_plain("changing a password", |c| {
            workspace::set_password(c, user, password_hash)
        })
    }

    fn set_user_disabled(&self, user: kith_store::UserId, disabled: bool) -> StoreResult<()> {
        self.write_plain("disabling an account", |c| {
            workspace::set_disabled(c, user, disabled)
        })
    }

    fn create_session(
        &self,
        key_hash: &str,
        user: kith_store::UserId,
        csrf: &str,
        expires_at: i64,
    ) -> StoreResult<()> {
        self.write_plain("starting a session", |c| {
            workspace::create_session(c, key_hash, user, csrf, expires_at)
        })
    }

    fn session(&self, key_hash: &str, at: i64) -> StoreResult<Option<kith_store::SessionRecord>> {
        self.read("reading a session", |c| workspace::session(c, key_hash, at))
    }

    fn delete_session(&self, key_hash: &str) -> StoreResult<()> {
        self.write_plain("ending a session", |c| {
            workspace::delete_session(c, key_hash)
        })
    }

    fn delete_user_sessions(&self, user: kith_store::UserId) -> StoreResult<()> {
        self.write_plain("ending sessions", |c| {
            workspace::delete_user_sessions(c, user)
        })
    }

    fn create_token(
        &self,
        user: kith_store::UserId,
        name: &str,
        token_hash: &str,
        scopes: &[String],
    ) -> StoreResult<kith_store::ApiToken> {
        self.write_plain("creating an API token", |c| {
            workspace::create_token(c, user, name, token_hash, scopes)
        })
    }

    fn token(
        &self,
        token_hash: &str,
    ) -> StoreResult<Option<(kith_store::ApiToken, kith_store::User)>> {
        self.read("reading an API token", |c| workspace::token(c, token_hash))
    }

    fn tokens(&self, user: Option<kith_store::UserId>) -> StoreResult<Vec<kith_store::ApiToken>> {
        self.read("listing API tokens", |c| workspace::tokens(c, user))
    }

    fn revoke_token(&self, token: kith_store::TokenId) -> StoreResult<()> {
        self.write_plain("revoking an API token", |c| {
            workspace::revoke_token(c, token)
        })
    }
}

impl kith_store::MemberRecords for SqliteStore {
    fn notes(&self, member: MemberId) -> StoreResult<Vec<kith_store::Note>> {
        self.read("reading notes", |c| workspace::notes(c, member))
    }

    fn add_note(
        &self,
        member: MemberId,
        author: &str,
        text: &str,
    ) -> StoreResult<kith_store::Note> {
        self.write_plain("adding a note", |c| {
            workspace::add_note(c, member, author, text)
        })
    }

    fn delete_note(&self, note: kith_store::NoteId) -> StoreResult<()> {
        self.write_plain("deleting a note", |c| workspace::delete_note(c, note))
    }

    fn tags(&self, member: MemberId) -> StoreResult<Vec<String>> {
        self.read("reading tags", |c| workspace::tags(c, member))
    }

    fn all_tags(&self) -> StoreResult<Vec<(MemberId, String)>> {
        self.read("reading tags", workspace::all_tags)
    }

    fn add_tag(&self, member: MemberId, tag: &str) -> StoreResult<()> {
        self.write_plain("tagging a member", |c| workspace::add_tag(c, member, tag))
    }

    fn remove_tag(&self, member: MemberId, tag: &str) -> StoreResult<()> {
        self.write_plain("removing a tag", |c| workspace::remove_tag(c, member, tag))
    }

    fn tasks(&self, member: Option<MemberId>) -> StoreResult<Vec<kith_store::Task>> {
        self.read("reading tasks", |c| workspace::tasks(c, member))
    }

    fn add_task(
        &self,
        member: MemberId,
        title: &str,
        due: Option<i64>,
        created_by: &str,
    ) -> StoreResult<kith_store::Task> {
        self.write_plain("adding a task", |c| {
            workspace::add_task(c, member, title, due, created_by)
        })
    }

    fn set_task_done(&self, task: kith_store::TaskId, done: bool) -> StoreResult<()> {
        self.write_plain("updating a task", |c| {
            workspace::set_task_done(c, task, done)
        })
    }

    fn segments(&self) -> StoreResult<Vec<kith_store::Segment>> {
        self.read("listing segments", workspace::segments)
    }

    fn save_segment(
        &self,
        name: &str,
        filter: &str,
        created_by: &str,
    ) -> StoreResult<kith_store::Segment> {
        self.write_plain("saving a segment", |c| {
            workspace::save_segment(c, name, filter, created_by)
        })
    }

    fn delete_segment(&self, segment: kith_store::SegmentId) -> StoreResult<()> {
        self.write_plain("deleting a segment", |c| {
            workspace::delete_segment(c, segment)
        })
    }
}

impl kith_store::TextScores for SqliteStore {
    fn texts_to_score(
        &self,
        selection: kith_store::TextSelection,
        after: Option<kith_store::ActivityId>,
        limit: usize,
    ) -> StoreResult<Vec<kith_store::TextToScore>> {
        self.read("reading messages to score", |conn| {
            text::to_score(conn, selection, after, limit)
        })
    }

    fn count_texts_to_score(
        &self,
        selection: kith_store::TextSelection,
        after: Option<kith_store::ActivityId>,
    ) -> StoreResult<u64> {
        self.read("counting messages to score", |conn| {
            text::count_to_score(conn, selection, after)
        })
    }

    fn write_text_scores(&self, scores: &[kith_store::TextScore]) -> StoreResult<()> {
        if scores.is_empty() {
            return Ok(());
        }
        self.write("storing text scores", |conn, seq| {
            text::write(conn, seq, scores)
        })
    }

    fn text_scores(
        &self,
        ids: &[kith_store::ActivityId],
    ) -> StoreResult<Vec<kith_store::TextScore>> {
        self.read("reading text scores", |conn| text::scores(conn, ids))
    }

    fn scoring_mark(&self) -> StoreResult<Option<kith_store::ScoringMark>> {
        self.read("reading the scoring mark", text::mark)
    }

    fn record_scoring_mark(&self, mark: kith_store::ScoringMark) -> StoreResult<()> {
        self.write_plain("recording the scoring mark", |conn| {
            if text::mark(conn)?.is_some_and(|m| {
                (m.model_version, m.watermark) >= (mark.model_version, mark.watermark)
            }) {
                return Ok(());
            }
            set_meta(
                conn,
                text::MARK_KEY,
                &format!("{} {}", mark.model_version, mark.watermark.0),
            )
        })
    }
}

/// Keeps `MutexGuard` nameable for the ingest module.
type WriterGuard<'a> = MutexGuard<'a, Connection>;
