//! GET /u/{token} asks; POST /u/{token} (a person's button or a mail client's RFC 8058 one-click
//! POST) unsubscribes the address from the survey. A GET never unsubscribes.
use super::views::{self, UnsubscribePage};
use super::{branding, find_link, unsubscribed_page, ClientIp, UNSUBSCRIBE};
use crate::domain::email::mask;
use crate::http::pages::{html, PageError};
use crate::http::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};

// Unsubscribing keeps working after the response window closes: people must always be able to stop emails.

pub async fn show(
    state: web::Data<AppState>,
    ip: ClientIp,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let token = path.into_inner();
    let link = find_link(&state, &ip, &token, UNSUBSCRIBE).await?;
    let brand = branding(&link.survey);
    let action = format!("/u/{token}");
    let email = mask(&link.invitation.email);
    let body = views::unsubscribe(&UnsubscribePage {
        branding: &brand,
        form_action: &action,
        email_masked: &email,
        list: "surveys",
    })?;
    Ok(html(StatusCode::OK, body))
}

pub async fn submit(
    state: web::Data<AppState>,
    ip: ClientIp,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
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
