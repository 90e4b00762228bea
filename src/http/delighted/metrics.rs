//! `GET /v1/metrics`: the NPS of the key's survey (or of the survey `trend` names) over
//! `since`..`until` (all time by default), from the same report as `GET /api/v1/surveys/{slug}/nps`.
use super::auth::Caller;
use super::params::Params;
use super::survey_responses::survey_of;
use super::views::Metrics;
use super::{Reply, State};
use crate::domain::access::Scope;
use crate::domain::nps::NpsSummary;
use crate::store::reports;
use crate::store::responses::ResponseFilter;
use actix_web::HttpResponse;

fn percent(part: u64, all: u64) -> f64 {
    if all == 0 {
        return 0.0;
    }
    (part as f64 * 1000.0 / all as f64).round() / 10.0
}

pub fn metrics(s: &NpsSummary) -> Metrics {
    Metrics {
        // An integer, as Delighted documents it (clients in Go, Java, C# or Swift decode it into
        // one), rounded once from the exact figure; 0 without responses.
        nps: s.whole_nps().unwrap_or(0),
        promoter_count: s.promoters,
        promoter_percent: percent(s.promoters, s.responses),
        passive_count: s.passives,
        passive_percent: percent(s.passives, s.responses),
        detractor_count: s.detractors,
        detractor_percent: percent(s.detractors, s.responses),
        response_count: s.responses,
    }
}

pub async fn get(caller: Caller, state: State, params: Params) -> Reply {
    caller.need(Scope::Read)?;
    let survey = survey_of(&state, &caller, &params).await?;
    let filter = ResponseFilter {
        from: params.unix_time("since")?,
        until: params.until("until")?,
        ..ResponseFilter::default()
    };
    let report = state
        .app
        .store
        .read_replica(move |c| reports::nps(c, &survey.id, &filter))
        .await?;
    Ok(HttpResponse::Ok().json(metrics(&report.summary)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_follow_the_one_formula() {
        let m = metrics(&NpsSummary::from_categories(2, 0, 1));
        assert_eq!(m.nps, 33);
        assert_eq!((m.promoter_percent, m.detractor_percent), (66.7, 33.3));
        let m = metrics(&NpsSummary::from_categories(1, 0, 1));
        assert_eq!(m.nps, 0);
        let m = metrics(&NpsSummary::from_categories(0, 0, 0));
        assert_eq!((m.nps, m.response_count), (0, 0));
    }

    #[test]
    fn the_nps_is_a_whole_number_rounded_half_away_from_zero() {
        // 16.7 (2 promoters, 3 passives, 1 detractor of 6) and -16.7.
        assert_eq!(metrics(&NpsSummary::from_categories(2, 3, 1)).nps, 17);
        assert_eq!(metrics(&NpsSummary::from_categories(1, 3, 2)).nps, -17);
        // 12.5 and -12.5 (1 promoter of 8, the rest passives; and the reverse).
        assert_eq!(metrics(&NpsSummary::from_categories(1, 7, 0)).nps, 13);
        assert_eq!(metrics(&NpsSummary::from_categories(0, 7, 1)).nps, -13);
        // Rounded once, from the exact 2.45 (49 promoters of 2,000): 2, where the one-decimal
        // 2.5 rounded again would give 3.
        assert_eq!(metrics(&NpsSummary::from_categories(49, 1951, 0)).nps, 2);
        let json = serde_json::to_value(metrics(&NpsSummary::from_categories(2, 3, 1))).unwrap();
        assert!(json["nps"].is_i64(), "{json}");
    }
}
