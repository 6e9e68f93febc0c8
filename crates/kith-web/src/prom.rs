//! Prometheus metrics at `/metrics` (text format 0.0.4): requests by route, method and status
//! class with a latency histogram, and the state of the analytics snapshot and its cache.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::Ordering;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::AppState;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

#[derive(Default)]
struct Series {
    /// Cumulative counts per bucket (Prometheus histograms are cumulative).
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// Request counters, keyed by (route pattern, method, status class).
#[derive(Default)]
pub struct HttpMetrics {
    series: Mutex<BTreeMap<(String, String, String), Series>>,
}

impl HttpMetrics {
    pub fn observe(&self, route: &str, method: &str, status: u16, seconds: f64) {
        let class = format!("{}xx", status / 100);
        let mut map = self.series.lock().unwrap_or_else(|e| e.into_inner());
        let s = map
            .entry((route.to_owned(), method.to_owned(), class))
            .or_default();
        s.count += 1;
        s.sum += seconds;
        for (i, le) in BUCKETS.iter().enumerate() {
            if seconds <= *le {
                s.buckets[i] += 1;
            }
        }
    }
}

/// Layer: times every request under its route pattern (never the raw path: ids would make the
/// label set unbounded).
pub async fn measure(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |m| m.as_str().to_owned());
    let method = req.method().to_string();
    let started = Instant::now();
    let response = next.run(req).await;
    state.http.observe(
        &route,
        &method,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}

fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// `GET /metrics`.
pub async fn metrics(State(state): State<AppState>) -> Response {
    let mut out = String::new();
    out.push_str("# HELP kith_http_requests_total HTTP requests answered, by route pattern, method and status class.\n# TYPE kith_http_requests_total counter\n");
    let map = state.http.series.lock().unwrap_or_else(|e| e.into_inner());
    for ((route, method, class), s) in map.iter() {
        let _ = writeln!(
            out,
            "kith_http_requests_total{{route=\"{}\",method=\"{}\",status=\"{}\"}} {}",
            label(route),
            method,
            class,
            s.count
        );
    }
    out.push_str("# HELP kith_http_request_duration_seconds Time to answer, by route pattern and method.\n# TYPE kith_http_request_duration_seconds histogram\n");
    let mut by_route: BTreeMap<(String, String), Series> = BTreeMap::new();
    for ((route, method, _), s) in map.iter() {
        let t = by_route.entry((route.clone(), method.clone())).or_default();
        t.count += s.count;
        t.sum += s.sum;
        for i in 0..BUCKETS.len() {
            t.buckets[i] += s.buckets[i];
        }
    }
    drop(map);
    for ((route, method), s) in &by_route {
        let l = format!("route=\"{}\",method=\"{method}\"", label(route));
        for (i, le) in BUCKETS.iter().enumerate() {
            let _ = writeln!(
                out,
                "kith_http_request_duration_seconds_bucket{{{l},le=\"{le}\"}} {}",
                s.buckets[i]
            );
        }
        let _ = writeln!(
            out,
            "kith_http_request_duration_seconds_bucket{{{l},le=\"+Inf\"}} {}",
            s.count
        );
        let _ = writeln!(
            out,
            "kith_http_request_duration_seconds_sum{{{l}}} {}",
            s.sum
        );
        let _ = writeln!(
            out,
            "kith_http_request_duration_seconds_count{{{l}}} {}",
            s.count
        );
    }
    let a = &state.analytics;
    let (slots, members, memory) =
        a.with_snapshot(|s| (s.slots(), s.members(), s.memory().total()));
    for (name, kind, help, value) in [
        (
            "kith_snapshot_watermark",
            "gauge",
            "Change-sequence position the analytics snapshot has read up to.",
            a.watermark() as f64,
        ),
        (
            "kith_snapshot_activities",
            "gauge",
            "Activity slots held by the analytics snapshot.",
            slots as f64,
        ),
        (
            "kith_snapshot_members",
            "gauge",
            "Members known to the analytics snapshot.",
            members as f64,
        ),
        (
            "kith_snapshot_bytes",
            "gauge",
            "Heap bytes allocated to the analytics snapshot, by capacity (room reserved for growth counts before it is written).",
            memory as f64,
        ),
        (
            "kith_snapshot_refreshes_total",
            "counter",
            "Snapshot refreshes that found changes.",
            a.stats.refreshes.load(Ordering::Relaxed) as f64,
        ),
        (
            "kith_snapshot_last_refresh_seconds",
            "gauge",
            "Duration of the last snapshot refresh.",
            a.stats.last_refresh_ms.load(Ordering::Relaxed) as f64 / 1000.0,
        ),
        (
            "kith_metric_computations_total",
            "counter",
            "Full metric computations (cache misses).",
            a.stats.computations.load(Ordering::Relaxed) as f64,
        ),
        (
            "kith_metric_cache_hits_total",
            "counter",
            "Metric results served from the cache.",
            a.stats.cache_hits.load(Ordering::Relaxed) as f64,
        ),
        (
            "kith_identity_resolutions_total",
            "counter",
            "Identity resolutions run after imports from the browser and the ingest API.",
            state.resolver.runs.load(Ordering::Relaxed) as f64,
        ),
        (
            "kith_identity_resolution_seconds_total",
            "counter",
            "Time spent in those identity resolutions.",
            state.resolver.micros.load(Ordering::Relaxed) as f64 / 1e6,
        ),
        (
            "kith_identity_resolutions_skipped_total",
            "counter",
            "Ingest API batches after which no identity had changed, so none ran.",
            state.resolver.skipped.load(Ordering::Relaxed) as f64,
        ),
    ] {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
        );
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
        .into_response()
}
