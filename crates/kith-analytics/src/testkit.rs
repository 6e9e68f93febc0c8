//! Test communities: hand-made ones for worked examples, random ones for the oracle property
//! tests. Both are written through the real SQLite store, so the snapshot is built from its
//! change stream exactly as in production.

use std::collections::HashMap;

use kith_model::{Activity, Author, Kind, Timestamp};
use kith_store::{
    ActivityId, Affiliation, ImportAudit, MemberFlags, MemberId, MergeEvidence, Store, TextScore,
    TextScores, TextSelection,
};
use kith_store_sqlite::SqliteStore;
use kith_text::Intent;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

use crate::metric::MetricDef;
use crate::params::Params;
use crate::snapshot::Snapshot;

/// Epoch seconds of an RFC 3339 instant.
pub fn at(text: &str) -> i64 {
    Timestamp::parse_rfc3339(text)
        .expect("a valid test timestamp")
        .secs
}

/// Monthly UTC params over `from ..= to` (dates), as-of defaulted.
pub fn day_params(from: &str, to: &str) -> Params {
    Params {
        from: Some(from.parse().expect("a test date")),
        to: Some(to.parse().expect("a test date")),
        ..Params::default()
    }
}

/// What kith-text read from a message, for hand-made communities (stored as a text score).
#[derive(Debug, Clone)]
pub struct Said {
    pub scored: bool,
    /// Ten-thousandths.
    pub sentiment: i16,
    pub confidence: i16,
    pub hostile: bool,
    pub intents: Vec<Intent>,
}

impl Said {
    /// A confident score (0.9) with this sentiment (ten-thousandths) and intents.
    pub fn new(sentiment: i16, intents: &[Intent]) -> Said {
        Said {
            scored: true,
            sentiment,
            confidence: 9_000,
            hostile: false,
            intents: intents.to_vec(),
        }
    }

    pub fn hostile(mut self) -> Said {
        self.hostile = true;
        self
    }

    pub fn unsure(mut self) -> Said {
        self.confidence = 3_000;
        self
    }

    /// A message in a language the models do not support.
    pub fn other_language() -> Said {
        Said {
            scored: false,
            sentiment: 0,
            confidence: 0,
            hostile: false,
            intents: Vec::new(),
        }
    }
}

/// A hand-made community in source `forum`, channel `general`.
pub struct Community {
    acts: Vec<Activity>,
    flags: Vec<(String, MemberFlags)>,
    affiliations: Vec<(String, Affiliation)>,
    /// Thread name → opening post id.
    threads: HashMap<String, String>,
    /// Text scores to store after the activities: (activity id, what it says).
    said: Vec<(String, Said)>,
    _dir: tempfile::TempDir,
    pub store: SqliteStore,
}

impl Default for Community {
    fn default() -> Self {
        Community::new()
    }
}

impl Community {
    pub fn new() -> Community {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let store = SqliteStore::open(&dir.path().join("kith.db")).expect("a test database");
        Community {
            acts: Vec::new(),
            flags: Vec::new(),
            affiliations: Vec::new(),
            threads: HashMap::new(),
            said: Vec::new(),
            _dir: dir,
            store,
        }
    }

    fn push(
        &mut self,
        kind: Kind,
        author: Option<Author>,
        ts: i64,
        thread: Option<&str>,
        reply_to: Option<String>,
    ) -> String {
        let id = format!("a{}", self.acts.len() + 1);
        let mut a = Activity::new("forum", id.clone(), kind, Timestamp::from_secs(ts), author);
        a.channel = Some("general".into());
        a.thread = thread.map(str::to_owned);
        a.reply_to = reply_to;
        self.acts.push(a);
        id
    }

    /// Opens thread `thread` (or adds a later post to it).
    pub fn post(&mut self, who: &str, ts: i64, thread: &str) -> String {
        let id = self.push(Kind::Post, Some(Author::new(who)), ts, Some(thread), None);
        self.threads
            .entry(thread.to_owned())
            .or_insert_with(|| id.clone());
        id
    }

    pub fn team_post(&mut self, who: &str, ts: i64, thread: &str) -> String {
        self.team(who, None);
        self.post(who, ts, thread)
    }

    /// A reply in `thread`, to its opening post.
    pub fn reply(&mut self, who: &str, ts: i64, thread: &str) -> String {
        let op = self.threads.get(thread).cloned();
        self.push(Kind::Reply, Some(Author::new(who)), ts, Some(thread), op)
    }

    pub fn answer(&mut self, who: &str, ts: i64, thread: &str) -> String {
        let op = self.threads.get(thread).cloned();
        self.push(Kind::Answer, Some(Author::new(who)), ts, Some(thread), op)
    }

    /// Author-less content (a deleted account) replying in a thread.
    pub fn anonymous_reply(&mut self, ts: i64, thread: &str) -> String {
        let op = self.threads.get(thread).cloned();
        self.push(Kind::Reply, None, ts, Some(thread), op)
    }

    pub fn react(&mut self, who: &str, ts: i64) -> String {
        self.push(Kind::Reaction, Some(Author::new(who)), ts, None, None)
    }

    pub fn act(&mut self, kind: Kind, who: &str, ts: i64) -> String {
        self.push(kind, Some(Author::new(who)), ts, None, None)
    }

    /// Marks `target` deleted (a `delete` activity naming it).
    pub fn delete(&mut self, who: &str, ts: i64, target: &str) {
        self.push(
            Kind::Delete,
            Some(Author::new(who)),
            ts,
            None,
            Some(target.to_owned()),
        );
    }

    pub fn team(&mut self, who: &str, since: Option<i64>) {
        self.flags.push((
            who.to_owned(),
            MemberFlags {
                team: true,
                team_since: since,
                bot: false,
            },
        ));
    }

    pub fn bot(&mut self, who: &str) {
        self.flags.push((
            who.to_owned(),
            MemberFlags {
                team: false,
                team_since: None,
                bot: true,
            },
        ));
    }

    /// A reply to a given activity (by id), in `thread`.
    pub fn reply_to(&mut self, who: &str, ts: i64, thread: &str, target: &str) -> String {
        self.push(
            Kind::Reply,
            Some(Author::new(who)),
            ts,
            Some(thread),
            Some(target.to_owned()),
        )
    }

    /// A `solution` in `thread` (the accepted answer `answer`, credited to `who`).
    pub fn solution(&mut self, who: &str, ts: i64, thread: &str, answer: &str) -> String {
        self.push(
            Kind::Solution,
            Some(Author::new(who)),
            ts,
            Some(thread),
            Some(answer.to_owned()),
        )
    }

    /// `who` works for `organisation` from `since` to `until` (inclusive, open when `None`).
    pub fn affiliate(
        &mut self,
        who: &str,
        organisation: &str,
        since: Option<i64>,
        until: Option<i64>,
    ) {
        self.affiliations.push((
            who.to_owned(),
            Affiliation {
                organisation: organisation.to_owned(),
                since,
                until,
            },
        ));
    }

    /// Records what kith-text read from activity `id` (stored when the snapshot is taken).
    /// Labels thread `thread`'s opening post with `tags` (its topics, as a Stack Exchange
    /// question's tags).
    pub fn tag(&mut self, thread: &str, tags: &[&str]) {
        let op = self
            .threads
            .get(thread)
            .expect("a thread opened by a post")
            .clone();
        let a = self
            .acts
            .iter_mut()
            .find(|a| a.id == op)
            .expect("the opening post is not written yet");
        a.attrs.insert("tags".into(), serde_json::json!(tags));
    }

    pub fn say(&mut self, id: &str, said: Said) {
        self.said.push((id.to_owned(), said));
    }

    /// Writes everything and builds a snapshot.
    pub fn snapshot(&mut self) -> Snapshot {
        write(&self.store, &std::mem::take(&mut self.acts));
        let said = std::mem::take(&mut self.said);
        if !said.is_empty() {
            let mut ids = HashMap::new();
            self.store
                .export_activities(&mut |e| {
                    ids.insert(e.activity.id.clone(), e.id);
                    Ok(())
                })
                .expect("export");
            let scores: Vec<TextScore> = said
                .iter()
                .map(|(id, s)| TextScore {
                    activity: *ids.get(id).expect("a scored activity exists"),
                    activity_seq: 0,
                    model_version: 1,
                    language: if s.scored { "eng" } else { "deu" }.into(),
                    scored: s.scored,
                    sentiment: s.sentiment,
                    confidence: s.confidence,
                    hostility: if s.hostile { 9_000 } else { 0 },
                    hostile: s.hostile,
                    intents: s.intents.iter().fold(0, |b, i| b | i.bit()),
                })
                .collect();
            self.store.write_text_scores(&scores).expect("store scores");
        }
        for (who, flags) in std::mem::take(&mut self.flags) {
            let m =
                member_of(&self.store, "forum", &who).expect("a flagged member has an activity");
            self.store.set_member_flags(m, &flags).expect("set flags");
        }
        for (who, a) in std::mem::take(&mut self.affiliations) {
            let m = member_of(&self.store, "forum", &who)
                .expect("an affiliated member has an activity");
            self.store
                .add_affiliation(m, &a)
                .expect("add an affiliation");
        }
        Snapshot::build(&self.store).expect("a snapshot")
    }
}

/// Writes activities in one session, ensuring their sources.
pub fn write(store: &SqliteStore, acts: &[Activity]) {
    let mut session = store.ingest().expect("an ingest session");
    let mut sources: Vec<&str> = acts.iter().map(|a| a.source.as_str()).collect();
    sources.sort_unstable();
    sources.dedup();
    for s in sources {
        session.ensure_source(s, "jsonl").expect("ensure source");
    }
    session.write(acts).expect("write");
    session
        .commit(&ImportAudit::new("jsonl", vec![], 0))
        .expect("commit");
}

/// The member holding identity `ext` of `source`.
pub fn member_of(store: &SqliteStore, source: &str, ext: &str) -> Option<MemberId> {
    let sources = store.sources().ok()?;
    let sid = sources.iter().find(|s| s.name == source)?.id;
    let mut after = None;
    loop {
        let page = store.members(after, 500).ok()?;
        if page.is_empty() {
            return None;
        }
        for m in &page {
            let detail = store.member(m.id).ok()?;
            if detail
                .identities
                .iter()
                .any(|i| i.source == sid && i.ext_id == ext)
            {
                return Some(m.id);
            }
        }
        after = page.last().map(|m| m.id);
    }
}

// ---------------------------------------------------------------------------------------
// Random communities for the oracle.

/// One generated event.
#[derive(Debug, Clone)]
struct Event {
    kind: u8,
    member: u8,
    anonymous: bool,
    source_b: bool,
    channel2: bool,
    day: u16,
    sec: u8,
    thread: u8,
    target: u8,
}

/// A random small community and report parameters.
#[derive(Debug, Clone)]
pub struct RandomCase {
    events: Vec<Event>,
    /// Per member: 0 community, 1 team, 2 team since a day, 3 bot.
    member_kinds: Vec<(u8, u16)>,
    /// Events before this index are in the first import (the snapshot is built after it and
    /// refreshed after the rest).
    split: usize,
    merges: Vec<(u8, u8)>,
    /// (member, organisation, since day, days until the end): added after the first import.
    affiliations: Vec<(u8, u8, Option<u16>, Option<u16>)>,
    delete_source_b: bool,
    tz: usize,
    period: usize,
    as_of: Option<u16>,
    range: Option<(u16, u16)>,
    include_team: bool,
    include_bots: bool,
    filter: u8,
    /// Inactive contributors' interval, in days.
    interval: i64,
    /// Model parameters: 0 defaults, 1 and 2 short look-back/hold and half-life so that
    /// expiry, demotion and decay happen inside the generated span.
    model_params: u8,
    /// Seeds of the synthetic text scores written after each import.
    text_seeds: (u64, u64),
}

const ZONES: [&str; 5] = [
    "UTC",
    "Europe/Paris",
    "America/New_York",
    "Asia/Kolkata",
    "Australia/Lord_Howe",
];
/// Seconds into a UTC day: midnight, its neighbours, and local midnights of the zones above.
const SECONDS: [i64; 12] = [
    0, 1, 3_599, 3_600, 18_000, 18_001, 36_000, 43_210, 66_600, 79_199, 79_200, 86_399,
];
/// 2024-03-01T00:00:00Z: the span covers the 2024 daylight-saving changes.
pub(crate) const BASE: i64 = 1_709_251_200;

fn event() -> impl Strategy<Value = Event> {
    (
        0u8..16,
        0u8..6,
        prop::bool::weighted(0.08),
        prop::bool::weighted(0.25),
        any::<bool>(),
        0u16..240,
        0u8..12,
        any::<u8>(),
        any::<u8>(),
    )
        .prop_map(
            |(kind, member, anonymous, source_b, channel2, day, sec, thread, target)| Event {
                kind,
                member,
                anonymous,
                source_b,
                channel2,
                day,
                sec,
                thread,
                target,
            },
        )
}

pub fn random_case() -> impl Strategy<Value = RandomCase> {
    (
        prop::collection::vec(event(), 0..45),
        prop::collection::vec(
            (
                prop_oneof![6 => Just(0u8), 1 => Just(1u8), 1 => Just(2u8), 1 => Just(3u8)],
                0u16..240,
            ),
            6,
        ),
        any::<prop::sample::Index>(),
        (
            prop::collection::vec((0u8..6, 0u8..6), 0..3),
            prop::collection::vec(
                (
                    0u8..6,
                    0u8..3,
                    prop::option::weighted(0.7, 0u16..240),
                    prop::option::weighted(0.5, 0u16..120),
                ),
                0..6,
            ),
        ),
        prop::bool::weighted(0.15),
        (0usize..ZONES.len(), 0usize..4),
        prop::option::weighted(0.3, 0u16..260),
        prop::option::weighted(0.6, (0u16..240, 0u16..120)),
        (
            prop::bool::weighted(0.2),
            prop::bool::weighted(0.2),
            prop_oneof![8 => Just(0u8), 1 => Just(1u8), 1 => Just(2u8)],
            prop_oneof![Just(90i64), Just(30i64), Just(7i64), 0i64..200],
            0u8..3,
        ),
        (any::<u64>(), any::<u64>()),
    )
        .prop_map(
            |(
                events,
                member_kinds,
                split,
                (merges, affiliations),
                delete_source_b,
                (tz, period),
                as_of,
                range,
                (team, bots, filter, interval, model_params),
                text_seeds,
            )| {
                let split = if events.is_empty() {
                    0
                } else {
                    split.index(events.len() + 1)
                };
                RandomCase {
                    events,
                    member_kinds,
                    split,
                    merges,
                    affiliations,
                    delete_source_b,
                    tz,
                    period,
                    as_of,
                    range,
                    include_team: team,
                    include_bots: bots,
                    filter,
                    interval,
                    model_params,
                    text_seeds,
                }
            },
        )
}

/// Turns events into activities: posts open threads, replies and answers join a thread and
/// answer its opening post or another activity, deletions name an earlier activity.
fn activities(case: &RandomCase) -> Vec<Activity> {
    let mut out: Vec<Activity> = Vec::new();
    // (source, thread id, opening post id, its author, its time)
    let mut threads: Vec<(String, String, String, Option<Author>, i64)> = Vec::new();
    for (i, e) in case.events.iter().enumerate() {
        let source = if e.source_b { "b" } else { "a" };
        let ts = BASE + i64::from(e.day) * 86_400 + SECONDS[e.sec as usize % SECONDS.len()];
        let author = (!e.anonymous).then(|| Author::new(format!("u{}", e.member)));
        let kind = match e.kind {
            0..=2 => Kind::Post,
            3..=6 => Kind::Reply,
            7 | 8 => Kind::Answer,
            9 => Kind::Reaction,
            10 => Kind::Join,
            11 => Kind::Contribution,
            12 => Kind::Solution,
            13 => Kind::Leave,
            14 => Kind::Delete,
            _ => Kind::Feedback,
        };
        let id = format!("e{i}");
        let mut a = Activity::new(source, id.clone(), kind, Timestamp::from_secs(ts), author);
        a.channel = Some(if e.channel2 { "c2".into() } else { "c1".into() });
        // Text, so that the messages among them get (synthetic) text scores.
        a.text = Some(format!("message {i}"));
        let same_source: Vec<&(String, String, String, Option<Author>, i64)> =
            threads.iter().filter(|t| t.0 == source).collect();
        match kind {
            Kind::Post => {
                // Now and then a second post in an existing thread (the earliest one opens it).
                if e.target % 7 == 0 && !same_source.is_empty() {
                    let t = same_source[e.thread as usize % same_source.len()];
                    a.thread = Some(t.1.clone());
                } else {
                    let name = format!("t{i}");
                    a.thread = Some(name.clone());
                    threads.push((source.to_owned(), name, id.clone(), a.author.clone(), ts));
                }
                // Topics on most posts (a later post's replace the thread's): a few labels,
                // upper case and non-ASCII among them for the byte order of the topic table.
                if e.sec % 4 != 0 {
                    const LABELS: [&str; 5] = ["api", "Bugs", "docs", "été", "ux"];
                    let tags: Vec<&str> = LABELS
                        .iter()
                        .enumerate()
                        .filter(|(k, _)| (e.target >> k) & 1 == 1)
                        .map(|(_, l)| *l)
                        .collect();
                    a.attrs.insert("tags".into(), serde_json::json!(tags));
                }
            }
            Kind::Reply | Kind::Answer | Kind::Solution | Kind::Reaction => {
                if !same_source.is_empty() && e.thread % 5 != 0 {
                    let t = same_source[e.thread as usize % same_source.len()];
                    a.thread = Some(t.1.clone());
                    a.reply_to = Some(t.2.clone());
                    // Now and then the asker follows up in their own thread (thanks, more
                    // detail): what resolution by thanks and reciprocity need.
                    // Both come soon after the opening post: a prompt reply within a day,
                    // the asker's follow-up within three.
                    let soon = |days: u16| {
                        Timestamp::from_secs(
                            t.4 + i64::from(e.day % days) * 86_400
                                + SECONDS[e.sec as usize % SECONDS.len()],
                        )
                    };
                    if kind == Kind::Reply && e.target % 4 == 1 {
                        a.author = t.3.clone();
                        a.ts = soon(3);
                    } else if e.target % 4 == 2 {
                        a.ts = soon(2);
                    }
                }
                // Sometimes reply to another activity (a comment on a later post), sometimes
                // to a post without naming the thread.
                if e.target % 3 == 0 && !out.is_empty() {
                    let target = &out[e.target as usize % out.len()];
                    if target.source == source {
                        a.reply_to = Some(target.id.clone());
                        if e.target % 2 == 0 {
                            a.thread = None;
                        }
                    }
                }
            }
            Kind::Delete => {
                let candidates: Vec<&Activity> =
                    out.iter().filter(|t| t.source == source).collect();
                if !candidates.is_empty() {
                    a.reply_to = Some(candidates[e.target as usize % candidates.len()].id.clone());
                }
            }
            _ => {}
        }
        // Now and then an addressee (a mention), sometimes of a user who never acts (u6).
        if e.target % 4 == 1 {
            a.to = vec![format!("u{}", (e.target / 4) % 7)];
        }
        out.push(a);
    }
    out
}

pub(crate) fn params(case: &RandomCase) -> Params {
    let day = |d: u16| {
        let date = chrono::DateTime::from_timestamp(BASE, 0)
            .unwrap_or_default()
            .date_naive();
        date + chrono::Duration::days(i64::from(d))
    };
    let mut p = Params {
        tz: ZONES[case.tz].parse().unwrap_or(chrono_tz::UTC),
        period: crate::Period::ALL[case.period],
        include_team: case.include_team,
        include_bots: case.include_bots,
        inactive_interval_days: case.interval,
        ..Params::default()
    };
    if let Some(d) = case.as_of {
        p.as_of = Some(BASE + i64::from(d) * 86_400 + 45_678);
    }
    if let Some((from, len)) = case.range {
        p.from = Some(day(from));
        p.to = Some(day(from + len));
    }
    match case.filter {
        1 => p.sources = vec!["a".into()],
        2 => p.channels = vec!["c1".into()],
        _ => {}
    }
    match case.model_params {
        1 => {
            p.levels.lookback_days = 20;
            p.levels.hold_days = 7;
            p.network.half_life_days = 10.0;
        }
        2 => {
            p.levels.lookback_days = 3;
            p.levels.hold_days = 1;
            p.levels.milestones[2] = crate::levels::Milestone {
                active_days: 3,
                window_days: 10,
            };
            p.network.half_life_days = 2.0;
            p.network.max_thread_participants = 3;
        }
        _ => {}
    }
    p
}

/// splitmix64: a well-mixed hash of a seed and an id.
fn mix(seed: u64, id: i64) -> u64 {
    let mut z = seed ^ (id as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Writes a synthetic text score for about five in six messages (values chosen around the
/// thresholds the metrics use: sentiment ±0.05, confidence 0.5), leaving the rest unscored.
fn synthetic_scores(store: &SqliteStore, seed: u64) {
    const SENTIMENT: [i16; 11] = [
        -10_000, -5_000, -501, -500, -499, 0, 499, 500, 501, 3_000, 10_000,
    ];
    const CONFIDENCE: [i16; 5] = [0, 4_999, 5_000, 5_001, 10_000];
    let all = TextSelection {
        model_version: 1,
        all: true,
    };
    let mut after: Option<ActivityId> = None;
    loop {
        let page = store
            .texts_to_score(all, after, 500)
            .expect("messages to score");
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        let scores: Vec<TextScore> = page
            .iter()
            .filter_map(|t| {
                let h = mix(seed, t.id.0);
                (!h.is_multiple_of(6)).then(|| {
                    let scored = !(h >> 3).is_multiple_of(8);
                    TextScore {
                        activity: t.id,
                        activity_seq: t.seq,
                        model_version: 1,
                        language: if scored { "eng" } else { "fra" }.into(),
                        scored,
                        sentiment: SENTIMENT[((h >> 8) % 11) as usize],
                        confidence: CONFIDENCE[((h >> 12) % 5) as usize],
                        hostility: ((h >> 16) % 10_001) as i16,
                        hostile: (h >> 32).is_multiple_of(5),
                        intents: ((h >> 40) & 0x1ff) as u16,
                    }
                })
            })
            .collect();
        store.write_text_scores(&scores).expect("store scores");
    }
}

/// Writes the case (two imports, flags, merges, maybe a source deletion), building the
/// snapshot after the first import and refreshing it at the end.
pub fn materialise(case: &RandomCase, store: &SqliteStore) -> Snapshot {
    let acts = activities(case);
    let (first, second) = acts.split_at(case.split.min(acts.len()));
    if !first.is_empty() {
        write(store, first);
    }
    synthetic_scores(store, case.text_seeds.0);
    let mut snap = Snapshot::build(store).expect("a snapshot");
    if !second.is_empty() {
        write(store, second);
    }
    // New messages get scores and some older ones new scores (the refresh must apply both).
    synthetic_scores(store, case.text_seeds.1);
    for (m, &(kind, day)) in case.member_kinds.iter().enumerate() {
        let flags = match kind {
            1 => MemberFlags {
                team: true,
                team_since: None,
                bot: false,
            },
            2 => MemberFlags {
                team: true,
                team_since: Some(BASE + i64::from(day) * 86_400),
                bot: false,
            },
            3 => MemberFlags {
                team: false,
                team_since: None,
                bot: true,
            },
            _ => continue,
        };
        for source in ["a", "b"] {
            if let Some(id) = member_of(store, source, &format!("u{m}")) {
                store.set_member_flags(id, &flags).expect("set flags");
            }
        }
    }
    for &(m, org, since, len) in &case.affiliations {
        // Seconds within the day, so that an affiliation can start or end between two activities
        // of one day.
        let since = since.map(|d| BASE + i64::from(d) * 86_400 + 43_210);
        let until = len.map(|l| since.unwrap_or(BASE) + i64::from(l) * 86_400);
        if let Some(id) = member_of(store, "a", &format!("u{m}")) {
            let a = Affiliation {
                organisation: ["Acme", "Globex", "Initech"][org as usize % 3].into(),
                since,
                until,
            };
            store.add_affiliation(id, &a).expect("add an affiliation");
        }
    }
    for &(x, y) in &case.merges {
        // u{x} of source b into u{y} of source a.
        if let (Some(into), Some(from)) = (
            member_of(store, "a", &format!("u{y}")),
            member_of(store, "b", &format!("u{x}")),
        ) && into != from
        {
            let evidence = MergeEvidence {
                reason: "test".into(),
                score: 1.0,
                actor: "test".into(),
            };
            let _ = store.merge_members(into, from, &evidence);
        }
    }
    if case.delete_source_b
        && store
            .sources()
            .map(|s| s.iter().any(|s| s.name == "b"))
            .unwrap_or(false)
    {
        store.delete_source("b").expect("delete source b");
    }
    snap.refresh(store).expect("a refresh");
    snap
}

/// Runs `check` on `cases` random communities, each written into a new SQLite database (at the
/// path given) and materialised as [`materialise`] does; a case fails with `check`'s error.
pub fn for_random_communities(
    cases: u32,
    check: impl Fn(&RandomCase, &std::path::Path, &SqliteStore, Snapshot) -> Result<(), TestCaseError>,
) {
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&random_case(), |case| {
        let dir = tempfile::tempdir().map_err(|e| TestCaseError::fail(e.to_string()))?;
        let path = dir.path().join("kith.db");
        let store = SqliteStore::open(&path).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let snap = materialise(&case, &store);
        check(&case, &path, &store, snap)
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

/// Property test for metrics without reference SQL: on random communities (built, refreshed
/// and rebuilt exactly as for the oracle), `check` compares the fast implementation with the
/// slow model on the scope and returns the difference.
///
/// It also computes `metric` on the refreshed snapshot and on one built from scratch: the two
/// must agree (dense ids differ, the numbers may not).
pub fn check_model(
    metric: &MetricDef,
    cases: u32,
    check: impl Fn(&crate::Scope<'_>) -> Result<(), String>,
) {
    let cases = std::env::var("KITH_ORACLE_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(cases);
    for_random_communities(cases, |case, _, store, snap| {
        let p = params(case);
        let resolved = match crate::Resolved::new(&snap, &p) {
            Ok(r) => r,
            Err(
                crate::AnalyticsError::NoActivity
                | crate::AnalyticsError::UnknownSource { .. }
                | crate::AnalyticsError::UnknownChannel(_),
            ) => return Ok(()),
            Err(e) => return Err(TestCaseError::fail(e.to_string())),
        };
        let scope = crate::Scope::with_resolved(&snap, resolved);
        check(&scope).map_err(TestCaseError::fail)?;
        let fresh = Snapshot::build(store).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let fresh_resolved =
            crate::Resolved::new(&fresh, &p).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let fresh_scope = crate::Scope::with_resolved(&fresh, fresh_resolved);
        let again: Vec<Vec<Vec<crate::Cell>>> = (metric.compute)(&fresh_scope)
            .tables
            .iter()
            .map(|t| t.rows.clone())
            .collect();
        crate::oracle::compare(&(metric.compute)(&scope), &again).map_err(|diff| {
            TestCaseError::fail(format!(
                "refreshed (engine) and fresh (sql) snapshots differ: {diff}"
            ))
        })
    });
}

/// Property test: on random communities, the metric's fast result equals its reference SQL
/// run on the same SQLite database.
/// `KITH_ORACLE_CASES` overrides the number of cases (for longer runs outside CI).
pub fn check_oracle(metric: &MetricDef, cases: u32) {
    let cases = std::env::var("KITH_ORACLE_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(cases);
    for_random_communities(cases, |case, path, store, snap| {
        // A snapshot built from scratch must equal the refreshed one.
        let fresh = Snapshot::build(store).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let p = params(case);
        let resolved = match crate::Resolved::new(&snap, &p) {
            Ok(r) => r,
            // Nothing to compare: no activity, or a filter naming what this case lacks.
            Err(
                crate::AnalyticsError::NoActivity
                | crate::AnalyticsError::UnknownSource { .. }
                | crate::AnalyticsError::UnknownChannel(_),
            ) => {
                return Ok(());
            }
            Err(e) => return Err(TestCaseError::fail(e.to_string())),
        };
        let scope = crate::Scope::with_resolved(&snap, resolved.clone());
        let fast = (metric.compute)(&scope);
        // Dense ids differ between the two snapshots: resolve the filters for each.
        let fresh_resolved =
            crate::Resolved::new(&fresh, &p).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let fresh_scope = crate::Scope::with_resolved(&fresh, fresh_resolved);
        let again = (metric.compute)(&fresh_scope);
        let again_rows: Vec<Vec<Vec<crate::Cell>>> =
            again.tables.iter().map(|t| t.rows.clone()).collect();
        if let Err(diff) = crate::oracle::compare(&fast, &again_rows) {
            return Err(TestCaseError::fail(format!(
                "refreshed (engine) and fresh (sql) snapshots differ: {diff}"
            )));
        }
        let conn =
            rusqlite::Connection::open(path).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let sql = crate::oracle::run_reference(&conn, metric, &resolved)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        if let Err(diff) = crate::oracle::compare(&fast, &sql) {
            return Err(TestCaseError::fail(format!(
                "{} disagrees with its reference SQL: {diff}",
                metric.name
            )));
        }
        Ok(())
    });
}
