//! Motion events: from the detector's reports to events with a start, an end, a peak.
//!
//! Semantics (the seeds'): motion is ignored for `initial_wait` after the camera connects
//! (exposure settling); the first motion after that starts an event; every further motion
//! prolongs it, and it ends `min_duration` after the last motion. Pure: times are passed in,
//! so the tracker is tested frame by frame without sleeping. Closed events are kept by
//! [`EventLog`] (`storage::events`).

pub use crate::storage::events::{Boxes, Event, EventLog, MAX_EVENTS};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EventSettings {
    pub initial_wait: Duration,
    pub min_duration: Duration,
}

impl Default for EventSettings {
    fn default() -> Self {
        EventSettings {
            initial_wait: Duration::from_secs(3),
            min_duration: Duration::from_secs(5),
        }
    }
}

/// One camera's event state. Long-lived, owned by the camera's supervisor.
#[derive(Debug)]
pub struct Tracker {
    settings: EventSettings,
    camera: String,
    connected_ns: Option<u64>,
    current: Option<Event>,
    last_motion_ns: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    Started(Event),
    Ended(Event),
}

impl Tracker {
    pub fn new(camera: &str, settings: EventSettings) -> Tracker {
        Tracker {
            settings,
            camera: camera.to_string(),
            connected_ns: None,
            current: None,
            last_motion_ns: 0,
        }
    }

    /// The camera (re)connected at `now_ns`: the initial wait starts again.
    pub fn connected(&mut self, now_ns: u64) {
        self.connected_ns = Some(now_ns);
    }

    pub fn current(&self) -> Option<&Event> {
        self.current.as_ref()
    }

    /// The open event started its camera's writing with this much pre-roll.
    pub fn note_pre_roll(&mut self, pre_roll_ns: u64) {
        if let Some(e) = self.current.as_mut() {
            e.pre_roll_ms = Some(u32::try_from(pre_roll_ns / 1_000_000).unwrap_or(u32::MAX));
        }
    }

    /// A detector report. `next_id` is called only when an event starts.
    pub fn report(
        &mut self,
        now_ns: u64,
        active: bool,
        score: f32,
        boxes: &Boxes,
        next_id: impl FnOnce() -> u64,
    ) -> Option<Change> {
        let ended = self.tick(now_ns);
        if ended.is_some() {
            return ended;
        }
        if !active {
            return None;
        }
        let settled = self
            .connected_ns
            .is_some_and(|c| now_ns >= c + self.settings.initial_wait.as_nanos() as u64);
        if !settled {
            return None;
        }
        self.last_motion_ns = now_ns;
        match self.current.as_mut() {
            Some(e) => {
                if score > e.peak_score {
                    e.peak_score = score;
                    e.peak_ns = now_ns;
                    e.peak_boxes = boxes.clone();
                }
                None
            }
            None => {
                let e = Event {
                    id: next_id(),
                    camera: self.camera.clone(),
                    start_ns: now_ns,
                    end_ns: None,
                    peak_score: score,
                    peak_ns: now_ns,
                    peak_boxes: boxes.clone(),
                    pre_roll_ms: None,
                };
                self.current = Some(e.clone());
                Some(Change::Started(e))
            }
        }
    }

    /// Time passes: ends the event `min_duration` after its last motion.
    pub fn tick(&mut self, now_ns: u64) -> Option<Change> {
        let hold = self.settings.min_duration.as_nanos() as u64;
        if self.current.is_some() && now_ns >= self.last_motion_ns + hold {
            let mut e = self.current.take().expect("current");
            e.end_ns = Some(self.last_motion_ns + hold);
            return Some(Change::Ended(e));
        }
        None
    }

    /// The camera disconnected or nvr stops: an open event ends at its last motion + hold,
    /// or now, whichever is earlier.
    pub fn close(&mut self, now_ns: u64) -> Option<Change> {
        let hold = self.settings.min_duration.as_nanos() as u64;
        let mut e = self.current.take()?;
        e.end_ns = Some((self.last_motion_ns + hold).min(now_ns.max(e.start_ns)));
        Some(Change::Ended(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::{Clock, SimClock};

    const FRAME: Duration = Duration::from_millis(200); // a 5 fps detector

    fn ns(c: &SimClock) -> u64 {
        c.now().as_nanos() as u64
    }

    #[test]
    fn initial_wait_then_an_event_prolonged_by_motion_and_ended_after_the_hold() {
        let clock = SimClock::default();
        clock.advance(Duration::from_secs(100));
        let mut t = Tracker::new("cam", EventSettings::default());
        t.connected(ns(&clock));
        let mut id = 0;
        let mut next = || {
            id += 1;
            id
        };
        let none = Boxes::new();
        // Motion right after connecting is exposure settling: ignored for 3 s.
        for _ in 0..10 {
            clock.advance(FRAME);
            assert_eq!(t.report(ns(&clock), true, 0.5, &none, &mut next), None);
        }
        // Quiet, then motion at 5 s: an event starts.
        clock.advance(Duration::from_secs(3));
        let start = ns(&clock);
        assert!(
            matches!(t.report(start, true, 0.1, &none, &mut next), Some(Change::Started(e)) if e.id == 1)
        );
        // Motion for 4 s, peaking at 2 s in, then nothing.
        let mut peak_at = 0;
        for i in 0..20 {
            clock.advance(FRAME);
            let score = if i == 10 { 0.9 } else { 0.2 };
            if i == 10 {
                peak_at = ns(&clock);
            }
            assert_eq!(t.report(ns(&clock), true, score, &none, &mut next), None);
        }
        let last = ns(&clock);
        // 5 s of quiet frames: the event holds, then ends exactly 5 s after the last motion.
        let mut ended = None;
        for _ in 0..30 {
            clock.advance(FRAME);
            if let Some(c) = t.report(ns(&clock), false, 0.0, &none, &mut next) {
                ended = Some(c);
                break;
            }
        }
        let Some(Change::Ended(e)) = ended else {
            panic!("{ended:?}")
        };
        assert_eq!((e.start_ns, e.end_ns), (start, Some(last + 5_000_000_000)));
        assert_eq!((e.peak_score, e.peak_ns), (0.9, peak_at));
        assert!(ns(&clock) >= last + 5_000_000_000 && ns(&clock) < last + 5_200_000_001);
    }

    #[test]
    fn an_open_event_is_closed_on_disconnect() {
        let mut t = Tracker::new("cam", EventSettings::default());
        t.connected(0);
        let none = Boxes::new();
        let s = 10_000_000_000;
        t.report(s, true, 0.3, &none, || 7);
        let Some(Change::Ended(e)) = t.close(s + 1_000_000_000) else {
            panic!()
        };
        assert_eq!(e.end_ns, Some(s + 1_000_000_000));
        assert_eq!(t.close(s + 2_000_000_000), None);
    }
}
