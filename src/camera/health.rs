//! Per-connection health: has media arrived, has it stopped, has it been healthy long enough
//! to forgive past failures. Pure logic over a monotonic time, driven by the supervisor's tick
//! and tested with a simulated clock.

use std::time::Duration;

/// Limits for one connection attempt.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Time from starting the pipeline to the first video buffer.
    pub connect_timeout: Duration,
    /// Longest silence tolerated once media flowed.
    pub stall: Duration,
    /// Recording this long without trouble resets the reconnect backoff.
    pub healthy_after: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Still waiting for the first video buffer.
    Connecting,
    /// Media is flowing. `first` is true on the tick that first saw it.
    Recording { first: bool },
    /// Media has flowed for `healthy_after`: reset the backoff (reported once).
    Healthy,
    /// Give up on this connection.
    Down(String),
}

#[derive(Debug)]
pub struct Health {
    limits: Limits,
    started: Duration,
    first_media: Option<Duration>,
    healthy_reported: bool,
}

impl Health {
    pub fn new(limits: Limits, now: Duration) -> Self {
        Health {
            limits,
            started: now,
            first_media: None,
            healthy_reported: false,
        }
    }

    /// `last_media`: monotonic time of the newest video buffer, if any arrived.
    pub fn tick(&mut self, now: Duration, last_media: Option<Duration>) -> Verdict {
        let Some(last) = last_media.filter(|&t| t >= self.started) else {
            return if now.saturating_sub(self.started) > self.limits.connect_timeout {
                Verdict::Down(format!(
                    "no video within {} s of connecting",
                    self.limits.connect_timeout.as_secs()
                ))
            } else {
                Verdict::Connecting
            };
        };
        let silent = now.saturating_sub(last);
        if silent > self.limits.stall {
            return Verdict::Down(format!(
                "stream stalled: no video for {} s",
                silent.as_secs()
            ));
        }
        let first_seen = *self.first_media.get_or_insert(now);
        if !self.healthy_reported && now.saturating_sub(first_seen) >= self.limits.healthy_after {
            self.healthy_reported = true;
            return Verdict::Healthy;
        }
        Verdict::Recording {
            first: first_seen == now,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::{Clock, SimClock};

    const LIMITS: Limits = Limits {
        connect_timeout: Duration::from_secs(10),
        stall: Duration::from_secs(8),
        healthy_after: Duration::from_secs(30),
    };
    const FRAME: Duration = Duration::from_millis(100);

    #[test]
    fn connect_timeout_without_media() {
        let clock = SimClock::default();
        let mut h = Health::new(LIMITS, clock.now());
        clock.advance(Duration::from_secs(10));
        assert_eq!(h.tick(clock.now(), None), Verdict::Connecting);
        clock.advance(Duration::from_millis(500));
        assert!(matches!(h.tick(clock.now(), None), Verdict::Down(r) if r.contains("10 s")));
    }

    #[test]
    fn frames_keep_it_recording_then_healthy_once_then_stall() {
        let clock = SimClock::default();
        let mut h = Health::new(LIMITS, clock.now());
        clock.advance(Duration::from_secs(1));
        assert_eq!(
            h.tick(clock.now(), Some(clock.now())),
            Verdict::Recording { first: true }
        );
        let mut healthy = 0;
        // 40 s of 10 fps video, ticking every frame.
        for _ in 0..400 {
            clock.advance(FRAME);
            match h.tick(clock.now(), Some(clock.now())) {
                Verdict::Healthy => healthy += 1,
                Verdict::Recording { first: false } => {}
                v => panic!("unexpected {v:?}"),
            }
        }
        assert_eq!(healthy, 1);
        // The camera freezes: 8 s of silence is tolerated, more is a stall.
        let last = clock.now();
        clock.advance(Duration::from_secs(8));
        assert!(matches!(
            h.tick(clock.now(), Some(last)),
            Verdict::Recording { .. }
        ));
        clock.advance(FRAME);
        assert!(
            matches!(h.tick(clock.now(), Some(last)), Verdict::Down(r) if r.contains("stalled"))
        );
    }

    #[test]
    fn media_from_a_previous_connection_does_not_count() {
        let clock = SimClock::default();
        clock.advance(Duration::from_secs(100));
        let stale = clock.now() - Duration::from_secs(1);
        let mut h = Health::new(LIMITS, clock.now());
        clock.advance(FRAME);
        assert_eq!(h.tick(clock.now(), Some(stale)), Verdict::Connecting);
    }
}
