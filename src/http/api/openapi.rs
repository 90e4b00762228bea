//! The OpenAPI 3.1 document of the whole API, generated from the handlers' annotations and the
//! types they answer with, served at `/api/openapi.json`. The input types below describe what the
//! handlers parse by hand (they accept spellings and shapes serde alone would not).
use super::{keys, people, results, suppressions, surveys, transactions};
use actix_web::HttpResponse;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::LazyLock;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{RefOr, Response, ResponseBuilder};
use utoipa::{Modify, OpenApi, ToSchema};

/// A transaction id: a string, or an integer JSON keeps exact.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum TransactionId {
    Text(String),
    Number(i64),
}

/// A property value; stored as text.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum PropertyValue {
    Text(String),
    Number(f64),
    Flag(bool),
}

/// A customer transaction to survey.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct TransactionInput {
    pub transaction_id: TransactionId,
    #[schema(format = Email)]
    pub email: String,
    pub name: Option<String>,
    /// The survey's slug; default `default`.
    pub survey: Option<String>,
    pub locale: Option<String>,
    /// Up to 50 segment properties (plan, country...).
    pub properties: Option<HashMap<String, PropertyValue>>,
    /// Overrides the survey's send delay, 0 to 31536000.
    pub delay_seconds: Option<i64>,
}

/// Up to 1,000 transactions, as a list or wrapped in an object.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum BatchInput {
    List(Vec<TransactionInput>),
    Wrapped { transactions: Vec<TransactionInput> },
}

/// Survey settings; on PATCH every field is optional, `null` clears an optional one.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct SurveyInput {
    /// Required on POST; cannot change.
    pub slug: Option<String>,
    pub brand: Option<String>,
    pub question: Option<String>,
    pub sender: Option<String>,
    pub reply_to: Option<String>,
    pub locale: Option<String>,
    pub send_delay_seconds: Option<i64>,
    pub throttle_days: Option<i32>,
    pub response_window_days: Option<i32>,
    /// `#rrggbb`
    pub accent_color: Option<String>,
    /// A line under the email's greeting, e.g. "Thanks for your order {order_id}."
    pub intro: Option<String>,
    /// Origins (`scheme://host[:port]`) whose pages may embed the survey.
    pub allowed_origins: Option<Vec<String>>,
    pub embed_enabled: Option<bool>,
    /// The NPS digest: `{"enabled", "recipients", "weekday", "hour", "time_zone", "period"}`,
    /// fields left out keep their value.
    pub digest: Option<DigestInput>,
}

#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct DigestInput {
    pub enabled: Option<bool>,
    pub recipients: Option<Vec<String>>,
    /// mon, tue, wed, thu, fri, sat or sun.
    pub weekday: Option<String>,
    #[schema(minimum = 0, maximum = 23)]
    pub hour: Option<u8>,
    /// An IANA time zone, e.g. Europe/Berlin.
    pub time_zone: Option<String>,
    /// daily, weekly or monthly.
    pub period: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum ScopeName {
    Ingest,
    Read,
    Admin,
}

#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct ApiKeyInput {
    /// 1 to 100 characters on one line.
    pub name: String,
    #[schema(min_items = 1)]
    pub scopes: Vec<ScopeName>,
    /// The slug of the survey the key's Delighted-compatible requests (`/v1/...`) use; default
    /// `default`.
    pub survey: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum ReasonName {
    Bounce,
    Complaint,
    Manual,
}

#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct SuppressionInput {
    #[schema(format = Email)]
    pub email: String,
    /// Default manual.
    pub reason: Option<ReasonName>,
}

/// Every error answer of the API.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct ErrorBody {
    pub error: ErrorDetails,
}

#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct ErrorDetails {
    pub code: String,
    pub message: String,
    /// The field at fault (validation errors).
    pub field: Option<String>,
    /// The scope a 403 was missing.
    pub scope: Option<String>,
}

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
        super::responses::list,
        super::responses::restore,
        super::responses::discard,
        super::export::csv,
        super::export::ndjson,
        super::invitations::list,
        super::invitations::cancel,
        keys::create,
        keys::list,
        keys::revoke,
        suppressions::create,
        suppressions::list,
        suppressions::remove,
        people::export,
        people::erase,
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
