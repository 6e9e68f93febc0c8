//! Conversation quality per thread (SPEC §4.4): a transparent 0–100 score from seven
//! components, each in [0, 1] with a fixed weight, all returned so that a view can show why a
//! thread scored what it did. A pure function over a [`ThreadSummary`] the caller builds.

/// What the score needs to know about one thread.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize)]
pub struct ThreadSummary {
    /// Someone other than the author responded.
    pub answered: bool,
    /// Seconds from the opening post to the first response by someone else.
    pub first_response_secs: Option<u64>,
    /// Accepted answer, marked solved, or the asker thanked a helper.
    pub resolved: bool,
    /// Distinct people who posted in the thread, the author included.
    pub participants: u32,
    /// Changes of speaker between consecutive messages (A→B→A has 2).
    pub reciprocity_turns: u32,
    /// Mean sentiment of the scored messages, in [-1, 1]; `None` when none was scored.
    pub mean_sentiment: Option<f64>,
    /// Messages in the thread with a hostile score, or removed/flagged by moderation.
    pub hostile_messages: u32,
    /// All messages in the thread.
    pub messages: u32,
}

/// One component: its value in [0, 1], its weight, and its points (value × weight).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Component {
    pub name: &'static str,
    pub value: f64,
    pub weight: f64,
    pub points: f64,
}

/// The score and its components; the points add up to the score.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ConversationQuality {
    /// 0–100.
    pub score: f64,
    pub components: Vec<Component>,
}

/// Weights in points (they add up to 100).
pub const WEIGHTS: [(&str, f64); 7] = [
    ("answered", 25.0),
    ("time_to_first_response", 15.0),
    ("resolved", 20.0),
    ("participants", 10.0),
    ("reciprocity", 10.0),
    ("sentiment", 10.0),
    ("civility", 10.0),
];

/// Scores a thread. Time to first response: full marks within 1 h, falling linearly on a
/// log scale to 0 at 72 h. Participants: 2 → 0.5, 3+ → 1. Reciprocity: 3+ turns → 1.
/// Sentiment: mean mapped from [-1, 1] to [0, 1], neutral (0.5) when nothing was scored.
/// Civility: 1 without hostile messages, 0 when a fifth or more are hostile.
pub fn conversation_quality(t: &ThreadSummary) -> ConversationQuality {
    let ttfr = match t.first_response_secs {
        None => 0.0,
        Some(s) if s <= 3600 => 1.0,
        Some(s) => {
            let h = s as f64 / 3600.0;
            (1.0 - h.ln() / 72f64.ln()).clamp(0.0, 1.0)
        }
    };
    let participants = match t.participants {
        0 | 1 => 0.0,
        2 => 0.5,
        _ => 1.0,
    };
    let reciprocity = (f64::from(t.reciprocity_turns) / 3.0).min(1.0);
    let sentiment = t
        .mean_sentiment
        .filter(|s| s.is_finite())
        .map_or(0.5, |s| (s.clamp(-1.0, 1.0) + 1.0) / 2.0);
    let civility = if t.messages == 0 {
        1.0
    } else {
        let share = f64::from(t.hostile_messages.min(t.messages)) / f64::from(t.messages);
        (1.0 - share * 5.0).max(0.0)
    };
    let values = [
        f64::from(u8::from(t.answered)),
        ttfr,
        f64::from(u8::from(t.resolved)),
        participants,
        reciprocity,
        sentiment,
        civility,
    ];
    let components: Vec<Component> = WEIGHTS
        .iter()
        .zip(values)
        .map(|(&(name, weight), value)| Component {
            name,
            value,
            weight,
            points: value * weight,
        })
        .collect();
    let score = components
        .iter()
        .map(|c| c.points)
        .sum::<f64>()
        .clamp(0.0, 100.0);
    ConversationQuality { score, components }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quick_resolved_friendly_exchange_scores_high() {
        let q = conversation_quality(&ThreadSummary {
            answered: true,
            first_response_secs: Some(600),
            resolved: true,
            participants: 3,
            reciprocity_turns: 4,
            mean_sentiment: Some(0.6),
            hostile_messages: 0,
            messages: 6,
        });
        assert!(q.score > 90.0, "{q:?}");
        let sum: f64 = q.components.iter().map(|c| c.points).sum();
        assert!((sum - q.score).abs() < 1e-9);
    }

    #[test]
    fn an_unanswered_thread_keeps_only_neutral_points() {
        let q = conversation_quality(&ThreadSummary {
            participants: 1,
            messages: 1,
            ..ThreadSummary::default()
        });
        assert_eq!(q.score, 15.0); // neutral sentiment 5 + civility 10
    }
}
