//! The community health index (SPEC §4.8): one number 0–100 from components scored 0–5
//! against fixed thresholds, for the 30 days up to as-of, shown against the community's own
//! trailing 90-day baseline (the three 30-day windows before) with its trend. Each component's
//! input comes from the functions the metrics that define it use (`active_members`'s rolling
//! windows, the first responses of `threads`, `peer_support`'s community share,
//! `conversation_quality`'s thread scores, `sentiment`'s classes of stored text scores) or from
//! the §4.0 definitions over the scope's participations; the thresholds and their
//! justification are in `docs/health-index.md`.

use crate::metric::{Cell, MetricDef, MetricValue, Reference, Table, share};
use crate::metrics::sentiment::{NEGATIVE, POSITIVE, is_message};
use crate::metrics::{active_members, conversation_quality, peer_support};
use crate::scope::Scope;
use crate::snapshot::{M_BOT, M_REMOVED, M_TEAM, T_CONFIDENT};
use crate::threads::{FirstResponse, ReportThread};

pub const METRIC: MetricDef = MetricDef {
    name: "health_index",
    title: "Community health index",
    definition: DEFINITION,
    reference: Reference::Model(VERIFIED_BY),
    compute,
};

const DEFINITION: &str = "\
One number from 0 to 100 with its components visible. **Windows**: 30 days of 24 hours back
from as-of: window 0 = `(as_of − 30 d, as_of]` is *now*, windows 1–3 (the 90 days before) are
the **baseline**. Team and bots are left out unless asked for, as everywhere.

**Components**, each measured per window and scored 0–5 by how many of its five fixed
thresholds the value reaches (below the first: 0; at or above the fifth: 5):

| component | value | thresholds (score 1 … 5) |
|---|---|---|
| participation | stickiness: mean daily active members ÷ members active in the 30 days (DAU/MAU, as `active_members` counts its rolling windows) | 0.04, 0.06, 0.08, 0.11, 0.15 |
| retention | of the members active in the 30 days before the window, the share active again in it | 0.20, 0.30, 0.40, 0.50, 0.60 |
| responsiveness | threads opened in the window that got their first response (as `first_response` defines it) within 24 h, over the threads whose answer within 24 h is decided: answered within 24 h, or opened at least 24 h before as-of. (Not `first_response`'s share, which leaves out every unanswered thread younger than 30 days: in the 30 days up to as-of that would be all of them, and *now* would always look better than the baseline.) | 0.40, 0.60, 0.75, 0.85, 0.95 |
| peer support | first responses to the window's threads given by non-team members (`peer_support`'s `first` share); measured only when some member is flagged team (else it is 1 by construction) | 0.25, 0.40, 0.55, 0.70, 0.85 |
| conversation quality | the median (nearest rank) of the [`conversation_quality`](#conversation_quality) scores (0–100) of the threads opened in the window at least 7 days before as-of, answered or not. (Not that metric's threads, which leave out unanswered threads younger than 30 days; a thread younger than 7 days is still unsettled and is left out of every window alike.) | 40, 55, 65, 75, 85 |
| sentiment | net sentiment of the window's messages: (positive − negative) ÷ confident, with messages, *confident*, *positive* and *negative* as [`sentiment`](#sentiment) defines them (posts, replies, answers and feedback with a stored text score of confidence ≥ 0.5) | 0.15, 0.30, 0.45, 0.60, 0.75 |
| growth | new contributors (first participation in the window) ÷ members active in it | 0.05, 0.10, 0.15, 0.22, 0.30 |
| moderation load | not measured by kith yet (no moderation cases): left out | — |

A component without data in a window (no member active before it, no thread, no response, no
team member flagged, no settled thread, no confident text score) is left out of that window. **Index** = 100 × (sum of the scores) ÷ (5 × components scored).

**`index`** (one row): `index` now; `components` scored now and `left_out` (those without data,
by name); `baseline`: the mean of windows 1–3's indexes (those that have one); `change` = index −
baseline and `trend`: `up` (≥ +5 points), `down` (≤ −5) or `flat`.

**`components`**: one row per component: `measured` (1 when kith measures it), `value` and
`score` now, `baseline_value` (the mean of windows 1–3's values) and `baseline_score` (its score),
`thresholds`.

**`windows`**: one row per window, oldest first: `window` (3, 2, 1, 0 = now), `start` (exclusive)
and `end` (inclusive) in epoch seconds, `index`, `components`, and each measured component's
value.";

const VERIFIED_BY: &str = "\
The index is arithmetic over inputs computed by the functions other metrics use and check
against their reference SQL: `active_members`'s rolling windows, the first responses of
`first_response` and `peer_support` (threads and responses as SPEC §4.0 defines them), the
thread scores of `conversation_quality` and the message classes of `sentiment`; retention
and growth apply the §4.0 definitions to the scope's participations. A slow model computes every
window's values slot by slot from the definitions and a property test compares it with the fast
one on random communities (with synthetic text scores); hand-worked examples check every
component, the scores, the baseline and the trend.";

/// A component: its name, and the five thresholds of scores 1–5 (`None`: not measured yet).
struct Component {
    name: &'static str,
    thresholds: Option<[f64; 5]>,
}

const COMPONENTS: [Component; 8] = [
    Component {
        name: "participation",
        thresholds: Some([0.04, 0.06, 0.08, 0.11, 0.15]),
    },
    Component {
        name: "retention",
        thresholds: Some([0.20, 0.30, 0.40, 0.50, 0.60]),
    },
    Component {
        name: "responsiveness",
        thresholds: Some([0.40, 0.60, 0.75, 0.85, 0.95]),
    },
    Component {
        name: "peer_support",
        thresholds: Some([0.25, 0.40, 0.55, 0.70, 0.85]),
    },
    Component {
        name: "conversation_quality",
        thresholds: Some([40.0, 55.0, 65.0, 75.0, 85.0]),
    },
    Component {
        name: "sentiment",
        thresholds: Some([0.15, 0.30, 0.45, 0.60, 0.75]),
    },
    Component {
        name: "growth",
        thresholds: Some([0.05, 0.10, 0.15, 0.22, 0.30]),
    },
    Component {
        name: "moderation_load",
        thresholds: None,
    },
];
const PARTICIPATION: usize = 0;
const RETENTION: usize = 1;
const RESPONSIVENESS: usize = 2;
const PEER_SUPPORT: usize = 3;
const CONVERSATION_QUALITY: usize = 4;
const SENTIMENT: usize = 5;
const GROWTH: usize = 6;

/// Windows measured: now and the three of the baseline.
pub const WINDOWS: usize = 4;
const WINDOW: i64 = 30 * 86_400;
/// A thread younger than this at as-of is still unsettled: left out of conversation quality.
const SETTLED: i64 = 7 * 86_400;

/// Each window's component values (`None`: no data or not measured).
pub type Values = [[Option<f64>; 8]; WINDOWS];

/// The score (0–5) of a value.
fn score(value: f64, thresholds: &[f64; 5]) -> i64 {
    thresholds.iter().filter(|&&t| value >= t).count() as i64
}

/// A window's index and the number of components it scored.
fn index(values: &[Option<f64>; 8]) -> (Option<f64>, i64) {
    let mut sum = 0;
    let mut n = 0;
    for (c, v) in COMPONENTS.iter().zip(values) {
        if let (Some(t), Some(v)) = (&c.thresholds, v) {
            sum += score(*v, t);
            n += 1;
        }
    }
    ((n > 0).then(|| 100.0 * sum as f64 / (5 * n) as f64), n)
}

fn mean(values: impl Iterator<Item = Option<f64>>) -> Option<f64> {
    let (sum, n) = values
        .flatten()
        .fold((0.0, 0u32), |(s, n), v| (s + v, n + 1));
    (n > 0).then(|| sum / f64::from(n))
}

/// Whether a thread opened at `op_ts` falls in one of the index's windows (the 120 days up
/// to as-of).
pub(crate) fn in_windows(s: &Scope<'_>, op_ts: i64) -> bool {
    (0..WINDOWS as i64 * WINDOW).contains(&(s.p.as_of - op_ts))
}

/// Whether a thread opened at `op_ts` is settled: opened at least 7 days before as-of.
pub(crate) fn settled(s: &Scope<'_>, op_ts: i64) -> bool {
    op_ts <= s.p.as_of - SETTLED
}

/// Every window's component values.
pub fn measure(s: &Scope<'_>) -> Values {
    let as_of = s.p.as_of;
    let mut values: Values = [[None; 8]; WINDOWS];

    // Members: activity per window (one more window back, for retention), stickiness, and
    // new contributors.
    let mut active = [0i64; WINDOWS + 1];
    let mut active_days = [0i64; WINDOWS];
    let mut kept = [0i64; WINDOWS];
    let mut new = [0i64; WINDOWS];
    for m in 0..s.members() {
        if s.is_anonymous(m) {
            continue;
        }
        let ts = s.participations(m).0;
        let Some(&first) = ts.first() else { continue };
        let mut in_window = 0u32;
        for &t in ts.iter().rev() {
            let back = as_of - t;
            if back >= (WINDOWS as i64 + 1) * WINDOW {
                break;
            }
            in_window |= 1 << (back / WINDOW);
        }
        for (k, a) in active.iter_mut().enumerate() {
            if in_window & (1 << k) != 0 {
                *a += 1;
            }
        }
        for k in 0..WINDOWS {
            if in_window & (1 << k) != 0 {
                let mask = active_members::rolling_mask(ts, as_of - k as i64 * WINDOW, 30);
                active_days[k] += i64::from(mask.count_ones());
            }
            if in_window & (1 << (k + 1)) != 0 && in_window & (1 << k) != 0 {
                kept[k] += 1;
            }
        }
        let back = as_of - first;
        if back < WINDOWS as i64 * WINDOW {
            new[(back / WINDOW) as usize] += 1;
        }
    }
    for k in 0..WINDOWS {
        let v = &mut values[k];
        v[PARTICIPATION] = share(active_days[k], 30 * active[k]);
        v[RETENTION] = share(kept[k], active[k + 1]);
        v[GROWTH] = share(new[k], active[k]);
    }

    // Threads opened in the four windows with their first responses and summaries: the
    // shared conversation pass holds them (with the report's), in thread order.
    let shared = conversation_quality::conversations(s);
    let mut split: Vec<(Vec<ReportThread>, Vec<FirstResponse>)> = vec![Default::default(); WINDOWS];
    for (th, f) in shared.threads.list.iter().zip(&shared.first) {
        if in_windows(s, th.op_ts) {
            let w = &mut split[((as_of - th.op_ts) / WINDOW) as usize];
            w.0.push(*th);
            w.1.push(*f);
        }
    }
    // Without a team member, every first response is "by the community": no information.
    let has_team = (0..s.members()).any(|m| {
        s.snap.member_flags[m] & M_TEAM != 0 && s.snap.member_flags[m] & (M_BOT | M_REMOVED) == 0
    });
    for (k, (list, first)) in split.iter().enumerate() {
        let (mut within, mut decided) = (0i64, 0i64);
        for (th, f) in list.iter().zip(first) {
            let op_ts = th.op_ts;
            let fast = f.is_some_and(|(ts, _, _)| ts - op_ts <= 86_400);
            within += i64::from(fast);
            decided += i64::from(fast || op_ts <= as_of - 86_400);
        }
        values[k][RESPONSIVENESS] = share(within, decided);
        if has_team {
            let (n, by_community) = peer_support::first_by_community(first);
            values[k][PEER_SUPPORT] = share(by_community, n);
        }
    }

    // Conversation quality: the settled threads' scores, their median per window.
    let mut scores: [Vec<f64>; WINDOWS] = Default::default();
    for (th, summary) in shared.threads.list.iter().zip(&shared.summaries) {
        if !(in_windows(s, th.op_ts) && settled(s, th.op_ts)) {
            continue;
        }
        let k = ((as_of - th.op_ts) / WINDOW) as usize;
        if let (Some(t), Some(list)) = (summary, scores.get_mut(k)) {
            list.push(kith_text::conversation_quality(t).score);
        }
    }
    for (k, list) in scores.iter_mut().enumerate() {
        list.sort_unstable_by(f64::total_cmp);
        values[k][CONVERSATION_QUALITY] = conversation_quality::rank(list, 1, 2);
    }

    // Sentiment: confident messages per window, net of negative ones.
    if s.snap.has_text_scores() {
        let mut confident = [0i64; WINDOWS];
        let mut net = [0i64; WINDOWS];
        // `back < WINDOWS × WINDOW`: later than as-of − WINDOWS × WINDOW.
        let from = as_of.saturating_sub(WINDOWS as i64 * WINDOW - 1);
        for slot in s.counted_slots_from(from) {
            let back = as_of - s.snap.ts[slot];
            if s.snap.text_flags(slot) & T_CONFIDENT == 0
                || !is_message(s.snap.kind[slot])
                || !(0..WINDOWS as i64 * WINDOW).contains(&back)
            {
                continue;
            }
            let k = (back / WINDOW) as usize;
            confident[k] += 1;
            let sentiment = s.snap.text_sentiment(slot);
            if sentiment >= POSITIVE {
                net[k] += 1;
            } else if sentiment <= NEGATIVE {
                net[k] -= 1;
            }
        }
        for k in 0..WINDOWS {
            values[k][SENTIMENT] = share(net[k], confident[k]);
        }
    }
    values
}

fn compute(s: &Scope<'_>) -> MetricValue {
    let values = measure(s);
    let as_of = s.p.as_of;
    let (now, used) = index(&values[0]);
    let baseline = mean((1..WINDOWS).map(|k| index(&values[k]).0));
    let change = match (now, baseline) {
        (Some(a), Some(b)) => Some(a - b),
        _ => None,
    };
    let trend = match change {
        Some(c) if c >= 5.0 => Cell::from("up"),
        Some(c) if c <= -5.0 => Cell::from("down"),
        Some(_) => Cell::from("flat"),
        None => Cell::Null,
    };
    let left_out: Vec<&str> = COMPONENTS
        .iter()
        .zip(&values[0])
        .filter(|(c, v)| c.thresholds.is_none() || v.is_none())
        .map(|(c, _)| c.name)
        .collect();
    let mut summary = Table::new(
        "index",
        &[
            "index",
            "components",
            "left_out",
            "baseline",
            "change",
            "trend",
        ],
    );
    summary.push(vec![
        now.into(),
        Cell::Int(used),
        left_out.join(", ").into(),
        baseline.into(),
        change.into(),
        trend,
    ]);

    let mut components = Table::new(
        "components",
        &[
            "component",
            "measured",
            "value",
            "score",
            "baseline_value",
            "baseline_score",
            "thresholds",
        ],
    );
    for (i, c) in COMPONENTS.iter().enumerate() {
        let value = values[0][i];
        let base = mean((1..WINDOWS).map(|k| values[k][i]));
        let scored = |v: Option<f64>| match (v, &c.thresholds) {
            (Some(v), Some(t)) => Cell::Int(score(v, t)),
            _ => Cell::Null,
        };
        components.push(vec![
            c.name.into(),
            Cell::Int(i64::from(c.thresholds.is_some())),
            value.into(),
            scored(value),
            base.into(),
            scored(base),
            c.thresholds.map_or(Cell::Null, |t| {
                Cell::Text(
                    t.iter()
                        .map(|x| format!("{x:.2}"))
                        .collect::<Vec<_>>()
                        .join(" "),
                )
            }),
        ]);
    }

    let mut columns = vec!["window", "start", "end", "index", "components"];
    let measured: Vec<usize> = (0..COMPONENTS.len())
        .filter(|&i| COMPONENTS[i].thresholds.is_some())
        .collect();
    columns.extend(measured.iter().map(|&i| COMPONENTS[i].name));
    let mut windows = Table::new("windows", &columns);
    for k in (0..WINDOWS).rev() {
        let end = as_of - k as i64 * WINDOW;
        let (ix, n) = index(&values[k]);
        let mut row = vec![
            Cell::Int(k as i64),
            Cell::Int(end - WINDOW),
            Cell::Int(end),
            ix.into(),
            Cell::Int(n),
        ];
        row.extend(measured.iter().map(|&i| Cell::from(values[k][i])));
        windows.push(row);
    }
    MetricValue {
        metric: METRIC.name,
        tables: vec![summary, components, windows],
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use kith_model::Kind;
    use kith_text::{Intent, ThreadSummary};

    use super::*;
    use crate::params::Params;
    use crate::scope::is_participation;
    use crate::snapshot::{NONE, T_HOSTILE, T_SCORED};
    use crate::testkit::{Community, Said, at};

    /// Every window's values straight from the definitions, slot by slot.
    fn slow(s: &Scope<'_>) -> Values {
        let snap = s.snap;
        let as_of = s.p.as_of;
        let window_of = |t: i64| -> Option<usize> {
            (t <= as_of && as_of - t < (WINDOWS as i64 + 1) * WINDOW)
                .then(|| ((as_of - t) / WINDOW) as usize)
        };
        let mut active: Vec<BTreeSet<u32>> = vec![BTreeSet::new(); WINDOWS + 1];
        let mut slots: Vec<BTreeMap<u32, BTreeSet<i64>>> = vec![BTreeMap::new(); WINDOWS];
        let mut first: BTreeMap<u32, i64> = BTreeMap::new();
        for slot in 0..snap.slots() {
            let m = snap.member_of(slot);
            if !s.counted(slot) || !is_participation(snap.kind[slot]) || s.is_anonymous(m as usize)
            {
                continue;
            }
            let t = snap.ts[slot];
            let f = first.entry(m).or_insert(t);
            *f = (*f).min(t);
            if let Some(k) = window_of(t) {
                active[k].insert(m);
                if k < WINDOWS {
                    let end = as_of - k as i64 * WINDOW;
                    slots[k].entry(m).or_default().insert((end - t) / 86_400);
                }
            }
        }
        let mut values: Values = [[None; 8]; WINDOWS];
        for k in 0..WINDOWS {
            let days: i64 = slots[k].values().map(|d| d.len() as i64).sum();
            values[k][PARTICIPATION] = share(days, 30 * active[k].len() as i64);
            let kept = active[k + 1].intersection(&active[k]).count() as i64;
            values[k][RETENTION] = share(kept, active[k + 1].len() as i64);
            let new = first.values().filter(|&&t| window_of(t) == Some(k)).count() as i64;
            values[k][GROWTH] = share(new, active[k].len() as i64);
        }
        // Threads and their first responses.
        let (mut threads, mut within, mut responded, mut by_community) = (
            [0i64; WINDOWS],
            [0i64; WINDOWS],
            [0i64; WINDOWS],
            [0i64; WINDOWS],
        );
        let mut quality: Vec<Vec<f64>> = vec![Vec::new(); WINDOWS];
        for t in 0..snap.threads() {
            let op = snap.thread_op[t];
            if op == NONE || !s.counted(op as usize) {
                continue;
            }
            let op_ts = snap.ts[op as usize];
            let Some(k) = window_of(op_ts).filter(|&k| k < WINDOWS) else {
                continue;
            };
            let author = snap.member_of(op as usize);
            let mut best: Option<(i64, i64, u32)> = None;
            for r in 0..snap.slots() {
                let kind = Kind::from_code(snap.kind[r]);
                let m = snap.member_of(r);
                if !s.admitted(r)
                    || !matches!(kind, Some(Kind::Reply | Kind::Answer))
                    || snap.member_flags[m as usize] & M_BOT != 0
                    || m == author
                    || snap.ts[r] < op_ts
                    || !(snap.thread[r] == t as u32 || snap.reply_to[r] == op)
                {
                    continue;
                }
                let key = (snap.ts[r], snap.ids_of(r as u32), m);
                if best.is_none_or(|b| (key.0, key.1) < (b.0, b.1)) {
                    best = Some(key);
                }
            }
            let fast = best.is_some_and(|b| b.0 - op_ts <= 86_400);
            if fast || op_ts <= as_of - 86_400 {
                threads[k] += 1;
            }
            if fast {
                within[k] += 1;
            }
            if let Some((ts, _, m)) = best {
                responded[k] += 1;
                if !s.is_team_at(m as usize, ts) {
                    by_community[k] += 1;
                }
            }
            if op_ts <= as_of - 7 * 86_400 {
                let summary = slow_summary(s, t, best.map(|b| b.0));
                quality[k].push(kith_text::conversation_quality(&summary).score);
            }
        }
        let team = (0..snap.members()).any(|m| {
            snap.member_flags[m] & M_TEAM != 0 && snap.member_flags[m] & (M_BOT | M_REMOVED) == 0
        });
        for k in 0..WINDOWS {
            values[k][RESPONSIVENESS] = share(within[k], threads[k]);
            if team {
                values[k][PEER_SUPPORT] = share(by_community[k], responded[k]);
            }
            // Median by nearest rank: the ⌈n / 2⌉-th smallest.
            quality[k].sort_by(f64::total_cmp);
            let n = quality[k].len();
            values[k][CONVERSATION_QUALITY] = (n > 0).then(|| quality[k][n.div_ceil(2) - 1]);
        }
        // Net sentiment of the confident messages whose author counts.
        let (mut confident, mut net) = ([0i64; WINDOWS], [0i64; WINDOWS]);
        for slot in 0..snap.slots() {
            let kind = Kind::from_code(snap.kind[slot]);
            if !s.counted(slot)
                || !matches!(
                    kind,
                    Some(Kind::Post | Kind::Reply | Kind::Answer | Kind::Feedback)
                )
                || snap.text_flags(slot) & T_CONFIDENT == 0
            {
                continue;
            }
            let Some(k) = window_of(snap.ts[slot]).filter(|&k| k < WINDOWS) else {
                continue;
            };
            confident[k] += 1;
            let sentiment = snap.text_sentiment(slot);
            net[k] += i64::from(sentiment >= 500) - i64::from(sentiment <= -500);
        }
        for k in 0..WINDOWS {
            values[k][SENTIMENT] = share(net[k], confident[k]);
        }
        values
    }

    /// A thread's conversation-quality inputs straight from SPEC §4.4 and
    /// `conversation_quality`'s definition, given its first response's time.
    fn slow_summary(s: &Scope<'_>, t: usize, first: Option<i64>) -> ThreadSummary {
        let snap = s.snap;
        let op = snap.thread_op[t];
        let op_ts = snap.ts[op as usize];
        let author = snap.member_of(op as usize);
        let mut messages: Vec<(i64, i64, u32, usize)> = Vec::new();
        let mut resolved = false;
        for r in 0..snap.slots() {
            if !s.admitted(r) || snap.ts[r] < op_ts {
                continue;
            }
            let kind = Kind::from_code(snap.kind[r]);
            let m = snap.member_of(r);
            let in_thread = snap.thread[r] == t as u32;
            if in_thread && kind == Some(Kind::Solution) {
                resolved = true;
            }
            // The asker thanks a helper, after the first response.
            if in_thread
                && r != op as usize
                && m == author
                && matches!(
                    kind,
                    Some(Kind::Post | Kind::Reply | Kind::Answer | Kind::Feedback)
                )
                && snap.text_flags(r) & T_SCORED != 0
                && snap.text_intents(r) & Intent::Thanks.bit() != 0
                && first.is_some_and(|f| snap.ts[r] >= f)
            {
                resolved = true;
            }
            if matches!(kind, Some(Kind::Post | Kind::Reply | Kind::Answer))
                && snap.member_flags[m as usize] & M_BOT == 0
                && (in_thread || snap.reply_to[r] == op)
            {
                messages.push((snap.ts[r], snap.ids_of(r as u32), m, r));
            }
        }
        messages.sort_unstable();
        let people: BTreeSet<u32> = messages.iter().map(|x| x.2).collect();
        let turns = messages.windows(2).filter(|w| w[0].2 != w[1].2).count() as u32;
        let scored: Vec<usize> = messages
            .iter()
            .map(|x| x.3)
            .filter(|&r| snap.text_flags(r) & T_SCORED != 0)
            .collect();
        let sum: i64 = scored
            .iter()
            .map(|&r| i64::from(snap.text_sentiment(r)))
            .sum();
        ThreadSummary {
            answered: first.is_some(),
            first_response_secs: first.map(|f| (f - op_ts) as u64),
            resolved,
            participants: people.len() as u32,
            reciprocity_turns: turns,
            mean_sentiment: (!scored.is_empty())
                .then(|| sum as f64 / scored.len() as f64 / 10_000.0),
            hostile_messages: scored
                .iter()
                .filter(|&&r| snap.text_flags(r) & T_HOSTILE != 0)
                .count() as u32,
            messages: messages.len() as u32,
        }
    }

    // as-of 2024-06-01T00:00:00Z; windows of 30 days back from it: W0 = (May 2, Jun 1],
    // W1 = (Apr 2, May 2], W2 = (Mar 3, Apr 2], W3 = (Feb 2, Mar 3]. tess is team. Sentiment
    // in ten-thousandths; "unsure" = scored with confidence 0.3 (not confident).
    // - W1: ann opens t1 (Apr 10 10:00), tess answers 2 h later; dan opens t2 (Apr 11, −0.2
    //   unsure) and nobody answers (unanswered: older than 30 days at as-of).
    // - W0: ann opens t3 (May 10 10:00, +0.6), bob replies 1 h later (+0.3), ann thanks him at
    //   12:00 (+0.8, thanks); bob opens t6 (May 12 10:00, unsure), ann replies 10 h later; cat
    //   opens t4 (May 20 10:00, −0.4), no answer after 12 days; eve opens t5 (May 28 10:00),
    //   no answer: 4 days old, unsettled for conversation quality.
    // W0: active ann (May 10, 12), bob (May 10, 12), cat, eve → participation
    //   (2 + 2 + 1 + 1) / (30 × 4) = 0.05 → score 1; retention: of W1's {ann, dan}, ann is back
    //   → 0.5 → 4; growth: bob, cat, eve are new, 3 / 4 → 5; responsiveness: t3 (1 h) and t6
    //   (10 h) within 24 h, t4 and t5 not → 2 / 4 → 1; peer support: first responses by bob
    //   and ann, both community → 1 → 5.
    //   Conversation quality of the settled threads (components: answered 25, first response
    //   15, resolved 20, participants 10, reciprocity 10, sentiment 10, civility 10):
    //   t3 = 25 + 15 (1 h) + 20 (thanked after the response) + 5 (two people) + 6.667 (ann →
    //   bob → ann: 2 turns) + 10 × (1 + (0.6 + 0.3 + 0.8) / 3) / 2 = 7.833 + 10 = 89.5;
    //   t6 = 25 + 7.5 (10 h: within 24 h) + 0 + 5 + 3.333 + 10 × (1 + 0.1) / 2 = 5.5 (an unsure
    //   score is still a score) + 10 = 56.333; t4 = 0 + 0 + 0 + 0 + 0 + 10 × (1 − 0.4) / 2 = 3
    //   + 10 = 13. Median (2nd of 3) 56.333 →
    //   2 (≥ 40, 55; < 65). Sentiment: confident messages ann +0.6, bob +0.3, ann +0.8, cat
    //   −0.4 → (3 − 1) / 4 = 0.5 → 3 (≥ 0.15, 0.30, 0.45; < 0.60).
    //   Index = 100 × (1 + 4 + 5 + 1 + 5 + 2 + 3) / (5 × 7) = 60.
    // W1: participation 2 / 60 → 0; retention: nobody active in W2 → left out; growth 2 / 2 →
    //   5; responsiveness: t1 within, t2 unanswered → 0.5 → 1; peer: tess was first → 0 → 0;
    //   quality: t1 = 25 + 11.25 (2 h) + 0 + 5 + 3.333 + 5 + 10 = 59.583, t2 = 10 × (1 − 0.2) /
    //   2 = 4 + 10 = 14 → median (1st of 2) 14 → 0; sentiment: dan's is not confident and
    //   tess's is team → left out. Index = 100 × 6 / (5 × 5) = 24. W2 and W3 have no data.
    // Baseline = 24 (the only baseline window with an index), change +36 → up.
    #[test]
    fn components_scores_baseline_and_trend_follow_the_thresholds() {
        let mut c = Community::new();
        c.post("ann", at("2024-04-10T10:00:00Z"), "t1");
        c.answer("tess", at("2024-04-10T12:00:00Z"), "t1");
        c.team("tess", None);
        let t2 = c.post("dan", at("2024-04-11T10:00:00Z"), "t2");
        c.say(&t2, Said::new(-2_000, &[]).unsure());
        let t3 = c.post("ann", at("2024-05-10T10:00:00Z"), "t3");
        c.say(&t3, Said::new(6_000, &[Intent::Question]));
        let r = c.reply("bob", at("2024-05-10T11:00:00Z"), "t3");
        c.say(&r, Said::new(3_000, &[Intent::Answer]));
        let r = c.reply("ann", at("2024-05-10T12:00:00Z"), "t3");
        c.say(&r, Said::new(8_000, &[Intent::Thanks]));
        let t6 = c.post("bob", at("2024-05-12T10:00:00Z"), "t6");
        c.say(&t6, Said::new(1_000, &[]).unsure());
        c.reply("ann", at("2024-05-12T20:00:00Z"), "t6");
        let t4 = c.post("cat", at("2024-05-20T10:00:00Z"), "t4");
        c.say(&t4, Said::new(-4_000, &[]));
        c.post("eve", at("2024-05-28T10:00:00Z"), "t5");
        let snap = c.snapshot();
        let p = Params {
            as_of: Some(at("2024-06-01T00:00:00Z")),
            ..Params::default()
        };
        let v = crate::compute(&snap, &p, "health_index").unwrap();
        let index = &v.table("index").unwrap().rows[0];
        let now = 100.0 * 21.0 / 35.0;
        assert_eq!(index[0], Cell::Real(now));
        assert_eq!(index[1], Cell::Int(7));
        assert_eq!(index[2], Cell::Text("moderation_load".into()));
        assert_eq!(
            index[3..],
            [
                Cell::Real(24.0),
                Cell::Real(now - 24.0),
                Cell::Text("up".into())
            ]
        );
        let comp = |name: &str| -> Vec<Cell> {
            v.table("components")
                .unwrap()
                .rows
                .iter()
                .find(|r| r[0] == Cell::Text(name.into()))
                .unwrap()
                .clone()
        };
        let real = |cell: &Cell| match cell {
            Cell::Real(x) => *x,
            other => panic!("not a number: {other:?}"),
        };
        assert_eq!(
            comp("participation")[2..4],
            [Cell::Real(6.0 / 120.0), Cell::Int(1)]
        );
        assert_eq!(
            comp("retention")[2..6],
            [Cell::Real(0.5), Cell::Int(4), Cell::Null, Cell::Null]
        );
        assert_eq!(comp("growth")[2..4], [Cell::Real(0.75), Cell::Int(5)]);
        assert_eq!(
            comp("responsiveness")[2..6],
            [Cell::Real(0.5), Cell::Int(1), Cell::Real(0.5), Cell::Int(1)]
        );
        assert_eq!(
            comp("peer_support")[2..6],
            [Cell::Real(1.0), Cell::Int(5), Cell::Real(0.0), Cell::Int(0)]
        );
        let quality = comp("conversation_quality");
        assert_eq!(quality[1], Cell::Int(1));
        assert!((real(&quality[2]) - (25.0 + 7.5 + 5.0 + 10.0 / 3.0 + 5.5 + 10.0)).abs() < 1e-9);
        assert_eq!(quality[3], Cell::Int(2));
        assert!((real(&quality[4]) - 14.0).abs() < 1e-9);
        assert_eq!(quality[5], Cell::Int(0));
        assert_eq!(
            comp("sentiment")[1..6],
            [
                Cell::Int(1),
                Cell::Real(0.5),
                Cell::Int(3),
                Cell::Null,
                Cell::Null
            ]
        );
        assert_eq!(
            comp("moderation_load")[1..4],
            [Cell::Int(0), Cell::Null, Cell::Null]
        );
        let windows = &v.table("windows").unwrap().rows;
        let indexes: Vec<&Cell> = windows.iter().map(|r| &r[3]).collect();
        assert_eq!(
            indexes,
            [
                &Cell::Null,
                &Cell::Null,
                &Cell::Real(24.0),
                &Cell::Real(now)
            ]
        );
        assert_eq!(windows[3][2], Cell::Int(at("2024-06-01T00:00:00Z")));
    }

    // The settling rule and the sentiment classes at their edges. as-of 2024-06-01: t1 opened
    // exactly 7 days before (May 25 00:00) counts; t2 one second later does not, nor do t3–t6
    // (May 26–29). t1 is an unanswered one-person thread without a score: 5 (neutral
    // sentiment) + 10 (civil) = 15, the only settled thread, so the median is 15 → score 0
    // (below 40). Sentiment: +0.05 is positive, −0.05 negative, ±0.0499 neutral, an unsure
    // −0.9 does not count: (1 − 1) / 4 = 0 → score 0 (below 0.15), but measured.
    #[test]
    fn settled_threads_and_sentiment_classes_meet_their_edges() {
        let mut c = Community::new();
        c.post("ann", at("2024-05-25T00:00:00Z"), "t1");
        let said = [
            ("bob", "2024-05-25T00:00:01Z", Said::new(500, &[])),
            ("cat", "2024-05-26T00:00:00Z", Said::new(-500, &[])),
            ("dan", "2024-05-27T00:00:00Z", Said::new(499, &[])),
            ("eve", "2024-05-28T00:00:00Z", Said::new(-499, &[])),
            (
                "fay",
                "2024-05-29T00:00:00Z",
                Said::new(-9_000, &[]).unsure(),
            ),
        ];
        for (i, (who, when, what)) in said.into_iter().enumerate() {
            let id = c.post(who, at(when), &format!("t{}", i + 2));
            c.say(&id, what);
        }
        let snap = c.snapshot();
        let p = Params {
            as_of: Some(at("2024-06-01T00:00:00Z")),
            ..Params::default()
        };
        let values = measure(&Scope::new(&snap, &p).unwrap());
        assert_eq!(values[0][CONVERSATION_QUALITY], Some(15.0));
        assert_eq!(values[0][SENTIMENT], Some(0.0));
        let v = crate::compute(&snap, &p, "health_index").unwrap();
        let row = v
            .table("components")
            .unwrap()
            .rows
            .iter()
            .find(|r| r[0] == Cell::Text("sentiment".into()))
            .unwrap()
            .clone();
        assert_eq!(row[1..4], [Cell::Int(1), Cell::Real(0.0), Cell::Int(0)]);
    }

    // Without text scores (an import with --no-score) sentiment has no data and is left out
    // by name; conversation quality is still measured (its sentiment part is neutral).
    #[test]
    fn sentiment_is_left_out_until_messages_are_scored() {
        let mut c = Community::new();
        c.post("ann", at("2024-05-10T10:00:00Z"), "t1");
        c.reply("bob", at("2024-05-10T11:00:00Z"), "t1");
        c.team("bob", None);
        let snap = c.snapshot();
        let p = Params {
            as_of: Some(at("2024-06-01T00:00:00Z")),
            ..Params::default()
        };
        let v = crate::compute(&snap, &p, "health_index").unwrap();
        let index = &v.table("index").unwrap().rows[0];
        assert_eq!(
            index[2],
            Cell::Text("retention, sentiment, moderation_load".into())
        );
    }

    // Without any team member every first response is the community's: peer support says
    // nothing and is left out, by name.
    #[test]
    fn peer_support_needs_a_team_to_mean_something() {
        let mut c = Community::new();
        c.post("ann", at("2024-05-10T10:00:00Z"), "t1");
        c.reply("bob", at("2024-05-10T11:00:00Z"), "t1");
        let snap = c.snapshot();
        let p = Params {
            as_of: Some(at("2024-06-01T00:00:00Z")),
            ..Params::default()
        };
        let v = crate::compute(&snap, &p, "health_index").unwrap();
        let index = &v.table("index").unwrap().rows[0];
        assert_eq!(
            index[2],
            Cell::Text("retention, peer_support, sentiment, moderation_load".into())
        );
    }

    #[test]
    fn every_window_agrees_with_the_definitions() {
        crate::testkit::check_model(&METRIC, 64, |s| {
            let fast = measure(s);
            let slow = slow(s);
            if fast != slow {
                return Err(format!("fast {fast:?}\nslow {slow:?}"));
            }
            Ok(())
        });
    }
}
