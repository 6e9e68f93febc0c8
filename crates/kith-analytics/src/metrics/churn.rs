//! Churn and resurrection per period (SPEC §4.2).

use crate::metric::{MetricDef, MetricValue, Reference, Table};
use crate::scope::{NO_DAY, Scope};

pub const METRIC: MetricDef = MetricDef {
    name: "churn",
    title: "Churn and resurrection",
    definition: DEFINITION,
    reference: Reference::Sql(REFERENCE_SQL),
    compute,
};

const DEFINITION: &str = "\
One row per calendar period overlapping the report range (the period before the first row is
used for its comparison).
- `active`: members with at least one participation in the period.
- `retained`: active in the previous period and in this one.
- `churned`: active in the previous period, not in this one.
- `resurrected`: members with a participation in the period that came at least
  `inactive_days` (default 90) × 24 h after their previous participation. A first participation
  is never a resurrection.";

const REFERENCE_SQL: &str = concat!(
    "WITH ",
    crate::scope_ctes!(),
    ",
periods AS (
  SELECT period_no, MIN(period) AS period FROM kith_calendar
  WHERE period_no BETWEEN :first_period AND :last_period GROUP BY period_no
),
pm AS (
  SELECT DISTINCT c.member_id, k.period_no
  FROM counted c JOIN kith_calendar k ON c.ts >= k.day_start AND c.ts < k.day_end
  WHERE c.participation = 1 AND c.anonymous = 0
),
gaps AS (
  SELECT member_id, ts, LAG(ts) OVER (PARTITION BY member_id ORDER BY ts) AS prev_ts
  FROM counted WHERE participation = 1 AND anonymous = 0
),
res AS (
  SELECT DISTINCT g.member_id, k.period_no
  FROM gaps g JOIN kith_calendar k ON g.ts >= k.day_start AND g.ts < k.day_end
  WHERE g.prev_ts IS NOT NULL AND g.ts - g.prev_ts >= :inactive_days * 86400
)
SELECT p.period,
       (SELECT COUNT(*) FROM pm WHERE pm.period_no = p.period_no) AS active,
       (SELECT COUNT(*) FROM pm a WHERE a.period_no = p.period_no - 1
          AND EXISTS (SELECT 1 FROM pm b WHERE b.member_id = a.member_id AND b.period_no = p.period_no)) AS retained,
       (SELECT COUNT(*) FROM pm a WHERE a.period_no = p.period_no - 1
          AND NOT EXISTS (SELECT 1 FROM pm b WHERE b.member_id = a.member_id AND b.period_no = p.period_no)) AS churned,
       (SELECT COUNT(*) FROM res WHERE res.period_no = p.period_no) AS resurrected
FROM periods p
ORDER BY p.period_no"
);

fn compute(s: &Scope<'_>) -> MetricValue {
    let periods = s.periods();
    let (first, last) = (s.p.first_period, s.p.last_period);
    let span = (last - first + 1).max(0) as usize;
    let idx = |b: i64| ((first..=last).contains(&b)).then(|| (b - first) as usize);
    let (mut active, mut retained, mut churned, mut resurrected) = (
        vec![0i64; span],
        vec![0i64; span],
        vec![0i64; span],
        vec![0i64; span],
    );
    let cal = &s.p.calendar;
    let gap = s.p.inactive_days * 86_400;
    let mut buckets: Vec<i64> = Vec::new();
    for m in 0..s.members() {
        if s.is_anonymous(m) {
            continue;
        }
        let (ts, days) = s.participations(m);
        buckets.clear();
        let mut last_res = i64::MIN;
        for (i, (&t, &d)) in ts.iter().zip(days).enumerate() {
            let b = if d == NO_DAY {
                None
            } else {
                Some(cal.bucket(d))
            };
            if let Some(b) = b {
                if buckets.last() != Some(&b) {
                    buckets.push(b);
                }
                if i > 0 && t - ts[i - 1] >= gap && b != last_res {
                    if let Some(j) = idx(b) {
                        resurrected[j] += 1;
                    }
                    last_res = b;
                }
            }
        }
        for (i, &b) in buckets.iter().enumerate() {
            if let Some(j) = idx(b) {
                active[j] += 1;
            }
            let next_active = buckets.get(i + 1) == Some(&(b + 1));
            if let Some(j) = idx(b + 1) {
                if next_active {
                    retained[j] += 1;
                } else {
                    churned[j] += 1;
                }
            }
        }
    }
    let mut table = Table::new(
        "periods",
        &["period", "active", "retained", "churned", "resurrected"],
    );
    for p in &periods {
        let i = (p.no - first) as usize;
        table.push(vec![
            p.label.clone().into(),
            active[i].into(),
            retained[i].into(),
            churned[i].into(),
            resurrected[i].into(),
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
    use crate::metric::Cell;
    use crate::testkit::{Community, at, day_params};

    // Monthly, UTC, range Feb 1 ..= Apr 30 2024 (January is the comparison period):
    // - ann participates in January and February → Feb retained 1; absent in March → Mar
    //   churned 1;
    // - bob participates in January only → Feb churned 1;
    // - cat posts 2023-10-01 and next on 2024-02-05 (127 days later ≥ 90) → Feb resurrected
    //   (and active); then March → Mar retained;
    // - dan posts Mar 1 and Apr 1 (31 days: not a resurrection) → Mar active, Apr retained.
    // Feb: active 2 (ann, cat), retained 1 (ann), churned 1 (bob), resurrected 1 (cat).
    // Mar: active 2 (cat, dan), retained 1 (cat), churned 1 (ann), resurrected 0.
    // Apr: active 1 (dan), retained 1 (dan), churned 1 (cat), resurrected 0.
    #[test]
    fn churned_were_active_last_period_and_resurrected_came_back_after_90_days() {
        let mut c = Community::new();
        c.post("cat", at("2023-10-01T10:00:00Z"), "t0");
        c.post("ann", at("2024-01-05T10:00:00Z"), "t1");
        c.post("bob", at("2024-01-06T10:00:00Z"), "t2");
        c.reply("ann", at("2024-02-05T10:00:00Z"), "t1");
        c.reply("cat", at("2024-02-05T10:00:00Z"), "t1");
        c.reply("cat", at("2024-03-05T10:00:00Z"), "t1");
        c.post("dan", at("2024-03-01T10:00:00Z"), "t3");
        c.post("dan", at("2024-04-01T10:00:00Z"), "t4");
        let snap = c.snapshot();
        let v = crate::compute(&snap, &day_params("2024-02-01", "2024-04-30"), "churn").unwrap();
        let row = |p: &str, a, r, c, x| {
            vec![
                Cell::Text(p.into()),
                Cell::Int(a),
                Cell::Int(r),
                Cell::Int(c),
                Cell::Int(x),
            ]
        };
        assert_eq!(
            v.table("periods").unwrap().rows,
            vec![
                row("2024-02", 2, 1, 1, 1),
                row("2024-03", 2, 1, 1, 0),
                row("2024-04", 1, 1, 1, 0),
            ]
        );
    }

    #[test]
    fn agrees_with_reference_sql() {
        crate::testkit::check_oracle(&METRIC, 48);
    }
}
