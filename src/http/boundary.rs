//! What every answer carries, whichever handler (or none) produced it:
//! - requests with a NUL character in their path or query are refused before any handler runs;
//! - served at an https public URL, every answer carries Strict-Transport-Security;
//! - API answers are JSON and never cached; pages are the friendly page, with a
//!   Content-Security-Policy and frame protection;
//! - errors produced below the handlers (a wrong method's empty 405, actix's plain-text 413) are
//!   turned into the same JSON error or page as the handlers' own.
use crate::http::error::ApiError;
use crate::http::pages::PageError;
use actix_web::body::{BodySize, BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::ResponseError;

/// Pages use no script and load nothing from elsewhere; styles are inline in each page.
pub const PAGE_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; \
     form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// `Strict-Transport-Security` when `NPSD_PUBLIC_URL` is https: one year.
pub const HSTS: &str = "max-age=31536000";

pub fn is_api(path: &str) -> bool {
    path == "/api" || path.starts_with("/api/") || is_delighted(path)
}

/// Delighted's API (`crate::http::delighted`): JSON errors in Delighted's shape.
pub fn is_delighted(path: &str) -> bool {
    path == "/v1" || path.starts_with("/v1/")
}

/// An API error in the shape the path's readers expect.
fn api_error_response(e: ApiError, delighted: bool) -> actix_web::HttpResponse {
    if delighted {
        crate::http::delighted::error::DelightedError(e).error_response()
    } else {
        e.error_response()
    }
}

/// `%00` or a raw NUL anywhere in the path or query. No identifier npsd issues contains one, and
/// PostgreSQL cannot store one in text.
fn has_nul(req: &ServiceRequest) -> bool {
    let raw = req.uri().path_and_query().map(|p| p.as_str()).unwrap_or("");
    raw.contains('\0')
        || raw
            .as_bytes()
            .windows(3)
            .any(|w| w[0] == b'%' && w[1] == b'0' && w[2] == b'0')
}

pub async fn boundary(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let api = is_api(req.path());
    let delighted = is_delighted(req.path());
    let https = req
        .app_data::<actix_web::web::Data<crate::http::AppState>>()
        .is_some_and(|state| state.app.public_url.starts_with("https://"));
    if has_nul(&req) {
        let res = if api {
            api_error_response(
                ApiError::BadRequest {
                    code: "invalid_request",
                    message: "the path or query contains a NUL character".into(),
                },
                delighted,
            )
        } else {
            PageError::BadRequest("This link is damaged: it contains a character no link of ours has. Please open the link from your email again.".into()).error_response()
        };
        let (req, _) = req.into_parts();
        return Ok(finish(
            ServiceResponse::new(req, res),
            api,
            delighted,
            https,
        ));
    }
    // (The request cannot be kept to answer an `Err` here: routing needs it unshared. The layers
    // below answer their errors as responses, which `finish` then shapes.)
    let res = next.call(req).await?.map_into_boxed_body();
    Ok(finish(res, api, delighted, https))
}

fn finish(
    res: ServiceResponse<BoxBody>,
    api: bool,
    delighted: bool,
    https: bool,
) -> ServiceResponse<BoxBody> {
    let res = if needs_our_error_body(&res, api) {
        let status = res.status();
        let replacement = if api {
            api_error_response(api_error_for(status, res.request().method()), delighted)
        } else {
            page_error_for(status).error_response()
        };
        let mut replacement = replacement;
        // The layer below chose the status; only the body is ours.
        *replacement.status_mut() = status;
        // Keep what the layer below said about the request (Allow, Retry-After, the embed
        // endpoint's CORS headers, so a page can read the error).
        for name in [
            header::ALLOW,
            header::RETRY_AFTER,
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            header::VARY,
        ] {
            if let Some(v) = res.headers().get(&name) {
                replacement.headers_mut().insert(name, v.clone());
            }
        }
        let (req, _) = res.into_parts();
        ServiceResponse::new(req, replacement)
    } else {
        res
    };
    let mut res = res;
    let headers = res.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if https {
        // Served at an https address: browsers come back over https only, for a year, so a
        // network that rewrites the first plain-http request cannot take the session cookie.
        // Without includeSubDomains: the shop's other hosts are not npsd's to decide.
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(HSTS),
        );
    }
    if api {
        // API answers carry customers' addresses and comments.
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    } else {
        // A page with its own policy (the iframe form names the sites that may frame it) keeps
        // it, and gets no X-Frame-Options, which knows no list of sites.
        if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
            headers.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(PAGE_CSP),
            );
            if !headers.contains_key(header::X_FRAME_OPTIONS) {
                headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
            }
        }
        if !headers.contains_key(header::REFERRER_POLICY) {
            headers.insert(
                header::REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            );
        }
    }
    res
}

/// An error answer that is empty or not in the form its reader expects.
fn needs_our_error_body(res: &ServiceResponse<BoxBody>, api: bool) -> bool {
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error())
        || res.request().method() == Method::HEAD
    {
        return false;
    }
    let empty = matches!(
        res.response().body().size(),
        BodySize::None | BodySize::Sized(0)
    );
    let content_type = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let expected = if api {
        content_type.starts_with("application/json")
    } else {
        content_type.starts_with("text/html")
    };
    empty || !expected
}

fn api_error_for(status: StatusCode, method: &Method) -> ApiError {
    match status {
        StatusCode::METHOD_NOT_ALLOWED => {
            ApiError::MethodNotAllowed(format!("this endpoint does not accept {method}"))
        }
        StatusCode::NOT_FOUND => ApiError::NotFound("no such endpoint".into()),
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::TooLarge("the request body is too large".into()),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::BadRequest {
            code: "unsupported_media_type",
            message: "send the body as JSON with Content-Type: application/json".into(),
        },
        s if s.is_server_error() => {
            ApiError::Internal(anyhow::anyhow!("a layer below the handlers answered {s}"))
        }
        s => ApiError::BadRequest {
            code: "bad_request",
            message: format!(
                "the request could not be handled ({})",
                s.canonical_reason().unwrap_or("error")
            ),
        },
    }
}

fn page_error_for(status: StatusCode) -> PageError {
    match status {
        StatusCode::METHOD_NOT_ALLOWED => PageError::MethodNotAllowed,
        StatusCode::NOT_FOUND => PageError::NotFound,
        StatusCode::TOO_MANY_REQUESTS => PageError::TooManyRequests,
        s if s.is_server_error() => {
            PageError::Internal(anyhow::anyhow!("a layer below the handlers answered {s}"))
        }
        s => PageError::Other(s),
    }
}
