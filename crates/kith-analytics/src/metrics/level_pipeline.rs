//! The level pipeline (SPEC §4.3): per reported period and level, how many members entered,
//! moved up into it, held it, moved down into it or lapsed from it. Levels as in
//! `engagement_levels` (the shared sweep in `crate::levels`).

use crate::levels::{LEVEL_NAMES, timeline};
use crate::metric::{Cell, MetricDef, MetricValue, Reference, Table};
use crate::scope::Scope;

pub const METRIC: MetricDef = MetricDef {
    name: "level_pipeline",
    title: "Level pipeline",
    definition: DEFINITION,
    reference: Reference::Model(VERIFIED_BY),
    compute,
};

const DEFINITION: &str = "\
Members' movements between the engagement levels of
[`engagement_levels`](#engagement_levels) (same events, look-back, hold and parameters), period
by period. For each calendar period overlapping the report range, a member's level is taken at
the period's start (the last instant before its first day) and at its end (the last instant of
its last day), both clipped to as-of; level 0 means no level.

One row per period and level (Exploring, Participating, Contributing, Leading), about the members
at that level at the period's end unless said otherwise:
- `at_start`: members at this level at the start;
- `entered`: had no level at the start;
- `moved_up`: came from a lower level;
- `held`: were at this level at the start too;
- `moved_down`: came from a higher level;
- `lapsed`: were at this level at the start and have no level at the end (not counted in
  `at_end`);
- `at_end` = `entered` + `moved_up` + `held` + `moved_down`.";

const VERIFIED_BY: &str = "\
A slow model in Rust (`levels::model`) evaluates every member's level at both ends of every
period straight from the definition (the maximum level over all events in the window) and
counts the pairs; a property test compares it with the fast sweep on random communities,
including short look-back and hold parameters so that members move down inside the data. A
hand-worked example checks each column.";

fn compute(s: &Scope<'_>) -> MetricValue {
    let t = timeline(s);
    let periods = s.periods();
    let mut table = Table::new(
        "periods",
        &[
            "period",
            "level",
            "level_no",
            "at_start",
            "entered",
            "moved_up",
            "held",
            "moved_down",
            "lapsed",
            "at_end",
        ],
    );
    for (p, moves) in periods.iter().zip(&t.moves) {
        for l in 1..=4usize {
            let at_start: i64 = moves[l].iter().sum();
            let entered = moves[0][l];
            let moved_up: i64 = (1..l).map(|f| moves[f][l]).sum();
            let held = moves[l][l];
            let moved_down: i64 = (l + 1..=4).map(|f| moves[f][l]).sum();
            table.push(vec![
                p.label.clone().into(),
                LEVEL_NAMES[l - 1].into(),
                Cell::Int(l as i64),
                at_start.into(),
                entered.into(),
                moved_up.into(),
                held.into(),
                moved_down.into(),
                moves[l][0].into(),
                (entered + moved_up + held + moved_down).into(),
            ]);
        }
    }
    MetricValue {
        metric: METRIC.name,
        tables: vec![table],
    }
}

#[cfg(test)]
mod tests {
    use kith_model::Kind;

    use super::*;
    use crate::params::Params;
    use crate::testkit::{Community, at};

    // Monthly periods, UTC, range Feb 1 ..= Mar 31 2024, as-of Mar 31 23:00; look-back 30 days,
    // hold 10, so an event counts for 40 days. No milestone is reached (no two active days
    // within 7). Boundaries: b0 = Jan 31 23:59:59, b1 = Feb 29 23:59:59, b2 = as-of.
    // - ann posts Jan 20 (Participating until Feb 29 00:00) and contributes Mar 5:
    //   b0 Participating, b1 none, b2 Contributing → Feb lapsed, March entered;
    // - bob reacts Jan 25 (Exploring until Mar 5) and posts Feb 10 (Participating until
    //   Mar 21): b0 Exploring, b1 Participating, b2 none → Feb moved up, March lapsed;
    // - cat contributes Jan 30 (Contributing until Mar 10) and reacts Mar 20: b0 and b1
    //   Contributing, b2 Exploring → Feb held, March moved down.
    #[test]
    fn members_move_between_levels_period_by_period() {
        let mut c = Community::new();
        c.post("ann", at("2024-01-20T00:00:00Z"), "ta");
        c.act(Kind::Contribution, "ann", at("2024-03-05T00:00:00Z"));
        c.react("bob", at("2024-01-25T00:00:00Z"));
        c.post("bob", at("2024-02-10T00:00:00Z"), "tb");
        c.act(Kind::Contribution, "cat", at("2024-01-30T00:00:00Z"));
        c.react("cat", at("2024-03-20T00:00:00Z"));
        let snap = c.snapshot();
        let mut p = Params {
            from: Some("2024-02-01".parse().unwrap()),
            to: Some("2024-03-31".parse().unwrap()),
            as_of: Some(at("2024-03-31T23:00:00Z")),
            ..Params::default()
        };
        p.levels.lookback_days = 30;
        p.levels.hold_days = 10;
        let v = crate::compute(&snap, &p, "level_pipeline").unwrap();
        let rows = &v.table("periods").unwrap().rows;
        let ints =
            |r: &Vec<Cell>| -> Vec<i64> { r[3..].iter().map(|c| c.as_i64().unwrap()).collect() };
        // at_start, entered, moved_up, held, moved_down, lapsed, at_end
        assert_eq!(rows[0][0], Cell::Text("2024-02".into()));
        assert_eq!(ints(&rows[0]), [1, 0, 0, 0, 0, 0, 0], "Feb Exploring");
        assert_eq!(ints(&rows[1]), [1, 0, 1, 0, 0, 1, 1], "Feb Participating");
        assert_eq!(ints(&rows[2]), [1, 0, 0, 1, 0, 0, 1], "Feb Contributing");
        assert_eq!(ints(&rows[3]), [0, 0, 0, 0, 0, 0, 0], "Feb Leading");
        assert_eq!(rows[4][0], Cell::Text("2024-03".into()));
        assert_eq!(ints(&rows[4]), [0, 0, 0, 0, 1, 0, 1], "Mar Exploring");
        assert_eq!(ints(&rows[5]), [1, 0, 0, 0, 0, 1, 0], "Mar Participating");
        assert_eq!(ints(&rows[6]), [1, 1, 0, 0, 0, 0, 1], "Mar Contributing");
    }

    #[test]
    fn agrees_with_the_slow_model() {
        crate::testkit::check_model(&METRIC, 64, |s| {
            let fast = &crate::levels::timeline(s).moves;
            let slow = crate::levels::model::timeline(s).moves;
            if *fast != slow {
                return Err(format!("moves differ:\nfast {fast:?}\nslow {slow:?}"));
            }
            Ok(())
        });
    }
}
