//! The canonical schema (docs/data-model.md) in PostgreSQL, as an ordered list of migrations.
//!
//! Version N of the schema is the first N scripts applied in order; `kith_meta.schema_version`
//! records how many ran. Migrating takes a transaction-scoped advisory lock, so two kith
//! processes starting together against an empty database do not both create it.
//!
//! Types keep reference SQL portable across SQLite, DuckDB and PostgreSQL: times are `BIGINT`
//! epoch seconds, booleans are `SMALLINT` 0/1, JSON is `TEXT`.

use std::collections::BTreeMap;

use kith_store::{StoreError, StoreResult};
use postgres::{Client, Transaction};

use crate::{col, db_err};

/// Migrations in order; the schema version is how many have been applied.
pub(crate) const MIGRATIONS: &[&str] = &[V1, V2, V3, V4, V5, V6];

const _: () = assert!(MIGRATIONS.len() == kith_store::SCHEMA_VERSION as usize);

/// The schema version this build writes.
pub(crate) fn current_version() -> u32 {
    MIGRATIONS.len() as u32
}

/// Any constant unique to kith: the key of the advisory lock that serialises migrations.
const MIGRATION_LOCK: i64 = 0x6b69_7468_5f6d_6967; // "kith_mig"

/// v2 changed how the SQLite backend follows activity changes; PostgreSQL's change stream
/// (transaction ids) needs nothing new. The version stays shared by both backends.
const V2: &str = "SELECT 1;";

/// v5 gave the SQLite backend its read packs (`activity_packs`, a cache of the analytic
/// columns by blocks of ids); PostgreSQL reads its rows by `COPY` and needs nothing new.
const V5: &str = "SELECT 1;";

/// v6: thread topics (`kith_store::topics_of`): the labels a thread's opening post carries on
/// its platform (Stack Exchange tags, Discourse tags, GitHub labels), one row each, written by
/// the import sessions; a change moves the thread's `seq`. Filled from the stored activities
/// once, after the script, when an existing database is migrated ([`backfill_topics`]).
const V6: &str = r#"
CREATE TABLE thread_topics (
    thread_id BIGINT NOT NULL REFERENCES threads (id),
    topic     TEXT NOT NULL,
    PRIMARY KEY (thread_id, topic)
);
"#;

/// The schema version that brought thread topics: a migration from before it fills them.
const TOPICS_VERSION: usize = 6;

/// Posts whose attributes may hold labels, in id order, read by [`backfill_topics`] a chunk at
/// a time. The same filter as the SQLite backend's, on the same JSON text.
const LABELLED_POSTS: &str = "
SELECT thread_id, attrs FROM activities
 WHERE kind = 'post' AND thread_id IS NOT NULL
   AND (strpos(attrs, '\"tags\"') > 0 OR strpos(attrs, '\"topic_tags\"') > 0 OR strpos(attrs, '\"labels\"') > 0)
 ORDER BY id";

/// Rows of [`LABELLED_POSTS`] read at a time.
const BACKFILL_CHUNK: i32 = 10_000;

/// Thread topics of the posts stored before schema v6, as the import sessions write them: every
/// post in a thread whose attributes may hold labels, in id order, replaces its thread's topics
/// with its own (`kith_store::topics_of_attrs`; a later post of the same thread wins). Change
/// numbers stay (as in the SQLite backend).
fn backfill_topics(tx: &mut Transaction<'_>) -> StoreResult<()> {
    let what = "filling thread topics from the stored posts";
    let posts = tx.bind(LABELLED_POSTS, &[]).map_err(|e| db_err(what, e))?;
    loop {
        let rows = tx
            .query_portal(&posts, BACKFILL_CHUNK)
            .map_err(|e| db_err(what, e))?;
        if rows.is_empty() {
            return Ok(());
        }
        // Within a chunk only each thread's last post counts: it replaces what came before.
        let mut last: BTreeMap<i64, Vec<String>> = BTreeMap::new();
        for row in &rows {
            let thread: i64 = col(row, "thread_id")?;
            let attrs: String = col(row, "attrs")?;
            let Ok(attrs) = serde_json::from_str(&attrs) else {
                continue;
            };
            last.insert(thread, kith_store::topics_of_attrs(&attrs));
        }
        crate::ingest::replace_topics(tx, &last, None)?;
    }
}

/// v4: what kith-text read from each message (`kith_store::TextScores`), written by the scoring
/// pass beside the import, followed by the change stream through `seq` (the writing
/// transaction's id). `activity_seq` is the activity's `seq` when its text was read: a row
/// whose activity has moved on is stale.
const V4: &str = r#"
CREATE TABLE text_scores (
    activity_id   BIGINT PRIMARY KEY,
    activity_seq  BIGINT NOT NULL,
    model_version INTEGER NOT NULL,
    language      TEXT NOT NULL,
    scored        SMALLINT NOT NULL,
    sentiment     SMALLINT NOT NULL,
    confidence    SMALLINT NOT NULL,
    hostility     SMALLINT NOT NULL,
    hostile       SMALLINT NOT NULL,
    intents       INTEGER NOT NULL,
    seq           BIGINT NOT NULL
);
CREATE INDEX text_scores_seq ON text_scores (seq);
"#;

const V1: &str = r#"
CREATE TABLE sources (
    id          BIGSERIAL PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    format      TEXT NOT NULL,
    base_url    TEXT,
    created_at  BIGINT NOT NULL,
    seq         BIGINT NOT NULL
);
CREATE TABLE channels (
    id          BIGSERIAL PRIMARY KEY,
    source_id   BIGINT NOT NULL REFERENCES sources (id),
    ext_id      TEXT NOT NULL,
    seq         BIGINT NOT NULL,
    UNIQUE (source_id, ext_id)
);
CREATE TABLE threads (
    id          BIGSERIAL PRIMARY KEY,
    source_id   BIGINT NOT NULL REFERENCES sources (id),
    ext_id      TEXT NOT NULL,
    inferred    SMALLINT NOT NULL DEFAULT 0,
    seq         BIGINT NOT NULL,
    UNIQUE (source_id, ext_id)
);
CREATE TABLE members (
    id           BIGSERIAL PRIMARY KEY,
    display_name TEXT,
    team         SMALLINT NOT NULL DEFAULT 0,
    team_since   BIGINT,
    bot          SMALLINT NOT NULL DEFAULT 0,
    anonymous    SMALLINT NOT NULL DEFAULT 0,
    merged_into  BIGINT,
    created_at   BIGINT NOT NULL,
    seq          BIGINT NOT NULL
);
CREATE TABLE identities (
    id          BIGSERIAL PRIMARY KEY,
    source_id   BIGINT NOT NULL REFERENCES sources (id),
    ext_id      TEXT NOT NULL,
    name        TEXT,
    handle      TEXT,
    email       TEXT,
    member_id   BIGINT NOT NULL REFERENCES members (id),
    anonymous   SMALLINT NOT NULL DEFAULT 0,
    team        SMALLINT NOT NULL DEFAULT 0,
    bot         SMALLINT NOT NULL DEFAULT 0,
    seq         BIGINT NOT NULL,
    UNIQUE (source_id, ext_id)
);
CREATE INDEX identities_member ON identities (member_id);
CREATE TABLE affiliations (
    id           BIGSERIAL PRIMARY KEY,
    member_id    BIGINT NOT NULL REFERENCES members (id),
    organisation TEXT NOT NULL,
    since        BIGINT,
    until        BIGINT
);
CREATE INDEX affiliations_member ON affiliations (member_id);
-- No foreign keys on activities: the ingest resolves every id itself inside its transaction and
-- source removal deletes children explicitly, while per-row FK triggers cost ~40% of COPY ingest.
CREATE TABLE activities (
    id           BIGSERIAL PRIMARY KEY,
    source_id    BIGINT NOT NULL,
    ext_id       TEXT NOT NULL,
    kind         TEXT NOT NULL,
    ts           BIGINT NOT NULL,
    ts_micros    INTEGER NOT NULL DEFAULT 0,
    ts_offset    INTEGER NOT NULL DEFAULT 0,
    identity_id  BIGINT NOT NULL,
    channel_id   BIGINT,
    thread_id    BIGINT,
    reply_to_ext TEXT,
    reply_to_id  BIGINT,
    to_ext       TEXT,
    text         TEXT,
    url          TEXT,
    attrs        TEXT,
    content_hash BIGINT NOT NULL,
    deleted      SMALLINT NOT NULL DEFAULT 0,
    seq          BIGINT NOT NULL,
    UNIQUE (source_id, ext_id)
);
-- Replies whose target has not arrived yet: looked up when a batch brings new activities.
CREATE INDEX activities_unresolved ON activities (source_id, reply_to_ext)
    WHERE reply_to_id IS NULL AND reply_to_ext IS NOT NULL;
CREATE TABLE merges (
    id          BIGSERIAL PRIMARY KEY,
    at          BIGINT NOT NULL,
    into_member BIGINT NOT NULL,
    from_member BIGINT NOT NULL,
    identities  TEXT NOT NULL,
    reason      TEXT NOT NULL,
    score       DOUBLE PRECISION NOT NULL,
    actor       TEXT NOT NULL,
    undone_at   BIGINT,
    undone_by   TEXT
);
CREATE TABLE audits (
    id              BIGSERIAL PRIMARY KEY,
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
-- The change feed reads every table by seq.
CREATE INDEX sources_seq ON sources (seq);
CREATE INDEX channels_seq ON channels (seq);
CREATE INDEX threads_seq ON threads (seq);
CREATE INDEX members_seq ON members (seq);
CREATE INDEX identities_seq ON identities (seq);
CREATE INDEX activities_seq ON activities (seq);
CREATE INDEX tombstones_seq ON tombstones (seq);
"#;

/// v3: the team's own data (accounts, sessions, API tokens, notes, tags, tasks, segments), the
/// same tables as the SQLite backend's v2. Outside the change sequence: analytics never reads it.
const V3: &str = r#"
CREATE TABLE users (
    id            BIGSERIAL PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    disabled      SMALLINT NOT NULL DEFAULT 0
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
    id          BIGSERIAL PRIMARY KEY,
    user_id     BIGINT NOT NULL REFERENCES users (id),
    name        TEXT NOT NULL,
    token_hash  TEXT NOT NULL UNIQUE,
    scopes      TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    revoked_at  BIGINT
);
CREATE TABLE member_notes (
    id          BIGSERIAL PRIMARY KEY,
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
    id          BIGSERIAL PRIMARY KEY,
    member_id   BIGINT NOT NULL REFERENCES members (id),
    title       TEXT NOT NULL,
    due         BIGINT,
    created_by  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    done_at     BIGINT
);
CREATE INDEX member_tasks_member ON member_tasks (member_id);
CREATE TABLE segments (
    id          BIGSERIAL PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    filter      TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
"#;

/// Creates or migrates the schema; refuses a database written by a newer kith.
pub(crate) fn migrate(client: &mut Client, location: &str) -> StoreResult<u32> {
    let mut tx = client
        .transaction()
        .map_err(|e| db_err("starting the schema migration", e))?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .map_err(|e| db_err("waiting for the schema migration lock", e))?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS kith_meta (key TEXT PRIMARY KEY, value TEXT)")
        .map_err(|e| db_err("creating kith_meta", e))?;
    let found: Option<String> = tx
        .query_opt(
            "SELECT value FROM kith_meta WHERE key = 'schema_version'",
            &[],
        )
        .map_err(|e| db_err("reading the schema version", e))?
        .map(|row| row.try_get(0))
        .transpose()
        .map_err(|e| db_err("reading the schema version", e))?
        .flatten();
    let found: u32 = match found {
        None => 0,
        Some(text) => text.trim().parse().map_err(|_| {
            StoreError::backend(
                "reading the schema version",
                format!("kith_meta.schema_version is `{text}`, not a number"),
            )
        })?,
    };
    let supported = current_version();
    if found > supported {
        return Err(StoreError::NewerSchema {
            location: location.to_owned(),
            found,
            supported,
        });
    }
    for (i, script) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let version = i + 1;
        tx.batch_execute(script)
            .map_err(|e| db_err(format!("migrating the schema to version {version}"), e))?;
        if version == TOPICS_VERSION && found > 0 {
            backfill_topics(&mut tx)?;
        }
    }
    if found < supported {
        tx.execute(
            "INSERT INTO kith_meta (key, value) VALUES ('schema_version', $1)
             ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
            &[&supported.to_string()],
        )
        .map_err(|e| db_err("recording the schema version", e))?;
    }
    tx.commit()
        .map_err(|e| db_err("committing the schema migration", e))?;
    Ok(supported)
}
