//! The shared conformance suite, on fresh SQLite databases in temporary folders.

use std::path::Path;
use std::sync::Mutex;

use kith_store::{Store, conformance};
use kith_store_sqlite::SqliteStore;
use tempfile::TempDir;

/// Keeps every temporary folder alive until the test ends (the stores outlive the factory call).
struct Folders(Mutex<Vec<TempDir>>);

impl Folders {
    fn new_db(&self) -> std::path::PathBuf {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let path = dir.path().join("kith.db");
        self.0.lock().expect("folder list").push(dir);
        path
    }
}

fn open(path: &Path) -> Box<dyn Store> {
    Box::new(SqliteStore::open(path).unwrap_or_else(|e| panic!("opening {}: {e}", path.display())))
}

#[test]
fn sqlite_passes_the_conformance_suite() {
    let folders = Folders(Mutex::new(Vec::new()));
    conformance::run_all(&|| open(&folders.new_db()));
}

#[test]
fn sqlite_backups_open_with_the_same_data() {
    let folders = Folders(Mutex::new(Vec::new()));
    conformance::run_backup(&|| open(&folders.new_db()), &|path| open(path));
}

#[test]
fn sqlite_readers_beside_a_writer_never_skip_a_change() {
    let folders = Folders(Mutex::new(Vec::new()));
    conformance::run_concurrent(&|| {
        let path = folders.new_db();
        (open(&path), open(&path))
    });
}

#[test]
fn sqlite_passes_the_conformance_suite_with_exclusive_sessions() {
    // On an empty database these take the bulk path (rollback journal, indexes built at commit).
    let folders = Folders(Mutex::new(Vec::new()));
    conformance::run_all_exclusive(&|| open(&folders.new_db()));
}
