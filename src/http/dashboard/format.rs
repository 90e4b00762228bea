//! How the dashboard writes figures: a signed NPS, its margin, a change named only when it is
//! beyond both margins, small samples said in words, shares in percent, links with changed
//! query pairs.
use super::charts::TrendDatum;
use crate::domain::nps::{NpsChange, NpsSummary, SMALL_SAMPLE_WORDS};
use crate::http::api::results::Trend;

pub(super) fn signed_nps(v: Option<f64>) -> String {
    match v {
        Some(v) if v > 0.0 => format!("+{v:.1}"),
        Some(v) => format!("{v:.1}"),
        None => "–".to_string(),
    }
}

pub(super) fn margin(v: Option<f64>) -> String {
    v.map(|m| format!("±{m:.1}")).unwrap_or_default()
}

/// "Only 12 responses: too few answers for a reliable figure."; None from 30 responses or
/// without any (the page says "–" then).
pub(super) fn small_sample_note(s: &NpsSummary) -> Option<String> {
    (s.small_sample && s.responses > 0).then(|| {
        let responses = match s.responses {
            1 => "1 response".to_string(),
            n => format!("{n} responses"),
        };
        format!("Only {responses}: {SMALL_SAMPLE_WORDS}.")
    })
}

/// A period's NPS against the one before: "up 12.5", "down 3", "no clear change" (the domain's
/// rule), "–" when either has no responses.
pub(super) fn change(now: &NpsSummary, before: Option<&NpsSummary>) -> String {
    match before.and_then(|b| NpsChange::between(now, b)) {
        Some(NpsChange::Up(by)) => format!("up {by:.1}"),
        Some(NpsChange::Down(by)) => format!("down {by:.1}"),
        Some(NpsChange::NoClearChange) => "no clear change".to_string(),
        None => "–".to_string(),
    }
}

pub(super) fn percent(part: u64, whole: u64) -> String {
    if whole == 0 {
        "0%".into()
    } else {
        format!("{:.0}%", part as f64 * 100.0 / whole as f64)
    }
}

/// A trend's points as the charts draw them: each period's first day, NPS, margin and whether it
/// rests on too few answers.
pub(super) fn trend_data(trend: &Trend) -> Vec<TrendDatum> {
    trend
        .periods
        .iter()
        .zip(&trend.reports)
        .map(|(p, r)| TrendDatum {
            label: p.first_day.format("%b %-d").to_string(),
            nps: r.summary.nps,
            margin: r.summary.margin_of_error,
            small_sample: r.summary.small_sample,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_is_named_only_beyond_both_margins() {
        let one_promoter = NpsSummary::from_categories(1, 0, 0);
        let one_detractor = NpsSummary::from_categories(0, 0, 1);
        assert_eq!(
            change(&one_detractor, Some(&one_promoter)),
            "no clear change"
        );
        let better = NpsSummary::from_categories(200, 100, 100);
        let worse = NpsSummary::from_categories(100, 100, 200);
        assert_eq!(change(&better, Some(&worse)), "up 50.0");
        assert_eq!(change(&worse, Some(&better)), "down 50.0");
        assert_eq!(change(&better, None), "–");
        assert_eq!(
            change(&better, Some(&NpsSummary::from_categories(0, 0, 0))),
            "–"
        );
    }

    #[test]
    fn few_answers_are_said_in_words() {
        assert_eq!(
            small_sample_note(&NpsSummary::from_categories(1, 0, 0)).as_deref(),
            Some("Only 1 response: too few answers for a reliable figure.")
        );
        assert_eq!(
            small_sample_note(&NpsSummary::from_categories(20, 5, 4)).as_deref(),
            Some("Only 29 responses: too few answers for a reliable figure.")
        );
        assert_eq!(
            small_sample_note(&NpsSummary::from_categories(20, 5, 5)),
            None
        );
        assert_eq!(
            small_sample_note(&NpsSummary::from_categories(0, 0, 0)),
            None
        );
    }
}
