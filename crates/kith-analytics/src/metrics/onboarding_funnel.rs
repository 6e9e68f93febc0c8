//! The onboarding funnel per join cohort (SPEC §4.6): joined → first post → first human
//! response → second participation within 30 days → active at day 30 / 60 / 90, with counts,
//! shares and the median time of each step.

use crate::metric::{Cell, MetricDef, MetricValue, Reference, Table, nearest_rank, share};
use crate::scope::Scope;

pub const METRIC: MetricDef = MetricDef {
    name: "onboarding_funnel",
    title: "Onboarding funnel",
    definition: DEFINITION,
    reference: Reference::Sql(REFERENCE_SQL),
    compute,
};

const STEPS: [&str; 7] = [
    "joined",
    "first_post",
    "first_response",
    "second_participation_30d",
    "active_day_30",
    "active_day_60",
    "active_day_90",
];
const DAY: i64 = 86_400;

const DEFINITION: &str = "\
A member **joins** at their first activity of any kind in scope (a join, a reaction, a post...;
team and bots left out unless asked for; author-less content is not a member). The **cohort**
is the calendar month of joining, for the months from `from`'s to `to`'s; empty cohorts are left
out. Day k counts whole 24-hour days from the member's **first participation** (SPEC §4.0); a
member who never participated is counted from their join (and reaches none of the later steps).

One row per cohort and step:
- `joined`: the cohort;
- `first_post`: members who opened a thread by as-of (their **first post** is their earliest
  counted opening post); `median_s`: from joining to it;
- `first_response`: members whose first post got a response by as-of (a reply or answer by a
  human other than them, as in [`first_response`](#first_response)); `median_s`: from the post
  to the first response;
- `second_participation_30d`: a second participation within 30 × 24 h of the first
  (`t₁ < t₀ + 30 d`); `median_s`: `t₁ − t₀`;
- `active_day_30` / `_60` / `_90`: at least one participation on days 30–59 / 60–89 / 90–119.

`eligible`: cohort members whose window has ended by as-of (`anchor + end × 24 h ≤ as-of +
1 s`; the whole cohort for the first three steps); `members`: eligible members who reached the
step; `share` = `members / eligible`; `median_s` by nearest rank (empty where not defined).
Steps are counted independently over the cohort, so a member who came back without a response
still counts at `second_participation_30d`.";

const REFERENCE_SQL: &str = concat!(
    "WITH ",
    crate::scope_ctes!(),
    ",
",
    crate::opening_post_cte!(),
    crate::first_post_ctes!(),
    "joined AS (SELECT member_id, MIN(ts) AS join_ts FROM counted WHERE anonymous = 0 GROUP BY member_id),
coh AS (
  SELECT j.member_id, j.join_ts, k.month_no AS cohort_no, k.month AS cohort
  FROM joined j JOIN kith_calendar k ON j.join_ts >= k.day_start AND j.join_ts < k.day_end
  WHERE k.month_no BETWEEN :first_month AND :last_month
),
pr AS (
  SELECT member_id, ts, ROW_NUMBER() OVER (PARTITION BY member_id ORDER BY ts, id) AS rn
  FROM counted WHERE participation = 1 AND anonymous = 0
),
mem AS (
  SELECT co.member_id, co.cohort_no, co.cohort, co.join_ts, p1.ts AS t0, p2.ts AS t1,
         COALESCE(p1.ts, co.join_ts) AS anchor, f.op_ts, f.resp_ts
  FROM coh co
  LEFT JOIN pr p1 ON p1.member_id = co.member_id AND p1.rn = 1
  LEFT JOIN pr p2 ON p2.member_id = co.member_id AND p2.rn = 2
  LEFT JOIN first_post f ON f.member_id = co.member_id
),
win AS (SELECT 4 AS step_no, 30 AS k UNION ALL SELECT 5, 60 UNION ALL SELECT 6, 90),
steps AS (
  SELECT cohort_no, 0 AS step_no, 1 AS eligible, 1 AS reached, CAST(NULL AS BIGINT) AS dt FROM mem
  UNION ALL
  SELECT cohort_no, 1, 1, CASE WHEN op_ts IS NULL THEN 0 ELSE 1 END, op_ts - join_ts FROM mem
  UNION ALL
  SELECT cohort_no, 2, 1, CASE WHEN resp_ts IS NULL THEN 0 ELSE 1 END, resp_ts - op_ts FROM mem
  UNION ALL
  SELECT cohort_no, 3,
         CASE WHEN anchor + 30 * 86400 <= :as_of + 1 THEN 1 ELSE 0 END,
         CASE WHEN t1 IS NOT NULL AND t1 < anchor + 30 * 86400 THEN 1 ELSE 0 END,
         CASE WHEN t1 IS NOT NULL AND t1 < anchor + 30 * 86400 THEN t1 - t0 END
  FROM mem
  UNION ALL
  SELECT m.cohort_no, w.step_no,
         CASE WHEN m.anchor + (w.k + 30) * 86400 <= :as_of + 1 THEN 1 ELSE 0 END,
         CASE WHEN EXISTS (SELECT 1 FROM pr p WHERE p.member_id = m.member_id
                             AND p.ts >= m.anchor + w.k * 86400 AND p.ts < m.anchor + (w.k + 30) * 86400)
              THEN 1 ELSE 0 END,
         CAST(NULL AS BIGINT)
  FROM mem m, win w
),
ranked AS (
  SELECT cohort_no, step_no, dt,
         ROW_NUMBER() OVER (PARTITION BY cohort_no, step_no ORDER BY dt) AS rn,
         COUNT(*) OVER (PARTITION BY cohort_no, step_no) AS n
  FROM steps WHERE eligible = 1 AND reached = 1 AND dt IS NOT NULL
),
q AS (
  SELECT cohort_no, step_no, MIN(CASE WHEN 2 * rn >= n THEN dt END) AS median_s
  FROM ranked GROUP BY cohort_no, step_no
),
agg AS (
  SELECT cohort_no, step_no, SUM(eligible) AS eligible, SUM(eligible * reached) AS members
  FROM steps GROUP BY cohort_no, step_no
),
names AS (
  SELECT 0 AS step_no, 'joined' AS step UNION ALL SELECT 1, 'first_post'
  UNION ALL SELECT 2, 'first_response' UNION ALL SELECT 3, 'second_participation_30d'
  UNION ALL SELECT 4, 'active_day_30' UNION ALL SELECT 5, 'active_day_60' UNION ALL SELECT 6, 'active_day_90'
),
cohorts AS (SELECT cohort_no, MIN(cohort) AS cohort FROM mem GROUP BY cohort_no)
SELECT c.cohort, n.step, a.eligible, a.members,
       CASE WHEN a.eligible = 0 THEN NULL ELSE 1.0 * a.members / a.eligible END AS share,
       q.median_s
FROM agg a
JOIN cohorts c ON c.cohort_no = a.cohort_no
JOIN names n ON n.step_no = a.step_no
LEFT JOIN q ON q.cohort_no = a.cohort_no AND q.step_no = a.step_no
ORDER BY a.cohort_no, a.step_no"
);

/// One cohort's counts and step durations.
#[derive(Default)]
struct Cohort {
    eligible: [i64; 7],
    members: [i64; 7],
    times: [Vec<i64>; 4],
}

fn compute(s: &Scope<'_>) -> MetricValue {
    let snap = s.snap;
    let cal = &s.p.calendar;
    let as_of = s.p.as_of;
    let posts = crate::threads::first_posts(s);
    let (first, last) = (s.p.first_month, s.p.last_month);
    let mut cohorts: Vec<Cohort> = (first..=last).map(|_| Cohort::default()).collect();
    let ended = |anchor: i64, days: i64| anchor + days * DAY <= as_of + 1;
    for m in 0..s.members() {
        if s.is_anonymous(m) {
            continue;
        }
        let join = s.first_seen[m];
        if join == i64::MAX {
            continue;
        }
        let Some(day) = cal.day_of(join) else {
            continue;
        };
        let month = cal.month(day);
        if !(first..=last).contains(&month) {
            continue;
        }
        let c = &mut cohorts[(month - first) as usize];
        let parts = s.participations(m).0;
        let anchor = parts.first().copied().unwrap_or(join);
        c.eligible[0] += 1;
        c.members[0] += 1;
        c.eligible[1] += 1;
        c.eligible[2] += 1;
        if let Some((op, response)) = posts.of(m) {
            let op_ts = snap.ts[op as usize];
            c.members[1] += 1;
            c.times[1].push(op_ts - join);
            if let Some((resp_ts, _, _)) = response {
                c.members[2] += 1;
                c.times[2].push(resp_ts - op_ts);
            }
        }
        if ended(anchor, 30) {
            c.eligible[3] += 1;
            if let Some(&t1) = parts.get(1)
                && t1 < anchor + 30 * DAY
            {
                c.members[3] += 1;
                c.times[3].push(t1 - anchor);
            }
        }
        for (step, k) in [(4, 30), (5, 60), (6, 90)] {
            if ended(anchor, k + 30) {
                c.eligible[step] += 1;
                let from = parts.partition_point(|&t| t < anchor + k * DAY);
                if parts
                    .get(from)
                    .is_some_and(|&t| t < anchor + (k + 30) * DAY)
                {
                    c.members[step] += 1;
                }
            }
        }
    }
    let mut table = Table::new(
        "steps",
        &["cohort", "step", "eligible", "members", "share", "median_s"],
    );
    for (ci, c) in cohorts.iter_mut().enumerate() {
        if c.members[0] == 0 {
            continue;
        }
        let no = first + ci as i64;
        let label = format!("{:04}-{:02}", no.div_euclid(12), no.rem_euclid(12) + 1);
        for (step, name) in STEPS.iter().enumerate() {
            let median = match c.times.get_mut(step) {
                Some(times) if step > 0 => {
                    times.sort_unstable();
                    nearest_rank(times, 1, 2)
                }
                _ => None,
            };
            table.push(vec![
                label.clone().into(),
                (*name).into(),
                Cell::Int(c.eligible[step]),
                Cell::Int(c.members[step]),
                share(c.members[step], c.eligible[step]).into(),
                median.into(),
            ]);
        }
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
    use kith_model::Kind;

    fn step<'a>(v: &'a MetricValue, cohort: &str, step: &str) -> &'a [Cell] {
        let t = v.table("steps").unwrap();
        t.rows
            .iter()
            .find(|r| r[0] == Cell::Text(cohort.into()) && r[1] == Cell::Text(step.into()))
            .unwrap()
    }

    // Range Jan 1 ..= Feb 29 2024 (cohorts January and February), as-of 2024-04-15T00:00:00Z.
    // January cohort:
    // - ann joins Jan 1 00:00 (a join), posts t1 Jan 2 00:00 (first participation), bob
    //   replies Jan 2 02:00 → first post 86,400 s after joining, response 7,200 s; ann posts
    //   again Jan 10 (second participation 8 days after the first) and on Feb 5 (day 34: active
    //   at day 30);
    // - bob joins Jan 2 02:00 with his reply (first participation, no opening post); replies
    //   again Jan 20 (18 days later: second participation); nothing on days 30–59;
    // - cat only reacts on Jan 15 → joined, nothing else; counted from her join.
    // February cohort:
    // - dan posts t2 Feb 20 (no response); his day-30 window ends Feb 20 + 60 d = Apr 20 >
    //   as-of: not eligible for active_day_30; his 30-day window ended Mar 21: eligible.
    // January: joined 3; first_post 1 (ann; median 86,400); first_response 1 (median 7,200);
    // second_participation_30d eligible 3, members 2 (ann 691,200 s, bob 1,555,200 s; median
    // ⌈1⌉ = 1st = 691,200); active_day_30 eligible 3 (Jan anchors + 60 d ≤ Apr 1 < as-of),
    // members 1 (ann); active_day_60 eligible 3 (anchors + 90 d ≤ Apr 14 ≤ as-of), members 0;
    // active_day_90: anchors + 120 d from Apr 30 > as-of → eligible 0, share empty.
    #[test]
    fn cohorts_move_through_the_steps_when_their_windows_have_ended() {
        let mut c = Community::new();
        c.act(Kind::Join, "ann", at("2024-01-01T00:00:00Z"));
        c.post("ann", at("2024-01-02T00:00:00Z"), "t1");
        c.reply("bob", at("2024-01-02T02:00:00Z"), "t1");
        c.post("ann", at("2024-01-10T00:00:00Z"), "t3");
        c.reply("ann", at("2024-02-05T00:00:00Z"), "t3");
        c.reply("bob", at("2024-01-20T02:00:00Z"), "t1");
        c.react("cat", at("2024-01-15T00:00:00Z"));
        c.post("dan", at("2024-02-20T00:00:00Z"), "t2");
        let snap = c.snapshot();
        let p = Params {
            from: Some("2024-01-01".parse().unwrap()),
            to: Some("2024-02-29".parse().unwrap()),
            as_of: Some(at("2024-04-15T00:00:00Z")),
            ..Params::default()
        };
        let v = crate::compute(&snap, &p, "onboarding_funnel").unwrap();
        assert_eq!(v.table("steps").unwrap().rows.len(), 14);
        assert_eq!(step(&v, "2024-01", "joined")[2..4], [3, 3].map(Cell::Int));
        assert_eq!(
            step(&v, "2024-01", "first_post")[2..],
            [
                Cell::Int(3),
                Cell::Int(1),
                Cell::Real(1.0 / 3.0),
                Cell::Int(86_400)
            ]
        );
        assert_eq!(
            step(&v, "2024-01", "first_response")[3..],
            [Cell::Int(1), Cell::Real(1.0 / 3.0), Cell::Int(7_200)]
        );
        assert_eq!(
            step(&v, "2024-01", "second_participation_30d")[2..],
            [
                Cell::Int(3),
                Cell::Int(2),
                Cell::Real(2.0 / 3.0),
                Cell::Int(691_200)
            ]
        );
        assert_eq!(
            step(&v, "2024-01", "active_day_30")[2..],
            [
                Cell::Int(3),
                Cell::Int(1),
                Cell::Real(1.0 / 3.0),
                Cell::Null
            ]
        );
        assert_eq!(
            step(&v, "2024-01", "active_day_60")[2..4],
            [3, 0].map(Cell::Int)
        );
        assert_eq!(
            step(&v, "2024-01", "active_day_90")[2..5],
            [Cell::Int(0), Cell::Int(0), Cell::Null]
        );
        assert_eq!(
            step(&v, "2024-02", "first_response")[2..4],
            [1, 0].map(Cell::Int)
        );
        assert_eq!(
            step(&v, "2024-02", "second_participation_30d")[2..4],
            [1, 0].map(Cell::Int)
        );
        assert_eq!(
            step(&v, "2024-02", "active_day_30")[2..4],
            [0, 0].map(Cell::Int)
        );
    }

    #[test]
    fn agrees_with_reference_sql() {
        crate::testkit::check_oracle(&METRIC, 64);
    }
}
