//! What an insight query asks for, parsed at the boundary: property segments
//! (`property.plan=pro&property.plan=team&property.country=DE`), trend intervals in a time zone,
//! the order of a comment feed and the words of a search.
use super::ValidationError;
use chrono::{Datelike, Days, Months, NaiveDate, NaiveDateTime};
use std::collections::BTreeMap;

/// Longest property name or value a filter takes (transactions store at most this much).
const MAX_PROPERTY_TEXT: usize = 200;
/// Most points one trend answers; a longer range needs a wider interval.
pub const MAX_TREND_POINTS: usize = 1000;
/// Most distinct property names one request filters by. Each name is one more condition every
/// response in range is checked against; unbounded, a few thousand of them stalled the database
/// (PostgreSQL's planning time grew steeply with each name). The dashboard offers at most eight
/// names, and a segment worth reading rarely needs more than three or four: ten leaves room.
pub const MAX_FILTER_NAMES: usize = 10;
/// Most property values one request filters by, all names together (a name repeated means any
/// of its values). A transaction carries at most 50 properties, and a segment of more than a few
/// dozen values is better read as a breakdown: 50 is generous for people and small for a script.
pub const MAX_FILTER_VALUES: usize = 50;

/// Property filters: each name lists the values any of which matches; all names must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PropertyFilter(BTreeMap<String, Vec<String>>);

impl PropertyFilter {
    /// Takes the `property.NAME=VALUE` pairs of a query string and ignores the others. More than
    /// [`MAX_FILTER_NAMES`] names or [`MAX_FILTER_VALUES`] values are refused (a repeated pair
    /// counts once), as soon as the first one too many is read.
    pub fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<PropertyFilter, ValidationError> {
        let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut total = 0;
        for (key, value) in pairs {
            let Some(name) = key.strip_prefix("property.") else {
                continue;
            };
            // An empty value is "any" (a form's unselected choice).
            if value.is_empty() {
                continue;
            }
            if name.is_empty() || name.chars().count() > MAX_PROPERTY_TEXT {
                return Err(ValidationError::new(
                    key,
                    "must name a property, e.g. property.plan=pro",
                ));
            }
            if value.chars().count() > MAX_PROPERTY_TEXT || value.contains('\0') {
                return Err(ValidationError::new(
                    key,
                    "must be a property value of at most 200 characters",
                ));
            }
            if !map.contains_key(name) && map.len() == MAX_FILTER_NAMES {
                return Err(ValidationError::new(
                    "property",
                    format!(
                        "takes at most {MAX_FILTER_NAMES} property names per request \
                         (property.NAME=VALUE); read more segments with a breakdown (by=NAME)"
                    ),
                ));
            }
            let values = map.entry(name.to_string()).or_default();
            if !values.iter().any(|v| v == value) {
                if total == MAX_FILTER_VALUES {
                    return Err(ValidationError::new(
                        "property",
                        format!(
                            "takes at most {MAX_FILTER_VALUES} property values per request, all \
                             names together; read more segments with a breakdown (by=NAME)"
                        ),
                    ));
                }
                values.push(value.to_string());
                total += 1;
            }
        }
        Ok(PropertyFilter(map))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many property names it filters by.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &Vec<String>)> {
        self.0.iter()
    }

    /// Back as query pairs, for links that keep the filter (the dashboard's export link).
    pub fn to_pairs(&self) -> Vec<(String, String)> {
        self.0
            .iter()
            .flat_map(|(k, vs)| vs.iter().map(move |v| (format!("property.{k}"), v.clone())))
            .collect()
    }
}

/// A property name to break figures down by.
pub fn parse_property_name(field: &str, raw: Option<&str>) -> Result<String, ValidationError> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        Some(name) if name.chars().count() <= MAX_PROPERTY_TEXT => Ok(name.to_string()),
        Some(_) => Err(ValidationError::new(field, "is too long")),
        None => Err(ValidationError::new(
            field,
            "is required: the property to break down by, e.g. by=plan",
        )),
    }
}

/// A trend's step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interval {
    Day,
    /// ISO weeks, Monday to Sunday.
    Week,
    Month,
}

impl Interval {
    pub fn parse(raw: Option<&str>) -> Result<Interval, ValidationError> {
        match raw.filter(|s| !s.is_empty()).unwrap_or("week") {
            "day" => Ok(Interval::Day),
            "week" => Ok(Interval::Week),
            "month" => Ok(Interval::Month),
            _ => Err(ValidationError::new(
                "interval",
                "must be day, week or month",
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Interval::Day => "day",
            Interval::Week => "week",
            Interval::Month => "month",
        }
    }

    /// The first day of the period holding `d`.
    pub fn start_of(self, d: NaiveDate) -> NaiveDate {
        match self {
            Interval::Day => d,
            Interval::Week => d - Days::new(d.weekday().num_days_from_monday() as u64),
            Interval::Month => d.with_day(1).expect("the first of a month"),
        }
    }

    /// The first day of the next period.
    pub fn next(self, start: NaiveDate) -> NaiveDate {
        match self {
            Interval::Day => start + Days::new(1),
            Interval::Week => start + Days::new(7),
            Interval::Month => start + Months::new(1),
        }
    }

    /// The range a trend covers when the query gives no `from`: 30 days, 12 weeks, 12 months.
    pub fn default_from(self, to: NaiveDate) -> NaiveDate {
        match self {
            Interval::Day => to - Days::new(29),
            Interval::Week => self.start_of(to) - Days::new(7 * 11),
            Interval::Month => self.start_of(to) - Months::new(11),
        }
    }
}

/// One period of a trend: its days (inclusive, local) and its instants (UTC, end exclusive).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrendPeriod {
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
    pub start: NaiveDateTime,
    pub end: NaiveDateTime,
}

/// The whole periods that cover `from..=to`, each a local day range turned into UTC instants by
/// `midnight` (local midnight of a day, in UTC).
pub fn periods(
    interval: Interval,
    from: NaiveDate,
    to: NaiveDate,
    midnight: impl Fn(NaiveDate) -> NaiveDateTime,
) -> Result<Vec<TrendPeriod>, ValidationError> {
    let mut out = Vec::new();
    let mut start = interval.start_of(from);
    while start <= to {
        if out.len() == MAX_TREND_POINTS {
            return Err(ValidationError::new(
                "interval",
                format!(
                    "makes more than {MAX_TREND_POINTS} points: narrow from/to or take a wider interval"
                ),
            ));
        }
        let next = interval.next(start);
        out.push(TrendPeriod {
            first_day: start,
            last_day: next - Days::new(1),
            start: midnight(start),
            end: midnight(next),
        });
        start = next;
    }
    Ok(out)
}

/// How a comment feed is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CommentSort {
    #[default]
    Newest,
    /// Lowest score first, newest first within a score.
    Lowest,
}

impl CommentSort {
    pub fn parse(raw: Option<&str>) -> Result<CommentSort, ValidationError> {
        match raw.filter(|s| !s.is_empty()) {
            None | Some("newest") => Ok(CommentSort::Newest),
            Some("lowest") => Ok(CommentSort::Lowest),
            Some(_) => Err(ValidationError::new("sort", "must be newest or lowest")),
        }
    }
}

/// The words of a full-text search: letters and digits only, so nothing in the query reaches
/// the search syntax of either database. At most 16 words; all must match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchWords(Vec<String>);

impl SearchWords {
    pub fn parse(raw: Option<&str>) -> Result<Option<SearchWords>, ValidationError> {
        let Some(raw) = raw.filter(|s| !s.trim().is_empty()) else {
            return Ok(None);
        };
        if raw.chars().count() > 500 {
            return Err(ValidationError::new("q", "must be at most 500 characters"));
        }
        let words: Vec<String> = raw
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(|w| w.to_lowercase())
            .take(16)
            .collect();
        if words.is_empty() {
            return Err(ValidationError::new(
                "q",
                "must hold at least one word of letters or digits",
            ));
        }
        Ok(Some(SearchWords(words)))
    }

    /// An FTS5 query: each word quoted (so it is a plain term), all of them required.
    pub fn fts5(&self) -> String {
        self.0
            .iter()
            .map(|w| format!("\"{w}\""))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Plain words for PostgreSQL's `plainto_tsquery`.
    pub fn plain(&self) -> String {
        self.0.join(" ")
    }
}

/// A score range `min_score..=max_score`, each 0..=10.
pub fn parse_score_bound(field: &str, raw: Option<&str>) -> Result<Option<i32>, ValidationError> {
    raw.filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<i32>()
                .ok()
                .filter(|n| (0..=10).contains(n))
                .ok_or_else(|| ValidationError::new(field, "must be a whole number from 0 to 10"))
        })
        .transpose()
}

/// A leading `=`, `+`, `-`, `@`, tab or carriage return makes a spreadsheet read a cell as a
/// formula: such text gets a leading apostrophe, which spreadsheets show as text.
pub fn spreadsheet_safe(text: &str) -> std::borrow::Cow<'_, str> {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}").into(),
        _ => text.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn property_filters_group_repeated_keys() {
        let f = PropertyFilter::from_pairs([
            ("property.plan", "pro"),
            ("from", "2026-01-01"),
            ("property.plan", "team"),
            ("property.country", "DE"),
            ("property.plan", "pro"),
        ])
        .unwrap();
        let got: Vec<_> = f.iter().collect();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0], (&"country".to_string(), &vec!["DE".to_string()]));
        assert_eq!(got[1].1, &vec!["pro".to_string(), "team".to_string()]);
        assert!(PropertyFilter::from_pairs([("property.", "x")]).is_err());
    }

    #[test]
    fn property_filters_are_capped() {
        let names: Vec<(String, String)> = (0..MAX_FILTER_NAMES)
            .map(|i| (format!("property.p{i}"), "x".to_string()))
            .collect();
        let as_refs = |v: &[(String, String)]| {
            PropertyFilter::from_pairs(v.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        };
        assert_eq!(as_refs(&names).unwrap().iter().count(), MAX_FILTER_NAMES);
        let mut one_more = names.clone();
        one_more.push(("property.extra".into(), "x".into()));
        let e = as_refs(&one_more).unwrap_err();
        assert_eq!(e.field, "property");
        assert!(e.message.contains("at most 10 property names"), "{e}");
        // A name already there takes more values; repeats count once.
        let mut repeated = names.clone();
        repeated.extend(names.iter().cloned());
        repeated.push(("property.p0".into(), "y".into()));
        assert!(as_refs(&repeated).is_ok());

        let values: Vec<(String, String)> = (0..MAX_FILTER_VALUES)
            .map(|i| ("property.plan".to_string(), format!("v{i}")))
            .collect();
        assert!(as_refs(&values).is_ok());
        let mut too_many = values.clone();
        too_many.push(("property.country".into(), "DE".into()));
        let e = as_refs(&too_many).unwrap_err();
        assert!(e.message.contains("at most 50 property values"), "{e}");
    }

    #[test]
    fn weeks_are_iso_weeks_and_cover_the_range() {
        let p = periods(Interval::Week, d("2026-01-01"), d("2026-01-14"), |day| {
            day.and_hms_opt(0, 0, 0).unwrap()
        })
        .unwrap();
        assert_eq!(p.len(), 3);
        assert_eq!(p[0].first_day, d("2025-12-29"));
        assert_eq!(p[0].last_day, d("2026-01-04"));
        assert_eq!(p[2].last_day, d("2026-01-18"));
        let m = periods(Interval::Month, d("2026-01-31"), d("2026-03-01"), |day| {
            day.and_hms_opt(0, 0, 0).unwrap()
        })
        .unwrap();
        assert_eq!(m.len(), 3);
        assert_eq!(m[1].first_day, d("2026-02-01"));
        assert_eq!(m[1].last_day, d("2026-02-28"));
    }

    #[test]
    fn too_many_points_is_refused() {
        let r = periods(Interval::Day, d("2020-01-01"), d("2026-01-01"), |day| {
            day.and_hms_opt(0, 0, 0).unwrap()
        });
        assert!(r.is_err());
    }

    #[test]
    fn search_words_cannot_carry_syntax() {
        let w = SearchWords::parse(Some("slow \"delivery\" OR* NEAR(x)"))
            .unwrap()
            .unwrap();
        assert_eq!(w.fts5(), "\"slow\" \"delivery\" \"or\" \"near\" \"x\"");
        assert!(SearchWords::parse(Some("***")).is_err());
        assert_eq!(SearchWords::parse(Some("  ")).unwrap(), None);
    }

    #[test]
    fn formulas_are_neutralised() {
        assert_eq!(spreadsheet_safe("=HYPERLINK(1)"), "'=HYPERLINK(1)");
        assert_eq!(spreadsheet_safe("-1"), "'-1");
        assert_eq!(spreadsheet_safe("@x"), "'@x");
        assert_eq!(spreadsheet_safe("fine"), "fine");
    }
}
