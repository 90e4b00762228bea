//! The team: who may sign in to the dashboard, as admin or viewer.
use crate::{App, ServiceResult};
use npsd_domain::email::EmailAddress;
use npsd_domain::token::Token;
use npsd_domain::user::{Password, Role};
use npsd_store::users::{self, UserRow};

/// How long a sign-in link works.
pub const LINK_HOURS: i64 = 72;

/// What adding a user came to.
pub enum Added {
    /// With the one-time link to set a password (absent when a password was given).
    Created(UserRow, Option<String>),
    Exists,
}

/// Adds a user, with a password or a one-time sign-in link (`public_url` + /login/link/TOKEN).
pub async fn add(
    app: &App,
    email: &EmailAddress,
    role: Role,
    password: Option<Password>,
) -> ServiceResult<Added> {
    let now = app.clock.now();
    let hash = match password {
        Some(p) => Some(
            tokio::task::spawn_blocking(move || p.hash())
                .await
                .expect("hashing does not panic"),
        ),
        None => None,
    };
    let link = Token::generate();
    let wants_link = hash.is_none();
    let (shown, key) = (email.to_string(), email.key());
    let link_hash = link.hash();
    let created = app
        .store
        .write(move |c| {
            let Some(user) = users::add(c, &shown, &key, role, hash.clone(), now)? else {
                return Ok(None);
            };
            if wants_link {
                users::add_sign_in_link(
                    c,
                    &link_hash,
                    &user.id,
                    now,
                    now + chrono::Duration::hours(LINK_HOURS),
                )?;
            }
            Ok(Some(user))
        })
        .await?;
    Ok(match created {
        None => Added::Exists,
        Some(user) => Added::Created(
            user,
            wants_link.then(|| format!("{}/login/link/{}", app.public_url, link.as_str())),
        ),
    })
}

/// Everyone on the team.
pub async fn list(app: &App) -> ServiceResult<Vec<UserRow>> {
    Ok(app.store.read(users::list).await?)
}

/// Removes the user with this email key (the lower-cased address); false when there is none.
pub async fn remove(app: &App, email_key: String) -> ServiceResult<bool> {
    Ok(app
        .store
        .write(move |c| users::remove(c, &email_key))
        .await?)
}
