//! Every real sample in the shared data, imported through a real SQLite store: the first import
//! stores it, a re-import adds nothing, and a corrupted copy stops with a clear error and leaves
//! the database exactly as it was (issue: importers, acceptance).

mod support;

use std::path::{Path, PathBuf};

use kith_import::{ImportError, ImportOptions, format_by_name, import};
use kith_store::{Store, StoredAudit};
use kith_store_sqlite::SqliteStore;
use support::{copy_dir, shared_data};

fn run(
    store: &dyn Store,
    format: &str,
    path: &Path,
    source: Option<&str>,
) -> Result<StoredAudit, ImportError> {
    let format = format_by_name(format).expect("format is registered");
    let options = ImportOptions {
        source: source.map(str::to_owned),
        ..ImportOptions::default()
    };
    import(store, format, &[path.to_owned()], &options, &())
}

/// What a database holds, to compare before and after a failed import.
fn state(store: &dyn Store) -> (kith_store::Counts, Vec<String>, usize) {
    let sources = store
        .sources()
        .unwrap()
        .into_iter()
        .map(|s| format!("{}:{}:{}", s.name, s.activities, s.identities))
        .collect();
    let mut n = 0;
    store
        .export_activities(&mut |_| {
            n += 1;
            Ok(())
        })
        .unwrap();
    (store.counts().unwrap(), sources, n)
}

/// Cuts a file in the middle (of a record, for these formats).
fn truncate(path: &Path) {
    let bytes = std::fs::read(path).unwrap();
    std::fs::write(path, &bytes[..bytes.len() / 2]).unwrap();
}

/// Imports `sample` twice and a corrupted copy once, checking the three outcomes.
fn check(
    format: &str,
    sample: &Path,
    source: Option<&str>,
    corrupt: &dyn Fn(&Path) -> PathBuf,
) -> StoredAudit {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("kith.db")).unwrap();

    let first = run(&store, format, sample, source).unwrap_or_else(|e| panic!("{format}: {e}"));
    assert!(
        first.audit.imported > 0,
        "{format}: nothing imported: {:?}",
        first.audit
    );
    assert_eq!(
        first.audit.read,
        first.audit.imported + first.audit.updated + first.audit.skipped_total(),
        "{format}: every record read is imported, updated or skipped with a reason"
    );

    let stored = state(&store);
    let again = run(&store, format, sample, source).unwrap();
    assert_eq!(
        again.audit.imported, 0,
        "{format}: a re-import stores no new row: {:?}",
        again.audit
    );
    assert_eq!(
        again.audit.read, first.audit.read,
        "{format}: the re-import reads the same records"
    );
    assert_eq!(
        state(&store),
        stored,
        "{format}: a re-import leaves the same data"
    );
    if format != "github" && format != "discourse" {
        // The Perceval GitHub and Discourse fixtures hold several snapshots of the same issue or
        // post (saved at different times) in one export: within one import the later snapshot
        // updates the earlier one, so a re-import re-applies both and counts them as updated,
        // ending in the same state (checked above).
        assert_eq!(
            again.audit.updated, 0,
            "{format}: nothing changed, nothing updated: {:?}",
            again.audit
        );
    }

    let before = state(&store);
    let broken = corrupt(dir.path());
    match run(&store, format, &broken, source) {
        Err(ImportError::Malformed { file, message, .. }) => {
            assert!(
                !file.is_empty() && !message.is_empty(),
                "{format}: the error names file and problem"
            );
        }
        other => panic!("{format}: a corrupted copy must be malformed, got {other:?}"),
    }
    assert_eq!(
        state(&store),
        before,
        "{format}: a failed import leaves the database as it was"
    );
    first
}

#[test]
fn slack_export_sample() {
    let Some(sample) = shared_data("slack-export-houstondatavis") else {
        return;
    };
    let first = check("slack-export", &sample, None, &|tmp| {
        let copy = tmp.join("houstondatavis");
        copy_dir(&sample, &copy);
        truncate(&copy.join("general/2015-06-09.json"));
        copy
    });
    assert_eq!(first.audit.sources, ["houstondatavis"]);
    assert_eq!(
        first.audit.skipped.get("system message").copied(),
        Some(28),
        "{:?}",
        first.audit.skipped
    );
}

#[test]
fn stackexchange_sample() {
    let Some(sample) = shared_data("stackexchange-history-meta") else {
        return;
    };
    let first = check("stackexchange", &sample, Some("history.meta"), &|tmp| {
        let copy = tmp.join("history-meta-cut");
        copy_dir(&sample, &copy);
        truncate(&copy.join("Posts.xml"));
        copy
    });
    // 556 questions + 1,095 answers + 3,454 comments + 181 solutions + 2,295 joins + 6 wiki edits.
    assert_eq!(first.audit.imported, 556 + 1_095 + 3_454 + 181 + 2_295 + 6);
}

#[test]
fn mbox_sample() {
    let Some(sample) = shared_data("mbox-r-package-devel") else {
        return;
    };
    let first = check("mbox", &sample, None, &|tmp| {
        let cut = tmp.join("2015q2.txt");
        let mut bytes = b"this is not an mbox archive: no envelope line comes first\n".to_vec();
        bytes.extend(std::fs::read(sample.join("2015q2.txt")).unwrap());
        std::fs::write(&cut, bytes).unwrap();
        cut
    });
    assert_eq!((first.audit.read, first.audit.imported), (11_114, 11_111));
    assert_eq!(first.audit.skipped.get("duplicate").copied(), Some(3));
}

#[test]
fn discourse_sample() {
    let Some(sample) = shared_data("api-fixtures-perceval/discourse") else {
        return;
    };
    check(
        "discourse",
        &sample,
        Some("discourse.example.org"),
        &|tmp| {
            let copy = tmp.join("discourse");
            copy_dir(&sample, &copy);
            truncate(&copy.join("discourse_topic_1148.json"));
            copy
        },
    );
}

#[test]
fn github_sample() {
    let Some(sample) = shared_data("api-fixtures-perceval/github") else {
        return;
    };
    check("github", &sample, Some("perceval"), &|tmp| {
        let copy = tmp.join("github");
        copy_dir(&sample, &copy);
        truncate(&copy.join("github_issue_comments_1"));
        copy
    });
}
