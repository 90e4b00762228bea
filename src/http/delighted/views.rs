//! Delighted's JSON shapes: ids as strings, times as integer Unix seconds, lists as bare arrays.
use crate::store::answers::{Answer, PersonActivity};
use crate::store::people::PersonRow;
use chrono::NaiveDateTime;
use serde::Serialize;
use serde_json::{Map, Value};

pub fn unix(t: NaiveDateTime) -> i64 {
    t.and_utc().timestamp()
}

pub fn properties(props: &[(String, String)]) -> Map<String, Value> {
    props
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect()
}

/// The answer to `POST /v1/people`.
#[derive(Debug, Serialize)]
pub struct CreatedPerson {
    pub id: String,
    pub email: String,
    pub name: Option<String>,
    /// When the survey email goes out; null when none will (send: false, throttled,
    /// unsubscribed, suppressed).
    pub survey_scheduled_at: Option<i64>,
    pub properties: Map<String, Value>,
}

/// A person in lists and expanded answers.
#[derive(Debug, Clone, Serialize)]
pub struct PersonView {
    pub id: String,
    pub email: String,
    pub name: Option<String>,
    pub created_at: i64,
    /// npsd sends email only.
    pub phone_number: Option<String>,
    pub last_sent_at: Option<i64>,
    pub last_responded_at: Option<i64>,
    pub next_survey_scheduled_at: Option<i64>,
}

impl PersonView {
    pub fn new(p: &PersonRow, activity: Option<&PersonActivity>) -> PersonView {
        let a = activity.cloned().unwrap_or_default();
        PersonView {
            id: p.id.clone(),
            email: p.email.clone(),
            name: p.name.clone(),
            created_at: unix(p.created_at),
            phone_number: None,
            last_sent_at: a.last_sent_at.map(unix),
            last_responded_at: a.last_responded_at.map(unix),
            next_survey_scheduled_at: a.next_scheduled_at.map(unix),
        }
    }
}

/// `person`: the person's id, or the person itself with `expand[]=person`.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum PersonRef {
    Id(Option<String>),
    Expanded(PersonView),
}

#[derive(Debug, Serialize)]
pub struct SurveyResponseView {
    pub id: String,
    pub person: PersonRef,
    pub survey_type: &'static str,
    pub score: i32,
    pub comment: Option<String>,
    pub permalink: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub person_properties: Map<String, Value>,
    pub notes: Vec<Value>,
    pub tags: Vec<Value>,
    pub additional_answers: Vec<Value>,
    /// How the answer came in (email, web, api, import): npsd's own addition.
    pub channel: &'static str,
}

impl SurveyResponseView {
    pub fn new(a: &Answer, person: PersonRef, permalink: String) -> SurveyResponseView {
        SurveyResponseView {
            id: a.id.to_string(),
            person,
            survey_type: "nps",
            score: a.score,
            comment: a.comment.clone(),
            permalink,
            created_at: unix(a.responded_at),
            updated_at: unix(a.updated_at),
            person_properties: properties(&a.properties),
            notes: Vec::new(),
            tags: Vec::new(),
            additional_answers: Vec::new(),
            channel: a.channel.as_str(),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct Metrics {
    /// The NPS from -100 to 100 as an integer, as Delighted documents it: the figure
    /// `GET /api/v1/surveys/{slug}/nps` gives (with one decimal there), rounded.
    pub nps: i64,
    pub promoter_count: u64,
    pub promoter_percent: f64,
    pub passive_count: u64,
    pub passive_percent: f64,
    pub detractor_count: u64,
    pub detractor_percent: f64,
    pub response_count: u64,
}

/// `{"ok": true}`: Delighted's answer to a change with nothing else to say (never a 204).
#[derive(Debug, Serialize)]
pub struct OkBody {
    pub ok: bool,
}

pub const OK: OkBody = OkBody { ok: true };

/// Something that happened to a person: `{"person_id", "email", "name", "unsubscribed_at"}` or
/// the same with `bounced_at`.
#[derive(Debug, Serialize)]
pub struct PersonEventView {
    pub person_id: Option<String>,
    pub email: String,
    pub name: Option<String>,
    #[serde(flatten)]
    pub at: EventTime,
}

#[derive(Debug, Serialize)]
pub enum EventTime {
    #[serde(rename = "unsubscribed_at")]
    Unsubscribed(i64),
    #[serde(rename = "bounced_at")]
    Bounced(i64),
}
