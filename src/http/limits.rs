//! Slowing down guessing: once one address has failed too often this minute (wrong API keys,
//! unknown link tokens), its further failures are answered 429 for the rest of the minute, and
//! logged once per minute, not once per request. Valid keys and links are never limited: an
//! address may be shared by a whole office, and one scanner in it must not lock people out.
//!
//! Written here rather than taken from `governor`/`actix-governor`: those count and limit every
//! request, while this counts only failures and limits only failures.
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const WINDOW: Duration = Duration::from_secs(60);
/// Addresses tracked at once; beyond it the oldest windows are dropped.
const MAX_TRACKED: usize = 100_000;

pub struct FailureLimiter {
    limit: u32,
    by_address: Mutex<HashMap<IpAddr, Window>>,
}

struct Window {
    started: Instant,
    failures: u32,
    logged: bool,
}

impl FailureLimiter {
    /// `limit` failures per address and minute; 0 turns the limiter off.
    pub fn new(limit: u32) -> FailureLimiter {
        FailureLimiter {
            limit,
            by_address: Mutex::new(HashMap::new()),
        }
    }

    /// Seconds until the address may try again, when it has failed too often this minute.
    pub fn blocked_for(&self, ip: Option<IpAddr>) -> Option<u64> {
        let ip = group(ip?);
        if self.limit == 0 {
            return None;
        }
        let map = self.by_address.lock().expect("limiter lock");
        let w = map.get(&ip)?;
        let age = w.started.elapsed();
        (age < WINDOW && w.failures >= self.limit).then(|| (WINDOW - age).as_secs().max(1))
    }

    /// Counts one failure; answers seconds to wait when this one went over the limit.
    pub fn record_failure(&self, ip: Option<IpAddr>, what: &str) -> Option<u64> {
        let ip = group(ip?);
        if self.limit == 0 {
            return None;
        }
        let mut map = self.by_address.lock().expect("limiter lock");
        if map.len() >= MAX_TRACKED {
            map.retain(|_, w| w.started.elapsed() < WINDOW);
            // Still full of live windows (many addresses failing at once): start over rather than
            // grow without bound or scan the whole map on every failure.
            if map.len() >= MAX_TRACKED / 2 {
                map.clear();
            }
        }
        let w = map.entry(ip).or_insert_with(|| Window {
            started: Instant::now(),
            failures: 0,
            logged: false,
        });
        if w.started.elapsed() >= WINDOW {
            *w = Window {
                started: Instant::now(),
                failures: 0,
                logged: false,
            };
        }
        w.failures += 1;
        if w.failures < self.limit {
            return None;
        }
        if !w.logged {
            w.logged = true;
            tracing::warn!(%ip, limit = self.limit, kind = what, "repeated failures from one address; answering 429 for the rest of the minute");
        }
        Some(
            (WINDOW.saturating_sub(w.started.elapsed()))
                .as_secs()
                .max(1),
        )
    }
}

/// IPv6 clients get a whole /64 from their provider: count per /64, not per address.
pub(crate) fn group(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => {
            let mut seg = v6.segments();
            if let Some(v4) = v6.to_ipv4_mapped() {
                return IpAddr::V4(v4);
            }
            for s in &mut seg[4..] {
                *s = 0;
            }
            IpAddr::V6(std::net::Ipv6Addr::from(seg))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_after_the_limit_and_only_that_address() {
        let l = FailureLimiter::new(3);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        assert_eq!(l.record_failure(Some(a), "api_key"), None);
        assert_eq!(l.record_failure(Some(a), "api_key"), None);
        assert!(l.blocked_for(Some(a)).is_none());
        assert!(l.record_failure(Some(a), "api_key").is_some());
        assert!(l.blocked_for(Some(a)).is_some());
        assert!(l.blocked_for(Some(b)).is_none());
        assert!(FailureLimiter::new(0)
            .record_failure(Some(a), "x")
            .is_none());
    }

    #[test]
    fn ipv6_addresses_of_one_prefix_count_together() {
        let l = FailureLimiter::new(2);
        let one: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let two: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        l.record_failure(Some(one), "x");
        assert!(l.record_failure(Some(two), "x").is_some());
        assert!(l.blocked_for(Some(other)).is_none());
    }
}
