//! Sources: every imported source with its import audits, base URLs for links back to the
//! platform, and importing an export file from the browser with a progress page (it reloads
//! itself every second; no script).

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Form;
use axum::extract::{Multipart, Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::{Me, shell};
use crate::auth::Action;
use crate::ui::{self, csrf_field};
use crate::{AppState, WebError, blocking};

pub async fn list(State(state): State<AppState>, Me(me): Me) -> Result<Markup, WebError> {
    let store = state.store.clone();
    let (sources, audits) =
        blocking(move || Ok((store.sources()?, store.audits(None, 30)?))).await?;
    let jobs = state.imports.recent(10);
    let body = html! {
        h1 { "Sources" }
        @if sources.is_empty() { p { "Nothing imported yet." } } @else {
            table {
                thead { tr { th { "Source" } th { "Format" } th.num { "Activities" } th.num { "Identities" } th { "Base URL (links back)" } th { "Last import" } } }
                tbody { @for s in &sources { tr {
                    td { (s.name) } td { (s.format) }
                    td.num { (ui::num(s.activities as i64)) } td.num { (ui::num(s.identities as i64)) }
                    td {
                        @if me.may(Action::Import) {
                            form method="post" action="/sources/base-url" {
                                (csrf_field(Some(&me))) input type="hidden" name="source" value=(s.name);
                                input type="url" name="base_url" value=(s.base_url.clone().unwrap_or_default()) aria-label={ "Base URL of " (s.name) } placeholder="https://forum.example.org";
                                " " button.quiet type="submit" { "Save" }
                            }
                        } @else { (s.base_url.clone().unwrap_or_else(|| "–".into())) }
                    }
                    td { @if let Some(a) = &s.last_audit { (ui::when(a.audit.finished_at)) ": " (ui::num(a.audit.imported as i64)) " new" } @else { "never" } }
                } } }
            }
        }
        @if me.may(Action::Import) {
            h2 #upload { "Import an export file" }
            form method="post" action={ "/sources/upload?csrf=" (me.csrf()) } enctype="multipart/form-data" {
                p { label { "Format" select name="format" required {
                    @for f in kith_import::formats() { option value=(f.name()) { (f.name()) " — " (f.summary()) } }
                } } }
                p { label { "Export file (a file, or a .zip or .gz of the export)" input type="file" name="file" required; } }
                p { label { "Source name (optional: derived from the export)" input type="text" name="source"; } }
                p { label { "Base URL of the platform (optional)" input type="url" name="base_url"; } }
                p { button type="submit" { "Import" } }
            }
            p.muted.small { "Re-importing the same or an overlapping export never duplicates anything. Large exports import faster from the command line: " code { "kith import FORMAT PATH" } "." }
        }
        @if !jobs.is_empty() {
            h2 { "Imports from this browser session's server" }
            ul { @for j in &jobs { li { a href={ "/sources/imports/" (j.id) } { (j.file_name) } " (" (j.format) ", by " (j.started_by) ") "
                @if j.finished() { "finished" } @else { (format!("{:.0} %", j.fraction() * 100.0)) } } } }
        }
        h2 { "Import audits" }
        p.muted.small { "What each import read, kept and skipped, and why: the answer to \"why does kith show a different member count than the platform?\"" }
        table {
            thead { tr { th { "When" } th { "Format" } th { "Sources" } th { "Status" } th.num { "Read" } th.num { "New" } th.num { "Updated" } th.num { "Skipped" } th { "Skipped because" } } }
            tbody { @for a in &audits { tr {
                td { (ui::when(a.audit.finished_at)) } td { (a.audit.format) } td { (a.audit.sources.join(", ")) } td { (a.audit.status.as_str()) }
                td.num { (ui::num(a.audit.read as i64)) } td.num { (ui::num(a.audit.imported as i64)) } td.num { (ui::num(a.audit.updated as i64)) }
                td.num { (ui::num(a.audit.skipped_total() as i64)) }
                td.small { (a.audit.skipped.iter().map(|(k, v)| format!("{k}: {v}")).collect::<Vec<_>>().join(", "))
                    @if let Some(e) = &a.audit.error { " " span.error { (e) } } }
            } } }
        }
    };
    Ok(shell(&state, &me, "Sources", "/sources", body))
}

/// Keeps only a file name's last component and safe characters (it becomes a path).
fn safe_file_name(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = last
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let cleaned = cleaned.trim_start_matches('.').to_owned();
    if cleaned.is_empty() {
        "upload".into()
    } else {
        cleaned
    }
}

pub async fn upload(
    State(state): State<AppState>,
    Me(me): Me,
    mut form: Multipart,
) -> Result<Response, WebError> {
    let dir = tempfile::tempdir()
        .map_err(|e| WebError::Internal(format!("cannot make a folder for the upload: {e}")))?;
    let (mut format, mut source, mut base_url, mut file) = (String::new(), None, None, None);
    while let Some(mut field) = form
        .next_field()
        .await
        .map_err(|e| WebError::BadRequest(format!("the upload broke off: {e}")))?
    {
        match field.name().unwrap_or("") {
            "format" => {
                format = field
                    .text()
                    .await
                    .map_err(|e| WebError::BadRequest(e.to_string()))?
            }
            "source" => {
                source = Some(
                    field
                        .text()
                        .await
                        .map_err(|e| WebError::BadRequest(e.to_string()))?,
                )
            }
            "base_url" => {
                base_url = Some(
                    field
                        .text()
                        .await
                        .map_err(|e| WebError::BadRequest(e.to_string()))?,
                )
            }
            "file" => {
                let name = safe_file_name(field.file_name().unwrap_or("upload"));
                let path = dir.path().join(&name);
                let mut out = std::fs::File::create(&path)
                    .map_err(|e| WebError::Internal(format!("cannot store the upload: {e}")))?;
                let mut size = 0u64;
                // Streamed to disk chunk by chunk: memory stays flat whatever the file size.
                while let Some(chunk) = field
                    .chunk()
                    .await
                    .map_err(|e| WebError::BadRequest(format!("the upload broke off: {e}")))?
                {
                    size += chunk.len() as u64;
                    out.write_all(&chunk)
                        .map_err(|e| WebError::Internal(format!("cannot store the upload: {e}")))?;
                }
                if size == 0 {
                    return Err(WebError::BadRequest("the uploaded file is empty".into()));
                }
                file = Some((name, path));
            }
            _ => {}
        }
    }
    let Some((name, path)) = file else {
        return Err(WebError::BadRequest("choose a file to import".into()));
    };
    if kith_import::format_by_name(&format).is_none() {
        return Err(WebError::BadRequest(format!(
            "kith cannot read format `{format}`"
        )));
    }
    let clean = |s: Option<String>| s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    // Never exclusive: the server keeps reading the database while the import runs.
    let options = kith_import::ImportOptions {
        source: clean(source),
        base_url: clean(base_url),
        dry_run: false,
        exclusive: false,
    };
    let job = state.imports.create(&format, &name, &me.user.name);
    let (s, j) = (state.clone(), Arc::clone(&job));
    tokio::task::spawn_blocking(move || crate::imports::run(&s, &j, path, dir, options));
    Ok(Redirect::to(&format!("/sources/imports/{}", job.id)).into_response())
}

pub async fn job(
    State(state): State<AppState>,
    Me(me): Me,
    Path(id): Path<u64>,
) -> Result<Response, WebError> {
    let job = state
        .imports
        .get(id)
        .ok_or_else(|| WebError::NotFound(format!("import {id}")))?;
    let outcome = job
        .outcome
        .lock()
        .map_err(|_| WebError::Internal("an import crashed".into()))?
        .clone();
    let done = job.done.load(Ordering::Relaxed);
    let total = job.total.load(Ordering::Relaxed);
    let unit = if job.bytes.load(Ordering::Relaxed) {
        "bytes"
    } else {
        "records"
    };
    let body = html! {
        h1 { "Import of " (job.file_name) }
        p { (job.format) ", started " (ui::when(job.started_at)) " UTC by " (job.started_by) }
        @match &outcome {
            None => {
                p role="status" { "Importing… " (format!("{:.0} %", job.fraction() * 100.0)) " (" (ui::num(done as i64)) " of " (ui::num(total as i64)) " " (unit) ")" }
                progress max="1" value=(format!("{:.3}", job.fraction())) aria-label="Import progress" {}
                p.muted.small { "This page reloads every second until the import is done." }
            }
            Some(Ok(a)) => {
                p.ok role="status" { "Imported: " (ui::num(a.audit.imported as i64)) " new activities, " (ui::num(a.audit.updated as i64)) " updated, "
                    (ui::num(a.audit.skipped_total() as i64)) " skipped; " (a.audit.members_created) " new members, " (a.audit.members_merged) " merged by identity resolution." }
                p { "Sources: " (a.audit.sources.join(", ")) }
                @if !a.audit.skipped.is_empty() {
                    h2 { "Skipped" }
                    ul { @for (k, v) in &a.audit.skipped { li { (k) ": " (v) } } }
                    @if !a.audit.problems.is_empty() {
                        table { thead { tr { th { "File" } th { "Line" } th { "Why" } } }
                            tbody { @for p in a.audit.problems.iter().take(50) { tr { td { (p.file) } td { (p.line) } td { (p.message) } } } } }
                    }
                }
                p { a href="/" { "See the overview" } " · " a href="/sources" { "Sources" } }
            }
            Some(Err(e)) => {
                p.error role="alert" { "The import failed and stored nothing: " (e) }
                p { a href="/sources#upload" { "Try again" } }
            }
        }
    };
    let mut r = shell(&state, &me, "Import", "/sources", body).into_response();
    if outcome.is_none() {
        r.headers_mut()
            .insert("refresh", axum::http::HeaderValue::from_static("1"));
    }
    Ok(r)
}

#[derive(Deserialize)]
pub struct BaseUrlForm {
    source: String,
    base_url: String,
}

pub async fn set_base_url(
    State(state): State<AppState>,
    Form(f): Form<BaseUrlForm>,
) -> Result<Response, WebError> {
    let url = f.base_url.trim().to_owned();
    if !(url.is_empty() || url.starts_with("https://") || url.starts_with("http://")) {
        return Err(WebError::BadRequest(format!(
            "`{url}` is not an http(s) URL"
        )));
    }
    let store = state.store.clone();
    blocking(move || {
        Ok(store.set_source_base_url(&f.source, (!url.is_empty()).then_some(url.as_str()))?)
    })
    .await?;
    Ok(Redirect::to("/sources").into_response())
}
