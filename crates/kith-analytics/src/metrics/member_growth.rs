//! Member growth: total members over time and the net change in active members (SPEC §4.1).

use crate::metric::{MetricDef, MetricValue, Reference, Table};
use crate::scope::{NO_DAY, Scope};

pub const METRIC: MetricDef = MetricDef {
    name: "member_growth",
    title: "Member growth",
    definition: DEFINITION,
    reference: Reference::Sql(REFERENCE_SQL),
    compute,
};

const DEFINITION: &str = "\
One row per calendar period overlapping the report range.
- `members`: members first seen (first activity of any kind in scope) before the end of the
  period: the community's size over time. Members never leave this count.
- `active`: members with at least one participation in the period.
- `net_active_change`: `active` minus the previous period's `active` (the period before the
  first row is computed too, so every row has a change).";

const REFERENCE_SQL: &str = concat!(
    "WITH ",
    crate::scope_ctes!(),
    ",
firsts AS (SELECT member_id, MIN(ts) AS first_seen FROM counted WHERE anonymous = 0 GROUP BY member_id),
periods AS (
  SELECT period_no, MIN(period) AS period, MAX(day_end) AS p_end
  FROM kith_calendar WHERE period_no BETWEEN :first_period - 1 AND :last_period GROUP BY period_no
),
active AS (
  SELECT k.period_no, COUNT(DISTINCT c.member_id) AS active
  FROM counted c JOIN kith_calendar k ON c.ts >= k.day_start AND c.ts < k.day_end
  WHERE c.participation = 1 AND c.anonymous = 0
  GROUP BY k.period_no
),
series AS (
  SELECT p.period_no, p.period,
         (SELECT COUNT(*) FROM firsts f WHERE f.first_seen < p.p_end) AS members,
         COALESCE(a.active, 0) AS active,
         COALESCE(a.active, 0) - LAG(COALESCE(a.active, 0)) OVER (ORDER BY p.period_no) AS net_active_change
  FROM periods p LEFT JOIN active a ON a.period_no = p.period_no
)
SELECT period, members, active, net_active_change
FROM series WHERE period_no >= :first_period
ORDER BY period_no"
);

fn compute(s: &Scope<'_>) -> MetricValue {
    let periods = s.periods();
    let (first, last) = (s.p.first_period - 1, s.p.last_period);
    let span = (last - first + 1).max(0) as usize;
    let cal = &s.p.calendar;
    let mut active = vec![0i64; span];
    let mut first_seen: Vec<i64> = Vec::new();
    for m in 0..s.members() {
        if s.is_anonymous(m) || s.first_seen[m] == i64::MAX {
            continue;
        }
        first_seen.push(s.first_seen[m]);
        let mut last_bucket = i64::MIN;
        for &d in s.participations(m).1 {
            if d == NO_DAY {
                continue;
            }
            let b = cal.bucket(d);
            if b != last_bucket && (first..=last).contains(&b) {
                active[(b - first) as usize] += 1;
            }
            last_bucket = b;
        }
    }
    first_seen.sort_unstable();
    let mut table = Table::new(
        "periods",
        &["period", "members", "active", "net_active_change"],
    );
    for p in &periods {
        let i = (p.no - first) as usize;
        let members = first_seen.partition_point(|&t| t < p.end) as i64;
        let net = active[i] - active[i - 1];
        table.push(vec![
            p.label.clone().into(),
            members.into(),
            active[i].into(),
            net.into(),
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

    // Monthly, UTC, range Feb 1 ..= Mar 31 2024 (January is the period before):
    // - January: ann and bob post → 2 members, 2 active;
    // - February: ann posts, cat reacts (first seen, not active) → members 3, active 1,
    //   change 1 − 2 = −1;
    // - March: ann, bob and cat post, dan joins by posting → members 4, active 4, change +3.
    #[test]
    fn members_accumulate_and_active_change_is_against_the_previous_period() {
        let mut c = Community::new();
        c.post("ann", at("2024-01-03T10:00:00Z"), "t1");
        c.post("bob", at("2024-01-04T10:00:00Z"), "t2");
        c.post("ann", at("2024-02-03T10:00:00Z"), "t3");
        c.react("cat", at("2024-02-04T10:00:00Z"));
        for (who, t) in [("ann", "t4"), ("bob", "t5"), ("cat", "t6"), ("dan", "t7")] {
            c.post(who, at("2024-03-05T10:00:00Z"), t);
        }
        let snap = c.snapshot();
        let v = crate::compute(
            &snap,
            &day_params("2024-02-01", "2024-03-31"),
            "member_growth",
        )
        .unwrap();
        assert_eq!(
            v.table("periods").unwrap().rows,
            vec![
                vec![
                    Cell::Text("2024-02".into()),
                    Cell::Int(3),
                    Cell::Int(1),
                    Cell::Int(-1)
                ],
                vec![
                    Cell::Text("2024-03".into()),
                    Cell::Int(4),
                    Cell::Int(4),
                    Cell::Int(3)
                ],
            ]
        );
    }

    #[test]
    fn agrees_with_reference_sql() {
        crate::testkit::check_oracle(&METRIC, 48);
    }
}
