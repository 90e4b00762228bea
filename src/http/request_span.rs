//! The span every request runs in. Links carry secret tokens in their path (`/r/{token}`), so the
//! span names the route pattern, never the path or query. A failed request logs one event in it.
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::Error;
use tracing::Span;
use tracing_actix_web::RootSpanBuilder;

pub struct RedactedRootSpan;

impl RootSpanBuilder for RedactedRootSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let route = request
            .match_pattern()
            .unwrap_or_else(|| "(unmatched)".to_string());
        tracing::info_span!(
            "request",
            method = %request.method(),
            route = %route,
            status = tracing::field::Empty,
        )
    }

    /// One event per failed request, in the request's span. A client error (404, 409, 422...) is
    /// expected: one line at INFO with what the client was told. A server error gets the cause
    /// chain at ERROR. (tracing-actix-web's own event, which logs both alike at WARN or ERROR and
    /// redirects as errors, is turned off in Cargo.toml.)
    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        let (status, error) = match outcome {
            Ok(response) => (response.status(), response.response().error()),
            Err(error) => (error.as_response_error().status_code(), Some(error)),
        };
        span.record("status", status.as_u16());
        let status = status.as_u16();
        span.in_scope(|| match error {
            Some(e) if (400..500).contains(&status) => {
                let told = e.as_response_error().to_string().replace(['\r', '\n'], " ");
                tracing::info!(status, error = %told, "request refused")
            }
            Some(e) if status >= 500 => {
                tracing::error!(status, error = ?e.as_response_error(), "request failed")
            }
            _ => tracing::debug!(status, "request finished"),
        });
    }
}
