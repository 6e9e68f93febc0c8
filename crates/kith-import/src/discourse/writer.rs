//! Canonical activities written as Discourse topic JSON files (`t/<topic id>.json`, as served
//! at `/t/<id>.json` with all pages merged), for `kith demo --write-export discourse`.
//!
//! Thread openers (`post`, `feedback`) open topics; `reply` and `answer` are posts of the
//! topic; a `solution` marks its answer `accepted_answer`; `reaction`s count as likes. Open
//! topics are buffered and written once idle for 60 days (or, past 20,000 open topics, the
//! longest idle first); a post arriving for a topic already written goes to a continuation
//! file (`t/<id>-<n>.json`, a later page). Memory: the open topics, plus a few numbers per
//! written topic.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use kith_model::{Activity, Kind, Timestamp};
use serde_json::{Value, json};

use super::Discourse;
use crate::{ExportWriter, ImportError};

const IDLE_SECS: i64 = 60 * 86_400;
const MAX_OPEN: usize = 20_000;

fn number(id: &str) -> Option<u64> {
    let digits = id.trim_start_matches(|c: char| !c.is_ascii_digit());
    if digits.is_empty() {
        None
    } else {
        digits.parse().ok()
    }
}

struct Topic {
    id: u64,
    category: u64,
    title: String,
    created: Timestamp,
    last: Timestamp,
    posts: Vec<Value>,
    /// activity id → post number, for `reply_to_post_number` (this page only).
    numbers: HashMap<String, u64>,
}

impl Topic {
    /// The post of this page that the activity `reply_to` was written as.
    fn post_mut(&mut self, reply_to: Option<&String>) -> Option<&mut Value> {
        let target = self.numbers.get(reply_to?).copied()?;
        let base = self
            .posts
            .first()
            .and_then(|p| p["post_number"].as_u64())
            .unwrap_or(1);
        self.posts.get_mut((target - base) as usize)
    }
}

/// What is remembered of a topic already written.
struct Written {
    next_number: u64,
    pages: u32,
    opening: u64,
    category: u64,
}

struct State {
    dir: PathBuf,
    open: HashMap<String, Topic>,
    written: HashMap<String, Written>,
    categories: HashMap<String, u64>,
}

fn rfc3339_millis(ts: Timestamp) -> String {
    let t = Timestamp {
        offset_min: 0,
        ..ts
    }
    .to_string();
    format!("{}.{:03}Z", t.get(..19).unwrap_or(&t), ts.micros / 1000)
}

impl State {
    fn flush(&mut self, thread: &str) -> Result<(), ImportError> {
        let Some(topic) = self.open.remove(thread) else {
            return Ok(());
        };
        let next_number = topic.posts.len() as u64 + 1;
        let (name, stream_first, category) = match self.written.get_mut(thread) {
            Some(w) => {
                w.pages += 1;
                w.next_number += topic.posts.len() as u64;
                (
                    format!("{}-{}.json", topic.id, w.pages),
                    Some(w.opening),
                    w.category,
                )
            }
            None => {
                let opening = topic
                    .posts
                    .first()
                    .and_then(|p| p["id"].as_u64())
                    .unwrap_or(0);
                let w = Written {
                    next_number,
                    pages: 1,
                    opening,
                    category: topic.category,
                };
                self.written.insert(thread.to_owned(), w);
                (format!("{}.json", topic.id), None, topic.category)
            }
        };
        let mut stream: Vec<u64> = stream_first.into_iter().collect();
        stream.extend(topic.posts.iter().filter_map(|p| p["id"].as_u64()));
        let accepted = topic.posts.iter().find(|p| p["accepted_answer"] == json!(true)).map(|p| {
            json!({"post_number": p["post_number"], "username": p["username"], "name": p["name"]})
        });
        let slug: String = topic
            .title
            .to_lowercase()
            .chars()
            .map(|c| if c.is_alphanumeric() { c } else { '-' })
            .collect::<String>()
            .split('-')
            .filter(|s| !s.is_empty())
            .take(8)
            .collect::<Vec<_>>()
            .join("-");
        let doc = json!({
            "id": topic.id,
            "title": topic.title,
            "fancy_title": topic.title,
            "slug": if slug.is_empty() { "topic".to_owned() } else { slug },
            "posts_count": topic.posts.len(),
            "created_at": rfc3339_millis(topic.created),
            "last_posted_at": rfc3339_millis(topic.last),
            "category_id": category,
            "archetype": "regular",
            "accepted_answer": accepted,
            "post_stream": {"posts": topic.posts, "stream": stream},
            "chunk_size": 20,
        });
        let path = self.dir.join(name);
        let file = File::create(&path).map_err(|e| ImportError::io(&path, e))?;
        let mut out = BufWriter::new(file);
        serde_json::to_writer(&mut out, &doc).map_err(|e| ImportError::io(&path, e.into()))?;
        out.flush().map_err(|e| ImportError::io(&path, e))
    }

    fn flush_idle(&mut self, now: Timestamp) -> Result<(), ImportError> {
        let mut idle: Vec<(i64, String)> = self
            .open
            .iter()
            .filter(|(_, t)| now.secs - t.last.secs > IDLE_SECS)
            .map(|(k, t)| (t.last.secs, k.clone()))
            .collect();
        if self.open.len() - idle.len() > MAX_OPEN {
            let mut all: Vec<(i64, String)> = self
                .open
                .iter()
                .map(|(k, t)| (t.last.secs, k.clone()))
                .collect();
            all.sort();
            all.truncate(self.open.len() - MAX_OPEN / 2);
            idle = all;
        }
        idle.sort();
        for (_, thread) in idle {
            self.flush(&thread)?;
        }
        Ok(())
    }
}

fn post_json(a: &Activity, id: u64, number: u64, topic: u64, reply_to: Option<u64>) -> Value {
    let (user_id, username, name) = match &a.author {
        Some(au) => {
            let uid = number_or_hash(&au.id);
            let handle = au.handle.clone().unwrap_or_else(|| format!("user{uid}"));
            (json!(uid), json!(handle), json!(au.name))
        }
        None => (Value::Null, Value::Null, Value::Null),
    };
    let team = a.author.as_ref().and_then(|au| au.team).unwrap_or(false);
    json!({
        "id": id,
        "name": name,
        "username": username,
        "created_at": rfc3339_millis(a.ts),
        "updated_at": rfc3339_millis(a.ts),
        "cooked": a.text.as_deref().map(|t| format!("<p>{}</p>", t.replace('&', "&amp;").replace('<', "&lt;"))),
        "raw": a.text,
        "post_number": number,
        "post_type": 1,
        "reply_to_post_number": reply_to,
        "reply_count": 0,
        "reads": 1,
        "score": 0,
        "topic_id": topic,
        "user_id": user_id,
        "trust_level": if team { 4 } else { 1 },
        "staff": team,
        "moderator": team,
        "admin": false,
        "accepted_answer": false,
        "actions_summary": [],
    })
}

fn number_or_hash(id: &str) -> u64 {
    number(id).unwrap_or_else(|| xxhash_like(id))
}

/// A stable number for an id without digits (FNV-1a, kept below 2^53 for JSON readers).
fn xxhash_like(id: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in id.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
    }
    h & ((1 << 53) - 1)
}

/// Writes `activities` as topic files under `dir/t` and returns `dir`.
pub fn write_export(
    activities: &mut dyn Iterator<Item = Activity>,
    dir: &Path,
) -> Result<PathBuf, ImportError> {
    let topics_dir = dir.join("t");
    std::fs::create_dir_all(&topics_dir).map_err(|e| ImportError::io(&topics_dir, e))?;
    let mut st = State {
        dir: topics_dir,
        open: HashMap::new(),
        written: HashMap::new(),
        categories: HashMap::new(),
    };
    let mut count = 0u64;
    for a in activities {
        count += 1;
        if count.is_multiple_of(10_000) {
            st.flush_idle(a.ts)?;
        }
        let Some(id) = number(&a.id) else { continue };
        let thread = a.thread.clone().unwrap_or_else(|| a.id.clone());
        match a.kind {
            Kind::Post | Kind::Feedback if thread == a.id => {
                let next = st.categories.len() as u64 + 1;
                let category = *st
                    .categories
                    .entry(a.channel.clone().unwrap_or_default())
                    .or_insert(next);
                let title = a
                    .text
                    .as_deref()
                    .and_then(|t| t.lines().next())
                    .unwrap_or("Untitled")
                    .chars()
                    .take(80)
                    .collect();
                let mut topic = Topic {
                    id,
                    category,
                    title,
                    created: a.ts,
                    last: a.ts,
                    posts: Vec::new(),
                    numbers: HashMap::new(),
                };
                topic.posts.push(post_json(&a, id, 1, id, None));
                topic.numbers.insert(a.id.clone(), 1);
                st.open.insert(thread, topic);
            }
            Kind::Reply | Kind::Answer => {
                if !st.open.contains_key(&thread) {
                    // A late post for a topic already written: a continuation page.
                    if !st.written.contains_key(&thread) {
                        continue;
                    }
                    let topic_id = number(&thread).unwrap_or(0);
                    let topic = Topic {
                        id: topic_id,
                        category: 0,
                        title: String::new(),
                        created: a.ts,
                        last: a.ts,
                        posts: Vec::new(),
                        numbers: HashMap::new(),
                    };
                    st.open.insert(thread.clone(), topic);
                }
                let base = st.written.get(&thread).map_or(0, |w| w.next_number - 1);
                let Some(topic) = st.open.get_mut(&thread) else {
                    continue;
                };
                let n = base + topic.posts.len() as u64 + 1;
                let reply_to = a
                    .reply_to
                    .as_ref()
                    .and_then(|r| topic.numbers.get(r).copied())
                    .filter(|&r| r != 1);
                let post = post_json(&a, id, n, topic.id, reply_to);
                topic.posts.push(post);
                topic.numbers.insert(a.id.clone(), n);
                topic.last = a.ts;
            }
            Kind::Solution => {
                let topic = st.open.get_mut(&thread);
                if let Some(p) = topic.and_then(|t| t.post_mut(a.reply_to.as_ref())) {
                    p["accepted_answer"] = json!(true);
                }
            }
            Kind::Reaction => {
                let topic = st.open.get_mut(&thread);
                if let Some(p) = topic.and_then(|t| t.post_mut(a.reply_to.as_ref())) {
                    let likes = p["actions_summary"]
                        .as_array()
                        .and_then(|a| a.first())
                        .and_then(|l| l["count"].as_u64())
                        .unwrap_or(0);
                    p["actions_summary"] = json!([{"id": 2, "count": likes + 1}]);
                }
            }
            _ => {}
        }
    }
    let threads: Vec<String> = st.open.keys().cloned().collect();
    for t in threads {
        st.flush(&t)?;
    }
    Ok(dir.to_owned())
}

impl ExportWriter for Discourse {
    fn name(&self) -> &'static str {
        "discourse"
    }

    fn write(
        &self,
        activities: &mut dyn Iterator<Item = Activity>,
        dir: &Path,
    ) -> Result<PathBuf, ImportError> {
        write_export(activities, dir)
    }
}
