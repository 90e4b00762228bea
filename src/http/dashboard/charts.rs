//! Charts drawn on the server as inline SVG: no script, no chart library, nothing fetched from
//! elsewhere. Each chart is decorative for screen readers (`aria-hidden`); the page puts the same
//! figures in a table beside it. Only numbers and escaped labels go into the markup.
use std::fmt::Write;

/// One point of a trend: its label and NPS with margin, None for a period without responses.
pub struct TrendDatum {
    pub label: String,
    pub nps: Option<f64>,
    pub margin: Option<f64>,
    /// Too few responses for a reliable figure: drawn grey and hollow.
    pub small_sample: bool,
}

/// The colour of a point from too few responses (its shape, hollow, tells it apart too).
const SMALL_SAMPLE_GREY: &str = "#71717a";

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

const W: f64 = 640.0;
const H: f64 = 240.0;
const LEFT: f64 = 44.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 28.0;

fn y_of(nps: f64) -> f64 {
    let clamped = nps.clamp(-100.0, 100.0);
    TOP + (100.0 - clamped) / 200.0 * (H - TOP - BOTTOM)
}

fn x_of(i: usize, n: usize) -> f64 {
    if n <= 1 {
        LEFT + (W - LEFT - RIGHT) / 2.0
    } else {
        LEFT + i as f64 * (W - LEFT - RIGHT) / (n - 1) as f64
    }
}

/// Runs of consecutive points that have an NPS: a gap breaks the line and the band.
fn runs(points: &[TrendDatum]) -> Vec<Vec<(usize, f64, f64)>> {
    let mut out: Vec<Vec<(usize, f64, f64)>> = Vec::new();
    let mut current = Vec::new();
    for (i, p) in points.iter().enumerate() {
        match p.nps {
            Some(v) => current.push((i, v, p.margin.unwrap_or(0.0))),
            None if !current.is_empty() => out.push(std::mem::take(&mut current)),
            None => {}
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// The NPS line over -100..100 with its 95% margin as a band; a point from too few responses
/// is a hollow grey circle with a grey error bar.
pub fn trend(points: &[TrendDatum], accent: &str) -> String {
    let n = points.len();
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart" viewBox="0 0 {W} {H}" aria-hidden="true" focusable="false" xmlns="http://www.w3.org/2000/svg">"#
    );
    for v in [100.0, 50.0, 0.0, -50.0, -100.0] {
        let y = y_of(v);
        let stroke = if v == 0.0 { "#71717a" } else { "#e4e4e7" };
        let _ = write!(
            svg,
            r##"<line x1="{LEFT}" x2="{}" y1="{y:.1}" y2="{y:.1}" stroke="{stroke}" stroke-width="1"/><text x="{}" y="{:.1}" text-anchor="end" font-size="11" fill="#3f3f46">{v}</text>"##,
            W - RIGHT,
            LEFT - 6.0,
            y + 4.0
        );
    }
    for run in runs(points) {
        let mut band = String::new();
        for (i, v, m) in &run {
            let _ = write!(band, "{:.1},{:.1} ", x_of(*i, n), y_of(v + m));
        }
        for (i, v, m) in run.iter().rev() {
            let _ = write!(band, "{:.1},{:.1} ", x_of(*i, n), y_of(v - m));
        }
        let _ = write!(
            svg,
            r#"<polygon points="{}" fill="{}" fill-opacity="0.15"/>"#,
            band.trim_end(),
            esc(accent)
        );
        let line: Vec<String> = run
            .iter()
            .map(|(i, v, _)| format!("{:.1},{:.1}", x_of(*i, n), y_of(*v)))
            .collect();
        if line.len() > 1 {
            let _ = write!(
                svg,
                r#"<polyline points="{}" fill="none" stroke="{}" stroke-width="2.5" stroke-linejoin="round"/>"#,
                line.join(" "),
                esc(accent)
            );
        }
        for (i, v, m) in &run {
            let x = x_of(*i, n);
            let (bar, dot) = if points[*i].small_sample {
                (
                    SMALL_SAMPLE_GREY.to_string(),
                    format!(
                        r##"fill="#ffffff" stroke="{SMALL_SAMPLE_GREY}" stroke-width="2" class="small-sample""##
                    ),
                )
            } else {
                (esc(accent), format!(r#"fill="{}""#, esc(accent)))
            };
            // The margin as an error bar too: a lone point has no band to show it.
            let _ = write!(
                svg,
                r#"<line x1="{x:.1}" x2="{x:.1}" y1="{:.1}" y2="{:.1}" stroke="{bar}" stroke-opacity="0.45" stroke-width="6" stroke-linecap="round"/><circle cx="{x:.1}" cy="{:.1}" r="4" {dot}/>"#,
                y_of(v + m),
                y_of(v - m),
                y_of(*v),
            );
        }
    }
    // A few labels along the bottom: first, middle, last.
    let mut labelled: Vec<usize> = vec![0, n / 2, n.saturating_sub(1)];
    labelled.dedup();
    for i in labelled.into_iter().filter(|i| *i < n) {
        let anchor = if i == 0 && n > 1 {
            "start"
        } else if i == n - 1 && n > 1 {
            "end"
        } else {
            "middle"
        };
        let _ = write!(
            svg,
            r##"<text x="{:.1}" y="{}" text-anchor="{anchor}" font-size="11" fill="#3f3f46">{}</text>"##,
            x_of(i, n),
            H - 8.0,
            esc(&points[i].label)
        );
    }
    svg.push_str("</svg>");
    svg
}

/// A small line of weekly NPS for the overview table; a week from too few responses is a hollow
/// grey dot on it.
pub fn sparkline(data: &[TrendDatum], accent: &str) -> String {
    let (w, h) = (120.0, 28.0);
    let n = data.len();
    let x = |i: usize| {
        if n <= 1 {
            w / 2.0
        } else {
            2.0 + i as f64 * (w - 4.0) / (n - 1) as f64
        }
    };
    let y = |v: f64| 2.0 + (100.0 - v.clamp(-100.0, 100.0)) / 200.0 * (h - 4.0);
    let mut svg = format!(
        r##"<svg class="spark" width="{w}" height="{h}" viewBox="0 0 {w} {h}" aria-hidden="true" focusable="false" xmlns="http://www.w3.org/2000/svg"><line x1="0" x2="{w}" y1="{:.1}" y2="{:.1}" stroke="#d4d4d8"/>"##,
        y(0.0),
        y(0.0)
    );
    for run in runs(data) {
        let pts: Vec<String> = run
            .iter()
            .map(|(i, v, _)| format!("{:.1},{:.1}", x(*i), y(*v)))
            .collect();
        if pts.len() == 1 {
            let (i, v, _) = run[0];
            let _ = write!(
                svg,
                r#"<circle cx="{:.1}" cy="{:.1}" r="2" fill="{}"/>"#,
                x(i),
                y(v),
                esc(accent)
            );
        } else {
            let _ = write!(
                svg,
                r#"<polyline points="{}" fill="none" stroke="{}" stroke-width="2"/>"#,
                pts.join(" "),
                esc(accent)
            );
        }
        for (i, v, _) in run.iter().filter(|(i, _, _)| data[*i].small_sample) {
            let _ = write!(
                svg,
                r##"<circle cx="{:.1}" cy="{:.1}" r="2.5" fill="#ffffff" stroke="{SMALL_SAMPLE_GREY}" stroke-width="1.5" class="small-sample"/>"##,
                x(*i),
                y(*v)
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

/// Responses per score 0..=10 as bars coloured by category.
pub fn distribution(counts: &[u64; 11]) -> String {
    let (w, h, base) = (440.0, 180.0, 150.0);
    let max = counts.iter().copied().max().unwrap_or(0).max(1) as f64;
    let slot = w / 11.0;
    let mut svg = format!(
        r#"<svg class="chart" viewBox="0 0 {w} {h}" aria-hidden="true" focusable="false" xmlns="http://www.w3.org/2000/svg">"#
    );
    for (score, count) in counts.iter().enumerate() {
        let colour = match crate::domain::score::Category::of(score as i32) {
            crate::domain::score::Category::Detractor => "#dc2626",
            crate::domain::score::Category::Passive => "#a16207",
            crate::domain::score::Category::Promoter => "#15803d",
        };
        let bar = (*count as f64 / max) * (base - 20.0);
        let x = score as f64 * slot + 4.0;
        let _ = write!(
            svg,
            r##"<rect x="{x:.1}" y="{:.1}" width="{:.1}" height="{bar:.1}" rx="2" fill="{colour}"/><text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="11" fill="#27272a">{count}</text><text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="12" fill="#27272a">{score}</text>"##,
            base - bar,
            slot - 8.0,
            x + (slot - 8.0) / 2.0,
            base - bar - 4.0,
            x + (slot - 8.0) / 2.0,
            base + 18.0
        );
    }
    svg.push_str("</svg>");
    svg
}

/// The promoter / passive / detractor split as one stacked bar.
pub fn split(promoters: u64, passives: u64, detractors: u64) -> String {
    let total = (promoters + passives + detractors).max(1) as f64;
    let w = 100.0;
    let parts = [
        (detractors, "#dc2626"),
        (passives, "#a16207"),
        (promoters, "#15803d"),
    ];
    let mut svg = String::from(
        r##"<svg class="split" viewBox="0 0 100 6" preserveAspectRatio="none" aria-hidden="true" focusable="false" xmlns="http://www.w3.org/2000/svg"><rect width="100" height="6" fill="#e4e4e7"/>"##,
    );
    let mut x = 0.0;
    for (n, colour) in parts {
        let width = n as f64 / total * w;
        if width > 0.0 {
            let _ = write!(
                svg,
                r#"<rect x="{x:.2}" width="{width:.2}" height="6" fill="{colour}"/>"#
            );
        }
        x += width;
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    fn datum(label: &str, nps: Option<f64>, margin: Option<f64>) -> TrendDatum {
        TrendDatum {
            label: label.into(),
            nps,
            margin,
            small_sample: false,
        }
    }

    #[test]
    fn gaps_break_the_line_and_labels_are_escaped() {
        let points = vec![
            datum("<b>1</b>", Some(10.0), Some(5.0)),
            datum("2", None, None),
            datum("3", Some(-20.0), Some(8.0)),
            datum("4", Some(30.0), Some(8.0)),
        ];
        let svg = trend(&points, "#2563eb");
        assert_eq!(svg.matches("<polygon").count(), 2);
        assert_eq!(
            svg.matches("<polyline").count(),
            1,
            "a lone point has no line"
        );
        assert!(svg.contains("&lt;b&gt;1&lt;/b&gt;"));
        assert!(!svg.contains("<b>"));
        assert!(svg.contains("aria-hidden=\"true\""));
        assert!(!svg.contains("small-sample"));
    }

    #[test]
    fn small_samples_are_hollow_and_grey() {
        let mut points = vec![
            datum("1", Some(10.0), Some(40.0)),
            datum("2", Some(20.0), Some(8.0)),
            datum("3", None, None),
        ];
        points[0].small_sample = true;
        points[2].small_sample = true; // no responses: nothing to draw
        let svg = trend(&points, "#2563eb");
        assert_eq!(svg.matches("class=\"small-sample\"").count(), 1, "{svg}");
        assert!(
            svg.contains(r##"r="4" fill="#ffffff" stroke="#71717a""##),
            "{svg}"
        );
        assert!(svg.contains(r##"r="4" fill="#2563eb"/>"##), "{svg}");
        let spark = sparkline(&points, "#2563eb");
        assert_eq!(
            spark.matches("class=\"small-sample\"").count(),
            1,
            "{spark}"
        );
    }

    #[test]
    fn bars_scale_to_the_largest_count() {
        let mut c = [0u64; 11];
        c[10] = 4;
        c[0] = 2;
        let svg = distribution(&c);
        assert_eq!(svg.matches("<rect").count(), 11);
        assert!(svg.contains(r#"height="130.0""#), "{svg}");
        assert!(svg.contains(r#"height="65.0""#), "{svg}");
    }
}
