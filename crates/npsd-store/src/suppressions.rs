//! Suppressed addresses, found by a keyed hash; the address itself is kept only until the
//! person is erased. Rows from before the key existed carry a plain SHA-256 and are re-keyed
//! when their address is next seen (see [`HashKind`]).
use super::schema::{app_secrets, suppressions};
use super::{is_unique_violation, DbConn, StoreResult};
use crate::state::SuppressionReason;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use npsd_domain::suppression::{keyed_hash, plain_hash, HashKind};

/// The name of the installation's suppression key in `app_secrets` (made by the `privacy`
/// migration, so it exists before any suppression is written or read).
pub const KEY_NAME: &str = "suppression_key";

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = suppressions)]
// None is bound as NULL rather than left out as DEFAULT: the INSERT's text then never varies,
// so SQLite prepares it (and compiles its triggers) once, not on every insert.
#[diesel(treat_none_as_default_value = false)]
pub struct SuppressionRow {
    pub email_hash: String,
    pub email: Option<String>,
    pub reason: SuppressionReason,
    pub created_at: NaiveDateTime,
    /// [`HashKind`]: how `email_hash` was made.
    pub hash_kind: String,
}

/// An address's hash as rows carry it now, and as rows from before the key carry it.
struct Hashes {
    keyed: String,
    plain: String,
}

fn hashes(conn: &mut DbConn, email_key: &str) -> StoreResult<Hashes> {
    let key: String = app_secrets::table
        .find(KEY_NAME)
        .select(app_secrets::value)
        .get_result(conn)?;
    Ok(Hashes {
        keyed: keyed_hash(&key, email_key),
        plain: plain_hash(email_key),
    })
}

/// The address's row, keyed or from before the key.
fn lookup(conn: &mut DbConn, h: &Hashes) -> StoreResult<Option<SuppressionRow>> {
    Ok(suppressions::table
        .filter(
            suppressions::email_hash
                .eq(&h.keyed)
                .or(suppressions::email_hash
                    .eq(&h.plain)
                    .and(suppressions::hash_kind.eq(HashKind::Plain.as_str()))),
        )
        .select(SuppressionRow::as_select())
        .first(conn)
        .optional()?)
}

/// Gives the address's row from before the key its keyed hash. Inside a write only.
fn rekey(conn: &mut DbConn, h: &Hashes) -> StoreResult<()> {
    diesel::update(
        suppressions::table
            .filter(suppressions::email_hash.eq(&h.plain))
            .filter(suppressions::hash_kind.eq(HashKind::Plain.as_str())),
    )
    .set((
        suppressions::email_hash.eq(&h.keyed),
        suppressions::hash_kind.eq(HashKind::Keyed.as_str()),
    ))
    .execute(conn)?;
    Ok(())
}

/// Whether the address is suppressed. Call inside a write (every caller decides a sending with
/// it): a row from before the key is re-keyed on the way.
pub fn is_suppressed(conn: &mut DbConn, email_key: &str) -> StoreResult<bool> {
    let h = hashes(conn, email_key)?;
    match lookup(conn, &h)? {
        Some(row) => {
            if row.hash_kind != HashKind::Keyed.as_str() {
                rekey(conn, &h)?;
            }
            Ok(true)
        }
        None => Ok(false),
    }
}

pub fn find(conn: &mut DbConn, email_key: &str) -> StoreResult<Option<SuppressionRow>> {
    let h = hashes(conn, email_key)?;
    lookup(conn, &h)
}

/// Adds a suppression; answers (the row as stored, whether it is new). An address suppressed
/// already keeps its first reason and time.
pub fn add(
    conn: &mut DbConn,
    email: &str,
    email_key: &str,
    reason: SuppressionReason,
    now: NaiveDateTime,
) -> StoreResult<(SuppressionRow, bool)> {
    let h = hashes(conn, email_key)?;
    rekey(conn, &h)?;
    let row = SuppressionRow {
        email_hash: h.keyed.clone(),
        email: Some(email.to_string()),
        reason,
        created_at: now,
        hash_kind: HashKind::Keyed.as_str().to_string(),
    };
    let inserted = conn.transaction(|c| {
        diesel::insert_into(suppressions::table)
            .values(&row)
            .execute(c)
    });
    match inserted {
        Ok(_) => Ok((row, true)),
        Err(e) if is_unique_violation(&e) => {
            let existing = lookup(conn, &h)?.ok_or(diesel::result::Error::NotFound)?;
            Ok((existing, false))
        }
        Err(e) => Err(e.into()),
    }
}

/// Removes a suppression; answers whether there was one.
pub fn remove(conn: &mut DbConn, email_key: &str) -> StoreResult<bool> {
    let h = hashes(conn, email_key)?;
    rekey(conn, &h)?;
    let n = diesel::delete(suppressions::table.find(&h.keyed)).execute(conn)?;
    Ok(n > 0)
}

/// Forgets the address of a suppression but keeps it in force, under the keyed hash (erasure of
/// a person).
pub fn keep_hash_only(conn: &mut DbConn, email_key: &str) -> StoreResult<bool> {
    let h = hashes(conn, email_key)?;
    rekey(conn, &h)?;
    let n = diesel::update(suppressions::table.find(&h.keyed))
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
        .filter(suppressions::reason.eq(SuppressionReason::Bounce))
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
