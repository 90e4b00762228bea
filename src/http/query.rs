//! The query string of an insight (NPS, trend, breakdown, comments, export, dashboard): one parser,
//! so every reader takes the same filters, `property.NAME=VALUE` segments included.
use crate::domain::insight::PropertyFilter;
use crate::domain::state::Channel;
use crate::domain::ValidationError;
use crate::error::ApiError;
use crate::store::responses::ResponseFilter;
use actix_web::{dev::Payload, FromRequest, HttpRequest};
use chrono::{Days, NaiveDate, NaiveDateTime};
use std::future::{ready, Ready};

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

/// An inclusive range of days, as `from=YYYY-MM-DD&to=YYYY-MM-DD`, in UTC or in the IANA zone
/// of `tz=` (the digest's links name the survey's zone, so they show its very figures).
pub struct Period {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub tz: Option<String>,
}

impl Period {
    pub fn parse(from: Option<&str>, to: Option<&str>) -> Result<Period, ValidationError> {
        let day = |field: &str, raw: Option<&str>| {
            raw.filter(|s| !s.is_empty())
                .map(|s| {
                    NaiveDate::parse_from_str(s, "%Y-%m-%d")
                        .ok()
                        // Years 1 to 9999 only: date arithmetic near chrono's limits overflows.
                        .filter(|d| (1..=9999).contains(&chrono::Datelike::year(d)))
                        .ok_or_else(|| {
                            ValidationError::new(field, "must be a date like 2026-01-31")
                        })
                })
                .transpose()
        };
        let period = Period {
            from: day("from", from)?,
            to: day("to", to)?,
            tz: None,
        };
        if let (Some(f), Some(t)) = (period.from, period.to) {
            if f > t {
                return Err(ValidationError::new("from", "must not be after to"));
            }
        }
        Ok(period)
    }

    /// Days in the IANA zone `tz` instead of UTC.
    pub fn in_zone(mut self, tz: Option<&str>) -> Result<Period, ValidationError> {
        if let Some(tz) = tz.filter(|t| !t.is_empty()) {
            crate::domain::digest::local_midnight(tz, NaiveDate::default())?;
            self.tz = Some(tz.to_string());
        }
        Ok(self)
    }

    pub fn midnight(&self, d: NaiveDate) -> NaiveDateTime {
        match &self.tz {
            Some(tz) => crate::domain::digest::local_midnight(tz, d)
                .unwrap_or_else(|_| d.and_hms_opt(0, 0, 0).expect("midnight")),
            None => d.and_hms_opt(0, 0, 0).expect("midnight"),
        }
    }

    /// Today's date in the period's zone (UTC without one).
    pub fn today(&self, now: NaiveDateTime) -> NaiveDate {
        match &self.tz {
            Some(tz) => crate::domain::digest::local_date(tz, now).unwrap_or(now.date()),
            None => now.date(),
        }
    }

    pub fn start(&self) -> Option<NaiveDateTime> {
        self.from.map(|d| self.midnight(d))
    }

    /// The first instant after the period.
    pub fn end(&self) -> Option<NaiveDateTime> {
        self.to
            .and_then(|d| d.checked_add_days(Days::new(1)))
            .map(|d| self.midnight(d))
    }

    pub fn echo(d: Option<NaiveDate>) -> Option<String> {
        d.map(|d| d.format("%Y-%m-%d").to_string())
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
