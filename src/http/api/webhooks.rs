//! Events and webhooks: `GET /api/v1/events` for consumers that poll, and the webhook endpoints
//! (create, list, show, change, delete, their delivery log, a test event, a redelivery). Admin
//! scope.
use super::auth::{Admin, Scoped};
use super::fields::{self, Clearable, Flag, OptText, OptTextList, Text};
use super::json::{parse_limit, Input};
use crate::domain::survey::parse_slug;
use crate::domain::ValidationError;
use crate::http::error::{ApiError, ApiReply};
use crate::http::query::QueryPairs;
use crate::http::State;
use actix_web::{web, HttpResponse};
use npsd_app::events::EventsPage;
use npsd_app::webhooks::{Delivery, NewWebhook, Webhook, WebhookPatch};
use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};

/// For OpenAPI only.
#[allow(dead_code)]
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// The `next_cursor` of the page before; left out: from the oldest event kept.
    after: Option<String>,
    /// Only these types (repeat the parameter, or separate with commas).
    #[param(rename = "type")]
    kind: Option<String>,
    /// Only this survey's events (its slug).
    survey: Option<String>,
    /// At most this many events (default 50, at most 500).
    limit: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/events", tag = "events",
    params(EventsQuery),
    responses((status = 200, description = "The events after the cursor, oldest first", body = EventsPage)),
    security(("bearer" = [])))]
pub async fn events(_: Scoped<Admin>, state: State, query: QueryPairs) -> ApiReply {
    let types: Vec<String> = query
        .0
        .iter()
        .filter(|(k, _)| k == "type")
        .map(|(_, v)| v.clone())
        .collect();
    let types = npsd_app::events::parse_types("type", &types)?;
    let limit = parse_limit(query.get("limit"))?;
    let survey = query
        .get("survey")
        .filter(|s| !s.is_empty())
        .map(|s| parse_slug("survey", s))
        .transpose()?;
    let page = npsd_app::events::list(
        &state.app,
        query.get("after").map(str::to_string),
        types,
        survey,
        limit,
    )
    .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// A new webhook endpoint.
#[derive(Deserialize, ToSchema)]
pub struct WebhookInput {
    /// Where events are posted: https (http only with NPSD_WEBHOOK_ALLOW_HTTP=1), never a
    /// loopback, link-local or private address (unless NPSD_WEBHOOK_ALLOW_PRIVATE=1).
    #[serde(default)]
    #[schema(value_type = String, required = true)]
    url: OptText,
    /// The event types to receive; empty or left out: all.
    #[serde(default)]
    #[schema(value_type = Option<Vec<String>>)]
    events: OptTextList,
    /// Only this survey's events (its slug); null or left out: every survey's.
    #[serde(default)]
    #[schema(inline)]
    survey: OptText,
    #[serde(default)]
    #[schema(inline)]
    description: OptText,
    /// standard (the default: Standard Webhooks) or delighted (Delighted's webhook payloads and
    /// `X-Delighted-Webhook-Signature`, for receivers written for Delighted).
    #[serde(default)]
    #[schema(inline)]
    format: OptText,
    /// Any other field is refused by name.
    #[serde(flatten)]
    #[schema(ignore)]
    other: BTreeMap<String, IgnoredAny>,
}

crate::object_input!(WebhookInput);

impl TryFrom<WebhookInput> for NewWebhook {
    type Error = ValidationError;

    fn try_from(input: WebhookInput) -> Result<NewWebhook, ValidationError> {
        if let Some(key) = input.other.into_keys().next() {
            return Err(ValidationError::new(key, "is not a field of a webhook"));
        }
        let Some(url) = input.url.0 else {
            return Err(ValidationError::new("url", "is required"));
        };
        Ok(NewWebhook {
            url,
            events: input.events.0.unwrap_or_default(),
            survey: input
                .survey
                .0
                .map(|s| parse_slug("survey", &s))
                .transpose()?,
            description: input.description.0,
            format: input.format.0,
        })
    }
}

/// Reads a new webhook from a JSON body (the fuzzer).
pub fn parse_new_webhook(body: serde_json::Value) -> Result<NewWebhook, ValidationError> {
    fields::parse_object::<WebhookInput>(body)?.try_into()
}

/// A change to a webhook endpoint: only the fields sent change.
#[derive(Deserialize, ToSchema)]
pub struct WebhookPatchInput {
    #[serde(default, deserialize_with = "fields::present")]
    #[schema(value_type = Option<String>)]
    url: Option<Text>,
    #[serde(default, deserialize_with = "fields::present")]
    #[schema(value_type = Option<Vec<String>>)]
    events: Option<OptTextList>,
    /// A survey's slug, or null for every survey.
    #[serde(default, deserialize_with = "fields::present")]
    #[schema(value_type = Option<String>)]
    survey: Option<Clearable>,
    #[serde(default, deserialize_with = "fields::present")]
    #[schema(value_type = Option<String>)]
    description: Option<Clearable>,
    /// false stops deliveries; true starts them again where they stopped.
    #[serde(default, deserialize_with = "fields::present")]
    #[schema(value_type = Option<bool>)]
    enabled: Option<Flag>,
    #[serde(flatten)]
    #[schema(ignore)]
    other: BTreeMap<String, IgnoredAny>,
}

crate::object_input!(WebhookPatchInput);

impl TryFrom<WebhookPatchInput> for WebhookPatch {
    type Error = ValidationError;

    fn try_from(input: WebhookPatchInput) -> Result<WebhookPatch, ValidationError> {
        if let Some(key) = input.other.into_keys().next() {
            return Err(ValidationError::new(key, "is not a field of a webhook"));
        }
        let survey = match input.survey {
            None => None,
            Some(Clearable(None)) => Some(None),
            Some(Clearable(Some(s))) if s.trim().is_empty() => Some(None),
            Some(Clearable(Some(s))) => Some(Some(parse_slug("survey", &s)?)),
        };
        Ok(WebhookPatch {
            url: input.url.map(|u| u.0),
            events: input.events.map(|e| e.0.unwrap_or_default()),
            survey,
            description: input.description.map(|d| d.0),
            enabled: input.enabled.map(|e| e.0),
        })
    }
}

#[utoipa::path(post, path = "/api/v1/webhooks", tag = "events",
    request_body = WebhookInput,
    responses((status = 201, description = "Created; `secret` is shown only here", body = Webhook)),
    security(("bearer" = [])))]
pub async fn create(_: Scoped<Admin>, state: State, Input(input): Input<WebhookInput>) -> ApiReply {
    let new = NewWebhook::try_from(input)?;
    let created = npsd_app::webhooks::create(&state.app, new).await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/webhooks/{}", created.id)))
        .json(created))
}

#[derive(Serialize, ToSchema)]
pub struct WebhookList {
    pub webhooks: Vec<Webhook>,
}

#[utoipa::path(get, path = "/api/v1/webhooks", tag = "events",
    responses((status = 200, description = "Every endpoint, never their secrets", body = WebhookList)),
    security(("bearer" = [])))]
pub async fn list(_: Scoped<Admin>, state: State) -> ApiReply {
    let webhooks = npsd_app::webhooks::list(&state.app).await?;
    Ok(HttpResponse::Ok().json(WebhookList { webhooks }))
}

fn missing(id: &str) -> ApiError {
    ApiError::NotFound(format!("no webhook '{id}'"))
}

#[utoipa::path(get, path = "/api/v1/webhooks/{id}", tag = "events",
    params(("id" = String, Path, description = "The endpoint's id")),
    responses((status = 200, description = "The endpoint", body = Webhook)),
    security(("bearer" = [])))]
pub async fn get(_: Scoped<Admin>, state: State, id: web::Path<String>) -> ApiReply {
    let id = id.into_inner();
    match npsd_app::webhooks::find(&state.app, id.clone()).await? {
        Some(w) => Ok(HttpResponse::Ok().json(w)),
        None => Err(missing(&id)),
    }
}

#[utoipa::path(patch, path = "/api/v1/webhooks/{id}", tag = "events",
    params(("id" = String, Path, description = "The endpoint's id")),
    request_body = WebhookPatchInput,
    responses((status = 200, description = "The endpoint as changed", body = Webhook)),
    security(("bearer" = [])))]
pub async fn update(
    _: Scoped<Admin>,
    state: State,
    id: web::Path<String>,
    Input(input): Input<WebhookPatchInput>,
) -> ApiReply {
    let id = id.into_inner();
    let patch = WebhookPatch::try_from(input)?;
    match npsd_app::webhooks::update(&state.app, id.clone(), patch).await? {
        Some(w) => Ok(HttpResponse::Ok().json(w)),
        None => Err(missing(&id)),
    }
}

#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", tag = "events",
    params(("id" = String, Path, description = "The endpoint's id")),
    responses((status = 204, description = "Deleted, with its delivery log")),
    security(("bearer" = [])))]
pub async fn delete(_: Scoped<Admin>, state: State, id: web::Path<String>) -> ApiReply {
    let id = id.into_inner();
    if npsd_app::webhooks::delete(&state.app, id.clone()).await? {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(missing(&id))
    }
}

#[derive(Serialize, ToSchema)]
pub struct DeliveryList {
    pub deliveries: Vec<Delivery>,
    /// Pass as `before` for older deliveries; null at the end.
    pub next_cursor: Option<String>,
}

/// For OpenAPI only.
#[allow(dead_code)]
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveriesQuery {
    /// The `next_cursor` of the page before.
    before: Option<String>,
    /// At most this many (default 50, at most 500).
    limit: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/webhooks/{id}/deliveries", tag = "events",
    params(("id" = String, Path, description = "The endpoint's id"), DeliveriesQuery),
    responses((status = 200, description = "Every attempt, newest first: outcome, time, attempt, response code and the first 1 KB of the answer", body = DeliveryList)),
    security(("bearer" = [])))]
pub async fn deliveries(
    _: Scoped<Admin>,
    state: State,
    id: web::Path<String>,
    query: QueryPairs,
) -> ApiReply {
    let id = id.into_inner();
    let limit = parse_limit(query.get("limit"))?;
    let before = query
        .get("before")
        .filter(|b| !b.is_empty())
        .map(str::to_string);
    let Some(mut deliveries) =
        npsd_app::webhooks::deliveries(&state.app, id.clone(), before, limit + 1).await?
    else {
        return Err(missing(&id));
    };
    let next_cursor = if deliveries.len() as i64 > limit {
        deliveries.truncate(limit as usize);
        deliveries.last().map(|d| d.id.clone())
    } else {
        None
    };
    Ok(HttpResponse::Ok().json(DeliveryList {
        deliveries,
        next_cursor,
    }))
}

#[utoipa::path(post, path = "/api/v1/webhooks/{id}/test", tag = "events",
    params(("id" = String, Path, description = "The endpoint's id")),
    responses((status = 200, description = "A `webhook.test` event was posted now; how it went", body = Delivery)),
    security(("bearer" = [])))]
pub async fn test(_: Scoped<Admin>, state: State, id: web::Path<String>) -> ApiReply {
    let id = id.into_inner();
    match npsd_app::webhooks::send_test(&state.app, id.clone()).await? {
        Some(d) => Ok(HttpResponse::Ok().json(d)),
        None => Err(missing(&id)),
    }
}

#[utoipa::path(post, path = "/api/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver", tag = "events",
    params(("id" = String, Path, description = "The endpoint's id"),
           ("delivery_id" = String, Path, description = "A delivery of its log")),
    responses((status = 200, description = "The delivery's event was posted again now, with its webhook-id; how it went", body = Delivery)),
    security(("bearer" = [])))]
pub async fn redeliver(
    _: Scoped<Admin>,
    state: State,
    path: web::Path<(String, String)>,
) -> ApiReply {
    let (id, delivery_id) = path.into_inner();
    match npsd_app::webhooks::redeliver(&state.app, id.clone(), delivery_id.clone()).await? {
        Some(d) => Ok(HttpResponse::Ok().json(d)),
        None => Err(ApiError::NotFound(format!(
            "no delivery '{delivery_id}' of webhook '{id}'"
        ))),
    }
}
