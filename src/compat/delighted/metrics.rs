//! `GET /v1/metrics`: the NPS of the key's survey (or of the survey `trend` names) over
//! `since`..`until` (all time by default), from the same report as `GET /api/v1/surveys/{slug}/nps`.
use super::auth::Caller;
use super::error::DelightedResult;
use super::params::Params;
use super::survey_responses::survey_of;
use super::views::Metrics;
use crate::domain::access::Scope;
use crate::domain::nps::NpsSummary;
use crate::http::AppState;
use crate::store::reports;
use crate::store::responses::ResponseFilter;
use actix_web::{web, HttpResponse};
use serde_json::Value;

fn percent(part: u64, all: u64) -> f64 {
    if all == 0 {
        return 0.0;
    }
    (part as f64 * 1000.0 / all as f64).round() / 10.0
}

/// A whole NPS as an integer (as Delighted gives it), else the report's one decimal.
fn nps_value(nps: Option<f64>) -> Value {
    match nps {
        None => Value::from(0),
        Some(n) if n.fract() == 0.0 => Value::from(n as i64),
        Some(n) => Value::from(n),
    }
}

pub fn metrics(s: &NpsSummary) -> Metrics {
    Metrics {
        nps: nps_value(s.nps),
        promoter_count: s.promoters,
        promoter_percent: percent(s.promoters, s.responses),
        passive_count: s.passives,
        passive_percent: percent(s.passives, s.responses),
        detractor_count: s.detractors,
        detractor_percent: percent(s.detractors, s.responses),
        response_count: s.responses,
    }
}

pub async fn get(
    caller: Caller,
    state: web::Data<AppState>,
    params: Params,
) -> DelightedResult<HttpResponse> {
    caller.need(Scope::Read)?;
    let survey = survey_of(&state, &caller, &params).await?;
    let filter = ResponseFilter {
        from: params.unix_time("since")?,
        until: params.until("until")?,
        ..ResponseFilter::default()
    };
    let report = state
        .store
        .read(move |c| reports::nps(c, &survey.id, &filter))
        .await?;
    Ok(HttpResponse::Ok().json(metrics(&report.summary)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_follow_the_one_formula() {
        let m = metrics(&NpsSummary::from_categories(2, 0, 1));
        assert_eq!(m.nps, Value::from(33.3));
        assert_eq!((m.promoter_percent, m.detractor_percent), (66.7, 33.3));
        let m = metrics(&NpsSummary::from_categories(1, 0, 1));
        assert_eq!(m.nps, Value::from(0));
        let m = metrics(&NpsSummary::from_categories(0, 0, 0));
        assert_eq!((m.nps, m.response_count), (Value::from(0), 0));
    }
}
