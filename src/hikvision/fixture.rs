//! Writes format-faithful Hikvision camera folders from GStreamer-encoded video, for the tests
//! and the import benchmark (no real footage is ever needed or committed).
//!
//! Faithful means what `docs/hikvision.md` describes, byte for byte where it matters: MPEG-2
//! pack headers whose last four stuffing bytes are a running counter (not `0xFF`), a system
//! header listing E0/C0/BD/BF, a stream map with the `HK` descriptors and the camera's wall
//! clock, one PES per NAL with the first carrying the PTS, segments at 16 KiB-aligned offsets
//! with leftover bytes in the gaps, and an `index00.bin` with stale records after each file's
//! last current segment, an open segment in the file being written (whose file record is last
//! cycle's) and never-written files.

use super::index::CamTime;
use super::ps::VideoCodec;

use gst::prelude::*;

use std::fs::{self, File};
use std::io::{self, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// One encoded access unit, Annex-B.
#[derive(Debug, Clone)]
pub struct Au {
    pub data: Vec<u8>,
    pub key: bool,
    /// Presentation time minus decode time, in 90 kHz ticks: 0 without B-frames.
    pub pts_offset: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AudioKind {
    /// ADTS AAC, stream type 0x0F.
    Aac,
    /// G.711 A-law, Hikvision's private stream type 0x90.
    Alaw,
}

#[derive(Debug, Clone)]
pub struct AudioTrack {
    pub kind: AudioKind,
    pub frames: Vec<Vec<u8>>,
    /// Duration of one frame in 90 kHz ticks.
    pub frame_ticks: u64,
}

/// A short encoded clip that segments are built from (repeated as often as needed).
#[derive(Debug, Clone)]
pub struct Clip {
    pub codec: VideoCodec,
    pub width: u16,
    pub height: u16,
    pub fps: u32,
    pub aus: Vec<Au>,
    pub audio: Option<AudioTrack>,
}

/// What to encode: `frames` frames of a `videotestsrc` pattern (`ball` moves and compresses
/// well; `snow` gives camera-like bitrates), GOP `gop`, no B-frames, and optionally audio of
/// the same length. `frames` should be a multiple of `gop` so the clip repeats cleanly.
#[derive(Debug, Clone)]
pub struct ClipSpec {
    pub codec: VideoCodec,
    pub size: (u16, u16),
    pub fps: u32,
    pub frames: u32,
    pub gop: u32,
    pub kbps: u32,
    pub pattern: &'static str,
    pub audio: Option<AudioKind>,
    /// B-frames between references (0: none). Cameras with them write presentation times
    /// that go back and forth in the stream.
    pub bframes: u32,
}

impl ClipSpec {
    /// A small clip: 2 s of 320×240 at 25 fps, GOP 25.
    pub fn small(codec: VideoCodec, audio: Option<AudioKind>) -> ClipSpec {
        ClipSpec {
            codec,
            size: (320, 240),
            fps: 25,
            frames: 50,
            gop: 25,
            kbps: 500,
            pattern: "ball",
            audio,
            bframes: 0,
        }
    }
}

pub fn encode(spec: &ClipSpec) -> Result<Clip, String> {
    gst::init().map_err(|e| e.to_string())?;
    let ClipSpec {
        codec,
        size: (width, height),
        fps,
        frames,
        gop,
        kbps,
        pattern,
        audio,
        bframes,
    } = spec.clone();
    let enc = match (codec, bframes) {
        (VideoCodec::H264, 0) => format!(
            "x264enc speed-preset=ultrafast tune=zerolatency bframes=0 key-int-max={gop} bitrate={kbps} \
             ! video/x-h264,stream-format=byte-stream,alignment=au"
        ),
        (VideoCodec::H264, b) => format!(
            "x264enc speed-preset=ultrafast bframes={b} b-adapt=false key-int-max={gop} \
             bitrate={kbps} ! video/x-h264,stream-format=byte-stream,alignment=au,profile=high"
        ),
        (VideoCodec::H265, 0) => format!(
            "x265enc speed-preset=ultrafast tune=zerolatency key-int-max={gop} bitrate={kbps} \
             ! video/x-h265,stream-format=byte-stream,alignment=au"
        ),
        (VideoCodec::H265, b) => format!(
            "x265enc speed-preset=ultrafast key-int-max={gop} bitrate={kbps} \
             option-string=\"bframes={b}:b-adapt=0:open-gop=0\" \
             ! video/x-h265,stream-format=byte-stream,alignment=au"
        ),
    };
    let video = format!(
        "videotestsrc num-buffers={frames} pattern={pattern} \
         ! video/x-raw,format=I420,width={width},height={height},framerate={fps}/1 ! {enc}"
    );
    let aus = pull(&video)?
        .into_iter()
        .map(|b| Au {
            key: !b.flags().contains(gst::BufferFlags::DELTA_UNIT),
            data: b.map_readable().map(|m| m.to_vec()).unwrap_or_default(),
            pts_offset: match (b.pts(), b.dts()) {
                (Some(p), Some(d)) if p > d => (p - d).nseconds() * 9 / 100_000,
                _ => 0,
            },
        })
        .collect::<Vec<_>>();
    if aus.first().is_none_or(|a| !a.key) {
        return Err("encoder output does not start with a key frame".into());
    }
    let seconds = f64::from(frames) / f64::from(fps);
    let audio = match audio {
        None => None,
        Some(AudioKind::Aac) => {
            // 1024 samples per AAC frame at 16 kHz.
            let n = (seconds * 16_000.0 / 1024.0).ceil() as u32 + 1;
            let desc = format!(
                "audiotestsrc num-buffers={n} samplesperbuffer=1024 wave=sine \
                 ! audio/x-raw,rate=16000,channels=1 ! avenc_aac ! aacparse \
                 ! audio/mpeg,stream-format=adts"
            );
            Some(AudioTrack {
                kind: AudioKind::Aac,
                frames: bytes(pull(&desc)?),
                frame_ticks: 90_000 * 1024 / 16_000,
            })
        }
        Some(AudioKind::Alaw) => {
            // 160 bytes per 20 ms at 8 kHz, as the cameras send it.
            let n = (seconds * 50.0).ceil() as u32;
            let desc = format!(
                "audiotestsrc num-buffers={n} samplesperbuffer=160 wave=sine \
                 ! audio/x-raw,format=S16LE,rate=8000,channels=1 ! alawenc"
            );
            Some(AudioTrack {
                kind: AudioKind::Alaw,
                frames: bytes(pull(&desc)?),
                frame_ticks: 1800,
            })
        }
    };
    Ok(Clip {
        codec,
        width,
        height,
        fps,
        aus,
        audio,
    })
}

fn bytes(buffers: Vec<gst::Buffer>) -> Vec<Vec<u8>> {
    buffers
        .iter()
        .filter_map(|b| b.map_readable().ok().map(|m| m.to_vec()))
        .collect()
}

/// Runs `desc ! appsink` to the end and returns every buffer.
fn pull(desc: &str) -> Result<Vec<gst::Buffer>, String> {
    let pipeline = gst::parse::launch(&format!("{desc} ! appsink name=out sync=false"))
        .map_err(|e| format!("{desc}: {e}"))?
        .downcast::<gst::Pipeline>()
        .map_err(|_| "not a pipeline".to_string())?;
    let sink = pipeline
        .by_name("out")
        .and_then(|e| e.downcast::<gst_app::AppSink>().ok())
        .ok_or("no appsink")?;
    pipeline
        .set_state(gst::State::Playing)
        .map_err(|e| format!("{desc}: {e}"))?;
    let mut out = Vec::new();
    while let Ok(sample) = sink.pull_sample() {
        if let Some(b) = sample.buffer_owned() {
            out.push(b);
        }
    }
    let bus = pipeline.bus().expect("pipeline bus");
    let err = bus
        .pop_filtered(&[gst::MessageType::Error])
        .and_then(|m| match m.view() {
            gst::MessageView::Error(e) => Some(e.error().to_string()),
            _ => None,
        });
    let _ = pipeline.set_state(gst::State::Null);
    match err {
        Some(e) => Err(format!("{desc}: {e}")),
        None if out.is_empty() => Err(format!("{desc}: produced nothing")),
        None => Ok(out),
    }
}

// --- MPEG-2 program stream, Hikvision flavour ---

/// Packs clips into PS the way the cameras do. Long-lived per camera: the pack stuffing
/// counter runs on across segments.
#[derive(Debug, Default)]
pub struct Packer {
    counter: u32,
}

/// One packed segment and the PTS values the index records (÷ 2).
#[derive(Debug, Clone)]
pub struct Packed {
    pub bytes: Vec<u8>,
    pub first_pts: u64,
    pub last_pts: u64,
    pub frames: usize,
}

const PES_PAYLOAD_MAX: usize = 65_472;

impl Packer {
    /// `frames` video frames of `clip` (repeated from its start as needed) beginning at camera
    /// time `start` with PTS `pts0` (90 kHz).
    pub fn segment(&mut self, clip: &Clip, start: CamTime, pts0: u64, frames: usize) -> Packed {
        let tick = 90_000 / u64::from(clip.fps);
        let mut out = Vec::with_capacity(frames * clip.aus[0].data.len());
        let mut audio_next = 0usize;
        for i in 0..frames {
            let au = &clip.aus[i % clip.aus.len()];
            // Decode order; a reordered frame is shown later than it is decoded.
            let pts = pts0 + i as u64 * tick + au.pts_offset;
            self.pack_header(&mut out, pts);
            if au.key {
                system_header(&mut out);
                psm(
                    &mut out,
                    clip,
                    start,
                    (i as u64 * 1000) / u64::from(clip.fps),
                );
            }
            for (n, nal) in nals(&au.data).enumerate() {
                for (c, chunk) in nal.chunks(PES_PAYLOAD_MAX).enumerate() {
                    pes(&mut out, 0xE0, (n == 0 && c == 0).then_some(pts), chunk);
                }
            }
            if let Some(a) = &clip.audio {
                while audio_next as u64 * a.frame_ticks <= i as u64 * tick {
                    let apts = pts0 + audio_next as u64 * a.frame_ticks;
                    self.pack_header(&mut out, apts);
                    pes(
                        &mut out,
                        0xC0,
                        Some(apts),
                        &a.frames[audio_next % a.frames.len()],
                    );
                    audio_next += 1;
                }
            }
        }
        Packed {
            bytes: out,
            first_pts: pts0,
            last_pts: pts0 + (frames as u64 - 1) * tick,
            frames,
        }
    }

    fn pack_header(&mut self, out: &mut Vec<u8>, scr: u64) {
        out.extend_from_slice(&[0, 0, 1, 0xBA]);
        let scr = scr & ((1 << 33) - 1);
        let bits: u64 = (0b01 << 46)
            | ((scr >> 30) << 43)
            | (1 << 42)
            | (((scr >> 15) & 0x7FFF) << 27)
            | (1 << 26)
            | ((scr & 0x7FFF) << 11)
            | (1 << 10)
            | 1;
        out.extend_from_slice(&bits.to_be_bytes()[2..]);
        out.extend_from_slice(&[0x07, 0x44, 0x7F, 0xFE, 0xFF, 0xFF]);
        // The non-standard part: the last four of six stuffing bytes count up.
        self.counter = self.counter.wrapping_add(1);
        out.extend_from_slice(&self.counter.to_be_bytes());
    }
}

fn system_header(out: &mut Vec<u8>) {
    out.extend_from_slice(&[
        0, 0, 1, 0xBB, 0x00, 0x12, 0x83, 0xA2, 0x3F, 0x04, 0xE1, 0x7F, // fixed part
        0xE0, 0xE0, 0x80, 0xC0, 0xC0, 0x08, 0xBD, 0xE0, 0x80, 0xBF, 0xE0, 0x80, // 4 streams
    ]);
}

/// Program stream map with the `HK` descriptors (0x40: wall clock, 0x41), the video
/// descriptor 0x42 (size) and the audio entry, closed by the MPEG CRC-32.
fn psm(out: &mut Vec<u8>, clip: &Clip, start: CamTime, plus_ms: u64) {
    let mut info = vec![0x40, 14, b'H', b'K', 0x01, 0x00];
    info.extend_from_slice(&hk_time(start, plus_ms));
    info.extend_from_slice(&[0x00, 0xFF, 0xFF, 0xFF]);
    info.extend_from_slice(&[0x41, 18, b'H', b'K']);
    info.extend(0u8..16);
    let mut map = vec![
        match clip.codec {
            VideoCodec::H264 => 0x1B,
            VideoCodec::H265 => 0x24,
        },
        0xE0,
        0,
        16,
        0x42,
        14,
        0x07,
        0x10,
        0x10,
        0xEA,
    ];
    map.extend_from_slice(&clip.width.to_be_bytes());
    map.extend_from_slice(&clip.height.to_be_bytes());
    map.extend_from_slice(&[0x19, 0x10, 0x00, 0x00, 0x1C, 0x21]);
    if let Some(a) = &clip.audio {
        let kind = match a.kind {
            AudioKind::Aac => 0x0F,
            AudioKind::Alaw => 0x90,
        };
        map.extend_from_slice(&[kind, 0xC0, 0, 12, 0x43, 10, 0x01, 0x40, 0xFE, 0x00]);
        map.extend_from_slice(&[0x7D, 0x03, 0x03, 0xE8, 0x03, 0xFF]);
    }
    let mut body = vec![0xF2, 0xFF];
    body.extend_from_slice(&(info.len() as u16).to_be_bytes());
    body.extend_from_slice(&info);
    body.extend_from_slice(&(map.len() as u16).to_be_bytes());
    body.extend_from_slice(&map);
    let at = out.len();
    out.extend_from_slice(&[0, 0, 1, 0xBC]);
    out.extend_from_slice(&((body.len() + 4) as u16).to_be_bytes());
    out.extend_from_slice(&body);
    let crc = crc32_mpeg(&out[at..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// The 48-bit wall-clock field of the `HK` descriptor.
fn hk_time(t: CamTime, plus_ms: u64) -> [u8; 6] {
    let ms_total = u64::from(t.sec) * 1000 + u64::from(t.usec / 1000) + plus_ms;
    let lt = crate::time::LocalTime::utc((ms_total / 1000) as i64);
    let ms = ms_total % 1000;
    let v: u64 = ((lt.year as u64 - 2000) << 40)
        | (u64::from(lt.month) << 36)
        | (u64::from(lt.day) << 31)
        | (u64::from(lt.hour) << 26)
        | (u64::from(lt.minute) << 20)
        | (u64::from(lt.second) << 14)
        | (ms << 4)
        | 0xF;
    v.to_be_bytes()[2..].try_into().expect("6 bytes")
}

fn pes(out: &mut Vec<u8>, id: u8, pts: Option<u64>, payload: &[u8]) {
    let header: &[u8] = if pts.is_some() {
        &[0x8C, 0x80, 0x09]
    } else {
        &[0x8C, 0x00, 0x05, 0xFF, 0xFF, 0xFF, 0xFF, 0xFC]
    };
    let pts_len = if pts.is_some() { 9 } else { 0 };
    let len = header.len() + pts_len + payload.len();
    out.extend_from_slice(&[0, 0, 1, id]);
    out.extend_from_slice(&(len as u16).to_be_bytes());
    out.extend_from_slice(header);
    if let Some(p) = pts {
        let p = p & ((1 << 33) - 1);
        out.push(0x21 | (((p >> 30) as u8) << 1));
        out.extend_from_slice(&((((p >> 15) & 0x7FFF) << 1 | 1) as u16).to_be_bytes());
        out.extend_from_slice(&((((p & 0x7FFF) << 1) | 1) as u16).to_be_bytes());
        out.extend_from_slice(&[0xFF, 0xFF, 0xFF, 0xFC]);
    }
    out.extend_from_slice(payload);
}

/// The NAL units of an Annex-B access unit, each with its start code.
fn nals(au: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut starts: Vec<usize> = Vec::new();
    let mut i = 0;
    while i + 3 <= au.len() {
        if au[i..i + 3] == [0, 0, 1] {
            let s = if i > 0 && au[i - 1] == 0 { i - 1 } else { i };
            starts.push(s);
            i += 3;
        } else {
            i += 1;
        }
    }
    if starts.first() != Some(&0) {
        starts.insert(0, 0);
    }
    let ends: Vec<usize> = starts.iter().skip(1).copied().chain([au.len()]).collect();
    starts.into_iter().zip(ends).map(move |(s, e)| &au[s..e])
}

/// CRC-32/MPEG-2 (poly 0x04C11DB7, no reflection), as PSM and PAT/PMT use.
pub fn crc32_mpeg(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= u32::from(b) << 24;
        for _ in 0..8 {
            crc = if crc & 0x8000_0000 != 0 {
                (crc << 1) ^ 0x04C1_1DB7
            } else {
                crc << 1
            };
        }
    }
    crc
}

// --- Camera folder: info.bin, datadirs, containers, indexes ---

/// `info.bin` for a NAS share with `datadirs` data folders.
pub fn write_info(camera: &Path, datadirs: u32) -> io::Result<()> {
    let mut b = vec![0u8; 68];
    b[..20].copy_from_slice(b"DS-2CD2143G2-I012345");
    b[48..54].copy_from_slice(&[0x44, 0x19, 0xB6, 0x01, 0x02, 0x03]);
    b[56..60].copy_from_slice(&4096u32.to_le_bytes());
    b[60..64].copy_from_slice(&1_000_000u32.to_le_bytes());
    b[64..68].copy_from_slice(&datadirs.to_le_bytes());
    fs::create_dir_all(camera)?;
    fs::write(camera.join("info.bin"), b)
}

#[derive(Debug, Clone, Copy)]
struct Rec {
    start: CamTime,
    end: Option<CamTime>,
    start_offset: u32,
    end_offset: u32,
    first_pts: u64,
    last_pts: u64,
}

impl Rec {
    /// A closed record with no stream behind it (no PTS values).
    fn bare(start: CamTime, end: CamTime, (start_offset, end_offset): (u32, u32)) -> Rec {
        Rec {
            start,
            end: Some(end),
            start_offset,
            end_offset,
            first_pts: 0,
            last_pts: 0,
        }
    }
}

#[derive(Debug, Default)]
struct Container {
    used: bool,
    len: u64,
    current: Vec<Rec>,
    stale: Vec<Rec>,
    pictures: Vec<Rec>,
    pic_len: u64,
}

/// Where pictures are indexed: Hikvision's 80-byte records at a stride of 4096 per container,
/// or the EZVIZ SD-card variant of densely packed 96-byte records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PictureIndex {
    Strided80,
    Packed96,
}

/// One `datadirN/` being written. Segments are appended to their container as they are
/// pushed; the indexes are written by [`Datadir::finish`].
pub struct Datadir {
    dir: PathBuf,
    files: Vec<Container>,
    /// The container being written (`lastFileRecNo`), if any.
    writing: Option<u32>,
    align: u64,
    pub pictures: PictureIndex,
}

impl Datadir {
    pub fn create(dir: &Path, av_files: u32) -> io::Result<Datadir> {
        fs::create_dir_all(dir)?;
        for f in 0..av_files {
            // Pre-allocated containers exist even before they are used.
            File::create(dir.join(format!("hiv{f:05}.mp4")))?;
            File::create(dir.join(format!("hiv{f:05}.pic")))?;
        }
        Ok(Datadir {
            dir: dir.to_path_buf(),
            files: (0..av_files).map(|_| Container::default()).collect(),
            writing: None,
            align: 16 * 1024,
            pictures: PictureIndex::Strided80,
        })
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }

    fn append(&mut self, file: u32, bytes: &[u8], pic: bool) -> io::Result<(u32, u32)> {
        let c = &mut self.files[file as usize];
        let len = if pic { c.pic_len } else { c.len };
        let start = len.div_ceil(self.align) * self.align;
        let ext = if pic { "pic" } else { "mp4" };
        let mut f = fs::OpenOptions::new()
            .write(true)
            .open(self.dir.join(format!("hiv{file:05}.{ext}")))?;
        f.seek(SeekFrom::Start(len))?;
        // The alignment gap holds leftovers of older data, never zeros only.
        let gap = (start - len) as usize;
        f.write_all(&b"\x00\x00\x01\xE0old-data".repeat(gap / 12 + 1)[..gap])?;
        f.write_all(bytes)?;
        let end = start + bytes.len() as u64;
        if pic {
            c.pic_len = end;
        } else {
            c.len = end;
        }
        c.used = true;
        Ok((start as u32, end as u32))
    }

    /// A closed segment in `file`.
    pub fn push(&mut self, file: u32, p: &Packed, start: CamTime, end: CamTime) -> io::Result<()> {
        let (s, e) = self.append(file, &p.bytes, false)?;
        self.files[file as usize].current.push(Rec {
            start,
            end: Some(end),
            start_offset: s,
            end_offset: e,
            first_pts: p.first_pts,
            last_pts: p.last_pts,
        });
        Ok(())
    }

    /// The segment the camera is writing now, in the container it is writing now.
    pub fn push_open(&mut self, file: u32, p: &Packed, start: CamTime) -> io::Result<()> {
        let (s, _) = self.append(file, &p.bytes, false)?;
        self.files[file as usize].current.push(Rec {
            start,
            end: None,
            start_offset: s,
            end_offset: 0,
            first_pts: p.first_pts,
            last_pts: 0,
        });
        self.writing = Some(file);
        Ok(())
    }

    /// A current-cycle record pointing at bytes that are not there (a corrupt index).
    pub fn push_bogus(&mut self, file: u32, start: CamTime, end: CamTime, offsets: (u32, u32)) {
        let c = &mut self.files[file as usize];
        c.used = true;
        c.current.push(Rec::bare(start, end, offsets));
    }

    /// A record left from the container's previous cycle (older times, overlapping offsets).
    pub fn push_stale(&mut self, file: u32, start: CamTime, end: CamTime, offsets: (u32, u32)) {
        self.files[file as usize]
            .stale
            .push(Rec::bare(start, end, offsets));
    }

    pub fn push_picture(&mut self, file: u32, jpeg: &[u8], at: CamTime) -> io::Result<()> {
        let (s, e) = self.append(file, jpeg, true)?;
        self.files[file as usize]
            .pictures
            .push(Rec::bare(at, at, (s, e)));
        Ok(())
    }

    /// Writes `index00.bin`, `index00p.bin` and their `01` copies.
    pub fn finish(self) -> io::Result<()> {
        let n = self.files.len();
        let mut video = header(n as u32, self.writing, &self.files);
        let mut pics = video.clone();
        for (f, c) in self.files.iter().enumerate() {
            video.extend_from_slice(&file_record(f as u32, c, self.writing == Some(f as u32)));
            pics.extend_from_slice(&file_record(f as u32, c, false));
        }
        for c in &self.files {
            let mut block = vec![0u8; 256 * 80];
            for (i, r) in c.current.iter().chain(&c.stale).take(256).enumerate() {
                block[i * 80..(i + 1) * 80].copy_from_slice(&segment_record(r));
            }
            video.extend_from_slice(&block);
        }
        match self.pictures {
            PictureIndex::Strided80 => {
                for c in &self.files {
                    let mut block = vec![0u8; 4096 * 80];
                    for (i, r) in c.pictures.iter().take(4096).enumerate() {
                        block[i * 80..(i + 1) * 80].copy_from_slice(&segment_record(r));
                    }
                    pics.extend_from_slice(&block);
                }
            }
            PictureIndex::Packed96 => {
                for c in &self.files {
                    for r in &c.pictures {
                        let mut rec = [0u8; 96];
                        rec[..80].copy_from_slice(&segment_record(r));
                        rec[48..52].copy_from_slice(b"INFO");
                        rec[80..96].copy_from_slice(b"EZVIZ-C6N-000001");
                        pics.extend_from_slice(&rec);
                    }
                }
                pics.extend_from_slice(&[0u8; 96]);
            }
        }
        fs::write(self.dir.join("index00.bin"), &video)?;
        fs::write(self.dir.join("index01.bin"), &video)?;
        fs::write(self.dir.join("index00p.bin"), &pics)?;
        fs::write(self.dir.join("index01p.bin"), &pics)
    }
}

fn header(n: u32, writing: Option<u32>, files: &[Container]) -> Vec<u8> {
    let mut h = vec![0u8; 1280];
    h[0..8].copy_from_slice(&7357u64.to_le_bytes());
    h[8..12].copy_from_slice(&2u32.to_le_bytes());
    h[12..16].copy_from_slice(&n.to_le_bytes());
    let last = writing.unwrap_or(0);
    h[16..20].copy_from_slice(&((last + 1) % n.max(1)).to_le_bytes());
    h[20..24].copy_from_slice(&last.to_le_bytes());
    for slot in 0..49 {
        h[24 + slot * 24..26 + slot * 24].copy_from_slice(&0xFFFFu16.to_le_bytes());
    }
    if let Some(w) = writing {
        let c = &files[w as usize];
        let o = 24 + 24; // slot 1: the camera's channel
        h[o..o + 2].copy_from_slice(&(w as u16).to_le_bytes());
        h[o + 2..o + 4]
            .copy_from_slice(&((c.current.len() as u16).saturating_sub(1)).to_le_bytes());
        let first = c.current.first().map_or(0, |r| r.start.sec);
        let last_end = c
            .current
            .iter()
            .filter_map(|r| r.end)
            .next_back()
            .map_or(first, |e| e.sec);
        h[o + 4..o + 8].copy_from_slice(&first.to_le_bytes());
        h[o + 8..o + 12].copy_from_slice(&last_end.to_le_bytes());
    }
    h
}

fn file_record(f: u32, c: &Container, writing: bool) -> [u8; 32] {
    let mut r = [0u8; 32];
    r[0..4].copy_from_slice(&f.to_le_bytes());
    if !c.used && c.stale.is_empty() {
        r[4..6].copy_from_slice(&0xFFFFu16.to_le_bytes());
        return r;
    }
    r[4..6].copy_from_slice(&1u16.to_le_bytes());
    let (last, start, end) = if writing {
        // The camera has not updated the record of the file it is writing: it still
        // describes the previous cycle.
        let s = c.stale.first().map_or(0, |r| r.start.sec);
        let e = c.stale.last().and_then(|r| r.end).map_or(0, |e| e.sec);
        (c.stale.len().saturating_sub(1) as u16 + 40, s, e)
    } else {
        let s = c
            .current
            .first()
            .or(c.pictures.first())
            .map_or(0, |r| r.start.sec);
        let e = c
            .current
            .last()
            .or(c.pictures.last())
            .and_then(|r| r.end)
            .map_or(0, |e| e.sec);
        ((c.current.len().max(1) - 1) as u16, s, e)
    };
    r[6..8].copy_from_slice(&last.to_le_bytes());
    r[8..12].copy_from_slice(&start.to_le_bytes());
    r[12..16].copy_from_slice(&end.to_le_bytes());
    r[24] = 1;
    r
}

fn segment_record(r: &Rec) -> [u8; 80] {
    let mut b = [0u8; 80];
    b[0] = 13;
    b[2..4].copy_from_slice(&[0x85, 0x01]);
    b[4..8].copy_from_slice(&0x62u32.to_le_bytes());
    let end = r.end.unwrap_or(CamTime { sec: 0, usec: 0 });
    for (o, t) in [(8, r.start), (16, end), (24, r.start)] {
        b[o..o + 4].copy_from_slice(&t.sec.to_le_bytes());
        b[o + 4..o + 8].copy_from_slice(&t.usec.to_le_bytes());
    }
    b[32..36].copy_from_slice(&((r.first_pts / 2) as u32).to_le_bytes());
    b[36..40].copy_from_slice(&((r.last_pts / 2) as u32).to_le_bytes());
    b[40..44].copy_from_slice(&r.start_offset.to_le_bytes());
    b[44..48].copy_from_slice(&r.end_offset.to_le_bytes());
    b[48..52].copy_from_slice(&[5, 1, 1, 4]);
    b[56] = 1;
    b[64..68].copy_from_slice(&r.start.sec.to_le_bytes());
    b[68..72].copy_from_slice(&end.sec.to_le_bytes());
    b
}

/// A small real JPEG (a test pattern frame) for picture containers.
pub fn jpeg(width: u16, height: u16, pattern: u32) -> Result<Vec<u8>, String> {
    gst::init().map_err(|e| e.to_string())?;
    let desc = format!(
        "videotestsrc num-buffers=1 pattern={pattern} \
         ! video/x-raw,width={width},height={height} ! jpegenc"
    );
    Ok(bytes(pull(&desc)?).concat())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_matches_the_mpeg_check_value() {
        assert_eq!(crc32_mpeg(b"123456789"), 0x0376_E6E7);
    }

    #[test]
    fn hk_time_encodes_the_wall_clock() {
        // 2025-04-28 16:06:18.557, the layout decoded from a real camera's stream map.
        let t = CamTime {
            sec: 1_745_856_378,
            usec: 557_000,
        };
        assert_eq!(hk_time(t, 0), [0x19, 0x4E, 0x40, 0x64, 0xA2, 0xDF]);
    }

    #[test]
    fn nals_split_on_start_codes() {
        let au = [
            0, 0, 0, 1, 0x40, 1, 0, 0, 1, 0x42, 2, 3, 0, 0, 0, 1, 0x26, 9,
        ];
        let parts: Vec<&[u8]> = nals(&au).collect();
        assert_eq!(parts.len(), 3);
        assert_eq!(parts[1], &[0, 0, 1, 0x42, 2, 3]);
        assert_eq!(parts[2], &[0, 0, 0, 1, 0x26, 9]);
    }
}
