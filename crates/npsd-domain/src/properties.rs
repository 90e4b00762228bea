//! Segment properties (plan, country...) as a transaction, a web answer or an import carries
//! them: at most 50, names of 1 to 64 characters, values stored as text of at most 500.
use super::ValidationError;
use serde_json::Value;

pub const MAX_PROPERTIES: usize = 50;

/// A property value as sent: text (numbers and booleans as their JSON text), `null` (left out),
/// or something that cannot be stored as text (a list, an object).
#[derive(Debug, Clone, PartialEq)]
pub enum PropertyInput {
    Null,
    Text(String),
    Invalid,
}

/// Checks segment properties (at most 50, names of 1 to 64 characters, values of at most 500)
/// and answers them sorted by name, `null` ones left out.
pub fn check_properties(
    entries: Vec<(String, PropertyInput)>,
) -> Result<Vec<(String, String)>, ValidationError> {
    if entries.len() > MAX_PROPERTIES {
        return Err(ValidationError::new(
            "properties",
            format!("must have at most {MAX_PROPERTIES} entries"),
        ));
    }
    let mut out = Vec::with_capacity(entries.len());
    for (key, value) in entries {
        let key_ok = (1..=64).contains(&key.chars().count()) && !key.chars().any(char::is_control);
        if !key_ok {
            return Err(ValidationError::new(
                "properties",
                "names must be 1 to 64 characters",
            ));
        }
        let field = || format!("properties.{key}");
        let text = match value {
            PropertyInput::Null => continue,
            PropertyInput::Text(s) => s,
            PropertyInput::Invalid => {
                return Err(ValidationError::new(
                    field(),
                    "must be a string, number or boolean",
                ))
            }
        };
        if text.chars().count() > 500 {
            return Err(ValidationError::new(
                field(),
                "must be at most 500 characters",
            ));
        }
        out.push((key, text));
    }
    out.sort();
    Ok(out)
}

/// A JSON property value as [`check_properties`] takes it (the Delighted API and the embedded
/// form pass their `properties` objects through).
pub fn property_input(value: &Value) -> PropertyInput {
    match value {
        Value::Null => PropertyInput::Null,
        Value::String(s) => PropertyInput::Text(s.clone()),
        Value::Bool(b) => PropertyInput::Text(b.to_string()),
        Value::Number(n) => PropertyInput::Text(n.to_string()),
        _ => PropertyInput::Invalid,
    }
}

/// Checks a JSON `properties` object passed through as it came (see [`property_input`]).
pub fn parse_properties(
    map: &serde_json::Map<String, Value>,
) -> Result<Vec<(String, String)>, ValidationError> {
    check_properties(
        map.iter()
            .map(|(k, v)| (k.clone(), property_input(v)))
            .collect(),
    )
}
