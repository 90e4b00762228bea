//! The alert email: an alert rule's message to one address about one answer, a summary of
//! several, or the follow-up saying an alerted answer was discarded as a bot. The content is the
//! one Slack and Teams get (`npsd_app::alerts::Notice`); a subject plus a text and an HTML body
//! rendered from `templates/email/alert.{txt,html}`, then a lettre message.
use super::templates::RenderedEmail;
use askama::Template;
use lettre::message::Mailbox;
use lettre::Message;
use npsd_app::alerts::Notice;

/// Everything both templates show.
pub struct View<'a> {
    pub title: String,
    pub intro: String,
    pub items: &'a [npsd_app::alerts::NoticeItem],
    pub more: usize,
    pub rule: &'a str,
    pub survey: &'a str,
    pub to: &'a str,
    /// The survey's alert rules in the dashboard.
    pub rules_url: String,
}

#[derive(Template)]
#[template(path = "email/alert.txt")]
struct AlertText<'a> {
    v: &'a View<'a>,
}

#[derive(Template)]
#[template(path = "email/alert.html")]
struct AlertHtml<'a> {
    v: &'a View<'a>,
    subject: &'a str,
    accent: &'a str,
    on_accent: &'a str,
}

pub fn render(notice: &Notice, to: &str, public_url: &str) -> Result<RenderedEmail, askama::Error> {
    let v = View {
        title: notice.title(),
        intro: notice.intro(),
        items: &notice.items,
        more: notice.more,
        rule: &notice.rule,
        survey: &notice.survey,
        to,
        rules_url: format!("{public_url}/dashboard/{}/alerts", notice.survey),
    };
    // A header value: no line breaks or other control characters from a rule's name.
    let subject: String = v
        .title
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let text = AlertText { v: &v }.render()?;
    let html = AlertHtml {
        v: &v,
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

/// What the alert message is made of.
pub struct AlertMessage<'a> {
    pub notice: &'a Notice,
    pub to: &'a str,
    pub from: &'a Mailbox,
    pub public_url: &'a str,
    /// Unique part, without angle brackets or domain.
    pub message_id_local: &'a str,
}

pub fn build(m: &AlertMessage<'_>) -> anyhow::Result<Message> {
    let rendered = render(m.notice, m.to, m.public_url)?;
    super::compose(
        super::Envelope {
            from: m.from,
            to: m.to.parse()?,
            reply_to: None,
            message_id: m.message_id_local,
            unsubscribe_url: None,
        },
        rendered,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use npsd_app::alerts::{NoticeItem, NoticeKind};

    fn sample(kind: NoticeKind) -> Notice {
        Notice {
            kind,
            rule: "Detractors with a comment".into(),
            survey: "default".into(),
            items: vec![NoticeItem {
                score: 3,
                category: "detractor",
                comment: Some("The parcel came a week late.\nAnd the box was wet.".into()),
                person: "Dana Reyes <dana@example.com>".into(),
                properties: vec![("plan".into(), "pro".into())],
                link: "https://nps.shop.example/dashboard/default/responses/0193".into(),
                channel: "email".into(),
            }],
            more: 0,
        }
    }

    #[test]
    fn the_alert_email_says_the_same_in_text_and_html() {
        let r = render(
            &sample(NoticeKind::Answer),
            "team@shop.example",
            "https://nps.shop.example",
        )
        .unwrap();
        assert_eq!(
            r.subject,
            "Detractor 3 (default): Detractors with a comment"
        );
        for part in [&r.text, &r.html] {
            assert!(part.contains("Dana Reyes"), "{part}");
            assert!(part.contains("The parcel came a week late."), "{part}");
            assert!(part.contains("https://nps.shop.example/dashboard/default/responses/0193"));
            assert!(part.contains("https://nps.shop.example/dashboard/default/alerts"));
        }
        assert!(
            r.html.contains("Dana Reyes &#60;dana@example.com&#62;"),
            "escaped: {}",
            r.html
        );
        crate::mail::templates::assert_snapshot("alert_email", &r);
    }
}
