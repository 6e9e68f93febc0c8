//! No input makes kith-text panic, and scores stay in their ranges.

use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_strings_never_panic(s in any::<String>()) {
        let a = kith_text::analyze(&s);
        prop_assert!((-1.0..=1.0).contains(&a.sentiment.score));
        prop_assert!((0.0..=1.0).contains(&a.sentiment.confidence));
        prop_assert!((0.0..=1.0).contains(&a.hostility.score));
    }

    #[test]
    fn community_shaped_text_never_panics(
        parts in proptest::collection::vec(
            prop_oneof![
                Just("```".to_string()), Just("> ".to_string()), Just("`".to_string()),
                Just("\n".to_string()), Just("\"".to_string()), Just("you ".to_string()),
                Just("idiot".to_string()), Just("?".to_string()), Just("not ".to_string()),
                Just("but ".to_string()), Just("kind of ".to_string()), Just("😀".to_string()),
                Just("https://x.y ".to_string()), Just("thanks".to_string()),
                "[a-zA-Z '!.,:-]{0,12}",
            ],
            0..40,
        )
    ) {
        let s: String = parts.concat();
        let _ = kith_text::analyze(&s);
        let _ = kith_text::vader::polarity_scores(&s);
    }

    #[test]
    fn quality_is_within_0_100(
        answered: bool, resolved: bool, ttfr in proptest::option::of(any::<u64>()),
        participants: u32, turns: u32, sent in proptest::option::of(any::<f64>()),
        hostile: u32, messages: u32,
    ) {
        let q = kith_text::conversation_quality(&kith_text::ThreadSummary {
            answered, first_response_secs: ttfr, resolved, participants,
            reciprocity_turns: turns, mean_sentiment: sent, hostile_messages: hostile, messages,
        });
        prop_assert!((0.0..=100.0).contains(&q.score));
    }
}
