//! One report's view of the snapshot: which activities are in scope, whose activity counts,
//! and the per-member rollup most metrics start from (each member's counted participations,
//! in time order, with their local day). Built once per report in one pass over the snapshot
//! and shared by every metric; no metric result is cached.

use std::sync::atomic::{AtomicI64, Ordering};

use kith_model::Kind;

use crate::AnalyticsError;
use crate::calendar::DayNo;
use crate::params::{Params, Resolved};
use crate::prefetch::{AHEAD, prefetch};
use crate::snapshot::{M_ANONYMOUS, M_BOT, M_REMOVED, M_TEAM, NONE, Snapshot};

/// Participation kinds as a bit set over kind codes (SPEC §4.0).
const PARTICIPATION: u16 = {
    let mut bits = 0u16;
    let mut i = 0;
    while i < Kind::ALL.len() {
        if Kind::ALL[i].is_participation() {
            bits |= 1 << Kind::ALL[i].code();
        }
        i += 1;
    }
    bits
};

/// Presence kinds as a bit set over kind codes (SPEC §4.0).
const PRESENCE: u16 = {
    let mut bits = 0u16;
    let mut i = 0;
    while i < Kind::ALL.len() {
        if matches!(Kind::ALL[i].class(), kith_model::KindClass::Presence) {
            bits |= 1 << Kind::ALL[i].code();
        }
        i += 1;
    }
    bits
};

#[inline]
pub fn is_participation(code: u8) -> bool {
    code < 16 && PARTICIPATION & (1 << code) != 0
}

#[inline]
pub fn is_presence(code: u8) -> bool {
    code < 16 && PRESENCE & (1 << code) != 0
}

/// "Before the calendar": the day of an instant earlier than the calendar's first day.
pub const NO_DAY: DayNo = DayNo::MIN;

pub struct Scope<'a> {
    pub snap: &'a Snapshot,
    pub p: Resolved,
    /// Bit per slot: live, in the source/channel filters, at or before as-of.
    admitted: Vec<u64>,
    /// Bit per slot: admitted and by a member whose activity counts at that time (not a bot,
    /// not team activity, unless included).
    counted: Vec<u64>,
    /// Per 64-slot word: the latest time of its admitted slots (`i64::MIN`: none). Slots come
    /// in store id order, which is mostly time order, so the passes that only look at recent
    /// activity (the report range, the health index's year) pass over old words unread.
    word_latest: Vec<i64>,
    /// Per slot: its author (dense member; `NONE` if unknown), the snapshot's column. The
    /// passes over every slot read it in order instead of looking up identity then member.
    pub slot_member: &'a [u32],
    /// Per member: earliest counted activity of any kind (`i64::MAX`: none).
    pub first_seen: Vec<i64>,
    /// Per member `m`: its counted participations are `part_ts[part_start[m]..part_start[m+1]]`,
    /// ascending, with their local days in `part_day` (`NO_DAY` before the calendar).
    pub part_start: Vec<u32>,
    pub part_ts: Vec<i64>,
    pub part_day: Vec<DayNo>,
    /// Per member: counted presence activities (reaction, join, rsvp). With the
    /// participations, these are the member's engagement-level events.
    pub presence_count: Vec<u32>,
    /// Bit per slot: admitted replies and answers by humans (not bots), the candidates for
    /// responses ([`Scope::replies_from`]).
    replies: Vec<u64>,
    /// First responses of the report's threads, computed once for the conversation metrics.
    pub(crate) first_responses: std::sync::OnceLock<(
        crate::threads::ReportThreads,
        Vec<crate::threads::FirstResponse>,
    )>,
    /// The counted threads opened since the earliest opening any metric asks about, with their
    /// first responses, and the newcomers' first posts: computed once for the conversation and
    /// newcomer metrics.
    pub(crate) first_posts: std::sync::OnceLock<crate::threads::FirstPosts>,
    /// Engagement levels, computed once for `engagement_levels` and `level_pipeline`.
    pub(crate) levels: std::sync::OnceLock<crate::levels::Timeline>,
    /// The interaction network, computed once for `network` and `health_index`.
    pub(crate) network: std::sync::OnceLock<crate::network::Network>,
    /// The conversation summaries and resolutions of the recent threads, computed once for
    /// `conversation_quality`, `health_index` and `resolution`.
    pub(crate) conversations:
        std::sync::OnceLock<crate::metrics::conversation_quality::Conversations>,
}

impl<'a> Scope<'a> {
    pub fn new(snap: &'a Snapshot, params: &Params) -> Result<Scope<'a>, AnalyticsError> {
        let p = Resolved::new(snap, params)?;
        Ok(Scope::with_resolved(snap, p))
    }

    pub fn with_resolved(snap: &'a Snapshot, p: Resolved) -> Scope<'a> {
        Scope::build(snap, p, true)
    }

    /// The scope; with `use_default` a report without source or channel filters that leaves
    /// bots and team activity out (the default) is read from the snapshot's
    /// [`DefaultScope`](crate::snapshot::DefaultScope) and each member's level events instead
    /// of a pass over every slot (tests compare both ways).
    pub(crate) fn build(snap: &'a Snapshot, p: Resolved, use_default: bool) -> Scope<'a> {
        let members = snap.members();
        let threads = std::thread::available_parallelism()
            .map_or(1, |c| c.get())
            .clamp(1, 8);
        let default = use_default
            && p.source_filter.is_none()
            && p.channel_filter.is_none()
            && !p.include_bots
            && !p.include_team
            && snap.default_scope.fits(snap.slots(), members)
            && snap.level_event_start.len() == members + 1;
        let pass = if default {
            default_pass(snap, &p)
        } else {
            slot_pass(snap, &p, threads)
        };
        let Pass {
            admitted,
            counted,
            word_latest,
            replies,
            first_seen,
            part_start,
            mut part_ts,
            presence_count,
            event_ends,
        } = pass;
        let slot_member: &[u32] = &snap.member;
        // Sorting each member's list and finding local days: by runs of members, one per core.
        let mut part_day = vec![NO_DAY; part_ts.len()];
        let cal = &p.calendar;
        let per_run = members.div_ceil(threads).max(1);
        std::thread::scope(|scope| {
            let (mut ts_rest, mut day_rest) = (&mut part_ts[..], &mut part_day[..]);
            let mut done = 0usize;
            for lo in (0..members).step_by(per_run) {
                let hi = (lo + per_run).min(members);
                let end = part_start[hi] as usize;
                let (ts_run, ts_next) = std::mem::take(&mut ts_rest).split_at_mut(end - done);
                let (day_run, day_next) = std::mem::take(&mut day_rest).split_at_mut(end - done);
                (ts_rest, day_rest) = (ts_next, day_next);
                let (starts, base) = (&part_start[lo..=hi], done);
                let event_ends = event_ends.as_deref();
                let mut work = move || {
                    for (i, w) in starts.windows(2).enumerate() {
                        let list = &mut ts_run[w[0] as usize - base..w[1] as usize - base];
                        if let Some(ends) = event_ends {
                            // The member's level events up to the cut, in time order: the
                            // participations among them are the list.
                            let m = lo + i;
                            let from = snap.level_event_start[m] as usize;
                            let events = &snap.level_events[from..ends[m] as usize];
                            let times = events
                                .iter()
                                .filter(|&&k| !crate::levels::is_presence_class((k & 15) as u8))
                                .map(|&k| k >> 4);
                            for (t, ts) in list.iter_mut().zip(times) {
                                *t = ts;
                            }
                        } else if !list.is_sorted() {
                            list.sort_unstable();
                        }
                    }
                    for (d, &t) in day_run.iter_mut().zip(ts_run.iter()) {
                        *d = cal.day_of(t).unwrap_or(NO_DAY);
                    }
                };
                if threads == 1 {
                    work();
                } else {
                    scope.spawn(work);
                }
                done = end;
            }
        });
        Scope {
            snap,
            p,
            admitted,
            counted,
            word_latest,
            slot_member,
            first_seen,
            part_start,
            part_ts,
            part_day,
            presence_count,
            replies,
            first_responses: std::sync::OnceLock::new(),
            first_posts: std::sync::OnceLock::new(),
            levels: std::sync::OnceLock::new(),
            network: std::sync::OnceLock::new(),
            conversations: std::sync::OnceLock::new(),
        }
    }

    /// Live, in the filters, at or before as-of.
    #[inline]
    pub fn admitted(&self, slot: usize) -> bool {
        self.admitted[slot / 64] & (1 << (slot % 64)) != 0
    }

    /// Admitted, and the author's activity counts at that time.
    #[inline]
    pub fn counted(&self, slot: usize) -> bool {
        self.counted[slot / 64] & (1 << (slot % 64)) != 0
    }

    /// Slots that are counted, in slot order.
    pub fn counted_slots(&self) -> impl Iterator<Item = usize> + '_ {
        self.counted.iter().enumerate().flat_map(|(w, &bits)| {
            let mut bits = bits;
            std::iter::from_fn(move || {
                if bits == 0 {
                    return None;
                }
                let slot = w * 64 + bits.trailing_zeros() as usize;
                bits &= bits - 1;
                Some(slot)
            })
        })
    }

    /// The counted bits: bit `slot % 64` of word `slot / 64`.
    pub fn counted_words(&self) -> &[u64] {
        &self.counted
    }

    /// The number of 64-slot words [`Scope::counted_slots_in`] takes.
    pub fn slot_words(&self) -> usize {
        self.counted.len()
    }

    /// Counted slots in the 64-slot words `words`, in slot order (for passes split by runs).
    pub fn counted_slots_in(
        &self,
        words: std::ops::Range<usize>,
    ) -> impl Iterator<Item = usize> + '_ {
        let start = words.start;
        self.counted[words]
            .iter()
            .enumerate()
            .flat_map(move |(w, &bits)| {
                let mut bits = bits;
                std::iter::from_fn(move || {
                    if bits == 0 {
                        return None;
                    }
                    let slot = (start + w) * 64 + bits.trailing_zeros() as usize;
                    bits &= bits - 1;
                    Some(slot)
                })
            })
    }

    /// Counted slots at or after `from`, in slot order: [`Scope::counted_slots`] without the
    /// slots before `from`, found without reading the words whose admitted slots are all older.
    pub fn counted_slots_from(&self, from: i64) -> impl Iterator<Item = usize> + '_ {
        self.slots_from(&self.counted, from)
    }

    /// At least as many as the admitted slots at or after `from` (all those of the words that
    /// hold one): what a list of them is sized to once, instead of grown by copying.
    pub fn admitted_bound_from(&self, from: i64) -> usize {
        self.bound_from(&self.admitted, from)
    }

    /// At least as many as the counted slots at or after `from` (as
    /// [`Scope::admitted_bound_from`]).
    pub fn counted_bound_from(&self, from: i64) -> usize {
        self.bound_from(&self.counted, from)
    }

    fn bound_from(&self, bits: &[u64], from: i64) -> usize {
        self.words_from(bits, from)
            .map(|(_, w)| w.count_ones() as usize)
            .sum()
    }

    /// The words of `bits` (with their index) that may hold a slot at or after `from`: those
    /// whose latest admitted time is.
    fn words_from<'s>(
        &'s self,
        bits: &'s [u64],
        from: i64,
    ) -> impl Iterator<Item = (usize, u64)> + 's {
        bits.iter()
            .zip(&self.word_latest)
            .enumerate()
            .filter(move |(_, (_, latest))| **latest >= from)
            .map(|(w, (&bits, _))| (w, bits))
    }

    /// The admitted replies and answers by humans (not bots) at or after `from`, in slot
    /// order: the candidates for responses to threads opened since then.
    pub fn replies_from(&self, from: i64) -> impl Iterator<Item = usize> + '_ {
        self.slots_from(&self.replies, from)
    }

    /// Admitted slots at or after `from`, in slot order (as [`Scope::counted_slots_from`]).
    pub fn admitted_slots_from(&self, from: i64) -> impl Iterator<Item = usize> + '_ {
        self.slots_from(&self.admitted, from)
    }

    fn slots_from<'s>(&'s self, bits: &'s [u64], from: i64) -> impl Iterator<Item = usize> + 's {
        let ts = &self.snap.ts;
        self.words_from(bits, from).flat_map(move |(w, mut bits)| {
            std::iter::from_fn(move || {
                while bits != 0 {
                    let slot = w * 64 + bits.trailing_zeros() as usize;
                    bits &= bits - 1;
                    if ts[slot] >= from {
                        return Some(slot);
                    }
                }
                None
            })
        })
    }

    /// Slots that are admitted, in slot order.
    pub fn admitted_slots(&self) -> impl Iterator<Item = usize> + '_ {
        self.admitted.iter().enumerate().flat_map(|(w, &bits)| {
            let mut bits = bits;
            std::iter::from_fn(move || {
                if bits == 0 {
                    return None;
                }
                let slot = w * 64 + bits.trailing_zeros() as usize;
                bits &= bits - 1;
                Some(slot)
            })
        })
    }

    /// Member count.
    pub fn members(&self) -> usize {
        self.first_seen.len()
    }

    /// Anonymous members (author-less content) are humans but never counted as members.
    #[inline]
    pub fn is_anonymous(&self, m: usize) -> bool {
        self.snap.member_flags[m] & M_ANONYMOUS != 0
    }

    #[inline]
    pub fn is_bot(&self, m: usize) -> bool {
        self.snap.member_flags[m] & M_BOT != 0
    }

    /// Whether member `m` acts as team at `ts` (team flag, from `team_since`).
    #[inline]
    pub fn is_team_at(&self, m: usize, ts: i64) -> bool {
        // The flag first: `team_since` is only ever reached for team members.
        self.snap.member_flags[m] & M_TEAM != 0 && ts >= self.snap.team_since[m]
    }

    /// Member `m`'s counted participation times and their local days.
    #[inline]
    pub fn participations(&self, m: usize) -> (&[i64], &[DayNo]) {
        let a = self.part_start[m] as usize;
        let b = self.part_start[m + 1] as usize;
        (&self.part_ts[a..b], &self.part_day[a..b])
    }

    /// Bucket ordinals `first_period ..= last_period`, with their labels and day ranges.
    pub fn periods(&self) -> Vec<PeriodInfo> {
        let cal = &self.p.calendar;
        (self.p.first_period..=self.p.last_period)
            .filter_map(|b| {
                let (first, last) = cal.bucket_days(b)?;
                Some(PeriodInfo {
                    no: b,
                    label: crate::calendar::bucket_label(cal.period(), first),
                    first_day: first,
                    last_day: last,
                    start: cal.day_start(first)?,
                    end: cal.day_start(last + 1)?,
                })
            })
            .collect()
    }
}

/// `values` as atomic cells, for threads that each store into their own (disjoint) places of
/// one array. Relaxed stores compile to plain stores; the atomics only make the sharing sound.
pub(crate) fn atomic_cells(values: &mut [i64]) -> &[AtomicI64] {
    const _: () = assert!(std::mem::align_of::<AtomicI64>() == std::mem::align_of::<i64>());
    // SAFETY: `AtomicI64` has the size and bit validity of `i64` and (checked above) its
    // alignment on this target; the exclusive borrow of `values` lasts as long as the cells,
    // so nothing reads or writes the values other than through them meanwhile (the
    // requirements of `AtomicI64::from_ptr`, applied to each element).
    unsafe { std::slice::from_raw_parts(values.as_mut_ptr().cast::<AtomicI64>(), values.len()) }
}

/// What the scope's first pass finds: the slots admitted and counted, the response
/// candidates, and per member the first activity, the participations (in place for the
/// slot pass; for the default pass, the end of each member's level events up to the cut,
/// from which they are copied) and the presence count.
struct Pass {
    admitted: Vec<u64>,
    counted: Vec<u64>,
    word_latest: Vec<i64>,
    replies: Vec<u64>,
    first_seen: Vec<i64>,
    part_start: Vec<u32>,
    part_ts: Vec<i64>,
    presence_count: Vec<u32>,
    event_ends: Option<Vec<u32>>,
}

/// The pass over every slot: any filters, any inclusion of bots and team. Split into runs of
/// whole bit words, one per core; each run's per-member figures are merged after (min of
/// first seen, sum of counts), and its reply slots appended in run order, so the result is
/// the sequential one.
fn slot_pass(snap: &Snapshot, p: &Resolved, threads: usize) -> Pass {
    let n = snap.slots();
    let words = n.div_ceil(64);
    let members = snap.members();
    let threads = threads.min(words.max(1));
    let per = words.div_ceil(threads).max(1);
    let slot_member: &[u32] = &snap.member;
    let runs: Vec<AdmitRun> = if threads == 1 {
        vec![admit_run(snap, p, 0, words)]
    } else {
        std::thread::scope(|scope| {
            let handles: Vec<_> = (0..threads)
                .map(|i| {
                    let (lo, hi) = ((i * per).min(words), ((i + 1) * per).min(words));
                    scope.spawn(move || admit_run(snap, p, lo, hi))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                .collect()
        })
    };
    let mut admitted = Vec::with_capacity(words);
    let mut counted = Vec::with_capacity(words);
    let mut word_latest = Vec::with_capacity(words);
    let mut replies = Vec::with_capacity(words);
    let mut first_seen = vec![i64::MAX; members];
    let mut part_count = vec![0u32; members + 1];
    let mut presence_count = vec![0u32; members];
    // Per run, where each member's participations in it go within the member's list: after
    // those of the runs before (runs are in slot order, so each list stays in slot order).
    let mut run_fill: Vec<Vec<u32>> = Vec::with_capacity(runs.len());
    for run in runs {
        admitted.extend_from_slice(&run.admitted);
        counted.extend_from_slice(&run.counted);
        word_latest.extend_from_slice(&run.word_latest);
        replies.extend_from_slice(&run.replies);
        let mut before = Vec::with_capacity(members);
        for (m, r) in run.per_member.iter().enumerate() {
            first_seen[m] = first_seen[m].min(r.first_seen);
            before.push(part_count[m]);
            part_count[m] += r.participations;
            presence_count[m] += r.presence;
        }
        run_fill.push(before);
    }

    // Counting sort by member (each member's list is then sorted by time, by the caller).
    let mut part_start = vec![0u32; members + 1];
    let mut total = 0u32;
    for m in 0..members {
        part_start[m] = total;
        total += part_count[m];
    }
    part_start[members] = total;
    let mut part_ts = vec![0i64; total as usize];
    // Each run puts its own slots in place, on its own thread: the places of the runs are
    // disjoint (the counts above), so the result is the sequential one.
    {
        let cells = atomic_cells(&mut part_ts);
        let counted = &counted;
        let part_start = &part_start;
        let scatter = |(i, fill): (usize, &mut Vec<u32>)| {
            for (m, f) in fill.iter_mut().enumerate() {
                *f += part_start[m];
            }
            let (lo, hi) = ((i * per).min(words), ((i + 1) * per).min(words));
            for (w, &bits) in counted[lo..hi].iter().enumerate() {
                let mut bits = bits;
                while bits != 0 {
                    let slot = (lo + w) * 64 + bits.trailing_zeros() as usize;
                    bits &= bits - 1;
                    if is_participation(snap.kind[slot]) {
                        let m = slot_member[slot] as usize;
                        cells[fill[m] as usize].store(snap.ts[slot], Ordering::Relaxed);
                        fill[m] += 1;
                    }
                }
            }
        };
        if run_fill.len() == 1 {
            run_fill.iter_mut().enumerate().for_each(scatter);
        } else {
            std::thread::scope(|ts| {
                for run in run_fill.iter_mut().enumerate() {
                    ts.spawn(move || scatter(run));
                }
            });
        }
    }
    Pass {
        admitted,
        counted,
        word_latest,
        replies,
        first_seen,
        part_start,
        part_ts,
        presence_count,
        event_ends: None,
    }
}

/// The default report's pass (no source or channel filters, bots and team activity left out):
/// the snapshot's [`DefaultScope`](crate::snapshot::DefaultScope) words as they are, except
/// those holding a live slot after as-of, redone slot by slot; per member, what counts of
/// their level events is a prefix (up to as-of, and for team members before they joined the
/// team), so their participations and presence are counted there, and their first activity
/// is their first live one if it is within that cut.
fn default_pass(snap: &Snapshot, p: &Resolved) -> Pass {
    let d = &snap.default_scope;
    let as_of = p.as_of;
    let words = d.live.len();
    let members = snap.members();
    let cores = crate::par::cores();
    let runs = crate::par::runs(words, words.div_ceil(cores).max(1), |run| {
        let mut admitted = Vec::with_capacity(run.len());
        let mut counted = Vec::with_capacity(run.len());
        let mut word_latest = Vec::with_capacity(run.len());
        let mut reply_bits = Vec::with_capacity(run.len());
        for w in run {
            let (mut live, mut count, mut replies, mut latest) =
                (d.live[w], d.counted[w], d.replies[w], d.latest[w]);
            if latest > as_of {
                // A live slot after as-of: keep those at or before it.
                let mut keep = 0u64;
                latest = i64::MIN;
                let mut bits = live;
                while bits != 0 {
                    let b = bits.trailing_zeros();
                    bits &= bits - 1;
                    let ts = snap.ts[w * 64 + b as usize];
                    if ts <= as_of {
                        keep |= 1 << b;
                        latest = latest.max(ts);
                    }
                }
                live &= keep;
                count &= keep;
                replies &= keep;
            }
            admitted.push(live);
            counted.push(count);
            word_latest.push(latest);
            reply_bits.push(replies);
        }
        (admitted, counted, word_latest, reply_bits)
    });
    let mut admitted = Vec::with_capacity(words);
    let mut counted = Vec::with_capacity(words);
    let mut word_latest = Vec::with_capacity(words);
    let mut replies = Vec::with_capacity(words);
    for (a, c, l, r) in runs {
        admitted.extend_from_slice(&a);
        counted.extend_from_slice(&c);
        word_latest.extend_from_slice(&l);
        replies.extend_from_slice(&r);
    }

    // Per member: first activity, end of the counted events, participations and presence.
    let start = &snap.level_event_start;
    let per_member = crate::par::runs(members, members.div_ceil(cores).max(1), |run| {
        let mut out = Vec::with_capacity(run.len());
        for m in run {
            let Some(cut) = snap.counted_until(m, as_of, false, false) else {
                out.push((i64::MAX, start[m], 0u32, 0u32));
                continue;
            };
            let first = d.first_live[m];
            let first = if first <= cut { first } else { i64::MAX };
            let list = &snap.level_events[start[m] as usize..start[m + 1] as usize];
            let len = list.partition_point(|&k| (k >> 4) <= cut);
            let presence = list[..len]
                .iter()
                .filter(|&&k| crate::levels::is_presence_class((k & 15) as u8))
                .count() as u32;
            out.push((
                first,
                start[m] + len as u32,
                len as u32 - presence,
                presence,
            ));
        }
        out
    });
    let mut first_seen = Vec::with_capacity(members);
    let mut event_ends = Vec::with_capacity(members);
    let mut presence_count = Vec::with_capacity(members);
    let mut part_start = Vec::with_capacity(members + 1);
    let mut total = 0u32;
    for (first, end, participations, presence) in per_member.into_iter().flatten() {
        first_seen.push(first);
        event_ends.push(end);
        presence_count.push(presence);
        part_start.push(total);
        total += participations;
    }
    part_start.push(total);
    Pass {
        admitted,
        counted,
        word_latest,
        replies,
        first_seen,
        part_start,
        // Filled from the level events by the caller, member run by member run.
        part_ts: vec![0i64; total as usize],
        presence_count,
        event_ends: Some(event_ends),
    }
}

/// What one run of bit words `lo..hi` of the slots admits and counts.
struct AdmitRun {
    admitted: Vec<u64>,
    counted: Vec<u64>,
    word_latest: Vec<i64>,
    /// Per member, together (one cache line per member met).
    per_member: Vec<MemberRun>,
    replies: Vec<u64>,
}

/// A member's figures in one run: earliest counted activity, counted participations and
/// presence.
#[derive(Clone, Copy)]
struct MemberRun {
    first_seen: i64,
    participations: u32,
    presence: u32,
}

fn admit_run(snap: &Snapshot, p: &Resolved, lo: usize, hi: usize) -> AdmitRun {
    let members = snap.members();
    let mut admitted = vec![0u64; hi - lo];
    let mut counted = vec![0u64; hi - lo];
    let mut word_latest = vec![i64::MIN; hi - lo];
    let mut per_member = vec![
        MemberRun {
            first_seen: i64::MAX,
            participations: 0,
            presence: 0,
        };
        members
    ];
    let mut replies = vec![0u64; hi - lo];
    let (reply, answer) = (Kind::Reply.code(), Kind::Answer.code());
    let base = lo * 64;
    let end = (hi * 64).min(snap.slots());
    for slot in base..end {
        // The member's flags and figures below miss the caches (a random member per slot):
        // they are asked for one stride ahead (`prefetch`).
        if slot + AHEAD < end {
            let m = snap.member[slot + AHEAD] as usize;
            prefetch(&per_member, m);
            prefetch(&snap.member_flags, m);
        }
        if snap.flags[slot] != 0 || snap.ts[slot] > p.as_of {
            continue;
        }
        if let Some(f) = &p.source_filter
            && !f[snap.source[slot] as usize]
        {
            continue;
        }
        if let Some(f) = &p.channel_filter {
            let c = snap.channel[slot];
            if c == NONE || !f[c as usize] {
                continue;
            }
        }
        let m = snap.member[slot];
        if m == NONE {
            continue;
        }
        let w = slot / 64 - lo;
        admitted[w] |= 1 << (slot % 64);
        let mu = m as usize;
        let flags = snap.member_flags[mu];
        let ts = snap.ts[slot];
        word_latest[w] = word_latest[w].max(ts);
        if flags & M_REMOVED != 0 {
            continue;
        }
        let k = snap.kind[slot];
        if (k == reply || k == answer) && flags & M_BOT == 0 {
            replies[w] |= 1 << (slot % 64);
        }
        // `team_since` is read only for team members (it is never for the others).
        if (flags & M_BOT != 0 && !p.include_bots)
            || (flags & M_TEAM != 0 && !p.include_team && ts >= snap.team_since[mu])
        {
            continue;
        }
        counted[w] |= 1 << (slot % 64);
        let run = &mut per_member[mu];
        if ts < run.first_seen {
            run.first_seen = ts;
        }
        if is_participation(k) {
            run.participations += 1;
        } else if is_presence(k) {
            run.presence += 1;
        }
    }
    AdmitRun {
        admitted,
        counted,
        word_latest,
        per_member,
        replies,
    }
}

/// One reported period.
#[derive(Debug, Clone)]
pub struct PeriodInfo {
    pub no: i64,
    pub label: String,
    pub first_day: DayNo,
    pub last_day: DayNo,
    /// First instant, first instant after.
    pub start: i64,
    pub end: i64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{Community, at, day_params};

    /// Everything a scope holds, for comparing two ways of building one.
    fn parts(s: &Scope<'_>) -> String {
        format!(
            "admitted {:?}\ncounted {:?}\nword_latest {:?}\nfirst_seen {:?}\npart_start {:?}\n\
             part_ts {:?}\npart_day {:?}\npresence {:?}\nreplies {:?}",
            s.admitted,
            s.counted,
            s.word_latest,
            s.first_seen,
            s.part_start,
            s.part_ts,
            s.part_day,
            s.presence_count,
            s.replies
        )
    }

    /// The default report's scope, read from the snapshot's `DefaultScope` and level events,
    /// equals the one the pass over every slot builds: on random communities (team members,
    /// some since a day, bots, merges, a deleted source, late imports), refreshed and built
    /// from scratch, at as-of instants across the whole history (so that words hold
    /// activities on both sides of it) and in the case's own zone.
    #[test]
    fn the_default_scope_equals_the_pass_over_every_slot() {
        use proptest::test_runner::TestCaseError;
        let compared = std::cell::Cell::new(0);
        crate::testkit::for_random_communities(96, |case, _, store, snap| {
            let fresh = Snapshot::build(store).map_err(|e| TestCaseError::fail(e.to_string()))?;
            // Then a refresh with members' flags alone changed: u0 turns bot, u1 team from
            // day 30 (what counts by default changes with them).
            for (name, bot, since) in [("u0", true, None), ("u1", false, Some(30))] {
                if let Some(id) = crate::testkit::member_of(store, "a", name) {
                    let flags = kith_store::MemberFlags {
                        team: since.is_some(),
                        team_since: since.map(|d| crate::testkit::BASE + d * 86_400),
                        bot,
                    };
                    kith_store::Store::set_member_flags(store, id, &flags)
                        .map_err(|e| TestCaseError::fail(e.to_string()))?;
                }
            }
            let mut flagged = snap.clone();
            flagged
                .refresh(store)
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            // Then a refresh that only adds activities (by known and new members): the default
            // scope is extended, not rebuilt.
            let kinds = [
                Kind::Post,
                Kind::Reply,
                Kind::Answer,
                Kind::Reaction,
                Kind::Leave,
            ];
            let late: Vec<kith_model::Activity> = (0..9)
                .map(|k: i64| {
                    kith_model::Activity::new(
                        "a",
                        format!("late{k}"),
                        kinds[k as usize % kinds.len()],
                        kith_model::Timestamp::from_secs(
                            crate::testkit::BASE + (100 + 20 * k) * 86_400 + 999,
                        ),
                        Some(kith_model::Author::new(format!("u{}", k % 8))),
                    )
                })
                .collect();
            crate::testkit::write(store, &late);
            let mut appended = flagged.clone();
            appended
                .refresh(store)
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            let fresh_appended =
                Snapshot::build(store).map_err(|e| TestCaseError::fail(e.to_string()))?;
            for snap in [&snap, &fresh, &flagged, &appended, &fresh_appended] {
                let mut p = crate::testkit::params(case);
                p.sources.clear();
                p.channels.clear();
                p.include_bots = false;
                p.include_team = false;
                for day in [
                    None,
                    Some(-1),
                    Some(0),
                    Some(30),
                    Some(90),
                    Some(150),
                    Some(239),
                ] {
                    p.as_of = day.map(|d: i64| crate::testkit::BASE + d * 86_400 + 45_678);
                    let Ok(resolved) = Resolved::new(snap, &p) else {
                        continue;
                    };
                    let fast = Scope::build(snap, resolved.clone(), true);
                    let slow = Scope::build(snap, resolved, false);
                    if parts(&fast) != parts(&slow) {
                        return Err(TestCaseError::fail(format!(
                            "as-of day {day:?}:\ndefault {}\nevery slot {}",
                            parts(&fast),
                            parts(&slow)
                        )));
                    }
                    compared.set(compared.get() + 1);
                }
            }
            Ok(())
        });
        assert!(
            compared.get() > 96,
            "most cases compare at several instants"
        );
    }

    /// `counted_slots_from(t)` and `admitted_slots_from(t)` are the counted and admitted slots
    /// at or after `t`, in slot order, whatever the order of time in the slots: here three
    /// 64-slot words of mostly rising times, with old activities imported late (the last word
    /// mixes old and new), a bot (admitted, not counted) and a deleted post (neither).
    #[test]
    fn slots_from_a_time_are_the_slots_at_or_after_it_in_slot_order() {
        let mut c = Community::new();
        let day = 86_400;
        let start = at("2024-01-01T00:00:00Z");
        c.bot("robot");
        for i in 0..150i64 {
            let (who, ts) = match i % 7 {
                0 => ("robot", start + i * day),
                // Late imports of old activity.
                3 if i > 100 => ("cat", start + (i - 100) * day),
                _ => (["ann", "bob", "cat"][(i % 3) as usize], start + i * day),
            };
            let id = c.post(who, ts, &format!("t{i}"));
            if i == 40 {
                c.delete(who, ts + 1, &id);
            }
        }
        let snap = c.snapshot();
        let s = Scope::new(&snap, &day_params("2024-01-01", "2024-12-31")).unwrap();
        assert!(snap.slots() > 128, "three words of slots");
        for from in [
            i64::MIN,
            start,
            start + 30 * day,
            start + 90 * day,
            start + 149 * day,
        ] {
            let counted: Vec<usize> = s.counted_slots().filter(|&i| snap.ts[i] >= from).collect();
            assert_eq!(
                s.counted_slots_from(from).collect::<Vec<_>>(),
                counted,
                "{from}"
            );
            let admitted: Vec<usize> = s.admitted_slots().filter(|&i| snap.ts[i] >= from).collect();
            assert_eq!(
                s.admitted_slots_from(from).collect::<Vec<_>>(),
                admitted,
                "{from}"
            );
        }
        assert!(
            s.admitted_slots().count() > s.counted_slots().count(),
            "the bot's posts are admitted only"
        );
        assert_eq!(s.counted_slots_from(i64::MAX).count(), 0);
        // Three words, read from the snapshot's default scope as they are or redone where
        // they hold activities after as-of: the same scope as the pass over every slot.
        for to in ["2024-01-20", "2024-03-15", "2024-04-10", "2024-12-31"] {
            let p = Resolved::new(&snap, &day_params("2024-01-01", to)).unwrap();
            assert_eq!(
                parts(&Scope::build(&snap, p.clone(), true)),
                parts(&Scope::build(&snap, p, false)),
                "{to}"
            );
        }
        assert_eq!(
            s.counted_slots_from(i64::MIN).count(),
            s.counted_slots().count()
        );
    }
}
