//! HTTP: thin handlers that parse at the boundary, call one function and map its result.
pub mod api;
pub mod boundary;
pub mod connections;
pub mod dashboard;
/// Delighted's API at its own paths (`/v1`), mapped onto npsd's operations and reports, so a
/// shop moves to npsd by changing a base URL and a key.
pub mod delighted;
pub mod embed;
pub mod error;
pub mod limits;
pub mod openapi;
pub mod pages;
pub mod parameters;
pub mod query;
pub mod request_span;

use actix_web::web;

/// What a handler gets of the app's state.
pub type State = web::Data<AppState>;

/// What every handler may use; built once in `startup`.
pub struct AppState {
    /// The operations, with the store, the clock and what they need to act.
    pub app: npsd_app::App,
    /// API keys: the configured one and a cache of stored ones.
    pub keys: api::auth::KeyRing,
    /// Repeated failures (wrong keys, unknown link tokens) per client address.
    pub failures: limits::FailureLimiter,
    /// Answers through the embedded form per address and per survey.
    pub embed_limits: embed::limits::AnswerLimiter,
    /// How long a page's signature of a visitor's identity stays valid (`NPSD_EMBED_SIGNATURE_MAX_AGE`).
    pub embed_signature_max_age: chrono::Duration,
    /// The dashboard's cookie key and sign-in slow-down.
    pub dashboard: dashboard::DashboardState,
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/openapi.json", web::get().to(openapi::document))
        // Before the /api/v1 scope: the embed endpoint is public, without an API key.
        .service(
            web::scope("/api/v1/embed")
                // Inside the origin check, so a refusal of an allowed origin carries CORS headers.
                .wrap(actix_web::middleware::from_fn(
                    parameters::known_parameters_only,
                ))
                .wrap(actix_web::middleware::from_fn(embed::allowed_origins_only))
                .configure(embed::api_routes),
        )
        .configure(embed::page_routes)
        .service(
            web::scope("/api/v1")
                // Inside authentication: a request without a key gets its 401 first.
                .wrap(actix_web::middleware::from_fn(
                    parameters::known_parameters_only,
                ))
                .wrap(actix_web::middleware::from_fn(api::auth::authenticate))
                .configure(api::routes),
        )
        // Delighted's API at its own paths, for shops that move over by changing the host.
        .service(
            web::scope("/v1")
                .wrap(actix_web::middleware::from_fn(
                    crate::http::delighted::auth::authenticate,
                ))
                .configure(crate::http::delighted::routes),
        )
        .configure(pages::routes)
        .configure(dashboard::routes);
}
