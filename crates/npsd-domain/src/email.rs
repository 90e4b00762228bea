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
        // A host name the mail system can look up: dot-separated labels of letters, digits and
        // hyphens (or non-ASCII letters of an international name), a top-level label that is not
        // a number. Address literals (`ann@[127.0.0.1]`) and bare hosts are refused: public mail
        // servers do not accept them, so the email could never arrive.
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = labels.len() >= 2
            && labels.iter().all(|label| {
                (1..=63).contains(&label.len())
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label
                        .chars()
                        .all(|c| c.is_alphanumeric() || c == '-' || !c.is_ascii())
            })
            && !labels
                .last()
                .is_some_and(|tld| tld.chars().all(|c| c.is_ascii_digit()));
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

/// Masks every address in a text (an SMTP server's reply often quotes the recipient), for logs.
pub fn redact_addresses(text: &str) -> String {
    let is_addr_char = |c: char| c.is_alphanumeric() || "._%+-!#$&'*/=?^`{|}~".contains(c);
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('@') {
        let start = rest[..at]
            .char_indices()
            .rev()
            .take_while(|(_, c)| is_addr_char(*c))
            .last()
            .map_or(at, |(i, _)| i);
        let end = rest[at + 1..]
            .char_indices()
            .take_while(|(_, c)| c.is_alphanumeric() || *c == '.' || *c == '-')
            .last()
            .map_or(at + 1, |(i, c)| at + 1 + i + c.len_utf8());
        out.push_str(&rest[..start]);
        if start < at {
            out.push_str(&mask(&rest[start..end]));
        } else {
            out.push_str(&rest[start..end]);
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// "Support <help@shop.example>" -> "help@shop.example": what a mailto link needs.
pub fn reply_address(reply_to: &str) -> String {
    reply_to
        .parse::<lettre::message::Mailbox>()
        .map(|m| m.email.to_string())
        .unwrap_or_else(|_| reply_to.to_string())
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
            "ann@[127.0.0.1]",
            "ann@127.0.0.1",
            "ann@exa_mple.com",
            "ann\0@example.com",
            "\"ann smith\"@example.com",
        ] {
            assert!(EmailAddress::parse("email", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn masks_the_local_part() {
        assert_eq!(mask("ann@example.com"), "a**@example.com");
    }

    #[test]
    fn masks_addresses_inside_a_reply() {
        assert_eq!(
            redact_addresses("550 5.1.1 <ann.smith@example.com>: Recipient address rejected"),
            "550 5.1.1 <a******@example.com>: Recipient address rejected"
        );
        assert_eq!(redact_addresses("no address @ here"), "no address @ here");
    }
}
