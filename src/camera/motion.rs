//! A camera's motion branch: a pipeline of its own, next to the recording pipeline.
//!
//! Its frames come either from the recorded stream (an `appsink` on the video tee hands each
//! access unit to this pipeline's `appsrc`, see [`Feed`]) or, when the camera has a
//! `sub_url`, from the camera's low-resolution substream through a second RTSP session
//! (`rtspsrc ! parsebin`, video only). Then `pipelines/motion.pipeline`: leaky queue,
//! decoder, frame-rate cap, scaling, `nvrmotion`.
//!
//! Invariant: nothing in here can stop or stall recording. The branch's errors land on its
//! own bus; the feed never blocks (the `appsrc` drops the oldest frames when full, and a
//! frame that arrives while no branch runs is dropped).
//!
//! Decoder choice ([`decoder_for`]): the hardware decoder when the board has one (or the
//! element `motion_decoder` names), else libav. A non-software decoder must pass a
//! self-test on the real stream: a decoded frame within [`SELF_TEST`] of its first input,
//! without an error. One that fails is not used again for this camera (until nvr restarts)
//! and the branch restarts at once with software decoding.
//!
//! Lifetime: one per camera with motion detection, owned by its supervisor. Runs only while
//! the camera is connected ([`Branch::begin`] .. [`Branch::end`]); after a failure it sleeps
//! ([`RETRY`], doubling up to [`MAX_RETRY`]) and rebuilds itself.

use super::pipeline::{Stats, rtsp_source};
use super::status::{BranchState, CameraStatus, MotionSource};
use crate::config::{CameraConfig, DecoderChoice};
use crate::pipelines;
use gst::prelude::*;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long a non-software decoder has, from its first input, to deliver a frame.
pub const SELF_TEST: Duration = Duration::from_secs(15);
/// First delay before rebuilding a failed branch; doubles up to [`MAX_RETRY`].
pub const RETRY: Duration = Duration::from_secs(5);
pub const MAX_RETRY: Duration = Duration::from_secs(300);

/// Hands the recording pipeline's video to the motion branch without ever making it wait.
/// Long-lived (one per camera); the recording side attaches its `appsink` on every connection.
#[derive(Default)]
pub struct Feed {
    /// The running branch's source; `None` while no branch runs (frames are dropped).
    target: Mutex<Option<gst_app::AppSrc>>,
    /// The recorded stream's codec and caps, once seen: the branch is built from them.
    stream: Mutex<Option<(&'static str, gst::Caps)>>,
}

impl Feed {
    /// Makes `sink` (on the recording pipeline's video tee) forward to the branch.
    pub fn attach(self: &Arc<Self>, sink: &gst_app::AppSink, codec: &'static str) {
        *self.stream.lock().unwrap() = None;
        let feed = self.clone();
        sink.set_callbacks(
            gst_app::AppSinkCallbacks::builder()
                .new_sample(move |sink| {
                    // Never an error: it would stop the tee, and recording with it.
                    if let Ok(sample) = sink.pull_sample() {
                        feed.push(&sample, codec);
                    }
                    Ok(gst::FlowSuccess::Ok)
                })
                .build(),
        );
    }

    fn push(&self, sample: &gst::Sample, codec: &'static str) {
        let Some(caps) = sample.caps_owned() else {
            return;
        };
        {
            let mut stream = self.stream.lock().unwrap();
            if stream.as_ref().is_none_or(|(_, c)| *c != caps) {
                *stream = Some((codec, caps.clone()));
            }
        }
        let Some(src) = self.target.lock().unwrap().clone() else {
            return;
        };
        let (Some(mut buf), Some(seg)) = (
            sample.buffer_owned(),
            sample
                .segment()
                .and_then(|s| s.downcast_ref::<gst::ClockTime>().cloned()),
        ) else {
            return;
        };
        if src.caps().as_ref() != Some(&caps) {
            src.set_caps(Some(&caps));
        }
        // The branch's appsrc starts its segment at 0: its running time is the recording
        // pipeline's (increasing for one connection; the branch is rebuilt with each). Only
        // the intervals matter to the branch (videorate); nothing in it syncs to a clock.
        {
            let b = buf.make_mut();
            let pts = b.pts().and_then(|t| seg.to_running_time(t));
            let dts = b.dts().and_then(|t| seg.to_running_time(t));
            b.set_pts(pts);
            b.set_dts(dts);
        }
        // Non-blocking: a full appsrc drops its oldest frame.
        let _ = src.push_buffer(buf);
    }

    fn stream(&self) -> Option<(&'static str, gst::Caps)> {
        self.stream.lock().unwrap().clone()
    }
}

/// A decoder for the branch.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoder {
    pub element: String,
    pub properties: &'static str,
    pub software: bool,
}

/// The motion branch's decoder for `codec` (`h264`/`h265`): what `choice` asks for when the
/// element exists and has not failed its self-test on this camera, else libav on one thread
/// (frames broken by a lost reference are not analysed).
pub fn decoder_for(codec: &str, choice: &DecoderChoice, failed: &[String]) -> Decoder {
    let candidate = match choice {
        DecoderChoice::Software => None,
        DecoderChoice::Element(e) => Some(e.clone()),
        // The Pi 4's V4L2 decoder is registered only where the kernel offers the device.
        DecoderChoice::Auto => Some(format!("v4l2{codec}dec")),
    };
    match candidate {
        Some(e) if !failed.contains(&e) && gst::ElementFactory::find(&e).is_some() => Decoder {
            element: e,
            properties: "",
            software: false,
        },
        _ => Decoder {
            element: format!("avdec_{codec}"),
            properties: "max-threads=1 output-corrupt=false",
            software: true,
        },
    }
}

/// One built branch pipeline.
struct Run {
    pipeline: gst::Pipeline,
    messages: gst::bus::BusStream,
    /// Set when the chain is built: at once from the feed, on the substream's first pad.
    decoder: Arc<Mutex<Option<Decoder>>>,
    /// Buffers that reached the decoder, and frames the detector saw at the start.
    input: Arc<AtomicU64>,
    frames_at_start: u64,
    first_input_at: Option<Duration>,
    /// The decoder delivered a frame (self-test passed, or software).
    proven: bool,
}

pub struct Branch {
    config: CameraConfig,
    pipeline_dir: PathBuf,
    status: Arc<Mutex<CameraStatus>>,
    pub feed: Arc<Feed>,
    /// The recording connection's counters, between `begin` and `end`.
    stats: Option<Arc<Stats>>,
    run: Option<Run>,
    /// When to (re)build, on the supervisor's monotonic clock; `None` = not connected.
    start_at: Option<Duration>,
    retry: super::backoff::Backoff,
    /// Decoders that failed their self-test on this camera.
    failed: Vec<String>,
}

/// What a branch bus message meant, for the supervisor.
pub enum Report {
    /// An `nvr-motion` message from the detector.
    Motion(crate::motion::element::MotionMessage),
    Nothing,
}

impl Branch {
    pub fn new(
        config: &CameraConfig,
        pipeline_dir: PathBuf,
        status: Arc<Mutex<CameraStatus>>,
    ) -> Branch {
        if let Some(m) = status.lock().unwrap().motion.as_mut() {
            m.source = if config.sub.is_some() {
                MotionSource::Substream
            } else {
                MotionSource::Stream
            };
            m.branch = BranchState::Starting;
        }
        Branch {
            config: config.clone(),
            pipeline_dir,
            status,
            feed: Arc::new(Feed::default()),
            stats: None,
            run: None,
            start_at: None,
            retry: super::backoff::Backoff::with(
                RETRY,
                MAX_RETRY,
                config
                    .name
                    .bytes()
                    .fold(7, |h, b| h.rotate_left(5) ^ u64::from(b)),
            ),
            failed: Vec::new(),
        }
    }

    /// The camera is connected: build the branch as soon as there is something to decode.
    pub fn begin(&mut self, stats: Arc<Stats>, now: Duration) {
        self.stats = Some(stats);
        self.start_at = Some(now);
    }

    /// The camera's connection ends: stop the branch. Nothing is moving that nvr can see.
    pub async fn end(&mut self) {
        self.start_at = None;
        self.stop().await;
        self.stats = None;
        self.set_branch(BranchState::Starting, None);
        if let Some(m) = self.status.lock().unwrap().motion.as_mut() {
            m.active = false;
            m.score = 0.0;
            m.detector_fps = 0.0;
        }
    }

    /// The next message on the running branch's bus; never resolves while none runs.
    pub async fn next_message(&mut self) -> Option<gst::Message> {
        use smol::stream::StreamExt;
        match self.run.as_mut() {
            Some(run) => run.messages.next().await,
            None => std::future::pending().await,
        }
    }

    /// Periodic work: start when due, judge the decoder's self-test.
    pub async fn tick(&mut self, now: Duration) {
        if self.run.is_none() && self.start_at.is_some_and(|t| now >= t) {
            match self.build() {
                Ok(Some(run)) => {
                    let p = run.pipeline.clone();
                    self.run = Some(run);
                    if smol::unblock(move || p.set_state(gst::State::Playing))
                        .await
                        .is_err()
                    {
                        self.fail("the motion pipeline refused to start".into(), now)
                            .await;
                    } else {
                        self.set_branch(BranchState::Running, None);
                    }
                }
                // The recorded stream has not shown its caps yet.
                Ok(None) => {}
                Err(e) => self.fail(e, now).await,
            }
        }
        let frames = self.frames();
        let Some(run) = self.run.as_mut() else {
            return;
        };
        if run.proven {
            return;
        }
        let decoder = run.decoder.lock().unwrap().clone();
        let Some(decoder) = decoder else { return };
        if frames > run.frames_at_start {
            run.proven = true;
            self.retry.reset();
            if !decoder.software {
                log::info!(
                    "camera {}: motion decoder {} passed its self-test",
                    self.config.name,
                    decoder.element
                );
            }
            return;
        }
        if decoder.software || run.input.load(Ordering::Relaxed) == 0 {
            return;
        }
        let since = *run.first_input_at.get_or_insert(now);
        if now.saturating_sub(since) >= SELF_TEST {
            let why = format!("no frame within {} s", SELF_TEST.as_secs());
            self.self_test_failed(&decoder, &why, now).await;
        }
    }

    /// Handles one message from the branch's bus.
    pub async fn on_message(&mut self, msg: &gst::Message, now: Duration) -> Report {
        use gst::MessageView;
        match msg.view() {
            MessageView::Element(e) => match e.structure() {
                Some(s) if s.name() == crate::motion::element::MESSAGE => {
                    match crate::motion::element::MotionMessage::try_from(s) {
                        Ok(m) => Report::Motion(m),
                        Err(e) => {
                            log::warn!("camera {}: {e}", self.config.name);
                            Report::Nothing
                        }
                    }
                }
                _ => Report::Nothing,
            },
            MessageView::Error(e) => {
                let text = self.redact(&crate::pipelines::BusError::new(e).to_string());
                // Before its first frame, a non-software decoder is blamed for what it must
                // have caused: its own errors, data-flow errors (caps it refused), anything
                // once it had input. A connection error of the substream is not its fault.
                let from_decoder = msg.src().is_some_and(|s| s.name() == "decoder")
                    || e.error().kind::<gst::StreamError>().is_some();
                let untested = self.run.as_ref().and_then(|r| {
                    let d = r.decoder.lock().unwrap().clone()?;
                    let blamed = from_decoder || r.input.load(Ordering::Relaxed) > 0;
                    (!d.software && !r.proven && blamed).then_some(d)
                });
                match untested {
                    Some(d) => self.self_test_failed(&d, &text, now).await,
                    None => self.fail(text, now).await,
                }
                Report::Nothing
            }
            MessageView::Eos(_) => {
                self.fail("the motion source ended".into(), now).await;
                Report::Nothing
            }
            _ => Report::Nothing,
        }
    }

    fn frames(&self) -> u64 {
        self.stats
            .as_ref()
            .map_or(0, |s| s.motion_frames.load(Ordering::Relaxed))
    }

    async fn self_test_failed(&mut self, d: &Decoder, why: &str, now: Duration) {
        log::warn!(
            "camera {}: motion decoder {} failed its self-test on this stream ({why}); \
             decoding in software from now on",
            self.config.name,
            d.element
        );
        self.failed.push(d.element.clone());
        self.stop().await;
        self.start_at = Some(now);
        self.set_branch(
            BranchState::Starting,
            Some(format!("{} failed its self-test: {why}", d.element)),
        );
    }

    async fn fail(&mut self, why: String, now: Duration) {
        let delay = self.retry.next_delay();
        log::warn!(
            "camera {}: motion detection stopped: {why}; restarting it in {} s (recording \
             continues)",
            self.config.name,
            delay.as_secs()
        );
        self.stop().await;
        if self.start_at.is_some() {
            self.start_at = Some(now + delay);
        }
        self.set_branch(BranchState::Restarting, Some(why));
    }

    async fn stop(&mut self) {
        *self.feed.target.lock().unwrap() = None;
        if let Some(run) = self.run.take() {
            let p = run.pipeline;
            let _ = smol::unblock(move || p.set_state(gst::State::Null)).await;
        }
    }

    fn set_branch(&self, state: BranchState, error: Option<String>) {
        let mut st = self.status.lock().unwrap();
        if let Some(m) = st.motion.as_mut() {
            m.branch = state;
            if error.is_some() {
                m.error = error;
            }
        }
    }

    /// Builds the branch pipeline (not started); `None` while the feed's stream is unknown.
    fn build(&mut self) -> Result<Option<Run>, String> {
        let Some(stats) = self.stats.clone() else {
            return Ok(None);
        };
        // Without a substream, the recorded stream's caps must be known first.
        let stream = self.feed.stream();
        if self.config.sub.is_none() && stream.is_none() {
            return Ok(None);
        }
        crate::motion::element::register().map_err(|e| format!("nvrmotion: {e}"))?;
        let decoder = Arc::new(Mutex::new(None));
        let input = Arc::new(AtomicU64::new(0));
        let chain = Chain {
            config: self.config.clone(),
            pipeline_dir: self.pipeline_dir.clone(),
            failed: self.failed.clone(),
            stats: stats.clone(),
            decoder: decoder.clone(),
            input: input.clone(),
            status: self.status.clone(),
        };
        let pipeline = match (&self.config.sub, stream) {
            (None, None) => return Ok(None),
            (None, Some((codec, caps))) => {
                let desc = pipelines::load(&self.pipeline_dir, "motion-feed.pipeline")?;
                let (chain_text, chain_origin) = chain.render(codec)?;
                let text = format!("{} ! {chain_text}", desc.render(&[])?);
                let pipeline =
                    pipelines::launch(&text, &format!("{} + {chain_origin}", desc.origin))?;
                let src: gst_app::AppSrc =
                    pipelines::element(pipeline.upcast_ref(), "feed", &desc.origin)?;
                src.set_caps(Some(&caps));
                src.set_format(gst::Format::Time);
                chain.instrument(pipeline.upcast_ref())?;
                *self.feed.target.lock().unwrap() = Some(src);
                pipeline
            }
            (Some(sub), _) => {
                let (pipeline, origin) = pipelines::open(
                    &self.pipeline_dir,
                    "motion-sub.pipeline",
                    &[("latency_ms", self.config.latency_ms.to_string())],
                )?;
                let src: gst::Element = pipelines::element(pipeline.upcast_ref(), "src", &origin)?;
                let parse: gst::Element =
                    pipelines::element(pipeline.upcast_ref(), "parse", &origin)?;
                rtsp_source(
                    &src,
                    &sub.url,
                    sub.username.as_deref(),
                    sub.password.as_ref(),
                );
                // Video only: no audio session on the substream.
                src.connect("select-stream", false, |args| {
                    let video = args
                        .get(2)
                        .and_then(|v| v.get::<gst::Caps>().ok())
                        .and_then(|c| {
                            c.structure(0)
                                .and_then(|s| s.get::<&str>("media").ok().map(|m| m == "video"))
                        })
                        .unwrap_or(false);
                    Some(video.to_value())
                });
                let weak = pipeline.downgrade();
                parse.connect_pad_added(move |parse, pad| {
                    let Some(pipeline) = weak.upgrade() else {
                        return;
                    };
                    if let Err(e) = chain.attach(&pipeline, pad) {
                        let _ = parse.post_message(
                            gst::message::Error::builder(gst::CoreError::Negotiation, &e)
                                .src(parse)
                                .build(),
                        );
                    }
                });
                pipeline
            }
        };
        let messages = pipeline
            .bus()
            .ok_or("the motion pipeline has no bus")?
            .stream();
        Ok(Some(Run {
            pipeline,
            messages,
            decoder,
            input,
            frames_at_start: stats.motion_frames.load(Ordering::Relaxed),
            first_input_at: None,
            proven: false,
        }))
    }

    /// Removes the camera's passwords from text that may be logged or served.
    fn redact(&self, text: &str) -> String {
        let main =
            super::supervisor::redact(text, self.config.password.as_ref().map(|p| p.expose()));
        let sub = self.config.sub.as_ref().and_then(|s| s.password.as_ref());
        super::supervisor::redact(&main, sub.map(|p| p.expose()))
    }
}

/// Builds the decoding chain (`motion.pipeline`) for a codec and counts what passes.
struct Chain {
    config: CameraConfig,
    pipeline_dir: PathBuf,
    failed: Vec<String>,
    stats: Arc<Stats>,
    decoder: Arc<Mutex<Option<Decoder>>>,
    input: Arc<AtomicU64>,
    status: Arc<Mutex<CameraStatus>>,
}

impl Chain {
    /// The chain's text for `codec` and where it came from; remembers the decoder chosen.
    fn render(&self, codec: &str) -> Result<(String, String), String> {
        let d = decoder_for(codec, &self.config.motion_decoder, &self.failed);
        let fps = self.config.motion_fps.unwrap_or(5);
        let desc = pipelines::load(&self.pipeline_dir, "motion.pipeline")?;
        let text = desc.render(&[
            (
                "keyframes",
                if self.config.motion_keyframes_only {
                    "identity drop-buffer-flags=delta-unit !".into()
                } else {
                    String::new()
                },
            ),
            ("decoder", format!("{} name=decoder", d.element)),
            ("decoder_props", d.properties.into()),
            ("fps", fps.to_string()),
            ("width", "320".into()),
        ])?;
        if let Some(m) = self.status.lock().unwrap().motion.as_mut() {
            m.decoder = Some(d.element.clone());
        }
        *self.decoder.lock().unwrap() = Some(d);
        Ok((text, desc.origin))
    }

    /// Counts buffers into the decoder and frames into the detector.
    fn instrument(&self, bin: &gst::Bin) -> Result<(), String> {
        let pad = |name: &str| {
            pipelines::element::<gst::Element>(bin, name, "motion.pipeline")?
                .static_pad("sink")
                .ok_or_else(|| format!("motion.pipeline: {name} has no sink pad"))
        };
        let input = self.input.clone();
        pad("decoder")?.add_probe(gst::PadProbeType::BUFFER, move |_, _| {
            input.fetch_add(1, Ordering::Relaxed);
            gst::PadProbeReturn::Ok
        });
        let stats = self.stats.clone();
        pad("motion")?.add_probe(gst::PadProbeType::BUFFER, move |_, _| {
            stats.motion_frames.fetch_add(1, Ordering::Relaxed);
            gst::PadProbeReturn::Ok
        });
        Ok(())
    }

    /// Links a substream pad from `parsebin` to a new chain (on a streaming thread).
    fn attach(&self, pipeline: &gst::Pipeline, pad: &gst::Pad) -> Result<(), String> {
        let caps = pad.current_caps().unwrap_or_else(|| pad.query_caps(None));
        let name = caps.structure(0).map(|s| s.name().to_string());
        let codec = match name.as_deref() {
            Some("video/x-h264") => "h264",
            Some("video/x-h265") => "h265",
            other => {
                return Err(format!(
                    "the substream sends {}; motion detection reads H.264 or H.265",
                    other.unwrap_or("nothing known")
                ));
            }
        };
        let (text, origin) = self.render(codec)?;
        let bin =
            gst::parse::bin_from_description(&text, true).map_err(|e| format!("{origin}: {e}"))?;
        self.instrument(&bin)?;
        pipeline.add(&bin).map_err(|e| e.to_string())?;
        bin.sync_state_with_parent().map_err(|e| e.to_string())?;
        let sink = bin.static_pad("sink").ok_or("motion chain without input")?;
        pad.link(&sink)
            .map_err(|e| format!("{origin}: {codec} substream: {e:?}"))?;
        Ok(())
    }
}
