//! The page shell every HTML page shares (skip link, navigation, demo banner, embedded style
//! sheet), the period picker, and small formatting helpers. Plain, calm and printable; no
//! script, font or style from elsewhere.

use maud::{DOCTYPE, Markup, PreEscaped, html};

use crate::auth::{Action, Principal};

/// The embedded style sheet (served at `/static/kith.css`, also inlined by the report).
pub const CSS: &str = r#"
:root{--fg:#1b1b1b;--muted:#555;--line:#d8d8d8;--bg:#fff;--soft:#f5f6f7;--accent:#1f5f8b;--warn:#8a5a00;--good:#2e6b30;--bad:#a33}
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:var(--fg);background:var(--bg);line-height:1.45}
a{color:var(--accent)}a:focus,button:focus,input:focus,select:focus,textarea:focus{outline:3px solid #f2b700;outline-offset:1px}
.skip{position:absolute;left:-999px;top:0;background:#fff;padding:.5rem}.skip:focus{left:.5rem;z-index:10}
header.top{display:flex;flex-wrap:wrap;align-items:center;gap:.5rem 1.5rem;padding:.6rem 1.2rem;border-bottom:1px solid var(--line);background:var(--soft)}
header.top .brand{font-weight:700;text-decoration:none;color:var(--fg)}
nav.main ul{list-style:none;display:flex;flex-wrap:wrap;gap:.2rem 1rem;margin:0;padding:0}
nav.main a{text-decoration:none;padding:.2rem 0}nav.main a[aria-current=page]{font-weight:700;border-bottom:2px solid var(--accent)}
header.top .who{margin-left:auto;font-size:.9rem;color:var(--muted)}
header.top form{display:inline}
main{max-width:72rem;margin:0 auto;padding:1rem 1.2rem 3rem}
.demo{background:#fff3c4;border-bottom:3px solid #b58900;padding:.5rem 1.2rem;font-weight:700}
h1{margin:.4rem 0 .2rem;font-size:1.6rem}h2{font-size:1.25rem;margin:1.6rem 0 .5rem}h3{font-size:1.05rem;margin:1rem 0 .4rem}
.muted{color:var(--muted)}.small{font-size:.85rem}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(14rem,1fr));gap:.8rem}
.cols{display:grid;grid-template-columns:2fr 1fr;gap:1.2rem}@media(max-width:60rem){.cols{grid-template-columns:1fr}}
.card{border:1px solid var(--line);border-radius:6px;padding:.7rem .9rem;background:#fff}
.card .label{color:var(--muted);font-size:.9rem}.card .value{font-size:1.7rem;font-weight:650}
.delta-up{color:var(--good)}.delta-down{color:var(--bad)}
.empty{border:1px dashed #aaa;border-radius:6px;padding:1rem;background:var(--soft)}
table{border-collapse:collapse;width:100%;margin:.4rem 0 1rem}caption{text-align:left;font-weight:600;padding:.2rem 0}
th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid var(--line);vertical-align:top}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
form.inline{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:end;margin:.5rem 0 1rem;padding:.6rem;background:var(--soft);border-radius:6px}
label{display:flex;flex-direction:column;font-size:.85rem;color:var(--muted);gap:.15rem}
input,select,textarea,button{font:inherit;padding:.3rem .45rem;border:1px solid #888;border-radius:4px;background:#fff;color:var(--fg)}
button,.button{background:var(--accent);color:#fff;border-color:var(--accent);cursor:pointer;text-decoration:none;padding:.3rem .8rem;border-radius:4px;display:inline-block}
button.quiet{background:#fff;color:var(--accent)}
.explain{font-size:.8rem;margin-left:.3rem}
.badge{display:inline-block;font-size:.75rem;padding:0 .4rem;border-radius:3px;background:#e8eef3;color:#234}
.badge.new{background:#fde9c9;color:#6a4200}
.badge.pos{background:#e2f0e2;color:#1d4a1f}.badge.neg{background:#f7e1e1;color:#7a1d1d}.badge.hostile{background:#a33;color:#fff}
.scores{margin:.2rem 0}.scores details.why{display:inline}.scores details.why[open]{display:block}.scores ul{margin:.2rem 0;padding-left:1.2rem}
.error{background:#fde8e8;border:1px solid var(--bad);padding:.5rem .8rem;border-radius:4px}
.ok{background:#e7f3e7;border:1px solid var(--good);padding:.5rem .8rem;border-radius:4px}
progress{width:100%;height:1.2rem}
svg text{font-family:inherit}
details summary{cursor:pointer;color:var(--accent)}
pre{white-space:pre-wrap;background:var(--soft);padding:.5rem;overflow-x:auto}
blockquote{margin:.3rem 0;padding:.3rem .8rem;border-left:3px solid var(--line);white-space:pre-wrap}
@media print{header.top,nav,.skip,form.inline,button{display:none!important}.demo{border:1px solid #000}main{max-width:none}a{color:inherit;text-decoration:none}details{display:block}}
"#;

/// The pages of the main navigation: (path, label, the action needed to see it).
pub const NAV: &[(&str, &str)] = &[
    ("/", "Overview"),
    ("/members", "Members"),
    ("/conversations", "Conversations"),
    ("/onboarding", "Onboarding"),
    ("/retention", "Retention"),
    ("/network", "Network"),
    ("/sources", "Sources"),
    ("/definitions", "Definitions"),
];

/// What the shell needs to know about the request.
pub struct Shell<'a> {
    pub title: &'a str,
    /// The navigation entry to mark current.
    pub current: &'a str,
    pub principal: Option<&'a Principal>,
    pub demo: bool,
}

pub fn page(shell: &Shell<'_>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width,initial-scale=1";
                title { (shell.title) " · kith" }
                link rel="stylesheet" href="/static/kith.css";
            }
            body {
                a.skip href="#main" { "Skip to content" }
                @if shell.demo {
                    p.demo role="status" { "DEMO — generated data, not a real community. You are logged in automatically as the demo account." }
                }
                header.top {
                    a.brand href="/" { "kith" }
                    @if let Some(p) = shell.principal {
                        nav.main aria-label="Main" {
                            ul {
                                @for (path, label) in NAV {
                                    li { a href=(path) aria-current=[(*path == shell.current).then_some("page")] { (label) } }
                                }
                                @if p.may(Action::ManageUsers) {
                                    li { a href="/admin/users" aria-current=[("/admin/users" == shell.current).then_some("page")] { "Accounts" } }
                                }
                            }
                        }
                        span.who {
                            a href="/account" { (p.user.name) } " (" (p.user.role) ") "
                            form method="post" action="/logout" {
                                input type="hidden" name="csrf" value=(p.csrf());
                                button.quiet type="submit" { "Log out" }
                            }
                        }
                    }
                }
                main #main tabindex="-1" { (body) }
            }
        }
    }
}

/// A link to a metric's written definition.
pub fn explain(metric: &str) -> Markup {
    html! { a.explain href={ "/definitions#" (metric) } title="How this number is defined" { "what is this?" } }
}

/// Thousands separated by commas.
pub fn num(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

pub fn pct(share: f64) -> String {
    format!("{:.1} %", share * 100.0)
}

/// A duration in seconds, in the largest sensible unit.
pub fn duration(secs: i64) -> String {
    let s = secs.max(0);
    if s < 90 {
        format!("{s} s")
    } else if s < 90 * 60 {
        format!("{} min", (s + 30) / 60)
    } else if s < 48 * 3600 {
        format!("{:.1} h", s as f64 / 3600.0)
    } else {
        format!("{:.1} days", s as f64 / 86_400.0)
    }
}

/// An instant as a date and time in UTC.
pub fn when(ts: i64) -> String {
    chrono::DateTime::from_timestamp(ts, 0).map_or_else(
        || ts.to_string(),
        |t| t.format("%Y-%m-%d %H:%M").to_string(),
    )
}

pub fn day(ts: i64) -> String {
    chrono::DateTime::from_timestamp(ts, 0)
        .map_or_else(|| ts.to_string(), |t| t.format("%Y-%m-%d").to_string())
}

/// Percent-encodes for a URL query value.
pub fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Decodes a form/query value (`+` is a space, `%XX` a byte; invalid UTF-8 is replaced).
pub fn url_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A hidden CSRF field for a form.
pub fn csrf_field(p: Option<&Principal>) -> Markup {
    html! { input type="hidden" name="csrf" value=(p.map_or("", |p| p.csrf())); }
}

/// A message box.
pub fn flash(ok: Option<&str>, error: Option<&str>) -> Markup {
    html! {
        @if let Some(e) = error { p.error role="alert" { (e) } }
        @if let Some(m) = ok { p.ok role="status" { (m) } }
    }
}

/// Text cut to `n` characters, with an ellipsis; an opening salutation on a line of its own
/// left out ([`after_salutation`]).
pub fn excerpt(text: &str, n: usize) -> String {
    let text = plain(text);
    let t: String = after_salutation(&text)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    if t.chars().count() <= n {
        t
    } else {
        let mut s: String = t.chars().take(n).collect();
        s.push('…');
        s
    }
}

/// `text` from its first line that says something: opening salutations on lines of their own
/// ("Hi all,", "Dear Samuel,", "Hello everyone!", "Thomas,") name no message, so what follows
/// them is what an excerpt shows. A text of salutations alone is returned whole.
pub fn after_salutation(text: &str) -> &str {
    let mut at = 0;
    for line in text.split_inclusive('\n') {
        let t = line.trim();
        if !t.is_empty() && !is_salutation(t) {
            return &text[at..];
        }
        at += line.len();
    }
    text
}

/// A line that only greets: a greeting word and at most five more words closed by `,`, `!`,
/// `:` or a dash, or three words at most ("Hi Thomas", "Hey"), with no sentence's end inside;
/// or a name of one to three words closed by a comma ("Thomas,", "Dr. Ligges,").
fn is_salutation(line: &str) -> bool {
    const GREETINGS: [&str; 12] = [
        "hi",
        "hello",
        "hey",
        "dear",
        "greetings",
        "howdy",
        "hiya",
        "heya",
        "hallo",
        "g'day",
        "morning",
        "evening",
    ];
    let words: Vec<&str> = line.split_whitespace().collect();
    let Some(first) = words.first() else {
        return false;
    };
    let word = |w: &str| {
        w.trim_matches(|c: char| !c.is_alphanumeric() && c != '\'')
            .to_lowercase()
    };
    let first = word(first);
    let greets = GREETINGS.contains(&first.as_str())
        || (first == "good"
            && words.get(1).is_some_and(|w| {
                matches!(
                    word(w).as_str(),
                    "morning" | "afternoon" | "evening" | "day"
                )
            }));
    let body = line.trim_end_matches([',', '!', ':', '-', '–', '—']);
    let closed = body.len() < line.len();
    if greets {
        return !body.contains(['.', '?', ';'])
            && (words.len() <= 3 || (closed && words.len() <= 6));
    }
    // A name: capitalised words, not a word people open a sentence with ("Thanks,", "Yes,").
    const NOT_NAMES: [&str; 24] = [
        "thanks", "thank", "cheers", "regards", "best", "sorry", "yes", "no", "ok", "okay", "well",
        "so", "indeed", "agreed", "also", "however", "but", "and", "right", "sure", "great",
        "again", "anyway", "btw",
    ];
    line.ends_with(',')
        && words.len() <= 3
        && !body.contains([',', '?', ';'])
        && !NOT_NAMES.contains(&first.as_str())
        && words
            .iter()
            .all(|w| w.chars().next().is_some_and(char::is_uppercase))
}

/// A message's text as people read it: HTML (a Stack Exchange post, a Discourse post without
/// its raw text) or Slack's markup as plain text ([`kith_text::readable`]: tags out, quotes as
/// `> ` lines, mentions and links by their names); any other text as it is.
pub fn plain(text: &str) -> std::borrow::Cow<'_, str> {
    match kith_text::readable(text) {
        Some(t) => std::borrow::Cow::Owned(shown(&t).into_owned()),
        None => shown(text),
    }
}

/// What a reader does not see of a text written in Markdown or chat markup: an HTML comment
/// (`<!-- a template's hint -->`, closed; an unclosed one stays) is left out, and a link
/// written in angle brackets (`<https://x.org/a>`, Slack's bare links, e-mail's convention)
/// shows without them.
fn shown(text: &str) -> std::borrow::Cow<'_, str> {
    use kith_model::markdown::{Unclosed, without_html_comments};
    use std::borrow::Cow;
    let text = without_html_comments(text, Unclosed::Stays);
    if !text.contains("<http") && !text.contains("<mailto:") {
        return text;
    }
    let mut out = String::with_capacity(text.len());
    let mut rest: &str = &text;
    while let Some(lt) = rest.find('<') {
        out.push_str(&rest[..lt]);
        let from = &rest[lt..];
        let link = ["<http://", "<https://", "<mailto:"]
            .iter()
            .any(|p| from.starts_with(p));
        // A link runs to the first `>`, without white space or another `<` before it.
        match from[1..].find(['>', '<']).map(|e| e + 1) {
            Some(end)
                if link
                    && from.as_bytes()[end] == b'>'
                    && !from[1..end].contains(char::is_whitespace) =>
            {
                out.push_str(&from[1..end]);
                rest = &from[end + 1..];
            }
            _ => {
                out.push('<');
                rest = &from[1..];
            }
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// Raw trusted markup (the charts module builds escaped SVG).
pub fn raw(s: String) -> Markup {
    PreEscaped(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_messages_read_as_their_text() {
        assert_eq!(
            excerpt(
                "<p>Why was <em>my</em> question &amp; answer closed?</p>",
                80
            ),
            "Why was my question & answer closed?"
        );
        assert_eq!(plain("I <3 this"), "I <3 this");
        assert_eq!(
            excerpt("thanks <@U061A1R2R|ann>, see <https://x.org|the guide>", 80),
            "thanks @ann, see the guide"
        );
    }

    #[test]
    fn numbers_durations_and_urls_read_well() {
        assert_eq!(num(0), "0");
        assert_eq!(num(1000), "1,000");
        assert_eq!(num(-10_000_000), "-10,000,000");
        assert_eq!(duration(45), "45 s");
        assert_eq!(duration(3600), "60 min");
        assert_eq!(duration(7200), "2.0 h");
        assert_eq!(duration(3 * 86_400), "3.0 days");
        assert_eq!(url_decode("a+b%2Fc%zz%"), "a b/c%zz%");
        assert_eq!(url_encode("/members?q=a b"), "/members%3Fq%3Da%20b");
        assert_eq!(excerpt("one  two\nthree", 7), "one two…");
    }

    #[test]
    fn comments_and_bracketed_links_read_as_a_reader_sees_them() {
        assert_eq!(
            plain("<!-- Describe the bug -->\nThe build fails, see <https://x.org/a?b=1>."),
            "\nThe build fails, see https://x.org/a?b=1."
        );
        assert_eq!(
            plain("write to <mailto:a@x.org> or <http://x.org>"),
            "write to mailto:a@x.org or http://x.org"
        );
        // A comment in fenced code is code.
        assert_eq!(
            plain("Use this:\n```html\n<!-- placeholder -->\n```\n<!-- hint -->done"),
            "Use this:\n```html\n<!-- placeholder -->\n```\ndone"
        );
        // Not links, or not closed: as written.
        for t in [
            "a <b> c",
            "x <!-- never closed",
            "<https://x.org with space>",
            "I <3 this",
            "<http://a<b>",
        ] {
            assert_eq!(plain(t), t);
        }
        // Slack's bare link, beside a labelled one.
        assert_eq!(
            plain("see <https://x.org/a> and <https://x.org/b|the guide> <@U061A1R2R|ann>"),
            "see https://x.org/a and the guide @ann"
        );
    }

    #[test]
    fn any_mix_of_brackets_comments_and_links_reads_without_panic() {
        // Every text of up to six pieces from these (6^6 texts plus the shorter ones): no
        // panic, nothing added, a text without what is tidied unchanged.
        const PIECES: [&str; 6] = ["<", "<!--", "-->", "<https://x.é", ">", " é\n"];
        let mut texts = vec![String::new()];
        for _ in 0..6 {
            let longer: Vec<String> = texts
                .iter()
                .flat_map(|t| PIECES.iter().map(move |p| format!("{t}{p}")))
                .collect();
            for t in &longer {
                let s = shown(t);
                assert!(s.len() <= t.len(), "{t:?} → {s:?}");
                if !t.contains("<!--") && !t.contains("<http") {
                    assert_eq!(s, t.as_str());
                }
                let _ = excerpt(t, 20);
            }
            texts = longer;
        }
    }

    #[test]
    fn excerpts_leave_out_an_opening_salutation() {
        assert_eq!(
            excerpt("Hi all,\n\nThe build fails on Windows.\nAny idea?", 80),
            "The build fails on Windows. Any idea?"
        );
        assert_eq!(excerpt("Dear Samuel,\nsee below.", 80), "see below.");
        assert_eq!(
            excerpt("Hi all, the build fails.", 80),
            "Hi all, the build fails."
        );
        assert_eq!(excerpt("Hello!\n", 80), "Hello!");
        // Not names: a thanks and its signature, a lower-case opening.
        assert_eq!(excerpt("Thanks,\nJohn", 80), "Thanks, John");
        assert_eq!(excerpt("Yes,\nit works.", 80), "Yes, it works.");
        assert_eq!(excerpt("well,\nit works.", 80), "well, it works.");
    }
}
