//! Canonical activities written as a Stack Exchange data dump (`Users.xml`, `Posts.xml`,
//! `Comments.xml`, `Votes.xml`), streaming: for `kith demo --write-export stackexchange`.
//!
//! Thread openers (`post`, `feedback`) become questions, `answer`s answers, `reply`s comments
//! (on the answer or question they reply to, else on the question), `solution`s acceptance
//! votes (VoteTypeId 1), `reaction`s up-votes (VoteTypeId 2, which the importer does not read:
//! dumps hold no voter), and each author's first activity a `Users.xml` row. Kinds a dump
//! cannot hold (rsvp, attend, contribution, edit, delete, leave) are left out. Held in memory:
//! the user ids seen and the answer ids (comments need to know what they comment on).

use std::collections::HashSet;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use kith_model::{Activity, Kind, Timestamp};

use super::StackExchange;
use crate::{ExportWriter, ImportError};

/// The number in an id such as `a123` or `u45` (the generator's ids); `None` without digits.
fn number(id: &str) -> Option<u64> {
    let digits = id.trim_start_matches(|c: char| !c.is_ascii_digit());
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Escapes text for an attribute value; newlines become `&#xA;` so that they survive
/// attribute normalisation, characters XML 1.0 forbids are dropped.
fn escape(out: &mut Vec<u8>, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.extend_from_slice(b"&amp;"),
            '<' => out.extend_from_slice(b"&lt;"),
            '>' => out.extend_from_slice(b"&gt;"),
            '"' => out.extend_from_slice(b"&quot;"),
            '\n' => out.extend_from_slice(b"&#xA;"),
            '\r' => out.extend_from_slice(b"&#xD;"),
            '\t' => out.extend_from_slice(b"&#x9;"),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => {
                let mut b = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
            }
        }
    }
}

/// `2011-10-11T19:42:20.713` in UTC, as the dumps write it.
fn dump_date(ts: Timestamp) -> String {
    let utc = Timestamp {
        offset_min: 0,
        ..ts
    }
    .to_string();
    let base = utc.get(..19).unwrap_or(&utc);
    format!("{base}.{:03}", ts.micros / 1000)
}

struct XmlFile {
    path: PathBuf,
    out: BufWriter<File>,
    root: &'static str,
    row: Vec<u8>,
}

impl XmlFile {
    fn create(dir: &Path, name: &str, root: &'static str) -> Result<XmlFile, ImportError> {
        let path = dir.join(name);
        let file = File::create(&path).map_err(|e| ImportError::io(&path, e))?;
        let mut out = BufWriter::with_capacity(1 << 18, file);
        write!(out, "\u{feff}<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<!DOCTYPE {root} SYSTEM '{root}.dtd'>\n<{root}>\n")
            .map_err(|e| ImportError::io(&path, e))?;
        Ok(XmlFile {
            path,
            out,
            root,
            row: Vec::with_capacity(1024),
        })
    }

    /// Writes `<row k="v" ... />` for the attributes given (absent ones skipped).
    fn row(&mut self, attrs: &[(&str, Option<&str>)]) -> Result<(), ImportError> {
        self.row.clear();
        self.row.extend_from_slice(b"  <row");
        for (k, v) in attrs {
            if let Some(v) = v {
                self.row.push(b' ');
                self.row.extend_from_slice(k.as_bytes());
                self.row.extend_from_slice(b"=\"");
                escape(&mut self.row, v);
                self.row.push(b'"');
            }
        }
        self.row.extend_from_slice(b" />\n");
        self.out
            .write_all(&self.row)
            .map_err(|e| ImportError::io(&self.path, e))
    }

    fn finish(mut self) -> Result<(), ImportError> {
        writeln!(self.out, "</{}>", self.root).map_err(|e| ImportError::io(&self.path, e))?;
        self.out.flush().map_err(|e| ImportError::io(&self.path, e))
    }
}

/// A short title from a post's text: its first line, cut at a word near 80 characters.
fn title(text: Option<&str>, id: u64) -> String {
    let first = text
        .and_then(|t| t.lines().find(|l| !l.trim().is_empty()))
        .unwrap_or("")
        .trim();
    if first.is_empty() {
        return format!("Question {id}");
    }
    if first.chars().count() <= 80 {
        return first.to_owned();
    }
    let cut: String = first.chars().take(80).collect();
    match cut.rfind(' ') {
        Some(i) if i > 20 => format!("{}…", &cut[..i]),
        _ => format!("{cut}…"),
    }
}

/// Writes `activities` as a dump into `dir` and returns `dir` (the site folder).
pub fn write_export(
    activities: &mut dyn Iterator<Item = Activity>,
    dir: &Path,
) -> Result<PathBuf, ImportError> {
    std::fs::create_dir_all(dir).map_err(|e| ImportError::io(dir, e))?;
    let mut users = XmlFile::create(dir, "Users.xml", "users")?;
    let mut posts = XmlFile::create(dir, "Posts.xml", "posts")?;
    let mut comments = XmlFile::create(dir, "Comments.xml", "comments")?;
    let mut votes = XmlFile::create(dir, "Votes.xml", "votes")?;
    let mut seen_users: HashSet<u64> = HashSet::new();
    let mut answers: HashSet<u64> = HashSet::new();
    let (mut comment_id, mut vote_id) = (0u64, 0u64);

    for a in activities {
        let Some(id) = number(&a.id) else { continue };
        let date = dump_date(a.ts);
        let user = a
            .author
            .as_ref()
            .and_then(|au| number(&au.id).map(|n| (n, au)));
        if let Some((uid, author)) = user
            && seen_users.insert(uid)
        {
            let name = author.name.clone().unwrap_or_else(|| format!("user{uid}"));
            let uid_text = uid.to_string();
            users.row(&[
                ("Id", Some(&uid_text)),
                ("Reputation", Some("1")),
                ("CreationDate", Some(&date)),
                ("DisplayName", Some(&name)),
                ("LastAccessDate", Some(&date)),
                ("Views", Some("0")),
                ("UpVotes", Some("0")),
                ("DownVotes", Some("0")),
            ])?;
        }
        let owner = user.map(|(n, _)| n.to_string());
        let owner_name = if a.author.is_none() {
            Some("anonymous")
        } else {
            None
        };
        let id_text = id.to_string();
        let thread = a.thread.as_deref().and_then(number);
        match a.kind {
            Kind::Post | Kind::Feedback if thread.is_none_or(|t| t == id) => {
                let tags = match (a.kind, a.channel.as_deref()) {
                    (Kind::Feedback, _) => "<feedback>".to_owned(),
                    (_, Some(c)) => format!("<{}>", c.to_ascii_lowercase().replace(' ', "-")),
                    _ => "<discussion>".to_owned(),
                };
                posts.row(&[
                    ("Id", Some(&id_text)),
                    ("PostTypeId", Some("1")),
                    ("CreationDate", Some(&date)),
                    ("Score", Some("0")),
                    ("ViewCount", Some("1")),
                    ("Body", a.text.as_deref()),
                    ("OwnerUserId", owner.as_deref()),
                    ("OwnerDisplayName", owner_name),
                    ("LastActivityDate", Some(&date)),
                    ("Title", Some(&title(a.text.as_deref(), id))),
                    ("Tags", Some(&tags)),
                ])?;
            }
            Kind::Answer => {
                let Some(question) = thread else { continue };
                answers.insert(id);
                posts.row(&[
                    ("Id", Some(&id_text)),
                    ("PostTypeId", Some("2")),
                    ("ParentId", Some(&question.to_string())),
                    ("CreationDate", Some(&date)),
                    ("Score", Some("0")),
                    ("Body", a.text.as_deref()),
                    ("OwnerUserId", owner.as_deref()),
                    ("OwnerDisplayName", owner_name),
                    ("LastActivityDate", Some(&date)),
                ])?;
            }
            Kind::Reply => {
                let Some(question) = thread else { continue };
                let on = a
                    .reply_to
                    .as_deref()
                    .and_then(number)
                    .filter(|r| answers.contains(r))
                    .unwrap_or(question);
                comment_id += 1;
                comments.row(&[
                    ("Id", Some(&comment_id.to_string())),
                    ("PostId", Some(&on.to_string())),
                    ("Score", Some("0")),
                    ("Text", a.text.as_deref()),
                    ("CreationDate", Some(&date)),
                    ("UserDisplayName", owner_name),
                    ("UserId", owner.as_deref()),
                ])?;
            }
            Kind::Solution | Kind::Reaction => {
                let Some(target) = a.reply_to.as_deref().and_then(number) else {
                    continue;
                };
                if a.kind == Kind::Solution && !answers.contains(&target) {
                    continue;
                }
                vote_id += 1;
                let day = format!("{}T00:00:00.000", date.get(..10).unwrap_or(&date));
                // Dumps give votes only their day; the acceptance's exact time is kept so that
                // a round trip keeps the solution's time.
                let when = if a.kind == Kind::Solution {
                    &date
                } else {
                    &day
                };
                votes.row(&[
                    ("Id", Some(&vote_id.to_string())),
                    ("PostId", Some(&target.to_string())),
                    (
                        "VoteTypeId",
                        Some(if a.kind == Kind::Solution { "1" } else { "2" }),
                    ),
                    ("CreationDate", Some(when)),
                ])?;
            }
            _ => {}
        }
    }
    users.finish()?;
    posts.finish()?;
    comments.finish()?;
    votes.finish()?;
    Ok(dir.to_owned())
}

impl ExportWriter for StackExchange {
    fn name(&self) -> &'static str {
        "stackexchange"
    }

    fn write(
        &self,
        activities: &mut dyn Iterator<Item = Activity>,
        dir: &Path,
    ) -> Result<PathBuf, ImportError> {
        write_export(activities, dir)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_keep_newlines_and_drop_forbidden_characters() {
        let mut out = Vec::new();
        escape(&mut out, "a<b & \"c\"\nd\u{1}");
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "a&lt;b &amp; &quot;c&quot;&#xA;d"
        );
        assert_eq!(number("a123"), Some(123));
        assert_eq!(number("x"), None);
        assert_eq!(
            dump_date(Timestamp::from_micros(1_318_362_140_713_000)),
            "2011-10-11T19:42:20.713"
        );
    }
}
