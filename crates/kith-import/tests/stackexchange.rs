//! The `stackexchange` importer: the hand-made dump against its golden output, the real
//! history.meta dump against its known facts, malformed files, the export writer's round
//! trip, and no panics on mangled input.

mod support;

use std::collections::BTreeMap;
use std::path::PathBuf;

use kith_import::{ImportError, ReadContext};
use kith_model::{Activity, Kind};
use proptest::prelude::*;
use support::{
    Collect, flip_wrapping, golden, kinds, render_activities, round_trip, shared_data, temp_file,
};

const FORMAT: &kith_import::stackexchange::StackExchange =
    &kith_import::stackexchange::StackExchange;

fn read(paths: &[PathBuf], ctx: &ReadContext) -> Result<Collect, ImportError> {
    support::read(FORMAT, paths, ctx)
}

fn fixture() -> PathBuf {
    support::fixture("stackexchange/example.stackexchange.com")
}

#[test]
fn hand_made_dump_matches_golden_output() {
    let out = read(&[fixture()], &ReadContext::default()).unwrap();
    golden("stackexchange", &render_activities(&out.activities));
    assert!(
        out.activities
            .iter()
            .all(|a| a.source == "example.stackexchange.com")
    );
    let skipped: Vec<_> = out
        .problems
        .iter()
        .map(|p| {
            (
                p.file.rsplit('/').next().unwrap().to_owned(),
                p.line,
                p.location.clone().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        skipped,
        [
            ("Users.xml".to_owned(), 7, "<row Id=\"9\">".to_owned()),
            ("Votes.xml".into(), 6, "<row Id=\"3\">".into()),
            ("Posts.xml".into(), 11, "<row Id=\"17\">".into()),
            ("Posts.xml".into(), 12, "<row Id=\"18\">".into()),
            ("Posts.xml".into(), 13, "<row Id=\"19\">".into()),
            ("Comments.xml".into(), 9, "<row Id=\"105\">".into()),
        ]
    );
    assert!(out.problems.iter().all(|p| p.reason == "invalid record"));
    assert!(
        out.problems[2].message.contains("CreationDate"),
        "{}",
        out.problems[2].message
    );
    assert!(
        out.problems[3].message.contains("ParentId"),
        "{}",
        out.problems[3].message
    );
}

#[test]
fn questions_answers_comments_and_solutions_are_threaded() {
    let out = read(&[fixture()], &ReadContext::default()).unwrap();
    let by_id: BTreeMap<_, _> = out.activities.iter().map(|a| (a.id.as_str(), a)).collect();
    let q = by_id["q10"];
    assert_eq!((q.kind, q.thread.as_deref()), (Kind::Post, Some("q10")));
    assert_eq!(q.attrs["title"], "Should we cite sources?");
    assert_eq!(
        q.attrs["tags"],
        serde_json::json!(["discussion", "sources"])
    );
    assert_eq!(q.attrs["post_type"], "question");
    assert_eq!(
        q.url.as_deref(),
        Some("https://example.stackexchange.com/q/10")
    );

    let a = by_id["a11"];
    assert_eq!(
        (a.kind, a.thread.as_deref(), a.reply_to.as_deref()),
        (Kind::Answer, Some("q10"), Some("q10"))
    );
    assert_eq!(a.to, ["7"]);
    assert_eq!(a.author.as_ref().unwrap().name.as_deref(), Some("Grace"));

    // Owner-less rows are author-less; the display name the dump kept stays in attrs.
    let anon = by_id["a12"];
    assert!(anon.author.is_none());
    assert_eq!(anon.attrs["owner_display_name"], "user31");

    // Accepted with a vote: at the vote's day, but never before the answer.
    let s = by_id["s11"];
    assert_eq!(
        (s.kind, s.thread.as_deref(), s.reply_to.as_deref()),
        (Kind::Solution, Some("q10"), Some("a11"))
    );
    assert_eq!(s.author.as_ref().unwrap().id, "8");
    assert_eq!(s.ts.to_string(), "2011-10-14T00:00:00Z");
    // Accepted without a vote: at the answer's time.
    assert_eq!(by_id["s14"].ts, by_id["a14"].ts);
    assert_eq!(kinds(&out.activities)["solution"], 2);

    let on_question = by_id["c100"];
    assert_eq!(
        (
            on_question.thread.as_deref(),
            on_question.reply_to.as_deref()
        ),
        (Some("q10"), Some("q10"))
    );
    assert_eq!(on_question.attrs["comment_on"], "question");
    let on_answer = by_id["c101"];
    assert_eq!(
        (on_answer.thread.as_deref(), on_answer.reply_to.as_deref()),
        (Some("a11"), Some("a11")),
        "comments on an answer are the answer's own conversation, not responses to the question"
    );
    assert_eq!(on_answer.attrs["comment_on"], "answer");
    assert!(by_id["c102"].author.is_none());
    assert_eq!(by_id["c102"].attrs["user_display_name"], "user39");
    assert_eq!(by_id["c103"].attrs["comment_on"], "deleted post");
    assert_eq!(by_id["c103"].thread, None);

    assert_eq!(by_id["p15"].kind, Kind::Contribution);
    assert_eq!(by_id["p15"].author.as_ref().unwrap().bot, Some(true));
    assert_eq!(by_id["p16"].kind, Kind::Post);
    assert_eq!(by_id["u7"].kind, Kind::Join);
    assert_eq!(
        by_id["u7"].author.as_ref().unwrap().name.as_deref(),
        Some("Ada & Co")
    );
}

#[test]
fn keys_do_not_change_when_the_folder_moves_and_source_can_be_given() {
    let dir = tempfile::tempdir().unwrap();
    let moved = dir.path().join("elsewhere/example.stackexchange.com");
    std::fs::create_dir_all(&moved).unwrap();
    for f in ["Users.xml", "Votes.xml", "Posts.xml", "Comments.xml"] {
        std::fs::copy(fixture().join(f), moved.join(f)).unwrap();
    }
    let a = read(&[fixture()], &ReadContext::default()).unwrap();
    let b = read(&[moved], &ReadContext::default()).unwrap();
    assert_eq!(a.activities, b.activities);

    let ctx = ReadContext {
        source: Some("history".into()),
        base_url: Some("https://h.example/".into()),
        ..ReadContext::default()
    };
    let c = read(&[fixture()], &ctx).unwrap();
    assert!(c.activities.iter().all(|a| a.source == "history"));
    assert_eq!(
        c.activities
            .iter()
            .find(|a| a.id == "a11")
            .unwrap()
            .url
            .as_deref(),
        Some("https://h.example/a/11")
    );
}

fn malformed(posts: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site");
    std::fs::create_dir_all(&site).unwrap();
    std::fs::write(site.join("Posts.xml"), posts).unwrap();
    match read(&[site], &ReadContext::default()) {
        Err(e @ ImportError::Malformed { .. }) => e.to_string(),
        Err(e) => panic!("expected a malformed-file error, got {e}"),
        Ok(_) => panic!("expected a malformed-file error for {posts:?}"),
    }
}

#[test]
fn malformed_files_stop_with_file_line_and_what_was_expected() {
    let head = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<!DOCTYPE posts SYSTEM 'posts.dtd'>\n<posts>\n";
    let row = "  <row Id=\"1\" PostTypeId=\"1\" CreationDate=\"2011-10-11T19:42:20.713\" />\n";
    // Cut in the middle of an element.
    let e = malformed(&format!("{head}{row}  <row Id=\"2\" PostTy"));
    assert!(
        e.contains("Posts.xml, line 5") && e.contains("expected a complete <row .../> element"),
        "{e}"
    );
    // Cut between elements: the root is never closed.
    let e = malformed(&format!("{head}{row}"));
    assert!(e.contains("Posts.xml") && e.contains("</posts>"), "{e}");
    // Not XML at all / another file's root / mismatched end tag.
    let e = malformed("this is not xml");
    assert!(e.contains("line 1"), "{e}");
    let e = malformed("<comments></comments>");
    assert!(e.contains("expected the root element <posts>"), "{e}");
    let e = malformed(&format!("{head}{row}</post>"));
    assert!(e.contains("line 5"), "{e}");
}

/// The real history.meta.stackexchange.com dump of August 2018 (`KITH_SHARED_DATA`).
#[test]
fn real_history_meta_dump_gives_its_known_facts() {
    let Some(dump) = shared_data("stackexchange-history-meta") else {
        return;
    };
    let out = read(&[dump], &ReadContext::default()).unwrap();
    assert!(out.problems.is_empty(), "{:?}", out.problems.first());
    let questions: Vec<_> = out
        .activities
        .iter()
        .filter(|a| a.attrs.get("post_type").is_some_and(|t| t == "question"))
        .collect();
    let k = kinds(&out.activities);
    assert_eq!(questions.len(), 556);
    assert_eq!(k["answer"], 1095);
    assert_eq!(k["reply"], 3454);
    assert_eq!(k["solution"], 181);
    assert_eq!(k["join"], 2295, "one join per Users.xml row");
    let ownerless = |kind: Kind| {
        out.activities
            .iter()
            .filter(|a| a.kind == kind && a.author.is_none())
            .count()
    };
    assert_eq!(ownerless(Kind::Answer), 19);
    assert_eq!(ownerless(Kind::Reply), 142);
    assert_eq!(questions.iter().filter(|q| q.author.is_none()).count(), 27);
    assert_eq!(
        out.activities
            .iter()
            .filter(|a| a.kind == Kind::Post)
            .count()
            - questions.len(),
        0,
        "no other thread openers"
    );
    assert_eq!(k["contribution"], 6, "3 tag wiki excerpts and 3 tag wikis");
    assert_eq!(out.activities[0].source, "stackexchange-history-meta");
    // Every comment threads into a question and says what it comments on.
    let comments_on_questions = out
        .activities
        .iter()
        .filter(|a| a.kind == Kind::Reply && a.attrs["comment_on"] == "question")
        .count();
    assert!(comments_on_questions > 0);
    assert!(
        out.activities
            .iter()
            .filter(|a| a.kind == Kind::Reply)
            .all(|a| a.thread.is_some() || a.attrs["comment_on"] != "question")
    );
}

#[test]
fn generated_community_round_trips_through_the_export_writer() {
    let (activities, out) = round_trip(FORMAT, FORMAT, 20_000, 7, "demo.stackexchange.com");
    assert!(out.problems.is_empty(), "{:?}", out.problems.first());
    let k = kinds(&out.activities);
    let count = |f: &dyn Fn(&Activity) -> bool| activities.iter().filter(|a| f(a)).count();
    let openers = count(&|a| {
        matches!(a.kind, Kind::Post | Kind::Feedback)
            && a.thread.as_deref().is_none_or(|t| t == a.id)
    });
    assert_eq!(k.get("post").copied().unwrap_or(0), openers);
    assert_eq!(
        k.get("answer").copied().unwrap_or(0),
        count(&|a| a.kind == Kind::Answer && a.thread.is_some())
    );
    assert_eq!(
        k.get("reply").copied().unwrap_or(0),
        count(&|a| a.kind == Kind::Reply && a.thread.is_some())
    );
    assert_eq!(
        k.get("solution").copied().unwrap_or(0),
        count(&|a| a.kind == Kind::Solution)
    );
    // Times and authors survive (to the millisecond the dumps keep).
    let original: BTreeMap<_, _> = activities
        .iter()
        .map(|a| (a.id.trim_start_matches('a').to_owned(), a))
        .collect();
    for a in out.activities.iter().filter(|a| a.kind == Kind::Answer) {
        let o = original[&a.id[1..]];
        assert_eq!(a.ts.secs, o.ts.secs, "{}", a.id);
        assert_eq!(
            a.author.as_ref().map(|x| x.id.as_str()),
            o.author.as_ref().map(|x| x.id.trim_start_matches('u'))
        );
    }
    // A solution's key is derived from its answer (`s<answer id>`); its time is the acceptance's.
    let accepted: BTreeMap<_, _> = activities
        .iter()
        .filter(|a| a.kind == Kind::Solution)
        .map(|a| {
            (
                a.reply_to
                    .as_deref()
                    .unwrap()
                    .trim_start_matches('a')
                    .to_owned(),
                a,
            )
        })
        .collect();
    for s in out.activities.iter().filter(|a| a.kind == Kind::Solution) {
        let o = accepted[&s.id[1..]];
        assert_eq!(s.ts.secs, o.ts.secs, "{}", s.id);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = read_bytes(&bytes);
    }

    #[test]
    fn truncated_and_mutated_fixtures_never_panic(cut in 0usize..2000, at in 0usize..2000, byte in any::<u8>()) {
        let mut posts = std::fs::read(fixture().join("Posts.xml")).unwrap();
        flip_wrapping(&mut posts, at, byte);
        posts.truncate(cut.min(posts.len()));
        let _ = read_bytes(&posts);
    }
}

fn read_bytes(posts: &[u8]) -> Result<Collect, ImportError> {
    let (_dir, path) = temp_file("site/Posts.xml", posts);
    let site = path.parent().unwrap().to_owned();
    std::fs::copy(fixture().join("Comments.xml"), site.join("Comments.xml")).unwrap();
    read(&[site], &ReadContext::default())
}
