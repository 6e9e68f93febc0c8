//! Active members per period, rolling DAU/WAU/MAU, and stickiness (SPEC §4.1).

use crate::metric::{Cell, MetricDef, MetricValue, Reference, Table, share};
use crate::scope::Scope;

pub const METRIC: MetricDef = MetricDef {
    name: "active_members",
    title: "Active members and stickiness",
    definition: DEFINITION,
    reference: Reference::Sql(REFERENCE_SQL),
    compute,
};

const DEFINITION: &str = "\
A member is **active** in a period when they have at least one participation (post, reply,
answer, solution, contribution, feedback, attend) in it. Reactions, joins and RSVPs are presence,
not participation. Team activity, bots and author-less content are left out unless asked for.

**`periods`**: one row per calendar period (day, ISO week from Monday, month or quarter in the
report's time zone) that overlaps the report range `from ..= to`; periods are whole (the first
may start before `from`), and nothing after as-of counts.
- `active`: distinct members active in the period.
- `active_days`: the sum over the period's days of that day's active members (member-days).
- `days`: the period's days that have started by as-of.
- `stickiness` = `active_days / (days × active)`: the mean daily actives over the period divided
  by the period's actives (DAU/MAU for a calendar month). Empty when `active` is 0.

**`rolling`**: windows of whole 24-hour days ending at as-of: window *j* (j = 0, 1, ...) is the
24 hours `(as_of − (j+1)·24 h, as_of − j·24 h]`. For `window_days` = 1 (DAU), 7 (WAU) and
28 (MAU): `active` = distinct members active in windows 0..window_days−1, `active_days` = the sum
of each 24-hour window's actives, `stickiness` = `active_days / (window_days × active)`, so the
28-day row is the rolling DAU/MAU.";

const REFERENCE_SQL: &str = concat!(
    "WITH ",
    crate::scope_ctes!(),
    ",
periods AS (
  SELECT period_no, MIN(period) AS period,
         SUM(CASE WHEN day_start <= :as_of THEN 1 ELSE 0 END) AS days
  FROM kith_calendar
  WHERE period_no BETWEEN :first_period AND :last_period
  GROUP BY period_no
),
member_days AS (
  SELECT DISTINCT c.member_id, k.day_no, k.period_no
  FROM counted c JOIN kith_calendar k ON c.ts >= k.day_start AND c.ts < k.day_end
  WHERE c.participation = 1 AND c.anonymous = 0
    AND k.period_no BETWEEN :first_period AND :last_period
),
per AS (
  SELECT period_no, COUNT(DISTINCT member_id) AS active, COUNT(*) AS active_days
  FROM member_days GROUP BY period_no
)
SELECT p.period, COALESCE(per.active, 0) AS active, COALESCE(per.active_days, 0) AS active_days, p.days,
       CASE WHEN per.active IS NULL OR p.days = 0 THEN NULL
            ELSE 1.0 * per.active_days / (p.days * per.active) END AS stickiness
FROM periods p LEFT JOIN per ON per.period_no = p.period_no
ORDER BY p.period_no;

WITH RECURSIVE w (j) AS (SELECT 0 UNION ALL SELECT j + 1 FROM w WHERE j < 27),
",
    crate::scope_ctes!(),
    ",
daily AS (
  SELECT DISTINCT c.member_id, w.j
  FROM counted c JOIN w ON c.ts > :as_of - (w.j + 1) * 86400 AND c.ts <= :as_of - w.j * 86400
  WHERE c.participation = 1 AND c.anonymous = 0
),
spans AS (SELECT 1 AS window_days UNION ALL SELECT 7 UNION ALL SELECT 28),
agg AS (
  SELECT s.window_days,
         (SELECT COUNT(DISTINCT d.member_id) FROM daily d WHERE d.j < s.window_days) AS active,
         (SELECT COUNT(*) FROM daily d WHERE d.j < s.window_days) AS active_days
  FROM spans s
)
SELECT window_days, active, active_days,
       CASE WHEN active = 0 THEN NULL ELSE 1.0 * active_days / (window_days * active) END AS stickiness
FROM agg
ORDER BY window_days"
);

/// The 24-hour windows back from `end` in which a member with participations `ts` (ascending)
/// was active: bit j is set when a participation falls in `(end − (j+1)·24 h, end − j·24 h]`,
/// for j < `days` (at most 64). The rolling DAU/WAU/MAU rows and the health index's
/// participation component both count from it.
pub fn rolling_mask(ts: &[i64], end: i64, days: u32) -> u64 {
    let days = i64::from(days.min(64));
    let mut mask = 0u64;
    let upto = ts.partition_point(|&t| t <= end);
    for &t in ts[..upto].iter().rev() {
        let back = end - t;
        if back >= days * 86_400 {
            break;
        }
        mask |= 1 << (back / 86_400);
    }
    mask
}

fn compute(s: &Scope<'_>) -> MetricValue {
    let periods = s.periods();
    let (first, last) = (s.p.first_period, s.p.last_period);
    let span = (last - first + 1).max(0) as usize;
    let mut active = vec![0i64; span];
    let mut active_days = vec![0i64; span];
    let as_of = s.p.as_of;
    let cal = &s.p.calendar;
    let mut rolling_active = [0i64; 3];
    let mut rolling_days = [0i64; 3];
    const WINDOWS: [i64; 3] = [1, 7, 28];

    for m in 0..s.members() {
        if s.is_anonymous(m) {
            continue;
        }
        let (ts, days) = s.participations(m);
        let mut last_day = crate::scope::NO_DAY;
        let mut last_bucket = i64::MIN;
        let windows = rolling_mask(ts, as_of, 28);
        for &d in days {
            if d == crate::scope::NO_DAY || d == last_day {
                continue;
            }
            last_day = d;
            let b = cal.bucket(d);
            if b < first || b > last {
                continue;
            }
            let i = (b - first) as usize;
            active_days[i] += 1;
            if b != last_bucket {
                active[i] += 1;
                last_bucket = b;
            }
        }
        for (k, &w) in WINDOWS.iter().enumerate() {
            let mask = windows & ((1u64 << w) - 1);
            if mask != 0 {
                rolling_active[k] += 1;
                rolling_days[k] += i64::from(mask.count_ones());
            }
        }
    }

    let mut table = Table::new(
        "periods",
        &["period", "active", "active_days", "days", "stickiness"],
    );
    for p in &periods {
        let i = (p.no - first) as usize;
        let days = (p.first_day..=p.last_day)
            .filter(|&d| cal.day_start(d).is_some_and(|t| t <= as_of))
            .count() as i64;
        let stickiness = if active[i] == 0 || days == 0 {
            None
        } else {
            share(active_days[i], days * active[i])
        };
        table.push(vec![
            p.label.clone().into(),
            active[i].into(),
            active_days[i].into(),
            days.into(),
            stickiness.into(),
        ]);
    }
    let mut rolling = Table::new(
        "rolling",
        &["window_days", "active", "active_days", "stickiness"],
    );
    for (k, &w) in WINDOWS.iter().enumerate() {
        let st = if rolling_active[k] == 0 {
            None
        } else {
            share(rolling_days[k], w * rolling_active[k])
        };
        rolling.push(vec![
            Cell::Int(w),
            rolling_active[k].into(),
            rolling_days[k].into(),
            st.into(),
        ]);
    }
    MetricValue {
        metric: METRIC.name,
        tables: vec![table, rolling],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{Community, at, day_params};

    // Three members in January 2024 (UTC, monthly periods):
    // - ann posts on Jan 2 and Jan 3 and replies on Jan 31 → active, 3 member-days;
    // - bob reacts on Jan 5 (presence only) and replies on Jan 31 → active, 1 member-day;
    // - cat is team and posts on Jan 10 → left out.
    // as-of = Jan 31 12:00 (the latest activity).
    // January: active 2, active_days 3 + 1 = 4, days 31 → stickiness 4 / (31 × 2) = 0.0645.
    // Rolling: DAU window (Jan 30 12:00, Jan 31 12:00] holds both Jan 31 replies → 2;
    // WAU the same 2 with 2 member-days; MAU (from Jan 3 12:00): ann's Jan 31 (Jan 2 and Jan 3
    // 09:00 are more than 28 days back), bob's Jan 31 → active 2, active_days 2.
    #[test]
    fn members_are_active_by_participation_not_presence() {
        let mut c = Community::new();
        c.post("ann", at("2024-01-02T10:00:00Z"), "t1");
        c.post("ann", at("2024-01-03T09:00:00Z"), "t2");
        c.react("bob", at("2024-01-05T09:00:00Z"));
        c.team_post("cat", at("2024-01-10T09:00:00Z"), "t3");
        c.reply("ann", at("2024-01-31T08:00:00Z"), "t3");
        c.reply("bob", at("2024-01-31T12:00:00Z"), "t3");
        let snap = c.snapshot();
        let v = crate::compute(
            &snap,
            &day_params("2024-01-01", "2024-01-31"),
            "active_members",
        )
        .unwrap();
        let periods = v.table("periods").unwrap();
        assert_eq!(periods.rows.len(), 1);
        assert_eq!(
            periods.get(0, "period"),
            Some(&Cell::Text("2024-01".into()))
        );
        assert_eq!(periods.get(0, "active"), Some(&Cell::Int(2)));
        assert_eq!(periods.get(0, "active_days"), Some(&Cell::Int(4)));
        assert_eq!(periods.get(0, "days"), Some(&Cell::Int(31)));
        assert_eq!(periods.get(0, "stickiness"), Some(&Cell::Real(4.0 / 62.0)));
        let rolling = v.table("rolling").unwrap();
        assert_eq!(
            rolling.rows[0],
            vec![Cell::Int(1), Cell::Int(2), Cell::Int(2), Cell::Real(1.0)]
        );
        assert_eq!(
            rolling.rows[1],
            vec![
                Cell::Int(7),
                Cell::Int(2),
                Cell::Int(2),
                Cell::Real(2.0 / 14.0)
            ]
        );
        assert_eq!(
            rolling.rows[2],
            vec![
                Cell::Int(28),
                Cell::Int(2),
                Cell::Int(2),
                Cell::Real(2.0 / 56.0)
            ]
        );
    }

    // Weekly periods in Europe/Paris: a reply at 2024-01-07T23:30:00Z is Monday 00:30 local,
    // so it belongs to ISO week 2024-W02, not W01. The range Jan 1 ..= Jan 14 covers W01 and
    // W02; W01 has no activity and still gets a row.
    #[test]
    fn weeks_follow_the_time_zone_and_empty_periods_have_rows() {
        let mut c = Community::new();
        c.post("ann", at("2024-01-07T23:30:00Z"), "t1");
        let snap = c.snapshot();
        let mut p = day_params("2024-01-01", "2024-01-14");
        p.period = crate::Period::Week;
        p.tz = "Europe/Paris".parse().unwrap();
        let v = crate::compute(&snap, &p, "active_members").unwrap();
        let t = v.table("periods").unwrap();
        assert_eq!(t.rows.len(), 2);
        assert_eq!(
            t.rows[0][..2],
            [Cell::Text("2024-W01".into()), Cell::Int(0)]
        );
        assert_eq!(t.rows[0][4], Cell::Null);
        assert_eq!(
            t.rows[1][..2],
            [Cell::Text("2024-W02".into()), Cell::Int(1)]
        );
        // as-of is the post (Monday 00:30 local): one day of W02 has started.
        assert_eq!(t.get(1, "days"), Some(&Cell::Int(1)));
    }

    // ann's only post is deleted (a `delete` activity names it): she is not active. bob's reply
    // stays: 1 active member in January.
    #[test]
    fn deleted_activities_do_not_count() {
        let mut c = Community::new();
        let post = c.post("ann", at("2024-01-02T10:00:00Z"), "t1");
        c.reply("bob", at("2024-01-02T11:00:00Z"), "t1");
        c.delete("ann", at("2024-01-03T10:00:00Z"), &post);
        let snap = c.snapshot();
        let v = crate::compute(
            &snap,
            &day_params("2024-01-01", "2024-01-31"),
            "active_members",
        )
        .unwrap();
        assert_eq!(
            v.table("periods").unwrap().get(0, "active"),
            Some(&Cell::Int(1))
        );
    }

    #[test]
    fn agrees_with_reference_sql() {
        crate::testkit::check_oracle(&METRIC, 48);
    }
}
