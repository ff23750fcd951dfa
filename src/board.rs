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
}

impl Board {
    pub fn new(shared: Arc<Shared>) -> Board {
        Board {
            started: Instant::now(),
            started_unix_ns: crate::time::unix_now_ns(),
            shared,
            cameras: Mutex::new(Vec::new()),
        }
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
        // Footage a mode did not keep is a gap by design, not a mystery.
        if mode == "motion" || mode == "schedule" {
            for g in cov.gaps.iter_mut().filter(|g| g.reason == "unknown") {
                g.reason = format!("{mode} mode: not kept (no motion or outside the schedule)");
            }
        }
        Ok(cov)
    }
}
