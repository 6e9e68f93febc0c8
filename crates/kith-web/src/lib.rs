//! kith's web app and HTTP API, served by the `kith` binary (`kith serve`, `kith demo`).
//!
//! ```text
//! request ─> http_metrics ─> authenticate (session cookie | bearer token | demo login)
//!            ─> check_csrf (forms) ─> route ─> authorize(action of the route) ─> handler
//! handler ─> store (blocking thread) and Analytics (shared snapshot, cached results) ─> HTML | JSON
//! ```
//!
//! Architecture invariants:
//! - Handlers are thin: read the request, call the store or [`analytics::Analytics`] on a
//!   blocking thread, render. The web layer never computes a metric: numbers come from
//!   `kith_analytics::compute_all`, a thread's conversation quality from the metric's own
//!   `conversation_quality::quality_of_thread`, a message's scores from the store with their
//!   explanation from `kith_scoring::explain_stored` ([`scores`]).
//! - Authentication, CSRF, authorisation and request metrics are layers. Every route is in
//!   [`routes::routes`] with the [`auth::Action`] it needs; the authorisation test walks that
//!   table with every role.
//! - Every page is server-rendered HTML with no script, font or style from elsewhere; charts
//!   are SVG from [`charts`], shared with `kith report --format html`.
//! - The snapshot follows the store's change sequence in the background, so data imported by
//!   another process shows up without a restart.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use kith_store::Store;

pub mod analytics;
pub mod api;
pub mod auth;
pub mod charts;
pub mod directory;
pub mod imports;
pub mod openapi;
pub mod pages;
pub mod prom;
pub mod resolver;
pub mod routes;
pub mod scores;
pub mod ui;

pub use analytics::Analytics;

/// Server settings that are not in the database.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// Mark cookies `Secure` (set when kith is served over HTTPS, directly or behind a proxy).
    pub secure_cookies: bool,
    /// Identity resolution threshold after imports from the browser and the ingest API.
    pub merge_threshold: f64,
    /// How often the snapshot looks for new data.
    pub refresh_every: Duration,
    /// Largest upload accepted by the import form, in bytes.
    pub upload_limit: usize,
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            secure_cookies: false,
            merge_threshold: 0.9,
            refresh_every: Duration::from_secs(2),
            upload_limit: 1 << 30,
        }
    }
}

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    /// Serving generated demo data: said loudly on every page, everyone logged in as `demo`.
    pub demo: bool,
    pub config: WebConfig,
    pub analytics: Arc<Analytics>,
    pub limiter: Arc<auth::LoginLimiter>,
    /// Sessions and API tokens found recently, so that most requests skip the database.
    pub credentials: Arc<auth::CredentialCache>,
    pub http: Arc<prom::HttpMetrics>,
    pub imports: Arc<imports::ImportJobs>,
    /// Identity resolution after imports from the browser and the ingest API.
    pub resolver: Arc<resolver::Resolver>,
}

impl AppState {
    /// Builds the analytics snapshot from the store (blocking: call before serving).
    pub fn new(store: Arc<dyn Store>, demo: bool, config: WebConfig) -> Result<AppState, WebError> {
        let analytics = Arc::new(Analytics::build(Arc::clone(&store))?);
        Ok(AppState {
            store,
            demo,
            config,
            analytics,
            limiter: Arc::default(),
            credentials: Arc::default(),
            http: Arc::default(),
            imports: Arc::default(),
            resolver: Arc::default(),
        })
    }

    /// The community's time zone (UTC if the stored name is not a zone). Blocking when the
    /// community's settings are due to be read again.
    pub fn tz(&self) -> chrono_tz::Tz {
        self.analytics
            .community()
            .ok()
            .and_then(|c| c.time_zone.parse().ok())
            .unwrap_or(chrono_tz::UTC)
    }

    /// The time zone if the community's settings are fresh in memory. Never blocks.
    pub fn tz_cached(&self) -> Option<chrono_tz::Tz> {
        self.analytics
            .community_cached()
            .map(|c| c.time_zone.parse().unwrap_or(chrono_tz::UTC))
    }
}

/// The application: every route of [`routes::routes`] with its authorisation, under the
/// authentication, CSRF and metrics layers.
pub fn router(state: AppState) -> Router {
    routes::router(state)
}

/// Serves until Ctrl-C (or SIGTERM), refreshing the snapshot in the background.
pub async fn serve(state: AppState, listener: tokio::net::TcpListener) -> std::io::Result<()> {
    let refresher = tokio::spawn(refresh_loop(state.clone()));
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    let result = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await;
    refresher.abort();
    result
}

/// Follows the store's change sequence: new imports, merges and deletions reach the pages.
async fn refresh_loop(state: AppState) {
    loop {
        tokio::time::sleep(state.config.refresh_every).await;
        let analytics = Arc::clone(&state.analytics);
        match tokio::task::spawn_blocking(move || analytics.refresh()).await {
            Ok(Ok(true)) => {
                tracing::info!(
                    watermark = state.analytics.watermark(),
                    "snapshot refreshed"
                );
                let analytics = Arc::clone(&state.analytics);
                match tokio::task::spawn_blocking(move || analytics.warm()).await {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => tracing::warn!(error = %e, "preparing the member list failed"),
                    Err(e) => tracing::warn!(error = %e, "preparing the member list failed"),
                }
            }
            Ok(Ok(false)) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "snapshot refresh failed"),
            Err(e) => tracing::warn!(error = %e, "snapshot refresh task failed"),
        }
    }
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

/// Runs blocking work (store calls, metric computation) off the async threads.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, WebError> + Send + 'static,
) -> Result<T, WebError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| WebError::Internal(e.to_string()))?
}

/// What can go wrong answering a request, and the status it becomes.
#[derive(Debug, Clone, thiserror::Error)]
pub enum WebError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    /// No activity yet: pages show how to import instead of numbers.
    #[error("no data yet: import an export (Sources) or send activities to the ingest API")]
    NoData,
    #[error("too many failed logins: try again in {0} seconds")]
    TooMany(u64),
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    #[error("kith could not answer: {0}")]
    Internal(String),
}

impl From<kith_store::StoreError> for WebError {
    fn from(e: kith_store::StoreError) -> WebError {
        use kith_store::StoreError as S;
        match e {
            S::NotFound(what) => WebError::NotFound(what),
            S::Conflict(m) => WebError::Conflict(m),
            S::Invalid(m) => WebError::BadRequest(m),
            e if e.is_unavailable() => WebError::Unavailable(e.to_string()),
            e => WebError::Internal(e.to_string()),
        }
    }
}

impl From<kith_analytics::AnalyticsError> for WebError {
    fn from(e: kith_analytics::AnalyticsError) -> WebError {
        use kith_analytics::AnalyticsError as A;
        match e {
            A::Store(s) => s.into(),
            A::NoActivity => WebError::NoData,
            A::EmptyRange
            | A::DateOutOfRange
            | A::CalendarTooLong { .. }
            | A::UnknownSource { .. }
            | A::UnknownChannel(_)
            | A::UnknownMetric(_) => WebError::BadRequest(e.to_string()),
            other => WebError::Internal(other.to_string()),
        }
    }
}

impl WebError {
    pub fn status(&self) -> StatusCode {
        match self {
            WebError::BadRequest(_) => StatusCode::BAD_REQUEST,
            WebError::Forbidden(_) => StatusCode::FORBIDDEN,
            WebError::NotFound(_) => StatusCode::NOT_FOUND,
            WebError::Conflict(_) => StatusCode::CONFLICT,
            WebError::NoData => StatusCode::OK,
            WebError::TooMany(_) => StatusCode::TOO_MANY_REQUESTS,
            WebError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            WebError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        }
        let body = maud::html! {
            (maud::DOCTYPE)
            html lang="en" {
                head { meta charset="utf-8"; title { "kith: " (status.as_str()) } link rel="stylesheet" href="/static/kith.css"; }
                body { main #main {
                    h1 { (status.canonical_reason().unwrap_or("Error")) }
                    p.error role="alert" { (self.to_string()) }
                    p { a href="/" { "Back to the overview" } }
                } }
            }
        };
        let mut response = (status, body).into_response();
        if let WebError::TooMany(secs) = self
            && let Ok(v) = header::HeaderValue::from_str(&secs.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        response
    }
}
