//! The canonical JSONL format (SPEC §3): one activity per line, versioned by `"v": 1`.
//!
//! Reading distinguishes a *malformed file* (the line is not JSON, or the text is not UTF-8:
//! the import must stop and roll back) from a *bad record* (valid JSON that is not a valid
//! activity: skipped and listed in the audit with its line). Derived fields that exports add
//! (`member`, `team`, `bot`, `sentiment`, `hostility`, `intents`, `inferred_thread`) are ignored
//! on input; any other unknown field is kept in `attrs`.

use std::fmt;
use std::io::{self, BufRead, Write};

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::{Activity, Author, Derived, Kind, Timestamp};

/// The format version this build reads and writes.
pub const VERSION: u64 = 1;

/// Why one line could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct LineError {
    /// 1-based line number in the input.
    pub line: u64,
    /// 1-based column within the line (0 when unknown).
    pub column: usize,
    pub message: String,
    /// True when the line is not JSON at all (or not UTF-8): the file is malformed.
    pub malformed: bool,
}

/// Parses one line (without its newline). `line` is used for error messages only.
pub fn parse_line(text: &str, line: u64) -> Result<Activity, LineError> {
    let mut de = serde_json::Deserializer::from_str(text);
    let parsed = ActivitySeed
        .deserialize(&mut de)
        .and_then(|a| de.end().map(|()| a));
    parsed.map_err(|e| {
        use serde_json::error::Category;
        // A data error may hide a syntax error later in the line (`{"v":1}}`): only a line that
        // is valid JSON throughout is a bad record rather than a malformed file.
        let malformed = matches!(
            e.classify(),
            Category::Syntax | Category::Eof | Category::Io
        ) || serde_json::from_str::<IgnoredAny>(text).is_err();
        // serde_json appends " at line L column C"; we report our own position instead.
        let mut message = e.to_string();
        if let Some(cut) = message.rfind(" at line ") {
            message.truncate(cut);
        }
        LineError {
            line,
            column: e.column(),
            message,
            malformed,
        }
    })
}

/// Streams activities from canonical JSONL. Blank lines are skipped.
pub struct JsonlReader<R> {
    input: R,
    buf: Vec<u8>,
    line: u64,
    bytes: u64,
}

impl<R: BufRead> JsonlReader<R> {
    pub fn new(input: R) -> Self {
        JsonlReader {
            input,
            buf: Vec::with_capacity(1024),
            line: 0,
            bytes: 0,
        }
    }

    /// Bytes consumed so far (for progress bars).
    pub fn bytes_read(&self) -> u64 {
        self.bytes
    }

    /// The next record: `Ok(None)` at the end, `Err` for an I/O failure.
    #[allow(clippy::type_complexity)]
    pub fn next_record(&mut self) -> io::Result<Option<(u64, Result<Activity, LineError>)>> {
        loop {
            self.buf.clear();
            let n = self.input.read_until(b'\n', &mut self.buf)?;
            if n == 0 {
                return Ok(None);
            }
            self.bytes += n as u64;
            self.line += 1;
            let mut end = self.buf.len();
            while end > 0 && matches!(self.buf[end - 1], b'\n' | b'\r') {
                end -= 1;
            }
            let raw = &self.buf[..end];
            if raw.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let line = self.line;
            let result = match std::str::from_utf8(raw) {
                Ok(text) => parse_line(text, line),
                Err(e) => Err(LineError {
                    line,
                    column: e.valid_up_to() + 1,
                    message: "the line is not valid UTF-8".into(),
                    malformed: true,
                }),
            };
            return Ok(Some((line, result)));
        }
    }
}

/// Writes one activity as a line (with its newline). `derived` adds what kith computed.
pub fn write_line<W: Write>(
    out: &mut W,
    activity: &Activity,
    derived: Option<&Derived>,
) -> io::Result<()> {
    serde_json::to_writer(
        &mut *out,
        &LineOut {
            a: activity,
            d: derived,
        },
    )?;
    out.write_all(b"\n")
}

/// The line as a string without its newline.
pub fn to_line(activity: &Activity, derived: Option<&Derived>) -> String {
    serde_json::to_string(&LineOut {
        a: activity,
        d: derived,
    })
    .unwrap_or_default()
}

struct LineOut<'a> {
    a: &'a Activity,
    d: Option<&'a Derived>,
}

impl Serialize for LineOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let a = self.a;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("v", &VERSION)?;
        m.serialize_entry("source", &a.source)?;
        m.serialize_entry("id", &a.id)?;
        m.serialize_entry("kind", a.kind.as_str())?;
        m.serialize_entry("ts", &a.ts.to_rfc3339())?;
        match &a.author {
            Some(author) => m.serialize_entry("author", &AuthorOut(author))?,
            None => m.serialize_entry("author", &())?,
        }
        for (key, value) in [
            ("channel", &a.channel),
            ("thread", &a.thread),
            ("reply_to", &a.reply_to),
        ] {
            if let Some(v) = value {
                m.serialize_entry(key, v)?;
            }
        }
        if !a.to.is_empty() {
            m.serialize_entry("to", &a.to)?;
        }
        for (key, value) in [("text", &a.text), ("url", &a.url)] {
            if let Some(v) = value {
                m.serialize_entry(key, v)?;
            }
        }
        if !a.attrs.is_empty() {
            m.serialize_entry("attrs", &a.attrs)?;
        }
        if let Some(d) = self.d {
            if let Some(member) = d.member {
                m.serialize_entry("member", &member)?;
            }
            m.serialize_entry("team", &d.team)?;
            m.serialize_entry("bot", &d.bot)?;
            if let Some(s) = d.sentiment {
                m.serialize_entry(
                    "sentiment",
                    &SentimentOut {
                        score: s.score,
                        confidence: s.confidence,
                    },
                )?;
            }
            if let Some(h) = d.hostility {
                m.serialize_entry("hostility", &h)?;
            }
            if !d.intents.is_empty() {
                m.serialize_entry("intents", &d.intents)?;
            }
            if d.inferred_thread {
                m.serialize_entry("inferred_thread", &true)?;
            }
        }
        m.end()
    }
}

#[derive(Serialize)]
struct SentimentOut {
    score: f32,
    confidence: f32,
}

struct AuthorOut<'a>(&'a Author);

impl Serialize for AuthorOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let a = self.0;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("id", &a.id)?;
        for (key, value) in [
            ("name", &a.name),
            ("handle", &a.handle),
            ("email", &a.email),
        ] {
            if let Some(v) = value {
                m.serialize_entry(key, v)?;
            }
        }
        for (key, value) in [("team", a.team), ("bot", a.bot)] {
            if let Some(v) = value {
                m.serialize_entry(key, &v)?;
            }
        }
        m.end()
    }
}

// ---- reading -------------------------------------------------------------------------------

enum Field {
    V,
    Source,
    Id,
    Kind,
    Ts,
    Author,
    Channel,
    Thread,
    ReplyTo,
    To,
    Text,
    Url,
    Attrs,
    /// Added by exports; ignored on import.
    Derived,
    Other(String),
}

impl<'de> Deserialize<'de> for Field {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct FieldVisitor;
        impl Visitor<'_> for FieldVisitor {
            type Value = Field;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Field, E> {
                Ok(match v {
                    "v" => Field::V,
                    "source" => Field::Source,
                    "id" => Field::Id,
                    "kind" => Field::Kind,
                    "ts" => Field::Ts,
                    "author" => Field::Author,
                    "channel" => Field::Channel,
                    "thread" => Field::Thread,
                    "reply_to" => Field::ReplyTo,
                    "to" => Field::To,
                    "text" => Field::Text,
                    "url" => Field::Url,
                    "attrs" => Field::Attrs,
                    "member" | "team" | "bot" | "sentiment" | "hostility" | "intents"
                    | "inferred_thread" => Field::Derived,
                    other => Field::Other(other.to_owned()),
                })
            }
        }
        d.deserialize_identifier(FieldVisitor)
    }
}

struct ActivitySeed;

impl<'de> DeserializeSeed<'de> for ActivitySeed {
    type Value = Activity;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Activity, D::Error> {
        d.deserialize_map(ActivityVisitor)
    }
}

struct ActivityVisitor;

fn missing<E: de::Error>(field: &'static str) -> E {
    E::custom(format_args!("missing required field `{field}`"))
}

impl<'de> Visitor<'de> for ActivityVisitor {
    type Value = Activity;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object describing one activity")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Activity, A::Error> {
        let mut version: Option<u64> = None;
        let mut source: Option<String> = None;
        let mut id: Option<String> = None;
        let mut kind: Option<Kind> = None;
        let mut ts: Option<Timestamp> = None;
        let mut author: Option<Option<Author>> = None;
        let (mut channel, mut thread, mut reply_to, mut text, mut url) =
            (None, None, None, None, None);
        let mut to: Vec<String> = Vec::new();
        let mut attrs: Option<Map<String, Value>> = None;
        let mut extra: Vec<(String, Value)> = Vec::new();

        while let Some(field) = map.next_key::<Field>()? {
            match field {
                Field::V => version = Some(map.next_value()?),
                Field::Source => source = Some(map.next_value()?),
                Field::Id => id = Some(map.next_value()?),
                Field::Kind => {
                    let s = map.next_value::<CowStr>()?;
                    kind = Some(s.as_str().parse().map_err(de::Error::custom)?);
                }
                Field::Ts => {
                    let s = map.next_value::<CowStr>()?;
                    ts = Some(
                        Timestamp::parse_rfc3339(s.as_str())
                            .map_err(|e| de::Error::custom(format_args!("field `ts`: {e}")))?,
                    );
                }
                Field::Author => author = Some(map.next_value::<Option<AuthorIn>>()?.map(|a| a.0)),
                Field::Channel => channel = map.next_value()?,
                Field::Thread => thread = map.next_value()?,
                Field::ReplyTo => reply_to = map.next_value()?,
                Field::To => to = map.next_value::<Option<Vec<String>>>()?.unwrap_or_default(),
                Field::Text => text = map.next_value()?,
                Field::Url => url = map.next_value()?,
                Field::Attrs => attrs = map.next_value()?,
                Field::Derived => {
                    map.next_value::<IgnoredAny>()?;
                }
                Field::Other(key) => extra.push((key, map.next_value()?)),
            }
        }

        match version {
            None => return Err(missing("v")),
            Some(VERSION) => {}
            Some(other) => {
                return Err(de::Error::custom(format_args!(
                    "format version {other} is not supported (this kith reads version {VERSION})"
                )));
            }
        }
        let id: String = id.ok_or_else(|| missing("id"))?;
        if id.is_empty() {
            return Err(de::Error::custom("field `id` is empty"));
        }
        if let Some(Some(a)) = &author
            && a.id.is_empty()
        {
            return Err(de::Error::custom(
                "field `author.id` is empty (use \"author\": null for author-less content)",
            ));
        }
        let mut attrs = attrs.unwrap_or_default();
        for (k, v) in extra {
            attrs.entry(k).or_insert(v);
        }
        Ok(Activity {
            source: source.unwrap_or_default(),
            id,
            kind: kind.ok_or_else(|| missing("kind"))?,
            ts: ts.ok_or_else(|| missing("ts"))?,
            author: author.ok_or_else(|| missing("author"))?,
            channel,
            thread,
            reply_to,
            to,
            text,
            url,
            attrs,
        })
    }
}

/// A string that borrows from the input when it has no escapes.
enum CowStr<'de> {
    Borrowed(&'de str),
    Owned(String),
}

impl CowStr<'_> {
    fn as_str(&self) -> &str {
        match self {
            CowStr::Borrowed(s) => s,
            CowStr::Owned(s) => s,
        }
    }
}

impl<'de> Deserialize<'de> for CowStr<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = CowStr<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(CowStr::Borrowed(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(CowStr::Owned(v.to_owned()))
            }
        }
        d.deserialize_str(V)
    }
}

struct AuthorIn(Author);

impl<'de> Deserialize<'de> for AuthorIn {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Raw {
            id: String,
            #[serde(default)]
            name: Option<String>,
            #[serde(default)]
            handle: Option<String>,
            #[serde(default)]
            email: Option<String>,
            #[serde(default)]
            team: Option<bool>,
            #[serde(default)]
            bot: Option<bool>,
        }
        let r = Raw::deserialize(d)
            .map_err(|e| de::Error::custom(format_args!("field `author`: {e}")))?;
        Ok(AuthorIn(Author {
            id: r.id,
            name: r.name,
            handle: r.handle,
            email: r.email,
            team: r.team,
            bot: r.bot,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FULL: &str = r#"{"v":1,"source":"forum","id":"p-2","kind":"reply","ts":"2024-05-01T11:30:00.250+02:00","author":{"id":"u7","name":"Ada","handle":"ada","email":"ada@example.org","team":true},"channel":"general","thread":"t-1","reply_to":"p-1","to":["u3"],"text":"Try `cargo clean`.","url":"https://forum.example.org/t/1/2","attrs":{"likes":3}}"#;

    #[test]
    fn reads_every_field_and_writes_the_same_line() {
        let a = parse_line(FULL, 1).unwrap();
        assert_eq!(a.source, "forum");
        assert_eq!(a.kind, Kind::Reply);
        assert_eq!(a.author.as_ref().unwrap().team, Some(true));
        assert_eq!(a.to, ["u3"]);
        assert_eq!(a.attrs["likes"], 3);
        assert_eq!(to_line(&a, None), FULL);
    }

    #[test]
    fn unknown_fields_go_to_attrs_and_derived_fields_are_ignored() {
        let line = r#"{"v":1,"source":"s","id":"1","kind":"post","ts":"2024-01-01T00:00:00Z","author":null,"mood":"sunny","member":9,"sentiment":{"score":1,"confidence":1},"attrs":{"mood":"kept"}}"#;
        let a = parse_line(line, 4).unwrap();
        assert_eq!(a.author, None);
        assert_eq!(a.attrs.len(), 1);
        assert_eq!(
            a.attrs["mood"], "kept",
            "explicit attrs win over a stray top-level field"
        );
    }

    #[test]
    fn bad_records_name_the_field_and_are_not_malformed() {
        let cases = [
            (
                r#"{"v":1,"id":"1","kind":"comment","ts":"2024-01-01T00:00:00Z","author":null}"#,
                "unknown activity kind `comment`",
            ),
            (
                r#"{"v":1,"id":"1","kind":"post","author":null}"#,
                "missing required field `ts`",
            ),
            (
                r#"{"v":1,"id":"1","kind":"post","ts":"2024-01-01 00:00","author":null}"#,
                "field `ts`",
            ),
            (
                r#"{"v":2,"id":"1","kind":"post","ts":"2024-01-01T00:00:00Z","author":null}"#,
                "version 2",
            ),
            (
                r#"{"id":"1","kind":"post","ts":"2024-01-01T00:00:00Z","author":null}"#,
                "missing required field `v`",
            ),
            (
                r#"{"v":1,"id":"1","kind":"post","ts":"2024-01-01T00:00:00Z","author":{"name":"x"}}"#,
                "author",
            ),
            (r#"[1,2]"#, "JSON object"),
        ];
        for (line, expected) in cases {
            let e = parse_line(line, 7).unwrap_err();
            assert!(!e.malformed, "{line}: {e}");
            assert_eq!(e.line, 7);
            assert!(
                e.message.contains(expected),
                "{line}: `{}` should mention `{expected}`",
                e.message
            );
        }
    }

    #[test]
    fn broken_json_is_malformed() {
        for line in [r#"{"v":1,"id":"1","#, r#"{"v":1}}"#, "not json"] {
            let e = parse_line(line, 2).unwrap_err();
            assert!(e.malformed, "{line}: {e}");
        }
    }

    #[test]
    fn reader_counts_lines_skips_blanks_and_flags_invalid_utf8() {
        let mut input = format!("{FULL}\n\n{FULL}\r\n").into_bytes();
        input.extend_from_slice(b"\xff\n");
        let mut r = JsonlReader::new(&input[..]);
        let (l1, a) = r.next_record().unwrap().unwrap();
        assert!(a.is_ok());
        assert_eq!(l1, 1);
        let (l3, a) = r.next_record().unwrap().unwrap();
        assert!(a.is_ok());
        assert_eq!(l3, 3);
        let (l4, bad) = r.next_record().unwrap().unwrap();
        assert_eq!(l4, 4);
        assert!(bad.unwrap_err().malformed);
        assert!(r.next_record().unwrap().is_none());
    }

    #[test]
    fn derived_fields_are_written_after_the_record() {
        let a = parse_line(FULL, 1).unwrap();
        let d = Derived {
            member: Some(12),
            team: true,
            bot: false,
            inferred_thread: true,
            ..Derived::default()
        };
        let line = to_line(&a, Some(&d));
        assert!(
            line.ends_with(
                r#""attrs":{"likes":3},"member":12,"team":true,"bot":false,"inferred_thread":true}"#
            ),
            "{line}"
        );
        // And reading it back ignores them.
        assert_eq!(parse_line(&line, 1).unwrap(), a);
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        fn opt_text() -> impl Strategy<Value = Option<String>> {
            proptest::option::of(any::<String>())
        }

        prop_compose! {
            fn activity()(
                id in "[a-z0-9:_-]{1,12}",
                kind in 0u8..13,
                secs in -2_000_000_000i64..4_000_000_000,
                micros in 0u32..1_000_000,
                offset in -1439i16..1440,
                author_id in proptest::option::of("[^\u{0}]{1,8}"),
                name in opt_text(),
                channel in opt_text(),
                text in opt_text(),
                to in proptest::collection::vec(any::<String>(), 0..3),
                flag in any::<Option<bool>>(),
            ) -> Activity {
                let mut a = Activity::new("src", id, Kind::from_code(kind).unwrap(), Timestamp { secs, micros, offset_min: offset }, author_id.map(|id| Author { id, name, team: flag, ..Author::default() }));
                a.channel = channel;
                a.text = text;
                a.to = to;
                if let Some(f) = flag { a.attrs.insert("f".into(), Value::Bool(f)); }
                a
            }
        }

        proptest! {
            #[test]
            fn write_then_read_is_identity(a in activity()) {
                let line = to_line(&a, None);
                let back = parse_line(&line, 1).unwrap();
                prop_assert_eq!(&back, &a);
                prop_assert_eq!(back.ts.to_string(), a.ts.to_string());
            }

            #[test]
            fn no_input_panics(s in any::<String>()) {
                let _ = parse_line(&s, 1);
            }
        }
    }
}
