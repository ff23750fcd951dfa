//! Startup recovery after an unclean stop (kill -9, power cut, OOM).
//!
//! Robust muxing keeps every segment playable at all times, so recovery has little to do:
//! only a file that was created but never got its first index write (the process died in
//! the first second of a segment) has no frames; it is removed. Only the newest few files
//! per camera can be in that state, so startup reads a few KiB per camera, not the archive.
//! A preview cut short by the stop leaves its `.jpg.tmp` beside the segment; it is removed
//! too (the preview is made again when first asked for), so no day folder keeps a stray file
//! that would stop retention from removing the folder.

use super::mp4;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// How many of a camera's most recently written files are checked.
const NEWEST_CHECKED: usize = 3;

#[derive(Debug, PartialEq, Eq)]
pub enum Finding {
    /// No index, or an index with no frames: removed.
    RemovedEmpty(PathBuf),
    /// A preview being written when nvr stopped: removed.
    RemovedUnfinished(PathBuf),
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
    let mut findings = Vec::new();
    // The newest two day folders cover a stop just after midnight.
    for day in days.iter().rev().take(2) {
        let Ok(files) = std::fs::read_dir(day) else {
            continue;
        };
        for f in files.flatten() {
            let p = f.path();
            if p.to_str().is_some_and(|s| s.ends_with(".jpg.tmp")) {
                findings.push(match std::fs::remove_file(&p) {
                    Ok(()) => Finding::RemovedUnfinished(p),
                    Err(e) => Finding::Unreadable(p, e.to_string()),
                });
                continue;
            }
            if p.extension().is_some_and(|x| x == "mp4")
                && let Ok(m) = f.metadata().and_then(|m| m.modified())
            {
                candidates.push((m, p));
            }
        }
    }
    candidates.sort();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unfinished_previews_are_removed_and_nothing_else() {
        let root = std::env::temp_dir().join(format!("nvr-recovery-{}", std::process::id()));
        let day = root.join("cam").join("2026-11-21");
        std::fs::create_dir_all(&day).unwrap();
        let keep = ["10-00-00+0000.jpg", "10-00-00+0000.thumb.jpg", "notes.tmp"];
        for name in keep.iter().chain(&["10-00-00+0000.jpg.tmp"]) {
            std::fs::write(day.join(name), b"x").unwrap();
        }
        let findings = recover_camera(&root, "cam");
        assert_eq!(
            findings,
            vec![Finding::RemovedUnfinished(
                day.join("10-00-00+0000.jpg.tmp")
            )]
        );
        for name in keep {
            assert!(day.join(name).exists(), "{name}");
        }
        std::fs::remove_dir_all(&root).unwrap();
    }
}
