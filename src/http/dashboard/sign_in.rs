//! Signing in and out: the /login form, one-time sign-in links (which set a password), logout.
//!
//! What a sign-in may cost: every attempt is counted before its password is hashed, per client
//! address (`NPSD_AUTH_FAILURE_LIMIT` a minute, across accounts) and per address and account
//! together (growing delays, see [`crate::http::limits::SignInDelays`]); only a few passwords are
//! hashed at once, each in working memory kept for the purpose, and a sign-in that does not get
//! its turn within two seconds is answered 429.
use super::session::{current, CookieName, SignedIn};
use super::PageReply;
use super::{see_other, PageError};
use crate::domain::email::EmailAddress;
use crate::domain::token::Token;
use crate::domain::user::{decoy_hash, verify_password_in, Password, MIN_PASSWORD_CHARS};
use crate::http::AppState;
use crate::http::State;
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

/// A new nonce for a sign-in form's cookie, and the form token bound to it.
fn new_form_token(state: &AppState) -> (String, String) {
    let nonce = Token::generate().as_str().to_string();
    let token = state.dashboard.form_token(&nonce);
    (nonce, token)
}

/// A page with a sign-in form: the nonce its token is bound to goes out as the form cookie.
fn with_form_cookie(
    state: &AppState,
    nonce: String,
    status: actix_web::http::StatusCode,
    body: String,
) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header(("Cache-Control", "no-store"))
        .cookie(state.dashboard.cookie(CookieName::Form, nonce))
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
) -> PageReply {
    let (nonce, form_token) = new_form_token(state);
    let body = LoginView {
        form_token: &form_token,
        next,
        email,
        error,
        user: None,
        is_admin: false,
        csrf: "",
    }
    .render()
    .map_err(|e| PageError::Internal(e.into()))?;
    Ok(with_form_cookie(state, nonce, status, body))
}

pub async fn login_page(req: HttpRequest, state: State, query: web::Query<NextQuery>) -> PageReply {
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
/// carries the token made for the nonce in its form cookie (an HMAC under the server's key); a
/// request carrying two form cookies (one planted by another page) is refused, and so is one a
/// browser says came from another origin (`Sec-Fetch-Site`: a sibling subdomain or another port
/// is `same-site`, not `same-origin`), whatever its token. A post without a token is taken only
/// from a client that is not a browser on another site's page: no `Origin` and no
/// `Sec-Fetch-Site` header, which every current browser sends on a cross-site POST (a script or
/// `curl` signing in has no victim).
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
    let fetch_site = req
        .headers()
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok());
    if matches!(fetch_site, Some(site) if site != "same-origin" && site != "none") {
        return Err(PageError::Csrf);
    }
    if state.dashboard.form_token_matches(req, sent) {
        Ok(())
    } else {
        Err(PageError::Csrf)
    }
}

pub async fn login(req: HttpRequest, state: State, form: web::Form<LoginForm>) -> PageReply {
    let form = form.into_inner();
    let next = safe_next(form.next.as_deref());
    check_form_token(&state, &req, &form.form_token)?;
    let ip = req.peer_addr().map(|a| a.ip());
    let account = form.email.trim().to_lowercase();
    super::no_nul(&[&form.email, &form.password])?;
    let known = state.dashboard.known_browser(&req, &account);
    let too_many = |wait| PageError::TooMany {
        retry_after_seconds: wait,
    };
    // Counted before the password is hashed, so guesses sent at once count too.
    state.failures.begin(ip, "sign-in").map_err(too_many)?;
    let delays = &state.dashboard.delays;
    if let Err(wait) = delays.begin(ip, &account, known, std::time::Instant::now()) {
        state.failures.forgive(ip);
        return Err(too_many(wait));
    }
    // An attempt that is not evaluated (busy, or the database failing) does not count.
    let take_back = || {
        state.failures.forgive(ip);
        delays.take_back(ip, &account, known);
    };
    let user = match npsd_app::sessions::user_by_email(&state.app, account.clone()).await {
        Ok(user) => user,
        Err(e) => {
            take_back();
            return Err(e.into());
        }
    };
    let password = form.password.clone();
    let stored = user.as_ref().and_then(|u| u.password_hash.clone());
    // Hash even for an unknown address, so timing does not tell which addresses have accounts.
    let matches = state
        .dashboard
        .hash_in_turn(move |memory| match stored {
            Some(hash) => verify_password_in(&password, &hash, memory),
            None => {
                verify_password_in(&password, decoy_hash(), memory);
                false
            }
        })
        .await
        .inspect_err(|_| take_back())?;
    let Some(user) = user.filter(|_| matches) else {
        return login_form(
            &state,
            &next,
            form.email.trim(),
            Some("That email and password do not match. Check both and try again."),
            actix_web::http::StatusCode::UNAUTHORIZED,
        );
    };
    state.failures.forgive(ip);
    delays.succeeded(ip, &account, known);
    let token = npsd_app::sessions::start(&state.app, user.id).await?;
    Ok(HttpResponse::SeeOther()
        .insert_header(("Location", next))
        .cookie(state.dashboard.cookie(CookieName::Session, token))
        .cookie(state.dashboard.removal(CookieName::Form))
        .cookie(state.dashboard.device_cookie(&account))
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
pub async fn logout_page(req: HttpRequest) -> PageReply {
    match current(&req).await? {
        Some(s) => super::html(LogoutView {
            user: Some(&s.user.email),
            is_admin: s.user.is_admin(),
            csrf: &s.csrf,
        }),
        None => Ok(see_other("/login")),
    }
}

pub async fn logout(signed_in: SignedIn, state: State, form: web::Form<CsrfForm>) -> PageReply {
    signed_in.check_csrf(&form.csrf)?;
    npsd_app::sessions::end(&state.app, signed_in.token_hash.clone()).await?;
    Ok(HttpResponse::SeeOther()
        .insert_header(("Location", "/login"))
        .cookie(state.dashboard.removal(CookieName::Session))
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
) -> PageReply {
    let (nonce, form_token) = new_form_token(state);
    let action = format!("/login/link/{token}");
    let body = SetPasswordView {
        email,
        action: &action,
        form_token: &form_token,
        error,
        min_chars: MIN_PASSWORD_CHARS,
        user: None,
        is_admin: false,
        csrf: "",
    }
    .render()
    .map_err(|e| PageError::Internal(e.into()))?;
    Ok(with_form_cookie(state, nonce, status, body))
}

fn link_gone() -> PageError {
    PageError::NotFound(
        "This sign-in link is used up or has expired. Ask an admin for a new one.".into(),
    )
}

/// Opening a link only shows the form (mail scanners open links too); setting the password uses
/// it up.
pub async fn link_page(state: State, token: web::Path<String>) -> PageReply {
    let token = Token::from_url(&token).ok_or_else(link_gone)?;
    let user = npsd_app::sessions::link_user(&state.app, token.hash())
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
    state: State,
    token: web::Path<String>,
    form: web::Form<SetPasswordForm>,
) -> PageReply {
    check_form_token(&state, &req, &form.form_token)?;
    super::no_nul(&[&form.password, &form.password_again])?;
    let token = Token::from_url(&token).ok_or_else(link_gone)?;
    let hash = token.hash();
    let user = npsd_app::sessions::link_user(&state.app, hash.clone())
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
    let password_hash = state
        .dashboard
        .hash_in_turn(move |memory| password.hash_in(memory))
        .await?;
    let session =
        npsd_app::sessions::set_password_by_link(&state.app, hash, user.id, password_hash)
            .await?
            .ok_or_else(link_gone)?;
    Ok(HttpResponse::SeeOther()
        .insert_header(("Location", "/dashboard"))
        .cookie(state.dashboard.cookie(CookieName::Session, session))
        .cookie(state.dashboard.removal(CookieName::Form))
        .finish())
}

/// The address a user is added under, parsed.
pub fn parse_email(raw: &str) -> Result<EmailAddress, PageError> {
    Ok(EmailAddress::parse("email", raw.trim())?)
}
