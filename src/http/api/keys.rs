//! API keys: create (the key is shown only in that answer), list, revoke. Admin scope.
use super::auth::{Admin, Scoped};
use super::fields::{self, NullableText, OptText, OptTextList};
use super::json::timestamp;
use super::json::Input;
use crate::domain::access::Scopes;
use crate::domain::survey::{parse_slug, DEFAULT_SLUG};
use crate::domain::ValidationError;
use crate::http::error::ApiError;
use crate::http::AppState;
use crate::store::api_keys::ApiKeyRow;
use actix_web::{web, HttpResponse};
use serde::de::IgnoredAny;
use serde::Deserialize;
use serde::Serialize;
use std::collections::BTreeMap;
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

/// A new API key.
#[derive(Deserialize, ToSchema)]
pub struct ApiKeyInput {
    /// 1 to 100 characters on one line.
    #[serde(default)]
    #[schema(inline, required = true)]
    name: NullableText,
    /// ingest, read and/or admin.
    #[serde(default)]
    #[schema(value_type = Vec<String>, required = true, min_items = 1)]
    scopes: OptTextList,
    /// The slug of the survey the key's Delighted-compatible requests (`/v1/...`) use; default
    /// `default`.
    #[serde(default)]
    #[schema(inline)]
    survey: OptText,
    /// Any other field is refused by name.
    #[serde(flatten)]
    #[schema(ignore)]
    other: BTreeMap<String, IgnoredAny>,
}

crate::object_input!(ApiKeyInput);

/// A new key's name, scopes and the slug of its survey (None: `default`).
pub type NewKey = (String, Scopes, Option<String>);

impl TryFrom<ApiKeyInput> for NewKey {
    type Error = ValidationError;

    fn try_from(input: ApiKeyInput) -> Result<NewKey, ValidationError> {
        let name = match input.name.0 {
            Some(s) => parse_name(&s)?,
            None => return Err(ValidationError::new("name", "is required")),
        };
        let scopes = match input.scopes.0 {
            Some(names) => Scopes::parse("scopes", &names)?,
            None => {
                return Err(ValidationError::new(
                    "scopes",
                    "is required: a list of ingest, read, admin",
                ))
            }
        };
        let survey = input
            .survey
            .0
            .map(|s| parse_slug("survey", &s))
            .transpose()?;
        if let Some(key) = input.other.into_keys().next() {
            return Err(ValidationError::new(key, "is not a field of an API key"));
        }
        Ok((name, scopes, survey))
    }
}

/// Reads a new key from a JSON body (the fuzzer).
pub fn parse_new_key(body: serde_json::Value) -> Result<NewKey, ValidationError> {
    fields::parse_object::<ApiKeyInput>(body)?.try_into()
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
    request_body = ApiKeyInput,
    responses((status = 201, description = "Created; `key` is shown only here", body = CreatedKeyView)), security(("bearer" = [])))]
pub async fn create(
    _: Scoped<Admin>,
    state: web::Data<AppState>,
    Input(input): Input<ApiKeyInput>,
) -> Result<HttpResponse, ApiError> {
    let (name, scopes, survey) = NewKey::try_from(input)?;
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
