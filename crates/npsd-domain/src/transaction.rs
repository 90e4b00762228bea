//! A transaction posted by the shop: parsed once at the boundary into a checked value.
use super::email::EmailAddress;
pub use super::properties::{
    check_properties, parse_properties, property_input, PropertyInput, MAX_PROPERTIES,
};
use super::survey::{parse_locale, parse_slug, DEFAULT_SLUG, MAX_DELAY_SECONDS};
use super::{ValidationError, WholeInput};
use serde_json::Value;

pub const MAX_BATCH: usize = 1000;

#[derive(Debug, Clone, PartialEq)]
pub struct NewTransaction {
    pub transaction_id: String,
    pub email: EmailAddress,
    pub name: Option<String>,
    pub survey: String,
    pub locale: Option<String>,
    /// Segment properties (plan, country...), values as text, sorted by name.
    pub properties: Vec<(String, String)>,
    /// Overrides the survey's send delay.
    pub delay_seconds: Option<i64>,
}

/// A transaction's id as the body gave it.
#[derive(Debug, Clone, PartialEq)]
pub enum TransactionIdInput {
    Missing,
    Text(String),
    /// An integer JSON kept exact, as its digits.
    Integer(String),
    /// A number that went through a float (1e2, 100.0, 18446744073709551616): it could collide
    /// with another id.
    Fractional,
}

/// A transaction's fields before the checks (the JSON API's body, read by its door).
#[derive(Debug, Clone)]
pub struct TransactionFields {
    pub transaction_id: TransactionIdInput,
    pub email: Option<String>,
    /// Trimmed; blank is none (also for `survey` and `locale`).
    pub name: Option<String>,
    pub survey: Option<String>,
    pub locale: Option<String>,
    /// In name order.
    pub properties: Vec<(String, PropertyInput)>,
    pub delay_seconds: Option<WholeInput>,
}

impl TryFrom<TransactionFields> for NewTransaction {
    type Error = ValidationError;

    fn try_from(f: TransactionFields) -> Result<NewTransaction, ValidationError> {
        let transaction_id = match f.transaction_id {
            TransactionIdInput::Text(s) if !s.trim().is_empty() => s.trim().to_string(),
            TransactionIdInput::Integer(digits) => digits,
            TransactionIdInput::Fractional => {
                return Err(ValidationError::new(
                    "transaction_id",
                    "must be a string or a whole number from -9223372036854775808 to 18446744073709551615; send larger or fractional ids as strings",
                ))
            }
            TransactionIdInput::Missing => {
                return Err(ValidationError::new("transaction_id", "is required"))
            }
            TransactionIdInput::Text(_) => {
                return Err(ValidationError::new("transaction_id", "must not be empty"))
            }
        };
        if transaction_id.chars().count() > 200 || transaction_id.chars().any(char::is_control) {
            return Err(ValidationError::new(
                "transaction_id",
                "must be at most 200 printable characters",
            ));
        }
        let email = match f.email {
            None => return Err(ValidationError::new("email", "is required")),
            Some(s) => EmailAddress::parse("email", &s)?,
        };
        let name = super::one_line("name", f.name, 200)?;
        let survey = match f.survey {
            Some(s) => parse_slug("survey", &s)?,
            None => DEFAULT_SLUG.to_string(),
        };
        let locale = f.locale.map(|l| parse_locale("locale", &l)).transpose()?;
        let properties = check_properties(f.properties)?;
        let delay_seconds = match f.delay_seconds {
            None => None,
            Some(WholeInput::Whole(d)) if (0..=MAX_DELAY_SECONDS).contains(&d) => Some(d),
            Some(_) => {
                return Err(ValidationError::new(
                    "delay_seconds",
                    "must be a whole number of seconds from 0 to 31536000",
                ))
            }
        };
        Ok(NewTransaction {
            transaction_id,
            email,
            name,
            survey,
            locale,
            properties,
            delay_seconds,
        })
    }
}

/// An optional string field of a JSON object: `null`, blank or absent is none; trimmed.
pub fn opt_string(
    obj: &serde_json::Map<String, Value>,
    field: &str,
) -> Result<Option<String>, ValidationError> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim().to_string()).filter(|s| !s.is_empty())),
        Some(_) => Err(ValidationError::new(field, "must be a string")),
    }
}
