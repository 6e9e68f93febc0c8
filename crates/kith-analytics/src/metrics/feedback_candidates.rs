//! Feedback candidates (SPEC §5.2): messages the intent detector read as a bug report, a
//! feature request, a complaint or praise, with the message as evidence: the queue feedback
//! items are made from, and how many arrive per period.

use kith_text::Intent;

use crate::metric::{Cell, MetricDef, MetricValue, Reference, Table};
use crate::metrics::sentiment::is_message;
use crate::scope::Scope;
use crate::snapshot::{NONE, T_SCORED};

pub const METRIC: MetricDef = MetricDef {
    name: "feedback_candidates",
    title: "Feedback candidates",
    definition: DEFINITION,
    reference: Reference::Sql(REFERENCE_SQL),
    compute,
};

/// The most candidates the queue lists (the counts cover them all).
pub const QUEUE_LIMIT: usize = 500;

const DEFINITION: &str = "\
**Candidates**: messages (posts, replies, answers, feedback) in the report range whose author's
activity counts (team and bots left out unless asked for) and whose stored text score is scored
with at least one of the intents `bug_report` (`intents & 8`), `feature_request` (16),
`complaint` (32) or `praise` (64). A message may carry several (an angry bug report is a bug
report and a complaint). They are candidates for feedback items (SPEC §5.2): a person turns
them into items, with the message as evidence.

Tables: `periods` (one row per calendar period overlapping the range: candidates per intent,
and `messages` with any of them) and `queue` (the newest 500 candidates, newest first by time
then id: `activity_id`, `ts`, `member_id`, `source`, `channel` (empty outside channels) and
`intents`, the candidate intents in the order above, comma-separated). The message text is
read from the activity.";

const REFERENCE_SQL: &str = concat!(
    "WITH ",
    crate::scope_ctes!(),
    ",
cand AS (
  SELECT c.id, c.ts, s.intents
  FROM counted c JOIN text_scores s ON s.activity_id = c.id
  WHERE c.kind IN ('post', 'reply', 'answer', 'feedback') AND c.ts >= :from_ts AND c.ts < :to_ts
    AND s.scored = 1 AND (s.intents & 120) <> 0
),
periods AS (
  SELECT period_no, MIN(period) AS period, MIN(day_start) AS p_start, MAX(day_end) AS p_end
  FROM kith_calendar WHERE period_no BETWEEN :first_period AND :last_period GROUP BY period_no
)
SELECT p.period,
       COALESCE(SUM(CASE WHEN (m.intents & 8) <> 0 THEN 1 ELSE 0 END), 0) AS bug_report,
       COALESCE(SUM(CASE WHEN (m.intents & 16) <> 0 THEN 1 ELSE 0 END), 0) AS feature_request,
       COALESCE(SUM(CASE WHEN (m.intents & 32) <> 0 THEN 1 ELSE 0 END), 0) AS complaint,
       COALESCE(SUM(CASE WHEN (m.intents & 64) <> 0 THEN 1 ELSE 0 END), 0) AS praise,
       COUNT(m.id) AS messages
FROM periods p LEFT JOIN cand m ON m.ts >= p.p_start AND m.ts < p.p_end
GROUP BY p.period_no, p.period
ORDER BY p.period_no;
WITH ",
    crate::scope_ctes!(),
    ",
cand AS (
  SELECT c.id, c.ts, c.member_id, a.source_id, a.channel_id, s.intents,
         (CASE WHEN (s.intents & 8) <> 0 THEN 'bug_report,' ELSE '' END)
         || (CASE WHEN (s.intents & 16) <> 0 THEN 'feature_request,' ELSE '' END)
         || (CASE WHEN (s.intents & 32) <> 0 THEN 'complaint,' ELSE '' END)
         || (CASE WHEN (s.intents & 64) <> 0 THEN 'praise,' ELSE '' END) AS names
  FROM counted c JOIN activities a ON a.id = c.id JOIN text_scores s ON s.activity_id = c.id
  WHERE c.kind IN ('post', 'reply', 'answer', 'feedback') AND c.ts >= :from_ts AND c.ts < :to_ts
    AND s.scored = 1 AND (s.intents & 120) <> 0
)
SELECT m.id AS activity_id, m.ts, m.member_id, src.name AS source, ch.ext_id AS channel,
       SUBSTR(m.names, 1, LENGTH(m.names) - 1) AS intents
FROM cand m JOIN sources src ON src.id = m.source_id LEFT JOIN channels ch ON ch.id = m.channel_id
ORDER BY m.ts DESC, m.id DESC
LIMIT 500"
);

/// The candidate intents, in the order of the columns.
const KINDS: [Intent; 4] = [
    Intent::BugReport,
    Intent::FeatureRequest,
    Intent::Complaint,
    Intent::Praise,
];

fn compute(s: &Scope<'_>) -> MetricValue {
    let snap = s.snap;
    let cal = &s.p.calendar;
    let (first, last) = (s.p.first_period, s.p.last_period);
    let span = (last - first + 1).max(0) as usize;
    let mask: u16 = KINDS.iter().fold(0, |b, i| b | i.bit());
    let mut counts = vec![[0i64; 5]; span];
    let mut queue: Vec<(i64, i64, usize)> = Vec::new();
    if snap.has_text_scores() {
        for slot in s.counted_slots_from(s.p.from_ts) {
            let ts = snap.ts[slot];
            if snap.text_flags(slot) & T_SCORED == 0
                || snap.text_intents(slot) & mask == 0
                || !is_message(snap.kind[slot])
                || ts < s.p.from_ts
                || ts >= s.p.to_ts
            {
                continue;
            }
            let bits = snap.text_intents(slot);
            if let Some(d) = cal.day_of(ts) {
                let b = cal.bucket(d);
                if (first..=last).contains(&b) {
                    let row = &mut counts[(b - first) as usize];
                    for (k, intent) in KINDS.iter().enumerate() {
                        row[k] += i64::from(bits & intent.bit() != 0);
                    }
                    row[4] += 1;
                }
            }
            queue.push((ts, snap.ids_of(slot as u32), slot));
        }
    }
    let mut periods = Table::new(
        "periods",
        &[
            "period",
            "bug_report",
            "feature_request",
            "complaint",
            "praise",
            "messages",
        ],
    );
    for p in s.periods() {
        let mut row = vec![Cell::from(p.label.clone())];
        row.extend(counts[(p.no - first) as usize].map(Cell::Int));
        periods.push(row);
    }
    // Newest first; only the first QUEUE_LIMIT are sorted into place.
    let newest = |a: &(i64, i64, usize), b: &(i64, i64, usize)| (b.0, b.1).cmp(&(a.0, a.1));
    if queue.len() > QUEUE_LIMIT {
        queue.select_nth_unstable_by(QUEUE_LIMIT, newest);
        queue.truncate(QUEUE_LIMIT);
    }
    queue.sort_unstable_by(newest);
    let mut list = Table::new(
        "queue",
        &[
            "activity_id",
            "ts",
            "member_id",
            "source",
            "channel",
            "intents",
        ],
    );
    for (ts, id, slot) in queue {
        let bits = snap.text_intents(slot);
        let names: Vec<&str> = KINDS
            .iter()
            .filter(|i| bits & i.bit() != 0)
            .map(|i| i.as_str())
            .collect();
        let ch = snap.channel[slot];
        list.push(vec![
            Cell::Int(id),
            Cell::Int(ts),
            snap.member_store_id(snap.member_of(slot)).into(),
            Cell::from(snap.sources[snap.source[slot] as usize].name.clone()),
            if ch == NONE {
                Cell::Null
            } else {
                Cell::from(snap.channels[ch as usize].ext_id.clone())
            },
            Cell::from(names.join(",")),
        ]);
    }
    MetricValue {
        metric: METRIC.name,
        tables: vec![periods, list],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{Community, Said, at, day_params};

    // Monthly, UTC, Jan–Feb 2024:
    // - ann's post Jan 2: bug report and complaint (an angry bug report) → both columns;
    // - bob's reply Jan 3: a feature request;
    // - cat's reply Jan 4: only a question → not a candidate;
    // - dan's post Jan 5 in German, unscored → not a candidate;
    // - a bot's praise Jan 6 → left out;
    // - eve's post Feb 1: praise.
    // January: bug 1, feature 1, complaint 1, praise 0, messages 2; February: praise 1, 1.
    // Queue, newest first: eve (praise), bob (feature_request), ann (bug_report,complaint).
    #[test]
    fn bugs_requests_complaints_and_praise_are_queued_with_counts_per_period() {
        let mut c = Community::new();
        let a = c.post("ann", at("2024-01-02T10:00:00Z"), "t1");
        c.say(
            &a,
            Said::new(-7_000, &[Intent::BugReport, Intent::Complaint]),
        );
        let b = c.reply("bob", at("2024-01-03T10:00:00Z"), "t1");
        c.say(&b, Said::new(3_000, &[Intent::FeatureRequest]));
        let x = c.reply("cat", at("2024-01-04T10:00:00Z"), "t1");
        c.say(&x, Said::new(0, &[Intent::Question]));
        let d = c.post("dan", at("2024-01-05T10:00:00Z"), "t2");
        c.say(&d, Said::other_language());
        let r = c.reply("robot", at("2024-01-06T10:00:00Z"), "t2");
        c.say(&r, Said::new(9_000, &[Intent::Praise]));
        c.bot("robot");
        let e = c.post("eve", at("2024-02-01T10:00:00Z"), "t3");
        c.say(&e, Said::new(9_000, &[Intent::Praise]));
        let snap = c.snapshot();
        let v = crate::compute(
            &snap,
            &day_params("2024-01-01", "2024-02-29"),
            "feedback_candidates",
        )
        .unwrap();
        let p = v.table("periods").unwrap();
        assert_eq!(p.rows[0][1..], [1, 1, 1, 0, 2].map(Cell::Int));
        assert_eq!(p.rows[1][1..], [0, 0, 0, 1, 1].map(Cell::Int));
        let q = v.table("queue").unwrap();
        let kinds: Vec<&Cell> = q.rows.iter().map(|r| &r[5]).collect();
        assert_eq!(
            kinds,
            [
                Cell::Text("praise".into()),
                Cell::Text("feature_request".into()),
                Cell::Text("bug_report,complaint".into())
            ]
            .iter()
            .collect::<Vec<_>>()
        );
        assert_eq!(q.get(0, "ts"), Some(&Cell::Int(at("2024-02-01T10:00:00Z"))));
        assert_eq!(q.get(2, "channel"), Some(&Cell::Text("general".into())));
    }

    #[test]
    fn agrees_with_reference_sql() {
        crate::testkit::check_oracle(&METRIC, 64);
    }
}
