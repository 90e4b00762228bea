//! One CSV row into an answer, or the reason it is skipped.
use super::columns::{Column, Field, Format};
use crate::domain::email::EmailAddress;
use crate::domain::embed::{clean_text, MAX_COMMENT_CHARS};
use crate::domain::score::Score;
use crate::domain::transaction::MAX_PROPERTIES;
use crate::store::answers::{NewAnswer, Who};
use crate::store::ids::SurveyId;
use crate::store::state::Channel;
use chrono::{DateTime, NaiveDate, NaiveDateTime};
use sha2::{Digest, Sha256};

/// Longest property value kept; longer ones (long page URLs) are cut here.
const MAX_PROPERTY_CHARS: usize = 500;

/// A time as exports write it: RFC 3339 (`2024-04-18T09:14:20Z`, `...+02:00`), with a space
/// (`2024-04-18 09:14:20`, with ` UTC` or ` +0000`; UTC without a zone), a day alone, or Unix
/// seconds.
pub fn parse_time(raw: &str) -> Option<NaiveDateTime> {
    let s = raw.trim();
    if let Ok(secs) = s.parse::<i64>() {
        return DateTime::from_timestamp(secs, 0).map(|t| t.naive_utc());
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.naive_utc());
    }
    let s = s
        .strip_suffix(" UTC")
        .or_else(|| s.strip_suffix('Z'))
        .unwrap_or(s);
    for fmt in [
        "%Y-%m-%d %H:%M:%S %z",
        "%Y-%m-%d %H:%M %z",
        "%Y-%m-%dT%H:%M:%S%.f%z",
    ] {
        if let Ok(t) = DateTime::parse_from_str(s, fmt) {
            return Some(t.naive_utc());
        }
    }
    for fmt in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
        "%m/%d/%Y %H:%M:%S",
        "%m/%d/%Y %H:%M",
        "%b %d, %Y %I:%M:%S %p",
        "%b %d, %Y %I:%M %p",
        "%b %d, %Y %H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(t);
        }
    }
    for fmt in ["%Y-%m-%d", "%m/%d/%Y", "%b %d, %Y"] {
        if let Ok(d) = NaiveDate::parse_from_str(s, fmt) {
            return d.and_hms_opt(0, 0, 0);
        }
    }
    None
}

fn parse_score(raw: &str) -> Option<Score> {
    let s = raw.trim();
    let whole = match s.parse::<i64>() {
        Ok(n) => n,
        // `9.0` from a spreadsheet; not `9.5`.
        Err(_) => {
            let f = s.parse::<f64>().ok()?;
            if f.fract() != 0.0 {
                return None;
            }
            f as i64
        }
    };
    Score::new(whole)
}

/// The answer's id: the same source row (by its id, or by everything it says when it has none)
/// always gives the same id, so a second run finds it and adds nothing.
fn answer_id(survey_id: &SurveyId, format: Format, key: &str) -> String {
    let digest = Sha256::digest(format!("{survey_id}\n{}\n{key}", format.name()).as_bytes());
    format!("import-{}", &hex::encode(digest)[..32])
}

/// Reads one row (starting on `line` of the file); `Err` is why it is skipped.
pub fn parse_row(
    format: Format,
    columns: &[Column],
    record: &csv::StringRecord,
    line: u64,
    survey_id: &SurveyId,
    now: NaiveDateTime,
) -> Result<NewAnswer, String> {
    let mut id = None;
    let mut email = None;
    let mut name = None;
    let mut score = None;
    let mut comment = None;
    let mut responded_at = None;
    let mut properties: Vec<(String, String)> = Vec::new();
    if record.len() < columns.len() {
        return Err(format!(
            "the row has {} fields; the header has {}",
            record.len(),
            columns.len()
        ));
    }
    for (column, value) in columns.iter().zip(record.iter()) {
        let value = value.trim();
        match column {
            Column::Field(Field::Id) => id = Some(value).filter(|v| !v.is_empty()),
            Column::Field(Field::Email) if value.is_empty() => {}
            Column::Field(Field::Email) => {
                email = Some(
                    EmailAddress::parse("email", value)
                        .map_err(|_| format!("email '{value}' is not an email address"))?,
                )
            }
            Column::Field(Field::Name) => {
                name = Some(clean_text(value).replace(['\n', '\t'], " "))
                    .filter(|n| !n.is_empty())
                    .map(|n| n.chars().take(200).collect::<String>())
            }
            Column::Field(Field::Score) if value.is_empty() => {
                return Err("the score is empty".into())
            }
            Column::Field(Field::Score) => {
                score = Some(parse_score(value).ok_or_else(|| {
                    format!("score '{value}' is not a whole number from 0 to 10")
                })?)
            }
            Column::Field(Field::Comment) => {
                let text = clean_text(value);
                if text.chars().count() > MAX_COMMENT_CHARS {
                    return Err(format!(
                        "the comment is longer than {MAX_COMMENT_CHARS} characters"
                    ));
                }
                comment = Some(text).filter(|c| !c.trim().is_empty());
            }
            Column::Field(Field::RespondedAt) if value.is_empty() => {
                return Err("the response time is empty".into())
            }
            Column::Field(Field::RespondedAt) => {
                responded_at = Some(parse_time(value).ok_or_else(|| {
                    format!("response time '{value}' is not a date and time (2024-04-18T09:14:20Z, 2024-04-18 09:14:20 or Unix seconds)")
                })?)
            }
            Column::Field(Field::SurveyType) => {
                if !value.is_empty() && !value.eq_ignore_ascii_case("nps") {
                    return Err(format!("survey type '{value}' is not NPS"));
                }
            }
            Column::Field(Field::Ignored) => {}
            Column::Property(prop) => {
                let value = clean_text(value);
                if !value.is_empty() && !prop.is_empty() && properties.len() < MAX_PROPERTIES {
                    properties.push((
                        prop.clone(),
                        value.chars().take(MAX_PROPERTY_CHARS).collect(),
                    ));
                }
            }
        }
    }
    let score = score.ok_or("the score is missing")?;
    let responded_at = responded_at.ok_or("the response time is missing")?;
    if responded_at > now {
        return Err(format!("response time {responded_at} is in the future"));
    }
    properties.sort();
    properties.dedup_by(|a, b| a.0 == b.0);
    let key = match (id, &email) {
        (Some(source_id), _) => format!("id\n{source_id}"),
        // A person's answer without an id: what it says (the same person, second, score and
        // comment twice is one answer).
        (None, Some(email)) => format!(
            "row\n{}\n{}\n{}\n{}",
            email.key(),
            responded_at,
            score.value(),
            comment.as_deref().unwrap_or("")
        ),
        // An anonymous answer without an id: forty "10"s on one day are forty answers, told
        // apart by their line (the same file again gives the same ids).
        (None, None) => format!(
            "line\n{line}\n{responded_at}\n{}\n{}",
            score.value(),
            comment.as_deref().unwrap_or("")
        ),
    };
    Ok(NewAnswer {
        id: answer_id(survey_id, format, &key).into(),
        channel: Channel::Import,
        who: email.map_or(Who::Nobody, Who::Address),
        name,
        score,
        comment,
        responded_at,
        properties,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::columns::map_header;

    fn now() -> NaiveDateTime {
        parse_time("2026-11-27 00:00:00").unwrap()
    }

    #[test]
    fn times_in_the_forms_exports_use() {
        let at = |s: &str| parse_time(s).map(|t| t.to_string());
        let want = Some("2024-04-18 09:14:20".to_string());
        for s in [
            "2024-04-18T09:14:20Z",
            "2024-04-18T11:14:20+02:00",
            "2024-04-18 09:14:20",
            "2024-04-18 09:14:20 UTC",
            "2024-04-18 04:14:20 -0500",
            "1713431660",
            "04/18/2024 09:14:20",
            "Apr 18, 2024 9:14:20 AM",
        ] {
            assert_eq!(at(s), want, "{s}");
        }
        assert_eq!(at("2024-04-18"), Some("2024-04-18 00:00:00".into()));
        assert_eq!(at("yesterday"), None);
    }

    #[test]
    fn a_row_becomes_an_answer_with_its_properties() {
        let cols = map_header(
            Format::Delighted,
            &[
                "Response ID",
                "Email",
                "Score",
                "Comment",
                "Response Timestamp",
                "Plan",
            ],
        )
        .unwrap();
        let rec = csv::StringRecord::from(vec![
            "17",
            "Ann@Example.com",
            "9",
            " Great ",
            "2024-04-18 09:14:20",
            "pro",
        ]);
        let a = parse_row(Format::Delighted, &cols, &rec, 2, &"s1".into(), now()).unwrap();
        assert_eq!(a.score.value(), 9);
        assert!(matches!(&a.who, Who::Address(e) if e.key() == "ann@example.com"));
        assert_eq!(a.properties, vec![("Plan".to_string(), "pro".to_string())]);
        assert_eq!(a.channel, Channel::Import);
        // The same source id gives the same answer id; another survey another one.
        let again = parse_row(Format::Delighted, &cols, &rec, 2, &"s1".into(), now()).unwrap();
        assert_eq!(a.id, again.id);
        assert_ne!(
            a.id,
            parse_row(Format::Delighted, &cols, &rec, 2, &"s2".into(), now())
                .unwrap()
                .id
        );
    }

    #[test]
    fn bad_rows_say_why() {
        let cols = map_header(
            Format::Plain,
            &["email", "score", "comment", "responded_at"],
        )
        .unwrap();
        let why = |fields: Vec<&str>| {
            parse_row(
                Format::Plain,
                &cols,
                &csv::StringRecord::from(fields),
                2,
                &"s".into(),
                now(),
            )
            .unwrap_err()
        };
        assert!(why(vec!["a@b.co", "11", "", "2024-01-01"]).contains("score '11'"));
        assert!(why(vec!["a@b.co", "", "", "2024-01-01"]).contains("score is empty"));
        assert!(why(vec!["nope", "5", "", "2024-01-01"]).contains("not an email"));
        assert!(why(vec!["a@b.co", "5", "", "soon"]).contains("response time 'soon'"));
        assert!(why(vec!["a@b.co", "5", "", "2030-01-01"]).contains("future"));
        assert!(why(vec!["a@b.co", "5"]).contains("fields"));
    }
}
