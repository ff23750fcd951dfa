//! Failed logins throttled per client address, checked before any password is hashed: five
//! failures are free, then each further attempt waits a minute, doubling with every failure
//! (at most an hour). A success, or a quarter of an hour without failures, forgets the
//! address. Memory is bounded: at most [`MAX_CLIENTS`] addresses are remembered, the one
//! that failed longest ago forgotten first.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Failures allowed before the first wait.
pub const FREE: u32 = 5;
const FIRST_WAIT: Duration = Duration::from_secs(60);
const LONGEST_WAIT: Duration = Duration::from_secs(3600);
const FORGET: Duration = Duration::from_secs(15 * 60);
pub const MAX_CLIENTS: usize = 1024;

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: Instant,
}

impl Failures {
    /// When the next attempt is allowed.
    fn until(&self) -> Option<Instant> {
        let over = self.count.checked_sub(FREE)?;
        let wait = FIRST_WAIT
            .checked_mul(1u32.checked_shl(over).unwrap_or(u32::MAX))
            .unwrap_or(LONGEST_WAIT)
            .min(LONGEST_WAIT);
        Some(self.last + wait)
    }

    fn forgotten(&self, now: Instant) -> bool {
        let quiet_since = self.until().unwrap_or(self.last).max(self.last);
        now.saturating_duration_since(quiet_since) >= FORGET
    }
}

#[derive(Debug, Default)]
pub struct Throttle {
    clients: HashMap<IpAddr, Failures>,
}

impl Throttle {
    /// How long `client` must wait before it may try a password, if it must.
    pub fn wait(&mut self, client: IpAddr, now: Instant) -> Option<Duration> {
        let f = *self.clients.get(&client)?;
        if f.forgotten(now) {
            self.clients.remove(&client);
            return None;
        }
        f.until()
            .map(|u| u.saturating_duration_since(now))
            .filter(|d| !d.is_zero())
    }

    /// `client` tried a wrong name or password.
    pub fn failed(&mut self, client: IpAddr, now: Instant) {
        if !self.clients.contains_key(&client) && self.clients.len() >= MAX_CLIENTS {
            self.clients.retain(|_, f| !f.forgotten(now));
            if self.clients.len() >= MAX_CLIENTS
                && let Some(oldest) = self
                    .clients
                    .iter()
                    .min_by_key(|(_, f)| f.last)
                    .map(|(a, _)| *a)
            {
                self.clients.remove(&oldest);
            }
        }
        let f = self.clients.entry(client).or_insert(Failures {
            count: 0,
            last: now,
        });
        f.count = f.count.saturating_add(1);
        f.last = now;
    }

    /// `client` logged in: its failures are forgotten.
    pub fn succeeded(&mut self, client: IpAddr) {
        self.clients.remove(&client);
    }

    pub fn len(&self) -> usize {
        self.clients.len()
    }

    pub fn is_empty(&self) -> bool {
        self.clients.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(n: u8) -> IpAddr {
        IpAddr::from([192, 168, 1, n])
    }

    #[test]
    fn five_failures_are_free_then_the_wait_doubles_per_failure() {
        let mut t = Throttle::default();
        let t0 = Instant::now();
        for i in 0..FREE {
            assert_eq!(t.wait(ip(1), t0), None, "attempt {i}");
            t.failed(ip(1), t0);
        }
        assert_eq!(t.wait(ip(1), t0), Some(Duration::from_secs(60)));
        assert_eq!(t.wait(ip(2), t0), None, "another address is unaffected");
        let t1 = t0 + Duration::from_secs(60);
        assert_eq!(t.wait(ip(1), t1), None);
        t.failed(ip(1), t1);
        assert_eq!(t.wait(ip(1), t1), Some(Duration::from_secs(120)));
        // Many more: the wait stops at an hour.
        let mut now = t1;
        for _ in 0..40 {
            now += Duration::from_secs(3600);
            t.failed(ip(1), now);
        }
        assert_eq!(t.wait(ip(1), now), Some(Duration::from_secs(3600)));
        // A quarter of an hour after the wait ends, the address is forgotten.
        assert_eq!(t.wait(ip(1), now + Duration::from_secs(3600 + 900)), None);
        assert!(t.is_empty());
    }

    #[test]
    fn a_login_forgets_the_failures() {
        let mut t = Throttle::default();
        let t0 = Instant::now();
        for _ in 0..FREE {
            t.failed(ip(1), t0);
        }
        t.succeeded(ip(1));
        assert_eq!(t.wait(ip(1), t0), None);
    }

    #[test]
    fn memory_is_bounded_and_the_oldest_is_forgotten_first() {
        let mut t = Throttle::default();
        let t0 = Instant::now();
        for i in 0..(MAX_CLIENTS as u32 + 10) {
            let a = IpAddr::from((0x0a00_0000u32 + i).to_be_bytes());
            for _ in 0..FREE {
                t.failed(a, t0 + Duration::from_millis(u64::from(i)));
            }
        }
        assert_eq!(t.len(), MAX_CLIENTS);
        let newest = IpAddr::from((0x0a00_0000u32 + MAX_CLIENTS as u32 + 9).to_be_bytes());
        assert!(t.wait(newest, t0 + Duration::from_secs(1)).is_some());
        let first = IpAddr::from(0x0a00_0000u32.to_be_bytes());
        assert_eq!(t.wait(first, t0 + Duration::from_secs(1)), None);
    }
}
