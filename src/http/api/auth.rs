use crate::domain::token::hash_secret;
use crate::error::ApiError;
use crate::http::AppState;
use crate::store::api_keys;
use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;

/// Proof that the request carried a valid API key. Take it as a handler argument.
pub struct ApiKey;

impl FromRequest for ApiKey {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<ApiKey, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let presented = req
            .headers()
            .get(actix_web::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                let (scheme, key) = v.trim().split_once(' ')?;
                scheme
                    .eq_ignore_ascii_case("bearer")
                    .then(|| key.trim().to_string())
            })
            .filter(|k| !k.is_empty());
        Box::pin(async move {
            let state =
                state.ok_or_else(|| ApiError::Internal(anyhow::anyhow!("app state missing")))?;
            let key = presented.ok_or(ApiError::Unauthorized)?;
            let hash = hash_secret(&key);
            if state.env_api_key_hash.as_deref() == Some(hash.as_str()) {
                return Ok(ApiKey);
            }
            if state
                .store
                .read(move |c| api_keys::is_active(c, &hash))
                .await?
            {
                Ok(ApiKey)
            } else {
                Err(ApiError::Unauthorized)
            }
        })
    }
}
