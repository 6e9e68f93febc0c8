//! New members (first seen) and new contributors (first participation) per period (SPEC §4.1).

use crate::metric::{MetricDef, MetricValue, Reference, Table};
use crate::scope::Scope;

pub const METRIC: MetricDef = MetricDef {
    name: "new_members",
    title: "New members and new contributors",
    definition: DEFINITION,
    reference: Reference::Sql(REFERENCE_SQL),
    compute,
};

const DEFINITION: &str = "\
One row per calendar period overlapping the report range.
- `new_members`: members whose **first activity of any kind** in scope (join, reaction, post...,
  team activity and bots excluded unless asked for) falls in the period: *first seen*.
- `new_contributors`: members whose **first participation** falls in the period.

A member first seen before the period who participates for the first time in it is a new
contributor but not a new member. Author-less content is never a member.";

const REFERENCE_SQL: &str = concat!(
    "WITH ",
    crate::scope_ctes!(),
    ",
firsts AS (
  SELECT member_id, MIN(ts) AS first_seen,
         MIN(CASE WHEN participation = 1 THEN ts END) AS first_part
  FROM counted WHERE anonymous = 0 GROUP BY member_id
),
periods AS (
  SELECT period_no, MIN(period) AS period, MIN(day_start) AS p_start, MAX(day_end) AS p_end
  FROM kith_calendar WHERE period_no BETWEEN :first_period AND :last_period GROUP BY period_no
)
SELECT p.period,
       (SELECT COUNT(*) FROM firsts f WHERE f.first_seen >= p.p_start AND f.first_seen < p.p_end) AS new_members,
       (SELECT COUNT(*) FROM firsts f WHERE f.first_part >= p.p_start AND f.first_part < p.p_end) AS new_contributors
FROM periods p
ORDER BY p.period_no"
);

fn compute(s: &Scope<'_>) -> MetricValue {
    let periods = s.periods();
    let (first, last) = (s.p.first_period, s.p.last_period);
    let span = (last - first + 1).max(0) as usize;
    let mut seen = vec![0i64; span];
    let mut contributors = vec![0i64; span];
    let cal = &s.p.calendar;
    let bump = |counts: &mut Vec<i64>, ts: i64| {
        if let Some(d) = cal.day_of(ts) {
            let b = cal.bucket(d);
            if (first..=last).contains(&b) {
                counts[(b - first) as usize] += 1;
            }
        }
    };
    for m in 0..s.members() {
        if s.is_anonymous(m) || s.first_seen[m] == i64::MAX {
            continue;
        }
        bump(&mut seen, s.first_seen[m]);
        if let Some(&t) = s.participations(m).0.first() {
            bump(&mut contributors, t);
        }
    }
    let mut table = Table::new("periods", &["period", "new_members", "new_contributors"]);
    for p in &periods {
        let i = (p.no - first) as usize;
        table.push(vec![
            p.label.clone().into(),
            seen[i].into(),
            contributors[i].into(),
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
    use kith_model::Kind;

    // Monthly, UTC, range Jan 1 ..= Feb 29 2024:
    // - ann joins Jan 5 and first posts Feb 2 → new member in January, new contributor in
    //   February;
    // - bob posts Jan 20 → new member and new contributor in January;
    // - cat only reacts (Feb 10) → new member in February, never a contributor;
    // - dan first posted in December 2023 (before the range) and posts again in January →
    //   counted in neither month;
    // - a bot posting in February is not counted.
    // January: 2 new members (ann, bob), 1 new contributor (bob).
    // February: 1 new member (cat), 1 new contributor (ann).
    #[test]
    fn first_seen_and_first_participation_fall_in_their_own_periods() {
        let mut c = Community::new();
        c.act(Kind::Join, "ann", at("2024-01-05T10:00:00Z"));
        c.post("ann", at("2024-02-02T10:00:00Z"), "t1");
        c.post("bob", at("2024-01-20T10:00:00Z"), "t2");
        c.react("cat", at("2024-02-10T10:00:00Z"));
        c.post("dan", at("2023-12-15T10:00:00Z"), "t3");
        c.post("dan", at("2024-01-15T10:00:00Z"), "t4");
        c.post("robot", at("2024-02-11T10:00:00Z"), "t5");
        c.bot("robot");
        let snap = c.snapshot();
        let v = crate::compute(
            &snap,
            &day_params("2024-01-01", "2024-02-29"),
            "new_members",
        )
        .unwrap();
        let t = v.table("periods").unwrap();
        assert_eq!(
            t.rows,
            vec![
                vec![Cell::Text("2024-01".into()), Cell::Int(2), Cell::Int(1)],
                vec![Cell::Text("2024-02".into()), Cell::Int(1), Cell::Int(1)],
            ]
        );
    }

    #[test]
    fn agrees_with_reference_sql() {
        crate::testkit::check_oracle(&METRIC, 48);
    }
}
