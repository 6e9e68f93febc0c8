//! One report's view of the snapshot: which activities are in scope, whose activity counts,
//! and the per-member rollup most metrics start from (each member's counted participations,
//! in time order, with their local day). Built once per report in one pass over the snapshot
//! and shared by every metric; no metric result is cached.

use kith_model::Kind;

use crate::AnalyticsError;
use crate::calendar::DayNo;
use crate::params::{Params, Resolved};
use crate::snapshot::{M_ANONYMOUS, M_BOT, M_REMOVED, NONE, Snapshot};

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

#[inline]
pub fn is_participation(code: u8) -> bool {
    code < 16 && PARTICIPATION & (1 << code) != 0
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
    /// Per member: earliest counted activity of any kind (`i64::MAX`: none).
    pub first_seen: Vec<i64>,
    /// Per member `m`: its counted participations are `part_ts[part_start[m]..part_start[m+1]]`,
    /// ascending, with their local days in `part_day` (`NO_DAY` before the calendar).
    pub part_start: Vec<u32>,
    pub part_ts: Vec<i64>,
    pub part_day: Vec<DayNo>,
    /// Admitted replies and answers by humans (not bots): the candidates for responses.
    pub reply_slots: Vec<u32>,
    /// First responses of the report's threads, computed once for the conversation metrics.
    pub(crate) first_responses: std::sync::OnceLock<(
        crate::threads::ReportThreads,
        Vec<crate::threads::FirstResponse>,
    )>,
    /// Every counted thread up to as-of with its first response, and each member's first post:
    /// computed once for the newcomer metrics.
    pub(crate) first_posts: std::sync::OnceLock<crate::threads::FirstPosts>,
    /// Engagement levels, computed once for `engagement_levels` and `level_pipeline`.
    pub(crate) levels: std::sync::OnceLock<crate::levels::Timeline>,
    /// The interaction network, computed once for `network` and `health_index`.
    pub(crate) network: std::sync::OnceLock<crate::network::Network>,
}

impl<'a> Scope<'a> {
    pub fn new(snap: &'a Snapshot, params: &Params) -> Result<Scope<'a>, AnalyticsError> {
        let p = Resolved::new(snap, params)?;
        Ok(Scope::with_resolved(snap, p))
    }

    pub fn with_resolved(snap: &'a Snapshot, p: Resolved) -> Scope<'a> {
        let n = snap.slots();
        let words = n.div_ceil(64);
        let mut admitted = vec![0u64; words];
        let mut counted = vec![0u64; words];
        let members = snap.members();
        let mut first_seen = vec![i64::MAX; members];
        let mut part_count = vec![0u32; members + 1];
        let mut reply_slots = Vec::new();
        let (reply, answer) = (Kind::Reply.code(), Kind::Answer.code());

        for slot in 0..n {
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
            let m = snap.member_of(slot);
            if m == NONE {
                continue;
            }
            admitted[slot / 64] |= 1 << (slot % 64);
            let mu = m as usize;
            let flags = snap.member_flags[mu];
            let ts = snap.ts[slot];
            if flags & M_REMOVED != 0 {
                continue;
            }
            let k = snap.kind[slot];
            if (k == reply || k == answer) && flags & M_BOT == 0 {
                reply_slots.push(slot as u32);
            }
            if (flags & M_BOT != 0 && !p.include_bots)
                || (ts >= snap.team_since[mu] && !p.include_team)
            {
                continue;
            }
            counted[slot / 64] |= 1 << (slot % 64);
            if ts < first_seen[mu] {
                first_seen[mu] = ts;
            }
            if is_participation(snap.kind[slot]) {
                part_count[mu] += 1;
            }
        }

        // Counting sort by member, then each member's (short, mostly sorted) list by time.
        let mut part_start = vec![0u32; members + 1];
        let mut total = 0u32;
        for m in 0..members {
            part_start[m] = total;
            total += part_count[m];
        }
        part_start[members] = total;
        let mut fill: Vec<u32> = part_start[..members].to_vec();
        let mut part_ts = vec![0i64; total as usize];
        for (w, &bits) in counted.iter().enumerate() {
            let mut bits = bits;
            while bits != 0 {
                let slot = w * 64 + bits.trailing_zeros() as usize;
                bits &= bits - 1;
                if is_participation(snap.kind[slot]) {
                    let m = snap.member_of(slot) as usize;
                    part_ts[fill[m] as usize] = snap.ts[slot];
                    fill[m] += 1;
                }
            }
        }
        for m in 0..members {
            let list = &mut part_ts[part_start[m] as usize..part_start[m + 1] as usize];
            if !list.is_sorted() {
                list.sort_unstable();
            }
        }
        let cal = &p.calendar;
        let part_day = part_ts
            .iter()
            .map(|&t| cal.day_of(t).unwrap_or(NO_DAY))
            .collect();
        Scope {
            snap,
            p,
            admitted,
            counted,
            first_seen,
            part_start,
            part_ts,
            part_day,
            reply_slots,
            first_responses: std::sync::OnceLock::new(),
            first_posts: std::sync::OnceLock::new(),
            levels: std::sync::OnceLock::new(),
            network: std::sync::OnceLock::new(),
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
        ts >= self.snap.team_since[m]
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
