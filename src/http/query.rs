//! The query string of an insight (NPS, trend, breakdown, comments, export, dashboard): one parser,
//! so every reader takes the same filters, `property.NAME=VALUE` segments included.
use crate::domain::insight::PropertyFilter;
use crate::domain::ValidationError;
use crate::http::error::ApiError;
use crate::store::responses::ResponseFilter;
use crate::store::state::Channel;
use actix_web::{dev::Payload, FromRequest, HttpRequest};
use std::future::{ready, Ready};

pub use crate::domain::period::Period;

/// The query string's pairs, in order, decoded once.
#[derive(Debug, Clone, Default)]
pub struct QueryPairs(pub Vec<(String, String)>);

impl QueryPairs {
    pub fn parse(raw: &str) -> Result<QueryPairs, ValidationError> {
        serde_urlencoded::from_str::<Vec<(String, String)>>(raw)
            .map(QueryPairs)
            .map_err(|e| ValidationError::new("query", format!("is not a valid query string: {e}")))
    }

    /// The last value given for `key` (a form's later field wins), empty ones included.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The period (`from`, `to`, `tz`) and the filter (channel, verified, properties).
    pub fn filter(&self) -> Result<(Period, ResponseFilter), ValidationError> {
        let period = Period::parse(self.get("from"), self.get("to"))?.in_zone(self.get("tz"))?;
        let filter = ResponseFilter {
            from: period.start(),
            until: period.end(),
            channel: parse_channel(self.get("channel"))?,
            verified: parse_verified(self.get("verified"))?,
            properties: PropertyFilter::from_pairs(
                self.0.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            )?,
        };
        Ok((period, filter))
    }
}

impl FromRequest for QueryPairs {
    type Error = ApiError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(QueryPairs::parse(req.query_string()).map_err(ApiError::from))
    }
}

/// `channel=email|web|api|import`; absent or empty: every channel.
pub fn parse_channel(raw: Option<&str>) -> Result<Option<Channel>, ValidationError> {
    raw.filter(|c| !c.is_empty())
        .map(|c| {
            c.parse::<Channel>()
                .map_err(|_| ValidationError::new("channel", "must be email, web, api or import"))
        })
        .transpose()
}

pub fn parse_verified(raw: Option<&str>) -> Result<Option<bool>, ValidationError> {
    match raw.filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some("true" | "1") => Ok(Some(true)),
        Some("false" | "0") => Ok(Some(false)),
        Some(_) => Err(ValidationError::new("verified", "must be true or false")),
    }
}
