//! The JSON API under /api/v1. Every route needs `Authorization: Bearer <key>`, except the
//! embedded form's public endpoint under /api/v1/embed (`crate::http::embed`).
pub mod alerts;
pub mod auth;
pub mod export;
pub mod fields;
pub mod invitations;
pub mod json;
pub mod keys;
pub mod people;
pub mod responses;
pub mod results;
pub mod suppressions;
pub mod surveys;
pub mod transactions;
pub mod webhooks;

use crate::http::error::ApiError;
use actix_web::web;

/// Largest request body: a batch of 1,000 transactions with properties fits.
pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.app_data(
        web::JsonConfig::default()
            .limit(MAX_BODY_BYTES)
            .error_handler(|err, _| json_error(err).into()),
    )
    .app_data(web::QueryConfig::default().error_handler(|err, _| {
        ApiError::BadRequest {
            code: "invalid_query",
            message: err.to_string(),
        }
        .into()
    }))
    // One resource per path, so a wrong method answers 405 (made JSON by `boundary`), not 404.
    .service(web::resource("/transactions").post(transactions::create))
    .service(web::resource("/transactions/batch").post(transactions::create_batch))
    .service(
        web::resource("/surveys")
            .get(surveys::list)
            .post(surveys::create),
    )
    .service(
        web::resource("/surveys/{slug}")
            .get(surveys::get)
            .patch(surveys::update),
    )
    .service(web::resource("/surveys/{slug}/embed-secret").post(surveys::rotate_embed_secret))
    .service(web::resource("/surveys/{slug}/nps").get(results::nps))
    .service(web::resource("/surveys/{slug}/nps/trend").get(results::trend))
    .service(web::resource("/surveys/{slug}/nps/breakdown").get(results::breakdown))
    .service(web::resource("/surveys/{slug}/comments").get(results::comments))
    .service(web::resource("/surveys/{slug}/responses").get(responses::list))
    .service(web::resource("/surveys/{slug}/responses.csv").get(export::csv))
    .service(web::resource("/surveys/{slug}/responses.ndjson").get(export::ndjson))
    .service(web::resource("/surveys/{slug}/responses/{id}/restore").post(responses::restore))
    .service(web::resource("/surveys/{slug}/responses/{id}/discard").post(responses::discard))
    .service(web::resource("/invitations").get(invitations::list))
    .service(web::resource("/invitations/{id}").delete(invitations::cancel))
    .service(
        web::resource("/api-keys")
            .get(keys::list)
            .post(keys::create),
    )
    .service(web::resource("/api-keys/{id}").delete(keys::revoke))
    .service(
        web::resource("/suppressions")
            .get(suppressions::list)
            .post(suppressions::create),
    )
    .service(web::resource("/suppressions/{email}").delete(suppressions::remove))
    .service(
        web::resource("/people/{email}")
            .get(people::export)
            .delete(people::erase),
    )
    .service(
        web::resource("/surveys/{slug}/alerts")
            .get(alerts::list)
            .post(alerts::create),
    )
    .service(
        web::resource("/surveys/{slug}/alerts/{id}")
            .get(alerts::get)
            .patch(alerts::update)
            .delete(alerts::delete),
    )
    .service(web::resource("/events").get(webhooks::events))
    .service(
        web::resource("/webhooks")
            .get(webhooks::list)
            .post(webhooks::create),
    )
    .service(
        web::resource("/webhooks/{id}")
            .get(webhooks::get)
            .patch(webhooks::update)
            .delete(webhooks::delete),
    )
    .service(web::resource("/webhooks/{id}/deliveries").get(webhooks::deliveries))
    .service(web::resource("/webhooks/{id}/test").post(webhooks::test))
    .service(
        web::resource("/webhooks/{id}/deliveries/{delivery_id}/redeliver")
            .post(webhooks::redeliver),
    );
}

fn json_error(err: actix_web::error::JsonPayloadError) -> ApiError {
    use actix_web::error::JsonPayloadError as E;
    match err {
        E::OverflowKnownLength { .. } | E::Overflow { .. } => ApiError::TooLarge(format!(
            "request body is larger than {MAX_BODY_BYTES} bytes"
        )),
        E::ContentType => ApiError::BadRequest {
            code: "unsupported_media_type",
            message: "send the body as JSON with Content-Type: application/json".into(),
        },
        E::Deserialize(e) => ApiError::BadRequest {
            code: "invalid_json",
            message: format!("request body is not valid JSON: {e}"),
        },
        other => ApiError::BadRequest {
            code: "invalid_json",
            message: other.to_string(),
        },
    }
}
