//! The NPS digest email (daily, weekly or monthly): one period's NPS, its figures against the
//! period before, the score distribution, the trend and notable comments. Like every email, one
//! shape: a subject plus a text and an HTML body rendered from `templates/email/digest.{txt,html}`,
//! then a lettre message. The rendering is pure; the caller gathers the figures.
use super::templates::RenderedEmail;
use crate::domain::nps::NpsSummary;
use askama::Template;
use lettre::message::Mailbox;
use lettre::Message;

/// One period's figures, as the API's NPS report gives them.
#[derive(Debug, Clone, PartialEq)]
pub struct Figures {
    /// The NPS, its margin and what it is made of.
    pub summary: NpsSummary,
    pub invitations_sent: u64,
    /// 0..1, `None` when nothing was sent.
    pub response_rate: Option<f64>,
    /// Responses with a comment / responses, 0..1; `None` without responses.
    pub comment_rate: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TrendPoint {
    /// "W36", "24 Nov", "Oct".
    pub label: String,
    pub nps: Option<f64>,
    pub responses: u64,
    /// Too few responses for a reliable figure (`NpsSummary::small_sample`).
    pub small_sample: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NotableComment {
    pub score: u8,
    pub first_name: Option<String>,
    pub comment: String,
    /// Segment-defining properties, e.g. `[("plan","pro"),("country","DE")]`.
    pub segment: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DigestEmail {
    pub brand: String,
    /// "#rrggbb"; anything else falls back to the default accent.
    pub accent_color: String,
    /// E.g. "Week 47, 17–23 November 2026" / "Tuesday 25 November 2026" / "November 2026".
    pub period_label: String,
    /// "week" | "day" | "month" ("vs the previous week", "the last 12 weeks").
    pub period_noun: &'static str,
    pub current: Figures,
    /// The period before; `None` when there is none.
    pub previous: Option<Figures>,
    /// The 12 periods before this one together; `None` when none of them had responses.
    pub trailing: Option<Figures>,
    /// Responses per score 0..=10 this period.
    pub distribution: [u64; 11],
    /// Up to 12 points, oldest first, the last is this period.
    pub trend: Vec<TrendPoint>,
    /// Up to 5, most recent first.
    pub detractor_comments: Vec<NotableComment>,
    /// Up to 5.
    pub promoter_comments: Vec<NotableComment>,
    /// `{public_url}/dashboard/{slug}`.
    pub dashboard_url: String,
    /// `{public_url}/api/v1/surveys/{slug}/nps?from=..&to=..`.
    pub api_url: String,
    /// This recipient's one-click unsubscribe link.
    pub unsubscribe_url: String,
    /// The address it goes to (for the footer).
    pub recipient: String,
    /// This is the 4th silent digest in a row: say the digest pauses until responses return.
    pub pausing: bool,
    /// Alerts of the survey's alert rules sent about the period's answers (shown when any).
    pub alerts_sent: u64,
}

#[cfg(test)]
mod tests;
mod view;

use view::*;

#[derive(Template)]
#[template(path = "email/digest.txt")]
struct DigestText<'a> {
    v: &'a View<'a>,
}

#[derive(Template)]
#[template(path = "email/digest.html")]
struct DigestHtml<'a> {
    v: &'a View<'a>,
    subject: &'a str,
    accent: &'a str,
    on_accent: &'static str,
}

pub fn render_digest_email(d: &DigestEmail) -> Result<RenderedEmail, askama::Error> {
    let headline_nps = if d.current.summary.responses == 0 {
        "no responses".to_string()
    } else {
        nps(d.current.summary.nps)
    };
    // A header value: no line breaks or other control characters from the brand or label.
    let subject: String = format!("{} NPS {}: {headline_nps}", d.brand, d.period_label)
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let (accent, on_accent) = crate::domain::survey::accent_colors(&d.accent_color);
    let view = view(d, accent);
    let text = DigestText { v: &view }.render()?;
    let html = DigestHtml {
        v: &view,
        subject: &subject,
        accent,
        on_accent,
    }
    .render()?;
    Ok(RenderedEmail {
        subject,
        text,
        html,
    })
}

/// What the digest message is made of.
pub struct DigestMessage<'a> {
    pub content: &'a DigestEmail,
    pub to: &'a str,
    pub from: &'a Mailbox,
    /// Unique part, without angle brackets or domain.
    pub message_id_local: &'a str,
}

pub fn build(m: &DigestMessage<'_>) -> anyhow::Result<Message> {
    let rendered = render_digest_email(m.content)?;
    super::compose(
        super::Envelope {
            from: m.from,
            to: m.to.parse()?,
            reply_to: None,
            message_id: m.message_id_local,
            unsubscribe_url: Some(&m.content.unsubscribe_url),
        },
        rendered,
    )
}
