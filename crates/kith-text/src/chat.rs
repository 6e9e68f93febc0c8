//! Slack's message markup read as text, as a person sees the message: a mention
//! `<@U061A1R2R|ann>` (or `<@U061A1R2R>`) as `@ann` (`@U061A1R2R`), a channel `<#C024BE7LR|general>`
//! as `#general`, `<!here>` as `@here`, a labelled web link `<https://x.org/a|the guide>` as
//! its label, and the three characters Slack escapes (`&amp;`, `&lt;`, `&gt;`) as themselves. Only a
//! message holding one of these forms is changed: an e-mail's `<https://x.org>` or a `<3`
//! stays as written (and URLs are left out of the prose anyway).

/// `text` as plain text when it holds Slack markup, `None` when it does not.
pub fn to_text(text: &str) -> Option<String> {
    if !text.contains('<') {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    let mut found = false;
    let mut rest = text;
    while let Some(lt) = rest.find('<') {
        out.push_str(&rest[..lt]);
        let after = &rest[lt + 1..];
        let construct = after
            .find(['>', '\n'])
            .filter(|&end| after.as_bytes()[end] == b'>')
            .and_then(|end| shown(&after[..end]).map(|s| (s, end)));
        match construct {
            Some((s, end)) => {
                found = true;
                out.push_str(&s);
                rest = &after[end + 1..];
            }
            None => {
                out.push('<');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    found.then(|| {
        out.replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&")
    })
}

/// How the inside of `<…>` reads, when it is a Slack form.
fn shown(inside: &str) -> Option<String> {
    let (target, label) = match inside.split_once('|') {
        Some((t, l)) => (t, Some(l)),
        None => (inside, None),
    };
    let id_like = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    };
    if let Some(id) = target.strip_prefix('@') {
        // A user: U… or W… and capitals and digits.
        if id.starts_with(['U', 'W']) && id_like(id) {
            return Some(format!("@{}", label.unwrap_or(id)));
        }
        return None;
    }
    if let Some(id) = target.strip_prefix('#') {
        if id.starts_with('C') && id_like(id) {
            return Some(format!("#{}", label.unwrap_or(id)));
        }
        return None;
    }
    if let Some(special) = target.strip_prefix('!') {
        return match special {
            "here" | "channel" | "everyone" => Some(format!("@{special}")),
            _ if special.starts_with("subteam^") => Some(format!("@{}", label.unwrap_or("team"))),
            _ => None,
        };
    }
    // A web link shown with a label of its own; a bare `<https://…>` is left to the URL
    // rules, and a `<mailto:…|…>` (its label is the address) as written.
    let is_link = ["http://", "https://"]
        .iter()
        .any(|p| target.starts_with(p))
        && !target.contains(char::is_whitespace);
    match label {
        Some(l) if is_link && !l.is_empty() => Some(l.to_owned()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slack_forms_read_as_shown() {
        assert_eq!(
            to_text("<@U061A1R2R|micahstubbs> has joined, thanks <@W0ABC> &amp; <!here>: see <https://x.org/a?b=1&amp;c=2|the guide> in <#C024BE7LR|general> &lt;3").unwrap(),
            "@micahstubbs has joined, thanks @W0ABC & @here: see the guide in #general <3"
        );
    }

    #[test]
    fn other_text_is_left_alone() {
        for text in [
            "see <https://example.org> for more",
            "I <3 this & that &amp; more",
            "a <b> c",
            "<@not a user>",
            "mail <ann@example.org>",
            "write to <mailto:ann@example.org|ann@example.org>",
            "",
        ] {
            assert_eq!(to_text(text), None, "{text}");
        }
    }

    proptest::proptest! {
        #[test]
        fn any_text_reads(text in "(<@U1|a>|<#C2>|<!here>|<https://x|y>|<|>|\\||&amp;|&lt;|[a-z@#!:/ ]{0,5}|\\n){0,30}") {
            let _ = to_text(&text);
        }
    }
}
