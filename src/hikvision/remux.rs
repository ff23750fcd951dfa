//! One Hikvision segment (a byte range of a `hivNNNNN.mp4` program-stream container) to a real
//! MP4 file, in-process with GStreamer and without re-encoding: `appsrc ! mpegpsdemux !
//! h26xparse ! mp4mux ! filesink` (`pipelines/hikvision-remux*.pipeline`).
//!
//! The caller names a temporary output path; it holds a complete, fsync'd MP4 when this
//! returns `Ok`, and whatever is there after an error is the caller's to delete.

use super::ps::{self, Audio, StreamMap};
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
pub fn remux(
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
    let name = if audio_kept {
        "hikvision-remux-aac.pipeline"
    } else {
        "hikvision-remux.pipeline"
    };
    let desc = crate::pipelines::load(pipeline_dir, name)
        .and_then(|d| {
            d.render(&[
                ("video_pad", format!("video_{:02x}", map.video_id)),
                ("video_parser", map.video.parser().to_string()),
                ("audio_pad", format!("audio_{:02x}", map.audio_id)),
            ])
        })
        .map_err(RemuxError::Pipeline)?;
    let pipeline = gst::parse::launch(&desc)
        .map_err(|e| RemuxError::Pipeline(e.to_string()))?
        .downcast::<gst::Pipeline>()
        .map_err(|_| RemuxError::Pipeline("not a pipeline".into()))?;
    let result = run(&pipeline, &mut file, head, map.start, len, out);
    let _ = pipeline.set_state(gst::State::Null);
    result?;
    // Durable before the caller renames it into place.
    File::open(out)?.sync_all()?;
    Ok(Remuxed {
        map,
        audio_kept,
        bytes: std::fs::metadata(out)?.len(),
    })
}

fn run(
    pipeline: &gst::Pipeline,
    file: &mut File,
    head: Vec<u8>,
    skip: usize,
    len: u64,
    out: &Path,
) -> Result<(), RemuxError> {
    let by_name = |n: &str| {
        pipeline
            .by_name(n)
            .ok_or_else(|| RemuxError::Pipeline(format!("the description has no element {n}")))
    };
    let src = by_name("src")?
        .downcast::<gst_app::AppSrc>()
        .map_err(|_| RemuxError::Pipeline("src is not an appsrc".into()))?;
    by_name("sink")?.set_property("location", out.to_string_lossy().to_string());
    pipeline
        .set_state(gst::State::Playing)
        .map_err(|e| RemuxError::Pipeline(e.to_string()))?;
    let bus = pipeline.bus().expect("pipeline bus");
    let error = |bus: &gst::Bus, timeout: gst::ClockTime| -> Option<Result<(), String>> {
        let msg =
            bus.timed_pop_filtered(timeout, &[gst::MessageType::Error, gst::MessageType::Eos])?;
        Some(match msg.view() {
            gst::MessageView::Error(e) => Err(match e.debug() {
                Some(d) => format!("{} ({d})", e.error()),
                None => e.error().to_string(),
            }),
            _ => Ok(()),
        })
    };
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
        if let Some(Err(e)) = error(&bus, gst::ClockTime::ZERO) {
            return Err(RemuxError::Pipeline(e));
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
    // mp4mux writes its index after EOS; a stuck pipeline must not stall the whole sync.
    let timeout = Duration::from_secs(60) + Duration::from_millis(len / 1_000_000 * 100);
    match error(&bus, gst::ClockTime::try_from(timeout).expect("fits")) {
        Some(Ok(())) => Ok(()),
        Some(Err(e)) => Err(RemuxError::Pipeline(e)),
        None => Err(RemuxError::Pipeline(format!(
            "no end of stream within {} s",
            timeout.as_secs()
        ))),
    }
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
    while i + 6 <= buf.len() {
        if buf[i..i + 3] != [0, 0, 1] {
            // Not on a packet: leave the bytes alone up to the next pack header.
            match buf[i + 1..].windows(4).position(|w| w == ps::PACK_START) {
                Some(p) => {
                    i += 1 + p;
                    continue;
                }
                None => return buf.len().saturating_sub(3).max(i),
            }
        }
        let end = if buf[i + 3] == 0xBA {
            let Some(&b) = buf.get(i + 13) else { break };
            let stuffing = usize::from(b & 7);
            let end = i + 14 + stuffing;
            if end > buf.len() {
                break;
            }
            buf[i + 14..end].fill(0xFF);
            end
        } else {
            i + 6 + usize::from(u16::from_be_bytes([buf[i + 4], buf[i + 5]]))
        };
        if end > buf.len() {
            break;
        }
        i = end;
    }
    i
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
