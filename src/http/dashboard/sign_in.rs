//! Signing in and out: the /login form, one-time sign-in links (which set a password), logout.
use super::session::{
    constant_time_eq, current, new_session, SignedIn, FORM_COOKIE, SESSION_COOKIE,
};
use super::{see_other, PageError};
use crate::domain::email::EmailAddress;
use crate::domain::token::Token;
use crate::domain::user::{decoy_hash, verify_password, Password, MIN_PASSWORD_CHARS};
use crate::http::AppState;
use crate::store::users;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

/// Where to go after signing in: a path on this site only (no open redirect).
fn safe_next(next: Option<&str>) -> String {
    match next {
        // No control characters or spaces either: browsers drop a tab from "/\t/evil.example",
        // which makes it "//evil.example", another site.
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.contains('\\')
                && !n.chars().any(|c| c.is_control() || c.is_whitespace()) =>
        {
            n.to_string()
        }
        _ => "/dashboard".to_string(),
    }
}

/// A page with a sign-in form: the form's token goes out as its cookie too (double submit).
fn with_form_token(
    state: &AppState,
    form_token: &Token,
    status: actix_web::http::StatusCode,
    body: String,
) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header(("Cache-Control", "no-store"))
        .cookie(
            state
                .dashboard
                .cookie(FORM_COOKIE, form_token.as_str().to_string(), "/login"),
        )
        .body(body)
}

#[derive(Template)]
#[template(path = "dashboard/login.html")]
struct LoginView<'a> {
    form_token: &'a str,
    next: &'a str,
    email: &'a str,
    error: Option<&'a str>,
    user: Option<&'a str>,
    is_admin: bool,
    csrf: &'a str,
}

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

fn login_form(
    state: &AppState,
    next: &str,
    email: &str,
    error: Option<&str>,
    status: actix_web::http::StatusCode,
) -> Result<HttpResponse, PageError> {
    let form_token = Token::generate();
    let body = LoginView {
        form_token: form_token.as_str(),
        next,
        email,
        error,
        user: None,
        is_admin: false,
        csrf: "",
    }
    .render()
    .map_err(|e| PageError::Internal(e.into()))?;
    Ok(with_form_token(state, &form_token, status, body))
}

pub async fn login_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<NextQuery>,
) -> Result<HttpResponse, PageError> {
    let next = safe_next(query.next.as_deref());
    if current(&req).await?.is_some() {
        return Ok(see_other(&next));
    }
    login_form(&state, &next, "", None, actix_web::http::StatusCode::OK)
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    form_token: String,
    next: Option<String>,
}

/// Another site must not post a sign-in in a visitor's browser (login CSRF). A browser's form
/// carries the token of its cookie; a post without one is taken only from a client that is not a
/// browser on another site's page: no `Origin` and no `Sec-Fetch-Site` header, which every
/// current browser sends on a cross-site POST (a script or `curl` signing in has no victim).
fn check_form_token(state: &AppState, req: &HttpRequest, sent: &str) -> Result<(), PageError> {
    if sent.is_empty() {
        let from_a_browser =
            req.headers().contains_key("origin") || req.headers().contains_key("sec-fetch-site");
        let same_origin = req
            .headers()
            .get("sec-fetch-site")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v == "same-origin");
        return if from_a_browser && !same_origin {
            Err(PageError::Csrf)
        } else {
            Ok(())
        };
    }
    match state.dashboard.read(req, FORM_COOKIE) {
        Some(expected) if constant_time_eq(expected.as_bytes(), sent.as_bytes()) => Ok(()),
        _ => Err(PageError::Csrf),
    }
}

pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<LoginForm>,
) -> Result<HttpResponse, PageError> {
    let form = form.into_inner();
    let next = safe_next(form.next.as_deref());
    check_form_token(&state, &req, &form.form_token)?;
    let ip = req.peer_addr().map(|a| a.ip());
    let account = form.email.trim().to_lowercase();
    super::no_nul(&[&form.email, &form.password])?;
    // Counted before the password is checked, so parallel guesses count too.
    if let Some(wait) = state
        .failures
        .blocked_for(ip)
        .or_else(|| state.dashboard.begin_attempt(&account).err())
    {
        return Err(PageError::TooMany {
            retry_after_seconds: wait,
        });
    }
    let lookup = account.clone();
    let user = state
        .store
        .read(move |c| users::find_by_email(c, &lookup))
        .await?;
    let password = form.password.clone();
    let stored = user.as_ref().and_then(|u| u.password_hash.clone());
    // Hash even for an unknown address, so timing does not tell which addresses have accounts.
    let matches = tokio::task::spawn_blocking(move || match stored {
        Some(hash) => verify_password(&password, &hash),
        None => {
            verify_password(&password, decoy_hash());
            false
        }
    })
    .await
    .map_err(|e| PageError::Internal(e.into()))?;
    let Some(user) = user.filter(|_| matches) else {
        state.failures.record_failure(ip, "sign-in");
        return login_form(
            &state,
            &next,
            form.email.trim(),
            Some("That email and password do not match. Check both and try again."),
            actix_web::http::StatusCode::UNAUTHORIZED,
        );
    };
    state.dashboard.forget_failures(&account);
    let now = state.clock.now();
    let token = state
        .store
        .write(move |c| new_session(c, &user.id, now))
        .await?;
    Ok(HttpResponse::SeeOther()
        .insert_header(("Location", next))
        .cookie(state.dashboard.cookie(SESSION_COOKIE, token, "/"))
        .cookie(state.dashboard.removal(FORM_COOKIE, "/login"))
        .finish())
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    pub csrf: String,
}

#[derive(Template)]
#[template(path = "dashboard/logout.html")]
struct LogoutView<'a> {
    user: Option<&'a str>,
    is_admin: bool,
    csrf: &'a str,
}

/// `GET /logout`: a page with the sign-out button (signing out is a POST with the token).
pub async fn logout_page(req: HttpRequest) -> Result<HttpResponse, PageError> {
    match current(&req).await? {
        Some(s) => super::html(LogoutView {
            user: Some(&s.user.email),
            is_admin: s.user.is_admin(),
            csrf: &s.csrf,
        }),
        None => Ok(see_other("/login")),
    }
}

pub async fn logout(
    signed_in: SignedIn,
    state: web::Data<AppState>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, PageError> {
    signed_in.check_csrf(&form.csrf)?;
    let hash = signed_in.token_hash.clone();
    state
        .store
        .write(move |c| users::end_session(c, &hash))
        .await?;
    Ok(HttpResponse::SeeOther()
        .insert_header(("Location", "/login"))
        .cookie(state.dashboard.removal(SESSION_COOKIE, "/"))
        .finish())
}

#[derive(Template)]
#[template(path = "dashboard/set_password.html")]
struct SetPasswordView<'a> {
    email: &'a str,
    action: &'a str,
    form_token: &'a str,
    error: Option<&'a str>,
    min_chars: usize,
    user: Option<&'a str>,
    is_admin: bool,
    csrf: &'a str,
}

fn link_form(
    state: &AppState,
    email: &str,
    token: &str,
    error: Option<&str>,
    status: actix_web::http::StatusCode,
) -> Result<HttpResponse, PageError> {
    let form_token = Token::generate();
    let action = format!("/login/link/{token}");
    let body = SetPasswordView {
        email,
        action: &action,
        form_token: form_token.as_str(),
        error,
        min_chars: MIN_PASSWORD_CHARS,
        user: None,
        is_admin: false,
        csrf: "",
    }
    .render()
    .map_err(|e| PageError::Internal(e.into()))?;
    Ok(with_form_token(state, &form_token, status, body))
}

fn link_gone() -> PageError {
    PageError::NotFound(
        "This sign-in link is used up or has expired. Ask an admin for a new one.".into(),
    )
}

/// Opening a link only shows the form (mail scanners open links too); setting the password uses
/// it up.
pub async fn link_page(
    state: web::Data<AppState>,
    token: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let token = Token::from_url(&token).ok_or_else(link_gone)?;
    let now = state.clock.now();
    let hash = token.hash();
    let user = state
        .store
        .read(move |c| users::find_sign_in_link(c, &hash, now))
        .await?
        .ok_or_else(link_gone)?;
    link_form(
        &state,
        &user.email,
        token.as_str(),
        None,
        actix_web::http::StatusCode::OK,
    )
}

#[derive(Deserialize)]
pub struct SetPasswordForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_again: String,
    #[serde(default)]
    form_token: String,
}

pub async fn use_link(
    req: HttpRequest,
    state: web::Data<AppState>,
    token: web::Path<String>,
    form: web::Form<SetPasswordForm>,
) -> Result<HttpResponse, PageError> {
    check_form_token(&state, &req, &form.form_token)?;
    super::no_nul(&[&form.password, &form.password_again])?;
    let token = Token::from_url(&token).ok_or_else(link_gone)?;
    let now = state.clock.now();
    let hash = token.hash();
    let lookup = hash.clone();
    let user = state
        .store
        .read(move |c| users::find_sign_in_link(c, &lookup, now))
        .await?
        .ok_or_else(link_gone)?;
    let problem = match Password::parse("password", &form.password) {
        Err(e) => Some(format!("The password {}.", e.message)),
        Ok(_) if form.password != form.password_again => {
            Some("The two passwords differ. Type the same password twice.".to_string())
        }
        Ok(_) => None,
    };
    if let Some(problem) = problem {
        return link_form(
            &state,
            &user.email,
            token.as_str(),
            Some(&problem),
            actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    let password = Password::parse("password", &form.password)?;
    let password_hash = tokio::task::spawn_blocking(move || password.hash())
        .await
        .map_err(|e| PageError::Internal(e.into()))?;
    let session = state
        .store
        .write(move |c| {
            if !users::use_sign_in_link(c, &hash, now)? {
                return Ok(None);
            }
            users::set_password(c, &user.id, &password_hash, now)?;
            new_session(c, &user.id, now).map(Some)
        })
        .await?
        .ok_or_else(link_gone)?;
    Ok(HttpResponse::SeeOther()
        .insert_header(("Location", "/dashboard"))
        .cookie(state.dashboard.cookie(SESSION_COOKIE, session, "/"))
        .cookie(state.dashboard.removal(FORM_COOKIE, "/login"))
        .finish())
}

/// The address a user is added under, parsed.
pub fn parse_email(raw: &str) -> Result<EmailAddress, PageError> {
    Ok(EmailAddress::parse("email", raw.trim())?)
}
