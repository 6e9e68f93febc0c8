//! Shapes of a community measured straight from its activities with SPEC §4.0 definitions,
//! streaming (per member and per thread state only). Shared by `tests/shapes.rs` and
//! `examples/shape_report.rs`.

#![allow(dead_code)]

use std::collections::HashMap;
use std::fmt;

use kith_model::{Activity, Kind};

const DAY: i64 = 86_400;

#[derive(Default)]
struct MemberStat {
    participations: u32,
    first: Option<i64>,
    /// The thread the member opened with their first participation, if it was a post.
    first_thread: Option<u64>,
    retained30: bool,
    staff_or_bot: bool,
}

struct ThreadStat {
    opened: i64,
    author: u32,
    community: bool,
    first_response: Option<i64>,
}

/// Accumulates activities; [`Shapes::finish`] gives the figures.
#[derive(Default)]
pub struct Shapes {
    members: Vec<MemberStat>,
    threads: HashMap<u64, ThreadStat>,
    per_day: HashMap<i64, u64>,
    kinds: [u64; 13],
    last_ts: i64,
    pub count: u64,
}

fn num(id: &str) -> u64 {
    id[1..].parse().unwrap_or(0)
}

impl Shapes {
    pub fn add(&mut self, a: &Activity) {
        self.count += 1;
        self.kinds[a.kind.code() as usize] += 1;
        self.last_ts = self.last_ts.max(a.ts.secs);
        *self.per_day.entry(a.ts.secs.div_euclid(DAY)).or_default() += 1;
        let Some(author) = &a.author else { return };
        let ix = num(&author.id) as usize;
        if self.members.len() <= ix {
            self.members.resize_with(ix + 1, MemberStat::default);
        }
        let bot = author.bot == Some(true);
        let staff = author.team == Some(true);
        let m = &mut self.members[ix];
        m.staff_or_bot |= bot || staff;
        if a.kind.is_participation() {
            m.participations += 1;
            match m.first {
                None => {
                    m.first = Some(a.ts.secs);
                    if a.kind == Kind::Post {
                        m.first_thread = a.thread.as_deref().map(num);
                    }
                }
                Some(first) => {
                    let k = (a.ts.secs - first).div_euclid(DAY);
                    if (30..=59).contains(&k) {
                        m.retained30 = true;
                    }
                }
            }
        }
        if a.kind == Kind::Post
            && let Some(t) = a.thread.as_deref()
        {
            self.threads.insert(
                num(t),
                ThreadStat {
                    opened: a.ts.secs,
                    author: ix as u32,
                    community: !(bot || staff),
                    first_response: None,
                },
            );
        } else if matches!(a.kind, Kind::Reply | Kind::Answer)
            && !bot
            && let Some(t) = a.thread.as_deref()
            && let Some(th) = self.threads.get_mut(&num(t))
            && th.author != ix as u32
            && th.first_response.is_none()
        {
            th.first_response = Some(a.ts.secs - th.opened);
        }
    }

    pub fn finish(&self) -> Report {
        let as_of = self.last_ts;
        // Participation concentration and one-and-done, community members only.
        let community: Vec<&MemberStat> = self
            .members
            .iter()
            .filter(|m| !m.staff_or_bot && (m.first.is_some() || m.participations == 0))
            .collect();
        let mut counts: Vec<u32> = community.iter().map(|m| m.participations).collect();
        counts.sort_unstable_by(|a, b| b.cmp(a));
        let total: u64 = counts.iter().map(|&c| u64::from(c)).sum();
        let top_n = counts.len().div_ceil(100);
        let top: u64 = counts[..top_n].iter().map(|&c| u64::from(c)).sum();
        let at_most_one = counts.iter().filter(|&&c| c <= 1).count();
        let participants = counts.iter().filter(|&&c| c >= 1).count();
        let exactly_one = counts.iter().filter(|&&c| c == 1).count();

        // First response time over community threads not open at as-of.
        let mut ttfr: Vec<i64> = Vec::new();
        let mut closed = 0u64;
        let mut unanswered = 0u64;
        for t in self.threads.values().filter(|t| t.community) {
            match t.first_response {
                Some(d) => {
                    ttfr.push(d);
                    closed += 1;
                }
                None if as_of - t.opened >= 30 * DAY => {
                    unanswered += 1;
                    closed += 1;
                }
                None => {}
            }
        }
        ttfr.sort_unstable();
        let rank = |q: f64| {
            ttfr.get(((q * ttfr.len() as f64).ceil() as usize).max(1) - 1)
                .copied()
                .unwrap_or(0)
        };

        // Weekday vs weekend mean daily volume, whole days only.
        let (first_day, last_day) = (
            self.per_day.keys().min().copied().unwrap_or(0),
            as_of.div_euclid(DAY),
        );
        let (mut wd, mut wd_n, mut we, mut we_n) = (0u64, 0u64, 0u64, 0u64);
        for day in first_day + 1..last_day {
            let n = self.per_day.get(&day).copied().unwrap_or(0);
            if (day + 3).rem_euclid(7) >= 5 {
                we += n;
                we_n += 1;
            } else {
                wd += n;
                wd_n += 1;
            }
        }

        // Response effect on day-30 retention (first participation a post, window ended).
        let (mut fast, mut fast_kept, mut never, mut never_kept) = (0u64, 0u64, 0u64, 0u64);
        for m in &community {
            let (Some(first), Some(thread)) = (m.first, m.first_thread) else {
                continue;
            };
            if as_of - first < 60 * DAY {
                continue;
            }
            let Some(t) = self.threads.get(&thread) else {
                continue;
            };
            match t.first_response {
                Some(d) if d <= DAY => {
                    fast += 1;
                    fast_kept += u64::from(m.retained30);
                }
                None => {
                    never += 1;
                    never_kept += u64::from(m.retained30);
                }
                Some(_) => {}
            }
        }
        let ratio = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        Report {
            activities: self.count,
            members: community.len() as u64,
            participants: participants as u64,
            top1_share: ratio(top, total),
            at_most_one_share: ratio(at_most_one as u64, community.len() as u64),
            one_and_done_share: ratio(exactly_one as u64, participants as u64),
            threads: closed,
            ttfr_median_h: rank(0.5) as f64 / 3600.0,
            ttfr_p90_h: rank(0.9) as f64 / 3600.0,
            unanswered_share: ratio(unanswered, closed),
            weekday_weekend: ratio(wd * we_n, we * wd_n),
            retained_fast: ratio(fast_kept, fast),
            retained_never: ratio(never_kept, never),
            newcomers_fast: fast,
            newcomers_never: never,
            kinds: self.kinds,
        }
    }
}

/// The measured figures.
#[derive(Debug, Clone)]
pub struct Report {
    pub activities: u64,
    /// Community members (not staff, not bots) seen.
    pub members: u64,
    pub participants: u64,
    /// Share of participation by the most active 1 % of members.
    pub top1_share: f64,
    /// Members with at most one participation (never participate again after their first).
    pub at_most_one_share: f64,
    /// Of members who participated, those with exactly one participation.
    pub one_and_done_share: f64,
    pub threads: u64,
    pub ttfr_median_h: f64,
    pub ttfr_p90_h: f64,
    pub unanswered_share: f64,
    pub weekday_weekend: f64,
    /// Day-30 retention of newcomers whose first post was answered within 24 h.
    pub retained_fast: f64,
    /// Day-30 retention of newcomers whose first post was never answered.
    pub retained_never: f64,
    pub newcomers_fast: u64,
    pub newcomers_never: u64,
    pub kinds: [u64; 13],
}

impl Report {
    pub fn response_effect(&self) -> f64 {
        if self.retained_never == 0.0 {
            f64::INFINITY
        } else {
            self.retained_fast / self.retained_never
        }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "activities                         {}", self.activities)?;
        writeln!(
            f,
            "community members / participants   {} / {}",
            self.members, self.participants
        )?;
        writeln!(
            f,
            "top 1 % share of participation     {:.3}",
            self.top1_share
        )?;
        writeln!(
            f,
            "members with <= 1 participation    {:.3}",
            self.at_most_one_share
        )?;
        writeln!(
            f,
            "participants with exactly 1        {:.3}",
            self.one_and_done_share
        )?;
        writeln!(f, "community threads (not open)       {}", self.threads)?;
        writeln!(
            f,
            "first response median / p90 (h)    {:.2} / {:.2}",
            self.ttfr_median_h, self.ttfr_p90_h
        )?;
        writeln!(
            f,
            "unanswered share                   {:.3}",
            self.unanswered_share
        )?;
        writeln!(
            f,
            "weekday / weekend daily volume     {:.2}",
            self.weekday_weekend
        )?;
        writeln!(
            f,
            "day-30 retention answered <=24h    {:.3} (n={})\nday-30 retention never answered    {:.3} (n={})\nresponse effect                    {:.2}x",
            self.retained_fast,
            self.newcomers_fast,
            self.retained_never,
            self.newcomers_never,
            self.response_effect()
        )?;
        write!(f, "kinds                             ")?;
        for k in Kind::ALL {
            write!(f, " {}={}", k.as_str(), self.kinds[k.code() as usize])?;
        }
        writeln!(f)
    }
}
