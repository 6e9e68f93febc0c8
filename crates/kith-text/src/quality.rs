//! Conversation quality per thread (SPEC §4.4): a transparent 0–100 score from seven
//! components, each in [0, 1] with a fixed weight, all returned so that a view can show why a
//! thread scored what it did. A pure function over a [`ThreadSummary`] the caller builds (the
//! analytics metric `conversation_quality` builds them from the snapshot, and its reference
//! SQL computes the same score).

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

/// Time to first response, in points of its component: full marks within 1 h, then steps
/// (≤ 4 h 0.75, ≤ 24 h 0.5, ≤ 72 h 0.25), 0 later or without a response. Steps rather than
/// a curve, so that the score can be recomputed by hand and in SQL.
pub fn first_response_value(secs: Option<u64>) -> f64 {
    match secs {
        None => 0.0,
        Some(s) if s <= 3_600 => 1.0,
        Some(s) if s <= 4 * 3_600 => 0.75,
        Some(s) if s <= 24 * 3_600 => 0.5,
        Some(s) if s <= 72 * 3_600 => 0.25,
        Some(_) => 0.0,
    }
}

/// Scores a thread. Answered and resolved: 1 or 0. Time to first response:
/// [`first_response_value`]. Participants: 2 → 0.5, 3+ → 1. Reciprocity: turns / 3, at most 1.
/// Sentiment: the mean mapped from [-1, 1] to [0, 1] as (1 + mean) / 2, neutral (0.5) when no
/// message was scored. Civility: 1 − 5 × (hostile share), at least 0 (0 when a fifth or more
/// of the messages are hostile). The score is the sum of value × weight in the order of
/// [`WEIGHTS`] (the reference SQL adds them in the same order, so both give the same bits).
pub fn conversation_quality(t: &ThreadSummary) -> ConversationQuality {
    let ttfr = first_response_value(t.first_response_secs);
    let participants = match t.participants {
        0 | 1 => 0.0,
        2 => 0.5,
        _ => 1.0,
    };
    let reciprocity = f64::from(t.reciprocity_turns.min(3)) / 3.0;
    let sentiment = t
        .mean_sentiment
        .filter(|s| s.is_finite())
        .map_or(0.5, |s| (1.0 + s.clamp(-1.0, 1.0)) / 2.0);
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
            points: weight * value,
        })
        .collect();
    let score = components.iter().fold(0.0, |sum, c| sum + c.points);
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

    // Answered in 2 h (0.75 × 15 = 11.25), not resolved, two people (0.5 × 10 = 5), two
    // turns (2/3 × 10), mean sentiment −0.2 ((1 − 0.2) / 2 = 0.4 × 10 = 4), one hostile message
    // of four (1 − 5/4 < 0: 0): 25 + 11.25 + 0 + 5 + 6.667 + 4 + 0 = 51.917.
    #[test]
    fn components_add_up_as_the_definition_says() {
        let q = conversation_quality(&ThreadSummary {
            answered: true,
            first_response_secs: Some(7_200),
            resolved: false,
            participants: 2,
            reciprocity_turns: 2,
            mean_sentiment: Some(-0.2),
            hostile_messages: 1,
            messages: 4,
        });
        let points: Vec<f64> = q.components.iter().map(|c| c.points).collect();
        let want = [25.0, 11.25, 0.0, 5.0, 20.0 / 3.0, 4.0, 0.0];
        for (got, want) in points.iter().zip(want) {
            assert!((got - want).abs() < 1e-9, "{points:?}");
        }
        assert!(
            (q.score - 51.916_666_666_666_67).abs() < 1e-9,
            "{}",
            q.score
        );
        assert_eq!(first_response_value(Some(3_600)), 1.0);
        assert_eq!(first_response_value(Some(3_601)), 0.75);
        assert_eq!(first_response_value(Some(72 * 3_600)), 0.25);
        assert_eq!(first_response_value(Some(72 * 3_600 + 1)), 0.0);
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
