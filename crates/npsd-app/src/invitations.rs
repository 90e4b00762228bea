//! Invitations: the surveys scheduled, sent or skipped, listed, and one cancelled before it goes.
use crate::{App, ServiceError, ServiceResult};
use npsd_store::ids::{InvitationId, SurveyId};
use npsd_store::invitations::{self, Cancelled, InvitationQuery, InvitationRow};
use npsd_store::state::InvitationStatus;
use npsd_store::surveys;

/// Invitations newest first, each with its survey's slug.
pub async fn list(
    app: &App,
    query: InvitationQuery,
) -> ServiceResult<Vec<(InvitationRow, String)>> {
    app.read(move |c, _| invitations::list(c, &query)).await
}

/// Cancels an invitation whose email has not gone yet: it is skipped. NotFound for an unknown
/// id; Conflict when it was sent, failed, skipped or is being sent already. Answers the row and
/// its survey's slug.
pub async fn cancel(app: &App, id: InvitationId) -> ServiceResult<(InvitationRow, String)> {
    let now = app.clock.now();
    let lookup = id.clone();
    let (outcome, slug) = app
        .store
        .write(move |c| {
            let outcome = invitations::cancel(c, &lookup, now)?;
            let slug = match &outcome {
                Cancelled::Done(row) | Cancelled::TooLate(row) => {
                    surveys::slug_of(c, &row.survey_id)?
                }
                Cancelled::NotFound => String::new(),
            };
            Ok((outcome, slug))
        })
        .await?;
    match outcome {
        Cancelled::Done(row) => Ok((row, slug)),
        Cancelled::NotFound => Err(ServiceError::NotFound(format!("no invitation '{id}'"))),
        Cancelled::TooLate(row) => Err(ServiceError::Conflict(format!(
            "invitation '{id}' is {} already and cannot be cancelled",
            if row.status == InvitationStatus::Scheduled {
                "being sent".to_string()
            } else {
                row.status.to_string()
            }
        ))),
    }
}

/// Cancels every invitation of `survey_id` still waiting for the address; answers how many.
pub async fn cancel_pending(
    app: &App,
    survey_id: SurveyId,
    email_key: String,
) -> ServiceResult<usize> {
    app.write(move |c, now| {
        let mut n = 0;
        for id in invitations::scheduled_for(c, &survey_id, &email_key)? {
            if let Cancelled::Done(_) = invitations::cancel(c, &id, now)? {
                n += 1;
            }
        }
        Ok(n)
    })
    .await
}
