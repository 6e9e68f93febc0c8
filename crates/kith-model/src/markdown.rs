//! What readers of Markdown do not see.

use std::borrow::Cow;

/// What an HTML comment without its `-->` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unclosed {
    /// It hides the rest of the text, as GitHub and CommonMark render it.
    HidesTheRest,
    /// It stays as written (a text that may not be Markdown at all).
    Stays,
}

/// `text` without its HTML comments (`<!-- … -->`: an issue template's instructions, hints a
/// renderer hides), except inside fenced code (```` ``` ```` or `~~~` lines), where they are
/// code. Borrowed when the text has none.
pub fn without_html_comments(text: &str, unclosed: Unclosed) -> Cow<'_, str> {
    if !text.contains("<!--") {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    // Where the open comment began, while one is open.
    let mut comment: Option<usize> = None;
    let mut in_fence = false;
    let mut at = 0;
    for line in text.split_inclusive('\n') {
        let line_start = at;
        at += line.len();
        if comment.is_none() {
            let t = line.trim_start();
            let fence = t.starts_with("```") || t.starts_with("~~~");
            in_fence ^= fence;
            // A fence line and the code between are kept as written.
            if fence || in_fence {
                out.push_str(line);
                continue;
            }
        }
        let mut pos = 0;
        loop {
            let rest = &line[pos..];
            if comment.is_some() {
                match rest.find("-->") {
                    Some(end) => {
                        comment = None;
                        pos += end + 3;
                    }
                    None => break,
                }
            } else {
                match rest.find("<!--") {
                    Some(start) => {
                        out.push_str(&rest[..start]);
                        comment = Some(line_start + pos + start);
                        pos += start + 4;
                    }
                    None => {
                        out.push_str(rest);
                        break;
                    }
                }
            }
        }
    }
    if let Some(start) = comment
        && unclosed == Unclosed::Stays
    {
        out.push_str(&text[start..]);
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_go_but_not_in_fenced_code() {
        let text = "<!-- Describe the bug. -->\r\n**What happened**\r\nIt crashes <!-- here -->.\r\n```html\r\n<!-- kept -->\r\n```\r\nbye <!-- never closed\r\ngone";
        assert_eq!(
            without_html_comments(text, Unclosed::HidesTheRest),
            "\r\n**What happened**\r\nIt crashes .\r\n```html\r\n<!-- kept -->\r\n```\r\nbye "
        );
        assert_eq!(
            without_html_comments(text, Unclosed::Stays),
            "\r\n**What happened**\r\nIt crashes .\r\n```html\r\n<!-- kept -->\r\n```\r\nbye <!-- never closed\r\ngone"
        );
        // A comment over several lines, one closed and one reopened on the same line.
        assert_eq!(
            without_html_comments("a <!-- x\ny --> b <!-- z --> c", Unclosed::Stays),
            "a  b  c"
        );
        assert!(matches!(
            without_html_comments("no comment", Unclosed::Stays),
            Cow::Borrowed("no comment")
        ));
    }
}
