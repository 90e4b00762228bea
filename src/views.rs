//! The JSON shapes npsd answers with that more than one door shows: the API's answers and the
//! CLI's `--json` output (API keys, suppressions), and how a time is written in them.
use crate::domain::survey::DEFAULT_SLUG;
use crate::store::api_keys::ApiKeyRow;
use crate::store::suppressions::SuppressionRow;
use chrono::{NaiveDateTime, SecondsFormat};
use serde::Serialize;
use utoipa::ToSchema;

/// A time as every answer writes it: RFC 3339 in UTC, to the millisecond.
pub fn timestamp(t: NaiveDateTime) -> String {
    t.and_utc().to_rfc3339_opts(SecondsFormat::Millis, true)
}

#[derive(Serialize, ToSchema)]
pub struct ApiKeyView {
    pub id: String,
    pub name: String,
    pub scopes: Vec<&'static str>,
    pub prefix: String,
    pub created_at: String,
    pub revoked_at: Option<String>,
    /// The slug of the survey the key's Delighted-compatible requests (`/v1/...`) use.
    pub survey: String,
}

impl ApiKeyView {
    pub fn new(row: &ApiKeyRow, survey_slug: Option<&str>) -> Self {
        ApiKeyView {
            id: row.id.clone(),
            name: row.name.clone(),
            scopes: row.scopes().names(),
            prefix: row.prefix.clone(),
            created_at: timestamp(row.created_at),
            revoked_at: row.revoked_at.map(timestamp),
            survey: survey_slug.unwrap_or(DEFAULT_SLUG).to_string(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct CreatedKeyView {
    #[serde(flatten)]
    pub key: ApiKeyView,
    /// The key itself: shown only in this answer.
    #[serde(rename = "key")]
    pub secret: String,
}

impl From<npsd_app::keys::CreatedKey> for CreatedKeyView {
    fn from(created: npsd_app::keys::CreatedKey) -> Self {
        CreatedKeyView {
            key: ApiKeyView::new(&created.row, created.survey.as_deref()),
            secret: created.secret,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct SuppressionView {
    /// None once the person was erased: the address stays suppressed, kept only as a hash.
    pub email: Option<String>,
    pub reason: String,
    pub created_at: String,
}

impl From<&SuppressionRow> for SuppressionView {
    fn from(r: &SuppressionRow) -> Self {
        SuppressionView {
            email: r.email.clone(),
            reason: r.reason.to_string(),
            created_at: timestamp(r.created_at),
        }
    }
}
