//! Surveys: list, read, create, change, and the embedded form's secret.
use crate::{App, ServiceError, ServiceResult};
use npsd_domain::survey::{parse_slug, validate, SurveyPatch, SurveySettings};
use npsd_domain::ValidationError;
use npsd_store::surveys::{self, CreateSurveyError, SurveyRow};

fn not_found(slug: &str) -> ServiceError {
    ServiceError::NotFound(format!("no survey with slug '{slug}'"))
}

pub async fn list(app: &App) -> ServiceResult<Vec<SurveyRow>> {
    Ok(app.store.read(surveys::list).await?)
}

/// The survey with this slug, or NotFound.
pub async fn find(app: &App, slug: String) -> ServiceResult<SurveyRow> {
    let lookup = slug.clone();
    app.store
        .read(move |c| surveys::find_by_slug(c, &lookup))
        .await?
        .ok_or_else(|| not_found(&slug))
}

/// Creates a survey from the default settings changed by `patch`; `slug` is required.
pub async fn create(
    app: &App,
    slug: Option<String>,
    patch: SurveyPatch,
) -> ServiceResult<SurveyRow> {
    let slug = slug.ok_or_else(|| ValidationError::new("slug", "is required"))?;
    let settings = patch.apply(&SurveySettings::new_default(&parse_slug("slug", &slug)?))?;
    let now = app.clock.now();
    let taken = settings.slug.clone();
    match app
        .store
        .write(move |c| Ok(surveys::create(c, settings.clone(), now)))
        .await?
    {
        Ok(row) => Ok(row),
        Err(CreateSurveyError::SlugTaken) => Err(ServiceError::Conflict(format!(
            "a survey with slug '{taken}' exists already"
        ))),
        Err(CreateSurveyError::Store(e)) => Err(e.into()),
    }
}

/// Changes the fields `patch` names (the API and the dashboard's settings form). The slug
/// cannot change: `new_slug`, when given, must be the survey's own.
pub async fn update(
    app: &App,
    slug: String,
    new_slug: Option<String>,
    patch: SurveyPatch,
) -> ServiceResult<SurveyRow> {
    if new_slug.as_deref().is_some_and(|s| s != slug) {
        return Err(ValidationError::new(
            "slug",
            "cannot be changed: links and integrations use it",
        )
        .into());
    }
    let now = app.clock.now();
    let lookup = slug.clone();
    let updated = app
        .store
        .write(move |c| {
            let Some(found) = surveys::find_by_slug(c, &lookup)? else {
                return Ok(None);
            };
            // Serialised with digest unsubscribes, which change the recipients in between.
            npsd_store::lock_name(c, &format!("survey:{}", found.id))?;
            let row = surveys::find_by_id(c, &found.id)?;
            match patch.clone().apply(&row.settings()).and_then(validate) {
                Ok(settings) => Ok(Some(Ok(surveys::update(c, row, settings, now)?))),
                Err(e) => Ok(Some(Err(e))),
            }
        })
        .await?
        .ok_or_else(|| not_found(&slug))??;
    Ok(updated)
}

/// Creates or rotates the survey's embed secret; answers the new one (shown only once).
pub async fn rotate_embed_secret(app: &App, slug: String) -> ServiceResult<String> {
    let secret = npsd_domain::embed::new_embed_secret();
    let now = app.clock.now();
    let (lookup, stored) = (slug.clone(), secret.clone());
    let found = app
        .store
        .write(move |c| {
            let Some(row) = surveys::find_by_slug(c, &lookup)? else {
                return Ok(false);
            };
            surveys::set_embed_secret(c, &row.id, &stored, now)?;
            Ok(true)
        })
        .await?;
    if !found {
        return Err(not_found(&slug));
    }
    Ok(secret)
}

/// Makes the default survey unless it exists (`serve` does on its first start; an import may
/// come first).
pub async fn ensure_default(app: &App) -> ServiceResult<()> {
    app.write(surveys::ensure_default).await
}
