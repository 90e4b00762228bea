//! Alert rules and the answers they matched. A rule reads the events of its survey after its own
//! cursor (`events::after`), like a webhook endpoint, claimed under a lease by one instance at a
//! time; `alert_matches` keeps one row per rule and answer, so an answer is alerted once.
use super::events::Position;
use super::schema::{alert_matches, alert_rules};
use super::{DbConn, StoreResult};
use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = alert_rules)]
pub struct AlertRuleRow {
    pub id: String,
    pub survey_id: String,
    pub name: String,
    pub conditions: String,
    pub emails: String,
    pub slack_url: Option<String>,
    pub teams_url: Option<String>,
    pub summary_minutes: i32,
    pub enabled: bool,
    pub cursor_txid: i64,
    pub cursor_seq: i64,
    pub attempts: i32,
    pub next_attempt_at: Option<NaiveDateTime>,
    pub last_error: Option<String>,
    pub lease_id: Option<String>,
    pub lease_expires_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl AlertRuleRow {
    pub fn cursor(&self) -> Position {
        Position {
            txid: self.cursor_txid,
            seq: self.cursor_seq,
        }
    }

    pub fn email_list(&self) -> Vec<String> {
        serde_json::from_str(&self.emails).unwrap_or_default()
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = alert_matches)]
pub struct MatchRow {
    pub rule_id: String,
    pub response_id: String,
    pub survey_id: String,
    pub matched_at: NaiveDateTime,
    pub notified_at: Option<NaiveDateTime>,
    pub discard_noted_at: Option<NaiveDateTime>,
}

pub fn insert(conn: &mut DbConn, row: &AlertRuleRow) -> StoreResult<()> {
    diesel::insert_into(alert_rules::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn find(conn: &mut DbConn, survey_id: &str, id: &str) -> StoreResult<Option<AlertRuleRow>> {
    Ok(alert_rules::table
        .filter(alert_rules::survey_id.eq(survey_id))
        .filter(alert_rules::id.eq(id))
        .select(AlertRuleRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn find_any(conn: &mut DbConn, id: &str) -> StoreResult<Option<AlertRuleRow>> {
    Ok(alert_rules::table
        .filter(alert_rules::id.eq(id))
        .select(AlertRuleRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn list(conn: &mut DbConn, survey_id: Option<&str>) -> StoreResult<Vec<AlertRuleRow>> {
    let mut q = alert_rules::table
        .select(AlertRuleRow::as_select())
        .order((alert_rules::created_at.asc(), alert_rules::id.asc()))
        .into_boxed();
    if let Some(s) = survey_id {
        q = q.filter(alert_rules::survey_id.eq(s));
    }
    Ok(q.load(conn)?)
}

/// What a change to a rule sets.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = alert_rules)]
pub struct AlertRuleChange {
    pub name: Option<String>,
    pub conditions: Option<String>,
    pub emails: Option<String>,
    pub slack_url: Option<Option<String>>,
    pub teams_url: Option<Option<String>>,
    pub summary_minutes: Option<i32>,
    pub enabled: Option<bool>,
    pub updated_at: Option<NaiveDateTime>,
}

pub fn update(conn: &mut DbConn, id: &str, change: &AlertRuleChange) -> StoreResult<bool> {
    Ok(
        diesel::update(alert_rules::table.filter(alert_rules::id.eq(id)))
            .set(change)
            .execute(conn)?
            > 0,
    )
}

pub fn delete(conn: &mut DbConn, survey_id: &str, id: &str) -> StoreResult<bool> {
    diesel::delete(alert_matches::table.filter(alert_matches::rule_id.eq(id))).execute(conn)?;
    Ok(diesel::delete(
        alert_rules::table
            .filter(alert_rules::survey_id.eq(survey_id))
            .filter(alert_rules::id.eq(id)),
    )
    .execute(conn)?
        > 0)
}

/// Claims the enabled rules that are free and not waiting to retry, under a new lease. Call
/// inside a write transaction.
pub fn claim(
    conn: &mut DbConn,
    lease_id: &str,
    now: NaiveDateTime,
    lease: Duration,
) -> StoreResult<Vec<AlertRuleRow>> {
    let free = alert_rules::enabled
        .eq(true)
        .and(
            alert_rules::lease_expires_at
                .is_null()
                .or(alert_rules::lease_expires_at.lt(now)),
        )
        .and(
            alert_rules::next_attempt_at
                .is_null()
                .or(alert_rules::next_attempt_at.le(now)),
        );
    diesel::update(alert_rules::table.filter(free))
        .set((
            alert_rules::lease_id.eq(lease_id),
            alert_rules::lease_expires_at.eq(now + lease),
        ))
        .execute(conn)?;
    Ok(alert_rules::table
        .filter(alert_rules::lease_id.eq(lease_id))
        .select(AlertRuleRow::as_select())
        .order(alert_rules::id.asc())
        .load(conn)?)
}

pub fn release(conn: &mut DbConn, id: &str, lease_id: &str) -> StoreResult<()> {
    diesel::update(
        alert_rules::table
            .filter(alert_rules::id.eq(id))
            .filter(alert_rules::lease_id.eq(lease_id)),
    )
    .set((
        alert_rules::lease_id.eq(None::<String>),
        alert_rules::lease_expires_at.eq(None::<NaiveDateTime>),
    ))
    .execute(conn)?;
    Ok(())
}

/// Moves a rule's cursor (only while `lease_id` holds it); the rule is no longer failing.
pub fn advance(conn: &mut DbConn, id: &str, lease_id: &str, p: Position) -> StoreResult<bool> {
    Ok(diesel::update(
        alert_rules::table
            .filter(alert_rules::id.eq(id))
            .filter(alert_rules::lease_id.eq(lease_id)),
    )
    .set((
        alert_rules::cursor_txid.eq(p.txid),
        alert_rules::cursor_seq.eq(p.seq),
        alert_rules::attempts.eq(0),
        alert_rules::next_attempt_at.eq(None::<NaiveDateTime>),
        alert_rules::last_error.eq(None::<String>),
    ))
    .execute(conn)?
        > 0)
}

/// A message of the rule could not be sent: try again at `at`.
pub fn retry_at(
    conn: &mut DbConn,
    id: &str,
    lease_id: &str,
    attempts: i32,
    at: NaiveDateTime,
    error: &str,
) -> StoreResult<()> {
    diesel::update(
        alert_rules::table
            .filter(alert_rules::id.eq(id))
            .filter(alert_rules::lease_id.eq(lease_id)),
    )
    .set((
        alert_rules::attempts.eq(attempts),
        alert_rules::next_attempt_at.eq(Some(at)),
        alert_rules::last_error.eq(Some(error)),
    ))
    .execute(conn)?;
    Ok(())
}

pub fn find_match(
    conn: &mut DbConn,
    rule_id: &str,
    response_id: &str,
) -> StoreResult<Option<MatchRow>> {
    Ok(alert_matches::table
        .filter(alert_matches::rule_id.eq(rule_id))
        .filter(alert_matches::response_id.eq(response_id))
        .select(MatchRow::as_select())
        .first(conn)
        .optional()?)
}

/// Records that the rule matched the answer (notified now, or waiting for the summary when
/// `notified_at` is None). Answers false when it had matched before.
pub fn record_match(
    conn: &mut DbConn,
    rule_id: &str,
    response_id: &str,
    survey_id: &str,
    notified_at: Option<NaiveDateTime>,
    now: NaiveDateTime,
) -> StoreResult<bool> {
    // One instance serves a rule at a time (its lease): a look first is enough.
    if find_match(conn, rule_id, response_id)?.is_some() {
        return Ok(false);
    }
    let n = diesel::insert_into(alert_matches::table)
        .values((
            alert_matches::rule_id.eq(rule_id),
            alert_matches::response_id.eq(response_id),
            alert_matches::survey_id.eq(survey_id),
            alert_matches::matched_at.eq(now),
            alert_matches::notified_at.eq(notified_at),
        ))
        .execute(conn)?;
    Ok(n > 0)
}

pub fn forget_match(conn: &mut DbConn, rule_id: &str, response_id: &str) -> StoreResult<()> {
    diesel::delete(
        alert_matches::table
            .filter(alert_matches::rule_id.eq(rule_id))
            .filter(alert_matches::response_id.eq(response_id)),
    )
    .execute(conn)?;
    Ok(())
}

pub fn note_discarded(
    conn: &mut DbConn,
    rule_id: &str,
    response_id: &str,
    now: NaiveDateTime,
) -> StoreResult<()> {
    diesel::update(
        alert_matches::table
            .filter(alert_matches::rule_id.eq(rule_id))
            .filter(alert_matches::response_id.eq(response_id)),
    )
    .set(alert_matches::discard_noted_at.eq(Some(now)))
    .execute(conn)?;
    Ok(())
}

/// The rule's matches waiting for its summary, oldest first.
pub fn pending(conn: &mut DbConn, rule_id: &str) -> StoreResult<Vec<MatchRow>> {
    Ok(alert_matches::table
        .filter(alert_matches::rule_id.eq(rule_id))
        .filter(alert_matches::notified_at.is_null())
        .select(MatchRow::as_select())
        .order(alert_matches::matched_at.asc())
        .load(conn)?)
}

pub fn mark_notified(
    conn: &mut DbConn,
    rule_id: &str,
    response_ids: &[String],
    now: NaiveDateTime,
) -> StoreResult<()> {
    for chunk in response_ids.chunks(500) {
        diesel::update(
            alert_matches::table
                .filter(alert_matches::rule_id.eq(rule_id))
                .filter(alert_matches::response_id.eq_any(chunk)),
        )
        .set(alert_matches::notified_at.eq(Some(now)))
        .execute(conn)?;
    }
    Ok(())
}

/// Alerts sent about the survey's answers in [since, until): what the digest reports.
pub fn count_notified(
    conn: &mut DbConn,
    survey_id: &str,
    since: NaiveDateTime,
    until: NaiveDateTime,
) -> StoreResult<i64> {
    Ok(alert_matches::table
        .filter(alert_matches::survey_id.eq(survey_id))
        .filter(alert_matches::notified_at.ge(since))
        .filter(alert_matches::notified_at.lt(until))
        .count()
        .get_result(conn)?)
}
