//! Reading results: the NPS of a period and the comments behind it.
use super::auth::{Read, Scoped};
use super::json::{decode_cursor, encode_cursor, parse_limit, timestamp};
use crate::domain::score::Category;
use crate::domain::state::Channel;
use crate::domain::ValidationError;
use crate::error::ApiError;
use crate::http::AppState;
use crate::store::reports::{self, NpsReport};
use crate::store::responses::{self, CommentQuery, ResponseFilter};
use crate::store::surveys;
use crate::store::surveys::SurveyRow;
use actix_web::{web, HttpResponse};
use chrono::{Days, NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

/// An inclusive range of days, as `from=YYYY-MM-DD&to=YYYY-MM-DD`, in UTC or in the IANA zone
/// of `tz=` (the digest's links name the survey's zone, so they show its very figures).
pub struct Period {
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    tz: Option<String>,
}

impl Period {
    pub fn parse(from: Option<&str>, to: Option<&str>) -> Result<Period, ValidationError> {
        let day = |field: &str, raw: Option<&str>| {
            raw.filter(|s| !s.is_empty())
                .map(|s| {
                    NaiveDate::parse_from_str(s, "%Y-%m-%d")
                        .map_err(|_| ValidationError::new(field, "must be a date like 2026-01-31"))
                })
                .transpose()
        };
        let period = Period {
            from: day("from", from)?,
            to: day("to", to)?,
            tz: None,
        };
        if let (Some(f), Some(t)) = (period.from, period.to) {
            if f > t {
                return Err(ValidationError::new("from", "must not be after to"));
            }
        }
        Ok(period)
    }

    /// Days in the IANA zone `tz` instead of UTC.
    pub fn in_zone(mut self, tz: Option<&str>) -> Result<Period, ValidationError> {
        if let Some(tz) = tz.filter(|t| !t.is_empty()) {
            crate::domain::digest::local_midnight(tz, NaiveDate::default())?;
            self.tz = Some(tz.to_string());
        }
        Ok(self)
    }

    fn midnight(&self, d: NaiveDate) -> NaiveDateTime {
        match &self.tz {
            Some(tz) => crate::domain::digest::local_midnight(tz, d)
                .unwrap_or_else(|_| d.and_hms_opt(0, 0, 0).expect("midnight")),
            None => d.and_hms_opt(0, 0, 0).expect("midnight"),
        }
    }

    pub fn start(&self) -> Option<NaiveDateTime> {
        self.from.map(|d| self.midnight(d))
    }

    /// The first instant after the period.
    pub fn end(&self) -> Option<NaiveDateTime> {
        self.to
            .and_then(|d| d.checked_add_days(Days::new(1)))
            .map(|d| self.midnight(d))
    }

    fn echo(d: Option<NaiveDate>) -> Option<String> {
        d.map(|d| d.format("%Y-%m-%d").to_string())
    }
}

async fn find_survey(state: &AppState, slug: String) -> Result<SurveyRow, ApiError> {
    let lookup = slug.clone();
    state
        .store
        .read(move |c| surveys::find_by_slug(c, &lookup))
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no survey with slug '{slug}'")))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NpsQuery {
    /// First UTC day, YYYY-MM-DD.
    from: Option<String>,
    to: Option<String>,
    /// email or web: only answers that came that way.
    channel: Option<String>,
    /// true: only web answers whose identity the site signed; false: only the others.
    verified: Option<String>,
    /// An IANA time zone: `from` and `to` are days there (default UTC).
    tz: Option<String>,
}

/// `channel=email|web`; absent or empty: every channel.
pub fn parse_channel(raw: Option<&str>) -> Result<Option<Channel>, ValidationError> {
    raw.filter(|c| !c.is_empty())
        .map(|c| {
            c.parse::<Channel>()
                .map_err(|_| ValidationError::new("channel", "must be email or web"))
        })
        .transpose()
}

pub fn parse_verified(raw: Option<&str>) -> Result<Option<bool>, ValidationError> {
    match raw.filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some("true" | "1") => Ok(Some(true)),
        Some("false" | "0") => Ok(Some(false)),
        Some(_) => Err(ValidationError::new("verified", "must be true or false")),
    }
}

#[utoipa::path(get, path = "/api/v1/surveys/{slug}/nps", tag = "results",
    params(("slug" = String, Path, description = "The survey's slug"), NpsQuery),
    responses((status = 200, description = "The NPS of the period", body = NpsView)), security(("bearer" = [])))]
pub async fn nps(
    _: Scoped<Read>,
    state: web::Data<AppState>,
    slug: web::Path<String>,
    query: web::Query<NpsQuery>,
) -> Result<HttpResponse, ApiError> {
    let period =
        Period::parse(query.from.as_deref(), query.to.as_deref())?.in_zone(query.tz.as_deref())?;
    let filter = ResponseFilter {
        from: period.start(),
        until: period.end(),
        channel: parse_channel(query.channel.as_deref())?,
        verified: parse_verified(query.verified.as_deref())?,
    };
    let survey = find_survey(&state, slug.into_inner()).await?;
    let report = state
        .store
        .read(move |c| reports::nps(c, &survey.id, &filter))
        .await?;
    Ok(HttpResponse::Ok().json(NpsView::new(&report, &period)))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CommentsQuery {
    /// promoter, passive or detractor.
    category: Option<String>,
    from: Option<String>,
    to: Option<String>,
    limit: Option<String>,
    cursor: Option<String>,
    /// email or web.
    channel: Option<String>,
    /// true: only web answers whose identity the site signed.
    verified: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/surveys/{slug}/comments", tag = "results",
    params(("slug" = String, Path, description = "The survey's slug"), CommentsQuery),
    responses((status = 200, description = "Comments, newest first", body = CommentsPage)), security(("bearer" = [])))]
pub async fn comments(
    _: Scoped<Read>,
    state: web::Data<AppState>,
    slug: web::Path<String>,
    query: web::Query<CommentsQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let period = Period::parse(q.from.as_deref(), q.to.as_deref())?;
    let category = q
        .category
        .as_deref()
        .filter(|c| !c.is_empty())
        .map(|c| Category::parse("category", c))
        .transpose()?;
    // Larger pages than the maximum are cut to it: the cursor brings the rest.
    let limit = parse_limit(q.limit.as_deref())?;
    let before = q
        .cursor
        .as_deref()
        .filter(|c| !c.is_empty())
        .map(decode_cursor)
        .transpose()?;
    let survey = find_survey(&state, slug.into_inner()).await?;
    let query = CommentQuery {
        survey_id: survey.id.clone(),
        category,
        filter: ResponseFilter {
            from: period.start(),
            until: period.end(),
            channel: parse_channel(q.channel.as_deref())?,
            verified: parse_verified(q.verified.as_deref())?,
        },
        before,
        limit: limit + 1,
        commented: true,
    };
    let (mut rows, properties) = state
        .store
        .read(move |c| {
            let rows = responses::comments(c, &query)?;
            let properties = responses::properties_of_comments(c, &rows)?;
            Ok((rows, properties))
        })
        .await?;
    let next_cursor = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last()
            .map(|r| encode_cursor(r.responded_at, &r.response_id))
    } else {
        None
    };
    let comments: Vec<CommentView> = rows
        .iter()
        .map(|r| CommentView {
            response_id: r.response_id.clone(),
            score: r.score,
            comment: r.comment.clone(),
            channel: r.channel.to_string(),
            email: r.invitation_email.clone().or_else(|| r.web_email.clone()),
            name: r.invitation_name.clone().or_else(|| r.web_name.clone()),
            customer_id: r.customer_id.clone(),
            transaction_id: r.transaction_id.clone(),
            page_url: r.page_url.clone(),
            verified: r.verified,
            properties: properties
                .get(&r.response_id)
                .into_iter()
                .flatten()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect(),
            responded_at: timestamp(r.responded_at),
        })
        .collect();
    Ok(HttpResponse::Ok().json(CommentsPage {
        comments,
        next_cursor,
    }))
}

/// The NPS of a period, with what it is made of.
#[derive(Serialize, ToSchema)]
pub struct NpsView {
    /// -100 to 100, one decimal; null without responses.
    pub nps: Option<f64>,
    pub responses: u64,
    pub promoters: u64,
    pub passives: u64,
    pub detractors: u64,
    pub invitations_sent: u64,
    /// Responses per invitation sent, 0 to 1; null when nothing was sent.
    pub response_rate: Option<f64>,
    /// 95% margin of error, in NPS points.
    pub margin_of_error: Option<f64>,
    /// Counted responses with a comment.
    pub comments: u64,
    /// Responses with a comment per response, 0 to 1; null without responses.
    pub comment_rate: Option<f64>,
    /// Counted responses per score 0..=10.
    pub distribution: [u64; 11],
    pub from: Option<String>,
    pub to: Option<String>,
}

impl NpsView {
    pub fn new(r: &NpsReport, period: &Period) -> NpsView {
        NpsView {
            nps: r.summary.nps,
            responses: r.summary.responses,
            promoters: r.summary.promoters,
            passives: r.summary.passives,
            detractors: r.summary.detractors,
            invitations_sent: r.invitations_sent,
            response_rate: r.response_rate,
            margin_of_error: r.summary.margin_of_error,
            comments: r.comments,
            comment_rate: r.comment_rate,
            distribution: *r.counts.per_score(),
            from: Period::echo(period.from),
            to: Period::echo(period.to),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct CommentView {
    pub response_id: String,
    pub score: i32,
    pub comment: Option<String>,
    /// email or web.
    pub channel: String,
    /// The email's recipient, or the address a web page gave.
    pub email: Option<String>,
    pub name: Option<String>,
    /// Web answers: the customer id the page gave.
    pub customer_id: Option<String>,
    /// Email answers: the transaction surveyed.
    pub transaction_id: Option<String>,
    /// Web answers: the page the answer was given on.
    pub page_url: Option<String>,
    /// Web answers: the site signed the email or customer id.
    pub verified: bool,
    #[schema(value_type = std::collections::HashMap<String, String>)]
    pub properties: serde_json::Map<String, Value>,
    pub responded_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct CommentsPage {
    pub comments: Vec<CommentView>,
    pub next_cursor: Option<String>,
}
