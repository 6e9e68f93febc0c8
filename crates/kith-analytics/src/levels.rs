//! Engagement levels (SPEC §4.3): every member's level over time, shared by the
//! `engagement_levels` and `level_pipeline` metrics. One sweep per member over their activity
//! in time order yields the level at as-of with its explanation and the level at every period
//! boundary; the result is computed once per scope.
//!
//! The model, in one sentence: every activity and every presence milestone is an *event* with
//! a level, and a member's level at instant `t` is the highest level of their events in
//! `(t − (look-back + hold) days, t]`. So a level is reached at once, kept while an event of it
//! stays in the look-back, then held for the hold period before the member moves down to what
//! the remaining events give. No clustering, no relative scores: a member's level depends on
//! their own activity and the parameters only.

use kith_model::Kind;
use serde::Serialize;

use crate::calendar::{Calendar, DayNo, Period};
use crate::scope::{Scope, is_participation, is_presence};
use crate::snapshot::{NONE, Snapshot};

/// One sweep thread's result: the levels of its members and its pipeline counts.
type SweepRun = (Vec<MemberLevel>, Vec<[[i64; 5]; 5]>);

/// The four levels, lowest first (level numbers 1..=4; 0 is "no level").
pub const LEVEL_NAMES: [&str; 4] = ["Exploring", "Participating", "Contributing", "Leading"];

/// The name of level number `level` (1..=4), or `""`.
pub fn level_name(level: u8) -> &'static str {
    match level {
        1..=4 => LEVEL_NAMES[usize::from(level - 1)],
        _ => "",
    }
}

/// Activity weights by kind of activity (SPEC §4.3, Orbit model defaults). A weight of 0 makes
/// the activity no event (it still makes its day an active day for the milestones).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Weights {
    pub join: u8,
    pub reaction: u8,
    pub rsvp: u8,
    pub attend: u8,
    pub post: u8,
    /// A reply or comment whose target (the activity it replies to, else its thread's opening
    /// post) was written by another member.
    pub reply_to_member: u8,
    /// Any other reply: to oneself, or to nothing known. It is content, so it weighs as a post.
    pub reply: u8,
    pub feedback: u8,
    pub answer: u8,
    pub solution: u8,
    pub contribution: u8,
    /// Hosting an event. Nothing produces a hosting activity yet: no importer reads event
    /// hosts, and the generator's host posts the announcement (a `post` carrying `event_id`
    /// in its attributes, weight 4) and attends (3), while the snapshot keeps no attributes.
    /// The weight is kept for when events (SPEC §5.3) record their hosts.
    pub event_hosting: u8,
}

impl Default for Weights {
    fn default() -> Self {
        Weights {
            join: 1,
            reaction: 1,
            rsvp: 2,
            attend: 3,
            post: 4,
            reply_to_member: 5,
            reply: 4,
            feedback: 5,
            answer: 6,
            solution: 8,
            contribution: 8,
            event_hosting: 11,
        }
    }
}

/// What an activity counts as for levels: an index into [`Weights`] (see [`CLASS_NAMES`]).
pub type Class = u8;
pub const C_JOIN: Class = 0;
pub const C_REACTION: Class = 1;
pub const C_RSVP: Class = 2;
pub const C_ATTEND: Class = 3;
pub const C_POST: Class = 4;
pub const C_REPLY_TO_MEMBER: Class = 5;
pub const C_REPLY: Class = 6;
pub const C_FEEDBACK: Class = 7;
pub const C_ANSWER: Class = 8;
pub const C_SOLUTION: Class = 9;
pub const C_CONTRIBUTION: Class = 10;
pub const C_EVENT_HOSTING: Class = 11;
/// Milestone events: `C_MILESTONE + k` for the milestone of level `k + 2`.
pub const C_MILESTONE: Class = 12;

/// How each class is named in explanations.
pub const CLASS_NAMES: [&str; 12] = [
    "join",
    "reaction",
    "rsvp",
    "attend",
    "post",
    "reply to another member",
    "reply",
    "feedback",
    "answer",
    "solution",
    "contribution",
    "event hosting",
];

impl Weights {
    pub fn of(&self, class: Class) -> u8 {
        match class {
            C_JOIN => self.join,
            C_REACTION => self.reaction,
            C_RSVP => self.rsvp,
            C_ATTEND => self.attend,
            C_POST => self.post,
            C_REPLY_TO_MEMBER => self.reply_to_member,
            C_REPLY => self.reply,
            C_FEEDBACK => self.feedback,
            C_ANSWER => self.answer,
            C_SOLUTION => self.solution,
            C_CONTRIBUTION => self.contribution,
            C_EVENT_HOSTING => self.event_hosting,
            _ => 0,
        }
    }
}

/// A presence milestone: at least `active_days` active days within `window_days` consecutive
/// local days (the day it is reached included). `active_days = 0` switches it off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Milestone {
    pub active_days: u32,
    pub window_days: u32,
}

/// Engagement level parameters (SPEC §4.3; every default is the Orbit model's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LevelParams {
    pub weights: Weights,
    /// The lowest weight that reaches Exploring, Participating, Contributing, Leading:
    /// default 1, 4, 7, 10 (weights 1–3, 4–6, 7–9, 10–12).
    pub min_weight: [u8; 4],
    /// The presence milestones that reach Participating, Contributing and Leading: default 2
    /// active days in 7, 7 in 30, 30 in 90 (a week, a month, a quarter).
    pub milestones: [Milestone; 3],
    /// An event counts for `lookback_days` × 24 h after it happened (default 365).
    pub lookback_days: i64,
    /// After the last event of their level has left the look-back, a member keeps the level
    /// `hold_days` × 24 h more before moving down (default 30).
    pub hold_days: i64,
}

impl Default for LevelParams {
    fn default() -> Self {
        LevelParams {
            weights: Weights::default(),
            min_weight: [1, 4, 7, 10],
            milestones: [
                Milestone {
                    active_days: 2,
                    window_days: 7,
                },
                Milestone {
                    active_days: 7,
                    window_days: 30,
                },
                Milestone {
                    active_days: 30,
                    window_days: 90,
                },
            ],
            lookback_days: 365,
            hold_days: 30,
        }
    }
}

impl LevelParams {
    /// The level (0..=4) a weight reaches.
    pub fn level_of_weight(&self, weight: u8) -> u8 {
        if weight == 0 {
            return 0;
        }
        (0..4)
            .rev()
            .find(|&l| weight >= self.min_weight[l])
            .map_or(0, |l| l as u8 + 1)
    }

    /// How long an event keeps its level: look-back plus hold, in seconds.
    pub fn reach(&self) -> i64 {
        (self.lookback_days.max(0) + self.hold_days.max(0)).saturating_mul(86_400)
    }

    /// How a reason is written: the activity, or the milestone.
    pub fn reason_text(&self, class: Class) -> String {
        if class >= C_MILESTONE {
            let m = self.milestones[usize::from(class - C_MILESTONE).min(2)];
            format!(
                "milestone: {} active days in {}",
                m.active_days, m.window_days
            )
        } else {
            CLASS_NAMES
                .get(usize::from(class))
                .copied()
                .unwrap_or("")
                .to_owned()
        }
    }
}

/// Classes by kind code (`NO_CLASS`: not an event; replies are decided by their target).
const NO_CLASS: Class = u8::MAX;
const KIND_CLASS: [Class; 16] = {
    let mut t = [NO_CLASS; 16];
    t[Kind::Join as usize] = C_JOIN;
    t[Kind::Reaction as usize] = C_REACTION;
    t[Kind::Rsvp as usize] = C_RSVP;
    t[Kind::Attend as usize] = C_ATTEND;
    t[Kind::Post as usize] = C_POST;
    t[Kind::Reply as usize] = C_REPLY;
    t[Kind::Feedback as usize] = C_FEEDBACK;
    t[Kind::Answer as usize] = C_ANSWER;
    t[Kind::Solution as usize] = C_SOLUTION;
    t[Kind::Contribution as usize] = C_CONTRIBUTION;
    t
};

/// Whether a level class is presence (join, reaction, RSVP: SPEC §4.0) rather than
/// participation; level events are one or the other.
#[inline]
pub(crate) fn is_presence_class(class: Class) -> bool {
    matches!(class, C_JOIN | C_REACTION | C_RSVP)
}

/// [`class_of`] of the activity in `slot` by `member`, without the `Option`, from a table:
/// what the snapshot's `level_events` and the gathering below store.
#[inline]
pub(crate) fn fast_class(snap: &Snapshot, slot: usize, member: u32) -> Class {
    let code = snap.kind[slot];
    let class = KIND_CLASS
        .get(usize::from(code))
        .copied()
        .unwrap_or(NO_CLASS);
    if class == C_REPLY {
        let target = target_member(snap, slot);
        if target != NONE && target != member {
            return C_REPLY_TO_MEMBER;
        }
    }
    class
}

/// The class of the activity in `slot` for levels, or `None` for kinds that are neither
/// participation nor presence (leave, edit, delete).
pub fn class_of(s: &Scope<'_>, slot: usize) -> Option<Class> {
    let snap = s.snap;
    let k = Kind::from_code(snap.kind[slot])?;
    Some(match k {
        Kind::Join => C_JOIN,
        Kind::Reaction => C_REACTION,
        Kind::Rsvp => C_RSVP,
        Kind::Attend => C_ATTEND,
        Kind::Post => C_POST,
        Kind::Reply => {
            let target = reply_target(s, slot);
            let me = snap.member_of(slot);
            if target != NONE && target != me {
                C_REPLY_TO_MEMBER
            } else {
                C_REPLY
            }
        }
        Kind::Feedback => C_FEEDBACK,
        Kind::Answer => C_ANSWER,
        Kind::Solution => C_SOLUTION,
        Kind::Contribution => C_CONTRIBUTION,
        Kind::Leave | Kind::Edit | Kind::Delete => return None,
    })
}

/// The member a reply answers: the author of the activity it replies to, else of its thread's
/// opening post; `NONE` when neither is known.
pub fn reply_target(s: &Scope<'_>, slot: usize) -> u32 {
    target_member(s.snap, slot)
}

/// [`reply_target`] on the snapshot.
fn target_member(snap: &Snapshot, slot: usize) -> u32 {
    let mut target = snap.reply_to[slot];
    if target == NONE {
        let t = snap.thread[slot];
        if t != NONE {
            target = snap.thread_op[t as usize];
        }
    }
    if target == NONE {
        return NONE;
    }
    snap.member_of(target as usize)
}

/// A member's level at as-of and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberLevel {
    pub member: u32,
    /// 1..=4.
    pub level: u8,
    /// Since when the member has been at exactly this level.
    pub since: i64,
    /// The event that holds the level: the latest of this level (ties: the heaviest).
    pub reason_class: Class,
    pub reason_weight: u8,
    pub reason_at: i64,
}

/// Every member's level at as-of, and the transitions between period boundaries.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Timeline {
    /// Members with a level at as-of, by dense member id.
    pub members: Vec<MemberLevel>,
    /// Per reported period: `moves[p][from][to]` = members at level `from` (0 = none) at the
    /// period's start and `to` at its end (`moves[p][0][0]`, members without a level at either
    /// end, is not counted).
    pub moves: Vec<[[i64; 5]; 5]>,
}

/// The evaluation instants of the pipeline: the start of each period (the instant before its
/// first) and the end of the last, clipped to as-of. Period `p` runs from instant `p` to `p+1`.
pub fn boundaries(s: &Scope<'_>) -> Vec<i64> {
    let periods = s.periods();
    let as_of = s.p.as_of;
    let mut b: Vec<i64> = periods.iter().map(|p| (p.start - 1).min(as_of)).collect();
    if let Some(last) = periods.last() {
        b.push((last.end - 1).min(as_of));
    }
    b
}

/// The timeline of the scope, computed once.
pub fn timeline<'s>(s: &'s Scope<'_>) -> &'s Timeline {
    s.levels.get_or_init(|| compute(s))
}

/// An event's rank among events of the same level: later wins, then heavier, then the higher
/// class (activities before milestones, which weigh 0).
type Key = (i64, u8, Class);
const NO_KEY: Key = (i64::MIN, 0, 0);

/// What the sweep keeps per level 1..=4 (index 0 unused). Events are applied in time order.
struct Sweep {
    reach: i64,
    /// The latest event of exactly this level.
    last: [Key; 5],
    /// When the coverage of the latest event of this level or higher ends (its time plus the
    /// reach; `i64::MIN`: no event yet), and where its unbroken coverage began.
    cover_end: [i64; 5],
    run_start: [i64; 5],
}

impl Sweep {
    fn new(reach: i64) -> Sweep {
        Sweep {
            reach,
            last: [NO_KEY; 5],
            cover_end: [i64::MIN; 5],
            run_start: [i64::MIN; 5],
        }
    }

    /// Applies an event no earlier than those applied before (level events are in time
    /// order, and their times are far from `i64::MIN`: they are packed as ts × 16).
    #[inline]
    fn event(&mut self, ts: i64, level: u8, weight: u8, class: Class) {
        let l = usize::from(level);
        let key = (ts, weight, class);
        if key > self.last[l] {
            self.last[l] = key;
        }
        let end = ts.saturating_add(self.reach);
        for g in 1..=l {
            // Coverage of an event is [ts, ts + reach): a later event continues it unless it
            // starts after the coverage ended (or is the first).
            if ts > self.cover_end[g] {
                self.run_start[g] = ts;
            }
            self.cover_end[g] = end;
        }
    }

    /// The level at instant `t` (every event applied so far is at or before `t`).
    #[inline]
    fn level_at(&self, t: i64) -> u8 {
        (1..=4u8)
            .rev()
            .find(|&l| {
                let ts = self.last[usize::from(l)].0;
                ts != i64::MIN && ts > t.saturating_sub(self.reach)
            })
            .unwrap_or(0)
    }
}

fn compute(s: &Scope<'_>) -> Timeline {
    let snap = s.snap;
    let bounds = boundaries(s);
    let members = s.members();
    let reach = s.p.levels.reach();
    // A member whose last event is older than this has no level at any instant the report
    // looks at (the sweep would pass over them): their events are not read.
    let earliest = bounds.first().map_or(s.p.as_of, |&b| b.min(s.p.as_of));
    let gone = earliest.saturating_sub(reach);
    if s.p.source_filter.is_none() && s.p.channel_filter.is_none() {
        // 1. Without source or channel filters, what counts of a member's events is a prefix
        //    of the snapshot's list: those up to as-of, and for team members (team activity
        //    left out) those before they joined the team.
        let start = &snap.level_event_start;
        let mut ends = vec![0u32; members];
        for (m, end) in ends.iter_mut().enumerate() {
            let (a, b) = (start[m] as usize, start[m + 1] as usize);
            *end = start[m];
            if s.is_anonymous(m) {
                continue;
            }
            let Some(cut) = snap.counted_until(m, s.p.as_of, s.p.include_bots, s.p.include_team)
            else {
                continue;
            };
            let list = &snap.level_events[a..b];
            let len = list.partition_point(|&k| (k >> 4) <= cut);
            if len > 0 && (list[len - 1] >> 4) > gone {
                *end = (a + len) as u32;
            }
        }
        return sweep_members(s, &bounds, start, &ends, &snap.level_events);
    }
    // 1. With filters: each member's events (counted activities that are participation or
    //    presence), packed as ts × 16 + class, written in slot order straight into the
    //    member's run (sized from the scope's counts of participations and presence).
    // The members with an event after `gone` (from the recent slots only), a bit each: the
    // pass over every slot below tests this before it looks further.
    let mut alive = vec![0u64; members.div_ceil(64)];
    for slot in s.counted_slots_from(gone.saturating_add(1)) {
        let k = snap.kind[slot];
        if is_participation(k) || is_presence(k) {
            let m = s.slot_member[slot];
            alive[m as usize / 64] |= 1 << (m % 64);
        }
    }
    let is_alive = |m: usize| alive[m / 64] & (1 << (m % 64)) != 0;
    let mut start = vec![0u32; members + 1];
    let mut total = 0u32;
    for (m, first) in start[..members].iter_mut().enumerate() {
        *first = total;
        if is_alive(m) && !s.is_anonymous(m) {
            total += s.participations(m).0.len() as u32 + s.presence_count[m];
        }
    }
    start[members] = total;
    // Members passed over write nowhere (`NONE` is past the end).
    let mut fill: Vec<u32> = (0..members)
        .map(|m| {
            if is_alive(m) && !s.is_anonymous(m) {
                start[m]
            } else {
                NONE
            }
        })
        .collect();
    let mut events = vec![0i64; total as usize];
    for slot in s.counted_slots() {
        let m = s.slot_member[slot];
        let mu = m as usize;
        if !is_alive(mu) || fill[mu] == NONE {
            continue;
        }
        let class = fast_class(snap, slot, m);
        if class == NO_CLASS {
            continue;
        }
        if let Some(e) = events.get_mut(fill[mu] as usize) {
            *e = snap.ts[slot].saturating_mul(16) | i64::from(class);
            fill[mu] += 1;
        }
    }
    for (f, &first) in fill.iter_mut().zip(&start) {
        if *f == NONE {
            *f = first;
        }
    }

    // In order, member by member (most already are).
    for (m, &end) in fill.iter().enumerate() {
        let list = &mut events[start[m] as usize..end as usize];
        if !list.is_sorted() {
            list.sort_unstable();
        }
    }
    sweep_members(s, &bounds, &start, &fill, &events)
}

/// Every member's sweep over their events `events[start[m]..ends[m]]` (in order): the
/// timeline.
fn sweep_members(
    s: &Scope<'_>,
    bounds: &[i64],
    start: &[u32],
    ends: &[u32],
    events: &[i64],
) -> Timeline {
    let members = s.members();
    // 2. A calendar of local days over the span the events cover (milestones count days).
    let (mut lo, mut hi) = (i64::MAX, i64::MIN);
    for m in 0..members {
        let list = &events[start[m] as usize..ends[m] as usize];
        if let (Some(&first), Some(&last)) = (list.first(), list.last()) {
            lo = lo.min(first.div_euclid(16));
            hi = hi.max(last.div_euclid(16));
        }
    }
    let tz = s.p.calendar.tz();
    let calendar = if lo <= hi {
        crate::calendar::day_of_instant(tz, lo)
            .and_then(|a| Ok((a, crate::calendar::day_of_instant(tz, hi)?)))
            .and_then(|(a, b)| Calendar::new(tz, Period::Day, a, b))
            .ok()
    } else {
        None
    };

    // 3. One sweep per member, by runs of members of about equal events, one per core; the
    //    runs' members are concatenated and their moves added in run order.
    let sweep = Sweeper {
        s,
        bounds,
        calendar: calendar.as_ref(),
        start,
        ends,
        events,
    };
    let threads = std::thread::available_parallelism()
        .map_or(1, |c| c.get())
        .clamp(1, 4);
    let mut before = Vec::with_capacity(members + 1);
    let mut total = 0u64;
    for m in 0..members {
        before.push(total);
        total += u64::from(ends[m] - start[m]);
    }
    before.push(total);
    let mut cuts = vec![0usize];
    for k in 1..threads {
        let target = total * k as u64 / threads as u64;
        let m = before.partition_point(|&x| x < target).min(members);
        if m > *cuts.last().unwrap_or(&0) {
            cuts.push(m);
        }
    }
    cuts.push(members);
    cuts.dedup();
    let runs: Vec<SweepRun> = if cuts.len() <= 2 {
        vec![sweep.run(0, members)]
    } else {
        std::thread::scope(|scope| {
            let handles: Vec<_> = cuts
                .windows(2)
                .map(|w| {
                    let (lo, hi, sweep) = (w[0], w[1], &sweep);
                    scope.spawn(move || sweep.run(lo, hi))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                .collect()
        })
    };
    let mut out = Vec::new();
    let mut moves = vec![[[0i64; 5]; 5]; bounds.len().saturating_sub(1)];
    for (members, run_moves) in runs {
        out.extend(members);
        for (m, r) in moves.iter_mut().zip(run_moves) {
            for (a, b) in m.iter_mut().flatten().zip(r.iter().flatten()) {
                *a += b;
            }
        }
    }
    Timeline {
        members: out,
        moves,
    }
}

/// What every member's sweep reads.
struct Sweeper<'a, 's> {
    s: &'a Scope<'s>,
    bounds: &'a [i64],
    calendar: Option<&'a Calendar>,
    /// Member `m`'s events, in order: `events[start[m]..ends[m]]`.
    start: &'a [u32],
    ends: &'a [u32],
    events: &'a [i64],
}

impl Sweeper<'_, '_> {
    /// Members `lo..hi`, whose events (from `start[lo]` on) are `events`.
    fn run(&self, lo: usize, hi: usize) -> (Vec<MemberLevel>, Vec<[[i64; 5]; 5]>) {
        let lp = &self.s.p.levels;
        let reach = lp.reach();
        let as_of = self.s.p.as_of;
        let bounds = self.bounds;
        // Weight and level of each class, looked up once.
        let mut class_weight = [0u8; 16];
        let mut class_level = [0u8; 16];
        for c in 0..16u8 {
            class_weight[usize::from(c)] = lp.weights.of(c);
            class_level[usize::from(c)] = lp.level_of_weight(lp.weights.of(c));
        }
        let nb = bounds.len();
        let mut moves = vec![[[0i64; 5]; 5]; nb.saturating_sub(1)];
        let mut at_bounds = vec![0u8; nb];
        let mut out = Vec::new();
        let mut days: Vec<DayNo> = Vec::new();
        for m in lo..hi {
            let list = &self.events[self.start[m] as usize..self.ends[m] as usize];
            if list.is_empty() {
                continue;
            }
            // No level at any instant the report looks at: nothing to count or explain.
            let last = list[list.len() - 1] >> 4;
            let earliest = bounds.first().map_or(as_of, |&b| b.min(as_of));
            if last <= earliest.saturating_sub(reach) {
                continue;
            }
            let mut sw = Sweep::new(reach);
            days.clear();
            let mut ptr = [0usize; 3];
            let mut last_day = DayNo::MIN;
            // The instants the current day runs over: a new day is looked up only past its end.
            let mut day_end = i64::MIN;
            let mut j = 0;
            for &key in list.iter() {
                let ts = key >> 4;
                let class = (key & 15) as Class;
                while j < nb && bounds[j] < ts {
                    at_bounds[j] = sw.level_at(bounds[j]);
                    j += 1;
                }
                if ts >= day_end
                    && let Some(cal) = self.calendar
                    && let Some(day) = cal.day_of(ts)
                    && day != last_day
                {
                    last_day = day;
                    day_end = cal.day_start(day + 1).unwrap_or(i64::MAX);
                    days.push(day);
                    for (k, ms) in lp.milestones.iter().enumerate() {
                        if ms.active_days == 0 || ms.window_days == 0 {
                            continue;
                        }
                        let window = ms.window_days.min(crate::calendar::MAX_DAYS as u32) as DayNo;
                        let from = day - (window - 1);
                        while days[ptr[k]] < from {
                            ptr[k] += 1;
                        }
                        if (days.len() - ptr[k]) as u32 >= ms.active_days {
                            sw.event(ts, k as u8 + 2, 0, C_MILESTONE + k as u8);
                        }
                    }
                }
                let level = class_level[usize::from(class)];
                if level > 0 {
                    sw.event(ts, level, class_weight[usize::from(class)], class);
                }
            }
            while j < nb {
                at_bounds[j] = sw.level_at(bounds[j]);
                j += 1;
            }
            for p in 0..nb.saturating_sub(1) {
                let (a, b) = (usize::from(at_bounds[p]), usize::from(at_bounds[p + 1]));
                if (a, b) != (0, 0) {
                    moves[p][a][b] += 1;
                }
            }
            let level = sw.level_at(as_of);
            if level == 0 {
                continue;
            }
            let l = usize::from(level);
            let mut since = sw.run_start[l];
            for higher in l + 1..=4 {
                let ts = sw.last[higher].0;
                if ts != i64::MIN {
                    since = since.max(ts.saturating_add(reach));
                }
            }
            let (reason_at, reason_weight, reason_class) = sw.last[l];
            out.push(MemberLevel {
                member: m as u32,
                level,
                since,
                reason_class,
                reason_weight,
                reason_at,
            });
        }
        (out, moves)
    }
}

/// The slow model the fast sweep is tested against: the definition applied literally, member
/// by member, instant by instant.
#[cfg(test)]
pub(crate) mod model {
    use super::*;

    /// (ts, level, weight, class) events of every member, straight from the definition.
    pub fn events(s: &Scope<'_>) -> std::collections::BTreeMap<u32, Vec<(i64, u8, u8, Class)>> {
        let snap = s.snap;
        let lp = &s.p.levels;
        let mut acts: std::collections::BTreeMap<u32, Vec<(i64, Class)>> = Default::default();
        for slot in 0..snap.slots() {
            if !s.counted(slot) {
                continue;
            }
            let m = snap.member_of(slot);
            if s.is_anonymous(m as usize) {
                continue;
            }
            if let Some(c) = class_of(s, slot) {
                acts.entry(m).or_default().push((snap.ts[slot], c));
            }
        }
        let tz = s.p.calendar.tz();
        let mut out = std::collections::BTreeMap::new();
        for (m, list) in acts {
            let mut ev = Vec::new();
            let mut active_days: Vec<DayNo> = list
                .iter()
                .map(|&(t, _)| crate::calendar::day_of_instant(tz, t).unwrap())
                .collect();
            active_days.sort_unstable();
            active_days.dedup();
            for &d in &active_days {
                // The instant day d became active: its earliest activity.
                let first = list
                    .iter()
                    .filter(|&&(t, _)| crate::calendar::day_of_instant(tz, t).unwrap() == d)
                    .map(|&(t, _)| t)
                    .min()
                    .unwrap();
                for (k, ms) in lp.milestones.iter().enumerate() {
                    if ms.window_days == 0 {
                        continue;
                    }
                    let n = active_days
                        .iter()
                        .filter(|&&x| x <= d && x > d - ms.window_days as DayNo)
                        .count() as u32;
                    if ms.active_days > 0 && n >= ms.active_days {
                        ev.push((first, k as u8 + 2, 0, C_MILESTONE + k as u8));
                    }
                }
            }
            for &(t, c) in &list {
                let w = lp.weights.of(c);
                let l = lp.level_of_weight(w);
                if l > 0 {
                    ev.push((t, l, w, c));
                }
            }
            out.insert(m, ev);
        }
        out
    }

    pub fn level_at(ev: &[(i64, u8, u8, Class)], reach: i64, t: i64) -> u8 {
        ev.iter()
            .filter(|e| e.0 <= t && e.0 > t - reach)
            .map(|e| e.1)
            .max()
            .unwrap_or(0)
    }

    pub fn timeline(s: &Scope<'_>) -> Timeline {
        let lp = &s.p.levels;
        let reach = lp.reach();
        let as_of = s.p.as_of;
        let bounds = boundaries(s);
        let mut moves = vec![[[0i64; 5]; 5]; bounds.len().saturating_sub(1)];
        let mut members = Vec::new();
        for (m, ev) in events(s) {
            for p in 0..bounds.len().saturating_sub(1) {
                let a = level_at(&ev, reach, bounds[p]);
                let b = level_at(&ev, reach, bounds[p + 1]);
                if (a, b) != (0, 0) {
                    moves[p][a as usize][b as usize] += 1;
                }
            }
            let level = level_at(&ev, reach, as_of);
            if level == 0 {
                continue;
            }
            // Levels change only when an event arrives or expires.
            let since = ev
                .iter()
                .flat_map(|e| [e.0, e.0 + reach])
                .filter(|&c| c <= as_of && level_at(&ev, reach, c) != level_at(&ev, reach, c - 1))
                .max()
                .unwrap();
            let reason = ev
                .iter()
                .filter(|e| e.1 == level && e.0 > as_of - reach)
                .map(|e| (e.0, e.2, e.3))
                .max()
                .unwrap();
            members.push(MemberLevel {
                member: m,
                level,
                since,
                reason_class: reason.2,
                reason_weight: reason.1,
                reason_at: reason.0,
            });
        }
        Timeline { members, moves }
    }
}
