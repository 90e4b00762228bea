//! A transaction posted by the shop: parsed once at the boundary into a checked value.
use super::email::EmailAddress;
use super::survey::{parse_locale, parse_slug, DEFAULT_SLUG, MAX_DELAY_SECONDS};
use super::ValidationError;
use serde_json::Value;

pub const MAX_PROPERTIES: usize = 50;
pub const MAX_BATCH: usize = 1000;

#[derive(Debug, Clone, PartialEq)]
pub struct NewTransaction {
    pub transaction_id: String,
    pub email: EmailAddress,
    pub name: Option<String>,
    pub survey: String,
    pub locale: Option<String>,
    /// Segment properties (plan, country...), values as text, sorted by name.
    pub properties: Vec<(String, String)>,
    /// Overrides the survey's send delay.
    pub delay_seconds: Option<i64>,
}

pub fn opt_string(
    obj: &serde_json::Map<String, Value>,
    field: &str,
) -> Result<Option<String>, ValidationError> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim().to_string()).filter(|s| !s.is_empty())),
        Some(_) => Err(ValidationError::new(field, "must be a string")),
    }
}

impl NewTransaction {
    pub fn parse(value: &Value) -> Result<NewTransaction, ValidationError> {
        super::reject_nul(value)?;
        let obj = value
            .as_object()
            .ok_or_else(|| ValidationError::new("body", "must be a JSON object"))?;

        let transaction_id = match obj.get("transaction_id") {
            Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
            // Only integers that JSON parsing kept exact: anything that went through a float
            // (1e2, 100.0, 18446744073709551616) could collide with another id.
            Some(Value::Number(n)) if n.is_i64() || n.is_u64() => n.to_string(),
            Some(Value::Number(_)) => {
                return Err(ValidationError::new(
                    "transaction_id",
                    "must be a string or a whole number from -9223372036854775808 to 18446744073709551615; send larger or fractional ids as strings",
                ))
            }
            None | Some(Value::Null) => {
                return Err(ValidationError::new("transaction_id", "is required"))
            }
            Some(Value::String(_)) => {
                return Err(ValidationError::new("transaction_id", "must not be empty"))
            }
            Some(_) => return Err(ValidationError::new("transaction_id", "must be a string")),
        };
        if transaction_id.chars().count() > 200 || transaction_id.chars().any(char::is_control) {
            return Err(ValidationError::new(
                "transaction_id",
                "must be at most 200 printable characters",
            ));
        }

        let email = match obj.get("email") {
            None | Some(Value::Null) => return Err(ValidationError::new("email", "is required")),
            Some(Value::String(s)) => EmailAddress::parse("email", s)?,
            Some(_) => return Err(ValidationError::new("email", "must be a string")),
        };

        let name = super::one_line("name", opt_string(obj, "name")?, 200)?;

        let survey = match opt_string(obj, "survey")? {
            Some(s) => parse_slug("survey", &s)?,
            None => DEFAULT_SLUG.to_string(),
        };
        let locale = opt_string(obj, "locale")?
            .map(|l| parse_locale("locale", &l))
            .transpose()?;

        let properties = match obj.get("properties") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Object(map)) => parse_properties(map)?,
            Some(_) => {
                return Err(ValidationError::new(
                    "properties",
                    "must be an object of names to values",
                ))
            }
        };

        let delay_seconds = match obj.get("delay_seconds") {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => match n.as_i64() {
                Some(d) if (0..=MAX_DELAY_SECONDS).contains(&d) => Some(d),
                _ => {
                    return Err(ValidationError::new(
                        "delay_seconds",
                        "must be a whole number of seconds from 0 to 31536000",
                    ))
                }
            },
            Some(_) => return Err(ValidationError::new("delay_seconds", "must be a number")),
        };

        Ok(NewTransaction {
            transaction_id,
            email,
            name,
            survey,
            locale,
            properties,
            delay_seconds,
        })
    }
}

pub fn parse_properties(
    map: &serde_json::Map<String, Value>,
) -> Result<Vec<(String, String)>, ValidationError> {
    if map.len() > MAX_PROPERTIES {
        return Err(ValidationError::new(
            "properties",
            format!("must have at most {MAX_PROPERTIES} entries"),
        ));
    }
    let mut out = Vec::with_capacity(map.len());
    for (key, value) in map {
        let field = format!("properties.{key}");
        let key_ok = (1..=64).contains(&key.chars().count()) && !key.chars().any(char::is_control);
        if !key_ok {
            return Err(ValidationError::new(
                "properties",
                "names must be 1 to 64 characters",
            ));
        }
        let text = match value {
            Value::Null => continue,
            Value::String(s) => s.clone(),
            Value::Bool(b) => b.to_string(),
            Value::Number(n) => n.to_string(),
            _ => {
                return Err(ValidationError::new(
                    field,
                    "must be a string, number or boolean",
                ))
            }
        };
        if text.chars().count() > 500 {
            return Err(ValidationError::new(
                field,
                "must be at most 500 characters",
            ));
        }
        out.push((key.clone(), text));
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_the_full_form() {
        let t = NewTransaction::parse(&json!({
            "transaction_id": "order-1001", "email": "ann@example.com", "name": "Ann",
            "survey": "default", "locale": "en", "properties": {"plan": "pro", "country": "DE", "seats": 3},
            "delay_seconds": 0
        }))
        .unwrap();
        assert_eq!(t.transaction_id, "order-1001");
        assert_eq!(
            t.properties,
            vec![
                ("country".into(), "DE".into()),
                ("plan".into(), "pro".into()),
                ("seats".into(), "3".into())
            ]
        );
        assert_eq!(t.delay_seconds, Some(0));
    }

    #[test]
    fn only_id_and_email_are_required() {
        let t = NewTransaction::parse(&json!({"transaction_id": "1", "email": "a@b.co"})).unwrap();
        assert_eq!(t.survey, "default");
        assert_eq!(t.name, None);
    }

    #[test]
    fn errors_name_the_field() {
        let field = |v: Value| NewTransaction::parse(&v).unwrap_err().field;
        assert_eq!(field(json!({"email": "a@b.co"})), "transaction_id");
        assert_eq!(field(json!({"transaction_id": "1"})), "email");
        assert_eq!(
            field(json!({"transaction_id": "1", "email": "nope"})),
            "email"
        );
        assert_eq!(
            field(json!({"transaction_id": "1", "email": "a@b.co", "delay_seconds": -5})),
            "delay_seconds"
        );
        assert_eq!(
            field(json!({"transaction_id": "1", "email": "a@b.co", "properties": [1]})),
            "properties"
        );
        assert_eq!(
            field(json!({"transaction_id": "1", "email": "a@b.co", "properties": {"a": {"b": 1}}})),
            "properties.a"
        );
        assert_eq!(field(json!([1, 2])), "body");
        assert_eq!(
            field(
                json!({"transaction_id": "1", "email": "a@b.co", "properties": {"plan": "pro\0"}})
            ),
            "properties.plan"
        );
        assert_eq!(
            field(json!({"transaction_id": "1", "email": "a@b.co", "name": "A\0"})),
            "name"
        );
    }

    #[test]
    fn numeric_ids_must_be_exact_integers() {
        let id = |v: Value| NewTransaction::parse(&json!({"transaction_id": v, "email": "a@b.co"}));
        assert_eq!(id(json!(42)).unwrap().transaction_id, "42");
        assert_eq!(
            id(json!(18446744073709551615u64)).unwrap().transaction_id,
            "18446744073709551615"
        );
        let big: Value = serde_json::from_str("18446744073709551616").unwrap();
        for bad in [big, json!(1e2), json!(100.0), json!(1.5)] {
            assert_eq!(id(bad).unwrap_err().field, "transaction_id");
        }
    }
}
