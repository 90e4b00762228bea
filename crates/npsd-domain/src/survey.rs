//! Survey settings and their rules.
use super::ValidationError;

pub const DEFAULT_SLUG: &str = "default";
pub const DEFAULT_BRAND: &str = "ACME";
pub const DEFAULT_ACCENT: &str = "#2563eb";
pub const DEFAULT_THROTTLE_DAYS: i32 = 90;
pub const DEFAULT_RESPONSE_WINDOW_DAYS: i32 = 30;
pub const MAX_DELAY_SECONDS: i64 = 365 * 24 * 3600;
/// The transaction property whose value the question asks about instead of the brand.
pub const QUESTION_PRODUCT_PROPERTY: &str = "question_product_name";

/// The settings of a survey as the API reads and writes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SurveySettings {
    pub slug: String,
    pub brand: String,
    /// Overrides the standard question; `{brand}` is replaced by the brand.
    pub question: Option<String>,
    /// From header for this survey's emails ("Name <addr>"); the service default when None.
    pub sender: Option<String>,
    pub reply_to: Option<String>,
    pub locale: String,
    pub send_delay_seconds: i64,
    pub throttle_days: i32,
    pub response_window_days: i32,
    pub accent_color: String,
    /// An optional line under the greeting of the survey email; `{name}` placeholders take the
    /// transaction's properties (`{first_name}` the recipient's).
    pub intro: Option<String>,
    /// Sites that may embed the survey (`scheme://host[:port]`); none by default.
    pub allowed_origins: Vec<String>,
    pub embed_enabled: bool,
    /// The NPS digest to the team.
    pub digest: super::digest::DigestSettings,
}

impl SurveySettings {
    pub fn new_default(slug: &str) -> SurveySettings {
        SurveySettings {
            slug: slug.to_string(),
            brand: DEFAULT_BRAND.to_string(),
            question: None,
            sender: None,
            reply_to: None,
            locale: "en".to_string(),
            send_delay_seconds: 0,
            throttle_days: DEFAULT_THROTTLE_DAYS,
            response_window_days: DEFAULT_RESPONSE_WINDOW_DAYS,
            accent_color: DEFAULT_ACCENT.to_string(),
            intro: None,
            allowed_origins: Vec::new(),
            embed_enabled: true,
            digest: super::digest::DigestSettings::default(),
        }
    }

    /// The question as it is asked.
    pub fn question_text(&self) -> String {
        self.question_about(None)
    }

    /// The question about a product: a transaction's `question_product_name` property (as in
    /// Delighted's API) takes the brand's place; without one, the question as it is asked.
    pub fn question_about(&self, product: Option<&str>) -> String {
        let subject = product
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .unwrap_or(&self.brand);
        match &self.question {
            Some(q) => q.replace("{brand}", subject),
            None => format!("How likely are you to recommend {subject} to a friend or colleague?"),
        }
    }
}

/// The survey's intro line for one recipient: `{key}` placeholders filled from the transaction's
/// properties (and `{first_name}`, `{name}`); `None` when the survey has none or a placeholder has
/// no value, so nobody reads "your order {order_id}".
pub fn render_intro(
    template: Option<&str>,
    name: Option<&str>,
    properties: &[(String, String)],
) -> Option<String> {
    let template = template?;
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let close = after.find('}')?;
        let key = after[..close].trim();
        let value = match key {
            "first_name" => name.and_then(first_name),
            "name" => name
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(str::to_string),
            _ => properties
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.trim().to_string())
                .filter(|v| !v.is_empty()),
        }?;
        out.push_str(&value);
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    Some(out)
}

/// "Ann Lee" -> "Ann": what a greeting uses.
pub fn first_name(name: &str) -> Option<String> {
    name.split_whitespace().next().map(str::to_string)
}

/// A change to a survey: every field optional; `Some(None)` clears an optional one.
#[derive(Debug, Clone, Default)]
pub struct SurveyPatch {
    pub brand: Option<String>,
    pub question: Option<Option<String>>,
    pub sender: Option<Option<String>>,
    pub reply_to: Option<Option<String>>,
    pub locale: Option<String>,
    pub send_delay_seconds: Option<i64>,
    pub throttle_days: Option<i32>,
    pub response_window_days: Option<i32>,
    pub accent_color: Option<String>,
    pub intro: Option<Option<String>>,
    pub allowed_origins: Option<Vec<String>>,
    pub embed_enabled: Option<bool>,
    /// The digest's settings; fields left out keep their value.
    pub digest: Option<super::digest::DigestPatch>,
}

impl SurveyPatch {
    /// Applies the patch and checks every rule; nothing changes when an error is returned.
    pub fn apply(self, to: &SurveySettings) -> Result<SurveySettings, ValidationError> {
        let mut s = to.clone();
        if let Some(v) = self.brand {
            s.brand = v;
        }
        if let Some(v) = self.question {
            s.question = v;
        }
        if let Some(v) = self.sender {
            s.sender = v;
        }
        if let Some(v) = self.reply_to {
            s.reply_to = v;
        }
        if let Some(v) = self.locale {
            s.locale = v;
        }
        if let Some(v) = self.send_delay_seconds {
            s.send_delay_seconds = v;
        }
        if let Some(v) = self.throttle_days {
            s.throttle_days = v;
        }
        if let Some(v) = self.response_window_days {
            s.response_window_days = v;
        }
        if let Some(v) = self.accent_color {
            s.accent_color = v;
        }
        if let Some(v) = self.intro {
            s.intro = v;
        }
        if let Some(v) = self.allowed_origins {
            s.allowed_origins = v;
        }
        if let Some(v) = self.embed_enabled {
            s.embed_enabled = v;
        }
        if let Some(v) = &self.digest {
            s.digest = s.digest.patched(v)?;
        }
        validate(s)
    }
}

fn trimmed_opt(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

/// Checks and normalises settings.
pub fn validate(mut s: SurveySettings) -> Result<SurveySettings, ValidationError> {
    s.slug = parse_slug("slug", &s.slug)?;
    s.brand = s.brand.trim().to_string();
    if s.brand.is_empty() || s.brand.chars().count() > 100 || s.brand.chars().any(char::is_control)
    {
        return Err(ValidationError::new("brand", "must be 1 to 100 characters"));
    }
    s.question = trimmed_opt(s.question);
    if let Some(q) = &s.question {
        if q.chars().count() > 300 || q.chars().any(char::is_control) {
            return Err(ValidationError::new(
                "question",
                "must be at most 300 characters on one line",
            ));
        }
    }
    // Sender, reply-to, brand and question reach email headers: no CR, LF or other control
    // character may pass, whatever the address parser would make of it.
    s.sender = trimmed_opt(s.sender);
    if let Some(v) = &s.sender {
        if v.chars().any(char::is_control) {
            return Err(ValidationError::new("sender", "must be on one line"));
        }
        v.parse::<lettre::message::Mailbox>().map_err(|_| {
            ValidationError::new(
                "sender",
                "must be an address like \"ACME <nps@acme.example>\"",
            )
        })?;
    }
    s.reply_to = trimmed_opt(s.reply_to);
    if let Some(v) = &s.reply_to {
        if v.chars().any(char::is_control) {
            return Err(ValidationError::new("reply_to", "must be on one line"));
        }
        v.parse::<lettre::message::Mailbox>().map_err(|_| {
            ValidationError::new(
                "reply_to",
                "must be an address like \"Support <help@acme.example>\"",
            )
        })?;
    }
    s.locale = parse_locale("locale", &s.locale)?;
    if !(0..=MAX_DELAY_SECONDS).contains(&s.send_delay_seconds) {
        return Err(ValidationError::new(
            "send_delay_seconds",
            "must be from 0 to 31536000 (one year)",
        ));
    }
    if !(0..=3650).contains(&s.throttle_days) {
        return Err(ValidationError::new(
            "throttle_days",
            "must be from 0 to 3650",
        ));
    }
    if !(1..=365).contains(&s.response_window_days) {
        return Err(ValidationError::new(
            "response_window_days",
            "must be from 1 to 365",
        ));
    }
    s.accent_color = parse_color("accent_color", &s.accent_color)?;
    s.intro = trimmed_opt(s.intro);
    if let Some(v) = &s.intro {
        if v.chars().count() > 300 || v.chars().any(char::is_control) {
            return Err(ValidationError::new(
                "intro",
                "must be at most 300 characters on one line",
            ));
        }
    }
    s.allowed_origins = super::embed::parse_origins("allowed_origins", &s.allowed_origins)?;
    Ok(s)
}

pub fn parse_slug(field: &str, raw: &str) -> Result<String, ValidationError> {
    let slug = raw.trim();
    let ok = (1..=64).contains(&slug.len())
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        && !slug.starts_with('-');
    if ok {
        Ok(slug.to_string())
    } else {
        Err(ValidationError::new(
            field,
            "must be 1 to 64 lowercase letters, digits, '-' or '_'",
        ))
    }
}

/// A BCP 47-ish language tag: "en", "de-CH", "pt-BR".
pub fn parse_locale(field: &str, raw: &str) -> Result<String, ValidationError> {
    let tag = raw.trim();
    let mut parts = tag.split(['-', '_']);
    let lang_ok = parts
        .next()
        .is_some_and(|l| (2..=3).contains(&l.len()) && l.bytes().all(|b| b.is_ascii_alphabetic()));
    let rest_ok =
        parts.all(|p| (2..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()));
    if lang_ok && rest_ok && tag.len() <= 35 {
        Ok(tag.replace('_', "-"))
    } else {
        Err(ValidationError::new(
            field,
            "must be a language tag like \"en\" or \"de-CH\"",
        ))
    }
}

pub fn parse_color(field: &str, raw: &str) -> Result<String, ValidationError> {
    let c = raw.trim();
    let ok = c.len() == 7 && c.starts_with('#') && c[1..].bytes().all(|b| b.is_ascii_hexdigit());
    if ok {
        Ok(c.to_ascii_lowercase())
    } else {
        Err(ValidationError::new(
            field,
            "must be a colour like \"#2563eb\"",
        ))
    }
}

/// The accent colour to use (the input if it is `#RRGGBB`, else a safe default, since it
/// ends up inside CSS) and the text colour that stays readable on it.
/// Used by the emails and the pages alike.
pub fn accent_colors(accent: &str) -> (&str, &'static str) {
    let valid = accent.len() == 7
        && accent.starts_with('#')
        && accent[1..].bytes().all(|b| b.is_ascii_hexdigit());
    let accent = if valid { accent } else { DEFAULT_ACCENT };
    let channel = |i: usize| {
        let c = f64::from(u8::from_str_radix(&accent[i..i + 2], 16).unwrap_or(0)) / 255.0;
        if c <= 0.03928 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    // WCAG relative luminance; pick whichever of white or near-black contrasts more.
    let l = 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5);
    let on_white = 1.05 / (l + 0.05);
    let on_dark = (l + 0.05) / 0.05;
    (
        accent,
        if on_white >= on_dark {
            "#ffffff"
        } else {
            "#111111"
        },
    )
}

#[cfg(test)]
mod tests;
