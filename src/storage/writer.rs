//! The store's writer thread: every write to nvr's own files under `.nvr/` (the catalog journal
//! and snapshot, the motion events, the outage history) happens here, in the order it was
//! asked for. Callers change their state in memory and queue the bytes; they never wait for
//! the disk, so a slow SD card (a write or fsync that takes seconds) delays no camera's
//! supervision and no HTTP request. (Moonfire's `db/writer.rs` does the same for its
//! database; the segment files themselves are written by GStreamer's streaming threads.)
//!
//! Durable: appended records are fdatasync'd as soon as the queue runs dry (one sync per file
//! per burst), so a power cut loses only what was still queued; replaced files are synced
//! before their rename.
//!
//! Bounded: at most [`QUEUE`] jobs wait. A full queue (the disk stalled for a long time) drops
//! the job with an error in the log: every journal here is rebuilt or made consistent from
//! the segment files at the next start, so a dropped record costs a slower start, not footage.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};

/// Jobs that may wait for the disk.
pub const QUEUE: usize = 1024;

enum Job {
    /// Appends `bytes` to the file (created if missing).
    Append { path: PathBuf, bytes: Vec<u8> },
    /// Replaces the file with `bytes`: temp file, fsync, rename, directory fsync.
    Replace { path: PathBuf, bytes: Vec<u8> },
    /// Everything asked before is on the disk (appended files fdatasync'd); then replies.
    Flush(SyncSender<()>),
    /// Closes the files kept open for appending (reopened at their next append).
    Release,
}

/// A handle on the writer thread; clones share it. The thread ends when the last handle goes.
#[derive(Clone)]
pub struct Writer {
    jobs: SyncSender<Job>,
    shared: Arc<Counters>,
}

#[derive(Default)]
struct Counters {
    /// Bytes written to the store's own files (flash-wear accounting).
    written: AtomicU64,
    dropped: AtomicU64,
    /// An overflow is logged once per episode.
    overflowing: AtomicBool,
    /// The newest write error, for `/status`.
    last_error: Mutex<Option<String>>,
}

impl Writer {
    pub fn start() -> io::Result<Writer> {
        let (jobs, rx) = sync_channel(QUEUE);
        let shared = Arc::new(Counters::default());
        let counters = shared.clone();
        std::thread::Builder::new()
            .name("nvr-store".into())
            .spawn(move || run(rx, &counters))?;
        Ok(Writer { jobs, shared })
    }

    /// Queues an append; returns at once.
    pub fn append(&self, path: &Path, bytes: Vec<u8>) {
        self.queue(Job::Append {
            path: path.to_path_buf(),
            bytes,
        });
    }

    /// Queues an atomic replacement of the file; returns at once.
    pub fn replace(&self, path: &Path, bytes: Vec<u8>) {
        self.queue(Job::Replace {
            path: path.to_path_buf(),
            bytes,
        });
    }

    /// Waits until everything queued so far is on the disk. Blocks: not on the executor.
    pub fn flush(&self) {
        let (tx, rx) = sync_channel(1);
        // Waits for room: a flush must not be dropped.
        if self.jobs.send(Job::Flush(tx)).is_ok() {
            let _ = rx.recv();
        }
    }

    /// Closes the files it keeps open, so a disk whose file system went read-only can be
    /// unmounted and repaired while nvr runs. Returns at once.
    pub fn release(&self) {
        self.queue(Job::Release);
    }

    /// Bytes written to the store's own files since start.
    pub fn bytes_written(&self) -> u64 {
        self.shared.written.load(Ordering::Relaxed)
    }

    /// Jobs dropped because the queue was full, since start.
    pub fn dropped(&self) -> u64 {
        self.shared.dropped.load(Ordering::Relaxed)
    }

    pub fn last_error(&self) -> Option<String> {
        self.shared.last_error.lock().unwrap().clone()
    }

    fn queue(&self, job: Job) {
        match self.jobs.try_send(job) {
            Ok(()) => {
                if self.shared.overflowing.swap(false, Ordering::Relaxed) {
                    log::warn!("store: the disk keeps up again");
                }
            }
            Err(TrySendError::Full(job)) => {
                self.shared.dropped.fetch_add(1, Ordering::Relaxed);
                if !self.shared.overflowing.swap(true, Ordering::Relaxed) {
                    log::error!(
                        "store: {QUEUE} writes wait for the disk; dropping {} (rebuilt from the \
                         recordings at the next start)",
                        job.describe()
                    );
                }
            }
            Err(TrySendError::Disconnected(_)) => {
                log::error!("store: the writer thread is gone");
            }
        }
    }
}

impl Job {
    fn describe(&self) -> String {
        match self {
            Job::Append { path, .. } | Job::Replace { path, .. } => {
                format!("a write to {}", path.display())
            }
            Job::Flush(_) => "a flush".into(),
            Job::Release => "closing files".into(),
        }
    }
}

fn run(rx: Receiver<Job>, counters: &Counters) {
    // Files appended to stay open (a journal gets a record per segment).
    let mut open: BTreeMap<PathBuf, File> = BTreeMap::new();
    // Appended to since their last sync.
    let mut dirty: BTreeSet<PathBuf> = BTreeSet::new();
    loop {
        let job = match rx.try_recv() {
            Ok(job) => job,
            Err(e) => {
                // The queue ran dry: what was appended goes to the disk now, one sync per
                // file per burst (a power cut otherwise loses every record still in the page
                // cache: up to half a minute of them on ext4, all of them on some media).
                sync(&open, &mut dirty);
                match e {
                    TryRecvError::Empty => match rx.recv() {
                        Ok(job) => job,
                        Err(_) => return,
                    },
                    TryRecvError::Disconnected => return,
                }
            }
        };
        let result = match job {
            Job::Append { path, bytes } => append(&mut open, &path, &bytes)
                .map(|()| {
                    dirty.insert(path.clone());
                    bytes.len()
                })
                .map_err(|e| (path, e)),
            Job::Replace { path, bytes } => {
                // The old handle points at the replaced inode.
                open.remove(&path);
                replace(&path, &bytes)
                    .map(|()| bytes.len())
                    .map_err(|e| (path, e))
            }
            Job::Flush(reply) => {
                dirty.extend(open.keys().cloned());
                sync(&open, &mut dirty);
                let _ = reply.send(());
                Ok(0)
            }
            Job::Release => {
                sync(&open, &mut dirty);
                open.clear();
                Ok(0)
            }
        };
        match result {
            Ok(n) => {
                counters.written.fetch_add(n as u64, Ordering::Relaxed);
            }
            Err((path, e)) => {
                let text = format!("cannot write {}: {e}", path.display());
                log::error!("store: {text}");
                *counters.last_error.lock().unwrap() = Some(text);
                open.remove(&path);
            }
        }
    }
}

/// fdatasyncs the `dirty` files that are open; none is dirty after.
fn sync(open: &BTreeMap<PathBuf, File>, dirty: &mut BTreeSet<PathBuf>) {
    for path in std::mem::take(dirty) {
        if let Some(f) = open.get(&path)
            && let Err(e) = f.sync_data()
        {
            log::warn!("store: cannot sync {}: {e}", path.display());
        }
    }
}

fn append(open: &mut BTreeMap<PathBuf, File>, path: &Path, bytes: &[u8]) -> io::Result<()> {
    if !open.contains_key(path) {
        if let Some(dir) = path.parent() {
            super::layout::create_dir(dir)?;
        }
        let f = OpenOptions::new().create(true).append(true).open(path)?;
        open.insert(path.to_path_buf(), f);
    }
    open.get_mut(path).expect("just opened").write_all(bytes)
}

/// Temp file, fsync, rename, directory fsync: the file is the old or the new, whole.
pub fn replace(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    super::layout::create_dir(dir)?;
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    {
        let mut f = File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_in_order_and_flush_waits_for_them() {
        let dir = std::env::temp_dir().join(format!("nvr-writer-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let w = Writer::start().unwrap();
        let j = dir.join("sub/a.journal");
        w.append(&j, b"one ".to_vec());
        w.append(&j, b"two ".to_vec());
        w.replace(&j, b"fresh ".to_vec());
        w.append(&j, b"three".to_vec());
        w.flush();
        assert_eq!(std::fs::read(&j).unwrap(), b"fresh three");
        assert_eq!(w.bytes_written(), 4 + 4 + 6 + 5);
        assert_eq!(w.dropped(), 0);
        // A write that cannot happen is an error in /status, not a panic.
        w.append(Path::new("/proc/nvr-cannot/x"), b"x".to_vec());
        w.flush();
        assert!(w.last_error().unwrap().contains("/proc/nvr-cannot/x"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
