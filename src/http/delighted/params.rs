//! A request's parameters as Delighted's clients send them: the query string and the body
//! (JSON, or form-encoded with `properties[key]=value` and `expand[]=person`), read into one JSON
//! object so every handler parses one shape. Parameters in the body win over the query string's.
use super::error::DelightedError;
use crate::domain::ValidationError;
use crate::http::error::ApiError;
use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use chrono::{DateTime, NaiveDateTime};
use futures_util::future::LocalBoxFuture;
use serde_json::{Map, Value};

/// Largest body a Delighted-compatible request may carry.
pub const MAX_BODY_BYTES: usize = 256 * 1024;
/// The deepest page of a numbered list.
const MAX_PAGE: i64 = 10_000;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Params(pub Map<String, Value>);

/// Puts one form pair into the object: `a=1`, `a[b]=1` (an object), `a[]=1` (a list); a plain
/// name given twice (`expand=a&expand=b`) becomes a list.
fn insert_pair(obj: &mut Map<String, Value>, key: &str, value: String) {
    let value = Value::String(value);
    let (name, rest) = match key.find('[') {
        Some(i) if key.ends_with(']') => (&key[..i], Some(&key[i + 1..key.len() - 1])),
        _ => (key, None),
    };
    match rest {
        None => match obj.get_mut(name) {
            Some(Value::Array(items)) => items.push(value),
            Some(existing) => {
                let first = existing.take();
                *existing = Value::Array(vec![first, value]);
            }
            None => {
                obj.insert(name.to_string(), value);
            }
        },
        Some("") => match obj.get_mut(name) {
            Some(Value::Array(items)) => items.push(value),
            _ => {
                obj.insert(name.to_string(), Value::Array(vec![value]));
            }
        },
        Some(sub) => {
            // `properties[a][b]` keeps `a][b` as the name: properties are flat.
            let entry = obj
                .entry(name.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            if !entry.is_object() {
                *entry = Value::Object(Map::new());
            }
            if let Value::Object(map) = entry {
                map.insert(sub.to_string(), value);
            }
        }
    }
}

impl Params {
    pub fn from_form(raw: &str) -> Result<Params, ValidationError> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw).map_err(|e| {
            ValidationError::new("query", format!("is not a valid form encoding: {e}"))
        })?;
        let mut obj = Map::new();
        for (k, v) in pairs {
            insert_pair(&mut obj, &k, v);
        }
        Ok(Params(obj))
    }

    pub fn from_json(bytes: &[u8]) -> Result<Params, ApiError> {
        let value: Value = serde_json::from_slice(bytes).map_err(|e| ApiError::BadRequest {
            code: "invalid_json",
            message: format!("the body is not valid JSON: {e}"),
        })?;
        crate::domain::reject_nul(&value)?;
        match value {
            Value::Object(map) => Ok(Params(map)),
            Value::Null => Ok(Params::default()),
            _ => Err(ValidationError::new("body", "must be a JSON object").into()),
        }
    }

    /// The body's parameters over the query string's.
    fn merge(mut self, body: Params) -> Params {
        self.0.extend(body.0);
        self
    }

    pub fn get(&self, field: &str) -> Option<&Value> {
        match self.0.get(field) {
            None | Some(Value::Null) => None,
            // A scalar given twice: the last one.
            Some(Value::Array(items)) if field != "expand" => items.last(),
            Some(v) => Some(v),
        }
    }

    /// A text parameter; numbers are taken as their text, empty text as absent.
    pub fn string(&self, field: &str) -> Result<Option<String>, ValidationError> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.trim().to_string()).filter(|s| !s.is_empty())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(_) => Err(ValidationError::new(field, "must be a string")),
        }
    }

    /// A whole number, given as a JSON number or as text.
    pub fn integer(&self, field: &str) -> Result<Option<i64>, ValidationError> {
        let bad = || ValidationError::new(field, "must be a whole number");
        match self.get(field) {
            None => Ok(None),
            Some(Value::Number(n)) => n.as_i64().map(Some).ok_or_else(bad),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => s.trim().parse::<i64>().map(Some).map_err(|_| bad()),
            Some(_) => Err(bad()),
        }
    }

    /// `true`/`false`, also as text (`"false"`, `"0"`), as forms and Python's client send them.
    pub fn boolean(&self, field: &str) -> Result<Option<bool>, ValidationError> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::Number(n)) if n.as_i64() == Some(0) => Ok(Some(false)),
            Some(Value::Number(n)) if n.as_i64() == Some(1) => Ok(Some(true)),
            Some(Value::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" => Ok(Some(true)),
                "false" | "0" | "no" => Ok(Some(false)),
                "" => Ok(None),
                _ => Err(ValidationError::new(field, "must be true or false")),
            },
            Some(_) => Err(ValidationError::new(field, "must be true or false")),
        }
    }

    /// A point in time as integer Unix seconds.
    pub fn unix_time(&self, field: &str) -> Result<Option<NaiveDateTime>, ValidationError> {
        self.integer(field)?
            .map(|secs| {
                DateTime::from_timestamp(secs, 0)
                    .filter(|t| (1..=9999).contains(&chrono::Datelike::year(t)))
                    .map(|t| t.naive_utc())
                    .ok_or_else(|| ValidationError::new(field, "must be a Unix time in seconds"))
            })
            .transpose()
    }

    /// The end of a range as Delighted means it, inclusive to the second, as the first instant
    /// after it (the store's ranges end before their `until`; times are kept to the microsecond).
    pub fn until(&self, field: &str) -> Result<Option<NaiveDateTime>, ValidationError> {
        Ok(self
            .unix_time(field)?
            .map(|t| t + chrono::Duration::seconds(1)))
    }

    /// An object of names to values (`properties`, `person_properties`).
    pub fn object(&self, field: &str) -> Result<Option<&Map<String, Value>>, ValidationError> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::Object(map)) => Ok(Some(map)),
            Some(_) => Err(ValidationError::new(
                field,
                "must be an object of names to values",
            )),
        }
    }

    /// Whether `expand` (`expand=person`, `expand[]=person`, repeated, or a JSON list) names
    /// `what`.
    pub fn expands(&self, what: &str) -> bool {
        let named = |v: &Value| {
            v.as_str()
                .is_some_and(|s| s.split(',').any(|p| p.trim() == what))
        };
        match self.0.get("expand") {
            Some(Value::Array(items)) => items.iter().any(named),
            Some(v) => named(v),
            None => false,
        }
    }

    /// `page` (from 1) and `per_page` (1 to 100, 20 by default) as offset and limit.
    pub fn page(&self) -> Result<(i64, i64), ValidationError> {
        let per_page = self.per_page()?;
        let page = self.integer("page")?.unwrap_or(1);
        // Deep pages cost a scan of every row before them: past a million rows, narrow the
        // range with `since`/`until` instead.
        if !(1..=MAX_PAGE).contains(&page) || (page - 1) * per_page >= 1_000_000 {
            return Err(ValidationError::new(
                "page",
                "must be a whole number from 1, and reach at most a million rows in: narrow the range with since and until",
            ));
        }
        Ok(((page - 1) * per_page, per_page))
    }

    pub fn per_page(&self) -> Result<i64, ValidationError> {
        let per_page = self.integer("per_page")?.unwrap_or(20);
        if !(1..=100).contains(&per_page) {
            return Err(ValidationError::new(
                "per_page",
                "must be a whole number from 1 to 100",
            ));
        }
        Ok(per_page)
    }
}

impl FromRequest for Params {
    type Error = DelightedError;
    type Future = LocalBoxFuture<'static, Result<Params, DelightedError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let query = Params::from_form(req.query_string());
        let form = req
            .headers()
            .get(actix_web::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
        let bytes = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            let query = query?;
            let bytes = bytes.await.map_err(|e| {
                if e.as_response_error().status_code()
                    == actix_web::http::StatusCode::PAYLOAD_TOO_LARGE
                {
                    DelightedError(ApiError::TooLarge(format!(
                        "the body is larger than {MAX_BODY_BYTES} bytes"
                    )))
                } else {
                    DelightedError(ApiError::BadRequest {
                        code: "invalid_body",
                        message: format!("the body could not be read: {e}"),
                    })
                }
            })?;
            if bytes.len() > MAX_BODY_BYTES {
                return Err(DelightedError(ApiError::TooLarge(format!(
                    "the body is larger than {MAX_BODY_BYTES} bytes"
                ))));
            }
            let json_shaped = bytes
                .iter()
                .find(|b| !b.is_ascii_whitespace())
                .is_some_and(|b| *b == b'{');
            let body = if bytes.iter().all(u8::is_ascii_whitespace) {
                Params::default()
            } else if form && !json_shaped {
                // (`curl -d '{...}'` labels a JSON body as a form: it is read as JSON.)
                let text = std::str::from_utf8(&bytes)
                    .map_err(|_| ValidationError::new("body", "must be UTF-8"))?;
                Params::from_form(text)?
            } else {
                Params::from_json(&bytes)?
            };
            let params = query.merge(body);
            crate::domain::reject_nul(&Value::Object(params.0.clone()))?;
            Ok(params)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn forms_nest_properties_and_lists() {
        let p = Params::from_form(
            "email=a%40b.co&properties[plan]=pro&properties[Customer+ID]=7&expand[]=person&send=false",
        )
        .unwrap();
        assert_eq!(
            Value::Object(p.0.clone()),
            json!({"email": "a@b.co", "properties": {"plan": "pro", "Customer ID": "7"},
                   "expand": ["person"], "send": "false"})
        );
        assert_eq!(p.boolean("send").unwrap(), Some(false));
        assert!(p.expands("person"));
    }

    #[test]
    fn expand_is_read_in_every_form() {
        for q in [
            "expand=person",
            "expand[]=person",
            "expand=notes&expand=person",
            "expand%5B%5D=person",
        ] {
            assert!(Params::from_form(q).unwrap().expands("person"), "{q}");
        }
        assert!(!Params::from_form("expand=notes").unwrap().expands("person"));
    }

    #[test]
    fn numbers_and_times_parse_from_text_or_json() {
        let p = Params::from_json(br#"{"since": 1700000000, "until": "1700000100", "page": "x"}"#)
            .unwrap();
        assert_eq!(
            p.unix_time("since").unwrap().unwrap().to_string(),
            "2023-11-14 22:13:20"
        );
        assert!(p.unix_time("until").unwrap().is_some());
        assert_eq!(p.integer("page").unwrap_err().field, "page");
        assert_eq!(
            Params::from_form("per_page=101")
                .unwrap()
                .page()
                .unwrap_err()
                .field,
            "per_page"
        );
        assert_eq!(
            Params::from_form("page=3&per_page=10")
                .unwrap()
                .page()
                .unwrap(),
            (20, 10)
        );
    }
}
