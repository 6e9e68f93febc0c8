//! Commits as `git rev-list --header` prints them: each record is the commit's id on a line,
//! the raw commit headers (`tree`, `parent`, `author`, `committer`, and others such as
//! `gpgsig` with indented continuation lines), an empty line, the message with every line
//! indented by four spaces, and a NUL byte. Reading the raw objects is what makes the import
//! fast: Git formats nothing and parses no trailers (kith does, in `trailers.rs`).

use std::io::BufRead;

/// One commit record, borrowed from the record's text.
#[derive(Debug)]
pub(crate) struct Commit<'a> {
    pub sha: &'a str,
    pub parents: usize,
    pub author: Option<Ident<'a>>,
    pub committer: Option<Ident<'a>>,
    /// The message as committed (indentation removed).
    pub message: String,
}

/// `Name <address> <seconds> <±hhmm>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Ident<'a> {
    pub name: &'a str,
    pub email: &'a str,
    /// Seconds since the epoch and the offset in minutes; `None` when unreadable.
    pub date: Option<(i64, i16)>,
    /// The date as written, for messages.
    pub date_text: &'a str,
}

/// Whether `record` starts like a commit record: an object id (40 or 64 hex digits) on the
/// first line and a `tree` header on the second. A record that does not is the rest of the
/// previous commit's message after a NUL byte inside it.
pub(crate) fn starts_commit(record: &[u8]) -> bool {
    let Some(nl) = record.iter().position(|&b| b == b'\n') else {
        return false;
    };
    let id = &record[..nl];
    (id.len() == 40 || id.len() == 64)
        && id.iter().all(u8::is_ascii_hexdigit)
        && record[nl + 1..].starts_with(b"tree ")
}

/// Parses one record (without its NUL). The record must satisfy [`starts_commit`].
pub(crate) fn parse(record: &str) -> Commit<'_> {
    let (sha, rest) = record.split_once('\n').unwrap_or((record, ""));
    parse_object(sha, rest, Message::Indented)
}

/// What Git's `isspace` calls white space.
const GIT_SPACE: [char; 4] = [' ', '\t', '\n', '\r'];

/// How a commit's message follows its headers.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Message {
    /// Every line indented by four spaces, as `rev-list --header` prints it.
    Indented,
    /// As stored in the object (`cat-file --batch`).
    Raw,
}

/// Parses a commit object's text (headers, an empty line, the message) whose id is `sha`.
pub(crate) fn parse_object<'a>(sha: &'a str, object: &'a str, message: Message) -> Commit<'a> {
    let (headers, body) = match object.find("\n\n") {
        Some(i) => (&object[..i], &object[i + 2..]),
        // No message: the headers run to the end (a trailing newline is theirs).
        None => (object.strip_suffix('\n').unwrap_or(object), ""),
    };
    let mut commit = Commit {
        sha,
        parents: 0,
        author: None,
        committer: None,
        message: String::with_capacity(body.len()),
    };
    for line in headers.split('\n') {
        if line.starts_with("parent ") {
            commit.parents += 1;
        } else if let Some(v) = line.strip_prefix("author ") {
            commit.author = Some(ident(v));
        } else if let Some(v) = line.strip_prefix("committer ") {
            commit.committer = Some(ident(v));
        }
    }
    match message {
        Message::Raw => {
            // As `rev-list --header` prints it (Git's pretty.c): the message ends at a NUL,
            // blank lines before its first line are skipped, every line loses its trailing
            // white space, the end is trimmed and one newline added.
            let body = body.split('\0').next().unwrap_or("");
            for line in body.split('\n') {
                let line = line.trim_end_matches(GIT_SPACE);
                if !line.is_empty() || !commit.message.is_empty() {
                    commit.message.push_str(line);
                    commit.message.push('\n');
                }
            }
            let end = commit.message.trim_end_matches(GIT_SPACE).len();
            commit.message.truncate(end);
            if end > 0 {
                commit.message.push('\n');
            }
        }
        Message::Indented => {
            for (i, line) in body.split('\n').enumerate() {
                if i > 0 {
                    commit.message.push('\n');
                }
                commit
                    .message
                    .push_str(line.strip_prefix("    ").unwrap_or(line));
            }
        }
    }
    commit
}

/// The `encoding` header of a commit object, when it names something other than UTF-8: Git
/// re-encodes such a commit's headers and message to UTF-8 when it prints them.
pub(crate) fn foreign_encoding(object: &[u8]) -> bool {
    let headers = match memchr::memmem::find(object, b"\n\n") {
        Some(end) => &object[..end],
        None => object,
    };
    memchr::memmem::find_iter(headers, b"\nencoding ").any(|at| {
        let value = &headers[at + 10..];
        let value = value
            .split(|&b| b == b'\n')
            .next()
            .unwrap_or(value)
            .trim_ascii();
        !value.eq_ignore_ascii_case(b"utf-8") && !value.eq_ignore_ascii_case(b"utf8")
    })
}

/// An identity line's value. The name is what precedes the first `<`, the address runs to the
/// `>` after it, the date follows the last `>` (as Git splits them).
pub(crate) fn ident(value: &str) -> Ident<'_> {
    let Some(left) = value.find('<') else {
        return Ident {
            name: value.trim(),
            email: "",
            date: None,
            date_text: "",
        };
    };
    let right = value[left..].find('>').map_or(value.len(), |i| left + i);
    let last = value.rfind('>').map_or(value.len(), |i| i + 1).max(right);
    let date_text = value.get(last..).unwrap_or("").trim();
    Ident {
        name: value[..left].trim(),
        email: value.get(left + 1..right).unwrap_or("").trim(),
        date: date(date_text),
        date_text,
    }
}

/// `1700000000 +0100` → seconds and offset minutes; `None` unless both are well formed (the
/// offset within ±23:59).
fn date(text: &str) -> Option<(i64, i16)> {
    let (secs, tz) = text.split_once(' ')?;
    let secs: i64 = secs
        .parse()
        .ok()
        .filter(|_| secs.bytes().all(|b| b.is_ascii_digit()))?;
    let tz = tz.trim();
    let (sign, digits) = match tz.as_bytes().first()? {
        b'+' => (1, &tz[1..]),
        b'-' => (-1, &tz[1..]),
        _ => return None,
    };
    if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let hours: i16 = digits[..2].parse().ok()?;
    let minutes: i16 = digits[2..].parse().ok()?;
    if hours > 23 || minutes > 59 {
        return None;
    }
    Some((secs, sign * (hours * 60 + minutes)))
}

/// Reads records from `log`, calling `each` with every commit record (a NUL inside a message
/// is put back). Returns the number of records, or why the stream is not `rev-list --header`
/// output: it does not start with a commit, or it ends inside one.
pub(crate) fn records(
    log: &mut dyn BufRead,
    each: &mut dyn FnMut(&str),
) -> Result<Result<u64, String>, std::io::Error> {
    let mut record: Vec<u8> = Vec::with_capacity(4096);
    let mut pending: Vec<u8> = Vec::with_capacity(4096);
    let mut count = 0u64;
    loop {
        record.clear();
        if log.read_until(0, &mut record)? == 0 {
            break;
        }
        let complete = record.last() == Some(&0);
        if complete {
            record.pop();
        }
        // A record after the NUL that ends the previous one starts on the same line.
        if starts_commit(&record) {
            if !pending.is_empty() {
                each(&String::from_utf8_lossy(&pending));
                count += 1;
            }
            std::mem::swap(&mut pending, &mut record);
        } else if pending.is_empty() {
            if record.iter().all(u8::is_ascii_whitespace) && complete {
                continue;
            }
            return Ok(Err(format!(
                "`git rev-list` printed something that is not a commit: `{}`",
                String::from_utf8_lossy(&record[..record.len().min(60)])
            )));
        } else {
            pending.push(0);
            pending.extend_from_slice(&record);
        }
        if !complete {
            let sha = String::from_utf8_lossy(pending.split(|&b| b == b'\n').next().unwrap_or(&[]))
                .into_owned();
            return Ok(Err(format!(
                "the output of `git rev-list` ended inside commit {} (after {count} commits)",
                if sha.is_empty() { "?" } else { &sha }
            )));
        }
    }
    if !pending.is_empty() {
        each(&String::from_utf8_lossy(&pending));
        count += 1;
    }
    Ok(Ok(count))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "0123456789abcdef0123456789abcdef01234567";

    #[test]
    fn a_record_gives_parents_identities_dates_and_the_unindented_message() {
        let record = format!(
            "{SHA}\ntree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nparent {SHA}\nparent {SHA}\nauthor Jane Doe <jane@example.org> 1709287200 +0100\ncommitter Bob <bob@example.org> 1709290800 -0500\ngpgsig -----BEGIN PGP SIGNATURE-----\n \n abc\n -----END PGP SIGNATURE-----\n\n    Title\n    \n    Body line\n      indented\n"
        );
        let c = parse(&record);
        assert_eq!(c.sha, SHA);
        assert_eq!(c.parents, 2);
        let a = c.author.unwrap();
        assert_eq!(
            (a.name, a.email, a.date),
            ("Jane Doe", "jane@example.org", Some((1709287200, 60)))
        );
        assert_eq!(c.committer.unwrap().date, Some((1709290800, -300)));
        assert_eq!(c.message, "Title\n\nBody line\n  indented\n");
    }

    #[test]
    fn a_raw_object_reads_as_rev_list_prints_it() {
        // (object message, rev-list's indented message)
        let cases: [(&str, &str); 7] = [
            ("Title\n\nBody\n", "    Title\n    \n    Body\n"),
            ("\n \n\tTitle  \r\nnext\t\n\n\n", "    \tTitle\n    next\n"),
            ("No newline", "    No newline\n"),
            ("", ""),
            (" \t\n\n", ""),
            ("Stop\0here\n", "    Stop\n"),
            ("    four\n\tone tab\n", "        four\n    \tone tab\n"),
        ];
        let headers = "tree t\nauthor A <a@x> 1 +0000\n";
        for (raw, printed) in cases {
            let object = format!("{headers}\n{raw}");
            let record = format!("{SHA}\n{headers}\n{printed}");
            let from_raw = parse_object(SHA, &object, Message::Raw);
            let from_record = parse(&record);
            assert_eq!(from_raw.message, from_record.message, "{raw:?}");
            assert_eq!(from_raw.author, from_record.author);
        }
    }

    #[test]
    fn foreign_encodings_are_the_ones_git_re_encodes() {
        let o = |h: &str| format!("tree t\n{h}\nencoding in the message\n");
        assert!(foreign_encoding(
            o("author A <a@x> 1 +0000\nencoding ISO-8859-1\n").as_bytes()
        ));
        assert!(!foreign_encoding(
            o("author A <a@x> 1 +0000\nencoding UTF-8\n").as_bytes()
        ));
        assert!(!foreign_encoding(
            o("author A <a@x> 1 +0000\nencoding utf8\n").as_bytes()
        ));
        assert!(!foreign_encoding(o("author A <a@x> 1 +0000\n").as_bytes()));
    }

    #[test]
    fn odd_identities_and_dates() {
        assert_eq!(ident("No Address 12 +0000").email, "");
        let i = ident("A <a@x> <b@y> 12 +0000");
        assert_eq!((i.email, i.date), ("a@x", Some((12, 0))));
        for bad in [
            "A <a@x>",
            "A <a@x> x +0000",
            "A <a@x> 12 +2400",
            "A <a@x> 12 0100",
            "A <a@x> -1 +0000",
            "A <a@x> 12 +01",
        ] {
            assert_eq!(ident(bad).date, None, "{bad}");
        }
        assert_eq!(ident("<").email, "");
    }

    #[test]
    fn records_split_at_nul_and_a_nul_inside_a_message_is_kept() {
        let one = format!("{SHA}\ntree t\nauthor A <a@x> 1 +0000\n\n    one\n");
        let two = format!("{SHA}\ntree t\n\n    two\0part\n");
        let stream = format!("{one}\0{two}\0");
        let mut got = Vec::new();
        let n = records(&mut stream.as_bytes(), &mut |r| got.push(r.to_owned()))
            .unwrap()
            .unwrap();
        assert_eq!(n, 2);
        assert_eq!(got, [one, two]);
    }

    #[test]
    fn a_stream_cut_inside_a_commit_or_not_starting_with_one_is_refused() {
        let cut = format!("{SHA}\ntree t\n\n    one\n");
        let e = records(&mut cut.as_bytes(), &mut |_| {})
            .unwrap()
            .unwrap_err();
        assert!(e.contains("ended inside commit 0123"), "{e}");
        let e = records(&mut &b"fatal: bad\0"[..], &mut |_| {})
            .unwrap()
            .unwrap_err();
        assert!(e.contains("not a commit"), "{e}");
        assert_eq!(records(&mut &b""[..], &mut |_| {}).unwrap(), Ok(0));
    }
}
