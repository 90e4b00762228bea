//! Suppressions: addresses that no survey may email again, whatever the survey.
use super::token::hash_secret;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// How a suppression row's hash was made (its `hash_kind` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashKind {
    /// HMAC-SHA256 under the database's `suppression_key`: every row made or seen since.
    Keyed,
    /// A plain SHA-256, as before the key existed. Such a row is re-keyed the next time its
    /// address is seen (checked, suppressed again, erased); an address erased before the upgrade
    /// cannot be re-keyed without it, so these rows are checked under both hashes until then.
    Plain,
}

impl HashKind {
    pub fn as_str(self) -> &'static str {
        match self {
            HashKind::Keyed => "hmac-sha256",
            HashKind::Plain => "sha256",
        }
    }
}

/// How a suppressed address is found without keeping it: the HMAC-SHA256 of its lower-cased
/// form under a secret of the installation (`app_secrets.suppression_key`, made by the
/// migration that introduced it). Unlike a plain hash, it cannot be reversed by hashing a list
/// of likely addresses without that secret, wherever a hash shows up (a backup of the table
/// alone, an export, a list's page cursor).
pub fn keyed_hash(key: &str, email_key: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("HMAC takes any key");
    mac.update(email_key.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// The plain SHA-256 that rows made before the key existed carry ([`HashKind::Plain`]).
pub fn plain_hash(email_key: &str) -> String {
    hash_secret(email_key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_keyed_hash_depends_on_the_key_and_is_not_the_plain_one() {
        let a = keyed_hash("key-a", "ann@example.com");
        assert_eq!(a.len(), 64);
        assert_eq!(a, keyed_hash("key-a", "ann@example.com"));
        assert_ne!(a, keyed_hash("key-b", "ann@example.com"));
        assert_ne!(a, plain_hash("ann@example.com"));
    }
}
