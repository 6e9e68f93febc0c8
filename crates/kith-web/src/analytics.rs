//! The server's one analytics snapshot and the results computed from it.
//!
//! One [`Snapshot`] is shared by every request and refreshed from the store in the background
//! when the store has changes (so imports by other processes show up without a restart).
//! Metric results are computed by `kith_analytics::compute_all` once per (parameters,
//! watermark) and shared: concurrent requests for the same parameters wait for one
//! computation instead of each doing it, and a new watermark makes old results stale. The web
//! layer never computes a metric itself. What is derived from a result (a rendered page, a
//! serialised API answer) is kept with it and goes stale with it. Every cache is bounded.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::{Duration, Instant};

use axum::body::Bytes;

use chrono::{NaiveDate, TimeZone};
use kith_analytics::{AnalyticsError, MetricValue, Params, Period, Resolved, Scope, Snapshot};
use kith_store::{
    Community, Counts, IdentityRow, MemberId, SourceId, SourceSummary, Store, StoreError, Watermark,
};
use serde::Deserialize;

use crate::WebError;

/// The period picker's query string (every page and the API share it).
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq, Hash)]
pub struct PeriodQuery {
    /// First day, `YYYY-MM-DD`.
    pub from: Option<String>,
    /// Last day, inclusive.
    pub to: Option<String>,
    /// "Now": a date (its end) or an RFC 3339 instant. Default: the latest activity.
    pub as_of: Option<String>,
    /// day, week, month (default) or quarter.
    pub period: Option<String>,
    /// One source name; empty = all.
    pub source: Option<String>,
    /// "1" to count team activity.
    pub team: Option<String>,
}

impl PeriodQuery {
    fn clean(s: &Option<String>) -> Option<&str> {
        s.as_deref().map(str::trim).filter(|s| !s.is_empty())
    }

    /// The query string that reproduces this selection (for links between pages).
    pub fn to_query(&self) -> String {
        let mut parts = Vec::new();
        for (k, v) in [
            ("from", &self.from),
            ("to", &self.to),
            ("as_of", &self.as_of),
            ("period", &self.period),
            ("source", &self.source),
            ("team", &self.team),
        ] {
            if let Some(v) = Self::clean(v) {
                parts.push(format!("{k}={}", crate::ui::url_encode(v)));
            }
        }
        parts.join("&")
    }

    fn date(flag: &str, text: &str) -> Result<NaiveDate, WebError> {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| {
            WebError::BadRequest(format!("{flag}: `{text}` is not a date like 2024-05-01"))
        })
    }

    /// The analytics parameters, in the community's zone.
    pub fn params(&self, tz: chrono_tz::Tz) -> Result<Params, WebError> {
        let as_of = match Self::clean(&self.as_of) {
            None => None,
            Some(t) => Some(match kith_model::Timestamp::parse_rfc3339(t) {
                Ok(ts) => ts.secs,
                Err(_) => end_of_day(Self::date("as of", t)?, tz)?,
            }),
        };
        let period = match Self::clean(&self.period) {
            None => Period::Month,
            Some(p) => Period::parse(p).ok_or_else(|| {
                WebError::BadRequest(format!("period `{p}`: use day, week, month or quarter"))
            })?,
        };
        Ok(Params {
            as_of,
            from: Self::clean(&self.from)
                .map(|d| Self::date("from", d))
                .transpose()?,
            to: Self::clean(&self.to)
                .map(|d| Self::date("to", d))
                .transpose()?,
            period,
            tz,
            sources: Self::clean(&self.source)
                .map(|s| vec![s.to_owned()])
                .unwrap_or_default(),
            include_team: Self::clean(&self.team) == Some("1"),
            ..Params::default()
        })
    }

    /// The same selection one range earlier: the range of equal length ending the day before
    /// this one starts, seen as of the end of its last day.
    pub fn previous(&self, c: &Computed) -> PeriodQuery {
        let days = (c.to - c.from).num_days();
        let to = c.from.pred_opt().unwrap_or(c.from);
        let from = to - chrono::Duration::days(days);
        PeriodQuery {
            from: Some(from.to_string()),
            to: Some(to.to_string()),
            as_of: Some(to.to_string()),
            ..self.clone()
        }
    }
}

/// The last second of a local day.
pub fn end_of_day(day: NaiveDate, tz: chrono_tz::Tz) -> Result<i64, WebError> {
    let next = day
        .succ_opt()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .ok_or_else(|| WebError::BadRequest(format!("{day} is out of range")))?;
    let end = tz
        .from_local_datetime(&next)
        .earliest()
        .ok_or_else(|| WebError::BadRequest(format!("the end of {day} does not exist in {tz}")))?;
    Ok(end.timestamp() - 1)
}

/// Every metric for one selection at one watermark.
#[derive(Debug)]
pub struct Computed {
    pub metrics: Vec<MetricValue>,
    pub as_of: i64,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub period: Period,
    pub watermark: i64,
    /// Milliseconds the computation took (shown in the page footer and /metrics).
    pub millis: u64,
    /// Serialised API answers made from this result, by kind (a few fixed kinds).
    answers: Mutex<HashMap<&'static str, Bytes>>,
}

impl Computed {
    pub fn metric(&self, name: &str) -> Option<&MetricValue> {
        self.metrics.iter().find(|m| m.metric == name)
    }

    /// The answer of `kind` made from this result, serialised once. `kind` must name one
    /// fixed form of answer (the API's default ones), so that this stays small.
    pub fn answer(
        &self,
        kind: &'static str,
        make: impl FnOnce(&Computed) -> Result<Bytes, WebError>,
    ) -> Result<Bytes, WebError> {
        if let Some(b) = self
            .answers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(kind)
        {
            return Ok(b.clone());
        }
        // Made outside the lock: two requests may both make it once; both answers are equal.
        let made = make(self)?;
        self.answers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(kind, made.clone());
        Ok(made)
    }
}

use crate::directory::Searchable;
pub use crate::directory::{Directory, MemberEntry};

type Flight<T> = Arc<OnceLock<Result<Arc<T>, WebError>>>;

/// One value kept for one watermark.
type Slot<T> = Mutex<Option<(i64, Flight<T>)>>;

/// The value in `slot` for `watermark`, made by `make` once (concurrent callers wait for the
/// one making it). A new watermark replaces the old value.
fn per_watermark<T>(
    slot: &Slot<T>,
    watermark: i64,
    make: impl FnOnce() -> Result<Arc<T>, WebError>,
) -> Result<Arc<T>, WebError> {
    let flight = {
        let mut slot = slot.lock().unwrap_or_else(|e| e.into_inner());
        match &*slot {
            Some((w, f)) if *w == watermark => Arc::clone(f),
            _ => {
                let f: Flight<T> = Arc::new(OnceLock::new());
                *slot = Some((watermark, Arc::clone(&f)));
                f
            }
        }
    };
    flight.get_or_init(make).clone()
}

/// The value in `slot` if it is made for `watermark`. Never blocks.
fn ready<T>(slot: &Slot<T>, watermark: i64) -> Option<Arc<T>> {
    match &*slot.lock().unwrap_or_else(|e| e.into_inner()) {
        Some((w, f)) if *w == watermark => f.get()?.as_ref().ok().cloned(),
        _ => None,
    }
}

/// Counters for `/metrics`.
#[derive(Debug, Default)]
pub struct AnalyticsStats {
    pub refreshes: AtomicU64,
    pub computations: AtomicU64,
    pub cache_hits: AtomicU64,
    pub last_refresh_ms: AtomicU64,
}

pub struct Analytics {
    store: Arc<dyn Store>,
    snapshot: RwLock<Snapshot>,
    watermark: AtomicI64,
    results: Mutex<HashMap<String, (i64, Flight<Computed>)>>,
    directory: Slot<Directory>,
    sources: Slot<Vec<SourceSummary>>,
    counts: Slot<Counts>,
    /// Whether a request asked for the member list since the last refresh.
    directory_used: std::sync::atomic::AtomicBool,
    /// Rendered page bodies by (page, selection), each with the watermark it was made at.
    pages: Mutex<HashMap<String, (i64, Arc<str>)>>,
    /// The community's name and zone, read again after [`COMMUNITY_TTL`] (they live outside
    /// the change sequence; `kith init` may change them from another process).
    community: Mutex<Option<(Instant, Arc<Community>)>>,
    pub stats: AnalyticsStats,
    /// Serialises refreshes (the background task and explicit calls after an upload).
    refreshing: Mutex<()>,
}

/// Results kept at most (selections); beyond, the cache starts over.
const MAX_RESULTS: usize = 64;
/// Rendered pages kept at most; beyond, that cache starts over.
const MAX_PAGES: usize = 64;
/// How long the community's name and time zone are trusted before being read again.
pub const COMMUNITY_TTL: Duration = Duration::from_secs(5);

impl Analytics {
    /// Builds the snapshot from the store (the cold start of SPEC §9).
    pub fn build(store: Arc<dyn Store>) -> Result<Analytics, AnalyticsError> {
        let snapshot = Snapshot::build(store.as_ref())?;
        let watermark = snapshot.watermark().0;
        Ok(Analytics {
            store,
            snapshot: RwLock::new(snapshot),
            watermark: AtomicI64::new(watermark),
            results: Mutex::new(HashMap::new()),
            directory: Mutex::new(None),
            sources: Mutex::new(None),
            counts: Mutex::new(None),
            directory_used: Default::default(),
            pages: Mutex::new(HashMap::new()),
            community: Mutex::new(None),
            stats: AnalyticsStats::default(),
            refreshing: Mutex::new(()),
        })
    }

    pub fn watermark(&self) -> i64 {
        self.watermark.load(Ordering::Acquire)
    }

    /// Reads the store's changes since the snapshot's watermark, if there are any. Blocking.
    /// Returns whether anything changed.
    pub fn refresh(&self) -> Result<bool, AnalyticsError> {
        let _one = self.refreshing.lock().unwrap_or_else(|e| e.into_inner());
        let since = Watermark(self.watermark());
        // A cheap probe first: stop at the first change, without holding the snapshot.
        let mut changed = false;
        let probe = self.store.read_changes(since, &mut |_| {
            changed = true;
            Err(StoreError::Invalid("probe: a change exists".into()))
        });
        match probe {
            Ok(_) => return Ok(false),
            Err(_) if changed => {}
            Err(e) => return Err(e.into()),
        }
        let started = Instant::now();
        let mut snap = self.snapshot.write().unwrap_or_else(|e| e.into_inner());
        snap.refresh(self.store.as_ref())?;
        self.watermark.store(snap.watermark().0, Ordering::Release);
        drop(snap);
        self.stats.refreshes.fetch_add(1, Ordering::Relaxed);
        self.stats
            .last_refresh_ms
            .store(started.elapsed().as_millis() as u64, Ordering::Relaxed);
        let current = self.watermark();
        self.results
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|_, (w, _)| *w == current);
        self.pages
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|_, (w, _)| *w == current);
        Ok(true)
    }

    /// The community's settings, read from the store at most every [`COMMUNITY_TTL`].
    /// Blocking when they are due to be read.
    pub fn community(&self) -> Result<Arc<Community>, WebError> {
        if let Some(c) = self.community_cached() {
            return Ok(c);
        }
        let c = Arc::new(self.store.community()?);
        *self.community.lock().unwrap_or_else(|e| e.into_inner()) =
            Some((Instant::now(), Arc::clone(&c)));
        Ok(c)
    }

    /// The community's settings if they were read within [`COMMUNITY_TTL`]. Never blocks.
    pub fn community_cached(&self) -> Option<Arc<Community>> {
        match &*self.community.lock().unwrap_or_else(|e| e.into_inner()) {
            Some((at, c)) if at.elapsed() < COMMUNITY_TTL => Some(Arc::clone(c)),
            _ => None,
        }
    }

    /// A page body rendered from the data at `watermark` under `key` (which must name
    /// everything else the body depends on), if one was kept. Never blocks.
    pub fn rendered(&self, key: &str, watermark: i64) -> Option<Arc<str>> {
        match self
            .pages
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
        {
            Some((w, body)) if *w == watermark => Some(Arc::clone(body)),
            _ => None,
        }
    }

    /// Keeps a page body rendered from the data at `watermark` for the next request.
    pub fn keep_rendered(&self, key: String, watermark: i64, body: String) -> Arc<str> {
        let body: Arc<str> = body.into();
        if watermark != self.watermark() {
            // Rendered from data that has moved on meanwhile: served once, not kept.
            return body;
        }
        let mut pages = self.pages.lock().unwrap_or_else(|e| e.into_inner());
        if pages.len() >= MAX_PAGES {
            pages.clear();
        }
        pages.insert(key, (watermark, Arc::clone(&body)));
        body
    }

    /// The result for `query` if it is already computed at the current watermark. Never
    /// blocks (for the request's fast path on the async threads).
    pub fn computed_cached(&self, query: &PeriodQuery, tz: chrono_tz::Tz) -> Option<Arc<Computed>> {
        let key = format!("{tz}|{}", query.to_query());
        let map = self.results.lock().unwrap_or_else(|e| e.into_inner());
        let (w, f) = map.get(&key)?;
        if *w != self.watermark() {
            return None;
        }
        let c = f.get()?.as_ref().ok().cloned()?;
        self.stats.cache_hits.fetch_add(1, Ordering::Relaxed);
        Some(c)
    }

    /// Runs `f` with the snapshot (read-locked).
    pub fn with_snapshot<R>(&self, f: impl FnOnce(&Snapshot) -> R) -> R {
        let snap = self.snapshot.read().unwrap_or_else(|e| e.into_inner());
        f(&snap)
    }

    /// Every metric for `query`, computed once per watermark. Blocking.
    pub fn computed(
        &self,
        query: &PeriodQuery,
        tz: chrono_tz::Tz,
    ) -> Result<Arc<Computed>, WebError> {
        let params = query.params(tz)?;
        let watermark = self.watermark();
        let key = format!("{tz}|{}", query.to_query());
        let flight = {
            let mut map = self.results.lock().unwrap_or_else(|e| e.into_inner());
            match map.get(&key) {
                Some((w, f)) if *w == watermark => {
                    if f.get().is_some() {
                        self.stats.cache_hits.fetch_add(1, Ordering::Relaxed);
                    }
                    Arc::clone(f)
                }
                _ => {
                    if map.len() >= MAX_RESULTS {
                        map.clear();
                    }
                    let f: Flight<Computed> = Arc::new(OnceLock::new());
                    map.insert(key, (watermark, Arc::clone(&f)));
                    f
                }
            }
        };
        flight
            .get_or_init(|| {
                self.stats.computations.fetch_add(1, Ordering::Relaxed);
                let started = Instant::now();
                self.with_snapshot(|snap| -> Result<Arc<Computed>, AnalyticsError> {
                    let resolved = Resolved::new(snap, &params)?;
                    let metrics = kith_analytics::compute_all(snap, &params)?;
                    Ok(Arc::new(Computed {
                        metrics,
                        as_of: resolved.as_of,
                        from: kith_analytics::calendar::date_of(resolved.from_day)
                            .ok_or(AnalyticsError::DateOutOfRange)?,
                        to: kith_analytics::calendar::date_of(resolved.to_day)
                            .ok_or(AnalyticsError::DateOutOfRange)?,
                        period: resolved.period,
                        watermark: snap.watermark().0,
                        millis: started.elapsed().as_millis() as u64,
                        answers: Mutex::default(),
                    }))
                })
                .map_err(WebError::from)
            })
            .clone()
    }

    /// The sources with their counts, read once per watermark (counting a source's activities
    /// scans an index: too slow to repeat on every page of a large community). Blocking.
    pub fn sources(&self) -> Result<Arc<Vec<SourceSummary>>, WebError> {
        per_watermark(&self.sources, self.watermark(), || {
            Ok(Arc::new(self.store.sources()?))
        })
    }

    /// The sources if they were read at the current watermark. Never blocks.
    pub fn sources_cached(&self) -> Option<Arc<Vec<SourceSummary>>> {
        ready(&self.sources, self.watermark())
    }

    /// The store's row counts, counted once per watermark (every count is of data in the
    /// change sequence; counting 10 million activities takes a while). Blocking.
    pub fn counts(&self) -> Result<Arc<Counts>, WebError> {
        per_watermark(&self.counts, self.watermark(), || {
            Ok(Arc::new(self.store.counts()?))
        })
    }

    /// The member list if it is built at the current watermark. Never blocks.
    pub fn directory_cached(&self) -> Option<Arc<Directory>> {
        ready(&self.directory, self.watermark())
    }

    /// The member list at the current watermark, built once per watermark. Blocking.
    pub fn directory(&self) -> Result<Arc<Directory>, WebError> {
        self.directory_used.store(true, Ordering::Relaxed);
        per_watermark(&self.directory, self.watermark(), || self.build_directory())
    }

    /// After a refresh: builds the member list for the new data if pages used it since the
    /// last refresh, so that the next visitor of a member page does not wait for it (seconds
    /// at millions of activities). Blocking; the background refresh calls it.
    pub fn warm(&self) -> Result<(), WebError> {
        if self.directory_used.swap(false, Ordering::Relaxed) {
            per_watermark(&self.directory, self.watermark(), || self.build_directory())?;
        }
        Ok(())
    }

    fn build_directory(&self) -> Result<Arc<Directory>, WebError> {
        let store = self.store.as_ref();
        let mut rows = Vec::new();
        let mut after = None;
        loop {
            let page = store.members(after, 10_000)?;
            let Some(last) = page.last() else { break };
            after = Some(last.id);
            rows.extend(
                page.into_iter()
                    .filter(|m| !m.anonymous && m.merged_into.is_none()),
            );
        }
        let mut identities: HashMap<MemberId, Vec<IdentityRow>> = HashMap::new();
        for i in store.identities()? {
            identities.entry(i.member).or_default().push(i);
        }
        let tz: chrono_tz::Tz = self
            .community()?
            .time_zone
            .parse()
            .unwrap_or(chrono_tz::UTC);
        let facts = self.with_snapshot(|snap| -> Result<_, AnalyticsError> {
            let params = Params {
                tz,
                ..Params::default()
            };
            let scope = match Scope::new(snap, &params) {
                Ok(s) => s,
                Err(AnalyticsError::NoActivity) => return Ok((HashMap::new(), 0)),
                Err(e) => return Err(e),
            };
            let mut facts = HashMap::with_capacity(scope.members());
            for m in 0..scope.members() {
                let Some(id) = snap.member_store_id(m as u32) else {
                    continue;
                };
                let (parts, _) = scope.participations(m);
                let first = scope.first_seen[m];
                facts.insert(
                    id,
                    (
                        (first != i64::MAX).then_some(first),
                        parts.last().copied(),
                        parts.len() as u32,
                    ),
                );
            }
            Ok((facts, scope.p.as_of))
        })?;
        let (facts, as_of) = facts;
        let members: Vec<Searchable> = rows
            .into_iter()
            .map(|m| {
                let ids = identities.remove(&m.id).unwrap_or_default();
                let mut sources: Vec<SourceId> = ids.iter().map(|i| i.source).collect();
                sources.sort_unstable();
                sources.dedup();
                let (first_seen, last_active, participations) =
                    facts.get(&m.id.0).copied().unwrap_or((None, None, 0));
                let name = m
                    .display_name
                    .clone()
                    .or_else(|| ids.iter().find_map(|i| i.handle.clone()))
                    .unwrap_or_else(|| format!("member {}", m.id));
                let mut texts = Vec::new();
                for i in ids {
                    texts.extend([i.name, i.handle, i.email].into_iter().flatten());
                    texts.push(i.ext_id);
                }
                Searchable {
                    entry: MemberEntry {
                        id: m.id,
                        name,
                        sources,
                        first_seen,
                        last_active,
                        participations,
                        team: m.team,
                        bot: m.bot,
                    },
                    texts,
                }
            })
            .collect();
        Ok(Arc::new(Directory::new(members, as_of)))
    }
}
