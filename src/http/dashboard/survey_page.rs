//! One survey's dashboard page: its figures, trend, split, distribution, breakdown, comments and
//! bot audit, all read from the one report, for the period and segments the query names.
use super::charts::{self};
use super::format::{change, margin, percent, signed_nps, small_sample_note, trend_data};
use super::html;
use super::session::SignedIn;
use super::PageReply;
use crate::domain::insight::Interval;
use crate::http::api::results::{comment_query, read_page, read_trend, CommentView, Trend};
use crate::http::query::QueryPairs;
use crate::http::State;
use crate::store::reports::NpsReport;
use crate::store::responses::CommentQuery;
use crate::store::state::ResponseStatus;
use crate::store::surveys::SurveyRow;
use actix_web::{web, HttpRequest};
use askama::Template;

struct Choice {
    name: String,
    field: String,
    values: Vec<(String, bool)>,
}

struct TrendRow {
    label: String,
    nps: String,
    margin: String,
    responses: u64,
    small_sample: bool,
    /// Against the period before: "up 12.5", "down 3", "no clear change", "–".
    change: String,
}

struct SegmentRow {
    value: String,
    nps: String,
    margin: String,
    responses: u64,
    promoters: u64,
    passives: u64,
    detractors: u64,
    small_sample: bool,
}

/// A response as the feed shows it.
struct Item {
    id: String,
    score: i32,
    category: String,
    comment: String,
    when: String,
    channel: String,
    who: String,
    properties: String,
    reason: String,
}

impl Item {
    fn new(c: &CommentView) -> Item {
        Item {
            id: c.response_id.clone(),
            score: c.score,
            category: c.category.clone(),
            comment: c.comment.clone().unwrap_or_default(),
            when: c.responded_at.get(..10).unwrap_or("").to_string(),
            channel: c.channel.clone(),
            who: c
                .name
                .clone()
                .or_else(|| c.email.clone())
                .or_else(|| c.customer_id.clone())
                .unwrap_or_else(|| "Anonymous".into()),
            properties: c
                .properties
                .iter()
                .map(|(k, v)| format!("{k}: {}", v.as_str().unwrap_or("")))
                .collect::<Vec<_>>()
                .join(" · "),
            reason: c.status_reason.clone().unwrap_or_default(),
        }
    }
}

#[derive(Template)]
#[template(path = "dashboard/survey.html")]
struct SurveyView<'a> {
    user: Option<&'a str>,
    is_admin: bool,
    csrf: &'a str,
    survey: &'a SurveyRow,
    here: String,
    from: String,
    to: String,
    tz: String,
    channel: String,
    interval: String,
    q: String,
    category: String,
    sort: String,
    choices: Vec<Choice>,
    report: &'a NpsReport,
    nps: String,
    margin: String,
    /// "Only 12 responses: too few answers for a reliable figure."
    small_sample: Option<String>,
    promoters_pct: String,
    passives_pct: String,
    detractors_pct: String,
    response_rate: String,
    split_svg: String,
    trend_svg: String,
    /// Some point of the trend is from too few responses (the chart draws it hollow).
    trend_has_small: bool,
    trend_rows: Vec<TrendRow>,
    distribution_svg: String,
    distribution: Vec<(usize, u64)>,
    by: String,
    names: Vec<String>,
    segments: Vec<SegmentRow>,
    items: Vec<Item>,
    older: Option<String>,
    bots: Vec<Item>,
    export_link: String,
}

/// The query with some keys replaced (empty value: removed), as a link's query string.
fn with(pairs: &QueryPairs, changes: &[(&str, &str)]) -> String {
    let mut out: Vec<(String, String)> = pairs
        .0
        .iter()
        .filter(|(k, _)| !changes.iter().any(|(c, _)| c == k))
        .cloned()
        .collect();
    for (k, v) in changes {
        if !v.is_empty() {
            out.push((k.to_string(), v.to_string()));
        }
    }
    out.retain(|(_, v)| !v.is_empty());
    serde_urlencoded::to_string(&out).unwrap_or_default()
}

/// Most property names and values offered as filters; a long tail stays reachable by URL.
const MAX_CHOICES: usize = 8;

/// Without a range the page shows the last twelve weeks, in the survey's digest time zone.
fn default_range(query: &mut QueryPairs, survey: &SurveyRow, now: chrono::NaiveDateTime) {
    if !(query.get("from").unwrap_or("").is_empty() && query.get("to").unwrap_or("").is_empty()) {
        return;
    }
    let tz = query
        .get("tz")
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .unwrap_or_else(|| survey.digest_time_zone.clone());
    let today = crate::domain::digest::Zone::named(&tz)
        .and_then(|z| z.date_at(now))
        .unwrap_or(now.date());
    let from = Interval::Week.default_from(today);
    query
        .0
        .retain(|(k, _)| k != "from" && k != "to" && k != "tz");
    query.0.push(("from".into(), from.to_string()));
    query.0.push(("to".into(), today.to_string()));
    query.0.push(("tz".into(), tz));
}

/// The property filters offered: each name's values, those in the query ticked.
fn choices(values: Vec<(String, Vec<String>)>, query: &QueryPairs) -> Vec<Choice> {
    values
        .into_iter()
        .map(|(name, values)| {
            let field = format!("property.{name}");
            let chosen: Vec<&str> = query
                .0
                .iter()
                .filter(|(k, _)| *k == field)
                .map(|(_, v)| v.as_str())
                .collect();
            Choice {
                values: values
                    .into_iter()
                    .take(50)
                    .map(|v| {
                        let selected = chosen.contains(&v.as_str());
                        (v, selected)
                    })
                    .collect(),
                name,
                field,
            }
        })
        .collect()
}

/// The trend as a table: each period with its NPS, margin and change from the one before.
fn trend_rows(trend: &Trend) -> Vec<TrendRow> {
    trend
        .periods
        .iter()
        .zip(&trend.reports)
        .enumerate()
        .map(|(i, (p, r))| TrendRow {
            label: if p.first_day == p.last_day {
                p.first_day.to_string()
            } else {
                format!("{} to {}", p.first_day, p.last_day)
            },
            nps: signed_nps(r.summary.nps),
            margin: margin(r.summary.margin_of_error),
            responses: r.summary.responses,
            small_sample: r.summary.nps.is_some() && r.summary.small_sample,
            change: change(
                &r.summary,
                i.checked_sub(1).map(|j| &trend.reports[j].summary),
            ),
        })
        .collect()
}

impl SegmentRow {
    fn new(s: &crate::store::reports::Segment) -> SegmentRow {
        SegmentRow {
            value: s.value.clone(),
            nps: signed_nps(s.summary.nps),
            margin: margin(s.summary.margin_of_error),
            responses: s.summary.responses,
            promoters: s.summary.promoters,
            passives: s.summary.passives,
            detractors: s.summary.detractors,
            small_sample: s.summary.small_sample,
        }
    }
}

pub async fn survey(
    s: SignedIn,
    req: HttpRequest,
    state: State,
    slug: web::Path<String>,
) -> PageReply {
    let survey = npsd_app::surveys::find(&state.app, slug.into_inner()).await?;
    let mut query = QueryPairs::parse(req.query_string())?;
    default_range(&mut query, &survey, state.app.clock.now());
    let (period, filter) = query.filter()?;
    let interval = Interval::parse(query.get("interval"))?;
    let trend = read_trend(&state, survey.id.clone(), &query, interval).await?;

    let by = query
        .get("by")
        .filter(|b| !b.is_empty())
        .map(str::to_string);
    let npsd_app::reports::SurveyFigures {
        report,
        names,
        by,
        segments,
        values,
    } = npsd_app::reports::survey_figures(
        &state.app,
        survey.id.clone(),
        filter.clone(),
        by,
        MAX_CHOICES,
    )
    .await?;
    let comments = comment_query(&query, survey.id.clone(), ResponseStatus::Counted)?;
    let limit = comments.limit.min(25);
    let (found, next) = read_page(&state, CommentQuery { limit, ..comments }).await?;
    let bots_query = CommentQuery {
        survey_id: survey.id.clone(),
        status: ResponseStatus::Bot,
        filter: filter.clone(),
        commented: None,
        limit: 20,
        ..Default::default()
    };
    let (bots, _) = read_page(&state, bots_query).await?;

    let here = format!("/dashboard/{}", survey.slug);
    let sum = &report.summary;
    let choices = choices(values, &query);
    let trend_points = trend_data(&trend);
    let trend_has_small = trend_points
        .iter()
        .any(|p| p.nps.is_some() && p.small_sample);
    let trend_rows = trend_rows(&trend);
    let export_query = with(&query, &[("cursor", ""), ("limit", "")]);
    html(SurveyView {
        user: Some(&s.user.email),
        is_admin: s.user.is_admin(),
        csrf: &s.csrf,
        survey: &survey,
        from: period.from.map(|d| d.to_string()).unwrap_or_default(),
        to: period.to.map(|d| d.to_string()).unwrap_or_default(),
        tz: period
            .tz
            .as_ref()
            .map(|z| z.name().to_string())
            .unwrap_or_default(),
        channel: query.get("channel").unwrap_or("").to_string(),
        interval: interval.as_str().to_string(),
        q: query.get("q").unwrap_or("").to_string(),
        category: query.get("category").unwrap_or("").to_string(),
        sort: query.get("sort").unwrap_or("newest").to_string(),
        choices,
        nps: signed_nps(sum.nps),
        margin: margin(sum.margin_of_error),
        small_sample: small_sample_note(sum),
        promoters_pct: percent(sum.promoters, sum.responses),
        passives_pct: percent(sum.passives, sum.responses),
        detractors_pct: percent(sum.detractors, sum.responses),
        response_rate: report
            .response_rate
            .map(|r| format!("{:.0}%", r * 100.0))
            .unwrap_or_else(|| "–".into()),
        split_svg: charts::split(sum.promoters, sum.passives, sum.detractors),
        trend_svg: charts::trend(&trend_points, &survey.accent_color),
        trend_has_small,
        trend_rows,
        distribution_svg: charts::distribution(report.counts.per_score()),
        distribution: report
            .counts
            .per_score()
            .iter()
            .copied()
            .enumerate()
            .collect(),
        by,
        names,
        segments: segments.iter().map(SegmentRow::new).collect(),
        items: found.iter().map(Item::new).collect(),
        older: next.map(|c| format!("{here}?{}#comments", with(&query, &[("cursor", &c)]))),
        bots: bots.iter().map(Item::new).collect(),
        export_link: format!("{here}/export.csv?{export_query}"),
        here,
        report: &report,
    })
}
