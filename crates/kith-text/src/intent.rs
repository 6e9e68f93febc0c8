//! Intents of a message, by rules over phrases, question form and sentiment; several may hold
//! at once (an angry bug report is a bug report and a complaint). Each detected intent comes
//! with the phrase that triggered it.

use crate::tokens::{PhraseSet, Sentence, has_in_all, has_phrase, sentences};

/// What a message does in a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Intent {
    Question,
    Answer,
    /// Gratitude for help or a resolution (not "thanks in advance", not sarcasm).
    Thanks,
    BugReport,
    FeatureRequest,
    Complaint,
    Praise,
    Introduction,
    Announcement,
}

impl Intent {
    pub const ALL: [Intent; 9] = [
        Intent::Question,
        Intent::Answer,
        Intent::Thanks,
        Intent::BugReport,
        Intent::FeatureRequest,
        Intent::Complaint,
        Intent::Praise,
        Intent::Introduction,
        Intent::Announcement,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Intent::Question => "question",
            Intent::Answer => "answer",
            Intent::Thanks => "thanks",
            Intent::BugReport => "bug_report",
            Intent::FeatureRequest => "feature_request",
            Intent::Complaint => "complaint",
            Intent::Praise => "praise",
            Intent::Introduction => "introduction",
            Intent::Announcement => "announcement",
        }
    }

    pub fn parse(s: &str) -> Option<Intent> {
        Intent::ALL.into_iter().find(|i| i.as_str() == s)
    }

    /// The intent's bit in a stored bit set: `1 << (its position in [`Intent::ALL`])`, so
    /// question 1, answer 2, thanks 4, bug report 8, feature request 16, complaint 32,
    /// praise 64, introduction 128, announcement 256. Reference SQL tests `intents & bit`.
    pub const fn bit(self) -> u16 {
        1 << (self as u16)
    }

    /// The bit set of some intents.
    pub fn bits<'a>(intents: impl IntoIterator<Item = &'a IntentMatch>) -> u16 {
        intents.into_iter().fold(0, |b, m| b | m.intent.bit())
    }

    /// The intents of a bit set, in [`Intent::ALL`] order (unknown bits are ignored).
    pub fn from_bits(bits: u16) -> Vec<Intent> {
        Intent::ALL
            .into_iter()
            .filter(|i| bits & i.bit() != 0)
            .collect()
    }
}

/// One detected intent and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct IntentMatch {
    pub intent: Intent,
    /// The phrase or feature that triggered it.
    pub evidence: String,
}

/// What the intent rules need besides the prose.
#[derive(Debug, Clone, Copy, Default)]
pub struct Context {
    /// Sentiment score of the prose.
    pub sentiment: f64,
    /// The message had a code block or a stack trace.
    pub technical: bool,
    pub had_code: bool,
    pub had_trace: bool,
    /// Quoted lines (`>`) were removed: the message reacts to someone else's words.
    pub had_quote: bool,
    pub hostile: bool,
    /// Where the message stands in its thread, from the store's structure (never the text).
    pub role: Role,
}

/// Where a message stands in its thread, as the store knows it from the activity's kind: a
/// post opens a thread; a reply, an answer or a solution replies in one. `Unknown` when the
/// structure does not say (chat messages whose thread is only inferred, text given alone):
/// the rules then read the text alone, exactly as [`crate::analyze`] does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Starts a thread (a forum topic, a Q&A question, a mailing-list thread's first message).
    Opening,
    /// Replies in a thread (a reply, a Q&A answer or comment, a solution).
    Reply,
    #[default]
    Unknown,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Opening, Role::Reply, Role::Unknown];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Opening => "opening",
            Role::Reply => "reply",
            Role::Unknown => "unknown",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

pub(crate) const QUESTION_STARTS: &[&str] = &[
    "how do",
    "how can",
    "how to",
    "how would",
    "how are",
    "how long",
    "what's",
    "what is",
    "what does",
    "where can",
    "where do",
    "where are",
    "which",
    "does",
    "do i",
    "do you",
    "is there",
    "is it",
    "is anyone",
    "can i",
    "can someone",
    "can somebody",
    "could someone",
    "could you clarify",
    "any idea",
    "anyone know",
    "has anyone",
    "wondering",
    "looking for",
    "trying to understand",
    "help needed",
    "please help",
    "can't figure out",
    "any pointers",
    "any tips",
    "any recommendations",
    "i need to",
    "i was wondering",
    "curious how",
    "not sure where to ask",
    "who do i",
    "should i",
    "should the",
    "quick question",
    "newbie question",
    "i'm confused",
    "i'd love to know",
    "could someone",
    "any advice",
    "where's",
    "where is",
    "what's the best",
    "does anyone",
    "do you folks",
];

pub(crate) const REQUEST_PHRASES: &[&str] = &[
    "feature request",
    "feature req",
    "feature idea",
    "it would be great",
    "it would be nice",
    "would be nice",
    "would be great",
    "would be cool",
    "would be lovely",
    "would be even better",
    "would be very handy",
    "would help a lot",
    "would love",
    "i'd love",
    "i wish",
    "please add",
    "please consider",
    "please support",
    "please make",
    "please let us",
    "could we have",
    "could you add",
    "can you add",
    "could we get",
    "would you consider",
    "+1 for",
    "any chance",
    "is there any plan",
    "we need a way",
    "requesting",
    "i would like the ability",
    "would it be possible to add",
    "is it possible to add",
    "what about adding",
    "would it make sense",
    "hoping for",
    "might be worth adding",
    "it'd be",
    "could there be",
    "could the",
    "we'd really benefit",
    "would make it much easier",
    "one thing i'd love",
    "has anyone proposed",
    "adding support",
    "add support",
    "add the ability",
    "add an option",
    "suggestion for",
    "would save me",
    "plans for a",
    "i'd like to request",
    "would be handy",
    "would be useful",
    "make the api",
    "would be a nice",
    "we could add",
    "consider allowing",
    "consider adding",
    "why is there no",
    "there should be a",
];

pub(crate) const THANKS_WORDS: &[&str] = &[
    "thanks",
    "thank you",
    "thx",
    "ty",
    "appreciate it",
    "much appreciated",
    "cheers",
    "lifesaver",
    "owe you",
    "appreciate the",
    "many thanks",
    "big thanks",
    "thank",
];

pub(crate) const RESOLUTION: &[&str] = &[
    "solved",
    "resolved",
    "that did it",
    "that was it",
    "works now",
    "working now",
    "fixed it",
    "did the trick",
    "worked",
    "works",
    "fixed",
    "that answers",
    "got it",
    "all good",
    "makes sense",
    "spot on",
    "exactly what",
    "closing this",
    "accepted",
    "saved my",
    "explains",
    "fine now",
];

pub(crate) const NOT_THANKS: &[&str] = &[
    "thanks in advance",
    "thanks for nothing",
    "thank you in advance",
    "but it still",
    "but what about",
    "one more question",
    "didn't help",
    "for organising",
    "thank you for this",
    "thanks for this",
    "thank you to everyone",
    "thanks to everyone",
    "thanks to the",
    "for organizing",
    "thanks for having me",
    "would thank you",
    "thanks for any",
    "thank you for any",
    "thanks for raising",
    "thank you for raising",
];

pub(crate) const BUG_PHRASES: &[&str] = &[
    "crash",
    "crashes",
    "crashed",
    "bug",
    "broken",
    "fails",
    "failed",
    "panics",
    "segfault",
    "regression",
    "doesn't work",
    "does nothing",
    "silently",
    "off-by-one",
    "off by",
    "skips",
    "drops",
    "deadlock",
    "hang forever",
    "memory grows",
    "leak",
    "race condition",
    "reproduce",
    "502",
    "404",
    "blank page",
    "ignores",
    "exits 0",
    "disappear",
    "loses",
    "loses focus",
    "invalid",
    "unreadable",
    "fails with",
    "doesn't start",
    "nothing happens",
    "corrupt",
    "freezes",
    "stopped working",
    "chokes",
    "security issue",
    "xss",
    "deletes",
    "deleted all",
    "wiped",
    "logged out",
    "returns the wrong",
    "still shows",
    "still show",
    "breaks",
    "dies",
    "dying",
    "kills me",
    "is wrong",
    "mismatch",
    "shifted",
    "a 500",
    "500 when",
    "500 for",
    "errors from",
    "an error",
    "error:",
    "greys out",
    "sent twice",
    "fires twice",
    "header row twice",
    "the wrong total",
    "one day off",
    "hours off",
    "never goes back",
    "stays blank",
    "render empty",
];

pub(crate) const COMPLAINT_PHRASES: &[&str] = &[
    // The writer's grievance named as such, incomprehension at a decision, an ironic stance
    // and conduct the community suffers.
    "my problem is",
    "my problem with",
    "my issue is",
    "my issue with",
    "the real problem",
    "makes no sense",
    "makes little sense",
    "makes very little sense",
    "a mystery to me",
    "amusing that",
    "ironic that",
    "hilarious that",
    "barely tolerated",
    "censorship",
    "badgering",
    "witchhunt",
    "witch hunt",
    "witch-hunt",
    "acrimony",
    "personal abuse",
    "ad hominem",
    "bullies",
    "belittlement",
    "disappointed",
    "disappointing",
    "frustrating",
    "frustrated",
    "annoying",
    "annoyed",
    "ridiculous",
    "terrible",
    "awful",
    "not happy",
    "not a fan",
    "not impressed",
    "not thrilled",
    "tired of",
    "hate to",
    "dislike",
    "don't like",
    "way too",
    "too expensive",
    "too strict",
    "too slow",
    "poorly",
    "unusable",
    "a mess",
    "a joke",
    "nightmare",
    "disaster",
    "step backwards",
    "rushed",
    "not okay",
    "not cool",
    "disrespectful",
    "shameful",
    "so hard",
    "still not",
    "still there",
    "oh great",
    // Commas are dropped by the word split: "Great, another update …".
    "great another",
    "oh good",
    "yet another",
    "thanks for nothing",
    "brilliant idea",
    "can't wait to spend",
    "infuriating",
    "seriously",
    "come on",
    "letdown",
    "lets it down",
    "useless",
    "really poor",
    "are really poor",
    "pretty bad",
    "is pretty bad",
    "worse",
    "meh",
    "unhappy",
    "wearing me out",
    "give up",
    "never updated",
    "ignored",
    "snarky",
    "inconsistent",
    "not enough",
    "without notice",
    "without any",
    "shouldn't have to",
    "too slow",
    "awful",
    "do better",
    "angry",
    "really discouraging",
    "stop deleting",
    "aggressive",
    "confusing",
    "sure because",
    "still no",
    "a real problem",
    "been slow",
    "so flaky",
    "third time",
    "no acknowledgement",
    "unacceptable",
    "waste of time",
    "hard to",
    "painful",
    "clunky",
    "buggy",
    "bloated",
    "overpriced",
    "expensive",
    "ignoring",
    "no response",
    "no reply",
    "still waiting",
    "not helpful",
    "unhelpful",
    "rude",
    "toxic",
    "unfriendly",
    "condescending",
    "dismissive",
    "off-putting",
    "sucks",
    "crap",
    "junk",
    "why do i have to",
    "why can't",
    "how is it possible",
    "constantly",
    "keeps breaking",
    "no way to",
    "lack of",
    "lacks",
    "please stop",
    "not acceptable",
    "embarrassing",
    "unfortunately",
    "downgrade",
    "backwards",
    "not worth",
    "worst",
    "nobody finds",
    "so deep",
    "look into this",
    "report them",
    "reported to",
    "seems bad",
    "it's been",
];

pub(crate) const PRAISE_WORDS: &[&str] = &[
    "great",
    "awesome",
    "amazing",
    "love",
    "loving",
    "excellent",
    "fantastic",
    "brilliant",
    "kudos",
    "props",
    "congrats",
    "congratulations",
    "impressed",
    "best",
    "beautiful",
    "gorgeous",
    "wonderful",
    "superb",
    "hero",
    "gem",
    "well done",
    "nice work",
    "great job",
    "genius",
    "rock solid",
    "so much better",
    "polished",
    "smoothest",
    "a joy",
    "pleasure",
    "helpful",
    "flawless",
    "shoutout",
    "so good",
    "lovely",
    "keeps getting better",
    "better than",
    "clean code",
    "proud",
    "impressive",
    "thriving",
    "not bad",
    "can't believe how good",
    "exactly the tool",
    "made managing",
    "easier",
    "so smooth",
    "hands down",
    "amazed",
    "fascinating",
    "so cool",
    "very cool",
    "really cool",
    "pretty cool",
    "super cool",
    "killing it",
    "nailed it",
    "right decision",
    "right call",
    "really like",
    "really liked",
];

pub(crate) const INTRO_PHRASES: &[&str] = &[
    "i'm",
    "i am",
    "my name is",
    "my name's",
    "introducing myself",
    "quick intro",
    "new here",
    "new member",
    "just joined",
    "first post",
    "lurker",
    "finally making an account",
    "say hello",
    "nice to meet",
    "glad to join",
    "happy to be here",
    "having me",
    "new to the community",
    "im new",
];

const GREETINGS: &[&str] = &[
    "hi",
    "hello",
    "hey",
    "greetings",
    "g'day",
    "howdy",
    "hiya",
    "hey hey",
    "heya",
];

pub(crate) const ANNOUNCE_PHRASES: &[&str] = &[
    "is out",
    "released",
    "is available",
    "are available",
    "announcing",
    "announcement",
    "excited to announce",
    "psa",
    "reminder",
    "save the date",
    "registration",
    "now open",
    "open now",
    "maintenance window",
    "will be read-only",
    "will be shut down",
    "we've just published",
    "just published",
    "new blog post",
    "welcome to our",
    "starting today",
    "starting next week",
    "from now on",
    "effective immediately",
    "end of life",
    "we just shipped",
    "has moved",
    "deprecating",
    "is now on",
    "is live",
    "call for proposals",
    "looking for volunteers",
    "📢",
    "results are in",
    "final results",
    "new episode",
    "just released",
    "we're hosting",
    "is confirmed",
    "has joined",
    "we have updated",
    "we've received",
    "is published",
    "is tagged",
    "applications are open",
    "patch release",
    "security release",
    "new release",
    "hacktoberfest is here",
    "will be offline",
    "will be published",
    "we're migrating",
    "is archived",
    "is now split",
    "new maintainers",
    "will be signed",
    "release candidate",
    "now on youtube",
    "are now on",
    "closes on",
    "please upgrade",
    "there will be no more",
    "tickets for",
    "tickets are",
    "sign up",
    "seats are limited",
    "official mastodon",
    "downtime notice",
];

/// Question cues anywhere in a sentence (after a greeting, mid-sentence).
pub(crate) const QUESTION_ANYWHERE: &[&str] = &[
    "any idea",
    "anyone know",
    "does anyone",
    "has anyone",
    "how do i",
    "how can i",
    "how to",
    "wondering if",
    "wondering whether",
    "is there a way",
    "what's the best way",
    "i'd love to know",
];

/// Asking for help without a question mark, wherever it stands in the writer's own thread
/// ("Any help would be appreciated.", "Thanks in advance for any suggestions.", "I can't
/// figure out what I'm doing wrong."): on help lists and forums the opening post asks this
/// way as often as with a question.
pub(crate) const HELP_REQUEST: &[&str] = &[
    "any help",
    "any suggestion",
    "any suggestions",
    "any advice",
    "any hint",
    "any hints",
    "any pointer",
    "any pointers",
    "any ideas",
    "any thoughts",
    "any insight",
    "any guidance",
    "thanks in advance",
    "thank you in advance",
    "thanks for any",
    "would appreciate",
    "i'd appreciate",
    "would be grateful",
    "would be very grateful",
    "grateful for any",
    "appreciate any",
    "please advise",
    "help is appreciated",
    "help is much appreciated",
    "help would be",
    "i'm wondering",
    "i am wondering",
    "i was wondering",
    "can't figure out",
    "cannot figure out",
    "not sure how to",
    "don't know how to",
    "what am i doing wrong",
    "what i'm doing wrong",
    "what am i missing",
    "i'm stuck",
    "i am stuck",
];

/// Answer cues anywhere: the reply explains or points somewhere.
pub(crate) const ANSWER_ANYWHERE: &[&str] = &[
    "means",
    "is documented",
    "is described",
    "is in the",
    "are in the",
    "you can",
    "should do it",
    "use the",
    "is per",
    "default is",
    "includes",
    "allows",
    "caches",
    "you need",
    "has to",
    "you have to",
    "go to",
    "are mit",
    "is mit",
    "hang out in",
];

/// Request cues at the start of a sentence ("Suggestion: …", "Idea: …", "Allow …").
pub(crate) const REQUEST_STARTS: &[&str] = &[
    "suggestion",
    "idea",
    "proposal",
    "allow",
    "rfc",
    "wishlist",
    "feature",
];

pub(crate) const ANSWER_STARTS: &[&str] = &[
    "you need",
    "you can",
    "you have to",
    "you're hitting",
    "try",
    "use",
    "set",
    "run",
    "add",
    "check",
    "it's in",
    "yes",
    "no",
    "not out of the box",
    "that's a known",
    "that's intended",
    "i had the same",
    "works for me",
    "here is",
    "here's",
    "in my experience",
    "the problem is",
    "this happens",
    "that error means",
    "looks like your",
    "pretty sure",
    "the trick is",
    "as far as i know",
    "the answer is",
    "stop the",
    "deleting",
    "expect",
    "i think what you want",
    "it's a",
    "we use",
    "this is covered",
    "just checked",
    "sudo",
    "in the docs",
    "it's the",
    "the api",
    "change",
    "that's a",
    "run",
    "remove",
    "sync",
    "look at",
    "ping",
    "go to",
    "the default is",
    "start",
    "look",
    "allow",
    "open",
    "install",
    "enable",
    "disable",
    "restart",
    "update",
    "upgrade",
    "delete",
    "make sure",
    "go",
    "read",
    "see",
    "pass",
    "edit",
    "clear",
    "increase",
    "give",
    "put",
    "map",
    "there's no",
    "there is no",
];

/// The first phrase of `set` that opens a sentence, sentence by sentence (in a sentence, list
/// order is priority): [`any_sentence_starts`] over the cached hits.
fn sentence_start(ss: &[Sentence], set: PhraseSet) -> Option<String> {
    ss.iter()
        .find_map(|s| set.first_among(s.hits().iter().filter(|h| h.start == 0)))
        .map(str::to_string)
}

fn any_sentence_starts(ss: &[Sentence], starts: &[&str]) -> Option<String> {
    for s in ss {
        for p in starts {
            if s.joined.starts_with(p)
                && (s.joined.len() == p.len() || s.joined.as_bytes()[p.len()] == b' ')
            {
                return Some((*p).to_string());
            }
        }
    }
    None
}

fn find(ss: &[Sentence], set: PhraseSet) -> Option<String> {
    set.first_in_all(ss).map(str::to_string)
}

/// Intents of already-extracted prose (lower-cased matching; `raw` is the original message,
/// used for cues that prose extraction removes, such as `?` inside an error quote).
pub fn intents_of_prose(prose: &str, ctx: Context) -> Vec<IntentMatch> {
    intents_of_sentences(prose, &sentences(prose), ctx)
}

/// Intents of prose already split into sentences (`ss` must be `sentences(prose)`).
pub(crate) fn intents_of_sentences(prose: &str, ss: &[Sentence], ctx: Context) -> Vec<IntentMatch> {
    // The rules read the sentences' text joined with " | " (a phrase never spans two): the
    // phrase lists through the sentences' cached hits, other tests sentence by sentence.
    // Only the thanks rules look at punctuation the word split drops.
    let lower = if PhraseSet::THANKS.first_in_all(ss).is_some() {
        prose.to_lowercase()
    } else {
        String::new()
    };
    // Length-aware evidence: a post or a long reply argues over many sentences, so one
    // question mark, one praise word or one sour phrase in the middle of it does not decide
    // what the message does (its opening and closing sentences do).
    let words = ss.iter().map(Sentence::word_count).sum::<usize>();
    let long = words >= LONG_WORDS;
    // Where the message stands, from the store's structure: a reply never opens a thread
    // whatever its first line looks like; otherwise a title line then a blank line says so.
    let role = ctx.role;
    let opens = role != Role::Reply && titled(prose);
    // Where a long message does what it does: a post up front (its first two sentences) or in
    // closing; a long reply in its first sentence, the rest arguing the matter discussed
    // ("it would be nice if …", "it doesn't work with history" there weigh an idea).
    let leads = |i: usize, n: usize| {
        if role == Role::Reply {
            i == 0
        } else {
            i <= 1 || i + 1 == n
        }
    };
    // A question inside quoted speech is someone else's ("\"What is truth?\" Pilate asked"),
    // one in parentheses an aside ("(so far?)"), and in a long message a list of questions
    // lists other people's (the week's questions, the options discussed).
    let asked_prose;
    let qss: &[Sentence] = if prose.contains('?') {
        let asked = asked_text(prose, long);
        // Nothing removed (the text plus the newline closing its last line): the same
        // sentences, already split and scanned.
        if asked.strip_suffix('\n') == Some(prose) {
            ss
        } else {
            asked_prose = sentences(&asked);
            &asked_prose
        }
    } else {
        ss
    };
    let mut out = Vec::new();
    let mut add = |intent: Intent, evidence: String| {
        out.push(IntentMatch { intent, evidence });
    };

    let intro = intro(prose, ss);
    // Questions listed or quoted in it (a challenge's results) do not make a post ask.
    let announce = if intro.is_none() && !qss.iter().any(|s| s.question) {
        // Like a request, a long post announces up front; "is out" or "released" further in
        // is talked about ("SFF is out of beta", "games are released").
        find(ss, PhraseSet::ANNOUNCE)
            .filter(|_| {
                !long
                    || ss
                        .iter()
                        .take(if role == Role::Reply { 1 } else { 2 })
                        .any(|s| PhraseSet::ANNOUNCE.first_in(s).is_some())
            })
            .or_else(|| notice(ss))
            .or_else(|| event_news(ss, long))
            .filter(|_| PhraseSet::COMPLAINT.first_in_all(ss).is_none())
    } else {
        None
    };
    let request = find(ss, PhraseSet::REQUEST)
        .or_else(|| sentence_start(ss, PhraseSet::REQUEST_STARTS))
        .filter(|_| announce.is_none() && !has_in_all(ss, "i'd love to know"))
        // "That would be cool." replies to an idea; "+1 for making the distinction" agrees.
        .filter(|r| !seconds_an_idea(ss, r))
        // Like a defect, a post asks for a feature up front or in closing; "it would be
        // nice if …" in the middle of a long reply is a remark on the way.
        .filter(|_| {
            !long
                || ss.iter().enumerate().any(|(i, s)| {
                    leads(i, ss.len())
                        && (PhraseSet::REQUEST.first_in(s).is_some()
                            || sentence_start(std::slice::from_ref(s), PhraseSet::REQUEST_STARTS)
                                .is_some())
                })
        })
        // An opening post proposes a change up front: "I suggest allowing them", "We need a
        // notification system …" in its title or first sentences.
        .or_else(|| {
            (role == Role::Opening && announce.is_none())
                .then(|| {
                    ss.iter().take(3).find_map(|s| {
                        ["i suggest", "we need a", "i propose", "how about"]
                            .into_iter()
                            .find(|p| s.has(p))
                            .map(str::to_string)
                    })
                })
                .flatten()
        });
    // A long message thanks in its opening; a thanks word closing it ("Cheers", "appreciate
    // it") signs off.
    // A reply that thanks someone for something ("Thanks for the pointer.", "thank you for
    // this info", "Thanks to Tomas for pointing me in the right direction") thanks wherever
    // it says so: gratitude with its object is no sign-off.
    // Not thanks in advance or politeness for a report ("thanks for any hints", "thank you
    // for raising this").
    let thanked_for = |s: &Sentence| {
        [
            "thanks for",
            "thank you for",
            "thanks to",
            "thank you to",
            "i thank you",
        ]
        .iter()
        .any(|p| has_phrase(&s.joined, p))
            && ![
                "for any",
                "for raising",
                "for reporting",
                "for asking",
                "for bringing",
                "for reading",
                "for your patience",
                "for your time",
                "for coming",
                "in advance",
            ]
            .iter()
            .any(|p| has_phrase(&s.joined, p))
    };
    let thanks_word = find(ss, PhraseSet::THANKS).filter(|_| {
        !long
            || ss
                .iter()
                .take(2)
                .any(|s| PhraseSet::THANKS.first_in(s).is_some())
            || (role == Role::Reply && ss.iter().any(thanked_for))
    });
    // "Thanks a lot." after bad news, "thanks for the \"quick\" reply": sarcasm.
    let sarcastic = (has_in_all(ss, "thanks a lot")
        && (ctx.sentiment < 0.0 || PhraseSet::COMPLAINT.first_in_all(ss).is_some()))
        || lower.contains("thanks for the \"");
    let not_thanks = find(ss, PhraseSet::NOT_THANKS)
        .or_else(|| {
            lower
                .contains("thanks, but")
                .then(|| "thanks, but".to_string())
        })
        .or_else(|| sarcastic.then(|| "sarcastic thanks".to_string()));
    let resolution = find(ss, PhraseSet::RESOLUTION);
    // Unless it thanks for a resolution ("thanks, that worked. Still absurd, but …").
    let not_thanks = not_thanks.or_else(|| {
        (thanks_word.is_some() && resolution.is_none())
            .then(|| thanks_then_but(ss))
            .flatten()
    });
    let answer_cue = sentence_start(ss, PhraseSet::ANSWER_STARTS)
        .or_else(|| find(ss, PhraseSet::ANSWER_ANYWHERE))
        .or_else(|| {
            (role == Role::Reply && qss.iter().any(|s| s.question && suggests(s)))
                .then(|| "suggestion".to_string())
        });
    let bug = find(ss, PhraseSet::BUG)
        .filter(|b| {
            b != "bug"
                || !["bug fixes", "bug bash", "tagged bug", "bug report template"]
                    .iter()
                    .any(|x| has_in_all(ss, x))
        })
        // A post reports its defect up front (title, opening or closing sentence); in the
        // middle of a long argument "doesn't work" or "is wrong" judges an idea.
        .filter(|_| {
            !long
                || ss
                    .iter()
                    .enumerate()
                    .any(|(i, s)| leads(i, ss.len()) && PhraseSet::BUG.first_in(s).is_some())
        })
        .or_else(|| ctx.had_trace.then(|| "stack trace".into()))
        .or_else(|| failure_title(prose).filter(|_| role != Role::Reply));
    // Clearly negative prose that does nothing else (asks, reports a bug, requests, announces)
    // is a complaint; mildly negative prose only then, strongly negative prose anyway.
    let plain =
        bug.is_none() && request.is_none() && announce.is_none() && !ss.iter().any(|s| s.question);
    // VADER's compound grows with the number of sentiment words, so over a long message a
    // mildly negative tone reaches the thresholds of a short one: demand more of it.
    let negative_enough = if long {
        ctx.sentiment <= -0.6
    } else {
        ctx.sentiment <= -0.5 || (plain && ctx.sentiment <= -0.3)
    };
    // In a long message a mild cue (a difficulty, a lack, a positive negated) argues a point
    // about the matter discussed; there only a cue of dissatisfaction complains.
    let cue_counts = |c: &str| !long || !mild_complaint(c);
    // A hypothetical ("roll me back if it looks terrible") is no grievance: a phrase cue
    // counts in a sentence where no "if" or "unless" comes before it.
    let stated = |c: &str| {
        ss.iter().any(|s| {
            has_phrase(&s.joined, c)
                && !s.joined.find(c).is_some_and(|at| {
                    s.joined[..at]
                        .split(' ')
                        .any(|w| matches!(w, "if" | "unless"))
                })
        })
    };
    let complaint = PhraseSet::COMPLAINT
        .all_in_all(ss)
        .into_iter()
        .find(|c| cue_counts(c) && stated(c))
        .map(str::to_string)
        .or_else(|| sarcastic.then(|| "sarcastic thanks".to_string()))
        .or_else(|| downvoted(prose))
        .or_else(|| why_done_to(qss))
        .or_else(|| done_to_mine(ss).filter(|_| !ctx.hostile))
        .or_else(|| {
            complaint_pattern(ss).filter(|c| answer_cue.is_none() && !ctx.hostile && cue_counts(c))
        })
        .or_else(|| {
            complaint_shape(ss, prose)
                .filter(|c| answer_cue.is_none() && !ctx.hostile && cue_counts(c))
        })
        // A negative tone is a complaint only when the message names what it is unhappy
        // with: the community, its process or its people, or the product (a sad story, an
        // apology or a grim historical topic is negative without complaining).
        .or_else(|| {
            (negative_enough
                && !ctx.technical
                && !ctx.hostile
                && answer_cue.is_none()
                && PhraseSet::GRIEVANCE_TARGETS.first_in_all(ss).is_some())
            .then(|| format!("sentiment {:.2}", ctx.sentiment))
        })
        // Under an attack, "useless" or "a joke" is the insult, not a complaint.
        .filter(|c| !ctx.hostile || !matches!(c.as_str(), "useless" | "a joke" | "crap" | "sucks"))
        // "backwards" judges, "backwards compatibility" does not.
        .filter(|c| c != "backwards" || !ss.iter().any(|s| s.joined.contains("backwards compatib")))
        // An attack over a defect is an angry bug report: dissatisfaction with the product
        // as well as hostility (a bare insult is hostility only).
        .or_else(|| (ctx.hostile && bug.is_some()).then(|| "hostile bug report".into()));

    // Question: a sentence ending in "?" or a question opening, unless it is a request phrased
    // as a question or a rhetorical attack.
    // In a long message its first or last sentence asks, or a question put to the readers
    // ("can we …?", "how do I …?"); rhetorical forms never do.
    // A long message's question is also worded as one ("is it …?", not "perhaps we can
    // combine them?").
    // An opening post asks the readers wherever its question stands.
    // In a reply, a suggestion put as a question ("Have you tried …?", "Could you not skip
    // these tests?", "I think quote(x) will work here?") answers: it does not ask.
    let suggestion = |s: &Sentence| role == Role::Reply && suggests(s);
    let asks = |i: usize, s: &Sentence| {
        s.question
            && !suggestion(s)
            && !rhetorical_form(s)
            && (!long
                // The writer's own thread asks with any question it puts ("So my question is
                // whether …?"), worded as one or not.
                || role == Role::Opening
                || (interrogative(s)
                    && ((role != Role::Reply && (i <= 1 || i + 1 == qss.len()))
                        || PhraseSet::DIRECT_QUESTION.first_in(s).is_some()
                        // A reply's question to the one it answers, to anyone or about the
                        // writer's own case ("Which version do you use?", "Has anyone
                        // managed that?", "Is this something I can fix on my side?").
                        || (role == Role::Reply && addressed(s)))))
    };
    let qmark = qss.iter().enumerate().any(|(i, s)| asks(i, s));
    let opening = if long { &qss[..qss.len().min(1)] } else { qss };
    let qstart = sentence_start(opening, PhraseSet::QUESTION_STARTS)
        .or_else(|| {
            (!long)
                .then(|| find(ss, PhraseSet::QUESTION_ANYWHERE))
                .flatten()
        })
        // A thread's opening post that asks for help in so many words, wherever
        // ("Any help would be appreciated.", "thanks in advance"); a reply too when it puts
        // the plea as a question ("Any suggestions on how this could be resolved?").
        .or_else(|| {
            (role == Role::Opening)
                .then(|| find(ss, PhraseSet::HELP_REQUEST))
                .flatten()
                .or_else(|| {
                    qss.iter()
                        .filter(|s| s.question && !suggests(s))
                        .find_map(|s| PhraseSet::HELP_REQUEST.first_in(s))
                        .map(str::to_string)
                })
        })
        // An opening post titled with a question, with or without its "?" ("Should we
        // authorize a list of reference questions").
        .or_else(|| {
            (opens
                && qss.first().is_some_and(|s| {
                    (interrogative(s) || (role == Role::Opening && s.question))
                        && !rhetorical_form(s)
                }))
            .then(|| "question title".to_string())
        });
    // An opening post asks its "why …?" ("Why was this question removed?"): rhetoric argues
    // in a thread someone else opened.
    let rhetorical = ctx.hostile
        || (qmark
            && role != Role::Opening
            && complaint
                .as_deref()
                .is_some_and(|c| !c.starts_with("why …"))
            && qss
                .iter()
                .enumerate()
                .filter(|&(i, s)| asks(i, s))
                .all(|(_, s)| s.joined.starts_with("why") || incredulous(s).is_some()));
    let direct_request = request.as_deref().is_some_and(|r| {
        !matches!(
            r,
            "is there any plan"
                | "plans for"
                | "has anyone proposed"
                | "would you consider"
                | "why is there no"
                | "i suggest"
                | "we need a"
                | "i propose"
                | "how about"
        )
    });
    let question = if (qmark || qstart.is_some()) && !rhetorical && !direct_request {
        Some(if qmark {
            "?".to_string()
        } else {
            qstart.clone().unwrap_or_default()
        })
    } else {
        None
    };
    // A thread opened to describe a problem of the writer's own asks for help with it, even
    // without a question ("Hi, I am receiving a NOTE upon submission regarding …").
    let question = question.or_else(|| {
        (role == Role::Opening && !direct_request && announce.is_none() && intro.is_none())
            .then(|| {
                ss.iter().take(3).find_map(|s| {
                    [
                        "i am receiving",
                        "i'm receiving",
                        "i am getting",
                        "i'm getting",
                        "i get an",
                        "i get the",
                        "i got an",
                        "i got the",
                        "i keep getting",
                        "i am having",
                        "i'm having",
                        "i have a problem",
                        "i have an issue",
                        "i am unable",
                        "i'm unable",
                        "i am trying",
                        "i'm trying",
                        "i tried to",
                        "i try to",
                        "fails with",
                        "is failing",
                        "keeps failing",
                    ]
                    .into_iter()
                    .find(|p| s.has(p))
                    .map(|p| format!("problem: {p}"))
                })
            })
            .flatten()
    });

    // "Would you mind …? Thanks.": thanks that only closes a request or a question, with
    // nothing resolved, is politeness in advance.
    // The same after a plea for help without a question mark ("If you have someone to
    // recommend, I would appreciate the lead. Thanks.").
    // A message that asks presents its writer only by name ("Hi, I'm Ana. How do I …?");
    // "I'm new to R", "I am the developer of …", "I just joined the list" there preface the
    // question (the guide: being new as the reason for a question is no introduction).
    let intro = intro.filter(|_| question.is_none() || names_self(prose));
    let closing_politeness = resolution.is_none()
        && ss.len() >= 2
        && ((question.is_some() && ss[ss.len() - 2].question)
            || PhraseSet::HELP_REQUEST
                .first_in(&ss[ss.len() - 2])
                .is_some())
        && ss[..ss.len() - 1].iter().all(|s| {
            PhraseSet::THANKS.first_in(s).is_none() || PhraseSet::HELP_REQUEST.first_in(s).is_some()
        });
    let thanks = match (&thanks_word, &not_thanks) {
        _ if intro.is_some() || announce.is_some() || closing_politeness => None,
        (Some(w), None) => Some(w.clone()),
        // Without a thanks word, only an explicit resolution opening a sentence counts.
        (None, None) => resolution.as_ref().and_then(|_| {
            any_sentence_starts(
                ss,
                &[
                    "solved",
                    "resolved",
                    "problem solved",
                    "that did it",
                    "that was it",
                ],
            )
        }),
        _ => None,
    };

    if let Some(e) = &intro {
        add(Intent::Introduction, e.clone());
    }
    if let Some(e) = &announce {
        add(Intent::Announcement, e.clone());
    }
    if let Some(e) = &question {
        add(Intent::Question, e.clone());
    }
    if let Some(e) = &thanks {
        add(Intent::Thanks, e.clone());
    }
    if let Some(e) = &request
        && intro.is_none()
        && thanks.is_none()
    {
        add(Intent::FeatureRequest, e.clone());
    }
    let bug = bug
        .filter(|_| announce.is_none() && intro.is_none() && thanks.is_none() && request.is_none());
    if let Some(e) = &bug {
        add(Intent::BugReport, e.clone());
    }
    if let Some(e) = &complaint
        && thanks.is_none()
        && announce.is_none()
    {
        add(Intent::Complaint, e.clone());
    }
    // Praise is judged per sentence: not in a sentence that thanks, asks or requests
    // ("thanks, great answer" is thanks; "I'd love an option" is a request).
    // In a long message praise is a short sentence of its own or the opening one ("Great
    // analysis."), not a praise word inside an argument ("the best answer possible").
    let praise = PhraseSet::PRAISE
        .first_in_all(ss)
        .or_else(|| PhraseSet::JUDGEMENT_WORDS.first_in_all(ss))
        .and_then(|_| {
            ss.iter()
                .enumerate()
                // A long reply praises in its first sentence ("Great analysis. …") or a short
                // closing one ("Well done."); in between, "a great way to", "excellent
                // sources" weigh the matter discussed.
                .filter(|&(i, s)| {
                    !long
                        || i == 0
                        || (s.word_count() <= 12 && (role != Role::Reply || i + 1 == ss.len()))
                })
                .map(|(_, s)| s)
                .filter(|s| {
                    !s.question
                        && (PhraseSet::THANKS.first_in(s).is_none()
                            || PhraseSet::NOT_THANKS.first_in(s).is_some())
                        && PhraseSet::REQUEST.first_in(s).is_none()
                        // A sign-off left inside a message ("Best regards," above a forwarded
                        // mail's signature) judges nothing.
                        && !crate::prose::is_sign_off_formula(&s.joined)
                })
                .find_map(|s| {
                    PhraseSet::PRAISE
                        .first_in(s)
                        .filter(|&p| p != "great" || !great_as_size(&s.joined))
                        .filter(|&p| p != "best" || best_as_judgement(s))
                        .filter(|&p| !hedged_or_negated(&s.joined, p))
                        .or_else(|| judged_good(s))
                })
        })
        .map(str::to_string)
        .filter(|_| {
            ctx.sentiment > -0.05
                && (complaint.is_none() || has_in_all(ss, "but"))
                && intro.is_none()
                && bug.is_none()
        });
    if let Some(e) = &praise {
        add(Intent::Praise, e.clone());
    }
    let no_other = question.is_none()
        && thanks.is_none()
        && intro.is_none()
        && announce.is_none()
        && request.is_none()
        && bug.is_none()
        && complaint.is_none()
        && praise.is_none();
    // An answer replies: an opening post never answers.
    // A long reply that also asks the one it answers something ("Which version do you use?
    // Meanwhile, try …") answers as well.
    let answered = !ctx.hostile
        && role != Role::Opening
        && (question.is_none() || (role == Role::Reply && long))
        && thanks.is_none()
        && intro.is_none()
        && announce.is_none()
        && request.is_none()
        && bug.is_none();
    // A reply that thanks and goes on to tell something (what the writer found, tried or
    // decided: "Thanks, Uwe. I moved the data to inst/extdata and the NOTE is gone …")
    // answers as well, when what it tells runs to twenty words or more.
    let told_after_thanks = role == Role::Reply
        && thanks.is_some()
        && question.is_none()
        && intro.is_none()
        && announce.is_none()
        && request.is_none()
        && ss
            .iter()
            .filter(|s| PhraseSet::THANKS.first_in(s).is_none())
            .map(Sentence::word_count)
            .sum::<usize>()
            >= 20;
    if told_after_thanks {
        add(Intent::Answer, "told after thanks".into());
    }
    if answered {
        if let Some(e) = answer_cue {
            add(Intent::Answer, e);
        } else if ctx.had_code {
            add(Intent::Answer, "code".into());
        } else if long && !opens && (role == Role::Reply || !about_the_writer(ss, words)) {
            // A long reply that asks, thanks, requests and reports nothing argues a position
            // or explains: what answers on discussion sites are. Where the text alone cannot
            // tell a reply, a story told in the first person is not one; a known reply that
            // tells the writer's experience answers with it.
            add(Intent::Answer, "long reply".into());
        } else if let Some(p) = (words >= 12 && !opens && !(long && about_the_writer(ss, words)))
            .then(|| PhraseSet::POSITION.first_in_all(ss))
            .flatten()
            .filter(|_| no_other && thanks_word.is_none())
        {
            // A reply of a dozen words or more that states the writer's position on the
            // matter ("I think as long as the article is cited it's fine").
            add(Intent::Answer, p.to_string());
        } else if no_other
            && thanks_word.is_none()
            && !ctx.had_quote
            && ctx.sentiment.abs() < 0.5
            && informative(ss, prose)
        {
            add(Intent::Answer, "informative statement".into());
        } else if no_other
            && thanks_word.is_none()
            && role == Role::Reply
            && ctx.had_quote
            && words >= 7
        {
            // A reply under the message it quotes (e-mail's way of answering) that does
            // nothing else tells the asker something.
            add(Intent::Answer, "reply under a quote".into());
        }
    }
    out.sort_by_key(|m| m.intent);
    out
}

/// Openings of a question put to the readers, which asks wherever it stands in a long post.
pub(crate) const DIRECT_QUESTION: &[&str] = &[
    "can we",
    "could we",
    "should we",
    "do we",
    "how do we",
    "how can we",
    "how do i",
    "how can i",
    "can i",
    "should i",
    "do i",
    "do you",
    "does anyone",
    "can anyone",
    "can someone",
    "is there",
    "do these",
    "does this",
    "is it ok",
    "is it okay",
    "is it possible",
    "what should",
    "where can",
    "where should",
];

/// The message opens with a title line (a short line without end punctuation, then a blank
/// line): an opening post, which starts a thread rather than replying in one.
fn titled(prose: &str) -> bool {
    let mut lines = prose.trim_start().lines();
    let (Some(title), Some(blank)) = (lines.next(), lines.next()) else {
        return false;
    };
    let title = title.trim();
    blank.trim().is_empty()
        && !title.is_empty()
        && title.split_whitespace().count() <= 14
        && !title.ends_with(['.', '!', ','])
}

pub(crate) const JUDGEMENT_WORDS: &[&str] =
    &["good", "nice", "strong", "solid", "excellent", "well said"];

/// A plain positive judgement of someone's contribution: "good"-like adjective then what a
/// person offers ("a good candidate", "very good definition", "nice idea"), or "well said".
fn judged_good(s: &Sentence) -> Option<&'static str> {
    if s.has("well said") {
        return Some("well said");
    }
    let words = s.words();
    words.windows(2).find_map(|p| {
        let adjective = matches!(p[0], "good" | "nice" | "strong" | "solid" | "excellent");
        let contribution = matches!(
            p[1],
            "idea"
                | "ideas"
                | "point"
                | "points"
                | "candidate"
                | "definition"
                | "answer"
                | "suggestion"
                | "analysis"
                | "summary"
                | "summaries"
                | "explanation"
                | "job"
                | "work"
                | "thing"
                | "catch"
                | "post"
                | "talk"
                | "presentation"
        );
        (adjective && contribution).then_some("good contribution")
    })
}

/// "Best" that ranks the thing judged ("the best docs I know", "best decision we made"),
/// not an adverb or a goal ("works best", "did my best", "best suited", "the best practice",
/// "the best way to").
fn best_as_judgement(s: &Sentence) -> bool {
    let words = s.words();
    words.iter().enumerate().any(|(i, w)| {
        if *w != "best" {
            return false;
        }
        let before = i.checked_sub(1).map(|j| words[j]);
        let after = words.get(i + 1).copied();
        before.is_none_or(|b| matches!(b, "the" | "down" | "honestly" | "simply" | "by"))
            && after.is_some_and(|a| {
                !matches!(
                    a,
                    "practice"
                        | "practices"
                        | "way"
                        | "ways"
                        | "to"
                        | "of"
                        | "possible"
                        | "suited"
                        | "answered"
                        | "if"
                        | "for"
                )
            })
    })
}

/// "Great" of size or a name, not of quality: "a great many", "a great deal", "Great
/// Britain", "the Great War".
fn great_as_size(joined: &str) -> bool {
    [
        "great many",
        "great deal",
        "great number",
        "great extent",
        "great lengths",
        "great britain",
        "great-britain",
        "great war",
        "great depression",
        "great power",
        "great powers",
    ]
    .iter()
    .any(|p| has_phrase(joined, p))
}

/// One word in twenty or more is the writer ("I", "my", "me"): the message tells the
/// writer's own story or plans rather than explaining the matter (measured on the real tune
/// split: 12 of 123 long answers, 27 of 61 long messages without intent are that dense).
fn about_the_writer(ss: &[Sentence], words: usize) -> bool {
    let first_person = ss
        .iter()
        .flat_map(|s| s.words())
        .filter(|w| {
            matches!(
                *w,
                "i" | "i'm" | "i've" | "i'd" | "i'll" | "me" | "my" | "im"
            )
        })
        .count();
    first_person * 20 >= words
}

/// "Thanks for the effort. Alas, …", "thank you; but …": gratitude that opens an objection
/// is politeness before a grievance, like "thanks, but it still fails".
fn thanks_then_but(ss: &[Sentence]) -> Option<String> {
    let at = ss
        .iter()
        .position(|s| PhraseSet::THANKS.first_in(s).is_some())?;
    const CONTRAST: &[&str] = &["but", "alas", "however", "unfortunately", "sadly"];
    // The thanks sentence goes on with an objection, or the next sentence opens with one.
    let same = ss[at]
        .words()
        .iter()
        .skip_while(|w| PhraseSet::THANKS.first(w).is_none())
        .any(|w| CONTRAST.contains(w));
    let next = ss
        .get(at + 1)
        .is_some_and(|s| s.words().first().is_some_and(|w| CONTRAST.contains(w)));
    (same || next).then(|| "thanks, but".to_string())
}

/// A reply that opens with a down-vote ("-1, …") disapproves of what it replies to.
fn downvoted(prose: &str) -> Option<String> {
    let t = prose.trim_start();
    (t.starts_with("-1") && !t[2..].starts_with(|c: char| c.is_ascii_digit()))
        .then(|| "-1".to_string())
}

/// Complaint cues that name a difficulty, a lack or a positive negated ("hard to", "lack
/// of", "no way to", "not … good"): a grievance in a short message, a step of the argument
/// in a long one (measured on the real set: 3 of 44 such cues in long messages complained).
fn mild_complaint(cue: &str) -> bool {
    const MILD: &[&str] = &[
        "lack of",
        "hard to",
        "very difficult",
        "is difficult",
        "don't like",
        "confusing",
        "unfortunately",
        "no answer",
        "no way to",
        "without any",
        "useless",
        "not enough",
        "give up",
        "waste of time",
        "unhelpful",
        "are poor",
        "so poor",
        "constantly",
    ];
    MILD.contains(&cue)
        || (cue.ends_with(" hard") || cue.ends_with(" difficult")) && !cue.starts_with("too ")
        || cue.split(' ').next().is_some_and(|w| {
            matches!(
                w,
                "not" | "isn't" | "aren't" | "wasn't" | "weren't" | "never" | "hardly"
            )
        })
}

/// A request phrase that only seconds what someone else said: a short "that would be …"
/// reply, or "+1 for" an action ("+1 for making the distinction").
fn seconds_an_idea(ss: &[Sentence], phrase: &str) -> bool {
    let mut with = ss
        .iter()
        .filter(|s| has_phrase(&s.joined, phrase))
        .peekable();
    with.peek().is_some()
        && with.all(|s| {
            let w = s.words();
            let reply = matches!(w.first(), Some(&"that" | &"that'd" | &"yes" | &"yeah"))
                && w.len() <= 6
                && phrase.starts_with("would be");
            let agrees = phrase == "+1 for"
                && w.iter()
                    .position(|x| *x == "for")
                    .and_then(|i| w.get(i + 1))
                    .is_some_and(|n| n.ends_with("ing"));
            reply || agrees
        })
}

/// An opening post titled with a failure ("Profile does not show name", "Comment button
/// not working"): a bug report, however its body goes on.
fn failure_title(prose: &str) -> Option<String> {
    if !titled(prose) {
        return None;
    }
    let title = prose.trim_start().lines().next()?.to_lowercase();
    const FAILS: &[&str] = &[
        "does not",
        "doesn't",
        "won't",
        "can't",
        "cannot",
        "not working",
        "isn't working",
        "stopped working",
        "fails",
        "broken",
        "stuck",
        "having trouble",
        "error",
        "incorrect",
        "unable to",
        "not going away",
        "disappeared",
        "disappearing",
    ];
    FAILS
        .iter()
        .find(|f| has_phrase(&title.split_whitespace().collect::<Vec<_>>().join(" "), f))
        .map(|f| format!("title: {f}"))
}

/// A moderator's notice: "This question has been undeleted", "the thread is now locked".
fn notice(ss: &[Sentence]) -> Option<String> {
    const THING: &[&str] = &[
        "question",
        "post",
        "answer",
        "thread",
        "tag",
        "site",
        "account",
        "topic",
        "channel",
        "room",
        "repo",
        "repository",
        "meetup",
        "event",
    ];
    const DONE: &[&str] = &[
        "undeleted",
        "reopened",
        "locked",
        "unlocked",
        "merged",
        "protected",
        "archived",
        "renamed",
        "moved",
        "pinned",
        "featured",
        "cancelled",
        "canceled",
        "postponed",
        "rescheduled",
    ];
    ss.iter().find_map(|s| {
        let w = s.words();
        let subject = matches!(w.first(), Some(&"this" | &"the"))
            && w.get(1).is_some_and(|n| THING.contains(n));
        let done = w.iter().skip(2).take(4).find(|x| DONE.contains(x))?;
        let aux = w
            .iter()
            .skip(2)
            .take(3)
            .any(|x| matches!(*x, "has" | "have" | "is" | "was" | "been" | "are" | "now"));
        (subject && aux).then(|| format!("notice: {done}"))
    })
}

/// Organisers' news of an event: an event ("meetup", "open lab", "lightning talks",
/// "challenge") scheduled, posted or coming ("just scheduled a d3js open lab", "the
/// description for the next meetup event is posted", "next week's challenge"). In a long
/// message only in its opening sentence: further in, events are talked about.
fn event_news(ss: &[Sentence], long: bool) -> Option<String> {
    const EVENT: &[&str] = &[
        "meetup",
        "meetups",
        "event",
        "lab",
        "workshop",
        "hackathon",
        "webinar",
        "talk",
        "talks",
        "challenge",
        "session",
        "sessions",
        "meeting",
        "conference",
        "sprint",
        "office hours",
    ];
    const WHEN: &[&str] = &[
        "scheduled",
        "posted",
        "next",
        "tonight",
        "tomorrow",
        "week's",
        "welcome",
        "rsvp",
        "starts",
        "begins",
        "plan",
        "upcoming",
        "agenda",
        "register",
    ];
    let n = if long { 1 } else { ss.len() };
    ss.iter().take(n).filter(|s| !s.question).find_map(|s| {
        let w = s.words();
        let event = w.iter().find(|x| EVENT.contains(x))?;
        // "next" dates only what it precedes ("the next meetup", "next week"), not "next to".
        w.iter()
            .enumerate()
            .any(|(i, x)| {
                WHEN.contains(x)
                    && (*x != "next"
                        || w.get(i + 1).is_some_and(|n| {
                            EVENT.contains(n) || matches!(*n, "week" | "month" | "time")
                        }))
            })
            .then(|| format!("{event} news"))
    })
}

/// What a complaint is about when only its tone says it complains: the community, its
/// process and its people, or the product and its parts.
pub(crate) const GRIEVANCE_TARGETS: &[&str] = &[
    "site",
    "sites",
    "forum",
    "community",
    "moderator",
    "moderators",
    "mod",
    "mods",
    "moderation",
    "policy",
    "policies",
    "rules",
    "faq",
    "guidance",
    "guidelines",
    "review",
    "reviews",
    "queue",
    "queues",
    "closed",
    "closing",
    "closure",
    "deleted",
    "deleting",
    "deletion",
    "downvote",
    "downvotes",
    "downvoting",
    "downvoted",
    "dving",
    "vtcing",
    "tag",
    "tags",
    "wiki",
    "meta",
    "purge",
    "banned",
    "suspended",
    "censorship",
    "team",
    "maintainers",
    "maintainer",
    "project",
    "docs",
    "documentation",
    "release",
    "update",
    "version",
    "app",
    "support",
    "forum",
    "staff",
    "admins",
    "admin",
];

/// "My answer was deleted", "deleting my answer", "I have been serial down-voted": an
/// action done to the writer's own contribution or account, which they report because it
/// aggrieves them.
fn done_to_mine(ss: &[Sentence]) -> Option<String> {
    const OWN: &[&str] = &[
        "question",
        "questions",
        "answer",
        "answers",
        "comment",
        "comments",
        "post",
        "posts",
        "edit",
        "edits",
        "account",
        "tag",
        "flag",
        "flags",
    ];
    const DONE: &[&str] = &[
        "closed",
        "deleted",
        "removed",
        "downvoted",
        "down-voted",
        "migrated",
        "locked",
        "rejected",
        "censored",
        "suspended",
        "banned",
        "deleting",
        "closing",
        "removing",
        "migrating",
        "locking",
        "rejecting",
        "censoring",
        "declined",
        "reverted",
    ];
    for s in ss {
        let w = s.words();
        for (i, word) in w.iter().enumerate() {
            if !(DONE.contains(word) || (*word == "voted" && i > 0 && w[i - 1] == "down")) {
                continue;
            }
            // "deleting my answer"; "my answer was deleted", "my comment has been deleted".
            let after =
                w.get(i + 1) == Some(&"my") && w.get(i + 2).is_some_and(|n| OWN.contains(n));
            let before = w[i.saturating_sub(5)..i]
                .windows(2)
                .any(|p| p[0] == "my" && OWN.contains(&p[1]))
                && w[i.saturating_sub(3)..i]
                    .iter()
                    .any(|x| matches!(*x, "was" | "were" | "been" | "got" | "get" | "gets"));
            // "I have been (serial) down-voted", "I was suspended".
            let me = w[i.saturating_sub(5)..i].contains(&"i")
                && w[i.saturating_sub(3)..i]
                    .iter()
                    .any(|x| matches!(*x, "was" | "been" | "got"));
            let conditional = w[..i]
                .iter()
                .any(|x| matches!(*x, "if" | "when" | "unless"));
            if (after || before || me) && !conditional {
                return Some(format!("my … {word}"));
            }
        }
    }
    None
}

/// "Why was this question closed?", "why does every post here get downvoted?": asking why
/// a moderation action was done is a grievance about it (and may still ask).
fn why_done_to(qss: &[Sentence]) -> Option<String> {
    const ACTIONS: &[&str] = &[
        "closed",
        "deleted",
        "removed",
        "downvoted",
        "migrated",
        "locked",
        "rejected",
        "ignored",
        "banned",
        "suspended",
        "disregarded",
        "censored",
        "put",
        "moved",
        "converted",
        "allowed",
    ];
    qss.iter()
        .filter(|s| s.question && s.joined.starts_with("why "))
        .find_map(|s| {
            let words = s.words();
            let passive = words.iter().any(|w| {
                matches!(
                    *w,
                    "was" | "were" | "is" | "are" | "does" | "do" | "did" | "get" | "gets" | "got"
                )
            });
            // The participle closes the clause ("get closed as duplicate"), unlike an
            // adjective before its noun ("return deleted posts").
            let done = words.iter().enumerate().find_map(|(i, w)| {
                let action = ACTIONS.iter().find(|a| **a == *w)?;
                let next = words.get(i + 1).copied();
                next.is_none_or(|n| {
                    matches!(
                        n,
                        "as" | "by"
                            | "for"
                            | "without"
                            | "despite"
                            | "after"
                            | "and"
                            | "so"
                            | "when"
                            | "while"
                            | "even"
                            | "on"
                            | "in"
                            | "from"
                            | "before"
                            | "again"
                            | "here"
                            | "into"
                            | "to"
                    )
                })
                .then_some(*action)
            });
            done.filter(|_| passive).map(|a| format!("why … {a}"))
        })
}

/// Markers of a position stated in reply: the writer's judgement on the matter asked about.
pub(crate) const POSITION_MARKERS: &[&str] = &[
    "i think",
    "i would say",
    "i'd say",
    "i believe",
    "in my opinion",
    "imo",
    "imho",
    "as far as i can tell",
    "as near as i can tell",
    "i could imagine",
    "i suspect",
    "i doubt",
    "it depends",
    "depends on",
];

/// Prose of at least this many words is a post or a long reply rather than a chat line.
const LONG_WORDS: usize = 30;

/// A question asked for effect, not for an answer: a negative question ("why not just …?",
/// "doesn't that make it …?"), a challenge ("what makes you think …?", "who are you to …?")
/// or a tag question ("…, would it not?").
fn rhetorical_form(s: &Sentence) -> bool {
    const STARTS: &[&str] = &[
        "why not",
        "why wouldn't",
        "why shouldn't",
        "why would we not",
        "what makes you think",
        "who are you to",
        "doesn't that",
        "doesn't this",
        "isn't that",
        "isn't this",
        "isn't it",
        "wouldn't it",
        "wouldn't that",
        "don't you think",
        "how is that not",
    ];
    const ENDS: &[&str] = &[
        "would it not",
        "is it not",
        "isn't it",
        "don't you think",
        "dont you think",
    ];
    let j = s.joined.as_str();
    STARTS
        .iter()
        .any(|p| j.starts_with(p) && (j.len() == p.len() || j.as_bytes()[p.len()] == b' '))
        || (s.word_count() > 3
            && ENDS.iter().any(|p| {
                j.ends_with(p)
                    && (j.len() == p.len() || j.as_bytes()[j.len() - p.len() - 1] == b' ')
            }))
}

/// The sentence is worded as a question: within its first five words, a question word or an
/// auxiliary verb before its subject ("is it …", "however, how do we …", "on clarity
/// though, do you think …"), not a statement with a question mark ("perhaps we can combine
/// them?").
fn interrogative(s: &Sentence) -> bool {
    let words: Vec<&str> = s
        .words()
        .into_iter()
        .filter(|w| !w.starts_with('@'))
        .take(6)
        .collect();
    let wh = |w: &str| {
        matches!(
            w,
            "what" | "what's" | "why" | "how" | "when" | "where" | "who" | "whom" | "whose"
        )
    };
    let auxiliary = |w: &str| {
        matches!(
            w,
            "is" | "are"
                | "was"
                | "were"
                | "do"
                | "does"
                | "did"
                | "can"
                | "could"
                | "would"
                | "will"
                | "should"
                | "shall"
                | "may"
                | "might"
                | "has"
                | "have"
                | "had"
                | "isn't"
                | "aren't"
                | "doesn't"
                | "don't"
                | "didn't"
                | "can't"
                | "won't"
        )
    };
    let subject = |w: &str| {
        matches!(
            w,
            "i" | "we"
                | "you"
                | "they"
                | "it"
                | "this"
                | "that"
                | "there"
                | "he"
                | "she"
                | "these"
                | "those"
                | "anyone"
                | "anybody"
                | "someone"
                | "somebody"
                | "people"
                | "the"
                | "a"
                | "an"
                | "any"
                | "my"
                | "our"
                | "your"
        )
    };
    // Skip a connective or an interjection before the question: "so", "ok", "but".
    let first = words
        .iter()
        .copied()
        .find(|w| {
            !matches!(
                *w,
                "so" | "and" | "but" | "ok" | "okay" | "also" | "then" | "hm"
            )
        })
        .unwrap_or("");
    matches!(
        first,
        "which" | "any" | "anyone" | "anybody" | "someone" | "somebody"
    ) || auxiliary(first)
        || words.iter().take(5).any(|w| wh(w))
        || words
            .windows(2)
            .take(5)
            .any(|p| auxiliary(p[0]) && subject(p[1]))
}

/// The prose without what its writer does not ask: quoted speech (when the quotes pair up),
/// parenthesised asides and, in a long message, list items.
fn asked_text(prose: &str, long: bool) -> String {
    let unquoted;
    let text = if balanced_quotes(prose) && prose.contains(['"', '“']) {
        unquoted = crate::hostility::without_quoted(prose);
        unquoted.as_str()
    } else {
        prose
    };
    let mut out = String::with_capacity(text.len());
    let mut previous_bullet = false;
    for line in text.lines() {
        let t = line.trim_start();
        let bare_bullet = matches!(t.trim_end(), "-" | "*" | "•");
        let item = previous_bullet
            || t.starts_with("- ")
            || t.starts_with("* ")
            || t.starts_with("• ")
            || t.split_once(". ")
                .is_some_and(|(n, _)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
        previous_bullet = bare_bullet;
        if long && (item || bare_bullet) {
            out.push('\n');
            continue;
        }
        let mut depth = 0usize;
        for c in line.chars() {
            match c {
                '(' => depth += 1,
                ')' if depth > 0 => depth -= 1,
                _ if depth == 0 => out.push(c),
                _ => {}
            }
        }
        out.push('\n');
    }
    out
}

/// Double quotes come in pairs: removing quoted speech is safe (an odd one would swallow
/// the rest of the message).
fn balanced_quotes(prose: &str) -> bool {
    let straight = prose.matches('"').count();
    let open = prose.matches('“').count();
    let close = prose.matches('”').count();
    straight.is_multiple_of(2) && open == close
}

/// A plain statement of fact, not about the writer: what replies that explain look like.
/// At least seven words, no first person singular, no exclamation.
fn informative(ss: &[Sentence], prose: &str) -> bool {
    let words: usize = ss.iter().map(|s| s.word_count()).sum();
    words >= 7
        && !prose.contains('!')
        && !ss.iter().any(|s| {
            s.words().iter().any(|w| {
                matches!(
                    *w,
                    "i" | "i'm" | "i'll" | "i've" | "my" | "me" | "we're" | "lol" | "haha"
                )
            })
        })
}

/// Phrases that introduce the writer wherever they stand.
pub(crate) const INTRO_STRONG: &[&str] = &[
    "introducing myself",
    "quick intro",
    "just joined",
    "new member",
    "my name is",
    "new here",
    "first post",
    "lurker",
    "finally making an account",
    "nice to meet",
    "glad to join",
    "happy to be here",
    "new to the community",
    "im new",
];

fn intro(prose: &str, ss: &[Sentence]) -> Option<String> {
    let greeting = ss.first().is_some_and(|s| {
        GREETINGS.iter().any(|g| {
            s.joined.starts_with(g)
                && (s.joined.len() == g.len() || s.joined.as_bytes()[g.len()] == b' ')
        })
    });
    if let Some(p) = PhraseSet::INTRO_STRONG.first_in_all(ss) {
        return Some(p.to_string());
    }
    // "I'm …" / "I am …" presents the writer only when a name, a role or an origin follows
    // ("I'm Ana", "I am a PhD student", "I'm from Houston") or a name says "here" ("Marta
    // here."), not a state or what they are doing ("Hi all, I'm trying to …", "I am writing
    // because …"); any other cue ("my name is", "new here") counts as it is.
    let weak = |p: &str| matches!(p, "i'm" | "i am");
    // Most messages have no cue at all: the first one found decides that without a list.
    let first = PhraseSet::INTRO.first_in_all(ss)?;
    let phrase = if !weak(first) {
        first
    } else {
        match PhraseSet::INTRO
            .all_in_all(ss)
            .into_iter()
            .find(|p| !weak(p))
        {
            Some(p) => p,
            None if presents_self(prose) => first,
            None => return None,
        }
    };
    let starts_with_name = ["I'm ", "I am "].iter().any(|p| {
        prose
            .trim_start()
            .strip_prefix(p)
            .and_then(|r| r.chars().next())
            .is_some_and(char::is_uppercase)
    }) && prose.split(',').next().is_some_and(|s| s.len() < 24);
    if greeting || starts_with_name {
        Some(phrase.to_string())
    } else if (has_in_all(ss, "i'm") || has_in_all(ss, "i am")) && has_in_all(ss, "new to") {
        Some("i'm new to".into())
    } else {
        None
    }
}

/// A praise word under a hypothetical or a negation among the three words before it ("any
/// advice would be helpful", "it might be great to …", "not really helpful", "nothing
/// helpful"): a wish or a lack, not a judgement; said of a person ("you would be an
/// excellent moderator") the hypothetical still praises.
fn hedged_or_negated(joined: &str, phrase: &str) -> bool {
    let Some(at) = joined.find(phrase) else {
        return false;
    };
    let before: Vec<&str> = joined[..at].split(' ').filter(|w| !w.is_empty()).collect();
    let near = &before[before.len().saturating_sub(3)..];
    near.iter().enumerate().any(|(i, w)| match *w {
        "not" | "nothing" | "never" | "no" | "isn't" | "wasn't" | "aren't" | "wouldn't" => true,
        // "you would be an excellent moderator" praises a person all the same.
        "would" | "could" | "might" => {
            let k = before.len() - near.len() + i;
            k == 0 || !matches!(before[k - 1], "you" | "he" | "she" | "they")
        }
        _ => false,
    })
}

/// Whether the writer gives their name: "my name is …", "I'm Ana", "I am Ravi", "Marta here".
fn names_self(prose: &str) -> bool {
    if prose
        .as_bytes()
        .windows(7)
        .any(|w| w.eq_ignore_ascii_case(b"my name"))
    {
        return true;
    }
    after_i_am(prose, false).any(|r| {
        let word: String = r.chars().take_while(|c| c.is_alphabetic()).collect();
        word.chars().next().is_some_and(char::is_uppercase) && word != "I" && word.len() > 1
    }) || named_here(prose)
}

/// "Marta here." / "Hello all, Dmitri here," among the first three clauses.
fn named_here(prose: &str) -> bool {
    prose.split(['.', ',', '!', '\n']).take(3).any(|part| {
        let mut words = part.split_whitespace();
        matches!(
            (words.next(), words.next(), words.next()),
            (Some(name), Some("here"), None) if name.chars().next().is_some_and(char::is_uppercase)
        )
    })
}

/// ASCII-case-insensitive `rest.starts_with(p)`, without lower-casing the whole message.
fn starts_ci(rest: &str, p: &str) -> bool {
    rest.len() >= p.len()
        && rest.is_char_boundary(p.len())
        && rest[..p.len()].eq_ignore_ascii_case(p)
}

/// What follows each "I'm " / "I am " (also with a typographic apostrophe) that starts a word
/// in `prose`; with `any_case`, "i'm", "I AM" and the like too.
fn after_i_am(prose: &str, any_case: bool) -> impl Iterator<Item = &str> {
    prose.char_indices().filter_map(move |(at, c)| {
        if !(c == 'I' || (any_case && c == 'i'))
            || prose[..at]
                .chars()
                .next_back()
                .is_some_and(char::is_alphanumeric)
        {
            return None;
        }
        let after = &prose[at + 1..];
        ["'m ", "’m ", " am "]
            .iter()
            .find(|p| {
                if any_case {
                    starts_ci(after, p)
                } else {
                    after.starts_with(*p)
                }
            })
            .map(|p| &after[p.len()..])
    })
}

/// A sentence that asks someone in particular: the one it answers ("you", "your"), anyone
/// ("anyone", "someone") or the writer's own case ("I", "my", "me").
fn addressed(s: &Sentence) -> bool {
    s.words().iter().any(|w| {
        matches!(
            *w,
            "you"
                | "your"
                | "you're"
                | "you've"
                | "anyone"
                | "anybody"
                | "someone"
                | "somebody"
                | "i"
                | "my"
                | "me"
                | "i'm"
                | "i've"
        )
    })
}

/// A question-form sentence that proposes rather than asks: "have you tried …?", "could you
/// not …?", "why not …?", "what about …?", "I think … will work?".
fn suggests(s: &Sentence) -> bool {
    const STARTS: &[&str] = &[
        "have you tried",
        "have you considered",
        "have you looked",
        "have you checked",
        "have you added",
        "did you try",
        "did you add",
        "did you check",
        "did you consider",
        "could you not",
        "can't you",
        "cant you",
        "couldn't you",
        "why not",
        "what about",
        "how about",
        "would it work",
        "would it help",
        "wouldn't it",
        "would that work",
        "does it work if",
        "what if you",
        "i think",
        "maybe",
        "perhaps",
        "shouldn't",
    ];
    any_sentence_starts(std::slice::from_ref(s), STARTS).is_some()
}

/// Whether some "I'm" / "I am" in `prose` is followed by what presents a person: a name
/// (a capitalised word), "a"/"an" and a noun ("a PhD student"; not "a bit", "a little"), an
/// origin or a role ("from", "based", "new", "the maintainer of" …).
fn presents_self(prose: &str) -> bool {
    const FOLLOWERS: &[&str] = &[
        "from ",
        "based ",
        "originally ",
        "new ",
        "the maintainer",
        "the author",
        "the developer",
        "the creator",
        "the new ",
        "the organizer",
        "the organiser",
        "one of the",
        "part of the",
        "currently a",
        "currently an",
    ];
    const NOT_A_ROLE: &[&str] = &["a bit", "a little", "a lot", "a big fan"];
    named_here(prose)
        || after_i_am(prose, true).any(|rest| {
            let capitalised = rest
                .chars()
                .next()
                .is_some_and(|c| c.is_uppercase() && !rest.starts_with("I "));
            capitalised
                || FOLLOWERS.iter().any(|f| starts_ci(rest, f))
                || ((starts_ci(rest, "a ") || starts_ci(rest, "an "))
                    && !NOT_A_ROLE.iter().any(|n| starts_ci(rest, n)))
        })
}

/// Evaluative adjectives that judge a product, a process or a place negatively.
pub(crate) const NEGATIVE_JUDGEMENTS: &[&str] = &[
    "slow",
    "confusing",
    "complicated",
    "convoluted",
    "bad",
    "poor",
    "outdated",
    "unclear",
    "buggy",
    "flaky",
    "unstable",
    "clunky",
    "awkward",
    "misleading",
    "incomplete",
    "unreliable",
    "sloppy",
    "unusable",
    "useless",
    "terrible",
    "awful",
    "horrible",
    "frustrating",
    "annoying",
    "expensive",
    "limited",
    "hard",
    "difficult",
    "painful",
    "messy",
    "cluttered",
    "noisy",
    "unfair",
    "opaque",
    "sparse",
    "lacking",
    "disappointing",
    "tedious",
    "cumbersome",
    "laggy",
    "sluggish",
    // Judgements of a process or of people's conduct: community and moderation grievances.
    "strict",
    "harsh",
    "rude",
    "condescending",
    "arbitrary",
    "inconsistent",
    "biased",
    "unreasonable",
    "excessive",
    "petty",
    "arrogant",
    "snobbish",
    "elitist",
    "toxic",
    "unwelcoming",
    "ridiculous",
    "absurd",
    "pointless",
    "unhelpful",
    "overzealous",
];

/// Positive judgements whose negation is a complaint ("not intuitive", "isn't clear").
pub(crate) const NEGATED_POSITIVES: &[&str] = &[
    "happy",
    "thrilled",
    "impressed",
    "great",
    "good",
    "ideal",
    "acceptable",
    "okay",
    "ok",
    "fine",
    "clear",
    "helpful",
    "intuitive",
    "obvious",
    "reliable",
    "stable",
    "usable",
    "documented",
    "fair",
    "friendly",
    "welcoming",
    "responsive",
];

const DEGREE: &[&str] = &[
    "so",
    "really",
    "very",
    "pretty",
    "quite",
    "extremely",
    "incredibly",
    "super",
    "too",
    "totally",
    "completely",
    "basically",
    "absolutely",
    "painfully",
    "frankly",
    "honestly",
    "way",
    "far",
];

/// General shapes of dissatisfaction, beyond the phrase list: a negative judgement after a
/// degree word ("really confusing", "far too slow") or a copula ("the docs are outdated"), a
/// negated positive judgement ("not intuitive", "isn't clear"), a change made without notice
/// or explanation, nobody answering, and waiting for weeks or months.
/// Cues of waiting or of nobody acting, which `complaint_pattern` looks at word by word.
pub(crate) const PATTERN_CUES: &[&str] = &[
    "without", "nobody", "no-one", "no one", "days", "weeks", "months", "years", "ages",
];

fn complaint_pattern(ss: &[Sentence]) -> Option<String> {
    // The cached list hits rule out most messages before any word-by-word look.
    if PhraseSet::NEGATIVE_JUDGEMENTS.first_in_all(ss).is_none()
        && PhraseSet::NEGATED_POSITIVES.first_in_all(ss).is_none()
        && PhraseSet::PATTERN_CUES.first_in_all(ss).is_none()
    {
        return None;
    }
    const COPULA: &[&str] = &[
        "is", "are", "was", "were", "feels", "feel", "seems", "seem", "looks", "got", "gotten",
        "became", "become", "getting",
    ];
    const NEGATION: &[&str] = &[
        "not", "isn't", "aren't", "wasn't", "weren't", "never", "hardly",
    ];
    const WITHOUT: &[&str] = &[
        "notice",
        "warning",
        "explanation",
        "discussion",
        "comment",
        "reason",
        "announcement",
        "heads-up",
        "response",
        "reply",
        "feedback",
    ];
    const NOBODY_DOES: &[&str] = &[
        "answers",
        "answered",
        "replies",
        "replied",
        "responds",
        "responded",
        "reviews",
        "reviewed",
        "cares",
        "bothers",
        "reads",
        "looked",
        "looks",
        "responding",
        "answering",
        "reviewing",
    ];
    const SPANS: &[&str] = &["days", "weeks", "months", "years", "ages"];
    const WAITING: &[&str] = &[
        "still",
        "never",
        "nobody",
        "waiting",
        "sitting",
        "ignored",
        "open",
        "unanswered",
        "took",
        "no",
    ];
    for s in ss {
        let w = s.words();
        for (i, word) in w.iter().enumerate() {
            let prev = if i > 0 { w[i - 1] } else { "" };
            if NEGATIVE_JUDGEMENTS.contains(word)
                && (DEGREE.contains(&prev) || COPULA.contains(&prev))
            {
                // "hard" and "limited" only as judgements ("too hard"), not "hard drive".
                return Some(format!("{prev} {word}"));
            }
            if NEGATED_POSITIVES.contains(word) && NEGATION.contains(&prev) {
                return Some(format!("{prev} {word}"));
            }
            if *word == "without" {
                let next: Vec<&str> = w[i + 1..].iter().take(3).copied().collect();
                if let Some(n) = next.iter().find(|n| WITHOUT.contains(n)) {
                    return Some(format!("without {n}"));
                }
            }
            // "… if nobody answers" is a condition, not a grievance.
            let conditional = i >= 2 && matches!(w[i - 2], "if" | "when" | "unless")
                || matches!(prev, "if" | "when" | "unless");
            if !conditional
                && (matches!(*word, "nobody" | "no-one") || (*word == "one" && prev == "no"))
                && let Some(n) = w[i + 1..].iter().take(2).find(|n| NOBODY_DOES.contains(n))
            {
                return Some(format!("{word} {n}"));
            }
        }
        // Waiting for weeks, unless the sentence states a condition or a habit ("reviews
        // usually take a few days, ping us if nobody looked after a week").
        if w.iter().any(|x| SPANS.contains(x))
            && w.iter().any(|x| WAITING.contains(x))
            && !w
                .iter()
                .any(|x| matches!(*x, "if" | "when" | "unless" | "usually" | "typically"))
        {
            let span = w
                .iter()
                .find(|x| SPANS.contains(x))
                .copied()
                .unwrap_or_default();
            return Some(format!("waiting {span}"));
        }
    }
    None
}

/// Words that a gradable judgement follows in "too …": an excess is a grievance ("too
/// many pop-ups", "too short"), unlike "me too".
const TOO_WHAT: &[&str] = &[
    "many",
    "long",
    "short",
    "late",
    "often",
    "few",
    "little",
    "small",
    "big",
    "complex",
    "complicated",
    "strict",
    "slow",
    "expensive",
    "hard",
    "harsh",
    "aggressive",
    "noisy",
    "quickly",
    "verbose",
    "high",
    "low",
    "early",
    "soon",
    "loud",
    "restrictive",
    "busy",
    "difficult",
    "confusing",
    "vague",
    "generic",
    "cluttered",
    "deep",
];

/// Verbs and nouns of a reply that did not come ("hasn't replied", "never got an answer").
const RESPONSE: &[&str] = &[
    "replied",
    "responded",
    "answered",
    "acknowledged",
    "reviewed",
    "reply",
    "replies",
    "response",
    "responses",
    "answer",
    "answers",
    "acknowledgement",
    "acknowledgment",
];

/// Words that may stand between a negation and the positive judgement it negates ("not a
/// huge fan", "can't say I'm thrilled", "isn't really clear").
const NEGATION_FILLER: &[&str] = &[
    "a",
    "an",
    "the",
    "very",
    "really",
    "that",
    "so",
    "particularly",
    "exactly",
    "terribly",
    "huge",
    "big",
    "all",
    "always",
    "entirely",
    "super",
    "say",
    "i'm",
    "i",
    "am",
    "be",
    "been",
    "being",
    "it's",
    "that's",
    "this",
    "think",
    "sure",
    "feel",
    "feels",
    "seem",
    "seems",
    "look",
    "looks",
    "quite",
    "too",
    "overly",
    "exactly",
    "remotely",
];

/// Words of a reply or report that carry no dissatisfaction on their own but begin most of
/// the shapes below: one automaton pass rules the rest out.
pub(crate) const SHAPE_CUES: &[&str] = &[
    "called",
    "told",
    "telling",
    "tells",
    "cost",
    "costs",
    "wasted",
    "wasting",
    "lost",
    "used",
    "too",
    "who",
    "point",
    "supposed",
    "even",
    "actually",
    "again",
    "in a row",
    "over and over",
    "hasn't",
    "haven't",
    "didn't",
    "never",
    "not",
    "no",
    "don't",
    "doesn't",
    "can't",
    "cannot",
    "isn't",
    "aren't",
    "wasn't",
    "won't",
    "nobody",
    "no-one",
    "\"",
    "busywork",
];

/// Positive judgements that negation turns into a complaint, beyond [`NEGATED_POSITIVES`]
/// (which must follow the negation directly): "not a huge fan", "can't say I'm thrilled",
/// "not sure that's an improvement".
const NEGATED_AT_DISTANCE: &[&str] = &[
    "fan",
    "thrilled",
    "happy",
    "impressed",
    "improvement",
    "fair",
    "welcoming",
    "helpful",
    "clear",
    "friendly",
    "great",
    "good",
    "useful",
    "intuitive",
    "ideal",
    "acceptable",
    "okay",
    "fine",
    "worth",
    "pleased",
    "satisfied",
    "professional",
    "transparent",
    "consistent",
];

/// Repetition and unanswered effort, in priority order (`complaint_shape`).
pub(crate) const SHAPE_REPEATS: &[&str] = &[
    "yet again",
    "once again",
    "over and over",
    "again and again",
    "in a row",
    "every single time",
    "not a single",
    "not one reply",
    "not even a",
    "won't get back",
    "busywork",
];

/// More general shapes of dissatisfaction, each a small grammar rather than a phrase: an
/// insult reported by its target ("told me to …", "called me …"), a reply that never came
/// ("hasn't replied", "not a single answer"), time or work lost ("cost us a day", "wasted",
/// "lost an afternoon"), an excess ("too many", "too short"), a positive judgement negated at
/// a distance ("not a huge fan", "can't say I'm thrilled"), incredulous questions ("who
/// tested this?", "what's the point of …", "how am I supposed to …", "did anyone even …"),
/// things that were better before ("used to … not anymore"), repetition ("yet again", "in a
/// row") and scare quotes around a positive word (the "improved" search).
fn complaint_shape(ss: &[Sentence], prose: &str) -> Option<String> {
    let quoted = prose.contains(['"', '“']);
    if !quoted && PhraseSet::SHAPE_CUES.first_in_all(ss).is_none() {
        return None;
    }
    if quoted && let Some(q) = scare_quoted(prose) {
        return Some(format!("\"{q}\""));
    }
    if let Some(p) = PhraseSet::SHAPE_REPEATS.first_in_all(ss) {
        return Some(p.to_string());
    }
    let used_to = has_in_all(ss, "used to");
    for s in ss {
        let w = s.words();
        // A hypothetical ("if it's too slow, …") is no grievance; a condition after the cue
        // qualifies a real one ("far too many posts …, and people get stroppy when …").
        let conditional_from = w
            .iter()
            .position(|x| matches!(*x, "if" | "when" | "unless" | "whether"))
            .unwrap_or(usize::MAX);
        if let Some(e) = incredulous(s) {
            return Some(e);
        }
        // Doubt that anyone does their part: "did anyone even look at it?"
        if s.question
            && let Some(p) = w.windows(2).find(|p| {
                matches!(
                    p[0],
                    "anyone" | "anybody" | "somebody" | "someone" | "you" | "they"
                ) && matches!(p[1], "even" | "actually")
            })
        {
            return Some(format!("{} {}", p[0], p[1]));
        }
        for (i, word) in w.iter().enumerate() {
            let prev = if i > 0 { w[i - 1] } else { "" };
            let next = w.get(i + 1).copied().unwrap_or_default();
            match *word {
                // Reported mistreatment: "he called me lazy", "told me to go back to school".
                "called" if matches!(next, "me" | "us" | "my" | "our") => {
                    return Some(format!("called {next}"));
                }
                "told" | "telling" | "tells"
                    if next == "me"
                        && w.get(i + 2) == Some(&"to")
                        && (quoted || w.iter().any(|x| matches!(*x, "rude" | "stupid"))) =>
                {
                    return Some(format!("{word} me to"));
                }
                // Time or work lost.
                "wasted" | "wasting" => return Some((*word).to_string()),
                "cost" | "costs" if matches!(next, "us" | "me" | "our" | "my" | "them") => {
                    return Some(format!("{word} {next}"));
                }
                "lost"
                    if w[i + 1..].iter().take(4).any(|x| {
                        matches!(
                            *x,
                            "minutes"
                                | "hour"
                                | "hours"
                                | "day"
                                | "days"
                                | "week"
                                | "weeks"
                                | "afternoon"
                                | "morning"
                                | "evening"
                                | "weekend"
                                | "night"
                                | "work"
                        )
                    }) =>
                {
                    return Some("lost time".into());
                }
                "too"
                    if TOO_WHAT.contains(&next)
                        && !matches!(prev, "not" | "isn't" | "aren't" | "wasn't")
                        && (conditional_from > i) =>
                {
                    return Some(format!("too {next}"));
                }
                "nobody" | "no-one"
                    if w[i + 1..].iter().take(2).any(|x| {
                        matches!(*x, "asked" | "told" | "tested" | "seems" | "cares" | "care")
                    }) && (conditional_from > i) =>
                {
                    return Some(format!("{word} {next}"));
                }
                _ => {}
            }
            // A reply that never came: "hasn't replied", "never got an answer", "no response".
            if RESPONSE.contains(word) && (conditional_from > i) && i > 0 {
                let window = &w[i.saturating_sub(3)..i];
                let negated = window.iter().any(|x| {
                    matches!(
                        *x,
                        "hasn't" | "haven't" | "hadn't" | "didn't" | "never" | "no" | "without"
                    )
                });
                let machine = w.iter().any(|x| {
                    matches!(
                        *x,
                        "server"
                            | "api"
                            | "endpoint"
                            | "request"
                            | "requests"
                            | "http"
                            | "body"
                            | "json"
                            | "header"
                            | "headers"
                            | "status"
                            | "code"
                            | "function"
                    )
                });
                if negated && !machine {
                    return Some(format!("no {word}"));
                }
            }
            if NEGATED_AT_DISTANCE.contains(word) && i > 0 {
                let mut j = i;
                let mut steps = 0;
                while j > 0 && steps < 4 && NEGATION_FILLER.contains(&w[j - 1]) {
                    j -= 1;
                    steps += 1;
                }
                if j > 0
                    && matches!(
                        w[j - 1],
                        "not"
                            | "isn't"
                            | "aren't"
                            | "wasn't"
                            | "weren't"
                            | "don't"
                            | "doesn't"
                            | "didn't"
                            | "can't"
                            | "cannot"
                            | "never"
                            | "hardly"
                    )
                    && (conditional_from > i)
                {
                    return Some(format!("{} … {word}", w[j - 1]));
                }
            }
        }
        // Better before: "I used to recommend it. I don't anymore."
        if used_to
            && (w.contains(&"anymore")
                || s.has("no longer")
                || s.has("what it used to be")
                || s.has("what they used to be"))
        {
            return Some("used to … anymore".into());
        }
    }
    None
}

/// A question that asks nothing the asker wants answered: "who tested this?", "how am I
/// supposed to …?", "what's the point of …?". ("Is anyone even reviewing PRs?" complains but
/// also asks: it is not here.)
fn incredulous(s: &Sentence) -> Option<String> {
    let w = s.words();
    let first = w.first().copied().unwrap_or_default();
    if first == "who"
        && let Some(v) = w.get(1).filter(|v| {
            matches!(
                **v,
                "tested"
                    | "approved"
                    | "thought"
                    | "decided"
                    | "designed"
                    | "reviewed"
                    | "asked"
                    | "wanted"
            )
        })
    {
        return Some(format!("who {v}"));
    }
    if !s.question {
        return None;
    }
    if first == "how"
        && s.has("supposed to")
        && w.get(1).is_some_and(|x| matches!(*x, "am" | "are" | "is"))
    {
        return Some("how … supposed to".into());
    }
    (s.has("what's the point") || s.has("what is the point")).then(|| "what's the point".into())
}

/// A word of improvement or help in scare quotes, lower-case as prose and not a label: the
/// "improved" search, the "quick" reply. Returns the quoted words.
fn scare_quoted(prose: &str) -> Option<&str> {
    const IRONIC: &[&str] = &[
        "improved",
        "improvement",
        "improvements",
        "quick",
        "quickly",
        "cleanup",
        "fix",
        "fixed",
        "feature",
        "update",
        "simple",
        "easy",
        "modern",
        "help",
        "support",
        "community",
        "feedback",
        "discussion",
        "smart",
        "better",
        "new",
        "friendly",
        "welcoming",
    ];
    let mut rest = prose;
    while let Some(start) = rest.find(['"', '“']) {
        let after = &rest[start..];
        let open = after.chars().next().map_or(1, char::len_utf8);
        let inner_start = &after[open..];
        let Some(end) = inner_start.find(['"', '”']) else {
            break;
        };
        let inner = inner_start[..end].trim();
        let words: Vec<&str> = inner.split_whitespace().collect();
        if (1..=2).contains(&words.len())
            && inner.chars().next().is_some_and(char::is_lowercase)
            && words.iter().any(|w| {
                let w = w.trim_matches(|c: char| !c.is_alphanumeric());
                IRONIC.contains(&w)
            })
        {
            return Some(inner);
        }
        let close = inner_start[end..].chars().next().map_or(1, char::len_utf8);
        rest = &inner_start[end + close..];
    }
    None
}

#[cfg(test)]
mod bit_tests {
    use super::*;

    #[test]
    fn intent_bits_follow_the_order_of_all_and_round_trip() {
        let bits: Vec<u16> = Intent::ALL.iter().map(|i| i.bit()).collect();
        assert_eq!(bits, [1, 2, 4, 8, 16, 32, 64, 128, 256]);
        let matches = [
            IntentMatch {
                intent: Intent::Complaint,
                evidence: "x".into(),
            },
            IntentMatch {
                intent: Intent::Question,
                evidence: "?".into(),
            },
        ];
        assert_eq!(Intent::bits(&matches), 33);
        assert_eq!(
            Intent::from_bits(33 | 0x8000),
            [Intent::Question, Intent::Complaint]
        );
    }
}

/// The general complaint shapes, each with a message that has only that shape and a
/// look-alike that must not count (invented sentences, not from the labelled sets).
#[cfg(test)]
mod complaint_shape_tests {
    use crate::{Intent, analyze_rules as analyze};

    fn intents(text: &str) -> Vec<Intent> {
        analyze(text).intents.iter().map(|m| m.intent).collect()
    }

    fn complaint_evidence(text: &str) -> Option<String> {
        analyze(text)
            .intents
            .into_iter()
            .find(|m| m.intent == Intent::Complaint)
            .map(|m| m.evidence)
    }

    #[test]
    fn an_insult_reported_by_its_target_is_a_complaint_not_hostility() {
        let text = "A reviewer told me to \"stick to spreadsheets\" under my first pull request.";
        assert_eq!(complaint_evidence(text).as_deref(), Some("told me to"));
        assert!(!analyze(text).hostility.is_hostile());
        assert_eq!(
            complaint_evidence("She called my proposal naive in front of the whole team.")
                .as_deref(),
            Some("called my")
        );
    }

    #[test]
    fn a_reply_that_never_came_is_a_complaint_unless_it_is_a_condition_or_a_machine() {
        assert_eq!(
            complaint_evidence("Sent the invoice question to billing and never got a reply.")
                .as_deref(),
            Some("no reply")
        );
        // A condition states a procedure; a server that does not answer is a defect.
        assert_eq!(
            complaint_evidence("If the mentor hasn't replied within a week, ping the channel."),
            None
        );
        assert_eq!(
            complaint_evidence("In my test the API never answered the second request."),
            None
        );
    }

    #[test]
    fn time_or_work_lost_is_a_complaint() {
        assert_eq!(
            complaint_evidence("The renamed setting cost me a whole morning of debugging.")
                .as_deref(),
            Some("cost me")
        );
        assert_eq!(
            complaint_evidence("We lost two days to the undocumented config change.").as_deref(),
            Some("lost time")
        );
    }

    #[test]
    fn too_before_a_gradable_word_is_an_excess_but_me_too_is_not() {
        assert_eq!(
            complaint_evidence("The onboarding survey has too many mandatory fields.").as_deref(),
            Some("too many")
        );
        assert_eq!(
            complaint_evidence("Seeing the same thing here too, on 2.1."),
            None
        );
        assert_eq!(
            complaint_evidence("The talk was not too long, just right."),
            None,
            "negated excess"
        );
    }

    #[test]
    fn a_positive_judgement_negated_at_a_distance_is_a_complaint() {
        assert_eq!(
            complaint_evidence("I'm not a big fan of the new sidebar.").as_deref(),
            Some("not … fan")
        );
        assert_eq!(
            complaint_evidence("Can't say I'm happy with how the vote went.").as_deref(),
            Some("can't … happy")
        );
    }

    #[test]
    fn an_incredulous_question_complains_and_asks_nothing() {
        let text = "Who approved this colour scheme? Nothing is readable on a projector.";
        assert_eq!(intents(text), [Intent::Complaint]);
        let text = "How am I supposed to find the schedule when it is not linked anywhere?";
        assert_eq!(intents(text), [Intent::Complaint]);
    }

    #[test]
    fn doubting_that_anyone_does_their_part_complains_and_still_asks() {
        let text = "Does anyone even triage the issue tracker? Nothing has been labelled.";
        assert!(intents(text).contains(&Intent::Complaint));
        assert!(intents(text).contains(&Intent::Question));
    }

    #[test]
    fn scare_quotes_around_improvement_are_sarcasm_but_a_quoted_label_is_not() {
        assert_eq!(
            complaint_evidence("The \"improved\" inbox now hides half my mentions.").as_deref(),
            Some("\"improved\"")
        );
        assert_eq!(
            complaint_evidence("Click \"Update\" in the settings panel to apply it."),
            None
        );
    }

    #[test]
    fn something_better_before_is_a_complaint() {
        assert_eq!(
            complaint_evidence("I used to enjoy the Friday calls. Not anymore.").as_deref(),
            Some("used to … anymore")
        );
    }

    #[test]
    fn repetition_is_a_complaint() {
        assert_eq!(
            complaint_evidence("The venue changed yet again, the night before the event.")
                .as_deref(),
            Some("yet again")
        );
    }

    #[test]
    fn backwards_compatibility_is_praise_material_not_a_complaint() {
        assert_eq!(
            complaint_evidence("They kept backwards compatibility for five years."),
            None
        );
    }

    #[test]
    fn an_attack_over_a_defect_is_a_hostile_complaint_and_a_bare_insult_is_hostility_only() {
        let angry = "The uploader is broken again, you useless clowns.";
        let a = analyze(angry);
        assert!(a.hostility.is_hostile());
        assert!(intents(angry).contains(&Intent::BugReport));
        assert!(intents(angry).contains(&Intent::Complaint));
        let bare = "You useless clowns.";
        assert!(analyze(bare).hostility.is_hostile());
        assert!(!intents(bare).contains(&Intent::Complaint));
    }
}

/// The length-aware and position-aware shapes tuned on real discussion text (long meta posts,
/// comments, chat), each with a look-alike that must not count. Invented sentences, not from
/// the labelled sets.
#[cfg(test)]
mod real_text_shape_tests {
    use crate::{Intent, analyze_rules as analyze};

    fn intents(text: &str) -> Vec<Intent> {
        analyze(text).intents.iter().map(|m| m.intent).collect()
    }

    fn evidence(text: &str, intent: Intent) -> Option<String> {
        analyze(text)
            .intents
            .into_iter()
            .find(|m| m.intent == intent)
            .map(|m| m.evidence)
    }

    /// A reply of well over 30 words that argues a position over several sentences.
    const ARGUED: &str = "Tags should describe the subject of a question rather than its \
        period. The century tags were added for browsing, but most readers search by place \
        and event. Merging them would leave fewer tags to maintain and nothing of value lost.";

    #[test]
    fn a_question_in_quoted_speech_or_in_parentheses_is_not_asked() {
        assert!(
            !intents("\"What is a tag for?\" is the first thing the tour explains.")
                .contains(&Intent::Question)
        );
        assert!(
            !intents("The post was reopened (by whom?) after two days.")
                .contains(&Intent::Question)
        );
        // The same words outside quotes ask.
        assert!(intents("What is a tag for?").contains(&Intent::Question));
    }

    #[test]
    fn rhetorical_forms_do_not_ask() {
        assert!(!intents("Why not just merge the two tags?").contains(&Intent::Question));
        assert!(
            !intents("Doesn't that make it non-trivial by definition?").contains(&Intent::Question)
        );
        assert!(intents("Why would the export skip archived threads?").contains(&Intent::Question));
    }

    #[test]
    fn a_long_reply_asks_only_in_its_opening_or_closing_or_when_it_asks_the_readers() {
        // A question-worded sentence in the middle of an argument does not ask.
        let middle = format!(
            "{ARGUED} Is the period ever the subject? Rarely, and the body says so when it \
             is. Readers rely on the place and event tags far more than on the century ones."
        );
        assert!(
            !intents(&middle).contains(&Intent::Question),
            "{:?}",
            intents(&middle)
        );
        // ... unless it is put to the readers.
        let readers = format!(
            "{ARGUED} Can we agree on that before the next cleanup? Readers rely on the \
             place and event tags far more than on the century ones anyway."
        );
        assert!(intents(&readers).contains(&Intent::Question));
        // A closing question asks; a closing statement with a question mark does not.
        assert!(
            intents(&format!(
                "{ARGUED} Would anyone object to merging them next week?"
            ))
            .contains(&Intent::Question)
        );
        assert!(
            !intents(&format!("{ARGUED} Perhaps we can merge them next week?"))
                .contains(&Intent::Question)
        );
    }

    #[test]
    fn an_opening_post_titled_with_a_question_asks_without_its_question_mark() {
        let post = "Should we allow questions about historical costume\n\nThe clothes people \
            wore are a rich part of history. Several recent questions on fabrics and dyes were \
            closed as off-topic, while similar ones on tools stayed open.";
        assert_eq!(
            evidence(post, Intent::Question).as_deref(),
            Some("question title")
        );
    }

    #[test]
    fn a_long_reply_that_does_nothing_else_is_an_answer_unless_it_opens_a_thread_or_tells_the_writers_story()
     {
        assert_eq!(
            evidence(ARGUED, Intent::Answer).as_deref(),
            Some("long reply")
        );
        let titled = format!("Merging the century tags\n\n{ARGUED}");
        assert_ne!(
            evidence(&titled, Intent::Answer).as_deref(),
            Some("long reply")
        );
        let story = "I finally got my first badge today and I was so happy that I told my \
            whole family about it over dinner. My sister laughed at me, but I think I earned \
            it after my months of editing.";
        assert!(
            !intents(story).contains(&Intent::Answer),
            "{:?}",
            intents(story)
        );
    }

    #[test]
    fn a_reply_stating_a_position_is_an_answer() {
        assert_eq!(
            evidence(
                "I think citing the article is fine as long as the argument is quoted.",
                Intent::Answer
            )
            .as_deref(),
            Some("i think")
        );
        // Too short to carry a position: chat.
        assert!(!intents("I think so too.").contains(&Intent::Answer));
    }

    #[test]
    fn praise_needs_a_judgement_not_a_superlative_of_degree_or_size() {
        assert_eq!(
            evidence(
                "A good candidate, and one I'd be happy to support.",
                Intent::Praise
            )
            .as_deref(),
            Some("good contribution")
        );
        assert!(evidence("This is the best explanation I've read.", Intent::Praise).is_some());
        for text in [
            "What's the best way to cite a book here?",
            "I did my best to fix the question.",
            "A great many questions use both tags.",
            "Great Britain is distinct from Britain in this tag.",
        ] {
            assert!(!intents(text).contains(&Intent::Praise), "{text}");
        }
    }

    #[test]
    fn thanks_that_closes_a_request_or_opens_an_objection_is_not_thanks() {
        assert!(
            !intents("Would you mind updating the tag wiki? Thanks.").contains(&Intent::Thanks)
        );
        assert!(
            !intents("Thank you for the effort. Alas, the tool still can't find my posts.")
                .contains(&Intent::Thanks)
        );
        // A thanks that reports a resolution stays thanks despite a later "but".
        assert!(
            intents("Thanks, that worked. Still odd that it needs the API, but fine.")
                .contains(&Intent::Thanks)
        );
        // A long message that closes with "cheers" signs off.
        assert!(!intents(&format!("{ARGUED} Cheers.")).contains(&Intent::Thanks));
    }

    #[test]
    fn a_downvote_and_asking_why_a_post_was_closed_are_complaints() {
        assert_eq!(
            evidence("-1, this is not off-topic in any way.", Intent::Complaint).as_deref(),
            Some("-1")
        );
        let why = "Why was my question closed without a comment?";
        assert_eq!(
            evidence(why, Intent::Complaint).as_deref(),
            Some("why … closed")
        );
        assert!(intents(why).contains(&Intent::Question), "it still asks");
        // "deleted" before its noun is a description, not an action done to the writer.
        assert!(
            evidence(
                "Why does the search return deleted posts?",
                Intent::Complaint
            )
            .is_none()
        );
    }

    #[test]
    fn a_condition_voids_only_the_complaint_cue_it_precedes() {
        assert_eq!(
            evidence(
                "There are far too many posts without sources, and people get upset when \
                 it's pointed out.",
                Intent::Complaint
            )
            .as_deref(),
            Some("too many")
        );
        assert!(evidence("If there are too many tags, merge them.", Intent::Complaint).is_none());
    }

    #[test]
    fn a_long_message_reports_a_bug_or_requests_a_feature_up_front() {
        let aside = format!(
            "{ARGUED} Even the old search, which doesn't work for phrases, finds them by \
             place. Readers rely on the place and event tags far more than on the century \
             ones."
        );
        assert!(
            !intents(&aside).contains(&Intent::BugReport),
            "{:?}",
            intents(&aside)
        );
        let report = format!("The tag search doesn't work for phrases. {ARGUED}");
        assert!(intents(&report).contains(&Intent::BugReport));
    }
}

#[cfg(test)]
mod role_tests {
    use crate::{Intent, Role, analyze_rules as analyze, analyze_rules_in as analyze_in};

    fn intents(text: &str, role: Role) -> Vec<Intent> {
        analyze_in(text, role)
            .intents
            .iter()
            .map(|m| m.intent)
            .collect()
    }

    const EXPLAINED: &str = "The export runs every night and writes one file per source into \
        the data folder. Each file holds the members, their activities and the scores of the \
        last pass, so a spreadsheet can read it directly without any conversion.";

    #[test]
    fn unknown_is_the_text_alone() {
        for t in [
            EXPLAINED,
            "How do I export members?",
            "Thanks, that fixed it!",
            "Profile does not show name\n\nMy profile shows a number instead of my name.",
        ] {
            assert_eq!(analyze(t), analyze_in(t, Role::Unknown), "{t}");
        }
    }

    #[test]
    fn an_answer_replies_and_an_opening_post_never_answers() {
        assert!(intents(EXPLAINED, Role::Reply).contains(&Intent::Answer));
        assert!(intents(EXPLAINED, Role::Unknown).contains(&Intent::Answer));
        assert!(!intents(EXPLAINED, Role::Opening).contains(&Intent::Answer));
    }

    #[test]
    fn a_long_reply_asks_only_what_it_puts_to_the_readers() {
        let mid = format!("{EXPLAINED} Is that really a problem? Most people never open it.");
        assert!(intents(&mid, Role::Opening).contains(&Intent::Question));
        assert!(!intents(&mid, Role::Reply).contains(&Intent::Question));
        let put = format!("{EXPLAINED} Can we keep it that way? Most people never open it.");
        assert!(intents(&put, Role::Reply).contains(&Intent::Question));
    }

    #[test]
    fn an_opening_title_asks_or_reports_and_a_reply_has_no_title() {
        let asked = "Undelete a question?\n\nI deleted my question by accident last night.";
        assert!(intents(asked, Role::Opening).contains(&Intent::Question));
        let failed =
            "Answer count incorrect\n\nMy account page shows three answers, the site shows five.";
        assert!(intents(failed, Role::Opening).contains(&Intent::BugReport));
        assert!(!intents(failed, Role::Reply).contains(&Intent::BugReport));
    }

    #[test]
    fn a_known_reply_that_tells_the_writers_experience_answers() {
        let story = "Last year I moved my notes to a wiki and I kept the old folder for a \
            while. I wrote the pages myself in the evenings, and I linked each one to my \
            reading list so I could find things again when I needed them for my own work.";
        assert!(intents(story, Role::Reply).contains(&Intent::Answer));
        assert!(!intents(story, Role::Unknown).contains(&Intent::Answer));
    }

    #[test]
    fn an_opening_post_proposes_up_front() {
        let t = "Short answers\n\nIn some rare cases a short answer is right, so I suggest \
            allowing them.";
        assert!(intents(t, Role::Opening).contains(&Intent::FeatureRequest));
        assert!(!intents(t, Role::Unknown).contains(&Intent::FeatureRequest));
    }

    /// The mailing-list round (set 4): e-mail's ways of asking, answering and thanking.
    #[test]
    fn an_opening_post_asks_for_help_without_a_question_mark() {
        let post = "Dear all,\n\nmy package fails R CMD check on win-builder with an error \
            about a missing DLL, while it passes on Linux and macOS. I have tried rebuilding the \
            vignettes and updating Rcpp. Any help would be appreciated.\n\nBest,\nAnn";
        assert!(intents(post, Role::Opening).contains(&Intent::Question));
        // The same words in a reply tell, they do not open a request for help.
        assert!(!intents(post, Role::Reply).contains(&Intent::Question));
    }

    #[test]
    fn a_suggestion_put_as_a_question_in_a_reply_answers() {
        let t = "Have you tried adding importFrom(stats, median) to your NAMESPACE?";
        let got = intents(t, Role::Reply);
        assert!(got.contains(&Intent::Answer), "{got:?}");
        assert!(!got.contains(&Intent::Question), "{got:?}");
        // Asked of the readers in an opening post, it asks.
        assert!(intents(t, Role::Opening).contains(&Intent::Question));
    }

    #[test]
    fn a_reply_that_thanks_and_goes_on_to_report_answers_as_well() {
        let t = "Thanks, Uwe. I moved the data files to inst/extdata as you suggested, rebuilt \
            the tarball with R CMD build and the NOTE about the installed size is gone on all \
            the platforms I tried.";
        let got = intents(t, Role::Reply);
        assert!(
            got.contains(&Intent::Thanks) && got.contains(&Intent::Answer),
            "{got:?}"
        );
        // A bare thanks is only thanks.
        assert_eq!(
            intents("Thanks, that fixed it.", Role::Reply),
            [Intent::Thanks]
        );
    }

    #[test]
    fn a_long_reply_thanks_for_something_wherever_it_says_so() {
        let t = "I looked at the check logs again and the warning comes from the compiler \
            flags that the Windows builder sets, not from the package code itself, so the \
            configure script is fine as it is. Thanks for the pointer to the logs.";
        assert!(intents(t, Role::Reply).contains(&Intent::Thanks));
        // Thanks in advance or for raising a matter is politeness.
        let ahead = t.replace(
            "Thanks for the pointer to the logs.",
            "Thanks for any hints.",
        );
        assert!(!intents(&ahead, Role::Reply).contains(&Intent::Thanks));
    }

    #[test]
    fn i_am_introduces_only_with_a_name_a_role_or_an_origin() {
        for t in [
            "Hi all, I'm Ana, a data scientist from Houston.",
            "Hello everyone! I am a PhD student working on spatial statistics.",
            "Hey everybody, Marta here. I'm the new community lead.",
        ] {
            assert!(
                intents(t, Role::Unknown).contains(&Intent::Introduction),
                "{t}"
            );
        }
        for t in [
            "Hi all, I'm trying to ready a package update for CRAN but it fails.",
            "Hi, I am writing because my check fails on Windows.",
            "Hello, I'm a bit confused by the new NOTE about URLs.",
        ] {
            assert!(
                !intents(t, Role::Opening).contains(&Intent::Introduction),
                "{t}"
            );
        }
    }

    /// The second list round (sets 4 and 5).
    #[test]
    fn a_question_wrapped_over_two_lines_is_one_sentence_and_asks() {
        let post = "Hello everyone!\nI try to upload my package on CRAN but the package\n\
            does not pass the incoming checks. How to link external\ncompiler with fftw? My \
            package is on GitHub and the installation log follows below with all its lines.";
        assert!(intents(post, Role::Opening).contains(&Intent::Question));
    }

    #[test]
    fn an_opening_post_asks_with_any_question_it_puts() {
        let post = "I got a message that a package I maintain has errors. The issue is that a \
            package I use requires another one that is being replaced. Its developer is fixing \
            this and it should be on CRAN before my two week period ends. So my question is if \
            the packages I depend on have been fixed would I need to do anything on my end?";
        assert!(intents(post, Role::Opening).contains(&Intent::Question));
        // The same sentence inside a long reply argues; it does not ask the thread.
        assert!(!intents(post, Role::Reply).contains(&Intent::Question));
    }

    #[test]
    fn an_opening_post_that_describes_the_writers_problem_asks_for_help() {
        let post = "Hi, I am receiving a NOTE upon submission regarding the re-building of \
            vignettes for CPU time on the Debian check machine, and the package builds in \
            under a minute everywhere else.";
        assert_eq!(
            evidence_in(post, Role::Opening, Intent::Question).as_deref(),
            Some("problem: i am receiving")
        );
    }

    #[test]
    fn a_long_reply_that_asks_the_asker_asks_and_answers() {
        let reply = "The error comes from the compiler flags the Windows builder uses, not from \
            your code, and the log shows the same warning for other packages that link to the \
            same library. Which version of Rtools do you have installed?";
        let got = intents(reply, Role::Reply);
        assert!(
            got.contains(&Intent::Question) && got.contains(&Intent::Answer),
            "{got:?}"
        );
    }

    fn evidence_in(text: &str, role: Role, intent: Intent) -> Option<String> {
        analyze_in(text, role)
            .intents
            .into_iter()
            .find(|m| m.intent == intent)
            .map(|m| m.evidence)
    }

    /// The third list round (sets 4 to 6).
    #[test]
    fn a_reply_that_asks_for_help_or_in_the_first_person_asks() {
        for reply in [
            "I added the flag to Makevars as suggested and rebuilt the package, but the same \
             NOTE about the compiled code still shows on the Windows check. Any suggestions on \
             how this problem could be resolved?",
            "I added the flag to Makevars as suggested and rebuilt the package, but the same \
             NOTE about the compiled code still shows on the Windows check. Is this something \
             I can resolve on my side?",
        ] {
            assert!(
                intents(reply, Role::Reply).contains(&Intent::Question),
                "{reply}"
            );
        }
    }

    /// The fourth list round (sets 4 to 7).
    #[test]
    fn a_message_that_asks_introduces_its_writer_only_by_name() {
        let prefaced = "Hi all, I'm new to R and this is my first package. How do I declare a \
            dependency on a package that is only on GitHub?";
        assert!(!intents(prefaced, Role::Opening).contains(&Intent::Introduction));
        let named = "Hi all, I'm Ana, new to R and to this list. How do I declare a dependency \
            on a package that is only on GitHub?";
        assert!(intents(named, Role::Opening).contains(&Intent::Introduction));
        // Without a question, being new still introduces.
        assert!(
            intents("Hi everyone, I'm new here!", Role::Unknown).contains(&Intent::Introduction)
        );
    }

    #[test]
    fn thanks_for_the_suggestion_thanks() {
        assert_eq!(
            intents(
                "That works quite well! Thank you for the suggestion.",
                Role::Reply
            ),
            [Intent::Thanks]
        );
    }

    /// The fifth list round (sets 4 to 8).
    #[test]
    fn a_sign_off_inside_a_message_is_no_praise() {
        let forwarded = "Dear maintainer,\n\nplease see the problems shown on the check page.\n\n\
            Best regards,\nCRAN teams' auto-check service\nFlavor: r-devel-linux\n\n\
            What should I change in my package to fix this?";
        assert!(!intents(forwarded, Role::Opening).contains(&Intent::Praise));
        // "the best solution" still judges.
        assert!(
            intents("This is the best solution I have seen for it.", Role::Reply)
                .contains(&Intent::Praise)
        );
    }

    #[test]
    fn a_wished_or_missing_quality_is_no_praise() {
        for t in [
            "Any advice would be helpful.",
            "The error message is not really helpful here.",
            "I searched the web and found nothing helpful.",
        ] {
            assert!(!intents(t, Role::Unknown).contains(&Intent::Praise), "{t}");
        }
        assert!(
            intents("You would be an excellent moderator.", Role::Reply).contains(&Intent::Praise)
        );
    }
}
