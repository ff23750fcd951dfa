//! `index00p.bin`: the picture (snapshot) index beside `hivNNNNN.pic` containers of raw JPEGs.
//!
//! Sources disagree on its layout (`docs/hikvision.md`), so both known variants are read and
//! the one that yields more plausible records wins:
//! - **strided**: the video index's header and file table, then 4096 records of 80 bytes per
//!   container (times at 8/16, offsets at 40/44, as in video records);
//! - **packed** (EZVIZ SD cards): 96-byte records back to back after the file table; the
//!   container is not implied by position, so it advances whenever the offset goes backwards.
//!
//! Within a container a record whose time or offset goes backwards starts last cycle's
//! leftovers (stale), so reading stops there. Every picture is checked for JPEG SOI/EOI when
//! it is sliced out ([`slice_jpeg`]); nothing is decoded or re-encoded.

use super::index::{self, CamTime, IndexError};

const STRIDED_PER_FILE: usize = 4096;
const REC: usize = 80;
const PACKED_REC: usize = 96;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    Strided,
    Packed,
}

/// One picture: a byte range of `hiv{file:05}.pic`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Picture {
    pub file: u32,
    /// Record number within the container (strided) or the whole table (packed).
    pub record: u32,
    pub time: CamTime,
    pub start_offset: u32,
    pub end_offset: u32,
}

#[derive(Debug, Clone)]
pub struct PictureIndex {
    pub variant: Variant,
    pub pictures: Vec<Picture>,
    /// Non-empty records not taken (stale or implausible).
    pub skipped: usize,
}

struct Raw {
    time: CamTime,
    start_offset: u32,
    end_offset: u32,
}

fn raw(b: &[u8]) -> Option<Raw> {
    let u32_at = |o: usize| crate::bytes::le32(b, o);
    if *b.first()? == 0 && u32_at(8)? == 0 {
        return None; // empty slot
    }
    Some(Raw {
        time: CamTime {
            sec: u32_at(8)?,
            usec: u32_at(12)?,
        },
        start_offset: u32_at(40)?,
        end_offset: u32_at(44)?,
    })
}

fn plausible(r: &Raw, len: Option<u64>) -> bool {
    r.time.sec >= index::EARLIEST
        && r.start_offset < r.end_offset
        && r.end_offset - r.start_offset <= 16 << 20
        && len.is_none_or(|l| u64::from(r.end_offset) <= l)
}

/// Parses a picture index. `container_len(file)` gives the size of `hiv{file:05}.pic`.
pub fn parse(
    data: &[u8],
    container_len: impl Fn(u32) -> Option<u64>,
) -> Result<PictureIndex, IndexError> {
    let header = index::parse_header(data)?;
    let n = header.av_files as usize;
    let table = index::HEADER_LEN + n * 32;
    if data.len() < table {
        return Err(IndexError::TooShort {
            need: table as u64,
            have: data.len() as u64,
        });
    }
    let used: Vec<bool> = (0..n)
        .map(|f| {
            let o = index::HEADER_LEN + f * 32 + 4;
            crate::bytes::le16(data, o).is_some_and(|v| v != 0xFFFF)
        })
        .collect();
    let strided = strided(data, table, &used, &container_len);
    let packed = packed(data, table, &used, &container_len);
    Ok(match (strided, packed) {
        (Some(s), Some(p)) if p.pictures.len() > s.pictures.len() => p,
        (Some(s), _) => s,
        (None, Some(p)) => p,
        (None, None) => PictureIndex {
            variant: Variant::Strided,
            pictures: Vec::new(),
            skipped: 0,
        },
    })
}

fn strided(
    data: &[u8],
    table: usize,
    used: &[bool],
    len: &impl Fn(u32) -> Option<u64>,
) -> Option<PictureIndex> {
    let need = table + used.len() * STRIDED_PER_FILE * REC;
    if data.len() < need {
        return None;
    }
    let mut out = PictureIndex {
        variant: Variant::Strided,
        pictures: Vec::new(),
        skipped: 0,
    };
    for (f, &in_use) in used.iter().enumerate() {
        if !in_use {
            continue;
        }
        let file_len = len(f as u32);
        let mut prev: Option<(CamTime, u32)> = None;
        let mut stale = false;
        for i in 0..STRIDED_PER_FILE {
            let o = table + (f * STRIDED_PER_FILE + i) * REC;
            let Some(r) = raw(&data[o..o + REC]) else {
                continue;
            };
            stale |= prev.is_some_and(|(t, end)| r.time < t || r.start_offset < end);
            if stale || !plausible(&r, file_len) {
                out.skipped += 1;
                continue;
            }
            prev = Some((r.time, r.end_offset));
            out.pictures.push(Picture {
                file: f as u32,
                record: i as u32,
                time: r.time,
                start_offset: r.start_offset,
                end_offset: r.end_offset,
            });
        }
    }
    Some(out)
}

fn packed(
    data: &[u8],
    table: usize,
    used: &[bool],
    len: &impl Fn(u32) -> Option<u64>,
) -> Option<PictureIndex> {
    let mut out = PictureIndex {
        variant: Variant::Packed,
        pictures: Vec::new(),
        skipped: 0,
    };
    let mut files = used.iter().enumerate().filter(|(_, u)| **u).map(|(f, _)| f);
    let mut file = files.next()?;
    let mut prev_end = 0u32;
    for (i, rec) in data[table..].chunks_exact(PACKED_REC).enumerate() {
        let Some(r) = raw(rec) else {
            break; // the packed table ends at the first empty record
        };
        if r.start_offset < prev_end {
            match files.next() {
                Some(f) => file = f,
                None => break,
            }
        }
        prev_end = r.end_offset;
        if !plausible(&r, len(file as u32)) {
            out.skipped += 1;
            continue;
        }
        out.pictures.push(Picture {
            file: file as u32,
            record: i as u32,
            time: r.time,
            start_offset: r.start_offset,
            end_offset: r.end_offset,
        });
    }
    Some(out)
}

/// The JPEG inside a picture's byte range: from the first SOI (`FF D8 FF`) to the last EOI
/// (`FF D9`), or `None` when either is missing.
pub fn slice_jpeg(bytes: &[u8]) -> Option<&[u8]> {
    let start = bytes.windows(3).position(|w| w == [0xFF, 0xD8, 0xFF])?;
    let end = bytes.windows(2).rposition(|w| w == [0xFF, 0xD9])? + 2;
    (end > start + 3).then(|| &bytes[start..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jpeg_is_trimmed_to_soi_eoi() {
        let b = [0, 0, 0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 0xFF, 0xD9, 0, 0];
        assert_eq!(slice_jpeg(&b), Some(&b[2..10]));
        assert_eq!(slice_jpeg(&[0xFF, 0xD8, 0xFF, 0xE0, 1]), None);
        assert_eq!(slice_jpeg(&[0; 16]), None);
        assert_eq!(slice_jpeg(&[]), None);
    }

    #[test]
    fn garbage_never_panics() {
        let mut seed = 0x1234_5678u32;
        for n in [0usize, 1279, 1280, 1400, 5000] {
            let mut d: Vec<u8> = (0..n)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 17;
                    seed ^= seed << 5;
                    seed as u8
                })
                .collect();
            if n >= 16 {
                d[8..12].copy_from_slice(&2u32.to_le_bytes());
                d[12..16].copy_from_slice(&3u32.to_le_bytes());
            }
            let _ = parse(&d, |_| Some(1 << 20));
        }
    }
}
