//! The response effect (SPEC §4.6): day-30 retention of newcomers whose first post was
//! answered within 24 hours, later, or never — what welcoming is worth, with 95 % Wilson
//! intervals so that small groups are not over-read.

use crate::metric::{Cell, MetricDef, MetricValue, Reference, SMALL_SAMPLE, Table, share};
use crate::scope::Scope;

pub const METRIC: MetricDef = MetricDef {
    name: "response_effect",
    title: "Response effect on newcomer retention",
    definition: DEFINITION,
    reference: Reference::Sql(REFERENCE_SQL),
    compute,
};

const DAY: i64 = 86_400;
const GROUPS: [&str; 3] = ["within_24h", "later", "never"];
/// z² for a two-sided 95 % interval (z = 1.96), as the SQL writes it.
const Z2: f64 = 3.8416;
/// Newton steps for the square root: the SQL has no `SQRT` on every engine (SQLite builds
/// without math functions), so both sides iterate the same way and get the same bits.
const NEWTON_STEPS: usize = 60;

const DEFINITION: &str = "\
**Newcomers**: members (not author-less content; team and bots left out unless asked for)
whose first participation t₀ falls in the report range and whose **first post** (their earliest
counted opening post, see [`onboarding_funnel`](#onboarding_funnel)) came while they were a
newcomer (`post − t₀ < 30 × 24 h`). Only newcomers whose day-30 window has ended by as-of count
(`t₀ + 60 × 24 h ≤ as-of + 1 s`).

Groups by the first response to that post (as in [`first_response`](#first_response)):
`within_24h` (≤ 86,400 s), `later` (responded after that, by as-of), `never` (no response by
as-of). **Retained**: at least one participation on days 30–59 after t₀ (SPEC §4.0).

Columns: `answered`, `newcomers` (n), `retained`, `share` = `retained / newcomers`, `ci_low` and
`ci_high`: the 95 % Wilson score interval (z = 1.96, z² = 3.8416):
`(p + z²/2n) / (1 + z²/n) ∓ z · √(p(1 − p)/n + z²/4n²) / (1 + z²/n)`, clamped to [0, 1]
and exactly 0 (1) when none (all) are retained
(the square root by 60 Newton steps from `(a + 1) / 2`, in the SQL too, because SQLite builds
often lack `SQRT`); `small_sample` is 1 when n < 30. Empty shares and intervals when n = 0.";

const REFERENCE_SQL: &str = concat!(
    "WITH RECURSIVE ",
    crate::scope_ctes!(),
    ",
",
    crate::opening_post_cte!(),
    crate::first_post_ctes!(),
    "pr AS (
  SELECT member_id, ts, ROW_NUMBER() OVER (PARTITION BY member_id ORDER BY ts, id) AS rn
  FROM counted WHERE participation = 1 AND anonymous = 0
),
nc AS (
  SELECT p1.member_id, p1.ts AS t0, f.op_ts, f.resp_ts
  FROM pr p1 JOIN first_post f ON f.member_id = p1.member_id
  WHERE p1.rn = 1 AND p1.ts >= :from_ts AND p1.ts < :to_ts AND f.op_ts - p1.ts < 30 * 86400
    AND p1.ts + 60 * 86400 <= :as_of + 1
),
g AS (
  SELECT CASE WHEN nc.resp_ts IS NULL THEN 2 WHEN nc.resp_ts - nc.op_ts <= 86400 THEN 0 ELSE 1 END AS grp,
         CASE WHEN EXISTS (SELECT 1 FROM pr p WHERE p.member_id = nc.member_id
                             AND p.ts >= nc.t0 + 30 * 86400 AND p.ts < nc.t0 + 60 * 86400)
              THEN 1 ELSE 0 END AS retained
  FROM nc
),
groups_ AS (SELECT 0 AS grp, 'within_24h' AS answered UNION ALL SELECT 1, 'later' UNION ALL SELECT 2, 'never'),
agg AS (
  SELECT gr.grp, gr.answered, COUNT(g.grp) AS n, COALESCE(SUM(g.retained), 0) AS retained
  FROM groups_ gr LEFT JOIN g ON g.grp = gr.grp
  GROUP BY gr.grp, gr.answered
),
terms AS (
  SELECT grp, answered, n, retained, CASE WHEN n = 0 THEN NULL ELSE 1.0 * retained / n END AS p
  FROM agg
),
newton (grp, a, x, i) AS (
  SELECT grp, p * (1 - p) / n + 3.8416 / (4.0 * n * n), (p * (1 - p) / n + 3.8416 / (4.0 * n * n) + 1) / 2, 0
  FROM terms WHERE n > 0
  UNION ALL
  SELECT grp, a, (x + a / x) / 2, i + 1 FROM newton WHERE i < 60
),
wilson AS (
  SELECT t.grp, t.answered, t.n, t.retained, t.p,
         (t.p + 3.8416 / (2.0 * t.n)) / (1 + 3.8416 / t.n) AS center,
         1.96 * r.x / (1 + 3.8416 / t.n) AS half
  FROM terms t LEFT JOIN newton r ON r.grp = t.grp AND r.i = 60
)
SELECT answered, n AS newcomers, retained, p AS share,
       CASE WHEN n = 0 THEN NULL WHEN retained = 0 OR center - half < 0 THEN 0.0 ELSE center - half END AS ci_low,
       CASE WHEN n = 0 THEN NULL WHEN retained = n OR center + half > 1 THEN 1.0 ELSE center + half END AS ci_high,
       CASE WHEN n < 30 THEN 1 ELSE 0 END AS small_sample
FROM wilson
ORDER BY grp"
);

/// √a by the reference SQL's Newton steps (bit for bit the same operations).
fn newton_sqrt(a: f64) -> f64 {
    let mut x = (a + 1.0) / 2.0;
    for _ in 0..NEWTON_STEPS {
        x = (x + a / x) / 2.0;
    }
    x
}

/// The 95 % Wilson score interval of `k` successes in `n` trials, clamped to [0, 1].
pub fn wilson(k: i64, n: i64) -> Option<(f64, f64)> {
    if n <= 0 {
        return None;
    }
    let nf = n as f64;
    let p = k as f64 / nf;
    let a = p * (1.0 - p) / nf + Z2 / (4.0 * nf * nf);
    let center = (p + Z2 / (2.0 * nf)) / (1.0 + Z2 / nf);
    let half = 1.96 * newton_sqrt(a) / (1.0 + Z2 / nf);
    let low = center - half;
    let high = center + half;
    // The bounds are exactly 0 at k = 0 and 1 at k = n; rounding would leave ±1e-17.
    Some((
        if k == 0 || low < 0.0 { 0.0 } else { low },
        if k == n || high > 1.0 { 1.0 } else { high },
    ))
}

fn compute(s: &Scope<'_>) -> MetricValue {
    let snap = s.snap;
    let as_of = s.p.as_of;
    let posts = crate::threads::first_posts(s);
    let mut n = [0i64; 3];
    let mut retained = [0i64; 3];
    for m in 0..s.members() {
        if s.is_anonymous(m) {
            continue;
        }
        let parts = s.participations(m).0;
        let Some(&t0) = parts.first() else { continue };
        if t0 < s.p.from_ts || t0 >= s.p.to_ts || t0 + 60 * DAY > as_of + 1 {
            continue;
        }
        let Some((op, response)) = posts.of(m) else {
            continue;
        };
        let op_ts = snap.ts[op as usize];
        if op_ts - t0 >= 30 * DAY {
            continue;
        }
        let g = match response {
            Some((ts, _, _)) if ts - op_ts <= DAY => 0,
            Some(_) => 1,
            None => 2,
        };
        n[g] += 1;
        let from = parts.partition_point(|&t| t < t0 + 30 * DAY);
        if parts.get(from).is_some_and(|&t| t < t0 + 60 * DAY) {
            retained[g] += 1;
        }
    }
    let mut table = Table::new(
        "groups",
        &[
            "answered",
            "newcomers",
            "retained",
            "share",
            "ci_low",
            "ci_high",
            "small_sample",
        ],
    );
    for (g, name) in GROUPS.iter().enumerate() {
        let ci = wilson(retained[g], n[g]);
        table.push(vec![
            (*name).into(),
            Cell::Int(n[g]),
            Cell::Int(retained[g]),
            share(retained[g], n[g]).into(),
            ci.map(|c| c.0).into(),
            ci.map(|c| c.1).into(),
            Cell::Int(i64::from(n[g] < SMALL_SAMPLE)),
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

    // Wilson by hand for 1 of 2 (p = 0.5, n = 2): center = (0.5 + 0.9604) / 2.9208 = 0.5;
    // half = 1.96 · √(0.125 + 3.8416 / 16) / 2.9208 = 1.96 · 0.604235 / 2.9208 = 0.405471
    // → [0.094529, 0.905471]. 0 of 1: center = 1.9208 / 4.8416 = 0.396728, half the same
    // (√(3.8416 / 4) = 0.98 → 1.96 · 0.98 / 4.8416 = 0.396728) → [0, 0.793456].
    #[test]
    fn wilson_intervals_match_the_formula() {
        let (lo, hi) = wilson(1, 2).unwrap();
        assert!((lo - 0.094_529).abs() < 1e-6, "{lo}");
        assert!((hi - 0.905_471).abs() < 1e-6, "{hi}");
        let (lo, hi) = wilson(0, 1).unwrap();
        assert_eq!(lo, 0.0);
        assert!((hi - 0.793_456).abs() < 1e-6, "{hi}");
        assert_eq!(wilson(0, 0), None);
        assert!((newton_sqrt(2.0) - std::f64::consts::SQRT_2).abs() < 1e-15);
    }

    // Range Jan 1 ..= Jan 31 2024, as-of 2024-04-01T00:00:00Z (every January newcomer's day-30
    // window, days 30–59, has ended by Mar 31).
    // - ann posts Jan 2 10:00, bob answers Jan 2 20:00 (10 h) → within_24h; ann posts again
    //   Feb 10 (day 39) → retained;
    // - cat posts Jan 3 10:00, bob answers Jan 5 10:00 (48 h) → later; nothing after → not
    //   retained;
    // - dan posts Jan 4 and nobody answers → never; dan replies Feb 20 (day 47) → retained;
    // - eve posts Jan 5, a bot answers within the hour (never a response) → never, not retained;
    // - bob's first participation (his Jan 2 answer) is in the range but he never opened a
    //   thread → not in the groups;
    // - fay's first participation is Jan 6 but her first post comes Feb 10 (35 days later) →
    //   not a newcomer's first post, left out.
    // within_24h 1/1, later 0/1, never 1/2.
    #[test]
    fn newcomers_are_grouped_by_how_fast_their_first_post_was_answered() {
        let mut c = Community::new();
        c.post("ann", at("2024-01-02T10:00:00Z"), "t1");
        c.answer("bob", at("2024-01-02T20:00:00Z"), "t1");
        c.post("ann", at("2024-02-10T10:00:00Z"), "t5");
        c.post("cat", at("2024-01-03T10:00:00Z"), "t2");
        c.answer("bob", at("2024-01-05T10:00:00Z"), "t2");
        c.post("dan", at("2024-01-04T10:00:00Z"), "t3");
        c.reply("dan", at("2024-02-20T10:00:00Z"), "t5");
        c.post("eve", at("2024-01-05T10:00:00Z"), "t4");
        c.answer("robot", at("2024-01-05T10:30:00Z"), "t4");
        c.bot("robot");
        c.reply("fay", at("2024-01-06T10:00:00Z"), "t1");
        c.post("fay", at("2024-02-10T12:00:00Z"), "t6");
        let snap = c.snapshot();
        let p = Params {
            from: Some("2024-01-01".parse().unwrap()),
            to: Some("2024-01-31".parse().unwrap()),
            as_of: Some(at("2024-04-01T00:00:00Z")),
            ..Params::default()
        };
        let v = crate::compute(&snap, &p, "response_effect").unwrap();
        let t = v.table("groups").unwrap();
        assert_eq!(
            t.rows[0][1..4],
            [Cell::Int(1), Cell::Int(1), Cell::Real(1.0)]
        );
        assert_eq!(
            t.rows[1][1..4],
            [Cell::Int(1), Cell::Int(0), Cell::Real(0.0)]
        );
        assert_eq!(
            t.rows[2][1..4],
            [Cell::Int(2), Cell::Int(1), Cell::Real(0.5)]
        );
        let (lo, hi) = wilson(1, 2).unwrap();
        assert_eq!(
            t.rows[2][4..],
            [Cell::Real(lo), Cell::Real(hi), Cell::Int(1)]
        );
        // 1 of 1: center 2.9208 / 4.8416 and half 1.9208 / 4.8416 add up to exactly 1.
        assert_eq!(t.get(0, "ci_high"), Some(&Cell::Real(1.0)));
        assert_eq!(t.get(1, "ci_low"), Some(&Cell::Real(0.0)));
    }

    #[test]
    fn agrees_with_reference_sql() {
        crate::testkit::check_oracle(&METRIC, 128);
    }
}
