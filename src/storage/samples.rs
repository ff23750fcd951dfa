//! The sample tables of a recorded (or imported) MP4: where each frame is, when, whether it is
//! a key frame, and the codec setup as GStreamer caps. Export reads frames straight from these
//! instead of through `splitmuxsrc`/`qtdemux`.
//!
//! Only what nvr's own files hold is accepted (`mp4mux` output: one video track H.264/H.265,
//! optionally AAC; B-frames fine; not fragmented). Anything else is
//! an error and export uses the `splitmuxsrc` route. Every size is checked against the box it
//! comes from, so a corrupt file is an error, never a panic or a huge allocation.

use super::mp4;
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    pub offset: u64,
    pub size: u32,
    /// Decode time in the track's timescale.
    pub time: u64,
    /// Presentation time minus decode time (B-frames), in the track's timescale.
    pub cts: i32,
    pub duration: u32,
    pub sync: bool,
}

#[derive(Debug, Clone)]
pub struct Track {
    pub video: bool,
    pub timescale: u32,
    pub caps: gst::Caps,
    /// Media time the presentation starts at (edit list), in the track's timescale.
    pub start: u64,
    pub samples: Vec<Sample>,
}

impl Track {
    /// Ticks of this track as ns of the movie's timeline (edit list applied; negative for
    /// frames decoded before the presentation starts).
    fn movie_ns(&self, ticks: i64) -> i64 {
        ((i128::from(ticks) - i128::from(self.start)) * 1_000_000_000 / i128::from(self.timescale))
            as i64
    }

    /// Decode time of a sample in the movie's timeline, ns.
    pub fn dts_ns(&self, s: &Sample) -> i64 {
        self.movie_ns(s.time as i64)
    }

    /// Presentation time of a sample in the movie's timeline, ns.
    pub fn pts_ns(&self, s: &Sample) -> i64 {
        self.movie_ns(s.time as i64 + i64::from(s.cts))
    }

    /// A duration in this track's ticks, as ns.
    pub fn duration_ns(&self, ticks: u32) -> u64 {
        u64::from(ticks) * 1_000_000_000 / u64::from(self.timescale)
    }
}

#[derive(Debug, Clone)]
pub struct Movie {
    pub duration_ns: u64,
    pub video: Track,
    pub audio: Option<Track>,
}

type R<T> = Result<T, String>;

fn truncated() -> String {
    "truncated box".into()
}
fn u16_at(b: &[u8], o: usize) -> R<u16> {
    crate::bytes::be16(b, o).ok_or_else(truncated)
}
fn u32_at(b: &[u8], o: usize) -> R<u32> {
    crate::bytes::be32(b, o).ok_or_else(truncated)
}
fn u64_at(b: &[u8], o: usize) -> R<u64> {
    crate::bytes::be64(b, o).ok_or_else(truncated)
}

fn child<'a>(b: &'a [u8], kind: &[u8; 4]) -> R<&'a [u8]> {
    mp4::child(b, kind).ok_or_else(|| format!("no {} box", String::from_utf8_lossy(kind)))
}

pub fn read(path: &Path) -> R<Movie> {
    let top = mp4::read_top(path).map_err(|e| e.to_string())?;
    let moov = top.moov.ok_or("no moov box (not a finished MP4)")?;
    if top.fragmented {
        return Err("fragmented MP4".into());
    }
    movie(&moov)
}

/// The tracks and sample tables of a `moov` box's body.
pub fn movie(moov: &[u8]) -> R<Movie> {
    if child(moov, b"mvex").is_ok() {
        return Err("fragmented MP4".into());
    }
    let (timescale, duration) = mp4::mvhd(moov).ok_or("no mvhd box")?;
    if timescale == 0 {
        return Err("mvhd timescale 0".into());
    }
    let mut video = None;
    let mut audio = None;
    for (kind, trak) in mp4::children(moov) {
        if kind != b"trak" {
            continue;
        }
        let t = track(trak)?;
        match (t.video, &video, &audio) {
            (true, None, _) => video = Some(t),
            (false, _, None) => audio = Some(t),
            _ => return Err("more than one video or audio track".into()),
        }
    }
    Ok(Movie {
        duration_ns: (u128::from(duration) * 1_000_000_000 / u128::from(timescale)) as u64,
        video: video.ok_or("no video track")?,
        audio,
    })
}

fn track(trak: &[u8]) -> R<Track> {
    let mdia = child(trak, b"mdia")?;
    let mdhd = child(mdia, b"mdhd")?;
    let timescale = if mdhd.first() == Some(&1) {
        u32_at(mdhd, 20)?
    } else {
        u32_at(mdhd, 12)?
    };
    if timescale == 0 {
        return Err("mdhd timescale 0".into());
    }
    let handler = child(mdia, b"hdlr")?.get(8..12).ok_or("truncated hdlr")?;
    let video = match handler {
        b"vide" => true,
        b"soun" => false,
        other => return Err(format!("a {} track", String::from_utf8_lossy(other))),
    };
    // Edit list: where presentation starts in media time (mp4mux shifts audio this way).
    let start = match child(trak, b"edts").and_then(|e| child(e, b"elst")) {
        Ok(elst) => {
            let v1 = elst.first() == Some(&1);
            let (entry, len) = if v1 { (8, 20) } else { (8, 12) };
            // No more entries than the box holds (a count of 4 billion took minutes).
            let n = (u32_at(elst, 4)? as usize).min(elst.len().saturating_sub(entry) / len);
            (0..n)
                .filter_map(|k| {
                    let o = entry + k * len;
                    let media = if v1 {
                        u64_at(elst, o + 8).ok()? as i64
                    } else {
                        i64::from(u32_at(elst, o + 4).ok()? as i32)
                    };
                    (media >= 0).then_some(media as u64)
                })
                .next()
                .unwrap_or(0)
        }
        Err(_) => 0,
    };
    let stbl = child(child(mdia, b"minf")?, b"stbl")?;
    let caps = sample_entry(child(stbl, b"stsd")?, video)?;
    let samples = samples(stbl)?;
    Ok(Track {
        video,
        timescale,
        caps,
        start,
        samples,
    })
}

/// The first sample description as caps mp4mux accepts.
fn sample_entry(stsd: &[u8], video: bool) -> R<gst::Caps> {
    let entries = stsd.get(8..).ok_or("truncated stsd")?;
    let (kind, entry) = mp4::children(entries).next().ok_or("empty stsd")?;
    if video {
        let (media, format, config) = match kind {
            b"avc1" => ("video/x-h264", "avc", b"avcC"),
            b"avc3" => ("video/x-h264", "avc3", b"avcC"),
            b"hvc1" => ("video/x-h265", "hvc1", b"hvcC"),
            b"hev1" => ("video/x-h265", "hev1", b"hvcC"),
            other => return Err(format!("video {}", String::from_utf8_lossy(other))),
        };
        let width = u16_at(entry, 24)?;
        let height = u16_at(entry, 26)?;
        let data = child(entry.get(78..).ok_or("truncated sample entry")?, config)?;
        Ok(gst::Caps::builder(media)
            .field("stream-format", format)
            .field("alignment", "au")
            .field("width", i32::from(width))
            .field("height", i32::from(height))
            .field("codec_data", gst::Buffer::from_slice(data.to_vec()))
            .build())
    } else {
        if kind != b"mp4a" {
            return Err(format!("audio {}", String::from_utf8_lossy(kind)));
        }
        let channels = u16_at(entry, 16)?;
        let rate = u32_at(entry, 24)? >> 16;
        let esds = child(entry.get(28..).ok_or("truncated sample entry")?, b"esds")?;
        let config = audio_specific_config(esds.get(4..).ok_or("truncated esds")?)
            .ok_or("esds without AudioSpecificConfig")?;
        Ok(gst::Caps::builder("audio/mpeg")
            .field("mpegversion", 4i32)
            .field("stream-format", "raw")
            .field("rate", rate as i32)
            .field("channels", i32::from(channels))
            .field("codec_data", gst::Buffer::from_slice(config.to_vec()))
            .build())
    }
}

/// DecoderSpecificInfo (tag 5) inside the ES descriptor (3) / DecoderConfig (4).
fn audio_specific_config(mut d: &[u8]) -> Option<&[u8]> {
    loop {
        let tag = *d.first()?;
        let mut len = 0usize;
        let mut i = 1;
        loop {
            let b = *d.get(i)?;
            len = len << 7 | usize::from(b & 0x7F);
            i += 1;
            if b & 0x80 == 0 || i > 4 {
                break;
            }
        }
        let body = d.get(i..i + len)?;
        match tag {
            3 => {
                let flags = *body.get(2)?;
                let mut skip = 3;
                if flags & 0x80 != 0 {
                    skip += 2;
                }
                if flags & 0x40 != 0 {
                    skip += 1 + usize::from(*body.get(skip)?);
                }
                if flags & 0x20 != 0 {
                    skip += 2;
                }
                d = body.get(skip..)?;
            }
            4 => d = body.get(13..)?,
            5 => return Some(body),
            _ => d = d.get(i + len..)?,
        }
    }
}

/// More samples than any one segment holds (an hour at 60 fps is 216 000): a table that
/// claims more is damaged, and is refused before anything is allocated for it.
pub const MAX_SAMPLES: usize = 1_000_000;

fn samples(stbl: &[u8]) -> R<Vec<Sample>> {
    let stsz = child(stbl, b"stsz")?;
    let fixed = u32_at(stsz, 4)?;
    let count = u32_at(stsz, 8)? as usize;
    if count > MAX_SAMPLES {
        return Err(format!(
            "stsz claims {count} samples (at most {MAX_SAMPLES})"
        ));
    }
    if fixed == 0 && stsz.len() < 12 + 4 * count {
        return Err("stsz shorter than its count".into());
    }
    let offsets: Vec<u64> = match (child(stbl, b"stco"), child(stbl, b"co64")) {
        (Ok(b), _) => {
            let n = u32_at(b, 4)? as usize;
            (0..n.min(b.len() / 4))
                .map(|k| u32_at(b, 8 + 4 * k).map(u64::from))
                .collect::<R<_>>()?
        }
        (_, Ok(b)) => {
            let n = u32_at(b, 4)? as usize;
            (0..n.min(b.len() / 8))
                .map(|k| u64_at(b, 8 + 8 * k))
                .collect::<R<_>>()?
        }
        _ => return Err("no chunk offsets".into()),
    };
    let stsc = child(stbl, b"stsc")?;
    let runs: Vec<(u32, u32)> = (0..(u32_at(stsc, 4)? as usize).min(stsc.len() / 12))
        .map(|k| Ok((u32_at(stsc, 8 + 12 * k)?, u32_at(stsc, 12 + 12 * k)?)))
        .collect::<R<_>>()?;
    let stts = child(stbl, b"stts")?;
    let deltas: Vec<(u32, u32)> = (0..(u32_at(stts, 4)? as usize).min(stts.len() / 8))
        .map(|k| Ok((u32_at(stts, 8 + 8 * k)?, u32_at(stts, 12 + 8 * k)?)))
        .collect::<R<_>>()?;
    let sync: Option<Vec<u32>> = match child(stbl, b"stss") {
        Ok(b) => Some(
            (0..(u32_at(b, 4)? as usize).min(b.len() / 4))
                .map(|k| u32_at(b, 8 + 4 * k))
                .collect::<R<_>>()?,
        ),
        Err(_) => None,
    };
    let mut out = Vec::with_capacity(count);
    // Chunk offsets × samples per chunk (stsc runs) → each sample's offset.
    let mut run = 0usize;
    'chunks: for (c, &chunk_offset) in offsets.iter().enumerate() {
        let chunk = c as u32 + 1;
        while run + 1 < runs.len() && runs[run + 1].0 <= chunk {
            run += 1;
        }
        let per_chunk = runs.get(run).map_or(0, |r| r.1);
        let mut offset = chunk_offset;
        for _ in 0..per_chunk {
            if out.len() == count {
                break 'chunks;
            }
            let i = out.len();
            let size = if fixed != 0 {
                fixed
            } else {
                u32_at(stsz, 12 + 4 * i)?
            };
            out.push(Sample {
                offset,
                size,
                time: 0,
                cts: 0,
                duration: 0,
                sync: sync.is_none(),
            });
            offset = offset.saturating_add(u64::from(size));
        }
    }
    if out.len() != count {
        return Err("chunk tables do not cover every sample".into());
    }
    let mut t = 0u64;
    let mut k = 0usize;
    for &(n, delta) in &deltas {
        for _ in 0..n {
            let Some(s) = out.get_mut(k) else { break };
            s.time = t;
            s.duration = delta;
            t += u64::from(delta);
            k += 1;
        }
    }
    if k != count {
        return Err("stts does not cover every sample".into());
    }
    if let Ok(ctts) = child(stbl, b"ctts") {
        let mut k = 0usize;
        for e in 0..(u32_at(ctts, 4)? as usize).min(ctts.len() / 8) {
            let n = u32_at(ctts, 8 + 8 * e)?;
            // Version 0 says unsigned, but writers put negative values there too.
            let offset = u32_at(ctts, 12 + 8 * e)? as i32;
            for _ in 0..n {
                let Some(s) = out.get_mut(k) else { break };
                s.cts = offset;
                k += 1;
            }
        }
    }
    for n in sync.iter().flatten() {
        if let Some(s) = (*n as usize).checked_sub(1).and_then(|i| out.get_mut(i)) {
            s.sync = true;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::mp4::boxed;
    use super::*;

    /// A real file whose sample table claims four billion samples of one byte: before
    /// MAX_SAMPLES, reading it tried to allocate ~160 GB and aborted nvr.
    #[test]
    fn a_sample_count_no_segment_holds_is_refused_before_allocating() {
        use gst::prelude::*;
        gst::init().unwrap();
        let dir = std::env::temp_dir().join(format!("nvr-samples-huge-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("x.mp4");
        let p = gst::parse::launch(&format!(
            "videotestsrc num-buffers=10 ! x264enc ! h264parse ! mp4mux ! filesink location={}",
            path.display()
        ))
        .unwrap();
        p.set_state(gst::State::Playing).unwrap();
        p.bus()
            .unwrap()
            .timed_pop_filtered(gst::ClockTime::from_seconds(30), &[gst::MessageType::Eos]);
        p.set_state(gst::State::Null).unwrap();
        assert_eq!(read(&path).unwrap().video.samples.len(), 10);
        let mut bytes = std::fs::read(&path).unwrap();
        let at = bytes.windows(4).position(|w| w == b"stsz").unwrap() + 4;
        bytes[at + 4..at + 8].copy_from_slice(&1u32.to_be_bytes());
        bytes[at + 8..at + 12].copy_from_slice(&0xFFFF_FFF0u32.to_be_bytes());
        std::fs::write(&path, &bytes).unwrap();
        let e = read(&path).unwrap_err();
        assert!(e.contains("4294967280 samples"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Garbage and truncated tables are errors, never panics or huge allocations.
    #[test]
    fn corrupt_files_are_errors() {
        gst::init().unwrap();
        let dir = std::env::temp_dir().join(format!("nvr-samples-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("x.mp4");
        let mut seed = 0x2545_F491u32;
        let mut rnd = move || {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            seed
        };
        // A plausible skeleton with random leaves, and pure noise.
        for round in 0..300 {
            let mut leaf = |n: usize| (0..n).map(|_| rnd() as u8).collect::<Vec<u8>>();
            let stbl = [
                boxed(b"stsd", &leaf(40)),
                boxed(b"stsz", &leaf(20)),
                boxed(b"stco", &leaf(16)),
                boxed(b"stsc", &leaf(20)),
                boxed(b"stts", &leaf(16)),
                boxed(b"ctts", &leaf(16)),
            ]
            .concat();
            let mdia = [
                boxed(b"mdhd", &leaf(24)),
                boxed(b"hdlr", &[0, 0, 0, 0, 0, 0, 0, 0, b'v', b'i', b'd', b'e']),
                boxed(b"minf", &boxed(b"stbl", &stbl)),
            ]
            .concat();
            let moov = [
                boxed(b"mvhd", &leaf(24)),
                boxed(b"trak", &boxed(b"mdia", &mdia)),
            ]
            .concat();
            let mut file = boxed(b"ftyp", b"isom");
            file.extend(boxed(b"moov", &moov));
            if round % 5 == 0 {
                file = leaf(200);
            }
            if round % 3 == 0 {
                let cut = file.len() * (round % 7) / 7;
                file.truncate(cut);
            }
            std::fs::write(&path, &file).unwrap();
            let _ = read(&path);
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
