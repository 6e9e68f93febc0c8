//! Newcomers waiting (SPEC §4.6): the welcome queue — newcomers whose first post has no human
//! response yet at as-of, oldest first.

use crate::metric::{Cell, MetricDef, MetricValue, Reference, Table};
use crate::scope::Scope;

pub const METRIC: MetricDef = MetricDef {
    name: "newcomers_waiting",
    title: "Newcomers waiting (welcome queue)",
    definition: DEFINITION,
    reference: Reference::Sql(REFERENCE_SQL),
    compute,
};

const DEFINITION: &str = "\
Members who are **newcomers** at as-of (days 0–29 after their first participation t₀:
`as-of − t₀ < 30 × 24 h`; not author-less content; team and bots left out unless asked for)
whose **first post** (their earliest counted opening post, see
[`onboarding_funnel`](#onboarding_funnel)) has **no response** by as-of (responses as in
[`first_response`](#first_response): replies and answers by a human other than them, never
bots). Independent of the report range. Oldest post first (then post id). Columns:
`member_id`, `thread_id`, `post_id` (store ids), `first_participation` and `posted` (epoch
seconds), `waiting_s` = as-of − posted.";

const REFERENCE_SQL: &str = concat!(
    "WITH ",
    crate::scope_ctes!(),
    ",
",
    crate::opening_post_cte!(),
    crate::first_post_ctes!(),
    "firstpart AS (
  SELECT member_id, MIN(ts) AS t0 FROM counted WHERE participation = 1 GROUP BY member_id
)
SELECT f.member_id, f.thread_id, f.op_id AS post_id, fp.t0 AS first_participation,
       f.op_ts AS posted, :as_of - f.op_ts AS waiting_s
FROM first_post f JOIN firstpart fp ON fp.member_id = f.member_id
WHERE f.anonymous = 0 AND f.resp_ts IS NULL AND :as_of - fp.t0 < 30 * 86400
ORDER BY f.op_ts, f.op_id"
);

fn compute(s: &Scope<'_>) -> MetricValue {
    let snap = s.snap;
    let as_of = s.p.as_of;
    let posts = crate::threads::first_posts(s);
    // (posted, post id, member, thread, first participation)
    let mut rows: Vec<(i64, i64, i64, i64, i64)> = Vec::new();
    for m in 0..s.members() {
        if s.is_anonymous(m) {
            continue;
        }
        let Some(&t0) = s.participations(m).0.first() else {
            continue;
        };
        if as_of - t0 >= 30 * 86_400 {
            continue;
        }
        let Some((op, None)) = posts.of(m) else {
            continue;
        };
        let o = op as usize;
        rows.push((
            snap.ts[o],
            snap.ids_of(op),
            snap.member_store_id(m as u32).unwrap_or(0),
            snap.thread_store_id(snap.thread[o]),
            t0,
        ));
    }
    rows.sort_unstable();
    let mut table = Table::new(
        "queue",
        &[
            "member_id",
            "thread_id",
            "post_id",
            "first_participation",
            "posted",
            "waiting_s",
        ],
    );
    for (posted, post, member, thread, t0) in rows {
        table.push(vec![
            Cell::Int(member),
            Cell::Int(thread),
            Cell::Int(post),
            Cell::Int(t0),
            Cell::Int(posted),
            Cell::Int(as_of - posted),
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

    // as-of 2024-02-01T00:00:00Z; newcomers first participated after 2024-01-02T00:00:00Z.
    // - ann (first participation Jan 10, her post): only she and a bot replied → waiting 22 d;
    // - bob (first participation Jan 5 with a reply, first post Jan 20) → waiting 12 d, listed
    //   after ann (younger post);
    // - cat (Jan 15): dan replied → welcomed, not listed;
    // - eve (first participation Dec 1, post Jan 25) → not a newcomer any more;
    // - fay (Jan 20): her first post (Jan 20) was answered, her second (Jan 25) was not → not
    //   listed: only the first post counts.
    #[test]
    fn newcomers_whose_first_post_is_unanswered_oldest_first() {
        let mut c = Community::new();
        c.post("ann", at("2024-01-10T00:00:00Z"), "t1");
        c.reply("ann", at("2024-01-10T01:00:00Z"), "t1");
        c.reply("robot", at("2024-01-10T02:00:00Z"), "t1");
        c.bot("robot");
        c.post("zed", at("2023-11-01T00:00:00Z"), "t0");
        c.reply("bob", at("2024-01-05T00:00:00Z"), "t0");
        c.post("bob", at("2024-01-20T00:00:00Z"), "t2");
        c.post("cat", at("2024-01-15T00:00:00Z"), "t3");
        c.reply("dan", at("2024-01-16T00:00:00Z"), "t3");
        c.post("eve", at("2023-12-01T00:00:00Z"), "t4");
        c.post("eve", at("2024-01-25T00:00:00Z"), "t5");
        c.post("fay", at("2024-01-20T00:00:00Z"), "t6");
        c.reply("dan", at("2024-01-20T05:00:00Z"), "t6");
        c.post("fay", at("2024-01-25T00:00:00Z"), "t7");
        let snap = c.snapshot();
        let p = Params {
            as_of: Some(at("2024-02-01T00:00:00Z")),
            ..Params::default()
        };
        let v = crate::compute(&snap, &p, "newcomers_waiting").unwrap();
        let q = v.table("queue").unwrap();
        assert_eq!(q.rows.len(), 2);
        assert_eq!(q.get(0, "waiting_s"), Some(&Cell::Int(22 * 86_400)));
        assert_eq!(
            q.get(1, "first_participation"),
            Some(&Cell::Int(at("2024-01-05T00:00:00Z")))
        );
        assert_eq!(q.get(1, "waiting_s"), Some(&Cell::Int(12 * 86_400)));
    }

    #[test]
    fn agrees_with_reference_sql() {
        crate::testkit::check_oracle(&METRIC, 128);
    }
}
