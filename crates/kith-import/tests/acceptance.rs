//! The importers issue's acceptance items for every format, through a real SQLite store, on
//! inputs that hold bad records: the audit lists each bad record with its file and line (git:
//! its SHA, commits have no lines), a re-import adds and changes nothing, and a corrupted copy
//! stops with a malformed-input error naming the file and leaves the database as it was.
//! (`real_store.rs` does the same on the real samples of the shared data.)

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use kith_import::{ImportError, ImportOptions, format_by_name, import};
use kith_store::{Problem, Store, StoredAudit};
use kith_store_sqlite::SqliteStore;
use support::{copy_dir, fixture};

fn run(store: &dyn Store, format: &str, path: &Path) -> Result<StoredAudit, ImportError> {
    let format = format_by_name(format).expect("format is registered");
    import(
        store,
        format,
        &[path.to_owned()],
        &ImportOptions::default(),
        &(),
    )
}

/// What a database holds, to compare before and after.
fn state(store: &dyn Store) -> (kith_store::Counts, Vec<String>, Vec<String>) {
    let sources = store
        .sources()
        .unwrap()
        .into_iter()
        .map(|s| format!("{}:{}:{}", s.name, s.activities, s.identities))
        .collect();
    let mut lines = Vec::new();
    store
        .export_activities(&mut |a| {
            lines.push(kith_model::jsonl::to_line(&a.activity, Some(&a.derived)));
            Ok(())
        })
        .unwrap();
    (store.counts().unwrap(), sources, lines)
}

/// One bad record the audit must list: the end of its file name, its line, its reason.
struct Bad<'a> {
    file: &'a str,
    line: u64,
    reason: &'a str,
}

/// Updates a re-import makes: none, unless the export itself holds two versions of a record
/// (then the older one, read first, replaces the stored later one and the later one is put
/// back: two updates per such record, the same final state).
const NO_UPDATES: u64 = 0;

/// Imports `input`, checks the audit lists `bad`, re-imports (nothing new, nothing changed),
/// then imports `corrupted` (malformed, database unchanged). Returns the first audit.
fn accept(
    format: &str,
    input: &Path,
    bad: Bad<'_>,
    reimport_updates: u64,
    corrupted: &Path,
) -> StoredAudit {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("kith.db")).unwrap();

    let first = run(&store, format, input).unwrap_or_else(|e| panic!("{format}: {e}"));
    let a = &first.audit;
    assert!(a.imported > 0, "{format}: nothing imported: {a:?}");
    assert_eq!(
        a.read,
        a.imported + a.updated + a.skipped_total(),
        "{format}: every record read is imported, updated or skipped"
    );
    let listed = |p: &Problem| p.file.ends_with(bad.file) && p.line == bad.line;
    assert!(
        a.problems
            .iter()
            .any(|p| listed(p) && p.reason == bad.reason),
        "{format}: the audit lists the bad record at {} line {} ({}): {:#?}",
        bad.file,
        bad.line,
        bad.reason,
        a.problems
    );
    assert!(
        a.skipped.get(bad.reason).copied().unwrap_or(0) > 0,
        "{format}: counted under its reason: {:?}",
        a.skipped
    );
    // The stored audit is the one returned.
    let stored_audit = store.audits(None, 10).unwrap();
    assert!(
        stored_audit
            .iter()
            .any(|s| s.id == first.id && s.audit.problems == a.problems),
        "{format}: the audit is stored with its problems"
    );

    let stored = state(&store);
    let again = run(&store, format, input).unwrap();
    assert_eq!(
        (again.audit.imported, again.audit.updated),
        (0, reimport_updates),
        "{format}: a re-import adds nothing and changes nothing: {:?}",
        again.audit
    );
    assert_eq!(again.audit.read, a.read);
    assert_eq!(state(&store), stored, "{format}: same data after re-import");

    match run(&store, format, corrupted) {
        Err(ImportError::Malformed { file, message, .. }) => {
            assert!(
                !file.is_empty() && !message.is_empty(),
                "{format}: names the file and the problem"
            );
        }
        other => panic!("{format}: a corrupted copy must be malformed, got {other:?}"),
    }
    assert_eq!(
        state(&store),
        stored,
        "{format}: a failed import leaves the database as it was"
    );
    first
}

/// A copy of the fixture folder `from` in `tmp` with `file` cut in half (inside a record).
fn cut_copy(from: &Path, tmp: &Path, file: &str) -> PathBuf {
    let copy = tmp.join(from.file_name().unwrap());
    copy_dir(from, &copy);
    let path = copy.join(file);
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    copy
}

#[test]
fn slack_export() {
    let tmp = tempfile::tempdir().unwrap();
    let export = fixture("slack-export/Acme Slack export Jan 1 2024 - Jan 31 2024");
    let broken = cut_copy(&export, tmp.path(), "general/2024-01-02.json");
    // random/2024-01-05.json line 3: `"ts": "yesterday"`.
    let bad = Bad {
        file: "random/2024-01-05.json",
        line: 3,
        reason: "invalid record",
    };
    accept("slack-export", &export, bad, NO_UPDATES, &broken);
}

#[test]
fn discord() {
    let tmp = tempfile::tempdir().unwrap();
    let export = fixture("discord");
    let broken = cut_copy(
        &export,
        tmp.path(),
        "Acme Guild - Text Channels - general [300].json",
    );
    // Line 19 of the general channel: a message without `timestamp`.
    let bad = Bad {
        file: "general [300].json",
        line: 19,
        reason: "invalid record",
    };
    accept("discord", &export, bad, NO_UPDATES, &broken);
}

#[test]
fn telegram() {
    let tmp = tempfile::tempdir().unwrap();
    let export = fixture("telegram/single");
    let broken = cut_copy(&export, tmp.path(), "result.json");
    // Line 17: a message without a valid date.
    let bad = Bad {
        file: "single/result.json",
        line: 17,
        reason: "invalid record",
    };
    accept("telegram", &export, bad, NO_UPDATES, &broken);
}

#[test]
fn stackexchange() {
    let tmp = tempfile::tempdir().unwrap();
    let dump = fixture("stackexchange/example.stackexchange.com");
    let broken = cut_copy(&dump, tmp.path(), "Posts.xml");
    // Posts.xml line 11: row 17, whose CreationDate is not a date.
    let bad = Bad {
        file: "Posts.xml",
        line: 11,
        reason: "invalid record",
    };
    accept("stackexchange", &dump, bad, NO_UPDATES, &broken);
}

#[test]
fn github() {
    let tmp = tempfile::tempdir().unwrap();
    let folder = fixture("github/acme-widgets");
    let broken = cut_copy(&folder, tmp.path(), "issues-1.json");
    // reviews.json line 24: a pending review (not submitted: nobody has seen it).
    let bad = Bad {
        file: "reviews.json",
        line: 24,
        reason: "pending review",
    };
    // Issue #1 is in the fixture twice, saved before and after an edit (issues-1.json,
    // issues-2.json): see `NO_UPDATES`.
    accept("github", &folder, bad, 2, &broken);
}

#[test]
fn discourse() {
    let tmp = tempfile::tempdir().unwrap();
    let forum = tmp.path().join("forum.example.org");
    copy_dir(&fixture("discourse/forum.example.org"), &forum);
    // A topic whose second post has no `created_at`: the post starts on line 5.
    std::fs::write(
        forum.join("t/103.json"),
        "{\"id\": 103, \"title\": \"Broken post\",\n\
         \"post_stream\": {\"stream\": [3001, 3002],\n\
         \"posts\": [\n\
         {\"id\": 3001, \"username\": \"bo\", \"created_at\": \"2024-04-02T12:00:00Z\", \"post_number\": 1, \"cooked\": \"<p>Hi</p>\", \"topic_id\": 103},\n\
         {\"id\": 3002, \"username\": \"sam\", \"post_number\": 2, \"cooked\": \"<p>When?</p>\", \"topic_id\": 103}\n\
         ]}}\n",
    )
    .unwrap();
    let broken = cut_copy(&forum, &tmp.path().join("cut"), "t/101.json");
    let bad = Bad {
        file: "t/103.json",
        line: 5,
        reason: "invalid record",
    };
    accept("discourse", &forum, bad, NO_UPDATES, &broken);
}

#[test]
fn mbox() {
    let tmp = tempfile::tempdir().unwrap();
    let list = tmp.path().join("example-list");
    copy_dir(&fixture("mbox/example-list"), &list);
    // The second message (its envelope on line 8) has no Date header.
    std::fs::write(
        list.join("2015-August.txt"),
        "From ada at example.org  Mon Aug  3 09:00:00 2015\n\
         From: ada at example.org (Ada)\n\
         Date: Mon, 3 Aug 2015 09:00:00 +0000\n\
         Subject: [ex] Dated\n\
         Message-ID: <dated@example.org>\n\
         \n\
         Fine.\n\
         From ada at example.org  Mon Aug  3 10:00:00 2015\n\
         From: ada at example.org (Ada)\n\
         Subject: [ex] Undated\n\
         Message-ID: <undated@example.org>\n\
         \n\
         No date.\n",
    )
    .unwrap();
    let broken = tmp.path().join("cut.txt");
    let text = std::fs::read(list.join("2015-June.txt")).unwrap();
    // Cut inside the headers of the first message.
    std::fs::write(&broken, &text[..80]).unwrap();
    let bad = Bad {
        file: "2015-August.txt",
        line: 8,
        reason: "no date",
    };
    accept("mbox", &list, bad, NO_UPDATES, &broken);
}

#[test]
fn jsonl() {
    let tmp = tempfile::tempdir().unwrap();
    let good =
        std::fs::read_to_string(support::crate_dir().join("../../docs/formats/example.jsonl"))
            .unwrap();
    let path = tmp.path().join("activities.jsonl");
    // Line 2 is JSON but no activity (no `kind`).
    let mut lines: Vec<&str> = good.lines().collect();
    lines.insert(
        1,
        r#"{"v":1,"source":"forum","id":"x-1","ts":"2024-03-04T08:00:00Z"}"#,
    );
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let broken = tmp.path().join("broken.jsonl");
    std::fs::write(&broken, format!("{}\n{{\"v\":1,\"sou\n", lines[0])).unwrap();
    let bad = Bad {
        file: "activities.jsonl",
        line: 2,
        reason: "invalid record",
    };
    accept("jsonl", &path, bad, NO_UPDATES, &broken);
}

fn git(dir: &Path, args: &[&str], input: Option<&[u8]>) -> String {
    use std::io::Write;
    let mut child = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "Jane Doe")
        .env("GIT_AUTHOR_EMAIL", "jane@example.org")
        .env("GIT_COMMITTER_NAME", "Jane Doe")
        .env("GIT_COMMITTER_EMAIL", "jane@example.org")
        .env("GIT_AUTHOR_DATE", "2024-03-01T10:00:00Z")
        .env("GIT_COMMITTER_DATE", "2024-03-01T10:00:00Z")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input.unwrap_or_default()).unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "git {args:?}");
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

#[test]
fn git_repository() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("widgets");
    std::fs::create_dir_all(&repo).unwrap();
    git(&repo, &["init", "-q", "-b", "main"], None);
    git(
        &repo,
        &["commit", "-q", "--allow-empty", "-m", "First"],
        None,
    );
    git(
        &repo,
        &[
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            "Second\n\nCo-authored-by: Carol <carol@example.org>",
        ],
        None,
    );
    // A commit whose author date is unreadable, on a branch of its own.
    let tree = git(
        &repo,
        &["hash-object", "-t", "tree", "-w", "--stdin"],
        Some(b""),
    );
    let object = format!(
        "tree {tree}\nauthor Jane Doe <jane@example.org> someday +0000\ncommitter Jane Doe <jane@example.org> 1709287200 +0000\n\nUndated\n"
    );
    let bad_sha = git(
        &repo,
        &[
            "hash-object",
            "-t",
            "commit",
            "--literally",
            "-w",
            "--stdin",
        ],
        Some(object.as_bytes()),
    );
    git(&repo, &["update-ref", "refs/heads/undated", &bad_sha], None);

    // The corrupted copy: the object of the tip commit overwritten with garbage.
    let broken = tmp.path().join("broken");
    copy_dir(&repo, &broken);
    let head = git(&broken, &["rev-parse", "HEAD"], None);
    let object = broken
        .join(".git/objects")
        .join(&head[..2])
        .join(&head[2..]);
    let mut perms = std::fs::metadata(&object).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    std::fs::set_permissions(&object, perms).unwrap();
    std::fs::write(&object, b"not a zlib stream").unwrap();

    // Commits have no lines: the SHA says which (checked below), the line is 0.
    let bad = Bad {
        file: "widgets",
        line: 0,
        reason: "bad date",
    };
    let first = accept("git", &repo, bad, NO_UPDATES, &broken);
    assert!(
        first
            .audit
            .problems
            .iter()
            .any(|p| p.location.as_deref() == Some(bad_sha.as_str())),
        "{:?}",
        first.audit.problems
    );
    // Two commits and one credit.
    assert_eq!(first.audit.imported, 3);
}

/// A later export in which one message was edited: the re-import changes that message and adds
/// nothing (exports are snapshots: an edit arrives as the message's new content).
#[test]
fn a_later_export_with_an_edited_message_updates_only_that_message() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("db");
    std::fs::create_dir_all(&dir).unwrap();
    let store = SqliteStore::open(&dir.join("kith.db")).unwrap();
    let export = fixture("slack-export/Acme Slack export Jan 1 2024 - Jan 31 2024");
    let first = run(&store, "slack-export", &export).unwrap();

    let later = tmp
        .path()
        .join("Acme Slack export Jan 1 2024 - Jan 31 2024");
    copy_dir(&export, &later);
    let day = later.join("general/2024-01-03.json");
    let text = std::fs::read_to_string(&day).unwrap();
    let edited = text.replace("first post, pinned", "first post, pinned (edited)");
    assert_ne!(edited, text);
    std::fs::write(&day, edited).unwrap();
    let again = run(&store, "slack-export", &later).unwrap();
    assert_eq!(
        (again.audit.read, again.audit.imported, again.audit.updated),
        (first.audit.read, 0, 1),
        "{:?}",
        again.audit
    );
    let mut texts = Vec::new();
    store
        .export_activities(&mut |a| {
            texts.extend(a.activity.text.clone());
            Ok(())
        })
        .unwrap();
    assert!(texts.iter().any(|t| t == "first post, pinned (edited)"));
    assert!(!texts.iter().any(|t| t == "first post, pinned"));
}
