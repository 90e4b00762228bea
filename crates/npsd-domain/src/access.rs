//! Who may do what on the API: the scopes an API key carries.
use super::ValidationError;
use std::collections::BTreeSet;

/// What a key may do. `admin` includes the other two.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    /// Post transactions.
    Ingest,
    /// Read surveys, NPS, comments and suppressions.
    Read,
    /// Everything: change surveys, manage keys, suppressions and personal data.
    Admin,
}

impl Scope {
    pub const ALL: [Scope; 3] = [Scope::Ingest, Scope::Read, Scope::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Ingest => "ingest",
            Scope::Read => "read",
            Scope::Admin => "admin",
        }
    }

    pub fn parse(raw: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|s| s.as_str() == raw)
    }
}

/// A key's set of scopes, never empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scopes(BTreeSet<Scope>);

impl Scopes {
    pub fn all() -> Scopes {
        Scopes(Scope::ALL.into_iter().collect())
    }

    /// From the API: a non-empty list of scope names.
    pub fn parse(field: &str, names: &[String]) -> Result<Scopes, ValidationError> {
        let mut set = BTreeSet::new();
        for name in names {
            let scope = Scope::parse(name.trim()).ok_or_else(|| {
                ValidationError::new(
                    field,
                    format!("'{name}' is not a scope; use ingest, read or admin"),
                )
            })?;
            set.insert(scope);
        }
        if set.is_empty() {
            return Err(ValidationError::new(
                field,
                "must name at least one of ingest, read, admin",
            ));
        }
        Ok(Scopes(set))
    }

    /// As stored: comma-separated names; `*` (keys made before scopes existed) is every scope.
    pub fn from_stored(raw: &str) -> Scopes {
        if raw.trim() == "*" {
            return Scopes::all();
        }
        let set: BTreeSet<Scope> = raw
            .split(',')
            .filter_map(|s| Scope::parse(s.trim()))
            .collect();
        Scopes(set)
    }

    pub fn to_stored(&self) -> String {
        self.names().join(",")
    }

    pub fn names(&self) -> Vec<&'static str> {
        self.0.iter().map(|s| s.as_str()).collect()
    }

    /// Whether a request needing `scope` is allowed; admin allows everything.
    pub fn allows(&self, scope: Scope) -> bool {
        self.0.contains(&scope) || self.0.contains(&Scope::Admin)
    }
}

/// An API key's name: 1 to 100 characters on one line.
pub fn parse_key_name(raw: &str) -> Result<String, ValidationError> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(ValidationError::new(
            "name",
            "must be 1 to 100 characters on one line",
        ));
    }
    Ok(name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_allows_everything_and_others_only_themselves() {
        let ingest = Scopes::parse("scopes", &["ingest".into()]).unwrap();
        assert!(ingest.allows(Scope::Ingest));
        assert!(!ingest.allows(Scope::Read));
        assert!(!ingest.allows(Scope::Admin));
        let admin = Scopes::parse("scopes", &["admin".into()]).unwrap();
        assert!(Scope::ALL.iter().all(|s| admin.allows(*s)));
        assert_eq!(Scopes::from_stored("*"), Scopes::all());
        assert_eq!(Scopes::from_stored(&ingest.to_stored()), ingest);
    }

    #[test]
    fn unknown_or_no_scopes_are_refused() {
        assert!(Scopes::parse("scopes", &[]).is_err());
        assert!(Scopes::parse("scopes", &["root".into()]).is_err());
    }
}
