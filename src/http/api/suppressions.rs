//! Suppressions: addresses that no survey emails again. POST and DELETE need admin, GET read.
use super::auth::{Admin, Read, Scoped};
use super::fields::{self, NullableText};
use super::json::Input;
use super::json::PathEmail;
use super::json::{decode_cursor, encode_cursor, parse_limit};
use crate::domain::email::EmailAddress;
use crate::domain::ValidationError;
use crate::http::error::ApiReply;
use crate::http::State;
use crate::store::state::SuppressionReason;

pub use crate::views::SuppressionView;
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// An address to suppress.
#[derive(Deserialize, ToSchema)]
pub struct SuppressionInput {
    #[serde(default)]
    #[schema(value_type = String, required = true, format = Email)]
    email: NullableText,
    /// bounce, complaint or manual (default).
    #[serde(default)]
    #[schema(schema_with = reason_schema)]
    reason: NullableText,
}

/// The reasons a suppression may give.
fn reason_schema() -> utoipa::openapi::schema::Object {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(["bounce", "complaint", "manual"]))
        .build()
}

crate::object_input!(SuppressionInput);

impl TryFrom<SuppressionInput> for (EmailAddress, SuppressionReason) {
    type Error = ValidationError;

    fn try_from(input: SuppressionInput) -> Result<Self, ValidationError> {
        let email = match input.email.0 {
            Some(s) => EmailAddress::parse("email", &s)?,
            None => return Err(ValidationError::new("email", "is required")),
        };
        let reason = match input.reason.0 {
            None => SuppressionReason::Manual,
            Some(s) => SuppressionReason::parse("reason", &s)?,
        };
        Ok((email, reason))
    }
}

/// Reads a suppression from a JSON body (the fuzzer).
pub fn parse_new(
    body: serde_json::Value,
) -> Result<(EmailAddress, SuppressionReason), ValidationError> {
    fields::parse_object::<SuppressionInput>(body)?.try_into()
}

#[utoipa::path(post, path = "/api/v1/suppressions", tag = "suppressions",
    request_body = SuppressionInput,
    responses(
        (status = 201, description = "Suppressed", body = SuppressionView),
        (status = 200, description = "Suppressed already", body = SuppressionView),
    ), security(("bearer" = [])))]
pub async fn create(
    _: Scoped<Admin>,
    state: State,
    Input(input): Input<SuppressionInput>,
) -> ApiReply {
    let (email, reason) = input.try_into()?;
    let (row, created) = npsd_app::suppressions::add(&state.app, email, reason).await?;
    let mut res = if created {
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    };
    Ok(res.json(SuppressionView::from(&row)))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Page size (default 50, at most 500).
    limit: Option<String>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct SuppressionList {
    pub suppressions: Vec<SuppressionView>,
    pub next_cursor: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/suppressions", tag = "suppressions",
    params(ListQuery),
    responses((status = 200, description = "Suppressions, oldest first", body = SuppressionList)), security(("bearer" = [])))]
pub async fn list(_: Scoped<Read>, state: State, query: web::Query<ListQuery>) -> ApiReply {
    let limit = parse_limit(query.limit.as_deref())?;
    let after = query
        .cursor
        .as_deref()
        .filter(|c| !c.is_empty())
        .map(decode_cursor)
        .transpose()?;
    let mut rows = npsd_app::suppressions::list(&state.app, after, limit + 1).await?;
    let next_cursor = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last()
            .map(|r| encode_cursor(r.created_at, &r.email_hash))
    } else {
        None
    };
    Ok(HttpResponse::Ok().json(SuppressionList {
        suppressions: rows.iter().map(SuppressionView::from).collect(),
        next_cursor,
    }))
}

#[utoipa::path(delete, path = "/api/v1/suppressions/{email}", tag = "suppressions",
    params(("email" = String, Path, description = "The address")),
    responses((status = 204, description = "No longer suppressed")), security(("bearer" = [])))]
pub async fn remove(_: Scoped<Admin>, state: State, PathEmail(email): PathEmail) -> ApiReply {
    npsd_app::suppressions::remove(&state.app, &email).await?;
    Ok(HttpResponse::NoContent().finish())
}
