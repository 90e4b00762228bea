//! The team: who may sign in, as admin or viewer. Admins add people (each gets a one-time sign-in
//! link to set a password) and remove them; `npsd users` does the same from the command line.
use super::session::SignedIn;
use super::sign_in::parse_email;
use super::PageReply;
use super::{html, see_other, PageError};
use crate::domain::user::Role;
use crate::http::AppState;
use crate::http::State;
use crate::store::users::UserRow;
use actix_web::web;
use askama::Template;
use npsd_app::users::Added;
use serde::Deserialize;

#[derive(Template)]
#[template(path = "dashboard/team.html")]
struct TeamView<'a> {
    user: Option<&'a str>,
    is_admin: bool,
    csrf: &'a str,
    me: &'a str,
    members: &'a [UserRow],
    /// Just added: who, and the link to hand them.
    added: Option<(&'a str, &'a str)>,
    error: Option<&'a str>,
}

async fn render(
    state: &AppState,
    s: &SignedIn,
    added: Option<(&str, &str)>,
    error: Option<&str>,
) -> PageReply {
    let members = npsd_app::users::list(&state.app).await?;
    html(TeamView {
        user: Some(&s.user.email),
        is_admin: s.user.is_admin(),
        csrf: &s.csrf,
        me: &s.user.id,
        members: &members,
        added,
        error,
    })
}

pub async fn page(s: SignedIn, state: State) -> PageReply {
    render(&state, &s, None, None).await
}

#[derive(Deserialize)]
pub struct AddForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
}

pub async fn add(s: SignedIn, state: State, form: web::Form<AddForm>) -> PageReply {
    s.check_csrf(&form.csrf)?;
    s.require_admin()?;
    super::no_nul(&[&form.email, &form.role])?;
    let parsed = parse_email(&form.email).and_then(|e| {
        Role::parse("role", &form.role)
            .map(|r| (e, r))
            .map_err(PageError::from)
    });
    let (email, role) = match parsed {
        Ok(p) => p,
        Err(PageError::Invalid(m)) => return render(&state, &s, None, Some(&m)).await,
        Err(e) => return Err(e),
    };
    match npsd_app::users::add(&state.app, &email, role, None).await? {
        Added::Created(user, Some(link)) => {
            render(&state, &s, Some((&user.email, &link)), None).await
        }
        Added::Created(_, None) => Ok(see_other("/team")),
        Added::Exists => {
            let m = format!("{email} is on the team already.");
            render(&state, &s, None, Some(&m)).await
        }
    }
}

#[derive(Deserialize)]
pub struct RemoveForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
}

pub async fn remove(s: SignedIn, state: State, form: web::Form<RemoveForm>) -> PageReply {
    s.check_csrf(&form.csrf)?;
    s.require_admin()?;
    super::no_nul(&[&form.email])?;
    let key = form.email.trim().to_lowercase();
    if key == s.user.email_key {
        let m = "You cannot remove yourself; another admin can.";
        return render(&state, &s, None, Some(m)).await;
    }
    npsd_app::users::remove(&state.app, key).await?;
    Ok(see_other("/team"))
}
