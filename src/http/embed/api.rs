//! The public JSON endpoint of the embedded form: the survey as the widget shows it, a new answer,
//! and a change to it through its edit token. No API key: the middleware in `super` lets only the
//! survey's allowed origins in.
use super::answer::{store_answer, NotStored, Stored};
use super::limits::RetryAfter;
use super::EmbedSurvey;
use crate::domain::embed::{parse_comment, WebAnswer, WebAnswerFields, SCORE_MESSAGE};
use crate::domain::score::Score;
use crate::domain::survey::{accent_colors, parse_locale};
use crate::domain::token::Token;
use crate::domain::ValidationError;
use crate::http::api::fields::{self, NullableText, OptText, Properties};
use crate::http::error::ApiError;
use crate::http::pages::text::WidgetText;
use crate::http::pages::ClientIp;
use crate::http::State;
use crate::store::web_responses::{EditRefused, WebEdit};
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
        reply_to: survey
            .reply_to
            .as_deref()
            .map(crate::domain::email::reply_address),
        text: WidgetText::new(survey.settings().question_text(), &survey.brand),
    }))
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
#[derive(Deserialize, ToSchema)]
pub struct WebAnswerInput {
    #[serde(default)]
    #[schema(value_type = u8, required = true, minimum = 0, maximum = 10)]
    score: Option<ScoreValue>,
    /// At most 5,000 characters.
    #[serde(default)]
    #[schema(inline)]
    comment: NullableText,
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Email)]
    email: OptText,
    #[serde(default)]
    #[schema(inline)]
    customer_id: OptText,
    #[serde(default)]
    #[schema(inline)]
    name: OptText,
    #[serde(default)]
    #[schema(inline)]
    properties: Properties,
    /// The page's address; the widget sends it without its query string unless the script tag
    /// says `data-send-query="true"`.
    #[serde(default)]
    #[schema(inline)]
    page_url: OptText,
    /// `t=<Unix seconds>,v1=<hex HMAC-SHA256>`: the shop's server signs, with the survey's embed
    /// secret, the lines `npsd-embed-v1`, `t=<the same seconds>`, `email=<email>`,
    /// `customer_id=<customer id>`, `name=<name>` (an absent field with nothing after `=`) joined
    /// by `\n`. Any identity field it did not sign, an old bare hex signature, or one issued more
    /// than `NPSD_EMBED_SIGNATURE_MAX_AGE` (24 h) ago leaves the answer unverified; it still counts.
    #[serde(default)]
    #[schema(
        inline,
        example = "t=1780304400,v1=f40c7b5fa91caf18971a2bc1ea282ee4ecc74a41afed085798813f58b510209d"
    )]
    signature: OptText,
    /// The widget's first-party visitor id.
    #[serde(default)]
    #[schema(inline)]
    visitor_id: OptText,
    /// The hidden field only bots fill in.
    #[serde(default, rename = "website")]
    #[schema(ignore)]
    honeypot: NullableText,
}

crate::object_input!(WebAnswerInput);

impl TryFrom<WebAnswerInput> for WebAnswer {
    type Error = ValidationError;

    fn try_from(input: WebAnswerInput) -> Result<WebAnswer, ValidationError> {
        WebAnswer::try_from(WebAnswerFields {
            score: input.score.map(|s| s.0),
            comment: input.comment.0,
            email: input.email.0,
            customer_id: input.customer_id.0,
            name: input.name.0,
            properties: input.properties.0,
            page_url: input.page_url.0,
            signature: input.signature.0,
            visitor_id: input.visitor_id.0,
            honeypot: input.honeypot.0,
        })
    }
}

/// Reads an answer from JSON: the API's body, or the iframe's form turned into the same shape.
pub fn parse_answer(value: Value) -> Result<WebAnswer, ValidationError> {
    fields::parse_object::<WebAnswerInput>(value)?.try_into()
}

/// A score as JSON: a whole number 0-10, or the same as a string (as forms send it).
#[derive(Debug, Clone, Copy)]
pub struct ScoreValue(Score);

impl<'de> Deserialize<'de> for ScoreValue {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        match Value::deserialize(d)? {
            Value::Number(n) => n.as_i64().and_then(Score::new),
            Value::String(s) => {
                Some(Score::parse("score", &s).map_err(|e| D::Error::custom(e.message))?)
            }
            _ => None,
        }
        .map(ScoreValue)
        .ok_or_else(|| D::Error::custom(SCORE_MESSAGE))
    }
}

/// A change to an answer, within the hour its edit token works.
#[derive(Deserialize, ToSchema)]
pub struct WebEditInput {
    #[serde(default)]
    #[schema(value_type = String, required = true)]
    edit_token: EditToken,
    /// `null` or "" clears the comment.
    #[serde(default, deserialize_with = "fields::present")]
    #[schema(value_type = Option<String>)]
    comment: Option<NullableText>,
    #[serde(default)]
    #[schema(value_type = Option<u8>, minimum = 0, maximum = 10)]
    score: Option<ScoreValue>,
}

crate::object_input!(WebEditInput);

/// The edit token an answer came with; anything but a string is refused in those words.
#[derive(Debug, Clone, Default)]
pub struct EditToken(Option<String>);

impl<'de> Deserialize<'de> for EditToken {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::Null => Ok(EditToken(None)),
            Value::String(s) => Ok(EditToken(Some(s))),
            _ => Err(serde::de::Error::custom(EDIT_TOKEN_MESSAGE)),
        }
    }
}

const EDIT_TOKEN_MESSAGE: &str = "must be the edit_token string the answer came with";

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
    state: State,
    ip: ClientIp,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let answer = parse_answer(json_body(&body)?)?;
    match store_answer(&state, &survey, answer, ip.0).await {
        Ok(Stored {
            id,
            score,
            verified,
            edit_token,
        }) => Ok(HttpResponse::Created().json(WebResponseBody {
            response: WebResponseView {
                id: id.into_string(),
                score,
                verified,
                edit_token: Some(edit_token),
            },
        })),
        Err(NotStored::RateLimited(RetryAfter(secs))) => Err(ApiError::RateLimited {
            retry_after_seconds: secs,
        }),
        Err(NotStored::Failed(e)) => Err(e.into()),
    }
}

/// Reads `{"edit_token", "comment"?, "score"?}`; `"comment": null` or "" clears the comment.
fn parse_edit(value: Value) -> Result<(String, WebEdit), ValidationError> {
    let input = fields::parse_object::<WebEditInput>(value)?;
    let token = match input.edit_token.0 {
        Some(t) if !t.is_empty() => t,
        None => return Err(ValidationError::new("edit_token", "is required")),
        Some(_) => return Err(ValidationError::new("edit_token", EDIT_TOKEN_MESSAGE)),
    };
    let comment = match input.comment {
        None => None,
        Some(NullableText(None)) => Some(None),
        Some(NullableText(Some(s))) => Some(parse_comment(Some(&s))?),
    };
    Ok((
        token.clone(),
        WebEdit {
            token_hash: Token::from_secret(&token).hash(),
            score: input.score.map(|s| s.0),
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
    state: State,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let (_, id) = path.into_inner();
    let (_, edit) = parse_edit(json_body(&body)?)?;
    let result =
        npsd_app::answers::edit_on_page(&state.app, survey.id.clone(), id.clone().into(), edit)
            .await?;
    match result {
        Ok(row) => Ok(HttpResponse::Ok().json(WebResponseBody {
            response: WebResponseView {
                id: row.id.into_string(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::embed::Respondent;
    use serde_json::json;

    #[test]
    fn answers_parse_and_name_the_bad_field() {
        let a = parse_answer(json!({
            "score": 9, "comment": "  Great\r\nshop \u{7}", "email": "Ann@Example.com",
            "properties": {"plan": "pro", "seats": 3}, "page_url": "https://shop.example/a#x",
            "visitor_id": "abc123", "website": ""
        }))
        .unwrap();
        assert_eq!(a.score.value(), 9);
        assert_eq!(a.comment.as_deref(), Some("Great\nshop"));
        assert_eq!(a.page_url.as_deref(), Some("https://shop.example/a"));
        assert!(!a.honeypot);
        assert!(matches!(a.respondent(), Respondent::Email(_)));
        let field = |v: Value| parse_answer(v).unwrap_err().field;
        assert_eq!(field(json!({})), "score");
        assert_eq!(field(json!({"score": 11})), "score");
        assert_eq!(field(json!({"score": 2.5})), "score");
        assert_eq!(field(json!({"score": "x"})), "score");
        assert_eq!(
            field(json!({"score": 1, "comment": "x".repeat(5001)})),
            "comment"
        );
        assert_eq!(field(json!({"score": 1, "email": "nope"})), "email");
        assert_eq!(
            field(json!({"score": 1, "page_url": "javascript:alert(1)"})),
            "page_url"
        );
        assert_eq!(
            field(json!({"score": 1, "visitor_id": "a b"})),
            "visitor_id"
        );
        assert_eq!(field(json!({"score": 1, "signature": "xyz"})), "signature");
        assert_eq!(field(json!({"score": 1, "properties": [1]})), "properties");
        assert_eq!(field(json!([1])), "body");
        assert!(
            parse_answer(json!({"score": "7", "website": "http://spam"}))
                .unwrap()
                .honeypot
        );
        assert!(parse_answer(json!({"score": 1, "comment": "x".repeat(5000)})).is_ok());
    }

    #[test]
    fn edits_need_their_token_and_name_what_is_wrong() {
        let field = |v: Value| parse_edit(v).err().expect("refused");
        assert_eq!(field(json!({})).field, "edit_token");
        assert_eq!(field(json!({"edit_token": 5})).message, EDIT_TOKEN_MESSAGE);
        assert_eq!(field(json!({"edit_token": ""})).message, EDIT_TOKEN_MESSAGE);
        assert_eq!(
            field(json!({"edit_token": "t", "score": 11})).field,
            "score"
        );
        assert_eq!(
            field(json!({"edit_token": "t", "comment": 5})).message,
            "must be a string"
        );
        let (_, edit) =
            parse_edit(json!({"edit_token": "t", "comment": null, "score": "7"})).unwrap();
        assert_eq!(edit.comment, Some(None));
        assert_eq!(edit.score.map(Score::value), Some(7));
        let (_, edit) = parse_edit(json!({"edit_token": "t"})).unwrap();
        assert_eq!((edit.comment, edit.score), (None, None));
    }
}
