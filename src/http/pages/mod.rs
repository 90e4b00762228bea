//! The pages people see: the response form, thank-you page and unsubscribe.
pub mod digest_unsubscribe;
pub mod error;
pub mod respond;
pub mod text;
pub mod unsubscribe;
pub mod views;

use crate::domain::token::{LinkPurpose, Token};
use crate::http::pages::error::PageReply;
use crate::http::AppState;
use crate::http::State;
use crate::store::{invitations, invitations::InvitationRow, surveys::SurveyRow};
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
pub use error::{html, PageError};
use std::net::IpAddr;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/r/{token}")
            .route(web::get().to(respond::show))
            .route(web::post().to(respond::submit))
            // Scanners probe links with HEAD: answer, record nothing.
            .route(web::head().to(HttpResponse::Ok)),
    )
    .service(
        web::resource("/r/{token}/verify")
            .route(web::get().to(respond::trap))
            .route(web::head().to(HttpResponse::Ok)),
    )
    .service(
        web::resource("/u/{token}")
            .route(web::get().to(unsubscribe::show))
            .route(web::post().to(unsubscribe::submit))
            .route(web::head().to(HttpResponse::Ok)),
    )
    .service(
        web::resource("/d/{token}")
            .route(web::get().to(digest_unsubscribe::show))
            .route(web::post().to(digest_unsubscribe::submit))
            .route(web::head().to(HttpResponse::Ok)),
    )
    .route("/healthz", web::get().to(healthz))
    .route("/livez", web::get().to(livez))
    .default_service(web::to(not_found));
}

async fn not_found(req: actix_web::HttpRequest) -> Result<HttpResponse, actix_web::Error> {
    if req.path().starts_with("/api/") {
        Err(crate::http::error::ApiError::NotFound(format!(
            "no such endpoint: {} {}",
            req.method(),
            req.path()
        ))
        .into())
    } else {
        Err(PageError::NotFound.into())
    }
}

/// Liveness: the process serves HTTP. A fixed answer that touches nothing (no database, no
/// template), so a supervisor restarts only a hung process, and the benchmark has the fastest
/// answer this server can give as its yardstick. Readiness (the database answers) is `/healthz`.
async fn livez() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(r#"{"status":"ok"}"#)
}

/// Readiness: the database answers.
async fn healthz(state: State) -> HttpResponse {
    match state
        .app
        .store
        .read(crate::store::api_keys::count_active)
        .await
    {
        Ok(_) => HttpResponse::Ok().json(serde_json::json!({"status": "ok"})),
        Err(e) => {
            tracing::error!(error = ?e, "health check failed");
            HttpResponse::ServiceUnavailable().json(serde_json::json!({"status": "unavailable"}))
        }
    }
}

/// The invitation behind a link token, with its survey and expiry.
pub struct Link {
    pub invitation: InvitationRow,
    pub survey: SurveyRow,
    pub expired: bool,
    /// The transaction's `question_product_name`, asked about instead of the brand.
    pub product: Option<String>,
}

/// The client's address, for slowing down guessing.
pub struct ClientIp(pub Option<IpAddr>);

impl actix_web::FromRequest for ClientIp {
    type Error = actix_web::Error;
    type Future = std::future::Ready<Result<ClientIp, actix_web::Error>>;

    fn from_request(req: &actix_web::HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        std::future::ready(Ok(ClientIp(req.peer_addr().map(|a| a.ip()))))
    }
}

/// The score links and the comment form: only a survey token.
pub const ANSWER: &[LinkPurpose] = &[LinkPurpose::Answer];
/// The unsubscribe page: the email's unsubscribe token, or its survey token (a page reached
/// from the survey offers to unsubscribe too, and emails sent before the tokens were split
/// carry only that one).
pub const UNSUBSCRIBE: &[LinkPurpose] = &[LinkPurpose::Unsubscribe, LinkPurpose::Answer];

/// Looks up a link token that may do what the page does (`purposes`). Unknown tokens count as
/// failures of the client's address: after too many in a minute, its unknown tokens get a 429
/// page instead of a 404.
pub async fn find_link(
    state: &AppState,
    ip: &ClientIp,
    raw_token: &str,
    purposes: &'static [LinkPurpose],
) -> Result<Link, PageError> {
    // A valid link always works, also from an address that guessed wrong too often (a whole
    // office behind one NAT may share it with a scanner); only unknown tokens are slowed down.
    let unknown = || match state.failures.record_failure(ip.0, "link_token") {
        Some(_) => PageError::TooManyRequests,
        None => PageError::NotFound,
    };
    let token = Token::from_url(raw_token).ok_or_else(unknown)?;
    let hash = token.hash();
    let found = state
        .app
        .store
        .read(move |c| {
            let Some(found) = invitations::find_by_token(c, &hash, purposes)? else {
                return Ok(None);
            };
            let product = invitations::property(
                c,
                &found.0.id,
                crate::domain::survey::QUESTION_PRODUCT_PROPERTY,
            )?;
            Ok(Some((found, product)))
        })
        .await?;
    let ((invitation, survey, expires_at), product) = found.ok_or_else(unknown)?;
    Ok(Link {
        expired: expires_at <= state.app.clock.now(),
        invitation,
        survey,
        product,
    })
}

/// The page that asks whether to take an address (shown masked) off a list; its button posts to
/// `action`.
pub fn unsubscribe_page(survey: &SurveyRow, action: &str, email: &str, list: &str) -> PageReply {
    let body = views::unsubscribe(&views::UnsubscribePage {
        branding: &branding(survey),
        form_action: action,
        email_masked: &crate::domain::email::mask(email),
        list,
    })?;
    Ok(html(StatusCode::OK, body))
}

/// The page that says an address is off a list ("surveys", "NPS digests"), masked.
pub fn unsubscribed_page(survey: &SurveyRow, email: &str, list: &str) -> PageReply {
    let body = views::unsubscribed(&views::UnsubscribedPage {
        branding: &branding(survey),
        email_masked: &crate::domain::email::mask(email),
        list,
    })?;
    Ok(html(StatusCode::OK, body))
}

pub fn branding(survey: &SurveyRow) -> views::Branding {
    views::Branding {
        brand: survey.brand.clone(),
        accent_color: survey.accent_color.clone(),
        locale: survey.locale.clone(),
    }
}
