//! The survey email of one invitation.
use super::templates::{render_survey_email, SurveyEmail};
use crate::domain::survey::SurveySettings;
use crate::domain::token::Token;
use lettre::message::Mailbox;
use lettre::Message;

/// What the survey email is made of; everything comes from the stored invitation and survey.
pub struct SurveyMessage<'a> {
    pub survey: &'a SurveySettings,
    pub to_email: &'a str,
    pub to_name: Option<&'a str>,
    /// The transaction's properties, for the survey's intro line.
    pub properties: &'a [(String, String)],
    /// Asked about instead of the brand (`question_product_name`).
    pub product: Option<&'a str>,
    /// Fixed when the invitation was queued, the same on every retry (without angle brackets).
    pub message_id: &'a str,
    pub token: &'a Token,
    /// For the unsubscribe link and `List-Unsubscribe` only: it cannot answer the survey.
    pub unsubscribe_token: &'a Token,
    /// No trailing slash.
    pub public_url: &'a str,
    pub default_from: &'a Mailbox,
}

pub fn score_url(public_url: &str, token: &Token, score: u8) -> String {
    format!("{public_url}/r/{}?score={score}", token.as_str())
}

pub fn unsubscribe_url(public_url: &str, token: &Token) -> String {
    format!("{public_url}/u/{}", token.as_str())
}

/// The hidden link in the email: people cannot see it, scanners that open every link do.
pub fn trap_url(public_url: &str, token: &Token) -> String {
    format!("{public_url}/r/{}/verify", token.as_str())
}

pub fn build(m: &SurveyMessage<'_>) -> anyhow::Result<Message> {
    let unsubscribe = unsubscribe_url(m.public_url, m.unsubscribe_token);
    let content = SurveyEmail {
        brand: m.survey.brand.clone(),
        subject_of: match m.product.map(str::trim).filter(|p| !p.is_empty()) {
            // A subject line stays short: a long product name is cut.
            Some(p) if p.chars().count() > 80 => {
                format!("{}…", p.chars().take(79).collect::<String>().trim_end())
            }
            Some(p) => p.to_string(),
            None => m.survey.brand.clone(),
        },
        question: m.survey.question_about(m.product),
        recipient_name: m.to_name.map(str::to_string),
        intro: crate::domain::survey::render_intro(
            m.survey.intro.as_deref(),
            m.to_name,
            m.properties,
        ),
        score_urls: (0..=10)
            .map(|s| score_url(m.public_url, m.token, s))
            .collect(),
        unsubscribe_url: unsubscribe.clone(),
        trap_url: trap_url(m.public_url, m.token),
        accent_color: m.survey.accent_color.clone(),
    };
    let rendered = render_survey_email(&content)?;

    let from: Mailbox = match &m.survey.sender {
        Some(s) => s.parse()?,
        None => m.default_from.clone(),
    };
    let reply_to = m.survey.reply_to.as_deref().map(str::parse).transpose()?;
    super::compose(
        super::Envelope {
            from: &from,
            to: Mailbox::new(m.to_name.map(str::to_string), m.to_email.parse()?),
            reply_to,
            message_id: m.message_id,
            unsubscribe_url: Some(&unsubscribe),
        },
        rendered,
    )
}

#[cfg(test)]
mod tests {
    use super::super::message_id;
    use lettre::message::Mailbox;

    #[test]
    fn the_message_id_is_in_the_senders_domain() {
        let from: Mailbox = "ACME <nps@acme.example>".parse().unwrap();
        assert_eq!(
            message_id("abc123@npsd.localhost", &from),
            "<abc123@acme.example>"
        );
        assert_eq!(message_id("abc123", &from), "<abc123@acme.example>");
    }
}
