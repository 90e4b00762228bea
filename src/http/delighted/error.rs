//! Errors in Delighted's shape, `{"status", "message", "errors": {field: [...]}}`, which its
//! official clients turn into their own exception types by status (401, 422, 429, 503).
use crate::domain::ValidationError;
use crate::http::error::ApiError;
use crate::store::StoreError;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::{json, Map, Value};

/// An npsd API error, answered in Delighted's shape.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct DelightedError(#[from] pub ApiError);

impl From<ValidationError> for DelightedError {
    fn from(e: ValidationError) -> Self {
        DelightedError(ApiError::Validation(e))
    }
}

impl From<StoreError> for DelightedError {
    fn from(e: StoreError) -> Self {
        DelightedError(e.into())
    }
}

impl From<npsd_app::ServiceError> for DelightedError {
    fn from(e: npsd_app::ServiceError) -> Self {
        DelightedError(e.into())
    }
}

pub type DelightedResult<T> = Result<T, DelightedError>;

impl DelightedError {
    pub fn not_found(message: impl Into<String>) -> Self {
        DelightedError(ApiError::NotFound(message.into()))
    }
}

/// The message and field errors of an npsd API error, for Delighted's body.
fn parts(e: &ApiError) -> (String, Map<String, Value>) {
    let mut errors = Map::new();
    let message = match e {
        ApiError::Validation(v) => {
            errors.insert(v.field.clone(), json!([v.message]));
            format!("Validation failed: {} {}", v.field, v.message)
        }
        ApiError::Unauthorized => {
            "Authentication failed: send your npsd API key as the HTTP Basic user name, with an empty password".to_string()
        }
        ApiError::Forbidden(scope) => {
            format!("This API key lacks the '{scope}' scope this endpoint needs")
        }
        ApiError::TooManyRequests {
            retry_after_seconds,
        }
        | ApiError::RateLimited {
            retry_after_seconds,
        } => format!("Too many requests; retry in {retry_after_seconds} seconds"),
        ApiError::Unavailable(err) => {
            tracing::warn!(error = ?err, "Delighted-compatible request found the database unavailable");
            "Service unavailable; retry in a few seconds".to_string()
        }
        ApiError::Internal(err) => {
            tracing::error!(error = ?err, "internal error in a Delighted-compatible request");
            "Internal server error; it has been logged".to_string()
        }
        other => other.to_string(),
    };
    (message, errors)
}

impl ResponseError for DelightedError {
    fn status_code(&self) -> StatusCode {
        self.0.status_code()
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let (message, errors) = parts(&self.0);
        let mut res = HttpResponse::build(status).json(json!({
            "status": status.as_u16(),
            "message": message,
            "errors": errors,
        }));
        self.0
            .add_headers(res.headers_mut(), "Basic realm=\"npsd\"");
        res
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::MessageBody;

    fn body(e: DelightedError) -> (u16, Value, Option<String>) {
        let res = e.error_response();
        let status = res.status().as_u16();
        let retry = res
            .headers()
            .get(actix_web::http::header::RETRY_AFTER)
            .map(|v| v.to_str().unwrap().to_string());
        let bytes = res.into_body().try_into_bytes().unwrap();
        (status, serde_json::from_slice(&bytes).unwrap(), retry)
    }

    #[test]
    fn validation_errors_name_their_field() {
        let (status, v, _) = body(ValidationError::new("email", "is required").into());
        assert_eq!(status, 422);
        assert_eq!(v["status"], 422);
        assert_eq!(v["errors"]["email"], json!(["is required"]));
    }

    #[test]
    fn rate_limits_carry_an_integer_retry_after() {
        let (status, v, retry) = body(DelightedError(ApiError::TooManyRequests {
            retry_after_seconds: 42,
        }));
        assert_eq!((status, retry.as_deref()), (429, Some("42")));
        assert_eq!(v["errors"], json!({}));
    }
}
