//! Surveys: list, create, read, change.
use super::auth::{Admin, Read, Scoped};
use super::fields::{
    self, Addresses, Clearable, Flag, HourMessage, LooseText, Num, Text, TextList, Whole,
};
use super::json::{Input, SurveyView};
use crate::domain::digest::DigestPatch;
use crate::domain::survey::SurveyPatch;
use crate::domain::ValidationError;
use crate::http::error::ApiReply;
use crate::http::State;
use actix_web::{web, HttpResponse};
use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct SurveyList {
    pub surveys: Vec<SurveyView>,
}

/// Fields the API shows but nobody sets: ignored on input, so a client can send back what it read.
const READ_ONLY: &[&str] = &[
    "id",
    "question_text",
    "embed_secret_set",
    "created_at",
    "updated_at",
];

/// Survey settings; on PATCH every field is optional, `null` clears an optional one. The
/// spellings people also use (`from`, `delay_seconds`, `accent_colour`...) are accepted.
#[derive(Deserialize, ToSchema)]
pub struct SurveyInput {
    /// Required on POST; cannot change.
    #[serde(default, deserialize_with = "fields::present")]
    #[schema(inline)]
    slug: Option<Text>,
    #[serde(default, deserialize_with = "fields::present")]
    #[schema(inline)]
    brand: Option<Text>,
    #[serde(default, deserialize_with = "fields::present")]
    #[schema(inline)]
    question: Option<Clearable>,
    #[serde(default, deserialize_with = "fields::present", alias = "from")]
    #[schema(inline)]
    sender: Option<Clearable>,
    #[serde(default, deserialize_with = "fields::present", alias = "reply-to")]
    #[schema(inline)]
    reply_to: Option<Clearable>,
    #[serde(
        default,
        deserialize_with = "fields::present",
        alias = "default_locale"
    )]
    #[schema(inline)]
    locale: Option<Text>,
    #[serde(
        default,
        deserialize_with = "fields::present",
        alias = "delay_seconds",
        alias = "send_delay"
    )]
    #[schema(value_type = Option<i64>)]
    send_delay_seconds: Option<Whole<i64>>,
    #[serde(default, deserialize_with = "fields::present")]
    #[schema(value_type = Option<i32>)]
    throttle_days: Option<Whole<i32>>,
    #[serde(
        default,
        deserialize_with = "fields::present",
        alias = "response_window"
    )]
    #[schema(value_type = Option<i32>)]
    response_window_days: Option<Whole<i32>>,
    /// `#rrggbb`
    #[serde(default, deserialize_with = "fields::present", alias = "accent_colour")]
    #[schema(inline)]
    accent_color: Option<Text>,
    /// A line under the email's greeting, e.g. "Thanks for your order {order_id}."
    #[serde(default, deserialize_with = "fields::present")]
    #[schema(inline)]
    intro: Option<Clearable>,
    /// Origins (`scheme://host[:port]`) whose pages may embed the survey.
    #[serde(default, deserialize_with = "fields::present")]
    #[schema(value_type = Option<Vec<String>>)]
    allowed_origins: Option<TextList>,
    #[serde(default, deserialize_with = "fields::present")]
    #[schema(inline)]
    embed_enabled: Option<Flag>,
    /// The NPS digest; fields left out keep their value.
    #[serde(default)]
    digest: Option<DigestInput>,
    /// Any other field: refused by name, except the read-only ones a client read.
    #[serde(flatten)]
    #[schema(ignore)]
    other: BTreeMap<String, IgnoredAny>,
}

/// The NPS digest's settings.
#[derive(Deserialize, ToSchema)]
pub struct DigestInput {
    #[serde(default, deserialize_with = "fields::present")]
    #[schema(inline)]
    enabled: Option<Flag>,
    #[serde(default, deserialize_with = "fields::present")]
    #[schema(value_type = Option<Vec<String>>)]
    recipients: Option<TextList<Addresses>>,
    /// mon, tue, wed, thu, fri, sat or sun.
    #[serde(default, deserialize_with = "fields::present")]
    #[schema(inline)]
    weekday: Option<LooseText>,
    #[serde(default, deserialize_with = "fields::present")]
    #[schema(value_type = Option<u8>, minimum = 0, maximum = 23)]
    hour: Option<Num<HourMessage>>,
    /// An IANA time zone, e.g. Europe/Berlin.
    #[serde(default, deserialize_with = "fields::present")]
    #[schema(inline)]
    time_zone: Option<LooseText>,
    /// daily, weekly or monthly.
    #[serde(default, deserialize_with = "fields::present")]
    #[schema(inline)]
    period: Option<LooseText>,
    #[serde(flatten)]
    #[schema(ignore)]
    other: BTreeMap<String, IgnoredAny>,
}

crate::object_input!(SurveyInput);

impl From<DigestInput> for DigestPatch {
    fn from(d: DigestInput) -> DigestPatch {
        DigestPatch {
            enabled: d.enabled.map(|f| f.0),
            recipients: d.recipients.map(|l| l.0),
            weekday: d.weekday.map(|t| t.0),
            hour: d.hour.map(|n| n.0),
            time_zone: d.time_zone.map(|t| t.0),
            period: d.period.map(|t| t.0),
            unknown: d.other.into_keys().next(),
        }
    }
}

impl SurveyInput {
    /// The slug it names (required on create, unchangeable on update) and the change it asks.
    pub fn into_patch(self) -> Result<(Option<String>, SurveyPatch), ValidationError> {
        if let Some(key) = self.other.keys().find(|k| !READ_ONLY.contains(&k.as_str())) {
            return Err(ValidationError::new(key.clone(), "is not a survey setting"));
        }
        let text = |g: Option<Text>| g.map(|t| t.0);
        let clearable = |g: Option<Clearable>| g.map(|c| c.0);
        let patch = SurveyPatch {
            brand: text(self.brand),
            question: clearable(self.question),
            sender: clearable(self.sender),
            reply_to: clearable(self.reply_to),
            locale: text(self.locale),
            send_delay_seconds: self.send_delay_seconds.map(|n| n.0),
            throttle_days: self.throttle_days.map(|n| n.0),
            response_window_days: self.response_window_days.map(|n| n.0),
            accent_color: text(self.accent_color),
            intro: clearable(self.intro),
            allowed_origins: self.allowed_origins.map(|l| l.0),
            embed_enabled: self.embed_enabled.map(|f| f.0),
            digest: self.digest.map(DigestPatch::from),
        };
        Ok((text(self.slug), patch))
    }
}

/// Reads a survey body from JSON (the API; the fuzzer).
pub fn parse_patch(
    body: serde_json::Value,
) -> Result<(Option<String>, SurveyPatch), ValidationError> {
    fields::parse_object::<SurveyInput>(body)?.into_patch()
}

#[utoipa::path(get, path = "/api/v1/surveys", tag = "surveys",
    responses((status = 200, description = "Every survey", body = SurveyList)), security(("bearer" = [])))]
pub async fn list(_: Scoped<Read>, state: State) -> ApiReply {
    let rows = npsd_app::surveys::list(&state.app).await?;
    Ok(HttpResponse::Ok().json(SurveyList {
        surveys: rows.iter().map(SurveyView::from).collect(),
    }))
}

#[utoipa::path(get, path = "/api/v1/surveys/{slug}", tag = "surveys",
    params(("slug" = String, Path, description = "The survey's slug")),
    responses((status = 200, description = "The survey", body = SurveyView)), security(("bearer" = [])))]
pub async fn get(_: Scoped<Read>, state: State, slug: web::Path<String>) -> ApiReply {
    let row = npsd_app::surveys::find(&state.app, slug.into_inner()).await?;
    Ok(HttpResponse::Ok().json(SurveyView::from(&row)))
}

#[utoipa::path(post, path = "/api/v1/surveys", tag = "surveys",
    request_body = SurveyInput,
    responses((status = 201, description = "Created", body = SurveyView)), security(("bearer" = [])))]
pub async fn create(_: Scoped<Admin>, state: State, Input(input): Input<SurveyInput>) -> ApiReply {
    let (slug, patch) = input.into_patch()?;
    let row = npsd_app::surveys::create(&state.app, slug, patch).await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/surveys/{}", row.slug)))
        .json(SurveyView::from(&row)))
}

#[utoipa::path(patch, path = "/api/v1/surveys/{slug}", tag = "surveys",
    params(("slug" = String, Path, description = "The survey's slug")),
    request_body = SurveyInput,
    responses((status = 200, description = "Changed", body = SurveyView)), security(("bearer" = [])))]
pub async fn update(
    _: Scoped<Admin>,
    state: State,
    slug: web::Path<String>,
    Input(input): Input<SurveyInput>,
) -> ApiReply {
    let (new_slug, patch) = input.into_patch()?;
    let updated = npsd_app::surveys::update(&state.app, slug.into_inner(), new_slug, patch).await?;
    Ok(HttpResponse::Ok().json(SurveyView::from(&updated)))
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
    state: State,
    slug: web::Path<String>,
) -> ApiReply {
    let secret = npsd_app::surveys::rotate_embed_secret(&state.app, slug.into_inner()).await?;
    Ok(HttpResponse::Created().json(EmbedSecretView { secret }))
}
