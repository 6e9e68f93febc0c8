//! SVG charts, written by hand: readable without JavaScript, printable, accessible (each chart
//! is an image with a title and a description; each mark has a tooltip with its value). Used by
//! the web pages and by `kith report --format html`, so the two never drift apart.
//!
//! Every function returns a complete `<svg>` element as a string, with all text escaped.

use std::fmt::Write;

/// Escapes text for SVG/HTML.
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

/// Series colours: distinguishable in grey print and for common colour blindness.
const COLOURS: [&str; 6] = [
    "#1f5f8b", "#d9822b", "#5b8c3a", "#8e4f8f", "#7a7a7a", "#b8463a",
];

/// How values are printed on axes and tooltips.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Count,
    /// 0..1 shown as percent.
    Share,
    /// Seconds shown as a duration.
    Seconds,
}

impl Unit {
    pub fn format(self, v: f64) -> String {
        match self {
            Unit::Count => {
                if v.fract() == 0.0 && v.abs() < 1e15 {
                    group(v as i64)
                } else {
                    format!("{v:.1}")
                }
            }
            Unit::Share => format!("{:.0}%", v * 100.0),
            Unit::Seconds => {
                let s = v.max(0.0);
                if s < 90.0 {
                    format!("{s:.0} s")
                } else if s < 5400.0 {
                    format!("{:.0} min", s / 60.0)
                } else if s < 172_800.0 {
                    format!("{:.1} h", s / 3600.0)
                } else {
                    format!("{:.1} d", s / 86_400.0)
                }
            }
        }
    }
}

fn group(n: i64) -> String {
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

/// A "nice" upper bound for an axis: 1, 2 or 5 times a power of ten at or above `max`.
pub fn nice_max(max: f64) -> f64 {
    if max <= 0.0 || !max.is_finite() {
        return 1.0;
    }
    let p = 10f64.powf(max.log10().floor());
    for m in [1.0, 2.0, 5.0, 10.0] {
        if m * p >= max {
            return m * p;
        }
    }
    10.0 * p
}

/// One line of a line chart.
pub struct Series<'a> {
    pub name: &'a str,
    /// One value per x label; `None` leaves a gap.
    pub values: Vec<Option<f64>>,
}

fn open(out: &mut String, title: &str, desc: &str, w: f64, h: f64) {
    let _ = write!(
        out,
        "<svg class=\"chart\" role=\"img\" aria-labelledby=\"t d\" viewBox=\"0 0 {w} {h}\" width=\"100%\" xmlns=\"http://www.w3.org/2000/svg\" font-size=\"12\"><title>{}</title><desc>{}</desc>",
        esc(title),
        esc(desc)
    );
}

/// Horizontal grid lines with labels at 0, ¼, ½, ¾ and the top of the axis.
fn y_axis(out: &mut String, top: f64, unit: Unit, x0: f64, x1: f64, y0: f64, y1: f64) {
    for i in 0..=4 {
        let v = top * f64::from(i) / 4.0;
        let y = y0 - (y0 - y1) * f64::from(i) / 4.0;
        let _ = write!(
            out,
            "<line x1=\"{x0}\" x2=\"{x1}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#e2e2e2\"/><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"#555\">{}</text>",
            x0 - 6.0,
            y + 4.0,
            esc(&unit.format(v))
        );
    }
}

/// Labels under the x axis, thinned so they do not overlap.
fn x_labels(out: &mut String, labels: &[String], x_of: impl Fn(usize) -> f64, y: f64, width: f64) {
    let n = labels.len().max(1);
    let fit = ((width / 70.0).floor() as usize).max(1);
    let step = n.div_ceil(fit).max(1);
    for (i, l) in labels.iter().enumerate() {
        if i % step == 0 || i + 1 == n {
            if i + 1 == n && i % step != 0 && (i % step) * 2 < step {
                continue;
            }
            // The end labels hug the plot's edges instead of spilling past them.
            let anchor = if n > 1 && i == 0 {
                "start"
            } else if n > 1 && i + 1 == n {
                "end"
            } else {
                "middle"
            };
            let _ = write!(
                out,
                "<text x=\"{:.1}\" y=\"{y}\" text-anchor=\"{anchor}\" fill=\"#555\">{}</text>",
                x_of(i),
                esc(l)
            );
        }
    }
}

/// A line chart of one or more series over the same labels (periods, months after...).
pub fn line_chart(title: &str, labels: &[String], series: &[Series<'_>], unit: Unit) -> String {
    let (w, h) = (720.0, 260.0);
    let (left, right, top, bottom) = (64.0, 16.0, 16.0, 46.0);
    let max = series
        .iter()
        .flat_map(|s| s.values.iter().flatten())
        .fold(0.0f64, |a, &b| a.max(b));
    let ymax = if unit == Unit::Share {
        max.clamp(0.05, 1.0)
    } else {
        nice_max(max)
    };
    let ymax = if unit == Unit::Share {
        nice_share(ymax)
    } else {
        ymax
    };
    let desc = format!(
        "{} series over {} points, from {} to {}",
        series.len(),
        labels.len(),
        labels.first().map_or("", String::as_str),
        labels.last().map_or("", String::as_str)
    );
    let mut out = String::new();
    open(&mut out, title, &desc, w, h);
    let (x0, x1, y0, y1) = (left, w - right, h - bottom, top);
    y_axis(&mut out, ymax, unit, x0, x1, y0, y1);
    let n = labels.len();
    let x_of = |i: usize| {
        if n <= 1 {
            (x0 + x1) / 2.0
        } else {
            x0 + (x1 - x0) * i as f64 / (n - 1) as f64
        }
    };
    let y_of = |v: f64| y0 - (y0 - y1) * (v / ymax).clamp(0.0, 1.0);
    for (k, s) in series.iter().enumerate() {
        let colour = COLOURS[k % COLOURS.len()];
        let mut path = String::new();
        let mut pen_up = true;
        for (i, v) in s.values.iter().enumerate() {
            match v {
                Some(v) => {
                    let _ = write!(
                        path,
                        "{}{:.1},{:.1} ",
                        if pen_up { "M" } else { "L" },
                        x_of(i),
                        y_of(*v)
                    );
                    pen_up = false;
                }
                None => pen_up = true,
            }
        }
        let _ = write!(
            out,
            "<path d=\"{}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\"/>",
            path.trim_end()
        );
        if n <= 60 {
            for (i, v) in s.values.iter().enumerate() {
                if let Some(v) = v {
                    let _ = write!(
                        out,
                        "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"{colour}\"><title>{} {}: {}</title></circle>",
                        x_of(i),
                        y_of(*v),
                        esc(s.name),
                        esc(&labels[i]),
                        esc(&unit.format(*v))
                    );
                }
            }
        }
    }
    x_labels(&mut out, labels, x_of, h - bottom + 18.0, x1 - x0);
    if series.len() > 1 {
        legend(&mut out, series.iter().map(|s| s.name), x0, h - 8.0);
    }
    out.push_str("</svg>");
    out
}

fn nice_share(max: f64) -> f64 {
    for m in [0.05, 0.1, 0.2, 0.25, 0.5, 0.75, 1.0] {
        if m >= max {
            return m;
        }
    }
    1.0
}

fn legend<'a>(out: &mut String, names: impl Iterator<Item = &'a str>, x: f64, y: f64) {
    let mut at = x;
    for (k, name) in names.enumerate() {
        let colour = COLOURS[k % COLOURS.len()];
        let _ = write!(
            out,
            "<rect x=\"{at:.1}\" y=\"{:.1}\" width=\"10\" height=\"10\" fill=\"{colour}\"/><text x=\"{:.1}\" y=\"{y:.1}\" fill=\"#333\">{}</text>",
            y - 9.0,
            at + 14.0,
            esc(name)
        );
        at += 24.0 + 7.0 * name.chars().count() as f64;
    }
}

/// Vertical bars, one per label.
pub fn bar_chart(title: &str, points: &[(String, f64)], unit: Unit) -> String {
    let (w, h) = (720.0, 240.0);
    let (left, right, top, bottom) = (64.0, 16.0, 16.0, 30.0);
    let max = points.iter().map(|p| p.1).fold(0.0f64, f64::max);
    let ymax = if unit == Unit::Share {
        nice_share(max)
    } else {
        nice_max(max)
    };
    let mut out = String::new();
    let desc = format!("{} bars; highest {}", points.len(), unit.format(max));
    open(&mut out, title, &desc, w, h);
    let (x0, x1, y0, y1) = (left, w - right, h - bottom, top);
    y_axis(&mut out, ymax, unit, x0, x1, y0, y1);
    let n = points.len().max(1);
    let bw = (x1 - x0) / n as f64;
    for (i, (label, v)) in points.iter().enumerate() {
        let bh = (y0 - y1) * (v / ymax).clamp(0.0, 1.0);
        let _ = write!(
            out,
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{bh:.1}\" fill=\"{}\"><title>{}: {}</title></rect>",
            x0 + i as f64 * bw + bw * 0.1,
            y0 - bh,
            (bw * 0.8).max(1.0),
            COLOURS[0],
            esc(label),
            esc(&unit.format(*v))
        );
    }
    let labels: Vec<String> = points.iter().map(|p| p.0.clone()).collect();
    x_labels(
        &mut out,
        &labels,
        |i| x0 + (i as f64 + 0.5) * bw,
        h - bottom + 18.0,
        x1 - x0,
    );
    out.push_str("</svg>");
    out
}

/// Labelled horizontal bars with their values written out: funnels, distributions, health
/// index components. `max` is the full-scale value (1 for shares, 5 for component scores).
pub fn hbar_chart(title: &str, items: &[(String, f64)], max: f64, unit: Unit) -> String {
    let row = 28.0;
    let (w, label_w, value_w) = (720.0, 230.0, 90.0);
    let h = row * items.len().max(1) as f64 + 8.0;
    let max = if max > 0.0 {
        max
    } else {
        items.iter().map(|i| i.1).fold(1.0, f64::max)
    };
    let mut out = String::new();
    let desc = items
        .iter()
        .map(|(l, v)| format!("{l}: {}", unit.format(*v)))
        .collect::<Vec<_>>()
        .join("; ");
    open(&mut out, title, &desc, w, h);
    let bar_w = w - label_w - value_w;
    for (i, (label, v)) in items.iter().enumerate() {
        let y = 4.0 + i as f64 * row;
        let len = bar_w * (v / max).clamp(0.0, 1.0);
        let _ = write!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"#333\">{}</text><rect x=\"{label_w}\" y=\"{y:.1}\" width=\"{bar_w:.1}\" height=\"{:.1}\" fill=\"#eef1f4\"/><rect x=\"{label_w}\" y=\"{y:.1}\" width=\"{len:.1}\" height=\"{:.1}\" fill=\"{}\"><title>{}: {}</title></rect><text x=\"{:.1}\" y=\"{:.1}\" fill=\"#333\">{}</text>",
            label_w - 8.0,
            y + 15.0,
            esc(label),
            row - 8.0,
            row - 8.0,
            COLOURS[0],
            esc(label),
            esc(&unit.format(*v)),
            label_w + bar_w + 8.0,
            y + 15.0,
            esc(&unit.format(*v))
        );
    }
    out.push_str("</svg>");
    out
}

/// One heat-map row: its label and a share (0..1) per column, `None` for an empty cell.
pub type HeatRow = (String, Vec<Option<f64>>);

/// A heat map of shares (0..1): one row per cohort, one column per step (month k); empty cells
/// are drawn as blanks. Darker is higher; each cell carries its value as a tooltip and, when
/// the cells are wide enough, as text.
pub fn heat_map(title: &str, rows: &[HeatRow], columns: &[String]) -> String {
    let cell_h = 20.0;
    let label_w = 70.0;
    let w = 720.0;
    let cols = columns.len().max(1);
    // Wide cells for a few columns would read as bars: capped.
    let cell_w = ((w - label_w) / cols as f64).min(48.0);
    let h = cell_h * (rows.len() as f64 + 1.0) + 4.0;
    let mut out = String::new();
    let desc = format!(
        "{} cohorts by {} steps; darker cells are higher shares",
        rows.len(),
        columns.len()
    );
    open(&mut out, title, &desc, w, h);
    for (j, c) in columns.iter().enumerate() {
        let _ = write!(
            out,
            "<text x=\"{:.1}\" y=\"14\" text-anchor=\"middle\" fill=\"#555\" font-size=\"10\">{}</text>",
            label_w + (j as f64 + 0.5) * cell_w,
            esc(c)
        );
    }
    for (i, (label, cells)) in rows.iter().enumerate() {
        let y = cell_h * (i as f64 + 1.0);
        let _ = write!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"#333\" font-size=\"11\">{}</text>",
            label_w - 6.0,
            y + 14.0,
            esc(label)
        );
        for (j, v) in cells.iter().enumerate().take(cols) {
            let Some(v) = v else { continue };
            let v = v.clamp(0.0, 1.0);
            // From near-white to the accent blue: lightness falls as the share rises.
            let light = 96.0 - 62.0 * v.sqrt();
            let text = if light < 60.0 { "#fff" } else { "#222" };
            let x = label_w + j as f64 * cell_w;
            let _ = write!(
                out,
                "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"hsl(205,60%,{light:.0}%)\"><title>{} month {}: {}</title></rect>",
                cell_w - 1.0,
                cell_h - 1.0,
                esc(label),
                esc(&columns[j]),
                Unit::Share.format(v)
            );
            if cell_w >= 26.0 {
                let _ = write!(
                    out,
                    "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"{text}\" font-size=\"9\">{:.0}</text>",
                    x + cell_w / 2.0,
                    y + 13.0,
                    v * 100.0
                );
            }
        }
    }
    out.push_str("</svg>");
    out
}

/// A node-link diagram drawn on the server: `nodes` are (label, weight), `edges` are index
/// pairs with a weight. Laid out deterministically on concentric rings by weight (the heaviest
/// in the middle), so that the same data always gives the same picture.
pub fn network(title: &str, nodes: &[(String, f64)], edges: &[(usize, usize, f64)]) -> String {
    let (w, h) = (720.0, 480.0);
    let (cx, cy) = (w / 2.0, h / 2.0);
    let mut order: Vec<usize> = (0..nodes.len()).collect();
    order.sort_by(|&a, &b| nodes[b].1.total_cmp(&nodes[a].1).then(a.cmp(&b)));
    let mut pos = vec![(cx, cy); nodes.len()];
    let (mut ring, mut placed) = (0usize, 0usize);
    while placed < order.len() {
        let capacity = if ring == 0 { 1 } else { 8 * ring };
        let radius = 55.0 * ring as f64;
        for k in 0..capacity.min(order.len() - placed) {
            let angle = std::f64::consts::TAU * k as f64 / capacity as f64 + ring as f64 * 0.4;
            pos[order[placed + k]] = (cx + radius * angle.cos() * 1.4, cy + radius * angle.sin());
        }
        placed += capacity;
        ring += 1;
    }
    let max_w = nodes.iter().map(|n| n.1).fold(1.0, f64::max);
    let max_e = edges.iter().map(|e| e.2).fold(1.0, f64::max);
    let mut out = String::new();
    let desc = format!("{} members and {} connections", nodes.len(), edges.len());
    open(&mut out, title, &desc, w, h);
    for &(a, b, weight) in edges {
        let (Some(pa), Some(pb)) = (pos.get(a), pos.get(b)) else {
            continue;
        };
        let _ = write!(
            out,
            "<line x1=\"{:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"#9bb3c7\" stroke-width=\"{:.1}\" stroke-opacity=\"0.7\"/>",
            pa.0,
            pa.1,
            pb.0,
            pb.1,
            0.5 + 2.5 * weight / max_e
        );
    }
    for (i, (label, weight)) in nodes.iter().enumerate() {
        let (x, y) = pos[i];
        let r = 3.0 + 9.0 * (weight / max_w).sqrt();
        let _ = write!(
            out,
            "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"{r:.1}\" fill=\"{}\"><title>{}: {}</title></circle>",
            COLOURS[0],
            esc(label),
            esc(&Unit::Count.format(*weight))
        );
        if i < 12 || nodes.len() <= 20 {
            let _ = write!(
                out,
                "<text x=\"{:.1}\" y=\"{:.1}\" fill=\"#222\" font-size=\"10\">{}</text>",
                x + r + 2.0,
                y + 3.0,
                esc(label)
            );
        }
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_end_on_round_numbers() {
        assert_eq!(nice_max(0.0), 1.0);
        assert_eq!(nice_max(7.0), 10.0);
        assert_eq!(nice_max(130.0), 200.0);
        assert_eq!(nice_max(4_900.0), 5_000.0);
    }

    #[test]
    fn charts_escape_their_text_and_are_labelled_images() {
        let svg = bar_chart("a <b> & c", &[("x<y".into(), 3.0)], Unit::Count);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("<title>a &lt;b&gt; &amp; c</title>"));
        assert!(svg.contains("x&lt;y: 3"));
        assert!(!svg.contains("x<y"));
        assert!(svg.contains("role=\"img\""));
    }

    #[test]
    fn a_line_with_a_gap_starts_a_new_segment() {
        let labels: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
        let svg = line_chart(
            "t",
            &labels,
            &[Series {
                name: "s",
                values: vec![Some(1.0), None, Some(2.0)],
            }],
            Unit::Count,
        );
        // Two "move to" commands: the gap at b lifts the pen.
        let path = svg
            .split("<path d=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        assert_eq!(path.matches('M').count(), 2, "{path}");
        assert!(!path.contains('L'), "{path}");
    }

    #[test]
    fn units_print_as_people_read_them() {
        assert_eq!(Unit::Share.format(0.256), "26%");
        assert_eq!(Unit::Count.format(12_345.0), "12,345");
        assert_eq!(Unit::Seconds.format(7_200.0), "2.0 h");
    }

    #[test]
    fn heat_map_cells_darken_with_the_share() {
        let svg = heat_map(
            "r",
            &[("2024-01".into(), vec![Some(1.0), Some(0.25), None])],
            &["0".into(), "1".into(), "2".into()],
        );
        assert!(
            svg.contains("hsl(205,60%,34%)"),
            "a full share is the darkest"
        );
        assert!(
            svg.contains("hsl(205,60%,65%)"),
            "a quarter: 96 − 62 × 0.5 = 65"
        );
        assert_eq!(
            svg.matches("<rect").count(),
            2,
            "the empty cell is not drawn"
        );
    }
}
