//! The NPS digest's settings and calendar: which period a digest reports, when it is due, in the
//! survey's time zone (the tz database, through `jiff`, handles DST). No I/O.
use super::email::EmailAddress;
pub use super::zone::Zone;
use super::zone::{local, to_zoned};
use super::ValidationError;
use crate::WholeInput;
use chrono::NaiveDateTime;
use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;
use jiff::ToSpan;

pub const MAX_RECIPIENTS: usize = 50;
/// Digests in a row without responses after which the digest pauses until responses return.
pub const SILENT_DIGESTS_BEFORE_PAUSE: usize = 4;
/// The trend and the trailing comparison cover this many periods.
pub const TREND_PERIODS: usize = 12;

/// A change to the digest settings; what is left out keeps its value. Strings as sent: the
/// checks trim, parse and name the field (`digest.weekday`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DigestPatch {
    pub enabled: Option<bool>,
    pub recipients: Option<Vec<String>>,
    pub weekday: Option<String>,
    pub hour: Option<WholeInput>,
    pub time_zone: Option<String>,
    pub period: Option<String>,
    /// A field that is not a digest setting, refused by name.
    pub unknown: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeriodKind {
    Daily,
    Weekly,
    Monthly,
}

impl PeriodKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PeriodKind::Daily => "daily",
            PeriodKind::Weekly => "weekly",
            PeriodKind::Monthly => "monthly",
        }
    }

    pub fn noun(self) -> &'static str {
        match self {
            PeriodKind::Daily => "day",
            PeriodKind::Weekly => "week",
            PeriodKind::Monthly => "month",
        }
    }

    fn parse(field: &str, raw: &str) -> Result<PeriodKind, ValidationError> {
        match raw {
            "daily" => Ok(PeriodKind::Daily),
            "weekly" => Ok(PeriodKind::Weekly),
            "monthly" => Ok(PeriodKind::Monthly),
            _ => Err(ValidationError::new(
                field,
                "must be daily, weekly or monthly",
            )),
        }
    }
}

const WEEKDAYS: [(&str, Weekday); 7] = [
    ("mon", Weekday::Monday),
    ("tue", Weekday::Tuesday),
    ("wed", Weekday::Wednesday),
    ("thu", Weekday::Thursday),
    ("fri", Weekday::Friday),
    ("sat", Weekday::Saturday),
    ("sun", Weekday::Sunday),
];

/// The weekday a stored short name ("mon".."sun") names; Monday for anything else.
pub fn weekday_named(short: &str) -> Weekday {
    WEEKDAYS
        .iter()
        .find(|(d, _)| *d == short)
        .map(|(_, w)| *w)
        .unwrap_or(Weekday::Monday)
}

/// A weekday's short name, as stored and shown: "mon".."sun".
pub fn weekday_name(weekday: Weekday) -> &'static str {
    WEEKDAYS
        .iter()
        .find(|(_, w)| *w == weekday)
        .map(|(d, _)| *d)
        .unwrap_or("mon")
}

/// A survey's digest: who gets it, and when. The weekday and the zone are parsed once, when the
/// settings are read or changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestSettings {
    pub enabled: bool,
    pub recipients: Vec<String>,
    /// The weekday of a weekly digest.
    pub weekday: Weekday,
    /// 0-23, local time.
    pub hour: u8,
    /// Where the hour and the periods are counted, "Europe/Berlin".
    pub time_zone: Zone,
    pub period: PeriodKind,
}

impl Default for DigestSettings {
    fn default() -> Self {
        DigestSettings {
            enabled: false,
            recipients: Vec::new(),
            weekday: Weekday::Monday,
            hour: 9,
            time_zone: Zone::utc(),
            period: PeriodKind::Weekly,
        }
    }
}

impl DigestSettings {
    /// Applies a digest patch (the surveys API's `"digest": {...}`); fields left out keep their
    /// value.
    pub fn patched(&self, patch: &DigestPatch) -> Result<DigestSettings, ValidationError> {
        if let Some(key) = &patch.unknown {
            return Err(ValidationError::new(
                format!("digest.{key}"),
                "is not a digest setting",
            ));
        }
        let mut s = self.clone();
        if let Some(enabled) = patch.enabled {
            s.enabled = enabled;
        }
        if let Some(hour) = patch.hour {
            s.hour = match hour {
                WholeInput::Whole(h) if (0..=23).contains(&h) => h as u8,
                _ => {
                    return Err(ValidationError::new(
                        "digest.hour",
                        "must be a whole hour from 0 to 23",
                    ))
                }
            };
        }
        if let Some(period) = &patch.period {
            s.period = PeriodKind::parse("digest.period", period)?;
        }
        if let Some(items) = &patch.recipients {
            let field = "digest.recipients";
            if items.len() > MAX_RECIPIENTS {
                return Err(ValidationError::new(
                    field,
                    format!("must list at most {MAX_RECIPIENTS} addresses"),
                ));
            }
            let mut out: Vec<String> = Vec::new();
            for raw in items {
                let email = EmailAddress::parse(field, raw)?;
                if !out.iter().any(|e| e.eq_ignore_ascii_case(email.as_str())) {
                    out.push(email.as_str().to_string());
                }
            }
            s.recipients = out;
        }
        if let Some(raw) = &patch.time_zone {
            // Stored as the tz database spells it ("europe/berlin" -> "Europe/Berlin").
            s.time_zone = Zone::canonical(raw).ok_or_else(|| {
                ValidationError::new(
                    "digest.time_zone",
                    "must be an IANA time zone like \"Europe/Berlin\" or \"UTC\"",
                )
            })?;
        }
        if let Some(raw) = &patch.weekday {
            let raw = raw.trim().to_ascii_lowercase();
            let short: String = raw.chars().take(3).collect();
            let full_ok = WEEKDAYS.iter().any(|(d, w)| {
                *d == short && (raw.len() == 3 || raw == format!("{w:?}").to_ascii_lowercase())
            });
            if !full_ok {
                return Err(ValidationError::new(
                    "digest.weekday",
                    "must be a weekday: mon, tue, wed, thu, fri, sat or sun",
                ));
            }
            s.weekday = weekday_named(&short);
        }
        if s.enabled && s.recipients.is_empty() {
            return Err(ValidationError::new(
                "digest.recipients",
                "must name at least one address when the digest is enabled",
            ));
        }
        Ok(s)
    }

    pub fn zone(&self) -> &TimeZone {
        self.time_zone.tz()
    }

    /// The weekday's short name, as stored and shown: "mon".."sun".
    pub fn weekday_name(&self) -> &'static str {
        weekday_name(self.weekday)
    }

    /// The period containing `at`.
    pub fn period_containing(&self, at: NaiveDateTime) -> DigestPeriod {
        DigestPeriod::containing(self.period, self.zone(), at)
    }

    /// When the digest of `period` goes out: weekly on the chosen weekday after the week ends
    /// (Monday: the morning after), daily the day after, monthly on the 1st, at the hour.
    pub fn slot_of(&self, period: &DigestPeriod) -> NaiveDateTime {
        let after = period.end_date;
        let day = match self.period {
            PeriodKind::Weekly => after
                .checked_add((self.weekday.to_monday_zero_offset() as i64).days())
                .unwrap_or(after),
            PeriodKind::Daily | PeriodKind::Monthly => after,
        };
        local(self.zone(), day, self.hour)
    }

    /// The digest due at `now`: the latest one whose slot has come, if it reports a period that
    /// ended at or after the start of the period in which the settings were last changed (so a
    /// digest enabled today reports the period that just ended, never an older one).
    pub fn due(&self, now: NaiveDateTime, changed_at: NaiveDateTime) -> Option<DigestPeriod> {
        if !self.enabled {
            return None;
        }
        let current = self.period_containing(now);
        let mut candidate = current.previous();
        // The latest slot that has come: the one of the period that just ended, or the one before.
        for _ in 0..2 {
            if self.slot_of(&candidate) <= now {
                let floor = self.period_containing(changed_at).start;
                return (candidate.end >= floor).then_some(candidate);
            }
            candidate = candidate.previous();
        }
        None
    }
}

/// One reporting period in the survey's time zone: [start, end) in UTC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestPeriod {
    pub kind: PeriodKind,
    pub start: NaiveDateTime,
    pub end: NaiveDateTime,
    /// Local dates: the first day, and the day after the last.
    pub start_date: Date,
    pub end_date: Date,
    tz: TimeZone,
}

impl DigestPeriod {
    pub fn containing(kind: PeriodKind, tz: &TimeZone, at: NaiveDateTime) -> DigestPeriod {
        let date = to_zoned(at, tz).date();
        let start_date = match kind {
            PeriodKind::Daily => date,
            PeriodKind::Weekly => date
                .checked_sub((date.weekday().to_monday_zero_offset() as i64).days())
                .unwrap_or(date),
            PeriodKind::Monthly => date.first_of_month(),
        };
        Self::starting(kind, tz, start_date)
    }

    fn starting(kind: PeriodKind, tz: &TimeZone, start_date: Date) -> DigestPeriod {
        let end_date = match kind {
            PeriodKind::Daily => start_date.checked_add(1.day()),
            PeriodKind::Weekly => start_date.checked_add(7.days()),
            PeriodKind::Monthly => start_date.checked_add(1.month()),
        }
        .unwrap_or(start_date);
        DigestPeriod {
            kind,
            start: local(tz, start_date, 0),
            end: local(tz, end_date, 0),
            start_date,
            end_date,
            tz: tz.clone(),
        }
    }

    pub fn previous(&self) -> DigestPeriod {
        let start = match self.kind {
            PeriodKind::Daily => self.start_date.checked_sub(1.day()),
            PeriodKind::Weekly => self.start_date.checked_sub(7.days()),
            PeriodKind::Monthly => self.start_date.checked_sub(1.month()),
        }
        .unwrap_or(self.start_date);
        Self::starting(self.kind, &self.tz, start)
    }

    /// The `n` periods before this one, oldest first.
    pub fn preceding(&self, n: usize) -> Vec<DigestPeriod> {
        let mut out = Vec::with_capacity(n);
        let mut p = self.previous();
        for _ in 0..n {
            let before = p.previous();
            out.push(p);
            p = before;
        }
        out.reverse();
        out
    }

    /// "2026-W47", "2026-11-25", "2026-11": unique per survey and kind.
    pub fn key(&self) -> String {
        match self.kind {
            PeriodKind::Daily => self.start_date.to_string(),
            PeriodKind::Weekly => {
                let w = self.start_date.iso_week_date();
                format!("{}-W{:02}", w.year(), w.week())
            }
            PeriodKind::Monthly => self.start_date.strftime("%Y-%m").to_string(),
        }
    }

    /// "Week 47, 17–23 November 2026", "Tuesday 25 November 2026", "November 2026".
    pub fn label(&self) -> String {
        let last = self.end_date.checked_sub(1.day()).unwrap_or(self.end_date);
        match self.kind {
            PeriodKind::Daily => self.start_date.strftime("%A %-d %B %Y").to_string(),
            PeriodKind::Weekly => {
                let w = self.start_date.iso_week_date().week();
                if self.start_date.month() == last.month() {
                    format!(
                        "Week {w}, {}–{}",
                        self.start_date.day(),
                        last.strftime("%-d %B %Y")
                    )
                } else {
                    format!(
                        "Week {w}, {} – {}",
                        self.start_date.strftime("%-d %B"),
                        last.strftime("%-d %B %Y")
                    )
                }
            }
            PeriodKind::Monthly => self.start_date.strftime("%B %Y").to_string(),
        }
    }

    /// A short label for the trend: "W47", "25 Nov", "Nov".
    pub fn short_label(&self) -> String {
        match self.kind {
            PeriodKind::Daily => self.start_date.strftime("%-d %b").to_string(),
            PeriodKind::Weekly => format!("W{}", self.start_date.iso_week_date().week()),
            PeriodKind::Monthly => self.start_date.strftime("%b").to_string(),
        }
    }

    /// The first and last local day, for API links: `from=...&to=...`.
    pub fn days(&self) -> (String, String) {
        let last = self.end_date.checked_sub(1.day()).unwrap_or(self.end_date);
        (self.start_date.to_string(), last.to_string())
    }
}

/// `--period` of `npsd digest`: "2026-W47" (a week), "2026-11-25" (a day), "2026-11" (a month).
pub fn parse_period(raw: &str, tz: &TimeZone) -> Result<DigestPeriod, ValidationError> {
    let invalid = || {
        ValidationError::new(
            "period",
            "must be a week like 2026-W47, a day like 2026-11-25 or a month like 2026-11",
        )
    };
    let raw = raw.trim();
    if let Some((year, week)) = raw.split_once("-W") {
        let (year, week) = (
            year.parse::<i16>().map_err(|_| invalid())?,
            week.parse::<i8>().map_err(|_| invalid())?,
        );
        let date = jiff::civil::ISOWeekDate::new(year, week, Weekday::Monday)
            .map_err(|_| invalid())?
            .date();
        return Ok(DigestPeriod::starting(PeriodKind::Weekly, tz, date));
    }
    if let Ok(date) = raw.parse::<Date>() {
        if raw.len() == 10 {
            return Ok(DigestPeriod::starting(PeriodKind::Daily, tz, date));
        }
    }
    let month = format!("{raw}-01")
        .parse::<Date>()
        .ok()
        .filter(|_| raw.len() == 7)
        .ok_or_else(invalid)?;
    Ok(DigestPeriod::starting(PeriodKind::Monthly, tz, month))
}

#[cfg(test)]
mod tests;
