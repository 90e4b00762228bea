//! Webhooks: endpoints that receive npsd's events, signed as the Standard Webhooks specification
//! says (`webhook-id`, `webhook-timestamp`, `webhook-signature: v1,BASE64(HMAC-SHA256)`).
//!
//! Each endpoint reads the events after its own cursor, one at a time, so deliveries are in order
//! per endpoint and at least once: the cursor moves past an event only once it was delivered (a
//! 2xx) or given up (another answer than 5xx or 429, or a disabled endpoint). A 5xx, a 429, a
//! timeout or an unreachable endpoint is tried again about 5 s, 30 s and 2 minutes after the first
//! attempt, then with growing delays; an endpoint failing for 24 hours is disabled. The `run` loop
//! serves the endpoints on every instance; a lease keeps two instances off the same endpoint.
//!
//! Never to loopback, link-local or private addresses unless `NPSD_WEBHOOK_ALLOW_PRIVATE=1`: a
//! literal address is refused when the endpoint is saved and before each delivery, a name is
//! resolved by [`PublicOnly`] and the connection goes to the address it checked (no DNS
//! rebinding); redirects are not followed.
use crate::events::{self, Event};
use crate::{App, ServiceError, ServiceResult};
use base64::Engine as _;
use chrono::{Duration as ChronoDuration, NaiveDateTime};
use hmac::{Hmac, Mac};
use npsd_domain::ValidationError;
use npsd_store::events::{EventFilter, Position};
use npsd_store::ids::SurveyId;
use npsd_store::webhooks::{self as store, DeliveryRow, Step, WebhookChange, WebhookRow};
use npsd_store::{surveys, DbConn, StoreResult};
use serde::Serialize;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// How webhooks are delivered (from the environment).
#[derive(Debug, Clone)]
pub struct Settings {
    /// `NPSD_WEBHOOK_ALLOW_HTTP=1`: plain http endpoints are accepted.
    pub allow_http: bool,
    /// `NPSD_WEBHOOK_ALLOW_PRIVATE=1`: loopback, link-local and private addresses are accepted.
    pub allow_private: bool,
    /// `NPSD_EVENTS_RETENTION_DAYS`: how long events and delivery logs are kept.
    pub retention_days: u32,
    /// How long one delivery may take before it counts as a timeout.
    pub timeout: Duration,
    /// How often each instance looks for events to deliver.
    pub poll_interval: Duration,
    /// How long an instance's claim on an endpoint holds (`NPSD_LEASE_SECONDS`, at least the
    /// timeout and 5 s): a killed instance's endpoints are served again after it.
    pub lease: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            allow_http: false,
            allow_private: false,
            retention_days: events::DEFAULT_RETENTION_DAYS,
            timeout: Duration::from_secs(10),
            poll_interval: Duration::from_millis(250),
            lease: Duration::from_secs(15),
        }
    }
}

/// An endpoint failing for this long is disabled.
const GIVE_UP_AFTER_HOURS: i64 = 24;
/// The first bytes of an endpoint's answer kept in the delivery log.
const BODY_KEPT: usize = 1024;

/// The delay before attempt `attempt + 1`, counted from the failed attempt `attempt` (1-based):
/// about 5 s, 30 s and 2 minutes after the first attempt, then 10 minutes, 30 minutes, an hour,
/// two, and every four hours until the endpoint has failed for 24 hours.
pub fn retry_delay(attempt: i32) -> ChronoDuration {
    let seconds = match attempt {
        i32::MIN..=1 => 5,
        2 => 25,
        3 => 90,
        4 => 600,
        5 => 1800,
        6 => 3600,
        7 => 7200,
        _ => 4 * 3600,
    };
    ChronoDuration::seconds(seconds)
}

/// An endpoint as the API and the dashboard show it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Webhook {
    pub id: String,
    pub url: String,
    /// The event types it receives; empty: all.
    pub events: Vec<String>,
    /// The survey whose events it receives (its slug); null: every survey's.
    pub survey: Option<String>,
    pub description: Option<String>,
    /// standard (Standard Webhooks) or delighted (Delighted's webhook payloads).
    pub format: String,
    pub enabled: bool,
    /// Why npsd disabled it, when it did.
    pub disabled_reason: Option<String>,
    /// Since when deliveries fail, while they do.
    pub failing_since: Option<String>,
    /// When the failing event is tried again.
    pub next_attempt_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    /// The signing secret: only in the answer that created the endpoint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

/// One attempt to deliver an event, as the delivery log shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Delivery {
    pub id: String,
    pub event_id: String,
    pub event_type: String,
    /// 1 for the first attempt at this event.
    pub attempt: i32,
    /// delivered, retrying (tried again later) or failed (given up).
    pub outcome: String,
    /// The endpoint's HTTP status; null when there was no answer.
    pub response_code: Option<i32>,
    /// The first 1 KB of the endpoint's answer.
    pub response_body: Option<String>,
    /// Why there was no answer (timeout, refused address, connection error).
    pub error: Option<String>,
    pub duration_ms: i64,
    pub created_at: String,
}

impl From<DeliveryRow> for Delivery {
    fn from(r: DeliveryRow) -> Delivery {
        Delivery {
            id: r.id,
            event_id: r.event_id,
            event_type: r.event_type,
            attempt: r.attempt,
            outcome: r.outcome,
            response_code: r.response_code,
            response_body: r.response_body,
            error: r.error,
            duration_ms: r.duration_ms,
            created_at: events::timestamp(r.created_at),
        }
    }
}

fn view(conn: &mut DbConn, r: WebhookRow, secret: bool) -> StoreResult<Webhook> {
    let survey = match &r.survey_id {
        None => None,
        Some(id) => surveys::find_by_id_opt(conn, &SurveyId::from(id.clone()))?.map(|s| s.slug),
    };
    Ok(Webhook {
        events: r.event_types(),
        id: r.id,
        url: r.url,
        survey,
        description: r.description,
        format: r.format,
        enabled: r.enabled,
        disabled_reason: r.disabled_reason,
        failing_since: r.failing_since.map(events::timestamp),
        next_attempt_at: r.next_attempt_at.map(events::timestamp),
        created_at: events::timestamp(r.created_at),
        updated_at: events::timestamp(r.updated_at),
        secret: secret.then_some(r.secret),
    })
}

/// Whether an address is one a webhook may be delivered to without `NPSD_WEBHOOK_ALLOW_PRIVATE`:
/// not loopback, private, link-local, shared (CGNAT), unspecified, broadcast, multicast or
/// documentation space.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || o[0] == 0
                || (o[0] == 100 && (64..128).contains(&o[1]))
                || (o[0] == 198 && (o[1] == 18 || o[1] == 19))
                || o[0] >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let s = v6.segments();
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                || (s[0] == 0x2001 && s[1] == 0x0db8))
        }
    }
}

/// Checks an endpoint's URL (a webhook's, a Slack or Teams one): absolute, https (or http when
/// allowed), no credentials, and not a literal private address unless allowed. `field` is named in
/// the error.
pub fn check_url(settings: &Settings, field: &str, raw: &str) -> Result<url::Url, ValidationError> {
    let raw = raw.trim();
    let url = url::Url::parse(raw)
        .map_err(|_| ValidationError::new(field, format!("'{raw}' is not an absolute URL")))?;
    match url.scheme() {
        "https" => {}
        "http" if settings.allow_http => {}
        "http" => {
            return Err(ValidationError::new(
                field,
                "must be an https URL (plain http only with NPSD_WEBHOOK_ALLOW_HTTP=1)",
            ))
        }
        other => {
            return Err(ValidationError::new(
                field,
                format!("'{other}' URLs are not supported; use https"),
            ))
        }
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ValidationError::new(
            field,
            "must not hold a user name or password; put a token in the path or query",
        ));
    }
    let Some(host) = url.host() else {
        return Err(ValidationError::new(field, "has no host"));
    };
    let literal = match host {
        url::Host::Ipv4(a) => Some(IpAddr::V4(a)),
        url::Host::Ipv6(a) => Some(IpAddr::V6(a)),
        url::Host::Domain(d) => {
            if !settings.allow_private
                && (d.eq_ignore_ascii_case("localhost")
                    || d.to_ascii_lowercase().ends_with(".localhost"))
            {
                return Err(ValidationError::new(
                    field,
                    "points at this machine (loopback); allowed only with NPSD_WEBHOOK_ALLOW_PRIVATE=1",
                ));
            }
            None
        }
    };
    if let Some(ip) = literal {
        if !settings.allow_private && !is_public(ip) {
            return Err(ValidationError::new(
                field,
                format!("{ip} is a loopback, link-local or private address; allowed only with NPSD_WEBHOOK_ALLOW_PRIVATE=1"),
            ));
        }
    }
    Ok(url)
}

/// What a new endpoint is made of.
#[derive(Debug, Clone)]
pub struct NewWebhook {
    pub url: String,
    /// Empty: every type.
    pub events: Vec<String>,
    /// A survey's slug; None: every survey.
    pub survey: Option<String>,
    pub description: Option<String>,
    /// `standard` (the default) or `delighted` (Delighted's payload shape).
    pub format: Option<String>,
}

/// The payload shapes an endpoint can receive.
pub const FORMATS: &[&str] = &["standard", "delighted"];

fn check_format(raw: Option<&str>) -> Result<String, ValidationError> {
    match raw.map(str::trim).filter(|f| !f.is_empty()) {
        None => Ok("standard".into()),
        Some(f) if FORMATS.contains(&f) => Ok(f.to_string()),
        Some(f) => Err(ValidationError::new(
            "format",
            format!("'{f}' is not a format; use standard or delighted"),
        )),
    }
}

/// A change to an endpoint; None leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct WebhookPatch {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    pub survey: Option<Option<String>>,
    pub description: Option<Option<String>>,
    pub enabled: Option<bool>,
}

fn new_secret() -> String {
    let bytes: [u8; 32] = rand::random();
    format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

fn survey_id_of(conn: &mut DbConn, slug: &str) -> StoreResult<Result<String, ServiceError>> {
    Ok(match surveys::find_by_slug(conn, slug)? {
        Some(s) => Ok(s.id.to_string()),
        None => Err(ServiceError::Invalid(ValidationError::new(
            "survey",
            format!("there is no survey '{slug}'"),
        ))),
    })
}

fn description(raw: Option<String>) -> Result<Option<String>, ValidationError> {
    let d = raw.map(|d| d.trim().to_string()).filter(|d| !d.is_empty());
    if d.as_ref().is_some_and(|d| d.chars().count() > 500) {
        return Err(ValidationError::new(
            "description",
            "must be at most 500 characters",
        ));
    }
    Ok(d)
}

/// Creates an endpoint; it receives the events that happen from now on. The answer holds its
/// signing secret, the only time it is shown.
pub async fn create(app: &App, new: NewWebhook) -> ServiceResult<Webhook> {
    let url = check_url(&app.webhooks, "url", &new.url)?;
    let types = events::parse_types("events", &new.events)?;
    let format = check_format(new.format.as_deref())?;
    let description = description(new.description)?;
    app.write(move |c, now| {
        let survey_id = match &new.survey {
            None => None,
            Some(slug) => match survey_id_of(c, slug)? {
                Ok(id) => Some(id),
                Err(e) => return Ok(Err(e)),
            },
        };
        let head = npsd_store::events::head(c)?;
        let row = WebhookRow {
            id: format!("wh_{}", uuid::Uuid::now_v7().simple()),
            url: url.to_string(),
            events: serde_json::to_string(&types).unwrap_or_else(|_| "[]".into()),
            survey_id,
            description: description.clone(),
            format: format.clone(),
            secret: new_secret(),
            enabled: true,
            disabled_reason: None,
            cursor_txid: head.txid,
            cursor_seq: head.seq,
            attempts: 0,
            next_attempt_at: None,
            failing_since: None,
            lease_id: None,
            lease_expires_at: None,
            created_at: now,
            updated_at: now,
        };
        store::insert(c, &row)?;
        Ok(Ok(view(c, row, true)?))
    })
    .await?
}

pub async fn list(app: &App) -> ServiceResult<Vec<Webhook>> {
    app.read(|c, _| {
        store::list(c)?
            .into_iter()
            .map(|r| view(c, r, false))
            .collect()
    })
    .await
}

pub async fn find(app: &App, id: String) -> ServiceResult<Option<Webhook>> {
    app.read(move |c, _| match store::find(c, &id)? {
        Some(r) => Ok(Some(view(c, r, false)?)),
        None => Ok(None),
    })
    .await
}

/// Changes an endpoint. Enabling a disabled one starts again from where it stopped (the events
/// it missed are delivered, those older than the retention aside).
pub async fn update(app: &App, id: String, patch: WebhookPatch) -> ServiceResult<Option<Webhook>> {
    let url = match &patch.url {
        Some(u) => Some(check_url(&app.webhooks, "url", u)?.to_string()),
        None => None,
    };
    let types = match &patch.events {
        Some(t) => Some(events::parse_types("events", t)?),
        None => None,
    };
    let description = match patch.description.clone() {
        Some(d) => Some(description(d)?),
        None => None,
    };
    app.write(move |c, now| {
        if store::find(c, &id)?.is_none() {
            return Ok(Ok(None));
        }
        let survey_id = match &patch.survey {
            None => None,
            Some(None) => Some(None),
            Some(Some(slug)) => match survey_id_of(c, slug)? {
                Ok(id) => Some(Some(id)),
                Err(e) => return Ok(Err(e)),
            },
        };
        let enabling = patch.enabled == Some(true);
        let change = WebhookChange {
            url: url.clone(),
            events: types
                .as_ref()
                .map(|t| serde_json::to_string(t).unwrap_or_else(|_| "[]".into())),
            survey_id,
            description: description.clone(),
            enabled: patch.enabled,
            disabled_reason: enabling.then_some(None),
            attempts: enabling.then_some(0),
            next_attempt_at: enabling.then_some(None),
            failing_since: enabling.then_some(None),
            updated_at: Some(now),
            ..Default::default()
        };
        store::update(c, &id, &change)?;
        let row = store::find(c, &id)?.expect("found above, in the same transaction");
        Ok(Ok(Some(view(c, row, false)?)))
    })
    .await?
}

pub async fn delete(app: &App, id: String) -> ServiceResult<bool> {
    app.write(move |c, _| store::delete(c, &id)).await
}

/// An endpoint's delivery log, newest first; None when there is no such endpoint.
pub async fn deliveries(
    app: &App,
    id: String,
    before: Option<String>,
    limit: i64,
) -> ServiceResult<Option<Vec<Delivery>>> {
    app.read(move |c, _| {
        if store::find(c, &id)?.is_none() {
            return Ok(None);
        }
        Ok(Some(
            store::deliveries(c, &id, before.as_deref(), limit)?
                .into_iter()
                .map(Delivery::from)
                .collect(),
        ))
    })
    .await
}

/// The Standard Webhooks signature of a message: `v1,` and the base64 HMAC-SHA256, keyed by the
/// secret's bytes (the part after `whsec_`, base64), of `id.timestamp.body`.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &str) -> String {
    let key = secret.strip_prefix("whsec_").unwrap_or(secret);
    let key = base64::engine::general_purpose::STANDARD
        .decode(key)
        .unwrap_or_else(|_| key.as_bytes().to_vec());
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&key).expect("HMAC takes any key length");
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    )
}

/// Delighted's webhook signature: `sha256=` and the hex HMAC-SHA256 of the body, keyed by the
/// secret as it is written.
pub fn sign_delighted(secret: &str, body: &str) -> String {
    let mut mac =
        Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(body.as_bytes());
    let digest = mac.finalize().into_bytes();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

/// A resolver that answers only public addresses (unless private ones are allowed): the client
/// connects to exactly the address checked here, so a name cannot be re-pointed between the check
/// and the connection.
struct PublicOnly {
    allow_private: bool,
}

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow_private = self.allow_private;
        let host = name.as_str().to_string();
        Box::pin(async move {
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = found
                .iter()
                .copied()
                .filter(|a| allow_private || is_public(a.ip()))
                .collect();
            if allowed.is_empty() {
                let why: Box<dyn std::error::Error + Send + Sync> = if found.is_empty() {
                    format!("{host} has no address").into()
                } else {
                    format!("{host} resolves only to loopback, link-local or private addresses")
                        .into()
                };
                return Err(why);
            }
            let addrs: reqwest::dns::Addrs = Box::new(allowed.into_iter());
            Ok(addrs)
        })
    }
}

/// The HTTP client every delivery goes through: the checking resolver, no redirects, no proxy
/// from the environment, a timeout per request.
pub fn client(settings: &Settings) -> reqwest::Client {
    reqwest::Client::builder()
        .dns_resolver(Arc::new(PublicOnly {
            allow_private: settings.allow_private,
        }))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(settings.timeout)
        .user_agent(concat!("npsd/", env!("CARGO_PKG_VERSION"), " (webhooks)"))
        .build()
        .expect("the webhook client's settings are valid")
}

/// What an endpoint did with one POST.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub code: Option<u16>,
    pub body: Option<String>,
    pub error: Option<String>,
    pub duration_ms: i64,
}

impl Attempt {
    pub fn delivered(&self) -> bool {
        self.code.is_some_and(|c| (200..300).contains(&c))
    }

    /// Worth trying again: a 5xx, a 429, a timeout or no answer at all.
    pub fn retryable(&self) -> bool {
        match self.code {
            None => true,
            Some(c) => c == 429 || c >= 500,
        }
    }
}

/// Posts a JSON body to a URL, signed as Standard Webhooks says with `secret`, `msg_id` as the
/// `webhook-id`. The URL's address is checked first when it is literal (the resolver checks
/// names).
pub async fn post(
    settings: &Settings,
    client: &reqwest::Client,
    url: &str,
    secret: Option<&str>,
    msg_id: &str,
    body: String,
    now: NaiveDateTime,
) -> Attempt {
    post_as(settings, client, url, secret, false, msg_id, body, now).await
}

/// [`post`], also signed as Delighted signed its webhooks when `delighted`
/// (`X-Delighted-Webhook-Signature: sha256=` and the hex HMAC-SHA256 of the body, keyed by the
/// secret).
#[allow(clippy::too_many_arguments)]
pub async fn post_as(
    settings: &Settings,
    client: &reqwest::Client,
    url: &str,
    secret: Option<&str>,
    delighted: bool,
    msg_id: &str,
    body: String,
    now: NaiveDateTime,
) -> Attempt {
    let started = Instant::now();
    let done = |code: Option<u16>, body: Option<String>, error: Option<String>| Attempt {
        code,
        body,
        error,
        duration_ms: started.elapsed().as_millis() as i64,
    };
    if let Err(e) = check_url(settings, "url", url) {
        return done(None, None, Some(e.message));
    }
    let timestamp = now.and_utc().timestamp();
    let mut req = client
        .post(url)
        .header("content-type", "application/json")
        .header("webhook-id", msg_id)
        .header("webhook-timestamp", timestamp.to_string());
    if let Some(secret) = secret {
        req = req.header("webhook-signature", sign(secret, msg_id, timestamp, &body));
        if delighted {
            req = req.header(
                "x-delighted-webhook-signature",
                sign_delighted(secret, &body),
            );
        }
    }
    match req.body(body).send().await {
        Ok(resp) => {
            let code = resp.status().as_u16();
            let bytes = resp.bytes().await.unwrap_or_default();
            let cut = &bytes[..bytes.len().min(BODY_KEPT)];
            let text = String::from_utf8_lossy(cut).into_owned();
            done(Some(code), Some(text), None)
        }
        Err(e) => {
            let why = if e.is_timeout() {
                format!("timed out after {} s", settings.timeout.as_secs())
            } else {
                // reqwest's chain: "error sending request" and the cause below it.
                let mut msg = e.to_string();
                let mut src = std::error::Error::source(&e);
                while let Some(s) = src {
                    msg = format!("{msg}: {s}");
                    src = s.source();
                }
                msg
            };
            done(None, None, Some(why))
        }
    }
}

/// The body of an event as a webhook posts it.
pub fn body(event: &Event) -> String {
    serde_json::to_string(event).unwrap_or_else(|_| "{}".into())
}

fn unix(rfc3339: Option<&str>) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(rfc3339?)
        .ok()
        .map(|t| t.timestamp())
}

/// The body of an event in Delighted's webhook shape (`event_type`, `event_id`, `event_data`),
/// for the endpoints of shops moving from Delighted: an answer's events as
/// `survey_response.updated` with the survey response as Delighted's API shows it, an unsubscribe
/// as `survey_response.unsubscribed`. None for the events Delighted had no webhook for.
pub fn delighted_body(event: &Event) -> Option<String> {
    let d = &event.data;
    let (kind, data) = match event.kind.as_str() {
        "response.created" | "response.updated" | "comment.added" => {
            let r = d.get("response")?;
            r.get("score")?;
            let person = &r["person"];
            (
                "survey_response.updated",
                serde_json::json!({
                    "id": r["id"],
                    "person": {"id": person["id"], "email": person["email"], "name": person["name"]},
                    "survey_type": "nps",
                    "score": r["score"],
                    "comment": r["comment"],
                    "permalink": r["links"]["dashboard"],
                    "created_at": unix(r["responded_at"].as_str()),
                    "updated_at": unix(Some(&event.created_at)),
                    "person_properties": r["properties"],
                    "notes": [],
                    "tags": [],
                    "additional_answers": [],
                    "channel": r["channel"],
                }),
            )
        }
        "unsubscribe.created" => (
            "survey_response.unsubscribed",
            serde_json::json!({"person": {"email": d["email"]}, "source": d["source"]}),
        ),
        _ => return None,
    };
    Some(
        serde_json::json!({"event_type": kind, "event_id": event.id, "event_data": data})
            .to_string(),
    )
}

/// What an endpoint of `format` is posted for `event`: None when it takes no such event.
fn body_for(format: &str, event: &Event) -> Option<String> {
    if format == "delighted" {
        delighted_body(event)
    } else {
        Some(body(event))
    }
}

fn delivery_row(
    webhook_id: &str,
    event_id: &str,
    event_type: &str,
    attempt: i32,
    outcome: &str,
    a: &Attempt,
    now: NaiveDateTime,
) -> DeliveryRow {
    DeliveryRow {
        id: uuid::Uuid::now_v7().to_string(),
        webhook_id: webhook_id.to_string(),
        event_id: event_id.to_string(),
        event_type: event_type.to_string(),
        attempt,
        outcome: outcome.to_string(),
        response_code: a.code.map(i32::from),
        response_body: a.body.clone(),
        error: a.error.clone(),
        duration_ms: a.duration_ms,
        created_at: now,
    }
}

/// Sends a test event (`webhook.test`) to the endpoint now, and logs it; None when there is no
/// such endpoint.
pub async fn send_test(app: &App, id: String) -> ServiceResult<Option<Delivery>> {
    let Some(row) = app.read(move |c, _| store::find(c, &id)).await? else {
        return Ok(None);
    };
    let now = app.clock.now();
    let event = Event {
        id: format!("evt_{}", uuid::Uuid::new_v4().simple()),
        kind: "webhook.test".into(),
        created_at: events::timestamp(now),
        survey: None,
        data: serde_json::json!({ "message": "A test event from npsd: this endpoint is set up." }),
        position: Position::default(),
        survey_id: None,
        response: None,
    };
    let client = client(&app.webhooks);
    let a = post(
        &app.webhooks,
        &client,
        &row.url,
        Some(&row.secret),
        &event.id,
        body(&event),
        now,
    )
    .await;
    let outcome = if a.delivered() { "delivered" } else { "failed" };
    let log = delivery_row(&row.id, &event.id, &event.kind, 1, outcome, &a, now);
    let shown = Delivery::from(log.clone());
    app.write(move |c, _| store::log_delivery(c, &log)).await?;
    Ok(Some(shown))
}

/// Posts a logged delivery's event again, now, with its original `webhook-id`, and logs the new
/// attempt. None when the endpoint or the delivery is not there; a NotFound error when the event
/// is past its retention.
pub async fn redeliver(
    app: &App,
    id: String,
    delivery_id: String,
) -> ServiceResult<Option<Delivery>> {
    let public_url = app.public_url.clone();
    let found = app
        .read(move |c, _| {
            let Some(row) = store::find(c, &id)? else {
                return Ok(None);
            };
            let Some(d) = store::delivery(c, &id, &delivery_id)? else {
                return Ok(None);
            };
            let event = match npsd_store::events::find(c, &d.event_id)? {
                Some(e) => events::render(c, &[e], &public_url)?.pop(),
                None => None,
            };
            Ok(Some((row, d, event)))
        })
        .await?;
    let Some((row, d, event)) = found else {
        return Ok(None);
    };
    let Some(event) = event else {
        return Err(ServiceError::NotFound(format!(
            "event {} is no longer kept (events are kept {} days)",
            d.event_id, app.webhooks.retention_days
        )));
    };
    let now = app.clock.now();
    let client = client(&app.webhooks);
    let payload = body_for(&row.format, &event).unwrap_or_else(|| body(&event));
    let a = post_as(
        &app.webhooks,
        &client,
        &row.url,
        Some(&row.secret),
        row.format == "delighted",
        &event.id,
        payload,
        now,
    )
    .await;
    let outcome = if a.delivered() { "delivered" } else { "failed" };
    let log = delivery_row(
        &row.id,
        &event.id,
        &event.kind,
        d.attempt + 1,
        outcome,
        &a,
        now,
    );
    let shown = Delivery::from(log.clone());
    app.write(move |c, _| store::log_delivery(c, &log)).await?;
    Ok(Some(shown))
}

/// Delivers events to the endpoints until `stop` turns true, on every instance: every
/// `poll_interval` it claims the endpoints that are free and due and serves each (side by side)
/// for up to one round. Also drops events and delivery logs past the retention, every ten minutes.
pub async fn run(app: App, mut stop: watch::Receiver<bool>) {
    let client = client(&app.webhooks);
    let mut last_prune: Option<Instant> = None;
    while !*stop.borrow() {
        if let Err(e) = round(&app, &client).await {
            tracing::warn!(error = %e, "webhook round failed; trying again");
        }
        if last_prune.is_none_or(|t| t.elapsed() > Duration::from_secs(600)) {
            last_prune = Some(Instant::now());
            if let Err(e) = prune(&app).await {
                tracing::warn!(error = %e, "cannot drop old events");
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(app.webhooks.poll_interval) => {}
            _ = stop.changed() => {}
        }
    }
}

async fn prune(app: &App) -> ServiceResult<()> {
    let cutoff = app.clock.now() - ChronoDuration::days(i64::from(app.webhooks.retention_days));
    // In batches of 5,000 with a pause between them: a backlog (the first start after a large
    // `npsd import --events`) never holds the writer for long.
    let mut first = true;
    loop {
        if !first {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        first = false;
        // Old rows only: no answer or claim waits for it (a shared write lock on PostgreSQL).
        let n = app
            .write_keyed("events:prune".into(), move |c, _| {
                let n = npsd_store::events::prune(c, cutoff, 5000)?;
                store::prune_deliveries(c, cutoff)?;
                Ok(n)
            })
            .await?;
        if n < 5000 {
            return Ok(());
        }
    }
}

/// One round: claim the endpoints that are due, serve them side by side, release them.
pub async fn round(app: &App, client: &reqwest::Client) -> ServiceResult<()> {
    // Most rounds find nothing: a read first, so an idle instance writes nothing.
    let due = app
        .read(|c, now| {
            Ok(store::list(c)?.into_iter().any(|w| {
                w.enabled
                    && w.lease_expires_at.is_none_or(|t| t < now)
                    && w.next_attempt_at.is_none_or(|t| t <= now)
            }))
        })
        .await?;
    if !due {
        return Ok(());
    }
    let lease_id = uuid::Uuid::new_v4().to_string();
    let lease = lease_id.clone();
    let length = lease_length(&app.webhooks);
    let claimed = app
        .write_keyed("webhooks".into(), move |c, now| {
            let length = ChronoDuration::from_std(length).unwrap_or(ChronoDuration::seconds(15));
            store::claim(c, &lease, now, length)
        })
        .await?;
    let serving = claimed
        .into_iter()
        .map(|w| serve(app, client, w, lease_id.clone()));
    for r in futures_util::future::join_all(serving).await {
        if let Err(e) = r {
            tracing::warn!(error = %e, "webhook endpoint round failed");
        }
    }
    Ok(())
}

/// The lease on an endpoint: long enough for one delivery that runs to its timeout, and more.
fn lease_length(settings: &Settings) -> Duration {
    settings
        .lease
        .max(settings.timeout + Duration::from_secs(5))
}

async fn serve(
    app: &App,
    client: &reqwest::Client,
    w: WebhookRow,
    lease_id: String,
) -> ServiceResult<()> {
    let started = Instant::now();
    let mut cursor = w.cursor();
    let mut attempts = w.attempts;
    let mut failing_since = w.failing_since;
    let filter = EventFilter {
        types: w.event_types(),
        survey_id: w.survey_id.clone(),
    };
    let public_url = app.public_url.clone();
    // A delivery starts only while the lease outlasts it by its timeout and a margin: no second
    // instance ever takes the endpoint over while a delivery of this one may still be in flight.
    let length = lease_length(&app.webhooks);
    while started.elapsed() + app.webhooks.timeout + Duration::from_secs(2) < length {
        let f = filter.clone();
        let url = public_url.clone();
        let read = app
            .read(move |c, _| {
                let read = npsd_store::events::after(c, cursor, &f, 1, 1000)?;
                let events = events::render(c, &read.rows, &url)?;
                Ok((events, read.reached))
            })
            .await?;
        let (events, reached) = read;
        let Some(event) = events.into_iter().next() else {
            // Nothing this endpoint wants: the cursor moves over what was looked at.
            if let Some(p) = reached.filter(|p| *p > cursor) {
                let (id, lease) = (w.id.clone(), lease_id.clone());
                app.write_keyed(format!("webhook:{}", w.id), move |c, _| {
                    store::skip_to(c, &id, &lease, p)
                })
                .await?;
                cursor = p;
                continue;
            }
            break;
        };
        let now = app.clock.now();
        let Some(payload) = body_for(&w.format, &event) else {
            // Nothing in this endpoint's shape for it (Delighted had no such webhook): past it.
            let (id, lease) = (w.id.clone(), lease_id.clone());
            let p = event.position;
            app.write_keyed(format!("webhook:{}", w.id), move |c, _| {
                store::skip_to(c, &id, &lease, p)
            })
            .await?;
            cursor = p;
            continue;
        };
        let a = post_as(
            &app.webhooks,
            client,
            &w.url,
            Some(&w.secret),
            w.format == "delighted",
            &event.id,
            payload,
            now,
        )
        .await;
        let attempt = attempts + 1;
        let now = app.clock.now();
        let (outcome, step) = if a.delivered() {
            ("delivered", Step::Past(event.position))
        } else if !a.retryable() {
            ("failed", Step::Past(event.position))
        } else {
            let since = failing_since.unwrap_or(now);
            if now - since >= ChronoDuration::hours(GIVE_UP_AFTER_HOURS) {
                ("failed", Step::Disable)
            } else {
                (
                    "retrying",
                    Step::RetryAt {
                        at: now + retry_delay(attempt),
                        attempts: attempt,
                        since,
                    },
                )
            }
        };
        let log = delivery_row(&w.id, &event.id, &event.kind, attempt, outcome, &a, now);
        let (id, lease) = (w.id.clone(), lease_id.clone());
        let last = a
            .error
            .clone()
            .or(a.code.map(|c| format!("HTTP {c}")))
            .unwrap_or_default();
        let why = format!("deliveries failed for {GIVE_UP_AFTER_HOURS} hours (last: {last})");
        let reason = why.clone();
        let held = app
            .write_keyed(format!("webhook:{}", w.id), move |c, now| {
                store::log_delivery(c, &log)?;
                let held = store::step(c, &id, &lease, step, Some(&reason), now)?;
                if held && matches!(step, Step::Disable) {
                    // The admins are told, once, in the write that disables it.
                    let payload =
                        serde_json::json!({ "webhook": id, "reason": reason }).to_string();
                    for to in npsd_store::users::admin_addresses(c)? {
                        npsd_store::outbox::enqueue(
                            c,
                            npsd_store::state::JobKind::WebhookDisabledEmail,
                            &to,
                            &payload,
                            now,
                        )?;
                    }
                }
                Ok(held)
            })
            .await?;
        match step {
            Step::Past(p) if held => {
                cursor = p;
                attempts = 0;
                failing_since = None;
            }
            Step::Disable => {
                tracing::warn!(webhook = %w.id, "webhook endpoint disabled: {why}");
                break;
            }
            _ => break,
        }
        if matches!(step, Step::Past(_)) && !held {
            break;
        }
    }
    let (id, lease) = (w.id.clone(), lease_id.clone());
    app.write_keyed(format!("webhook:{}", w.id), move |c, _| {
        store::release(c, &id, &lease)
    })
    .await?;
    Ok(())
}
