//! The NPS digest's settings and calendar: which period a digest reports, when it is due, in the
//! survey's time zone (the tz database, through `jiff`, handles DST). No I/O.
use super::email::EmailAddress;
use super::ValidationError;
use crate::WholeInput;
use chrono::NaiveDateTime;
use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan, Zoned};

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

/// Local `hour`:00 of `day` in `tz`, as UTC (a time inside a DST gap moves forward).
fn local(tz: &TimeZone, day: Date, hour: u8) -> NaiveDateTime {
    day.at(hour as i8, 0, 0, 0)
        .to_zoned(tz.clone())
        .map(|z| to_naive(z.timestamp()))
        .unwrap_or_else(|_| to_naive(Timestamp::UNIX_EPOCH))
}

fn to_naive(ts: Timestamp) -> NaiveDateTime {
    chrono::DateTime::from_timestamp_micros(ts.as_microsecond())
        .map(|d| d.naive_utc())
        .unwrap_or_default()
}

fn to_zoned(at: NaiveDateTime, tz: &TimeZone) -> Zoned {
    Timestamp::from_microsecond(at.and_utc().timestamp_micros())
        .unwrap_or(Timestamp::UNIX_EPOCH)
        .to_zoned(tz.clone())
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
mod tests {
    use super::*;

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
    }

    fn weekly(tz: &str) -> DigestSettings {
        DigestSettings::default()
            .patched(&DigestPatch {
                enabled: Some(true),
                recipients: Some(vec!["cx@shop.example".into()]),
                time_zone: Some(tz.into()),
                ..Default::default()
            })
            .unwrap()
    }

    #[test]
    fn settings_are_checked_field_by_field() {
        let d = DigestSettings::default();
        let field = |p: DigestPatch| d.patched(&p).unwrap_err().field;
        let text = |s: &str| Some(s.to_string());
        let patch = DigestPatch::default;
        assert_eq!(
            field(DigestPatch {
                weekday: text("funday"),
                ..patch()
            }),
            "digest.weekday"
        );
        for hour in [
            WholeInput::Whole(24),
            WholeInput::Whole(-1),
            WholeInput::NotWhole,
        ] {
            assert_eq!(
                field(DigestPatch {
                    hour: Some(hour),
                    ..patch()
                }),
                "digest.hour"
            );
        }
        assert_eq!(
            field(DigestPatch {
                time_zone: text("Mars/Olympus"),
                ..patch()
            }),
            "digest.time_zone"
        );
        assert_eq!(
            field(DigestPatch {
                recipients: Some(vec!["nope".into()]),
                ..patch()
            }),
            "digest.recipients"
        );
        assert_eq!(
            field(DigestPatch {
                period: text("hourly"),
                ..patch()
            }),
            "digest.period"
        );
        assert_eq!(
            field(DigestPatch {
                enabled: Some(true),
                ..patch()
            }),
            "digest.recipients"
        );
        assert_eq!(
            field(DigestPatch {
                unknown: text("color"),
                ..patch()
            }),
            "digest.color"
        );
        let s = d
            .patched(&DigestPatch {
                weekday: text("Friday"),
                hour: Some(WholeInput::Whole(0)),
                time_zone: text("America/New_York"),
                ..patch()
            })
            .unwrap();
        assert_eq!((s.weekday_name(), s.hour), ("fri", 0));
    }

    #[test]
    fn a_week_is_monday_to_sunday_in_the_survey_zone() {
        let s = weekly("Europe/Berlin");
        // Thursday 26 November 2026, 12:00 UTC.
        let p = s.period_containing(at("2026-11-26 12:00"));
        assert_eq!(p.key(), "2026-W48");
        assert_eq!(
            p.start,
            at("2026-11-22 23:00"),
            "Monday 00:00 in Berlin (UTC+1)"
        );
        assert_eq!(p.end, at("2026-11-29 23:00"));
        assert_eq!(p.previous().key(), "2026-W47");
        assert_eq!(p.previous().label(), "Week 47, 16–22 November 2026");
        assert_eq!(
            s.slot_of(&p.previous()),
            at("2026-11-23 08:00"),
            "Monday 09:00 Berlin"
        );
    }

    #[test]
    fn dst_weeks_cover_exactly_their_days() {
        // Berlin leaves summer time on Sunday 25 October 2026: that week has 169 hours.
        let s = weekly("Europe/Berlin");
        let p = s.period_containing(at("2026-10-21 12:00"));
        assert_eq!(p.start, at("2026-10-18 22:00"));
        assert_eq!(p.end, at("2026-10-25 23:00"));
        assert_eq!((p.end - p.start).num_hours(), 169);
        // New York enters summer time on Sunday 8 March 2026: that week has 167 hours.
        let s = weekly("America/New_York");
        let p = s.period_containing(at("2026-03-05 12:00"));
        assert_eq!(p.start, at("2026-03-02 05:00"));
        assert_eq!(p.end, at("2026-03-09 04:00"));
        assert_eq!((p.end - p.start).num_hours(), 167);
        // And the digest slot after it is Monday 09:00 New York daylight time.
        assert_eq!(s.slot_of(&p), at("2026-03-09 13:00"));
    }

    #[test]
    fn the_digest_due_is_the_latest_slot_that_came() {
        let s = weekly("UTC");
        let long_ago = at("2026-01-01 00:00");
        // Monday 23 Nov 08:59: last week's slot has not come; the week before's has.
        assert_eq!(
            s.due(at("2026-11-23 08:59"), long_ago).unwrap().key(),
            "2026-W46"
        );
        assert_eq!(
            s.due(at("2026-11-23 09:00"), long_ago).unwrap().key(),
            "2026-W47"
        );
        // A week of downtime: only the latest period.
        assert_eq!(
            s.due(at("2026-12-09 10:00"), long_ago).unwrap().key(),
            "2026-W49"
        );
        // Enabled on Tuesday: the week that just ended goes at once.
        assert_eq!(
            s.due(at("2026-11-24 10:00"), at("2026-11-24 09:59"))
                .unwrap()
                .key(),
            "2026-W47"
        );
        // Enabled on Monday before the slot: nothing older than last week, which waits for 09:00.
        assert_eq!(s.due(at("2026-11-23 08:00"), at("2026-11-23 07:00")), None);
        // Off: never.
        let mut off = s.clone();
        off.enabled = false;
        assert_eq!(off.due(at("2026-11-24 10:00"), long_ago), None);
    }

    #[test]
    fn daily_and_monthly_periods() {
        let mut s = weekly("UTC");
        s.period = PeriodKind::Daily;
        let due = s
            .due(at("2026-11-25 10:00"), at("2026-01-01 00:00"))
            .unwrap();
        assert_eq!(due.key(), "2026-11-24");
        assert_eq!(due.label(), "Tuesday 24 November 2026");
        s.period = PeriodKind::Monthly;
        let due = s
            .due(at("2026-12-01 09:30"), at("2026-01-01 00:00"))
            .unwrap();
        assert_eq!(due.key(), "2026-11");
        assert_eq!(due.label(), "November 2026");
        assert_eq!(due.preceding(12).len(), 12);
        assert_eq!(due.preceding(12)[0].key(), "2025-11");
    }

    #[test]
    fn periods_by_name() {
        let tz = TimeZone::UTC;
        assert_eq!(
            parse_period("2026-W47", &tz).unwrap().start,
            at("2026-11-16 00:00")
        );
        assert_eq!(
            parse_period("2026-11-25", &tz).unwrap().kind,
            PeriodKind::Daily
        );
        assert_eq!(
            parse_period("2026-11", &tz).unwrap().end,
            at("2026-12-01 00:00")
        );
        assert!(parse_period("2026-W60", &tz).is_err());
        assert!(parse_period("yesterday", &tz).is_err());
    }
}
