//! `github`: GitHub REST API JSON saved to files — issues, pull requests, issue comments,
//! review comments and reviews, as arrays (pages) or single objects — read into canonical
//! activities (SPEC §3, `docs/formats/github.md`).
//!
//! What each object is comes from its fields, not its file name. Issues and pull requests open
//! threads (`<owner>/<repo>#<number>`), keyed by number so that a pull request seen both from
//! `/issues` and from `/pulls` is one post; comments and reviews reply to the opening post; a
//! merged pull request adds a `contribution`. Arrays are streamed element by element.

mod stream;
mod writer;

use std::collections::HashMap;

use kith_model::{Activity, Author, Kind, Timestamp};
use kith_store::Problem;
use serde_json::{Map, Value};

use crate::{Format, ImportError, InputFile, ReadContext, RecordSink};

pub use writer::write_export;

pub struct GitHub;

impl Format for GitHub {
    fn name(&self) -> &'static str {
        "github"
    }

    fn summary(&self) -> &'static str {
        "GitHub REST API JSON saved to files: issues, pull requests, comments, review comments, reviews (pages, folders, .zip)"
    }

    /// `.json` and `.json.gz` files, and files without an extension (API responses saved
    /// with `curl -o issues-1`).
    fn accepts(&self, relative: &str) -> bool {
        let name = relative.rsplit('/').next().unwrap_or(relative);
        relative.ends_with(".json")
            || relative.ends_with(".json.gz")
            || (!name.starts_with('.') && !name.contains('.'))
    }

    fn read(
        &self,
        inputs: &[InputFile],
        ctx: &ReadContext,
        sink: &mut dyn RecordSink,
    ) -> Result<(), ImportError> {
        let mut reader = Reader {
            source: ctx.source.clone(),
            openers: HashMap::new(),
            sink,
        };
        // Issues and pull requests before comments and reviews, so that a reply knows whom it
        // addresses (the opener's author) when both are in the import.
        let mut ordered: Vec<&InputFile> = inputs.iter().collect();
        ordered.sort_by_cached_key(|i| {
            let name = i.file_name().to_ascii_lowercase();
            let replies = name.contains("comment") || name.contains("review");
            (replies, i.relative.clone())
        });
        for input in ordered {
            let file = input.display();
            let reader_in = input.open(ctx)?;
            stream::each_value(
                reader_in,
                &file,
                "a GitHub API response: an array of objects or one object",
                FIELDS,
                &mut |index, line, value| reader.record(&file, index, line, &value),
            )?;
        }
        Ok(())
    }
}

/// The fields this importer looks at; the others (`_links`, `*_url`, `node_id`, ...) are
/// skipped while parsing, never built.
const FIELDS: &[&str] = &[
    "id",
    "number",
    "user",
    "state",
    "title",
    "body",
    "created_at",
    "updated_at",
    "closed_at",
    "submitted_at",
    "merged_at",
    "merged",
    "merged_by",
    "head",
    "base",
    "pull_request",
    "pull_request_review_id",
    "pull_request_url",
    "diff_hunk",
    "issue_url",
    "repository_url",
    "html_url",
    "url",
    "commit_id",
    "author_association",
    "labels",
    "assignees",
    "milestone",
    "locked",
    "draft",
    "state_reason",
    "reactions",
    "additions",
    "deletions",
    "changed_files",
    "commits",
    "merge_commit_sha",
    "path",
    "line",
    "original_line",
    "position",
    "original_position",
    "in_reply_to_id",
];

/// What an object from the API is, by its fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// From `/issues` (a pull request when it has `pull_request`).
    Issue,
    /// From `/pulls`: has `head` and `base`.
    Pull,
    IssueComment,
    ReviewComment,
    Review,
    Unknown,
}

fn shape(v: &Value) -> Shape {
    let Some(o) = v.as_object() else {
        return Shape::Unknown;
    };
    let has = |k: &str| o.get(k).is_some_and(|v| !v.is_null());
    if has("number") && has("head") && has("base") {
        Shape::Pull
    } else if has("pull_request_review_id") || has("diff_hunk") {
        Shape::ReviewComment
    } else if has("number") && o.contains_key("user") && has("state") {
        Shape::Issue
    } else if has("issue_url")
        || str_of(v, "html_url").is_some_and(|u| u.contains("#issuecomment-"))
    {
        Shape::IssueComment
    } else if has("state") && has("commit_id") && o.contains_key("user") {
        Shape::Review
    } else {
        Shape::Unknown
    }
}

fn str_of<'v>(v: &'v Value, key: &str) -> Option<&'v str> {
    v.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// A body as GitHub shows it: without its HTML comments (`<!-- … -->`, an issue template's
/// instructions, which the page hides; an unclosed one hides the rest), except inside fenced
/// code, where they are code. `None` for an empty body or one that was only comments.
fn shown_body(v: &Value) -> Option<String> {
    let body = str_of(v, "body")?;
    let shown = kith_model::markdown::without_html_comments(
        body,
        kith_model::markdown::Unclosed::HidesTheRest,
    );
    (!shown.trim().is_empty()).then(|| shown.into_owned())
}

fn u64_of(v: &Value, key: &str) -> Option<u64> {
    match v.get(key)? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// `owner/repo` and the trailing number of an API or web address:
/// `https://api.github.com/repos/o/r/issues/7`, `https://github.com/o/r/pull/7#...`,
/// `https://ghe.example.com/api/v3/repos/o/r/pulls/7`.
fn repo_and_number(url: &str) -> Option<(String, Option<u64>)> {
    let url = url.split(['#', '?']).next().unwrap_or(url);
    let path = match url.find("/repos/") {
        Some(i) => &url[i + "/repos/".len()..],
        None => {
            let rest = url.split_once("://").map_or(url, |(_, r)| r);
            rest.split_once('/')?.1
        }
    };
    let mut parts = path.split('/');
    let owner = parts.next().filter(|s| !s.is_empty())?;
    let repo = parts.next().filter(|s| !s.is_empty())?;
    let number = parts.nth(1).and_then(|n| n.parse().ok());
    Some((format!("{owner}/{repo}"), number))
}

/// The repository and number an object belongs to, from the first of `keys` that names them.
fn locate(v: &Value, keys: &[&str]) -> Option<(String, Option<u64>)> {
    keys.iter()
        .filter_map(|k| str_of(v, k))
        .find_map(repo_and_number)
}

fn parse_ts(v: &Value, key: &str, what: &str) -> Result<Timestamp, Skip> {
    let text = str_of(v, key).ok_or_else(|| Skip::invalid(format!("{what} has no `{key}`")))?;
    Timestamp::parse_rfc3339(text).map_err(|e| Skip::invalid(format!("{what}: `{key}`: {e}")))
}

/// Why a record was skipped.
struct Skip {
    reason: &'static str,
    message: String,
}

impl Skip {
    fn invalid(message: String) -> Skip {
        Skip {
            reason: "invalid record",
            message,
        }
    }
}

/// The author of an object: `user.id` (the GitHub user id), `login` as handle. No user, an
/// empty one, or GitHub's `ghost` (deleted accounts) is author-less. `author_association`
/// OWNER or MEMBER marks the author `team`; `type: "Bot"` or a `[bot]` login marks a bot.
fn author(v: &Value) -> Option<Author> {
    let user = v.get("user")?;
    let id = u64_of(user, "id")?;
    let login = str_of(user, "login");
    if login == Some("ghost") {
        return None;
    }
    let mut a = Author::new(id.to_string());
    a.handle = login.map(str::to_owned);
    a.name = str_of(user, "name").map(str::to_owned);
    if str_of(user, "type") == Some("Bot") || login.is_some_and(|l| l.ends_with("[bot]")) {
        a.bot = Some(true);
    }
    if matches!(str_of(v, "author_association"), Some("OWNER" | "MEMBER")) {
        a.team = Some(true);
    }
    Some(a)
}

/// Reaction counts that are not zero (`+1`, `heart`, ...), without the API address.
fn reactions(v: &Value) -> Option<Value> {
    let r = v.get("reactions")?.as_object()?;
    let counts: Map<String, Value> = r
        .iter()
        .filter(|(k, n)| *k != "url" && n.as_u64().is_some_and(|n| n > 0))
        .map(|(k, n)| (k.clone(), n.clone()))
        .collect();
    (!counts.is_empty()).then_some(Value::Object(counts))
}

fn copy(from: &Value, to: &mut Map<String, Value>, keys: &[&str]) {
    for key in keys {
        if let Some(v) = from.get(*key).filter(|v| !v.is_null()) {
            to.insert((*key).to_owned(), v.clone());
        }
    }
}

/// Names of the objects in an array field (`labels[].name`, `assignees[].login`).
fn names(v: &Value, key: &str, field: &str) -> Option<Value> {
    let list: Vec<Value> = v
        .get(key)?
        .as_array()?
        .iter()
        .filter_map(|x| str_of(x, field).map(|s| Value::String(s.to_owned())))
        .collect();
    (!list.is_empty()).then_some(Value::Array(list))
}

/// A thread's opener, remembered so that replies can name whom they address.
fn thread_hash(thread: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(thread.as_bytes())
}

struct Reader<'a> {
    source: Option<String>,
    /// Hash of `<owner>/<repo>#<number>` → the opener's GitHub user id (`None`: author-less).
    openers: HashMap<u64, Option<u64>>,
    sink: &'a mut dyn RecordSink,
}

impl Reader<'_> {
    fn record(&mut self, file: &str, index: Option<usize>, line: u64, v: &Value) {
        let result = match shape(v) {
            Shape::Issue => self.opening(v, false),
            Shape::Pull => self.opening(v, true),
            Shape::IssueComment => self.comment(v),
            Shape::ReviewComment => self.review_comment(v),
            Shape::Review => self.review(v),
            Shape::Unknown => Err(Skip {
                reason: "unknown object",
                message: "not an issue, pull request, comment, review comment or review".into(),
            }),
        };
        if let Err(skip) = result {
            let mut location = match index {
                Some(i) => format!("[{i}]"),
                None => "top-level object".to_owned(),
            };
            if let Some(id) = u64_of(v, "id") {
                location.push_str(&format!(" (id {id})"));
            }
            self.sink.skip(Problem {
                file: file.to_owned(),
                line,
                location: Some(location),
                reason: skip.reason.into(),
                message: skip.message,
            });
        }
    }

    fn source_for(&self, repo: &str) -> String {
        self.source.clone().unwrap_or_else(|| repo.to_owned())
    }

    fn opener_author(&self, thread: &str) -> Option<String> {
        self.openers
            .get(&thread_hash(thread))
            .copied()
            .flatten()
            .map(|id| id.to_string())
    }

    /// An issue, or a pull request seen from `/issues` or `/pulls`: the opening `post`, the
    /// same activity from either side (only fields both carry), and for a merged pull request
    /// its `contribution`.
    fn opening(&mut self, v: &Value, from_pulls: bool) -> Result<(), Skip> {
        let number = u64_of(v, "number")
            .ok_or_else(|| Skip::invalid("the issue has no numeric `number`".into()))?;
        let repo = locate(v, &["repository_url", "url", "html_url"])
            .map(|(r, _)| r)
            .or_else(|| {
                v.pointer("/base/repo/full_name")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            })
            .ok_or_else(|| Skip::invalid(format!("#{number}: no address names its repository")))?;
        let what = format!("{repo}#{number}");
        let ts = parse_ts(v, "created_at", &what)?;
        let is_pull = from_pulls || v.get("pull_request").is_some_and(|p| !p.is_null());
        let author = author(v);
        let thread = what.clone();
        self.openers.insert(
            thread_hash(&thread),
            author.as_ref().and_then(|a| a.id.parse().ok()),
        );
        let source = self.source_for(&repo);
        let key = format!("issue:{thread}");
        let mut a = Activity::new(source.clone(), key.clone(), Kind::Post, ts, author.clone());
        a.thread = Some(thread.clone());
        a.channel = Some(repo.clone());
        a.text = shown_body(v);
        a.url = str_of(v, "html_url").map(str::to_owned);
        let mut attrs = Map::new();
        copy(
            v,
            &mut attrs,
            &[
                "title",
                "state",
                "locked",
                "updated_at",
                "closed_at",
                "author_association",
            ],
        );
        attrs.insert("number".into(), Value::from(number));
        attrs.insert("pull_request".into(), Value::Bool(is_pull));
        if let Some(l) = names(v, "labels", "name") {
            attrs.insert("labels".into(), l);
        }
        if let Some(l) = names(v, "assignees", "login") {
            attrs.insert("assignees".into(), l);
        }
        if let Some(m) = v.get("milestone").and_then(|m| str_of(m, "title")) {
            attrs.insert("milestone".into(), Value::String(m.to_owned()));
        }
        if v.get("draft").and_then(Value::as_bool) == Some(true) {
            attrs.insert("draft".into(), Value::Bool(true));
        }
        if !is_pull {
            // Only the /issues side carries these; a pull request keeps to what both sides
            // say, so that reading it from either gives the same post.
            copy(v, &mut attrs, &["state_reason"]);
            if let Some(r) = reactions(v) {
                attrs.insert("reactions".into(), r);
            }
        }
        a.attrs = attrs;
        self.sink.activity(a);

        if from_pulls {
            let merged_at = match str_of(v, "merged_at") {
                Some(_) => Some(("merged_at", parse_ts(v, "merged_at", &what)?)),
                None if v.get("merged").and_then(Value::as_bool) == Some(true) => {
                    Some(("closed_at", parse_ts(v, "closed_at", &what)?))
                }
                None => None,
            };
            if let Some((from, at)) = merged_at {
                let mut m = Activity::new(
                    source,
                    format!("merge:{thread}"),
                    Kind::Contribution,
                    at,
                    author,
                );
                m.thread = Some(thread);
                m.reply_to = Some(key);
                m.channel = Some(repo);
                m.url = str_of(v, "html_url").map(str::to_owned);
                let mut attrs = Map::new();
                attrs.insert("type".into(), Value::String("pull_request".into()));
                attrs.insert("number".into(), Value::from(number));
                if from != "merged_at" {
                    attrs.insert("merged_at_from".into(), Value::String(from.into()));
                }
                copy(
                    v,
                    &mut attrs,
                    &[
                        "additions",
                        "deletions",
                        "changed_files",
                        "commits",
                        "merge_commit_sha",
                    ],
                );
                if let Some(by) = v.get("merged_by").and_then(|u| str_of(u, "login")) {
                    attrs.insert("merged_by".into(), Value::String(by.to_owned()));
                }
                if let Some(base) = v.pointer("/base/ref").and_then(Value::as_str) {
                    attrs.insert("base".into(), Value::String(base.to_owned()));
                }
                m.attrs = attrs;
                self.sink.activity(m);
            }
        }
        Ok(())
    }

    /// A reply in `repo#number`'s thread to its opening post.
    fn reply(
        &mut self,
        v: &Value,
        key: String,
        repo: &str,
        number: u64,
        ts: Timestamp,
    ) -> Activity {
        let thread = format!("{repo}#{number}");
        let mut a = Activity::new(self.source_for(repo), key, Kind::Reply, ts, author(v));
        a.reply_to = Some(format!("issue:{thread}"));
        if let Some(to) = self.opener_author(&thread) {
            a.to.push(to);
        }
        a.thread = Some(thread);
        a.channel = Some(repo.to_owned());
        a.text = shown_body(v);
        a.url = str_of(v, "html_url").map(str::to_owned);
        copy(v, &mut a.attrs, &["updated_at", "author_association"]);
        if let Some(r) = reactions(v) {
            a.attrs.insert("reactions".into(), r);
        }
        a
    }

    fn comment(&mut self, v: &Value) -> Result<(), Skip> {
        let id = u64_of(v, "id")
            .ok_or_else(|| Skip::invalid("the comment has no numeric `id`".into()))?;
        let (repo, number) = match locate(v, &["issue_url", "html_url"]) {
            Some((repo, Some(n))) => (repo, n),
            _ => {
                return Err(Skip::invalid(format!(
                    "comment {id}: `issue_url` names no issue"
                )));
            }
        };
        let ts = parse_ts(v, "created_at", &format!("comment {id}"))?;
        let a = self.reply(v, format!("comment:{id}"), &repo, number, ts);
        self.sink.activity(a);
        Ok(())
    }

    fn review_comment(&mut self, v: &Value) -> Result<(), Skip> {
        let id = u64_of(v, "id")
            .ok_or_else(|| Skip::invalid("the review comment has no numeric `id`".into()))?;
        let (repo, number) = match locate(v, &["pull_request_url", "html_url"]) {
            Some((repo, Some(n))) => (repo, n),
            _ => {
                return Err(Skip::invalid(format!(
                    "review comment {id}: `pull_request_url` names no pull request"
                )));
            }
        };
        let ts = parse_ts(v, "created_at", &format!("review comment {id}"))?;
        let mut a = self.reply(v, format!("review-comment:{id}"), &repo, number, ts);
        a.attrs
            .insert("reply_type".into(), Value::String("review_comment".into()));
        copy(v, &mut a.attrs, &["path", "commit_id"]);
        let line = ["line", "original_line", "position", "original_position"]
            .iter()
            .find_map(|k| v.get(*k).filter(|l| l.is_u64()));
        if let Some(l) = line {
            a.attrs.insert("line".into(), l.clone());
        }
        if let Some(r) = u64_of(v, "pull_request_review_id") {
            a.attrs
                .insert("review".into(), Value::String(format!("review:{r}")));
        }
        if let Some(r) = u64_of(v, "in_reply_to_id") {
            a.attrs.insert(
                "in_reply_to".into(),
                Value::String(format!("review-comment:{r}")),
            );
        }
        self.sink.activity(a);
        Ok(())
    }

    fn review(&mut self, v: &Value) -> Result<(), Skip> {
        let id = u64_of(v, "id")
            .ok_or_else(|| Skip::invalid("the review has no numeric `id`".into()))?;
        let (repo, number) = match locate(v, &["pull_request_url", "html_url"]) {
            Some((repo, Some(n))) => (repo, n),
            _ => {
                return Err(Skip::invalid(format!(
                    "review {id}: `pull_request_url` names no pull request"
                )));
            }
        };
        if str_of(v, "state") == Some("PENDING") || v.get("submitted_at").is_none_or(Value::is_null)
        {
            return Err(Skip {
                reason: "pending review",
                message: format!("review {id} was never submitted (no `submitted_at`)"),
            });
        }
        let ts = parse_ts(v, "submitted_at", &format!("review {id}"))?;
        let mut a = self.reply(v, format!("review:{id}"), &repo, number, ts);
        a.attrs
            .insert("reply_type".into(), Value::String("review".into()));
        if let Some(s) = str_of(v, "state") {
            a.attrs
                .insert("review_state".into(), Value::String(s.to_owned()));
        }
        copy(v, &mut a.attrs, &["commit_id"]);
        self.sink.activity(a);
        Ok(())
    }
}

impl crate::ExportWriter for GitHub {
    fn name(&self) -> &'static str {
        "github"
    }

    fn write(
        &self,
        activities: &mut dyn Iterator<Item = Activity>,
        dir: &std::path::Path,
    ) -> Result<std::path::PathBuf, ImportError> {
        write_export(activities, dir)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An issue written in its template: the page shows neither the template's comments nor
    /// anything after an unclosed one, but a comment in fenced code is code.
    #[test]
    fn bodies_are_read_as_github_shows_them() {
        let v = serde_json::json!({
            "body": "<!-- Describe the bug. Be kind! -->\r\n**What happened**\r\nThe export crashes <!-- here -->.\r\n```html\r\n<!-- kept -->\r\n```\r\nbye <!-- never closed\r\ngone"
        });
        assert_eq!(
            shown_body(&v).as_deref(),
            Some(
                "\r\n**What happened**\r\nThe export crashes .\r\n```html\r\n<!-- kept -->\r\n```\r\nbye "
            )
        );
        let only_template = serde_json::json!({ "body": "<!-- Please fill in -->\n" });
        assert_eq!(shown_body(&only_template), None);
        let plain = serde_json::json!({ "body": "No comment here" });
        assert_eq!(shown_body(&plain).as_deref(), Some("No comment here"));
    }

    #[test]
    fn addresses_name_repository_and_number() {
        assert_eq!(
            repo_and_number("https://api.github.com/repos/o/r/issues/7"),
            Some(("o/r".into(), Some(7)))
        );
        assert_eq!(
            repo_and_number("https://github.com/o/r/pull/88#pullrequestreview-1"),
            Some(("o/r".into(), Some(88)))
        );
        assert_eq!(
            repo_and_number("https://ghe.example.com/api/v3/repos/o/r/pulls/3"),
            Some(("o/r".into(), Some(3)))
        );
        assert_eq!(
            repo_and_number("https://api.github.com/repos/o/r"),
            Some(("o/r".into(), None))
        );
        assert_eq!(repo_and_number("nonsense"), None);
    }
}
