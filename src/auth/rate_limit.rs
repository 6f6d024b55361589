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

/// The part of an address one client controls: IPv6 hosts get a /64 each,
/// so counting single addresses there would count nothing.
fn client_network(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(_) => address,
        IpAddr::V6(v6) => IpAddr::V6(std::net::Ipv6Addr::from(
            u128::from(v6) & !((1u128 << 64) - 1),
        )),
    }
}

/// Usernames as counted: case-insensitive, and bounded in length so a
/// megabyte-long name costs no memory.
fn counted_name(username: &str) -> String {
    username.chars().take(64).collect::<String>().to_lowercase()
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

    /// Decides whether a login may be tried now and, if so, counts it as a
    /// failure at once (undone by `succeeded`), so attempts made in parallel
    /// count against the limits too.
    pub fn attempt(&self, username: &str, address: Option<IpAddr>) -> Attempt {
        let now = Instant::now();
        let username = counted_name(username);
        let address = address.map(client_network);
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
        Attempt::Allowed {
            delay: backoff(count),
        }
    }

    /// The attempt succeeded: it is no failure, and the pair starts afresh.
    /// The username's other failures stay, so an attack on it stays slowed.
    pub fn succeeded(&self, username: &str, address: Option<IpAddr>) {
        let username = counted_name(username);
        let address = address.map(client_network);
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        failures.remove(&Key::Pair(&username, address).text());
        let keys = [Some(Key::User(&username)), address.map(Key::Address)];
        for key in keys.into_iter().flatten() {
            if let Some(times) = failures.get_mut(&key.text()) {
                times.pop_back();
            }
        }
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

    fn fail(limiter: &LoginLimiter, username: &str, address: Option<IpAddr>) {
        assert!(matches!(
            limiter.attempt(username, address),
            Attempt::Allowed { .. }
        ));
    }

    #[test]
    fn failures_lock_the_pair_and_only_slow_the_username() {
        let limiter = LoginLimiter::new(Duration::from_secs(900), 10, 50);
        for _ in 0..10 {
            fail(&limiter, "Root", ip(1));
        }
        assert!(matches!(
            limiter.attempt("root", ip(1)),
            Attempt::Refused { retry_after_seconds } if retry_after_seconds > 800
        ));
        assert_eq!(
            limiter.attempt("root", ip(2)),
            Attempt::Allowed { delay: FIRST_DELAY }
        );
        limiter.succeeded("root", ip(2));
        assert_eq!(
            limiter.attempt("someone-else", ip(1)),
            Attempt::Allowed {
                delay: Duration::ZERO
            }
        );
        // From many addresses: slower and slower, never locked.
        for last in 10..=60 {
            fail(&limiter, "root", ip(last));
        }
        assert_eq!(
            limiter.attempt("root", ip(2)),
            Attempt::Allowed { delay: MAX_DELAY }
        );
    }

    #[test]
    fn an_address_failing_across_usernames_is_refused() {
        let limiter = LoginLimiter::new(Duration::from_secs(900), 10, 50);
        for n in 0..50 {
            fail(&limiter, &format!("user{n}"), ip(9));
        }
        assert!(matches!(
            limiter.attempt("fresh", ip(9)),
            Attempt::Refused { .. }
        ));
        assert!(matches!(
            limiter.attempt("fresh", ip(8)),
            Attempt::Allowed { .. }
        ));
    }

    #[test]
    fn attempts_count_before_their_outcome_is_known() {
        // Ten guesses in flight at once: the eleventh is refused already.
        let limiter = LoginLimiter::new(Duration::from_secs(900), 10, 50);
        for _ in 0..10 {
            fail(&limiter, "root", ip(1));
        }
        assert!(matches!(
            limiter.attempt("root", ip(1)),
            Attempt::Refused { .. }
        ));
    }

    #[test]
    fn an_ipv6_network_counts_as_one_client() {
        let limiter = LoginLimiter::new(Duration::from_secs(900), 10, 50);
        for n in 0..10u16 {
            let address = IpAddr::from([0x2001, 0xdb8, 0, 7, n, n, n, n]);
            fail(&limiter, "root", Some(address));
        }
        let other_host = IpAddr::from([0x2001, 0xdb8, 0, 7, 9, 9, 9, 99]);
        assert!(matches!(
            limiter.attempt("root", Some(other_host)),
            Attempt::Refused { .. }
        ));
        let other_network = IpAddr::from([0x2001, 0xdb8, 0, 8, 0, 0, 0, 1]);
        assert!(matches!(
            limiter.attempt("root", Some(other_network)),
            Attempt::Allowed { .. }
        ));
    }

    #[test]
    fn long_usernames_cost_bounded_memory() {
        assert_eq!(counted_name(&"A".repeat(1 << 20)).len(), 64);
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
