//! API keys: create (the key is shown only in that answer), list, revoke. Admin scope.
use super::auth::{Admin, Scoped};
use super::json::timestamp;
use super::json::Body;
use crate::domain::access::Scopes;
use crate::domain::survey::{parse_slug, DEFAULT_SLUG};
use crate::domain::ValidationError;
use crate::http::error::ApiError;
use crate::http::AppState;
use crate::store::api_keys::ApiKeyRow;
use actix_web::{web, HttpResponse};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct ApiKeyView {
    pub id: String,
    pub name: String,
    pub scopes: Vec<&'static str>,
    pub prefix: String,
    pub created_at: String,
    pub revoked_at: Option<String>,
    /// The slug of the survey the key's Delighted-compatible requests (`/v1/...`) use.
    pub survey: String,
}

impl ApiKeyView {
    pub fn new(row: &ApiKeyRow, survey_slug: Option<&str>) -> Self {
        ApiKeyView {
            id: row.id.clone(),
            name: row.name.clone(),
            scopes: row.scopes().names(),
            prefix: row.prefix.clone(),
            created_at: timestamp(row.created_at),
            revoked_at: row.revoked_at.map(timestamp),
            survey: survey_slug.unwrap_or(DEFAULT_SLUG).to_string(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct CreatedKeyView {
    #[serde(flatten)]
    pub key: ApiKeyView,
    /// The key itself: shown only in this answer.
    #[serde(rename = "key")]
    pub secret: String,
}

/// A key's name: 1 to 100 characters on one line.
pub fn parse_name(raw: &str) -> Result<String, ValidationError> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(ValidationError::new(
            "name",
            "must be 1 to 100 characters on one line",
        ));
    }
    Ok(name.to_string())
}

/// A new key: its name, scopes, and the slug of its survey (None: `default`).
pub fn parse_new_key(body: &Value) -> Result<(String, Scopes, Option<String>), ValidationError> {
    crate::domain::reject_nul(body)?;
    let obj = body
        .as_object()
        .ok_or_else(|| ValidationError::new("body", "must be a JSON object"))?;
    let name = match obj.get("name") {
        Some(Value::String(s)) => parse_name(s)?,
        None | Some(Value::Null) => return Err(ValidationError::new("name", "is required")),
        Some(_) => return Err(ValidationError::new("name", "must be a string")),
    };
    let scopes = match obj.get("scopes") {
        Some(Value::Array(items)) => {
            let names = items
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| ValidationError::new("scopes", "must be a list of strings"))
                })
                .collect::<Result<Vec<_>, _>>()?;
            Scopes::parse("scopes", &names)?
        }
        None | Some(Value::Null) => {
            return Err(ValidationError::new(
                "scopes",
                "is required: a list of ingest, read, admin",
            ))
        }
        Some(_) => return Err(ValidationError::new("scopes", "must be a list of strings")),
    };
    let survey = crate::domain::transaction::opt_string(obj, "survey")?
        .map(|s| parse_slug("survey", &s))
        .transpose()?;
    for key in obj.keys() {
        if key != "name" && key != "scopes" && key != "survey" {
            return Err(ValidationError::new(
                key.clone(),
                "is not a field of an API key",
            ));
        }
    }
    Ok((name, scopes, survey))
}

/// Creates a key; answers it with the secret. The survey (a slug) must exist.
pub async fn create_key(
    app: &npsd_app::App,
    name: String,
    scopes: Scopes,
    survey: Option<String>,
) -> Result<CreatedKeyView, npsd_app::ServiceError> {
    let created = npsd_app::keys::create(app, name, scopes, survey).await?;
    Ok(CreatedKeyView {
        key: ApiKeyView::new(&created.row, created.survey.as_deref()),
        secret: created.secret,
    })
}

#[utoipa::path(post, path = "/api/v1/api-keys", tag = "access",
    request_body = crate::http::api::openapi::ApiKeyInput,
    responses((status = 201, description = "Created; `key` is shown only here", body = CreatedKeyView)), security(("bearer" = [])))]
pub async fn create(
    _: Scoped<Admin>,
    state: web::Data<AppState>,
    Body(body): Body,
) -> Result<HttpResponse, ApiError> {
    let (name, scopes, survey) = parse_new_key(&body)?;
    let created = create_key(&state.app, name, scopes, survey).await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/api-keys/{}", created.key.id)))
        .json(created))
}

#[derive(Serialize, ToSchema)]
pub struct KeyList {
    pub api_keys: Vec<ApiKeyView>,
}

#[utoipa::path(get, path = "/api/v1/api-keys", tag = "access",
    responses((status = 200, description = "Every key, never the keys themselves", body = KeyList)), security(("bearer" = [])))]
pub async fn list(_: Scoped<Admin>, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let rows = npsd_app::keys::list(&state.app).await?;
    Ok(HttpResponse::Ok().json(KeyList {
        api_keys: rows
            .iter()
            .map(|(row, slug)| ApiKeyView::new(row, slug.as_deref()))
            .collect(),
    }))
}

#[utoipa::path(delete, path = "/api/v1/api-keys/{id}", tag = "access",
    params(("id" = String, Path, description = "The key's id")),
    responses((status = 204, description = "Revoked")), security(("bearer" = [])))]
pub async fn revoke(
    _: Scoped<Admin>,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    npsd_app::keys::revoke(&state.app, id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}
