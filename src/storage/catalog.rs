//! The recordings catalog: every segment on disk, per camera, in time order.
//!
//! Persisted compactly with postcard in `{storage}/.nvr/`: a snapshot (`catalog.bin`) plus
//! an append-only journal (`catalog.journal`, one COBS-framed record per added or removed
//! segment, ~40 bytes). The journal is folded into a new snapshot when it grows past
//! [`COMPACT_AFTER`] bytes and at clean shutdown, so the catalog is never rewritten per
//! segment (flash wear). Changes apply in memory at once; the bytes go to the store's writer
//! thread, so no caller waits for the disk.
//!
//! **The files are the truth.** At startup the catalog is loaded and then reconciled with a
//! walk of the storage folder (directory reads only, plus a few KiB of MP4 header for files it
//! did not know): entries without a file are dropped, files without an entry are added. So a
//! crash, a torn journal write, a deleted catalog or files removed behind nvr's back can never
//! leave it claiming files that are not there or ignoring files that are.

use super::journal::{self, Journal};
use super::layout;
use super::mp4;
use super::writer::Writer;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

/// Journal size that triggers folding it into a new snapshot.
pub const COMPACT_AFTER: u64 = 256 * 1024;
const SNAPSHOT_VERSION: u32 = 1;

/// `YYYY-MM-DD/HH-MM-SS±hhmm[-n].mp4`, relative to the camera's folder; for imported
/// footage the file name in its folder (`2025-09-07_14-30-15-tag[-d0f1s2].mp4`).
pub type SegmentName = heapless::String<64>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Source {
    Recorded,
    Imported,
}

/// One segment file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Segment {
    pub name: SegmentName,
    /// Wall-clock time of the first frame, Unix ns.
    pub start_ns: u64,
    pub duration_ms: u32,
    pub bytes: u64,
    /// `h264`, `h265`, or empty when unknown.
    pub codec: heapless::String<8>,
    pub has_motion: bool,
    pub source: Source,
}

impl Segment {
    pub fn end_ns(&self) -> u64 {
        self.start_ns + u64::from(self.duration_ms) * 1_000_000
    }

    /// A recorded segment starting at `start_s` (Unix seconds) lasting `secs`, for tests.
    #[cfg(test)]
    pub fn for_test(start_s: u64, secs: u32) -> Segment {
        Segment {
            name: SegmentName::try_from(format!("d/{start_s}.mp4").as_str()).expect("short"),
            start_ns: start_s * 1_000_000_000,
            duration_ms: secs * 1000,
            bytes: 1,
            codec: heapless::String::new(),
            has_motion: false,
            source: Source::Recorded,
        }
    }
}

#[derive(Serialize, Deserialize)]
enum Record {
    Add { camera: String, segment: Segment },
    Remove { camera: String, name: SegmentName },
}

#[derive(Serialize, Deserialize)]
struct Snapshot {
    version: u32,
    cameras: Vec<(String, Vec<Segment>)>,
}

/// What reconciling with the disk changed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Reconciled {
    pub added: usize,
    pub dropped: usize,
    pub skipped: Vec<(PathBuf, String)>,
}

/// Long-lived: owned by the runtime behind a mutex; supervisors add segments as they close,
/// retention removes them.
pub struct Catalog {
    root: PathBuf,
    /// camera → start_ns → segment.
    cameras: BTreeMap<String, BTreeMap<u64, Segment>>,
    /// Read-only without a writer (`nvr export` beside a running `nvr run`).
    journal: Journal,
    /// Imported cameras (Hikvision NAS import): camera → the flat folder of its MP4s.
    imports: BTreeMap<String, PathBuf>,
}

impl Catalog {
    /// Loads snapshot + journal (whatever of them is readable) and reconciles with the disk,
    /// then writes a fresh snapshot (through `writer`). Only the recorder (one process) may
    /// do this.
    pub fn open(root: &Path, writer: &Writer) -> io::Result<(Catalog, Reconciled)> {
        Self::open_with_imports(root, BTreeMap::new(), writer)
    }

    /// [`Catalog::open`], also covering imported cameras' folders (camera → folder).
    pub fn open_with_imports(
        root: &Path,
        imports: BTreeMap<String, PathBuf>,
        writer: &Writer,
    ) -> io::Result<(Catalog, Reconciled)> {
        std::fs::create_dir_all(layout::store_dir(root))?;
        let (mut cat, reconciled) = Self::load(root, Some(writer.clone()), imports)?;
        // Start a fresh journal on top of a fresh snapshot: startup is when we know exactly.
        cat.compact()?;
        Ok((cat, reconciled))
    }

    /// The same view without writing anything, for readers beside a running recorder.
    pub fn open_readonly(root: &Path, imports: BTreeMap<String, PathBuf>) -> io::Result<Catalog> {
        Self::load(root, None, imports).map(|(c, _)| c)
    }

    fn load(
        root: &Path,
        writer: Option<Writer>,
        imports: BTreeMap<String, PathBuf>,
    ) -> io::Result<(Catalog, Reconciled)> {
        let mut cat = Catalog {
            root: root.to_path_buf(),
            cameras: BTreeMap::new(),
            journal: Journal::new(layout::catalog_journal(root), writer),
            imports,
        };
        match std::fs::read(layout::catalog_snapshot(root)) {
            Ok(bytes) => match postcard::from_bytes::<Snapshot>(&bytes) {
                Ok(s) if s.version == SNAPSHOT_VERSION => {
                    for (camera, segs) in s.cameras {
                        let m = cat.cameras.entry(camera).or_default();
                        for seg in segs {
                            insert(m, seg);
                        }
                    }
                }
                _ => log::warn!("catalog: snapshot unreadable; rebuilding from the files"),
            },
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        // A torn last record is skipped: the reconcile below restores whatever it described
        // from the files.
        for rec in journal::read::<Record>(cat.journal.path()).unwrap_or_default() {
            cat.apply(rec);
        }
        let reconciled = cat.reconcile();
        Ok((cat, reconciled))
    }

    fn apply(&mut self, rec: Record) {
        match rec {
            Record::Add { camera, segment } => {
                let m = self.cameras.entry(camera).or_default();
                // A segment name is unique: a re-added name replaces the old entry.
                m.retain(|_, s| s.name != segment.name);
                insert(m, segment);
            }
            Record::Remove { camera, name } => {
                if let Some(m) = self.cameras.get_mut(&camera) {
                    m.retain(|_, s| s.name != name);
                }
            }
        }
    }

    /// Makes the catalog match the files: drops entries without a file, adds files it lacks.
    fn reconcile(&mut self) -> Reconciled {
        let mut r = Reconciled::default();
        let mut on_disk = walk(&self.root);
        for (camera, dir) in &self.imports {
            if on_disk.contains_key(camera) {
                r.skipped.push((
                    dir.clone(),
                    format!("imported camera {camera:?} has the name of a recorded camera"),
                ));
                continue;
            }
            on_disk.insert(camera.clone(), walk_flat(dir));
        }
        // Drop what is gone.
        for (camera, segs) in self.cameras.iter_mut() {
            let files = on_disk.get(camera);
            let before = segs.len();
            segs.retain(|_, s| files.is_some_and(|f| f.contains_key(s.name.as_str())));
            r.dropped += before - segs.len();
        }
        // Add what is new.
        for (camera, files) in on_disk {
            let known: std::collections::HashSet<String> = self
                .cameras
                .get(&camera)
                .map(|m| m.values().map(|s| s.name.to_string()).collect())
                .unwrap_or_default();
            for (name, path) in files {
                if known.contains(&name) {
                    continue;
                }
                let entry = if self.imports.contains_key(&camera) {
                    imported_segment_from_file(&path, &name)
                } else {
                    segment_from_file(&path, &name)
                };
                match entry {
                    Ok(seg) => {
                        insert(self.cameras.entry(camera.clone()).or_default(), seg);
                        r.added += 1;
                    }
                    Err(why) => r.skipped.push((path, why)),
                }
            }
        }
        self.cameras.retain(|_, m| !m.is_empty());
        r
    }

    /// Records a finished segment (journal append; no rewrite).
    pub fn add(&mut self, camera: &str, segment: Segment) -> io::Result<()> {
        let rec = Record::Add {
            camera: camera.to_string(),
            segment,
        };
        self.append(&rec)?;
        self.apply(rec);
        Ok(())
    }

    /// Forgets a segment (after its file was deleted).
    pub fn remove(&mut self, camera: &str, name: &str) -> io::Result<()> {
        let Ok(name) = SegmentName::try_from(name) else {
            return Ok(());
        };
        let rec = Record::Remove {
            camera: camera.to_string(),
            name,
        };
        self.append(&rec)?;
        self.apply(rec);
        Ok(())
    }

    fn append(&mut self, rec: &Record) -> io::Result<()> {
        self.journal.append(rec)?;
        if self.journal.len() > COMPACT_AFTER {
            self.compact()?;
        }
        Ok(())
    }

    /// Queues a new snapshot (temp file, fsync, rename) and an empty journal after it. The
    /// snapshot is encoded here, from memory (milliseconds); the writer does the I/O.
    pub fn compact(&mut self) -> io::Result<()> {
        let Some(writer) = self.journal.writer().cloned() else {
            return Err(io::Error::other("catalog opened read-only"));
        };
        let snap = Snapshot {
            version: SNAPSHOT_VERSION,
            cameras: self
                .cameras
                .iter()
                .map(|(c, m)| (c.clone(), m.values().cloned().collect()))
                .collect(),
        };
        let bytes = postcard::to_stdvec(&snap).map_err(io::Error::other)?;
        writer.replace(&layout::catalog_snapshot(&self.root), bytes);
        // In order after the snapshot: only then is the journal redundant.
        self.journal.rewrite::<Record>([])
    }

    pub fn cameras(&self) -> impl Iterator<Item = &str> {
        self.cameras.keys().map(String::as_str)
    }

    /// Every camera's segments in time order, borrowed (for the retention planner).
    pub fn view(&self) -> BTreeMap<String, Vec<&Segment>> {
        self.cameras
            .iter()
            .map(|(c, m)| (c.clone(), m.values().collect()))
            .collect()
    }

    /// A camera's segments in time order.
    pub fn segments(&self, camera: &str) -> impl Iterator<Item = &Segment> {
        self.cameras
            .get(camera)
            .into_iter()
            .flat_map(|m| m.values())
    }

    /// Segments of `camera` overlapping `[from_ns, to_ns)`, in time order.
    pub fn range(&self, camera: &str, from_ns: u64, to_ns: u64) -> Vec<Segment> {
        self.segments(camera)
            .filter(|s| s.end_ns() > from_ns && s.start_ns < to_ns)
            .cloned()
            .collect()
    }

    pub fn len(&self) -> usize {
        self.cameras.values().map(BTreeMap::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn total_bytes(&self) -> u64 {
        self.cameras
            .values()
            .flat_map(|m| m.values())
            .map(|s| s.bytes)
            .sum()
    }

    pub fn path_of(&self, camera: &str, seg: &Segment) -> PathBuf {
        match self.imports.get(camera) {
            Some(dir) => dir.join(seg.name.as_str()),
            None => self.root.join(camera).join(seg.name.as_str()),
        }
    }

    /// Makes `camera` an imported camera whose files are in `dir` (first import of a camera).
    pub fn add_import(&mut self, camera: &str, dir: &Path) {
        self.imports.insert(camera.to_string(), dir.to_path_buf());
    }
}

/// `{root}/{camera}/{day}/{file}.mp4` → camera → relative name → path. Directory reads only.
fn walk(root: &Path) -> BTreeMap<String, BTreeMap<String, PathBuf>> {
    let mut out: BTreeMap<String, BTreeMap<String, PathBuf>> = BTreeMap::new();
    let Ok(cams) = std::fs::read_dir(root) else {
        return out;
    };
    for cam in cams.flatten() {
        let camera = cam.file_name().to_string_lossy().into_owned();
        if camera.starts_with('.') || !cam.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let Ok(days) = std::fs::read_dir(cam.path()) else {
            continue;
        };
        for day in days.flatten() {
            let day_name = day.file_name().to_string_lossy().into_owned();
            if !day.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            let Ok(files) = std::fs::read_dir(day.path()) else {
                continue;
            };
            for f in files.flatten() {
                let name = f.file_name().to_string_lossy().into_owned();
                if name.ends_with(".mp4") && !name.starts_with('.') {
                    out.entry(camera.clone())
                        .or_default()
                        .insert(format!("{day_name}/{name}"), f.path());
                }
            }
        }
    }
    out
}

/// Inserts keyed by start time. Two files can start at the same instant (imported footage
/// from the repeated hour of a DST change, or two datadirs): the later one moves on by a
/// nanosecond so neither hides the other.
fn insert(m: &mut BTreeMap<u64, Segment>, mut seg: Segment) {
    while m.get(&seg.start_ns).is_some_and(|s| s.name != seg.name) {
        seg.start_ns += 1;
    }
    m.insert(seg.start_ns, seg);
}

/// `{dir}/*.mp4` → name → path (imported footage: one flat folder per camera).
fn walk_flat(dir: &Path) -> BTreeMap<String, PathBuf> {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|f| {
            let name = f.file_name().to_string_lossy().into_owned();
            (name.ends_with(".mp4") && !name.starts_with('.')).then(|| (name, f.path()))
        })
        .collect()
}

/// An entry for an imported file: its name carries the camera's wall clock, which is the
/// local time of this machine's zone (camera and NVR are assumed to share it).
pub fn imported_segment_from_file(path: &Path, name: &str) -> Result<Segment, String> {
    let wall = super::time_from_name(name).ok_or("name is not YYYY-MM-DD_HH-MM-SS-tag.mp4")?;
    let bytes = std::fs::metadata(path).map_err(|e| e.to_string())?.len();
    let summary = mp4::summarize(path).map_err(|e| e.to_string())?;
    let duration = summary.duration.ok_or("no MP4 index (moov)")?;
    Ok(Segment {
        name: SegmentName::try_from(name).map_err(|_| "name too long")?,
        start_ns: crate::time::unix_from_wall_clock(wall).max(0) as u64 * 1_000_000_000,
        duration_ms: duration.as_millis() as u32,
        bytes,
        codec: heapless::String::new(),
        has_motion: false,
        source: Source::Imported,
    })
}

/// Builds an entry for a file the catalog did not know: start from its name, duration from
/// its MP4 header, size from the file system.
pub fn segment_from_file(path: &Path, name: &str) -> Result<Segment, String> {
    let start_ns = start_from_name(name).ok_or("name is not YYYY-MM-DD/HH-MM-SS±hhmm.mp4")?;
    let bytes = std::fs::metadata(path).map_err(|e| e.to_string())?.len();
    let summary = mp4::summarize(path).map_err(|e| e.to_string())?;
    let duration = summary.duration.ok_or("no MP4 index (moov)")?;
    Ok(Segment {
        name: SegmentName::try_from(name).map_err(|_| "name too long")?,
        start_ns,
        duration_ms: duration.as_millis() as u32,
        bytes,
        codec: heapless::String::new(),
        has_motion: false,
        source: Source::Recorded,
    })
}

/// Unix ns of the local time + offset spelled by `YYYY-MM-DD/HH-MM-SS±hhmm[-n].mp4`.
pub fn start_from_name(name: &str) -> Option<u64> {
    let (day, file) = name.split_once('/')?;
    let mut d = day.split('-').map(|p| p.parse::<i64>().ok());
    let (y, mo, da) = (d.next()??, d.next()??, d.next()??);
    let f = file.as_bytes();
    if f.len() < 13 {
        return None;
    }
    let num = |r: std::ops::Range<usize>| file.get(r)?.parse::<i64>().ok();
    let (h, mi, s) = (num(0..2)?, num(3..5)?, num(6..8)?);
    let sign = match f[8] {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let offset = sign * (num(9..11)? * 3600 + num(11..13)? * 60);
    let days = crate::time::days_from_civil(y, mo, da);
    let local = days * 86_400 + h * 3600 + mi * 60 + s;
    u64::try_from(local - offset)
        .ok()
        .map(|t| t * 1_000_000_000)
}

#[cfg(test)]
mod tests;
