//! The gate of a camera that records only around events (`motion`, `schedule` outside its
//! windows): its streams go into the pre-event [`Ring`] in RAM while nothing happens, and
//! into a segment writer while something does. Nothing is written to disk while it is shut.
//!
//! The recording pipeline ends each stream in an appsink whose callbacks call
//! [`Gate::push`] on the stream's own thread. A writer is a bin added to the running
//! pipeline: an appsrc per stream → `segments.pipeline`'s splitmuxsink, so it shares the
//! pipeline's clock (segment names come from it) and bus (its files are reported like a
//! continuous camera's).
//!
//! Invariants:
//! - Per stream, samples reach the ring or the writer in the order they arrived: opening
//!   moves the ring into the writer under the lock, before any newer sample can pass.
//! - A writer starts at a keyframe (the ring's first item) and is closed at a keyframe,
//!   which starts the ring again: no frame between two writers is lost.
//! - Memory: the ring holds at most its `max_bytes`; a writer's appsrc queues at most that
//!   plus [`WRITER_QUEUE_BYTES`] and then blocks the stream (a stalled disk holds the camera
//!   back, as the continuous queue does); never unbounded.
//! - No lock is held while a sample is pushed into a writer (which may block).

use super::preroll::{Item, Ring, Stream, is_keyframe, span_ns};
use gst::glib;
use gst::prelude::*;
use std::sync::Mutex;

/// What a writer's appsrc may queue beyond the pre-roll it was opened with: the continuous
/// pipeline's queue bound.
pub const WRITER_QUEUE_BYTES: u64 = 32 << 20;

/// Name prefix of writer bins (their messages are forwarded: see [`finished_writer`]).
const WRITER: &str = "writer-";

/// Allowance for the motion detector's lag (decoding, analysis) on top of `pre_seconds`:
/// the pre-roll is counted back from when the event was noticed.
const DETECTION_LAG_NS: u64 = 1_000_000_000;

/// The pre-roll an event of this camera wants written: `pre_seconds` + the detection lag.
pub fn pre_roll_ns(cam: &crate::config::CameraConfig) -> u64 {
    u64::from(cam.pre_seconds) * 1_000_000_000 + DETECTION_LAG_NS
}

/// The pre-roll a camera's ring keeps, `None` for a camera that writes all the time. A
/// `schedule` camera without motion detection keeps only the current GOP (its windows open
/// at a keyframe, not earlier).
pub fn keep_ns(cam: &crate::config::CameraConfig) -> Option<u64> {
    use crate::config::modes::Mode;
    let pre = pre_roll_ns(cam);
    match cam.mode {
        Mode::Continuous | Mode::Off => None,
        Mode::Motion => Some(pre),
        Mode::Schedule(_) => Some(if cam.motion_fps.is_some() { pre } else { 0 }),
    }
}

/// Makes the segment writer of one stretch: the splitmuxsink, its files already named.
pub type Factory = Box<dyn Fn() -> Result<gst::Element, String> + Send + Sync>;

pub struct Gate {
    inner: Mutex<Inner>,
    factory: Factory,
    pipeline: glib::WeakRef<gst::Pipeline>,
    max_bytes: usize,
}

struct Inner {
    ring: Ring,
    writer: Option<Writer>,
    /// Close the writer at the next video keyframe.
    closing: bool,
    /// The camera sends audio nvr records.
    audio: bool,
    serial: u32,
}

struct Writer {
    video: gst_app::AppSrc,
    audio: Option<gst_app::AppSrc>,
    /// It has had its first video keyframe (nothing before one goes in: a file starts
    /// decodable).
    started: bool,
}

impl Writer {
    fn src(&self, stream: Stream) -> Option<&gst_app::AppSrc> {
        match stream {
            Stream::Video => Some(&self.video),
            Stream::Audio => self.audio.as_ref(),
        }
    }

    fn end(&self) {
        let _ = self.video.end_of_stream();
        if let Some(a) = &self.audio {
            let _ = a.end_of_stream();
        }
    }
}

/// What the gate holds, for `/status`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Report {
    pub writing: bool,
    /// Video held in the ring, in ns, and its bytes (audio included).
    pub held_ns: u64,
    pub held_bytes: usize,
    /// The byte cap has shortened the pre-roll since the last stretch began.
    pub cut: bool,
}

impl Gate {
    /// `keep_ns`: the pre-roll the ring holds; `max_bytes`: its cap.
    pub fn new(pipeline: &gst::Pipeline, keep_ns: u64, max_bytes: usize, factory: Factory) -> Gate {
        Gate {
            inner: Mutex::new(Inner {
                ring: Ring::new(keep_ns, max_bytes),
                writer: None,
                closing: false,
                audio: false,
                serial: 0,
            }),
            factory,
            pipeline: pipeline.downgrade(),
            max_bytes,
        }
    }

    /// The camera sends audio: writers made from now on record it.
    pub fn add_audio(&self) {
        self.inner.lock().unwrap().audio = true;
    }

    /// A sample of `stream`, on that stream's streaming thread.
    pub fn push(&self, stream: Stream, sample: gst::Sample) {
        let mut g = self.inner.lock().unwrap();
        if g.closing && stream == Stream::Video && is_keyframe(&sample) {
            if let Some(w) = g.writer.take() {
                w.end();
            }
            g.closing = false;
        }
        let Some(w) = g.writer.as_mut() else {
            g.ring.push(stream, sample);
            return;
        };
        // Opened with an empty ring (the camera had just connected): from a keyframe on.
        w.started |= stream == Stream::Video && is_keyframe(&sample);
        let Some(src) = w.src(stream).filter(|_| w.started).cloned() else {
            return;
        };
        drop(g);
        // Blocks while the writer's queue is full (the disk is slow): the camera waits.
        let _ = src.push_sample(&sample);
    }

    /// The stream ended (the camera's end, or the connection finishing): the writer's input
    /// for it ends too, after what was queued, so its last file is finalized.
    pub fn end_of_stream(&self, stream: Stream) {
        let g = self.inner.lock().unwrap();
        if let Some(src) = g.writer.as_ref().and_then(|w| w.src(stream)) {
            let _ = src.end_of_stream();
        }
    }

    /// Starts writing with the pre-roll of at most `pre_ns` before the newest frame; returns
    /// the pre-roll written (ns of video). Already writing: goes on (a pending close is
    /// called off).
    pub fn open(&self, pre_ns: u64) -> Result<u64, String> {
        let mut g = self.inner.lock().unwrap();
        g.closing = false;
        if g.writer.is_some() {
            return Ok(0);
        }
        g.serial += 1;
        let mut writer = self.writer(g.serial, g.audio)?;
        let items = g.ring.drain_from(pre_ns);
        // The ring starts at a keyframe.
        writer.started = !items.is_empty();
        let span = span_ns(&items);
        for Item { stream, sample } in items {
            if let Some(src) = writer.src(stream) {
                // Never blocks: the queue's bound is above the ring's.
                let _ = src.push_sample(&sample);
            }
        }
        g.writer = Some(writer);
        Ok(span)
    }

    /// Stops writing at the next video keyframe (which starts the ring again).
    pub fn close(&self) {
        let mut g = self.inner.lock().unwrap();
        if g.writer.is_some() {
            g.closing = true;
        }
    }

    pub fn report(&self) -> Report {
        let g = self.inner.lock().unwrap();
        Report {
            writing: g.writer.is_some() && !g.closing,
            held_ns: g.ring.span_ns(),
            held_bytes: g.ring.bytes(),
            cut: g.ring.cut(),
        }
    }

    /// What the writer's video queue holds, in ns, and whether it is within a fifth of
    /// [`WRITER_QUEUE_BYTES`] of blocking the stream; `None` while shut. The pre-roll an
    /// event opens with can never come that near: it is at most the ring's cap.
    pub fn backlog(&self) -> Option<(u64, bool)> {
        let g = self.inner.lock().unwrap();
        let src = &g.writer.as_ref()?.video;
        let (bytes, max) = (src.current_level_bytes(), src.max_bytes());
        let level = src.current_level_time().nseconds();
        Some((level, bytes + WRITER_QUEUE_BYTES / 5 >= max))
    }

    /// appsrc(s) → splitmuxsink in a bin of their own, added to the running pipeline.
    fn writer(&self, serial: u32, audio: bool) -> Result<Writer, String> {
        let pipeline = self.pipeline.upgrade().ok_or("pipeline gone")?;
        let mux = (self.factory)()?;
        // async-handling: the writer's sink prerolls on its own. A pipeline still on its way
        // to PLAYING (a window open when the camera connects) would otherwise wait for it,
        // and it waits for data that only flows once the pipeline plays.
        let bin = gst::Bin::builder()
            .name(format!("{WRITER}{serial}"))
            .message_forward(true)
            .async_handling(true)
            .build();
        let source = |name: &str| {
            gst_app::AppSrc::builder()
                .name(name)
                .format(gst::Format::Time)
                .is_live(true)
                .block(true)
                .max_bytes(self.max_bytes as u64 + WRITER_QUEUE_BYTES)
                .property("handle-segment-change", true)
                .build()
        };
        let video = source("video");
        let audio = audio.then(|| source("audio"));
        bin.add_many([video.upcast_ref(), &mux])
            .map_err(|e| e.to_string())?;
        video
            .link_pads(None, &mux, Some("video"))
            .map_err(|e| format!("writer video: {e}"))?;
        if let Some(a) = &audio {
            bin.add(a).map_err(|e| e.to_string())?;
            a.link_pads(None, &mux, Some("audio_%u"))
                .map_err(|e| format!("writer audio: {e}"))?;
        }
        pipeline.add(&bin).map_err(|e| e.to_string())?;
        if let Err(e) = bin.sync_state_with_parent() {
            let _ = bin.set_state(gst::State::Null);
            let _ = pipeline.remove(&bin);
            return Err(format!("writer did not start: {e}"));
        }
        Ok(Writer {
            video,
            audio,
            started: false,
        })
    }
}

/// The writer bin a message says has finished (its files are closed): the pipeline's bus
/// carries its end of stream forwarded, since a bin keeps its children's to itself.
pub fn finished_writer(msg: &gst::Message) -> Option<gst::Bin> {
    let gst::MessageView::Element(el) = msg.view() else {
        return None;
    };
    let s = el.structure()?;
    if s.name() != "GstBinForwarded" {
        return None;
    }
    let inner = s.get::<gst::Message>("message").ok()?;
    if inner.type_() != gst::MessageType::Eos {
        return None;
    }
    let bin = msg.src()?.clone().downcast::<gst::Bin>().ok()?;
    bin.name().starts_with(WRITER).then_some(bin)
}
