//! The embedded web form: the public JSON endpoint the widget talks to (no API key, by design;
//! only the survey's allowed origins), `embed.js` itself, and the no-script iframe page.
pub mod answer;
pub mod api;
pub mod limits;
pub mod page;
pub mod script;

use crate::http::error::ApiError;
use crate::http::AppState;
use crate::store::surveys::{self, SurveyRow};
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest, HttpResponse, ResponseError};
use std::future::{ready, Ready};

/// Largest body the public endpoint reads: an answer with a long comment and properties fits.
pub const MAX_BODY_BYTES: usize = 16 * 1024;
/// How long browsers may keep a preflight's answer.
const PREFLIGHT_MAX_AGE: &str = "600";

/// The public endpoint's routes, mounted by `http::routes` at `/api/v1/embed` inside the origin
/// check ([`allowed_origins_only`]) and the query-parameter check.
pub fn api_routes(cfg: &mut web::ServiceConfig) {
    cfg.app_data(web::PayloadConfig::new(MAX_BODY_BYTES))
        .service(web::resource("/{slug}").get(api::config))
        .service(web::resource("/{slug}/responses").post(api::create))
        .service(web::resource("/{slug}/responses/{id}").patch(api::update));
}

/// The widget's script and the iframe's form.
pub fn page_routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/embed.js")
            .get(script::serve)
            .head(script::serve),
    )
    .service(
        web::scope("/embed")
            .app_data(
                web::FormConfig::default()
                    .limit(MAX_BODY_BYTES)
                    .error_handler(|err, _| page::form_error(err).into()),
            )
            .service(web::resource("/{slug}").get(page::show).post(page::submit))
            .service(web::resource("/{slug}/comment").post(page::comment)),
    );
}

/// The survey of an embed request, looked up once by the middleware.
#[derive(Clone)]
pub struct EmbedSurvey(pub SurveyRow);

impl FromRequest for EmbedSurvey {
    type Error = actix_web::Error;
    type Future = Ready<Result<EmbedSurvey, actix_web::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(
            req.extensions()
                .get::<EmbedSurvey>()
                .cloned()
                .ok_or_else(|| {
                    ApiError::Internal(anyhow::anyhow!("embed route outside its middleware")).into()
                }),
        )
    }
}

/// Why a page or an origin may not use a survey's embedded form.
pub enum Refusal {
    UnknownSurvey(String),
    Disabled,
    NoOriginsAllowed,
    OriginNotAllowed(Option<String>),
}

impl From<Refusal> for ApiError {
    fn from(r: Refusal) -> ApiError {
        match r {
            Refusal::UnknownSurvey(slug) => {
                ApiError::NotFound(format!("no survey with slug '{slug}'"))
            }
            Refusal::Disabled => ApiError::Refused {
                code: "embed_disabled",
                message: "this survey's embedded form is turned off (embed_enabled is false)"
                    .into(),
                field: None,
            },
            Refusal::NoOriginsAllowed => ApiError::Refused {
                code: "origin_not_allowed",
                message: "this survey allows no site to embed it yet: add the page's origin to the survey's allowed_origins".into(),
                field: None,
            },
            Refusal::OriginNotAllowed(Some(origin)) => ApiError::Refused {
                code: "origin_not_allowed",
                message: format!("the origin {origin} is not in this survey's allowed_origins"),
                field: None,
            },
            Refusal::OriginNotAllowed(None) => ApiError::Refused {
                code: "origin_not_allowed",
                message: "send the page's Origin header: only the survey's allowed_origins may use this endpoint".into(),
                field: None,
            },
        }
    }
}

/// A survey's embedding, checked for a request from `origin` (None: no Origin header).
pub fn check_origin(survey: &SurveyRow, origin: Option<&str>) -> Result<(), Refusal> {
    if !survey.embed_enabled {
        return Err(Refusal::Disabled);
    }
    let allowed = survey.origins();
    if allowed.is_empty() {
        return Err(Refusal::NoOriginsAllowed);
    }
    match origin {
        Some(o) if crate::domain::embed::origin_allowed(&allowed, o) => Ok(()),
        other => Err(Refusal::OriginNotAllowed(other.map(str::to_string))),
    }
}

pub async fn find_survey(state: &AppState, slug: &str) -> Result<Option<SurveyRow>, ApiError> {
    if crate::domain::survey::parse_slug("slug", slug).is_err() {
        return Ok(None);
    }
    let lookup = slug.to_string();
    Ok(state
        .app
        .store
        .read(move |c| surveys::find_by_slug(c, &lookup))
        .await?)
}

/// CORS for the public endpoint, in one place: the survey is looked up from the path, requests
/// (preflights included) from an origin it does not allow get a 403 JSON error without any CORS
/// header, and every answer to an allowed origin (errors too, so the widget can read them) names
/// that origin alone. Written here rather than with `actix-cors`, whose origin check is a
/// synchronous function of the request: the allowed origins are per survey, in the database.
pub async fn allowed_origins_only(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let slug = req
        .path()
        .trim_start_matches("/api/v1/embed/")
        .split('/')
        .next()
        .unwrap_or("")
        .to_string();
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let state = req
        .app_data::<web::Data<AppState>>()
        .expect("app state")
        .clone();
    let refuse = |req: ServiceRequest, e: ApiError| {
        let (req, _) = req.into_parts();
        Ok(ServiceResponse::new(req, e.error_response()))
    };
    let survey = match find_survey(&state, &slug).await {
        Ok(Some(s)) => s,
        Ok(None) => return refuse(req, Refusal::UnknownSurvey(slug).into()),
        Err(e) => return refuse(req, e),
    };
    if let Err(r) = check_origin(&survey, origin.as_deref()) {
        return refuse(req, r.into());
    }
    let origin = origin.expect("an allowed origin");
    if req.method() == Method::OPTIONS {
        let res = HttpResponse::NoContent()
            .insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, "GET, POST, PATCH"))
            .insert_header((header::ACCESS_CONTROL_ALLOW_HEADERS, "content-type"))
            .insert_header((header::ACCESS_CONTROL_MAX_AGE, PREFLIGHT_MAX_AGE))
            .finish();
        let (req, _) = req.into_parts();
        return Ok(with_cors(ServiceResponse::new(req, res), &origin));
    }
    req.extensions_mut().insert(EmbedSurvey(survey));
    let res = next.call(req).await?.map_into_boxed_body();
    Ok(with_cors(res, &origin))
}

fn with_cors(mut res: ServiceResponse<BoxBody>, origin: &str) -> ServiceResponse<BoxBody> {
    let headers = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(origin) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
    }
    headers.insert(header::VARY, HeaderValue::from_static("Origin"));
    headers.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("Retry-After"),
    );
    res
}
