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
    // Bit per slot: the opening posts of these threads. Most replies answer something that is
    // not one; this tells so without a look at the target's thread (a reply naming the opening
    // post of another thread responds only to a thread of the list).
    let mut is_op = vec![0u64; snap.slots().div_ceil(64)];
    for th in &threads.list {
        is_op[th.op as usize / 64] |= 1 << (th.op % 64);
    }
    // Whole words of older activity are passed over unread (most replies, for a recent
    // `from`).
    for r in s.replies_from(from) {
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
/// i.e. not team at the time). `from` is at or after the cutoff: [`first_posts`] lists no
/// older thread.
pub fn responses_opened_between(s: &Scope<'_>, from: i64, to: i64) -> (i64, i64) {
    let all = first_posts(s);
    debug_assert!(
        from >= all.responses_from,
        "responses asked for threads opened before the cutoff"
    );
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

/// The counted threads opened at or after [`FirstPosts::responses_from`] (up to as-of), with
/// their responses and first response, and the **first post** of each member who arrived
/// since then: their earliest counted opening post (by time, then id). Every metric asks
/// about threads opened since then (the report range, the health index's windows, the 30-day
/// queues) and about first posts of members whose first participation is since then (the
/// report's cohorts and newcomers), so older threads are not listed.
pub struct FirstPosts {
    pub threads: ReportThreads,
    /// Per dense member: the position of their first post in `threads.list`; `NONE` when
    /// they have none, [`EARLIER`] when their first participation is before `responses_from`.
    of_member: Vec<u32>,
    /// The earliest opening time listed (see [`responses_cutoff`]).
    pub responses_from: i64,
    /// Per position in `threads.list`: its first response.
    first: Vec<FirstResponse>,
    /// Per position in `threads.list`: its responses, and those by members not team at the
    /// time.
    responses: Vec<[u32; 2]>,
}

/// [`FirstPosts::of_member`] of a member who participated before the cutoff: their first post
/// may be older than the listed threads.
const EARLIER: u32 = NONE - 1;

impl FirstPosts {
    /// The first response of the thread at position `i`.
    pub fn first(&self, i: usize) -> FirstResponse {
        self.first[i]
    }

    /// The responses to the thread at position `i`, and those by community members.
    pub fn responses(&self, i: usize) -> [u32; 2] {
        self.responses[i]
    }

    /// Member `m`'s first post: (opening post slot, first response). Asked only for members
    /// whose first participation is at or after `responses_from` (newcomers, the report's
    /// cohorts): a first post is a participation, never before the member's first one.
    pub fn of(&self, m: usize) -> Option<(u32, FirstResponse)> {
        let i = *self.of_member.get(m)?;
        debug_assert!(
            i != EARLIER,
            "first post asked for a member who participated before the cutoff"
        );
        (i < EARLIER).then(|| (self.threads.list[i as usize].op, self.first(i as usize)))
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

/// The threads opened since the cutoff, their first responses and the newcomers' first
/// posts, computed once per scope.
pub fn first_posts<'s>(s: &'s Scope<'_>) -> &'s FirstPosts {
    s.first_posts.get_or_init(|| {
        let snap = s.snap;
        let from = responses_cutoff(s);
        let threads = threads_opened_between(s, from, i64::MAX);
        // One pass over the responses serves every conversation and newcomer metric.
        let mut first: Vec<FirstResponse> = vec![None; threads.list.len()];
        let mut responses = vec![[0u32; 2]; threads.list.len()];
        for_each_response_from(s, &threads, from, |i, r, m| {
            let key = (snap.ts[r], snap.ids_of(r as u32));
            let team = s.is_team_at(m as usize, snap.ts[r]);
            if first[i].is_none_or(|(ts, id, _)| key < (ts, id)) {
                first[i] = Some((key.0, key.1, team));
            }
            responses[i][0] += 1;
            responses[i][1] += u32::from(!team);
        });
        let mut of_member = vec![NONE; s.members()];
        for (m, of) in of_member.iter_mut().enumerate() {
            if s.participations(m).0.first().is_some_and(|&t| t < from) {
                *of = EARLIER;
            }
        }
        for (i, th) in threads.list.iter().enumerate() {
            let slot = &mut of_member[th.author as usize];
            if *slot == EARLIER {
                continue;
            }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{Community, at, day_params};

    /// June 2024, as-of the last activity (June 12): the cutoff is 121 days before as-of
    /// (February 12), earlier than the 32 days before the range. Cat's thread of January is
    /// older and not listed; her June thread is. Ann reacted in January but first
    /// participated in June: her first post is her June thread, with Bob's reply as its
    /// first response.
    #[test]
    fn first_posts_list_the_threads_since_the_cutoff_and_the_newcomers_first_posts() {
        let mut c = Community::new();
        c.react("ann", at("2024-01-05T09:00:00Z"));
        c.post("cat", at("2024-01-10T09:00:00Z"), "old");
        c.post("ann", at("2024-06-10T09:00:00Z"), "a");
        c.reply("bob", at("2024-06-11T09:00:00Z"), "a");
        c.post("cat", at("2024-06-12T09:00:00Z"), "new");
        let snap = c.snapshot();
        let s = Scope::new(&snap, &day_params("2024-06-01", "2024-06-30")).unwrap();
        let posts = first_posts(&s);
        assert_eq!(
            posts.responses_from,
            at("2024-06-12T09:00:00Z") - 121 * 86_400
        );
        let opened: Vec<i64> = posts.threads.list.iter().map(|t| t.op_ts).collect();
        assert_eq!(
            opened,
            [at("2024-06-10T09:00:00Z"), at("2024-06-12T09:00:00Z")]
        );
        let ann = s.slot_member[posts.threads.list[0].op as usize] as usize;
        let (op, first) = posts.of(ann).expect("ann's first post");
        assert_eq!(snap.ts[op as usize], at("2024-06-10T09:00:00Z"));
        assert_eq!(first.map(|f| f.0), Some(at("2024-06-11T09:00:00Z")));
        assert_eq!(posts.responses(0), [1, 1]);
        assert_eq!(posts.first(1), None);
    }
}
