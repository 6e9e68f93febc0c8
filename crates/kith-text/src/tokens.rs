//! Sentence and word splitting shared by the hostility and intent rules.

/// A sentence as lower-case word tokens (letters, digits, `'`, `-`, `@`, `_` kept inside).
pub(crate) struct Sentence {
    /// Byte ranges of the words in `joined`.
    spans: Vec<(usize, usize)>,
    /// The sentence text, lower-cased, single spaces between words, for phrase matching.
    pub joined: String,
    /// The sentence ended with a question mark.
    pub question: bool,
    /// The phrase-list occurrences in `joined`, scanned on first use.
    hits: std::cell::OnceCell<Vec<Hit>>,
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

    /// `joined` contains `phrase` on word boundaries ([`has_phrase`]); read from the cached
    /// hits when the phrase is one of the fixed ones.
    pub fn has(&self, phrase: &str) -> bool {
        match fixed_id(phrase) {
            Some(id) => self
                .hits()
                .iter()
                .any(|h| h.set == PhraseSet::FIXED.0 && h.id == id),
            None => has_phrase(&self.joined, phrase),
        }
    }

    /// Every occurrence of a phrase of every list in `joined` (see [`scan`]).
    pub fn hits(&self) -> &[Hit] {
        self.hits.get_or_init(|| scan(&self.joined))
    }
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '\'' | '-' | '@' | '_' | '+')
}

pub(crate) fn sentences(text: &str) -> Vec<Sentence> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        // A line break before a lower-case word continues the sentence: e-mail and other
        // hard-wrapped text breaks its lines inside sentences ("How to link external\n
        // compiler with fftw?").
        let end = matches!(c, '.' | '!' | '?' | '\n' | ';' | ':')
            && !(c == '.' && chars.peek().is_some_and(|&(_, n)| n.is_alphanumeric()))
            && !(c == ':' && chars.peek().is_some_and(|&(_, n)| !n.is_whitespace()))
            && !(c == '\n'
                && text[i + 1..]
                    .trim_start_matches([' ', '\t'])
                    .chars()
                    .next()
                    .is_some_and(char::is_lowercase));
        if end {
            push_part(&mut out, &text[start..i], c == '?');
            start = i + c.len_utf8();
        }
    }
    push_part(&mut out, &text[start..], false);
    out
}

/// A sentence's text as written, with the typographic apostrophe made plain.
fn push_part(out: &mut Vec<Sentence>, s: &str, question: bool) {
    if s.contains('’') {
        push(out, &s.replace('’', "'"), question);
    } else {
        push(out, s, question);
    }
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
        hits: std::cell::OnceCell::new(),
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

/// A phrase list of the rules, matched on word boundaries; reports the phrase that comes
/// first *in the list* among those present, so list order is priority. All lists share one
/// Aho-Corasick automaton ([`scan`]): a sentence is scanned once, on first use, for every
/// list at once, and each rule then reads the cached hits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PhraseSet(u8);

impl PhraseSet {
    pub const THREATS: PhraseSet = PhraseSet(0);
    pub const PROFANITY: PhraseSet = PhraseSet(1);
    pub const HARASSMENT: PhraseSet = PhraseSet(2);
    pub const REPORTED: PhraseSet = PhraseSet(3);
    pub const ANNOUNCE: PhraseSet = PhraseSet(4);
    pub const REQUEST: PhraseSet = PhraseSet(5);
    pub const THANKS: PhraseSet = PhraseSet(6);
    pub const NOT_THANKS: PhraseSet = PhraseSet(7);
    pub const RESOLUTION: PhraseSet = PhraseSet(8);
    pub const COMPLAINT: PhraseSet = PhraseSet(9);
    pub const BUG: PhraseSet = PhraseSet(10);
    pub const PRAISE: PhraseSet = PhraseSet(11);
    pub const INTRO: PhraseSet = PhraseSet(12);
    pub const QUESTION_ANYWHERE: PhraseSet = PhraseSet(13);
    pub const ANSWER_ANYWHERE: PhraseSet = PhraseSet(14);
    pub const JUDGEMENT_WORDS: PhraseSet = PhraseSet(15);
    pub const GRIEVANCE_TARGETS: PhraseSet = PhraseSet(16);
    pub const POSITION: PhraseSet = PhraseSet(17);
    pub const INTRO_STRONG: PhraseSet = PhraseSet(18);
    pub const NEGATIVE_JUDGEMENTS: PhraseSet = PhraseSet(19);
    pub const NEGATED_POSITIVES: PhraseSet = PhraseSet(20);
    pub const PATTERN_CUES: PhraseSet = PhraseSet(21);
    pub const SHAPE_CUES: PhraseSet = PhraseSet(22);
    pub const QUESTION_STARTS: PhraseSet = PhraseSet(23);
    pub const REQUEST_STARTS: PhraseSet = PhraseSet(24);
    pub const ANSWER_STARTS: PhraseSet = PhraseSet(25);
    pub const DIRECT_QUESTION: PhraseSet = PhraseSet(26);
    pub const SHAPE_REPEATS: PhraseSet = PhraseSet(27);
    pub const HELP_REQUEST: PhraseSet = PhraseSet(28);
    /// The single phrases the rules test one at a time ([`Sentence::has`]).
    const FIXED: PhraseSet = PhraseSet(29);

    fn phrases(self) -> &'static [&'static str] {
        SETS.get(usize::from(self.0)).copied().unwrap_or(&[])
    }

    fn phrase(self, id: u16) -> Option<&'static str> {
        self.phrases().get(usize::from(id)).copied()
    }

    /// The first phrase of the list (in list order) found in the sentence.
    pub fn first_in(self, s: &Sentence) -> Option<&'static str> {
        first_id(self, s.hits()).and_then(|id| self.phrase(id))
    }

    /// The first phrase of the list found in any of the sentences: what the list finds in
    /// their text joined with ` | ` (no phrase contains `|`, so none spans two sentences).
    pub fn first_in_all(self, ss: &[Sentence]) -> Option<&'static str> {
        ss.iter()
            .filter_map(|s| first_id(self, s.hits()))
            .min()
            .and_then(|id| self.phrase(id))
    }

    /// Every phrase of the list found in any of the sentences, in list order.
    pub fn all_in_all(self, ss: &[Sentence]) -> Vec<&'static str> {
        let mut ids: Vec<u16> = ss
            .iter()
            .flat_map(|s| s.hits().iter().filter(|h| h.set == self.0).map(|h| h.id))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids.into_iter().filter_map(|i| self.phrase(i)).collect()
    }

    /// The first phrase of the list among `hits`.
    pub fn first_among<'h>(self, hits: impl Iterator<Item = &'h Hit>) -> Option<&'static str> {
        hits.filter(|h| h.set == self.0)
            .map(|h| h.id)
            .min()
            .and_then(|id| self.phrase(id))
    }

    /// The first phrase of the list found in `haystack` (space-joined words).
    pub fn first(self, haystack: &str) -> Option<&'static str> {
        first_id(self, &scan(haystack)).and_then(|id| self.phrase(id))
    }
}

fn first_id(set: PhraseSet, hits: &[Hit]) -> Option<u16> {
    hits.iter().filter(|h| h.set == set.0).map(|h| h.id).min()
}

/// The lists, indexed by [`PhraseSet`].
const SETS: [&[&str]; 30] = [
    crate::hostility::THREATS,
    crate::hostility::DIRECTED_PROFANITY,
    crate::hostility::HARASSMENT,
    crate::hostility::REPORTED,
    crate::intent::ANNOUNCE_PHRASES,
    crate::intent::REQUEST_PHRASES,
    crate::intent::THANKS_WORDS,
    crate::intent::NOT_THANKS,
    crate::intent::RESOLUTION,
    crate::intent::COMPLAINT_PHRASES,
    crate::intent::BUG_PHRASES,
    crate::intent::PRAISE_WORDS,
    crate::intent::INTRO_PHRASES,
    crate::intent::QUESTION_ANYWHERE,
    crate::intent::ANSWER_ANYWHERE,
    crate::intent::JUDGEMENT_WORDS,
    crate::intent::GRIEVANCE_TARGETS,
    crate::intent::POSITION_MARKERS,
    crate::intent::INTRO_STRONG,
    crate::intent::NEGATIVE_JUDGEMENTS,
    crate::intent::NEGATED_POSITIVES,
    crate::intent::PATTERN_CUES,
    crate::intent::SHAPE_CUES,
    crate::intent::QUESTION_STARTS,
    crate::intent::REQUEST_STARTS,
    crate::intent::ANSWER_STARTS,
    crate::intent::DIRECT_QUESTION,
    crate::intent::SHAPE_REPEATS,
    crate::intent::HELP_REQUEST,
    FIXED,
];

/// Phrases the rules test one by one (`has_phrase` on a sentence or on the whole text): found
/// by the shared scan, so that such a test reads the cached hits.
const FIXED: &[&str] = &[
    "i'd love to know",
    "thanks a lot",
    "bug fixes",
    "bug bash",
    "tagged bug",
    "bug report template",
    "but",
    "well said",
    "i'm",
    "i am",
    "new to",
    "used to",
    "no longer",
    "what it used to be",
    "what they used to be",
    "supposed to",
    "what's the point",
    "what is the point",
    "i suggest",
    "we need a",
    "i propose",
    "how about",
];

/// The position of `phrase` in [`FIXED`].
fn fixed_id(phrase: &str) -> Option<u16> {
    static INDEX: std::sync::OnceLock<crate::vader::FnvMap<&'static str, u16>> =
        std::sync::OnceLock::new();
    INDEX
        .get_or_init(|| {
            FIXED
                .iter()
                .enumerate()
                .filter_map(|(i, &p)| Some((p, u16::try_from(i).ok()?)))
                .collect()
        })
        .get(phrase)
        .copied()
}

/// Any of the sentences contains `phrase` on word boundaries: what [`has_phrase`] answers on
/// their text joined with ` | ` for a phrase without `|`.
pub(crate) fn has_in_all(ss: &[Sentence], phrase: &str) -> bool {
    ss.iter().any(|s| s.has(phrase))
}

/// One occurrence of a phrase of a list, on word boundaries, at bytes `start..end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Hit {
    set: u8,
    id: u16,
    pub start: u32,
    pub end: u32,
}

impl Hit {
    pub fn set(&self) -> PhraseSet {
        PhraseSet(self.set)
    }
}

/// The automaton over every distinct phrase of every list, and for each of its patterns the
/// (list, position in list) pairs that phrase stands for.
struct Combined {
    automaton: Option<aho_corasick::AhoCorasick>,
    owners: Vec<Vec<(u8, u16)>>,
}

fn combined() -> &'static Combined {
    static C: std::sync::OnceLock<Combined> = std::sync::OnceLock::new();
    C.get_or_init(|| {
        let mut patterns: Vec<&'static str> = Vec::new();
        let mut owners: Vec<Vec<(u8, u16)>> = Vec::new();
        let mut index: std::collections::HashMap<&'static str, usize> =
            std::collections::HashMap::new();
        for (set, list) in SETS.iter().enumerate() {
            for (id, &p) in list.iter().enumerate() {
                let (Ok(set), Ok(id)) = (u8::try_from(set), u16::try_from(id)) else {
                    continue;
                };
                let at = *index.entry(p).or_insert_with(|| {
                    patterns.push(p);
                    owners.push(Vec::new());
                    patterns.len() - 1
                });
                owners[at].push((set, id));
            }
        }
        Combined {
            // A full DFA: the lists are small, and every sentence is scanned.
            automaton: aho_corasick::AhoCorasick::builder()
                .kind(Some(aho_corasick::AhoCorasickKind::DFA))
                .build(&patterns)
                .ok(),
            owners,
        }
    })
}

/// Every occurrence of every phrase of every list in `haystack`, on word boundaries.
pub(crate) fn scan(haystack: &str) -> Vec<Hit> {
    let bytes = haystack.as_bytes();
    let bounded = |start: usize, end: usize| {
        (start == 0 || bytes[start - 1] == b' ') && (end == bytes.len() || bytes[end] == b' ')
    };
    let mut out = Vec::new();
    let mut push = |set: u8, id: u16, start: usize, end: usize| {
        if let (Ok(start), Ok(end)) = (u32::try_from(start), u32::try_from(end)) {
            out.push(Hit {
                set,
                id,
                start,
                end,
            });
        }
    };
    let c = combined();
    match &c.automaton {
        Some(ac) => {
            for m in ac.find_overlapping_iter(haystack) {
                if bounded(m.start(), m.end())
                    && let Some(owners) = c.owners.get(m.pattern().as_usize())
                {
                    for &(set, id) in owners {
                        push(set, id, m.start(), m.end());
                    }
                }
            }
        }
        // Without an automaton (it cannot fail to build for these lists): every occurrence,
        // found phrase by phrase.
        None => {
            for (set, list) in SETS.iter().enumerate() {
                for (id, p) in list.iter().enumerate() {
                    let (Ok(set), Ok(id)) = (u8::try_from(set), u16::try_from(id)) else {
                        continue;
                    };
                    for (at, _) in haystack.char_indices() {
                        if haystack[at..].starts_with(p) && bounded(at, at + p.len()) {
                            push(set, id, at, at + p.len());
                        }
                    }
                }
            }
        }
    }
    out
}

/// A fixed list of words looked up by hashing: what `list.contains(&word)` answers.
pub(crate) struct WordSet(crate::vader::FnvMap<&'static str, ()>);

impl WordSet {
    pub fn new(list: &[&'static str]) -> WordSet {
        WordSet(list.iter().map(|&w| (w, ())).collect())
    }

    pub fn contains(&self, word: &str) -> bool {
        self.0.contains_key(word)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the shared scan relies on: a phrase never contains `|` (so none spans two
    /// sentences of the ` | `-joined text) and never starts or ends with a space.
    #[test]
    fn phrases_are_words_joined_by_single_spaces() {
        for list in SETS {
            for p in list {
                assert!(!p.is_empty() && !p.contains('|'), "{p:?}");
                assert!(!p.starts_with(' ') && !p.ends_with(' '), "{p:?}");
            }
        }
    }

    /// A closing newline adds no sentence and changes none (the intent rules reuse the split
    /// of a text when removing asides from it only added that newline).
    #[test]
    fn closing_newline_changes_no_sentence() {
        let texts = [
            "How? Why not:",
            "ok.",
            "a: b. c?",
            "trailing colon:",
            "x\ny?\n",
            "It’s fine; really!",
            "",
            "?",
            "what is v1.2",
        ];
        for t in texts {
            let view = |ss: Vec<Sentence>| -> Vec<(String, bool, Vec<String>)> {
                ss.iter()
                    .map(|s| {
                        let words = s.words().iter().map(|w| w.to_string()).collect();
                        (s.joined.clone(), s.question, words)
                    })
                    .collect()
            };
            assert_eq!(
                view(sentences(t)),
                view(sentences(&format!("{t}\n"))),
                "{t:?}"
            );
        }
    }

    /// The cached hits answer exactly what matching each list on its own answers.
    #[test]
    fn shared_scan_matches_each_list_alone() {
        let texts = [
            "Thanks a lot, that fixed it! But the docs are really confusing. He called me an idiot; shut up.",
            "Hi all, I'm new here. My name is Ana: would it be nice to have a dark mode? It crashes every time.",
            "go away go away. nobody wants you. it doesn't work anymore and i waited for weeks",
            "ça marche très bien, merci beaucoup ! Great work everyone.",
            "How do I export? Is there a way to do it. Could you add a flag. Try running it again. Can we merge?",
            "I'm new to this, but I used to use it. It no longer works, yet again. What's the point? How about a fix",
        ];
        for t in texts {
            let ss = sentences(t);
            let all = ss
                .iter()
                .map(|s| s.joined.as_str())
                .collect::<Vec<_>>()
                .join(" | ");
            for (n, list) in SETS.iter().enumerate() {
                let set = PhraseSet(u8::try_from(n).unwrap_or(u8::MAX));
                let naive = |h: &str| list.iter().copied().find(|p| has_phrase(h, p));
                assert_eq!(set.first_in_all(&ss), naive(&all), "{n} {t}");
                assert_eq!(set.first(&all), naive(&all), "{n} {t}");
                let every: Vec<&str> = list
                    .iter()
                    .copied()
                    .filter(|p| has_phrase(&all, p))
                    .collect();
                assert_eq!(set.all_in_all(&ss), every, "{n} {t}");
                for s in &ss {
                    for p in FIXED.iter().chain(["no such phrase", "it"].iter()) {
                        assert_eq!(s.has(p), has_phrase(&s.joined, p), "{p} {}", s.joined);
                    }
                    assert_eq!(set.first_in(s), naive(&s.joined), "{n} {}", s.joined);
                    let opens = list.iter().copied().find(|p| {
                        s.joined.starts_with(p)
                            && (s.joined.len() == p.len() || s.joined.as_bytes()[p.len()] == b' ')
                    });
                    let from_hits = set.first_among(s.hits().iter().filter(|h| h.start == 0));
                    assert_eq!(from_hits, opens, "{n} {}", s.joined);
                }
            }
        }
    }
}
