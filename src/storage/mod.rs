//! Storage: where segments live on disk, and what startup does after an unclean stop.
//!
//! Layout (see docs/design.md for the invariants):
//! `{storage}/{camera}/{YYYY-MM-DD}/{HH-MM-SS±hhmm}.mp4`, named from the wall-clock time of
//! the segment's first frame in the system's local time zone, with the UTC offset in the name
//! so the repeated hour when clocks go back stays unambiguous.

pub mod catalog;
pub mod coverage;
pub mod events;
pub mod export;
pub mod history;
pub mod journal;
pub mod layout;
pub mod modes;
pub mod mp4;
pub mod previews;
pub mod recovery;
pub mod retention;
pub mod samples;
pub mod writer;

use crate::time::LocalTime;
use std::path::Path;

/// Storage figures for `/status`: bytes written today (flash wear) and what retention
/// deleted and why. Long-lived, behind a mutex in the runtime's shared state.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Counters {
    /// Local date the `*_today` figures are for.
    pub day: String,
    pub recordings_written_today: u64,
    pub catalog_written_today: u64,
    /// Log lines (they go to the journal, usually on the same card).
    pub logs_written_today: u64,
    pub deleted_segments: u64,
    pub deleted_bytes: u64,
    pub deleted_by_reason: std::collections::BTreeMap<&'static str, u64>,
    pub last_retention_pass: Option<String>,
    /// Times the disk fell below the free-space floor (or filled up).
    pub disk_full_episodes: u64,
    #[serde(skip)]
    catalog_written_seen: u64,
    #[serde(skip)]
    logs_written_seen: u64,
}

impl Counters {
    fn roll(&mut self) {
        let today =
            LocalTime::from_unix((crate::time::unix_now_ns() / 1_000_000_000) as i64).date();
        if today != self.day {
            self.day = today;
            self.recordings_written_today = 0;
            self.catalog_written_today = 0;
            self.logs_written_today = 0;
        }
    }

    pub fn recorded(&mut self, bytes: u64) {
        self.roll();
        self.recordings_written_today += bytes;
    }

    /// Takes the catalog's running total of bytes written.
    pub fn catalog_written(&mut self, total: u64) {
        self.roll();
        self.catalog_written_today += total.saturating_sub(self.catalog_written_seen);
        self.catalog_written_seen = total;
    }

    /// Takes the logger's running total of bytes emitted.
    pub fn logs_written(&mut self, total: u64) {
        self.roll();
        self.logs_written_today += total.saturating_sub(self.logs_written_seen);
        self.logs_written_seen = total;
    }

    pub fn deleted(&mut self, done: &[retention::Deletion]) {
        for d in done {
            self.deleted_segments += 1;
            self.deleted_bytes += d.segment.bytes;
            *self.deleted_by_reason.entry(d.reason.as_str()).or_default() += 1;
        }
    }
}

/// The camera wall-clock second spelled by an imported file's name (`YYYY-MM-DD_HH-MM-SS-…`,
/// as the Hikvision import writes them).
pub fn time_from_name(name: &str) -> Option<i64> {
    let b = name.as_bytes();
    if b.len() < 20 || b[10] != b'_' || b[19] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| name.get(r)?.parse::<i64>().ok();
    let days = crate::time::days_from_civil(num(0..4)?, num(5..7)?, num(8..10)?);
    Some(days * 86_400 + num(11..13)? * 3600 + num(14..16)? * 60 + num(17..19)?)
}

/// Free bytes available to this user on the file system holding `path`; `None` when the
/// file system cannot tell (see [`disk_space`]). Never a made-up 0: the free-space floor
/// deletes recordings on this number.
pub fn free_bytes(path: &Path) -> Option<u64> {
    disk_space(path).ok().map(|s| s.free)
}

/// What statvfs says of the file system holding a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Space {
    /// Available to this (unprivileged) user.
    pub free: u64,
    pub total: u64,
}

/// The file system's size and free space, or why the reading cannot be believed. Some FUSE,
/// NFS and SMB mounts answer statvfs with zeros (0 free of 0): that is "unknown", not
/// "full", and must never make retention delete recordings.
pub fn disk_space(path: &Path) -> Result<Space, String> {
    let s = rustix::fs::statvfs(path).map_err(|e| format!("statvfs: {e}"))?;
    plausible(s.f_blocks, s.f_bavail, s.f_frsize)
}

/// Judges a statvfs reading (blocks in all, blocks available, block size).
fn plausible(blocks: u64, avail: u64, frsize: u64) -> Result<Space, String> {
    if blocks == 0 || frsize == 0 {
        return Err("the file system reports a size of 0 (it does not tell its free space)".into());
    }
    if avail > blocks {
        return Err("the file system reports more free space than its size".into());
    }
    Ok(Space {
        free: avail.saturating_mul(frsize),
        total: blocks.saturating_mul(frsize),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_or_inconsistent_sizes_are_unknown_not_full() {
        assert!(plausible(0, 0, 4096).is_err());
        assert!(plausible(0, 0, 0).is_err());
        assert!(plausible(100, 0, 0).is_err());
        assert!(plausible(100, 200, 4096).is_err());
        assert_eq!(
            plausible(100, 0, 4096),
            Ok(Space {
                free: 0,
                total: 409_600
            })
        );
        let here = disk_space(Path::new("/")).unwrap();
        assert!(here.total > 0 && here.free <= here.total);
    }

    #[test]
    fn same_second_gets_a_suffix_not_an_overwrite() {
        let root = std::env::temp_dir().join(format!("nvr-layout-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(layout::store_dir(&root)).unwrap();
        let ns = 1_774_747_800_000_000_000;
        let a = layout::new_segment(&root, "cam", ns).unwrap();
        std::fs::write(&a, b"x").unwrap();
        let b = layout::new_segment(&root, "cam", ns + 500_000_000).unwrap();
        assert_ne!(a, b);
        assert!(b.to_string_lossy().ends_with("-1.mp4"), "{}", b.display());
        assert_eq!(a.parent(), b.parent());
        std::fs::remove_dir_all(&root).unwrap();
    }
}
