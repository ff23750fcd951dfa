//! Recording modes: which recorded footage a camera keeps.
//!
//! A `motion` or `schedule` camera writes only around events and inside its windows (its
//! pre-roll waits in RAM: `camera::gate`); this is what retention may still delete of what
//! was written, once it is known not to be needed (a stretch's last GOP can reach beyond
//! the padding).
//!
//! - `continuous`: keep everything (the other retention limits still apply);
//! - `motion`: keep footage within `[start - pre, end + post]` of motion events;
//! - `schedule`: keep footage inside weekly windows (`mon-fri 08:00-20:00`), and outside them
//!   what `motion` would keep, when the camera has motion detection;
//! - `off`: do not record.

//!
//! The modes themselves (`Mode`, `Window`, parsing) are configuration: `config::modes`.

pub use crate::config::modes::{Mode, Window, local_week_minute, parse_window};

use super::catalog::Segment;
use super::events::Event;

/// What a camera's mode needs to decide, at one moment.
pub struct Keep<'a> {
    pub mode: &'a Mode,
    pub motion: bool,
    pub pre_ns: u64,
    pub post_ns: u64,
    pub now_ns: u64,
    /// Closed events of the camera, plus the open one (end = now).
    pub events: &'a [Event],
}

impl Keep<'_> {
    /// True if the mode still needs `seg` (or cannot know yet).
    pub fn needs(&self, seg: &Segment) -> bool {
        match self.mode {
            Mode::Continuous | Mode::Off => true,
            Mode::Motion => self.motion_needs(seg),
            Mode::Schedule(windows) => {
                let in_window = [seg.start_ns, seg.end_ns().saturating_sub(1)]
                    .iter()
                    .any(|&t| {
                        let (d, m) = local_week_minute(t);
                        windows.iter().any(|w| w.contains(d, m))
                    });
                in_window || (self.motion && self.motion_needs(seg))
            }
        }
    }

    fn motion_needs(&self, seg: &Segment) -> bool {
        // Recent footage may still become an event's pre-roll.
        if seg.end_ns() + self.pre_ns > self.now_ns {
            return true;
        }
        self.events.iter().any(|e| {
            let end = e.end_ns.unwrap_or(self.now_ns);
            seg.end_ns() > e.start_ns.saturating_sub(self.pre_ns)
                && seg.start_ns < end + self.post_ns
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000_000;

    fn seg(start_s: u64, secs: u32) -> Segment {
        Segment::for_test(start_s, secs)
    }

    fn event(start_s: u64, end_s: Option<u64>) -> Event {
        Event {
            id: 1,
            camera: "c".into(),
            start_ns: start_s * S,
            end_ns: end_s.map(|e| e * S),
            peak_score: 0.5,
            peak_ns: start_s * S,
            peak_boxes: Default::default(),
            pre_roll_ms: None,
        }
    }

    #[test]
    fn windows_parse_and_wrap_midnight() {
        let w = parse_window("mon-fri 08:00-20:00").unwrap();
        assert_eq!(w.days, 0b011_1110);
        assert!(w.contains(1, 8 * 60) && !w.contains(1, 20 * 60) && !w.contains(0, 9 * 60));
        let n = parse_window("fri 22:00-06:00").unwrap();
        assert!(n.contains(5, 23 * 60), "friday evening");
        assert!(
            n.contains(6, 5 * 60),
            "saturday small hours belong to friday's window"
        );
        assert!(!n.contains(5, 5 * 60), "friday small hours do not");
        assert_eq!(
            parse_window("sat,sun 10:00-14:00").unwrap().days,
            0b100_0001
        );
        assert_eq!(parse_window("daily 00:00-24:00").unwrap().days, 0x7f);
        assert_eq!(
            parse_window("fri-mon 09:00-10:00").unwrap().days,
            0b110_0011
        );
        assert!(
            parse_window("someday 08:00-20:00")
                .unwrap_err()
                .contains("unknown day")
        );
        assert!(parse_window("mon 8-20").is_err());
        // 2026-03-29 is a Sunday.
        let (d, m) = local_week_minute(1_774_747_800 * S);
        let lt = crate::time::LocalTime::from_unix(1_774_747_800);
        assert_eq!(m, (lt.hour * 60 + lt.minute) as u16);
        assert!(d == 0 || d == 6 || d == 1, "{d}");
    }

    /// Motion mode with 5 s of pre- and post-roll.
    fn motion_keep(events: &[Event], now_ns: u64) -> Keep<'_> {
        Keep {
            mode: &Mode::Motion,
            motion: true,
            pre_ns: 5 * S,
            post_ns: 5 * S,
            now_ns,
            events,
        }
    }

    #[test]
    fn motion_mode_keeps_padded_events_and_recent_footage_only() {
        // Two-second segments from 0 to 100 s; one event 40-50 s; now = 100 s.
        let events = [event(40, Some(50))];
        let keep = motion_keep(&events, 100 * S);
        let kept: Vec<u64> = (0..50)
            .map(|i| seg(i * 2, 2))
            .filter(|s| keep.needs(s))
            .map(|s| s.start_ns / S)
            .collect();
        // [35, 55) around the event, and [94, 100) that could still be a future pre-roll.
        assert_eq!(
            kept,
            vec![34, 36, 38, 40, 42, 44, 46, 48, 50, 52, 54, 94, 96, 98]
        );
    }

    #[test]
    fn an_open_event_keeps_everything_since_its_pre_roll() {
        let events = [event(60, None)];
        let keep = motion_keep(&events, 100 * S);
        assert!(!keep.needs(&seg(50, 2)));
        assert!(keep.needs(&seg(56, 2)) && keep.needs(&seg(80, 2)));
    }

    #[test]
    fn continuous_keeps_all_and_schedule_adds_motion_outside_windows() {
        let events = [event(40, Some(50))];
        let base = Keep {
            mode: &Mode::Continuous,
            motion: true,
            pre_ns: 0,
            post_ns: 0,
            now_ns: 1000 * S,
            events: &events,
        };
        assert!(base.needs(&seg(0, 2)));
        // A schedule that never matches: only the event's footage stays.
        let never = Mode::Schedule(vec![Window {
            days: 0,
            start_min: 0,
            end_min: 0,
        }]);
        let keep = Keep {
            mode: &never,
            ..base
        };
        assert!(keep.needs(&seg(44, 2)) && !keep.needs(&seg(0, 2)));
        let keep = Keep {
            motion: false,
            ..keep
        };
        assert!(
            !keep.needs(&seg(44, 2)),
            "without motion detection only the windows count"
        );
        let always = Mode::Schedule(vec![parse_window("daily 00:00-24:00").unwrap()]);
        let keep = Keep {
            mode: &always,
            ..keep
        };
        assert!(keep.needs(&seg(0, 2)));
    }
}
