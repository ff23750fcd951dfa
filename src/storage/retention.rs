//! Retention: which segments to delete, and why. The planner is pure (catalog view, limits,
//! free space and time in; deletions out); [`execute`] does the unlinking.
//!
//! Rules, applied in this order:
//! 1. **Age**: a segment whose end is older than its camera's `max_age_days` goes
//!    (`motion_max_age_days` instead when it holds motion).
//! 2. **Camera size**: a camera over its `max_bytes` loses its oldest segments.
//! 3. **Total size**: over the global `max_bytes`, the camera using the most space loses its
//!    oldest segment, repeatedly: fair, no camera is wiped to keep another's history.
//! 4. **Free-space floor**: while the disk has less than `keep_free_bytes` free, the same
//!    fair rule deletes more.
//!
//! The segment being written is never in the catalog, so never a candidate; its bytes so far
//! ("in flight") count towards the size limits so a cap is a cap.

use super::catalog::{Catalog, Segment};
use std::collections::BTreeMap;
use std::path::Path;

pub use crate::config::retention::{Limits, ModeKeep, Policy};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Reason {
    /// Not needed by the camera's recording mode (motion-only, schedule).
    Mode,
    Age,
    CameraSize,
    TotalSize,
    FreeSpace,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Mode => "mode",
            Reason::Age => "age",
            Reason::CameraSize => "camera_size",
            Reason::TotalSize => "total_size",
            Reason::FreeSpace => "free_space",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Deletion {
    pub camera: String,
    pub segment: Segment,
    pub reason: Reason,
}

/// What the planner needs to know about the world right now.
pub struct Situation<'a> {
    pub now_ns: u64,
    pub free_bytes: u64,
    /// Bytes of segments being written, per camera.
    pub in_flight: &'a BTreeMap<String, u64>,
    /// Whether a camera's recording mode still needs a segment.
    pub needed: &'a dyn Fn(&str, &Segment) -> bool,
}

/// Plans deletions for `segments` (camera → segments oldest first).
pub fn plan(
    segments: &BTreeMap<String, Vec<&Segment>>,
    policy: &Policy,
    now: &Situation,
) -> Vec<Deletion> {
    let mut out = Vec::new();
    // Remaining segments per camera, oldest first, as a queue we pop from the front.
    let mut left: BTreeMap<&str, std::collections::VecDeque<&Segment>> = BTreeMap::new();
    for (camera, segs) in segments {
        let limits = effective(policy, camera);
        let q = left.entry(camera.as_str()).or_default();
        for &s in segs {
            // Imported footage has its own retention (`[hikvision] retention_days`).
            if s.source == super::catalog::Source::Imported {
                continue;
            }
            if !(now.needed)(camera, s) {
                out.push(deletion(camera, s, Reason::Mode));
                continue;
            }
            let max_age = if s.has_motion {
                limits.motion_max_age.or(limits.max_age)
            } else {
                limits.max_age
            };
            let too_old = max_age
                .is_some_and(|a| now.now_ns.saturating_sub(s.end_ns()) > a.as_nanos() as u64);
            if too_old {
                out.push(deletion(camera, s, Reason::Age));
            } else {
                q.push_back(s);
            }
        }
    }
    let usage = |camera: &str, q: &std::collections::VecDeque<&Segment>| {
        q.iter().map(|s| s.bytes).sum::<u64>() + now.in_flight.get(camera).copied().unwrap_or(0)
    };
    for (camera, q) in left.iter_mut() {
        if let Some(cap) = policy.cameras.get(*camera).and_then(|l| l.max_bytes) {
            let mut used = usage(camera, q);
            while used > cap {
                let Some(s) = q.pop_front() else { break };
                used -= s.bytes;
                out.push(deletion(camera, s, Reason::CameraSize));
            }
        }
    }
    let mut used: BTreeMap<&str, u64> = left.iter().map(|(c, q)| (*c, usage(c, q))).collect();
    let mut total: u64 = used.values().sum();
    let mut free = now.free_bytes;
    loop {
        let reason = if policy.global.max_bytes.is_some_and(|cap| total > cap) {
            Reason::TotalSize
        } else if policy.keep_free_bytes.is_some_and(|floor| free < floor) {
            Reason::FreeSpace
        } else {
            break;
        };
        // Fairness: the camera using the most space gives up its oldest segment.
        let Some(camera) = left
            .iter()
            .filter(|(_, q)| !q.is_empty())
            .max_by_key(|(c, q)| (used[**c], std::cmp::Reverse(q[0].start_ns)))
            .map(|(c, _)| *c)
        else {
            break; // nothing left to delete
        };
        let s = left
            .get_mut(camera)
            .and_then(|q| q.pop_front())
            .expect("non-empty");
        *used.get_mut(camera).expect("present") -= s.bytes;
        total -= s.bytes;
        free = free.saturating_add(s.bytes);
        out.push(deletion(camera, s, reason));
    }
    out
}

/// The events each mode camera has: closed ones from the log plus the open one, if any.
pub fn mode_events(
    policy: &Policy,
    log: &super::events::EventLog,
    open: &BTreeMap<String, u64>,
) -> BTreeMap<String, Vec<super::events::Event>> {
    policy
        .modes
        .keys()
        .map(|cam| {
            let mut events = log.query(Some(cam), 0, u64::MAX);
            if let Some(&start) = open.get(cam) {
                events.push(super::events::Event {
                    id: 0,
                    camera: cam.clone(),
                    start_ns: start,
                    end_ns: None,
                    peak_score: 0.0,
                    peak_ns: start,
                    peak_boxes: Default::default(),
                    pre_roll_ms: None,
                });
            }
            (cam.clone(), events)
        })
        .collect()
}

/// Whether `camera`'s recording mode still needs `seg`, given its events (see
/// [`crate::storage::modes::Keep`]).
pub fn needed_by_mode(
    policy: &Policy,
    events: &BTreeMap<String, Vec<super::events::Event>>,
    now_ns: u64,
    camera: &str,
    seg: &Segment,
) -> bool {
    let Some(m) = policy.modes.get(camera) else {
        return true;
    };
    crate::storage::modes::Keep {
        mode: &m.mode,
        motion: m.motion,
        pre_ns: m.pre_ns,
        post_ns: m.post_ns,
        now_ns,
        events: events.get(camera).map(Vec::as_slice).unwrap_or(&[]),
    }
    .needs(seg)
}

fn effective(policy: &Policy, camera: &str) -> Limits {
    let own = policy.cameras.get(camera).copied().unwrap_or_default();
    Limits {
        max_age: own.max_age.or(policy.global.max_age),
        motion_max_age: own.motion_max_age.or(policy.global.motion_max_age),
        max_bytes: own.max_bytes,
    }
}

fn deletion(camera: &str, s: &Segment, reason: Reason) -> Deletion {
    Deletion {
        camera: camera.to_string(),
        segment: s.clone(),
        reason,
    }
}

/// Deletes planned segments: the file (no lock held), then its catalog entry, then the day
/// folder once empty. A file that is already gone counts as deleted. Returns what happened.
pub fn execute(
    catalog: &std::sync::Mutex<Catalog>,
    root: &Path,
    plan: Vec<Deletion>,
) -> Vec<Deletion> {
    let mut done = Vec::new();
    for d in plan {
        let path = catalog.lock().unwrap().path_of(&d.camera, &d.segment);
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                log::error!("retention: cannot delete {}: {e}", path.display());
                continue;
            }
        }
        let (full, thumb) = super::layout::previews(&path);
        let _ = std::fs::remove_file(full);
        let _ = std::fs::remove_file(thumb);
        log::debug!(
            "retention: deleted {} ({})",
            path.display(),
            d.reason.as_str()
        );
        if let Err(e) = catalog.lock().unwrap().remove(&d.camera, &d.segment.name) {
            log::error!("retention: catalog: {e}");
        }
        if let Some(day) = path.parent()
            && day.starts_with(root)
            && std::fs::read_dir(day).is_ok_and(|mut it| it.next().is_none())
        {
            let _ = std::fs::remove_dir(day);
        }
        done.push(d);
    }
    done
}

/// Deletes the event snapshots whose peak frame was in a deleted segment: a snapshot goes
/// with the footage it shows (the event itself stays listed). Returns how many went.
pub fn forget_snapshots(root: &Path, events: &super::events::EventLog, done: &[Deletion]) -> usize {
    let mut n = 0;
    for d in done {
        let (from, to) = (d.segment.start_ns, d.segment.end_ns());
        for e in events.query(Some(&d.camera), from, to) {
            if (from..to).contains(&e.peak_ns) {
                let p = super::layout::snapshot(root, &d.camera, e.id);
                n += usize::from(std::fs::remove_file(p).is_ok());
            }
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::catalog::{SegmentName, Source};
    use std::time::Duration;

    const MIN: u64 = 60_000_000_000;
    const DAY: u64 = 1440 * MIN;

    fn seg(i: u64, bytes: u64, motion: bool) -> Segment {
        Segment {
            name: SegmentName::try_from(format!("d/{i:05}.mp4").as_str()).unwrap(),
            start_ns: i * MIN,
            duration_ms: 60_000,
            bytes,
            codec: heapless::String::new(),
            has_motion: motion,
            source: Source::Recorded,
        }
    }

    /// `n` one-minute segments per camera, of `bytes` each, the last ending at `now`.
    fn cams(spec: &[(&str, u64, u64)]) -> BTreeMap<String, Vec<Segment>> {
        spec.iter()
            .map(|&(c, n, bytes)| {
                (
                    c.to_string(),
                    (0..n).map(|i| seg(i, bytes, false)).collect(),
                )
            })
            .collect()
    }

    fn refs(owned: &BTreeMap<String, Vec<Segment>>) -> BTreeMap<String, Vec<&Segment>> {
        owned
            .iter()
            .map(|(c, v)| (c.clone(), v.iter().collect()))
            .collect()
    }

    fn names(d: &[Deletion], camera: &str) -> usize {
        d.iter().filter(|d| d.camera == camera).count()
    }

    fn at(now_ns: u64, free: u64, in_flight: &BTreeMap<String, u64>) -> Situation<'_> {
        Situation {
            now_ns,
            free_bytes: free,
            in_flight,
            needed: &|_, _| true,
        }
    }

    #[test]
    fn snapshots_go_with_the_footage_that_holds_their_peak() {
        use crate::storage::events::{Boxes, Event, EventLog};
        let root = std::env::temp_dir().join(format!("nvr-snap-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let writer = crate::storage::writer::Writer::start().unwrap();
        let mut log = EventLog::open(&root, Some(&writer));
        // Peaks: a at 0:30 and 1:30, b at 0:30. Event 1 spans into the second minute.
        for (camera, start, peak) in [("a", 20, 30), ("a", 80, 90), ("b", 20, 30)] {
            let id = log.next_id();
            let s = 1_000_000_000;
            log.record(Event {
                id,
                camera: camera.into(),
                start_ns: start * s,
                end_ns: Some((start + 50) * s),
                peak_score: 0.5,
                peak_ns: peak * s,
                peak_boxes: Boxes::new(),
                pre_roll_ms: None,
            })
            .unwrap();
            let p = super::super::layout::snapshot(&root, camera, id);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, b"jpeg").unwrap();
        }
        // The first minute of camera a goes.
        let done = vec![deletion("a", &seg(0, 1, true), Reason::Age)];
        assert_eq!(forget_snapshots(&root, &log, &done), 1);
        let exists = |cam: &str, id| super::super::layout::snapshot(&root, cam, id).exists();
        assert!(!exists("a", 1));
        assert!(exists("a", 2), "its peak is in footage that is kept");
        assert!(exists("b", 3), "another camera's");
        writer.flush();
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn age_limit_with_longer_life_for_motion_footage() {
        let mut segs = cams(&[("a", 3 * 1440, 1)]);
        segs.get_mut("a").unwrap()[10].has_motion = true;
        let policy = Policy {
            global: Limits {
                max_age: Some(Duration::from_secs(86_400)),
                motion_max_age: Some(Duration::from_secs(7 * 86_400)),
                max_bytes: None,
            },
            ..Policy::default()
        };
        let none = BTreeMap::new();
        let d = plan(&refs(&segs), &policy, &at(3 * DAY, u64::MAX, &none));
        // Everything that ended more than a day ago, except the motion segment.
        assert_eq!(d.len(), 2 * 1440 - 1 - 1);
        assert!(
            d.iter()
                .all(|d| d.reason == Reason::Age && !d.segment.has_motion)
        );
        assert!(d.iter().all(|d| 3 * DAY - d.segment.end_ns() > DAY));
    }

    #[test]
    fn per_camera_override_beats_the_global_default() {
        let segs = cams(&[("a", 100, 1), ("b", 100, 1)]);
        let mut policy = Policy {
            global: Limits {
                max_age: Some(Duration::from_secs(3600)),
                ..Limits::default()
            },
            ..Policy::default()
        };
        policy.cameras.insert(
            "b".into(),
            Limits {
                max_age: Some(Duration::from_secs(600)),
                ..Limits::default()
            },
        );
        let none = BTreeMap::new();
        let d = plan(&refs(&segs), &policy, &at(100 * MIN, u64::MAX, &none));
        assert_eq!(names(&d, "a"), 100 - 61);
        assert_eq!(names(&d, "b"), 100 - 11);
    }

    #[test]
    fn camera_cap_counts_the_segment_in_flight() {
        let segs = cams(&[("a", 10, 100)]);
        let mut policy = Policy::default();
        policy.cameras.insert(
            "a".into(),
            Limits {
                max_bytes: Some(500),
                ..Limits::default()
            },
        );
        let flight = BTreeMap::from([("a".to_string(), 150)]);
        let d = plan(&refs(&segs), &policy, &at(10 * MIN, u64::MAX, &flight));
        // 1000 + 150 in flight must come under 500: the 7 oldest go.
        assert_eq!(d.len(), 7);
        assert_eq!(d[0].segment.start_ns, 0);
        assert!(d.iter().all(|d| d.reason == Reason::CameraSize));
    }

    #[test]
    fn total_cap_is_fair_across_cameras() {
        // "big" has ten times the history of "small"; a cap forces deletions.
        let segs = cams(&[("big", 100, 10), ("small", 10, 10)]);
        let policy = Policy {
            global: Limits {
                max_bytes: Some(600),
                ..Limits::default()
            },
            ..Policy::default()
        };
        let none = BTreeMap::new();
        let d = plan(&refs(&segs), &policy, &at(100 * MIN, u64::MAX, &none));
        assert_eq!(d.len(), 50);
        assert_eq!(names(&d, "small"), 0, "the small camera keeps its history");
        // Tighter: both end up with equal shares.
        let policy = Policy {
            global: Limits {
                max_bytes: Some(100),
                ..Limits::default()
            },
            ..Policy::default()
        };
        let d = plan(&refs(&segs), &policy, &at(100 * MIN, u64::MAX, &none));
        assert_eq!((names(&d, "big"), names(&d, "small")), (95, 5));
    }

    #[test]
    fn free_space_floor_deletes_oldest_fairly_until_met() {
        let segs = cams(&[("a", 10, 100), ("b", 10, 100)]);
        let policy = Policy {
            keep_free_bytes: Some(1000),
            ..Policy::default()
        };
        let none = BTreeMap::new();
        let d = plan(&refs(&segs), &policy, &at(10 * MIN, 450, &none));
        assert_eq!(d.len(), 6);
        assert_eq!((names(&d, "a"), names(&d, "b")), (3, 3));
        assert!(d.iter().all(|d| d.reason == Reason::FreeSpace));
        // Nothing to delete: the plan stops instead of looping.
        let d = plan(&BTreeMap::new(), &policy, &at(0, 0, &none));
        assert!(d.is_empty());
    }

    #[test]
    fn limits_combine() {
        let segs = cams(&[("a", 200, 10)]);
        let policy = Policy {
            global: Limits {
                max_age: Some(Duration::from_secs(150 * 60)),
                max_bytes: Some(1000),
                ..Limits::default()
            },
            keep_free_bytes: Some(0),
            ..Policy::default()
        };
        let none = BTreeMap::new();
        let d = plan(&refs(&segs), &policy, &at(200 * MIN, u64::MAX, &none));
        let by = |r| d.iter().filter(|d| d.reason == r).count();
        // Age removes the oldest 49; then the 151 left (1510 bytes) must fit in 1000.
        assert_eq!(by(Reason::Age), 49);
        assert_eq!(by(Reason::TotalSize), 51);
    }
}
