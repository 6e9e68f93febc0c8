//! A saved API response is an array of objects (a page) or one object (`/pulls/<n>`). Arrays
//! are cut into their elements by a small scanner (strings, escapes and nesting only) and each
//! element is parsed on its own from a slice, so memory holds one object at a time, never the
//! page, and serde_json parses from memory (several times faster than byte by byte through a
//! reader).
//!
//! Positions are counted while scanning: an element knows the line it starts on, and a syntax
//! error inside it is reported at its place in the file.

use std::io::BufRead;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde_json::{Map, Value};

use crate::ImportError;

/// Hands each top-level value (of an object, only the fields named in `keep`: the rest are
/// skipped without being built) to `each` with its index in the array (`None` for a top-level
/// value that is not an array) and the line it starts on. A syntax error is
/// [`ImportError::Malformed`] naming `file`, the line, the column and `expected`.
pub(super) fn each_value<R: BufRead>(
    reader: R,
    file: &str,
    expected: &str,
    keep: &[&str],
    each: &mut dyn FnMut(Option<usize>, u64, Value),
) -> Result<(), ImportError> {
    let mut s = Scanner {
        reader,
        file,
        expected,
        keep,
        line: 1,
        column: 1,
        element: Vec::new(),
    };
    s.skip_bom()?;
    match s.skip_ws()? {
        None => return Err(s.error("the file is empty")),
        Some(b'[') => {
            s.advance(1)?;
            let mut index = 0;
            loop {
                match s.skip_ws()? {
                    None => return Err(s.error("the file ends inside the array")),
                    Some(b']') if index == 0 => {
                        s.advance(1)?;
                        break;
                    }
                    Some(_) => {}
                }
                let (line, value) = s.value()?;
                each(Some(index), line, value);
                index += 1;
                match s.skip_ws()? {
                    Some(b',') => s.advance(1)?,
                    Some(b']') => {
                        s.advance(1)?;
                        break;
                    }
                    Some(_) => return Err(s.error("expected `,` or `]` after an array element")),
                    None => return Err(s.error("the file ends inside the array")),
                }
            }
        }
        Some(_) => {
            let (line, value) = s.value()?;
            each(None, line, value);
        }
    }
    match s.skip_ws()? {
        None => Ok(()),
        Some(_) => Err(s.error("trailing characters after the top-level value")),
    }
}

fn fill<'r, R: BufRead>(
    reader: &'r mut R,
    file: &str,
    line: u64,
    column: usize,
) -> Result<&'r [u8], ImportError> {
    reader.fill_buf().map_err(|e| ImportError::Malformed {
        file: file.to_owned(),
        line,
        column,
        message: format!("cannot be read: {e}"),
    })
}

struct Scanner<'a, R> {
    reader: R,
    file: &'a str,
    expected: &'a str,
    keep: &'a [&'a str],
    /// Position of the next unread byte (1-based; columns count bytes).
    line: u64,
    column: usize,
    element: Vec<u8>,
}

impl<R: BufRead> Scanner<'_, R> {
    fn error(&self, what: &str) -> ImportError {
        ImportError::Malformed {
            file: self.file.to_owned(),
            line: self.line,
            column: self.column,
            message: format!("{what}; expected {}", self.expected),
        }
    }

    fn skip_bom(&mut self) -> Result<(), ImportError> {
        if fill(&mut self.reader, self.file, self.line, self.column)?.starts_with(b"\xef\xbb\xbf") {
            self.reader.consume(3);
        }
        Ok(())
    }

    /// Consumes `n` bytes known to hold no newline.
    fn advance(&mut self, n: usize) -> Result<(), ImportError> {
        self.reader.consume(n);
        self.column += n;
        Ok(())
    }

    /// Skips whitespace and returns the next byte without consuming it (`None` at the end).
    fn skip_ws(&mut self) -> Result<Option<u8>, ImportError> {
        loop {
            let buf = fill(&mut self.reader, self.file, self.line, self.column)?;
            if buf.is_empty() {
                return Ok(None);
            }
            let mut n = 0;
            let mut found = None;
            let (mut line, mut column) = (self.line, self.column);
            for &b in buf {
                match b {
                    b'\n' => {
                        line += 1;
                        column = 1;
                    }
                    b' ' | b'\t' | b'\r' => column += 1,
                    _ => {
                        found = Some(b);
                        break;
                    }
                }
                n += 1;
            }
            self.reader.consume(n);
            (self.line, self.column) = (line, column);
            if found.is_some() {
                return Ok(found);
            }
        }
    }

    /// Reads one JSON value starting at the next byte (not whitespace) and parses it.
    fn value(&mut self) -> Result<(u64, Value), ImportError> {
        let (start_line, start_column) = (self.line, self.column);
        self.element.clear();
        let mut depth: usize = 0;
        let mut in_string = false;
        let mut escaped = false;
        let mut first = true;
        let mut scalar = false;
        'outer: loop {
            let buf = fill(&mut self.reader, self.file, self.line, self.column)?;
            if buf.is_empty() {
                if scalar && depth == 0 {
                    break;
                }
                return Err(self.error("the file ends inside a value (cut short?)"));
            }
            let (mut line, mut column) = (self.line, self.column);
            let mut n = 0;
            let mut done = false;
            for &b in buf {
                if first {
                    first = false;
                    match b {
                        b'{' | b'[' => depth = 1,
                        b'"' => in_string = true,
                        _ => scalar = true,
                    }
                    n += 1;
                    column += 1;
                    continue;
                }
                if in_string {
                    if escaped {
                        escaped = false;
                    } else if b == b'\\' {
                        escaped = true;
                    } else if b == b'"' {
                        in_string = false;
                        if depth == 0 {
                            n += 1;
                            column += 1;
                            done = true;
                            break;
                        }
                    }
                } else if scalar {
                    if matches!(b, b',' | b']' | b'}' | b' ' | b'\t' | b'\r' | b'\n') {
                        done = true;
                        break;
                    }
                } else {
                    match b {
                        b'"' => in_string = true,
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth -= 1;
                            if depth == 0 {
                                n += 1;
                                column += 1;
                                done = true;
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                if b == b'\n' {
                    line += 1;
                    column = 1;
                } else {
                    column += 1;
                }
                n += 1;
            }
            self.element.extend_from_slice(&buf[..n]);
            self.reader.consume(n);
            (self.line, self.column) = (line, column);
            if done {
                break 'outer;
            }
        }
        match parse(&self.element, self.keep) {
            Ok(v) => Ok((start_line, v)),
            Err(e) => {
                let text = e.to_string();
                let text = text
                    .rsplit_once(" at line ")
                    .map_or(text.as_str(), |(head, _)| head);
                let line = start_line + (e.line() as u64).saturating_sub(1);
                let column = if e.line() <= 1 {
                    start_column + e.column().saturating_sub(1)
                } else {
                    e.column()
                };
                Err(ImportError::Malformed {
                    file: self.file.to_owned(),
                    line,
                    column,
                    message: format!("{text}; expected {}", self.expected),
                })
            }
        }
    }
}

/// Parses one element; an object keeps only the fields named in `keep`.
fn parse(bytes: &[u8], keep: &[&str]) -> Result<Value, serde_json::Error> {
    if bytes.first() != Some(&b'{') {
        return serde_json::from_slice(bytes);
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = Kept(keep).deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}

struct Kept<'k>(&'k [&'k str]);

impl<'de> DeserializeSeed<'de> for Kept<'_> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Kept<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if self.0.contains(&key.as_ref()) {
                let value = map.next_value::<Value>()?;
                out.insert(key.into_owned(), value);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(Value::Object(out))
    }
}
