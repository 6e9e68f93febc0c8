//! How members behave: arrivals and newcomers (whose staying depends on whether and how fast
//! their first post was answered), regulars who drift away, threads with answers, follow-ups,
//! thanks, solutions, reactions and the odd hostile message, events with RSVPs and attendance,
//! feedback, contributions, and the bots.

use kith_model::Kind;
use rand::Rng;

use crate::calendar::{DAY, delay, is_weekend, second_of_day, weekday};
use crate::names::Badge;
use crate::population::{CI_BOT, Change, Member, MemberIx, NOBODY, WELCOME_BOT, pareto_weight};
use crate::sim::{Channel, Sim};
use crate::texts::Intent;

const HOUR: f64 = 3600.0;

/// Members per activity (SPEC §8 scale: 500,000 members for 10,000,000 activities).
pub(crate) const MEMBERS_PER_ACTIVITY: f64 = 0.05;

/// Share of arrivals who only join (and maybe react): they never post.
const LURKERS: f64 = 0.40;

/// Chance that a newcomer stays, by how long their first post waited for a human response.
fn stay_chance(first_response: Option<i64>) -> f64 {
    match first_response {
        None => 0.12,
        Some(s) if s <= 3600 => 0.50,
        Some(s) if s <= 86_400 => 0.38,
        Some(s) if s <= 3 * 86_400 => 0.25,
        Some(_) => 0.18,
    }
}

/// How a thread is answered, by channel: (chance of a human response, median delay to the
/// first response in hours, staff share of first responders, responders are peers rather than
/// helpers, mean extra replies as log-normal mu, reactions on the opening post).
struct Style {
    answered: f64,
    median_h: f64,
    staff: f64,
    peers: bool,
    mu: f64,
    reactions: f64,
}

fn style(channel: Channel) -> Style {
    let s = |answered, median_h, staff, peers, mu, reactions| Style {
        answered,
        median_h,
        staff,
        peers,
        mu,
        reactions,
    };
    match channel {
        Channel::Help => s(0.88, 1.6, 0.15, false, 0.6, 0.4),
        Channel::Introductions => s(0.86, 2.5, 0.25, true, -0.2, 1.6),
        Channel::General => s(0.86, 2.0, 0.08, true, 0.9, 0.9),
        Channel::OffTopic => s(0.82, 1.5, 0.03, true, 0.9, 1.0),
        Channel::Showcase => s(0.85, 3.0, 0.1, true, 0.3, 2.5),
        Channel::Feedback => s(0.8, 8.0, 0.6, true, 0.0, 1.5),
        Channel::Contributions => s(0.7, 6.0, 0.7, false, -0.3, 0.3),
        Channel::Announcements => s(0.55, 3.0, 0.0, true, 0.2, 4.0),
        Channel::Events => s(0.5, 4.0, 0.0, true, -0.2, 2.0),
    }
}

const EMOJI_COUNT: u32 = 10;

impl Sim {
    pub(crate) fn apply_changes(&mut self) {
        let day = self.day;
        for (who, change) in self.pop.take_changes(day) {
            match change {
                Change::Activate => {
                    if let Some(m) = self.pop.members.get(who as usize).copied() {
                        self.pop
                            .set_active(who, u64::from(m.propensity), u64::from(m.help));
                    }
                }
                Change::Decay => self.pop.decay(who),
                Change::Stop => {
                    self.pop.set_active(who, 0, 0);
                    if self.rng.random_bool(0.12) {
                        let ts = self.day_start(day) + second_of_day(&mut self.rng);
                        self.emit(
                            ts,
                            Kind::Leave,
                            Channel::General,
                            who,
                            0,
                            0,
                            NOBODY,
                            None,
                            0,
                        );
                    }
                }
                Change::StopLurking => self.pop.lurkers.set(who as usize, 0),
            }
        }
    }

    /// The bots and the staff, present from the first day.
    pub(crate) fn founding_staff(&mut self, team: u32) {
        for badge in [Badge::WelcomeBot, Badge::CiBot] {
            let who = self.pop.add(Member {
                badge,
                propensity: 0,
                help: 0,
                troll: false,
            });
            let ts = self.day_start(0) + self.rng.random_range(0..3600);
            self.emit(ts, Kind::Join, Channel::General, who, 0, 0, NOBODY, None, 0);
        }
        for _ in 0..team {
            let who = self.pop.add(Member {
                badge: Badge::Team,
                propensity: 800,
                help: 1500,
                troll: false,
            });
            self.pop.team.push(who);
            self.pop.set_active(who, 800, 1500);
            let ts = self.day_start(0) + self.rng.random_range(0..4 * 3600);
            self.emit(ts, Kind::Join, Channel::General, who, 0, 0, NOBODY, None, 0);
        }
        debug_assert_eq!((WELCOME_BOT, CI_BOT), (0, 1));
    }

    /// New members of the day: as many as the plan's volume calls for (growth and seasonality
    /// come with it), plus the founding members in the first two weeks.
    pub(crate) fn arrivals(&mut self) {
        let expected = self.plan.daily[self.day as usize] * MEMBERS_PER_ACTIVITY;
        let mut n = expected.floor() as u32 + u32::from(self.rng.random_bool(expected.fract()));
        let mut founders = 0;
        if self.founders_left > 0 {
            let days_left = 14u32.saturating_sub(self.day).max(1);
            founders = self.founders_left.div_ceil(days_left);
            self.founders_left -= founders;
            n += founders;
        }
        for i in 0..n {
            self.arrive(i < founders);
        }
    }

    fn arrive(&mut self, founder: bool) {
        let troll = self.rng.random_bool(0.01);
        let propensity = pareto_weight(&mut self.rng, 1.1, 300.0);
        let help = if self.rng.random_bool(0.25) {
            propensity.saturating_mul(pareto_weight(&mut self.rng, 1.0, 40.0) / 100)
        } else {
            propensity / 5
        };
        let who = self.pop.add(Member {
            badge: Badge::Member,
            propensity,
            help,
            troll,
        });
        let day_start = self.day_start(self.day);
        let join_ts = day_start + second_of_day(&mut self.rng);
        self.emit(
            join_ts,
            Kind::Join,
            Channel::General,
            who,
            0,
            0,
            NOBODY,
            None,
            0,
        );

        if !founder && self.rng.random_bool(LURKERS) {
            // Lurkers react for a few weeks, then fade.
            self.pop.lurkers.set(who as usize, 1);
            let until = self.day + self.rng.random_range(7..90);
            self.pop.schedule(until, who, Change::StopLurking);
            return;
        }
        // The first post: often within the hour, sometimes days later.
        let first_ts = join_ts + delay(&mut self.rng, 1.5 * HOUR, 2.2).min(20 * DAY);
        let (channel, intent) = match self.rng.random_range(0..100) {
            0..45 => (Channel::Introductions, Intent::Introduction),
            45..80 => (Channel::Help, Intent::Question),
            80..90 => (Channel::Help, Intent::BugReport),
            90..95 => (Channel::Showcase, Intent::Showcase),
            _ => (Channel::General, Intent::Discussion),
        };
        let first_response = self.thread(who, first_ts, Kind::Post, channel, intent, true);
        let stays = founder || self.rng.random_bool(stay_chance(first_response));
        if !stays {
            return;
        }
        let first_day = ((first_ts - self.start).div_euclid(DAY) + 1) as u32;
        let median = if founder { 400.0 } else { 110.0 };
        let life = (delay(&mut self.rng, median, 1.0) as u32).clamp(20, 5000);
        self.pop.schedule(first_day, who, Change::Activate);
        // Drift: activity halves three times over the last 40 % of the member's life, then stops.
        for share in [0.6, 0.75, 0.9] {
            self.pop.schedule(
                first_day + (f64::from(life) * share) as u32,
                who,
                Change::Decay,
            );
        }
        self.pop.schedule(first_day + life, who, Change::Stop);
    }

    /// Staff and bots on the calendar: announcements, releases, digests and events.
    pub(crate) fn calendar(&mut self) {
        let day_start = self.day_start(self.day);
        let epoch_day = day_start.div_euclid(DAY);
        let wd = weekday(epoch_day);
        if wd == 0 && self.rng.random_bool(0.5) {
            let who = self.pop.random_team(&mut self.rng);
            let ts = day_start + 9 * 3600 + self.rng.random_range(0..7200);
            self.thread(
                who,
                ts,
                Kind::Post,
                Channel::Announcements,
                Intent::Announcement,
                false,
            );
        }
        if wd == 4 {
            let ts = day_start + 8 * 3600;
            self.thread(
                WELCOME_BOT,
                ts,
                Kind::Post,
                Channel::General,
                Intent::Digest,
                false,
            );
        }
        if wd < 5 && self.rng.random_bool(0.1) {
            let ts = day_start + 10 * 3600 + self.rng.random_range(0..28_800);
            self.thread(
                CI_BOT,
                ts,
                Kind::Post,
                Channel::Announcements,
                Intent::Release,
                false,
            );
        }
        // An event every week (every other week while the community is small), announced
        // eight days ahead, with RSVPs until it starts and attendance on the day.
        let weekly = self.pop.active >= 200 || (epoch_day / 7) % 2 == 0;
        if wd == 1 && weekly && self.day + 9 < self.days {
            self.event(day_start);
        }
    }

    fn event(&mut self, day_start: i64) {
        self.next_event += 1;
        let number = self.next_event;
        let host = self.pop.random_team(&mut self.rng);
        let announce_ts = day_start + 15 * 3600 + self.rng.random_range(0..3600);
        let starts = day_start + 8 * DAY + 17 * 3600;
        // The announcement is the first activity the thread emits: its id is the next one.
        let post = self.next_id + 1;
        self.thread_with(
            host,
            announce_ts,
            Kind::Post,
            Channel::Events,
            Intent::EventAnnouncement,
            false,
            number,
        );
        let lambda = 4.0 + 0.02 * f64::from(self.pop.active);
        let rsvps = (lambda + lambda.sqrt() * self.rng.sample::<f64, _>(rand_distr::StandardNormal))
            .max(1.0) as u32;
        for _ in 0..rsvps {
            let who = self.pop.reactor(&mut self.rng);
            let ts = announce_ts + self.rng.random_range(60..(starts - announce_ts));
            self.emit(
                ts,
                Kind::Rsvp,
                Channel::Events,
                who,
                post,
                post,
                host,
                None,
                number,
            );
            if self.rng.random_bool(0.6) {
                let ts = starts + self.rng.random_range(-300..900);
                self.emit(
                    ts,
                    Kind::Attend,
                    Channel::Events,
                    who,
                    0,
                    0,
                    NOBODY,
                    None,
                    number,
                );
            }
        }
        for _ in 0..rsvps / 8 {
            let who = self.pop.reactor(&mut self.rng);
            let ts = starts + self.rng.random_range(0..1800);
            self.emit(
                ts,
                Kind::Attend,
                Channel::Events,
                who,
                0,
                0,
                NOBODY,
                None,
                number,
            );
        }
        let ts = starts - 600;
        self.emit(
            ts,
            Kind::Attend,
            Channel::Events,
            host,
            0,
            0,
            NOBODY,
            None,
            number,
        );
    }

    /// One thing an active member starts today: a thread, a feedback item or a contribution.
    pub(crate) fn spontaneous(&mut self) {
        let who = self.pop.initiator(&mut self.rng);
        let ts = self.day_start(self.day) + second_of_day(&mut self.rng);
        let staff = self.pop.badge(who) == Badge::Team;
        let (kind, channel, intent) = match self.rng.random_range(0..100) {
            0..24 => (Kind::Post, Channel::Help, Intent::Question),
            24..31 => (Kind::Post, Channel::Help, Intent::BugReport),
            31..47 => (Kind::Post, Channel::General, Intent::Discussion),
            47..50 => (Kind::Post, Channel::General, Intent::Praise),
            50..53 => (Kind::Post, Channel::General, Intent::Complaint),
            53..56 => (Kind::Post, Channel::General, Intent::Question),
            56..70 => (Kind::Post, Channel::OffTopic, Intent::Chatter),
            70..79 => (Kind::Post, Channel::Showcase, Intent::Showcase),
            79..86 => (Kind::Feedback, Channel::Feedback, Intent::FeatureRequest),
            86..88 => (Kind::Feedback, Channel::Feedback, Intent::BugReport),
            88..89 => (Kind::Feedback, Channel::Feedback, Intent::Complaint),
            _ if staff => (Kind::Post, Channel::Announcements, Intent::Announcement),
            _ => (
                Kind::Contribution,
                Channel::Contributions,
                Intent::Contribution,
            ),
        };
        self.thread(who, ts, kind, channel, intent, false);
    }

    pub(crate) fn thread(
        &mut self,
        op: MemberIx,
        ts: i64,
        kind: Kind,
        channel: Channel,
        intent: Intent,
        newcomer: bool,
    ) -> Option<i64> {
        let aux = if kind == Kind::Contribution {
            self.next_pr += 1;
            self.next_pr
        } else {
            0
        };
        self.thread_with(op, ts, kind, channel, intent, newcomer, aux)
    }

    /// Starts a thread and generates all of it; returns the delay to the first human
    /// response by someone other than `op`, if any.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn thread_with(
        &mut self,
        op: MemberIx,
        ts: i64,
        kind: Kind,
        channel: Channel,
        intent: Intent,
        newcomer: bool,
        aux: u32,
    ) -> Option<i64> {
        let post = self.emit(
            ts,
            kind,
            channel,
            op,
            u64::MAX,
            0,
            NOBODY,
            Some(intent),
            aux,
        );
        let st = style(channel);
        self.reactions(post, post, op, ts, channel, st.reactions);
        let bot_thread = self.pop.is_bot(op);
        if newcomer && channel == Channel::Introductions {
            let t = ts + self.rng.random_range(20..180);
            self.emit(
                t,
                Kind::Reply,
                channel,
                WELCOME_BOT,
                post,
                post,
                op,
                Some(Intent::BotWelcome),
                0,
            );
        }
        if kind == Kind::Contribution {
            let t = ts + self.rng.random_range(300..1800);
            self.emit(
                t,
                Kind::Reply,
                channel,
                CI_BOT,
                post,
                post,
                op,
                Some(Intent::CiResult),
                0,
            );
        }
        let mut answered = st.answered;
        if newcomer {
            answered -= 0.04;
        }
        if bot_thread || !self.rng.random_bool(answered.clamp(0.0, 1.0)) {
            return None;
        }
        let mut median = st.median_h * HOUR;
        if is_weekend(ts.div_euclid(DAY)) {
            median *= 1.7;
        }
        let first_delay = delay(&mut self.rng, median, 1.5).min(40 * DAY);
        let first = self.pop.responder(&mut self.rng, op, st.staff, st.peers);
        let extra = (self.rng.sample::<f64, _>(rand_distr::StandardNormal) * 1.0 + st.mu)
            .exp()
            .floor() as u32;
        let extra = extra.min(60);

        let mut t = ts + first_delay;
        let mut last_id = post;
        let mut last_author = op;
        let mut answer: Option<(u64, MemberIx)> = None;
        let mut responders: [MemberIx; 4] = [first; 4];
        let mut n_responders = 1usize;
        for i in 0..=extra {
            let (author, to) = if i == 0 {
                (first, op)
            } else if last_author != op && self.rng.random_bool(0.4) {
                (op, last_author)
            } else if self.rng.random_bool(0.5) {
                (
                    responders[self.rng.random_range(0..n_responders)],
                    last_author,
                )
            } else {
                let r = self
                    .pop
                    .responder(&mut self.rng, op, st.staff * 0.5, st.peers);
                if n_responders < responders.len() {
                    responders[n_responders] = r;
                    n_responders += 1;
                }
                (r, last_author)
            };
            let to = if to == author { op } else { to };
            let (rkind, rintent) = self.reply_shape(channel, kind, author, op, i == 0);
            let id = self.emit(
                t,
                rkind,
                channel,
                author,
                post,
                last_id,
                to,
                Some(rintent),
                0,
            );
            if rintent == Intent::Hostile {
                self.moderate(id, t, channel, post, author);
            } else if rkind == Kind::Answer && answer.is_none() {
                answer = Some((id, author));
            }
            if self.rng.random_bool(0.2) {
                self.reactions(id, post, author, t, channel, 0.8);
            }
            last_id = id;
            last_author = author;
            t += delay(&mut self.rng, 0.7 * HOUR, 1.4).min(5 * DAY);
        }
        // The asker closes the loop: thanks, and on help threads an accepted answer.
        if channel == Channel::Help && self.rng.random_bool(0.5) {
            let to = answer.map_or(first, |(_, a)| a);
            self.emit(
                t,
                Kind::Reply,
                channel,
                op,
                post,
                last_id,
                to,
                Some(Intent::Thanks),
                0,
            );
            if let Some((answer_id, helper)) = answer
                && self.rng.random_bool(0.6)
            {
                self.emit(
                    t + 30,
                    Kind::Solution,
                    channel,
                    helper,
                    post,
                    answer_id,
                    op,
                    None,
                    0,
                );
            }
        }
        Some(first_delay)
    }

    /// Kind and intent of a reply in a thread of `channel` started with `opener`.
    fn reply_shape(
        &mut self,
        channel: Channel,
        opener: Kind,
        author: MemberIx,
        op: MemberIx,
        first: bool,
    ) -> (Kind, Intent) {
        if (self.pop.is_troll(author) && self.rng.random_bool(0.3)) || self.rng.random_bool(0.0015)
        {
            return (Kind::Reply, Intent::Hostile);
        }
        let staff = self.pop.badge(author) == Badge::Team;
        if author == op {
            return (
                Kind::Reply,
                if channel == Channel::Help {
                    Intent::FollowUp
                } else {
                    Intent::Agreement
                },
            );
        }
        let intent = match (channel, opener) {
            (_, Kind::Feedback) if staff => Intent::FeedbackAck,
            (_, Kind::Contribution) => Intent::Review,
            (Channel::Help, _) => {
                let kind = if first || self.rng.random_bool(0.3) {
                    Kind::Answer
                } else {
                    Kind::Reply
                };
                return (kind, Intent::Answer);
            }
            (Channel::Introductions, _) => Intent::Welcome,
            (Channel::Showcase, _) if self.rng.random_bool(0.5) => Intent::Praise,
            (Channel::General, _) if self.rng.random_bool(0.08) => Intent::Complaint,
            _ => Intent::Agreement,
        };
        (Kind::Reply, intent)
    }

    /// Staff answer a hostile message and usually remove it.
    fn moderate(
        &mut self,
        target: u64,
        ts: i64,
        channel: Channel,
        thread: u64,
        offender: MemberIx,
    ) {
        let mod_ = self.pop.random_team(&mut self.rng);
        let t = ts + delay(&mut self.rng, 1.5 * HOUR, 1.0);
        self.emit(
            t,
            Kind::Reply,
            channel,
            mod_,
            thread,
            target,
            offender,
            Some(Intent::Moderation),
            0,
        );
        if self.rng.random_bool(0.7) {
            self.emit(
                t + 5,
                Kind::Delete,
                channel,
                mod_,
                thread,
                target,
                offender,
                None,
                0,
            );
        }
    }

    /// Reactions on an activity: a geometric number with the given mean.
    fn reactions(
        &mut self,
        target: u64,
        thread: u64,
        author: MemberIx,
        ts: i64,
        channel: Channel,
        mean: f64,
    ) {
        let p = 1.0 / (1.0 + mean);
        while !self.rng.random_bool(p) {
            let who = self.pop.reactor(&mut self.rng);
            if who == author {
                continue;
            }
            let t = ts + delay(&mut self.rng, 1.0 * HOUR, 1.3).min(10 * DAY);
            let emoji = self.rng.random_range(0..EMOJI_COUNT);
            self.emit(
                t,
                Kind::Reaction,
                channel,
                who,
                thread,
                target,
                author,
                None,
                emoji,
            );
        }
    }
}
