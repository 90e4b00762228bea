//! GET /u/{token} asks; POST /u/{token} (a person's button or a mail client's RFC 8058 one-click
//! POST) unsubscribes the address from the survey. A GET never unsubscribes.
use super::{find_link, unsubscribe_page, unsubscribed_page, ClientIp, UNSUBSCRIBE};
use crate::domain::email::mask;
use crate::http::pages::error::PageReply;
use crate::http::State;
use actix_web::web;

// Unsubscribing keeps working after the response window closes: people must always be able to stop emails.

pub async fn show(state: State, ip: ClientIp, path: web::Path<String>) -> PageReply {
    let token = path.into_inner();
    let link = find_link(&state, &ip, &token, UNSUBSCRIBE).await?;
    let action = format!("/u/{token}");
    unsubscribe_page(&link.survey, &action, &link.invitation.email, "surveys")
}

pub async fn submit(state: State, ip: ClientIp, path: web::Path<String>) -> PageReply {
    let link = find_link(&state, &ip, &path.into_inner(), UNSUBSCRIBE).await?;
    npsd_app::answers::unsubscribe(
        &state.app,
        link.survey.id.clone(),
        link.invitation.email_key.clone(),
        "link",
    )
    .await?;
    tracing::info!(email = %mask(&link.invitation.email), survey = %link.survey.slug, "unsubscribed");
    unsubscribed_page(&link.survey, &link.invitation.email, "surveys")
}
