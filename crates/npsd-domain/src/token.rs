use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// What a link token may do. A survey email carries one token of each purpose: whoever sees
/// only its unsubscribe link (a mailbox provider following `List-Unsubscribe`, a gateway) cannot
/// answer the survey with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkPurpose {
    /// The score links and the comment form; also unsubscribes (whoever can answer may stop).
    Answer,
    /// Only the unsubscribe page.
    Unsubscribe,
}

impl LinkPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkPurpose::Answer => "answer",
            LinkPurpose::Unsubscribe => "unsubscribe",
        }
    }
}

/// A secret that goes out in links (survey, unsubscribe) or as an API key.
/// 256 random bits; only its SHA-256 hash is ever stored.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    pub fn generate() -> Token {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        Token(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
    }

    /// A token as it came back in a URL. Anything not shaped like one of ours cannot match a hash,
    /// so it is refused before touching the database.
    pub fn from_url(raw: &str) -> Option<Token> {
        let ok = (20..=128).contains(&raw.len())
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        ok.then(|| Token(raw.to_string()))
    }

    pub fn from_secret(raw: &str) -> Token {
        Token(raw.to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn hash(&self) -> String {
        hash_secret(&self.0)
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(***)")
    }
}

/// A new API key: `npsd_` and 256 random bits.
pub fn new_api_key() -> String {
    format!("npsd_{}", Token::generate().as_str())
}

/// What the API shows of a key so people can tell keys apart: its first characters.
pub fn key_prefix(key: &str) -> String {
    key.chars().take(12).collect()
}

pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_url_safe() {
        let a = Token::generate();
        let b = Token::generate();
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), 43);
        assert!(Token::from_url(a.as_str()).is_some());
        assert_eq!(a.hash().len(), 64);
        assert_ne!(a.hash(), a.as_str());
        assert!(Token::from_url("../../etc/passwd").is_none());
        assert!(Token::from_url("short").is_none());
    }
}
