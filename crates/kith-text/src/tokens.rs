//! Sentence and word splitting shared by the hostility and intent rules.

/// A sentence as lower-case word tokens (letters, digits, `'`, `-`, `@`, `_` kept inside).
pub(crate) struct Sentence {
    /// Byte ranges of the words in `joined`.
    spans: Vec<(usize, usize)>,
    /// The sentence text, lower-cased, single spaces between words, for phrase matching.
    pub joined: String,
    /// The sentence ended with a question mark.
    pub question: bool,
}

impl Sentence {
    pub fn words(&self) -> Vec<&str> {
        self.spans
            .iter()
            .map(|&(a, b)| &self.joined[a..b])
            .collect()
    }

    pub fn word_count(&self) -> usize {
        self.spans.len()
    }
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
    // One lower-cased string per sentence; words are spans into it (no allocation per word).
    let mut joined = String::with_capacity(s.len());
    let mut spans = Vec::new();
    for w in s.split(|c: char| !is_word_char(c)) {
        let w = w.trim_matches(|c| matches!(c, '\'' | '-'));
        if w.is_empty() {
            continue;
        }
        if !joined.is_empty() {
            joined.push(' ');
        }
        let start = joined.len();
        if w.is_ascii() {
            joined.extend(w.chars().map(|c| c.to_ascii_lowercase()));
        } else {
            joined.push_str(&w.to_lowercase());
        }
        spans.push((start, joined.len()));
    }
    if spans.is_empty() {
        if question && let Some(last) = out.last_mut() {
            last.question = true;
        }
        return;
    }
    out.push(Sentence {
        spans,
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

/// A list of phrases matched in one pass (Aho-Corasick) on word boundaries; reports the
/// phrase that comes first *in the list* among those present, so list order is priority.
pub(crate) struct PhraseSet {
    phrases: &'static [&'static str],
    automaton: Option<aho_corasick::AhoCorasick>,
}

impl PhraseSet {
    pub fn new(phrases: &'static [&'static str]) -> PhraseSet {
        PhraseSet {
            phrases,
            // A full DFA: the lists are small, and messages are scanned many times each.
            automaton: aho_corasick::AhoCorasick::builder()
                .kind(Some(aho_corasick::AhoCorasickKind::DFA))
                .build(phrases)
                .ok(),
        }
    }

    pub fn first(&self, haystack: &str) -> Option<&'static str> {
        let Some(ac) = &self.automaton else {
            return first_phrase(haystack, self.phrases);
        };
        let bytes = haystack.as_bytes();
        let mut best: Option<usize> = None;
        for m in ac.find_overlapping_iter(haystack) {
            let left_ok = m.start() == 0 || bytes[m.start() - 1] == b' ';
            let right_ok = m.end() == bytes.len() || bytes[m.end() - 1 + 1] == b' ';
            if left_ok && right_ok {
                let id = m.pattern().as_usize();
                best = Some(best.map_or(id, |b| b.min(id)));
            }
        }
        best.map(|i| self.phrases[i])
    }

    /// Every phrase of the list found in `haystack`, in list order (priority first).
    pub fn all(&self, haystack: &str) -> Vec<&'static str> {
        let Some(ac) = &self.automaton else {
            return self
                .phrases
                .iter()
                .copied()
                .filter(|p| has_phrase(haystack, p))
                .collect();
        };
        let bytes = haystack.as_bytes();
        let mut ids: Vec<usize> = ac
            .find_overlapping_iter(haystack)
            .filter(|m| {
                (m.start() == 0 || bytes[m.start() - 1] == b' ')
                    && (m.end() == bytes.len() || bytes[m.end()] == b' ')
            })
            .map(|m| m.pattern().as_usize())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids.into_iter().map(|i| self.phrases[i]).collect()
    }
}

/// Declares a lazily built [`PhraseSet`] over a phrase list constant.
macro_rules! phrase_set {
    ($name:ident, $list:expr) => {
        fn $name() -> &'static $crate::tokens::PhraseSet {
            static SET: std::sync::OnceLock<$crate::tokens::PhraseSet> = std::sync::OnceLock::new();
            SET.get_or_init(|| $crate::tokens::PhraseSet::new($list))
        }
    };
}
pub(crate) use phrase_set;
