//! Threads and responses as SPEC §4.0 defines them, shared by the conversation metrics
//! (first response, peer support, resolution) and the newcomer metrics (onboarding funnel,
//! response effect, newcomers waiting): which threads a report covers, which activities are
//! responses to them, and each member's first post.

use crate::scope::Scope;
use crate::snapshot::NONE;

/// A thread the report covers: its opening post is counted (in scope, by a member whose
/// activity counts) and falls in the report range.
#[derive(Debug, Clone, Copy)]
pub struct ReportThread {
    /// Slot of the opening post.
    pub op: u32,
    /// Dense member who opened it.
    pub author: u32,
    /// When it was opened (the opening post's time), kept here: the passes over responses
    /// compare it for every response.
    pub op_ts: i64,
}

/// The report's threads, and a map from dense thread id to their position (`NONE` if not
/// covered).
pub struct ReportThreads {
    pub index: Vec<u32>,
    pub list: Vec<ReportThread>,
}

/// Threads whose opening post is counted and at `from <= ts < to`.
pub fn threads_opened_between(s: &Scope<'_>, from: i64, to: i64) -> ReportThreads {
    let snap = s.snap;
    let mut index = vec![NONE; snap.threads()];
    let mut list = Vec::new();
    for (t, &op) in snap.thread_op.iter().enumerate() {
        if op == NONE {
            continue;
        }
        let o = op as usize;
        if !s.counted(o) || snap.ts[o] < from || snap.ts[o] >= to {
            continue;
        }
        index[t] = list.len() as u32;
        list.push(ReportThread {
            op,
            // A counted slot is admitted: the scope's column holds its author.
            author: s.slot_member[o],
            op_ts: snap.ts[o],
        });
    }
    ReportThreads { index, list }
}

/// Calls `f(thread position, response slot, responder)` for every response to a report
/// thread: a reply or answer in scope, in the thread or naming its opening post, by a human
/// (never a bot) other than the author, at or after the opening post.
pub fn for_each_response(s: &Scope<'_>, threads: &ReportThreads, f: impl FnMut(usize, usize, u32)) {
    for_each_response_from(s, threads, i64::MIN, f);
}

/// [`for_each_response`] when every thread opened at or after `from`: earlier replies are
/// passed over without a look at their threads (a response is never before its thread).
pub fn for_each_response_from(
    s: &Scope<'_>,
    threads: &ReportThreads,
    from: i64,
    mut f: impl FnMut(usize, usize, u32),
) {
    if threads.list.is_empty() {
        return;
    }
    let snap = s.snap;
    // Bit per slot: opening posts. Most replies answer something that is not an opening post
    // of another thread; this tells so without a look at the target's thread.
    let mut is_op = vec![0u64; snap.slots().div_ceil(64)];
    for &op in &snap.thread_op {
        if op != NONE {
            is_op[op as usize / 64] |= 1 << (op % 64);
        }
    }
    for &r in &s.reply_slots {
        let r = r as usize;
        if snap.ts[r] < from {
            continue;
        }
        let m = s.slot_member[r];
        let own = snap.thread[r];
        let mut offer = |t: u32| {
            let i = threads.index[t as usize];
            if i == NONE {
                return;
            }
            let th = threads.list[i as usize];
            if m != th.author && snap.ts[r] >= th.op_ts {
                f(i as usize, r, m);
            }
        };
        if own != NONE {
            offer(own);
        }
        // A comment on an opening post counts for that post's thread.
        let target = snap.reply_to[r];
        if target != NONE
            && is_op[target as usize / 64] & (1 << (target % 64)) != 0
            && (own == NONE || snap.thread_op[own as usize] != target)
        {
            let tt = snap.thread[target as usize];
            if tt != NONE && tt != own && snap.thread_op[tt as usize] == target {
                offer(tt);
            }
        }
    }
}

/// A thread's first response: (ts, store id, responder was team), or none.
pub type FirstResponse = Option<(i64, i64, bool)>;

/// The report's threads and their first responses, computed once per scope: the threads of
/// [`first_posts`] opened in the report range, with the first responses found there (a
/// thread's first response does not depend on which other threads a report covers).
pub fn report_first_responses<'s>(s: &'s Scope<'_>) -> &'s (ReportThreads, Vec<FirstResponse>) {
    s.first_responses.get_or_init(|| {
        let all = first_posts(s);
        let snap = s.snap;
        let mut index = vec![NONE; snap.threads()];
        let mut list = Vec::new();
        let mut first = Vec::new();
        for (t, &i) in all.threads.index.iter().enumerate() {
            if i == NONE {
                continue;
            }
            let th = all.threads.list[i as usize];
            let ts = th.op_ts;
            if ts < s.p.from_ts || ts >= s.p.to_ts {
                continue;
            }
            index[t] = list.len() as u32;
            list.push(th);
            first.push(all.first(i as usize));
        }
        (ReportThreads { index, list }, first)
    })
}

/// Over the threads opened in `from <= ts < to`: (responses, responses by community members,
/// i.e. not team at the time).
pub fn responses_opened_between(s: &Scope<'_>, from: i64, to: i64) -> (i64, i64) {
    let all = first_posts(s);
    let mut sum = (0i64, 0i64);
    for (i, th) in all.threads.list.iter().enumerate() {
        let ts = th.op_ts;
        if ts >= from && ts < to {
            let r = all.responses(i);
            sum.0 += i64::from(r[0]);
            sum.1 += i64::from(r[1]);
        }
    }
    sum
}

/// Every counted thread up to as-of (opened at any time) and each member's **first post**:
/// their earliest counted opening post (by time, then id); and for the threads opened at or
/// after [`FirstPosts::responses_from`], their responses and first response.
pub struct FirstPosts {
    pub threads: ReportThreads,
    /// Per dense member: the position of their first post in `threads.list`, or `NONE`.
    pub of_member: Vec<u32>,
    /// The earliest opening time whose responses are known (see [`responses_cutoff`]).
    pub responses_from: i64,
    /// Per position in `threads.list`: its place in `first` and `responses` (`NONE` for a
    /// thread opened before `responses_from`).
    recent: Vec<u32>,
    first: Vec<FirstResponse>,
    /// Per recent thread: its responses, and those by members not team at the time.
    responses: Vec<[u32; 2]>,
}

impl FirstPosts {
    /// The first response of the thread at position `i` (opened at or after
    /// `responses_from`; `None` for an older one).
    pub fn first(&self, i: usize) -> FirstResponse {
        debug_assert!(
            self.threads.list[i].op_ts >= self.responses_from,
            "first response of a thread opened before the cutoff"
        );
        self.first.get(self.recent[i] as usize).copied().flatten()
    }

    /// The responses to the thread at position `i`, and those by community members.
    pub fn responses(&self, i: usize) -> [u32; 2] {
        debug_assert!(self.threads.list[i].op_ts >= self.responses_from);
        self.responses
            .get(self.recent[i] as usize)
            .copied()
            .unwrap_or_default()
    }

    /// Member `m`'s first post: (opening post slot, first response). Asked only for members
    /// whose first participation is at or after `responses_from` (newcomers, the report's
    /// cohorts): a first post is never before the member's first participation.
    pub fn of(&self, m: usize) -> Option<(u32, FirstResponse)> {
        let i = *self.of_member.get(m)?;
        (i != NONE).then(|| (self.threads.list[i as usize].op, self.first(i as usize)))
    }
}

/// The earliest opening time any metric asks a first response for: the report range and the
/// first day of its first calendar month (onboarding cohorts; 32 days before `from` covers
/// any month start in any zone), the health index's four 30-day windows and the 30-day queues
/// before as-of (121 days before as-of covers them). Replies before it are passed over: at
/// 10 M activities and a 90-day report that is most of them.
pub fn responses_cutoff(s: &Scope<'_>) -> i64 {
    const DAY: i64 = 86_400;
    s.p.from_ts
        .saturating_sub(32 * DAY)
        .min(s.p.as_of.saturating_sub(121 * DAY))
}

/// Each member's first post and the first responses, computed once per scope.
pub fn first_posts<'s>(s: &'s Scope<'_>) -> &'s FirstPosts {
    s.first_posts.get_or_init(|| {
        let snap = s.snap;
        let threads = threads_opened_between(s, i64::MIN, i64::MAX);
        let from = responses_cutoff(s);
        // The threads opened since the cutoff, for the one pass over the responses that
        // serves every conversation and newcomer metric.
        let mut recent = ReportThreads {
            index: vec![NONE; threads.index.len()],
            list: Vec::new(),
        };
        let mut recent_of = vec![NONE; threads.list.len()];
        for (t, &i) in threads.index.iter().enumerate() {
            if i != NONE && threads.list[i as usize].op_ts >= from {
                recent.index[t] = recent.list.len() as u32;
                recent_of[i as usize] = recent.list.len() as u32;
                recent.list.push(threads.list[i as usize]);
            }
        }
        let mut first: Vec<FirstResponse> = vec![None; recent.list.len()];
        let mut responses = vec![[0u32; 2]; recent.list.len()];
        for_each_response_from(s, &recent, from, |i, r, m| {
            let key = (snap.ts[r], snap.ids_of(r as u32));
            let team = s.is_team_at(m as usize, snap.ts[r]);
            if first[i].is_none_or(|(ts, id, _)| key < (ts, id)) {
                first[i] = Some((key.0, key.1, team));
            }
            responses[i][0] += 1;
            responses[i][1] += u32::from(!team);
        });
        drop(recent);
        let mut of_member = vec![NONE; s.members()];
        for (i, th) in threads.list.iter().enumerate() {
            let slot = &mut of_member[th.author as usize];
            // Earliest by (time, id): the id is looked up only when the times tie.
            let earlier = *slot == NONE || {
                let other = &threads.list[*slot as usize];
                th.op_ts < other.op_ts
                    || (th.op_ts == other.op_ts && snap.ids_of(th.op) < snap.ids_of(other.op))
            };
            if earlier {
                *slot = i as u32;
            }
        }
        FirstPosts {
            threads,
            of_member,
            responses_from: from,
            recent: recent_of,
            first,
            responses,
        }
    })
}

/// The SQL counterpart of [`first_posts`], as common table expressions after `scope_ctes!()`
/// and `opening_post_cte!()`: `first_post (member_id, anonymous, thread_id, op_id, op_ts,
/// resp_ts)`, one row per member with a counted opening post: their earliest one and the time
/// of its first response (`NULL`: none by as-of). Expands to a string literal ending in `,`.
#[macro_export]
macro_rules! first_post_ctes {
    () => {
        "all_thr AS (
  SELECT op.thread_id, op.id AS op_id, op.ts AS op_ts, op.member_id AS author, c.anonymous
  FROM op JOIN counted c ON c.id = op.id
),
fp AS (
  SELECT thread_id, op_id, op_ts, author, anonymous FROM (
    SELECT t.thread_id, t.op_id, t.op_ts, t.author, t.anonymous,
           ROW_NUMBER() OVER (PARTITION BY t.author ORDER BY t.op_ts, t.op_id) AS rn
    FROM all_thr t
  ) x WHERE rn = 1
),
fp_resp AS (
  SELECT f.author, MIN(r.ts) AS resp_ts
  FROM fp f JOIN act r ON (r.thread_id = f.thread_id OR r.reply_to_id = f.op_id)
  WHERE r.kind IN ('reply', 'answer') AND r.bot = 0 AND r.member_id <> f.author AND r.ts >= f.op_ts
  GROUP BY f.author
),
first_post AS (
  SELECT f.author AS member_id, f.anonymous, f.thread_id, f.op_id, f.op_ts, fr.resp_ts
  FROM fp f LEFT JOIN fp_resp fr ON fr.author = f.author
),
"
    };
}
