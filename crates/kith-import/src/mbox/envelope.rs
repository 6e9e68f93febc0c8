//! The mbox envelope line, `From <sender> <weekday> <month> <day> <hh:mm[:ss]> <year>`: the
//! only line that starts a message. Body lines that merely begin with "From " (pipermail does
//! not escape them) are not envelopes because they do not end in an asctime date.

const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
pub(crate) const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// The sender part of an envelope line (`jane at example.org`, `MAILER-DAEMON`), or `None`
/// when the line is not an envelope.
pub(crate) fn envelope_sender(line: &[u8]) -> Option<String> {
    let rest = line.strip_prefix(b"From ")?;
    let rest = std::str::from_utf8(rest).ok()?;
    // The last six tokens, last first, and where each starts in `rest`.
    let mut last: [(usize, &str); 6] = [(0, ""); 6];
    let mut count = 0;
    for token in rest.split_ascii_whitespace().rev() {
        if count == last.len() {
            break;
        }
        last[count] = (token.as_ptr() as usize - rest.as_ptr() as usize, token);
        count += 1;
    }
    // The date is the last five tokens, or six with a zone before or after the year; at least
    // one token (the sender) comes before it.
    for date_len in [5, 6] {
        if count < date_len {
            continue;
        }
        let mut date: [&str; 6] = [""; 6];
        for (i, (_, token)) in last[..date_len].iter().enumerate() {
            date[date_len - 1 - i] = token;
        }
        let date_start = last[date_len - 1].0;
        let sender = rest[..date_start].trim_end_matches(|c: char| c.is_ascii_whitespace());
        if sender.is_empty() || !is_asctime(&date[..date_len]) {
            continue;
        }
        return Some(normalise_spaces(sender));
    }
    None
}

/// The sender's tokens joined by single spaces.
fn normalise_spaces(sender: &str) -> String {
    let single = !sender.starts_with(|c: char| c.is_ascii_whitespace())
        && !sender
            .as_bytes()
            .windows(2)
            .any(|w| w[0].is_ascii_whitespace() && (w[0] != b' ' || w[1].is_ascii_whitespace()))
        && !sender.ends_with(|c: char| c.is_ascii_whitespace());
    if single {
        sender.to_owned()
    } else {
        sender
            .split_ascii_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    }
}

fn is_asctime(t: &[&str]) -> bool {
    let [weekday, month, day, time, tail @ ..] = t else {
        return false;
    };
    let year_ok = match tail {
        [year] => is_year(year),
        [a, b] => (is_year(a) && is_zone(b)) || (is_zone(a) && is_year(b)),
        _ => false,
    };
    year_ok
        && WEEKDAYS.contains(weekday)
        && MONTHS.contains(month)
        && day.len() <= 2
        && day.bytes().all(|b| b.is_ascii_digit())
        && is_time(time)
}

fn is_year(t: &str) -> bool {
    t.len() == 4 && t.bytes().all(|b| b.is_ascii_digit())
}

fn is_zone(t: &str) -> bool {
    let digits = t.strip_prefix(['+', '-']).unwrap_or("");
    (digits.len() == 4 && digits.bytes().all(|b| b.is_ascii_digit()))
        || (t.len() <= 5 && !t.is_empty() && t.bytes().all(|b| b.is_ascii_uppercase()))
}

fn is_time(t: &str) -> bool {
    let parts: Vec<&str> = t.split(':').collect();
    (parts.len() == 2 || parts.len() == 3)
        && parts
            .iter()
            .all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::envelope_sender;

    #[test]
    fn real_envelopes_are_recognised() {
        let cases = [
            (
                "From edd at debian.org  Fri May 22 13:38:22 2015\n",
                "edd at debian.org",
            ),
            (
                "From jane at example.org  Tue Jun  2 10:00:00 2015",
                "jane at example.org",
            ),
            (
                "From ||gge@ @end|ng |rom @t@t|@t|k@tu-dortmund@de  Tue Jan  2 13:59:13 2024\r\n",
                "||gge@ @end|ng |rom @t@t|@t|k@tu-dortmund@de",
            ),
            (
                "From MAILER-DAEMON Fri Jul  8 12:08:34 2011",
                "MAILER-DAEMON",
            ),
            ("From 1590@xxx Wed Jun 03 12:34:56 +0000 2020", "1590@xxx"),
        ];
        for (line, sender) in cases {
            assert_eq!(
                envelope_sender(line.as_bytes()).as_deref(),
                Some(sender),
                "{line}"
            );
        }
    }

    #[test]
    fn body_lines_starting_with_from_are_not_envelopes() {
        for line in [
            "From the R docs, if there is no visible binding",
            "From WRE:",
            "From \"Simon Urbanek\" <simon.urbanek at r-project.org>",
            "From Tue Jun  2 10:00:00 2015",
            "From jane Tue Jun 32x 10:00:00 2015",
            ">From jane at example.org  Tue Jun  2 10:00:00 2015",
        ] {
            assert_eq!(envelope_sender(line.as_bytes()), None, "{line}");
        }
    }

    #[test]
    fn sender_spacing_is_normalised_and_a_sender_is_required() {
        let cases = [
            (
                "From  jane   at example.org  Tue Jun  2 10:00:00 2015\n",
                Some("jane at example.org"),
            ),
            (
                "From jane\tat example.org\t Tue Jun  2 10:00:00 2015",
                Some("jane at example.org"),
            ),
            ("From jane Tue Jun  2 10:00:00 +0000 2015", Some("jane")),
            ("From jane Tue Jun  2 10:00 2015 PDT", Some("jane")),
            // Unicode spaces are not separators: they stay in the sender.
            (
                "From jane\u{a0}doe Tue Jun  2 10:00:00 2015",
                Some("jane\u{a0}doe"),
            ),
            // Only a date with a zone: no sender before it.
            ("From Tue Jun  2 10:00:00 2015 PDT", None),
            ("From  Tue Jun  2 10:00:00 2015", None),
            ("From x", None),
            ("From ", None),
        ];
        for (line, sender) in cases {
            assert_eq!(
                envelope_sender(line.as_bytes()).as_deref(),
                sender,
                "{line:?}"
            );
        }
        assert_eq!(
            envelope_sender(b"From j\xff Tue Jun  2 10:00:00 2015"),
            None
        );
    }
}
