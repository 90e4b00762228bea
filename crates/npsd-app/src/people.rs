//! People as Delighted's API sees them: a person upserted, and surveyed unless told not to, or
//! unsubscribed.
use crate::ingest::due_now;
use crate::{App, ServiceResult};
use npsd_domain::email::EmailAddress;
use npsd_domain::transaction::NewTransaction;
use npsd_store::ids::SurveyId;
use npsd_store::invitations::{self, InvitationRow};
use npsd_store::people::{self, NameRule, PersonRow};
use npsd_store::surveys::SurveyRow;
use npsd_store::unsubscribes;

/// Upserts the person of `tx` (a name given replaces the one held) and, when `send`, ingests the
/// transaction for `survey` in the same write. Wakes the dispatcher when the survey is due now.
pub async fn upsert_and_survey(
    app: &App,
    survey: SurveyRow,
    tx: NewTransaction,
    send: bool,
) -> ServiceResult<(PersonRow, Option<InvitationRow>)> {
    let now = app.clock.now();
    let domain = app.message_id_domain.clone();
    let (person, invitation) = app
        .store
        .write(move |c| {
            let person = people::ensure(c, &tx.email, tx.name.as_deref(), NameRule::Replace, now)?;
            if !send {
                return Ok((person, None));
            }
            let ingested = invitations::ingest(c, &survey, &tx, &domain, now)?;
            Ok((person, Some(ingested.invitation)))
        })
        .await?;
    if invitation.as_ref().is_some_and(|i| due_now(i, now)) {
        app.wake_dispatcher();
    }
    Ok((person, invitation))
}

/// Unsubscribes an address from a survey by request (Delighted's `POST /v1/unsubscribes`),
/// keeping the person it names (a name held is kept).
pub async fn unsubscribe(app: &App, survey_id: SurveyId, email: EmailAddress) -> ServiceResult<()> {
    app.write(move |c, now| {
        people::ensure(c, &email, None, NameRule::FillIn, now)?;
        unsubscribes::add(c, &survey_id, &email.key(), "api", now)
    })
    .await?;
    Ok(())
}

/// Renames the person with this address (lower-cased); a name is all that may change (a new
/// address is a new person).
pub async fn rename(app: &App, email_key: String, name: String) -> ServiceResult<()> {
    app.write(move |c, now| people::rename(c, &email_key, &name, now))
        .await?;
    Ok(())
}
