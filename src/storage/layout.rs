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

/// Whether the storage is there: its `.nvr` folder, made at the first start, exists. When a
/// USB disk is unplugged (or not mounted yet), its mount point is an empty folder on the SD
/// card: nothing may be written there.
pub fn present(root: &Path) -> bool {
    store_dir(root).is_dir()
}

/// The error of a write to storage that is not [`present`].
pub fn missing(root: &Path) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::NotFound,
        format!(
            "storage folder {} is missing (disk unplugged or not mounted?); waiting for it",
            root.display()
        ),
    )
}

/// Whether recordings can be written under `root` now: its store folder is there
/// ([`present`]) and its file system takes writes. A file system that hit an error goes
/// read-only (ext4's `errors=remount-ro`, Raspberry Pi OS's default for its card); ext4 then
/// still calls itself read-write to `statvfs`, so with `probe` (after a write failed with
/// "read-only") an empty file is made and removed in the store folder to find out. The
/// error says what is wrong and what to do.
pub fn writable(root: &Path, probe: bool) -> std::io::Result<()> {
    if !present(root) {
        return Err(missing(root));
    }
    let flagged = rustix::fs::statvfs(root)
        .is_ok_and(|s| s.f_flag.contains(rustix::fs::StatVfsMountFlags::RDONLY));
    if flagged {
        return Err(read_only(root));
    }
    if probe {
        let p = store_dir(root).join(".write-probe");
        let made = std::fs::File::create(&p).and_then(|_| std::fs::remove_file(&p));
        if let Err(e) = made {
            return Err(if e.kind() == std::io::ErrorKind::ReadOnlyFilesystem {
                read_only(root)
            } else {
                std::io::Error::new(
                    e.kind(),
                    format!("storage {} cannot be written: {e}", root.display()),
                )
            });
        }
    }
    Ok(())
}

/// The error of a write to storage whose file system is read-only.
pub fn read_only(root: &Path) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::ReadOnlyFilesystem,
        format!(
            "storage {} is read-only (its file system hit an error, or it is mounted \
             read-only: check the disk, repair it with fsck and mount it again); waiting for it",
            root.display()
        ),
    )
}

/// Makes folder `dir` (and its parents) unless it is inside a store folder (`.nvr`) that is
/// gone: that is never made again behind the user's back (see [`present`]).
pub fn create_dir(dir: &Path) -> std::io::Result<()> {
    let store = dir
        .ancestors()
        .find(|a| a.file_name().is_some_and(|n| n == ".nvr"));
    if let Some(store) = store
        && !store.is_dir()
    {
        return Err(missing(store.parent().unwrap_or(store)));
    }
    std::fs::create_dir_all(dir)
}

/// The path for a new segment of `camera` whose first frame was captured at `unix_ns`.
/// Creates the day folder, if the storage is [`present`]. Never returns an existing file: a
/// second segment starting in the same second gets `-1`, `-2`, … appended.
pub fn new_segment(root: &Path, camera: &str, unix_ns: u64) -> std::io::Result<PathBuf> {
    if !present(root) {
        return Err(missing(root));
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_is_made_on_a_bare_mount_point() {
        let root = std::env::temp_dir().join(format!("nvr-layout-bare-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(store_dir(&root)).unwrap();
        assert!(present(&root));
        let seg = new_segment(&root, "cam", 1_700_000_000_000_000_000).unwrap();
        assert!(seg.parent().unwrap().is_dir());
        create_dir(&store_dir(&root).join("snapshots/cam")).unwrap();

        // The disk goes: its mount point is an empty folder.
        std::fs::remove_dir_all(&root).unwrap();
        std::fs::create_dir(&root).unwrap();
        assert!(!present(&root));
        let e = new_segment(&root, "cam", 1_700_000_000_000_000_000).unwrap_err();
        assert!(e.to_string().contains("is missing"), "{e}");
        assert!(create_dir(&store_dir(&root).join("snapshots/cam")).is_err());
        assert_eq!(std::fs::read_dir(&root).unwrap().count(), 0, "nothing made");
        std::fs::remove_dir_all(&root).unwrap();
    }
}
