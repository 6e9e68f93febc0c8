//! Prose extraction: what a member wrote in their own words. Code blocks, inline code, quoted
//! lines (`> `), stack traces and URLs carry no sentiment of the author and are removed before
//! any scoring; what was removed is reported so that callers can explain a score.

/// A message reduced to its author's own prose.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Prose {
    /// The remaining text, lines joined with `\n`.
    pub text: String,
    /// A fenced or indented code block, or inline code, was removed.
    pub had_code: bool,
    /// Quoted lines (`>`) were removed.
    pub had_quote: bool,
    /// Stack-trace lines were removed.
    pub had_trace: bool,
    /// Number of URLs removed.
    pub urls: usize,
}

impl Prose {
    /// The message contained technical material (code, a trace).
    pub fn is_technical(&self) -> bool {
        self.had_code || self.had_trace
    }
}

fn is_trace_line(t: &str) -> bool {
    let t = t.trim();
    t.starts_with("Traceback (most recent call last)")
        || t.starts_with("File \"")
        || t.starts_with("stack backtrace:")
        || t.contains("panicked at")
        || t.starts_with("Exception in thread")
        || t.starts_with("Caused by:")
        || (t.starts_with("at ") && (t.contains(".java:") || t.contains(".js:") || t.contains("(")))
        || {
            // "12: core::panicking::panic_fmt"
            let digits = t.bytes().take_while(u8::is_ascii_digit).count();
            digits > 0 && t[digits..].starts_with(": ") && t.contains("::")
        }
        || {
            // "requests.exceptions.HTTPError: 413 ..." / "java.lang.NullPointerException"
            let head = t.split([':', ' ']).next().unwrap_or("");
            head.contains('.')
                && !head.ends_with('.')
                && (head.ends_with("Error") || head.ends_with("Exception"))
        }
}

fn is_url(token: &str) -> bool {
    let t = token.trim_start_matches(['(', '<', '[', '"', '\'']);
    t.starts_with("http://") || t.starts_with("https://") || t.starts_with("www.")
}

/// Removes code, quotes, traces and URLs. Never fails; an unterminated fence drops the rest.
pub fn extract(text: &str) -> Prose {
    let mut p = Prose {
        text: String::with_capacity(text.len()),
        ..Prose::default()
    };
    let mut in_fence = false;
    for line in text.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            in_fence = !in_fence;
            p.had_code = true;
            continue;
        }
        if in_fence {
            continue;
        }
        if trimmed.starts_with('>') {
            p.had_quote = true;
            continue;
        }
        if line.starts_with("    ") || line.starts_with('\t') {
            p.had_code = true;
            continue;
        }
        if is_trace_line(line) {
            p.had_trace = true;
            continue;
        }
        if !p.text.is_empty() {
            p.text.push('\n');
        }
        push_without_inline_code(&mut p, line);
    }
    p
}

fn push_without_inline_code(p: &mut Prose, line: &str) {
    // Inline code becomes a space; an unmatched backtick is punctuation and stays.
    let mut kept = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(open) = rest.find('`') {
        let after = &rest[open + 1..];
        match after.find('`') {
            Some(close) => {
                kept.push_str(&rest[..open]);
                kept.push(' ');
                p.had_code = true;
                rest = &after[close + 1..];
            }
            None => break,
        }
    }
    kept.push_str(rest);
    let mut first = true;
    for word in kept.split(' ') {
        if is_url(word) {
            p.urls += 1;
            continue;
        }
        if !first {
            p.text.push(' ');
        }
        p.text.push_str(word);
        first = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_quotes_traces_and_urls_are_not_prose() {
        let p = extract(
            "> you idiot\nSee `kill -9` and https://x.org/a\n```\nfn main() {}\n```\nthread 'main' panicked at 'x'\nok",
        );
        assert_eq!(
            p.text.split_whitespace().collect::<Vec<_>>(),
            ["See", "and", "ok"]
        );
        assert!(p.had_code && p.had_quote && p.had_trace);
        assert_eq!(p.urls, 1);
    }

    #[test]
    fn unmatched_backtick_is_kept() {
        assert_eq!(extract("it`s fine").text, "it`s fine");
    }
}
