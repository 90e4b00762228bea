//! Delighted's authentication, once, in middleware on the `/v1` scope: HTTP Basic with an npsd API
//! key as the user name and an empty password, with or without the colon (Python's client sends
//! `base64(KEY)`, Node's `base64(KEY:)`). The key's survey and scopes go into the request
//! extensions; handlers ask for the scope they need through [`Caller::need`].
use super::error::DelightedError;
use crate::domain::access::Scope;
use crate::http::api::auth::Principal;
use crate::http::error::ApiError;
use crate::http::AppState;
use crate::store::surveys::{self, SurveyRow};
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use base64::Engine;
use std::future::{ready, Ready};

/// The authenticated caller and the survey its key works on.
#[derive(Debug, Clone)]
pub struct Caller {
    pub principal: Principal,
    pub survey: SurveyRow,
}

impl Caller {
    /// 403 unless the key has `scope`.
    pub fn need(&self, scope: Scope) -> Result<(), DelightedError> {
        if self.principal.scopes.allows(scope) {
            Ok(())
        } else {
            Err(DelightedError(ApiError::Forbidden(scope.as_str())))
        }
    }
}

/// The key from `Authorization: Basic ...`: the user name, before the first colon if any.
pub fn basic_key(header: Option<&str>) -> Option<String> {
    let (scheme, encoded) = header?.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let key = match text.split_once(':') {
        Some((user, _password)) => user,
        None => text.as_str(),
    };
    Some(key.trim().to_string()).filter(|k| !k.is_empty())
}

pub async fn authenticate(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return Ok(
            req.error_response(DelightedError(ApiError::Internal(anyhow::anyhow!(
                "app state missing"
            )))),
        );
    };
    let header = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let Some(key) = basic_key(header) else {
        return Ok(req.error_response(DelightedError(ApiError::Unauthorized)));
    };
    let ip = req.peer_addr().map(|a| a.ip());
    let principal = match state.keys.lookup(&state.app.store, &key).await {
        Ok(Some(p)) => p,
        Ok(None) => {
            let err = match state.failures.record_failure(ip, "api_key") {
                Some(retry_after_seconds) => ApiError::TooManyRequests {
                    retry_after_seconds,
                },
                None => ApiError::Unauthorized,
            };
            return Ok(req.error_response(DelightedError(err)));
        }
        Err(e) => return Ok(req.error_response(DelightedError(e))),
    };
    let survey_id = principal.survey_id.clone();
    let survey = state
        .app
        .store
        .read(move |c| match &survey_id {
            Some(id) => surveys::find_by_id_opt(c, id),
            None => surveys::find_by_slug(c, crate::domain::survey::DEFAULT_SLUG),
        })
        .await;
    match survey {
        Ok(Some(survey)) => {
            req.extensions_mut().insert(Caller { principal, survey });
            Ok(next.call(req).await?.map_into_boxed_body())
        }
        Ok(None) => Ok(req.error_response(DelightedError::not_found(
            "this key's survey does not exist; create the survey 'default' or give the key a survey",
        ))),
        Err(e) => Ok(req.error_response(DelightedError::from(e))),
    }
}

impl FromRequest for Caller {
    type Error = DelightedError;
    type Future = Ready<Result<Self, DelightedError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        // Absent only on a route outside /v1, which must not use this.
        ready(
            req.extensions()
                .get::<Caller>()
                .cloned()
                .ok_or(DelightedError(ApiError::Unauthorized)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_the_user_name_with_or_without_a_colon() {
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        let basic = |s: &str| Some(format!("Basic {}", b64(s)));
        assert_eq!(
            basic_key(basic("npsd_k").as_deref()).as_deref(),
            Some("npsd_k")
        );
        assert_eq!(
            basic_key(basic("npsd_k:").as_deref()).as_deref(),
            Some("npsd_k")
        );
        assert_eq!(
            basic_key(basic("npsd_k:x").as_deref()).as_deref(),
            Some("npsd_k")
        );
        assert_eq!(basic_key(basic(":").as_deref()), None);
        assert_eq!(basic_key(Some("Bearer npsd_k")), None);
        assert_eq!(basic_key(Some("Basic !!!")), None);
        assert_eq!(basic_key(None), None);
    }
}
