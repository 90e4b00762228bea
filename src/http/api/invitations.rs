//! Invitations: list them (by survey, status, email) and cancel one that has not gone out.
use super::auth::{Ingest, Read, Scoped};
use super::json::{decode_cursor, encode_cursor, parse_limit, InvitationView};
use crate::domain::email::EmailAddress;
use crate::domain::ValidationError;
use crate::http::error::ApiReply;
use crate::http::query::QueryPairs;
use crate::http::State;
use crate::store::invitations::InvitationQuery;
use crate::store::state::InvitationStatus;
use actix_web::{web, HttpResponse};
use serde::Serialize;
use utoipa::{IntoParams, ToSchema};

/// Documents the query for OpenAPI; the handler reads it through `QueryPairs`.
#[allow(dead_code)]
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InvitationsQuery {
    /// A survey's slug.
    survey: Option<String>,
    /// scheduled, sent, failed or skipped.
    status: Option<String>,
    /// The recipient's address (any case).
    email: Option<String>,
    limit: Option<String>,
    cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct InvitationsPage {
    pub invitations: Vec<InvitationView>,
    pub next_cursor: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/invitations", tag = "invitations",
    params(InvitationsQuery),
    responses((status = 200, description = "Invitations, newest first", body = InvitationsPage)),
    security(("bearer" = [])))]
pub async fn list(_: Scoped<Read>, state: State, query: QueryPairs) -> ApiReply {
    let status = query
        .get("status")
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<InvitationStatus>().map_err(|_| {
                ValidationError::new("status", "must be scheduled, sent, failed or skipped")
            })
        })
        .transpose()?;
    let email_key = query
        .get("email")
        .filter(|s| !s.is_empty())
        .map(|e| EmailAddress::parse("email", e).map(|e| e.key()))
        .transpose()?;
    let limit = parse_limit(query.get("limit"))?;
    let before = query
        .get("cursor")
        .filter(|c| !c.is_empty())
        .map(decode_cursor)
        .transpose()?;
    let survey_id = match query.get("survey").filter(|s| !s.is_empty()) {
        Some(slug) => Some(
            npsd_app::surveys::find(&state.app, slug.to_string())
                .await?
                .id,
        ),
        None => None,
    };
    let q = InvitationQuery {
        survey_id,
        status,
        email_key,
        before,
        limit: limit + 1,
    };
    let mut rows = npsd_app::invitations::list(&state.app, q).await?;
    let next_cursor = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last()
            .map(|(i, _)| encode_cursor(i.created_at, i.id.as_str()))
    } else {
        None
    };
    Ok(HttpResponse::Ok().json(InvitationsPage {
        invitations: rows
            .iter()
            .map(|(i, slug)| InvitationView::new(i, slug))
            .collect(),
        next_cursor,
    }))
}

#[utoipa::path(delete, path = "/api/v1/invitations/{id}", tag = "invitations",
    params(("id" = String, Path, description = "The invitation's id")),
    responses(
        (status = 200, description = "Cancelled: the invitation is skipped and its email will not go out", body = InvitationView),
        (status = 409, description = "Sent, failed, skipped or being sent already", body = crate::http::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn cancel(_: Scoped<Ingest>, state: State, id: web::Path<String>) -> ApiReply {
    let (row, slug) = npsd_app::invitations::cancel(&state.app, id.into_inner().into()).await?;
    Ok(HttpResponse::Ok().json(InvitationView::new(&row, &slug)))
}
