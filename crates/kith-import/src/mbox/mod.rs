//! `mbox`: mailing-list archives, mbox and pipermail `.txt` (a file, or a folder of monthly
//! files, optionally `.gz`); the format is documented in `docs/formats/mbox.md`.
//!
//! A message starts only at a real envelope line (`From <sender> <asctime date>`); every
//! message becomes a `post` (no parent) or a `reply` (In-Reply-To / References), threaded by
//! the root Message-ID. Memory: one message at a time, plus a map from each Message-ID's hash
//! to its thread (a few dozen bytes per message), which threading and duplicate detection need,
//! and the parsed senders of up to 65,536 distinct `From:` values (a list's senders repeat).

mod address;
mod date;
mod envelope;
mod message;
mod writer;

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::io::BufRead;

use kith_model::{Activity, Author, Kind};
use kith_store::Problem;
use serde_json::Value;
use xxhash_rust::xxh3::xxh3_64;

use crate::{Format, ImportError, InputFile, ReadContext, RecordSink};
pub use writer::MboxWriter;

pub struct Mbox;

impl Format for Mbox {
    fn name(&self) -> &'static str {
        "mbox"
    }

    fn summary(&self) -> &'static str {
        "mailing-list archives: mbox and pipermail .txt files (a file or a folder, optionally .gz)"
    }

    fn accepts(&self, relative: &str) -> bool {
        let name = relative
            .rsplit('/')
            .next()
            .unwrap_or(relative)
            .to_ascii_lowercase();
        let name = name.strip_suffix(".gz").unwrap_or(&name);
        !name.starts_with('.')
            && (name.ends_with(".txt")
                || name.ends_with(".mbox")
                || name.ends_with(".mbx")
                || !name.contains('.'))
    }

    fn read(
        &self,
        inputs: &[InputFile],
        ctx: &ReadContext,
        sink: &mut dyn RecordSink,
    ) -> Result<(), ImportError> {
        let mut state = Archive {
            source: ctx.source.clone(),
            fallback_source: fallback_source(inputs),
            threads: Threads::default(),
            senders: Senders::default(),
        };
        for input in inputs {
            state.read_file(input, ctx, sink)?;
        }
        Ok(())
    }
}

/// The source name when neither `--source` nor a List-Id header gives one: the folder's name
/// for a folder (or several files), else the file's name without extensions, unless that is a
/// period (`2015-June.txt`, `2020q2.txt`), when the folder's name is used.
fn fallback_source(inputs: &[InputFile]) -> String {
    let folder = |i: &InputFile| {
        i.root
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    let name = match inputs {
        [one] if !one.relative.contains('/') => {
            let stem = one
                .file_name()
                .split('.')
                .next()
                .unwrap_or_default()
                .to_owned();
            if stem.is_empty() || stem.bytes().next().is_some_and(|b| b.is_ascii_digit()) {
                folder(one)
            } else {
                stem
            }
        }
        [first, ..] => folder(first),
        [] => String::new(),
    };
    if name.trim().is_empty() {
        "mbox".to_owned()
    } else {
        name.trim().to_owned()
    }
}

/// What one import keeps across messages and files.
struct Archive {
    source: Option<String>,
    fallback_source: String,
    threads: Threads,
    senders: Senders,
}

/// Parsed `From:` values, memoised: a list's few thousand senders write millions of messages.
/// Bounded: when full, it starts over.
#[derive(Default)]
struct Senders {
    /// Hash of the `From:` value → the value and what it reads as.
    parsed: HashMap<u64, (Box<str>, Option<address::Sender>), Prehashed>,
}

impl Senders {
    const CAPACITY: usize = 1 << 16;

    fn parse(&mut self, from: &str) -> Option<address::Sender> {
        let hash = xxh3_64(from.as_bytes());
        if let Some((value, sender)) = self.parsed.get(&hash)
            && **value == *from
        {
            return sender.clone();
        }
        let sender = address::parse_from(from, message::decode_words);
        if self.parsed.len() >= Self::CAPACITY {
            self.parsed.clear();
        }
        self.parsed.insert(hash, (from.into(), sender.clone()));
        sender
    }
}

/// Maps keyed by an xxh3 hash need no second hash: the key is used as it is.
type Prehashed = BuildHasherDefault<KeyIsHash>;

#[derive(Default)]
struct KeyIsHash(u64);

impl Hasher for KeyIsHash {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `u64` keys are hashed here; anything else is folded in byte by byte.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

#[derive(Default)]
struct Threads {
    /// Hash of an activity key (Message-ID or derived) → what was made of it.
    seen: HashMap<u64, Seen, Prehashed>,
    /// Thread ids (root Message-IDs), interned.
    roots: Vec<Box<str>>,
    root_index: HashMap<u64, u32, Prehashed>,
}

#[derive(Clone, Copy)]
struct Seen {
    thread: u32,
    content: u64,
}

impl Threads {
    fn intern(&mut self, root: &str) -> u32 {
        let h = xxh3_64(root.as_bytes());
        if let Some(&i) = self.root_index.get(&h) {
            return i;
        }
        let i = self.roots.len() as u32;
        self.roots.push(root.into());
        self.root_index.insert(h, i);
        i
    }

    fn thread_of(&self, id: &str) -> Option<u32> {
        self.seen.get(&xxh3_64(id.as_bytes())).map(|s| s.thread)
    }
}

/// One message as split from the archive.
struct Raw<'a> {
    file: &'a str,
    line: u64,
    envelope: &'a str,
    bytes: &'a [u8],
}

impl Archive {
    fn read_file(
        &mut self,
        input: &InputFile,
        ctx: &ReadContext,
        sink: &mut dyn RecordSink,
    ) -> Result<(), ImportError> {
        let file = input.display();
        let mut reader = input.open(ctx)?;
        // Lines are read straight into the current message's buffer (no copy per line); an
        // envelope line is cut off again before the message is read.
        let mut current: Vec<u8> = Vec::with_capacity(1 << 14);
        let mut envelope: Option<(u64, String)> = None;
        let mut line_no = 0u64;
        loop {
            let start = current.len();
            let n = reader
                .read_until(b'\n', &mut current)
                .map_err(|e| read_error(input, &file, line_no + 1, e))?;
            if n == 0 {
                break;
            }
            line_no += 1;
            let line = &current[start..];
            if let Some(sender) = envelope::envelope_sender(line) {
                if let Some((first, env)) = envelope.take() {
                    self.message(
                        Raw {
                            file: &file,
                            line: first,
                            envelope: &env,
                            bytes: &current[..start],
                        },
                        sink,
                        false,
                    )?;
                }
                current.clear();
                envelope = Some((line_no, sender));
            } else if envelope.is_none() {
                if !line.iter().all(u8::is_ascii_whitespace) {
                    return Err(ImportError::Malformed {
                        file,
                        line: line_no,
                        column: 0,
                        message:
                            "this is not an mbox archive: content comes before the first envelope line \
                              (`From <sender> <weekday> <month> <day> <hh:mm:ss> <year>`)"
                                .into(),
                    });
                }
                current.clear();
            }
        }
        if let Some((start, env)) = envelope.take() {
            self.message(
                Raw {
                    file: &file,
                    line: start,
                    envelope: &env,
                    bytes: &current,
                },
                sink,
                true,
            )?;
        }
        Ok(())
    }

    fn message(
        &mut self,
        raw: Raw<'_>,
        sink: &mut dyn RecordSink,
        last: bool,
    ) -> Result<(), ImportError> {
        let parsed = message::parse_headers(raw.bytes);
        if last && !parsed.closed && !raw.bytes.is_empty() {
            return Err(ImportError::Malformed {
                file: raw.file.to_owned(),
                line: raw.line,
                column: 0,
                message: "the file ends inside the headers of the message starting here (is the file cut off?); \
                          expected a blank line after the headers"
                    .into(),
            });
        }
        let h = &parsed.headers;
        let skip = |reason: &str, message: String| Problem {
            file: raw.file.to_owned(),
            line: raw.line,
            location: None,
            reason: reason.into(),
            message,
        };
        let Some(date_text) = h.date.as_deref() else {
            sink.skip(skip("no date", "the message has no Date header".into()));
            return Ok(());
        };
        let Some(ts) = date::parse_date(date_text) else {
            sink.skip(skip(
                "bad date",
                format!("unreadable Date header `{date_text}`"),
            ));
            return Ok(());
        };
        let sender = h
            .from
            .as_deref()
            .and_then(|f| self.senders.parse(f))
            .or_else(|| envelope_author(raw.envelope));
        let subject = h.subject.as_deref().map(message::decode_words);
        let message_id = h.message_id.as_deref().and_then(message::first_message_id);
        let references = h
            .references
            .as_deref()
            .map(message::message_ids)
            .unwrap_or_default();
        let in_reply_to = h.in_reply_to.as_deref().and_then(message::first_message_id);
        let parent = in_reply_to.clone().or_else(|| references.last().cloned());

        let source = match &self.source {
            Some(s) => s.clone(),
            None => {
                let name = h
                    .list_id
                    .as_deref()
                    .and_then(list_id)
                    .unwrap_or_else(|| self.fallback_source.clone());
                self.source = Some(name.clone());
                name
            }
        };
        let key = match &message_id {
            Some(id) => id.clone(),
            None => {
                let material = [
                    raw.envelope,
                    date_text,
                    h.from.as_deref().unwrap_or(""),
                    h.subject.as_deref().unwrap_or(""),
                ]
                .join("\0");
                format!("mbox-{:016x}", xxh3_64(material.as_bytes()))
            }
        };

        let body = message::body_text(raw.bytes, &parsed);
        let (text, quoted) = split_quoted(&body);
        let kind = if parent.is_some() {
            Kind::Reply
        } else {
            Kind::Post
        };
        let author = sender.map(|s| Author {
            id: s.key,
            name: s.name,
            email: s.email,
            ..Author::default()
        });
        let mut activity = Activity::new(source, key.clone(), kind, ts, author);
        activity.reply_to = parent.clone();
        activity.text = (!text.is_empty()).then_some(text);
        if let Some(subject) = subject.filter(|s| !s.is_empty()) {
            activity
                .attrs
                .insert("subject".into(), Value::String(subject));
        }
        if quoted > 0 {
            activity
                .attrs
                .insert("quoted_lines".into(), Value::from(quoted));
        }
        if let Some(from) = h.from.as_deref() {
            activity
                .attrs
                .insert("from".into(), Value::String(from.to_owned()));
        }

        let key_hash = xxh3_64(key.as_bytes());
        if let Some(seen) = self.threads.seen.get(&key_hash).copied() {
            activity.thread = Some(self.threads.roots[seen.thread as usize].to_string());
            if activity.content_hash() == seen.content {
                // The same message again (a byte-identical copy): the same activity, which the
                // store counts as a duplicate.
                sink.activity(activity);
                return Ok(());
            }
            // A different message under a Message-ID already used: a key of its own.
            activity
                .attrs
                .insert("message_id".into(), Value::String(key.clone()));
            activity.id = format!("{key}~{:016x}", xxh3_64(raw.bytes));
        }
        let thread = match &parent {
            None => self.threads.intern(&key),
            Some(p) => match self
                .threads
                .thread_of(p)
                .or_else(|| references.iter().find_map(|r| self.threads.thread_of(r)))
            {
                Some(t) => t,
                None => {
                    let root = references.first().unwrap_or(p).clone();
                    self.threads.intern(&root)
                }
            },
        };
        activity.thread = Some(self.threads.roots[thread as usize].to_string());
        let seen = Seen {
            thread,
            content: activity.content_hash(),
        };
        self.threads
            .seen
            .entry(xxh3_64(activity.id.as_bytes()))
            .or_insert(seen);
        self.threads.seen.entry(key_hash).or_insert(seen);
        sink.activity(activity);
        Ok(())
    }
}

/// Without a `From:` header the envelope's sender is the author, unless it is no address at
/// all (`MAILER-DAEMON`): then the message is author-less.
fn envelope_author(sender: &str) -> Option<address::Sender> {
    let lower = sender.to_ascii_lowercase();
    if lower.contains('@') || lower.contains(" at ") {
        address::parse_address(sender)
    } else {
        None
    }
}

fn read_error(input: &InputFile, file: &str, line: u64, e: std::io::Error) -> ImportError {
    if input.is_gzip()
        && matches!(
            e.kind(),
            std::io::ErrorKind::InvalidData
                | std::io::ErrorKind::InvalidInput
                | std::io::ErrorKind::UnexpectedEof
        )
    {
        ImportError::Malformed {
            file: file.to_owned(),
            line,
            column: 0,
            message: format!("the gzip stream is broken or cut off ({e})"),
        }
    } else {
        ImportError::io(&input.path, e)
    }
}

/// `R package development <r-package-devel.r-project.org>` → `r-package-devel.r-project.org`.
fn list_id(value: &str) -> Option<String> {
    let inner = match (value.rfind('<'), value.rfind('>')) {
        (Some(a), Some(b)) if a < b => &value[a + 1..b],
        _ => value,
    };
    let inner = inner.trim();
    (!inner.is_empty() && !inner.chars().any(char::is_control)).then(|| inner.to_owned())
}

/// The body without quoted lines (`>`), which repeat the messages replied to, and the number
/// of quoted lines left out. Line ends become `\n`; blank lines at both ends are dropped.
fn split_quoted(body: &str) -> (String, usize) {
    let mut text = String::with_capacity(body.len());
    let mut quoted = 0;
    for line in body.lines() {
        if line.starts_with('>') {
            quoted += 1;
            continue;
        }
        text.push_str(line.trim_end());
        text.push('\n');
    }
    let trimmed = text.trim_matches('\n');
    (
        if trimmed.len() == text.len() {
            text
        } else {
            trimmed.to_owned()
        },
        quoted,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_lines_are_left_out_of_the_text() {
        let (text, quoted) = split_quoted("\nOn Tue, Jane wrote:\n> hi\n>> there\n\nthanks  \n\n");
        assert_eq!(text, "On Tue, Jane wrote:\n\nthanks");
        assert_eq!(quoted, 2);
    }

    #[test]
    fn list_ids_name_the_source() {
        assert_eq!(
            list_id("R package development <r-package-devel.r-project.org>").as_deref(),
            Some("r-package-devel.r-project.org")
        );
        assert_eq!(
            list_id("dev.lists.example.org").as_deref(),
            Some("dev.lists.example.org")
        );
    }

    #[test]
    fn memoised_senders_read_as_parsed_ones() {
        let values = [
            "Uwe Ligges <ligges@statistik.tu-dortmund.de>",
            "ligge@ @ending from @t@ti@tik@tu-dortmund@de (Uwe Ligges)",
            "=?UTF-8?B?QWRyaWFuIER1yJlh?= <dusa.adrian at unibuc.ro>",
            "\"Doe, Jane\" <Jane@Example.ORG>",
            "   ",
            "MAILER-DAEMON",
            "jane at example dot org (Jane Doe)",
        ];
        let mut senders = Senders::default();
        for round in 0..2 {
            for v in values {
                assert_eq!(
                    senders.parse(v),
                    address::parse_from(v, message::decode_words),
                    "{v} (round {round})"
                );
            }
        }
        assert_eq!(senders.parsed.len(), values.len());
        // Full: it starts over instead of growing.
        for i in 0..Senders::CAPACITY + 10 {
            let v = format!("u{i} at example.org");
            assert_eq!(
                senders.parse(&v).map(|s| s.key),
                Some(address::parse_from(&v, message::decode_words).unwrap().key)
            );
        }
        assert!(senders.parsed.len() <= Senders::CAPACITY);
    }
}
