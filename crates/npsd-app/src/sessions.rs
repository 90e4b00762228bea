//! Signing in to the dashboard: the user behind an address, a session started and ended, and the
//! one-time link that sets a password. Checking the password (a slow hash, run in turn) and the
//! limits on attempts stay at the door; what is stored is here.
use crate::{App, ServiceResult};
use chrono::NaiveDateTime;
use npsd_domain::token::Token;
use npsd_store::users::{self, UserRow};
use npsd_store::{DbConn, StoreResult};

/// How long a session lasts: two weeks, so the team stays signed in between mornings.
pub const SESSION_DAYS: i64 = 14;

/// The user with this address (lower-cased), if any.
pub async fn user_by_email(app: &App, email_key: String) -> ServiceResult<Option<UserRow>> {
    app.read(move |c, _| users::find_by_email(c, &email_key))
        .await
}

/// Starts a session for a user whose password matched: the token for the cookie.
pub async fn start(app: &App, user_id: String) -> ServiceResult<String> {
    app.write(move |c, now| new_session(c, &user_id, now)).await
}

/// The user of a live session and its CSRF token, by the hash of the session's token.
pub async fn current(app: &App, token_hash: String) -> ServiceResult<Option<(UserRow, String)>> {
    app.read(move |c, now| users::find_session(c, &token_hash, now))
        .await
}

/// Ends a session (signing out).
pub async fn end(app: &App, token_hash: String) -> ServiceResult<()> {
    Ok(app
        .store
        .write(move |c| users::end_session(c, &token_hash))
        .await?)
}

/// The user a sign-in link (by its hash) is for, while it is unused and not expired.
pub async fn link_user(app: &App, link_hash: String) -> ServiceResult<Option<UserRow>> {
    app.read(move |c, now| users::find_sign_in_link(c, &link_hash, now))
        .await
}

/// Uses a sign-in link: the user's new password (hashed) is stored and a session starts, in one
/// write. None when the link was used or expired meanwhile.
pub async fn set_password_by_link(
    app: &App,
    link_hash: String,
    user_id: String,
    password_hash: String,
) -> ServiceResult<Option<String>> {
    app.write(move |c, now| {
        if !users::use_sign_in_link(c, &link_hash, now)? {
            return Ok(None);
        }
        users::set_password(c, &user_id, &password_hash, now)?;
        new_session(c, &user_id, now).map(Some)
    })
    .await
}

/// A new session row for a user: the token for the cookie (only its hash is stored).
fn new_session(conn: &mut DbConn, user_id: &str, now: NaiveDateTime) -> StoreResult<String> {
    let token = Token::generate();
    let csrf = Token::generate();
    users::add_session(
        conn,
        &token.hash(),
        user_id,
        csrf.as_str(),
        now,
        now + chrono::Duration::days(SESSION_DAYS),
    )?;
    Ok(token.as_str().to_string())
}
