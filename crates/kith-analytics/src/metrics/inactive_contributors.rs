//! Inactive contributors per period (SPEC §4.2, CHAOSS "Inactive Contributors"): contributors
//! who were active before and have not participated within the last `interval` days.

use crate::metric::{Cell, MetricDef, MetricValue, Reference, Table, share};
use crate::scope::Scope;

pub const METRIC: MetricDef = MetricDef {
    name: "inactive_contributors",
    title: "Inactive contributors",
    definition: DEFINITION,
    reference: Reference::Sql(REFERENCE_SQL),
    compute,
};

const DEFINITION: &str = "\
CHAOSS *Inactive Contributors* with its two parameters: the **period** is the report period
(day, week, month, quarter), the **interval** is `inactive_interval_days` (default 90).

One row per calendar period overlapping the report range. Each period is measured at its
**reference instant** r = the earlier of the period's last second and as-of (`measured_at`).
- `contributors`: members (not author-less content; team and bots left out unless asked for)
  with at least one participation at or before r;
- `inactive`: those whose last participation at or before r, L, is at least the interval before
  it: `r − L ≥ inactive_interval_days × 24 h` (active before, not within the interval);
- `became_inactive`: inactive at r whose interval ran out during the period: L is later than
  `r′ − interval`, where r′ is the previous period's reference instant (the earlier of the second
  before the period and as-of) — they were not yet inactive at r′, or came back and went quiet
  again;
- `inactive_share` = `inactive / contributors`.";

const REFERENCE_SQL: &str = concat!(
    "WITH ",
    crate::scope_ctes!(),
    ",
periods AS (
  SELECT period_no, MIN(period) AS period, MIN(day_start) AS p_start, MAX(day_end) AS p_end
  FROM kith_calendar WHERE period_no BETWEEN :first_period AND :last_period GROUP BY period_no
),
refs AS (
  SELECT period_no, period,
         CASE WHEN p_end - 1 < :as_of THEN p_end - 1 ELSE :as_of END AS r,
         CASE WHEN p_start - 1 < :as_of THEN p_start - 1 ELSE :as_of END AS r_prev
  FROM periods
),
parts AS (SELECT member_id, ts FROM counted WHERE participation = 1 AND anonymous = 0),
lastp AS (
  SELECT f.period_no, p.member_id, MAX(p.ts) AS last_ts
  FROM refs f JOIN parts p ON p.ts <= f.r
  GROUP BY f.period_no, p.member_id
),
agg AS (
  SELECT f.period_no, f.period, f.r,
         (SELECT COUNT(*) FROM lastp l WHERE l.period_no = f.period_no) AS contributors,
         (SELECT COUNT(*) FROM lastp l WHERE l.period_no = f.period_no
            AND l.last_ts <= f.r - :inactive_interval_days * 86400) AS inactive,
         (SELECT COUNT(*) FROM lastp l WHERE l.period_no = f.period_no
            AND l.last_ts <= f.r - :inactive_interval_days * 86400
            AND l.last_ts > f.r_prev - :inactive_interval_days * 86400) AS became_inactive
  FROM refs f
)
SELECT period, r AS measured_at, contributors, inactive, became_inactive,
       CASE WHEN contributors = 0 THEN NULL ELSE 1.0 * inactive / contributors END AS inactive_share
FROM agg
ORDER BY period_no"
);

fn compute(s: &Scope<'_>) -> MetricValue {
    let as_of = s.p.as_of;
    let interval = s.p.inactive_interval_days.saturating_mul(86_400);
    let periods = s.periods();
    let n = periods.len();
    // Reference instants, non-decreasing; the previous one of period p > 0 is r[p − 1].
    let r: Vec<i64> = periods.iter().map(|p| (p.end - 1).min(as_of)).collect();
    let r_prev0 = periods.first().map_or(as_of, |p| (p.start - 1).min(as_of));
    // First period whose reference instant is at or after `t`.
    let from = |t: i64| r.partition_point(|&x| x < t);
    // Difference arrays over periods.
    let mut contributors = vec![0i64; n + 1];
    let mut inactive = vec![0i64; n + 1];
    let mut became = vec![0i64; n];
    for m in 0..s.members() {
        if s.is_anonymous(m) {
            continue;
        }
        let ts = s.participations(m).0;
        let Some(&t0) = ts.first() else { continue };
        contributors[from(t0)] += 1;
        // While L = ts[i] is the last participation (r in [ts[i], ts[i+1])), the member is
        // inactive for r ≥ ts[i] + interval.
        for (i, &t) in ts.iter().enumerate() {
            let next = ts.get(i + 1).copied().unwrap_or(i64::MAX);
            let start = t.saturating_add(interval);
            if start >= next {
                continue;
            }
            let a = from(start);
            let b = if next == i64::MAX { n } else { from(next) };
            if a >= b {
                continue;
            }
            inactive[a] += 1;
            inactive[b] -= 1;
            // The interval ran out in period a: r[a] is the first reference instant past it,
            // so r′ (= r[a − 1], or the instant before the first period) is before it.
            let prev = if a == 0 { r_prev0 } else { r[a - 1] };
            if prev < start {
                became[a] += 1;
            }
        }
    }
    let mut table = Table::new(
        "periods",
        &[
            "period",
            "measured_at",
            "contributors",
            "inactive",
            "became_inactive",
            "inactive_share",
        ],
    );
    let (mut c, mut i) = (0i64, 0i64);
    for (p, info) in periods.iter().enumerate() {
        c += contributors[p];
        i += inactive[p];
        table.push(vec![
            info.label.clone().into(),
            Cell::Int(r[p]),
            Cell::Int(c),
            Cell::Int(i),
            Cell::Int(became[p]),
            share(i, c).into(),
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

    // Monthly, UTC, interval 30 days, range Mar 1 ..= May 31 2024, as-of May 15 00:00.
    // Reference instants: Mar 31 23:59:59, Apr 30 23:59:59, May 15 00:00 (as-of).
    // - ann: Jan 10 and Mar 25 → March: last Mar 25, 6 days → active; April: 36 days → inactive,
    //   ran out Apr 24 → became inactive in April; May: inactive (not newly).
    // - bob: Jan 5 only → inactive in every month; ran out Feb 4, before March's r′ (Feb 29
    //   23:59:59) → never "became" in the range.
    // - cat: Feb 1, then Apr 20 → March: last Feb 1, 59 days → inactive, ran out Mar 2 → became
    //   in March; April: last Apr 20, 10 days → active; May: 25 days → active.
    // - dan: first participation May 1 → not a contributor in March or April; active in May.
    // March: contributors 3 (ann, bob, cat), inactive 2 (bob, cat), became 1 (cat).
    // April: contributors 3, inactive 2 (ann, bob), became 1 (ann).
    // May: contributors 4, inactive 2 (ann, bob), became 0.
    #[test]
    fn contributors_silent_for_the_interval_are_inactive_at_each_period() {
        let mut c = Community::new();
        c.post("ann", at("2024-01-10T10:00:00Z"), "t1");
        c.reply("ann", at("2024-03-25T10:00:00Z"), "t1");
        c.post("bob", at("2024-01-05T10:00:00Z"), "t2");
        c.post("cat", at("2024-02-01T10:00:00Z"), "t3");
        c.reply("cat", at("2024-04-20T10:00:00Z"), "t3");
        c.post("dan", at("2024-05-01T10:00:00Z"), "t4");
        let snap = c.snapshot();
        let p = Params {
            from: Some("2024-03-01".parse().unwrap()),
            to: Some("2024-05-31".parse().unwrap()),
            as_of: Some(at("2024-05-15T00:00:00Z")),
            inactive_interval_days: 30,
            ..Params::default()
        };
        let v = crate::compute(&snap, &p, "inactive_contributors").unwrap();
        let t = v.table("periods").unwrap();
        assert_eq!(t.rows.len(), 3);
        assert_eq!(
            t.rows[0][1..5],
            [at("2024-03-31T23:59:59Z"), 3, 2, 1].map(Cell::Int)
        );
        assert_eq!(
            t.rows[1][1..5],
            [at("2024-04-30T23:59:59Z"), 3, 2, 1].map(Cell::Int)
        );
        assert_eq!(
            t.rows[2][1..5],
            [at("2024-05-15T00:00:00Z"), 4, 2, 0].map(Cell::Int)
        );
        assert_eq!(t.get(2, "inactive_share"), Some(&Cell::Real(0.5)));
    }

    #[test]
    fn agrees_with_reference_sql() {
        crate::testkit::check_oracle(&METRIC, 64);
    }
}
