//! Errors as clients see them, mapped to HTTP in one place each: JSON on the API, a page in the browser.
//! Clients never see internals; the log always gets the cause chain.
use crate::domain::ValidationError;
use crate::http::pages::views::{error_page, ErrorPage};
use crate::store::StoreError;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

/// An error of a JSON API request.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    Validation(#[from] ValidationError),
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    #[error("missing or invalid API key")]
    Unauthorized,
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
        ApiError::Internal(e.into())
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let body = match self {
            ApiError::Validation(v) => json!({"error": {
                "code": "validation_failed",
                "message": format!("{}: {}", v.field, v.message),
                "field": v.field,
            }}),
            ApiError::BadRequest { code, message } => {
                json!({"error": {"code": code, "message": message}})
            }
            ApiError::Unauthorized => json!({"error": {
                "code": "unauthorized",
                "message": "missing or invalid API key: send Authorization: Bearer <key>",
            }}),
            ApiError::NotFound(m) => json!({"error": {"code": "not_found", "message": m}}),
            ApiError::Conflict(m) => json!({"error": {"code": "conflict", "message": m}}),
            ApiError::TooLarge(m) => json!({"error": {"code": "too_large", "message": m}}),
            ApiError::Internal(e) => {
                tracing::error!(error = ?e, "internal error in API request");
                json!({"error": {"code": "internal_error", "message": "something went wrong on our side; it has been logged"}})
            }
        };
        let mut res = HttpResponse::build(self.status_code()).json(body);
        if matches!(self, ApiError::Unauthorized) {
            res.headers_mut().insert(
                actix_web::http::header::WWW_AUTHENTICATE,
                actix_web::http::header::HeaderValue::from_static("Bearer"),
            );
        }
        res
    }
}

/// An error of a browser page.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    #[error("not found")]
    NotFound,
    #[error("expired")]
    Expired,
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl From<StoreError> for PageError {
    fn from(e: StoreError) -> Self {
        PageError::Internal(e.into())
    }
}

impl From<askama::Error> for PageError {
    fn from(e: askama::Error) -> Self {
        PageError::Internal(e.into())
    }
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        match self {
            PageError::NotFound => StatusCode::NOT_FOUND,
            PageError::Expired => StatusCode::GONE,
            PageError::BadRequest(_) => StatusCode::BAD_REQUEST,
            PageError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let (title, message) = match self {
            PageError::NotFound => ("Link not found", "This link is not valid. Please check that you opened the whole link from the email.".to_string()),
            PageError::Expired => ("This survey has closed", "This link has expired, so answers are no longer collected. Thank you for your time.".to_string()),
            PageError::BadRequest(m) => ("Something is not right", m.clone()),
            PageError::Internal(e) => {
                tracing::error!(error = ?e, "internal error on a page");
                ("Something went wrong", "Sorry, something went wrong on our side. Please try again in a moment.".to_string())
            }
        };
        let body = error_page(&ErrorPage {
            title,
            message: &message,
        })
        .unwrap_or_else(|_| format!("<!doctype html><title>{title}</title><p>{title}</p>"));
        html(self.status_code(), body)
    }
}

pub fn html(status: StatusCode, body: String) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header(("Cache-Control", "no-store"))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .insert_header(("Referrer-Policy", "no-referrer"))
        .body(body)
}
