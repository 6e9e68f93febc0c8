//! `kith report`: the period's attachment scorecard as text, JSON, CSV or a self-contained
//! HTML file; `--explain` and `--list` for the definitions. Metrics come from kith-analytics;
//! this module only renders them. The formats people read (text, HTML) show instants as dates
//! in the report's time zone, durations in hours or days and members by name ([`Shown`]); JSON
//! and CSV keep the numbers.

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;
use std::io::Write as _;

use chrono::{NaiveDate, TimeZone};
use kith_analytics::{
    Cell, ColumnKind, MetricValue, Params, Period, Snapshot, Table, column_kind, explain, find,
    registry,
};
use kith_store::{ActivityId, MemberId, Store};

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
        ReportFormat::Text => {
            let shown = Shown::new(store.as_ref(), tz, &metrics, TEXT_MAX_ROWS, args.anonymise)?;
            text(&header, &metrics, &shown)
        }
        ReportFormat::Csv => csv(&metrics),
        ReportFormat::Html => {
            let shown = Shown::new(store.as_ref(), tz, &metrics, HTML_MAX_ROWS, args.anonymise)?;
            html(&header, &metrics, &shown)
        }
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
        // A sum that came to −0 reads as 0.
        Cell::Real(r) if *r == 0.0 => "0".into(),
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

/// How text and HTML show a cell: instants as local date and time in the report's zone,
/// durations in the largest sensible unit, members by display name and id, activities by
/// their link or the start of their text and id (both by id alone when anonymised), by the
/// column's kind ([`column_kind`]).
struct Shown {
    tz: chrono_tz::Tz,
    /// The display names of the members the shown rows name (none when anonymised).
    names: HashMap<i64, String>,
    /// How the activities the shown rows name are shown (none when anonymised).
    activities: HashMap<i64, String>,
}

impl Shown {
    /// Reads the names of the members named in the first `rows` rows of every table (what the
    /// format shows), unless `anonymise`. A member the store no longer has is shown by id.
    fn new(
        store: &dyn Store,
        tz: chrono_tz::Tz,
        metrics: &[MetricValue],
        rows: usize,
        anonymise: bool,
    ) -> Result<Shown, Failure> {
        let mut names = HashMap::new();
        let mut activities = HashMap::new();
        if !anonymise {
            let mut ids = BTreeSet::new();
            let mut activity_ids = BTreeSet::new();
            for t in metrics.iter().flat_map(|m| &m.tables) {
                for (i, &column) in t.columns.iter().enumerate() {
                    let kind = column_kind(column);
                    if kind == ColumnKind::Plain {
                        continue;
                    }
                    for row in t.rows.iter().take(rows) {
                        match (kind, &row[i]) {
                            (ColumnKind::Member, Cell::Int(id)) => {
                                ids.insert(*id);
                            }
                            (ColumnKind::Members, Cell::Text(list)) => {
                                ids.extend(
                                    list.split_whitespace()
                                        .filter_map(|id| id.parse::<i64>().ok()),
                                );
                            }
                            (ColumnKind::Activity, Cell::Int(id)) => {
                                activity_ids.insert(ActivityId(*id));
                            }
                            _ => {}
                        }
                    }
                }
            }
            for id in ids {
                match store.member(MemberId(id)) {
                    Ok(detail) => {
                        if let Some(name) = detail.member.display_name {
                            names.insert(id, name);
                        }
                    }
                    Err(kith_store::StoreError::NotFound(_)) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            let activity_ids: Vec<ActivityId> = activity_ids.into_iter().collect();
            for a in store.activities_by_id(&activity_ids)? {
                if let Some(shown) = activity_text(&a.activity) {
                    activities.insert(a.id.0, shown);
                }
            }
        }
        Ok(Shown {
            tz,
            names,
            activities,
        })
    }

    fn cell(&self, column: &str, c: &Cell) -> String {
        match (column_kind(column), c) {
            (ColumnKind::Instant, Cell::Int(t)) => chrono::DateTime::from_timestamp(*t, 0)
                .map_or_else(
                    || t.to_string(),
                    |d| {
                        d.with_timezone(&self.tz)
                            .format("%Y-%m-%d %H:%M")
                            .to_string()
                    },
                ),
            (ColumnKind::Seconds, Cell::Int(s)) => kith_web::ui::duration(*s),
            (ColumnKind::Member, Cell::Int(id)) => self.member(*id),
            (ColumnKind::Activity, Cell::Int(id)) => match self.activities.get(id) {
                Some(shown) => format!("{shown} (#{id})"),
                None => format!("#{id}"),
            },
            (ColumnKind::Members, Cell::Text(list)) => list
                .split_whitespace()
                .map(|id| {
                    id.parse()
                        .map_or_else(|_| id.to_owned(), |id| self.member(id))
                })
                .collect::<Vec<_>>()
                .join(", "),
            _ => cell(c),
        }
    }

    fn member(&self, id: i64) -> String {
        match self.names.get(&id) {
            Some(name) => format!("{name} (#{id})"),
            None => format!("#{id}"),
        }
    }
}

/// How a report names an activity: its link on the platform when the export had one, else
/// the start of its text (the first line of the author's prose that is not a salutation, or
/// of the text when it has no prose, up to 48 characters).
fn activity_text(a: &kith_model::Activity) -> Option<String> {
    if let Some(url) = a.url.as_deref().filter(|u| !u.is_empty()) {
        return Some(url.to_owned());
    }
    // The author's own words first (no quotes, code, signature or links); a message of a
    // link or code alone by its first line.
    let text = a.text.as_deref()?;
    let prose = kith_text::prose::extract(text).text;
    let plain = kith_web::ui::plain(text);
    let line = first_line(&prose).or_else(|| first_line(&plain))?;
    let words = line.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut shown: String = words.chars().take(48).collect();
    if shown.len() < words.len() {
        shown.push('…');
    }
    Some(format!("“{shown}”"))
}

/// The first filled line of `text` after an opening salutation ([`kith_web::ui::after_salutation`]).
fn first_line(text: &str) -> Option<String> {
    kith_web::ui::after_salutation(text)
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .map(str::to_owned)
}

/// As-of in the report's time zone, with the zone's abbreviation.
fn as_of_text(h: &Header, tz: chrono_tz::Tz) -> String {
    chrono::DateTime::from_timestamp(h.as_of, 0).map_or_else(
        || h.as_of.to_string(),
        |t| {
            t.with_timezone(&tz)
                .format("%Y-%m-%d %H:%M:%S %Z")
                .to_string()
        },
    )
}

/// Rows a text table shows (the other formats have them all).
const TEXT_MAX_ROWS: usize = 40;

fn text_table(t: &Table, out: &mut String, shown: &Shown) {
    let rows: Vec<Vec<String>> = t
        .rows
        .iter()
        .take(TEXT_MAX_ROWS)
        .map(|r| {
            r.iter()
                .zip(&t.columns)
                .map(|(c, column)| shown.cell(column, c))
                .collect()
        })
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
    // The first column (a period, a member, a label) to the left, the figures to the right.
    let line = |cells: Vec<String>| {
        cells
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(i, (c, w))| {
                if i == 0 {
                    format!("{c:<w$}")
                } else {
                    format!("{c:>w$}")
                }
            })
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_owned()
    };
    let _ = writeln!(out, "  [{}]", t.name);
    let _ = writeln!(
        out,
        "  {}",
        line(t.columns.iter().map(|c| (*c).to_owned()).collect())
    );
    for r in &rows {
        let _ = writeln!(out, "  {}", line(r.clone()));
    }
    if t.rows.len() > TEXT_MAX_ROWS {
        let _ = writeln!(
            out,
            "  ... {} more rows (--format json, csv or html has them all)",
            t.rows.len() - TEXT_MAX_ROWS
        );
    }
}

fn text(h: &Header, metrics: &[MetricValue], shown: &Shown) -> String {
    let mut out = format!(
        "{} — attachment scorecard\nas of {} · period {} · time zone {}{}{}\n",
        h.community,
        as_of_text(h, shown.tz),
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
            text_table(t, &mut out, shown);
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

/// A numeric column as (first-column label, value) points.
fn points(t: &Table, column: &str) -> Vec<(String, f64)> {
    let Some(i) = t.columns.iter().position(|c| *c == column) else {
        return Vec::new();
    };
    t.rows
        .iter()
        .filter_map(|r| Some((cell(&r[0]), r.get(i)?.as_f64()?)))
        .collect()
}

/// The charts of a metric's section, drawn by the web app's chart module (one renderer for the
/// pages and the report). Metrics without a chart get their tables only.
fn charts_for(m: &MetricValue) -> Vec<String> {
    use kith_web::charts::{self, Series, Unit};
    let line = |t: &Table, title: &str, cols: &[(&str, &str)]| {
        let labels: Vec<String> = points(t, cols[0].0).into_iter().map(|p| p.0).collect();
        let series: Vec<Series> = cols
            .iter()
            .map(|(c, name)| Series {
                name,
                values: points(t, c).into_iter().map(|p| Some(p.1)).collect(),
            })
            .collect();
        (!labels.is_empty()).then(|| charts::line_chart(title, &labels, &series, Unit::Count))
    };
    let mut out = Vec::new();
    match m.metric {
        "active_members" => {
            if let Some(t) = m.table("periods") {
                out.extend(line(
                    t,
                    "Active members per period",
                    &[("active", "active members")],
                ));
            }
        }
        "new_members" => {
            if let Some(t) = m.table("periods") {
                out.extend(line(
                    t,
                    "New members and new contributors per period",
                    &[
                        ("new_members", "new members"),
                        ("new_contributors", "new contributors"),
                    ],
                ));
            }
        }
        "churn" => {
            if let Some(t) = m.table("periods") {
                out.extend(line(
                    t,
                    "Retained, churned and resurrected members per period",
                    &[
                        ("retained", "retained"),
                        ("churned", "churned"),
                        ("resurrected", "resurrected"),
                    ],
                ));
            }
        }
        "cohort_retention" => {
            if let Some(t) = m.table("cells") {
                let (rows, cols) = kith_web::pages::insights::cohort_rows(t);
                if !rows.is_empty() {
                    out.push(charts::heat_map(
                        "Share of each monthly cohort active k months later",
                        &rows,
                        &cols,
                    ));
                }
            }
        }
        "first_response" => {
            if let Some(t) = m.table("segments") {
                let row = t.rows.iter().position(|r| cell(&r[0]) == "all");
                let items: Vec<(String, f64)> = [
                    ("within 1 h", "within_1h_share"),
                    ("within 24 h", "within_24h_share"),
                    ("within 72 h", "within_72h_share"),
                    ("never (unanswered)", "unanswered_share"),
                ]
                .into_iter()
                .filter_map(|(l, c)| Some((l.to_owned(), t.get(row?, c)?.as_f64()?)))
                .collect();
                if !items.is_empty() {
                    out.push(charts::hbar_chart(
                        "Distribution of time to first response (share of threads)",
                        &items,
                        1.0,
                        Unit::Share,
                    ));
                }
            }
        }
        "health_index" => {
            if let Some(t) = m.tables.iter().find(|t| t.columns.contains(&"component"))
                && let Some(col) = ["score", "points", "value"]
                    .into_iter()
                    .find(|c| t.columns.contains(c))
            {
                let items = points(t, col);
                let max = if items.iter().all(|i| i.1 <= 5.0) {
                    5.0
                } else {
                    100.0
                };
                out.push(charts::hbar_chart(
                    "Health index components",
                    &items,
                    max,
                    Unit::Count,
                ));
            }
        }
        "onboarding_funnel" | "response_effect" | "activation" | "peer_support" => {
            if let Some(t) = m.tables.first()
                && let Some(col) = t.columns.iter().find(|c| c.ends_with("share"))
            {
                let items = points(t, col);
                if !items.is_empty() && items.len() <= 40 {
                    let title = find(m.metric).map_or(m.metric, |d| d.title);
                    out.push(charts::hbar_chart(title, &items, 1.0, Unit::Share));
                }
            }
        }
        _ => {}
    }
    out
}

/// Rows of one table shown in the HTML report.
const HTML_MAX_ROWS: usize = 200;

/// A self-contained page (no external asset), printable to PDF from a browser.
fn html(h: &Header, metrics: &[MetricValue], shown: &Shown) -> String {
    let mut out = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{} — kith report</title><style>\
         body{{font-family:system-ui,sans-serif;max-width:64rem;margin:2rem auto;padding:0 1rem;color:#1b1b1b}}\
         table{{border-collapse:collapse;margin:.5rem 0 1rem}}th,td{{padding:.2rem .6rem;border-bottom:1px solid #ddd;text-align:right;white-space:nowrap}}\
         .wide{{overflow-x:auto}}td.l{{text-align:left}}@media print{{.wide{{overflow:visible}}table{{font-size:.7rem}}}}\
         th:first-child,td:first-child{{text-align:left}}details{{margin:.3rem 0 1rem}}pre{{white-space:pre-wrap;background:#f6f6f6;padding:.5rem}}\
         section{{break-inside:avoid}}@media print{{details{{display:block}}}}</style></head><body><main>\
         <h1>{} — attachment scorecard</h1><p>As of {} · period {} · time zone {} · team {} · bots {}</p><nav><ul>",
        esc(&h.community),
        esc(&h.community),
        esc(&as_of_text(h, shown.tz)),
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
        for svg in charts_for(m) {
            out.push_str(&svg);
        }
        for t in &m.tables {
            // Wide tables scroll on a screen instead of pushing the page wider.
            let _ = write!(
                out,
                "<div class=\"wide\"><table><caption>{}</caption><thead><tr>",
                esc(t.name)
            );
            for c in &t.columns {
                let _ = write!(out, "<th scope=\"col\">{}</th>", esc(c));
            }
            out.push_str("</tr></thead><tbody>");
            // Per-member tables (levels, network) have a row per member: a page shows the
            // first ones, the CSV and JSON formats have them all.
            for r in t.rows.iter().take(HTML_MAX_ROWS) {
                out.push_str("<tr>");
                for (c, column) in r.iter().zip(&t.columns) {
                    // Names and texts read from the left, figures from the right.
                    let words = matches!(c, Cell::Text(_))
                        || matches!(
                            column_kind(column),
                            ColumnKind::Member | ColumnKind::Members | ColumnKind::Activity
                        );
                    let _ = write!(
                        out,
                        "<td{}>{}</td>",
                        if words { " class=\"l\"" } else { "" },
                        esc(&shown.cell(column, c))
                    );
                }
                out.push_str("</tr>");
            }
            out.push_str("</tbody></table></div>");
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

#[cfg(test)]
mod tests {
    use super::*;

    fn message(text: &str) -> kith_model::Activity {
        let mut a = kith_model::Activity::new(
            "list",
            "m1",
            kith_model::Kind::Reply,
            kith_model::Timestamp::parse_rfc3339("2018-09-26T16:46:00Z").expect("a time"),
            None,
        );
        a.text = Some(text.to_owned());
        a
    }

    #[test]
    fn salutations_on_a_line_of_their_own_are_passed_over() {
        for (text, shown) in [
            (
                "Hi Thomas,\n\nThe build fails on Windows.",
                "“The build fails on Windows.”",
            ),
            ("Dear all,\nI maintain stringi.", "“I maintain stringi.”"),
            ("Hi -\n\nNew package here.", "“New package here.”"),
            ("Hey,\nthanks for the fix", "“thanks for the fix”"),
            ("Hello everyone!\nWe released 2.0.", "“We released 2.0.”"),
            (
                "Good afternoon,\nA question on vignettes.",
                "“A question on vignettes.”",
            ),
            ("Thomas,\n\nI agree.", "“I agree.”"),
            ("Dr. Ligges,\nthank you.", "“thank you.”"),
            // A first line that says something stays, greeting or not.
            ("Hi. The build fails.\nMore.", "“Hi. The build fails.”"),
            (
                "Hi all, the build fails on Windows since R 4.3 came out\n",
                "“Hi all, the build fails on Windows since R 4.3 c…”",
            ),
            (
                "Good afternoon - I am updating my package simstudy today",
                "“Good afternoon - I am updating my package simstu…”",
            ),
            ("Indeed. Clear enough:\n", "“Indeed. Clear enough:”"),
            ("Fantastic!\n", "“Fantastic!”"),
            ("Thanks, Duncan,\nthat worked.", "“Thanks, Duncan,”"),
            // Salutations alone: the first.
            ("Hi all,\n", "“Hi all,”"),
        ] {
            assert_eq!(
                activity_text(&message(text)).as_deref(),
                Some(shown),
                "{text:?}"
            );
        }
    }
}
