//! API keys: stored by their SHA-256 hash and a short prefix to recognise them by; the key itself
//! exists only in the answer that created it.
use super::schema::api_keys;
use super::{new_id, DbConn, StoreResult};
use crate::ids::SurveyId;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use npsd_domain::access::Scopes;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = api_keys)]
pub struct ApiKeyRow {
    pub id: String,
    pub name: String,
    pub prefix: String,
    pub scopes: String,
    pub created_at: NaiveDateTime,
    pub revoked_at: Option<NaiveDateTime>,
    /// The survey the key's Delighted-compatible requests use; None: the survey `default`.
    pub survey_id: Option<SurveyId>,
}

impl ApiKeyRow {
    pub fn scopes(&self) -> Scopes {
        Scopes::from_stored(&self.scopes)
    }
}

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
    scopes: &Scopes,
    survey_id: Option<SurveyId>,
    now: NaiveDateTime,
) -> StoreResult<ApiKeyRow> {
    let row = ApiKeyRow {
        id: new_id(),
        name: name.to_string(),
        prefix: prefix.to_string(),
        scopes: scopes.to_stored(),
        created_at: now,
        revoked_at: None,
        survey_id,
    };
    diesel::insert_into(api_keys::table)
        .values((
            api_keys::id.eq(&row.id),
            api_keys::name.eq(&row.name),
            api_keys::key_hash.eq(key_hash),
            api_keys::prefix.eq(&row.prefix),
            api_keys::scopes.eq(&row.scopes),
            api_keys::created_at.eq(now),
            api_keys::survey_id.eq(&row.survey_id),
        ))
        .execute(conn)?;
    Ok(row)
}

/// The active key with this hash.
pub fn find_active(conn: &mut DbConn, key_hash: &str) -> StoreResult<Option<ApiKeyRow>> {
    Ok(api_keys::table
        .filter(api_keys::key_hash.eq(key_hash))
        .filter(api_keys::revoked_at.is_null())
        .select(ApiKeyRow::as_select())
        .get_result(conn)
        .optional()?)
}

/// Every key, revoked ones too, oldest first, with the slug of its survey.
pub fn list(conn: &mut DbConn) -> StoreResult<Vec<(ApiKeyRow, Option<String>)>> {
    use super::schema::surveys;
    Ok(api_keys::table
        .left_join(surveys::table.on(api_keys::survey_id.eq(surveys::id.nullable())))
        .order((api_keys::created_at.asc(), api_keys::id.asc()))
        .select((ApiKeyRow::as_select(), surveys::slug.nullable()))
        .load(conn)?)
}

/// Revokes a key; answers its hash (for the cache) or None when there is no such active key.
pub fn revoke(conn: &mut DbConn, id: &str, now: NaiveDateTime) -> StoreResult<Option<String>> {
    let hash: Option<String> = api_keys::table
        .filter(api_keys::id.eq(id))
        .filter(api_keys::revoked_at.is_null())
        .select(api_keys::key_hash)
        .get_result(conn)
        .optional()?;
    if hash.is_some() {
        diesel::update(api_keys::table.find(id))
            .set(api_keys::revoked_at.eq(Some(now)))
            .execute(conn)?;
    }
    Ok(hash)
}
