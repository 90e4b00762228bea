//! The bot audit: the answers the scanner rules discarded, with why, and a person's decision to
//! count one as human (restore) or to discard one (discard). Every figure follows at once: the
//! tallies change in the same transaction.
use super::auth::{Admin, Read, Scoped};
use super::results::{comment_query, read_page, CommentView};
use crate::domain::ValidationError;
use crate::http::error::ApiError;
use crate::http::error::ApiReply;
use crate::http::query::QueryPairs;
use crate::http::AppState;
use crate::http::State;
use crate::store::ids::{ResponseId, SurveyId};

use crate::store::state::ResponseStatus;
use actix_web::{web, HttpResponse};
use serde::Serialize;
use utoipa::{IntoParams, ToSchema};

/// What the lists and the export take besides the comment filters (`CommentsQuery`) and the
/// insight filters. For OpenAPI only.
#[allow(dead_code)]
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ResponsesQuery {
    /// counted (default) or bot: the answers the scanner rules (or a person) discarded.
    status: Option<String>,
}

pub fn parse_status(raw: Option<&str>) -> Result<ResponseStatus, ValidationError> {
    match raw.filter(|s| !s.is_empty()) {
        None | Some("counted") => Ok(ResponseStatus::Counted),
        Some("bot") => Ok(ResponseStatus::Bot),
        Some(_) => Err(ValidationError::new("status", "must be counted or bot")),
    }
}

#[derive(Serialize, ToSchema)]
pub struct ResponsesPage {
    pub responses: Vec<CommentView>,
    pub next_cursor: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/surveys/{slug}/responses", tag = "results",
    params(("slug" = String, Path, description = "The survey's slug"), ResponsesQuery, super::results::CommentsQuery, super::results::InsightFilters),
    responses((status = 200, description = "Responses with or without a comment, newest first", body = ResponsesPage)),
    security(("bearer" = [])))]
pub async fn list(
    _: Scoped<Read>,
    state: State,
    slug: web::Path<String>,
    query: QueryPairs,
) -> ApiReply {
    let status = parse_status(query.get("status"))?;
    let survey = npsd_app::surveys::find(&state.app, slug.into_inner()).await?;
    let mut q = comment_query(&query, survey.id, status)?;
    q.commented = None;
    let (responses, next_cursor) = read_page(&state, q).await?;
    Ok(HttpResponse::Ok().json(ResponsesPage {
        responses,
        next_cursor,
    }))
}

/// Sets a response's status by hand and answers it as the lists show it (the dashboard calls
/// this too).
pub async fn decide(
    state: &AppState,
    slug: String,
    response_id: ResponseId,
    status: ResponseStatus,
) -> Result<CommentView, ApiError> {
    let (row, properties) =
        npsd_app::responses::decide(&state.app, slug, response_id, status).await?;
    Ok(CommentView::new(&row, Some(&properties)))
}

/// One response of a survey, whatever its status, through the same view as the lists (the
/// dashboard's response page reads it too).
pub async fn find_one(
    state: &AppState,
    survey_id: SurveyId,
    response_id: ResponseId,
) -> Result<Option<CommentView>, ApiError> {
    Ok(
        npsd_app::responses::find(&state.app, survey_id, response_id)
            .await?
            .map(|(row, properties)| CommentView::new(&row, Some(&properties))),
    )
}

#[utoipa::path(post, path = "/api/v1/surveys/{slug}/responses/{id}/restore", tag = "results",
    params(("slug" = String, Path, description = "The survey's slug"), ("id" = String, Path, description = "The response's id")),
    responses((status = 200, description = "The response, now counted", body = CommentView)),
    security(("bearer" = [])))]
pub async fn restore(
    _: Scoped<Admin>,
    state: State,
    path: web::Path<(String, String)>,
) -> ApiReply {
    let (slug, id) = path.into_inner();
    Ok(HttpResponse::Ok().json(decide(&state, slug, id.into(), ResponseStatus::Counted).await?))
}

#[utoipa::path(post, path = "/api/v1/surveys/{slug}/responses/{id}/discard", tag = "results",
    params(("slug" = String, Path, description = "The survey's slug"), ("id" = String, Path, description = "The response's id")),
    responses((status = 200, description = "The response, now not counted", body = CommentView)),
    security(("bearer" = [])))]
pub async fn discard(
    _: Scoped<Admin>,
    state: State,
    path: web::Path<(String, String)>,
) -> ApiReply {
    let (slug, id) = path.into_inner();
    Ok(HttpResponse::Ok().json(decide(&state, slug, id.into(), ResponseStatus::Bot).await?))
}
