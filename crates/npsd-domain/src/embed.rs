//! The embedded web form's rules: which sites may embed a survey, what a web answer is made of,
//! whose answer it is (and whether the site vouched for that with its HMAC, see [`signature`]),
//! parsed once at the boundary. Shared by the JSON endpoint and the no-script iframe form.
pub mod signature;

use super::email::EmailAddress;
use super::properties::{check_properties, PropertyInput};
use super::score::Score;
use super::ValidationError;
use chrono::NaiveDateTime;
use rand::RngCore;
use signature::{Identity, Signature, Unverified};

pub const MAX_ORIGINS: usize = 50;
pub const MAX_COMMENT_CHARS: usize = 5000;
pub const MAX_PAGE_URL_CHARS: usize = 2048;
/// How long the edit token of a web answer lets its browser change it.
pub const EDIT_TOKEN_MINUTES: i64 = 60;
/// The honeypot: a text field people never see, so only bots fill it in.
pub const HONEYPOT_FIELD: &str = "website";

/// A site allowed to embed a survey, as browsers send it in `Origin`: `scheme://host[:port]`,
/// lower-case, without the scheme's default port.
pub fn parse_origin(field: &str, raw: &str) -> Result<String, ValidationError> {
    let invalid = || {
        ValidationError::new(
            field,
            format!("'{raw}' is not an origin like \"https://shop.example\" or \"http://localhost:8080\" (scheme, host and port only, no path)"),
        )
    };
    let trimmed = raw.trim();
    let url = url::Url::parse(trimmed).map_err(|_| invalid())?;
    let bare = url.path() == "/"
        && url.query().is_none()
        && url.fragment().is_none()
        && url.username().is_empty()
        && url.password().is_none();
    // Only a slash may follow the host: "https://a.example/" is the origin, "/shop" is not.
    let after_host = trimmed.splitn(4, '/').nth(3).unwrap_or("");
    if !matches!(url.scheme(), "http" | "https") || !bare || !after_host.is_empty() {
        return Err(invalid());
    }
    // The origin goes into CORS and frame-ancestors headers: a host name of letters, digits,
    // dots and hyphens (punycode) or an IP address; never a wildcard or a separator.
    match url.host() {
        Some(url::Host::Domain(d))
            if !d.is_empty()
                && d.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-'
                }) => {}
        Some(url::Host::Ipv4(_) | url::Host::Ipv6(_)) => {}
        _ => return Err(invalid()),
    }
    match url.origin() {
        origin @ url::Origin::Tuple(..) => Ok(origin.ascii_serialization()),
        url::Origin::Opaque(_) => Err(invalid()),
    }
}

/// The origins a survey allows, in the order they were given, without repeats.
pub fn parse_origins(field: &str, raw: &[String]) -> Result<Vec<String>, ValidationError> {
    if raw.len() > MAX_ORIGINS {
        return Err(ValidationError::new(
            field,
            format!("must list at most {MAX_ORIGINS} origins"),
        ));
    }
    let mut out: Vec<String> = Vec::with_capacity(raw.len());
    for r in raw {
        let origin = parse_origin(field, r)?;
        if !out.contains(&origin) {
            out.push(origin);
        }
    }
    Ok(out)
}

/// Stored as one origin per line.
pub fn origins_to_stored(origins: &[String]) -> String {
    origins.join("\n")
}

pub fn origins_from_stored(stored: &str) -> Vec<String> {
    stored
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// Whether a request's `Origin` header names one of the allowed origins.
pub fn origin_allowed(allowed: &[String], origin: &str) -> bool {
    // Browsers send the serialised origin; compare it in the same normal form.
    parse_origin("origin", origin).is_ok_and(|o| allowed.contains(&o))
}

/// A new embed secret: 256 random bits as hex, what sites feed to HMAC-SHA256.
pub fn new_embed_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("npsd_es_{}", hex::encode(bytes))
}

/// Who answered, as far as the page could tell: what repeat answers within the survey's
/// throttle days are matched by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Respondent {
    Customer(String),
    Email(String),
    Visitor(String),
    Unknown,
}

impl Respondent {
    /// The key a repeat answer is matched by. A verified identity only ever matches verified
    /// answers, so nobody can overwrite a signed-in customer's answer by typing their address.
    pub fn key(&self, verified: bool) -> Option<String> {
        let tier = if verified { "verified" } else { "claimed" };
        match self {
            Respondent::Customer(id) => Some(format!("customer:{tier}:{id}")),
            Respondent::Email(key) => Some(format!("email:{tier}:{key}")),
            Respondent::Visitor(id) => Some(format!("visitor:{id}")),
            Respondent::Unknown => None,
        }
    }
}

/// A web answer, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct WebAnswer {
    pub score: Score,
    pub comment: Option<String>,
    pub email: Option<EmailAddress>,
    pub customer_id: Option<String>,
    pub name: Option<String>,
    pub properties: Vec<(String, String)>,
    pub page_url: Option<String>,
    pub signature: Option<Signature>,
    pub visitor_id: Option<String>,
    /// The honeypot was filled in: a bot's answer, acknowledged but never stored.
    pub honeypot: bool,
}

impl WebAnswer {
    /// Whose answer it is: the customer id or the email when the page gave one, else the
    /// browser's visitor id.
    pub fn respondent(&self) -> Respondent {
        if let Some(id) = &self.customer_id {
            Respondent::Customer(id.clone())
        } else if let Some(email) = &self.email {
            Respondent::Email(email.key())
        } else if let Some(v) = &self.visitor_id {
            Respondent::Visitor(v.clone())
        } else {
            Respondent::Unknown
        }
    }

    /// The identity fields as the page sent them: what a signature must cover.
    pub fn identity(&self) -> Identity<'_> {
        Identity {
            email: self.email.as_ref().map(EmailAddress::as_str),
            customer_id: self.customer_id.as_deref(),
            name: self.name.as_deref(),
        }
    }

    /// The respondent the site vouched for with the survey's embed secret, or why not
    /// ([`Unverified::Unsigned`] without a signature). The signature must cover exactly this
    /// answer's identity fields (email, customer id and name, each present or absent) and be at
    /// most `max_age` old at `now`: a signature of one's own customer id vouches for nothing
    /// when someone else's address comes with it, and that address then renames nobody.
    pub fn signed_identity(
        &self,
        secret: Option<&str>,
        now: NaiveDateTime,
        max_age: chrono::Duration,
    ) -> Result<Respondent, Unverified> {
        let signature = self.signature.as_ref().ok_or(Unverified::Unsigned)?;
        let secret = secret.ok_or(Unverified::NoSecret)?;
        signature.verify(secret, &self.identity(), now, max_age)?;
        // Every identity field is signed: the strongest one matches repeat answers.
        match self.respondent() {
            r @ (Respondent::Customer(_) | Respondent::Email(_)) => Ok(r),
            Respondent::Visitor(_) | Respondent::Unknown => Err(Unverified::NoIdentity),
        }
    }
}

/// A web answer's fields before the checks: the embed API's body and the iframe's form, read by
/// their doors. Strings as sent (the checks trim them); blank optional ones are none.
#[derive(Debug, Clone, Default)]
pub struct WebAnswerFields {
    pub score: Option<Score>,
    pub comment: Option<String>,
    pub email: Option<String>,
    pub customer_id: Option<String>,
    pub name: Option<String>,
    pub properties: Vec<(String, PropertyInput)>,
    pub page_url: Option<String>,
    pub signature: Option<String>,
    pub visitor_id: Option<String>,
    /// The hidden field (`website`) only bots fill in.
    pub honeypot: Option<String>,
}

impl TryFrom<WebAnswerFields> for WebAnswer {
    type Error = ValidationError;

    fn try_from(f: WebAnswerFields) -> Result<WebAnswer, ValidationError> {
        let score = f
            .score
            .ok_or_else(|| ValidationError::new("score", "is required"))?;
        let properties = check_properties(f.properties)?;
        let blank_is_none =
            |v: Option<String>| v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
        Ok(WebAnswer {
            score,
            comment: parse_comment(f.comment.as_deref())?,
            email: blank_is_none(f.email)
                .map(|e| EmailAddress::parse("email", &e))
                .transpose()?,
            customer_id: parse_customer_id(blank_is_none(f.customer_id))?,
            name: parse_name(blank_is_none(f.name))?,
            properties,
            page_url: parse_page_url(blank_is_none(f.page_url))?,
            signature: parse_signature(blank_is_none(f.signature))?,
            visitor_id: parse_visitor_id(blank_is_none(f.visitor_id))?,
            honeypot: f.honeypot.is_some_and(|v| !v.trim().is_empty()),
        })
    }
}

/// What a score that is not a whole number from 0 to 10 is told.
pub const SCORE_MESSAGE: &str = "must be a whole number from 0 to 10";

/// Free text as a person meant it: line breaks kept, control characters dropped, trimmed, at
/// most 5,000 characters; empty is no comment.
pub fn parse_comment(raw: Option<&str>) -> Result<Option<String>, ValidationError> {
    let Some(raw) = raw else { return Ok(None) };
    let cleaned = clean_text(raw);
    let trimmed = cleaned.trim();
    let length = trimmed.chars().count();
    if length > MAX_COMMENT_CHARS {
        return Err(ValidationError::new(
            "comment",
            format!("is {length} characters long; the limit is {MAX_COMMENT_CHARS}"),
        ));
    }
    Ok((!trimmed.is_empty()).then(|| trimmed.to_string()))
}

/// Line breaks kept, NUL and other control characters (which PostgreSQL cannot store, or nobody
/// typed) dropped, the same on every backend.
pub fn clean_text(raw: &str) -> String {
    raw.replace("\r\n", "\n")
        .chars()
        .filter(|c| !c.is_control() || *c == '\n' || *c == '\t')
        .collect()
}

pub fn parse_customer_id(v: Option<String>) -> Result<Option<String>, ValidationError> {
    super::one_line("customer_id", v, 200)
}

pub fn parse_name(v: Option<String>) -> Result<Option<String>, ValidationError> {
    super::one_line("name", v, 200)
}

/// The page the answer was given on: an http(s) URL, its fragment dropped.
pub fn parse_page_url(v: Option<String>) -> Result<Option<String>, ValidationError> {
    let Some(raw) = v else { return Ok(None) };
    let invalid = || {
        ValidationError::new(
            "page_url",
            format!("must be an http or https URL of at most {MAX_PAGE_URL_CHARS} characters"),
        )
    };
    if raw.chars().count() > MAX_PAGE_URL_CHARS {
        return Err(invalid());
    }
    let mut url = url::Url::parse(&raw).map_err(|_| invalid())?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid());
    }
    url.set_fragment(None);
    Ok(Some(url.to_string()))
}

pub fn parse_signature(v: Option<String>) -> Result<Option<Signature>, ValidationError> {
    v.as_deref().map(Signature::parse).transpose()
}

pub fn parse_visitor_id(v: Option<String>) -> Result<Option<String>, ValidationError> {
    match v {
        Some(s)
            if s.len() > 64
                || !s
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') =>
        {
            Err(ValidationError::new(
                "visitor_id",
                "must be at most 64 letters, digits, '-' or '_'",
            ))
        }
        other => Ok(other),
    }
}

#[cfg(test)]
mod tests;
