//! The words of the response experience that the widget shows, from the server so that the
//! widget carries none of its own. They match the pages' templates (templates/web, templates/embed);
//! English only until the localization work keys them by locale.
use crate::domain::score::Category;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct WidgetText {
    pub question: String,
    pub not_likely: &'static str,
    pub very_likely: &'static str,
    /// `{score}` is replaced by the score chosen.
    pub saved: &'static str,
    pub comment_prompt: &'static str,
    pub comment_placeholder: &'static str,
    pub send: &'static str,
    pub close: &'static str,
    pub thanks_title: &'static str,
    pub thanks_promoter: String,
    pub thanks_passive: String,
    pub thanks_detractor: String,
    /// Followed by the survey's reply-to address, for detractors.
    pub contact: &'static str,
    pub error: &'static str,
    pub too_many: &'static str,
}

pub const NOT_LIKELY: &str = "Not likely";
pub const VERY_LIKELY: &str = "Very likely";

/// The thank-you line for an answer of this category, in the survey's brand.
pub fn thanks_for(category: Category, brand: &str) -> String {
    match category {
        Category::Promoter => {
            format!("We're so glad you'd recommend {brand}. Thank you for taking the time to tell us.")
        }
        Category::Passive => {
            format!("Thank you for your feedback. It helps {brand} get better.")
        }
        Category::Detractor => format!(
            "We're sorry {brand} fell short. Thank you for telling us: we read every answer and use it to do better."
        ),
    }
}

pub const CONTACT: &str = "If you'd like us to put it right, write to us at";

impl WidgetText {
    pub fn new(question: String, brand: &str) -> WidgetText {
        WidgetText {
            question,
            not_likely: NOT_LIKELY,
            very_likely: VERY_LIKELY,
            saved: "Thanks, your score of {score} is saved.",
            comment_prompt: "Anything you'd like to add?",
            comment_placeholder: "Optional",
            send: "Send",
            close: "Close",
            thanks_title: "Thank you!",
            thanks_promoter: thanks_for(Category::Promoter, brand),
            thanks_passive: thanks_for(Category::Passive, brand),
            thanks_detractor: thanks_for(Category::Detractor, brand),
            contact: CONTACT,
            error: "Something went wrong. Please try again.",
            too_many: "Too many answers from your network. Please try again in a minute.",
        }
    }
}
