//! Report parameters (SPEC §4.0, §7 `report`) and their resolution against a snapshot: the
//! as-of instant, the day range, the calendar, the source and channel filters, and the integer
//! parameters every reference query is bound with.

use chrono::NaiveDate;
use chrono_tz::Tz;
use serde::Serialize;

use crate::AnalyticsError;
use crate::calendar::{self, Calendar, DayNo, Period, bucket_no, day_no};
pub use crate::levels::{LevelParams, Milestone, Weights};
pub use crate::network::NetworkParams;
use crate::snapshot::Snapshot;

/// What the user asked for. Every field has the SPEC default.
#[derive(Debug, Clone)]
pub struct Params {
    /// "Now" for every metric, epoch seconds. Default: the latest activity of any kind in
    /// scope (after source/channel filters, team and bots included).
    pub as_of: Option<i64>,
    /// First local day of the report range. Default: 89 days before `to` (90 days in all).
    pub from: Option<NaiveDate>,
    /// Last local day of the report range (inclusive). Default: the local day of as-of.
    pub to: Option<NaiveDate>,
    pub period: Period,
    /// Calendar days, weeks and months are in this zone; elapsed spans are 24-hour days.
    pub tz: Tz,
    /// Source names; empty = all.
    pub sources: Vec<String>,
    /// Channel platform ids (in any source); empty = all.
    pub channels: Vec<String>,
    pub include_team: bool,
    pub include_bots: bool,
    /// Resurrected: a participation after at least this many days without one.
    pub inactive_days: i64,
    /// Inactive contributors (CHAOSS): a contributor with no participation in this many days
    /// before a period's end is inactive at that period.
    pub inactive_interval_days: i64,
    /// Engagement levels (SPEC §4.3): weights, milestones, look-back and hold.
    pub levels: LevelParams,
    /// The interaction network (SPEC §4.7): decay, connection threshold, sampling.
    pub network: NetworkParams,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            as_of: None,
            from: None,
            to: None,
            period: Period::Month,
            tz: chrono_tz::UTC,
            sources: Vec::new(),
            channels: Vec::new(),
            include_team: false,
            include_bots: false,
            inactive_days: 90,
            inactive_interval_days: 90,
            levels: LevelParams::default(),
            network: NetworkParams::default(),
        }
    }
}

/// Parameters made concrete for one snapshot.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub as_of: i64,
    pub from_day: DayNo,
    pub to_day: DayNo,
    /// First instant of `from_day`, first instant after `to_day`.
    pub from_ts: i64,
    pub to_ts: i64,
    pub period: Period,
    /// Covers the period before the first reported one (for "previous period" comparisons)
    /// through the end of the period and month that hold `to` and as-of.
    pub calendar: Calendar,
    /// Bucket ordinals of `from_day` and `to_day`.
    pub first_period: i64,
    pub last_period: i64,
    pub first_month: i64,
    pub last_month: i64,
    pub include_team: bool,
    pub include_bots: bool,
    pub inactive_days: i64,
    pub inactive_interval_days: i64,
    pub levels: LevelParams,
    pub network: NetworkParams,
    /// By dense source index; `None` = all sources.
    pub source_filter: Option<Vec<bool>>,
    /// By dense channel index; `None` = all channels.
    pub channel_filter: Option<Vec<bool>>,
    /// Store ids selected by the filters (for the SQL filter tables).
    pub source_store_ids: Vec<i64>,
    pub channel_store_ids: Vec<i64>,
}

/// The integer parameters of reference SQL, by name (`:as_of` etc.).
#[derive(Debug, Clone, Serialize)]
pub struct SqlParams(pub Vec<(&'static str, i64)>);

impl Resolved {
    /// Resolves `params` against the snapshot.
    pub fn new(snap: &Snapshot, params: &Params) -> Result<Resolved, AnalyticsError> {
        let source_filter = if params.sources.is_empty() {
            None
        } else {
            let mut keep = vec![false; snap.sources().len()];
            for name in &params.sources {
                let mut found = false;
                for (i, s) in snap.sources().iter().enumerate() {
                    if !s.removed && &s.name == name {
                        keep[i] = true;
                        found = true;
                    }
                }
                if !found {
                    let known: Vec<&str> = snap
                        .sources()
                        .iter()
                        .filter(|s| !s.removed)
                        .map(|s| s.name.as_str())
                        .collect();
                    return Err(AnalyticsError::UnknownSource {
                        name: name.clone(),
                        known: known.join(", "),
                    });
                }
            }
            Some(keep)
        };
        let channel_filter = if params.channels.is_empty() {
            None
        } else {
            let mut keep = vec![false; snap.channels().len()];
            for name in &params.channels {
                let mut found = false;
                for (i, c) in snap.channels().iter().enumerate() {
                    if !c.removed && &c.ext_id == name {
                        keep[i] = true;
                        found = true;
                    }
                }
                if !found {
                    return Err(AnalyticsError::UnknownChannel(name.clone()));
                }
            }
            Some(keep)
        };

        // The default as-of: latest live activity in scope, team and bots included.
        let as_of = match params.as_of {
            Some(t) => t,
            None => {
                // A pass over every slot before any other can start: on every core.
                let (sources, channels) = (&source_filter, &channel_filter);
                crate::par::runs(snap.slots(), 1 << 16, |run| {
                    let mut latest: Option<i64> = None;
                    for slot in run {
                        if snap.flags[slot] != 0 {
                            continue;
                        }
                        if let Some(f) = sources
                            && !f[snap.source[slot] as usize]
                        {
                            continue;
                        }
                        if let Some(f) = channels {
                            let c = snap.channel[slot];
                            if c == crate::snapshot::NONE || !f[c as usize] {
                                continue;
                            }
                        }
                        let t = snap.ts[slot];
                        latest = Some(latest.map_or(t, |l| l.max(t)));
                    }
                    latest
                })
                .into_iter()
                .flatten()
                .max()
                .ok_or(AnalyticsError::NoActivity)?
            }
        };
        let tz = params.tz;
        let as_of_day = calendar::day_of_instant(tz, as_of)?;
        let to_day = params.to.map_or(as_of_day, day_no);
        let from_day = params.from.map_or(to_day - 89, day_no);
        if from_day > to_day {
            return Err(AnalyticsError::EmptyRange);
        }
        let period = params.period;
        let first_period = bucket_no(period, from_day);
        let last_period = bucket_no(period, to_day);
        // Calendar start: the first day of the bucket before `from`'s bucket, and no later than
        // the first day of `from`'s month (cohorts are months).
        let mut start = first_day_of_bucket(period, from_day) - 1;
        start = first_day_of_bucket(period, start);
        start = start.min(first_day_of_bucket(Period::Month, from_day));
        // Calendar end: the last day of the period bucket and of the month holding the later of
        // `to` and as-of, so that "has this period ended" is answered from whole periods.
        let late = to_day.max(as_of_day);
        let end = last_day_of_bucket(period, late).max(last_day_of_bucket(Period::Month, late));
        let calendar = Calendar::new(tz, period, start, end)?;
        let from_ts = calendar
            .day_start(from_day)
            .ok_or(AnalyticsError::DateOutOfRange)?;
        let to_ts = calendar
            .day_start(to_day + 1)
            .ok_or(AnalyticsError::DateOutOfRange)?;

        let source_store_ids = match &source_filter {
            Some(f) => snap
                .sources()
                .iter()
                .zip(f)
                .filter(|(_, k)| **k)
                .map(|(s, _)| s.store_id)
                .collect(),
            None => Vec::new(),
        };
        let channel_store_ids = match &channel_filter {
            Some(f) => snap
                .channels()
                .iter()
                .zip(f)
                .filter(|(_, k)| **k)
                .map(|(c, _)| c.store_id)
                .collect(),
            None => Vec::new(),
        };
        Ok(Resolved {
            as_of,
            from_day,
            to_day,
            from_ts,
            to_ts,
            period,
            calendar,
            first_period,
            last_period,
            first_month: bucket_no(Period::Month, from_day),
            last_month: bucket_no(Period::Month, to_day),
            include_team: params.include_team,
            include_bots: params.include_bots,
            inactive_days: params.inactive_days,
            inactive_interval_days: params.inactive_interval_days,
            levels: params.levels.clone(),
            network: params.network.clone(),
            source_filter,
            channel_filter,
            source_store_ids,
            channel_store_ids,
        })
    }

    /// The integer parameters reference SQL is bound with.
    pub fn sql_params(&self) -> SqlParams {
        SqlParams(vec![
            ("as_of", self.as_of),
            ("from_ts", self.from_ts),
            ("to_ts", self.to_ts),
            ("first_period", self.first_period),
            ("last_period", self.last_period),
            ("first_month", self.first_month),
            ("last_month", self.last_month),
            ("include_team", i64::from(self.include_team)),
            ("include_bots", i64::from(self.include_bots)),
            ("inactive_days", self.inactive_days),
            ("inactive_interval_days", self.inactive_interval_days),
            ("filter_sources", i64::from(self.source_filter.is_some())),
            ("filter_channels", i64::from(self.channel_filter.is_some())),
        ])
    }
}

fn first_day_of_bucket(period: Period, day: DayNo) -> DayNo {
    let b = bucket_no(period, day);
    let mut d = day;
    while bucket_no(period, d - 1) == b {
        d -= 1;
    }
    d
}

fn last_day_of_bucket(period: Period, day: DayNo) -> DayNo {
    let b = bucket_no(period, day);
    let mut d = day;
    while bucket_no(period, d + 1) == b {
        d += 1;
    }
    d
}

impl SqlParams {
    /// Replaces every `:name` in `sql` with its integer. Errors on a name it does not know, so
    /// a typo in a query fails loudly instead of running with a missing filter.
    pub fn bind(&self, sql: &str) -> Result<String, AnalyticsError> {
        let bytes = sql.as_bytes();
        let mut out = String::with_capacity(sql.len());
        let mut i = 0;
        let mut last = 0;
        let mut quoted = false;
        while i < bytes.len() {
            if bytes[i] == b'\'' {
                // Text literals ('author:newcomer') are copied as they are.
                quoted = !quoted;
                i += 1;
            } else if !quoted
                && bytes[i] == b':'
                && i + 1 < bytes.len()
                && (bytes[i + 1].is_ascii_alphabetic() || bytes[i + 1] == b'_')
            {
                let start = i + 1;
                let mut j = start;
                while j < bytes.len() && (bytes[j].is_ascii_alphanumeric() || bytes[j] == b'_') {
                    j += 1;
                }
                let name = &sql[start..j];
                let value = self
                    .0
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| *v)
                    .ok_or_else(|| AnalyticsError::UnknownSqlParameter(name.to_owned()))?;
                out.push_str(&sql[last..i]);
                // Parenthesised so that `- :x` with a negative value stays valid.
                out.push_str(&format!("({value})"));
                i = j;
                last = j;
            } else {
                i += 1;
            }
        }
        out.push_str(&sql[last..]);
        Ok(out)
    }
}
