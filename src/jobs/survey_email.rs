//! A survey email job: the invitation checked again (suppressed, unsubscribed, surveyed while it
//! waited), a fresh link token, and the message built from the stored invitation and survey.
use super::kind::{self, ClaimContext, Final, Job, JobHandler, JobIds, Prepared};
use crate::domain::email::mask;
use crate::domain::survey::{SurveySettings, QUESTION_PRODUCT_PROPERTY};
use crate::domain::token::{LinkPurpose, Token};
use crate::mail::survey::{self, SurveyMessage};
use crate::store::invitations;
use crate::store::outbox::{self, OutboxRow};
use crate::store::state::JobKind;
use crate::store::state::SkipReason;
use crate::store::{suppressions, surveys, unsubscribes, DbConn, StoreResult};
use chrono::{Duration as ChronoDuration, NaiveDateTime};
use lettre::message::Mailbox;

/// The survey email of an invitation.
pub(crate) struct SurveyEmail;

impl JobHandler for SurveyEmail {
    fn noun(&self) -> &'static str {
        "survey email"
    }

    fn prepare(&self, conn: &mut DbConn, row: OutboxRow, cx: &ClaimContext<'_>) -> Prepared {
        prepare(conn, row, cx.lease_id, cx.now)
    }

    /// The invitation follows its email: sent, or failed with the reason.
    fn finished(
        &self,
        conn: &mut DbConn,
        ids: &JobIds,
        outcome: Final<'_>,
        now: NaiveDateTime,
    ) -> StoreResult<()> {
        let Some(invitation_id) = &ids.subject_id else {
            return Ok(());
        };
        match outcome {
            Final::Sent => invitations::mark_sent(conn, &invitation_id.as_str().into(), now)?,
            Final::Failed(reply) => {
                invitations::mark_failed(conn, &invitation_id.as_str().into(), reply, now)?
            }
        };
        Ok(())
    }
}

fn prepare(
    conn: &mut DbConn,
    row: OutboxRow,
    lease_id: &str,
    now: NaiveDateTime,
) -> StoreResult<Option<Job>> {
    let Some(invitation_id) = row.invitation_id.clone() else {
        outbox::mark_failed(
            conn,
            &row.id,
            lease_id,
            &format!("a {} job without an invitation", row.kind),
            now,
        )?;
        return Ok(None);
    };
    let invitation = invitations::find(conn, &invitation_id)?;
    let survey_row = surveys::find_by_id(conn, &invitation.survey_id)?;
    // The customer may have been suppressed, unsubscribed, or surveyed while this email waited.
    let skip = if suppressions::is_suppressed(conn, &invitation.email_key)? {
        Some(SkipReason::Suppressed)
    } else if unsubscribes::is_unsubscribed(conn, &survey_row.id, &invitation.email_key)? {
        Some(SkipReason::Unsubscribed)
    } else if invitations::recently_surveyed(
        conn,
        &survey_row,
        &invitation.email_key,
        invitation.id.as_str(),
        true,
        now,
    )? {
        Some(SkipReason::Throttled)
    } else {
        None
    };
    if let Some(reason) = skip {
        outbox::mark_cancelled(conn, &row.id, lease_id, reason.as_str(), now)?;
        invitations::mark_skipped(conn, &invitation.id, reason, now)?;
        return Ok(None);
    }
    let token = Token::generate();
    let expires = now + ChronoDuration::days(survey_row.response_window_days as i64);
    invitations::add_token(
        conn,
        &invitation.id,
        &token.hash(),
        LinkPurpose::Answer,
        now,
        expires,
    )?;
    // Its own token: the unsubscribe URL travels further (List-Unsubscribe) than the email.
    let unsubscribe_token = Token::generate();
    invitations::add_token(
        conn,
        &invitation.id,
        &unsubscribe_token.hash(),
        LinkPurpose::Unsubscribe,
        now,
        expires,
    )?;
    let settings_of_survey = survey_row.settings();
    let (properties, product): (Vec<(String, String)>, Option<String>) =
        if settings_of_survey.intro.is_some() {
            let all: Vec<(String, String)> =
                invitations::properties_of(conn, &[invitation.id.to_string()])?
                    .into_iter()
                    .map(|(_, name, value)| (name, value))
                    .collect();
            let product = all
                .iter()
                .find(|(n, _)| n == QUESTION_PRODUCT_PROPERTY)
                .map(|(_, v)| v.clone());
            (all, product)
        } else {
            let product = invitations::property(conn, &invitation.id, QUESTION_PRODUCT_PROPERTY)?;
            (Vec::new(), product)
        };
    // Rendered after the claim commits (see `Draft::build`): the claim holds the write lock.
    Ok(Some(Job {
        ids: JobIds {
            outbox_id: row.id,
            kind: JobKind::SurveyEmail,
            subject_id: Some(invitation.id.into_string()),
            attempts: row.attempts,
        },
        to_masked: mask(&invitation.email),
        draft: Box::new(Draft {
            survey: settings_of_survey,
            to_email: invitation.email,
            to_name: invitation.name,
            properties,
            product,
            message_id: invitation.message_id,
            token,
            unsubscribe_token,
        }),
    }))
}

/// Everything a survey email is made of, read under the claim; built into a message outside it,
/// so rendering and encoding (most of a claim's time) never hold the database's write lock.
pub(crate) struct Draft {
    survey: SurveySettings,
    to_email: String,
    to_name: Option<String>,
    properties: Vec<(String, String)>,
    /// The transaction's `question_product_name`: asked about instead of the brand.
    product: Option<String>,
    message_id: String,
    token: Token,
    unsubscribe_token: Token,
}

impl kind::Draft for Draft {
    fn build(&self, public_url: &str, default_from: &Mailbox) -> anyhow::Result<lettre::Message> {
        survey::build(&SurveyMessage {
            survey: &self.survey,
            to_email: &self.to_email,
            to_name: self.to_name.as_deref(),
            properties: &self.properties,
            product: self.product.as_deref(),
            message_id: &self.message_id,
            token: &self.token,
            unsubscribe_token: &self.unsubscribe_token,
            public_url,
            default_from,
        })
    }
}
