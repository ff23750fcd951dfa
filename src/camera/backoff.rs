//! Backoff: exponential (reconnects: 1 s to a 60 s cap; motion branch restarts: 5 s to 5 min),
//! ±20 % jitter so cameras that failed together (a switch reboot) do not retry in lockstep.
//! Pure: no clock, no sleep. The one backoff of nvr.

use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Backoff {
    attempt: u32,
    base: Duration,
    cap: Duration,
    rng: u64,
}

impl Backoff {
    /// Reconnecting to a camera: 1 s doubling to 60 s. `seed` only decorrelates cameras;
    /// any value works (0 is remapped).
    pub fn new(seed: u64) -> Self {
        Self::with(Duration::from_secs(1), Duration::from_secs(60), seed)
    }

    /// From `base` doubling to `cap` (the motion branch restarts on 5 s → 5 min).
    pub fn with(base: Duration, cap: Duration, seed: u64) -> Self {
        Backoff {
            attempt: 0,
            base,
            cap,
            rng: seed | 1,
        }
    }

    /// The delay before the next attempt; each call without [`reset`](Self::reset) doubles it.
    pub fn next_delay(&mut self) -> Duration {
        let exp = self
            .base
            .saturating_mul(1u32 << self.attempt.min(16))
            .min(self.cap);
        self.attempt = self.attempt.saturating_add(1);
        // xorshift64: plenty for jitter, no dependency.
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        let unit = (self.rng % 10_001) as f64 / 10_000.0; // 0.0..=1.0
        let jittered = exp.mul_f64(0.8 + 0.4 * unit);
        jittered.min(self.cap)
    }

    /// After a healthy period: the next failure starts again at about 1 s.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_exponentially_to_the_cap_with_bounded_jitter() {
        let mut b = Backoff::new(42);
        let delays: Vec<f64> = (0..10).map(|_| b.next_delay().as_secs_f64()).collect();
        let nominal = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0, 60.0, 60.0];
        for (d, n) in delays.iter().zip(nominal) {
            assert!(
                *d >= n * 0.8 - 1e-9 && *d <= (n * 1.2).min(60.0) + 1e-9,
                "{delays:?}"
            );
        }
    }

    #[test]
    fn reset_starts_over() {
        let mut b = Backoff::new(7);
        for _ in 0..6 {
            b.next_delay();
        }
        b.reset();
        assert!(b.next_delay() <= Duration::from_millis(1200));
    }

    #[test]
    fn cameras_with_different_seeds_do_not_move_in_lockstep() {
        let (mut a, mut b) = (Backoff::new(1), Backoff::new(2));
        let same = (0..8).filter(|_| a.next_delay() == b.next_delay()).count();
        assert!(same < 8);
    }
}
