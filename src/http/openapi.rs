//! The OpenAPI 3.1 document of the whole API, generated from the handlers' annotations, the input
//! types they read (serde structs beside each handler) and the types they answer with, served at
//! `/api/openapi.json`: the API reference.
use super::api::{keys, people, results, suppressions, surveys, transactions};
use crate::http::error::{ErrorBody, ErrorDetails};
use actix_web::HttpResponse;
use std::sync::LazyLock;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{RefOr, Response, ResponseBuilder};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "npsd",
        description = "Self-hosted Net Promoter Score service. Every route needs `Authorization: Bearer KEY`; a key's scopes (ingest, read, admin) decide what it may do. The embedded form's routes under /api/v1/embed are public and answer only the survey's allowed origins."
    ),
    paths(
        transactions::create,
        transactions::create_batch,
        surveys::list,
        surveys::get,
        surveys::create,
        surveys::update,
        surveys::rotate_embed_secret,
        crate::http::embed::api::config,
        crate::http::embed::api::create,
        crate::http::embed::api::update,
        results::nps,
        results::trend,
        results::breakdown,
        results::comments,
        super::api::responses::list,
        super::api::responses::restore,
        super::api::responses::discard,
        super::api::export::csv,
        super::api::export::ndjson,
        super::api::invitations::list,
        super::api::invitations::cancel,
        keys::create,
        keys::list,
        keys::revoke,
        suppressions::create,
        suppressions::list,
        suppressions::remove,
        people::export,
        people::erase,
        super::api::alerts::create,
        super::api::alerts::list,
        super::api::alerts::get,
        super::api::alerts::update,
        super::api::alerts::delete,
        super::api::webhooks::events,
        super::api::webhooks::create,
        super::api::webhooks::list,
        super::api::webhooks::get,
        super::api::webhooks::update,
        super::api::webhooks::delete,
        super::api::webhooks::deliveries,
        super::api::webhooks::test,
        super::api::webhooks::redeliver,
    ),
    components(schemas(ErrorBody, ErrorDetails)),
    modifiers(&Security, &CommonErrors)
)]
pub struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// The errors any API route may answer, added to every operation once instead of per handler.
struct CommonErrors;

const COMMON_ERRORS: &[(&str, &str)] = &[
    (
        "400",
        "The body, path or query could not be read (not JSON, wrong content type, a NUL character)",
    ),
    ("401", "No API key, or a wrong one"),
    ("403", "The key lacks the scope this route needs"),
    ("404", "No such survey, key, suppression or route"),
    ("405", "The route does not accept this method"),
    ("409", "Conflicts with what is stored (a survey slug taken)"),
    ("413", "The body or batch is too large"),
    (
        "422",
        "A field is not acceptable (more than 10 property names or 50 property values among the filters, too), or the query has a parameter the route does not take; `field` names it",
    ),
    (
        "429",
        "Too many failed attempts from this address; see Retry-After",
    ),
    (
        "503",
        "The database is busy or unreachable, or the query ran past its time budget (`query_timeout`); see Retry-After",
    ),
];

impl Modify for CommonErrors {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let error = |description: &str| -> RefOr<Response> {
            RefOr::T(
                ResponseBuilder::new()
                    .description(description)
                    .content(
                        "application/json",
                        utoipa::openapi::ContentBuilder::new()
                            .schema(Some(utoipa::openapi::Ref::from_schema_name("ErrorBody")))
                            .build(),
                    )
                    .build(),
            )
        };
        for item in openapi.paths.paths.values_mut() {
            for op in [
                &mut item.get,
                &mut item.post,
                &mut item.patch,
                &mut item.delete,
            ]
            .into_iter()
            .flatten()
            {
                for (status, description) in COMMON_ERRORS {
                    op.responses
                        .responses
                        .entry(status.to_string())
                        .or_insert_with(|| error(description));
                }
            }
        }
    }
}

static DOCUMENT: LazyLock<String> = LazyLock::new(|| {
    ApiDoc::openapi()
        .to_json()
        .expect("the OpenAPI document serialises")
});

/// GET /api/openapi.json (no key needed: it holds no data).
pub async fn document() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(DOCUMENT.as_str())
}
