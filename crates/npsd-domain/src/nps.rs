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

/// Fewer counted responses than this and an NPS swings too much to act on: every view says
/// "too few answers for a reliable figure" (the API as `small_sample`).
pub const SMALL_SAMPLE: u64 = 30;

/// What every view says of a figure from fewer than `SMALL_SAMPLE` responses.
pub const SMALL_SAMPLE_WORDS: &str = "too few answers for a reliable figure";

/// 95% of a normal distribution lies within this many standard deviations of its mean.
const Z_95: f64 = 1.96;

/// The aggregate of a set of responses.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NpsSummary {
    /// -100..=100 with one decimal; None without responses.
    pub nps: Option<f64>,
    pub responses: u64,
    pub promoters: u64,
    pub passives: u64,
    pub detractors: u64,
    /// The 95% margin of error of `nps` by the adjusted-Wald method, in NPS points, one
    /// decimal: never 0 with a response; None without responses.
    pub margin_of_error: Option<f64>,
    /// The 95% adjusted-Wald interval itself. It is centred on the adjusted estimate,
    /// `nps * n / (n + 3)`, so it leans toward 0 when answers are few (and for a single answer
    /// need not reach `nps`); None without responses.
    pub interval: Option<ConfidenceInterval>,
    /// Fewer than `SMALL_SAMPLE` responses: too few answers for a reliable figure. Also true
    /// without any (then `nps` is None).
    pub small_sample: bool,
}

/// A 95% interval of an NPS, in NPS points, one decimal, within -100..=100.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ConfidenceInterval {
    pub low: f64,
    pub high: f64,
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

    /// The NPS is the plain (promoters - detractors) / responses. Its margin is the adjusted
    /// Wald interval's (Rocks, "Interval Estimation for the Net Promoter Score", The American
    /// Statistician 70(4), 2016): add 3 to the responses and 3/4 to promoters and to detractors,
    /// then take the variance of a difference of two proportions. The plain (Wald) margin is 0
    /// whenever every answer falls in one category, however few there are; this one is not,
    /// and it keeps close to 95% coverage down to a handful of answers.
    /// The NPS as a whole number, rounded half away from zero from the exact figure (not from
    /// the one-decimal `nps`, which would round twice: 12.45 is 12, not 12.5 and then 13); None
    /// without responses. For APIs that give NPS as an integer (Delighted's).
    pub fn whole_nps(&self) -> Option<i64> {
        (self.responses > 0).then(|| {
            let exact =
                (self.promoters as f64 - self.detractors as f64) * 100.0 / self.responses as f64;
            exact.round() as i64
        })
    }

    pub fn from_categories(promoters: u64, passives: u64, detractors: u64) -> NpsSummary {
        let n = promoters + passives + detractors;
        let (nps, margin_of_error, interval) = if n == 0 {
            (None, None, None)
        } else {
            let plain = (promoters as f64 - detractors as f64) / n as f64;
            let adjusted_n = n as f64 + 3.0;
            let p = (promoters as f64 + 0.75) / adjusted_n;
            let d = (detractors as f64 + 0.75) / adjusted_n;
            let centre = p - d;
            // Each response contributes +1, 0 or -1; the variance of that mean is
            // (p + d - (p - d)^2) / n.
            let variance = (p + d - centre * centre).max(0.0) / adjusted_n;
            let margin = Z_95 * variance.sqrt();
            let bound = |x: f64| one_decimal(x.clamp(-1.0, 1.0) * 100.0);
            (
                Some(one_decimal(plain * 100.0)),
                Some(one_decimal(margin * 100.0)),
                Some(ConfidenceInterval {
                    low: bound(centre - margin),
                    high: bound(centre + margin),
                }),
            )
        };
        NpsSummary {
            nps,
            responses: n,
            promoters,
            passives,
            detractors,
            margin_of_error,
            interval,
            small_sample: n < SMALL_SAMPLE,
        }
    }
}

/// How the NPS moved from one period to another.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum NpsChange {
    /// A notable rise, by this many NPS points (the difference of the two shown figures).
    Up(f64),
    /// A notable fall, by this many NPS points (positive).
    Down(f64),
    /// The difference (0 included) is within the two margins: it may be chance.
    NoClearChange,
}

impl NpsChange {
    /// `now` against `before`; None when either has no responses.
    ///
    /// A change is notable only when it exceeds the two margins combined, and combined means
    /// added: the two 95% intervals do not overlap, so the adjusted estimates lie further apart
    /// than `now`'s margin plus `before`'s. The sum is stricter than the margin of the
    /// difference itself (the root of the sum of their squares), on purpose: what the digest
    /// and dashboard call a change holds up when a reader compares the two intervals, and one
    /// answer against one answer (+100 to -100) is never a change.
    pub fn between(now: &NpsSummary, before: &NpsSummary) -> Option<NpsChange> {
        let (a, b) = (now.interval?, before.interval?);
        let delta = one_decimal(now.nps? - before.nps?);
        Some(if a.low > b.high {
            NpsChange::Up(delta.abs())
        } else if a.high < b.low {
            NpsChange::Down(delta.abs())
        } else {
            NpsChange::NoClearChange
        })
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

    fn summary(promoters: u64, passives: u64, detractors: u64) -> NpsSummary {
        NpsSummary::from_categories(promoters, passives, detractors)
    }

    fn interval(low: f64, high: f64) -> Option<ConfidenceInterval> {
        Some(ConfidenceInterval { low, high })
    }

    #[test]
    fn one_promoter_has_a_wide_margin() {
        // n' = 1 + 3 = 4, p' = 1.75/4 = 0.4375, d' = 0.75/4 = 0.1875, p' - d' = 0.25
        // variance = (0.625 - 0.0625)/4 = 0.140625, sd = 0.375, margin = 1.96 * 37.5 = 73.5
        // interval = 25 -/+ 73.5 = -48.5..98.5
        let s = summary(1, 0, 0);
        assert_eq!(s.nps, Some(100.0));
        assert_eq!(s.margin_of_error, Some(73.5));
        assert_eq!(s.interval, interval(-48.5, 98.5));
        assert!(s.small_sample);
    }

    #[test]
    fn one_detractor_mirrors_one_promoter() {
        // p' = 0.1875, d' = 0.4375: the same variance 0.140625, margin 73.5, centre -25
        let s = summary(0, 0, 1);
        assert_eq!(s.nps, Some(-100.0));
        assert_eq!(s.margin_of_error, Some(73.5));
        assert_eq!(s.interval, interval(-98.5, 48.5));
    }

    #[test]
    fn one_passive_is_not_certain_either() {
        // p' = d' = 0.1875: variance = 0.375/4 = 0.09375, sd = 0.306186, margin = 60.0125
        let s = summary(0, 1, 0);
        assert_eq!(s.nps, Some(0.0));
        assert_eq!(s.margin_of_error, Some(60.0));
        assert_eq!(s.interval, interval(-60.0, 60.0));
    }

    #[test]
    fn all_promoters_keep_a_margin() {
        // The plain Wald margin of 10 of 10 is 0; here n' = 13, p' = 10.75/13, d' = 0.75/13, p' + d' = 11.5/13, p' - d' = 10/13
        // variance = (11.5/13 - 100/169)/13 = 49.5/2197 = 0.0225307, sd = 0.150102
        // margin = 1.96 * 15.0102 = 29.42; interval = 76.92 -/+ 29.42 = 47.5..106.3, cut at 100
        let s = summary(10, 0, 0);
        assert_eq!(s.nps, Some(100.0));
        assert_eq!(s.margin_of_error, Some(29.4));
        assert_eq!(s.interval, interval(47.5, 100.0));
    }

    #[test]
    fn a_mixed_sample() {
        // 3 promoters, 1 passive, 2 detractors: n' = 9, p' = 3.75/9, d' = 2.75/9
        // p' + d' = 6.5/9, p' - d' = 1/9: variance = (58.5/81 - 1/81)/9 = 57.5/729 = 0.0788752
        // sd = 0.280847, margin = 1.96 * 28.0847 = 55.05; interval = 11.11 -/+ 55.05
        let s = summary(3, 1, 2);
        assert_eq!(s.nps, Some(16.7));
        assert_eq!(s.margin_of_error, Some(55.0));
        assert_eq!(s.interval, interval(-43.9, 66.2));

        // 200 promoters, 100 passives, 100 detractors: n' = 403, p' = 200.75/403,
        // d' = 100.75/403, p' + d' = 301.5/403 = 0.748139, p' - d' = 100/403 = 0.248139
        // variance = (0.748139 - 0.061573)/403 = 0.00170364, sd = 0.0412752, margin = 8.09
        let s = summary(200, 100, 100);
        assert_eq!(s.nps, Some(25.0));
        assert_eq!(s.margin_of_error, Some(8.1));
        assert_eq!(s.interval, interval(16.7, 32.9));
    }

    #[test]
    fn the_margin_is_never_zero_with_a_response() {
        for n in 1..=200 {
            for (p, pa, d) in [(n, 0, 0), (0, n, 0), (0, 0, n), (n / 2, 0, n - n / 2)] {
                let s = summary(p, pa, d);
                let m = s.margin_of_error.unwrap();
                assert!(m > 0.0, "{p}/{pa}/{d}: ±{m}");
                let i = s.interval.unwrap();
                assert!(i.low < i.high, "{p}/{pa}/{d}: {i:?}");
            }
        }
        assert_eq!(summary(0, 0, 0).interval, None);
    }

    #[test]
    fn fewer_than_thirty_answers_are_a_small_sample() {
        assert!(
            summary(0, 0, 0).small_sample,
            "no answers: no reliable figure"
        );
        assert!(summary(1, 0, 0).small_sample);
        assert!(summary(20, 5, 4).small_sample);
        assert!(!summary(20, 5, 5).small_sample);
        assert!(!summary(200, 100, 100).small_sample);
    }

    #[test]
    fn a_change_must_clear_both_margins() {
        // The case: one detractor this week after one promoter last week. The plain
        // figures differ by 200, but -98.5..48.5 and -48.5..98.5 overlap.
        let change = NpsChange::between(&summary(0, 0, 1), &summary(1, 0, 0));
        assert_eq!(change, Some(NpsChange::NoClearChange));
        // 200/100/100 (16.7..32.9) against 100/100/200 (-32.9..-16.7): apart, by 50.
        let better = summary(200, 100, 100);
        let worse = summary(100, 100, 200);
        assert_eq!(
            NpsChange::between(&better, &worse),
            Some(NpsChange::Up(50.0))
        );
        assert_eq!(
            NpsChange::between(&worse, &better),
            Some(NpsChange::Down(50.0))
        );
        // 25 against 20 with about ±8 each: within the margins.
        let close = summary(180, 120, 100);
        assert_eq!(close.nps, Some(20.0));
        assert_eq!(
            NpsChange::between(&better, &close),
            Some(NpsChange::NoClearChange)
        );
        assert_eq!(
            NpsChange::between(&better, &better),
            Some(NpsChange::NoClearChange)
        );
        assert_eq!(NpsChange::between(&better, &summary(0, 0, 0)), None);
        assert_eq!(NpsChange::between(&summary(0, 0, 0), &better), None);
    }

    #[test]
    fn response_rate_is_a_fraction() {
        assert_eq!(response_rate(1, 0), None);
        assert_eq!(response_rate(1, 3), Some(0.333));
        assert_eq!(response_rate(2, 2), Some(1.0));
    }
}
