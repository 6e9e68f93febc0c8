//! What kith-text read from each message, for the views that show messages (a member's
//! timeline, a thread): the stored scores (sentiment with its confidence, hostility, intents)
//! as badges, and why — the words and phrases behind them — recomputed from the message's text
//! by `kith_scoring::explain_stored` (evidence is not stored). The API serves the same record.

use std::collections::HashMap;

use kith_scoring::ScoredMessage;
use kith_store::{ActivityId, ExportedActivity, Store};
use kith_text::{AttackKind, Intent};
use maud::{Markup, html};

use crate::WebError;

/// A message's text score as a view shows it.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum TextView {
    /// Scored, with the explanation.
    Scored(Box<ScoredMessage>),
    /// Stored as not scored: a language the models do not support.
    NotScored {
        language: String,
        model_version: u32,
    },
    /// A message the scoring pass has not reached yet (it runs after each import and in the
    /// background of `kith serve`; `kith rescore` runs it by hand).
    Pending,
}

/// Whether kith-text scores activities of this kind (what the scoring pass reads).
fn is_message(a: &ExportedActivity) -> bool {
    kith_store::SCORED_KINDS.contains(&a.activity.kind)
        && a.activity.text.as_deref().is_some_and(|t| !t.is_empty())
}

/// The text views of `acts` by activity store id (activities that are not messages have
/// none). Call on a blocking thread: it reads the store and re-reads each message.
pub fn text_views(
    store: &dyn Store,
    acts: &[ExportedActivity],
) -> Result<HashMap<i64, TextView>, WebError> {
    let ids: Vec<ActivityId> = acts
        .iter()
        .filter(|a| is_message(a))
        .map(|a| a.id)
        .collect();
    let mut stored: HashMap<i64, kith_store::TextScore> = store
        .text_scores(&ids)?
        .into_iter()
        .map(|s| (s.activity.0, s))
        .collect();
    Ok(acts
        .iter()
        .filter(|a| is_message(a))
        .map(|a| {
            let view = match stored.remove(&a.id.0) {
                None => TextView::Pending,
                Some(s) if !s.scored => TextView::NotScored {
                    language: s.language,
                    model_version: s.model_version,
                },
                Some(s) => TextView::Scored(Box::new(kith_scoring::explain_stored(
                    &s,
                    a.activity.kind,
                    a.activity.text.as_deref().unwrap_or(""),
                ))),
            };
            (a.id.0, view)
        })
        .collect())
}

/// The text view of one activity: `None` when it is not a message (a reaction, a join, a
/// message without text).
pub fn text_view(store: &dyn Store, act: &ExportedActivity) -> Result<Option<TextView>, WebError> {
    Ok(text_views(store, std::slice::from_ref(act))?.remove(&act.id.0))
}

fn intent_label(i: Intent) -> String {
    i.as_str().replace('_', " ")
}

fn attack_label(k: AttackKind) -> &'static str {
    match k {
        AttackKind::Insult => "insult",
        AttackKind::Slur => "slur",
        AttackKind::Threat => "threat",
        AttackKind::Harassment => "harassment",
        AttackKind::DirectedProfanity => "profanity aimed at someone",
    }
}

/// Sentiment in [-1, 1] from ten-thousandths, signed.
fn signed(v: i16) -> String {
    format!("{:+.2}", f64::from(v) / 10_000.0)
}

/// Badges (sentiment, hostility, intents) and a "why" disclosure with the evidence.
pub fn render(view: Option<&TextView>) -> Markup {
    let Some(view) = view else {
        return html! {};
    };
    match view {
        TextView::Pending => html! {
            div.small.muted.scores { "Not scored yet: scoring runs after each import." }
        },
        TextView::NotScored { language, .. } => html! {
            div.small.muted.scores {
                span.badge title="kith-text scores English only; other languages are marked, not guessed" { "not scored: language " (language) }
            }
        },
        TextView::Scored(m) => {
            let s = &m.score;
            let confident = s.confidence >= 5_000;
            let (class, polarity) = if s.confidence == 0 {
                ("badge", "no sentiment")
            } else if !confident {
                ("badge", "unsure")
            } else if s.sentiment >= 500 {
                ("badge pos", "positive")
            } else if s.sentiment <= -500 {
                ("badge neg", "negative")
            } else {
                ("badge", "neutral")
            };
            let a = &m.explanation.analysis;
            html! {
                div.small.scores {
                    span class=(class) title={ "sentiment " (signed(s.sentiment)) " with confidence " (format!("{:.2}", f64::from(s.confidence) / 10_000.0)) } {
                        (polarity) " " (signed(s.sentiment))
                    }
                    @if s.hostile { " " span.badge.hostile title="insults, slurs, threats or harassment aimed at people" { "hostile " (format!("{:.2}", f64::from(s.hostility) / 10_000.0)) } }
                    @for i in &m.intents { " " span.badge { (intent_label(*i)) } }
                    " "
                    details.why {
                        summary { "why" }
                        ul {
                            li {
                                "Sentiment " (signed(s.sentiment)) ", confidence " (format!("{:.2}", f64::from(s.confidence) / 10_000.0))
                                @if confident { " (" (polarity) ")" } @else { " (below 0.5: counted as scored, not as positive or negative)" }
                                @if m.explanation.sentiment_words.is_empty() { ": no word of the sentiment lexicon." } @else {
                                    ": "
                                    @for (k, (word, valence)) in m.explanation.sentiment_words.iter().enumerate() {
                                        @if k > 0 { ", " }
                                        q { (word) } " " (format!("{valence:+.1}"))
                                    }
                                    "."
                                }
                                @if a.sentiment.technical { " Technical writing: error words are damped." }
                            }
                            li {
                                "Hostility " (format!("{:.2}", f64::from(s.hostility) / 10_000.0))
                                @if s.hostile { " (hostile at 0.50 or more)" } @else { " (not hostile)" }
                                @if !a.hostility.evidence.is_empty() {
                                    ": "
                                    @for (k, e) in a.hostility.evidence.iter().enumerate() {
                                        @if k > 0 { ", " }
                                        q { (e.matched) } " (" (attack_label(e.kind)) ")"
                                    }
                                }
                                "."
                            }
                            @if a.intents.is_empty() { li { "No intent recognised." } }
                            @for i in &a.intents {
                                li { (intent_label(i.intent)) ": " q { (i.evidence) } }
                            }
                            li.muted { "Language " (a.language.code) " (confidence " (format!("{:.2}", a.language.confidence)) "), model version " (m.score.model_version) "." }
                            @if !m.current {
                                li.muted { "The text was edited or the model changed since it was scored: this explains the current text; the stored score is recomputed by the next scoring pass." }
                            }
                        }
                    }
                }
            }
        }
    }
}
