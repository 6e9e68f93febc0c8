//! Sentence and word splitting shared by the hostility and intent rules.

/// A sentence as lower-case word tokens (letters, digits, `'`, `-`, `@`, `_` kept inside).
pub(crate) struct Sentence {
    pub words: Vec<String>,
    /// The sentence text, lower-cased, single spaces between words, for phrase matching.
    pub joined: String,
    /// The sentence ended with a question mark.
    pub question: bool,
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '\'' | '-' | '@' | '_' | '+')
}

pub(crate) fn sentences(text: &str) -> Vec<Sentence> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let end = matches!(c, '.' | '!' | '?' | '\n' | ';' | ':')
            && !(c == '.' && chars.peek().is_some_and(|n| n.is_alphanumeric()))
            && !(c == ':' && chars.peek().is_some_and(|n| !n.is_whitespace()));
        if end {
            let q = c == '?';
            push(&mut out, &current, q);
            current.clear();
        } else {
            current.push(if c == '’' { '\'' } else { c });
        }
    }
    push(&mut out, &current, false);
    out
}

fn push(out: &mut Vec<Sentence>, s: &str, question: bool) {
    let words: Vec<String> = s
        .split(|c: char| !is_word_char(c))
        .map(|w| w.trim_matches(|c| matches!(c, '\'' | '-')).to_lowercase())
        .filter(|w| !w.is_empty())
        .collect();
    if words.is_empty() {
        if question && let Some(last) = out.last_mut() {
            last.question = true;
        }
        return;
    }
    let joined = words.join(" ");
    out.push(Sentence {
        words,
        joined,
        question,
    });
}

/// `haystack` (space-joined words) contains `phrase` on word boundaries.
pub(crate) fn has_phrase(haystack: &str, phrase: &str) -> bool {
    let mut start = 0;
    while let Some(pos) = haystack[start..].find(phrase) {
        let at = start + pos;
        let end = at + phrase.len();
        let left_ok = at == 0 || haystack.as_bytes()[at - 1] == b' ';
        let right_ok = end == haystack.len() || haystack.as_bytes()[end] == b' ';
        if left_ok && right_ok {
            return true;
        }
        start = at + 1;
        while !haystack.is_char_boundary(start) {
            start += 1;
        }
    }
    false
}

/// The first phrase of `phrases` found in `haystack`.
pub(crate) fn first_phrase<'p>(haystack: &str, phrases: &[&'p str]) -> Option<&'p str> {
    phrases.iter().copied().find(|p| has_phrase(haystack, p))
}
