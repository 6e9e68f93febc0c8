//! Contributor absence factor and elephant factor (SPEC §4.1, CHAOSS): the fewest members, and
//! the fewest organisations, that together did half of the range's replies, answers and
//! solutions — how many people (or employers) the community's help depends on.

use kith_model::Kind;

use crate::metric::{Cell, MetricDef, MetricValue, Reference, Table, share};
use crate::scope::Scope;

pub const METRIC: MetricDef = MetricDef {
    name: "absence_factor",
    title: "Contributor absence factor and elephant factor",
    definition: DEFINITION,
    reference: Reference::Sql(REFERENCE_SQL),
    compute,
};

const DEFINITION: &str = "\
**Helping activities**: the `reply`, `answer` and `solution` activities in the report range
(`from ≤ ts < to`, nothing after as-of) by members (author-less content is not a member; team
and bots left out unless asked for).

**Absence factor** (row `members` of `factors`): rank members by their helping activities
(most first, ties by member id); the factor is the smallest k such that the first k members did
at least half of them (2 × their sum ≥ the total). A factor of 1 means one person does half of
the helping: if they leave, half of it goes with them.

**Elephant factor** (row `organisations`): the same over organisations. An activity belongs to
the organisation its member was affiliated with at the activity's time (`affiliations`,
`since ≤ ts ≤ until`, open ends unbounded); when several affiliations cover that time, the one
that started latest wins (an open start counts as the earliest), ties by the order they were
added. **Activities of members without an affiliation at that time are left out** of the
elephant factor (an unknown employer is not one organisation, and counting each person as their
own would report diversity nobody measured); their number is `unattributed`, so that the
factor's coverage is visible. With no affiliations recorded the elephant factor is empty.

`factors` columns: `group_by`, `factor`, `groups` (members or organisations with at least one
helping activity), `activities` (the total the factor halves), `factor_activities` (done by the
first `factor` groups), `factor_share` = `factor_activities / activities`, `unattributed`.
`top_members`: the members that make up the absence factor, in rank order, with their
`activities` and `share` of the total. `organisations`: every organisation with helping
activities, most first (ties by name), with its `activities`, `members` (distinct helpers) and
`share` of the attributed activities.";

const REFERENCE_SQL: &str = concat!(
    "WITH ",
    crate::scope_ctes!(),
    ",
helping AS (
  SELECT id, member_id, ts FROM counted
  WHERE kind IN ('reply', 'answer', 'solution') AND anonymous = 0 AND ts >= :from_ts AND ts < :to_ts
),
per_member AS (SELECT member_id, COUNT(*) AS n FROM helping GROUP BY member_id),
ranked AS (
  SELECT member_id, n,
         ROW_NUMBER() OVER (ORDER BY n DESC, member_id) AS rn,
         SUM(n) OVER (ORDER BY n DESC, member_id ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS cum,
         SUM(n) OVER () AS total,
         COUNT(*) OVER () AS groups
  FROM per_member
),
m_factor AS (SELECT MIN(rn) AS factor FROM ranked WHERE 2 * cum >= total),
attributed AS (
  SELECT h.id, h.member_id, af.organisation,
         ROW_NUMBER() OVER (PARTITION BY h.id
                            ORDER BY CASE WHEN af.since IS NULL THEN 0 ELSE 1 END DESC, af.since DESC, af.id) AS pick
  FROM helping h JOIN affiliations af ON af.member_id = h.member_id
  WHERE (af.since IS NULL OR af.since <= h.ts) AND (af.until IS NULL OR h.ts <= af.until)
),
per_org AS (
  SELECT organisation, COUNT(*) AS n, COUNT(DISTINCT member_id) AS members
  FROM attributed WHERE pick = 1 GROUP BY organisation
),
o_ranked AS (
  SELECT organisation, n, members,
         ROW_NUMBER() OVER (ORDER BY n DESC, organisation) AS rn,
         SUM(n) OVER (ORDER BY n DESC, organisation ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS cum,
         SUM(n) OVER () AS total,
         COUNT(*) OVER () AS groups
  FROM per_org
),
o_factor AS (SELECT MIN(rn) AS factor FROM o_ranked WHERE 2 * cum >= total),
totals AS (
  SELECT (SELECT COUNT(*) FROM helping) AS helping,
         (SELECT COUNT(*) FROM attributed WHERE pick = 1) AS attributed
),
rows_ AS (
  SELECT 0 AS ord, 'members' AS group_by, f.factor,
         (SELECT COUNT(*) FROM per_member) AS groups, t.helping AS activities,
         (SELECT cum FROM ranked WHERE rn = f.factor) AS factor_activities, 0 AS unattributed
  FROM m_factor f, totals t
  UNION ALL
  SELECT 1, 'organisations', f.factor, (SELECT COUNT(*) FROM per_org), t.attributed,
         (SELECT cum FROM o_ranked WHERE rn = f.factor), t.helping - t.attributed
  FROM o_factor f, totals t
)
SELECT group_by, factor, groups, activities, factor_activities,
       CASE WHEN activities = 0 THEN NULL ELSE 1.0 * factor_activities / activities END AS factor_share,
       unattributed
FROM rows_
ORDER BY ord;

WITH ",
    crate::scope_ctes!(),
    ",
helping AS (
  SELECT id, member_id, ts FROM counted
  WHERE kind IN ('reply', 'answer', 'solution') AND anonymous = 0 AND ts >= :from_ts AND ts < :to_ts
),
per_member AS (SELECT member_id, COUNT(*) AS n FROM helping GROUP BY member_id),
ranked AS (
  SELECT member_id, n,
         ROW_NUMBER() OVER (ORDER BY n DESC, member_id) AS rn,
         SUM(n) OVER (ORDER BY n DESC, member_id ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS cum,
         SUM(n) OVER () AS total
  FROM per_member
),
m_factor AS (SELECT MIN(rn) AS factor FROM ranked WHERE 2 * cum >= total)
SELECT r.rn AS rank, r.member_id, r.n AS activities, 1.0 * r.n / r.total AS share
FROM ranked r, m_factor f
WHERE r.rn <= f.factor
ORDER BY r.rn;

WITH ",
    crate::scope_ctes!(),
    ",
helping AS (
  SELECT id, member_id, ts FROM counted
  WHERE kind IN ('reply', 'answer', 'solution') AND anonymous = 0 AND ts >= :from_ts AND ts < :to_ts
),
attributed AS (
  SELECT h.id, h.member_id, af.organisation,
         ROW_NUMBER() OVER (PARTITION BY h.id
                            ORDER BY CASE WHEN af.since IS NULL THEN 0 ELSE 1 END DESC, af.since DESC, af.id) AS pick
  FROM helping h JOIN affiliations af ON af.member_id = h.member_id
  WHERE (af.since IS NULL OR af.since <= h.ts) AND (af.until IS NULL OR h.ts <= af.until)
),
per_org AS (
  SELECT organisation, COUNT(*) AS n, COUNT(DISTINCT member_id) AS members
  FROM attributed WHERE pick = 1 GROUP BY organisation
)
SELECT organisation, n AS activities, members, 1.0 * n / (SELECT SUM(n) FROM per_org) AS share
FROM per_org
ORDER BY n DESC, organisation"
);

/// The smallest k whose first k counts (sorted most first) sum to at least half the total,
/// with that sum.
fn factor(sorted_desc: &[i64]) -> Option<(i64, i64)> {
    let total: i64 = sorted_desc.iter().sum();
    let mut cum = 0;
    for (i, &n) in sorted_desc.iter().enumerate() {
        cum += n;
        if 2 * cum >= total {
            return Some((i as i64 + 1, cum));
        }
    }
    None
}

fn compute(s: &Scope<'_>) -> MetricValue {
    let snap = s.snap;
    let (reply, answer, solution) = (
        Kind::Reply.code(),
        Kind::Answer.code(),
        Kind::Solution.code(),
    );
    // Each member's affiliations: `affiliations[aff_start[m]..aff_start[m + 1]]`.
    let affs = snap.affiliations();
    let mut aff_start = vec![0u32; s.members() + 1];
    for a in affs {
        aff_start[a.member as usize + 1] += 1;
    }
    for m in 0..s.members() {
        aff_start[m + 1] += aff_start[m];
    }

    let mut per_member = vec![0i64; s.members()];
    let mut per_org = vec![0i64; snap.organisations().len()];
    let mut org_members: Vec<(u32, u32)> = Vec::new();
    let (mut helping, mut attributed) = (0i64, 0i64);
    for slot in s.counted_slots_from(s.p.from_ts) {
        let k = snap.kind[slot];
        if k != reply && k != answer && k != solution {
            continue;
        }
        let t = snap.ts[slot];
        if t >= s.p.to_ts {
            continue;
        }
        let m = snap.member_of(slot) as usize;
        if s.is_anonymous(m) {
            continue;
        }
        helping += 1;
        per_member[m] += 1;
        // The covering affiliation that started latest; the first added among equals.
        let mut pick: Option<(bool, i64, u32)> = None;
        for a in &affs[aff_start[m] as usize..aff_start[m + 1] as usize] {
            if a.since <= t
                && t <= a.until
                && pick.is_none_or(|(dated, since, _)| (a.dated, a.since) > (dated, since))
            {
                pick = Some((a.dated, a.since, a.organisation));
            }
        }
        if let Some((_, _, org)) = pick {
            attributed += 1;
            per_org[org as usize] += 1;
            org_members.push((org, m as u32));
        }
    }

    // Members, most helping first, ties by member id.
    let mut ranked: Vec<(i64, i64)> = per_member
        .iter()
        .enumerate()
        .filter(|(_, n)| **n > 0)
        .map(|(m, &n)| (n, snap.member_store_id(m as u32).unwrap_or(0)))
        .collect();
    ranked.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let counts: Vec<i64> = ranked.iter().map(|r| r.0).collect();
    let member_factor = factor(&counts);

    org_members.sort_unstable();
    org_members.dedup();
    let mut helpers = vec![0i64; per_org.len()];
    for &(org, _) in &org_members {
        helpers[org as usize] += 1;
    }
    let names = snap.organisations();
    let mut orgs: Vec<(i64, &str, i64)> = per_org
        .iter()
        .enumerate()
        .filter(|(_, n)| **n > 0)
        .map(|(o, &n)| (n, names[o].as_str(), helpers[o]))
        .collect();
    orgs.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
    let org_counts: Vec<i64> = orgs.iter().map(|o| o.0).collect();
    let org_factor = factor(&org_counts);

    let mut factors = Table::new(
        "factors",
        &[
            "group_by",
            "factor",
            "groups",
            "activities",
            "factor_activities",
            "factor_share",
            "unattributed",
        ],
    );
    for (name, f, groups, total, unattributed) in [
        ("members", member_factor, ranked.len(), helping, 0),
        (
            "organisations",
            org_factor,
            orgs.len(),
            attributed,
            helping - attributed,
        ),
    ] {
        factors.push(vec![
            name.into(),
            f.map(|f| f.0).into(),
            (groups as i64).into(),
            total.into(),
            f.map(|f| f.1).into(),
            f.and_then(|f| share(f.1, total)).into(),
            unattributed.into(),
        ]);
    }

    let mut top = Table::new("top_members", &["rank", "member_id", "activities", "share"]);
    if let Some((k, _)) = member_factor {
        for (i, &(n, id)) in ranked.iter().take(k as usize).enumerate() {
            top.push(vec![
                Cell::Int(i as i64 + 1),
                Cell::Int(id),
                Cell::Int(n),
                share(n, helping).into(),
            ]);
        }
    }
    let mut organisations = Table::new(
        "organisations",
        &["organisation", "activities", "members", "share"],
    );
    for &(n, name, members) in &orgs {
        organisations.push(vec![
            name.into(),
            Cell::Int(n),
            Cell::Int(members),
            share(n, attributed).into(),
        ]);
    }
    MetricValue {
        metric: METRIC.name,
        tables: vec![factors, top, organisations],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{Community, at, day_params};

    // Range Jan 1 ..= Jan 31 2024. Helping activities in the range:
    // - ann: 4 replies (Jan 2, 3, 4, 5); bob: 2 answers (Jan 6, 7) and 1 solution (Jan 8) = 3;
    //   cat: 2 replies (Jan 9, 10); dan: 1 reply (Jan 11). Total 10.
    //   Outside: ann's reply on Feb 2 (after the range); eve's posts (not helping).
    // Absence factor: ann 4 (2 × 4 = 8 < 10), + bob 3 (2 × 7 = 14 ≥ 10) → 2, covering 7 = 0.7.
    // Affiliations:
    // - ann: Acme from Jan 4 00:00 (her Jan 2 and 3 replies are before it: unattributed), and
    //   Globex open-ended since always: Jan 2, 3 → Globex (the only covering one); Jan 4, 5 →
    //   Acme (started latest);
    // - bob: Initech until Jan 6 23:59:59 → his Jan 6 answer is Initech's, Jan 7, 8 are not
    //   attributed;
    // - cat, dan: no affiliation → unattributed.
    // Attributed: Globex 2 (ann), Acme 2 (ann), Initech 1 (bob) = 5; unattributed 10 − 5 = 5.
    // Elephant factor: sorted Acme 2, Globex 2 (tie by name), Initech 1: 2 × 2 = 4 < 5,
    // 2 × 4 = 8 ≥ 5 → 2, covering 4 of 5 = 0.8.
    #[test]
    fn the_fewest_members_and_organisations_doing_half_of_the_helping() {
        let mut c = Community::new();
        c.post("eve", at("2024-01-01T10:00:00Z"), "t1");
        for d in 2..=5 {
            c.reply("ann", at(&format!("2024-01-0{d}T10:00:00Z")), "t1");
        }
        c.answer("bob", at("2024-01-06T10:00:00Z"), "t1");
        let a = c.answer("bob", at("2024-01-07T10:00:00Z"), "t1");
        c.solution("bob", at("2024-01-08T10:00:00Z"), "t1", &a);
        c.reply("cat", at("2024-01-09T10:00:00Z"), "t1");
        c.reply("cat", at("2024-01-10T10:00:00Z"), "t1");
        c.reply("dan", at("2024-01-11T10:00:00Z"), "t1");
        c.reply("ann", at("2024-02-02T10:00:00Z"), "t1");
        c.affiliate("ann", "Globex", None, None);
        c.affiliate("ann", "Acme", Some(at("2024-01-04T00:00:00Z")), None);
        c.affiliate("bob", "Initech", None, Some(at("2024-01-06T23:59:59Z")));
        let snap = c.snapshot();
        let v = crate::compute(
            &snap,
            &day_params("2024-01-01", "2024-01-31"),
            "absence_factor",
        )
        .unwrap();
        let f = v.table("factors").unwrap();
        assert_eq!(
            f.rows[0],
            vec![
                Cell::Text("members".into()),
                Cell::Int(2),
                Cell::Int(4),
                Cell::Int(10),
                Cell::Int(7),
                Cell::Real(0.7),
                Cell::Int(0)
            ]
        );
        assert_eq!(
            f.rows[1],
            vec![
                Cell::Text("organisations".into()),
                Cell::Int(2),
                Cell::Int(3),
                Cell::Int(5),
                Cell::Int(4),
                Cell::Real(0.8),
                Cell::Int(5)
            ]
        );
        let top = v.table("top_members").unwrap();
        assert_eq!(top.rows.len(), 2);
        assert_eq!(top.get(0, "activities"), Some(&Cell::Int(4)));
        assert_eq!(top.get(1, "share"), Some(&Cell::Real(0.3)));
        let orgs = v.table("organisations").unwrap();
        let names: Vec<&Cell> = orgs.rows.iter().map(|r| &r[0]).collect();
        assert_eq!(
            names,
            [
                &Cell::Text("Acme".into()),
                &Cell::Text("Globex".into()),
                &Cell::Text("Initech".into())
            ]
        );
        assert_eq!(orgs.get(0, "share"), Some(&Cell::Real(0.4)));
    }

    // Without any affiliation the elephant factor is empty, and every activity unattributed.
    #[test]
    fn no_affiliations_leave_the_elephant_factor_empty() {
        let mut c = Community::new();
        c.post("eve", at("2024-01-01T10:00:00Z"), "t1");
        c.reply("ann", at("2024-01-02T10:00:00Z"), "t1");
        let snap = c.snapshot();
        let v = crate::compute(
            &snap,
            &day_params("2024-01-01", "2024-01-31"),
            "absence_factor",
        )
        .unwrap();
        let f = v.table("factors").unwrap();
        assert_eq!(f.get(0, "factor"), Some(&Cell::Int(1)));
        assert_eq!(f.get(1, "factor"), Some(&Cell::Null));
        assert_eq!(f.get(1, "unattributed"), Some(&Cell::Int(1)));
        assert_eq!(f.get(1, "factor_share"), Some(&Cell::Null));
    }

    #[test]
    fn agrees_with_reference_sql() {
        crate::testkit::check_oracle(&METRIC, 64);
    }
}
