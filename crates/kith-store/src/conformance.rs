//! The conformance suite: one set of checks every backend must pass.
//!
//! A backend's integration test calls:
//! - [`run_all`] with a factory returning a fresh, empty store: every check of [`CHECKS`], each
//!   on its own store;
//! - [`run_backup`] with the same factory and a function that opens what [`Store::backup`]
//!   wrote (SQLite: open the file; PostgreSQL: restore the archive into a new database);
//! - [`run_concurrent`] with a factory returning two handles on one fresh database.
//!
//! Checks panic with a message naming the behaviour that failed. They are deterministic (data
//! comes from a fixed generator) and small enough that the whole suite runs in seconds.
//!
//! Contract details the checks pin down, beyond the trait docs:
//! - `Counts::members` leaves out anonymous members and merged-away (empty) members.
//! - Exports rebuild the author from the identity: the latest name, handle and e-mail seen, and
//!   the `team`/`bot` hints as `Some(true)` or `None`.
//! - `read_changes` from a watermark delivers exactly the rows written since (re-importing
//!   unchanged activities writes nothing), and a rolled-back session delivers nothing.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use kith_model::{Activity, Author, Kind, Timestamp};
use serde_json::{Map, Value};

use crate::{
    ActivityFact, ActivityId, Affiliation, AuditId, AuditStatus, Backend, BatchOutcome, Change,
    Community, EntityKey, ExportedActivity, IdentityId, ImportAudit, MemberFlags, MemberId,
    MergeEvidence, Problem, Role, ScoringMark, SourceRow, Store, StoreError, TextFact, TextScore,
    TextSelection, TextToScore, UserId, Watermark,
};

/// One conformance check, run on a fresh, empty store.
pub type Check = fn(&dyn Store);

/// Pairs each check function with its name.
macro_rules! checks {
    ($($check:ident),* $(,)?) => { &[$((stringify!($check), $check as Check)),*] };
}

/// Every check [`run_all`] runs, by name.
pub const CHECKS: &[(&str, Check)] = checks![
    describe_names_the_backend_and_current_schema,
    community_settings_round_trip,
    bulk_insert_counts_and_reads_back,
    reimporting_the_same_batch_changes_nothing,
    a_changed_text_is_one_update,
    duplicates_within_one_session_count_as_unchanged,
    edit_activities_replace_the_target_text,
    delete_activities_mark_the_target_deleted,
    replies_resolve_whenever_the_target_arrives,
    addressees_reach_the_change_feed,
    author_less_activities_get_an_anonymous_member_each,
    new_identities_get_members_with_the_author_hints,
    identity_attributes_follow_the_latest_values_seen,
    members_page_in_id_order,
    member_flags_and_affiliations_round_trip,
    merge_moves_identities_and_unmerge_moves_them_back,
    unmerge_is_refused_while_a_later_merge_depends_on_it,
    invalid_merges_are_refused,
    read_changes_from_zero_delivers_everything,
    read_changes_after_a_watermark_delivers_exactly_the_new_rows,
    a_bulk_read_by_id_ranges_then_the_changes_since_equals_the_change_stream,
    packing_for_reads_changes_no_read,
    entity_keys_are_the_entities_of_the_change_stream_from_zero,
    opening_posts_labels_are_their_threads_topics,
    edits_deletions_and_merges_appear_as_changes,
    source_removal_appears_as_changes,
    a_dropped_or_rolled_back_session_leaves_no_trace,
    a_failed_import_is_audited_with_record_audit,
    audits_record_members_merged_after_commit,
    identities_list_every_identity_in_id_order,
    source_rows_are_the_sources_without_their_counts,
    audits_list_newest_first_and_by_source,
    sources_list_with_counts_and_their_latest_audit,
    ensure_source_refuses_another_format_and_bad_names,
    writing_to_a_source_not_ensured_is_refused,
    delete_source_removes_only_what_it_alone_contributed,
    export_round_trip_reproduces_the_written_activities,
    export_derives_member_team_bot_and_inferred_threads,
    an_inferred_mark_may_come_before_the_threads_first_activity,
    backup_writes_a_copy_and_refuses_nothing_else,
    activities_by_id_returns_what_export_returns,
    first_owner_is_created_only_while_no_account_exists,
    accounts_sessions_and_tokens_round_trip,
    notes_tags_tasks_and_segments_round_trip,
    messages_to_score_are_live_texts_of_message_kinds_in_id_order,
    text_scores_round_trip_and_reach_the_change_stream,
    edited_or_reimported_messages_and_older_models_need_scoring_again,
    text_scores_go_with_their_source_and_are_dropped_for_unknown_activities,
    the_scoring_mark_moves_forward_and_is_no_change,
];

/// Runs every check of [`CHECKS`], each on a fresh store from `fresh`.
pub fn run_all(fresh: &dyn Fn() -> Box<dyn Store>) {
    for (name, check) in CHECKS {
        eprintln!("conformance: {name}");
        let store = fresh();
        check(store.as_ref());
    }
}

/// [`run_all`] with every write session opened by [`Store::ingest_exclusive`]: whatever a
/// backend does with an exclusive session, the results must be the same.
pub fn run_all_exclusive(fresh: &dyn Fn() -> Box<dyn Store>) {
    EXCLUSIVE.set(true);
    let _reset = ResetExclusive;
    for (name, check) in CHECKS {
        eprintln!("conformance (exclusive sessions): {name}");
        let store = fresh();
        check(store.as_ref());
    }
}

thread_local! {
    /// Whether the checks of this thread open their sessions with `ingest_exclusive`.
    static EXCLUSIVE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Puts [`EXCLUSIVE`] back when a run ends, also by a failed check's panic.
struct ResetExclusive;

impl Drop for ResetExclusive {
    fn drop(&mut self) {
        EXCLUSIVE.set(false);
    }
}

/// A write session the way this run opens them.
fn session(store: &dyn Store) -> crate::StoreResult<Box<dyn crate::Ingest + '_>> {
    if EXCLUSIVE.get() {
        store.ingest_exclusive()
    } else {
        store.ingest()
    }
}

/// Backs up a populated store, opens the backup with `open_backup`, and compares counts,
/// exports and settings.
pub fn run_backup(
    fresh: &dyn Fn() -> Box<dyn Store>,
    open_backup: &dyn Fn(&Path) -> Box<dyn Store>,
) {
    eprintln!("conformance: backup_then_open_gives_the_same_data");
    let store = fresh();
    backup_then_open_gives_the_same_data(store.as_ref(), open_backup);
}

/// Two handles on one database: one imports session after session while the other reads
/// changes. The reader must see every session whole or not at all, its watermarks never go
/// back, and together its reads deliver every committed activity.
pub fn run_concurrent(open_pair: &dyn Fn() -> (Box<dyn Store>, Box<dyn Store>)) {
    eprintln!("conformance: a_reader_beside_a_writer_never_skips_a_committed_change");
    let (writer, reader) = open_pair();
    a_reader_beside_a_writer_never_skips_a_committed_change(writer.as_ref(), reader.as_ref());
}

// ---------------------------------------------------------------------------------------------
// Test data and helpers.

const T0: i64 = 1_700_000_000;

/// A deterministic generator of varied canonical activities (no edits or deletions): posts
/// opening threads, replies to earlier posts addressing their author, reactions, joins,
/// author-less content, sub-second times in several offsets, attributes, URLs.
fn generate(source: &str, prefix: &str, n: usize, seed: u64) -> Vec<Activity> {
    let mut rng = seed
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1_442_695_040_888_963_407);
    let mut next = move || {
        rng = rng
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        rng >> 33
    };
    let mut posts: Vec<(String, String, Option<String>)> = Vec::new(); // (id, thread, author)
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let id = format!("{prefix}{i}");
        let r = next();
        let author_n = r % 40;
        let author = if i % 50 == 17 {
            None
        } else {
            Some(author(author_n))
        };
        let offsets = [0i16, 120, -330, 60, 545];
        let ts = Timestamp {
            secs: T0 + (i as i64) * 61,
            micros: [0u32, 250_000, 123_456][i % 3],
            offset_min: offsets[i % offsets.len()],
        };
        let kind = match (r >> 8) % 10 {
            _ if posts.is_empty() => Kind::Post,
            0..=2 => Kind::Post,
            3..=6 => Kind::Reply,
            7 => Kind::Reaction,
            8 => Kind::Answer,
            _ => Kind::Join,
        };
        let mut a = Activity::new(source, id.clone(), kind, ts, author.clone());
        a.channel = Some(format!("c{}", (r >> 12) % 4));
        match kind {
            Kind::Post => {
                a.thread = Some(format!("{prefix}t{i}"));
                a.text = Some(format!(
                    "Post {i}: how do I configure the frobnicator for {} users?",
                    r % 1000
                ));
                posts.push((
                    id.clone(),
                    format!("{prefix}t{i}"),
                    author.as_ref().map(|a| a.id.clone()),
                ));
            }
            Kind::Reply | Kind::Reaction | Kind::Answer => {
                let (target, thread, target_author) = &posts[(r as usize >> 16) % posts.len()];
                a.thread = Some(thread.clone());
                a.reply_to = Some(target.clone());
                if let Some(t) = target_author {
                    a.to = vec![t.clone()];
                }
                if kind != Kind::Reaction {
                    a.text = Some(format!(
                        "Reply {i}: try setting \"mode\" to {}\nthen restart",
                        r % 97
                    ));
                }
            }
            _ => a.channel = None,
        }
        if i % 7 == 3 {
            let mut attrs = Map::new();
            attrs.insert("pinned".into(), Value::Bool(i % 2 == 0));
            attrs.insert("n".into(), Value::from(i as u64));
            attrs.insert("files".into(), Value::Array(vec![Value::from("a.png")]));
            a.attrs = attrs;
        }
        if i % 5 == 1 {
            a.url = Some(format!("https://example.org/{source}/{id}"));
        }
        out.push(a);
    }
    out
}

/// Author number `n`, always described the same way.
fn author(n: u64) -> Author {
    Author {
        id: format!("u{n}"),
        name: (!n.is_multiple_of(4)).then(|| format!("User {n}")),
        handle: Some(format!("user{n}")),
        email: n.is_multiple_of(3).then(|| format!("user{n}@example.org")),
        team: (n % 13 == 5).then_some(true),
        bot: (n == 39).then_some(true),
    }
}

fn post(source: &str, id: &str, author_id: Option<&str>, text: &str) -> Activity {
    let mut a = Activity::new(
        source,
        id,
        Kind::Post,
        Timestamp::from_secs(T0),
        author_id.map(Author::new),
    );
    a.thread = Some(format!("t-{id}"));
    a.text = Some(text.to_owned());
    a
}

fn reply(source: &str, id: &str, author_id: &str, to: &str) -> Activity {
    let mut a = Activity::new(
        source,
        id,
        Kind::Reply,
        Timestamp::from_secs(T0 + 60),
        Some(Author::new(author_id)),
    );
    a.reply_to = Some(to.to_owned());
    a.text = Some(format!("reply {id}"));
    a
}

fn audit_for(source: &str) -> ImportAudit {
    let mut audit = ImportAudit::new("jsonl", vec![format!("{source}.jsonl")], T0);
    audit.sources = vec![source.to_owned()];
    audit
}

/// Imports `batches` into `source` in one session and commits; returns the summed outcome.
fn import(store: &dyn Store, source: &str, batches: &[&[Activity]]) -> BatchOutcome {
    let mut session = session(store).unwrap_or_else(|e| panic!("starting an ingest session: {e}"));
    session
        .ensure_source(source, "jsonl")
        .unwrap_or_else(|e| panic!("ensure_source({source}): {e}"));
    let mut total = BatchOutcome::default();
    for batch in batches {
        total += session
            .write(batch)
            .unwrap_or_else(|e| panic!("writing a batch to {source}: {e}"));
    }
    let mut audit = audit_for(source);
    audit.read = batches.iter().map(|b| b.len() as u64).sum();
    audit.add(&total);
    session
        .commit(&audit)
        .unwrap_or_else(|e| panic!("committing an import into {source}: {e}"));
    total
}

fn export(store: &dyn Store) -> Vec<ExportedActivity> {
    let mut out = Vec::new();
    store
        .export_activities(&mut |a| {
            out.push(a);
            Ok(())
        })
        .unwrap_or_else(|e| panic!("export_activities: {e}"));
    out
}

fn exported<'a>(all: &'a [ExportedActivity], source: &str, id: &str) -> &'a ExportedActivity {
    all.iter()
        .find(|e| e.activity.source == source && e.activity.id == id)
        .unwrap_or_else(|| panic!("activity {source}/{id} is missing from the export"))
}

fn changes(store: &dyn Store, since: Watermark) -> (Vec<Change>, Watermark) {
    let mut out = Vec::new();
    let mark = store
        .read_changes(since, &mut |c| {
            out.push(c);
            Ok(())
        })
        .unwrap_or_else(|e| panic!("read_changes({since:?}): {e}"));
    (out, mark)
}

fn facts(changes: &[Change]) -> BTreeMap<ActivityId, ActivityFact> {
    changes
        .iter()
        .filter_map(|c| match c {
            Change::Activity(f) => Some((f.id, f.clone())),
            _ => None,
        })
        .collect()
}

fn activity_ids(store: &dyn Store) -> BTreeMap<(String, String), ActivityId> {
    export(store)
        .into_iter()
        .map(|e| ((e.activity.source, e.activity.id), e.id))
        .collect()
}

fn member_of(store: &dyn Store, source: &str, ext_id: &str) -> MemberId {
    let all = export(store);
    let found = all
        .iter()
        .find(|e| {
            e.activity.source == source
                && e.activity.author.as_ref().is_some_and(|a| a.id == ext_id)
        })
        .unwrap_or_else(|| panic!("no activity of {source}/{ext_id} to find its member by"));
    MemberId(
        found
            .derived
            .member
            .unwrap_or_else(|| panic!("the export of {source}/{ext_id} names no member")),
    )
}

fn evidence(reason: &str) -> MergeEvidence {
    MergeEvidence {
        reason: reason.to_owned(),
        score: 1.0,
        actor: "conformance".to_owned(),
    }
}

/// Compares everything, including the parts of the timestamp `Timestamp`'s equality ignores.
fn assert_same_activity(got: &Activity, want: &Activity, what: &str) {
    assert_eq!(
        got, want,
        "{what}: activity {}/{} differs",
        want.source, want.id
    );
    assert_eq!(
        (got.ts.secs, got.ts.micros, got.ts.offset_min),
        (want.ts.secs, want.ts.micros, want.ts.offset_min),
        "{what}: activity {}/{} lost part of its timestamp",
        want.source,
        want.id
    );
}

fn expect_err<T: std::fmt::Debug>(
    result: Result<T, StoreError>,
    what: &str,
    matches: fn(&StoreError) -> bool,
) {
    match result {
        Ok(v) => panic!("{what}: expected an error, got {v:?}"),
        Err(e) => assert!(matches(&e), "{what}: wrong error kind: {e:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// The checks.

pub fn describe_names_the_backend_and_current_schema(store: &dyn Store) {
    let info = store.describe();
    assert_eq!(
        info.schema_version,
        crate::SCHEMA_VERSION,
        "describe() reports another schema version"
    );
    assert!(!info.location.is_empty(), "describe() gives no location");
}

pub fn community_settings_round_trip(store: &dyn Store) {
    assert_eq!(
        store.community().expect("community"),
        Community::default(),
        "a new database has the default settings"
    );
    let c = Community {
        name: "Rustaceans of Lyon".into(),
        time_zone: "Europe/Paris".into(),
    };
    store.set_community(&c).expect("set_community");
    assert_eq!(
        store.community().expect("community"),
        c,
        "community settings did not round-trip"
    );
}

pub fn bulk_insert_counts_and_reads_back(store: &dyn Store) {
    let a = generate("forum", "a", 3000, 1);
    let b = generate("chat", "b", 1500, 2);
    let out_a = import(store, "forum", &[&a[..1000], &a[1000..2000], &a[2000..]]);
    let out_b = import(store, "chat", &[&b[..700], &b[700..]]);
    assert_eq!(
        (out_a.inserted, out_a.updated, out_a.unchanged),
        (3000, 0, 0),
        "first import of forum"
    );
    assert_eq!(
        (out_b.inserted, out_b.updated, out_b.unchanged),
        (1500, 0, 0),
        "first import of chat"
    );

    let all: Vec<&Activity> = a.iter().chain(&b).collect();
    let authors: BTreeSet<(&str, &str)> = all
        .iter()
        .filter_map(|x| {
            x.author
                .as_ref()
                .map(|au| (x.source.as_str(), au.id.as_str()))
        })
        .collect();
    let anonymous = all.iter().filter(|x| x.author.is_none()).count() as u64;
    let channels: BTreeSet<(&str, &str)> = all
        .iter()
        .filter_map(|x| x.channel.as_deref().map(|c| (x.source.as_str(), c)))
        .collect();
    let threads: BTreeSet<(&str, &str)> = all
        .iter()
        .filter_map(|x| x.thread.as_deref().map(|t| (x.source.as_str(), t)))
        .collect();
    assert_eq!(
        out_a.identities_created + out_b.identities_created,
        authors.len() as u64 + anonymous,
        "identities created"
    );
    assert_eq!(
        out_a.members_created + out_b.members_created,
        authors.len() as u64 + anonymous,
        "members created"
    );

    let counts = store.counts().expect("counts");
    assert_eq!(counts.sources, 2, "sources counted");
    assert_eq!(counts.activities, 4500, "activities counted");
    assert_eq!(counts.deleted_activities, 0, "no deleted activities");
    assert_eq!(
        counts.identities,
        authors.len() as u64 + anonymous,
        "identities counted (anonymous ones included)"
    );
    assert_eq!(
        counts.members,
        authors.len() as u64,
        "members counted (anonymous ones left out)"
    );
    assert_eq!(counts.channels, channels.len() as u64, "channels counted");
    assert_eq!(counts.threads, threads.len() as u64, "threads counted");

    let back = export(store);
    assert_eq!(back.len(), 4500, "export returns every activity");
    assert!(
        back.windows(2).all(|w| w[0].id < w[1].id),
        "export is ordered by activity id"
    );
    for (got, want) in back.iter().zip(all) {
        assert_same_activity(&got.activity, want, "bulk read-back (in insertion order)");
        assert!(!got.deleted, "nothing was deleted");
    }
}

pub fn reimporting_the_same_batch_changes_nothing(store: &dyn Store) {
    let batch = generate("forum", "a", 800, 3);
    import(store, "forum", &[&batch]);
    let (_, mark) = changes(store, Watermark::ZERO);
    let before = store.counts().expect("counts");
    let again = import(store, "forum", &[&batch]);
    assert_eq!(
        (again.inserted, again.updated, again.unchanged),
        (0, 0, 800),
        "re-import counts everything unchanged"
    );
    assert_eq!(
        (again.identities_created, again.members_created),
        (0, 0),
        "re-import creates no identities or members"
    );
    assert_eq!(
        store.counts().expect("counts"),
        before,
        "re-import changes no counts"
    );
    let (delta, _) = changes(store, mark);
    assert!(
        !delta.iter().any(|c| matches!(
            c,
            Change::Activity(_) | Change::Identity(_) | Change::Member(_)
        )),
        "re-importing unchanged activities must write no activity, identity or member: {delta:?}"
    );
}

pub fn a_changed_text_is_one_update(store: &dyn Store) {
    let batch = generate("forum", "a", 300, 4);
    import(store, "forum", &[&batch]);
    let mut changed = batch.clone();
    let i = changed
        .iter()
        .position(|a| a.text.is_some())
        .expect("a generated activity with text");
    changed[i].text = Some("corrected text".into());
    let out = import(store, "forum", &[&changed]);
    assert_eq!(
        (out.inserted, out.updated, out.unchanged),
        (0, 1, 299),
        "one changed text is one update"
    );
    let back = export(store);
    assert_same_activity(
        &exported(&back, "forum", &changed[i].id).activity,
        &changed[i],
        "updated activity",
    );
    assert_eq!(
        store.counts().expect("counts").activities,
        300,
        "an update adds no row"
    );
}

pub fn duplicates_within_one_session_count_as_unchanged(store: &dyn Store) {
    let a = post("forum", "p1", Some("u1"), "hello");
    let mut session = session(store).expect("ingest");
    session
        .ensure_source("forum", "jsonl")
        .expect("ensure_source");
    let first = session.write(&[a.clone(), a.clone()]).expect("write");
    let second = session.write(std::slice::from_ref(&a)).expect("write");
    session.commit(&audit_for("forum")).expect("commit");
    assert_eq!(
        (first.inserted, first.unchanged),
        (1, 1),
        "a second copy in the same batch is unchanged"
    );
    assert_eq!(
        (second.inserted, second.unchanged),
        (0, 1),
        "a copy in a later batch of the session is unchanged"
    );
    assert_eq!(store.counts().expect("counts").activities, 1, "stored once");
}

pub fn edit_activities_replace_the_target_text(store: &dyn Store) {
    let original = post("forum", "p1", Some("u1"), "teh original");
    let mut edit = Activity::new(
        "forum",
        "e1",
        Kind::Edit,
        Timestamp::from_secs(T0 + 120),
        Some(Author::new("u1")),
    );
    edit.reply_to = Some("p1".into());
    edit.text = Some("the original".into());
    import(store, "forum", &[std::slice::from_ref(&original)]);
    let (_, mark) = changes(store, Watermark::ZERO);
    let out = import(store, "forum", &[std::slice::from_ref(&edit)]);
    assert_eq!(
        out.inserted, 1,
        "the edit is stored as an activity of its own"
    );
    let back = export(store);
    assert_eq!(
        exported(&back, "forum", "p1").activity.text.as_deref(),
        Some("the original"),
        "the edit replaced the text"
    );
    assert_eq!(
        exported(&back, "forum", "e1").activity.kind,
        Kind::Edit,
        "the edit itself is exported"
    );
    let target = exported(&back, "forum", "p1").id;
    let (delta, _) = changes(store, mark);
    assert!(
        facts(&delta).contains_key(&target),
        "an edited activity appears in the changes"
    );

    // Re-importing the original does not undo the edit: its content did not change.
    let again = import(store, "forum", &[std::slice::from_ref(&original)]);
    assert_eq!(
        again.unchanged, 1,
        "re-importing the edited original is unchanged"
    );
    let back = export(store);
    assert_eq!(
        exported(&back, "forum", "p1").activity.text.as_deref(),
        Some("the original"),
        "the edit stays"
    );

    // An edit in the same batch as its target.
    let p2 = post("forum", "p2", Some("u2"), "first draft");
    let mut e2 = Activity::new(
        "forum",
        "e2",
        Kind::Edit,
        Timestamp::from_secs(T0 + 180),
        Some(Author::new("u2")),
    );
    e2.reply_to = Some("p2".into());
    e2.text = Some("second draft".into());
    import(store, "forum", &[&[p2, e2]]);
    let back = export(store);
    assert_eq!(
        exported(&back, "forum", "p2").activity.text.as_deref(),
        Some("second draft"),
        "same-batch edit applied"
    );

    // An edit of an unknown activity is stored and changes nothing else.
    let mut stray = Activity::new(
        "forum",
        "e3",
        Kind::Edit,
        Timestamp::from_secs(T0 + 240),
        Some(Author::new("u2")),
    );
    stray.reply_to = Some("nowhere".into());
    stray.text = Some("?".into());
    import(store, "forum", &[&[stray]]);
    assert_eq!(
        store.counts().expect("counts").activities,
        5,
        "edits are stored, targets are not invented"
    );
}

pub fn delete_activities_mark_the_target_deleted(store: &dyn Store) {
    let p1 = post("forum", "p1", Some("u1"), "spam spam");
    import(store, "forum", &[std::slice::from_ref(&p1)]);
    let (_, mark) = changes(store, Watermark::ZERO);
    let mut del = Activity::new(
        "forum",
        "d1",
        Kind::Delete,
        Timestamp::from_secs(T0 + 60),
        Some(Author::new("mod")),
    );
    del.reply_to = Some("p1".into());
    import(store, "forum", &[&[del]]);
    let counts = store.counts().expect("counts");
    assert_eq!(
        (counts.activities, counts.deleted_activities),
        (2, 1),
        "the target stays, flagged deleted"
    );
    let back = export(store);
    let target = exported(&back, "forum", "p1");
    assert!(target.deleted, "the export flags the deleted activity");
    assert_same_activity(
        &target.activity,
        &p1,
        "a deleted activity keeps its content",
    );
    assert!(
        !exported(&back, "forum", "d1").deleted,
        "the deletion itself is not deleted"
    );
    let (delta, _) = changes(store, mark);
    let fact = facts(&delta)
        .get(&target.id)
        .cloned()
        .expect("the deleted activity appears in the changes");
    assert!(fact.deleted, "the change carries the deleted flag");
}

pub fn replies_resolve_whenever_the_target_arrives(store: &dyn Store) {
    // Same batch, reply first; a reply to a target of an earlier session; a reply whose target
    // arrives in a later session.
    import(
        store,
        "forum",
        &[&[
            reply("forum", "r1", "u2", "p1"),
            post("forum", "p1", Some("u1"), "q"),
        ]],
    );
    import(
        store,
        "forum",
        &[&[
            reply("forum", "r2", "u3", "p1"),
            reply("forum", "r3", "u3", "p9"),
        ]],
    );
    let ids = activity_ids(store);
    let id = |x: &str| ids[&("forum".to_owned(), x.to_owned())];
    let (all, _) = changes(store, Watermark::ZERO);
    let f = facts(&all);
    assert_eq!(
        f[&id("r1")].reply_to,
        Some(id("p1")),
        "a reply stored before its target in the same batch resolves"
    );
    assert_eq!(
        f[&id("r2")].reply_to,
        Some(id("p1")),
        "a reply to an earlier session's activity resolves"
    );
    assert_eq!(
        f[&id("r3")].reply_to,
        None,
        "a reply to an unknown activity stays unresolved"
    );
    let (_, mark) = changes(store, Watermark::ZERO);
    import(
        store,
        "forum",
        &[&[post("forum", "p9", Some("u1"), "late")]],
    );
    let ids = activity_ids(store);
    let p9 = ids[&("forum".to_owned(), "p9".to_owned())];
    let (delta, _) = changes(store, mark);
    let f = facts(&delta);
    assert_eq!(
        f.get(&id("r3")).map(|x| x.reply_to),
        Some(Some(p9)),
        "a reply resolves when its target arrives later, and appears in the changes"
    );
}

pub fn addressees_reach_the_change_feed(store: &dyn Store) {
    // The network metrics read mentions from the change feed: `to` as written, in order; an
    // activity without addressees has none; an edit that changes them is delivered again.
    let mut r1 = reply("forum", "r1", "u2", "p1");
    r1.to = vec!["u1".into(), "u9 with \"quotes\"".into()];
    let p1 = post("forum", "p1", Some("u1"), "q");
    import(store, "forum", &[&[p1, r1.clone()]]);
    let ids = activity_ids(store);
    let id = |x: &str| ids[&("forum".to_owned(), x.to_owned())];
    let (all, mark) = changes(store, Watermark::ZERO);
    let f = facts(&all);
    assert_eq!(f[&id("r1")].to, r1.to, "addressees as written");
    assert!(f[&id("p1")].to.is_empty(), "no addressees");
    r1.to = vec!["u3".into()];
    import(store, "forum", &[&[r1.clone()]]);
    let (delta, _) = changes(store, mark);
    assert_eq!(
        facts(&delta)[&id("r1")].to,
        vec!["u3".to_owned()],
        "changed addressees are a change"
    );
}

pub fn author_less_activities_get_an_anonymous_member_each(store: &dyn Store) {
    let a1 = post("forum", "x1", None, "who wrote this?");
    let a2 = post("forum", "x2", None, "and this?");
    let named = post("forum", "x3", Some("u1"), "me");
    let out = import(store, "forum", &[&[a1.clone(), a2.clone(), named]]);
    assert_eq!(
        (out.identities_created, out.members_created),
        (3, 3),
        "one identity and member per author-less activity"
    );
    let back = export(store);
    let m1 = exported(&back, "forum", "x1").derived.member;
    let m2 = exported(&back, "forum", "x2").derived.member;
    assert!(
        m1.is_some() && m2.is_some(),
        "author-less activities still have a member"
    );
    assert_ne!(m1, m2, "two author-less activities never share a member");
    assert_same_activity(
        &exported(&back, "forum", "x1").activity,
        &a1,
        "author-less export",
    );
    for m in [m1, m2].into_iter().flatten() {
        let detail = store.member(MemberId(m)).expect("member");
        assert!(
            detail.member.anonymous,
            "the member of author-less content is anonymous"
        );
        assert_eq!(
            detail.identities.len(),
            1,
            "an anonymous member has exactly one identity"
        );
        assert!(detail.identities[0].anonymous, "its identity is anonymous");
        assert!(
            detail.identities[0].ext_id.starts_with("anon:"),
            "its identity key starts with anon:"
        );
    }
    let counts = store.counts().expect("counts");
    assert_eq!(
        (counts.identities, counts.members),
        (3, 1),
        "anonymous members are left out of member counts"
    );
    // Importing them again reuses their anonymous identities.
    let again = import(store, "forum", &[&[a1, a2]]);
    assert_eq!(
        (again.unchanged, again.identities_created),
        (2, 0),
        "re-import reuses anonymous identities"
    );
}

pub fn new_identities_get_members_with_the_author_hints(store: &dyn Store) {
    let mut staff = Author::new("s1");
    staff.name = Some("Sam Staff".into());
    staff.team = Some(true);
    let mut robot = Author::new("b1");
    robot.handle = Some("deploybot".into());
    robot.bot = Some(true);
    let a = Activity::new(
        "forum",
        "1",
        Kind::Post,
        Timestamp::from_secs(T0),
        Some(staff),
    );
    let b = Activity::new(
        "forum",
        "2",
        Kind::Post,
        Timestamp::from_secs(T0),
        Some(robot),
    );
    import(store, "forum", &[&[a, b]]);
    let s = store
        .member(member_of(store, "forum", "s1"))
        .expect("member");
    assert!(
        s.member.team && !s.member.bot,
        "author.team makes a team member"
    );
    assert_eq!(
        s.member.display_name.as_deref(),
        Some("Sam Staff"),
        "display name from the author's name"
    );
    assert!(s.identities[0].team, "the identity keeps the team hint");
    let b = store
        .member(member_of(store, "forum", "b1"))
        .expect("member");
    assert!(
        b.member.bot && !b.member.team,
        "author.bot makes a bot member"
    );
    assert_eq!(
        b.member.display_name.as_deref(),
        Some("deploybot"),
        "display name falls back to the handle"
    );
}

pub fn identity_attributes_follow_the_latest_values_seen(store: &dyn Store) {
    let mut first = Author::new("u1");
    first.name = Some("Ada".into());
    import(
        store,
        "forum",
        &[&[Activity::new(
            "forum",
            "1",
            Kind::Post,
            Timestamp::from_secs(T0),
            Some(first),
        )]],
    );
    let (_, mark) = changes(store, Watermark::ZERO);
    let mut later = Author::new("u1");
    later.name = Some("Ada Lovelace".into());
    later.email = Some("ada@example.org".into());
    let bare = Author::new("u1");
    import(
        store,
        "forum",
        &[&[
            Activity::new(
                "forum",
                "2",
                Kind::Post,
                Timestamp::from_secs(T0 + 1),
                Some(later),
            ),
            Activity::new(
                "forum",
                "3",
                Kind::Post,
                Timestamp::from_secs(T0 + 2),
                Some(bare),
            ),
        ]],
    );
    let detail = store
        .member(member_of(store, "forum", "u1"))
        .expect("member");
    assert_eq!(
        detail.identities.len(),
        1,
        "the same platform user is one identity"
    );
    let ident = &detail.identities[0];
    assert_eq!(
        ident.name.as_deref(),
        Some("Ada Lovelace"),
        "a new name replaces the old"
    );
    assert_eq!(
        ident.email.as_deref(),
        Some("ada@example.org"),
        "a new e-mail is kept"
    );
    let (delta, _) = changes(store, mark);
    assert!(
        delta.iter().any(|c| matches!(c, Change::Identity(i) if i.id == ident.id && i.name.as_deref() == Some("Ada Lovelace"))),
        "a refreshed identity appears in the changes"
    );
    let back = export(store);
    let author = exported(&back, "forum", "1")
        .activity
        .author
        .clone()
        .expect("an author");
    assert_eq!(
        author.name.as_deref(),
        Some("Ada Lovelace"),
        "exports carry the latest name seen"
    );
}

pub fn members_page_in_id_order(store: &dyn Store) {
    let batch: Vec<Activity> = (0..25)
        .map(|i| post("forum", &format!("p{i}"), Some(&format!("u{i}")), "hi"))
        .collect();
    import(store, "forum", &[&batch]);
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = store.members(after, 10).expect("members");
        assert!(page.len() <= 10, "a page holds at most `limit` members");
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        seen.extend(page.iter().map(|m| m.id));
    }
    assert_eq!(seen.len(), 25, "paging visits every member once");
    assert!(
        seen.windows(2).all(|w| w[0] < w[1]),
        "members come in id order"
    );
}

pub fn member_flags_and_affiliations_round_trip(store: &dyn Store) {
    import(store, "forum", &[&[post("forum", "p1", Some("u1"), "hi")]]);
    let m = member_of(store, "forum", "u1");
    let (_, mark) = changes(store, Watermark::ZERO);
    let flags = MemberFlags {
        team: true,
        team_since: Some(T0 + 3600),
        bot: false,
    };
    store.set_member_flags(m, &flags).expect("set_member_flags");
    let aff = Affiliation {
        organisation: "Acme".into(),
        since: Some(T0),
        until: None,
    };
    store.add_affiliation(m, &aff).expect("add_affiliation");
    let detail = store.member(m).expect("member");
    assert_eq!(
        (
            detail.member.team,
            detail.member.team_since,
            detail.member.bot
        ),
        (true, Some(T0 + 3600), false),
        "member flags round-trip"
    );
    assert_eq!(
        detail.affiliations,
        vec![aff.clone()],
        "affiliations round-trip"
    );
    assert_eq!(
        store.affiliations().expect("affiliations"),
        vec![(m, aff)],
        "every affiliation is listed with its member"
    );
    let (delta, _) = changes(store, mark);
    assert!(
        delta
            .iter()
            .any(|c| matches!(c, Change::Member(r) if r.id == m && r.team)),
        "a flag change appears in the changes"
    );
    expect_err(
        store.set_member_flags(MemberId(987_654), &flags),
        "flags of an unknown member",
        |e| matches!(e, StoreError::NotFound(_)),
    );
    let bad = Affiliation {
        organisation: "Acme".into(),
        since: Some(T0 + 10),
        until: Some(T0),
    };
    expect_err(
        store.add_affiliation(m, &bad),
        "an affiliation ending before it starts",
        |e| matches!(e, StoreError::Invalid(_)),
    );
}

pub fn merge_moves_identities_and_unmerge_moves_them_back(store: &dyn Store) {
    import(
        store,
        "forum",
        &[&[
            post("forum", "p1", Some("ada"), "a"),
            post("forum", "p2", Some("ada2"), "b"),
        ]],
    );
    import(store, "chat", &[&[post("chat", "m1", Some("U1"), "c")]]);
    let into = member_of(store, "forum", "ada");
    let from = member_of(store, "chat", "U1");
    let from_identities: Vec<IdentityId> = store
        .member(from)
        .expect("member")
        .identities
        .iter()
        .map(|i| i.id)
        .collect();
    let ev = MergeEvidence {
        reason: "same e-mail ada@example.org".into(),
        score: 0.93,
        actor: "auto".into(),
    };
    let record = store.merge_members(into, from, &ev).expect("merge_members");
    assert_eq!(
        (record.into, record.from),
        (into, from),
        "the merge record names both members"
    );
    assert_eq!(
        record.identities, from_identities,
        "the merge record lists the identities moved"
    );
    assert_eq!(record.evidence, ev, "the merge record keeps its evidence");
    assert_eq!(record.undone_at, None, "a new merge is in force");
    let target = store.member(into).expect("member");
    assert_eq!(
        target.identities.len(),
        2,
        "the identities moved onto the member merged into"
    );
    let source = store.member(from).expect("member");
    assert!(
        source.identities.is_empty(),
        "the merged-away member is left empty"
    );
    assert_eq!(
        source.member.merged_into,
        Some(into),
        "the merged-away member points at the member merged into"
    );
    assert_eq!(
        store.counts().expect("counts").members,
        2,
        "a merged-away member is not counted"
    );
    let back = export(store);
    assert_eq!(
        exported(&back, "chat", "m1").derived.member,
        Some(into.0),
        "exports follow the merge"
    );
    assert_eq!(
        store.merges().expect("merges"),
        vec![record.clone()],
        "the merge is logged"
    );

    let undone = store.unmerge(record.id, "alice").expect("unmerge");
    assert_eq!(
        undone.undone_by.as_deref(),
        Some("alice"),
        "the undo records who"
    );
    assert!(undone.undone_at.is_some(), "the undo records when");
    let restored = store.member(from).expect("member");
    assert_eq!(
        restored.identities.iter().map(|i| i.id).collect::<Vec<_>>(),
        from_identities,
        "unmerge moves exactly the merged identities back"
    );
    assert_eq!(
        restored.member.merged_into, None,
        "unmerge clears merged_into"
    );
    assert_eq!(
        store.member(into).expect("member").identities.len(),
        1,
        "the member merged into keeps its own"
    );
    let log = store.merges().expect("merges");
    assert_eq!(log.len(), 1, "the undo does not add to the log");
    assert_eq!(
        log[0].undone_by.as_deref(),
        Some("alice"),
        "the log shows the undo"
    );
    expect_err(
        store.unmerge(record.id, "alice"),
        "undoing a merge twice",
        |e| matches!(e, StoreError::Conflict(_)),
    );
    expect_err(
        store.unmerge(crate::MergeId(424_242), "alice"),
        "undoing an unknown merge",
        |e| matches!(e, StoreError::NotFound(_)),
    );
}

pub fn unmerge_is_refused_while_a_later_merge_depends_on_it(store: &dyn Store) {
    import(
        store,
        "forum",
        &[&[
            post("forum", "p1", Some("a"), "a"),
            post("forum", "p2", Some("b"), "b"),
            post("forum", "p3", Some("c"), "c"),
        ]],
    );
    let (a, b, c) = (
        member_of(store, "forum", "a"),
        member_of(store, "forum", "b"),
        member_of(store, "forum", "c"),
    );
    let first = store
        .merge_members(a, b, &evidence("hand"))
        .expect("merge b into a");
    let second = store
        .merge_members(c, a, &evidence("hand"))
        .expect("merge a into c");
    assert_eq!(
        second.identities.len(),
        2,
        "the later merge moves a's own identity and b's onward"
    );
    expect_err(
        store.unmerge(first.id, "alice"),
        "undoing a merge a later merge moved onward",
        |e| matches!(e, StoreError::Conflict(_)),
    );
    assert_eq!(
        store.member(c).expect("member").identities.len(),
        3,
        "a refused undo changes nothing"
    );
    store
        .unmerge(second.id, "alice")
        .expect("undoing the later merge first");
    store
        .unmerge(first.id, "alice")
        .expect("then the earlier one");
    for (m, n) in [(a, 1), (b, 1), (c, 1)] {
        assert_eq!(
            store.member(m).expect("member").identities.len(),
            n,
            "every member has its own identity back"
        );
    }
    // A later merge that was undone no longer blocks.
    let third = store
        .merge_members(a, b, &evidence("again"))
        .expect("merge b into a again");
    let fourth = store
        .merge_members(c, a, &evidence("again"))
        .expect("merge a into c again");
    store.unmerge(fourth.id, "alice").expect("undo the later");
    store
        .unmerge(third.id, "alice")
        .expect("an undone later merge does not block");
}

pub fn invalid_merges_are_refused(store: &dyn Store) {
    import(
        store,
        "forum",
        &[&[
            post("forum", "p1", Some("a"), "a"),
            post("forum", "p2", None, "anon"),
        ]],
    );
    let a = member_of(store, "forum", "a");
    let anon = MemberId(
        exported(&export(store), "forum", "p2")
            .derived
            .member
            .expect("member"),
    );
    expect_err(
        store.merge_members(a, a, &evidence("self")),
        "merging a member into itself",
        |e| matches!(e, StoreError::Invalid(_)),
    );
    expect_err(
        store.merge_members(anon, a, &evidence("anon")),
        "merging into an anonymous member",
        |e| matches!(e, StoreError::Invalid(_)),
    );
    expect_err(
        store.merge_members(a, anon, &evidence("anon")),
        "merging an anonymous member away",
        |e| matches!(e, StoreError::Invalid(_)),
    );
    expect_err(
        store.merge_members(a, MemberId(987_654), &evidence("ghost")),
        "merging an unknown member",
        |e| matches!(e, StoreError::NotFound(_)),
    );
    assert!(
        store.merges().expect("merges").is_empty(),
        "refused merges are not logged"
    );
}

pub fn read_changes_from_zero_delivers_everything(store: &dyn Store) {
    let batch = generate("forum", "a", 500, 5);
    import(store, "forum", &[&batch]);
    import(store, "chat", &[&generate("chat", "b", 200, 6)]);
    store
        .set_source_base_url("forum", Some("https://forum.example.org"))
        .expect("set_source_base_url");
    let (all, mark) = changes(store, Watermark::ZERO);
    assert!(mark > Watermark::ZERO, "the watermark moves past zero");
    let counts = store.counts().expect("counts");
    let count = |f: fn(&Change) -> bool| all.iter().filter(|c| f(c)).count() as u64;
    assert_eq!(count(|c| matches!(c, Change::Source(_))), 2, "every source");
    assert_eq!(
        count(|c| matches!(c, Change::Channel(_))),
        counts.channels,
        "every channel"
    );
    assert_eq!(
        count(|c| matches!(c, Change::Thread(_))),
        counts.threads,
        "every thread"
    );
    assert_eq!(
        count(|c| matches!(c, Change::Identity(_))),
        counts.identities,
        "every identity"
    );
    assert_eq!(
        facts(&all).len() as u64,
        counts.activities,
        "every activity, once"
    );
    let members = store.members(None, usize::MAX).expect("members");
    assert_eq!(
        count(|c| matches!(c, Change::Member(_))),
        members.len() as u64,
        "every member row"
    );
    assert!(
        all.iter().any(|c| matches!(c, Change::Source(s) if s.base_url.as_deref() == Some("https://forum.example.org"))),
        "sources carry their base URL"
    );
    // Parents come before their children.
    let position = |f: &dyn Fn(&Change) -> bool| all.iter().position(f);
    let first_activity = position(&|c| matches!(c, Change::Activity(_))).expect("activities");
    let last_identity = all
        .iter()
        .rposition(|c| matches!(c, Change::Identity(_)))
        .expect("identities");
    let last_source = all
        .iter()
        .rposition(|c| matches!(c, Change::Source(_)))
        .expect("sources");
    assert!(
        last_source < first_activity && last_identity < first_activity,
        "parents before children"
    );
    // Reading again from the new watermark gives nothing.
    let (none, again) = changes(store, mark);
    assert!(
        none.is_empty(),
        "nothing changed since the watermark: {none:?}"
    );
    assert!(again >= mark, "watermarks never go back");
}

pub fn read_changes_after_a_watermark_delivers_exactly_the_new_rows(store: &dyn Store) {
    let first = generate("forum", "a", 400, 7);
    import(store, "forum", &[&first]);
    let (_, mark) = changes(store, Watermark::ZERO);
    let before = activity_ids(store);
    // New activities, one by a new author, and one changed text.
    let mut second = generate("forum", "z", 50, 8);
    second.push(post(
        "forum",
        "newcomer-post",
        Some("newcomer"),
        "first time here",
    ));
    let mut edited = first[10].clone();
    edited.text = Some("changed".into());
    second.push(edited);
    import(store, "forum", &[&second]);
    let after = activity_ids(store);
    let mut expected: BTreeSet<ActivityId> = after
        .iter()
        .filter(|(k, _)| !before.contains_key(*k))
        .map(|(_, v)| *v)
        .collect();
    expected.insert(before[&("forum".to_owned(), first[10].id.clone())]);
    let (delta, _) = changes(store, mark);
    let got: BTreeSet<ActivityId> = facts(&delta).into_keys().collect();
    assert_eq!(
        got, expected,
        "the changes since a watermark are exactly the new and changed activities"
    );
    let newcomer = store
        .member(member_of(store, "forum", "newcomer"))
        .expect("member");
    assert!(
        delta
            .iter()
            .any(|c| matches!(c, Change::Identity(i) if i.id == newcomer.identities[0].id)),
        "a new identity appears in the changes"
    );
    assert!(
        delta
            .iter()
            .any(|c| matches!(c, Change::Member(m) if m.id == newcomer.member.id)),
        "a new member appears in the changes"
    );
    assert!(
        !delta.iter().any(|c| matches!(c, Change::Source(_))),
        "an unchanged source is not delivered again"
    );
}

/// `read_entity_keys` gives the entities `read_changes_except_activities` gives from zero,
/// key for key and in the same order, with the same watermark: after two sources, a team
/// member with a start date, a bot, a merge (an identity moved, a member emptied) and an
/// author-less post (an anonymous member).
pub fn entity_keys_are_the_entities_of_the_change_stream_from_zero(store: &dyn Store) {
    let mut forum = generate("forum", "a", 200, 21);
    forum.push(post("forum", "anon", None, "who wrote this?"));
    let chat = generate("chat", "c", 80, 22);
    import(store, "forum", &[&forum]);
    import(store, "chat", &[&chat]);
    let author =
        |acts: &[Activity], k: usize| acts[k].author.as_ref().expect("an author").id.clone();
    let team = member_of(store, "forum", &author(&forum, 0));
    let flags = |team: bool, team_since: Option<i64>, bot: bool| MemberFlags {
        team,
        team_since,
        bot,
    };
    store
        .set_member_flags(team, &flags(true, Some(1_700_000_000), false))
        .expect("set_member_flags");
    let bot = member_of(store, "chat", &author(&chat, 0));
    store
        .set_member_flags(bot, &flags(false, None, true))
        .expect("set_member_flags");
    let into = member_of(store, "forum", &author(&forum, 1));
    // A chat author with a member of its own (not one of the above).
    let (from, moved) = (1..chat.len())
        .filter(|&k| chat[k].author.is_some())
        .map(|k| {
            (
                member_of(store, "chat", &author(&chat, k)),
                author(&chat, k),
            )
        })
        .find(|(m, _)| ![team, bot, into].contains(m))
        .expect("a chat member to merge");
    store
        .merge_members(into, from, &evidence("same person"))
        .expect("merge_members");

    let mut stream = Vec::new();
    let stream_mark = store
        .read_changes_except_activities(Watermark::ZERO, &mut |c| {
            stream.push(c);
            Ok(())
        })
        .unwrap_or_else(|e| panic!("read_changes_except_activities: {e}"));
    let want: Vec<EntityKey<'_>> = stream.iter().filter_map(EntityKey::of).collect();
    // The lent keys, kept as text.
    let own = |k: &EntityKey<'_>| format!("{k:?}");
    let mut got = Vec::new();
    let mark = store
        .read_entity_keys(&mut |k| {
            got.push(own(&k));
            Ok(())
        })
        .unwrap_or_else(|e| panic!("read_entity_keys: {e}"));
    assert_eq!(
        got,
        want.iter().map(own).collect::<Vec<_>>(),
        "the entities of the change stream, in its order"
    );
    assert_eq!(mark, stream_mark, "the same watermark");
    let count = |f: fn(&EntityKey<'_>) -> bool| want.iter().filter(|k| f(k)).count();
    assert_eq!(
        count(|k| matches!(k, EntityKey::Source { .. })),
        2,
        "both sources"
    );
    assert!(
        want.iter().any(|k| matches!(k, EntityKey::Member { id, team: true, team_since: Some(1_700_000_000), .. } if *id == team)),
        "the team member with its start date"
    );
    assert!(
        want.iter()
            .any(|k| matches!(k, EntityKey::Member { id, bot: true, .. } if *id == bot)),
        "the bot"
    );
    assert!(
        want.iter().any(|k| matches!(
            k,
            EntityKey::Member {
                anonymous: true,
                ..
            }
        )),
        "the anonymous member"
    );
    assert!(
        want.iter().any(|k| matches!(k, EntityKey::Identity { member, ext_id, .. } if *member == into && *ext_id == moved)),
        "the merged identity points at the member it was merged into"
    );
    assert!(
        count(|k| matches!(k, EntityKey::Thread { .. })) as u64
            == store.counts().expect("counts").threads,
        "every thread"
    );

    // A write after the read: the next read sees it and moves the watermark on.
    import(store, "chat", &[&generate("chat", "late", 5, 23)]);
    let mut again = 0usize;
    let later = store
        .read_entity_keys(&mut |_| {
            again += 1;
            Ok(())
        })
        .unwrap_or_else(|e| panic!("read_entity_keys: {e}"));
    assert!(later > mark, "the watermark moves with a write");
    assert!(again > got.len(), "the later read has the new entities");
}

/// An opening post's platform labels are its thread's topics ([`crate::topics_of`]), in the
/// change stream and the entity keys; a reply's are not; a re-import that changes them
/// replaces them (and only then is the thread a change); deleting the source takes them.
pub fn opening_posts_labels_are_their_threads_topics(store: &dyn Store) {
    let tagged = |id: &str, tags: serde_json::Value| {
        let mut a = post("qa", id, Some("u1"), "How do I read a CSV file?");
        a.attrs.insert("tags".into(), tags);
        a
    };
    let mut r = reply("qa", "r1", "u2", "q1");
    r.thread = Some("t-q1".into());
    r.attrs
        .insert("tags".into(), serde_json::json!(["not-a-topic"]));
    let q1 = tagged("q1", serde_json::json!(["python", "csv", "python"]));
    let q2 = post("qa", "q2", Some("u1"), "No labels here");
    import(store, "qa", &[&[q1, r, q2]]);

    let topics_by_thread = |changes: &[Change]| -> BTreeMap<String, String> {
        changes
            .iter()
            .filter_map(|c| match c {
                Change::Thread(t) => Some((t.ext_id.clone(), t.topics.clone())),
                _ => None,
            })
            .collect()
    };
    let (all, mark) = changes(store, Watermark::ZERO);
    let threads = topics_by_thread(&all);
    assert_eq!(threads.get("t-q1").map(String::as_str), Some("csv\npython"));
    assert_eq!(threads.get("t-q2").map(String::as_str), Some(""));
    // The entity keys carry the same topics.
    let keyed_topics = || {
        let mut keyed = Vec::new();
        store
            .read_entity_keys(&mut |k| {
                if let EntityKey::Thread { topics, .. } = k {
                    keyed.push(topics.to_owned());
                }
                Ok(())
            })
            .unwrap_or_else(|e| panic!("read_entity_keys: {e}"));
        keyed.sort();
        keyed
    };
    assert_eq!(
        keyed_topics(),
        ["", "csv\npython"],
        "the threads' topics as entity keys"
    );

    // The same export again: nothing changes, no thread is a change.
    let q1 = tagged("q1", serde_json::json!(["python", "csv", "python"]));
    let again = import(store, "qa", &[&[q1]]);
    assert_eq!(again.unchanged, 1);
    let (later, mark2) = changes(store, mark);
    assert!(
        topics_by_thread(&later).is_empty(),
        "an unchanged re-import changes no thread: {later:?}"
    );
    // Labels changed on the platform: replaced.
    let q1 = tagged("q1", serde_json::json!([{"name": "pandas"}, "csv"]));
    let changed = import(store, "qa", &[&[q1]]);
    assert_eq!(changed.updated, 1);
    let (later, mark3) = changes(store, mark2);
    assert_eq!(
        topics_by_thread(&later).get("t-q1").map(String::as_str),
        Some("csv\npandas"),
        "the new labels replace the old"
    );
    // Labels removed: the thread has none.
    let q1 = tagged("q1", serde_json::json!([]));
    import(store, "qa", &[&[q1]]);
    let (later, _) = changes(store, mark3);
    assert_eq!(
        topics_by_thread(&later).get("t-q1").map(String::as_str),
        Some("")
    );

    // Two labelled posts of one new thread in one session: the later one's labels replace
    // the earlier one's, as across sessions.
    let mut first = tagged("n1", serde_json::json!(["old", "shared"]));
    first.thread = Some("t-new".into());
    let mut second = tagged("n2", serde_json::json!(["shared", "young"]));
    second.thread = Some("t-new".into());
    let mark4 = changes(store, Watermark::ZERO).1;
    import(store, "qa", &[&[first], &[second]]);
    let (later, _) = changes(store, mark4);
    assert_eq!(
        topics_by_thread(&later).get("t-new").map(String::as_str),
        Some("shared\nyoung"),
        "the later post of the session gives the topics"
    );

    // The source deleted: its threads and their topics go; another source's stay.
    let other = tagged("o1", serde_json::json!(["kept"]));
    import(
        store,
        "qa2",
        &[&[{
            let mut o = other;
            o.source = "qa2".into();
            o
        }]],
    );
    store.delete_source("qa").expect("delete_source");
    assert_eq!(
        keyed_topics(),
        ["kept"],
        "only the other source's thread is left"
    );
}

/// The three steps of a bulk read (`read_changes_except_activities` from zero, the
/// activities stamped below its watermark by id ranges, `read_changes` from the watermark)
/// deliver what `read_changes` from zero does, even with writes between the steps.
pub fn a_bulk_read_by_id_ranges_then_the_changes_since_equals_the_change_stream(store: &dyn Store) {
    a_bulk_read_then_the_changes_since_equal_the_change_stream(store);
}

/// `Store::pack_for_reads` is a cache for bulk reads (`read_activities`): with enough
/// activities for whole blocks of packs (SQLite packs 4,096 ids a block), every read gives the
/// same before and after packing, after an edit and a deletion of packed activities, and
/// packing again writes only what changed.
pub fn packing_for_reads_changes_no_read(store: &dyn Store) {
    let first = generate("forum", "a", 9_000, 21);
    import(store, "forum", &[&first]);
    let reads = |store: &dyn Store| -> Vec<Vec<ActivityFact>> {
        let (ids, mark) = store
            .activity_id_range()
            .unwrap_or_else(|e| panic!("activity_id_range: {e}"));
        let mid = ids.start + 5_000;
        [
            ids.clone(),
            ids.start..mid,
            mid..ids.end,
            ids.start + 17..ids.end - 17,
        ]
        .into_iter()
        .map(|range| bulk_read(store, range, mark))
        .collect()
    };
    let unpacked = reads(store);
    assert_eq!(unpacked[0].len(), 9_000, "every activity read");
    let packed = store
        .pack_for_reads()
        .unwrap_or_else(|e| panic!("pack_for_reads: {e}"));
    assert_eq!(
        reads(store),
        unpacked,
        "packed reads equal the rows ({packed:?})"
    );
    assert_eq!(
        store.pack_for_reads().map(|p| p.blocks).ok(),
        Some(0),
        "current packs are not written again"
    );

    // An edit and a deletion of early (packed) activities.
    let mut edit = Activity::new(
        "forum",
        "e1",
        Kind::Edit,
        first[3].ts,
        first[3].author.clone(),
    );
    edit.reply_to = Some(first[3].id.clone());
    edit.text = Some("edited".into());
    let mut delete = Activity::new(
        "forum",
        "d1",
        Kind::Delete,
        first[9].ts,
        first[9].author.clone(),
    );
    delete.reply_to = Some(first[9].id.clone());
    import(store, "forum", &[&[edit, delete]]);
    let after = reads(store);
    let deleted = activity_ids(store)[&("forum".to_owned(), first[9].id.clone())];
    assert!(
        after[0].iter().any(|f| f.id == deleted && f.deleted),
        "the deletion is read"
    );
    let repacked = store
        .pack_for_reads()
        .unwrap_or_else(|e| panic!("pack_for_reads: {e}"));
    assert_eq!(reads(store), after, "repacked reads equal the rows");
    assert!(
        repacked.blocks <= packed.blocks,
        "only blocks with changes are packed again: {repacked:?} after {packed:?}"
    );
}

/// `Store::read_activities` of `range` below `mark`, collected.
fn bulk_read(store: &dyn Store, range: std::ops::Range<i64>, mark: Watermark) -> Vec<ActivityFact> {
    let mut out = Vec::new();
    store
        .read_activities(range.clone(), mark, &mut |f| {
            out.push(f.clone());
            Ok(())
        })
        .unwrap_or_else(|e| panic!("read_activities({range:?}): {e}"));
    out
}

fn a_bulk_read_then_the_changes_since_equal_the_change_stream(store: &dyn Store) {
    let mut first = generate("forum", "a", 300, 11);
    first[5].to = vec!["someone".into(), "with \"quotes\" and \\ escapes".into()];
    import(store, "forum", &[&first]);
    import(store, "chat", &[&generate("chat", "c", 100, 12)]);
    let (all, _) = changes(store, Watermark::ZERO);

    // Step 1: everything but activities.
    let mut entities = Vec::new();
    let mark = store
        .read_changes_except_activities(Watermark::ZERO, &mut |c| {
            entities.push(c);
            Ok(())
        })
        .unwrap_or_else(|e| panic!("read_changes_except_activities: {e}"));
    assert!(
        !entities.iter().any(|c| matches!(c, Change::Activity(_))),
        "no activity in the first step"
    );
    let without: Vec<&Change> = all
        .iter()
        .filter(|c| !matches!(c, Change::Activity(_)))
        .collect();
    assert_eq!(
        entities.iter().collect::<Vec<_>>(),
        without,
        "the first step is the change stream without its activities"
    );

    // The id range carries a watermark too, usable the same way.
    let (ids_before, range_mark) = store
        .activity_id_range()
        .unwrap_or_else(|e| panic!("activity_id_range: {e}"));

    // Step 2, with writes after the watermark: a changed text and a new activity.
    let mut edited = first[20].clone();
    edited.text = Some("changed after the watermark".into());
    import(
        store,
        "forum",
        &[&[edited], &generate("forum", "late", 5, 13)],
    );
    let (ids, _) = store
        .activity_id_range()
        .unwrap_or_else(|e| panic!("activity_id_range: {e}"));
    let read = |range: std::ops::Range<i64>| bulk_read(store, range, mark);
    let whole = read(ids.clone());
    let mid = ids.start + (ids.end - ids.start) / 2;
    let halves: Vec<ActivityFact> = read(ids.start..mid)
        .into_iter()
        .chain(read(mid..ids.end))
        .collect();
    assert_eq!(halves, whole, "two id ranges read the same as one");
    assert!(
        whole.windows(2).all(|w| w[0].id < w[1].id),
        "activities come in id order"
    );
    let changed_id = activity_ids(store)[&("forum".to_owned(), first[20].id.clone())];
    let before_mark: BTreeMap<ActivityId, ActivityFact> = facts(&all)
        .into_iter()
        .filter(|(id, _)| *id != changed_id)
        .collect();
    let got: BTreeMap<ActivityId, ActivityFact> = whole.into_iter().map(|f| (f.id, f)).collect();
    let addressed = activity_ids(store)[&("forum".to_owned(), first[5].id.clone())];
    assert_eq!(
        got[&addressed].to, first[5].to,
        "addressees arrive as written"
    );
    assert_eq!(
        got, before_mark,
        "the activities stamped below the watermark, as the change stream gave them; the one \
         changed since is left to the next step"
    );

    let mut by_range_mark = Vec::new();
    store
        .read_activities(ids_before.clone(), range_mark, &mut |f| {
            by_range_mark.push(f.clone());
            Ok(())
        })
        .unwrap_or_else(|e| panic!("read_activities: {e}"));
    assert_eq!(
        by_range_mark
            .into_iter()
            .map(|f| (f.id, f))
            .collect::<BTreeMap<_, _>>(),
        got,
        "the id range's watermark leaves out the same changed activity"
    );

    // Step 3: the changes since the watermark bring the changed and the new activities.
    let (since, _) = changes(store, mark);
    let later = facts(&since);
    assert!(
        later.contains_key(&changed_id),
        "the changed activity follows"
    );
    assert_eq!(
        later.len(),
        6,
        "the changed activity and the 5 new ones: {:?}",
        later.keys()
    );
    assert!(
        ids.contains(&changed_id.0),
        "the id range covers every activity"
    );
}

pub fn edits_deletions_and_merges_appear_as_changes(store: &dyn Store) {
    import(
        store,
        "forum",
        &[&[
            post("forum", "p1", Some("a"), "x"),
            post("forum", "p2", Some("b"), "y"),
        ]],
    );
    let ids = activity_ids(store);
    let id = |x: &str| ids[&("forum".to_owned(), x.to_owned())];
    let (_, mark) = changes(store, Watermark::ZERO);
    let mut del = Activity::new(
        "forum",
        "d1",
        Kind::Delete,
        Timestamp::from_secs(T0 + 5),
        Some(Author::new("a")),
    );
    del.reply_to = Some("p2".into());
    import(store, "forum", &[&[del]]);
    let (delta, mark2) = changes(store, mark);
    let f = facts(&delta);
    assert!(
        f.get(&id("p2")).is_some_and(|x| x.deleted),
        "a deletion re-delivers its target, flagged"
    );
    assert!(
        !f.contains_key(&id("p1")),
        "untouched activities are not re-delivered"
    );

    let (a, b) = (
        member_of(store, "forum", "a"),
        member_of(store, "forum", "b"),
    );
    let merge = store.merge_members(a, b, &evidence("hand")).expect("merge");
    let (delta, mark3) = changes(store, mark2);
    for identity in &merge.identities {
        assert!(
            delta
                .iter()
                .any(|c| matches!(c, Change::Identity(i) if i.id == *identity && i.member == a)),
            "a merged identity appears with its new member"
        );
    }
    assert!(
        delta
            .iter()
            .any(|c| matches!(c, Change::Member(m) if m.id == b && m.merged_into == Some(a))),
        "the merged-away member appears with merged_into set"
    );
    assert!(facts(&delta).is_empty(), "a merge rewrites no activity");
    store.unmerge(merge.id, "alice").expect("unmerge");
    let (delta, _) = changes(store, mark3);
    for identity in &merge.identities {
        assert!(
            delta
                .iter()
                .any(|c| matches!(c, Change::Identity(i) if i.id == *identity && i.member == b)),
            "an unmerged identity appears back on its member"
        );
    }
    assert!(
        delta
            .iter()
            .any(|c| matches!(c, Change::Member(m) if m.id == b && m.merged_into.is_none())),
        "the restored member appears with merged_into cleared"
    );
}

pub fn source_removal_appears_as_changes(store: &dyn Store) {
    import(store, "forum", &[&generate("forum", "a", 60, 9)]);
    import(store, "chat", &[&[post("chat", "m1", Some("U1"), "hi")]]);
    let (all, mark) = changes(store, Watermark::ZERO);
    let forum = match all
        .iter()
        .find(|c| matches!(c, Change::Source(s) if s.name == "forum"))
    {
        Some(Change::Source(s)) => s.id,
        _ => panic!("the forum source is missing from the changes"),
    };
    // What the forum contributed, as (entity, id); members are those of its identities.
    let mut contributed: BTreeSet<(&str, i64)> = BTreeSet::new();
    for c in &all {
        match c {
            Change::Activity(a) if a.source == forum => contributed.insert(("activity", a.id.0)),
            Change::Identity(i) if i.source == forum => {
                contributed.insert(("member", i.member.0));
                contributed.insert(("identity", i.id.0))
            }
            Change::Channel(x) if x.source == forum => contributed.insert(("channel", x.id.0)),
            Change::Thread(x) if x.source == forum => contributed.insert(("thread", x.id.0)),
            _ => false,
        };
    }
    contributed.insert(("source", forum.0));
    let activities: BTreeSet<i64> = contributed
        .iter()
        .filter(|(e, _)| *e == "activity")
        .map(|(_, id)| *id)
        .collect();
    let deleted = store.delete_source("forum").expect("delete_source");
    assert_eq!(
        deleted.activities,
        activities.len() as u64,
        "delete_source reports the activities removed"
    );
    let (delta, _) = changes(store, mark);
    let removed: BTreeSet<(&str, i64)> = delta
        .iter()
        .filter_map(|c| match c {
            Change::ActivityRemoved(x) => Some(("activity", x.0)),
            Change::IdentityRemoved(x) => Some(("identity", x.0)),
            Change::MemberRemoved(x) => Some(("member", x.0)),
            Change::ChannelRemoved(x) => Some(("channel", x.0)),
            Change::ThreadRemoved(x) => Some(("thread", x.0)),
            Change::SourceRemoved(x) => Some(("source", x.0)),
            _ => None,
        })
        .collect();
    assert_eq!(
        removed, contributed,
        "every activity, identity, channel and thread of the source, the members left without \
         identities and the source itself appear as removals"
    );
    // Ids of removed rows are never handed out again.
    import(store, "forum", &[&generate("forum", "n", 20, 17)]);
    let (fresh, _) = changes(store, Watermark::ZERO);
    let max_removed = activities.iter().max().copied().unwrap_or(0);
    let new_ids: Vec<i64> = facts(&fresh)
        .values()
        .filter(|f| !activities.contains(&f.id.0))
        .map(|f| f.id.0)
        .collect();
    assert!(
        new_ids.len() >= 20 && new_ids.iter().all(|id| *id > max_removed),
        "new activities take ids above every removed one: {new_ids:?} vs {max_removed}"
    );
}

pub fn a_dropped_or_rolled_back_session_leaves_no_trace(store: &dyn Store) {
    import(
        store,
        "forum",
        &[&[post("forum", "p0", Some("u0"), "kept")]],
    );
    let (_, mark) = changes(store, Watermark::ZERO);
    let before = store.counts().expect("counts");
    let batch = generate("forum", "a", 200, 10);
    {
        let mut session = session(store).expect("ingest");
        session
            .ensure_source("forum", "jsonl")
            .expect("ensure_source");
        session
            .ensure_source("other", "jsonl")
            .expect("ensure_source");
        session.write(&batch).expect("write");
        // Dropped without commit.
    }
    let mut session = session(store).expect("ingest after a dropped session");
    session
        .ensure_source("forum", "jsonl")
        .expect("ensure_source");
    session.write(&batch).expect("write");
    session.rollback().expect("rollback");
    assert_eq!(
        store.counts().expect("counts"),
        before,
        "dropped and rolled-back sessions store nothing"
    );
    assert_eq!(
        store.sources().expect("sources").len(),
        1,
        "a source ensured in a rolled-back session is gone"
    );
    let (delta, _) = changes(store, mark);
    assert!(
        delta.is_empty(),
        "rolled-back sessions leave no change behind: {delta:?}"
    );
    assert_eq!(
        store.audits(None, 10).expect("audits").len(),
        1,
        "rolled-back sessions store no audit"
    );
    // The store is still writable.
    let out = import(store, "forum", &[&batch]);
    assert_eq!(out.inserted, 200, "a later session stores everything");
}

pub fn a_failed_import_is_audited_with_record_audit(store: &dyn Store) {
    let mut audit = audit_for("forum");
    audit.status = AuditStatus::Failed;
    audit.read = 12;
    audit.error = Some("export.jsonl:13: expected `}`".into());
    audit.skip(Problem {
        file: "export.jsonl".into(),
        line: 4,
        location: None,
        reason: "invalid record".into(),
        message: "missing id".into(),
    });
    audit.first_ts = Some(T0);
    audit.last_ts = Some(T0 + 10);
    {
        let mut session = session(store).expect("ingest");
        session
            .ensure_source("forum", "jsonl")
            .expect("ensure_source");
        session
            .write(&generate("forum", "a", 12, 11))
            .expect("write");
        session.rollback().expect("rollback");
    }
    let id = store.record_audit(&audit).expect("record_audit");
    let stored = store.audits(None, 10).expect("audits");
    assert_eq!(stored.len(), 1, "the failed import's audit is stored");
    assert_eq!(stored[0].id, id, "the audit id is returned");
    assert_eq!(
        stored[0].audit, audit,
        "the audit round-trips with its problems and skip counts"
    );
    assert_eq!(
        store.counts().expect("counts").activities,
        0,
        "the failed import stored nothing"
    );
}

pub fn audits_record_members_merged_after_commit(store: &dyn Store) {
    import(store, "forum", &[&[post("forum", "p1", Some("u1"), "a")]]);
    let id = store.audits(None, 1).expect("audits")[0].id;
    store
        .set_audit_members_merged(id, 3)
        .expect("set_audit_members_merged");
    assert_eq!(
        store.audits(None, 1).expect("audits")[0]
            .audit
            .members_merged,
        3
    );
    expect_err(
        store.set_audit_members_merged(AuditId(id.0 + 1000), 1),
        "annotating an unknown audit",
        |e| matches!(e, StoreError::NotFound(_)),
    );
}

pub fn identities_list_every_identity_in_id_order(store: &dyn Store) {
    import(
        store,
        "forum",
        &[&[
            post("forum", "p1", Some("u1"), "a"),
            post("forum", "p2", Some("u2"), "b"),
            post("forum", "p3", None, "c"),
        ]],
    );
    let all = store.identities().expect("identities");
    assert_eq!(all.len(), 3, "two authors and one anonymous identity");
    assert!(all.windows(2).all(|w| w[0].id < w[1].id), "ordered by id");
    assert_eq!(all.iter().filter(|i| i.anonymous).count(), 1);
    let u1 = all.iter().find(|i| i.ext_id == "u1").expect("u1");
    assert_eq!(u1.member, member_of(store, "forum", "u1"));
}

pub fn source_rows_are_the_sources_without_their_counts(store: &dyn Store) {
    assert!(store.source_rows().expect("source_rows").is_empty());
    import(store, "forum", &[&[post("forum", "p1", Some("u1"), "a")]]);
    import(store, "chat", &[&[post("chat", "m1", Some("U1"), "b")]]);
    store
        .set_source_base_url("forum", Some("https://forum.example.org"))
        .expect("set_source_base_url");
    let rows = store.source_rows().expect("source_rows");
    let summaries = store.sources().expect("sources");
    let summarised: Vec<SourceRow> = summaries
        .iter()
        .map(|s| SourceRow {
            id: s.id,
            name: s.name.clone(),
            format: s.format.clone(),
            base_url: s.base_url.clone(),
        })
        .collect();
    assert_eq!(rows, summarised, "the same sources, by name");
    assert_eq!(
        rows.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
        ["chat", "forum"]
    );
    assert_eq!(
        rows[1].base_url.as_deref(),
        Some("https://forum.example.org")
    );
}

pub fn audits_list_newest_first_and_by_source(store: &dyn Store) {
    import(store, "forum", &[&[post("forum", "p1", Some("u1"), "a")]]);
    import(store, "chat", &[&[post("chat", "m1", Some("U1"), "b")]]);
    let mut dry = audit_for("forum");
    dry.status = AuditStatus::DryRun;
    store.record_audit(&dry).expect("record_audit");
    let all = store.audits(None, 10).expect("audits");
    assert_eq!(all.len(), 3, "every audit");
    assert!(all.windows(2).all(|w| w[0].id > w[1].id), "newest first");
    assert_eq!(
        all[0].audit.status,
        AuditStatus::DryRun,
        "the newest is the dry run"
    );
    let forum = store.audits(Some("forum"), 10).expect("audits");
    assert_eq!(forum.len(), 2, "audits of one source");
    assert!(
        forum
            .iter()
            .all(|a| a.audit.sources.contains(&"forum".to_owned())),
        "only that source's audits"
    );
    assert_eq!(
        store.audits(None, 1).expect("audits").len(),
        1,
        "limit is respected"
    );
    let committed = &store.audits(Some("chat"), 10).expect("audits")[0].audit;
    assert_eq!(
        (committed.status, committed.imported),
        (AuditStatus::Committed, 1),
        "commit stores the audit"
    );
}

pub fn sources_list_with_counts_and_their_latest_audit(store: &dyn Store) {
    import(store, "forum", &[&generate("forum", "a", 100, 12)]);
    import(
        store,
        "chat",
        &[&[
            post("chat", "m1", Some("U1"), "b"),
            post("chat", "m2", None, "c"),
        ]],
    );
    store
        .set_source_base_url("forum", Some("https://forum.example.org"))
        .expect("set_source_base_url");
    let sources = store.sources().expect("sources");
    let names: Vec<&str> = sources.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["chat", "forum"], "sources by name");
    let chat = &sources[0];
    assert_eq!(
        (chat.activities, chat.identities),
        (2, 2),
        "per-source counts"
    );
    assert_eq!(chat.format, "jsonl", "the format is kept");
    assert!(chat.created_at > 0, "the creation time is kept");
    let audit = chat.last_audit.as_ref().expect("the latest audit of chat");
    assert_eq!(
        audit.audit.sources,
        vec!["chat".to_owned()],
        "the latest audit is that source's"
    );
    assert_eq!(
        sources[1].base_url.as_deref(),
        Some("https://forum.example.org"),
        "the base URL is listed"
    );
    store
        .set_source_base_url("forum", None)
        .expect("clearing the base URL");
    assert_eq!(
        store.sources().expect("sources")[1].base_url,
        None,
        "the base URL can be cleared"
    );
    expect_err(
        store.set_source_base_url("nope", Some("https://x.org")),
        "base URL of an unknown source",
        |e| matches!(e, StoreError::NotFound(_)),
    );
}

pub fn ensure_source_refuses_another_format_and_bad_names(store: &dyn Store) {
    import(store, "forum", &[&[post("forum", "p1", Some("u1"), "a")]]);
    let mut session = session(store).expect("ingest");
    let id = session
        .ensure_source("forum", "jsonl")
        .expect("the same format again");
    assert_eq!(
        id,
        store.sources().expect("sources")[0].id,
        "ensure_source returns the existing source"
    );
    assert!(
        session.ensure_source("forum", "discourse").is_err(),
        "a source cannot change format"
    );
    assert!(
        session.ensure_source("", "jsonl").is_err(),
        "an empty source name is refused"
    );
    assert!(
        session.ensure_source(" padded ", "jsonl").is_err(),
        "a padded source name is refused"
    );
    session.rollback().expect("rollback");
}

pub fn writing_to_a_source_not_ensured_is_refused(store: &dyn Store) {
    let mut session = session(store).expect("ingest");
    session
        .ensure_source("forum", "jsonl")
        .expect("ensure_source");
    let result = session.write(&[post("elsewhere", "p1", Some("u1"), "a")]);
    assert!(
        result.is_err(),
        "an activity naming a source not ensured in the session is refused"
    );
    session.rollback().expect("rollback");
}

pub fn delete_source_removes_only_what_it_alone_contributed(store: &dyn Store) {
    import(
        store,
        "forum",
        &[&[
            post("forum", "p1", Some("ada"), "a"),
            post("forum", "p2", Some("bob"), "b"),
        ]],
    );
    import(
        store,
        "chat",
        &[&[
            post("chat", "m1", Some("ada-chat"), "c"),
            post("chat", "m2", None, "d"),
        ]],
    );
    let ada = member_of(store, "forum", "ada");
    let bob = member_of(store, "forum", "bob");
    let ada_chat = member_of(store, "chat", "ada-chat");
    store
        .merge_members(ada, ada_chat, &evidence("same person"))
        .expect("merge");
    let deleted = store.delete_source("chat").expect("delete_source");
    assert_eq!(deleted.activities, 2, "the source's activities are removed");
    assert_eq!(
        deleted.identities, 2,
        "the source's identities are removed (anonymous included)"
    );
    assert_eq!(
        deleted.members, 1,
        "only the anonymous member was left without identities"
    );
    let counts = store.counts().expect("counts");
    assert_eq!(
        (
            counts.sources,
            counts.activities,
            counts.identities,
            counts.members
        ),
        (1, 2, 2, 2),
        "forum untouched"
    );
    let detail = store
        .member(ada)
        .expect("a member with identities elsewhere stays");
    assert_eq!(detail.identities.len(), 1, "it keeps its other identities");
    assert!(
        store.member(bob).is_ok(),
        "members of the other source stay"
    );
    assert_eq!(
        store.sources().expect("sources").len(),
        1,
        "the source is gone"
    );
    let back = export(store);
    assert!(
        back.iter().all(|e| e.activity.source == "forum"),
        "no activity of the deleted source is exported"
    );

    let deleted = store.delete_source("forum").expect("delete_source");
    assert_eq!(deleted.activities, 2, "the last source's activities go");
    assert!(
        deleted.members >= 2,
        "members left without identities go (got {})",
        deleted.members
    );
    assert!(
        matches!(store.member(bob), Err(StoreError::NotFound(_))),
        "a removed member is not found"
    );
    expect_err(
        store.delete_source("forum"),
        "deleting an unknown source",
        |e| matches!(e, StoreError::NotFound(_)),
    );
    let counts = store.counts().expect("counts");
    assert_eq!(
        (
            counts.sources,
            counts.activities,
            counts.identities,
            counts.members,
            counts.channels,
            counts.threads
        ),
        (0, 0, 0, 0, 0, 0),
        "deleting every source empties the community"
    );
    // A deleted name can be imported again.
    assert_eq!(
        import(store, "forum", &[&[post("forum", "p1", Some("ada"), "a")]]).inserted,
        1,
        "re-import after delete"
    );
}

pub fn export_round_trip_reproduces_the_written_activities(store: &dyn Store) {
    let mut batch = generate("forum", "a", 400, 13);
    // Awkward values survive too.
    let mut odd = post(
        "forum",
        "odd/id \"quoted\"",
        Some("ünïcode"),
        "emoji 🦀, quotes \" and \\ and\nnew lines",
    );
    odd.ts = Timestamp {
        secs: -86_400 * 365,
        micros: 999_999,
        offset_min: -720,
    };
    odd.to = vec!["a\"b".into(), "c".into()];
    let mut attrs = Map::new();
    attrs.insert(
        "nested".into(),
        serde_json::json!({"deep": [1, 2.5, null, "x"], "flag": false}),
    );
    odd.attrs = attrs;
    odd.url = Some("https://example.org/?q=1&r=2".into());
    batch.push(odd);
    let mut bare = Activity::new("forum", "bare", Kind::Join, Timestamp::from_secs(T0), None);
    bare.channel = None;
    batch.push(bare);
    import(store, "forum", &[&batch]);
    let back = export(store);
    assert_eq!(back.len(), batch.len(), "every activity is exported");
    for (got, want) in back.iter().zip(&batch) {
        assert_same_activity(&got.activity, want, "export round trip");
    }
}

/// An importer may send the inferred mark of a conversation before the activity that opens it
/// (its marks are batched apart from its activities). The thread is then created once, by its
/// activities, and is inferred; a mark for a thread no activity opened still makes the thread.
pub fn an_inferred_mark_may_come_before_the_threads_first_activity(store: &dyn Store) {
    let mut session = session(store).expect("ingest");
    session
        .ensure_source("chat", "slack-export")
        .expect("ensure_source");
    session
        .mark_inferred_threads("chat", &["conv-9".to_owned(), "conv-empty".to_owned()])
        .expect("mark_inferred_threads");
    let mut opening = post("chat", "m9", Some("U9"), "anyone around?");
    opening.thread = Some("conv-9".into());
    let mut reply = post("chat", "m10", Some("U10"), "yes");
    reply.thread = Some("conv-9".into());
    reply.reply_to = Some("m9".into());
    let mut preparer = session.preparer();
    let prepared = preparer.prepare(vec![opening, reply]);
    drop(preparer);
    session.write_prepared(&prepared).expect("write_prepared");
    session.commit(&audit_for("chat")).expect("commit");
    let back = export(store);
    let m9 = exported(&back, "chat", "m9");
    let m10 = exported(&back, "chat", "m10");
    assert!(
        m9.derived.inferred_thread,
        "the opening post's thread is inferred"
    );
    assert!(
        m10.derived.inferred_thread,
        "the reply's thread is inferred"
    );
    assert_eq!(
        m9.activity.thread.as_deref(),
        Some("conv-9"),
        "the opening post keeps its thread"
    );
    assert_eq!(m10.activity.thread, m9.activity.thread, "one thread");
    let (all, _) = changes(store, Watermark::ZERO);
    let mut threads: Vec<(String, bool)> = all
        .iter()
        .filter_map(|c| match c {
            Change::Thread(t) => Some((t.ext_id.clone(), t.inferred)),
            _ => None,
        })
        .collect();
    threads.sort();
    assert_eq!(
        threads,
        vec![("conv-9".to_owned(), true), ("conv-empty".to_owned(), true)],
        "each thread once, both inferred"
    );
}

pub fn export_derives_member_team_bot_and_inferred_threads(store: &dyn Store) {
    let mut chat = post("chat", "m1", Some("U1"), "hi");
    chat.thread = Some("conv-1".into());
    let mut session = session(store).expect("ingest");
    session
        .ensure_source("chat", "slack-export")
        .expect("ensure_source");
    session
        .write(&[chat, post("chat", "m2", Some("U2"), "yo")])
        .expect("write");
    session
        .mark_inferred_threads("chat", &["conv-1".to_owned()])
        .expect("mark_inferred_threads");
    session.commit(&audit_for("chat")).expect("commit");
    let m1 = member_of(store, "chat", "U1");
    store
        .set_member_flags(
            m1,
            &MemberFlags {
                team: true,
                team_since: None,
                bot: false,
            },
        )
        .expect("flags");
    let m2 = member_of(store, "chat", "U2");
    store
        .set_member_flags(
            m2,
            &MemberFlags {
                team: false,
                team_since: None,
                bot: true,
            },
        )
        .expect("flags");
    let back = export(store);
    let e1 = exported(&back, "chat", "m1");
    assert_eq!(e1.derived.member, Some(m1.0), "derived member");
    assert!(e1.derived.team && !e1.derived.bot, "derived team flag");
    assert!(e1.derived.inferred_thread, "an inferred thread is flagged");
    let e2 = exported(&back, "chat", "m2");
    assert!(e2.derived.bot && !e2.derived.team, "derived bot flag");
    assert!(
        !e2.derived.inferred_thread,
        "a platform thread is not inferred"
    );
    let (all, _) = changes(store, Watermark::ZERO);
    assert!(
        all.iter()
            .any(|c| matches!(c, Change::Thread(t) if t.ext_id == "conv-1" && t.inferred)),
        "the thread change carries the inferred flag"
    );
}

pub fn backup_writes_a_copy_and_refuses_nothing_else(store: &dyn Store) {
    import(store, "forum", &[&generate("forum", "a", 50, 14)]);
    let dir = tempfile::tempdir().expect("a temporary folder");
    let dest = dir.path().join("backup.kith");
    store
        .backup(&dest)
        .unwrap_or_else(|e| panic!("backup to {}: {e}", dest.display()));
    let size = std::fs::metadata(&dest).map(|m| m.len()).unwrap_or(0);
    assert!(size > 0, "the backup file is written");
    // Backing up again replaces the file, and the live store keeps working.
    store.backup(&dest).expect("a second backup over the first");
    assert_eq!(
        store.counts().expect("counts").activities,
        50,
        "the store is unaffected by a backup"
    );
}

fn backup_then_open_gives_the_same_data(
    store: &dyn Store,
    open_backup: &dyn Fn(&Path) -> Box<dyn Store>,
) {
    import(store, "forum", &[&generate("forum", "a", 300, 15)]);
    import(store, "chat", &[&generate("chat", "b", 100, 16)]);
    let c = Community {
        name: "Backed up".into(),
        time_zone: "Asia/Tokyo".into(),
    };
    store.set_community(&c).expect("set_community");
    let (a, b) = (
        member_of(store, "forum", "u1"),
        member_of(store, "chat", "u1"),
    );
    store
        .merge_members(a, b, &evidence("same handle"))
        .expect("merge");
    let dir = tempfile::tempdir().expect("a temporary folder");
    let dest = dir.path().join("backup.kith");
    store
        .backup(&dest)
        .unwrap_or_else(|e| panic!("backup to {}: {e}", dest.display()));
    let copy = open_backup(&dest);
    assert_eq!(
        copy.counts().expect("counts of the copy"),
        store.counts().expect("counts"),
        "the copy has the same counts"
    );
    assert_eq!(
        copy.community().expect("community of the copy"),
        c,
        "the copy has the same settings"
    );
    assert_eq!(
        copy.merges().expect("merges of the copy"),
        store.merges().expect("merges"),
        "the copy has the merge log"
    );
    let (orig, back) = (export(store), export(copy.as_ref()));
    assert_eq!(
        orig.len(),
        back.len(),
        "the copy exports as many activities"
    );
    for (o, b) in orig.iter().zip(&back) {
        assert_same_activity(&b.activity, &o.activity, "backup copy");
        assert_eq!(
            (b.id, &b.derived, b.deleted),
            (o.id, &o.derived, o.deleted),
            "backup copy keeps ids and derivations"
        );
    }
}

fn a_reader_beside_a_writer_never_skips_a_committed_change(writer: &dyn Store, reader: &dyn Store) {
    const SESSIONS: usize = 15;
    const PER_SESSION: usize = 200;
    let done = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        let writing = scope.spawn(|| {
            for k in 0..SESSIONS {
                let mut batch = generate("forum", &format!("s{k}-"), PER_SESSION, k as u64);
                for a in &mut batch {
                    // One thread per session, so the reader can tell sessions apart.
                    a.thread = Some(format!("session-{k}"));
                }
                import(
                    writer,
                    "forum",
                    &[&batch[..PER_SESSION / 2], &batch[PER_SESSION / 2..]],
                );
            }
            done.store(true, std::sync::atomic::Ordering::SeqCst);
        });
        let mut mark = Watermark::ZERO;
        let mut seen: BTreeSet<ActivityId> = BTreeSet::new();
        let mut per_thread: HashMap<i64, usize> = HashMap::new();
        let mut reads = 0;
        loop {
            // A writer that panicked never sets `done`: stop reading and let the join report it.
            let finished = done.load(std::sync::atomic::Ordering::SeqCst) || writing.is_finished();
            let (delta, next) = changes(reader, mark);
            assert!(
                next >= mark,
                "the watermark went back from {mark:?} to {next:?}"
            );
            for fact in facts(&delta).into_values() {
                if seen.insert(fact.id) {
                    *per_thread
                        .entry(fact.thread.map_or(-1, |t| t.0))
                        .or_default() += 1;
                }
            }
            for (thread, n) in &per_thread {
                assert_eq!(
                    *n, PER_SESSION,
                    "thread {thread}: a reader saw part of a session ({n} of {PER_SESSION})"
                );
            }
            mark = next;
            reads += 1;
            if finished {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        writing
            .join()
            .unwrap_or_else(|_| panic!("the writer thread panicked"));
        let all: BTreeSet<ActivityId> = export(reader).into_iter().map(|e| e.id).collect();
        assert_eq!(
            all.len(),
            SESSIONS * PER_SESSION,
            "every session was committed"
        );
        assert_eq!(
            seen, all,
            "the reader's watermarks delivered every committed activity ({reads} reads)"
        );
    });
}

// ---------------------------------------------------------------------------------------------
// Schema v2: lookups by id and the team's own data.

pub fn activities_by_id_returns_what_export_returns(store: &dyn Store) {
    import(store, "forum", &[&generate("forum", "f", 30, 7)]);
    let all = export(store);
    let wanted = [all[20].id, all[3].id, ActivityId(i64::MAX), all[3].id];
    let got = store
        .activities_by_id(&wanted)
        .unwrap_or_else(|e| panic!("activities_by_id: {e}"));
    assert_eq!(
        got,
        vec![all[3].clone(), all[20].clone()],
        "activities_by_id gives the export's records in id order, once each, without unknown ids"
    );
    assert!(
        store.activities_by_id(&[]).unwrap().is_empty(),
        "no ids, no activities"
    );
}

pub fn first_owner_is_created_only_while_no_account_exists(store: &dyn Store) {
    assert!(
        store.users().unwrap().is_empty(),
        "a new database has no account"
    );
    let owner = store
        .create_first_owner("ada", "hash-1")
        .unwrap_or_else(|e| panic!("create_first_owner: {e}"));
    assert_eq!(owner.role, Role::Owner);
    assert_eq!(owner.name, "ada");
    expect_err(
        store.create_first_owner("eve", "hash-2"),
        "a second first-run set-up",
        |e| matches!(e, StoreError::Conflict(_)),
    );
    expect_err(
        store.create_user("ada", "hash-3", Role::Viewer),
        "an account with a taken name",
        |e| matches!(e, StoreError::Conflict(_)),
    );
    expect_err(
        store.create_user(" ", "hash-3", Role::Viewer),
        "an account with a blank name",
        |e| matches!(e, StoreError::Invalid(_)),
    );
    assert_eq!(store.users().unwrap(), vec![owner]);
}

pub fn accounts_sessions_and_tokens_round_trip(store: &dyn Store) {
    let ada = store.create_user("ada", "argon-ada", Role::Admin).unwrap();
    let bob = store.create_user("bob", "argon-bob", Role::Viewer).unwrap();
    let names: Vec<String> = store.users().unwrap().into_iter().map(|u| u.name).collect();
    assert_eq!(names, ["ada", "bob"], "accounts list by name");
    let (user, hash) = store.user_credentials("ada").unwrap().expect("ada exists");
    assert_eq!((user.id, hash.as_str()), (ada.id, "argon-ada"));
    assert!(store.user_credentials("nobody").unwrap().is_none());

    store.set_user_role(bob.id, Role::Analyst).unwrap();
    store.set_user_password(bob.id, "argon-bob-2").unwrap();
    let (bob2, hash) = store.user_credentials("bob").unwrap().expect("bob exists");
    assert_eq!((bob2.role, hash.as_str()), (Role::Analyst, "argon-bob-2"));
    expect_err(
        store.set_user_role(UserId(i64::MAX), Role::Owner),
        "changing the role of an unknown account",
        |e| matches!(e, StoreError::NotFound(_)),
    );

    // Sessions: found until they expire, gone when deleted or when the account is disabled.
    store
        .create_session("k1", ada.id, "csrf-1", T0 + 100)
        .unwrap();
    store
        .create_session("k2", bob.id, "csrf-2", T0 + 100)
        .unwrap();
    store
        .create_session("k3", bob.id, "csrf-3", T0 + 100)
        .unwrap();
    let s = store.session("k1", T0).unwrap().expect("a live session");
    assert_eq!(
        (s.user.id, s.csrf.as_str(), s.expires_at),
        (ada.id, "csrf-1", T0 + 100)
    );
    assert!(
        store.session("k1", T0 + 100).unwrap().is_none(),
        "a session is over at its expiry"
    );
    assert!(store.session("nope", T0).unwrap().is_none());
    store.delete_session("k1").unwrap();
    assert!(
        store.session("k1", T0).unwrap().is_none(),
        "a deleted session is gone"
    );
    store.delete_user_sessions(bob.id).unwrap();
    assert!(
        store.session("k2", T0).unwrap().is_none() && store.session("k3", T0).unwrap().is_none()
    );
    store
        .create_session("k4", bob.id, "csrf-4", T0 + 100)
        .unwrap();

    // Tokens: found by hash until revoked; scopes round-trip.
    let scopes = vec!["read".to_owned(), "ingest".to_owned()];
    let t = store
        .create_token(bob.id, "importer", "h1", &scopes)
        .unwrap();
    let t2 = store
        .create_token(ada.id, "ci", "h2", &["read".to_owned()])
        .unwrap();
    let (found, owner) = store
        .token("h1")
        .unwrap()
        .expect("the token is found by its hash");
    assert_eq!(
        (found.id, found.scopes.clone(), owner.id),
        (t.id, scopes, bob.id)
    );
    let bobs: Vec<_> = store
        .tokens(Some(bob.id))
        .unwrap()
        .into_iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(bobs, [t.id]);
    let all: Vec<_> = store
        .tokens(None)
        .unwrap()
        .into_iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(all, [t2.id, t.id], "tokens list newest first");
    store.revoke_token(t.id).unwrap();
    assert!(
        store.token("h1").unwrap().is_none(),
        "a revoked token stops working"
    );
    assert!(store.tokens(Some(bob.id)).unwrap()[0].revoked_at.is_some());

    // Disabling ends sessions and stops tokens.
    store
        .create_token(bob.id, "second", "h3", &["read".to_owned()])
        .unwrap();
    store.set_user_disabled(bob.id, true).unwrap();
    assert!(
        store.session("k4", T0).unwrap().is_none(),
        "a disabled account's sessions end"
    );
    assert!(
        store.token("h3").unwrap().is_none(),
        "a disabled account's tokens stop"
    );
    store.set_user_disabled(bob.id, false).unwrap();
    assert!(
        store.token("h3").unwrap().is_some(),
        "enabled again, its tokens work again"
    );
}

pub fn notes_tags_tasks_and_segments_round_trip(store: &dyn Store) {
    import(store, "forum", &[&generate("forum", "f", 20, 3)]);
    let people: Vec<MemberId> = store
        .members(None, 100)
        .unwrap()
        .into_iter()
        .filter(|m| !m.anonymous)
        .map(|m| m.id)
        .collect();
    let (m, other) = (people[0], people[1]);
    let n1 = store.add_note(m, "ada", "Met at the meetup").unwrap();
    store.add_note(m, "bob", "Offered to translate").unwrap();
    let texts: Vec<String> = store
        .notes(m)
        .unwrap()
        .into_iter()
        .map(|n| n.text)
        .collect();
    assert_eq!(
        texts,
        ["Met at the meetup", "Offered to translate"],
        "notes oldest first"
    );
    store.delete_note(n1.id).unwrap();
    assert_eq!(store.notes(m).unwrap().len(), 1);
    expect_err(store.add_note(m, "ada", "  "), "an empty note", |e| {
        matches!(e, StoreError::Invalid(_))
    });
    expect_err(
        store.add_note(MemberId(i64::MAX), "ada", "x"),
        "a note on an unknown member",
        |e| matches!(e, StoreError::NotFound(_)),
    );

    for tag in ["speaker", "champion", "speaker"] {
        store.add_tag(m, tag).unwrap();
    }
    store.add_tag(other, "champion").unwrap();
    assert_eq!(
        store.tags(m).unwrap(),
        ["champion", "speaker"],
        "tags sorted, once each"
    );
    store.remove_tag(m, "speaker").unwrap();
    let mut expected = vec![(m, "champion".to_owned()), (other, "champion".to_owned())];
    expected.sort();
    assert_eq!(store.all_tags().unwrap(), expected);

    let later = store
        .add_task(m, "Send swag", Some(T0 + 1000), "ada")
        .unwrap();
    let sooner = store.add_task(m, "Say thanks", Some(T0), "ada").unwrap();
    let undated = store.add_task(other, "Check in", None, "bob").unwrap();
    store.set_task_done(later.id, true).unwrap();
    let order: Vec<_> = store
        .tasks(None)
        .unwrap()
        .into_iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(
        order,
        [sooner.id, undated.id, later.id],
        "open tasks by due date, then done ones"
    );
    assert_eq!(store.tasks(Some(other)).unwrap().len(), 1);
    store.set_task_done(later.id, false).unwrap();
    assert!(
        store
            .tasks(Some(m))
            .unwrap()
            .iter()
            .all(|t| t.done_at.is_none()),
        "reopened"
    );

    let s = store
        .save_segment("champions", r#"{"tag":"champion"}"#, "ada")
        .unwrap();
    store
        .save_segment("active", r#"{"seen_days":30}"#, "ada")
        .unwrap();
    let replaced = store
        .save_segment("champions", r#"{"tag":"speaker"}"#, "bob")
        .unwrap();
    assert_eq!(
        replaced.id, s.id,
        "saving under a taken name replaces that segment"
    );
    let list = store.segments().unwrap();
    let names: Vec<&str> = list.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["active", "champions"]);
    assert_eq!(list[1].filter, r#"{"tag":"speaker"}"#);
    store.delete_segment(s.id).unwrap();
    assert_eq!(store.segments().unwrap().len(), 1);
}

// --- text scores (schema v4) ---

const STALE_V1: TextSelection = TextSelection {
    model_version: 1,
    all: false,
};

/// Every message `selection` asks for, paged `page` at a time.
fn all_to_score(store: &dyn Store, selection: TextSelection, page: usize) -> Vec<TextToScore> {
    let mut out: Vec<TextToScore> = Vec::new();
    loop {
        let after = out.last().map(|t| t.id);
        let got = store
            .texts_to_score(selection, after, page)
            .unwrap_or_else(|e| panic!("texts_to_score after {after:?}: {e}"));
        assert!(got.len() <= page, "a page holds at most `limit` messages");
        if got.is_empty() {
            return out;
        }
        out.extend(got);
    }
}

/// A score for `t` whose numbers are derived from its id, so that each row is distinct.
fn score_for(t: &TextToScore, model_version: u32) -> TextScore {
    let n = t.id.0 as i16;
    TextScore {
        activity: t.id,
        activity_seq: t.seq,
        model_version,
        language: "eng".into(),
        scored: true,
        sentiment: -5_000 + 1_000 * (n % 10),
        confidence: 9_000,
        hostility: 100 * (n % 7),
        hostile: n % 7 == 6,
        intents: 1 | (1 << (n % 9)),
    }
}

fn text_facts(changes: &[Change]) -> BTreeMap<ActivityId, TextFact> {
    changes
        .iter()
        .filter_map(|c| match c {
            Change::Text(f) => Some((f.activity, *f)),
            _ => None,
        })
        .collect()
}

pub fn messages_to_score_are_live_texts_of_message_kinds_in_id_order(store: &dyn Store) {
    let mut batch = vec![
        post("forum", "p1", Some("u1"), "How do I export members?"),
        reply("forum", "r1", "u2", "p1"),
        post("forum", "p2", Some("u3"), ""),
    ];
    let mut answer = reply("forum", "a1", "u2", "p1");
    answer.kind = Kind::Answer;
    let mut reaction = reply("forum", "x1", "u3", "p1");
    reaction.kind = Kind::Reaction;
    reaction.text = Some("👍".into());
    let mut feedback = post("forum", "f1", Some("u4"), "Please add a dark mode");
    feedback.kind = Kind::Feedback;
    let mut no_text = post("forum", "p3", Some("u4"), "x");
    no_text.text = None;
    let doomed = post("forum", "p4", Some("u5"), "this will be deleted");
    let mut delete = Activity::new(
        "forum",
        "d1",
        Kind::Delete,
        Timestamp::from_secs(T0 + 300),
        Some(Author::new("u5")),
    );
    delete.reply_to = Some("p4".into());
    batch.extend([answer, reaction, feedback, no_text, doomed, delete]);
    import(store, "forum", &[&batch]);
    let ids = activity_ids(store);
    let id = |x: &str| ids[&("forum".to_owned(), x.to_owned())];

    let got = all_to_score(store, STALE_V1, 2);
    let got_ids: Vec<ActivityId> = got.iter().map(|t| t.id).collect();
    let mut want = vec![id("p1"), id("r1"), id("a1"), id("f1")];
    want.sort();
    assert_eq!(
        got_ids, want,
        "posts, replies, answers and feedback with text, live, in id order (no reaction, no \
         empty or missing text, nothing deleted)"
    );
    let p1 = got.iter().find(|t| t.id == id("p1")).expect("p1");
    assert_eq!(p1.text, "How do I export members?");
    // Each message comes with its kind: the scorer reads whether it opens a thread or
    // replies in one.
    let kinds: Vec<(ActivityId, Kind)> = got.iter().map(|t| (t.id, t.kind)).collect();
    let mut want_kinds = vec![
        (id("p1"), Kind::Post),
        (id("r1"), Kind::Reply),
        (id("a1"), Kind::Answer),
        (id("f1"), Kind::Feedback),
    ];
    want_kinds.sort();
    assert_eq!(kinds, want_kinds, "each message's kind as stored");
    assert_eq!(
        store.count_texts_to_score(STALE_V1, None).expect("count"),
        4,
        "the count matches the pages"
    );
    assert!(
        store
            .texts_to_score(STALE_V1, Some(id("f1")), 10)
            .expect("after the last")
            .iter()
            .all(|t| t.id > id("f1")),
        "`after` is exclusive"
    );
    let first = all_to_score(store, STALE_V1, 10)[0].id;
    let after_first = store
        .texts_to_score(STALE_V1, Some(first), 10)
        .expect("after the first");
    assert_eq!(after_first.len(), 3);
    assert_eq!(
        store
            .count_texts_to_score(STALE_V1, Some(first))
            .expect("count after the first"),
        3,
        "the count after an id matches its pages"
    );
}

pub fn text_scores_round_trip_and_reach_the_change_stream(store: &dyn Store) {
    let batch: Vec<Activity> = (0..5)
        .map(|i| {
            post(
                "forum",
                &format!("p{i}"),
                Some("u1"),
                &format!("message {i}"),
            )
        })
        .collect();
    import(store, "forum", &[&batch]);
    let (_, mark) = changes(store, Watermark::ZERO);
    let todo = all_to_score(store, STALE_V1, 100);
    assert_eq!(todo.len(), 5);
    let scores: Vec<TextScore> = todo.iter().map(|t| score_for(t, 1)).collect();
    store.write_text_scores(&scores[..3]).expect("first chunk");
    store.write_text_scores(&scores[3..]).expect("second chunk");
    store
        .write_text_scores(&[])
        .expect("an empty chunk is fine");

    assert!(
        all_to_score(store, STALE_V1, 100).is_empty(),
        "nothing is left to score by the same model"
    );
    assert_eq!(
        store.count_texts_to_score(STALE_V1, None).expect("count"),
        0
    );
    let mut asked: Vec<ActivityId> = scores.iter().rev().map(|s| s.activity).collect();
    asked.push(ActivityId(999_999));
    assert_eq!(
        store.text_scores(&asked).expect("text_scores"),
        scores,
        "scores read back exactly, in id order, unknown ids left out"
    );

    let (delta, _) = changes(store, mark);
    let want: BTreeMap<ActivityId, TextFact> =
        scores.iter().map(|s| (s.activity, s.fact())).collect();
    assert_eq!(
        text_facts(&delta),
        want,
        "written scores appear in the change stream"
    );
    assert!(
        facts(&delta).is_empty(),
        "writing scores changes no activity"
    );
    let (all, now) = changes(store, Watermark::ZERO);
    assert_eq!(
        text_facts(&all),
        want,
        "a reader from zero gets every score"
    );
    // A bulk read: the entities without the scores, then the scores stamped below a mark.
    let mut entities = Vec::new();
    store
        .read_changes_except_activities(Watermark::ZERO, &mut |c| {
            entities.push(c);
            Ok(())
        })
        .expect("read_changes_except_activities");
    assert!(
        text_facts(&entities).is_empty(),
        "no score among the entities"
    );
    let bulk = |ids: std::ops::Range<i64>, before: Watermark| {
        let mut out = Vec::new();
        store
            .read_text_scores(ids, before, &mut |f| {
                out.push(*f);
                Ok(())
            })
            .expect("read_text_scores");
        out
    };
    let (ids, _) = store.activity_id_range().expect("activity_id_range");
    let want_in_order: Vec<TextFact> = want.values().copied().collect();
    assert_eq!(
        bulk(ids.clone(), now),
        want_in_order,
        "the scores stamped below the watermark, in activity id order"
    );
    // Split at the second scored activity: each score in exactly one of the two ranges.
    let cut = want_in_order[1].activity.0;
    assert_eq!(
        bulk(ids.start..cut, now),
        want_in_order[..1],
        "a range holds the scores of its activities only"
    );
    assert_eq!(
        bulk(cut..ids.end, now),
        want_in_order[1..],
        "the range above the cut holds the rest"
    );
    assert!(
        bulk(ids, mark).is_empty(),
        "scores written after a mark are left out"
    );
    let last_text = all
        .iter()
        .position(|c| matches!(c, Change::Text(_)))
        .expect("text changes");
    assert!(
        all[last_text..]
            .iter()
            .all(|c| !matches!(c, Change::Activity(_))),
        "scores come after the activities they score"
    );

    // Rescoring replaces a row and delivers it again.
    let (_, mark) = changes(store, Watermark::ZERO);
    let mut again = scores[1].clone();
    again.sentiment = 7_500;
    again.intents = 4;
    store.write_text_scores(&[again.clone()]).expect("rescore");
    let (delta, _) = changes(store, mark);
    assert_eq!(
        text_facts(&delta).into_values().collect::<Vec<_>>(),
        vec![again.fact()],
        "a rescored row is delivered once more, with its new numbers"
    );
    assert_eq!(
        store.text_scores(&[again.activity]).expect("read"),
        vec![again]
    );
}

pub fn edited_or_reimported_messages_and_older_models_need_scoring_again(store: &dyn Store) {
    let batch = vec![
        post("forum", "p1", Some("u1"), "teh first"),
        post("forum", "p2", Some("u2"), "second"),
        post("forum", "p3", Some("u3"), "third"),
    ];
    import(store, "forum", &[&batch]);
    let todo = all_to_score(store, STALE_V1, 100);
    let scores: Vec<TextScore> = todo.iter().map(|t| score_for(t, 1)).collect();
    store.write_text_scores(&scores).expect("write");
    let ids = activity_ids(store);
    let id = |x: &str| ids[&("forum".to_owned(), x.to_owned())];

    // p1 is edited, p2 re-imported with new text, p3 re-imported unchanged.
    let mut edit = Activity::new(
        "forum",
        "e1",
        Kind::Edit,
        Timestamp::from_secs(T0 + 120),
        Some(Author::new("u1")),
    );
    edit.reply_to = Some("p1".into());
    edit.text = Some("the first".into());
    let changed = post("forum", "p2", Some("u2"), "second, reworded");
    import(store, "forum", &[&[edit, changed, batch[2].clone()]]);
    let stale: Vec<ActivityId> = all_to_score(store, STALE_V1, 100)
        .iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(
        stale,
        vec![id("p1"), id("p2")],
        "an edit and a re-import with new text make a score stale; an unchanged re-import does not"
    );
    let p1 = store
        .texts_to_score(STALE_V1, None, 1)
        .expect("read")
        .pop()
        .expect("p1");
    assert_eq!(p1.text, "the first", "the edited text is what gets scored");

    let newer = TextSelection {
        model_version: 2,
        all: false,
    };
    assert_eq!(
        all_to_score(store, newer, 100).len(),
        3,
        "a newer model version rescores everything an older one scored"
    );
    let fresh: Vec<TextScore> = all_to_score(store, newer, 100)
        .iter()
        .map(|t| score_for(t, 2))
        .collect();
    store.write_text_scores(&fresh).expect("write v2");
    assert!(all_to_score(store, newer, 100).is_empty());
    assert!(
        all_to_score(store, STALE_V1, 100).is_empty(),
        "scores of a newer version are current for an older scorer"
    );
    let everything = TextSelection {
        model_version: 2,
        all: true,
    };
    assert_eq!(
        all_to_score(store, everything, 2).len(),
        3,
        "`all` selects every message"
    );
    assert_eq!(
        store.count_texts_to_score(everything, None).expect("count"),
        3
    );
}

pub fn text_scores_go_with_their_source_and_are_dropped_for_unknown_activities(store: &dyn Store) {
    import(
        store,
        "forum",
        &[&[post("forum", "p1", Some("u1"), "kept")]],
    );
    import(
        store,
        "chat",
        &[&[post("chat", "c1", Some("u2"), "removed with its source")]],
    );
    let todo = all_to_score(store, STALE_V1, 100);
    let mut scores: Vec<TextScore> = todo.iter().map(|t| score_for(t, 1)).collect();
    let mut ghost = scores[0].clone();
    ghost.activity = ActivityId(987_654);
    scores.push(ghost);
    store
        .write_text_scores(&scores)
        .expect("a score of an unknown activity is dropped, not an error");
    let asked: Vec<ActivityId> = scores.iter().map(|s| s.activity).collect();
    assert_eq!(
        store.text_scores(&asked).expect("read").len(),
        2,
        "only scores of stored activities are kept"
    );
    let (_, mark) = changes(store, Watermark::ZERO);
    store.delete_source("chat").expect("delete chat");
    let left = store.text_scores(&asked).expect("read");
    let ids = activity_ids(store);
    assert_eq!(
        left.iter().map(|s| s.activity).collect::<Vec<_>>(),
        vec![ids[&("forum".to_owned(), "p1".to_owned())]],
        "the removed source's scores are gone"
    );
    let (delta, _) = changes(store, mark);
    assert!(
        text_facts(&delta).is_empty(),
        "removal is told by the activity's removal, not by a text change"
    );
}

/// SQLite records the scoring mark: a later watermark of the same model version replaces it,
/// an earlier one does not (two scorers on one database), a later model version always does
/// and an earlier one never, and recording it is not a change. PostgreSQL keeps none (see
/// [`crate::TextScores::scoring_mark`]).
pub fn the_scoring_mark_moves_forward_and_is_no_change(store: &dyn Store) {
    let mark = |model_version, w| ScoringMark {
        model_version,
        watermark: Watermark(w),
    };
    assert_eq!(
        store.scoring_mark().expect("read the mark"),
        None,
        "no mark at first"
    );
    let (_, before) = store.activity_id_range().expect("watermark");
    let record = |m| store.record_scoring_mark(m).expect("record the mark");
    record(mark(12, 40));
    if store.describe().backend == Backend::Postgres {
        assert_eq!(
            store.scoring_mark().expect("read"),
            None,
            "PostgreSQL keeps no mark"
        );
        return;
    }
    for (recorded, kept, why) in [
        (mark(12, 40), mark(12, 40), "the first mark"),
        (
            mark(12, 30),
            mark(12, 40),
            "an earlier watermark of the same model does not move the mark back",
        ),
        (
            mark(12, 55),
            mark(12, 55),
            "a later watermark moves it forward",
        ),
        (
            mark(11, 90),
            mark(12, 55),
            "an earlier model's pass does not replace a later model's mark",
        ),
        (
            mark(13, 20),
            mark(13, 20),
            "a later model's pass replaces the mark",
        ),
    ] {
        record(recorded);
        assert_eq!(store.scoring_mark().expect("read"), Some(kept), "{why}");
    }
    let mut changes = 0;
    let after = store
        .read_changes(before, &mut |_| {
            changes += 1;
            Ok(())
        })
        .expect("read changes");
    assert_eq!(
        (changes, after),
        (0, before),
        "recording the mark is no change"
    );
}
