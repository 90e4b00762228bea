//! Sessions: the cookies, the user behind them, CSRF tokens, and what sign-ins may cost.
//!
//! Cookie names: over https they carry the `__Host-` prefix, which browsers accept only from this
//! very host, with `Secure`, `Path=/` and no `Domain`: a page on a sibling subdomain cannot plant
//! or overwrite them. Browsers (and HTTP clients' cookie stores) refuse `Secure` cookies over plain
//! http, so an npsd served over http (`NPSD_PUBLIC_URL` not https) keeps the plain names.
use super::PageError;
use crate::domain::token::hash_secret;
use crate::domain::user::HashingMemory;
use crate::http::limits::SignInDelays;
use crate::http::AppState;
use crate::store::users::UserRow;
use actix_web::cookie::{Cookie, CookieJar, Key, SameSite};
use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use hmac::{Hmac, Mac};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Semaphore;

pub use npsd_app::sessions::SESSION_DAYS;
/// How long a browser is remembered as one an account signed in on.
const DEVICE_DAYS: i64 = 365;
/// Passwords hashed at once. Each takes Argon2id's 19 MiB; more sign-ins wait their turn.
pub const HASHING_AT_ONCE: usize = 2;
/// How long a sign-in waits for its turn before it is answered 429.
pub const HASHING_WAIT: Duration = Duration::from_secs(2);

/// The dashboard's cookies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CookieName {
    /// The session token.
    Session,
    /// The sign-in form's nonce, which its form token is bound to.
    Form,
    /// The account this browser signed in to before (spares it the account-wide slow-down).
    Device,
}

impl CookieName {
    pub fn as_str(self, host_only: bool) -> &'static str {
        match (self, host_only) {
            (CookieName::Session, false) => "npsd_session",
            (CookieName::Session, true) => "__Host-npsd_session",
            (CookieName::Form, false) => "npsd_form",
            (CookieName::Form, true) => "__Host-npsd_form",
            (CookieName::Device, false) => "npsd_device",
            (CookieName::Device, true) => "__Host-npsd_device",
        }
    }

    fn max_age_days(self) -> i64 {
        match self {
            CookieName::Session | CookieName::Form => SESSION_DAYS,
            CookieName::Device => DEVICE_DAYS,
        }
    }
}

pub struct DashboardState {
    /// Signs the cookies and form tokens (HMAC-SHA256); shared by every instance through the
    /// database.
    key: Key,
    /// Cookies only over https, with `__Host-` names: true when npsd's public URL is https.
    secure: bool,
    /// Wrong passwords per address and account, and per account.
    pub delays: SignInDelays,
    /// Turns to hash a password, and the working memory each turn uses.
    hashing: Arc<Semaphore>,
    memories: Arc<Mutex<Vec<HashingMemory>>>,
}

impl DashboardState {
    pub fn new(key_hex: &str, secure: bool) -> anyhow::Result<DashboardState> {
        let bytes = hex::decode(key_hex)?;
        anyhow::ensure!(bytes.len() >= 64, "the cookie key must be 64 bytes");
        Ok(DashboardState {
            key: Key::from(&bytes),
            secure,
            delays: SignInDelays::default(),
            hashing: Arc::new(Semaphore::new(HASHING_AT_ONCE)),
            memories: Arc::new(Mutex::new(Vec::new())),
        })
    }

    /// A new random cookie key, hex.
    pub fn new_key_hex() -> String {
        hex::encode(Key::generate().master())
    }

    pub fn name(&self, name: CookieName) -> &'static str {
        name.as_str(self.secure)
    }

    pub fn cookie(&self, which: CookieName, value: String) -> Cookie<'static> {
        let name = self.name(which);
        let days = which.max_age_days();
        let mut jar = CookieJar::new();
        jar.signed_mut(&self.key).add(
            Cookie::build(name, value)
                .path("/")
                .http_only(true)
                .secure(self.secure)
                .same_site(SameSite::Lax)
                .max_age(actix_web::cookie::time::Duration::days(days))
                .finish(),
        );
        jar.get(name).cloned().expect("just added")
    }

    pub fn removal(&self, name: CookieName) -> Cookie<'static> {
        let mut c = Cookie::build(self.name(name), "")
            .path("/")
            .http_only(true)
            .secure(self.secure)
            .same_site(SameSite::Lax)
            .finish();
        c.make_removal();
        c
    }

    /// The value of a signed cookie, when its signature holds.
    pub fn read(&self, req: &HttpRequest, name: CookieName) -> Option<String> {
        let name = self.name(name);
        let raw = req.cookie(name)?;
        self.verify(raw)
    }

    /// Like `read`, but None when the request carries the cookie more than once: a second one
    /// was planted by another page (cookie tossing), and which one is the visitor's cannot be
    /// told.
    pub fn read_only_one(&self, req: &HttpRequest, name: CookieName) -> Option<String> {
        let name = self.name(name);
        let cookies = req.cookies().ok()?;
        let mut found = cookies.iter().filter(|c| c.name() == name);
        let first = found.next()?.clone();
        if found.next().is_some() {
            return None;
        }
        self.verify(first.into_owned())
    }

    fn verify(&self, raw: Cookie<'static>) -> Option<String> {
        let name = raw.name().to_string();
        let mut jar = CookieJar::new();
        jar.add_original(raw);
        jar.signed(&self.key)
            .get(&name)
            .map(|c| c.value().to_string())
    }

    /// The token a sign-in form carries for the nonce in its cookie: an HMAC under the server's
    /// key, so that only npsd makes a token that goes with a nonce.
    pub fn form_token(&self, nonce: &str) -> String {
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(self.key.signing())
            .expect("HMAC takes any key length");
        mac.update(b"npsd sign-in form\0");
        mac.update(nonce.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// Whether `token` is the one made for the request's (only) form cookie.
    pub fn form_token_matches(&self, req: &HttpRequest, token: &str) -> bool {
        self.read_only_one(req, CookieName::Form)
            .is_some_and(|nonce| {
                constant_time_eq(self.form_token(&nonce).as_bytes(), token.as_bytes())
            })
    }

    /// The device cookie for a browser `account` signed in on: a hash of the address, so the
    /// cookie does not show it.
    pub fn device_cookie(&self, account: &str) -> Cookie<'static> {
        self.cookie(CookieName::Device, hash_secret(account))
    }

    /// Whether the request comes from a browser that `account` signed in on before.
    pub fn known_browser(&self, req: &HttpRequest, account: &str) -> bool {
        self.read(req, CookieName::Device)
            .is_some_and(|a| constant_time_eq(a.as_bytes(), hash_secret(account).as_bytes()))
    }

    /// Runs `work` (hashing a password) on the blocking pool in one of the few working memories,
    /// once a turn comes free; 429 when none does within [`HASHING_WAIT`]. The turn and the memory
    /// go with the work, so a visitor who leaves does not free them before the hashing ends.
    pub async fn hash_in_turn<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut HashingMemory) -> T + Send + 'static,
    ) -> Result<T, PageError> {
        let permit = tokio::time::timeout(HASHING_WAIT, self.hashing.clone().acquire_owned())
            .await
            .map_err(|_| PageError::SignInBusy {
                retry_after_seconds: HASHING_WAIT.as_secs().max(1),
            })?
            .map_err(|e| PageError::Internal(e.into()))?;
        let memories = self.memories.clone();
        tokio::task::spawn_blocking(move || {
            let mut memory = memories
                .lock()
                .expect("hashing memories lock")
                .pop()
                .unwrap_or_default();
            let out = work(&mut memory);
            memories.lock().expect("hashing memories lock").push(memory);
            drop(permit);
            out
        })
        .await
        .map_err(|e| PageError::Internal(e.into()))
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

/// The signed-in user of a request, if any.
pub async fn current(req: &HttpRequest) -> Result<Option<SignedIn>, PageError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .expect("app state")
        .clone();
    let Some(token) = state.dashboard.read(req, CookieName::Session) else {
        return Ok(None);
    };
    let token_hash = hash_secret(&token);
    let found = npsd_app::sessions::current(&state.app, token_hash.clone()).await?;
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
