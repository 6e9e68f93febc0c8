//! Activation: the share of new contributors who participate again within 7, 30 and 90 days
//! (SPEC §4.2).

use crate::metric::{Cell, MetricDef, MetricValue, Reference, SMALL_SAMPLE, Table, share};
use crate::scope::Scope;

pub const METRIC: MetricDef = MetricDef {
    name: "activation",
    title: "Activation of new contributors",
    definition: DEFINITION,
    reference: Reference::Sql(REFERENCE_SQL),
    compute,
};

const WINDOWS: [i64; 3] = [7, 30, 90];

const DEFINITION: &str = "\
New contributors are members whose first participation in scope, at instant t₀, falls in the
report range. A new contributor is **activated within N days** (N = 7, 30, 90) when they have at
least two participations in `[t₀, t₀ + N × 24 h)` (the first one and another). Only members
whose window has ended by as-of (`t₀ + N × 24 h − 1 s ≤ as-of`) are counted, in `eligible` and
in `activated`. `share` = `activated / eligible`; `small_sample` is 1 when fewer than 30 are
eligible.";

const REFERENCE_SQL: &str = concat!(
    "WITH ",
    crate::scope_ctes!(),
    ",
firsts AS (
  SELECT member_id, MIN(ts) AS t0 FROM counted
  WHERE participation = 1 AND anonymous = 0 GROUP BY member_id
),
newc AS (SELECT member_id, t0 FROM firsts WHERE t0 >= :from_ts AND t0 < :to_ts),
spans AS (SELECT 7 AS within_days UNION ALL SELECT 30 UNION ALL SELECT 90),
agg AS (
  SELECT s.within_days,
         (SELECT COUNT(*) FROM newc n WHERE n.t0 + s.within_days * 86400 <= :as_of + 1) AS eligible,
         (SELECT COUNT(*) FROM newc n
          WHERE n.t0 + s.within_days * 86400 <= :as_of + 1
            AND (SELECT COUNT(*) FROM counted c
                 WHERE c.member_id = n.member_id AND c.participation = 1
                   AND c.ts >= n.t0 AND c.ts < n.t0 + s.within_days * 86400) >= 2) AS activated
  FROM spans s
)
SELECT within_days, eligible, activated,
       CASE WHEN eligible = 0 THEN NULL ELSE 1.0 * activated / eligible END AS share,
       CASE WHEN eligible < 30 THEN 1 ELSE 0 END AS small_sample
FROM agg
ORDER BY within_days"
);

fn compute(s: &Scope<'_>) -> MetricValue {
    let mut eligible = [0i64; 3];
    let mut activated = [0i64; 3];
    for m in 0..s.members() {
        if s.is_anonymous(m) {
            continue;
        }
        let ts = s.participations(m).0;
        let Some(&t0) = ts.first() else { continue };
        if t0 < s.p.from_ts || t0 >= s.p.to_ts {
            continue;
        }
        for (i, &n) in WINDOWS.iter().enumerate() {
            let end = t0 + n * 86_400;
            if end <= s.p.as_of + 1 {
                eligible[i] += 1;
                if ts.get(1).is_some_and(|&t| t < end) {
                    activated[i] += 1;
                }
            }
        }
    }
    let mut table = Table::new(
        "windows",
        &[
            "within_days",
            "eligible",
            "activated",
            "share",
            "small_sample",
        ],
    );
    for (i, &n) in WINDOWS.iter().enumerate() {
        table.push(vec![
            Cell::Int(n),
            eligible[i].into(),
            activated[i].into(),
            share(activated[i], eligible[i]).into(),
            Cell::Int(i64::from(eligible[i] < SMALL_SAMPLE)),
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

    // Range Jan 1 ..= Jan 31 2024, as-of 2024-03-15T00:00:00Z.
    // - ann: first post Jan 1 00:00, again Jan 7 23:59:59 (6 d 23:59:59 later) → activated in
    //   7, 30 (and would be in 90, but that window ends Mar 31, after as-of: not eligible);
    // - bob: first Jan 10, again Jan 17 10:00 exactly 7 × 24 h later → not within 7 (the window
    //   is half-open), within 30;
    // - cat: first Jan 20 and never again → activated nowhere;
    // - dan: first participation in December → not a new contributor of the range.
    // 7 days: eligible 3, activated 1; 30 days: eligible 3, activated 2; 90 days: eligible 0.
    #[test]
    fn a_second_participation_inside_the_window_activates() {
        let mut c = Community::new();
        c.post("ann", at("2024-01-01T00:00:00Z"), "t1");
        c.reply("ann", at("2024-01-07T23:59:59Z"), "t1");
        c.post("bob", at("2024-01-10T10:00:00Z"), "t2");
        c.reply("bob", at("2024-01-17T10:00:00Z"), "t2");
        c.post("cat", at("2024-01-20T10:00:00Z"), "t3");
        c.post("dan", at("2023-12-20T10:00:00Z"), "t4");
        c.reply("dan", at("2024-01-02T10:00:00Z"), "t4");
        let snap = c.snapshot();
        let p = Params {
            from: Some("2024-01-01".parse().unwrap()),
            to: Some("2024-01-31".parse().unwrap()),
            as_of: Some(at("2024-03-15T00:00:00Z")),
            ..Params::default()
        };
        let v = crate::compute(&snap, &p, "activation").unwrap();
        let t = v.table("windows").unwrap();
        assert_eq!(
            t.rows[0][..4],
            [
                Cell::Int(7),
                Cell::Int(3),
                Cell::Int(1),
                Cell::Real(1.0 / 3.0)
            ]
        );
        assert_eq!(
            t.rows[1][..4],
            [
                Cell::Int(30),
                Cell::Int(3),
                Cell::Int(2),
                Cell::Real(2.0 / 3.0)
            ]
        );
        assert_eq!(
            t.rows[2][..4],
            [Cell::Int(90), Cell::Int(0), Cell::Int(0), Cell::Null]
        );
        assert_eq!(t.rows[0][4], Cell::Int(1), "3 < 30 is a small sample");
    }

    #[test]
    fn agrees_with_reference_sql() {
        crate::testkit::check_oracle(&METRIC, 48);
    }
}
