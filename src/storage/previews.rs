//! Previews: a JPEG of each segment's first keyframe (`…mp4` → `….jpg`) and a 160 px wide
//! thumbnail (`….thumb.jpg`), beside the segment.
//!
//! Made off the recording path: one long-lived worker thread at low priority (nice 10; the
//! GStreamer threads it starts inherit it) takes jobs from a bounded queue; when the queue is
//! full a job is dropped, and the preview is made on demand when first asked for. Only the
//! first video frame is decoded: the demuxer's output is cut to one buffer followed by EOS.

use gst::prelude::*;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};

/// Pending jobs at most; a camera closes a segment a minute, so this is hours of backlog.
const QUEUE: usize = 256;
pub const THUMB_WIDTH: i32 = 160;

/// The preview files of a segment.
pub fn paths(segment: &Path) -> (PathBuf, PathBuf) {
    (
        segment.with_extension("jpg"),
        segment.with_extension("thumb.jpg"),
    )
}

/// Handle to the worker. Dropping it stops the worker after its current job.
pub struct Previews {
    jobs: SyncSender<PathBuf>,
}

impl Previews {
    pub fn start() -> std::io::Result<Previews> {
        let (jobs, rx) = std::sync::mpsc::sync_channel(QUEUE);
        std::thread::Builder::new()
            .name("previews".into())
            .spawn(move || worker(rx))?;
        Ok(Previews { jobs })
    }

    /// Queues a finished segment; never blocks the caller.
    pub fn request(&self, segment: &Path) {
        match self.jobs.try_send(segment.to_path_buf()) {
            Ok(()) => {}
            Err(TrySendError::Full(p)) => {
                log::debug!(
                    "previews: queue full, {} will be made on demand",
                    p.display()
                )
            }
            Err(TrySendError::Disconnected(_)) => {}
        }
    }
}

fn worker(rx: Receiver<PathBuf>) {
    // SAFETY: setpriority on this thread's own id (Linux: per-thread nice).
    unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        libc::setpriority(libc::PRIO_PROCESS, tid, 10);
    }
    for segment in rx {
        if let Err(e) = make(&segment) {
            log::warn!("previews: {}: {e}", segment.display());
        }
    }
}

/// Decodes the first keyframe of `segment` and writes its preview and thumbnail.
/// Returns the bytes written.
pub fn make(segment: &Path) -> Result<u64, String> {
    let (full, thumb) = paths(segment);
    let pipeline = gst::parse::launch(&format!(
        "filesrc name=src ! qtdemux name=d d.video_0 ! decodebin ! videoconvert ! tee name=t \
         t. ! queue ! jpegenc quality=80 ! appsink name=full sync=false \
         t. ! queue ! videoscale ! video/x-raw,width={THUMB_WIDTH},pixel-aspect-ratio=1/1 \
            ! jpegenc quality=75 ! appsink name=thumb sync=false"
    ))
    .map_err(|e| e.to_string())?
    .downcast::<gst::Pipeline>()
    .map_err(|_| "not a pipeline")?;
    let by = |n: &str| pipeline.by_name(n).ok_or_else(|| format!("no {n}"));
    by("src")?.set_property("location", segment.display().to_string());
    // One frame is enough: pass the demuxer's first video buffer, then end the stream.
    by("d")?.connect_pad_added(|_, pad| {
        if !pad.name().starts_with("video") {
            return;
        }
        let seen = std::sync::atomic::AtomicBool::new(false);
        pad.add_probe(gst::PadProbeType::BUFFER, move |pad, _| {
            if seen.swap(true, std::sync::atomic::Ordering::Relaxed) {
                pad.push_event(gst::event::Eos::new());
                return gst::PadProbeReturn::Drop;
            }
            gst::PadProbeReturn::Ok
        });
    });
    let sinks = [
        (
            by("full")?
                .downcast::<gst_app::AppSink>()
                .map_err(|_| "appsink")?,
            full,
        ),
        (
            by("thumb")?
                .downcast::<gst_app::AppSink>()
                .map_err(|_| "appsink")?,
            thumb,
        ),
    ];
    pipeline
        .set_state(gst::State::Playing)
        .map_err(|e| e.to_string())?;
    let mut written = 0;
    let result = (|| {
        for (sink, path) in &sinks {
            let sample = sink
                .try_pull_sample(gst::ClockTime::from_seconds(30))
                .ok_or_else(|| {
                    pipeline
                        .bus()
                        .and_then(|b| b.pop_filtered(&[gst::MessageType::Error]))
                        .map(|m| format!("{m:?}"))
                        .unwrap_or_else(|| "no frame decoded".into())
                })?;
            let buf = sample.buffer().ok_or("empty sample")?;
            let map = buf.map_readable().map_err(|e| e.to_string())?;
            // Temp name + rename: a half-written preview is never served.
            let tmp = path.with_extension("jpg.tmp");
            std::fs::write(&tmp, &map[..]).map_err(|e| e.to_string())?;
            std::fs::rename(&tmp, path).map_err(|e| e.to_string())?;
            written += map.len() as u64;
        }
        Ok(written)
    })();
    let _ = pipeline.set_state(gst::State::Null);
    result
}
