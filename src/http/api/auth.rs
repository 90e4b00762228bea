//! API authentication, once, in middleware on the `/api/v1` scope: the bearer key is looked up
//! (one indexed read per request, so a revoked key stops at once everywhere), and the key's scopes go into the
//! request extensions. Handlers state the scope they need with [`Scoped`].
use crate::domain::access::{Scope, Scopes};
use crate::domain::token::hash_secret;
use crate::http::error::ApiError;
use crate::http::AppState;
use crate::store::ids::SurveyId;
use crate::store::{api_keys, Store};
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use std::future::{ready, Ready};
use std::marker::PhantomData;

/// The authenticated caller.
#[derive(Debug, Clone)]
pub struct Principal {
    /// None for the key from NPSD_API_KEY.
    pub key_id: Option<String>,
    pub scopes: Scopes,
    /// The survey the key's Delighted-compatible requests use; None: the survey `default`.
    pub survey_id: Option<SurveyId>,
}

/// Known keys: the configured one, and the stored ones, looked up on every request.
///
/// There is no cache in front of the stored keys: a key revoked anywhere (the API, the dashboard,
/// `npsd keys revoke` in another process, another instance on the same database) is refused from
/// the next request on. A cache would save one indexed read per request, and any revocation
/// stamp it checked would cost that same read.
pub struct KeyRing {
    env_key_hash: Option<String>,
}

impl KeyRing {
    pub fn new(env_key_hash: Option<String>) -> KeyRing {
        KeyRing { env_key_hash }
    }

    pub async fn lookup(&self, store: &Store, key: &str) -> Result<Option<Principal>, ApiError> {
        let hash = hash_secret(key);
        if self.env_key_hash.as_deref() == Some(hash.as_str()) {
            return Ok(Some(Principal {
                key_id: None,
                scopes: Scopes::all(),
                survey_id: None,
            }));
        }
        Ok(store
            .read(move |c| api_keys::find_active(c, &hash))
            .await?
            .map(|row| Principal {
                scopes: row.scopes(),
                key_id: Some(row.id),
                survey_id: row.survey_id,
            }))
    }
}

fn bearer(req: &ServiceRequest) -> Option<String> {
    req.headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, key) = v.trim().split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("bearer")
                .then(|| key.trim().to_string())
        })
        .filter(|k| !k.is_empty())
}

/// The middleware: 401 without a valid key; a wrong key from an address that sent too many this
/// minute gets 429.
pub async fn authenticate(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return Ok(req.error_response(ApiError::Internal(anyhow::anyhow!("app state missing"))));
    };
    let Some(key) = bearer(&req) else {
        return Ok(req.error_response(ApiError::Unauthorized));
    };
    // A valid key always gets in, also from an address that sent wrong keys too often (it may be
    // shared); only wrong keys are answered 429 once the address is over the limit.
    let ip = req.peer_addr().map(|a| a.ip());
    match state.keys.lookup(&state.app.store, &key).await {
        Ok(Some(principal)) => {
            req.extensions_mut().insert(principal);
            Ok(next.call(req).await?.map_into_boxed_body())
        }
        Ok(None) => match state.failures.record_failure(ip, "api_key") {
            Some(retry_after_seconds) => Ok(req.error_response(ApiError::TooManyRequests {
                retry_after_seconds,
            })),
            None => Ok(req.error_response(ApiError::Unauthorized)),
        },
        Err(e) => Ok(req.error_response(e)),
    }
}

/// The scope a handler needs, as a type: `_: Scoped<Read>`.
pub trait NeedsScope {
    const SCOPE: Scope;
}
pub struct Ingest;
pub struct Read;
pub struct Admin;
impl NeedsScope for Ingest {
    const SCOPE: Scope = Scope::Ingest;
}
impl NeedsScope for Read {
    const SCOPE: Scope = Scope::Read;
}
impl NeedsScope for Admin {
    const SCOPE: Scope = Scope::Admin;
}

/// Proof that the caller's key has scope `S`: 403 otherwise.
pub struct Scoped<S: NeedsScope> {
    pub principal: Principal,
    _scope: PhantomData<S>,
}

impl<S: NeedsScope> FromRequest for Scoped<S> {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let principal = req.extensions().get::<Principal>().cloned();
        ready(match principal {
            // The middleware did not run: a route outside /api/v1 must not use this.
            None => Err(ApiError::Unauthorized),
            Some(p) if p.scopes.allows(S::SCOPE) => Ok(Scoped {
                principal: p,
                _scope: PhantomData,
            }),
            Some(_) => Err(ApiError::Forbidden(S::SCOPE.as_str())),
        })
    }
}
