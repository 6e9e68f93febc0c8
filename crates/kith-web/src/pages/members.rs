//! Members: the searchable, filterable list with saved segments; a member's profile
//! (identities, cross-platform timeline, notes, tags, tasks, merges); merge candidates with
//! their evidence; merge and unmerge.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use kith_store::{MemberId, MergeEvidence, MergeId, SegmentId, SourceId, TaskId};
use maud::{Markup, html};
use serde::{Deserialize, Serialize};

use super::{Me, shell};
use crate::analytics::{Directory, MemberEntry};
use crate::auth::{Action, Principal};
use crate::directory::{MemberFilter, Names, Sort};
use crate::ui::{self, csrf_field};
use crate::{AppState, WebError, blocking};

/// The member list's filters (also what a saved segment stores, as JSON).
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
pub struct MemberQuery {
    /// Name, handle, e-mail or platform id contains this (case-insensitive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub q: Option<String>,
    /// Has an identity in this source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// First seen on or after / before this day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub joined_from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub joined_to: Option<String>,
    /// Last participation within this many days of as-of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_days: Option<String>,
    /// Silent for at least this many days at as-of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub silent_days: Option<String>,
    /// "1": list team members and bots too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    /// recent (default), name, participations, joined.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort: Option<String>,
    #[serde(default, skip_serializing)]
    pub segment: Option<String>,
    #[serde(default, skip_serializing)]
    pub page: Option<usize>,
}

fn clean(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn date_ts(text: &str, end: bool) -> Result<i64, WebError> {
    let d = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| WebError::BadRequest(format!("`{text}` is not a date like 2024-05-01")))?;
    let t = d
        .and_hms_opt(0, 0, 0)
        .map_or(0, |t| t.and_utc().timestamp());
    Ok(if end { t + 86_399 } else { t })
}

fn days(text: Option<&str>) -> Result<Option<i64>, WebError> {
    text.map(|t| {
        t.parse::<i64>()
            .ok()
            .filter(|d| *d >= 0)
            .ok_or_else(|| WebError::BadRequest(format!("`{t}` is not a number of days")))
    })
    .transpose()
}

/// The members matching `q`, sorted: positions in `dir` (see [`Directory::at`]). `tags` by
/// member, `sources` by name. The directory keeps the answer for the next request with the
/// same filters, except for the tag filter, which is applied to the store's current tags.
pub fn filter(
    dir: &Directory,
    q: &MemberQuery,
    tags: &HashMap<MemberId, Vec<String>>,
    sources: &HashMap<String, SourceId>,
) -> Result<Arc<Vec<u32>>, WebError> {
    let source = match clean(&q.source) {
        Some(s) => Some(
            *sources
                .get(s)
                .ok_or_else(|| WebError::BadRequest(format!("unknown source `{s}`")))?,
        ),
        None => None,
    };
    let f = MemberFilter {
        needle: clean(&q.q).map(str::to_lowercase),
        source,
        joined_from: clean(&q.joined_from)
            .map(|d| date_ts(d, false))
            .transpose()?,
        joined_to: clean(&q.joined_to).map(|d| date_ts(d, true)).transpose()?,
        active_days: days(clean(&q.active_days))?,
        silent_days: days(clean(&q.silent_days))?,
        team: clean(&q.team) == Some("1"),
    };
    let tagged: Option<HashSet<MemberId>> = clean(&q.tag).map(|t| {
        tags.iter()
            .filter(|(_, ts)| ts.iter().any(|x| x == t))
            .map(|(m, _)| *m)
            .collect()
    });
    let sort = Sort::parse(clean(&q.sort).unwrap_or("recent"));
    Ok(dir.find(&f, sort, tagged.as_ref()))
}

const PAGE: usize = 50;

/// Everything the list needs, read on a blocking thread.
pub struct ListData {
    pub dir: std::sync::Arc<Directory>,
    pub tags: HashMap<MemberId, Vec<String>>,
    pub sources: Arc<Vec<kith_store::SourceSummary>>,
    pub segments: Vec<kith_store::Segment>,
}

/// `segments`: whether the saved segments are needed (the page lists them; the API only
/// applies one when asked).
pub async fn list_data(state: &AppState, segments: bool) -> Result<ListData, WebError> {
    let s = state.clone();
    blocking(move || {
        let dir = s.analytics.directory()?;
        let mut tags: HashMap<MemberId, Vec<String>> = HashMap::new();
        for (m, t) in s.store.all_tags()? {
            tags.entry(m).or_default().push(t);
        }
        Ok(ListData {
            dir,
            tags,
            sources: s.analytics.sources()?,
            segments: if segments {
                s.store.segments()?
            } else {
                Vec::new()
            },
        })
    })
    .await
}

/// Resolves `?segment=ID` into the segment's saved filters.
pub fn apply_segment(
    q: MemberQuery,
    segments: &[kith_store::Segment],
) -> Result<MemberQuery, WebError> {
    let Some(id) = clean(&q.segment) else {
        return Ok(q);
    };
    let seg = segments
        .iter()
        .find(|s| s.id.0.to_string() == id)
        .ok_or_else(|| WebError::NotFound(format!("segment {id}")))?;
    let mut saved: MemberQuery = serde_json::from_str(&seg.filter).map_err(|e| {
        WebError::Internal(format!("segment {} has unreadable filters: {e}", seg.name))
    })?;
    saved.segment = q.segment;
    saved.page = q.page;
    Ok(saved)
}

fn query_string(q: &MemberQuery) -> String {
    let json = serde_json::to_value(q).unwrap_or_default();
    json.as_object()
        .map(|o| {
            o.iter()
                .filter_map(|(k, v)| v.as_str().map(|v| format!("{k}={}", ui::url_encode(v))))
                .collect::<Vec<_>>()
                .join("&")
        })
        .unwrap_or_default()
}

pub async fn list(
    State(state): State<AppState>,
    Me(me): Me,
    Query(q): Query<MemberQuery>,
) -> Result<Markup, WebError> {
    let data = list_data(&state, true).await?;
    let q = apply_segment(q, &data.segments)?;
    let by_name: HashMap<String, SourceId> = data
        .sources
        .iter()
        .map(|s| (s.name.clone(), s.id))
        .collect();
    let names: HashMap<SourceId, &str> = data
        .sources
        .iter()
        .map(|s| (s.id, s.name.as_str()))
        .collect();
    let found = filter(&data.dir, &q, &data.tags, &by_name)?;
    let page = q.page.unwrap_or(0);
    let pages = found.len().div_ceil(PAGE).max(1);
    let shown = found
        .iter()
        .skip(page.saturating_mul(PAGE))
        .take(PAGE)
        .filter_map(|&i| data.dir.at(i));
    let mut all_tags: Vec<&String> = data
        .tags
        .values()
        .flatten()
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    all_tags.sort();
    let v = |s: &Option<String>| s.clone().unwrap_or_default();
    let base = query_string(&q);
    let body = html! {
        h1 { "Members" }
        form.inline method="get" action="/members" aria-label="Filter members" {
            label { "Search" input type="search" name="q" value=(v(&q.q)) placeholder="name, handle, e-mail"; }
            label { "Source" select name="source" { option value="" { "any" } @for s in data.sources.iter() { option value=(s.name) selected[q.source.as_deref() == Some(s.name.as_str())] { (s.name) } } } }
            label { "Tag" select name="tag" { option value="" { "any" } @for t in &all_tags { option value=(t) selected[q.tag.as_deref() == Some(t.as_str())] { (t) } } } }
            label { "Joined from" input type="date" name="joined_from" value=(v(&q.joined_from)); }
            label { "Joined to" input type="date" name="joined_to" value=(v(&q.joined_to)); }
            label { "Active within (days)" input type="number" min="0" name="active_days" value=(v(&q.active_days)) size="5"; }
            label { "Silent for (days)" input type="number" min="0" name="silent_days" value=(v(&q.silent_days)) size="5"; }
            label { "Team and bots" select name="team" { option value="" { "hidden" } option value="1" selected[q.team.as_deref() == Some("1")] { "shown" } } }
            label { "Sort" select name="sort" {
                @for (k, l) in [("recent", "last active"), ("name", "name"), ("participations", "participations"), ("joined", "newest")] {
                    option value=(k) selected[q.sort.as_deref().unwrap_or("recent") == k] { (l) }
                }
            } }
            button type="submit" { "Filter" }
        }
        section aria-labelledby="segments" {
            h2 #segments .small { "Saved segments" }
            p {
                @if data.segments.is_empty() { span.muted { "None yet." } }
                @for s in &data.segments {
                    a href={ "/members?segment=" (s.id) } { (s.name) }
                    @if me.may(Action::Segments) {
                        form method="post" action={ "/members/segments/" (s.id) "/delete" } style="display:inline" {
                            (csrf_field(Some(&me))) button.quiet type="submit" aria-label={ "Delete segment " (s.name) } { "×" }
                        }
                    }
                    " "
                }
            }
            @if me.may(Action::Segments) {
                form.inline method="post" action="/members/segments" {
                    (csrf_field(Some(&me)))
                    input type="hidden" name="filter" value=(serde_json::to_string(&q).unwrap_or_default());
                    label { "Save these filters as" input type="text" name="name" required; }
                    button type="submit" { "Save segment" }
                }
            }
        }
        p { strong { (ui::num(found.len() as i64)) } " members" @if !data.dir.is_empty() { " · as of " (ui::when(data.dir.as_of)) } " · " a href="/members/candidates" { "merge candidates" } }
        table {
            thead { tr { th { "Name" } th { "Sources" } th { "Tags" } th { "First seen" } th { "Last active" } th.num { "Participations" } } }
            tbody { @for m in shown { tr {
                td { a href={ "/members/" (m.id) } { (m.name) } @if m.team { " " span.badge { "team" } } @if m.bot { " " span.badge { "bot" } } }
                td { (m.sources.iter().filter_map(|s| names.get(s).copied()).collect::<Vec<_>>().join(", ")) }
                td { @if let Some(ts) = data.tags.get(&m.id) { @for t in ts { span.badge { (t) } " " } } }
                td { (m.first_seen.map(ui::day).unwrap_or_default()) }
                td { (m.last_active.map(ui::day).unwrap_or_default()) }
                td.num { (ui::num(i64::from(m.participations))) }
            } } }
        }
        nav aria-label="Pages" { p {
            @if page > 0 { a href={ "/members?" (base) "&page=" (page - 1) } { "← previous" } " " }
            "page " (page + 1) " of " (pages)
            @if page + 1 < pages { " " a href={ "/members?" (base) "&page=" (page + 1) } { "next →" } }
        } }
    };
    Ok(shell(&state, &me, "Members", "/members", body))
}

#[derive(Deserialize)]
pub struct SegmentForm {
    name: String,
    filter: String,
}

pub async fn save_segment(
    State(state): State<AppState>,
    Me(me): Me,
    Form(f): Form<SegmentForm>,
) -> Result<Response, WebError> {
    // Only filters kith understands are stored.
    let q: MemberQuery = serde_json::from_str(&f.filter)
        .map_err(|e| WebError::BadRequest(format!("segment filters: {e}")))?;
    let filter = serde_json::to_string(&q).map_err(|e| WebError::Internal(e.to_string()))?;
    let store = state.store.clone();
    let seg =
        blocking(move || Ok(store.save_segment(f.name.trim(), &filter, &me.user.name)?)).await?;
    Ok(Redirect::to(&format!("/members?segment={}", seg.id)).into_response())
}

pub async fn delete_segment(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let store = state.store.clone();
    blocking(move || Ok(store.delete_segment(SegmentId(id))?)).await?;
    Ok(Redirect::to("/members").into_response())
}

/// What the profile shows, read on a blocking thread.
struct Profile {
    detail: kith_store::MemberDetail,
    entry: Option<MemberEntry>,
    sources: HashMap<SourceId, kith_store::SourceSummary>,
    timeline: Vec<kith_store::ExportedActivity>,
    /// What kith-text read from the timeline's messages, by activity store id.
    texts: HashMap<i64, crate::scores::TextView>,
    total: usize,
    notes: Vec<kith_store::Note>,
    tags: Vec<String>,
    tasks: Vec<kith_store::Task>,
    merges: Vec<kith_store::MergeRecord>,
    candidates: Vec<kith_identity::Candidate>,
    names: Names,
    /// Thread store id by activity store id.
    threads: HashMap<i64, i64>,
}

pub async fn profile(
    State(state): State<AppState>,
    Me(me): Me,
    Path(id): Path<i64>,
) -> Result<Markup, WebError> {
    let s = state.clone();
    let p = blocking(move || {
        let store = s.store.as_ref();
        let id = MemberId(id);
        let detail = store.member(id)?;
        let dir = s.analytics.directory()?;
        let entry = dir.get(id).cloned();
        let (ids, total) = s
            .analytics
            .with_snapshot(|snap| snap.member_activity_ids(id.0, 100));
        let threads: HashMap<i64, i64> = s.analytics.with_snapshot(|snap| {
            ids.iter()
                .filter_map(|&a| Some((a, snap.thread_of_activity(a)?)))
                .collect()
        });
        let ids: Vec<kith_store::ActivityId> =
            ids.into_iter().map(kith_store::ActivityId).collect();
        let mut timeline = store.activities_by_id(&ids)?;
        timeline.sort_by(|a, b| {
            b.activity
                .ts
                .secs
                .cmp(&a.activity.ts.secs)
                .then(b.id.cmp(&a.id))
        });
        let texts = crate::scores::text_views(store, &timeline)?;
        let merges: Vec<_> = store
            .merges()?
            .into_iter()
            .filter(|m| m.into == id || m.from == id)
            .collect();
        let (_, review) = kith_identity::proposals(store, s.config.merge_threshold, true)?;
        let candidates: Vec<_> = review
            .into_iter()
            .filter(|c| c.into == id || c.from == id)
            .take(20)
            .collect();
        let names = Names(Arc::clone(&dir));
        Ok(Profile {
            entry,
            sources: s
                .analytics
                .sources()?
                .iter()
                .map(|s| (s.id, s.clone()))
                .collect(),
            timeline,
            texts,
            total,
            notes: store.notes(id)?,
            tags: store.tags(id)?,
            tasks: store.tasks(Some(id))?,
            merges,
            candidates,
            names,
            threads,
            detail,
        })
    })
    .await?;
    Ok(render_profile(&state, &me, &p))
}

/// A link back to the platform: the activity's own URL, or one made from the source's base URL
/// when the stored URL is relative.
pub fn platform_link(a: &kith_model::Activity, base: Option<&str>) -> Option<String> {
    let url = a.url.as_deref()?;
    if url.starts_with("http://") || url.starts_with("https://") {
        return Some(url.to_owned());
    }
    let base = base?.trim_end_matches('/');
    Some(format!("{base}/{}", url.trim_start_matches('/')))
}

fn render_profile(state: &AppState, me: &Principal, p: &Profile) -> Markup {
    let m = &p.detail.member;
    let name = p.entry.as_ref().map_or_else(
        || {
            m.display_name
                .clone()
                .unwrap_or_else(|| format!("member {}", m.id))
        },
        |e| e.name.clone(),
    );
    let name_of = |id: MemberId| {
        p.names
            .get(&id)
            .cloned()
            .unwrap_or_else(|| format!("member {id}"))
    };
    let body = html! {
        h1 { (name) @if m.team { " " span.badge { "team" } } @if m.bot { " " span.badge { "bot" } } }
        @if let Some(into) = m.merged_into {
            p.error { "This member was merged into " a href={ "/members/" (into) } { (name_of(into)) } "." }
        }
        @if let Some(e) = &p.entry {
            p { "First seen " (e.first_seen.map(ui::day).unwrap_or_else(|| "–".into()))
                " · last active " (e.last_active.map(ui::day).unwrap_or_else(|| "–".into()))
                " · " (ui::num(i64::from(e.participations))) " participations"
                (ui::explain("new_members")) }
        }
        p.muted.small { "Engagement level and its explanation, and this member's connections, appear here once the engagement-level and network metrics are part of this kith." }
        h2 { "Identities" }
        table { thead { tr { th { "Source" } th { "Platform id" } th { "Name" } th { "Handle" } th { "E-mail" } } }
            tbody { @for i in &p.detail.identities { tr {
                td { (p.sources.get(&i.source).map_or("?", |s| s.name.as_str())) }
                td { code { (i.ext_id) } } td { (i.name.clone().unwrap_or_default()) }
                td { (i.handle.clone().unwrap_or_default()) } td { (i.email.clone().unwrap_or_default()) }
            } } }
        }
        @if !p.detail.affiliations.is_empty() {
            h2 { "Organisations" }
            ul { @for a in &p.detail.affiliations { li { (a.organisation) @if let Some(s) = a.since { " since " (ui::day(s)) } @if let Some(u) = a.until { " until " (ui::day(u)) } } } }
        }
        h2 { "Tags" }
        p { @if p.tags.is_empty() { span.muted { "No tags." } }
            @for t in &p.tags {
                span.badge { (t) }
                @if me.may(Action::Annotate) {
                    form method="post" action={ "/members/" (m.id) "/tags/remove" } style="display:inline" {
                        (csrf_field(Some(me))) input type="hidden" name="tag" value=(t);
                        button.quiet type="submit" aria-label={ "Remove tag " (t) } { "×" }
                    }
                }
                " "
            }
        }
        @if me.may(Action::Annotate) {
            form.inline method="post" action={ "/members/" (m.id) "/tags" } {
                (csrf_field(Some(me))) label { "Add tag" input type="text" name="tag" required; } button type="submit" { "Add" }
            }
        }
        h2 { "Notes" }
        @if p.notes.is_empty() { p.muted { "No notes." } }
        @for n in &p.notes { blockquote { (n.text) } p.small.muted { (n.author) ", " (ui::when(n.created_at)) } }
        @if me.may(Action::Annotate) {
            form method="post" action={ "/members/" (m.id) "/notes" } {
                (csrf_field(Some(me)))
                p { label { "New note" textarea name="text" rows="3" cols="60" required {} } }
                button type="submit" { "Add note" }
            }
        }
        h2 { "Tasks" }
        @if p.tasks.is_empty() { p.muted { "No tasks." } }
        ul { @for t in &p.tasks { li {
            @if t.done_at.is_some() { s { (t.title) } } @else { (t.title) }
            @if let Some(d) = t.due { " · due " (ui::day(d)) }
            span.muted.small { " · " (t.created_by) }
            @if me.may(Action::Annotate) {
                form method="post" action={ "/tasks/" (t.id) "/done" } style="display:inline" {
                    (csrf_field(Some(me))) input type="hidden" name="member" value=(m.id);
                    input type="hidden" name="done" value=(if t.done_at.is_some() { "0" } else { "1" });
                    " " button.quiet type="submit" { @if t.done_at.is_some() { "Reopen" } @else { "Done" } }
                }
            }
        } } }
        @if me.may(Action::Annotate) {
            form.inline method="post" action={ "/members/" (m.id) "/tasks" } {
                (csrf_field(Some(me)))
                label { "Task" input type="text" name="title" required placeholder="e.g. thank for the tutorial"; }
                label { "Due" input type="date" name="due"; }
                button type="submit" { "Add task" }
            }
        }
        h2 { "Merge candidates" }
        @if p.candidates.is_empty() { p.muted { "None." } }
        @if me.may(Action::Merge) && m.merged_into.is_none() {
            form.inline method="post" action="/members/merge" aria-label="Merge by hand" {
                (csrf_field(Some(me)))
                input type="hidden" name="into" value=(m.id);
                label { "Merge member number" input type="number" name="from" min="1" required; }
                label { "because" input type="text" name="reason" placeholder="same person (how you know)"; }
                button type="submit" { "Merge into " (name) }
            }
        }
        @for c in &p.candidates { (candidate(me, c, &name_of)) }
        @if !p.merges.is_empty() {
            h2 { "Merge history" }
            (merge_log(me, &p.merges, &name_of))
        }
        h2 { "Timeline" }
        p.muted.small { "The " (p.timeline.len()) " most recent of " (ui::num(p.total as i64)) " activities, across every source. Under each message: its sentiment, hostility and intents as kith-text read them (\"why\" shows the words behind them)." }
        table { thead { tr { th { "When (UTC)" } th { "Source" } th { "What" } th { "Text" } } }
            tbody { @for a in &p.timeline {
                @let src = p.sources.values().find(|s| s.name == a.activity.source);
                tr {
                    td { (ui::when(a.activity.ts.secs)) }
                    td { (a.activity.source) @if let Some(c) = &a.activity.channel { " · " (c) } }
                    td { (a.activity.kind.as_str()) }
                    td {
                        (ui::excerpt(a.activity.text.as_deref().unwrap_or(""), 160))
                        @if let Some(url) = platform_link(&a.activity, src.and_then(|s| s.base_url.as_deref())) { " " a href=(url) rel="noreferrer" { "open" } }
                        @if let Some(t) = p.threads.get(&a.id.0) {
                            " " a href={ "/conversations/threads/" (t) } { "thread" }
                        }
                        (crate::scores::render(p.texts.get(&a.id.0)))
                    }
                }
            } }
        }
    };
    shell(state, me, &name, "/members", body)
}

/// One merge candidate with its evidence and, for those who may, the merge button.
pub fn candidate(
    me: &Principal,
    c: &kith_identity::Candidate,
    name_of: &dyn Fn(MemberId) -> String,
) -> Markup {
    html! {
        div.card style="margin:.4rem 0" {
            p { a href={ "/members/" (c.into) } { (name_of(c.into)) } " and " a href={ "/members/" (c.from) } { (name_of(c.from)) }
                " · score " (format!("{:.2}", c.score)) }
            ul.small { @for e in &c.evidence { li { (e.detail) " (" (format!("{:.2}", e.score)) ")" } } }
            @if let Some(b) = &c.blocked { p.small.muted { "Not merged automatically: " (b) } }
            @if me.may(Action::Merge) {
                form method="post" action="/members/merge" {
                    (csrf_field(Some(me)))
                    input type="hidden" name="into" value=(c.into);
                    input type="hidden" name="from" value=(c.from);
                    input type="hidden" name="reason" value=(c.reason());
                    button type="submit" { "Merge " (name_of(c.from)) " into " (name_of(c.into)) }
                }
            }
        }
    }
}

fn merge_log(
    me: &Principal,
    merges: &[kith_store::MergeRecord],
    name_of: &dyn Fn(MemberId) -> String,
) -> Markup {
    html! {
        table { thead { tr { th { "When" } th { "Merged" } th { "Into" } th { "Why" } th { "By" } th {} } }
            tbody { @for r in merges { tr {
                td { (ui::when(r.at)) }
                td { a href={ "/members/" (r.from) } { (name_of(r.from)) } }
                td { a href={ "/members/" (r.into) } { (name_of(r.into)) } }
                td { (r.evidence.reason) " (" (format!("{:.2}", r.evidence.score)) ")" }
                td { (r.evidence.actor) }
                td { @if let Some(at) = r.undone_at { "undone " (ui::when(at)) @if let Some(b) = &r.undone_by { " by " (b) } }
                     @else if me.may(Action::Merge) {
                        form method="post" action={ "/members/unmerge/" (r.id) } { (csrf_field(Some(me))) button.quiet type="submit" { "Unmerge" } }
                     } }
            } } }
        }
    }
}

pub async fn candidates(State(state): State<AppState>, Me(me): Me) -> Result<Markup, WebError> {
    let s = state.clone();
    let (review, names, merges) = blocking(move || {
        let (_, review) =
            kith_identity::proposals(s.store.as_ref(), s.config.merge_threshold, true)?;
        let names = Names(s.analytics.directory()?);
        let mut merges = s.store.merges()?;
        merges.reverse();
        merges.truncate(50);
        Ok((review, names, merges))
    })
    .await?;
    let name_of = |id: MemberId| {
        names
            .get(&id)
            .cloned()
            .unwrap_or_else(|| format!("member {id}"))
    };
    let body = html! {
        h1 { "Merge candidates" }
        p { "Pairs of members that may be one person, with the evidence. Pairs at or above the automatic threshold ("
            (format!("{:.2}", state.config.merge_threshold)) ") were merged on import unless a rule blocks it; the rest wait here. "
            a href="/definitions" { "How identity resolution works" } }
        p { (review.len()) " candidates." }
        @for c in review.iter().take(200) { (candidate(&me, c, &name_of)) }
        h2 { "Latest merges" }
        (merge_log(&me, &merges, &name_of))
    };
    Ok(shell(&state, &me, "Merge candidates", "/members", body))
}

#[derive(Deserialize)]
pub struct MergeForm {
    into: i64,
    from: i64,
    reason: Option<String>,
}

pub async fn merge(
    State(state): State<AppState>,
    Me(me): Me,
    Form(f): Form<MergeForm>,
) -> Result<Response, WebError> {
    let s = state.clone();
    let record = blocking(move || {
        let reason = f
            .reason
            .filter(|r| !r.trim().is_empty())
            .unwrap_or_else(|| "merged by hand".into());
        let r = s.store.merge_members(
            MemberId(f.into),
            MemberId(f.from),
            &MergeEvidence {
                reason,
                score: 1.0,
                actor: me.user.name.clone(),
            },
        )?;
        s.analytics.refresh()?;
        Ok(r)
    })
    .await?;
    Ok(Redirect::to(&format!("/members/{}", record.into)).into_response())
}

pub async fn unmerge(
    State(state): State<AppState>,
    Me(me): Me,
    Path(merge): Path<i64>,
) -> Result<Response, WebError> {
    let s = state.clone();
    let record = blocking(move || {
        let r = s.store.unmerge(MergeId(merge), &me.user.name)?;
        s.analytics.refresh()?;
        Ok(r)
    })
    .await?;
    Ok(Redirect::to(&format!("/members/{}", record.from)).into_response())
}

#[derive(Deserialize)]
pub struct NoteForm {
    text: String,
}

pub async fn add_note(
    State(state): State<AppState>,
    Me(me): Me,
    Path(id): Path<i64>,
    Form(f): Form<NoteForm>,
) -> Result<Response, WebError> {
    let store = state.store.clone();
    blocking(move || Ok(store.add_note(MemberId(id), &me.user.name, f.text.trim())?)).await?;
    Ok(Redirect::to(&format!("/members/{id}")).into_response())
}

#[derive(Deserialize)]
pub struct TagForm {
    tag: String,
}

pub async fn add_tag(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Form(f): Form<TagForm>,
) -> Result<Response, WebError> {
    let store = state.store.clone();
    blocking(move || Ok(store.add_tag(MemberId(id), f.tag.trim())?)).await?;
    Ok(Redirect::to(&format!("/members/{id}")).into_response())
}

pub async fn remove_tag(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Form(f): Form<TagForm>,
) -> Result<Response, WebError> {
    let store = state.store.clone();
    blocking(move || Ok(store.remove_tag(MemberId(id), &f.tag)?)).await?;
    Ok(Redirect::to(&format!("/members/{id}")).into_response())
}

#[derive(Deserialize)]
pub struct TaskForm {
    title: String,
    due: Option<String>,
}

pub async fn add_task(
    State(state): State<AppState>,
    Me(me): Me,
    Path(id): Path<i64>,
    Form(f): Form<TaskForm>,
) -> Result<Response, WebError> {
    let due = clean(&f.due).map(|d| date_ts(d, false)).transpose()?;
    let store = state.store.clone();
    blocking(move || Ok(store.add_task(MemberId(id), f.title.trim(), due, &me.user.name)?)).await?;
    Ok(Redirect::to(&format!("/members/{id}")).into_response())
}

#[derive(Deserialize)]
pub struct DoneForm {
    member: i64,
    done: String,
}

pub async fn task_done(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Form(f): Form<DoneForm>,
) -> Result<Response, WebError> {
    let store = state.store.clone();
    let done = f.done == "1";
    blocking(move || Ok(store.set_task_done(TaskId(id), done)?)).await?;
    Ok(Redirect::to(&format!("/members/{}", f.member)).into_response())
}
