//! Personal data by address: GET exports everything held (GDPR Art. 15), DELETE erases it
//! (Art. 17). Admin scope. A suppressed address stays unmailable, kept only as a hash.
use super::auth::{Admin, Scoped};
use super::json::timestamp;
use super::json::PathEmail;
use crate::http::error::ApiReply;
use crate::http::State;
use crate::store::erasure::Erased;
use actix_web::HttpResponse;
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct InvitationExport {
    id: String,
    survey: String,
    transaction_id: String,
    email: String,
    name: Option<String>,
    locale: String,
    #[schema(value_type = std::collections::HashMap<String, String>)]
    properties: Map<String, Value>,
    status: String,
    reason: Option<String>,
    send_at: String,
    sent_at: Option<String>,
    created_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct ResponseExport {
    id: String,
    survey: String,
    invitation_id: Option<String>,
    channel: String,
    /// Web answers: what the page gave about the person, and whether the site signed it.
    email: Option<String>,
    name: Option<String>,
    customer_id: Option<String>,
    page_url: Option<String>,
    verified: bool,
    #[schema(value_type = std::collections::HashMap<String, String>)]
    properties: Map<String, Value>,
    score: i32,
    comment: Option<String>,
    status: String,
    responded_at: String,
    submitted_at: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct UnsubscribeExport {
    survey: String,
    source: String,
    created_at: String,
}

/// A click on a link of a survey email (a score link, the form, the unsubscribe link).
#[derive(Serialize, ToSchema)]
pub struct LinkEventExport {
    invitation_id: String,
    kind: String,
    score: Option<i32>,
    created_at: String,
}

/// A digest sent, or to be sent, to the address.
#[derive(Serialize, ToSchema)]
pub struct DigestDeliveryExport {
    survey: String,
    period_start: String,
    period_end: String,
    /// pending, sent, failed or cancelled.
    status: String,
    attempts: i32,
    created_at: String,
    updated_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct SuppressionExport {
    reason: String,
    created_at: String,
}

/// The person record the Delighted-compatible API names by id.
#[derive(Serialize, ToSchema)]
pub struct PersonRecordExport {
    id: String,
    name: Option<String>,
    created_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct PersonExport {
    email: String,
    person: Option<PersonRecordExport>,
    invitations: Vec<InvitationExport>,
    responses: Vec<ResponseExport>,
    unsubscribes: Vec<UnsubscribeExport>,
    suppression: Option<SuppressionExport>,
    /// Surveys whose NPS digest the address gets.
    digest_lists: Vec<String>,
    /// Every click on the links of the address's survey emails.
    link_events: Vec<LinkEventExport>,
    /// Every NPS digest delivery to the address.
    digest_deliveries: Vec<DigestDeliveryExport>,
}

#[utoipa::path(get, path = "/api/v1/people/{email}", tag = "privacy",
    params(("email" = String, Path, description = "The address")),
    responses((status = 200, description = "Everything held about the address", body = PersonExport)), security(("bearer" = [])))]
pub async fn export(_: Scoped<Admin>, state: State, PathEmail(email): PathEmail) -> ApiReply {
    let data = npsd_app::privacy::export(&state.app, &email).await?;
    let mut props: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    for (invitation, name, value) in data.properties {
        props
            .entry(invitation)
            .or_default()
            .insert(name, Value::String(value));
    }
    let mut web_props: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    for (response, name, value) in data.response_properties {
        web_props
            .entry(response)
            .or_default()
            .insert(name, Value::String(value));
    }
    let body = PersonExport {
        email: email.as_str().to_string(),
        person: data.person.map(|p| PersonRecordExport {
            id: p.id,
            name: p.name,
            created_at: timestamp(p.created_at),
        }),
        invitations: data
            .invitations
            .into_iter()
            .map(|(i, survey)| InvitationExport {
                properties: props.remove(i.id.as_str()).unwrap_or_default(),
                id: i.id.into_string(),
                survey,
                transaction_id: i.transaction_id,
                email: i.email,
                name: i.name,
                locale: i.locale,
                status: i.status.to_string(),
                reason: i.skip_reason.map(|r| r.to_string()).or(i.reason),
                send_at: timestamp(i.send_at),
                sent_at: i.sent_at.map(timestamp),
                created_at: timestamp(i.created_at),
            })
            .collect(),
        responses: data
            .responses
            .into_iter()
            .map(|(r, survey)| ResponseExport {
                properties: web_props.remove(r.id.as_str()).unwrap_or_default(),
                id: r.id.into_string(),
                survey,
                invitation_id: r.invitation_id.map(String::from),
                channel: r.channel.to_string(),
                email: r.email,
                name: r.name,
                customer_id: r.customer_id,
                page_url: r.page_url,
                verified: r.verified,
                score: r.score,
                comment: r.comment,
                status: r.status.to_string(),
                responded_at: timestamp(r.responded_at),
                submitted_at: r.submitted_at.map(timestamp),
            })
            .collect(),
        unsubscribes: data
            .unsubscribes
            .into_iter()
            .map(|(survey, source, at)| UnsubscribeExport {
                survey,
                source,
                created_at: timestamp(at),
            })
            .collect(),
        digest_lists: data.digest_lists,
        link_events: data
            .link_events
            .into_iter()
            .map(|(invitation_id, kind, score, at)| LinkEventExport {
                invitation_id,
                kind,
                score,
                created_at: timestamp(at),
            })
            .collect(),
        digest_deliveries: data
            .digest_deliveries
            .into_iter()
            .map(|d| DigestDeliveryExport {
                survey: d.survey,
                period_start: timestamp(d.period_start),
                period_end: timestamp(d.period_end),
                status: d.status.to_string(),
                attempts: d.attempts,
                created_at: timestamp(d.created_at),
                updated_at: timestamp(d.updated_at),
            })
            .collect(),
        suppression: data.suppression.map(|s| SuppressionExport {
            reason: s.reason.to_string(),
            created_at: timestamp(s.created_at),
        }),
    };
    Ok(HttpResponse::Ok().json(body))
}

#[derive(Serialize, ToSchema)]
pub struct ErasedView {
    erased: Erased,
}

#[utoipa::path(delete, path = "/api/v1/people/{email}", tag = "privacy",
    params(("email" = String, Path, description = "The address")),
    responses((status = 200, description = "Erased", body = ErasedView)), security(("bearer" = [])))]
pub async fn erase(_: Scoped<Admin>, state: State, PathEmail(email): PathEmail) -> ApiReply {
    let erased = npsd_app::privacy::erase(&state.app, email.key()).await?;
    Ok(HttpResponse::Ok().json(ErasedView { erased }))
}
