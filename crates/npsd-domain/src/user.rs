//! Dashboard users: roles, passwords (Argon2id, the password-hashing competition's winner, through
//! the RustCrypto `argon2` crate rather than anything hand-rolled), the rules a new password meets
//! and the working memory hashing needs.
use super::ValidationError;
use argon2::password_hash::{Output, ParamsString, PasswordHash, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use rand::RngCore;

/// What a user may do: a viewer reads; an admin also changes things (users, bot decisions).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Admin,
    Viewer,
}

impl Role {
    pub fn parse(field: &str, raw: &str) -> Result<Role, ValidationError> {
        match raw.trim() {
            "admin" => Ok(Role::Admin),
            "viewer" => Ok(Role::Viewer),
            _ => Err(ValidationError::new(field, "must be admin or viewer")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Viewer => "viewer",
        }
    }
}

/// Shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// Longest: hashing cost grows with length, and nobody types more.
pub const MAX_PASSWORD_CHARS: usize = 256;
/// The least `zxcvbn` score a new password needs: 3 means about 10^10 guesses, beyond an online
/// attacker and a long way for an offline one with the Argon2id hash (the score the `zxcvbn`
/// authors advise as the minimum).
const MIN_STRENGTH: zxcvbn::Score = zxcvbn::Score::Three;

/// A password a person chose. No composition rules (NIST SP 800-63B): at least 12 characters, not
/// only spaces, and not easy to guess: `zxcvbn` (Dropbox's estimator) finds common passwords,
/// words, names, dates, keyboard rows and repeats, and scores how many guesses the rest needs.
pub struct Password(String);

impl Password {
    pub fn parse(field: &str, raw: &str) -> Result<Password, ValidationError> {
        let n = raw.chars().count();
        if raw.trim().is_empty() {
            return Err(ValidationError::new(
                field,
                format!("must be at least {MIN_PASSWORD_CHARS} characters, not only spaces"),
            ));
        }
        if n < MIN_PASSWORD_CHARS {
            return Err(ValidationError::new(
                field,
                format!("must be at least {MIN_PASSWORD_CHARS} characters"),
            ));
        }
        if n > MAX_PASSWORD_CHARS {
            return Err(ValidationError::new(
                field,
                format!("must be at most {MAX_PASSWORD_CHARS} characters"),
            ));
        }
        let estimate = zxcvbn::zxcvbn(raw, &["npsd", "nps", "dashboard"]);
        if estimate.score() < MIN_STRENGTH {
            let hint = estimate
                .feedback()
                .and_then(|f| f.warning())
                .map(|w| format!(" ({w})"))
                .unwrap_or_default();
            return Err(ValidationError::new(
                field,
                format!(
                    "is too easy to guess{hint}: a few unusual words together make a strong one"
                ),
            ));
        }
        Ok(Password(raw.to_string()))
    }

    /// The Argon2id hash in PHC string form, with a fresh random salt.
    pub fn hash(&self) -> String {
        self.hash_in(&mut HashingMemory::default())
    }

    /// [`Password::hash`] in working memory the caller keeps (see [`HashingMemory`]).
    pub fn hash_in(&self, memory: &mut HashingMemory) -> String {
        let mut salt = [0u8; 16];
        rand::rng().fill_bytes(&mut salt);
        let salt = SaltString::encode_b64(&salt).expect("16 bytes make a valid salt");
        let params = Params::default();
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
        let mut salt_bytes = [0u8; 64];
        let salt_bytes = salt.decode_b64(&mut salt_bytes).expect("just encoded");
        let output = Output::init_with(Params::DEFAULT_OUTPUT_LEN, |out| {
            Ok(argon.hash_password_into_with_memory(
                self.0.as_bytes(),
                salt_bytes,
                out,
                memory.blocks(&params),
            )?)
        })
        .expect("hashing with default parameters succeeds");
        PasswordHash {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(&params).expect("default parameters"),
            salt: Some(salt.as_salt()),
            hash: Some(output),
        }
        .to_string()
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

/// Argon2's working memory (19 MiB with the default parameters), kept and used again. Hashing
/// allocates it otherwise on every sign-in; a few memories reused for every sign-in bound what
/// sign-ins take however many arrive (a freed 19 MiB block is not always given back to the
/// system, so allocating each time grew the process by 19 MiB per parallel attempt).
#[derive(Default)]
pub struct HashingMemory(Vec<Block>);

impl HashingMemory {
    /// Memory enough for `params`, allocated on first use.
    fn blocks(&mut self, params: &Params) -> &mut [Block] {
        let need = params.block_count();
        if self.0.len() < need {
            self.0.resize(need, Block::new());
        }
        &mut self.0[..need]
    }
}

/// Whether `password` matches a stored hash (constant time inside `argon2`).
pub fn verify_password(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// [`verify_password`] in working memory the caller keeps: the stored hash's own algorithm,
/// version and parameters, compared in constant time (`Output`'s equality).
pub fn verify_password_in(password: &str, stored: &str, memory: &mut HashingMemory) -> bool {
    let mut check = || -> argon2::password_hash::Result<bool> {
        let h = PasswordHash::new(stored)?;
        let (Some(salt), Some(expected)) = (h.salt, h.hash) else {
            return Ok(false);
        };
        let algorithm = Algorithm::try_from(h.algorithm)?;
        let version = h
            .version
            .map(Version::try_from)
            .transpose()?
            .unwrap_or_default();
        let params = Params::try_from(&h)?;
        let mut salt_bytes = [0u8; 64];
        let salt_bytes = salt.decode_b64(&mut salt_bytes)?;
        let argon = Argon2::new(algorithm, version, params.clone());
        let computed = Output::init_with(expected.len(), |out| {
            Ok(argon.hash_password_into_with_memory(
                password.as_bytes(),
                salt_bytes,
                out,
                memory.blocks(&params),
            )?)
        })?;
        Ok(computed == expected)
    };
    check().unwrap_or(false)
}

/// A hash to verify against when the user does not exist, so that an unknown address takes as
/// long as a wrong password (no telling which addresses have accounts).
pub fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| Password("decoy-password-never-matches".into()).hash())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_and_verify() {
        let p = Password::parse("password", "correct horse battery").unwrap();
        let h = p.hash();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &h));
        assert!(!verify_password("correct horse batterY", &h));
        assert!(!verify_password("x", "not a hash"));
        assert_ne!(h, p.hash(), "a fresh salt each time");
        assert!(Password::parse("password", "short").is_err());
    }

    #[test]
    fn reused_memory_hashes_and_verifies_like_the_crate() {
        let mut memory = HashingMemory::default();
        let p = Password::parse("password", "correct horse battery").unwrap();
        let mine = p.hash_in(&mut memory);
        let theirs = p.hash();
        for h in [&mine, &theirs] {
            assert!(verify_password("correct horse battery", h));
            assert!(verify_password_in("correct horse battery", h, &mut memory));
            assert!(!verify_password_in("correct horse batterY", h, &mut memory));
        }
        assert_eq!(
            mine.split('$').nth(3),
            theirs.split('$').nth(3),
            "same parameters"
        );
        assert!(!verify_password_in("x", "not a hash", &mut memory));
        assert!(!verify_password_in(
            "x",
            "$argon2id$v=19$m=8,t=1,p=1",
            &mut memory
        ));
    }

    #[test]
    fn weak_passwords_are_refused() {
        for weak in [
            "",
            "            ",
            "\t\t\t\t\t\t\t\t\t\t\t\t\t",
            "short pw",
            "password1234",
            "123456789012",
            "qwertyuiopasdf",
            "aaaaaaaaaaaaaaaa",
            "iloveyou2024!",
            "Password123!",
        ] {
            assert!(Password::parse("password", weak).is_err(), "{weak:?}");
        }
        let err = Password::parse("password", "password1234").err().unwrap();
        assert!(err.message.contains("too easy to guess"), "{}", err.message);
        for fine in [
            "correct horse battery",
            "plum-kettle-orbit-ferry",
            "Tq8#vW2m!pZr",
        ] {
            assert!(Password::parse("password", fine).is_ok(), "{fine:?}");
        }
    }

    #[test]
    fn roles_parse() {
        assert_eq!(Role::parse("role", "admin").unwrap(), Role::Admin);
        assert!(Role::parse("role", "owner").is_err());
    }
}
