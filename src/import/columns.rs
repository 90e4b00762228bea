//! Which CSV column holds what: the one mapping table of both import formats (documented in
//! docs/MIGRATING-FROM-DELIGHTED.md). Headers match without regard to case, spaces or
//! underscores; a column the table does not name is a property of the answer.

/// What a column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// The answer's id at the source: importing the same row twice adds it once.
    Id,
    Email,
    Name,
    Score,
    Comment,
    /// When the answer was given.
    RespondedAt,
    /// `nps` rows are imported; other survey types (CSAT, CES...) are skipped.
    SurveyType,
    /// Known, and not worth keeping: links into the old service, its own bookkeeping.
    Ignored,
}

/// The two formats `npsd import` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Delighted's CSV export of survey responses.
    Delighted,
    /// `email, score, comment, responded_at` and any property columns.
    Plain,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Delighted => "delighted",
            Format::Plain => "csv",
        }
    }
}

/// Delighted's export names, and the names other tools that re-export it use. Everything else in
/// the export (the person's properties, `Delighted Source`, `Delighted Page URL`, ...) becomes a
/// property.
pub const DELIGHTED: &[(&str, Field)] = &[
    ("Response ID", Field::Id),
    ("ID", Field::Id),
    ("Email", Field::Email),
    ("Person Email", Field::Email),
    ("Email Address", Field::Email),
    ("Customer Email", Field::Email),
    ("Name", Field::Name),
    ("Person Name", Field::Name),
    ("Customer Name", Field::Name),
    ("Score", Field::Score),
    ("NPS Score", Field::Score),
    ("Rating", Field::Score),
    ("NPS", Field::Score),
    ("Comment", Field::Comment),
    ("Comments", Field::Comment),
    ("Response Timestamp", Field::RespondedAt),
    ("Response Timestamp (UTC)", Field::RespondedAt),
    ("Response Date", Field::RespondedAt),
    ("Responded At", Field::RespondedAt),
    ("Submitted At", Field::RespondedAt),
    ("Answered At", Field::RespondedAt),
    ("Response Time", Field::RespondedAt),
    ("Created At", Field::RespondedAt),
    ("Created At (UTC)", Field::RespondedAt),
    ("Date", Field::RespondedAt),
    ("Timestamp", Field::RespondedAt),
    ("Timestamp (UTC)", Field::RespondedAt),
    ("Survey Type", Field::SurveyType),
    ("Permalink", Field::Ignored),
    ("Updated At", Field::Ignored),
    ("Updated Timestamp", Field::Ignored),
    ("Person ID", Field::Ignored),
    ("Notes", Field::Ignored),
    ("Additional Answers", Field::Ignored),
];

/// The plain format: npsd's own names.
pub const PLAIN: &[(&str, Field)] = &[
    ("id", Field::Id),
    ("email", Field::Email),
    ("name", Field::Name),
    ("score", Field::Score),
    ("comment", Field::Comment),
    ("responded_at", Field::RespondedAt),
];

/// A header reduced to what matching looks at: lower case, letters and digits only.
fn folded(header: &str) -> String {
    header
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// A property column's name: without a `Properties: ` (or `property.`) prefix some exports put
/// before the person's properties, without control characters (PostgreSQL cannot store a NUL),
/// at most 64 characters.
fn property_name(header: &str) -> String {
    let bare = [
        "person properties: ",
        "person property: ",
        "properties: ",
        "property: ",
        "properties.",
        "property.",
    ]
    .iter()
    .find_map(|p| {
        let (head, rest) = (header.get(..p.len())?, header.get(p.len()..)?);
        (head.eq_ignore_ascii_case(p) && !rest.is_empty()).then_some(rest)
    })
    .unwrap_or(header);
    bare.chars().filter(|c| !c.is_control()).take(64).collect()
}

/// What each column of a header row holds: a known field, or a property by that name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Column {
    Field(Field),
    Property(String),
}

/// Maps a header row; an error names the required columns that are missing.
pub fn map_header(format: Format, headers: &[&str]) -> Result<Vec<Column>, String> {
    let table = match format {
        Format::Delighted => DELIGHTED,
        Format::Plain => PLAIN,
    };
    let mut seen = Vec::new();
    let columns: Vec<Column> = headers
        .iter()
        .map(|h| {
            let h = h.trim().trim_start_matches('\u{feff}');
            match table.iter().find(|(name, _)| folded(name) == folded(h)) {
                // Every ignored column is dropped, however many there are.
                Some((_, Field::Ignored)) => Column::Field(Field::Ignored),
                // The first column of any other kind wins; a second one is kept as a property.
                Some((_, field)) if !seen.contains(field) => {
                    seen.push(*field);
                    Column::Field(*field)
                }
                _ => Column::Property(property_name(h)),
            }
        })
        .collect();
    let missing: Vec<String> = [Field::Score, Field::RespondedAt]
        .into_iter()
        .filter(|f| !seen.contains(f))
        .map(|f| {
            let names: Vec<&str> = table
                .iter()
                .filter(|(_, g)| *g == f)
                .map(|(n, _)| *n)
                .collect();
            if names.len() == 1 {
                names[0].to_string()
            } else {
                format!("{} (or {})", names[0], names[1..].join(", "))
            }
        })
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "the header row has no column for {}; it has: {}",
            missing.join(" or "),
            headers.join(", ")
        ));
    }
    Ok(columns)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delighted_headers_map_by_name_whatever_their_case() {
        let cols = map_header(
            Format::Delighted,
            &[
                "\u{feff}Response ID",
                "email",
                "Score",
                "comment",
                "response_timestamp",
                "Plan",
                "Delighted Source",
                "Properties: country",
            ],
        )
        .unwrap();
        assert_eq!(cols[0], Column::Field(Field::Id));
        assert_eq!(cols[1], Column::Field(Field::Email));
        assert_eq!(cols[4], Column::Field(Field::RespondedAt));
        assert_eq!(cols[5], Column::Property("Plan".into()));
        assert_eq!(cols[6], Column::Property("Delighted Source".into()));
        assert_eq!(cols[7], Column::Property("country".into()));
    }

    /// The columns the migration guide's table says are "read and not kept".
    fn ignored_in_the_docs() -> Vec<&'static str> {
        let guide = include_str!("../../docs/MIGRATING-FROM-DELIGHTED.md");
        let row = guide
            .lines()
            .find(|l| l.starts_with("| read and not kept |"))
            .expect("the guide's column table has a row of ignored columns");
        row.split('`').skip(1).step_by(2).collect()
    }

    #[test]
    fn every_column_the_docs_call_ignored_is_ignored() {
        let ignored = ignored_in_the_docs();
        assert!(ignored.contains(&"Permalink") && ignored.contains(&"Updated Timestamp"));
        for name in &ignored {
            assert!(
                DELIGHTED.contains(&(*name, Field::Ignored)),
                "{name} is in the table as ignored"
            );
        }
        let headers: Vec<&str> = ["Score", "Response Timestamp"]
            .into_iter()
            .chain(ignored.iter().copied())
            .chain(["plan"])
            .collect();
        let cols = map_header(Format::Delighted, &headers).unwrap();
        for (header, col) in headers.iter().zip(&cols).skip(2).take(ignored.len()) {
            assert_eq!(*col, Column::Field(Field::Ignored), "{header}");
        }
        assert_eq!(cols.last(), Some(&Column::Property("plan".into())));
    }

    #[test]
    fn a_missing_score_or_time_is_named() {
        let err = map_header(Format::Plain, &["email", "comment"]).unwrap_err();
        assert!(
            err.contains("score") && err.contains("responded_at"),
            "{err}"
        );
    }
}
