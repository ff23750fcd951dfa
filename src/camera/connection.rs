//! A connection to one camera as the supervisor sees it: opened for one attempt, a stream of
//! typed events, asked to finalize, closed. The GStreamer recording pipeline ([`Gst`]) is
//! the real one; the supervisor's tests drive it with a scripted connection and a simulated
//! clock instead (Moonfire's `Opener`/`Stream` split).
//!
//! Everything GStreamer-specific about reading a pipeline bus — which message means what,
//! which error code means "wrong password" — is here, once.

use super::gate::Report;
use super::motion::Feed;
use super::pipeline::{self, MSG_UNSUPPORTED, Output, RecordingPipeline, Stats, Tuning};
use crate::config::CameraConfig;
use crate::motion::element::{MESSAGE as MOTION_MESSAGE, MotionMessage};
use crate::pipelines::BusError;
use gst::prelude::*;
use smol::stream::StreamExt;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

/// What happened on a connection.
#[derive(Debug, Clone, PartialEq)]
pub enum ConnEvent {
    /// The muxer opened a segment file (its path).
    SegmentOpened(String),
    /// The muxer finished a segment file (its path); it is complete and playable.
    SegmentClosed(String),
    /// The stream ended: the camera's own end of stream, or the answer to
    /// [`Connection::finish`]. Any open segment was finalized.
    Ended,
    /// The connection failed.
    Error(ConnError),
    /// Something worth logging that does not end the connection.
    Warning(String),
    /// The camera stopped sending (RTCP timeout).
    Timeout,
    /// The camera sends a stream nvr cannot record (the reason).
    Unsupported(String),
    /// A motion measurement from a detector in the recording pipeline.
    Motion(MotionMessage),
}

/// Why a connection failed; the kind decides what the supervisor does next.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnError {
    pub kind: ErrorKind,
    /// For people; may hold the camera's URL, so redact before logging.
    pub text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The camera rejected the username or password.
    NotAuthorized,
    /// The disk is full.
    NoSpace,
    /// The storage's file system is read-only (it hit an error).
    ReadOnly,
    Other,
}

/// Opens connections to a camera and probes whether it answers.
pub trait Opener: Send + Sync + 'static {
    type Connection: Connection;
    /// Builds a connection (not started). An error here is a configuration problem (a bad
    /// pipeline override, a missing element), not the camera's.
    fn open(
        &self,
        camera: &CameraConfig,
        motion_feed: Option<Arc<Feed>>,
    ) -> Result<Self::Connection, String>;
    /// Does anything accept a TCP connection at `host:port`? The caller bounds the wait.
    fn probe(&self, host: &str, port: u16) -> impl Future<Output = bool> + Send;
}

/// The queues between a camera and the disk (`name=backlog` in `pipelines/video-*.pipeline`,
/// and for a camera recording around events its open writer's): what they hold, near nothing
/// while the disk keeps up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Backlog {
    pub waiting: std::time::Duration,
    /// Near a limit (80 % of the stream queue's time or bytes, or a writer's queue within a
    /// fifth of blocking): the disk is not taking writes, and the camera's stream is held
    /// back by it.
    pub full: bool,
}

/// One attempt's connection. Dropping it without [`close`](Self::close) still releases it.
pub trait Connection: Send + 'static {
    /// Counters its streaming threads update (video arrival, bytes, segment starts).
    fn stats(&self) -> &Arc<Stats>;
    fn start(&mut self) -> impl Future<Output = Result<(), String>> + Send;
    /// The next event; `None` when the connection can tell nothing more. Cancel-safe.
    fn next(&mut self) -> impl Future<Output = Option<ConnEvent>> + Send;
    /// Asks it to finalize the open segment and end: [`ConnEvent::Ended`] follows.
    fn finish(&mut self);
    /// Events already posted and not yet read (a segment closed while finishing).
    fn queued(&mut self) -> Vec<ConnEvent>;
    /// For a camera that records around events: starts writing, with at most `pre_ns` of the
    /// pre-event ring before now; returns the pre-roll written, in ns. Writing already:
    /// goes on.
    fn open_gate(&mut self, pre_ns: u64) -> Result<u64, String>;
    /// Stops writing (at the next keyframe); the ring fills again.
    fn close_gate(&mut self);
    /// What the gate holds; `None` for a camera that writes all the time.
    fn gate(&self) -> Option<Report>;
    /// The video waiting in the queue before the disk; `None` when there is none to read.
    fn write_backlog(&self) -> Option<Backlog> {
        None
    }
    /// Releases everything; may block on network teardown, so it runs off the executor.
    fn close(self) -> impl Future<Output = ()> + Send;
}

/// Opens the real thing: the recording pipeline of `pipelines/record.pipeline`.
pub struct Gst {
    pub storage_root: PathBuf,
    pub pipeline_dir: PathBuf,
}

impl Opener for Gst {
    type Connection = GstConnection;

    fn open(
        &self,
        camera: &CameraConfig,
        motion_feed: Option<Arc<Feed>>,
    ) -> Result<GstConnection, String> {
        let output = match super::gate::keep_ns(camera) {
            Some(keep_ns) => Output::Gated {
                keep_ns,
                max_bytes: usize::try_from(camera.pre_memory).unwrap_or(usize::MAX),
            },
            None => Output::Segments,
        };
        let rec = pipeline::build(
            camera,
            &self.storage_root,
            &self.pipeline_dir,
            &Tuning::default(),
            output,
            motion_feed,
        )?;
        let bus = rec.pipeline.bus().ok_or("pipeline has no bus")?;
        Ok(GstConnection {
            messages: bus.stream(),
            rec,
            backlog: std::sync::OnceLock::new(),
        })
    }

    async fn probe(&self, host: &str, port: u16) -> bool {
        smol::net::TcpStream::connect((host, port)).await.is_ok()
    }
}

pub struct GstConnection {
    rec: RecordingPipeline,
    messages: gst::bus::BusStream,
    /// The video chain's queue before the disk, once it is linked (looked up, then kept).
    backlog: std::sync::OnceLock<gst::Element>,
}

impl Connection for GstConnection {
    fn stats(&self) -> &Arc<Stats> {
        &self.rec.stats
    }

    async fn start(&mut self) -> Result<(), String> {
        let p = self.rec.pipeline.clone();
        // State changes can block on the network: off the executor.
        smol::unblock(move || p.set_state(gst::State::Playing))
            .await
            .map(|_| ())
            .map_err(|_| "pipeline refused to start".to_string())
    }

    fn open_gate(&mut self, pre_ns: u64) -> Result<u64, String> {
        match &self.rec.gate {
            Some(g) => g.open(pre_ns),
            None => Ok(0),
        }
    }

    fn close_gate(&mut self) {
        if let Some(g) = &self.rec.gate {
            g.close();
        }
    }

    fn gate(&self) -> Option<Report> {
        self.rec.gate.as_ref().map(|g| g.report())
    }

    fn write_backlog(&self) -> Option<Backlog> {
        let q = match self.backlog.get() {
            Some(q) => q,
            None => {
                let found = self.rec.pipeline.by_name("backlog")?;
                self.backlog.get_or_init(|| found)
            }
        };
        let time = q.property::<u64>("current-level-time");
        let bytes = q.property::<u32>("current-level-bytes");
        let near = |level: u64, limit: u64| limit > 0 && level >= limit / 5 * 4;
        // A camera recording around events: its writer's queue comes first (the stream's
        // queue only fills once that one blocks).
        let (gated, gate_full) = self.rec.gate.as_ref().and_then(|g| g.backlog()).unzip();
        Some(Backlog {
            waiting: std::time::Duration::from_nanos(time.saturating_add(gated.unwrap_or(0))),
            full: near(time, q.property::<u64>("max-size-time"))
                || near(bytes.into(), q.property::<u32>("max-size-bytes").into())
                || gate_full == Some(true),
        })
    }

    async fn next(&mut self) -> Option<ConnEvent> {
        loop {
            let msg = self.messages.next().await?;
            if let Some(writer) = super::gate::finished_writer(&msg) {
                // Its last file is closed (reported before its end of stream): release it,
                // off the executor.
                let p = self.rec.pipeline.clone();
                log::debug!("{}: {} finished; released", p.name(), writer.name());
                smol::unblock(move || {
                    let _ = writer.set_state(gst::State::Null);
                    let _ = p.remove(&writer);
                })
                .await;
                continue;
            }
            if let Some(event) = translate(&msg) {
                return Some(event);
            }
        }
    }

    fn finish(&mut self) {
        // To the camera's source, not the pipeline: that would also send it to a writer's
        // appsrcs, which then drop what they still queue. Through the source it reaches
        // them after their data (`Gate::end_of_stream`).
        self.rec.src.send_event(gst::event::Eos::new());
    }

    fn queued(&mut self) -> Vec<ConnEvent> {
        let Some(bus) = self.rec.pipeline.bus() else {
            return Vec::new();
        };
        std::iter::from_fn(|| bus.pop())
            .filter(|m| matches!(m.view(), gst::MessageView::Element(_)))
            .filter_map(|m| translate(&m))
            .collect()
    }

    async fn close(self) {
        let p = self.rec.pipeline.clone();
        let _ = smol::unblock(move || p.set_state(gst::State::Null)).await;
    }
}

/// What a recording pipeline's bus message means to the supervisor; `None`: nothing.
fn translate(msg: &gst::Message) -> Option<ConnEvent> {
    use gst::MessageView;
    match msg.view() {
        MessageView::Eos(_) => Some(ConnEvent::Ended),
        MessageView::Error(e) => {
            let error = BusError::new(e);
            let text = error.to_string();
            // From rtspsrc's error code (it maps RTSP 401 to NOT_AUTHORIZED), never from the
            // text: that holds the pipeline's name, and a camera may be called `door401`.
            let kind = if error.matches(gst::ResourceError::NoSpaceLeft)
                || text.contains("No space left")
            {
                ErrorKind::NoSpace
            } else if text.contains("Read-only file system") {
                // strerror(EROFS) in the file sink's message: GStreamer has no code for it.
                ErrorKind::ReadOnly
            } else if error.matches(gst::ResourceError::NotAuthorized) {
                ErrorKind::NotAuthorized
            } else {
                ErrorKind::Other
            };
            Some(ConnEvent::Error(ConnError { kind, text }))
        }
        MessageView::Warning(w) => Some(ConnEvent::Warning(w.error().to_string())),
        MessageView::Application(a) => {
            let s = a.structure()?;
            (s.name() == MSG_UNSUPPORTED)
                .then(|| ConnEvent::Unsupported(s.get::<String>("reason").unwrap_or_default()))
        }
        MessageView::Element(el) => {
            let s = el.structure()?;
            match s.name().as_str() {
                MOTION_MESSAGE => Some(match MotionMessage::try_from(s) {
                    Ok(m) => ConnEvent::Motion(m),
                    Err(e) => ConnEvent::Warning(e.to_string()),
                }),
                "GstRTSPSrcTimeout" => Some(ConnEvent::Timeout),
                "splitmuxsink-fragment-opened" => s
                    .get::<String>("location")
                    .ok()
                    .map(ConnEvent::SegmentOpened),
                "splitmuxsink-fragment-closed" => s
                    .get::<String>("location")
                    .ok()
                    .map(ConnEvent::SegmentClosed),
                _ => None,
            }
        }
        _ => None,
    }
}
