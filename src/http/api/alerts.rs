//! Alert rules of a survey: `POST/GET /api/v1/surveys/{slug}/alerts`,
//! `GET/PATCH/DELETE /api/v1/surveys/{slug}/alerts/{id}`. Admin scope.
use super::auth::{Admin, Scoped};
use super::fields::{self, Clearable, Flag, OptText, OptTextList, Text, Whole};
use super::json::Input;
use crate::domain::ValidationError;
use crate::http::error::{ApiError, ApiReply};
use crate::http::State;
use actix_web::{web, HttpResponse};
use npsd_app::alerts::{AlertRule, RuleInput, When};
use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// When a rule fires: every condition given must hold; `{}` fires on every answer.
#[derive(Deserialize, ToSchema)]
pub struct WhenInput {
    /// 0 to 10.
    #[serde(default)]
    #[schema(value_type = Option<i64>)]
    min_score: Option<Whole<i64>>,
    /// 0 to 10.
    #[serde(default)]
    #[schema(value_type = Option<i64>)]
    max_score: Option<Whole<i64>>,
    /// detractor, passive or promoter.
    #[serde(default)]
    #[schema(inline)]
    category: OptText,
    #[serde(default)]
    #[schema(value_type = Option<bool>)]
    has_comment: Option<Flag>,
    /// email, web, api or import.
    #[serde(default)]
    #[schema(inline)]
    channel: OptText,
    /// Each named property must have this value.
    #[serde(default)]
    #[schema(value_type = Option<BTreeMap<String, String>>)]
    properties: Option<BTreeMap<String, Text>>,
    #[serde(flatten)]
    #[schema(ignore)]
    other: BTreeMap<String, IgnoredAny>,
}

impl TryFrom<WhenInput> for When {
    type Error = ValidationError;

    fn try_from(w: WhenInput) -> Result<When, ValidationError> {
        if let Some(key) = w.other.into_keys().next() {
            return Err(ValidationError::new(
                format!("when.{key}"),
                "is not a condition; use min_score, max_score, category, has_comment, channel or properties",
            ));
        }
        let score = |field: &str, v: Option<Whole<i64>>| -> Result<Option<u8>, ValidationError> {
            match v {
                None => Ok(None),
                Some(Whole(n)) if (0..=10).contains(&n) => Ok(Some(n as u8)),
                Some(_) => Err(ValidationError::new(field, "must be a score from 0 to 10")),
            }
        };
        let when = When {
            min_score: score("when.min_score", w.min_score)?,
            max_score: score("when.max_score", w.max_score)?,
            category: w.category.0.map(|c| c.trim().to_ascii_lowercase()),
            has_comment: w.has_comment.map(|f| f.0),
            channel: w.channel.0.map(|c| c.trim().to_ascii_lowercase()),
            properties: w
                .properties
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| (k, v.0))
                .collect(),
        };
        when.check()?;
        Ok(when)
    }
}

/// An alert rule.
#[derive(Deserialize, ToSchema)]
pub struct AlertInput {
    /// 1 to 100 characters on one line.
    #[serde(default)]
    #[schema(value_type = String, required = true)]
    name: OptText,
    #[serde(default)]
    when: Option<WhenInput>,
    /// Addresses the alert is emailed to.
    #[serde(default)]
    #[schema(value_type = Option<Vec<String>>)]
    email: OptTextList,
    /// A Slack incoming webhook URL (https).
    #[serde(default)]
    #[schema(inline)]
    slack_webhook_url: OptText,
    /// A Microsoft Teams incoming webhook (or Workflows webhook) URL (https).
    #[serde(default)]
    #[schema(inline)]
    teams_webhook_url: OptText,
    /// 0 (the default): a message per answer; 1 to 1440: one summary every N minutes.
    #[serde(default)]
    #[schema(value_type = Option<i64>)]
    summary_minutes: Option<Whole<i64>>,
    #[serde(default)]
    #[schema(value_type = Option<bool>)]
    enabled: Option<Flag>,
    #[serde(flatten)]
    #[schema(ignore)]
    other: BTreeMap<String, IgnoredAny>,
}

crate::object_input!(AlertInput);

impl TryFrom<AlertInput> for RuleInput {
    type Error = ValidationError;

    fn try_from(i: AlertInput) -> Result<RuleInput, ValidationError> {
        if let Some(key) = i.other.into_keys().next() {
            return Err(ValidationError::new(key, "is not a field of an alert rule"));
        }
        Ok(RuleInput {
            name: i.name.0,
            when: Some(i.when.map(When::try_from).transpose()?.unwrap_or_default()),
            email: Some(i.email.0.unwrap_or_default()),
            slack_webhook_url: Some(i.slack_webhook_url.0),
            teams_webhook_url: Some(i.teams_webhook_url.0),
            summary_minutes: Some(i.summary_minutes.map_or(0, |m| m.0)),
            enabled: i.enabled.map(|e| e.0),
        })
    }
}

/// Reads a new alert rule from a JSON body (the fuzzer).
pub fn parse_new_alert(body: serde_json::Value) -> Result<RuleInput, ValidationError> {
    fields::parse_object::<AlertInput>(body)?.try_into()
}

/// A change to an alert rule: only the fields sent change.
#[derive(Deserialize, ToSchema)]
pub struct AlertPatchInput {
    #[serde(default, deserialize_with = "fields::present")]
    #[schema(value_type = Option<String>)]
    name: Option<Text>,
    #[serde(default, deserialize_with = "fields::present")]
    when: Option<WhenInput>,
    #[serde(default, deserialize_with = "fields::present")]
    #[schema(value_type = Option<Vec<String>>)]
    email: Option<OptTextList>,
    /// A URL, or null to stop posting to Slack.
    #[serde(default, deserialize_with = "fields::present")]
    #[schema(value_type = Option<String>)]
    slack_webhook_url: Option<Clearable>,
    /// A URL, or null to stop posting to Teams.
    #[serde(default, deserialize_with = "fields::present")]
    #[schema(value_type = Option<String>)]
    teams_webhook_url: Option<Clearable>,
    #[serde(default, deserialize_with = "fields::present")]
    #[schema(value_type = Option<i64>)]
    summary_minutes: Option<Whole<i64>>,
    #[serde(default, deserialize_with = "fields::present")]
    #[schema(value_type = Option<bool>)]
    enabled: Option<Flag>,
    #[serde(flatten)]
    #[schema(ignore)]
    other: BTreeMap<String, IgnoredAny>,
}

crate::object_input!(AlertPatchInput);

impl TryFrom<AlertPatchInput> for RuleInput {
    type Error = ValidationError;

    fn try_from(i: AlertPatchInput) -> Result<RuleInput, ValidationError> {
        if let Some(key) = i.other.into_keys().next() {
            return Err(ValidationError::new(key, "is not a field of an alert rule"));
        }
        Ok(RuleInput {
            name: i.name.map(|n| n.0),
            when: i.when.map(When::try_from).transpose()?,
            email: i.email.map(|e| e.0.unwrap_or_default()),
            slack_webhook_url: i.slack_webhook_url.map(|u| u.0),
            teams_webhook_url: i.teams_webhook_url.map(|u| u.0),
            summary_minutes: i.summary_minutes.map(|m| m.0),
            enabled: i.enabled.map(|e| e.0),
        })
    }
}

#[utoipa::path(post, path = "/api/v1/surveys/{slug}/alerts", tag = "events",
    params(("slug" = String, Path, description = "The survey's slug")),
    request_body = AlertInput,
    responses((status = 201, description = "Created: it looks at the answers that come from now on", body = AlertRule)),
    security(("bearer" = [])))]
pub async fn create(
    _: Scoped<Admin>,
    state: State,
    slug: web::Path<String>,
    Input(input): Input<AlertInput>,
) -> ApiReply {
    let input = RuleInput::try_from(input)?;
    let slug = slug.into_inner();
    let rule = npsd_app::alerts::create(&state.app, slug.clone(), input).await?;
    Ok(HttpResponse::Created()
        .insert_header((
            "Location",
            format!("/api/v1/surveys/{slug}/alerts/{}", rule.id),
        ))
        .json(rule))
}

#[derive(Serialize, ToSchema)]
pub struct AlertList {
    pub alerts: Vec<AlertRule>,
}

#[utoipa::path(get, path = "/api/v1/surveys/{slug}/alerts", tag = "events",
    params(("slug" = String, Path, description = "The survey's slug")),
    responses((status = 200, description = "The survey's alert rules", body = AlertList)),
    security(("bearer" = [])))]
pub async fn list(_: Scoped<Admin>, state: State, slug: web::Path<String>) -> ApiReply {
    let alerts = npsd_app::alerts::list(&state.app, slug.into_inner()).await?;
    Ok(HttpResponse::Ok().json(AlertList { alerts }))
}

fn missing(id: &str) -> ApiError {
    ApiError::NotFound(format!("no alert rule '{id}'"))
}

#[utoipa::path(get, path = "/api/v1/surveys/{slug}/alerts/{id}", tag = "events",
    params(("slug" = String, Path, description = "The survey's slug"), ("id" = String, Path, description = "The rule's id")),
    responses((status = 200, description = "The rule", body = AlertRule)),
    security(("bearer" = [])))]
pub async fn get(_: Scoped<Admin>, state: State, path: web::Path<(String, String)>) -> ApiReply {
    let (slug, id) = path.into_inner();
    match npsd_app::alerts::find(&state.app, slug, id.clone()).await? {
        Some(r) => Ok(HttpResponse::Ok().json(r)),
        None => Err(missing(&id)),
    }
}

#[utoipa::path(patch, path = "/api/v1/surveys/{slug}/alerts/{id}", tag = "events",
    params(("slug" = String, Path, description = "The survey's slug"), ("id" = String, Path, description = "The rule's id")),
    request_body = AlertPatchInput,
    responses((status = 200, description = "The rule as changed", body = AlertRule)),
    security(("bearer" = [])))]
pub async fn update(
    _: Scoped<Admin>,
    state: State,
    path: web::Path<(String, String)>,
    Input(input): Input<AlertPatchInput>,
) -> ApiReply {
    let (slug, id) = path.into_inner();
    let input = RuleInput::try_from(input)?;
    match npsd_app::alerts::update(&state.app, slug, id.clone(), input).await? {
        Some(r) => Ok(HttpResponse::Ok().json(r)),
        None => Err(missing(&id)),
    }
}

#[utoipa::path(delete, path = "/api/v1/surveys/{slug}/alerts/{id}", tag = "events",
    params(("slug" = String, Path, description = "The survey's slug"), ("id" = String, Path, description = "The rule's id")),
    responses((status = 204, description = "Deleted")),
    security(("bearer" = [])))]
pub async fn delete(_: Scoped<Admin>, state: State, path: web::Path<(String, String)>) -> ApiReply {
    let (slug, id) = path.into_inner();
    if npsd_app::alerts::delete(&state.app, slug, id.clone()).await? {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(missing(&id))
    }
}
