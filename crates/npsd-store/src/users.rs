//! Dashboard users, their sessions, one-time sign-in links, and the secrets all instances share.
use super::schema::{app_secrets, sign_in_links, user_sessions, users};
use super::{is_unique_violation, new_id, DbConn, StoreResult};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use npsd_domain::user::Role;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = users)]
// None is bound as NULL rather than left out as DEFAULT: the INSERT's text then never varies,
// so SQLite prepares it (and compiles its triggers) once, not on every insert.
#[diesel(treat_none_as_default_value = false)]
pub struct UserRow {
    pub id: String,
    pub email: String,
    pub email_key: String,
    pub role: String,
    pub password_hash: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl UserRow {
    pub fn role(&self) -> Role {
        Role::parse("role", &self.role).unwrap_or(Role::Viewer)
    }

    pub fn is_admin(&self) -> bool {
        self.role() == Role::Admin
    }
}

/// The admins' addresses (who is told when something needs an admin).
pub fn admin_addresses(conn: &mut DbConn) -> StoreResult<Vec<String>> {
    Ok(users::table
        .filter(users::role.eq(Role::Admin.as_str()))
        .order(users::email_key.asc())
        .select(users::email)
        .load(conn)?)
}

/// Adds a user; None when the address has one already.
pub fn add(
    conn: &mut DbConn,
    email: &str,
    email_key: &str,
    role: Role,
    password_hash: Option<String>,
    now: NaiveDateTime,
) -> StoreResult<Option<UserRow>> {
    let row = UserRow {
        id: new_id(),
        email: email.to_string(),
        email_key: email_key.to_string(),
        role: role.as_str().to_string(),
        password_hash,
        created_at: now,
        updated_at: now,
    };
    let inserted = conn.transaction(|c| diesel::insert_into(users::table).values(&row).execute(c));
    match inserted {
        Ok(_) => Ok(Some(row)),
        Err(e) if is_unique_violation(&e) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

pub fn list(conn: &mut DbConn) -> StoreResult<Vec<UserRow>> {
    Ok(users::table
        .order(users::email_key)
        .select(UserRow::as_select())
        .load(conn)?)
}

pub fn count_admins(conn: &mut DbConn) -> StoreResult<i64> {
    Ok(users::table
        .filter(users::role.eq(Role::Admin.as_str()))
        .count()
        .get_result(conn)?)
}

pub fn find_by_email(conn: &mut DbConn, email_key: &str) -> StoreResult<Option<UserRow>> {
    Ok(users::table
        .filter(users::email_key.eq(email_key))
        .select(UserRow::as_select())
        .get_result(conn)
        .optional()?)
}

/// Removes a user with their sessions and links; false when there was none.
pub fn remove(conn: &mut DbConn, email_key: &str) -> StoreResult<bool> {
    let Some(user) = find_by_email(conn, email_key)? else {
        return Ok(false);
    };
    diesel::delete(user_sessions::table.filter(user_sessions::user_id.eq(&user.id)))
        .execute(conn)?;
    diesel::delete(sign_in_links::table.filter(sign_in_links::user_id.eq(&user.id)))
        .execute(conn)?;
    diesel::delete(users::table.find(&user.id)).execute(conn)?;
    Ok(true)
}

/// Sets a password and signs the user out everywhere else.
pub fn set_password(
    conn: &mut DbConn,
    user_id: &str,
    hash: &str,
    now: NaiveDateTime,
) -> StoreResult<()> {
    diesel::update(users::table.find(user_id))
        .set((users::password_hash.eq(hash), users::updated_at.eq(now)))
        .execute(conn)?;
    diesel::delete(user_sessions::table.filter(user_sessions::user_id.eq(user_id)))
        .execute(conn)?;
    Ok(())
}

pub fn add_session(
    conn: &mut DbConn,
    token_hash: &str,
    user_id: &str,
    csrf_token: &str,
    now: NaiveDateTime,
    expires_at: NaiveDateTime,
) -> StoreResult<()> {
    // Expired sessions go as new ones come.
    diesel::delete(user_sessions::table.filter(user_sessions::expires_at.lt(now))).execute(conn)?;
    diesel::insert_into(user_sessions::table)
        .values((
            user_sessions::token_hash.eq(token_hash),
            user_sessions::user_id.eq(user_id),
            user_sessions::csrf_token.eq(csrf_token),
            user_sessions::created_at.eq(now),
            user_sessions::expires_at.eq(expires_at),
        ))
        .execute(conn)?;
    Ok(())
}

/// The user of a live session, with the session's CSRF token.
pub fn find_session(
    conn: &mut DbConn,
    token_hash: &str,
    now: NaiveDateTime,
) -> StoreResult<Option<(UserRow, String)>> {
    Ok(user_sessions::table
        .inner_join(users::table)
        .filter(user_sessions::token_hash.eq(token_hash))
        .filter(user_sessions::expires_at.gt(now))
        .select((UserRow::as_select(), user_sessions::csrf_token))
        .get_result(conn)
        .optional()?)
}

pub fn end_session(conn: &mut DbConn, token_hash: &str) -> StoreResult<()> {
    diesel::delete(user_sessions::table.find(token_hash)).execute(conn)?;
    Ok(())
}

pub fn add_sign_in_link(
    conn: &mut DbConn,
    token_hash: &str,
    user_id: &str,
    now: NaiveDateTime,
    expires_at: NaiveDateTime,
) -> StoreResult<()> {
    diesel::insert_into(sign_in_links::table)
        .values((
            sign_in_links::token_hash.eq(token_hash),
            sign_in_links::user_id.eq(user_id),
            sign_in_links::created_at.eq(now),
            sign_in_links::expires_at.eq(expires_at),
        ))
        .execute(conn)?;
    Ok(())
}

/// The user a live sign-in link is for.
pub fn find_sign_in_link(
    conn: &mut DbConn,
    token_hash: &str,
    now: NaiveDateTime,
) -> StoreResult<Option<UserRow>> {
    Ok(sign_in_links::table
        .inner_join(users::table)
        .filter(sign_in_links::token_hash.eq(token_hash))
        .filter(sign_in_links::expires_at.gt(now))
        .select(UserRow::as_select())
        .get_result(conn)
        .optional()?)
}

/// Uses a link up: true when it was live (and is gone now).
pub fn use_sign_in_link(
    conn: &mut DbConn,
    token_hash: &str,
    now: NaiveDateTime,
) -> StoreResult<bool> {
    let n = diesel::delete(
        sign_in_links::table
            .filter(sign_in_links::token_hash.eq(token_hash))
            .filter(sign_in_links::expires_at.gt(now)),
    )
    .execute(conn)?;
    Ok(n == 1)
}

/// A secret every instance shares, made by whichever instance needs it first.
pub fn shared_secret(
    conn: &mut DbConn,
    name: &str,
    make: impl FnOnce() -> String,
    now: NaiveDateTime,
) -> StoreResult<String> {
    let existing = app_secrets::table
        .find(name)
        .select(app_secrets::value)
        .first::<String>(conn)
        .optional()?;
    if let Some(v) = existing {
        return Ok(v);
    }
    let inserted = conn.transaction(|c| {
        diesel::insert_into(app_secrets::table)
            .values((
                app_secrets::name.eq(name),
                app_secrets::value.eq(make()),
                app_secrets::created_at.eq(now),
            ))
            .execute(c)
    });
    match inserted {
        Ok(_)
        | Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => Ok(app_secrets::table
            .find(name)
            .select(app_secrets::value)
            .get_result(conn)?),
        Err(e) => Err(e.into()),
    }
}
