//! The durable outbox: rows are claimed with a lease, sent, then marked. A dispatcher that dies
//! between claim and mark leaves a lease that expires, and the row is claimed again: never lost.
use super::schema::outbox;
use super::{DbConn, StoreResult};
use crate::ids::InvitationId;
use crate::state::{JobKind, OutboxStatus};
use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use diesel::IntoSql;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = outbox)]
pub struct OutboxRow {
    pub id: String,
    pub kind: JobKind,
    pub invitation_id: Option<InvitationId>,
    pub status: OutboxStatus,
    pub due_at: NaiveDateTime,
    pub attempts: i32,
    pub lease_id: Option<String>,
    pub lease_expires_at: Option<NaiveDateTime>,
    pub last_error: Option<String>,
    /// Digest jobs: the digest and the one address this job sends it to.
    pub digest_id: Option<String>,
    pub recipient: Option<String>,
    /// Alert emails: the rule, the answers and the kind of message, as JSON.
    pub payload: Option<String>,
}

/// Queues an email job of `kind` to `recipient` with its `payload`, due now. Call inside the
/// write that decided to send it.
pub fn enqueue(
    conn: &mut DbConn,
    kind: JobKind,
    recipient: &str,
    payload: &str,
    now: NaiveDateTime,
) -> StoreResult<()> {
    diesel::insert_into(outbox::table)
        .values((
            outbox::id.eq(super::new_id()),
            outbox::kind.eq(kind),
            outbox::recipient.eq(recipient),
            outbox::payload.eq(payload),
            outbox::status.eq(OutboxStatus::Pending),
            outbox::due_at.eq(now),
            outbox::attempts.eq(0),
            outbox::created_at.eq(now),
            outbox::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Claims up to `limit` due rows (or only the jobs of one digest, for `npsd digest`) under one new
/// lease and returns the lease id with the rows. Call
/// inside a write transaction. Several dispatchers never get the same row: PostgreSQL skips rows
/// another claim has locked, and the update re-checks that each row is still free before taking it.
pub fn claim_due(
    conn: &mut DbConn,
    lease_id: &str,
    now: NaiveDateTime,
    limit: i64,
    lease: Duration,
    only_digest: Option<&str>,
) -> StoreResult<Vec<OutboxRow>> {
    // Every row matches `digest_id = digest_id OR ...`; with `only_digest`, only that digest's.
    let any = only_digest.is_none();
    let digest = only_digest.unwrap_or("").to_string();
    macro_rules! due_ids {
        () => {
            outbox::table
                .select(outbox::id)
                .filter(
                    any.into_sql::<diesel::sql_types::Bool>()
                        .or(outbox::digest_id.eq(&digest)),
                )
                .filter(outbox::status.eq(OutboxStatus::Pending))
                // Only kinds this build can do: during a rolling upgrade, an older instance
                // leaves a newer kind of job to the instances that know it.
                .filter(outbox::kind.eq_any(JobKind::ALL.to_vec()))
                .filter(outbox::due_at.le(now))
                .filter(
                    outbox::lease_expires_at
                        .is_null()
                        .or(outbox::lease_expires_at.lt(now)),
                )
                .order(outbox::due_at.asc())
                .limit(limit)
        };
    }
    let ids: Vec<String> = match conn {
        #[cfg(feature = "postgres")]
        DbConn::Postgresql(c) => due_ids!().for_update().skip_locked().load(c)?,
        // SQLite has a single writer (and npsd writes through one connection): no row locks needed.
        #[cfg(feature = "sqlite")]
        DbConn::Sqlite(c) => due_ids!().load(c)?,
    };
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    diesel::update(
        outbox::table
            .filter(outbox::id.eq_any(&ids))
            .filter(outbox::status.eq(OutboxStatus::Pending))
            .filter(
                outbox::lease_expires_at
                    .is_null()
                    .or(outbox::lease_expires_at.lt(now)),
            ),
    )
    .set((
        outbox::lease_id.eq(lease_id),
        outbox::lease_expires_at.eq(now + lease),
        outbox::attempts.eq(outbox::attempts + 1),
        outbox::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(outbox::table
        .filter(outbox::lease_id.eq(lease_id))
        .order(outbox::due_at.asc())
        .select(OutboxRow::as_select())
        .load(conn)?)
}

/// Extends a lease whose messages are still being sent; answers the rows it still holds (a late
/// renewal may find that another dispatcher took some over).
pub fn renew(
    conn: &mut DbConn,
    lease_id: &str,
    until: NaiveDateTime,
    now: NaiveDateTime,
) -> StoreResult<Vec<String>> {
    diesel::update(
        outbox::table
            .filter(outbox::lease_id.eq(lease_id))
            .filter(outbox::status.eq(OutboxStatus::Pending)),
    )
    .set((
        outbox::lease_expires_at.eq(until),
        outbox::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(outbox::table
        .filter(outbox::lease_id.eq(lease_id))
        .filter(outbox::status.eq(OutboxStatus::Pending))
        .select(outbox::id)
        .load(conn)?)
}

/// The row `id` while the lease `lease_id` owns it (still pending): the only row an outcome may
/// change.
macro_rules! owned_by {
    ($id:expr, $lease_id:expr) => {
        outbox::table
            .find($id)
            .filter(outbox::lease_id.eq($lease_id))
            .filter(outbox::status.eq(OutboxStatus::Pending))
    };
}

/// The outcome of a row, written only while `lease_id` still owns it. Answers false when the
/// lease was lost (it expired and another dispatcher claimed the row): that one records instead.
fn finish(
    conn: &mut DbConn,
    id: &str,
    lease_id: &str,
    status: OutboxStatus,
    error: Option<&str>,
    now: NaiveDateTime,
) -> StoreResult<bool> {
    let n = diesel::update(owned_by!(id, lease_id))
        .set((
            outbox::status.eq(status),
            outbox::last_error.eq(error),
            outbox::lease_id.eq(None::<String>),
            outbox::lease_expires_at.eq(None::<NaiveDateTime>),
            outbox::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(n == 1)
}

pub fn mark_sent(
    conn: &mut DbConn,
    id: &str,
    lease_id: &str,
    now: NaiveDateTime,
) -> StoreResult<bool> {
    finish(conn, id, lease_id, OutboxStatus::Sent, None, now)
}

pub fn mark_failed(
    conn: &mut DbConn,
    id: &str,
    lease_id: &str,
    error: &str,
    now: NaiveDateTime,
) -> StoreResult<bool> {
    finish(conn, id, lease_id, OutboxStatus::Failed, Some(error), now)
}

pub fn mark_cancelled(
    conn: &mut DbConn,
    id: &str,
    lease_id: &str,
    reason: &str,
    now: NaiveDateTime,
) -> StoreResult<bool> {
    finish(
        conn,
        id,
        lease_id,
        OutboxStatus::Cancelled,
        Some(reason),
        now,
    )
}

/// Gives the row back, due again at `due_at`, if `lease_id` still owns it.
pub fn retry_at(
    conn: &mut DbConn,
    id: &str,
    lease_id: &str,
    due_at: NaiveDateTime,
    error: &str,
    now: NaiveDateTime,
) -> StoreResult<bool> {
    let n = diesel::update(owned_by!(id, lease_id))
        .set((
            outbox::due_at.eq(due_at),
            outbox::last_error.eq(Some(error)),
            outbox::lease_id.eq(None::<String>),
            outbox::lease_expires_at.eq(None::<NaiveDateTime>),
            outbox::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(n == 1)
}

/// Gives back rows a lease claimed but never started (shutting down, or too close to the lease's
/// end): free at once, and the claim does not count as an attempt. `ids` None: all of the lease.
pub fn release(
    conn: &mut DbConn,
    lease_id: &str,
    ids: Option<&[String]>,
    now: NaiveDateTime,
) -> StoreResult<usize> {
    let mut q = diesel::update(outbox::table)
        .filter(outbox::lease_id.eq(lease_id))
        .filter(outbox::status.eq(OutboxStatus::Pending))
        .into_boxed();
    if let Some(ids) = ids {
        q = q.filter(outbox::id.eq_any(ids));
    }
    Ok(q.set((
        outbox::lease_id.eq(None::<String>),
        outbox::lease_expires_at.eq(None::<NaiveDateTime>),
        outbox::attempts.eq(outbox::attempts - 1),
        outbox::updated_at.eq(now),
    ))
    .execute(conn)?)
}

/// Rows that are claimed right now (a lease that has not run out), for checks and shutdown.
pub fn count_claimed(conn: &mut DbConn, now: NaiveDateTime) -> StoreResult<i64> {
    Ok(outbox::table
        .filter(outbox::status.eq(OutboxStatus::Pending))
        .filter(outbox::lease_expires_at.ge(now))
        .count()
        .get_result(conn)?)
}

/// When the next pending row falls due (or its lease runs out), so the dispatcher can sleep until then.
pub fn next_due(conn: &mut DbConn) -> StoreResult<Option<NaiveDateTime>> {
    // The first row of the index-ordered scan.
    let row: Option<(NaiveDateTime, Option<NaiveDateTime>)> = outbox::table
        .filter(outbox::status.eq(OutboxStatus::Pending))
        .order(outbox::due_at.asc())
        .select((outbox::due_at, outbox::lease_expires_at))
        .get_result(conn)
        .optional()?;
    Ok(row.map(|(due, lease)| lease.map_or(due, |l| l.max(due))))
}

/// Locks an invitation's outbox rows until the write transaction ends (PostgreSQL; on SQLite the
/// write transaction already excludes every other writer). Outbox rows are locked before their
/// invitation (see `store::begin_write`).
pub fn lock_for_invitation(conn: &mut DbConn, invitation_id: &InvitationId) -> StoreResult<()> {
    match conn {
        #[cfg(feature = "postgres")]
        DbConn::Postgresql(c) => {
            outbox::table
                .filter(outbox::invitation_id.eq(invitation_id))
                .order(outbox::id.asc())
                .select(outbox::id)
                .for_update()
                .load::<String>(c)?;
        }
        #[cfg(feature = "sqlite")]
        DbConn::Sqlite(_) => {}
    }
    let _ = invitation_id;
    Ok(())
}

pub fn find_for_invitation(
    conn: &mut DbConn,
    invitation_id: &InvitationId,
) -> StoreResult<Option<OutboxRow>> {
    Ok(outbox::table
        .filter(outbox::invitation_id.eq(invitation_id))
        .select(OutboxRow::as_select())
        .get_result(conn)
        .optional()?)
}
