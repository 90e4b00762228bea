//! Domain rules of npsd: parsing at the boundary and the NPS arithmetic.
//! Nothing here knows about actix or diesel, so all of it is unit-testable.
pub mod access;
pub mod bot;
pub mod clock;
pub mod digest;
pub mod email;
pub mod embed;
pub mod insight;
pub mod nps;
pub mod period;
pub mod properties;
pub mod score;
pub mod suppression;
pub mod survey;
pub mod token;
pub mod transaction;
pub mod user;
pub mod zone;

/// A number as a request gave it: a whole number (that fits 64 bits), or a number that is not one
/// (a fraction, one that went through a float). The checks refuse the latter with their own words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WholeInput {
    Whole(i64),
    NotWhole,
}

/// A value from outside was not acceptable. `field` names it as the client sent it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ValidationError {
    pub field: String,
    pub message: String,
}

impl ValidationError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        ValidationError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Refuses a NUL character (U+0000) anywhere in a JSON value, naming the field that holds it.
/// PostgreSQL cannot store NUL in text, and no person types one: both backends refuse it alike.
pub fn reject_nul(value: &serde_json::Value) -> Result<(), ValidationError> {
    fn walk(value: &serde_json::Value, path: &str) -> Option<String> {
        let join = |key: &str| {
            if path.is_empty() {
                key.to_string()
            } else {
                format!("{path}.{key}")
            }
        };
        match value {
            serde_json::Value::String(s) if s.contains('\0') => Some(path.to_string()),
            serde_json::Value::Array(items) => items
                .iter()
                .enumerate()
                .find_map(|(i, v)| walk(v, &join(&i.to_string()))),
            serde_json::Value::Object(map) => map.iter().find_map(|(k, v)| {
                if k.contains('\0') {
                    Some(join(&k.replace('\0', "\\u0000")))
                } else {
                    walk(v, &join(k))
                }
            }),
            _ => None,
        }
    }
    match walk(value, "") {
        None => Ok(()),
        Some(field) => Err(ValidationError::new(
            if field.is_empty() {
                "body".to_string()
            } else {
                field
            },
            "must not contain the NUL character (U+0000)",
        )),
    }
}

/// An optional one-line text field: at most `max` characters, no control characters.
pub fn one_line(
    field: &str,
    v: Option<String>,
    max: usize,
) -> Result<Option<String>, ValidationError> {
    match v {
        Some(s) if s.chars().count() > max || s.chars().any(char::is_control) => {
            Err(ValidationError::new(
                field,
                format!("must be at most {max} characters on one line"),
            ))
        }
        other => Ok(other),
    }
}
