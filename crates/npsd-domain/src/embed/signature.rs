//! How a shop's server vouches for who is answering the embedded form. It signs, with the
//! survey's embed secret, every identity field the page sends (email, customer id, name) and
//! the moment it signed; npsd marks an answer verified only when that signature covers exactly
//! the answer's identity fields and is recent. A signature of one field therefore never vouches
//! for another one sent beside it, and a signature copied out of a page stops working.
//!
//! The signed message is the lines
//!
//! ```text
//! npsd-embed-v1
//! t=<issue time, Unix seconds>
//! email=<email or nothing>
//! customer_id=<customer id or nothing>
//! name=<name or nothing>
//! ```
//!
//! joined by `\n` (no newline after the last). Every line names its field and none of the
//! values may hold a line break (the parsers refuse control characters), so no two identities
//! give the same message. The page sends `t=<issue time>,v1=<hex HMAC-SHA256 of the message>`.
use super::super::ValidationError;
use chrono::NaiveDateTime;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The first line of the signed message, naming the format.
pub const MESSAGE_VERSION: &str = "npsd-embed-v1";
/// A signature issued this far ahead of npsd's clock still counts: the shop's server clock may
/// run a little ahead.
pub const CLOCK_SKEW_SECONDS: i64 = 300;
/// The longest signature the endpoint reads (the old bare hex format included).
pub const MAX_SIGNATURE_CHARS: usize = 128;

/// The identity fields of an answer, as the page sent them (trimmed; absent or empty is None).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Identity<'a> {
    pub email: Option<&'a str>,
    pub customer_id: Option<&'a str>,
    pub name: Option<&'a str>,
}

impl Identity<'_> {
    /// The message a shop signs for this identity at `issued_at` (Unix seconds).
    pub fn message(&self, issued_at: i64) -> String {
        format!(
            "{MESSAGE_VERSION}\nt={issued_at}\nemail={}\ncustomer_id={}\nname={}",
            self.email.unwrap_or(""),
            self.customer_id.unwrap_or(""),
            self.name.unwrap_or("")
        )
    }
}

/// A page's `signature`, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signature {
    /// `t=<Unix seconds>,v1=<hex HMAC-SHA256>`.
    V1 { issued_at: i64, mac: Vec<u8> },
    /// The bare hex HMAC of one field that npsd took before signatures named every field and
    /// their time. It is still read (the answer counts), but it verifies nothing.
    Legacy,
}

/// Why a signature did not verify an answer: for the log, so a shop's developer can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unverified {
    /// The page sent no signature.
    Unsigned,
    /// The survey has no embed secret.
    NoSecret,
    /// The old format, without issue time and field names.
    OldFormat,
    /// Neither an email nor a customer id: nothing to vouch for.
    NoIdentity,
    /// Not the HMAC of this answer's identity fields and issue time under the survey's secret:
    /// another secret, another identity, a field the shop did not sign, or a changed time.
    Mismatch,
    /// Issued longer ago than the allowed age.
    Expired,
    /// Issued further ahead of npsd's clock than [`CLOCK_SKEW_SECONDS`].
    IssuedInTheFuture,
}

impl Unverified {
    pub fn as_str(self) -> &'static str {
        match self {
            Unverified::Unsigned => "no signature",
            Unverified::NoSecret => "the survey has no embed secret",
            Unverified::OldFormat => "old signature format (a bare hex HMAC)",
            Unverified::NoIdentity => "no email or customer id to verify",
            Unverified::Mismatch => "the signature does not match the identity fields sent",
            Unverified::Expired => "the signature has expired",
            Unverified::IssuedInTheFuture => "the signature's issue time is in the future",
        }
    }
}

fn invalid() -> ValidationError {
    ValidationError::new(
        "signature",
        "must be \"t=<Unix seconds>,v1=<hex HMAC-SHA256>\" as the shop's server makes it",
    )
}

impl Signature {
    /// Reads `t=…,v1=…`, or the old bare hex; anything else names the field.
    pub fn parse(raw: &str) -> Result<Signature, ValidationError> {
        let raw = raw.trim();
        if raw.chars().count() > MAX_SIGNATURE_CHARS {
            return Err(invalid());
        }
        if !raw.is_empty() && raw.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(Signature::Legacy);
        }
        let (time, mac) = raw
            .strip_prefix("t=")
            .and_then(|rest| rest.split_once(",v1="))
            .ok_or_else(invalid)?;
        // Digits only, without a sign or leading zeros: one time has one spelling.
        let canonical = !time.is_empty()
            && time.len() <= 12
            && time.bytes().all(|b| b.is_ascii_digit())
            && (time == "0" || !time.starts_with('0'));
        let issued_at = time
            .parse::<i64>()
            .ok()
            .filter(|_| canonical)
            .ok_or_else(invalid)?;
        let mac = hex::decode(mac)
            .ok()
            .filter(|m| m.len() == 32)
            .ok_or_else(invalid)?;
        Ok(Signature::V1 { issued_at, mac })
    }

    /// Whether this signature vouches for exactly `identity`, made with `secret` within
    /// `max_age` of `now` (UTC). The HMAC is compared in constant time.
    pub fn verify(
        &self,
        secret: &str,
        identity: &Identity<'_>,
        now: NaiveDateTime,
        max_age: chrono::Duration,
    ) -> Result<(), Unverified> {
        let Signature::V1 { issued_at, mac } = self else {
            return Err(Unverified::OldFormat);
        };
        if identity.email.is_none() && identity.customer_id.is_none() {
            return Err(Unverified::NoIdentity);
        }
        let mut hmac = new_mac(secret);
        hmac.update(identity.message(*issued_at).as_bytes());
        hmac.verify_slice(mac).map_err(|_| Unverified::Mismatch)?;
        let now = now.and_utc().timestamp();
        if *issued_at > now.saturating_add(CLOCK_SKEW_SECONDS) {
            return Err(Unverified::IssuedInTheFuture);
        }
        if now.saturating_sub(*issued_at) > max_age.num_seconds() {
            return Err(Unverified::Expired);
        }
        Ok(())
    }
}

fn new_mac(secret: &str) -> Hmac<Sha256> {
    Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key")
}

/// What a shop's server does: the `signature` value for `identity` at `issued_at`.
pub fn sign(secret: &str, identity: &Identity<'_>, issued_at: i64) -> String {
    let mut mac = new_mac(secret);
    mac.update(identity.message(issued_at).as_bytes());
    format!(
        "t={issued_at},v1={}",
        hex::encode(mac.finalize().into_bytes())
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Duration};

    const ANN: Identity<'static> = Identity {
        email: Some("ann@example.com"),
        customer_id: Some("42"),
        name: Some("Ann Lee"),
    };
    const T: i64 = 1_780_304_400; // 2026-06-01 09:00 UTC

    fn at(seconds: i64) -> NaiveDateTime {
        DateTime::from_timestamp(seconds, 0).unwrap().naive_utc()
    }

    fn check(sig: &str, identity: &Identity<'_>, now: i64) -> Result<(), Unverified> {
        Signature::parse(sig)
            .unwrap()
            .verify("s3cret", identity, at(now), Duration::hours(24))
    }

    #[test]
    fn the_message_names_every_field_and_the_time() {
        assert_eq!(
            ANN.message(T),
            "npsd-embed-v1\nt=1780304400\nemail=ann@example.com\ncustomer_id=42\nname=Ann Lee"
        );
        let only_id = Identity {
            customer_id: Some("42"),
            ..Identity::default()
        };
        assert_eq!(
            only_id.message(T),
            "npsd-embed-v1\nt=1780304400\nemail=\ncustomer_id=42\nname="
        );
        // Moving text between fields changes the message.
        let shifted = Identity {
            email: Some("ann@example.com\ncustomer_id=42"),
            customer_id: None,
            name: Some("Ann Lee"),
        };
        assert_ne!(shifted.message(T), ANN.message(T));
    }

    /// The value the docs' Python, Node and openssl snippets print for these inputs.
    #[test]
    fn the_documented_snippets_agree() {
        assert_eq!(
            sign("s3cret", &ANN, T),
            "t=1780304400,v1=f40c7b5fa91caf18971a2bc1ea282ee4ecc74a41afed085798813f58b510209d"
        );
    }

    #[test]
    fn a_signature_verifies_exactly_what_it_signed_while_it_is_fresh() {
        let sig = sign("s3cret", &ANN, T);
        assert_eq!(check(&sig, &ANN, T), Ok(()));
        assert_eq!(check(&sig, &ANN, T + 24 * 3600), Ok(()));
        assert_eq!(
            check(&sig, &ANN, T + 24 * 3600 + 1),
            Err(Unverified::Expired)
        );
        assert_eq!(check(&sig, &ANN, T - CLOCK_SKEW_SECONDS), Ok(()));
        assert_eq!(
            check(&sig, &ANN, T - CLOCK_SKEW_SECONDS - 1),
            Err(Unverified::IssuedInTheFuture)
        );
        // Any field added, changed or left out: not this signature's identity.
        for other in [
            Identity {
                email: Some("eve@example.com"),
                ..ANN
            },
            Identity {
                customer_id: None,
                ..ANN
            },
            Identity { name: None, ..ANN },
            Identity {
                name: Some("Eve"),
                ..ANN
            },
        ] {
            assert_eq!(check(&sig, &other, T), Err(Unverified::Mismatch));
        }
        let own_id = Identity {
            customer_id: Some("eve"),
            ..Identity::default()
        };
        let sig = sign("s3cret", &own_id, T);
        let with_victim = Identity {
            email: Some("ann@example.com"),
            ..own_id
        };
        assert_eq!(check(&sig, &own_id, T), Ok(()));
        assert_eq!(check(&sig, &with_victim, T), Err(Unverified::Mismatch));
        // Another secret; another time with the same MAC.
        let forged = sign("guess", &ANN, T);
        assert_eq!(check(&forged, &ANN, T), Err(Unverified::Mismatch));
        let moved = sign("s3cret", &ANN, T).replace("t=1780304400", "t=1780390800");
        assert_eq!(check(&moved, &ANN, T + 86_400), Err(Unverified::Mismatch));
        // Nothing to vouch for.
        let nobody = Identity {
            name: Some("Ann"),
            ..Identity::default()
        };
        let sig = sign("s3cret", &nobody, T);
        assert_eq!(check(&sig, &nobody, T), Err(Unverified::NoIdentity));
    }

    #[test]
    fn signatures_parse_strictly_and_old_ones_verify_nothing() {
        let sig = sign("s3cret", &ANN, T);
        assert!(matches!(
            Signature::parse(&sig.to_uppercase().replace("T=", "t=").replace("V1=", "v1=")),
            Ok(Signature::V1 { issued_at: T, .. })
        ));
        let old = Signature::parse(&"ab".repeat(32)).unwrap();
        assert_eq!(old, Signature::Legacy);
        assert_eq!(
            old.verify("s3cret", &ANN, at(T), Duration::hours(24)),
            Err(Unverified::OldFormat)
        );
        let mac = "ab".repeat(32);
        for bad in [
            "xyz".to_string(),
            String::new(),
            format!("t=,v1={mac}"),
            format!("t=-5,v1={mac}"),
            format!("t=+5,v1={mac}"),
            format!("t=0123,v1={mac}"),
            format!("t=1e9,v1={mac}"),
            format!("t=1,v1={}", "ab".repeat(31)),
            format!("t=1,v1={mac}x"),
            format!("v1={mac},t=1"),
            format!("t=1, v1={mac}"),
            "a".repeat(MAX_SIGNATURE_CHARS + 1),
        ] {
            assert_eq!(
                Signature::parse(&bad).unwrap_err().field,
                "signature",
                "{bad}"
            );
        }
    }
}
