//! The `github` importer: hand-made API responses (issues, pull requests seen from both
//! endpoints, comments, review comments, reviews, bad records) against their golden output,
//! Perceval's real GitHub responses, malformed files, the export writer's round trip, and no
//! panics on mangled input.

mod support;

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;

use kith_import::{ImportError, ReadContext};
use kith_model::{Activity, Kind};
use proptest::prelude::*;
use support::{
    Collect, flip_wrapping, golden, kinds, render_activities, round_trip, shared_data, temp_file,
};

const FORMAT: &kith_import::github::GitHub = &kith_import::github::GitHub;

fn read(paths: &[PathBuf], ctx: &ReadContext) -> Result<Collect, ImportError> {
    support::read(FORMAT, paths, ctx)
}

fn fixture() -> PathBuf {
    support::fixture("github/acme-widgets")
}

fn last<'a>(out: &'a Collect, id: &str) -> &'a Activity {
    out.activities
        .iter()
        .rev()
        .find(|a| a.id == id)
        .unwrap_or_else(|| panic!("no activity {id}"))
}

#[test]
fn hand_made_responses_match_golden_output() {
    let out = read(&[fixture()], &ReadContext::default()).unwrap();
    golden("github", &render_activities(&out.activities));
    assert_eq!(
        kinds(&out.activities),
        BTreeMap::from([("contribution", 1), ("post", 8), ("reply", 7)])
    );
    let skipped: Vec<_> = out
        .problems
        .iter()
        .map(|p| {
            (
                p.file.rsplit('/').next().unwrap().to_owned(),
                p.line,
                p.reason.clone(),
                p.location.clone().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        skipped,
        [
            (
                "issues-1.json".to_owned(),
                78,
                "invalid record".to_owned(),
                "[4] (id 9005)".to_owned()
            ),
            (
                "issues-1.json".into(),
                88,
                "unknown object".into(),
                "[5]".into()
            ),
            (
                "rate_limit.json".into(),
                1,
                "unknown object".into(),
                "top-level object".into()
            ),
            (
                "comments.json".into(),
                34,
                "invalid record".into(),
                "[3] (id 5004)".into()
            ),
            (
                "reviews.json".into(),
                24,
                "pending review".into(),
                "[2] (id 8004)".into()
            ),
        ]
    );
    assert!(
        out.problems[0].message.contains("created_at"),
        "{}",
        out.problems[0].message
    );
}

#[test]
fn a_pull_request_seen_from_issues_and_from_pulls_is_one_post() {
    let out = read(&[fixture()], &ReadContext::default()).unwrap();
    let both: Vec<_> = out
        .activities
        .iter()
        .filter(|a| a.id == "issue:acme/widgets#2")
        .collect();
    assert_eq!(both.len(), 2, "read from issues-1.json and pulls.json");
    assert_eq!(both[0], both[1], "the same activity from either endpoint");
    let pr = both[0];
    assert_eq!(
        (pr.kind, pr.thread.as_deref(), pr.channel.as_deref()),
        (Kind::Post, Some("acme/widgets#2"), Some("acme/widgets"))
    );
    assert_eq!(pr.attrs["pull_request"], true);
    assert_eq!(pr.attrs["labels"], serde_json::json!(["bug"]));
    assert_eq!(
        pr.author.as_ref().unwrap().team,
        Some(true),
        "MEMBER is team"
    );
    let merge = last(&out, "merge:acme/widgets#2");
    assert_eq!(
        (
            merge.kind,
            merge.ts.to_string().as_str(),
            merge.reply_to.as_deref()
        ),
        (
            Kind::Contribution,
            "2024-03-03T08:00:00Z",
            Some("issue:acme/widgets#2")
        )
    );
    assert_eq!(merge.author.as_ref().unwrap().id, "12");
    assert_eq!(merge.attrs["merged_by"], "carol");
    assert_eq!(merge.attrs["additions"], 10);
    // An open pull request read only from /pulls/7: a post, no contribution.
    let seven = last(&out, "issue:acme/widgets#7");
    assert_eq!(seven.attrs["draft"], true);
    assert_eq!(seven.author.as_ref().unwrap().bot, Some(true));
    assert!(
        out.activities
            .iter()
            .all(|a| a.id != "merge:acme/widgets#7")
    );
}

#[test]
fn issues_carry_title_state_labels_reactions_and_their_latest_edit_comes_last() {
    let out = read(&[fixture()], &ReadContext::default()).unwrap();
    let versions: Vec<_> = out
        .activities
        .iter()
        .filter(|a| a.id == "issue:acme/widgets#1")
        .collect();
    assert_eq!(
        versions.len(),
        2,
        "two pages, two versions: the store keeps the later"
    );
    let issue = versions[1];
    assert_eq!(issue.attrs["state"], "closed");
    assert_eq!(issue.attrs["updated_at"], "2024-03-03T08:00:05Z");
    assert!(issue.text.as_deref().unwrap().contains("edited"));
    assert_eq!(issue.attrs["title"], "Crash when the widget list is empty");
    assert_eq!(
        issue.attrs["reactions"],
        serde_json::json!({"+1": 2, "heart": 1, "total_count": 3})
    );
    assert_eq!(issue.attrs["milestone"], "v1.2");
    assert_eq!(issue.attrs["assignees"], serde_json::json!(["bob"]));
    let author = issue.author.as_ref().unwrap();
    assert_eq!(
        (
            author.id.as_str(),
            author.handle.as_deref(),
            author.team,
            author.bot
        ),
        ("11", Some("ann"), None, None)
    );
    assert_eq!(
        issue.url.as_deref(),
        Some("https://github.com/acme/widgets/issues/1")
    );
    // Bot by type, ghost is author-less, offsets kept, milliseconds kept.
    assert_eq!(
        last(&out, "issue:acme/widgets#3")
            .author
            .as_ref()
            .unwrap()
            .bot,
        Some(true)
    );
    assert_eq!(
        last(&out, "issue:acme/widgets#3").ts.to_string(),
        "2024-03-04T00:00:00+02:00"
    );
    let four = last(&out, "issue:acme/widgets#4");
    assert!(four.author.is_none());
    assert_eq!(four.ts.to_string(), "2024-03-05T14:30:15.250Z");
    // Another repository in the same folder is its own source; OWNER is team.
    let gadgets = last(&out, "issue:acme/gadgets#1");
    assert_eq!(gadgets.source, "acme/gadgets");
    assert_eq!(gadgets.author.as_ref().unwrap().team, Some(true));
    assert!(
        out.activities
            .iter()
            .filter(|a| a.id != "issue:acme/gadgets#1")
            .all(|a| a.source == "acme/widgets")
    );
}

#[test]
fn comments_reviews_and_review_comments_reply_to_the_opening_post() {
    let out = read(&[fixture()], &ReadContext::default()).unwrap();
    let c = last(&out, "comment:5001");
    assert_eq!(
        (
            c.kind,
            c.thread.as_deref(),
            c.reply_to.as_deref(),
            c.to.as_slice()
        ),
        (
            Kind::Reply,
            Some("acme/widgets#1"),
            Some("issue:acme/widgets#1"),
            &["11".to_owned()][..]
        )
    );
    assert_eq!(
        c.author.as_ref().unwrap().team,
        None,
        "COLLABORATOR is not team"
    );
    assert_eq!(
        c.attrs["reactions"],
        serde_json::json!({"+1": 1, "total_count": 1})
    );
    assert_eq!(
        last(&out, "comment:5002").author.as_ref().unwrap().bot,
        Some(true)
    );
    assert_eq!(last(&out, "comment:5002").to, ["12"]);
    let by_html = last(&out, "comment:5003");
    assert_eq!(by_html.thread.as_deref(), Some("acme/widgets#4"));
    assert!(by_html.to.is_empty(), "the opener is author-less");

    let review = last(&out, "review:8001");
    assert_eq!(review.attrs["review_state"], "CHANGES_REQUESTED");
    assert_eq!(review.text, None, "an empty review body is no text");
    assert_eq!(review.reply_to.as_deref(), Some("issue:acme/widgets#2"));
    assert_eq!(review.to, ["12"]);
    assert_eq!(last(&out, "review:8003").attrs["review_state"], "APPROVED");

    let rc = last(&out, "review-comment:6001");
    assert_eq!(rc.attrs["path"], "src/list.rs");
    assert_eq!(rc.attrs["line"], 12);
    assert_eq!(rc.attrs["review"], "review:8001");
    assert_eq!(rc.thread.as_deref(), Some("acme/widgets#2"));
    let answer = last(&out, "review-comment:6002");
    assert_eq!(answer.attrs["line"], 12, "original_line when line is null");
    assert_eq!(answer.attrs["in_reply_to"], "review-comment:6001");
}

#[test]
fn the_source_option_names_every_repository() {
    let ctx = ReadContext {
        source: Some("acme".into()),
        ..ReadContext::default()
    };
    let out = read(&[fixture()], &ctx).unwrap();
    assert!(out.activities.iter().all(|a| a.source == "acme"));
    // Keys keep the repository, so two repositories in one source do not collide.
    let ids: HashSet<_> = out.activities.iter().map(|a| a.id.as_str()).collect();
    assert!(ids.contains("issue:acme/widgets#1") && ids.contains("issue:acme/gadgets#1"));
}

#[test]
fn a_zip_of_the_folder_reads_the_same() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let zip_path = dir.path().join("export.zip");
    let mut w = zip::ZipWriter::new(std::fs::File::create(&zip_path).unwrap());
    for name in ["issues-1.json", "pulls.json", "comments.json"] {
        w.start_file(name, zip::write::SimpleFileOptions::default())
            .unwrap();
        w.write_all(&std::fs::read(fixture().join(name)).unwrap())
            .unwrap();
    }
    w.finish().unwrap();
    let out = read(&[zip_path], &ReadContext::default()).unwrap();
    assert_eq!(
        kinds(&out.activities),
        BTreeMap::from([("contribution", 1), ("post", 5), ("reply", 3)])
    );
}

#[test]
fn a_cut_file_is_malformed_with_file_line_column_and_what_was_expected() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("issues-3.json");
    let whole = std::fs::read_to_string(fixture().join("issues-2.json")).unwrap();
    std::fs::write(&path, &whole[..whole.len() / 2]).unwrap();
    let e = read(&[path], &ReadContext::default()).unwrap_err();
    let text = e.to_string();
    assert!(
        matches!(e, ImportError::Malformed { line, column, .. } if line > 10 && column > 0)
            && text.contains("issues-3.json")
            && text.contains("expected a GitHub API response"),
        "{text}"
    );
    let path = dir.path().join("bad.json");
    std::fs::write(&path, "[{\"id\": 1,}]").unwrap();
    let e = read(&[path], &ReadContext::default()).unwrap_err();
    assert!(
        matches!(
            e,
            ImportError::Malformed {
                line: 1,
                column: 11,
                ..
            }
        ),
        "{e}"
    );
    for (text, line, column, says) in [
        ("", 1, 1, "empty"),
        (
            "[\n  {\"id\": 1}\n  {\"id\": 2}\n]",
            3,
            3,
            "expected `,` or `]`",
        ),
        ("[{\"id\": 1}] x", 1, 13, "trailing characters"),
        (
            "[{\"id\": 1},\n {\"body\": \"cut",
            2,
            15,
            "ends inside a value",
        ),
    ] {
        std::fs::write(dir.path().join("bad.json"), text).unwrap();
        let e = read(&[dir.path().join("bad.json")], &ReadContext::default()).unwrap_err();
        let shown = e.to_string();
        assert!(
            matches!(e, ImportError::Malformed { line: l, column: c, .. } if l == line && c == column)
                && shown.contains(says),
            "{text:?}: {shown}"
        );
    }
}

/// The GitHub responses of Perceval's test data (`KITH_SHARED_DATA`).
#[test]
fn real_perceval_responses_import() {
    let Some(responses) = shared_data("api-fixtures-perceval/github") else {
        return;
    };
    let out = read(&[responses], &ReadContext::default()).unwrap();
    let k = kinds(&out.activities);
    // Issues: github_issue_1, _2, _2_with_pr, github_request, _from_2016_03_01 (5 objects,
    // numbers 1 and 2 only); pulls: github_request_pull_request_1, _2.
    assert_eq!(k["post"], 7, "{k:?}");
    let posts: HashSet<_> = out
        .activities
        .iter()
        .filter(|a| a.kind == Kind::Post)
        .map(|a| a.id.as_str())
        .collect();
    assert_eq!(
        posts,
        HashSet::from(["issue:zhquan_example/repo#1", "issue:zhquan_example/repo#2"])
    );
    // 2 issue comments + 6 review comments + 3 reviews.
    assert_eq!(k["reply"], 11, "{k:?}");
    assert_eq!(
        out.activities
            .iter()
            .filter(|a| a.attrs.get("reply_type").is_some_and(|t| t == "review"))
            .count(),
        3
    );
    // Both pull requests say `merged: true` with `merged_at: null`: merged at closed_at.
    assert_eq!(k["contribution"], 2, "{k:?}");
    assert!(
        out.activities
            .iter()
            .filter(|a| a.kind == Kind::Contribution)
            .all(|a| a.attrs["merged_at_from"] == "closed_at")
    );
    // Perceval's second review file names another repository in its `pull_request_url`: the
    // review goes where its address says.
    let sources: BTreeMap<&str, usize> = out.activities.iter().fold(BTreeMap::new(), |mut m, a| {
        *m.entry(a.source.as_str()).or_default() += 1;
        m
    });
    assert_eq!(
        sources,
        BTreeMap::from([("chaoss/wg-evolution", 1), ("zhquan_example/repo", 19)])
    );
    // A review and two review comments have no user: author-less.
    assert_eq!(
        out.activities.iter().filter(|a| a.author.is_none()).count(),
        3
    );
    // Reactions lists, commits, users, organisations, the repository, rate limits, GraphQL
    // timelines and requested reviewers: each object skipped with its place.
    assert_eq!(out.problems.len(), 29, "{:?}", out.problems);
    assert!(
        out.problems
            .iter()
            .all(|p| p.reason == "unknown object" && p.location.is_some())
    );
}

#[test]
fn generated_community_round_trips_through_the_export_writer() {
    let (activities, out) = round_trip(FORMAT, FORMAT, 20_000, 7, "");
    assert!(out.problems.is_empty(), "{:?}", out.problems.first());
    let opens = |a: &Activity| a.thread.as_deref().is_none_or(|t| t == a.id);
    let issues: HashSet<&str> = activities
        .iter()
        .filter(|a| matches!(a.kind, Kind::Post | Kind::Feedback | Kind::Contribution) && opens(a))
        .map(|a| a.id.as_str())
        .collect();
    let pulls = activities
        .iter()
        .filter(|a| a.kind == Kind::Contribution && opens(a))
        .count();
    let replies = activities
        .iter()
        .filter(|a| {
            matches!(a.kind, Kind::Reply | Kind::Answer)
                && a.thread.as_deref().is_some_and(|t| issues.contains(t))
        })
        .count();
    assert!(
        pulls > 0 && replies > 1000,
        "{pulls} pulls, {replies} replies"
    );
    let k = kinds(&out.activities);
    // Pull requests are read twice (from issues.json and pulls.json) as one identical post.
    assert_eq!(k["post"], issues.len() + pulls);
    let distinct: HashSet<&str> = out
        .activities
        .iter()
        .filter(|a| a.kind == Kind::Post)
        .map(|a| a.id.as_str())
        .collect();
    assert_eq!(distinct.len(), issues.len());
    assert_eq!(k["contribution"], pulls);
    assert_eq!(k["reply"], replies);
    assert!(out.activities.iter().all(|a| a.source == "demo/community"));
    // Replies keep their time and address the opener.
    let original: BTreeMap<_, _> = activities
        .iter()
        .map(|a| (a.id.trim_start_matches('a'), a))
        .collect();
    for a in out
        .activities
        .iter()
        .filter(|a| a.kind == Kind::Reply)
        .take(500)
    {
        let o = original[a.id.trim_start_matches("comment:")];
        assert_eq!(a.ts.secs, o.ts.secs);
        assert_eq!(a.text, o.text);
        let opener = original[o.thread.as_deref().unwrap().trim_start_matches('a')];
        let opener_id = opener.author.as_ref().unwrap().id.trim_start_matches('u');
        assert_eq!(a.to, [opener_id]);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = read_bytes(&bytes);
    }

    #[test]
    fn truncated_and_mutated_fixtures_never_panic(
        file in 0usize..4,
        cut in 0usize..8000,
        at in 0usize..8000,
        byte in any::<u8>(),
    ) {
        let name = ["issues-1.json", "pulls.json", "review-comments.json", "reviews.json"][file];
        let mut bytes = std::fs::read(fixture().join(name)).unwrap();
        flip_wrapping(&mut bytes, at, byte);
        bytes.truncate(cut.min(bytes.len()));
        let _ = read_bytes(&bytes);
    }

    #[test]
    fn any_json_shape_never_panics(v in json_value()) {
        let _ = read_bytes(v.to_string().as_bytes());
        let _ = read_bytes(serde_json::Value::Array(vec![v]).to_string().as_bytes());
    }
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    support::json_value(
        "[a-z0-9:./#TZ+-]{0,16}",
        &[
            "https://api.github.com/repos/o/r/issues/1",
            "2024-01-01T00:00:00Z",
        ],
        &[
            "id",
            "number",
            "user",
            "state",
            "created_at",
            "submitted_at",
            "merged_at",
            "merged",
            "head",
            "base",
            "issue_url",
            "pull_request_url",
            "pull_request",
            "diff_hunk",
            "commit_id",
            "reactions",
            "labels",
        ],
        8,
    )
}

fn read_bytes(bytes: &[u8]) -> Result<Collect, ImportError> {
    let (_dir, path) = temp_file("issues.json", bytes);
    read(&[path], &ReadContext::default())
}
