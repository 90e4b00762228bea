//! Answers from the embedded form (widget and iframe page): stored beside the email answers in
//! `responses` with channel `web`, so every report counts both. A repeat answer by the same
//! respondent within the survey's throttle days updates the earlier one instead of counting twice.
use super::responses::ResponseRow;
use super::schema::responses;
use super::{lock_name, DbConn, StoreResult};
use crate::ids::{ResponseId, SurveyId};
use crate::state::Channel;
use crate::surveys::SurveyRow;
use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use npsd_domain::embed::{Respondent, WebAnswer};
use npsd_domain::score::Score;

/// A web answer to store, checked at the boundary.
pub struct NewWebAnswer {
    pub answer: WebAnswer,
    /// The identity the site signed, if any: the answer is verified, and matched by it.
    pub signed: Option<Respondent>,
    /// The hash of the edit token handed to the browser, and until when it works.
    pub edit_token_hash: String,
    pub edit_token_expires_at: NaiveDateTime,
}

/// Stores a web answer, or updates the respondent's answer of the last throttle days.
pub fn record(
    conn: &mut DbConn,
    survey: &SurveyRow,
    new: &NewWebAnswer,
    now: NaiveDateTime,
) -> StoreResult<ResponseRow> {
    let a = &new.answer;
    let verified = new.signed.is_some();
    let key = match &new.signed {
        Some(identity) => identity.key(true),
        None => a.respondent().key(false),
    };
    let earlier = match (&key, survey.throttle_days) {
        (Some(key), days) if days > 0 => {
            lock_name(conn, &format!("{}/web/{key}", survey.id))?;
            responses::table
                .filter(responses::survey_id.eq(&survey.id))
                .filter(responses::respondent_key.eq(key))
                .filter(responses::channel.eq(Channel::Web))
                // From the first answer: answering every few days does not stretch the window.
                .filter(responses::created_at.ge(now - Duration::days(days.into())))
                .order((responses::created_at.desc(), responses::id.desc()))
                .select(ResponseRow::as_select())
                .get_result(conn)
                .optional()?
        }
        _ => None,
    };
    // Only an identity the site signed makes (or renames) a person: anyone may type an address.
    if let (Some(email), true) = (&a.email, verified) {
        super::people::ensure(
            conn,
            email,
            a.name.as_deref(),
            super::people::NameRule::Replace,
            now,
        )?;
    }
    let row = match earlier {
        Some(mut row) => {
            row.score = i32::from(a.score.value());
            // A new answer: the earlier comment belonged to the earlier score.
            row.comment = a.comment.clone();
            row.submitted_at = a.comment.as_ref().map(|_| now);
            row.email = a
                .email
                .as_ref()
                .map(|e| e.as_str().to_string())
                .or(row.email);
            row.email_key = a.email.as_ref().map(|e| e.key()).or(row.email_key);
            row.name = a.name.clone().or(row.name);
            row.customer_id = a.customer_id.clone().or(row.customer_id);
            row.page_url = a.page_url.clone().or(row.page_url);
            row.responded_at = now;
            row.updated_at = now;
            row.edit_token_hash = Some(new.edit_token_hash.clone());
            row.edit_token_expires_at = Some(new.edit_token_expires_at);
            diesel::update(responses::table.find(&row.id))
                .set((
                    responses::score.eq(row.score),
                    responses::comment.eq(&row.comment),
                    responses::submitted_at.eq(row.submitted_at),
                    responses::email.eq(&row.email),
                    responses::email_key.eq(&row.email_key),
                    responses::name.eq(&row.name),
                    responses::customer_id.eq(&row.customer_id),
                    responses::page_url.eq(&row.page_url),
                    responses::responded_at.eq(now),
                    responses::updated_at.eq(now),
                    responses::edit_token_hash.eq(&row.edit_token_hash),
                    responses::edit_token_expires_at.eq(row.edit_token_expires_at),
                ))
                .execute(conn)?;
            if !a.properties.is_empty() {
                super::responses::replace_properties(conn, &row.id, &a.properties)?;
            }
            row
        }
        None => {
            let row = ResponseRow {
                email: a.email.as_ref().map(|e| e.as_str().to_string()),
                email_key: a.email.as_ref().map(|e| e.key()),
                name: a.name.clone(),
                customer_id: a.customer_id.clone(),
                page_url: a.page_url.clone(),
                verified,
                respondent_key: key,
                edit_token_hash: Some(new.edit_token_hash.clone()),
                edit_token_expires_at: Some(new.edit_token_expires_at),
                ..ResponseRow::counted(
                    ResponseId::generate(),
                    &survey.id,
                    Channel::Web,
                    i32::from(a.score.value()),
                    a.comment.clone(),
                    now,
                    now,
                )
            };
            diesel::insert_into(responses::table)
                .values(&row)
                .execute(conn)?;
            super::responses::insert_properties(conn, &row.id, &a.properties)?;
            row
        }
    };
    Ok(row)
}

/// Why a change to a web answer was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum EditRefused {
    NotFound,
    WrongToken,
    Expired,
}

/// A change to a web answer through its edit token: `Some(None)` clears the comment.
pub struct WebEdit {
    pub token_hash: String,
    pub score: Option<Score>,
    pub comment: Option<Option<String>>,
}

pub fn edit(
    conn: &mut DbConn,
    survey_id: &SurveyId,
    response_id: &ResponseId,
    edit: &WebEdit,
    now: NaiveDateTime,
) -> StoreResult<Result<ResponseRow, EditRefused>> {
    let found = responses::table
        .filter(responses::id.eq(response_id))
        .filter(responses::survey_id.eq(survey_id))
        .filter(responses::channel.eq(Channel::Web))
        .select(ResponseRow::as_select())
        .get_result(conn)
        .optional()?;
    let Some(mut row) = found else {
        return Ok(Err(EditRefused::NotFound));
    };
    // Both sides are SHA-256 hashes of random tokens: equal time reveals nothing usable.
    if row.edit_token_hash.as_deref() != Some(edit.token_hash.as_str()) {
        return Ok(Err(EditRefused::WrongToken));
    }
    if row.edit_token_expires_at.is_none_or(|at| at <= now) {
        return Ok(Err(EditRefused::Expired));
    }
    if let Some(score) = edit.score {
        row.score = i32::from(score.value());
        row.responded_at = now;
    }
    if let Some(comment) = &edit.comment {
        row.comment = comment.clone();
        row.submitted_at = Some(now);
    }
    row.updated_at = now;
    diesel::update(responses::table.find(&row.id))
        .set((
            responses::score.eq(row.score),
            responses::comment.eq(&row.comment),
            responses::submitted_at.eq(row.submitted_at),
            responses::responded_at.eq(row.responded_at),
            responses::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(Ok(row))
}
