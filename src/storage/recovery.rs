//! Startup recovery after an unclean stop (kill -9, power cut, OOM).
//!
//! Robust muxing keeps every segment playable at all times, so recovery has little to do:
//! only a file that was created but never got its first index write (the process died in
//! the first second of a segment) has no frames; it is removed. Only the newest few files
//! per camera can be in that state, so startup reads a few KiB per camera, not the archive.

use super::mp4;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// How many of a camera's most recently written files are checked.
const NEWEST_CHECKED: usize = 3;

#[derive(Debug, PartialEq, Eq)]
pub enum Finding {
    /// No index, or an index with no frames: removed.
    RemovedEmpty(PathBuf),
    /// Could not be read or removed; left in place.
    Unreadable(PathBuf, String),
}

/// Checks the newest segments of `camera` below `root` and removes ones without frames.
pub fn recover_camera(root: &Path, camera: &str) -> Vec<Finding> {
    let mut candidates: Vec<(SystemTime, PathBuf)> = Vec::new();
    let cam_dir = root.join(camera);
    let Ok(days) = std::fs::read_dir(&cam_dir) else {
        return Vec::new();
    };
    let mut days: Vec<PathBuf> = days
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    days.sort();
    // The newest two day folders cover a stop just after midnight.
    for day in days.iter().rev().take(2) {
        let Ok(files) = std::fs::read_dir(day) else {
            continue;
        };
        for f in files.flatten() {
            let p = f.path();
            if p.extension().is_some_and(|x| x == "mp4")
                && let Ok(m) = f.metadata().and_then(|m| m.modified())
            {
                candidates.push((m, p));
            }
        }
    }
    candidates.sort();
    let mut findings = Vec::new();
    for (_, path) in candidates.into_iter().rev().take(NEWEST_CHECKED) {
        match mp4::summarize(&path) {
            Ok(s) if s.duration.is_some_and(|d| !d.is_zero()) => {}
            Ok(_) => match std::fs::remove_file(&path) {
                Ok(()) => findings.push(Finding::RemovedEmpty(path)),
                Err(e) => findings.push(Finding::Unreadable(path, e.to_string())),
            },
            Err(e) => findings.push(Finding::Unreadable(path, e.to_string())),
        }
    }
    findings
}
