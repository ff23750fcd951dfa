//! What cameras publish on the bus ([`crate::bus`]): typed, and serialized as JSON for the live
//! event stream (`GET /api/events/live`). Subscribers that fall behind lose events (counted);
//! no camera ever waits for one.

use super::status::State;
use serde::Serialize;

/// Events a subscriber may hold before it loses some (a few minutes of a busy site).
pub const QUEUE: usize = 256;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CameraEvent {
    /// A camera entered a state (`recording`, `retrying`, `failed` …), and why.
    State {
        camera: String,
        state: State,
        reason: Option<String>,
        at: String,
    },
    /// A segment was finished and entered the catalog (its name relative to the camera).
    Segment {
        camera: String,
        name: String,
        start: String,
        duration_s: f64,
        bytes: u64,
    },
    MotionStarted {
        camera: String,
        id: u64,
        start: String,
    },
    MotionEnded {
        camera: String,
        id: u64,
        start: String,
        end: String,
        peak_score: f32,
        /// Regions of the peak frame, as fractions of it: x, y, w, h.
        boxes: Vec<[f32; 4]>,
        snapshot: String,
    },
    /// The Hikvision import added a file (its name in the camera's folder).
    Imported { camera: String, name: String },
}
