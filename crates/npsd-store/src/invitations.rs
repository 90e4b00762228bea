//! Invitations: one transaction's survey email, from ingest (skipped, or scheduled with its outbox
//! job) through its link tokens to sent, failed or skipped, and a cancel before it goes.
//! (Over 400 lines: ingest with its throttle, token lookups and the list and cancel queries, each
//! written once against both backends.)
pub use super::properties::properties_of_invitations as properties_of;
pub use super::rows::InvitationRow;
use super::schema::{invitation_properties, invitation_tokens, invitations, outbox};
use super::surveys::SurveyRow;
use super::{new_id, suppressions, unsubscribes, DbConn, StoreResult};
use crate::ids::{InvitationId, SurveyId};
use crate::state::{InvitationStatus, JobKind, OutboxStatus, SkipReason};
use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use npsd_domain::token::LinkPurpose;
use npsd_domain::transaction::NewTransaction;

pub struct Ingested {
    pub invitation: InvitationRow,
    /// False when the transaction was known already and nothing new was stored.
    pub created: bool,
}

fn find_by_transaction(
    conn: &mut DbConn,
    survey_id: &SurveyId,
    transaction_id: &str,
) -> StoreResult<Option<InvitationRow>> {
    Ok(invitations::table
        .filter(invitations::survey_id.eq(survey_id))
        .filter(invitations::transaction_id.eq(transaction_id))
        .select(InvitationRow::as_select())
        .get_result(conn)
        .optional()?)
}

/// Was this address surveyed (or is it about to be) on this survey within the throttle window?
/// `sent_only` is the dispatcher's view: only emails that really went out count there.
pub fn recently_surveyed(
    conn: &mut DbConn,
    survey: &SurveyRow,
    email_key: &str,
    except_id: &str,
    sent_only: bool,
    now: NaiveDateTime,
) -> StoreResult<bool> {
    if survey.throttle_days <= 0 {
        return Ok(false);
    }
    let since = now - Duration::days(survey.throttle_days as i64);
    let query = invitations::table
        .filter(invitations::survey_id.eq(&survey.id))
        .filter(invitations::email_key.eq(email_key))
        .filter(invitations::id.ne(except_id));
    if sent_only {
        // The address's sent invitations, compared here: with `sent_at > ?` in the query,
        // SQLite preferred the (survey_id, sent_at) index and counted every email the survey
        // sent in the window, for each email it sent (delivery fell to 150/s at 20,000).
        let sent: Vec<Option<NaiveDateTime>> = query
            .filter(invitations::status.eq(InvitationStatus::Sent))
            .select(invitations::sent_at)
            .load(conn)?;
        return Ok(sent.into_iter().flatten().any(|at| at > since));
    }
    let n: i64 = query
        .filter(invitations::status.eq_any([InvitationStatus::Scheduled, InvitationStatus::Sent]))
        .filter(invitations::send_at.gt(since))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// Stores a transaction's invitation, and its outbox row when it is to be sent.
/// The same transaction id on the same survey returns the stored invitation unchanged.
pub fn ingest(
    conn: &mut DbConn,
    survey: &SurveyRow,
    tx: &NewTransaction,
    message_id_domain: &str,
    now: NaiveDateTime,
) -> StoreResult<Ingested> {
    if let Some(existing) = find_by_transaction(conn, &survey.id, &tx.transaction_id)? {
        return Ok(Ingested {
            invitation: existing,
            created: false,
        });
    }
    let email_key = tx.email.key();
    lock_person(conn, &email_key)?;
    let skip_reason = if suppressions::is_suppressed(conn, &email_key)? {
        Some(SkipReason::Suppressed)
    } else if unsubscribes::is_unsubscribed(conn, &survey.id, &email_key)? {
        Some(SkipReason::Unsubscribed)
    } else if recently_surveyed(conn, survey, &email_key, "", false, now)? {
        Some(SkipReason::Throttled)
    } else {
        None
    };
    let delay = tx.delay_seconds.unwrap_or(survey.send_delay_seconds);
    let id = new_id();
    let row = InvitationRow {
        message_id: format!("{}@{}", uuid::Uuid::new_v4().simple(), message_id_domain),
        id: InvitationId::from(id.clone()),
        survey_id: survey.id.clone(),
        transaction_id: tx.transaction_id.clone(),
        email: tx.email.as_str().to_string(),
        email_key,
        name: tx.name.clone(),
        locale: tx.locale.clone().unwrap_or_else(|| survey.locale.clone()),
        status: if skip_reason.is_some() {
            InvitationStatus::Skipped
        } else {
            InvitationStatus::Scheduled
        },
        reason: None,
        skip_reason,
        send_at: now + Duration::seconds(delay),
        sent_at: None,
        created_at: now,
        updated_at: now,
    };
    // When a concurrent request stored the same transaction first, the unique key leaves this
    // row out (no savepoint needed: one statement, one round trip), and that request's invitation
    // is the answer.
    let inserted = match conn {
        #[cfg(feature = "sqlite")]
        DbConn::Sqlite(c) => diesel::insert_into(invitations::table)
            .values(&row)
            .on_conflict_do_nothing()
            .execute(c)?,
        #[cfg(feature = "postgres")]
        DbConn::Postgresql(c) => diesel::insert_into(invitations::table)
            .values(&row)
            .on_conflict_do_nothing()
            .execute(c)?,
    };
    if inserted == 0 {
        let existing = find_by_transaction(conn, &survey.id, &tx.transaction_id)?
            .ok_or(diesel::result::Error::NotFound)?;
        return Ok(Ingested {
            invitation: existing,
            created: false,
        });
    }
    // The person behind the address, for APIs that name people by id.
    super::people::note(conn, &tx.email, tx.name.as_deref(), now)?;
    // One row per property (at most 50): batch inserts are not available across both backends.
    for (name, value) in &tx.properties {
        diesel::insert_into(invitation_properties::table)
            .values((
                invitation_properties::invitation_id.eq(&id),
                invitation_properties::name.eq(name),
                invitation_properties::value.eq(value),
            ))
            .execute(conn)?;
    }
    if skip_reason.is_none() {
        diesel::insert_into(outbox::table)
            .values((
                outbox::id.eq(new_id()),
                outbox::kind.eq(JobKind::SurveyEmail),
                outbox::invitation_id.eq(&id),
                outbox::status.eq(OutboxStatus::Pending),
                outbox::due_at.eq(row.send_at),
                outbox::attempts.eq(0),
                outbox::created_at.eq(now),
                outbox::updated_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(Ingested {
        invitation: row,
        created: true,
    })
}

pub fn find(conn: &mut DbConn, id: &InvitationId) -> StoreResult<InvitationRow> {
    Ok(invitations::table
        .find(id)
        .select(InvitationRow::as_select())
        .get_result(conn)?)
}

pub fn find_opt(conn: &mut DbConn, id: &InvitationId) -> StoreResult<Option<InvitationRow>> {
    Ok(invitations::table
        .find(id)
        .select(InvitationRow::as_select())
        .get_result(conn)
        .optional()?)
}

/// Stores the hash of a token sent in an email. Every email carries fresh tokens, so a retried
/// send never invalidates the links of an earlier copy that did arrive.
pub fn add_token(
    conn: &mut DbConn,
    invitation_id: &InvitationId,
    token_hash: &str,
    purpose: LinkPurpose,
    now: NaiveDateTime,
    expires_at: NaiveDateTime,
) -> StoreResult<()> {
    diesel::insert_into(invitation_tokens::table)
        .values((
            invitation_tokens::token_hash.eq(token_hash),
            invitation_tokens::invitation_id.eq(invitation_id),
            invitation_tokens::created_at.eq(now),
            invitation_tokens::expires_at.eq(expires_at),
            invitation_tokens::purpose.eq(purpose.as_str()),
        ))
        .execute(conn)?;
    Ok(())
}

/// The invitation a link token of one of these purposes belongs to, with its expiry.
pub fn find_by_token(
    conn: &mut DbConn,
    token_hash: &str,
    purposes: &[LinkPurpose],
) -> StoreResult<Option<(InvitationRow, SurveyRow, NaiveDateTime)>> {
    use super::schema::surveys;
    let purposes: Vec<&str> = purposes.iter().map(|p| p.as_str()).collect();
    Ok(invitation_tokens::table
        .inner_join(invitations::table.inner_join(surveys::table))
        .filter(invitation_tokens::token_hash.eq(token_hash))
        .filter(invitation_tokens::purpose.eq_any(purposes))
        .select((
            InvitationRow::as_select(),
            SurveyRow::as_select(),
            invitation_tokens::expires_at,
        ))
        .get_result(conn)
        .optional()?)
}

/// The email went out.
pub fn mark_sent(conn: &mut DbConn, id: &InvitationId, now: NaiveDateTime) -> StoreResult<()> {
    set_status(conn, id, InvitationStatus::Sent, None, None, Some(now), now)
}

/// The email failed for good: `reply` is the SMTP server's last word.
pub fn mark_failed(
    conn: &mut DbConn,
    id: &InvitationId,
    reply: &str,
    now: NaiveDateTime,
) -> StoreResult<()> {
    set_status(
        conn,
        id,
        InvitationStatus::Failed,
        None,
        Some(reply),
        None,
        now,
    )
}

/// The email will not go out, for this reason.
pub fn mark_skipped(
    conn: &mut DbConn,
    id: &InvitationId,
    why: SkipReason,
    now: NaiveDateTime,
) -> StoreResult<()> {
    set_status(
        conn,
        id,
        InvitationStatus::Skipped,
        Some(why),
        None,
        None,
        now,
    )
}

fn set_status(
    conn: &mut DbConn,
    id: &InvitationId,
    status: InvitationStatus,
    skip_reason: Option<SkipReason>,
    reason: Option<&str>,
    sent_at: Option<NaiveDateTime>,
    now: NaiveDateTime,
) -> StoreResult<()> {
    diesel::update(invitations::table.find(id))
        .set((
            invitations::status.eq(status),
            invitations::skip_reason.eq(skip_reason),
            invitations::reason.eq(reason),
            invitations::sent_at.eq(sent_at),
            invitations::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// One property of an invitation's transaction.
pub fn property(conn: &mut DbConn, id: &InvitationId, name: &str) -> StoreResult<Option<String>> {
    Ok(invitation_properties::table
        .filter(invitation_properties::invitation_id.eq(id))
        .filter(invitation_properties::name.eq(name))
        .select(invitation_properties::value)
        .get_result(conn)
        .optional()?)
}

/// Invitations whose email went out, by send time.
pub fn count_sent(
    conn: &mut DbConn,
    survey_id: &SurveyId,
    f: &super::filter::ResponseFilter,
) -> StoreResult<i64> {
    // Web, API and imported answers (and verified ones, which are all web answers) had no
    // invitation.
    if f.channel.is_some_and(|c| c != crate::state::Channel::Email) || f.verified == Some(true) {
        return Ok(0);
    }
    let mut q = invitations::table
        .filter(invitations::survey_id.eq(survey_id))
        .filter(invitations::status.eq(InvitationStatus::Sent))
        .into_boxed();
    if let Some(from) = f.from {
        q = q.filter(invitations::sent_at.ge(from));
    }
    if let Some(until) = f.until {
        q = q.filter(invitations::sent_at.lt(until));
    }
    // A segment's response rate: the invitations of transactions with its properties, in the
    // shape whose cost grows linearly with the filter's names (`segment`).
    if let Some(has) = super::segment::HasProperties::invitation(&f.properties) {
        q = q.filter(has);
    }
    Ok(q.count().get_result(conn)?)
}

/// Serialises changes to one invitation's response: scanners open all links of an email at once.
/// On PostgreSQL this locks the invitation row until the transaction ends; on SQLite the write
/// transaction already holds the database's one write lock.
pub fn lock(conn: &mut DbConn, id: &InvitationId) -> StoreResult<()> {
    match conn {
        #[cfg(feature = "postgres")]
        DbConn::Postgresql(c) => {
            invitations::table
                .find(id)
                .select(invitations::id)
                .for_update()
                .get_result::<String>(c)
                .optional()?;
        }
        #[cfg(feature = "sqlite")]
        DbConn::Sqlite(_) => {}
    }
    Ok(())
}

/// Serialises ingests for one address, so that two transactions arriving at the same moment
/// cannot both pass a survey's throttle. One lock per address, whatever the survey: it is the
/// first lock an ingest takes, before its `people` row, which every survey shares, so ingests
/// run side by side in address order (`Store::write_for_address`) cannot wait in a circle.
fn lock_person(conn: &mut DbConn, email_key: &str) -> StoreResult<()> {
    super::lock_name(conn, &format!("person/{email_key}"))
}

/// Takes the ingest locks of several addresses at once, in the order of their names, in one
/// statement: a chunk of a batch that holds them may then run beside other ingests, which take
/// theirs in the same order (`Store::write_for_addresses`). The chunk's own `lock_person` calls
/// later find them held.
pub fn lock_people(conn: &mut DbConn, email_keys: &[String]) -> StoreResult<()> {
    match conn {
        #[cfg(feature = "postgres")]
        DbConn::Postgresql(c) => {
            let mut names: Vec<String> = email_keys.iter().map(|k| format!("person/{k}")).collect();
            names.sort();
            names.dedup();
            // The sorted subquery hands the names to the lock function in its order.
            diesel::sql_query(
                "SELECT COUNT(pg_advisory_xact_lock(hashtextextended(n, 0))) AS n \
                 FROM (SELECT n FROM unnest($1::text[]) AS n ORDER BY n) AS sorted",
            )
            .bind::<diesel::sql_types::Array<diesel::sql_types::Text>, _>(names)
            .execute(c)?;
        }
        #[cfg(feature = "sqlite")]
        DbConn::Sqlite(_) => {}
    }
    let _ = email_keys;
    Ok(())
}

/// Which invitations a list shows.
#[derive(Debug, Clone, Default)]
pub struct InvitationQuery {
    pub survey_id: Option<SurveyId>,
    pub status: Option<InvitationStatus>,
    pub email_key: Option<String>,
    /// Only invitations older than this (created_at, id) position.
    pub before: Option<(NaiveDateTime, String)>,
    pub limit: i64,
}

/// Invitations newest first, with their survey's slug.
pub fn list(conn: &mut DbConn, q: &InvitationQuery) -> StoreResult<Vec<(InvitationRow, String)>> {
    use super::schema::surveys;
    let mut query = invitations::table.inner_join(surveys::table).into_boxed();
    if let Some(id) = &q.survey_id {
        query = query.filter(invitations::survey_id.eq(id.clone()));
    }
    if let Some(status) = q.status {
        query = query.filter(invitations::status.eq(status));
    }
    if let Some(key) = &q.email_key {
        query = query.filter(invitations::email_key.eq(key.clone()));
    }
    if let Some((at, id)) = &q.before {
        query = query.filter(
            invitations::created_at.lt(*at).or(invitations::created_at
                .eq(*at)
                .and(invitations::id.lt(id.clone()))),
        );
    }
    Ok(query
        .order((invitations::created_at.desc(), invitations::id.desc()))
        .limit(q.limit)
        .select((InvitationRow::as_select(), surveys::slug))
        .load(conn)?)
}

/// What cancelling an invitation came to.
#[derive(Debug)]
pub enum Cancelled {
    Done(InvitationRow),
    NotFound,
    /// Sent, failed or skipped already, or being sent right now.
    TooLate(InvitationRow),
}

/// Cancels a scheduled invitation: it is skipped, and its email job will not run. An invitation a
/// dispatcher holds under a live lease is being sent and cannot be called back.
pub fn cancel(conn: &mut DbConn, id: &InvitationId, now: NaiveDateTime) -> StoreResult<Cancelled> {
    use super::schema::outbox;
    use crate::state::OutboxStatus;
    // Outbox rows before their invitation: the one lock order (see `store::begin_write`).
    super::outbox::lock_for_invitation(conn, id)?;
    lock(conn, id)?;
    let Some(row) = invitations::table
        .find(id)
        .select(InvitationRow::as_select())
        .get_result(conn)
        .optional()?
    else {
        return Ok(Cancelled::NotFound);
    };
    if row.status != InvitationStatus::Scheduled {
        return Ok(Cancelled::TooLate(row));
    }
    let sending: i64 = outbox::table
        .filter(outbox::invitation_id.eq(id))
        .filter(outbox::status.eq(OutboxStatus::Pending))
        .filter(outbox::lease_expires_at.gt(now))
        .count()
        .get_result(conn)?;
    if sending > 0 {
        return Ok(Cancelled::TooLate(row));
    }
    diesel::update(
        outbox::table
            .filter(outbox::invitation_id.eq(id))
            .filter(outbox::status.eq(OutboxStatus::Pending)),
    )
    .set((
        outbox::status.eq(OutboxStatus::Cancelled),
        outbox::last_error.eq(Some(SkipReason::Cancelled.as_str())),
        outbox::updated_at.eq(now),
    ))
    .execute(conn)?;
    mark_skipped(conn, id, SkipReason::Cancelled, now)?;
    Ok(Cancelled::Done(InvitationRow {
        status: InvitationStatus::Skipped,
        skip_reason: Some(SkipReason::Cancelled),
        reason: None,
        updated_at: now,
        ..row
    }))
}

/// The survey's scheduled invitations for an address (their emails have not gone out).
pub fn scheduled_for(
    conn: &mut DbConn,
    survey_id: &SurveyId,
    email_key: &str,
) -> StoreResult<Vec<InvitationId>> {
    Ok(invitations::table
        .filter(invitations::survey_id.eq(survey_id))
        .filter(invitations::email_key.eq(email_key))
        .filter(invitations::status.eq(InvitationStatus::Scheduled))
        .select(invitations::id)
        .load(conn)?)
}
