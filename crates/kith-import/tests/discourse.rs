//! The `discourse` importer: hand-made topics (pages merged, accepted answers, deleted users)
//! against their golden output, Perceval's real topic JSON, malformed files, the export
//! writer's round trip, and no panics on mangled input.

mod support;

use std::collections::BTreeMap;
use std::path::PathBuf;

use kith_import::{ImportError, ReadContext};
use kith_model::{Activity, Kind};
use proptest::prelude::*;
use support::{
    Collect, flip_wrapping, golden, kinds, render_activities, round_trip, shared_data, temp_file,
};

const FORMAT: &kith_import::discourse::Discourse = &kith_import::discourse::Discourse;

fn read(paths: &[PathBuf], ctx: &ReadContext) -> Result<Collect, ImportError> {
    support::read(FORMAT, paths, ctx)
}

fn fixture() -> PathBuf {
    support::fixture("discourse/forum.example.org")
}

#[test]
fn hand_made_topics_match_golden_output() {
    let out = read(&[fixture()], &ReadContext::default()).unwrap();
    golden("discourse", &render_activities(&out.activities));
    assert!(
        out.activities
            .iter()
            .all(|a| a.source == "forum.example.org")
    );
    let skipped: Vec<_> = out
        .problems
        .iter()
        .map(|p| {
            (
                p.file.rsplit('/').next().unwrap().to_owned(),
                p.reason.clone(),
                p.location.clone(),
            )
        })
        .collect();
    assert_eq!(
        skipped,
        [
            (
                "101.json".to_owned(),
                "small action".to_owned(),
                Some("post_stream.posts[4] (post 1005)".to_owned())
            ),
            (
                "101.json".into(),
                "invalid record".into(),
                Some("post_stream.posts[5] (post 1006)".into())
            ),
            ("latest.json".into(), "not a topic".into(), None),
        ]
    );
}

#[test]
fn posts_replies_and_solutions_follow_the_topic() {
    let out = read(&[fixture()], &ReadContext::default()).unwrap();
    let by_id: BTreeMap<_, _> = out.activities.iter().map(|a| (a.id.as_str(), a)).collect();
    assert_eq!(
        out.activities.iter().filter(|a| a.id == "p1004").count(),
        1,
        "pages overlap: each post once"
    );
    let opening = by_id["p1001"];
    assert_eq!(
        (
            opening.kind,
            opening.thread.as_deref(),
            opening.reply_to.as_deref()
        ),
        (Kind::Post, Some("t101"), None)
    );
    assert_eq!(opening.attrs["title"], "How do I reset my password?");
    assert_eq!(opening.channel.as_deref(), Some("5"));
    assert_eq!(
        opening.url.as_deref(),
        Some("https://forum.example.org/t/how-do-i-reset-my-password/101/1")
    );
    let author = opening.author.as_ref().unwrap();
    assert_eq!(
        (
            author.id.as_str(),
            author.handle.as_deref(),
            author.name.as_deref()
        ),
        ("11", Some("ann"), Some("Ann Asker"))
    );
    // No reply_to_post_number: a reply to the opening post.
    assert_eq!(by_id["p1002"].reply_to.as_deref(), Some("p1001"));
    assert_eq!(by_id["p1002"].author.as_ref().unwrap().team, Some(true));
    assert_eq!(by_id["p1004"].reply_to.as_deref(), Some("p1003"));
    // From the second page: numbers known from the first.
    assert_eq!(by_id["p1007"].reply_to.as_deref(), Some("p1002"));
    assert!(
        by_id["p1007"].author.is_none(),
        "a deleted user is author-less"
    );
    assert_eq!(by_id["p1007"].attrs["username"], "deleted_user_7");
    // A number never seen: the opening post.
    assert_eq!(by_id["p1008"].reply_to.as_deref(), Some("p1001"));
    assert_eq!(
        by_id["p1003"].ts.to_string(),
        "2024-03-01T10:15:00.500+01:00"
    );

    let s = by_id["s1003"];
    assert_eq!(
        (s.kind, s.reply_to.as_deref(), s.thread.as_deref()),
        (Kind::Solution, Some("p1003"), Some("t101"))
    );
    assert_eq!(s.author.as_ref().unwrap().id, "13");
    assert_eq!(s.ts, by_id["p1003"].ts);
    // Topic-level accepted_answer only.
    assert_eq!(by_id["s2002"].author.as_ref().unwrap().id, "12");
    assert_eq!(kinds(&out.activities)["solution"], 2);
    // A single post file joins its topic.
    assert_eq!(
        (
            by_id["p2003"].thread.as_deref(),
            by_id["p2003"].reply_to.as_deref()
        ),
        (Some("t102"), Some("p2002"))
    );
}

#[test]
fn the_source_comes_from_the_option_the_base_url_or_a_host_named_folder() {
    let one = fixture().join("t/102.json");
    let e = read(std::slice::from_ref(&one), &ReadContext::default()).unwrap_err();
    assert!(
        matches!(e, ImportError::Usage(_)) && e.to_string().contains("--source"),
        "{e}"
    );
    let ctx = ReadContext {
        base_url: Some("https://discuss.example.com/".into()),
        ..ReadContext::default()
    };
    let out = read(std::slice::from_ref(&one), &ctx).unwrap();
    assert!(
        out.activities
            .iter()
            .all(|a| a.source == "discuss.example.com")
    );
    assert!(
        out.activities[0]
            .url
            .as_deref()
            .unwrap()
            .starts_with("https://discuss.example.com/t/feature-idea-dark-mode/102/")
    );
    let ctx = ReadContext {
        source: Some("forum".into()),
        ..ReadContext::default()
    };
    let out = read(&[one], &ctx).unwrap();
    assert!(
        out.activities
            .iter()
            .all(|a| a.source == "forum" && a.url.is_none())
    );
}

#[test]
fn invalid_json_is_malformed_with_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("1.json");
    std::fs::write(
        &path,
        "{\"id\": 1,\n \"post_stream\": {\"posts\": [\n {\"id\": 5,",
    )
    .unwrap();
    let ctx = ReadContext {
        source: Some("f".into()),
        ..ReadContext::default()
    };
    let e = read(&[path], &ctx).unwrap_err();
    let text = e.to_string();
    assert!(
        matches!(e, ImportError::Malformed { line: 3, .. })
            && text.contains("1.json")
            && text.contains("expected a Discourse topic"),
        "{text}"
    );
}

/// The Discourse topics of Perceval's test data (`KITH_SHARED_DATA`): first pages only.
#[test]
fn real_perceval_topics_import() {
    let Some(topics) = shared_data("api-fixtures-perceval/discourse") else {
        return;
    };
    let ctx = ReadContext {
        source: Some("perceval".into()),
        ..ReadContext::default()
    };
    let out = read(&[topics], &ctx).unwrap();
    let k = kinds(&out.activities);
    assert_eq!(
        k["post"], 5,
        "4 topics and one single post that opens its topic"
    );
    assert_eq!(k["reply"], 24);
    assert_eq!(out.problems.len(), 4, "{:?}", out.problems);
    assert!(out.problems.iter().all(|p| p.reason == "not a topic"));
    let t1148: Vec<_> = out
        .activities
        .iter()
        .filter(|a| a.thread.as_deref() == Some("t1148"))
        .collect();
    assert_eq!(t1148.len(), 20);
    assert!(
        t1148
            .iter()
            .all(|a| a.author.is_some() && a.attrs.contains_key("trust_level"))
    );
    // reply_to_post_number 3 on post 4 names post 3's id.
    let p4 = t1148.iter().find(|a| a.attrs["post_number"] == 4).unwrap();
    let p3 = t1148.iter().find(|a| a.attrs["post_number"] == 3).unwrap();
    assert_eq!(p4.reply_to.as_deref(), Some(p3.id.as_str()));
}

#[test]
fn generated_community_round_trips_through_the_export_writer() {
    let (activities, out) = round_trip(FORMAT, FORMAT, 20_000, 7, "forum.demo.example");
    assert!(out.problems.is_empty(), "{:?}", out.problems.first());
    let k = kinds(&out.activities);
    let count = |f: &dyn Fn(&Activity) -> bool| activities.iter().filter(|a| f(a)).count();
    let opener_ids: std::collections::HashSet<&str> = activities
        .iter()
        .filter(|a| {
            matches!(a.kind, Kind::Post | Kind::Feedback)
                && a.thread.as_deref().is_none_or(|t| t == a.id)
        })
        .map(|a| a.id.as_str())
        .collect();
    assert_eq!(k.get("post").copied().unwrap_or(0), opener_ids.len());
    // Replies and answers in topics (threads opened by a post; contributions' review threads are not topics).
    let in_topics = count(&|a| {
        matches!(a.kind, Kind::Reply | Kind::Answer)
            && a.thread.as_deref().is_some_and(|t| opener_ids.contains(t))
    });
    assert_eq!(k.get("reply").copied().unwrap_or(0), in_topics);
    assert_eq!(
        k.get("solution").copied().unwrap_or(0),
        count(&|a| a.kind == Kind::Solution)
    );
    // Replies keep their target.
    let original: BTreeMap<_, _> = activities
        .iter()
        .map(|a| (a.id.trim_start_matches('a').to_owned(), a))
        .collect();
    for a in out
        .activities
        .iter()
        .filter(|a| a.kind == Kind::Reply)
        .take(500)
    {
        let o = original[&a.id[1..]];
        assert_eq!(
            a.reply_to.as_deref().map(|r| &r[1..]),
            o.reply_to.as_deref().map(|r| &r[1..]),
            "{}",
            a.id
        );
        assert_eq!(a.ts.secs, o.ts.secs);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = read_bytes(&bytes);
    }

    #[test]
    fn truncated_and_mutated_fixtures_never_panic(cut in 0usize..4000, at in 0usize..4000, byte in any::<u8>()) {
        let mut topic = std::fs::read(fixture().join("t/101.json")).unwrap();
        flip_wrapping(&mut topic, at, byte);
        topic.truncate(cut.min(topic.len()));
        let _ = read_bytes(&topic);
    }

    #[test]
    fn any_json_shape_never_panics(v in json_value()) {
        let _ = read_bytes(v.to_string().as_bytes());
        let wrapped = serde_json::json!({"id": 1, "post_stream": {"posts": [v.clone()], "stream": [v]}});
        let _ = read_bytes(wrapped.to_string().as_bytes());
    }
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    support::json_value(
        "[a-z0-9:.TZ+-]{0,12}",
        &[],
        &[
            "id",
            "post_number",
            "created_at",
            "user_id",
            "reply_to_post_number",
            "accepted_answer",
            "topic_id",
        ],
        6,
    )
}

fn read_bytes(bytes: &[u8]) -> Result<Collect, ImportError> {
    let (_dir, path) = temp_file("1.json", bytes);
    let ctx = ReadContext {
        source: Some("f".into()),
        ..ReadContext::default()
    };
    read(&[path], &ctx)
}
