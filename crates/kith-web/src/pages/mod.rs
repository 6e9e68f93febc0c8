//! The HTML pages, one module per area. Each handler reads the request, asks the store or the
//! shared analytics on a blocking thread, and renders with [`crate::ui`] and [`crate::charts`].

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use kith_analytics::{Cell, ColumnKind, MetricValue, Table, column_kind};
use maud::{Markup, html};

use crate::analytics::{Computed, PeriodQuery};
use crate::auth::Principal;
use crate::ui::{self, Shell};
use crate::{AppState, WebError};

pub mod account;
pub mod conversations;
pub mod insights;
pub mod members;
pub mod overview;
pub mod sources;

/// The logged-in account (routes behind `authorize` always have one).
pub struct Me(pub Principal);

impl<S: Send + Sync> FromRequestParts<S> for Me {
    type Rejection = WebError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Me, WebError> {
        parts
            .extensions
            .get::<Principal>()
            .cloned()
            .map(Me)
            .ok_or_else(|| WebError::Forbidden("log in first".into()))
    }
}

/// The account, if any (public pages).
pub struct Who(pub Option<Principal>);

impl<S: Send + Sync> FromRequestParts<S> for Who {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Who, Self::Rejection> {
        Ok(Who(parts.extensions.get::<Principal>().cloned()))
    }
}

/// A page in the shell.
pub fn shell(state: &AppState, me: &Principal, title: &str, current: &str, body: Markup) -> Markup {
    ui::page(
        &Shell {
            title,
            current,
            principal: Some(me),
            demo: state.demo,
        },
        body,
    )
}

/// The current selection's metrics, or `None` when there is no data yet.
pub async fn computed(
    state: &AppState,
    q: &PeriodQuery,
) -> Result<Option<std::sync::Arc<Computed>>, WebError> {
    if let Some(tz) = state.tz_cached()
        && let Some(c) = state.analytics.computed_cached(q, tz)
    {
        return Ok(Some(c));
    }
    let (state, q) = (state.clone(), q.clone());
    match crate::blocking(move || state.analytics.computed(&q, state.tz())).await {
        Ok(c) => Ok(Some(c)),
        Err(WebError::NoData) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Shown instead of numbers before anything is imported.
pub fn no_data() -> Markup {
    html! {
        div.empty {
            h2 { "No data yet" }
            p { "kith has no activity to measure. Import an export on the " a href="/sources" { "Sources" } " page, with "
                code { "kith import FORMAT PATH" } ", or send activities to the ingest API (" a href="/api/v1/openapi.json" { "POST /api/v1/activities" } ")." }
        }
    }
}

/// The period picker: range, as-of, period, source, team; plus what is shown.
pub fn period_picker(
    action: &str,
    q: &PeriodQuery,
    c: Option<&Computed>,
    sources: &[String],
) -> Markup {
    let v = |s: &Option<String>| s.clone().unwrap_or_default();
    html! {
        form.inline method="get" action=(action) aria-label="Period" {
            label { "From" input type="date" name="from" value=(v(&q.from)); }
            label { "To" input type="date" name="to" value=(v(&q.to)); }
            label { "As of" input type="date" name="as_of" value=(v(&q.as_of)); }
            label { "Period"
                select name="period" {
                    @for p in ["day", "week", "month", "quarter"] {
                        option value=(p) selected[q.period.as_deref().unwrap_or("month") == p] { (p) }
                    }
                }
            }
            label { "Source"
                select name="source" {
                    option value="" { "all sources" }
                    @for s in sources {
                        option value=(s) selected[q.source.as_deref() == Some(s.as_str())] { (s) }
                    }
                }
            }
            label { "Team activity"
                select name="team" {
                    option value="" { "excluded" }
                    option value="1" selected[q.team.as_deref() == Some("1")] { "included" }
                }
            }
            button type="submit" { "Show" }
        }
        @if let Some(c) = c {
            p.muted.small {
                "From " (c.from) " to " (c.to) " by " (c.period.as_str()) ", as of " (ui::when(c.as_of)) " UTC"
                @if q.team.as_deref() != Some("1") { " · team and bots excluded" }
                " · " a href="/definitions#as-of" { "what does as-of mean?" }
            }
        }
    }
}

/// The names of the live sources, for the picker.
pub async fn source_names(state: &AppState) -> Result<Vec<String>, WebError> {
    let names = |s: &[kith_store::SourceSummary]| s.iter().map(|s| s.name.clone()).collect();
    if let Some(sources) = state.analytics.sources_cached() {
        return Ok(names(&sources));
    }
    let s = state.clone();
    crate::blocking(move || Ok(names(&s.analytics.sources()?))).await
}

/// The community's name and time zone (from memory when fresh).
pub async fn community(
    state: &AppState,
) -> Result<std::sync::Arc<kith_store::Community>, WebError> {
    if let Some(c) = state.analytics.community_cached() {
        return Ok(c);
    }
    let s = state.clone();
    crate::blocking(move || s.analytics.community()).await
}

/// A cell as text.
pub fn cell(c: &Cell) -> String {
    match c {
        Cell::Null => "–".into(),
        Cell::Int(i) => ui::num(*i),
        Cell::Real(r) => {
            if r.fract() == 0.0 && r.abs() < 1e15 {
                ui::num(*r as i64)
            } else {
                format!("{r:.3}")
            }
        }
        Cell::Text(t) => t.clone(),
    }
}

/// A metric's tables as HTML tables (the generic rendering every metric gets, so that a
/// metric added to the registry shows up before it has a chart of its own).
pub fn tables(m: &MetricValue, max_rows: usize) -> Markup {
    html! {
        @for t in &m.tables {
            (table(t, max_rows))
        }
    }
}

pub fn table(t: &Table, max_rows: usize) -> Markup {
    html! {
        table {
            caption { (t.name.replace('_', " ")) }
            thead { tr { @for c in &t.columns { th scope="col" { (c.replace('_', " ")) } } } }
            tbody {
                @for r in t.rows.iter().take(max_rows) {
                    tr { @for (c, column) in r.iter().zip(&t.columns) { (column_cell(column, c)) } }
                }
            }
        }
        @if t.rows.len() > max_rows {
            p.muted.small { (t.rows.len() - max_rows) " more rows in the API: " code { "/api/v1/metrics/…" } }
        }
    }
}

/// A cell of a generic table, by its column's kind: instants as date and time, durations in
/// a unit, members as links to their pages; other numbers as numbers.
fn column_cell(column: &str, c: &Cell) -> Markup {
    match (column_kind(column), c) {
        (ColumnKind::Instant, Cell::Int(t)) => html! { td { (ui::when(*t)) } },
        (ColumnKind::Seconds, Cell::Int(s)) => html! { td.num { (ui::duration(*s)) } },
        (ColumnKind::Member, Cell::Int(id)) => {
            html! { td { a href={ "/members/" (id) } { "member " (id) } } }
        }
        (ColumnKind::Members, Cell::Text(list)) => html! {
            td { @for (i, id) in list.split_whitespace().enumerate() {
                @if i > 0 { ", " }
                a href={ "/members/" (id) } { (id) }
            } }
        },
        _ => {
            let num = matches!(c, Cell::Int(_) | Cell::Real(_));
            html! { td class=[num.then_some("num")] { (cell(c)) } }
        }
    }
}

/// A numeric column of a table as (first-column label, value) points.
pub fn column(t: &Table, name: &str) -> Vec<(String, f64)> {
    let Some(i) = t.columns.iter().position(|c| *c == name) else {
        return Vec::new();
    };
    t.rows
        .iter()
        .filter_map(|r| Some((cell(&r[0]), r.get(i)?.as_f64()?)))
        .collect()
}

/// The value in column `col` of the row whose first cell is `key`.
pub fn lookup<'a>(t: &'a Table, key: &str, col: &str) -> Option<&'a Cell> {
    let row = t
        .rows
        .iter()
        .position(|r| matches!(&r[0], Cell::Text(s) if s == key))?;
    t.get(row, col)
}

/// A metric section heading with its explanation link.
pub fn heading(m: &str, title: &str) -> Markup {
    html! { h2 id=(format!("m-{m}")) { (title) (ui::explain(m)) } }
}
