//! `/embed/{slug}`: the embedded form as a plain page for an `<iframe>`, for sites that allow no
//! script. It works without JavaScript: the score buttons submit the form (stored at once), then a
//! comment form, then the thank-you page. Only the survey's allowed origins may frame it
//! (`Content-Security-Policy: frame-ancestors`).
use super::answer::{store_answer, NotStored, Stored};
use crate::domain::embed::parse_comment;
use crate::domain::token::Token;
use crate::domain::ValidationError;
use crate::http::pages::error::PageReply;
use crate::http::pages::views::{self, EmbedCommentPage, EmbedFormPage, ThanksPage};
use crate::http::pages::{branding, ClientIp};
use crate::http::pages::{html, PageError};
use crate::http::AppState;
use crate::http::State;
use crate::store::surveys::SurveyRow;
use crate::store::web_responses::{EditRefused, WebEdit};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{Map, Value};
use std::collections::HashMap;

/// What the iframe's address may say about the visitor, the same names as the widget's
/// `data-` attributes and the JSON endpoint's fields.
const IDENTITY_FIELDS: &[&str] = &[
    "email",
    "customer_id",
    "name",
    "properties",
    "signature",
    "page_url",
    "visitor_id",
    "locale",
];

/// The survey's look, in the page's language when it named one the survey can use.
fn page_branding(survey: &SurveyRow, locale: Option<&str>) -> crate::http::pages::views::Branding {
    let mut b = branding(survey);
    if let Some(l) = locale.and_then(|l| crate::domain::survey::parse_locale("locale", l).ok()) {
        b.locale = l;
    }
    b
}

/// The iframe's own forms post from npsd's origin; a page elsewhere may not post answers into a
/// survey (a plain form POST needs no CORS), unless it is one of the survey's allowed origins.
/// The pages send `Referrer-Policy: no-referrer`, under which browsers send `Origin: null` even
/// for the page's own forms, so `Sec-Fetch-Site` says whether the post came from npsd's page.
fn check_post_origin(
    state: &AppState,
    survey: &SurveyRow,
    req: &HttpRequest,
) -> Result<(), PageError> {
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    let site = header("sec-fetch-site");
    if site == Some("same-origin") {
        return Ok(());
    }
    let origin = header("origin").filter(|o| *o != "null");
    let own = crate::domain::embed::parse_origin("origin", &state.app.public_url).ok();
    let allowed = match origin {
        Some(o) => {
            own.as_deref() == Some(o) || crate::domain::embed::origin_allowed(&survey.origins(), o)
        }
        // No usable Origin: refused when the browser says the post came from another site,
        // let through from clients that say nothing (older browsers, scripts).
        None => site.is_none(),
    };
    if allowed {
        Ok(())
    } else {
        Err(PageError::EmbedRefused(Box::new(branding(survey))))
    }
}

pub fn form_error(err: actix_web::error::UrlencodedError) -> PageError {
    match err {
        actix_web::error::UrlencodedError::Overflow { .. } => {
            PageError::Other(StatusCode::PAYLOAD_TOO_LARGE)
        }
        other => PageError::BadRequest(format!("The form could not be read: {other}")),
    }
}

/// The survey for an embedded page, or the page that says why not.
async fn embeddable(state: &AppState, slug: &str) -> Result<SurveyRow, PageError> {
    let survey = super::find_survey(state, slug)
        .await
        .map_err(|e| PageError::Internal(e.into()))?
        .ok_or(PageError::NotFound)?;
    if !survey.embed_enabled || survey.origins().is_empty() {
        return Err(PageError::EmbedRefused(Box::new(branding(&survey))));
    }
    Ok(survey)
}

/// An embedded page: framed only by the survey's allowed origins.
fn framed(survey: &SurveyRow, status: StatusCode, body: String) -> HttpResponse {
    allow_framing(survey, html(status, body))
}

/// An error inside the frame (too many answers, an expired edit) shows there, not as a blocked
/// frame.
fn framed_error(survey: &SurveyRow, e: PageError) -> HttpResponse {
    use actix_web::ResponseError;
    allow_framing(survey, e.error_response())
}

fn allow_framing(survey: &SurveyRow, mut res: HttpResponse) -> HttpResponse {
    let csp = format!(
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors {}",
        survey.origins().join(" ")
    );
    if let Ok(v) = HeaderValue::from_str(&csp) {
        res.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
    }
    res
}

/// The fields as an answer's JSON, so the page and the endpoint check them with the same rules.
fn as_answer_json(fields: &HashMap<String, String>) -> Result<Value, ValidationError> {
    let mut obj = Map::new();
    for (name, value) in fields {
        if value.is_empty() {
            continue;
        }
        let value = if name == "properties" {
            serde_json::from_str::<Value>(value).map_err(|_| {
                ValidationError::new("properties", "must be a JSON object of names to values")
            })?
        } else {
            Value::String(value.clone())
        };
        obj.insert(name.clone(), value);
    }
    Ok(Value::Object(obj))
}

fn setup_error(e: ValidationError) -> PageError {
    PageError::BadRequest(format!(
        "This survey form was set up with a value it cannot use ({}: {}).",
        e.field, e.message
    ))
}

fn render_form(
    survey: &SurveyRow,
    hidden: &[(&'static str, String)],
    error: Option<&str>,
    status: StatusCode,
) -> PageReply {
    let locale = hidden
        .iter()
        .find(|(k, _)| *k == "locale")
        .map(|(_, v)| v.as_str());
    let brand = page_branding(survey, locale);
    let question = survey.settings().question_text();
    let action = format!("/embed/{}", survey.slug);
    let body = views::embed_form(&EmbedFormPage {
        branding: &brand,
        question: &question,
        form_action: &action,
        hidden,
        error,
    })?;
    Ok(framed(survey, status, body))
}

/// The identity fields to carry from step to step, in a fixed order.
fn carried(fields: &HashMap<String, String>) -> Vec<(&'static str, String)> {
    IDENTITY_FIELDS
        .iter()
        .filter_map(|name| {
            fields
                .get(*name)
                .filter(|v| !v.is_empty())
                .map(|v| (*name, v.clone()))
        })
        .collect()
}

pub async fn show(state: State, slug: web::Path<String>, req: HttpRequest) -> PageReply {
    let survey = embeddable(&state, &slug).await?;
    let mut fields: HashMap<String, String> =
        url::form_urlencoded::parse(req.query_string().as_bytes())
            .filter(|(k, _)| IDENTITY_FIELDS.contains(&k.as_ref()))
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
    // Without a visitor id from the page, this form gets its own: sending it twice (a double
    // tap, the back button) updates one answer instead of counting two.
    fields
        .entry("visitor_id".into())
        .or_insert_with(|| Token::generate().as_str()[..32].to_string());
    // The embedding page, from the Referer when the page did not say; a Referer that is no
    // usable URL is left out rather than shown to the visitor as a set-up error. Its query
    // string (tokens, order numbers, search terms) is dropped: a shop that wants it passes
    // `page_url` itself.
    if !fields.contains_key("page_url") {
        if let Some(referer) = req
            .headers()
            .get(header::REFERER)
            .and_then(|v| v.to_str().ok())
            .and_then(page_without_query)
        {
            fields.insert("page_url".into(), referer);
        }
    }
    // The setup is checked now, with any score, so a mistake shows to the site's developer
    // and not to a visitor after their click.
    let mut probe = as_answer_json(&fields).map_err(setup_error)?;
    probe["score"] = Value::from(0);
    super::api::parse_answer(probe).map_err(setup_error)?;
    render_form(&survey, &carried(&fields), None, StatusCode::OK)
}

/// An http(s) page address up to its path, or None when it is not one.
fn page_without_query(raw: &str) -> Option<String> {
    let mut url = url::Url::parse(raw).ok()?;
    url.set_query(None);
    url.set_fragment(None);
    crate::domain::embed::parse_page_url(Some(url.to_string())).ok()?
}

pub async fn submit(
    state: State,
    slug: web::Path<String>,
    ip: ClientIp,
    req: HttpRequest,
    form: web::Form<HashMap<String, String>>,
) -> PageReply {
    let survey = embeddable(&state, &slug).await?;
    check_post_origin(&state, &survey, &req)?;
    Ok(store_score(&state, &survey, ip, form.into_inner())
        .await
        .unwrap_or_else(|e| framed_error(&survey, e)))
}

async fn store_score(
    state: &AppState,
    survey: &SurveyRow,
    ip: ClientIp,
    fields: HashMap<String, String>,
) -> PageReply {
    let hidden = carried(&fields);
    if fields.get("score").is_none_or(|s| s.is_empty()) {
        return render_form(
            survey,
            &hidden,
            Some("Please choose a score from 0 to 10."),
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    // (The honeypot field, `website`, comes along: a filled one marks the answer as a bot's.)
    let json = as_answer_json(&fields).map_err(setup_error)?;
    let answer = match super::api::parse_answer(json) {
        Ok(a) => a,
        Err(e) if e.field == "score" => {
            return render_form(
                survey,
                &hidden,
                Some("Please choose a score from 0 to 10."),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
        Err(e) => return Err(setup_error(e)),
    };
    let Stored {
        id,
        score,
        edit_token,
        ..
    } = match store_answer(state, survey, answer, ip.0).await {
        Ok(s) => s,
        Err(NotStored::RateLimited(_)) => return Err(PageError::TooManyRequests),
        Err(NotStored::Failed(e)) => return Err(e.into()),
    };
    let locale = fields.get("locale").map(String::as_str);
    let step = CommentStep {
        score,
        response_id: id.as_str(),
        edit_token: &edit_token,
        locale,
    };
    comment_page(survey, &step, "", None, StatusCode::OK)
}

/// The answer the comment step adds to, carried in the form.
struct CommentStep<'a> {
    score: u8,
    response_id: &'a str,
    edit_token: &'a str,
    locale: Option<&'a str>,
}

fn comment_page(
    survey: &SurveyRow,
    step: &CommentStep<'_>,
    comment: &str,
    error: Option<&str>,
    status: StatusCode,
) -> PageReply {
    let brand = page_branding(survey, step.locale);
    let action = format!("/embed/{}/comment", survey.slug);
    let body = views::embed_comment(&EmbedCommentPage {
        branding: &brand,
        form_action: &action,
        score: step.score,
        response_id: step.response_id,
        edit_token: step.edit_token,
        comment,
        error,
    })?;
    Ok(framed(survey, status, body))
}

#[derive(serde::Deserialize)]
pub struct CommentForm {
    response_id: String,
    edit_token: String,
    score: Option<String>,
    comment: Option<String>,
    locale: Option<String>,
}

pub async fn comment(
    state: State,
    slug: web::Path<String>,
    req: HttpRequest,
    form: web::Form<CommentForm>,
) -> PageReply {
    let survey = embeddable(&state, &slug).await?;
    check_post_origin(&state, &survey, &req)?;
    Ok(store_comment(&state, &survey, form.into_inner())
        .await
        .unwrap_or_else(|e| framed_error(&survey, e)))
}

async fn store_comment(state: &AppState, survey: &SurveyRow, form: CommentForm) -> PageReply {
    let shown_score = form
        .score
        .as_deref()
        .and_then(|s| s.parse::<u8>().ok())
        .filter(|s| *s <= 10)
        .unwrap_or(0);
    let raw_comment = form.comment.unwrap_or_default();
    let comment = match parse_comment(Some(&raw_comment)) {
        Ok(c) => c,
        Err(e) => {
            let message = format!(
                "Your comment {}. Please shorten it a little and send it again.",
                e.message
            );
            let step = CommentStep {
                score: shown_score,
                response_id: &form.response_id,
                edit_token: &form.edit_token,
                locale: form.locale.as_deref(),
            };
            return comment_page(
                survey,
                &step,
                &raw_comment,
                Some(&message),
                StatusCode::UNPROCESSABLE_ENTITY,
            );
        }
    };
    let has_comment = comment.is_some();
    let edit = WebEdit {
        token_hash: Token::from_secret(&form.edit_token).hash(),
        score: None,
        comment: comment.map(Some),
    };
    let edited = npsd_app::answers::edit_on_page(
        &state.app,
        survey.id.clone(),
        form.response_id.clone().into(),
        edit,
    )
    .await?;
    let row = match edited {
        Ok(row) => row,
        Err(EditRefused::NotFound | EditRefused::WrongToken) => return Err(PageError::NotFound),
        Err(EditRefused::Expired) => return Err(PageError::Expired(Box::new(branding(survey)))),
    };
    let brand = page_branding(survey, form.locale.as_deref());
    let reply_to = survey
        .reply_to
        .as_deref()
        .map(crate::domain::email::reply_address);
    let body = views::thanks(&ThanksPage {
        branding: &brand,
        score: u8::try_from(row.score).unwrap_or(shown_score),
        has_comment,
        reply_to: reply_to.as_deref(),
        embedded: true,
    })?;
    Ok(framed(survey, StatusCode::OK, body))
}
