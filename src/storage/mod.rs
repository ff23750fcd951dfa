//! Storage: where segments live on disk, and what startup does after an unclean stop.
//!
//! Layout (see docs/design.md for the invariants):
//! `{storage}/{camera}/{YYYY-MM-DD}/{HH-MM-SS±hhmm}.mp4`, named from the wall-clock time of
//! the segment's first frame in the system's local time zone, with the UTC offset in the name
//! so the repeated hour when clocks go back stays unambiguous.

pub mod mp4;
pub mod recovery;

use crate::time::LocalTime;
use std::path::{Path, PathBuf};

/// The path for a new segment of `camera` whose first frame was captured at `unix_ns`.
/// Creates the day folder. Never returns an existing file: a second segment starting in the
/// same second gets `-1`, `-2`, … appended.
pub fn new_segment_path(root: &Path, camera: &str, unix_ns: u64) -> std::io::Result<PathBuf> {
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

/// Total size of all `.mp4` files below `root` (recordings), walking the tree once.
pub fn bytes_used(root: &Path) -> u64 {
    fn walk(dir: &Path, total: &mut u64) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let Ok(ft) = e.file_type() else { continue };
            if ft.is_dir() {
                walk(&e.path(), total);
            } else if ft.is_file() && e.path().extension().is_some_and(|x| x == "mp4") {
                *total += e.metadata().map(|m| m.len()).unwrap_or(0);
            }
        }
    }
    let mut total = 0;
    walk(root, &mut total);
    total
}

/// Free bytes available to this user on the filesystem holding `path`.
pub fn free_bytes(path: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    // SAFETY: statvfs fills `s`, which we own; `c` is NUL-terminated.
    let mut s: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(c.as_ptr(), &mut s) } != 0 {
        return None;
    }
    Some(s.f_bavail as u64 * s.f_frsize as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_second_gets_a_suffix_not_an_overwrite() {
        let root = std::env::temp_dir().join(format!("nvr-layout-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let ns = 1_774_747_800_000_000_000;
        let a = new_segment_path(&root, "cam", ns).unwrap();
        std::fs::write(&a, b"x").unwrap();
        let b = new_segment_path(&root, "cam", ns + 500_000_000).unwrap();
        assert_ne!(a, b);
        assert!(b.to_string_lossy().ends_with("-1.mp4"), "{}", b.display());
        assert_eq!(a.parent(), b.parent());
        assert_eq!(bytes_used(&root), 1);
        std::fs::remove_dir_all(&root).unwrap();
    }
}
