//! Webhooks and alert rules in the dashboard (admins): the same operations as the API, so the
//! rules and their errors are the API's. Webhooks: list, add (the secret shown once), pause or
//! resume, delete, send a test event, the delivery log with "redeliver". Alert rules of a survey:
//! list, add, pause or resume, delete.
use super::session::SignedIn;
use super::{html, no_nul, see_other, PageError, PageReply};
use crate::http::State;
use actix_web::http::StatusCode;
use actix_web::web;
use askama::Template;
use npsd_app::alerts::{AlertRule, RuleInput, When};
use npsd_app::webhooks::{Delivery, NewWebhook, Webhook, WebhookPatch};

/// A form's fields as sent (repeated names kept).
type Fields = web::Form<Vec<(String, String)>>;

fn field(form: &Fields, name: &str) -> String {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_default()
}

fn all(form: &Fields, name: &str) -> Vec<String> {
    form.iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .collect()
}

fn checked(form: &Fields) -> Result<(), PageError> {
    let values: Vec<&str> = form.iter().map(|(_, v)| v.as_str()).collect();
    no_nul(&values)
}

#[derive(Template)]
#[template(path = "dashboard/webhooks.html")]
struct WebhooksView<'a> {
    user: Option<&'a str>,
    is_admin: bool,
    csrf: &'a str,
    webhooks: Vec<Webhook>,
    surveys: Vec<String>,
    types: &'static [&'static str],
    /// Just created: its URL and secret, shown once.
    created: Option<(String, String)>,
    /// How the last test went.
    tested: Option<(String, Delivery)>,
    error: Option<String>,
}

async fn webhooks_view(
    state: &State,
    s: &SignedIn,
    created: Option<(String, String)>,
    tested: Option<(String, Delivery)>,
    error: Option<String>,
) -> PageReply {
    let webhooks = npsd_app::webhooks::list(&state.app).await?;
    let surveys = npsd_app::surveys::list(&state.app)
        .await?
        .into_iter()
        .map(|s| s.slug)
        .collect();
    let failed = error.is_some();
    let mut res = html(WebhooksView {
        user: Some(&s.user.email),
        is_admin: true,
        csrf: &s.csrf,
        webhooks,
        surveys,
        types: npsd_app::events::TYPES,
        created,
        tested,
        error,
    })?;
    if failed {
        *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(res)
}

pub async fn webhooks_page(s: SignedIn, state: State) -> PageReply {
    s.require_admin()?;
    webhooks_view(&state, &s, None, None, None).await
}

pub async fn create_webhook(s: SignedIn, state: State, form: Fields) -> PageReply {
    s.check_csrf(&field(&form, "csrf"))?;
    s.require_admin()?;
    checked(&form)?;
    let survey = Some(field(&form, "survey")).filter(|s| !s.is_empty());
    let description = Some(field(&form, "description")).filter(|s| !s.is_empty());
    let new = NewWebhook {
        url: field(&form, "url"),
        events: all(&form, "event"),
        survey,
        description,
        format: Some(field(&form, "format")).filter(|f| !f.is_empty()),
    };
    match npsd_app::webhooks::create(&state.app, new).await {
        Ok(w) => {
            tracing::info!(webhook = %w.id, "webhook created in the dashboard");
            let secret = w.secret.clone().unwrap_or_default();
            webhooks_view(&state, &s, Some((w.url, secret)), None, None).await
        }
        Err(npsd_app::ServiceError::Invalid(e)) => {
            let m = format!("{}: {}", e.field, e.message);
            webhooks_view(&state, &s, None, None, Some(m)).await
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn webhook_action(
    s: SignedIn,
    state: State,
    action: web::Path<String>,
    form: Fields,
) -> PageReply {
    s.check_csrf(&field(&form, "csrf"))?;
    s.require_admin()?;
    checked(&form)?;
    let id = field(&form, "id");
    match action.as_str() {
        "delete" => {
            npsd_app::webhooks::delete(&state.app, id).await?;
            Ok(see_other("/webhooks"))
        }
        "pause" | "resume" => {
            let patch = WebhookPatch {
                enabled: Some(action.as_str() == "resume"),
                ..Default::default()
            };
            npsd_app::webhooks::update(&state.app, id, patch).await?;
            Ok(see_other("/webhooks"))
        }
        "test" => match npsd_app::webhooks::send_test(&state.app, id.clone()).await? {
            Some(d) => {
                let url = npsd_app::webhooks::find(&state.app, id)
                    .await?
                    .map(|w| w.url)
                    .unwrap_or_default();
                webhooks_view(&state, &s, None, Some((url, d)), None).await
            }
            None => Err(PageError::NotFound("no such webhook".into())),
        },
        _ => Err(PageError::NotFound("no such action".into())),
    }
}

#[derive(Template)]
#[template(path = "dashboard/webhook.html")]
struct WebhookView<'a> {
    user: Option<&'a str>,
    is_admin: bool,
    csrf: &'a str,
    webhook: Webhook,
    deliveries: Vec<Delivery>,
    redelivered: Option<Delivery>,
}

async fn webhook_view(
    state: &State,
    s: &SignedIn,
    id: String,
    redelivered: Option<Delivery>,
) -> PageReply {
    let Some(webhook) = npsd_app::webhooks::find(&state.app, id.clone()).await? else {
        return Err(PageError::NotFound("no such webhook".into()));
    };
    let deliveries = npsd_app::webhooks::deliveries(&state.app, id, None, 100)
        .await?
        .unwrap_or_default();
    html(WebhookView {
        user: Some(&s.user.email),
        is_admin: true,
        csrf: &s.csrf,
        webhook,
        deliveries,
        redelivered,
    })
}

pub async fn webhook_page(s: SignedIn, state: State, id: web::Path<String>) -> PageReply {
    s.require_admin()?;
    webhook_view(&state, &s, id.into_inner(), None).await
}

pub async fn redeliver(
    s: SignedIn,
    state: State,
    id: web::Path<String>,
    form: Fields,
) -> PageReply {
    s.check_csrf(&field(&form, "csrf"))?;
    s.require_admin()?;
    checked(&form)?;
    let id = id.into_inner();
    let delivery = field(&form, "delivery");
    match npsd_app::webhooks::redeliver(&state.app, id.clone(), delivery).await? {
        Some(d) => webhook_view(&state, &s, id, Some(d)).await,
        None => Err(PageError::NotFound("no such delivery".into())),
    }
}

#[derive(Template)]
#[template(path = "dashboard/alerts.html")]
struct AlertsView<'a> {
    user: Option<&'a str>,
    is_admin: bool,
    csrf: &'a str,
    slug: &'a str,
    rules: Vec<AlertRule>,
    error: Option<String>,
    saved: bool,
}

/// A rule's conditions in a sentence: "detractors, with a comment, plan = pro".
pub fn describe(w: &When) -> String {
    let mut parts: Vec<String> = Vec::new();
    match &w.category {
        Some(c) => parts.push(format!("{c}s")),
        None => match (w.min_score, w.max_score) {
            (Some(lo), Some(hi)) => parts.push(format!("scores {lo} to {hi}")),
            (Some(lo), None) => parts.push(format!("scores of {lo} or more")),
            (None, Some(hi)) => parts.push(format!("scores of {hi} or less")),
            (None, None) => parts.push("every answer".into()),
        },
    }
    if let Some(h) = w.has_comment {
        parts.push(
            if h {
                "with a comment"
            } else {
                "without a comment"
            }
            .into(),
        );
    }
    if let Some(c) = &w.channel {
        parts.push(format!("by {c}"));
    }
    for (k, v) in &w.properties {
        parts.push(format!("{k} = {v}"));
    }
    parts.join(", ")
}

async fn alerts_view(
    state: &State,
    s: &SignedIn,
    slug: &str,
    error: Option<String>,
    saved: bool,
) -> PageReply {
    let rules = npsd_app::alerts::list(&state.app, slug.to_string()).await?;
    let failed = error.is_some();
    let mut res = html(AlertsView {
        user: Some(&s.user.email),
        is_admin: true,
        csrf: &s.csrf,
        slug,
        rules,
        error,
        saved,
    })?;
    if failed {
        *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(res)
}

pub async fn alerts_page(
    s: SignedIn,
    state: State,
    slug: web::Path<String>,
    query: web::Query<super::settings::SavedQuery>,
) -> PageReply {
    s.require_admin()?;
    alerts_view(&state, &s, &slug, None, query.saved.is_some()).await
}

fn rule_from_form(form: &Fields) -> Result<RuleInput, String> {
    let score = |name: &str| -> Result<Option<u8>, String> {
        let raw = field(form, name);
        if raw.is_empty() {
            return Ok(None);
        }
        raw.parse::<u8>()
            .ok()
            .filter(|n| *n <= 10)
            .map(Some)
            .ok_or_else(|| format!("{name}: must be a score from 0 to 10"))
    };
    let category = Some(field(form, "category")).filter(|c| !c.is_empty());
    let has_comment = match field(form, "has_comment").as_str() {
        "yes" => Some(true),
        "no" => Some(false),
        _ => None,
    };
    let mut properties = std::collections::BTreeMap::new();
    let (pname, pvalue) = (field(form, "property_name"), field(form, "property_value"));
    if !pname.is_empty() {
        properties.insert(pname, pvalue);
    }
    let when = When {
        min_score: score("min_score")?,
        max_score: score("max_score")?,
        category,
        has_comment,
        channel: Some(field(form, "channel")).filter(|c| !c.is_empty()),
        properties,
    };
    let email: Vec<String> = field(form, "email")
        .split([',', ' ', '\n'])
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(str::to_string)
        .collect();
    let url = |name: &str| Some(Some(field(form, name)).filter(|u| !u.is_empty()));
    let summary = field(form, "summary_minutes");
    let summary_minutes = if summary.is_empty() {
        0
    } else {
        summary
            .parse::<i64>()
            .map_err(|_| "summary_minutes: must be a whole number".to_string())?
    };
    Ok(RuleInput {
        name: Some(field(form, "name")),
        when: Some(when),
        email: Some(email),
        slack_webhook_url: url("slack_webhook_url"),
        teams_webhook_url: url("teams_webhook_url"),
        summary_minutes: Some(summary_minutes),
        enabled: Some(true),
    })
}

pub async fn create_alert(
    s: SignedIn,
    state: State,
    slug: web::Path<String>,
    form: Fields,
) -> PageReply {
    s.check_csrf(&field(&form, "csrf"))?;
    s.require_admin()?;
    checked(&form)?;
    let slug = slug.into_inner();
    let input = match rule_from_form(&form) {
        Ok(i) => i,
        Err(m) => return alerts_view(&state, &s, &slug, Some(m), false).await,
    };
    match npsd_app::alerts::create(&state.app, slug.clone(), input).await {
        Ok(_) => Ok(see_other(&format!("/dashboard/{slug}/alerts?saved=1"))),
        Err(npsd_app::ServiceError::Invalid(e)) => {
            let m = format!("{}: {}", e.field, e.message);
            alerts_view(&state, &s, &slug, Some(m), false).await
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn alert_action(
    s: SignedIn,
    state: State,
    path: web::Path<(String, String)>,
    form: Fields,
) -> PageReply {
    s.check_csrf(&field(&form, "csrf"))?;
    s.require_admin()?;
    checked(&form)?;
    let (slug, action) = path.into_inner();
    let id = field(&form, "id");
    match action.as_str() {
        "delete" => {
            npsd_app::alerts::delete(&state.app, slug.clone(), id).await?;
        }
        "pause" | "resume" => {
            let input = RuleInput {
                enabled: Some(action == "resume"),
                ..Default::default()
            };
            npsd_app::alerts::update(&state.app, slug.clone(), id, input).await?;
        }
        _ => return Err(PageError::NotFound("no such action".into())),
    }
    Ok(see_other(&format!("/dashboard/{slug}/alerts")))
}
