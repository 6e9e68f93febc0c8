//! `discourse`: topic JSON as a Discourse forum serves it at `/t/<id>.json` (one page or pages
//! merged, several files per topic allowed), and single posts from `/posts/<id>.json`, read
//! into canonical activities (SPEC §3, `docs/formats/discourse.md`).
//!
//! Post 1 of a topic starts the thread (`post`), later posts are `reply`s to the post named by
//! `reply_to_post_number` (else to the opening post), an accepted answer gives a `solution`.
//! Each file is parsed on its own (a topic page is small); across files a bounded cache of
//! recently seen topics remembers post numbers, post ids and solutions already given.

mod writer;

use std::collections::{HashMap, HashSet, VecDeque};

use kith_model::{Activity, Author, Kind, Timestamp};
use kith_store::Problem;
use serde_json::{Map, Value};

use crate::{Format, ImportError, InputFile, ReadContext, RecordSink};

pub use writer::write_export;

pub struct Discourse;

/// Topics remembered across files (pages of one topic are normally adjacent in name order).
const TOPIC_CACHE: usize = 1024;

#[derive(Default)]
struct TopicState {
    /// post_number → post id.
    numbers: HashMap<u64, u64>,
    seen: HashSet<u64>,
    opening: Option<u64>,
    /// The topic-level `accepted_answer.post_number`.
    accepted_number: Option<u64>,
    solved: bool,
}

struct Reader<'a> {
    source: String,
    base_url: Option<String>,
    topics: HashMap<u64, TopicState>,
    order: VecDeque<u64>,
    sink: &'a mut dyn RecordSink,
}

/// The source name: `--source`, else the host of `--base-url`, else a folder named like a host.
fn source_name(
    inputs: &[InputFile],
    ctx: &ReadContext,
) -> Result<(String, Option<String>), ImportError> {
    let base = ctx
        .base_url
        .as_ref()
        .map(|u| u.trim_end_matches('/').to_owned());
    if let Some(s) = &ctx.source {
        return Ok((s.clone(), base));
    }
    if let Some(b) = &base {
        let host = b
            .split("://")
            .nth(1)
            .unwrap_or(b)
            .split(['/', '?', '#'])
            .next()
            .unwrap_or("");
        if !host.is_empty() {
            return Ok((host.to_owned(), base));
        }
    }
    let looks_like_host = |h: &str| {
        h.contains('.')
            && !h.ends_with(".json")
            && h.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
    };
    // The folder given (or a folder inside it) named after the forum's host.
    let folder = inputs.iter().find_map(|i| {
        let root = i.root.file_name().map(|n| n.to_string_lossy().into_owned());
        let inner = i.relative.split('/').rev().skip(1).map(str::to_owned);
        root.into_iter().chain(inner).find(|h| looks_like_host(h))
    });
    if let Some(host) = folder {
        let url = base.unwrap_or_else(|| format!("https://{host}"));
        return Ok((host, Some(url)));
    }
    Err(ImportError::Usage(
        "a Discourse topic JSON does not name its forum: give --source NAME or --base-url https://forum.example.org \
         (or keep the files in a folder named after the forum's host)"
            .into(),
    ))
}

impl Format for Discourse {
    fn name(&self) -> &'static str {
        "discourse"
    }

    fn summary(&self) -> &'static str {
        "Discourse topic JSON as served at /t/<id>.json (a file or a folder of them, pages merged)"
    }

    fn accepts(&self, relative: &str) -> bool {
        relative.ends_with(".json") || relative.ends_with(".json.gz")
    }

    fn read(
        &self,
        inputs: &[InputFile],
        ctx: &ReadContext,
        sink: &mut dyn RecordSink,
    ) -> Result<(), ImportError> {
        let (source, base_url) = source_name(inputs, ctx)?;
        let mut reader = Reader {
            source,
            base_url,
            topics: HashMap::new(),
            order: VecDeque::new(),
            sink,
        };
        // Pages of a topic together, the first page first: `1148.json` before `1148-2.json`.
        let mut ordered: Vec<&InputFile> = inputs.iter().collect();
        ordered.sort_by_cached_key(|i| {
            let name = i.file_name();
            let digits = name.bytes().take_while(u8::is_ascii_digit).count();
            let rest = name[digits..]
                .trim_end_matches(".gz")
                .trim_end_matches(".json")
                .to_owned();
            (
                name[..digits].parse::<u64>().unwrap_or(u64::MAX),
                rest,
                i.relative.clone(),
            )
        });
        for input in ordered {
            reader.file(input, ctx)?;
        }
        Ok(())
    }
}

fn u64_of(v: &Value, key: &str) -> Option<u64> {
    match v.get(key)? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn str_of<'v>(v: &'v Value, key: &str) -> Option<&'v str> {
    v.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// Post fields kept in `attrs` (the rest are viewer-specific flags such as `can_edit`).
const POST_ATTRS: [&str; 16] = [
    "post_number",
    "reply_to_post_number",
    "updated_at",
    "trust_level",
    "post_type",
    "reads",
    "score",
    "wiki",
    "hidden",
    "deleted_at",
    "user_deleted",
    "user_title",
    "primary_group_name",
    "moderator",
    "admin",
    "version",
];
const TOPIC_ATTRS: [&str; 9] = [
    "title",
    "slug",
    "views",
    "like_count",
    "closed",
    "archived",
    "pinned",
    "archetype",
    "tags",
];

impl Reader<'_> {
    fn topic(&mut self, id: u64) -> &mut TopicState {
        if !self.topics.contains_key(&id) {
            if self.order.len() >= TOPIC_CACHE
                && let Some(old) = self.order.pop_front()
            {
                self.topics.remove(&old);
            }
            self.order.push_back(id);
        }
        self.topics.entry(id).or_default()
    }

    fn file(&mut self, input: &InputFile, ctx: &ReadContext) -> Result<(), ImportError> {
        let file = input.display();
        let bytes = input.read_all(ctx)?;
        let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(&bytes);
        let doc: Value = serde_json::from_slice(bytes).map_err(|e| ImportError::Malformed {
            file: file.clone(),
            line: e.line() as u64,
            column: e.column(),
            message: format!("{e}; expected a Discourse topic JSON object (/t/<id>.json)"),
        })?;
        // Serde keeps no positions: a skipped post's line is found when one is skipped. A
        // problem with the whole document is at its first line.
        let mut post_lines: Option<Vec<u64>> = None;
        let mut line_of_post = |i: usize| -> u64 {
            post_lines
                .get_or_insert_with(|| {
                    crate::json_stream::array_element_lines(bytes, &["post_stream", "posts"])
                })
                .get(i)
                .copied()
                .unwrap_or(1)
        };
        let skip = |sink: &mut dyn RecordSink,
                    line: u64,
                    location: Option<String>,
                    reason: &str,
                    message: String| {
            sink.skip(Problem {
                file: file.clone(),
                line,
                location,
                reason: reason.into(),
                message,
            });
        };
        if let Some(posts) = doc.pointer("/post_stream/posts").and_then(Value::as_array) {
            let Some(topic_id) = u64_of(&doc, "id") else {
                skip(
                    self.sink,
                    1,
                    None,
                    "invalid record",
                    "the topic has no numeric `id`".into(),
                );
                return Ok(());
            };
            let state = self.topic(topic_id);
            if let Some(first) = doc.pointer("/post_stream/stream/0").and_then(Value::as_u64) {
                state.opening.get_or_insert(first);
            }
            if let Some(n) = doc
                .get("accepted_answer")
                .and_then(|a| u64_of(a, "post_number"))
            {
                state.accepted_number = Some(n);
            }
            // Number every post of the page first: replies may name later posts' numbers.
            for p in posts {
                if let (Some(id), Some(n)) = (u64_of(p, "id"), u64_of(p, "post_number")) {
                    state.numbers.insert(n, id);
                    if n == 1 {
                        state.opening = Some(id);
                    }
                }
            }
            for (i, p) in posts.iter().enumerate() {
                if let Err((reason, message)) = self.post(p, Some(&doc), topic_id) {
                    let location = Some(match u64_of(p, "id") {
                        Some(id) => format!("post_stream.posts[{i}] (post {id})"),
                        None => format!("post_stream.posts[{i}]"),
                    });
                    skip(self.sink, line_of_post(i), location, reason, message);
                }
            }
        } else if doc.get("post_number").is_some() && doc.get("topic_id").is_some() {
            // A single post (/posts/<id>.json).
            let topic_id = u64_of(&doc, "topic_id").unwrap_or(0);
            if let (Some(id), Some(n)) = (u64_of(&doc, "id"), u64_of(&doc, "post_number")) {
                let state = self.topic(topic_id);
                state.numbers.insert(n, id);
                if n == 1 {
                    state.opening = Some(id);
                }
            }
            if let Err((reason, message)) = self.post(&doc, None, topic_id) {
                skip(self.sink, 1, None, reason, message);
            }
        } else {
            let what = if doc.get("topic_list").is_some() {
                "a topic list (/latest.json), not a topic"
            } else {
                "not a topic JSON"
            };
            skip(
                self.sink,
                1,
                None,
                "not a topic",
                format!("{what}: no `post_stream.posts`"),
            );
        }
        Ok(())
    }

    /// One post; `Err((reason, message))` when it is skipped.
    fn post(
        &mut self,
        p: &Value,
        topic: Option<&Value>,
        topic_id: u64,
    ) -> Result<(), (&'static str, String)> {
        let bad = |m: String| ("invalid record", m);
        let id = u64_of(p, "id").ok_or_else(|| bad("the post has no numeric `id`".into()))?;
        let number = u64_of(p, "post_number")
            .ok_or_else(|| bad(format!("post {id} has no `post_number`")))?;
        let created =
            str_of(p, "created_at").ok_or_else(|| bad(format!("post {id} has no `created_at`")))?;
        let ts = Timestamp::parse_rfc3339(created)
            .map_err(|e| bad(format!("post {id}: `created_at`: {e}")))?;
        // Small actions ("closed this topic", "pinned") are the forum's, not a member's.
        if u64_of(p, "post_type") == Some(3) {
            return Err((
                "small action",
                format!("post {id} is a small action (post_type 3), not a message"),
            ));
        }
        let state = self.topic(topic_id);
        if !state.seen.insert(id) {
            return Ok(()); // the same post on another page or in another copy
        }
        let opening = state.opening;
        let reply_number = u64_of(p, "reply_to_post_number");
        let reply_target = reply_number
            .and_then(|n| state.numbers.get(&n).copied())
            .or(opening);
        let accepted = p.get("accepted_answer").and_then(Value::as_bool) == Some(true)
            || (state.accepted_number == Some(number) && number != 1);
        let give_solution = accepted && !state.solved;
        if give_solution {
            state.solved = true;
        }

        let author = match u64_of(p, "user_id")
            .map(|u| u as i64)
            .or_else(|| p.get("user_id").and_then(Value::as_i64))
        {
            Some(uid) => {
                let mut a = Author::new(uid.to_string());
                a.handle = str_of(p, "username").map(str::to_owned);
                a.name = str_of(p, "name")
                    .or(str_of(p, "display_username"))
                    .map(str::to_owned);
                if p.get("staff").and_then(Value::as_bool) == Some(true) {
                    a.team = Some(true);
                }
                // User -1 is "system", Discourse's own automation.
                if uid < 0 || a.handle.as_deref() == Some("system") {
                    a.bot = Some(true);
                }
                Some(a)
            }
            None => None,
        };
        let kind = if number == 1 { Kind::Post } else { Kind::Reply };
        let mut a = Activity::new(self.source.clone(), format!("p{id}"), kind, ts, author);
        a.thread = Some(format!("t{topic_id}"));
        if number != 1 {
            a.reply_to = reply_target.map(|r| format!("p{r}"));
        }
        a.text = str_of(p, "raw").or(str_of(p, "cooked")).map(str::to_owned);
        let category = topic
            .and_then(|t| u64_of(t, "category_id"))
            .or_else(|| u64_of(p, "category_id"));
        a.channel = category.map(|c| c.to_string());
        let slug = str_of(p, "topic_slug")
            .or_else(|| topic.and_then(|t| str_of(t, "slug")))
            .unwrap_or("-");
        a.url = self
            .base_url
            .as_ref()
            .map(|b| format!("{b}/t/{slug}/{topic_id}/{number}"));
        for key in POST_ATTRS {
            if let Some(v) = p.get(key).filter(|v| !v.is_null()) {
                a.attrs.insert(key.into(), v.clone());
            }
        }
        if a.author.is_none()
            && let Some(u) = str_of(p, "username")
        {
            a.attrs.insert("username".into(), Value::String(u.into()));
        }
        if number == 1
            && let Some(t) = topic
        {
            for key in TOPIC_ATTRS {
                if let Some(v) = t.get(key).filter(|v| !v.is_null()) {
                    let name = if key == "title" {
                        key.to_owned()
                    } else {
                        format!("topic_{key}")
                    };
                    a.attrs.insert(name, v.clone());
                }
            }
        }
        let solution = give_solution.then(|| {
            let mut s = Activity::new(
                self.source.clone(),
                format!("s{id}"),
                Kind::Solution,
                ts,
                a.author.clone(),
            );
            s.thread = a.thread.clone();
            s.reply_to = Some(a.id.clone());
            s.url = a.url.clone();
            let mut m = Map::new();
            m.insert("accepted_at".into(), Value::String("answer time".into()));
            s.attrs = m;
            s
        });
        self.sink.activity(a);
        if let Some(s) = solution {
            self.sink.activity(s);
        }
        Ok(())
    }
}
