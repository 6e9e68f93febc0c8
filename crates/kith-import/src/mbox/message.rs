//! One message's bytes (after its envelope line) read into the fields kith keeps: the headers
//! that matter, unfolded and decoded lossily (invalid UTF-8 never stops an import), and the
//! body text. Plain bodies (pipermail, 7/8-bit text) are taken as they are; MIME bodies
//! (multipart, base64, quoted-printable, other charsets) go through `mail-parser`.

use std::borrow::Cow;

use mail_parser::parsers::MessageStream;
use mail_parser::{HeaderValue, MessageParser};

/// Header values borrow the message's bytes unless they had to be unfolded or were not valid
/// UTF-8 (then they are owned, lossily decoded).
#[derive(Debug, Default)]
pub(crate) struct Headers<'a> {
    pub from: Option<Cow<'a, str>>,
    pub date: Option<Cow<'a, str>>,
    pub subject: Option<Cow<'a, str>>,
    pub message_id: Option<Cow<'a, str>>,
    pub in_reply_to: Option<Cow<'a, str>>,
    pub references: Option<Cow<'a, str>>,
    pub list_id: Option<Cow<'a, str>>,
    pub content_type: Option<Cow<'a, str>>,
    pub transfer_encoding: Option<Cow<'a, str>>,
}

/// Where the header block ends.
pub(crate) struct Parsed<'a> {
    pub headers: Headers<'a>,
    /// Byte offset of the body in the message.
    pub body_start: usize,
    /// Whether a blank line closed the header block (else the message ended inside it).
    pub closed: bool,
}

pub(crate) fn parse_headers(bytes: &[u8]) -> Parsed<'_> {
    let mut headers = Headers::default();
    let mut current: Option<(usize, Cow<'_, str>)> = None;
    let mut pos = 0;
    let mut closed = false;
    while pos < bytes.len() {
        let end = memchr_newline(&bytes[pos..]).map_or(bytes.len(), |i| pos + i + 1);
        let line = trim_eol(&bytes[pos..end]);
        if line.is_empty() {
            pos = end;
            closed = true;
            break;
        }
        if line[0] == b' ' || line[0] == b'\t' {
            if let Some((_, value)) = current.as_mut() {
                let value = value.to_mut();
                value.push(' ');
                value.push_str(lossy(line).trim());
            }
            pos = end;
            continue;
        }
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            // Not a header: the body starts here without the blank line, unless this is a
            // last line without its newline (a file cut inside a header).
            closed = end < bytes.len() || bytes.ends_with(b"\n");
            break;
        };
        store(&mut headers, current.take());
        let name = &line[..colon];
        if name.is_empty() || name.iter().any(|b| b.is_ascii_whitespace()) {
            closed = true;
            break;
        }
        let slot = header_slot(name);
        current = slot.map(|s| (s, trimmed_text(&line[colon + 1..])));
        pos = end;
    }
    store(&mut headers, current.take());
    Parsed {
        headers,
        body_start: pos,
        closed,
    }
}

/// The bytes as text without surrounding whitespace: borrowed when they are valid UTF-8.
fn trimmed_text(bytes: &[u8]) -> Cow<'_, str> {
    match lossy(bytes) {
        Cow::Borrowed(s) => Cow::Borrowed(s.trim()),
        Cow::Owned(s) => {
            let trimmed = s.trim();
            if trimmed.len() == s.len() {
                Cow::Owned(s)
            } else {
                Cow::Owned(trimmed.to_owned())
            }
        }
    }
}

/// `String::from_utf8_lossy`, with the faster validation of `str::from_utf8` first (nearly
/// every archive is valid UTF-8).
fn lossy(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

fn memchr_newline(b: &[u8]) -> Option<usize> {
    b.iter().position(|&c| c == b'\n')
}

fn trim_eol(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

const NAMES: [&str; 9] = [
    "from",
    "date",
    "subject",
    "message-id",
    "in-reply-to",
    "references",
    "list-id",
    "content-type",
    "content-transfer-encoding",
];

fn header_slot(name: &[u8]) -> Option<usize> {
    NAMES
        .iter()
        .position(|n| n.as_bytes().eq_ignore_ascii_case(name))
}

fn store<'a>(h: &mut Headers<'a>, current: Option<(usize, Cow<'a, str>)>) {
    let Some((slot, value)) = current else { return };
    let field = match slot {
        0 => &mut h.from,
        1 => &mut h.date,
        2 => &mut h.subject,
        3 => &mut h.message_id,
        4 => &mut h.in_reply_to,
        5 => &mut h.references,
        6 => &mut h.list_id,
        7 => &mut h.content_type,
        _ => &mut h.transfer_encoding,
    };
    // The first occurrence wins (later ones are usually quoted or resent copies).
    if field.is_none() {
        *field = Some(value);
    }
}

/// Decodes RFC 2047 encoded words (`=?UTF-8?B?...?=`) in an unstructured header value.
pub(crate) fn decode_words(value: &str) -> String {
    if !value.contains("=?") {
        return value.to_owned();
    }
    let with_end = format!("{value}\n");
    match MessageStream::new(with_end.as_bytes()).parse_unstructured() {
        HeaderValue::Text(text) => text.trim().to_owned(),
        _ => value.to_owned(),
    }
}

/// Message ids in a header value, without angle brackets, in order. A value without brackets
/// that is one token with an `@` counts as one id.
/// The first of `message_ids(value)`, without collecting the others.
pub(crate) fn first_message_id(value: &str) -> Option<String> {
    let mut rest = value;
    while let Some(open) = rest.find('<') {
        let Some(close) = rest[open..].find('>') else {
            break;
        };
        let id = rest[open + 1..open + close].trim();
        if !id.is_empty() && !id.contains(char::is_whitespace) {
            return Some(id.to_owned());
        }
        rest = &rest[open + close + 1..];
    }
    message_ids(value).into_iter().next()
}

pub(crate) fn message_ids(value: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut rest = value;
    while let Some(open) = rest.find('<') {
        let Some(close) = rest[open..].find('>') else {
            break;
        };
        let id = rest[open + 1..open + close].trim();
        if !id.is_empty() && !id.contains(char::is_whitespace) {
            ids.push(id.to_owned());
        }
        rest = &rest[open + close + 1..];
    }
    if ids.is_empty() {
        let token = value.trim();
        if token.contains('@') && !token.contains(char::is_whitespace) {
            ids.push(token.to_owned());
        }
    }
    ids
}

/// The body as text: plain bodies lossily as UTF-8; MIME bodies through `mail-parser` (first
/// text part, HTML turned into text when there is no plain part).
pub(crate) fn body_text<'a>(message: &'a [u8], parsed: &Parsed<'_>) -> Cow<'a, str> {
    let body = message.get(parsed.body_start..).unwrap_or_default();
    if !needs_mime(&parsed.headers) {
        return lossy(body);
    }
    let parser = MessageParser::new().with_mime_headers();
    match parser
        .parse(message)
        .and_then(|m| m.body_text(0).map(|t| t.into_owned()))
    {
        Some(text) => Cow::Owned(text),
        None => String::from_utf8_lossy(body),
    }
}

fn needs_mime(h: &Headers<'_>) -> bool {
    let ct = h.content_type.as_deref().unwrap_or("").to_ascii_lowercase();
    let cte = h
        .transfer_encoding
        .as_deref()
        .unwrap_or("")
        .to_ascii_lowercase();
    let plain_charset = !ct.contains("charset")
        || ct.contains("utf-8")
        || ct.contains("us-ascii")
        || ct.contains("utf8");
    ct.contains("multipart")
        || ct.contains("html")
        || cte.contains("base64")
        || cte.contains("quoted-printable")
        || !plain_charset
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_unfold_and_first_occurrence_wins() {
        let msg = b"From: jane at example.org (Jane)\nSubject: a long\n subject\nReferences: <a@x>\n\t<b@x>\nSubject: second\nX-Other: 1\n\nbody\n";
        let p = parse_headers(msg);
        assert!(p.closed);
        assert_eq!(p.headers.subject.as_deref(), Some("a long subject"));
        assert_eq!(
            message_ids(p.headers.references.as_deref().unwrap()),
            ["a@x", "b@x"]
        );
        assert_eq!(&msg[p.body_start..], b"body\n");
    }

    #[test]
    fn encoded_words_are_decoded() {
        assert_eq!(decode_words("=?UTF-8?B?QWRyaWFuIER1yJlh?="), "Adrian Dușa");
        assert_eq!(
            decode_words("=?iso-8859-1?q?J=F6rg?= Schmidt"),
            "Jörg Schmidt"
        );
        assert_eq!(decode_words("plain"), "plain");
    }

    #[test]
    fn mime_bodies_are_decoded() {
        let msg = b"From: a@b\nContent-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n\nGr=FC=DFe\n";
        let p = parse_headers(msg);
        assert_eq!(body_text(msg, &p).trim(), "Grüße");
    }

    #[test]
    fn header_values_borrow_unless_folded_or_invalid() {
        let msg = b"From:  jane at example.org  \nSubject: one\n two\nDate: Tue, 2 Jun 2015 \xff10:00\nMessage-ID:\n\n";
        let p = parse_headers(msg);
        assert!(matches!(
            p.headers.from,
            Some(Cow::Borrowed("jane at example.org"))
        ));
        assert_eq!(p.headers.subject.as_deref(), Some("one two"));
        assert_eq!(
            p.headers.date.as_deref(),
            Some("Tue, 2 Jun 2015 \u{fffd}10:00")
        );
        assert_eq!(p.headers.message_id.as_deref(), Some(""));
        // A header block cut inside a header: not closed.
        let p = parse_headers(b"From: a@b\nSubject");
        assert!(!p.closed);
    }

    #[test]
    fn the_first_message_id_is_the_first_of_all() {
        for value in [
            "<a@x> <b@x>",
            "< > <b@x>",
            "<a b@x> <c@x>",
            "<a@x",
            "a@x",
            "  a@x  ",
            "a @x",
            "",
            "<> a@x",
            "junk <ok@x> <",
        ] {
            assert_eq!(
                first_message_id(value),
                message_ids(value).into_iter().next(),
                "{value:?}"
            );
        }
    }

    #[test]
    fn invalid_utf8_bodies_are_decoded_lossily() {
        let msg = b"From: a@b\n\nGr\xfc\xdfe\n";
        let p = parse_headers(msg);
        assert_eq!(body_text(msg, &p), "Gr\u{fffd}\u{fffd}e\n");
    }
}
