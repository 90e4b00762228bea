//! Survey responses: `GET /v1/survey_responses` (numbered pages), `POST` (an answer given
//! elsewhere, channel `api`), and `GET`/`PUT /v1/survey_responses/{id}`. Every answer of the
//! key's survey is listed, whichever way it came in; scanners' visits are not.
use super::auth::Caller;
use super::error::{DelightedError, DelightedResult};
use super::params::Params;
use super::people::{path_or_body_id, path_part, person_views};
use super::views::{unix, PersonRef, PersonView, SurveyResponseView};
use super::{Reply, State};
use crate::domain::access::Scope;
use crate::domain::email::EmailAddress;
use crate::domain::score::Score;
use crate::domain::transaction::parse_properties;
use crate::domain::ValidationError;
use crate::http::AppState;
use crate::store::answers::{self, Answer, AnswerChange, AnswerQuery};
use crate::store::ids::{ResponseId, SurveyId};
use crate::store::people::PersonRow;
use crate::store::state::Channel;
use crate::store::surveys::{self, SurveyRow};
use crate::store::{people, DbConn, StoreResult};
use actix_web::{HttpRequest, HttpResponse};
use chrono::NaiveDateTime;
use npsd_app::answers::ApiAnswer;
use std::collections::HashMap;

/// The survey a request reads: the key's, or the one `trend` names (by slug or id). Delighted's
/// trends are saved segments of one account; npsd's surveys are its separate streams of answers.
pub async fn survey_of(
    state: &AppState,
    caller: &Caller,
    params: &Params,
) -> DelightedResult<SurveyRow> {
    let Some(trend) = params.string("trend")? else {
        return Ok(caller.survey.clone());
    };
    let lookup = trend.clone();
    let found = state
        .app
        .store
        .read(move |c| {
            Ok(match surveys::find_by_slug(c, &lookup)? {
                Some(s) => Some(s),
                None => surveys::find_by_id_opt(c, &SurveyId::from(lookup.as_str()))?,
            })
        })
        .await?;
    found.ok_or_else(|| {
        ValidationError::new("trend", format!("no survey with slug or id '{trend}'")).into()
    })
}

/// Answers as Delighted shows them, with their people (as ids, or whole with `expand`).
fn views(
    conn: &mut DbConn,
    survey: &SurveyRow,
    public_url: &str,
    rows: &[Answer],
    expand: bool,
) -> StoreResult<Vec<SurveyResponseView>> {
    let keys: Vec<String> = rows.iter().filter_map(|a| a.email_key.clone()).collect();
    let people = answers::people_by_key(conn, &keys)?;
    let mut expanded: HashMap<String, PersonView> = HashMap::new();
    if expand {
        let found: Vec<PersonRow> = people.values().cloned().collect();
        for (p, view) in found.iter().zip(person_views(conn, &survey.id, &found)?) {
            expanded.insert(p.email_key.clone(), view);
        }
    }
    Ok(rows
        .iter()
        .map(|a| {
            let key = a.email_key.as_ref();
            let person = match key.and_then(|k| expanded.get(k)) {
                Some(view) => PersonRef::Expanded(view.clone()),
                None => PersonRef::Id(key.and_then(|k| people.get(k)).map(|p| p.id.clone())),
            };
            let permalink = format!("{public_url}/dashboard/{}/responses/{}", survey.slug, a.id);
            SurveyResponseView::new(a, person, permalink)
        })
        .collect())
}

pub async fn list(caller: Caller, state: State, params: Params) -> Reply {
    caller.need(Scope::Read)?;
    let survey = survey_of(&state, &caller, &params).await?;
    let (offset, limit) = params.page()?;
    let newest_first = match params.string("order")?.as_deref() {
        None | Some("asc") => false,
        Some("desc") => true,
        Some(_) => return Err(ValidationError::new("order", "must be asc or desc").into()),
    };
    let person_id = params.string("person_id")?;
    let person_email = params
        .string("person_email")?
        .map(|e| EmailAddress::parse("person_email", &e).map(|e| e.key()))
        .transpose()?;
    let mut q = AnswerQuery {
        survey_id: survey.id.clone(),
        since: params.unix_time("since")?,
        until: params.until("until")?,
        updated_since: params.unix_time("updated_since")?,
        updated_until: params.until("updated_until")?,
        email_key: person_email,
        newest_first,
        offset,
        limit,
    };
    let expand = params.expands("person");
    let public_url = state.app.public_url.clone();
    let out = state
        .app
        .store
        .read(move |c| {
            if let Some(id) = &person_id {
                match people::find(c, id)? {
                    Some(p) if q.email_key.as_ref().is_none_or(|k| *k == p.email_key) => {
                        q.email_key = Some(p.email_key)
                    }
                    // An unknown person (or one that is not this address) has no answers.
                    _ => return Ok(Vec::new()),
                }
            }
            let rows = answers::list(c, &q)?;
            views(c, &survey, &public_url, &rows, expand)
        })
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

async fn one(
    state: &AppState,
    survey: SurveyRow,
    id: String,
    expand: bool,
) -> DelightedResult<SurveyResponseView> {
    let public_url = state.app.public_url.clone();
    let lookup = ResponseId::from(id.as_str());
    let found = state
        .app
        .store
        .read(move |c| match answers::find(c, &survey.id, &lookup)? {
            Some(a) => Ok(views(c, &survey, &public_url, &[a], expand)?.pop()),
            None => Ok(None),
        })
        .await?;
    found.ok_or_else(|| DelightedError::not_found(format!("no survey response with id '{id}'")))
}

pub async fn get(caller: Caller, state: State, params: Params, req: HttpRequest) -> Reply {
    caller.need(Scope::Read)?;
    let id = path_part(&req, "id")?;
    let survey = survey_of(&state, &caller, &params).await?;
    let view = one(&state, survey, id, params.expands("person")).await?;
    Ok(HttpResponse::Ok().json(view))
}

fn score_param(params: &Params) -> Result<Option<Score>, ValidationError> {
    params
        .integer("score")?
        .map(|s| {
            Score::new(s)
                .ok_or_else(|| ValidationError::new("score", "must be a whole number from 0 to 10"))
        })
        .transpose()
}

fn comment_param(params: &Params) -> Result<Option<String>, ValidationError> {
    let comment = params.string("comment")?;
    if comment.as_ref().is_some_and(|c| c.chars().count() > 5000) {
        return Err(ValidationError::new(
            "comment",
            "must be at most 5000 characters",
        ));
    }
    Ok(comment)
}

fn properties_param(params: &Params) -> Result<Option<Vec<(String, String)>>, ValidationError> {
    params
        .object("person_properties")?
        .map(|m| {
            parse_properties(m).map_err(|e| {
                ValidationError::new(
                    e.field.replacen("properties", "person_properties", 1),
                    e.message,
                )
            })
        })
        .transpose()
}

/// `created_at`: when the answer was given; not in the future.
fn time_param(
    params: &Params,
    now: NaiveDateTime,
) -> Result<Option<NaiveDateTime>, ValidationError> {
    match params.unix_time("created_at")? {
        Some(t) if t > now + chrono::Duration::minutes(5) => Err(ValidationError::new(
            "created_at",
            "must not be in the future",
        )),
        t => Ok(t),
    }
}

pub async fn create(caller: Caller, state: State, params: Params) -> Reply {
    caller.need(Scope::Ingest)?;
    let person_id = params
        .string("person")?
        .ok_or_else(|| ValidationError::new("person", "is required: the id of a person"))?;
    let score =
        score_param(&params)?.ok_or_else(|| ValidationError::new("score", "is required"))?;
    let comment = comment_param(&params)?;
    let properties = properties_param(&params)?.unwrap_or_default();
    let now = state.app.clock.now();
    let responded_at = time_param(&params, now)?.unwrap_or(now);
    let answer = ApiAnswer {
        score,
        comment,
        responded_at,
        properties,
    };
    let added =
        npsd_app::answers::by_api(&state.app, caller.survey.id.clone(), person_id, answer).await?;
    let Some(id) = added else {
        return Err(ValidationError::new("person", "no person with this id").into());
    };
    let view = one(
        &state,
        caller.survey.clone(),
        id.into_string(),
        params.expands("person"),
    )
    .await?;
    Ok(HttpResponse::Created().json(view))
}

pub async fn update(caller: Caller, state: State, params: Params, req: HttpRequest) -> Reply {
    caller.need(Scope::Ingest)?;
    // Node's client sends `PUT /v1/survey_responses` with the id in the body only.
    let id = path_or_body_id(&req, &params, "id")?;
    let current = npsd_app::answers::find(&state.app, caller.survey.id.clone(), id.as_str().into())
        .await?
        .ok_or_else(|| DelightedError::not_found(format!("no survey response with id '{id}'")))?;
    // What the API added, an ingest key may change; a customer's own answer (by email link or
    // the web form) only an admin key, as with npsd's own restore and discard.
    if current.channel != Channel::Api {
        caller.need(Scope::Admin)?;
    }
    let now = state.app.clock.now();
    // The clients send the whole object back: a `created_at` equal to the one shown (whole
    // seconds) is no change.
    let responded_at = time_param(&params, now)?.filter(|t| unix(*t) != unix(current.responded_at));
    let change = AnswerChange {
        score: score_param(&params)?,
        // A null comment sent back clears it.
        comment: params
            .0
            .contains_key("comment")
            .then(|| comment_param(&params))
            .transpose()?,
        responded_at,
        properties: properties_param(&params)?,
    };
    let changed = npsd_app::answers::change(
        &state.app,
        caller.survey.id.clone(),
        id.as_str().into(),
        change,
    )
    .await?;
    if changed.is_none() {
        return Err(DelightedError::not_found(format!(
            "no survey response with id '{id}'"
        )));
    }
    let view = one(&state, caller.survey.clone(), id, params.expands("person")).await?;
    Ok(HttpResponse::Ok().json(view))
}
