//! kith's health metrics engine (SPEC §4): a compact in-memory snapshot of the activity log,
//! the metrics computed from it, and for every metric that SQL can express the reference SQL
//! over the canonical schema that computes the same numbers (the others — engagement levels,
//! the interaction network — are checked against slow Rust models instead).
//!
//! Data flow:
//!
//! ```text
//! Store::read_changes(watermark) ──> Snapshot (dense ids, struct of arrays, refreshed by watermark)
//!                                        │  + Params (as-of, range, period, zone, filters)
//!                                        v
//!                                    Scope (one pass: what is in scope, whose activity counts,
//!                                        │   each member's participations in time order)
//!                                        v
//!                              metrics/<name>.rs  compute(&Scope) -> MetricValue (tables)
//!                                        ║ must equal
//!                              the metric's REFERENCE_SQL on the store's database (oracle.rs)
//! ```
//!
//! ```no_run
//! use kith_analytics::{Params, Snapshot};
//! let store = kith_store_sqlite::SqliteStore::open(std::path::Path::new("kith.db"))?;
//! let mut snapshot = Snapshot::build(&store)?;
//! let report = kith_analytics::compute_all(&snapshot, &Params::default())?;
//! // ... later, after an import: only the changes are read.
//! snapshot.refresh(&store)?;
//! # Ok::<(), kith_analytics::AnalyticsError>(())
//! ```
//!
//! Architecture invariants:
//! - **Metrics never do I/O.** Only [`Snapshot::build`] and [`Snapshot::refresh`] read the
//!   store, through [`kith_store::Store::read_changes`]; the snapshot works the same on every
//!   backend.
//! - **No strings per activity**, no per-activity allocation: dense `u32` ids and parallel
//!   columns. A merge updates the identity → member table only.
//! - **One metric, one module** (`metrics/`): definition (rendered into `docs/metrics.md`),
//!   reference SQL, fast implementation, hand-worked tests and the oracle property test; or,
//!   for a metric SQL cannot express ([`Reference::Model`]), the statement of how it is
//!   verified and the property test against its slow model.
//! - **Reference SQL runs unchanged on SQLite, DuckDB and PostgreSQL** (SPEC §8): integer epoch
//!   seconds, calendar bucketing only through the generated `kith_calendar` table, no integer
//!   division, booleans as 0/1, parameters substituted as integer literals.
//! - **Deleted activities never count**; activities after as-of are out of scope; team activity
//!   (from `team_since`) and bots are excluded unless asked for; author-less content is a human
//!   in conversations but never a member in counts.

pub mod calendar;
pub mod docs;
pub mod levels;
pub mod lookup;
pub mod metric;
pub mod metrics;
pub mod network;
#[cfg(any(test, feature = "oracle"))]
pub mod oracle;
mod par;
pub mod params;
mod prefetch;
pub mod scope;
pub mod snapshot;
#[cfg(test)]
mod testkit;
pub mod threads;

pub use calendar::{Calendar, Period};
pub use metric::{
    Cell, ColumnKind, MetricDef, MetricValue, Reference, Table, column_kind, explain, find,
    registry,
};
pub use params::{Params, Resolved, SqlParams};
pub use scope::Scope;
pub use snapshot::{MemoryUse, RefreshStats, Snapshot};

/// What can go wrong computing metrics, in terms a user can act on.
#[derive(Debug, thiserror::Error)]
pub enum AnalyticsError {
    #[error(transparent)]
    Store(#[from] kith_store::StoreError),
    #[error(
        "no activity in scope: import data first, or widen --source/--channel, or pass --as-of"
    )]
    NoActivity,
    #[error("--from is after --to: the report range is empty")]
    EmptyRange,
    #[error(
        "a date is outside the supported calendar (years 1 to 262143); check --from, --to and --as-of"
    )]
    DateOutOfRange,
    #[error(
        "the report calendar would span {days} days; check --from/--to and the activity timestamps"
    )]
    CalendarTooLong { days: i64 },
    #[error("unknown source `{name}` (known: {known})")]
    UnknownSource { name: String, known: String },
    #[error("unknown channel `{0}`: no source has a channel with that id")]
    UnknownChannel(String),
    #[error("more than 65,534 sources: the snapshot keeps source ids in 16 bits")]
    TooManySources,
    #[error("unknown metric `{0}`; `kith report --list` shows the metric names")]
    UnknownMetric(String),
    #[error("reference SQL uses the unknown parameter `:{0}`")]
    UnknownSqlParameter(String),
    #[error("reference SQL failed: {0}")]
    Sql(String),
    #[error(
        "metric `{0}` has no reference SQL; `kith report --explain {0}` says how it is verified"
    )]
    NoReferenceSql(&'static str),
}

/// One metric over the snapshot.
pub fn compute(
    snapshot: &Snapshot,
    params: &Params,
    metric: &str,
) -> Result<MetricValue, AnalyticsError> {
    let def = find(metric).ok_or_else(|| AnalyticsError::UnknownMetric(metric.to_owned()))?;
    let scope = Scope::new(snapshot, params)?;
    Ok((def.compute)(&scope))
}

/// Every metric over the snapshot, sharing one scope, in registry order.
pub fn compute_all(
    snapshot: &Snapshot,
    params: &Params,
) -> Result<Vec<MetricValue>, AnalyticsError> {
    let scope = Scope::new(snapshot, params)?;
    Ok(compute_scope(&scope))
}

/// The passes several metrics share, heaviest first: started before the metrics so that no
/// metric waits long for another thread's pass.
const SHARED_PASSES: [fn(&Scope<'_>); 4] = [
    |s| {
        network::network(s);
    },
    |s| {
        levels::timeline(s);
    },
    |s| {
        threads::first_posts(s);
    },
    |s| {
        metrics::conversation_quality::conversations(s);
    },
];

/// Every metric over `scope`, in registry order. The shared passes and then the metrics are
/// taken in turn by one thread per core (at most 4); each computation is deterministic and
/// reads only the scope, so the results do not depend on which thread ran what.
pub fn compute_scope(scope: &Scope<'_>) -> Vec<MetricValue> {
    let metrics = registry();
    let threads = std::thread::available_parallelism().map_or(1, |c| c.get().clamp(1, 4));
    if threads == 1 {
        return metrics.iter().map(|m| (m.compute)(scope)).collect();
    }
    // The network's own metric is computed by the thread that builds the network, right
    // after it (as the first task, which builds it on the way): taken by another thread, it
    // would wait for the network idle, and taken last it would run alone at the end. The
    // other metrics in registry order, except that those of the second pass (levels) come
    // first (the thread that computed it goes on with them while the other is still in the
    // network).
    let network_metric = metrics.iter().position(|m| m.name == "network");
    let mut order: Vec<usize> = (0..metrics.len())
        .filter(|&m| Some(m) != network_metric)
        .collect();
    order.sort_by_key(|&m| match metrics[m].name {
        "engagement_levels" | "level_pipeline" => 0,
        _ => 1,
    });
    let tasks = SHARED_PASSES.len() + order.len();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let order = &order;
    let done: Vec<(usize, MetricValue)> = std::thread::scope(|ts| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                ts.spawn(|| {
                    let mut out = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        if i >= tasks {
                            break out;
                        }
                        match i.checked_sub(SHARED_PASSES.len()) {
                            None if i == 0
                                && let Some(m) = network_metric =>
                            {
                                out.push((m, (metrics[m].compute)(scope)));
                            }
                            None => SHARED_PASSES[i](scope),
                            Some(k) => {
                                let m = order[k];
                                out.push((m, (metrics[m].compute)(scope)));
                            }
                        }
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    let mut values: Vec<Option<MetricValue>> = vec![None; metrics.len()];
    for (m, v) in done {
        values[m] = Some(v);
    }
    values.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `compute_all` (threads taking the shared passes and the metrics in turn, the network's
    /// metric with the network) gives every registered metric in registry order, each equal
    /// to the metric computed alone, on random communities.
    #[test]
    fn every_metric_at_once_equals_each_alone_in_registry_order() {
        use proptest::test_runner::TestCaseError;
        testkit::for_random_communities(16, |_, _, _, snap| {
            let Ok(scope) = Scope::new(&snap, &Params::default()) else {
                return Ok(());
            };
            let all = compute_scope(&scope);
            let names: Vec<&str> = all.iter().map(|v| v.metric).collect();
            let registered: Vec<&str> = registry().iter().map(|m| m.name).collect();
            if names != registered {
                return Err(TestCaseError::fail(format!("{names:?} != {registered:?}")));
            }
            for (value, m) in all.iter().zip(registry()) {
                let alone = compute(&snap, &Params::default(), m.name)
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                if *value != alone {
                    return Err(TestCaseError::fail(format!("{} differs", m.name)));
                }
            }
            Ok(())
        });
    }
}
