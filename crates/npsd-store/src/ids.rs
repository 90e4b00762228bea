//! Identities as types: a survey's id cannot be passed where an invitation's or a response's is
//! wanted, and a function's signature says which it takes. Stored as TEXT (UUIDv7 strings, see
//! [`crate::new_id`]; ids written by older versions or imported keep their text).
//!
//! They are defined in the store, beside the state enums, for the same reason: diesel's
//! `ToSql`/`FromSql` can only be implemented beside the type (`state_sql` maps them to TEXT).
use std::fmt;

macro_rules! id_type {
    ($($(#[$meta:meta])* $name:ident),+ $(,)?) => {$(
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
        pub struct $name(String);

        impl $name {
            /// A new id, time-ordered.
            pub fn generate() -> $name {
                $name(crate::new_id())
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> $name {
                $name(s)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> $name {
                $name(s.to_string())
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::convert::Infallible;

            fn from_str(s: &str) -> Result<$name, std::convert::Infallible> {
                Ok($name(s.to_string()))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }
    )+};
}

id_type!(
    /// A survey's id (not its slug, which people choose and may change).
    SurveyId,
    /// An invitation's id: one transaction's survey email.
    InvitationId,
    /// A response's id: one answer, by email link, on a page, through the API or imported.
    ResponseId,
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_is_its_text() {
        let id = SurveyId::generate();
        assert_eq!(id.as_str().len(), 36);
        assert_eq!(id.to_string(), id.as_str());
        assert_eq!(id.as_str().parse::<SurveyId>().unwrap(), id);
        let id = ResponseId::from("b");
        assert!(id == "b");
        assert_eq!(String::from(InvitationId::from("c")), "c");
    }
}
