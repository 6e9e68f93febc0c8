//! `telegram`: the Telegram Desktop JSON export, `result.json` (`docs/formats/telegram.md`).
//!
//! Either one chat (`{name, type, id, messages: [...]}`) or a whole account
//! (`{..., chats: {list: [{name, type, id, messages}]}, left_chats: {list: [...]}}`). Every
//! `messages` array is streamed element by element: memory holds one message plus the chat's
//! conversation state.
//!
//! Idempotency key: `<chat id>:<message id>`; reactions get
//! `<chat id>:<message id>:reaction:<emoji>:<from_id>`.

use std::collections::VecDeque;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use kith_model::{Activity, Author, Kind, Timestamp};
use kith_store::Problem;
use serde_json::{Map, Value, json};

use crate::conversation::{Conversation, InferredThreads};
use crate::discord::place;
use crate::json_stream::{Event, Shape, id_of, str_of, walk_object};
use crate::{ExportWriter, Format, ImportError, InputFile, ReadContext, RecordSink};

pub struct Telegram;

#[derive(Default)]
struct Chat {
    depth: usize,
    name: Option<String>,
    id: Option<String>,
    conv: Conversation,
    inferred: InferredThreads,
}

/// `date_unixtime` when present (exact), else `date` read as UTC (Telegram Desktop writes the
/// exporting machine's local time there, without an offset).
fn timestamp(m: &Value) -> Option<Timestamp> {
    if let Some(secs) = id_of(m, "date_unixtime").and_then(|s| s.parse::<i64>().ok()) {
        return (0..253_402_300_800)
            .contains(&secs)
            .then_some(Timestamp::from_secs(secs));
    }
    let date = str_of(m, "date")?;
    if date.len() != 19 {
        return None;
    }
    Timestamp::parse_rfc3339(&format!("{date}Z")).ok()
}

/// Text as a string or an array of strings and entity objects.
fn text_of(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .map(|p| match p {
                Value::String(s) => s.as_str(),
                other => str_of(other, "text").unwrap_or_default(),
            })
            .collect(),
        _ => String::new(),
    }
}

/// Mentions that name a user id (`mention_name` entities).
fn mentions(m: &Value) -> Vec<String> {
    let entities = m
        .get("text_entities")
        .or_else(|| m.get("text"))
        .and_then(Value::as_array);
    let mut out: Vec<String> = Vec::new();
    for e in entities.into_iter().flatten() {
        if str_of(e, "type") == Some("mention_name")
            && let Some(id) = id_of(e, "user_id")
        {
            let id = format!("user{id}");
            if !out.contains(&id) {
                out.push(id);
            }
        }
    }
    out
}

fn author(m: &Value, id_key: &str, name_key: &str) -> Option<Author> {
    let id = id_of(m, id_key)?;
    let mut a = Author::new(id);
    a.name = str_of(m, name_key)
        .filter(|s| !s.is_empty())
        .map(str::to_owned);
    Some(a)
}

impl Telegram {
    fn read_file(
        &self,
        input: &InputFile,
        ctx: &ReadContext,
        sink: &mut dyn RecordSink,
    ) -> Result<(), ImportError> {
        let file = input.display();
        let shape = Shape {
            streamed: &["messages"],
            nested: &["chats", "left_chats", "list"],
            fields: &["name", "id"],
        };
        let mut chat = Chat::default();
        let mut top = false;
        walk_object(
            input.open(ctx)?,
            &file,
            "a Telegram Desktop result.json: an object with `messages` or `chats.list`",
            &shape,
            &mut |ev| match ev {
                Event::Begin { depth } => {
                    top = true;
                    // depth 0: a single-chat export; depth 2: a chat in `chats.list`.
                    if depth != 1 {
                        chat = Chat {
                            depth,
                            ..Chat::default()
                        };
                    }
                }
                Event::Field { depth, key, value } if depth == chat.depth => match key {
                    "name" => chat.name = value.as_str().map(str::to_owned),
                    _ => chat.id = id_of(&json!({ "id": value }), "id"),
                },
                Event::Element { line, value, .. } => {
                    self.message(&file, line, &value, ctx, &mut chat, sink)
                }
                Event::End { depth } if depth == chat.depth => {
                    if let Some(source) = ctx.source.clone().or_else(|| chat.name.clone()) {
                        chat.inferred.flush(&source, sink);
                    }
                }
                _ => {}
            },
        )?;
        if !top {
            return Err(ImportError::Malformed {
                file,
                line: 1,
                column: 1,
                message: "expected a Telegram Desktop result.json object".into(),
            });
        }
        Ok(())
    }

    fn message(
        &self,
        file: &str,
        line: u64,
        m: &Value,
        ctx: &ReadContext,
        chat: &mut Chat,
        sink: &mut dyn RecordSink,
    ) {
        let skip =
            |sink: &mut dyn RecordSink, location: Option<String>, reason: &str, message: String| {
                sink.skip(Problem {
                    file: file.to_owned(),
                    line,
                    location,
                    reason: reason.to_owned(),
                    message,
                });
            };
        let Some(msg_id) = id_of(m, "id") else {
            skip(
                sink,
                None,
                "invalid record",
                "a message without `id`".into(),
            );
            return;
        };
        let location = Some(format!("message {msg_id}"));
        let Some(ts) = timestamp(m) else {
            skip(
                sink,
                location,
                "invalid record",
                "a message without a valid `date_unixtime` or `date`".into(),
            );
            return;
        };
        let chat_name = chat
            .name
            .clone()
            .map(|n| n.trim().to_owned())
            .filter(|n| !n.is_empty());
        let Some(source) = ctx.source.clone().or_else(|| chat_name.clone()) else {
            skip(
                sink,
                location,
                "invalid record",
                "the chat has no name before its messages; give --source".into(),
            );
            return;
        };
        let chat_id = chat
            .id
            .clone()
            .unwrap_or_else(|| chat_name.clone().unwrap_or_default());
        let key = |id: &str| format!("{chat_id}:{id}");
        let (kind, who) = match str_of(m, "type") {
            Some("message") => (Kind::Post, author(m, "from_id", "from")),
            Some("service") => match str_of(m, "action") {
                Some("join_group_by_link" | "invite_members" | "join_group_by_request") => {
                    (Kind::Join, author(m, "actor_id", "actor"))
                }
                Some("remove_members") => (Kind::Leave, author(m, "actor_id", "actor")),
                Some(action) => {
                    skip(
                        sink,
                        location,
                        "system message",
                        format!("service action `{action}` is a notice about the chat"),
                    );
                    return;
                }
                None => {
                    skip(
                        sink,
                        location,
                        "invalid record",
                        "a service message without `action`".into(),
                    );
                    return;
                }
            },
            other => {
                skip(
                    sink,
                    location,
                    "unknown subtype",
                    format!(
                        "message type `{}` is not one kith knows",
                        other.unwrap_or("(none)")
                    ),
                );
                return;
            }
        };
        let id = key(&msg_id);
        let mut a = Activity::new(source, id.clone(), kind, ts, who);
        a.channel = chat_name;
        let text = text_of(m.get("text"));
        if !text.is_empty() {
            a.text = Some(text);
        }
        if let Some(base) = ctx.base_url.as_deref() {
            a.url = Some(format!("{}/{msg_id}", base.trim_end_matches('/')));
        }
        a.attrs = attrs(m);
        if kind == Kind::Post {
            let native = id_of(m, "reply_to_message_id").map(|r| key(&r));
            place(
                &mut a,
                native,
                &mentions(m),
                &mut chat.conv,
                &mut chat.inferred,
                sink,
            );
        }
        let (thread, target, channel, source) = (
            a.thread.clone(),
            a.author.as_ref().map(|x| x.id.clone()),
            a.channel.clone(),
            a.source.clone(),
        );
        sink.activity(a);
        for r in m
            .get("reactions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(emoji) = str_of(r, "emoji").or_else(|| str_of(r, "document_id")) else {
                continue;
            };
            for who in r
                .get("recent")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let Some(user) = author(who, "from_id", "from") else {
                    continue;
                };
                let rts = timestamp(who).unwrap_or(ts);
                let mut ra = Activity::new(
                    source.clone(),
                    format!("{id}:reaction:{emoji}:{}", user.id),
                    Kind::Reaction,
                    rts,
                    None,
                );
                ra.channel.clone_from(&channel);
                ra.thread.clone_from(&thread);
                ra.reply_to = Some(id.clone());
                ra.to.extend(target.clone().filter(|t| *t != user.id));
                ra.attrs
                    .insert("emoji".into(), Value::String(emoji.to_owned()));
                ra.author = Some(user);
                sink.activity(ra);
            }
        }
    }
}

fn attrs(m: &Value) -> Map<String, Value> {
    let mut out = Map::new();
    for (from, to) in [
        ("action", "action"),
        ("edited", "edited"),
        ("forwarded_from", "forwarded_from"),
        ("via_bot", "via_bot"),
        ("media_type", "media_type"),
        ("file", "file"),
        ("photo", "photo"),
        ("members", "members"),
    ] {
        if let Some(v) = m.get(from).filter(|v| !v.is_null()) {
            out.insert(to.into(), v.clone());
        }
    }
    out
}

impl Format for Telegram {
    fn name(&self) -> &'static str {
        "telegram"
    }

    fn summary(&self) -> &'static str {
        "Telegram Desktop JSON export (result.json: one chat or the whole account)"
    }

    fn accepts(&self, relative: &str) -> bool {
        let name = relative.rsplit('/').next().unwrap_or(relative);
        name == "result.json" || name == "result.json.gz"
    }

    fn read(
        &self,
        inputs: &[InputFile],
        ctx: &ReadContext,
        sink: &mut dyn RecordSink,
    ) -> Result<(), ImportError> {
        for input in inputs {
            self.read_file(input, ctx, sink)?;
        }
        Ok(())
    }
}

/// Writes canonical activities as a single-chat `result.json` (a public supergroup named after
/// the source), streaming: messages are held back for a day so that reactions can join them
/// (as `recent` entries), joins are `join_group_by_link` service messages, replies carry
/// `reply_to_message_id`. Memory: one day of messages.
impl ExportWriter for Telegram {
    fn name(&self) -> &'static str {
        "telegram"
    }

    fn write(
        &self,
        activities: &mut dyn Iterator<Item = Activity>,
        dir: &Path,
    ) -> Result<PathBuf, ImportError> {
        let root = dir.join("telegram-export");
        std::fs::create_dir_all(&root).map_err(|e| ImportError::io(&root, e))?;
        let path = root.join("result.json");
        let file = std::fs::File::create(&path).map_err(|e| ImportError::io(&path, e))?;
        let mut out = BufWriter::with_capacity(1 << 16, file);
        let io = |e: std::io::Error| ImportError::io(&path, e);
        let mut held: VecDeque<(i64, String, Value)> = VecDeque::new();
        let mut numbers: std::collections::HashMap<String, u64> = std::collections::HashMap::new();
        let mut next = 0u64;
        let mut first = true;
        let mut started = false;
        let emit = |out: &mut BufWriter<std::fs::File>,
                    msg: &Value,
                    first: &mut bool|
         -> std::io::Result<()> {
            out.write_all(if *first { b"\n  " } else { b",\n  " })?;
            *first = false;
            serde_json::to_writer(&mut *out, msg).map_err(std::io::Error::other)
        };
        for a in activities {
            if !started {
                let head = format!(
                    "{{\n \"name\": {},\n \"type\": \"public_supergroup\",\n \"id\": 1000000001,\n \"messages\": [",
                    json!(a.source)
                );
                out.write_all(head.as_bytes()).map_err(io)?;
                started = true;
            }
            while held.front().is_some_and(|(t, ..)| a.ts.secs - *t > 86_400) {
                if let Some((_, id, msg)) = held.pop_front() {
                    numbers.remove(&id);
                    emit(&mut out, &msg, &mut first).map_err(io)?;
                }
            }
            let date =
                a.ts.to_utc()
                    .map(|d| d.format("%Y-%m-%dT%H:%M:%S").to_string())
                    .unwrap_or_default();
            let user_id = a.author.as_ref().map(|x| {
                format!(
                    "user{}",
                    x.id.trim_start_matches(|c: char| !c.is_ascii_digit())
                )
            });
            let user_name = a
                .author
                .as_ref()
                .and_then(|x| x.name.clone().or_else(|| x.handle.clone()));
            if a.kind == Kind::Reaction {
                let target = a.reply_to.as_ref().and_then(|r| numbers.get(r)).copied();
                // Held messages are numbered consecutively: the index is the distance.
                let front = held
                    .front()
                    .and_then(|(_, _, m)| m.get("id").and_then(Value::as_u64));
                if let (Some(n), Some(front)) = (target, front)
                    && let Some((.., msg)) =
                        n.checked_sub(front).and_then(|i| held.get_mut(i as usize))
                {
                    let emoji = a
                        .attrs
                        .get("emoji")
                        .and_then(Value::as_str)
                        .unwrap_or("👍")
                        .to_owned();
                    let who = json!({"from": user_name, "from_id": user_id, "date": date});
                    add_reaction(msg, &emoji, who);
                }
                continue;
            }
            next += 1;
            numbers.insert(a.id.clone(), next);
            let mut m = Map::new();
            m.insert("id".into(), json!(next));
            if a.kind == Kind::Join {
                m.insert("type".into(), json!("service"));
                m.insert("date".into(), json!(date));
                m.insert("date_unixtime".into(), json!(a.ts.secs.to_string()));
                m.insert("actor".into(), json!(user_name));
                m.insert("actor_id".into(), json!(user_id));
                m.insert("action".into(), json!("join_group_by_link"));
                m.insert("inviter".into(), json!("Group"));
                m.insert("text".into(), json!(""));
            } else {
                m.insert("type".into(), json!("message"));
                m.insert("date".into(), json!(date));
                m.insert("date_unixtime".into(), json!(a.ts.secs.to_string()));
                m.insert("from".into(), json!(user_name));
                m.insert("from_id".into(), json!(user_id));
                if let Some(n) = a.reply_to.as_ref().and_then(|r| numbers.get(r)) {
                    m.insert("reply_to_message_id".into(), json!(n));
                }
                m.insert("text".into(), json!(a.text.clone().unwrap_or_default()));
            }
            held.push_back((a.ts.secs, a.id, Value::Object(m)));
        }
        if !started {
            out.write_all(b"{\n \"name\": \"kith-demo\",\n \"type\": \"public_supergroup\",\n \"id\": 1000000001,\n \"messages\": [").map_err(io)?;
        }
        while let Some((_, _, msg)) = held.pop_front() {
            emit(&mut out, &msg, &mut first).map_err(io)?;
        }
        out.write_all(b"\n ]\n}\n").map_err(io)?;
        out.flush().map_err(io)?;
        Ok(root)
    }
}

fn add_reaction(msg: &mut Value, emoji: &str, who: Value) {
    let Some(obj) = msg.as_object_mut() else {
        return;
    };
    let list = obj
        .entry("reactions")
        .or_insert_with(|| Value::Array(Vec::new()));
    let Some(list) = list.as_array_mut() else {
        return;
    };
    if let Some(r) = list.iter_mut().find(|r| str_of(r, "emoji") == Some(emoji)) {
        if let Some(recent) = r.get_mut("recent").and_then(Value::as_array_mut) {
            if recent
                .iter()
                .any(|x| x.get("from_id") == who.get("from_id"))
            {
                return;
            }
            recent.push(who);
            let n = recent.len();
            r["count"] = json!(n);
        }
    } else {
        list.push(json!({"type": "emoji", "count": 1, "emoji": emoji, "recent": [who]}));
    }
}
