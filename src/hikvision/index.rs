//! Hikvision `index00.bin`: the video index a camera writes beside its `hivNNNNN.mp4`
//! containers in each `datadirN/` (see `docs/hikvision.md` for the layout and its sources).
//!
//! Parsed from a byte slice with explicit little-endian reads; every size is checked before
//! anything is allocated, so a truncated or hostile file gives an error, never a panic, and
//! memory stays bounded by the input. Which records are real follows the camera's actual
//! behaviour, not the existing tools': a reused container keeps the previous cycle's records
//! after the current ones (stale), the file being written has a stale file record (its live
//! state is in the header's current-file slot), and the newest segment may still be open.

use std::fmt;

pub const HEADER_LEN: usize = 1280;
const FILE_REC_LEN: usize = 32;
const SEG_REC_LEN: usize = 80;
/// Segment records reserved per container in the video index.
pub const SEGS_PER_FILE: usize = 256;
/// More containers than any datadir has (a NAS share of tens of TB); beyond it the header lies.
const MAX_FILES: u32 = 10_000;
/// Times before this are not recordings (cameras with an unset clock start in 1970 or 2000).
pub const EARLIEST: u32 = 1_420_070_400; // 2015-01-01

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IndexError {
    TooShort {
        need: u64,
        have: u64,
    },
    /// Another index format, recognised and not supported (or not yet).
    Unsupported(&'static str),
    BadHeader(String),
}

impl fmt::Display for IndexError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IndexError::TooShort { need, have } => {
                write!(f, "truncated index: needs {need} bytes, has {have}")
            }
            IndexError::Unsupported(what) => write!(f, "unsupported index format: {what}"),
            IndexError::BadHeader(why) => write!(f, "not a Hikvision index: {why}"),
        }
    }
}

impl std::error::Error for IndexError {}

/// A struct timeval as the camera stores it: its local wall-clock time encoded as if UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CamTime {
    pub sec: u32,
    pub usec: u32,
}

impl CamTime {
    /// The camera's wall clock, e.g. `2025-04-28 16:06:18` (no zone: it is the camera's).
    pub fn wall_clock(&self) -> String {
        let t = crate::time::LocalTime::utc(i64::from(self.sec));
        format!("{} {:02}:{:02}:{:02}", t.date(), t.hour, t.minute, t.second)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub modify_times: u64,
    pub version: u32,
    pub av_files: u32,
    pub next_file: u32,
    pub last_file: u32,
    /// The file being written and the index of its segment being written, if the slot is set.
    pub current: Option<(u16, u16)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileRecord {
    pub file_no: u32,
    pub chan: u16,
    /// Index of the last segment of the current cycle (a count minus one).
    pub last_seg: u16,
    pub start_sec: u32,
    pub end_sec: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentRecord {
    pub kind: u8,
    pub start: CamTime,
    /// `None` while the camera is still writing it.
    pub end: Option<CamTime>,
    pub start_offset: u32,
    pub end_offset: u32,
}

/// Why a non-empty record is not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// Left over from the container's previous write cycle.
    Stale,
    /// Still being written by the camera.
    Open,
    /// Fails a sanity rule (time or offset order, epoch, size).
    Implausible,
}

/// A segment worth exporting: a byte range of `hiv{file:05}.mp4`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    pub file: u32,
    pub seg: u16,
    pub start: CamTime,
    pub end: CamTime,
    pub start_offset: u32,
    pub end_offset: u32,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Counts {
    pub files_used: usize,
    pub closed_records: usize,
    pub open: usize,
    pub stale: usize,
    pub implausible: usize,
}

#[derive(Debug, Clone)]
pub struct Index {
    pub header: Header,
    pub files: Vec<FileRecord>,
    pub segments: Vec<Segment>,
    pub counts: Counts,
    /// Current-cycle records refused as implausible, and why (the first [`MAX_REJECTED`];
    /// `counts.implausible` has them all).
    pub rejected: Vec<Rejected>,
}

/// A current-cycle record that fails a sanity rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rejected {
    pub file: u32,
    pub seg: u16,
    pub why: &'static str,
}

pub const MAX_REJECTED: usize = 64;

fn short(b: &[u8], o: usize, n: usize) -> IndexError {
    IndexError::TooShort {
        need: (o + n) as u64,
        have: b.len() as u64,
    }
}
fn u16_at(b: &[u8], o: usize) -> Result<u16, IndexError> {
    crate::bytes::le16(b, o).ok_or_else(|| short(b, o, 2))
}
fn u32_at(b: &[u8], o: usize) -> Result<u32, IndexError> {
    crate::bytes::le32(b, o).ok_or_else(|| short(b, o, 4))
}
fn u64_at(b: &[u8], o: usize) -> Result<u64, IndexError> {
    crate::bytes::le64(b, o).ok_or_else(|| short(b, o, 8))
}

/// Recognises index formats nvr does not read, from the first bytes.
fn sniff(data: &[u8]) -> Result<(), IndexError> {
    if data.starts_with(b"SQLite format 3\0") {
        return Err(IndexError::Unsupported(
            "SQLite index (newer firmware: record_db_index00)",
        ));
    }
    if data[..data.len().min(64)]
        .windows(8)
        .any(|w| w == b"HIKBTREE")
    {
        return Err(IndexError::Unsupported(
            "HIKBTREE (a DVR/NVR disk, not a camera share)",
        ));
    }
    Ok(())
}

pub fn parse_header(data: &[u8]) -> Result<Header, IndexError> {
    sniff(data)?;
    if data.len() < HEADER_LEN {
        return Err(IndexError::TooShort {
            need: HEADER_LEN as u64,
            have: data.len() as u64,
        });
    }
    let version = u32_at(data, 8)?;
    let av_files = u32_at(data, 12)?;
    if !(1..=10).contains(&version) {
        return Err(IndexError::BadHeader(format!("version {version}")));
    }
    if av_files > MAX_FILES {
        return Err(IndexError::BadHeader(format!("{av_files} container files")));
    }
    // The current-file slots: 49 × 24 bytes at 24; slot 0 is unused on cameras, the first
    // set one (file number != 0xFFFF) is the camera's channel.
    let mut current = None;
    for i in 0..49 {
        let o = 24 + i * 24;
        let file = u16_at(data, o)?;
        if file != 0xFFFF && u32_at(data, o + 4)? != 0 {
            current = Some((file, u16_at(data, o + 2)?));
            break;
        }
    }
    Ok(Header {
        modify_times: u64_at(data, 0)?,
        version,
        av_files,
        next_file: u32_at(data, 16)?,
        last_file: u32_at(data, 20)?,
        current,
    })
}

/// Parses a video index. `container_len(file)` gives the size of `hiv{file:05}.mp4` when it is
/// known, so segments pointing past its end are refused.
pub fn parse(data: &[u8], container_len: impl Fn(u32) -> Option<u64>) -> Result<Index, IndexError> {
    let header = parse_header(data)?;
    let n = header.av_files as u64;
    let need =
        HEADER_LEN as u64 + n * FILE_REC_LEN as u64 + n * (SEGS_PER_FILE * SEG_REC_LEN) as u64;
    if (data.len() as u64) < need {
        return Err(IndexError::TooShort {
            need,
            have: data.len() as u64,
        });
    }
    let seg_base = HEADER_LEN + header.av_files as usize * FILE_REC_LEN;
    let mut files = Vec::with_capacity(header.av_files as usize);
    let mut segments = Vec::new();
    let mut counts = Counts::default();
    let mut rejected = Vec::new();
    for f in 0..header.av_files as usize {
        let o = HEADER_LEN + f * FILE_REC_LEN;
        let rec = FileRecord {
            file_no: u32_at(data, o)?,
            chan: u16_at(data, o + 4)?,
            last_seg: u16_at(data, o + 6)?,
            start_sec: u32_at(data, o + 8)?,
            end_sec: u32_at(data, o + 12)?,
        };
        files.push(rec);
        let records = (0..SEGS_PER_FILE)
            .map(|s| segment_record(data, seg_base + (f * SEGS_PER_FILE + s) * SEG_REC_LEN))
            .collect::<Result<Vec<SegmentRecord>, IndexError>>()?;
        counts.closed_records += records
            .iter()
            .filter(|r| r.kind != 0 && r.end.is_some())
            .count();
        if rec.chan == 0xFFFF {
            continue; // never written
        }
        counts.files_used += 1;
        // The file being written has last cycle's file record: its live state is the slot.
        let (last, current) = match header.current {
            Some((file, seg)) if u32::from(file) == f as u32 => (seg as usize, true),
            _ => (rec.last_seg as usize, false),
        };
        let mut prev: Option<SegmentRecord> = None;
        for (s, r) in records.iter().enumerate() {
            if r.kind == 0 && r.start.sec == 0 {
                continue;
            }
            let skip = if s > last {
                Some(Skip::Stale)
            } else if r.end.is_none() {
                Some(Skip::Open)
            } else {
                let why = plausibility(r, prev.as_ref(), &rec, current, container_len(f as u32));
                if let Some(why) = why
                    && rejected.len() < MAX_REJECTED
                {
                    rejected.push(Rejected {
                        file: f as u32,
                        seg: s as u16,
                        why,
                    });
                }
                why.map(|_| Skip::Implausible)
            };
            match skip {
                Some(Skip::Stale) => counts.stale += 1,
                Some(Skip::Open) => counts.open += 1,
                Some(Skip::Implausible) => counts.implausible += 1,
                None => {
                    segments.push(Segment {
                        file: f as u32,
                        seg: s as u16,
                        start: r.start,
                        end: r.end.expect("closed"),
                        start_offset: r.start_offset,
                        end_offset: r.end_offset,
                    });
                    prev = Some(*r);
                }
            }
        }
    }
    Ok(Index {
        header,
        files,
        segments,
        counts,
        rejected,
    })
}

fn segment_record(data: &[u8], o: usize) -> Result<SegmentRecord, IndexError> {
    let end_sec = u32_at(data, o + 16)?;
    let end_usec = u32_at(data, o + 20)?;
    Ok(SegmentRecord {
        kind: *data.get(o).ok_or_else(|| short(data, o, 1))?,
        start: CamTime {
            sec: u32_at(data, o + 8)?,
            usec: u32_at(data, o + 12)?,
        },
        end: (end_sec != 0).then_some(CamTime {
            sec: end_sec,
            usec: end_usec,
        }),
        start_offset: u32_at(data, o + 40)?,
        end_offset: u32_at(data, o + 44)?,
    })
}

fn plausibility(
    r: &SegmentRecord,
    prev: Option<&SegmentRecord>,
    file: &FileRecord,
    current: bool,
    container_len: Option<u64>,
) -> Option<&'static str> {
    let end = r.end?;
    let why = if r.start.sec < EARLIEST {
        "start time before 2015 (camera clock not set?)"
    } else if r.start > end {
        "ends before it starts"
    } else if r.start_offset >= r.end_offset {
        "empty or negative byte range"
    } else if container_len.is_some_and(|len| u64::from(r.end_offset) > len) {
        "byte range past the end of the container"
    } else if prev.is_some_and(|p| r.start_offset < p.end_offset) {
        "overlaps the previous segment"
    } else if prev.is_some_and(|p| p.end.is_some_and(|pe| r.start.sec + 1 < pe.sec)) {
        "starts before the previous segment ends"
    } else if !current && (r.start.sec + 1 < file.start_sec || end.sec > file.end_sec + 1) {
        // A closed file's record brackets its segments; the current file's record is stale.
        "outside its container's time span"
    } else {
        return None;
    };
    Some(why)
}

#[cfg(test)]
mod tests;
