//! GET /d/{token} asks; POST /d/{token} (the button, or a mail client's RFC 8058 one-click POST
//! from the digest's List-Unsubscribe headers) takes that one address off that one survey's
//! digest. A GET never unsubscribes.
use super::{unsubscribe_page, unsubscribed_page, ClientIp};
use crate::domain::email::mask;
use crate::domain::token::Token;
use crate::http::pages::error::PageReply;
use crate::http::pages::PageError;
use crate::http::AppState;
use crate::http::State;
use crate::store::digests;
use crate::store::surveys::SurveyRow;
use actix_web::web;

const LIST: &str = "NPS digests";

async fn find(
    state: &AppState,
    ip: &ClientIp,
    raw: &str,
) -> Result<(SurveyRow, String), PageError> {
    let unknown = || match state.failures.record_failure(ip.0, "digest_token") {
        Some(_) => PageError::TooManyRequests,
        None => PageError::NotFound,
    };
    let token = Token::from_url(raw).ok_or_else(unknown)?;
    let hash = token.hash();
    state
        .app
        .store
        .read(move |c| digests::find_token(c, &hash))
        .await?
        .ok_or_else(unknown)
}

pub async fn show(state: State, ip: ClientIp, path: web::Path<String>) -> PageReply {
    let token = path.into_inner();
    let (survey, recipient) = find(&state, &ip, &token).await?;
    unsubscribe_page(&survey, &format!("/d/{token}"), &recipient, LIST)
}

pub async fn submit(state: State, ip: ClientIp, path: web::Path<String>) -> PageReply {
    let (survey, recipient) = find(&state, &ip, &path.into_inner()).await?;
    npsd_app::answers::leave_digest(&state.app, survey.id.clone(), recipient.clone()).await?;
    tracing::info!(email = %mask(&recipient), survey = %survey.slug, "unsubscribed from the digest");
    unsubscribed_page(&survey, &recipient, LIST)
}
