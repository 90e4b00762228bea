//! A notice to npsd's admins (a webhook endpoint disabled): a title, a few paragraphs and one
//! link, from `templates/email/notice.{txt,html}`, like every email a text and an HTML part with
//! the same content.
use super::templates::RenderedEmail;
use askama::Template;
use lettre::message::Mailbox;
use lettre::Message;

pub struct NoticeEmail {
    pub title: String,
    pub paragraphs: Vec<String>,
    pub link_label: String,
    pub link_url: String,
    /// Why the recipient gets it (the footer).
    pub why: String,
}

#[derive(Template)]
#[template(path = "email/notice.txt")]
struct NoticeText<'a> {
    n: &'a NoticeEmail,
}

#[derive(Template)]
#[template(path = "email/notice.html")]
struct NoticeHtml<'a> {
    n: &'a NoticeEmail,
    subject: &'a str,
    accent: &'a str,
    on_accent: &'a str,
}

pub fn render(n: &NoticeEmail) -> Result<RenderedEmail, askama::Error> {
    let subject: String = n
        .title
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let text = NoticeText { n }.render()?;
    let html = NoticeHtml {
        n,
        subject: &subject,
        accent: "#18181b",
        on_accent: "#ffffff",
    }
    .render()?;
    Ok(RenderedEmail {
        subject,
        text,
        html,
    })
}

/// The notice that a webhook endpoint was disabled.
pub fn webhook_disabled(url: &str, reason: &str, to: &str, public_url: &str) -> NoticeEmail {
    NoticeEmail {
        title: "A webhook was disabled after failing for 24 hours".into(),
        paragraphs: vec![
            format!("npsd could not deliver its events to {url} for 24 hours and stopped trying: {reason}."),
            "The events since are kept (for the events' retention period). Fix the endpoint, then resume it in the dashboard: it receives what it missed, in order.".into(),
        ],
        link_label: "Open the webhooks".into(),
        link_url: format!("{public_url}/webhooks"),
        why: format!("You get this because {to} is an admin of npsd at {public_url}."),
    }
}

pub fn build(
    n: &NoticeEmail,
    to: &str,
    from: &Mailbox,
    message_id_local: &str,
) -> anyhow::Result<Message> {
    super::compose(
        super::Envelope {
            from,
            to: to.parse()?,
            reply_to: None,
            message_id: message_id_local,
            unsubscribe_url: None,
        },
        render(n)?,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_webhook_notice_says_the_same_in_text_and_html() {
        let n = webhook_disabled(
            "https://crm.shop.example/hooks/npsd",
            "HTTP 503",
            "ann@shop.example",
            "https://nps.shop.example",
        );
        let r = render(&n).unwrap();
        for part in [&r.text, &r.html] {
            assert!(
                part.contains("https://crm.shop.example/hooks/npsd"),
                "{part}"
            );
            assert!(part.contains("HTTP 503"));
            assert!(part.contains("https://nps.shop.example/webhooks"));
        }
        crate::mail::templates::assert_snapshot("webhook_disabled_email", &r);
    }
}
