//! One response on its own page, at `/dashboard/{slug}/responses/{id}`: where the permalink of
//! the Delighted-compatible API leads, with who answered, how, when, and the properties.
use super::session::SignedIn;
use super::PageReply;
use super::{html, PageError};
use crate::http::api::responses::find_one;
use crate::http::api::results::CommentView;
use crate::http::State;
use crate::store::surveys::SurveyRow;
use actix_web::web;
use askama::Template;

#[derive(Template)]
#[template(path = "dashboard/response.html")]
struct ResponseView<'a> {
    user: Option<&'a str>,
    is_admin: bool,
    csrf: &'a str,
    survey: &'a SurveyRow,
    r: &'a CommentView,
    /// (name, value) of the answer's properties.
    properties: Vec<(String, String)>,
    counted: bool,
    /// When it was given, to the minute, in UTC.
    when: String,
}

pub async fn page(s: SignedIn, state: State, path: web::Path<(String, String)>) -> PageReply {
    let (slug, id) = path.into_inner();
    let survey = npsd_app::surveys::find(&state.app, slug).await?;
    let r = find_one(&state, survey.id.clone(), id.into())
        .await?
        .ok_or_else(|| PageError::NotFound("There is no such response in this survey.".into()))?;
    let properties = r
        .properties
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
        .collect();
    html(ResponseView {
        user: Some(&s.user.email),
        is_admin: s.user.is_admin(),
        csrf: &s.csrf,
        survey: &survey,
        counted: r.status == "counted",
        when: format!(
            "{} UTC",
            r.responded_at.get(..16).unwrap_or("").replace('T', " ")
        ),
        r: &r,
        properties,
    })
}
