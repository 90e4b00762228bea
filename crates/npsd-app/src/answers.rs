//! Answers: what a customer does with the survey email's links (a score click, the comment form,
//! the trap only scanners open), an answer on the shop's own page (the widget or the iframe
//! form), a change to it through its edit token, and the two unsubscribes.
//!
//! Every door that records an answer calls one of these, so the answer events, webhooks and
//! alerts of later issues hang from here.
use crate::{App, ServiceResult};
use npsd_domain::embed::signature::Unverified;
use npsd_domain::embed::{WebAnswer, EDIT_TOKEN_MINUTES};
use npsd_domain::score::Score;
use npsd_domain::token::Token;
use npsd_store::answers::{self, NewAnswer};
use npsd_store::digests;
use npsd_store::ids::{InvitationId, ResponseId, SurveyId};
use npsd_store::invitations::InvitationRow;
use npsd_store::responses::{self, LinkAction, ResponseRow};
use npsd_store::surveys::SurveyRow;
use npsd_store::unsubscribes;
use npsd_store::web_responses::{self, EditRefused, NewWebAnswer, WebEdit};

/// What a customer did with a link of their survey email.
#[derive(Debug, Clone)]
pub enum LinkAnswer {
    /// A score link opened.
    Click(Score),
    /// The comment form sent (with its score).
    Submit {
        score: Score,
        comment: Option<String>,
    },
    /// The hidden link only scanners open.
    Trap,
}

/// Records what was done with an invitation's link; answers the invitation's one response as it
/// stands afterwards (none when only scanners came).
pub async fn by_link(
    app: &App,
    invitation: InvitationRow,
    answer: LinkAnswer,
) -> ServiceResult<Option<ResponseRow>> {
    // It locks its invitation's row and its response; the rest it appends.
    let key = format!("invitation:{}", invitation.id);
    app.write_keyed(key, move |c, now| {
        let action = match &answer {
            LinkAnswer::Click(score) => LinkAction::Click(*score),
            LinkAnswer::Submit { score, comment } => LinkAction::Submit {
                score: *score,
                comment: comment.as_deref(),
            },
            LinkAnswer::Trap => LinkAction::Trap,
        };
        responses::record(c, &invitation, action, now)
    })
    .await
}

/// The response an invitation has, if any (a visit to the form without a score).
pub async fn of_invitation(
    app: &App,
    invitation_id: InvitationId,
) -> ServiceResult<Option<ResponseRow>> {
    app.read(move |c, _| responses::find_for_invitation(c, &invitation_id))
        .await
}

/// A web answer as its browser may know it: the edit token exists only here, once.
#[derive(Debug, Clone)]
pub struct WebStored {
    pub id: ResponseId,
    pub score: u8,
    pub verified: bool,
    pub edit_token: String,
}

/// Stores an answer given on the shop's page. An answer whose signature does not hold still
/// counts, unverified: the visitor did answer (the reason goes to the log, for the shop's
/// developer). A filled-in honeypot gets the reply it expects and nothing is stored.
pub async fn on_page(
    app: &App,
    survey: &SurveyRow,
    answer: WebAnswer,
    signature_max_age: chrono::Duration,
) -> ServiceResult<WebStored> {
    let edit_token = Token::generate();
    if answer.honeypot {
        // A bot filled in the field people cannot see: nothing for it to learn from.
        tracing::info!(survey = %survey.slug, "honeypot filled in: answer discarded");
        return Ok(WebStored {
            id: ResponseId::generate(),
            score: answer.score.value(),
            verified: false,
            edit_token: edit_token.as_str().to_string(),
        });
    }
    let now = app.clock.now();
    let signed = match answer.signed_identity(
        survey.embed_secret.as_deref(),
        now,
        signature_max_age,
    ) {
        Ok(identity) => Some(identity),
        Err(Unverified::Unsigned) => None,
        Err(why) => {
            tracing::info!(survey = %survey.slug, reason = why.as_str(), "embed signature not accepted: answer stored unverified");
            None
        }
    };
    let score = answer.score.value();
    let new = NewWebAnswer {
        answer,
        signed,
        edit_token_hash: edit_token.hash(),
        edit_token_expires_at: now + chrono::Duration::minutes(EDIT_TOKEN_MINUTES),
    };
    // It locks its respondent's rows only (a signed address's person, an earlier answer of the
    // throttle window), and appends the rest.
    let key = match (&new.signed, new.answer.respondent().key(false)) {
        (Some(identity), _) => identity.key(true),
        (None, key) => key,
    }
    .map_or_else(
        || format!("web:{}", Token::generate().as_str()),
        |key| format!("web:{}/{key}", survey.id),
    );
    let survey_row = survey.clone();
    let row = app
        .store
        .write_keyed(key, move |c| {
            web_responses::record(c, &survey_row, &new, now)
        })
        .await?;
    Ok(WebStored {
        id: row.id,
        score,
        verified: row.verified,
        edit_token: edit_token.as_str().to_string(),
    })
}

/// Changes a web answer through its edit token; the refusal says why (unknown, wrong token,
/// too late).
pub async fn edit_on_page(
    app: &App,
    survey_id: SurveyId,
    response_id: ResponseId,
    edit: WebEdit,
) -> ServiceResult<Result<ResponseRow, EditRefused>> {
    let key = format!("response:{response_id}");
    app.write_keyed(key, move |c, now| {
        web_responses::edit(c, &survey_id, &response_id, &edit, now)
    })
    .await
}

/// The survey email's unsubscribe link (or its one-click header): no more surveys of this
/// survey to the address.
pub async fn unsubscribe(
    app: &App,
    survey_id: SurveyId,
    email_key: String,
    source: &'static str,
) -> ServiceResult<()> {
    app.write(move |c, now| unsubscribes::add(c, &survey_id, &email_key, source, now))
        .await?;
    Ok(())
}

/// The digest's unsubscribe link: the address leaves the survey's digest recipients.
pub async fn leave_digest(app: &App, survey_id: SurveyId, address: String) -> ServiceResult<()> {
    app.write(move |c, now| digests::remove_recipient(c, &survey_id, &address, now))
        .await?;
    Ok(())
}

/// Answers imported from another tool (a Delighted export, a CSV file), in one write: each is
/// stored unless it is there already. Answers how many were new. An imported history records no
/// events unless `events` (`npsd import --events`): a webhook or an alert rule would otherwise
/// receive years of old answers at once.
pub async fn import(
    app: &App,
    survey_id: SurveyId,
    batch: Vec<NewAnswer>,
    events: bool,
) -> ServiceResult<u64> {
    app.write(move |c, now| {
        let mut added = Vec::new();
        for a in &batch {
            if answers::add(c, &survey_id, a, now)? {
                added.push(a.id.to_string());
            }
        }
        if !events {
            npsd_store::events::forget_subjects(c, &added)?;
        }
        Ok(added.len() as u64)
    })
    .await
}

/// An answer given through the API for a person known by id (Delighted's
/// `POST /v1/survey_responses`).
#[derive(Debug, Clone)]
pub struct ApiAnswer {
    pub score: Score,
    pub comment: Option<String>,
    pub responded_at: chrono::NaiveDateTime,
    pub properties: Vec<(String, String)>,
}

/// Stores an answer through the API for the person with `person_id`; None when there is no such
/// person. Answers the new response's id.
pub async fn by_api(
    app: &App,
    survey_id: SurveyId,
    person_id: String,
    answer: ApiAnswer,
) -> ServiceResult<Option<ResponseId>> {
    let now = app.clock.now();
    let id = ResponseId::generate();
    Ok(app
        .store
        .write(move |c| {
            let Some(person) = npsd_store::people::find(c, &person_id)? else {
                return Ok(None);
            };
            let new = NewAnswer {
                id: id.clone(),
                channel: npsd_store::state::Channel::Api,
                who: npsd_store::answers::Who::Person {
                    email: person.email.clone(),
                    email_key: person.email_key.clone(),
                },
                name: person.name.clone(),
                score: answer.score,
                comment: answer.comment.clone(),
                responded_at: answer.responded_at,
                properties: answer.properties.clone(),
            };
            answers::add(c, &survey_id, &new, now)?;
            Ok(Some(id.clone()))
        })
        .await?)
}

/// One answer of the survey as the API shows it, if any.
pub async fn find(
    app: &App,
    survey_id: SurveyId,
    id: ResponseId,
) -> ServiceResult<Option<answers::Answer>> {
    app.read(move |c, _| answers::find(c, &survey_id, &id))
        .await
}

/// Changes a counted answer of the survey (score, comment, time, properties); None when there
/// is none. Every tally follows in the same write.
pub async fn change(
    app: &App,
    survey_id: SurveyId,
    id: ResponseId,
    change: answers::AnswerChange,
) -> ServiceResult<Option<answers::Answer>> {
    app.write(move |c, now| answers::change(c, &survey_id, &id, &change, now))
        .await
}
