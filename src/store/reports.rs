//! The one NPS report: counts, NPS with its margin, invitations sent, response and comment
//! rates for a survey and a filter. The API, the digest and (later) the dashboard all read
//! their figures from here, so they agree to the decimal.
use super::responses::{self, ResponseFilter};
use super::schema::responses as r;
use super::{invitations, DbConn, StoreResult};
use crate::domain::nps::{response_rate, NpsSummary, ScoreCounts};
use crate::domain::state::{Channel, ResponseStatus};
use diesel::prelude::*;

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

pub fn nps(conn: &mut DbConn, survey_id: &str, f: &ResponseFilter) -> StoreResult<NpsReport> {
    let (counts, by_email) = responses::score_counts(conn, survey_id, f)?;
    let sent = invitations::count_sent(conn, survey_id, f.from, f.until)? as u64;
    let comments = count_comments(conn, survey_id, f)?;
    let summary = NpsSummary::from_counts(&counts);
    // Only web answers (or only verified ones, which are all web answers): no rate of emails.
    let web_only = f.channel == Some(Channel::Web) || f.verified == Some(true);
    let comment_rate = (summary.responses > 0).then(|| {
        let rate = comments as f64 / summary.responses as f64;
        (rate * 1000.0).round() / 1000.0
    });
    Ok(NpsReport {
        response_rate: if web_only {
            None
        } else {
            response_rate(by_email, sent)
        },
        counts,
        summary,
        invitations_sent: sent,
        comments,
        comment_rate,
    })
}

fn count_comments(conn: &mut DbConn, survey_id: &str, f: &ResponseFilter) -> StoreResult<u64> {
    let (from, until) = super::open_range(f.from, f.until);
    let mut q = r::table
        .filter(r::survey_id.eq(survey_id))
        .filter(r::status.eq(ResponseStatus::Counted))
        .filter(r::responded_at.ge(from))
        .filter(r::responded_at.lt(until))
        .filter(r::comment.is_not_null())
        .filter(r::comment.ne(""))
        .into_boxed();
    if let Some(channel) = f.channel {
        q = q.filter(r::channel.eq(channel));
    }
    if let Some(verified) = f.verified {
        q = q.filter(r::verified.eq(verified));
    }
    let n: i64 = q.count().get_result(conn)?;
    Ok(n as u64)
}
