//! Responses one at a time: read one, and count or discard one by hand (a bot verdict
//! overturned). Every figure follows at once: the tallies move with the status.
use crate::{App, ServiceError, ServiceResult};
use npsd_store::ids::{ResponseId, SurveyId};
use npsd_store::responses::{self, CommentRow};
use npsd_store::state::ResponseStatus;

/// Why a response has its status now that a person decided.
pub const RESTORED: &str = "restored by hand: counted as a person's answer";
pub const DISCARDED: &str = "discarded by hand";

/// A response with its properties (name, value).
pub type OneResponse = (CommentRow, Vec<(String, String)>);

/// One response of a survey, whatever its status.
pub async fn find(
    app: &App,
    survey_id: SurveyId,
    response_id: ResponseId,
) -> ServiceResult<Option<OneResponse>> {
    let (rows, mut properties) = app
        .store
        .read(move |c| {
            let rows = responses::one(c, &survey_id, &response_id)?;
            let props = responses::properties_of_comments(c, &rows)?;
            Ok((rows, props))
        })
        .await?;
    Ok(rows.into_iter().next().map(|r| {
        let props = properties
            .remove(r.response_id.as_str())
            .unwrap_or_default();
        (r, props)
    }))
}

/// Sets a response's status by hand (counted again, or discarded as a bot's) and answers it.
pub async fn decide(
    app: &App,
    slug: String,
    response_id: ResponseId,
    status: ResponseStatus,
) -> ServiceResult<OneResponse> {
    let survey = crate::surveys::find(app, slug).await?;
    let now = app.clock.now();
    let reason = match status {
        ResponseStatus::Counted => RESTORED,
        _ => DISCARDED,
    };
    let (id, survey_id) = (response_id.clone(), survey.id.clone());
    let changed = app
        .store
        .write(move |c| responses::set_status_by_hand(c, &survey_id, &id, status, reason, now))
        .await?;
    if changed.is_none() {
        return Err(ServiceError::NotFound(format!(
            "no response '{response_id}' in this survey"
        )));
    }
    find(app, survey.id, response_id)
        .await?
        .ok_or_else(|| ServiceError::NotFound("the response is gone".into()))
}
