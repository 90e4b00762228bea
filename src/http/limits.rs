//! Slowing down guessing: once one address has failed too often this minute (wrong API keys,
//! unknown link tokens), its further failures are answered 429 for the rest of the minute, and
//! logged once per minute, not once per request. Valid keys and links are never limited: an
//! address may be shared by a whole office, and one scanner in it must not lock people out.
//!
//! Sign-ins count their attempts before the password is hashed (`begin`), so attempts sent at
//! once count too, and take a right password back (`forgive`). `SignInDelays` slows down wrong
//! passwords per address and account.
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

    /// Counts an attempt as a failure before it is checked, so that attempts running at once
    /// count too (a sign-in's password takes a while to hash); Err(seconds to wait) when the
    /// address is over the limit already. An attempt that then succeeds is taken back
    /// (`forgive`), so in the end only failures count.
    pub fn begin(&self, ip: Option<IpAddr>, what: &str) -> Result<(), u64> {
        let Some(ip) = ip.map(group) else {
            return Ok(());
        };
        if self.limit == 0 {
            return Ok(());
        }
        let mut map = self.by_address.lock().expect("limiter lock");
        if let Some(w) = map.get(&ip) {
            let age = w.started.elapsed();
            if age < WINDOW && w.failures >= self.limit {
                return Err((WINDOW - age).as_secs().max(1));
            }
        }
        self.count(&mut map, ip, what);
        Ok(())
    }

    /// Takes back an attempt counted by `begin` that succeeded.
    pub fn forgive(&self, ip: Option<IpAddr>) {
        let Some(ip) = ip.map(group) else { return };
        let mut map = self.by_address.lock().expect("limiter lock");
        if let Some(w) = map.get_mut(&ip) {
            w.failures = w.failures.saturating_sub(1);
        }
    }

    /// Counts one failure; answers seconds to wait when this one went over the limit.
    pub fn record_failure(&self, ip: Option<IpAddr>, what: &str) -> Option<u64> {
        let ip = group(ip?);
        if self.limit == 0 {
            return None;
        }
        let mut map = self.by_address.lock().expect("limiter lock");
        self.count(&mut map, ip, what)
    }

    fn count(&self, map: &mut HashMap<IpAddr, Window>, ip: IpAddr, what: &str) -> Option<u64> {
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

/// Wrong passwords for one account from one address that cost nothing; each further one makes the
/// next attempt wait, twice as long each time.
pub const FREE_SIGN_IN_FAILURES: u32 = 5;
const FIRST_DELAY: Duration = Duration::from_secs(5);
const MAX_DELAY: Duration = Duration::from_secs(15 * 60);
/// A pair's count is forgotten after a day without attempts.
const PAIR_MEMORY: Duration = Duration::from_secs(24 * 60 * 60);
/// Wrong passwords for one account from clients it has never been signed in on, per window,
/// however many addresses they come from (guessing spread over a botnet).
pub const ACCOUNT_WIDE_FAILURES: u32 = 100;
const ACCOUNT_WINDOW: Duration = Duration::from_secs(15 * 60);

/// The slow-down of sign-in guessing, per account. Wrong passwords are counted per client address
/// and account together, so failures from elsewhere never hold up the owner at their own address:
/// after [`FREE_SIGN_IN_FAILURES`] the pair waits 5 s before its next try, then 10 s, 20 s, and so
/// on up to 15 minutes. Against guessing spread over many addresses, one account also takes at
/// most [`ACCOUNT_WIDE_FAILURES`] a quarter hour from browsers that were never signed in to it.
/// A browser that was (it carries the account's signed device cookie) is exempt from that bound
/// and counts apart from the other clients at its address, so the owner's own browser is never
/// held up by anybody else's failures, also behind a reverse proxy, where every client has the
/// proxy's address.
///
/// Attempts are counted before the password is checked (attempts sent at once count too) and a
/// right password takes its attempt back and clears the pair.
pub struct SignInDelays {
    inner: Mutex<Delays>,
}

#[derive(Default)]
struct Delays {
    /// By client address, account, and whether the browser carries the account's device cookie.
    pairs: HashMap<(IpAddr, String, bool), Pair>,
    accounts: HashMap<String, (Instant, u32)>,
}

struct Pair {
    failures: u32,
    last: Instant,
}

/// How long a pair with `failures` wrong passwords waits after its last attempt.
fn delay(failures: u32) -> Duration {
    if failures < FREE_SIGN_IN_FAILURES {
        return Duration::ZERO;
    }
    let doublings = (failures - FREE_SIGN_IN_FAILURES).min(16);
    (FIRST_DELAY * 2u32.pow(doublings)).min(MAX_DELAY)
}

fn seconds(d: Duration) -> u64 {
    d.as_secs_f64().ceil().max(1.0) as u64
}

impl Default for SignInDelays {
    fn default() -> Self {
        SignInDelays {
            inner: Mutex::new(Delays::default()),
        }
    }
}

impl SignInDelays {
    /// Counts an attempt at `account` from `ip`; Err(seconds to wait) when it must wait first.
    /// `known_browser`: the request carries the account's device cookie.
    pub fn begin(
        &self,
        ip: Option<IpAddr>,
        account: &str,
        known_browser: bool,
        now: Instant,
    ) -> Result<(), u64> {
        let ip = ip
            .map(group)
            .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
        let mut d = self.inner.lock().expect("sign-in delays lock");
        if d.pairs.len() >= MAX_TRACKED {
            d.pairs
                .retain(|_, p| now.duration_since(p.last) < MAX_DELAY);
            if d.pairs.len() >= MAX_TRACKED / 2 {
                d.pairs.clear();
            }
        }
        if d.accounts.len() >= MAX_TRACKED {
            d.accounts
                .retain(|_, (since, _)| now.duration_since(*since) < ACCOUNT_WINDOW);
        }
        let key = (ip, account.to_string(), known_browser);
        if let Some(p) = d.pairs.get(&key) {
            let idle = now.duration_since(p.last);
            let wait = delay(p.failures);
            if idle < wait {
                return Err(seconds(wait - idle));
            }
        }
        if !known_browser {
            if let Some((since, n)) = d.accounts.get(account) {
                let age = now.duration_since(*since);
                if age < ACCOUNT_WINDOW && *n >= ACCOUNT_WIDE_FAILURES {
                    return Err(seconds(ACCOUNT_WINDOW - age));
                }
            }
            let (since, n) = d.accounts.entry(account.to_string()).or_insert((now, 0));
            if now.duration_since(*since) >= ACCOUNT_WINDOW {
                *since = now;
                *n = 0;
            }
            *n += 1;
            if *n == ACCOUNT_WIDE_FAILURES {
                tracing::warn!(limit = ACCOUNT_WIDE_FAILURES, "many wrong passwords for one account from browsers never signed in to it; those wait for the rest of the quarter hour");
            }
        }
        let pair = d.pairs.entry(key).or_insert(Pair {
            failures: 0,
            last: now,
        });
        if now.duration_since(pair.last) >= PAIR_MEMORY {
            pair.failures = 0;
        }
        pair.failures += 1;
        pair.last = now;
        Ok(())
    }

    /// The attempt was not evaluated after all (no turn to hash it came free): it no longer
    /// counts.
    pub fn take_back(&self, ip: Option<IpAddr>, account: &str, known_browser: bool) {
        let ip = ip
            .map(group)
            .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
        let mut d = self.inner.lock().expect("sign-in delays lock");
        if let Some(p) = d.pairs.get_mut(&(ip, account.to_string(), known_browser)) {
            p.failures = p.failures.saturating_sub(1);
        }
        if !known_browser {
            if let Some((_, n)) = d.accounts.get_mut(account) {
                *n = n.saturating_sub(1);
            }
        }
    }

    /// The password was right: the pair starts over and the attempt no longer counts.
    pub fn succeeded(&self, ip: Option<IpAddr>, account: &str, known_browser: bool) {
        let ip = ip
            .map(group)
            .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
        let mut d = self.inner.lock().expect("sign-in delays lock");
        d.pairs.remove(&(ip, account.to_string(), known_browser));
        if !known_browser {
            if let Some((_, n)) = d.accounts.get_mut(account) {
                *n = n.saturating_sub(1);
            }
        }
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
    fn counted_before_checking_and_taken_back_on_success() {
        let l = FailureLimiter::new(3);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        assert!(l.begin(Some(a), "sign-in").is_ok());
        assert!(l.begin(Some(a), "sign-in").is_ok());
        l.forgive(Some(a));
        assert!(l.begin(Some(a), "sign-in").is_ok());
        assert!(l.begin(Some(a), "sign-in").is_ok());
        assert!(
            l.begin(Some(a), "sign-in").is_err(),
            "three attempts in flight"
        );
    }

    #[test]
    fn delays_grow_per_address_and_account_only() {
        let d = SignInDelays::default();
        let t = Instant::now();
        let guesser: IpAddr = "10.0.0.1".parse().unwrap();
        let owner: IpAddr = "10.0.0.2".parse().unwrap();
        for _ in 0..FREE_SIGN_IN_FAILURES {
            assert!(d.begin(Some(guesser), "a@x", false, t).is_ok());
        }
        assert_eq!(d.begin(Some(guesser), "a@x", false, t), Err(5));
        assert!(
            d.begin(Some(guesser), "a@x", true, t).is_ok(),
            "the owner's browser at the same address (a reverse proxy)"
        );
        assert!(
            d.begin(Some(guesser), "b@x", false, t).is_ok(),
            "another account"
        );
        assert!(d.begin(Some(owner), "a@x", false, t).is_ok(), "the owner");
        let t = t + Duration::from_secs(5);
        assert!(d.begin(Some(guesser), "a@x", false, t).is_ok());
        assert_eq!(d.begin(Some(guesser), "a@x", false, t), Err(10));
        let t = t + Duration::from_secs(10);
        assert!(d.begin(Some(guesser), "a@x", false, t).is_ok());
        assert_eq!(d.begin(Some(guesser), "a@x", false, t), Err(20));
        let mut t = t;
        for _ in 0..20 {
            t += MAX_DELAY;
            assert!(d.begin(Some(guesser), "a@x", false, t).is_ok());
        }
        assert_eq!(
            d.begin(Some(guesser), "a@x", false, t),
            Err(900),
            "at most 15 minutes"
        );
        d.succeeded(Some(guesser), "a@x", false);
        assert!(d.begin(Some(guesser), "a@x", false, t).is_ok());
    }

    #[test]
    fn the_account_wide_bound_spares_known_browsers() {
        let d = SignInDelays::default();
        let t = Instant::now();
        for i in 0..ACCOUNT_WIDE_FAILURES {
            let ip = IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + i));
            assert!(d.begin(Some(ip), "a@x", false, t).is_ok());
        }
        let fresh: IpAddr = "192.0.2.1".parse().unwrap();
        assert!(d.begin(Some(fresh), "a@x", false, t).is_err());
        assert!(
            d.begin(Some(fresh), "a@x", true, t).is_ok(),
            "the owner's browser"
        );
        assert!(d.begin(Some(fresh), "b@x", false, t).is_ok());
        let later = t + ACCOUNT_WINDOW;
        assert!(d.begin(Some(fresh), "a@x", false, later).is_ok());
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
