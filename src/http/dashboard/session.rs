//! Sessions: the cookie, the user behind it, CSRF tokens and the slow-down after wrong passwords.
use super::PageError;
use crate::domain::token::{hash_secret, Token};
use crate::http::AppState;
use crate::store::users::{self, UserRow};
use actix_web::cookie::{Cookie, CookieJar, Key, SameSite};
use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use chrono::NaiveDateTime;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const SESSION_COOKIE: &str = "npsd_session";
/// The sign-in form's own CSRF token (double submit: cookie and field must match).
pub const FORM_COOKIE: &str = "npsd_form";
/// How long a session lasts: two weeks, so the team stays signed in between mornings.
pub const SESSION_DAYS: i64 = 14;

/// Wrong passwords for one address before it waits.
const ACCOUNT_FAILURES: u32 = 5;
const ACCOUNT_WINDOW: Duration = Duration::from_secs(15 * 60);

pub struct DashboardState {
    /// Signs the cookies (HMAC-SHA256); shared by every instance through the database.
    key: Key,
    /// Cookies only over https: true when npsd's public URL is https.
    secure: bool,
    failures: Mutex<HashMap<String, (Instant, u32)>>,
}

impl DashboardState {
    pub fn new(key_hex: &str, secure: bool) -> anyhow::Result<DashboardState> {
        let bytes = hex::decode(key_hex)?;
        anyhow::ensure!(bytes.len() >= 64, "the cookie key must be 64 bytes");
        Ok(DashboardState {
            key: Key::from(&bytes),
            secure,
            failures: Mutex::new(HashMap::new()),
        })
    }

    /// A new random cookie key, hex.
    pub fn new_key_hex() -> String {
        hex::encode(Key::generate().master())
    }

    pub fn cookie(&self, name: &'static str, value: String, path: &'static str) -> Cookie<'static> {
        let mut jar = CookieJar::new();
        jar.signed_mut(&self.key).add(
            Cookie::build(name, value)
                .path(path)
                .http_only(true)
                .secure(self.secure)
                .same_site(SameSite::Lax)
                .max_age(actix_web::cookie::time::Duration::days(SESSION_DAYS))
                .finish(),
        );
        jar.get(name).cloned().expect("just added")
    }

    pub fn removal(&self, name: &'static str, path: &'static str) -> Cookie<'static> {
        let mut c = Cookie::build(name, "")
            .path(path)
            .http_only(true)
            .secure(self.secure)
            .same_site(SameSite::Lax)
            .finish();
        c.make_removal();
        c
    }

    /// The value of a signed cookie, when its signature holds.
    pub fn read(&self, req: &HttpRequest, name: &str) -> Option<String> {
        let raw = req.cookie(name)?;
        let mut jar = CookieJar::new();
        jar.add_original(raw.into_owned());
        jar.signed(&self.key)
            .get(name)
            .map(|c| c.value().to_string())
    }

    /// Counts a sign-in attempt for the address before its password is checked (so parallel
    /// guesses count too); Err(seconds to wait) once it had too many lately. A right password
    /// clears the count (`forget_failures`).
    pub fn begin_attempt(&self, account: &str) -> Result<(), u64> {
        let mut map = self.failures.lock().expect("failures lock");
        if map.len() > 100_000 {
            map.retain(|_, (since, _)| since.elapsed() < ACCOUNT_WINDOW);
        }
        let entry = map
            .entry(account.to_string())
            .or_insert((Instant::now(), 0));
        if entry.0.elapsed() >= ACCOUNT_WINDOW {
            *entry = (Instant::now(), 0);
        }
        if entry.1 >= ACCOUNT_FAILURES {
            return Err((ACCOUNT_WINDOW - entry.0.elapsed()).as_secs().max(1));
        }
        entry.1 += 1;
        Ok(())
    }

    pub fn forget_failures(&self, account: &str) {
        self.failures.lock().expect("failures lock").remove(account);
    }
}

/// A signed-in user, with their session's CSRF token.
pub struct SignedIn {
    pub user: UserRow,
    pub csrf: String,
    pub token_hash: String,
}

impl SignedIn {
    /// Refuses a form whose token is not this session's.
    pub fn check_csrf(&self, sent: &str) -> Result<(), PageError> {
        if constant_time_eq(sent.as_bytes(), self.csrf.as_bytes()) {
            Ok(())
        } else {
            Err(PageError::Csrf)
        }
    }

    pub fn require_admin(&self) -> Result<(), PageError> {
        if self.user.is_admin() {
            Ok(())
        } else {
            Err(PageError::AdminOnly)
        }
    }
}

pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Starts a session for a user: the token for the cookie.
pub fn new_session(
    conn: &mut crate::store::DbConn,
    user_id: &str,
    now: NaiveDateTime,
) -> crate::store::StoreResult<String> {
    let token = Token::generate();
    let csrf = Token::generate();
    users::add_session(
        conn,
        &token.hash(),
        user_id,
        csrf.as_str(),
        now,
        now + chrono::Duration::days(SESSION_DAYS),
    )?;
    Ok(token.as_str().to_string())
}

/// The signed-in user of a request, if any.
pub async fn current(req: &HttpRequest) -> Result<Option<SignedIn>, PageError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .expect("app state")
        .clone();
    let Some(token) = state.dashboard.read(req, SESSION_COOKIE) else {
        return Ok(None);
    };
    let token_hash = hash_secret(&token);
    let now = state.clock.now();
    let lookup = token_hash.clone();
    let found = state
        .store
        .read(move |c| users::find_session(c, &lookup, now))
        .await?;
    Ok(found.map(|(user, csrf)| SignedIn {
        user,
        csrf,
        token_hash,
    }))
}

impl FromRequest for SignedIn {
    type Error = PageError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            match current(&req).await? {
                Some(s) => Ok(s),
                None => Err(PageError::SignIn {
                    next: req
                        .uri()
                        .path_and_query()
                        .map(|p| p.as_str().to_string())
                        .unwrap_or_else(|| "/dashboard".into()),
                }),
            }
        })
    }
}
