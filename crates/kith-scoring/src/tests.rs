use std::sync::atomic::AtomicBool;

use kith_model::{Activity, Author, Kind, Timestamp};
use kith_store::{ImportAudit, Store, TextScores};
use kith_store_sqlite::SqliteStore;

use super::*;

struct Db {
    _dir: tempfile::TempDir,
    store: SqliteStore,
}

fn db() -> Db {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let store = SqliteStore::open(&dir.path().join("kith.db")).expect("a test database");
    Db { _dir: dir, store }
}

fn message(id: &str, kind: Kind, text: &str) -> Activity {
    let mut a = Activity::new(
        "forum",
        id,
        kind,
        Timestamp::from_secs(1_700_000_000),
        Some(Author::new("ann")),
    );
    a.thread = Some("t1".into());
    a.text = Some(text.into());
    a
}

fn import(store: &dyn Store, batch: &[Activity]) {
    let mut s = store.ingest().expect("session");
    s.ensure_source("forum", "jsonl").expect("source");
    s.write(batch).expect("write");
    let mut audit = ImportAudit::new("jsonl", vec![], 0);
    audit.sources = vec!["forum".into()];
    s.commit(&audit).expect("commit");
}

fn all_scores(store: &dyn Store) -> Vec<TextScore> {
    let ids: Vec<ActivityId> = (1..=1000).map(ActivityId).collect();
    store.text_scores(&ids).expect("read scores")
}

const TEXTS: [&str; 4] = [
    "How do I export the member list?",
    "Thanks, that fixed it! You're a lifesaver.",
    "Wie exportiere ich die Mitgliederliste? Ich finde die Option nicht.",
    "You are a complete idiot.",
];

#[test]
fn a_pass_stores_what_kith_text_reads_and_the_next_finds_nothing() {
    let db = db();
    let mut batch: Vec<Activity> = TEXTS
        .iter()
        .enumerate()
        .map(|(i, t)| message(&format!("m{i}"), Kind::Reply, t))
        .collect();
    batch.push(message("x", Kind::Reaction, "👍"));
    import(&db.store, &batch);

    let mut pass = Pass::stale();
    pass.threads = 2;
    let report = run(&db.store, &pass, &()).expect("pass");
    assert_eq!(report.scored, 4, "four messages; the reaction is not one");
    assert_eq!(
        report.not_scored, 1,
        "the German message is marked not scored"
    );
    let scores = all_scores(&db.store);
    assert_eq!(scores.len(), 4);
    for (s, text) in scores.iter().zip(TEXTS) {
        let a = kith_text::analyze_in(text, Role::Reply);
        assert_eq!(s.model_version, MODEL_VERSION);
        assert_eq!(s.scored, a.scored, "{text}");
        assert_eq!(s.language, a.language.code, "{text}");
        assert_eq!(s.intents, Intent::bits(&a.intents), "{text}");
        assert_eq!(s.hostile, a.hostility.is_hostile(), "{text}");
        assert_eq!(
            f64::from(s.sentiment),
            (a.sentiment.score * 10_000.0).round(),
            "{text}"
        );
    }
    assert!(scores[0].intents & Intent::Question.bit() != 0);
    assert!(scores[1].intents & Intent::Thanks.bit() != 0 && scores[1].sentiment > 5_000);
    assert!(!scores[2].scored && scores[2].intents == 0 && scores[2].sentiment == 0);
    assert!(scores[3].hostile);

    let again = run(&db.store, &pass, &()).expect("second pass");
    assert_eq!(again.scored, 0, "everything is current");
    let all = run(&db.store, &Pass::all(), &()).expect("rescore all");
    assert_eq!(all.scored, 4, "`all` scores every message again");
    assert_eq!(all_scores(&db.store), scores, "with the same result");
}

#[test]
fn many_chunks_on_several_threads_score_each_message_once() {
    let db = db();
    let n = CHUNK * 3 + 17;
    let batch: Vec<Activity> = (0..n)
        .map(|i| message(&format!("m{i}"), Kind::Post, TEXTS[i % TEXTS.len()]))
        .collect();
    import(&db.store, &batch);
    struct Count(std::sync::Mutex<(u64, u64, bool)>);
    impl Progress for Count {
        fn start(&self, total: u64) {
            self.0.lock().unwrap().0 = total;
        }
        fn update(&self, done: u64) {
            self.0.lock().unwrap().1 = done;
        }
        fn finish(&self) {
            self.0.lock().unwrap().2 = true;
        }
    }
    let progress = Count(std::sync::Mutex::new((0, 0, false)));
    let mut pass = Pass::stale();
    pass.threads = 3;
    let report = run(&db.store, &pass, &progress).expect("pass");
    assert_eq!(report.scored, n as u64);
    assert_eq!(
        *progress.0.lock().unwrap(),
        (n as u64, n as u64, true),
        "progress counts to the total it announced"
    );
    let ids: Vec<ActivityId> = (1..=n as i64 + 10).map(ActivityId).collect();
    assert_eq!(db.store.text_scores(&ids).expect("read").len(), n);
    assert!(report.messages_per_core_sec > 0.0);
}

#[test]
fn a_stopped_pass_stores_nothing_more() {
    let db = db();
    let batch: Vec<Activity> = (0..100)
        .map(|i| message(&format!("m{i}"), Kind::Post, TEXTS[0]))
        .collect();
    import(&db.store, &batch);
    let stop = AtomicBool::new(true);
    let mut pass = Pass::stale();
    pass.stop = Some(&stop);
    let report = run(&db.store, &pass, &()).expect("pass");
    assert!(report.stopped);
    assert_eq!(report.scored, 0);
}

#[test]
fn the_follower_sees_new_and_edited_messages_but_not_its_own_scores() {
    let db = db();
    import(
        &db.store,
        &[
            message("m1", Kind::Post, TEXTS[0]),
            message("m2", Kind::Reply, TEXTS[1]),
        ],
    );
    let mut follower = Follower::new();
    let first = follower
        .catch_up(&db.store, None)
        .expect("catch up")
        .expect("a first pass");
    assert_eq!(first.scored, 2);
    assert_eq!(
        follower.changed(&db.store).expect("changed"),
        None,
        "the pass's own writes are not changes to follow"
    );

    let mut edit = message("e1", Kind::Edit, "How do I export the list of members?");
    edit.reply_to = Some("m1".into());
    import(&db.store, &[edit, message("m3", Kind::Reply, TEXTS[3])]);
    let next = follower
        .catch_up(&db.store, None)
        .expect("catch up")
        .expect("a pass");
    assert_eq!(next.scored, 2, "the edited m1 and the new m3");
    assert!(follower.catch_up(&db.store, None).expect("idle").is_none());
}

#[test]
fn a_stored_score_is_explained_from_the_text_and_marked_stale_after_an_edit() {
    let db = db();
    import(&db.store, &[message("m1", Kind::Reply, TEXTS[1])]);
    run(&db.store, &Pass::stale(), &()).expect("pass");
    let stored = all_scores(&db.store).remove(0);
    let shown = explain_stored(&stored, Kind::Reply, TEXTS[1]);
    assert!(shown.current, "same model, same text");
    assert!(shown.intents.contains(&Intent::Thanks));
    assert!(
        shown
            .explanation
            .analysis
            .intents
            .iter()
            .any(|m| m.intent == Intent::Thanks && !m.evidence.is_empty()),
        "each intent comes with the phrase that triggered it"
    );
    assert!(
        shown
            .explanation
            .sentiment_words
            .iter()
            .any(|(w, v)| w == "lifesaver" && *v > 0.0),
        "{:?}",
        shown.explanation.sentiment_words
    );
    let edited = explain_stored(&stored, Kind::Reply, "Still broken, this is useless.");
    assert!(!edited.current, "the text changed since it was scored");
}

/// The scorer reads where a message stands from its kind: the same explanation posted as a
/// thread's opening post does not answer, as a reply or an answer it does.
#[test]
fn a_message_is_scored_in_its_role_from_its_kind() {
    const EXPLAINED: &str = "The export runs every night and writes one file per source \
        into the data folder. Each file holds the members, their activities and the scores of \
        the last pass, so a spreadsheet can read it directly without any conversion.";
    let db = db();
    import(
        &db.store,
        &[
            message("p", Kind::Post, EXPLAINED),
            message("r", Kind::Reply, EXPLAINED),
            message("a", Kind::Answer, EXPLAINED),
            message("f", Kind::Feedback, EXPLAINED),
        ],
    );
    run(&db.store, &Pass::stale(), &()).expect("pass");
    let scores = all_scores(&db.store);
    assert_eq!(scores.len(), 4);
    let answers: Vec<bool> = scores
        .iter()
        .map(|s| s.intents & Intent::Answer.bit() != 0)
        .collect();
    assert_eq!(
        answers,
        [false, true, true, true],
        "post, reply, answer, feedback"
    );
    for (s, kind) in scores
        .iter()
        .zip([Kind::Post, Kind::Reply, Kind::Answer, Kind::Feedback])
    {
        let a = kith_text::analyze_in(EXPLAINED, role_of(kind));
        assert_eq!(s.intents, Intent::bits(&a.intents), "{kind:?}");
        assert!(explain_stored(s, kind, EXPLAINED).current, "{kind:?}");
    }
    assert!(
        !explain_stored(&scores[0], Kind::Reply, EXPLAINED).current,
        "explained in another role, the post's stored score is not what it reads"
    );
    assert_eq!(role_of(Kind::Solution), Role::Reply);
    assert_eq!(role_of(Kind::Feedback), Role::Unknown);
}

/// `kith serve` started again: the follower resumes from the mark its last complete pass
/// recorded and reads only what changed since (a message imported meanwhile without scoring
/// is found and scored); a mark of another model version, a follower started from an
/// import's watermark and a stopped pass record nothing that could hide a message.
#[test]
fn a_follower_resumes_from_the_recorded_mark_of_its_model_version() {
    let db = db();
    import(
        &db.store,
        &[
            message("m1", Kind::Post, TEXTS[0]),
            message("m2", Kind::Reply, TEXTS[1]),
        ],
    );
    assert_eq!(db.store.scoring_mark().expect("mark"), None);

    // A follower from an import's watermark records nothing: what came before may be unscored.
    let (_, mark) = db.store.activity_id_range().expect("watermark");
    let mut after_import = Follower::since(mark);
    assert!(
        after_import
            .catch_up(&db.store, None)
            .expect("idle")
            .is_none()
    );
    assert_eq!(db.store.scoring_mark().expect("mark"), None);

    // A stopped pass records nothing and leaves the follower where it was.
    let mut follower = Follower::resume(&db.store).expect("resume");
    let stop = AtomicBool::new(true);
    let stopped = follower
        .catch_up(&db.store, Some(&stop))
        .expect("catch up")
        .expect("a pass");
    assert!(stopped.stopped);
    assert_eq!(db.store.scoring_mark().expect("mark"), None);
    let first = follower
        .catch_up(&db.store, None)
        .expect("catch up")
        .expect("the same changes again");
    assert_eq!(first.scored, 2);
    let recorded = db.store.scoring_mark().expect("mark").expect("recorded");
    assert_eq!(recorded.model_version, MODEL_VERSION);

    // Started again with nothing new: nothing to read, nothing to score.
    let mut again = Follower::resume(&db.store).expect("resume");
    assert_eq!(again.changed(&db.store).expect("changed"), None);

    // A message imported while no scorer ran is found from the mark.
    import(&db.store, &[message("m3", Kind::Reply, TEXTS[3])]);
    let mut again = Follower::resume(&db.store).expect("resume");
    let next = again
        .catch_up(&db.store, None)
        .expect("catch up")
        .expect("a pass");
    assert_eq!(next.scored, 1, "m3 alone");
    assert_eq!(all_scores(&db.store).len(), 3);
    let (_, now) = db.store.activity_id_range().expect("watermark");
    assert!(again.catch_up(&db.store, None).expect("idle").is_none());
    assert_eq!(
        db.store.scoring_mark().expect("mark").map(|m| m.watermark),
        Some(now),
        "after its pass and its own score writes, the mark is where the store stands"
    );

    // A later model version's mark holds for this one (its scores are not stale here).
    db.store
        .record_scoring_mark(ScoringMark {
            model_version: MODEL_VERSION + 1,
            watermark: now,
        })
        .expect("record");
    let mut later = Follower::resume(&db.store).expect("resume");
    assert_eq!(later.changed(&db.store).expect("changed"), None);

    // An earlier model version's mark says nothing about this one's scores.
    let older = self::db();
    import(&older.store, &[message("m1", Kind::Post, TEXTS[0])]);
    let (_, w) = older.store.activity_id_range().expect("watermark");
    older
        .store
        .record_scoring_mark(ScoringMark {
            model_version: MODEL_VERSION - 1,
            watermark: w,
        })
        .expect("record");
    let mut other = Follower::resume(&older.store).expect("resume");
    assert_eq!(
        other.changed(&older.store).expect("changed"),
        Some(ActivityId(1)),
        "from the beginning"
    );
}

/// `kith rescore`: a complete pass over every message records the mark as the store stood when
/// it began; a stopped one, or one that starts after a message, records none.
/// `kith rescore` catches up with its own settings: the threads it was given, a count for
/// its progress bar, and from the mark only what changed since.
#[test]
fn catching_up_with_settings_counts_and_scores_only_what_changed_since_the_mark() {
    struct Seen(std::sync::Mutex<Vec<u64>>);
    impl Progress for Seen {
        fn start(&self, total: u64) {
            self.0.lock().expect("lock").push(total);
        }
        fn update(&self, _: u64) {}
        fn finish(&self) {}
    }
    let db = db();
    import(
        &db.store,
        &[
            message("m1", Kind::Post, TEXTS[0]),
            message("m2", Kind::Reply, TEXTS[1]),
        ],
    );
    let mut settings = Pass::stale();
    settings.threads = 1;
    let seen = Seen(std::sync::Mutex::new(Vec::new()));
    let first = Follower::resume(&db.store)
        .expect("resume")
        .catch_up_with(&db.store, &settings, &seen)
        .expect("catch up")
        .expect("a pass over every message");
    assert_eq!((first.scored, first.threads), (2, 1));
    assert!(db.store.scoring_mark().expect("mark").is_some());

    import(&db.store, &[message("m3", Kind::Reply, TEXTS[3])]);
    let next = Follower::resume(&db.store)
        .expect("resume")
        .catch_up_with(&db.store, &settings, &seen)
        .expect("catch up")
        .expect("a pass from the mark");
    assert_eq!((next.scored, next.threads), (1, 1), "m3 alone");
    assert_eq!(
        *seen.0.lock().expect("lock"),
        [2, 1],
        "each pass counted its messages first"
    );
    assert!(
        Follower::resume(&db.store)
            .expect("resume")
            .catch_up_with(&db.store, &settings, &seen)
            .expect("idle")
            .is_none(),
        "nothing changed since"
    );
}

#[test]
fn a_complete_pass_over_every_message_records_the_mark() {
    let db = db();
    import(&db.store, &[message("m1", Kind::Post, TEXTS[0])]);
    let stop = AtomicBool::new(true);
    let mut stopped = Pass::stale();
    stopped.stop = Some(&stop);
    run(&db.store, &stopped, &()).expect("pass");
    let mut later = Pass::stale();
    later.after = Some(ActivityId(0));
    run(&db.store, &later, &()).expect("pass");
    assert_eq!(db.store.scoring_mark().expect("mark"), None);
    let (_, began) = db.store.activity_id_range().expect("watermark");
    run(&db.store, &Pass::stale(), &()).expect("pass");
    assert_eq!(
        db.store.scoring_mark().expect("mark"),
        Some(ScoringMark {
            model_version: MODEL_VERSION,
            watermark: began,
        })
    );
}
