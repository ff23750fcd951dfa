//! The supervisor against a scripted camera connection and a simulated clock: every case runs
//! frame by frame in simulated time, without sleeping. (The real-pipeline cases are in
//! `tests/recording.rs`.)

use super::*;
use crate::camera::connection::{ConnError, ConnEvent, Connection, ErrorKind, Opener};
use crate::time::{SimClock, run_simulated};
use std::collections::VecDeque;

const FRAME: Duration = Duration::from_millis(40);
/// The fake's segments close after this much video.
const SEGMENT: Duration = Duration::from_secs(10);

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

/// What a fake connection does once started, in order; after the last step it says nothing.
#[derive(Clone, Debug)]
enum Step {
    /// Video at 25 fps for this long, into segment files that close every [`SEGMENT`].
    Frames(Duration),
    /// Nothing for this long (the connection stays open).
    Quiet(Duration),
    /// This event, now.
    Say(ConnEvent),
}

/// One connection attempt as the fake camera answers it.
#[derive(Clone)]
struct Attempt {
    steps: Vec<Step>,
    /// The connection finalizes when asked (false: a camera gone mid-teardown).
    answers_finish: bool,
}

impl Attempt {
    fn new(steps: Vec<Step>) -> Self {
        Attempt {
            steps,
            answers_finish: true,
        }
    }
}

fn error(kind: ErrorKind, text: &str) -> Step {
    Step::Say(ConnEvent::Error(ConnError {
        kind,
        text: text.into(),
    }))
}

/// What the supervisor did to the fake camera, in simulated time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Did {
    Open,
    Finish,
    Close,
    /// The gate opened, with this much pre-roll asked for (ns).
    OpenGate(u64),
    CloseGate,
}

type Log = Arc<Mutex<Vec<(Duration, Did)>>>;

/// A camera that answers each attempt from a script; once the scripts run out it is down
/// (every attempt unreachable). `up` says whether a probe at a time gets an answer.
struct FakeCamera {
    clock: SimClock,
    root: PathBuf,
    attempts: Mutex<VecDeque<Attempt>>,
    up: Box<dyn Fn(Duration) -> bool + Send + Sync>,
    log: Log,
}

impl Opener for FakeCamera {
    type Connection = FakeConnection;

    fn open(
        &self,
        camera: &CameraConfig,
        _: Option<Arc<super::super::motion::Feed>>,
    ) -> Result<FakeConnection, String> {
        self.log.lock().unwrap().push((self.clock.now(), Did::Open));
        let attempt = self
            .attempts
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or_else(|| {
                Attempt::new(vec![error(ErrorKind::Other, "Could not open resource")])
            });
        Ok(FakeConnection {
            clock: self.clock.clone(),
            root: self.root.clone(),
            camera: camera.name.to_string(),
            stats: Arc::new(Stats::default()),
            steps: attempt.steps.into(),
            answers_finish: attempt.answers_finish,
            at: Duration::ZERO,
            next_frame: Duration::ZERO,
            segment: None,
            said: VecDeque::new(),
            finishing: false,
            log: self.log.clone(),
            writing: crate::camera::gate::keep_ns(camera).is_none(),
        })
    }

    async fn probe(&self, _: &str, _: u16) -> bool {
        (self.up)(self.clock.now())
    }
}

struct FakeConnection {
    clock: SimClock,
    root: PathBuf,
    camera: String,
    stats: Arc<Stats>,
    steps: VecDeque<Step>,
    answers_finish: bool,
    /// When the current step began.
    at: Duration,
    next_frame: Duration,
    /// The open segment file and when it opened.
    segment: Option<(String, Duration)>,
    /// Events due before anything else.
    said: VecDeque<ConnEvent>,
    finishing: bool,
    log: Log,
    /// Frames go to segment files (always, unless the camera is gated and its gate shut).
    writing: bool,
}

impl FakeConnection {
    /// One frame at `t`: counted, written to the open segment (opening or rotating it).
    fn frame(&mut self, t: Duration) {
        self.stats
            .last_video_ns
            .store(t.as_nanos() as u64, Ordering::Relaxed);
        self.stats.bytes.fetch_add(2_500, Ordering::Relaxed);
        if !self.writing {
            return;
        }
        if let Some((path, opened)) = self.segment.clone() {
            if t - opened < SEGMENT {
                use std::io::Write;
                let mut f = std::fs::OpenOptions::new()
                    .append(true)
                    .open(&path)
                    .unwrap();
                f.write_all(&[0; 100]).unwrap();
                return;
            }
            self.segment = None;
            self.said.push_back(ConnEvent::SegmentClosed(path));
        }
        let wall = self.clock.wall_ns();
        let path = crate::storage::layout::new_segment(&self.root, &self.camera, wall).unwrap();
        std::fs::write(&path, [0; 100]).unwrap();
        let path = path.to_string_lossy().into_owned();
        let _ = self
            .stats
            .starts
            .lock()
            .unwrap()
            .push_back((path.clone(), wall));
        self.segment = Some((path.clone(), t));
        self.said.push_back(ConnEvent::SegmentOpened(path));
    }
}

impl Connection for FakeConnection {
    fn stats(&self) -> &Arc<Stats> {
        &self.stats
    }

    async fn start(&mut self) -> Result<(), String> {
        self.at = self.clock.now();
        self.next_frame = self.at;
        Ok(())
    }

    async fn next(&mut self) -> Option<ConnEvent> {
        loop {
            if let Some(event) = self.said.pop_front() {
                return Some(event);
            }
            if self.finishing {
                if !self.answers_finish {
                    std::future::pending::<()>().await;
                }
                self.finishing = false;
                self.steps.clear();
                if let Some((path, _)) = self.segment.take() {
                    self.said.push_back(ConnEvent::SegmentClosed(path));
                }
                self.said.push_back(ConnEvent::Ended);
                continue;
            }
            match self.steps.front().cloned() {
                None => std::future::pending::<()>().await,
                Some(Step::Say(event)) => {
                    self.steps.pop_front();
                    if event == ConnEvent::Ended {
                        // The camera's end of stream finalizes the open segment.
                        if let Some((path, _)) = self.segment.take() {
                            self.said.push_back(ConnEvent::SegmentClosed(path));
                        }
                        self.said.push_back(event);
                        continue;
                    }
                    return Some(event);
                }
                Some(Step::Quiet(d)) => {
                    self.clock.sleep_until(self.at + d).await;
                    self.at += d;
                    self.steps.pop_front();
                }
                Some(Step::Frames(d)) => {
                    let end = self.at + d;
                    self.next_frame = self.next_frame.max(self.at);
                    if self.next_frame >= end {
                        self.at = end;
                        self.steps.pop_front();
                        continue;
                    }
                    self.clock.sleep_until(self.next_frame).await;
                    let t = self.next_frame;
                    self.next_frame += FRAME;
                    self.frame(t);
                }
            }
        }
    }

    fn finish(&mut self) {
        self.log
            .lock()
            .unwrap()
            .push((self.clock.now(), Did::Finish));
        self.finishing = true;
    }

    fn queued(&mut self) -> Vec<ConnEvent> {
        self.said.drain(..).collect()
    }

    fn open_gate(&mut self, pre_ns: u64) -> Result<u64, String> {
        let now = self.clock.now();
        self.log.lock().unwrap().push((now, Did::OpenGate(pre_ns)));
        self.writing = true;
        Ok(pre_ns)
    }

    fn close_gate(&mut self) {
        let now = self.clock.now();
        self.log.lock().unwrap().push((now, Did::CloseGate));
        self.writing = false;
        if let Some((path, _)) = self.segment.take() {
            self.said.push_back(ConnEvent::SegmentClosed(path));
        }
    }

    fn gate(&self) -> Option<crate::camera::gate::Report> {
        Some(Default::default())
    }

    async fn close(self) {
        self.log
            .lock()
            .unwrap()
            .push((self.clock.now(), Did::Close));
    }
}

/// A scratch storage folder, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let p = std::env::temp_dir().join(format!("nvr-sup-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Scratch(p)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What a simulated run showed.
struct Run {
    /// Every change of (state, reason), sampled every 100 ms of simulated time.
    states: Vec<(Duration, State, Option<String>)>,
    did: Vec<(Duration, Did)>,
    /// When `run` returned.
    ended: Duration,
    /// The longest time the heartbeat went without a beat, as the samples saw it.
    longest_silence: Duration,
    status: CameraStatus,
    segments_in_catalog: usize,
}

impl Run {
    fn opens(&self) -> Vec<Duration> {
        self.did
            .iter()
            .filter(|(_, d)| *d == Did::Open)
            .map(|(t, _)| *t)
            .collect()
    }

    /// When the state first became `state` at or after `from`.
    fn first(&self, state: State, from: Duration) -> Option<(Duration, Option<String>)> {
        self.states
            .iter()
            .find(|(t, s, _)| *t >= from && *s == state)
            .map(|(t, _, r)| (*t, r.clone()))
    }
}

/// Runs a supervisor for camera `name` against `attempts`, telling it to stop at `stop_at`.
fn simulate(
    name: &str,
    extra: &str,
    attempts: Vec<Attempt>,
    up: impl Fn(Duration) -> bool + Send + Sync + 'static,
    stop_at: Duration,
) -> Run {
    let scratch = Scratch::new(name);
    let text = format!(
        "[storage]\npath = \"{}\"\n[[camera]]\nname = \"{name}\"\n\
         url = \"rtsp://admin:s3cret%25@cam.invalid:554/live\"\n{extra}",
        scratch.0.display()
    );
    let config = crate::config::Config::parse(&text, None).unwrap();
    let camera = config.cameras[0].clone();
    let clock = SimClock::default();
    let root = scratch.0.clone();
    let shared = Arc::new(Shared::for_test(&root, Arc::new(clock.clone())));
    let writer = shared.writer.clone();
    let log: Log = Arc::default();
    let fake = FakeCamera {
        clock: clock.clone(),
        root: root.clone(),
        attempts: Mutex::new(attempts.into()),
        up: Box::new(up),
        log: log.clone(),
    };
    let (sup, handle) = Supervisor::new(camera, shared.clone(), fake);
    let states = Mutex::new(Vec::new());
    let silence = Mutex::new(Duration::ZERO);
    let ended = run_simulated(&clock, stop_at + Duration::from_secs(600), async {
        let supervise = async {
            sup.run().await;
            clock.now()
        };
        let stop = async {
            clock.sleep_until(stop_at).await;
            handle.commands.send(Command::Stop).await.unwrap();
        };
        let observe = async {
            loop {
                let now = clock.now();
                let (state, reason) = {
                    let st = handle.status.lock().unwrap();
                    (st.state, st.reason.clone())
                };
                {
                    let mut v = states.lock().unwrap();
                    if v.last().is_none_or(|(_, s, r)| (*s, r) != (state, &reason)) {
                        v.push((now, state, reason));
                    }
                }
                let beat = Duration::from_nanos(handle.heartbeat.load(Ordering::Relaxed));
                if beat > Duration::ZERO {
                    let gap = now.saturating_sub(beat);
                    let mut s = silence.lock().unwrap();
                    *s = (*s).max(gap);
                }
                clock.sleep(secs(0.1)).await;
            }
        };
        smol::future::or(
            async { smol::future::zip(supervise, stop).await.0 },
            observe,
        )
        .await
    });
    let did = log.lock().unwrap().clone();
    let status = handle.status.lock().unwrap().clone();
    let segments_in_catalog = shared.catalog.lock().unwrap().len();
    writer.flush();
    Run {
        states: states.into_inner().unwrap(),
        did,
        ended,
        longest_silence: silence.into_inner().unwrap(),
        status,
        segments_in_catalog,
    }
}

fn always(_: Duration) -> bool {
    true
}

fn near(t: Duration, want: f64, within: f64) -> bool {
    (t.as_secs_f64() - want).abs() <= within
}

#[test]
fn connects_records_and_finalizes_on_stop() {
    let run = simulate(
        "door401",
        "",
        vec![Attempt::new(vec![Step::Frames(secs(600.0))])],
        always,
        secs(35.0),
    );
    let (t, _) = run.first(State::Recording, Duration::ZERO).unwrap();
    assert!(t <= secs(0.6), "recording after {t:?}");
    assert_eq!(run.opens(), vec![Duration::ZERO], "one connection");
    // Segments closed at 10, 20, 30 s, and the open one finalized on stop.
    assert_eq!(run.status.segments_written, 4);
    assert_eq!(run.segments_in_catalog, 4);
    assert_eq!(
        run.did[1..],
        [(secs(35.0), Did::Finish), (secs(35.0), Did::Close)]
    );
    assert_eq!(run.ended, secs(35.0));
    assert_eq!(run.status.state, State::Stopped);
    assert!(
        run.longest_silence <= secs(1.0),
        "{:?}",
        run.longest_silence
    );
}

#[test]
fn a_stalled_stream_is_rebuilt_after_stall_seconds() {
    let run = simulate(
        "stall",
        "stall_seconds = 8\n",
        vec![
            Attempt::new(vec![Step::Frames(secs(20.0))]),
            Attempt::new(vec![Step::Frames(secs(600.0))]),
        ],
        always,
        secs(60.0),
    );
    let (t, reason) = run.first(State::Retrying, Duration::ZERO).unwrap();
    // Last frame at 19.96 s; down on the first tick more than 8 s later.
    assert!(t > secs(27.9) && t <= secs(28.6), "stall seen at {t:?}");
    assert!(reason.unwrap().contains("stalled"));
    // The open segment was finalized before reconnecting, then ~1 s of backoff (±20 %).
    let opens = run.opens();
    assert_eq!(opens.len(), 2, "{:?}", run.did);
    let gap = opens[1] - t;
    assert!(gap >= secs(0.7) && gap <= secs(1.3), "backoff {gap:?}");
    assert!(run.first(State::Recording, opens[1]).is_some());
    assert_eq!(run.status.reconnects, 1);
}

#[test]
fn the_cameras_own_end_of_stream_reconnects_without_finishing() {
    let run = simulate(
        "eos",
        "",
        vec![
            Attempt::new(vec![Step::Frames(secs(12.0)), Step::Say(ConnEvent::Ended)]),
            Attempt::new(vec![Step::Frames(secs(600.0))]),
        ],
        always,
        secs(30.0),
    );
    let (t, reason) = run.first(State::Retrying, Duration::ZERO).unwrap();
    assert!(near(t, 12.0, 0.15), "{t:?}");
    assert!(reason.unwrap().contains("camera ended the stream"));
    // No finish asked of an ended stream: its own EOS closed the segment (10 s + 2 s).
    let finishes: Vec<_> = run.did.iter().filter(|(_, d)| *d == Did::Finish).collect();
    assert_eq!(
        finishes.len(),
        1,
        "only the final stop finishes: {:?}",
        run.did
    );
    assert_eq!(run.opens().len(), 2);
}

#[test]
fn an_error_is_shown_without_the_password_and_retried() {
    let run = simulate(
        "err",
        "",
        vec![
            Attempt::new(vec![
                Step::Frames(secs(3.0)),
                error(
                    ErrorKind::Other,
                    "Internal data stream error from rtsp://admin:s3cret%@cam.invalid/live (s3cret%)",
                ),
            ]),
            Attempt::new(vec![Step::Frames(secs(600.0))]),
        ],
        always,
        secs(20.0),
    );
    let (_, reason) = run.first(State::Retrying, Duration::ZERO).unwrap();
    let reason = reason.unwrap();
    assert!(reason.contains("Internal data stream error"), "{reason}");
    assert!(!reason.contains("s3cret"), "{reason}");
    let last_error = run.status.last_error.clone().unwrap();
    assert!(!last_error.contains("s3cret"), "{last_error}");
    assert_eq!(run.opens().len(), 2);
}

#[test]
fn rejected_credentials_fail_and_retry_only_after_the_failed_interval() {
    let run = simulate(
        "auth",
        "",
        vec![
            Attempt::new(vec![error(ErrorKind::NotAuthorized, "Unauthorized")]),
            Attempt::new(vec![error(ErrorKind::NotAuthorized, "Unauthorized")]),
        ],
        always,
        secs(600.5),
    );
    let (t, reason) = run.first(State::Failed, Duration::ZERO).unwrap();
    assert!(t <= secs(0.1));
    assert!(reason.unwrap().contains("authentication failed"));
    let opens = run.opens();
    // No reconnect storm: 0 s, 300 s, 600 s.
    assert_eq!(opens, vec![Duration::ZERO, FAILED_RETRY, FAILED_RETRY * 2]);
    assert_eq!(run.status.reconnects, 2);
}

#[test]
fn an_unsupported_stream_fails() {
    let run = simulate(
        "mjpeg",
        "",
        vec![Attempt::new(vec![Step::Say(ConnEvent::Unsupported(
            "MJPEG cannot be recorded without re-encoding".into(),
        ))])],
        always,
        secs(10.0),
    );
    let (_, reason) = run.first(State::Failed, Duration::ZERO).unwrap();
    assert!(reason.unwrap().contains("MJPEG"));
    assert_eq!(run.opens().len(), 1);
}

#[test]
fn no_video_within_the_connect_timeout_retries() {
    let run = simulate(
        "silent",
        "",
        vec![Attempt::new(vec![Step::Quiet(secs(600.0))])],
        always,
        secs(17.0),
    );
    let (t, reason) = run.first(State::Retrying, Duration::ZERO).unwrap();
    assert!(t > secs(15.0) && t <= secs(15.6), "{t:?}");
    assert!(reason.unwrap().contains("no video within 15 s"));
    assert_eq!(run.first(State::Recording, Duration::ZERO), None);
}

#[test]
fn backoff_grows_while_the_camera_is_down_and_resets_when_it_answers() {
    // Down (unreachable, probes unanswered) until 200 s; then up for good.
    let mut attempts = Vec::new();
    for _ in 0..9 {
        attempts.push(Attempt::new(vec![error(
            ErrorKind::Other,
            "Could not open resource for reading and writing",
        )]));
    }
    attempts.push(Attempt::new(vec![Step::Frames(secs(600.0))]));
    let run = simulate("flaky", "", attempts, |t| t >= secs(200.0), secs(260.0));
    let opens = run.opens();
    let gaps: Vec<f64> = opens
        .windows(2)
        .map(|w| (w[1] - w[0]).as_secs_f64())
        .collect();
    // 1, 2, 4, 8, 16, 32, 60, 60 s nominal, ±20 %, capped at 60.
    let nominal = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0];
    for (g, n) in gaps.iter().zip(nominal) {
        assert!(
            *g >= n * 0.8 && *g <= (n * 1.2).min(60.0) + 0.01,
            "{gaps:?}"
        );
    }
    // The camera answers the first probe after 200 s: reconnect then, not at the end of a
    // 60 s backoff.
    let back = *opens.iter().find(|t| **t >= secs(200.0)).unwrap();
    assert!(back <= secs(201.1), "reconnected at {back:?}: {gaps:?}");
    assert!(run.first(State::Recording, back).is_some());
    assert!(
        run.longest_silence <= secs(1.1),
        "{:?}",
        run.longest_silence
    );
}

#[test]
fn a_camera_that_answers_but_fails_every_stream_is_not_retried_every_second() {
    // Its port accepts connections (probes answer), every stream fails at once.
    let attempts = (0..20)
        .map(|_| Attempt::new(vec![error(ErrorKind::Other, "503 Service Unavailable")]))
        .collect();
    let run = simulate("busy", "", attempts, always, secs(200.0));
    let opens = run.opens();
    // 1 + 2 + 4 + 8 + 16 + 32 + 60 + 60 s nominal: 8 or 9 attempts in 200 s, not 200.
    assert!((7..=10).contains(&opens.len()), "{opens:?}");
}

#[test]
fn a_healthy_stretch_resets_the_backoff() {
    // Five short failures grow the backoff to ~32 s; then 30 s of good video; the next failure
    // retries after ~1 s.
    let mut attempts = Vec::new();
    for _ in 0..5 {
        attempts.push(Attempt::new(vec![error(ErrorKind::Other, "broken")]));
    }
    attempts.push(Attempt::new(vec![
        Step::Frames(secs(30.0)),
        error(ErrorKind::Other, "broken"),
    ]));
    attempts.push(Attempt::new(vec![Step::Frames(secs(600.0))]));
    let run = simulate("healthy", "", attempts, always, secs(150.0));
    let opens = run.opens();
    assert_eq!(opens.len(), 7, "{opens:?}");
    let grown = (opens[5] - opens[4]).as_secs_f64();
    assert!(grown >= 16.0 * 0.8, "{opens:?}");
    let after_healthy = (opens[6] - opens[5]).as_secs_f64() - 30.0;
    assert!((0.7..=1.3).contains(&after_healthy), "{opens:?}");
}

#[test]
fn stop_while_connecting_or_waiting_ends_at_once() {
    // Connecting: no video yet, nothing to finalize.
    let run = simulate(
        "connecting",
        "",
        vec![Attempt::new(vec![Step::Quiet(secs(600.0))])],
        always,
        secs(5.0),
    );
    assert_eq!(run.ended, secs(5.0));
    assert_eq!(
        run.did,
        vec![(Duration::ZERO, Did::Open), (secs(5.0), Did::Close)]
    );
    // Waiting out a failed camera's five minutes.
    let run = simulate(
        "waiting",
        "",
        vec![Attempt::new(vec![error(ErrorKind::NotAuthorized, "401")])],
        always,
        secs(42.0),
    );
    assert_eq!(run.ended, secs(42.0));
    assert_eq!(run.status.state, State::Stopped);
}

#[test]
fn teardown_gives_a_silent_connection_three_seconds_to_finalize() {
    let mut attempt = Attempt::new(vec![Step::Frames(secs(600.0))]);
    attempt.answers_finish = false;
    let run = simulate("hung", "", vec![attempt], always, secs(15.0));
    assert_eq!(
        run.did[1..],
        [
            (secs(15.0), Did::Finish),
            (secs(15.0) + FINALIZE_TIMEOUT, Did::Close)
        ]
    );
    assert_eq!(run.ended, secs(15.0) + FINALIZE_TIMEOUT);
    assert!(run.longest_silence <= FINALIZE_TIMEOUT + secs(0.1));
    // The segment that closed at 10 s is in; the unfinished one is not claimed.
    assert_eq!(run.segments_in_catalog, 1);
}

#[test]
fn a_disabled_or_off_camera_never_connects() {
    for extra in ["enabled = false\n", "mode = \"off\"\n"] {
        let run = simulate("off", extra, vec![], always, secs(7200.0 - 1.0));
        assert!(run.opens().is_empty());
        assert_eq!(run.states.len(), 1, "{:?}", run.states);
        assert_eq!(run.states[0].1, State::Disabled);
        assert_eq!(run.ended, secs(7200.0 - 1.0));
        assert!(run.longest_silence <= secs(1.1));
    }
}

#[test]
fn redacts_password_and_url_userinfo() {
    let t = redact(
        "Could not open rtsp://admin:s3cret@cam/x: s3cret rejected",
        Some("s3cret"),
    );
    assert!(!t.contains("s3cret"), "{t}");
    assert!(t.contains("rtsp://admin:***@cam/x"), "{t}");
    assert_eq!(redact("no secrets here", None), "no secrets here");
}

fn motion(active: bool) -> Step {
    Step::Say(ConnEvent::Motion(crate::motion::element::MotionMessage {
        active,
        calibrating: false,
        score: if active { 0.2 } else { 0.0 },
        boxes: Vec::new(),
        timestamp: None,
        running_time: None,
    }))
}

impl Run {
    /// What the supervisor did to the gate, when.
    fn gates(&self) -> Vec<(Duration, Did)> {
        self.did
            .iter()
            .filter(|(_, d)| matches!(d, Did::OpenGate(_) | Did::CloseGate))
            .copied()
            .collect()
    }
}

#[test]
fn a_motion_camera_writes_from_its_event_until_the_post_roll_ends_across_close_events() {
    // Motion at 20 and 22 s: an event 20..27 s (it ends 5 s after the last motion). Motion
    // again at 32 s, inside the first one's 6 s post-roll: a second event 32..37 s. Writing
    // starts at 20 s with 4 s (+1 s detection lag) of pre-roll and never stops in between.
    let run = simulate(
        "yard",
        "mode = \"motion\"\npre_seconds = 4\npost_seconds = 6",
        vec![Attempt::new(vec![
            Step::Frames(secs(20.0)),
            motion(true),
            Step::Frames(secs(2.0)),
            motion(true),
            Step::Frames(secs(10.0)),
            motion(true),
            Step::Frames(secs(60.0)),
        ])],
        always,
        secs(60.0),
    );
    let gates = run.gates();
    assert_eq!(gates.len(), 2, "{gates:?}");
    assert_eq!(gates[0].1, Did::OpenGate(5_000_000_000));
    assert!(near(gates[0].0, 20.0, 0.1), "{gates:?}");
    assert_eq!(gates[1].1, Did::CloseGate);
    assert!(near(gates[1].0, 43.0, 0.6), "{gates:?}");
    // Files only while writing: 20..30, 30..40, 40..43 s.
    assert_eq!(run.segments_in_catalog, 3);
    let g = run.status.gate.clone().unwrap();
    assert_eq!(g.stretches, 1);
    assert!(!g.writing);
    assert_eq!(g.pre_roll_wanted_s, 5.0);
}

#[test]
fn a_continuous_camera_has_no_gate_and_a_quiet_motion_camera_never_opens_it() {
    let frames = || vec![Attempt::new(vec![Step::Frames(secs(120.0))])];
    let run = simulate("drive", "", frames(), always, secs(60.0));
    assert!(run.gates().is_empty());
    assert!(run.status.gate.is_none());
    let run = simulate("yard", "mode = \"motion\"", frames(), always, secs(60.0));
    assert!(run.gates().is_empty(), "{:?}", run.gates());
    // Nothing is meant to reach the disk: not a disk stall, however long it lasts.
    assert_eq!(run.opens().len(), 1, "{:?}", run.states);
    assert_eq!(run.segments_in_catalog, 0);
    assert!(!run.status.gate.unwrap().writing);
}
