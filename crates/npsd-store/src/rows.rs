//! Row types that several tables' queries share (an invitation read by the answer that follows
//! it, a response read by a person's history), so that no table's module needs another's.
use super::schema::{invitations, responses};
use crate::ids::{InvitationId, ResponseId, SurveyId};
use crate::state::{Channel, InvitationStatus, ResponseStatus, SkipReason};
use chrono::NaiveDateTime;
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = invitations)]
// None is bound as NULL rather than left out as DEFAULT: the INSERT's text then never varies,
// so SQLite prepares it (and compiles its triggers) once, not on every insert.
#[diesel(treat_none_as_default_value = false)]
pub struct InvitationRow {
    pub id: InvitationId,
    pub survey_id: SurveyId,
    pub transaction_id: String,
    pub email: String,
    pub email_key: String,
    pub name: Option<String>,
    pub locale: String,
    pub status: InvitationStatus,
    /// The SMTP server's reply to a failed send.
    pub reason: Option<String>,
    pub send_at: NaiveDateTime,
    pub sent_at: Option<NaiveDateTime>,
    pub message_id: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// Why it was skipped instead of sent.
    pub skip_reason: Option<SkipReason>,
}

impl InvitationRow {
    /// Why it was not sent, as the API shows it: the skip reason, or the SMTP server's reply.
    pub fn why_not_sent(&self) -> Option<String> {
        self.skip_reason
            .map(|r| r.as_str().to_string())
            .or_else(|| self.reason.clone())
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = responses)]
// None is bound as NULL rather than left out as DEFAULT: the INSERT's text then never varies,
// so SQLite prepares it (and compiles its triggers) once, not on every insert.
#[diesel(treat_none_as_default_value = false)]
pub struct ResponseRow {
    pub id: ResponseId,
    pub survey_id: SurveyId,
    pub invitation_id: Option<InvitationId>,
    pub channel: Channel,
    pub score: i32,
    pub comment: Option<String>,
    pub status: ResponseStatus,
    pub status_reason: Option<String>,
    pub responded_at: NaiveDateTime,
    pub submitted_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// Web answers only: who answered, on which page, and whether the site signed it.
    pub email: Option<String>,
    pub email_key: Option<String>,
    pub name: Option<String>,
    pub customer_id: Option<String>,
    pub page_url: Option<String>,
    pub verified: bool,
    pub respondent_key: Option<String>,
    pub edit_token_hash: Option<String>,
    pub edit_token_expires_at: Option<NaiveDateTime>,
    /// Restored or discarded by hand: wins over the scanner rules.
    pub manual_status: Option<ResponseStatus>,
}
