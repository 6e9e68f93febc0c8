//! Hostility: attacks on people (insults aimed at someone, slurs, threats, harassment), kept
//! apart from negativity. A bug report that swears at the software is negative, not hostile;
//! quoted (`> `, "…") and reported insults ("he called me an idiot") do not count, nor does
//! self-deprecation ("I'm such an idiot").

use crate::tokens::{PhraseSet, Sentence, sentences};

/// What kind of attack a piece of evidence shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AttackKind {
    /// An insult aimed at a person or group ("you idiot", "the mods are losers").
    Insult,
    Slur,
    Threat,
    /// Exclusion, dismissal, contempt ("nobody wants you here", "shut up").
    Harassment,
    /// Profanity aimed at a person ("f*** you", "piss off").
    DirectedProfanity,
}

/// One matched term or pattern.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Evidence {
    pub kind: AttackKind,
    /// The matched words, lower-case.
    pub matched: String,
}

/// Hostility of one message.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Hostility {
    /// [0, 1]: 1 − Π(1 − wᵢ) over the evidence weights.
    pub score: f64,
    pub evidence: Vec<Evidence>,
}

impl Hostility {
    /// The decision threshold used by the evaluation and the moderation defaults.
    pub const THRESHOLD: f64 = 0.5;

    pub fn is_hostile(&self) -> bool {
        self.score >= Self::THRESHOLD
    }
}

const INSULT_NOUNS: &[&str] = &[
    "idiot",
    "idiots",
    "moron",
    "morons",
    "imbecile",
    "imbeciles",
    "loser",
    "losers",
    "clown",
    "clowns",
    "fool",
    "fools",
    "dumbass",
    "jackass",
    "jerk",
    "jerks",
    "prick",
    "pricks",
    "asshole",
    "assholes",
    "douche",
    "douchebag",
    "troll",
    "trolls",
    "hack",
    "disgrace",
    "liar",
    "fraud",
    "joke",
    "scum",
    "cretin",
    "dipshit",
    "buffoon",
    "genius",
];

const INSULT_ADJECTIVES: &[&str] = &[
    "stupid",
    "dumb",
    "useless",
    "pathetic",
    "incompetent",
    "worthless",
    "clueless",
    "brain-dead",
    "ignorant",
    "braindead",
];

const SECOND_PERSON: &[&str] = &[
    "you", "u", "ya", "ur", "you're", "youre", "yourself", "your",
];

const THIRD_PARTY: &[&str] = &[
    "he",
    "she",
    "they",
    "whoever",
    "maintainer",
    "maintainers",
    "moderators",
    "mods",
    "mod",
    "developer",
    "developers",
    "devs",
    "dev",
    "people",
    "guy",
    "guys",
    "admins",
    "admin",
];

const FIRST_PERSON: &[&str] = &["i", "i'm", "im", "me", "myself", "i've", "i'd"];

pub(crate) const THREATS: &[&str] = &[
    "kill yourself",
    "kys",
    "go die",
    "and die",
    "hope you die",
    "i know where you live",
    "i know where you work",
    "watch yourself",
    "watch your back",
    "make you pay",
    "you'll regret",
    "regret it",
    "punch",
    "beat the crap out of",
    "beat you",
    "find you",
    "hope you get fired",
    "hurt you",
];

pub(crate) const HARASSMENT: &[&str] = &[
    "nobody wants you",
    "no one wants you",
    "nobody cares what you think",
    "nobody asked you",
    "want your kind",
    "get out of this forum",
    "get out of here",
    "crawled out of",
    "waste of oxygen",
    "waste of space",
    "you should be ashamed",
    "disgrace to",
    "go cry",
    "flip burgers",
    "your opinion doesn't matter",
    "shut your mouth",
    "shut up",
    "stfu",
    "and so are you",
    "imagine being this dumb",
    "imagine being this stupid",
    "typical woman",
    "typical women",
    "typical girl",
    "get lost",
    "go away",
    "and that's you",
];

pub(crate) const DIRECTED_PROFANITY: &[&str] = &[
    "fuck you",
    "fuck off",
    "f off",
    "piss off",
    "eat shit",
    "screw you",
    "f u",
    "go to hell",
    "fuck your",
    "fuck u",
];

/// A short list of slurs, ROT13-encoded so that the source does not display them. Matched as
/// whole words (and their plural).
const SLURS_ROT13: &[&str] = &[
    "ergneq", "ergneqrq", "snt", "snttbg", "avttre", "avttn", "xvxr", "fcvp", "puvax", "genaal",
    "qlxr", "jrgonpx",
];

fn rot13(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'a'..='m' => (c as u8 + 13) as char,
            'n'..='z' => (c as u8 - 13) as char,
            _ => c,
        })
        .collect()
}

const SLUR: u8 = 1;
const NOUN: u8 = 2;
const ADJECTIVE: u8 = 4;

/// What a word is to the rules: a slur (decoded once), an insult noun, an insult adjective;
/// one hashed lookup answers all three.
fn word_kinds() -> &'static crate::vader::FnvMap<String, u8> {
    static S: std::sync::OnceLock<crate::vader::FnvMap<String, u8>> = std::sync::OnceLock::new();
    S.get_or_init(|| {
        let mut m: crate::vader::FnvMap<String, u8> = crate::vader::FnvMap::default();
        let lists = [
            (
                SLUR,
                SLURS_ROT13.iter().map(|s| rot13(s)).collect::<Vec<_>>(),
            ),
            (NOUN, INSULT_NOUNS.iter().map(|s| s.to_string()).collect()),
            (
                ADJECTIVE,
                INSULT_ADJECTIVES.iter().map(|s| s.to_string()).collect(),
            ),
        ];
        for (kind, words) in lists {
            for w in words {
                *m.entry(w).or_insert(0) |= kind;
            }
        }
        m
    })
}

fn kinds_of(word: &str) -> u8 {
    word_kinds().get(word).copied().unwrap_or(0)
}

/// Removes text inside double quotes: quoted speech is not the author's attack.
pub(crate) fn without_quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_quote = false;
    for c in text.chars() {
        match c {
            '"' => in_quote = !in_quote,
            '“' => in_quote = true,
            '”' => in_quote = false,
            _ if !in_quote => out.push(c),
            _ => {}
        }
    }
    out
}

pub(crate) const REPORTED: &[&str] = &[
    "called me",
    "calling me",
    "called us",
    "called him",
    "called her",
    "called them",
    "told me",
    "telling me",
    "tells me",
    "said i",
    "says i",
    "said that i",
];

/// Hostility of already-extracted prose (see `prose::extract`, which drops `>` quotes).
pub fn hostility_of_prose(text: &str) -> Hostility {
    if text.contains(['"', '“', '”']) {
        hostility_of_sentences(&sentences(&without_quoted(text)))
    } else {
        hostility_of_sentences(&sentences(text))
    }
}

/// Hostility of prose already split into sentences; the caller must have removed quoted
/// speech (text in double quotes) first.
pub(crate) fn hostility_of_sentences(ss: &[Sentence]) -> Hostility {
    let mut evidence = Vec::new();
    for s in ss {
        sentence_evidence(s, &mut evidence);
    }
    let score = 1.0
        - evidence
            .iter()
            .map(|e| 1.0 - weight(e.kind))
            .product::<f64>();
    Hostility { score, evidence }
}

/// Hostility of a raw message.
pub fn hostility(text: &str) -> Hostility {
    hostility_of_prose(&crate::prose::extract(text).text)
}

fn weight(kind: AttackKind) -> f64 {
    match kind {
        AttackKind::Threat | AttackKind::Slur => 0.95,
        AttackKind::Insult => 0.8,
        AttackKind::DirectedProfanity => 0.8,
        AttackKind::Harassment => 0.7,
    }
}

fn sentence_evidence(s: &Sentence, out: &mut Vec<Evidence>) {
    // Reported speech: only what comes before "called me …" is the author's own.
    let all_words = s.words();
    let mut words: &[&str] = &all_words;
    let mut joined = s.joined.as_str();
    let hits = s.hits();
    if let Some(p) = hits
        .iter()
        .filter(|h| h.set() == PhraseSet::REPORTED)
        .map(|h| h.start as usize)
        .min()
    {
        joined = joined.get(..p).unwrap_or(joined);
        let n = joined.split(' ').filter(|w| !w.is_empty()).count();
        words = &words[..n.min(words.len())];
    }
    // What the lists find in the part kept: no phrase ends with a space, so an occurrence
    // inside it ends before its last byte (the space before "called me").
    let kept = joined.len();
    for (set, kind) in [
        (PhraseSet::THREATS, AttackKind::Threat),
        (PhraseSet::PROFANITY, AttackKind::DirectedProfanity),
        (PhraseSet::HARASSMENT, AttackKind::Harassment),
    ] {
        let first = set.first_among(hits.iter().filter(|h| h.end as usize <= kept));
        if let Some(p) = first.filter(|p| !described(joined, p)) {
            out.push(Evidence {
                kind,
                matched: p.to_string(),
            });
        }
    }
    for (i, &w) in words.iter().enumerate() {
        let kinds = kinds_of(w);
        let slur = kinds & SLUR != 0
            || w.strip_suffix('s')
                .is_some_and(|base| kinds_of(base) & SLUR != 0);
        if slur && !handled_thing(words, i) {
            out.push(Evidence {
                kind: AttackKind::Slur,
                matched: w.to_string(),
            });
            continue;
        }
        let noun = kinds & NOUN != 0;
        let adjective = kinds & ADJECTIVE != 0;
        if !(noun || adjective) {
            continue;
        }
        if let Some(m) = directed(words, i, noun) {
            out.push(Evidence {
                kind: AttackKind::Insult,
                matched: m,
            });
        }
    }
}

/// A command ("go away", "shut up", "get lost") said of something rather than to someone.
/// Said to someone, it opens its sentence or follows a word that leads an imperative ("Go
/// away.", "just go away", "please shut up", "why don't you get lost"); after anything else
/// it describes ("the warnings go away", "the alert won't go away", "make the NOTE go away",
/// "I had to shut up").
fn described(joined: &str, phrase: &str) -> bool {
    if !phrase
        .split(' ')
        .next()
        .is_some_and(|w| matches!(w, "go" | "get" | "shut"))
    {
        return false;
    }
    find_phrase_at(joined, phrase).is_some_and(|at| {
        joined[..at]
            .split(' ')
            .rfind(|w| !w.is_empty())
            .is_some_and(|w| {
                !matches!(
                    w,
                    "just"
                        | "please"
                        | "pls"
                        | "plz"
                        | "now"
                        | "so"
                        | "and"
                        | "then"
                        | "you"
                        | "u"
                        | "off"
                        | "hey"
                        | "oh"
                        | "seriously"
                        | "lol"
                        | "ugh"
                )
            })
    })
}

/// A word of the slur list used for a thing someone handles (British "a fag" is a cigarette:
/// "sticking a fag in his braces", "lit a fag"): a verb of handling or smoking, then "a",
/// just before it.
fn handled_thing(words: &[&str], i: usize) -> bool {
    const HANDLING: &[&str] = &[
        "sticking", "stick", "stuck", "smoke", "smoking", "smoked", "light", "lit", "lighting",
        "roll", "rolled", "rolling", "having", "fancy", "cadge", "bum", "puff",
    ];
    i >= 2 && words[i - 1] == "a" && HANDLING.contains(&words[i - 2])
}

fn find_phrase_at(haystack: &str, phrase: &str) -> Option<usize> {
    let mut start = 0;
    while let Some(pos) = haystack[start..].find(phrase) {
        let at = start + pos;
        let end = at + phrase.len();
        let left_ok = at == 0 || haystack.as_bytes()[at - 1] == b' ';
        let right_ok = end == haystack.len() || haystack.as_bytes()[end] == b' ';
        if left_ok && right_ok {
            return Some(at);
        }
        start = end;
    }
    None
}

/// Is the insult word at `i` aimed at a person? Returns the matched span.
fn directed(words: &[&str], i: usize, noun: bool) -> Option<String> {
    let w = words[i];
    // "genius" and "joke" are insults only when said to someone directly.
    let weak = matches!(w, "genius" | "joke" | "hack");
    let window = if noun { 6 } else { 3 };
    let from = i.saturating_sub(if weak { 2 } else { window });
    for j in (from..i).rev() {
        let t = words[j];
        if FIRST_PERSON.contains(&t) {
            return None;
        }
        if SECOND_PERSON.contains(&t) || t.starts_with('@') {
            // "your stupid laptop", "your PR is useless" attack a thing, not you.
            if t == "your" && !noun {
                return None;
            }
            return Some(words[j..=i].join(" "));
        }
        if noun && !weak && j + 8 >= i && THIRD_PARTY.contains(&t) {
            return Some(words[j..=i].join(" "));
        }
    }
    if noun && !weak {
        // "What a moron." / "What an arrogant prick."
        if i >= 2 && words[0] == "what" && matches!(words[1], "a" | "an") && i <= 3 {
            return Some(words[..=i].join(" "));
        }
        // Vocative at the end of a short sentence: "Go away, idiot." / "Get lost, troll."
        // After a determiner or a quantifier the noun is talked about, not called out
        // ("our reality is shaped by those trolls", "full of trolls").
        if i + 1 == words.len()
            && i >= 1
            && !matches!(
                words[i - 1],
                "a" | "an"
                    | "the"
                    | "like"
                    | "such"
                    | "this"
                    | "that"
                    | "my"
                    | "those"
                    | "these"
                    | "some"
                    | "any"
                    | "many"
                    | "all"
                    | "other"
                    | "no"
                    | "of"
                    | "our"
                    | "their"
            )
        {
            return Some(words[i - 1..=i].join(" "));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directed_insults_are_hostile() {
        for t in [
            "You're an idiot.",
            "shut up, nobody asked you",
            "Go away, idiot.",
            "What a moron.",
            "Whoever wrote this is a brain-dead idiot.",
        ] {
            assert!(hostility(t).is_hostile(), "{t}");
        }
    }

    #[test]
    fn quoted_reported_and_self_directed_insults_are_not() {
        for t in [
            "> You're an idiot.\nPlease keep it civil.",
            "he called me an idiot in a DM, can a mod look?",
            "A user keeps telling me to \"kill yourself\" in DMs.",
            "I'm such an idiot, it was a typo.",
            "This bug kills me.",
            "This damn thing crashes every single time.",
            "We live in a world full of trolls, and our reality is shaped by those trolls.",
            "the `(idiot|moron)` regex only matches whole words",
            "The alert simply won't go away, even after a refresh.",
            "It does not go away when I reload the page.",
            "If I put version=2 into my save() call, the warnings go away.",
            "hoping that might make the warning go away",
            "a man sticking a fag in his braces",
        ] {
            assert!(!hostility(t).is_hostile(), "{t}: {:?}", hostility(t));
        }
        // Said to someone, the command stays harassment.
        for t in [
            "Go away.",
            "Just go away, nobody wants you here.",
            "why don't you go away",
        ] {
            assert!(hostility(t).is_hostile(), "{t}");
        }
    }
}
