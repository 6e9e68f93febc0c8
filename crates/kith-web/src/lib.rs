//! kith's web app and HTTP API, served by the `kith` binary (`kith serve`, `kith demo`).
//!
//! Architecture invariants:
//! - Handlers are thin: read the request, call the store (or later the analytics layer) on a
//!   blocking thread, render. The web layer never computes a metric.
//! - Every page is server-rendered HTML with no script, font or style from elsewhere.
//! - The store is read on every request, so data imported by another process shows up
//!   without a restart.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use kith_store::{Store, StoreError};

mod page;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    /// Serving generated demo data: said loudly on every page.
    pub demo: bool,
}

/// The application's routes.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(overview))
        .route("/healthz", get(healthz))
        .route("/api/v1/summary", get(summary))
        .with_state(state)
}

/// Serves until Ctrl-C (or SIGTERM).
pub async fn serve(state: AppState, listener: tokio::net::TcpListener) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown_signal())
        .await
}

/// Binds `addr`, with an error that says what to do when the port is taken.
pub async fn bind(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr).await.map_err(|e| {
        std::io::Error::new(
            e.kind(),
            format!("cannot listen on {addr}: {e} (choose another address with --bind)"),
        )
    })
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

/// Runs a store call on the blocking pool (backends are synchronous).
async fn blocking<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&dyn Store) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, WebError> {
    let store = Arc::clone(&state.store);
    tokio::task::spawn_blocking(move || f(store.as_ref()))
        .await
        .map_err(|e| WebError(e.to_string()))?
        .map_err(|e| WebError(e.to_string()))
}

struct WebError(String);

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        tracing::error!(error = %self.0, "request failed");
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            format!("kith could not answer: {}\n", self.0),
        )
            .into_response()
    }
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn overview(State(state): State<AppState>) -> Result<Html<String>, WebError> {
    let demo = state.demo;
    let (info, community, counts, sources) = blocking(&state, |s| {
        Ok((s.describe(), s.community()?, s.counts()?, s.sources()?))
    })
    .await?;
    Ok(Html(page::overview(&page::Overview {
        demo,
        info: &info,
        community: &community,
        counts: &counts,
        sources: &sources,
    })))
}

async fn summary(State(state): State<AppState>) -> Result<Response, WebError> {
    let (community, counts, sources) =
        blocking(&state, |s| Ok((s.community()?, s.counts()?, s.sources()?))).await?;
    let body = serde_json::json!({ "community": community, "counts": counts, "sources": sources });
    Ok((
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response())
}
