//! Answers by id, outside the email link and the embedded form: listed, added and changed through
//! the Delighted-compatible API, and added by the history import. They live in `responses` like
//! every other answer (channel `api` or `import`), so every report counts them.
use super::people::PersonRow;
use super::schema::{invitations, responses};
use super::{is_unique_violation, DbConn, StoreResult};
use crate::ids::{ResponseId, SurveyId};
use crate::state::{Channel, InvitationStatus, ResponseStatus};
use chrono::NaiveDateTime;
use diesel::dsl::{max, min};
use diesel::prelude::*;
use npsd_domain::email::EmailAddress;
use npsd_domain::score::Score;
use std::collections::HashMap;

/// One answer as the API shows it: who gave it (the lower-cased address, when known), what and
/// when, and its properties.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub id: ResponseId,
    pub email_key: Option<String>,
    pub score: i32,
    pub comment: Option<String>,
    pub responded_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub channel: Channel,
    pub properties: Vec<(String, String)>,
}

type AnswerColumns = (
    responses::id,
    responses::email_key,
    diesel::helper_types::Nullable<invitations::email_key>,
    responses::score,
    responses::comment,
    responses::responded_at,
    responses::updated_at,
    responses::channel,
);

fn answer_columns() -> AnswerColumns {
    (
        responses::id,
        responses::email_key,
        invitations::email_key.nullable(),
        responses::score,
        responses::comment,
        responses::responded_at,
        responses::updated_at,
        responses::channel,
    )
}

type AnswerTuple = (
    String,
    Option<String>,
    Option<String>,
    i32,
    Option<String>,
    NaiveDateTime,
    NaiveDateTime,
    Channel,
);

fn with_properties(conn: &mut DbConn, rows: Vec<AnswerTuple>) -> StoreResult<Vec<Answer>> {
    let ids: Vec<String> = rows.iter().map(|r| r.0.clone()).collect();
    let mut props: HashMap<String, Vec<(String, String)>> = HashMap::new();
    for chunk in ids.chunks(500) {
        for (id, name, value) in super::responses::properties_of(conn, chunk)? {
            props.entry(id).or_default().push((name, value));
        }
    }
    Ok(rows
        .into_iter()
        .map(
            |(id, web_key, invitation_key, score, comment, responded_at, updated_at, channel)| {
                let mut properties = props.remove(&id).unwrap_or_default();
                properties.sort();
                Answer {
                    email_key: invitation_key.or(web_key),
                    id: ResponseId::from(id),
                    score,
                    comment,
                    responded_at,
                    updated_at,
                    channel,
                    properties,
                }
            },
        )
        .collect())
}

/// Which answers a list shows.
#[derive(Debug, Clone, Default)]
pub struct AnswerQuery {
    pub survey_id: SurveyId,
    /// From this instant on.
    pub since: Option<NaiveDateTime>,
    /// Before this instant (the API's inclusive second, plus one).
    pub until: Option<NaiveDateTime>,
    pub updated_since: Option<NaiveDateTime>,
    /// Before this instant.
    pub updated_until: Option<NaiveDateTime>,
    /// Only this person's answers (lower-cased address).
    pub email_key: Option<String>,
    pub newest_first: bool,
    pub offset: i64,
    pub limit: i64,
}

/// Counted answers of a survey (scanners' visits left out), by time given, then id.
pub fn list(conn: &mut DbConn, q: &AnswerQuery) -> StoreResult<Vec<Answer>> {
    let mut query = responses::table
        .left_join(invitations::table)
        .filter(responses::survey_id.eq(q.survey_id.clone()))
        .filter(responses::status.eq(ResponseStatus::Counted))
        .into_boxed();
    if let Some(t) = q.since {
        query = query.filter(responses::responded_at.ge(t));
    }
    if let Some(t) = q.until {
        query = query.filter(responses::responded_at.lt(t));
    }
    if let Some(t) = q.updated_since {
        query = query.filter(responses::updated_at.ge(t));
    }
    if let Some(t) = q.updated_until {
        query = query.filter(responses::updated_at.lt(t));
    }
    if let Some(key) = &q.email_key {
        query = query.filter(
            responses::email_key
                .eq(key.clone())
                .or(invitations::email_key.eq(key.clone())),
        );
    }
    query = if q.newest_first {
        query.order((responses::responded_at.desc(), responses::id.desc()))
    } else {
        query.order((responses::responded_at.asc(), responses::id.asc()))
    };
    let rows: Vec<AnswerTuple> = query
        .offset(q.offset)
        .limit(q.limit)
        .select(answer_columns())
        .load(conn)?;
    with_properties(conn, rows)
}

/// One counted answer of a survey.
pub fn find(
    conn: &mut DbConn,
    survey_id: &SurveyId,
    id: &ResponseId,
) -> StoreResult<Option<Answer>> {
    let row: Option<AnswerTuple> = responses::table
        .left_join(invitations::table)
        .filter(responses::survey_id.eq(survey_id))
        .filter(responses::id.eq(id))
        .filter(responses::status.eq(ResponseStatus::Counted))
        .select(answer_columns())
        .get_result(conn)
        .optional()?;
    Ok(with_properties(conn, row.into_iter().collect())?.pop())
}

/// An answer to add: through the API (a fresh id) or from an import (an id made from the source
/// row, so importing the same file twice adds nothing).
#[derive(Debug, Clone)]
pub struct NewAnswer {
    pub id: ResponseId,
    pub channel: Channel,
    pub who: Who,
    pub name: Option<String>,
    pub score: Score,
    pub comment: Option<String>,
    pub responded_at: NaiveDateTime,
    /// Sorted by name.
    pub properties: Vec<(String, String)>,
}

/// Who gave an answer.
#[derive(Debug, Clone)]
pub enum Who {
    Nobody,
    /// A known person (the API names them by id): their address as stored.
    Person {
        email: String,
        email_key: String,
    },
    /// An address from an import: its person is made, or given a name they lack.
    Address(EmailAddress),
}

impl Who {
    fn email(&self) -> Option<(String, String)> {
        match self {
            Who::Nobody => None,
            Who::Person { email, email_key } => Some((email.clone(), email_key.clone())),
            Who::Address(e) => Some((e.as_str().to_string(), e.key())),
        }
    }
}

/// Adds an answer (and its person when it names a new address). False when an answer with this
/// id exists already; nothing is changed then.
pub fn add(
    conn: &mut DbConn,
    survey_id: &SurveyId,
    a: &NewAnswer,
    now: NaiveDateTime,
) -> StoreResult<bool> {
    let email = a.who.email();
    let row = super::responses::ResponseRow {
        email: email.as_ref().map(|(e, _)| e.clone()),
        email_key: email.map(|(_, k)| k),
        name: a.name.clone(),
        ..super::responses::ResponseRow::counted(
            a.id.clone(),
            survey_id,
            a.channel,
            i32::from(a.score.value()),
            a.comment.clone(),
            a.responded_at,
            now,
        )
    };
    // A savepoint: the id may be taken (an import run again), which is not an error.
    let inserted = conn.transaction(|c| {
        diesel::insert_into(responses::table)
            .values(&row)
            .execute(c)
    });
    match inserted {
        Ok(_) => {}
        Err(e) if is_unique_violation(&e) => return Ok(false),
        Err(e) => return Err(e.into()),
    }
    super::responses::insert_properties(conn, &a.id, &a.properties)?;
    if let Who::Address(email) = &a.who {
        super::people::ensure(
            conn,
            email,
            a.name.as_deref(),
            super::people::NameRule::FillIn,
            now,
        )?;
    }
    Ok(true)
}

/// A change to an answer; None leaves a part as it is, `comment: Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct AnswerChange {
    pub score: Option<Score>,
    pub comment: Option<Option<String>>,
    pub responded_at: Option<NaiveDateTime>,
    pub properties: Option<Vec<(String, String)>>,
}

/// Changes a counted answer of the survey; None when there is none. Every tally follows in the
/// same transaction (the triggers on `responses` and `response_properties`).
pub fn change(
    conn: &mut DbConn,
    survey_id: &SurveyId,
    id: &ResponseId,
    c: &AnswerChange,
    now: NaiveDateTime,
) -> StoreResult<Option<Answer>> {
    let Some(mut answer) = find(conn, survey_id, id)? else {
        return Ok(None);
    };
    if let Some(score) = c.score {
        answer.score = i32::from(score.value());
    }
    let mut submitted_at = None;
    if let Some(comment) = &c.comment {
        answer.comment = comment.clone();
        submitted_at = comment.as_ref().map(|_| now);
    }
    if let Some(at) = c.responded_at {
        answer.responded_at = at;
    }
    answer.updated_at = now;
    diesel::update(responses::table.find(id))
        .set((
            responses::score.eq(answer.score),
            responses::comment.eq(&answer.comment),
            responses::responded_at.eq(answer.responded_at),
            responses::updated_at.eq(now),
        ))
        .execute(conn)?;
    if c.comment.is_some() {
        diesel::update(responses::table.find(id))
            .set(responses::submitted_at.eq(submitted_at))
            .execute(conn)?;
    }
    if let Some(props) = &c.properties {
        super::responses::replace_properties(conn, id, props)?;
        answer.properties = props.clone();
    }
    Ok(Some(answer))
}

/// What the API tells about people on one survey, by lower-cased address.
#[derive(Debug, Clone, Default)]
pub struct PersonActivity {
    pub last_sent_at: Option<NaiveDateTime>,
    pub next_scheduled_at: Option<NaiveDateTime>,
    pub last_responded_at: Option<NaiveDateTime>,
}

pub fn activity(
    conn: &mut DbConn,
    survey_id: &SurveyId,
    keys: &[String],
) -> StoreResult<HashMap<String, PersonActivity>> {
    let mut out: HashMap<String, PersonActivity> = HashMap::new();
    for chunk in keys.chunks(500) {
        let sent: Vec<(String, Option<NaiveDateTime>)> = invitations::table
            .filter(invitations::survey_id.eq(survey_id))
            .filter(invitations::email_key.eq_any(chunk))
            .filter(invitations::status.eq(InvitationStatus::Sent))
            .group_by(invitations::email_key)
            .select((invitations::email_key, max(invitations::sent_at)))
            .load(conn)?;
        for (key, at) in sent {
            out.entry(key).or_default().last_sent_at = at;
        }
        let next: Vec<(String, Option<NaiveDateTime>)> = invitations::table
            .filter(invitations::survey_id.eq(survey_id))
            .filter(invitations::email_key.eq_any(chunk))
            .filter(invitations::status.eq(InvitationStatus::Scheduled))
            .group_by(invitations::email_key)
            .select((invitations::email_key, min(invitations::send_at)))
            .load(conn)?;
        for (key, at) in next {
            out.entry(key).or_default().next_scheduled_at = at;
        }
        let by_email: Vec<(String, Option<NaiveDateTime>)> = responses::table
            .inner_join(invitations::table)
            .filter(responses::survey_id.eq(survey_id))
            .filter(invitations::email_key.eq_any(chunk))
            .filter(responses::status.eq(ResponseStatus::Counted))
            .group_by(invitations::email_key)
            .select((invitations::email_key, max(responses::responded_at)))
            .load(conn)?;
        let other: Vec<(Option<String>, Option<NaiveDateTime>)> = responses::table
            .filter(responses::survey_id.eq(survey_id))
            .filter(responses::email_key.eq_any(chunk))
            .filter(responses::status.eq(ResponseStatus::Counted))
            .group_by(responses::email_key)
            .select((responses::email_key, max(responses::responded_at)))
            .load(conn)?;
        let others = other.into_iter().filter_map(|(k, at)| Some((k?, at)));
        for (key, at) in by_email.into_iter().chain(others) {
            let entry = out.entry(key).or_default();
            entry.last_responded_at = entry.last_responded_at.max(at);
        }
    }
    Ok(out)
}

/// The people of these addresses, by lower-cased address.
pub fn people_by_key(
    conn: &mut DbConn,
    keys: &[String],
) -> StoreResult<HashMap<String, PersonRow>> {
    Ok(super::people::by_keys(conn, keys)?
        .into_iter()
        .map(|p| (p.email_key.clone(), p))
        .collect())
}
