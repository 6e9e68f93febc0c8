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
    let tokens: Vec<&str> = rest.split_ascii_whitespace().collect();
    // The date is the last five tokens, or six with a zone before or after the year.
    for date_len in [5, 6] {
        if tokens.len() < date_len + 1 {
            continue;
        }
        let start = tokens.len() - date_len;
        if is_asctime(&tokens[start..]) {
            return Some(tokens[..start].join(" "));
        }
    }
    None
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
}
