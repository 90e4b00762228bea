//! The NPS formula, once: every figure (API, dashboard, digest) comes from here.
use super::score::{Category, Score};
use serde::Serialize;

/// How many counted responses gave each score 0..=10.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScoreCounts([u64; 11]);

impl ScoreCounts {
    pub fn add(&mut self, score: Score, count: u64) {
        self.0[score.value() as usize] += count;
    }

    pub fn from_pairs(pairs: impl IntoIterator<Item = (Score, u64)>) -> Self {
        let mut counts = ScoreCounts::default();
        for (score, count) in pairs {
            counts.add(score, count);
        }
        counts
    }

    pub fn per_score(&self) -> &[u64; 11] {
        &self.0
    }

    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }

    pub fn in_category(&self, category: Category) -> u64 {
        let (lo, hi) = category.range();
        self.0[lo as usize..=hi as usize].iter().sum()
    }
}

/// The aggregate of a set of responses.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NpsSummary {
    /// -100..=100 with one decimal; None without responses.
    pub nps: Option<f64>,
    pub responses: u64,
    pub promoters: u64,
    pub passives: u64,
    pub detractors: u64,
    /// The 95% margin of error of `nps`, in NPS points, one decimal; None without responses.
    pub margin_of_error: Option<f64>,
}

fn one_decimal(x: f64) -> f64 {
    let rounded = (x * 10.0).round() / 10.0;
    if rounded == 0.0 {
        0.0 // no "-0.0" in JSON
    } else {
        rounded
    }
}

impl NpsSummary {
    pub fn from_counts(counts: &ScoreCounts) -> NpsSummary {
        NpsSummary::from_categories(
            counts.in_category(Category::Promoter),
            counts.in_category(Category::Passive),
            counts.in_category(Category::Detractor),
        )
    }

    pub fn from_categories(promoters: u64, passives: u64, detractors: u64) -> NpsSummary {
        let n = promoters + passives + detractors;
        let (nps, margin_of_error) = if n == 0 {
            (None, None)
        } else {
            let nf = n as f64;
            let p = promoters as f64 / nf;
            let d = detractors as f64 / nf;
            let score = p - d;
            // Each response contributes +1, 0 or -1; the variance of that mean is
            // (p + d - (p - d)^2) / n. 1.96 standard errors give the 95% margin.
            let variance = (p + d - score * score).max(0.0) / nf;
            (
                Some(one_decimal(score * 100.0)),
                Some(one_decimal(1.96 * variance.sqrt() * 100.0)),
            )
        };
        NpsSummary {
            nps,
            responses: n,
            promoters,
            passives,
            detractors,
            margin_of_error,
        }
    }
}

/// Responses per invitation sent, 0..=1 with three decimals; None when nothing was sent.
pub fn response_rate(responses: u64, invitations_sent: u64) -> Option<f64> {
    (invitations_sent > 0)
        .then(|| ((responses as f64 / invitations_sent as f64) * 1000.0).round() / 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(scores: &[u8]) -> ScoreCounts {
        ScoreCounts::from_pairs(scores.iter().map(|s| (Score::new(*s as i64).unwrap(), 1)))
    }

    #[test]
    fn no_responses_means_no_score() {
        let s = NpsSummary::from_counts(&ScoreCounts::default());
        assert_eq!(s.nps, None);
        assert_eq!(s.margin_of_error, None);
        assert_eq!(s.responses, 0);
    }

    #[test]
    fn promoters_minus_detractors_in_percent() {
        // 3 promoters, 1 passive, 2 detractors of 6: 50% - 33.3% = 16.7
        let s = NpsSummary::from_counts(&counts(&[10, 9, 9, 7, 6, 0]));
        assert_eq!(s.nps, Some(16.7));
        assert_eq!((s.promoters, s.passives, s.detractors), (3, 1, 2));
        assert_eq!(NpsSummary::from_counts(&counts(&[10])).nps, Some(100.0));
        assert_eq!(NpsSummary::from_counts(&counts(&[6])).nps, Some(-100.0));
        assert_eq!(NpsSummary::from_counts(&counts(&[8, 7])).nps, Some(0.0));
    }

    #[test]
    fn margin_of_error_shrinks_with_more_responses() {
        // p = 0.5, d = 0.25: variance = (0.75 - 0.0625)/n
        let mut c = ScoreCounts::default();
        c.add(Score::new(10).unwrap(), 200);
        c.add(Score::new(8).unwrap(), 100);
        c.add(Score::new(3).unwrap(), 100);
        let s = NpsSummary::from_counts(&c);
        assert_eq!(s.nps, Some(25.0));
        let expected = 1.96 * ((0.75f64 - 0.0625) / 400.0).sqrt() * 100.0;
        assert_eq!(s.margin_of_error, Some((expected * 10.0).round() / 10.0));
        let all_same = NpsSummary::from_counts(&counts(&[10, 10, 10]));
        assert_eq!(all_same.margin_of_error, Some(0.0));
    }

    #[test]
    fn response_rate_is_a_fraction() {
        assert_eq!(response_rate(1, 0), None);
        assert_eq!(response_rate(1, 3), Some(0.333));
        assert_eq!(response_rate(2, 2), Some(1.0));
    }
}
