//! Canonical activities written as saved GitHub API responses — `issues.json`, `pulls.json`
//! and `comments.json`, one array each, written as the activities arrive (in time order) — for
//! `kith demo --write-export github`.
//!
//! Thread openers (`post`, `feedback`) become issues; a `contribution` opening a thread becomes
//! a pull request, listed in `issues.json` (as `/issues` lists pull requests) and in
//! `pulls.json`, merged at its time; `reply` and `answer` in those threads become issue
//! comments. Memory: one number per thread written (for the comments' `issue_url`).

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use kith_model::{Activity, Author, Kind, Timestamp};
use serde_json::{Value, json};

use crate::ImportError;

const REPO: &str = "demo/community";

/// One JSON array written element by element.
struct ArrayFile {
    path: PathBuf,
    out: BufWriter<File>,
    first: bool,
}

impl ArrayFile {
    fn create(path: PathBuf) -> Result<ArrayFile, ImportError> {
        let file = File::create(&path).map_err(|e| ImportError::io(&path, e))?;
        let mut out = BufWriter::with_capacity(1 << 20, file);
        out.write_all(b"[").map_err(|e| ImportError::io(&path, e))?;
        Ok(ArrayFile {
            path,
            out,
            first: true,
        })
    }

    fn push(&mut self, v: &Value) -> Result<(), ImportError> {
        let sep: &[u8] = if self.first { b"\n  " } else { b",\n  " };
        self.first = false;
        self.out
            .write_all(sep)
            .map_err(|e| ImportError::io(&self.path, e))?;
        serde_json::to_writer(&mut self.out, v).map_err(|e| ImportError::io(&self.path, e.into()))
    }

    fn finish(mut self) -> Result<(), ImportError> {
        self.out
            .write_all(b"\n]\n")
            .and_then(|()| self.out.flush())
            .map_err(|e| ImportError::io(&self.path, e))
    }
}

fn number_in(id: &str) -> Option<u64> {
    let digits = id.trim_start_matches(|c: char| !c.is_ascii_digit());
    digits.parse().ok()
}

fn iso(ts: Timestamp) -> String {
    Timestamp {
        offset_min: 0,
        micros: 0,
        ..ts
    }
    .to_string()
}

fn user(author: Option<&Author>) -> Value {
    let Some(a) = author else {
        return Value::Null;
    };
    let id = number_in(&a.id).unwrap_or(0);
    let login = a.handle.clone().unwrap_or_else(|| format!("user{id}"));
    let bot = a.bot == Some(true);
    let login = if bot && !login.ends_with("[bot]") {
        format!("{login}[bot]")
    } else {
        login
    };
    json!({
        "login": login,
        "id": id,
        "url": format!("https://api.github.com/users/{login}"),
        "html_url": format!("https://github.com/{login}"),
        "type": if bot { "Bot" } else { "User" },
        "site_admin": false,
    })
}

fn association(author: Option<&Author>) -> &'static str {
    match author {
        Some(a) if a.team == Some(true) => "MEMBER",
        Some(_) => "CONTRIBUTOR",
        None => "NONE",
    }
}

fn title_of(a: &Activity) -> String {
    a.text
        .as_deref()
        .and_then(|t| t.lines().next())
        .unwrap_or("Untitled")
        .chars()
        .take(80)
        .collect()
}

/// Writes `activities` as `issues.json`, `pulls.json` and `comments.json` in `dir` and returns
/// `dir`.
pub fn write_export(
    activities: &mut dyn Iterator<Item = Activity>,
    dir: &Path,
) -> Result<PathBuf, ImportError> {
    std::fs::create_dir_all(dir).map_err(|e| ImportError::io(dir, e))?;
    let mut issues = ArrayFile::create(dir.join("issues.json"))?;
    let mut pulls = ArrayFile::create(dir.join("pulls.json"))?;
    let mut comments = ArrayFile::create(dir.join("comments.json"))?;
    let api = format!("https://api.github.com/repos/{REPO}");
    let web = format!("https://github.com/{REPO}");
    // Thread activity id → issue number.
    let mut numbers: HashMap<String, u64> = HashMap::new();
    let mut next_comment: u64 = 1;
    for a in activities {
        let opens = a.thread.as_deref().is_none_or(|t| t == a.id);
        match a.kind {
            Kind::Post | Kind::Feedback | Kind::Contribution if opens => {
                let number = numbers.len() as u64 + 1;
                numbers.insert(a.id.clone(), number);
                let id = number_in(&a.id).unwrap_or(number);
                let pull = a.kind == Kind::Contribution;
                let mut labels = Vec::new();
                if let Some(c) = &a.channel {
                    labels.push(json!({"name": c}));
                }
                if let Some(c) = a.attrs.get("category").and_then(Value::as_str) {
                    labels.push(json!({"name": c}));
                }
                let when = iso(a.ts);
                let page = if pull { "pull" } else { "issues" };
                let mut issue = json!({
                    "url": format!("{api}/issues/{number}"),
                    "repository_url": api,
                    "html_url": format!("{web}/{page}/{number}"),
                    "id": id,
                    "number": number,
                    "title": title_of(&a),
                    "user": user(a.author.as_ref()),
                    "labels": labels,
                    "state": if pull { "closed" } else { "open" },
                    "locked": false,
                    "assignees": [],
                    "milestone": null,
                    "comments": 0,
                    "created_at": when,
                    "updated_at": when,
                    "closed_at": if pull { Value::String(when.clone()) } else { Value::Null },
                    "author_association": association(a.author.as_ref()),
                    "body": a.text,
                });
                if pull {
                    issue["pull_request"] = json!({
                        "url": format!("{api}/pulls/{number}"),
                        "html_url": format!("{web}/pull/{number}"),
                        "merged_at": when,
                    });
                    let mut pr = issue.clone();
                    if let Some(o) = pr.as_object_mut() {
                        o.remove("pull_request");
                        o.remove("repository_url");
                        o.remove("comments");
                    }
                    pr["url"] = json!(format!("{api}/pulls/{number}"));
                    pr["issue_url"] = json!(format!("{api}/issues/{number}"));
                    pr["id"] = json!(id + 1_000_000_000);
                    pr["head"] =
                        json!({"ref": format!("change-{number}"), "sha": format!("{:040x}", id)});
                    pr["base"] = json!({"ref": "main", "repo": {"full_name": REPO}});
                    pr["merged"] = json!(true);
                    pr["merged_at"] = json!(when);
                    pr["merge_commit_sha"] = json!(format!("{:040x}", id + 1));
                    pr["merged_by"] = user(a.author.as_ref());
                    pr["draft"] = json!(false);
                    pulls.push(&pr)?;
                } else {
                    issue["state_reason"] = Value::Null;
                }
                issues.push(&issue)?;
            }
            Kind::Reply | Kind::Answer => {
                let Some(number) = a.thread.as_ref().and_then(|t| numbers.get(t)).copied() else {
                    continue;
                };
                let id = number_in(&a.id).unwrap_or_else(|| {
                    next_comment += 1;
                    next_comment
                });
                let when = iso(a.ts);
                comments.push(&json!({
                    "url": format!("{api}/issues/comments/{id}"),
                    "html_url": format!("{web}/issues/{number}#issuecomment-{id}"),
                    "issue_url": format!("{api}/issues/{number}"),
                    "id": id,
                    "user": user(a.author.as_ref()),
                    "created_at": when,
                    "updated_at": when,
                    "author_association": association(a.author.as_ref()),
                    "body": a.text,
                }))?;
            }
            _ => {}
        }
    }
    issues.finish()?;
    pulls.finish()?;
    comments.finish()?;
    Ok(dir.to_owned())
}
