//! Ingest: transactions in, invitations scheduled (or skipped with a reason), the dispatcher woken
//! when one is due now. The JSON API (one and batch), the Delighted API and the importer's live
//! path all come here.
use crate::{App, ServiceResult};
use chrono::NaiveDateTime;
use npsd_domain::transaction::NewTransaction;
use npsd_domain::ValidationError;
use npsd_store::invitations::{self, Ingested, InvitationRow};
use npsd_store::state::InvitationStatus;
use npsd_store::{surveys, DbConn, StoreResult};
use std::collections::HashMap;

/// The outcome of one transaction.
#[allow(clippy::large_enum_variant)] // short-lived, one per item
pub enum Outcome {
    Stored {
        ingested: Ingested,
        survey_slug: String,
    },
    UnknownSurvey(String),
}

/// The error of a transaction naming a survey that does not exist.
pub fn unknown_survey(slug: &str) -> ValidationError {
    ValidationError::new("survey", format!("no survey with slug '{slug}'"))
}

/// Items stored per write transaction. A batch is stored in several short transactions rather
/// than one long one, so the dispatcher's outcome writes (on SQLite, one writer at a time) wait
/// milliseconds behind an ingest, not the length of a 1,000-item batch.
const ITEMS_PER_TRANSACTION: usize = 50;

/// Stores transactions in one write transaction; unknown surveys are reported per item.
fn ingest_all(
    conn: &mut DbConn,
    items: &[NewTransaction],
    message_id_domain: &str,
    now: NaiveDateTime,
) -> StoreResult<Vec<Outcome>> {
    let mut survey_cache = HashMap::new();
    let mut out = Vec::with_capacity(items.len());
    for tx in items {
        if !survey_cache.contains_key(&tx.survey) {
            let found = surveys::find_by_slug(conn, &tx.survey)?;
            survey_cache.insert(tx.survey.clone(), found);
        }
        match &survey_cache[&tx.survey] {
            Some(survey) => out.push(Outcome::Stored {
                ingested: invitations::ingest(conn, survey, tx, message_id_domain, now)?,
                survey_slug: survey.slug.clone(),
            }),
            None => out.push(Outcome::UnknownSurvey(tx.survey.clone())),
        }
    }
    Ok(out)
}

/// Stores transactions (in order, one outcome each) and wakes the dispatcher when one of them is
/// due now.
pub async fn ingest(app: &App, items: Vec<NewTransaction>) -> ServiceResult<Vec<Outcome>> {
    let now = app.clock.now();
    let mut results = Vec::with_capacity(items.len());
    let mut rest = items;
    while !rest.is_empty() {
        let tail = rest.split_off(rest.len().min(ITEMS_PER_TRANSACTION));
        let chunk = std::mem::replace(&mut rest, tail);
        let domain = app.message_id_domain.clone();
        // A transaction locks only its address's rows: one is written beside others, grouped
        // (`Store::write_for_address`); a chunk of several takes its addresses' locks in order
        // and runs beside them too (`Store::write_for_addresses`).
        let addresses: Vec<String> = chunk.iter().map(|t| t.email.key()).collect();
        let write = move |c: &mut DbConn| ingest_all(c, &chunk, &domain, now);
        results.extend(match addresses.as_slice() {
            [one] => app.store.write_for_address(one.clone(), write).await?,
            _ => app.store.write_for_addresses(addresses, write).await?,
        });
    }
    if results.iter().any(|r| {
        matches!(r, Outcome::Stored { ingested, .. } if ingested.created && due_now(&ingested.invitation, now))
    }) {
        app.wake_dispatcher();
    }
    Ok(results)
}

/// Whether an invitation waits to be sent now (the dispatcher is woken for it).
pub fn due_now(invitation: &InvitationRow, now: NaiveDateTime) -> bool {
    invitation.status == InvitationStatus::Scheduled && invitation.send_at <= now
}
