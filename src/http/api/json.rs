//! How stored rows look on the API.
use crate::domain::ValidationError;
use crate::store::invitations::InvitationRow;
use crate::store::surveys::SurveyRow;
use base64::Engine;
use chrono::{DateTime, NaiveDateTime};
use serde::Serialize;
use utoipa::ToSchema;

pub use crate::views::timestamp;

/// A survey as the API shows it.
#[derive(Serialize, ToSchema)]
pub struct SurveyView {
    pub slug: String,
    pub brand: String,
    /// The question override, if any (`{brand}` is replaced).
    pub question: Option<String>,
    /// The question as customers see it.
    pub question_text: String,
    pub sender: Option<String>,
    pub reply_to: Option<String>,
    pub locale: String,
    pub send_delay_seconds: i64,
    pub throttle_days: i32,
    pub response_window_days: i32,
    pub accent_color: String,
    /// A line under the greeting of the email; `{property}` placeholders, `{first_name}`.
    pub intro: Option<String>,
    /// Sites that may embed the survey: `scheme://host[:port]`.
    pub allowed_origins: Vec<String>,
    pub embed_enabled: bool,
    /// Whether an embed secret exists (it is shown only when created).
    pub embed_secret_set: bool,
    /// The NPS digest to the team.
    pub digest: DigestView,
    pub created_at: String,
    pub updated_at: String,
}

impl From<&SurveyRow> for SurveyView {
    fn from(s: &SurveyRow) -> Self {
        SurveyView {
            slug: s.slug.clone(),
            brand: s.brand.clone(),
            question: s.question.clone(),
            question_text: s.settings().question_text(),
            sender: s.sender.clone(),
            reply_to: s.reply_to.clone(),
            locale: s.locale.clone(),
            send_delay_seconds: s.send_delay_seconds,
            throttle_days: s.throttle_days,
            response_window_days: s.response_window_days,
            accent_color: s.accent_color.clone(),
            intro: s.intro.clone(),
            allowed_origins: s.origins(),
            embed_enabled: s.embed_enabled,
            embed_secret_set: s.embed_secret.is_some(),
            digest: DigestView::from(&s.digest_settings()),
            created_at: timestamp(s.created_at),
            updated_at: timestamp(s.updated_at),
        }
    }
}

/// A survey's digest settings.
#[derive(Serialize, ToSchema)]
pub struct DigestView {
    pub enabled: bool,
    pub recipients: Vec<String>,
    /// mon, tue, wed, thu, fri, sat or sun.
    pub weekday: String,
    /// 0-23, in `time_zone`.
    pub hour: u8,
    /// IANA time zone.
    pub time_zone: String,
    /// daily, weekly or monthly.
    pub period: String,
}

impl From<&crate::domain::digest::DigestSettings> for DigestView {
    fn from(d: &crate::domain::digest::DigestSettings) -> Self {
        DigestView {
            enabled: d.enabled,
            recipients: d.recipients.clone(),
            weekday: d.weekday_name().to_string(),
            hour: d.hour,
            time_zone: d.time_zone.name().to_string(),
            period: d.period.as_str().to_string(),
        }
    }
}

/// An invitation: one transaction's survey email.
#[derive(Serialize, ToSchema)]
pub struct InvitationView {
    pub id: String,
    /// scheduled, sent, failed or skipped.
    pub status: String,
    /// Why it was skipped or failed: throttled, unsubscribed, suppressed, or the server's reply.
    pub reason: Option<String>,
    pub send_at: String,
    pub sent_at: Option<String>,
    pub transaction_id: String,
    /// The recipient.
    pub email: String,
    pub survey: String,
    pub created_at: String,
}

impl InvitationView {
    pub fn new(i: &InvitationRow, survey_slug: &str) -> Self {
        InvitationView {
            id: i.id.to_string(),
            status: i.status.to_string(),
            reason: i.why_not_sent(),
            send_at: timestamp(i.send_at),
            sent_at: i.sent_at.map(timestamp),
            transaction_id: i.transaction_id.clone(),
            email: i.email.clone(),
            survey: survey_slug.to_string(),
            created_at: timestamp(i.created_at),
        }
    }
}

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 500;

/// A page size: absent means the default, larger than the maximum is cut to it (the cursor
/// brings the rest).
pub fn parse_limit(raw: Option<&str>) -> Result<i64, ValidationError> {
    match raw.filter(|l| !l.is_empty()) {
        None => Ok(DEFAULT_LIMIT),
        Some(raw) => raw
            .parse::<i64>()
            .ok()
            .filter(|l| *l >= 1)
            .map(|l| l.min(MAX_LIMIT))
            .ok_or_else(|| ValidationError::new("limit", "must be a whole number of at least 1")),
    }
}

/// An opaque position in a list ordered by (time, id).
pub fn encode_cursor(at: NaiveDateTime, id: &str) -> String {
    let micros = at.and_utc().timestamp_micros();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{micros}|{id}"))
}

pub fn decode_cursor(raw: &str) -> Result<(NaiveDateTime, String), ValidationError> {
    let invalid = || ValidationError::new("cursor", "is not a cursor this API returned");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(raw)
        .map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    let (micros, id) = text.split_once('|').ok_or_else(invalid)?;
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(invalid());
    }
    let at = micros
        .parse::<i64>()
        .ok()
        .and_then(DateTime::from_timestamp_micros)
        .ok_or_else(invalid)?;
    Ok((at.naive_utc(), id.to_string()))
}

/// A position in a response list; lists ordered by score first carry the score too.
pub fn encode_position(p: &crate::store::responses::Position) -> String {
    let micros = p.at.and_utc().timestamp_micros();
    let text = match p.score {
        Some(score) => format!("s{score}|{micros}|{}", p.id),
        None => format!("{micros}|{}", p.id),
    };
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

pub fn decode_position(raw: &str) -> Result<crate::store::responses::Position, ValidationError> {
    let invalid = || ValidationError::new("cursor", "is not a cursor this API returned");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(raw)
        .map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    let (score, rest) = match text.strip_prefix('s') {
        Some(rest) => {
            let (score, rest) = rest.split_once('|').ok_or_else(invalid)?;
            (
                Some(score.parse::<i32>().map_err(|_| invalid())?),
                rest.to_string(),
            )
        }
        None => (None, text),
    };
    let (at, id) = decode_cursor(&base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rest))?;
    Ok(crate::store::responses::Position { score, at, id })
}

/// JSON nested deeper than this is refused: npsd's deepest body (a batch of transactions with
/// properties) is four levels deep.
pub const MAX_JSON_DEPTH: usize = 32;

fn depth(value: &serde_json::Value) -> usize {
    match value {
        serde_json::Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        serde_json::Value::Object(map) => 1 + map.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// A JSON request body within the size limit (`JsonConfig`) and the depth limit.
pub struct Body(pub serde_json::Value);

impl actix_web::FromRequest for Body {
    type Error = actix_web::Error;
    type Future = futures_util::future::LocalBoxFuture<'static, Result<Body, actix_web::Error>>;

    fn from_request(
        req: &actix_web::HttpRequest,
        payload: &mut actix_web::dev::Payload,
    ) -> Self::Future {
        let json = actix_web::web::Json::<serde_json::Value>::from_request(req, payload);
        Box::pin(async move {
            let value = json.await?.into_inner();
            if depth(&value) > MAX_JSON_DEPTH {
                return Err(crate::http::error::ApiError::BadRequest {
                    code: "invalid_json",
                    message: format!("the body is nested deeper than {MAX_JSON_DEPTH} levels"),
                }
                .into());
            }
            Ok(Body(value))
        })
    }
}

/// A JSON request body read into `T`, one of the API's input types: 400 for what is not JSON (as
/// [`Body`]), 422 naming the field for what `T` refuses (see [`super::fields::parse`]).
pub struct Input<T>(pub T);

/// How an input type is read from a JSON body: most are objects ([`object_input!`]).
pub trait FromJson: Sized {
    fn from_json(value: serde_json::Value) -> Result<Self, crate::domain::ValidationError>;
}

/// Input types read from a JSON object (see [`super::fields::parse_object`]).
#[macro_export]
macro_rules! object_input {
    ($($ty:ty),+ $(,)?) => {$(
        impl $crate::http::api::json::FromJson for $ty {
            fn from_json(
                value: serde_json::Value,
            ) -> Result<Self, $crate::domain::ValidationError> {
                $crate::http::api::fields::parse_object(value)
            }
        }
    )+};
}

impl<T: FromJson + 'static> actix_web::FromRequest for Input<T> {
    type Error = actix_web::Error;
    type Future = futures_util::future::LocalBoxFuture<'static, Result<Input<T>, actix_web::Error>>;

    fn from_request(
        req: &actix_web::HttpRequest,
        payload: &mut actix_web::dev::Payload,
    ) -> Self::Future {
        let body = Body::from_request(req, payload);
        Box::pin(async move {
            let Body(value) = body.await?;
            T::from_json(value)
                .map(Input)
                .map_err(|e| crate::http::error::ApiError::from(e).into())
        })
    }
}

/// The `{email}` of a path, parsed: 422 naming `email` when it is not an address.
pub struct PathEmail(pub crate::domain::email::EmailAddress);

impl actix_web::FromRequest for PathEmail {
    type Error = crate::http::error::ApiError;
    type Future = std::future::Ready<Result<PathEmail, crate::http::error::ApiError>>;

    fn from_request(req: &actix_web::HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        // The router leaves %2B, %25 and %2F encoded; an address is decoded in full (what
        // encodeURIComponent produced), or refused when that is not UTF-8.
        let raw = req.match_info().get("email").unwrap_or("");
        let decoded = percent_encoding::percent_decode_str(raw).decode_utf8();
        std::future::ready(match decoded {
            Ok(email) => crate::domain::email::EmailAddress::parse("email", &email)
                .map(PathEmail)
                .map_err(Into::into),
            Err(_) => Err(crate::domain::ValidationError::new(
                "email",
                "must be a valid email address",
            )
            .into()),
        })
    }
}
