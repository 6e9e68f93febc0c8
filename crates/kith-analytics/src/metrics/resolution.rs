//! Resolution of question threads (SPEC §4.4): the share of question threads resolved, and the
//! time from the question to its resolution.

use kith_model::Kind;

use crate::metric::{
    Cell, MetricDef, MetricValue, Reference, SMALL_SAMPLE, Table, nearest_rank, share,
};
use crate::scope::Scope;
use crate::snapshot::NONE;

pub const METRIC: MetricDef = MetricDef {
    name: "resolution",
    title: "Resolution of question threads",
    definition: DEFINITION,
    reference: Reference::Sql(REFERENCE_SQL),
    compute,
};

/// What the report says a question thread is, until intents are stored.
const QUESTION_THREADS: &str = "every thread with an opening post (intents are not stored yet)";

const DEFINITION: &str = "\
**Question threads**: SPEC §4.0 asks for threads whose opening post is a question (by type on
Q&A platforms, else by the intent detector). The snapshot keeps neither post types nor intents
yet, so **every thread with an opening post counts**, and the result says so in its
`question_threads` column. Threads are those of [`first_response`](#first_response): the opening
post counted (team and bots left out unless asked for) and in the report range.

**Resolved**: the thread has a `solution` activity (in the thread, at or after the opening
post, live and in scope by as-of, whoever it is credited to). The importers that know accepted
or solved answers (`discourse`, `stackexchange`) record the acceptance as exactly such a
`solution`; no importer records a *solved* mark without one, so the solution is the one signal.
**Time to resolution**: from the opening post to the earliest solution, in seconds.
*Not yet*: resolution by \"the asker thanks a helper\" needs stored intents (SPEC §4.5); it is
the named extension point `is_resolution` (code) / the `resolving` CTE (SQL), and is not
counted.

A thread without a resolution by as-of is **pending** when it was opened less than 30 days
before as-of (left out of the share, like open threads in first response), else
**unresolved**. Columns: `threads`, `pending`, `resolved`, `unresolved`, `resolved_share` =
`resolved / (threads − pending)`, `median_s` and `p90_s` of the time to resolution (nearest
rank over resolved threads), `small_sample` (1 when fewer than 30 resolved).";

const REFERENCE_SQL: &str = concat!(
    "WITH ",
    crate::scope_ctes!(),
    ",
",
    crate::opening_post_cte!(),
    "thr AS (
  SELECT op.thread_id, op.id AS op_id, op.ts AS op_ts
  FROM op JOIN counted c ON c.id = op.id
  WHERE op.ts >= :from_ts AND op.ts < :to_ts
),
resolving AS (SELECT thread_id, ts FROM act WHERE kind = 'solution'),
res AS (
  SELECT t.thread_id, MIN(r.ts) - t.op_ts AS rt
  FROM thr t JOIN resolving r ON r.thread_id = t.thread_id
  WHERE r.ts >= t.op_ts
  GROUP BY t.thread_id, t.op_ts
),
t2 AS (
  SELECT r.rt, CASE WHEN r.rt IS NULL AND t.op_ts > :as_of - 30 * 86400 THEN 1 ELSE 0 END AS pending
  FROM thr t LEFT JOIN res r ON r.thread_id = t.thread_id
),
ranked AS (
  SELECT rt, ROW_NUMBER() OVER (ORDER BY rt) AS rn, COUNT(*) OVER () AS n FROM t2 WHERE rt IS NOT NULL
),
q AS (
  SELECT MIN(CASE WHEN 2 * rn >= n THEN rt END) AS median_s,
         MIN(CASE WHEN 10 * rn >= 9 * n THEN rt END) AS p90_s
  FROM ranked
),
agg AS (
  SELECT COUNT(*) AS threads, COALESCE(SUM(pending), 0) AS pending,
         COALESCE(SUM(CASE WHEN rt IS NOT NULL THEN 1 ELSE 0 END), 0) AS resolved
  FROM t2
)
SELECT '",
    "every thread with an opening post (intents are not stored yet)",
    "' AS question_threads, a.threads, a.pending, a.resolved,
       a.threads - a.pending - a.resolved AS unresolved,
       CASE WHEN a.threads - a.pending = 0 THEN NULL ELSE 1.0 * a.resolved / (a.threads - a.pending) END AS resolved_share,
       q.median_s, q.p90_s,
       CASE WHEN a.resolved < 30 THEN 1 ELSE 0 END AS small_sample
FROM agg a, q"
);

/// Whether an admitted activity resolves its thread. Extension point: once intents are stored
/// (SPEC §4.5), a reply by the asker classified as thanks to a helper resolves the thread too;
/// add it here and to the `resolving` CTE of the reference SQL.
fn is_resolution(kind: u8) -> bool {
    kind == Kind::Solution.code()
}

fn compute(s: &Scope<'_>) -> MetricValue {
    let snap = s.snap;
    let (threads, _) = crate::threads::report_first_responses(s);
    // Earliest resolution per report thread. Solutions are rare: one byte compare per slot.
    let mut resolved_at: Vec<Option<i64>> = vec![None; threads.list.len()];
    for (slot, &k) in snap.kind.iter().enumerate() {
        if !is_resolution(k) || !s.admitted(slot) {
            continue;
        }
        let t = snap.thread[slot];
        if t == NONE {
            continue;
        }
        let i = threads.index[t as usize];
        if i == NONE {
            continue;
        }
        let ts = snap.ts[slot];
        if ts < snap.ts[threads.list[i as usize].op as usize] {
            continue;
        }
        let r = &mut resolved_at[i as usize];
        if r.is_none_or(|x| ts < x) {
            *r = Some(ts);
        }
    }
    let mut times = Vec::new();
    let mut pending = 0i64;
    for (th, r) in threads.list.iter().zip(&resolved_at) {
        let op_ts = snap.ts[th.op as usize];
        match r {
            Some(ts) => times.push(ts - op_ts),
            None if op_ts > s.p.as_of - 30 * 86_400 => pending += 1,
            None => {}
        }
    }
    times.sort_unstable();
    let total = threads.list.len() as i64;
    let resolved = times.len() as i64;
    let mut table = Table::new(
        "resolution",
        &[
            "question_threads",
            "threads",
            "pending",
            "resolved",
            "unresolved",
            "resolved_share",
            "median_s",
            "p90_s",
            "small_sample",
        ],
    );
    table.push(vec![
        QUESTION_THREADS.into(),
        Cell::Int(total),
        Cell::Int(pending),
        Cell::Int(resolved),
        Cell::Int(total - pending - resolved),
        share(resolved, total - pending).into(),
        nearest_rank(&times, 1, 2).into(),
        nearest_rank(&times, 9, 10).into(),
        Cell::Int(i64::from(resolved < SMALL_SAMPLE)),
    ]);
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

    // Range Jan 1 ..= Jan 31 2024, as-of Feb 10 00:00 (pending = opened after Jan 11, unsolved).
    // - t1 (Jan 2 10:00): accepted answer, solution Jan 2 12:00 → 7,200 s;
    // - t2 (Jan 3 10:00): two solutions, Jan 5 10:00 and Jan 4 10:00 → the earliest, 86,400 s;
    // - t3 (Jan 4 10:00): answered, never accepted, 37 days before as-of → unresolved;
    // - t4 (Jan 20 10:00): no solution, 21 days before as-of → pending;
    // - t5 (Jan 21 10:00): solution by the team member tess (a team answer resolves too) Jan 21
    //   11:00 → 3,600 s;
    // - t6 (Dec 30): solved, but opened before the range → not counted.
    // threads 5, pending 1, resolved 3, unresolved 1, share 3 / 4; times 3,600 / 7,200 /
    // 86,400: median ⌈1.5⌉ = 2nd = 7,200, p90 ⌈2.7⌉ = 3rd = 86,400; small sample.
    #[test]
    fn solutions_resolve_threads_and_recent_unsolved_ones_are_pending() {
        let mut c = Community::new();
        c.post("ann", at("2024-01-02T10:00:00Z"), "t1");
        let a1 = c.answer("bob", at("2024-01-02T11:00:00Z"), "t1");
        c.solution("bob", at("2024-01-02T12:00:00Z"), "t1", &a1);
        c.post("cat", at("2024-01-03T10:00:00Z"), "t2");
        let a2 = c.answer("bob", at("2024-01-03T11:00:00Z"), "t2");
        c.solution("bob", at("2024-01-05T10:00:00Z"), "t2", &a2);
        c.solution("bob", at("2024-01-04T10:00:00Z"), "t2", &a2);
        c.post("dan", at("2024-01-04T10:00:00Z"), "t3");
        c.answer("bob", at("2024-01-04T11:00:00Z"), "t3");
        c.post("eve", at("2024-01-20T10:00:00Z"), "t4");
        c.post("fay", at("2024-01-21T10:00:00Z"), "t5");
        let a5 = c.answer("tess", at("2024-01-21T10:30:00Z"), "t5");
        c.solution("tess", at("2024-01-21T11:00:00Z"), "t5", &a5);
        c.team("tess", None);
        c.post("gus", at("2023-12-30T10:00:00Z"), "t6");
        let a6 = c.answer("bob", at("2023-12-30T11:00:00Z"), "t6");
        c.solution("bob", at("2024-01-02T10:00:00Z"), "t6", &a6);
        let snap = c.snapshot();
        let p = Params {
            from: Some("2024-01-01".parse().unwrap()),
            to: Some("2024-01-31".parse().unwrap()),
            as_of: Some(at("2024-02-10T00:00:00Z")),
            ..Params::default()
        };
        let v = crate::compute(&snap, &p, "resolution").unwrap();
        let t = v.table("resolution").unwrap();
        assert_eq!(
            t.get(0, "question_threads"),
            Some(&Cell::Text(QUESTION_THREADS.into()))
        );
        assert_eq!(t.rows[0][1..5], [5, 1, 3, 1].map(Cell::Int));
        assert_eq!(t.get(0, "resolved_share"), Some(&Cell::Real(0.75)));
        assert_eq!(t.rows[0][6..], [7_200, 86_400, 1].map(Cell::Int));
    }

    #[test]
    fn agrees_with_reference_sql() {
        crate::testkit::check_oracle(&METRIC, 128);
    }
}
