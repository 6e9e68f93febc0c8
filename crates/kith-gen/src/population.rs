//! The members: who they are (role, how much they start things, how much they help), who is
//! active now, and the scheduled changes in their lives (activation after a welcoming first
//! post, drifting away in halving steps, stopping).

use rand::Rng;

use crate::names::Badge;
use crate::sampler::WeightedSet;

/// Index of a member; the platform id is `u{index + 1}`.
pub(crate) type MemberIx = u32;

/// No member (e.g. a message addressed to nobody).
pub(crate) const NOBODY: MemberIx = u32::MAX;

/// The welcome bot and the CI bot are always the first two members.
pub(crate) const WELCOME_BOT: MemberIx = 0;
pub(crate) const CI_BOT: MemberIx = 1;

#[derive(Debug, Clone, Copy)]
pub(crate) struct Member {
    pub badge: Badge,
    /// Weight for starting threads while active (scaled by 100).
    pub propensity: u32,
    /// Weight for answering others while active (scaled by 100).
    pub help: u32,
    /// Writes hostile replies now and then.
    pub troll: bool,
}

/// A scheduled change in a member's life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Change {
    /// Starts participating with their propensity (a newcomer who stayed).
    Activate,
    /// Drifting: activity halves.
    Decay,
    /// Stops participating (and sometimes says so with a `leave`).
    Stop,
    /// A lurker stops reacting.
    StopLurking,
}

pub(crate) struct Population {
    pub members: Vec<Member>,
    /// Active members by how often they start things.
    pub initiators: WeightedSet,
    /// Active members by how often they answer.
    pub helpers: WeightedSet,
    /// Lurkers who only react, for a while after joining.
    pub lurkers: WeightedSet,
    pub team: Vec<MemberIx>,
    /// Changes by simulated day.
    changes: Vec<Vec<(MemberIx, Change)>>,
    /// Number of members with a non-zero initiator weight.
    pub active: u32,
}

impl Population {
    pub(crate) fn new(expected_members: usize, days: u32) -> Population {
        Population {
            members: Vec::with_capacity(expected_members.min(1 << 24)),
            initiators: WeightedSet::with_capacity(expected_members),
            helpers: WeightedSet::with_capacity(expected_members),
            lurkers: WeightedSet::with_capacity(expected_members),
            team: Vec::new(),
            changes: vec![Vec::new(); days as usize + 1],
            active: 0,
        }
    }

    pub(crate) fn add(&mut self, member: Member) -> MemberIx {
        self.members.push(member);
        (self.members.len() - 1) as MemberIx
    }

    pub(crate) fn schedule(&mut self, day: u32, who: MemberIx, change: Change) {
        if let Some(list) = self.changes.get_mut(day as usize) {
            list.push((who, change));
        }
    }

    pub(crate) fn take_changes(&mut self, day: u32) -> Vec<(MemberIx, Change)> {
        self.changes
            .get_mut(day as usize)
            .map(std::mem::take)
            .unwrap_or_default()
    }

    pub(crate) fn set_active(&mut self, who: MemberIx, initiative: u64, help: u64) {
        let slot = who as usize;
        let was = self.initiators.get(slot) > 0;
        self.initiators.set(slot, initiative);
        self.helpers.set(slot, help);
        match (was, initiative > 0) {
            (false, true) => self.active += 1,
            (true, false) => self.active -= 1,
            _ => {}
        }
    }

    /// Halves a member's activity (drift).
    pub(crate) fn decay(&mut self, who: MemberIx) {
        let slot = who as usize;
        let (i, h) = (self.initiators.get(slot), self.helpers.get(slot));
        self.set_active(who, (i / 2).max(u64::from(i > 0)), h / 2);
    }

    pub(crate) fn badge(&self, who: MemberIx) -> Badge {
        self.members
            .get(who as usize)
            .map_or(Badge::Member, |m| m.badge)
    }

    pub(crate) fn is_bot(&self, who: MemberIx) -> bool {
        matches!(self.badge(who), Badge::WelcomeBot | Badge::CiBot)
    }

    pub(crate) fn is_troll(&self, who: MemberIx) -> bool {
        self.members.get(who as usize).is_some_and(|m| m.troll)
    }

    pub(crate) fn random_team<R: Rng>(&self, rng: &mut R) -> MemberIx {
        if self.team.is_empty() {
            return CI_BOT;
        }
        self.team[rng.random_range(0..self.team.len())]
    }

    /// Someone who starts a thread now: an active member by weight, else staff.
    pub(crate) fn initiator<R: Rng>(&self, rng: &mut R) -> MemberIx {
        match self.initiators.sample(rng) {
            Some(slot) => slot as MemberIx,
            None => self.random_team(rng),
        }
    }

    /// Someone other than `not` who answers: staff with probability `staff`, else a helper.
    pub(crate) fn responder<R: Rng>(
        &self,
        rng: &mut R,
        not: MemberIx,
        staff: f64,
        peers: bool,
    ) -> MemberIx {
        for _ in 0..4 {
            let who = if rng.random_bool(staff) {
                self.random_team(rng)
            } else {
                let set = if peers {
                    &self.initiators
                } else {
                    &self.helpers
                };
                match set.sample(rng) {
                    Some(slot) => slot as MemberIx,
                    None => self.random_team(rng),
                }
            };
            if who != not {
                return who;
            }
        }
        self.team
            .iter()
            .copied()
            .find(|&t| t != not)
            .unwrap_or(CI_BOT)
    }

    /// Someone who reacts: mostly active members, sometimes lurkers.
    pub(crate) fn reactor<R: Rng>(&self, rng: &mut R) -> MemberIx {
        let set = if rng.random_bool(0.3) && self.lurkers.total() > 0 {
            &self.lurkers
        } else {
            &self.initiators
        };
        match set.sample(rng) {
            Some(slot) => slot as MemberIx,
            None => self.random_team(rng),
        }
    }
}

/// A heavy-tailed weight ≥ 1 (Pareto with shape `alpha`), capped, scaled by 100.
pub(crate) fn pareto_weight<R: Rng>(rng: &mut R, alpha: f64, cap: f64) -> u32 {
    let u: f64 = rng.random_range(f64::EPSILON..1.0);
    (u.powf(-1.0 / alpha).min(cap) * 100.0) as u32
}
