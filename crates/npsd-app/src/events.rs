//! npsd's events as consumers see them (`GET /api/v1/events`, webhooks, alerts): the stored event
//! (written by the store's triggers in the transaction of its change) with the data a consumer
//! needs without calling back, read when it is shown or delivered: the response as it stands then
//! (score, category, comment, channel, person, properties, the link to its dashboard page), the
//! invitation, the address.
use crate::{App, ServiceError, ServiceResult};
use chrono::{NaiveDateTime, SecondsFormat};
use npsd_domain::score::Category;
use npsd_domain::ValidationError;
use npsd_store::events::{self, EventFilter, EventRow, Position};
use npsd_store::ids::{InvitationId, ResponseId, SurveyId};
use npsd_store::{responses, surveys, DbConn, StoreResult};
use serde::Serialize;
use serde_json::{json, Map, Value};
use std::collections::HashMap;

/// Every type of event, in the order the docs list them.
pub const TYPES: &[&str] = &[
    "response.created",
    "response.updated",
    "comment.added",
    "invitation.sent",
    "invitation.failed",
    "unsubscribe.created",
    "bounce.created",
    "person.erased",
];

/// How long events are kept by default (`NPSD_EVENTS_RETENTION_DAYS`).
pub const DEFAULT_RETENTION_DAYS: u32 = 30;

/// An event as it is shown and delivered.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Event {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// When the change happened, RFC 3339 in UTC.
    pub created_at: String,
    /// The survey's slug; null for bounces and erasures.
    pub survey: Option<String>,
    /// What a consumer needs without calling back: `response` (score, category, comment,
    /// status, channel, person, properties, links.dashboard) and for response.updated `previous`;
    /// `invitation`; `email` (and `source` for unsubscribes).
    #[schema(value_type = EventData)]
    pub data: Value,
    #[serde(skip)]
    #[schema(ignore)]
    pub position: Position,
    #[serde(skip)]
    #[schema(ignore)]
    pub survey_id: Option<String>,
    /// The answer it is about, for the events of an answer.
    #[serde(skip)]
    #[schema(ignore)]
    pub response: Option<ResponseFacts>,
}

/// What an event's `data` may hold, by type (for the OpenAPI document; the data is built as JSON
/// by [`render`]).
#[allow(dead_code)]
#[derive(utoipa::ToSchema)]
pub struct EventData {
    /// response.created, response.updated, comment.added: the answer as it stands when the event
    /// is shown or delivered (only its `id` once it is erased).
    response: Option<EventResponse>,
    /// response.updated: the score, comment and status before the change.
    previous: Option<EventPrevious>,
    /// invitation.sent, invitation.failed.
    invitation: Option<EventInvitation>,
    /// invitation.failed: why.
    reason: Option<String>,
    /// unsubscribe.created, bounce.created: the address.
    email: Option<String>,
    /// unsubscribe.created: link, one-click header or API.
    source: Option<String>,
    /// person.erased: the person's id, and the ids of their answers and invitations that earlier
    /// events carried (never the address).
    person_id: Option<String>,
    responses: Option<Vec<String>>,
    invitations: Option<Vec<String>>,
}

#[allow(dead_code)]
#[derive(utoipa::ToSchema)]
pub struct EventResponse {
    id: String,
    survey: Option<String>,
    score: Option<i32>,
    /// promoter, passive or detractor.
    category: Option<String>,
    comment: Option<String>,
    /// counted, or bot.
    status: Option<String>,
    status_reason: Option<String>,
    /// email, web, api or import.
    channel: Option<String>,
    person: Option<EventPerson>,
    transaction_id: Option<String>,
    page_url: Option<String>,
    verified: Option<bool>,
    properties: Option<std::collections::HashMap<String, String>>,
    responded_at: Option<String>,
    links: Option<EventLinks>,
}

#[allow(dead_code)]
#[derive(utoipa::ToSchema)]
pub struct EventPerson {
    id: Option<String>,
    email: Option<String>,
    name: Option<String>,
    customer_id: Option<String>,
}

#[allow(dead_code)]
#[derive(utoipa::ToSchema)]
pub struct EventLinks {
    /// The answer's page in the dashboard.
    dashboard: Option<String>,
}

#[allow(dead_code)]
#[derive(utoipa::ToSchema)]
pub struct EventPrevious {
    score: Option<i32>,
    comment: Option<String>,
    status: Option<String>,
}

#[allow(dead_code)]
#[derive(utoipa::ToSchema)]
pub struct EventInvitation {
    id: String,
    transaction_id: Option<String>,
    email: Option<String>,
    name: Option<String>,
    status: Option<String>,
    sent_at: Option<String>,
    reason: Option<String>,
}

/// What an alert rule looks at in an answer.
#[derive(Debug, Clone)]
pub struct ResponseFacts {
    pub id: String,
    pub score: i32,
    pub counted: bool,
    pub has_comment: bool,
    pub channel: String,
    pub properties: Vec<(String, String)>,
}

pub fn timestamp(t: NaiveDateTime) -> String {
    t.and_utc().to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Reads a list of event types (`?type=`, a webhook's `events`): every one must be known.
pub fn parse_types(field: &str, raw: &[String]) -> Result<Vec<String>, ValidationError> {
    let mut out: Vec<String> = Vec::new();
    for t in raw.iter().flat_map(|t| t.split(',')) {
        let t = t.trim();
        if t.is_empty() {
            continue;
        }
        if !TYPES.contains(&t) {
            return Err(ValidationError::new(
                field,
                format!(
                    "'{t}' is not an event type; use one of {}",
                    TYPES.join(", ")
                ),
            ));
        }
        if !out.iter().any(|o| o == t) {
            out.push(t.to_string());
        }
    }
    Ok(out)
}

/// The events shown from the stored rows, read in one connection.
pub fn render(conn: &mut DbConn, rows: &[EventRow], public_url: &str) -> StoreResult<Vec<Event>> {
    let mut slugs: HashMap<String, Option<String>> = HashMap::new();
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let slug = match &row.survey_id {
            None => None,
            Some(id) => match slugs.get(id) {
                Some(s) => s.clone(),
                None => {
                    let s =
                        surveys::find_by_id_opt(conn, &SurveyId::from(id.clone()))?.map(|s| s.slug);
                    slugs.insert(id.clone(), s.clone());
                    s
                }
            },
        };
        let stored: Map<String, Value> = serde_json::from_str(&row.data).unwrap_or_default();
        let mut data = Map::new();
        let mut facts = None;
        match row.kind.split('.').next() {
            Some("response") | Some("comment") => {
                let (response, f) = response_data(conn, row, slug.as_deref(), public_url)?;
                data.insert("response".into(), response);
                facts = f;
                if let Some(previous) = stored.get("previous") {
                    data.insert("previous".into(), previous.clone());
                }
            }
            Some("invitation") => {
                data.insert("invitation".into(), invitation_data(conn, row)?);
                if let Some(reason) = stored.get("reason") {
                    data.insert("reason".into(), reason.clone());
                }
            }
            _ => {
                if matches!(row.kind.as_str(), "unsubscribe.created" | "bounce.created") {
                    if let Some(email) = &row.subject_id {
                        data.insert("email".into(), Value::String(email.clone()));
                    }
                }
                for (k, v) in stored {
                    data.insert(k, v);
                }
            }
        }
        out.push(Event {
            id: row.id(),
            kind: row.kind.clone(),
            created_at: timestamp(row.occurred_at),
            survey: slug,
            data: Value::Object(data),
            position: row.position(),
            survey_id: row.survey_id.clone(),
            response: facts,
        });
    }
    Ok(out)
}

fn response_data(
    conn: &mut DbConn,
    row: &EventRow,
    slug: Option<&str>,
    public_url: &str,
) -> StoreResult<(Value, Option<ResponseFacts>)> {
    let (Some(id), Some(survey_id)) = (&row.subject_id, &row.survey_id) else {
        return Ok((Value::Null, None));
    };
    let found = responses::one(
        conn,
        &SurveyId::from(survey_id.clone()),
        &ResponseId::from(id.clone()),
    )?;
    let Some(r) = found.first() else {
        // Gone since (erased, or its survey deleted): the id is all there is.
        return Ok((json!({ "id": id }), None));
    };
    let props = responses::properties_of_comments(conn, std::slice::from_ref(r))?
        .remove(&r.response_id.to_string())
        .unwrap_or_default();
    let mut properties = Map::new();
    for (k, v) in &props {
        properties.insert(k.clone(), Value::String(v.clone()));
    }
    let dashboard = slug.map(|s| format!("{public_url}/dashboard/{s}/responses/{id}"));
    let person_id = match r.email() {
        Some(e) => npsd_store::people::find_by_key(conn, &e.to_lowercase())?.map(|p| p.id),
        None => None,
    };
    let value = json!({
        "id": id,
        "survey": slug,
        "score": r.score,
        "category": Category::of(r.score).as_str(),
        "comment": r.comment,
        "status": r.status.as_str(),
        "status_reason": r.status_reason,
        "channel": r.channel.as_str(),
        "person": {
            "id": person_id,
            "email": r.email(),
            "name": r.name(),
            "customer_id": r.customer_id,
        },
        "transaction_id": r.transaction_id,
        "page_url": r.page_url,
        "verified": r.verified,
        "properties": properties,
        "responded_at": timestamp(r.responded_at),
        "links": { "dashboard": dashboard },
    });
    let facts = ResponseFacts {
        id: id.clone(),
        score: r.score,
        counted: r.status == npsd_store::state::ResponseStatus::Counted,
        has_comment: r.comment.as_deref().is_some_and(|c| !c.trim().is_empty()),
        channel: r.channel.as_str().to_string(),
        properties: props,
    };
    Ok((value, Some(facts)))
}

fn invitation_data(conn: &mut DbConn, row: &EventRow) -> StoreResult<Value> {
    let Some(id) = &row.subject_id else {
        return Ok(Value::Null);
    };
    let Some(i) = npsd_store::invitations::find_opt(conn, &InvitationId::from(id.clone()))? else {
        return Ok(json!({ "id": id }));
    };
    Ok(json!({
        "id": id,
        "transaction_id": i.transaction_id,
        "email": i.email,
        "name": i.name,
        "status": i.status.as_str(),
        "sent_at": i.sent_at.map(timestamp),
        "reason": i.why_not_sent(),
    }))
}

/// A page of events for a consumer that polls.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EventsPage {
    pub events: Vec<Event>,
    /// Pass as `after` for the next page; the same cursor when nothing new came.
    pub next_cursor: String,
    /// Whether more events are waiting already.
    pub has_more: bool,
}

/// The events after `after` (from the oldest kept when None), of the given types, oldest first.
pub async fn list(
    app: &App,
    after: Option<String>,
    types: Vec<String>,
    survey: Option<String>,
    limit: i64,
) -> ServiceResult<EventsPage> {
    let start = match after.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
        None => Position::default(),
        Some(raw) => Position::from_cursor(raw).ok_or_else(|| {
            ServiceError::Invalid(ValidationError::new(
                "after",
                "not a cursor of this list; pass the next_cursor of an earlier page",
            ))
        })?,
    };
    let public_url = app.public_url.clone();
    app.read(move |c, _| {
        let survey_id = match &survey {
            None => None,
            Some(slug) => match surveys::find_by_slug(c, slug)? {
                Some(s) => Some(s.id.to_string()),
                None => return Ok(Err(slug.clone())),
            },
        };
        let filter = EventFilter { types, survey_id };
        let read = events::after(c, start, &filter, limit, limit.max(1) * 20)?;
        let events = render(c, &read.rows, &public_url)?;
        Ok(Ok(EventsPage {
            events,
            next_cursor: read.reached.unwrap_or(start).to_cursor(),
            has_more: read.more,
        }))
    })
    .await?
    .map_err(|slug| ServiceError::NotFound(format!("no survey '{slug}'")))
}
