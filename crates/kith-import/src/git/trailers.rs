//! Trailers of a commit message, found the way Git finds them for
//! `git log --format=%(trailers:only,unfold)`: the last paragraph of the message (never the
//! title) counts when all its lines are `Token: value` trailers, or when it has a trailer Git
//! itself writes (`Signed-off-by: `, `(cherry picked from commit `) and at least a quarter of
//! its lines are trailers. Lines starting with whitespace continue the trailer above them.
//! Trailer keys and separators configured in the user's Git (`trailer.*`) are not consulted.

/// Lines that start with this are comments (Git's default `core.commentChar`).
const COMMENT: &str = "#";

/// Trailers Git writes itself: one of them makes a mixed paragraph a trailer block.
const GIT_GENERATED: [&str; 2] = ["Signed-off-by: ", "(cherry picked from commit "];

/// The scissors line `git commit --cleanup=scissors` cuts at (after the comment character).
const SCISSORS: &str = " ------------------------ >8 ------------------------";

/// One trailer: its token as written (trimmed) and its value, continuation lines folded into
/// single spaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Trailer<'a> {
    pub token: &'a str,
    pub value: String,
}

/// The trailers of `message`, in order. Lines of the trailer block that are not trailers are
/// left out (`only`).
pub(crate) fn trailers(message: &str) -> Vec<Trailer<'_>> {
    let end = end_of_log_message(message);
    let text = &message[..end];
    let start = trailer_block_start(text);
    // Items: a line and the continuation lines after it, as ranges of the message; whether
    // the item is a trailer (continuation lines only join a trailer).
    let mut items: Vec<(usize, usize, bool)> = Vec::new();
    let mut pos = start;
    for line in text[start..].split_inclusive('\n') {
        let end = pos + line.len();
        match items.last_mut() {
            Some((_, last_end, true)) if line.starts_with(is_space) => *last_end = end,
            _ => items.push((pos, end, separator(line).is_some_and(|p| p >= 1))),
        }
        pos = end;
    }
    let mut out = Vec::new();
    for (from, to, is_trailer) in items {
        let item = &text[from..to];
        if !is_trailer || item.starts_with(COMMENT) {
            continue;
        }
        let Some(sep) = separator(item) else {
            continue;
        };
        out.push(Trailer {
            token: item[..sep].trim_matches(is_space),
            value: unfold(&item[sep + 1..]),
        });
    }
    out
}

/// Git's `isspace`: space, tab, newline, carriage return.
fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

fn is_blank(line: &str) -> bool {
    line.chars().all(is_space)
}

/// Where the separator `:` is when `line` starts with a token (letters, digits, `-`), maybe
/// followed by spaces; `None` when the line is not `token: ...`.
fn separator(line: &str) -> Option<usize> {
    let mut after_space = false;
    for (i, b) in line.bytes().enumerate() {
        if b == b':' {
            return Some(i);
        }
        if !after_space && (b.is_ascii_alphanumeric() || b == b'-') {
            continue;
        }
        if i != 0 && (b == b' ' || b == b'\t') {
            after_space = true;
            continue;
        }
        return None;
    }
    None
}

/// Continuation line breaks (and the whitespace after them) become one space; trimmed.
fn unfold(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\n' {
            while chars.peek().is_some_and(|&c| is_space(c)) {
                chars.next();
            }
            out.push(' ');
        } else {
            out.push(c);
        }
    }
    out.trim_matches(is_space).to_owned()
}

/// The message without what Git ignores at its end: everything from a scissors line on, and
/// a final run of comment lines, empty lines and an old-style `Conflicts:` block.
fn end_of_log_message(message: &str) -> usize {
    let cutoff = scissors(message).unwrap_or(message.len());
    let mut ignorable_from: Option<usize> = None;
    let mut in_conflicts = false;
    let mut pos = 0;
    for line in message[..cutoff].split_inclusive('\n') {
        if line.starts_with(COMMENT) || line.starts_with('\n') {
            ignorable_from.get_or_insert(pos);
        } else if line == "Conflicts:\n" {
            in_conflicts = true;
            ignorable_from.get_or_insert(pos);
        } else if in_conflicts && line.starts_with('\t') {
            // A path in the conflicts block.
        } else {
            ignorable_from = None;
            in_conflicts = false;
        }
        pos += line.len();
    }
    ignorable_from.unwrap_or(cutoff)
}

/// The start of a `# ------------------------ >8 ------------------------` line.
fn scissors(message: &str) -> Option<usize> {
    let mut pos = 0;
    for line in message.split_inclusive('\n') {
        if let Some(rest) = line.strip_prefix(COMMENT)
            && rest.trim_end_matches('\n') == SCISSORS
        {
            return Some(pos);
        }
        pos += line.len();
    }
    None
}

/// Where the trailer block of `text` starts (`text.len()` when there is none): scanning
/// upwards from the last line to the first blank line below the title.
fn trailer_block_start(text: &str) -> usize {
    // Line starts, so that the scan can go upwards.
    let mut starts: Vec<usize> = Vec::new();
    let mut pos = 0;
    for line in text.split_inclusive('\n') {
        starts.push(pos);
        pos += line.len();
    }
    let line_at = |i: usize| -> &str {
        let end = starts.get(i + 1).copied().unwrap_or(text.len());
        &text[starts[i]..end]
    };
    // The title: up to the first blank line (comment lines do not end it).
    let end_of_title = (0..starts.len())
        .find(|&i| {
            let l = line_at(i);
            !l.starts_with(COMMENT) && is_blank(l)
        })
        .map_or(text.len(), |i| starts[i]);

    let mut only_spaces = true;
    let mut recognized = false;
    let (mut trailer_lines, mut non_trailer_lines, mut continuation) = (0usize, 0usize, 0usize);
    for i in (0..starts.len()).rev() {
        if starts[i] < end_of_title {
            break;
        }
        let line = line_at(i);
        if line.starts_with(COMMENT) {
            non_trailer_lines += continuation;
            continuation = 0;
            continue;
        }
        if is_blank(line) {
            if only_spaces {
                continue;
            }
            non_trailer_lines += continuation;
            let block = starts[i] + line.len();
            if recognized && trailer_lines * 3 >= non_trailer_lines {
                return block;
            }
            if trailer_lines > 0 && non_trailer_lines == 0 {
                return block;
            }
            return text.len();
        }
        only_spaces = false;
        if GIT_GENERATED.iter().any(|p| line.starts_with(p)) {
            trailer_lines += 1;
            continuation = 0;
            recognized = true;
            continue;
        }
        if separator(line).is_some_and(|p| p >= 1) && !line.starts_with(is_space) {
            trailer_lines += 1;
            continuation = 0;
        } else if line.starts_with(is_space) {
            continuation += 1;
        } else {
            non_trailer_lines += 1 + continuation;
            continuation = 0;
        }
    }
    text.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(message: &str) -> Vec<(String, String)> {
        trailers(message)
            .into_iter()
            .map(|t| (t.token.to_owned(), t.value))
            .collect()
    }

    fn owned(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect()
    }

    #[test]
    fn the_last_paragraph_of_trailers_is_read_and_the_title_never_is() {
        assert_eq!(
            pairs(
                "Fix: the parser\n\nBody text.\n\nCo-authored-by: A <a@x>\nReviewed-by: B <b@x>\n"
            ),
            owned(&[("Co-authored-by", "A <a@x>"), ("Reviewed-by", "B <b@x>")])
        );
        // A title alone is never a trailer block, even when it looks like one.
        assert!(pairs("Fix: the parser\n").is_empty());
        assert!(pairs("Reviewed-by: B <b@x>").is_empty());
        // A trailer paragraph that is not the last one does not count.
        assert!(pairs("Title\n\nAcked-by: A <a@x>\n\nMore text.\n").is_empty());
    }

    #[test]
    fn a_mixed_paragraph_needs_a_git_trailer_and_a_quarter_of_trailers() {
        // 1 Git-generated trailer of 4 lines = 25 %: a block; the prose lines are left out.
        assert_eq!(
            pairs("T\n\nprose one\nprose two\nprose three\nSigned-off-by: J <j@x>\n"),
            owned(&[("Signed-off-by", "J <j@x>")])
        );
        // 1 of 5 is below a quarter: no block.
        assert!(pairs("T\n\np1\np2\np3\np4\nSigned-off-by: J <j@x>\n").is_empty());
        // Without a Git-generated trailer one prose line spoils the block.
        assert!(pairs("T\n\nprose\nCo-authored-by: A <a@x>\n").is_empty());
    }

    #[test]
    fn continuation_lines_fold_and_spaces_before_the_colon_are_allowed() {
        assert_eq!(
            pairs("T\n\nCo-authored-by: A Very\n  Long Name <a@x>\nAcked-by : B <b@x>\n"),
            owned(&[
                ("Co-authored-by", "A Very Long Name <a@x>"),
                ("Acked-by", "B <b@x>")
            ])
        );
        // A space inside the token, or none before the colon, is not a trailer.
        assert!(pairs("T\n\nNot a: trailer\n").is_empty());
    }

    #[test]
    fn comment_lines_blank_lines_and_the_scissors_at_the_end_are_ignored() {
        assert_eq!(
            pairs("T\n\nAcked-by: A <a@x>\n\n# a comment\n\n"),
            owned(&[("Acked-by", "A <a@x>")])
        );
        assert_eq!(
            pairs(
                "T\n\nAcked-by: A <a@x>\n# ------------------------ >8 ------------------------\nTested-by: no\n"
            ),
            owned(&[("Acked-by", "A <a@x>")])
        );
    }

    #[test]
    fn empty_and_odd_messages_have_no_trailers() {
        for m in [
            "",
            "\n",
            "\n\n\n",
            ":",
            "\n\n:\n",
            "T\n\n \n",
            "#\n\n#: x\n",
            "T\n\n\u{e9}: x\n",
        ] {
            assert!(pairs(m).is_empty(), "{m:?}");
        }
    }
}
