//! Previews: a JPEG of a segment's first keyframe (`…mp4` → `….jpg`) and a 160 px wide
//! thumbnail (`….thumb.jpg`), beside the segment, made when first asked for and kept.
//!
//! Made off the recording path and off the HTTP thread: one long-lived worker thread (nice
//! 10) takes jobs from a bounded queue; a full queue refuses the job (the caller says "try
//! again"). Nothing is made for a segment nobody looks at: making every segment's preview
//! as it closed cost a decode per segment per camera and pulled the decoders' libraries
//! into memory for good (49 MB of mapped libraries). The decoder is named for the segment's
//! codec (`openh264dec`/`libde265dec`, one thread; libav only for what they cannot decode),
//! never autoplugged: autoplugging tries and loads whatever decoders the machine has. Pipelines: `pipelines/preview.pipeline`,
//! `snapshot.pipeline`. Only the first video frame is decoded: the demuxer's output is cut
//! to one buffer followed by EOS.

use crate::pipelines;
use gst::prelude::*;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};

/// Jobs waiting at most: previews asked by a web page, and event snapshots.
const QUEUE: usize = 32;
pub const THUMB_WIDTH: i32 = 160;

/// Snapshots kept per camera; the oldest go first.
pub const MAX_SNAPSHOTS: usize = 2000;

/// What a preview job hands back: the JPEG asked for, or why there is none.
pub type Reply = Box<dyn FnOnce(Result<Vec<u8>, PreviewError>) + Send>;

/// Why there is no preview.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PreviewError {
    /// The worker's queue is full: try again later.
    Busy,
    /// The segment could not be decoded (the reason).
    Failed(String),
}

impl std::fmt::Display for PreviewError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PreviewError::Busy => write!(f, "busy making other previews; try again"),
            PreviewError::Failed(why) => write!(f, "{why}"),
        }
    }
}

enum Job {
    /// The preview (or thumbnail) of `segment`, made if it is not on disk yet.
    Preview {
        segment: PathBuf,
        codec: String,
        thumb: bool,
        reply: Reply,
    },
    /// The frame `offset` into `segment`, as JPEG at `out`.
    Snapshot {
        segment: PathBuf,
        codec: String,
        offset: gst::ClockTime,
        out: PathBuf,
    },
}

/// Handle to the worker. Dropping it stops the worker after its current job.
pub struct Previews {
    jobs: SyncSender<Job>,
}

impl Previews {
    /// Starts the worker; `pipeline_dir` may override `preview.pipeline` and
    /// `snapshot.pipeline`.
    pub fn start(pipeline_dir: PathBuf) -> std::io::Result<Previews> {
        let (jobs, rx) = std::sync::mpsc::sync_channel(QUEUE);
        std::thread::Builder::new()
            .name("previews".into())
            .spawn(move || worker(&pipeline_dir, rx))?;
        Ok(Previews { jobs })
    }

    /// The preview (`thumb`: the thumbnail) of `segment` (codec `h264`/`h265`), from disk
    /// or made now, handed to `reply` on the worker thread. Never blocks the caller: with
    /// the queue full, `reply` is called at once with an error.
    pub fn get(&self, segment: &Path, codec: &str, thumb: bool, reply: Reply) {
        let job = Job::Preview {
            segment: segment.to_path_buf(),
            codec: codec.to_string(),
            thumb,
            reply,
        };
        match self.jobs.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(Job::Preview { reply, .. }))
            | Err(TrySendError::Disconnected(Job::Preview { reply, .. })) => {
                reply(Err(PreviewError::Busy))
            }
            Err(_) => {}
        }
    }

    /// Queues an event snapshot: the frame `offset` into `segment`.
    pub fn snapshot(&self, segment: &Path, codec: &str, offset: gst::ClockTime, out: PathBuf) {
        let job = Job::Snapshot {
            segment: segment.to_path_buf(),
            codec: codec.to_string(),
            offset,
            out,
        };
        if let Err(TrySendError::Full(_)) = self.jobs.try_send(job) {
            log::debug!("previews: queue full, snapshot dropped");
        }
    }
}

fn worker(pipeline_dir: &Path, rx: Receiver<Job>) {
    lower_this_thread();
    for job in rx {
        match job {
            Job::Preview {
                segment,
                codec,
                thumb,
                reply,
            } => {
                reply(preview(pipeline_dir, &segment, &codec, thumb).map_err(PreviewError::Failed))
            }
            Job::Snapshot {
                segment,
                codec,
                offset,
                out,
            } => match snapshot(pipeline_dir, &segment, &codec, offset, &out) {
                Ok(()) => prune(out.parent().unwrap_or(Path::new("."))),
                Err(e) => log::warn!("snapshot: {} at {offset}: {e}", segment.display()),
            },
        }
    }
}

/// The JPEG on disk if it is whole, else made (again) now.
pub fn preview(
    pipeline_dir: &Path,
    segment: &Path,
    codec: &str,
    thumb: bool,
) -> Result<Vec<u8>, String> {
    let (full, small) = super::layout::previews(segment);
    let path = if thumb { small } else { full };
    let whole = |p: &Path| std::fs::read(p).ok().filter(|j| is_whole_jpeg(j));
    if let Some(jpeg) = whole(&path) {
        return Ok(jpeg);
    }
    // Missing, or left empty or cut short by a power cut.
    make(pipeline_dir, segment, codec)?;
    whole(&path).ok_or_else(|| format!("{}: no preview made", segment.display()))
}

/// The parser and single-threaded decoders to try for a segment's codec, as description
/// text. OpenH264 and libde265 (gstreamer1.0-plugins-bad's own dependencies) first, not
/// libav: loading libav's plugin maps ffmpeg and its ~170 libraries (40 MB of RSS,
/// text-to-speech voices included) into a process that records without decoding anything.
/// libav only for what they cannot decode (4:4:4, 10-bit: not what cameras send).
fn decoders(codec: &str) -> Result<[[(&'static str, String); 2]; 2], String> {
    let (parser, first, fallback) = match codec {
        "h264" | "" => ("h264parse", "openh264dec", "avdec_h264 max-threads=1"),
        "h265" => (
            "h265parse",
            "libde265dec max-threads=1",
            "avdec_h265 max-threads=1",
        ),
        other => return Err(format!("no decoder for codec {other:?}")),
    };
    Ok([first, fallback].map(|d| [("parser", parser.into()), ("decoder", d.into())]))
}

/// Runs `attempt` with each decoder in turn; the first success, or the last error.
fn with_decoders<T>(
    codec: &str,
    mut attempt: impl FnMut(&[(&'static str, String); 2]) -> Result<T, String>,
) -> Result<T, String> {
    let mut last = String::new();
    for values in decoders(codec)? {
        match attempt(&values) {
            Ok(t) => return Ok(t),
            Err(e) => {
                log::debug!("previews: {}: {e}", values[1].1);
                last = e;
            }
        }
    }
    Err(last)
}

/// The next sample of `sink`, or the pipeline's error as soon as there is one (not after
/// the timeout), or "no frame" after `within`.
fn pull(
    pipeline: &gst::Pipeline,
    sink: &gst_app::AppSink,
    within: std::time::Duration,
) -> Result<gst::Sample, String> {
    let bus = pipeline.bus().ok_or("no bus")?;
    let until = std::time::Instant::now() + within;
    loop {
        if let Some(s) = sink.try_pull_sample(gst::ClockTime::from_mseconds(50)) {
            return Ok(s);
        }
        if let Some(e) = bus
            .pop_filtered(&[gst::MessageType::Error])
            .and_then(|m| pipelines::BusError::of(&m))
        {
            return Err(e.to_string());
        }
        if sink.is_eos() || std::time::Instant::now() > until {
            return Err("no frame decoded".into());
        }
    }
}

/// Keeps the newest [`MAX_SNAPSHOTS`] of a camera's snapshots (names are event ids).
fn prune(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut ids: Vec<(u64, PathBuf)> = entries
        .flatten()
        .filter_map(|e| {
            let p = e.path();
            Some((p.file_stem()?.to_str()?.parse().ok()?, p))
        })
        .collect();
    if ids.len() > MAX_SNAPSHOTS {
        ids.sort();
        for (_, p) in &ids[..ids.len() - MAX_SNAPSHOTS] {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Decodes the frame `offset` into `segment` (accurate seek) and writes it as JPEG.
pub fn snapshot(
    pipeline_dir: &Path,
    segment: &Path,
    codec: &str,
    offset: gst::ClockTime,
    out: &Path,
) -> Result<(), String> {
    with_decoders(codec, |d| {
        snapshot_with(pipeline_dir, segment, d, offset, out)
    })
}

fn snapshot_with(
    pipeline_dir: &Path,
    segment: &Path,
    decoder: &[(&'static str, String); 2],
    offset: gst::ClockTime,
    out: &Path,
) -> Result<(), String> {
    let (pipeline, origin) = pipelines::open(pipeline_dir, "snapshot.pipeline", decoder)?;
    let bin = pipeline.upcast_ref::<gst::Bin>();
    pipelines::element::<gst::Element>(bin, "src", &origin)?
        .set_property("location", segment.display().to_string());
    let sink = pipelines::element::<gst_app::AppSink>(bin, "sink", &origin)?;
    let result = (|| {
        pipeline
            .set_state(gst::State::Paused)
            .map_err(|e| e.to_string())?;
        let bus = pipeline.bus().ok_or("no bus")?;
        bus.timed_pop_filtered(
            gst::ClockTime::from_seconds(30),
            &[gst::MessageType::AsyncDone, gst::MessageType::Error],
        )
        .ok_or("did not preroll")?;
        pipeline
            .seek_simple(gst::SeekFlags::FLUSH | gst::SeekFlags::ACCURATE, offset)
            .map_err(|e| format!("seek: {e}"))?;
        pipeline
            .set_state(gst::State::Playing)
            .map_err(|e| e.to_string())?;
        let sample = pull(&pipeline, &sink, std::time::Duration::from_secs(30))?;
        let buf = sample.buffer().ok_or("empty sample")?;
        let map = buf.map_readable().map_err(|e| e.to_string())?;
        if let Some(dir) = out.parent() {
            super::layout::create_dir(dir).map_err(|e| e.to_string())?;
        }
        write_jpeg(out, &map).map_err(|e| e.to_string())
    })();
    let _ = pipeline.set_state(gst::State::Null);
    result
}

/// Decodes the first keyframe of `segment` (codec `h264`/`h265`) and writes its preview and
/// thumbnail. Returns the bytes written.
pub fn make(pipeline_dir: &Path, segment: &Path, codec: &str) -> Result<u64, String> {
    with_decoders(codec, |d| make_with(pipeline_dir, segment, d))
}

fn make_with(
    pipeline_dir: &Path,
    segment: &Path,
    decoder: &[(&'static str, String); 2],
) -> Result<u64, String> {
    let (full, thumb) = super::layout::previews(segment);
    let [parser, decoder] = decoder.clone();
    let (pipeline, origin) = pipelines::open(
        pipeline_dir,
        "preview.pipeline",
        &[("thumb_width", THUMB_WIDTH.to_string()), parser, decoder],
    )?;
    let bin = pipeline.upcast_ref::<gst::Bin>();
    let by = |n: &str| pipelines::element::<gst::Element>(bin, n, &origin);
    by("src")?.set_property("location", segment.display().to_string());
    // One frame is enough: pass the demuxer's first video buffer, then end the stream.
    by("demux")?.connect_pad_added(|_, pad| {
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
            pipelines::element::<gst_app::AppSink>(bin, "full", &origin)?,
            full,
        ),
        (
            pipelines::element::<gst_app::AppSink>(bin, "thumb", &origin)?,
            thumb,
        ),
    ];
    pipeline
        .set_state(gst::State::Playing)
        .map_err(|e| e.to_string())?;
    let mut written = 0;
    let result = (|| {
        for (sink, path) in &sinks {
            let sample = pull(&pipeline, sink, std::time::Duration::from_secs(30))?;
            let buf = sample.buffer().ok_or("empty sample")?;
            let map = buf.map_readable().map_err(|e| e.to_string())?;
            write_jpeg(path, &map).map_err(|e| e.to_string())?;
            written += map.len() as u64;
        }
        Ok(written)
    })();
    let _ = pipeline.set_state(gst::State::Null);
    result
}

/// Writes a JPEG so that a crash or power cut leaves the whole file or none: temp name,
/// fsync, rename. (Without the fsync, a cut after the rename left 0-byte previews.) A temp
/// file left by a cut is removed at startup (`storage::recovery`).
fn write_jpeg(path: &Path, jpeg: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("jpg.tmp");
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(jpeg)?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, path)
}

/// A JPEG that is all there: start and end markers in place. Anything else on disk (empty,
/// cut short) is made again, never served.
pub fn is_whole_jpeg(b: &[u8]) -> bool {
    b.len() >= 4 && b.starts_with(&[0xFF, 0xD8]) && b.ends_with(&[0xFF, 0xD9])
}

/// Lowers the calling thread to nice 10 (Linux: nice is per thread; lowering needs no
/// privilege). For the threads nvr starts for background work.
pub fn lower_this_thread() {
    let _ = rustix::process::setpriority_process(Some(rustix::thread::gettid()), 10);
}
