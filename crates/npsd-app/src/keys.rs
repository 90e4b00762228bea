//! API keys: create (the key itself is answered only then), list, revoke.
use crate::{App, ServiceError, ServiceResult};
use npsd_domain::access::Scopes;
use npsd_domain::token::{hash_secret, key_prefix, new_api_key};
use npsd_domain::ValidationError;
use npsd_store::api_keys::{self, ApiKeyRow};
use npsd_store::surveys;

/// A key just created: its row, the slug of its survey (None: `default`) and the key itself.
pub struct CreatedKey {
    pub row: ApiKeyRow,
    pub survey: Option<String>,
    pub secret: String,
}

/// Creates a key; the survey (a slug) must exist.
pub async fn create(
    app: &App,
    name: String,
    scopes: Scopes,
    survey: Option<String>,
) -> ServiceResult<CreatedKey> {
    let now = app.clock.now();
    let secret = new_api_key();
    let hash = hash_secret(&secret);
    let prefix = key_prefix(&secret);
    let created = app
        .store
        .write(move |c| {
            let survey_id = match &survey {
                Some(slug) => match surveys::find_by_slug(c, slug)? {
                    Some(found) => Some(found.id),
                    None => return Ok(Err(slug.clone())),
                },
                None => None,
            };
            let row = api_keys::insert(c, &name, &hash, &prefix, &scopes, survey_id, now)?;
            Ok(Ok((row, survey.clone())))
        })
        .await?;
    let (row, survey) = created
        .map_err(|slug| ValidationError::new("survey", format!("no survey with slug '{slug}'")))?;
    tracing::info!(key = %row.id, scopes = ?row.scopes().names(), "API key created");
    Ok(CreatedKey {
        row,
        survey,
        secret,
    })
}

/// Every key with the slug of its survey; never the keys themselves.
pub async fn list(app: &App) -> ServiceResult<Vec<(ApiKeyRow, Option<String>)>> {
    Ok(app.store.read(api_keys::list).await?)
}

/// Revokes a key; every instance refuses it from the next request on.
pub async fn revoke(app: &App, id: String) -> ServiceResult<()> {
    let now = app.clock.now();
    let lookup = id.clone();
    let revoked = app
        .store
        .write(move |c| api_keys::revoke(c, &lookup, now))
        .await?;
    match revoked {
        Some(_) => {
            tracing::info!(key = %id, "API key revoked");
            Ok(())
        }
        None => Err(ServiceError::NotFound(format!(
            "no active API key with id '{id}'"
        ))),
    }
}
