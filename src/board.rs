//! What the running recorder publishes for its readers (HTTP): the cameras' status and the
//! storage shared with the supervisors. The runtime writes it, `http` reads it; neither
//! imports the other through it.

use crate::camera::{CameraStatus, Shared};
use crate::storage;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// What the HTTP server reads: published by the runtime, updated by supervisors.
pub struct Board {
    pub started: Instant,
    /// Wall-clock start of this process (coverage: earlier gaps are "nvr was not running").
    pub started_unix_ns: u64,
    pub shared: Arc<Shared>,
    cameras: Mutex<Vec<Arc<Mutex<CameraStatus>>>>,
    /// Steps of the wall clock seen while running: how many, and the newest (when, by how
    /// many ns).
    clock_steps: Mutex<(u64, Option<(u64, i64)>)>,
    /// The newest public `/status` document, serialized, and when it was made (see
    /// [`Board::public_status`]).
    status: Mutex<Option<(Instant, Arc<Vec<u8>>)>>,
}

/// How old the public `/status` document may be when served: monitors polling it from every
/// device on the LAN cost one computation per period, not one per request. (A logged-in
/// reader gets it made fresh.)
pub const STATUS_MAX_AGE: std::time::Duration = std::time::Duration::from_millis(500);

impl Board {
    pub fn new(shared: Arc<Shared>) -> Board {
        Board {
            started: Instant::now(),
            started_unix_ns: crate::time::unix_now_ns(),
            shared,
            cameras: Mutex::new(Vec::new()),
            clock_steps: Mutex::new((0, None)),
            status: Mutex::new(None),
        }
    }

    /// The wall clock was set by `by_ns` (NTP at boot on a Pi without a real-time clock):
    /// logged, and shown in `/status` with the state of the clock's synchronization.
    pub fn clock_stepped(&self, at_ns: u64, by_ns: i64) {
        log::warn!(
            "the wall clock was set {} by {:.1} s; segments started from now are named in the \
             new time",
            if by_ns < 0 { "back" } else { "forward" },
            by_ns.unsigned_abs() as f64 / 1e9
        );
        let mut s = self.clock_steps.lock().unwrap();
        s.0 += 1;
        s.1 = Some((at_ns, by_ns));
    }

    /// `/status`'s `clock`: synchronized (the kernel's NTP state), steps seen, the newest.
    pub fn clock(&self) -> serde_json::Value {
        let (steps, last) = *self.clock_steps.lock().unwrap();
        serde_json::json!({
            "synchronized": crate::time::ntp_synchronized(),
            "steps_seen": steps,
            "last_step": last.map(|(at, by)| serde_json::json!({
                "at": crate::time::rfc3339_utc_ns(at),
                "by_s": by as f64 / 1e9,
            })),
        })
    }

    /// The public `/status` document, made by `make` unless the newest is younger than
    /// [`STATUS_MAX_AGE`].
    pub fn public_status(&self, make: impl FnOnce() -> Vec<u8>) -> Arc<Vec<u8>> {
        let mut cached = self.status.lock().unwrap();
        if let Some((at, doc)) = cached.as_ref()
            && at.elapsed() < STATUS_MAX_AGE
        {
            return doc.clone();
        }
        let doc = Arc::new(make());
        *cached = Some((Instant::now(), doc.clone()));
        doc
    }

    /// The cameras now running (after a start or reload).
    pub fn publish(&self, cameras: Vec<Arc<Mutex<CameraStatus>>>) {
        *self.cameras.lock().unwrap() = cameras;
    }

    pub fn cameras(&self) -> Vec<Arc<Mutex<CameraStatus>>> {
        self.cameras.lock().unwrap().clone()
    }

    /// Coverage of `camera` on local day `day` (`YYYY-MM-DD`), up to now for today.
    pub fn coverage(&self, camera: &str, day: &str) -> Result<storage::coverage::Coverage, String> {
        let from = crate::time::parse_time(&format!("{day}T00:00:00"))
            .map_err(|_| format!("{day:?} is not a day (YYYY-MM-DD)"))?;
        // The next local midnight: 36 h later is surely the next day, whatever DST does.
        let next = crate::time::LocalTime::from_unix((from / 1_000_000_000 + 36 * 3600) as i64);
        let next_midnight = crate::time::parse_time(&format!("{}T00:00:00", next.date()))?;
        let now = crate::time::unix_now_ns();
        let to = next_midnight.min(now).max(from);
        let segments = self.shared.catalog.lock().unwrap().range(camera, from, to);
        let (mut outages, open_since_ns, mode): (
            Vec<storage::coverage::Outage>,
            Option<u64>,
            &str,
        ) = self
            .cameras()
            .iter()
            .find_map(|c| {
                let st = c.lock().unwrap();
                (st.name == camera).then(|| {
                    (
                        st.outages.iter().cloned().collect(),
                        st.open_since_ns,
                        st.mode,
                    )
                })
            })
            .unwrap_or((Vec::new(), None, "continuous"));
        // Earlier runs' outages (this run's are also there once saved: overlap is harmless).
        outages.extend(
            self.shared
                .history
                .lock()
                .unwrap()
                .outages(camera)
                .iter()
                .cloned(),
        );
        let mut cov = storage::coverage::compute(&storage::coverage::Inputs {
            from_ns: from,
            to_ns: to,
            segments: &segments,
            open_since_ns,
            outages: &outages,
            started_ns: self.started_unix_ns,
        });
        // Time a mode did not write (or retention dropped) is a gap by design, not a mystery.
        let why = match mode {
            "motion" => Some("motion mode: not recorded (no event)"),
            "schedule" => Some("schedule mode: not recorded (outside the windows, no event)"),
            _ => None,
        };
        if let Some(why) = why {
            for g in cov.gaps.iter_mut().filter(|g| g.reason == "unknown") {
                g.reason = why.to_string();
            }
        }
        Ok(cov)
    }
}
