//! Recently inactive members (SPEC §4.0, §4.2): the outreach list — members who were among the
//! most active before they went quiet 7 to 28 days ago, with their last participation.

use crate::metric::{Cell, MetricDef, MetricValue, Reference, Table, nearest_rank};
use crate::scope::Scope;

pub const METRIC: MetricDef = MetricDef {
    name: "recently_inactive",
    title: "Recently inactive members (outreach list)",
    definition: DEFINITION,
    reference: Reference::Sql(REFERENCE_SQL),
    compute,
};

/// The look-back before a member's last participation, in 24-hour days.
const WINDOW_DAYS: i64 = 90;
/// Silent for this many whole days at as-of (inclusive range).
const SILENT: (i64, i64) = (7, 28);

const DEFINITION: &str = "\
For every member with a participation by as-of (not author-less content; team and bots left
out unless asked for): their **last participation** L, and their **count**: participations in
the 90 days before it, `L − 90 × 24 h < ts ≤ L` (so at least 1, the last one itself). The
**threshold** is the nearest-rank 75th percentile of that count over all those members (the
⌈0.75 n⌉-th smallest). A member is **recently inactive** when their count is at least the
threshold and they have been silent for 7 to 28 whole days at as-of: `days_silent` =
⌊(as-of − L) / 24 h⌋ between 7 and 28.

`members`: the list, most active first (count descending, then the latest last participation,
then member id), with `member_id`, `last_participation` (epoch seconds),
`participations_90d`, `threshold` and `days_silent`. `summary`: `members` (the n of the
percentile), `threshold` (empty when n = 0) and `listed`.";

const REFERENCE_SQL: &str = concat!(
    "WITH RECURSIVE silent (d) AS (SELECT 7 UNION ALL SELECT d + 1 FROM silent WHERE d < 28),
",
    crate::scope_ctes!(),
    ",
parts AS (SELECT member_id, ts FROM counted WHERE participation = 1 AND anonymous = 0),
lastp AS (SELECT member_id, MAX(ts) AS last_ts FROM parts GROUP BY member_id),
cnt AS (
  SELECT l.member_id, l.last_ts,
         (SELECT COUNT(*) FROM parts p
          WHERE p.member_id = l.member_id AND p.ts > l.last_ts - 90 * 86400 AND p.ts <= l.last_ts) AS n90
  FROM lastp l
),
ranked AS (SELECT n90, ROW_NUMBER() OVER (ORDER BY n90) AS rn, COUNT(*) OVER () AS n FROM cnt),
thr AS (SELECT MIN(n90) AS threshold FROM ranked WHERE 4 * rn >= 3 * n)
SELECT c.member_id, c.last_ts AS last_participation, c.n90 AS participations_90d, t.threshold,
       s.d AS days_silent
FROM cnt c
JOIN thr t ON c.n90 >= t.threshold
JOIN silent s ON :as_of - c.last_ts >= s.d * 86400 AND :as_of - c.last_ts < (s.d + 1) * 86400
ORDER BY c.n90 DESC, c.last_ts DESC, c.member_id;

WITH RECURSIVE silent (d) AS (SELECT 7 UNION ALL SELECT d + 1 FROM silent WHERE d < 28),
",
    crate::scope_ctes!(),
    ",
parts AS (SELECT member_id, ts FROM counted WHERE participation = 1 AND anonymous = 0),
lastp AS (SELECT member_id, MAX(ts) AS last_ts FROM parts GROUP BY member_id),
cnt AS (
  SELECT l.member_id, l.last_ts,
         (SELECT COUNT(*) FROM parts p
          WHERE p.member_id = l.member_id AND p.ts > l.last_ts - 90 * 86400 AND p.ts <= l.last_ts) AS n90
  FROM lastp l
),
ranked AS (SELECT n90, ROW_NUMBER() OVER (ORDER BY n90) AS rn, COUNT(*) OVER () AS n FROM cnt),
thr AS (SELECT MIN(n90) AS threshold FROM ranked WHERE 4 * rn >= 3 * n)
SELECT (SELECT COUNT(*) FROM cnt) AS members, t.threshold,
       (SELECT COUNT(*) FROM cnt c JOIN silent s
          ON :as_of - c.last_ts >= s.d * 86400 AND :as_of - c.last_ts < (s.d + 1) * 86400
        WHERE c.n90 >= t.threshold) AS listed
FROM thr t"
);

fn compute(s: &Scope<'_>) -> MetricValue {
    let snap = s.snap;
    let as_of = s.p.as_of;
    // (count, last, member store id) of every member with a participation.
    let mut all: Vec<(i64, i64, i64)> = Vec::new();
    for m in 0..s.members() {
        if s.is_anonymous(m) {
            continue;
        }
        let ts = s.participations(m).0;
        let Some(&last) = ts.last() else { continue };
        let from = ts.partition_point(|&t| t <= last - WINDOW_DAYS * 86_400);
        let count = (ts.len() - from) as i64;
        all.push((count, last, snap.member_store_id(m as u32).unwrap_or(0)));
    }
    let mut counts: Vec<i64> = all.iter().map(|a| a.0).collect();
    counts.sort_unstable();
    let threshold = nearest_rank(&counts, 3, 4);

    let mut list: Vec<(i64, i64, i64, i64)> = Vec::new();
    if let Some(th) = threshold {
        for &(count, last, id) in &all {
            let days = (as_of - last).div_euclid(86_400);
            if count >= th && (SILENT.0..=SILENT.1).contains(&days) {
                list.push((count, last, id, days));
            }
        }
    }
    list.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(b.1.cmp(&a.1)).then(a.2.cmp(&b.2)));

    let mut members = Table::new(
        "members",
        &[
            "member_id",
            "last_participation",
            "participations_90d",
            "threshold",
            "days_silent",
        ],
    );
    for &(count, last, id, days) in &list {
        members.push(vec![
            Cell::Int(id),
            Cell::Int(last),
            Cell::Int(count),
            threshold.into(),
            Cell::Int(days),
        ]);
    }
    let mut summary = Table::new("summary", &["members", "threshold", "listed"]);
    summary.push(vec![
        Cell::Int(all.len() as i64),
        threshold.into(),
        Cell::Int(list.len() as i64),
    ]);
    MetricValue {
        metric: METRIC.name,
        tables: vec![members, summary],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::Params;
    use crate::testkit::{Community, at};

    // as-of 2024-03-31T12:00:00Z. Counts in the 90 days up to each member's last participation:
    // - ann: 5 participations Mar 1..5, last Mar 5 12:00 → count 5, silent 26 days → listed;
    // - bob: 4 in Mar 10..13, last Mar 13 12:00 → count 4, silent 18 days → listed;
    // - cat: 4, last Mar 29 → silent 2 days: still active, not listed;
    // - dan: 4, last Jan 2 → silent 89 days: gone too long, not listed;
    // - eve: 1 participation Mar 20 → silent 11 days, but count 1 is below the threshold;
    // - fay: 1 in 2023-12-01 and 3 on Mar 22..24 12:00 → the December one is more than 90 days
    //   before her last → count 3, silent exactly 7 days (7 × 24 h) → count 3 < threshold.
    // - gus: only reactions → no participation, not in the population.
    // Counts sorted: 1, 3, 4, 4, 4, 5 (n = 6): ⌈0.75 × 6⌉ = 5th smallest = 4.
    // Listed: ann (5, 26 days), bob (4, 18 days).
    #[test]
    fn top_quartile_members_silent_for_one_to_four_weeks() {
        let mut c = Community::new();
        c.post("ann", at("2024-03-01T12:00:00Z"), "ta");
        for d in 2..=5 {
            c.reply("ann", at(&format!("2024-03-0{d}T12:00:00Z")), "ta");
        }
        c.post("bob", at("2024-03-10T12:00:00Z"), "tb");
        for d in 11..=13 {
            c.reply("bob", at(&format!("2024-03-{d}T12:00:00Z")), "tb");
        }
        c.post("cat", at("2024-03-26T12:00:00Z"), "tc");
        for d in 27..=29 {
            c.reply("cat", at(&format!("2024-03-{d}T12:00:00Z")), "tc");
        }
        c.post("dan", at("2023-12-30T12:00:00Z"), "td");
        c.reply("dan", at("2023-12-31T12:00:00Z"), "td");
        c.reply("dan", at("2024-01-01T12:00:00Z"), "td");
        c.reply("dan", at("2024-01-02T12:00:00Z"), "td");
        c.post("eve", at("2024-03-20T12:00:00Z"), "te");
        c.post("fay", at("2023-12-01T12:00:00Z"), "tf");
        c.reply("fay", at("2024-03-22T12:00:00Z"), "tf");
        c.reply("fay", at("2024-03-23T12:00:00Z"), "tf");
        c.reply("fay", at("2024-03-24T12:00:00Z"), "tf");
        c.react("gus", at("2024-03-20T12:00:00Z"));
        let snap = c.snapshot();
        let p = Params {
            as_of: Some(at("2024-03-31T12:00:00Z")),
            ..Params::default()
        };
        let v = crate::compute(&snap, &p, "recently_inactive").unwrap();
        let list = v.table("members").unwrap();
        assert_eq!(list.rows.len(), 2);
        assert_eq!(
            list.rows[0][1..],
            [
                Cell::Int(at("2024-03-05T12:00:00Z")),
                Cell::Int(5),
                Cell::Int(4),
                Cell::Int(26)
            ]
        );
        assert_eq!(list.get(1, "participations_90d"), Some(&Cell::Int(4)));
        assert_eq!(list.get(1, "days_silent"), Some(&Cell::Int(18)));
        let summary = v.table("summary").unwrap();
        assert_eq!(summary.rows[0], [6, 4, 2].map(Cell::Int));
    }

    #[test]
    fn agrees_with_reference_sql() {
        crate::testkit::check_oracle(&METRIC, 64);
    }
}
