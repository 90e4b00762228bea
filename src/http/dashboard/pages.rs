//! The dashboard's pages: every survey at a glance, the CSV of what is on screen, and a bot
//! verdict overturned. One survey's page is in `survey_page`.
use super::charts::{self};
use super::format::{margin, signed_nps, small_sample_note, trend_data};
use super::session::SignedIn;
use super::sign_in::CsrfForm;
use super::PageReply;
use super::{html, see_other, PageError};
use crate::domain::insight::Interval;
use crate::http::api::export::{self, Format};
use crate::http::api::responses::decide as decide_status;
use crate::http::api::results::read_trend;
use crate::http::query::QueryPairs;
use crate::http::State;
use crate::store::reports::{self};
use crate::store::state::ResponseStatus;
use crate::store::surveys::{self};
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

/// `/` leads to the dashboard (which asks for a sign-in first when there is no session).
pub async fn home() -> HttpResponse {
    see_other("/dashboard")
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

pub async fn overview(s: SignedIn, state: State) -> PageReply {
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

/// CSV of what is on screen: the same filters, every response (not just one page).
pub async fn export(
    _: SignedIn,
    req: HttpRequest,
    state: State,
    slug: web::Path<String>,
) -> PageReply {
    let query = QueryPairs::parse(req.query_string())?;
    Ok(export::export(&state, slug.into_inner(), &query, Format::Csv).await?)
}

/// Restore a bot answer (count it) or discard a counted one; admins only.
pub async fn decide(
    s: SignedIn,
    state: State,
    path: web::Path<(String, String, String)>,
    form: web::Form<CsrfForm>,
) -> PageReply {
    s.check_csrf(&form.csrf)?;
    s.require_admin()?;
    let (slug, id, decision) = path.into_inner();
    let status = match decision.as_str() {
        "restore" => ResponseStatus::Counted,
        "discard" => ResponseStatus::Bot,
        _ => return Err(PageError::NotFound("no such action".into())),
    };
    decide_status(&state, slug.clone(), id.into(), status).await?;
    let anchor = if status == ResponseStatus::Counted {
        "bots"
    } else {
        "comments"
    };
    Ok(see_other(&format!("/dashboard/{slug}#{anchor}")))
}
