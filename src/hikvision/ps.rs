//! Just enough MPEG-2 program stream reading to decide how to remux a Hikvision segment:
//! where its first pack header is, and what its program stream map says (video codec, audio
//! kind, the camera's wall-clock time in the `HK` descriptor).
//!
//! The demuxing itself is GStreamer's `mpegpsdemux`; this only reads headers, from a bounded
//! prefix of the segment, and never panics on garbage.

use std::fmt;

pub const PACK_START: [u8; 4] = [0, 0, 1, 0xBA];
/// How far into a segment a pack header may start (cameras sometimes leave junk in front).
pub const MAX_LEADING_JUNK: usize = 64 * 1024;
/// How far the stream map may be from the first pack header.
const MAX_PSM_SEARCH: usize = 256 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VideoCodec {
    H264,
    H265,
}

impl VideoCodec {
    /// The parser element between `mpegpsdemux` and `mp4mux`.
    pub fn parser(self) -> &'static str {
        match self {
            VideoCodec::H264 => "h264parse",
            VideoCodec::H265 => "h265parse",
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            VideoCodec::H264 => "H.264",
            VideoCodec::H265 => "H.265",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audio {
    None,
    /// ADTS AAC (stream type 0x0F): kept.
    Aac,
    /// G.711 A-law or µ-law (Hikvision private types 0x90/0x91): MP4 cannot carry it.
    G711,
    Other(u8),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamMap {
    /// Byte offset of the first pack header within the segment (0 on real cameras).
    pub start: usize,
    pub video: VideoCodec,
    pub video_id: u8,
    pub audio: Audio,
    pub audio_id: u8,
    /// Picture size from the Hikvision video descriptor (0x42), when present.
    pub size: Option<(u16, u16)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PsError {
    NoPackHeader,
    /// The segment does not start with a stream map, so the video type is unknown.
    NoStreamMap,
    UnknownVideo(u8),
}

impl fmt::Display for PsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PsError::NoPackHeader => write!(
                f,
                "no MPEG-PS pack header in the first {} KiB",
                MAX_LEADING_JUNK / 1024
            ),
            PsError::NoStreamMap => write!(f, "no program stream map before the first video"),
            PsError::UnknownVideo(t) => write!(f, "unsupported video stream type 0x{t:02x}"),
        }
    }
}

impl std::error::Error for PsError {}

fn be16(b: &[u8], o: usize) -> Option<usize> {
    crate::bytes::be16(b, o).map(usize::from)
}

/// What starts at some byte of a program stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Packet {
    /// A whole packet with stream id `id` (0xBA: pack header) ending at `end`.
    Whole { id: u8, end: usize },
    /// A packet that goes on past the end of the bytes at hand.
    Cut,
    /// No start code here (lost sync): the next pack header, if there is one.
    Lost { next: Option<usize> },
}

/// The packet at `i` of `buf`. Every reader of the stream (probe, pack normalisation, the
/// elementary-stream walk) moves through it with this, so they agree on every length.
pub fn packet_at(buf: &[u8], i: usize) -> Packet {
    let Some(head) = buf.get(i..i + 4) else {
        return Packet::Cut;
    };
    if head[..3] != [0, 0, 1] {
        let next = buf
            .get(i + 1..)
            .and_then(|rest| rest.windows(4).position(|w| w == PACK_START))
            .map(|p| i + 1 + p);
        return Packet::Lost { next };
    }
    let id = head[3];
    let end = if id == 0xBA {
        // MPEG-2 pack header: 14 bytes plus the stuffing length in the low 3 bits.
        match buf.get(i + 13) {
            Some(&b) => i + 14 + usize::from(b & 7),
            None => return Packet::Cut,
        }
    } else {
        match be16(buf, i + 4) {
            Some(len) => i + 6 + len,
            None => return Packet::Cut,
        }
    };
    if end > buf.len() {
        Packet::Cut
    } else {
        Packet::Whole { id, end }
    }
}

/// Reads the stream map at the start of a segment (`data` is a prefix of it).
pub fn probe(data: &[u8]) -> Result<StreamMap, PsError> {
    let start = data[..data.len().min(MAX_LEADING_JUNK + 4)]
        .windows(4)
        .position(|w| w == PACK_START)
        .ok_or(PsError::NoPackHeader)?;
    let data = &data[..data.len().min(start + MAX_PSM_SEARCH)];
    let mut o = start;
    loop {
        match packet_at(data, o) {
            Packet::Whole { id: 0xBC, .. } => return parse_psm(data, o, start),
            Packet::Whole {
                id: 0xE0..=0xEF, ..
            } => return Err(PsError::NoStreamMap),
            Packet::Whole { end, .. } => o = end,
            Packet::Lost { next: Some(n) } => o = n,
            Packet::Cut | Packet::Lost { next: None } => return Err(PsError::NoStreamMap),
        }
    }
}

fn parse_psm(data: &[u8], o: usize, start: usize) -> Result<StreamMap, PsError> {
    let len = be16(data, o + 4).ok_or(PsError::NoStreamMap)?;
    let psm = data.get(o + 6..o + 6 + len).ok_or(PsError::NoStreamMap)?;
    let info_len = be16(psm, 2).ok_or(PsError::NoStreamMap)?;
    let map_at = 4 + info_len;
    let map_len = be16(psm, map_at).ok_or(PsError::NoStreamMap)?;
    let map = psm
        .get(map_at + 2..map_at + 2 + map_len)
        .ok_or(PsError::NoStreamMap)?;
    let mut video = None;
    let mut size = None;
    let mut audio = (Audio::None, 0);
    let mut i = 0;
    while i + 4 <= map.len() {
        let (kind, id) = (map[i], map[i + 1]);
        let es_len = be16(map, i + 2).unwrap_or(0);
        let info = map.get(i + 4..i + 4 + es_len).unwrap_or(&[]);
        match id {
            0xE0..=0xEF if video.is_none() => {
                video = Some((kind, id));
                size = video_size(info);
            }
            0xC0..=0xDF if audio.0 == Audio::None => {
                audio = match kind {
                    0x0F => (Audio::Aac, id),
                    0x90 | 0x91 => (Audio::G711, id),
                    t => (Audio::Other(t), id),
                }
            }
            _ => {}
        }
        i += 4 + es_len;
    }
    let (kind, video_id) = video.ok_or(PsError::NoStreamMap)?;
    let video = match kind {
        0x1B => VideoCodec::H264,
        0x24 => VideoCodec::H265,
        t => return Err(PsError::UnknownVideo(t)),
    };
    Ok(StreamMap {
        start,
        video,
        video_id,
        audio: audio.0,
        audio_id: audio.1,
        size,
    })
}

/// Width and height from Hikvision's video descriptor (tag 0x42: 4 bytes, then u16 each).
fn video_size(info: &[u8]) -> Option<(u16, u16)> {
    let mut i = 0;
    while i + 2 <= info.len() {
        let (tag, len) = (info[i], usize::from(info[i + 1]));
        let body = info.get(i + 2..i + 2 + len)?;
        if tag == 0x42 && len >= 8 {
            return Some((crate::bytes::be16(body, 4)?, crate::bytes::be16(body, 6)?));
        }
        i += 2 + len;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_and_truncation_never_panic() {
        assert_eq!(probe(&[]), Err(PsError::NoPackHeader));
        assert_eq!(probe(&[0; 100]), Err(PsError::NoPackHeader));
        let mut d = PACK_START.to_vec();
        assert_eq!(probe(&d), Err(PsError::NoStreamMap));
        d.extend_from_slice(&[0x44; 10]);
        d.extend_from_slice(&[0, 0, 1, 0xBC, 0xFF, 0xFF, 1]);
        for cut in 0..d.len() {
            let _ = probe(&d[..cut]);
        }
        assert_eq!(probe(&d), Err(PsError::NoStreamMap));
    }
}
