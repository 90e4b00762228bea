//! A period of days as readers ask for it: `from` and `to` (inclusive), in UTC or in an IANA zone.
use crate::digest::Zone;
use crate::ValidationError;
use chrono::{Days, NaiveDate, NaiveDateTime};

/// An inclusive range of days, as `from=YYYY-MM-DD&to=YYYY-MM-DD`, in UTC or in the IANA zone
/// of `tz=` (the digest's links name the survey's zone, so they show its very figures).
pub struct Period {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    /// Parsed once, named as the request gave it.
    pub tz: Option<Zone>,
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
            self.tz = Some(Zone::named(tz).ok_or_else(|| {
                ValidationError::new(
                    "tz",
                    "must be an IANA time zone like \"Europe/Berlin\" or \"UTC\"",
                )
            })?);
        }
        Ok(self)
    }

    pub fn midnight(&self, d: NaiveDate) -> NaiveDateTime {
        match &self.tz {
            Some(tz) => tz
                .midnight(d)
                .unwrap_or_else(|_| d.and_hms_opt(0, 0, 0).expect("midnight")),
            None => d.and_hms_opt(0, 0, 0).expect("midnight"),
        }
    }

    /// Today's date in the period's zone (UTC without one).
    pub fn today(&self, now: NaiveDateTime) -> NaiveDate {
        match &self.tz {
            Some(tz) => tz.date_at(now).unwrap_or(now.date()),
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
