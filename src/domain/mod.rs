//! Domain rules of npsd: parsing at the boundary and the NPS arithmetic.
//! Nothing here knows about actix or diesel, so all of it is unit-testable.
pub mod bot;
pub mod clock;
pub mod email;
pub mod nps;
pub mod score;
pub mod survey;
pub mod token;
pub mod transaction;

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
