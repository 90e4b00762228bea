//! What admins change from the dashboard: a survey's settings and the API keys. The same
//! functions as the API do the work, so the rules (and errors) are the API's.
use super::session::SignedIn;
use super::PageReply;
use super::{html, see_other, PageError};
use crate::domain::access::Scopes;
use crate::domain::survey::SurveyPatch;
use crate::http::AppState;
use crate::http::State;
use crate::store::api_keys;
use crate::store::surveys::SurveyRow;
use crate::views::{ApiKeyView, CreatedKeyView};
use actix_web::web;
use askama::Template;
use serde::Deserialize;

#[derive(Template)]
#[template(path = "dashboard/settings.html")]
struct SettingsView<'a> {
    user: Option<&'a str>,
    is_admin: bool,
    csrf: &'a str,
    survey: &'a SurveyRow,
    error: Option<&'a str>,
    saved: bool,
}

pub async fn survey_page(
    s: SignedIn,
    state: State,
    slug: web::Path<String>,
    query: web::Query<SavedQuery>,
) -> PageReply {
    s.require_admin()?;
    let survey = npsd_app::surveys::find(&state.app, slug.into_inner()).await?;
    html(SettingsView {
        user: Some(&s.user.email),
        is_admin: true,
        csrf: &s.csrf,
        survey: &survey,
        error: None,
        saved: query.saved.is_some(),
    })
}

#[derive(Deserialize)]
pub struct SavedQuery {
    pub(super) saved: Option<String>,
}

#[derive(Deserialize)]
pub struct SurveyForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    brand: String,
    #[serde(default)]
    question: String,
    #[serde(default)]
    reply_to: String,
    #[serde(default)]
    accent_color: String,
    #[serde(default)]
    send_delay_seconds: String,
    #[serde(default)]
    throttle_days: String,
}

/// A whole number from a form field, or the field's error.
fn number(field: &str, raw: &str) -> Result<i64, PageError> {
    raw.trim()
        .parse::<i64>()
        .map_err(|_| PageError::Invalid(format!("{field}: must be a whole number")))
}

pub async fn save_survey(
    s: SignedIn,
    state: State,
    slug: web::Path<String>,
    form: web::Form<SurveyForm>,
) -> PageReply {
    s.check_csrf(&form.csrf)?;
    s.require_admin()?;
    super::no_nul(&[
        &form.brand,
        &form.question,
        &form.reply_to,
        &form.accent_color,
        &form.send_delay_seconds,
        &form.throttle_days,
    ])?;
    let slug = slug.into_inner();
    let optional = |v: &str| Some(v.trim().to_string()).filter(|v| !v.is_empty());
    let patch =
        (|| -> Result<SurveyPatch, PageError> {
            let throttle_days = number("throttle days", &form.throttle_days)?;
            Ok(SurveyPatch {
                brand: Some(form.brand.trim().to_string()),
                question: Some(optional(&form.question)),
                reply_to: Some(optional(&form.reply_to)),
                accent_color: Some(form.accent_color.trim().to_string()),
                send_delay_seconds: Some(number("send delay", &form.send_delay_seconds)?),
                throttle_days: Some(i32::try_from(throttle_days).map_err(|_| {
                    PageError::Invalid("throttle_days: must be a whole number".into())
                })?),
                ..Default::default()
            })
        })();
    let result = match patch {
        Ok(p) => npsd_app::surveys::update(&state.app, slug.clone(), None, p)
            .await
            .map_err(PageError::from),
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => Ok(see_other(&format!("/dashboard/{slug}/settings?saved=1"))),
        Err(PageError::Invalid(message)) => {
            let survey = npsd_app::surveys::find(&state.app, slug).await?;
            let mut res = html(SettingsView {
                user: Some(&s.user.email),
                is_admin: true,
                csrf: &s.csrf,
                survey: &survey,
                error: Some(&message),
                saved: false,
            })?;
            *res.status_mut() = actix_web::http::StatusCode::UNPROCESSABLE_ENTITY;
            Ok(res)
        }
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "dashboard/keys.html")]
struct KeysView<'a> {
    user: Option<&'a str>,
    is_admin: bool,
    csrf: &'a str,
    keys: Vec<ApiKeyView>,
    /// Slugs of the surveys a new key may use.
    surveys: Vec<String>,
    created: Option<(&'a str, &'a str)>,
    error: Option<&'a str>,
}

async fn keys_view(
    state: &AppState,
    s: &SignedIn,
    created: Option<(&str, &str)>,
    error: Option<&str>,
) -> PageReply {
    let (rows, surveys) = state
        .app
        .store
        .read(|c| Ok((api_keys::list(c)?, crate::store::surveys::list(c)?)))
        .await?;
    html(KeysView {
        user: Some(&s.user.email),
        is_admin: true,
        csrf: &s.csrf,
        keys: rows
            .iter()
            .map(|(row, slug)| ApiKeyView::new(row, slug.as_deref()))
            .collect(),
        surveys: surveys.into_iter().map(|s| s.slug).collect(),
        created,
        error,
    })
}

pub async fn keys_page(s: SignedIn, state: State) -> PageReply {
    s.require_admin()?;
    keys_view(&state, &s, None, None).await
}

pub async fn create(
    s: SignedIn,
    state: State,
    form: web::Form<Vec<(String, String)>>,
) -> PageReply {
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    s.check_csrf(&field("csrf"))?;
    s.require_admin()?;
    super::no_nul(&[&field("name")])?;
    let scopes: Vec<String> = form
        .iter()
        .filter(|(k, _)| k == "scope")
        .map(|(_, v)| v.clone())
        .collect();
    let parsed = crate::domain::access::parse_key_name(&field("name"))
        .and_then(|name| Scopes::parse("scope", &scopes).map(|s| (name, s)));
    let (name, scopes) = match parsed {
        Ok(p) => p,
        Err(e) => {
            let m = format!("{}: {}", e.field, e.message);
            return keys_view(&state, &s, None, Some(&m)).await;
        }
    };
    let survey = Some(field("survey"))
        .filter(|s| !s.is_empty())
        .map(|s| crate::domain::survey::parse_slug("survey", &s))
        .transpose();
    let survey = match survey {
        Ok(s) => s,
        Err(e) => return keys_view(&state, &s, None, Some(&e.message)).await,
    };
    let created = match npsd_app::keys::create(&state.app, name, scopes, survey).await {
        Ok(c) => CreatedKeyView::from(c),
        Err(npsd_app::ServiceError::Invalid(e)) => {
            let m = format!("{}: {}", e.field, e.message);
            return keys_view(&state, &s, None, Some(&m)).await;
        }
        Err(e) => return Err(e.into()),
    };
    tracing::info!(key = %created.key.id, "API key created in the dashboard");
    keys_view(&state, &s, Some((&created.key.name, &created.secret)), None).await
}

#[derive(Deserialize)]
pub struct RevokeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    id: String,
}

pub async fn revoke(s: SignedIn, state: State, form: web::Form<RevokeForm>) -> PageReply {
    s.check_csrf(&form.csrf)?;
    s.require_admin()?;
    super::no_nul(&[&form.id])?;
    match npsd_app::keys::revoke(&state.app, form.id.clone()).await {
        Ok(()) | Err(npsd_app::ServiceError::NotFound(_)) => Ok(see_other("/keys")),
        Err(e) => Err(e.into()),
    }
}
