//! Suppressions: addresses no survey emails again (bounces, complaints, requests by hand).
use crate::{App, ServiceError, ServiceResult};
use chrono::NaiveDateTime;
use npsd_domain::email::EmailAddress;
use npsd_store::state::SuppressionReason;
use npsd_store::suppressions::{self, SuppressionRow};

/// Suppresses an address; answers the stored row and whether it is new.
pub async fn add(
    app: &App,
    email: EmailAddress,
    reason: SuppressionReason,
) -> ServiceResult<(SuppressionRow, bool)> {
    app.write(move |c, now| suppressions::add(c, email.as_str(), &email.key(), reason, now))
        .await
}

/// Up to `limit` suppressions after the one at `after` (time, hash), oldest first.
pub async fn list(
    app: &App,
    after: Option<(NaiveDateTime, String)>,
    limit: i64,
) -> ServiceResult<Vec<SuppressionRow>> {
    app.read(move |c, _| suppressions::list(c, after, limit))
        .await
}

/// Lets an address be surveyed again; NotFound when it was not suppressed.
pub async fn remove(app: &App, email: &EmailAddress) -> ServiceResult<()> {
    let key = email.key();
    let removed = app
        .store
        .write(move |c| suppressions::remove(c, &key))
        .await?;
    if removed {
        Ok(())
    } else {
        Err(ServiceError::NotFound(
            "this address is not suppressed".to_string(),
        ))
    }
}
