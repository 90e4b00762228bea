//! Suppressions: addresses that no survey may email again, whatever the survey.
use super::email::EmailAddress;
use super::token::hash_secret;
use super::ValidationError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SuppressionReason {
    /// The address bounced.
    Bounce,
    /// The recipient marked an email as spam.
    Complaint,
    /// Someone asked for it.
    Manual,
}

impl SuppressionReason {
    pub fn as_str(self) -> &'static str {
        match self {
            SuppressionReason::Bounce => "bounce",
            SuppressionReason::Complaint => "complaint",
            SuppressionReason::Manual => "manual",
        }
    }

    pub fn parse(field: &str, raw: &str) -> Result<SuppressionReason, ValidationError> {
        match raw.trim() {
            "bounce" => Ok(SuppressionReason::Bounce),
            "complaint" => Ok(SuppressionReason::Complaint),
            "manual" => Ok(SuppressionReason::Manual),
            other => Err(ValidationError::new(
                field,
                format!("'{other}' is not a reason; use bounce, complaint or manual"),
            )),
        }
    }
}

/// How a suppressed address is found without keeping it: the SHA-256 of its lower-cased form.
pub fn email_hash(email: &EmailAddress) -> String {
    hash_key(&email.key())
}

/// The same, from an address already lower-cased (an invitation's `email_key`).
pub fn hash_key(email_key: &str) -> String {
    hash_secret(email_key)
}
