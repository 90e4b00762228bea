//! The digest's view: every figure, change, bar and comment worked out once, formatted, for
//! both templates (so the text and the HTML agree).
//! (Over 400 lines: the digest's one view model, text and HTML parts read from it, so the two
//! parts cannot drift apart.)
use super::{DigestEmail, Figures, NotableComment};
use crate::domain::nps::{NpsChange, NpsSummary, SMALL_SAMPLE, SMALL_SAMPLE_WORDS};

/// A comment longer than this is cut (with "…") so that ten of them cannot push the email past
/// Gmail's clipping size; the dashboard has the whole text.
pub(super) const COMMENT_MAX_CHARS: usize = 600;
/// How many comments of each kind are shown at most.
pub(super) const COMMENTS_MAX: usize = 5;
/// How many trend points are shown at most (the most recent ones).
pub(super) const TREND_MAX: usize = 12;
/// Pixel height of the trend chart: NPS -100 is the bottom, +100 the top.
pub(super) const TREND_HEIGHT: u32 = 100;
/// The longest `#` bar of the text distribution.
pub(super) const TEXT_BAR_MAX: u64 = 20;

pub(super) const DETRACTOR_COLOR: &str = "#dc2626";
pub(super) const PASSIVE_COLOR: &str = "#a1a1aa";
pub(super) const PROMOTER_COLOR: &str = "#16a34a";
pub(super) const UP_COLOR: &str = "#15803d";
pub(super) const DOWN_COLOR: &str = "#b91c1c";
pub(super) const NEUTRAL_COLOR: &str = "#52525b";
pub(super) const PAST_BAR_COLOR: &str = "#a1a1aa";
/// A period with too few responses for a reliable figure: paler than the others (and marked).
pub(super) const SMALL_SAMPLE_BAR_COLOR: &str = "#d4d4d8";
pub(super) const NO_DATA_BAR_COLOR: &str = "#e4e4e7";

/// A change of the NPS, for the headline.
pub(super) struct Change {
    /// "▲" / "▼", or empty for no clear change.
    pub(super) arrow: &'static str,
    /// What the arrow means, for screen readers: "up" / "down".
    pub(super) arrow_label: &'static str,
    /// The HTML wording after the arrow: "5 vs the previous week", "+7 vs the last 12 weeks",
    /// "no clear change vs the previous week".
    pub(super) html: String,
    /// The text wording: "up 5 vs the previous week".
    pub(super) text: String,
    pub(super) color: &'static str,
}

pub(super) struct Headline {
    pub(super) nps: String,
    pub(super) margin: Option<String>,
    /// "Only 12 responses: too few answers for a reliable figure."; `None` from 30 responses.
    pub(super) small_sample: Option<String>,
    pub(super) vs_previous: Option<Change>,
    pub(super) vs_trailing: Option<Change>,
}

pub(super) struct FigureRow {
    pub(super) label: &'static str,
    pub(super) value: String,
    /// Since the previous period; `None` without a previous period.
    pub(super) change: Option<String>,
    pub(super) text: String,
}

pub(super) struct DistributionRow {
    pub(super) score: usize,
    pub(super) count: String,
    /// Bar width, percent of the largest count (0 draws no bar).
    pub(super) width: u32,
    pub(super) color: &'static str,
    pub(super) text: String,
}

pub(super) struct TrendColumn<'a> {
    pub(super) label: &'a str,
    pub(super) value: String,
    /// Empty space above the bar, px.
    pub(super) spacer: u32,
    /// Bar height, px.
    pub(super) bar: u32,
    pub(super) color: &'a str,
    pub(super) current: bool,
    /// Too few responses for a reliable figure: the value carries a "*".
    pub(super) small_sample: bool,
    pub(super) text: String,
}

pub(super) struct CommentView<'a> {
    pub(super) score: u8,
    pub(super) name: String,
    /// "plan: pro · country: DE", empty without properties.
    pub(super) segment: String,
    /// "plan: pro, country: DE".
    pub(super) text_segment: String,
    pub(super) lines: Vec<&'a str>,
    /// The comment was cut short: "…" after its last line.
    pub(super) cut: bool,
    pub(super) color: &'static str,
}

/// Everything both templates show, worked out once so that the text and the HTML agree.
pub(super) struct View<'a> {
    pub(super) d: &'a DigestEmail,
    pub(super) title: String,
    pub(super) headline: Option<Headline>,
    pub(super) silent: bool,
    pub(super) pausing: bool,
    pub(super) figures_column: String,
    pub(super) change_column: Option<String>,
    /// The text part's column heads over the figures.
    pub(super) figures_text_header: String,
    pub(super) figures: Vec<FigureRow>,
    pub(super) distribution: Vec<DistributionRow>,
    pub(super) trend_heading: String,
    pub(super) trend_width: usize,
    pub(super) trend: Vec<TrendColumn<'a>>,
    /// What the "*" on a trend value means; `None` when no value has one.
    pub(super) trend_note: Option<String>,
    /// "What detractors said", "What promoters said"; only those with comments.
    pub(super) comments: Vec<CommentSection<'a>>,
}

pub(super) struct CommentSection<'a> {
    pub(super) heading: &'static str,
    pub(super) comments: Vec<CommentView<'a>>,
}

pub(super) fn view<'a>(d: &'a DigestEmail, accent: &'a str) -> View<'a> {
    let noun = d.period_noun;
    let now = &d.current.summary;
    let silent = now.responses == 0;
    let headline = (!silent).then(|| Headline {
        nps: nps(now.nps),
        margin: finite(now.margin_of_error).map(|m| number(m.abs())),
        small_sample: now
            .small_sample
            .then(|| format!("Only {}: {SMALL_SAMPLE_WORDS}.", responses(now.responses))),
        vs_previous: d
            .previous
            .as_ref()
            .and_then(|p| change(now, &p.summary, &format!("vs the previous {noun}"), true)),
        vs_trailing: d.trailing.as_ref().and_then(|t| {
            change(
                now,
                &t.summary,
                &format!("vs the last {TREND_MAX} {noun}s"),
                false,
            )
        }),
    });

    let figures_column = format!("This {noun}");
    let change_column = d.previous.as_ref().map(|_| format!("vs previous {noun}"));
    let (figures, figures_text_header) = figure_rows(
        &d.current,
        d.previous.as_ref(),
        &figures_column,
        change_column.as_deref(),
    );
    let max = d.distribution.iter().copied().max().unwrap_or(0);
    let distribution = d
        .distribution
        .iter()
        .enumerate()
        .map(|(score, &n)| {
            // Scaled to the largest count; any response shows at least a sliver.
            let scaled = |full: u64| match n {
                0 => 0,
                _ => ((n as f64 / max as f64 * full as f64).round() as u64).clamp(1, full),
            };
            let width = scaled(100) as u32;
            let hashes = scaled(TEXT_BAR_MAX);
            DistributionRow {
                score,
                count: count(n),
                width,
                color: score_color(score as u8),
                text: format!(
                    "{score:>2} | {:<w$} {}",
                    "#".repeat(hashes as usize),
                    count(n),
                    w = TEXT_BAR_MAX as usize
                )
                .trim_end()
                .to_string(),
            }
        })
        .collect();

    let points = &d.trend[d.trend.len().saturating_sub(TREND_MAX)..];
    let label_width = points
        .iter()
        .map(|p| p.label.chars().count())
        .max()
        .unwrap_or(0);
    let trend = points
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let current = i + 1 == points.len();
            let value = finite(p.nps);
            let bar = match value {
                Some(v) => {
                    let h = ((v.clamp(-100.0, 100.0) + 100.0) / 200.0 * f64::from(TREND_HEIGHT))
                        .round() as u32;
                    h.clamp(3, TREND_HEIGHT)
                }
                None => 2,
            };
            let small_sample = value.is_some() && p.small_sample;
            let mark = if small_sample { "*" } else { "" };
            TrendColumn {
                label: &p.label,
                value: format!("{}{mark}", nps(value)),
                spacer: TREND_HEIGHT - bar,
                bar,
                color: match (value, small_sample, current) {
                    (None, _, _) => NO_DATA_BAR_COLOR,
                    (Some(_), true, _) => SMALL_SAMPLE_BAR_COLOR,
                    (Some(_), false, true) => accent,
                    (Some(_), false, false) => PAST_BAR_COLOR,
                },
                current,
                small_sample,
                text: format!(
                    "{:<lw$}  {:>5}{mark:<1} ({})",
                    p.label,
                    nps(value),
                    responses(p.responses),
                    lw = label_width
                ),
            }
        })
        .collect::<Vec<_>>();
    let trend_note = trend
        .iter()
        .any(|c| c.small_sample)
        .then(|| format!("* Fewer than {SMALL_SAMPLE} responses: {SMALL_SAMPLE_WORDS}."));
    let trend_heading = match trend.len() {
        0 | 1 => "NPS trend".to_string(),
        n => format!("NPS over the last {n} {noun}s"),
    };

    View {
        d,
        title: format!("{} NPS — {}", d.brand, d.period_label),
        headline,
        silent,
        pausing: silent && d.pausing,
        figures_column,
        change_column,
        figures_text_header,
        figures,
        distribution,
        trend_heading,
        trend_width: 100 / trend.len().max(1),
        trend,
        trend_note,
        comments: [
            ("What detractors said", &d.detractor_comments),
            ("What promoters said", &d.promoter_comments),
        ]
        .into_iter()
        .filter(|(_, list)| !list.is_empty())
        .map(|(heading, list)| CommentSection {
            heading,
            comments: comments(list),
        })
        .collect(),
    }
}

/// The figure rows and the text part's header line over them.
pub(super) fn figure_rows(
    c: &Figures,
    p: Option<&Figures>,
    value_column: &str,
    change_column: Option<&str>,
) -> (Vec<FigureRow>, String) {
    let count_row = |label: &'static str, get: fn(&Figures) -> u64| {
        (
            label,
            count(get(c)),
            p.map(|p| count_change(get(c), get(p))),
        )
    };
    let rate_row = |label: &'static str, get: fn(&Figures) -> Option<f64>| {
        (
            label,
            percent(get(c)),
            p.map(|p| rate_change(get(c), get(p))),
        )
    };
    let rows = [
        count_row("Responses", |f| f.summary.responses),
        count_row("Promoters", |f| f.summary.promoters),
        count_row("Passives", |f| f.summary.passives),
        count_row("Detractors", |f| f.summary.detractors),
        count_row("Invitations sent", |f| f.invitations_sent),
        rate_row("Response rate", |f| f.response_rate),
        rate_row("Comment rate", |f| f.comment_rate),
    ];
    let vw = rows
        .iter()
        .map(|(_, v, _)| v.chars().count())
        .chain([value_column.chars().count()])
        .max()
        .unwrap_or(0);
    let line = |label: &str, value: &str, change: Option<&str>| match change {
        Some(ch) => format!("{label:<18}{value:>vw$}   {ch}"),
        None => format!("{label:<18}{value:>vw$}"),
    };
    let header = line("", value_column, change_column);
    let rows = rows
        .into_iter()
        .map(|(label, value, change)| FigureRow {
            label,
            text: line(label, &value, change.as_deref()),
            value,
            change,
        })
        .collect();
    (rows, header)
}

pub(super) fn comments(list: &[NotableComment]) -> Vec<CommentView<'_>> {
    list.iter()
        .take(COMMENTS_MAX)
        .map(|c| {
            let name = c
                .first_name
                .as_deref()
                .and_then(crate::domain::survey::first_name)
                .unwrap_or_else(|| "A customer".to_string());
            let pairs = c
                .segment
                .iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect::<Vec<_>>();
            let comment = c.comment.trim();
            let (cut, more) = match comment.char_indices().nth(COMMENT_MAX_CHARS) {
                Some((at, _)) => (comment[..at].trim_end(), true),
                None => (comment, false),
            };
            let lines: Vec<&str> = cut.lines().map(str::trim_end).collect();
            CommentView {
                score: c.score,
                name,
                segment: pairs.join(" · "),
                text_segment: pairs.join(", "),
                lines,
                cut: more,
                color: score_color(c.score),
            }
        })
        .collect()
}

pub(super) fn score_color(score: u8) -> &'static str {
    use crate::domain::score::Category;
    match Category::of(score.into()) {
        Category::Detractor => DETRACTOR_COLOR,
        Category::Passive => PASSIVE_COLOR,
        Category::Promoter => PROMOTER_COLOR,
    }
}

pub(super) fn finite(x: Option<f64>) -> Option<f64> {
    x.filter(|x| x.is_finite())
}

/// Rounded to one decimal, without a negative zero.
pub(super) fn round1(x: f64) -> f64 {
    let r = (x * 10.0).round() / 10.0;
    if r == 0.0 {
        0.0
    } else {
        r
    }
}

/// 42 or 42.5: no decimals when integral, else one.
pub(super) fn number(x: f64) -> String {
    let r = round1(x);
    if r.fract() == 0.0 {
        format!("{r:.0}")
    } else {
        format!("{r:.1}")
    }
}

/// "+42", "0", "-12.5", "–" for no NPS.
pub(super) fn nps(x: Option<f64>) -> String {
    match finite(x).map(round1) {
        Some(r) if r > 0.0 => format!("+{}", number(r)),
        Some(r) => number(r),
        None => "–".to_string(),
    }
}

/// "1 response", "12,480 responses".
pub(super) fn responses(n: u64) -> String {
    match n {
        1 => "1 response".to_string(),
        n => format!("{} responses", count(n)),
    }
}

/// 12,480.
pub(super) fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

pub(super) fn count_change(now: u64, before: u64) -> String {
    match now.cmp(&before) {
        std::cmp::Ordering::Equal => "no change".to_string(),
        std::cmp::Ordering::Greater => format!("+{}", count(now - before)),
        std::cmp::Ordering::Less => format!("-{}", count(before - now)),
    }
}

/// "25.6%", "–" when unknown.
pub(super) fn percent(rate: Option<f64>) -> String {
    match finite(rate) {
        Some(r) => format!("{:.1}%", r * 100.0),
        None => "–".to_string(),
    }
}

/// "+2.5 pts", "no change", "–" when either rate is unknown.
pub(super) fn rate_change(now: Option<f64>, before: Option<f64>) -> String {
    match (finite(now), finite(before)) {
        (Some(n), Some(b)) => {
            let points = round1((n - b) * 100.0);
            if points == 0.0 {
                "no change".to_string()
            } else {
                format!("{points:+.1} pts")
            }
        }
        _ => "–".to_string(),
    }
}

/// The NPS change from `before` to `now`, notable or not by the domain's rule; `arrows` words a
/// notable one "▲ 5", else "+5". `None` when either period has no NPS.
pub(super) fn change(
    now: &NpsSummary,
    before: &NpsSummary,
    versus: &str,
    arrows: bool,
) -> Option<Change> {
    let (up, amount) = match NpsChange::between(now, before)? {
        NpsChange::Up(by) => (true, number(by)),
        NpsChange::Down(by) => (false, number(by)),
        NpsChange::NoClearChange => {
            return Some(Change {
                arrow: "",
                arrow_label: "",
                html: format!("no clear change {versus}"),
                text: format!("no clear change {versus}"),
                color: NEUTRAL_COLOR,
            })
        }
    };
    Some(Change {
        arrow: match (arrows, up) {
            (false, _) => "",
            (true, true) => "▲",
            (true, false) => "▼",
        },
        arrow_label: if up { "up" } else { "down" },
        html: if arrows {
            format!("{amount} {versus}")
        } else {
            format!("{}{amount} {versus}", if up { "+" } else { "-" })
        },
        text: format!("{} {amount} {versus}", if up { "up" } else { "down" }),
        color: if up { UP_COLOR } else { DOWN_COLOR },
    })
}
