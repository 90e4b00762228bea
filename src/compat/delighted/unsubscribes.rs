//! `POST /v1/unsubscribes` (`person_email`: no more survey emails from the key's survey),
//! `GET /v1/unsubscribes` (the survey's unsubscribes) and `GET /v1/bounces` (addresses
//! suppressed for a bounce), in numbered pages, oldest first.
use super::auth::Caller;
use super::error::DelightedResult;
use super::params::Params;
use super::views::{unix, BounceView, UnsubscribeView, OK};
use crate::domain::access::Scope;
use crate::domain::email::EmailAddress;
use crate::domain::ValidationError;
use crate::http::AppState;
use crate::store::people::NameRule;
use crate::store::{answers, people, suppressions, unsubscribes};
use actix_web::{web, HttpResponse};

pub async fn create(
    caller: Caller,
    state: web::Data<AppState>,
    params: Params,
) -> DelightedResult<HttpResponse> {
    caller.need(Scope::Ingest)?;
    let email = match params.string("person_email")? {
        Some(e) => EmailAddress::parse("person_email", &e)?,
        None => return Err(ValidationError::new("person_email", "is required").into()),
    };
    let survey_id = caller.survey.id.clone();
    let now = state.clock.now();
    state
        .store
        .write(move |c| {
            people::ensure(c, &email, None, NameRule::FillIn, now)?;
            unsubscribes::add(c, &survey_id, &email.key(), "api", now)
        })
        .await?;
    Ok(HttpResponse::Ok().json(OK))
}

pub async fn list(
    caller: Caller,
    state: web::Data<AppState>,
    params: Params,
) -> DelightedResult<HttpResponse> {
    caller.need(Scope::Read)?;
    let (offset, limit) = params.page()?;
    let (since, until) = (params.unix_time("since")?, params.until("until")?);
    let survey_id = caller.survey.id.clone();
    let (rows, people) = state
        .store
        .read(move |c| {
            let rows = unsubscribes::page(c, &survey_id, since, until, offset, limit)?;
            let keys: Vec<String> = rows.iter().map(|(k, _)| k.clone()).collect();
            Ok((rows, answers::people_by_key(c, &keys)?))
        })
        .await?;
    let views: Vec<UnsubscribeView> = rows
        .into_iter()
        .map(|(key, at)| {
            let person = people.get(&key);
            UnsubscribeView {
                person_id: person.map(|p| p.id.clone()),
                email: person.map_or(key.clone(), |p| p.email.clone()),
                name: person.and_then(|p| p.name.clone()),
                unsubscribed_at: unix(at),
            }
        })
        .collect();
    Ok(HttpResponse::Ok().json(views))
}

pub async fn bounces(
    caller: Caller,
    state: web::Data<AppState>,
    params: Params,
) -> DelightedResult<HttpResponse> {
    caller.need(Scope::Read)?;
    let (offset, limit) = params.page()?;
    let (since, until) = (params.unix_time("since")?, params.until("until")?);
    let (rows, people) = state
        .store
        .read(move |c| {
            let rows = suppressions::bounces(c, since, until, offset, limit)?;
            let keys: Vec<String> = rows.iter().map(|(e, _)| e.to_lowercase()).collect();
            Ok((rows, answers::people_by_key(c, &keys)?))
        })
        .await?;
    let views: Vec<BounceView> = rows
        .into_iter()
        .map(|(email, at)| {
            let person = people.get(&email.to_lowercase());
            BounceView {
                person_id: person.map(|p| p.id.clone()),
                name: person.and_then(|p| p.name.clone()),
                email,
                bounced_at: unix(at),
            }
        })
        .collect();
    Ok(HttpResponse::Ok().json(views))
}
