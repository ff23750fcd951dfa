//! One camera's recording pipeline, built from the descriptions in `pipelines/`.
//!
//! `rtspsrc` → (per stream, chosen from the RTP caps) depayloader → parser → queue →
//! `splitmuxsink`. Nothing is decoded. The pipeline runs on GStreamer's default (monotonic)
//! clock. A segment is named by the wall-clock time its first frame was captured: the wall
//! clock now, less how long ago, on the pipeline clock, that frame was captured
//! ([`capture_unix_ns`]). (Running the pipeline on a realtime clock with base time 0 made
//! running time equal Unix time, but kept rtpjitterbuffer's timer thread spinning: 5 % of an
//! x86 core per camera.) Taken per segment, this follows a wall clock that NTP steps.
//!
//! Lifetime: built by the supervisor for one connection attempt and dropped after it; never
//! reused across reconnects.

use super::gate::Gate;
use super::motion::Feed;
use super::preroll::Stream;
use crate::config::{CameraConfig, Secret};
use crate::pipelines;
use crate::storage;
use gst::glib;
use gst::prelude::*;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Counters shared between streaming threads (writers) and the supervisor (reader).
#[derive(Default, Debug)]
pub struct Stats {
    /// `time::monotonic()` in ns when the last video buffer arrived; 0 = none yet.
    pub last_video_ns: AtomicU64,
    /// Video + audio payload bytes received.
    pub bytes: AtomicU64,
    pub media: Mutex<Media>,
    /// (path, Unix ns of the first frame) of the newest segments, for the catalog.
    pub starts: Mutex<heapless::Deque<(String, u64), 4>>,
    /// Frames the motion detector analysed.
    pub motion_frames: AtomicU64,
}

/// What the camera turned out to send.
#[derive(Default, Debug, Clone, PartialEq)]
pub struct Media {
    /// `h264` or `h265`.
    pub codec: Option<&'static str>,
    pub width: Option<i32>,
    pub height: Option<i32>,
    /// `aac`, or `dropped:PCMA` when the camera's audio cannot go into MP4.
    pub audio: Option<String>,
}

/// Application message names posted on the pipeline bus for the supervisor.
pub const MSG_UNSUPPORTED: &str = "nvr-unsupported-stream";

pub struct RecordingPipeline {
    pub pipeline: gst::Pipeline,
    /// The camera's source (where the connection's end of stream is sent).
    pub src: gst::Element,
    pub stats: Arc<Stats>,
    /// For a camera that records around events.
    pub gate: Option<Arc<Gate>>,
}

impl Drop for RecordingPipeline {
    fn drop(&mut self) {
        // The supervisor sets NULL off the executor first; this is the backstop.
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}

/// Fixed knobs the descriptions get as placeholders.
pub struct Tuning {
    /// Index rewrite + fsync period: the crash-loss bound beyond the GOP in flight.
    pub sync_ns: u64,
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning {
            sync_ns: 1_000_000_000,
        }
    }
}

/// Where a camera's streams end.
pub enum Output {
    /// Straight into one segment writer (`continuous`).
    Segments,
    /// Into the pre-event ring, written only while the gate is open (`motion`, `schedule`):
    /// `keep_ns` of pre-roll, at most `max_bytes` of it.
    Gated { keep_ns: u64, max_bytes: usize },
}

/// `motion_feed`: where the video goes for motion detection on the recorded stream (the
/// camera's motion branch), if anywhere.
pub fn build(
    cam: &CameraConfig,
    storage_root: &Path,
    pipeline_dir: &Path,
    tuning: &Tuning,
    output: Output,
    motion_feed: Option<Arc<Feed>>,
) -> Result<RecordingPipeline, String> {
    let values = [("latency_ms", cam.latency_ms.to_string())];
    let (pipeline, origin) = pipelines::open(pipeline_dir, "record.pipeline", &values)?;
    pipeline.set_property("name", format!("camera-{}", cam.name));
    let src: gst::Element = pipelines::element(pipeline.upcast_ref(), "src", &origin)?;
    rtsp_source(
        &src,
        &cam.url,
        cam.username.as_deref(),
        cam.password.as_ref(),
    );

    let stats = Arc::new(Stats::default());
    let segments = Segments {
        dir: pipeline_dir.to_path_buf(),
        segment_ns: u64::from(cam.segment_seconds) * 1_000_000_000 + 500_000_000,
        sync_ns: tuning.sync_ns,
        root: storage_root.to_path_buf(),
        camera: cam.name.to_string(),
        stats: stats.clone(),
    };
    let sink = match output {
        Output::Segments => {
            let mux = segments.make()?;
            pipeline.add(&mux).map_err(|e| e.to_string())?;
            Sink::Mux(mux)
        }
        Output::Gated { keep_ns, max_bytes } => {
            // Made per stretch; a broken description fails here, not at the first event.
            segments.make()?;
            Sink::Gate(Arc::new(Gate::new(
                &pipeline,
                keep_ns,
                max_bytes,
                Box::new(move || segments.make()),
            )))
        }
    };
    let gate = match &sink {
        Sink::Gate(g) => Some(g.clone()),
        Sink::Mux(_) => None,
    };

    let ctx = LinkContext {
        motion_feed,
        pipeline: pipeline.downgrade(),
        sink,
        pipeline_dir: pipeline_dir.to_path_buf(),
        stats: stats.clone(),
        camera: cam.name.to_string(),
    };
    src.connect_pad_added(move |src, pad| {
        if let Err(e) = ctx.link_stream(pad) {
            let s = gst::Structure::builder(MSG_UNSUPPORTED)
                .field("reason", e.as_str())
                .build();
            let _ = src.post_message(gst::message::Application::builder(s).src(src).build());
        }
    });

    Ok(RecordingPipeline {
        pipeline,
        src,
        stats,
        gate,
    })
}

/// Makes a camera's segment writer (`segments.pipeline`): its files named by the capture
/// time of their first frame, each noted in the stats for the catalog.
struct Segments {
    dir: PathBuf,
    segment_ns: u64,
    sync_ns: u64,
    root: PathBuf,
    camera: String,
    stats: Arc<Stats>,
}

impl Segments {
    fn make(&self) -> Result<gst::Element, String> {
        let values = [
            ("segment_ns", self.segment_ns.to_string()),
            (
                "reserved_ns",
                reserved_index_ns(self.segment_ns).to_string(),
            ),
            ("sync_ns", self.sync_ns.to_string()),
        ];
        let mux = pipelines::open_element(&self.dir, "segments.pipeline", &values, "mux")?;
        let root = self.root.clone();
        let name = self.camera.clone();
        let starts = self.stats.clone();
        mux.connect("format-location-full", false, move |args| {
            let mux = args.first().and_then(|v| v.get::<gst::Element>().ok());
            let unix_ns = args
                .get(2)
                .and_then(|v| v.get::<gst::Sample>().ok())
                .zip(mux)
                .and_then(|(s, mux)| capture_unix_ns(&mux, &s))
                .unwrap_or_else(crate::time::unix_now_ns);
            match storage::layout::new_segment(&root, &name, unix_ns) {
                Ok(p) => {
                    let p = p.to_string_lossy().into_owned();
                    let mut q = starts.starts.lock().unwrap();
                    if q.is_full() {
                        q.pop_front();
                    }
                    let _ = q.push_back((p.clone(), unix_ns));
                    Some(p.to_value())
                }
                Err(e) => {
                    log::error!("camera {name}: cannot create segment folder: {e}");
                    // A NULL file name (never a missing return value: glib aborts on that):
                    // the file sink then fails to open, and the supervisor retries.
                    Some(None::<String>.to_value())
                }
            }
        });
        Ok(mux)
    }
}

/// Index space to reserve per segment, as a duration. mp4mux reserves two copies of about
/// 550 B/s per track for it, so it is pure overhead on disk: 2× the segment (a file holds
/// at least one GOP, so long-GOP cameras overshoot short segments) and at least a minute
/// more. If a camera's GOP still outgrows it, mp4mux errors, the file stays playable, and
/// the supervisor reconnects.
fn reserved_index_ns(segment_ns: u64) -> u64 {
    (2 * segment_ns).max(segment_ns + 60_000_000_000)
}

/// Points an `rtspsrc` at a camera. Identity and secrets go in as properties, never through
/// a description's text (which can be logged).
pub fn rtsp_source(src: &gst::Element, url: &str, user: Option<&str>, password: Option<&Secret>) {
    src.set_property("location", url);
    if let Some(u) = user {
        src.set_property("user-id", u);
    }
    if let Some(p) = password {
        src.set_property("user-pw", p.expose());
    }
}

/// Wall-clock capture time, in Unix ns, of the sample's first buffer: now, less the age of
/// that buffer on the pipeline clock (its running time + base time is the clock time it was
/// captured at). `None` before the pipeline has a clock.
fn capture_unix_ns(element: &gst::Element, sample: &gst::Sample) -> Option<u64> {
    let buf = sample.buffer()?;
    let seg = sample.segment()?.downcast_ref::<gst::ClockTime>()?;
    let rt = seg.to_running_time(buf.pts().or(buf.dts())?)?;
    let clock = element.clock()?;
    let captured = rt + element.base_time()?;
    let age = clock.time().saturating_sub(captured);
    Some(crate::time::unix_now_ns().saturating_sub(age.nseconds()))
}

/// Where the streams go.
enum Sink {
    Mux(gst::Element),
    Gate(Arc<Gate>),
}

struct LinkContext {
    motion_feed: Option<Arc<Feed>>,
    pipeline: glib::WeakRef<gst::Pipeline>,
    sink: Sink,
    pipeline_dir: PathBuf,
    stats: Arc<Stats>,
    camera: String,
}

impl LinkContext {
    /// Called on rtspsrc's streaming thread for each stream the camera announces.
    fn link_stream(&self, pad: &gst::Pad) -> Result<(), String> {
        let caps = pad.current_caps().unwrap_or_else(|| pad.query_caps(None));
        let s = caps.structure(0).ok_or("stream without caps")?;
        let media = s.get::<&str>("media").unwrap_or("?");
        let enc = s
            .get::<&str>("encoding-name")
            .unwrap_or("?")
            .to_ascii_uppercase();
        let (file, mux_template, codec) = match (media, enc.as_str()) {
            ("video", "H264") => ("video-h264.pipeline", "video", Some("h264")),
            ("video", "H265") => ("video-h265.pipeline", "video", Some("h265")),
            ("audio", "MPEG4-GENERIC") => ("audio-aac.pipeline", "audio_%u", None),
            ("audio", "MP4A-LATM") => ("audio-aac-latm.pipeline", "audio_%u", None),
            ("video", other) => {
                self.drop_stream(pad)?;
                return Err(format!(
                    "the camera sends {other} video; nvr records H.264 and H.265 \
                     (set the camera's stream to H.264 or H.265)"
                ));
            }
            (media, other) => {
                log::warn!(
                    "camera {}: {media} stream {other} cannot be stored in MP4; dropping it \
                     (video is unaffected)",
                    self.camera
                );
                if media == "audio" {
                    self.stats.media.lock().unwrap().audio = Some(format!("dropped:{other}"));
                }
                return self.drop_stream(pad);
            }
        };
        let pipeline = self.pipeline.upgrade().ok_or("pipeline gone")?;
        let desc = pipelines::load(&self.pipeline_dir, file)?;
        let text = desc.render(&[])?;
        let bin = gst::parse::bin_from_description(&text, true)
            .map_err(|e| format!("{}: {e}", desc.origin))?;
        // Motion detection on the recorded stream: an appsink on the video tee hands access
        // units to the camera's motion branch, a pipeline of its own. It never blocks: it
        // keeps one buffer and drops the older one.
        if let (Some(feed), Some(codec)) = (&self.motion_feed, codec) {
            let tee = bin
                .by_name("split")
                .ok_or("video chain without a tee named split")?;
            let sink = gst_app::AppSink::builder()
                .name("motion_feed")
                .sync(false)
                .async_(false)
                .max_buffers(1)
                .drop(true)
                .enable_last_sample(false)
                .build();
            bin.add(&sink).map_err(|e| e.to_string())?;
            tee.link(&sink)
                .map_err(|e| format!("{file}: motion feed: {e}"))?;
            feed.attach(&sink, codec);
        }
        pipeline.add(&bin).map_err(|e| e.to_string())?;
        let bin_src = bin.static_pad("src").ok_or("branch has no src pad")?;
        let bin_sink = bin.static_pad("sink").ok_or("branch has no sink pad")?;
        let end = match &self.sink {
            Sink::Mux(mux) => mux
                .request_pad_simple(mux_template)
                .ok_or_else(|| format!("splitmuxsink refused a {mux_template} pad"))?,
            Sink::Gate(gate) => {
                let stream = if codec.is_some() {
                    Stream::Video
                } else {
                    gate.add_audio();
                    Stream::Audio
                };
                let sink = gate_sink(gate, stream);
                pipeline.add(&sink).map_err(|e| e.to_string())?;
                sink.sync_state_with_parent().map_err(|e| e.to_string())?;
                sink.static_pad("sink").ok_or("appsink without pad")?
            }
        };
        bin_src.link(&end).map_err(|e| format!("{file}: {e:?}"))?;
        bin.sync_state_with_parent().map_err(|e| e.to_string())?;
        pad.link(&bin_sink).map_err(|e| format!("{file}: {e:?}"))?;

        let stats = self.stats.clone();
        let is_video = codec.is_some();
        pad.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
            if let Some(buf) = info.buffer() {
                stats.bytes.fetch_add(buf.size() as u64, Ordering::Relaxed);
                if is_video {
                    stats.last_video_ns.store(
                        crate::time::monotonic().as_nanos() as u64,
                        Ordering::Relaxed,
                    );
                }
            }
            gst::PadProbeReturn::Ok
        });
        if let Some(codec) = codec {
            self.stats.media.lock().unwrap().codec = Some(codec);
            // The parser's output caps carry the resolution once it has seen an SPS.
            let stats = self.stats.clone();
            bin_src.add_probe(gst::PadProbeType::EVENT_DOWNSTREAM, move |_, info| {
                if let Some(gst::PadProbeData::Event(ev)) = &info.data
                    && let gst::EventView::Caps(c) = ev.view()
                    && let Some(s) = c.caps().structure(0)
                {
                    let mut m = stats.media.lock().unwrap();
                    m.width = s.get::<i32>("width").ok();
                    m.height = s.get::<i32>("height").ok();
                }
                gst::PadProbeReturn::Ok
            });
        } else {
            self.stats.media.lock().unwrap().audio = Some("aac".into());
        }
        Ok(())
    }

    /// Sinks a stream we do not record so rtspsrc never sees not-linked.
    fn drop_stream(&self, pad: &gst::Pad) -> Result<(), String> {
        let pipeline = self.pipeline.upgrade().ok_or("pipeline gone")?;
        let sink = gst::ElementFactory::make("fakesink")
            .property("sync", false)
            .property("async", false)
            .build()
            .map_err(|e| e.to_string())?;
        pipeline.add(&sink).map_err(|e| e.to_string())?;
        sink.sync_state_with_parent().map_err(|e| e.to_string())?;
        let sink_pad = sink.static_pad("sink").ok_or("fakesink without pad")?;
        pad.link(&sink_pad).map_err(|e| format!("{e:?}"))?;
        Ok(())
    }
}

/// The end of one stream of a gated camera: every sample to the gate, on the stream's thread.
fn gate_sink(gate: &Arc<Gate>, stream: Stream) -> gst_app::AppSink {
    let (on_sample, on_eos) = (gate.clone(), gate.clone());
    gst_app::AppSink::builder()
        .name(match stream {
            Stream::Video => "gate_video",
            Stream::Audio => "gate_audio",
        })
        .sync(false)
        .async_(false)
        .enable_last_sample(false)
        .callbacks(
            gst_app::AppSinkCallbacks::builder()
                .new_sample(move |sink| {
                    let sample = sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                    on_sample.push(stream, sample);
                    Ok(gst::FlowSuccess::Ok)
                })
                .eos(move |_| on_eos.end_of_stream(stream))
                .build(),
        )
        .build()
}
