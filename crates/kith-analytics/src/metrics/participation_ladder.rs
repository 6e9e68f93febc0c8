//! The participation ladder (SPEC §4.1): of the members present or participating in a period,
//! how many only show presence, only post, reply to others, or lead; one rung per member and
//! period, the highest they reached.

use kith_model::Kind;

use crate::metric::{MetricDef, MetricValue, Reference, Table, share};
use crate::scope::Scope;
use crate::snapshot::NONE;

pub const METRIC: MetricDef = MetricDef {
    name: "participation_ladder",
    title: "Participation ladder",
    definition: DEFINITION,
    reference: Reference::Sql(REFERENCE_SQL),
    compute,
};

const DEFINITION: &str = "\
One row per calendar period overlapping the report range. `members`: members (not
author-less content) with at least one participation or presence activity in the period (team
and bots left out unless asked for). Each is counted once, on the **highest rung** their
activities in the period reach:

1. `presence_only`: only presence — `reaction`, `join`, `rsvp`;
2. `posts`: participation that neither answers another member nor leads — `post`, `feedback`,
   `attend`, and replies or answers to themselves;
3. `replies_to_others`: a `reply` or `answer` to another member: the activity it replies to
   (`reply_to`) is by another member, or, when it names no stored activity, the opening post of
   its thread is;
4. `leads`: a `solution` (the accepted answer, credited to its author) or a `contribution`
   (code, documentation, translation). Both carry the top Orbit weight (8) below event hosting
   among kith's kinds; event hosting and moderation actions join this rung when kith records
   them as kinds (it does not yet).

`edit`, `delete` and `leave` place no one on the ladder. Each `*_share` is the rung's count over
`members` (empty when no member).";

const REFERENCE_SQL: &str = concat!(
    "WITH ",
    crate::scope_ctes!(),
    ",
",
    crate::opening_post_cte!(),
    "periods AS (
  SELECT period_no, MIN(period) AS period FROM kith_calendar
  WHERE period_no BETWEEN :first_period AND :last_period GROUP BY period_no
),
target AS (
  SELECT c.id,
         CASE WHEN c.reply_to_id IS NOT NULL
              THEN (SELECT ti.member_id FROM activities t JOIN identities ti ON ti.id = t.identity_id
                    WHERE t.id = c.reply_to_id)
              ELSE (SELECT op.member_id FROM op WHERE op.thread_id = c.thread_id) END AS member_id
  FROM counted c WHERE c.kind IN ('reply', 'answer')
),
rungs AS (
  SELECT c.member_id, k.period_no,
         MAX(CASE WHEN c.kind IN ('solution', 'contribution') THEN 4
                  WHEN c.kind IN ('reply', 'answer') AND t.member_id IS NOT NULL AND t.member_id <> c.member_id THEN 3
                  WHEN c.participation = 1 THEN 2
                  ELSE 1 END) AS rung
  FROM counted c
  JOIN kith_calendar k ON c.ts >= k.day_start AND c.ts < k.day_end
  LEFT JOIN target t ON t.id = c.id
  WHERE c.anonymous = 0 AND k.period_no BETWEEN :first_period AND :last_period
    AND (c.participation = 1 OR c.kind IN ('reaction', 'join', 'rsvp'))
  GROUP BY c.member_id, k.period_no
),
agg AS (
  SELECT p.period_no, p.period,
         COUNT(r.rung) AS members,
         SUM(CASE WHEN r.rung = 1 THEN 1 ELSE 0 END) AS presence_only,
         SUM(CASE WHEN r.rung = 2 THEN 1 ELSE 0 END) AS posts,
         SUM(CASE WHEN r.rung = 3 THEN 1 ELSE 0 END) AS replies_to_others,
         SUM(CASE WHEN r.rung = 4 THEN 1 ELSE 0 END) AS leads
  FROM periods p LEFT JOIN rungs r ON r.period_no = p.period_no
  GROUP BY p.period_no, p.period
)
SELECT period, members, presence_only, posts, replies_to_others, leads,
       CASE WHEN members = 0 THEN NULL ELSE 1.0 * presence_only / members END AS presence_only_share,
       CASE WHEN members = 0 THEN NULL ELSE 1.0 * posts / members END AS posts_share,
       CASE WHEN members = 0 THEN NULL ELSE 1.0 * replies_to_others / members END AS replies_to_others_share,
       CASE WHEN members = 0 THEN NULL ELSE 1.0 * leads / members END AS leads_share
FROM agg
ORDER BY period_no"
);

/// The rung of one counted activity by member `m` (0: not on the ladder).
fn rung(s: &Scope<'_>, slot: usize, m: u32) -> u8 {
    let snap = s.snap;
    let k = snap.kind[slot];
    let code = |kind: Kind| kind.code();
    if k == code(Kind::Solution) || k == code(Kind::Contribution) {
        4
    } else if k == code(Kind::Reply) || k == code(Kind::Answer) {
        let target = snap.reply_to[slot];
        let to = if target != NONE {
            snap.member_of(target as usize)
        } else {
            let t = snap.thread[slot];
            let op = if t == NONE {
                NONE
            } else {
                snap.thread_op[t as usize]
            };
            if op == NONE {
                NONE
            } else {
                snap.member_of(op as usize)
            }
        };
        if to != NONE && to != m { 3 } else { 2 }
    } else if crate::scope::is_participation(k) {
        2
    } else if k == code(Kind::Reaction) || k == code(Kind::Join) || k == code(Kind::Rsvp) {
        1
    } else {
        0
    }
}

fn compute(s: &Scope<'_>) -> MetricValue {
    let snap = s.snap;
    let periods = s.periods();
    let (lo, hi) = match (periods.first(), periods.last()) {
        (Some(a), Some(b)) => (a.start, b.end),
        _ => (0, 0),
    };
    // Period ends, for a search per activity instead of a calendar conversion.
    let ends: Vec<i64> = periods.iter().map(|p| p.end).collect();
    // (period, member, rung) of each activity in the periods, then grouped by period with a
    // counting sort, so that each period is one pass with a per-member stamp (no hashing).
    let bound = if lo < hi { s.counted_bound_from(lo) } else { 0 };
    let mut entries: Vec<(u32, u32, u8)> = Vec::with_capacity(bound);
    let mut per_period = vec![0u32; periods.len() + 1];
    for slot in s.counted_slots_from(lo) {
        let t = snap.ts[slot];
        if t < lo || t >= hi {
            continue;
        }
        let m = snap.member_of(slot);
        if s.is_anonymous(m as usize) {
            continue;
        }
        let r = rung(s, slot, m);
        if r == 0 {
            continue;
        }
        let p = ends.partition_point(|&e| e <= t) as u32;
        per_period[p as usize + 1] += 1;
        entries.push((p, m, r));
    }
    for i in 1..per_period.len() {
        per_period[i] += per_period[i - 1];
    }
    let mut fill = per_period.clone();
    let mut grouped = vec![(0u32, 0u8); entries.len()];
    for &(p, m, r) in &entries {
        grouped[fill[p as usize] as usize] = (m, r);
        fill[p as usize] += 1;
    }
    drop(entries);

    let mut best = vec![0u8; s.members()];
    let mut touched: Vec<u32> = Vec::new();
    let mut table = Table::new(
        "periods",
        &[
            "period",
            "members",
            "presence_only",
            "posts",
            "replies_to_others",
            "leads",
            "presence_only_share",
            "posts_share",
            "replies_to_others_share",
            "leads_share",
        ],
    );
    for (i, p) in periods.iter().enumerate() {
        for &(m, r) in &grouped[per_period[i] as usize..per_period[i + 1] as usize] {
            let b = &mut best[m as usize];
            if *b == 0 {
                touched.push(m);
            }
            *b = (*b).max(r);
        }
        let mut counts = [0i64; 5];
        for &m in &touched {
            counts[best[m as usize] as usize] += 1;
            best[m as usize] = 0;
        }
        let members = touched.len() as i64;
        touched.clear();
        let sh = |x: i64| share(x, members);
        table.push(vec![
            p.label.clone().into(),
            members.into(),
            counts[1].into(),
            counts[2].into(),
            counts[3].into(),
            counts[4].into(),
            sh(counts[1]).into(),
            sh(counts[2]).into(),
            sh(counts[3]).into(),
            sh(counts[4]).into(),
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

    // Monthly, UTC, range Jan 1 ..= Feb 29 2024.
    // January:
    // - ann opens t1 (post) and replies in her own thread → posts (rung 2);
    // - bob reacts and joins only → presence_only (1);
    // - cat replies in ann's thread → replies_to_others (3); cat also reacts: the highest counts;
    // - dan answers in t1 and his answer is accepted (a solution credited to dan) → leads (4);
    // - eve only edits (an edit places no one) → not a member of the ladder;
    // - an author-less reply → never a member.
    // January: members 4 (ann, bob, cat, dan): 1 / 1 / 1 / 1, each share 0.25.
    // February:
    // - ann replies to cat's January reply (reply_to is cat's) → replies_to_others even though
    //   the thread is hers;
    // - cat posts t2 → posts;
    // - fay makes a contribution → leads.
    // February: members 3: presence 0, posts 1, replies 1, leads 1.
    #[test]
    fn each_member_counts_once_on_the_highest_rung_reached() {
        let mut c = Community::new();
        c.post("ann", at("2024-01-02T10:00:00Z"), "t1");
        c.reply("ann", at("2024-01-02T11:00:00Z"), "t1");
        c.react("bob", at("2024-01-03T10:00:00Z"));
        c.act(Kind::Join, "bob", at("2024-01-03T10:00:00Z"));
        let cats = c.reply("cat", at("2024-01-04T10:00:00Z"), "t1");
        c.react("cat", at("2024-01-04T11:00:00Z"));
        let answer = c.answer("dan", at("2024-01-05T10:00:00Z"), "t1");
        c.solution("dan", at("2024-01-06T10:00:00Z"), "t1", &answer);
        c.act(Kind::Edit, "eve", at("2024-01-07T10:00:00Z"));
        c.anonymous_reply(at("2024-01-08T10:00:00Z"), "t1");
        c.reply_to("ann", at("2024-02-02T10:00:00Z"), "t1", &cats);
        c.post("cat", at("2024-02-03T10:00:00Z"), "t2");
        c.act(Kind::Contribution, "fay", at("2024-02-04T10:00:00Z"));
        let snap = c.snapshot();
        let v = crate::compute(
            &snap,
            &day_params("2024-01-01", "2024-02-29"),
            "participation_ladder",
        )
        .unwrap();
        let t = v.table("periods").unwrap();
        assert_eq!(t.rows.len(), 2);
        assert_eq!(
            t.rows[0][..6],
            [
                Cell::Text("2024-01".into()),
                Cell::Int(4),
                Cell::Int(1),
                Cell::Int(1),
                Cell::Int(1),
                Cell::Int(1)
            ]
        );
        assert_eq!(t.get(0, "leads_share"), Some(&Cell::Real(0.25)));
        assert_eq!(t.rows[1][1..6], [3, 0, 1, 1, 1].map(Cell::Int));
        assert_eq!(t.get(1, "presence_only_share"), Some(&Cell::Real(0.0)));
    }

    // A period with nobody on the ladder has empty shares, not zeros over zero.
    #[test]
    fn an_empty_period_has_no_shares() {
        let mut c = Community::new();
        c.post("ann", at("2024-01-02T10:00:00Z"), "t1");
        let snap = c.snapshot();
        let p = crate::Params {
            as_of: Some(at("2024-03-01T00:00:00Z")),
            ..day_params("2024-02-01", "2024-02-29")
        };
        let v = crate::compute(&snap, &p, "participation_ladder").unwrap();
        let t = v.table("periods").unwrap();
        assert_eq!(t.get(0, "members"), Some(&Cell::Int(0)));
        assert_eq!(t.get(0, "posts_share"), Some(&Cell::Null));
    }

    #[test]
    fn agrees_with_reference_sql() {
        crate::testkit::check_oracle(&METRIC, 64);
    }
}
