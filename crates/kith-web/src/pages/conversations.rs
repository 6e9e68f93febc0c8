//! Conversations: the needs-reply queue (oldest first, newcomers marked, links back to the
//! platform), a thread's messages, and responsiveness charts.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use kith_store::{ActivityId, MemberId};
use maud::{Markup, html};

use super::{Me, column, computed, heading, lookup, no_data, period_picker, shell, source_names};
use crate::analytics::PeriodQuery;
use crate::charts::{self, Unit};
use crate::directory::Names;
use crate::pages::members::platform_link;
use crate::ui;
use crate::{AppState, WebError, blocking};

/// Rows of the queue shown on the page (the API has all of them).
const SHOWN: usize = 100;

pub async fn queue(
    State(state): State<AppState>,
    Me(me): Me,
    Query(q): Query<PeriodQuery>,
) -> Result<Markup, WebError> {
    let sources = source_names(&state).await?;
    let Some(c) = computed(&state, &q).await? else {
        return Ok(shell(
            &state,
            &me,
            "Conversations",
            "/conversations",
            html! { h1 { "Conversations" } (no_data()) },
        ));
    };
    let queue = c
        .metric("needs_reply")
        .and_then(|m| m.table("queue"))
        .cloned();
    let rows: Vec<(i64, i64, i64, i64, i64, bool)> = queue
        .as_ref()
        .map(|t| {
            (0..t.rows.len())
                .filter_map(|i| {
                    let g = |c: &str| t.get(i, c).and_then(|v| v.as_i64());
                    Some((
                        g("thread_id")?,
                        g("post_id")?,
                        g("author_id")?,
                        g("opened")?,
                        g("waiting_s")?,
                        g("newcomer")? == 1,
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    let total = rows.len();
    let newcomers = rows.iter().filter(|r| r.5).count();
    let s = state.clone();
    let shown: Vec<_> = rows.into_iter().take(SHOWN).collect();
    let ids: Vec<ActivityId> = shown.iter().map(|r| ActivityId(r.1)).collect();
    let (posts, names, bases) = blocking(move || {
        let posts: HashMap<i64, kith_store::ExportedActivity> = s
            .store
            .activities_by_id(&ids)?
            .into_iter()
            .map(|a| (a.id.0, a))
            .collect();
        let names = Names(s.analytics.directory()?);
        let bases: HashMap<String, Option<String>> = s
            .store
            .sources()?
            .into_iter()
            .map(|s| (s.name, s.base_url))
            .collect();
        Ok((posts, names, bases))
    })
    .await?;
    let fr = c.metric("first_response").and_then(|m| m.table("segments"));
    let shares_chart = fr.map(|t| {
        let items: Vec<(String, f64)> = [
            ("within 1 h", "within_1h_share"),
            ("within 24 h", "within_24h_share"),
            ("within 72 h", "within_72h_share"),
            ("never (unanswered)", "unanswered_share"),
        ]
        .into_iter()
        .filter_map(|(l, col)| Some((l.to_owned(), lookup(t, "all", col)?.as_f64()?)))
        .collect();
        charts::hbar_chart("Share of threads answered", &items, 1.0, Unit::Share)
    });
    let median_chart = fr.map(|t| {
        let items: Vec<(String, f64)> = column(t, "median_s")
            .into_iter()
            .map(|(l, v)| (l.replace(':', ": "), v))
            .collect();
        charts::hbar_chart(
            "Median time to first response by segment",
            &items,
            0.0,
            Unit::Seconds,
        )
    });
    let q_str = q.to_query();
    let body = html! {
        h1 { "Conversations" }
        (period_picker("/conversations", &q, Some(&c), &sources))
        (heading("needs_reply", "Needs a reply"))
        p { strong { (total) } " open threads wait for a first response, " strong { (newcomers) } " of them by newcomers. Oldest first." }
        @if total == 0 { p.ok { "Nothing waits: every open thread has a response." } } @else {
            table {
                thead { tr { th { "Waiting" } th { "Opened by" } th { "Where" } th { "First post" } } }
                tbody { @for (thread, post, author, _opened, waiting, newcomer) in &shown {
                    @let a = posts.get(post);
                    tr {
                        td { (ui::duration(*waiting)) }
                        td { a href={ "/members/" (author) } { (names.get(&MemberId(*author)).cloned().unwrap_or_else(|| format!("member {author}"))) }
                             @if *newcomer { " " span.badge.new title="on days 0–29 after their first participation" { "newcomer" } } }
                        td { @if let Some(a) = a { (a.activity.source) @if let Some(ch) = &a.activity.channel { " · " (ch) } } }
                        td {
                            a href={ "/conversations/threads/" (thread) "?" (q_str) } { (a.and_then(|a| a.activity.text.as_deref()).map(|t| ui::excerpt(t, 120)).unwrap_or_else(|| "(no text)".into())) }
                            @if let Some(url) = a.and_then(|a| platform_link(&a.activity, bases.get(&a.activity.source).and_then(|b| b.as_deref()))) {
                                " · " a href=(url) rel="noreferrer" { "reply on the platform" }
                            }
                        }
                    }
                } }
            }
            @if total > SHOWN { p.muted.small { "The oldest " (SHOWN) " are shown; " a href="/api/v1/needs-reply" { "the API" } " lists all " (total) "." } }
        }
        (heading("first_response", "Responsiveness"))
        @if let Some(svg) = shares_chart { (ui::raw(svg)) }
        @if let Some(svg) = median_chart { (ui::raw(svg)) }
        @if let Some(m) = c.metric("first_response") { details { summary { "Table" } (super::tables(m, 10)) } }
        @if let Some(m) = c.metric("peer_support") {
            (heading("peer_support", "Peer support"))
            (super::tables(m, 10))
        }
        @if let Some(m) = c.metric("resolution") {
            (heading("resolution", "Resolution"))
            (super::tables(m, 20))
        }
    };
    Ok(shell(&state, &me, "Conversations", "/conversations", body))
}

pub async fn thread(
    State(state): State<AppState>,
    Me(me): Me,
    Path(id): Path<i64>,
    Query(q): Query<PeriodQuery>,
) -> Result<Markup, WebError> {
    let s = state.clone();
    let (acts, names, bases, texts, quality) = blocking(move || {
        let ids: Vec<ActivityId> = s
            .analytics
            .with_snapshot(|snap| snap.thread_activity_ids(id))
            .into_iter()
            .map(ActivityId)
            .collect();
        if ids.is_empty() {
            return Err(WebError::NotFound(format!("thread {id}")));
        }
        let mut acts = s.store.activities_by_id(&ids)?;
        acts.sort_by(|a, b| {
            a.activity
                .ts
                .secs
                .cmp(&b.activity.ts.secs)
                .then(a.id.cmp(&b.id))
        });
        let names = Names(s.analytics.directory()?);
        let bases: HashMap<String, Option<String>> = s
            .store
            .sources()?
            .into_iter()
            .map(|s| (s.name, s.base_url))
            .collect();
        let texts = crate::scores::text_views(s.store.as_ref(), &acts)?;
        let tz = s.tz();
        let as_of = q.params(tz)?.as_of;
        let quality = s
            .analytics
            .with_snapshot(|snap| {
                kith_analytics::metrics::conversation_quality::quality_of_thread(
                    snap, id, as_of, tz,
                )
            })
            .map_err(|e| WebError::BadRequest(e.to_string()))?;
        Ok((acts, names, bases, texts, quality))
    })
    .await?;
    let first = &acts[0];
    let title = ui::excerpt(first.activity.text.as_deref().unwrap_or("Thread"), 80);
    let body = html! {
        h1 { (title) }
        p.muted { (first.activity.source) @if let Some(c) = &first.activity.channel { " · " (c) } " · " (acts.len()) " messages"
            @if first.derived.inferred_thread { " · " span.badge title="kith reconstructed this conversation from unthreaded chat" { "inferred thread" } } }
        (quality_card(quality.as_ref()))
        @for a in &acts {
            article.card style="margin:.5rem 0" {
                p.small {
                    @match a.derived.member { Some(m) => { a href={ "/members/" (m) } { (names.get(&m).cloned().unwrap_or_else(|| format!("member {m}"))) } }, None => "unknown author" }
                    @if a.derived.team { " " span.badge { "team" } } @if a.derived.bot { " " span.badge { "bot" } }
                    " · " (a.activity.kind.as_str()) " · " (ui::when(a.activity.ts.secs)) " UTC"
                    @if let Some(url) = platform_link(&a.activity, bases.get(&a.activity.source).and_then(|b| b.as_deref())) { " · " a href=(url) rel="noreferrer" { "open on the platform" } }
                }
                @if let Some(t) = &a.activity.text { blockquote { (ui::plain(t)) } }
                (crate::scores::render(texts.get(&a.id.0)))
            }
        }
    };
    Ok(shell(&state, &me, &title, "/conversations", body))
}

/// The thread's conversation quality (SPEC §4.4) with its components, or why it has none.
fn quality_card(q: Option<&kith_text::ConversationQuality>) -> Markup {
    html! {
        section.card aria-labelledby="quality" style="margin:.6rem 0" {
            h2 #quality style="margin:0 0 .3rem" { "Conversation quality" (ui::explain("conversation_quality")) }
            @match q {
                None => p.small.muted { "No score: the thread did not begin with a post (a contribution such as a pull request opened it), it is still open (no response yet and younger than 30 days), or a bot opened it." },
                Some(q) => {
                    p { span.value style="font-size:1.5rem;font-weight:650" { (format!("{:.0}", q.score)) } " / 100" }
                    table {
                        caption.small.muted { "Each component's value (0–1) × its weight = its points" }
                        thead { tr { th { "Component" } th.num { "Value" } th.num { "Weight" } th.num { "Points" } } }
                        tbody { @for c in &q.components {
                            tr { td { (c.name.replace('_', " ")) } td.num { (format!("{:.2}", c.value)) } td.num { (format!("{:.0}", c.weight)) } td.num { (format!("{:.1}", c.points)) } }
                        } }
                    }
                }
            }
        }
    }
}
