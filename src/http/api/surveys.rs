//! Surveys: list, create, read, change.
use super::auth::{Admin, Read, Scoped};
use super::json::Body;
use super::json::SurveyView;
use crate::domain::survey::SurveyPatch;
use crate::domain::ValidationError;
use crate::http::error::ApiError;
use crate::http::AppState;
use crate::store::surveys::SurveyRow;
use actix_web::{web, HttpResponse};
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct SurveyList {
    pub surveys: Vec<SurveyView>,
}

/// Field names the API accepts, with the spellings people also use.
const FIELDS: &[(&str, &[&str])] = &[
    ("slug", &[]),
    ("brand", &[]),
    ("question", &[]),
    ("sender", &["from"]),
    ("reply_to", &["reply-to"]),
    ("locale", &["default_locale"]),
    ("send_delay_seconds", &["delay_seconds", "send_delay"]),
    ("throttle_days", &[]),
    ("response_window_days", &["response_window"]),
    ("accent_color", &["accent_colour"]),
    ("intro", &[]),
    ("allowed_origins", &[]),
    ("embed_enabled", &[]),
    ("digest", &[]),
];

/// Fields the API shows but nobody sets: ignored on input, so a client can send back what it read.
const READ_ONLY: &[&str] = &[
    "id",
    "question_text",
    "embed_secret_set",
    "created_at",
    "updated_at",
];

fn canonical(obj: Map<String, Value>) -> Result<Map<String, Value>, ValidationError> {
    let mut out = Map::new();
    for (key, value) in obj {
        if READ_ONLY.contains(&key.as_str()) {
            continue;
        }
        let name = FIELDS
            .iter()
            .find(|(name, aliases)| *name == key || aliases.contains(&key.as_str()))
            .map(|(name, _)| *name)
            .ok_or_else(|| ValidationError::new(key.clone(), "is not a survey setting"))?;
        out.insert(name.to_string(), value);
    }
    Ok(out)
}

fn string(obj: &Map<String, Value>, field: &str) -> Result<Option<String>, ValidationError> {
    match obj.get(field) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ValidationError::new(field, "must be a string")),
    }
}

/// Absent: no change; null or "": clear; a string: set.
fn clearable(
    obj: &Map<String, Value>,
    field: &str,
) -> Result<Option<Option<String>>, ValidationError> {
    match obj.get(field) {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(Value::String(s)) => Ok(Some(Some(s.clone()))),
        Some(_) => Err(ValidationError::new(field, "must be a string or null")),
    }
}

fn integer<T: TryFrom<i64>>(
    obj: &Map<String, Value>,
    field: &str,
) -> Result<Option<T>, ValidationError> {
    match obj.get(field) {
        None => Ok(None),
        Some(Value::Number(n)) => n
            .as_i64()
            .and_then(|v| T::try_from(v).ok())
            .map(Some)
            .ok_or_else(|| ValidationError::new(field, "must be a whole number")),
        Some(_) => Err(ValidationError::new(field, "must be a whole number")),
    }
}

fn boolean(obj: &Map<String, Value>, field: &str) -> Result<Option<bool>, ValidationError> {
    match obj.get(field) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(ValidationError::new(field, "must be true or false")),
    }
}

/// A list of strings; null is the empty list.
fn strings(obj: &Map<String, Value>, field: &str) -> Result<Option<Vec<String>>, ValidationError> {
    match obj.get(field) {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(Vec::new())),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.clone()),
                _ => Err(ValidationError::new(field, "must be a list of strings")),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(ValidationError::new(field, "must be a list of strings")),
    }
}

pub fn parse_patch(body: Value) -> Result<(Option<String>, SurveyPatch), ValidationError> {
    crate::domain::reject_nul(&body)?;
    let Value::Object(obj) = body else {
        return Err(ValidationError::new("body", "must be a JSON object"));
    };
    let obj = canonical(obj)?;
    let patch = SurveyPatch {
        brand: string(&obj, "brand")?,
        question: clearable(&obj, "question")?,
        sender: clearable(&obj, "sender")?,
        reply_to: clearable(&obj, "reply_to")?,
        locale: string(&obj, "locale")?,
        send_delay_seconds: integer(&obj, "send_delay_seconds")?,
        throttle_days: integer(&obj, "throttle_days")?,
        response_window_days: integer(&obj, "response_window_days")?,
        accent_color: string(&obj, "accent_color")?,
        intro: clearable(&obj, "intro")?,
        allowed_origins: strings(&obj, "allowed_origins")?,
        embed_enabled: boolean(&obj, "embed_enabled")?,
        digest: obj.get("digest").cloned(),
    };
    Ok((string(&obj, "slug")?, patch))
}

#[utoipa::path(get, path = "/api/v1/surveys", tag = "surveys",
    responses((status = 200, description = "Every survey", body = SurveyList)), security(("bearer" = [])))]
pub async fn list(_: Scoped<Read>, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let rows = npsd_app::surveys::list(&state.app).await?;
    Ok(HttpResponse::Ok().json(SurveyList {
        surveys: rows.iter().map(SurveyView::from).collect(),
    }))
}

#[utoipa::path(get, path = "/api/v1/surveys/{slug}", tag = "surveys",
    params(("slug" = String, Path, description = "The survey's slug")),
    responses((status = 200, description = "The survey", body = SurveyView)), security(("bearer" = [])))]
pub async fn get(
    _: Scoped<Read>,
    state: web::Data<AppState>,
    slug: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let row = npsd_app::surveys::find(&state.app, slug.into_inner()).await?;
    Ok(HttpResponse::Ok().json(SurveyView::from(&row)))
}

#[utoipa::path(post, path = "/api/v1/surveys", tag = "surveys",
    request_body = crate::http::api::openapi::SurveyInput,
    responses((status = 201, description = "Created", body = SurveyView)), security(("bearer" = [])))]
pub async fn create(
    _: Scoped<Admin>,
    state: web::Data<AppState>,
    Body(body): Body,
) -> Result<HttpResponse, ApiError> {
    let (slug, patch) = parse_patch(body)?;
    let row = npsd_app::surveys::create(&state.app, slug, patch).await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/surveys/{}", row.slug)))
        .json(SurveyView::from(&row)))
}

#[utoipa::path(patch, path = "/api/v1/surveys/{slug}", tag = "surveys",
    params(("slug" = String, Path, description = "The survey's slug")),
    request_body = crate::http::api::openapi::SurveyInput,
    responses((status = 200, description = "Changed", body = SurveyView)), security(("bearer" = [])))]
pub async fn update(
    _: Scoped<Admin>,
    state: web::Data<AppState>,
    slug: web::Path<String>,
    Body(body): Body,
) -> Result<HttpResponse, ApiError> {
    let updated = patch_survey(&state, slug.into_inner(), body).await?;
    Ok(HttpResponse::Ok().json(SurveyView::from(&updated)))
}

/// Changes the fields a JSON patch names (the API and the dashboard's settings form).
pub async fn patch_survey(
    state: &AppState,
    slug: String,
    body: serde_json::Value,
) -> Result<SurveyRow, npsd_app::ServiceError> {
    let (new_slug, patch) = parse_patch(body)?;
    npsd_app::surveys::update(&state.app, slug, new_slug, patch).await
}

/// A new embed secret, shown only now.
#[derive(Serialize, ToSchema)]
pub struct EmbedSecretView {
    /// Sites sign the visitor's email (or customer id) with it: hex HMAC-SHA256.
    pub secret: String,
}

#[utoipa::path(post, path = "/api/v1/surveys/{slug}/embed-secret", tag = "surveys",
    params(("slug" = String, Path, description = "The survey's slug")),
    responses((status = 201, description = "Created or rotated; `secret` is shown only here and the previous one stops working", body = EmbedSecretView)), security(("bearer" = [])))]
pub async fn rotate_embed_secret(
    _: Scoped<Admin>,
    state: web::Data<AppState>,
    slug: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let secret = npsd_app::surveys::rotate_embed_secret(&state.app, slug.into_inner()).await?;
    Ok(HttpResponse::Created().json(EmbedSecretView { secret }))
}
