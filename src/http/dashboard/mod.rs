//! The dashboard: the team signs in at /login and reads every survey's figures, trend, segments
//! and comments as server-rendered pages (no script). Sessions are random tokens in a signed,
//! HttpOnly, SameSite=Lax cookie (Secure when npsd is served over https), stored as hashes so that
//! signing out, a new password or removing a user ends them at once. Every form that changes
//! something carries the session's CSRF token.
pub mod charts;
mod format;
pub(crate) mod hooks;
mod pages;
mod response;
mod session;
mod settings;
mod sign_in;
mod survey_page;
pub mod team;

pub use session::{DashboardState, SignedIn};

use crate::domain::ValidationError;
use crate::store::StoreError;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpResponse, ResponseError};
use askama::Template;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/").get(pages::home))
        .service(
            web::resource("/login")
                .get(sign_in::login_page)
                .post(sign_in::login),
        )
        .service(
            web::resource("/logout")
                .get(sign_in::logout_page)
                .post(sign_in::logout),
        )
        .service(
            web::resource("/login/link/{token}")
                .get(sign_in::link_page)
                .post(sign_in::use_link),
        )
        .service(web::resource("/team").get(team::page).post(team::add))
        .service(web::resource("/team/remove").post(team::remove))
        .service(
            web::resource("/keys")
                .get(settings::keys_page)
                .post(settings::create),
        )
        .service(web::resource("/keys/revoke").post(settings::revoke))
        .service(
            web::resource("/webhooks")
                .get(hooks::webhooks_page)
                .post(hooks::create_webhook),
        )
        .service(
            web::resource("/webhooks/{action:delete|pause|resume|test}")
                .post(hooks::webhook_action),
        )
        .service(web::resource("/webhooks/{id}").get(hooks::webhook_page))
        .service(web::resource("/webhooks/{id}/redeliver").post(hooks::redeliver))
        .service(web::resource("/dashboard").get(pages::overview))
        .service(web::resource("/dashboard/{slug}").get(survey_page::survey))
        .service(web::resource("/dashboard/{slug}/export.csv").get(pages::export))
        .service(
            web::resource("/dashboard/{slug}/settings")
                .get(settings::survey_page)
                .post(settings::save_survey),
        )
        .service(
            web::resource("/dashboard/{slug}/alerts")
                .get(hooks::alerts_page)
                .post(hooks::create_alert),
        )
        .service(
            web::resource("/dashboard/{slug}/alerts/{action:delete|pause|resume}")
                .post(hooks::alert_action),
        )
        .service(web::resource("/dashboard/{slug}/responses/{id}").get(response::page))
        .service(web::resource("/dashboard/{slug}/responses/{id}/{decision}").post(pages::decide));
}

/// What a dashboard handler answers.
pub type PageReply = Result<HttpResponse, PageError>;

/// What goes wrong in the dashboard, as a page.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// Not signed in: to the sign-in page, then back to `next`.
    #[error("sign in first")]
    SignIn { next: String },
    #[error("{0}")]
    Invalid(String),
    #[error("this needs an admin")]
    AdminOnly,
    /// A form without the session's token: an old tab, or another site posting.
    #[error("form expired")]
    Csrf,
    #[error("{0}")]
    NotFound(String),
    #[error("too many attempts")]
    TooMany { retry_after_seconds: u64 },
    /// More sign-ins at once than passwords can be hashed: answered 429, try again shortly.
    #[error("sign-in busy")]
    SignInBusy { retry_after_seconds: u64 },
    #[error("database unavailable")]
    Store(#[from] StoreError),
    /// The database is busy or unreachable: worth a retry.
    #[error("busy")]
    Busy,
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

impl From<ValidationError> for PageError {
    fn from(v: ValidationError) -> Self {
        PageError::Invalid(format!("{}: {}", v.field, v.message))
    }
}

/// An operation's refusal as the dashboard shows it: a field at fault or a clash beside the form,
/// the store's errors with their cause (logged, and a 503 page when it is busy).
impl From<npsd_app::ServiceError> for PageError {
    fn from(e: npsd_app::ServiceError) -> Self {
        use npsd_app::ServiceError as S;
        match e {
            S::Invalid(v) => v.into(),
            S::NotFound(m) => PageError::NotFound(m),
            S::Conflict(m) | S::TooLarge(m) => PageError::Invalid(m),
            S::Store(e) => PageError::Store(e),
        }
    }
}

impl From<crate::http::error::ApiError> for PageError {
    fn from(e: crate::http::error::ApiError) -> Self {
        use crate::http::error::ApiError as A;
        match e {
            A::Validation(v) => v.into(),
            A::NotFound(m) => PageError::NotFound(m),
            A::BadRequest { message, .. } => PageError::Invalid(message),
            A::Unavailable(_) => PageError::Busy,
            A::Conflict(m) => PageError::Invalid(m),
            other => PageError::Internal(anyhow::anyhow!(other.to_string())),
        }
    }
}

#[derive(Template)]
#[template(path = "dashboard/error.html")]
struct ErrorView<'a> {
    title: &'a str,
    message: &'a str,
    user: Option<&'a str>,
    is_admin: bool,
    csrf: &'a str,
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        match self {
            PageError::SignIn { .. } => StatusCode::SEE_OTHER,
            PageError::Invalid(_) => StatusCode::BAD_REQUEST,
            PageError::AdminOnly | PageError::Csrf => StatusCode::FORBIDDEN,
            PageError::NotFound(_) => StatusCode::NOT_FOUND,
            PageError::TooMany { .. } | PageError::SignInBusy { .. } => {
                StatusCode::TOO_MANY_REQUESTS
            }
            PageError::Store(e) if e.is_unavailable() => StatusCode::SERVICE_UNAVAILABLE,
            PageError::Busy => StatusCode::SERVICE_UNAVAILABLE,
            PageError::Store(_) | PageError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let PageError::SignIn { next } = self {
            let target = format!(
                "/login?next={}",
                percent_encoding::utf8_percent_encode(next, percent_encoding::NON_ALPHANUMERIC)
            );
            return HttpResponse::SeeOther()
                .insert_header((header::LOCATION, target))
                .finish();
        }
        if matches!(self, PageError::Store(_) | PageError::Internal(_)) {
            tracing::error!(error = ?self, "dashboard request failed");
        }
        let (title, message) = match self {
            PageError::Invalid(m) => ("That did not work", m.as_str()),
            PageError::AdminOnly => (
                "Admins only",
                "Only an admin can do this. Ask an admin of your team.",
            ),
            PageError::Csrf => (
                "This form has expired",
                "Go back, reload the page and try again.",
            ),
            PageError::NotFound(m) => ("Not found", m.as_str()),
            PageError::TooMany { .. } => (
                "Too many attempts",
                "Too many wrong passwords. Wait a few minutes, then try again.",
            ),
            PageError::SignInBusy { .. } => (
                "Signing in is busy",
                "Many people are signing in at this moment. Wait a few seconds, then try again.",
            ),
            _ => (
                "Something went wrong",
                "The dashboard could not load this. Try again in a moment.",
            ),
        };
        let body = ErrorView {
            title,
            message,
            user: None,
            is_admin: false,
            csrf: "",
        }
        .render()
        .unwrap_or_else(|_| message.to_string());
        let mut res = HttpResponse::build(self.status_code());
        if let PageError::TooMany {
            retry_after_seconds,
        }
        | PageError::SignInBusy {
            retry_after_seconds,
        } = self
        {
            res.insert_header((header::RETRY_AFTER, retry_after_seconds.to_string()));
        }
        res.content_type("text/html; charset=utf-8").body(body)
    }
}

/// Refuses a NUL character in form fields: no one types one, and PostgreSQL cannot store it.
pub fn no_nul(fields: &[&str]) -> Result<(), PageError> {
    if fields.iter().any(|f| f.contains('\0')) {
        return Err(PageError::Invalid(
            "a field holds a NUL character, which no form sends".into(),
        ));
    }
    Ok(())
}

/// An HTML page from a template.
pub fn html(page: impl Template) -> Result<HttpResponse, PageError> {
    let body = page.render().map_err(|e| PageError::Internal(e.into()))?;
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body))
}

/// A redirect after a form (303: the browser follows with GET).
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location.to_string()))
        .finish()
}
