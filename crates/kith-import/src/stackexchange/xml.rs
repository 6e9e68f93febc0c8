//! Streaming `<root><row .../>...</root>` reading with line numbers. The DOCTYPE line of the
//! dumps is skipped, never resolved; the byte-order mark is dropped.

use std::borrow::Cow;
use std::io::{BufRead, Read};
use std::ops::Range;

use quick_xml::XmlVersion;
use quick_xml::events::Event;
use quick_xml::events::attributes::{Attribute, Attributes};
use quick_xml::name::QName;

use crate::ImportError;

/// Counts the newlines of every byte the XML reader consumes, so that an event's line is
/// known without scanning anything twice.
struct LineCounter<R> {
    inner: R,
    newlines: u64,
}

impl<R: BufRead> Read for LineCounter<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.newlines += buf[..n].iter().filter(|&&b| b == b'\n').count() as u64;
        Ok(n)
    }
}

impl<R: BufRead> BufRead for LineCounter<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, amt: usize) {
        if amt > 0 {
            // The data is still buffered: fill_buf returns it without reading.
            if let Ok(buf) = self.inner.fill_buf() {
                let end = amt.min(buf.len());
                self.newlines += buf[..end].iter().filter(|&&b| b == b'\n').count() as u64;
            }
        }
        self.inner.consume(amt);
    }
}

/// One `<row>` element. Its attributes are split once, when the row is read; their values are
/// unescaped when asked for.
pub struct Row {
    /// 1-based line where the element starts.
    pub line: u64,
    raw: String,
    /// Key and value of each attribute in document order, as byte ranges of `raw`, up to the
    /// first that cannot be read.
    attrs: Vec<(Range<usize>, Range<usize>)>,
    /// Why the attribute after the last in `attrs` cannot be read (a duplicate, a missing
    /// quote...).
    error: Option<String>,
}

impl Row {
    fn new(line: u64, raw: String) -> Self {
        let mut attrs = Vec::with_capacity(12);
        let mut error = None;
        let base = raw.as_ptr() as usize;
        let offset = |s: &str| s.as_ptr() as usize - base;
        let mut iter = Attributes::new(&raw, 0);
        iter.with_checks(true);
        for attr in iter {
            match attr {
                Ok(Attribute {
                    key: QName(key),
                    value: Cow::Borrowed(value),
                }) => {
                    let (k, v) = (offset(key), offset(value));
                    attrs.push((k..k + key.len(), v..v + value.len()));
                }
                // The iterator over a `&str` always borrows; an owned value cannot be placed.
                Ok(Attribute {
                    key: QName(key), ..
                }) => {
                    error = Some(format!("unreadable attributes: the value of `{key}`"));
                    break;
                }
                Err(e) => {
                    error = Some(format!("unreadable attributes: {e}"));
                    break;
                }
            }
        }
        Row {
            line,
            raw,
            attrs,
            error,
        }
    }

    fn value(&self, key: &Range<usize>, value: &Range<usize>) -> Result<Cow<'_, str>, String> {
        let key = &self.raw[key.clone()];
        Attribute {
            key: QName(key),
            value: Cow::Borrowed(&self.raw[value.clone()]),
        }
        .normalized_value(XmlVersion::Implicit1_0)
        .map_err(|e| format!("attribute `{key}`: {e}"))
    }

    /// The value of attribute `key`, entity references resolved. An attribute that cannot be
    /// read (a broken entity, a duplicate) before `key` is an error for this row.
    pub fn get(&self, key: &str) -> Result<Option<Cow<'_, str>>, String> {
        match self.attrs.iter().find(|(k, _)| &self.raw[k.clone()] == key) {
            Some((k, v)) => self.value(k, v).map(Some),
            None => match &self.error {
                Some(e) => Err(e.clone()),
                None => Ok(None),
            },
        }
    }

    /// Every attribute, in document order.
    pub fn all(&self) -> impl Iterator<Item = Result<(&str, Cow<'_, str>), String>> {
        self.attrs
            .iter()
            .map(|(k, v)| Ok((&self.raw[k.clone()], self.value(k, v)?)))
            .chain(self.error.iter().map(|e| Err(e.clone())))
    }
}

#[derive(PartialEq)]
enum State {
    BeforeRoot,
    InRoot,
    /// Inside a `<row>` written with children (depth below the row).
    InRow(u32),
    Done,
}

pub struct RowReader<R: BufRead> {
    reader: quick_xml::Reader<LineCounter<R>>,
    buf: Vec<u8>,
    file: String,
    root: &'static str,
    state: State,
}

impl<R: BufRead> RowReader<R> {
    pub fn new(input: R, file: String, root: &'static str) -> Self {
        let mut reader = quick_xml::Reader::from_reader(LineCounter {
            inner: input,
            newlines: 0,
        });
        reader.config_mut().check_end_names = true;
        RowReader {
            reader,
            buf: Vec::with_capacity(1 << 12),
            file,
            root,
            state: State::BeforeRoot,
        }
    }

    fn line(&self) -> u64 {
        self.reader.get_ref().newlines + 1
    }

    fn malformed(&self, line: u64, message: String) -> ImportError {
        ImportError::Malformed {
            file: self.file.clone(),
            line,
            column: 0,
            message,
        }
    }

    fn expected(&self) -> String {
        match self.state {
            State::BeforeRoot => format!("expected the root element <{}>", self.root),
            State::InRoot => format!("expected a complete <row .../> element or </{}>", self.root),
            State::InRow(_) => "expected the end of the <row> element".into(),
            State::Done => "expected nothing after the root element".into(),
        }
    }

    /// The next row, `None` at the end of the document. A document that is not well-formed,
    /// is cut short, or has another root element is malformed.
    pub fn next_row(&mut self) -> Result<Option<Row>, ImportError> {
        loop {
            // Where this event starts: after everything consumed so far.
            let start_line = self.line();
            self.buf.clear();
            let event = match self.reader.read_event_into(&mut self.buf) {
                Ok(e) => e,
                Err(e) => {
                    let line = self.line();
                    let at = self.reader.error_position();
                    let expected = self.expected();
                    return Err(
                        self.malformed(line, format!("invalid XML at byte {at}: {e}; {expected}"))
                    );
                }
            };
            match (&self.state, event) {
                (_, Event::Decl(_) | Event::DocType(_) | Event::Comment(_) | Event::PI(_)) => {}
                (_, Event::Text(t)) => {
                    if !matches!(self.state, State::InRow(_))
                        && t.xml10_content().chars().any(|c| !c.is_ascii_whitespace())
                    {
                        let expected = self.expected();
                        return Err(
                            self.malformed(start_line, format!("unexpected text; {expected}"))
                        );
                    }
                }
                (_, Event::CData(_) | Event::GeneralRef(_))
                    if matches!(self.state, State::InRow(_)) => {}
                (State::BeforeRoot, Event::Start(e)) if e.name().as_ref() == self.root => {
                    self.state = State::InRoot
                }
                (State::BeforeRoot, Event::Empty(e)) if e.name().as_ref() == self.root => {
                    self.state = State::Done
                }
                (State::InRoot, Event::Empty(e)) if e.name().as_ref() == "row" => {
                    return Ok(Some(Row::new(start_line, e.attributes_raw().to_owned())));
                }
                (State::InRoot, Event::Start(e)) if e.name().as_ref() == "row" => {
                    let row = Row::new(start_line, e.attributes_raw().to_owned());
                    self.state = State::InRow(0);
                    return Ok(Some(row));
                }
                (State::InRoot, Event::End(_)) => self.state = State::Done,
                (State::InRow(d), Event::Start(_)) => self.state = State::InRow(d + 1),
                (State::InRow(_), Event::Empty(_)) => {}
                (State::InRow(0), Event::End(_)) => self.state = State::InRoot,
                (State::InRow(d), Event::End(_)) => self.state = State::InRow(d - 1),
                (State::Done, Event::Eof) => return Ok(None),
                (_, Event::Eof) => {
                    let expected = self.expected();
                    return Err(
                        self.malformed(start_line, format!("the file ends too early; {expected}"))
                    );
                }
                (_, Event::Start(e) | Event::Empty(e)) => {
                    let name = String::from_utf8_lossy(e.name().as_ref().as_bytes()).into_owned();
                    let expected = self.expected();
                    return Err(self.malformed(
                        start_line,
                        format!("unexpected element <{name}>; {expected}"),
                    ));
                }
                (_, other) => {
                    let what = format!("{other:?}");
                    let expected = self.expected();
                    return Err(
                        self.malformed(start_line, format!("unexpected {what}; {expected}"))
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(text: &str) -> Result<Vec<(u64, String)>, ImportError> {
        let mut r = RowReader::new(text.as_bytes(), "Posts.xml".into(), "posts");
        let mut out = Vec::new();
        while let Some(row) = r.next_row()? {
            out.push((
                row.line,
                row.get("Id").unwrap().unwrap_or_default().into_owned(),
            ));
        }
        Ok(out)
    }

    #[test]
    fn bom_and_doctype_are_skipped_and_lines_counted() {
        let text = "\u{feff}<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<!DOCTYPE posts SYSTEM 'posts.dtd'>\n<posts>\n  <row Id=\"1\" />\n\n  <row Id=\"2\" Body=\"a&#xA;b &amp; c\" />\n</posts>\n";
        assert_eq!(rows(text).unwrap(), [(4, "1".into()), (6, "2".into())]);
        let mut r = RowReader::new(text.as_bytes(), "Posts.xml".into(), "posts");
        r.next_row().unwrap();
        let row = r.next_row().unwrap().unwrap();
        assert_eq!(row.get("Body").unwrap().unwrap(), "a\nb & c");
    }

    #[test]
    fn cut_files_name_line_and_what_was_expected() {
        let e = rows("<posts>\n<row Id=\"1\" />\n<row Id=\"2\" Bo")
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 3") && e.contains("<row .../>"), "{e}");
        let e = rows("<posts>\n<row Id=\"1\" />\n").unwrap_err().to_string();
        assert!(
            e.contains("ends too early") && e.contains("</posts>"),
            "{e}"
        );
        let e = rows("<comments>\n</comments>").unwrap_err().to_string();
        assert!(e.contains("<posts>"), "{e}");
    }

    fn one_row(attrs: &str) -> Row {
        let text = format!("<posts>\n<row {attrs} />\n</posts>");
        let mut r = RowReader::new(text.as_bytes(), "Posts.xml".into(), "posts");
        r.next_row().unwrap().unwrap()
    }

    #[test]
    fn attributes_are_read_once_with_the_errors_of_a_lookup() {
        let row = one_row("Id=\"1\" Body=\"a &lt; b\" Text='x&#xA;y' Score=\"2\"");
        assert_eq!(row.get("Body").unwrap().as_deref(), Some("a < b"));
        assert_eq!(row.get("Text").unwrap().as_deref(), Some("x\ny"));
        assert_eq!(row.get("Missing").unwrap(), None);
        let all: Vec<(String, String)> = row
            .all()
            .map(|r| r.map(|(k, v)| (k.to_owned(), v.into_owned())).unwrap())
            .collect();
        assert_eq!(
            all,
            [
                ("Id", "1"),
                ("Body", "a < b"),
                ("Text", "x\ny"),
                ("Score", "2")
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
        );

        // A duplicate: what comes before it reads, a lookup past it fails, and so does the
        // listing of every attribute.
        let row = one_row("Id=\"1\" Score=\"2\" Id=\"3\" Body=\"b\"");
        assert_eq!(row.get("Id").unwrap().as_deref(), Some("1"));
        assert_eq!(row.get("Score").unwrap().as_deref(), Some("2"));
        let e = row.get("Body").unwrap_err();
        assert!(e.starts_with("unreadable attributes"), "{e}");
        assert!(row.get("Missing").is_err());
        assert_eq!(row.all().filter(Result::is_ok).count(), 2);
        assert!(row.all().last().unwrap().is_err());

        // A broken entity fails only the attribute that holds it.
        let row = one_row("Id=\"1\" Body=\"a &bogus; b\" Score=\"2\"");
        assert_eq!(row.get("Score").unwrap().as_deref(), Some("2"));
        let e = row.get("Body").unwrap_err();
        assert!(e.starts_with("attribute `Body`"), "{e}");
        assert!(row.all().any(|r| r.is_err()));
    }
}
