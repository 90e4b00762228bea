//! The JSON API under /api/v1. Every route needs `Authorization: Bearer <key>`.
pub mod auth;
pub mod json;
pub mod results;
pub mod surveys;
pub mod transactions;

use crate::error::ApiError;
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
    .route("/transactions", web::post().to(transactions::create))
    .route(
        "/transactions/batch",
        web::post().to(transactions::create_batch),
    )
    .route("/surveys", web::get().to(surveys::list))
    .route("/surveys", web::post().to(surveys::create))
    .route("/surveys/{slug}", web::get().to(surveys::get))
    .route("/surveys/{slug}", web::patch().to(surveys::update))
    .route("/surveys/{slug}/nps", web::get().to(results::nps))
    .route("/surveys/{slug}/comments", web::get().to(results::comments));
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
