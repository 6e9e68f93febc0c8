//! Onboarding (funnel per cohort, response effect, newcomers waiting), retention (cohort heat
//! map and curves, churn, recently inactive) and the interaction network. Metrics that this
//! kith does not compute yet are shown as empty states saying what will appear.

use std::collections::BTreeMap;

use axum::extract::{Query, State};
use kith_analytics::{MetricValue, Table, find};
use maud::{Markup, html};

use super::{Me, column, computed, heading, no_data, period_picker, shell, source_names};
use crate::analytics::{Computed, PeriodQuery};
use crate::charts::{self, Series, Unit};
use crate::{AppState, WebError, ui};

/// A metric's section: its chart (when `chart` draws one) and its tables, or an empty state.
fn section(
    c: &Computed,
    name: &str,
    title: &str,
    pending: &str,
    chart: impl Fn(&MetricValue) -> Option<String>,
) -> Markup {
    html! {
        (heading(name, title))
        @match c.metric(name) {
            Some(m) => {
                @if let Some(svg) = chart(m) { (ui::raw(svg)) }
                details open[m.tables.iter().all(|t| t.rows.len() <= 12)] { summary { "Table" } (super::tables(m, 50)) }
            }
            None => div.empty { p.small { (pending) } }
        }
    }
}

/// Bars of the first numeric column that reads as a share (or count) in a metric's first table.
fn first_numeric_bars(m: &MetricValue, title: &str) -> Option<String> {
    let t = m.tables.first()?;
    let (col, unit) = t
        .columns
        .iter()
        .find(|c| c.ends_with("share") || c.ends_with("rate"))
        .map(|c| (*c, Unit::Share))
        .or_else(|| {
            t.columns
                .iter()
                .skip(1)
                .find(|c| {
                    t.rows.first().is_some_and(|r| {
                        t.columns
                            .iter()
                            .position(|x| x == *c)
                            .and_then(|i| r[i].as_f64())
                            .is_some()
                    })
                })
                .map(|c| (*c, Unit::Count))
        })?;
    let items = column(t, col);
    if items.is_empty() || items.len() > 40 {
        return None;
    }
    Some(charts::hbar_chart(
        title,
        &items,
        if unit == Unit::Share { 1.0 } else { 0.0 },
        unit,
    ))
}

use crate::directory::Names;

async fn page(
    state: &AppState,
    me: &crate::auth::Principal,
    q: &PeriodQuery,
    path: &str,
    title: &str,
    render: impl FnOnce(&Computed, &Names) -> Markup,
) -> Result<Markup, WebError> {
    let sources = source_names(state).await?;
    let names = Names(match state.analytics.directory_cached() {
        Some(dir) => dir,
        None => {
            let s = state.clone();
            crate::blocking(move || s.analytics.directory()).await?
        }
    });
    let body = match computed(state, q).await? {
        Some(c) => {
            html! { h1 { (title) } (period_picker(path, q, Some(&c), &sources)) (render(&c, &names)) }
        }
        None => html! { h1 { (title) } (no_data()) },
    };
    Ok(shell(state, me, title, path, body))
}

pub async fn onboarding(
    State(state): State<AppState>,
    Me(me): Me,
    Query(q): Query<PeriodQuery>,
) -> Result<Markup, WebError> {
    page(&state, &me, &q, "/onboarding", "Onboarding", |c, names| html! {
        p { "How newcomers are welcomed: from joining to a first post, a first human response, a second participation and still being active 30, 60 and 90 days later." }
        (section(c, "onboarding_funnel", "Funnel per join cohort", "The funnel (joined → first post → first human response → second participation within 30 days → active at day 30/60/90, with the median time per step) appears once the onboarding funnel metric is part of this kith.", funnel_chart))
        (section(c, "response_effect", "What a fast answer is worth", "Day-30 retention of newcomers answered within 24 hours, later, or never appears once the response-effect metric is part of this kith.", |m| first_numeric_bars(m, "Day-30 retention of newcomers by how fast their first post was answered")))
        (heading("newcomers_waiting", "Newcomers waiting for a welcome"))
        @match c.metric("newcomers_waiting").and_then(|m| m.table("queue")) {
            Some(t) => (member_list(t, names, "member_id", &[("waiting", "waiting_s", true), ("posted", "posted", false)], Some("thread_id"))),
            None => div.empty { p.small { "The welcome queue appears once the newcomers-waiting metric is part of this kith." } }
        }
        (section(c, "activation", "Activation", "", |m| first_numeric_bars(m, "New contributors active again within 7, 30, 90 days")))
        (section(c, "new_members", "New members and new contributors", "", |m| {
            let t = m.table("periods")?;
            let labels: Vec<String> = column(t, "new_members").into_iter().map(|p| p.0).collect();
            Some(charts::line_chart("New members and contributors", &labels, &[
                Series { name: "new members", values: column(t, "new_members").into_iter().map(|p| Some(p.1)).collect() },
                Series { name: "new contributors", values: column(t, "new_contributors").into_iter().map(|p| Some(p.1)).collect() },
            ], Unit::Count))
        }))
    }).await
}

/// The cohort matrix as heat-map rows (cohort → share by k) and the k labels.
pub fn cohort_rows(t: &Table) -> (Vec<charts::HeatRow>, Vec<String>) {
    let mut rows: BTreeMap<String, Vec<Option<f64>>> = BTreeMap::new();
    let mut max_k = 0usize;
    for i in 0..t.rows.len() {
        let (Some(kith_analytics::Cell::Text(cohort)), Some(k), Some(share)) = (
            t.get(i, "cohort"),
            t.get(i, "k").and_then(|k| k.as_i64()),
            t.get(i, "share").and_then(|s| s.as_f64()),
        ) else {
            continue;
        };
        let k = k.max(0) as usize;
        max_k = max_k.max(k);
        let row = rows.entry(cohort.clone()).or_default();
        if row.len() <= k {
            row.resize(k + 1, None);
        }
        row[k] = Some(share);
    }
    let columns = (0..=max_k).map(|k| k.to_string()).collect();
    (rows.into_iter().collect(), columns)
}

pub async fn retention(
    State(state): State<AppState>,
    Me(me): Me,
    Query(q): Query<PeriodQuery>,
) -> Result<Markup, WebError> {
    page(&state, &me, &q, "/retention", "Retention", |c, names| html! {
        (section(c, "cohort_retention", "Cohort retention", "", |m| {
            let (rows, cols) = cohort_rows(m.table("cells")?);
            if rows.is_empty() { return None; }
            let heat = charts::heat_map("Share of each monthly cohort active k months later", &rows, &cols);
            // Curves: the latest six cohorts with at least two months behind them.
            let curves: Vec<&(String, Vec<Option<f64>>)> = rows.iter().filter(|r| r.1.len() >= 2).rev().take(6).collect();
            let labels: Vec<String> = cols.iter().map(|k| format!("month {k}")).collect();
            let series: Vec<Series> = curves.iter().rev().map(|(name, v)| Series { name: name.as_str(), values: { let mut v = v.clone(); v.resize(labels.len(), None); v } }).collect();
            let line = charts::line_chart("Retention curves of the latest cohorts", &labels, &series, Unit::Share);
            Some(format!("{heat}{line}"))
        }))
        (heading("recently_inactive", "Recently inactive: members to check on"))
        @match c.metric("recently_inactive").and_then(|m| m.table("members")) {
            Some(t) => (member_list(t, names, "member_id", &[("last participation", "last_participation", false), ("participations in the 90 days before", "participations_90d", false), ("days silent", "days_silent", false)], None)),
            None => div.empty { p.small { "Members who were among the most active and have gone quiet for 7–28 days appear once the recently-inactive metric is part of this kith. Meanwhile the Members page filters by days of silence." } }
        }
        (section(c, "churn", "Churn and resurrection", "", |m| {
            let t = m.table("periods")?;
            let labels: Vec<String> = column(t, "churned").into_iter().map(|p| p.0).collect();
            Some(charts::line_chart("Members churned, retained and resurrected per period", &labels, &[
                Series { name: "retained", values: column(t, "retained").into_iter().map(|p| Some(p.1)).collect() },
                Series { name: "churned", values: column(t, "churned").into_iter().map(|p| Some(p.1)).collect() },
                Series { name: "resurrected", values: column(t, "resurrected").into_iter().map(|p| Some(p.1)).collect() },
            ], Unit::Count))
        }))
        (section(c, "member_growth", "Member growth", "", |m| {
            let t = m.table("periods")?;
            let labels: Vec<String> = column(t, "members").into_iter().map(|p| p.0).collect();
            Some(charts::line_chart("Members over time", &labels, &[Series { name: "members", values: column(t, "members").into_iter().map(|p| Some(p.1)).collect() }], Unit::Count))
        }))
        (section(c, "activation", "Activation", "", |m| first_numeric_bars(m, "Activation")))
    }).await
}

pub async fn network(
    State(state): State<AppState>,
    Me(me): Me,
    Query(q): Query<PeriodQuery>,
) -> Result<Markup, WebError> {
    page(&state, &me, &q, "/network", "Network", |c, _| {
        let title = find("network").map_or("Interaction network", |d| d.title);
        html! {
            p { "Who talks with whom: the member-to-member graph from replies, mentions and co-participation." }
            (section(c, "network", title, "Connectors (members bridging groups), isolated newcomers, density, reciprocity and the graph itself appear once the network metric is part of this kith.", network_chart))
        }
    }).await
}

/// The funnel over every cohort of the range: at each step, the members who reached it as a
/// share of those eligible for it (whose window for the step has ended by as-of), summed over
/// the cohorts; the per-cohort rows are in the table below the chart.
fn funnel_chart(m: &MetricValue) -> Option<String> {
    let t = m.table("steps")?;
    let mut steps: Vec<(String, f64, f64)> = Vec::new();
    for i in 0..t.rows.len() {
        let (Some(step), Some(n), Some(e)) = (
            t.get(i, "step"),
            t.get(i, "members").and_then(|v| v.as_f64()),
            t.get(i, "eligible").and_then(|v| v.as_f64()),
        ) else {
            continue;
        };
        let step = super::cell(step);
        match steps.iter_mut().find(|s| s.0 == step) {
            Some(s) => {
                s.1 += n;
                s.2 += e;
            }
            None => steps.push((step, n, e)),
        }
    }
    let items: Vec<(String, f64)> = steps
        .into_iter()
        .filter(|s| s.2 > 0.0)
        .map(|(s, n, e)| (s.replace('_', " "), n / e))
        .collect();
    (!items.is_empty()).then(|| {
        charts::hbar_chart(
            "Onboarding funnel, all cohorts of the range (share of the members eligible for each step)",
            &items,
            1.0,
            Unit::Share,
        )
    })
}

/// A list of members from a metric table: name (linked), then the given columns; times are
/// shown as dates, `*_s` columns as durations.
fn member_list(
    t: &Table,
    names: &Names,
    id_col: &str,
    cols: &[(&str, &str, bool)],
    thread_col: Option<&str>,
) -> Markup {
    let shown = 100;
    html! {
        p { strong { (t.rows.len()) } " members." }
        @if !t.rows.is_empty() {
            table {
                thead { tr { th { "Member" } @for (label, _, _) in cols { th { (label) } } @if thread_col.is_some() { th { "Thread" } } } }
                tbody { @for i in 0..t.rows.len().min(shown) {
                    @let id = t.get(i, id_col).and_then(|v| v.as_i64()).unwrap_or(0);
                    tr {
                        td { a href={ "/members/" (id) } { (names.get(&id).cloned().unwrap_or_else(|| format!("member {id}"))) } }
                        @for (_, col, duration) in cols {
                            @let v = t.get(i, col).and_then(|v| v.as_i64());
                            td { @if let Some(v) = v {
                                @if *duration { (ui::duration(v)) }
                                @else if col.contains("participation") && !col.ends_with("90d") || *col == "posted" { (ui::day(v)) }
                                @else { (ui::num(v)) }
                            } }
                        }
                        @if let Some(tc) = thread_col { td { @if let Some(th) = t.get(i, tc).and_then(|v| v.as_i64()) { a href={ "/conversations/threads/" (th) } { "open" } } } }
                    }
                } }
            }
            @if t.rows.len() > shown { p.muted.small { "The first " (shown) " are shown; the API lists all." } }
        }
    }
}

/// Draws the graph when the network metric returns an edge table (`a`, `b`, `weight`).
fn network_chart(m: &MetricValue) -> Option<String> {
    let t = m
        .tables
        .iter()
        .find(|t| t.columns.contains(&"weight") && t.columns.len() >= 3)?;
    let (ia, ib) = (0, 1);
    let iw = t.columns.iter().position(|c| *c == "weight")?;
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    let mut nodes: Vec<(String, f64)> = Vec::new();
    let mut edges = Vec::new();
    for r in t.rows.iter().take(400) {
        let w = r[iw].as_f64().unwrap_or(1.0);
        let mut id = |c: &kith_analytics::Cell| {
            let key = super::cell(c);
            *index.entry(key.clone()).or_insert_with(|| {
                nodes.push((key, 0.0));
                nodes.len() - 1
            })
        };
        let (a, b) = (id(&r[ia]), id(&r[ib]));
        nodes[a].1 += w;
        nodes[b].1 += w;
        edges.push((a, b, w));
    }
    (!nodes.is_empty()).then(|| charts::network("Strongest connections", &nodes, &edges))
}
