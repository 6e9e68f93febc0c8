//! `stackexchange`: a Stack Exchange data dump folder (`Users.xml`, `Votes.xml`, `Posts.xml`,
//! `Comments.xml`) read row by row into canonical activities (SPEC §3,
//! `docs/formats/stackexchange.md`).
//!
//! Questions start threads (`post`), answers are `answer`s replying to their question,
//! comments are `reply`s to their post, accepted answers give a `solution` credited to the
//! answer's author, accounts give a `join`. Files are streamed; what is held in memory is
//! the small per-site index the threading needs: user id → display name, accepted-answer
//! votes, and one small entry per post (id, owner, time, type).

mod writer;
mod xml;

use std::collections::HashMap;

use kith_model::{Activity, Author, Kind, Timestamp};
use kith_store::Problem;
use serde_json::{Map, Value};

use crate::{Format, ImportError, InputFile, ReadContext, RecordSink};
use xml::{Row, RowReader};

pub use writer::write_export;

pub struct StackExchange;

/// The files of a dump this importer reads, lower-cased. `Badges.xml` and `PostHistory.xml`
/// hold no activity kith counts yet and are left alone.
const FILES: [&str; 4] = ["users.xml", "votes.xml", "posts.xml", "comments.xml"];

/// The dump files of one site (one folder).
#[derive(Default)]
struct Site<'a> {
    name: String,
    files: [Option<&'a InputFile>; 4],
}

fn file_kind(relative: &str) -> Option<usize> {
    let name = relative
        .rsplit('/')
        .next()
        .unwrap_or(relative)
        .to_ascii_lowercase();
    let name = name.strip_suffix(".gz").unwrap_or(&name);
    FILES.iter().position(|f| *f == name)
}

/// The site's name: the folder holding the dump files (`history.meta.stackexchange.com`
/// when the `.7z` was unpacked under its own name), or the archive's name for a `.zip`.
fn site_name(input: &InputFile) -> String {
    let dir = input
        .relative
        .rsplit_once('/')
        .map(|(d, _)| d)
        .unwrap_or("");
    if let Some(last) = dir.rsplit('/').next().filter(|d| !d.is_empty()) {
        return last.to_owned();
    }
    let display = input.display();
    if let Some((archive, _)) = display.split_once("!/") {
        let file = archive.rsplit(['/', '\\']).next().unwrap_or(archive);
        return file
            .trim_end_matches(".zip")
            .trim_end_matches(".ZIP")
            .to_owned();
    }
    input
        .root
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

impl Format for StackExchange {
    fn name(&self) -> &'static str {
        "stackexchange"
    }

    fn summary(&self) -> &'static str {
        "Stack Exchange data dump folder (Posts.xml, Comments.xml, Users.xml, Votes.xml)"
    }

    fn accepts(&self, relative: &str) -> bool {
        file_kind(relative).is_some()
    }

    fn read(
        &self,
        inputs: &[InputFile],
        ctx: &ReadContext,
        sink: &mut dyn RecordSink,
    ) -> Result<(), ImportError> {
        // Group files by folder: one folder is one site, read users → votes → posts → comments.
        let mut sites: Vec<(String, Site)> = Vec::new();
        for input in inputs {
            let Some(kind) = file_kind(&input.relative) else {
                return Err(ImportError::Usage(format!(
                    "{}: not a Stack Exchange dump file (expected Posts.xml, Comments.xml, Users.xml or Votes.xml)",
                    input.display()
                )));
            };
            let dir = input
                .relative
                .rsplit_once('/')
                .map(|(d, _)| d)
                .unwrap_or("");
            let key = format!("{}\u{0}{dir}", input.root.display());
            let index = match sites.iter().position(|(k, _)| *k == key) {
                Some(i) => i,
                None => {
                    sites.push((
                        key,
                        Site {
                            name: site_name(input),
                            ..Site::default()
                        },
                    ));
                    sites.len() - 1
                }
            };
            sites[index].1.files[kind] = Some(input);
        }
        for (_, site) in &sites {
            read_site(site, ctx, sink)?;
        }
        Ok(())
    }
}

/// What a post is, for threading comments and answers.
#[derive(Debug, Clone, Copy, PartialEq)]
enum PostType {
    Question,
    Answer,
    /// Wiki-like posts (tag wikis, privilege wikis, help articles): `contribution`s.
    Wiki,
    /// Anything else that starts a discussion (moderator nominations, announcements...).
    Other,
}

#[derive(Debug, Clone, Copy)]
struct PostRef {
    id: i64,
    owner: Option<i64>,
    ts: Timestamp,
    kind: PostType,
}

/// Posts by id: a sorted vector (dumps are in id order, so pushes append), searched by
/// binary search.
#[derive(Default)]
struct PostIndex {
    posts: Vec<PostRef>,
}

impl PostIndex {
    fn insert(&mut self, post: PostRef) {
        match self.posts.last() {
            Some(last) if last.id >= post.id => {
                match self.posts.binary_search_by_key(&post.id, |p| p.id) {
                    Ok(i) => self.posts[i] = post,
                    Err(i) => self.posts.insert(i, post),
                }
            }
            _ => self.posts.push(post),
        }
    }

    fn get(&self, id: i64) -> Option<&PostRef> {
        self.posts
            .binary_search_by_key(&id, |p| p.id)
            .ok()
            .map(|i| &self.posts[i])
    }
}

struct SiteReader<'a> {
    source: String,
    base_url: Option<String>,
    users: HashMap<i64, Box<str>>,
    /// Answer id → acceptance time, from `Votes.xml` (VoteTypeId 1).
    accept_votes: HashMap<i64, Timestamp>,
    /// Accepted answers not yet seen: answer id → question id.
    pending_accepts: HashMap<i64, i64>,
    posts: PostIndex,
    sink: &'a mut dyn RecordSink,
}

fn read_site(site: &Site, ctx: &ReadContext, sink: &mut dyn RecordSink) -> Result<(), ImportError> {
    let source = match &ctx.source {
        Some(s) => s.clone(),
        None if !site.name.is_empty() => site.name.clone(),
        None => {
            return Err(ImportError::Usage(
                "cannot derive a source name from the dump's folder name; give one with --source NAME".into(),
            ));
        }
    };
    let base_url = ctx
        .base_url
        .clone()
        .map(|u| u.trim_end_matches('/').to_owned())
        .or_else(|| {
            // A folder named like the site's host (`history.meta.stackexchange.com`) gives links.
            let host = site.name.as_str();
            let looks_like_host = host.contains('.')
                && !host.starts_with('.')
                && host
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
            looks_like_host.then(|| format!("https://{host}"))
        });
    let mut reader = SiteReader {
        source,
        base_url,
        users: HashMap::new(),
        accept_votes: HashMap::new(),
        pending_accepts: HashMap::new(),
        posts: PostIndex::default(),
        sink,
    };
    let [users, votes, posts, comments] = site.files;
    if let Some(f) = users {
        reader.read_file(f, ctx, "users", SiteReader::user)?;
    }
    if let Some(f) = votes {
        reader.read_file(f, ctx, "votes", SiteReader::vote)?;
    }
    if let Some(f) = posts {
        reader.read_file(f, ctx, "posts", SiteReader::post)?;
    }
    if let Some(f) = comments {
        reader.read_file(f, ctx, "comments", SiteReader::comment)?;
    }
    Ok(())
}

/// A row that cannot become an activity: the reason for the audit.
struct Bad(String);

type RowResult = Result<(), Bad>;

fn required<'r>(row: &'r Row, key: &str) -> Result<std::borrow::Cow<'r, str>, Bad> {
    row.get(key)
        .map_err(Bad)?
        .ok_or_else(|| Bad(format!("the row has no `{key}` attribute")))
}

fn required_int(row: &Row, key: &str) -> Result<i64, Bad> {
    let v = required(row, key)?;
    v.trim()
        .parse()
        .map_err(|_| Bad(format!("`{key}` is `{v}`, not an integer")))
}

fn optional_int(row: &Row, key: &str) -> Result<Option<i64>, Bad> {
    match row.get(key).map_err(Bad)? {
        None => Ok(None),
        Some(v) if v.trim().is_empty() => Ok(None),
        Some(v) => v
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| Bad(format!("`{key}` is `{v}`, not an integer"))),
    }
}

fn required_time(row: &Row, key: &str) -> Result<Timestamp, Bad> {
    let v = required(row, key)?;
    parse_utc(&v).ok_or_else(|| {
        Bad(format!(
            "`{key}` is `{v}`, not a date like 2011-10-11T19:42:20.713"
        ))
    })
}

/// `2011-10-11T19:42:20.713`: the dumps' dates carry no offset and are UTC. An offset or `Z`
/// is accepted too.
pub(crate) fn parse_utc(text: &str) -> Option<Timestamp> {
    let b = text.as_bytes();
    if b.len() < 19
        || b[4] != b'-'
        || b[7] != b'-'
        || !(b[10] == b'T' || b[10] == b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let s = &b[r];
        s.iter()
            .all(u8::is_ascii_digit)
            .then(|| s.iter().fold(0i64, |n, d| n * 10 + i64::from(d - b'0')))
    };
    let (y, mo, d, h, mi, s) = (
        num(0..4)?,
        num(5..7)?,
        num(8..10)?,
        num(11..13)?,
        num(14..16)?,
        num(17..19)?,
    );
    if !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let mut rest = &text[19..];
    let mut micros = 0u32;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        for (i, c) in frac.bytes().take(6).take(digits).enumerate() {
            micros += u32::from(c - b'0') * 10u32.pow(5 - i as u32);
        }
        rest = &frac[digits..];
    }
    if !rest.is_empty() {
        // An explicit offset: let chrono-backed RFC 3339 parsing decide.
        let head = &text[..text.len() - rest.len()];
        let normalised = format!("{}{rest}", head.replacen(' ', "T", 1));
        return Timestamp::parse_rfc3339(&normalised).ok();
    }
    let secs = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s;
    Some(Timestamp {
        secs,
        micros,
        offset_min: 0,
    })
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub(crate) fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `Title` → `title`, `OwnerUserId` → `owner_user_id`.
fn snake(key: &str) -> String {
    let mut out = String::with_capacity(key.len() + 4);
    for (i, c) in key.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// `<a><b>` (classic dumps) or `|a|b|` (2024 dumps) → `["a", "b"]`.
fn tags(text: &str) -> Value {
    let parts: Vec<Value> = if text.starts_with('<') {
        text.split(['<', '>'])
            .filter(|t| !t.is_empty())
            .map(|t| Value::String(t.to_owned()))
            .collect()
    } else {
        text.split('|')
            .filter(|t| !t.is_empty())
            .map(|t| Value::String(t.to_owned()))
            .collect()
    };
    Value::Array(parts)
}

/// Every attribute not in `used` goes to `attrs`, snake_cased; integers as numbers.
fn rest_into(row: &Row, used: &[&str], attrs: &mut Map<String, Value>) -> RowResult {
    for item in row.all() {
        let (key, value) = item.map_err(Bad)?;
        if used.contains(&key) {
            continue;
        }
        let value = match key {
            "Tags" => tags(&value),
            _ => match value.parse::<i64>() {
                Ok(n) if !value.starts_with('0') || value == "0" => Value::from(n),
                _ => Value::String(value.into_owned()),
            },
        };
        attrs.insert(snake(key), value);
    }
    Ok(())
}

impl SiteReader<'_> {
    fn read_file(
        &mut self,
        input: &InputFile,
        ctx: &ReadContext,
        root: &'static str,
        handle: fn(&mut Self, &Row) -> RowResult,
    ) -> Result<(), ImportError> {
        let file = input.display();
        let mut rows = RowReader::new(input.open(ctx)?, file.clone(), root);
        while let Some(row) = rows.next_row()? {
            if let Err(Bad(message)) = handle(self, &row) {
                let location = row
                    .get("Id")
                    .ok()
                    .flatten()
                    .map(|id| format!("<row Id=\"{id}\">"));
                self.sink.skip(Problem {
                    file: file.clone(),
                    line: row.line,
                    location,
                    reason: "invalid record".into(),
                    message,
                });
            }
        }
        Ok(())
    }

    fn author(&self, id: Option<i64>) -> Option<Author> {
        let id = id?;
        let mut author = Author::new(id.to_string());
        author.name = self.users.get(&id).map(|n| n.to_string());
        // User -1 is "Community", the site's background process.
        if id == -1 {
            author.bot = Some(true);
        }
        Some(author)
    }

    fn url(&self, path: std::fmt::Arguments) -> Option<String> {
        self.base_url.as_ref().map(|b| format!("{b}{path}"))
    }

    fn user(&mut self, row: &Row) -> RowResult {
        let id = required_int(row, "Id")?;
        let ts = required_time(row, "CreationDate")?;
        let name = row.get("DisplayName").map_err(Bad)?.map(|n| n.into_owned());
        let mut a = Activity::new(self.source.clone(), format!("u{id}"), Kind::Join, ts, None);
        if let Some(name) = &name {
            self.users.insert(id, name.as_str().into());
        }
        a.author = self.author(Some(id));
        a.url = self.url(format_args!("/users/{id}"));
        // The profile text is not an activity's text; it stays out.
        rest_into(
            row,
            &["Id", "CreationDate", "DisplayName", "AboutMe"],
            &mut a.attrs,
        )?;
        self.sink.activity(a);
        Ok(())
    }

    fn vote(&mut self, row: &Row) -> RowResult {
        if optional_int(row, "VoteTypeId")? != Some(1) {
            return Ok(());
        }
        let post = required_int(row, "PostId")?;
        let ts = required_time(row, "CreationDate")?;
        self.accept_votes
            .entry(post)
            .and_modify(|t| *t = (*t).min(ts))
            .or_insert(ts);
        Ok(())
    }

    fn post(&mut self, row: &Row) -> RowResult {
        let id = required_int(row, "Id")?;
        let type_id = required_int(row, "PostTypeId")?;
        let ts = required_time(row, "CreationDate")?;
        let owner = optional_int(row, "OwnerUserId")?;
        let (kind, type_name) = match type_id {
            1 => (PostType::Question, "question"),
            2 => (PostType::Answer, "answer"),
            3 => (PostType::Wiki, "orphaned_tag_wiki"),
            4 => (PostType::Wiki, "tag_wiki_excerpt"),
            5 => (PostType::Wiki, "tag_wiki"),
            6 => (PostType::Other, "moderator_nomination"),
            7 => (PostType::Wiki, "wiki_placeholder"),
            8 => (PostType::Wiki, "privilege_wiki"),
            10 => (PostType::Wiki, "help_article"),
            14 => (PostType::Other, "announcement"),
            _ => (PostType::Other, "other"),
        };
        let parent = if kind == PostType::Answer {
            Some(required_int(row, "ParentId")?)
        } else {
            None
        };
        let mut a = Activity::new(
            self.source.clone(),
            String::new(),
            Kind::Post,
            ts,
            self.author(owner),
        );
        a.text = row.get("Body").map_err(Bad)?.map(|t| t.into_owned());
        a.attrs
            .insert("post_type".into(), Value::String(type_name.into()));
        if type_id > 2 {
            a.attrs.insert("post_type_id".into(), Value::from(type_id));
        }
        let mut used = vec![
            "Id",
            "PostTypeId",
            "CreationDate",
            "OwnerUserId",
            "Body",
            "ParentId",
            "AcceptedAnswerId",
        ];
        let accepted = if kind == PostType::Question {
            optional_int(row, "AcceptedAnswerId")?
        } else {
            None
        };
        let question = parent.unwrap_or(id);
        match kind {
            PostType::Question => {
                a.id = format!("q{id}");
                a.thread = Some(a.id.clone());
                a.url = self.url(format_args!("/q/{id}"));
                if let Some(acc) = accepted {
                    a.attrs
                        .insert("accepted_answer".into(), Value::String(format!("a{acc}")));
                }
            }
            PostType::Answer => {
                a.id = format!("a{id}");
                a.kind = Kind::Answer;
                a.thread = Some(format!("q{question}"));
                a.reply_to = Some(format!("q{question}"));
                a.url = self.url(format_args!("/a/{id}"));
                if let Some(asker) = self
                    .posts
                    .get(question)
                    .and_then(|q| q.owner)
                    .filter(|q| Some(*q) != owner)
                {
                    a.to.push(asker.to_string());
                }
                used.push("Title");
            }
            PostType::Wiki => {
                a.id = format!("p{id}");
                a.kind = Kind::Contribution;
                a.url = self.url(format_args!("/posts/{id}/revisions"));
            }
            PostType::Other => {
                a.id = format!("p{id}");
                a.thread = Some(a.id.clone());
                a.url = self.url(format_args!("/q/{id}"));
            }
        }
        rest_into(row, &used, &mut a.attrs)?;
        self.sink.activity(a);
        self.posts.insert(PostRef {
            id,
            owner,
            ts,
            kind,
        });

        // Solutions: an accepted answer seen after its question (the usual order), or before
        // it, or known only from an acceptance vote.
        match kind {
            PostType::Answer => {
                let pending = self.pending_accepts.remove(&id);
                if pending.is_some() || self.accept_votes.contains_key(&id) {
                    self.solution(id, question, owner, ts);
                }
            }
            PostType::Question => {
                if let Some(acc) = accepted {
                    match self.posts.get(acc).copied() {
                        Some(ans) if ans.kind == PostType::Answer => {
                            if !self.accept_votes.contains_key(&acc) {
                                self.solution(acc, id, ans.owner, ans.ts);
                            }
                        }
                        _ => {
                            self.pending_accepts.insert(acc, id);
                        }
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// The `solution` for accepted answer `answer`: credited to its author at the acceptance
    /// vote's time (the dumps give only its day, so never before the answer), else the
    /// answer's time. Key `s<answer id>`.
    fn solution(&mut self, answer: i64, question: i64, owner: Option<i64>, answered: Timestamp) {
        let ts = self
            .accept_votes
            .get(&answer)
            .map_or(answered, |v| (*v).max(answered));
        let mut s = Activity::new(
            self.source.clone(),
            format!("s{answer}"),
            Kind::Solution,
            ts,
            self.author(owner),
        );
        s.thread = Some(format!("q{question}"));
        s.reply_to = Some(format!("a{answer}"));
        s.url = self.url(format_args!("/a/{answer}"));
        if let Some(asker) = self.posts.get(question).and_then(|q| q.owner) {
            s.attrs
                .insert("accepted_by".into(), Value::String(asker.to_string()));
        }
        s.attrs.insert(
            "accepted_at".into(),
            Value::String(
                if self.accept_votes.contains_key(&answer) {
                    "vote"
                } else {
                    "answer time"
                }
                .into(),
            ),
        );
        self.sink.activity(s);
    }

    fn comment(&mut self, row: &Row) -> RowResult {
        let id = required_int(row, "Id")?;
        let post_id = required_int(row, "PostId")?;
        let ts = required_time(row, "CreationDate")?;
        let user = optional_int(row, "UserId")?;
        let mut a = Activity::new(
            self.source.clone(),
            format!("c{id}"),
            Kind::Reply,
            ts,
            self.author(user),
        );
        a.text = row.get("Text").map_err(Bad)?.map(|t| t.into_owned());
        a.url = self.url(format_args!("/posts/comments/{id}"));
        let (reply_to, thread, on) = match self.posts.get(post_id) {
            Some(p) => match p.kind {
                PostType::Question => (
                    format!("q{post_id}"),
                    Some(format!("q{post_id}")),
                    "question",
                ),
                // Comments on an answer are that answer's own conversation, not a response
                // to the question (SPEC §4.0: comments on later posts do not count).
                PostType::Answer => (format!("a{post_id}"), Some(format!("a{post_id}")), "answer"),
                PostType::Wiki => (format!("p{post_id}"), None, "wiki"),
                PostType::Other => (format!("p{post_id}"), Some(format!("p{post_id}")), "post"),
            },
            // The post was deleted before the dump: the comment is kept, unthreaded.
            None => (format!("p{post_id}"), None, "deleted post"),
        };
        if let Some(owner) = self
            .posts
            .get(post_id)
            .and_then(|p| p.owner)
            .filter(|o| Some(*o) != user)
        {
            a.to.push(owner.to_string());
        }
        a.reply_to = Some(reply_to);
        a.thread = thread;
        a.attrs
            .insert("comment_on".into(), Value::String(on.into()));
        rest_into(
            row,
            &["Id", "PostId", "CreationDate", "UserId", "Text"],
            &mut a.attrs,
        )?;
        self.sink.activity(a);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dump_dates_are_utc() {
        let t = parse_utc("2011-10-11T19:42:20.713").unwrap();
        assert_eq!(t.to_string(), "2011-10-11T19:42:20.713Z");
        assert_eq!(parse_utc("1970-01-01T00:00:00").unwrap().secs, 0);
        assert_eq!(parse_utc("2000-02-29T00:00:00").unwrap().secs, 951_782_400);
        assert!(parse_utc("2001-02-29T00:00:00").is_none());
        assert!(parse_utc("2011-10-11").is_none());
        assert!(parse_utc("2011-10-11T19:42:20.").is_none());
        assert_eq!(
            parse_utc("2011-10-11T19:42:20+02:00").unwrap().secs,
            parse_utc("2011-10-11T17:42:20").unwrap().secs
        );
    }

    #[test]
    fn tags_in_both_dump_styles() {
        assert_eq!(
            tags("<discussion><answers>"),
            serde_json::json!(["discussion", "answers"])
        );
        assert_eq!(
            tags("|discussion|answers|"),
            serde_json::json!(["discussion", "answers"])
        );
    }
}
