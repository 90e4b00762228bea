//! The dashboard's pages: every survey at a glance, and one survey's figures, trend, split,
//! distribution, breakdown, comments and bot audit, all read from the one report.
use super::charts::{self, TrendDatum};
use super::session::SignedIn;
use super::sign_in::CsrfForm;
use super::{html, see_other, PageError};
use crate::domain::insight::Interval;
use crate::domain::nps::{NpsChange, NpsSummary, SMALL_SAMPLE_WORDS};
use crate::http::api::export::{self, Format};
use crate::http::api::responses::decide as decide_status;
use crate::http::api::results::{comment_query, read_page, read_trend, CommentView, Trend};
use crate::http::query::QueryPairs;
use crate::http::AppState;
use crate::store::reports::{self, NpsReport};
use crate::store::responses::CommentQuery;
use crate::store::state::ResponseStatus;
use crate::store::surveys::{self, SurveyRow};
use crate::store::tallies;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

/// `/` leads to the dashboard (which asks for a sign-in first when there is no session).
pub async fn home() -> HttpResponse {
    see_other("/dashboard")
}

fn signed_nps(v: Option<f64>) -> String {
    match v {
        Some(v) if v > 0.0 => format!("+{v:.1}"),
        Some(v) => format!("{v:.1}"),
        None => "–".to_string(),
    }
}

fn margin(v: Option<f64>) -> String {
    v.map(|m| format!("±{m:.1}")).unwrap_or_default()
}

/// "Only 12 responses: too few answers for a reliable figure."; None from 30 responses or
/// without any (the page says "–" then).
fn small_sample_note(s: &NpsSummary) -> Option<String> {
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
fn change(now: &NpsSummary, before: Option<&NpsSummary>) -> String {
    match before.and_then(|b| NpsChange::between(now, b)) {
        Some(NpsChange::Up(by)) => format!("up {by:.1}"),
        Some(NpsChange::Down(by)) => format!("down {by:.1}"),
        Some(NpsChange::NoClearChange) => "no clear change".to_string(),
        None => "–".to_string(),
    }
}

fn percent(part: u64, whole: u64) -> String {
    if whole == 0 {
        "0%".into()
    } else {
        format!("{:.0}%", part as f64 * 100.0 / whole as f64)
    }
}

/// One survey in the overview.
struct SurveyLine {
    slug: String,
    brand: String,
    nps: String,
    margin: String,
    /// "Only 12 responses: too few answers for a reliable figure."
    small_sample: Option<String>,
    responses: u64,
    spark: String,
    spark_text: String,
}

#[derive(Template)]
#[template(path = "dashboard/overview.html")]
struct OverviewView<'a> {
    user: Option<&'a str>,
    is_admin: bool,
    csrf: &'a str,
    lines: Vec<SurveyLine>,
}

pub async fn overview(s: SignedIn, state: web::Data<AppState>) -> Result<HttpResponse, PageError> {
    let all = state.app.store.read(surveys::list).await?;
    let mut lines = Vec::with_capacity(all.len());
    for survey in all {
        let trend = read_trend(
            &state,
            survey.id.clone(),
            &QueryPairs::default(),
            Interval::Week,
        )
        .await?;
        let (Some(first), Some(last)) = (trend.periods.first(), trend.periods.last()) else {
            continue;
        };
        let filter =
            crate::store::responses::ResponseFilter::default().between(first.start, last.end);
        let id = survey.id.clone();
        let report = state
            .app
            .store
            .read_insight(move |c| reports::nps(c, &id, &filter))
            .await?;
        let weeks = trend_data(&trend);
        let spark_text = weeks
            .iter()
            .map(|w| {
                let few = if w.nps.is_some() && w.small_sample {
                    " (too few answers)"
                } else {
                    ""
                };
                format!("{}: {}{few}", w.label, signed_nps(w.nps))
            })
            .collect::<Vec<_>>()
            .join(", ");
        lines.push(SurveyLine {
            spark: charts::sparkline(&weeks, &survey.accent_color),
            spark_text,
            slug: survey.slug,
            brand: survey.brand,
            nps: signed_nps(report.summary.nps),
            margin: margin(report.summary.margin_of_error),
            small_sample: small_sample_note(&report.summary),
            responses: report.summary.responses,
        });
    }
    html(OverviewView {
        user: Some(&s.user.email),
        is_admin: s.user.is_admin(),
        csrf: &s.csrf,
        lines,
    })
}

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

pub async fn survey(
    s: SignedIn,
    req: HttpRequest,
    state: web::Data<AppState>,
    slug: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let survey = npsd_app::surveys::find(&state.app, slug.into_inner()).await?;
    let mut query = QueryPairs::parse(req.query_string())?;
    // Without a range: the last twelve weeks, in the survey's digest time zone.
    if query.get("from").unwrap_or("").is_empty() && query.get("to").unwrap_or("").is_empty() {
        let tz = query
            .get("tz")
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .unwrap_or_else(|| survey.digest_time_zone.clone());
        let now = state.app.clock.now();
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
    let (period, filter) = query.filter()?;
    let interval = Interval::parse(query.get("interval"))?;
    let trend = read_trend(&state, survey.id.clone(), &query, interval).await?;

    let id = survey.id.clone();
    let f = filter.clone();
    let (report, names) = state
        .app
        .store
        .read_insight(move |c| {
            let report = reports::nps(c, &id, &f)?;
            let names = tallies::property_names(c, &id)?;
            Ok((report, names))
        })
        .await?;
    let by = query
        .get("by")
        .filter(|b| !b.is_empty())
        .map(str::to_string)
        .or_else(|| names.first().cloned())
        .unwrap_or_default();
    let (id, f, by_name) = (survey.id.clone(), filter.clone(), by.clone());
    let offered: Vec<String> = names.iter().take(MAX_CHOICES).cloned().collect();
    let (segments, values) = state
        .app
        .store
        .read_insight(move |c| {
            let segments = if by_name.is_empty() {
                Vec::new()
            } else {
                reports::breakdown(c, &id, &f, &by_name)?
            };
            let mut values = Vec::new();
            for name in &offered {
                values.push((name.clone(), tallies::property_values(c, &id, name)?));
            }
            Ok((segments, values))
        })
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
    let choices = values
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
        .collect();
    let trend_points = trend_data(&trend);
    let trend_has_small = trend_points
        .iter()
        .any(|p| p.nps.is_some() && p.small_sample);
    let trend_rows = trend
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
        .collect();
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
        segments: segments
            .iter()
            .map(|s| SegmentRow {
                value: s.value.clone(),
                nps: signed_nps(s.summary.nps),
                margin: margin(s.summary.margin_of_error),
                responses: s.summary.responses,
                promoters: s.summary.promoters,
                passives: s.summary.passives,
                detractors: s.summary.detractors,
                small_sample: s.summary.small_sample,
            })
            .collect(),
        items: found.iter().map(Item::new).collect(),
        older: next.map(|c| format!("{here}?{}#comments", with(&query, &[("cursor", &c)]))),
        bots: bots.iter().map(Item::new).collect(),
        export_link: format!("{here}/export.csv?{export_query}"),
        here,
        report: &report,
    })
}

/// CSV of what is on screen: the same filters, every response (not just one page).
pub async fn export(
    _: SignedIn,
    req: HttpRequest,
    state: web::Data<AppState>,
    slug: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let query = QueryPairs::parse(req.query_string())?;
    Ok(export::export(&state, slug.into_inner(), &query, Format::Csv).await?)
}

/// Restore a bot answer (count it) or discard a counted one; admins only.
pub async fn decide(
    s: SignedIn,
    state: web::Data<AppState>,
    path: web::Path<(String, String, String)>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, PageError> {
    s.check_csrf(&form.csrf)?;
    s.require_admin()?;
    let (slug, id, decision) = path.into_inner();
    let status = match decision.as_str() {
        "restore" => ResponseStatus::Counted,
        "discard" => ResponseStatus::Bot,
        _ => return Err(PageError::NotFound("no such action".into())),
    };
    decide_status(&state, slug.clone(), id, status).await?;
    let anchor = if status == ResponseStatus::Counted {
        "bots"
    } else {
        "comments"
    };
    Ok(see_other(&format!("/dashboard/{slug}#{anchor}")))
}

/// A trend's points as the charts draw them: each period's first day, NPS, margin and whether it
/// rests on too few answers.
fn trend_data(trend: &Trend) -> Vec<TrendDatum> {
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
