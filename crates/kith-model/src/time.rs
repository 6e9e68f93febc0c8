//! Instants as kith stores them: integer epoch seconds (what reference SQL computes with, SPEC
//! §8), the sub-second part, and the UTC offset the source wrote, so exports say what came in.

use std::fmt;

use chrono::{DateTime, FixedOffset, TimeZone, Utc};

/// An instant with the offset it was recorded in. Ordering and equality are by instant only.
#[derive(Debug, Clone, Copy)]
pub struct Timestamp {
    /// Seconds since 1970-01-01T00:00:00Z.
    pub secs: i64,
    /// Microseconds past `secs` (0..1_000_000). Finer precision in input is truncated.
    pub micros: u32,
    /// The UTC offset of the original text, in minutes (−1439..=1439).
    pub offset_min: i16,
}

/// The text is not an RFC 3339 timestamp with an offset.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{text}` is not an RFC 3339 timestamp with an offset (e.g. 2024-05-01T09:30:00Z or 2024-05-01T11:30:00+02:00)"
)]
pub struct BadTimestamp {
    pub text: String,
}

impl Timestamp {
    pub const fn from_secs(secs: i64) -> Timestamp {
        Timestamp {
            secs,
            micros: 0,
            offset_min: 0,
        }
    }

    /// From epoch microseconds, in UTC.
    pub const fn from_micros(us: i64) -> Timestamp {
        Timestamp {
            secs: us.div_euclid(1_000_000),
            micros: us.rem_euclid(1_000_000) as u32,
            offset_min: 0,
        }
    }

    pub const fn as_micros(&self) -> i64 {
        self.secs * 1_000_000 + self.micros as i64
    }

    pub fn parse_rfc3339(text: &str) -> Result<Timestamp, BadTimestamp> {
        let dt = DateTime::parse_from_rfc3339(text).map_err(|_| BadTimestamp {
            text: text.to_owned(),
        })?;
        Ok(Timestamp::from_datetime(&dt))
    }

    pub fn from_datetime<Tz: TimeZone>(dt: &DateTime<Tz>) -> Timestamp {
        use chrono::Offset;
        let offset_secs = dt.offset().fix().local_minus_utc();
        Timestamp {
            secs: dt.timestamp(),
            micros: dt.timestamp_subsec_micros().min(999_999),
            offset_min: (offset_secs / 60) as i16,
        }
    }

    pub fn to_utc(&self) -> Option<DateTime<Utc>> {
        Utc.timestamp_opt(self.secs, self.micros * 1000).single()
    }

    /// RFC 3339 text in the original offset: `Z` for UTC, fraction only when non-zero
    /// (milliseconds when that is exact, else microseconds).
    pub fn to_rfc3339(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let offset = FixedOffset::east_opt(i32::from(self.offset_min) * 60)
            .unwrap_or_else(|| FixedOffset::east_opt(0).expect("zero offset is valid"));
        let Some(dt) = offset.timestamp_opt(self.secs, self.micros * 1000).single() else {
            // Out of chrono's range: still print something faithful rather than fail.
            return write!(f, "@{}.{:06}", self.secs, self.micros);
        };
        write!(f, "{}", dt.format("%Y-%m-%dT%H:%M:%S"))?;
        if self.micros != 0 {
            if self.micros.is_multiple_of(1000) {
                write!(f, ".{:03}", self.micros / 1000)?;
            } else {
                write!(f, ".{:06}", self.micros)?;
            }
        }
        if self.offset_min == 0 {
            f.write_str("Z")
        } else {
            let m = i32::from(self.offset_min);
            let sign = if m < 0 { '-' } else { '+' };
            write!(f, "{sign}{:02}:{:02}", m.abs() / 60, m.abs() % 60)
        }
    }
}

impl PartialEq for Timestamp {
    fn eq(&self, other: &Self) -> bool {
        self.as_micros() == other.as_micros()
    }
}
impl Eq for Timestamp {}
impl PartialOrd for Timestamp {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Timestamp {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_micros().cmp(&other.as_micros())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_offset_and_fraction_through_text() {
        for text in [
            "2024-05-01T09:30:00Z",
            "2024-05-01T11:30:00+02:00",
            "2024-05-01T11:30:00.250+02:00",
            "2015-06-12T03:04:05.123456-05:30",
        ] {
            let ts = Timestamp::parse_rfc3339(text).unwrap();
            assert_eq!(ts.to_string(), text);
        }
    }

    #[test]
    fn equal_instants_in_different_offsets_are_equal() {
        let a = Timestamp::parse_rfc3339("2024-05-01T09:30:00Z").unwrap();
        let b = Timestamp::parse_rfc3339("2024-05-01T11:30:00+02:00").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.secs, 1_714_555_800);
    }

    #[test]
    fn rejects_text_without_offset() {
        assert!(Timestamp::parse_rfc3339("2024-05-01T09:30:00").is_err());
        assert!(Timestamp::parse_rfc3339("yesterday").is_err());
    }

    #[test]
    fn negative_epochs_split_correctly() {
        let ts = Timestamp::from_micros(-1);
        assert_eq!((ts.secs, ts.micros), (-1, 999_999));
        assert_eq!(ts.as_micros(), -1);
    }
}
