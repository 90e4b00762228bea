//! Browser pages of the email path (answer form, thanks, unsubscribe, errors), rendered
//! from `templates/web/*.html`. Pure functions returning HTML; handlers wrap them.
use askama::Template;

use crate::domain::score::{Category, Score};
use crate::domain::survey::accent_colors;
use crate::http::pages::text::{thanks_for, CONTACT, NOT_LIKELY, VERY_LIKELY};

/// How a survey's pages look: its brand name and accent colour ("#RRGGBB").
#[derive(Debug, Clone)]
pub struct Branding {
    pub brand: String,
    pub accent_color: String,
    /// The page's language tag.
    pub locale: String,
}

impl Branding {
    /// Pages that know no survey (an unknown link): no brand at all, never the tool's name.
    pub fn neutral() -> Branding {
        Branding {
            brand: String::new(),
            accent_color: crate::domain::survey::DEFAULT_ACCENT.to_string(),
            locale: "en".to_string(),
        }
    }
}

pub struct SurveyFormPage<'a> {
    pub branding: &'a Branding,
    pub question: &'a str,
    /// Where the form posts, e.g. "/r/TOKEN".
    pub form_action: &'a str,
    /// The score from the clicked email link, preselected.
    pub selected: Option<u8>,
    /// The comment typed so far, when the form is shown again after an error.
    pub comment: &'a str,
    pub error: Option<&'a str>,
    pub max_comment_chars: usize,
    /// The score stored by this visit's click (or an earlier one): the page says it is saved.
    pub saved: Option<u8>,
    /// The score was stored by an earlier visit.
    pub answered_before: bool,
}

pub struct ThanksPage<'a> {
    pub branding: &'a Branding,
    pub score: u8,
    pub has_comment: bool,
    /// Where the shop can be reached (the survey's reply-to), shown to detractors.
    pub reply_to: Option<&'a str>,
    /// Shown inside another site's page (the iframe form): no "close this page".
    pub embedded: bool,
}

/// The embedded form's first step: a scale of eleven submit buttons, no script needed.
pub struct EmbedFormPage<'a> {
    pub branding: &'a Branding,
    pub question: &'a str,
    pub form_action: &'a str,
    /// What the page was given about the visitor, posted back with the score.
    pub hidden: &'a [(&'static str, String)],
    pub error: Option<&'a str>,
}

/// The embedded form's second step: the score is saved, a comment may follow.
pub struct EmbedCommentPage<'a> {
    pub branding: &'a Branding,
    pub form_action: &'a str,
    pub score: u8,
    pub response_id: &'a str,
    pub edit_token: &'a str,
    pub comment: &'a str,
    pub error: Option<&'a str>,
}

pub struct UnsubscribePage<'a> {
    pub branding: &'a Branding,
    pub form_action: &'a str,
    pub email_masked: &'a str,
    /// What the address stops getting: "surveys", "NPS digests".
    pub list: &'a str,
}

pub struct UnsubscribedPage<'a> {
    pub branding: &'a Branding,
    pub email_masked: &'a str,
    pub list: &'a str,
}

/// An error page: in the survey's brand when the link named a known survey, neutral otherwise.
pub struct ErrorPage<'a> {
    pub branding: Option<&'a Branding>,
    pub title: &'a str,
    pub message: &'a str,
}

/// What `base.html` needs from every page.
struct Theme<'a> {
    brand: &'a str,
    accent: &'a str,
    on_accent: &'static str,
    lang: &'a str,
}

impl<'a> Theme<'a> {
    fn of(branding: &'a Branding) -> Self {
        let (accent, on_accent) = accent_colors(&branding.accent_color);
        Theme {
            brand: &branding.brand,
            accent,
            on_accent,
            lang: &branding.locale,
        }
    }
}

#[derive(Template)]
#[template(path = "web/survey_form.html")]
struct SurveyFormHtml<'a> {
    theme: Theme<'a>,
    question: &'a str,
    form_action: &'a str,
    selected: Option<u8>,
    comment: &'a str,
    error: Option<&'a str>,
    max_comment_chars: usize,
    saved: Option<u8>,
    answered_before: bool,
    not_likely: &'static str,
    very_likely: &'static str,
}

impl SurveyFormHtml<'_> {
    /// Askama passes call arguments by reference, hence `&u8`.
    fn is_selected(&self, score: &u8) -> bool {
        self.selected == Some(*score)
    }
}

#[derive(Template)]
#[template(path = "web/thanks.html")]
struct ThanksHtml<'a> {
    theme: Theme<'a>,
    score: u8,
    has_comment: bool,
    message: String,
    contact: Option<&'a str>,
    contact_intro: &'static str,
    embedded: bool,
}

#[derive(Template)]
#[template(path = "embed/form.html")]
struct EmbedFormHtml<'a> {
    theme: Theme<'a>,
    question: &'a str,
    form_action: &'a str,
    hidden: &'a [(&'static str, String)],
    error: Option<&'a str>,
    not_likely: &'static str,
    very_likely: &'static str,
}

#[derive(Template)]
#[template(path = "embed/comment.html")]
struct EmbedCommentHtml<'a> {
    theme: Theme<'a>,
    form_action: &'a str,
    score: u8,
    response_id: &'a str,
    edit_token: &'a str,
    comment: &'a str,
    error: Option<&'a str>,
    max_comment_chars: usize,
}

#[derive(Template)]
#[template(path = "web/unsubscribe.html")]
struct UnsubscribeHtml<'a> {
    theme: Theme<'a>,
    form_action: &'a str,
    email_masked: &'a str,
    list: &'a str,
}

#[derive(Template)]
#[template(path = "web/unsubscribed.html")]
struct UnsubscribedHtml<'a> {
    theme: Theme<'a>,
    email_masked: &'a str,
    list: &'a str,
}

#[derive(Template)]
#[template(path = "web/error.html")]
struct ErrorHtml<'a> {
    theme: Theme<'a>,
    title: &'a str,
    message: &'a str,
}

pub fn survey_form(p: &SurveyFormPage) -> Result<String, askama::Error> {
    SurveyFormHtml {
        theme: Theme::of(p.branding),
        question: p.question,
        form_action: p.form_action,
        selected: p.selected,
        comment: p.comment,
        error: p.error,
        max_comment_chars: p.max_comment_chars,
        saved: p.saved,
        answered_before: p.answered_before,
        not_likely: NOT_LIKELY,
        very_likely: VERY_LIKELY,
    }
    .render()
}

/// The thank-you page says what fits the answer: an apology and a way to reach the shop for a
/// detractor, a thank-you for a promoter.
pub fn thanks(p: &ThanksPage) -> Result<String, askama::Error> {
    let category = Score::new(i64::from(p.score))
        .map(Score::category)
        .unwrap_or(Category::Passive);
    ThanksHtml {
        theme: Theme::of(p.branding),
        score: p.score,
        has_comment: p.has_comment,
        message: thanks_for(category, &p.branding.brand),
        contact: p.reply_to.filter(|_| category == Category::Detractor),
        contact_intro: CONTACT,
        embedded: p.embedded,
    }
    .render()
}

pub fn embed_form(p: &EmbedFormPage) -> Result<String, askama::Error> {
    EmbedFormHtml {
        theme: Theme::of(p.branding),
        question: p.question,
        form_action: p.form_action,
        hidden: p.hidden,
        error: p.error,
        not_likely: NOT_LIKELY,
        very_likely: VERY_LIKELY,
    }
    .render()
}

pub fn embed_comment(p: &EmbedCommentPage) -> Result<String, askama::Error> {
    EmbedCommentHtml {
        theme: Theme::of(p.branding),
        form_action: p.form_action,
        score: p.score,
        response_id: p.response_id,
        edit_token: p.edit_token,
        comment: p.comment,
        error: p.error,
        max_comment_chars: crate::domain::embed::MAX_COMMENT_CHARS,
    }
    .render()
}

pub fn unsubscribe(p: &UnsubscribePage) -> Result<String, askama::Error> {
    UnsubscribeHtml {
        theme: Theme::of(p.branding),
        form_action: p.form_action,
        email_masked: p.email_masked,
        list: p.list,
    }
    .render()
}

pub fn unsubscribed(p: &UnsubscribedPage) -> Result<String, askama::Error> {
    UnsubscribedHtml {
        theme: Theme::of(p.branding),
        email_masked: p.email_masked,
        list: p.list,
    }
    .render()
}

pub fn error_page(p: &ErrorPage) -> Result<String, askama::Error> {
    let neutral = Branding::neutral();
    ErrorHtml {
        theme: Theme::of(p.branding.unwrap_or(&neutral)),
        title: p.title,
        message: p.message,
    }
    .render()
}

#[cfg(test)]
mod tests;
