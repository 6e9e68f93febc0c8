//! The day-stepped simulation: each day applies scheduled member changes, lets new members
//! arrive, runs the calendar (events, announcements), then starts threads until the day holds
//! its planned volume. Whole threads are generated when they start and their messages are
//! filed into day buckets ahead; the current day is sorted and handed out.

use std::collections::VecDeque;

use kith_model::Kind;
use rand_chacha::ChaCha8Rng;

use crate::calendar::{DAY, Plan};
use crate::population::{MemberIx, Population};
use crate::texts::Intent;

/// How many days ahead a thread may still receive messages; later ones are dropped.
pub(crate) const HORIZON: usize = 64;

/// A channel of the generated community.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Channel {
    General,
    Help,
    Introductions,
    Showcase,
    Events,
    Feedback,
    OffTopic,
    Announcements,
    Contributions,
}

impl Channel {
    pub(crate) const fn name(self) -> &'static str {
        match self {
            Channel::General => "general",
            Channel::Help => "help",
            Channel::Introductions => "introductions",
            Channel::Showcase => "showcase",
            Channel::Events => "events",
            Channel::Feedback => "feedback",
            Channel::OffTopic => "off-topic",
            Channel::Announcements => "announcements",
            Channel::Contributions => "contributions",
        }
    }
}

/// An activity decided but not yet written out: compact, so that threads alive cost little.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pending {
    /// Epoch seconds.
    pub ts: i64,
    pub id: u64,
    pub kind: Kind,
    pub channel: Channel,
    pub author: MemberIx,
    /// Thread id (the opening activity's id), 0 for none.
    pub thread: u64,
    /// Replied-to activity id, 0 for none.
    pub reply_to: u64,
    pub to: MemberIx,
    pub intent: Option<Intent>,
    /// Event number, pull-request number or emoji index, by kind.
    pub aux: u32,
}

pub(crate) struct Sim {
    pub rng: ChaCha8Rng,
    pub pop: Population,
    pub plan: Plan,
    /// Epoch seconds at the start of simulated day 0.
    pub start: i64,
    pub days: u32,
    /// The day being built.
    pub day: u32,
    /// Bucket 0 is `day`, bucket k is `day + k`.
    pub buckets: VecDeque<Vec<Pending>>,
    pub next_id: u64,
    pub next_event: u32,
    pub next_pr: u32,
    /// Activities landed on days before `day` (including any cut off at the total).
    pub landed: u64,
    pub total: u64,
    pub founders_left: u32,
}

impl Sim {
    pub(crate) fn new_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    pub(crate) fn day_start(&self, day: u32) -> i64 {
        self.start + i64::from(day) * DAY
    }

    /// Files an activity into its day; drops it if it falls after the span or beyond the horizon.
    pub(crate) fn push(&mut self, p: Pending) {
        let offset = (p.ts - self.day_start(self.day)).div_euclid(DAY);
        if offset < 0 {
            // Cannot happen (messages follow what they answer); keep it today rather than lose it.
            let ts = self.day_start(self.day);
            self.buckets[0].push(Pending { ts, ..p });
            return;
        }
        let offset = offset as usize;
        if offset >= HORIZON || self.day as usize + offset >= self.days as usize {
            return;
        }
        self.buckets[offset].push(p);
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn emit(
        &mut self,
        ts: i64,
        kind: Kind,
        channel: Channel,
        author: MemberIx,
        thread: u64,
        reply_to: u64,
        to: MemberIx,
        intent: Option<Intent>,
        aux: u32,
    ) -> u64 {
        let id = self.new_id();
        let thread = if thread == u64::MAX { id } else { thread };
        self.push(Pending {
            ts,
            id,
            kind,
            channel,
            author,
            thread,
            reply_to,
            to,
            intent,
            aux,
        });
        id
    }

    pub(crate) fn landed_today(&self) -> u64 {
        self.buckets[0].len() as u64
    }

    /// Simulates the current day and returns its activities in time order; `None` when done.
    pub(crate) fn next_day(&mut self) -> Option<Vec<Pending>> {
        if self.day >= self.days || self.landed >= self.total {
            return None;
        }
        self.apply_changes();
        self.arrivals();
        self.calendar();
        let target = self.plan.cumulative[self.day as usize];
        // Every thread puts at least its opening activity on this day, so this ends.
        while self.landed + self.landed_today() < target {
            self.spontaneous();
        }
        let mut today = self.buckets.pop_front().unwrap_or_default();
        self.buckets.push_back(Vec::new());
        today.sort_unstable_by_key(|p| (p.ts, p.id));
        let room = self.total - self.landed;
        today.truncate(usize::try_from(room).unwrap_or(usize::MAX));
        self.landed += today.len() as u64;
        self.day += 1;
        Some(today)
    }
}
