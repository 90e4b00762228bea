//! API keys: create (the key is shown only in that answer), list, revoke. Admin scope.
use super::auth::{Admin, Scoped};
use super::fields::{self, NullableText, OptText, OptTextList};
use super::json::Input;
use crate::domain::access::{parse_key_name, Scopes};
use crate::domain::survey::parse_slug;
use crate::domain::ValidationError;
use crate::http::error::ApiReply;
use crate::http::State;
use crate::views::{ApiKeyView, CreatedKeyView};
use actix_web::{web, HttpResponse};
use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// A new API key.
#[derive(Deserialize, ToSchema)]
pub struct ApiKeyInput {
    /// 1 to 100 characters on one line.
    #[serde(default)]
    #[schema(value_type = String, required = true)]
    name: NullableText,
    /// ingest, read and/or admin.
    #[serde(default)]
    #[schema(schema_with = scopes_schema, required = true)]
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

/// At least one of the scopes a key can have.
fn scopes_schema() -> utoipa::openapi::schema::Array {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
    ArrayBuilder::new()
        .items(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some(["ingest", "read", "admin"])),
        )
        .min_items(Some(1))
        .build()
}

/// A new key's name, scopes and the slug of its survey (None: `default`).
pub type NewKey = (String, Scopes, Option<String>);

impl TryFrom<ApiKeyInput> for NewKey {
    type Error = ValidationError;

    fn try_from(input: ApiKeyInput) -> Result<NewKey, ValidationError> {
        let name = match input.name.0 {
            Some(s) => parse_key_name(&s)?,
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

#[utoipa::path(post, path = "/api/v1/api-keys", tag = "access",
    request_body = ApiKeyInput,
    responses((status = 201, description = "Created; `key` is shown only here", body = CreatedKeyView)), security(("bearer" = [])))]
pub async fn create(_: Scoped<Admin>, state: State, Input(input): Input<ApiKeyInput>) -> ApiReply {
    let (name, scopes, survey) = NewKey::try_from(input)?;
    let created =
        CreatedKeyView::from(npsd_app::keys::create(&state.app, name, scopes, survey).await?);
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
pub async fn list(_: Scoped<Admin>, state: State) -> ApiReply {
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
pub async fn revoke(_: Scoped<Admin>, state: State, id: web::Path<String>) -> ApiReply {
    npsd_app::keys::revoke(&state.app, id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}
