//! Resolution of question threads (SPEC §4.4): the share of question threads resolved (an
//! accepted answer, or the asker thanking a helper), and the time from the question to its
//! resolution. Question threads and thanks come from the stored text scores (SPEC §4.5).

use kith_model::Kind;

use crate::metric::{
    Cell, MetricDef, MetricValue, Reference, SMALL_SAMPLE, Table, nearest_rank, share,
};
use crate::scope::Scope;
use crate::snapshot::{NONE, T_SCORED};
use kith_text::Intent;

pub const METRIC: MetricDef = MetricDef {
    name: "resolution",
    title: "Resolution of question threads",
    definition: DEFINITION,
    reference: Reference::Sql(REFERENCE_SQL),
    compute,
};

/// What the report says a question thread is.
const QUESTION_THREADS: &str =
    "opening post asks a question (intent detector), or the thread has answers (Q&A platforms)";
/// ... before any message is scored.
const EVERY_THREAD: &str =
    "every thread with an opening post (no text scores yet: run kith rescore)";

const DEFINITION: &str = "\
**Question threads** (SPEC §4.0): threads of [`first_response`](#first_response) (the opening
post counted, team and bots left out unless asked for, in the report range) whose opening post
asks a question, by type on Q&A platforms and elsewhere by the intent detector: the opening
post's stored text score has the `question` intent (`intents & 1`), or the thread has an
`answer` activity (Q&A platforms record answers by type). Threads whose opening post has a
score without the question intent and no answer are `not_questions`; those whose opening post
has no usable score (not scored yet, or written in a language the models do not support) and
no answer are `unclassified`; neither counts below. Until the database holds any text score
(the scoring pass has never run), **every thread with an opening post counts**, and the
`question_threads` column says which rule applied.

**Resolved**: the thread has a `solution` activity (in the thread, at or after the opening
post, live and in scope by as-of, whoever it is credited to; the importers that know accepted
or solved answers record the acceptance as exactly such a `solution`), **or the asker thanks a
helper**: a message (post, reply, answer, feedback) in the thread by the opening post's author,
other than the opening post, whose text score is scored with the `thanks` intent
(`intents & 4`; thanks in advance, sarcastic thanks and thanks for an event are not thanks),
at or after the thread's first response (SPEC §4.0). `resolved_by_thanks` counts resolved
threads without any solution. **Time to resolution**: from the opening post to the earliest
resolution, in seconds.

A question thread without a resolution by as-of is **pending** when it was opened less than 30
days before as-of (left out of the share, like open threads in first response), else
**unresolved**. Columns: `threads` (question threads), `pending`, `resolved`, `unresolved`,
`resolved_share` = `resolved / (threads − pending)`, `median_s` and `p90_s` of the time to
resolution (nearest rank over resolved threads), `small_sample` (1 when fewer than 30
resolved), then `not_questions`, `unclassified` and `resolved_by_thanks`.";

const REFERENCE_SQL: &str = concat!(
    "WITH ",
    crate::scope_ctes!(),
    ",
",
    crate::opening_post_cte!(),
    "thr0 AS (
  SELECT op.thread_id, op.id AS op_id, op.ts AS op_ts, op.member_id AS author
  FROM op JOIN counted c ON c.id = op.id
  WHERE op.ts >= :from_ts AND op.ts < :to_ts
),
any_scores AS (SELECT CASE WHEN EXISTS (SELECT 1 FROM text_scores) THEN 1 ELSE 0 END AS yes),
answered AS (SELECT DISTINCT thread_id FROM act WHERE kind = 'answer' AND thread_id IS NOT NULL),
cls AS (
  SELECT t.thread_id, t.op_id, t.op_ts, t.author,
         CASE WHEN sc.yes = 0 THEN 1
              WHEN t.thread_id IN (SELECT thread_id FROM answered) THEN 1
              WHEN ts.scored = 1 AND (ts.intents & 1) <> 0 THEN 1
              WHEN ts.scored = 1 THEN 0
              ELSE 2 END AS question
  FROM thr0 t CROSS JOIN any_scores sc LEFT JOIN text_scores ts ON ts.activity_id = t.op_id
),
thr AS (SELECT thread_id, op_id, op_ts, author FROM cls WHERE question = 1),
fr AS (
  SELECT t.thread_id, MIN(r.ts) AS first_ts
  FROM thr t JOIN act r ON (r.thread_id = t.thread_id OR r.reply_to_id = t.op_id)
  WHERE r.kind IN ('reply', 'answer') AND r.bot = 0 AND r.member_id <> t.author AND r.ts >= t.op_ts
  GROUP BY t.thread_id
),
resolving AS (
  SELECT thread_id, ts, 0 AS thanks FROM act WHERE kind = 'solution'
  UNION ALL
  SELECT t.thread_id, a.ts, 1 AS thanks
  FROM thr t JOIN fr ON fr.thread_id = t.thread_id
  JOIN act a ON a.thread_id = t.thread_id
  JOIN text_scores s ON s.activity_id = a.id
  WHERE a.member_id = t.author AND a.id <> t.op_id AND a.kind IN ('post', 'reply', 'answer', 'feedback')
    AND s.scored = 1 AND (s.intents & 4) <> 0 AND a.ts >= fr.first_ts
),
res AS (
  SELECT t.thread_id, MIN(r.ts) - t.op_ts AS rt, MIN(r.thanks) AS by_thanks
  FROM thr t JOIN resolving r ON r.thread_id = t.thread_id
  WHERE r.ts >= t.op_ts
  GROUP BY t.thread_id, t.op_ts
),
t2 AS (
  SELECT r.rt, r.by_thanks,
         CASE WHEN r.rt IS NULL AND t.op_ts > :as_of - 30 * 86400 THEN 1 ELSE 0 END AS pending
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
         COALESCE(SUM(CASE WHEN rt IS NOT NULL THEN 1 ELSE 0 END), 0) AS resolved,
         COALESCE(SUM(CASE WHEN by_thanks = 1 THEN 1 ELSE 0 END), 0) AS by_thanks
  FROM t2
),
other AS (
  SELECT COALESCE(SUM(CASE WHEN question = 0 THEN 1 ELSE 0 END), 0) AS not_questions,
         COALESCE(SUM(CASE WHEN question = 2 THEN 1 ELSE 0 END), 0) AS unclassified
  FROM cls
)
SELECT CASE WHEN sc.yes = 1 THEN '",
    "opening post asks a question (intent detector), or the thread has answers (Q&A platforms)",
    "' ELSE '",
    "every thread with an opening post (no text scores yet: run kith rescore)",
    "' END AS question_threads, a.threads, a.pending, a.resolved,
       a.threads - a.pending - a.resolved AS unresolved,
       CASE WHEN a.threads - a.pending = 0 THEN NULL ELSE 1.0 * a.resolved / (a.threads - a.pending) END AS resolved_share,
       q.median_s, q.p90_s,
       CASE WHEN a.resolved < 30 THEN 1 ELSE 0 END AS small_sample,
       o.not_questions, o.unclassified, a.by_thanks AS resolved_by_thanks
FROM agg a, q, other o, any_scores sc"
);

/// How a report thread's opening post classifies it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Question {
    Yes,
    No,
    /// The opening post has no usable score (not scored yet, or another language).
    Unclassified,
}

/// Which report threads are question threads (per position in `threads.list`).
pub(crate) fn question_threads(
    s: &Scope<'_>,
    threads: &crate::threads::ReportThreads,
) -> Vec<Question> {
    let snap = s.snap;
    if !snap.has_text_scores() {
        return vec![Question::Yes; threads.list.len()];
    }
    // Q&A platforms: a thread with an answer is a question by type.
    let mut answered = vec![false; threads.list.len()];
    let answer = Kind::Answer.code();
    for (slot, &k) in snap.kind.iter().enumerate() {
        if k != answer || !s.admitted(slot) {
            continue;
        }
        let t = snap.thread[slot];
        if t != NONE && threads.index[t as usize] != NONE {
            answered[threads.index[t as usize] as usize] = true;
        }
    }
    threads
        .list
        .iter()
        .zip(answered)
        .map(|(th, answered)| {
            let op = th.op as usize;
            let flags = snap.text_flags(op);
            if answered || (flags & T_SCORED != 0 && snap.text_intents(op) & QUESTION != 0) {
                Question::Yes
            } else if flags & T_SCORED != 0 {
                Question::No
            } else {
                Question::Unclassified
            }
        })
        .collect()
}

const QUESTION: u16 = Intent::Question.bit();
const THANKS: u16 = Intent::Thanks.bit();

/// A thread's earliest resolution: (time, by the asker's thanks rather than a solution).
pub(crate) type Resolution = Option<(i64, bool)>;

/// The earliest resolution of each report thread by as-of (whether or not it is a question
/// thread): a `solution` at or after the opening post, or the asker's thanks at or after the
/// first response. **Extension point** for further signals (a platform's *solved* mark, if an
/// importer ever records one without a solution); the `resolving` CTE of the reference SQL is
/// its counterpart.
pub(crate) fn resolutions(
    s: &Scope<'_>,
    threads: &crate::threads::ReportThreads,
    first: &[crate::threads::FirstResponse],
) -> Vec<Resolution> {
    let snap = s.snap;
    let mut solved: Vec<Option<i64>> = vec![None; threads.list.len()];
    let mut thanked: Vec<Option<i64>> = vec![None; threads.list.len()];
    let solution = Kind::Solution.code();
    let text = snap.has_text_scores();
    // A solution counts at or after its thread's opening post, a thanks at or after the first
    // response: nothing before the earliest of those.
    let from = (threads.list.iter().zip(first))
        .map(|(th, f)| f.map_or(th.op_ts, |(ts, _, _)| ts.min(th.op_ts)))
        .min()
        .unwrap_or(i64::MAX);
    for slot in s.admitted_slots_from(from) {
        let k = snap.kind[slot];
        let is_solution = k == solution;
        let thanks = text
            && !is_solution
            && snap.text_flags(slot) & T_SCORED != 0
            && snap.text_intents(slot) & THANKS != 0
            && crate::metrics::sentiment::is_message(k);
        if !(is_solution || thanks) {
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
        let i = i as usize;
        let th = threads.list[i];
        let ts = snap.ts[slot];
        let earliest = if is_solution {
            if ts < th.op_ts {
                continue;
            }
            &mut solved[i]
        } else {
            // The asker thanks a helper: after someone else responded.
            let helped = first[i].is_some_and(|(first_ts, _, _)| ts >= first_ts);
            if slot == th.op as usize || snap.member_of(slot) != th.author || !helped {
                continue;
            }
            &mut thanked[i]
        };
        if earliest.is_none_or(|x| ts < x) {
            *earliest = Some(ts);
        }
    }
    solved
        .into_iter()
        .zip(thanked)
        .map(|(solution, thanks)| match (solution, thanks) {
            (Some(a), Some(b)) => Some((a.min(b), false)),
            (Some(a), None) => Some((a, false)),
            (None, Some(b)) => Some((b, true)),
            (None, None) => None,
        })
        .collect()
}

fn compute(s: &Scope<'_>) -> MetricValue {
    let snap = s.snap;
    let (threads, _) = crate::threads::report_first_responses(s);
    let kinds = question_threads(s, threads);
    // The report's threads are among those `conversation_quality` summarises, with their
    // resolutions found in the same shared pass.
    let shared = crate::metrics::conversation_quality::conversations(s);
    let resolved_at: Vec<Resolution> = threads
        .list
        .iter()
        .map(|th| {
            let i = shared.threads.index[snap.thread[th.op as usize] as usize];
            shared.resolved.get(i as usize).copied().flatten()
        })
        .collect();
    let mut times = Vec::new();
    let (mut total, mut pending, mut by_thanks, mut not_questions, mut unclassified) =
        (0i64, 0i64, 0i64, 0i64, 0i64);
    for ((th, r), q) in threads.list.iter().zip(&resolved_at).zip(&kinds) {
        match q {
            Question::Yes => {}
            Question::No => {
                not_questions += 1;
                continue;
            }
            Question::Unclassified => {
                unclassified += 1;
                continue;
            }
        }
        total += 1;
        let op_ts = th.op_ts;
        match r {
            Some((ts, thanks)) => {
                times.push(ts - op_ts);
                by_thanks += i64::from(*thanks);
            }
            None if op_ts > s.p.as_of - 30 * 86_400 => pending += 1,
            None => {}
        }
    }
    times.sort_unstable();
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
            "not_questions",
            "unclassified",
            "resolved_by_thanks",
        ],
    );
    table.push(vec![
        if snap.has_text_scores() {
            QUESTION_THREADS
        } else {
            EVERY_THREAD
        }
        .into(),
        Cell::Int(total),
        Cell::Int(pending),
        Cell::Int(resolved),
        Cell::Int(total - pending - resolved),
        share(resolved, total - pending).into(),
        nearest_rank(&times, 1, 2).into(),
        nearest_rank(&times, 9, 10).into(),
        Cell::Int(i64::from(resolved < SMALL_SAMPLE)),
        Cell::Int(not_questions),
        Cell::Int(unclassified),
        Cell::Int(by_thanks),
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
    use crate::testkit::{Community, Said, at};

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
            Some(&Cell::Text(EVERY_THREAD.into())),
            "without text scores every thread counts"
        );
        assert_eq!(t.rows[0][1..5], [5, 1, 3, 1].map(Cell::Int));
        assert_eq!(t.get(0, "resolved_share"), Some(&Cell::Real(0.75)));
        assert_eq!(t.rows[0][6..], [7_200, 86_400, 1, 0, 0, 0].map(Cell::Int));
    }

    // Range Jan 2024, as-of Feb 10, with text scores:
    // - q1 (ann, Jan 2 10:00, a question): bob replies 10:30, ann replies "thanks, that
    //   worked" 11:00 → resolved by thanks after 3,600 s;
    // - q2 (cat, Jan 3 10:00, a question): cat thanks at 10:10 *before* anyone responded
    //   (thanks in a follow-up, no helper yet), dan replies 12:00, no thanks after → not
    //   resolved; opened 38 days before as-of → unresolved;
    // - q3 (eve, Jan 4 10:00, a question): fay answers 11:00, gus (not the asker) says thanks
    //   11:30 → not a resolution; a solution at 13:00 → resolved by solution after 10,800 s;
    // - n1 (hal, Jan 5, an announcement): not a question thread;
    // - u1 (ivy, Jan 6, German, unscored as other language): unclassified;
    // - a1 (jon, Jan 7 08:00, no question intent) has an `answer` by kim 09:00 → a question
    //   by type; jon's thanks 09:30 → resolved by thanks after 5,400 s.
    // threads 4 (q1, q2, q3, a1), pending 0, resolved 3, unresolved 1, share 0.75; times
    // 3,600 / 5,400 / 10,800: median ⌈1.5⌉ = 2nd = 5,400, p90 ⌈2.7⌉ = 3rd = 10,800;
    // not_questions 1, unclassified 1, resolved_by_thanks 2 (q1, a1).
    #[test]
    fn the_asker_thanking_a_helper_resolves_a_question_thread() {
        let mut c = Community::new();
        let q1 = c.post("ann", at("2024-01-02T10:00:00Z"), "q1");
        c.say(&q1, Said::new(0, &[Intent::Question]));
        c.reply("bob", at("2024-01-02T10:30:00Z"), "q1");
        let t1 = c.reply("ann", at("2024-01-02T11:00:00Z"), "q1");
        c.say(&t1, Said::new(6_000, &[Intent::Thanks]));
        let q2 = c.post("cat", at("2024-01-03T10:00:00Z"), "q2");
        c.say(&q2, Said::new(0, &[Intent::Question]));
        let early = c.reply("cat", at("2024-01-03T10:10:00Z"), "q2");
        c.say(&early, Said::new(4_000, &[Intent::Thanks]));
        c.reply("dan", at("2024-01-03T12:00:00Z"), "q2");
        let q3 = c.post("eve", at("2024-01-04T10:00:00Z"), "q3");
        c.say(&q3, Said::new(0, &[Intent::Question]));
        let a3 = c.answer("fay", at("2024-01-04T11:00:00Z"), "q3");
        let other = c.reply("gus", at("2024-01-04T11:30:00Z"), "q3");
        c.say(&other, Said::new(5_000, &[Intent::Thanks]));
        c.solution("fay", at("2024-01-04T13:00:00Z"), "q3", &a3);
        let n1 = c.post("hal", at("2024-01-05T10:00:00Z"), "n1");
        c.say(&n1, Said::new(2_000, &[Intent::Announcement]));
        let u1 = c.post("ivy", at("2024-01-06T10:00:00Z"), "u1");
        c.say(&u1, Said::other_language());
        let p1 = c.post("jon", at("2024-01-07T08:00:00Z"), "a1");
        c.say(&p1, Said::new(0, &[]));
        c.answer("kim", at("2024-01-07T09:00:00Z"), "a1");
        let t4 = c.reply("jon", at("2024-01-07T09:30:00Z"), "a1");
        c.say(&t4, Said::new(5_000, &[Intent::Thanks]));
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
        assert_eq!(t.rows[0][1..5], [4, 0, 3, 1].map(Cell::Int));
        assert_eq!(t.get(0, "resolved_share"), Some(&Cell::Real(0.75)));
        assert_eq!(t.rows[0][6..], [5_400, 10_800, 1, 1, 1, 2].map(Cell::Int));
    }

    #[test]
    fn agrees_with_reference_sql() {
        crate::testkit::check_oracle(&METRIC, 128);
    }
}
