//! Alerts: per-survey rules that tell the team about matching answers, by email (one of npsd's
//! emails, through the outbox), in Slack (Block Kit, through an incoming webhook) and in Teams
//! (an Adaptive Card, through an incoming webhook), for each answer or as one summary every N
//! minutes.
//!
//! A rule reads its survey's answer events after its own cursor, like a webhook endpoint, under a
//! lease. An answer is alerted once per rule (`alert_matches`), when it first matches: on its
//! creation, its comment or its change. An answer discarded as a bot is never alerted; one
//! discarded after its alert gets a follow-up that says so. Slack and Teams are posted before the
//! match is recorded (at least once: a process killed between the two posts again); emails are
//! queued in the transaction that records it (exactly once).
use crate::events::{self, Event, ResponseFacts};
use crate::webhooks::{self, Attempt};
use crate::{App, ServiceError, ServiceResult};
use chrono::Duration as ChronoDuration;
use npsd_domain::email::EmailAddress;
use npsd_domain::score::Category;
use npsd_domain::ValidationError;
use npsd_store::alerts::{self as store, AlertRuleChange, AlertRuleRow};
use npsd_store::events::EventFilter;
use npsd_store::ids::{ResponseId, SurveyId};
use npsd_store::state::JobKind;
use npsd_store::{responses, surveys, DbConn, StoreResult};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// When a rule fires: every condition given must hold.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct When {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_score: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_score: Option<u8>,
    /// detractor, passive or promoter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub has_comment: Option<bool>,
    /// email, web, api or import.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// Each property must have this value.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub properties: BTreeMap<String, String>,
}

impl When {
    /// Checks the conditions; `field` prefixes the field named in an error (`when`).
    pub fn check(&self) -> Result<(), ValidationError> {
        for (name, v) in [
            ("when.min_score", self.min_score),
            ("when.max_score", self.max_score),
        ] {
            if v.is_some_and(|v| v > 10) {
                return Err(ValidationError::new(name, "must be a score from 0 to 10"));
            }
        }
        if let (Some(lo), Some(hi)) = (self.min_score, self.max_score) {
            if lo > hi {
                return Err(ValidationError::new(
                    "when.min_score",
                    "must not be above max_score",
                ));
            }
        }
        if let Some(c) = &self.category {
            if !["detractor", "passive", "promoter"].contains(&c.as_str()) {
                return Err(ValidationError::new(
                    "when.category",
                    "must be detractor, passive or promoter",
                ));
            }
        }
        if let Some(c) = &self.channel {
            if c.parse::<npsd_store::state::Channel>().is_err() {
                return Err(ValidationError::new(
                    "when.channel",
                    "must be email, web, api or import",
                ));
            }
        }
        for name in self.properties.keys() {
            if name.trim().is_empty() || name.len() > 100 {
                return Err(ValidationError::new(
                    "when.properties",
                    "property names must be 1 to 100 characters",
                ));
            }
        }
        Ok(())
    }

    pub fn matches(&self, f: &ResponseFacts) -> bool {
        let score = f.score;
        self.min_score.is_none_or(|m| score >= i32::from(m))
            && self.max_score.is_none_or(|m| score <= i32::from(m))
            && self
                .category
                .as_deref()
                .is_none_or(|c| Category::of(score).as_str() == c)
            && self.has_comment.is_none_or(|h| h == f.has_comment)
            && self.channel.as_deref().is_none_or(|c| c == f.channel)
            && self
                .properties
                .iter()
                .all(|(k, v)| f.properties.iter().any(|(pk, pv)| pk == k && pv == v))
    }
}

/// A rule as the API and the dashboard show it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AlertRule {
    pub id: String,
    /// The survey's slug.
    pub survey: String,
    pub name: String,
    pub when: When,
    pub email: Vec<String>,
    pub slack_webhook_url: Option<String>,
    pub teams_webhook_url: Option<String>,
    /// 0: a message per answer; N: one summary every N minutes.
    pub summary_minutes: i32,
    pub enabled: bool,
    /// Why the last message could not be sent, while it is being retried.
    pub last_error: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

fn view(r: AlertRuleRow, slug: &str) -> AlertRule {
    AlertRule {
        when: serde_json::from_str(&r.conditions).unwrap_or_default(),
        email: r.email_list(),
        id: r.id,
        survey: slug.to_string(),
        name: r.name,
        slack_webhook_url: r.slack_url,
        teams_webhook_url: r.teams_url,
        summary_minutes: r.summary_minutes,
        enabled: r.enabled,
        last_error: r.last_error,
        created_at: events::timestamp(r.created_at),
        updated_at: events::timestamp(r.updated_at),
    }
}

/// A rule as it is written; for a change, None leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct RuleInput {
    pub name: Option<String>,
    pub when: Option<When>,
    pub email: Option<Vec<String>>,
    pub slack_webhook_url: Option<Option<String>>,
    pub teams_webhook_url: Option<Option<String>>,
    pub summary_minutes: Option<i64>,
    pub enabled: Option<bool>,
}

/// The checked fields of a rule input.
struct Checked {
    name: Option<String>,
    when: Option<String>,
    emails: Option<String>,
    slack: Option<Option<String>>,
    teams: Option<Option<String>>,
    summary: Option<i32>,
}

fn check(app: &App, input: &RuleInput) -> Result<Checked, ValidationError> {
    let name = match &input.name {
        None => None,
        Some(n) => {
            let n = n.trim();
            if n.is_empty() || n.chars().count() > 100 || n.contains(['\n', '\r']) {
                return Err(ValidationError::new(
                    "name",
                    "must be 1 to 100 characters on one line",
                ));
            }
            Some(n.to_string())
        }
    };
    let when = match &input.when {
        None => None,
        Some(w) => {
            w.check()?;
            Some(serde_json::to_string(w).unwrap_or_else(|_| "{}".into()))
        }
    };
    let emails = match &input.email {
        None => None,
        Some(list) => {
            if list.len() > 20 {
                return Err(ValidationError::new("email", "at most 20 addresses"));
            }
            let mut out: Vec<String> = Vec::new();
            for raw in list {
                let a = EmailAddress::parse("email", raw.trim())?;
                let a = a.as_str().to_string();
                if !out.contains(&a) {
                    out.push(a);
                }
            }
            Some(serde_json::to_string(&out).unwrap_or_else(|_| "[]".into()))
        }
    };
    let url = |field: &str,
               v: &Option<Option<String>>|
     -> Result<Option<Option<String>>, ValidationError> {
        Ok(match v {
            None => None,
            Some(None) => Some(None),
            Some(Some(u)) if u.trim().is_empty() => Some(None),
            Some(Some(u)) => Some(Some(
                webhooks::check_url(&app.webhooks, field, u)?.to_string(),
            )),
        })
    };
    let slack = url("slack_webhook_url", &input.slack_webhook_url)?;
    let teams = url("teams_webhook_url", &input.teams_webhook_url)?;
    let summary = match input.summary_minutes {
        None => None,
        Some(m) if (0..=1440).contains(&m) => Some(m as i32),
        Some(_) => {
            return Err(ValidationError::new(
                "summary_minutes",
                "must be 0 (a message per answer) or 1 to 1440 minutes",
            ))
        }
    };
    Ok(Checked {
        name,
        when,
        emails,
        slack,
        teams,
        summary,
    })
}

fn survey_id(conn: &mut DbConn, slug: &str) -> StoreResult<Option<String>> {
    Ok(surveys::find_by_slug(conn, slug)?.map(|s| s.id.to_string()))
}

fn no_survey(slug: &str) -> ServiceError {
    ServiceError::NotFound(format!("no survey '{slug}'"))
}

/// Creates a rule on the survey; it looks at the answers that come from now on.
pub async fn create(app: &App, slug: String, input: RuleInput) -> ServiceResult<AlertRule> {
    if input.name.is_none() {
        return Err(ValidationError::new("name", "is required").into());
    }
    let c = check(app, &input)?;
    let has_destination = c.emails.as_deref().is_some_and(|e| e != "[]")
        || c.slack.clone().flatten().is_some()
        || c.teams.clone().flatten().is_some();
    if !has_destination {
        return Err(ValidationError::new(
            "email",
            "give at least one of email, slack_webhook_url or teams_webhook_url",
        )
        .into());
    }
    let found = app
        .write(move |conn, now| {
            let Some(sid) = survey_id(conn, &slug)? else {
                return Ok(Err(slug.clone()));
            };
            let head = npsd_store::events::head(conn)?;
            let row = AlertRuleRow {
                id: format!("al_{}", uuid::Uuid::now_v7().simple()),
                survey_id: sid,
                name: c.name.clone().unwrap_or_default(),
                conditions: c.when.clone().unwrap_or_else(|| "{}".into()),
                emails: c.emails.clone().unwrap_or_else(|| "[]".into()),
                slack_url: c.slack.clone().flatten(),
                teams_url: c.teams.clone().flatten(),
                summary_minutes: c.summary.unwrap_or(0),
                enabled: input.enabled.unwrap_or(true),
                cursor_txid: head.txid,
                cursor_seq: head.seq,
                attempts: 0,
                next_attempt_at: None,
                last_error: None,
                lease_id: None,
                lease_expires_at: None,
                created_at: now,
                updated_at: now,
            };
            store::insert(conn, &row)?;
            Ok(Ok(view(row, &slug)))
        })
        .await?;
    found.map_err(|slug| no_survey(&slug))
}

pub async fn list(app: &App, slug: String) -> ServiceResult<Vec<AlertRule>> {
    app.read(move |c, _| {
        let Some(sid) = survey_id(c, &slug)? else {
            return Ok(Err(slug));
        };
        Ok(Ok(store::list(c, Some(&sid))?
            .into_iter()
            .map(|r| view(r, &slug))
            .collect()))
    })
    .await?
    .map_err(|slug| no_survey(&slug))
}

pub async fn find(app: &App, slug: String, id: String) -> ServiceResult<Option<AlertRule>> {
    app.read(move |c, _| {
        let Some(sid) = survey_id(c, &slug)? else {
            return Ok(Err(slug));
        };
        Ok(Ok(store::find(c, &sid, &id)?.map(|r| view(r, &slug))))
    })
    .await?
    .map_err(|slug| no_survey(&slug))
}

pub async fn update(
    app: &App,
    slug: String,
    id: String,
    input: RuleInput,
) -> ServiceResult<Option<AlertRule>> {
    let c = check(app, &input)?;
    app.write(move |conn, now| {
        let Some(sid) = survey_id(conn, &slug)? else {
            return Ok(Err(no_survey(&slug)));
        };
        let Some(before) = store::find(conn, &sid, &id)? else {
            return Ok(Ok(None));
        };
        // A rule keeps somewhere to send to, as when it was created.
        let emails = c.emails.clone().unwrap_or_else(|| before.emails.clone());
        let slack = c.slack.clone().unwrap_or_else(|| before.slack_url.clone());
        let teams = c.teams.clone().unwrap_or_else(|| before.teams_url.clone());
        if emails == "[]" && slack.is_none() && teams.is_none() {
            return Ok(Err(ValidationError::new(
                "email",
                "give at least one of email, slack_webhook_url or teams_webhook_url",
            )
            .into()));
        }
        let change = AlertRuleChange {
            name: c.name.clone(),
            conditions: c.when.clone(),
            emails: c.emails.clone(),
            slack_url: c.slack.clone(),
            teams_url: c.teams.clone(),
            summary_minutes: c.summary,
            enabled: input.enabled,
            updated_at: Some(now),
        };
        store::update(conn, &before.id, &change)?;
        Ok(Ok(store::find(conn, &sid, &id)?.map(|r| view(r, &slug))))
    })
    .await?
}

pub async fn delete(app: &App, slug: String, id: String) -> ServiceResult<bool> {
    app.write(move |c, _| {
        let Some(sid) = survey_id(c, &slug)? else {
            return Ok(Err(slug.clone()));
        };
        Ok(Ok(store::delete(c, &sid, &id)?))
    })
    .await?
    .map_err(|slug| no_survey(&slug))
}

/// What a message is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    /// One answer matched.
    Answer,
    /// The answers that matched over the rule's summary period.
    Summary,
    /// An answer alerted earlier was discarded as a bot.
    Discarded,
}

/// One answer as a message shows it.
#[derive(Debug, Clone)]
pub struct NoticeItem {
    pub score: i32,
    /// detractor, passive, promoter.
    pub category: &'static str,
    pub comment: Option<String>,
    /// "Dana <dana@example.com>", an address, a name, or "Someone on your site".
    pub person: String,
    pub properties: Vec<(String, String)>,
    /// The answer's page in the dashboard.
    pub link: String,
    pub channel: String,
}

/// A message of a rule, made the same for Slack, Teams and email.
#[derive(Debug, Clone)]
pub struct Notice {
    pub kind: NoticeKind,
    pub rule: String,
    pub survey: String,
    pub items: Vec<NoticeItem>,
    /// Matched answers not listed (a summary lists at most 20).
    pub more: usize,
}

/// At most this many answers in a summary; the rest are counted.
const SUMMARY_LISTS: usize = 20;

impl Notice {
    /// The one-line title (Slack's and Teams' heading, the email's subject).
    pub fn title(&self) -> String {
        match (self.kind, self.items.first()) {
            (NoticeKind::Answer, Some(i)) => format!(
                "{} {} ({}): {}",
                capitalised(i.category),
                i.score,
                self.survey,
                self.rule
            ),
            (NoticeKind::Discarded, _) => format!(
                "Discarded as a bot: an answer alerted by {} ({})",
                self.rule, self.survey
            ),
            _ => {
                let n = self.items.len() + self.more;
                format!(
                    "{n} {} matched {} ({})",
                    if n == 1 { "answer" } else { "answers" },
                    self.rule,
                    self.survey
                )
            }
        }
    }

    /// What the message says under its title, as plain lines (email text, fallbacks).
    pub fn intro(&self) -> String {
        match self.kind {
            NoticeKind::Answer => "A new answer matched this alert rule.".into(),
            NoticeKind::Summary => "These answers matched this alert rule since the last summary.".into(),
            NoticeKind::Discarded => "The scanner rules found that this answer, alerted earlier, came from a link scanner, not a person: it is no longer counted.".into(),
        }
    }

    /// Slack's Block Kit message (for an incoming webhook).
    pub fn slack(&self) -> Value {
        let mut blocks = vec![
            json!({"type": "header", "text": {"type": "plain_text", "text": cut(&self.title(), 150), "emoji": true}}),
            json!({"type": "section", "text": {"type": "mrkdwn", "text": slack_escape(&self.intro())}}),
        ];
        for i in &self.items {
            let mut fields = vec![
                json!({"type": "mrkdwn", "text": format!("*Score*\n{} ({})", i.score, i.category)}),
                json!({"type": "mrkdwn", "text": format!("*Person*\n{}", slack_escape(&i.person))}),
            ];
            for (k, v) in i.properties.iter().take(8) {
                fields.push(json!({"type": "mrkdwn", "text": format!("*{}*\n{}", slack_escape(k), slack_escape(v))}));
            }
            blocks.push(json!({"type": "section", "fields": fields}));
            if let Some(c) = &i.comment {
                blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": format!("> {}", slack_escape(&cut(c, 2900)).replace('\n', "\n> "))}}));
            }
            blocks.push(json!({"type": "actions", "elements": [{"type": "button", "text": {"type": "plain_text", "text": "Open the answer"}, "url": i.link}]}));
            blocks.push(json!({"type": "divider"}));
        }
        if self.more > 0 {
            blocks.push(json!({"type": "context", "elements": [{"type": "mrkdwn", "text": format!("…and {} more in the dashboard.", self.more)}]}));
        }
        blocks.truncate(50);
        json!({"text": self.title(), "blocks": blocks})
    }

    /// Teams' message with an Adaptive Card (for an incoming webhook or a Workflows webhook).
    pub fn teams(&self) -> Value {
        let mut body = vec![
            json!({"type": "TextBlock", "text": self.title(), "weight": "Bolder", "size": "Medium", "wrap": true}),
            json!({"type": "TextBlock", "text": self.intro(), "wrap": true}),
        ];
        let mut actions = Vec::new();
        for i in &self.items {
            let mut facts = vec![
                json!({"title": "Score", "value": format!("{} ({})", i.score, i.category)}),
                json!({"title": "Person", "value": i.person}),
                json!({"title": "Channel", "value": i.channel}),
            ];
            for (k, v) in i.properties.iter().take(8) {
                facts.push(json!({"title": k, "value": v}));
            }
            body.push(json!({"type": "FactSet", "facts": facts, "separator": true}));
            if let Some(c) = &i.comment {
                body.push(json!({"type": "TextBlock", "text": cut(c, 2000), "wrap": true, "isSubtle": false}));
            }
            if self.items.len() == 1 {
                actions.push(
                    json!({"type": "Action.OpenUrl", "title": "Open the answer", "url": i.link}),
                );
            } else {
                body.push(json!({"type": "TextBlock", "text": format!("[Open the answer]({})", i.link), "wrap": true}));
            }
        }
        if self.more > 0 {
            body.push(json!({"type": "TextBlock", "text": format!("…and {} more in the dashboard.", self.more), "wrap": true}));
        }
        json!({
            "type": "message",
            "attachments": [{
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": null,
                "content": {
                    "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                    "type": "AdaptiveCard",
                    "version": "1.4",
                    "body": body,
                    "actions": actions,
                }
            }]
        })
    }
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Slack's mrkdwn reads `&`, `<` and `>` as markup: escaped as Slack says.
fn slack_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The payload of an alert email's outbox job.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EmailJob {
    pub rule: String,
    pub kind: NoticeKind,
    pub responses: Vec<String>,
    #[serde(default)]
    pub more: usize,
}

/// Reads what a message shows about these answers (those erased since are left out). None when
/// the rule is gone or none of the answers is left.
pub fn describe(
    conn: &mut DbConn,
    rule_id: &str,
    kind: NoticeKind,
    response_ids: &[String],
    more: usize,
    public_url: &str,
) -> StoreResult<Option<Notice>> {
    let Some(rule) = store::find_any(conn, rule_id)? else {
        return Ok(None);
    };
    let survey_id = SurveyId::from(rule.survey_id.clone());
    let Some(survey) = surveys::find_by_id_opt(conn, &survey_id)? else {
        return Ok(None);
    };
    let mut items = Vec::new();
    for id in response_ids {
        let rows = responses::one(conn, &survey_id, &ResponseId::from(id.clone()))?;
        let Some(r) = rows.first() else { continue };
        let mut properties = responses::properties_of_comments(conn, std::slice::from_ref(r))?
            .remove(id)
            .unwrap_or_default();
        properties.sort();
        let person = match (r.name(), r.email()) {
            (Some(n), Some(e)) => format!("{n} <{e}>"),
            (None, Some(e)) => e.to_string(),
            (Some(n), None) => n.to_string(),
            (None, None) => "Someone on your site".to_string(),
        };
        items.push(NoticeItem {
            score: r.score,
            category: Category::of(r.score).as_str(),
            comment: r.comment.clone().filter(|c| !c.trim().is_empty()),
            person,
            properties,
            link: format!("{public_url}/dashboard/{}/responses/{id}", survey.slug),
            channel: r.channel.as_str().to_string(),
        });
    }
    if items.is_empty() {
        return Ok(None);
    }
    Ok(Some(Notice {
        kind,
        rule: rule.name,
        survey: survey.slug,
        items,
        more,
    }))
}

/// The types of event a rule looks at.
const ANSWER_EVENTS: &[&str] = &["response.created", "comment.added", "response.updated"];

/// Serves the alert rules until `stop` turns true, on every instance whose dispatcher runs.
pub async fn run(app: App, mut stop: watch::Receiver<bool>) {
    let client = webhooks::client(&app.webhooks);
    while !*stop.borrow() {
        if let Err(e) = round(&app, &client).await {
            tracing::warn!(error = %e, "alert round failed; trying again");
        }
        tokio::select! {
            _ = tokio::time::sleep(app.webhooks.poll_interval) => {}
            _ = stop.changed() => {}
        }
    }
}

/// One round: claim the rules that are free and due, serve each, release them.
pub async fn round(app: &App, client: &reqwest::Client) -> ServiceResult<()> {
    let any = app
        .read(|c, now| {
            Ok(store::list(c, None)?.into_iter().any(|r| {
                r.enabled
                    && r.lease_expires_at.is_none_or(|t| t < now)
                    && r.next_attempt_at.is_none_or(|t| t <= now)
            }))
        })
        .await?;
    if !any {
        return Ok(());
    }
    let lease_id = uuid::Uuid::new_v4().to_string();
    let lease = lease_id.clone();
    let length = app
        .webhooks
        .lease
        .max(app.webhooks.timeout * 2 + Duration::from_secs(5));
    let claimed = app
        .write_keyed("alerts".into(), move |c, now| {
            let length = ChronoDuration::from_std(length).unwrap_or(ChronoDuration::seconds(30));
            store::claim(c, &lease, now, length)
        })
        .await?;
    for rule in claimed {
        let id = rule.id.clone();
        if let Err(e) = serve(app, client, rule, &lease_id, length).await {
            tracing::warn!(rule = %id, error = %e, "alert rule round failed");
        }
        let (id, lease) = (id, lease_id.clone());
        app.write_keyed(format!("alert:{id}"), move |c, _| {
            store::release(c, &id, &lease)
        })
        .await?;
    }
    Ok(())
}

/// What one event means for a rule.
enum Action {
    /// Nothing to do.
    Pass,
    /// Matched: send now.
    Alert(String),
    /// Matched: keep for the summary.
    Keep(String),
    /// Alerted earlier, discarded now: say so.
    Discarded(String),
    /// Waiting for the summary, discarded now: never sent.
    Drop(String),
}

fn decide(
    conn: &mut DbConn,
    rule: &AlertRuleRow,
    when: &When,
    event: &Event,
) -> StoreResult<Action> {
    let Some(f) = &event.response else {
        return Ok(Action::Pass);
    };
    let earlier = store::find_match(conn, &rule.id, &f.id)?;
    if !f.counted {
        return Ok(match earlier {
            Some(m) if m.notified_at.is_some() && m.discard_noted_at.is_none() => {
                Action::Discarded(f.id.clone())
            }
            Some(m) if m.notified_at.is_none() => Action::Drop(f.id.clone()),
            _ => Action::Pass,
        });
    }
    if earlier.is_some() || !when.matches(f) {
        return Ok(Action::Pass);
    }
    Ok(if rule.summary_minutes > 0 {
        Action::Keep(f.id.clone())
    } else {
        Action::Alert(f.id.clone())
    })
}

/// Posts a notice to the rule's Slack and Teams webhooks: the first failure, if any.
async fn post_chat(
    app: &App,
    client: &reqwest::Client,
    rule: &AlertRuleRow,
    notice: &Notice,
) -> Option<Attempt> {
    let now = app.clock.now();
    for (url, body) in [
        (&rule.slack_url, notice.slack()),
        (&rule.teams_url, notice.teams()),
    ] {
        let Some(url) = url else { continue };
        let id = format!("alert_{}", uuid::Uuid::new_v4().simple());
        let a = webhooks::post(&app.webhooks, client, url, None, &id, body.to_string(), now).await;
        if !a.delivered() {
            return Some(a);
        }
    }
    None
}

fn describe_attempt(a: &Attempt) -> String {
    a.error
        .clone()
        .or(a.code.map(|c| format!("HTTP {c}")))
        .unwrap_or_default()
}

async fn serve(
    app: &App,
    client: &reqwest::Client,
    rule: AlertRuleRow,
    lease_id: &str,
    length: Duration,
) -> ServiceResult<()> {
    let started = Instant::now();
    let when: When = serde_json::from_str(&rule.conditions).unwrap_or_default();
    let filter = EventFilter {
        types: ANSWER_EVENTS.iter().map(|t| t.to_string()).collect(),
        survey_id: Some(rule.survey_id.clone()),
    };
    let mut cursor = rule.cursor();
    let public_url = app.public_url.clone();
    let budget = |started: Instant| {
        started.elapsed() + app.webhooks.timeout * 2 + Duration::from_secs(2) < length
    };
    'events: while budget(started) {
        let (f, url, r, w) = (
            filter.clone(),
            public_url.clone(),
            rule.clone(),
            when.clone(),
        );
        let (decided, reached) = app
            .read(move |c, _| {
                let read = npsd_store::events::after(c, cursor, &f, 20, 1000)?;
                let evs = events::render(c, &read.rows, &url)?;
                let mut out = Vec::new();
                for e in evs {
                    let action = decide(c, &r, &w, &e)?;
                    let notice = match &action {
                        Action::Alert(id) => describe(
                            c,
                            &r.id,
                            NoticeKind::Answer,
                            std::slice::from_ref(id),
                            0,
                            &url,
                        )?,
                        Action::Discarded(id) => describe(
                            c,
                            &r.id,
                            NoticeKind::Discarded,
                            std::slice::from_ref(id),
                            0,
                            &url,
                        )?,
                        _ => None,
                    };
                    out.push((e.position, action, notice));
                }
                Ok((out, read.reached))
            })
            .await?;
        if decided.is_empty() {
            if let Some(p) = reached.filter(|p| *p > cursor) {
                let (id, lease) = (rule.id.clone(), lease_id.to_string());
                app.write_keyed(format!("alert:{}", rule.id), move |c, _| {
                    store::advance(c, &id, &lease, p).map(|_| ())
                })
                .await?;
                cursor = p;
                continue;
            }
            break;
        }
        for (position, action, notice) in decided {
            if let (Action::Alert(_) | Action::Discarded(_), Some(n)) = (&action, &notice) {
                if let Some(failed) = post_chat(app, client, &rule, n).await {
                    let why = describe_attempt(&failed);
                    let attempts = rule.attempts + 1;
                    let at = app.clock.now() + webhooks::retry_delay(attempts);
                    let (id, lease) = (rule.id.clone(), lease_id.to_string());
                    tracing::warn!(rule = %rule.id, "alert not delivered, retrying: {why}");
                    app.write_keyed(format!("alert:{}", rule.id), move |c, _| {
                        store::retry_at(c, &id, &lease, attempts, at, &why)
                    })
                    .await?;
                    break 'events;
                }
            }
            let (id, lease, emails) = (rule.id.clone(), lease_id.to_string(), rule.email_list());
            let survey = rule.survey_id.clone();
            let held = app
                .write_keyed(format!("alert:{}", rule.id), move |c, now| {
                    match &action {
                        Action::Pass => {}
                        Action::Keep(r) => {
                            store::record_match(c, &id, r, &survey, None, now)?;
                        }
                        Action::Drop(r) => store::forget_match(c, &id, r)?,
                        Action::Alert(r) | Action::Discarded(r) => {
                            let kind = if matches!(action, Action::Alert(_)) {
                                store::record_match(c, &id, r, &survey, Some(now), now)?;
                                NoticeKind::Answer
                            } else {
                                store::note_discarded(c, &id, r, now)?;
                                NoticeKind::Discarded
                            };
                            if notice.is_some() {
                                queue_emails(
                                    c,
                                    &emails,
                                    &id,
                                    kind,
                                    std::slice::from_ref(r),
                                    0,
                                    now,
                                )?;
                            }
                        }
                    }
                    store::advance(c, &id, &lease, position)
                })
                .await?;
            if !held {
                break 'events;
            }
            cursor = position;
        }
    }
    if rule.summary_minutes > 0 {
        summarise(app, client, &rule, lease_id).await?;
    }
    Ok(())
}

fn queue_emails(
    conn: &mut DbConn,
    emails: &[String],
    rule_id: &str,
    kind: NoticeKind,
    responses: &[String],
    more: usize,
    now: chrono::NaiveDateTime,
) -> StoreResult<()> {
    let payload = serde_json::to_string(&EmailJob {
        rule: rule_id.to_string(),
        kind,
        responses: responses.to_vec(),
        more,
    })
    .unwrap_or_default();
    for to in emails {
        npsd_store::outbox::enqueue(conn, JobKind::AlertEmail, to, &payload, now)?;
    }
    Ok(())
}

/// Sends the rule's summary once its oldest waiting match is `summary_minutes` old.
async fn summarise(
    app: &App,
    client: &reqwest::Client,
    rule: &AlertRuleRow,
    lease_id: &str,
) -> ServiceResult<()> {
    let (id, url) = (rule.id.clone(), app.public_url.clone());
    let minutes = i64::from(rule.summary_minutes);
    let found = app
        .read(move |c, now| {
            let pending = store::pending(c, &id)?;
            let Some(oldest) = pending.first() else {
                return Ok(None);
            };
            if now - oldest.matched_at < ChronoDuration::minutes(minutes) {
                return Ok(None);
            }
            let ids: Vec<String> = pending.iter().map(|m| m.response_id.clone()).collect();
            let listed: Vec<String> = ids.iter().take(SUMMARY_LISTS).cloned().collect();
            let more = ids.len().saturating_sub(SUMMARY_LISTS);
            let notice = describe(c, &id, NoticeKind::Summary, &listed, more, &url)?;
            Ok(Some((ids, listed, more, notice)))
        })
        .await?;
    let Some((ids, listed, more, notice)) = found else {
        return Ok(());
    };
    if let Some(n) = &notice {
        if let Some(failed) = post_chat(app, client, rule, n).await {
            let why = describe_attempt(&failed);
            let attempts = rule.attempts + 1;
            let at = app.clock.now() + webhooks::retry_delay(attempts);
            let (id, lease) = (rule.id.clone(), lease_id.to_string());
            app.write_keyed(format!("alert:{}", rule.id), move |c, _| {
                store::retry_at(c, &id, &lease, attempts, at, &why)
            })
            .await?;
            return Ok(());
        }
    }
    let (id, emails) = (rule.id.clone(), rule.email_list());
    let sent = notice.is_some();
    app.write_keyed(format!("alert:{}", rule.id), move |c, now| {
        store::mark_notified(c, &id, &ids, now)?;
        if sent {
            queue_emails(c, &emails, &id, NoticeKind::Summary, &listed, more, now)?;
        }
        Ok(())
    })
    .await?;
    Ok(())
}
