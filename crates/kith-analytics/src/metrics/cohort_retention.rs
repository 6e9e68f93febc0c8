//! Cohort retention matrix: cohort = month of first participation, cell = share of the cohort
//! active in month k after it, k = 0..24 (SPEC §4.2).

use crate::metric::{MetricDef, MetricValue, Reference, Table, share};
use crate::scope::{NO_DAY, Scope};

pub const METRIC: MetricDef = MetricDef {
    name: "cohort_retention",
    title: "Cohort retention",
    definition: DEFINITION,
    reference: Reference::Sql(REFERENCE_SQL),
    compute,
};

/// Months after the cohort month shown (k = 0..=MAX_K).
const MAX_K: i64 = 24;

const DEFINITION: &str = "\
A member's **cohort** is the calendar month (in the report's time zone) of their first
participation in scope. Cohorts are the months from the month of `from` to the month of `to`;
cohorts with no member are left out. For each cohort and k = 0..24, the cell is the share of the
cohort's members with at least one participation in the k-th month after the cohort month
(k = 0 is the cohort month itself, so its share is 1). A cell is shown only when its month has
ended by as-of (its last instant is at or before as-of). Columns: `cohort` (month), `k`,
`size`, `active`, `share` = `active / size`.";

const REFERENCE_SQL: &str = concat!(
    "WITH RECURSIVE ks (k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM ks WHERE k < 24),
",
    crate::scope_ctes!(),
    ",
firsts AS (
  SELECT member_id, MIN(ts) AS first_part FROM counted
  WHERE participation = 1 AND anonymous = 0 GROUP BY member_id
),
cohort AS (
  SELECT f.member_id, k.month_no AS cohort_no, k.month AS cohort
  FROM firsts f JOIN kith_calendar k ON f.first_part >= k.day_start AND f.first_part < k.day_end
  WHERE k.month_no BETWEEN :first_month AND :last_month
),
sizes AS (SELECT cohort_no, MIN(cohort) AS cohort, COUNT(*) AS size FROM cohort GROUP BY cohort_no),
months AS (SELECT month_no, MAX(day_end) AS m_end FROM kith_calendar GROUP BY month_no),
active_months AS (
  SELECT DISTINCT c.member_id, k.month_no
  FROM counted c JOIN kith_calendar k ON c.ts >= k.day_start AND c.ts < k.day_end
  WHERE c.participation = 1 AND c.anonymous = 0
),
cells AS (
  SELECT co.cohort_no, am.month_no - co.cohort_no AS k, COUNT(*) AS active
  FROM cohort co JOIN active_months am ON am.member_id = co.member_id
  WHERE am.month_no >= co.cohort_no AND am.month_no <= co.cohort_no + 24
  GROUP BY co.cohort_no, am.month_no
)
SELECT s.cohort, ks.k, s.size, COALESCE(cells.active, 0) AS active,
       1.0 * COALESCE(cells.active, 0) / s.size AS share
FROM sizes s
JOIN ks ON 1 = 1
JOIN months m ON m.month_no = s.cohort_no + ks.k
LEFT JOIN cells ON cells.cohort_no = s.cohort_no AND cells.k = ks.k
WHERE m.m_end <= :as_of + 1
ORDER BY s.cohort_no, ks.k"
);

fn compute(s: &Scope<'_>) -> MetricValue {
    let (first, last) = (s.p.first_month, s.p.last_month);
    let cohorts = (last - first + 1).max(0) as usize;
    let width = (MAX_K + 1) as usize;
    let mut size = vec![0i64; cohorts];
    let mut active = vec![0i64; cohorts * width];
    let month_of = |d| s.p.calendar.month(d);
    for m in 0..s.members() {
        if s.is_anonymous(m) {
            continue;
        }
        let days = s.participations(m).1;
        let Some(&d0) = days.first() else { continue };
        if d0 == NO_DAY {
            continue;
        }
        let c = month_of(d0);
        if !(first..=last).contains(&c) {
            continue;
        }
        let ci = (c - first) as usize;
        size[ci] += 1;
        let mut last_month = i64::MIN;
        for &d in days {
            let month = month_of(d);
            let k = month - c;
            if month != last_month && (0..=MAX_K).contains(&k) {
                active[ci * width + k as usize] += 1;
            }
            last_month = month;
        }
    }
    // Month ends from the calendar: a month is shown when it ended by as-of.
    let cal = &s.p.calendar;
    let mut month_end: std::collections::HashMap<i64, i64> = std::collections::HashMap::new();
    for d in cal.first_day()..=cal.last_day() {
        if let Some(end) = cal.day_start(d + 1) {
            month_end.insert(month_of(d), end);
        }
    }
    let mut table = Table::new("cells", &["cohort", "k", "size", "active", "share"]);
    for ci in 0..cohorts {
        if size[ci] == 0 {
            continue;
        }
        let c = first + ci as i64;
        let label = format!("{:04}-{:02}", c.div_euclid(12), c.rem_euclid(12) + 1);
        for k in 0..=MAX_K {
            let ended = month_end
                .get(&(c + k))
                .is_some_and(|&end| end <= s.p.as_of + 1);
            if !ended {
                continue;
            }
            let a = active[ci * width + k as usize];
            table.push(vec![
                label.clone().into(),
                k.into(),
                size[ci].into(),
                a.into(),
                share(a, size[ci]).into(),
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
    use crate::metric::Cell;
    use crate::params::Params;
    use crate::testkit::{Community, at};

    // Cohorts January and February 2024, as-of 2024-04-10 (March has ended, April has not):
    // - ann first posts in January, again in March → January cohort, active k = 0 and 2;
    // - bob first posts in January, never again → active k = 0 only;
    // - cat reacted in December (presence) and first posts in February, again in February and
    //   March → February cohort, active k = 0 and 1.
    // January cohort (size 2): k0 = 2/2, k1 = 0/2, k2 = 1/2; k3 (April) has not ended.
    // February cohort (size 1): k0 = 1, k1 = 1.
    #[test]
    fn cells_count_members_active_in_the_kth_month_after_their_first_participation() {
        let mut c = Community::new();
        c.react("cat", at("2023-12-20T10:00:00Z"));
        c.post("ann", at("2024-01-10T10:00:00Z"), "t1");
        c.post("bob", at("2024-01-31T23:00:00Z"), "t2");
        c.post("cat", at("2024-02-01T10:00:00Z"), "t3");
        c.reply("cat", at("2024-02-20T10:00:00Z"), "t3");
        c.reply("ann", at("2024-03-05T10:00:00Z"), "t3");
        c.reply("cat", at("2024-03-06T10:00:00Z"), "t3");
        let snap = c.snapshot();
        let p = Params {
            from: Some("2024-01-01".parse().unwrap()),
            to: Some("2024-02-29".parse().unwrap()),
            as_of: Some(at("2024-04-10T00:00:00Z")),
            ..Params::default()
        };
        let v = crate::compute(&snap, &p, "cohort_retention").unwrap();
        let row = |c: &str, k: i64, size: i64, a: i64| {
            vec![
                Cell::Text(c.into()),
                Cell::Int(k),
                Cell::Int(size),
                Cell::Int(a),
                Cell::Real(a as f64 / size as f64),
            ]
        };
        assert_eq!(
            v.table("cells").unwrap().rows,
            vec![
                row("2024-01", 0, 2, 2),
                row("2024-01", 1, 2, 0),
                row("2024-01", 2, 2, 1),
                row("2024-02", 0, 1, 1),
                row("2024-02", 1, 1, 1),
            ]
        );
    }

    #[test]
    fn agrees_with_reference_sql() {
        crate::testkit::check_oracle(&METRIC, 48);
    }
}
