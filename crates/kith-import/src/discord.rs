//! `discord`: DiscordChatExporter JSON, one file per channel (`docs/formats/discord.md`).
//!
//! Each file is `{guild, channel, dateRange, exportedAt, messages: [...], messageCount}`; the
//! `messages` array is streamed element by element, so memory holds one message (plus the
//! conversation state of the channel), whatever the file's size.
//!
//! Idempotency key: the message id (a Discord snowflake, unique across Discord); reactions get
//! `<message id>:reaction:<emoji id or name>:<user id>`.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use kith_model::{Activity, Author, Kind, Timestamp};
use kith_store::Problem;
use serde_json::{Map, Value, json};

use crate::conversation::{Conversation, InferredThreads, Message};
use crate::json_stream::{Event, Shape, id_of, str_of, walk_object};
use crate::{ExportWriter, Format, ImportError, InputFile, ReadContext, RecordSink};

pub struct Discord;

/// Discord shows every deleted account as this one "Deleted User": its content is author-less.
const DELETED_USER: &str = "456226577798135808";

const SYSTEM: &[&str] = &[
    "ThreadCreated",
    "ChannelPinnedMessage",
    "ChannelNameChange",
    "ChannelIconChange",
    "Call",
    "GuildBoost",
    "GuildBoostTier1",
    "GuildBoostTier2",
    "GuildBoostTier3",
    "ChannelFollowAdd",
    "ThreadStarterMessage",
    "AutoModerationAction",
    "GuildDiscoveryDisqualified",
    "GuildDiscoveryRequalified",
];

/// Places a human chat message in its conversation: a native reply (`native`) follows the
/// message it answers; anything else goes through the conversation window. Sets kind, thread,
/// reply_to and to on `a`.
pub(crate) fn place(
    a: &mut Activity,
    native: Option<String>,
    mentions: &[String],
    conv: &mut Conversation,
    inferred: &mut InferredThreads,
    sink: &mut dyn RecordSink,
) {
    let author = a
        .author
        .as_ref()
        .filter(|x| x.bot != Some(true))
        .map(|x| x.id.clone());
    let Some(author) = author else {
        // Bots never take part; author-less content opens a thread of its own.
        if let Some(target) = native {
            let (thread, _) = conv
                .find(&target)
                .map_or((target.clone(), None), |(t, w)| (t.to_owned(), Some(w)));
            a.kind = Kind::Reply;
            a.thread = Some(thread);
            a.reply_to = Some(target);
        } else {
            a.thread = Some(a.id.clone());
            if a.author.is_none() {
                inferred.push(&a.source, a.id.clone(), sink);
            }
        }
        return;
    };
    if let Some(target) = native {
        let (thread, to) = conv.find(&target).map_or((target.clone(), None), |(t, w)| {
            (t.to_owned(), Some(w.to_owned()))
        });
        let to = to.filter(|w| *w != author);
        conv.record(&a.id, &author, a.ts.as_micros(), &thread, to.as_deref());
        a.kind = Kind::Reply;
        a.thread = Some(thread);
        a.reply_to = Some(target);
        a.to.extend(to);
    } else {
        let p = conv.place(&Message {
            id: &a.id,
            author: &author,
            ts: a.ts.as_micros(),
            quotes: &[],
            mentions,
        });
        if p.opens() {
            inferred.push(&a.source, p.thread.clone(), sink);
        } else {
            a.kind = Kind::Reply;
            a.reply_to = p.reply_to;
            a.to.extend(p.to);
        }
        a.thread = Some(p.thread);
    }
    for m in mentions {
        if *m != author && !a.to.contains(m) {
            a.to.push(m.clone());
        }
    }
}

fn author(v: &Value) -> Option<Author> {
    let id = id_of(v, "id")?;
    if id == DELETED_USER {
        return None;
    }
    let mut a = Author::new(id);
    a.handle = str_of(v, "name")
        .filter(|s| !s.is_empty())
        .map(str::to_owned);
    a.name = str_of(v, "nickname")
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .or_else(|| a.handle.clone());
    if v.get("isBot").and_then(Value::as_bool) == Some(true) {
        a.bot = Some(true);
    }
    Some(a)
}

struct FileState {
    source: Option<String>,
    guild_id: String,
    channel_id: String,
    channel: String,
    /// Set when the file is a thread: every message belongs to it.
    thread: Option<String>,
    /// The first message of a thread file.
    thread_first: Option<String>,
    conv: Conversation,
    inferred: InferredThreads,
}

impl Discord {
    fn read_file(
        &self,
        input: &InputFile,
        ctx: &ReadContext,
        sink: &mut dyn RecordSink,
    ) -> Result<(), ImportError> {
        let file = input.display();
        let fallback = input.file_name().trim_end_matches(".json").to_owned();
        let mut st = FileState {
            source: ctx.source.clone(),
            guild_id: String::new(),
            channel_id: fallback.clone(),
            channel: fallback,
            thread: None,
            thread_first: None,
            conv: Conversation::default(),
            inferred: InferredThreads::default(),
        };
        let shape = Shape {
            streamed: &["messages"],
            nested: &[],
            fields: &["guild", "channel"],
        };
        let mut top = false;
        walk_object(
            input.open(ctx)?,
            &file,
            "a DiscordChatExporter JSON file: an object with `guild`, `channel` and `messages`",
            &shape,
            &mut |ev| match ev {
                Event::Begin { depth: 0 } => top = true,
                Event::Field {
                    key: "guild",
                    value,
                    ..
                } => {
                    st.guild_id = id_of(&value, "id").unwrap_or_default();
                    if st.source.is_none() {
                        st.source = str_of(&value, "name")
                            .map(str::trim)
                            .filter(|s| !s.is_empty())
                            .map(str::to_owned);
                    }
                }
                Event::Field {
                    key: "channel",
                    value,
                    ..
                } => {
                    if let Some(id) = id_of(&value, "id") {
                        st.channel_id = id;
                    }
                    let name = str_of(&value, "name")
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned);
                    let is_thread = str_of(&value, "type").is_some_and(|t| t.contains("Thread"));
                    if is_thread {
                        st.thread = Some(st.channel_id.clone());
                        // DiscordChatExporter names a thread's parent channel as its category.
                        st.channel = str_of(&value, "category")
                            .filter(|s| !s.is_empty())
                            .map(str::to_owned)
                            .or(name)
                            .unwrap_or_else(|| st.channel_id.clone());
                    } else if let Some(n) = name {
                        st.channel = n;
                    }
                }
                Event::Element { line, value, .. } => {
                    self.message(&file, line, &value, ctx, &mut st, sink)
                }
                _ => {}
            },
        )?;
        if !top {
            return Err(ImportError::Malformed {
                file,
                line: 1,
                column: 1,
                message: "expected a DiscordChatExporter JSON object with `messages`".into(),
            });
        }
        if let Some(source) = st.source.clone() {
            st.inferred.flush(&source, sink);
        }
        Ok(())
    }

    fn message(
        &self,
        file: &str,
        line: u64,
        m: &Value,
        ctx: &ReadContext,
        st: &mut FileState,
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
        let Some(id) = id_of(m, "id") else {
            skip(
                sink,
                None,
                "invalid record",
                "a message without `id`".into(),
            );
            return;
        };
        let location = Some(format!("message {id}"));
        let Some(ts_text) = str_of(m, "timestamp") else {
            skip(
                sink,
                location,
                "invalid record",
                "a message without `timestamp`".into(),
            );
            return;
        };
        let Ok(ts) = Timestamp::parse_rfc3339(ts_text) else {
            skip(
                sink,
                location,
                "invalid record",
                format!("`timestamp` {ts_text:?} is not an RFC 3339 time"),
            );
            return;
        };
        let Some(source) = st.source.clone() else {
            skip(
                sink,
                location,
                "invalid record",
                "the file names no guild before its messages; give --source".into(),
            );
            return;
        };
        let kind_name = str_of(m, "type").unwrap_or("Default");
        let kind = match kind_name {
            "Default" | "Reply" => Kind::Post,
            "GuildMemberJoin" | "RecipientAdd" => Kind::Join,
            "RecipientRemove" => Kind::Leave,
            t if SYSTEM.contains(&t) => {
                skip(
                    sink,
                    location,
                    "system message",
                    format!("type `{t}` is a notice, not something a member said"),
                );
                return;
            }
            t => {
                skip(
                    sink,
                    location,
                    "unknown subtype",
                    format!("message type `{t}` is not one kith knows"),
                );
                return;
            }
        };
        let mut a = Activity::new(
            source,
            id.clone(),
            kind,
            ts,
            m.get("author").and_then(author),
        );
        a.channel = Some(st.channel.clone());
        if let Some(text) = str_of(m, "content").filter(|s| !s.is_empty()) {
            a.text = Some(text.to_owned());
        }
        if let Some(base) = ctx.base_url.as_deref() {
            a.url = Some(format!(
                "{}/channels/{}/{}/{id}",
                base.trim_end_matches('/'),
                st.guild_id,
                st.channel_id
            ));
        }
        a.attrs = attrs(m, kind_name);
        if kind == Kind::Post {
            let mentions: Vec<String> = m
                .get("mentions")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|u| id_of(u, "id"))
                .collect();
            let native = m.get("reference").and_then(|r| id_of(r, "messageId"));
            match (&st.thread, &st.thread_first) {
                // A thread file: its first message opens the (native) thread, the others
                // reply to the message they reference or follow, else to the first.
                (Some(thread), None) => {
                    a.thread = Some(thread.clone());
                    if let Some(who) = a.author.as_ref() {
                        st.conv.record(&id, &who.id, ts.as_micros(), thread, None);
                    }
                    st.thread_first = Some(id.clone());
                }
                (Some(thread), Some(first)) => {
                    let native = native.or_else(|| {
                        let who = a.author.as_ref().map(|w| w.id.as_str()).unwrap_or_default();
                        let p = st.conv.place(&Message {
                            id: &id,
                            author: who,
                            ts: ts.as_micros(),
                            quotes: &[],
                            mentions: &mentions,
                        });
                        Some(p.reply_to.unwrap_or_else(|| first.clone()))
                    });
                    let (thread, first) = (thread.clone(), first.clone());
                    let mut scratch = InferredThreads::default();
                    place(&mut a, native, &mentions, &mut st.conv, &mut scratch, sink);
                    a.thread = Some(thread);
                    if a.reply_to.is_none() {
                        a.kind = Kind::Reply;
                        a.reply_to = Some(first);
                    }
                }
                (None, _) => place(
                    &mut a,
                    native,
                    &mentions,
                    &mut st.conv,
                    &mut st.inferred,
                    sink,
                ),
            }
        }
        let thread = a.thread.clone();
        let target_author = a.author.as_ref().map(|x| x.id.clone());
        let source = a.source.clone();
        let channel = a.channel.clone();
        sink.activity(a);
        for r in m
            .get("reactions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let emoji = r.get("emoji").unwrap_or(&Value::Null);
            let Some(name) = id_of(emoji, "id").or_else(|| id_of(emoji, "name")) else {
                continue;
            };
            for user in r
                .get("users")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let Some(who) = author(user) else { continue };
                let mut ra = Activity::new(
                    source.clone(),
                    format!("{id}:reaction:{name}:{}", who.id),
                    Kind::Reaction,
                    ts,
                    None,
                );
                ra.channel.clone_from(&channel);
                ra.thread.clone_from(&thread);
                ra.reply_to = Some(id.clone());
                ra.to.extend(target_author.clone().filter(|t| *t != who.id));
                ra.attrs.insert(
                    "emoji".into(),
                    Value::String(str_of(emoji, "name").unwrap_or(&name).to_owned()),
                );
                ra.author = Some(who);
                sink.activity(ra);
            }
        }
    }
}

fn attrs(m: &Value, kind: &str) -> Map<String, Value> {
    let mut out = Map::new();
    if kind != "Default" {
        out.insert("type".into(), Value::String(kind.to_owned()));
    }
    if let Some(e) = m.get("timestampEdited").filter(|e| e.is_string()) {
        out.insert("edited".into(), e.clone());
    }
    if m.get("isPinned").and_then(Value::as_bool) == Some(true) {
        out.insert("pinned".into(), Value::Bool(true));
    }
    let files: Vec<Value> = m
        .get("attachments")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|f| {
            let mut kept = Map::new();
            for k in ["id", "fileName", "fileSizeBytes", "url"] {
                if let Some(v) = f.get(k).filter(|v| !v.is_null()) {
                    kept.insert(k.into(), v.clone());
                }
            }
            Value::Object(kept)
        })
        .collect();
    if !files.is_empty() {
        out.insert("files".into(), Value::Array(files));
    }
    // Reactions without their users (older exports) can only be kept as counts.
    let counts: Map<String, Value> = m
        .get("reactions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|r| {
            r.get("users")
                .and_then(Value::as_array)
                .is_none_or(|u| u.is_empty())
        })
        .filter_map(|r| {
            Some((
                str_of(r.get("emoji")?, "name")?.to_owned(),
                r.get("count")?.clone(),
            ))
        })
        .collect();
    if !counts.is_empty() {
        out.insert("reaction_counts".into(), Value::Object(counts));
    }
    out
}

impl Format for Discord {
    fn name(&self) -> &'static str {
        "discord"
    }

    fn summary(&self) -> &'static str {
        "DiscordChatExporter JSON, one file per channel (a file, a folder of them, or a .zip)"
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
        for input in inputs {
            self.read_file(input, ctx, sink)?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Writer

/// Writes canonical activities as DiscordChatExporter files, one per channel, streaming: a
/// message is held back for a day so that reactions can join it (later reactions are dropped),
/// then written. Joins are `GuildMemberJoin`, replies `Reply` with a reference, other kinds
/// plain messages. Memory: one day of messages.
impl ExportWriter for Discord {
    fn name(&self) -> &'static str {
        "discord"
    }

    fn write(
        &self,
        activities: &mut dyn Iterator<Item = Activity>,
        dir: &Path,
    ) -> Result<PathBuf, ImportError> {
        let root = dir.join("discord-export");
        std::fs::create_dir_all(&root).map_err(|e| ImportError::io(&root, e))?;
        let mut files: HashMap<String, (PathBuf, BufWriter<File>, bool)> = HashMap::new();
        let mut held: std::collections::VecDeque<(i64, String, String, Value)> =
            std::collections::VecDeque::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut base = 0usize; // index of held[0] in the stream of held messages
        let mut channel_ids: HashMap<String, u64> = HashMap::new();
        let guild = json!({"id": "100000000000000001", "name": "kith-demo", "iconUrl": ""});
        let write_out = |files: &mut HashMap<String, (PathBuf, BufWriter<File>, bool)>,
                         channel: &str,
                         msg: &Value,
                         channel_ids: &HashMap<String, u64>|
         -> Result<(), ImportError> {
            if !files.contains_key(channel) {
                let path = root.join(format!("kith-demo - {channel}.json"));
                let f = File::create(&path).map_err(|e| ImportError::io(&path, e))?;
                let mut w = BufWriter::with_capacity(1 << 16, f);
                let cid = channel_ids.get(channel).copied().unwrap_or(0);
                let head = json!({"id": cid.to_string(), "type": "GuildTextChat", "categoryId": "", "category": "Text Channels", "name": channel, "topic": null});
                write!(w, "{{\n  \"guild\": {guild},\n  \"channel\": {head},\n  \"dateRange\": {{\"after\": null, \"before\": null}},\n  \"messages\": [").map_err(|e| ImportError::io(&path, e))?;
                files.insert(channel.to_owned(), (path, w, true));
            }
            if let Some((path, w, first)) = files.get_mut(channel) {
                let sep = if *first { "\n    " } else { ",\n    " };
                *first = false;
                w.write_all(sep.as_bytes())
                    .map_err(|e| ImportError::io(path, e))?;
                serde_json::to_writer(&mut *w, msg).map_err(|e| ImportError::io(path, e.into()))?;
            }
            Ok(())
        };
        for a in activities {
            let channel = a.channel.clone().unwrap_or_else(|| "general".to_owned());
            let n = channel_ids.len() as u64;
            channel_ids
                .entry(channel.clone())
                .or_insert(200_000_000_000_000_000 + n);
            // Flush what is older than a day.
            while let Some((ts, ..)) = held.front() {
                if a.ts.secs - *ts <= 86_400 {
                    break;
                }
                if let Some((_, id, ch, msg)) = held.pop_front() {
                    index.remove(&id);
                    base += 1;
                    write_out(&mut files, &ch, &msg, &channel_ids)?;
                }
            }
            let user = |x: &Author| json!({"id": x.id, "name": x.handle.clone().unwrap_or_else(|| x.id.clone()), "discriminator": "0000", "nickname": x.name, "isBot": x.bot == Some(true)});
            if a.kind == Kind::Reaction {
                let target = a
                    .reply_to
                    .as_ref()
                    .and_then(|r| index.get(r))
                    .and_then(|i| held.get_mut(i - base));
                if let (Some((.., msg)), Some(who)) = (target, a.author.as_ref()) {
                    let emoji = a
                        .attrs
                        .get("emoji")
                        .and_then(Value::as_str)
                        .unwrap_or("👍")
                        .to_owned();
                    add_reaction(msg, &emoji, user(who));
                }
                continue;
            }
            let mut m = Map::new();
            m.insert("id".into(), json!(a.id));
            let (kind, reference) = match a.kind {
                Kind::Join => ("GuildMemberJoin", None),
                Kind::Reply | Kind::Answer if a.reply_to.is_some() => ("Reply", a.reply_to.clone()),
                _ => ("Default", None),
            };
            m.insert("type".into(), json!(kind));
            m.insert("timestamp".into(), json!(a.ts.to_rfc3339()));
            m.insert("timestampEdited".into(), Value::Null);
            m.insert("isPinned".into(), json!(false));
            m.insert("content".into(), json!(a.text.clone().unwrap_or_default()));
            m.insert("author".into(), a.author.as_ref().map_or(json!({"id": DELETED_USER, "name": "Deleted User", "discriminator": "0000", "isBot": false}), user));
            m.insert("attachments".into(), json!([]));
            m.insert("reactions".into(), json!([]));
            m.insert(
                "mentions".into(),
                Value::Array(a.to.iter().map(|t| json!({"id": t, "name": t})).collect()),
            );
            if let Some(r) = reference {
                m.insert("reference".into(), json!({"messageId": r, "channelId": channel_ids.get(&channel).map(u64::to_string), "guildId": "100000000000000001"}));
            }
            index.insert(a.id.clone(), base + held.len());
            held.push_back((a.ts.secs, a.id, channel, Value::Object(m)));
        }
        while let Some((_, _, ch, msg)) = held.pop_front() {
            write_out(&mut files, &ch, &msg, &channel_ids)?;
        }
        for (_, (path, mut w, _)) in files {
            w.write_all(b"\n  ]\n}\n")
                .map_err(|e| ImportError::io(&path, e))?;
            w.flush().map_err(|e| ImportError::io(&path, e))?;
        }
        Ok(root)
    }
}

fn add_reaction(msg: &mut Value, emoji: &str, user: Value) {
    let Some(list) = msg.get_mut("reactions").and_then(Value::as_array_mut) else {
        return;
    };
    if let Some(r) = list
        .iter_mut()
        .find(|r| r.get("emoji").and_then(|e| str_of(e, "name")) == Some(emoji))
    {
        if let Some(users) = r.get_mut("users").and_then(Value::as_array_mut) {
            if users.iter().any(|u| u.get("id") == user.get("id")) {
                return;
            }
            users.push(user);
            let count = users.len();
            r["count"] = json!(count);
        }
    } else {
        list.push(json!({"emoji": {"id": null, "name": emoji, "code": emoji, "isAnimated": false}, "count": 1, "users": [user]}));
    }
}
