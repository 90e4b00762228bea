use super::ValidationError;
use serde::Serialize;

/// A score on the 0..=10 recommendation scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Score(u8);

/// The NPS group a score falls in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Category {
    Detractor,
    Passive,
    Promoter,
}

impl Score {
    pub const MAX: u8 = 10;

    pub fn new(value: i64) -> Option<Score> {
        (0..=Self::MAX as i64)
            .contains(&value)
            .then_some(Score(value as u8))
    }

    /// Parses a score as it arrives in a link or a form field.
    pub fn parse(field: &str, raw: &str) -> Result<Score, ValidationError> {
        raw.trim()
            .parse::<i64>()
            .ok()
            .and_then(Score::new)
            .ok_or_else(|| ValidationError::new(field, "must be a whole number from 0 to 10"))
    }

    pub fn value(self) -> u8 {
        self.0
    }

    /// The NPS cut, written once: 0-6 detractors, 7-8 passives, 9-10 promoters.
    pub fn category(self) -> Category {
        match self.0 {
            0..=6 => Category::Detractor,
            7..=8 => Category::Passive,
            _ => Category::Promoter,
        }
    }

    pub fn all() -> impl Iterator<Item = Score> {
        (0..=Self::MAX).map(Score)
    }
}

impl Category {
    /// The group of a stored score (always 0 to 10; anything outside is clamped to the scale).
    pub fn of(score: i32) -> Category {
        Score(score.clamp(0, Score::MAX as i32) as u8).category()
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Category::Detractor => "detractor",
            Category::Passive => "passive",
            Category::Promoter => "promoter",
        }
    }

    pub fn parse(field: &str, raw: &str) -> Result<Category, ValidationError> {
        match raw {
            "promoter" | "promoters" => Ok(Category::Promoter),
            "passive" | "passives" => Ok(Category::Passive),
            "detractor" | "detractors" => Ok(Category::Detractor),
            _ => Err(ValidationError::new(
                field,
                "must be one of promoter, passive, detractor",
            )),
        }
    }

    /// The inclusive score range of this group.
    pub fn range(self) -> (u8, u8) {
        match self {
            Category::Detractor => (0, 6),
            Category::Passive => (7, 8),
            Category::Promoter => (9, 10),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_scale_and_nothing_else() {
        assert_eq!(Score::parse("score", "0").unwrap().value(), 0);
        assert_eq!(Score::parse("score", " 10 ").unwrap().value(), 10);
        for bad in ["-1", "11", "", "7.5", "ten", "99999999999999999999"] {
            assert!(Score::parse("score", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn categories_follow_the_nps_definition() {
        let cats: Vec<_> = Score::all().map(Score::category).collect();
        assert!(cats[..7].iter().all(|c| *c == Category::Detractor));
        assert_eq!(&cats[7..9], &[Category::Passive, Category::Passive]);
        assert_eq!(&cats[9..], &[Category::Promoter, Category::Promoter]);
    }
}
