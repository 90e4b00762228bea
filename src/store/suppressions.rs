//! Suppressed addresses, found by hash; the address itself is kept only until the person is erased.
use super::schema::suppressions;
use super::{is_unique_violation, DbConn, StoreResult};
use crate::domain::suppression::hash_key;
use chrono::NaiveDateTime;
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = suppressions)]
// None is bound as NULL rather than left out as DEFAULT: the INSERT's text then never varies,
// so SQLite prepares it (and compiles its triggers) once, not on every insert.
#[diesel(treat_none_as_default_value = false)]
pub struct SuppressionRow {
    pub email_hash: String,
    pub email: Option<String>,
    pub reason: String,
    pub created_at: NaiveDateTime,
}

pub fn is_suppressed(conn: &mut DbConn, email_key: &str) -> StoreResult<bool> {
    let n: i64 = suppressions::table
        .filter(suppressions::email_hash.eq(hash_key(email_key)))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

pub fn find(conn: &mut DbConn, email_key: &str) -> StoreResult<Option<SuppressionRow>> {
    Ok(suppressions::table
        .find(hash_key(email_key))
        .select(SuppressionRow::as_select())
        .get_result(conn)
        .optional()?)
}

/// Adds a suppression; answers (the row as stored, whether it is new). An address suppressed
/// already keeps its first reason and time.
pub fn add(
    conn: &mut DbConn,
    email: &str,
    email_key: &str,
    reason: &str,
    now: NaiveDateTime,
) -> StoreResult<(SuppressionRow, bool)> {
    let row = SuppressionRow {
        email_hash: hash_key(email_key),
        email: Some(email.to_string()),
        reason: reason.to_string(),
        created_at: now,
    };
    let inserted = conn.transaction(|c| {
        diesel::insert_into(suppressions::table)
            .values(&row)
            .execute(c)
    });
    match inserted {
        Ok(_) => Ok((row, true)),
        Err(e) if is_unique_violation(&e) => {
            let existing = find(conn, email_key)?.ok_or(diesel::result::Error::NotFound)?;
            Ok((existing, false))
        }
        Err(e) => Err(e.into()),
    }
}

/// Removes a suppression; answers whether there was one.
pub fn remove(conn: &mut DbConn, email_key: &str) -> StoreResult<bool> {
    let n = diesel::delete(suppressions::table.find(hash_key(email_key))).execute(conn)?;
    Ok(n > 0)
}

/// Forgets the address of a suppression but keeps it in force (erasure of a person).
pub fn keep_hash_only(conn: &mut DbConn, email_key: &str) -> StoreResult<bool> {
    let n = diesel::update(suppressions::table.find(hash_key(email_key)))
        .set(suppressions::email.eq(None::<String>))
        .execute(conn)?;
    Ok(n > 0)
}

/// A page of suppressions, oldest first, after the (created_at, email_hash) position.
pub fn list(
    conn: &mut DbConn,
    after: Option<(NaiveDateTime, String)>,
    limit: i64,
) -> StoreResult<Vec<SuppressionRow>> {
    let mut q = suppressions::table
        .select(SuppressionRow::as_select())
        .order((
            suppressions::created_at.asc(),
            suppressions::email_hash.asc(),
        ))
        .limit(limit)
        .into_boxed();
    if let Some((at, hash)) = after {
        q = q.filter(
            suppressions::created_at.gt(at).or(suppressions::created_at
                .eq(at)
                .and(suppressions::email_hash.gt(hash))),
        );
    }
    Ok(q.load(conn)?)
}

/// A page of bounced addresses (suppressed for a bounce, address still held), oldest first, in
/// [since, until).
pub fn bounces(
    conn: &mut DbConn,
    since: Option<NaiveDateTime>,
    until: Option<NaiveDateTime>,
    offset: i64,
    limit: i64,
) -> StoreResult<Vec<(String, NaiveDateTime)>> {
    let mut q = suppressions::table
        .filter(
            suppressions::reason.eq(crate::domain::suppression::SuppressionReason::Bounce.as_str()),
        )
        .filter(suppressions::email.is_not_null())
        .into_boxed();
    if let Some(t) = since {
        q = q.filter(suppressions::created_at.ge(t));
    }
    if let Some(t) = until {
        q = q.filter(suppressions::created_at.lt(t));
    }
    let rows: Vec<(Option<String>, NaiveDateTime)> = q
        .order((
            suppressions::created_at.asc(),
            suppressions::email_hash.asc(),
        ))
        .offset(offset)
        .limit(limit)
        .select((suppressions::email, suppressions::created_at))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(email, at)| Some((email?, at)))
        .collect())
}
