//! Sentiment of a message: VADER over the author's prose (see `prose`), with a small domain
//! adjustment for technical communities, and a confidence from the amount and agreement of
//! lexicon evidence.

use crate::prose::Prose;
use crate::vader::{self, Polarity, Valence};

/// Words whose everyday valence misreads technical writing ("kill the process", "fatal
/// error", "merge conflict", "looks like", "Postgres support"). Applied only in a technical
/// context; the values keep a mild sign where the technical sense is still bad news.
fn domain(word: &str) -> Option<f64> {
    Some(match word {
        "kill" => -0.5,
        "kills" => -0.5,
        "killed" => -0.5,
        "killing" => -0.5,
        "killer" => -0.3,
        "dead" => -1.0,
        "die" => -0.8,
        "dies" => -0.8,
        "fatal" => -1.0,
        "panic" => -0.8,
        "panics" => -0.8,
        "block" => -0.3,
        "blocked" => -0.6,
        "dump" => 0.0,
        "bomb" => -0.8,
        "fire" => 0.0,
        "fires" => 0.0,
        "free" => 0.5,
        "like" => 0.3,
        "pretty" => 0.5,
        "critical" => -0.5,
        "warning" => -0.5,
        "conflict" => -0.5,
        "support" => 0.5,
        "ignore" => -0.3,
        "ignored" => -0.8,
        "cut" => 0.0,
        "exploit" => -0.8,
        "hell" => -1.5,
        _ => return None,
    })
}

/// Words that mark a message as technical even without code: the domain adjustment applies.
const TECH_MARKERS: &[&str] = &[
    "bug",
    "bugs",
    "crash",
    "crashes",
    "crashed",
    "error",
    "errors",
    "compile",
    "compiler",
    "build",
    "install",
    "config",
    "server",
    "api",
    "cli",
    "deploy",
    "docker",
    "process",
    "thread",
    "ci",
    "pr",
    "commit",
    "merge",
    "upgrade",
    "plugin",
    "database",
    "query",
    "logs",
    "stack",
    "segfault",
    "exception",
    "oom",
    "daemon",
    "worker",
    "workers",
    "script",
    "function",
    "flag",
    "sigkill",
    "import",
    "export",
    "release",
    "version",
    "repo",
    "branch",
    "cache",
    "container",
    "kubernetes",
    "endpoint",
    "backend",
    "frontend",
    "regression",
    "webhook",
    "test",
    "tests",
    "debug",
    "memory",
    "cpu",
    "node",
    "python",
    "rust",
    "java",
];

struct Domain;

impl Valence for Domain {
    fn valence(&self, lower: &str) -> Option<f64> {
        domain(lower).or_else(|| vader::lexicon().get(lower).copied())
    }
}

/// The sentiment of one message.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Sentiment {
    /// VADER compound in [-1, 1]: below −0.05 negative, above 0.05 positive.
    pub score: f64,
    /// [0, 1]: how much lexicon evidence there is and how much it agrees. 0 without evidence.
    pub confidence: f64,
    /// Words that carried valence.
    pub evidence_words: usize,
    /// The domain adjustment for technical writing was applied.
    pub technical: bool,
}

/// Polarity class with VADER's conventional ±0.05 thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum Polarity3 {
    Negative,
    Neutral,
    Positive,
}

impl Sentiment {
    pub fn class(&self) -> Polarity3 {
        if self.score >= 0.05 {
            Polarity3::Positive
        } else if self.score <= -0.05 {
            Polarity3::Negative
        } else {
            Polarity3::Neutral
        }
    }
}

fn is_technical(prose: &Prose) -> bool {
    // A word is a marker when it equals one ignoring ASCII case: lower-case its ASCII letters
    // (the markers are ASCII) and look it up.
    static MARKERS: std::sync::OnceLock<vader::FnvMap<String, ()>> = std::sync::OnceLock::new();
    let markers = MARKERS.get_or_init(|| {
        TECH_MARKERS
            .iter()
            .map(|m| (m.to_ascii_lowercase(), ()))
            .collect()
    });
    prose.is_technical()
        || prose.text.split(|c: char| !c.is_alphanumeric()).any(|w| {
            let mut buf = [0u8; 10];
            let bytes = w.as_bytes();
            if bytes.len() < 2 || bytes.len() > buf.len() {
                return false;
            }
            for (b, c) in buf.iter_mut().zip(bytes) {
                *b = c.to_ascii_lowercase();
            }
            std::str::from_utf8(&buf[..bytes.len()]).is_ok_and(|l| markers.contains_key(l))
        })
}

/// Sentiment of already-extracted prose.
pub fn sentiment_of_prose(prose: &Prose) -> Sentiment {
    let technical = is_technical(prose);
    let p = if technical {
        vader::polarity_scores_with(&prose.text, &Domain)
    } else {
        vader::polarity_scores(&prose.text)
    };
    from_polarity(p, technical)
}

/// Sentiment of a raw message (code, quotes, traces and URLs are removed first).
pub fn sentiment(text: &str) -> Sentiment {
    sentiment_of_prose(&crate::prose::extract(text))
}

fn from_polarity(p: Polarity, technical: bool) -> Sentiment {
    let total = p.pos_sum + p.neg_sum.abs();
    let confidence = if p.hits == 0 || total == 0.0 {
        0.0
    } else {
        let agreement = (p.pos_sum + p.neg_sum).abs() / total;
        let amount = 1.0 - 0.5f64.powi(p.hits.min(16) as i32);
        (amount * (0.4 + 0.6 * agreement)).clamp(0.0, 1.0)
    };
    Sentiment {
        score: p.compound,
        confidence,
        evidence_words: p.hits,
        technical,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn technical_violence_words_are_mild() {
        let s =
            sentiment("You can kill the stuck worker with kill -9, the supervisor restarts it.");
        assert!(s.score > -0.5, "{s:?}");
        assert!(s.technical);
    }

    #[test]
    fn quoted_text_and_code_do_not_count() {
        let s = sentiment("> this is horrible, awful, terrible\n```\nfatal error\n```\n");
        assert_eq!(s.score, 0.0);
        assert_eq!(s.confidence, 0.0);
    }

    #[test]
    fn everyday_text_is_plain_vader() {
        let t = "I love love love having good ppl in my corner.";
        assert_eq!(sentiment(t).score, vader::polarity_scores(t).compound);
    }
}

/// The lexicon words behind a message's sentiment, with their base valence (−4..4, before
/// VADER's rules for negation, boosters, "but" and emphasis), in order of appearance. For
/// showing a score's reasons; not on the scoring path.
pub fn evidence(text: &str) -> Vec<(String, f64)> {
    let prose = crate::prose::extract(text);
    let technical = is_technical(&prose);
    prose
        .text
        .split_whitespace()
        .filter_map(|t| {
            let t = t.trim_matches(|c: char| c.is_ascii_punctuation());
            let lower = t.to_lowercase();
            let v = if technical {
                Domain.valence(&lower)
            } else {
                vader::lexicon().get(lower.as_str()).copied()
            }?;
            (v != 0.0).then_some((lower, v))
        })
        .collect()
}

#[cfg(test)]
mod evidence_tests {
    #[test]
    fn evidence_lists_the_lexicon_words() {
        let e = super::evidence("The new docs are great, but the search is awful.");
        let words: Vec<&str> = e.iter().map(|(w, _)| w.as_str()).collect();
        assert_eq!(words, ["great", "awful"]);
    }
}
