//! Streaming JSON for the exports whose files are big arrays (Slack day files, Discord and
//! Telegram messages, GitHub pages). A small scanner (strings, escapes and nesting only) cuts
//! each element out of the input and serde_json parses it from that slice, so memory holds one
//! element at a time, never the file, and serde parses from memory (several times faster than
//! byte by byte through a reader). Positions are counted while scanning: an element knows the
//! line it starts on, and a syntax error inside it is reported at its place in the file.
//!
//! A syntax error (invalid JSON, a file cut mid-record) is fatal and becomes
//! [`ImportError::Malformed`] with the line and column; a well-formed element of the wrong
//! shape is the format's business (usually a skipped record).

use std::fmt;
use std::io::BufRead;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde_json::{Map, Value};

use crate::ImportError;

/// Objects nested deeper than this in the walked structure are refused (serde_json's own
/// limit inside an element is 128).
const MAX_WALK_DEPTH: usize = 64;

/// Reads a file whose top level is an array, handing each element with its starting line to
/// `each`.
pub(crate) fn for_each_element<R: BufRead>(
    reader: R,
    file: &str,
    expected: &str,
    each: &mut dyn FnMut(u64, Value),
) -> Result<(), ImportError> {
    let mut s = Scanner::new(reader, file, expected);
    s.skip_bom()?;
    match s.skip_ws()? {
        None => return Err(s.error("the file is empty")),
        Some(b'[') => s.array(None, &mut |_, line, v| each(line, v))?,
        Some(_) => return Err(s.error("expected an array")),
    }
    s.end()
}

/// What [`walk_object`] reports while walking an object: its small fields, the elements of the
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
/// hand over whole (`fields`; all others are checked and skipped without being kept).
pub(crate) struct Shape {
    pub(crate) streamed: &'static [&'static str],
    pub(crate) nested: &'static [&'static str],
    pub(crate) fields: &'static [&'static str],
}

/// Walks the value at the top of `reader` by `shape`: an object, or an array of objects each
/// walked in turn; anything else where an object is expected (a `null` list) is skipped.
pub(crate) fn walk_object<R: BufRead>(
    reader: R,
    file: &str,
    expected: &str,
    shape: &Shape,
    each: &mut dyn FnMut(Event<'_>),
) -> Result<(), ImportError> {
    let mut s = Scanner::new(reader, file, expected);
    s.skip_bom()?;
    if s.skip_ws()?.is_none() {
        return Err(s.error("the file is empty"));
    }
    s.walk(shape, 0, each)?;
    s.end()
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

/// Cuts JSON values out of a reader (see the module's documentation).
pub(crate) struct Scanner<'a, R> {
    reader: R,
    file: &'a str,
    expected: &'a str,
    /// Position of the next unread byte (1-based; columns count bytes).
    line: u64,
    column: usize,
    element: Vec<u8>,
}

impl<'a, R: BufRead> Scanner<'a, R> {
    pub(crate) fn new(reader: R, file: &'a str, expected: &'a str) -> Scanner<'a, R> {
        Scanner {
            reader,
            file,
            expected,
            line: 1,
            column: 1,
            element: Vec::new(),
        }
    }

    pub(crate) fn error(&self, what: &str) -> ImportError {
        ImportError::Malformed {
            file: self.file.to_owned(),
            line: self.line,
            column: self.column,
            message: format!("{what}; expected {}", self.expected),
        }
    }

    pub(crate) fn skip_bom(&mut self) -> Result<(), ImportError> {
        if fill(&mut self.reader, self.file, self.line, self.column)?.starts_with(b"\xef\xbb\xbf") {
            self.reader.consume(3);
        }
        Ok(())
    }

    /// Consumes `n` bytes known to hold no newline.
    pub(crate) fn advance(&mut self, n: usize) {
        self.reader.consume(n);
        self.column += n;
    }

    /// Skips whitespace and returns the next byte without consuming it (`None` at the end).
    pub(crate) fn skip_ws(&mut self) -> Result<Option<u8>, ImportError> {
        loop {
            let (mut line, mut column) = (self.line, self.column);
            let buf = fill(&mut self.reader, self.file, self.line, self.column)?;
            if buf.is_empty() {
                return Ok(None);
            }
            let mut n = 0;
            let mut found = None;
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

    /// Only whitespace may follow the top-level value.
    pub(crate) fn end(&mut self) -> Result<(), ImportError> {
        match self.skip_ws()? {
            None => Ok(()),
            Some(_) => Err(self.error("trailing characters after the top-level value")),
        }
    }

    /// Cuts the value starting at the next byte (not whitespace) into `self.element`; returns
    /// where it starts.
    fn raw_value(&mut self) -> Result<(u64, usize), ImportError> {
        let start = (self.line, self.column);
        self.element.clear();
        let mut depth: usize = 0;
        let mut in_string = false;
        let mut escaped = false;
        let mut first = true;
        let mut scalar = false;
        loop {
            let (mut line, mut column) = (self.line, self.column);
            let buf = fill(&mut self.reader, self.file, self.line, self.column)?;
            if buf.is_empty() {
                if scalar && depth == 0 {
                    return Ok(start);
                }
                return Err(self.error("the file ends inside a value (cut short?)"));
            }
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
                    if matches!(b, b',' | b']' | b'}' | b':' | b' ' | b'\t' | b'\r' | b'\n') {
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
                return Ok(start);
            }
        }
    }

    /// A serde error inside the element that started at `start`, at its place in the file.
    fn parse_error(&self, e: &serde_json::Error, start: (u64, usize)) -> ImportError {
        let text = e.to_string();
        let text = text
            .rsplit_once(" at line ")
            .map_or(text.as_str(), |(head, _)| head);
        let line = start.0 + (e.line() as u64).saturating_sub(1);
        let column = if e.line() <= 1 {
            start.1 + e.column().saturating_sub(1)
        } else {
            e.column()
        };
        ImportError::Malformed {
            file: self.file.to_owned(),
            line,
            column,
            message: format!("{text}; expected {}", self.expected),
        }
    }

    /// The value starting at the next byte, parsed, with the line it starts on. An object
    /// keeps only the fields named in `keep` when given.
    pub(crate) fn value(&mut self, keep: Option<&[&str]>) -> Result<(u64, Value), ImportError> {
        let start = self.raw_value()?;
        match parse(&self.element, keep) {
            Ok(v) => Ok((start.0, v)),
            Err(e) => Err(self.parse_error(&e, start)),
        }
    }

    /// Checks and skips the value starting at the next byte.
    fn skip_value(&mut self) -> Result<(), ImportError> {
        let start = self.raw_value()?;
        serde_json::from_slice::<IgnoredAny>(&self.element)
            .map(drop)
            .map_err(|e| self.parse_error(&e, start))
    }

    /// The array starting at the next byte (`[`): each element with its index and line.
    pub(crate) fn array(
        &mut self,
        keep: Option<&[&str]>,
        each: &mut dyn FnMut(usize, u64, Value),
    ) -> Result<(), ImportError> {
        self.advance(1);
        let mut index = 0;
        loop {
            match self.skip_ws()? {
                None => return Err(self.error("the file ends inside an array")),
                Some(b']') if index == 0 => {
                    self.advance(1);
                    return Ok(());
                }
                Some(_) => {}
            }
            let (line, value) = self.value(keep)?;
            each(index, line, value);
            index += 1;
            match self.skip_ws()? {
                Some(b',') => self.advance(1),
                Some(b']') => {
                    self.advance(1);
                    return Ok(());
                }
                Some(_) => return Err(self.error("expected `,` or `]` after an array element")),
                None => return Err(self.error("the file ends inside an array")),
            }
        }
    }

    /// Walks the value at the next byte by `shape` (see [`walk_object`]).
    fn walk(
        &mut self,
        shape: &Shape,
        depth: usize,
        each: &mut dyn FnMut(Event<'_>),
    ) -> Result<(), ImportError> {
        if depth > MAX_WALK_DEPTH {
            return Err(self.error("objects nested too deeply"));
        }
        match self.skip_ws()? {
            None => Err(self.error("the file ends where a value was expected")),
            Some(b'{') => {
                self.advance(1);
                each(Event::Begin { depth });
                if self.skip_ws()? == Some(b'}') {
                    self.advance(1);
                } else {
                    loop {
                        if self.skip_ws()? != Some(b'"') {
                            return Err(self.error("expected a field name in quotes"));
                        }
                        let (_, key) = self.value(None)?;
                        let Value::String(key) = key else {
                            return Err(self.error("expected a field name in quotes"));
                        };
                        if self.skip_ws()? != Some(b':') {
                            return Err(self.error("expected `:` after a field name"));
                        }
                        self.advance(1);
                        match self.skip_ws()? {
                            None => return Err(self.error("the file ends inside an object")),
                            Some(b) if shape.streamed.contains(&key.as_str()) => {
                                if b != b'[' {
                                    return Err(self.error(&format!("`{key}` is not an array")));
                                }
                                self.array(None, &mut |_, line, value| {
                                    each(Event::Element { line, value })
                                })?;
                            }
                            Some(_) if shape.nested.contains(&key.as_str()) => {
                                self.walk(shape, depth + 1, each)?;
                            }
                            Some(_) if shape.fields.contains(&key.as_str()) => {
                                let (_, value) = self.value(None)?;
                                each(Event::Field {
                                    depth,
                                    key: &key,
                                    value,
                                });
                            }
                            Some(_) => self.skip_value()?,
                        }
                        match self.skip_ws()? {
                            Some(b',') => self.advance(1),
                            Some(b'}') => {
                                self.advance(1);
                                break;
                            }
                            Some(_) => {
                                return Err(self.error("expected `,` or `}` after a field"));
                            }
                            None => return Err(self.error("the file ends inside an object")),
                        }
                    }
                }
                each(Event::End { depth });
                Ok(())
            }
            Some(b'[') => {
                // An array of nested objects: each is walked in turn at this depth.
                self.advance(1);
                if self.skip_ws()? == Some(b']') {
                    self.advance(1);
                    return Ok(());
                }
                loop {
                    self.walk(shape, depth, each)?;
                    match self.skip_ws()? {
                        Some(b',') => self.advance(1),
                        Some(b']') => {
                            self.advance(1);
                            return Ok(());
                        }
                        Some(_) => {
                            return Err(self.error("expected `,` or `]` after an array element"));
                        }
                        None => return Err(self.error("the file ends inside an array")),
                    }
                }
            }
            Some(_) => self.skip_value(),
        }
    }
}

/// Parses one element; an object keeps only the fields named in `keep` when given.
fn parse(bytes: &[u8], keep: Option<&[&str]>) -> Result<Value, serde_json::Error> {
    let Some(keep) = keep.filter(|_| bytes.first() == Some(&b'{')) else {
        return serde_json::from_slice(bytes);
    };
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

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
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

#[cfg(test)]
mod walk_tests {
    use super::*;

    const SHAPE: Shape = Shape {
        streamed: &["messages"],
        nested: &["chats", "list"],
        fields: &["name"],
    };

    /// The events of walking `text`, as short strings.
    fn walk(text: &str) -> Result<Vec<String>, ImportError> {
        let mut out = Vec::new();
        walk_object(text.as_bytes(), "f.json", "a test", &SHAPE, &mut |e| {
            out.push(match e {
                Event::Field { depth, key, value } => format!("field {depth} {key}={value}"),
                Event::Element { line, value } => format!("element {line} {value}"),
                Event::Begin { depth } => format!("begin {depth}"),
                Event::End { depth } => format!("end {depth}"),
            })
        })?;
        Ok(out)
    }

    fn malformed_at(text: &str) -> (u64, usize, String) {
        match walk(text) {
            Err(ImportError::Malformed {
                line,
                column,
                message,
                ..
            }) => (line, column, message),
            other => panic!("{text:?}: expected malformed, got {other:?}"),
        }
    }

    #[test]
    fn fields_elements_and_nested_objects_are_reported_in_order() {
        let text = "{\"skip\": {\"x\": [1, \"]\"]},\n \"name\": \"a\\\"b\",\n \"messages\": [\n  {\"id\": 1},\n  2],\n \"chats\": {\"list\": [{\"name\": \"c\", \"messages\": []}, null]}}";
        assert_eq!(
            walk(text).unwrap(),
            [
                "begin 0",
                "field 0 name=\"a\\\"b\"",
                "element 4 {\"id\":1}",
                "element 5 2",
                "begin 1",
                "begin 2",
                "field 2 name=\"c\"",
                "end 2",
                "end 1",
                "end 0"
            ]
        );
        assert_eq!(walk("[{}, 3]").unwrap(), ["begin 0", "end 0"]);
        assert!(walk("null").unwrap().is_empty());
    }

    #[test]
    fn syntax_errors_anywhere_are_malformed_at_their_place() {
        // Inside a skipped field, inside an element, after the value, cut short.
        assert_eq!(malformed_at("{\"skip\": [1,,2]}").0, 1);
        let (line, column, _) = malformed_at("{\"messages\": [\n  {\"id\": 1,}]}");
        assert_eq!((line, column), (2, 12));
        assert!(malformed_at("{} x").2.contains("trailing characters"));
        assert!(
            malformed_at("{\"messages\": [{\"id\": 1}")
                .2
                .contains("ends inside")
        );
        assert!(malformed_at("{\"messages\": 5}").2.contains("not an array"));
        assert!(malformed_at("{\"name\" 5}").2.contains("`:`"));
        assert!(malformed_at("{5: 1}").2.contains("field name"));
        assert!(malformed_at("").2.contains("empty"));
    }

    #[test]
    fn nesting_is_bounded() {
        let deep = "{\"chats\": ".repeat(100) + "{}" + &"}".repeat(100);
        assert!(malformed_at(&deep).2.contains("nested too deeply"));
    }
}
