//! The elementary streams of a Hikvision segment: a streaming walk over its program-stream
//! packets that yields video access units (Annex-B, with their PTS) and audio frames.
//!
//! Why not `mpegpsdemux`: it mis-reads these cameras' pack headers (the stuffing counter; see
//! `docs/hikvision.md`) and hands every NAL to the next element as its own buffer, which then
//! re-scans them for start codes. Walking the packets is a header read per packet; the payload
//! bytes are copied once. Anything this walk does not expect (decode order differing from
//! presentation order, PTS going backwards) is an error, and the caller falls back to the
//! `mpegpsdemux` pipeline.

use super::ps;
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PesError {
    /// Frames whose decode order differs from presentation order (B-frames): left to
    /// `mpegpsdemux`, which carries DTS.
    Reordered,
    /// Video before any timestamp, or an AU beyond [`MAX_AU`].
    Malformed(&'static str),
}

impl fmt::Display for PesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PesError::Reordered => write!(f, "frames are reordered (B-frames)"),
            PesError::Malformed(why) => write!(f, "{why}"),
        }
    }
}

/// The largest access unit accepted (a 4K intra frame is a few MB).
pub const MAX_AU: usize = 32 << 20;

/// One unit out of the walk. PTS in 90 kHz ticks, as in the stream (33 bits).
#[derive(Debug)]
pub enum Unit {
    Video { pts: u64, au: Vec<u8> },
    Audio { pts: Option<u64>, frame: Vec<u8> },
}

/// Long-lived per segment: feed it bytes with [`Walker::feed`], then [`Walker::finish`].
pub struct Walker {
    video_id: u8,
    audio_id: Option<u8>,
    /// Bytes not walked yet (at most one partial packet after each feed).
    pub buf: Vec<u8>,
    au: Vec<u8>,
    au_pts: Option<u64>,
    last_pts: Option<u64>,
}

fn pts_at(b: &[u8]) -> u64 {
    (u64::from(b[0] >> 1) & 7) << 30
        | u64::from(b[1]) << 22
        | u64::from(b[2] >> 1) << 15
        | u64::from(b[3]) << 7
        | u64::from(b[4] >> 1)
}

impl Walker {
    pub fn new(video_id: u8, audio_id: Option<u8>) -> Walker {
        Walker {
            video_id,
            audio_id,
            buf: Vec::new(),
            au: Vec::new(),
            au_pts: None,
            last_pts: None,
        }
    }

    /// Walks the whole packets in `self.buf` (append bytes to it first), handing out every
    /// finished unit; a packet cut at the end stays for the next call.
    pub fn feed(&mut self, out: &mut dyn FnMut(Unit)) -> Result<(), PesError> {
        let done = self.walk(false, out)?;
        self.buf.drain(..done);
        Ok(())
    }

    /// Walks what is left and hands out the last access unit.
    pub fn finish(&mut self, out: &mut dyn FnMut(Unit)) -> Result<(), PesError> {
        self.walk(true, out)?;
        self.buf.clear();
        if let Some(pts) = self.au_pts.take() {
            out(Unit::Video {
                pts,
                au: std::mem::take(&mut self.au),
            });
        }
        Ok(())
    }

    fn walk(&mut self, last: bool, out: &mut dyn FnMut(Unit)) -> Result<usize, PesError> {
        let mut i = 0;
        let n = self.buf.len();
        loop {
            match ps::packet_at(&self.buf, i) {
                ps::Packet::Whole { id, end } => {
                    let is_video = id == self.video_id;
                    if is_video || Some(id) == self.audio_id {
                        self.pes(i, end, is_video, out)?;
                    }
                    i = end;
                }
                // Lost sync: on to the next pack header.
                ps::Packet::Lost { next: Some(p) } => i = p,
                ps::Packet::Lost { next: None } => {
                    return Ok(if last { n } else { n.saturating_sub(3).max(i) });
                }
                ps::Packet::Cut => return Ok(i), // cut by the end of what was read
            }
        }
    }

    fn pes(
        &mut self,
        start: usize,
        end: usize,
        video: bool,
        out: &mut dyn FnMut(Unit),
    ) -> Result<(), PesError> {
        let p = &self.buf[start..end];
        if p.len() < 9 {
            return Ok(());
        }
        let flags = p[7] >> 6;
        let body = 9 + usize::from(p[8]);
        if body > p.len() {
            return Ok(()); // a header longer than its packet: nothing usable
        }
        let pts = (flags & 2 != 0 && p.len() >= 14).then(|| pts_at(&p[9..14]));
        if flags == 3 && p.len() >= 19 && pts_at(&p[14..19]) != pts.unwrap_or(0) {
            return Err(PesError::Reordered);
        }
        let payload = &p[body..];
        if !video {
            out(Unit::Audio {
                pts,
                frame: payload.to_vec(),
            });
            return Ok(());
        }
        if let Some(pts) = pts {
            if let Some(prev) = self.last_pts {
                // Backwards (allowing for the 33-bit wrap) means reordered frames.
                let diff = pts.wrapping_sub(prev) & ((1 << 33) - 1);
                if diff == 0 || diff > 1 << 32 {
                    return Err(PesError::Reordered);
                }
            }
            self.last_pts = Some(pts);
            if let Some(prev) = self.au_pts.replace(pts) {
                let cap = self.au.len();
                let au = std::mem::replace(&mut self.au, Vec::with_capacity(cap));
                out(Unit::Video { pts: prev, au });
            }
        } else if self.au_pts.is_none() {
            return Err(PesError::Malformed("video data before the first timestamp"));
        }
        if self.au.len() + payload.len() > MAX_AU {
            return Err(PesError::Malformed("access unit larger than 32 MiB"));
        }
        self.au.extend_from_slice(payload);
        Ok(())
    }
}

/// Positions of the NAL units in an Annex-B access unit: (start of start code, start of NAL).
/// Skips three bytes at a time where no start code can begin (a byte > 1 at +2).
pub fn nal_starts(au: &[u8], out: &mut Vec<(usize, usize)>) {
    out.clear();
    let n = au.len();
    let mut i = 0;
    while i + 2 < n {
        let c = au[i + 2];
        if c > 1 {
            i += 3;
        } else if c == 1 && au[i] == 0 && au[i + 1] == 0 {
            let sc = if i > 0 && au[i - 1] == 0 { i - 1 } else { i };
            out.push((sc, i + 3));
            i += 3;
        } else {
            i += 1;
        }
    }
}

/// Rewrites an Annex-B access unit as 4-byte length-prefixed NAL units (MP4's `avc1`/`hvc1`
/// sample format). Returns whether it holds a random-access picture (IDR/IRAP).
pub fn to_length_prefixed(
    au: &[u8],
    h265: bool,
    starts: &mut Vec<(usize, usize)>,
    out: &mut Vec<u8>,
) -> bool {
    nal_starts(au, starts);
    out.clear();
    out.reserve(au.len() + 4 * starts.len());
    let mut key = false;
    for (k, &(_, nal)) in starts.iter().enumerate() {
        let end = starts.get(k + 1).map_or(au.len(), |&(sc, _)| sc);
        if end <= nal {
            continue;
        }
        let t = au[nal];
        key |= if h265 {
            (16..=23).contains(&((t >> 1) & 0x3F))
        } else {
            t & 0x1F == 5
        };
        out.extend_from_slice(&((end - nal) as u32).to_be_bytes());
        out.extend_from_slice(&au[nal..end]);
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_codes_of_both_lengths_become_lengths() {
        let au = [
            0, 0, 0, 1, 0x40, 1, 0, 0, 1, 0x42, 2, 3, 0, 0, 0, 1, 0x26, 9, 0, 0, 2,
        ];
        let (mut s, mut out) = (Vec::new(), Vec::new());
        let key = to_length_prefixed(&au, true, &mut s, &mut out);
        assert!(key, "NAL type 19 (0x26) is IDR");
        assert_eq!(
            out,
            [
                0, 0, 0, 2, 0x40, 1, 0, 0, 0, 3, 0x42, 2, 3, 0, 0, 0, 5, 0x26, 9, 0, 0, 2
            ]
        );
    }

    #[test]
    fn cut_packets_wait_and_garbage_never_panics() {
        let mut w = Walker::new(0xE0, Some(0xC0));
        let mut pes = vec![0, 0, 1, 0xE0, 0, 14, 0x8C, 0x80, 5, 0x21, 0, 1, 0, 1];
        pes.extend_from_slice(&[0, 0, 0, 1, 0x26, 7]);
        let mut units = 0;
        w.buf.extend_from_slice(&pes[..10]);
        w.feed(&mut |_| units += 1).unwrap();
        assert_eq!(w.buf.len(), 10, "cut packet kept");
        w.buf.extend_from_slice(&pes[10..]);
        w.feed(&mut |_| units += 1).unwrap();
        w.finish(&mut |u| {
            assert!(matches!(u, Unit::Video { pts: 0, ref au } if au == &[0, 0, 0, 1, 0x26, 7]));
            units += 1;
        })
        .unwrap();
        assert_eq!(units, 1);
        let mut seed = 7u32;
        for len in [0usize, 5, 9, 40, 300] {
            let mut w = Walker::new(0xE0, Some(0xC0));
            w.buf = (0..len)
                .map(|i| {
                    seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                    if i % 7 == 0 { 0 } else { (seed >> 16) as u8 }
                })
                .collect();
            let _ = w.feed(&mut |_| {});
            let _ = w.finish(&mut |_| {});
        }
    }
}
