//! `kith report`: the period's attachment scorecard as text, JSON, CSV or a self-contained
//! HTML file; `--explain` and `--list` for the definitions. Metrics come from kith-analytics;
//! this module only renders them.

use std::fmt::Write as _;
use std::io::Write as _;

use chrono::{NaiveDate, TimeZone};
use kith_analytics::{Cell, MetricValue, Params, Period, Snapshot, Table, explain, find, registry};

use super::Context;
use crate::cli::{ReportArgs, ReportFormat, ReportPeriod};
use crate::failure::Failure;

fn date(flag: &str, text: &str) -> Result<NaiveDate, Failure> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| Failure::Usage(format!("{flag}: `{text}` is not a date like 2024-05-01")))
}

/// `--as-of`: RFC 3339, or a date meaning the end of that day in the report's zone.
fn as_of(text: &str, tz: chrono_tz::Tz) -> Result<i64, Failure> {
    if let Ok(t) = kith_model::Timestamp::parse_rfc3339(text) {
        return Ok(t.secs);
    }
    let day = date("--as-of", text)?;
    let next = day
        .succ_opt()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .ok_or_else(|| Failure::Usage(format!("--as-of: `{text}` is out of range")))?;
    let end = tz.from_local_datetime(&next).earliest().ok_or_else(|| {
        Failure::Usage(format!("--as-of: the end of {text} does not exist in {tz}"))
    })?;
    Ok(end.timestamp() - 1)
}

pub fn report(cx: &Context, args: &ReportArgs) -> Result<(), Failure> {
    if args.list {
        let list: Vec<_> = registry()
            .iter()
            .map(|m| serde_json::json!({ "name": m.name, "title": m.title }))
            .collect();
        cx.out.result(&list, || {
            registry()
                .iter()
                .map(|m| format!("{:<20} {}", m.name, m.title))
                .collect::<Vec<_>>()
                .join("\n")
        });
        return Ok(());
    }
    if let Some(name) = &args.explain {
        let metric = find(name).ok_or_else(|| {
            let names: Vec<_> = registry().iter().map(|m| m.name).collect();
            Failure::Usage(format!(
                "unknown metric `{name}`; metrics: {}",
                names.join(", ")
            ))
        })?;
        let text = explain(metric);
        cx.out.result(
            &serde_json::json!({
                "name": metric.name,
                "title": metric.title,
                "definition": metric.definition,
                "reference_sql": metric.reference_sql(),
                "verified_by": metric.verified_by(),
            }),
            || text,
        );
        return Ok(());
    }

    let store = cx.open()?;
    let community = store.community()?;
    let zone = args
        .tz
        .clone()
        .unwrap_or_else(|| community.time_zone.clone());
    let tz: chrono_tz::Tz = zone
        .parse()
        .map_err(|_| Failure::Usage(format!("`{zone}` is not an IANA time zone name")))?;
    let params = Params {
        as_of: args.as_of.as_deref().map(|t| as_of(t, tz)).transpose()?,
        from: args
            .from
            .as_deref()
            .map(|d| date("--from", d))
            .transpose()?,
        to: args.to.as_deref().map(|d| date("--to", d)).transpose()?,
        period: match args.period {
            ReportPeriod::Day => Period::Day,
            ReportPeriod::Week => Period::Week,
            ReportPeriod::Month => Period::Month,
            ReportPeriod::Quarter => Period::Quarter,
        },
        tz,
        sources: args.source.clone(),
        channels: args.channel.clone(),
        include_team: args.include_team,
        include_bots: args.include_bots,
        ..Params::default()
    };
    let snapshot = Snapshot::build(store.as_ref()).map_err(analytics)?;
    let metrics = kith_analytics::compute_all(&snapshot, &params).map_err(analytics)?;
    let resolved = kith_analytics::Resolved::new(&snapshot, &params).map_err(analytics)?;
    let header = Header {
        community: community.name.clone(),
        zone,
        as_of: resolved.as_of,
        from: args.from.clone().unwrap_or_default(),
        to: args.to.clone().unwrap_or_default(),
        period: params.period.as_str(),
        include_team: args.include_team,
        include_bots: args.include_bots,
        sources: args.source.clone(),
    };

    let format = if cx.out.json {
        ReportFormat::Json
    } else {
        args.format
    };
    let body = match format {
        ReportFormat::Json => serde_json::to_string_pretty(
            &serde_json::json!({ "report": header, "metrics": metrics }),
        )
        .map_err(|e| Failure::Other(e.into()))?,
        ReportFormat::Text => text(&header, &metrics),
        ReportFormat::Csv => csv(&metrics),
        ReportFormat::Html => html(&header, &metrics),
    };
    match &args.output {
        Some(path) => {
            std::fs::write(path, body)
                .map_err(|e| Failure::Usage(format!("cannot write {}: {e}", path.display())))?;
            cx.out
                .note(&format!("report written to {}", path.display()));
        }
        None => {
            let mut out = std::io::stdout().lock();
            writeln!(out, "{}", body.trim_end())?;
        }
    }
    Ok(())
}

fn analytics(e: kith_analytics::AnalyticsError) -> Failure {
    match e {
        kith_analytics::AnalyticsError::Store(s) => s.into(),
        other => Failure::Usage(other.to_string()),
    }
}

#[derive(serde::Serialize)]
struct Header {
    community: String,
    zone: String,
    as_of: i64,
    from: String,
    to: String,
    period: &'static str,
    include_team: bool,
    include_bots: bool,
    sources: Vec<String>,
}

fn cell(c: &Cell) -> String {
    match c {
        Cell::Null => "–".into(),
        Cell::Int(i) => i.to_string(),
        Cell::Real(r) => {
            if r.fract() == 0.0 && r.abs() < 1e15 {
                format!("{r:.0}")
            } else {
                format!("{r:.3}")
            }
        }
        Cell::Text(t) => t.clone(),
    }
}

fn as_of_text(h: &Header) -> String {
    chrono::DateTime::from_timestamp(h.as_of, 0).map_or_else(
        || h.as_of.to_string(),
        |t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
    )
}

fn text_table(t: &Table, out: &mut String) {
    let rows: Vec<Vec<String>> = t
        .rows
        .iter()
        .map(|r| r.iter().map(cell).collect())
        .collect();
    let widths: Vec<usize> = t
        .columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([c.len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: Vec<String>| {
        cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:>w$}"))
            .collect::<Vec<_>>()
            .join("  ")
    };
    let _ = writeln!(out, "  [{}]", t.name);
    let _ = writeln!(
        out,
        "  {}",
        line(t.columns.iter().map(|c| (*c).to_owned()).collect())
    );
    const MAX_ROWS: usize = 40;
    for r in rows.iter().take(MAX_ROWS) {
        let _ = writeln!(out, "  {}", line(r.clone()));
    }
    if rows.len() > MAX_ROWS {
        let _ = writeln!(
            out,
            "  ... {} more rows (--format json, csv or html has them all)",
            rows.len() - MAX_ROWS
        );
    }
}

fn text(h: &Header, metrics: &[MetricValue]) -> String {
    let mut out = format!(
        "{} — attachment scorecard\nas of {} · period {} · time zone {}{}{}\n",
        h.community,
        as_of_text(h),
        h.period,
        h.zone,
        if h.include_team {
            " · team included"
        } else {
            " · team excluded"
        },
        if h.include_bots {
            " · bots included"
        } else {
            " · bots excluded"
        },
    );
    for m in metrics {
        let title = find(m.metric).map_or(m.metric, |d| d.title);
        let _ = writeln!(
            out,
            "\n{title} ({}; kith report --explain {})",
            m.metric, m.metric
        );
        for t in &m.tables {
            text_table(t, &mut out);
        }
    }
    out
}

/// Long format: one line per cell, so every table of every metric fits one CSV.
fn csv(metrics: &[MetricValue]) -> String {
    fn q(s: &str) -> String {
        if s.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_owned()
        }
    }
    let mut out = String::from("metric,table,row,column,value\n");
    for m in metrics {
        for t in &m.tables {
            for (i, r) in t.rows.iter().enumerate() {
                for (c, v) in t.columns.iter().zip(r) {
                    let value = match v {
                        Cell::Null => String::new(),
                        Cell::Real(x) => x.to_string(),
                        other => cell(other),
                    };
                    let _ = writeln!(out, "{},{},{i},{},{}", m.metric, t.name, c, q(&value));
                }
            }
        }
    }
    out
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A bar chart of the first numeric column named `column` against the first column, as SVG.
fn bar_chart(t: &Table, column: &str, label: &str) -> Option<String> {
    let ci = t.columns.iter().position(|c| *c == column)?;
    let points: Vec<(String, f64)> = t
        .rows
        .iter()
        .filter_map(|r| Some((cell(&r[0]), r[ci].as_f64()?)))
        .collect();
    if points.is_empty() {
        return None;
    }
    let max = points.iter().map(|p| p.1).fold(0.0, f64::max).max(1.0);
    let (w, h, pad) = (720.0, 220.0, 30.0);
    let bw = (w - 2.0 * pad) / points.len() as f64;
    let mut svg = format!(
        "<svg role=\"img\" aria-label=\"{}\" viewBox=\"0 0 {w} {}\" width=\"100%\" xmlns=\"http://www.w3.org/2000/svg\"><title>{}</title>",
        esc(label),
        h + 40.0,
        esc(label)
    );
    for (i, (x, y)) in points.iter().enumerate() {
        let bh = (h - pad) * y / max;
        let _ = write!(
            svg,
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"#2a6f97\"><title>{}: {}</title></rect>",
            pad + i as f64 * bw + 1.0,
            h - bh,
            (bw - 2.0).max(1.0),
            bh,
            esc(x),
            y
        );
    }
    let _ = write!(
        svg,
        "<text x=\"{pad}\" y=\"{}\" font-size=\"12\">{}</text><text x=\"{}\" y=\"{}\" font-size=\"12\" text-anchor=\"end\">{}</text><text x=\"{pad}\" y=\"14\" font-size=\"12\">max {max}</text></svg>",
        h + 16.0,
        esc(&points[0].0),
        w - pad,
        h + 16.0,
        esc(&points[points.len() - 1].0)
    );
    Some(svg)
}

/// Rows of one table shown in the HTML report.
const HTML_MAX_ROWS: usize = 200;

/// A self-contained page (no external asset), printable to PDF from a browser.
fn html(h: &Header, metrics: &[MetricValue]) -> String {
    let mut out = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{} — kith report</title><style>\
         body{{font-family:system-ui,sans-serif;max-width:64rem;margin:2rem auto;padding:0 1rem;color:#1b1b1b}}\
         table{{border-collapse:collapse;margin:.5rem 0 1rem}}th,td{{padding:.2rem .6rem;border-bottom:1px solid #ddd;text-align:right}}\
         th:first-child,td:first-child{{text-align:left}}details{{margin:.3rem 0 1rem}}pre{{white-space:pre-wrap;background:#f6f6f6;padding:.5rem}}\
         section{{break-inside:avoid}}@media print{{details{{display:block}}}}</style></head><body><main>\
         <h1>{} — attachment scorecard</h1><p>As of {} · period {} · time zone {} · team {} · bots {}</p><nav><ul>",
        esc(&h.community),
        esc(&h.community),
        esc(&as_of_text(h)),
        h.period,
        esc(&h.zone),
        if h.include_team {
            "included"
        } else {
            "excluded"
        },
        if h.include_bots {
            "included"
        } else {
            "excluded"
        },
    );
    for m in metrics {
        let title = find(m.metric).map_or(m.metric, |d| d.title);
        let _ = write!(out, "<li><a href=\"#{}\">{}</a></li>", m.metric, esc(title));
    }
    out.push_str("</ul></nav>");
    for m in metrics {
        let def = find(m.metric);
        let title = def.map_or(m.metric, |d| d.title);
        let _ = write!(out, "<section id=\"{}\"><h2>{}</h2>", m.metric, esc(title));
        if m.metric == "active_members"
            && let Some(t) = m.tables.first()
            && let Some(svg) = t
                .columns
                .get(1)
                .and_then(|c| bar_chart(t, c, "Active members per period"))
        {
            out.push_str(&svg);
        }
        for t in &m.tables {
            let _ = write!(out, "<table><caption>{}</caption><thead><tr>", esc(t.name));
            for c in &t.columns {
                let _ = write!(out, "<th scope=\"col\">{}</th>", esc(c));
            }
            out.push_str("</tr></thead><tbody>");
            // Per-member tables (levels, network) have a row per member: a page shows the
            // first ones, the CSV and JSON formats have them all.
            for r in t.rows.iter().take(HTML_MAX_ROWS) {
                out.push_str("<tr>");
                for c in r {
                    let _ = write!(out, "<td>{}</td>", esc(&cell(c)));
                }
                out.push_str("</tr>");
            }
            out.push_str("</tbody></table>");
            if t.rows.len() > HTML_MAX_ROWS {
                let _ = write!(
                    out,
                    "<p>… {} more rows: <code>--format csv</code> or <code>json</code> has them all.</p>",
                    t.rows.len() - HTML_MAX_ROWS
                );
            }
        }
        if let Some(d) = def {
            let check = match d.reference {
                kith_analytics::Reference::Sql(sql) => format!(
                    "<p>Reference SQL (computes the same numbers over the canonical schema):</p><pre>{}</pre>",
                    esc(sql.trim())
                ),
                kith_analytics::Reference::Model(how) => format!(
                    "<p>{}</p><pre>{}</pre>",
                    esc(kith_analytics::metric::NO_REFERENCE_SQL),
                    esc(how.trim())
                ),
            };
            let _ = write!(
                out,
                "<details><summary>Definition of {}</summary><pre>{}</pre>{check}</details>",
                esc(title),
                esc(d.definition.trim()),
            );
        }
        out.push_str("</section>");
    }
    out.push_str("</main></body></html>");
    out
}
