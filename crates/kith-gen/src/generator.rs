//! The public iterator: runs the simulation day by day and writes each compact pending
//! activity out as a canonical [`Activity`] (names, texts and attributes are made here).

use std::collections::VecDeque;

use kith_model::{Activity, Kind, Timestamp};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::{Map, Value};

use crate::behaviour::MEMBERS_PER_ACTIVITY;
use crate::calendar::{self, DAY};
use crate::config::{GenConfig, GenError};
use crate::names;
use crate::population::{NOBODY, Population};
use crate::sim::{Channel, HORIZON, Pending, Sim};
use crate::texts::{self, Intent};

const EMOJI: [&str; 10] = [
    "+1",
    "heart",
    "tada",
    "joy",
    "eyes",
    "rocket",
    "pray",
    "thinking_face",
    "white_check_mark",
    "100",
];

/// Streams a generated community's activities in time order. Memory is bounded by the members
/// and the threads alive, not by the number of activities. Create it with [`generate`].
pub struct Generator {
    sim: Sim,
    source: String,
    seed: u64,
    /// Texts draw from their own stream, so that wording never changes the simulation.
    text_rng: ChaCha8Rng,
    today: std::vec::IntoIter<Pending>,
    emitted: u64,
    total: u64,
}

/// A generator for `config` (checked first: see [`GenError`]).
pub fn generate(config: GenConfig) -> Result<Generator, GenError> {
    config.validate()?;
    let days = config.span_days();
    let total = config.activities;
    let start = config.end.secs.div_euclid(DAY) * DAY - i64::from(days) * DAY;
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let text_rng = ChaCha8Rng::seed_from_u64(names::mix(config.seed ^ 0x7465_7874));
    let plan = calendar::plan(&mut rng, start.div_euclid(DAY), days, total);
    let members = (total as f64 * MEMBERS_PER_ACTIVITY) as usize + 16;
    let team = (members / 40_000).clamp(4, 12) as u32;
    let mut sim = Sim {
        rng,
        pop: Population::new(members, days),
        plan,
        start,
        days,
        day: 0,
        buckets: (0..HORIZON).map(|_| Vec::new()).collect::<VecDeque<_>>(),
        next_id: 0,
        next_event: 0,
        next_pr: 0,
        landed: 0,
        total,
        founders_left: (members as f64 * 0.01).ceil() as u32 + 3,
    };
    sim.founding_staff(team);
    Ok(Generator {
        sim,
        source: config.source,
        seed: config.seed,
        text_rng,
        today: Vec::new().into_iter(),
        emitted: 0,
        total,
    })
}

impl Generator {
    /// Members created so far (bots and staff included).
    pub fn members_so_far(&self) -> usize {
        self.sim.pop.members.len()
    }

    fn materialize(&mut self, p: Pending) -> Activity {
        let badge = self.sim.pop.badge(p.author);
        let author = names::author(self.seed, p.author + 1, badge);
        let mut a = Activity::new(
            self.source.clone(),
            names::prefixed(b'a', p.id),
            p.kind,
            Timestamp::from_secs(p.ts),
            Some(author),
        );
        a.channel = Some(p.channel.name().to_owned());
        if p.thread != 0 {
            a.thread = Some(names::prefixed(b'a', p.thread));
        }
        if p.reply_to != 0 {
            a.reply_to = Some(names::prefixed(b'a', p.reply_to));
        }
        if p.to != NOBODY {
            a.to.push(names::prefixed(b'u', u64::from(p.to) + 1));
        }
        let mut tag = None;
        if let Some(intent) = p.intent {
            let (text, topic) = texts::compose_tagged(&mut self.text_rng, intent, p.aux);
            a.text = Some(text);
            tag = topic;
        }
        a.attrs = attrs(&p);
        // The help channel is the community's forum: a question there is tagged with the
        // topic it names, as Stack Exchange and Discourse tag theirs (kith's topics).
        if p.kind == Kind::Post
            && p.channel == Channel::Help
            && let Some(tag) = tag
        {
            a.attrs
                .insert("tags".into(), Value::Array(vec![Value::String(tag.into())]));
        }
        a
    }
}

fn attrs(p: &Pending) -> Map<String, Value> {
    let mut m = Map::new();
    let event = |m: &mut Map<String, Value>| {
        m.insert("event_id".into(), Value::String(format!("e{}", p.aux)));
        m.insert(
            "event_name".into(),
            Value::String(format!("Community Call #{}", p.aux)),
        );
    };
    match p.kind {
        Kind::Reaction => {
            let emoji = EMOJI.get(p.aux as usize).copied().unwrap_or("+1");
            m.insert("emoji".into(), Value::String(emoji.into()));
        }
        Kind::Rsvp => {
            event(&mut m);
            m.insert("response".into(), Value::String("yes".into()));
        }
        Kind::Attend => event(&mut m),
        Kind::Post if p.intent == Some(Intent::EventAnnouncement) => event(&mut m),
        Kind::Contribution => {
            m.insert("type".into(), Value::String("pull_request".into()));
            m.insert("number".into(), Value::from(p.aux));
        }
        Kind::Feedback => {
            let category = match p.intent {
                Some(Intent::BugReport) => "bug",
                Some(Intent::Complaint) => "complaint",
                _ => "feature_request",
            };
            m.insert("category".into(), Value::String(category.into()));
        }
        Kind::Delete => {
            m.insert("reason".into(), Value::String("code of conduct".into()));
        }
        _ => {}
    }
    m
}

impl Iterator for Generator {
    type Item = Activity;

    fn next(&mut self) -> Option<Activity> {
        loop {
            if let Some(p) = self.today.next() {
                self.emitted += 1;
                return Some(self.materialize(p));
            }
            let day = self.sim.next_day()?;
            self.today = day.into_iter();
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = usize::try_from(self.total - self.emitted).unwrap_or(usize::MAX);
        (left, Some(left))
    }
}

impl ExactSizeIterator for Generator {}
