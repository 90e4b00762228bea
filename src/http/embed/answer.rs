//! Storing a web answer, the same for the JSON endpoint and the iframe form: the door's rate
//! limits, then the operation (`npsd_app::answers::on_page`: the honeypot, the signature check,
//! the edit token, one write).
use super::limits::RetryAfter;
use crate::domain::embed::WebAnswer;
use crate::http::AppState;
use crate::store::surveys::SurveyRow;
use npsd_app::ServiceError;
use std::net::IpAddr;

/// A web answer as its browser may know it: the edit token exists only here, once.
pub use npsd_app::answers::WebStored as Stored;

pub enum NotStored {
    RateLimited(RetryAfter),
    Failed(ServiceError),
}

pub async fn store_answer(
    state: &AppState,
    survey: &SurveyRow,
    answer: WebAnswer,
    ip: Option<IpAddr>,
) -> Result<Stored, NotStored> {
    // A honeypot answer is discarded by the operation before any limit counts it.
    if !answer.honeypot {
        state
            .embed_limits
            .check(&survey.id, ip)
            .map_err(NotStored::RateLimited)?;
    }
    npsd_app::answers::on_page(&state.app, survey, answer, state.embed_signature_max_age)
        .await
        .map_err(NotStored::Failed)
}
