//! The events table: one row per change, appended by the triggers of the migration
//! `2026-12-10-000001_events` in the transaction of the change. Read in (txid, seq) order from a
//! cursor; on PostgreSQL only the events of transactions older than every one still running, so
//! that an event whose transaction took its sequence number early and committed late is never
//! passed over (a cursor moves only over what can no longer change).
use super::schema::events;
use super::{DbConn, StoreResult};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::BigInt;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = events)]
pub struct EventRow {
    pub seq: i64,
    pub txid: i64,
    pub kind: String,
    pub survey_id: Option<String>,
    /// The answer's or invitation's id; an unsubscribe's or a bounce's address.
    pub subject_id: Option<String>,
    pub data: String,
    pub occurred_at: NaiveDateTime,
}

/// A place in the events' order: everything up to and including it has been read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Position {
    pub txid: i64,
    pub seq: i64,
}

/// An event's id as consumers see it (`webhook-id`): `evt_` and its seq, which is never reused.
pub fn id_of(seq: i64) -> String {
    format!("evt_{seq}")
}

impl EventRow {
    pub fn id(&self) -> String {
        id_of(self.seq)
    }

    pub fn position(&self) -> Position {
        Position {
            txid: self.txid,
            seq: self.seq,
        }
    }
}

impl Position {
    /// As the API shows it: opaque to consumers, stable across versions.
    pub fn to_cursor(self) -> String {
        format!("{}_{}", self.txid, self.seq)
    }

    pub fn from_cursor(raw: &str) -> Option<Position> {
        let (txid, seq) = raw.trim().split_once('_')?;
        let txid: i64 = txid.parse().ok()?;
        let seq: i64 = seq.parse().ok()?;
        (txid >= 0 && seq >= 0).then_some(Position { txid, seq })
    }
}

/// Which events a reader wants.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    /// Empty: every type.
    pub types: Vec<String>,
    /// None: every survey's, and the events of no survey (bounces, erasures).
    pub survey_id: Option<String>,
}

/// What one read of the events found.
#[derive(Debug, Clone)]
pub struct Read {
    /// The matching events, oldest first.
    pub rows: Vec<EventRow>,
    /// How far the read got: the last event looked at, matching or not (None when there was
    /// nothing new), so that a reader that skips events of other types moves past them.
    pub reached: Option<Position>,
    /// More events may follow already (the read stopped at its limit).
    pub more: bool,
}

/// Up to `limit` events after `after` that match `filter` (looking at `scan` events at most),
/// oldest first, among those that can no longer be preceded by an event still being written.
pub fn after(
    conn: &mut DbConn,
    after: Position,
    filter: &EventFilter,
    limit: i64,
    scan: i64,
) -> StoreResult<Read> {
    // The rows after the cursor in order, matching or not (up to `scan`), then the matching ones
    // among them: the cursor passes over what no reader of this filter wants.
    let visible_below: Option<i64> = match conn {
        #[cfg(feature = "postgres")]
        DbConn::Postgresql(c) => Some(
            diesel::select(diesel::dsl::sql::<BigInt>(
                "pg_snapshot_xmin(pg_current_snapshot())::text::bigint",
            ))
            .get_result(c)?,
        ),
        #[cfg(feature = "sqlite")]
        DbConn::Sqlite(_) => None,
    };
    let rows: Vec<EventRow> = match visible_below {
        // PostgreSQL: by (txid, seq), below the oldest running transaction.
        Some(below) => events::table
            .select(EventRow::as_select())
            .filter(
                events::txid
                    .gt(after.txid)
                    .or(events::txid.eq(after.txid).and(events::seq.gt(after.seq))),
            )
            .filter(events::txid.lt(below))
            .order((events::txid.asc(), events::seq.asc()))
            .limit(scan)
            .load(conn)?,
        // SQLite: txid is 0, seq is the commit order: the primary key.
        None => events::table
            .select(EventRow::as_select())
            .filter(events::seq.gt(after.seq))
            .order(events::seq.asc())
            .limit(scan)
            .load(conn)?,
    };
    let full = rows.len() as i64 >= scan;
    let reached = rows.last().map(EventRow::position);
    let mut out: Vec<EventRow> = rows
        .into_iter()
        .filter(|e| filter.types.is_empty() || filter.types.contains(&e.kind))
        .filter(|e| match &filter.survey_id {
            None => true,
            Some(s) => e.survey_id.as_deref() == Some(s.as_str()),
        })
        .collect();
    if out.len() as i64 > limit {
        out.truncate(limit as usize);
        let reached = out.last().map(EventRow::position);
        return Ok(Read {
            rows: out,
            reached,
            more: true,
        });
    }
    Ok(Read {
        rows: out,
        reached,
        more: full,
    })
}

/// The position of the newest event written so far: a new reader starts after it.
pub fn head(conn: &mut DbConn) -> StoreResult<Position> {
    let last: Option<(i64, i64)> = events::table
        .select((events::txid, events::seq))
        .order((events::txid.desc(), events::seq.desc()))
        .first(conn)
        .optional()?;
    Ok(last.map_or(Position::default(), |(txid, seq)| Position { txid, seq }))
}

/// One event by id (`evt_` and its seq).
pub fn find(conn: &mut DbConn, id: &str) -> StoreResult<Option<EventRow>> {
    let Some(seq) = id.strip_prefix("evt_").and_then(|s| s.parse::<i64>().ok()) else {
        return Ok(None);
    };
    Ok(events::table
        .filter(events::seq.eq(seq))
        .select(EventRow::as_select())
        .first(conn)
        .optional()?)
}

/// Appends an event the triggers cannot see (an erasure, whose rows are gone). Call inside the
/// write transaction of the change.
pub fn append(
    conn: &mut DbConn,
    kind: &str,
    survey_id: Option<&str>,
    data: &str,
    now: NaiveDateTime,
) -> StoreResult<()> {
    diesel::insert_into(events::table)
        .values((
            events::kind.eq(kind),
            events::survey_id.eq(survey_id),
            events::data.eq(data),
            events::occurred_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Forgets the events about these subjects: answers (an import that was asked to emit none), or
/// everything of a person being erased (their answers, invitations and address).
pub fn forget_subjects(conn: &mut DbConn, subject_ids: &[String]) -> StoreResult<usize> {
    let mut n = 0;
    for chunk in subject_ids.chunks(500) {
        n +=
            diesel::delete(events::table.filter(events::subject_id.eq_any(chunk))).execute(conn)?;
    }
    Ok(n)
}

/// Deletes up to `batch` events that occurred before `cutoff`; answers how many went.
pub fn prune(conn: &mut DbConn, cutoff: NaiveDateTime, batch: i64) -> StoreResult<usize> {
    // The oldest first, by the primary key: events come in time order, so the walk stops at the
    // first one young enough (no index on the time to keep up on every answer).
    let oldest: Vec<(i64, NaiveDateTime)> = events::table
        .select((events::seq, events::occurred_at))
        .order(events::seq.asc())
        .limit(batch)
        .load(conn)?;
    let old: Vec<i64> = oldest
        .into_iter()
        .take_while(|(_, at)| *at < cutoff)
        .map(|(seq, _)| seq)
        .collect();
    if old.is_empty() {
        return Ok(0);
    }
    Ok(diesel::delete(events::table.filter(events::seq.eq_any(&old))).execute(conn)?)
}
