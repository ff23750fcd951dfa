//! The running recorder: supervisors for every camera, the HTTP server, and config reloads.
//!
//! Reload diffs cameras by name: added ones start, removed ones stop (their open segment is
//! finalized), changed ones are rebuilt, and unchanged ones are not touched at all, so they
//! keep recording without a gap. Changing the HTTP address or the storage or pipeline folder
//! needs a restart (said in the log).

pub mod memory;
pub mod signals;
pub mod systemd;

use crate::board::Board;
use crate::camera::{self, CameraHandle, Shared};
use crate::config::Config;
use crate::http::HttpServer;
use crate::storage;
use crate::time::RealClock;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Says at start (and on a reload that changes it) whether footage needs a login.
fn log_auth(http: &crate::config::Http) {
    match http.auth {
        crate::config::AuthPolicy::Required => log::info!(
            "http: footage needs a login (users and tokens in {})",
            http.auth_dir.display()
        ),
        crate::config::AuthPolicy::Off => log::warn!(
            "http: auth = \"off\": anyone who can reach {} sees the footage",
            http.listen
        ),
    }
}

/// Longest a shutdown waits for cameras to finalize their segments (systemd allows more;
/// the contract is "exit within 5 s").
const SHUTDOWN_BUDGET: Duration = Duration::from_millis(4500);

pub struct Runtime {
    config: Config,
    cameras: BTreeMap<String, CameraHandle>,
    board: Arc<Board>,
    http: HttpServer,
    access: Arc<crate::http::access::Access>,
    policy: Arc<Mutex<storage::retention::Policy>>,
    retention: smol::Task<()>,
    /// The Hikvision import job, when `[hikvision]` is configured.
    hikvision: Option<crate::hikvision::sync::Worker>,
}

impl Runtime {
    /// Prepares storage (recovering after an unclean stop), binds HTTP, starts cameras.
    pub fn start(config: Config) -> Result<Runtime, String> {
        let (kick_tx, kick_rx) = smol::channel::bounded(1);
        let shared = Arc::new(prepare_storage(&config, kick_tx)?);
        let board = Arc::new(Board::new(shared));
        let access = Arc::new(crate::http::access::Access::new((&config.http).into()));
        let http = HttpServer::start(config.http.listen, board.clone(), access.clone())?;
        log::info!("http: serving /status on http://{}", http.addr);
        log_auth(&config.http);
        let policy = Arc::new(Mutex::new(config.retention.clone()));
        let retention = smol::spawn(retention_loop(board.clone(), policy.clone(), kick_rx));
        let mut rt = Runtime {
            config: config.clone(),
            cameras: BTreeMap::new(),
            board,
            http,
            access,
            policy,
            retention,
            hikvision: None,
        };
        rt.hikvision = config.hikvision.clone().map(|s| rt.start_import(s));
        for cam in &config.cameras {
            rt.start_camera(cam.clone());
        }
        rt.publish();
        Ok(rt)
    }

    /// Every camera supervisor's last heartbeat (see [`systemd::all_alive`]).
    pub fn heartbeats(&self) -> Vec<u64> {
        self.cameras
            .values()
            .map(|h| h.heartbeat.load(std::sync::atomic::Ordering::Relaxed))
            .collect()
    }

    /// A one-line summary for systemd's STATUS=.
    pub fn summary(&self) -> String {
        let states: Vec<_> = self
            .cameras
            .values()
            .map(|h| h.status.lock().unwrap().state)
            .collect();
        let recording = states
            .iter()
            .filter(|s| **s == crate::camera::State::Recording)
            .count();
        format!("{recording}/{} cameras recording", states.len())
    }

    pub fn http_addr(&self) -> std::net::SocketAddr {
        self.http.addr
    }

    fn start_camera(&mut self, cam: crate::config::CameraConfig) {
        log::info!(
            "camera {}: starting ({}, {} s segments{})",
            cam.name,
            cam.url,
            cam.segment_seconds,
            if cam.enabled { "" } else { ", disabled" }
        );
        let handle = camera::spawn(cam.clone(), self.board.shared.clone());
        self.cameras.insert(cam.name.to_string(), handle);
    }

    /// Starts the import job; its MP4s enter the catalog as imported cameras (named by tag).
    fn start_import(
        &self,
        settings: crate::hikvision::sync::Settings,
    ) -> crate::hikvision::sync::Worker {
        use crate::hikvision::sync::Event;
        let shared = self.board.shared.clone();
        let listener: crate::hikvision::sync::Listener = Arc::new(move |ev| {
            let mut cat = shared.catalog.lock().unwrap();
            let result = match ev {
                Event::Imported { tag, path } => {
                    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
                    match name.map(|n| storage::catalog::imported_segment_from_file(path, &n)) {
                        Some(Ok(seg)) => {
                            if let Some(dir) = path.parent() {
                                cat.add_import(tag, dir);
                            }
                            shared
                                .bus
                                .publish(crate::camera::published::CameraEvent::Imported {
                                    camera: tag.to_string(),
                                    name: seg.name.to_string(),
                                });
                            cat.add(tag, seg)
                        }
                        Some(Err(why)) => {
                            log::warn!("catalog: skipping {}: {why}", path.display());
                            Ok(())
                        }
                        None => Ok(()),
                    }
                }
                Event::Deleted { tag, name } => cat.remove(tag, name),
            };
            if let Err(e) = result {
                log::warn!("catalog: {e}");
            }
        });
        crate::hikvision::sync::Worker::start(settings, listener)
    }

    /// Publishes the camera list to /status in configuration order.
    fn publish(&self) {
        let list = self
            .config
            .cameras
            .iter()
            .filter_map(|c| self.cameras.get(c.name.as_str()))
            .map(|h| h.status.clone())
            .collect();
        self.board.publish(list);
    }

    /// Applies a new, already validated configuration. Cameras are diffed; process-wide
    /// settings (HTTP address, storage and pipeline folders) need a restart and say so.
    pub async fn apply(&mut self, mut new: Config) {
        if new.http.listen != self.config.http.listen {
            log::warn!(
                "http.listen changed to {}; restart nvr to apply it",
                new.http.listen
            );
            new.http.listen = self.config.http.listen;
        }
        if new.http != self.config.http {
            log_auth(&new.http);
            self.access.update((&new.http).into());
        }
        if new.storage.path != self.config.storage.path
            || new.pipeline_dir != self.config.pipeline_dir
        {
            log::warn!("storage.path or pipelines.dir changed; restart nvr to apply it");
            new.storage.path = self.config.storage.path.clone();
            new.pipeline_dir = self.config.pipeline_dir.clone();
        }
        let wanted = new.cameras_by_name();
        let mut to_stop = Vec::new();
        for name in self.cameras.keys().cloned().collect::<Vec<_>>() {
            let keep = wanted
                .get(name.as_str())
                .is_some_and(|c| **c == self.cameras[&name].config);
            if !keep {
                let verb = if wanted.contains_key(name.as_str()) {
                    "changed"
                } else {
                    "removed"
                };
                log::info!("camera {name}: {verb} in configuration; stopping");
                to_stop.push(self.cameras.remove(&name).expect("present"));
            }
        }
        stop_all(to_stop, SHUTDOWN_BUDGET).await;
        for cam in &new.cameras {
            if !self.cameras.contains_key(cam.name.as_str()) {
                self.start_camera(cam.clone());
            }
        }
        if new.hikvision != self.config.hikvision {
            if let Some(w) = self.hikvision.take() {
                log::info!("hikvision: configuration changed; restarting the import job");
                w.stop();
            }
            self.hikvision = new.hikvision.clone().map(|s| self.start_import(s));
        }
        *self.policy.lock().unwrap() = new.retention.clone();
        self.config = new;
        self.publish();
        // Limits may have tightened: apply them now, not in a minute.
        let _ = self.board.shared.retention_now.try_send(());
    }

    /// Finalizes every open segment and stops all cameras, within [`SHUTDOWN_BUDGET`].
    pub async fn shutdown(mut self) {
        let handles: Vec<_> = std::mem::take(&mut self.cameras).into_values().collect();
        stop_all(handles, SHUTDOWN_BUDGET).await;
        if let Some(w) = self.hikvision.take() {
            // Finishes the item in progress (one segment at most).
            w.stop();
        }
        self.retention.cancel().await;
        save_outages(&self.board, Some(crate::time::unix_now_ns()));
        // Fold the journal into the snapshot: the next start reads one file.
        if let Err(e) = self.board.shared.catalog.lock().unwrap().compact() {
            log::warn!("catalog: {e}");
        }
        let writer = self.board.shared.writer.clone();
        smol::unblock(move || writer.flush()).await;
    }

    pub fn board(&self) -> &Arc<Board> {
        &self.board
    }
}

/// Appends every camera's closed outages (and, when stopping at `stop_ns`, open ones) to the
/// history journal.
fn save_outages(board: &Board, stop_ns: Option<u64>) {
    for cam in board.cameras() {
        let (name, live): (String, Vec<storage::coverage::Outage>) = {
            let st = cam.lock().unwrap();
            (st.name.clone(), st.outages.iter().cloned().collect())
        };
        if let Err(e) = board
            .shared
            .history
            .lock()
            .unwrap()
            .save_outages(&name, &live, stop_ns)
        {
            log::warn!("history: {e}");
        }
    }
}

async fn stop_all(handles: Vec<CameraHandle>, budget: Duration) {
    if handles.is_empty() {
        return;
    }
    let tasks: Vec<_> = handles.into_iter().map(|h| smol::spawn(h.stop())).collect();
    let all = async {
        for t in tasks {
            t.await;
        }
        true
    };
    let timeout = async {
        smol::Timer::after(budget).await;
        false
    };
    if !smol::future::or(all, timeout).await {
        log::warn!(
            "some cameras did not stop within {} s",
            budget.as_secs_f32()
        );
    }
}

/// Creates the storage folder, recovers each camera's newest segments after an unclean stop,
/// and opens the catalog (reconciling it with the files).
fn prepare_storage(
    config: &Config,
    retention_now: smol::channel::Sender<()>,
) -> Result<Shared, String> {
    let root = &config.storage.path;
    std::fs::create_dir_all(root)
        .map_err(|e| format!("cannot create storage folder {}: {e}", root.display()))?;
    for cam in &config.cameras {
        for finding in storage::recovery::recover_camera(root, &cam.name) {
            match finding {
                storage::recovery::Finding::RemovedEmpty(p) => log::warn!(
                    "camera {}: removed {} (no frames: nvr stopped uncleanly as it was created)",
                    cam.name,
                    p.display()
                ),
                storage::recovery::Finding::RemovedUnfinished(p) => log::info!(
                    "camera {}: removed {} (a preview cut short by the last stop)",
                    cam.name,
                    p.display()
                ),
                storage::recovery::Finding::Unreadable(p, e) => {
                    log::warn!("camera {}: cannot check {}: {e}", cam.name, p.display())
                }
            }
        }
    }
    let started = std::time::Instant::now();
    let writer = storage::writer::Writer::start()
        .map_err(|e| format!("cannot start the store's writer thread: {e}"))?;
    let (catalog, reconciled) = storage::catalog::Catalog::open_with_imports(
        root,
        crate::hikvision::sync::imported_cameras_of(config),
        &writer,
    )
    .map_err(|e| format!("cannot open the catalog in {}: {e}", root.display()))?;
    for (path, why) in &reconciled.skipped {
        log::warn!("catalog: skipping {}: {why}", path.display());
    }
    log::info!(
        "catalog: {} segments ({} found on disk, {} gone) in {} ms",
        catalog.len(),
        reconciled.added,
        reconciled.dropped,
        started.elapsed().as_millis()
    );
    Ok(Shared {
        storage_root: root.clone(),
        pipeline_dir: config.pipeline_dir.clone(),
        catalog: Mutex::new(catalog),
        counters: Mutex::new(storage::Counters::default()),
        retention_now,
        storage_read_only: Default::default(),
        events: Mutex::new(crate::motion::events::EventLog::open(root, Some(&writer))),
        history: Mutex::new(
            storage::history::History::open(root, crate::time::unix_now_ns(), &writer).map_err(
                |e| {
                    format!(
                        "cannot open {}: {e}",
                        storage::layout::history_journal(root).display()
                    )
                },
            )?,
        ),
        previews: storage::previews::Previews::start(config.pipeline_dir.clone())
            .map_err(|e| log::warn!("previews: cannot start the worker: {e}"))
            .ok(),
        clock: Arc::new(RealClock),
        writer,
        bus: Default::default(),
    })
}

/// Long-lived: runs a retention pass every `[retention] check_seconds`, and at once when asked
/// (disk full, configuration change). The pass itself runs on a blocking thread.
async fn retention_loop(
    board: Arc<Board>,
    policy: Arc<Mutex<storage::retention::Policy>>,
    now: smol::channel::Receiver<()>,
) {
    let mut floor = Floor::default();
    loop {
        let b = board.clone();
        let p = policy.lock().unwrap().clone();
        let every = p.check_every;
        floor = smol::unblock(move || retention_pass(&b, &p, floor)).await;
        smol::future::or(
            async {
                smol::Timer::after(every).await;
            },
            async {
                let _ = now.recv().await;
            },
        )
        .await;
    }
}

/// What retention remembers between passes, so each episode is logged once.
#[derive(Clone, Copy, Default)]
struct Floor {
    /// The disk is below the free-space floor ("disk full").
    below: bool,
    /// The file system does not tell its free space.
    unknown: bool,
}

/// One pass: plan under the catalog lock, delete without it.
fn retention_pass(board: &Board, policy: &storage::retention::Policy, was: Floor) -> Floor {
    use storage::retention::{Situation, execute, plan};
    let shared = &board.shared;
    let root = &shared.storage_root;
    let in_flight: BTreeMap<String, u64> = board
        .cameras()
        .iter()
        .filter_map(|c| {
            let st = c.lock().unwrap();
            let size = std::fs::metadata(st.current_path.as_ref()?).ok()?.len();
            Some((st.name.clone(), size))
        })
        .collect();
    let space = storage::disk_space(root);
    if let Err(why) = &space
        && !was.unknown
        && policy.keep_free_bytes.is_some()
    {
        log::warn!(
            "storage: free space on {} is unknown ({why}); the free-space floor is not \
             applied, the age and size limits are",
            root.display()
        );
    }
    // Unknown counts as plenty: deleting footage on a reading nobody can trust loses it all.
    let free = space.as_ref().map_or(u64::MAX, |s| s.free);
    let below = policy.keep_free_bytes.is_some_and(|f| free < f);
    if below && !was.below {
        log::warn!(
            "storage: {} MiB free, below the {} MiB floor: deleting the oldest recordings",
            free >> 20,
            policy.keep_free_bytes.unwrap_or(0) >> 20
        );
        shared.counters.lock().unwrap().disk_full_episodes += 1;
    }
    let now_ns = crate::time::unix_now_ns();
    let open: BTreeMap<String, u64> = board
        .cameras()
        .iter()
        .filter_map(|c| {
            let st = c.lock().unwrap();
            Some((st.name.clone(), st.motion.as_ref()?.current_event_start_ns?))
        })
        .collect();
    let events = storage::retention::mode_events(policy, &shared.events.lock().unwrap(), &open);
    let needed = |cam: &str, seg: &storage::catalog::Segment| {
        storage::retention::needed_by_mode(policy, &events, now_ns, cam, seg)
    };
    let planned = {
        let cat = shared.catalog.lock().unwrap();
        let situation = Situation {
            now_ns,
            free_bytes: free,
            in_flight: &in_flight,
            needed: &needed,
        };
        plan(&cat.view(), policy, &situation)
    };
    let done = execute(&shared.catalog, root, planned);
    let snapshots =
        storage::retention::forget_snapshots(root, &shared.events.lock().unwrap(), &done);
    save_outages(board, None);
    // The catalog's files and the outage history: nvr's own bookkeeping writes.
    let written = shared.writer.bytes_written();
    let mut counters = shared.counters.lock().unwrap();
    counters.catalog_written(written);
    counters.logs_written(crate::logging::bytes_written());
    counters.deleted(&done);
    counters.last_retention_pass = Some(crate::time::rfc3339_utc_ns(crate::time::unix_now_ns()));
    if !done.is_empty() {
        let mut by: BTreeMap<&str, (usize, u64)> = BTreeMap::new();
        for d in &done {
            let e = by.entry(d.reason.as_str()).or_default();
            e.0 += 1;
            e.1 += d.segment.bytes;
        }
        let why: Vec<String> = by
            .iter()
            .map(|(r, (n, b))| format!("{n} for {r} ({} MiB)", b >> 20))
            .collect();
        log::info!(
            "retention: deleted {} segments: {}{}",
            done.len(),
            why.join(", "),
            if snapshots > 0 {
                format!("; and {snapshots} event snapshots of that footage")
            } else {
                String::new()
            }
        );
    }
    let free_after = storage::free_bytes(root).unwrap_or(u64::MAX);
    Floor {
        below: policy.keep_free_bytes.is_some_and(|f| free_after < f),
        unknown: space.is_err(),
    }
}
