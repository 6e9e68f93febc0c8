//! What only the SQLite backend promises: opening, schema versions, backup files, restore,
//! reads beside a running import.

use std::path::Path;

use kith_model::{Activity, Author, Kind, Timestamp};
use kith_store::{ImportAudit, Store, StoreError};
use kith_store_sqlite::{SqliteStore, restore};

fn activities(n: usize) -> Vec<Activity> {
    (0..n)
        .map(|i| {
            let mut a = Activity::new(
                "forum",
                format!("p{i}"),
                Kind::Post,
                Timestamp::from_secs(1_700_000_000 + i as i64),
                Some(Author::new(format!("u{}", i % 7))),
            );
            a.text = Some(format!("post {i}"));
            a
        })
        .collect()
}

fn import(store: &dyn Store, batch: &[Activity]) {
    let mut session = store.ingest().unwrap();
    session.ensure_source("forum", "jsonl").unwrap();
    session.write(batch).unwrap();
    session
        .commit(&ImportAudit::new("jsonl", vec![], 0))
        .unwrap();
}

fn assert_unreachable_naming(err: StoreError, path: &Path, words: &str) {
    match &err {
        StoreError::Unreachable { location, detail } => {
            assert_eq!(
                location,
                &path.display().to_string(),
                "the error names the file"
            );
            assert!(detail.contains(words), "`{detail}` should say `{words}`");
        }
        other => panic!("expected Unreachable, got {other:?}"),
    }
    assert!(err.is_unavailable());
}

#[test]
fn open_creates_a_missing_file_in_wal_mode() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.db");
    let store = SqliteStore::open(&path).unwrap();
    assert!(path.exists());
    let conn = rusqlite::Connection::open(&path).unwrap();
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let page: i64 = conn
        .query_row("PRAGMA page_size", [], |r| r.get(0))
        .unwrap();
    assert_eq!(page, 16_384, "a new database has 16 KiB pages");
    let info = store.describe();
    assert_eq!(info.location, path.display().to_string());
    assert_eq!(info.schema_version, kith_store::SCHEMA_VERSION);
}

#[test]
fn a_file_that_is_not_a_database_is_unreachable_with_advice() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.txt");
    std::fs::write(
        &path,
        "these are not the pages you are looking for".repeat(100),
    )
    .unwrap();
    assert_unreachable_naming(
        SqliteStore::open(&path).unwrap_err(),
        &path,
        "not a SQLite database",
    );
}

#[test]
fn a_foreign_sqlite_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("other.db");
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute_batch("CREATE TABLE songs (title TEXT)")
        .unwrap();
    assert_unreachable_naming(
        SqliteStore::open(&path).unwrap_err(),
        &path,
        "not a kith database",
    );
}

#[test]
fn a_folder_or_a_missing_folder_is_unreachable() {
    let dir = tempfile::tempdir().unwrap();
    assert_unreachable_naming(
        SqliteStore::open(dir.path()).unwrap_err(),
        dir.path(),
        "folder",
    );
    let missing = dir.path().join("no/such/dir/kith.db");
    assert!(matches!(
        SqliteStore::open(&missing).unwrap_err(),
        StoreError::Unreachable { .. }
    ));
}

#[test]
fn a_database_from_a_newer_kith_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kith.db");
    drop(SqliteStore::open(&path).unwrap());
    let newer = kith_store::SCHEMA_VERSION + 1;
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute(
            "UPDATE kith_meta SET value = ?1 WHERE key = 'schema_version'",
            [newer.to_string()],
        )
        .unwrap();
    match SqliteStore::open(&path).unwrap_err() {
        StoreError::NewerSchema {
            location,
            found,
            supported,
        } => {
            assert_eq!((found, supported), (newer, kith_store::SCHEMA_VERSION));
            assert_eq!(location, path.display().to_string());
        }
        other => panic!("expected NewerSchema, got {other:?}"),
    }
}

#[test]
fn reads_proceed_during_an_import_and_see_only_committed_data() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("kith.db")).unwrap();
    import(&store, &activities(10));
    let mut session = store.ingest().unwrap();
    session.ensure_source("forum", "jsonl").unwrap();
    let more: Vec<Activity> = activities(30).into_iter().skip(10).collect();
    session.write(&more).unwrap();
    assert_eq!(
        store.counts().unwrap().activities,
        10,
        "readers do not wait and do not see uncommitted rows"
    );
    // A second handle (as another process would) reads too.
    let other = SqliteStore::open(store.path()).unwrap();
    assert_eq!(other.counts().unwrap().activities, 10);
    session
        .commit(&ImportAudit::new("jsonl", vec![], 0))
        .unwrap();
    assert_eq!(store.counts().unwrap().activities, 30);
    assert_eq!(other.counts().unwrap().activities, 30);
}

#[test]
fn a_second_handle_waits_for_the_writer_then_writes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kith.db");
    let a = SqliteStore::open(&path).unwrap();
    let b = SqliteStore::open(&path).unwrap();
    std::thread::scope(|s| {
        let mut session = a.ingest().unwrap();
        session.ensure_source("forum", "jsonl").unwrap();
        session.write(&activities(5)).unwrap();
        let waiting = s.spawn(|| {
            let mut session = b.ingest().expect("the second writer waits for the lock");
            session.ensure_source("chat", "jsonl").unwrap();
            session
                .commit(&ImportAudit::new("jsonl", vec![], 0))
                .unwrap();
        });
        std::thread::sleep(std::time::Duration::from_millis(200));
        session
            .commit(&ImportAudit::new("jsonl", vec![], 0))
            .unwrap();
        waiting.join().unwrap();
    });
    assert_eq!(a.sources().unwrap().len(), 2);
}

#[test]
fn backup_refuses_the_live_file_and_restore_replaces_atomically() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kith.db");
    let store = SqliteStore::open(&path).unwrap();
    import(&store, &activities(40));
    assert!(
        matches!(store.backup(&path).unwrap_err(), StoreError::Invalid(_)),
        "the live file is not a backup target"
    );
    let wal = dir.path().join("kith.db-wal");
    assert!(matches!(
        store.backup(&wal).unwrap_err(),
        StoreError::Invalid(_)
    ));

    let backup = dir.path().join("kith.backup");
    store.backup(&backup).unwrap();
    // Restore over an existing database that has a stale WAL beside it.
    let dest = dir.path().join("restored.db");
    {
        let other = SqliteStore::open(&dest).unwrap();
        import(&other, &activities(3));
    }
    std::fs::write(dir.path().join("restored.db-wal"), b"stale").unwrap();
    restore(&backup, &dest).unwrap();
    let restored = SqliteStore::open(&dest).unwrap();
    assert_eq!(restored.counts().unwrap(), store.counts().unwrap());
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp-"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "no temporary files are left behind: {leftovers:?}"
    );
}

#[test]
fn restore_refuses_what_is_not_a_kith_backup() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.bak");
    std::fs::write(&junk, vec![7u8; 8192]).unwrap();
    let dest = dir.path().join("kith.db");
    assert_unreachable_naming(
        restore(&junk, &dest).unwrap_err(),
        &junk,
        "not a SQLite database",
    );
    let missing = dir.path().join("missing.bak");
    assert!(matches!(
        restore(&missing, &dest).unwrap_err(),
        StoreError::Unreachable { .. }
    ));
    let foreign = dir.path().join("foreign.db");
    rusqlite::Connection::open(&foreign)
        .unwrap()
        .execute_batch("CREATE TABLE t (x)")
        .unwrap();
    assert_unreachable_naming(
        restore(&foreign, &dest).unwrap_err(),
        &foreign,
        "not a kith database",
    );
    assert!(!dest.exists(), "a refused restore writes nothing");
}

/// The schema as SQLite records it (every table and index definition), and the journal mode.
fn schema_of(path: &Path) -> (Vec<(String, Option<String>)>, String) {
    let c = rusqlite::Connection::open(path).unwrap();
    let mut stmt = c
        .prepare("SELECT name, sql FROM sqlite_master ORDER BY name")
        .unwrap();
    let rows = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let mode = c
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    (rows, mode)
}

fn import_exclusive(store: &dyn Store, batch: &[Activity]) {
    let mut session = store.ingest_exclusive().unwrap();
    session.ensure_source("forum", "jsonl").unwrap();
    session.write(batch).unwrap();
    session
        .commit(&ImportAudit::new("jsonl", vec![], 0))
        .unwrap();
}

#[test]
fn a_first_exclusive_import_ends_with_the_same_schema_in_wal_mode() {
    let dir = tempfile::tempdir().unwrap();
    let (bulk, plain) = (dir.path().join("bulk.db"), dir.path().join("plain.db"));
    let batch = activities(500);
    {
        let store = SqliteStore::open(&bulk).unwrap();
        let mut session = store.ingest_exclusive().unwrap();
        session.ensure_source("forum", "jsonl").unwrap();
        session.write(&batch).unwrap();
        assert_eq!(
            schema_of(&bulk).1,
            "delete",
            "the load writes through a rollback journal"
        );
        session
            .commit(&ImportAudit::new("jsonl", vec![], 0))
            .unwrap();
    }
    import(&SqliteStore::open(&plain).unwrap(), &batch);
    let (bulk_schema, bulk_mode) = schema_of(&bulk);
    assert_eq!(
        bulk_schema,
        schema_of(&plain).0,
        "the indexes left out during the load are built again, with the same definitions"
    );
    assert_eq!(bulk_mode, "wal", "the file is back in WAL mode");
    let store = SqliteStore::open(&bulk).unwrap();
    assert_eq!(store.counts().unwrap().activities, 500);
    // A later exclusive import into the now non-empty database is an ordinary one.
    import_exclusive(&store, &activities(600));
    assert_eq!(store.counts().unwrap().activities, 600);
    assert_eq!(schema_of(&bulk), (bulk_schema, "wal".into()));
}

#[test]
fn a_rolled_back_exclusive_import_leaves_the_empty_database_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kith.db");
    let store = SqliteStore::open(&path).unwrap();
    let before = schema_of(&path);
    {
        let mut session = store.ingest_exclusive().unwrap();
        session.ensure_source("forum", "jsonl").unwrap();
        session.write(&activities(300)).unwrap();
        session.rollback().unwrap();
    }
    assert_eq!(schema_of(&path), before);
    {
        let mut session = store.ingest_exclusive().unwrap();
        session.ensure_source("forum", "jsonl").unwrap();
        session.write(&activities(300)).unwrap();
        // Dropped without a word: rolled back too.
    }
    assert_eq!(schema_of(&path), before);
    assert_eq!(store.counts().unwrap().activities, 0);
}

#[test]
fn an_exclusive_import_beside_another_open_connection_shares_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kith.db");
    let store = SqliteStore::open(&path).unwrap();
    // Another process's reader (a running `kith serve`): the import must neither wait for it
    // nor lock it out.
    let other = SqliteStore::open(&path).unwrap();
    assert_eq!(other.counts().unwrap().activities, 0);
    let started = std::time::Instant::now();
    let mut session = store.ingest_exclusive().unwrap();
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
    session.ensure_source("forum", "jsonl").unwrap();
    session.write(&activities(200)).unwrap();
    assert_eq!(
        other.counts().unwrap().activities,
        0,
        "the other connection reads the last committed state while the import runs"
    );
    session
        .commit(&ImportAudit::new("jsonl", vec![], 0))
        .unwrap();
    assert_eq!(other.counts().unwrap().activities, 200);
    assert_eq!(schema_of(&path).1, "wal");
}
