//! Peer support share: does the community help itself, or only the staff? (SPEC §4.4)

use crate::metric::{MetricDef, MetricValue, Reference, Table, share};
use crate::scope::Scope;

pub const METRIC: MetricDef = MetricDef {
    name: "peer_support",
    title: "Peer support share",
    definition: DEFINITION,
    reference: Reference::Sql(REFERENCE_SQL),
    compute,
};

const DEFINITION: &str = "\
Over the threads and responses of [`first_response`](#first_response) (threads opened in the
report range by members whose activity counts; responses are replies and answers by humans
other than the author, in the thread or on its opening post, never by bots):
- `first_responses`: threads with a first response; `by_community`: those whose first
  responder was not team at the time (author-less responders are community); `share` =
  `by_community / first_responses`.
- `all_responses`: every response to those threads (up to as-of); `by_community` and `share` as
  above.";

const REFERENCE_SQL: &str = concat!(
    "WITH ",
    crate::scope_ctes!(),
    ",
",
    crate::opening_post_cte!(),
    "thr AS (
  SELECT op.thread_id, op.id AS op_id, op.ts AS op_ts, op.member_id AS author
  FROM op JOIN counted c ON c.id = op.id
  WHERE op.ts >= :from_ts AND op.ts < :to_ts
),
resp AS (
  SELECT t.thread_id, r.team_act,
         ROW_NUMBER() OVER (PARTITION BY t.thread_id ORDER BY r.ts, r.id) AS rn
  FROM thr t JOIN act r ON (r.thread_id = t.thread_id OR r.reply_to_id = t.op_id)
  WHERE r.kind IN ('reply', 'answer') AND r.bot = 0 AND r.member_id <> t.author AND r.ts >= t.op_ts
),
agg AS (
  SELECT 'first' AS responses, 0 AS ord, COUNT(*) AS n,
         COALESCE(SUM(CASE WHEN team_act = 0 THEN 1 ELSE 0 END), 0) AS by_community
  FROM resp WHERE rn = 1
  UNION ALL
  SELECT 'all', 1, COUNT(*), COALESCE(SUM(CASE WHEN team_act = 0 THEN 1 ELSE 0 END), 0) FROM resp
)
SELECT responses, n, by_community, CASE WHEN n = 0 THEN NULL ELSE 1.0 * by_community / n END AS share
FROM agg
ORDER BY ord"
);

/// Threads with a first response, and those whose first responder was not team: the `first`
/// row (and the health index's peer support component).
pub(crate) fn first_by_community(first_responses: &[crate::threads::FirstResponse]) -> (i64, i64) {
    let mut first = (0i64, 0i64);
    for f in first_responses.iter().flatten() {
        first.0 += 1;
        if !f.2 {
            first.1 += 1;
        }
    }
    first
}

fn compute(s: &Scope<'_>) -> MetricValue {
    let (_, first_responses) = crate::threads::report_first_responses(s);
    let all = crate::threads::responses_opened_between(s, s.p.from_ts, s.p.to_ts);
    let first = first_by_community(first_responses);
    let mut table = Table::new("responses", &["responses", "n", "by_community", "share"]);
    for (name, (n, c)) in [("first", first), ("all", all)] {
        table.push(vec![name.into(), n.into(), c.into(), share(c, n).into()]);
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

    // January 2024, tess is team:
    // - t1 by ann: tess answers first (10:10), bob replies (10:20), ann replies to herself
    //   (not a response) → first by team; responses 2, 1 by the community;
    // - t2 by bob: cat replies (11:00), tess replies (12:00), a bot replies (never counted) →
    //   first by community; responses 2, 1 by the community;
    // - t3 by cat: no response.
    // first: n 2, by_community 1, share 0.5; all: n 4, by_community 2, share 0.5.
    #[test]
    fn first_and_all_responses_are_split_by_team() {
        let mut c = Community::new();
        c.post("ann", at("2024-01-02T10:00:00Z"), "t1");
        c.answer("tess", at("2024-01-02T10:10:00Z"), "t1");
        c.reply("bob", at("2024-01-02T10:20:00Z"), "t1");
        c.reply("ann", at("2024-01-02T10:30:00Z"), "t1");
        c.post("bob", at("2024-01-03T10:00:00Z"), "t2");
        c.reply("cat", at("2024-01-03T11:00:00Z"), "t2");
        c.reply("tess", at("2024-01-03T12:00:00Z"), "t2");
        c.reply("robot", at("2024-01-03T12:30:00Z"), "t2");
        c.post("cat", at("2024-01-04T10:00:00Z"), "t3");
        c.team("tess", None);
        c.bot("robot");
        let snap = c.snapshot();
        let p = Params {
            from: Some("2024-01-01".parse().unwrap()),
            to: Some("2024-01-31".parse().unwrap()),
            ..Params::default()
        };
        let v = crate::compute(&snap, &p, "peer_support").unwrap();
        assert_eq!(
            v.table("responses").unwrap().rows,
            vec![
                vec![
                    Cell::Text("first".into()),
                    Cell::Int(2),
                    Cell::Int(1),
                    Cell::Real(0.5)
                ],
                vec![
                    Cell::Text("all".into()),
                    Cell::Int(4),
                    Cell::Int(2),
                    Cell::Real(0.5)
                ],
            ]
        );
    }

    #[test]
    fn agrees_with_reference_sql() {
        crate::testkit::check_oracle(&METRIC, 64);
    }
}
