//! `POST /v1/unsubscribes` (`person_email`: no more survey emails from the key's survey),
//! `GET /v1/unsubscribes` (the survey's unsubscribes) and `GET /v1/bounces` (addresses
//! suppressed for a bounce), in numbered pages, oldest first.
use super::auth::Caller;
use super::params::Params;
use super::views::{unix, EventTime, PersonEventView, OK};
use super::{Reply, State};
use crate::domain::access::Scope;
use crate::domain::email::EmailAddress;
use crate::domain::ValidationError;
use crate::store::{answers, suppressions, unsubscribes};
use crate::store::{DbConn, StoreResult};
use actix_web::HttpResponse;
use chrono::NaiveDateTime;

pub async fn create(caller: Caller, state: State, params: Params) -> Reply {
    caller.need(Scope::Ingest)?;
    let email = match params.string("person_email")? {
        Some(e) => EmailAddress::parse("person_email", &e)?,
        None => return Err(ValidationError::new("person_email", "is required").into()),
    };
    npsd_app::people::unsubscribe(&state.app, caller.survey.id.clone(), email).await?;
    Ok(HttpResponse::Ok().json(OK))
}

/// Addresses with a time, as the API lists them: with their person where npsd has one.
fn events(
    conn: &mut DbConn,
    rows: Vec<(String, NaiveDateTime)>,
    at: fn(i64) -> EventTime,
) -> StoreResult<Vec<PersonEventView>> {
    let keys: Vec<String> = rows.iter().map(|(e, _)| e.to_lowercase()).collect();
    let people = answers::people_by_key(conn, &keys)?;
    Ok(rows
        .into_iter()
        .map(|(email, when)| {
            let person = people.get(&email.to_lowercase());
            PersonEventView {
                person_id: person.map(|p| p.id.clone()),
                email: person.map_or(email, |p| p.email.clone()),
                name: person.and_then(|p| p.name.clone()),
                at: at(unix(when)),
            }
        })
        .collect())
}

/// The survey's unsubscribes (the email's link, one-click, this API), oldest first.
pub async fn list(caller: Caller, state: State, params: Params) -> Reply {
    caller.need(Scope::Read)?;
    let (offset, limit) = params.page()?;
    let (since, until) = (params.unix_time("since")?, params.until("until")?);
    let survey_id = caller.survey.id.clone();
    let views = state
        .app
        .store
        .read(move |c| {
            let rows = unsubscribes::page(c, &survey_id, since, until, offset, limit)?;
            events(c, rows, EventTime::Unsubscribed)
        })
        .await?;
    Ok(HttpResponse::Ok().json(views))
}

/// Addresses suppressed for a bounce (on every survey), oldest first.
pub async fn bounces(caller: Caller, state: State, params: Params) -> Reply {
    caller.need(Scope::Read)?;
    let (offset, limit) = params.page()?;
    let (since, until) = (params.unix_time("since")?, params.until("until")?);
    let views = state
        .app
        .store
        .read(move |c| {
            let rows = suppressions::bounces(c, since, until, offset, limit)?;
            events(c, rows, EventTime::Bounced)
        })
        .await?;
    Ok(HttpResponse::Ok().json(views))
}
