//! A faithful Rust port of VADER 3.3.2 (Hutto & Gilbert, ICWSM 2014): the lexicon and every
//! rule of `vaderSentiment.py`, including its quirks (the first-equal-value lookup in the "but"
//! rule, the "so"/"this" amplification at distance three), so that scores match the Python
//! package message by message. Community tuning lives in `sentiment.rs`, not here.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::OnceLock;

/// The VADER lexicon (MIT, C.J. Hutto; see `data/VADER-LICENSE.txt`).
const LEXICON_TXT: &str = include_str!("../data/vader_lexicon.txt");
/// The VADER emoji lexicon: emoji → English description, scored as words.
const EMOJI_TXT: &str = include_str!("../data/emoji_utf8_lexicon.txt");

const B_INCR: f64 = 0.293;
const B_DECR: f64 = -0.293;
const C_INCR: f64 = 0.733;
const N_SCALAR: f64 = -0.74;

const NEGATE: &[&str] = &[
    "aint",
    "arent",
    "cannot",
    "cant",
    "couldnt",
    "darent",
    "didnt",
    "doesnt",
    "ain't",
    "aren't",
    "can't",
    "couldn't",
    "daren't",
    "didn't",
    "doesn't",
    "dont",
    "hadnt",
    "hasnt",
    "havent",
    "isnt",
    "mightnt",
    "mustnt",
    "neither",
    "don't",
    "hadn't",
    "hasn't",
    "haven't",
    "isn't",
    "mightn't",
    "mustn't",
    "neednt",
    "needn't",
    "never",
    "none",
    "nope",
    "nor",
    "not",
    "nothing",
    "nowhere",
    "oughtnt",
    "shant",
    "shouldnt",
    "uhuh",
    "wasnt",
    "werent",
    "oughtn't",
    "shan't",
    "shouldn't",
    "uh-uh",
    "wasn't",
    "weren't",
    "without",
    "wont",
    "wouldnt",
    "won't",
    "wouldn't",
    "rarely",
    "seldom",
    "despite",
];

const BOOSTERS_INCR: &[&str] = &[
    "absolutely",
    "amazingly",
    "awfully",
    "completely",
    "considerable",
    "considerably",
    "decidedly",
    "deeply",
    "effing",
    "enormous",
    "enormously",
    "entirely",
    "especially",
    "exceptional",
    "exceptionally",
    "extreme",
    "extremely",
    "fabulously",
    "flipping",
    "flippin",
    "frackin",
    "fracking",
    "fricking",
    "frickin",
    "frigging",
    "friggin",
    "fully",
    "fuckin",
    "fucking",
    "fuggin",
    "fugging",
    "greatly",
    "hella",
    "highly",
    "hugely",
    "incredible",
    "incredibly",
    "intensely",
    "major",
    "majorly",
    "more",
    "most",
    "particularly",
    "purely",
    "quite",
    "really",
    "remarkably",
    "so",
    "substantially",
    "thoroughly",
    "total",
    "totally",
    "tremendous",
    "tremendously",
    "uber",
    "unbelievably",
    "unusually",
    "utter",
    "utterly",
    "very",
];

const BOOSTERS_DECR: &[&str] = &[
    "almost",
    "barely",
    "hardly",
    "just enough",
    "kind of",
    "kinda",
    "kindof",
    "kind-of",
    "less",
    "little",
    "marginal",
    "marginally",
    "occasional",
    "occasionally",
    "partly",
    "scarce",
    "scarcely",
    "slight",
    "slightly",
    "somewhat",
    "sort of",
    "sorta",
    "sortof",
    "sort-of",
];

const SPECIAL_CASES: &[(&str, f64)] = &[
    ("the shit", 3.0),
    ("the bomb", 3.0),
    ("bad ass", 1.5),
    ("badass", 1.5),
    ("bus stop", 0.0),
    ("yeah right", -2.0),
    ("kiss of death", -1.5),
    ("to die for", 3.0),
    ("beating heart", 3.5),
];

fn booster(word: &str) -> Option<f64> {
    // One hashed lookup for both lists (a word of both is an increment, as listed first).
    static MAP: OnceLock<FnvMap<&'static str, f64>> = OnceLock::new();
    let map = MAP.get_or_init(|| {
        let mut m: FnvMap<&'static str, f64> = FnvMap::default();
        for &w in BOOSTERS_DECR {
            m.insert(w, B_DECR);
        }
        for &w in BOOSTERS_INCR {
            m.insert(w, B_INCR);
        }
        m
    });
    map.get(word).copied()
}

fn special_case(seq: &str) -> Option<f64> {
    SPECIAL_CASES
        .iter()
        .find(|(k, _)| *k == seq)
        .map(|&(_, v)| v)
}

fn negated(word: &str) -> bool {
    static SET: OnceLock<crate::tokens::WordSet> = OnceLock::new();
    SET.get_or_init(|| crate::tokens::WordSet::new(NEGATE))
        .contains(word)
        || word.contains("n't")
}

/// VADER's normalisation of a sum of valences into (-1, 1): `x / sqrt(x² + 15)`.
pub fn normalize(score: f64) -> f64 {
    (score / (score * score + 15.0).sqrt()).clamp(-1.0, 1.0)
}

/// FNV-1a: lexicon keys are short words, where it is several times faster than SipHash; the
/// keys are fixed data, so there is no flooding concern.
#[derive(Default)]
pub(crate) struct Fnv(u64);

impl std::hash::Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for &b in bytes {
            h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
        self.0 = h;
    }
}

pub(crate) type FnvMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<Fnv>>;

pub(crate) fn lexicon() -> &'static FnvMap<&'static str, f64> {
    static LEX: OnceLock<FnvMap<&'static str, f64>> = OnceLock::new();
    LEX.get_or_init(|| {
        let mut map = FnvMap::default();
        map.reserve(7600);
        for line in LEXICON_TXT.split('\n') {
            let mut fields = line.trim().split('\t');
            let (Some(word), Some(measure)) = (fields.next(), fields.next()) else {
                continue;
            };
            if let Ok(v) = measure.parse::<f64>() {
                map.insert(word, v);
            }
        }
        map
    })
}

fn emojis() -> &'static FnvMap<char, &'static str> {
    static EMO: OnceLock<FnvMap<char, &'static str>> = OnceLock::new();
    EMO.get_or_init(|| {
        let mut map = FnvMap::default();
        map.reserve(1300);
        for line in EMOJI_TXT.split('\n') {
            let mut fields = line.trim().split('\t');
            let (Some(emoji), Some(description)) = (fields.next(), fields.next()) else {
                continue;
            };
            // Python looks emojis up one code point at a time: multi-code-point entries
            // (skin tones, flags, ZWJ sequences) never match, here neither.
            let mut chars = emoji.chars();
            if let (Some(c), None) = (chars.next(), chars.next()) {
                map.insert(c, description.trim());
            }
        }
        map
    })
}

/// Python's `str.isupper()`: at least one cased character and no lower-case one.
fn is_upper(word: &str) -> bool {
    let mut cased = false;
    for c in word.chars() {
        if c.is_lowercase() {
            return false;
        }
        if c.is_uppercase() {
            cased = true;
        }
    }
    cased
}

fn lower(word: &str) -> Cow<'_, str> {
    if word.chars().any(|c| c.is_uppercase()) {
        Cow::Owned(word.to_lowercase())
    } else {
        Cow::Borrowed(word)
    }
}

/// Python's `token.strip(string.punctuation)`, kept only when more than two characters
/// remain (otherwise the token is likely an emoticon such as `:)` and stays whole).
fn strip_punc_if_word(token: &str) -> &str {
    let stripped = token.trim_matches(|c: char| c.is_ascii_punctuation());
    if stripped.chars().nth(2).is_none() {
        token
    } else {
        stripped
    }
}

struct Token<'a> {
    lower: Cow<'a, str>,
    upper: bool,
    /// The lexicon's valence of `lower`, looked up once.
    val: Option<f64>,
}

/// The scores VADER reports, plus the evidence counts kith uses for confidence.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Polarity {
    /// Normalised sum of valences in [-1, 1].
    pub compound: f64,
    pub pos: f64,
    pub neg: f64,
    pub neu: f64,
    /// Tokens that carried a non-zero valence after the rules.
    pub hits: usize,
    /// Sum of positive valences (each +1, as VADER counts them) and of negative ones.
    pub pos_sum: f64,
    pub neg_sum: f64,
}

/// A valence source: the VADER lexicon, optionally with domain overrides in front of it.
pub(crate) trait Valence {
    fn valence(&self, lower: &str) -> Option<f64>;
}

/// The unmodified VADER lexicon.
pub(crate) struct Plain;

impl Valence for Plain {
    fn valence(&self, lower: &str) -> Option<f64> {
        lexicon().get(lower).copied()
    }
}

/// VADER's `polarity_scores` with the plain lexicon: the Python package's numbers.
pub fn polarity_scores(text: &str) -> Polarity {
    polarity_scores_with(text, &Plain)
}

/// Emoji replaced by their lexicon descriptions, as separate words.
fn with_emoji_described(text: &str) -> String {
    let emo = emojis();
    let mut converted = String::with_capacity(text.len() + 16);
    let mut prev_space = true;
    for c in text.chars() {
        // Every emoji in the lexicon is outside ASCII: skip the lookup for ASCII.
        if let Some(description) = (!c.is_ascii()).then(|| emo.get(&c)).flatten() {
            if !prev_space {
                converted.push(' ');
            }
            converted.push_str(description);
            prev_space = false;
        } else {
            converted.push(c);
            prev_space = c == ' ';
        }
    }
    converted
}

pub(crate) fn polarity_scores_with(text: &str, lex: &dyn Valence) -> Polarity {
    // Every emoji in the lexicon is outside ASCII: ASCII text is its own conversion.
    let converted: Cow<'_, str> = if text.is_ascii() {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(with_emoji_described(text))
    };
    let text = converted.trim();

    let tokens: Vec<Token<'_>> = text
        .split_whitespace()
        .map(|t| {
            let orig = strip_punc_if_word(t);
            let lower = lower(orig);
            let val = lex.valence(&lower);
            Token {
                lower,
                upper: is_upper(orig),
                val,
            }
        })
        .collect();
    let upper_count = tokens.iter().filter(|t| t.upper).count();
    let diff = tokens.len() - upper_count;
    let is_cap_diff = 0 < diff && diff < tokens.len();

    let mut sentiments: Vec<f64> = Vec::with_capacity(tokens.len());
    for i in 0..tokens.len() {
        let item = &tokens[i].lower;
        if booster(item).is_some()
            || (i + 1 < tokens.len() && item == "kind" && tokens[i + 1].lower == "of")
        {
            sentiments.push(0.0);
            continue;
        }
        sentiments.push(sentiment_valence(&tokens, i, is_cap_diff));
    }
    but_check(&tokens, &mut sentiments);
    score_valence(&sentiments, text)
}

fn scalar_inc_dec(tok: &Token<'_>, valence: f64, is_cap_diff: bool) -> f64 {
    let Some(mut scalar) = booster(&tok.lower) else {
        return 0.0;
    };
    if valence < 0.0 {
        scalar *= -1.0;
    }
    if tok.upper && is_cap_diff {
        if valence > 0.0 {
            scalar += C_INCR;
        } else {
            scalar -= C_INCR;
        }
    }
    scalar
}

fn sentiment_valence(toks: &[Token<'_>], i: usize, is_cap_diff: bool) -> f64 {
    let w = |k: usize| -> &str { &toks[k].lower };
    let Some(base) = toks[i].val else {
        return 0.0;
    };
    let mut valence = base;
    let n = toks.len();
    if w(i) == "no" && i != n - 1 && toks[i + 1].val.is_some() {
        valence = 0.0;
    }
    if (i > 0 && w(i - 1) == "no")
        || (i > 1 && w(i - 2) == "no")
        || (i > 2 && w(i - 3) == "no" && matches!(w(i - 1), "or" | "nor"))
    {
        valence = base * N_SCALAR;
    }
    if toks[i].upper && is_cap_diff {
        if valence > 0.0 {
            valence += C_INCR;
        } else {
            valence -= C_INCR;
        }
    }
    for start_i in 0..3 {
        if i > start_i && toks[i - (start_i + 1)].val.is_none() {
            let mut s = scalar_inc_dec(&toks[i - (start_i + 1)], valence, is_cap_diff);
            if start_i == 1 && s != 0.0 {
                s *= 0.95;
            }
            if start_i == 2 && s != 0.0 {
                s *= 0.9;
            }
            valence += s;
            valence = negation_check(valence, toks, start_i, i);
            if start_i == 2 {
                valence = special_idioms_check(valence, toks, i);
            }
        }
    }
    least_check(valence, toks, i)
}

fn negation_check(valence: f64, toks: &[Token<'_>], start_i: usize, i: usize) -> f64 {
    let w = |k: usize| -> &str { &toks[k].lower };
    match start_i {
        0 => {
            if negated(w(i - 1)) {
                return valence * N_SCALAR;
            }
        }
        1 => {
            if w(i - 2) == "never" && matches!(w(i - 1), "so" | "this") {
                return valence * 1.25;
            } else if w(i - 2) == "without" && w(i - 1) == "doubt" {
                return valence;
            } else if negated(w(i - 2)) {
                return valence * N_SCALAR;
            }
        }
        _ => {
            if (w(i - 3) == "never" && matches!(w(i - 2), "so" | "this"))
                || matches!(w(i - 1), "so" | "this")
            {
                return valence * 1.25;
            } else if w(i - 3) == "without" && (w(i - 2) == "doubt" || w(i - 1) == "doubt") {
                return valence;
            } else if negated(w(i - 3)) {
                return valence * N_SCALAR;
            }
        }
    }
    valence
}

/// Every word that occurs in a special case or a multi-word booster: when none of the six
/// words around `i` is one of them, no sequence can match and the strings need not be built.
const IDIOM_WORDS: &[&str] = &[
    "the", "shit", "bomb", "bad", "ass", "badass", "bus", "stop", "yeah", "right", "kiss", "of",
    "death", "to", "die", "for", "beating", "heart", "just", "enough", "kind", "sort",
];

fn special_idioms_check(mut valence: f64, toks: &[Token<'_>], i: usize) -> f64 {
    let w = |k: usize| -> &str { &toks[k].lower };
    let hi = (i + 2).min(toks.len() - 1);
    if !(i - 3..=hi).any(|k| IDIOM_WORDS.contains(&w(k))) {
        return valence;
    }
    let onezero = format!("{} {}", w(i - 1), w(i));
    let twoonezero = format!("{} {} {}", w(i - 2), w(i - 1), w(i));
    let twoone = format!("{} {}", w(i - 2), w(i - 1));
    let threetwoone = format!("{} {} {}", w(i - 3), w(i - 2), w(i - 1));
    let threetwo = format!("{} {}", w(i - 3), w(i - 2));
    for seq in [&onezero, &twoonezero, &twoone, &threetwoone, &threetwo] {
        if let Some(v) = special_case(seq) {
            valence = v;
            break;
        }
    }
    let n = toks.len();
    if n - 1 > i
        && let Some(v) = special_case(&format!("{} {}", w(i), w(i + 1)))
    {
        valence = v;
    }
    if n - 1 > i + 1
        && let Some(v) = special_case(&format!("{} {} {}", w(i), w(i + 1), w(i + 2)))
    {
        valence = v;
    }
    for n_gram in [&threetwoone, &threetwo, &twoone] {
        if let Some(b) = booster(n_gram) {
            valence += b;
        }
    }
    valence
}

fn least_check(valence: f64, toks: &[Token<'_>], i: usize) -> f64 {
    let w = |k: usize| -> &str { &toks[k].lower };
    if i > 1 && toks[i - 1].val.is_none() && w(i - 1) == "least" {
        if w(i - 2) != "at" && w(i - 2) != "very" {
            return valence * N_SCALAR;
        }
    } else if i > 0 && toks[i - 1].val.is_none() && w(i - 1) == "least" {
        return valence * N_SCALAR;
    }
    valence
}

/// The contrastive "but": sentiment before the first "but" halves, after it grows by half.
/// Python finds each value's position with `list.index` (the first equal value); kept as is.
fn but_check(toks: &[Token<'_>], sentiments: &mut [f64]) {
    let Some(bi) = toks.iter().position(|t| t.lower == "but") else {
        return;
    };
    for k in 0..sentiments.len() {
        let v = sentiments[k];
        let Some(si) = sentiments.iter().position(|&x| x == v) else {
            continue;
        };
        if si < bi {
            sentiments[si] = v * 0.5;
        } else if si > bi {
            sentiments[si] = v * 1.5;
        }
    }
}

fn punctuation_emphasis(text: &str) -> f64 {
    let ep = text.matches('!').count().min(4) as f64 * 0.292;
    let qm_count = text.matches('?').count();
    let qm = if qm_count > 1 {
        if qm_count <= 3 {
            qm_count as f64 * 0.18
        } else {
            0.96
        }
    } else {
        0.0
    };
    ep + qm
}

fn score_valence(sentiments: &[f64], text: &str) -> Polarity {
    if sentiments.is_empty() {
        return Polarity::default();
    }
    let mut sum_s: f64 = sentiments.iter().sum();
    let amp = punctuation_emphasis(text);
    if sum_s > 0.0 {
        sum_s += amp;
    } else if sum_s < 0.0 {
        sum_s -= amp;
    }
    let compound = normalize(sum_s);
    let (mut pos_sum, mut neg_sum, mut neu_count) = (0.0, 0.0, 0usize);
    let mut hits = 0;
    for &s in sentiments {
        if s > 0.0 {
            pos_sum += s + 1.0;
            hits += 1;
        } else if s < 0.0 {
            neg_sum += s - 1.0;
            hits += 1;
        } else {
            neu_count += 1;
        }
    }
    let (raw_pos, raw_neg) = (pos_sum, neg_sum);
    if pos_sum > neg_sum.abs() {
        pos_sum += amp;
    } else if pos_sum < neg_sum.abs() {
        neg_sum -= amp;
    }
    let total = pos_sum + neg_sum.abs() + neu_count as f64;
    Polarity {
        compound,
        pos: (pos_sum / total).abs(),
        neg: (neg_sum / total).abs(),
        neu: (neu_count as f64 / total).abs(),
        hits,
        pos_sum: raw_pos,
        neg_sum: raw_neg,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(text: &str) -> f64 {
        (polarity_scores(text).compound * 10_000.0).round() / 10_000.0
    }

    /// Values printed by Python vaderSentiment 3.3.2 for its own demo sentences.
    #[test]
    fn matches_python_vader_on_its_demo_sentences() {
        assert_eq!(c("VADER is smart, handsome, and funny."), 0.8316);
        assert_eq!(c("VADER is smart, handsome, and funny!"), 0.8439);
        assert_eq!(c("VADER is very smart, handsome, and funny."), 0.8545);
        assert_eq!(c("VADER is VERY SMART, handsome, and FUNNY."), 0.9227);
        assert_eq!(c("VADER is VERY SMART, handsome, and FUNNY!!!"), 0.9342);
        assert_eq!(c("VADER is not smart, handsome, nor funny."), -0.7424);
        assert_eq!(c("At least it isn't a horrible book."), 0.431);
        assert_eq!(c("The book was only kind of good."), 0.3832);
        assert_eq!(c("Today SUX!"), -0.5461);
        assert_eq!(c("Make sure you :) or :D today!"), 0.8633);
        assert_eq!(c("Not bad at all"), 0.431);
        assert_eq!(c(""), 0.0);
    }
}
