//! Time to first response (SPEC §4.0, §4.4): median and p90 over responded threads, shares
//! answered within 1 h / 24 h / 72 h and unanswered over threads that are not open, split by
//! who responded (team or community) and by whether the author was a newcomer.

use crate::metric::{
    Cell, MetricDef, MetricValue, Reference, SMALL_SAMPLE, Table, nearest_rank, share,
};
use crate::scope::Scope;

pub const METRIC: MetricDef = MetricDef {
    name: "first_response",
    title: "Time to first response",
    definition: DEFINITION,
    reference: Reference::Sql(REFERENCE_SQL),
    compute,
};

const DEFINITION: &str = "\
**Threads**: a thread's opening post is its earliest live `post` (by time, then id). Threads
count when their opening post is in scope, by a member whose activity counts (team and bots
excluded unless asked for; author-less posts count), and falls in the report range.

**Response**: a `reply` or `answer` anywhere in the thread, or one whose `reply_to` is the
opening post, by a human other than the thread's author (team members and author-less content
count; bots never; reactions never), at or after the opening post. The **first response** is the
earliest (by time, then id); its delay is in seconds.

A thread without a response by as-of is **open** when it was opened less than 30 days before
as-of (left out of every share, numerator and denominator), else **unanswered**.

Rows (`segment`):
- `all`: every thread;
- `author:newcomer` / `author:regular`: by whether the author was on days 0–29 after their first
  participation (opening post − first participation < 30 × 24 h);
- `responder:community` / `responder:team`: responded threads by who responded first (team at
  the time of the response, from `team_since`).

Columns: `threads` (not open), `responded`, `unanswered`, `within_1h`, `within_24h`,
`within_72h` (first response ≤ 3,600 / 86,400 / 259,200 s), their shares over `threads`, and
`unanswered_share`; `median_s` and `p90_s` over responded threads by nearest rank (the
⌈q·n⌉-th smallest delay); `small_sample` is 1 when fewer than 30 threads responded.";

const REFERENCE_SQL: &str = concat!(
    "WITH ",
    crate::scope_ctes!(),
    ",
",
    crate::opening_post_cte!(),
    "thr AS (
  SELECT op.thread_id, op.id AS op_id, op.ts AS op_ts, op.member_id AS author
  FROM op JOIN counted c ON c.id = op.id
  WHERE op.ts >= :from_ts AND op.ts < :to_ts
),
resp AS (
  SELECT t.thread_id, r.ts, r.team_act,
         ROW_NUMBER() OVER (PARTITION BY t.thread_id ORDER BY r.ts, r.id) AS rn
  FROM thr t JOIN act r ON (r.thread_id = t.thread_id OR r.reply_to_id = t.op_id)
  WHERE r.kind IN ('reply', 'answer') AND r.bot = 0 AND r.member_id <> t.author AND r.ts >= t.op_ts
),
authorfirst AS (SELECT member_id, MIN(ts) AS first_part FROM counted WHERE participation = 1 GROUP BY member_id),
t2 AS (
  SELECT f.ts - t.op_ts AS rt, f.team_act AS by_team,
         CASE WHEN f.ts IS NULL AND t.op_ts > :as_of - 30 * 86400 THEN 1 ELSE 0 END AS open,
         CASE WHEN t.op_ts - af.first_part < 30 * 86400 THEN 1 ELSE 0 END AS newcomer
  FROM thr t
  LEFT JOIN resp f ON f.thread_id = t.thread_id AND f.rn = 1
  JOIN authorfirst af ON af.member_id = t.author
),
seg AS (
  SELECT 'all' AS segment, rt, open FROM t2
  UNION ALL SELECT CASE WHEN newcomer = 1 THEN 'author:newcomer' ELSE 'author:regular' END, rt, open FROM t2
  UNION ALL SELECT CASE WHEN by_team = 1 THEN 'responder:team' ELSE 'responder:community' END, rt, open
            FROM t2 WHERE rt IS NOT NULL
),
ranked AS (
  SELECT segment, rt, ROW_NUMBER() OVER (PARTITION BY segment ORDER BY rt) AS rn,
         COUNT(*) OVER (PARTITION BY segment) AS n
  FROM seg WHERE rt IS NOT NULL
),
q AS (
  SELECT segment,
         MIN(CASE WHEN 2 * rn >= n AND 2 * (rn - 1) < n THEN rt END) AS median_s,
         MIN(CASE WHEN 10 * rn >= 9 * n AND 10 * (rn - 1) < 9 * n THEN rt END) AS p90_s
  FROM ranked GROUP BY segment
),
agg AS (
  SELECT segment,
         SUM(CASE WHEN open = 0 THEN 1 ELSE 0 END) AS threads,
         SUM(CASE WHEN rt IS NOT NULL THEN 1 ELSE 0 END) AS responded,
         SUM(CASE WHEN rt IS NULL AND open = 0 THEN 1 ELSE 0 END) AS unanswered,
         SUM(CASE WHEN rt <= 3600 THEN 1 ELSE 0 END) AS within_1h,
         SUM(CASE WHEN rt <= 86400 THEN 1 ELSE 0 END) AS within_24h,
         SUM(CASE WHEN rt <= 259200 THEN 1 ELSE 0 END) AS within_72h
  FROM seg GROUP BY segment
),
segments AS (
  SELECT 'all' AS segment, 0 AS ord UNION ALL SELECT 'author:newcomer', 1 UNION ALL SELECT 'author:regular', 2
  UNION ALL SELECT 'responder:community', 3 UNION ALL SELECT 'responder:team', 4
),
rows_ AS (
  SELECT s.ord, s.segment, COALESCE(a.threads, 0) AS threads, COALESCE(a.responded, 0) AS responded,
         COALESCE(a.unanswered, 0) AS unanswered, COALESCE(a.within_1h, 0) AS within_1h,
         COALESCE(a.within_24h, 0) AS within_24h, COALESCE(a.within_72h, 0) AS within_72h,
         q.median_s, q.p90_s
  FROM segments s LEFT JOIN agg a ON a.segment = s.segment LEFT JOIN q ON q.segment = s.segment
)
SELECT segment, threads, responded, unanswered, within_1h, within_24h, within_72h,
       CASE WHEN threads = 0 THEN NULL ELSE 1.0 * within_1h / threads END AS within_1h_share,
       CASE WHEN threads = 0 THEN NULL ELSE 1.0 * within_24h / threads END AS within_24h_share,
       CASE WHEN threads = 0 THEN NULL ELSE 1.0 * within_72h / threads END AS within_72h_share,
       CASE WHEN threads = 0 THEN NULL ELSE 1.0 * unanswered / threads END AS unanswered_share,
       median_s, p90_s,
       CASE WHEN responded < 30 THEN 1 ELSE 0 END AS small_sample
FROM rows_
ORDER BY ord"
);

const SEGMENTS: [&str; 5] = [
    "all",
    "author:newcomer",
    "author:regular",
    "responder:community",
    "responder:team",
];

fn compute(s: &Scope<'_>) -> MetricValue {
    let (threads, first) = crate::threads::report_first_responses(s);

    // (rt or None, open) per segment.
    let mut seg: [Vec<(Option<i64>, bool)>; 5] = Default::default();
    for (th, first) in threads.list.iter().zip(first) {
        let op_ts = th.op_ts;
        let rt = first.map(|(ts, _, _)| ts - op_ts);
        let open = rt.is_none() && op_ts > s.p.as_of - 30 * 86_400;
        let first_part = s
            .participations(th.author as usize)
            .0
            .first()
            .copied()
            .unwrap_or(op_ts);
        let newcomer = op_ts - first_part < 30 * 86_400;
        seg[0].push((rt, open));
        seg[if newcomer { 1 } else { 2 }].push((rt, open));
        if let Some((_, _, team)) = *first {
            seg[if team { 4 } else { 3 }].push((rt, open));
        }
    }

    let mut table = Table::new(
        "segments",
        &[
            "segment",
            "threads",
            "responded",
            "unanswered",
            "within_1h",
            "within_24h",
            "within_72h",
            "within_1h_share",
            "within_24h_share",
            "within_72h_share",
            "unanswered_share",
            "median_s",
            "p90_s",
            "small_sample",
        ],
    );
    for (name, rows) in SEGMENTS.iter().zip(&seg) {
        let threads = rows.iter().filter(|(_, open)| !open).count() as i64;
        let mut times: Vec<i64> = rows.iter().filter_map(|(rt, _)| *rt).collect();
        times.sort_unstable();
        let responded = times.len() as i64;
        let unanswered = rows
            .iter()
            .filter(|(rt, open)| rt.is_none() && !open)
            .count() as i64;
        let within = |limit: i64| times.partition_point(|&t| t <= limit) as i64;
        let (h1, h24, h72) = (within(3_600), within(86_400), within(259_200));
        let sh = |x: i64| {
            if threads == 0 {
                None
            } else {
                share(x, threads)
            }
        };
        table.push(vec![
            (*name).into(),
            threads.into(),
            responded.into(),
            unanswered.into(),
            h1.into(),
            h24.into(),
            h72.into(),
            sh(h1).into(),
            sh(h24).into(),
            sh(h72).into(),
            sh(unanswered).into(),
            nearest_rank(&times, 1, 2).into(),
            nearest_rank(&times, 9, 10).into(),
            Cell::Int(i64::from(responded < SMALL_SAMPLE)),
        ]);
    }
    MetricValue {
        metric: METRIC.name,
        tables: vec![table],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::Params;
    use crate::testkit::{Community, at};

    fn row<'a>(v: &'a MetricValue, segment: &str) -> &'a [Cell] {
        let t = v.table("segments").unwrap();
        &t.rows[t
            .rows
            .iter()
            .position(|r| r[0] == Cell::Text(segment.into()))
            .unwrap()]
    }

    // Range Jan 1 ..= Jan 31 2024, as-of 2024-02-10T00:00:00Z (open = opened after Jan 11 and
    // no response).
    // - t1 by ann (Jan 2 10:00): ann replies to herself at 10:05 (not a response), a bot at
    //   10:10 (never a response), bob at 10:30 → first response 1,800 s, by the community;
    // - t2 by bob (Jan 3 10:00): team member tess answers at Jan 4 12:00 → 93,600 s, team;
    // - t3 by cat (Jan 5): only a reaction → no response, opened 36 days before as-of →
    //   unanswered;
    // - t4 by dan (Jan 20): no response, 21 days before as-of → open, left out of shares;
    // - t5 by tess (team) → not a community thread, left out;
    // - t6 by eve (Jan 6 00:00): an author-less reply 3 days + 1 s later → 259,201 s.
    // ann, bob, cat, eve are newcomers (their first participation is their post; bob's first
    // participation is Jan 2 10:30, 23.5 hours before t2).
    // all: threads 4 (t1, t2, t3, t6), responded 3, unanswered 1; within 1 h 1, 24 h 1,
    // 72 h 2; delays sorted 1,800 / 93,600 / 259,201: median = ⌈1.5⌉ = 2nd = 93,600,
    // p90 = ⌈2.7⌉ = 3rd = 259,201.
    #[test]
    fn response_times_follow_the_definition() {
        let mut c = Community::new();
        c.post("ann", at("2024-01-02T10:00:00Z"), "t1");
        c.reply("ann", at("2024-01-02T10:05:00Z"), "t1");
        c.reply("robot", at("2024-01-02T10:10:00Z"), "t1");
        c.bot("robot");
        c.reply("bob", at("2024-01-02T10:30:00Z"), "t1");
        c.post("bob", at("2024-01-03T10:00:00Z"), "t2");
        c.answer("tess", at("2024-01-04T12:00:00Z"), "t2");
        c.team("tess", None);
        c.post("cat", at("2024-01-05T10:00:00Z"), "t3");
        c.react("ann", at("2024-01-05T11:00:00Z"));
        c.post("dan", at("2024-01-20T10:00:00Z"), "t4");
        c.post("tess", at("2024-01-21T10:00:00Z"), "t5");
        c.post("eve", at("2024-01-06T00:00:00Z"), "t6");
        c.anonymous_reply(at("2024-01-09T00:00:01Z"), "t6");
        let snap = c.snapshot();
        let p = Params {
            from: Some("2024-01-01".parse().unwrap()),
            to: Some("2024-01-31".parse().unwrap()),
            as_of: Some(at("2024-02-10T00:00:00Z")),
            ..Params::default()
        };
        let v = crate::compute(&snap, &p, "first_response").unwrap();
        let all = row(&v, "all");
        assert_eq!(all[1..7], [4, 3, 1, 1, 1, 2].map(Cell::Int));
        assert_eq!(all[10], Cell::Real(0.25), "unanswered share 1/4");
        assert_eq!(
            all[11..14],
            [Cell::Int(93_600), Cell::Int(259_201), Cell::Int(1)]
        );
        let team = row(&v, "responder:team");
        assert_eq!(team[1..3], [Cell::Int(1), Cell::Int(1)]);
        assert_eq!(team[11], Cell::Int(93_600));
        let community = row(&v, "responder:community");
        assert_eq!(community[1..3], [Cell::Int(2), Cell::Int(2)]);
        assert_eq!(
            community[11],
            Cell::Int(1_800),
            "median of 1,800 and 259,201 is the 1st"
        );
        let newcomer = row(&v, "author:newcomer");
        assert_eq!(newcomer[1..4], [4, 3, 1].map(Cell::Int));
        assert_eq!(row(&v, "author:regular")[1..4], [0, 0, 0].map(Cell::Int));
    }

    // A comment on the opening post counts even without the thread; a regular author (first
    // participation more than 30 days before the post) is split out.
    #[test]
    fn comments_on_the_opening_post_count_and_regulars_are_split() {
        let mut c = Community::new();
        c.post("ann", at("2023-11-01T10:00:00Z"), "t0");
        let op = c.post("ann", at("2024-01-02T10:00:00Z"), "t1");
        let mut reply = kith_model::Activity::new(
            "forum",
            "comment",
            kith_model::Kind::Reply,
            kith_model::Timestamp::from_secs(at("2024-01-02T10:20:00Z")),
            Some(kith_model::Author::new("bob")),
        );
        reply.reply_to = Some(op);
        crate::testkit::write(&c.store, &[reply]);
        let snap = c.snapshot();
        let p = Params {
            from: Some("2024-01-01".parse().unwrap()),
            to: Some("2024-01-31".parse().unwrap()),
            ..Params::default()
        };
        let v = crate::compute(&snap, &p, "first_response").unwrap();
        let regular = row(&v, "author:regular");
        assert_eq!(regular[1..3], [Cell::Int(1), Cell::Int(1)]);
        assert_eq!(regular[11], Cell::Int(1_200));
    }

    #[test]
    fn agrees_with_reference_sql() {
        crate::testkit::check_oracle(&METRIC, 64);
    }
}
