//! The one MP4 box reader: top-level box headers of a file (reading only the `moov`), and a
//! bounds-checked walk of the boxes inside it. Enough to tell whether a segment on disk is
//! playable and how long it is without a demuxer (a few KiB per file); `samples` reads the
//! sample tables with it for export.

use crate::bytes::{be32, be64};
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;
use std::time::Duration;

/// What the top level of an MP4 file says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mp4Summary {
    /// `moov/mvhd` duration; `None` if there is no index at all (unplayable).
    pub duration: Option<Duration>,
    /// The file has `moof` boxes (fragmented MP4).
    pub fragmented: bool,
}

/// Largest `moov` we are willing to read (robust-muxing files reserve space inside it).
const MAX_MOOV: u64 = 64 << 20;

pub fn summarize(path: &Path) -> io::Result<Mp4Summary> {
    let top = read_top(path)?;
    Ok(Mp4Summary {
        duration: top
            .moov
            .as_deref()
            .and_then(mvhd)
            .and_then(|(timescale, duration)| {
                (timescale != 0).then(|| {
                    Duration::from_nanos(
                        (duration as u128 * 1_000_000_000 / timescale as u128) as u64,
                    )
                })
            }),
        fragmented: top.fragmented,
    })
}

/// The top level of an MP4 file: its `moov` body (if any, and not larger than [`MAX_MOOV`])
/// and whether it has `moof` boxes. Box headers are read, nothing else but the `moov`.
pub struct TopLevel {
    pub moov: Option<Vec<u8>>,
    pub fragmented: bool,
}

pub fn read_top(path: &Path) -> io::Result<TopLevel> {
    let mut f = File::open(path)?;
    let len = f.metadata()?.len();
    let mut pos = 0u64;
    let mut top = TopLevel {
        moov: None,
        fragmented: false,
    };
    while pos + 8 <= len {
        f.seek(SeekFrom::Start(pos))?;
        let mut h = [0u8; 16];
        f.read_exact(&mut h[..8])?;
        let mut size = u64::from(be32(&h, 0).unwrap_or(0));
        let kind = [h[4], h[5], h[6], h[7]];
        let mut header = 8;
        if size == 1 {
            f.read_exact(&mut h[8..16])?;
            size = be64(&h, 8).unwrap_or(0);
            header = 16;
        } else if size == 0 {
            size = len - pos;
        }
        if size < header {
            break; // garbage: stop at what we understood
        }
        match &kind {
            b"moov" if size - header <= MAX_MOOV => {
                let mut body = vec![0u8; (size - header).min(len - pos - header) as usize];
                f.read_exact(&mut body)?;
                top.moov = Some(body);
            }
            b"moof" => top.fragmented = true,
            _ => {}
        }
        pos = pos.saturating_add(size);
    }
    Ok(top)
}

/// The boxes inside `b`, in order: (type, body). Stops at the first box that does not fit
/// (a file cut short): what came before it is still read.
pub fn children(b: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    let mut i = 0usize;
    std::iter::from_fn(move || {
        let size = be32(b, i)? as usize;
        let (header, size) = match size {
            1 => (16, usize::try_from(be64(b, i + 8)?).ok()?),
            0 => (8, b.len() - i),
            _ => (8, size),
        };
        if size < header || size > b.len() - i {
            return None;
        }
        let item = (&b[i + 4..i + 8], &b[i + header..i + size]);
        i += size;
        Some(item)
    })
}

/// The body of the first box of type `kind` inside `b`.
pub fn child<'a>(b: &'a [u8], kind: &[u8; 4]) -> Option<&'a [u8]> {
    children(b).find(|(k, _)| k == kind).map(|(_, body)| body)
}

/// `moov/mvhd`: (timescale, duration).
pub fn mvhd(moov: &[u8]) -> Option<(u32, u64)> {
    let b = child(moov, b"mvhd")?;
    if *b.first()? == 1 {
        Some((be32(b, 20)?, be64(b, 24)?))
    } else {
        Some((be32(b, 12)?, u64::from(be32(b, 16)?)))
    }
}

/// One box, for tests: size, type, body.
#[cfg(test)]
pub fn boxed(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut v = ((body.len() + 8) as u32).to_be_bytes().to_vec();
    v.extend_from_slice(kind);
    v.extend_from_slice(body);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_mvhd_v0_duration() {
        let mut mvhd = vec![0u8; 100];
        mvhd[12..16].copy_from_slice(&1000u32.to_be_bytes()); // timescale
        mvhd[16..20].copy_from_slice(&2500u32.to_be_bytes()); // duration
        let file = [
            boxed(b"ftyp", &[0; 8]),
            boxed(b"moov", &boxed(b"mvhd", &mvhd)),
            boxed(b"mdat", &[1, 2, 3]),
        ]
        .concat();
        let p = std::env::temp_dir().join(format!("nvr-mp4-{}.mp4", std::process::id()));
        std::fs::write(&p, &file).unwrap();
        let s = summarize(&p).unwrap();
        assert_eq!(s.duration, Some(Duration::from_millis(2500)));
        assert!(!s.fragmented);
        std::fs::write(&p, boxed(b"ftyp", &[0; 8])).unwrap();
        assert_eq!(summarize(&p).unwrap().duration, None);
        std::fs::remove_file(&p).unwrap();
    }
}
