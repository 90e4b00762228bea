//! How many answers the embedded form takes: per client address (over every survey), and per
//! survey from all addresses, each a number per minute. `governor` (GCRA) does the counting: unlike the
//! failure limiter beside the API, this limits every answer, which is what it was made for. Only
//! answers that would be stored count; refused input costs nothing to store and is not counted.
use crate::store::ids::SurveyId;
use governor::clock::{Clock, DefaultClock};
use governor::state::keyed::HashMapStateStore;
use governor::{Quota, RateLimiter};
use std::net::IpAddr;
use std::num::NonZeroU32;

type Keyed<K> = RateLimiter<K, HashMapStateStore<K>, DefaultClock>;

fn keyed<K: std::hash::Hash + Eq + Clone>(per_minute: u32) -> Option<Keyed<K>> {
    NonZeroU32::new(per_minute).map(|n| RateLimiter::hashmap(Quota::per_minute(n)))
}

/// Keys tracked before forgetting the ones whose limit has recovered.
const MAX_TRACKED: usize = 100_000;

pub struct AnswerLimiter {
    per_address: Option<Keyed<IpAddr>>,
    per_survey: Option<Keyed<String>>,
    clock: DefaultClock,
}

/// Seconds to wait before answering again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryAfter(pub u64);

impl AnswerLimiter {
    /// Answers per minute; 0 turns that limit off.
    pub fn new(per_address: u32, per_survey: u32) -> AnswerLimiter {
        AnswerLimiter {
            per_address: keyed(per_address),
            per_survey: keyed(per_survey),
            clock: DefaultClock::default(),
        }
    }

    /// Takes one answer from the address's and the survey's allowance, or says how long to wait.
    pub fn check(&self, survey_id: &SurveyId, ip: Option<IpAddr>) -> Result<(), RetryAfter> {
        let wait = |e: governor::NotUntil<_>| {
            RetryAfter(e.wait_time_from(self.clock.now()).as_secs().max(1))
        };
        if let (Some(l), Some(ip)) = (&self.per_address, ip) {
            forget_recovered(l);
            l.check_key(&crate::http::limits::group(ip)).map_err(wait)?;
        }
        if let Some(l) = &self.per_survey {
            forget_recovered(l);
            l.check_key(&survey_id.to_string()).map_err(wait)?;
        }
        Ok(())
    }
}

fn forget_recovered<K: std::hash::Hash + Eq + Clone>(l: &Keyed<K>) {
    if l.len() >= MAX_TRACKED {
        l.retain_recent();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_is_per_address_over_every_survey() {
        let l = AnswerLimiter::new(3, 0);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        for survey in ["s1", "s1", "s2"] {
            assert!(l.check(&survey.into(), Some(a)).is_ok());
        }
        let RetryAfter(secs) = l.check(&"s3".into(), Some(a)).unwrap_err();
        assert!((1..=60).contains(&secs), "{secs}");
        assert!(l.check(&"s1".into(), Some(b)).is_ok());
    }

    #[test]
    fn the_survey_limit_counts_every_address() {
        let l = AnswerLimiter::new(0, 2);
        assert!(l
            .check(&"s".into(), Some("10.0.0.1".parse().unwrap()))
            .is_ok());
        assert!(l
            .check(&"s".into(), Some("10.0.0.2".parse().unwrap()))
            .is_ok());
        assert!(l
            .check(&"s".into(), Some("10.0.0.3".parse().unwrap()))
            .is_err());
        assert!(AnswerLimiter::new(0, 0).check(&"s".into(), None).is_ok());
    }
}
