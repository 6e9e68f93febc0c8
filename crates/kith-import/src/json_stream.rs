//! Streaming JSON for the chat exports (Slack, Discord, Telegram): the big arrays of messages are
//! walked element by element with serde's `SeqAccess`, each element parsed on its own as a
//! [`serde_json::Value`] and handed on with the line it starts on, so memory holds one message
//! at a time, never the file.
//!
//! A syntax error (invalid JSON, a file cut mid-record) is fatal and becomes
//! [`ImportError::Malformed`] with serde's line and column; a well-formed element of the wrong
//! shape is the format's business (usually a skipped record).

use std::cell::Cell;
use std::fmt;
use std::io::{self, BufRead, Read};
use std::rc::Rc;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use crate::ImportError;

/// Counts newlines in the bytes serde has consumed, so each element knows its line.
pub(crate) struct LineCounter<R> {
    inner: R,
    newlines: Rc<Cell<u64>>,
}

impl<R: BufRead> LineCounter<R> {
    pub(crate) fn new(inner: R) -> (LineCounter<R>, Lines) {
        let newlines = Rc::new(Cell::new(0));
        (
            LineCounter {
                inner,
                newlines: Rc::clone(&newlines),
            },
            Lines(newlines),
        )
    }
}

impl<R: BufRead> Read for LineCounter<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // serde_json reads one byte at a time: serve those from the buffer directly.
        if buf.len() == 1 {
            let available = self.inner.fill_buf()?;
            let Some(&b) = available.first() else {
                return Ok(0);
            };
            buf[0] = b;
            self.inner.consume(1);
            if b == b'\n' {
                self.newlines.set(self.newlines.get() + 1);
            }
            return Ok(1);
        }
        let n = self.inner.read(buf)?;
        let count = buf[..n].iter().filter(|&&b| b == b'\n').count() as u64;
        self.newlines.set(self.newlines.get() + count);
        Ok(n)
    }
}

/// The current 1-based line of a [`LineCounter`].
#[derive(Clone)]
pub(crate) struct Lines(Rc<Cell<u64>>);

impl Lines {
    pub(crate) fn current(&self) -> u64 {
        self.0.get() + 1
    }
}

/// Turns a serde_json error on `file` into [`ImportError::Malformed`], saying what was expected.
pub(crate) fn malformed(file: &str, e: &serde_json::Error, expected: &str) -> ImportError {
    let text = e.to_string();
    let text = text
        .rsplit_once(" at line ")
        .map_or(text.as_str(), |(head, _)| head);
    ImportError::Malformed {
        file: file.to_owned(),
        line: e.line() as u64,
        column: e.column(),
        message: format!("{text}; expected {expected}"),
    }
}

/// Reads a file whose top level is an array, handing each element with its starting line to
/// `each`. An I/O error is reported as `Io`.
pub(crate) fn for_each_element<R: BufRead>(
    reader: R,
    file: &str,
    expected: &str,
    each: &mut dyn FnMut(u64, Value),
) -> Result<(), ImportError> {
    let (counter, lines) = LineCounter::new(reader);
    let mut de = serde_json::Deserializer::from_reader(counter);
    let result = Elements {
        lines: &lines,
        each,
    }
    .deserialize(&mut de)
    .and_then(|()| de.end());
    result.map_err(|e| io_or_malformed(file, &e, expected))
}

pub(crate) fn io_or_malformed(file: &str, e: &serde_json::Error, expected: &str) -> ImportError {
    if e.is_io() {
        return ImportError::Malformed {
            file: file.to_owned(),
            line: e.line() as u64,
            column: e.column(),
            message: format!("cannot be read: {e}"),
        };
    }
    malformed(file, e, expected)
}

/// A seed for an array whose elements go to `each` with their line.
pub(crate) struct Elements<'a> {
    pub(crate) lines: &'a Lines,
    pub(crate) each: &'a mut dyn FnMut(u64, Value),
}

impl<'de> DeserializeSeed<'de> for Elements<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Elements<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        // serde_json has already read the element's first byte when it calls the seed, so the
        // line counted then is the line the element starts on.
        while let Some((line, value)) = seq.next_element_seed(WithLine(self.lines))? {
            (self.each)(line, value);
        }
        Ok(())
    }
}

struct WithLine<'a>(&'a Lines);

impl<'de> DeserializeSeed<'de> for WithLine<'_> {
    type Value = (u64, Value);

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<(u64, Value), D::Error> {
        let line = self.0.current();
        let value = <Value as de::Deserialize>::deserialize(deserializer)?;
        Ok((line, value))
    }
}

/// What [`Objects`] reports while walking an object: its small fields, the elements of the
/// arrays named in `streamed`, and (for nested objects named in `nested`) where they begin and
/// end.
pub(crate) enum Event<'k> {
    /// A field of the object at `depth` (0 = top level) that is not streamed.
    Field {
        depth: usize,
        key: &'k str,
        value: Value,
    },
    /// One element of a streamed array.
    Element {
        line: u64,
        value: Value,
    },
    /// A nested object starts (an element of an array named in `nested`).
    Begin {
        depth: usize,
    },
    End {
        depth: usize,
    },
}

/// How to walk an object: which keys hold big arrays to stream (`streamed`), which hold arrays
/// of objects (or objects) to walk in turn (`nested`), and which fields are small enough to
/// hand over whole (`fields`; all others are skipped without being kept).
pub(crate) struct Shape {
    pub(crate) streamed: &'static [&'static str],
    pub(crate) nested: &'static [&'static str],
    pub(crate) fields: &'static [&'static str],
}

/// A seed for an object walked by [`Shape`], reporting [`Event`]s.
pub(crate) struct Objects<'a> {
    pub(crate) shape: &'a Shape,
    pub(crate) depth: usize,
    pub(crate) lines: &'a Lines,
    pub(crate) each: &'a mut dyn FnMut(Event<'_>),
}

impl<'de> DeserializeSeed<'de> for Objects<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Objects<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object or an array of objects")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let Objects {
            shape,
            depth,
            lines,
            each,
        } = self;
        (each)(Event::Begin { depth });
        while let Some(key) = map.next_key::<String>()? {
            if shape.streamed.contains(&key.as_str()) {
                let mut forward = |line: u64, value: Value| (each)(Event::Element { line, value });
                map.next_value_seed(Elements {
                    lines,
                    each: &mut forward,
                })?;
            } else if shape.nested.contains(&key.as_str()) {
                map.next_value_seed(Objects {
                    shape,
                    depth: depth + 1,
                    lines,
                    each: &mut *each,
                })?;
            } else if shape.fields.contains(&key.as_str()) {
                let value = map.next_value::<Value>()?;
                (each)(Event::Field {
                    depth,
                    key: &key,
                    value,
                });
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        (each)(Event::End { depth });
        Ok(())
    }

    /// An array of nested objects: each is walked in turn at this depth.
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let Objects {
            shape,
            depth,
            lines,
            each,
        } = self;
        while seq
            .next_element_seed(Objects {
                shape,
                depth,
                lines,
                each: &mut *each,
            })?
            .is_some()
        {}
        Ok(())
    }

    // Anything else where an object was expected is ignored (a `null` list, say).
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
}

/// Walks the object at the top of `reader` by `shape`.
pub(crate) fn walk_object<R: BufRead>(
    reader: R,
    file: &str,
    expected: &str,
    shape: &Shape,
    each: &mut dyn FnMut(Event<'_>),
) -> Result<(), ImportError> {
    let (counter, lines) = LineCounter::new(reader);
    let mut de = serde_json::Deserializer::from_reader(counter);
    let result = Objects {
        shape,
        depth: 0,
        lines: &lines,
        each,
    }
    .deserialize(&mut de)
    .and_then(|()| de.end());
    result.map_err(|e| io_or_malformed(file, &e, expected))
}

/// Small helpers over `Value` used by the chat formats.
pub(crate) fn str_of<'v>(v: &'v Value, key: &str) -> Option<&'v str> {
    v.get(key).and_then(Value::as_str)
}

/// A string or a number as text (ids are written both ways by different exporters).
pub(crate) fn id_of(v: &Value, key: &str) -> Option<String> {
    match v.get(key)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The line each element of the array at `path` (keys from the top-level object down) starts
/// on, for a document parsed whole with serde (which keeps no positions), so that a skipped
/// element can be listed with its line. Meant for text serde has accepted; on anything else
/// it stops early and returns what it found, never panicking.
pub(crate) fn array_element_lines(bytes: &[u8], path: &[&str]) -> Vec<u64> {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let mut scan = LineScan {
        bytes,
        at: 0,
        line: 1,
        depth: 0,
    };
    let mut out = Vec::new();
    let _ = scan.value(Some(path), &mut out);
    out
}

/// Deeper than serde_json's own limit (128): not a document serde accepted.
const MAX_DEPTH: usize = 256;

struct LineScan<'a> {
    bytes: &'a [u8],
    at: usize,
    line: u64,
    depth: usize,
}

impl LineScan<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn bump(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.at += 1;
        if b == b'\n' {
            self.line += 1;
        }
        Some(b)
    }

    fn ws(&mut self) -> Option<u8> {
        while let Some(b) = self.peek() {
            if matches!(b, b' ' | b'\t' | b'\r' | b'\n') {
                self.bump();
            } else {
                return Some(b);
            }
        }
        None
    }

    /// Skips a string (the opening quote is next); returns its raw bytes.
    fn string(&mut self) -> Option<&[u8]> {
        self.bump()?;
        let start = self.at;
        loop {
            match self.bump()? {
                b'"' => return self.bytes.get(start..self.at - 1),
                b'\\' => {
                    self.bump()?;
                }
                _ => {}
            }
        }
    }

    /// Skips one value. `path` is `Some(rest)` while the value lies on the way to the wanted
    /// array: `Some([])` is that array, whose element lines go to `out`.
    fn value(&mut self, path: Option<&[&str]>, out: &mut Vec<u64>) -> Option<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return None;
        }
        match self.ws()? {
            b'{' => {
                self.bump();
                loop {
                    if self.ws()? == b'}' {
                        self.bump();
                        break;
                    }
                    let key = self.string()?;
                    let next = match path {
                        Some([first, rest @ ..]) if key == first.as_bytes() => Some(rest),
                        _ => None,
                    };
                    if self.ws()? != b':' {
                        return None;
                    }
                    self.bump();
                    self.value(next, out)?;
                    match self.ws()? {
                        b',' => {
                            self.bump();
                        }
                        b'}' => {
                            self.bump();
                            break;
                        }
                        _ => return None,
                    }
                }
            }
            b'[' => {
                self.bump();
                let wanted = path.is_some_and(<[&str]>::is_empty);
                loop {
                    if self.ws()? == b']' {
                        self.bump();
                        break;
                    }
                    if wanted {
                        out.push(self.line);
                    }
                    self.value(None, out)?;
                    match self.ws()? {
                        b',' => {
                            self.bump();
                        }
                        b']' => {
                            self.bump();
                            break;
                        }
                        _ => return None,
                    }
                }
            }
            b'"' => {
                self.string()?;
            }
            _ => {
                while self.peek().is_some_and(|b| {
                    !matches!(b, b',' | b'}' | b']' | b' ' | b'\t' | b'\r' | b'\n')
                }) {
                    self.bump();
                }
            }
        }
        self.depth -= 1;
        Some(())
    }
}

#[cfg(test)]
mod line_tests {
    use super::array_element_lines;

    #[test]
    fn elements_of_the_array_at_a_path_know_their_lines() {
        let doc = b"{\"a\": [1],\n \"post_stream\": {\"stream\": [9],\n  \"posts\": [\n    {\"id\": 1, \"s\": \"x\\\"]\"},\n    {\"id\": 2,\n\"posts\": [5]}\n  ]}}";
        assert_eq!(array_element_lines(doc, &["post_stream", "posts"]), [4, 5]);
        assert_eq!(array_element_lines(doc, &["a"]), [1]);
        assert!(array_element_lines(doc, &["nope"]).is_empty());
        assert!(array_element_lines(b"[[[[", &["a"]).is_empty());
        assert!(array_element_lines(b"", &[]).is_empty());
        assert_eq!(array_element_lines(b"\xef\xbb\xbf[1,\n2]", &[]), [1, 2]);
    }
}
