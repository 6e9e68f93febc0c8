//! Sentiment and hostility of messages per period, channel and topic (SPEC §4.5), from the text
//! scores kith-text stored for each message.

use kith_model::Kind;

use crate::metric::{Cell, MetricDef, MetricValue, Reference, SMALL_SAMPLE, Table, share};
use crate::scope::Scope;
use crate::snapshot::{NONE, T_CONFIDENT, T_HOSTILE, T_PRESENT, T_SCORED};

pub const METRIC: MetricDef = MetricDef {
    name: "sentiment",
    title: "Sentiment and hostility of messages",
    definition: DEFINITION,
    reference: Reference::Sql(REFERENCE_SQL),
    compute,
};

const DEFINITION: &str = "\
**Messages**: posts, replies, answers and feedback in the report range whose author's activity
counts (team and bots left out unless asked for) and that have a stored text score
(`text_scores`, written by the scoring pass after each import, by `kith serve` in the
background, or by `kith rescore`). Messages in a language the models do not support are
`not_scored` and count nowhere else.

Of the `scored` messages, the **confident** ones (sentiment confidence ≥ 0.5, stored as
`confidence >= 5000`) are classified: `positive` when the sentiment is ≥ 0.05
(`sentiment >= 500`), `negative` when ≤ −0.05 (`sentiment <= -500`), neutral between;
`positive_share` and `negative_share` are over the confident messages. `hostile` counts scored
messages kith-text found hostile (insults, slurs, threats, harassment aimed at people: a bug
report or a complaint is negative, not hostile); `hostile_share` is over the scored messages.
`small_sample` is 1 when fewer than 30 messages are confident.

Four tables: `summary` (the whole range, one row), `periods` (one row per calendar period
overlapping the range; messages bucketed by their local day), `channels` (the whole range,
one row per source and channel with messages, by store ids; `channel` is empty for messages
outside any channel) and `topics` (the whole range, one row per topic with messages, by
topic name in byte order; a message counts under every topic of its thread). A thread's
**topics** are the labels its platform put on its opening post — Stack Exchange tags,
Discourse tags, GitHub labels (`thread_topics`) — so a community whose platform has none (a
chat, a mailing list) has no `topics` rows.";

/// The aggregate columns, shared by both tables.
macro_rules! tally_sql {
    () => {
        "COUNT(m.id) AS messages,
       COALESCE(SUM(CASE WHEN m.scored = 1 THEN 1 ELSE 0 END), 0) AS scored,
       COALESCE(SUM(CASE WHEN m.scored = 0 THEN 1 ELSE 0 END), 0) AS not_scored,
       COALESCE(SUM(CASE WHEN m.scored = 1 AND m.confidence >= 5000 THEN 1 ELSE 0 END), 0) AS confident,
       COALESCE(SUM(CASE WHEN m.scored = 1 AND m.confidence >= 5000 AND m.sentiment >= 500 THEN 1 ELSE 0 END), 0) AS positive,
       COALESCE(SUM(CASE WHEN m.scored = 1 AND m.confidence >= 5000 AND m.sentiment <= -500 THEN 1 ELSE 0 END), 0) AS negative,
       COALESCE(SUM(CASE WHEN m.scored = 1 AND m.hostile = 1 THEN 1 ELSE 0 END), 0) AS hostile"
    };
}

/// The shares computed from [`tally_sql!`]'s columns.
macro_rules! shares_sql {
    () => {
        "messages, scored, not_scored, confident, positive, negative,
       CASE WHEN confident = 0 THEN NULL ELSE 1.0 * positive / confident END AS positive_share,
       CASE WHEN confident = 0 THEN NULL ELSE 1.0 * negative / confident END AS negative_share,
       hostile,
       CASE WHEN scored = 0 THEN NULL ELSE 1.0 * hostile / scored END AS hostile_share,
       CASE WHEN confident < 30 THEN 1 ELSE 0 END AS small_sample"
    };
}

const REFERENCE_SQL: &str = concat!(
    "WITH ",
    crate::scope_ctes!(),
    ",
msg AS (
  SELECT c.id, s.scored, s.sentiment, s.confidence, s.hostile
  FROM counted c JOIN text_scores s ON s.activity_id = c.id
  WHERE c.kind IN ('post', 'reply', 'answer', 'feedback') AND c.ts >= :from_ts AND c.ts < :to_ts
),
per AS (
  SELECT ",
    tally_sql!(),
    "
  FROM msg m
)
SELECT ",
    shares_sql!(),
    "
FROM per;
WITH ",
    crate::scope_ctes!(),
    ",
msg AS (
  SELECT c.id, c.ts, s.scored, s.sentiment, s.confidence, s.hostile
  FROM counted c JOIN text_scores s ON s.activity_id = c.id
  WHERE c.kind IN ('post', 'reply', 'answer', 'feedback') AND c.ts >= :from_ts AND c.ts < :to_ts
),
periods AS (
  SELECT period_no, MIN(period) AS period, MIN(day_start) AS p_start, MAX(day_end) AS p_end
  FROM kith_calendar WHERE period_no BETWEEN :first_period AND :last_period GROUP BY period_no
),
per AS (
  SELECT p.period_no, p.period, ",
    tally_sql!(),
    "
  FROM periods p LEFT JOIN msg m ON m.ts >= p.p_start AND m.ts < p.p_end
  GROUP BY p.period_no, p.period
)
SELECT period, ",
    shares_sql!(),
    "
FROM per ORDER BY period_no;
WITH ",
    crate::scope_ctes!(),
    ",
msg AS (
  SELECT c.id, a.source_id, a.channel_id, s.scored, s.sentiment, s.confidence, s.hostile
  FROM counted c JOIN activities a ON a.id = c.id JOIN text_scores s ON s.activity_id = c.id
  WHERE c.kind IN ('post', 'reply', 'answer', 'feedback') AND c.ts >= :from_ts AND c.ts < :to_ts
),
per AS (
  SELECT m.source_id, m.channel_id, ",
    tally_sql!(),
    "
  FROM msg m GROUP BY m.source_id, m.channel_id
)
SELECT src.name AS source, ch.ext_id AS channel, ",
    shares_sql!(),
    "
FROM per JOIN sources src ON src.id = per.source_id LEFT JOIN channels ch ON ch.id = per.channel_id
ORDER BY per.source_id, COALESCE(per.channel_id, 0);
WITH ",
    crate::scope_ctes!(),
    ",
msg AS (
  SELECT c.id, c.thread_id, s.scored, s.sentiment, s.confidence, s.hostile
  FROM counted c JOIN text_scores s ON s.activity_id = c.id
  WHERE c.kind IN ('post', 'reply', 'answer', 'feedback') AND c.ts >= :from_ts AND c.ts < :to_ts
),
per AS (
  SELECT tt.topic, ",
    tally_sql!(),
    "
  FROM msg m JOIN thread_topics tt ON tt.thread_id = m.thread_id GROUP BY tt.topic
)
SELECT topic, ",
    shares_sql!(),
    "
FROM per ORDER BY topic"
);

/// A confident message is positive at or above this sentiment (ten-thousandths: 0.05).
pub(crate) const POSITIVE: i16 = 500;
/// A confident message is negative at or below this sentiment (−0.05).
pub(crate) const NEGATIVE: i16 = -500;

/// The kinds of messages (what the scoring pass scores).
pub(crate) fn is_message(kind: u8) -> bool {
    kind == Kind::Post.code()
        || kind == Kind::Reply.code()
        || kind == Kind::Answer.code()
        || kind == Kind::Feedback.code()
}

/// Counts of one row.
#[derive(Debug, Clone, Copy, Default)]
struct Tally {
    messages: i64,
    scored: i64,
    not_scored: i64,
    confident: i64,
    positive: i64,
    negative: i64,
    hostile: i64,
}

impl Tally {
    fn add(&mut self, flags: u8, sentiment: i16) {
        self.messages += 1;
        if flags & T_SCORED == 0 {
            self.not_scored += 1;
            return;
        }
        self.scored += 1;
        if flags & T_CONFIDENT != 0 {
            self.confident += 1;
            if sentiment >= POSITIVE {
                self.positive += 1;
            } else if sentiment <= NEGATIVE {
                self.negative += 1;
            }
        }
        if flags & T_HOSTILE != 0 {
            self.hostile += 1;
        }
    }

    fn merge(&mut self, other: &Tally) {
        self.messages += other.messages;
        self.scored += other.scored;
        self.not_scored += other.not_scored;
        self.confident += other.confident;
        self.positive += other.positive;
        self.negative += other.negative;
        self.hostile += other.hostile;
    }

    fn cells(&self) -> Vec<Cell> {
        vec![
            self.messages.into(),
            self.scored.into(),
            self.not_scored.into(),
            self.confident.into(),
            self.positive.into(),
            self.negative.into(),
            share(self.positive, self.confident).into(),
            share(self.negative, self.confident).into(),
            self.hostile.into(),
            share(self.hostile, self.scored).into(),
            Cell::Int(i64::from(self.confident < SMALL_SAMPLE)),
        ]
    }
}

const TALLY_COLUMNS: [&str; 11] = [
    "messages",
    "scored",
    "not_scored",
    "confident",
    "positive",
    "negative",
    "positive_share",
    "negative_share",
    "hostile",
    "hostile_share",
    "small_sample",
];

fn compute(s: &Scope<'_>) -> MetricValue {
    let snap = s.snap;
    let cal = &s.p.calendar;
    let (first, last) = (s.p.first_period, s.p.last_period);
    let span = (last - first + 1).max(0) as usize;
    let mut per_period = vec![Tally::default(); span];
    let mut whole = Tally::default();
    // (source store id, channel store id or 0) → (source, channel, tally)
    let mut per_channel: std::collections::BTreeMap<(i64, i64), (u16, u32, Tally)> =
        std::collections::BTreeMap::new();
    // Per topic set (what threads carry): a community without topics never looks.
    let any_topics = snap.has_topics();
    let mut per_set = vec![Tally::default(); if any_topics { snap.topic_sets.len() } else { 0 }];
    if snap.has_text_scores() {
        for slot in s.counted_slots_from(s.p.from_ts) {
            let flags = snap.text_flags(slot);
            let ts = snap.ts[slot];
            if flags & T_PRESENT == 0
                || !is_message(snap.kind[slot])
                || ts < s.p.from_ts
                || ts >= s.p.to_ts
            {
                continue;
            }
            let sentiment = snap.text_sentiment(slot);
            whole.add(flags, sentiment);
            if let Some(d) = cal.day_of(ts) {
                let b = cal.bucket(d);
                if (first..=last).contains(&b) {
                    per_period[(b - first) as usize].add(flags, sentiment);
                }
            }
            let src = snap.source[slot];
            let ch = snap.channel[slot];
            let key = (
                snap.sources[src as usize].store_id,
                if ch == NONE {
                    0
                } else {
                    snap.channels[ch as usize].store_id
                },
            );
            per_channel
                .entry(key)
                .or_insert((src, ch, Tally::default()))
                .2
                .add(flags, sentiment);
            if any_topics {
                let set = snap.topic_set_of(snap.thread[slot]);
                if set != NONE {
                    per_set[set as usize].add(flags, sentiment);
                }
            }
        }
    }
    let mut summary = Table::new("summary", &TALLY_COLUMNS);
    summary.push(whole.cells());
    let mut columns = vec!["period"];
    columns.extend(TALLY_COLUMNS);
    let mut periods = Table::new("periods", &columns);
    for p in s.periods() {
        let mut row = vec![Cell::from(p.label.clone())];
        row.extend(per_period[(p.no - first) as usize].cells());
        periods.push(row);
    }
    let mut columns = vec!["source", "channel"];
    columns.extend(TALLY_COLUMNS);
    let mut channels = Table::new("channels", &columns);
    for (src, ch, tally) in per_channel.values() {
        let mut row = vec![
            Cell::from(snap.sources[*src as usize].name.clone()),
            if *ch == NONE {
                Cell::Null
            } else {
                Cell::from(snap.channels[*ch as usize].ext_id.clone())
            },
        ];
        row.extend(tally.cells());
        channels.push(row);
    }
    let mut columns = vec!["topic"];
    columns.extend(TALLY_COLUMNS);
    let mut topics = Table::new("topics", &columns);
    // Each set's counts go to each of its topics.
    let mut per_topic = vec![Tally::default(); snap.topic_names.len()];
    for (set, tally) in per_set.iter().enumerate() {
        if tally.messages > 0 {
            for &topic in &snap.topic_sets[set] {
                per_topic[topic as usize].merge(tally);
            }
        }
    }
    let mut by_name: Vec<(&str, &Tally)> = per_topic
        .iter()
        .enumerate()
        .filter(|(_, tally)| tally.messages > 0)
        .map(|(t, tally)| (snap.topic_names[t].as_str(), tally))
        .collect();
    // Byte order, as the reference SQL's `ORDER BY topic` (binary collation).
    by_name.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    for (name, tally) in by_name {
        let mut row = vec![Cell::from(name.to_owned())];
        row.extend(tally.cells());
        topics.push(row);
    }
    MetricValue {
        metric: METRIC.name,
        tables: vec![summary, periods, channels, topics],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{Community, Said, at, day_params};
    use kith_text::Intent;

    // Monthly, UTC, January and February 2024, all in channel `general` of `forum`:
    // - January: ann's post +0.6 (positive), bob's reply −0.3 (negative), cat's reply +0.04
    //   (neutral), dan's reply −0.8 but unsure (confidence 0.3: scored, not confident), eve's
    //   reply in German (not scored), fay's reply hostile at −0.9 (negative and hostile), and a
    //   reply by a bot (+0.9, left out) and a reaction (not a message);
    //   messages 6, scored 5, not scored 1, confident 4 (ann, bob, cat, fay), positive 1,
    //   negative 2, shares 0.25 / 0.5, hostile 1 of 5 scored = 0.2, small sample.
    // - February: gus's post +0.5 with no score stored (scoring has not run): nothing.
    #[test]
    fn confident_messages_are_split_by_polarity_and_hostility_is_counted_apart() {
        let mut c = Community::new();
        let a = c.post("ann", at("2024-01-02T10:00:00Z"), "t1");
        c.say(&a, Said::new(6_000, &[Intent::Question]));
        let b = c.reply("bob", at("2024-01-02T11:00:00Z"), "t1");
        c.say(&b, Said::new(-3_000, &[Intent::Complaint]));
        let x = c.reply("cat", at("2024-01-03T11:00:00Z"), "t1");
        c.say(&x, Said::new(400, &[Intent::Answer]));
        let d = c.reply("dan", at("2024-01-04T11:00:00Z"), "t1");
        c.say(&d, Said::new(-8_000, &[]).unsure());
        let e = c.reply("eve", at("2024-01-05T11:00:00Z"), "t1");
        c.say(&e, Said::other_language());
        let f = c.reply("fay", at("2024-01-06T11:00:00Z"), "t1");
        c.say(&f, Said::new(-9_000, &[]).hostile());
        let r = c.reply("robot", at("2024-01-07T11:00:00Z"), "t1");
        c.say(&r, Said::new(9_000, &[]));
        c.bot("robot");
        c.react("ann", at("2024-01-08T11:00:00Z"));
        c.post("gus", at("2024-02-02T10:00:00Z"), "t2");
        let snap = c.snapshot();
        let v =
            crate::compute(&snap, &day_params("2024-01-01", "2024-02-29"), "sentiment").unwrap();
        let t = v.table("periods").unwrap();
        assert_eq!(
            t.rows[0],
            vec![
                Cell::Text("2024-01".into()),
                Cell::Int(6),
                Cell::Int(5),
                Cell::Int(1),
                Cell::Int(4),
                Cell::Int(1),
                Cell::Int(2),
                Cell::Real(0.25),
                Cell::Real(0.5),
                Cell::Int(1),
                Cell::Real(0.2),
                Cell::Int(1),
            ]
        );
        assert_eq!(t.get(1, "messages"), Some(&Cell::Int(0)));
        assert_eq!(t.get(1, "positive_share"), Some(&Cell::Null));
        let ch = v.table("channels").unwrap();
        assert_eq!(ch.rows.len(), 1);
        assert_eq!(ch.get(0, "source"), Some(&Cell::Text("forum".into())));
        assert_eq!(ch.get(0, "channel"), Some(&Cell::Text("general".into())));
        assert_eq!(ch.rows[0][2..], t.rows[0][1..]);
        // The whole range is January's messages (February has none).
        assert_eq!(v.table("summary").unwrap().rows, [t.rows[0][1..].to_vec()]);
    }

    // Topics: three threads in January 2024.
    // - t1, tagged `python` and `csv`: ann's post +0.6 (confident, positive) and bob's reply
    //   −0.3 (confident, negative);
    // - t2, tagged `python` and `Été`: cat's post hostile at −0.9 (confident, negative,
    //   hostile) and dan's reply in German (not scored);
    // - t3, no tags: eve's post +0.5 (counts under no topic).
    // So `csv`: 2 messages, 2 scored, 2 confident, 1 positive, 1 negative, shares 0.5 / 0.5;
    // `python`: 4 messages, 3 scored, 1 not scored, 3 confident, 1 positive, 2 negative, 1
    // hostile (1/3); `Été` (byte order: `É` after ASCII letters, so last): 2 messages, 1
    // scored, 1 not scored, 1 confident, 0 positive, 1 negative, 1 hostile (1/1). Every row a
    // small sample (fewer than 30 confident).
    #[test]
    fn messages_count_under_every_topic_of_their_thread() {
        let mut c = Community::new();
        let a = c.post("ann", at("2024-01-02T10:00:00Z"), "t1");
        c.say(&a, Said::new(6_000, &[]));
        let b = c.reply("bob", at("2024-01-02T11:00:00Z"), "t1");
        c.say(&b, Said::new(-3_000, &[]));
        let x = c.post("cat", at("2024-01-03T10:00:00Z"), "t2");
        c.say(&x, Said::new(-9_000, &[]).hostile());
        let d = c.reply("dan", at("2024-01-03T11:00:00Z"), "t2");
        c.say(&d, Said::other_language());
        let e = c.post("eve", at("2024-01-04T10:00:00Z"), "t3");
        c.say(&e, Said::new(5_000, &[]));
        c.tag("t1", &["python", "csv"]);
        c.tag("t2", &["python", "Été"]);
        let snap = c.snapshot();
        let v =
            crate::compute(&snap, &day_params("2024-01-01", "2024-01-31"), "sentiment").unwrap();
        let t = v.table("topics").unwrap();
        let row = |topic: &str, n: [i64; 6], shares: [Option<f64>; 2], hostile: i64, hs: f64| {
            let mut r = vec![Cell::Text(topic.into())];
            r.extend(n.iter().map(|&k| Cell::Int(k)));
            r.extend(shares.iter().map(|s| s.map_or(Cell::Null, Cell::Real)));
            r.extend([Cell::Int(hostile), Cell::Real(hs), Cell::Int(1)]);
            r
        };
        assert_eq!(
            t.rows,
            vec![
                row("csv", [2, 2, 0, 2, 1, 1], [Some(0.5), Some(0.5)], 0, 0.0),
                row(
                    "python",
                    [4, 3, 1, 3, 1, 2],
                    [Some(1.0 / 3.0), Some(2.0 / 3.0)],
                    1,
                    1.0 / 3.0
                ),
                row("Été", [2, 1, 1, 1, 0, 1], [Some(0.0), Some(1.0)], 1, 1.0),
            ]
        );
    }

    #[test]
    fn agrees_with_reference_sql() {
        crate::testkit::check_oracle(&METRIC, 64);
    }
}
