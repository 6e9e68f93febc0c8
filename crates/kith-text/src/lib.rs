//! # kith-text
//!
//! kith's text intelligence: what members write, read locally and explainably.
//!
//! - **Sentiment** ([`sentiment`]): a faithful port of VADER 3.3.2 (lexicon and rules:
//!   boosters, negation window, "but" contrast, ALL-CAPS, `!`/`?` emphasis, "least",
//!   "kind of", idioms, `x/√(x²+15)`), run over the author's own prose (code, `>` quotes,
//!   stack traces and URLs removed), with a small domain adjustment for technical writing and
//!   a confidence from the lexicon evidence.
//! - **Hostility** ([`hostility`]): a separate [0, 1] score with its evidence — insults aimed
//!   at people, slurs, threats, harassment — so that a complaint or an angry bug report is
//!   negative but not hostile. Quoted and reported insults do not count.
//! - **Intents** ([`intent`]): question, answer, thanks (resolution), bug report, feature
//!   request, complaint, praise, introduction, announcement; several at once, each with the
//!   phrase that triggered it. Bug report, feature request, complaint, praise and
//!   announcement are decided by a learned linear model over the prose's words and the rules'
//!   view ([`learned`]), its evidence the probability and the words behind it.
//! - **Language** ([`language`]): offline identification. **Only English is supported** by the
//!   lexicon models; messages detected as another language are marked not scored
//!   ([`Analysis::scored`] is false) rather than scored wrong.
//! - **Conversation quality** ([`quality`]): a 0–100 score per thread with its components.
//!
//! ```
//! let a = kith_text::analyze("Thanks, that fixed it! You're a lifesaver.");
//! assert!(a.scored);
//! assert!(a.sentiment.score > 0.5);
//! assert!(a.intents.iter().any(|m| m.intent == kith_text::Intent::Thanks));
//! assert!(!a.hostility.is_hostile());
//! ```
//!
//! *Invariants*: pure functions, no I/O, no network, nothing read at run time (the VADER
//! lexicons, MIT licence in `data/VADER-LICENSE.txt`, and the learned model's weights are
//! compiled in); no panic on any input (property
//! tested); the same text always gives the same result. Accuracy is measured in
//! `docs/text-accuracy.md`.

pub mod chat;
pub mod eval;
pub mod hostility;
pub mod html;
pub mod intent;
pub mod language;
pub mod learned;
pub mod prose;
pub mod quality;
pub mod sentiment;
mod tokens;
pub mod vader;

pub use hostility::{AttackKind, Evidence, Hostility};
pub use intent::{Intent, IntentMatch, Role};
pub use language::Language;
pub use quality::{ConversationQuality, ThreadSummary, conversation_quality};
pub use sentiment::{Polarity3, Sentiment};

/// The version of the scoring rules and lexicons. Stored with every score: raising it makes
/// `kith rescore` (and the background pass of `kith serve`) recompute what an older version
/// scored. Raise it whenever a change to this crate can change any score, intent or language
/// decision.
pub const MODEL_VERSION: u32 = 17;

/// A message as a person reads it, when its text is markup: HTML ([`html`]: a Stack Exchange
/// post, a Discourse post without its raw text) or Slack's mentions, channels and labelled
/// links ([`chat`]). `None` for any other text, which reads as it is. Scoring reads prose from
/// it; views show it.
pub fn readable(text: &str) -> Option<String> {
    html::to_text(text).or_else(|| chat::to_text(text))
}

/// Everything kith reads from one message.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Analysis {
    pub language: Language,
    /// False when the language is not supported: sentiment, hostility and intents are then
    /// empty defaults and must not be counted.
    pub scored: bool,
    pub sentiment: Sentiment,
    pub hostility: Hostility,
    pub intents: Vec<IntentMatch>,
}

/// Analyses one message whose place in its thread is not known ([`Role::Unknown`]): see
/// [`analyze_in`].
pub fn analyze(text: &str) -> Analysis {
    analyze_in(text, Role::Unknown)
}

/// Analyses one message: language, then (for supported languages) sentiment, hostility and
/// intents over the author's prose. `role` is where the message stands in its thread (from
/// the store's structure: a post opens, a reply, answer or solution replies); the intent
/// rules use it (an answer is a reply, never an opening post), and with [`Role::Unknown`]
/// they read the text alone.
pub fn analyze_in(text: &str, role: Role) -> Analysis {
    analyze_with(text, role, false)
}

/// [`analyze_in`]; with `words`, the learned model's evidence names the words behind it.
fn analyze_with(text: &str, role: Role, words: bool) -> Analysis {
    let (mut analysis, prose, ctx) = analyze_by_rules(text, role);
    if let (Some(ctx), Some(model)) = (ctx, learned::Model::builtin()) {
        // The learned model decides its intents in place of their rules (whose outputs it
        // reads, all nine, before any is replaced); the others stay as the rules found them.
        let rule_bits = Intent::bits(&analysis.intents);
        analysis
            .intents
            .retain(|m| !learned::LEARNED.contains(&m.intent));
        for (intent, evidence) in model.decide_prose(&prose, &ctx, rule_bits, words) {
            analysis.intents.push(IntentMatch { intent, evidence });
        }
        analysis.intents.sort_by_key(|m| m.intent);
    }
    analysis
}

/// What the learned intent model ([`learned`]) reads of a message: its input computed from
/// the rules' view of it, before the model decides anything. `None` when the message's
/// language is not supported (it is not scored). Training uses it.
pub fn learned_input(text: &str, role: Role) -> Option<learned::Input> {
    let (analysis, prose, ctx) = analyze_by_rules(text, role);
    let rule_bits = Intent::bits(&analysis.intents);
    ctx.map(|ctx| learned::Input::new(&prose, &ctx, rule_bits))
}

/// The analysis by the rules alone, as [`analyze_in`] without the learned model: what the
/// rules' own tests check.
#[cfg(test)]
pub(crate) fn analyze_rules_in(text: &str, role: Role) -> Analysis {
    analyze_by_rules(text, role).0
}

/// [`analyze_rules_in`] for a message whose place in its thread is not known.
#[cfg(test)]
pub(crate) fn analyze_rules(text: &str) -> Analysis {
    analyze_rules_in(text, Role::Unknown)
}

/// The analysis by the rules alone, the author's prose, and (when the message is scored) the
/// context the rules read it with: what the learned model reads besides.
fn analyze_by_rules(text: &str, role: Role) -> (Analysis, String, Option<intent::Context>) {
    let prose = prose::extract(text);
    let language = language::detect(&prose.text);
    if !language.supported {
        let analysis = Analysis {
            language,
            scored: false,
            sentiment: Sentiment {
                score: 0.0,
                confidence: 0.0,
                evidence_words: 0,
                technical: false,
            },
            hostility: Hostility {
                score: 0.0,
                evidence: Vec::new(),
            },
            intents: Vec::new(),
        };
        return (analysis, prose.text, None);
    }
    let sentiment = sentiment::sentiment_of_prose(&prose);
    // One sentence split serves both rule sets unless quoted speech must be removed first.
    let quoted = prose.text.contains(['"', '“', '”']);
    let ss = tokens::sentences(&prose.text);
    let hostility = if quoted {
        hostility::hostility_of_prose(&prose.text)
    } else {
        hostility::hostility_of_sentences(&ss)
    };
    let ctx = intent::Context {
        sentiment: sentiment.score,
        technical: sentiment.technical,
        had_code: prose.had_code,
        had_trace: prose.had_trace,
        had_quote: prose.had_quote,
        hostile: hostility.is_hostile(),
        role,
    };
    let intents = intent::intents_of_sentences(&prose.text, &ss, ctx);
    let analysis = Analysis {
        language,
        scored: true,
        sentiment,
        hostility,
        intents,
    };
    (analysis, prose.text, Some(ctx))
}

/// A message's analysis with everything a view needs to show why: the [`Analysis`] (intents
/// with the phrase that triggered each, hostility with its evidence, language) plus the
/// lexicon words behind the sentiment. Recomputed from the text: for the same
/// [`MODEL_VERSION`] it matches the stored scores exactly.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Explanation {
    pub model_version: u32,
    #[serde(flatten)]
    pub analysis: Analysis,
    /// Lexicon words with their base valence (−4..4), in order of appearance.
    pub sentiment_words: Vec<(String, f64)>,
}

/// Explains a message's scores (see [`Explanation`]) when its place in the thread is not
/// known.
pub fn explain(text: &str) -> Explanation {
    explain_in(text, Role::Unknown)
}

/// Explains the scores of a message with its place in the thread (see [`analyze_in`]).
pub fn explain_in(text: &str, role: Role) -> Explanation {
    let analysis = analyze_with(text, role, true);
    let sentiment_words = if analysis.scored {
        sentiment::evidence(text)
    } else {
        Vec::new()
    };
    Explanation {
        model_version: MODEL_VERSION,
        analysis,
        sentiment_words,
    }
}
