//! Storing a web answer, the same for the JSON endpoint and the iframe form: the honeypot, the
//! rate limits, the signature check and the edit token, then one write.
use super::limits::RetryAfter;
use crate::domain::embed::signature::Unverified;
use crate::domain::embed::{WebAnswer, EDIT_TOKEN_MINUTES};
use crate::domain::token::Token;
use crate::http::AppState;
use crate::store::responses::ResponseRow;
use crate::store::surveys::SurveyRow;
use crate::store::web_responses::{self, NewWebAnswer};
use crate::store::StoreError;
use std::net::IpAddr;

/// A web answer as its browser may know it: the edit token exists only here, once.
pub struct Stored {
    pub id: String,
    pub score: u8,
    pub verified: bool,
    pub edit_token: String,
}

pub enum NotStored {
    RateLimited(RetryAfter),
    Store(StoreError),
}

impl From<StoreError> for NotStored {
    fn from(e: StoreError) -> Self {
        NotStored::Store(e)
    }
}

pub async fn store_answer(
    state: &AppState,
    survey: &SurveyRow,
    answer: WebAnswer,
    ip: Option<IpAddr>,
) -> Result<Stored, NotStored> {
    let edit_token = Token::generate();
    if answer.honeypot {
        // A bot filled in the field people cannot see: it gets the answer it expects, so it has
        // nothing to learn from, and nothing is stored or counted.
        tracing::info!(survey = %survey.slug, "honeypot filled in: answer discarded");
        return Ok(Stored {
            id: crate::store::new_id(),
            score: answer.score.value(),
            verified: false,
            edit_token: edit_token.as_str().to_string(),
        });
    }
    state
        .embed_limits
        .check(&survey.id, ip)
        .map_err(NotStored::RateLimited)?;
    let now = state.app.clock.now();
    // An answer whose signature does not hold still counts, unverified: the visitor did answer.
    // The reason goes to the log (no personal data), for the shop's developer.
    let signed = match answer.signed_identity(
        survey.embed_secret.as_deref(),
        now,
        state.embed_signature_max_age,
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
    let survey_row = survey.clone();
    let row: ResponseRow = state
        .app
        .store
        .write(move |c| web_responses::record(c, &survey_row, &new, now))
        .await?;
    Ok(Stored {
        id: row.id,
        score,
        verified: row.verified,
        edit_token: edit_token.as_str().to_string(),
    })
}
