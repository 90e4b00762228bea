//! A person's rights over their data: everything held about an address, and erasing it.
use crate::{App, ServiceResult};
use npsd_domain::email::EmailAddress;
use npsd_store::erasure::{self, Erased};
use npsd_store::people::{self, PersonData};

/// Everything npsd holds about an address (the GDPR export).
pub async fn export(app: &App, email: &EmailAddress) -> ServiceResult<PersonData> {
    let key = email.key();
    Ok(app.store.read(move |c| people::export(c, &key)).await?)
}

/// Erases an address's personal data now: its invitations, answers, unsubscribes and person.
/// The count of what went is logged (without the address).
pub async fn erase(app: &App, email_key: String) -> ServiceResult<Erased> {
    let erased = erasure::erase_now(&app.store, email_key, app.clock.now()).await?;
    tracing::info!(
        invitations = erased.invitations,
        responses = erased.responses,
        "personal data erased on request"
    );
    Ok(erased)
}
