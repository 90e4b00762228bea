//! GET /u/{token} asks; POST /u/{token} (a person's button or a mail client's RFC 8058 one-click
//! POST) unsubscribes the address from the survey. A GET never unsubscribes.
use super::views::{self, UnsubscribePage, UnsubscribedPage};
use super::{branding, find_link, ClientIp, UNSUBSCRIBE};
use crate::domain::email::mask;
use crate::http::pages::{html, PageError};
use crate::http::AppState;
use crate::store::unsubscribes;
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
    let survey_id = link.survey.id.clone();
    let email_key = link.invitation.email_key.clone();
    let now = state.app.clock.now();
    state
        .app
        .store
        .write(move |c| unsubscribes::add(c, &survey_id, &email_key, "link", now))
        .await?;
    tracing::info!(email = %mask(&link.invitation.email), survey = %link.survey.slug, "unsubscribed");
    let brand = branding(&link.survey);
    let email = mask(&link.invitation.email);
    let body = views::unsubscribed(&UnsubscribedPage {
        branding: &brand,
        email_masked: &email,
        list: "surveys",
    })?;
    Ok(html(StatusCode::OK, body))
}
