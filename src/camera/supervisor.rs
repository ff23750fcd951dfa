//! The camera supervisor: one per camera, long-lived.
//!
//! Builds a recording pipeline, watches its bus and a data watchdog, and on any failure
//! (EOS from the camera, RTCP timeout, error, stall) finalizes the open segment, tears the
//! pipeline down off the executor, and reconnects after an exponential backoff. Credentials
//! rejected or an unsupported codec put it in `failed`, which retries only every
//! [`FAILED_RETRY`]. A supervisor only ever touches its own pipeline: one camera's trouble
//! cannot stall another. It ends when told to stop (reload or shutdown), after finalizing.

use super::backoff::Backoff;
use super::connection::{ConnEvent, Connection, ErrorKind, Gst, Opener};
use super::health::{Health, Limits, Verdict};
use super::pipeline::Stats;
use super::published::CameraEvent;
use super::status::{CameraStatus, SegmentInfo, State};
use crate::config::CameraConfig;
use crate::storage::Counters;
use crate::storage::catalog::{Catalog, Segment, SegmentName, Source, start_from_name};
use crate::time::{Clock, rfc3339_utc_ns};
use smol::channel::{Receiver, Sender};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How often a `failed` camera tries again on its own.
pub const FAILED_RETRY: Duration = Duration::from_secs(300);
/// How long finalizing the open segment may take on teardown before we force NULL.
const FINALIZE_TIMEOUT: Duration = Duration::from_secs(3);
const TICK: Duration = Duration::from_millis(500);
/// Video waiting for the disk beyond this is shown (`/status`, the log, the bus): the queue
/// holds under a second while the disk keeps up.
const DISK_BEHIND: Duration = Duration::from_secs(3);

pub enum Command {
    Stop,
}

/// What the runtime keeps per running camera.
pub struct CameraHandle {
    pub config: CameraConfig,
    pub status: Arc<Mutex<CameraStatus>>,
    /// `time::monotonic()` ns of the supervisor's last sign of life (0 = not started).
    /// It beats at least every second unless the supervisor is stuck.
    pub heartbeat: Arc<AtomicU64>,
    commands: Sender<Command>,
    task: smol::Task<()>,
}

impl CameraHandle {
    /// Stops the camera: finalizes its open segment and waits for the supervisor to end.
    pub async fn stop(self) {
        let _ = self.commands.send(Command::Stop).await;
        self.task.await;
    }
}

/// Shared by all supervisors, retention and the HTTP server.
pub struct Shared {
    pub storage_root: PathBuf,
    pub pipeline_dir: PathBuf,
    /// Every segment on disk; supervisors add each finished one, retention removes.
    pub catalog: Mutex<Catalog>,
    pub counters: Mutex<Counters>,
    /// Asks for a retention pass now (the disk filled up).
    pub retention_now: Sender<()>,
    /// Makes each finished segment's preview and thumbnail, at low priority.
    pub previews: Option<crate::storage::previews::Previews>,
    /// A write failed because the storage's file system is read-only: until a probe write
    /// succeeds, no camera connects (`storage::layout::writable`).
    pub storage_read_only: std::sync::atomic::AtomicBool,
    /// Closed motion events of every camera.
    pub events: Mutex<crate::motion::events::EventLog>,
    /// Outages of earlier runs, for coverage (saved by the runtime).
    pub history: Mutex<crate::storage::history::History>,
    pub clock: Arc<dyn Clock>,
    /// Writes nvr's own files (catalog, events, history) off the callers' threads.
    pub writer: crate::storage::writer::Writer,
    /// What cameras publish: states, segments, motion events, imports.
    pub bus: crate::bus::Bus<CameraEvent>,
}

#[cfg(test)]
impl Shared {
    /// A store at `root` with no cameras, previews or retention, on `clock`.
    pub fn for_test(root: &Path, clock: Arc<dyn Clock>) -> Shared {
        let writer = crate::storage::writer::Writer::start().expect("writer thread");
        let (retention_now, _) = smol::channel::bounded(1);
        Shared {
            storage_root: root.to_path_buf(),
            pipeline_dir: PathBuf::from("pipelines"),
            catalog: Mutex::new(Catalog::open(root, &writer).expect("catalog").0),
            counters: Mutex::new(Counters::default()),
            retention_now,
            previews: None,
            storage_read_only: Default::default(),
            events: Mutex::new(crate::motion::events::EventLog::open(root, Some(&writer))),
            history: Mutex::new(
                crate::storage::history::History::open(root, 1, &writer).expect("history"),
            ),
            clock,
            writer,
            bus: Default::default(),
        }
    }
}

pub fn spawn(config: CameraConfig, shared: Arc<Shared>) -> CameraHandle {
    let opener = Gst {
        storage_root: shared.storage_root.clone(),
        pipeline_dir: shared.pipeline_dir.clone(),
    };
    let (sup, handle) = Supervisor::new(config, shared, opener);
    let task = smol::spawn(sup.run());
    CameraHandle {
        config: handle.config,
        status: handle.status,
        heartbeat: handle.heartbeat,
        commands: handle.commands,
        task,
    }
}

/// The handle's parts without the task, filled in by whoever runs the supervisor.
struct Handle {
    config: CameraConfig,
    status: Arc<Mutex<CameraStatus>>,
    heartbeat: Arc<AtomicU64>,
    commands: Sender<Command>,
}

impl<O: Opener> Supervisor<O> {
    fn new(config: CameraConfig, shared: Arc<Shared>, opener: O) -> (Self, Handle) {
        let mut initial = CameraStatus::new(&config.name, &config.url, config.enabled);
        if config.motion_fps.is_some() {
            initial.motion = Some(Default::default());
        }
        initial.mode = config.mode.name();
        let keep = super::gate::keep_ns(&config);
        initial.gate = keep.map(|k| super::status::GateStatus {
            pre_roll_wanted_s: k as f64 / 1e9,
            pre_memory: config.pre_memory,
            ..Default::default()
        });
        let heartbeat = initial.heartbeat.clone();
        let status = Arc::new(Mutex::new(initial));
        let (tx, rx) = smol::channel::bounded(4);
        let seed = config.name.bytes().fold(shared.clock.wall_ns(), |h, b| {
            h.rotate_left(5) ^ u64::from(b)
        });
        let sup = Supervisor {
            config: config.clone(),
            clock: shared.clock.clone(),
            shared,
            opener,
            status: status.clone(),
            heartbeat: heartbeat.clone(),
            commands: rx,
            backoff: Backoff::new(seed),
            bitrate: heapless::Deque::new(),
            stats: None,
            disk_full_logged: false,
            tracker: config
                .motion_fps
                .map(|_| crate::motion::events::Tracker::new(&config.name, Default::default())),
            last_event_end_ns: 0,
            motion: None,
            seen_down: false,
            disk_behind: None,
            gated: keep.is_some(),
            writing: None,
            post_until: None,
        };
        let mut sup = sup;
        sup.motion = config.motion_fps.map(|_| {
            super::motion::Branch::new(&config, sup.shared.pipeline_dir.clone(), status.clone())
        });
        (
            sup,
            Handle {
                config,
                status,
                heartbeat,
                commands: tx,
            },
        )
    }
}

/// How a wait between connection attempts ended.
enum Wake {
    Stop,
    Elapsed,
    /// The camera did not answer a probe, and now does.
    CameraBack,
}

/// While waiting to reconnect, a TCP connection to the camera is tried this often...
const PROBE_EVERY: Duration = Duration::from_secs(1);
/// ...and counts as not answered after this long (a LAN camera answers in milliseconds).
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

enum Outcome {
    Stop,
    Retry(String),
    /// The camera ended the stream itself (its EOS already finalized the open segment).
    CameraEnded,
    Failed(String),
}

/// What woke the supervisor while it watches a connection.
enum Input {
    Connection(Option<ConnEvent>),
    /// From the motion branch's bus.
    Motion(Option<gst::Message>),
    Tick,
    Command,
}

struct Supervisor<O: Opener> {
    config: CameraConfig,
    shared: Arc<Shared>,
    opener: O,
    clock: Arc<dyn Clock>,
    status: Arc<Mutex<CameraStatus>>,
    heartbeat: Arc<AtomicU64>,
    commands: Receiver<Command>,
    backoff: Backoff,
    /// (monotonic time, bytes received, frames analysed for motion) samples, for the bitrate
    /// and the detector's frame rate over the last few seconds.
    bitrate: heapless::Deque<(Duration, u64, u64), 8>,
    /// The current pipeline's counters, while there is one.
    stats: Option<Arc<Stats>>,
    /// "Disk full" is logged once per episode, not per retry.
    disk_full_logged: bool,
    /// Motion events, for cameras with motion detection.
    tracker: Option<crate::motion::events::Tracker>,
    /// End of the newest closed event (segments before it may hold motion).
    last_event_end_ns: u64,
    /// The motion branch, for cameras with motion detection.
    motion: Option<super::motion::Branch>,
    /// A probe found the camera not answering since it last recorded: the next probe that
    /// gets an answer brings the reconnect forward.
    seen_down: bool,
    /// What was said of the disk falling behind (the reason shown), while it is.
    disk_behind: Option<&'static str>,
    /// The camera writes only around events (its connection has a gate).
    gated: bool,
    /// Why the gate is open (`event`, `post-roll`, `window`); `None`: shut.
    writing: Option<&'static str>,
    /// Monotonic time until which the newest ended event's post-roll is written.
    post_until: Option<Duration>,
}

impl<O: Opener> Supervisor<O> {
    async fn run(mut self) {
        let name = self.config.name.clone();
        let off = self.config.mode == crate::storage::modes::Mode::Off;
        if !self.config.enabled || off {
            self.set_state(
                State::Disabled,
                off.then(|| "recording mode is off".to_string()),
            );
            while !self.wait_or_stop(Duration::from_secs(3600)).await {}
            return;
        }
        loop {
            self.set_state(State::Connecting, None);
            let feed = self
                .motion
                .as_ref()
                .filter(|_| self.config.sub.is_none())
                .map(|b| b.feed.clone());
            // No storage (a USB disk unplugged, a file system gone read-only): no connection
            // until it can take writes again; the camera is not the problem, so it is not
            // probed either.
            let read_only = &self.shared.storage_read_only;
            let suspect = read_only.load(Ordering::Relaxed);
            let storage = crate::storage::layout::writable(&self.shared.storage_root, suspect);
            let storage_there = storage.is_ok();
            if suspect && storage_there {
                read_only.store(false, Ordering::Relaxed);
                log::info!("storage takes writes again");
            }
            let outcome = match storage {
                Err(e) => Outcome::Retry(e.to_string()),
                Ok(()) => match self.opener.open(&self.config, feed) {
                    Ok(conn) => self.attempt(conn).await,
                    Err(e) => Outcome::Failed(e),
                },
            };
            // Probe while waiting to reconnect (not while `failed`: that is not the network).
            let mut probe = false;
            let delay = match outcome {
                Outcome::Stop => break,
                Outcome::Retry(_) | Outcome::CameraEnded => {
                    let reason = match outcome {
                        Outcome::Retry(r) => r,
                        _ => "camera ended the stream (connection closed)".to_string(),
                    };
                    probe = storage_there;
                    let d = self.backoff.next_delay();
                    log::warn!(
                        "camera {name}: {reason}; reconnecting in {:.1} s",
                        d.as_secs_f64()
                    );
                    self.record_error(&reason);
                    self.set_state(State::Retrying, Some(reason));
                    d
                }
                Outcome::Failed(reason) => {
                    log::error!(
                        "camera {name}: {reason}; next attempt in {} min or on config change",
                        FAILED_RETRY.as_secs() / 60
                    );
                    self.record_error(&reason);
                    self.set_state(State::Failed, Some(reason));
                    FAILED_RETRY
                }
            };
            self.status.lock().unwrap().retry_in_s = Some(delay.as_secs_f64());
            let target = crate::config::host_port(self.config.url.as_str()).filter(|_| probe);
            let wake = self.wait_for_return(delay, target).await;
            self.status.lock().unwrap().retry_in_s = None;
            match wake {
                Wake::Stop => break,
                Wake::Elapsed => {}
                Wake::CameraBack => {
                    // Back from an outage: a first attempt that races the camera's own start
                    // (503, a refused SETUP) is retried after 1 s, not the grown backoff.
                    self.backoff.reset();
                    log::info!("camera {name}: answers again; reconnecting now");
                }
            }
            self.status.lock().unwrap().reconnects += 1;
        }
        self.set_state(State::Stopped, None);
    }

    /// Waits `d` (beating every second) or until told to stop. With a `probe` target it also
    /// tries a TCP connection to the camera every [`PROBE_EVERY`] and ends the wait as soon as
    /// a camera that did not answer does again: a camera that is down for a while must not
    /// have its next short up-time missed by a grown backoff (a Wi-Fi camera on a weak link).
    /// A camera whose port answered all along waits out the backoff: retrying sooner cannot
    /// fix what ails it (and a camera that accepts connections but fails every stream must
    /// not be retried every second).
    async fn wait_for_return(&mut self, d: Duration, probe: Option<(String, u16)>) -> Wake {
        let clock = self.clock.clone();
        let until = clock.now() + d;
        let mut next_probe = clock.now() + PROBE_EVERY.min(d / 2);
        loop {
            self.beat();
            let now = clock.now();
            let left = until.saturating_sub(now);
            if left.is_zero() {
                return Wake::Elapsed;
            }
            let stop = async {
                let _ = self.commands.recv().await;
                Wake::Stop
            };
            let wake = match &probe {
                Some((host, port)) if now >= next_probe => {
                    next_probe = now + PROBE_EVERY;
                    let answered = smol::future::or(self.opener.probe(host, *port), async {
                        clock.sleep(PROBE_TIMEOUT).await;
                        false
                    });
                    match smol::future::or(async { Some(answered.await) }, async {
                        stop.await;
                        None
                    })
                    .await
                    {
                        None => Wake::Stop,
                        Some(false) => {
                            self.seen_down = true;
                            continue;
                        }
                        Some(true) if self.seen_down => {
                            self.seen_down = false;
                            Wake::CameraBack
                        }
                        Some(true) => continue,
                    }
                }
                _ => {
                    let step = left.min(Duration::from_secs(1));
                    smol::future::or(
                        async {
                            clock.sleep(step).await;
                            Wake::Elapsed
                        },
                        stop,
                    )
                    .await
                }
            };
            match wake {
                Wake::Elapsed => continue,
                other => return other,
            }
        }
    }

    /// Waits `d` (beating every second) or until told to stop; true if told to stop.
    async fn wait_or_stop(&mut self, d: Duration) -> bool {
        matches!(self.wait_for_return(d, None).await, Wake::Stop)
    }

    fn beat(&self) {
        self.heartbeat
            .store(self.clock.now().as_nanos().max(1) as u64, Ordering::Relaxed);
    }

    /// One connection: start, watch until it ends, finalize and tear down.
    async fn attempt(&mut self, mut conn: O::Connection) -> Outcome {
        self.stats = Some(conn.stats().clone());
        self.writing = None;
        let started = conn.start().await;
        if let Some(m) = self.motion.as_mut() {
            m.begin(conn.stats().clone(), self.clock.now());
        }
        let outcome = match started {
            Err(e) => Outcome::Retry(e),
            Ok(()) => self.watch(&mut conn).await,
        };
        if let Some(m) = self.motion.as_mut() {
            m.end().await;
        }
        // Finalize an open segment, unless the camera's own end of stream already did.
        let segment_open = self.status.lock().unwrap().current_path.is_some();
        let finish = segment_open && !matches!(&outcome, Outcome::CameraEnded);
        self.teardown(conn, finish).await;
        outcome
    }

    async fn watch(&mut self, conn: &mut O::Connection) -> Outcome {
        let clock = self.clock.clone();
        let mut health = Health::new(
            Limits {
                connect_timeout: Duration::from_secs(15),
                stall: Duration::from_secs(u64::from(self.config.stall_seconds)),
                // Short: a camera that flaps (a weak Wi-Fi link) is back to a 1 s backoff
                // after each good stretch, so its next short up-time is not missed.
                healthy_after: Duration::from_secs(5),
                disk_stall: Duration::from_secs(30),
            },
            clock.now(),
        );
        let mut disk = DiskProgress::default();
        self.disk_behind = None;
        let mut next_tick = clock.now() + TICK;
        let commands = self.commands.clone();
        let stats = conn.stats().clone();
        loop {
            self.steer_gate(conn);
            self.beat();
            let motion = &mut self.motion;
            let input = smol::future::or(
                async { Input::Connection(conn.next().await) },
                smol::future::or(
                    async {
                        clock.sleep_until(next_tick).await;
                        Input::Tick
                    },
                    smol::future::or(
                        async {
                            let _ = commands.recv().await;
                            Input::Command
                        },
                        async {
                            match motion.as_mut() {
                                Some(m) => Input::Motion(m.next_message().await),
                                None => std::future::pending().await,
                            }
                        },
                    ),
                ),
            )
            .await;
            match input {
                Input::Command => return Outcome::Stop,
                Input::Motion(None) => {}
                Input::Motion(Some(msg)) => {
                    let now = clock.now();
                    let report = match self.motion.as_mut() {
                        Some(m) => m.on_message(&msg, now).await,
                        None => super::motion::Report::Nothing,
                    };
                    if let super::motion::Report::Motion(s) = report {
                        self.on_motion(&s);
                    }
                }
                Input::Connection(None) => {
                    return Outcome::Retry("pipeline bus closed".into());
                }
                Input::Connection(Some(event)) => {
                    if let Some(outcome) = self.on_connection(event) {
                        return outcome;
                    }
                }
                Input::Tick => {
                    let now = clock.now();
                    // A fixed cadence; after a long stall of the executor, not a burst.
                    next_tick = (next_tick + TICK).max(now + TICK / 2);
                    if let Some(m) = self.motion.as_mut() {
                        m.tick(now).await;
                    }
                    let last = stats.last_video_ns.load(Ordering::Relaxed);
                    let last = (last != 0).then(|| Duration::from_nanos(last));
                    self.sample_stats(&stats, now);
                    let wall = clock.wall_ns();
                    if let Some(change) = self.tracker.as_mut().and_then(|t| t.tick(wall)) {
                        self.on_event(change);
                    }
                    let current = self.status.lock().unwrap().current_path.clone();
                    let last_disk = if self.gated && self.writing.is_none() {
                        // Shut: nothing is meant to reach the disk.
                        disk.idle(now)
                    } else {
                        disk.observe(current.as_deref(), now)
                    };
                    self.report_gate(conn);
                    let backlog = conn.write_backlog().unwrap_or_default();
                    health.disk_full(backlog.full);
                    self.note_backlog(backlog);
                    match health.tick(now, last, last_disk) {
                        Verdict::Connecting => {}
                        Verdict::Recording { first: true } => {
                            log::info!("camera {}: recording", self.config.name);
                            self.set_state(State::Recording, None);
                            self.seen_down = false;
                            if let Some(t) = self.tracker.as_mut() {
                                t.connected(wall);
                            }
                        }
                        Verdict::Recording { first: false } | Verdict::WaitingForDisk => {}
                        Verdict::Healthy => self.backoff.reset(),
                        Verdict::Down(reason) => return Outcome::Retry(reason),
                    }
                }
            }
        }
    }

    /// Opens or shuts a gated camera's writing, as its events and schedule want.
    fn steer_gate(&mut self, conn: &mut O::Connection) {
        if !self.gated {
            return;
        }
        let want = self.wants_writing();
        if want.is_some() == self.writing.is_some() {
            self.writing = want.map(|(why, _)| why).or(self.writing);
            return;
        }
        let name = &self.config.name;
        match want {
            Some((why, pre_ns)) => match conn.open_gate(pre_ns) {
                Ok(written) => {
                    log::info!(
                        "camera {name}: writing ({why}), from {:.1} s before (wanted {:.1} s)",
                        written as f64 / 1e9,
                        pre_ns as f64 / 1e9
                    );
                    self.writing = Some(why);
                    if why == "event"
                        && let Some(t) = self.tracker.as_mut()
                    {
                        t.note_pre_roll(written);
                    }
                    let mut st = self.status.lock().unwrap();
                    if let Some(g) = st.gate.as_mut() {
                        g.last_pre_roll_s = Some(written as f64 / 1e9);
                        g.stretches += 1;
                    }
                }
                // Tried again at the next input (within half a second).
                Err(e) => log::error!("camera {name}: cannot start writing: {e}"),
            },
            None => {
                log::info!("camera {name}: writing stops at the next keyframe");
                conn.close_gate();
                self.writing = None;
            }
        }
        self.report_gate(conn);
    }

    /// Whether a gated camera should write now: why, and how much pre-roll to write.
    fn wants_writing(&self) -> Option<(&'static str, u64)> {
        let pre = super::gate::pre_roll_ns(&self.config);
        if self.tracker.as_ref().is_some_and(|t| t.current().is_some()) {
            return Some(("event", pre));
        }
        if self.post_until.is_some_and(|t| self.clock.now() < t) {
            return Some(("post-roll", pre));
        }
        if let crate::storage::modes::Mode::Schedule(windows) = &self.config.mode {
            let (day, minute) = crate::storage::modes::local_week_minute(self.clock.wall_ns());
            if windows.iter().any(|w| w.contains(day, minute)) {
                return Some(("window", 0));
            }
        }
        None
    }

    fn report_gate(&self, conn: &O::Connection) {
        let Some(r) = conn.gate() else { return };
        let mut st = self.status.lock().unwrap();
        if let Some(g) = st.gate.as_mut() {
            g.writing = self.writing.is_some();
            g.why = self.writing;
            g.pre_roll_s = (r.held_ns as f64 / 1e8).round() / 10.0;
            g.pre_roll_bytes = r.held_bytes as u64;
            if r.cut && !g.pre_roll_cut {
                log::warn!(
                    "camera {}: pre_memory ({} MiB) holds less than the {:.0} s of pre-roll \
                     wanted; raise pre_memory or lower pre_seconds",
                    self.config.name,
                    g.pre_memory >> 20,
                    g.pre_roll_wanted_s
                );
            }
            g.pre_roll_cut = r.cut;
        }
    }

    /// Handles one event of the connection; `Some` ends the connection.
    fn on_connection(&mut self, event: ConnEvent) -> Option<Outcome> {
        match event {
            ConnEvent::Ended => Some(Outcome::CameraEnded),
            ConnEvent::Error(error) => {
                let text = self.redact(&error.text);
                Some(match error.kind {
                    ErrorKind::NoSpace => {
                        // Retention frees space; recording resumes on the next attempt.
                        let _ = self.shared.retention_now.try_send(());
                        if !self.disk_full_logged {
                            log::error!(
                                "camera {}: disk full; asking retention to free space",
                                self.config.name
                            );
                            self.disk_full_logged = true;
                        }
                        Outcome::Retry("disk full".into())
                    }
                    ErrorKind::ReadOnly => {
                        // Every camera checks before its next attempt (`layout::writable`);
                        // nvr's own files are closed so the disk can be unmounted.
                        if !self.shared.storage_read_only.swap(true, Ordering::Relaxed) {
                            self.shared.writer.release();
                        }
                        let e = crate::storage::layout::read_only(&self.shared.storage_root);
                        log::error!("camera {}: {e}", self.config.name);
                        Outcome::Retry(e.to_string())
                    }
                    ErrorKind::NotAuthorized => Outcome::Failed(format!(
                        "authentication failed: the camera rejected the username/password ({text})"
                    )),
                    ErrorKind::Other => Outcome::Retry(text),
                })
            }
            ConnEvent::Warning(text) => {
                log::warn!("camera {}: {}", self.config.name, self.redact(&text));
                None
            }
            ConnEvent::Unsupported(reason) => Some(Outcome::Failed(reason)),
            ConnEvent::Motion(m) => {
                self.on_motion(&m);
                None
            }
            ConnEvent::Timeout => Some(Outcome::Retry(
                "camera stopped sending (RTCP timeout)".into(),
            )),
            ConnEvent::SegmentOpened(loc) => {
                log::debug!("camera {}: segment opened {loc}", self.config.name);
                let since = self.start_of(&loc);
                let mut st = self.status.lock().unwrap();
                st.current_segment = Some(self.relative(&loc));
                st.current_path = Some(loc);
                st.open_since_ns = since;
                None
            }
            ConnEvent::SegmentClosed(loc) => {
                self.on_segment_closed(loc);
                None
            }
        }
    }

    /// The capture time of a segment's first frame, as the pipeline noted it.
    fn start_of(&self, location: &str) -> Option<u64> {
        let st = self.stats.as_ref()?;
        let starts = st.starts.lock().unwrap();
        starts
            .iter()
            .find(|(p, _)| p == location)
            .map(|(_, ns)| *ns)
    }

    fn on_motion(&mut self, msg: &crate::motion::element::MotionMessage) {
        let (active, score) = (msg.active, msg.score);
        let mut boxes = crate::motion::events::Boxes::new();
        for b in &msg.boxes {
            // At most the first 8 regions are kept with an event.
            let _ = boxes.push(b.map(|v| v as f32));
        }
        let shared = self.shared.clone();
        let change = self.tracker.as_mut().and_then(|t| {
            t.report(self.clock.wall_ns(), active, score as f32, &boxes, || {
                shared.events.lock().unwrap().next_id()
            })
        });
        if let Some(change) = change {
            self.on_event(change);
        }
        let mut st = self.status.lock().unwrap();
        let Some(m) = st.motion.as_mut() else { return };
        let now = self.clock.wall_ns();
        let today = crate::time::LocalTime::from_unix((now / 1_000_000_000) as i64).date();
        if m.day != today {
            m.day = today;
            m.events_today = 0;
        }
        if active && !m.active {
            m.last_start = Some(rfc3339_utc_ns(now));
            m.events_today += 1;
            log::debug!("camera {}: motion (score {score:.3})", self.config.name);
        }
        m.active = active;
        m.score = score;
    }

    fn on_event(&mut self, change: crate::motion::events::Change) {
        use crate::motion::events::Change;
        // Journalled at its start too: a crash before its end must not give its id again.
        if let Change::Started(e) = &change
            && let Err(err) = self.shared.events.lock().unwrap().record_start(e)
        {
            log::error!("events: cannot record: {err}");
        }
        let mut st = self.status.lock().unwrap();
        let Some(m) = st.motion.as_mut() else { return };
        match change {
            Change::Started(e) => {
                log::info!("camera {}: motion event {} started", self.config.name, e.id);
                m.current_event = Some(e.id);
                m.current_event_start_ns = Some(e.start_ns);
                self.shared.bus.publish(CameraEvent::MotionStarted {
                    camera: self.config.name.to_string(),
                    id: e.id,
                    start: rfc3339_utc_ns(e.start_ns),
                });
            }
            Change::Ended(e) => {
                let end = e.end_ns.unwrap_or(e.start_ns);
                log::info!(
                    "camera {}: motion event {} ended ({:.1} s, peak {:.3})",
                    self.config.name,
                    e.id,
                    (end - e.start_ns) as f64 / 1e9,
                    e.peak_score
                );
                m.current_event = None;
                m.current_event_start_ns = None;
                m.last_event = Some(serde_json::json!({
                    "id": e.id,
                    "start": rfc3339_utc_ns(e.start_ns),
                    "end": rfc3339_utc_ns(end),
                    "peak_score": e.peak_score,
                }));
                drop(st);
                self.last_event_end_ns = self.last_event_end_ns.max(end);
                // Written until `post_seconds` after its end (timed on the monotonic clock).
                let post_end = end + u64::from(self.config.post_seconds) * 1_000_000_000;
                let left = post_end.saturating_sub(self.clock.wall_ns());
                self.post_until = Some(self.clock.now() + Duration::from_nanos(left));
                self.request_snapshot(&e);
                self.shared.bus.publish(CameraEvent::MotionEnded {
                    camera: self.config.name.to_string(),
                    id: e.id,
                    start: rfc3339_utc_ns(e.start_ns),
                    end: rfc3339_utc_ns(end),
                    peak_score: e.peak_score,
                    boxes: e.peak_boxes.to_vec(),
                    snapshot: format!("/api/events/{}/snapshot.jpg", e.id),
                });
                if let Err(err) = self.shared.events.lock().unwrap().record(e) {
                    log::error!("events: cannot record: {err}");
                }
            }
        }
    }

    /// Asks for a JPEG of the event's peak frame, from the segment that holds it (a closed
    /// one, or the one being written: robust-muxing files are readable while written).
    fn request_snapshot(&self, e: &crate::motion::events::Event) {
        let Some(previews) = &self.shared.previews else {
            return;
        };
        let closed = {
            let cat = self.shared.catalog.lock().unwrap();
            cat.range(&self.config.name, e.peak_ns, e.peak_ns + 1)
                .first()
                .map(|s| (cat.path_of(&self.config.name, s), e.peak_ns - s.start_ns))
        };
        let open = || {
            let st = self.status.lock().unwrap();
            let since = st.open_since_ns.filter(|&t| t <= e.peak_ns)?;
            Some((PathBuf::from(st.current_path.clone()?), e.peak_ns - since))
        };
        if let Some((segment, offset)) = closed.or_else(open) {
            let out = crate::storage::layout::snapshot(
                &self.shared.storage_root,
                &self.config.name,
                e.id,
            );
            let codec = self
                .stats
                .as_ref()
                .and_then(|st| st.media.lock().unwrap().codec)
                .unwrap_or("h264");
            previews.snapshot(&segment, codec, gst::ClockTime::from_nseconds(offset), out);
        }
    }

    fn on_segment_closed(&mut self, loc: String) {
        self.disk_full_logged = false;
        let bytes = std::fs::metadata(&loc).map(|m| m.len()).unwrap_or(0);
        let summary = crate::storage::mp4::summarize(Path::new(&loc)).ok();
        let duration = summary.and_then(|s| s.duration).unwrap_or_default();
        let rel = self.relative(&loc);
        let start_ns = self
            .start_of(&loc)
            .or_else(|| start_from_name(&rel))
            .unwrap_or_else(|| {
                self.clock
                    .wall_ns()
                    .saturating_sub(duration.as_nanos() as u64)
            });
        log::debug!(
            "camera {}: segment closed {loc} ({:.1} s, {bytes} bytes)",
            self.config.name,
            duration.as_secs_f64()
        );
        let codec = self
            .stats
            .as_ref()
            .and_then(|st| st.media.lock().unwrap().codec)
            .unwrap_or("");
        // Motion during the segment: an event is open, or one ended after it began.
        let has_motion = self.tracker.as_ref().is_some_and(|t| t.current().is_some())
            || self.last_event_end_ns > start_ns;
        if let Ok(name) = SegmentName::try_from(rel.as_str()) {
            let segment = Segment {
                name,
                start_ns,
                duration_ms: duration.as_millis() as u32,
                bytes,
                codec: heapless::String::try_from(codec).unwrap_or_default(),
                has_motion,
                source: Source::Recorded,
            };
            if let Err(e) = self
                .shared
                .catalog
                .lock()
                .unwrap()
                .add(&self.config.name, segment)
            {
                log::error!(
                    "catalog: cannot record {loc}: {e} (it is rebuilt from the files at start)"
                );
            }
            self.shared.bus.publish(CameraEvent::Segment {
                camera: self.config.name.to_string(),
                name: rel.clone(),
                start: rfc3339_utc_ns(start_ns),
                duration_s: duration.as_secs_f64(),
                bytes,
            });
        }
        self.shared.counters.lock().unwrap().recorded(bytes);
        let mut st = self.status.lock().unwrap();
        st.segments_written += 1;
        let today =
            crate::time::LocalTime::from_unix((self.clock.wall_ns() / 1_000_000_000) as i64).date();
        if st.written_day != today {
            st.written_day = today;
            st.written_today = 0;
        }
        st.written_today += bytes;
        if st.current_path.as_deref() == Some(loc.as_str()) {
            st.current_segment = None;
            st.current_path = None;
            st.open_since_ns = None;
        }
        st.last_segment = Some(SegmentInfo {
            name: rel,
            start: rfc3339_utc_ns(start_ns),
            duration_s: duration.as_secs_f64(),
            bytes,
        });
    }

    /// Finalizes the open segment (bounded wait) and closes the connection (off the
    /// executor: state changes can block on network teardown).
    async fn teardown(&mut self, mut conn: O::Connection, finish: bool) {
        if finish {
            let name = self.config.name.clone();
            conn.finish();
            let deadline = self.clock.sleep(FINALIZE_TIMEOUT);
            let finalize = async {
                while let Some(event) = conn.next().await {
                    match event {
                        ConnEvent::Ended | ConnEvent::Error(_) => break,
                        other => {
                            self.on_connection(other);
                        }
                    }
                }
            };
            smol::future::or(finalize, async {
                deadline.await;
                log::warn!(
                    "camera {name}: segment not finalized within {} s; its index (rewritten every \
                     second) keeps it playable",
                    FINALIZE_TIMEOUT.as_secs()
                );
            })
            .await;
        }
        // Events already posted (a closing segment) still count.
        for event in conn.queued() {
            self.on_connection(event);
        }
        let wall = self.clock.wall_ns();
        if let Some(change) = self.tracker.as_mut().and_then(|t| t.close(wall)) {
            self.on_event(change);
        }
        conn.close().await;
        let mut st = self.status.lock().unwrap();
        st.current_segment = None;
        st.current_path = None;
        st.open_since_ns = None;
    }

    fn sample_stats(&mut self, stats: &Stats, now: Duration) {
        let bytes = stats.bytes.load(Ordering::Relaxed);
        let frames = stats.motion_frames.load(Ordering::Relaxed);
        if self.bitrate.is_full() {
            self.bitrate.pop_front();
        }
        let _ = self.bitrate.push_back((now, bytes, frames));
        let (bps, fps) = match (self.bitrate.front(), self.bitrate.back()) {
            (Some(&(t0, b0, f0)), Some(&(t1, b1, f1))) if t1 > t0 && b1 >= b0 && f1 >= f0 => {
                let dt = (t1 - t0).as_secs_f64();
                (((b1 - b0) as f64 * 8.0 / dt) as u64, (f1 - f0) as f64 / dt)
            }
            _ => (0, 0.0),
        };
        let media = stats.media.lock().unwrap().clone();
        let mut st = self.status.lock().unwrap();
        st.bitrate_bps = bps;
        st.codec = media.codec.or(st.codec);
        st.width = media.width.or(st.width);
        st.height = media.height.or(st.height);
        st.audio = media.audio.or(st.audio.take());
        if let Some(m) = st.motion.as_mut() {
            m.detector_fps = (fps * 10.0).round() / 10.0;
        }
    }

    fn set_state(&mut self, state: State, reason: Option<String>) {
        let mut st = self.status.lock().unwrap();
        st.track_outage(state, reason.as_deref(), self.clock.wall_ns());
        if st.state != state || st.reason != reason {
            st.state = state;
            st.reason = reason.clone();
            st.since = rfc3339_utc_ns(self.clock.wall_ns());
            self.shared.bus.publish(CameraEvent::State {
                camera: self.config.name.to_string(),
                state,
                reason,
                at: st.since.clone(),
            });
        }
        if state != State::Recording {
            st.bitrate_bps = 0;
            self.bitrate.clear();
        }
    }

    /// Says when the disk falls behind the camera, and when it has caught up: in `/status`
    /// (the reason, `write_backlog_s`), the log and the bus.
    fn note_backlog(&mut self, b: super::connection::Backlog) {
        let said = if b.full {
            Some("the disk is not taking writes: the camera's video waits for it")
        } else if b.waiting >= DISK_BEHIND {
            Some("the disk is not keeping up: video is waiting to be written")
        } else {
            None
        };
        let recording = {
            let mut st = self.status.lock().unwrap();
            st.write_backlog_s = said.map(|_| (b.waiting.as_secs_f64() * 10.0).round() / 10.0);
            st.state == State::Recording
        };
        if said == self.disk_behind || !recording {
            return;
        }
        let name = &self.config.name;
        match said {
            Some(text) => log::warn!(
                "camera {name}: {text} ({:.1} s of it)",
                b.waiting.as_secs_f64()
            ),
            None => log::info!("camera {name}: the disk has caught up"),
        }
        self.disk_behind = said;
        self.set_state(State::Recording, said.map(str::to_string));
    }

    fn record_error(&self, text: &str) {
        let mut st = self.status.lock().unwrap();
        st.last_error = Some(text.to_string());
        st.last_error_at = Some(rfc3339_utc_ns(self.clock.wall_ns()));
    }

    /// A segment's path relative to the camera's folder (what the API shows and the catalog
    /// keys on); empty for a path outside it.
    fn relative(&self, path: &str) -> String {
        let cam_dir = self.shared.storage_root.join(self.config.name.as_str());
        Path::new(path)
            .strip_prefix(&cam_dir)
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    /// Removes the camera's password from any text that may be logged or served.
    fn redact(&self, text: &str) -> String {
        redact(text, self.config.password.as_ref().map(|p| p.expose()))
    }
}

/// Watches the open segment's size: when did anything last reach the disk?
#[derive(Default)]
struct DiskProgress {
    path: Option<String>,
    size: u64,
    at: Option<Duration>,
}

impl DiskProgress {
    /// Nothing is meant to reach the disk now: count it as progress.
    fn idle(&mut self, now: Duration) -> Option<Duration> {
        self.path = None;
        self.at = Some(now);
        self.at
    }

    /// One `stat` of the open segment per tick.
    fn observe(&mut self, current: Option<&str>, now: Duration) -> Option<Duration> {
        let Some(path) = current else {
            return self.at;
        };
        let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        if self.path.as_deref() != Some(path) || size > self.size {
            self.path = Some(path.to_string());
            self.size = size;
            self.at = Some(now);
        }
        self.at
    }
}

/// Replaces every occurrence of `secret` (and URL user info) in `text` with `***`.
pub fn redact(text: &str, secret: Option<&str>) -> String {
    let mut out = text.to_string();
    if let Some(s) = secret.filter(|s| !s.is_empty()) {
        out = out.replace(s, "***");
    }
    // Any `scheme://user:pass@` that slipped in from elsewhere.
    let mut result = String::with_capacity(out.len());
    for word in out.split_inclusive(char::is_whitespace) {
        if word.contains("://") && word.contains('@') {
            result.push_str(&crate::config::redact_url(word));
        } else {
            result.push_str(word);
        }
    }
    result
}

#[cfg(test)]
mod tests;
