//! What a camera's supervisor reports: the per-camera object of `GET /status`.

use crate::storage::coverage::Outage;
use serde::Serialize;

/// Supervisor states. `Failed` is for problems retrying cannot fix soon (wrong password,
/// unsupported codec): it retries only every [`FAILED_RETRY`](super::supervisor::FAILED_RETRY)
/// or when the configuration changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Connecting,
    Recording,
    Retrying,
    Failed,
    Disabled,
    Stopped,
}

#[derive(Debug, Clone, Serialize)]
pub struct SegmentInfo {
    /// Relative to the camera's folder (`YYYY-MM-DD/HH-MM-SS±hhmm.mp4`).
    pub name: String,
    /// Wall-clock time of the first frame, RFC 3339 UTC.
    pub start: String,
    pub duration_s: f64,
    pub bytes: u64,
}

/// Everything `/status` says about one camera. Never holds a password: errors are redacted
/// before they get here.
#[derive(Debug, Clone, Serialize)]
pub struct CameraStatus {
    pub name: String,
    pub url: String,
    pub enabled: bool,
    /// Recording mode: `continuous`, `motion`, `schedule` or `off`.
    pub mode: &'static str,
    pub state: State,
    /// Why the camera is retrying or failed.
    pub reason: Option<String>,
    /// When the current state was entered (RFC 3339 UTC).
    pub since: String,
    pub last_error: Option<String>,
    pub last_error_at: Option<String>,
    pub codec: Option<&'static str>,
    pub width: Option<i32>,
    pub height: Option<i32>,
    pub audio: Option<String>,
    /// Received bits per second over the last few seconds.
    pub bitrate_bps: u64,
    pub segments_written: u64,
    /// Bytes of the camera's segments finished today (local `written_day`): its share of the
    /// card's wear.
    pub written_today: u64,
    pub written_day: String,
    /// The segment being written, relative to the camera's folder.
    pub current_segment: Option<String>,
    /// Its path on disk (for the supervisor and retention; not served).
    #[serde(skip)]
    pub current_path: Option<String>,
    pub last_segment: Option<SegmentInfo>,
    /// Connections lost and re-established or retried since nvr started.
    pub reconnects: u64,
    /// Seconds of video waiting for the disk, while it falls behind (3 s or more).
    pub write_backlog_s: Option<f64>,
    /// Seconds until the next connection attempt, while retrying or failed.
    pub retry_in_s: Option<f64>,
    /// Today's coverage, filled in by `/status` from the catalog.
    pub today: Option<serde_json::Value>,
    /// Motion detection, for cameras with `motion = true`.
    pub motion: Option<MotionStatus>,
    /// For a camera that writes only around events (`motion`, `schedule`): whether it
    /// writes now, and the pre-roll it holds in RAM.
    pub gate: Option<GateStatus>,
    /// Milliseconds since the camera's supervisor last showed life, filled in by `/status`.
    /// It beats at least every second, whatever the camera does; the systemd watchdog is
    /// no longer fed once one has been silent for 20 s.
    pub supervisor_idle_ms: Option<u64>,
    /// The supervisor's heartbeat: `time::monotonic()` ns of its last sign of life (0 = not
    /// started).
    #[serde(skip)]
    pub heartbeat: std::sync::Arc<std::sync::atomic::AtomicU64>,
    /// When and why the camera was not recording (the newest [`MAX_OUTAGES`]), for coverage.
    #[serde(skip)]
    pub outages: std::collections::VecDeque<Outage>,
    /// First-frame time of the segment being written.
    #[serde(skip)]
    pub open_since_ns: Option<u64>,
}

/// A gated camera's writing and pre-event ring.
#[derive(Debug, Clone, Default, Serialize)]
pub struct GateStatus {
    /// Writing to disk now (an event, its post-roll, or a schedule window).
    pub writing: bool,
    /// Why: `event`, `post-roll`, `window`; `None` while it does not write.
    pub why: Option<&'static str>,
    /// Video held in RAM for the next event's pre-roll, in seconds, and its bytes.
    pub pre_roll_s: f64,
    pub pre_roll_bytes: u64,
    /// The pre-roll wanted (`pre_seconds` + detection lag) and the RAM cap (`pre_memory`).
    pub pre_roll_wanted_s: f64,
    pub pre_memory: u64,
    /// The RAM cap has shortened the pre-roll (a stream faster than the cap allows for).
    pub pre_roll_cut: bool,
    /// The pre-roll written when the latest stretch began, in seconds.
    pub last_pre_roll_s: Option<f64>,
    /// Stretches written since nvr started.
    pub stretches: u64,
}

/// What the motion detector reads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MotionSource {
    /// The recorded stream, decoded on a branch.
    #[default]
    Stream,
    /// The camera's `sub_url`, a second RTSP session.
    Substream,
}

/// The motion branch's state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BranchState {
    #[default]
    Starting,
    Running,
    /// After an error, waiting for its backoff.
    Restarting,
}

/// What the motion branch reports.
#[derive(Debug, Clone, Default, Serialize)]
pub struct MotionStatus {
    /// What the detector reads.
    pub source: MotionSource,
    /// The motion branch's state (recording is never affected by it).
    pub branch: BranchState,
    /// The decoder the motion branch uses (`v4l2h264dec` = the Pi's hardware decoder).
    pub decoder: Option<String>,
    /// Why the branch last failed, and decoders that failed their self-test on this camera.
    pub error: Option<String>,
    pub active: bool,
    /// Changed fraction of the frame in the latest report.
    pub score: f64,
    /// When the latest motion started (RFC 3339 UTC).
    pub last_start: Option<String>,
    /// Motion periods started today (local day).
    pub events_today: u64,
    #[serde(skip)]
    pub day: String,
    /// Frames analysed per second over the last few seconds.
    pub detector_fps: f64,
    /// The event under way, if any.
    pub current_event: Option<u64>,
    #[serde(skip)]
    pub current_event_start_ns: Option<u64>,
    /// The newest closed event: id, start, end, peak_score.
    pub last_event: Option<serde_json::Value>,
}

/// Outages remembered per camera (bounded memory; older gaps read "unknown").
pub const MAX_OUTAGES: usize = 64;

impl CameraStatus {
    /// Notes a state change for coverage: leaving `recording` opens an outage with its
    /// reason, entering it closes the open one.
    pub fn track_outage(&mut self, state: State, reason: Option<&str>, now_ns: u64) {
        let open = self.outages.back().is_some_and(|o| o.to_ns.is_none());
        match state {
            State::Recording if open => {
                if let Some(o) = self.outages.back_mut() {
                    o.to_ns = Some(now_ns);
                }
            }
            State::Retrying | State::Failed | State::Disabled if !open => {
                if self.outages.len() == MAX_OUTAGES {
                    self.outages.pop_front();
                }
                let reason = match (state, reason) {
                    (State::Disabled, _) => "disabled in the configuration".to_string(),
                    (_, Some(r)) => format!("camera not recording: {r}"),
                    (_, None) => "camera not recording".to_string(),
                };
                self.outages.push_back(Outage {
                    from_ns: now_ns,
                    to_ns: None,
                    reason,
                });
            }
            _ => {}
        }
    }

    pub fn new(name: &str, url: &str, enabled: bool) -> Self {
        CameraStatus {
            name: name.into(),
            url: url.into(),
            enabled,
            mode: "continuous",
            state: State::Connecting,
            reason: None,
            since: crate::time::rfc3339_utc_ns(crate::time::unix_now_ns()),
            last_error: None,
            last_error_at: None,
            codec: None,
            width: None,
            height: None,
            audio: None,
            bitrate_bps: 0,
            segments_written: 0,
            written_today: 0,
            written_day: String::new(),
            current_segment: None,
            current_path: None,
            last_segment: None,
            reconnects: 0,
            retry_in_s: None,
            today: None,
            motion: None,
            gate: None,
            supervisor_idle_ms: None,
            write_backlog_s: None,
            heartbeat: Default::default(),
            outages: Default::default(),
            open_since_ns: None,
        }
    }

    /// How long ago the supervisor last beat, at monotonic time `now`.
    pub fn idle(&self, now: std::time::Duration) -> Option<std::time::Duration> {
        let beat = self.heartbeat.load(std::sync::atomic::Ordering::Relaxed);
        (beat != 0).then(|| now.saturating_sub(std::time::Duration::from_nanos(beat)))
    }
}
