//! An IANA time zone, parsed once where it enters (a survey's digest settings, a reader's `tz=`),
//! then used by value: the tz database's rules (through `jiff`, DST included) and its name.
use super::ValidationError;
use chrono::NaiveDateTime;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, Zoned};

/// An IANA time zone, parsed once: the tz database's rules and the name it goes by.
#[derive(Debug, Clone)]
pub struct Zone {
    name: String,
    tz: TimeZone,
}

impl PartialEq for Zone {
    fn eq(&self, other: &Zone) -> bool {
        self.name == other.name
    }
}

impl Eq for Zone {}

impl Zone {
    pub fn utc() -> Zone {
        Zone {
            name: "UTC".into(),
            tz: TimeZone::UTC,
        }
    }

    /// The zone named exactly `raw`, keeping the name as given; None when the tz database has
    /// no such zone.
    pub fn named(raw: &str) -> Option<Zone> {
        TimeZone::get(raw).ok().map(|tz| Zone {
            name: raw.to_string(),
            tz,
        })
    }

    /// The zone `raw` names (trimmed, any case), under the name the tz database spells it
    /// ("europe/berlin" -> "Europe/Berlin").
    pub fn canonical(raw: &str) -> Option<Zone> {
        let raw = raw.trim();
        if raw.is_empty() {
            return None;
        }
        TimeZone::get(raw).ok().map(|tz| Zone {
            name: tz.iana_name().unwrap_or(raw).to_string(),
            tz,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn tz(&self) -> &TimeZone {
        &self.tz
    }

    /// Midnight at the start of `day` here, as UTC.
    pub fn midnight(&self, day: chrono::NaiveDate) -> Result<NaiveDateTime, ValidationError> {
        let date = Date::new(
            i16::try_from(chrono::Datelike::year(&day)).unwrap_or(1970),
            chrono::Datelike::month(&day) as i8,
            chrono::Datelike::day(&day) as i8,
        )
        .map_err(|_| ValidationError::new("from", "is out of range"))?;
        Ok(local(&self.tz, date, 0))
    }

    /// The date here at the instant `at` (UTC).
    pub fn date_at(&self, at: NaiveDateTime) -> Option<chrono::NaiveDate> {
        let d = to_zoned(at, &self.tz).date();
        chrono::NaiveDate::from_ymd_opt(d.year().into(), d.month() as u32, d.day() as u32)
    }
}

/// Local `hour`:00 of `day` in `tz`, as UTC (a time inside a DST gap moves forward).
pub(crate) fn local(tz: &TimeZone, day: Date, hour: u8) -> NaiveDateTime {
    day.at(hour as i8, 0, 0, 0)
        .to_zoned(tz.clone())
        .map(|z| to_naive(z.timestamp()))
        .unwrap_or_else(|_| to_naive(Timestamp::UNIX_EPOCH))
}

pub(crate) fn to_naive(ts: Timestamp) -> NaiveDateTime {
    chrono::DateTime::from_timestamp_micros(ts.as_microsecond())
        .map(|d| d.naive_utc())
        .unwrap_or_default()
}

pub(crate) fn to_zoned(at: NaiveDateTime, tz: &TimeZone) -> Zoned {
    Timestamp::from_microsecond(at.and_utc().timestamp_micros())
        .unwrap_or(Timestamp::UNIX_EPOCH)
        .to_zoned(tz.clone())
}
