//! The OpenAPI 3.1 description of `/api/v1`, served at `/api/v1/openapi.json`. Written by hand
//! next to the handlers; a test checks that every API route of the route table is described
//! and that nothing else is.

use axum::Json;
use serde_json::{Value, json};

fn period_params() -> Value {
    json!([
        { "name": "from", "in": "query", "schema": { "type": "string", "format": "date" }, "description": "First local day of the range (default: 89 days before `to`)." },
        { "name": "to", "in": "query", "schema": { "type": "string", "format": "date" }, "description": "Last local day, inclusive (default: as-of's day)." },
        { "name": "as_of", "in": "query", "schema": { "type": "string" }, "description": "\"Now\": a date (its end) or an RFC 3339 instant. Default: the latest activity in scope." },
        { "name": "period", "in": "query", "schema": { "type": "string", "enum": ["day", "week", "month", "quarter"] } },
        { "name": "source", "in": "query", "schema": { "type": "string" }, "description": "Only this source." },
        { "name": "team", "in": "query", "schema": { "type": "string", "enum": ["1"] }, "description": "`1` counts team activity." }
    ])
}

/// Parameters of answers made of tables: a window of each table's rows.
fn table_params(mut params: Value) -> Value {
    if let Some(a) = params.as_array_mut() {
        a.push(json!({ "name": "offset", "in": "query", "schema": { "type": "integer", "default": 0, "minimum": 0 }, "description": "First row of each table to answer." }));
        a.push(json!({ "name": "limit", "in": "query", "schema": { "oneOf": [{ "type": "integer", "minimum": 1 }, { "const": "all" }], "default": 1000 }, "description": "Rows of each table to answer (default 1000), or `all`. Each table says how many rows it has in `total_rows`." }));
    }
    params
}

fn error() -> Value {
    json!({ "description": "An error, with what went wrong", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } })
}

fn get(summary: &str, scope: &str, params: Value, schema: Value) -> Value {
    json!({ "get": {
        "summary": summary,
        "security": [{ "token": [scope] }, { "session": [] }],
        "parameters": params,
        "responses": {
            "200": { "description": "OK", "content": { "application/json": { "schema": schema } } },
            "400": error(), "401": error(), "403": error(), "404": error()
        }
    } })
}

/// The schema of `GET /api/v1/activities/{id}/scores` (`crate::scores::TextView` with the
/// activity's id and kind).
fn text_scores() -> Value {
    json!({ "type": "object", "required": ["activity", "kind", "status"], "description": "What kith-text read from one message (docs/text-accuracy.md for how well it reads).",
                    "properties": { "activity": { "type": "integer" }, "kind": { "type": "string" },
                        "status": { "type": "string", "enum": ["scored", "not_scored", "pending"], "description": "`not_scored`: a language the models do not support (English only); `pending`: the scoring pass has not reached it yet." },
                        "language": { "type": "string", "description": "ISO 639-3 code (not_scored only)" }, "model_version": { "type": "integer", "description": "not_scored only" },
                        "score": { "type": "object", "description": "The stored score (scored only); numbers in ten-thousandths", "properties": { "activity": { "type": "integer" }, "activity_seq": { "type": "integer" }, "model_version": { "type": "integer" }, "language": { "type": "string" }, "scored": { "type": "boolean" }, "sentiment": { "type": "integer", "minimum": -10000, "maximum": 10000 }, "confidence": { "type": "integer", "minimum": 0, "maximum": 10000 }, "hostility": { "type": "integer", "minimum": 0, "maximum": 10000 }, "hostile": { "type": "boolean" }, "intents": { "type": "integer", "description": "bit set: question 1, answer 2, thanks 4, bug report 8, feature request 16, complaint 32, praise 64, introduction 128, announcement 256" } } },
                        "intents": { "type": "array", "items": { "type": "string", "enum": ["question", "answer", "thanks", "bug_report", "feature_request", "complaint", "praise", "introduction", "announcement"] } },
                        "current": { "type": "boolean", "description": "The score was made by this build's model from the text as it is now (else the explanation is of the current text, and the next scoring pass recomputes the score)" },
                        "explanation": { "type": "object", "description": "Why: recomputed from the text", "properties": {
                            "model_version": { "type": "integer" }, "scored": { "type": "boolean" },
                            "language": { "type": "object", "properties": { "code": { "type": "string" }, "supported": { "type": "boolean" }, "confidence": { "type": "number" } } },
                            "sentiment": { "type": "object", "properties": { "score": { "type": "number" }, "confidence": { "type": "number" }, "evidence_words": { "type": "integer" }, "technical": { "type": "boolean" } } },
                            "hostility": { "type": "object", "properties": { "score": { "type": "number" }, "evidence": { "type": "array", "items": { "type": "object", "properties": { "kind": { "type": "string", "enum": ["insult", "slur", "threat", "harassment", "directed_profanity"] }, "matched": { "type": "string" } } } } } },
                            "intents": { "type": "array", "items": { "type": "object", "properties": { "intent": { "type": "string" }, "evidence": { "type": "string", "description": "the phrase or feature that triggered it" } } } },
                            "sentiment_words": { "type": "array", "items": { "type": "array", "prefixItems": [{ "type": "string" }, { "type": "number", "description": "base valence, −4..4" }] } } } } } })
}

/// The document.
pub fn spec() -> Value {
    let id =
        json!([{ "name": "id", "in": "path", "required": true, "schema": { "type": "integer" } }]);
    let mut member_params = vec![];
    for (name, desc) in [
        ("q", "Name, handle, e-mail or platform id contains this"),
        ("source", "Has an identity in this source"),
        ("tag", "Has this tag"),
        ("joined_from", "First seen on or after this date"),
        ("joined_to", "First seen on or before this date"),
        (
            "active_days",
            "Last participation within this many days of as-of",
        ),
        (
            "silent_days",
            "No participation for at least this many days at as-of",
        ),
        ("team", "`1` lists team members and bots too"),
        ("sort", "recent (default), name, participations, joined"),
        ("segment", "Apply a saved segment by id"),
    ] {
        member_params.push(json!({ "name": name, "in": "query", "schema": { "type": "string" }, "description": desc }));
    }
    member_params.push(json!({ "name": "limit", "in": "query", "schema": { "type": "integer", "maximum": 1000, "default": 100 } }));
    member_params.push(
        json!({ "name": "offset", "in": "query", "schema": { "type": "integer", "default": 0 } }),
    );
    let mut metric_params = period_params();
    if let Some(a) = metric_params.as_array_mut() {
        a.insert(0, json!({ "name": "name", "in": "path", "required": true, "schema": { "type": "string", "enum": kith_analytics::registry().iter().map(|m| m.name).collect::<Vec<_>>() } }));
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "kith API",
            "version": "1",
            "description": "The community's data and health metrics as JSON. Authenticate with an API token (`Authorization: Bearer kith_…`, created on the account page) whose scopes allow the call: `read` for GET, `write` for merges and tags, `ingest` for sending activities; a token never does more than its account's role allows. Definitions of every metric: `/definitions` and docs/metrics.md."
        },
        "components": {
            "securitySchemes": {
                "token": { "type": "http", "scheme": "bearer", "description": "An API token with scopes" },
                "session": { "type": "apiKey", "in": "cookie", "name": "kith_session" }
            },
            "schemas": {
                "Error": { "type": "object", "required": ["error"], "properties": { "error": { "type": "string" } } },
                "Table": { "type": "object", "properties": { "name": { "type": "string" }, "columns": { "type": "array", "items": { "type": "string" } }, "total_rows": { "type": "integer", "description": "Rows the whole table has" }, "offset": { "type": "integer", "description": "Index of the first row answered" }, "rows": { "type": "array", "items": { "type": "array", "items": {} } } } },
                "MetricValue": { "type": "object", "properties": { "metric": { "type": "string" }, "tables": { "type": "array", "items": { "$ref": "#/components/schemas/Table" } } } },
                "Report": { "type": "object", "properties": { "from": { "type": "string", "format": "date" }, "to": { "type": "string", "format": "date" }, "as_of": { "type": "integer", "description": "epoch seconds" }, "period": { "type": "string" }, "watermark": { "type": "integer" } } },
                "TextScores": text_scores(),
                "Activity": { "type": "object", "description": "A canonical activity (docs/formats/jsonl.md)", "required": ["v", "source", "id", "kind", "ts"],
                    "properties": { "v": { "const": 1 }, "source": { "type": "string" }, "id": { "type": "string" }, "kind": { "type": "string" }, "ts": { "type": "string", "format": "date-time" },
                        "author": { "type": "object", "properties": { "id": { "type": "string" }, "name": { "type": "string" }, "handle": { "type": "string" }, "email": { "type": "string" }, "team": { "type": "boolean" }, "bot": { "type": "boolean" } } },
                        "channel": { "type": "string" }, "thread": { "type": "string" }, "reply_to": { "type": "string" }, "to": { "type": "array", "items": { "type": "string" } }, "text": { "type": "string" }, "url": { "type": "string" }, "attrs": { "type": "object" } } }
            }
        },
        "paths": {
            "/api/v1/summary": get("Community, row counts and sources", "read", json!([]), json!({ "type": "object" })),
            "/api/v1/metrics": get("Every metric for a period (at most `limit` rows of each table)", "read", table_params(period_params()), json!({ "type": "object", "properties": { "report": { "$ref": "#/components/schemas/Report" }, "metrics": { "type": "array", "items": { "$ref": "#/components/schemas/MetricValue" } } } })),
            "/api/v1/metrics/{name}": get("One metric with its definition and reference SQL", "read", table_params(metric_params), json!({ "type": "object", "properties": { "report": { "$ref": "#/components/schemas/Report" }, "metric": { "$ref": "#/components/schemas/MetricValue" }, "definition": { "type": "string" }, "reference_sql": { "type": "string" } } })),
            "/api/v1/members": get("Members, filtered and sorted like the Members page", "read", Value::Array(member_params), json!({ "type": "object", "properties": { "total": { "type": "integer" }, "members": { "type": "array", "items": { "type": "object" } } } })),
            "/api/v1/members/{id}": get("One member: identities, first seen, last active, tags, notes, tasks", "read", id.clone(), json!({ "type": "object" })),
            "/api/v1/needs-reply": get("Open threads waiting for a first response, oldest first", "read", table_params(period_params()), json!({ "type": "object", "properties": { "report": { "$ref": "#/components/schemas/Report" }, "queue": { "$ref": "#/components/schemas/Table" } } })),
            "/api/v1/sources": get("Sources with their latest import audit", "read", json!([]), json!({ "type": "array", "items": { "type": "object" } })),
            "/api/v1/activities/{id}/scores": get("What kith-text read from one message: sentiment with its confidence, hostility and intents, with the words behind them", "read", id.clone(), json!({ "$ref": "#/components/schemas/TextScores" })),
            "/api/v1/members/merge": { "post": {
                "summary": "Merge one member into another (reversible on the member's page or with `kith members unmerge`)",
                "security": [{ "token": ["write"] }],
                "requestBody": { "required": true, "content": { "application/json": { "schema": { "type": "object", "required": ["into", "from"], "properties": { "into": { "type": "integer" }, "from": { "type": "integer" }, "reason": { "type": "string" } } } } } },
                "responses": { "200": { "description": "The merge record" }, "400": error(), "401": error(), "403": error(), "404": error(), "409": error() }
            } },
            "/api/v1/members/{id}/tags": { "post": {
                "summary": "Tag a member",
                "security": [{ "token": ["write"] }],
                "parameters": id,
                "requestBody": { "required": true, "content": { "application/json": { "schema": { "type": "object", "required": ["tag"], "properties": { "tag": { "type": "string" } } } } } },
                "responses": { "200": { "description": "The member's tags" }, "400": error(), "401": error(), "403": error(), "404": error() }
            } },
            "/api/v1/activities": { "post": {
                "summary": "Ingest a batch of canonical activities (idempotent by source and id)",
                "description": "JSON lines (`application/x-ndjson`, the default) or a JSON array (`application/json`), at most 100,000 activities. Re-sending a batch stores nothing twice. A line that is not JSON rejects the whole batch with nothing stored; a valid JSON line that is not a valid activity is skipped and listed in `problems`. Identity resolution runs after the batch.",
                "security": [{ "token": ["ingest"] }],
                "requestBody": { "required": true, "content": {
                    "application/x-ndjson": { "schema": { "type": "string" } },
                    "application/json": { "schema": { "type": "array", "items": { "$ref": "#/components/schemas/Activity" } } }
                } },
                "responses": { "200": { "description": "The import audit", "content": { "application/json": { "schema": { "type": "object", "properties": { "audit": { "type": "integer" }, "read": { "type": "integer" }, "imported": { "type": "integer" }, "updated": { "type": "integer" }, "skipped": { "type": "object" }, "problems": { "type": "array" } } } } } }, "400": error(), "401": error(), "403": error() }
            } }
        }
    })
}

pub async fn document() -> Json<Value> {
    Json(spec())
}
