//! Webhook endpoints and the log of their deliveries. An endpoint is a reader of the events with
//! its own cursor (`events::after`): it is claimed under a lease by one instance at a time, posts
//! the next event, and moves its cursor only once that event was delivered or given up.
use super::events::Position;
use super::schema::{webhook_deliveries, webhooks};
use super::{DbConn, StoreResult};
use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = webhooks)]
pub struct WebhookRow {
    pub id: String,
    pub url: String,
    /// A JSON array of event types; empty: every type.
    pub events: String,
    pub survey_id: Option<String>,
    pub description: Option<String>,
    pub format: String,
    pub secret: String,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    pub cursor_txid: i64,
    pub cursor_seq: i64,
    pub attempts: i32,
    pub next_attempt_at: Option<NaiveDateTime>,
    pub failing_since: Option<NaiveDateTime>,
    pub lease_id: Option<String>,
    pub lease_expires_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl WebhookRow {
    pub fn cursor(&self) -> Position {
        Position {
            txid: self.cursor_txid,
            seq: self.cursor_seq,
        }
    }

    /// The event types it wants (empty: all).
    pub fn event_types(&self) -> Vec<String> {
        serde_json::from_str(&self.events).unwrap_or_default()
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = webhook_deliveries)]
pub struct DeliveryRow {
    pub id: String,
    pub webhook_id: String,
    pub event_id: String,
    pub event_type: String,
    pub attempt: i32,
    pub outcome: String,
    pub response_code: Option<i32>,
    pub response_body: Option<String>,
    pub error: Option<String>,
    pub duration_ms: i64,
    pub created_at: NaiveDateTime,
}

pub fn insert(conn: &mut DbConn, row: &WebhookRow) -> StoreResult<()> {
    diesel::insert_into(webhooks::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn find(conn: &mut DbConn, id: &str) -> StoreResult<Option<WebhookRow>> {
    Ok(webhooks::table
        .filter(webhooks::id.eq(id))
        .select(WebhookRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn list(conn: &mut DbConn) -> StoreResult<Vec<WebhookRow>> {
    Ok(webhooks::table
        .select(WebhookRow::as_select())
        .order((webhooks::created_at.asc(), webhooks::id.asc()))
        .load(conn)?)
}

/// What a change to an endpoint sets.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = webhooks)]
pub struct WebhookChange {
    pub url: Option<String>,
    pub events: Option<String>,
    pub survey_id: Option<Option<String>>,
    pub description: Option<Option<String>>,
    pub format: Option<String>,
    pub enabled: Option<bool>,
    pub disabled_reason: Option<Option<String>>,
    pub attempts: Option<i32>,
    pub next_attempt_at: Option<Option<NaiveDateTime>>,
    pub failing_since: Option<Option<NaiveDateTime>>,
    pub updated_at: Option<NaiveDateTime>,
}

pub fn update(conn: &mut DbConn, id: &str, change: &WebhookChange) -> StoreResult<bool> {
    Ok(diesel::update(webhooks::table.filter(webhooks::id.eq(id)))
        .set(change)
        .execute(conn)?
        > 0)
}

pub fn delete(conn: &mut DbConn, id: &str) -> StoreResult<bool> {
    diesel::delete(webhook_deliveries::table.filter(webhook_deliveries::webhook_id.eq(id)))
        .execute(conn)?;
    Ok(diesel::delete(webhooks::table.filter(webhooks::id.eq(id))).execute(conn)? > 0)
}

/// Claims the enabled endpoints that are free and not waiting for a retry, under a new lease.
/// Call inside a write transaction; two instances never hold the same endpoint.
pub fn claim(
    conn: &mut DbConn,
    lease_id: &str,
    now: NaiveDateTime,
    lease: Duration,
) -> StoreResult<Vec<WebhookRow>> {
    let free = webhooks::enabled
        .eq(true)
        .and(
            webhooks::lease_expires_at
                .is_null()
                .or(webhooks::lease_expires_at.lt(now)),
        )
        .and(
            webhooks::next_attempt_at
                .is_null()
                .or(webhooks::next_attempt_at.le(now)),
        );
    diesel::update(webhooks::table.filter(free))
        .set((
            webhooks::lease_id.eq(lease_id),
            webhooks::lease_expires_at.eq(now + lease),
        ))
        .execute(conn)?;
    Ok(webhooks::table
        .filter(webhooks::lease_id.eq(lease_id))
        .select(WebhookRow::as_select())
        .order(webhooks::id.asc())
        .load(conn)?)
}

/// Lets go of an endpoint's lease (the round is over).
pub fn release(conn: &mut DbConn, id: &str, lease_id: &str) -> StoreResult<()> {
    diesel::update(
        webhooks::table
            .filter(webhooks::id.eq(id))
            .filter(webhooks::lease_id.eq(lease_id)),
    )
    .set((
        webhooks::lease_id.eq(None::<String>),
        webhooks::lease_expires_at.eq(None::<NaiveDateTime>),
    ))
    .execute(conn)?;
    Ok(())
}

/// What became of the event at the head of an endpoint's queue.
#[derive(Debug, Clone, Copy)]
pub enum Step {
    /// Done with it (delivered, or given up): the cursor moves past it.
    Past(Position),
    /// To be tried again at this time; the endpoint has been failing since `since`.
    RetryAt {
        at: NaiveDateTime,
        attempts: i32,
        since: NaiveDateTime,
    },
    /// Failing for too long: the endpoint is switched off.
    Disable,
}

/// Records a step of an endpoint, only while `lease_id` still holds it; answers whether it did.
pub fn step(
    conn: &mut DbConn,
    id: &str,
    lease_id: &str,
    step: Step,
    reason: Option<&str>,
    now: NaiveDateTime,
) -> StoreResult<bool> {
    let held = webhooks::table
        .filter(webhooks::id.eq(id))
        .filter(webhooks::lease_id.eq(lease_id));
    let n = match step {
        Step::Past(p) => diesel::update(held)
            .set((
                webhooks::cursor_txid.eq(p.txid),
                webhooks::cursor_seq.eq(p.seq),
                webhooks::attempts.eq(0),
                webhooks::next_attempt_at.eq(None::<NaiveDateTime>),
                webhooks::failing_since.eq(None::<NaiveDateTime>),
            ))
            .execute(conn)?,
        Step::RetryAt {
            at,
            attempts,
            since,
        } => diesel::update(held)
            .set((
                webhooks::attempts.eq(attempts),
                webhooks::next_attempt_at.eq(Some(at)),
                webhooks::failing_since.eq(Some(since)),
            ))
            .execute(conn)?,
        Step::Disable => diesel::update(held)
            .set((
                webhooks::enabled.eq(false),
                webhooks::disabled_reason.eq(reason),
                webhooks::attempts.eq(0),
                webhooks::next_attempt_at.eq(None::<NaiveDateTime>),
                webhooks::failing_since.eq(None::<NaiveDateTime>),
                webhooks::updated_at.eq(now),
            ))
            .execute(conn)?,
    };
    Ok(n > 0)
}

/// Moves a reader's cursor over events none of which it wants (only while it holds the lease).
pub fn skip_to(conn: &mut DbConn, id: &str, lease_id: &str, p: Position) -> StoreResult<()> {
    diesel::update(
        webhooks::table
            .filter(webhooks::id.eq(id))
            .filter(webhooks::lease_id.eq(lease_id)),
    )
    .set((
        webhooks::cursor_txid.eq(p.txid),
        webhooks::cursor_seq.eq(p.seq),
    ))
    .execute(conn)?;
    Ok(())
}

pub fn log_delivery(conn: &mut DbConn, row: &DeliveryRow) -> StoreResult<()> {
    diesel::insert_into(webhook_deliveries::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// An endpoint's deliveries, newest first, before `before` (a delivery id) when given.
pub fn deliveries(
    conn: &mut DbConn,
    webhook_id: &str,
    before: Option<&str>,
    limit: i64,
) -> StoreResult<Vec<DeliveryRow>> {
    let mut q = webhook_deliveries::table
        .filter(webhook_deliveries::webhook_id.eq(webhook_id))
        .select(DeliveryRow::as_select())
        // Ids are UUIDv7: newest first is the ids' order.
        .order(webhook_deliveries::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(before) = before {
        q = q.filter(webhook_deliveries::id.lt(before));
    }
    Ok(q.load(conn)?)
}

pub fn delivery(conn: &mut DbConn, webhook_id: &str, id: &str) -> StoreResult<Option<DeliveryRow>> {
    Ok(webhook_deliveries::table
        .filter(webhook_deliveries::webhook_id.eq(webhook_id))
        .filter(webhook_deliveries::id.eq(id))
        .select(DeliveryRow::as_select())
        .first(conn)
        .optional()?)
}

/// Deletes delivery logs older than `cutoff`.
pub fn prune_deliveries(conn: &mut DbConn, cutoff: NaiveDateTime) -> StoreResult<usize> {
    Ok(
        diesel::delete(webhook_deliveries::table.filter(webhook_deliveries::created_at.lt(cutoff)))
            .execute(conn)?,
    )
}
