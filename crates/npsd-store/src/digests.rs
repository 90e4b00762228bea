//! Digest records: one per (survey, period), claimed before anything is sent, so a digest goes
//! out once per recipient across restarts and instances (the unique key decides who claims it);
//! its recipients' jobs go into the same outbox as survey emails.
use super::schema::{digest_tokens, digests, outbox, surveys};
use super::{is_unique_violation, new_id, DbConn, StoreResult};
use crate::ids::SurveyId;
use crate::state::{DigestStatus, JobKind, OutboxStatus};
use crate::surveys::SurveyRow;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use npsd_domain::digest::{DigestPeriod, SILENT_DIGESTS_BEFORE_PAUSE};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = digests)]
// None is bound as NULL rather than left out as DEFAULT: the INSERT's text then never varies,
// so SQLite prepares it (and compiles its triggers) once, not on every insert.
#[diesel(treat_none_as_default_value = false)]
pub struct DigestRow {
    pub id: String,
    pub survey_id: SurveyId,
    pub period_key: String,
    pub period_start: NaiveDateTime,
    pub period_end: NaiveDateTime,
    pub status: DigestStatus,
    /// Counted responses of the period when the digest was claimed.
    pub responses: i32,
    /// The last digest before a pause: it says so.
    pub pausing: bool,
    pub created_at: NaiveDateTime,
}

pub fn exists(conn: &mut DbConn, survey_id: &SurveyId, period_key: &str) -> StoreResult<bool> {
    let n: i64 = digests::table
        .filter(digests::survey_id.eq(survey_id))
        .filter(digests::period_key.eq(period_key))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

pub fn find(conn: &mut DbConn, id: &str) -> StoreResult<DigestRow> {
    Ok(digests::table
        .find(id)
        .select(DigestRow::as_select())
        .get_result(conn)?)
}

/// Claims the survey's digest of `period` and queues one job per recipient; `None` when it was
/// claimed already (by this or another instance). After four sent digests in a row without
/// responses, a silent period is recorded as paused and nothing is queued.
pub fn claim(
    conn: &mut DbConn,
    survey: &SurveyRow,
    period: &DigestPeriod,
    responses: u64,
    now: NaiveDateTime,
) -> StoreResult<Option<DigestRow>> {
    // Silent digests count since the digest was last enabled or moved: a digest turned on again
    // after months starts afresh.
    let since = survey
        .digest_settings()
        .period_containing(survey.digest_changed_at.unwrap_or(survey.created_at))
        .previous()
        .start;
    let recent: Vec<i32> = digests::table
        .filter(digests::survey_id.eq(&survey.id))
        .filter(digests::status.eq(DigestStatus::Queued))
        .filter(digests::period_start.lt(period.start))
        .filter(digests::period_start.ge(since))
        .order(digests::period_start.desc())
        .limit(SILENT_DIGESTS_BEFORE_PAUSE as i64)
        .select(digests::responses)
        .load(conn)?;
    let silent = responses == 0;
    let silent_before = recent.iter().take_while(|n| **n == 0).count();
    let status = if silent && silent_before >= SILENT_DIGESTS_BEFORE_PAUSE {
        DigestStatus::Paused
    } else {
        DigestStatus::Queued
    };
    let row = DigestRow {
        id: new_id(),
        survey_id: survey.id.clone(),
        period_key: period.key(),
        period_start: period.start,
        period_end: period.end,
        status,
        responses: i32::try_from(responses).unwrap_or(i32::MAX),
        pausing: silent
            && status == DigestStatus::Queued
            && silent_before + 1 >= SILENT_DIGESTS_BEFORE_PAUSE,
        created_at: now,
    };
    // A savepoint: losing the race must not abort the enclosing PostgreSQL transaction.
    let inserted =
        conn.transaction(|c| diesel::insert_into(digests::table).values(&row).execute(c));
    match inserted {
        Ok(_) => {}
        Err(e) if is_unique_violation(&e) => return Ok(None),
        Err(e) => return Err(e.into()),
    }
    if status == DigestStatus::Queued {
        for recipient in survey.digest_settings().recipients {
            diesel::insert_into(outbox::table)
                .values((
                    outbox::id.eq(new_id()),
                    outbox::kind.eq(JobKind::Digest),
                    outbox::digest_id.eq(&row.id),
                    outbox::recipient.eq(&recipient),
                    outbox::status.eq(OutboxStatus::Pending),
                    outbox::due_at.eq(now),
                    outbox::attempts.eq(0),
                    outbox::created_at.eq(now),
                    outbox::updated_at.eq(now),
                ))
                .execute(conn)?;
        }
    }
    Ok(Some(row))
}

/// Whether the recipient is still on the survey's digest list (an unsubscribe may have come
/// after the job was queued).
pub fn still_recipient(survey: &SurveyRow, recipient: &str) -> bool {
    survey
        .digest_settings()
        .recipients
        .iter()
        .any(|r| r.eq_ignore_ascii_case(recipient))
}

pub fn add_token(
    conn: &mut DbConn,
    token_hash: &str,
    survey_id: &SurveyId,
    recipient: &str,
    now: NaiveDateTime,
) -> StoreResult<()> {
    diesel::insert_into(digest_tokens::table)
        .values((
            digest_tokens::token_hash.eq(token_hash),
            digest_tokens::survey_id.eq(survey_id),
            digest_tokens::recipient.eq(recipient),
            digest_tokens::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// The survey and address of a digest's unsubscribe link.
pub fn find_token(conn: &mut DbConn, token_hash: &str) -> StoreResult<Option<(SurveyRow, String)>> {
    let found: Option<(SurveyId, String)> = digest_tokens::table
        .find(token_hash)
        .select((digest_tokens::survey_id, digest_tokens::recipient))
        .get_result(conn)
        .optional()?;
    let Some((survey_id, recipient)) = found else {
        return Ok(None);
    };
    Ok(Some((
        super::surveys::find_by_id(conn, &survey_id)?,
        recipient,
    )))
}

/// Takes the address off the survey's digest list; answers whether it was on it.
pub fn remove_recipient(
    conn: &mut DbConn,
    survey_id: &SurveyId,
    recipient: &str,
    now: NaiveDateTime,
) -> StoreResult<bool> {
    // Serialised with changes through the API, so an unsubscribe is never written over.
    super::lock_name(conn, &format!("survey:{survey_id}"))?;
    let survey = super::surveys::find_by_id(conn, survey_id)?;
    let before: Vec<String> = survey.digest_settings().recipients;
    let after: Vec<String> = before
        .iter()
        .filter(|r| !r.eq_ignore_ascii_case(recipient))
        .cloned()
        .collect();
    if after.len() == before.len() {
        return Ok(false);
    }
    // The last one gone: the digest is off (as the API would require anyway).
    diesel::update(surveys::table.find(survey_id))
        .set((
            surveys::digest_recipients.eq(after.join("\n")),
            surveys::digest_enabled.eq(survey.digest_enabled && !after.is_empty()),
            surveys::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(true)
}

/// The statuses of a digest's recipient jobs.
pub fn job_statuses(conn: &mut DbConn, digest_id: &str) -> StoreResult<Vec<OutboxStatus>> {
    Ok(outbox::table
        .filter(outbox::digest_id.eq(digest_id))
        .select(outbox::status)
        .load(conn)?)
}

diesel::define_sql_function! {
    /// SQL's `lower`: digest recipients are kept as typed, people are found by lower-cased address.
    fn lower(x: diesel::sql_types::Nullable<diesel::sql_types::Text>) -> diesel::sql_types::Nullable<diesel::sql_types::Text>;
}

/// One digest sent (or to be sent) to an address, as its export shows it.
#[derive(Debug, Clone, Queryable)]
pub struct Delivery {
    /// The survey's slug.
    pub survey: String,
    pub period_start: NaiveDateTime,
    pub period_end: NaiveDateTime,
    pub status: OutboxStatus,
    pub attempts: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// Every digest delivery to the address (lower-cased), oldest first: the outbox keeps one row
/// per digest and recipient, sent or not.
pub fn deliveries_to(conn: &mut DbConn, email_key: &str) -> StoreResult<Vec<Delivery>> {
    Ok(outbox::table
        .inner_join(digests::table.inner_join(surveys::table))
        .filter(outbox::digest_id.is_not_null())
        .filter(lower(outbox::recipient).eq(email_key))
        .order((outbox::created_at.asc(), outbox::id.asc()))
        .select((
            surveys::slug,
            digests::period_start,
            digests::period_end,
            outbox::status,
            outbox::attempts,
            outbox::created_at,
            outbox::updated_at,
        ))
        .load(conn)?)
}

/// Erasure (GDPR Art. 17): the address leaves every survey's digest list, its digest
/// unsubscribe links go, and so do its deliveries (the outbox rows that name it, sent or still
/// to go: an erased address gets no more digests); answers how many lists it was on and how
/// many deliveries went.
pub fn forget_address(conn: &mut DbConn, email_key: &str) -> StoreResult<(usize, usize)> {
    let deliveries = diesel::delete(
        outbox::table
            .filter(outbox::digest_id.is_not_null())
            .filter(lower(outbox::recipient).eq(email_key)),
    )
    .execute(conn)?;
    let on: Vec<SurveyRow> = super::surveys::list(conn)?
        .into_iter()
        .filter(|s| still_recipient(s, email_key))
        .collect();
    for survey in &on {
        remove_recipient(conn, &survey.id, email_key, survey.updated_at)?;
    }
    let tokens: Vec<(String, String)> = digest_tokens::table
        .select((digest_tokens::token_hash, digest_tokens::recipient))
        .load(conn)?;
    let mine: Vec<String> = tokens
        .into_iter()
        .filter(|(_, r)| r.eq_ignore_ascii_case(email_key))
        .map(|(h, _)| h)
        .collect();
    for chunk in mine.chunks(500) {
        diesel::delete(digest_tokens::table.filter(digest_tokens::token_hash.eq_any(chunk)))
            .execute(conn)?;
    }
    Ok((on.len(), deliveries))
}
