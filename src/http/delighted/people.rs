//! People: `POST /v1/people` (a transaction for the person, or only the person with
//! `send: false`), `GET /v1/people` (cursor pages with an absolute `Link: rel="next"`),
//! `DELETE /v1/people/{id | email:ADDR}` (the erase of `DELETE /api/v1/people/{email}`) and
//! `DELETE /v1/people/{email}/survey_requests/pending`.
use super::auth::Caller;
use super::error::{DelightedError, DelightedResult};
use super::params::Params;
use super::views::{properties, unix, CreatedPerson, PersonView, OK};
use super::{Reply, State};
use crate::domain::access::Scope;
use crate::domain::email::EmailAddress;
use crate::domain::survey::{parse_locale, MAX_DELAY_SECONDS};
use crate::domain::transaction::{parse_properties, NewTransaction};
use crate::domain::ValidationError;
use crate::http::AppState;
use crate::store::ids::SurveyId;
use crate::store::people::{self, PeopleQuery, PersonRow};
use crate::store::state::InvitationStatus;
use crate::store::{answers, new_id};
use crate::store::{DbConn, StoreResult};
use actix_web::{HttpRequest, HttpResponse};
use base64::Engine;

/// A path segment as sent: percent-decoded in full, without Delighted's optional `.json`.
pub fn path_part(req: &HttpRequest, name: &str) -> Result<String, DelightedError> {
    let raw = req.match_info().get(name).unwrap_or("");
    let raw = raw.strip_suffix(".json").unwrap_or(raw);
    percent_encoding::percent_decode_str(raw)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| ValidationError::new(name, "is not valid UTF-8").into())
}

/// The id a request names: in the path, or in the body (Node's client sends `PUT /v1/people` and
/// `PUT /v1/survey_responses` with the id only there).
pub fn path_or_body_id(
    req: &HttpRequest,
    params: &Params,
    path_name: &str,
) -> Result<String, DelightedError> {
    match req.match_info().get(path_name) {
        Some(_) => path_part(req, path_name),
        None => params
            .string("id")?
            .ok_or_else(|| ValidationError::new("id", "is required").into()),
    }
}

/// People as the API shows them, with what happened to them on the survey.
pub fn person_views(
    conn: &mut DbConn,
    survey_id: &SurveyId,
    rows: &[PersonRow],
) -> StoreResult<Vec<PersonView>> {
    let keys: Vec<String> = rows.iter().map(|p| p.email_key.clone()).collect();
    let activity = answers::activity(conn, survey_id, &keys)?;
    Ok(rows
        .iter()
        .map(|p| PersonView::new(p, activity.get(&p.email_key)))
        .collect())
}

fn email_param(params: &Params, field: &str) -> Result<EmailAddress, ValidationError> {
    match params.string(field)? {
        Some(raw) => EmailAddress::parse(field, &raw),
        None if params.get("phone_number").is_some() => Err(ValidationError::new(
            field,
            "is required: npsd surveys by email only, not by SMS",
        )),
        None => Err(ValidationError::new(field, "is required")),
    }
}

/// The transaction a `POST /v1/people` stands for; npsd makes its id (Delighted's API has none).
fn transaction(params: &Params, survey_slug: &str) -> Result<NewTransaction, ValidationError> {
    if let Some(channel) = params.string("channel")? {
        if !channel.eq_ignore_ascii_case("email") {
            return Err(ValidationError::new(
                "channel",
                "must be email: npsd surveys by email only",
            ));
        }
    }
    let email = email_param(params, "email")?;
    let name = crate::domain::one_line("name", params.string("name")?, 200)?;
    let locale = params
        .string("locale")?
        .map(|l| parse_locale("locale", &l))
        .transpose()?;
    let properties = match params.object("properties")? {
        Some(map) => parse_properties(map)?,
        None => Vec::new(),
    };
    let delay_seconds = params
        .integer("delay")?
        .map(|d| {
            if (0..=MAX_DELAY_SECONDS).contains(&d) {
                Ok(d)
            } else {
                Err(ValidationError::new(
                    "delay",
                    "must be a whole number of seconds from 0 to 31536000",
                ))
            }
        })
        .transpose()?;
    Ok(NewTransaction {
        transaction_id: format!("delighted-{}", new_id()),
        email,
        name,
        survey: survey_slug.to_string(),
        locale,
        properties,
        delay_seconds,
    })
}

pub async fn create(caller: Caller, state: State, params: Params) -> Reply {
    caller.need(Scope::Ingest)?;
    let tx = transaction(&params, &caller.survey.slug)?;
    let send = params.boolean("send")?.unwrap_or(true);
    let (person, invitation) =
        npsd_app::people::upsert_and_survey(&state.app, caller.survey.clone(), tx.clone(), send)
            .await?;
    let scheduled = invitation.filter(|i| i.status == InvitationStatus::Scheduled);
    Ok(HttpResponse::Ok().json(CreatedPerson {
        id: person.id,
        email: person.email,
        name: person.name,
        survey_scheduled_at: scheduled.map(|i| unix(i.send_at)),
        properties: properties(&tx.properties),
    }))
}

pub async fn list(caller: Caller, state: State, params: Params) -> Reply {
    caller.need(Scope::Read)?;
    let per_page = params.per_page()?;
    // Nobody has a phone number here.
    if params.string("phone_number")?.is_some() {
        return Ok(HttpResponse::Ok().json(Vec::<PersonView>::new()));
    }
    let after = params
        .string("page_info")?
        .map(|c| decode_page_info(&c))
        .transpose()?;
    let email_key = params
        .string("email")?
        .map(|e| EmailAddress::parse("email", &e).map(|e| e.key()))
        .transpose()?;
    let q = PeopleQuery {
        since: params.unix_time("since")?,
        until: params.until("until")?,
        email_key,
        after,
        limit: per_page + 1,
    };
    let survey_id = caller.survey.id.clone();
    let mut views = state
        .app
        .store
        .read(move |c| {
            let rows = people::list(c, &q)?;
            person_views(c, &survey_id, &rows)
        })
        .await?;
    let mut res = HttpResponse::Ok();
    if views.len() as i64 > per_page {
        views.truncate(per_page as usize);
        if let Some(last) = views.last() {
            res.insert_header((
                "Link",
                next_link(
                    &state.app.public_url,
                    &params,
                    per_page,
                    &encode_page_info(&last.id),
                ),
            ));
        }
    }
    Ok(res.json(views))
}

/// The `page_info` of the page after this person: their id, opaque to clients.
fn encode_page_info(id: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(id)
}

fn decode_page_info(raw: &str) -> Result<String, ValidationError> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(raw.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .filter(|id| !id.is_empty() && id.len() <= 64 && id.chars().all(|c| c.is_ascii_graphic()))
        .ok_or_else(|| ValidationError::new("page_info", "is not a cursor this API gave"))
}

/// `<{public_url}/v1/people?...&page_info=CURSOR>; rel="next"`, absolute (Node's client joins a
/// relative one onto its base path), with the request's filters kept.
fn next_link(public_url: &str, params: &Params, per_page: i64, cursor: &str) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query.append_pair("per_page", &per_page.to_string());
    for field in ["since", "until", "email"] {
        if let Ok(Some(v)) = params.string(field) {
            query.append_pair(field, &v);
        }
    }
    query.append_pair("page_info", cursor);
    format!("<{public_url}/v1/people?{}>; rel=\"next\"", query.finish())
}

/// The lower-cased address a `{id}`, `email:ADDR` or `ADDR` path names (the clients send the bare
/// address for pending survey requests; an id never holds an `@`); 404 for an unknown id.
async fn address_of(state: &AppState, target: &str) -> DelightedResult<String> {
    if let Some(email) = target.strip_prefix("email:") {
        return Ok(EmailAddress::parse("email", email)?.key());
    }
    if target.contains('@') {
        return Ok(EmailAddress::parse("email", target)?.key());
    }
    if target.starts_with("phone_number:") {
        return Err(DelightedError::not_found(
            "no person with this phone number: npsd keeps none",
        ));
    }
    let id = target.to_string();
    let found = state.app.store.read(move |c| people::find(c, &id)).await?;
    found
        .map(|p| p.email_key)
        .ok_or_else(|| DelightedError::not_found(format!("no person with id '{target}'")))
}

/// `GET /v1/people/{id | email:ADDR}`: one person (Node's client has `person.retrieve`).
pub async fn get(caller: Caller, state: State, req: HttpRequest) -> Reply {
    caller.need(Scope::Read)?;
    let target = path_part(&req, "person")?;
    let key = address_of(&state, &target).await?;
    let survey_id = caller.survey.id.clone();
    let found = state
        .app
        .store
        .read(move |c| {
            let person = people::find_by_key(c, &key)?;
            Ok(person_views(c, &survey_id, person.as_slice())?.pop())
        })
        .await?;
    let view = found.ok_or_else(|| DelightedError::not_found(format!("no person '{target}'")))?;
    Ok(HttpResponse::Ok().json(view))
}

/// `PUT /v1/people/{id}` (and Node's `person.save()`, `PUT /v1/people` with the id in the body):
/// a new name. An address cannot change: a new address is a new person.
pub async fn update(caller: Caller, state: State, params: Params, req: HttpRequest) -> Reply {
    caller.need(Scope::Ingest)?;
    let target = path_or_body_id(&req, &params, "person")?;
    let key = address_of(&state, &target).await?;
    let email = params
        .string("email")?
        .map(|e| EmailAddress::parse("email", &e))
        .transpose()?;
    if email.as_ref().is_some_and(|e| e.key() != key) {
        return Err(ValidationError::new(
            "email",
            "cannot change: a new address is a new person (POST /v1/people)",
        )
        .into());
    }
    let name = crate::domain::one_line("name", params.string("name")?, 200)?;
    if let Some(name) = name {
        npsd_app::people::rename(&state.app, key.clone(), name).await?;
    }
    let survey_id = caller.survey.id.clone();
    let found = state
        .app
        .store
        .read(move |c| {
            let person = people::find_by_key(c, &key)?;
            Ok(person_views(c, &survey_id, person.as_slice())?.pop())
        })
        .await?;
    let view = found.ok_or_else(|| DelightedError::not_found(format!("no person '{target}'")))?;
    Ok(HttpResponse::Ok().json(view))
}

pub async fn delete(caller: Caller, state: State, req: HttpRequest) -> Reply {
    caller.need(Scope::Admin)?;
    let target = path_part(&req, "person")?;
    let key = address_of(&state, &target).await?;
    npsd_app::privacy::erase(&state.app, key).await?;
    Ok(HttpResponse::Accepted().json(OK))
}

pub async fn delete_pending(caller: Caller, state: State, req: HttpRequest) -> Reply {
    caller.need(Scope::Ingest)?;
    let target = path_part(&req, "person")?;
    let key = address_of(&state, &target).await?;
    let cancelled =
        npsd_app::invitations::cancel_pending(&state.app, caller.survey.id.clone(), key).await?;
    tracing::info!(
        cancelled,
        "pending survey requests cancelled (Delighted-compatible API)"
    );
    Ok(HttpResponse::Ok().json(OK))
}
