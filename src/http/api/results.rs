//! Reading results: the NPS of a period, its trend, its breakdown by a property, and the
//! comments behind it.
//! (Over 400 lines: four routes, their documented queries and the views they answer with;
//! the views are theirs alone.)
use super::auth::{Read, Scoped};
use super::json::{decode_position, encode_position, parse_limit, timestamp};
use crate::domain::insight::{self, CommentSort, Interval, SearchWords};
use crate::domain::nps::NpsSummary;
use crate::domain::score::Category;
use crate::domain::ValidationError;
use crate::http::error::ApiError;
use crate::http::error::ApiReply;
use crate::http::query::QueryPairs;
use crate::http::AppState;
use crate::http::State;
use crate::store::ids::SurveyId;
use crate::store::reports::{NpsReport, Segment};
use crate::store::responses::{CommentQuery, CommentRow};
use crate::store::state::ResponseStatus;
use actix_web::{web, HttpResponse};
use serde::Serialize;
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

pub use crate::http::query::{parse_channel, parse_verified, Period};
pub use npsd_app::reports::Trend;

/// The filters every insight takes (figures, trend, breakdown, comments, lists, export). For
/// OpenAPI only: handlers read them through `QueryPairs`, which also takes the segments.
#[allow(dead_code)]
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InsightFilters {
    /// First day, YYYY-MM-DD (in `tz`, UTC by default).
    from: Option<String>,
    /// Last day, YYYY-MM-DD, inclusive.
    to: Option<String>,
    /// An IANA time zone: `from` and `to` are days there (default UTC).
    tz: Option<String>,
    /// email, web, api or import: only answers that came that way.
    channel: Option<String>,
    /// true: only web answers whose identity the site signed; false: only the others.
    verified: Option<String>,
    /// Segments: `property.plan=pro&property.country=DE`; a name repeated means any of its
    /// values. At most 10 names and 50 values in all (422 beyond).
    #[param(rename = "property.NAME")]
    property: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/surveys/{slug}/nps", tag = "results",
    params(("slug" = String, Path, description = "The survey's slug"), InsightFilters),
    responses((status = 200, description = "The NPS of the period", body = NpsView)), security(("bearer" = [])))]
pub async fn nps(
    _: Scoped<Read>,
    state: State,
    slug: web::Path<String>,
    query: QueryPairs,
) -> ApiReply {
    let (period, filter) = query.filter()?;
    let survey = npsd_app::surveys::find(&state.app, slug.into_inner()).await?;
    let report = npsd_app::reports::nps(&state.app, survey.id, filter).await?;
    Ok(HttpResponse::Ok().json(NpsView::new(&report, &period)))
}

/// Documents the query for OpenAPI; the handler reads it through `QueryPairs`.
#[allow(dead_code)]
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TrendQuery {
    /// day, week (ISO, from Monday) or month; default week. Without `from`: 30 days, 12 weeks
    /// or 12 months up to `to` (default today in `tz`).
    interval: Option<String>,
}

/// Reads a trend for a query (the API and the dashboard both call this).
pub async fn read_trend(
    state: &AppState,
    survey_id: SurveyId,
    query: &QueryPairs,
    default_interval: Interval,
) -> Result<Trend, ApiError> {
    let interval = match query.get("interval").filter(|s| !s.is_empty()) {
        Some(raw) => Interval::parse(Some(raw))?,
        None => default_interval,
    };
    let (period, filter) = query.filter()?;
    Ok(npsd_app::reports::trend(&state.app, survey_id, interval, &period, filter).await?)
}

#[utoipa::path(get, path = "/api/v1/surveys/{slug}/nps/trend", tag = "results",
    params(("slug" = String, Path, description = "The survey's slug"), TrendQuery, InsightFilters),
    responses((status = 200, description = "One point per period, empty periods with nps null", body = TrendView)),
    security(("bearer" = [])))]
pub async fn trend(
    _: Scoped<Read>,
    state: State,
    slug: web::Path<String>,
    query: QueryPairs,
) -> ApiReply {
    let survey = npsd_app::surveys::find(&state.app, slug.into_inner()).await?;
    let t = read_trend(&state, survey.id, &query, Interval::Week).await?;
    Ok(HttpResponse::Ok().json(TrendView::new(&t)))
}

/// Documents the query for OpenAPI; the handler reads it through `QueryPairs`.
#[allow(dead_code)]
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BreakdownQuery {
    /// The property to break down by, e.g. plan.
    by: String,
}

#[utoipa::path(get, path = "/api/v1/surveys/{slug}/nps/breakdown", tag = "results",
    params(("slug" = String, Path, description = "The survey's slug"), BreakdownQuery, InsightFilters),
    responses((status = 200, description = "The NPS per value of the property, worst first", body = BreakdownView)),
    security(("bearer" = [])))]
pub async fn breakdown(
    _: Scoped<Read>,
    state: State,
    slug: web::Path<String>,
    query: QueryPairs,
) -> ApiReply {
    let by = insight::parse_property_name("by", query.get("by"))?;
    let (_, filter) = query.filter()?;
    let survey = npsd_app::surveys::find(&state.app, slug.into_inner()).await?;
    let segments = npsd_app::reports::breakdown(&state.app, survey.id, filter, by.clone()).await?;
    Ok(HttpResponse::Ok().json(BreakdownView {
        by,
        segments: segments.iter().map(SegmentView::new).collect(),
    }))
}

/// Documents the query for OpenAPI; the handler reads it through `QueryPairs`.
#[allow(dead_code)]
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CommentsQuery {
    /// Full-text search: every word must match (stemmed: "deliveries" finds "delivery").
    q: Option<String>,
    /// promoter, passive or detractor.
    category: Option<String>,
    min_score: Option<String>,
    max_score: Option<String>,
    /// newest (default) or lowest score first.
    sort: Option<String>,
    limit: Option<String>,
    cursor: Option<String>,
}

/// A comment feed's query, parsed (the API, the export and the dashboard share it).
pub fn comment_query(
    query: &QueryPairs,
    survey_id: SurveyId,
    status: ResponseStatus,
) -> Result<CommentQuery, ValidationError> {
    let (_, filter) = query.filter()?;
    let category = query
        .get("category")
        .filter(|c| !c.is_empty())
        .map(|c| Category::parse("category", c))
        .transpose()?;
    let min_score = insight::parse_score_bound("min_score", query.get("min_score"))?;
    let max_score = insight::parse_score_bound("max_score", query.get("max_score"))?;
    if let (Some(lo), Some(hi)) = (min_score, max_score) {
        if lo > hi {
            return Err(ValidationError::new(
                "min_score",
                "must not be above max_score",
            ));
        }
    }
    let sort = CommentSort::parse(query.get("sort"))?;
    let after = query
        .get("cursor")
        .filter(|c| !c.is_empty())
        .map(decode_position)
        .transpose()?;
    if after
        .as_ref()
        .is_some_and(|p| p.score.is_some() != (sort == CommentSort::Lowest))
    {
        return Err(ValidationError::new(
            "cursor",
            "belongs to a list in another order",
        ));
    }
    Ok(CommentQuery {
        survey_id,
        status,
        category,
        min_score,
        max_score,
        filter,
        words: SearchWords::parse(query.get("q"))?,
        sort,
        after,
        limit: parse_limit(query.get("limit"))?,
        commented: Some(true),
    })
}

/// One page of a response list and the cursor of the next.
pub async fn read_page(
    state: &AppState,
    query: CommentQuery,
) -> Result<(Vec<CommentView>, Option<String>), ApiError> {
    let page = npsd_app::reports::comments(&state.app, query).await?;
    let views = page
        .rows
        .iter()
        .map(|r| CommentView::new(r, page.properties.get(r.response_id.as_str())))
        .collect();
    Ok((views, page.next.as_ref().map(encode_position)))
}

#[utoipa::path(get, path = "/api/v1/surveys/{slug}/comments", tag = "results",
    params(("slug" = String, Path, description = "The survey's slug"), CommentsQuery, InsightFilters),
    responses((status = 200, description = "Comments, newest (or lowest score) first", body = CommentsPage)), security(("bearer" = [])))]
pub async fn comments(
    _: Scoped<Read>,
    state: State,
    slug: web::Path<String>,
    query: QueryPairs,
) -> ApiReply {
    let survey = npsd_app::surveys::find(&state.app, slug.into_inner()).await?;
    let q = comment_query(&query, survey.id, ResponseStatus::Counted)?;
    let (comments, next_cursor) = read_page(&state, q).await?;
    Ok(HttpResponse::Ok().json(CommentsPage {
        comments,
        next_cursor,
    }))
}

/// The NPS of a period, with what it is made of.
#[derive(Serialize, ToSchema)]
pub struct NpsView {
    #[serde(flatten)]
    pub figures: FiguresView,
    pub invitations_sent: u64,
    /// Responses per invitation sent, 0 to 1; null when nothing was sent.
    pub response_rate: Option<f64>,
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
            figures: FiguresView::from(&r.summary),
            invitations_sent: r.invitations_sent,
            response_rate: r.response_rate,
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
    /// The response's id (also as `response_id`).
    pub id: String,
    pub response_id: String,
    pub score: i32,
    /// promoter, passive or detractor.
    pub category: String,
    /// counted, or bot: discarded by the scanner rules (or by hand).
    pub status: String,
    /// Why a bot answer was discarded (or that a person decided).
    pub status_reason: Option<String>,
    /// The same as `status_reason`.
    pub reason: Option<String>,
    pub comment: Option<String>,
    /// email, web, api or import.
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

impl CommentView {
    pub fn new(r: &CommentRow, properties: Option<&Vec<(String, String)>>) -> CommentView {
        CommentView {
            id: r.response_id.to_string(),
            response_id: r.response_id.to_string(),
            score: r.score,
            category: category_of(r.score).to_string(),
            status: r.status.to_string(),
            status_reason: r.status_reason.clone(),
            reason: r.status_reason.clone(),
            comment: r.comment.clone(),
            channel: r.channel.to_string(),
            email: r.email().map(str::to_string),
            name: r.name().map(str::to_string),
            customer_id: r.customer_id.clone(),
            transaction_id: r.transaction_id.clone(),
            page_url: r.page_url.clone(),
            verified: r.verified,
            properties: properties
                .into_iter()
                .flatten()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect(),
            responded_at: timestamp(r.responded_at),
        }
    }
}

/// promoter, passive or detractor, by score.
pub fn category_of(score: i32) -> &'static str {
    Category::of(score).as_str()
}

#[derive(Serialize, ToSchema)]
pub struct CommentsPage {
    pub comments: Vec<CommentView>,
    pub next_cursor: Option<String>,
}

/// The figures of a set of responses, as a trend's period and a segment give them.
#[derive(Serialize, ToSchema)]
pub struct FiguresView {
    /// -100 to 100, one decimal; null without responses.
    pub nps: Option<f64>,
    pub responses: u64,
    pub promoters: u64,
    pub passives: u64,
    pub detractors: u64,
    /// The 95% margin of error, in NPS points, by the adjusted-Wald method (Rocks 2016: 3 added
    /// to the responses and 3/4 to promoters and to detractors); never 0 with a response, null
    /// without.
    pub margin_of_error: Option<f64>,
    /// The lower end of the 95% adjusted-Wald interval, -100 to 100. The interval is centred
    /// on the adjusted estimate, which leans toward 0 when answers are few; null without
    /// responses.
    pub interval_low: Option<f64>,
    /// The upper end of the same interval.
    pub interval_high: Option<f64>,
    /// Fewer than 30 responses: too few answers for a reliable figure. Also true without any
    /// responses (then `nps` is null).
    pub small_sample: bool,
}

impl From<&NpsSummary> for FiguresView {
    fn from(s: &NpsSummary) -> FiguresView {
        FiguresView {
            nps: s.nps,
            responses: s.responses,
            promoters: s.promoters,
            passives: s.passives,
            detractors: s.detractors,
            margin_of_error: s.margin_of_error,
            interval_low: s.interval.map(|i| i.low),
            interval_high: s.interval.map(|i| i.high),
            small_sample: s.small_sample,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct TrendPoint {
    /// The period's first day, YYYY-MM-DD in `tz`.
    pub start: String,
    /// The period's last day, inclusive.
    pub end: String,
    /// The period's figures; `nps` is null for a period without responses.
    #[serde(flatten)]
    pub figures: FiguresView,
}

#[derive(Serialize, ToSchema)]
pub struct TrendView {
    /// day, week or month.
    pub interval: String,
    pub tz: String,
    pub points: Vec<TrendPoint>,
}

impl TrendView {
    pub fn new(t: &Trend) -> TrendView {
        TrendView {
            interval: t.interval.as_str().to_string(),
            tz: t.tz.clone(),
            points: t
                .periods
                .iter()
                .zip(&t.reports)
                .map(|(p, r)| TrendPoint {
                    start: p.first_day.format("%Y-%m-%d").to_string(),
                    end: p.last_day.format("%Y-%m-%d").to_string(),
                    figures: FiguresView::from(&r.summary),
                })
                .collect(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct SegmentView {
    pub value: String,
    #[serde(flatten)]
    pub figures: FiguresView,
}

impl SegmentView {
    pub fn new(s: &Segment) -> SegmentView {
        SegmentView {
            value: s.value.clone(),
            figures: FiguresView::from(&s.summary),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct BreakdownView {
    pub by: String,
    /// Worst NPS first.
    pub segments: Vec<SegmentView>,
}
