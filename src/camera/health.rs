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
    /// Longest time video may arrive without anything reaching the disk (no segment opened,
    /// the open one not growing). Must exceed the longest GOP: splitmuxsink writes a GOP
    /// once it is complete. Catches streams whose keyframes or timestamps never let the
    /// muxer write, which would otherwise look like `recording` while losing everything.
    pub disk_stall: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Still waiting for the first video buffer.
    Connecting,
    /// Media is flowing. `first` is true on the tick that first saw it.
    Recording { first: bool },
    /// Media has flowed for `healthy_after`: reset the backoff (reported once).
    Healthy,
    /// Media stopped because the disk stopped taking it (the write queue is full): not the
    /// camera's fault, and a new connection would only wait for the same disk.
    WaitingForDisk,
    /// Give up on this connection.
    Down(String),
}

#[derive(Debug)]
pub struct Health {
    limits: Limits,
    started: Duration,
    first_media: Option<Duration>,
    healthy_reported: bool,
    /// The write queue is full: silence upstream of it is the disk's back-pressure.
    disk_full: bool,
}

impl Health {
    pub fn new(limits: Limits, now: Duration) -> Self {
        Health {
            limits,
            started: now,
            first_media: None,
            healthy_reported: false,
            disk_full: false,
        }
    }

    /// Whether the queue between the camera and the disk is full (the disk is not taking
    /// writes); noted before each [`Health::tick`].
    pub fn disk_full(&mut self, full: bool) {
        self.disk_full = full;
    }

    /// `last_media`: monotonic time of the newest video buffer, if any arrived.
    /// `last_disk`: when a segment was last opened or seen growing, if ever.
    pub fn tick(
        &mut self,
        now: Duration,
        last_media: Option<Duration>,
        last_disk: Option<Duration>,
    ) -> Verdict {
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
        if self.disk_full {
            return Verdict::WaitingForDisk;
        }
        let silent = now.saturating_sub(last);
        if silent > self.limits.stall {
            return Verdict::Down(format!(
                "stream stalled: no video for {} s",
                silent.as_secs()
            ));
        }
        let first_seen = *self.first_media.get_or_insert(now);
        let disk_since = last_disk.map_or(first_seen, |d| d.max(first_seen));
        if now.saturating_sub(disk_since) > self.limits.disk_stall {
            return Verdict::Down(format!(
                "video arrives but nothing reached the disk for {} s (no keyframes, or broken \
                 timestamps from the camera?)",
                now.saturating_sub(disk_since).as_secs()
            ));
        }
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
        disk_stall: Duration::from_secs(30),
    };
    const FRAME: Duration = Duration::from_millis(100);

    #[test]
    fn connect_timeout_without_media() {
        let clock = SimClock::default();
        let mut h = Health::new(LIMITS, clock.now());
        clock.advance(Duration::from_secs(10));
        assert_eq!(h.tick(clock.now(), None, None), Verdict::Connecting);
        clock.advance(Duration::from_millis(500));
        assert!(matches!(h.tick(clock.now(), None, None), Verdict::Down(r) if r.contains("10 s")));
    }

    #[test]
    fn frames_keep_it_recording_then_healthy_once_then_stall() {
        let clock = SimClock::default();
        let mut h = Health::new(LIMITS, clock.now());
        clock.advance(Duration::from_secs(1));
        assert_eq!(
            h.tick(clock.now(), Some(clock.now()), None),
            Verdict::Recording { first: true }
        );
        let mut healthy = 0;
        // 40 s of 10 fps video, ticking every frame; the segment file grows every second.
        for i in 0..400 {
            clock.advance(FRAME);
            let disk = Some(clock.now() - FRAME * (i % 10));
            match h.tick(clock.now(), Some(clock.now()), disk) {
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
            h.tick(clock.now(), Some(last), Some(last)),
            Verdict::Recording { .. }
        ));
        clock.advance(FRAME);
        assert!(matches!(
            h.tick(clock.now(), Some(last), Some(last)),
            Verdict::Down(r) if r.contains("stalled")
        ));
    }

    #[test]
    fn a_full_write_queue_is_waited_for_not_taken_for_a_stalled_camera() {
        let clock = SimClock::default();
        let mut h = Health::new(LIMITS, clock.now());
        clock.advance(FRAME);
        let last = clock.now();
        assert!(matches!(
            h.tick(clock.now(), Some(last), Some(last)),
            Verdict::Recording { first: true }
        ));
        // The disk stops taking writes: the queue fills, nothing more comes in for a minute.
        h.disk_full(true);
        clock.advance(Duration::from_secs(60));
        assert_eq!(
            h.tick(clock.now(), Some(last), Some(last)),
            Verdict::WaitingForDisk
        );
        // The disk took the queue, yet no video follows: now it is the camera.
        h.disk_full(false);
        assert!(matches!(
            h.tick(clock.now(), Some(last), Some(last)),
            Verdict::Down(r) if r.contains("stalled")
        ));
    }

    #[test]
    fn video_that_never_reaches_the_disk_is_not_recording() {
        let clock = SimClock::default();
        let mut h = Health::new(LIMITS, clock.now());
        let mut verdict = Verdict::Connecting;
        // Frames keep coming, but no segment ever opens (e.g. no keyframe).
        for _ in 0..=400 {
            clock.advance(FRAME);
            verdict = h.tick(clock.now(), Some(clock.now()), None);
            if matches!(verdict, Verdict::Down(_)) {
                break;
            }
        }
        assert!(matches!(&verdict, Verdict::Down(r) if r.contains("nothing reached the disk")));
        // The first frame came at 0.1 s; the limit is 30 s after it.
        assert!(
            clock.now() > Duration::from_secs(30) && clock.now() <= Duration::from_millis(30_300)
        );
    }

    #[test]
    fn media_from_a_previous_connection_does_not_count() {
        let clock = SimClock::default();
        clock.advance(Duration::from_secs(100));
        let stale = clock.now() - Duration::from_secs(1);
        let mut h = Health::new(LIMITS, clock.now());
        clock.advance(FRAME);
        assert_eq!(h.tick(clock.now(), Some(stale), None), Verdict::Connecting);
    }
}
