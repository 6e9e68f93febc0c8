//! The canonical schema (docs/data-model.md) as versioned migrations, and the check that runs
//! on every open: refuse a newer database, back up and migrate an older one.
//!
//! `MIGRATIONS[i]` takes a database from version `i` to `i + 1`; version 0 is an empty file.
//! Never edit a released migration: append a new one and raise `kith_store::SCHEMA_VERSION`.

use std::path::{Path, PathBuf};

use kith_store::{StoreError, StoreResult};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

use crate::error::{Context, opening, unreachable};

/// v1: the canonical schema. Foreign keys are declared for readers of the schema but not
/// enforced (`foreign_keys` stays off): the ingest path keeps them by construction, and checking
/// four parents per activity would cost a third of the write rate.
///
/// Ids of removed rows are never handed out again, so that a removal in the change stream can
/// never be confused with a later insert under the same id: `AUTOINCREMENT` sees to it for the
/// small tables; activities and threads, written by the hot path, take explicit ids from
/// [`next_id`] instead, which spares a `sqlite_sequence` update per row.
const V1: &str = r#"
CREATE TABLE kith_meta (key TEXT PRIMARY KEY, value TEXT);
INSERT INTO kith_meta (key, value) VALUES ('seq', '0');

CREATE TABLE sources (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT NOT NULL UNIQUE,
    format      TEXT NOT NULL,
    base_url    TEXT,
    created_at  BIGINT NOT NULL,
    seq         BIGINT NOT NULL
);

CREATE TABLE channels (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    source_id   BIGINT NOT NULL REFERENCES sources (id),
    ext_id      TEXT NOT NULL,
    seq         BIGINT NOT NULL,
    UNIQUE (source_id, ext_id)
);
CREATE INDEX channels_seq ON channels (seq);

CREATE TABLE threads (
    id          INTEGER PRIMARY KEY,
    source_id   BIGINT NOT NULL REFERENCES sources (id),
    ext_id      TEXT NOT NULL,
    inferred    INTEGER NOT NULL DEFAULT 0,
    seq         BIGINT NOT NULL,
    UNIQUE (source_id, ext_id)
);
CREATE INDEX threads_seq ON threads (seq);

CREATE TABLE members (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    display_name TEXT,
    team         INTEGER NOT NULL DEFAULT 0,
    team_since   BIGINT,
    bot          INTEGER NOT NULL DEFAULT 0,
    anonymous    INTEGER NOT NULL DEFAULT 0,
    merged_into  BIGINT REFERENCES members (id),
    created_at   BIGINT NOT NULL,
    seq          BIGINT NOT NULL
);
CREATE INDEX members_seq ON members (seq);

CREATE TABLE identities (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    source_id   BIGINT NOT NULL REFERENCES sources (id),
    ext_id      TEXT NOT NULL,
    name        TEXT,
    handle      TEXT,
    email       TEXT,
    member_id   BIGINT NOT NULL REFERENCES members (id),
    anonymous   INTEGER NOT NULL DEFAULT 0,
    team        INTEGER NOT NULL DEFAULT 0,
    bot         INTEGER NOT NULL DEFAULT 0,
    seq         BIGINT NOT NULL,
    UNIQUE (source_id, ext_id)
);
CREATE INDEX identities_member ON identities (member_id);
CREATE INDEX identities_seq ON identities (seq);

CREATE TABLE affiliations (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    member_id    BIGINT NOT NULL REFERENCES members (id),
    organisation TEXT NOT NULL,
    since        BIGINT,
    until        BIGINT
);
CREATE INDEX affiliations_member ON affiliations (member_id);

CREATE TABLE activities (
    id           INTEGER PRIMARY KEY,
    source_id    BIGINT NOT NULL REFERENCES sources (id),
    ext_id       TEXT NOT NULL,
    kind         TEXT NOT NULL,
    ts           BIGINT NOT NULL,
    ts_micros    INTEGER NOT NULL DEFAULT 0,
    ts_offset    INTEGER NOT NULL DEFAULT 0,
    identity_id  BIGINT NOT NULL REFERENCES identities (id),
    channel_id   BIGINT REFERENCES channels (id),
    thread_id    BIGINT REFERENCES threads (id),
    reply_to_ext TEXT,
    reply_to_id  BIGINT REFERENCES activities (id),
    to_ext       TEXT,
    text         TEXT,
    url          TEXT,
    attrs        TEXT,
    content_hash BIGINT NOT NULL,
    deleted      INTEGER NOT NULL DEFAULT 0,
    seq          BIGINT NOT NULL,
    UNIQUE (source_id, ext_id)
);
CREATE INDEX activities_seq ON activities (seq);
-- Replies whose target is not stored yet: resolved when the target arrives. Stays small.
CREATE INDEX activities_unresolved ON activities (source_id, reply_to_ext)
    WHERE reply_to_id IS NULL AND reply_to_ext IS NOT NULL;

CREATE TABLE merges (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          BIGINT NOT NULL,
    into_member BIGINT NOT NULL,
    from_member BIGINT NOT NULL,
    identities  TEXT NOT NULL,
    reason      TEXT NOT NULL,
    score       REAL NOT NULL,
    actor       TEXT NOT NULL,
    undone_at   BIGINT,
    undone_by   TEXT
);

CREATE TABLE audits (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    format          TEXT NOT NULL,
    sources         TEXT NOT NULL,
    inputs          TEXT NOT NULL,
    started_at      BIGINT NOT NULL,
    finished_at     BIGINT NOT NULL,
    status          TEXT NOT NULL,
    read            BIGINT NOT NULL,
    imported        BIGINT NOT NULL,
    updated         BIGINT NOT NULL,
    skipped         TEXT NOT NULL,
    problems        TEXT NOT NULL,
    first_ts        BIGINT,
    last_ts         BIGINT,
    members_created BIGINT NOT NULL,
    members_merged  BIGINT NOT NULL,
    error           TEXT
);

CREATE TABLE tombstones (
    seq       BIGINT NOT NULL,
    entity    TEXT NOT NULL,
    entity_id BIGINT NOT NULL
);
CREATE INDEX tombstones_seq ON tombstones (seq);
"#;

/// v2: activities are found by the change stream without an index entry per insert (the
/// write rate of SPEC §9). Each session that inserts activities records the contiguous range
/// of ids it took in `activity_inserts`; a row changed after its insert (an edit, a deletion,
/// a re-import with new content, a late reply target) gets `changed = 1` and lands in the
/// small partial index `activities_changed`. The unique key becomes a named index, which a
/// bulk load may drop and build again. Rows stored before count as inserted at the newest
/// change number (a reader from an older watermark reads them once more).
const V2: &str = r#"
CREATE TABLE activities_v2 (
    id           INTEGER PRIMARY KEY,
    source_id    BIGINT NOT NULL REFERENCES sources (id),
    ext_id       TEXT NOT NULL,
    kind         TEXT NOT NULL,
    ts           BIGINT NOT NULL,
    ts_micros    INTEGER NOT NULL DEFAULT 0,
    ts_offset    INTEGER NOT NULL DEFAULT 0,
    identity_id  BIGINT NOT NULL REFERENCES identities (id),
    channel_id   BIGINT REFERENCES channels (id),
    thread_id    BIGINT REFERENCES threads (id),
    reply_to_ext TEXT,
    reply_to_id  BIGINT REFERENCES activities (id),
    to_ext       TEXT,
    text         TEXT,
    url          TEXT,
    attrs        TEXT,
    content_hash BIGINT NOT NULL,
    deleted      INTEGER NOT NULL DEFAULT 0,
    seq          BIGINT NOT NULL,
    changed      INTEGER NOT NULL DEFAULT 0
);
INSERT INTO activities_v2 (id, source_id, ext_id, kind, ts, ts_micros, ts_offset, identity_id,
    channel_id, thread_id, reply_to_ext, reply_to_id, to_ext, text, url, attrs, content_hash,
    deleted, seq, changed)
  SELECT id, source_id, ext_id, kind, ts, ts_micros, ts_offset, identity_id, channel_id,
    thread_id, reply_to_ext, reply_to_id, to_ext, text, url, attrs, content_hash, deleted, seq, 0
  FROM activities;
DROP TABLE activities;
ALTER TABLE activities_v2 RENAME TO activities;
CREATE UNIQUE INDEX activities_key ON activities (source_id, ext_id);
CREATE INDEX activities_changed ON activities (seq) WHERE changed = 1;
-- Replies whose target is not stored yet: resolved when the target arrives. Stays small.
CREATE INDEX activities_unresolved ON activities (source_id, reply_to_ext)
    WHERE reply_to_id IS NULL AND reply_to_ext IS NOT NULL;

CREATE TABLE activity_inserts (
    seq      BIGINT NOT NULL,
    first_id BIGINT NOT NULL,
    last_id  BIGINT NOT NULL
);
CREATE INDEX activity_inserts_seq ON activity_inserts (seq);
INSERT INTO activity_inserts (seq, first_id, last_id)
  SELECT max(seq), min(id), max(id) FROM activities HAVING count(*) > 0;
"#;

/// v4: what kith-text read from each message, one row per scored activity (see
/// `kith_store::TextScores`). Written by the scoring pass, never by the ingest path, so the
/// bulk load is untouched; the row's `seq` puts it in the change stream. `activity_seq` is the
/// activity's `seq` when its text was read: a row whose activity has moved on is stale.
pub(crate) const V4: &str = r#"
CREATE TABLE text_scores (
    activity_id   INTEGER PRIMARY KEY REFERENCES activities (id),
    activity_seq  BIGINT NOT NULL,
    model_version INTEGER NOT NULL,
    language      TEXT NOT NULL,
    scored        INTEGER NOT NULL,
    sentiment     INTEGER NOT NULL,
    confidence    INTEGER NOT NULL,
    hostility     INTEGER NOT NULL,
    hostile       INTEGER NOT NULL,
    intents       INTEGER NOT NULL,
    seq           BIGINT NOT NULL
);
CREATE INDEX text_scores_seq ON text_scores (seq);
"#;

/// The schema version that brought the read packs: a database migrated from before it is
/// packed once on opening.
pub(crate) const PACKS_VERSION: u32 = 5;

/// v5: read packs (`packs.rs`): per block of 4,096 activity ids, the analytic columns of its
/// activities (`activity_packs`) and its text scores (`text_packs`) packed into one blob each,
/// written at change number `built_seq`, so that a snapshot build reads blobs instead of
/// stepping through every row. A cache: a block with a row written after `built_seq` (the
/// `activities_changed` and `text_scores_seq` indexes say which) is read from the rows.
const V5: &str = r#"
CREATE TABLE activity_packs (
    block     INTEGER PRIMARY KEY,
    built_seq BIGINT NOT NULL,
    rows      INTEGER NOT NULL,
    data      BLOB NOT NULL
);
CREATE TABLE text_packs (
    block     INTEGER PRIMARY KEY,
    built_seq BIGINT NOT NULL,
    rows      INTEGER NOT NULL,
    data      BLOB NOT NULL
);
"#;

/// v3: the team's own data (`kith_store::Accounts`, `kith_store::MemberRecords`): accounts,
/// sessions and API tokens (secrets only as hashes), notes, tags and tasks on members, saved
/// segments. None of it is part of the change sequence: analytics never reads it.
const V3: &str = r#"
CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    disabled      INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE sessions (
    key_hash    TEXT PRIMARY KEY,
    user_id     BIGINT NOT NULL REFERENCES users (id),
    csrf        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE api_tokens (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id     BIGINT NOT NULL REFERENCES users (id),
    name        TEXT NOT NULL,
    token_hash  TEXT NOT NULL UNIQUE,
    scopes      TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    revoked_at  BIGINT
);

CREATE TABLE member_notes (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    member_id   BIGINT NOT NULL REFERENCES members (id),
    author      TEXT NOT NULL,
    text        TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX member_notes_member ON member_notes (member_id);

CREATE TABLE member_tags (
    member_id   BIGINT NOT NULL REFERENCES members (id),
    tag         TEXT NOT NULL,
    PRIMARY KEY (member_id, tag)
);

CREATE TABLE member_tasks (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    member_id   BIGINT NOT NULL REFERENCES members (id),
    title       TEXT NOT NULL,
    due         BIGINT,
    created_by  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    done_at     BIGINT
);
CREATE INDEX member_tasks_member ON member_tasks (member_id);

CREATE TABLE segments (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT NOT NULL UNIQUE,
    filter      TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
"#;

/// The migrations of this build, oldest first. Its length is `kith_store::SCHEMA_VERSION`.
/// v6: thread topics (`kith_store::topics_of`): the labels a thread's opening post carries
/// on its platform (Stack Exchange tags, Discourse tags, GitHub labels), one row each, written
/// by the ingest sessions; a change bumps the thread's `seq`. Filled from the stored
/// activities once, after the script ([`backfill_topics`]).
const V6: &str = r#"
CREATE TABLE thread_topics (
    thread_id BIGINT NOT NULL REFERENCES threads (id),
    topic     TEXT NOT NULL,
    PRIMARY KEY (thread_id, topic)
) WITHOUT ROWID;
"#;

/// The schema version that brought thread topics: a migration from before it fills them.
const TOPICS_VERSION: u32 = 6;

pub(crate) const MIGRATIONS: &[&str] = &[V1, V2, V3, V4, V5, V6];

/// Thread topics of the posts stored before schema v6, as the ingest path writes them: every
/// post in a thread whose attributes may hold labels, in id order (a later post of the same
/// thread replaces an earlier one's).
fn backfill_topics(conn: &Connection) -> StoreResult<()> {
    let mut posts = conn
        .prepare(
            "SELECT thread_id, attrs FROM activities WHERE kind = 'post' AND thread_id IS NOT NULL \
             AND (instr(attrs, '\"tags\"') > 0 OR instr(attrs, '\"topic_tags\"') > 0 OR instr(attrs, '\"labels\"') > 0) \
             ORDER BY id",
        )
        .ctx("finding the posts with labels")?;
    let mut rows = posts.query([]).ctx("reading the posts with labels")?;
    while let Some(row) = rows.next().ctx("reading the posts with labels")? {
        let thread: i64 = row.get(0).ctx("reading a post's thread")?;
        let attrs: String = row.get(1).ctx("reading a post's attributes")?;
        let Ok(attrs) = serde_json::from_str(&attrs) else {
            continue;
        };
        let topics = kith_store::topics_of_attrs(&attrs);
        crate::ingest::replace_topics(conn, None, thread, &topics)?;
    }
    Ok(())
}

const _: () = assert!(MIGRATIONS.len() == kith_store::SCHEMA_VERSION as usize);

/// The schema version recorded in the database, or `None` for an empty file.
/// Errors with `Unreachable` for a SQLite database that is not kith's.
pub(crate) fn stored_version(conn: &Connection, path: &Path) -> StoreResult<Option<u32>> {
    let has_meta: bool = conn
        .query_row("SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'kith_meta')", [], |r| {
            r.get(0)
        })
        .map_err(|e| opening(path, "reading the schema", e))?;
    if !has_meta {
        let tables: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table'",
                [],
                |r| r.get(0),
            )
            .map_err(|e| opening(path, "reading the schema", e))?;
        if tables > 0 {
            return Err(unreachable(
                path,
                "this is a SQLite database, but not a kith database (it has no kith_meta table); \
                 point kith at its own database file",
            ));
        }
        return Ok(None);
    }
    let text: Option<String> = conn
        .query_row(
            "SELECT value FROM kith_meta WHERE key = 'schema_version'",
            [],
            |r| r.get(0),
        )
        .optional()
        .map_err(|e| opening(path, "reading the schema version", e))?;
    let Some(text) = text else {
        return Err(unreachable(
            path,
            "kith_meta has no schema_version: the database is damaged; restore a backup",
        ));
    };
    text.trim().parse::<u32>().map(Some).map_err(|_| {
        unreachable(path, format!("kith_meta.schema_version is `{text}`, not a number: the database is damaged; restore a backup"))
    })
}

/// Brings the database to `MIGRATIONS.len()`.
pub(crate) fn migrate(conn: &mut Connection, path: &Path) -> StoreResult<()> {
    migrate_with(conn, path, MIGRATIONS)
}

/// [`migrate`] over any migration list, so tests can exercise an upgrade.
pub(crate) fn migrate_with(
    conn: &mut Connection,
    path: &Path,
    migrations: &[&str],
) -> StoreResult<()> {
    let target = u32::try_from(migrations.len()).unwrap_or(u32::MAX);
    let found = stored_version(conn, path)?;
    if let Some(found) = found {
        if found > target {
            return Err(StoreError::NewerSchema {
                location: path.display().to_string(),
                found,
                supported: target,
            });
        }
        if found == target {
            return Ok(());
        }
        // An existing database one or more versions behind: keep a copy first.
        let backup = backup_path(path, target);
        crate::backup::copy_database(conn, &backup)?;
    }
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(|e| opening(path, "starting the schema migration", e))?;
    // Another process may have migrated while we waited for the lock.
    let from = stored_version(&tx, path)?.unwrap_or(0);
    if from > target {
        return Err(StoreError::NewerSchema {
            location: path.display().to_string(),
            found: from,
            supported: target,
        });
    }
    for (i, script) in migrations.iter().enumerate().skip(from as usize) {
        tx.execute_batch(script)
            .with_ctx(|| format!("migrating {} to schema version {}", path.display(), i + 1))?;
        if i + 1 == TOPICS_VERSION as usize && from > 0 {
            backfill_topics(&tx)?;
        }
    }
    tx.execute(
        "INSERT INTO kith_meta (key, value) VALUES ('schema_version', ?1)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [target.to_string()],
    )
    .ctx("recording the schema version")?;
    tx.commit()
        .with_ctx(|| format!("committing the schema migration of {}", path.display()))
}

/// The next free id of `activities` or `threads`: above every id stored and every id removed
/// (`kith_meta.<table>_floor`, raised by source removal). Call inside the write transaction.
pub(crate) fn next_id(conn: &Connection, table: &str) -> StoreResult<i64> {
    conn.query_row(
        &format!(
            "SELECT max(coalesce((SELECT max(id) FROM {table}), 0), \
                        coalesce((SELECT CAST(value AS INTEGER) FROM kith_meta WHERE key = '{table}_floor'), 0)) + 1"
        ),
        [],
        |r| r.get(0),
    )
    .with_ctx(|| format!("allocating {table} ids"))
}

/// The next id of an `AUTOINCREMENT` table that no row has ever had: above the largest id
/// `sqlite_sequence` remembers and above every stored id. A session hands out ids itself (its
/// preparer runs ahead of the writer), and SQLite moves `sqlite_sequence` past explicit ids.
pub(crate) fn next_autoincrement_id(conn: &Connection, table: &str) -> StoreResult<i64> {
    conn.query_row(
        &format!(
            "SELECT max(coalesce((SELECT max(id) FROM {table}), 0), \
                        coalesce((SELECT seq FROM sqlite_sequence WHERE name = '{table}'), 0)) + 1"
        ),
        [],
        |r| r.get(0),
    )
    .with_ctx(|| format!("allocating {table} ids"))
}

/// Records that ids up to the current maximum of `table` are spent, before rows are removed.
pub(crate) fn raise_floor(conn: &Connection, table: &str) -> StoreResult<()> {
    let floor = next_id(conn, table)? - 1;
    crate::set_meta(conn, &format!("{table}_floor"), &floor.to_string())
}

/// `<file>.pre-v<N>.bak`: the copy kept before migrating to version N.
pub(crate) fn backup_path(path: &Path, target: u32) -> PathBuf {
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(format!(".pre-v{target}.bak"));
    path.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kith_store::{Community, Store};

    #[test]
    fn a_database_from_before_the_packs_is_packed_when_it_migrates() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kith.db");
        // A v4 database with 5,000 activities (one whole block of packs), written as v4 did.
        {
            let mut conn = crate::connect(&path, true).unwrap();
            migrate_with(&mut conn, &path, &MIGRATIONS[..PACKS_VERSION as usize - 1]).unwrap();
            conn.execute_batch(
                "INSERT INTO sources (id, name, format, created_at, seq) VALUES (1, 'forum', 'jsonl', 0, 1);
                 WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000)
                 INSERT INTO activities (id, source_id, ext_id, kind, ts, identity_id, content_hash, seq)
                 SELECT i, 1, 'p' || i, 'post', 1700000000 + i, 1 + i % 13, i, 1 FROM n;
                 INSERT INTO activity_inserts (seq, first_id, last_id) VALUES (1, 1, 5000);
                 UPDATE kith_meta SET value = '1' WHERE key = 'seq';",
            )
            .unwrap();
        }
        let store = crate::SqliteStore::open(&path).unwrap();
        let packed: i64 = store
            .read("test", |c| {
                c.query_row("SELECT sum(rows) FROM activity_packs", [], |r| r.get(0))
                    .ctx("test")
            })
            .unwrap();
        assert_eq!(packed, 4_095, "block 0 (ids 1..=4095) is packed on opening");
        let (ids, mark) = store.activity_id_range().unwrap();
        let mut n = 0;
        store
            .read_activities(ids, mark, &mut |f| {
                assert_eq!(f.ts, 1_700_000_000 + f.id.0);
                n += 1;
                Ok(())
            })
            .unwrap();
        assert_eq!(n, 5_000);
    }

    #[test]
    fn a_database_from_before_topics_gets_its_posts_labels_as_topics_when_it_migrates() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kith.db");
        // A v5 database: two questions with tags (one with a duplicate and an object label),
        // a reply with tags (not a post: no topics), a post without labels, attributes that
        // are not JSON, written as v5 did.
        {
            let mut conn = crate::connect(&path, true).unwrap();
            migrate_with(&mut conn, &path, &MIGRATIONS[..TOPICS_VERSION as usize - 1]).unwrap();
            conn.execute_batch(
                r#"INSERT INTO sources (id, name, format, created_at, seq) VALUES (1, 'qa', 'stackexchange', 0, 1);
                 INSERT INTO threads (id, source_id, ext_id, seq) VALUES (1, 1, '10', 1), (2, 1, '20', 1), (3, 1, '30', 1);
                 INSERT INTO activities (id, source_id, ext_id, kind, ts, identity_id, thread_id, attrs, content_hash, seq) VALUES
                   (1, 1, '10', 'post', 1700000000, 1, 1, '{"tags":["python","csv","python"]}', 1, 1),
                   (2, 1, '11', 'reply', 1700000100, 1, 1, '{"tags":["not-a-topic"]}', 2, 1),
                   (3, 1, '20', 'post', 1700000200, 1, 2, '{"labels":[{"name":"bug"}," Help  wanted "]}', 3, 1),
                   (4, 1, '30', 'post', 1700000300, 1, 3, 'not json "tags"', 4, 1),
                   (5, 1, '40', 'post', 1700000400, 1, NULL, '{"tags":["no-thread"]}', 5, 1);
                 INSERT INTO activity_inserts (seq, first_id, last_id) VALUES (1, 1, 5);
                 UPDATE kith_meta SET value = '1' WHERE key = 'seq';"#,
            )
            .unwrap();
        }
        let store = crate::SqliteStore::open(&path).unwrap();
        let mut topics = Vec::new();
        store
            .read_entity_keys(&mut |k| {
                if let kith_store::EntityKey::Thread { id, topics: t } = k {
                    topics.push((id.0, t.to_owned()));
                }
                Ok(())
            })
            .unwrap();
        assert_eq!(
            topics,
            [
                (1, "csv\npython".to_owned()),
                (2, "Help wanted\nbug".to_owned()),
                (3, String::new())
            ]
        );
    }

    #[test]
    fn an_older_database_is_backed_up_then_migrated_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kith.db");
        {
            let store = crate::SqliteStore::open(&path).unwrap();
            store
                .set_community(&Community {
                    name: "before".into(),
                    time_zone: "UTC".into(),
                })
                .unwrap();
        }
        // A build with one more migration than this one opens the file.
        let current = MIGRATIONS.len() as u32;
        let mut conn = crate::connect(&path, true).unwrap();
        let next = "ALTER TABLE members ADD COLUMN note TEXT;";
        let newer: Vec<&str> = MIGRATIONS.iter().copied().chain([next]).collect();
        migrate_with(&mut conn, &path, &newer).unwrap();
        assert_eq!(stored_version(&conn, &path).unwrap(), Some(current + 1));
        conn.execute("UPDATE members SET note = 'x'", [])
            .expect("the v2 column exists");
        let kept: String = conn
            .query_row(
                "SELECT value FROM kith_meta WHERE key = 'community_name'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(kept, "before", "data survives the migration");

        let backup = backup_path(&path, current + 1);
        assert!(
            backup.ends_with(format!("kith.db.pre-v{}.bak", current + 1)),
            "{}",
            backup.display()
        );
        let old = Connection::open(&backup).unwrap();
        assert_eq!(
            stored_version(&old, &backup).unwrap(),
            Some(current),
            "the backup is the database before migrating"
        );

        // Opening again at the same version migrates nothing and makes no new backup.
        std::fs::remove_file(&backup).unwrap();
        migrate_with(&mut conn, &path, &newer).unwrap();
        assert!(
            !backup.exists(),
            "an up-to-date database is not backed up again"
        );
    }

    #[test]
    fn a_failed_migration_leaves_the_database_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kith.db");
        drop(crate::SqliteStore::open(&path).unwrap());
        let mut conn = crate::connect(&path, true).unwrap();
        let broken = "ALTER TABLE members ADD COLUMN note TEXT; SELECT * FROM no_such_table;";
        let current = MIGRATIONS.len() as u32;
        let newer: Vec<&str> = MIGRATIONS.iter().copied().chain([broken]).collect();
        let err = migrate_with(&mut conn, &path, &newer).unwrap_err();
        assert!(
            err.to_string()
                .contains(&format!("schema version {}", current + 1)),
            "{err}"
        );
        assert_eq!(
            stored_version(&conn, &path).unwrap(),
            Some(current),
            "the version is unchanged"
        );
        assert!(
            conn.execute("UPDATE members SET note = 'x'", []).is_err(),
            "the half migration was rolled back"
        );
    }

    #[test]
    fn a_newer_database_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kith.db");
        drop(crate::SqliteStore::open(&path).unwrap());
        let mut conn = crate::connect(&path, true).unwrap();
        let older = &MIGRATIONS[..MIGRATIONS.len() - 1];
        let err = migrate_with(&mut conn, &path, older).unwrap_err();
        match err {
            StoreError::NewerSchema {
                found, supported, ..
            } => assert_eq!(
                (found, supported),
                (MIGRATIONS.len() as u32, older.len() as u32)
            ),
            other => panic!("expected NewerSchema, got {other:?}"),
        }
    }

    #[test]
    fn a_v1_database_keeps_its_activities_and_their_changes_through_v2() {
        use kith_store::{Change, Watermark};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kith.db");
        {
            let mut conn = crate::connect(&path, true).unwrap();
            migrate_with(&mut conn, &path, &[V1]).unwrap();
            conn.execute_batch(
                "INSERT INTO sources (id, name, format, created_at, seq) VALUES (1, 'forum', 'jsonl', 0, 1);
                 INSERT INTO members (id, created_at, seq) VALUES (1, 0, 1);
                 INSERT INTO identities (id, source_id, ext_id, member_id, seq) VALUES (1, 1, 'u1', 1, 1);
                 INSERT INTO activities (id, source_id, ext_id, kind, ts, identity_id, content_hash, seq)
                   VALUES (1, 1, 'p1', 'post', 100, 1, 7, 1), (2, 1, 'p2', 'post', 200, 1, 8, 2);
                 UPDATE kith_meta SET value = '2' WHERE key = 'seq';",
            )
            .unwrap();
        }
        let store = crate::SqliteStore::open(&path).unwrap();
        let mut ids = Vec::new();
        store
            .read_changes(Watermark(0), &mut |c| {
                if let Change::Activity(a) = c {
                    ids.push(a.id.0);
                }
                Ok(())
            })
            .unwrap();
        assert_eq!(
            ids,
            vec![1, 2],
            "a reader from zero sees every stored activity"
        );
        let conn = Connection::open(&path).unwrap();
        let duplicate = conn.execute(
            "INSERT INTO activities (id, source_id, ext_id, kind, ts, identity_id, content_hash, seq)
             VALUES (3, 1, 'p1', 'post', 300, 1, 9, 3)",
            [],
        );
        assert!(duplicate.is_err(), "(source, platform id) stays unique");
    }
}
