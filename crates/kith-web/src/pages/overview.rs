//! The overview (the attachment scorecard with the previous period beside it, the attention
//! scorecard's empty state) and the definitions page every "what is this?" link points to.

use axum::extract::{Query, State};
use kith_analytics::{MetricValue, find, registry};
use maud::{Markup, html};

use super::{Me, column, computed, heading, lookup, no_data, period_picker, shell, source_names};
use crate::analytics::{Computed, PeriodQuery};
use crate::charts::{self, Series, Unit};
use crate::ui::{self, explain};
use crate::{AppState, WebError};

/// One headline number with its previous-period value.
struct Headline {
    label: &'static str,
    metric: &'static str,
    value: Option<f64>,
    previous: Option<f64>,
    unit: Unit,
    /// Whether a rise is good news (for the colour of the change).
    up_is_good: bool,
    note: String,
}

fn rolling(c: &Computed, window: i64) -> Option<f64> {
    let t = c.metric("active_members")?.table("rolling")?;
    let row = t.rows.iter().position(|r| r[0].as_i64() == Some(window))?;
    t.get(row, "active")?.as_f64()
}

fn sum(c: &Computed, metric: &str, table: &str, col: &str) -> Option<f64> {
    let t = c.metric(metric)?.table(table)?;
    Some(column(t, col).iter().map(|p| p.1).sum())
}

fn cellf(c: &Computed, metric: &str, table: &str, key: &str, col: &str) -> Option<f64> {
    lookup(c.metric(metric)?.table(table)?, key, col)?.as_f64()
}

fn int_key(c: &Computed, metric: &str, table: &str, key: i64, col: &str) -> Option<f64> {
    let t = c.metric(metric)?.table(table)?;
    let row = t.rows.iter().position(|r| r[0].as_i64() == Some(key))?;
    t.get(row, col)?.as_f64()
}

fn headlines(c: &Computed, prev: Option<&Computed>) -> Vec<Headline> {
    let both = |f: &dyn Fn(&Computed) -> Option<f64>| (f(c), prev.and_then(f));
    let mut out = Vec::new();
    let (v, p) = both(&|c| rolling(c, 28));
    out.push(Headline {
        label: "Active members (28 days)",
        metric: "active_members",
        value: v,
        previous: p,
        unit: Unit::Count,
        up_is_good: true,
        note: "members with a participation in the 28 days up to as-of".into(),
    });
    let (v, p) = both(&|c| sum(c, "new_members", "periods", "new_contributors"));
    out.push(Headline {
        label: "New contributors",
        metric: "new_members",
        value: v,
        previous: p,
        unit: Unit::Count,
        up_is_good: true,
        note: "first participation in the periods of the range".into(),
    });
    let (v, p) = both(&|c| int_key(c, "activation", "windows", 30, "share"));
    out.push(Headline {
        label: "Activation within 30 days",
        metric: "activation",
        value: v,
        previous: p,
        unit: Unit::Share,
        up_is_good: true,
        note: "new contributors who participated again within 30 days".into(),
    });
    let (v, p) = both(&|c| cellf(c, "first_response", "segments", "all", "median_s"));
    out.push(Headline {
        label: "Median first response",
        metric: "first_response",
        value: v,
        previous: p,
        unit: Unit::Seconds,
        up_is_good: false,
        note: "over responded threads opened in the range".into(),
    });
    let (v, p) = both(&|c| cellf(c, "first_response", "segments", "all", "within_24h_share"));
    out.push(Headline {
        label: "Answered within 24 h",
        metric: "first_response",
        value: v,
        previous: p,
        unit: Unit::Share,
        up_is_good: true,
        note: "of threads that are not open; unanswered ones count".into(),
    });
    let (v, p) = both(&|c| cellf(c, "first_response", "segments", "all", "unanswered_share"));
    out.push(Headline {
        label: "Unanswered",
        metric: "first_response",
        value: v,
        previous: p,
        unit: Unit::Share,
        up_is_good: false,
        note: "threads older than 30 days with no response".into(),
    });
    let (v, p) = both(&|c| cellf(c, "peer_support", "responses", "first", "share"));
    out.push(Headline {
        label: "Peer support",
        metric: "peer_support",
        value: v,
        previous: p,
        unit: Unit::Share,
        up_is_good: true,
        note: "first responses given by community members, not the team".into(),
    });
    out
}

/// A cell of the one-row `summary` table of the `sentiment` metric.
fn sentiment_cell(c: &Computed, col: &str) -> Option<f64> {
    c.metric("sentiment")?
        .table("summary")?
        .get(0, col)?
        .as_f64()
}

/// Sentiment of the range's messages (SPEC §4.5): positive, negative and hostile shares with
/// the previous range beside them, and their course per period.
fn sentiment_section(c: &Computed, prev: Option<&Computed>) -> Markup {
    let messages = sentiment_cell(c, "messages").unwrap_or(0.0);
    let scored = sentiment_cell(c, "scored").unwrap_or(0.0);
    let confident = sentiment_cell(c, "confident").unwrap_or(0.0);
    let small = sentiment_cell(c, "small_sample") == Some(1.0);
    let of_confident = format!(
        "of {} confident messages{}",
        ui::num(confident as i64),
        if small { " (small sample)" } else { "" }
    );
    let both = |col: &'static str| {
        (
            sentiment_cell(c, col),
            prev.and_then(|p| sentiment_cell(p, col)),
        )
    };
    let cards = [
        (
            "Positive messages",
            "positive_share",
            true,
            of_confident.clone(),
        ),
        (
            "Negative messages",
            "negative_share",
            false,
            format!("{of_confident}; a bug report or a complaint is negative, not hostile"),
        ),
        (
            "Hostile messages",
            "hostile_share",
            false,
            format!(
                "insults, slurs, threats or harassment, of {} scored messages",
                ui::num(scored as i64)
            ),
        ),
    ]
    .map(|(label, col, up_is_good, note)| {
        let (value, previous) = both(col);
        Headline {
            label,
            metric: "sentiment",
            value,
            previous,
            unit: Unit::Share,
            up_is_good,
            note,
        }
    });
    let periods = c.metric("sentiment").and_then(|m| m.table("periods"));
    let chart = periods.filter(|t| t.rows.len() > 1).map(|t| {
        let labels: Vec<String> = t.rows.iter().map(|r| super::cell(&r[0])).collect();
        let values = |col: &str| -> Vec<Option<f64>> {
            (0..t.rows.len())
                .map(|i| t.get(i, col).and_then(|v| v.as_f64()))
                .collect()
        };
        charts::line_chart(
            "Positive and negative shares of confident messages per period",
            &labels,
            &[
                Series {
                    name: "positive",
                    values: values("positive_share"),
                },
                Series {
                    name: "negative",
                    values: values("negative_share"),
                },
                Series {
                    name: "hostile (of scored)",
                    values: values("hostile_share"),
                },
            ],
            Unit::Share,
        )
    });
    html! {
        (heading("sentiment", "Sentiment"))
        @if messages == 0.0 {
            div.empty { p.small { "No message in this range has a text score yet. kith scores messages after each import and in the background of " code { "kith serve" } "; " code { "kith rescore" } " scores them by hand." } }
        } @else {
            div.grid { @for h in &cards { (headline_card(h)) } }
            @let not_scored = sentiment_cell(c, "not_scored").unwrap_or(0.0);
            @if not_scored > 0.0 {
                p.small.muted { (ui::num(not_scored as i64)) " messages are in a language kith-text does not score (English only) and count nowhere here." }
            }
            @if let Some(svg) = chart { (ui::raw(svg)) }
            (topics_table(c))
        }
    }
}

/// Topics with the most messages in the range (the labels of the threads' opening posts),
/// with their shares; nothing for a community whose platform has no labels.
fn topics_table(c: &Computed) -> Markup {
    const SHOWN: usize = 10;
    let Some(t) = c.metric("sentiment").and_then(|m| m.table("topics")) else {
        return html! {};
    };
    if t.rows.is_empty() {
        return html! {};
    }
    let number = |i: usize, col: &str| t.get(i, col).and_then(|v| v.as_f64());
    let mut rows: Vec<usize> = (0..t.rows.len()).collect();
    // Most messages first; the table's own (byte) order between equals.
    rows.sort_by(|&a, &b| {
        number(b, "messages")
            .unwrap_or(0.0)
            .total_cmp(&number(a, "messages").unwrap_or(0.0))
    });
    let share = |i: usize, col: &str| number(i, col).map_or_else(|| "–".to_owned(), ui::pct);
    html! {
        table {
            caption { "By topic (the labels of the threads' opening posts), most messages first" }
            thead { tr {
                th scope="col" { "topic" }
                th.num scope="col" { "messages" }
                th.num scope="col" { "positive" }
                th.num scope="col" { "negative" }
                th.num scope="col" { "hostile" }
            } }
            tbody {
                @for &i in rows.iter().take(SHOWN) {
                    tr {
                        td { (t.get(i, "topic").map(super::cell).unwrap_or_default()) }
                        td.num { (ui::num(number(i, "messages").unwrap_or(0.0) as i64)) }
                        td.num { (share(i, "positive_share")) }
                        td.num { (share(i, "negative_share")) }
                        td.num { (share(i, "hostile_share")) }
                    }
                }
            }
        }
        @if t.rows.len() > SHOWN {
            p.muted.small { (t.rows.len() - SHOWN) " more topics in " code { "kith report" } " and the API." }
        }
    }
}

fn headline_card(h: &Headline) -> Markup {
    let delta = match (h.value, h.previous) {
        (Some(v), Some(p)) => {
            let d = v - p;
            let good = (d > 0.0) == h.up_is_good;
            let text = match h.unit {
                Unit::Share => format!("{:+.1} points", d * 100.0),
                Unit::Seconds => format!(
                    "{}{}",
                    if d < 0.0 { "−" } else { "+" },
                    Unit::Seconds.format(d.abs())
                ),
                Unit::Count => format!("{:+}", d.round() as i64),
            };
            Some((
                text,
                if d == 0.0 {
                    ""
                } else if good {
                    "delta-up"
                } else {
                    "delta-down"
                },
                Unit::format(h.unit, p),
            ))
        }
        _ => None,
    };
    html! {
        div.card {
            div.label { (h.label) (explain(h.metric)) }
            div.value { @match h.value { Some(v) => (h.unit.format(v)), None => "–" } }
            @if let Some((text, class, prev)) = delta {
                div.small { span class=(class) { (text) } span.muted { " vs " (prev) " the period before" } }
            }
            div.small.muted { (h.note) }
        }
    }
}

/// Components of the health index, when its metric is in the registry: a table with a
/// `component` column and a score column.
fn health_index(m: &MetricValue) -> Markup {
    let components = m.tables.iter().find(|t| t.columns.contains(&"component"));
    let score_col = components.and_then(|t| {
        ["score", "points", "value"]
            .into_iter()
            .find(|c| t.columns.contains(c))
    });
    html! {
        @if let (Some(t), Some(col)) = (components, score_col) {
            @let items: Vec<(String, f64)> = column(t, col);
            @let max = if items.iter().all(|i| i.1 <= 5.0) { 5.0 } else { 100.0 };
            (ui::raw(charts::hbar_chart("Health index components", &items, max, Unit::Count)))
        }
        (super::tables(m, 20))
    }
}

pub async fn overview(
    State(state): State<AppState>,
    Me(me): Me,
    Query(q): Query<PeriodQuery>,
) -> Result<Markup, WebError> {
    let sources = source_names(&state).await?;
    let Some(c) = computed(&state, &q).await? else {
        return Ok(shell(
            &state,
            &me,
            "Overview",
            "/",
            html! { h1 { "Overview" } (no_data()) },
        ));
    };
    let community = super::community(&state).await?;
    // Everything the body shows comes from the data at this watermark, the selection, the
    // community's name and the sources (themselves per watermark): rendered once for them.
    let key = format!(
        "overview|{}|{}|{}",
        community.time_zone,
        community.name,
        q.to_query()
    );
    if let Some(body) = state.analytics.rendered(&key, c.watermark) {
        return Ok(shell(
            &state,
            &me,
            "Overview",
            "/",
            ui::raw(body.to_string()),
        ));
    }
    let prev = match computed(&state, &q.previous(&c)).await {
        Ok(p) => p,
        // An empty previous range (before the first activity) is no comparison, not an error.
        Err(WebError::BadRequest(_)) => None,
        Err(e) => return Err(e),
    };
    let cards = headlines(&c, prev.as_deref());
    let periods = c.metric("active_members").and_then(|m| m.table("periods"));
    let active_chart = periods.map(|t| {
        let labels: Vec<String> = column(t, "active").into_iter().map(|p| p.0).collect();
        let values = column(t, "active").into_iter().map(|p| Some(p.1)).collect();
        charts::line_chart(
            "Active members per period",
            &labels,
            &[Series {
                name: "active members",
                values,
            }],
            Unit::Count,
        )
    });
    let new_chart = c
        .metric("new_members")
        .and_then(|m| m.table("periods"))
        .map(|t| {
            let labels: Vec<String> = column(t, "new_members").into_iter().map(|p| p.0).collect();
            charts::line_chart(
                "New members and new contributors per period",
                &labels,
                &[
                    Series {
                        name: "new members",
                        values: column(t, "new_members")
                            .into_iter()
                            .map(|p| Some(p.1))
                            .collect(),
                    },
                    Series {
                        name: "new contributors",
                        values: column(t, "new_contributors")
                            .into_iter()
                            .map(|p| Some(p.1))
                            .collect(),
                    },
                ],
                Unit::Count,
            )
        });
    let health = c.metric("health_index");
    let body = html! {
        h1 { (community.name) }
        (period_picker("/", &q, Some(&c), &sources))
        div.cols {
            section aria-labelledby="attachment" {
                h2 #attachment { "Attachment: does the community make people stay?" }
                @match health {
                    Some(m) => { (heading("health_index", "Community health index")) (health_index(m)) }
                    None => div.empty {
                        strong { "Health index" } p.small { "One number from 0 to 100 with its components (participation, retention, responsiveness, peer support, conversation quality, sentiment, growth, moderation load), each scored against documented thresholds. It appears here once the health index metric is part of this kith." }
                    }
                }
                div.grid { @for h in &cards { (headline_card(h)) } }
                (sentiment_section(&c, prev.as_deref()))
                (heading("active_members", "Active members"))
                @if let Some(svg) = active_chart { (ui::raw(svg)) }
                (heading("new_members", "New members and contributors"))
                @if let Some(svg) = new_chart { (ui::raw(svg)) }
                details {
                    summary { "All numbers of this period as tables" }
                    @for m in &c.metrics {
                        h3 { (find(m.metric).map_or(m.metric, |d| d.title)) (explain(m.metric)) }
                        (super::tables(m, 30))
                    }
                }
            }
            section aria-labelledby="attention" {
                h2 #attention { "Attention: does outreach bring people in?" }
                div.empty {
                    p { strong { "The attention scorecard is empty." } }
                    p.small { "It will show the social side: impressions, reach, engagement rate with its denominator shown, clicks, follows and conversions of the brand's posts and campaigns, and, where the two meet, how many members each campaign brought who activated and stayed." }
                    p.small { "It fills in when post analytics are imported (the " code { "social-csv" } " and " code { "mastodon" } " formats)." }
                }
            }
        }
        p.muted.small { "Computed in " (c.millis) " ms at change " (c.watermark) "." }
    };
    let body = state
        .analytics
        .keep_rendered(key, c.watermark, body.into_string());
    Ok(shell(
        &state,
        &me,
        "Overview",
        "/",
        ui::raw(body.to_string()),
    ))
}

pub async fn definitions(State(state): State<AppState>, Me(me): Me) -> Markup {
    let body = html! {
        h1 { "Definitions" }
        p { "Every number in kith has a written definition and a reference SQL query that computes the same numbers over the canonical schema (run it on your own copy to check kith)." }
        h2 #as-of { "As-of, ranges and periods" }
        p { "Every \"now\" is the as-of instant: by default the time of the latest activity in scope, so historical exports give meaningful answers. The range runs from its first to its last local day (default: the 90 days ending on as-of's day); periods are calendar days, ISO weeks from Monday, months or quarters in the community's time zone. Team activity and bots are left out unless team activity is included." }
        h2 #roles { "Roles" }
        table {
            thead { tr { th { "Role" } th { "May" } } }
            tbody {
                tr { td { "viewer" } td { "read every page and the read API" } }
                tr { td { "analyst" } td { "as viewer, plus save segments and create API tokens" } }
                tr { td { "moderator" } td { "as analyst, plus notes, tags and tasks on members" } }
                tr { td { "admin" } td { "as moderator, plus merge and unmerge members, import data, manage accounts (not owners)" } }
                tr { td { "owner" } td { "everything, including owner accounts" } }
            }
        }
        @for m in registry() {
            section {
                h2 id=(m.name) { (m.title) " " code.small { (m.name) } }
                pre { (m.definition.trim()) }
                @match (m.reference_sql(), m.verified_by()) {
                    (Some(sql), _) => { details { summary { "Reference SQL" } pre { (sql.trim()) } } }
                    (None, Some(how)) => { p { "No reference SQL: " (how.trim()) } }
                    (None, None) => {}
                }
            }
        }
    };
    shell(&state, &me, "Definitions", "/definitions", body)
}
