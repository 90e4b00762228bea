//! The public JSON endpoint of the embedded form: the survey as the widget shows it, a new answer,
//! and a change to it through its edit token. No API key: the middleware in `super` lets only the
//! survey's allowed origins in.
use super::answer::{store_answer, NotStored, Stored};
use super::limits::RetryAfter;
use super::text::WidgetText;
use super::EmbedSurvey;
use crate::domain::embed::{parse_comment, parse_score_value, WebAnswer};
use crate::domain::survey::{accent_colors, parse_locale};
use crate::domain::token::Token;
use crate::domain::ValidationError;
use crate::http::error::ApiError;
use crate::http::pages::ClientIp;
use crate::http::AppState;
use crate::store::web_responses::{self, EditRefused, WebEdit};
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

/// The survey as the widget shows it.
#[derive(Serialize, ToSchema)]
pub struct EmbedConfig {
    pub survey: String,
    pub brand: String,
    pub locale: String,
    pub accent_color: String,
    /// The text colour readable on the accent.
    pub on_accent_color: String,
    /// A dismissed or answered corner card stays away this many days.
    pub throttle_days: i32,
    /// Where detractors can write to the shop.
    pub reply_to: Option<String>,
    pub text: WidgetText,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConfigQuery {
    /// The page's language tag; the survey's locale without it.
    locale: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/embed/{slug}", tag = "embed",
    params(("slug" = String, Path, description = "The survey's slug"), ConfigQuery,
        ("Origin" = String, Header, description = "The embedding page's origin; must be one of the survey's allowed_origins")),
    responses((status = 200, description = "The survey as the widget shows it", body = EmbedConfig)))]
pub async fn config(
    EmbedSurvey(survey): EmbedSurvey,
    query: web::Query<ConfigQuery>,
) -> Result<HttpResponse, ApiError> {
    // A page's language the survey cannot use falls back to the survey's: the widget still shows.
    let locale = query
        .locale
        .as_deref()
        .and_then(|l| parse_locale("locale", l).ok())
        .unwrap_or_else(|| survey.locale.clone());
    let (accent, on_accent) = accent_colors(&survey.accent_color);
    Ok(HttpResponse::Ok().json(EmbedConfig {
        survey: survey.slug.clone(),
        brand: survey.brand.clone(),
        locale,
        accent_color: accent.to_string(),
        on_accent_color: on_accent.to_string(),
        throttle_days: survey.throttle_days,
        reply_to: survey.reply_to.as_deref().map(reply_address),
        text: WidgetText::new(survey.settings().question_text(), &survey.brand),
    }))
}

/// "Support <help@shop.example>" -> "help@shop.example": what a mailto link needs.
pub fn reply_address(reply_to: &str) -> String {
    reply_to
        .parse::<lettre::message::Mailbox>()
        .map(|m| m.email.to_string())
        .unwrap_or_else(|_| reply_to.to_string())
}

/// A web answer as the API shows it.
#[derive(Serialize, ToSchema)]
pub struct WebResponseView {
    pub id: String,
    pub score: u8,
    /// True when the shop's server signed exactly this answer's identity fields (email, customer
    /// id, name) with the survey's embed secret, within `NPSD_EMBED_SIGNATURE_MAX_AGE` (24 h).
    pub verified: bool,
    /// Lets this browser add a comment or change the score for one hour (in the 201 only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub edit_token: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct WebResponseBody {
    pub response: WebResponseView,
}

/// What a page sends: a score, and what it knows about the visitor.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct WebAnswerInput {
    #[schema(minimum = 0, maximum = 10)]
    pub score: u8,
    /// At most 5,000 characters.
    pub comment: Option<String>,
    #[schema(format = Email)]
    pub email: Option<String>,
    pub customer_id: Option<String>,
    pub name: Option<String>,
    pub properties:
        Option<std::collections::HashMap<String, crate::http::api::openapi::PropertyValue>>,
    /// The page's address; the widget sends it without its query string unless the script tag
    /// says `data-send-query="true"`.
    pub page_url: Option<String>,
    /// `t=<Unix seconds>,v1=<hex HMAC-SHA256>`: the shop's server signs, with the survey's embed
    /// secret, the lines `npsd-embed-v1`, `t=<the same seconds>`, `email=<email>`,
    /// `customer_id=<customer id>`, `name=<name>` (an absent field with nothing after `=`) joined
    /// by `\n`. Any identity field it did not sign, an old bare hex signature, or one issued more
    /// than `NPSD_EMBED_SIGNATURE_MAX_AGE` (24 h) ago leaves the answer unverified; it still counts.
    #[schema(
        example = "t=1780304400,v1=f40c7b5fa91caf18971a2bc1ea282ee4ecc74a41afed085798813f58b510209d"
    )]
    pub signature: Option<String>,
    /// The widget's first-party visitor id.
    pub visitor_id: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct WebEditInput {
    pub edit_token: String,
    pub comment: Option<String>,
    #[schema(minimum = 0, maximum = 10)]
    pub score: Option<u8>,
}

fn json_body(body: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::BadRequest {
        code: "invalid_json",
        message: format!("request body is not valid JSON: {e}"),
    })
}

#[utoipa::path(post, path = "/api/v1/embed/{slug}/responses", tag = "embed",
    params(("slug" = String, Path, description = "The survey's slug"),
        ("Origin" = String, Header, description = "The embedding page's origin; must be one of the survey's allowed_origins")),
    request_body = WebAnswerInput,
    responses((status = 201, description = "Stored (a repeat answer within the throttle days updates the earlier one)", body = WebResponseBody)))]
pub async fn create(
    EmbedSurvey(survey): EmbedSurvey,
    state: web::Data<AppState>,
    ip: ClientIp,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let answer = WebAnswer::parse_json(&json_body(&body)?)?;
    match store_answer(&state, &survey, answer, ip.0).await {
        Ok(Stored {
            id,
            score,
            verified,
            edit_token,
        }) => Ok(HttpResponse::Created().json(WebResponseBody {
            response: WebResponseView {
                id,
                score,
                verified,
                edit_token: Some(edit_token),
            },
        })),
        Err(NotStored::RateLimited(RetryAfter(secs))) => Err(ApiError::RateLimited {
            retry_after_seconds: secs,
        }),
        Err(NotStored::Store(e)) => Err(e.into()),
    }
}

/// Parses `{"edit_token", "comment"?, "score"?}`; `"comment": null` or "" clears the comment.
fn parse_edit(value: &Value) -> Result<(String, WebEdit), ValidationError> {
    crate::domain::reject_nul(value)?;
    let obj = value
        .as_object()
        .ok_or_else(|| ValidationError::new("body", "must be a JSON object"))?;
    let token = match obj.get("edit_token") {
        Some(Value::String(t)) if !t.is_empty() => t.clone(),
        None | Some(Value::Null) => return Err(ValidationError::new("edit_token", "is required")),
        Some(_) => {
            return Err(ValidationError::new(
                "edit_token",
                "must be the edit_token string the answer came with",
            ))
        }
    };
    let score = match obj.get("score") {
        None | Some(Value::Null) => None,
        Some(v) => Some(parse_score_value(v)?),
    };
    let comment = match obj.get("comment") {
        None => None,
        Some(Value::Null) => Some(None),
        Some(Value::String(s)) => Some(parse_comment(Some(s))?),
        Some(_) => return Err(ValidationError::new("comment", "must be a string")),
    };
    Ok((
        token.clone(),
        WebEdit {
            token_hash: Token::from_secret(&token).hash(),
            score,
            comment,
        },
    ))
}

#[utoipa::path(patch, path = "/api/v1/embed/{slug}/responses/{id}", tag = "embed",
    params(("slug" = String, Path, description = "The survey's slug"), ("id" = String, Path, description = "The answer's id"),
        ("Origin" = String, Header, description = "The embedding page's origin; must be one of the survey's allowed_origins")),
    request_body = WebEditInput,
    responses((status = 200, description = "Changed", body = WebResponseBody)))]
pub async fn update(
    EmbedSurvey(survey): EmbedSurvey,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let (_, id) = path.into_inner();
    let (_, edit) = parse_edit(&json_body(&body)?)?;
    let now = state.app.clock.now();
    let survey_id = survey.id.clone();
    let lookup = id.clone();
    let result = state
        .app
        .store
        .write(move |c| web_responses::edit(c, &survey_id, &lookup, &edit, now))
        .await?;
    match result {
        Ok(row) => Ok(HttpResponse::Ok().json(WebResponseBody {
            response: WebResponseView {
                id: row.id,
                score: u8::try_from(row.score).unwrap_or_default(),
                verified: row.verified,
                edit_token: None,
            },
        })),
        Err(EditRefused::NotFound) => Err(ApiError::NotFound(format!(
            "no web answer '{id}' in this survey"
        ))),
        Err(EditRefused::WrongToken) => Err(ApiError::Refused {
            code: "invalid_edit_token",
            message: "the edit_token does not belong to this answer".into(),
            field: Some("edit_token"),
        }),
        Err(EditRefused::Expired) => Err(ApiError::Refused {
            code: "edit_token_expired",
            message: "the edit_token has expired: an answer can be changed for one hour".into(),
            field: Some("edit_token"),
        }),
    }
}
