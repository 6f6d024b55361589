//! Failed-login limits, in memory (per instance: behind a load balancer each
//! instance counts its own). Built so that an attacker cannot lock the owner
//! out: failures lock only the (username, address) pairs that made them, and
//! an address that fails across many usernames; a username under attack from
//! many addresses is slowed for everyone (a growing delay), never locked.

use std::{
    collections::{HashMap, VecDeque},
    net::IpAddr,
    sync::Mutex,
    time::{Duration, Instant},
};

/// What a login attempt may do now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attempt {
    /// Go ahead, after waiting `delay` (zero unless the username is under attack).
    Allowed { delay: Duration },
    /// Refused until the oldest counted failure leaves the window.
    Refused { retry_after_seconds: u64 },
}

#[derive(Debug)]
pub struct LoginLimiter {
    window: Duration,
    per_pair: usize,
    per_address: usize,
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
}

/// Failures of one username (from anywhere) before its attempts are slowed,
/// and how the delay grows: doubling every this many failures more.
const SLOW_AFTER: usize = 10;
const FIRST_DELAY: Duration = Duration::from_millis(250);
const MAX_DELAY: Duration = Duration::from_secs(4);

enum Key<'a> {
    User(&'a str),
    Pair(&'a str, Option<IpAddr>),
    Address(IpAddr),
}

impl Key<'_> {
    fn text(&self) -> String {
        match self {
            Key::User(user) => format!("user:{user}"),
            Key::Pair(user, Some(address)) => format!("pair:{user}|{address}"),
            Key::Pair(user, None) => format!("pair:{user}|-"),
            Key::Address(address) => format!("addr:{address}"),
        }
    }
}

impl LoginLimiter {
    /// `per_pair` failures of one username from one address, or `per_address`
    /// failures from one address, within `window` refuse further attempts.
    pub fn new(window: Duration, per_pair: usize, per_address: usize) -> Self {
        LoginLimiter {
            window,
            per_pair,
            per_address,
            failures: Mutex::new(HashMap::new()),
        }
    }

    pub fn check(&self, username: &str, address: Option<IpAddr>) -> Attempt {
        let now = Instant::now();
        let username = username.to_lowercase();
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let mut recent = |key: Key<'_>| -> (usize, Option<Instant>) {
            let Some(times) = failures.get_mut(&key.text()) else {
                return (0, None);
            };
            while times
                .front()
                .is_some_and(|t| now.duration_since(*t) > self.window)
            {
                times.pop_front();
            }
            (times.len(), times.front().copied())
        };
        let mut limits = vec![(recent(Key::Pair(&username, address)), self.per_pair)];
        if let Some(address) = address {
            limits.push((recent(Key::Address(address)), self.per_address));
        }
        let retry_after = limits
            .into_iter()
            .filter(|((count, _), limit)| count >= limit)
            .filter_map(|((_, oldest), _)| oldest)
            .map(|oldest| {
                self.window
                    .saturating_sub(now.duration_since(oldest))
                    .as_secs()
                    .max(1)
            })
            .max();
        if let Some(retry_after_seconds) = retry_after {
            return Attempt::Refused {
                retry_after_seconds,
            };
        }
        let (count, _) = recent(Key::User(&username));
        Attempt::Allowed {
            delay: backoff(count),
        }
    }

    pub fn record_failure(&self, username: &str, address: Option<IpAddr>) {
        let now = Instant::now();
        let username = username.to_lowercase();
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let keys = [
            Some(Key::User(&username)),
            Some(Key::Pair(&username, address)),
            address.map(Key::Address),
        ];
        for key in keys.into_iter().flatten() {
            failures.entry(key.text()).or_default().push_back(now);
        }
        // Bound memory: forget keys whose failures all left the window.
        if failures.len() > 10_000 {
            failures.retain(|_, times| {
                times
                    .back()
                    .is_some_and(|t| now.duration_since(*t) <= self.window)
            });
        }
    }

    /// The pair that just succeeded starts afresh; the username's count
    /// stays, so an ongoing attack on it stays slowed.
    pub fn record_success(&self, username: &str, address: Option<IpAddr>) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        failures.remove(&Key::Pair(&username.to_lowercase(), address).text());
    }
}

/// No delay below `SLOW_AFTER` failures; then 250 ms, doubling every
/// `SLOW_AFTER` failures more, at most 4 s.
fn backoff(failures: usize) -> Duration {
    if failures < SLOW_AFTER {
        return Duration::ZERO;
    }
    let doublings = u32::try_from((failures - SLOW_AFTER) / SLOW_AFTER).unwrap_or(u32::MAX);
    FIRST_DELAY
        .checked_mul(2u32.saturating_pow(doublings))
        .map_or(MAX_DELAY, |delay| delay.min(MAX_DELAY))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> Option<IpAddr> {
        Some(IpAddr::from([203, 0, 113, last]))
    }

    #[test]
    fn failures_lock_the_pair_and_only_slow_the_username() {
        let limiter = LoginLimiter::new(Duration::from_secs(900), 10, 50);
        for _ in 0..10 {
            limiter.record_failure("Root", ip(1));
        }
        assert!(matches!(
            limiter.check("root", ip(1)),
            Attempt::Refused { retry_after_seconds } if retry_after_seconds > 800
        ));
        assert_eq!(
            limiter.check("root", ip(2)),
            Attempt::Allowed { delay: FIRST_DELAY }
        );
        assert_eq!(
            limiter.check("someone-else", ip(1)),
            Attempt::Allowed {
                delay: Duration::ZERO
            }
        );
        // From many addresses: slower and slower, never locked.
        for last in 10..=60 {
            limiter.record_failure("root", ip(last));
        }
        assert_eq!(
            limiter.check("root", ip(2)),
            Attempt::Allowed { delay: MAX_DELAY }
        );
        limiter.record_success("root", ip(1));
        assert!(matches!(
            limiter.check("root", ip(1)),
            Attempt::Allowed { .. }
        ));
    }

    #[test]
    fn an_address_failing_across_usernames_is_refused() {
        let limiter = LoginLimiter::new(Duration::from_secs(900), 10, 50);
        for n in 0..50 {
            limiter.record_failure(&format!("user{n}"), ip(9));
        }
        assert!(matches!(
            limiter.check("fresh", ip(9)),
            Attempt::Refused { .. }
        ));
        assert!(matches!(
            limiter.check("fresh", ip(8)),
            Attempt::Allowed { .. }
        ));
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(backoff(9), Duration::ZERO);
        assert_eq!(backoff(10), Duration::from_millis(250));
        assert_eq!(backoff(20), Duration::from_millis(500));
        assert_eq!(backoff(40), Duration::from_secs(2));
        assert_eq!(backoff(10_000), MAX_DELAY);
    }
}
