//! The needs-reply queue: open threads by members with no human response yet, oldest first,
//! newcomers marked (SPEC §4.4).

use crate::metric::{Cell, MetricDef, MetricValue, Reference, Table};
use crate::scope::Scope;

pub const METRIC: MetricDef = MetricDef {
    name: "needs_reply",
    title: "Needs-reply queue",
    definition: DEFINITION,
    reference: Reference::Sql(REFERENCE_SQL),
    compute,
};

const DEFINITION: &str = "\
The threads waiting for a first response at as-of: **open threads** (SPEC §4.0), i.e. threads
opened less than 30 days before as-of (`as_of − 30 × 24 h < opened ≤ as_of`, independent of the
report range) by a member whose activity counts, with no response yet (responses as in
[`first_response`](#first_response): replies and answers by a human other than the author,
never bots). Oldest first (by opening time, then id). Columns: `thread_id` and `post_id` (store
ids), `author_id` (member id), `opened` (epoch seconds), `waiting_s` = as-of − opened, and
`newcomer` = 1 when the author was on days 0–29 after their first participation at the time of
the post.";

const REFERENCE_SQL: &str = concat!(
    "WITH ",
    crate::scope_ctes!(),
    ",
",
    crate::opening_post_cte!(),
    "thr AS (
  SELECT op.thread_id, op.id AS op_id, op.ts AS op_ts, op.member_id AS author
  FROM op JOIN counted c ON c.id = op.id
  WHERE op.ts > :as_of - 30 * 86400
),
answered AS (
  SELECT DISTINCT t.thread_id
  FROM thr t JOIN act r ON (r.thread_id = t.thread_id OR r.reply_to_id = t.op_id)
  WHERE r.kind IN ('reply', 'answer') AND r.bot = 0 AND r.member_id <> t.author AND r.ts >= t.op_ts
),
authorfirst AS (SELECT member_id, MIN(ts) AS first_part FROM counted WHERE participation = 1 GROUP BY member_id)
SELECT t.thread_id, t.op_id AS post_id, t.author AS author_id, t.op_ts AS opened, :as_of - t.op_ts AS waiting_s,
       CASE WHEN t.op_ts - af.first_part < 30 * 86400 THEN 1 ELSE 0 END AS newcomer
FROM thr t JOIN authorfirst af ON af.member_id = t.author
WHERE t.thread_id NOT IN (SELECT thread_id FROM answered)
ORDER BY t.op_ts, t.op_id"
);

fn compute(s: &Scope<'_>) -> MetricValue {
    let snap = s.snap;
    let as_of = s.p.as_of;
    // The counted threads since the cutoff (which covers the 30 days up to as-of) with their
    // first responses; the queue is those opened in the 30 days up to as-of that have none.
    let posts = crate::threads::first_posts(s);
    let threads = &posts.threads;
    let mut rows: Vec<(i64, i64, i64, i64, i64, i64)> = Vec::new();
    for (t, &i) in threads.index.iter().enumerate() {
        if i == crate::snapshot::NONE {
            continue;
        }
        let th = threads.list[i as usize];
        let op_ts = th.op_ts;
        if op_ts <= as_of - 30 * 86_400 || op_ts > as_of || posts.first(i as usize).is_some() {
            continue;
        }
        let first = s
            .participations(th.author as usize)
            .0
            .first()
            .copied()
            .unwrap_or(op_ts);
        rows.push((
            op_ts,
            snap.ids_of(th.op),
            snap.thread_store_id(t as u32),
            snap.member_store_id(th.author).unwrap_or(0),
            as_of - op_ts,
            i64::from(op_ts - first < 30 * 86_400),
        ));
    }
    rows.sort_unstable();
    let mut table = Table::new(
        "queue",
        &[
            "thread_id",
            "post_id",
            "author_id",
            "opened",
            "waiting_s",
            "newcomer",
        ],
    );
    for (opened, post, thread, author, waiting, newcomer) in rows {
        table.push(vec![
            Cell::Int(thread),
            Cell::Int(post),
            Cell::Int(author),
            Cell::Int(opened),
            Cell::Int(waiting),
            Cell::Int(newcomer),
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

    // as-of 2024-02-01T00:00:00Z; the queue holds threads opened after 2024-01-02T00:00:00Z.
    // - t0 by ann (Jan 1): older than 30 days → unanswered, not in the queue;
    // - t1 by bob (Jan 10): only a bot replied → waiting, bob is a newcomer (first post);
    // - t2 by ann (Jan 5): ann replied to herself → waiting; ann first posted Jan 1 → newcomer;
    // - t3 by cat (Jan 20): dan replied → answered, not in the queue.
    // Queue, oldest first: t2 (waiting 27 days), t1 (22 days).
    #[test]
    fn open_unanswered_threads_oldest_first() {
        let mut c = Community::new();
        c.post("ann", at("2024-01-01T00:00:00Z"), "t0");
        c.post("bob", at("2024-01-10T00:00:00Z"), "t1");
        c.reply("robot", at("2024-01-10T01:00:00Z"), "t1");
        c.bot("robot");
        c.post("ann", at("2024-01-05T00:00:00Z"), "t2");
        c.reply("ann", at("2024-01-05T01:00:00Z"), "t2");
        c.post("cat", at("2024-01-20T00:00:00Z"), "t3");
        c.reply("dan", at("2024-01-21T00:00:00Z"), "t3");
        let snap = c.snapshot();
        let p = Params {
            as_of: Some(at("2024-02-01T00:00:00Z")),
            ..Params::default()
        };
        let v = crate::compute(&snap, &p, "needs_reply").unwrap();
        let q = v.table("queue").unwrap();
        assert_eq!(q.rows.len(), 2);
        assert_eq!(q.get(0, "waiting_s"), Some(&Cell::Int(27 * 86_400)));
        assert_eq!(q.get(1, "waiting_s"), Some(&Cell::Int(22 * 86_400)));
        assert_eq!(q.get(0, "newcomer"), Some(&Cell::Int(1)));
        assert_eq!(q.get(1, "newcomer"), Some(&Cell::Int(1)));
    }

    #[test]
    fn agrees_with_reference_sql() {
        crate::testkit::check_oracle(&METRIC, 64);
    }
}
