//! `Date:` headers as real mail carries them, read leniently: RFC 5322 with or without the
//! weekday, seconds or zone, zone names (`GMT`, `EDT`, ...), comments (`(CEST)`), two-digit
//! years, asctime (`Tue Jun  2 10:00:00 2015`) and ISO 8601. A missing zone is read as UTC.
//! Anything else is `None`: the message is skipped and listed in the audit.

use chrono::{Datelike, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone};
use kith_model::Timestamp;

use super::envelope::MONTHS;

pub(crate) fn parse_date(raw: &str) -> Option<Timestamp> {
    let text = strip_comments(raw);
    // Commas separate like spaces. Only the first six tokens matter to the RFC 5322 and
    // asctime forms (weekday, four date-time tokens, zone); ISO 8601 reads them all.
    let mut words = text
        .split(|c: char| c.is_ascii_whitespace() || c == ',')
        .filter(|t| !t.is_empty());
    let mut head: [&str; 6] = [""; 6];
    let mut count = 0;
    for (slot, word) in head.iter_mut().zip(&mut words) {
        *slot = word;
        count += 1;
    }
    let tokens = &head[..count];
    let first = tokens.first()?;
    if first.len() >= 8
        && first.as_bytes()[4] == b'-'
        && first.bytes().next().is_some_and(|b| b.is_ascii_digit())
    {
        let all: Vec<&str> = tokens.iter().copied().chain(words).collect();
        return parse_iso(&all);
    }
    let mut t: &[&str] = tokens;
    if t.first()
        .is_some_and(|w| w.bytes().all(|b| b.is_ascii_alphabetic()) && month(w).is_none())
    {
        t = &t[1..]; // weekday
    }
    let (date, time, rest) = match t {
        // 2 Jun 2015 10:00:00 ...
        [d, m, y, time, rest @ ..] if month(m).is_some() => {
            ((year(y)?, month(m)?, day(d)?), *time, rest)
        }
        // Jun 2 10:00:00 2015 ... (asctime)
        [m, d, time, y, rest @ ..] if month(m).is_some() && time.contains(':') => {
            ((year(y)?, month(m)?, day(d)?), *time, rest)
        }
        // Jun 2 2015 10:00:00 ...
        [m, d, y, time, rest @ ..] if month(m).is_some() => {
            ((year(y)?, month(m)?, day(d)?), *time, rest)
        }
        _ => return None,
    };
    let time = parse_time(time)?;
    let offset = match rest.first() {
        Some(z) => zone(z)?,
        None => 0,
    };
    build(date, time, offset)
}

fn strip_comments(raw: &str) -> std::borrow::Cow<'_, str> {
    if !raw.contains('(') {
        // Nothing opens a comment: a `)` alone is kept as it is.
        return std::borrow::Cow::Borrowed(raw);
    }
    let mut out = String::with_capacity(raw.len());
    let mut depth = 0usize;
    for c in raw.chars() {
        match c {
            '(' => depth += 1,
            ')' if depth > 0 => depth -= 1,
            c if depth == 0 => out.push(c),
            _ => {}
        }
    }
    std::borrow::Cow::Owned(out)
}

fn month(t: &str) -> Option<u32> {
    let prefix = t.get(..3)?;
    let i = MONTHS.iter().position(|m| m.eq_ignore_ascii_case(prefix))?;
    (t.len() == 3 || t.len() > 3 && t.bytes().all(|b| b.is_ascii_alphabetic() || b == b'.'))
        .then_some(i as u32 + 1)
}

fn day(t: &str) -> Option<u32> {
    let d: u32 = t.parse().ok()?;
    (1..=31).contains(&d).then_some(d)
}

fn year(t: &str) -> Option<i32> {
    if t.is_empty() || t.len() > 4 || !t.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let y: i32 = t.parse().ok()?;
    Some(match t.len() {
        1 | 2 if y < 50 => 2000 + y,
        1 | 2 => 1900 + y,
        3 => 1900 + y,
        _ => y,
    })
}

/// `HH:MM`, `HH:MM:SS`, `HH:MM:SS.frac`; a leap second reads as :59.
fn parse_time(t: &str) -> Option<(u32, u32, u32)> {
    let mut parts = t.split(':');
    let h: u32 = parts.next()?.parse().ok()?;
    let m: u32 = parts.next()?.parse().ok()?;
    let s: u32 = match parts.next() {
        Some(s) => s.split('.').next()?.parse().ok()?,
        None => 0,
    };
    if parts.next().is_some() || h > 23 || m > 59 || s > 60 {
        return None;
    }
    Some((h, m, s.min(59)))
}

/// The zone's offset east of UTC in seconds.
fn zone(z: &str) -> Option<i32> {
    if let Some(sign) = z.chars().next().filter(|c| *c == '+' || *c == '-') {
        let digits: String = z[1..].chars().filter(|c| *c != ':').collect();
        if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let h: i32 = digits[..2].parse().ok()?;
        let m: i32 = digits[2..].parse().ok()?;
        if h > 23 || m > 59 {
            return None;
        }
        let secs = h * 3600 + m * 60;
        return Some(if sign == '-' { -secs } else { secs });
    }
    let hours = match z.to_ascii_uppercase().as_str() {
        "UT" | "UTC" | "GMT" | "Z" | "WET" => 0,
        "EST" => -5,
        "EDT" | "AST" => -4,
        "CST" => -6,
        "CDT" => -5,
        "MST" => -7,
        "MDT" => -6,
        "PST" => -8,
        "PDT" => -7,
        "CET" | "MET" | "BST" | "WEST" => 1,
        "CEST" | "MEST" | "EET" => 2,
        "EEST" => 3,
        // Unknown zone names: RFC 5322 reads them as -0000 (time in UTC, zone unknown).
        name if name.bytes().all(|b| b.is_ascii_alphabetic()) => 0,
        _ => return None,
    };
    Some(hours * 3600)
}

fn parse_iso(tokens: &[&str]) -> Option<Timestamp> {
    let joined = tokens.join(" ");
    let date = NaiveDate::parse_from_str(joined.get(..10)?, "%Y-%m-%d").ok()?;
    let rest = joined[10..].trim_start_matches(['T', ' ']);
    if rest.is_empty() {
        return build((date.year(), date.month(), date.day()), (0, 0, 0), 0);
    }
    // Split the time from a zone glued to it (`10:00:00+02:00`, `10:00:00Z`).
    let cut = rest.find(['+', '-', 'Z', 'z', ' ']).unwrap_or(rest.len());
    let time = parse_time(&rest[..cut])?;
    let zone_text = rest[cut..].trim();
    let offset = if zone_text.is_empty() {
        0
    } else {
        zone(zone_text)?
    };
    build((date.year(), date.month(), date.day()), time, offset)
}

fn build(
    (y, mo, d): (i32, u32, u32),
    (h, mi, s): (u32, u32, u32),
    offset: i32,
) -> Option<Timestamp> {
    let naive = NaiveDateTime::new(
        NaiveDate::from_ymd_opt(y, mo, d)?,
        NaiveTime::from_hms_opt(h, mi, s)?,
    );
    let tz = FixedOffset::east_opt(offset)?;
    let dt = tz.from_local_datetime(&naive).single()?;
    Some(Timestamp::from_datetime(&dt))
}

#[cfg(test)]
mod tests {
    use super::parse_date;

    fn rfc3339(raw: &str) -> Option<String> {
        parse_date(raw).map(|t| t.to_rfc3339())
    }

    #[test]
    fn real_world_forms_are_read() {
        let cases = [
            (
                "Fri, 22 May 2015 06:38:22 -0500",
                "2015-05-22T06:38:22-05:00",
            ),
            ("Fri, 22 May 2015 10:56:21 +0000", "2015-05-22T10:56:21Z"),
            (
                "Tue,  2 Jun 2015 10:00:00 +0200 (CEST)",
                "2015-06-02T10:00:00+02:00",
            ),
            (
                "\tWed, 3 Jan 2024 14:34:27 +0100",
                "2024-01-03T14:34:27+01:00",
            ),
            ("2 Jun 2015 10:00 GMT", "2015-06-02T10:00:00Z"),
            ("Tue, 2 Jun 15 10:00:00 EDT", "2015-06-02T10:00:00-04:00"),
            ("Tue Jun  2 10:00:00 2015", "2015-06-02T10:00:00Z"),
            ("Tue, 02 June 2015 10:00:00 +0000", "2015-06-02T10:00:00Z"),
            ("2015-06-02T10:00:00+02:00", "2015-06-02T10:00:00+02:00"),
            ("2015-06-02 10:00:00 +0000", "2015-06-02T10:00:00Z"),
            ("Tue, 30 Jun 2015 23:59:60 +0000", "2015-06-30T23:59:59Z"),
        ];
        for (raw, expected) in cases {
            assert_eq!(rfc3339(raw).as_deref(), Some(expected), "{raw}");
        }
    }

    #[test]
    fn broken_dates_are_none() {
        for raw in [
            "",
            "yesterday",
            "Tue, 31 Feb 2015 10:00:00 +0000",
            "Tue, 2 Jun 2015 25:00:00 +0000",
            "2 Foo 2015 10:00:00",
            "Tue, 2 Jun 2015 10:00:00 +99999",
            "Thursday, May 9, 2019 at 9:41 PM",
        ] {
            assert_eq!(rfc3339(raw), None, "{raw}");
        }
    }

    #[test]
    fn commas_comments_and_trailing_words() {
        let cases = [
            ("Tue,2 Jun 2015 10:00:00 +0000", "2015-06-02T10:00:00Z"),
            (
                "Tue, 2 Jun, 2015, 10:00:00, +0100",
                "2015-06-02T10:00:00+01:00",
            ),
            (
                "Tue, 2 Jun 2015 10:00:00 +0000 (CEST) and some words after",
                "2015-06-02T10:00:00Z",
            ),
            (
                "(a comment (nested)) 2 Jun 2015 10:00:00 -0130",
                "2015-06-02T10:00:00-01:30",
            ),
            (
                "Tue Jun  2 10:00:00 2015 extra tokens here",
                "2015-06-02T10:00:00Z",
            ),
            ("2015-06-02, 10:00:00 +02:00", "2015-06-02T10:00:00+02:00"),
            ("2015-06-02", "2015-06-02T00:00:00Z"),
        ];
        for (raw, expected) in cases {
            assert_eq!(rfc3339(raw).as_deref(), Some(expected), "{raw}");
        }
        // A `)` with no `(` is kept, and spoils the zone.
        assert_eq!(rfc3339("Tue, 2 Jun 2015 10:00:00 +0000)"), None);
        assert_eq!(rfc3339("Tue, 2 Jun 2015 10:00:00 CEST)"), None);
        assert_eq!(rfc3339(", , ,"), None);
        assert_eq!(rfc3339("Tue"), None);
    }
}
