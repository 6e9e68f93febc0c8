//! Inferred conversations for unthreaded chat: SPEC §4.0 *conversation window*.
//!
//! One [`Conversation`] per channel, fed the channel's human posts and replies in time order
//! (system messages and bot messages never take part). For each message it decides, by the
//! first rule that applies:
//!
//! 1. [`Rule::Quote`] / [`Rule::Mention`]: it replies to the most recent message it quotes, or
//!    whose author it mentions (whichever of those is most recent);
//! 2. [`Rule::SameAuthor`]: else, if its author's previous message is at most 15 minutes old,
//!    it continues that author's thread (replying to that previous message);
//! 3. [`Rule::Previous`]: else it replies to the previous message by someone else in the
//!    channel, if that one is at most 15 minutes old;
//! 4. [`Rule::Opens`]: else it opens a thread (its own id is the thread id).
//!
//! Memory per channel: the last message of each author seen (mentions have no time limit) and
//! the last [`RECENT`] messages by id (for quotes and native replies); nothing else.

use std::collections::{HashMap, VecDeque};

/// The default window: 15 minutes, in microseconds.
pub const WINDOW_MICROS: i64 = 15 * 60 * 1_000_000;
/// How many recent messages per channel can be found by id (quotes, native replies).
pub const RECENT: usize = 10_000;

/// One message offered to [`Conversation::place`].
#[derive(Debug, Clone, Copy)]
pub struct Message<'a> {
    pub id: &'a str,
    /// The platform user id of the author.
    pub author: &'a str,
    /// Epoch microseconds.
    pub ts: i64,
    /// Ids of earlier messages this one quotes.
    pub quotes: &'a [String],
    /// Platform user ids this message mentions.
    pub mentions: &'a [String],
}

/// Which rule placed a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    Quote,
    Mention,
    SameAuthor,
    Previous,
    Opens,
}

/// Where a message belongs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    /// The thread id: the id of the message that opened it.
    pub thread: String,
    /// The message replied to (`None` when the message opens the thread).
    pub reply_to: Option<String>,
    /// The author addressed (the replied-to message's author, unless that is the author
    /// themself; a same-author continuation keeps whom the previous message addressed).
    pub to: Option<String>,
    pub rule: Rule,
}

impl Placement {
    /// Whether the message opened a new (inferred) thread.
    pub fn opens(&self) -> bool {
        self.rule == Rule::Opens
    }
}

#[derive(Debug, Clone)]
struct Seen {
    id: String,
    author: String,
    thread: String,
    to: Option<String>,
    ts: i64,
}

/// The conversation state of one channel.
#[derive(Debug)]
pub struct Conversation {
    window: i64,
    last_by_author: HashMap<String, Seen>,
    /// The most recent message.
    last: Option<Seen>,
    /// The most recent message by someone other than `last`'s author.
    last_other: Option<Seen>,
    recent: HashMap<String, Seen>,
    order: VecDeque<String>,
}

impl Default for Conversation {
    fn default() -> Self {
        Conversation::new(WINDOW_MICROS)
    }
}

impl Conversation {
    /// A channel's state with a window in microseconds.
    pub fn new(window_micros: i64) -> Conversation {
        Conversation {
            window: window_micros,
            last_by_author: HashMap::new(),
            last: None,
            last_other: None,
            recent: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    /// The thread and author of a recent message, by id (for native replies).
    pub fn find(&self, id: &str) -> Option<(&str, &str)> {
        self.recent
            .get(id)
            .map(|s| (s.thread.as_str(), s.author.as_str()))
    }

    /// Places a message (fed in time order) and remembers it.
    pub fn place(&mut self, m: &Message<'_>) -> Placement {
        let placement = self.decide(m);
        let seen = Seen {
            id: m.id.to_owned(),
            author: m.author.to_owned(),
            thread: placement.thread.clone(),
            to: placement.to.clone(),
            ts: m.ts,
        };
        self.remember(seen);
        placement
    }

    /// Records a message placed by the platform itself (a native reply or thread), so that
    /// later messages can follow it.
    pub fn record(&mut self, id: &str, author: &str, ts: i64, thread: &str, to: Option<&str>) {
        self.remember(Seen {
            id: id.to_owned(),
            author: author.to_owned(),
            thread: thread.to_owned(),
            to: to.map(str::to_owned),
            ts,
        });
    }

    fn remember(&mut self, seen: Seen) {
        if self
            .last
            .as_ref()
            .is_some_and(|last| last.author != seen.author)
        {
            self.last_other = self.last.take();
        }
        self.last = Some(seen.clone());
        self.last_by_author
            .insert(seen.author.clone(), seen.clone());
        if self.recent.insert(seen.id.clone(), seen.clone()).is_none() {
            self.order.push_back(seen.id);
        }
        while self.order.len() > RECENT {
            if let Some(old) = self.order.pop_front() {
                self.recent.remove(&old);
            }
        }
    }

    fn decide(&self, m: &Message<'_>) -> Placement {
        // Rule 1: the most recent message quoted, or by an author mentioned.
        let mut best: Option<(&Seen, Rule)> = None;
        let quoted = m
            .quotes
            .iter()
            .filter_map(|q| self.recent.get(q))
            .map(|s| (s, Rule::Quote));
        let mentioned = m
            .mentions
            .iter()
            .filter(|who| who.as_str() != m.author)
            .filter_map(|who| self.last_by_author.get(who))
            .map(|s| (s, Rule::Mention));
        for (seen, rule) in quoted.chain(mentioned) {
            if seen.id == m.id {
                continue;
            }
            if best.is_none_or(|(b, _)| seen.ts > b.ts) {
                best = Some((seen, rule));
            }
        }
        if let Some((seen, rule)) = best {
            return reply(m, seen, rule);
        }
        // Rule 2: the same author within the window continues their thread.
        if let Some(own) = self.last_by_author.get(m.author)
            && m.ts - own.ts <= self.window
        {
            return Placement {
                thread: own.thread.clone(),
                reply_to: Some(own.id.clone()),
                to: own.to.clone(),
                rule: Rule::SameAuthor,
            };
        }
        // Rule 3: the previous message by someone else within the window.
        let previous = match &self.last {
            Some(last) if last.author != m.author => Some(last),
            _ => self.last_other.as_ref(),
        };
        if let Some(prev) = previous
            && m.ts - prev.ts <= self.window
        {
            return reply(m, prev, Rule::Previous);
        }
        Placement {
            thread: m.id.to_owned(),
            reply_to: None,
            to: None,
            rule: Rule::Opens,
        }
    }
}

fn reply(m: &Message<'_>, seen: &Seen, rule: Rule) -> Placement {
    let to = if seen.author == m.author {
        seen.to.clone()
    } else {
        Some(seen.author.clone())
    };
    Placement {
        thread: seen.thread.clone(),
        reply_to: Some(seen.id.clone()),
        to,
        rule,
    }
}

/// Collects the ids of inferred threads and hands them to the sink in batches.
#[derive(Debug, Default)]
pub struct InferredThreads {
    pending: Vec<String>,
}

impl InferredThreads {
    const BATCH: usize = 4096;

    pub fn push(&mut self, source: &str, thread: String, sink: &mut dyn crate::RecordSink) {
        self.pending.push(thread);
        if self.pending.len() >= Self::BATCH {
            self.flush(source, sink);
        }
    }

    pub fn flush(&mut self, source: &str, sink: &mut dyn crate::RecordSink) {
        if !self.pending.is_empty() {
            sink.inferred_threads(source, std::mem::take(&mut self.pending));
        }
    }
}
