//! `slack-export`: the official Slack workspace export (`docs/formats/slack-export.md`).
//!
//! Layout: `users.json`, `channels.json` (and `groups.json`, `mpims.json`, `dms.json` when
//! present), then one folder per conversation with one `<YYYY-MM-DD>.json` per day. The small
//! listings are read first and held in memory (user id → author, folder → channel id); day
//! files are then read one at a time, folder by folder, so memory holds one day of one channel.
//!
//! Idempotency key: `<channel id>:<ts>` for messages; reactions, which have no id of their
//! own, get `<channel id>:<ts>:reaction:<name>:<user id>`.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use kith_model::{Activity, Author, Kind, Timestamp};
use kith_store::Problem;
use serde_json::{Map, Value, json};

use crate::conversation::{Conversation, InferredThreads, Message};
use crate::json_stream::{for_each_element, str_of};
use crate::{ExportWriter, Format, ImportError, InputFile, ReadContext, RecordSink};

pub struct SlackExport;

/// Listings at the top of an export: conversations and users.
const CHANNEL_LISTS: [&str; 4] = ["channels.json", "groups.json", "mpims.json", "dms.json"];

/// Subtypes that are notices about the channel, not something a member said: skipped with
/// reason `system message`.
const SYSTEM: &[&str] = &[
    "channel_purpose",
    "channel_topic",
    "channel_name",
    "channel_archive",
    "channel_unarchive",
    "channel_convert_to_private",
    "channel_convert_to_public",
    "group_purpose",
    "group_topic",
    "group_name",
    "group_archive",
    "group_unarchive",
    "bot_add",
    "bot_remove",
    "bot_enable",
    "bot_disable",
    "pinned_item",
    "unpinned_item",
    "reminder_add",
    "reminder_delete",
    "sh_room_created",
    "tombstone",
    "joiner_notification",
    "app_conversation_leave",
];

/// Subtypes that are things a member said: kept as posts or replies.
const SAID: &[&str] = &[
    "me_message",
    "thread_broadcast",
    "file_share",
    "file_comment",
    "bot_message",
    "reply_broadcast",
];

fn is_day_file(relative: &str) -> bool {
    let mut parts = relative.rsplit('/');
    let (Some(name), Some(_folder)) = (parts.next(), parts.next()) else {
        return false;
    };
    let Some(day) = name.strip_suffix(".json") else {
        return false;
    };
    let b = day.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
}

fn is_listing(relative: &str) -> bool {
    let name = relative.rsplit('/').next().unwrap_or(relative);
    name == "users.json" || CHANNEL_LISTS.contains(&name)
}

/// `1433952393.000027` → instant (the digits after the dot are microseconds).
pub(crate) fn parse_ts(ts: &str) -> Option<Timestamp> {
    let (secs, frac) = ts.split_once('.').unwrap_or((ts, ""));
    let secs: i64 = secs.parse().ok()?;
    if frac.len() > 6 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let micros: u32 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<6}").parse().ok()?
    };
    // Beyond year 9999 chrono cannot print it: treat as invalid.
    if !(0..253_402_300_800).contains(&secs) {
        return None;
    }
    Some(Timestamp {
        secs,
        micros,
        offset_min: 0,
    })
}

/// `<@U123>` and `<@U123|name>` in message text.
pub(crate) fn mentions(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("<@") {
        rest = &rest[at + 2..];
        let end = rest.find(['>', '|']).unwrap_or(rest.len());
        let id = &rest[..end];
        if !id.is_empty()
            && id.len() <= 40
            && id.bytes().all(|b| b.is_ascii_alphanumeric())
            && !out.iter().any(|o| o == id)
        {
            out.push(id.to_owned());
        }
    }
    out
}

/// What the listings say, for one export root.
#[derive(Default)]
struct Listings {
    users: HashMap<String, Author>,
    /// Users marked deleted in users.json (their content keeps its author id; see the docs).
    deleted: std::collections::HashSet<String>,
    /// Folder name → channel id.
    channels: HashMap<String, String>,
    team: Option<String>,
}

fn author_from_user(u: &Value) -> Option<Author> {
    let id = str_of(u, "id").filter(|s| !s.is_empty())?;
    let mut a = Author::new(id);
    let profile = u.get("profile").unwrap_or(&Value::Null);
    let nonempty = |v: Option<&str>| {
        v.map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    a.name = nonempty(str_of(u, "real_name"))
        .or_else(|| nonempty(str_of(profile, "real_name")))
        .or_else(|| nonempty(str_of(profile, "display_name")));
    a.handle = nonempty(str_of(u, "name"));
    a.email = nonempty(str_of(profile, "email"));
    if u.get("is_bot").and_then(Value::as_bool) == Some(true) || id == "USLACKBOT" {
        a.bot = Some(true);
    }
    Some(a)
}

impl SlackExport {
    fn read_listings(
        &self,
        files: &[&InputFile],
        ctx: &ReadContext,
        sink: &mut dyn RecordSink,
    ) -> Result<Listings, ImportError> {
        let mut l = Listings::default();
        for input in files {
            let file = input.display();
            let reader = input.open(ctx)?;
            if input.file_name() == "users.json" {
                for_each_element(
                    reader,
                    &file,
                    "users.json: an array of user objects",
                    &mut |line, u| match author_from_user(&u) {
                        Some(a) => {
                            if l.team.is_none() {
                                l.team = str_of(&u, "team_id").map(str::to_owned);
                            }
                            if u.get("deleted").and_then(Value::as_bool) == Some(true) {
                                l.deleted.insert(a.id.clone());
                            }
                            l.users.insert(a.id.clone(), a);
                        }
                        None => sink.skip(problem(
                            &file,
                            line,
                            None,
                            "invalid record",
                            "a user without an `id`",
                        )),
                    },
                )?;
            } else {
                for_each_element(
                    reader,
                    &file,
                    "a list of channel objects",
                    &mut |line, c| {
                        let Some(id) = str_of(&c, "id").filter(|s| !s.is_empty()) else {
                            sink.skip(problem(
                                &file,
                                line,
                                None,
                                "invalid record",
                                "a channel without an `id`",
                            ));
                            return;
                        };
                        // Folders are named by channel name; DM folders by their id.
                        let folder = str_of(&c, "name").filter(|s| !s.is_empty()).unwrap_or(id);
                        l.channels.insert(folder.to_owned(), id.to_owned());
                    },
                )?;
            }
        }
        Ok(l)
    }
}

fn problem(
    file: &str,
    line: u64,
    location: Option<String>,
    reason: &str,
    message: &str,
) -> Problem {
    Problem {
        file: file.to_owned(),
        line,
        location,
        reason: reason.to_owned(),
        message: message.to_owned(),
    }
}

/// The folder the user gave, as they named it (`…/Acme Slack export Jan 1 2020 - Feb 2 2020`).
fn root_name(input: &InputFile) -> String {
    let shown = input.display();
    let root = shown
        .strip_suffix(&input.relative)
        .unwrap_or(&shown)
        .trim_end_matches(['/', '!']);
    let name = root.rsplit(['/', '\\']).next().unwrap_or(root);
    let name = name.strip_suffix(".zip").unwrap_or(name);
    name.to_owned()
}

/// The source name derived from the export: the workspace name from the folder or archive name
/// Slack gives it (`<Workspace> Slack export <dates>`, or `slack-export-<workspace>`), else
/// `slack-<team id>` from users.json, else the folder's name.
pub(crate) fn derive_source(root: &str, team: Option<&str>) -> String {
    if let Some((name, _)) = root.split_once(" Slack export") {
        let name = name.trim();
        if !name.is_empty() {
            return name.to_owned();
        }
    }
    if let Some(name) = root
        .strip_prefix("slack-export-")
        .filter(|n| !n.trim().is_empty())
    {
        return name.trim().to_owned();
    }
    match team {
        Some(t) if !t.is_empty() => format!("slack-{t}"),
        _ if !root.trim().is_empty() => root.trim().to_owned(),
        _ => "slack".to_owned(),
    }
}

/// Reading state for one channel folder.
struct ChannelState {
    folder: String,
    id: String,
    conversation: Conversation,
    /// Native thread parents seen: ts → author id (to address replies).
    parents: HashMap<String, String>,
}

struct Reader<'a> {
    source: String,
    base_url: Option<String>,
    listings: &'a Listings,
    inferred: InferredThreads,
}

impl Reader<'_> {
    fn key(channel: &str, ts: &str) -> String {
        format!("{channel}:{ts}")
    }

    fn url(&self, channel: &str, ts: &str) -> Option<String> {
        let base = self.base_url.as_deref()?.trim_end_matches('/');
        Some(format!(
            "{base}/archives/{channel}/p{}",
            ts.replace('.', "")
        ))
    }

    fn author(&self, id: &str, m: &Value) -> Author {
        let mut a = self.listings.users.get(id).cloned().unwrap_or_else(|| {
            let mut a = Author::new(id);
            if let Some(p) = m.get("user_profile") {
                a.name = str_of(p, "real_name")
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned);
                a.handle = str_of(p, "name")
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned);
            }
            a
        });
        if m.get("bot_id").is_some_and(|b| !b.is_null())
            && str_of(m, "subtype") == Some("bot_message")
        {
            a.bot = Some(true);
        }
        a
    }

    fn read_day(
        &mut self,
        input: &InputFile,
        ctx: &ReadContext,
        ch: &mut ChannelState,
        sink: &mut dyn RecordSink,
    ) -> Result<(), ImportError> {
        let file = input.display();
        let reader = input.open(ctx)?;
        // One day of one channel is small: collect it to put it in time order.
        let mut day: Vec<(u64, Value)> = Vec::new();
        for_each_element(
            reader,
            &file,
            "a Slack day file: an array of message objects",
            &mut |line, m| day.push((line, m)),
        )?;
        let mut parsed: Vec<(Timestamp, u64, Value)> = Vec::with_capacity(day.len());
        for (line, m) in day {
            if !m.is_object() {
                sink.skip(problem(
                    &file,
                    line,
                    None,
                    "invalid record",
                    "a message that is not a JSON object",
                ));
                continue;
            }
            let ts = match str_of(&m, "ts") {
                None => {
                    sink.skip(problem(
                        &file,
                        line,
                        None,
                        "invalid record",
                        "a message without `ts`",
                    ));
                    continue;
                }
                Some(t) => match parse_ts(t) {
                    Some(ts) => ts,
                    None => {
                        sink.skip(problem(
                            &file,
                            line,
                            Some(format!("ts {t}")),
                            "invalid record",
                            &format!("`ts` {t:?} is not a Slack timestamp"),
                        ));
                        continue;
                    }
                },
            };
            parsed.push((ts, line, m));
        }
        parsed.sort_by_key(|(ts, line, _)| (ts.as_micros(), *line));
        for (ts, line, m) in parsed {
            self.message(&file, line, ts, &m, ch, sink);
        }
        Ok(())
    }

    fn message(
        &mut self,
        file: &str,
        line: u64,
        ts: Timestamp,
        m: &Value,
        ch: &mut ChannelState,
        sink: &mut dyn RecordSink,
    ) {
        let ts_text = str_of(m, "ts").unwrap_or_default();
        let subtype = str_of(m, "subtype");
        let kind = match subtype {
            None => Kind::Post,
            Some("channel_join" | "group_join") => Kind::Join,
            Some("channel_leave" | "group_leave") => Kind::Leave,
            Some(s) if SYSTEM.contains(&s) => {
                sink.skip(problem(
                    file,
                    line,
                    Some(format!("ts {ts_text}")),
                    "system message",
                    &format!("subtype `{s}` is a notice about the channel"),
                ));
                return;
            }
            Some(s) if SAID.contains(&s) => Kind::Post,
            Some(s) => {
                sink.skip(problem(
                    file,
                    line,
                    Some(format!("ts {ts_text}")),
                    "unknown subtype",
                    &format!("subtype `{s}` is not one kith knows"),
                ));
                return;
            }
        };
        let user = str_of(m, "user")
            .filter(|s| !s.is_empty())
            .or_else(|| m.get("comment").and_then(|c| str_of(c, "user")))
            .filter(|s| !s.is_empty());
        let author = match (user, m.get("bot_id").and_then(Value::as_str)) {
            (Some(u), _) => Some(self.author(u, m)),
            (None, Some(bot)) => {
                let mut a = Author::new(bot);
                a.name = str_of(m, "username")
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned);
                a.bot = Some(true);
                Some(a)
            }
            (None, None) => None,
        };
        let id = Self::key(&ch.id, ts_text);
        let mut a = Activity::new(self.source.clone(), id.clone(), kind, ts, author);
        a.channel = Some(ch.folder.clone());
        a.url = self.url(&ch.id, ts_text);
        let text = str_of(m, "text").unwrap_or_default();
        if !text.is_empty() {
            a.text = Some(text.to_owned());
        }
        a.attrs = attrs(m, subtype);
        if let Some(u) = user
            && self.listings.deleted.contains(u)
        {
            a.attrs.insert("user_deleted".into(), Value::Bool(true));
        }
        if matches!(kind, Kind::Join | Kind::Leave) {
            let author_id = a.author.as_ref().map(|x| x.id.clone());
            sink.activity(a);
            // People react to joins too (a welcome): those reactions point at the join.
            self.reactions(m, &ch.id, &ch.folder, ts_text, ts, None, author_id, sink);
            return;
        }
        let author_id = a.author.as_ref().map(|x| x.id.clone());
        let is_bot = a.author.as_ref().is_some_and(|x| x.bot == Some(true));
        let thread_ts = str_of(m, "thread_ts").filter(|t| !t.is_empty());
        let mentioned = mentions(text);
        match thread_ts {
            Some(parent) if parent != ts_text => {
                // A reply in a native thread.
                let parent_key = Self::key(&ch.id, parent);
                a.kind = Kind::Reply;
                a.thread = Some(parent_key.clone());
                a.reply_to = Some(parent_key);
                let parent_user = str_of(m, "parent_user_id")
                    .map(str::to_owned)
                    .or_else(|| ch.parents.get(parent).cloned());
                if let Some(p) = parent_user.filter(|p| Some(p) != author_id.as_ref()) {
                    a.to.push(p);
                }
            }
            Some(_) => {
                // The parent of a native thread.
                a.thread = Some(id.clone());
                if let Some(u) = &author_id {
                    ch.parents.insert(ts_text.to_owned(), u.clone());
                    ch.conversation.record(&id, u, ts.as_micros(), &id, None);
                }
            }
            None => match (&author_id, is_bot) {
                (Some(u), false) => {
                    let p = ch.conversation.place(&Message {
                        id: &id,
                        author: u,
                        ts: ts.as_micros(),
                        quotes: &[],
                        mentions: &mentioned,
                    });
                    if p.opens() {
                        self.inferred.push(&self.source, p.thread.clone(), sink);
                    } else {
                        a.kind = Kind::Reply;
                        a.reply_to = p.reply_to;
                        if let Some(t) = p.to {
                            a.to.push(t);
                        }
                    }
                    a.thread = Some(p.thread);
                }
                // Author-less content is counted as a human but cannot be followed by author:
                // it opens a thread of its own; bots never take part.
                _ => {
                    a.thread = Some(id.clone());
                    if author_id.is_none() {
                        self.inferred.push(&self.source, id.clone(), sink);
                    }
                }
            },
        }
        for who in mentioned {
            if Some(&who) != author_id.as_ref() && !a.to.contains(&who) {
                a.to.push(who);
            }
        }
        let thread = a.thread.clone();
        let message_author = author_id;
        sink.activity(a);
        self.reactions(
            m,
            &ch.id,
            &ch.folder,
            ts_text,
            ts,
            thread,
            message_author,
            sink,
        );
    }

    #[allow(clippy::too_many_arguments)]
    fn reactions(
        &self,
        m: &Value,
        channel_id: &str,
        channel: &str,
        ts_text: &str,
        ts: Timestamp,
        thread: Option<String>,
        to: Option<String>,
        sink: &mut dyn RecordSink,
    ) {
        let Some(reactions) = m.get("reactions").and_then(Value::as_array) else {
            return;
        };
        for r in reactions {
            let Some(name) = str_of(r, "name").filter(|s| !s.is_empty()) else {
                continue;
            };
            let Some(users) = r.get("users").and_then(Value::as_array) else {
                continue;
            };
            for user in users
                .iter()
                .filter_map(Value::as_str)
                .filter(|s| !s.is_empty())
            {
                let id = format!("{channel_id}:{ts_text}:reaction:{name}:{user}");
                let mut a = Activity::new(
                    self.source.clone(),
                    id,
                    Kind::Reaction,
                    ts,
                    Some(self.author(user, &Value::Null)),
                );
                a.channel = Some(channel.to_owned());
                a.thread.clone_from(&thread);
                a.reply_to = Some(Self::key(channel_id, ts_text));
                if let Some(t) = to.as_ref().filter(|t| t.as_str() != user) {
                    a.to.push(t.clone());
                }
                a.attrs
                    .insert("emoji".into(), Value::String(name.to_owned()));
                sink.activity(a);
            }
        }
    }
}

/// What the canonical fields cannot hold: subtype, files, edits, pins, bot ids.
fn attrs(m: &Value, subtype: Option<&str>) -> Map<String, Value> {
    let mut out = Map::new();
    if let Some(s) = subtype {
        out.insert("subtype".into(), Value::String(s.to_owned()));
    }
    if let Some(e) = m.get("edited").filter(|e| e.is_object()) {
        out.insert("edited".into(), e.clone());
    }
    let mut files: Vec<Value> = Vec::new();
    for f in m.get("file").into_iter().chain(
        m.get("files")
            .and_then(Value::as_array)
            .into_iter()
            .flatten(),
    ) {
        if !f.is_object() {
            continue;
        }
        let mut kept = Map::new();
        for k in ["id", "name", "title", "mimetype", "size", "permalink"] {
            if let Some(v) = f.get(k).filter(|v| !v.is_null()) {
                kept.insert(k.into(), v.clone());
            }
        }
        files.push(Value::Object(kept));
    }
    if !files.is_empty() {
        out.insert("files".into(), Value::Array(files));
    }
    if m.get("pinned_to")
        .is_some_and(|p| p.as_array().is_some_and(|a| !a.is_empty()))
    {
        out.insert("pinned".into(), Value::Bool(true));
    }
    if let Some(b) = m.get("bot_id").filter(|b| b.is_string()) {
        out.insert("bot_id".into(), b.clone());
    }
    if let Some(n) = m.get("reply_count").filter(|n| n.is_number()) {
        out.insert("reply_count".into(), n.clone());
    }
    out
}

impl Format for SlackExport {
    fn name(&self) -> &'static str {
        "slack-export"
    }

    fn summary(&self) -> &'static str {
        "official Slack workspace export (folder or .zip): users.json, channels.json, <channel>/<day>.json"
    }

    fn accepts(&self, relative: &str) -> bool {
        is_listing(relative) || is_day_file(relative)
    }

    fn read(
        &self,
        inputs: &[InputFile],
        ctx: &ReadContext,
        sink: &mut dyn RecordSink,
    ) -> Result<(), ImportError> {
        // Group by export root: listings first, then day files folder by folder (path order).
        let mut roots: BTreeMap<PathBuf, (Vec<&InputFile>, Vec<&InputFile>)> = BTreeMap::new();
        for input in inputs {
            let entry = roots.entry(input.root.clone()).or_default();
            if is_listing(&input.relative) && !input.relative.contains('/') {
                entry.0.push(input);
            } else {
                entry.1.push(input);
            }
        }
        for (listings, days) in roots.values() {
            let l = self.read_listings(listings, ctx, sink)?;
            let Some(first) = listings.first().or(days.first()) else {
                continue;
            };
            let source = ctx
                .source
                .clone()
                .unwrap_or_else(|| derive_source(&root_name(first), l.team.as_deref()));
            let mut reader = Reader {
                source,
                base_url: ctx.base_url.clone(),
                listings: &l,
                inferred: InferredThreads::default(),
            };
            let mut current: Option<ChannelState> = None;
            for input in days {
                let folder = input.relative.rsplit_once('/').map_or("", |(f, _)| f);
                let folder = folder.rsplit('/').next().unwrap_or(folder);
                if current.as_ref().is_none_or(|c| c.folder != folder) {
                    let id = l
                        .channels
                        .get(folder)
                        .cloned()
                        .unwrap_or_else(|| folder.to_owned());
                    current = Some(ChannelState {
                        folder: folder.to_owned(),
                        id,
                        conversation: Conversation::default(),
                        parents: HashMap::new(),
                    });
                }
                if let Some(ch) = current.as_mut() {
                    reader.read_day(input, ctx, ch, sink)?;
                }
            }
            let source = reader.source.clone();
            reader.inferred.flush(&source, sink);
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Writer

/// Writes canonical activities as a Slack export folder: `users.json`, `channels.json` and one
/// day file per channel and day. Joins become `channel_join`, leaves `channel_leave`, reactions
/// are attached to their message when it is still in the day being written (later ones are
/// dropped: a Slack export cannot say when a reaction was made), every other kind is a plain
/// message. Memory: one day of messages, plus the users and channels seen.
impl ExportWriter for SlackExport {
    fn name(&self) -> &'static str {
        "slack-export"
    }

    fn write(
        &self,
        activities: &mut dyn Iterator<Item = Activity>,
        dir: &Path,
    ) -> Result<PathBuf, ImportError> {
        let root = dir.join("kith-demo Slack export");
        std::fs::create_dir_all(&root).map_err(|e| ImportError::io(&root, e))?;
        let mut w = SlackWriter {
            root: root.clone(),
            day: None,
            open: BTreeMap::new(),
            index: HashMap::new(),
            users: BTreeMap::new(),
            channels: BTreeMap::new(),
            last_secs: HashMap::new(),
        };
        for a in activities {
            w.push(a)?;
        }
        w.flush_day()?;
        w.finish()?;
        Ok(root)
    }
}

struct SlackWriter {
    root: PathBuf,
    day: Option<String>,
    /// channel → the day's messages.
    open: BTreeMap<String, Vec<Value>>,
    /// activity id → (channel, index in the day's messages, ts text).
    index: HashMap<String, (String, usize, String)>,
    users: BTreeMap<String, Author>,
    channels: BTreeMap<String, String>,
    /// channel → last ts written (micro-sequence for equal seconds).
    last_secs: HashMap<String, (i64, u32)>,
}

impl SlackWriter {
    fn push(&mut self, a: Activity) -> Result<(), ImportError> {
        let Some(day) = a.ts.to_utc().map(|d| d.format("%Y-%m-%d").to_string()) else {
            return Ok(());
        };
        if self.day.as_deref() != Some(day.as_str()) {
            self.flush_day()?;
            self.day = Some(day);
        }
        let channel = a.channel.clone().unwrap_or_else(|| "general".to_owned());
        let n = self.channels.len();
        self.channels
            .entry(channel.clone())
            .or_insert_with(|| format!("C{:08}", n + 1));
        if let Some(author) = &a.author {
            self.users
                .entry(author.id.clone())
                .or_insert_with(|| author.clone());
        }
        let user = a.author.as_ref().map(|x| x.id.clone());
        if a.kind == Kind::Reaction {
            let target = a.reply_to.as_ref().and_then(|r| self.index.get(r)).cloned();
            if let (Some((ch, i, _)), Some(u)) = (target, user)
                && let Some(msg) = self.open.get_mut(&ch).and_then(|v| v.get_mut(i))
            {
                let emoji = a
                    .attrs
                    .get("emoji")
                    .and_then(Value::as_str)
                    .unwrap_or("+1")
                    .to_owned();
                add_reaction(msg, &emoji, &u);
            }
            return Ok(());
        }
        // Slack ts must be unique per channel: bump the fraction for equal instants.
        let secs = a.ts.secs;
        let last = self
            .last_secs
            .entry(channel.clone())
            .or_insert((i64::MIN, 0));
        let seq = if last.0 == secs { last.1 + 1 } else { 1 };
        *last = (secs, seq);
        let ts = format!("{secs}.{seq:06}");
        let mut m = Map::new();
        m.insert("type".into(), json!("message"));
        match a.kind {
            Kind::Join => {
                m.insert("subtype".into(), json!("channel_join"));
            }
            Kind::Leave => {
                m.insert("subtype".into(), json!("channel_leave"));
            }
            _ => {}
        }
        match &a.author {
            Some(author) if author.bot == Some(true) => {
                m.entry("subtype").or_insert_with(|| json!("bot_message"));
                m.insert("bot_id".into(), json!(format!("B{}", author.id)));
                m.insert("user".into(), json!(author.id));
                m.insert(
                    "username".into(),
                    json!(author.name.clone().unwrap_or_default()),
                );
            }
            Some(author) => {
                m.insert("user".into(), json!(author.id));
            }
            None => {}
        }
        let text = match a.kind {
            Kind::Join => format!(
                "<@{}> has joined the channel",
                user.as_deref().unwrap_or("")
            ),
            Kind::Leave => format!("<@{}> has left the channel", user.as_deref().unwrap_or("")),
            _ => a.text.clone().unwrap_or_default(),
        };
        m.insert("text".into(), json!(text));
        m.insert("ts".into(), json!(ts));
        if a.kind == Kind::Edit {
            m.insert("edited".into(), json!({"user": user, "ts": ts}));
        }
        let messages = self.open.entry(channel.clone()).or_default();
        self.index.insert(a.id, (channel, messages.len(), ts));
        messages.push(Value::Object(m));
        Ok(())
    }

    fn flush_day(&mut self) -> Result<(), ImportError> {
        let Some(day) = self.day.take() else {
            return Ok(());
        };
        for (channel, messages) in std::mem::take(&mut self.open) {
            let folder = self.root.join(&channel);
            std::fs::create_dir_all(&folder).map_err(|e| ImportError::io(&folder, e))?;
            let path = folder.join(format!("{day}.json"));
            write_json(&path, &Value::Array(messages))?;
        }
        self.index.clear();
        Ok(())
    }

    fn finish(&self) -> Result<(), ImportError> {
        let users: Vec<Value> = self
            .users
            .values()
            .map(|u| {
                json!({
                    "id": u.id, "team_id": "TKITHDEMO", "name": u.handle.clone().unwrap_or_else(|| u.id.clone()),
                    "deleted": false, "real_name": u.name.clone().unwrap_or_default(),
                    "profile": {"real_name": u.name.clone().unwrap_or_default(), "email": u.email},
                    "is_bot": u.bot == Some(true),
                })
            })
            .collect();
        write_json(&self.root.join("users.json"), &Value::Array(users))?;
        let channels: Vec<Value> = self
            .channels
            .iter()
            .map(|(name, id)| json!({"id": id, "name": name, "is_archived": false}))
            .collect();
        write_json(&self.root.join("channels.json"), &Value::Array(channels))
    }
}

fn add_reaction(msg: &mut Value, emoji: &str, user: &str) {
    let Some(obj) = msg.as_object_mut() else {
        return;
    };
    let reactions = obj
        .entry("reactions")
        .or_insert_with(|| Value::Array(Vec::new()));
    let Some(list) = reactions.as_array_mut() else {
        return;
    };
    if let Some(r) = list.iter_mut().find(|r| str_of(r, "name") == Some(emoji)) {
        if let Some(users) = r.get_mut("users").and_then(Value::as_array_mut)
            && !users.iter().any(|u| u.as_str() == Some(user))
        {
            users.push(json!(user));
            let count = users.len();
            r["count"] = json!(count);
        }
    } else {
        list.push(json!({"name": emoji, "users": [user], "count": 1}));
    }
}

fn write_json(path: &Path, value: &Value) -> Result<(), ImportError> {
    let file = std::fs::File::create(path).map_err(|e| ImportError::io(path, e))?;
    let mut out = BufWriter::new(file);
    serde_json::to_writer_pretty(&mut out, value).map_err(|e| ImportError::io(path, e.into()))?;
    out.flush().map_err(|e| ImportError::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_keep_their_micro_sequence() {
        let t = parse_ts("1433952393.000027").unwrap();
        assert_eq!((t.secs, t.micros), (1433952393, 27));
        assert!(parse_ts("abc").is_none());
        assert!(parse_ts("1.1234567").is_none());
    }

    #[test]
    fn mentions_are_user_ids_in_angle_brackets() {
        assert_eq!(
            mentions("hi <@U1|ann> and <@U2>, <#C1|x> <@U1>"),
            ["U1", "U2"]
        );
    }

    #[test]
    fn source_names_come_from_the_export_name() {
        assert_eq!(
            derive_source("Acme Slack export Jan 1 2020 - Feb 2 2020", None),
            "Acme"
        );
        assert_eq!(
            derive_source("slack-export-houstondatavis", Some("T1")),
            "houstondatavis"
        );
        assert_eq!(derive_source("export", Some("T1")), "slack-T1");
    }
}
