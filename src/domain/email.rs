use super::ValidationError;
use std::fmt;

/// An email address that a survey can be sent to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn parse(field: &str, raw: &str) -> Result<EmailAddress, ValidationError> {
        let value = raw.trim();
        let invalid = || ValidationError::new(field, "must be a valid email address");
        if value.is_empty() {
            return Err(ValidationError::new(field, "is required"));
        }
        if value.len() > 254 || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid());
        }
        let (local, domain) = value.rsplit_once('@').ok_or_else(invalid)?;
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && domain
                .split('.')
                .all(|label| !label.is_empty() && !label.starts_with('-') && !label.ends_with('-'));
        if local.is_empty() || local.len() > 64 || !domain_ok {
            return Err(invalid());
        }
        // The address must also be one the mailer can put on an envelope.
        value.parse::<lettre::Address>().map_err(|_| invalid())?;
        Ok(EmailAddress(value.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form used to match the same person across transactions (throttle, unsubscribe).
    pub fn key(&self) -> String {
        self.0.to_lowercase()
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// "ann@example.com" -> "a**@example.com", for pages and logs that must not show the whole address.
pub fn mask(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!(
                "{first}{}@{domain}",
                "*".repeat(local.chars().count().saturating_sub(1).min(6))
            )
        }
        None => "***".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_addresses() {
        for ok in [
            "ann@example.com",
            " Bob.Smith+nps@mail.example.co.uk ",
            "x@a.io",
        ] {
            assert!(EmailAddress::parse("email", ok).is_ok(), "{ok}");
        }
        assert_eq!(
            EmailAddress::parse("email", "Ann@Example.COM")
                .unwrap()
                .key(),
            "ann@example.com"
        );
    }

    #[test]
    fn refuses_what_cannot_be_mailed() {
        for bad in [
            "",
            "ann",
            "ann@",
            "@example.com",
            "ann@localhost",
            "a b@example.com",
            "ann@exa..mple.com",
            "ann@example.com\r\nBcc: x@y.z",
        ] {
            assert!(EmailAddress::parse("email", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn masks_the_local_part() {
        assert_eq!(mask("ann@example.com"), "a**@example.com");
    }
}
