//! The one NPS report: counts, NPS with its margin, invitations sent, response and comment
//! rates for a survey and a filter, and the same figures per period (trend) and per property
//! value (breakdown). The API, the digest and the dashboard all read their figures from here, so
//! they agree to the decimal.
use super::responses::ResponseFilter;
use super::tallies::{self, Tally};
use super::{DbConn, StoreResult};
use crate::ids::SurveyId;
use crate::state::Channel;
use npsd_domain::insight::TrendPeriod;
use npsd_domain::nps::{response_rate, NpsSummary, ScoreCounts};

#[derive(Debug, Clone, PartialEq)]
pub struct NpsReport {
    pub counts: ScoreCounts,
    pub summary: NpsSummary,
    pub invitations_sent: u64,
    /// Email answers per invitation sent; None for web-only figures or when nothing was sent.
    pub response_rate: Option<f64>,
    /// Counted responses with a comment.
    pub comments: u64,
    /// Responses with a comment per response; None without responses.
    pub comment_rate: Option<f64>,
}

impl NpsReport {
    fn new(t: Tally, f: &ResponseFilter) -> NpsReport {
        let summary = NpsSummary::from_counts(&t.counts);
        // Only answers that came without an email (web, API, import; or only verified ones,
        // which are all web answers): no rate of emails.
        let web_only = f.channel.is_some_and(|c| c != Channel::Email) || f.verified == Some(true);
        let comment_rate = (summary.responses > 0).then(|| {
            let rate = t.comments as f64 / summary.responses as f64;
            (rate * 1000.0).round() / 1000.0
        });
        NpsReport {
            response_rate: if web_only {
                None
            } else {
                response_rate(t.by_email, t.sent)
            },
            counts: t.counts,
            summary,
            invitations_sent: t.sent,
            comments: t.comments,
            comment_rate,
        }
    }
}

pub fn nps(conn: &mut DbConn, survey_id: &SurveyId, f: &ResponseFilter) -> StoreResult<NpsReport> {
    Ok(NpsReport::new(tallies::between(conn, survey_id, f)?, f))
}

/// The report of each period, in order. Whole-hour periods without other filters read the hourly
/// tallies once; anything else is counted per period.
pub fn trend(
    conn: &mut DbConn,
    survey_id: &SurveyId,
    f: &ResponseFilter,
    periods: &[TrendPeriod],
) -> StoreResult<Vec<NpsReport>> {
    if periods.is_empty() {
        return Ok(Vec::new());
    }
    let aligned = periods
        .iter()
        .all(|p| tallies::on_the_hour(p.start) && tallies::on_the_hour(p.end));
    if !f.tallied() || !aligned {
        return periods
            .iter()
            .map(|p| nps(conn, survey_id, &f.between(p.start, p.end)))
            .collect();
    }
    // Whole-hour periods: two queries for all of them (days inside, hours at the cuts).
    let ranges: Vec<_> = periods.iter().map(|p| (p.start, p.end)).collect();
    Ok(tallies::periods(conn, survey_id, f.channel, &ranges)?
        .into_iter()
        .zip(periods)
        .map(|(t, p)| NpsReport::new(t, &f.between(p.start, p.end)))
        .collect())
}

/// One value of a property, with its figures.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    pub value: String,
    /// Its figures; `summary.small_sample` says when they are too few to rely on.
    pub summary: NpsSummary,
}

/// The NPS per value of property `by`, worst first (then by value).
pub fn breakdown(
    conn: &mut DbConn,
    survey_id: &SurveyId,
    f: &ResponseFilter,
    by: &str,
) -> StoreResult<Vec<Segment>> {
    let mut segments: Vec<Segment> = tallies::segments(conn, survey_id, f, by)?
        .into_iter()
        .map(|(value, [p, pa, d])| Segment {
            value,
            summary: NpsSummary::from_categories(p, pa, d),
        })
        .collect();
    segments.sort_by(|a, b| {
        a.summary
            .nps
            .unwrap_or(f64::MAX)
            .total_cmp(&b.summary.nps.unwrap_or(f64::MAX))
            .then_with(|| a.value.cmp(&b.value))
    });
    Ok(segments)
}
