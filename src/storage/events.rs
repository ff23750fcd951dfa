//! Motion events on disk: `{storage}/.nvr/events.journal` (postcard COBS frames), loaded at
//! start, appended as events start and as they end, survive restarts and crashes (an event's
//! id, once published, is never given to another). The tracker that makes events from the
//! detector's reports is `motion::events`; retention reads them here.

use super::journal::{self, Journal};
use super::writer::Writer;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Box in frame fractions: x, y, w, h.
pub type Boxes = heapless::Vec<[f32; 4], 8>;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub id: u64,
    pub camera: String,
    pub start_ns: u64,
    /// `None` while it lasts.
    pub end_ns: Option<u64>,
    pub peak_score: f32,
    pub peak_ns: u64,
    pub peak_boxes: Boxes,
    /// When the event started the writing of a camera that records only around events: the
    /// pre-roll written before its start, in ms. Shorter than `pre_seconds` (+1 s) when the
    /// camera had just connected, or `pre_memory` cut it. `None`: footage was being written
    /// anyway (a continuous camera, a post-roll or a schedule window).
    pub pre_roll_ms: Option<u32>,
}

/// An event as journals written before `pre_roll_ms` existed hold it.
#[derive(Deserialize)]
#[cfg_attr(test, derive(Serialize))]
struct EventV1 {
    id: u64,
    camera: String,
    start_ns: u64,
    end_ns: Option<u64>,
    peak_score: f32,
    peak_ns: u64,
    peak_boxes: Boxes,
}

impl From<EventV1> for Event {
    fn from(e: EventV1) -> Event {
        Event {
            id: e.id,
            camera: e.camera,
            start_ns: e.start_ns,
            end_ns: e.end_ns,
            peak_score: e.peak_score,
            peak_ns: e.peak_ns,
            peak_boxes: e.peak_boxes,
            pre_roll_ms: None,
        }
    }
}

/// The persisted events of all cameras: loaded at start, appended as events end.
/// Keeps the newest [`MAX_EVENTS`] (in memory, and on disk: at startup a journal holding more
/// is rewritten with just those, temp file + rename, so it never grows without bound).
pub struct EventLog {
    journal: Journal,
    events: std::collections::VecDeque<Event>,
    next_id: u64,
}

pub const MAX_EVENTS: usize = 20_000;

impl EventLog {
    /// Reads `{root}/.nvr/events.journal`; unreadable frames (a torn write) are skipped.
    /// Without a writer it is a read-only view (a command beside the recorder).
    ///
    /// An event is journalled twice: when it starts (`end_ns: None`) and when it ends. An event
    /// with only its start on disk was open when nvr died (a crash, a power cut): it is kept,
    /// ended at its start (its real end is unknown), so its id is never given again.
    pub fn open(root: &Path, writer: Option<&Writer>) -> EventLog {
        let path = super::layout::events_journal(root);
        let mut closed = Vec::new();
        let mut open = std::collections::BTreeMap::new();
        for e in journal::read_with_old::<Event, EventV1>(&path).unwrap_or_default() {
            if e.end_ns.is_none() {
                open.insert(e.id, e);
            } else {
                open.remove(&e.id);
                closed.push(e);
            }
        }
        if !open.is_empty() {
            log::warn!(
                "events: {} event(s) were still open when nvr last stopped (a crash or a power \
                 cut): kept, ended at their start",
                open.len()
            );
        }
        for (_, mut e) in std::mem::take(&mut open) {
            e.end_ns = Some(e.peak_ns.max(e.start_ns));
            closed.push(e);
        }
        closed.sort_by_key(|e| (e.start_ns, e.id));
        let dropped = closed.len().saturating_sub(MAX_EVENTS);
        let events: std::collections::VecDeque<Event> = closed.into_iter().skip(dropped).collect();
        let mut journal = Journal::new(path, writer.cloned());
        if dropped > 0
            && writer.is_some()
            && let Err(e) = journal.rewrite(&events)
        {
            log::warn!("events: cannot compact {}: {e}", journal.path().display());
        }
        let next_id = events.iter().map(|e| e.id + 1).max().unwrap_or(1);
        EventLog {
            journal,
            events,
            next_id,
        }
    }

    /// Events on disk (for tests and the flash-wear view).
    pub fn len(&self) -> usize {
        self.events.len()
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    pub fn next_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// Journals an event as it starts (one small write, queued), so that its id survives a
    /// crash before it ends. It is listed once it ends ([`EventLog::record`]).
    pub fn record_start(&mut self, e: &Event) -> std::io::Result<()> {
        debug_assert!(e.end_ns.is_none());
        self.journal.append(e)
    }

    /// Appends a closed event (one small write, queued).
    pub fn record(&mut self, e: Event) -> std::io::Result<()> {
        self.journal.append(&e)?;
        if self.events.len() == MAX_EVENTS {
            self.events.pop_front();
        }
        self.events.push_back(e);
        Ok(())
    }

    /// Closed events overlapping `[from, to)`, optionally of one camera, oldest first.
    pub fn query(&self, camera: Option<&str>, from_ns: u64, to_ns: u64) -> Vec<Event> {
        self.events
            .iter()
            .filter(|e| camera.is_none_or(|c| e.camera == c))
            .filter(|e| e.start_ns < to_ns && e.end_ns.unwrap_or(u64::MAX) > from_ns)
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_journalled_before_the_pre_roll_field_still_load() {
        let old = EventV1 {
            id: 7,
            camera: "yard".into(),
            start_ns: 10,
            end_ns: Some(20),
            peak_score: 0.5,
            peak_ns: 15,
            peak_boxes: Boxes::new(),
        };
        let new = Event {
            id: 8,
            pre_roll_ms: Some(3100),
            ..Event::from(EventV1 {
                id: 0,
                camera: "yard".into(),
                start_ns: 30,
                end_ns: Some(40),
                peak_score: 0.25,
                peak_ns: 35,
                peak_boxes: Boxes::new(),
            })
        };
        let mut bytes = journal::frame(&old).unwrap();
        bytes.extend(journal::frame(&new).unwrap());
        let read = journal::decode_with_old::<Event, EventV1>(&bytes);
        assert_eq!(read.len(), 2);
        assert_eq!(
            (read[0].id, read[0].end_ns, read[0].pre_roll_ms),
            (7, Some(20), None)
        );
        assert_eq!(read[1], new);
        // Without the old layout, the old frame is skipped, never misread.
        assert_eq!(journal::decode::<Event>(&bytes), vec![new]);
    }
    use std::io::Write;

    /// An event of `camera` from `start_ns` (its peak 10 ns later) to `end_ns`.
    fn event(id: u64, camera: &str, start_ns: u64, end_ns: Option<u64>) -> Event {
        Event {
            id,
            camera: camera.into(),
            start_ns,
            end_ns,
            peak_score: 0.5,
            peak_ns: start_ns + 10,
            peak_boxes: Boxes::new(),
            pre_roll_ms: None,
        }
    }

    #[test]
    fn the_log_survives_restarts_and_torn_writes() {
        let dir = std::env::temp_dir().join(format!("nvr-events-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join(".nvr")).unwrap();
        let writer = Writer::start().unwrap();
        let mut log = EventLog::open(&dir, Some(&writer));
        for i in 0..3u64 {
            let id = log.next_id();
            let camera = if i == 1 { "b" } else { "a" };
            log.record(event(id, camera, i * 100, Some(i * 100 + 50)))
                .unwrap();
        }
        writer.flush();
        std::fs::OpenOptions::new()
            .append(true)
            .open(dir.join(".nvr/events.journal"))
            .unwrap()
            .write_all(&[3, 1, 2])
            .unwrap();
        let mut log = EventLog::open(&dir, None);
        assert_eq!(log.query(None, 0, u64::MAX).len(), 3);
        assert_eq!(log.query(Some("a"), 0, u64::MAX).len(), 2);
        assert_eq!(log.query(None, 120, 180).len(), 1);
        assert_eq!(log.next_id(), 4, "ids continue after a restart");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_event_open_at_a_crash_keeps_its_id() {
        let dir = std::env::temp_dir().join(format!("nvr-events-open-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join(".nvr")).unwrap();
        let writer = Writer::start().unwrap();
        let mut log = EventLog::open(&dir, Some(&writer));
        // Event 1 starts and ends; event 2 starts; then the power goes.
        let (one, two) = (log.next_id(), log.next_id());
        log.record_start(&event(one, "yard", 100, None)).unwrap();
        log.record_start(&event(two, "yard", 300, None)).unwrap();
        log.record(event(one, "yard", 100, Some(200))).unwrap();
        assert_eq!(log.len(), 1, "an open event is not listed while nvr runs");
        writer.flush();
        let mut log = EventLog::open(&dir, Some(&writer));
        let listed = log.query(None, 0, u64::MAX);
        assert_eq!(
            listed.iter().map(|e| (e.id, e.end_ns)).collect::<Vec<_>>(),
            vec![(one, Some(200)), (two, Some(310))],
            "event 2 is kept, ended at the last moment its record knows (its peak)"
        );
        assert_eq!(log.next_id(), 3, "its id is not given again");
        writer.flush();
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_journal_keeps_only_the_newest_events() {
        let dir = std::env::temp_dir().join(format!("nvr-events-cap-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join(".nvr")).unwrap();
        let e = |id: u64| event(id, "a", id * 100, Some(id * 100 + 50));
        let frames: Vec<u8> = (1..=MAX_EVENTS as u64 + 10)
            .flat_map(|id| postcard::to_stdvec_cobs(&e(id)).unwrap())
            .collect();
        let journal = dir.join(".nvr/events.journal");
        std::fs::write(&journal, &frames).unwrap();
        let writer = Writer::start().unwrap();
        let mut log = EventLog::open(&dir, Some(&writer));
        assert_eq!(log.len(), MAX_EVENTS);
        assert_eq!(log.next_id(), MAX_EVENTS as u64 + 11);
        writer.flush();
        let after = std::fs::metadata(&journal).unwrap().len();
        assert!(after < frames.len() as u64, "journal rewritten smaller");
        let again = EventLog::open(&dir, None);
        assert_eq!(
            again.query(None, 0, u64::MAX).first().map(|e| e.id),
            Some(11)
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
