//! One Hikvision segment (a byte range of a `hivNNNNN.mp4` program-stream container) to a real
//! MP4 file, in-process with GStreamer and without re-encoding: `appsrc ! mpegpsdemux !
//! h26xparse ! mp4mux ! filesink` (`pipelines/hikvision-remux*.pipeline`).
//!
//! The caller names a temporary output path; it holds a complete, fsync'd MP4 when this
//! returns `Ok`, and whatever is there after an error is the caller's to delete.

use super::pes;
use super::ps::{self, Audio, StreamMap};
use crate::pipelines;
use gst::prelude::*;
use std::fmt;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::ops::Range;
use std::path::Path;
use std::time::Duration;

/// Bytes pushed per buffer.
const CHUNK: usize = 1 << 20;
/// Bytes read up front to find the stream map.
const PROBE: usize = 512 * 1024;

#[derive(Debug)]
pub enum RemuxError {
    Io(io::Error),
    /// The bytes are not a segment nvr can remux (no pack header, no stream map, ...).
    Stream(ps::PsError),
    Pipeline(String),
}

impl fmt::Display for RemuxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RemuxError::Io(e) => write!(f, "{e}"),
            RemuxError::Stream(e) => write!(f, "{e}"),
            RemuxError::Pipeline(e) => write!(f, "GStreamer: {e}"),
        }
    }
}

impl From<io::Error> for RemuxError {
    fn from(e: io::Error) -> Self {
        RemuxError::Io(e)
    }
}

/// What went into the MP4.
#[derive(Debug, Clone, Copy)]
pub struct Remuxed {
    pub map: StreamMap,
    /// Whether the camera's audio is in the file (AAC is; G.711 cannot be in MP4).
    pub audio_kept: bool,
    /// Size of the MP4 written.
    pub bytes: u64,
}

/// Remuxes `range` of `container` into `out` (created or truncated).
///
/// nvr's own program-stream walk ([`super::pes`]) feeding `mp4mux`; segments it does not
/// expect (B-frames) go through `mpegpsdemux` instead, with the same result.
pub fn remux(
    pipeline_dir: &Path,
    container: &Path,
    range: Range<u64>,
    out: &Path,
) -> Result<Remuxed, RemuxError> {
    remux_via(Route::Direct, pipeline_dir, container, range, out)
}

/// How a segment is demultiplexed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// nvr's packet walk into `mp4mux`, falling back to [`Route::Demuxer`] for streams it
    /// does not handle.
    Direct,
    /// `mpegpsdemux` → parser → `mp4mux` (for tests and the benchmark to compare).
    Demuxer,
}

/// [`remux`] by a chosen route.
pub fn remux_via(
    route: Route,
    pipeline_dir: &Path,
    container: &Path,
    range: Range<u64>,
    out: &Path,
) -> Result<Remuxed, RemuxError> {
    let mut file = File::open(container)?;
    file.seek(SeekFrom::Start(range.start))?;
    let len = range.end.saturating_sub(range.start);
    let mut head = vec![0u8; (len as usize).min(PROBE)];
    file.read_exact(&mut head)?;
    let map = ps::probe(&head).map_err(RemuxError::Stream)?;
    let audio_kept = map.audio == Audio::Aac;
    let tried = match route {
        Route::Direct => direct(pipeline_dir, &mut file, head, &map, len, out),
        Route::Demuxer => Err(Direct::Fallback("asked for".into())),
    };
    match tried {
        Ok(()) => {}
        Err(Direct::Fatal(e)) => return Err(e),
        Err(Direct::Fallback(why)) => {
            log::debug!(
                "hikvision: {} bytes {}..{}: {why}; using mpegpsdemux",
                container.display(),
                range.start,
                range.end
            );
            file.seek(SeekFrom::Start(range.start))?;
            let mut head = vec![0u8; (len as usize).min(PROBE)];
            file.read_exact(&mut head)?;
            with_mpegpsdemux(pipeline_dir, &mut file, head, &map, len, out)?;
        }
    }
    // Durable before the caller renames it into place.
    File::open(out)?.sync_all()?;
    Ok(Remuxed {
        map,
        audio_kept,
        bytes: std::fs::metadata(out)?.len(),
    })
}

/// Loads, fills in and parses the description `name`.
fn launch(
    pipeline_dir: &Path,
    name: &str,
    values: &[(&str, String)],
) -> Result<gst::Pipeline, RemuxError> {
    let (pipeline, _) =
        pipelines::open(pipeline_dir, name, values).map_err(|e| RemuxError::Pipeline(e.into()))?;
    Ok(pipeline)
}

/// The `mpegpsdemux` route (`pipelines/hikvision-remux*.pipeline`).
fn with_mpegpsdemux(
    pipeline_dir: &Path,
    file: &mut File,
    head: Vec<u8>,
    map: &StreamMap,
    len: u64,
    out: &Path,
) -> Result<(), RemuxError> {
    let name = if map.audio == Audio::Aac {
        "hikvision-remux-aac.pipeline"
    } else {
        "hikvision-remux.pipeline"
    };
    let pipeline = launch(
        pipeline_dir,
        name,
        &[
            ("video_pad", format!("video_{:02x}", map.video_id)),
            ("video_parser", map.video.parser().to_string()),
            ("audio_pad", format!("audio_{:02x}", map.audio_id)),
        ],
    )?;
    let result = run(&pipeline, name, file, head, map.start, len, out);
    let _ = pipeline.set_state(gst::State::Null);
    result
}

enum Direct {
    Fatal(RemuxError),
    /// Not a stream the direct route handles: use `mpegpsdemux`.
    Fallback(String),
}

impl From<io::Error> for Direct {
    fn from(e: io::Error) -> Self {
        Direct::Fatal(RemuxError::Io(e))
    }
}

/// Caps (with codec data) by the parameter sets they were made from; a camera's rarely change.
static CAPS_CACHE: std::sync::Mutex<Vec<(Vec<u8>, gst::Caps)>> = std::sync::Mutex::new(Vec::new());
const CAPS_CACHE_LEN: usize = 16;

/// The parameter-set NAL units (VPS/SPS/PPS) of an Annex-B access unit, concatenated.
fn parameter_sets(au: &[u8], h265: bool) -> Vec<u8> {
    let mut starts = Vec::new();
    pes::nal_starts(au, &mut starts);
    let mut out = Vec::new();
    for (k, &(_, nal)) in starts.iter().enumerate() {
        let end = starts.get(k + 1).map_or(au.len(), |&(sc, _)| sc);
        let t = au.get(nal).copied().unwrap_or(0);
        let ps = if h265 {
            (32..=34).contains(&((t >> 1) & 0x3F))
        } else {
            matches!(t & 0x1F, 7 | 8)
        };
        if ps && end > nal {
            out.extend_from_slice(&au[nal..end]);
        }
    }
    out
}

/// MP4-ready caps for the stream whose first key frame is `au`, from the GStreamer parser.
fn caps_for(pipeline_dir: &Path, codec: ps::VideoCodec, au: &[u8]) -> Result<gst::Caps, Direct> {
    let h265 = codec == ps::VideoCodec::H265;
    let key = parameter_sets(au, h265);
    if key.is_empty() {
        return Err(Direct::Fallback(
            "no parameter sets in the first access unit".into(),
        ));
    }
    if let Some((_, c)) = CAPS_CACHE.lock().unwrap().iter().find(|(k, _)| *k == key) {
        return Ok(c.clone());
    }
    let (media, format) = if h265 {
        ("video/x-h265", "hvc1")
    } else {
        ("video/x-h264", "avc")
    };
    let name = "hikvision-caps.pipeline";
    let pipeline = launch(
        pipeline_dir,
        name,
        &[
            (
                "input_caps",
                format!("{media},stream-format=byte-stream,alignment=au"),
            ),
            ("video_parser", codec.parser().to_string()),
            (
                "output_caps",
                format!("{media},stream-format={format},alignment=au"),
            ),
        ],
    )
    .map_err(Direct::Fatal)?;
    let result = (|| {
        let src: gst_app::AppSrc = pipelines::element(pipeline.upcast_ref(), "src", name)?;
        let sink: gst_app::AppSink = pipelines::element(pipeline.upcast_ref(), "out", name)?;
        pipeline
            .set_state(gst::State::Playing)
            .map_err(|e| e.to_string())?;
        let mut buf = gst::Buffer::from_slice(au.to_vec());
        buf.get_mut()
            .expect("new buffer")
            .set_pts(gst::ClockTime::ZERO);
        src.push_buffer(buf).map_err(|e| e.to_string())?;
        let _ = src.end_of_stream();
        sink.pull_sample()
            .ok()
            .and_then(|s| s.caps_owned())
            .ok_or_else(|| "the parser gave no caps".to_string())
    })();
    let _ = pipeline.set_state(gst::State::Null);
    let caps = result.map_err(Direct::Fallback)?;
    let mut cache = CAPS_CACHE.lock().unwrap();
    if cache.len() >= CAPS_CACHE_LEN {
        cache.remove(0);
    }
    cache.push((key, caps.clone()));
    Ok(caps)
}

/// Ticks of the 90 kHz clock since `base`, across the 33-bit wrap, as a GStreamer time.
fn since(base: u64, pts: u64) -> gst::ClockTime {
    let ticks = pts.wrapping_sub(base) & ((1 << 33) - 1);
    gst::ClockTime::from_nseconds(ticks * 100_000 / 9)
}

/// The direct route: [`pes::Walker`] → `appsrc` → `mp4mux` (`pipelines/hikvision-mux*`).
fn direct(
    pipeline_dir: &Path,
    file: &mut File,
    head: Vec<u8>,
    map: &StreamMap,
    len: u64,
    out: &Path,
) -> Result<(), Direct> {
    let aac = map.audio == Audio::Aac;
    let mut walker = pes::Walker::new(map.video_id, aac.then_some(map.audio_id));
    let mut mux = DirectMux::new(pipeline_dir, map, out);
    let mut failed: Option<Direct> = None;
    walker.buf = head;
    walker.buf.drain(..map.start);
    let mut read = walker.buf.len() as u64 + map.start as u64;
    loop {
        let at_end = read >= len;
        let mut sink = |u: pes::Unit| {
            if failed.is_none()
                && let Err(e) = mux.unit(u)
            {
                failed = Some(e);
            }
        };
        let walked = if at_end {
            walker.finish(&mut sink)
        } else {
            walker.feed(&mut sink)
        };
        if let Err(e) = walked {
            failed.get_or_insert(Direct::Fallback(e.to_string()));
        }
        if let Some(e) = failed.take() {
            mux.abort();
            return Err(e);
        }
        if at_end {
            break;
        }
        let n = (len - read).min(CHUNK as u64) as usize;
        let old = walker.buf.len();
        walker.buf.resize(old + n, 0);
        file.read_exact(&mut walker.buf[old..])?;
        read += n as u64;
    }
    mux.finish(len)
}

/// The direct route's muxer side: built at the first key frame (its parameter sets give
/// the caps), then fed one access unit or audio frame at a time.
struct DirectMux<'a> {
    pipeline_dir: &'a Path,
    map: &'a StreamMap,
    out: &'a Path,
    /// The pipeline and its video and audio inputs, once built.
    mux: Option<(gst::Pipeline, gst_app::AppSrc, Option<gst_app::AppSrc>)>,
    /// Audio before the first key frame, kept until the muxer exists (bounded).
    early_audio: Vec<(Option<u64>, Vec<u8>)>,
    /// One access unit, held until the next gives its duration.
    held: Option<(u64, Vec<u8>, bool)>,
    /// The first key frame's time: output time 0.
    base: Option<u64>,
    last_duration: gst::ClockTime,
    starts: Vec<(usize, usize)>,
}

impl<'a> DirectMux<'a> {
    fn new(pipeline_dir: &'a Path, map: &'a StreamMap, out: &'a Path) -> Self {
        DirectMux {
            pipeline_dir,
            map,
            out,
            mux: None,
            early_audio: Vec::new(),
            held: None,
            base: None,
            last_duration: gst::ClockTime::from_mseconds(40),
            starts: Vec::new(),
        }
    }

    fn unit(&mut self, unit: pes::Unit) -> Result<(), Direct> {
        match unit {
            pes::Unit::Audio { pts, frame } => match self.base {
                Some(_) => self.push_audio(pts, frame),
                None if self.early_audio.len() < 256 => {
                    self.early_audio.push((pts, frame));
                    Ok(())
                }
                None => Err(Direct::Fallback("no video after 256 audio frames".into())),
            },
            pes::Unit::Video { pts, au } => {
                if self.mux.is_none() {
                    let caps = caps_for(self.pipeline_dir, self.map.video, &au)?;
                    let aac = self.map.audio == Audio::Aac;
                    self.mux = Some(
                        build_mux(self.pipeline_dir, aac, &caps, self.out)
                            .map_err(Direct::Fatal)?,
                    );
                    self.base = Some(pts);
                    for (p, f) in std::mem::take(&mut self.early_audio) {
                        self.push_audio(p, f)?;
                    }
                }
                let h265 = self.map.video == ps::VideoCodec::H265;
                let mut sample = Vec::new();
                let key = pes::to_length_prefixed(&au, h265, &mut self.starts, &mut sample);
                if let Some(prev) = self.held.replace((pts, sample, key)) {
                    let d = since(prev.0, pts);
                    self.last_duration = d;
                    self.push_video(prev, d)?;
                }
                Ok(())
            }
        }
    }

    fn push_video(
        &self,
        (pts, au, key): (u64, Vec<u8>, bool),
        duration: gst::ClockTime,
    ) -> Result<(), Direct> {
        let (Some((_, video, _)), Some(base)) = (self.mux.as_ref(), self.base) else {
            return Ok(());
        };
        let mut buf = gst::Buffer::from_mut_slice(au);
        {
            let b = buf.get_mut().expect("new buffer");
            b.set_pts(since(base, pts));
            b.set_dts(since(base, pts));
            b.set_duration(duration);
            if !key {
                b.set_flags(gst::BufferFlags::DELTA_UNIT);
            }
        }
        video
            .push_buffer(buf)
            .map(|_| ())
            .map_err(|_| Direct::Fatal(RemuxError::Pipeline("the muxer stopped".into())))
    }

    fn push_audio(&self, pts: Option<u64>, frame: Vec<u8>) -> Result<(), Direct> {
        let (Some((_, _, Some(audio))), Some(base)) = (self.mux.as_ref(), self.base) else {
            return Ok(());
        };
        if pts.is_some_and(|p| (p.wrapping_sub(base) & ((1 << 33) - 1)) > 1 << 32) {
            return Ok(()); // audio from before the first key frame: MP4 cannot start earlier
        }
        let mut buf = gst::Buffer::from_mut_slice(frame);
        if let Some(p) = pts {
            buf.get_mut().expect("new buffer").set_pts(since(base, p));
        }
        audio
            .push_buffer(buf)
            .map(|_| ())
            .map_err(|_| Direct::Fatal(RemuxError::Pipeline("the muxer stopped".into())))
    }

    fn abort(&mut self) {
        if let Some((p, _, _)) = self.mux.take() {
            let _ = p.set_state(gst::State::Null);
        }
    }

    /// Pushes the held access unit, ends both inputs and waits for the file to be written.
    /// (Dropped without it, the pipeline is stopped: see [`Drop`].)
    fn finish(mut self, len: u64) -> Result<(), Direct> {
        if self.mux.is_none() {
            return Err(Direct::Fatal(RemuxError::Stream(ps::PsError::NoStreamMap)));
        }
        if let Some(last) = self.held.take() {
            self.push_video(last, self.last_duration)?;
        }
        let (pipeline, video, audio) = self.mux.take().expect("checked");
        let _ = video.end_of_stream();
        if let Some(a) = &audio {
            let _ = a.end_of_stream();
        }
        let result = wait_eos(&pipeline, len);
        let _ = pipeline.set_state(gst::State::Null);
        result.map_err(Direct::Fatal)
    }
}

impl Drop for DirectMux<'_> {
    fn drop(&mut self) {
        self.abort();
    }
}

fn build_mux(
    pipeline_dir: &Path,
    aac: bool,
    caps: &gst::Caps,
    out: &Path,
) -> Result<(gst::Pipeline, gst_app::AppSrc, Option<gst_app::AppSrc>), RemuxError> {
    let name = if aac {
        "hikvision-mux-aac.pipeline"
    } else {
        "hikvision-mux.pipeline"
    };
    let pipeline = launch(pipeline_dir, name, &[])?;
    let appsrc = |n: &str| {
        pipelines::element::<gst_app::AppSrc>(pipeline.upcast_ref(), n, name)
            .map_err(|e| RemuxError::Pipeline(e.into()))
    };
    let video = appsrc("video")?;
    video.set_caps(Some(caps));
    let audio = if aac { Some(appsrc("audio")?) } else { None };
    pipelines::element::<gst::Element>(pipeline.upcast_ref(), "sink", name)
        .map_err(|e| RemuxError::Pipeline(e.into()))?
        .set_property("location", out.to_string_lossy().to_string());
    pipeline
        .set_state(gst::State::Playing)
        .map_err(|e| RemuxError::Pipeline(e.to_string()))?;
    Ok((pipeline, video, audio))
}

/// Waits for the muxer to finish (EOS) or fail; mp4mux writes its index after EOS. Bounded
/// by the segment's size, so a stuck pipeline cannot stall the whole sync.
fn wait_eos(pipeline: &gst::Pipeline, len: u64) -> Result<(), RemuxError> {
    let bus = pipeline.bus().expect("pipeline bus");
    let timeout = Duration::from_secs(60) + Duration::from_millis(len / 1_000_000 * 100);
    match bus.timed_pop_filtered(
        gst::ClockTime::try_from(timeout).expect("fits"),
        &[gst::MessageType::Error, gst::MessageType::Eos],
    ) {
        Some(msg) if matches!(msg.view(), gst::MessageView::Error(_)) => Err(message_error(&msg)),
        Some(_) => Ok(()),
        None => Err(RemuxError::Pipeline(format!(
            "no end of stream within {} s",
            timeout.as_secs()
        ))),
    }
}

/// An error message as a [`RemuxError`] (with GStreamer's debug detail).
fn message_error(msg: &gst::Message) -> RemuxError {
    RemuxError::Pipeline(
        crate::pipelines::BusError::of(msg)
            .map_or_else(|| "unexpected message".into(), |e| e.to_string()),
    )
}

fn run(
    pipeline: &gst::Pipeline,
    name: &str,
    file: &mut File,
    head: Vec<u8>,
    skip: usize,
    len: u64,
    out: &Path,
) -> Result<(), RemuxError> {
    let src: gst_app::AppSrc = pipelines::element(pipeline.upcast_ref(), "src", name)
        .map_err(|e| RemuxError::Pipeline(e.into()))?;
    pipelines::element::<gst::Element>(pipeline.upcast_ref(), "sink", name)
        .map_err(|e| RemuxError::Pipeline(e.into()))?
        .set_property("location", out.to_string_lossy().to_string());
    pipeline
        .set_state(gst::State::Playing)
        .map_err(|e| RemuxError::Pipeline(e.to_string()))?;
    let bus = pipeline.bus().expect("pipeline bus");
    // Whole packets are pushed; a packet cut by the read boundary waits for the next read.
    let mut pushed = head.len() as u64;
    let mut buf = head;
    buf.drain(..skip);
    loop {
        let done = normalize_packs(&mut buf);
        let at_end = pushed >= len;
        let take = if at_end { buf.len() } else { done };
        let rest = buf.split_off(take);
        if !buf.is_empty() && src.push_buffer(gst::Buffer::from_mut_slice(buf)).is_err() {
            break; // the pipeline stopped: its error is on the bus
        }
        if let Some(msg) = bus.pop_filtered(&[gst::MessageType::Error]) {
            return Err(message_error(&msg));
        }
        if at_end {
            break;
        }
        let n = (len - pushed).min(CHUNK as u64) as usize;
        buf = rest;
        let old = buf.len();
        buf.resize(old + n, 0);
        file.read_exact(&mut buf[old..])?;
        pushed += n as u64;
    }
    let _ = src.end_of_stream();
    wait_eos(pipeline, len)
}

/// Walks the program-stream packets at the start of `buf`, setting every pack header's
/// stuffing bytes to 0xFF, and returns how many bytes of whole packets it walked.
///
/// Hikvision cameras put a running counter in the last four stuffing bytes. `mpegpsdemux`
/// then loses sync at every pack header and rescans for a start code, and whenever the counter
/// spells one (`00 00 01 E0` at count 0x1E0, ...) it parses garbage and drops frames. The
/// standard says stuffing is 0xFF; making it so costs a few bytes' writes per packet.
pub fn normalize_packs(buf: &mut [u8]) -> usize {
    let mut i = 0;
    loop {
        match ps::packet_at(buf, i) {
            ps::Packet::Whole { id, end } => {
                if id == 0xBA {
                    buf[i + 14..end].fill(0xFF);
                }
                i = end;
            }
            ps::Packet::Lost { next: Some(n) } => i = n,
            // Not on a packet up to the end: leave those bytes alone (but a start code may
            // begin in the last three).
            ps::Packet::Lost { next: None } => return buf.len().saturating_sub(3).max(i),
            ps::Packet::Cut => return i,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stuffing_counters_become_ff_and_cut_packets_wait() {
        let mut pack = vec![0, 0, 1, 0xBA, 0x44, 0, 4, 0, 4, 1, 0x07, 0x44, 0x7F, 0xFE];
        pack.extend_from_slice(&[0xFF, 0xFF, 0x00, 0x00, 0x01, 0xE0]);
        let mut buf = pack.clone();
        buf.extend_from_slice(&[0, 0, 1, 0xE0, 0, 3, 0x80, 0, 0]);
        buf.extend_from_slice(&pack[..10]); // cut
        let n = normalize_packs(&mut buf);
        assert_eq!(n, pack.len() + 9);
        assert_eq!(&buf[14..20], &[0xFF; 6]);
        for cut in 0..buf.len() {
            let mut b = buf[..cut].to_vec();
            assert!(normalize_packs(&mut b) <= cut);
        }
    }
}
