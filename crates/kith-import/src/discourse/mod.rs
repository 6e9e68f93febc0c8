//! `discourse`: topic JSON as a Discourse forum serves it at `/t/<id>.json` (one page or pages
//! merged, several files per topic allowed), and single posts from `/posts/<id>.json`, read
//! into canonical activities (SPEC §3, `docs/formats/discourse.md`).
//!
//! Post 1 of a topic starts the thread (`post`), later posts are `reply`s to the post named by
//! `reply_to_post_number` (else to the opening post), an accepted answer gives a `solution`.
//! Each file is parsed on its own (a topic page is small); across files a bounded cache of
//! recently seen topics remembers post numbers, post ids and solutions already given.

mod fields;
mod writer;

use std::collections::{HashMap, HashSet, VecDeque};

use kith_model::{Activity, Author, Kind, Timestamp};
use kith_store::Problem;
use serde_json::{Map, Value};

use crate::{Format, ImportError, InputFile, ReadContext, RecordSink};
use fields::{PostFields, TopicFields, u64_of};

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
        // The common case, a topic page, decoded typed and sparsely (SPEC §9 import rate);
        // anything else goes through a `Value`, which reads the same fields.
        if let Some(t) = fields::typed_topic(bytes) {
            self.topic_page(
                &file,
                bytes,
                t.id,
                t.first_in_stream,
                t.accepted_number,
                &t.topic,
                t.posts,
            );
            return Ok(());
        }
        let doc: Value = serde_json::from_slice(bytes).map_err(|e| ImportError::Malformed {
            file: file.clone(),
            line: e.line() as u64,
            column: e.column(),
            message: format!("{e}; expected a Discourse topic JSON object (/t/<id>.json)"),
        })?;
        if let Some(posts) = doc.pointer("/post_stream/posts").and_then(Value::as_array) {
            let posts: Vec<PostFields> = posts.iter().map(PostFields::from_value).collect();
            self.topic_page(
                &file,
                bytes,
                u64_of(&doc, "id"),
                doc.pointer("/post_stream/stream/0").and_then(Value::as_u64),
                doc.get("accepted_answer")
                    .and_then(|a| u64_of(a, "post_number")),
                &TopicFields::from_value(&doc),
                posts,
            );
        } else if doc.get("post_number").is_some() && doc.get("topic_id").is_some() {
            // A single post (/posts/<id>.json).
            let topic_id = u64_of(&doc, "topic_id").unwrap_or(0);
            let p = PostFields::from_value(&doc);
            if let (Some(id), Some(n)) = (p.id, p.number) {
                let state = self.topic(topic_id);
                state.numbers.insert(n, id);
                if n == 1 {
                    state.opening = Some(id);
                }
            }
            if let Err((reason, message)) = self.post(p, None, topic_id) {
                self.skip(&file, 1, None, reason, message);
            }
        } else {
            let what = if doc.get("topic_list").is_some() {
                "a topic list (/latest.json), not a topic"
            } else {
                "not a topic JSON"
            };
            self.skip(
                &file,
                1,
                None,
                "not a topic",
                format!("{what}: no `post_stream.posts`"),
            );
        }
        Ok(())
    }

    fn skip(
        &mut self,
        file: &str,
        line: u64,
        location: Option<String>,
        reason: &str,
        message: String,
    ) {
        self.sink.skip(Problem {
            file: file.to_owned(),
            line,
            location,
            reason: reason.into(),
            message,
        });
    }

    /// The posts of one topic page (`bytes` is the file, to find a skipped post's line).
    #[allow(clippy::too_many_arguments)]
    fn topic_page(
        &mut self,
        file: &str,
        bytes: &[u8],
        topic_id: Option<u64>,
        first_in_stream: Option<u64>,
        accepted_number: Option<u64>,
        topic: &TopicFields,
        posts: Vec<PostFields>,
    ) {
        let Some(topic_id) = topic_id else {
            self.skip(
                file,
                1,
                None,
                "invalid record",
                "the topic has no numeric `id`".into(),
            );
            return;
        };
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
        let state = self.topic(topic_id);
        if let Some(first) = first_in_stream {
            state.opening.get_or_insert(first);
        }
        if let Some(n) = accepted_number {
            state.accepted_number = Some(n);
        }
        // Number every post of the page first: replies may name later posts' numbers.
        for p in &posts {
            if let (Some(id), Some(n)) = (p.id, p.number) {
                state.numbers.insert(n, id);
                if n == 1 {
                    state.opening = Some(id);
                }
            }
        }
        for (i, p) in posts.into_iter().enumerate() {
            let post_id = p.id;
            if let Err((reason, message)) = self.post(p, Some(topic), topic_id) {
                let location = Some(match post_id {
                    Some(id) => format!("post_stream.posts[{i}] (post {id})"),
                    None => format!("post_stream.posts[{i}]"),
                });
                self.skip(file, line_of_post(i), location, reason, message);
            }
        }
    }

    /// One post; `Err((reason, message))` when it is skipped.
    fn post(
        &mut self,
        p: PostFields,
        topic: Option<&TopicFields>,
        topic_id: u64,
    ) -> Result<(), (&'static str, String)> {
        let bad = |m: String| ("invalid record", m);
        let id =
            p.id.ok_or_else(|| bad("the post has no numeric `id`".into()))?;
        let number = p
            .number
            .ok_or_else(|| bad(format!("post {id} has no `post_number`")))?;
        let created = p
            .created_at
            .as_deref()
            .ok_or_else(|| bad(format!("post {id} has no `created_at`")))?;
        let ts = Timestamp::parse_rfc3339(created)
            .map_err(|e| bad(format!("post {id}: `created_at`: {e}")))?;
        // Small actions ("closed this topic", "pinned") are the forum's, not a member's.
        if p.post_type == Some(3) {
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
        let reply_target = p
            .reply_to_post_number
            .and_then(|n| state.numbers.get(&n).copied())
            .or(opening);
        let accepted = p.accepted || (state.accepted_number == Some(number) && number != 1);
        let give_solution = accepted && !state.solved;
        if give_solution {
            state.solved = true;
        }

        let author = p.user_id.map(|uid| {
            let mut a = Author::new(uid.to_string());
            a.handle = p.username.as_deref().map(str::to_owned);
            a.name = p
                .name
                .as_deref()
                .or(p.display_username.as_deref())
                .map(str::to_owned);
            if p.staff {
                a.team = Some(true);
            }
            // User -1 is "system", Discourse's own automation.
            if uid < 0 || a.handle.as_deref() == Some("system") {
                a.bot = Some(true);
            }
            a
        });
        let kind = if number == 1 { Kind::Post } else { Kind::Reply };
        let mut a = Activity::new(self.source.clone(), format!("p{id}"), kind, ts, author);
        a.thread = Some(format!("t{topic_id}"));
        if number != 1 {
            a.reply_to = reply_target.map(|r| format!("p{r}"));
        }
        a.text = p.raw.as_deref().or(p.cooked.as_deref()).map(str::to_owned);
        let category = topic.and_then(|t| t.category_id).or(p.category_id);
        a.channel = category.map(|c| c.to_string());
        let slug = p
            .topic_slug
            .as_deref()
            .or_else(|| topic.and_then(|t| t.slug.as_deref()))
            .unwrap_or("-");
        a.url = self
            .base_url
            .as_ref()
            .map(|b| format!("{b}/t/{slug}/{topic_id}/{number}"));
        for (key, v) in p.attrs {
            a.attrs.insert(key.into(), v);
        }
        if a.author.is_none()
            && let Some(u) = &p.username
        {
            a.attrs
                .insert("username".into(), Value::String(u.as_ref().into()));
        }
        if number == 1
            && let Some(t) = topic
        {
            for (key, v) in &t.attrs {
                let name = if *key == "title" {
                    (*key).to_owned()
                } else {
                    format!("topic_{key}")
                };
                a.attrs.insert(name, v.clone());
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
