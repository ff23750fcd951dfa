//! The import job: every camera folder under the configured sources → `<output>/<tag>/video/`
//! MP4s and `<output>/<tag>/images/` JPEGs named from the camera's wall clock
//! (`2025-09-07_14-30-15-tuin.mp4`).
//!
//! Invariants (what is on disk, what a crash can lose):
//! - The input is only ever opened for reading.
//! - An output file appears under its final name only complete: written to `.NAME.part`,
//!   fsync'd, renamed. Leftover `.part` files (a crash mid-segment) are deleted by the next run.
//! - `<output>/.nvr-hikvision/state.bin` (postcard) remembers each finished segment and picture
//!   by a stable identity (datadir, container, record, start time, offset), not by name. It is
//!   saved after every [`SAVE_EVERY`] items; a crash loses at most that much
//!   bookkeeping, and the redo renames over the same name (a name belongs to the identity that
//!   claimed it), so nothing is duplicated. Entries leave the state when the camera's index no
//!   longer lists them (the container was reused), so it stays bounded by the cameras' storage.
//! - The segment the camera is writing (open record) and anything failing is left for the
//!   next run; a segment failing [`MAX_ATTEMPTS`] times is given up with a warning.
//! - `<output>/.nvr-hikvision/lock` is held (flock) for the whole run: a second instance on the
//!   same output exits with a message naming the holder.
//! - Retention deletes outputs whose *recording* time (from the name) is older than the limit,
//!   never by mtime; the state keeps them from being imported again.

use super::{index, pictures, remux};
use crate::storage::time_from_name;
use crate::time::LocalTime;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// Items imported between state saves.
pub const SAVE_EVERY: usize = 32;
/// Attempts before a failing segment or picture is given up.
pub const MAX_ATTEMPTS: u8 = 3;
/// Index files larger than this are not read (a 10,000-container index is ~205 MB).
const MAX_INDEX_BYTES: u64 = 256 << 20;
const STATE_VERSION: u32 = 1;

pub use crate::config::hikvision::{Settings, default_workers, parse_translation, tag_problem};

// --- Discovery ---

/// A camera folder: `info.bin` + `datadirN/`, or `datadirN/` alone, or (SD card) the index
/// and containers directly in it.
#[derive(Debug, Clone, PartialEq)]
pub struct CameraDir {
    /// The folder's name: the key for tags and state.
    pub name: String,
    pub tag: String,
    pub path: PathBuf,
    pub datadirs: Vec<PathBuf>,
}

fn is_camera(dir: &Path) -> bool {
    dir.join("info.bin").is_file()
        || dir.join("datadir0").is_dir()
        || dir.join("index00.bin").is_file()
}

/// `info.bin`: 68 bytes, the number of data folders as u32 at 64.
pub fn datadir_count(info: &[u8]) -> Option<u32> {
    let n = crate::bytes::le32(info, 64)?;
    (1..=256).contains(&n).then_some(n)
}

fn datadirs(dir: &Path, warnings: &mut Vec<String>) -> Vec<PathBuf> {
    if dir.join("index00.bin").is_file() {
        return vec![dir.to_path_buf()];
    }
    let from_info = fs::read(dir.join("info.bin"))
        .ok()
        .and_then(|b| datadir_count(&b));
    let mut found: Vec<(u32, PathBuf)> = fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let n: u32 = name.strip_prefix("datadir")?.parse().ok()?;
            e.file_type().ok()?.is_dir().then(|| (n, e.path()))
        })
        .collect();
    found.sort();
    if let Some(n) = from_info {
        for i in 0..n {
            if !found.iter().any(|(k, _)| *k == i) {
                warnings.push(format!(
                    "{}: info.bin lists {n} data folders but datadir{i} is missing",
                    dir.display()
                ));
            }
        }
    }
    found.into_iter().map(|(_, p)| p).collect()
}

/// Finds the camera folders under `sources`, with their tags.
pub fn discover(settings: &Settings) -> (Vec<CameraDir>, Vec<String>) {
    let mut warnings = Vec::new();
    let mut dirs = Vec::new();
    for src in &settings.sources {
        if is_camera(src) {
            dirs.push(src.clone());
            continue;
        }
        match fs::read_dir(src) {
            Ok(entries) => {
                let mut subs: Vec<PathBuf> = entries
                    .flatten()
                    .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                    .map(|e| e.path())
                    .filter(|p| is_camera(p))
                    .collect();
                subs.sort();
                if subs.is_empty() {
                    warnings.push(format!(
                        "{}: no Hikvision camera folder here (expected info.bin, datadir0/ or index00.bin)",
                        src.display()
                    ));
                }
                dirs.extend(subs);
            }
            Err(e) => warnings.push(format!("{}: {e}", src.display())),
        }
    }
    let mut cameras: Vec<CameraDir> = Vec::new();
    for path in dirs {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "camera".into());
        let tag = settings
            .tags
            .get(&name)
            .cloned()
            .unwrap_or_else(|| sanitize_tag(&name));
        if let Some(other) = cameras.iter().find(|c| c.tag == tag) {
            warnings.push(format!(
                "{}: tag {tag:?} is already used by {}; skipped (give one of them another tag)",
                path.display(),
                other.path.display()
            ));
            continue;
        }
        let datadirs = datadirs(&path, &mut warnings);
        cameras.push(CameraDir {
            name,
            tag,
            path,
            datadirs,
        });
    }
    (cameras, warnings)
}

fn sanitize_tag(name: &str) -> String {
    let t: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let t = t.trim_start_matches('.');
    if t.is_empty() {
        "camera".into()
    } else {
        t.chars().take(24).collect()
    }
}

// --- State ---

/// A segment's or picture's identity: stable while the camera's index lists it, and different
/// for whatever the camera later writes in the same place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Key {
    pub picture: bool,
    pub datadir: u16,
    pub file: u32,
    pub record: u32,
    pub start_sec: u32,
    pub start_usec: u32,
    pub offset: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
enum Entry {
    Done { name: String },
    Failed { attempts: u8 },
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct CameraState {
    items: BTreeMap<Key, Entry>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    version: u32,
    cameras: BTreeMap<String, CameraState>,
}

fn state_dir(output: &Path) -> PathBuf {
    output.join(".nvr-hikvision")
}

impl State {
    fn load(output: &Path) -> State {
        let path = state_dir(output).join("state.bin");
        match fs::read(&path) {
            Ok(b) => match postcard::from_bytes::<State>(&b) {
                Ok(s) if s.version == STATE_VERSION => s,
                _ => {
                    log::warn!(
                        "hikvision: {} is unreadable; starting over (existing outputs are kept and re-claimed by name)",
                        path.display()
                    );
                    State::default()
                }
            },
            Err(_) => State::default(),
        }
    }

    fn save(&mut self, output: &Path) -> io::Result<()> {
        self.version = STATE_VERSION;
        let bytes = postcard::to_allocvec(self).map_err(io::Error::other)?;
        let dir = state_dir(output);
        let tmp = dir.join("state.bin.tmp");
        let mut f = File::create(&tmp)?;
        f.write_all(&bytes)?;
        f.sync_all()?;
        fs::rename(tmp, dir.join("state.bin"))
    }
}

// --- Lock ---

/// An exclusive lock on one output folder; released on drop (and by the kernel on exit).
pub struct Lock {
    _file: File,
}

impl Lock {
    pub fn acquire(output: &Path) -> Result<Lock, String> {
        let dir = state_dir(output);
        fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let path = dir.join("lock");
        let mut file = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        if file.try_lock().is_err() {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            return Err(format!(
                "another nvr hikvision sync (pid {}) is working on {}; this one does nothing",
                holder.trim(),
                output.display()
            ));
        }
        let _ = file.set_len(0);
        let _ = writeln!(file, "{}", std::process::id());
        Ok(Lock { _file: file })
    }
}

// --- The run ---

/// What one run did for one camera.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Tally {
    pub new: usize,
    /// Already imported earlier.
    pub skipped: usize,
    pub failed: usize,
    /// Open (still being written) or outside the look-back window: for a later run.
    pub later: usize,
    pub bytes: u64,
}

#[derive(Debug, Default, Clone)]
pub struct CameraSummary {
    pub tag: String,
    pub video: Tally,
    pub images: Tally,
    pub seconds: f64,
}

#[derive(Debug, Default, Clone)]
pub struct Summary {
    pub cameras: Vec<CameraSummary>,
    pub deleted: usize,
    pub warnings: usize,
}

impl Summary {
    pub fn lines(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .cameras
            .iter()
            .map(|c| {
                format!(
                    "{}: video {} new, {} skipped, {} failed, {} later; images {} new, {} skipped, {} failed; {:.1} MB in {:.1} s",
                    c.tag,
                    c.video.new,
                    c.video.skipped,
                    c.video.failed,
                    c.video.later,
                    c.images.new,
                    c.images.skipped,
                    c.images.failed,
                    (c.video.bytes + c.images.bytes) as f64 / 1e6,
                    c.seconds
                )
            })
            .collect();
        let new: usize = self
            .cameras
            .iter()
            .map(|c| c.video.new + c.images.new)
            .sum();
        out.push(format!(
            "total: {new} new, {} cameras, retention deleted {}, {} warnings",
            self.cameras.len(),
            self.deleted,
            self.warnings
        ));
        out
    }
}

/// What the job tells the rest of nvr (the recordings catalog) about its video outputs.
#[derive(Debug, Clone, Copy)]
pub enum Event<'a> {
    /// A new MP4 at `path`.
    Imported { tag: &'a str, path: &'a Path },
    /// Retention deleted this MP4.
    Deleted { tag: &'a str, name: &'a str },
}

/// Receives [`Event`]s; called on the job's thread.
pub type Listener = Arc<dyn Fn(Event<'_>) + Send + Sync>;

/// One sync over every camera. `now` is Unix seconds (injected so tests control look-back
/// and retention). Holds the output's lock throughout.
pub fn run_once(settings: &Settings, now: i64, stop: &AtomicBool) -> Result<Summary, String> {
    run_once_with(settings, now, stop, &|_| {})
}

/// [`run_once`], telling `on_event` about each video output that appears or goes.
pub fn run_once_with(
    settings: &Settings,
    now: i64,
    stop: &AtomicBool,
    on_event: &dyn Fn(Event<'_>),
) -> Result<Summary, String> {
    fs::create_dir_all(&settings.output)
        .map_err(|e| format!("{}: {e}", settings.output.display()))?;
    let _lock = Lock::acquire(&settings.output)?;
    gst::init().map_err(|e| e.to_string())?;
    // The cameras' clocks are local wall-clock times stored as if UTC: compare in that scale.
    let cam_now = now + i64::from(LocalTime::from_unix(now).offset);
    let mut state = State::load(&settings.output);
    let (cameras, warnings) = discover(settings);
    let mut summary = Summary {
        warnings: warnings.len(),
        ..Summary::default()
    };
    for w in warnings {
        log::warn!("hikvision: {w}");
    }
    for cam in &cameras {
        let mut job = Job {
            settings,
            cam,
            cam_now,
            state: state.cameras.remove(&cam.name).unwrap_or_default(),
            owners: BTreeMap::new(),
            warnings: 0,
            unreadable: false,
            stop,
            on_event,
        };
        let started = Instant::now();
        let (video, images) = job.run(&mut state);
        summary.warnings += job.warnings;
        state.cameras.insert(cam.name.clone(), job.state);
        if let Err(e) = state.save(&settings.output) {
            log::warn!("hikvision: cannot save state: {e}");
        }
        summary.cameras.push(CameraSummary {
            tag: cam.tag.clone(),
            video,
            images,
            seconds: started.elapsed().as_secs_f64(),
        });
    }
    if settings.retention_days > 0 {
        summary.deleted = retention(settings, &cameras, cam_now, on_event);
    }
    Ok(summary)
}

/// One camera's part of a run.
struct Job<'a> {
    settings: &'a Settings,
    cam: &'a CameraDir,
    cam_now: i64,
    state: CameraState,
    /// Output name → the item that owns it (from the state, then this run).
    owners: BTreeMap<String, Key>,
    warnings: usize,
    /// An index could not be read this run.
    unreadable: bool,
    /// Set when nvr is stopping: the current item finishes, the rest waits for next time.
    stop: &'a AtomicBool,
    on_event: &'a dyn Fn(Event<'_>),
}

/// Something to import, from any datadir, sorted by time before importing.
struct Item {
    key: Key,
    start: index::CamTime,
    source: PathBuf,
    range: std::ops::Range<u64>,
}

impl Item {
    /// Record `record` of container `file` in data folder `datadir` (`dir`).
    fn new(
        dir: &Path,
        (datadir, file, record): (u16, u32, u32),
        start: index::CamTime,
        (from, to): (u32, u32),
        picture: bool,
    ) -> Item {
        let ext = if picture { "pic" } else { "mp4" };
        Item {
            key: Key {
                picture,
                datadir,
                file,
                record,
                start_sec: start.sec,
                start_usec: start.usec,
                offset: from,
            },
            start,
            source: dir.join(format!("hiv{file:05}.{ext}")),
            range: u64::from(from)..u64::from(to),
        }
    }
}

fn read_bounded(path: &Path) -> io::Result<Vec<u8>> {
    let f = File::open(path)?;
    let mut out = Vec::new();
    f.take(MAX_INDEX_BYTES).read_to_end(&mut out)?;
    Ok(out)
}

fn file_len(path: PathBuf) -> Option<u64> {
    fs::metadata(path).ok().map(|m| m.len())
}

impl Job<'_> {
    fn warn(&mut self, msg: String) {
        self.warnings += 1;
        log::warn!("hikvision: {}: {msg}", self.cam.tag);
    }

    fn run(&mut self, state: &mut State) -> (Tally, Tally) {
        let dirs = [("video", "mp4"), ("images", "jpg")].map(|(d, _)| self.out_dir(d));
        for d in &dirs {
            if let Err(e) = fs::create_dir_all(d) {
                self.warn(format!("cannot create {}: {e}", d.display()));
                return (Tally::default(), Tally::default());
            }
            remove_partials(d);
        }
        let mut video = Tally::default();
        let mut images = Tally::default();
        let (segments, pics) = self.scan(&mut video, &mut images);
        // Forget what the camera's index no longer lists (containers reused): bounded state.
        let listed: BTreeSet<Key> = segments.iter().chain(&pics).map(|i| i.key).collect();
        // (Not after a read failure: what it would have listed must not be forgotten.)
        if !self.unreadable {
            self.state.items.retain(|k, _| listed.contains(k));
        }
        self.owners = self
            .state
            .items
            .iter()
            .filter_map(|(k, e)| match e {
                Entry::Done { name } => Some((name.clone(), *k)),
                Entry::Failed { .. } => None,
            })
            .collect();
        self.import(segments, &mut video, state);
        if self.settings.images {
            self.import(pics, &mut images, state);
        }
        (video, images)
    }

    fn out_dir(&self, kind: &str) -> PathBuf {
        self.settings.output.join(&self.cam.tag).join(kind)
    }

    /// Reads every datadir's indexes into the items to import.
    fn scan(&mut self, video: &mut Tally, images: &mut Tally) -> (Vec<Item>, Vec<Item>) {
        let mut segs = Vec::new();
        let mut pics = Vec::new();
        // Nothing older than retention keeps: importing it would only delete it again.
        let days = match (self.settings.lookback_days, self.settings.retention_days) {
            (0, r) | (r, 0) => r,
            (l, r) => l.min(r),
        };
        let lookback = i64::from(days) * 86_400;
        let cam_now = self.cam_now;
        let too_old =
            move |t: index::CamTime| lookback > 0 && i64::from(t.sec) < cam_now - lookback;
        for (d, dir) in self.cam.datadirs.iter().enumerate() {
            let d = d as u16;
            match self.read_index(dir) {
                Ok(idx) => {
                    video.later += idx.counts.open;
                    for r in &idx.rejected {
                        self.warn(format!(
                            "{}: record {} of hiv{:05}.mp4 skipped: {}",
                            dir.join("index00.bin").display(),
                            r.seg,
                            r.file,
                            r.why
                        ));
                    }
                    if idx.counts.implausible > idx.rejected.len() {
                        self.warn(format!(
                            "{}: {} more implausible records skipped",
                            dir.display(),
                            idx.counts.implausible - idx.rejected.len()
                        ));
                    }
                    video.failed += idx.counts.implausible;
                    for s in idx.segments {
                        if too_old(s.start) {
                            video.later += 1;
                            continue;
                        }
                        segs.push(Item::new(
                            dir,
                            (d, s.file, u32::from(s.seg)),
                            s.start,
                            (s.start_offset, s.end_offset),
                            false,
                        ));
                    }
                }
                Err(e) => {
                    self.unreadable = true;
                    self.warn(format!(
                        "{}: {e}; this data folder is skipped",
                        dir.display()
                    ))
                }
            }
            if !self.settings.images {
                continue;
            }
            let p = dir.join("index00p.bin");
            if !p.exists() {
                continue;
            }
            let parsed = read_bounded(&p).map_err(|e| e.to_string()).and_then(|b| {
                pictures::parse(&b, |f| file_len(dir.join(format!("hiv{f:05}.pic"))))
                    .map_err(|e| e.to_string())
            });
            match parsed {
                Ok(pi) => {
                    for pic in pi.pictures {
                        if too_old(pic.time) {
                            images.later += 1;
                            continue;
                        }
                        pics.push(Item::new(
                            dir,
                            (d, pic.file, pic.record),
                            pic.time,
                            (pic.start_offset, pic.end_offset),
                            true,
                        ));
                    }
                }
                Err(e) => {
                    self.unreadable = true;
                    self.warn(format!("{}: {e}; its pictures are skipped", p.display()))
                }
            }
        }
        segs.sort_by_key(|i| (i.start, i.key));
        pics.sort_by_key(|i| (i.start, i.key));
        (segs, pics)
    }

    /// `index00.bin`, or its copy `index01.bin` when the first is unreadable (the camera may
    /// be rewriting it).
    fn read_index(&self, dir: &Path) -> Result<index::Index, String> {
        let mut first_err = None;
        for name in ["index00.bin", "index01.bin"] {
            let path = dir.join(name);
            if !path.exists() {
                continue;
            }
            let parsed = read_bounded(&path)
                .map_err(|e| e.to_string())
                .and_then(|b| {
                    index::parse(&b, |f| file_len(dir.join(format!("hiv{f:05}.mp4"))))
                        .map_err(|e| e.to_string())
                });
            match parsed {
                Ok(i) => return Ok(i),
                Err(e) => {
                    first_err.get_or_insert(format!("{name}: {e}"));
                }
            }
        }
        Err(first_err.unwrap_or_else(|| "no index00.bin".into()))
    }

    /// The output name for `item`: `YYYY-MM-DD_HH-MM-SS-tag.ext`, or with the identity
    /// appended when another item already owns that name (same second, DST repeated hour).
    fn name_for(&self, item: &Item, ext: &str) -> String {
        let t = LocalTime::utc(i64::from(item.start.sec));
        let base = format!(
            "{}_{:02}-{:02}-{:02}-{}",
            t.date(),
            t.hour,
            t.minute,
            t.second,
            self.cam.tag
        );
        let plain = format!("{base}.{ext}");
        if self.owners.get(&plain).is_none_or(|k| *k == item.key) {
            return plain;
        }
        let k = item.key;
        let kind = if k.picture { 'p' } else { 's' };
        format!("{base}-d{}f{}{kind}{}.{ext}", k.datadir, k.file, k.record)
    }

    /// Imports `items` in time order: names are decided here, one after the other (so
    /// collisions resolve the same way every run); the remuxing runs on
    /// [`Settings::workers`] low-priority threads, a batch of [`SAVE_EVERY`] at a time, and
    /// the state is saved after each batch.
    fn import(&mut self, items: Vec<Item>, tally: &mut Tally, state: &mut State) {
        let mut todo: Vec<(Item, String)> = Vec::new();
        for item in items {
            match self.state.items.get(&item.key) {
                Some(Entry::Done { .. }) => {
                    tally.skipped += 1;
                    continue;
                }
                Some(Entry::Failed { attempts }) if *attempts >= MAX_ATTEMPTS => {
                    tally.failed += 1;
                    continue;
                }
                _ => {}
            }
            let ext = if item.key.picture { "jpg" } else { "mp4" };
            let name = self.name_for(&item, ext);
            // Claimed now, so a later item of the same second sees it taken.
            self.owners.insert(name.clone(), item.key);
            todo.push((item, name));
        }
        for batch in todo.chunks(SAVE_EVERY) {
            let results = produce_all(self.settings, &self.cam.tag, batch, self.stop);
            for ((item, name), result) in batch.iter().zip(results) {
                match result {
                    None => tally.later += 1, // stopping
                    Some(r) => self.record(item, name, r, tally),
                }
            }
            self.checkpoint(state);
        }
    }

    fn record(&mut self, item: &Item, name: &str, result: Result<u64, String>, tally: &mut Tally) {
        match result {
            Ok(bytes) => {
                if !item.key.picture {
                    (self.on_event)(Event::Imported {
                        tag: &self.cam.tag,
                        path: &self.out_dir("video").join(name),
                    });
                }
                tally.new += 1;
                tally.bytes += bytes;
                self.state.items.insert(
                    item.key,
                    Entry::Done {
                        name: name.to_string(),
                    },
                );
            }
            Err(e) => {
                let attempts = match self.state.items.get(&item.key) {
                    Some(Entry::Failed { attempts }) => attempts + 1,
                    _ => 1,
                };
                let what = if item.key.picture {
                    "picture"
                } else {
                    "segment"
                };
                let given_up = if attempts >= MAX_ATTEMPTS {
                    "; giving up on it"
                } else {
                    "; will retry next run"
                };
                self.warn(format!(
                    "{} {what} {} (bytes {}..{}): {e}{given_up}",
                    item.source.display(),
                    item.key.record,
                    item.range.start,
                    item.range.end
                ));
                self.state
                    .items
                    .insert(item.key, Entry::Failed { attempts });
                tally.failed += 1;
            }
        }
    }

    /// Saves the whole state with this camera's progress so far.
    fn checkpoint(&mut self, state: &mut State) {
        let mine = std::mem::take(&mut self.state);
        state.cameras.insert(self.cam.name.clone(), mine);
        if let Err(e) = state.save(&self.settings.output) {
            log::warn!("hikvision: cannot save state: {e}");
        }
        self.state = state.cameras.remove(&self.cam.name).unwrap_or_default();
    }
}

/// Produces every item of `batch` on up to `settings.workers` threads at nice 10 (see
/// docs/design.md, Priorities), so an import takes as little CPU from recording as it can. `None`: not started because nvr is stopping.
fn produce_all(
    settings: &Settings,
    tag: &str,
    batch: &[(Item, String)],
    stop: &AtomicBool,
) -> Vec<Option<Result<u64, String>>> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results: Vec<std::sync::Mutex<Option<Result<u64, String>>>> =
        batch.iter().map(|_| std::sync::Mutex::new(None)).collect();
    let workers = settings.workers.clamp(1, batch.len().max(1));
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                crate::storage::previews::lower_this_thread();
                loop {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some((item, name)) = batch.get(i) else {
                        break;
                    };
                    let r = produce(settings, tag, item, name);
                    *results[i].lock().unwrap() = Some(r);
                }
            });
        }
    });
    results
        .into_iter()
        .map(|m| m.into_inner().unwrap())
        .collect()
}

/// One output: remux or slice to `.NAME.part`, then rename into place.
fn produce(settings: &Settings, tag: &str, item: &Item, name: &str) -> Result<u64, String> {
    let kind = if item.key.picture { "images" } else { "video" };
    let dir = settings.output.join(tag).join(kind);
    let tmp = dir.join(format!(".{name}.part"));
    let result = if item.key.picture {
        write_picture(item, &tmp)
    } else {
        remux::remux(
            &settings.pipeline_dir,
            &item.source,
            item.range.clone(),
            &tmp,
        )
        .map(|r| r.bytes)
        .map_err(|e| e.to_string())
    };
    let result = result.and_then(|bytes| {
        fs::rename(&tmp, dir.join(name))
            .map(|()| bytes)
            .map_err(|e| e.to_string())
    });
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

fn write_picture(item: &Item, tmp: &Path) -> Result<u64, String> {
    use std::io::{Seek, SeekFrom};
    let mut f = File::open(&item.source).map_err(|e| e.to_string())?;
    f.seek(SeekFrom::Start(item.range.start))
        .map_err(|e| e.to_string())?;
    let mut bytes = vec![0u8; (item.range.end - item.range.start) as usize];
    f.read_exact(&mut bytes).map_err(|e| e.to_string())?;
    let jpeg = pictures::slice_jpeg(&bytes).ok_or("not a JPEG (no SOI/EOI)")?;
    let mut out = File::create(tmp).map_err(|e| e.to_string())?;
    out.write_all(jpeg).map_err(|e| e.to_string())?;
    out.sync_all().map_err(|e| e.to_string())?;
    Ok(jpeg.len() as u64)
}

fn remove_partials(dir: &Path) {
    for e in fs::read_dir(dir).into_iter().flatten().flatten() {
        let n = e.file_name().to_string_lossy().into_owned();
        if n.starts_with('.') && n.ends_with(".part") {
            let _ = fs::remove_file(e.path());
        }
    }
}

/// [`imported_cameras`] of a configuration's import output; none without `[hikvision]`.
pub fn imported_cameras_of(config: &crate::config::Config) -> BTreeMap<String, PathBuf> {
    config
        .hikvision
        .as_ref()
        .map(|h| imported_cameras(&h.output))
        .unwrap_or_default()
}

/// Imported cameras already in `output`: tag → its `video/` folder (for the catalog).
pub fn imported_cameras(output: &Path) -> BTreeMap<String, PathBuf> {
    fs::read_dir(output)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let tag = e.file_name().to_string_lossy().into_owned();
            let video = e.path().join("video");
            (!tag.starts_with('.') && video.is_dir()).then_some((tag, video))
        })
        .collect()
}

/// Deletes outputs recorded more than `retention_days` ago (camera time). Files whose names
/// nvr did not write are left alone.
fn retention(
    settings: &Settings,
    cameras: &[CameraDir],
    cam_now: i64,
    on_event: &dyn Fn(Event<'_>),
) -> usize {
    let limit = cam_now - i64::from(settings.retention_days) * 86_400;
    let mut deleted = 0;
    for cam in cameras {
        for kind in ["video", "images"] {
            let dir = settings.output.join(&cam.tag).join(kind);
            for e in fs::read_dir(&dir).into_iter().flatten().flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if time_from_name(&name).is_some_and(|t| t < limit)
                    && fs::remove_file(e.path()).is_ok()
                {
                    deleted += 1;
                    if kind == "video" {
                        on_event(Event::Deleted {
                            tag: &cam.tag,
                            name: &name,
                        });
                    }
                }
            }
        }
    }
    if deleted > 0 {
        log::info!(
            "hikvision: retention deleted {deleted} files recorded over {} days ago",
            settings.retention_days
        );
    }
    deleted
}

/// The job inside `nvr run`. Long-lived: runs a sync every `interval` on its own thread until
/// stopped; a run that fails (lock held by a manual `nvr hikvision sync`, output unwritable)
/// is logged and retried at the next interval.
pub struct Worker {
    stop: Arc<AtomicBool>,
    wake: std::sync::mpsc::Sender<()>,
    thread: Option<std::thread::JoinHandle<()>>,
    pub settings: Settings,
}

impl Worker {
    pub fn start(settings: Settings, listener: Listener) -> Worker {
        let stop = Arc::new(AtomicBool::new(false));
        let (wake, sleeper) = std::sync::mpsc::channel::<()>();
        let (s, flag) = (settings.clone(), stop.clone());
        let thread = std::thread::Builder::new()
            .name("hikvision".into())
            .spawn(move || {
                log::info!(
                    "hikvision: importing {} source(s) into {} every {} min",
                    s.sources.len(),
                    s.output.display(),
                    s.interval.as_secs() / 60
                );
                while !flag.load(Ordering::Relaxed) {
                    let now = crate::time::unix_now_ns() / 1_000_000_000;
                    match run_once_with(&s, now as i64, &flag, &*listener) {
                        Ok(summary) => {
                            for line in summary.lines() {
                                log::info!("hikvision: {line}");
                            }
                        }
                        Err(e) => log::warn!("hikvision: {e}"),
                    }
                    // Sleeps the interval; a stop wakes it at once.
                    if sleeper.recv_timeout(s.interval).is_ok() {
                        break;
                    }
                }
            })
            .expect("spawn hikvision thread");
        Worker {
            stop,
            wake,
            thread: Some(thread),
            settings,
        }
    }

    /// Stops after the item in progress (one segment at most) and waits for the thread.
    pub fn stop(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.wake.send(());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn translation_accepts_the_seed_form() {
        let t = parse_translation(" Camera-Tuin:tuin , Voordeur : voor,").unwrap();
        assert_eq!(t["Camera-Tuin"], "tuin");
        assert_eq!(t["Voordeur"], "voor");
        assert!(parse_translation("Tuin").is_err());
        assert!(parse_translation("Tuin:../x").is_err());
    }

    #[test]
    fn names_parse_back_to_camera_time() {
        assert_eq!(
            time_from_name("2025-04-28_16-06-18-tuin.mp4"),
            Some(1_745_856_378)
        );
        assert_eq!(
            time_from_name("2025-04-28_16-06-18-tuin-d0f3s2.mp4"),
            Some(1_745_856_378)
        );
        assert_eq!(time_from_name("notes.txt"), None);
    }

    #[test]
    fn info_bin_gives_the_datadir_count() {
        let mut b = vec![0u8; 68];
        b[64] = 2;
        assert_eq!(datadir_count(&b), Some(2));
        assert_eq!(datadir_count(&b[..60]), None);
        b[64] = 0;
        assert_eq!(datadir_count(&b), None);
    }

    #[test]
    fn tags_are_sanitized_from_folder_names() {
        assert_eq!(sanitize_tag("Camera Tuin/1"), "Camera_Tuin_1");
        assert_eq!(sanitize_tag("..x"), "x");
        assert_eq!(tag_problem("tuin"), None);
        assert!(tag_problem("a/b").is_some());
    }
}
