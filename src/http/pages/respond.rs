//! GET /r/{token}?score=N records a click and shows the form; POST /r/{token} stores the answer.
use super::views::{self, SurveyFormPage, ThanksPage};
use super::{branding, find_link, ClientIp, Link, ANSWER};
use crate::domain::score::Score;
use crate::http::pages::error::PageReply;
use crate::http::pages::{html, PageError};
use crate::http::State;
use crate::store::state::ResponseStatus;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use npsd_app::answers::{self, LinkAnswer};
use serde::Deserialize;

pub use crate::domain::embed::{clean_text as clean_comment, MAX_COMMENT_CHARS};

/// The `score` of a link's query: `Ok(None)` without one, `Err` when it is given more than once
/// (`?score=9&score=3`: no way to tell which the person meant). Parsed by hand rather than with
/// `web::Query`, whose errors are logged with the request path, which holds the secret token.
/// A link whose query names `score` more than once.
#[derive(Debug, PartialEq, Eq)]
pub struct AmbiguousScore;

pub fn score_in_link(query: &str) -> Result<Option<String>, AmbiguousScore> {
    let mut found = None;
    for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
        if key == "score" {
            if found.is_some() {
                return Err(AmbiguousScore);
            }
            found = Some(value.into_owned());
        }
    }
    Ok(found.filter(|v| !v.is_empty()))
}

#[derive(Deserialize)]
pub struct ResponseForm {
    pub score: Option<String>,
    pub comment: Option<String>,
}

/// What the page says about the score already stored.
#[derive(Clone, Copy, Default)]
struct Saved {
    score: Option<u8>,
    /// Stored by an earlier visit, not by this click.
    before: bool,
}

/// What the form shows besides the survey: the score picked, the comment typed, an error, and
/// what is saved already.
#[derive(Default)]
struct Filled<'a> {
    selected: Option<u8>,
    comment: &'a str,
    error: Option<&'a str>,
    saved: Saved,
}

fn form_page(link: &Link, token: &str, filled: Filled<'_>, status: StatusCode) -> PageReply {
    let Filled {
        selected,
        comment,
        error,
        saved,
    } = filled;
    let brand = branding(&link.survey);
    let question = link
        .survey
        .settings()
        .question_about(link.product.as_deref());
    let action = format!("/r/{token}");
    let body = views::survey_form(&SurveyFormPage {
        branding: &brand,
        question: &question,
        form_action: &action,
        selected,
        comment,
        error,
        max_comment_chars: MAX_COMMENT_CHARS,
        saved: saved.score,
        answered_before: saved.before,
    })?;
    Ok(html(status, body))
}

pub async fn show(
    state: State,
    ip: ClientIp,
    path: web::Path<String>,
    req: HttpRequest,
) -> PageReply {
    let token = path.into_inner();
    let link = find_link(&state, &ip, &token, ANSWER).await?;
    if link.expired {
        return Err(PageError::Expired(Box::new(branding(&link.survey))));
    }
    let score =
        match score_in_link(req.query_string()) {
            Ok(None) => None,
            Ok(Some(raw)) => match Score::parse("score", &raw) {
                Ok(s) => Some(s),
                Err(_) => {
                    return form_page(
                        &link,
                        &token,
                        Filled {
                            error: Some("Please choose a score from 0 to 10."),
                            ..Default::default()
                        },
                        StatusCode::OK,
                    )
                }
            },
            Err(AmbiguousScore) => return form_page(
                &link,
                &token,
                Filled {
                    error: Some(
                        "This link names more than one score. Please choose a score from 0 to 10.",
                    ),
                    ..Default::default()
                },
                StatusCode::OK,
            ),
        };
    // The response as it stands after this visit: its comment (and, without a score in the
    // link, its score) prefill the form.
    let response = match score {
        Some(score) => {
            answers::by_link(
                &state.app,
                link.invitation.clone(),
                LinkAnswer::Click(score),
            )
            .await?
        }
        None => answers::of_invitation(&state.app, link.invitation.id.clone()).await?,
    };
    // A click whose answer counts (not one judged a scanner's) is saved: say so, so nobody
    // wonders whether to press Send. A visit without a score finds the earlier answer.
    let counted = response
        .as_ref()
        .filter(|r| r.status == ResponseStatus::Counted)
        .and_then(|r| u8::try_from(r.score).ok());
    let saved = Saved {
        score: counted,
        before: score.is_none() && counted.is_some(),
    };
    let selected = score
        .map(Score::value)
        .or_else(|| response.as_ref().and_then(|r| u8::try_from(r.score).ok()));
    let comment = response.and_then(|r| r.comment).unwrap_or_default();
    form_page(
        &link,
        &token,
        Filled {
            selected,
            comment: &comment,
            error: None,
            saved,
        },
        StatusCode::OK,
    )
}

pub async fn submit(
    state: State,
    ip: ClientIp,
    path: web::Path<String>,
    form: web::Form<ResponseForm>,
) -> PageReply {
    let token = path.into_inner();
    let link = find_link(&state, &ip, &token, ANSWER).await?;
    if link.expired {
        return Err(PageError::Expired(Box::new(branding(&link.survey))));
    }
    let form = form.into_inner();
    let comment = clean_comment(&form.comment.unwrap_or_default());
    let comment_trimmed = comment.trim();
    let score = match form.score.as_deref().map(|raw| Score::parse("score", raw)) {
        Some(Ok(s)) => s,
        _ => {
            return form_page(
                &link,
                &token,
                Filled {
                    comment: &comment,
                    error: Some("Please choose a score from 0 to 10 before sending."),
                    ..Default::default()
                },
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
    };
    let length = comment_trimmed.chars().count();
    if length > MAX_COMMENT_CHARS {
        let message = format!(
            "Your comment is {length} characters long; the limit is {MAX_COMMENT_CHARS}. Please shorten it a little and send it again."
        );
        return form_page(
            &link,
            &token,
            Filled {
                selected: Some(score.value()),
                comment: &comment,
                error: Some(&message),
                ..Default::default()
            },
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    let comment_value = (!comment_trimmed.is_empty()).then(|| comment_trimmed.to_string());
    let has_comment = comment_value.is_some();
    let submitted = LinkAnswer::Submit {
        score,
        comment: comment_value,
    };
    answers::by_link(&state.app, link.invitation.clone(), submitted).await?;
    let brand = branding(&link.survey);
    let reply_to = link
        .survey
        .reply_to
        .as_deref()
        .map(crate::domain::email::reply_address);
    let body = views::thanks(&ThanksPage {
        branding: &brand,
        score: score.value(),
        has_comment,
        reply_to: reply_to.as_deref(),
        embedded: false,
    })?;
    Ok(html(StatusCode::OK, body))
}

/// The hidden link only scanners open.
pub async fn trap(state: State, ip: ClientIp, path: web::Path<String>) -> PageReply {
    let link = find_link(&state, &ip, &path.into_inner(), ANSWER).await?;
    if !link.expired {
        answers::by_link(&state.app, link.invitation.clone(), LinkAnswer::Trap).await?;
    }
    // Nothing to show: no person ever sees this link.
    Ok(HttpResponse::NoContent().finish())
}
