//! Failed-login limits per username and per client address, in memory.
//! (Per instance: behind a load balancer each instance counts its own.)

use std::{
    collections::{HashMap, VecDeque},
    net::IpAddr,
    sync::Mutex,
    time::{Duration, Instant},
};

#[derive(Debug)]
pub struct LoginLimiter {
    window: Duration,
    per_username: usize,
    per_address: usize,
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl LoginLimiter {
    pub fn new(window: Duration, per_username: usize, per_address: usize) -> Self {
        LoginLimiter {
            window,
            per_username,
            per_address,
            failures: Mutex::new(HashMap::new()),
        }
    }

    fn keys(username: &str, address: Option<IpAddr>) -> (String, Option<String>) {
        (
            format!("user:{}", username.to_lowercase()),
            address.map(|a| format!("addr:{a}")),
        )
    }

    /// `Some(seconds to wait)` when either limit is reached.
    pub fn check(&self, username: &str, address: Option<IpAddr>) -> Option<u64> {
        let now = Instant::now();
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let (user_key, address_key) = Self::keys(username, address);
        let mut wait = None;
        for (key, limit) in [
            (Some(user_key), self.per_username),
            (address_key, self.per_address),
        ] {
            let Some(key) = key else { continue };
            if let Some(times) = failures.get_mut(&key) {
                while times
                    .front()
                    .is_some_and(|t| now.duration_since(*t) > self.window)
                {
                    times.pop_front();
                }
                if times.len() >= limit {
                    let oldest = times.front().copied().unwrap_or(now);
                    let left = self
                        .window
                        .saturating_sub(now.duration_since(oldest))
                        .as_secs()
                        .max(1);
                    wait = Some(wait.map_or(left, |w: u64| w.max(left)));
                }
            }
        }
        wait
    }

    pub fn record_failure(&self, username: &str, address: Option<IpAddr>) {
        let now = Instant::now();
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let (user_key, address_key) = Self::keys(username, address);
        for key in std::iter::once(user_key).chain(address_key) {
            failures.entry(key).or_default().push_back(now);
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

    pub fn record_success(&self, username: &str) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        failures.remove(&Self::keys(username, None).0);
    }
}
