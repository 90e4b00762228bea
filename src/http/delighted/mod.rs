//! Delighted's API at its own paths (`/v1/...`, with or without `.json`), so a shop's existing
//! integration keeps working when only its base URL and key change. Every route maps onto
//! npsd's own store and reports: people are npsd's people, a person posted is a transaction,
//! metrics are the one NPS report. See docs/MIGRATING-FROM-DELIGHTED.md.
//!
//! Webhooks in Delighted's format (`survey_response.created`, ...) will hang off the job queue
//! once npsd's own signed webhooks exist (ROADMAP): each change here already happens in one
//! write transaction, where its event will be recorded.
pub mod auth;
pub mod error;
pub mod metrics;
pub mod params;
pub mod people;
pub mod survey_responses;
pub mod unsubscribes;
pub mod views;

use actix_web::{web, HttpResponse};

/// What a handler of this API gets: the app's state.
pub(crate) type State = web::Data<crate::http::AppState>;
/// What a handler of this API answers: a response, or an error in Delighted's shape.
pub(crate) type Reply = error::DelightedResult<HttpResponse>;

/// A collection's path with and without Delighted's `.json` suffix.
fn both(path: &str) -> Vec<String> {
    vec![path.to_string(), format!("{path}.json")]
}

/// The routes inside the `/v1` scope. Paths with an id take `{id}.json` too (the handlers drop
/// the suffix).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.app_data(web::PayloadConfig::new(params::MAX_BODY_BYTES))
        .service(
            web::resource(both("/people"))
                .post(people::create)
                .get(people::list)
                .put(people::update),
        )
        .service(
            web::resource(both("/people/{person}/survey_requests/pending"))
                .delete(people::delete_pending),
        )
        .service(
            web::resource("/people/{person}")
                .get(people::get)
                .put(people::update)
                .delete(people::delete),
        )
        .service(
            web::resource(both("/survey_responses"))
                .get(survey_responses::list)
                .post(survey_responses::create)
                .put(survey_responses::update),
        )
        .service(
            web::resource("/survey_responses/{id}")
                .get(survey_responses::get)
                .put(survey_responses::update),
        )
        .service(web::resource(both("/metrics")).get(metrics::get))
        .service(
            web::resource(both("/unsubscribes"))
                .post(unsubscribes::create)
                .get(unsubscribes::list),
        )
        .service(web::resource(both("/bounces")).get(unsubscribes::bounces));
}
