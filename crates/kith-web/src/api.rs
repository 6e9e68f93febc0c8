//! The JSON API under `/api/v1` (described in `openapi.rs`) and `/healthz`. The same functions
//! as the pages: metrics from the shared analytics, records from the store.

use std::collections::HashMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kith_analytics::{Cell, MetricValue, Table};
use kith_store::{MemberId, MergeEvidence, Problem, SourceId};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::analytics::PeriodQuery;
use crate::pages::Me;
use crate::pages::members::{MemberQuery, apply_segment, filter, list_data};
use crate::{AppState, WebError, blocking};

/// API errors are JSON.
pub struct ApiError(WebError);

impl From<WebError> for ApiError {
    fn from(e: WebError) -> ApiError {
        ApiError(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.0.status();
        let status = if matches!(self.0, WebError::NoData) {
            StatusCode::NOT_FOUND
        } else {
            status
        };
        (status, Json(json!({ "error": self.0.to_string() }))).into_response()
    }
}

type ApiResult = Result<Response, ApiError>;

fn ok(v: impl serde::Serialize) -> ApiResult {
    Ok(Json(v).into_response())
}

/// `GET /healthz`: 200 when the database answers, 503 when it does not.
pub async fn healthz(State(state): State<AppState>) -> Response {
    let store = state.store.clone();
    match blocking(move || Ok(store.community()?)).await {
        Ok(_) => (
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "ok\n",
        )
            .into_response(),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("unavailable: {e}\n"),
        )
            .into_response(),
    }
}

pub async fn summary(State(state): State<AppState>) -> ApiResult {
    let s = state.clone();
    // The watermark first: the counts and sources are of that state or a later one.
    let watermark = state.analytics.watermark();
    let (community, counts, sources) = blocking(move || {
        Ok((
            s.analytics.community()?,
            s.analytics.counts()?,
            s.analytics.sources()?,
        ))
    })
    .await?;
    ok(
        json!({ "community": &*community, "counts": &*counts, "sources": &*sources, "watermark": watermark }),
    )
}

async fn computed(
    state: &AppState,
    q: &PeriodQuery,
) -> Result<std::sync::Arc<crate::analytics::Computed>, WebError> {
    if let Some(tz) = state.tz_cached()
        && let Some(c) = state.analytics.computed_cached(q, tz)
    {
        return Ok(c);
    }
    let (s, q) = (state.clone(), q.clone());
    blocking(move || s.analytics.computed(&q, s.tz())).await
}

fn header_of(c: &crate::analytics::Computed) -> Value {
    json!({ "from": c.from.to_string(), "to": c.to.to_string(), "as_of": c.as_of, "period": c.period.as_str(), "watermark": c.watermark })
}

/// Rows of each table in an answer: `offset` (default 0) and `limit` (default
/// [`TABLE_ROWS`], or `all`). Tables of members (engagement levels, the network) have a row per
/// member: at millions of activities, whole answers would run to tens of megabytes.
#[derive(Debug, Default, Deserialize)]
pub struct Rows {
    offset: Option<usize>,
    limit: Option<String>,
}

/// Rows per table unless the request asks for others.
pub const TABLE_ROWS: usize = 1000;

impl Rows {
    /// (offset, limit), and whether they are the defaults (whose answers are kept).
    fn window(&self) -> Result<(usize, usize, bool), WebError> {
        let limit = match self.limit.as_deref().map(str::trim) {
            None | Some("") => None,
            Some("all") => Some(usize::MAX),
            Some(n) => Some(n.parse::<usize>().ok().filter(|n| *n > 0).ok_or_else(|| {
                WebError::BadRequest(format!(
                    "limit `{n}`: use a number of rows (1 or more) or `all`"
                ))
            })?),
        };
        let offset = self.offset.unwrap_or(0);
        Ok((
            offset,
            limit.unwrap_or(TABLE_ROWS),
            offset == 0 && limit.is_none(),
        ))
    }
}

/// A table cut to a window of its rows, with how many it has.
#[derive(Serialize)]
struct TablePage<'a> {
    name: &'a str,
    columns: &'a [&'static str],
    total_rows: usize,
    offset: usize,
    rows: &'a [Vec<Cell>],
}

fn table_page(t: &Table, offset: usize, limit: usize) -> TablePage<'_> {
    let start = offset.min(t.rows.len());
    let end = start.saturating_add(limit).min(t.rows.len());
    TablePage {
        name: t.name,
        columns: &t.columns,
        total_rows: t.rows.len(),
        offset,
        rows: &t.rows[start..end],
    }
}

#[derive(Serialize)]
struct MetricPage<'a> {
    metric: &'a str,
    tables: Vec<TablePage<'a>>,
}

fn metric_page(m: &MetricValue, offset: usize, limit: usize) -> MetricPage<'_> {
    MetricPage {
        metric: m.metric,
        tables: m
            .tables
            .iter()
            .map(|t| table_page(t, offset, limit))
            .collect(),
    }
}

fn to_bytes(v: &impl Serialize) -> Result<Bytes, WebError> {
    serde_json::to_vec(v)
        .map(Bytes::from)
        .map_err(|e| WebError::Internal(format!("writing the answer: {e}")))
}

/// A JSON answer that is already serialised.
fn json_bytes(b: Bytes) -> ApiResult {
    Ok(([(header::CONTENT_TYPE, "application/json")], b).into_response())
}

pub async fn metrics(
    State(state): State<AppState>,
    Query(q): Query<PeriodQuery>,
    Query(r): Query<Rows>,
) -> ApiResult {
    let (offset, limit, default) = r.window()?;
    let c = computed(&state, &q).await?;
    let make = |c: &crate::analytics::Computed| {
        let metrics: Vec<MetricPage<'_>> = c
            .metrics
            .iter()
            .map(|m| metric_page(m, offset, limit))
            .collect();
        to_bytes(&json!({ "report": header_of(c), "metrics": metrics }))
    };
    // The default answer is kept with the result: made once per selection and data state.
    json_bytes(if default {
        c.answer("metrics", make)?
    } else {
        make(&c)?
    })
}

pub async fn metric(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(q): Query<PeriodQuery>,
    Query(r): Query<Rows>,
) -> ApiResult {
    let (offset, limit, _) = r.window()?;
    let def = kith_analytics::find(&name)
        .ok_or_else(|| WebError::NotFound(format!("metric `{name}`")))?;
    let c = computed(&state, &q).await?;
    let value = c
        .metric(&name)
        .ok_or_else(|| WebError::NotFound(format!("metric `{name}`")))?;
    json_bytes(to_bytes(
        &json!({ "report": header_of(&c), "metric": metric_page(value, offset, limit), "title": def.title, "definition": def.definition, "reference_sql": def.reference_sql(), "verified_by": def.verified_by() }),
    )?)
}

#[derive(Deserialize)]
pub struct Paging {
    limit: Option<usize>,
    offset: Option<usize>,
}

pub async fn members(
    State(state): State<AppState>,
    Query(q): Query<MemberQuery>,
    Query(p): Query<Paging>,
) -> ApiResult {
    let data = list_data(&state, q.segment.is_some()).await?;
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
    let (limit, offset) = (p.limit.unwrap_or(100).min(1000), p.offset.unwrap_or(0));
    /// One member of the answer (written straight to JSON, no intermediate value).
    #[derive(Serialize)]
    struct Item<'a> {
        id: MemberId,
        name: &'a str,
        team: bool,
        bot: bool,
        sources: Vec<&'a str>,
        tags: &'a [String],
        first_seen: Option<i64>,
        last_active: Option<i64>,
        participations: u32,
    }
    #[derive(Serialize)]
    struct Answer<'a> {
        total: usize,
        offset: usize,
        limit: usize,
        as_of: i64,
        members: Vec<Item<'a>>,
    }
    let members = found
        .iter()
        .skip(offset)
        .take(limit)
        .filter_map(|&i| data.dir.at(i))
        .map(|m| Item {
            id: m.id,
            name: &m.name,
            team: m.team,
            bot: m.bot,
            sources: m
                .sources
                .iter()
                .filter_map(|s| names.get(s).copied())
                .collect(),
            tags: data.tags.get(&m.id).map_or(&[], Vec::as_slice),
            first_seen: m.first_seen,
            last_active: m.last_active,
            participations: m.participations,
        })
        .collect();
    json_bytes(to_bytes(&Answer {
        total: found.len(),
        offset,
        limit,
        as_of: data.dir.as_of,
        members,
    })?)
}

pub async fn member(State(state): State<AppState>, Path(id): Path<i64>) -> ApiResult {
    let s = state.clone();
    let v = blocking(move || {
        let id = MemberId(id);
        let detail = s.store.member(id)?;
        let dir = s.analytics.directory()?;
        let entry = dir.get(id);
        Ok(json!({
            "member": detail.member, "identities": detail.identities, "affiliations": detail.affiliations,
            "first_seen": entry.and_then(|e| e.first_seen), "last_active": entry.and_then(|e| e.last_active),
            "participations": entry.map_or(0, |e| e.participations),
            "tags": s.store.tags(id)?, "notes": s.store.notes(id)?, "tasks": s.store.tasks(Some(id))?,
        }))
    })
    .await?;
    ok(v)
}

pub async fn needs_reply(
    State(state): State<AppState>,
    Query(q): Query<PeriodQuery>,
    Query(r): Query<Rows>,
) -> ApiResult {
    let (offset, limit, default) = r.window()?;
    let c = computed(&state, &q).await?;
    let make = |c: &crate::analytics::Computed| {
        let queue = c
            .metric("needs_reply")
            .ok_or_else(|| WebError::NotFound("metric `needs_reply`".into()))?;
        to_bytes(
            &json!({ "report": header_of(c), "queue": queue.tables.first().map(|t| table_page(t, offset, limit)) }),
        )
    };
    json_bytes(if default {
        c.answer("needs-reply", make)?
    } else {
        make(&c)?
    })
}

pub async fn sources(State(state): State<AppState>) -> ApiResult {
    let s = state.clone();
    let v = blocking(move || s.analytics.sources()).await?;
    ok(&*v)
}

#[derive(Deserialize)]
pub struct MergeBody {
    into: i64,
    from: i64,
    reason: Option<String>,
}

pub async fn merge(
    State(state): State<AppState>,
    Me(me): Me,
    Json(b): Json<MergeBody>,
) -> ApiResult {
    let s = state.clone();
    let r = blocking(move || {
        let reason = b.reason.unwrap_or_else(|| "merged through the API".into());
        let r = s.store.merge_members(
            MemberId(b.into),
            MemberId(b.from),
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
    ok(r)
}

#[derive(Deserialize)]
pub struct TagBody {
    tag: String,
}

pub async fn add_tag(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Json(b): Json<TagBody>,
) -> ApiResult {
    let store = state.store.clone();
    let tags = blocking(move || {
        store.add_tag(MemberId(id), &b.tag)?;
        Ok(store.tags(MemberId(id))?)
    })
    .await?;
    ok(json!({ "member": id, "tags": tags }))
}

/// `GET /api/v1/activities/{id}/scores`: what kith-text read from one message — the stored
/// sentiment, confidence, hostility and intents with the evidence behind them (`status`:
/// `scored`), `not_scored` (a language the models do not support) or `pending` (not scored
/// yet). 404 when the activity does not exist or is not a message with text.
pub async fn activity_scores(State(state): State<AppState>, Path(id): Path<i64>) -> ApiResult {
    let s = state.clone();
    let v = blocking(move || {
        let act = s
            .store
            .activities_by_id(&[kith_store::ActivityId(id)])?
            .into_iter()
            .next()
            .ok_or_else(|| WebError::NotFound(format!("activity {id}")))?;
        let kind = act.activity.kind.as_str();
        let view = crate::scores::text_view(s.store.as_ref(), &act)?.ok_or_else(|| {
            WebError::NotFound(format!(
                "scores of activity {id}: a {kind} without text is not a message kith-text scores"
            ))
        })?;
        let mut v = serde_json::to_value(view)
            .map_err(|e| WebError::BadRequest(format!("scores of activity {id}: {e}")))?;
        if let Some(o) = v.as_object_mut() {
            o.insert("activity".into(), json!(id));
            o.insert("kind".into(), json!(kind));
        }
        Ok(v)
    })
    .await?;
    ok(v)
}

/// Activities per ingest request, at most.
pub const INGEST_MAX: usize = 100_000;

/// `POST /api/v1/activities`: canonical activities as JSON lines (`application/x-ndjson`, the
/// default) or as one JSON array (`application/json`). Idempotent by (source, id): sending a
/// batch twice stores it once. A line that is not JSON rejects the whole batch (400, nothing
/// stored); a valid JSON line that is not a valid activity is skipped and reported.
pub async fn ingest(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> ApiResult {
    let json_array = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let text = std::str::from_utf8(&body)
        .map_err(|e| WebError::BadRequest(format!("the body is not UTF-8: {e}")))?;
    let lines: Vec<String> = if json_array {
        let values: Vec<Value> = serde_json::from_str(text)
            .map_err(|e| WebError::BadRequest(format!("the body is not a JSON array: {e}")))?;
        values.iter().map(Value::to_string).collect()
    } else {
        text.lines().map(str::to_owned).collect()
    };
    let mut activities = Vec::new();
    let mut problems = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let n = i as u64 + 1;
        match kith_model::jsonl::parse_line(line, n) {
            Ok(a) => activities.push(a),
            Err(e) if e.malformed => {
                return Err(WebError::BadRequest(format!(
                    "{} {e}; nothing was stored",
                    if json_array { "element" } else { "line" }
                ))
                .into());
            }
            Err(e) => problems.push(Problem {
                file: "request".into(),
                line: n,
                location: None,
                reason: "invalid record".into(),
                message: e.message,
            }),
        }
    }
    if activities.len() + problems.len() > INGEST_MAX {
        return Err(WebError::BadRequest(format!(
            "at most {INGEST_MAX} activities per request; split the batch"
        ))
        .into());
    }
    let s = state.clone();
    let total = (activities.len() + problems.len()) as u64;
    let audit = blocking(move || {
        let audit = kith_import::ingest_records(
            s.store.as_ref(),
            "jsonl",
            vec!["POST /api/v1/activities".into()],
            &kith_import::ImportOptions::default(),
            &(),
            (total, None),
            move |sink| {
                for p in problems {
                    sink.skip(p);
                }
                for a in activities {
                    sink.activity(a);
                }
                Ok(())
            },
        )
        .map_err(|e| match e {
            kith_import::ImportError::Store(s) => WebError::from(s),
            other => WebError::BadRequest(other.to_string()),
        })?;
        // Live events from known members change no identity: nothing to resolve then.
        let resolution =
            s.resolver
                .after_ingest(s.store.as_ref(), s.config.merge_threshold, false)?;
        if let Some(r) = resolution.filter(|r| !r.applied.is_empty()) {
            s.store
                .set_audit_members_merged(audit.id, r.applied.len() as u64)?;
        }
        s.analytics.refresh()?;
        Ok(audit)
    })
    .await?;
    Ok((StatusCode::OK, Json(json!({
        "audit": audit.id, "read": audit.audit.read, "imported": audit.audit.imported, "updated": audit.audit.updated,
        "skipped": audit.audit.skipped, "problems": audit.audit.problems, "sources": audit.audit.sources,
    })))
        .into_response())
}
