//! SPEC §4.0 conversation window, rule by rule.

use kith_import::conversation::{Conversation, Message, Placement, Rule};

const MIN: i64 = 60 * 1_000_000;

struct Channel {
    c: Conversation,
}

impl Channel {
    fn new() -> Channel {
        Channel {
            c: Conversation::default(),
        }
    }

    fn say(&mut self, id: &str, author: &str, minute: i64) -> Placement {
        self.c.place(&Message {
            id,
            author,
            ts: minute * MIN,
            quotes: &[],
            mentions: &[],
        })
    }

    fn say_with(
        &mut self,
        id: &str,
        author: &str,
        minute: i64,
        quotes: &[&str],
        mentions: &[&str],
    ) -> Placement {
        let quotes: Vec<String> = quotes.iter().map(|s| s.to_string()).collect();
        let mentions: Vec<String> = mentions.iter().map(|s| s.to_string()).collect();
        self.c.place(&Message {
            id,
            author,
            ts: minute * MIN,
            quotes: &quotes,
            mentions: &mentions,
        })
    }
}

#[test]
fn a_first_message_opens_a_thread() {
    let mut ch = Channel::new();
    let p = ch.say("m1", "ann", 0);
    assert_eq!(
        p,
        Placement {
            thread: "m1".into(),
            reply_to: None,
            to: None,
            rule: Rule::Opens
        }
    );
    assert!(p.opens());
}

#[test]
fn someone_else_within_15_minutes_replies_to_the_previous_message() {
    let mut ch = Channel::new();
    ch.say("m1", "ann", 0);
    let p = ch.say("m2", "bob", 15);
    assert_eq!(
        (
            p.rule,
            p.thread.as_str(),
            p.reply_to.as_deref(),
            p.to.as_deref()
        ),
        (Rule::Previous, "m1", Some("m1"), Some("ann"))
    );
}

#[test]
fn someone_else_after_15_minutes_opens_a_new_thread() {
    let mut ch = Channel::new();
    ch.say("m1", "ann", 0);
    let p = ch.say("m2", "bob", 16);
    assert_eq!((p.rule, p.thread.as_str()), (Rule::Opens, "m2"));
}

#[test]
fn the_same_author_within_15_minutes_continues_their_thread() {
    let mut ch = Channel::new();
    ch.say("m1", "ann", 0);
    ch.say("m2", "bob", 1); // bob replies in ann's thread
    ch.say("m3", "cat", 30); // cat opens a new thread
    // bob again 14 min after his last message but right after cat's: his own thread wins.
    let p = ch.say("m4", "bob", 15);
    assert_eq!(
        (
            p.rule,
            p.thread.as_str(),
            p.reply_to.as_deref(),
            p.to.as_deref()
        ),
        (Rule::SameAuthor, "m1", Some("m2"), Some("ann"))
    );
}

#[test]
fn the_same_author_after_15_minutes_falls_back_to_the_previous_message_by_someone_else() {
    let mut ch = Channel::new();
    ch.say("m1", "ann", 0);
    ch.say("m2", "bob", 20);
    // ann 21 minutes after her own message, 1 minute after bob's: rule 3.
    let p = ch.say("m3", "ann", 21);
    assert_eq!(
        (
            p.rule,
            p.thread.as_str(),
            p.reply_to.as_deref(),
            p.to.as_deref()
        ),
        (Rule::Previous, "m2", Some("m2"), Some("bob"))
    );
}

#[test]
fn the_previous_message_by_someone_else_skips_the_authors_own_messages() {
    let mut ch = Channel::new();
    ch.say("m1", "ann", 0);
    ch.say("m2", "bob", 14);
    // bob's own message was 25 minutes ago and ann's is 11 minutes old... bob 25 min later:
    let p = ch.say("m3", "bob", 40);
    assert_eq!(p.rule, Rule::Opens);
    let mut ch = Channel::new();
    ch.say("m1", "ann", 0);
    ch.say("m2", "bob", 1);
    ch.say("m3", "bob", 10);
    // cat at 12: the previous message by someone else is bob's m3.
    let p = ch.say("m4", "cat", 12);
    assert_eq!(
        (p.rule, p.reply_to.as_deref()),
        (Rule::Previous, Some("m3"))
    );
}

#[test]
fn a_mention_replies_to_the_mentioned_authors_most_recent_message_at_any_distance() {
    let mut ch = Channel::new();
    ch.say("m1", "ann", 0);
    ch.say("m2", "ann", 5);
    ch.say("m3", "bob", 100);
    let p = ch.say_with("m4", "cat", 101, &[], &["ann"]);
    assert_eq!(
        (
            p.rule,
            p.thread.as_str(),
            p.reply_to.as_deref(),
            p.to.as_deref()
        ),
        (Rule::Mention, "m1", Some("m2"), Some("ann"))
    );
}

#[test]
fn a_quote_replies_to_the_quoted_message() {
    let mut ch = Channel::new();
    ch.say("m1", "ann", 0);
    ch.say("m2", "bob", 60);
    let p = ch.say_with("m3", "cat", 61, &["m1"], &[]);
    assert_eq!(
        (
            p.rule,
            p.thread.as_str(),
            p.reply_to.as_deref(),
            p.to.as_deref()
        ),
        (Rule::Quote, "m1", Some("m1"), Some("ann"))
    );
}

#[test]
fn quote_and_mention_pick_the_most_recent_target() {
    let mut ch = Channel::new();
    ch.say("m1", "ann", 0);
    ch.say("m2", "bob", 60);
    let p = ch.say_with("m3", "cat", 61, &["m1"], &["bob"]);
    assert_eq!((p.rule, p.reply_to.as_deref()), (Rule::Mention, Some("m2")));
}

#[test]
fn mentioning_yourself_or_an_unknown_user_does_not_count() {
    let mut ch = Channel::new();
    ch.say("m1", "ann", 0);
    let p = ch.say_with("m2", "ann", 30, &["nope"], &["ann", "zed"]);
    assert_eq!(p.rule, Rule::Opens);
}

#[test]
fn native_replies_recorded_can_be_followed() {
    let mut ch = Channel::new();
    ch.c.record("p1", "ann", 0, "p1", None);
    let p = ch.say("m2", "bob", 3);
    assert_eq!((p.rule, p.thread.as_str()), (Rule::Previous, "p1"));
    assert_eq!(ch.c.find("m2"), Some(("p1", "bob")));
}

#[test]
fn a_long_chain_of_quick_messages_stays_one_thread() {
    let mut ch = Channel::new();
    let authors = ["ann", "bob", "cat"];
    for i in 0..100 {
        let p = ch.say(&format!("m{i}"), authors[i % 3], i as i64 * 10);
        assert_eq!(p.thread, "m0");
    }
}
