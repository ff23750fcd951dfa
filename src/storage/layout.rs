//! Where everything lives under the storage folder: the one module that spells a path in it.
//!
//! ```text
//! {storage}/{camera}/{YYYY-MM-DD}/{HH-MM-SS±hhmm}[-n].mp4     a segment (named by its first frame)
//! {storage}/{camera}/{YYYY-MM-DD}/{…}.jpg, {…}.thumb.jpg      its preview and thumbnail
//! {storage}/.nvr/catalog.bin, catalog.journal                 the catalog (snapshot + journal)
//! {storage}/.nvr/events.journal                               closed motion events
//! {storage}/.nvr/history.journal                              outages of earlier runs
//! {storage}/.nvr/snapshots/{camera}/{event}.jpg               an event's peak frame
//! ```
//!
//! Imported (Hikvision) footage lives in the import's own output folder (`hikvision::sync`).

use crate::time::LocalTime;
use std::path::{Path, PathBuf};

/// nvr's own files (everything but the recordings).
pub fn store_dir(root: &Path) -> PathBuf {
    root.join(".nvr")
}

pub fn catalog_snapshot(root: &Path) -> PathBuf {
    store_dir(root).join("catalog.bin")
}

pub fn catalog_journal(root: &Path) -> PathBuf {
    store_dir(root).join("catalog.journal")
}

pub fn events_journal(root: &Path) -> PathBuf {
    store_dir(root).join("events.journal")
}

pub fn history_journal(root: &Path) -> PathBuf {
    store_dir(root).join("history.journal")
}

/// Where a camera's event snapshot lives.
pub fn snapshot(root: &Path, camera: &str, event: u64) -> PathBuf {
    store_dir(root)
        .join("snapshots")
        .join(camera)
        .join(format!("{event}.jpg"))
}

/// The preview files of a segment: (full size, thumbnail).
pub fn previews(segment: &Path) -> (PathBuf, PathBuf) {
    (
        segment.with_extension("jpg"),
        segment.with_extension("thumb.jpg"),
    )
}

/// The path for a new segment of `camera` whose first frame was captured at `unix_ns`.
/// Creates the day folder. Never returns an existing file: a second segment starting in the
/// same second gets `-1`, `-2`, … appended.
pub fn new_segment(root: &Path, camera: &str, unix_ns: u64) -> std::io::Result<PathBuf> {
    let t = LocalTime::from_unix((unix_ns / 1_000_000_000) as i64);
    let dir = root.join(camera).join(t.date());
    std::fs::create_dir_all(&dir)?;
    let stem = t.file_stem();
    let mut path = dir.join(format!("{stem}.mp4"));
    let mut n = 1;
    while path.exists() {
        path = dir.join(format!("{stem}-{n}.mp4"));
        n += 1;
    }
    Ok(path)
}
