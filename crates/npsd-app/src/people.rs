//! People as Delighted's API sees them: a person upserted, and surveyed unless told not to.
use crate::ingest::due_now;
use crate::{App, ServiceResult};
use npsd_domain::transaction::NewTransaction;
use npsd_store::invitations::{self, InvitationRow};
use npsd_store::people::{self, NameRule, PersonRow};
use npsd_store::surveys::SurveyRow;

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
