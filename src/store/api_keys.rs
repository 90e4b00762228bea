use super::schema::api_keys;
use super::{new_id, DbConn, StoreResult};
use chrono::NaiveDateTime;
use diesel::prelude::*;

pub fn count_active(conn: &mut DbConn) -> StoreResult<i64> {
    Ok(api_keys::table
        .filter(api_keys::revoked_at.is_null())
        .count()
        .get_result(conn)?)
}

/// Stores a key by its hash; the key itself is never stored.
pub fn insert(
    conn: &mut DbConn,
    name: &str,
    key_hash: &str,
    prefix: &str,
    now: NaiveDateTime,
) -> StoreResult<()> {
    diesel::insert_into(api_keys::table)
        .values((
            api_keys::id.eq(new_id()),
            api_keys::name.eq(name),
            api_keys::key_hash.eq(key_hash),
            api_keys::prefix.eq(prefix),
            api_keys::scopes.eq("*"),
            api_keys::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn is_active(conn: &mut DbConn, key_hash: &str) -> StoreResult<bool> {
    let n: i64 = api_keys::table
        .filter(api_keys::key_hash.eq(key_hash))
        .filter(api_keys::revoked_at.is_null())
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}
