//! Server-rendered pages. Until the web app proper lands this is the overview of what is
//! stored: the community, its counts and its sources with their last import.

use std::fmt::Write;

use kith_store::{Community, Counts, SourceSummary, StoreInfo};

pub struct Overview<'a> {
    pub demo: bool,
    pub info: &'a StoreInfo,
    pub community: &'a Community,
    pub counts: &'a Counts,
    pub sources: &'a [SourceSummary],
}

/// Escapes text for HTML element content and attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn num(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1b1b1b;background:#fff}\
h1{margin-bottom:.2rem}.demo{background:#fff3c4;border:2px solid #b58900;padding:.5rem 1rem;font-weight:600}\
dl.counts{display:grid;grid-template-columns:repeat(auto-fill,minmax(9rem,1fr));gap:1rem}\
dl.counts div{border:1px solid #ccc;border-radius:6px;padding:.6rem}dt{color:#555;font-size:.9rem}dd{margin:0;font-size:1.6rem;font-weight:600}\
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #ddd}.muted{color:#555}";

pub fn overview(o: &Overview) -> String {
    let mut h = String::with_capacity(4096);
    let title = esc(&o.community.name);
    let _ = write!(
        h,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{title} · kith</title><style>{STYLE}</style></head><body><main>"
    );
    if o.demo {
        h.push_str("<p class=\"demo\" role=\"status\">Demo community: generated data, not a real community.</p>");
    }
    let _ = write!(
        h,
        "<h1>{title}</h1><p class=\"muted\">Time zone {} · {} database at {}</p>",
        esc(&o.community.time_zone),
        match o.info.backend {
            kith_store::Backend::Sqlite => "SQLite",
            kith_store::Backend::Postgres => "PostgreSQL",
        },
        esc(&o.info.location)
    );
    h.push_str("<section aria-labelledby=\"stored\"><h2 id=\"stored\">What is stored</h2><dl class=\"counts\">");
    let c = o.counts;
    for (label, value) in [
        ("Members", c.members),
        ("Identities", c.identities),
        ("Activities", c.activities),
        ("Threads", c.threads),
        ("Channels", c.channels),
        ("Sources", c.sources),
    ] {
        let _ = write!(h, "<div><dt>{label}</dt><dd>{}</dd></div>", num(value));
    }
    h.push_str(
        "</dl></section><section aria-labelledby=\"sources\"><h2 id=\"sources\">Sources</h2>",
    );
    if o.sources.is_empty() {
        h.push_str(
            "<p>No data yet. Import an export with <code>kith import FORMAT PATH</code>.</p>",
        );
    } else {
        h.push_str("<table><thead><tr><th scope=\"col\">Source</th><th scope=\"col\">Format</th><th scope=\"col\">Activities</th><th scope=\"col\">Last import</th></tr></thead><tbody>");
        for s in o.sources {
            let last = s.last_audit.as_ref().map_or_else(
                || "never".to_owned(),
                |a| {
                    format!(
                        "{} read, {} new, {} updated, {} skipped",
                        num(a.audit.read),
                        num(a.audit.imported),
                        num(a.audit.updated),
                        num(a.audit.skipped_total())
                    )
                },
            );
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&s.name),
                esc(&s.format),
                num(s.activities),
                esc(&last)
            );
        }
        h.push_str("</tbody></table>");
    }
    h.push_str("</section></main></body></html>");
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            esc("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }

    #[test]
    fn groups_thousands() {
        assert_eq!(num(0), "0");
        assert_eq!(num(999), "999");
        assert_eq!(num(1000), "1,000");
        assert_eq!(num(10_000_000), "10,000,000");
    }
}
