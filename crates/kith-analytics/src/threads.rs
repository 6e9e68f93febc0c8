//! Threads and responses as SPEC §4.0 defines them, shared by the conversation metrics
//! (first response, peer support): which threads a report covers, and which activities are
//! responses to them.

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
}

/// The report's threads, and a map from dense thread id to their position (`NONE` if not
/// covered).
pub struct ReportThreads {
    pub index: Vec<u32>,
    pub list: Vec<ReportThread>,
}

pub fn report_threads(s: &Scope<'_>) -> ReportThreads {
    threads_opened_between(s, s.p.from_ts, s.p.to_ts)
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
            author: snap.member_of(o),
        });
    }
    ReportThreads { index, list }
}

/// Calls `f(thread position, response slot, responder)` for every response to a report
/// thread: a reply or answer in scope, in the thread or naming its opening post, by a human
/// (never a bot) other than the author, at or after the opening post.
pub fn for_each_response(
    s: &Scope<'_>,
    threads: &ReportThreads,
    mut f: impl FnMut(usize, usize, u32),
) {
    if threads.list.is_empty() {
        return;
    }
    let snap = s.snap;
    for &r in &s.reply_slots {
        let r = r as usize;
        let m = snap.member_of(r);
        let own = snap.thread[r];
        let mut offer = |t: u32| {
            let i = threads.index[t as usize];
            if i == NONE {
                return;
            }
            let th = threads.list[i as usize];
            if m != th.author && snap.ts[r] >= snap.ts[th.op as usize] {
                f(i as usize, r, m);
            }
        };
        if own != NONE {
            offer(own);
        }
        // A comment on an opening post counts for that post's thread.
        let target = snap.reply_to[r];
        if target != NONE {
            let tt = snap.thread[target as usize];
            if tt != NONE && tt != own && snap.thread_op[tt as usize] == target {
                offer(tt);
            }
        }
    }
}

/// A thread's first response: (ts, store id, responder was team), or none.
pub type FirstResponse = Option<(i64, i64, bool)>;

/// The report's threads and their first responses, computed once per scope.
pub fn report_first_responses<'s>(s: &'s Scope<'_>) -> &'s (ReportThreads, Vec<FirstResponse>) {
    s.first_responses.get_or_init(|| {
        let threads = report_threads(s);
        let first = first_responses(s, &threads);
        (threads, first)
    })
}

/// The first response of each thread, by time then id.
pub fn first_responses(s: &Scope<'_>, threads: &ReportThreads) -> Vec<FirstResponse> {
    let snap = s.snap;
    let mut first: Vec<Option<(i64, i64, bool)>> = vec![None; threads.list.len()];
    for_each_response(s, threads, |i, r, m| {
        let key = (snap.ts[r], snap.ids_of(r as u32));
        if first[i].is_none_or(|(ts, id, _)| key < (ts, id)) {
            first[i] = Some((key.0, key.1, s.is_team_at(m as usize, snap.ts[r])));
        }
    });
    first
}
