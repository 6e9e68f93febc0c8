//! Local calendar days in the community's time zone, and the period buckets (day, ISO week,
//! month, quarter) reports group them into. The same calendar is emitted as the SQL table
//! `kith_calendar` that reference SQL joins (SPEC §8: no dialect date functions, no integer
//! division), so the fast engine and the SQL bucket every instant identically.

use chrono::{Datelike, NaiveDate, TimeZone};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::AnalyticsError;

/// Days from 0001-01-01 (chrono's day 1 of the common era) to 1970-01-01.
const EPOCH_CE_DAYS: i32 = 719_163;
/// A calendar longer than this (about 270 years) is refused: timestamps that far apart are a
/// data error, and the calendar table would be large.
pub const MAX_DAYS: i32 = 100_000;

/// The calendar period reports bucket by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Period {
    Day,
    /// ISO week, starting Monday.
    Week,
    #[default]
    Month,
    Quarter,
}

impl Period {
    pub const ALL: [Period; 4] = [Period::Day, Period::Week, Period::Month, Period::Quarter];

    pub fn as_str(self) -> &'static str {
        match self {
            Period::Day => "day",
            Period::Week => "week",
            Period::Month => "month",
            Period::Quarter => "quarter",
        }
    }

    pub fn parse(s: &str) -> Option<Period> {
        Period::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

/// A local day as a number: days since 1970-01-01 in the calendar's zone.
pub type DayNo = i32;

/// A local date's day number.
pub fn day_no(date: NaiveDate) -> DayNo {
    date.num_days_from_ce() - EPOCH_CE_DAYS
}

/// The date of a day number (`None` outside chrono's range).
pub fn date_of(day: DayNo) -> Option<NaiveDate> {
    NaiveDate::from_num_days_from_ce_opt(day.checked_add(EPOCH_CE_DAYS)?)
}

/// The ordinal of the bucket a day falls in: consecutive buckets have consecutive ordinals, so
/// "the previous period" is `ordinal - 1` in Rust and in SQL alike.
pub fn bucket_no(period: Period, day: DayNo) -> i64 {
    match period {
        Period::Day => i64::from(day),
        // 1970-01-01 was a Thursday: shifting by 3 puts Mondays on multiples of 7.
        Period::Week => (i64::from(day) + 3).div_euclid(7),
        Period::Month => year_month0(day).map_or(0, |(y, m0)| y * 12 + m0),
        Period::Quarter => year_month0(day).map_or(0, |(y, m0)| y * 4 + m0 / 3),
    }
}

/// The proleptic Gregorian year and zero-based month of a day number, by integer arithmetic
/// (the metrics bucket every participation; a `NaiveDate` per call was 2 % of a report).
/// `None` where [`date_of`] has no date, so the two agree on every day (tested exhaustively
/// over ±1,000,000 days and at chrono's limits).
///
/// Days are counted in 400-year eras (146,097 days) of years starting on 1 March, so the
/// leap day ends its year: day of era → year of era → day of year → month from March.
#[inline]
pub fn year_month0(day: DayNo) -> Option<(i64, i64)> {
    if !(MIN_DAY..=MAX_DAY).contains(&day) {
        return None;
    }
    // Days since 0000-03-01.
    let z = i64::from(day) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    // Month from March (0..=11), then from January.
    let mp = (5 * doy + 2) / 153;
    let m0 = if mp < 10 { mp + 2 } else { mp - 10 };
    let year = yoe + era * 400 + i64::from(m0 < 2);
    Some((year, m0))
}

/// The first and last day numbers chrono has a date for (-262143-01-01 and +262142-12-31;
/// tested against `NaiveDate::MIN` and `MAX`).
const MIN_DAY: DayNo = -96_465_292;
const MAX_DAY: DayNo = 95_026_236;

/// The label of a day's bucket: `2024-05-01`, `2024-W18` (ISO week-year), `2024-05`, `2024-Q2`.
pub fn bucket_label(period: Period, day: DayNo) -> String {
    let Some(d) = date_of(day) else {
        return String::new();
    };
    match period {
        Period::Day => format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day()),
        Period::Week => {
            let w = d.iso_week();
            format!("{:04}-W{:02}", w.year(), w.week())
        }
        Period::Month => format!("{:04}-{:02}", d.year(), d.month()),
        Period::Quarter => format!("{:04}-Q{}", d.year(), d.month0() / 3 + 1),
    }
}

/// The start of a local day: local midnight, or the first instant of the day when midnight falls
/// in a daylight-saving gap (some zones switch at midnight).
fn local_day_start(tz: Tz, day: DayNo) -> Result<i64, AnalyticsError> {
    let date = date_of(day).ok_or(AnalyticsError::DateOutOfRange)?;
    for minutes in (0..24 * 60).step_by(15) {
        let local = date
            .and_hms_opt(0, 0, 0)
            .ok_or(AnalyticsError::DateOutOfRange)?
            + chrono::Duration::minutes(minutes);
        if let Some(t) = tz.from_local_datetime(&local).earliest() {
            return Ok(t.timestamp());
        }
    }
    Err(AnalyticsError::DateOutOfRange)
}

/// The local day number of an instant in a zone (no calendar needed).
pub fn day_of_instant(tz: Tz, ts: i64) -> Result<DayNo, AnalyticsError> {
    let t = tz
        .timestamp_opt(ts, 0)
        .single()
        .ok_or(AnalyticsError::DateOutOfRange)?;
    Ok(day_no(t.date_naive()))
}

/// A contiguous run of local days `first ..= last` with their start instants.
#[derive(Debug, Clone)]
pub struct Calendar {
    tz: Tz,
    period: Period,
    first: DayNo,
    /// `starts[i]` is the first instant of day `first + i`; one extra entry ends the last day.
    starts: Vec<i64>,
    /// `buckets[i]` and `months[i]`: the bucket ordinal in `period` and the month ordinal of
    /// day `first + i` (the metrics ask for every participation's; a table of a few thousand
    /// entries stays in the cache).
    buckets: Vec<i64>,
    months: Vec<i64>,
}

/// One row of `kith_calendar`.
#[derive(Debug, Clone, PartialEq)]
pub struct CalendarRow {
    pub day_start: i64,
    pub day_end: i64,
    pub day: String,
    pub week: String,
    pub month: String,
    pub quarter: String,
    pub day_no: i64,
    pub week_no: i64,
    pub month_no: i64,
    pub quarter_no: i64,
    pub period: String,
    pub period_no: i64,
}

impl Calendar {
    /// The days `first ..= last` in `tz`, bucketed by `period`.
    pub fn new(
        tz: Tz,
        period: Period,
        first: DayNo,
        last: DayNo,
    ) -> Result<Calendar, AnalyticsError> {
        if last < first || last - first > MAX_DAYS {
            return Err(AnalyticsError::CalendarTooLong {
                days: i64::from(last) - i64::from(first) + 1,
            });
        }
        let mut starts = Vec::with_capacity((last - first + 2) as usize);
        for d in first..=last + 1 {
            starts.push(local_day_start(tz, d)?);
        }
        let buckets = (first..=last).map(|d| bucket_no(period, d)).collect();
        let months = (first..=last)
            .map(|d| bucket_no(Period::Month, d))
            .collect();
        Ok(Calendar {
            tz,
            period,
            first,
            starts,
            buckets,
            months,
        })
    }

    pub fn tz(&self) -> Tz {
        self.tz
    }

    pub fn period(&self) -> Period {
        self.period
    }

    pub fn first_day(&self) -> DayNo {
        self.first
    }

    pub fn last_day(&self) -> DayNo {
        self.first + self.starts.len() as i32 - 2
    }

    /// The first instant of the calendar.
    pub fn start(&self) -> i64 {
        self.starts[0]
    }

    /// The first instant after the calendar.
    pub fn end(&self) -> i64 {
        self.starts[self.starts.len() - 1]
    }

    /// The first instant of `day`, when it is in the calendar (or the end of the calendar for
    /// `last_day + 1`).
    pub fn day_start(&self, day: DayNo) -> Option<i64> {
        let i = usize::try_from(day.checked_sub(self.first)?).ok()?;
        self.starts.get(i).copied()
    }

    /// The local day of an instant, `None` outside the calendar.
    ///
    /// Days are 23 to 25 hours long, so a guess from 24-hour days is off by at most one day
    /// over any span; it is corrected against the day starts (no search).
    #[inline]
    pub fn day_of(&self, ts: i64) -> Option<DayNo> {
        let n = self.starts.len() - 1;
        if ts < self.starts[0] || ts >= self.starts[n] {
            return None;
        }
        let mut i = ((ts - self.starts[0]) / 86_400) as usize;
        if i >= n {
            i = n - 1;
        }
        while ts < self.starts[i] {
            i -= 1;
        }
        while ts >= self.starts[i + 1] {
            i += 1;
        }
        Some(self.first + i as i32)
    }

    /// The bucket ordinal of a day in the calendar's period.
    #[inline]
    pub fn bucket(&self, day: DayNo) -> i64 {
        match self.index(day).and_then(|i| self.buckets.get(i)) {
            Some(&b) => b,
            None => bucket_no(self.period, day),
        }
    }

    /// The month ordinal of a day (`bucket_no(Period::Month, day)`).
    #[inline]
    pub fn month(&self, day: DayNo) -> i64 {
        match self.index(day).and_then(|i| self.months.get(i)) {
            Some(&m) => m,
            None => bucket_no(Period::Month, day),
        }
    }

    /// Where a day of the calendar is in its tables.
    #[inline]
    fn index(&self, day: DayNo) -> Option<usize> {
        usize::try_from(i64::from(day) - i64::from(self.first)).ok()
    }

    /// The first and last day of the calendar period with ordinal `bucket` that lie in the
    /// calendar.
    pub fn bucket_days(&self, bucket: i64) -> Option<(DayNo, DayNo)> {
        let mut range: Option<(DayNo, DayNo)> = None;
        // Buckets are at most 92 days; find one day of the bucket by stepping from its estimate.
        for d in self.first..=self.last_day() {
            if self.bucket(d) == bucket {
                range = Some(match range {
                    None => (d, d),
                    Some((a, _)) => (a, d),
                });
            } else if range.is_some() {
                break;
            }
        }
        range
    }

    /// The rows of `kith_calendar`, one per day.
    pub fn rows(&self) -> impl Iterator<Item = CalendarRow> + '_ {
        (0..self.starts.len() - 1).map(move |i| {
            let d = self.first + i as i32;
            CalendarRow {
                day_start: self.starts[i],
                day_end: self.starts[i + 1],
                day: bucket_label(Period::Day, d),
                week: bucket_label(Period::Week, d),
                month: bucket_label(Period::Month, d),
                quarter: bucket_label(Period::Quarter, d),
                day_no: i64::from(d),
                week_no: bucket_no(Period::Week, d),
                month_no: bucket_no(Period::Month, d),
                quarter_no: bucket_no(Period::Quarter, d),
                period: bucket_label(self.period, d),
                period_no: bucket_no(self.period, d),
            }
        })
    }

    /// `CREATE TABLE kith_calendar (...)`, the same text on SQLite, DuckDB and PostgreSQL.
    pub const CREATE_TABLE: &'static str = "CREATE TABLE kith_calendar (day_start BIGINT, day_end BIGINT, day TEXT, \
         week TEXT, month TEXT, quarter TEXT, day_no BIGINT, week_no BIGINT, month_no BIGINT, quarter_no BIGINT, \
         period TEXT, period_no BIGINT)";

    /// The calendar as SQL: the table and `INSERT` statements of up to 500 rows each.
    pub fn to_sql(&self) -> String {
        let mut out = String::with_capacity(self.starts.len() * 120);
        out.push_str(Self::CREATE_TABLE);
        out.push_str(";\n");
        let rows: Vec<CalendarRow> = self.rows().collect();
        for chunk in rows.chunks(500) {
            out.push_str("INSERT INTO kith_calendar VALUES\n");
            for (i, r) in chunk.iter().enumerate() {
                if i > 0 {
                    out.push_str(",\n");
                }
                out.push_str(&format!(
                    "({}, {}, '{}', '{}', '{}', '{}', {}, {}, {}, {}, '{}', {})",
                    r.day_start,
                    r.day_end,
                    r.day,
                    r.week,
                    r.month,
                    r.quarter,
                    r.day_no,
                    r.week_no,
                    r.month_no,
                    r.quarter_no,
                    r.period,
                    r.period_no
                ));
            }
            out.push_str(";\n");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> DayNo {
        day_no(NaiveDate::from_ymd_opt(y, m, d).unwrap())
    }

    #[test]
    fn the_calendars_tables_agree_with_the_bucket_functions_inside_and_outside() {
        for period in Period::ALL {
            let cal = Calendar::new(Tz::UTC, period, day(2023, 12, 25), day(2025, 1, 7)).unwrap();
            for d in day(2023, 11, 1)..day(2025, 3, 1) {
                assert_eq!(cal.bucket(d), bucket_no(period, d), "{period:?} {d}");
                assert_eq!(cal.month(d), bucket_no(Period::Month, d), "{d}");
            }
            for d in [DayNo::MIN, DayNo::MAX] {
                assert_eq!(cal.bucket(d), bucket_no(period, d));
            }
        }
    }

    #[test]
    fn integer_months_agree_with_chrono_on_every_day() {
        let check = |d: DayNo| {
            let want = date_of(d).map(|x| (i64::from(x.year()), i64::from(x.month0())));
            assert_eq!(year_month0(d), want, "day {d}");
        };
        (-1_000_000..=1_000_000).for_each(check);
        assert_eq!(MIN_DAY, day_no(NaiveDate::MIN));
        assert_eq!(MAX_DAY, day_no(NaiveDate::MAX));
        for d in [MIN_DAY, MIN_DAY + 1, MAX_DAY - 1, MAX_DAY] {
            check(d);
            assert!(year_month0(d).is_some());
        }
        for d in [MIN_DAY - 1, MAX_DAY + 1, DayNo::MIN, DayNo::MAX] {
            check(d);
        }
        // 2024-02-29, 2024-03-01, 1970-01-01, 1969-12-31, 2000-12-31.
        assert_eq!(year_month0(day(2024, 2, 29)), Some((2024, 1)));
        assert_eq!(year_month0(day(2024, 3, 1)), Some((2024, 2)));
        assert_eq!(year_month0(0), Some((1970, 0)));
        assert_eq!(year_month0(-1), Some((1969, 11)));
        assert_eq!(year_month0(day(2000, 12, 31)), Some((2000, 11)));
    }

    #[test]
    fn weeks_start_monday_and_carry_the_iso_week_year() {
        // 2024-12-30 is a Monday in ISO week 2025-W01.
        let mon = day(2024, 12, 30);
        assert_eq!(bucket_label(Period::Week, mon), "2025-W01");
        assert_eq!(
            bucket_no(Period::Week, mon),
            bucket_no(Period::Week, mon + 6)
        );
        assert_eq!(
            bucket_no(Period::Week, mon) - 1,
            bucket_no(Period::Week, mon - 1)
        );
        assert_eq!(bucket_label(Period::Week, mon - 1), "2024-W52");
        assert_eq!(bucket_label(Period::Quarter, mon), "2024-Q4");
        assert_eq!(
            bucket_no(Period::Quarter, mon) + 1,
            bucket_no(Period::Quarter, mon + 2)
        );
        assert_eq!(
            bucket_no(Period::Month, mon) + 1,
            bucket_no(Period::Month, mon + 2)
        );
    }

    #[test]
    fn local_days_follow_the_zone_across_daylight_saving() {
        let tz: Tz = "Europe/Paris".parse().unwrap();
        // 2024-03-31 is 23 hours long in Paris; 2024-10-27 is 25.
        let cal = Calendar::new(tz, Period::Day, day(2024, 3, 30), day(2024, 10, 28)).unwrap();
        let d = day(2024, 3, 31);
        let start = cal.day_start(d).unwrap();
        assert_eq!(start, 1_711_839_600); // 2024-03-30T23:00:00Z
        assert_eq!(cal.day_start(d + 1).unwrap() - start, 23 * 3600);
        assert_eq!(cal.day_of(start), Some(d));
        assert_eq!(cal.day_of(start - 1), Some(d - 1));
        let oct = day(2024, 10, 27);
        assert_eq!(
            cal.day_start(oct + 1).unwrap() - cal.day_start(oct).unwrap(),
            25 * 3600
        );
        for ts in (cal.start()..cal.end()).step_by(1789) {
            assert_eq!(
                cal.day_of(ts),
                Some(day_of_instant(tz, ts).unwrap()),
                "{ts}"
            );
        }
        assert_eq!(cal.day_of(cal.end()), None);
        assert_eq!(cal.day_of(cal.start() - 1), None);
    }

    #[test]
    fn a_midnight_gap_starts_the_day_at_its_first_instant() {
        // America/Santiago moved from -04 to -03 at midnight on 2024-09-08: 00:00 did not exist.
        let tz: Tz = "America/Santiago".parse().unwrap();
        let d = day(2024, 9, 8);
        let cal = Calendar::new(tz, Period::Day, d, d).unwrap();
        assert_eq!(cal.day_start(d).unwrap(), 1_725_768_000); // 2024-09-08T01:00-03:00 = 04:00Z
    }

    #[test]
    fn the_sql_calendar_has_one_row_per_day() {
        let cal = Calendar::new(
            chrono_tz::UTC,
            Period::Week,
            day(2024, 1, 1),
            day(2024, 1, 3),
        )
        .unwrap();
        let sql = cal.to_sql();
        assert!(sql.starts_with(Calendar::CREATE_TABLE));
        assert!(
            sql.contains("(1704067200, 1704153600, '2024-01-01', '2024-W01', '2024-01', '2024-Q1'")
        );
        assert_eq!(cal.rows().count(), 3);
    }
}
