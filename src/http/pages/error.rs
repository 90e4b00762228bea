//! The errors of the customer-facing pages (survey links, comment form, unsubscribe, the embedded
//! form's iframe): a page in the survey's brand, never internals; the log gets the cause chain.
use super::views::{error_page, Branding, ErrorPage};
use crate::store::StoreError;
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};

/// Seconds a browser should wait before retrying a 503.
const RETRY_AFTER_SECONDS: &str = "5";

/// What a page handler answers.
pub type PageReply = Result<HttpResponse, PageError>;

/// An error of a browser page.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    #[error("not found")]
    NotFound,
    /// A known link that no longer works: in the survey's brand.
    #[error("expired")]
    Expired(Box<Branding>),
    /// The survey does not let this page embed it (off, or no site allowed yet).
    #[error("embedding refused")]
    EmbedRefused(Box<Branding>),
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("too many requests")]
    TooManyRequests,
    /// Any other status a layer below the handlers answered with (413, 415...).
    #[error("{0}")]
    Other(StatusCode),
    #[error("service temporarily unavailable")]
    Unavailable(#[source] anyhow::Error),
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl From<npsd_app::ServiceError> for PageError {
    fn from(e: npsd_app::ServiceError) -> Self {
        use npsd_app::ServiceError as S;
        match e {
            S::Store(e) => e.into(),
            S::NotFound(_) => PageError::NotFound,
            S::Invalid(v) => PageError::BadRequest(format!("{}: {}", v.field, v.message)),
            S::Conflict(m) | S::TooLarge(m) => PageError::BadRequest(m),
        }
    }
}

impl From<StoreError> for PageError {
    fn from(e: StoreError) -> Self {
        if e.is_unavailable() {
            PageError::Unavailable(e.into())
        } else {
            PageError::Internal(e.into())
        }
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
            PageError::Expired(_) => StatusCode::GONE,
            PageError::EmbedRefused(_) => StatusCode::FORBIDDEN,
            PageError::BadRequest(_) => StatusCode::BAD_REQUEST,
            PageError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            PageError::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            PageError::Other(status) => *status,
            PageError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            PageError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let (title, message) = match self {
            PageError::NotFound => ("Link not found", "This link is not valid. Please check that you opened the whole link from the email.".to_string()),
            PageError::Expired(_) => ("This survey has closed", "This link has expired, so answers are no longer collected. Thank you for your time.".to_string()),
            PageError::EmbedRefused(_) => ("This survey is not available here", "This survey cannot be shown on this page. Please try again later.".to_string()),
            PageError::BadRequest(m) => ("Something is not right", m.clone()),
            PageError::MethodNotAllowed => ("This page cannot do that", "This address does not accept that kind of request. Please open the link from your email.".to_string()),
            PageError::TooManyRequests => ("Too many attempts", "There were too many attempts from your network. Please wait a minute and try again.".to_string()),
            PageError::Other(status) => ("Something is not right", format!("This request could not be handled ({}). Please open the link from your email again.", status.canonical_reason().unwrap_or("error"))),
            PageError::Unavailable(e) => {
                tracing::warn!(error = ?e, "a page found the database unavailable");
                ("Please try again in a moment", "We are very busy right now. Please try again in a few seconds.".to_string())
            }
            PageError::Internal(e) => {
                tracing::error!(error = ?e, "internal error on a page");
                ("Something went wrong", "Sorry, something went wrong on our side. Please try again in a moment.".to_string())
            }
        };
        let branding = match self {
            PageError::Expired(b) | PageError::EmbedRefused(b) => Some(b.as_ref()),
            _ => None,
        };
        let body = error_page(&ErrorPage {
            branding,
            title,
            message: &message,
        })
        .unwrap_or_else(|_| format!("<!doctype html><title>{title}</title><p>{title}</p>"));
        let mut res = html(self.status_code(), body);
        match self {
            PageError::TooManyRequests => {
                res.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
            }
            PageError::Unavailable(_) => {
                res.headers_mut().insert(
                    header::RETRY_AFTER,
                    HeaderValue::from_static(RETRY_AFTER_SECONDS),
                );
            }
            _ => {}
        }
        res
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
