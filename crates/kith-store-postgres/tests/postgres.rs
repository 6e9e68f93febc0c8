//! What only the PostgreSQL backend has to prove: the change sequence with writers that commit
//! out of order, concurrent sessions and migrations, connection errors, and schema versions.

use std::collections::BTreeSet;
use std::time::Duration;

use kith_model::{Activity, Author, Kind, Timestamp};
use kith_store::{ActivityId, Change, ImportAudit, Store, StoreError, Watermark};
use kith_store_postgres::PgStore;
use kith_store_postgres::testing::TestServer;

const T0: i64 = 1_700_000_000;

fn post(source: &str, id: &str, author: &str) -> Activity {
    let mut a = Activity::new(
        source,
        id,
        Kind::Post,
        Timestamp::from_secs(T0),
        Some(Author::new(author)),
    );
    a.channel = Some("general".into());
    a.text = Some(format!("post {id}"));
    a
}

fn audit(source: &str) -> ImportAudit {
    let mut a = ImportAudit::new("jsonl", vec![], T0);
    a.sources = vec![source.into()];
    a
}

fn read(store: &dyn Store, since: Watermark) -> (BTreeSet<ActivityId>, Watermark) {
    let mut ids = BTreeSet::new();
    let mark = store
        .read_changes(since, &mut |c| {
            if let Change::Activity(f) = c {
                ids.insert(f.id);
            }
            Ok(())
        })
        .expect("read_changes");
    (ids, mark)
}

/// Reads from `since` until everything in `want` has been delivered, or ten seconds pass.
///
/// The horizon errs on the early side: a short transaction of another test, in another database
/// of the same server, that ends between the snapshot and the `pg_stat_activity` lookup still
/// holds one read back. Such a transaction ends within milliseconds, so the next read delivers;
/// a horizon held back by something that does not end (the bug these tests guard against)
/// never does, and the test fails.
fn read_until(
    store: &dyn Store,
    since: Watermark,
    want: &BTreeSet<ActivityId>,
) -> (BTreeSet<ActivityId>, Watermark) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let mut got = BTreeSet::new();
    let mut mark = since;
    loop {
        let (ids, next) = read(store, mark);
        got.extend(ids);
        mark = next;
        if want.is_subset(&got) || std::time::Instant::now() >= deadline {
            return (got, mark);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn all_ids(store: &dyn Store) -> BTreeSet<ActivityId> {
    let mut ids = BTreeSet::new();
    store
        .export_activities(&mut |e| {
            ids.insert(e.id);
            Ok(())
        })
        .expect("export");
    ids
}

#[test]
fn a_writer_that_commits_late_is_delivered_next_time_not_skipped() {
    let Some(server) =
        TestServer::from_env("a_writer_that_commits_late_is_delivered_next_time_not_skipped")
    else {
        return;
    };
    let store = server.fresh_store();

    // A starts first (lower transaction id) and writes; B writes and commits while A is open.
    let mut a = store.ingest().expect("session A");
    a.ensure_source("a", "jsonl").expect("source a");
    let batch_a: Vec<Activity> = (0..50)
        .map(|i| post("a", &format!("a{i}"), &format!("ua{i}")))
        .collect();
    a.write(&batch_a).expect("A writes");
    let mut b = store.ingest().expect("session B");
    b.ensure_source("b", "jsonl").expect("source b");
    let batch_b: Vec<Activity> = (0..30)
        .map(|i| post("b", &format!("b{i}"), &format!("ub{i}")))
        .collect();
    b.write(&batch_b).expect("B writes");
    b.commit(&audit("b")).expect("B commits");

    let (first, mark) = read(&store, Watermark::ZERO);
    let b_ids = all_ids(&store);
    assert_eq!(b_ids.len(), 30, "B's rows are committed and visible");
    assert!(
        first.is_empty(),
        "while A (older) is running, nothing at or above its id may be delivered, B's rows included: {first:?}"
    );

    a.commit(&audit("a")).expect("A commits");
    let everything = all_ids(&store);
    let (second, mark2) = read_until(&store, mark, &everything);
    assert!(mark2 > mark, "the watermark advances once A has finished");
    assert_eq!(everything.len(), 80);
    let delivered: BTreeSet<ActivityId> = first.union(&second).copied().collect();
    assert_eq!(
        delivered, everything,
        "A's late commit and B's rows are delivered once A has finished: nothing skipped"
    );
    let (third, _) = read(&store, mark2);
    assert!(third.is_empty(), "and nothing is delivered twice");
}

#[test]
fn a_long_transaction_in_another_database_does_not_hold_the_feed_back() {
    let Some(server) =
        TestServer::from_env("a_long_transaction_in_another_database_does_not_hold_the_feed_back")
    else {
        return;
    };
    let store = server.fresh_store();
    let other_url = server.fresh_database();
    let mut other = postgres::Client::connect(&other_url, postgres::NoTls)
        .expect("connect to the other database");
    other
        .batch_execute("BEGIN; SELECT pg_current_xact_id();")
        .expect("an open transaction with an id");

    let mut s = store.ingest().expect("session");
    s.ensure_source("forum", "jsonl").expect("source");
    s.write(&[post("forum", "p1", "u1")]).expect("write");
    s.commit(&audit("forum")).expect("commit");
    let (ids, _) = read_until(&store, Watermark::ZERO, &all_ids(&store));
    assert_eq!(
        ids.len(),
        1,
        "the other database's open transaction does not delay this one's changes"
    );
    other.batch_execute("ROLLBACK").expect("rollback");
}

#[test]
fn sessions_creating_the_same_identities_concurrently_share_them() {
    let Some(server) =
        TestServer::from_env("sessions_creating_the_same_identities_concurrently_share_them")
    else {
        return;
    };
    let store = server.fresh_store();
    let mut seed = store.ingest().expect("session");
    seed.ensure_source("forum", "jsonl").expect("source");
    seed.write(&[post("forum", "seed", "seed")]).expect("write");
    seed.commit(&audit("forum")).expect("commit");

    let first: Vec<Activity> = (0..20)
        .map(|i| post("forum", &format!("x{i}"), &format!("u{i}")))
        .collect();
    let second: Vec<Activity> = (0..20)
        .map(|i| post("forum", &format!("y{i}"), &format!("u{i}")))
        .collect();
    let mut a = store.ingest().expect("session A");
    a.ensure_source("forum", "jsonl").expect("source");
    let out_a = a.write(&first).expect("A writes");
    std::thread::scope(|scope| {
        // B waits on A's uncommitted identities, then takes them over.
        let b = scope.spawn(|| {
            let mut b = store.ingest().expect("session B");
            b.ensure_source("forum", "jsonl").expect("source");
            let out = b.write(&second).expect("B writes");
            b.commit(&audit("forum")).expect("B commits");
            out
        });
        std::thread::sleep(Duration::from_millis(300));
        a.commit(&audit("forum")).expect("A commits");
        let out_b = b.join().expect("session B");
        assert_eq!((out_a.identities_created, out_a.members_created), (20, 20));
        assert_eq!(
            (out_b.identities_created, out_b.members_created),
            (0, 0),
            "B reuses A's identities"
        );
        assert_eq!(out_b.inserted, 20);
    });
    let counts = store.counts().expect("counts");
    assert_eq!(
        (counts.identities, counts.members, counts.activities),
        (21, 21, 41)
    );
    let members = store.members(None, 1000).expect("members");
    assert_eq!(members.len(), 21, "B's spare members were removed");
}

#[test]
fn a_key_repeated_with_new_content_in_one_batch_counts_like_sequential_writes() {
    let Some(server) = TestServer::from_env(
        "a_key_repeated_with_new_content_in_one_batch_counts_like_sequential_writes",
    ) else {
        return;
    };
    let store = server.fresh_store();
    let v1 = post("forum", "p1", "u1");
    let mut v2 = v1.clone();
    v2.text = Some("second version".into());
    let mut s = store.ingest().expect("session");
    s.ensure_source("forum", "jsonl").expect("source");
    let out = s
        .write(&[v1.clone(), v2.clone(), v2.clone(), v1.clone()])
        .expect("write");
    s.commit(&audit("forum")).expect("commit");
    assert_eq!((out.inserted, out.updated, out.unchanged), (1, 2, 1));
    let mut texts = Vec::new();
    store
        .export_activities(&mut |e| {
            texts.push(e.activity.text);
            Ok(())
        })
        .expect("export");
    assert_eq!(texts, vec![v1.text], "the last version wins");
}

#[test]
fn starting_together_on_an_empty_database_migrates_once() {
    let Some(server) = TestServer::from_env("starting_together_on_an_empty_database_migrates_once")
    else {
        return;
    };
    let url = server.fresh_database();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|_| scope.spawn(|| PgStore::connect(&url).map(|_| ())))
            .collect();
        for h in handles {
            h.join()
                .expect("thread")
                .expect("every process opens the database");
        }
    });
}

#[test]
fn a_database_of_a_newer_kith_is_refused() {
    let Some(server) = TestServer::from_env("a_database_of_a_newer_kith_is_refused") else {
        return;
    };
    let url = server.fresh_database();
    drop(PgStore::connect(&url).expect("create"));
    let mut c = postgres::Client::connect(&url, postgres::NoTls).expect("connect");
    c.batch_execute("UPDATE kith_meta SET value = '99' WHERE key = 'schema_version'")
        .expect("bump the version");
    match PgStore::connect(&url) {
        Err(StoreError::NewerSchema {
            found: 99,
            supported,
            ..
        }) => assert_eq!(supported, kith_store::SCHEMA_VERSION),
        Err(other) => panic!("expected NewerSchema, got {other}"),
        Ok(_) => panic!("a newer schema was accepted"),
    }
}

#[test]
fn an_unreachable_server_is_reported_without_the_password() {
    // Needs no server: nothing listens on port 1.
    match PgStore::connect("postgres://kith:s3cret@127.0.0.1:1/kith?connect_timeout=2") {
        Err(e @ StoreError::Unreachable { .. }) => {
            let text = e.to_string();
            assert!(
                text.contains("127.0.0.1:1/kith"),
                "the message names the server: {text}"
            );
            assert!(
                !text.contains("s3cret"),
                "the message hides the password: {text}"
            );
            assert!(e.is_unavailable());
        }
        Err(other) => panic!("expected Unreachable, got {other}"),
        Ok(_) => panic!("connected to nothing"),
    }
}

/// A post in `thread` with platform labels under `key` (`kith_store::topics_of`).
fn labelled(id: &str, thread: &str, key: &str, labels: serde_json::Value) -> Activity {
    let mut a = post("qa", id, "u1");
    a.thread = Some(thread.into());
    a.attrs.insert(key.into(), labels);
    a
}

/// Every thread's topics by platform id, from the change stream read from zero; checked
/// against the entity keys, which must carry the same.
fn topics_by_thread(store: &dyn Store) -> std::collections::BTreeMap<String, String> {
    let mut by_id = std::collections::BTreeMap::new();
    let mut by_ext = std::collections::BTreeMap::new();
    store
        .read_changes(Watermark::ZERO, &mut |c| {
            if let Change::Thread(t) = c {
                by_id.insert(t.id, t.topics.clone());
                by_ext.insert(t.ext_id, t.topics);
            }
            Ok(())
        })
        .expect("read_changes");
    let mut keyed = std::collections::BTreeMap::new();
    store
        .read_entity_keys(&mut |k| {
            if let kith_store::EntityKey::Thread { id, topics } = k {
                keyed.insert(id, topics.to_owned());
            }
            Ok(())
        })
        .expect("read_entity_keys");
    assert_eq!(
        keyed, by_id,
        "the entity keys carry the change stream's topics"
    );
    by_ext
}

fn import(store: &dyn Store, batch: &[Activity]) {
    let mut s = store.ingest().expect("session");
    s.ensure_source("qa", "jsonl").expect("source");
    s.write(batch).expect("write");
    s.commit(&audit("qa")).expect("commit");
}

#[test]
fn thread_topics_follow_the_batch_order_across_rounds() {
    let Some(server) = TestServer::from_env("thread_topics_follow_the_batch_order_across_rounds")
    else {
        return;
    };
    let store = server.fresh_store();
    // The second version of p1 goes to a later round than p2; applied in batch order, p2's
    // labels, written last, are the thread's.
    let v1 = labelled("p1", "t", "tags", serde_json::json!(["a"]));
    let mut v2 = labelled("p1", "t", "tags", serde_json::json!(["c"]));
    v2.text = Some("second version".into());
    let p2 = labelled("p2", "t", "labels", serde_json::json!([{"name": "b"}]));
    import(&store, &[v1, v2, p2]);
    assert_eq!(
        topics_by_thread(&store).get("t").map(String::as_str),
        Some("b")
    );
}

#[test]
fn a_database_from_before_topics_gets_its_threads_topics_when_it_migrates() {
    let Some(server) = TestServer::from_env(
        "a_database_from_before_topics_gets_its_threads_topics_when_it_migrates",
    ) else {
        return;
    };
    let url = server.fresh_database();
    let store = PgStore::connect(&url).expect("create");
    let mut reply = post("qa", "r1", "u2");
    reply.kind = Kind::Reply;
    reply.thread = Some("t1".into());
    reply.reply_to = Some("q1".into());
    reply
        .attrs
        .insert("tags".into(), serde_json::json!(["not-a-topic"]));
    let mut unthreaded = post("qa", "q3", "u1");
    unthreaded
        .attrs
        .insert("tags".into(), serde_json::json!(["nowhere"]));
    import(
        &store,
        &[
            labelled(
                "q1",
                "t1",
                "tags",
                serde_json::json!(["python", "csv", "python"]),
            ),
            reply,
            labelled(
                "q2",
                "t2",
                "topic_tags",
                serde_json::json!([{"name": "ux"}, "Äpfel", "zebra"]),
            ),
            unthreaded,
            post("qa", "q4", "u1"),
            labelled("q5", "t5", "labels", serde_json::json!(["early"])),
            labelled("q6", "t5", "labels", serde_json::json!(["late", "bug"])),
        ],
    );
    let written = topics_by_thread(&store);
    assert_eq!(written.get("t1").map(String::as_str), Some("csv\npython"));
    assert_eq!(
        written.get("t2").map(String::as_str),
        Some("ux\nzebra\nÄpfel"),
        "byte order"
    );
    assert_eq!(written.get("t5").map(String::as_str), Some("bug\nlate"));
    drop(store);

    // The same database as a v5 kith left it (v6 only added the table), with more posts than
    // the backfill reads at a time written as v5 did: each a thread of its own, but thread
    // `span`'s first post comes before them and its last after them.
    let mut c = postgres::Client::connect(&url, postgres::NoTls).expect("connect");
    c.batch_execute(
        r#"DROP TABLE thread_topics;
           UPDATE kith_meta SET value = '5' WHERE key = 'schema_version';
           INSERT INTO threads (source_id, ext_id, seq)
           SELECT s.id, x.ext, 1 FROM sources s,
                  (SELECT 'bulk' || i AS ext FROM generate_series(1, 12000) i
                   UNION ALL VALUES ('span'), ('cleared'), ('broken')) x;
           CREATE TEMP TABLE v5 (ext_id TEXT, thread TEXT, attrs TEXT, ord SERIAL);
           INSERT INTO v5 (ext_id, thread, attrs) VALUES
               ('s1', 'span', '{"tags":["early"]}'),
               ('c1', 'cleared', '{"tags":["gone"]}'),
               ('k1', 'broken', '{"labels":["kept"]}');
           INSERT INTO v5 (ext_id, thread, attrs)
           SELECT 'b' || i, 'bulk' || i, '{"tags":["t' || (i % 7) || '"," x  y "]}' FROM generate_series(1, 12000) i;
           INSERT INTO v5 (ext_id, thread, attrs) VALUES
               ('s2', 'span', '{"text":"tags","labels":["late"]}'),
               ('c2', 'cleared', '{"tags":[]}'),
               ('k2', 'broken', '{"labels": ["not json"');
           INSERT INTO activities (source_id, ext_id, kind, ts, identity_id, thread_id, attrs, content_hash, seq)
           SELECT t.source_id, v5.ext_id, 'post', 0, (SELECT min(id) FROM identities), t.id, v5.attrs, 0, 1
             FROM v5 JOIN threads t ON t.ext_id = v5.thread ORDER BY v5.ord;"#,
    )
    .expect("a v5 database");
    drop(c);

    let store = PgStore::connect(&url).expect("migrate");
    let migrated = topics_by_thread(&store);
    for (thread, topics) in &written {
        assert_eq!(
            migrated.get(thread),
            Some(topics),
            "thread `{thread}` gets the topics the import gave it"
        );
    }
    assert_eq!(migrated.get("span").map(String::as_str), Some("late"));
    assert_eq!(migrated.get("cleared").map(String::as_str), Some(""));
    assert_eq!(migrated.get("broken").map(String::as_str), Some("kept"));
    for i in [1, 9_999, 10_000, 12_000] {
        assert_eq!(
            migrated.get(&format!("bulk{i}")).map(String::as_str),
            Some(format!("t{}\nx y", i % 7).as_str())
        );
    }
    assert_eq!(migrated.len(), written.len() + 12_003);

    // Opening again migrates nothing.
    drop(store);
    let store = PgStore::connect(&url).expect("reopen");
    assert_eq!(topics_by_thread(&store), migrated);
}
