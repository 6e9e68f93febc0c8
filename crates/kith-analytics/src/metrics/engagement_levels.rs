//! Engagement levels at as-of (SPEC §4.3): how many members are Exploring, Participating,
//! Contributing and Leading, and for each member their level with its explanation (the
//! activity or milestone that holds it, since when, and when a demotion becomes possible).
//! The sweep itself is in `crate::levels`, shared with `level_pipeline`.

use crate::levels::{LEVEL_NAMES, level_name, timeline};
use crate::metric::{Cell, MetricDef, MetricValue, Reference, Table, share};
use crate::scope::Scope;

pub const METRIC: MetricDef = MetricDef {
    name: "engagement_levels",
    title: "Engagement levels",
    definition: DEFINITION,
    reference: Reference::Model(VERIFIED_BY),
    compute,
};

const DEFINITION: &str = "\
Four levels, lowest first: **Exploring**, **Participating**, **Contributing**, **Leading**
(Orbit model). They are transparent and stable: a member's level depends only on their own
activity and the parameters below, never on other members (no clustering).

**Events.** Every counted activity (in scope, up to as-of; team and bots excluded unless asked
for; author-less content is never a member) that is participation or presence is an event with
a weight: join 1, reaction 1, rsvp 2, attend 3, post 4, reply to another member 5 (a `reply`
whose target — the activity it replies to, else its thread's opening post — was written by
another member), any other reply 4 (it is content, like a post), feedback 5, answer 6,
solution 8, contribution 8, event hosting 11 (nothing produces a hosting activity yet: no
importer reads event hosts, and the demo generator's hosts appear as the announcement `post`
and an `attend`; the weight applies once events record their hosts, SPEC §5.3). A weight reaches a level: 1–3 Exploring, 4–6
Participating, 7–9 Contributing, 10–12 Leading. Leave, edit and delete are not events.

**Presence milestones.** An *active day* is a local calendar day (report time zone) with at
least one participation or presence. A milestone is reached on an active day when the member's
active days within the window ending that day (that day included) number at least: 2 in 7 days
(Participating), 7 in 30 days (Contributing), 30 in 90 days (Leading). It is an event at the
first activity of that day, of the milestone's level, and it is reached again on every later
active day that still qualifies.

**The level** at an instant t is the highest level of the member's events in
`(t − (look-back + hold) × 24 h, t]`, look-back 365 days and hold 30 days. So a level is
reached at once, counts while one of its events is in the one-year look-back, and is held for 30
more days before the member moves down to what their remaining events give. A member whose last
event is older than 395 days has no level and is not listed.

**`levels`**: one row per level: `members` at that level at as-of, `share` of the members with a
level.

**`members`**: one row per member with a level at as-of, highest level first, then by member id:
- `level`, `level_no` (1–4);
- `since`: when the member reached this level, counted from the last time their level changed;
- `reason`: the event that holds the level — the latest event of that level (ties: the heaviest,
  then activities before milestones) — as the activity (`solution`, `reply to another member`,
  ...) or the milestone (`milestone: 7 active days in 30`); `reason_weight` (empty for a
  milestone) and `reason_at`;
- `hold_from` = `reason_at` + look-back: from then on no event of the level is in the look-back
  and the level is held; `demotion_at` = `hold_from` + hold: the instant the member moves down if
  nothing new happens; `on_hold` = 1 when `hold_from` ≤ as-of.

All times are epoch seconds. Parameters (`Params::levels`): `weights`, `min_weight` (1, 4, 7,
10), `milestones` (2/7, 7/30, 30/90), `lookback_days` (365), `hold_days` (30).";

const VERIFIED_BY: &str = "\
A slow model in Rust (`levels::model`) applies the definition literally: it lists each
member's events, computes every milestone by counting active days in each window, and evaluates
the level at an instant as the maximum over all events in the window, `since` as the latest
instant at which the level changes (levels can only change when an event arrives or leaves the
window). A property test compares both tables with the fast one-pass sweep on random
communities (members, kinds, times across daylight-saving changes, merges, deletions, filters,
team and bots), and with short look-back and hold so that expiry and demotion happen inside
the data; hand-worked examples check promotion, the hold, demotion and each explanation.";

fn compute(s: &Scope<'_>) -> MetricValue {
    let t = timeline(s);
    let lp = &s.p.levels;
    let mut counts = [0i64; 4];
    for m in &t.members {
        counts[usize::from(m.level - 1)] += 1;
    }
    let total: i64 = counts.iter().sum();
    let mut levels = Table::new("levels", &["level", "level_no", "members", "share"]);
    for (i, name) in LEVEL_NAMES.iter().enumerate() {
        levels.push(vec![
            (*name).into(),
            Cell::Int(i as i64 + 1),
            counts[i].into(),
            share(counts[i], total).into(),
        ]);
    }

    let mut order: Vec<(u8, i64, usize)> = t
        .members
        .iter()
        .enumerate()
        .map(|(i, m)| (m.level, s.snap.member_store_id(m.member).unwrap_or(0), i))
        .collect();
    order.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let lookback = lp.lookback_days.max(0).saturating_mul(86_400);
    let reach = lp.reach();
    let mut members = Table::new(
        "members",
        &[
            "member_id",
            "level",
            "level_no",
            "since",
            "reason",
            "reason_weight",
            "reason_at",
            "hold_from",
            "demotion_at",
            "on_hold",
        ],
    );
    members.rows.reserve(order.len());
    // The texts a row can hold, written once.
    let reasons: Vec<String> = (0..16u8).map(|c| lp.reason_text(c)).collect();
    for (_, id, i) in order {
        let m = &t.members[i];
        let hold_from = m.reason_at.saturating_add(lookback);
        members.push(vec![
            Cell::Int(id),
            level_name(m.level).into(),
            Cell::Int(i64::from(m.level)),
            Cell::Int(m.since),
            Cell::Text(
                reasons
                    .get(usize::from(m.reason_class))
                    .cloned()
                    .unwrap_or_else(|| lp.reason_text(m.reason_class)),
            ),
            if m.reason_weight == 0 {
                Cell::Null
            } else {
                Cell::Int(i64::from(m.reason_weight))
            },
            Cell::Int(m.reason_at),
            Cell::Int(hold_from),
            Cell::Int(m.reason_at.saturating_add(reach)),
            Cell::Int(i64::from(hold_from <= s.p.as_of)),
        ]);
    }
    MetricValue {
        metric: METRIC.name,
        tables: vec![levels, members],
    }
}

#[cfg(test)]
mod tests {
    use kith_model::Kind;

    use super::*;
    use crate::params::Params;
    use crate::testkit::{Community, at};

    fn member_row<'a>(v: &'a MetricValue, c: &Community, who: &str) -> Option<&'a [Cell]> {
        let id = crate::testkit::member_of(&c.store, "forum", who)?.0;
        let t = v.table("members")?;
        t.rows
            .iter()
            .find(|r| r[0] == Cell::Int(id))
            .map(Vec::as_slice)
    }

    fn params(as_of: &str) -> Params {
        Params {
            as_of: Some(at(as_of)),
            ..Params::default()
        }
    }

    // as-of 2024-06-30T00:00:00Z, defaults (look-back 365 days, hold 30):
    // - ann reacts on 2024-03-01 (weight 1) and posts on 2024-03-10 (4) → Participating; the post
    //   holds it: hold from 2025-03-10, demotion at 2025-04-09; since the post (before it she
    //   was Exploring);
    // - bob posts t1 on 2024-01-05; cat replies to it on 2024-02-01 (reply to another member,
    //   5 → Participating) and writes a solution on 2024-02-02 (8 → Contributing); cat's level
    //   is Contributing since 2024-02-02, held by the solution;
    // - dan replies in his own thread (a reply to himself weighs 4 like a post) on 2024-06-01
    //   → Participating, reason "reply";
    // - eve's contribution on 2023-05-01 left the look-back on 2024-04-30 (365 days later) and
    //   the hold ends on 2024-05-30: she has no level at as-of and is not listed;
    // - fay's feedback on 2023-06-15 left the look-back on 2024-06-14: at as-of she is on hold,
    //   Participating until 2024-07-14.
    // Counts: Exploring 0, Participating 4 (ann, bob by his post, dan, fay), Contributing 1
    // (cat), Leading 0.
    #[test]
    fn the_heaviest_activity_in_the_look_back_sets_the_level_and_explains_it() {
        let mut c = Community::new();
        c.react("ann", at("2024-03-01T10:00:00Z"));
        c.post("ann", at("2024-03-10T10:00:00Z"), "ta");
        c.post("bob", at("2024-01-05T10:00:00Z"), "t1");
        c.reply("cat", at("2024-02-01T10:00:00Z"), "t1");
        c.act(Kind::Solution, "cat", at("2024-02-02T10:00:00Z"));
        c.post("dan", at("2024-05-01T10:00:00Z"), "td");
        c.reply("dan", at("2024-06-01T10:00:00Z"), "td");
        c.act(Kind::Contribution, "eve", at("2023-05-01T10:00:00Z"));
        c.act(Kind::Feedback, "fay", at("2023-06-15T10:00:00Z"));
        let snap = c.snapshot();
        let v =
            crate::compute(&snap, &params("2024-06-30T00:00:00Z"), "engagement_levels").unwrap();
        let counts: Vec<&Cell> = v
            .table("levels")
            .unwrap()
            .rows
            .iter()
            .map(|r| &r[2])
            .collect();
        assert_eq!(
            counts,
            [Cell::Int(0), Cell::Int(4), Cell::Int(1), Cell::Int(0)]
                .iter()
                .collect::<Vec<_>>()
        );

        let ann = member_row(&v, &c, "ann").unwrap();
        assert_eq!(ann[1], Cell::Text("Participating".into()));
        assert_eq!(
            ann[3],
            Cell::Int(at("2024-03-10T10:00:00Z")),
            "since the post"
        );
        assert_eq!(ann[4], Cell::Text("post".into()));
        assert_eq!(ann[5], Cell::Int(4));
        assert_eq!(ann[7], Cell::Int(at("2025-03-10T10:00:00Z")), "hold from");
        assert_eq!(ann[8], Cell::Int(at("2025-04-09T10:00:00Z")), "demotion at");
        assert_eq!(ann[9], Cell::Int(0));

        let cat = member_row(&v, &c, "cat").unwrap();
        assert_eq!(cat[1], Cell::Text("Contributing".into()));
        assert_eq!(cat[3], Cell::Int(at("2024-02-02T10:00:00Z")));
        assert_eq!(cat[4], Cell::Text("solution".into()));

        let bob = member_row(&v, &c, "bob").unwrap();
        assert_eq!(bob[4], Cell::Text("post".into()));

        let dan = member_row(&v, &c, "dan").unwrap();
        assert_eq!(dan[4], Cell::Text("reply".into()), "a reply to himself");
        assert_eq!(dan[6], Cell::Int(at("2024-06-01T10:00:00Z")));

        assert!(
            member_row(&v, &c, "eve").is_none(),
            "past look-back and hold"
        );

        let fay = member_row(&v, &c, "fay").unwrap();
        assert_eq!(fay[1], Cell::Text("Participating".into()));
        assert_eq!(fay[9], Cell::Int(1), "on hold");
        assert_eq!(fay[8], Cell::Int(at("2024-07-14T10:00:00Z")));
        // Highest level first.
        assert_eq!(
            v.table("members").unwrap().rows[0][1],
            Cell::Text("Contributing".into())
        );
    }

    // Presence milestones, UTC days: gus reacts on 30 consecutive days 2024-01-01 ..= 01-30,
    // once a day at 12:00.
    // - Jan 2: 2 active days in 7 → Participating (milestone event at Jan 2 12:00);
    // - Jan 7: 7 active days in 30 → Contributing;
    // - Jan 30: 30 active days in 90 → Leading, at Jan 30 12:00.
    // With as-of Feb 1 he is Leading since Jan 30 by the quarter milestone. A one-day look-back
    // and a 2-day hold make the expiry visible: on Feb 2 11:59:59 (≤ 3 days after Jan 30 12:00)
    // still Leading, on hold; at Feb 2 12:00:00 the milestone has left look-back + hold and no
    // event is left in the window: no level.
    #[test]
    fn presence_milestones_promote_and_the_hold_delays_the_demotion() {
        let mut c = Community::new();
        for d in 1..=30 {
            c.react("gus", at(&format!("2024-01-{d:02}T12:00:00Z")));
        }
        let snap = c.snapshot();
        let v =
            crate::compute(&snap, &params("2024-02-01T00:00:00Z"), "engagement_levels").unwrap();
        let gus = member_row(&v, &c, "gus").unwrap();
        assert_eq!(gus[1], Cell::Text("Leading".into()));
        assert_eq!(gus[3], Cell::Int(at("2024-01-30T12:00:00Z")));
        assert_eq!(gus[4], Cell::Text("milestone: 30 active days in 90".into()));
        assert_eq!(gus[5], Cell::Null);

        let mut p = params("2024-02-02T11:59:59Z");
        p.levels.lookback_days = 1;
        p.levels.hold_days = 2;
        let v = crate::compute(&snap, &p, "engagement_levels").unwrap();
        let gus = member_row(&v, &c, "gus").unwrap();
        assert_eq!(gus[1], Cell::Text("Leading".into()));
        assert_eq!(gus[9], Cell::Int(1), "on hold since Jan 31 12:00");
        assert_eq!(gus[8], Cell::Int(at("2024-02-02T12:00:00Z")));
        p.as_of = Some(at("2024-02-02T12:00:00Z"));
        let v = crate::compute(&snap, &p, "engagement_levels").unwrap();
        assert!(member_row(&v, &c, "gus").is_none());
    }

    // The level is the member's own: hal's promotion to Contributing (a contribution) does not
    // change ida's Participating, and a demotion waits for the hold. With a 10-day look-back
    // and 5-day hold, hal contributes on Jan 1 and posts on Jan 12: on Jan 15 he is still
    // Contributing (hold until Jan 16), since Jan 1; on Jan 17 he is Participating since
    // Jan 16 (the contribution's expiry), held by the Jan 12 post.
    #[test]
    fn demotion_moves_to_what_the_remaining_events_give() {
        let mut c = Community::new();
        c.act(Kind::Contribution, "hal", at("2024-01-01T00:00:00Z"));
        c.post("hal", at("2024-01-12T00:00:00Z"), "th");
        c.post("ida", at("2024-01-12T00:00:00Z"), "ti");
        let snap = c.snapshot();
        let mut p = params("2024-01-15T00:00:00Z");
        p.levels.lookback_days = 10;
        p.levels.hold_days = 5;
        let v = crate::compute(&snap, &p, "engagement_levels").unwrap();
        let hal = member_row(&v, &c, "hal").unwrap();
        assert_eq!(hal[1], Cell::Text("Contributing".into()));
        assert_eq!(hal[3], Cell::Int(at("2024-01-01T00:00:00Z")));
        assert_eq!(hal[9], Cell::Int(1));
        p.as_of = Some(at("2024-01-17T00:00:00Z"));
        let v = crate::compute(&snap, &p, "engagement_levels").unwrap();
        let hal = member_row(&v, &c, "hal").unwrap();
        assert_eq!(hal[1], Cell::Text("Participating".into()));
        assert_eq!(hal[3], Cell::Int(at("2024-01-16T00:00:00Z")));
        assert_eq!(hal[4], Cell::Text("post".into()));
        let ida = member_row(&v, &c, "ida").unwrap();
        assert_eq!(ida[1], Cell::Text("Participating".into()));
    }

    #[test]
    fn agrees_with_the_slow_model() {
        crate::testkit::check_model(&METRIC, 64, |s| {
            let fast = crate::levels::timeline(s);
            let slow = crate::levels::model::timeline(s);
            if fast.members != slow.members {
                return Err(format!(
                    "members differ:\nfast {:?}\nslow {:?}",
                    fast.members, slow.members
                ));
            }
            // The pipeline's moves too: members long gone are passed over by the fast sweep.
            if fast.moves != slow.moves {
                return Err(format!(
                    "moves differ:\nfast {:?}\nslow {:?}",
                    fast.moves, slow.moves
                ));
            }
            Ok(())
        });
    }
}
