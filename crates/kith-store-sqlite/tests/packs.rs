//! Read packs (schema v5) are a cache: `read_activities` returns exactly what the rows say,
//! with or without packs, after edits, deletions, late reply targets, new activities and a
//! source's removal, and at an older watermark. Two databases receive the same imports; one
//! is packed (by its import sessions and by `pack_for_reads`), the other never (its packs are
//! dropped after every write), and every read of one is compared with the other's.

use kith_model::{Activity, Author, Kind, Timestamp};
use kith_store::{
    ActivityFact, ActivityId, ImportAudit, PackStats, Store, TextFact, TextScore, Watermark,
};
use kith_store_sqlite::SqliteStore;

const T0: i64 = 1_700_000_000;

/// Activities `from..to` of source `source`: posts in threads of three channels, replies to
/// earlier posts (every 7th to a post that arrives only in a later import), mentions, and
/// reactions.
fn activities(source: &str, from: usize, to: usize) -> Vec<Activity> {
    (from..to)
        .map(|i| {
            let kind = match i % 5 {
                0 | 1 => Kind::Post,
                2 | 3 => Kind::Reply,
                _ => Kind::Reaction,
            };
            let mut a = Activity::new(
                source,
                format!("a{i}"),
                kind,
                Timestamp::from_secs(T0 + (i as i64) * 60 - (i as i64 % 3) * 3_600),
                Some(Author::new(format!("u{}", i % 97))),
            );
            a.channel = (i % 4 != 0).then(|| format!("c{}", i % 3));
            a.thread = (i % 6 != 0).then(|| format!("t{}", i / 10));
            if kind == Kind::Reply {
                a.reply_to = Some(if i % 7 == 0 {
                    // Arrives in a later import.
                    format!("a{}", i + 20_000)
                } else if i % 11 == 3 && i < 4_000 {
                    // Arrives later in the same import.
                    format!("a{}", i + 5)
                } else {
                    format!("a{}", i - 2)
                });
            }
            if i % 11 == 0 {
                a.to = vec![format!("u{}", (i + 1) % 97), format!("u{}", (i + 2) % 97)];
            }
            a.text = Some(format!("message {i}"));
            a
        })
        .collect()
}

fn import(store: &dyn Store, source: &str, batch: &[Activity]) {
    let mut session = store.ingest().unwrap();
    session.ensure_source(source, "jsonl").unwrap();
    session.write(batch).unwrap();
    session
        .commit(&ImportAudit::new("jsonl", vec![], 0))
        .unwrap();
}

fn read(store: &dyn Store, ids: std::ops::Range<i64>, before: Watermark) -> Vec<ActivityFact> {
    let mut out = Vec::new();
    store
        .read_activities(ids, before, &mut |f| {
            out.push(f.clone());
            Ok(())
        })
        .unwrap();
    out
}

fn read_texts(store: &dyn Store, ids: std::ops::Range<i64>, before: Watermark) -> Vec<TextFact> {
    let mut out = Vec::new();
    store
        .read_text_scores(ids, before, &mut |f| {
            out.push(*f);
            Ok(())
        })
        .unwrap();
    out
}

/// Scores for every `step`-th activity id in `ids`, their numbers derived from the id and
/// `round`.
fn score(store: &dyn Store, ids: std::ops::Range<i64>, step: usize, round: i64) {
    let scores: Vec<TextScore> = ids
        .step_by(step)
        .map(|id| TextScore {
            activity: ActivityId(id),
            activity_seq: 0,
            model_version: 1,
            language: "eng".into(),
            scored: id % 13 != 0,
            sentiment: ((id * 37 + round) % 20_001 - 10_000) as i16,
            confidence: ((id + round) % 10_001) as i16,
            hostility: ((id * 7) % 10_001) as i16,
            hostile: id % 101 == 0,
            intents: ((id + round) % 512) as u16,
        })
        .collect();
    store.write_text_scores(&scores).unwrap();
}

/// `got` equals `want`; a failure names the first item that differs, not both lists.
fn assert_facts<T: PartialEq + std::fmt::Debug>(got: &[T], want: &[T], what: &str) {
    if let Some(i) = (0..got.len().min(want.len())).find(|&i| got[i] != want[i]) {
        panic!(
            "{what}: row {i} differs:\n got {:?}\nwant {:?}",
            got[i], want[i]
        );
    }
    assert_eq!(got.len(), want.len(), "{what}: as many rows");
}

/// Every read the snapshot build could make of `packed` equals the same read of `plain`.
fn assert_same_reads(packed: &dyn Store, plain: &dyn Store, before: Watermark, what: &str) {
    let (ids, _) = plain.activity_id_range().unwrap();
    assert_eq!(
        packed.activity_id_range().unwrap().0,
        ids,
        "{what}: same ids"
    );
    let all = read(plain, ids.clone(), before);
    assert!(!all.is_empty(), "{what}: something to read");
    assert_facts(
        &read(packed, ids.clone(), before),
        &all,
        &format!("{what}: the whole range"),
    );
    // Ranges that start and end inside blocks, on their edges, and span several.
    let cuts = [
        ids.start, 100, 4_095, 4_096, 4_097, 6_000, 8_192, 9_999, 12_288, 13_001, ids.end,
    ];
    let texts = read_texts(plain, ids.clone(), before);
    for (i, &a) in cuts.iter().enumerate() {
        for &b in &cuts[i..] {
            let range = a..b;
            let want: Vec<_> = all
                .iter()
                .filter(|f| range.contains(&f.id.0))
                .cloned()
                .collect();
            let got = read(packed, range.clone(), before);
            assert_facts(&got, &want, &format!("{what}: ids {range:?}"));
            let want: Vec<_> = texts
                .iter()
                .filter(|f| range.contains(&f.activity.0))
                .copied()
                .collect();
            let got = read_texts(packed, range.clone(), before);
            assert_facts(
                &got,
                &want,
                &format!("{what}: text scores of ids {range:?}"),
            );
        }
    }
}

/// Drops every pack of the database at `path`: it reads its rows.
fn unpack(path: &std::path::Path) {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch("DELETE FROM activity_packs; DELETE FROM text_packs;")
        .unwrap();
}

fn packs_in(path: &std::path::Path) -> i64 {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.query_row(
        "SELECT (SELECT count(*) FROM activity_packs) + (SELECT count(*) FROM text_packs)",
        [],
        |r| r.get(0),
    )
    .unwrap()
}

#[test]
fn packed_reads_equal_row_reads_through_edits_deletions_and_removals() {
    let dir = tempfile::tempdir().unwrap();
    let (packed_path, plain_path) = (dir.path().join("packed.db"), dir.path().join("plain.db"));
    let packed = SqliteStore::open(&packed_path).unwrap();
    let plain = SqliteStore::open(&plain_path).unwrap();
    let both = |f: &dyn Fn(&dyn Store)| {
        f(&packed);
        f(&plain);
        unpack(&plain_path);
    };

    // 10,000 activities: ids 1..=10000, blocks 0 and 1 whole, block 2 not yet. In the same
    // import: replies whose targets come later in it, an activity written again with other
    // content, and a deletion, all of rows of block 0 (which holds id 0, not the session's,
    // and is left to `pack_for_reads` anyway) and of block 2 (not whole).
    let mut first = activities("forum", 0, 10_000);
    let mut changed = first[3_000].clone();
    changed.ts = Timestamp::from_secs(T0 - 86_400);
    changed.thread = Some("moved".into());
    let mut deletion = Activity::new(
        "forum",
        "d0",
        Kind::Delete,
        Timestamp::from_secs(T0 + 700_000),
        Some(Author::new("u3")),
    );
    deletion.reply_to = Some("a9000".into());
    first.extend([changed, deletion]);
    both(&|s| import(s, "forum", &first));
    assert_eq!(packs_in(&plain_path), 0);
    assert!(
        packs_in(&packed_path) > 0,
        "the import packed what it could"
    );
    let (_, mark0) = plain.activity_id_range().unwrap();
    assert_same_reads(&packed, &plain, mark0, "packed by the import session");
    both(&|s| score(s, 1..10_001, 2, 0));
    let first = packed.pack_for_reads().unwrap();
    assert!(first.blocks > 0 && first.bytes > 0, "{first:?}");
    assert_eq!(
        packs_in(&packed_path),
        4,
        "two blocks of activities and of their scores (every other one)"
    );
    assert_eq!(
        packed.pack_for_reads().unwrap(),
        PackStats::default(),
        "packs that are current are not written again"
    );
    let (_, mark1) = plain.activity_id_range().unwrap();
    assert_same_reads(&packed, &plain, mark1, "packed after the first import");

    // A second import: edits, a deletion and a new thread for rows of block 0, the late
    // targets of replies in blocks 0 and 1, and new activities that fill block 2.
    let mut second = activities("forum", 10_000, 14_000);
    let mut edit = Activity::new(
        "forum",
        "e1",
        Kind::Edit,
        Timestamp::from_secs(T0 + 900_000),
        Some(Author::new("u1")),
    );
    edit.reply_to = Some("a10".into());
    edit.text = Some("edited".into());
    let mut delete = Activity::new(
        "forum",
        "d1",
        Kind::Delete,
        Timestamp::from_secs(T0 + 900_001),
        Some(Author::new("u2")),
    );
    delete.reply_to = Some("a20".into());
    let mut moved = activities("forum", 30, 31);
    moved[0].thread = Some("elsewhere".into());
    moved[0].kind = Kind::Answer;
    second.extend([edit, delete]);
    second.extend(moved);
    second.extend(activities("forum", 20_007, 20_008)); // the target of a7's reply
    second.extend(activities("forum", 24_207, 24_208)); // of a4207's (block 1)
    both(&|s| import(s, "forum", &second));
    // Scores written again for a few activities of block 1, and new ones for block 2.
    both(&|s| score(s, 5_001..5_100, 3, 1));
    both(&|s| score(s, 10_001..14_001, 1, 0));
    let (_, mark2) = plain.activity_id_range().unwrap();
    assert_same_reads(
        &packed,
        &plain,
        mark2,
        "dirty blocks after the second import",
    );
    assert_same_reads(&packed, &plain, mark1, "at the older watermark");

    // Packing again writes the dirty blocks and the newly whole block 2.
    let again = packed.pack_for_reads().unwrap();
    assert!(again.blocks >= 4, "dirty and new blocks: {again:?}");
    assert_eq!(packs_in(&packed_path), 6, "three blocks of each");
    assert_same_reads(&packed, &plain, mark2, "packed after the second import");
    assert_same_reads(&packed, &plain, mark1, "packed, at the older watermark");

    // A second source, then its removal: the packs go with the rows.
    both(&|s| import(s, "chat", &activities("chat", 0, 5_000)));
    both(&|s| score(s, 14_001..19_001, 1, 2));
    packed.pack_for_reads().unwrap();
    assert!(packs_in(&packed_path) > 3);
    both(&|s| {
        s.delete_source("forum").unwrap();
    });
    assert_eq!(
        packs_in(&packed_path),
        0,
        "removing a source drops the packs"
    );
    let (_, mark3) = plain.activity_id_range().unwrap();
    assert_same_reads(&packed, &plain, mark3, "after removing a source");
    let after = packed.pack_for_reads().unwrap();
    assert!(after.blocks > 0 && after.rows > 0, "{after:?}");
    assert_same_reads(&packed, &plain, mark3, "packed after removing a source");
}

#[test]
fn a_damaged_pack_is_an_error_naming_its_block() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kith.db");
    let store = SqliteStore::open(&path).unwrap();
    import(&store, "forum", &activities("forum", 0, 9_000));
    store.pack_for_reads().unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute(
        "UPDATE activity_packs SET data = x'01ff' WHERE block = 1",
        [],
    )
    .unwrap();
    let (ids, mark) = store.activity_id_range().unwrap();
    let err = store
        .read_activities(ids, mark, &mut |_| Ok(()))
        .unwrap_err()
        .to_string();
    assert!(err.contains("block 1") && err.contains("damaged"), "{err}");
}

/// How [`import_packs`] writes.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Writing {
    /// An exclusive session on an empty database, batches planned by its bulk preparer (as
    /// `kith import` writes a first import).
    Prepared,
    /// The same session, batches written as they are.
    Bulk,
    /// An ordinary session after a first import of one activity: no preparer, every repeat
    /// found in the table.
    Ordinary,
}

/// Imports `batch` into a fresh packed database and a fresh plain one, checks that they read
/// the same, and returns the blocks the import packed itself.
fn import_packs(batch: &[Activity], writing: Writing) -> Vec<i64> {
    let dir = tempfile::tempdir().unwrap();
    let (packed_path, plain_path) = (dir.path().join("packed.db"), dir.path().join("plain.db"));
    let packed = SqliteStore::open(&packed_path).unwrap();
    let plain = SqliteStore::open(&plain_path).unwrap();
    for store in [&packed, &plain] {
        let mut session = if writing == Writing::Ordinary {
            import(store, "chat", &activities("chat", 0, 1));
            store.ingest().unwrap()
        } else {
            store.ingest_exclusive().unwrap()
        };
        session.ensure_source("forum", "jsonl").unwrap();
        if writing == Writing::Prepared {
            let mut preparer = session.preparer();
            for chunk in batch.chunks(1_000) {
                let ready = preparer.prepare(chunk.to_vec());
                session.write_prepared(&ready).unwrap();
            }
        } else {
            session.write(batch).unwrap();
        }
        session
            .commit(&ImportAudit::new("jsonl", vec![], 0))
            .unwrap();
    }
    unpack(&plain_path);
    let conn = rusqlite::Connection::open(&packed_path).unwrap();
    let blocks: Vec<i64> = conn
        .prepare("SELECT block FROM activity_packs ORDER BY block")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let (_, mark) = plain.activity_id_range().unwrap();
    let what = format!("packed by the import ({writing:?})");
    assert_same_reads(&packed, &plain, mark, &what);
    packed.pack_for_reads().unwrap();
    assert_same_reads(&packed, &plain, mark, "then by pack_for_reads");
    blocks
}

/// An import packs the blocks it fills itself, from the values it inserts and the changes it
/// makes to them later: a row written twice with other content, deleted, given its reply
/// target later in the same import, or deleted by an activity that came before it. Each case
/// alone, in each way of writing, and every read equal to the rows': 14,000 activities of the
/// import, ids from 1 or 2; block 0 holds id 0 (not the import's), blocks 1 and 2 are whole,
/// block 3 is not; the change is to a row of block 1. (A change to a block already written is
/// dropped with its pack: `SessionPacks`' unit tests.)
#[test]
fn an_import_packs_its_whole_blocks_except_those_it_changed_again() {
    let plain = activities("forum", 0, 14_000);
    for writing in [Writing::Prepared, Writing::Bulk, Writing::Ordinary] {
        let import_packs = |batch: &[Activity]| import_packs(batch, writing);
        assert_eq!(import_packs(&plain), vec![1, 2], "nothing changed again");

        let mut again = plain.clone();
        let mut copy = again[5_000].clone();
        copy.ts = Timestamp::from_secs(T0 - 86_400);
        copy.channel = Some("elsewhere".into());
        again.push(copy);
        assert_eq!(import_packs(&again), vec![1, 2], "written again");

        let mut deleted = plain.clone();
        let mut deletion = Activity::new(
            "forum",
            "d1",
            Kind::Delete,
            Timestamp::from_secs(T0 + 900_000),
            Some(Author::new("u5")),
        );
        deletion.reply_to = Some("a6000".into());
        deleted.push(deletion.clone());
        assert_eq!(import_packs(&deleted), vec![1, 2], "deleted");

        let mut early = plain.clone();
        deletion.reply_to = Some("a6500".into());
        early.insert(0, deletion);
        assert_eq!(import_packs(&early), vec![1, 2], "deleted before it came");

        let mut deleted_then_again = deleted.clone();
        let mut copy = deleted_then_again[6_000].clone();
        copy.ts = Timestamp::from_secs(T0 + 1);
        deleted_then_again.push(copy);
        assert_eq!(
            import_packs(&deleted_then_again),
            vec![1, 2],
            "deleted, then written again"
        );

        let mut late = plain.clone();
        late[4_500].kind = Kind::Reply;
        late[4_500].reply_to = Some("a4505".into());
        assert_eq!(import_packs(&late), vec![1, 2], "reply target later");
    }
}
