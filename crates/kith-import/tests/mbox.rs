//! The `mbox` importer: hand-made archives against their golden output, the real
//! r-package-devel archive against its known facts, malformed files, the export writer's round
//! trip, and no panics on mangled input.

mod support;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use kith_import::{ImportError, ReadContext};
use kith_model::{Activity, Kind};
use proptest::prelude::*;
use support::{
    Collect, flip_wrapping, golden, render_activities, round_trip, shared_data, temp_file,
};

const FORMAT: &kith_import::mbox::Mbox = &kith_import::mbox::Mbox;

fn read(paths: &[PathBuf], ctx: &ReadContext) -> Result<Collect, ImportError> {
    support::read(FORMAT, paths, ctx)
}

fn fixtures() -> PathBuf {
    support::fixture("mbox")
}

fn by_id<'a>(activities: &'a [Activity], id: &str) -> &'a Activity {
    activities
        .iter()
        .find(|a| a.id == id)
        .unwrap_or_else(|| panic!("no activity {id}"))
}

#[test]
fn hand_made_archives_match_golden_output() {
    let out = read(
        &[
            fixtures().join("example-list"),
            fixtures().join("plain.mbox"),
        ],
        &ReadContext::default(),
    )
    .unwrap();
    golden("mbox", &render_activities(&out.activities));
    let skipped: Vec<_> = out
        .problems
        .iter()
        .map(|p| {
            (
                p.file.rsplit('/').next().unwrap().to_owned(),
                p.line,
                p.reason.clone(),
            )
        })
        .collect();
    assert_eq!(
        skipped,
        [
            ("2015-June.txt".to_owned(), 56, "bad date".to_owned()),
            ("2015-June.txt".into(), 65, "no date".into())
        ]
    );
}

#[test]
fn folder_name_or_list_id_names_the_source() {
    let out = read(&[fixtures().join("example-list")], &ReadContext::default()).unwrap();
    assert!(out.activities.iter().all(|a| a.source == "example-list"));
    let out = read(&[fixtures().join("plain.mbox")], &ReadContext::default()).unwrap();
    assert!(
        out.activities
            .iter()
            .all(|a| a.source == "devel.lists.example.org")
    );
    let ctx = ReadContext {
        source: Some("devel".into()),
        ..ReadContext::default()
    };
    let out = read(&[fixtures().join("plain.mbox")], &ctx).unwrap();
    assert!(out.activities.iter().all(|a| a.source == "devel"));
}

#[test]
fn messages_thread_by_references_and_in_reply_to() {
    let out = read(
        &[
            fixtures().join("example-list"),
            fixtures().join("plain.mbox"),
        ],
        &ReadContext::default(),
    )
    .unwrap();
    let a = &out.activities;
    let root = by_id(a, "root-1@example.org");
    assert_eq!(
        (root.kind, root.thread.as_deref()),
        (Kind::Post, Some("root-1@example.org"))
    );
    for id in [
        "reply-1@example.com",
        "reply-2@statistik.tu-dortmund.de",
        "reply-3@example.org",
    ] {
        assert_eq!(by_id(a, id).kind, Kind::Reply);
        assert_eq!(
            by_id(a, id).thread.as_deref(),
            Some("root-1@example.org"),
            "{id}"
        );
    }
    assert_eq!(
        by_id(a, "reply-2@statistik.tu-dortmund.de")
            .reply_to
            .as_deref(),
        Some("reply-1@example.com")
    );
    // References only: the parent is the last reference.
    assert_eq!(
        by_id(a, "reply-3@example.org").reply_to.as_deref(),
        Some("reply-2@statistik.tu-dortmund.de")
    );
    // A thread whose start is elsewhere is named by its first reference, across files.
    assert_eq!(
        by_id(a, "late-reply@stat.math.ethz.ch").thread.as_deref(),
        Some("older-root@example.org")
    );
    assert_eq!(
        by_id(a, "clean-follow-up@stat.math.ethz.ch")
            .thread
            .as_deref(),
        Some("older-root@example.org")
    );
    // Quoted lines are left out of the text and counted; "From " body lines stay text.
    let reply = by_id(a, "reply-1@example.com");
    assert_eq!(
        reply.text.as_deref(),
        Some(
            "On Tue, Jun 2, 2015, Jane Doe wrote:\n\nRun `make docs`.\nFrom experience it takes a minute."
        )
    );
    assert_eq!(reply.attrs["quoted_lines"], 2);
    assert!(root.text.as_deref().unwrap().contains("From the README"));
}

#[test]
fn obfuscated_and_mangled_addresses_of_one_person_share_an_author_id() {
    let out = read(
        &[
            fixtures().join("example-list"),
            fixtures().join("plain.mbox"),
        ],
        &ReadContext::default(),
    )
    .unwrap();
    let a = &out.activities;
    let author = |id: &str| by_id(a, id).author.clone().unwrap();
    let mangled = author("reply-2@statistik.tu-dortmund.de");
    let clean = author("root-2@statistik.tu-dortmund.de");
    assert_eq!(mangled.id, clean.id);
    assert_eq!(mangled.id, "||gge@ at @t@t|@t|k@tu-dortmu@d@de");
    assert_eq!(
        (mangled.email, clean.email.as_deref()),
        (None, Some("ligges@statistik.tu-dortmund.de"))
    );
    assert_eq!(
        mangled.name.as_deref(),
        Some("Uwe Lügges"),
        "encoded words in the name are decoded"
    );
    assert_eq!(
        author("late-reply@stat.math.ethz.ch").id,
        author("clean-follow-up@stat.math.ethz.ch").id
    );
    assert_eq!(
        author("reply-1@example.com").email.as_deref(),
        Some("bob@example.com"),
        "`x at y dot z`"
    );
    assert!(
        by_id(a, "notice@lists.example.org").author.is_none(),
        "MAILER-DAEMON without From: is author-less"
    );
    assert_eq!(
        by_id(a, "notice@lists.example.org").text.as_deref(),
        Some("Invalid bytes are read lossily: caf\u{fffd} \u{fffd}.")
    );
    assert_eq!(
        by_id(a, "multipart@example.de").text.as_deref(),
        Some("Hallo welt, dies ist ein Test.")
    );
    assert_eq!(
        by_id(a, "multipart@example.de").attrs["subject"],
        "Über die Doks"
    );
    assert_eq!(
        by_id(a, "clean-follow-up@stat.math.ethz.ch")
            .text
            .as_deref(),
        Some("Grüße from a clean address with a long line that was wrapped by quoted-printable.")
    );
}

#[test]
fn duplicated_message_ids_are_one_activity_when_identical_and_two_keys_when_not() {
    let out = read(&[fixtures().join("example-list")], &ReadContext::default()).unwrap();
    let same: Vec<_> = out
        .activities
        .iter()
        .filter(|a| a.id == "root-2@statistik.tu-dortmund.de")
        .collect();
    assert_eq!(
        same.len(),
        2,
        "the byte-identical copy is handed on with the same key"
    );
    assert_eq!(
        same[0], same[1],
        "identical copies give identical activities (the store counts a duplicate)"
    );
    let other: Vec<_> = out
        .activities
        .iter()
        .filter(|a| a.id.starts_with("root-2@statistik.tu-dortmund.de~"))
        .collect();
    assert_eq!(
        other.len(),
        1,
        "a different message under a used Message-ID gets a derived key"
    );
    assert_eq!(
        other[0].attrs["message_id"],
        "root-2@statistik.tu-dortmund.de"
    );
    let derived: Vec<_> = out
        .activities
        .iter()
        .filter(|a| a.id.starts_with("mbox-"))
        .collect();
    assert_eq!(
        derived.len(),
        1,
        "a message without Message-ID gets a derived key"
    );
    // Derived keys do not depend on where the archive lies.
    let copy = tempfile::tempdir().unwrap();
    let moved = copy.path().join("renamed");
    std::fs::create_dir(&moved).unwrap();
    for f in ["2015-June.txt", "2015-July.txt.gz"] {
        std::fs::copy(fixtures().join("example-list").join(f), moved.join(f)).unwrap();
    }
    let again = read(
        &[moved],
        &ReadContext {
            source: Some("example-list".into()),
            ..ReadContext::default()
        },
    )
    .unwrap();
    assert_eq!(again.activities, out.activities);
}

#[test]
fn text_that_is_not_an_mbox_is_malformed_with_file_and_line() {
    let e = read(
        &[fixtures().join("broken/not-mbox.txt")],
        &ReadContext::default(),
    )
    .unwrap_err();
    assert!(matches!(e, ImportError::Malformed { line: 1, .. }), "{e}");
    assert!(
        e.to_string().contains("not-mbox.txt") && e.to_string().contains("envelope"),
        "{e}"
    );
}

#[test]
fn a_file_cut_inside_headers_is_malformed() {
    let e = read(
        &[fixtures().join("broken/cut.txt")],
        &ReadContext::default(),
    )
    .unwrap_err();
    assert!(matches!(e, ImportError::Malformed { line: 9, .. }), "{e}");
    assert!(e.to_string().contains("cut off"), "{e}");
}

#[test]
fn a_cut_gzip_stream_is_malformed() {
    let bytes = std::fs::read(fixtures().join("example-list/2015-July.txt.gz")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cut.txt.gz");
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let e = read(&[path], &ReadContext::default()).unwrap_err();
    assert!(matches!(e, ImportError::Malformed { .. }), "{e}");
}

/// The real r-package-devel pipermail archive, 2015-05 to 2026-07 (`KITH_SHARED_DATA`).
#[test]
fn real_r_package_devel_archive_gives_its_known_facts() {
    let Some(folder) = shared_data("mbox-r-package-devel") else {
        return;
    };
    let out = read(std::slice::from_ref(&folder), &ReadContext::default()).unwrap();
    assert!(
        out.problems.is_empty(),
        "0 unparsable dates: {:?}",
        out.problems.first()
    );
    assert_eq!(out.activities.len(), 11_114, "messages read");
    let mut by_key: HashMap<&str, Vec<&Activity>> = HashMap::new();
    for a in &out.activities {
        by_key.entry(a.id.as_str()).or_default().push(a);
    }
    assert_eq!(by_key.len(), 11_111, "distinct keys");
    let repeated: Vec<_> = by_key.values().filter(|v| v.len() > 1).collect();
    assert_eq!(repeated.len(), 3, "duplicated Message-IDs");
    assert!(
        repeated.iter().all(|v| v.len() == 2 && v[0] == v[1]),
        "the duplicates are identical activities"
    );
    assert!(
        out.activities
            .iter()
            .all(|a| !a.id.contains('~') && !a.id.starts_with("mbox-")),
        "every message has its own Message-ID"
    );
    let replies = out
        .activities
        .iter()
        .filter(|a| a.kind == Kind::Reply)
        .count();
    assert_eq!(replies, 8_827, "messages with In-Reply-To or References");
    // 11,147 lines begin with "From "; the 33 that are not envelopes stayed in bodies.
    let mut from_lines = 0;
    for entry in std::fs::read_dir(&folder).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "txt") {
            let bytes = std::fs::read(&path).unwrap();
            from_lines += bytes
                .split(|&b| b == b'\n')
                .filter(|l| l.starts_with(b"From "))
                .count();
        }
    }
    assert_eq!(from_lines - out.activities.len(), 33);
    let body_from_lines: usize = out
        .activities
        .iter()
        .filter_map(|a| a.text.as_deref())
        .map(|t| t.lines().filter(|l| l.starts_with("From ")).count())
        .sum();
    assert!(
        body_from_lines >= 33 - 4,
        "\"From \" body lines are text ({body_from_lines}); a few sit in quoted blocks"
    );
    // Every author has a key; the mangled and the clean forms of a long-time poster meet.
    assert!(out.activities.iter().all(|a| a.author.is_some()));
    let ligges: BTreeMap<&str, usize> = out
        .activities
        .iter()
        .filter_map(|a| a.author.as_ref())
        .filter(|au| au.id.starts_with("||gge@ at "))
        .fold(BTreeMap::new(), |mut m, au| {
            *m.entry(au.id.as_str()).or_default() += 1;
            m
        });
    assert_eq!(ligges.len(), 1, "{ligges:?}");
    let (_, &n) = ligges.iter().next().unwrap();
    assert!(
        n > 500,
        "Uwe Ligges's messages in every obfuscation style share one key ({n})"
    );
}

#[test]
fn real_archive_audit_counts_three_duplicates() {
    let Some(archive) = shared_data("mbox-r-package-devel") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let store = kith_store_sqlite::SqliteStore::open(&dir.path().join("kith.db")).unwrap();
    let audit = kith_import::import(
        &store,
        FORMAT,
        &[archive],
        &kith_import::ImportOptions::default(),
        &(),
    )
    .unwrap()
    .audit;
    assert_eq!(audit.read, 11_114);
    assert_eq!(audit.imported, 11_111);
    assert_eq!(
        audit.skipped.get("duplicate").copied(),
        Some(3),
        "{:?}",
        audit.skipped
    );
    assert_eq!(audit.sources, ["mbox-r-package-devel"]);
}

#[test]
fn generated_community_round_trips_through_the_export_writer() {
    let (activities, out) = round_trip(
        &kith_import::mbox::MboxWriter,
        FORMAT,
        20_000,
        7,
        "demo-list",
    );
    assert!(out.problems.is_empty(), "{:?}", out.problems.first());
    let messages: Vec<&Activity> = activities
        .iter()
        .filter(|a| matches!(a.kind, Kind::Post | Kind::Reply | Kind::Answer))
        .collect();
    assert_eq!(out.activities.len(), messages.len());
    let read_back: HashMap<&str, &Activity> =
        out.activities.iter().map(|a| (a.id.as_str(), a)).collect();
    for m in &messages {
        let r = read_back[m.id.as_str()];
        assert_eq!(r.ts, m.ts, "{}", m.id);
        assert_eq!(r.reply_to, m.reply_to, "{}", m.id);
        assert_eq!(
            r.kind,
            if m.reply_to.is_some() {
                Kind::Reply
            } else {
                Kind::Post
            },
            "{}",
            m.id
        );
        assert_eq!(
            r.author.as_ref().and_then(|a| a.name.clone()),
            m.author.as_ref().and_then(|a| a.name.clone()),
            "{}",
            m.id
        );
        assert_eq!(
            r.text.as_deref().unwrap_or(""),
            m.text.as_deref().unwrap_or("").trim(),
            "{}",
            m.id
        );
        if m.reply_to.is_some() {
            assert_eq!(r.thread, m.thread, "threads survive: {}", m.id);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = read_bytes(&bytes, "random.txt");
    }

    #[test]
    fn mutated_fixtures_never_panic(cut in 0usize..4000, flips in proptest::collection::vec((0usize..4000, any::<u8>()), 0..16)) {
        let mut bytes = std::fs::read(fixtures().join("example-list/2015-June.txt")).unwrap();
        bytes.extend(std::fs::read(fixtures().join("plain.mbox")).unwrap());
        for (at, b) in flips {
            flip_wrapping(&mut bytes, at, b);
        }
        bytes.truncate(cut % (bytes.len() + 1));
        let _ = read_bytes(&bytes, "mutated.txt");
        let _ = read_bytes(&bytes, "mutated.txt.gz");
    }
}

fn read_bytes(bytes: &[u8], name: &str) -> Result<Collect, ImportError> {
    let (_dir, path) = temp_file(name, bytes);
    read(&[path], &ReadContext::default())
}
