//! Senders as mailing-list archives write them, turned into a stable identity.
//!
//! Archives hide addresses from harvesters in several ways: `jane at example.org`,
//! `jane at example dot org`, and pipermail's lossy mangling (`jane @end|ng |rom ex@mple@org`,
//! where `a`, `s`, `.` and sometimes `n` became `@`, and `l`, `i`, `f` became `|` or `i`). The
//! lossy forms cannot be undone, so the identity key is built the same lossy way from every
//! address, clean or not: the clean and the mangled form of one address give one key.

/// A sender: the identity key, the display name, and the clean address when the archive did
/// not mangle it beyond repair.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Sender {
    /// `<local> at <domain>`, lower case, with `a s n . @` folded to `@` and `l i f |` to `|`.
    pub key: String,
    pub name: Option<String>,
    pub email: Option<String>,
}

/// Word separators archives put between the local part and the domain, longest first. The
/// first four are lossy pipermail manglings (the address around them is mangled too).
const LOSSY_SEPARATORS: [&str; 4] = [
    " @end|ng |rom ",
    " @ending from ",
    " m@iii@g oii ",
    " m@ili@g off ",
];
const AT_WORDS: [&str; 6] = [" at ", "(at)", "[at]", "{at}", " _at_ ", " -at- "];
const DOT_WORDS: [&str; 5] = [" dot ", "(dot)", "[dot]", "{dot}", " _dot_ "];

/// Reads a `From:` value (already unfolded): `Name <addr>`, `addr (Name)` or a bare address.
/// `decode` turns RFC 2047 encoded words in the display name into text.
pub(crate) fn parse_from(value: &str, decode: impl Fn(&str) -> String) -> Option<Sender> {
    let value = value.trim();
    let (addr, name) = if let (Some(open), Some(close)) = (value.rfind('<'), value.rfind('>')) {
        if open < close {
            let name = value[..open].trim();
            (
                value[open + 1..close].trim(),
                (!name.is_empty()).then_some(name),
            )
        } else {
            (value, None)
        }
    } else if let (Some(open), true) = (value.find('('), value.ends_with(')')) {
        (
            value[..open].trim(),
            Some(value[open + 1..value.len() - 1].trim()),
        )
    } else {
        (value, None)
    };
    let mut sender = parse_address(addr)?;
    if let Some(name) = name {
        let name = unquote(&decode(name));
        // The newest pipermail style repeats the mangled address as the "name".
        if !name.is_empty() && !name.eq_ignore_ascii_case(addr) {
            sender.name = Some(name);
        }
    }
    Some(sender)
}

fn unquote(name: &str) -> String {
    let name = name.trim();
    let inner = name
        .strip_prefix('"')
        .and_then(|n| n.strip_suffix('"'))
        .unwrap_or(name);
    inner
        .replace("\\\"", "\"")
        .replace("\\\\", "\\")
        .trim()
        .to_owned()
}

/// Reads an address in any of the forms above. `None` when there is nothing address-like.
pub(crate) fn parse_address(addr: &str) -> Option<Sender> {
    let lower = format!(" {} ", addr.trim().to_lowercase());
    let mut lossy = false;
    let mut split = None;
    for sep in LOSSY_SEPARATORS {
        if let Some(i) = lower.find(sep) {
            split = Some((&lower[..i], &lower[i + sep.len()..]));
            lossy = true;
            break;
        }
    }
    if split.is_none()
        && let Some(i) = lower.rfind('@')
    {
        split = Some((&lower[..i], &lower[i + 1..]));
    }
    if split.is_none() {
        for word in AT_WORDS {
            if let Some(i) = lower.rfind(word) {
                split = Some((&lower[..i], &lower[i + word.len()..]));
                break;
            }
        }
    }
    let (local, domain) = match split {
        Some((local, domain)) => {
            let mut domain = domain.to_owned();
            for word in DOT_WORDS {
                domain = domain.replace(word, ".");
            }
            (compact(local), compact(&domain))
        }
        None => (compact(&lower), String::new()),
    };
    if local.is_empty() && domain.is_empty() {
        return None;
    }
    let key = if domain.is_empty() {
        fold(&local)
    } else {
        format!("{} at {}", fold(&local), fold(&domain))
    };
    let email =
        (!lossy && !domain.is_empty() && !local.is_empty()).then(|| format!("{local}@{domain}"));
    Some(Sender {
        key,
        name: None,
        email,
    })
}

fn compact(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '<' | '>' | '"'))
        .collect()
}

/// The lossy fold: every character pipermail may have turned into `@` becomes `@`, every one
/// it may have turned into `|` (or `i`) becomes `|`.
fn fold(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'a' | 's' | 'n' | '.' | '@' => '@',
            'l' | 'i' | 'f' | '|' => '|',
            c => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> String {
        parse_from(s, |n| n.to_owned())
            .map(|s| s.key)
            .unwrap_or_default()
    }

    #[test]
    fn clean_obfuscated_and_mangled_forms_of_one_address_share_a_key() {
        let forms = [
            "Uwe Ligges <ligges@statistik.tu-dortmund.de>",
            "ligges at statistik.tu-dortmund.de (Uwe Ligges)",
            "ligges at statistik dot tu-dortmund dot de",
            "ligge@ @ending from @t@ti@tik@tu-dortmund@de (Uwe Ligges)",
            "||gge@ @end|ng |rom @t@t|@t|k@tu-dortmund@de (Uwe Ligges)",
            "LIGGES@Statistik.TU-Dortmund.de",
        ];
        let expected = key(forms[0]);
        assert_eq!(expected, "||gge@ at @t@t|@t|k@tu-dortmu@d@de");
        for f in forms {
            assert_eq!(key(f), expected, "{f}");
        }
        // The 2018 style that also folds `n` and writes `i` for `l`.
        assert_eq!(
            key("iuke-tier@ey m@iii@g oii uiow@@edu (iuke-tier@ey m@iii@g oii uiow@@edu)"),
            key("luke-tierney at uiowa.edu")
        );
        assert_eq!(
            key("luke-tier@ey m@ili@g off uiow@@edu"),
            key("Tierney, Luke <luke-tierney at uiowa.edu>")
        );
    }

    #[test]
    fn names_and_clean_emails_are_kept_where_they_exist() {
        let s = parse_from("jane at example dot org (Jane Doe)", |n| n.to_owned()).unwrap();
        assert_eq!(s.email.as_deref(), Some("jane@example.org"));
        assert_eq!(s.name.as_deref(), Some("Jane Doe"));
        let s = parse_from("\"Doe, Jane\" <Jane@Example.ORG>", |n| n.to_owned()).unwrap();
        assert_eq!(
            (s.name.as_deref(), s.email.as_deref()),
            (Some("Doe, Jane"), Some("jane@example.org"))
        );
        let s = parse_from(
            "m@echler @end|ng |rom @t@t@m@th@ethz@ch (Martin Maechler)",
            |n| n.to_owned(),
        )
        .unwrap();
        assert_eq!(
            (s.name.as_deref(), s.email),
            (Some("Martin Maechler"), None)
        );
        let s = parse_from(
            "c@rtogr@iiow m@iii@g oii gm@ii@com (c@rtogr@iiow m@iii@g oii gm@ii@com)",
            |n| n.to_owned(),
        )
        .unwrap();
        assert_eq!(s.name, None);
        assert_eq!(parse_from("   ", |n| n.to_owned()), None);
    }
}
