//! The one journal format of nvr's own files (the catalog, the outage history, the motion
//! events): postcard records in COBS frames, each ending in a 0 byte, appended one per change.
//! A torn last frame (a power cut mid-write) fails to decode and is skipped; no frame depends
//! on another. Writes go through the store's [`Writer`] thread.

use super::writer::Writer;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::io;
use std::path::{Path, PathBuf};

/// One record as it goes on disk.
pub fn frame<R: Serialize>(record: &R) -> io::Result<Vec<u8>> {
    postcard::to_stdvec_cobs(record).map_err(io::Error::other)
}

/// Every record that decodes, in order; torn or foreign frames are skipped.
pub fn decode<R: DeserializeOwned>(bytes: &[u8]) -> Vec<R> {
    decode_with_old::<R, R>(bytes)
}

/// As [`decode`], also reading frames written in `O`, the record's layout before a field was
/// added at its end (postcard is not self-describing: such a frame is too short for `R`).
pub fn decode_with_old<R: DeserializeOwned, O: DeserializeOwned + Into<R>>(bytes: &[u8]) -> Vec<R> {
    bytes
        .split(|&b| b == 0)
        .filter(|f| !f.is_empty())
        .filter_map(|f| parse::<R>(f).or_else(|| parse::<O>(f).map(Into::into)))
        .collect()
}

/// One frame (without its 0 byte) as a `T`, if it is one.
fn parse<T: DeserializeOwned>(frame: &[u8]) -> Option<T> {
    let mut buf = Vec::with_capacity(frame.len() + 1);
    buf.extend_from_slice(frame);
    buf.push(0);
    postcard::from_bytes_cobs::<T>(&mut buf).ok()
}

/// The records of the journal at `path` (none if it does not exist).
pub fn read<R: DeserializeOwned>(path: &Path) -> io::Result<Vec<R>> {
    read_with_old::<R, R>(path)
}

/// As [`read`], for a journal that may hold records in an older layout `O`.
pub fn read_with_old<R: DeserializeOwned, O: DeserializeOwned + Into<R>>(
    path: &Path,
) -> io::Result<Vec<R>> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(decode_with_old::<R, O>(&bytes)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

/// An append-only journal file; read-only without a writer (a reader beside the recorder).
pub struct Journal {
    path: PathBuf,
    writer: Option<Writer>,
    /// Bytes in the file: what was there at open plus what was queued since.
    len: u64,
}

impl Journal {
    pub fn new(path: PathBuf, writer: Option<Writer>) -> Journal {
        let len = std::fs::metadata(&path).map_or(0, |m| m.len());
        Journal { path, writer, len }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn writer(&self) -> Option<&Writer> {
        self.writer.as_ref()
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn writer_or_err(&self) -> io::Result<&Writer> {
        self.writer
            .as_ref()
            .ok_or_else(|| io::Error::other(format!("{} opened read-only", self.path.display())))
    }

    /// Queues one record; returns at once.
    pub fn append<R: Serialize>(&mut self, record: &R) -> io::Result<()> {
        let writer = self.writer_or_err()?;
        let bytes = frame(record)?;
        let n = bytes.len() as u64;
        writer.append(&self.path, bytes);
        self.len += n;
        Ok(())
    }

    /// Queues replacing the whole journal with `records` (atomically: the old or the new).
    pub fn rewrite<'a, R: Serialize + 'a>(
        &mut self,
        records: impl IntoIterator<Item = &'a R>,
    ) -> io::Result<()> {
        let writer = self.writer_or_err()?;
        let mut bytes = Vec::new();
        for r in records {
            bytes.extend(frame(r)?);
        }
        let n = bytes.len() as u64;
        writer.replace(&self.path, bytes);
        self.len = n;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_torn_or_foreign_frame_is_skipped_and_the_rest_kept() {
        let mut bytes = Vec::new();
        for r in [1u32, 2, 3] {
            bytes.extend(frame(&(r, "x")).unwrap());
        }
        bytes.extend([9, 9]); // torn: no terminating 0
        let mut with_garbage = bytes.clone();
        with_garbage.splice(0..0, [0xff, 0xff, 0]);
        let want = vec![(1u32, "x".to_string()), (2, "x".into()), (3, "x".into())];
        assert_eq!(decode::<(u32, String)>(&bytes), want);
        assert_eq!(decode::<(u32, String)>(&with_garbage), want);
        assert!(decode::<(u32, String)>(&[]).is_empty());
    }
}
