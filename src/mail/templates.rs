//! Typed email templates: each email is a subject plus a text and an HTML body
//! rendered from `templates/email/*.{txt,html}`. Pure functions, no I/O.
use askama::Template;

/// Everything the survey invitation shows. Built by the dispatcher per invitation.
pub struct SurveyEmail {
    pub brand: String,
    /// What the question asks about: the brand, or the transaction's `question_product_name`.
    pub subject_of: String,
    /// Full question text, e.g. "How likely are you to recommend ACME to a friend or colleague?"
    pub question: String,
    /// "Ann Lee" gives "Hi Ann,"; `None` (or blank) gives "Hello,".
    pub recipient_name: Option<String>,
    /// The survey's intro line with the transaction's properties filled in.
    pub intro: Option<String>,
    /// Exactly 11 absolute URLs; index = score 0..=10.
    pub score_urls: Vec<String>,
    pub unsubscribe_url: String,
    /// A link no person can see or reach: whatever opens it is a scanner, not a respondent.
    pub trap_url: String,
    /// "#RRGGBB", validated upstream.
    pub accent_color: String,
}

pub struct RenderedEmail {
    pub subject: String,
    pub text: String,
    pub html: String,
}

#[derive(Template)]
#[template(path = "email/survey.txt")]
struct SurveyText<'a> {
    email: &'a SurveyEmail,
    name: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "email/survey.html")]
struct SurveyHtml<'a> {
    email: &'a SurveyEmail,
    name: Option<&'a str>,
    subject: &'a str,
    accent: &'a str,
    on_accent: &'static str,
}

pub fn render_survey_email(email: &SurveyEmail) -> Result<RenderedEmail, askama::Error> {
    if email.score_urls.len() != 11 {
        return Err(askama::Error::custom(format!(
            "a survey email needs 11 score links, got {}",
            email.score_urls.len()
        )));
    }
    let first_name = email
        .recipient_name
        .as_deref()
        .and_then(crate::domain::survey::first_name);
    let name = first_name.as_deref();
    // A header value: no line breaks or other control characters from the brand or product.
    let subject: String = format!("How likely are you to recommend {}?", email.subject_of)
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let (accent, on_accent) = crate::domain::survey::accent_colors(&email.accent_color);
    let text = SurveyText { email, name }.render()?;
    let html = SurveyHtml {
        email,
        name,
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

/// Every email is kept rendered under tests/snapshots (`NAME.txt` with its subject, `NAME.html`),
/// so that a template change shows up in review as a diff of what people receive.
/// `UPDATE_SNAPSHOTS=1 cargo test` rewrites them.
#[cfg(test)]
pub fn assert_snapshot(name: &str, rendered: &RenderedEmail) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots");
    for (file, body) in [
        (
            format!("{name}.txt"),
            format!("Subject: {}\n\n{}", rendered.subject, rendered.text),
        ),
        (format!("{name}.html"), rendered.html.clone()),
    ] {
        let path = dir.join(file);
        if std::env::var("UPDATE_SNAPSHOTS").is_ok() {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, &body).unwrap();
        }
        let kept = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            kept == body,
            "{} differs from the rendered email; review the change and run UPDATE_SNAPSHOTS=1 cargo test",
            path.display()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> SurveyEmail {
        SurveyEmail {
            brand: "ACME".into(),
            subject_of: "ACME".into(),
            question: "How likely are you to recommend ACME to a friend or colleague?".into(),
            recipient_name: Some("Ann Lee".into()),
            intro: Some("Thanks for your order A-17.".into()),
            score_urls: (0..=10)
                .map(|s| format!("https://nps.example/r/tok?s={s}"))
                .collect(),
            unsubscribe_url: "https://nps.example/u/tok".into(),
            trap_url: "https://nps.example/t/tok".into(),
            accent_color: "#2563eb".into(),
        }
    }

    #[test]
    fn survey_email_matches_its_reviewed_snapshot() {
        assert_snapshot("survey_email", &render_survey_email(&sample()).unwrap());
    }

    /// Positions of each score link in `body`, asserting all 11 are there in order.
    fn assert_links_in_order(body: &str, urls: &[String]) {
        let mut from = 0;
        for url in urls {
            let at = body[from..]
                .find(url.as_str())
                .unwrap_or_else(|| panic!("{url} missing or out of order"));
            // Keep the last character: text lines share their separating newline.
            from += at + url.len() - 1;
        }
    }

    #[test]
    fn html_links_every_score_in_order_and_hides_the_trap() {
        let email = sample();
        let r = render_survey_email(&email).unwrap();
        let hrefs: Vec<String> = email
            .score_urls
            .iter()
            .map(|u| format!("href=\"{u}\""))
            .collect();
        assert_links_in_order(&r.html, &hrefs);
        for s in 0..=10 {
            assert!(r.html.contains(&format!("\">{s}</a>")), "button {s}");
        }
        assert!(r.html.starts_with("<!DOCTYPE html>"));
        assert!(r.html.contains("Hi Ann,"));
        assert!(r.html.contains(&email.question));
        assert!(r.html.contains(">Not likely</td>"));
        assert!(r.html.contains(">Very likely</td>"));
        assert!(r.html.contains("<p style=\"margin:0 0 12px 0;font-size:16px;line-height:24px;\">Thanks for your order A-17.</p>"));
        assert!(r
            .html
            .contains("One click is enough; you can add a comment on the next page."));
        assert!(r.html.contains("you recently made a purchase from ACME."));
        assert!(r.html.contains("href=\"https://nps.example/u/tok\""));
        assert_eq!(r.html.matches("https://nps.example/t/tok").count(), 1);
        let trap = r.html.find("https://nps.example/t/tok").unwrap();
        let hidden = r.html[..trap].rfind("<div").unwrap();
        assert!(r.html[hidden..trap].contains("display:none"));
        assert!(r.html[hidden..trap].contains("mso-hide:all"));
        let trap_tag = &r.html[trap..];
        let trap_tag = &trap_tag[..trap_tag.find("</a>").unwrap()];
        assert!(
            trap_tag.contains("tabindex=\"-1\"") && trap_tag.ends_with('>'),
            "trap link has no text"
        );
        assert!(!r.html.contains("<script"));
        assert!(!r.html.contains("<img"));
        assert!(r.html.len() + r.text.len() < 30_000);
    }

    #[test]
    fn text_lists_every_score_and_never_the_trap() {
        let email = sample();
        let r = render_survey_email(&email).unwrap();
        let lines: Vec<String> = (0..=10)
            .map(|s| {
                let label = match s {
                    0 => " - Not likely",
                    10 => " - Very likely",
                    _ => "",
                };
                format!("\n{s}{label}: {}\n", email.score_urls[s])
            })
            .collect();
        assert_links_in_order(&r.text, &lines);
        assert!(r
            .text
            .starts_with("Hi Ann,\n\nThanks for your order A-17.\n"));
        assert!(r.text.contains(&email.question));
        assert!(r
            .text
            .contains("One click is enough; you can add a comment on the next page."));
        assert!(r
            .text
            .contains("You received this email because you recently made a purchase from ACME."));
        assert!(r.text.contains("Unsubscribe: https://nps.example/u/tok"));
        assert!(!r.text.contains("/t/tok"));
        assert!(!r.text.contains('<'));
    }

    #[test]
    fn subject_is_plain() {
        let r = render_survey_email(&sample()).unwrap();
        assert_eq!(r.subject, "How likely are you to recommend ACME?");
        let mut email = sample();
        email.subject_of = "A\r\nBcc: x".into();
        assert!(!render_survey_email(&email).unwrap().subject.contains('\n'));
    }

    #[test]
    fn greets_without_a_name() {
        let mut email = sample();
        email.recipient_name = Some("  ".into());
        let r = render_survey_email(&email).unwrap();
        assert!(r.text.starts_with("Hello,\n"));
        assert!(r.html.contains("Hello,"));
        email.recipient_name = None;
        assert!(render_survey_email(&email).unwrap().html.contains("Hello,"));
    }

    #[test]
    fn html_escapes_and_text_does_not() {
        let mut email = sample();
        email.brand = "A&B <x>".into();
        email.recipient_name = Some("<b>Ann</b>".into());
        email.score_urls[3] = "https://nps.example/r/tok?s=3&x=\"y\"".into();
        email.accent_color = "red\"><script>".into();
        let r = render_survey_email(&email).unwrap();
        assert!(r.html.contains("purchase from A&#38;B &#60;x&#62;."));
        assert!(r.html.contains("Hi &#60;b&#62;Ann&#60;/b&#62;,"));
        assert!(r
            .html
            .contains("href=\"https://nps.example/r/tok?s=3&#38;x=&#34;y&#34;\""));
        assert!(!r.html.contains("<x>") && !r.html.contains("<script"));
        assert!(
            r.html.contains("background-color:#2563eb;"),
            "invalid accent falls back"
        );
        assert!(r.text.contains("purchase from A&B <x>."));
        assert!(r.text.starts_with("Hi <b>Ann</b>,"));
    }

    #[test]
    fn refuses_a_wrong_number_of_links() {
        let mut email = sample();
        email.score_urls.pop();
        assert!(render_survey_email(&email).is_err());
    }
}
