//! Conversation quality per thread (SPEC §4.4): a transparent 0–100 score from seven
//! components (kith-text's `conversation_quality`), reported as a distribution with the
//! components visible; [`thread_summaries`] gives each thread's inputs for views.

use kith_model::Kind;
use kith_text::{ConversationQuality, ThreadSummary, conversation_quality};

use crate::metric::{Cell, MetricDef, MetricValue, Reference, SMALL_SAMPLE, Table, share};
use crate::scope::Scope;
use crate::snapshot::{NONE, T_HOSTILE, T_SCORED};

pub const METRIC: MetricDef = MetricDef {
    name: "conversation_quality",
    title: "Conversation quality per thread",
    definition: DEFINITION,
    reference: Reference::Sql(REFERENCE_SQL),
    compute,
};

const DEFINITION: &str = "\
**Threads**: those of [`first_response`](#first_response) (opening post counted and in the
report range), except open threads (no response yet and opened less than 30 days before
as-of: too early to judge). **Messages** of a thread: its opening post and every post, reply
or answer at or after it, in the thread or replying to its opening post, by a human (bots never
count), live and in scope by as-of.

Each thread scores 0–100 as the sum of seven components, value (0–1) × weight:
- `answered` (25): 1 when it has a first response (SPEC §4.0).
- `time_to_first_response` (15): 1 within 1 h, 0.75 within 4 h, 0.5 within 24 h, 0.25 within
  72 h, else 0 (0 without a response).
- `resolved` (20): 1 when resolved as in [`resolution`](#resolution) (a solution, or the asker
  thanking a helper), whether or not the thread is a question.
- `participants` (10): distinct people among the messages (each author-less message is its own
  person): 1 → 0, 2 → 0.5, 3 or more → 1.
- `reciprocity` (10): changes of speaker between consecutive messages (by time, then id), `/ 3`,
  at most 1 (A → B → A is two turns).
- `sentiment` (10): `(1 + mean) / 2` of the mean stored sentiment of the scored messages (0.5
  when none is scored).
- `civility` (10): `1 − 5 × hostile / messages`, at least 0 (a fifth or more hostile messages:
  0), counting messages kith-text found hostile. Moderation actions are not imported yet.

Tables: `summary` (`threads`, the nearest-rank `median`, `p10` and `p90` of the scores,
`small_sample` when fewer than 30 threads); `distribution` (threads per band of 20 points,
`80-100` including 100, with their share); `components` (per component, the threads with full
marks, partial marks and none). Views show a thread's own components (the same function).";

const REFERENCE_SQL: &str = concat!(
    "WITH ",
    crate::scope_ctes!(),
    ",
",
    crate::opening_post_cte!(),
    crate::quality_ctes!(),
    "ranked AS (
  SELECT score, ROW_NUMBER() OVER (ORDER BY score) AS rn, COUNT(*) OVER () AS n FROM q
)
SELECT COUNT(*) AS threads,
       MIN(CASE WHEN 2 * rn >= n THEN score END) AS median,
       MIN(CASE WHEN 10 * rn >= n THEN score END) AS p10,
       MIN(CASE WHEN 10 * rn >= 9 * n THEN score END) AS p90,
       CASE WHEN COUNT(*) < 30 THEN 1 ELSE 0 END AS small_sample
FROM ranked;
WITH ",
    crate::scope_ctes!(),
    ",
",
    crate::opening_post_cte!(),
    crate::quality_ctes!(),
    "bands AS (
  SELECT 0 AS b, '0-19' AS band UNION ALL SELECT 1, '20-39' UNION ALL SELECT 2, '40-59'
  UNION ALL SELECT 3, '60-79' UNION ALL SELECT 4, '80-100'
),
banded AS (
  SELECT CASE WHEN score < 20 THEN 0 WHEN score < 40 THEN 1 WHEN score < 60 THEN 2
              WHEN score < 80 THEN 3 ELSE 4 END AS b
  FROM q
),
total AS (SELECT COUNT(*) AS n FROM q)
SELECT bands.band, COUNT(banded.b) AS threads,
       CASE WHEN MIN(total.n) = 0 THEN NULL ELSE 1.0 * COUNT(banded.b) / MIN(total.n) END AS share
FROM bands CROSS JOIN total LEFT JOIN banded ON banded.b = bands.b
GROUP BY bands.b, bands.band
ORDER BY bands.b;
WITH ",
    crate::scope_ctes!(),
    ",
",
    crate::opening_post_cte!(),
    crate::quality_ctes!(),
    "names AS (
  SELECT 0 AS ord, 'answered' AS component, 25 AS weight
  UNION ALL SELECT 1, 'time_to_first_response', 15 UNION ALL SELECT 2, 'resolved', 20
  UNION ALL SELECT 3, 'participants', 10 UNION ALL SELECT 4, 'reciprocity', 10
  UNION ALL SELECT 5, 'sentiment', 10 UNION ALL SELECT 6, 'civility', 10
),
parts AS (
  SELECT n.ord,
         CASE n.ord WHEN 0 THEN q.answered WHEN 1 THEN q.ttfr WHEN 2 THEN q.resolved
                    WHEN 3 THEN q.participants WHEN 4 THEN q.reciprocity
                    WHEN 5 THEN q.sentiment ELSE q.civility END AS v
  FROM q CROSS JOIN names n
)
SELECT n.component, n.weight,
       COALESCE(SUM(CASE WHEN p.v = 1 THEN 1 ELSE 0 END), 0) AS full_marks,
       COALESCE(SUM(CASE WHEN p.v > 0 AND p.v < 1 THEN 1 ELSE 0 END), 0) AS partial,
       COALESCE(SUM(CASE WHEN p.v = 0 THEN 1 ELSE 0 END), 0) AS none
FROM names n LEFT JOIN parts p ON p.ord = n.ord
GROUP BY n.ord, n.component, n.weight
ORDER BY n.ord"
);

/// The CTEs every statement of the reference SQL shares, after `scope_ctes!()` and
/// `opening_post_cte!()`: `thr` (the threads), `q` (one row per thread with its component
/// values and `score`). Expands to a string literal ending in `,`.
#[macro_export]
macro_rules! quality_ctes {
    () => {
        "thr0 AS (
  SELECT op.thread_id, op.id AS op_id, op.ts AS op_ts, op.member_id AS author
  FROM op JOIN counted c ON c.id = op.id
  WHERE op.ts >= :from_ts AND op.ts < :to_ts
),
fr AS (
  SELECT t.thread_id, MIN(r.ts) AS first_ts
  FROM thr0 t JOIN act r ON (r.thread_id = t.thread_id OR r.reply_to_id = t.op_id)
  WHERE r.kind IN ('reply', 'answer') AND r.bot = 0 AND r.member_id <> t.author AND r.ts >= t.op_ts
  GROUP BY t.thread_id
),
thr AS (
  SELECT t.thread_id, t.op_id, t.op_ts, t.author, fr.first_ts
  FROM thr0 t LEFT JOIN fr ON fr.thread_id = t.thread_id
  WHERE fr.first_ts IS NOT NULL OR t.op_ts <= :as_of - 30 * 86400
),
resolving AS (
  SELECT t.thread_id FROM thr t JOIN act a ON a.thread_id = t.thread_id
  WHERE a.kind = 'solution' AND a.ts >= t.op_ts
  UNION ALL
  SELECT t.thread_id FROM thr t JOIN act a ON a.thread_id = t.thread_id
  JOIN text_scores s ON s.activity_id = a.id
  WHERE t.first_ts IS NOT NULL AND a.member_id = t.author AND a.id <> t.op_id
    AND a.kind IN ('post', 'reply', 'answer', 'feedback')
    AND s.scored = 1 AND (s.intents & 4) <> 0 AND a.ts >= t.first_ts
),
msgs AS (
  SELECT t.thread_id, a.id, a.ts, a.member_id, s.scored, s.sentiment, s.hostile
  FROM thr t JOIN act a ON (a.thread_id = t.thread_id OR a.reply_to_id = t.op_id)
  LEFT JOIN text_scores s ON s.activity_id = a.id
  WHERE a.kind IN ('post', 'reply', 'answer') AND a.bot = 0 AND a.ts >= t.op_ts
),
turns AS (
  SELECT thread_id, member_id,
         LAG(member_id) OVER (PARTITION BY thread_id ORDER BY ts, id) AS prev
  FROM msgs
),
per AS (
  SELECT t.thread_id, t.op_ts, t.first_ts, COUNT(m.id) AS messages,
         COUNT(DISTINCT m.member_id) AS people,
         AVG(CASE WHEN m.scored = 1 THEN m.sentiment END) AS mean_sentiment,
         COALESCE(SUM(CASE WHEN m.scored = 1 AND m.hostile = 1 THEN 1 ELSE 0 END), 0) AS hostile
  FROM thr t LEFT JOIN msgs m ON m.thread_id = t.thread_id
  GROUP BY t.thread_id, t.op_ts, t.first_ts
),
tn AS (SELECT thread_id, COUNT(*) AS turns FROM turns WHERE prev <> member_id GROUP BY thread_id),
rs AS (SELECT DISTINCT thread_id FROM resolving),
val AS (
  SELECT p.thread_id,
         CASE WHEN p.first_ts IS NULL THEN 0.0 ELSE 1.0 END AS answered,
         CASE WHEN p.first_ts IS NULL THEN 0.0
              WHEN p.first_ts - p.op_ts <= 3600 THEN 1.0
              WHEN p.first_ts - p.op_ts <= 14400 THEN 0.75
              WHEN p.first_ts - p.op_ts <= 86400 THEN 0.5
              WHEN p.first_ts - p.op_ts <= 259200 THEN 0.25
              ELSE 0.0 END AS ttfr,
         CASE WHEN rs.thread_id IS NULL THEN 0.0 ELSE 1.0 END AS resolved,
         CASE WHEN p.people <= 1 THEN 0.0 WHEN p.people = 2 THEN 0.5 ELSE 1.0 END AS participants,
         (CASE WHEN COALESCE(tn.turns, 0) > 3 THEN 3 ELSE COALESCE(tn.turns, 0) END) / 3.0 AS reciprocity,
         CASE WHEN p.mean_sentiment IS NULL THEN 0.5
              ELSE (1.0 + p.mean_sentiment / 10000.0) / 2.0 END AS sentiment,
         CASE WHEN p.messages = 0 THEN 1.0
              WHEN 1.0 - (1.0 * p.hostile / p.messages) * 5.0 < 0 THEN 0.0
              ELSE 1.0 - (1.0 * p.hostile / p.messages) * 5.0 END AS civility
  FROM per p LEFT JOIN tn ON tn.thread_id = p.thread_id LEFT JOIN rs ON rs.thread_id = p.thread_id
),
q AS (
  SELECT v.*,
         25.0 * answered + 15.0 * ttfr + 20.0 * resolved + 10.0 * participants
           + 10.0 * reciprocity + 10.0 * sentiment + 10.0 * civility AS score
  FROM val v
),
"
    };
}

/// The threads of the report range and of the health index's four 30-day windows, computed
/// once per scope with their first responses and resolutions (which `resolution` and the
/// health index read too) and the summaries of those two metrics score: the report's threads
/// not open at as-of (this metric) and the window threads opened at least 7 days before as-of.
/// A thread's summary depends on the thread alone, not on which others are summarised with
/// it, so one pass over the messages serves both.
pub struct Conversations {
    /// The threads of [`crate::threads::first_posts`] opened in the report range or in the
    /// health index's windows, in its order (dense thread id).
    pub threads: crate::threads::ReportThreads,
    /// Parallel to `threads.list`: the first response.
    pub first: Vec<crate::threads::FirstResponse>,
    /// Parallel to `threads.list`: when and how the thread was resolved (`resolution`'s
    /// definition; that metric reads its report threads' here too).
    pub resolved: Vec<crate::metrics::resolution::Resolution>,
    /// Parallel to `threads.list`: the summary, for the threads either metric covers.
    pub summaries: Vec<Option<ThreadSummary>>,
}

/// Whether this metric covers a report thread: not open at as-of (answered, or opened at
/// least 30 days before as-of).
fn covers(s: &Scope<'_>, op_ts: i64, first: crate::threads::FirstResponse) -> bool {
    first.is_some() || op_ts <= s.p.as_of - 30 * 86_400
}

/// [`Conversations`] of the scope, computed once.
pub fn conversations<'s>(s: &'s Scope<'_>) -> &'s Conversations {
    s.conversations.get_or_init(|| {
        let all = crate::threads::first_posts(s);
        let in_report = |ts: i64| ts >= s.p.from_ts && ts < s.p.to_ts;
        let mut threads = crate::threads::ReportThreads {
            index: vec![NONE; all.threads.index.len()],
            list: Vec::new(),
        };
        let (mut first, mut covered) = (Vec::new(), Vec::new());
        for (t, &i) in all.threads.index.iter().enumerate() {
            if i == NONE {
                continue;
            }
            let th = all.threads.list[i as usize];
            let (report, health) = (
                in_report(th.op_ts),
                crate::metrics::health_index::in_windows(s, th.op_ts),
            );
            if !(report || health) {
                continue;
            }
            let f = all.first(i as usize);
            threads.index[t] = threads.list.len() as u32;
            threads.list.push(th);
            first.push(f);
            covered.push(
                (report && covers(s, th.op_ts, f))
                    || (health && crate::metrics::health_index::settled(s, th.op_ts)),
            );
        }
        let resolved = crate::metrics::resolution::resolutions(s, &threads, &first);
        let summaries = summaries(s, &threads, &first, &resolved, &covered);
        Conversations {
            threads,
            first,
            resolved,
            summaries,
        }
    })
}

/// What the score needs, for every thread the metric covers: (thread store id, summary), in
/// the order of the report's threads (opening time, then id).
pub fn thread_summaries(s: &Scope<'_>) -> Vec<(i64, ThreadSummary)> {
    let snap = s.snap;
    let (threads, first) = crate::threads::report_first_responses(s);
    let shared = conversations(s);
    threads
        .list
        .iter()
        .zip(first)
        .filter(|(th, f)| covers(s, th.op_ts, **f))
        .filter_map(|(th, _)| {
            let thread = snap.thread[th.op as usize];
            let i = shared.threads.index[thread as usize];
            let summary = shared.summaries.get(i as usize).copied().flatten()?;
            Some((snap.thread_store_id(thread), summary))
        })
        .collect()
}

/// The summary of each of `threads` that `covered` marks (`None` for the others), in their
/// order, given their first responses and resolutions (for [`conversations`]).
fn summaries(
    s: &Scope<'_>,
    threads: &crate::threads::ReportThreads,
    first: &[crate::threads::FirstResponse],
    resolved: &[crate::metrics::resolution::Resolution],
    covered: &[bool],
) -> Vec<Option<ThreadSummary>> {
    let snap = s.snap;
    let n = threads.list.len();
    // Each covered thread's messages: (thread position, (ts, store id, member, slot)) in slot
    // order, then grouped by thread below (one vector, not one per thread).
    let mut found: Vec<(u32, (i64, i64, u32, u32))> = Vec::new();
    let (post, reply, answer) = (Kind::Post.code(), Kind::Reply.code(), Kind::Answer.code());
    // A message counts at or after its thread's opening post: nothing before the earliest.
    let from = (threads.list.iter().zip(covered))
        .filter(|(_, c)| **c)
        .map(|(th, _)| th.op_ts)
        .min()
        .unwrap_or(i64::MAX);
    found.reserve(s.admitted_bound_from(from));
    for slot in s.admitted_slots_from(from) {
        let k = snap.kind[slot];
        if k != post && k != reply && k != answer {
            continue;
        }
        let m = snap.member_of(slot);
        if s.is_bot(m as usize) {
            continue;
        }
        let ts = snap.ts[slot];
        let own = snap.thread[slot];
        let mut offer = |t: u32| {
            let i = threads.index[t as usize];
            if i == NONE || !covered[i as usize] {
                return;
            }
            let th = threads.list[i as usize];
            if ts >= th.op_ts {
                found.push((i, (ts, snap.ids_of(slot as u32), m, slot as u32)));
            }
        };
        if own != NONE {
            offer(own);
        }
        let target = snap.reply_to[slot];
        if target != NONE {
            let tt = snap.thread[target as usize];
            if tt != NONE && tt != own && snap.thread_op[tt as usize] == target {
                offer(tt);
            }
        }
    }
    // Grouped by thread with a counting sort that keeps slot order within a thread.
    let mut start = vec![0u32; n + 1];
    for &(i, _) in &found {
        start[i as usize + 1] += 1;
    }
    for i in 0..n {
        start[i + 1] += start[i];
    }
    let mut fill = start.clone();
    let mut messages = vec![(0i64, 0i64, 0u32, 0u32); found.len()];
    for &(i, msg) in &found {
        messages[fill[i as usize] as usize] = msg;
        fill[i as usize] += 1;
    }
    drop(found);
    let mut out = Vec::with_capacity(n);
    let mut people: Vec<u32> = Vec::new();
    for (i, th) in threads.list.iter().enumerate() {
        if !covered[i] {
            out.push(None);
            continue;
        }
        let list = &mut messages[start[i] as usize..start[i + 1] as usize];
        list.sort_unstable_by_key(|&(ts, id, _, _)| (ts, id));
        let turns = list.windows(2).filter(|w| w[0].2 != w[1].2).count() as u32;
        people.clear();
        people.extend(list.iter().map(|x| x.2));
        people.sort_unstable();
        people.dedup();
        let (mut sum, mut scored, mut hostile) = (0i64, 0i64, 0u32);
        for &(_, _, _, slot) in list.iter() {
            let flags = snap.text_flags(slot as usize);
            if flags & T_SCORED != 0 {
                scored += 1;
                sum += i64::from(snap.text_sentiment(slot as usize));
                if flags & T_HOSTILE != 0 {
                    hostile += 1;
                }
            }
        }
        let op_ts = th.op_ts;
        out.push(Some(ThreadSummary {
            answered: first[i].is_some(),
            first_response_secs: first[i].map(|(ts, _, _)| u64::try_from(ts - op_ts).unwrap_or(0)),
            resolved: resolved[i].is_some(),
            participants: people.len() as u32,
            reciprocity_turns: turns,
            // The mean as the reference SQL's AVG computes it, then in [-1, 1].
            mean_sentiment: (scored > 0).then(|| sum as f64 / scored as f64 / 10_000.0),
            hostile_messages: hostile,
            messages: list.len() as u32,
        }));
    }
    out
}

/// One thread's score with its components (`None` when the report does not cover it: opened
/// outside the range, still open, or its opening post does not count).
pub fn thread_quality(s: &Scope<'_>, thread_store_id: i64) -> Option<ConversationQuality> {
    thread_summaries(s)
        .into_iter()
        .find(|(id, _)| *id == thread_store_id)
        .map(|(_, t)| conversation_quality(&t))
}

/// A thread's score with its components for a view (the thread page), judged as the metric
/// judges it as of `as_of` (default: the latest activity), whatever report range the page came
/// from: team activity counts (a thread a team member opened has a score too), bots never.
/// `None` when the thread is unknown, has no opening post (it began with another kind of
/// activity, such as a contribution), is still open at as-of, or was opened by a bot.
pub fn quality_of_thread(
    snap: &crate::Snapshot,
    thread_store_id: i64,
    as_of: Option<i64>,
    tz: chrono_tz::Tz,
) -> Result<Option<ConversationQuality>, crate::AnalyticsError> {
    use chrono::TimeZone;
    let Some(t) = (0..snap.threads() as u32).find(|&t| snap.thread_store_id(t) == thread_store_id)
    else {
        return Ok(None);
    };
    let op = snap.thread_op[t as usize];
    if op == NONE || as_of.is_some_and(|a| a < snap.ts[op as usize]) {
        return Ok(None);
    }
    let Some(day) = tz
        .timestamp_opt(snap.ts[op as usize], 0)
        .single()
        .map(|d| d.date_naive())
    else {
        return Ok(None);
    };
    let params = crate::Params {
        as_of,
        from: Some(day),
        to: Some(day),
        tz,
        include_team: true,
        ..crate::Params::default()
    };
    let scope = Scope::new(snap, &params)?;
    Ok(thread_quality(&scope, thread_store_id))
}

/// Nearest rank over sorted scores.
pub(crate) fn rank(sorted: &[f64], num: usize, den: usize) -> Option<f64> {
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    let r = (num * n).div_ceil(den).max(1);
    sorted.get(r - 1).copied()
}

fn compute(s: &Scope<'_>) -> MetricValue {
    let scored: Vec<ConversationQuality> = thread_summaries(s)
        .iter()
        .map(|(_, t)| conversation_quality(t))
        .collect();
    let mut scores: Vec<f64> = scored.iter().map(|q| q.score).collect();
    scores.sort_unstable_by(f64::total_cmp);
    let n = scores.len() as i64;

    let mut summary = Table::new(
        "summary",
        &["threads", "median", "p10", "p90", "small_sample"],
    );
    summary.push(vec![
        Cell::Int(n),
        rank(&scores, 1, 2).into(),
        rank(&scores, 1, 10).into(),
        rank(&scores, 9, 10).into(),
        Cell::Int(i64::from(n < SMALL_SAMPLE)),
    ]);

    let mut bands = [0i64; 5];
    for &x in &scores {
        let b = if x < 20.0 {
            0
        } else if x < 40.0 {
            1
        } else if x < 60.0 {
            2
        } else if x < 80.0 {
            3
        } else {
            4
        };
        bands[b] += 1;
    }
    let mut distribution = Table::new("distribution", &["band", "threads", "share"]);
    for (label, count) in ["0-19", "20-39", "40-59", "60-79", "80-100"]
        .iter()
        .zip(bands)
    {
        distribution.push(vec![(*label).into(), count.into(), share(count, n).into()]);
    }

    let mut components = Table::new(
        "components",
        &["component", "weight", "full_marks", "partial", "none"],
    );
    for (i, &(name, weight)) in kith_text::quality::WEIGHTS.iter().enumerate() {
        let (mut full, mut partial, mut none) = (0i64, 0i64, 0i64);
        for q in &scored {
            let v = q.components[i].value;
            if v == 1.0 {
                full += 1;
            } else if v > 0.0 {
                partial += 1;
            } else {
                none += 1;
            }
        }
        components.push(vec![
            name.into(),
            Cell::Int(weight as i64),
            full.into(),
            partial.into(),
            none.into(),
        ]);
    }
    MetricValue {
        metric: METRIC.name,
        tables: vec![summary, distribution, components],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::Params;
    use crate::testkit::{Community, Said, at};
    use kith_store::Store;
    use kith_text::Intent;

    // January 2024, as-of Feb 20 (threads before Jan 21 are no longer open):
    // - t1 (ann, Jan 2 10:00, +0.4): bob replies 10:30 (+0.8), ann replies 11:00 "thanks"
    //   (+0.6) → answered 25; first response 30 min → 15; resolved by thanks → 20; two people
    //   → 5; turns ann→bob→ann = 2 → 2/3 × 10; mean sentiment 0.6 → (1 + 0.6) / 2 × 10 = 8;
    //   no hostility → 10. Score 25 + 15 + 20 + 5 + 6.667 + 8 + 10 = 89.667.
    // - t2 (cat, Jan 3 10:00, unscored): dan replies after 30 h (hostile, −0.9), eve after 31 h
    //   (unscored), a bot replies (never counts) → answered 25; 30 h → 0.25 × 15 = 3.75; not
    //   resolved; three people → 10; turns cat→dan→eve = 2 → 6.667; mean −0.9 → 0.5; one
    //   hostile of three messages → 1 − 5/3 < 0 → 0. Score 25 + 3.75 + 0 + 10 + 6.667 +
    //   0.5 + 0 = 45.917.
    // - t3 (fay, Jan 4, no response, 47 days before as-of): 0 + 0 + 0 + 0 + 0 + 5 + 10 = 15.
    // - t4 (gus, Feb 1): outside the range. t5 (hal, Jan 30, no response): open → left out.
    // Scores 15, 45.917, 89.667: median 2nd = 45.917, p10 1st = 15, p90 3rd = 89.667.
    #[test]
    fn threads_score_from_their_components_and_open_ones_wait() {
        let mut c = Community::new();
        let p1 = c.post("ann", at("2024-01-02T10:00:00Z"), "t1");
        c.say(&p1, Said::new(4_000, &[Intent::Question]));
        let r1 = c.reply("bob", at("2024-01-02T10:30:00Z"), "t1");
        c.say(&r1, Said::new(8_000, &[Intent::Answer]));
        let r2 = c.reply("ann", at("2024-01-02T11:00:00Z"), "t1");
        c.say(&r2, Said::new(6_000, &[Intent::Thanks]));
        c.post("cat", at("2024-01-03T10:00:00Z"), "t2");
        let r3 = c.reply("dan", at("2024-01-04T16:00:00Z"), "t2");
        c.say(&r3, Said::new(-9_000, &[]).hostile());
        c.reply("eve", at("2024-01-04T17:00:00Z"), "t2");
        c.reply("robot", at("2024-01-04T18:00:00Z"), "t2");
        c.bot("robot");
        c.post("fay", at("2024-01-04T10:00:00Z"), "t3");
        c.post("gus", at("2024-02-01T10:00:00Z"), "t4");
        c.post("hal", at("2024-01-30T10:00:00Z"), "t5");
        let snap = c.snapshot();
        let p = Params {
            from: Some("2024-01-01".parse().unwrap()),
            to: Some("2024-01-31".parse().unwrap()),
            as_of: Some(at("2024-02-20T00:00:00Z")),
            ..Params::default()
        };
        let v = crate::compute(&snap, &p, "conversation_quality").unwrap();
        let t1 = 25.0 + 15.0 + 20.0 + 5.0 + 20.0 / 3.0 + 8.0 + 10.0;
        let t2 = 25.0 + 3.75 + 10.0 + 20.0 / 3.0 + 0.5;
        let close = |c: Option<&Cell>, want: f64| {
            let got = c.and_then(Cell::as_f64).unwrap();
            assert!((got - want).abs() < 1e-9, "{got} vs {want}");
        };
        let summary = v.table("summary").unwrap();
        assert_eq!(summary.get(0, "threads"), Some(&Cell::Int(3)));
        close(summary.get(0, "median"), t2);
        close(summary.get(0, "p10"), 15.0);
        close(summary.get(0, "p90"), t1);
        let bands: Vec<&Cell> = v
            .table("distribution")
            .unwrap()
            .rows
            .iter()
            .map(|r| &r[1])
            .collect();
        assert_eq!(
            bands,
            [1, 0, 1, 0, 1].map(Cell::Int).iter().collect::<Vec<_>>()
        );
        let components = v.table("components").unwrap();
        // answered: t1, t2 full, t3 none; sentiment: t1 0.8, t2 0.05, t3 0.5 all partial;
        // civility: t1 and t3 full, t2 none.
        assert_eq!(components.rows[0][2..], [2, 0, 1].map(Cell::Int));
        assert_eq!(components.rows[5][2..], [0, 3, 0].map(Cell::Int));
        assert_eq!(components.rows[6][2..], [2, 0, 1].map(Cell::Int));

        let scope = Scope::new(&snap, &p).unwrap();
        let ids = thread_summaries(&scope);
        let q = thread_quality(&scope, ids[0].0).expect("t1 is covered");
        close(Some(&Cell::Real(q.score)), t1);
        assert_eq!(q.components[2].name, "resolved");
        assert_eq!(q.components[2].points, 20.0);
    }

    // A thread page shows the thread's score whatever the report range: tess (team) opened t1
    // two years before the latest activity, ann replied 20 min later → answered 25, within 1 h
    // 15, not resolved 0, two people 5, one turn 3.333, nothing scored 5, civil 10 = 63.333.
    // t2 is the latest activity itself: unanswered and younger than 30 days, still open → no
    // score; nor for an unknown thread or an as-of before the thread began.
    #[test]
    fn a_thread_page_scores_its_thread_whatever_the_range() {
        let mut c = Community::new();
        let op = c.post("tess", at("2022-03-01T10:00:00Z"), "t1");
        c.reply("ann", at("2022-03-01T10:20:00Z"), "t1");
        c.team("tess", None);
        let late = c.post("bob", at("2024-06-01T00:00:00Z"), "t2");
        let snap = c.snapshot();
        let thread_of = |ext: &str| {
            let mut found = None;
            c.store
                .export_activities(&mut |e| {
                    if e.activity.id == ext {
                        found = Some(e.id.0);
                    }
                    Ok(())
                })
                .unwrap();
            snap.thread_of_activity(found.unwrap()).unwrap()
        };
        let (t1, t2) = (thread_of(&op), thread_of(&late));
        let utc = chrono_tz::UTC;
        let q = quality_of_thread(&snap, t1, None, utc).unwrap().unwrap();
        assert!((q.score - (25.0 + 15.0 + 5.0 + 10.0 / 3.0 + 5.0 + 10.0)).abs() < 1e-9);
        assert_eq!(quality_of_thread(&snap, t2, None, utc).unwrap(), None);
        assert_eq!(quality_of_thread(&snap, -1, None, utc).unwrap(), None);
        let before = Some(at("2022-02-01T00:00:00Z"));
        assert_eq!(quality_of_thread(&snap, t1, before, utc).unwrap(), None);
    }

    #[test]
    fn agrees_with_reference_sql() {
        crate::testkit::check_oracle(&METRIC, 96);
    }
}
