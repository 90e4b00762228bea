//! The JSON API's errors as clients see them, mapped to HTTP in one place (the pages' own are in
//! `pages::error`, the dashboard's in `dashboard`, Delighted's shape in `delighted::error`).
//! Clients never see internals; the log always gets the cause chain.
use crate::domain::ValidationError;
use crate::store::StoreError;
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use npsd_app::ServiceError;
use serde::Serialize;
use utoipa::ToSchema;

/// Every error answer of the API.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetails,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetails {
    pub code: String,
    pub message: String,
    /// The field at fault (validation errors).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The scope a 403 was missing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

/// What a JSON API handler answers.
pub type ApiReply = Result<actix_web::HttpResponse, ApiError>;

/// An error of a JSON API request.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    Validation(#[from] ValidationError),
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    #[error("missing or invalid API key")]
    Unauthorized,
    /// The key is valid but lacks the scope the route needs.
    #[error("this API key lacks the '{0}' scope")]
    Forbidden(&'static str),
    #[error("too many failed attempts")]
    TooManyRequests { retry_after_seconds: u64 },
    /// Over a rate limit of answers (the public embed endpoint).
    #[error("too many answers")]
    RateLimited { retry_after_seconds: u64 },
    /// Refused for a reason other than the key: an origin a survey does not allow, a wrong
    /// edit token.
    #[error("{message}")]
    Refused {
        code: &'static str,
        message: String,
        field: Option<&'static str>,
    },
    #[error("{0}")]
    MethodNotAllowed(String),
    /// The database is busy or unreachable: worth retrying.
    #[error("service temporarily unavailable")]
    Unavailable(#[source] anyhow::Error),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    TooLarge(String),
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        if e.is_unavailable() {
            ApiError::Unavailable(e.into())
        } else {
            ApiError::Internal(e.into())
        }
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Invalid(v) => ApiError::Validation(v),
            ServiceError::NotFound(m) => ApiError::NotFound(m),
            ServiceError::Conflict(m) => ApiError::Conflict(m),
            ServiceError::TooLarge(m) => ApiError::TooLarge(m),
            ServiceError::Store(e) => e.into(),
        }
    }
}

/// Seconds a client should wait before retrying a 503.
const RETRY_AFTER_SECONDS: &str = "5";

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::TooManyRequests { .. } | ApiError::RateLimited { .. } => {
                StatusCode::TOO_MANY_REQUESTS
            }
            ApiError::Refused { .. } => StatusCode::FORBIDDEN,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let detail = |code: &str, message: String| ErrorDetails {
            code: code.to_string(),
            message,
            field: None,
            scope: None,
        };
        let error = match self {
            ApiError::Validation(v) => ErrorDetails {
                field: Some(v.field.clone()),
                ..detail("validation_failed", format!("{}: {}", v.field, v.message))
            },
            ApiError::BadRequest { code, message } => detail(code, message.clone()),
            ApiError::Unauthorized => detail(
                "unauthorized",
                "missing or invalid API key: send Authorization: Bearer <key>".into(),
            ),
            ApiError::Forbidden(scope) => ErrorDetails {
                scope: Some(scope.to_string()),
                ..detail(
                    "forbidden",
                    format!("this API key lacks the '{scope}' scope this endpoint needs"),
                )
            },
            ApiError::TooManyRequests {
                retry_after_seconds,
            } => detail(
                "too_many_requests",
                format!("too many failed attempts from this address; try again in {retry_after_seconds} s"),
            ),
            ApiError::RateLimited {
                retry_after_seconds,
            } => detail(
                "rate_limited",
                format!("too many answers from this address or to this survey; try again in {retry_after_seconds} s"),
            ),
            ApiError::Refused {
                code,
                message,
                field,
            } => ErrorDetails {
                field: field.map(str::to_string),
                ..detail(code, message.clone())
            },
            ApiError::MethodNotAllowed(m) => detail("method_not_allowed", m.clone()),
            ApiError::Unavailable(e)
                if matches!(e.downcast_ref::<StoreError>(), Some(StoreError::TimedOut)) =>
            {
                tracing::warn!(error = ?e, "API request ran past the read budget");
                detail(
                    "query_timeout",
                    "the query ran past the database time budget (NPSD_QUERY_TIMEOUT_MS) and was stopped; narrow the period or the filters, or retry later".into(),
                )
            }
            ApiError::Unavailable(e) => {
                tracing::warn!(error = ?e, "API request found the database unavailable");
                detail(
                    "unavailable",
                    "the service is busy; retry in a few seconds".into(),
                )
            }
            ApiError::NotFound(m) => detail("not_found", m.clone()),
            ApiError::Conflict(m) => detail("conflict", m.clone()),
            ApiError::TooLarge(m) => detail("too_large", m.clone()),
            ApiError::Internal(e) => {
                tracing::error!(error = ?e, "internal error in API request");
                detail(
                    "internal_error",
                    "something went wrong on our side; it has been logged".into(),
                )
            }
        };
        let body = ErrorBody { error };
        let mut res = HttpResponse::build(self.status_code()).json(body);
        self.add_headers(res.headers_mut(), "Bearer");
        res
    }
}

impl ApiError {
    /// The headers a client needs to act on the error: how to authenticate (`challenge`, for
    /// 401), and when to retry (429, 503). Every error shape (npsd's, Delighted's) adds them.
    pub fn add_headers(
        &self,
        headers: &mut actix_web::http::header::HeaderMap,
        challenge: &'static str,
    ) {
        match self {
            ApiError::Unauthorized => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static(challenge),
                );
            }
            ApiError::TooManyRequests {
                retry_after_seconds,
            }
            | ApiError::RateLimited {
                retry_after_seconds,
            } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_seconds));
            }
            ApiError::Unavailable(_) => {
                headers.insert(
                    header::RETRY_AFTER,
                    HeaderValue::from_static(RETRY_AFTER_SECONDS),
                );
            }
            _ => {}
        }
    }
}
